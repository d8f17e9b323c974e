//! GitLab CI as the CI host: the context from its predefined variables,
//! warnings as plain log lines, and the report files its merge request
//! widgets read (`artifacts:reports:junit`, `codequality`; SARIF kept as an
//! artifact, excepted findings included with their suppressions).

use crate::context::GitLab;
use bylaw_ci::env::Lookup;
use bylaw_ci::host::{Artifact, CiHost, Console, Format, Subject};
use bylaw_engine::context::PipelineContext;

use std::path::PathBuf;

/// The report files of a GitLab job.
#[derive(Debug, Clone)]
pub struct Files {
    pub sarif: PathBuf,
    pub junit: PathBuf,
    /// The Code Quality report.
    pub codequality: Option<PathBuf>,
    /// `key=value` outputs (usable as `artifacts:reports:dotenv`).
    pub outputs: Option<PathBuf>,
}

/// A GitLab CI job.
pub struct GitLabCi {
    gl: GitLab,
    files: Files,
    pipeline_url: Option<String>,
}

impl GitLabCi {
    /// The host of context `gl`, reading `CI_PIPELINE_URL` from `env`.
    pub fn new(gl: GitLab, files: Files, env: Lookup<'_>) -> GitLabCi {
        GitLabCi { gl, files, pipeline_url: env("CI_PIPELINE_URL") }
    }
}

impl CiHost for GitLabCi {
    fn subject(&self) -> Subject {
        self.gl.subject()
    }

    fn context(&self, base: PipelineContext) -> PipelineContext {
        self.gl.ctx(base, &[])
    }

    fn warn(&self, console: &dyn Console, message: &str) {
        console.err(&format!("bylaw: warning: {message}"));
    }

    fn artifacts(&self) -> Vec<Artifact> {
        let f = &self.files;
        let report = |path: &PathBuf, format| Artifact { path: path.clone(), format, excepted: true };
        let mut out = vec![report(&f.sarif, Format::Sarif), report(&f.junit, Format::Junit)];
        out.extend(f.codequality.iter().map(|cq| report(cq, Format::Codequality)));
        out
    }

    fn outputs_file(&self) -> Option<PathBuf> {
        self.files.outputs.clone()
    }

    fn run_link(&self) -> Option<(String, String)> {
        self.pipeline_url.clone().map(|u| ("Pipeline".to_owned(), u))
    }
}
