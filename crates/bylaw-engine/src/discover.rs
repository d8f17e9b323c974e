//! Finding the files to evaluate, and saying why every other file was not.
//!
//! The given paths are walked recursively (honouring `.gitignore`,
//! descending into hidden directories such as `.github/` but never `.git/`,
//! following symlinks with loop detection), and each file gets its one
//! display path relative to the [`ProjectRoot`]. A file reached several ways
//! (`./a.yaml` and `a.yaml`, or through a symlink) is evaluated once. Only
//! regular files are read.
//!
//! Files that are not plain manifests are recognized and skipped with a
//! reason rather than judged as complete workloads:
//! - Helm chart templates: files under `templates/` of a directory holding
//!   `Chart.yaml` (render them and pipe the output to `bylaw check -`);
//! - kustomize patches: files listed under `patches`, `patchesStrategicMerge`
//!   or `patchesJson6902` of a `kustomization.yaml` (pipe `kustomize build`);
//! - files of a format bylaw does not read, files ignored by `.gitignore`,
//!   files excluded by the config's `targets`.
//!
//! Every skip is returned as a [`Skipped`] so that `-v` can list it and the
//! summary can count it by reason.

use crate::compile::FileMatcher;
use crate::eval::FileRef;
use crate::input::Format;
use crate::paths::{self, canonical, ProjectRoot, STDIN};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// Why a file was not evaluated.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SkipReason {
    /// No format of [`crate::input::FORMATS`] claims it (by file name or extension).
    UnknownFormat,
    /// Ignored by `.gitignore` (or `.ignore`, `.git/info/exclude`).
    GitIgnore,
    /// Excluded by the config's `targets` globs.
    Targets,
    /// A Helm chart template (`templates/` beside `Chart.yaml`).
    HelmTemplate,
    /// A kustomize patch, listed in a `kustomization.yaml`.
    KustomizePatch,
    /// Not a regular file (FIFO, device, socket).
    NotRegular,
    /// A policy, exception list or config file of this run.
    BylawFile,
    /// A file no policy applies to (set after evaluation).
    NoPolicy,
    /// A file without any document: empty, blank or only comments (set
    /// after parsing; not "matched no policy", which would send its author
    /// to check `match.files`).
    Empty,
    /// An unrendered template (`{{ … }}` placeholders that are not YAML).
    Template,
    /// Over the size limit.
    TooLarge,
    /// Cannot be read (a dangling symlink, no permission).
    Unreadable,
}

impl SkipReason {
    /// The reason as printed and counted in the summary.
    pub fn as_str(&self) -> &'static str {
        match self {
            SkipReason::UnknownFormat => "unknown format",
            SkipReason::GitIgnore => ".gitignore",
            SkipReason::Targets => "excluded by targets",
            SkipReason::HelmTemplate => "Helm template",
            SkipReason::KustomizePatch => "kustomize patch",
            SkipReason::NotRegular => "not a regular file",
            SkipReason::BylawFile => "bylaw's own file",
            SkipReason::NoPolicy => "matched no policy",
            SkipReason::Empty => "empty",
            SkipReason::Template => "template",
            SkipReason::TooLarge => "too large",
            SkipReason::Unreadable => "unreadable",
        }
    }
}

impl std::fmt::Display for SkipReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A file that was not evaluated, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Skipped {
    /// Display path (a directory ends with `/`).
    pub path: String,
    pub reason: SkipReason,
    /// Named on the command line (the user expects it to be checked).
    pub explicit: bool,
}

/// What discovery found.
#[derive(Debug, Default)]
pub struct Discovered {
    /// Files to evaluate, sorted by display path.
    pub files: Vec<FileRef>,
    /// Display paths of the files named on the command line that are evaluated.
    pub explicit: HashSet<String>,
    /// Paths given explicitly that do not exist.
    pub missing: Vec<String>,
    /// Files not evaluated, sorted by path.
    pub skipped: Vec<Skipped>,
    /// Symlink loops and unreadable entries met while walking, one message each.
    pub loops: Vec<String>,
}

/// The path an `ignore` error is about, if it names one.
fn path_of(err: &ignore::Error) -> Option<&Path> {
    match err {
        ignore::Error::WithPath { path, .. } => Some(path),
        ignore::Error::WithDepth { err, .. } | ignore::Error::WithLineNumber { err, .. } => path_of(err),
        _ => None,
    }
}

