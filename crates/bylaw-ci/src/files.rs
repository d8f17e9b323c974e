//! Writing what a CI run leaves behind: report artifacts (atomically,
//! every one attempted), the outputs file, and appends to the host's job
//! summary and outputs files. Failures are reported on the console; only
//! an artifact or outputs file that could not be written makes the run
//! exit 2 (the caller counts them).

use crate::host::{Artifact, Console};
use bylaw_engine::report::Report;
use bylaw_report::{Format, RenderOptions};
use std::io::Write;
use std::path::Path;

/// "cannot write PATH: why", naming PATH once (the writer's error starts
/// with the path it failed on).
fn cannot_write(path: &Path, e: &dyn std::fmt::Display) -> String {
    let path = path.display().to_string();
    let why = e.to_string();
    format!("error: cannot write {path}: {}", why.strip_prefix(&format!("{path}: ")).unwrap_or(&why))
}

/// The report without excepted findings, for SARIF consumers that ignore
/// `suppressions` (GitHub code scanning, Warnings NG) and would show them as open.
fn without_excepted(report: &Report) -> Report {
    let mut r = report.clone();
    r.findings.retain(|f| f.exception.is_none());
    r
}

/// Renders and writes the artifacts (SARIF under the `bylaw` automation
/// category); every one is attempted. Returns how many could not be written.
pub fn write_artifacts(console: &dyn Console, artifacts: &[Artifact], report: &Report) -> usize {
    let opts = RenderOptions { automation_category: Some("bylaw".into()), ..RenderOptions::default() };
    let trimmed = artifacts.iter().any(|a| !a.excepted).then(|| without_excepted(report));
    let mut failed = 0;
    for a in artifacts {
        let report = match &trimmed {
            Some(t) if !a.excepted => t,
            _ => report,
        };
        if a.format == Format::Sarif {
            if let Some(w) = bylaw_report::sarif_limits(report) {
                console.err(&format!("warning: {}: {w}", a.path.display()));
            }
        }
        let written =
            bylaw_report::write_atomic_with(&a.path, &mut |w| bylaw_report::render_to(a.format, report, &opts, w));
        if let Err(e) = written {
            console.err(&cannot_write(&a.path, &e));
            failed += 1;
        }
    }
    failed
}

/// Writes `text` to `path` atomically: 0, or 1 when it cannot.
pub fn write_text(console: &dyn Console, path: &Path, text: &str) -> usize {
    match bylaw_report::write_atomic(path, text.as_bytes()) {
        Ok(()) => 0,
        Err(e) => {
            console.err(&cannot_write(path, &e));
            1
        }
    }
}

/// Appends `text` and a newline to the file at `path` (job summaries,
/// output files), warning when it cannot.
pub fn append(console: &dyn Console, path: &str, text: &str) {
    let written =
        std::fs::OpenOptions::new().create(true).append(true).open(path).and_then(|mut f| writeln!(f, "{text}"));
    if let Err(e) = written {
        console.err(&format!("warning: cannot append to {path}: {e}"));
    }
}
