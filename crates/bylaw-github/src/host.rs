//! GitHub Actions as the CI host: the context of the event, workflow
//! commands for warnings and annotations, the job summary
//! (`GITHUB_STEP_SUMMARY`), step outputs (`GITHUB_OUTPUT`), and SARIF for
//! `github/codeql-action/upload-sarif` (without excepted findings unless
//! asked: code scanning ignores `suppressions`).

use crate::context::GitHub;
use crate::publish::{escape_data, line_link, step_outputs, workflow_commands};
use bylaw_ci::diff::ChangedLines;
use bylaw_ci::env::Lookup;
use bylaw_ci::files::append;
use bylaw_ci::host::{Artifact, CiHost, Console, Format, Subject};
use bylaw_ci::summary::COMMENT_MARKER;
use bylaw_engine::context::PipelineContext;
use bylaw_engine::report::{Finding, Report};

use std::path::PathBuf;

/// The report files of a GitHub run.
#[derive(Debug, Clone)]
pub struct Files {
    /// SARIF for code scanning.
    pub sarif: PathBuf,
    /// Keep excepted findings in the SARIF file.
    pub sarif_include_excepted: bool,
    pub junit: Option<PathBuf>,
}

/// A GitHub Actions job.
pub struct Actions {
    gh: GitHub,
    files: Files,
    /// Print annotations as workflow commands.
    annotations: bool,
    step_summary: Option<String>,
    output: Option<String>,
}

impl Actions {
    /// The host of context `gh`, reading `GITHUB_STEP_SUMMARY` and `GITHUB_OUTPUT` from `env`.
    pub fn new(gh: GitHub, files: Files, annotations: bool, env: Lookup<'_>) -> Actions {
        Actions { gh, files, annotations, step_summary: env("GITHUB_STEP_SUMMARY"), output: env("GITHUB_OUTPUT") }
    }
}

impl CiHost for Actions {
    fn subject(&self) -> Subject {
        self.gh.subject()
    }

    fn context(&self, base: PipelineContext) -> PipelineContext {
        self.gh.ctx(base, &[])
    }

    fn warn(&self, console: &dyn Console, message: &str) {
        console.out(&format!("::warning title=bylaw::{}\n", escape_data(message)));
    }

    fn artifacts(&self) -> Vec<Artifact> {
        let f = &self.files;
        let sarif = Artifact { path: f.sarif.clone(), format: Format::Sarif, excepted: f.sarif_include_excepted };
        let junit = f.junit.iter().map(|j| Artifact { path: j.clone(), format: Format::Junit, excepted: true });
        std::iter::once(sarif).chain(junit).collect()
    }

    fn outputs(&self, report: &Report) -> String {
        let junit = self.files.junit.as_ref().map(|p| p.display().to_string());
        step_outputs(report, Some(&self.files.sarif.display().to_string()), junit.as_deref())
    }

    fn step_outputs(&self, console: &dyn Console, outputs: &str) {
        if let Some(path) = &self.output {
            append(console, path, outputs);
        }
    }

    fn annotations(&self, report: &Report, changed: Option<&ChangedLines>) -> Option<String> {
        self.annotations.then(|| workflow_commands(report, changed))
    }

    fn job_summary(&self, console: &dyn Console, markdown: &str) {
        if let Some(path) = &self.step_summary {
            append(console, path, &markdown.replace(COMMENT_MARKER, ""));
        }
    }

    fn line_link(&self, finding: &Finding) -> Option<String> {
        Some(line_link(&self.gh, finding))
    }

    fn run_link(&self) -> Option<(String, String)> {
        self.gh.run_url.clone().map(|u| ("Workflow run".to_owned(), u))
    }
}