/// What to leave out besides formats: target globs and bylaw's own files.
pub struct Filter<'a> {
    pub targets: Option<&'a FileMatcher>,
    /// `formats:` of the config: a file it sets a format for is read even
    /// when no format claims its name.
    pub formats: Option<&'a crate::input::FormatOverrides>,
    /// Canonical paths of files never to evaluate (policies, exception lists, config).
    pub exclude: &'a HashSet<PathBuf>,
    /// Canonical paths of the run's own artifacts (SARIF, JUnit, …): left
    /// out without a word, so that a second run reads what the first did.
    pub artifacts: &'a HashSet<PathBuf>,
    /// Lists the files that git tracks although `.gitignore` matches them
    /// (in submodules too): ignore rules do not apply to tracked files (they
    /// are committed and deployed), so they are checked. Called at most
    /// once, and only when ignore rules hid something. `Err` says why git
    /// could not tell (the run then warns that hidden files may include
    /// tracked ones).
    pub tracked: &'a dyn Fn() -> Result<Vec<PathBuf>, String>,
}

/// Every entry of a walk, in path order: the directory tree is read by
/// several threads (the stats that following symlinks needs are most of a
/// walk's time), and sorting makes the result the same on every run.
/// `each` sees every entry as it is found, on the walking threads.
fn walk_parallel(
    b: ignore::WalkBuilder,
    each: &(dyn Fn(&ignore::DirEntry) + Sync),
) -> Vec<Result<ignore::DirEntry, ignore::Error>> {
    let entries = Mutex::new(Vec::new());
    b.build_parallel().run(|| {
        let entries = &entries;
        Box::new(move |entry| {
            if let Ok(e) = &entry {
                each(e);
            }
            if let Ok(mut v) = entries.lock() {
                v.push(entry);
            }
            ignore::WalkState::Continue
        })
    });
    let mut entries = entries.into_inner().unwrap_or_else(|e| e.into_inner());
    let key = |e: &Result<ignore::DirEntry, ignore::Error>| -> PathBuf {
        match e {
            Ok(d) => d.path().to_path_buf(),
            Err(err) => {
                loop_of(err).map(|(_, child)| child).or_else(|| path_of(err).map(Path::to_path_buf)).unwrap_or_default()
            }
        }
    };
    entries.sort_by_cached_key(key);
    entries
}

/// Whether `dir` holds a file the walk reads ignore rules from:
/// `.gitignore` or git's `.git/info/exclude` (see [`walker`]).
fn has_ignore_file(dir: &Path) -> bool {
    [".gitignore", ".git/info/exclude"].iter().any(|name| dir.join(name).symlink_metadata().is_ok())
}

/// Finds a symlink loop inside an `ignore` error.
fn loop_of(err: &ignore::Error) -> Option<(PathBuf, PathBuf)> {
    match err {
        ignore::Error::Loop { ancestor, child } => Some((ancestor.clone(), child.clone())),
        ignore::Error::WithPath { err, .. } | ignore::Error::WithDepth { err, .. } => loop_of(err),
        ignore::Error::WithLineNumber { err, .. } => loop_of(err),
        ignore::Error::Partial(errs) => errs.iter().find_map(loop_of),
        _ => None,
    }
}

fn walker(p: &Path, gitignore: bool) -> ignore::WalkBuilder {
    let mut b = ignore::WalkBuilder::new(p);
    b.hidden(false)
        .follow_links(true)
        .git_ignore(gitignore)
        .git_global(false)
        .git_exclude(gitignore)
        // `.ignore` (ripgrep's) is not read: git does not know it, so a file
        // it hid could not be told apart from a tracked one (a committed
        // `.ignore` holding `*` would pass every check)
        .ignore(false)
        .parents(gitignore)
        .require_git(false);
    b
}

