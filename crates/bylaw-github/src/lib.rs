//! GitHub adapter of bylaw (`bylaw ci github`): GitHub Actions as the CI
//! host ([`host::Actions`]: context from the Actions environment and event
//! payload, workflow-command annotations, job summary, step outputs) and
//! GitHub as the forge ([`forge::GitHubForge`]: check runs, commit
//! statuses, one upserted PR comment, and exception requests approved by
//! comment), both driven by `bylaw_ci::flow`. Jenkins builds of GitHub
//! repositories use the forge too.

#![forbid(unsafe_code)]

pub mod api;
pub mod context;
pub mod forge;
pub mod host;
pub mod publish;
pub mod requests;
