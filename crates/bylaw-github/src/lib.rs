//! GitHub adapter of bylaw (`bylaw ci github`): GitHub Actions as the CI
//! host ([`host::Actions`]: context from the Actions environment and event
//! payload, workflow-command annotations, job summary, step outputs) and
//! GitHub as the forge ([`forge::GitHubForge`]: check runs, commit
//! statuses, one upserted PR comment, and exception requests approved by
//! comment), both driven by `bylaw_ci::flow`. Jenkins builds of GitHub
//! repositories use the forge too. The API is reached through `octocrab`
//! on a runtime of the adapter's own ([`api::Api`]); one file per part of
//! it: [`pulls`], [`comments`], [`checks`], approvers in [`requests`], and
//! the reviews that approve policy changes in [`reviews`].

#![forbid(unsafe_code)]

pub mod api;
pub mod checks;
pub mod comments;
pub mod context;
pub mod forge;
pub mod host;
pub mod publish;
pub mod pulls;
pub mod requests;
pub mod reviews;
