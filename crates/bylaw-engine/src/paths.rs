//! The project root and the one path every file is known by (DESIGN §6).
//!
//! The root is the directory of the config in use, else the top of the git
//! work tree holding the checked paths, else the current directory. Every
//! file is shown, matched (`match.files`, exception `targets`) and
//! fingerprinted by one normalized path relative to that root: `/`
//! separators, no `.`, `..` or empty components, so `./deploy//a.yaml`,
//! `deploy/x/../a.yaml` and `/abs/repo/deploy/a.yaml` are all
//! `deploy/a.yaml`, and `bylaw check repo` run from the parent finds the same
//! as `cd repo && bylaw check`. A file outside the root keeps its absolute,
//! normalized path (SARIF gives it a `file://` URI).
//!
//! Normalization is lexical (a symlink under the root keeps the name it was
//! found by); the root itself is also known by its canonical path so that a
//! path through a symlinked ancestor (`/tmp` → `/private/tmp`) still lands
//! inside it.
//!
//! The engine never reads the process's current directory: its callers
//! hand it absolute paths ([`absolute`] against their own working
//! directory, which [`find_config`] and [`ProjectRoot::find`] take as a
//! parameter); a relative path given to [`ProjectRoot::display`] is taken
//! from the root.

use std::path::{Component, Path, PathBuf};

/// Display path of standard input (`bylaw check -`).
pub const STDIN: &str = "<stdin>";

/// The directory every displayed path is relative to.
#[derive(Clone, Debug)]
pub struct ProjectRoot {
    /// Absolute, lexically normalized.
    dir: PathBuf,
    /// `dir` with symlinks resolved (equal to `dir` when it has none).
    canonical: PathBuf,
    /// Canonical paths of the directories of files displayed from outside
    /// the root: one `realpath` per directory, not per file.
    canonical_dirs: std::sync::Arc<std::sync::Mutex<std::collections::HashMap<PathBuf, Option<PathBuf>>>>,
}

impl ProjectRoot {
    /// A root at `dir`, an absolute directory (normalized lexically here).
    pub fn new(dir: &Path) -> ProjectRoot {
        let dir = normalize(dir);
        let canonical = std::fs::canonicalize(&dir).unwrap_or_else(|_| dir.clone());
        ProjectRoot { dir, canonical, canonical_dirs: Default::default() }
    }

    /// The root as DESIGN §6 defines it: the config's directory when a
    /// config is in use, else the top of the git work tree holding the
    /// checked paths, else `working_dir` (the caller's current directory).
    /// Relative paths are taken from `working_dir` (absolute).
    pub fn find(config_dir: Option<&Path>, checked: &[PathBuf], working_dir: &Path) -> ProjectRoot {
        if let Some(dir) = config_dir {
            return ProjectRoot::new(&absolute(working_dir, dir));
        }
        let start = common_ancestor(checked, working_dir).unwrap_or_else(|| working_dir.to_path_buf());
        match git_top(&start) {
            Some(top) => ProjectRoot::new(&top),
            None => ProjectRoot::new(working_dir),
        }
    }

    /// The root directory (absolute).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The one display path of `p`: relative to the root with `/` separators
    /// when it lies inside it, else absolute; always normalized.
    pub fn display(&self, p: &Path) -> String {
        if p.as_os_str() == "-" {
            return STDIN.to_owned();
        }
        let abs = absolute(&self.dir, p);
        if let Some(rel) = self.relative(&abs) {
            return rel;
        }
        // through a symlinked ancestor of the root
        if let Some(canon) = self.canonical_of(&abs) {
            if let Ok(rel) = canon.strip_prefix(&self.canonical) {
                return slash(rel);
            }
        }
        slash(&abs)
    }