/// Discovers files under `paths` (absolute files or directories; `-` is
/// left to the caller).
pub fn discover(paths: &[PathBuf], root: &ProjectRoot, filter: &Filter<'_>) -> Discovered {
    let mut out = Discovered::default();
    // canonical path -> (display, fs path, explicit)
    let mut found: HashMap<PathBuf, (String, PathBuf, bool)> = HashMap::new();
    let mut skipped: BTreeMap<String, Skipped> = BTreeMap::new();
    let mut seen_loops: HashSet<PathBuf> = HashSet::new();
    let mut walked_files: Vec<PathBuf> = Vec::new();
    let mut unreadable_dirs: Vec<FileRef> = Vec::new();
    let mut untrack: Vec<String> = Vec::new();
    let tracked: std::cell::OnceCell<Result<Vec<PathBuf>, String>> = std::cell::OnceCell::new();
    let mut skip = |path: String, reason: SkipReason, explicit: bool| {
        skipped.entry(path.clone()).or_insert(Skipped { path, reason, explicit });
    };
    // canonical directory -> its canonical path: a walked file that is not
    // itself a symlink is its directory's canonical path plus its name, so
    // resolving costs one `realpath` per directory, not per file
    let mut canonical_dirs: HashMap<PathBuf, PathBuf> = HashMap::new();
    // `link`: whether the path itself is a symlink (the walker knows)
    let mut consider = |fs: PathBuf, explicit: bool, link: bool, skip: &mut dyn FnMut(String, SkipReason, bool)| {
        let display = root.display(&fs);
        let canon = match (fs.parent(), fs.file_name()) {
            (Some(dir), Some(name)) if !explicit && !link => {
                canonical_dirs.entry(dir.to_path_buf()).or_insert_with(|| canonical(dir)).join(name)
            }
            _ => canonical(&fs),
        };
        if filter.artifacts.contains(&canon) {
            return;
        }
        if filter.exclude.contains(&canon) {
            skip(display, SkipReason::BylawFile, explicit);
            return;
        }
        let set = filter.formats.and_then(|o| o.format_of(&display));
        if set.is_none() && Format::of_path(&display).is_none() {
            skip(display, SkipReason::UnknownFormat, explicit);
            return;
        }
        if filter.targets.is_some_and(|t| !t.matches(&display)) {
            skip(display, SkipReason::Targets, explicit);
            return;
        }
        // the name it is known by under the root wins over a symlink's,
        // else the shortest spelling
        match found.get_mut(&canon) {
            Some(old) => {
                let real = root.display(&canon);
                let rank = |d: &str| (d != real, d.len(), d.to_owned());
                let was_explicit = old.2 || explicit;
                if rank(&display) < rank(&old.0) {
                    *old = (display, fs, was_explicit);
                } else {
                    old.2 = was_explicit;
                }
            }
            None => {
                found.insert(canon, (display, fs, explicit));
            }
        }
    };
    for p in paths {
        let Ok(meta) = std::fs::metadata(p) else {
            out.missing.push(root.display(p));
            continue;
        };
        if !meta.is_dir() {
            if meta.is_file() {
                consider(p.clone(), true, true, &mut skip);
            } else {
                skip(root.display(p), SkipReason::NotRegular, true);
            }
            continue;
        }
        // ignore rules apply in a git work tree only, where git can say which
        // ignored files are tracked anyway; elsewhere (a tarball, an API
        // download) a committed `.gitignore` could hide committed manifests
        let in_git = paths::git_top(p).is_some();
        let mut b = walker(p, in_git);
        b.filter_entry(|e| e.file_name() != ".git");
        // by the bytes of the path (both walks spell paths alike), cheaper to
        // hash than `Path`'s components
        let mut visited: HashSet<std::ffi::OsString> = HashSet::new();
        // whether a directory of the walk holds an ignore file, looked up by
        // name (so one that ignores itself counts too)
        let ignore_files = AtomicBool::new(false);
        let look = |e: &ignore::DirEntry| {
            if e.file_type().is_some_and(|t| t.is_dir())
                && !ignore_files.load(Ordering::Relaxed)
                && has_ignore_file(e.path())
            {
                ignore_files.store(true, Ordering::Relaxed);
            }
        };
        for entry in walk_parallel(b, &look) {
            let entry = match entry {
                Ok(e) => e,
                Err(e) => {
                    if let Some((ancestor, child)) = loop_of(&e) {
                        if seen_loops.insert(canonical(&ancestor)) {
                            out.loops.push(format!(
                                "{}: symlink loop back to {} (not followed)",
                                root.display(&child),
                                root.display(&ancestor)
                            ));
                        }
                    } else if let Some(path) = path_of(&e) {
                        let display = root.display(path);
                        // a dangling or looping symlink is said plainly, not
                        // as the walker's "IO error for operation on PATH"
                        if path.is_symlink() {
                            out.loops.push(format!("{display}: {}: not read", paths::not_regular(path)));
                            skip(display, SkipReason::Unreadable, false);
                        } else if path.is_dir() {
                            // a directory that cannot be listed hides what is
                            // in it: evaluated as an input that fails to read
                            // (a blocking `bylaw/parse-error`), like an
                            // unreadable file, never a silent pass
                            unreadable_dirs.push(FileRef {
                                path: display,
                                fs_path: path.to_path_buf(),
                                content: None,
                                format: None,
                            });
                        } else {
                            let why = e.io_error().map(|io| io.to_string()).unwrap_or_else(|| e.to_string());
                            out.loops.push(format!("{display}: cannot be read ({why})"));
                            skip(display, SkipReason::Unreadable, false);
                        }
                    } else {
                        out.loops.push(e.to_string());
                    }
                    continue;
                }
            };
            visited.insert(entry.path().as_os_str().to_owned());
            match entry.file_type() {
                Some(t) if t.is_file() => {
                    walked_files.push(entry.path().to_path_buf());
                    let link = entry.path_is_symlink();
                    consider(entry.into_path(), false, link, &mut skip);
                }
                Some(t) if t.is_dir() => {}
                Some(_) => skip(root.display(entry.path()), SkipReason::NotRegular, false),
                None => {}
            }
        }
        // What .gitignore hid: walk again without it, pruning at the first
        // ignored directory (reported once, not descended). Without an
        // ignore file in the tree or above it nothing was hidden.
        let mut ignored = false;
        if !in_git || (!ignore_files.into_inner() && !paths::normalize(p).ancestors().skip(1).any(has_ignore_file)) {
            continue;
        }
        let visited = Arc::new(visited);
        let pruned: Arc<Mutex<Vec<PathBuf>>> = Arc::new(Mutex::new(Vec::new()));
        let mut b = walker(p, false);
        {
            let visited = visited.clone();
            let pruned = pruned.clone();
            b.filter_entry(move |e| {
                if e.file_name() == ".git" {
                    return false;
                }
                let is_dir = e.file_type().is_some_and(|t| t.is_dir());
                if is_dir && e.depth() > 0 && !visited.contains(e.path().as_os_str()) {
                    if let Ok(mut v) = pruned.lock() {
                        v.push(e.path().to_path_buf());
                    }
                    return false;
                }
                true
            });
        }
        for entry in walk_parallel(b, &|_| {}).into_iter().flatten() {
            if entry.file_type().is_some_and(|t| t.is_file()) && !visited.contains(entry.path().as_os_str()) {
                ignored = true;
                skip(root.display(entry.path()), SkipReason::GitIgnore, false);
            }
        }
        // filled by the walk above
        let dirs: Vec<PathBuf> = pruned.lock().map(|v| v.clone()).unwrap_or_default();
        ignored |= !dirs.is_empty();
        for d in dirs {
            skip(format!("{}/", root.display(&d)), SkipReason::GitIgnore, false);
        }
        // tracked files are checked whatever .gitignore says
        if ignored {
            let under = paths::normalize(p);
            let first = tracked.get().is_none();
            match tracked.get_or_init(|| (filter.tracked)()) {
                Ok(tracked) => {
                    for t in tracked.iter().filter(|t| paths::normalize(t).starts_with(&under) && t.is_file()) {
                        untrack.push(root.display(t));
                        consider(t.clone(), false, t.is_symlink(), &mut skip);
                    }
                }
                // said once: without git, a tracked file that .gitignore
                // matches cannot be told from an ignored one
                Err(why) if first => out.loops.push(format!(
                    "cannot ask git which ignored files it tracks ({why}): the files .gitignore hid (see the \
                     skipped files) were not checked, and a committed one among them would be missed; \
                     name such files explicitly or make git work (e.g. `git config --global --add \
                     safe.directory '*'` in a container)"
                )),
                Err(_) => {}
            }
        }
    }

    // Helm chart templates and kustomize patches are not complete manifests.
    let patches = kustomize_patches(&walked_files, paths);
    let mut charts: HashMap<PathBuf, bool> = HashMap::new();
    let mut files = Vec::new();
    for (canon, (display, fs_path, explicit)) in found {
        let reason = if patches.contains(&canon) {
            Some(SkipReason::KustomizePatch)
        } else if is_helm_template(&fs_path, &mut charts) && has_template_syntax(&fs_path) {
            Some(SkipReason::HelmTemplate)
        } else {
            None
        };
        match reason {
            Some(r) => skip(display, r, explicit),
            None => {
                if explicit {
                    out.explicit.insert(display.clone());
                }
                let format = filter.formats.and_then(|o| o.format_of(&display));
                files.push(FileRef { path: display, fs_path, content: None, format });
            }
        }
    }
    files.extend(unreadable_dirs);
    files.sort_by(|a, b| a.path.cmp(&b.path));
    out.files = files;
    for d in untrack {
        if skipped.get(&d).is_some_and(|s| s.reason == SkipReason::GitIgnore) {
            skipped.remove(&d);
        }
    }
    out.skipped = skipped.into_values().collect();
    // in path order, not the file system's directory order
    out.loops.sort();
    out
}

