//! `bylaw validate --against REV`: each policy compared (by
//! `metadata.name`) with itself at a git revision, and its
//! `metadata.version` held to semantic versioning (semver.org §8: an
//! incompatible change bumps the major version). A change that removes a
//! rule or tightens one ([`crate::policy_diff::Effect::is_major`]: a rule
//! added at blocking, a level or severity raised, the lifecycle moved
//! towards `enforced`, `disable` shrunk, `enforce_from` moved earlier, a
//! changed condition that may tighten) while the major version stays the
//! same is a warning located at `metadata.version`, naming the rule and
//! the version to bump to; so is a policy whose rules changed while its
//! version did not, and a version that went down. A policy of the
//! revision that is gone (removed, or renamed: its file now holds a policy
//! of another `metadata.name`) is a breaking change too — `versions` pins
//! and `bylaw.lock` entries name policies — and warns the same way: a
//! rename located at the new `metadata.name` unless the new policy's major
//! version went up, a removal at the file that held it. Policies without a
//! (semver) version at either revision are not compared: the schema and
//! the lock file speak for those.

use crate::{git, policy_diff, Sources};
use bylaw_engine::diagnostic::{Code, Diagnostic};
use bylaw_engine::loader;
use semver::Version;
use std::path::{Path, PathBuf};

/// The version warnings of the policies at `paths` (relative ones from
/// `working_dir`) against themselves at `rev`, and the text of the files
/// they point into.
///
/// The repository is the one that holds the policy paths (not the one of
/// `working_dir`: `bylaw validate --against main ../policies` from another
/// checkout compares the policies with their own history).
///
/// # Errors
/// A policy path that is not in a git work tree (named), policy paths in
/// two repositories, `rev` unknown in that repository.
pub fn against(rev: &str, paths: &[PathBuf], working_dir: &Path) -> Result<(Vec<Diagnostic>, Sources), String> {
    let repo = repository_of(paths, working_dir)?;
    let absolute: Vec<PathBuf> = paths
        .iter()
        .map(|p| {
            let s = p.to_string_lossy();
            if s.starts_with("pack:") || crate::sources::is_remote(&s) {
                p.clone()
            } else {
                bylaw_engine::paths::absolute(working_dir, p)
            }
        })
        .collect();
    let at = git::files_at(rev, &absolute, &repo)?;
    let head = loader::load(paths, working_dir);
    let base = loader::load(&at.paths, working_dir);
    let mut out = Vec::new();
    let diffs = policy_diff::diff(&base.policies, &head.policies);
    out.extend(gone(rev, &diffs, &at, working_dir));
    for d in diffs {
        let (Some(_), Some(h)) = (d.base, d.head) else { continue };
        let parse = |v: Option<&str>| v.and_then(|v| Version::parse(v).ok());
        let (Some(bv), Some(hv)) = (parse(d.base_version()), parse(d.head_version())) else { continue };
        let span = Some(h.root.value_span_of_pointer("/metadata/version").0);
        let file = h.file.as_str();
        let name = &d.name;
        let major = Version::new(bv.major + 1, 0, 0);
        if hv < bv {
            out.push(
                Diagnostic::warning(
                    Code::Lint,
                    file,
                    span,
                    format!("policy `{name}`: the version went down from {bv} at {rev} to {hv}"),
                )
                .with_hint(format!("versions only go up: use a version above {bv}")),
            );
            continue;
        }
        let breaking = d.changes.iter().any(|c| c.effect.is_major());
        if hv.major == bv.major {
            for c in d.changes.iter().filter(|c| c.effect.is_major()) {
                let what = match &c.rule {
                    Some(id) => format!("rule `{id}` {}", c.what),
                    None => c.what.clone(),
                };
                let verb = match c.effect {
                    policy_diff::Effect::Removes => "removes a rule",
                    policy_diff::Effect::MayTighten => "may tighten a rule",
                    _ => "tightens a rule",
                };
                let mut diag = Diagnostic::warning(
                    Code::Lint,
                    file,
                    span,
                    format!(
                        "policy `{name}`: {what} since {rev}, a change that {verb}, but the major version stays {} ({bv} → {hv})",
                        hv.major
                    ),
                )
                .with_hint(format!("a change that removes or tightens rules is a major change: bump to {major}"));
                if let Some(i) = c.rule.as_ref().and_then(|id| h.def.spec.rules.iter().position(|r| &r.id == id)) {
                    diag = diag.with_label(h.rule_file(i), h.rule_span(i, "/id"), "this rule");
                }
                out.push(diag);
            }
        }
        // a breaking change at the same version is said above, rule by rule
        if !d.changes.is_empty() && hv == bv && !breaking {
            let next = Version::new(bv.major, bv.minor + 1, 0);
            out.push(
                Diagnostic::warning(
                    Code::Lint,
                    file,
                    span,
                    format!("policy `{name}`: its rules changed since {rev} but its version is still {hv}"),
                )
                .with_hint(format!("bump to {next}")),
            );
        }
    }
    Ok((out, head.sources))
}

/// The file a policy loaded from `at`'s materialised copy stands for, as
/// shown from `working_dir` (`None`: not from the copy, e.g. a pack).
fn original_file(file: &str, at: &git::FilesAt, working_dir: &Path) -> Option<String> {
    let abs = bylaw_engine::paths::absolute(working_dir, Path::new(file));
    let dir = at.dir.path();
    let canonical = dir.canonicalize().ok();
    let rel = abs.strip_prefix(dir).ok().or_else(|| canonical.as_deref().and_then(|c| abs.strip_prefix(c).ok()))?;
    Some(loader::display_path(&at.top.join(rel), working_dir))
}

