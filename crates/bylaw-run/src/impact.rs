//! `bylaw impact --base REV [--head REV]`: what a policy change does. The
//! policies as they are at `base` (read through git, as `--policy-ref base`
//! does: [`crate::git::files_at`]) and at `head` (default: the working
//! tree) are evaluated on the SAME files — the working tree's, picked as
//! `check` picks them, with the config's exception lists — and the two
//! reports are compared by the findings' stable fingerprints
//! ([`bylaw_engine::report::Finding::fingerprint`]: rule, path, resource
//! and pointer, never lines). With `repos`, the same two policy sets are
//! evaluated on each listed repository's files (each with its own
//! `.bylaw.yaml` targets and exceptions when it has one), in parallel.
//! Without `repos`, the repositories `impact:` of the config names
//! ([`configured_repos`]) are evaluated instead of this one. Either way
//! ([`given_repos`] for the command line), a repository that cannot be
//! read is a problem ([`ImpactOutcome::problems`], located where it is
//! written) and is listed as not evaluated, the others are still
//! evaluated.
//!
//! Policy sources: repo-local paths are read from each revision through
//! git; remote sources (`https://`, `http://`, `oci://`) and paths outside
//! the git work tree (a bundle `.tar.gz` elsewhere on disk) are not
//! versioned by the repository, so they are resolved as `check` resolves
//! them ([`crate::sources::resolve`]) from the source each revision's own
//! config names — a bump of `oci://reg/policies:1.4.2` to `:1.5.0` in
//! `.bylaw.yaml` compares the two bundle versions — with that revision's
//! `bundles:` trust settings. The lock file is not applied (a change that
//! bumps a version changes its lock too).
//!
//! Nothing is printed; [`bylaw_report::impact`] renders the result.

use crate::sources::{self, SourceOptions};
use crate::{git, policy_diff, ConfigChoice, Failure, Message, Request, RunError};
use bylaw_engine::chrono::{DateTime, Utc};
use bylaw_engine::config::{Config, CONFIG_NAMES};
use bylaw_engine::context::PipelineContext;
use bylaw_engine::diagnostic::{Code, Diagnostic};
use bylaw_engine::loader;
use bylaw_engine::node::Span;
use bylaw_engine::paths::absolute;
use bylaw_engine::report::{Catalog, ExceptionStatus, Finding, Report};
use bylaw_report::impact::{
    Counts, EnforcementChange, ExceptionChange, Impact, ImpactFinding, PolicyChange, RepositoryFailure,
    RepositoryImpact, Revision, RuleChange, RuleCounts, RuleLevel, IMPACT_VERSION,
};
use rayon::prelude::*;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// What to compare, and on which files.
pub struct ImpactRequest {
    /// The directory relative paths are taken from (absolute).
    pub working_dir: PathBuf,
    /// This repository's config: its policies, targets and exceptions.
    pub config: Config,
    /// Files or directories to check in this repository (empty: the config's).
    pub paths: Vec<PathBuf>,
    /// Policy files or directories (empty: the config's `policies`).
    pub policies: Vec<PathBuf>,
    /// Exception lists (empty: the config's).
    pub exceptions: Vec<PathBuf>,
    /// The environment to evaluate for (`--env`).
    pub environment: Option<String>,
    /// The branch environments are chosen by.
    pub branch: Option<String>,
    pub context: PipelineContext,
    pub now: DateTime<Utc>,
    pub include_drafts: bool,
    pub rego: crate::RegoOptions,
    /// The revision of the old policies.
    pub base: String,
    /// The revision of the new policies; `None`: the working tree.
    pub head: Option<String>,
    /// Other repositories to evaluate instead of this one (`--repos`,
    /// relative to `working_dir`); empty and no `repos_file`: those of
    /// `impact:` in the config, else this one.
    pub repos: Vec<PathBuf>,
    /// A list of repositories to evaluate too (`--repos-file`: one path a
    /// line, relative to the file).
    pub repos_file: Option<PathBuf>,
    /// What remote policy sources need (CA file, registry credentials), as for `check`.
    pub sources: SourceOptions,
}

/// Why there is no impact to show (exit 2 for the binary).
#[derive(Debug, thiserror::Error)]
pub enum ImpactError {
    /// git cannot say (not a repository, an unknown revision, a policy
    /// outside the repository).
    #[error("{0}")]
    Git(String),
    /// The repository list of `--repos-file` cannot be read.
    #[error("{repo}: {message}")]
    Repo { repo: String, message: String },
    /// A run stopped (policy errors at one revision, a bad config).
    #[error("{side} ({repo}): {}", failure.error)]
    Run { side: String, repo: String, failure: Box<Failure> },
}

