//! `check --new-since REV`: the findings that are not new. The same
//! policies and config are run on the repository's tracked files as they
//! were at `REV` (a copy made by [`crate::git::tree_at`], so every path
//! relative to the root, and with it every fingerprint, is the same), and
//! that run's findings become a baseline ([`bylaw_engine::baseline`]):
//! applied like `--baseline FILE`, they are reported at audit level with
//! SARIF `baselineState: unchanged`. With `--baseline FILE` too, the
//! baseline is the union of both.

use crate::{git, Request, RunError};
use bylaw_engine::baseline::Baseline;
use bylaw_engine::loader::Loaded;
use bylaw_engine::paths::absolute;
use std::path::{Path, PathBuf};

/// The baseline of `request`'s files at `rev` (with `file`'s findings when
/// `--baseline FILE` was given too), and how to name it in notes.
///
/// # Errors
/// [`RunError::Revision`]: standard input is checked, the run is not in a
/// git repository, `rev` names no commit, or the run at `rev` failed.
pub(crate) fn baseline_since(
    request: &Request,
    rev: &str,
    loaded: &Loaded,
    exception_paths: &[PathBuf],
    file: Option<(Baseline, String)>,
) -> Result<(Baseline, String), RunError> {
    let err = |m: String| RunError::Revision(format!("--new-since {rev}: {m}"));
    let wd = &request.working_dir;
    if request.paths.iter().any(|p| p.as_os_str() == "-") {
        return Err(err("standard input has no earlier revision; check files, or use `--baseline FILE`".into()));
    }
    let tree = git::tree_at(rev, wd).map_err(err)?;
    let map = |p: &Path| -> PathBuf {
        let abs = absolute(wd, p);
        tree.map(&abs).unwrap_or(abs)
    };
    let config = &request.config;
    let mut past_config = config.clone();
    past_config.base_dir = map(&config.base_dir);
    past_config.file = config.file.as_ref().map(|f| map(Path::new(f)).to_string_lossy().into_owned());
    // the same policies (this revision's, loaded from where they are now);
    // exceptions change nothing in a baseline; no report is written
    past_config.policies = Vec::new();
    past_config.exceptions = Vec::new();
    past_config.outputs = Default::default();
    past_config.audit_log = None;
    let policies: Vec<PathBuf> = crate::policy_paths(&request.policies, config)
        .into_iter()
        .map(|p| if p.to_string_lossy().starts_with("pack:") { p } else { absolute(wd, &p) })
        .collect();
    let past_wd = map(wd);
    std::fs::create_dir_all(&past_wd).map_err(|e| err(format!("cannot create {}: {e}", past_wd.display())))?;
    let mut past = Request::new(past_wd, past_config, request.now);
    // the paths that existed then (a file added since has no earlier findings)
    let paths: Vec<PathBuf> = request.paths.iter().map(|p| map(p)).collect();
    if !request.paths.is_empty() {
        past.paths = paths.into_iter().filter(|p| p.exists()).collect();
    }
    past.policies = policies;
    past.environment = request.environment.clone();
    past.branch = request.branch.clone();
    past.context = request.context.clone();
    past.expiring_days = request.expiring_days;
    past.include_drafts = request.include_drafts;
    past.fail_on = request.fail_on;
    past.rego = request.rego.clone();
    // the copies of this run's own files are not inputs then either
    let own = loaded
        .policies
        .iter()
        .flat_map(|p| std::iter::once(&p.file).chain(p.origins.iter().map(|o| &o.file)))
        .filter(|f| !f.starts_with("pack:"))
        .map(PathBuf::from)
        .chain(exception_paths.iter().cloned())
        .chain(request.baseline.iter().cloned())
        .chain(request.audit_log.iter().cloned())
        .chain(request.artifacts.iter().cloned());
    past.not_inputs = own.map(|p| map(&p)).collect();
    let mut found = if request.paths.is_empty() || !past.paths.is_empty() {
        let outcome =
            crate::run(past).map_err(|f| err(format!("the run on the files at {rev} failed: {}", f.error)))?;
        Baseline::of(&outcome.report)
    } else {
        Baseline { bylaw_baseline: bylaw_engine::baseline::VERSION, findings: Vec::new() }
    };
    let short: String = tree.commit.chars().take(12).collect();
    let mut shown = format!("of {rev} ({short})");
    if let Some((file, name)) = file {
        found.findings.extend(file.findings);
        found.findings.sort_by(|a, b| (&a.path, a.line, &a.fingerprint).cmp(&(&b.path, b.line, &b.fingerprint)));
        found.findings.dedup_by(|a, b| a.fingerprint == b.fingerprint);
        shown = format!("{name} and the baseline {shown}");
    }
    Ok((found, shown))
}
