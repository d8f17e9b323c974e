//! The repository root, running commands, and the pinned third-party tools
//! of `scripts/tools.sh`.

use std::path::{Path, PathBuf};
use std::process::Command;

pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().unwrap()
}

/// Runs `cmd`: exit code, stdout, stderr.
pub fn sh(cmd: &mut Command) -> (i32, String, String) {
    let out = cmd.output().unwrap();
    (out.status.code().unwrap_or(-1), String::from_utf8(out.stdout).unwrap(), String::from_utf8(out.stderr).unwrap())
}

/// PyPI's check-jsonschema (installed into target/tools on first use).
pub fn check_jsonschema() -> PathBuf {
    let (code, out, err) = sh(Command::new("bash").arg(root().join("scripts/tools.sh")).arg("check-jsonschema"));
    assert_eq!(code, 0, "scripts/tools.sh check-jsonschema: {err}");
    PathBuf::from(out.trim())
}

/// A fresh copy of the repository all CI adapters are tested on
/// (`tests/fixtures/github/repo`: three Deployments, a policy with a
/// blocking, a mandatory and an advisory rule).
pub fn adapter_repo() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&root().join("tests/fixtures/github/repo"), dir.path());
    dir
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), target).unwrap();
        }
    }
}