impl ImpactError {
    /// The run's failure, for its located diagnostics.
    pub fn failure(&self) -> Option<&Failure> {
        match self {
            ImpactError::Run { failure, .. } => Some(failure),
            _ => None,
        }
    }
}

/// The impact and what this repository's head run said (warnings, notes).
pub struct ImpactOutcome {
    pub impact: Impact,
    pub messages: Vec<Message>,
    /// Repositories that cannot be evaluated (not a directory, an invalid
    /// config of their own), located: the impact holds the other
    /// repositories, and a front end exits 2 after showing them.
    pub problems: Vec<Message>,
}

/// A repository named by `impact:` of the config.
#[derive(Clone, Debug, PartialEq)]
pub struct ConfiguredRepo {
    /// As written.
    pub name: String,
    /// Resolved (relative to the config file, or to the list file).
    pub dir: PathBuf,
}

/// A repository (of `impact:`, `--repos` or `--repos-file`) that cannot
/// be evaluated.
#[derive(Clone, Debug)]
pub struct RepoProblem {
    /// The repository as written (the list file's name when the list
    /// itself cannot be read): never parsed out of the message.
    pub name: String,
    /// Why, located where the repository is named when it is in a file.
    pub diagnostic: Diagnostic,
    /// (display name, text) of the file the diagnostic points into, for
    /// its snippet.
    pub source: Option<(String, String)>,
}

impl RepoProblem {
    /// The entry of `failed_repositories`: the name, and the located
    /// message (`.bylaw.yaml:4:53: …`).
    fn failure(&self) -> RepositoryFailure {
        let d = &self.diagnostic;
        // a repository of the command line is located at itself: its name
        // is not repeated before the message
        let error = if d.span.is_none() && d.file == self.name {
            d.message.clone()
        } else {
            format!("{}: {}", d.location(), d.message)
        };
        RepositoryFailure { name: self.name.clone(), error }
    }

    /// The diagnostic as a message to show.
    fn message(self) -> Message {
        Message::Diagnostics {
            diagnostics: vec![self.diagnostic],
            sources: self.source.into_iter().map(|(name, t)| (name, Arc::from(t))).collect(),
        }
    }
}

/// Whether `dir` is missing or something else than a directory, in words.
fn not_dir(dir: &Path) -> &'static str {
    if dir.exists() {
        "is not a directory"
    } else {
        "does not exist"
    }
}

/// The repositories of the list file `path` (shown as `list_shown`) that
/// are directories, and a diagnostic located at the line of each that is
/// not; `named_by` says in the hint who named the list.
fn list_file_repos(
    path: &Path,
    list_shown: &str,
    named_by: &str,
    repos: &mut Vec<ConfiguredRepo>,
    problems: &mut Vec<RepoProblem>,
) -> Result<(), String> {
    let lines = read_repos_file(path)?;
    let text = std::fs::read_to_string(path).ok().map(|t| (list_shown.to_owned(), t));
    for (line, written, dir) in lines {
        if dir.is_dir() {
            repos.push(ConfiguredRepo { name: written, dir });
            continue;
        }
        // the column counts characters, as every location of bylaw does
        let span = Span { start_line: line, start_col: 1, end_line: line, end_col: 1 + written.chars().count() as u32 };
        let diagnostic =
            Diagnostic::error(Code::Io, list_shown, Some(span), format!("repository `{written}` {}", not_dir(&dir)))
                .with_hint(format!(
                    "{} was looked for; listed by {named_by} (the other repositories are still evaluated)",
                    dir.display()
                ));
        problems.push(RepoProblem { name: written, diagnostic, source: text.clone() });
    }
    Ok(())
}

/// The repositories given on the command line (`--repos DIR…`, then the
/// lines of `--repos-file FILE`), relative to `working_dir` (a list's
/// lines to the list file), and a diagnostic for each that is not a
/// directory: at the line of the list file, or naming the argument.
///
/// # Errors
/// The list file cannot be read or lists no repository.
pub fn given_repos(
    repos: &[PathBuf],
    repos_file: Option<&Path>,
    working_dir: &Path,
) -> Result<(Vec<ConfiguredRepo>, Vec<RepoProblem>), String> {
    let mut out = Vec::new();
    let mut problems = Vec::new();
    for given in repos {
        let written = given.to_string_lossy().into_owned();
        let dir = absolute(working_dir, given);
        if dir.is_dir() {
            out.push(ConfiguredRepo { name: written, dir });
            continue;
        }
        let diagnostic = Diagnostic::error(
            Code::Usage,
            &written,
            None,
            format!("`--repos`: repository `{written}` {}", not_dir(&dir)),
        )
        .with_hint(format!(
            "{} was looked for; give repository checkouts, relative to the current directory (the other repositories are still evaluated)",
            dir.display()
        ));
        problems.push(RepoProblem { name: written, diagnostic, source: None });
    }
    if let Some(list) = repos_file {
        let shown = bylaw_engine::loader::display_path(list, working_dir);
        let path = absolute(working_dir, list);
        list_file_repos(&path, &shown, "--repos-file", &mut out, &mut problems)?;
    }
    Ok((out, problems))
}

