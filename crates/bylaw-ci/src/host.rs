//! The CI host: where the job runs (GitHub Actions, GitLab CI, Jenkins).
//! It knows the pipeline's context from its own variables, which report
//! files the platform picks up, how a warning shows in its log, and where
//! its job summary and step outputs go. Everything about the change
//! request and its conversation belongs to the [`Forge`](crate::forge::Forge).

use crate::diff::ChangedLines;
use bylaw_engine::context::PipelineContext;
use bylaw_engine::report::{Finding, Report};
pub use bylaw_report::Format;
use std::path::PathBuf;

/// Where the flow prints: the binary's stdout and stderr (the binary
/// records write errors on stdout, e.g. a closed pipe). Libraries print
/// nothing themselves.
pub trait Console {
    /// Writes `text` to stdout as it is (the caller ends its lines).
    fn out(&self, text: &str);
    /// Writes one line (no trailing newline needed) to stderr.
    fn err(&self, line: &str);
}

/// A report file the run writes for the platform to pick up (SARIF for
/// code scanning or Warnings NG, JUnit, GitLab Code Quality).
#[derive(Debug, Clone, PartialEq)]
pub struct Artifact {
    pub path: PathBuf,
    pub format: Format,
    /// Keep excepted findings in the file. SARIF consumers that ignore
    /// `suppressions` (GitHub code scanning, Warnings NG) would show them as
    /// open alerts, so their hosts leave them out (DESIGN §8).
    pub excepted: bool,
}

/// What a run is about, as far as a host or a forge can tell.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Subject {
    /// The branch environments are chosen by: a change's target, else the
    /// pipeline's branch.
    pub branch: Option<String>,
    /// Whether the run is about a pull/merge request.
    pub in_change: bool,
    /// The revision policies are read from with `--policy-ref base` (the
    /// change's base commit, or the target branch's tip where only that is
    /// known); `None` or empty when unknown.
    pub base: Option<String>,
}

/// Where the job runs. Implemented by `bylaw_github::host::Actions`,
/// `bylaw_gitlab::host::GitLabCi` and `bylaw_jenkins::host::JenkinsHost`.
pub trait CiHost {
    /// The run's subject as the host's variables tell it (the forge's
    /// replaces it when there is one: it can ask its API).
    fn subject(&self) -> Subject;

    /// The pipeline context: `base` (from generic variables, see
    /// [`crate::env::from_env`]) with the host's facts on top (DESIGN §6).
    fn context(&self, base: PipelineContext) -> PipelineContext;

    /// Logs a warning the way the host's log shows one.
    fn warn(&self, console: &dyn Console, message: &str);

    /// The report files to write, always (whatever the API does).
    fn artifacts(&self) -> Vec<Artifact>;

    /// The `key=value` outputs of a run (see [`crate::summary::outputs`]).
    fn outputs(&self, report: &Report) -> String {
        crate::summary::outputs(report)
    }

    /// A file to write [`CiHost::outputs`] to, if asked for.
    fn outputs_file(&self) -> Option<PathBuf> {
        None
    }

    /// Hands the outputs to the host's own mechanism (GitHub's
    /// `GITHUB_OUTPUT`); nothing elsewhere.
    fn step_outputs(&self, _console: &dyn Console, _outputs: &str) {}

    /// Annotations of the findings in the log (GitHub's workflow commands),
    /// only on `changed` lines when given; `None` where the log has none.
    fn annotations(&self, _report: &Report, _changed: Option<&ChangedLines>) -> Option<String> {
        None
    }

    /// Appends the summary (Markdown, the PR comment's body) to the job
    /// page where the host has one (GitHub's `GITHUB_STEP_SUMMARY`).
    fn job_summary(&self, _console: &dyn Console, _markdown: &str) {}

    /// A link to a finding's line when no forge is at hand (GitHub Actions
    /// knows its repository's web address); `None` elsewhere.
    fn line_link(&self, _finding: &Finding) -> Option<String> {
        None
    }

    /// The label and address of this run (`Workflow run`, `Pipeline`,
    /// `Jenkins build`), linked from the summary comment.
    fn run_link(&self) -> Option<(String, String)> {
        None
    }
}
