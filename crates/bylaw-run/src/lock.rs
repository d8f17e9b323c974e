//! `bylaw.lock`: every configured policy source pinned by version and
//! SHA-256, beside the config (issue 18, item 1).
//!
//! The file is JSON, `{"lock_version": 1, "sources": [ENTRY…]}`, one entry
//! per source string as written in the config's `policies`, in config
//! order:
//! `{"source", "kind": "path"|"pack"|"bundle"|"url"|"oci", "sha256",
//! "manifest_digest"? (oci), "version"? (a pack's or a bundle manifest's),
//! "policies": {NAME: VERSION} (the bylaw policies the source holds)}`.
//! `sha256` is, for a path, the digest over its policy files sorted by
//! path relative to it (`PATH\0SHA256(CONTENT)\n` each); for a pack, of
//! its text; for a bundle, URL or OCI source, of the archive bytes.
//!
//! [`lock`] computes a lock (`bylaw lock [--update]`), [`resolve_checked`]
//! resolves a run's sources and holds them to the lock when one exists
//! (`check` and `ci`): OCI sources are pulled by their locked manifest
//! digest, and any difference stops the run ([`RunError::LockDrift`]).

use crate::sources::{self, Fetched, Resolved, SourceOptions};
use crate::{Request, RunError};
use bylaw_engine::config::Config;
use bylaw_engine::diagnostic::{Code, Diagnostic};
use bylaw_engine::loader::{self, Loaded};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The lock file's name, in the config's directory.
pub const LOCK_FILE: &str = "bylaw.lock";

/// The format version this bylaw writes and reads.
pub const LOCK_VERSION: u32 = 1;

/// `bylaw.lock`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LockFile {
    pub lock_version: u32,
    pub sources: Vec<Entry>,
}

/// What kind of source an entry pins.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Path,
    Pack,
    Bundle,
    Url,
    Oci,
}

/// One pinned source.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    /// As written in the config's `policies`.
    pub source: String,
    pub kind: Kind,
    /// Hex SHA-256 of the content (see the module doc).
    pub sha256: String,
    /// An OCI source's manifest digest (`sha256:…`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manifest_digest: Option<String>,
    /// A pack's or a bundle manifest's version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// The bylaw policies of the source: name → `metadata.version`.
    #[serde(default)]
    pub policies: BTreeMap<String, String>,
}

/// How a source differs from its pin.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Drift {
    pub source: String,
    /// `None`: not in the lock.
    pub locked: Option<Entry>,
    pub found: Entry,
}

impl std::fmt::Display for Drift {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let Some(locked) = &self.locked else {
            return write!(f, "`{}` is not in {LOCK_FILE}", self.source);
        };
        let mut parts = Vec::new();
        if locked.sha256 != self.found.sha256 {
            parts.push(format!("sha256 locked {}, found {}", locked.sha256, self.found.sha256));
        }
        if locked.version != self.found.version {
            let v = |v: &Option<String>| v.clone().unwrap_or_else(|| "none".into());
            parts.push(format!("version locked {}, found {}", v(&locked.version), v(&self.found.version)));
        }
        if locked.policies != self.found.policies {
            let list = |m: &BTreeMap<String, String>| {
                let items: Vec<String> = m.iter().map(|(n, v)| format!("{n} {v}")).collect();
                if items.is_empty() {
                    "none".to_owned()
                } else {
                    items.join(", ")
                }
            };
            parts.push(format!("policies locked {}, found {}", list(&locked.policies), list(&self.found.policies)));
        }
        if locked.manifest_digest != self.found.manifest_digest && parts.is_empty() {
            parts.push(format!(
                "manifest locked {}, found {}",
                locked.manifest_digest.as_deref().unwrap_or("none"),
                self.found.manifest_digest.as_deref().unwrap_or("none")
            ));
        }
        write!(f, "`{}`: {}", self.source, parts.join("; "))
    }
}

/// The sources a lock pins, as written in the config.
pub fn configured_sources(config: &Config) -> Vec<String> {
    // all configured sources: the top-level list and every environment's
    let mut all: Vec<String> = Vec::new();
    for (_, s) in config.all_policy_sources() {
        if !all.contains(&s) {
            all.push(s);
        }
    }
    all
}

/// Where the lock of `config` is: beside the config file (`None` without one).
pub fn lock_path(config: &Config) -> Option<PathBuf> {
    config.file.as_ref().map(|_| config.base_dir.join(LOCK_FILE))
}

