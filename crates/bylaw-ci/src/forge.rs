//! The forge: where the code and its change requests live (GitHub,
//! GitLab), reached through its API with a token. It reads the change
//! request, its changed lines and its conversation; it writes the verdict
//! (check run or commit status), the one summary comment, and the answers
//! to `/bylaw` commands; and it verifies approvers. Without a token there
//! is no forge: the flow reports through the host only.

use crate::diff::ChangedLines;
use crate::error::ApiError;
use crate::host::Subject;
use crate::requests::{Approvers, ThreadComment, Verifier};
use bylaw_engine::chrono::NaiveDate;
use bylaw_engine::context::PipelineContext;
use bylaw_engine::report::{Catalog, Finding, Report};

/// An API call that failed, and what it was for ("create a check run"):
/// the flow warns about it and goes on; it never changes the verdict.
#[derive(Debug)]
pub struct ApiFailure {
    /// What bylaw could not do, completing "could not …" / "the token cannot …".
    pub what: String,
    pub error: ApiError,
}

impl ApiFailure {
    /// `error` while trying to do `what`.
    pub fn new(what: &str, error: ApiError) -> ApiFailure {
        ApiFailure { what: what.to_owned(), error }
    }
}

/// A forge's API as the flow uses it, in the order it calls it.
/// Implemented by `bylaw_github::forge::GitHubForge` and
/// `bylaw_gitlab::forge::GitLabForge`.
pub trait Forge {
    /// What the forge calls a change request in prose: `pull request`, `merge request`.
    fn change_word(&self) -> &'static str;

    /// Completes what the pipeline's variables left out (a PR's head and
    /// base when the event lacks them, who the token is). Each failure is
    /// returned; the run goes on with what it has.
    fn open(&mut self) -> Vec<ApiFailure>;

    /// The run's subject, completed from the API.
    fn subject(&self) -> Subject;

    /// The pipeline context: `ctx` (the host's) with the change request's
    /// facts from the forge and its `changed_files`.
    fn context(&self, ctx: PipelineContext, changed_files: &[String]) -> PipelineContext;

    /// The change request's changed files, and the lines each adds.
    fn changes(&self) -> Result<(Vec<String>, ChangedLines), ApiFailure>;

    /// The change request's conversation, oldest first.
    fn thread(&self) -> Result<Vec<ThreadComment>, ApiFailure>;

    /// Answers the `/bylaw` commands of `thread` that are due in this run,
    /// adding what it writes (and the comment the run was triggered by) to
    /// `thread`; returns a line per command for the log.
    fn answer_commands(
        &self,
        thread: &mut Vec<ThreadComment>,
        catalog: &Catalog,
        verifier: &mut Verifier<'_>,
        today: NaiveDate,
    ) -> Result<Vec<String>, ApiFailure>;

    /// Whether the author of `comment` may approve requests for
    /// `approvers`, verified through the API (never from comment text):
    /// `Ok(how)` or `Err(why not)`.
    fn authorize(&self, approvers: &Approvers, comment: &ThreadComment) -> Result<String, String>;

    /// A link to a finding's line at the run's commit.
    fn line_link(&self, finding: &Finding) -> String;

    /// Publishes the verdict (check run with annotations on `changed` lines
    /// when given, or commit status), as configured.
    fn publish_verdict(&self, report: &Report, changed: Option<&ChangedLines>) -> Vec<ApiFailure>;

    /// Replaces bylaw's summary comment `existing`, or posts it.
    fn upsert_summary(&self, existing: Option<u64>, body: &str) -> Result<(), ApiFailure>;

    /// The paths the change request removes: deleted files and the old
    /// names of renamed ones (known after [`Forge::changes`]; empty
    /// before). A policy file deleted or renamed away is a policy change
    /// ([`crate::policy_approval`]).
    fn removed_files(&self) -> Vec<String>;

    /// The approvals of the change request that count for its current
    /// head commit, with its author and head (see [`Approvals`]). Called
    /// only when the change touches a policy file.
    fn approvals(&self) -> Result<Approvals, ApiFailure>;

    /// Whether `user` is one of `owners`, verified through the API: listed
    /// by login, or an active member of a listed team / group. Unlike
    /// [`Forge::authorize`], a repository role (maintain, Maintainer) does
    /// not make anyone an owner. `Ok(how)` or `Err(why not)`.
    fn verify_owner(&self, owners: &Approvers, user: &Approver) -> Result<String, String>;

    /// Publishes the policy-change approval gate on the head commit: a
    /// check run named `bylaw: policy approval` or a commit status
    /// `bylaw/policy-approval`, failing until every changed policy is
    /// approved. `summary` is Markdown, `title` one line.
    fn publish_approval(&self, approved: bool, title: &str, summary: &str) -> Vec<ApiFailure>;
}

/// Someone who approved a change request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Approver {
    /// Login (GitHub) or username (GitLab).
    pub login: String,
    /// The platform's numeric user id (GitLab's members API needs it).
    pub id: u64,
}

/// A change request's approvals as they stand for its head commit.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Approvals {
    /// The change request's author: their own approval never counts.
    pub author: String,
    /// The head commit approvals must be for.
    pub head: String,
    /// The change request's number (GitHub) or iid (GitLab).
    pub number: u64,
    /// Those whose approval stands for `head` (GitHub: their latest
    /// review is `APPROVED` on `head`; GitLab: listed in `approved_by`
    /// while the merge request's head is the pipeline's commit).
    pub approved: Vec<Approver>,
    /// Approvals that do not count, and why (an approval of an older
    /// commit), one line each for the log and the check.
    pub ignored: Vec<String>,
}
