//! What the run asks git: the files it tracks although an ignore rule
//! matches them (committed, so checked), and the policies of another
//! revision (a pull request's base, so a change cannot weaken the policies
//! that judge it).

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

/// Materialises the policy files of `paths` (relative ones taken from
/// `working_dir`; `pack:NAME` kept as is) as they are at commit `rev` (`git
/// ls-tree` and `git show` in the work tree holding `working_dir`) in a
/// temporary directory; returns it (the files live as long as it does) and
/// the paths to load instead.
///
/// # Errors
/// Why not, for a person: git cannot run, a path is outside the repository,
/// or does not exist at `rev` (a shallow clone lacks the base commit).
pub fn policies_at(
    rev: &str,
    paths: &[PathBuf],
    working_dir: &Path,
) -> Result<(tempfile::TempDir, Vec<PathBuf>), String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let git = |args: &[&str]| -> Result<Vec<u8>, String> {
        let out = std::process::Command::new("git")
            .arg("-C")
            .arg(working_dir)
            .args(args)
            .stdin(std::process::Stdio::null())
            .output()
            .map_err(|e| format!("cannot run git: {e}"))?;
        if out.status.success() {
            Ok(out.stdout)
        } else {
            Err(format!("git {}: {}", args.join(" "), String::from_utf8_lossy(&out.stderr).trim()))
        }
    };
    let top = PathBuf::from(String::from_utf8_lossy(&git(&["rev-parse", "--show-toplevel"])?).trim());
    let top = top.canonicalize().unwrap_or(top);
    let mut out = Vec::new();
    for p in paths {
        let s = p.to_string_lossy();
        if s.starts_with("pack:") {
            out.push(p.clone());
            continue;
        }
        // the path inside the repository (the policy may be gone from the work tree)
        let abs = bylaw_engine::paths::absolute(working_dir, p);
        let abs = abs.canonicalize().unwrap_or(abs);
        let rel = abs
            .strip_prefix(&top)
            .map_err(|_| format!("{} is outside the git repository {}", p.display(), top.display()))?
            .to_string_lossy()
            .into_owned();
        let top_s = top.to_string_lossy();
        let listed = git(&["-C", &top_s, "ls-tree", "-r", "--name-only", rev, "--", &rel])?;
        let files: Vec<String> = String::from_utf8_lossy(&listed).lines().map(str::to_owned).collect();
        if files.is_empty() {
            return Err(format!("`{rel}` does not exist at {rev}"));
        }
        for f in &files {
            let content = git(&["-C", &top_s, "show", &format!("{rev}:{f}")])?;
            let target = dir.path().join(f);
            if let Some(parent) = target.parent() {
                std::fs::create_dir_all(parent).map_err(|e| e.to_string())?;
            }
            std::fs::write(&target, content).map_err(|e| e.to_string())?;
        }
        out.push(dir.path().join(&rel));
    }
    Ok((dir, out))
}

/// The exact bytes of the diff of `paths` (repository-relative) between
/// commits `base` and `head`, as the approval of policy changes hashes it:
/// `git diff --no-color --no-ext-diff --no-textconv --full-index
/// --no-renames --diff-algorithm=myers --indent-heuristic -U3
/// --src-prefix=a/ --dst-prefix=b/ BASE HEAD -- PATHS…`, run at the top of
/// the work tree holding `working_dir`. Every option a user's git config
/// could change is given, so the bytes (and their digest) are the same on
/// every machine.
///
/// # Errors
/// Why not, for a person: git cannot run, or a commit is missing (a
/// shallow clone).
pub fn diff(base: &str, head: &str, paths: &[String], working_dir: &Path) -> Result<Vec<u8>, String> {
    let git = |dir: &Path, args: &[&str]| -> Result<Vec<u8>, String> {
        let out = std::process::Command::new("git")
            .arg("-C")
            .arg(dir)
            .args(args)
            .stdin(std::process::Stdio::null())
            .output()
            .map_err(|e| format!("cannot run git: {e}"))?;
        if out.status.success() {
            Ok(out.stdout)
        } else {
            Err(format!("git {}: {}", args.join(" "), String::from_utf8_lossy(&out.stderr).trim()))
        }
    };
    let top = PathBuf::from(String::from_utf8_lossy(&git(working_dir, &["rev-parse", "--show-toplevel"])?).trim());
    let mut args = vec![
        "diff",
        "--no-color",
        "--no-ext-diff",
        "--no-textconv",
        "--full-index",
        "--no-renames",
        "--diff-algorithm=myers",
        "--indent-heuristic",
        "-U3",
        "--src-prefix=a/",
        "--dst-prefix=b/",
        base,
        head,
        "--",
    ];
    args.extend(paths.iter().map(String::as_str));
    git(&top, &args)
}
