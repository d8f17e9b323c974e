//! The CI flow, written once for every platform: the change request and
//! its conversation from the forge, the pipeline context, exception
//! requests answered and resolved, evaluation (by the front end, through
//! [`Evaluator`]), the text log and annotations, artifacts, job summary,
//! outputs, then the verdict and the summary comment through the forge.
//! API problems never change the verdict: a token that cannot do something
//! gets one warning, other failures one warning each.
//!
//! Exception requests are resolved against the policies' [`Catalog`]
//! before evaluation and handed to it as exceptions: evaluation is a pure
//! step between the two halves of the conversation.

use crate::diff::ChangedLines;
use crate::files::{write_artifacts, write_text};
use crate::forge::{ApiFailure, Forge};
use crate::host::{Artifact, CiHost, Console};
use crate::requests::{approved_exceptions, exception_list_yaml, requests, resolve, Request, Verifier};
use crate::summary::{self, comment_body, off_diff_details};
use bylaw_engine::chrono::{DateTime, NaiveDate, Utc};
use bylaw_engine::context::PipelineContext;
use bylaw_engine::exceptions::Exception;
use bylaw_engine::report::{Catalog, Finding, Report, Verdict};
use bylaw_report::{Format, RenderOptions};
use std::path::PathBuf;

/// The exit code of a run that could not do what it was asked (an
/// artifact it could not write), as `bylaw check` (DESIGN §7).
pub const EXIT_ERROR: u8 = 2;

/// A run that stopped before it had a report (policy, config or usage
/// errors, already printed by the front end); carries the exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stop(pub u8);

/// What the CI side hands the evaluator.
#[derive(Debug, Clone)]
pub struct RunRequest {
    /// The platform's pipeline context (the front end sets `environment`
    /// and `time`, which it decides).
    pub context: PipelineContext,
    /// The branch environments are chosen by (e.g. a PR's target).
    pub branch: Option<String>,
    /// Read the policies as they are at this commit (`--policy-ref base`).
    pub policies_at: Option<String>,
    /// The report files of the run: written describing the problems when
    /// the run stops (DESIGN §7).
    pub artifacts: Vec<Artifact>,
    /// Every file the run writes (artifacts and outputs): never inputs.
    pub written: Vec<PathBuf>,
}

/// The front end's evaluation (in the `bylaw` binary: `check::prepare`
/// and `Prepared::evaluate`). Problems are printed by the front end;
/// [`Stop`] carries the exit code, and the front end has written the
/// request's artifacts describing them.
pub trait Evaluator {
    /// A run with its policies loaded, not yet evaluated.
    type Prepared<'a>: PreparedRun
    where
        Self: 'a;

    /// Loads the policies and exception lists of a run.
    fn prepare(&mut self, run: RunRequest) -> Result<Self::Prepared<'_>, Stop>;

    /// The impact of the change's policy edits, base `base` → the checkout
    /// (`bylaw impact`), when `changed` (the change's files, from the top
    /// of the repository) holds a policy file; `Ok(None)` otherwise, and
    /// for a front end that does not compute it ([`crate::impact`]).
    fn impact(&mut self, _base: &str, _changed: &[String]) -> Result<Option<bylaw_report::impact::Impact>, String> {
        Ok(None)
    }
}

/// A run ready to evaluate, and what exception requests are checked against.
pub trait PreparedRun {
    /// The policies and rules of the run (known before evaluation).
    fn catalog(&self) -> Catalog;
    /// The configured approvers (besides each policy's owners).
    fn approvers(&self) -> Vec<String>;
    /// The run's policies at head and at another revision, for the
    /// approval of policy changes ([`crate::policy_approval`]).
    fn policy_repo(&self) -> &dyn crate::policy_approval::PolicyRepo;
    /// Evaluates, honouring `approved` (exceptions from approved requests)
    /// besides the exception lists.
    fn evaluate(self, approved: Vec<Exception>) -> Result<Report, Stop>;
}

/// When to write (or update) the summary comment on the change request.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum CommentMode {
    Always,
    /// When the run fails, and to keep an earlier comment up to date.
    OnFailure,
    Never,
}