/// Reads `path`.
///
/// # Errors
/// [`RunError::LockFile`] when it cannot be read or is not a lock (located
/// `FILE:LINE:COL` where the JSON is wrong).
pub fn read(path: &Path, shown: &str) -> Result<LockFile, RunError> {
    let text = std::fs::read_to_string(path).map_err(|e| RunError::LockFile(format!("cannot read {shown}: {e}")))?;
    let lock: LockFile = serde_json::from_str(&text).map_err(|e| {
        // serde's message ends with its own position: say it once, as `file:line:col`
        let message = e.to_string();
        let suffix = format!(" at line {} column {}", e.line(), e.column());
        let message = message.strip_suffix(&suffix).unwrap_or(&message);
        RunError::LockFile(format!(
            "{shown}:{}:{}: not a bylaw lock file: {message}",
            e.line().max(1),
            e.column().max(1)
        ))
    })?;
    if lock.lock_version != LOCK_VERSION {
        return Err(RunError::LockFile(format!(
            "{shown}: lock_version {} is not {LOCK_VERSION}, the version this bylaw reads",
            lock.lock_version
        )));
    }
    Ok(lock)
}

impl LockFile {
    /// The manifest digest each OCI source is pinned to.
    pub fn oci_pins(&self) -> BTreeMap<String, String> {
        self.sources.iter().filter_map(|e| Some((e.source.clone(), e.manifest_digest.clone()?))).collect()
    }

    /// The file's text: pretty JSON and a final newline.
    pub fn to_text(&self) -> String {
        serde_json::to_string_pretty(self).map(|t| t + "\n").unwrap_or_default()
    }
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

fn kind_of(source: &str) -> Kind {
    if source.starts_with("pack:") {
        Kind::Pack
    } else if source.starts_with("oci://") {
        Kind::Oci
    } else if source.starts_with("https://") || source.starts_with("http://") {
        Kind::Url
    } else if sources::is_bundle_path(source) {
        Kind::Bundle
    } else {
        Kind::Path
    }
}

fn policy_versions(loaded: &Loaded) -> BTreeMap<String, String> {
    loaded
        .policies
        .iter()
        .map(|p| (p.def.metadata.name.clone(), p.def.metadata.version.clone().unwrap_or_default()))
        .collect()
}

/// The entry of one configured source; bundles come from `fetched`.
fn entry(source: &str, config: &Config, fetched: &[Fetched], working_dir: &Path) -> Result<Entry, String> {
    let kind = kind_of(source);
    let mut e = Entry {
        source: source.to_owned(),
        kind,
        sha256: String::new(),
        manifest_digest: None,
        version: None,
        policies: BTreeMap::new(),
    };
    match kind {
        Kind::Pack => {
            let name = source.trim_start_matches("pack:").split('@').next().unwrap_or_default();
            let text = bylaw_engine::packs::source(name).ok_or_else(|| format!("no built-in pack `{name}`"))?;
            e.sha256 = sha256_hex(text.as_bytes());
            e.version = bylaw_engine::packs::version(name);
            e.policies = policy_versions(&loader::load(&[PathBuf::from(source)], working_dir));
        }
        Kind::Bundle | Kind::Url | Kind::Oci => {
            let f = fetched_of(source, config, fetched).ok_or_else(|| "the bundle was not read".to_owned())?;
            e.sha256 = f.sha256.clone();
            e.version = f.version.clone();
            e.manifest_digest = f.oci_digest.clone();
            let loaded = bundle_policies(f);
            e.policies = policy_versions(&loaded);
        }
        Kind::Path => {
            let root = config.resolve(source);
            let loaded = loader::load(std::slice::from_ref(&root), working_dir);
            let mut files: Vec<(String, PathBuf)> = loaded
                .policies
                .iter()
                .map(|p| p.file.as_str())
                .chain(loaded.rego.iter().map(|r| r.file.as_str()))
                .chain(loaded.gatekeeper.iter().map(|g| g.file.as_str()))
                .map(|f| bylaw_engine::paths::absolute(working_dir, Path::new(f)))
                .map(|abs| {
                    let rel = if root.is_dir() {
                        abs.strip_prefix(&root).unwrap_or(&abs).to_string_lossy().replace('\\', "/")
                    } else {
                        abs.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
                    };
                    (rel, abs)
                })
                .collect();
            files.sort();
            files.dedup();
            if files.is_empty() {
                return Err(if root.exists() {
                    "no policy file found there".into()
                } else {
                    "policy file or directory not found".into()
                });
            }
            let mut h = Sha256::new();
            for (rel, abs) in &files {
                let bytes = std::fs::read(abs).map_err(|e| format!("cannot read {}: {e}", abs.display()))?;
                h.update(format!("{rel}\0{}\n", sha256_hex(&bytes)).as_bytes());
            }
            e.sha256 = h.finalize().iter().map(|b| format!("{b:02x}")).collect();
            e.policies = policy_versions(&loaded);
        }
    }
    Ok(e)
}

/// What was read for the bundle, URL or OCI `source` (as written in the
/// config; a bundle path was resolved against the config's directory).
fn fetched_of<'a>(source: &str, config: &Config, fetched: &'a [Fetched]) -> Option<&'a Fetched> {
    let key = crate::source_path(config, source);
    let key = key.to_string_lossy();
    fetched.iter().find(|f| f.source == key)
}