/// Warnings for the policies of `rev` that are not at the head: renamed
/// (the file that held it holds a policy of a new name) unless the new
/// name's major version went up, else removed.
fn gone(rev: &str, diffs: &[policy_diff::PolicyDiff<'_>], at: &git::FilesAt, working_dir: &Path) -> Vec<Diagnostic> {
    let parse = |v: Option<&str>| v.and_then(|v| Version::parse(v).ok());
    let mut out = Vec::new();
    let mut renamed_to: Vec<&str> = Vec::new();
    for d in diffs {
        let (Some(b), None) = (d.base, d.head) else { continue };
        let Some(bv) = parse(d.base_version()) else { continue };
        let old = &d.name;
        let Some(file) = original_file(&b.file, at, working_dir) else { continue };
        // a policy new at the head, in the file that held this one: a rename
        let new = diffs.iter().find(|n| {
            n.base.is_none() && n.head.is_some_and(|h| h.file == file) && !renamed_to.contains(&n.name.as_str())
        });
        let consequence = "`versions` pins and `bylaw.lock` entries naming it break";
        match new.and_then(|n| Some((n, n.head?))) {
            Some((n, h)) => {
                renamed_to.push(n.name.as_str());
                let Some(hv) = parse(n.head_version()) else { continue };
                if hv.major > bv.major {
                    continue;
                }
                out.push(
                    Diagnostic::warning(
                        Code::Lint,
                        &h.file,
                        Some(h.root.value_span_of_pointer("/metadata/name").0),
                        format!(
                            "policy `{old}` was renamed to `{}` since {rev}, a change that removes a policy ({consequence}), but the major version stays {} ({bv} → {hv})",
                            n.name, hv.major
                        ),
                    )
                    .with_hint(format!(
                        "renaming a policy is a major change: bump to {}.0.0",
                        bv.major + 1
                    )),
                );
            }
            None => {
                let exists = bylaw_engine::paths::absolute(working_dir, Path::new(&file)).is_file();
                out.push(
                    Diagnostic::warning(
                        Code::Lint,
                        &file,
                        None,
                        format!(
                            "policy `{old}` ({bv} at {rev}) was removed since {rev}{}, a change that removes a policy: {consequence}",
                            if exists { "" } else { " with its file" }
                        ),
                    )
                    .with_hint(format!(
                        "removing a policy is a major change: release it in a new major version of the policies (a bundle's `--version` {}.0.0), or keep it as `lifecycle: deprecated` until nothing pins it",
                        bv.major + 1
                    )),
                );
            }
        }
    }
    out
}

/// The top of the git work tree that holds every on-disk policy path (a
/// path that does not exist yet is looked for from its nearest existing
/// directory); `working_dir`'s when every path is a pack.
///
/// # Errors
/// A path not in a git work tree, or paths in two work trees, named.
pub fn repository_of(paths: &[PathBuf], working_dir: &Path) -> Result<PathBuf, String> {
    let mut found: Option<(PathBuf, &PathBuf)> = None;
    for p in paths {
        let s = p.to_string_lossy();
        if s.starts_with("pack:") || crate::sources::is_remote(&s) {
            continue;
        }
        let abs = bylaw_engine::paths::absolute(working_dir, p);
        let dir = abs.ancestors().find(|a| a.is_dir()).unwrap_or(working_dir).to_path_buf();
        let top = git::top_of(&dir).map_err(|_| {
            format!("{} is not in a git work tree: --against compares policies with their git history", p.display())
        })?;
        match &found {
            Some((other, first)) if *other != top => {
                return Err(format!(
                    "{} and {} are in different git repositories ({} and {}): compare them one repository at a time",
                    first.display(),
                    p.display(),
                    other.display(),
                    top.display()
                ))
            }
            Some(_) => {}
            None => found = Some((top, p)),
        }
    }
    match found {
        Some((top, _)) => Ok(top),
        None => git::top_of(working_dir),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn git_init(dir: &Path) {
        let ok = std::process::Command::new("git").args(["init", "-q"]).current_dir(dir).status().unwrap();
        assert!(ok.success());
    }

    #[test]
    fn the_repository_is_the_one_holding_the_policies() {
        let (a, b, loose) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        git_init(a.path());
        git_init(b.path());
        std::fs::create_dir(a.path().join("policies")).unwrap();
        let in_a = a.path().join("policies");
        let top = repository_of(std::slice::from_ref(&in_a), loose.path()).unwrap();
        assert_eq!(top, a.path().canonicalize().unwrap(), "not the working directory's");
        // a path that does not exist yet is looked for from its directory
        assert!(repository_of(&[in_a.join("new.yaml")], loose.path()).is_ok());
        let e = repository_of(&[loose.path().join("p.yaml")], a.path()).unwrap_err();
        assert!(e.contains("p.yaml is not in a git work tree"), "{e}");
        let e = repository_of(&[in_a.clone(), b.path().to_path_buf()], loose.path()).unwrap_err();
        assert!(e.contains("are in different git repositories"), "{e}");
        // packs alone: the working directory's repository
        assert_eq!(repository_of(&[PathBuf::from("pack:dockerfile")], a.path()).unwrap(), top);
    }
}