/// The repositories `impact:` of `config` names (`repos`, then the lines of
/// `repos_file`), and a located diagnostic (with the text it points into)
/// for each that is not a directory and for a list file that cannot be
/// read. Relative paths: from the config file's directory, the list's
/// lines from the list file's directory.
pub fn configured_repos(config: &Config) -> (Vec<ConfiguredRepo>, Vec<RepoProblem>) {
    let mut repos = Vec::new();
    let mut problems = Vec::new();
    let shown = config.file.clone().unwrap_or_else(|| ".bylaw.yaml".into());
    let config_text = || {
        let name = config.file.as_deref().and_then(|f| Path::new(f).file_name().map(PathBuf::from));
        name.and_then(|n| std::fs::read_to_string(config.base_dir.join(n)).ok()).map(|t| (shown.clone(), t))
    };
    for (i, written) in config.impact.repos.iter().enumerate() {
        let dir = config.resolve(written);
        if dir.is_dir() {
            repos.push(ConfiguredRepo { name: written.clone(), dir });
            continue;
        }
        let span = config.impact.repo_spans.get(i).copied();
        let d = Diagnostic::error(
            Code::Io,
            &shown,
            span,
            format!("`impact.repos`: repository `{written}` {}", not_dir(&dir)),
        )
        .with_hint(format!(
            "{} was looked for; name a repository checkout, relative to this file (the other repositories are still evaluated)",
            dir.display()
        ));
        problems.push(RepoProblem { name: written.clone(), diagnostic: d, source: config_text() });
    }
    if let Some(list) = &config.impact.repos_file {
        let path = config.resolve(list);
        let list_shown = path.display().to_string();
        let named_by = format!("`impact.repos_file` of {shown}");
        if let Err(why) = list_file_repos(&path, &list_shown, &named_by, &mut repos, &mut problems) {
            let d = Diagnostic::error(
                Code::Io,
                &shown,
                config.impact.repos_file_span,
                format!("`impact.repos_file`: {why}"),
            );
            problems.push(RepoProblem { name: list.clone(), diagnostic: d, source: config_text() });
        }
    }
    (repos, problems)
}

/// The repositories of a list file (`--repos-file`, `impact.repos_file`):
/// one path a line, relative to the file's directory, blank lines and `#`
/// comments skipped; each with its 1-based line and as written.
///
/// # Errors
/// The file cannot be read, or lists no repository.
pub fn read_repos_file(path: &Path) -> Result<Vec<(u32, String, PathBuf)>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let repos: Vec<(u32, String, PathBuf)> = text
        .lines()
        .enumerate()
        .map(|(i, l)| (i as u32 + 1, l.split_once('#').map_or(l, |(before, _)| before).trim()))
        .filter(|(_, l)| !l.is_empty())
        .map(|(i, l)| (i, l.to_owned(), if Path::new(l).is_absolute() { PathBuf::from(l) } else { dir.join(l) }))
        .collect();
    if repos.is_empty() {
        return Err(format!("{} lists no repository", path.display()));
    }
    Ok(repos)
}

/// The files of a policy set (policies, their bases, Rego modules) as
/// loaded from `paths`, absolute.
fn policy_files(loaded: &loader::Loaded, wd: &Path) -> Vec<PathBuf> {
    loaded
        .policies
        .iter()
        .flat_map(|p| std::iter::once(&p.file).chain(p.origins.iter().map(|o| &o.file)))
        .chain(loaded.rego.iter().map(|m| &m.file))
        .filter(|f| !f.starts_with("pack:"))
        .map(|f| absolute(wd, Path::new(f)))
        .collect()
}