/// The policies of a fetched bundle (for their versions): read again from
/// its bytes is not needed, [`Fetched`] keeps them.
fn bundle_policies(f: &Fetched) -> Loaded {
    loader::load_with(&[], &f.policy_files, Path::new("/"))
}

/// Located errors for every bylaw policy without a semver `metadata.version`.
pub fn unversioned(loaded: &Loaded) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for p in &loaded.policies {
        let name = &p.def.metadata.name;
        match &p.def.metadata.version {
            None => out.push(
                Diagnostic::error(
                    Code::Schema,
                    &p.file,
                    Some(p.root.value_span_of_pointer("/metadata").0),
                    format!("policy `{name}` has no `metadata.version`: a locked policy carries a semver version"),
                )
                .with_hint("add `version: 1.0.0` under `metadata:` (MAJOR.MINOR.PATCH)"),
            ),
            // the language's schema allows a leading `v` (`v1.2.0`)
            Some(v) if semver::Version::parse(v.strip_prefix('v').unwrap_or(v)).is_err() => out.push(
                Diagnostic::error(
                    Code::Schema,
                    &p.file,
                    Some(p.root.value_span_of_pointer("/metadata/version").0),
                    format!("`metadata.version` `{v}` of policy `{name}` is not a semantic version"),
                )
                .with_hint("write MAJOR.MINOR.PATCH, e.g. 1.4.2 (or 1.5.0-rc.1)"),
            ),
            Some(_) => {}
        }
    }
    out
}

/// The entries of `sources` (as written in the config), in order.
fn entries(
    config: &Config,
    sources: &[String],
    resolved: &Resolved,
    working_dir: &Path,
) -> Result<Vec<Entry>, RunError> {
    let mut out = Vec::new();
    let mut diagnostics = Vec::new();
    for s in sources {
        match entry(s, config, &resolved.fetched, working_dir) {
            Ok(e) => out.push(e),
            Err(why) => diagnostics.push(Diagnostic::error(Code::Io, s, None, why).with_hint(
                "check this source among `policies:` of the config (`bylaw explain --effective` lists the sources in effect)",
            )),
        }
    }
    if diagnostics.is_empty() {
        Ok(out)
    } else {
        Err(RunError::Sources { diagnostics, sources: Default::default() })
    }
}

/// Each distinct list of sources a run can use: the top-level `policies`
/// and every environment's own, in file order (an environment without its
/// own list uses the top-level one).
fn source_sets(config: &Config) -> Vec<Vec<String>> {
    let mut sets: Vec<Vec<String>> = Vec::new();
    let envs = config.environments.iter().map(|(n, _)| Some(n.as_str()));
    for env in std::iter::once(None).chain(envs) {
        let set = config.policy_sources(env);
        if !set.is_empty() && !sets.contains(&set) {
            sets.push(set);
        }
    }
    sets
}

/// The policies of the sources `set` as a run using them loads them, from
/// what `resolved` read for every configured source.
fn load_set(config: &Config, set: &[String], resolved: &Resolved, working_dir: &Path) -> Loaded {
    let mut paths = Vec::new();
    let mut memory = Vec::new();
    for s in set {
        match fetched_of(s, config, &resolved.fetched) {
            Some(f) => memory.extend(f.policy_files.iter().cloned()),
            None => paths.push(crate::source_path(config, s)),
        }
    }
    loader::load_with(&paths, &memory, working_dir)
}

/// What `bylaw lock` did.
#[derive(Debug)]
pub struct Locked {
    pub path: PathBuf,
    pub lock: LockFile,
    pub added: Vec<String>,
    pub removed: Vec<String>,
    pub updated: Vec<String>,
}

