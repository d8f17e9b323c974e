//! GitLab as the forge: the merge request's changes and notes, one
//! upserted MR note, a `bylaw` commit status, and exception requests by MR
//! note. GitLab runs no pipeline for a new note, so every pipeline answers
//! the `/bylaw` notes not answered yet. Policy changes are approved
//! through the MR's approvals ([`crate::approvals`]).

use crate::api::{self, Client};
use crate::context::GitLab;
use crate::requests::{authorize, handle_new_commands, listed_or_member, MrThread};
use crate::{approvals, publish};
use bylaw_ci::diff::ChangedLines;
use bylaw_ci::forge::{ApiFailure, Approvals, Approver, Forge};
use bylaw_ci::host::Subject;
use bylaw_ci::policy_approval::STATUS_NAME;
use bylaw_ci::requests::{Approvers, ThreadComment, Verifier};
use bylaw_engine::chrono::NaiveDate;
use bylaw_engine::context::PipelineContext;
use bylaw_engine::report::{Catalog, Finding, Report};
use std::cell::RefCell;
use std::time::Duration;

/// A project on GitLab, through its REST API v4 with a project, group or
/// personal access token (api scope).
pub struct GitLabForge {
    gl: GitLab,
    client: Client,
    /// The token's user id: bylaw's own notes are this user's.
    me: u64,
    /// Set a `bylaw` commit status.
    status: bool,
    /// The paths the MR removes, recorded by `changes`.
    removed: RefCell<Vec<String>>,
}

impl GitLabForge {
    /// The forge of context `gl` (its `api_url`), with `token`; `backoff`
    /// is the first wait before a retry (tests shorten it).
    pub fn new(gl: GitLab, token: String, status: bool, backoff: Option<Duration>) -> GitLabForge {
        let mut client = api::client(&gl.api_url, Some(token));
        if let Some(b) = backoff {
            client.retry.backoff = b;
        }
        GitLabForge { gl, client, me: 0, status, removed: RefCell::new(Vec::new()) }
    }

    fn iid(&self) -> u64 {
        self.gl.mr.as_ref().map_or(0, |m| m.iid)
    }
}

impl Forge for GitLabForge {
    fn change_word(&self) -> &'static str {
        "merge request"
    }

    fn open(&mut self) -> Vec<ApiFailure> {
        let mut failures = Vec::new();
        // outside GitLab CI (Jenkins) the MR's head and diff base come from the API
        if let Some(iid) = self.gl.mr.as_ref().filter(|m| m.diff_base_sha.is_empty()).map(|m| m.iid) {
            match publish::merge_request(&self.client, &self.gl, iid) {
                Ok((head, base)) => {
                    self.gl.sha = head;
                    if let Some(mr) = self.gl.mr.as_mut() {
                        mr.diff_base_sha = base;
                    }
                }
                Err(e) => failures.push(ApiFailure::new("read the merge request", e)),
            }
        }
        if self.gl.mr.is_some() {
            match publish::token_user(&self.client) {
                Ok((id, name)) => {
                    self.me = id;
                    tracing::info!("GitLab token of @{name}");
                }
                Err(e) => failures.push(ApiFailure::new("read its own user", e)),
            }
        }
        failures
    }

    fn subject(&self) -> Subject {
        self.gl.subject()
    }

    fn context(&self, ctx: PipelineContext, changed_files: &[String]) -> PipelineContext {
        self.gl.ctx(ctx, changed_files)
    }

    fn changes(&self) -> Result<(Vec<String>, ChangedLines), ApiFailure> {
        let (files, lines, removed) = publish::changes(&self.client, &self.gl, self.iid())
            .map_err(|e| ApiFailure::new("list the merge request's changes", e))?;
        *self.removed.borrow_mut() = removed;
        Ok((files, lines))
    }

    fn thread(&self) -> Result<Vec<ThreadComment>, ApiFailure> {
        publish::notes(&self.client, &self.gl, self.iid(), self.me)
            .map_err(|e| ApiFailure::new("read the merge request's notes", e))
    }

    fn answer_commands(
        &self,
        thread: &mut Vec<ThreadComment>,
        catalog: &Catalog,
        verifier: &mut Verifier<'_>,
        today: NaiveDate,
    ) -> Result<Vec<String>, ApiFailure> {
        let mr = MrThread { client: &self.client, gl: &self.gl, iid: self.iid(), me: self.me };
        handle_new_commands(&mr, thread, catalog, verifier, today)
            .map_err(|e| ApiFailure::new("answer /bylaw commands", e))
    }

    fn authorize(&self, approvers: &Approvers, comment: &ThreadComment) -> Result<String, String> {
        authorize(&self.client, &self.gl, approvers, comment)
    }

    fn line_link(&self, finding: &Finding) -> String {
        publish::line_link(&self.gl, finding)
    }

    fn publish_verdict(&self, report: &Report, _changed: Option<&ChangedLines>) -> Vec<ApiFailure> {
        if !self.status || self.gl.sha.is_empty() {
            return Vec::new();
        }
        match publish::commit_status(&self.client, &self.gl, report) {
            Ok(()) => Vec::new(),
            Err(e) => vec![ApiFailure::new("set a commit status", e)],
        }
    }

    fn upsert_summary(&self, existing: Option<u64>, body: &str) -> Result<(), ApiFailure> {
        publish::upsert_note(&self.client, &self.gl, self.iid(), existing, body)
            .map(|_| ())
            .map_err(|e| ApiFailure::new("write the merge request note", e))
    }

    fn removed_files(&self) -> Vec<String> {
        self.removed.borrow().clone()
    }

    fn approvals(&self) -> Result<Approvals, ApiFailure> {
        approvals::approvals(&self.client, &self.gl, self.iid())
            .map_err(|e| ApiFailure::new("read the merge request's approvals", e))
    }

    fn verify_owner(&self, owners: &Approvers, user: &Approver) -> Result<String, String> {
        listed_or_member(&self.client, owners, &user.login, user.id).map_err(|problems| {
            let mut why = format!("@{} is not one of {}", user.login, owners.entries.join(", "));
            for p in problems {
                why.push_str("; ");
                why.push_str(&p);
            }
            why
        })
    }

    fn publish_approval(&self, approved: bool, title: &str, _summary: &str) -> Vec<ApiFailure> {
        if self.gl.sha.is_empty() {
            return Vec::new();
        }
        match publish::named_status(&self.client, &self.gl, STATUS_NAME, approved, title) {
            Ok(()) => Vec::new(),
            Err(e) => vec![ApiFailure::new("set the policy-approval commit status", e)],
        }
    }
}