/// Whether a change request that changes `changed` (paths relative to the
/// top of the git work tree) changes a file of the policy set `paths`
/// (relative ones from `working_dir`), at `base` or in the work tree.
///
/// # Errors
/// git cannot read `base`.
pub fn changes_policies(base: &str, paths: &[PathBuf], working_dir: &Path, changed: &[String]) -> Result<bool, String> {
    if changed.is_empty() {
        return Ok(false);
    }
    let rel = |f: &Path, root: &Path| -> Option<String> {
        let f = f.canonicalize().unwrap_or_else(|_| f.to_path_buf());
        f.strip_prefix(root).ok().map(|r| r.to_string_lossy().replace('\\', "/"))
    };
    let names = |files: &BTreeSet<String>| changed.iter().any(|c| files.contains(c.trim_start_matches("./")));
    // the head's policy files first: outside a git work tree (no base to
    // read) a change that touches none of them changes no policy
    let top = git::top_of(working_dir);
    let root = match &top {
        Ok(t) => t.clone(),
        Err(_) => working_dir.canonicalize().unwrap_or_else(|_| working_dir.to_path_buf()),
    };
    let mut files: BTreeSet<String> = BTreeSet::new();
    files.extend(policy_files(&loader::load(paths, working_dir), working_dir).iter().filter_map(|f| rel(f, &root)));
    if names(&files) {
        top?;
        return Ok(true);
    }
    if top.is_err() {
        return Ok(false);
    }
    // remote sources and files outside the work tree are no file of the change
    let top_dir = top.as_ref().ok().map(|t| t.canonicalize().unwrap_or_else(|_| t.clone()));
    let paths: Vec<PathBuf> =
        paths.iter().filter(|p| !unversioned(p, working_dir, top_dir.as_deref())).cloned().collect();
    let at = git::files_at(base, &paths, working_dir)?;
    let at_root = at.dir.path().canonicalize().unwrap_or_else(|_| at.dir.path().to_path_buf());
    let old = loader::load(&at.paths, working_dir);
    files.extend(policy_files(&old, working_dir).iter().filter_map(|f| rel(f, &at_root)));
    Ok(names(&files))
}

/// Whether a change request that changes `changed` (paths relative to the
/// top of the git work tree) changes the policies `config` loads: a policy
/// file ([`changes_policies`]), or the config file itself in a way that
/// names other policy sources (a bundle's version bumped, a source or pack
/// added, an environment's sources or version requirements, `bundles:`).
///
/// # Errors
/// git cannot read `base`.
pub fn changes_policy_sources(
    base: &str,
    config: &Config,
    paths: &[PathBuf],
    working_dir: &Path,
    changed: &[String],
) -> Result<bool, String> {
    if changes_policies(base, paths, working_dir, changed)? {
        return Ok(true);
    }
    let Some(shown) = config.file.as_deref() else { return Ok(false) };
    let Ok(top) = git::top_of(working_dir) else { return Ok(false) };
    let top = top.canonicalize().unwrap_or(top);
    let abs = absolute(working_dir, Path::new(shown));
    let abs = abs.canonicalize().unwrap_or(abs);
    let Ok(rel) = abs.strip_prefix(&top) else { return Ok(false) };
    let rel = rel.to_string_lossy().replace('\\', "/");
    if !changed.iter().any(|c| c.trim_start_matches("./") == rel) {
        return Ok(false);
    }
    let Some(bytes) = git::file_at(base, Path::new(shown), working_dir)? else { return Ok(true) };
    let Ok(old) = Config::parse(shown, &String::from_utf8_lossy(&bytes)) else { return Ok(true) };
    type EnvSources = (String, Vec<String>, Vec<(String, String)>);
    let envs = |c: &Config| -> Vec<EnvSources> {
        c.environments
            .iter()
            .map(|(n, e)| {
                let versions = e.versions.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
                (n.clone(), e.branches.clone(), versions)
            })
            .collect()
    };
    let bundles = |c: &Config| (c.bundles.require_signatures, c.bundles.public_keys.clone(), c.bundles.ca_file.clone());
    Ok(old.all_policy_sources() != config.all_policy_sources()
        || envs(&old) != envs(config)
        || bundles(&old) != bundles(config)
        || old.env != config.env)
}

/// One repository to evaluate: where, its config, what to check.
struct Target {
    name: String,
    dir: PathBuf,
    config: Config,
    paths: Vec<PathBuf>,
    exceptions: Vec<PathBuf>,
}

/// A run of one policy set on one repository: its catalog and report
/// (`None`: the revision has none of the policies).
struct Side {
    catalog: Catalog,
    report: Option<Report>,
    messages: Vec<Message>,
}

/// A revision's policy sources: the paths its runs load and the config
/// (that revision's) whose `bundles:` trusts its bundles.
struct SourcesAt {
    /// Repo-local sources as copied from git (held by `_copies`), then
    /// remote ones and paths outside the work tree as given.
    paths: Vec<PathBuf>,
    config: Config,
    _copies: Option<git::FilesAt>,
}