    /// `std::fs::canonicalize(abs)`, with the directory part cached when
    /// `abs` itself is not a symlink.
    fn canonical_of(&self, abs: &Path) -> Option<PathBuf> {
        let (Some(dir), Some(name)) = (abs.parent(), abs.file_name()) else {
            return std::fs::canonicalize(abs).ok();
        };
        if abs.is_symlink() {
            return std::fs::canonicalize(abs).ok();
        }
        let mut cache = self.canonical_dirs.lock().unwrap_or_else(|e| e.into_inner());
        let dir = cache.entry(dir.to_path_buf()).or_insert_with(|| std::fs::canonicalize(dir).ok());
        dir.as_ref().map(|d| d.join(name))
    }

    /// `abs` relative to the root, when it is inside it (lexically).
    fn relative(&self, abs: &Path) -> Option<String> {
        for base in [&self.dir, &self.canonical] {
            if let Ok(rel) = abs.strip_prefix(base) {
                let s = slash(rel);
                return Some(if s.is_empty() { ".".to_owned() } else { s });
            }
        }
        None
    }

    /// The filesystem path of a display path.
    pub fn resolve(&self, display: &str) -> PathBuf {
        let p = Path::new(display);
        if p.is_absolute() {
            p.to_path_buf()
        } else {
            self.dir.join(p)
        }
    }
}