/// Whether a file holds `{{`: Helm renders a template without it verbatim,
/// so such a file is a plain manifest and is checked as one.
fn has_template_syntax(file: &Path) -> bool {
    std::fs::read(file).map_or(true, |b| b.windows(2).any(|w| w == b"{{"))
}

/// Whether `file` lies under `templates/` of a Helm chart (a directory
/// holding `Chart.yaml`). `charts` caches the directories already looked at.
fn is_helm_template(file: &Path, charts: &mut HashMap<PathBuf, bool>) -> bool {
    let abs = paths::normalize(file);
    let mut dir = abs.parent();
    while let Some(d) = dir {
        if d.file_name().is_some_and(|n| n == "templates") {
            if let Some(chart) = d.parent() {
                let is_chart = *charts.entry(chart.to_path_buf()).or_insert_with(|| chart.join("Chart.yaml").is_file());
                if is_chart {
                    return true;
                }
            }
        }
        dir = d.parent();
    }
    false
}

/// File names kustomize reads as a kustomization.
pub const KUSTOMIZATION_NAMES: &[&str] = &["kustomization.yaml", "kustomization.yml", "Kustomization"];

/// Canonical paths of the patch files named by the kustomizations among
/// `walked` and the explicitly given `paths`' directories.
fn kustomize_patches(walked: &[PathBuf], given: &[PathBuf]) -> HashSet<PathBuf> {
    let mut kustomizations: Vec<PathBuf> = walked
        .iter()
        .filter(|p| p.file_name().and_then(|n| n.to_str()).is_some_and(|n| KUSTOMIZATION_NAMES.contains(&n)))
        .cloned()
        .collect();
    // a patch named on its own: its kustomization sits beside it or above
    for p in given.iter().filter(|p| p.is_file()) {
        let mut dir = paths::normalize(p).parent().map(Path::to_path_buf);
        for _ in 0..4 {
            let Some(d) = dir else { break };
            kustomizations.extend(KUSTOMIZATION_NAMES.iter().map(|n| d.join(n)).filter(|k| k.is_file()));
            dir = d.parent().map(Path::to_path_buf);
        }
    }
    let mut patches = HashSet::new();
    let mut resources = HashSet::new();
    for k in kustomizations {
        let Ok(text) = std::fs::read_to_string(&k) else { continue };
        let Some(dir) = k.parent() else { continue };
        let named = kustomization_files(&text);
        patches.extend(named.patches.iter().map(|rel| canonical(&dir.join(rel))));
        resources.extend(named.resources.iter().map(|rel| canonical(&dir.join(rel))));
    }
    // A file some kustomization deploys as a resource is a manifest, and a
    // "patch" that is a complete workload is judged as one: naming a
    // manifest as a patch must not hide it from the gate.
    patches.retain(|p| !resources.contains(p) && !is_complete_workload_file(p));
    patches
}

