//! Running the binary on a repository built in a temporary directory, for
//! the end-to-end tests of `check` and `test`.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// What a run printed and its exit code.
pub struct Out {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// The workspace root, where the tests' fixtures and the examples are.
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().unwrap()
}

/// The binary run from the workspace root with a clean environment (no CI
/// variables, no git configuration) and a fixed date (`BYLAW_NOW`).
pub fn in_workspace(args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_bylaw"));
    c.args(args).current_dir(workspace()).env_clear().env("BYLAW_NOW", "2026-06-01T00:00:00Z");
    c
}

/// Runs `c` to its end: (exit code, stdout, stderr).
pub fn output(mut c: Command) -> (i32, String, String) {
    let out = c.output().unwrap();
    (out.status.code().unwrap_or(-1), String::from_utf8(out.stdout).unwrap(), String::from_utf8(out.stderr).unwrap())
}

/// Writes `text` at `rel` under `dir`, creating directories.
pub fn write(dir: &Path, rel: &str, text: &str) {
    let p = dir.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, text).unwrap();
}

/// Runs `bylaw ARGS` in `dir` with a clean environment (no CI variables), a
/// fixed date and branch `main`, feeding `stdin` when given.
pub fn bylaw_in(dir: &Path, args: &[&str], stdin: Option<&str>) -> Out {
    let mut c = command(dir, args);
    c.stdout(Stdio::piped());
    run_bounded(c, stdin.map(str::as_bytes), Duration::from_secs(600)).unwrap_or_else(|e| panic!("{e}"))
}

/// The binary in `dir` with a clean environment (no CI variables), a fixed
/// date and branch `main`; stdout not yet chosen.
pub fn command(dir: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_bylaw"));
    c.args(args).current_dir(dir).env_clear().env("BYLAW_NOW", "2026-06-01T00:00:00Z").env("BYLAW_REF", "main");
    c
}

/// Runs `c` (its stdout already chosen: piped to be captured, or a file such
/// as `/dev/full`), feeding `stdin` when given, and kills it after `limit`:
/// `Err` says it hung, with what it had printed, so a hang fails a test
/// instead of stalling CI.
pub fn run_bounded(mut c: Command, stdin: Option<&[u8]>, limit: Duration) -> Result<Out, String> {
    use std::io::{Read, Write};
    c.stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() }).stderr(Stdio::piped());
    let mut child = c.spawn().map_err(|e| format!("cannot start bylaw: {e}"))?;
    let reader = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            if let Some(mut p) = pipe {
                let _ = p.read_to_end(&mut buf);
            }
            String::from_utf8_lossy(&buf).into_owned()
        })
    };
    let stdout = reader(child.stdout.take().map(|p| Box::new(p) as Box<dyn Read + Send>));
    let stderr = reader(child.stderr.take().map(|p| Box::new(p) as Box<dyn Read + Send>));
    if let (Some(text), Some(mut pipe)) = (stdin, child.stdin.take()) {
        // on its own thread: a child that never reads must not block us;
        // bylaw may stop reading early, a closed pipe is its business
        let text = text.to_vec();
        std::thread::spawn(move || {
            let _ = pipe.write_all(&text);
        });
    }
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
            break Some(status);
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let (stdout, stderr) = (stdout.join().unwrap_or_default(), stderr.join().unwrap_or_default());
    match status {
        Some(status) => Ok(Out { code: status.code().unwrap_or(-1), stdout, stderr }),
        None => Err(format!("hung: killed after {limit:?}\nstdout:\n{stdout}\nstderr:\n{stderr}")),
    }
}

/// (rule, path, start line) of every finding of a JSON report.
pub fn json_findings(stdout: &str) -> Vec<(String, String, u64)> {
    let v: serde_json::Value = serde_json::from_str(stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"));
    v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["rule_id"].as_str().unwrap().to_owned(),
                f["location"]["path"].as_str().unwrap().to_owned(),
                f["location"]["start_line"].as_u64().unwrap(),
            )
        })
        .collect()
}