/// `p` made absolute against `base` (an absolute directory: the caller's
/// working directory) and normalized as the filesystem reads it: `.` and
/// empty components dropped, `..` applied to the components before it
/// (never above the filesystem root) — except after a symlink, where `..`
/// is the parent of the link's target (`link/../x` is opened there, as
/// the shell's `ls link/../x` does), so the prefix is resolved first. An
/// absolute `p` is only normalized.
pub fn absolute(base: &Path, p: &Path) -> PathBuf {
    let joined = if p.is_absolute() { p.to_path_buf() } else { base.join(p) };
    let mut out = PathBuf::new();
    for c in joined.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                if out.is_symlink() {
                    if let Ok(target) = std::fs::canonicalize(&out) {
                        out = target;
                    }
                }
                if out.parent().is_some() {
                    out.pop();
                }
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

/// The canonical path of `p` (absolute; symlinks resolved), or its
/// normalized form when it does not exist: the identity of a file.
pub fn canonical(p: &Path) -> PathBuf {
    std::fs::canonicalize(p).unwrap_or_else(|_| normalize(p))
}

/// Lexical normalization of a path (no filesystem access).
pub fn normalize(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                let at_top = out.parent().is_none() && out.has_root();
                let above = out.as_os_str().is_empty() || out.ends_with("..");
                if above {
                    out.push("..");
                } else if !at_top {
                    out.pop();
                }
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

fn slash(p: &Path) -> String {
    let s = p.to_string_lossy();
    if std::path::MAIN_SEPARATOR == '/' {
        s.into_owned()
    } else {
        s.replace(std::path::MAIN_SEPARATOR, "/")
    }
}

/// The top of the git work tree holding `start` (an absolute directory or
/// file): the nearest ancestor with a `.git` directory or file (worktrees,
/// submodules).
pub fn git_top(start: &Path) -> Option<PathBuf> {
    let start = normalize(start);
    let mut dir = if start.is_dir() { Some(start.as_path()) } else { start.parent() };
    while let Some(d) = dir {
        if d.join(".git").exists() {
            return Some(d.to_path_buf());
        }
        dir = d.parent();
    }
    None
}

/// The deepest directory holding every checked path (`-` left out;
/// relative ones taken from `working_dir`), so that the order of the paths
/// changes nothing.
pub fn common_ancestor(checked: &[PathBuf], working_dir: &Path) -> Option<PathBuf> {
    let mut paths = checked.iter().filter(|p| p.as_os_str() != "-").map(|p| absolute(working_dir, p));
    let first = paths.next()?;
    let mut common = if first.is_dir() { first } else { first.parent().map(Path::to_path_buf)? };
    for p in paths {
        while !p.starts_with(&common) {
            common = common.parent()?.to_path_buf();
        }
    }
    Some(common)
}

/// The config file for a run without `--config`: the first of `names` in
/// the directory holding every checked path or one of its ancestors, up to
/// the top of its git work tree (inclusive) — so `bylaw check repo` from the
/// parent uses `repo/.bylaw.yaml` — else in the current directory and its
/// ancestors up to its git work tree's top. `working_dir` is the caller's
/// current directory (absolute); relative checked paths are taken from it.
pub fn find_config(names: &[&str], checked: &[PathBuf], working_dir: &Path) -> Option<PathBuf> {
    let mut starts: Vec<PathBuf> = common_ancestor(checked, working_dir).into_iter().collect();
    starts.push(normalize(working_dir));
    for start in starts {
        let mut dir = if start.is_dir() { Some(start.as_path()) } else { start.parent() };
        while let Some(d) = dir {
            // a config that is there but cannot be read (a broken symlink,
            // a FIFO) is found, so loading it says why, instead of the run
            // going on silently without its policies, exceptions and limits
            if let Some(found) =
                names.iter().map(|n| d.join(n)).find(|p| p.symlink_metadata().is_ok_and(|m| !m.is_dir()))
            {
                return Some(found);
            }
            if d.join(".git").exists() {
                break;
            }
            dir = d.parent();
        }
    }
    None
}

/// Largest policy, config, exception list or test file read (64 MiB): a
/// larger one is refused rather than read into memory.
pub const MAX_SOURCE_SIZE: u64 = 64 * 1024 * 1024;

/// Why bylaw does not read `path` (not a regular file), for a message that
/// ends with what happens instead (`skipped`, `not read`).
pub fn why_not_read(path: &Path) -> String {
    let what = not_regular(path);
    if std::fs::metadata(path).is_ok() {
        format!("not a regular file ({what})")
    } else {
        what
    }
}

/// What `path` is, said plainly, when it is not a regular file bylaw can
/// read: "a FIFO", "a socket", "a character device", "a block device", "a
/// directory", "a broken symlink (…)" or "a symlink loop", else the error
/// of resolving it. A message never calls a dangling symlink a device.
pub fn not_regular(path: &Path) -> String {
    match std::fs::metadata(path) {
        Ok(m) => {
            let t = m.file_type();
            #[cfg(unix)]
            {
                use std::os::unix::fs::FileTypeExt;
                if t.is_fifo() {
                    return "a FIFO".into();
                }
                if t.is_socket() {
                    return "a socket".into();
                }
                if t.is_char_device() {
                    return "a character device".into();
                }
                if t.is_block_device() {
                    return "a block device".into();
                }
            }
            if t.is_dir() {
                "a directory".into()
            } else if t.is_file() {
                "a regular file".into()
            } else {
                "not a regular file".into()
            }
        }
        Err(e) => match std::fs::read_link(path) {
            Ok(_) if symlink_loops(path) => "a symlink loop (the link leads back to itself)".into(),
            Ok(target) if e.kind() == std::io::ErrorKind::NotFound => {
                format!("a broken symlink (its target {} does not exist)", target.display())
            }
            _ => format!("cannot be resolved: {e}"),
        },
    }
}

/// Whether following the symlink at `path` comes back to a link already seen.
fn symlink_loops(path: &Path) -> bool {
    let mut seen = std::collections::HashSet::new();
    let mut at = normalize(path);
    while let Ok(target) = std::fs::read_link(&at) {
        if !seen.insert(at.clone()) {
            return true;
        }
        at = normalize(&at.parent().map(|d| d.join(&target)).unwrap_or(target));
    }
    false
}

/// Reads a file bylaw was pointed at (policy, `extends`, exception list,
/// config, test input, audit log): only a regular file (after symlinks) is
/// opened, so a FIFO, socket or device (`extends: /dev/zero`) is a clear
/// error instead of a hang or an endless read, and at most `limit` bytes.
pub fn read_regular(path: &Path, limit: u64) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && path.is_symlink() => {
            return Err(std::io::Error::new(e.kind(), not_regular(path)));
        }
        Err(_) if path.is_symlink() => return Err(std::io::Error::other(not_regular(path))),
        Err(e) => return Err(e),
    };
    if meta.is_dir() {
        return Err(std::io::Error::other("is a directory"));
    }
    if !meta.is_file() {
        return Err(std::io::Error::other(format!("{}: not read", why_not_read(path))));
    }
    if meta.len() > limit {
        return Err(std::io::Error::other(format!("{} bytes, over the limit of {limit} bytes", meta.len())));
    }
    let mut buf = Vec::with_capacity(meta.len() as usize);
    std::fs::File::open(path)?.take(limit.saturating_add(1)).read_to_end(&mut buf)?;
    if buf.len() as u64 > limit {
        return Err(std::io::Error::other(format!("over the limit of {limit} bytes")));
    }
    Ok(buf)
}