/// Whether a file holds a Kubernetes document with containers that all
/// name an image: a complete workload, not a partial patch.
fn is_complete_workload_file(p: &Path) -> bool {
    let Ok(text) = std::fs::read_to_string(p) else { return false };
    let parsed = crate::input::parse_path(&p.to_string_lossy(), &text);
    parsed.documents.iter().any(|d| crate::input::yaml::is_kubernetes(d) && complete_containers(d) == Some(true))
}

/// `Some(true)` when the node holds container lists and every container
/// names an image, `Some(false)` when one does not, `None` without any.
fn complete_containers(n: &crate::node::Node) -> Option<bool> {
    use crate::node::NodeValue;
    match &n.value {
        NodeValue::Map(entries) => {
            let mut found = None;
            for e in entries {
                let here = match (&e.value.value, e.key.as_str()) {
                    (NodeValue::Seq(items), "containers" | "initContainers" | "ephemeralContainers") => {
                        Some(!items.is_empty() && items.iter().all(|c| c.str_at(&["image"]).is_some()))
                    }
                    _ => complete_containers(&e.value),
                };
                found = match (found, here) {
                    (Some(false), _) | (_, Some(false)) => Some(false),
                    (a, b) => a.or(b),
                };
            }
            found
        }
        NodeValue::Seq(items) => items.iter().filter_map(complete_containers).reduce(|a, b| a && b),
        _ => None,
    }
}

/// The files a kustomization names, by role.
#[derive(Debug, Default, PartialEq)]
pub struct KustomizationFiles {
    /// `patches[].path`, `patchesStrategicMerge[]` entries that are paths,
    /// `patchesJson6902[].path` (kubectl.docs.kubernetes.io, "patches").
    pub patches: Vec<String>,
    /// `resources[]` (a directory there, like the older `bases`, holds no patch).
    pub resources: Vec<String>,
}

/// Reads a kustomization's patch and resource paths (one parse).
fn kustomization_files(kustomization: &str) -> KustomizationFiles {
    let parsed = crate::input::yaml::parse(kustomization);
    let mut out = KustomizationFiles::default();
    fn seq<'a>(doc: &'a crate::node::Node, key: &str) -> &'a [crate::node::Node] {
        match doc.get(key).map(|n| &n.value) {
            Some(crate::node::NodeValue::Seq(items)) => items,
            _ => &[],
        }
    }
    for doc in &parsed.documents {
        for key in ["patches", "patchesStrategicMerge", "patchesJson6902"] {
            for item in seq(doc, key) {
                let path = item.as_str().or_else(|| item.str_at(&["path"]));
                // inline patches hold YAML text, not a path
                if let Some(p) = path.filter(|p| !p.contains('\n') && !p.contains(": ")) {
                    out.patches.push(p.to_owned());
                }
            }
        }
        out.resources.extend(seq(doc, "resources").iter().filter_map(|i| i.as_str()).map(str::to_owned));
    }
    out
}

