//! GitLab adapter of bylaw (`bylaw ci gitlab`): GitLab CI as the CI host
//! ([`host::GitLabCi`]: context from its predefined variables,
//! [`context::GitLab`], and the report artifacts) and GitLab as the forge
//! ([`forge::GitLabForge`]: the merge request's changed files, one upserted
//! MR note, a `bylaw` commit status ([`publish`]), and exception requests
//! by MR note with approvers verified through the members API
//! ([`requests`]), policy changes approved through the MR's approvals
//! ([`approvals`])), both driven by `bylaw_ci::flow`. The Code Quality report is an emitter of
//! `bylaw-report`; the request logic is shared with GitHub in `bylaw-ci`.
//!
//! It talks to the REST API v4 at `CI_API_V4_URL` (gitlab.com or
//! self-managed) with a project/group access token; `CI_JOB_TOKEN` cannot
//! write notes or statuses, so without a token the CLI reports through
//! artifacts and the exit code only.

#![forbid(unsafe_code)]

pub mod api;
pub mod approvals;
pub mod context;
pub mod forge;
pub mod host;
pub mod publish;
pub mod requests;