/// [`read_regular`] as UTF-8 text (policies, configs, exception lists, tests).
pub fn read_text(path: &Path) -> std::io::Result<String> {
    String::from_utf8(read_regular(path, MAX_SOURCE_SIZE)?)
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::InvalidData, "not valid UTF-8"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn only_regular_files_are_read() {
        let tmp = tempfile::tempdir().unwrap();
        let fifo = tmp.path().join("fifo");
        assert!(std::process::Command::new("mkfifo").arg(&fifo).status().unwrap().success());
        let e = read_text(&fifo).unwrap_err();
        assert!(e.to_string().contains("not a regular file"), "{e}");
        assert!(read_text(Path::new("/dev/zero")).unwrap_err().to_string().contains("not a regular file"));
        let big = tmp.path().join("big");
        std::fs::write(&big, "x".repeat(100)).unwrap();
        assert!(read_regular(&big, 10).unwrap_err().to_string().contains("over the limit"));
        assert_eq!(read_regular(&big, 100).unwrap().len(), 100);
    }

    #[cfg(unix)]
    #[test]
    fn what_is_not_a_regular_file_is_named_plainly() {
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path();
        assert!(std::process::Command::new("mkfifo").arg(d.join("fifo")).status().unwrap().success());
        std::os::unix::fs::symlink("b.yaml", d.join("a.yaml")).unwrap();
        std::os::unix::fs::symlink("a.yaml", d.join("b.yaml")).unwrap();
        std::os::unix::fs::symlink("nowhere.yaml", d.join("dangling.yaml")).unwrap();
        std::os::unix::fs::symlink("fifo", d.join("to-fifo")).unwrap();
        assert_eq!(not_regular(&d.join("fifo")), "a FIFO");
        assert_eq!(not_regular(&d.join("to-fifo")), "a FIFO");
        assert_eq!(not_regular(Path::new("/dev/zero")), "a character device");
        assert_eq!(not_regular(&d.join("a.yaml")), "a symlink loop (the link leads back to itself)");
        assert_eq!(not_regular(&d.join("dangling.yaml")), "a broken symlink (its target nowhere.yaml does not exist)");
        let e = read_text(&d.join("a.yaml")).unwrap_err().to_string();
        assert!(e.contains("symlink loop"), "{e}");
        let e = read_text(&d.join("dangling.yaml")).unwrap_err().to_string();
        assert!(e.contains("broken symlink"), "{e}");
        let e = read_text(&d.join("fifo")).unwrap_err().to_string();
        assert_eq!(e, "not a regular file (a FIFO): not read");
    }

    #[test]
    fn dot_dot_after_a_symlink_is_the_parent_of_its_target() {
        let tmp = tempfile::tempdir().unwrap();
        let (store, work) = (tmp.path().join("store"), tmp.path().join("work"));
        std::fs::create_dir_all(store.join("repo")).unwrap();
        std::fs::create_dir_all(store.join("shared")).unwrap();
        std::fs::create_dir_all(&work).unwrap();
        std::os::unix::fs::symlink(store.join("repo"), work.join("repo")).unwrap();
        let store = std::fs::canonicalize(&store).unwrap();
        assert_eq!(absolute(&work, Path::new("repo/../shared")), store.join("shared"));
        assert!(absolute(&work, Path::new("repo/../shared")).is_dir());
        // no symlink: lexical
        assert_eq!(absolute(&work, Path::new("a/../b")), work.join("b"));
        assert_eq!(absolute(Path::new("/"), Path::new("../../x")), PathBuf::from("/x"));
    }

    #[test]
    fn normalizes_lexically() {
        assert_eq!(normalize(Path::new("/a/./b//c/../d")), PathBuf::from("/a/b/d"));
        assert_eq!(normalize(Path::new("/a/b/../../..")), PathBuf::from("/"));
        assert_eq!(normalize(Path::new("../../etc/x")), PathBuf::from("../../etc/x"));
        assert_eq!(normalize(Path::new("a/../../b")), PathBuf::from("../b"));
    }

    #[test]
    fn one_display_path_whatever_the_spelling() {
        let tmp = tempfile::tempdir().unwrap();
        let root = ProjectRoot::new(tmp.path());
        let base = tmp.path();
        for spelling in [
            base.join("deploy/a.yaml"),
            base.join("./deploy//a.yaml"),
            base.join("deploy/x/../a.yaml"),
            base.join("deploy/./a.yaml"),
        ] {
            assert_eq!(root.display(&spelling), "deploy/a.yaml", "{}", spelling.display());
        }
        assert_eq!(root.display(Path::new("/elsewhere/b.yaml")), "/elsewhere/b.yaml");
        assert_eq!(root.display(Path::new("-")), STDIN);
    }

    #[test]
    fn config_is_found_from_the_checked_path() {
        let tmp = tempfile::tempdir().unwrap();
        let repo = tmp.path().join("repo");
        std::fs::create_dir_all(repo.join("deploy/prod")).unwrap();
        std::fs::create_dir_all(repo.join(".git")).unwrap();
        std::fs::write(repo.join(".bylaw.yaml"), "policies: []\n").unwrap();
        let found = find_config(&[".bylaw.yaml"], &[repo.join("deploy/prod")], tmp.path()).unwrap();
        assert_eq!(found, repo.join(".bylaw.yaml"));
        assert_eq!(git_top(&repo.join("deploy/prod")).unwrap(), repo);
        let root = ProjectRoot::find(None, &[repo.join("deploy")], tmp.path());
        assert_eq!(root.dir(), repo.as_path());
        // the order of the checked paths changes nothing
        std::fs::create_dir_all(repo.join("sub")).unwrap();
        std::fs::write(repo.join("sub/.bylaw.yaml"), "policies: []\n").unwrap();
        for order in [[repo.join("deploy"), repo.join("sub")], [repo.join("sub"), repo.join("deploy")]] {
            assert_eq!(find_config(&[".bylaw.yaml"], &order, tmp.path()).unwrap(), repo.join(".bylaw.yaml"));
        }
        assert_eq!(
            find_config(&[".bylaw.yaml"], &[repo.join("sub")], tmp.path()).unwrap(),
            repo.join("sub/.bylaw.yaml")
        );
        // one that cannot be read is still the config: loading it says why
        #[cfg(unix)]
        {
            std::fs::create_dir_all(repo.join("broken")).unwrap();
            std::os::unix::fs::symlink("../shared/.bylaw.yaml", repo.join("broken/.bylaw.yaml")).unwrap();
            let found = find_config(&[".bylaw.yaml"], &[repo.join("broken")], tmp.path()).unwrap();
            assert_eq!(found, repo.join("broken/.bylaw.yaml"));
            let e = read_text(&found).unwrap_err().to_string();
            assert!(e.contains("a broken symlink (its target ../shared/.bylaw.yaml does not exist)"), "{e}");
        }
    }
}
