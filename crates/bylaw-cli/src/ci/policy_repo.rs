//! The binary's side of the approval of policy changes
//! ([`bylaw_ci::policy_approval`]): the run's policy paths loaded from the
//! work tree and, through `git`, as they are at the change's base commit
//! (`bylaw_run::git::policies_at`, as `--policy-ref base` does), with the
//! config's `approvers` of that revision and the diff of policy files.

use bylaw_ci::policy_approval::{policy_files, BaseRevision, ConfigRevisions, PolicyFiles, PolicyRepo};
use bylaw_engine::chrono::NaiveDate;
use bylaw_engine::compile::CompileOptions;
use bylaw_engine::config::Config;
use bylaw_engine::paths::{absolute, git_top};
use bylaw_run::RegoOptions;
use std::path::{Path, PathBuf};

/// The run's policy sources, at head (the work tree) and at a revision.
pub struct Sources {
    /// The policy paths of the run, in sets loaded apart ([`source_sets`]):
    /// never the base revision's copies.
    pub sets: Vec<Vec<PathBuf>>,
    pub rego: RegoOptions,
    /// The config file in use (absolute), if any.
    pub config_file: Option<PathBuf>,
    /// The config's `approvers` (used when the config is outside the repository).
    pub approvers: Vec<String>,
    pub audit_log: Option<PathBuf>,
    pub working_dir: PathBuf,
    pub today: NaiveDate,
}

/// The policy paths whose changes the gate watches: the flags' (one set),
/// else every source set of the config — the top-level `policies` and each
/// environment's own (a prod-only policy is gated too), loaded apart since
/// two environments may hold two versions of a policy. Bundles, URLs and
/// registries are left out: their files are not the repository's (a change
/// to which one is used is a change of the config or `bylaw.lock`).
pub fn source_sets(given: &[PathBuf], config: &Config) -> Vec<Vec<PathBuf>> {
    let sets = if given.is_empty() { bylaw_run::validate::config_source_sets(config) } else { vec![given.to_vec()] };
    sets.into_iter()
        .map(|set| {
            set.into_iter()
                .filter(|p| {
                    let s = p.to_string_lossy();
                    !bylaw_run::sources::is_remote(&s) && !bylaw_run::sources::is_bundle_path(&s)
                })
                .collect::<Vec<_>>()
        })
        .filter(|set| !set.is_empty())
        .collect()
}

/// Adds `more` to `files`, a policy listed once per file.
fn merge(files: &mut PolicyFiles, more: PolicyFiles) {
    for (f, policies) in more {
        let list = files.entry(f).or_default();
        for p in policies {
            if !list.contains(&p) {
                list.push(p);
            }
        }
    }
}

fn canonical(p: &Path) -> PathBuf {
    p.canonicalize().unwrap_or_else(|_| p.to_path_buf())
}

