//! GitHub as the forge: the pull request and its files and comments, a
//! check run (needs `checks: write`) or a commit status (`statuses:
//! write`), one upserted PR comment, and exception requests by PR comment
//! answered in the `issue_comment` run of the command; policy changes
//! approved by reviews ([`crate::reviews`]).

use crate::api::Api;
use crate::context::GitHub;
use crate::requests::{authorize, handle_comment, listed_or_member};
use crate::{checks, comments, publish, pulls, reviews};
use bylaw_ci::diff::ChangedLines;
use bylaw_ci::forge::{ApiFailure, Approvals, Approver, Forge};
use bylaw_ci::host::Subject;
use bylaw_ci::policy_approval::{CHECK_NAME, STATUS_NAME};
use bylaw_ci::requests::{Approvers, ThreadComment, Verifier};
use bylaw_engine::chrono::NaiveDate;
use bylaw_engine::context::PipelineContext;
use bylaw_engine::report::{Catalog, Finding, Report};
use std::cell::RefCell;
use std::time::Duration;

/// What to publish the verdict as.
#[derive(Debug, Clone, Copy)]
pub struct Verdicts {
    /// A check run with annotations (GitHub Apps and the workflow token).
    pub check_run: bool,
    /// A `bylaw` commit status (any token with `statuses: write`).
    pub status: bool,
}

/// A repository on GitHub, through its REST API with a token.
pub struct GitHubForge {
    gh: GitHub,
    api: Api,
    verdicts: Verdicts,
    /// The paths the PR removes, recorded by `changes`.
    removed: RefCell<Vec<String>>,
}

impl GitHubForge {
    /// The forge of context `gh` (its `api_url`), with `token`; `backoff`
    /// is the first wait before a retry (tests shorten it).
    pub fn new(gh: GitHub, token: String, verdicts: Verdicts, backoff: Option<Duration>) -> GitHubForge {
        let mut api = Api::new(&gh.api_url, &token);
        if let Some(b) = backoff {
            api.retry.backoff = b;
        }
        GitHubForge { gh, api, verdicts, removed: RefCell::new(Vec::new()) }
    }

    fn number(&self) -> u64 {
        self.gh.pr.as_ref().map_or(0, |p| p.number)
    }
}

impl Forge for GitHubForge {
    fn change_word(&self) -> &'static str {
        "pull request"
    }

    fn open(&mut self) -> Vec<ApiFailure> {
        // issue_comment payloads lack the PR's head and base
        let Some(number) = self.gh.pr.as_ref().filter(|p| p.head_sha.is_empty()).map(|p| p.number) else {
            return Vec::new();
        };
        match pulls::get(&self.api, &self.gh, number) {
            Ok(p) => {
                self.gh.sha = p.head_sha.clone();
                self.gh.pr = Some(p);
                Vec::new()
            }
            Err(e) => vec![ApiFailure::new("read the pull request", e)],
        }
    }

    fn subject(&self) -> Subject {
        self.gh.subject()
    }

    fn context(&self, ctx: PipelineContext, changed_files: &[String]) -> PipelineContext {
        self.gh.ctx(ctx, changed_files)
    }

    fn changes(&self) -> Result<(Vec<String>, ChangedLines), ApiFailure> {
        let (names, lines, removed) = pulls::files(&self.api, &self.gh, self.number())
            .map_err(|e| ApiFailure::new("list the pull request's files", e))?;
        *self.removed.borrow_mut() = removed;
        Ok((names, lines))
    }

    fn thread(&self) -> Result<Vec<ThreadComment>, ApiFailure> {
        comments::list(&self.api, &self.gh, self.number())
            .map_err(|e| ApiFailure::new("read the pull request's comments", e))
    }

    fn answer_commands(
        &self,
        thread: &mut Vec<ThreadComment>,
        catalog: &Catalog,
        verifier: &mut Verifier<'_>,
        today: NaiveDate,
    ) -> Result<Vec<String>, ApiFailure> {
        handle_comment(&self.api, &self.gh, thread, catalog, verifier, today)
            .map(|line| line.into_iter().collect())
            .map_err(|e| ApiFailure::new("answer the /bylaw command", e))
    }

    fn authorize(&self, approvers: &Approvers, comment: &ThreadComment) -> Result<String, String> {
        authorize(&self.api, &self.gh, approvers, comment)
    }

    fn line_link(&self, finding: &Finding) -> String {
        publish::line_link(&self.gh, finding)
    }

    fn publish_verdict(&self, report: &Report, changed: Option<&ChangedLines>) -> Vec<ApiFailure> {
        let mut failures = Vec::new();
        if self.verdicts.check_run {
            if let Err(e) = checks::check_run(&self.api, &self.gh, report, changed) {
                failures.push(ApiFailure::new("create a check run", e));
            }
        }
        if self.verdicts.status {
            if let Err(e) = checks::commit_status(&self.api, &self.gh, report) {
                failures.push(ApiFailure::new("set a commit status", e));
            }
        }
        failures
    }

    fn upsert_summary(&self, existing: Option<u64>, body: &str) -> Result<(), ApiFailure> {
        let Some(pr) = &self.gh.pr else { return Ok(()) };
        comments::upsert(&self.api, &self.gh, pr.number, existing, body)
            .map(|_| ())
            .map_err(|e| ApiFailure::new("comment on the pull request", e))
    }

    fn removed_files(&self) -> Vec<String> {
        self.removed.borrow().clone()
    }

    fn approvals(&self) -> Result<Approvals, ApiFailure> {
        let pr = self.gh.pr.clone().unwrap_or_default();
        let head = if pr.head_sha.is_empty() { self.gh.sha.clone() } else { pr.head_sha.clone() };
        reviews::approvals(&self.api, &self.gh, pr.number, &pr.author, &head)
            .map_err(|e| ApiFailure::new("read the pull request's reviews", e))
    }

    fn verify_owner(&self, owners: &Approvers, user: &Approver) -> Result<String, String> {
        listed_or_member(&self.api, owners, &user.login).map_err(|problems| {
            let mut why = format!("@{} is not one of {}", user.login, owners.entries.join(", "));
            for p in problems {
                why.push_str("; ");
                why.push_str(&p);
            }
            why
        })
    }

    fn publish_approval(&self, approved: bool, title: &str, summary: &str) -> Vec<ApiFailure> {
        let mut failures = Vec::new();
        let conclusion = if approved { "success" } else { "failure" };
        if self.verdicts.check_run {
            if let Err(e) = checks::named_check_run(&self.api, &self.gh, CHECK_NAME, conclusion, title, summary) {
                failures.push(ApiFailure::new("create the policy-approval check run", e));
            }
        }
        if self.verdicts.status {
            if let Err(e) = checks::named_status(&self.api, &self.gh, STATUS_NAME, approved, title) {
                failures.push(ApiFailure::new("set the policy-approval commit status", e));
            }
        }
        failures
    }
}