impl CommentMode {
    /// Whether to write the comment (`existing`: bylaw's earlier one is there).
    fn wanted(self, report: &Report, existing: bool) -> bool {
        match self {
            CommentMode::Always => true,
            CommentMode::OnFailure => report.verdict == Verdict::Fail || existing,
            CommentMode::Never => false,
        }
    }
}

/// How the flow runs.
pub struct Options<'a> {
    /// Reads environment variables (the generic context, see [`crate::env`]).
    pub env: crate::env::Lookup<'a>,
    /// The time of the run ([`crate::env::now`]): requests expire by its day.
    pub now: DateTime<Utc>,
    /// Annotate and count as "on the diff" only the change's changed lines.
    pub changed_only: bool,
    /// Read the policies from the change's base (`--policy-ref base`).
    pub policies_from_base: bool,
    pub comment: CommentMode,
    /// Warned at the end when there is no forge (why nothing was published).
    pub unpublished: Option<String>,
}

/// Warns once about a token that cannot do what was asked (fork PRs,
/// read-only or job tokens); other API failures are warned about each.
struct Degraded<'a> {
    host: &'a dyn CiHost,
    console: &'a dyn Console,
    warned: bool,
}

impl Degraded<'_> {
    fn handle(&mut self, f: &ApiFailure) {
        let (what, e) = (&f.what, &f.error);
        if e.is_forbidden() {
            if !self.warned {
                self.host.warn(self.console, &format!(
                    "the {} token cannot {what} ({e}); this is expected for pull/merge requests from forks and read-only tokens. bylaw reports through annotations, artifacts and the exit code only.",
                    e.service()
                ));
                self.warned = true;
            }
        } else {
            self.host.warn(self.console, &format!("could not {what}: {e}"));
        }
    }
}

/// Prints the approved exception requests honoured in this run with the
/// ExceptionList YAML to commit, and returns the summary section listing
/// them (empty when none). `change` is `pull request` or `merge request`.
fn honoured_requests(console: &dyn Console, reqs: &[Request], today: NaiveDate, change: &str) -> String {
    let ids: Vec<&str> = reqs.iter().filter(|r| r.in_force(today)).map(|r| r.id.as_str()).collect();
    if ids.is_empty() {
        return String::new();
    }
    let yaml = exception_list_yaml(reqs, today);
    console.out(&format!(
        "bylaw: approved exception requests honoured in this run ({}); to keep them beyond this {change}, add to your exception list:\n{yaml}\n",
        ids.join(", ")
    ));
    summary::approved_details(&yaml)
}

