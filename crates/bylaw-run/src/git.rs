//! What the run asks git: the files it tracks although an ignore rule
//! matches them (committed, so checked).

use std::path::{Path, PathBuf};

/// Files git tracks although an ignore rule matches them (`git ls-files
/// --cached --ignored --exclude-standard`), in the work tree at or above
/// `dir` and in every initialized submodule (found from the index's
/// gitlinks, recursively). Empty outside a git work tree; `Err` when git
/// cannot say (not installed, or refusing a repository owned by another
/// user).
pub fn tracked_but_ignored(dir: &Path) -> Result<Vec<PathBuf>, String> {
    let Some(top) = bylaw_engine::paths::git_top(dir) else { return Ok(Vec::new()) };
    let mut found = Vec::new();
    tracked_but_ignored_in(&top, &mut found, 0)?;
    Ok(found)
}

fn tracked_but_ignored_in(dir: &Path, found: &mut Vec<PathBuf>, depth: usize) -> Result<(), String> {
    let git = |args: &[&str]| -> Result<Vec<u8>, String> {
        let out = std::process::Command::new("git")
            .arg("-C")
            .arg(dir)
            .args(args)
            .stdin(std::process::Stdio::null())
            .output()
            .map_err(|e| format!("git: {e}"))?;
        if out.status.success() {
            Ok(out.stdout)
        } else {
            let err = String::from_utf8_lossy(&out.stderr);
            Err(format!("git {}: {}", args[0], err.lines().next().unwrap_or("failed").trim()))
        }
    };
    let records = |bytes: Vec<u8>| -> Vec<String> {
        bytes.split(|b| *b == 0).filter(|p| !p.is_empty()).map(|p| String::from_utf8_lossy(p).into_owned()).collect()
    };
    for rel in records(git(&["ls-files", "--cached", "--ignored", "--exclude-standard", "-z"])?) {
        found.push(dir.join(rel));
    }
    if depth < 8 && dir.join(".gitmodules").is_file() {
        // gitlinks: `160000 SHA STAGE\tPATH`
        for record in records(git(&["ls-files", "--stage", "-z"])?) {
            if let Some((meta, rel)) = record.split_once('\t') {
                let sub = dir.join(rel);
                if meta.starts_with("160000 ") && sub.join(".git").exists() {
                    tracked_but_ignored_in(&sub, found, depth + 1)?;
                }
            }
        }
    }
    Ok(())
}