/// Splits a YAML stream read from standard input (`helm template … | bylaw
/// check -`) into the files to evaluate. Helm prints `# Source:
/// CHART/templates/FILE` before each document: such a document is reported
/// against that template — its path under the root when a chart of that
/// name (`Chart.yaml` `name`) is found there — with lines counted from the
/// line after the comment (the template's own lines up to its first
/// control structure). A stream without these comments is one file,
/// `<stdin>`, with the stream's own lines.
pub fn split_stream(text: &str, root: &ProjectRoot) -> Vec<FileRef> {
    let stdin = || FileRef {
        path: STDIN.to_owned(),
        fs_path: PathBuf::from("-"),
        content: Some(text.to_owned()),
        format: None,
    };
    if !text.contains("# Source: ") {
        return vec![stdin()];
    }
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    // document starts: line indexes of `---` separators (and 0)
    let mut starts = vec![0usize];
    for (i, l) in lines.iter().enumerate() {
        let t = l.trim_end_matches(['\n', '\r']);
        if i > 0 && (t == "---" || t.starts_with("--- ") || t.starts_with("---\t")) {
            starts.push(i);
        }
    }
    starts.push(lines.len());
    let charts = OnceCharts::default();
    let mut out = Vec::new();
    for w in starts.windows(2) {
        let (from, to) = (w[0], w[1]);
        let chunk = &lines[from..to];
        // the `# Source:` comment among the leading comments of the document
        let source = chunk.iter().enumerate().take_while(|(_, l)| {
            let t = l.trim();
            t.is_empty() || t.starts_with('#') || t.starts_with("---")
        });
        let source = source.filter_map(|(i, l)| l.trim().strip_prefix("# Source: ").map(|s| (i, s.trim()))).last();
        match source.and_then(|(i, src)| charts.resolve(src, root).map(|p| (i, p))) {
            Some((i, path)) => {
                let content: String = chunk[i + 1..].concat();
                out.push(FileRef { fs_path: PathBuf::from("-"), path, content: Some(content), format: None });
            }
            // a `# Source:` that names no template under the root is not
            // trusted (it could borrow another file's exceptions)
            None => {
                // keep the stream's line numbers: blank lines stand for what came before
                let mut content = "\n".repeat(from);
                content.push_str(&chunk.concat());
                if content.trim().is_empty() {
                    continue;
                }
                out.push(FileRef {
                    fs_path: PathBuf::from("-"),
                    path: STDIN.to_owned(),
                    content: Some(content),
                    format: None,
                });
            }
        }
    }
    out
}

/// The charts under the root (`Chart.yaml` `name`, directory), found on first use.
#[derive(Default)]
struct OnceCharts(std::cell::OnceCell<Vec<(String, PathBuf)>>);

impl OnceCharts {
    /// The file a `# Source:` path names: its first segment is a chart's
    /// name, each `charts/NAME/` after it a subchart (by name or alias
    /// directory) under the chart's `charts/`; the rest is the template.
    fn resolve(&self, source: &str, root: &ProjectRoot) -> Option<String> {
        let charts = self.0.get_or_init(|| {
            let mut found = Vec::new();
            for e in walker(root.dir(), true).build().flatten() {
                if e.file_name() != "Chart.yaml" {
                    continue;
                }
                let Ok(text) = std::fs::read_to_string(e.path()) else { continue };
                let parsed = crate::input::yaml::parse(&text);
                let name = parsed.documents.first().and_then(|d| d.str_at(&["name"])).map(str::to_owned);
                if let (Some(name), Some(dir)) = (name, e.path().parent()) {
                    found.push((name, paths::normalize(dir)));
                }
            }
            found.sort();
            found
        });
        if source.split('/').any(|c| c == "..") {
            return None;
        }
        let (top, mut rest) = source.split_once('/').unwrap_or((source, ""));
        let mut dir = charts.iter().find(|(n, _)| n == top).map(|(_, d)| d.clone())?;
        while let Some(after) = rest.strip_prefix("charts/") {
            let (sub, tail) = after.split_once('/').unwrap_or((after, ""));
            let parent = dir.join("charts");
            let by_name = charts.iter().find(|(n, d)| n == sub && d.parent() == Some(parent.as_path()));
            match by_name.map(|(_, d)| d.clone()).or_else(|| Some(parent.join(sub)).filter(|d| d.is_dir())) {
                Some(d) => {
                    dir = d;
                    rest = tail;
                }
                None => return None,
            }
        }
        let file = dir.join(rest);
        file.is_file().then(|| root.display(&file))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, rel: &str, text: &str) {
        let p = dir.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }

