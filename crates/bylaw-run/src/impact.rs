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
//!
//! Nothing is printed; [`bylaw_report::impact`] renders the result.

use crate::{git, policy_diff, ConfigChoice, Failure, Message, Request, RunError};
use bylaw_engine::chrono::{DateTime, Utc};
use bylaw_engine::config::{Config, CONFIG_NAMES};
use bylaw_engine::context::PipelineContext;
use bylaw_engine::loader;
use bylaw_engine::paths::absolute;
use bylaw_engine::report::{Catalog, ExceptionStatus, Finding, Report};
use bylaw_report::impact::{
    Counts, EnforcementChange, ExceptionChange, Impact, ImpactFinding, PolicyChange, RepositoryImpact, Revision,
    RuleChange, RuleCounts, RuleLevel, IMPACT_VERSION,
};
use rayon::prelude::*;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

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
    /// Other repositories to evaluate instead of this one (`--repos`).
    pub repos: Vec<PathBuf>,
}

/// Why there is no impact to show (exit 2 for the binary).
#[derive(Debug, thiserror::Error)]
pub enum ImpactError {
    /// git cannot say (not a repository, an unknown revision, a policy
    /// outside the repository).
    #[error("{0}")]
    Git(String),
    /// A repository of `--repos` cannot be evaluated.
    #[error("--repos {repo}: {message}")]
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
    let at = git::files_at(base, paths, working_dir)?;
    let at_root = at.dir.path().canonicalize().unwrap_or_else(|_| at.dir.path().to_path_buf());
    let old = loader::load(&at.paths, working_dir);
    files.extend(policy_files(&old, working_dir).iter().filter_map(|f| rel(f, &at_root)));
    Ok(names(&files))
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

/// Computes the impact.
///
/// # Errors
/// [`ImpactError`]: git cannot read a revision, a repository of `repos`
/// cannot be read, or a run stopped.
pub fn impact(req: ImpactRequest) -> Result<ImpactOutcome, ImpactError> {
    let wd = req.working_dir.clone();
    // the sources in effect in the run's environment, as `check` chooses them
    let env = crate::choose_environment(req.environment.as_deref(), req.branch.as_deref(), &req.config);
    let policy_paths: Vec<PathBuf> = crate::policy_paths_for(&req.policies, &req.config, env.as_deref())
        .into_iter()
        .map(|p| if p.to_string_lossy().starts_with("pack:") { p } else { absolute(&wd, &p) })
        .collect();
    if policy_paths.is_empty() {
        let failure = Failure { error: RunError::NoPolicies, messages: Vec::new() };
        return Err(ImpactError::Run { side: "policies".into(), repo: ".".into(), failure: Box::new(failure) });
    }
    let base_commit = git::resolve_rev(&req.base, &wd).map_err(ImpactError::Git)?;
    // each revision's own config names its policy sources (a change that
    // adds a pack or a source to .bylaw.yaml changes the policies too)
    let paths_at = |rev: &str| -> Result<Vec<PathBuf>, ImpactError> {
        if !req.policies.is_empty() {
            return Ok(policy_paths.clone());
        }
        let Some(shown) = req.config.file.as_deref() else { return Ok(policy_paths.clone()) };
        let Some(bytes) = git::file_at(rev, Path::new(shown), &wd).map_err(ImpactError::Git)? else {
            return Ok(policy_paths.clone());
        };
        let text = String::from_utf8_lossy(&bytes);
        let Ok(mut config) = Config::parse(shown, &text) else { return Ok(policy_paths.clone()) };
        config.base_dir = req.config.base_dir.clone();
        config.file = req.config.file.clone();
        let env = crate::choose_environment(req.environment.as_deref(), req.branch.as_deref(), &config);
        Ok(crate::policy_paths_for(&[], &config, env.as_deref())
            .into_iter()
            .map(|p| if p.to_string_lossy().starts_with("pack:") { p } else { absolute(&wd, &p) })
            .collect())
    };
    let base_at = git::files_at(&req.base, &paths_at(&req.base)?, &wd).map_err(ImpactError::Git)?;
    let (head_rev, head_at) = match &req.head {
        Some(rev) => {
            let commit = git::resolve_rev(rev, &wd).map_err(ImpactError::Git)?;
            let at = git::files_at(rev, &paths_at(rev)?, &wd).map_err(ImpactError::Git)?;
            (Revision { rev: rev.clone(), commit: Some(commit) }, Some(at))
        }
        None => (Revision { rev: "working tree".into(), commit: None }, None),
    };
    let base_paths = base_at.paths.clone();
    let head_paths = head_at.as_ref().map(|a| a.paths.clone()).unwrap_or_else(|| policy_paths.clone());
    // the work tree's policy files are no input of either run
    let work_loaded = loader::load(&policy_paths, &wd);
    let not_inputs = policy_files(&work_loaded, &wd);
    let base_loaded = loader::load(&base_paths, &wd);
    let head_loaded = if head_at.is_some() { loader::load(&head_paths, &wd) } else { work_loaded };

    let targets = targets(&req)?;
    let results: Vec<Result<(RepositoryImpact, Side, Side), ImpactError>> = targets
        .par_iter()
        .map(|t| {
            let side = |name: &str, paths: &[PathBuf]| {
                run_side(&req, t, paths, &not_inputs).map_err(|failure| ImpactError::Run {
                    side: format!("the policies of {name}"),
                    repo: t.name.clone(),
                    failure: Box::new(failure),
                })
            };
            let base = side(&req.base, &base_paths)?;
            let head = side(&head_rev.rev, &head_paths)?;
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
        total,
    };
    if req.repos.is_empty() {
        Ok(ImpactOutcome { impact, messages })
    } else {
        Ok(ImpactOutcome { impact, messages: Vec::new() })
    }
}

/// This repository (no `repos`), or each of `repos` with its own config.
fn targets(req: &ImpactRequest) -> Result<Vec<Target>, ImpactError> {
    if req.repos.is_empty() {
        return Ok(vec![Target {
            name: ".".into(),
            dir: req.working_dir.clone(),
            config: req.config.clone(),
            paths: req.paths.clone(),
            exceptions: req.exceptions.clone(),
        }]);
    }
    let mut out = Vec::new();
    for given in &req.repos {
        let name = given.to_string_lossy().into_owned();
        let dir = absolute(&req.working_dir, given);
        if !dir.is_dir() {
            return Err(ImpactError::Repo { repo: name, message: "not a directory".into() });
        }
        let file = CONFIG_NAMES.iter().map(|n| dir.join(n)).find(|p| p.is_file());
        let config = match file {
            Some(f) => crate::load_config(&ConfigChoice::File(f), &[], &dir).map_err(|e| ImpactError::Run {
                side: "the config".into(),
                repo: name.clone(),
                failure: Box::new(Failure { error: e, messages: Vec::new() }),
            })?,
            None => Config { base_dir: dir.clone(), ..Config::default() },
        };
        out.push(Target { name, dir, config, paths: Vec::new(), exceptions: Vec::new() });
    }
    Ok(out)
}

/// Evaluates the policies at `policies` on `t`'s files.
fn run_side(req: &ImpactRequest, t: &Target, policies: &[PathBuf], not_inputs: &[PathBuf]) -> Result<Side, Failure> {
    if policies.is_empty() {
        return Ok(Side { catalog: Catalog::default(), report: None, messages: Vec::new() });
    }
    let mut r = Request::new(t.dir.clone(), t.config.clone(), req.now);
    r.paths = t.paths.clone();
    r.policies = policies.to_vec();
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
