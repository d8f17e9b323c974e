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
/// A FIFO without a reader is refused at once (the runner's files are
/// regular; waiting for a reader would hang the job).
pub fn append(console: &dyn Console, path: &str, text: &str) {
    let written = open_append(path).and_then(|mut f| writeln!(f, "{text}"));
    if let Err(e) = written {
        console.err(&format!("warning: cannot append to {path}: {e}"));
    }
}

/// Opens `path` for appending without blocking on a FIFO that nobody
/// reads (`ENXIO`, "no such device or address"), then back to blocking
/// writes so a slow reader of a pipe gets the whole text.
fn open_append(path: &str) -> std::io::Result<std::fs::File> {
    use nix::fcntl::{fcntl, FcntlArg, OFlag};
    use std::os::unix::fs::OpenOptionsExt;
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .custom_flags(OFlag::O_NONBLOCK.bits())
        .open(path)
        .map_err(|e| match e.raw_os_error() {
            Some(code) if code == nix::errno::Errno::ENXIO as i32 => {
                std::io::Error::other("a FIFO that nothing reads: not written")
            }
            _ => e,
        })?;
    let flags = OFlag::from_bits_truncate(fcntl(&file, FcntlArg::F_GETFL)?);
    fcntl(&file, FcntlArg::F_SETFL(flags - OFlag::O_NONBLOCK))?;
    Ok(file)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Default)]
    struct Said(std::cell::RefCell<Vec<String>>);
    impl Console for Said {
        fn out(&self, text: &str) {
            self.0.borrow_mut().push(text.to_owned());
        }
        fn err(&self, line: &str) {
            self.0.borrow_mut().push(line.to_owned());
        }
    }

    #[test]
    fn appends_to_files_and_does_not_wait_for_a_fifo_reader() {
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("out");
        let said = Said::default();
        append(&said, file.to_str().unwrap(), "verdict=pass");
        append(&said, file.to_str().unwrap(), "blocking=0");
        assert_eq!(std::fs::read_to_string(&file).unwrap(), "verdict=pass\nblocking=0\n");
        let fifo = tmp.path().join("fifo");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::S_IRWXU).unwrap();
        append(&said, fifo.to_str().unwrap(), "verdict=pass");
        let said = said.0.borrow();
        assert_eq!(said.len(), 1, "{said:?}");
        assert!(said[0].contains("a FIFO that nothing reads"), "{said:?}");
    }
}