/// Whether a policy source is not versioned by the repository at `top`:
/// remote, or a path outside the work tree (read as it is for every revision).
fn unversioned(p: &Path, wd: &Path, top: Option<&Path>) -> bool {
    let s = p.to_string_lossy();
    if sources::is_remote(&s) {
        return true;
    }
    if s.starts_with("pack:") {
        return false;
    }
    let abs = absolute(wd, p);
    let abs = abs.canonicalize().unwrap_or(abs);
    top.is_some_and(|t| !abs.starts_with(t))
}

/// The policy sources of `config` in the run's environment, relative ones
/// made absolute (packs and remote sources as written).
fn sources_of(req: &ImpactRequest, config: &Config) -> Vec<PathBuf> {
    let env = crate::choose_environment(req.environment.as_deref(), req.branch.as_deref(), config);
    crate::policy_paths_for(&req.policies, config, env.as_deref())
        .into_iter()
        .map(|p| {
            let s = p.to_string_lossy();
            if s.starts_with("pack:") || sources::is_remote(&s) {
                p
            } else {
                absolute(&req.working_dir, &p)
            }
        })
        .collect()
}

/// The config as it is at `rev` (the working tree's for explicit `-p`
/// policies, or when the revision has no readable config), with the
/// working tree's directory and name.
fn config_at(req: &ImpactRequest, rev: &str) -> Result<Config, ImpactError> {
    if !req.policies.is_empty() {
        return Ok(req.config.clone());
    }
    let Some(shown) = req.config.file.as_deref() else { return Ok(req.config.clone()) };
    let Some(bytes) = git::file_at(rev, Path::new(shown), &req.working_dir).map_err(ImpactError::Git)? else {
        return Ok(req.config.clone());
    };
    let text = String::from_utf8_lossy(&bytes);
    let Ok(mut config) = Config::parse(shown, &text) else { return Ok(req.config.clone()) };
    config.base_dir = req.config.base_dir.clone();
    config.file = req.config.file.clone();
    Ok(config)
}

/// The policy sources of revision `rev` (`None`: the working tree).
fn sources_at(req: &ImpactRequest, rev: Option<&str>) -> Result<SourcesAt, ImpactError> {
    let Some(rev) = rev else {
        return Ok(SourcesAt { paths: sources_of(req, &req.config), config: req.config.clone(), _copies: None });
    };
    let config = config_at(req, rev)?;
    let wd = &req.working_dir;
    let top = git::top_of(wd).ok().map(|t| t.canonicalize().unwrap_or(t));
    let (as_is, versioned): (Vec<PathBuf>, Vec<PathBuf>) =
        sources_of(req, &config).into_iter().partition(|p| unversioned(p, wd, top.as_deref()));
    let copies = git::files_at(rev, &versioned, wd).map_err(ImpactError::Git)?;
    let mut paths = copies.paths.clone();
    paths.extend(as_is);
    Ok(SourcesAt { paths, config, _copies: Some(copies) })
}

/// `bundles:` of `config` with its paths made absolute, to apply in a run
/// whose config is another repository's.
fn trust_of(config: &Config) -> bylaw_engine::config::BundlesConfig {
    let mut b = config.bundles.clone();
    let abs = |p: &String| config.resolve(p).to_string_lossy().into_owned();
    b.public_keys = b.public_keys.iter().map(abs).collect();
    b.ca_file = b.ca_file.as_ref().map(abs);
    b
}

/// The policies of `at` as loaded (bundles and remote sources read), for
/// the policy diff. A source that cannot be fetched or trusted stops here.
fn load_at(req: &ImpactRequest, at: &SourcesAt, side: &str) -> Result<loader::Loaded, ImpactError> {
    let resolved =
        sources::resolve(&at.paths, &at.config, &req.sources, &req.working_dir).map_err(|error| ImpactError::Run {
            side: format!("the policies of {side}"),
            repo: ".".into(),
            failure: Box::new(Failure { error, messages: Vec::new() }),
        })?;
    Ok(loader::load_with(&resolved.paths, &resolved.memory, &req.working_dir))
}