    fn reasons(d: &Discovered) -> Vec<(String, &'static str)> {
        d.skipped.iter().map(|s| (s.path.clone(), s.reason.as_str())).collect()
    }

    #[test]
    fn skips_say_why_and_helm_and_kustomize_are_recognized() {
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path();
        write(d, "chart/Chart.yaml", "name: web\n");
        write(d, "chart/values.yaml", "replicas: 1\n");
        write(d, "chart/templates/deploy.yaml", "{{- if .Values.x }}\nkind: Deployment\n{{- end }}\n");
        write(d, "k/kustomization.yaml", "resources: [base.yaml]\npatches:\n  - path: patch.yaml\npatchesStrategicMerge:\n  - sm.yaml\n  - |-\n    kind: Deployment\n");
        write(d, "k/base.yaml", "kind: Deployment\n");
        write(d, "k/patch.yaml", "kind: Deployment\n");
        write(d, "k/sm.yaml", "kind: Deployment\n");
        // a complete workload named as a patch, and a resource of another kustomization
        write(d, "evil/kustomization.yaml", "patches:\n  - path: ../prod/pod.yaml\n  - path: ../k/base.yaml\n");
        write(
            d,
            "prod/pod.yaml",
            "apiVersion: v1\nkind: Pod\nmetadata: { name: p }\nspec: { containers: [{ name: a, image: x }] }\n",
        );
        write(d, "README.md", "# hi\n");
        write(d, ".gitignore", "build/\nsecret.yaml\n");
        std::fs::create_dir_all(d.join(".git")).unwrap();
        write(d, "build/out.yaml", "a: 1\n");
        write(d, "secret.yaml", "a: 1\n");
        let root = ProjectRoot::new(d);
        let exclude = HashSet::new();
        let found = discover(
            &[d.to_path_buf()],
            &root,
            &Filter {
                targets: None,
                formats: None,
                exclude: &exclude,
                artifacts: &exclude,
                tracked: &|| Ok(Vec::new()),
            },
        );
        let files: Vec<&str> = found.files.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(
            files,
            vec![
                "chart/Chart.yaml",
                "chart/values.yaml",
                "evil/kustomization.yaml",
                "k/base.yaml",
                "k/kustomization.yaml",
                "prod/pod.yaml"
            ]
        );
        assert_eq!(
            reasons(&found),
            vec![
                (".gitignore".into(), "unknown format"),
                ("README.md".into(), "unknown format"),
                ("build/".into(), ".gitignore"),
                ("chart/templates/deploy.yaml".into(), "Helm template"),
                ("k/patch.yaml".into(), "kustomize patch"),
                ("k/sm.yaml".into(), "kustomize patch"),
                ("secret.yaml".into(), ".gitignore"),
            ]
        );
    }

    #[test]
    fn what_ignore_files_hide_is_reported_wherever_they_are() {
        let run = |d: &Path, walk: &Path| {
            let root = ProjectRoot::new(d);
            let exclude = HashSet::new();
            let found = discover(
                &[walk.to_path_buf()],
                &root,
                &Filter {
                    targets: None,
                    formats: None,
                    exclude: &exclude,
                    artifacts: &exclude,
                    tracked: &|| Ok(Vec::new()),
                },
            );
            reasons(&found).into_iter().filter(|(_, r)| *r == ".gitignore").map(|(p, _)| p).collect::<Vec<String>>()
        };
        // a .gitignore that ignores itself is not listed by the walk, but
        // still hides files: they are reported
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path();
        std::fs::create_dir_all(d.join(".git")).unwrap();
        write(d, "sub/.gitignore", ".gitignore\nsecret.yaml\n");
        write(d, "sub/secret.yaml", "a: 1\n");
        write(d, "sub/ok.yaml", "a: 1\n");
        assert_eq!(run(d, d), vec!["sub/.gitignore".to_owned(), "sub/secret.yaml".to_owned()]);
        // an ignore file above the walked directory; ripgrep's `.ignore` is
        // not read (git cannot say what it hid)
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path();
        std::fs::create_dir_all(d.join(".git")).unwrap();
        write(d, ".gitignore", "*.json\n");
        write(d, "deep/a.json", "{}\n");
        write(d, "deep/b.yaml", "a: 1\n");
        write(d, "deep/.ignore", "b.yaml\n");
        assert_eq!(run(d, &d.join("deep")), vec!["deep/a.json".to_owned()]);
        // git's info/exclude
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path();
        write(d, ".git/info/exclude", "local.yaml\n");
        write(d, "local.yaml", "a: 1\n");
        assert_eq!(run(d, d), vec!["local.yaml".to_owned()]);
        // outside a git work tree ignore rules do not apply: git could not say
        // which ignored files are committed
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path();
        write(d, ".gitignore", "secret.yaml\n");
        write(d, "secret.yaml", "a: 1\n");
        assert!(run(d, d).is_empty());
        // no ignore file anywhere: nothing is hidden
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path();
        write(d, "x/a.yaml", "a: 1\n");
        write(d, "x/.ignore", "*\n");
        assert!(run(d, d).is_empty());
    }

