//! Finding the files to evaluate: the given paths, directories walked
//! recursively (honouring `.gitignore`, descending into hidden directories
//! such as `.github/` but never `.git/`), filtered by the project's target
//! globs, keeping only formats bylaw reads.

use crate::compile::FileMatcher;
use crate::eval::FileRef;
use crate::input::Format;
use crate::loader::display_path;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// What discovery found.
#[derive(Debug, Default)]
pub struct Discovered {
    pub files: Vec<FileRef>,
    /// Paths given explicitly that do not exist.
    pub missing: Vec<String>,
    /// Files given explicitly whose format bylaw does not read.
    pub skipped: Vec<String>,
}

/// Discovers files under `paths`. `targets` filters by glob; `exclude`
/// lists display paths never to evaluate (the policies and config themselves).
pub fn discover(paths: &[PathBuf], targets: Option<&FileMatcher>, exclude: &[String]) -> Discovered {
    let mut out = Discovered::default();
    let mut found: BTreeMap<String, PathBuf> = BTreeMap::new();
    let keep = |display: &str| {
        Format::of_path(display).is_some()
            && targets.is_none_or(|t| t.matches(display))
            && !exclude.iter().any(|e| e == display)
    };
    for p in paths {
        if p.is_file() {
            let display = display_path(p);
            if Format::of_path(&display).is_none() {
                out.skipped.push(display);
            } else if keep(&display) {
                found.insert(display, p.clone());
            }
            continue;
        }
        if !p.exists() {
            out.missing.push(display_path(p));
            continue;
        }
        let walker = ignore::WalkBuilder::new(p)
            .hidden(false)
            .git_ignore(true)
            .git_global(false)
            .git_exclude(true)
            .require_git(false)
            .filter_entry(|e| e.file_name() != ".git")
            .build();
        for entry in walker.flatten() {
            if entry.file_type().is_some_and(|t| t.is_file()) {
                let display = display_path(entry.path());
                if keep(&display) {
                    found.insert(display, entry.into_path());
                }
            }
        }
    }
    out.files = found.into_iter().map(|(path, fs_path)| FileRef { path, fs_path, content: None }).collect();
    out
}

/// Display path of a path that may not exist yet.
pub fn display(p: &Path) -> String {
    display_path(p)
}