/// Computes the impact.
///
/// # Errors
/// [`ImpactError`]: git cannot read a revision, a repository of `repos`
/// cannot be read, a remote source cannot be fetched, or a run stopped.
pub fn impact(req: ImpactRequest) -> Result<ImpactOutcome, ImpactError> {
    let wd = req.working_dir.clone();
    // the sources in effect in the run's environment, as `check` chooses them
    let policy_paths = sources_of(&req, &req.config);
    if policy_paths.is_empty() {
        let failure = Failure { error: RunError::NoPolicies, messages: Vec::new() };
        return Err(ImpactError::Run { side: "policies".into(), repo: ".".into(), failure: Box::new(failure) });
    }
    let base_commit = git::resolve_rev(&req.base, &wd).map_err(ImpactError::Git)?;
    // each revision's own config names its policy sources (a change that
    // adds a pack or a source, or bumps a bundle's version, changes the policies too)
    let base_at = sources_at(&req, Some(&req.base))?;
    let (head_rev, head_at) = match &req.head {
        Some(rev) => {
            let commit = git::resolve_rev(rev, &wd).map_err(ImpactError::Git)?;
            (Revision { rev: rev.clone(), commit: Some(commit) }, sources_at(&req, Some(rev))?)
        }
        None => (Revision { rev: "working tree".into(), commit: None }, sources_at(&req, None)?),
    };
    // the work tree's policy files are no input of either run
    let not_inputs = policy_files(&loader::load(&policy_paths, &wd), &wd);
    let base_loaded = load_at(&req, &base_at, &req.base)?;
    let head_loaded = load_at(&req, &head_at, &head_rev.rev)?;

    // the repositories to evaluate: `--repos`/`--repos-file`, else those of
    // `impact:`, else this one; one that cannot be read is a problem, the
    // others are still evaluated
    let (listed, mut problems) = if !req.repos.is_empty() || req.repos_file.is_some() {
        let (repos, problems) = given_repos(&req.repos, req.repos_file.as_deref(), &wd)
            .map_err(|message| ImpactError::Repo { repo: "--repos-file".into(), message })?;
        (Some(repos), problems)
    } else if has_configured(&req.config) {
        let (repos, problems) = configured_repos(&req.config);
        (Some(repos), problems)
    } else {
        (None, Vec::new())
    };
    let targets = targets(&req, listed.as_deref(), &mut problems);
    let failed: Vec<RepositoryFailure> = problems.iter().map(RepoProblem::failure).collect();
    let results: Vec<Result<(RepositoryImpact, Side, Side), ImpactError>> = targets
        .par_iter()
        .map(|t| {
            let side = |name: &str, at: &SourcesAt| {
                run_side(&req, t, at, &not_inputs).map_err(|failure| ImpactError::Run {
                    side: format!("the policies of {name}"),
                    repo: t.name.clone(),
                    failure: Box::new(failure),
                })
            };
            let base = side(&req.base, &base_at)?;
            let head = side(&head_rev.rev, &head_at)?;
            Ok((compare(&t.name, &base, &head), base, head))
        })
        .collect();
    let mut repositories = Vec::new();
    let mut catalogs = None;
    let mut messages = Vec::new();
    for r in results {
        let (repo, base, head) = r?;
        if catalogs.is_none() {
            messages = head.messages.clone();
            catalogs = Some((base.catalog, head.catalog));
        }
        repositories.push(repo);
    }
    let (base_catalog, head_catalog) = catalogs.unwrap_or_default();
    let mut total = Counts::default();
    for r in &repositories {
        total.add(&r.counts);
    }
    let diffs = policy_diff::diff(&base_loaded.policies, &head_loaded.policies);
    let policies = policy_changes(&base_catalog, &head_catalog, &diffs);
    let impact = Impact {
        version: IMPACT_VERSION,
        base: Revision { rev: req.base.clone(), commit: Some(base_commit) },
        head: head_rev,
        environment: req.environment.clone().or_else(|| req.config.env.clone()),
        policies,
        repositories,
        failed_repositories: failed,
        total,
    };
    let problems = problems.into_iter().map(RepoProblem::message).collect();
    if listed.is_none() {
        Ok(ImpactOutcome { impact, messages, problems })
    } else {
        Ok(ImpactOutcome { impact, messages: Vec::new(), problems })
    }
}

/// Whether `impact:` of the config names repositories.
fn has_configured(config: &Config) -> bool {
    !config.impact.repos.is_empty() || config.impact.repos_file.is_some()
}

/// This repository (no `listed` repositories), or each of `listed` with
/// its own config: one whose config cannot be read is added to
/// `problems` (its first located error) and the others evaluated.
fn targets(req: &ImpactRequest, listed: Option<&[ConfiguredRepo]>, problems: &mut Vec<RepoProblem>) -> Vec<Target> {
    let Some(repos) = listed else {
        return vec![Target {
            name: ".".into(),
            dir: req.working_dir.clone(),
            config: req.config.clone(),
            paths: req.paths.clone(),
            exceptions: req.exceptions.clone(),
        }];
    };
    let mut out = Vec::new();
    for r in repos {
        match target_config(&r.dir) {
            Ok(config) => out.push(Target {
                name: r.name.clone(),
                dir: r.dir.clone(),
                config,
                paths: Vec::new(),
                exceptions: Vec::new(),
            }),
            Err(e) => {
                let located = e.diagnostics().and_then(|(d, sources)| {
                    let d = d.first()?.clone();
                    let source = sources.get(&d.file).map(|t| (d.file.clone(), t.to_string()));
                    Some((d, source))
                });
                let (diagnostic, source) = located.unwrap_or_else(|| {
                    (Diagnostic::error(Code::Io, r.dir.display().to_string(), None, e.to_string()), None)
                });
                problems.push(RepoProblem { name: r.name.clone(), diagnostic, source });
            }
        }
    }
    out
}

