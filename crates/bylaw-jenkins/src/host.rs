//! A Jenkins build as the CI host: the context of a multibranch build,
//! warnings as plain log lines, and the files the shared library records:
//! SARIF for Warnings NG (without excepted findings, which it would show as
//! open), JUnit for the `junit` step, and the `key=value` outputs file.

use crate::Jenkins;
use bylaw_ci::host::{Artifact, CiHost, Console, Format, Subject};
use bylaw_engine::context::PipelineContext;
use bylaw_engine::report::Report;
use std::path::PathBuf;

/// The files of a Jenkins build.
#[derive(Debug, Clone)]
pub struct Files {
    pub sarif: PathBuf,
    pub junit: PathBuf,
    pub outputs: PathBuf,
}

/// A Jenkins build.
pub struct JenkinsHost {
    jenkins: Jenkins,
    files: Files,
    /// The outputs file also names the SARIF and JUnit files (`sarif-file`,
    /// `junit-file`), as GitHub's step outputs do: kept for builds that
    /// publish to GitHub, whose outputs file has always had them.
    file_outputs: bool,
}

impl JenkinsHost {
    /// The host of build `jenkins` writing `files`; `file_outputs` adds the
    /// file names to the outputs (builds publishing to GitHub).
    pub fn new(jenkins: Jenkins, files: Files, file_outputs: bool) -> JenkinsHost {
        JenkinsHost { jenkins, files, file_outputs }
    }
}

impl CiHost for JenkinsHost {
    fn subject(&self) -> Subject {
        self.jenkins.subject()
    }

    fn context(&self, base: PipelineContext) -> PipelineContext {
        self.jenkins.ctx(base)
    }

    fn warn(&self, console: &dyn Console, message: &str) {
        console.err(&format!("bylaw: warning: {message}"));
    }

    fn artifacts(&self) -> Vec<Artifact> {
        vec![
            Artifact { path: self.files.sarif.clone(), format: Format::Sarif, excepted: false },
            Artifact { path: self.files.junit.clone(), format: Format::Junit, excepted: true },
        ]
    }

    fn outputs(&self, report: &Report) -> String {
        if !self.file_outputs {
            return bylaw_ci::summary::outputs(report);
        }
        let (sarif, junit) = (self.files.sarif.display().to_string(), self.files.junit.display().to_string());
        bylaw_github::publish::step_outputs(report, Some(&sarif), Some(&junit))
    }

    fn outputs_file(&self) -> Option<PathBuf> {
        Some(self.files.outputs.clone())
    }

    fn run_link(&self) -> Option<(String, String)> {
        self.jenkins.build_url.clone().map(|u| ("Jenkins build".to_owned(), u))
    }
}