/// `path` relative to `top` with `/` separators, if it is under it.
fn relative(path: &Path, top: &Path) -> Option<String> {
    let rel = canonical(path).strip_prefix(top).ok()?.to_path_buf();
    Some(rel.components().map(|c| c.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("/"))
}

impl Sources {
    fn top(&self) -> Result<PathBuf, String> {
        git_top(&self.working_dir)
            .map(|t| canonical(&t))
            .ok_or_else(|| format!("{} is not in a git work tree", self.working_dir.display()))
    }

    /// Loads and compiles `paths` (every lifecycle, drafts too) and maps
    /// their files through `repo_path`.
    fn load(&self, paths: &[PathBuf], repo_path: &dyn Fn(&str) -> Option<String>) -> Result<PolicyFiles, String> {
        let options = CompileOptions { environment: None, today: self.today, include_drafts: true };
        let mut messages = Vec::new();
        match bylaw_run::load_and_compile(paths, options, &self.rego, &self.working_dir, &mut messages) {
            Ok((set, loaded)) => Ok(policy_files(&set, &loaded, repo_path)),
            Err(e) => {
                let first = e
                    .diagnostics()
                    .and_then(|(d, _)| d.iter().find(|d| d.level == bylaw_engine::diagnostic::Level::Error))
                    .map(|d| format!(" ({}: {})", d.file, d.message))
                    .unwrap_or_default();
                Err(format!("{e}{first}"))
            }
        }
    }
}

/// Whether `policies_at` failed because the path is not in that revision.
fn missing_at(e: &str) -> bool {
    e.contains("does not exist at")
}

impl PolicyRepo for Sources {
    fn head(&self) -> Result<PolicyFiles, String> {
        let top = git_top(&self.working_dir).map(|t| canonical(&t)).unwrap_or_else(|| canonical(&self.working_dir));
        let wd = self.working_dir.clone();
        let repo_path = move |display: &str| -> Option<String> {
            if display.starts_with("pack:") {
                return None;
            }
            relative(&absolute(&wd, Path::new(display)), &top)
        };
        let mut files = PolicyFiles::new();
        for set in &self.sets {
            merge(&mut files, self.load(set, &repo_path)?);
        }
        Ok(files)
    }

    fn at(&self, rev: &str) -> Result<BaseRevision, String> {
        let top = self.top()?;
        let mut dirs = Vec::new();
        let mut moved_sets = Vec::new();
        for set in &self.sets {
            let mut moved = Vec::new();
            for p in set {
                if p.to_string_lossy().starts_with("pack:") {
                    moved.push(p.clone());
                    continue;
                }
                match bylaw_run::git::policies_at(rev, std::slice::from_ref(p), &self.working_dir) {
                    Ok((dir, paths)) => {
                        moved.extend(paths);
                        dirs.push(dir);
                    }
                    Err(e) if missing_at(&e) => {} // new in the change
                    Err(e) => return Err(e),
                }
            }
            moved_sets.push(moved);
        }
        let roots: Vec<PathBuf> = dirs.iter().map(|d| canonical(d.path())).collect();
        let wd = self.working_dir.clone();
        let repo_path = move |display: &str| -> Option<String> {
            if display.starts_with("pack:") {
                return None;
            }
            let abs = absolute(&wd, Path::new(display));
            roots.iter().find_map(|r| relative(&abs, r))
        };
        let mut files = PolicyFiles::new();
        for moved in moved_sets.iter().filter(|m| !m.is_empty()) {
            merge(&mut files, self.load(moved, &repo_path)?);
        }
        // the approvers of the config as it is at `rev` (a change cannot add its own)
        let approvers = match &self.config_file {
            Some(c) if relative(c, &top).is_some() => {
                match bylaw_run::git::policies_at(rev, std::slice::from_ref(c), &self.working_dir) {
                    Ok((_dir, paths)) => match paths.first() {
                        Some(p) => {
                            Config::load(p, &self.working_dir)
                                .map_err(|(d, _)| {
                                    let why = d.first().map(|d| d.message.clone()).unwrap_or_default();
                                    format!("the config at {rev} does not load: {why}")
                                })?
                                .approvers
                        }
                        None => Vec::new(),
                    },
                    Err(e) if missing_at(&e) => Vec::new(),
                    Err(e) => return Err(e),
                }
            }
            _ => self.approvers.clone(),
        };
        drop(dirs);
        Ok(BaseRevision { files, approvers })
    }

    fn under_policy_paths(&self, path: &str) -> bool {
        let Ok(top) = self.top() else { return false };
        self.sets.iter().flatten().filter(|p| !p.to_string_lossy().starts_with("pack:")).any(|p| {
            let abs = absolute(&self.working_dir, p);
            // a path gone from the work tree is still named under the top
            let rel = relative(&abs, &top).or_else(|| {
                let parent = abs.parent().map(canonical)?;
                let name = abs.file_name()?.to_string_lossy().into_owned();
                relative(&parent, &top).map(|d| if d.is_empty() { name.clone() } else { format!("{d}/{name}") })
            });
            match rel {
                Some(r) if r.is_empty() => true,
                Some(r) => path == r || path.starts_with(&format!("{r}/")),
                None => false,
            }
        })
    }

    fn diff(&self, base: &str, paths: &[String]) -> Result<Vec<u8>, String> {
        bylaw_run::git::diff(base, "HEAD", paths, &self.working_dir)
    }

    fn audit_log(&self) -> Option<PathBuf> {
        self.audit_log.clone()
    }

    fn config_files(&self) -> Vec<String> {
        let Some((rel, _)) = self.config_in_repo() else { return Vec::new() };
        let mut out = vec![rel.clone(), sibling(&rel, bylaw_run::lock::LOCK_FILE)];
        if let Some(c) = self.config_file.as_ref().and_then(|c| Config::load(c, &self.working_dir).ok()) {
            out.extend(exception_files(&rel, &c));
        }
        out
    }

    fn configs_at(&self, rev: &str) -> Result<ConfigRevisions, String> {
        let Some((rel, file)) = self.config_in_repo() else { return Ok(ConfigRevisions::default()) };
        let head = if file.exists() {
            Some(Config::load(&file, &self.working_dir).map_err(|(d, _)| {
                format!("the config does not load: {}", d.first().map(|d| d.message.clone()).unwrap_or_default())
            })?)
        } else {
            None
        };
        let base = match bylaw_run::git::policies_at(rev, std::slice::from_ref(&file), &self.working_dir) {
            Ok((_dir, paths)) => match paths.first() {
                Some(p) => Some(Config::load(p, &self.working_dir).map_err(|(d, _)| {
                    let why = d.first().map(|d| d.message.clone()).unwrap_or_default();
                    format!("the config at {rev} does not load: {why}")
                })?),
                None => None,
            },
            Err(e) if missing_at(&e) => None,
            Err(e) => return Err(e),
        };
        let mut exceptions: Vec<String> = Vec::new();
        for c in base.iter().chain(head.iter()) {
            for f in exception_files(&rel, c) {
                if !exceptions.contains(&f) {
                    exceptions.push(f);
                }
            }
        }
        let lock_file = Some(sibling(&rel, bylaw_run::lock::LOCK_FILE));
        let exception_rules = self.exception_rules(rev, &exceptions)?;
        Ok(ConfigRevisions { file: rel, base, head, exception_files: exceptions, exception_rules, lock_file })
    }
}

impl Sources {
    /// The rules named by the exceptions that the work tree adds to, or
    /// edits in, the exception lists `files` (repository-relative) compared
    /// with commit `rev`: entries compared by `id` as YAML values.
    fn exception_rules(&self, rev: &str, files: &[String]) -> Result<Vec<String>, String> {
        let top = self.top()?;
        let mut rules = Vec::new();
        for f in files {
            let head = std::fs::read_to_string(top.join(f)).ok();
            let base = match bylaw_run::git::policies_at(rev, &[top.join(f)], &self.working_dir) {
                Ok((_dir, paths)) => paths.first().and_then(|p| std::fs::read_to_string(p).ok()),
                Err(e) if missing_at(&e) => None,
                Err(e) => return Err(e),
            };
            let base_entries = exception_entries(base.as_deref());
            for entry in exception_entries(head.as_deref()) {
                let id = entry.get("id");
                if base_entries.iter().any(|b| b.get("id") == id && *b == entry) {
                    continue;
                }
                for r in entry.get("rules").and_then(|r| r.as_array()).into_iter().flatten() {
                    if let Some(r) = r.as_str().filter(|r| !rules.iter().any(|x: &String| x == r)) {
                        rules.push(r.to_owned());
                    }
                }
            }
        }
        Ok(rules)
    }

    /// The config file in use as (repository-relative, absolute), when it
    /// is in the repository (a deleted one still is, by its directory).
    fn config_in_repo(&self) -> Option<(String, PathBuf)> {
        let file = self.config_file.clone()?;
        let top = self.top().ok()?;
        let rel = relative(&file, &top).or_else(|| {
            let dir = relative(file.parent()?, &top)?;
            let name = file.file_name()?.to_string_lossy().into_owned();
            Some(if dir.is_empty() { name } else { format!("{dir}/{name}") })
        })?;
        Some((rel, file))
    }
}

/// The entries of an exception list's `exceptions:` as JSON values (none
/// for a file that is missing or does not parse).
fn exception_entries(text: Option<&str>) -> Vec<serde_json::Value> {
    let Some(text) = text else { return Vec::new() };
    let parsed = bylaw_engine::input::yaml::parse(text);
    parsed
        .documents
        .first()
        .map(|d| d.to_json())
        .and_then(|v| v.get("exceptions").and_then(|e| e.as_array()).cloned())
        .unwrap_or_default()
}

/// `name` in the directory of the repository-relative file `rel`.
fn sibling(rel: &str, name: &str) -> String {
    match rel.rsplit_once('/') {
        Some((dir, _)) => format!("{dir}/{name}"),
        None => name.to_owned(),
    }
}

/// The exception lists `config` names, repository-relative, the config
/// being at `config_rel` (entries are relative to its directory; one
/// leaving the repository is left out).
fn exception_files(config_rel: &str, config: &Config) -> Vec<String> {
    let dir: Vec<&str> = config_rel.rsplit_once('/').map(|(d, _)| d.split('/').collect()).unwrap_or_default();
    config
        .exceptions
        .iter()
        .filter(|e| !Path::new(e).is_absolute())
        .filter_map(|e| {
            let mut parts: Vec<&str> = dir.clone();
            for seg in e.split(['/', '\\']) {
                match seg {
                    "" | "." => {}
                    ".." => {
                        parts.pop()?;
                    }
                    s => parts.push(s),
                }
            }
            Some(parts.join("/"))
        })
        .collect()
}