/// The config of another repository (its own `.bylaw.yaml`, else none).
fn target_config(dir: &Path) -> Result<Config, RunError> {
    match CONFIG_NAMES.iter().map(|n| dir.join(n)).find(|p| p.is_file()) {
        Some(f) => crate::load_config(&ConfigChoice::File(f), &[], dir),
        None => Ok(Config { base_dir: dir.to_path_buf(), ..Config::default() }),
    }
}

/// Evaluates the policies at `policies` on `t`'s files.
/// Bundles among them are trusted as the revision's config says.
fn run_side(req: &ImpactRequest, t: &Target, at: &SourcesAt, not_inputs: &[PathBuf]) -> Result<Side, Failure> {
    if at.paths.is_empty() {
        return Ok(Side { catalog: Catalog::default(), report: None, messages: Vec::new() });
    }
    let mut r = Request::new(t.dir.clone(), t.config.clone(), req.now);
    r.paths = t.paths.clone();
    r.policies = at.paths.clone();
    r.config.bundles = trust_of(&at.config);
    r.sources = req.sources.clone();
    r.exceptions = t.exceptions.clone();
    r.environment = req.environment.clone();
    r.branch = req.branch.clone();
    r.context = req.context.clone();
    r.include_drafts = req.include_drafts;
    r.rego = req.rego.clone();
    r.not_inputs = not_inputs.to_vec();
    // no report is written by this run, no audit log appended
    r.config.outputs = Default::default();
    r.config.audit_log = None;
    let prepared = crate::prepare(r)?;
    let catalog = prepared.catalog();
    let outcome = prepared.evaluate(Vec::new())?;
    Ok(Side { catalog, report: Some(outcome.report), messages: outcome.messages })
}

/// Compares the two runs of one repository.
fn compare(name: &str, base: &Side, head: &Side) -> RepositoryImpact {
    let empty: Vec<Finding> = Vec::new();
    let bf = base.report.as_ref().map_or(&empty, |r| &r.findings);
    let hf = head.report.as_ref().map_or(&empty, |r| &r.findings);
    // findings by fingerprint, matched in order (one fingerprint can repeat)
    let mut by_fp: HashMap<&str, Vec<&Finding>> = HashMap::new();
    for f in bf {
        by_fp.entry(f.fingerprint.as_str()).or_default().push(f);
    }
    let mut added = Vec::new();
    let mut changed = Vec::new();
    let mut newly_blocking = Vec::new();
    for f in hf {
        let now = ImpactFinding::of(f);
        let before = by_fp.get_mut(f.fingerprint.as_str()).and_then(|v| (!v.is_empty()).then(|| v.remove(0)));
        match before {
            None => {
                if now.blocks() {
                    newly_blocking.push(now.clone());
                }
                added.push(now);
            }
            Some(b) => {
                let then = ImpactFinding::of(b);
                if now.blocks() && !then.blocks() {
                    newly_blocking.push(now.clone());
                }
                if b.enforcement != f.enforcement {
                    changed.push(EnforcementChange { finding: now, base_enforcement: b.enforcement });
                }
            }
        }
    }
    let mut removed: Vec<ImpactFinding> = by_fp.values().flatten().map(|f| ImpactFinding::of(f)).collect();
    added.sort();
    removed.sort();
    newly_blocking.sort();
    changed.sort_by(|a, b| a.finding.cmp(&b.finding));

    // exceptions by id and source
    let none: Vec<ExceptionStatus> = Vec::new();
    let be = base.report.as_ref().map_or(&none, |r| &r.exceptions);
    let he = head.report.as_ref().map_or(&none, |r| &r.exceptions);
    let matched = |list: &[ExceptionStatus], e: &ExceptionStatus| {
        list.iter().find(|x| x.id == e.id && x.source == e.source).map_or(0, |x| x.matched)
    };
    let change = |e: &ExceptionStatus, base_matched: usize, head_matched: usize| ExceptionChange {
        id: e.id.clone(),
        source: e.source.clone(),
        rules: e.rules.clone(),
        base_matched,
        head_matched,
    };
    let exceptions_stale: Vec<ExceptionChange> = be
        .iter()
        .filter(|e| e.matched > 0 && matched(he, e) == 0)
        .map(|e| change(e, e.matched, matched(he, e)))
        .collect();
    let exceptions_new: Vec<ExceptionChange> = he
        .iter()
        .filter(|e| e.matched > 0 && matched(be, e) == 0)
        .map(|e| change(e, matched(be, e), e.matched))
        .collect();

    // per rule
    let mut rules: BTreeMap<(String, String), RuleCounts> = BTreeMap::new();
    fn entry<'m>(
        rules: &'m mut BTreeMap<(String, String), RuleCounts>,
        rule: &str,
        policy: &str,
    ) -> &'m mut RuleCounts {
        rules.entry((rule.to_owned(), policy.to_owned())).or_insert_with(|| RuleCounts {
            rule: rule.to_owned(),
            policy: policy.to_owned(),
            base: 0,
            head: 0,
            added: 0,
            removed: 0,
            newly_blocking: 0,
        })
    }
    for f in bf {
        entry(&mut rules, &f.rule_id, &f.policy).base += 1;
    }
    for f in hf {
        entry(&mut rules, &f.rule_id, &f.policy).head += 1;
    }
    for f in &added {
        entry(&mut rules, &f.rule, &f.policy).added += 1;
    }
    for f in &removed {
        entry(&mut rules, &f.rule, &f.policy).removed += 1;
    }
    for f in &newly_blocking {
        entry(&mut rules, &f.rule, &f.policy).newly_blocking += 1;
    }
    let blocking = |s: &Side| s.report.as_ref().map_or(0, |r| r.summary.blocking);
    let counts = Counts {
        base_findings: bf.len(),
        head_findings: hf.len(),
        base_blocking: blocking(base),
        head_blocking: blocking(head),
        added: added.len(),
        removed: removed.len(),
        enforcement_changed: changed.len(),
        newly_blocking: newly_blocking.len(),
        exceptions_stale: exceptions_stale.len(),
        exceptions_new: exceptions_new.len(),
    };
    RepositoryImpact {
        name: name.to_owned(),
        added,
        removed,
        enforcement_changed: changed,
        newly_blocking,
        exceptions_stale,
        exceptions_new,
        rules: rules.into_values().collect(),
        counts,
    }
}

