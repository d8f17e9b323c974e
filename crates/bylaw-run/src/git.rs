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
/// Why not, for a person: git cannot run, `rev` is not a commit, a path is
/// outside the repository, or does not exist at `rev` (a shallow clone
/// lacks the base commit).
pub fn policies_at(
    rev: &str,
    paths: &[PathBuf],
    working_dir: &Path,
) -> Result<(tempfile::TempDir, Vec<PathBuf>), String> {
    let at = files_at(rev, paths, working_dir)?;
    if let Some(rel) = at.missing.first() {
        return Err(format!("`{rel}` does not exist at {rev}"));
    }
    Ok((at.dir, at.paths))
}

/// Policy files as they are at a revision ([`files_at`]).
pub struct FilesAt {
    /// The temporary directory holding them (alive as long as this is).
    pub dir: tempfile::TempDir,
    /// The paths to load instead of the ones asked, for those that exist at
    /// the revision (`pack:NAME` kept as is).
    pub paths: Vec<PathBuf>,
    /// The paths asked (relative to the top of the work tree) that do not
    /// exist at the revision: a policy added since.
    pub missing: Vec<String>,
    /// The top of the work tree (canonical): a materialised file
    /// `dir/REL` stands for `top/REL`.
    pub top: PathBuf,
}

/// What [`policies_at`] does, but a path that does not exist at `rev` is
/// listed in [`FilesAt::missing`] instead of an error (comparing two
/// revisions: a policy added since is no error).
///
/// # Errors
/// As [`policies_at`], but for missing paths.
pub fn files_at(rev: &str, paths: &[PathBuf], working_dir: &Path) -> Result<FilesAt, String> {
    let commit = resolve_rev(rev, working_dir)?;
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let top = top_of(working_dir)?;
    let top_s = top.to_string_lossy().into_owned();
    let git = |args: &[&str]| run_git(&top, args);
    let mut out = Vec::new();
    let mut missing = Vec::new();
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
            .map_err(|_| format!("{} is outside the git repository {top_s}", p.display()))?
            .to_string_lossy()
            .into_owned();
        let listed = git(&["ls-tree", "-r", "-z", "--name-only", &commit, "--", &rel])?;
        let files: Vec<String> = listed
            .split(|b| *b == 0)
            .filter(|f| !f.is_empty())
            .map(|f| String::from_utf8_lossy(f).into_owned())
            .collect();
        if files.is_empty() {
            missing.push(if rel.is_empty() { ".".to_owned() } else { rel });
            continue;
        }
        for f in &files {
            let content = git(&["show", &format!("{commit}:{f}")])?;
            let target = dir.path().join(f);
            if let Some(parent) = target.parent() {
                std::fs::create_dir_all(parent).map_err(|e| e.to_string())?;
            }
            std::fs::write(&target, content).map_err(|e| e.to_string())?;
        }
        out.push(dir.path().join(&rel));
    }
    Ok(FilesAt { dir, paths: out, missing, top })
}

/// The commit `rev` names in the repository holding `working_dir` (a full
/// SHA-1 or SHA-256 in hex).
///
/// # Errors
/// `working_dir` is not in a git work tree, git cannot run, or `rev` names
/// no commit there (with the revision in the message).
pub fn resolve_rev(rev: &str, working_dir: &Path) -> Result<String, String> {
    let top = top_of(working_dir)?;
    if rev.is_empty() || rev.starts_with('-') {
        return Err(format!("`{rev}` is not a revision"));
    }
    let out = run_git(&top, &["rev-parse", "--verify", "--quiet", "--end-of-options", &format!("{rev}^{{commit}}")])
        .map_err(|_| {
            format!(
                "unknown revision `{rev}`: no such commit in the git repository {} (a shallow clone may lack it: fetch it, or the whole history)",
                top.display()
            )
        })?;
    Ok(String::from_utf8_lossy(&out).trim().to_owned())
}

/// The top of the git work tree holding `dir` (canonical).
///
/// # Errors
/// Not in a git work tree (or git cannot run).
pub fn top_of(dir: &Path) -> Result<PathBuf, String> {
    let out = run_git(dir, &["rev-parse", "--show-toplevel"])
        .map_err(|e| format!("{} is not in a git repository ({e})", dir.display()))?;
    let top = PathBuf::from(String::from_utf8_lossy(&out).trim());
    Ok(top.canonicalize().unwrap_or(top))
}

/// The tracked files of a repository as they are at a revision, in a
/// temporary directory ([`tree_at`]).
pub struct TreeAt {
    /// Holds the copy (alive as long as this is).
    pub dir: tempfile::TempDir,
    /// The copy's top: `copy/REL` is `top/REL` at the revision.
    pub copy: PathBuf,
    /// The top of the work tree the copy was made from (canonical).
    pub top: PathBuf,
    /// The commit checked out.
    pub commit: String,
}

impl TreeAt {
    /// Where `path` (absolute) of the work tree is in the copy; `None` for
    /// a path outside the work tree.
    pub fn map(&self, path: &Path) -> Option<PathBuf> {
        let canon = path.canonicalize().unwrap_or_else(|_| bylaw_engine::paths::normalize(path));
        let rel = canon.strip_prefix(&self.top).ok()?;
        Some(self.copy.join(rel))
    }
}

