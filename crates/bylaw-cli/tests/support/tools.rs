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