    #[test]
    fn a_file_named_several_ways_is_evaluated_once_under_one_path() {
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path();
        write(d, "deploy/prod/a.yaml", "a: 1\n");
        let root = ProjectRoot::new(d);
        let exclude = HashSet::new();
        let f = Filter {
            targets: None,
            formats: None,
            exclude: &exclude,
            artifacts: &exclude,
            tracked: &|| Ok(Vec::new()),
        };
        let given = vec![d.join("deploy//"), d.join("./deploy/prod/a.yaml"), d.join("deploy/prod/../prod/a.yaml")];
        let found = discover(&given, &root, &f);
        let files: Vec<&str> = found.files.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(files, vec!["deploy/prod/a.yaml"]);
    }

    #[cfg(unix)]
    #[test]
    fn symlinks_are_followed_and_loops_reported_once() {
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path();
        write(d, "real/a.yaml", "a: 1\n");
        std::os::unix::fs::symlink(d.join("real"), d.join("linked")).unwrap();
        std::os::unix::fs::symlink(d, d.join("real/loop")).unwrap();
        let root = ProjectRoot::new(d);
        let exclude = HashSet::new();
        let found = discover(
            &[d.to_path_buf()],
            &root,
            &Filter {
                targets: None,
                formats: None,
                exclude: &exclude,
                artifacts: &exclude,
                tracked: &|| Ok(Vec::new()),
            },
        );
        let files: Vec<&str> = found.files.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(files, vec!["real/a.yaml"], "one file, under its real name");
        assert_eq!(found.loops.len(), 1, "{:?}", found.loops);
    }

    #[cfg(unix)]
    #[test]
    fn broken_and_looping_symlinks_are_named_plainly_in_path_order() {
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path();
        write(d, "a.yaml", "a: 1\n");
        for (link, target) in [("z1.yaml", "z2.yaml"), ("z2.yaml", "z1.yaml"), ("b.yaml", "nowhere.yaml")] {
            std::os::unix::fs::symlink(target, d.join(link)).unwrap();
        }
        let root = ProjectRoot::new(d);
        let exclude = HashSet::new();
        let found = discover(
            &[d.to_path_buf()],
            &root,
            &Filter {
                targets: None,
                formats: None,
                exclude: &exclude,
                artifacts: &exclude,
                tracked: &|| Ok(Vec::new()),
            },
        );
        assert_eq!(
            found.loops,
            vec![
                "b.yaml: a broken symlink (its target nowhere.yaml does not exist): not read",
                "z1.yaml: a symlink loop (the link leads back to itself): not read",
                "z2.yaml: a symlink loop (the link leads back to itself): not read",
            ]
        );
    }

    #[test]
    fn helm_streams_are_split_by_source() {
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path();
        write(d, "charts/web/Chart.yaml", "name: web\n");
        write(d, "charts/web/templates/deploy.yaml", "kind: Deployment\n");
        let root = ProjectRoot::new(d);
        write(d, "charts/web/charts/db-dir/Chart.yaml", "name: db\n");
        write(d, "charts/web/charts/db-dir/templates/sts.yaml", "kind: StatefulSet\n");
        let stream = "---\n# Source: web/templates/deploy.yaml\napiVersion: apps/v1\nkind: Deployment\n---\n# Source: web/templates/missing.yaml\nkind: Service\n---\n# Source: web/charts/db/templates/sts.yaml\nkind: StatefulSet\n---\n# Source: ../../etc/passwd\nkind: Secret\n";
        let files = split_stream(stream, &root);
        let got: Vec<(&str, &str)> = files.iter().map(|f| (f.path.as_str(), f.content.as_deref().unwrap())).collect();
        assert_eq!(
            got,
            vec![
                ("charts/web/templates/deploy.yaml", "apiVersion: apps/v1\nkind: Deployment\n"),
                // no such template: the stream's own name and lines
                ("<stdin>", "\n\n\n\n---\n# Source: web/templates/missing.yaml\nkind: Service\n"),
                ("charts/web/charts/db-dir/templates/sts.yaml", "kind: StatefulSet\n"),
                ("<stdin>", "\n\n\n\n\n\n\n\n\n\n---\n# Source: ../../etc/passwd\nkind: Secret\n"),
            ]
        );
        let plain = split_stream("a: 1\n---\nb: 2\n", &root);
        assert_eq!(plain.len(), 1);
        assert_eq!(plain[0].path, STDIN);
    }
}
