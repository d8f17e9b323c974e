//! GitHub adapter of bylaw (`bylaw ci github`): context from the
//! Actions environment and event payload, annotations, check runs, commit
//! statuses, one upserted PR comment, job summary, step outputs, and
//! exception requests approved by comment.

#![forbid(unsafe_code)]

pub mod api;
pub mod context;
pub mod publish;
pub mod requests;