/// One CI run on `host`, publishing through `forge` when there is one.
/// Returns the exit code: the report's (0 pass, 1 fail), or 2 when the run
/// stopped or an artifact could not be written.
pub fn run<E: Evaluator>(
    host: &dyn CiHost,
    mut forge: Option<&mut dyn Forge>,
    evaluator: &mut E,
    console: &dyn Console,
    opts: &Options<'_>,
) -> u8 {
    let mut degraded = Degraded { host, console, warned: false };
    if let Some(f) = forge.as_deref_mut() {
        for e in f.open() {
            degraded.handle(&e);
        }
    }
    let forge: Option<&dyn Forge> = forge.map(|f| &*f);
    let subject = forge.map(|f| f.subject()).unwrap_or_else(|| host.subject());
    let in_change = forge.filter(|_| subject.in_change);

    // the change's files, lines and conversation
    let mut changes: Option<(Vec<String>, ChangedLines)> = None;
    let mut thread = Vec::new();
    if let Some(f) = in_change {
        match f.changes() {
            Ok(c) => changes = Some(c),
            Err(e) => degraded.handle(&e),
        }
        match f.thread() {
            Ok(t) => thread = t,
            Err(e) => degraded.handle(&e),
        }
    }
    let changed_files = changes.as_ref().map(|(files, _)| files.as_slice()).unwrap_or_default();
    let mut context = host.context(crate::env::from_env(opts.env, None, opts.now));
    if let Some(f) = forge {
        context = f.context(context, changed_files);
    }
    let policies_at = match subject.base.clone().filter(|b| !b.is_empty()) {
        Some(base) if opts.policies_from_base => Some(base),
        None if opts.policies_from_base && subject.in_change => {
            host.warn(
                console,
                "--policy-ref base: the base commit is unknown; policies are read from the checked-out commit",
            );
            None
        }
        _ => None,
    };

    let artifacts = host.artifacts();
    let written = artifacts.iter().map(|a| a.path.clone()).chain(host.outputs_file()).collect();
    let request =
        RunRequest { context, branch: subject.branch.clone(), policies_at, artifacts: artifacts.clone(), written };
    let prepared = match evaluator.prepare(request) {
        Ok(p) => p,
        Err(Stop(code)) => return code,
    };

    // policy changes need their owners' approval (a separate check)
    let (approval, failures) = match in_change {
        Some(f) => crate::policy_approval::check(
            f,
            prepared.policy_repo(),
            subject.base.as_deref(),
            changes.as_ref().map(|(names, _)| names.as_slice()),
        ),
        None => (None, Vec::new()),
    };
    failures.iter().for_each(|e| degraded.handle(e));

    // exception requests, before evaluation: answer the commands due,
    // then honour the approved requests
    let today = opts.now.date_naive();
    let mut reqs = Vec::new();
    if let Some(f) = in_change {
        let catalog = prepared.catalog();
        let approvers = prepared.approvers();
        let authorize = |a: &crate::requests::Approvers, c: &crate::requests::ThreadComment| f.authorize(a, c);
        let mut verifier = Verifier::new(&catalog, &approvers, &authorize);
        match f.answer_commands(&mut thread, &catalog, &mut verifier, today) {
            Ok(lines) => lines.iter().for_each(|l| console.out(&format!("bylaw: {l}\n"))),
            Err(e) => degraded.handle(&e),
        }
        reqs = resolve(requests(&thread), &thread, &mut verifier);
    }
    let report = match prepared.evaluate(approved_exceptions(&reqs, today)) {
        Ok(r) => r,
        Err(Stop(code)) => return code,
    };

    // the log: the text report, annotations, honoured requests
    console.out(&bylaw_report::render(Format::Text, &report, &RenderOptions::default()).unwrap_or_default());
    let changed = changes.as_ref().map(|(_, lines)| lines).filter(|_| opts.changed_only);
    if let Some(a) = host.annotations(&report, changed) {
        console.out(&a);
    }
    let change_word = forge.map(|f| f.change_word()).unwrap_or("change");
    let honoured = honoured_requests(console, &reqs, today, change_word);

    // files, always written, whatever the API does
    let mut failed = write_artifacts(console, &artifacts, &report);
    let link = |f: &Finding| forge.map(|fg| fg.line_link(f)).or_else(|| host.line_link(f)).unwrap_or_default();
    let mut extra = String::new();
    if let Some(lines) = changed {
        extra.push_str(&off_diff_details(&report, lines, &link, change_word));
    }
    extra.push_str(&honoured);
    let run_link = host.run_link();
    let body = comment_body(&report, &link, &extra, run_link.as_ref().map(|(l, u)| (l.as_str(), u.as_str())));
    host.job_summary(console, &body);
    let outputs = host.outputs(&report);
    host.step_outputs(console, &outputs);
    if let Some(path) = host.outputs_file() {
        failed += write_text(console, &path, &outputs);
    }

    // the forge: the verdict, the summary comment
    match forge {
        Some(f) => {
            for e in f.publish_verdict(&report, changed) {
                degraded.handle(&e);
            }
            if subject.in_change {
                let existing = summary::report_comment(&thread);
                if opts.comment.wanted(&report, existing.is_some()) {
                    if let Err(e) = f.upsert_summary(existing, &body) {
                        degraded.handle(&e);
                    }
                }
            }
        }
        None => {
            if let Some(w) = &opts.unpublished {
                host.warn(console, w);
            }
        }
    }
    // the impact comment is a comment too: `--comment never` posts none
    let impact_forge = forge.filter(|_| opts.comment != CommentMode::Never);
    for e in crate::impact::publish(evaluator, impact_forge, changed_files, &thread, host, console) {
        degraded.handle(&e);
    }
    let code = if failed > 0 { EXIT_ERROR } else { u8::try_from(report.exit_code()).unwrap_or(EXIT_ERROR) };
    let time = opts.now.to_rfc3339_opts(bylaw_engine::chrono::SecondsFormat::Secs, true);
    let (code, failures) = crate::policy_approval::finish(approval, in_change, console, &time, code);
    failures.iter().for_each(|e| degraded.handle(e));
    code
}