/// Computes the lock of `config` (`bylaw lock`): sources missing from the
/// existing lock are added, sources no longer configured dropped, pins
/// kept; a pinned source that drifted is an error unless `update`, which
/// pins everything anew (OCI tags are then resolved again). Nothing is
/// written: the caller writes [`Locked::lock`] at [`Locked::path`].
///
/// # Errors
/// [`RunError::LockFile`] (no config, an unreadable lock),
/// [`RunError::Sources`], [`RunError::Unversioned`],
/// [`RunError::LockDrift`].
pub fn lock(config: &Config, options: &SourceOptions, working_dir: &Path, update: bool) -> Result<Locked, RunError> {
    let path = lock_path(config).ok_or_else(|| {
        RunError::LockFile("no config file: `bylaw lock` pins the `policies` of .bylaw.yaml, beside it".into())
    })?;
    let shown = loader::display_path(&path, working_dir);
    let existing = if path.exists() { Some(read(&path, &shown)?) } else { None };
    let mut options = options.clone();
    if let (Some(l), false) = (&existing, update) {
        options.oci_pins = l.oci_pins();
    }
    // every environment's sources are pinned, not only the default's
    let all = configured_sources(config);
    let all_paths: Vec<PathBuf> = all.iter().map(|s| crate::source_path(config, s)).collect();
    let resolved = sources::resolve(&all_paths, config, &options, working_dir)?;
    // each set of sources is loaded as a run using it would load it
    for set in source_sets(config) {
        let loaded = load_set(config, &set, &resolved, working_dir);
        if loaded.has_errors() {
            let errors =
                loaded.diagnostics.iter().filter(|d| d.level == bylaw_engine::diagnostic::Level::Error).count();
            return Err(RunError::Policies {
                errors,
                diagnostics: loaded.diagnostics.clone(),
                sources: loaded.sources.clone(),
            });
        }
        let bad = unversioned(&loaded);
        if !bad.is_empty() {
            return Err(RunError::Unversioned { diagnostics: bad, sources: loaded.sources.clone() });
        }
    }
    let found = entries(config, &all, &resolved, working_dir)?;
    let old: Vec<Entry> = existing.map(|l| l.sources).unwrap_or_default();
    let find = |s: &str| old.iter().find(|e| e.source == s);
    let mut drift = Vec::new();
    let (mut added, mut updated) = (Vec::new(), Vec::new());
    for e in &found {
        match find(&e.source) {
            None => added.push(e.source.clone()),
            Some(l) if l != e => {
                if update {
                    updated.push(e.source.clone());
                } else {
                    drift.push(Drift { source: e.source.clone(), locked: Some(l.clone()), found: e.clone() });
                }
            }
            Some(_) => {}
        }
    }
    if !drift.is_empty() {
        return Err(RunError::LockDrift { lock: shown, drift });
    }
    let removed =
        old.iter().filter(|l| !found.iter().any(|e| e.source == l.source)).map(|l| l.source.clone()).collect();
    Ok(Locked { path, lock: LockFile { lock_version: LOCK_VERSION, sources: found }, added, removed, updated })
}

/// Resolves the sources of a run in environment `env` ([`sources::resolve`])
/// and, when the run's policies are the config's and `bylaw.lock` exists
/// beside the config, pulls OCI sources by their locked digest and holds
/// every source in effect in `env` to its pin (another environment's own
/// sources are neither read nor checked).
///
/// # Errors
/// Those of [`sources::resolve`], [`RunError::LockFile`],
/// [`RunError::LockDrift`].
pub fn resolve_checked(request: &Request, policy_paths: &[PathBuf], env: Option<&str>) -> Result<Resolved, RunError> {
    let config = &request.config;
    let wd = &request.working_dir;
    let lock_file = lock_path(config).filter(|p| p.exists() && request.policies.is_empty());
    let Some(path) = lock_file else {
        return sources::resolve(policy_paths, config, &request.sources, wd);
    };
    let shown = loader::display_path(&path, wd);
    let lock = read(&path, &shown)?;
    let mut options = request.sources.clone();
    options.oci_pins = lock.oci_pins();
    let resolved = sources::resolve(policy_paths, config, &options, wd)?;
    let mut in_effect: Vec<String> = Vec::new();
    for s in config.policy_sources(env) {
        if !in_effect.contains(&s) {
            in_effect.push(s);
        }
    }
    let found = entries(config, &in_effect, &resolved, wd)?;
    let drift: Vec<Drift> = found
        .into_iter()
        .filter_map(|e| {
            let locked = lock.sources.iter().find(|l| l.source == e.source);
            match locked {
                Some(l) if *l == e => None,
                _ => Some(Drift { source: e.source.clone(), locked: locked.cloned(), found: e }),
            }
        })
        .collect();
    if drift.is_empty() {
        Ok(resolved)
    } else {
        Err(RunError::LockDrift { lock: shown, drift })
    }
}