/// Policies added, removed or changed: versions and rules from the runs'
/// catalogs (levels as evaluated), what changed from the definitions.
fn policy_changes(base: &Catalog, head: &Catalog, diffs: &[policy_diff::PolicyDiff<'_>]) -> Vec<PolicyChange> {
    let names: BTreeSet<&str> = base.policies.iter().chain(&head.policies).map(|p| p.name.as_str()).collect();
    let level = |c: &Catalog, id: &str| {
        c.rule(id).map(|r| RuleLevel { enforcement: r.enforcement.to_string(), severity: r.severity.to_string() })
    };
    let mut out = Vec::new();
    for name in names {
        let (b, h) = (base.policy(name), head.policy(name));
        let diff = diffs.iter().find(|d| d.name == name);
        let ids: BTreeSet<&str> = b.iter().chain(h.iter()).flat_map(|p| p.rules.iter().map(String::as_str)).collect();
        let mut rules = Vec::new();
        for id in ids {
            let in_base = b.is_some_and(|p| p.rules.iter().any(|r| r == id));
            let in_head = h.is_some_and(|p| p.rules.iter().any(|r| r == id));
            let (bl, hl) = (level(base, id).filter(|_| in_base), level(head, id).filter(|_| in_head));
            let changes: Vec<String> = diff
                .map(|d| d.changes.iter().filter(|c| c.rule.as_deref() == Some(id)).map(|c| c.what.clone()).collect())
                .unwrap_or_default();
            let status = match (in_base, in_head) {
                (false, true) => "added",
                (true, false) => "removed",
                _ if bl != hl || !changes.is_empty() => "changed",
                _ => continue,
            };
            rules.push(RuleChange { id: id.to_owned(), status: status.into(), base: bl, head: hl, changes });
        }
        let changes: Vec<String> = diff
            .map(|d| d.changes.iter().filter(|c| c.rule.is_none()).map(|c| c.what.clone()).collect())
            .unwrap_or_default();
        let (bv, hv) = (b.and_then(|p| p.version.clone()), h.and_then(|p| p.version.clone()));
        let status = match (b, h) {
            (None, _) => "added",
            (_, None) => "removed",
            _ if !rules.is_empty() || !changes.is_empty() || bv != hv => "changed",
            _ => continue,
        };
        out.push(PolicyChange {
            name: name.to_owned(),
            status: status.into(),
            base_version: bv,
            head_version: hv,
            changes,
            rules,
        });
    }
    out
}