/// Materialises the repository holding `working_dir` as it is at `rev`: a
/// clone sharing its objects (`git clone --shared --no-checkout`, nothing
/// written to the repository itself) with `rev` checked out, so that paths
/// relative to the top are the same as in the work tree (fingerprints
/// match) and git's view (ignore rules, tracked files) is the revision's.
///
/// # Errors
/// Not a git work tree, `rev` names no commit, or git fails (the message
/// says which command).
pub fn tree_at(rev: &str, working_dir: &Path) -> Result<TreeAt, String> {
    let commit = resolve_rev(rev, working_dir)?;
    let top = top_of(working_dir)?;
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let copy = dir.path().join("tree");
    let (top_s, copy_s) = (top.to_string_lossy().into_owned(), copy.to_string_lossy().into_owned());
    run_git(dir.path(), &["clone", "-q", "--shared", "--no-checkout", "--", &top_s, &copy_s])?;
    run_git(&copy, &["-c", "advice.detachedHead=false", "checkout", "-q", "--detach", &commit])?;
    let copy = copy.canonicalize().unwrap_or(copy);
    Ok(TreeAt { dir, copy, top, commit })
}

/// Runs `git ARGS` in `dir` (no standard input): its standard output, or
/// the command and git's first error line.
fn run_git(dir: &Path, args: &[&str]) -> Result<Vec<u8>, String> {
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
        let err = String::from_utf8_lossy(&out.stderr);
        Err(format!("git {}: {}", args.join(" "), err.lines().next().unwrap_or("failed").trim()))
    }
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

/// The bytes of `file` (a path under the work tree holding `working_dir`,
/// absolute or relative to it) as committed at `rev`; `Ok(None)` when the
/// file does not exist at `rev`.
///
/// # Errors
/// Not in a git work tree, an unknown `rev`, a file outside the work tree.
pub fn file_at(rev: &str, file: &Path, working_dir: &Path) -> Result<Option<Vec<u8>>, String> {
    let commit = resolve_rev(rev, working_dir)?;
    let top = top_of(working_dir)?;
    let abs = bylaw_engine::paths::absolute(working_dir, file);
    let abs = abs.canonicalize().unwrap_or(abs);
    let rel = abs
        .strip_prefix(&top)
        .map_err(|_| format!("{} is outside the git repository {}", file.display(), top.display()))?
        .to_string_lossy()
        .replace('\\', "/");
    let listed = run_git(&top, &["ls-tree", "-z", "--name-only", &commit, "--", &rel])?;
    if listed.is_empty() {
        return Ok(None);
    }
    run_git(&top, &["show", &format!("{commit}:{rel}")]).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    fn git(dir: &Path, args: &[&str]) {
        let ok = Command::new("git")
            .args(args)
            .current_dir(dir)
            .env("GIT_AUTHOR_NAME", "t")
            .env("GIT_AUTHOR_EMAIL", "t@example.com")
            .env("GIT_COMMITTER_NAME", "t")
            .env("GIT_COMMITTER_EMAIL", "t@example.com")
            .status()
            .unwrap()
            .success();
        assert!(ok, "git {args:?}");
    }

    fn repo() -> tempfile::TempDir {
        let d = tempfile::tempdir().unwrap();
        git(d.path(), &["init", "-q", "-b", "main"]);
        std::fs::create_dir_all(d.path().join("p")).unwrap();
        std::fs::write(d.path().join("p/a.yaml"), "a: 1\n").unwrap();
        std::fs::write(d.path().join("x.yaml"), "x: 1\n").unwrap();
        git(d.path(), &["add", "-A"]);
        git(d.path(), &["commit", "-q", "-m", "one"]);
        std::fs::write(d.path().join("p/b.yaml"), "b: 2\n").unwrap();
        std::fs::write(d.path().join("x.yaml"), "x: 2\n").unwrap();
        git(d.path(), &["add", "-A"]);
        git(d.path(), &["commit", "-q", "-m", "two"]);
        d
    }

    #[test]
    fn an_unknown_revision_is_named() {
        let d = repo();
        let e = resolve_rev("no-such-branch", d.path()).unwrap_err();
        assert!(e.starts_with("unknown revision `no-such-branch`"), "{e}");
        assert!(resolve_rev("HEAD~1", d.path()).unwrap().len() >= 40);
        let outside = tempfile::tempdir().unwrap();
        assert!(resolve_rev("HEAD", outside.path()).unwrap_err().contains("is not in a git repository"));
    }

    #[test]
    fn the_tree_at_a_revision_has_its_files_at_the_same_relative_paths() {
        let d = repo();
        let t = tree_at("HEAD~1", d.path()).unwrap();
        assert_eq!(std::fs::read_to_string(t.copy.join("x.yaml")).unwrap(), "x: 1\n");
        assert!(!t.copy.join("p/b.yaml").exists());
        assert_eq!(t.map(&d.path().join("p/a.yaml")).unwrap(), t.copy.join("p/a.yaml"));
        // the work tree is left as it was
        assert_eq!(std::fs::read_to_string(d.path().join("x.yaml")).unwrap(), "x: 2\n");
    }

    #[test]
    fn files_at_lists_what_a_revision_lacks() {
        let d = repo();
        let at = files_at("HEAD~1", &[PathBuf::from("p"), PathBuf::from("p/b.yaml")], d.path()).unwrap();
        assert_eq!(at.missing, vec!["p/b.yaml".to_owned()]);
        assert!(at.paths[0].join("a.yaml").is_file());
        assert!(!at.paths[0].join("b.yaml").exists());
        assert_eq!(
            policies_at("HEAD~1", &[PathBuf::from("p/b.yaml")], d.path()).unwrap_err(),
            "`p/b.yaml` does not exist at HEAD~1"
        );
    }
}
