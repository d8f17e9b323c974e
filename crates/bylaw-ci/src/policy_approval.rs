//! Approval of policy changes by the policies' owners (issue 18, item 6):
//! on a pull/merge request that changes a policy file, the run keeps a
//! failing check (`bylaw: policy approval` on GitHub, the commit status
//! `bylaw/policy-approval` on GitLab) and exits 1 until each changed
//! policy is approved by one of its owners; each approval is appended once
//! to the audit log with the policy's versions and the digest of its diff.
//!
//! **Which policies change.** The change's files (the forge's list, plus
//! the files it deletes or renames away, [`Forge::removed_files`]) are
//! matched against the files of the policy set in the work tree (head) and
//! at the base commit ([`PolicyRepo`]). A policy's files are the file it is
//! written in, the files its `extends` pulls rules from, for a Rego policy
//! the modules of its package and every Rego module that is no policy (a
//! library any policy may import), for a Gatekeeper Constraint its
//! ConstraintTemplate ([`policy_files`]). A policy is *modified* when it is
//! at both revisions, *added* when only at head, *removed* when only at the
//! base (a renamed `metadata.name` is one of each).
//!
//! **Config changes.** A change to the config in use (`.bylaw.yaml`) that
//! may weaken enforcement ([`crate::config_change::weakenings`]: `fail_on`
//! lowered, a policy source removed, `exceptions`, `approvers`,
//! `environments` or a version pin changed, …) or to an exception list it
//! names is a policy change too: one gate entry named after the config
//! file, listing why, approved by the config's `approvers` at the base
//! revision (and the base owners of the policies it is about: a version
//! pin's, and those whose rules an added or edited exception names). A
//! change to `bylaw.lock` beside it (what bundle and OCI sources may hold)
//! is one too. A config change that can only tighten asks for nothing.
//!
//! **Who approves.** The owners are read at the BASE revision, so a change
//! cannot name its own approvers: a modified or removed policy needs one
//! of its base `metadata.owners` (Rego: METADATA `custom.owners` on the
//! package; Gatekeeper: none) or of the `approvers` of the config as it is
//! at the base commit (head's when the config is outside the repository).
//! A policy new in the change has no base owners: the configured approvers
//! approve it, or — when none are configured — its own declared owners.
//! That fallback is the one place where a change names its approvers; the
//! author's own approval never counts, so it takes a second person listed
//! by the change itself. Configure `approvers` to close it. A policy with
//! nobody to approve it cannot pass: the check says so.
//!
//! **What counts as an approval.** The forge's ([`Forge::approvals`]): on
//! GitHub the latest review of each user, `APPROVED` and on the head
//! commit; on GitLab the merge request's approvers while its head is the
//! pipeline's commit. Users are matched by login, teams and groups through
//! the membership API ([`Forge::verify_owner`]), never from text. The
//! author's approval is ignored.
//!
//! **The audit entry** (`event: policy_change_approved`, one per approved
//! policy) holds the policy, its versions at head and base, its file and
//! changed files, the approvers and how each qualifies, the change's
//! number, the head commit, the base commit and `diff_sha256`: the SHA-256
//! of the bytes `git diff --no-color --no-ext-diff --no-textconv
//! --full-index --no-renames BASE HEAD -- FILES…` prints, FILES being the
//! policy's changed files (sorted, repository-relative) and HEAD the
//! checked-out commit. An entry is not appended again when the log already
//! holds one for the same policy, head commit and digest (re-runs).

use crate::forge::{ApiFailure, Approvals, Forge};
use crate::host::Console;
use crate::requests::Approvers;
use bylaw_engine::compile::PolicySet;
use bylaw_engine::loader::Loaded;
use bylaw_report::escape::{md_code, md_code_cell, md_text, md_text_keeping_code};
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

/// Name of the GitHub check run of the gate.
pub const CHECK_NAME: &str = "bylaw: policy approval";
/// Context (GitHub) / name (GitLab) of the commit status of the gate.
pub const STATUS_NAME: &str = "bylaw/policy-approval";
/// The audit log event of an approved policy change.
pub const AUDIT_EVENT: &str = "policy_change_approved";

/// A policy as far as approval goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnedPolicy {
    pub name: String,
    /// `metadata.version` (Rego: METADATA `custom.version`).
    pub version: Option<String>,
    /// `metadata.owners` (Rego: METADATA `custom.owners`).
    pub owners: Vec<String>,
    /// The file it is written in (repository-relative).
    pub file: String,
    /// The ids of its rules (an exception naming one is about this policy).
    pub rules: Vec<String>,
}

/// The policy files of one revision: repository-relative path → the
/// policies written in or drawing on that file.
pub type PolicyFiles = BTreeMap<String, Vec<OwnedPolicy>>;

/// The policy set at the base revision.
#[derive(Debug, Clone, Default)]
pub struct BaseRevision {
    pub files: PolicyFiles,
    /// The config's `approvers` at the base revision.
    pub approvers: Vec<String>,
}

/// The repository's policies at two revisions, as the front end loads
/// them (the same paths, packs and Rego options as the run).
pub trait PolicyRepo {
    /// The policy files in the work tree.
    fn head(&self) -> Result<PolicyFiles, String>;
    /// The policy files at commit `rev`, and the configured approvers there.
    fn at(&self, rev: &str) -> Result<BaseRevision, String>;
    /// Whether `path` (repository-relative) is under one of the run's
    /// policy paths: a file removed there may have been a policy.
    fn under_policy_paths(&self, path: &str) -> bool;
    /// The bytes of `git diff … BASE HEAD -- paths` (see the module doc).
    fn diff(&self, base: &str, paths: &[String]) -> Result<Vec<u8>, String>;
    /// The audit log approvals are appended to (the config's `audit_log`).
    fn audit_log(&self) -> Option<PathBuf>;
    /// The config in use and the exception lists it names, repository-
    /// relative (empty when the config is not in the repository): a change
    /// touching one of them is checked for weakenings.
    fn config_files(&self) -> Vec<String> {
        Vec::new()
    }
    /// The config at commit `rev` and in the work tree.
    fn configs_at(&self, _rev: &str) -> Result<ConfigRevisions, String> {
        Ok(ConfigRevisions::default())
    }
}

/// The config in use at the base revision and in the work tree.
#[derive(Debug, Clone, Default)]
pub struct ConfigRevisions {
    /// The config file, repository-relative.
    pub file: String,
    /// At the base revision (`None`: no config file there).
    pub base: Option<bylaw_engine::config::Config>,
    /// In the work tree (`None`: deleted by the change).
    pub head: Option<bylaw_engine::config::Config>,
    /// The exception lists either revision's config names, repository-relative.
    pub exception_files: Vec<String>,
    /// The rules named by the exceptions the change adds or edits in those
    /// lists (`*` for every rule): the owners of their policies at the base
    /// may approve the change, as they approve exceptions.
    pub exception_rules: Vec<String>,
    /// The lock file beside the config (`bylaw.lock`), repository-relative:
    /// a change to it re-pins what bundle and OCI sources may hold.
    pub lock_file: Option<String>,
}

/// The files each policy of a compiled set draws on, inverted: file →
/// policies. `repo_path` turns a loader display path into a
/// repository-relative one (`None`: not in the repository, e.g. a pack).
pub fn policy_files(set: &PolicySet, loaded: &Loaded, repo_path: &dyn Fn(&str) -> Option<String>) -> PolicyFiles {
    let mut out: PolicyFiles = BTreeMap::new();
    let rego_policies: BTreeSet<&str> = set
        .policies
        .iter()
        .filter(|p| p.language == "rego" && is_rego_file(&p.file))
        .map(|p| p.name.as_str())
        .collect();
    for p in &set.policies {
        let mut files: BTreeSet<&str> = BTreeSet::new();
        files.insert(&p.file);
        for lp in loaded.policies.iter().filter(|lp| lp.def.metadata.name == p.name && lp.file == p.file) {
            files.extend(lp.origins.iter().map(|o| o.file.as_str()));
            for parent in &lp.extends_chain {
                files
                    .extend(loaded.policies.iter().filter(|q| &q.def.metadata.name == parent).map(|q| q.file.as_str()));
            }
        }
        if rego_policies.contains(p.name.as_str()) {
            for m in &loaded.rego {
                let package = rego_package(&m.text);
                if package.as_deref() == Some(p.name.as_str())
                    || package.as_deref().is_none_or(|pk| !rego_policies.contains(pk))
                {
                    files.insert(&m.file);
                }
            }
        }
        // a Gatekeeper Constraint draws on the template of its kind
        if let Some(c) = loaded.gatekeeper.iter().find(|d| {
            d.file == p.file
                && bylaw_engine::language::rego::gatekeeper::is_constraint(&d.root)
                && d.root.str_at(&["metadata", "name"]) == Some(p.name.as_str())
        }) {
            let kind = c.root.str_at(&["kind"]).unwrap_or_default();
            for t in loaded.gatekeeper.iter().filter(|t| {
                bylaw_engine::language::rego::gatekeeper::is_template(&t.root)
                    && t.root.str_at(&["spec", "crd", "spec", "names", "kind"]) == Some(kind)
            }) {
                files.insert(&t.file);
            }
        }
        let Some(main) = repo_path(&p.file) else { continue };
        let policy = OwnedPolicy {
            name: p.name.clone(),
            version: p.version.clone(),
            owners: p.owners.clone(),
            file: main,
            rules: p.rules.iter().map(|r| r.id.clone()).collect(),
        };
        for f in files.into_iter().filter_map(repo_path) {
            let list = out.entry(f).or_default();
            if !list.contains(&policy) {
                list.push(policy.clone());
            }
        }
    }
    out
}

fn is_rego_file(f: &str) -> bool {
    f.ends_with(".rego")
}

/// The package a Rego module declares (`package a.b` → `a.b`).
fn rego_package(text: &str) -> Option<String> {
    text.lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with('#'))
        .and_then(|l| l.strip_prefix("package "))
        .map(|p| p.trim().trim_start_matches("data.").to_owned())
}

/// How a policy changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    Modified,
    Added,
    Removed,
}

impl Change {
    fn as_str(self) -> &'static str {
        match self {
            Change::Modified => "modified",
            Change::Added => "added",
            Change::Removed => "removed",
        }
    }
}

/// A changed policy and where its approval stands.
#[derive(Debug, Clone)]
pub struct ChangedPolicy {
    pub name: String,
    pub change: Change,
    /// Its file at head (at the base when removed).
    pub file: String,
    /// Its files the change touches, sorted.
    pub files: Vec<String>,
    pub head_version: Option<String>,
    pub base_version: Option<String>,
    /// Who may approve (owners at the base and configured approvers, see the module doc).
    pub required: Vec<String>,
    /// The entries of `required` that are owners of the policy (or, for the
    /// config's entry, of the policies the change is about).
    pub owners: Vec<String>,
    /// The entries of `required` that are configured `approvers`.
    pub approvers: Vec<String>,
    /// Where `required` comes from, for people.
    pub required_from: &'static str,
    /// Approvers that count: (login, how they qualify).
    pub approved_by: Vec<(String, String)>,
    /// Approvals that do not count for this policy, and why.
    pub refused: Vec<String>,
    /// SHA-256 (hex) of the policy's diff (see the module doc).
    pub diff_sha256: String,
    /// For the config's entry: what in the change may weaken enforcement
    /// (empty for a policy).
    pub reasons: Vec<String>,
}

impl ChangedPolicy {
    pub fn approved(&self) -> bool {
        !self.approved_by.is_empty()
    }

    fn label(&self) -> String {
        if !self.reasons.is_empty() {
            return format!("config {} ({}: {})", self.file, self.change.as_str(), self.reasons.join("; "));
        }
        let version = match (&self.base_version, &self.head_version, self.change) {
            (Some(b), Some(h), Change::Modified) if b != h => format!(" {b} → {h}"),
            (_, Some(h), Change::Modified | Change::Added) => format!(" {h}"),
            (Some(b), _, _) => format!(" {b}"),
            _ => String::new(),
        };
        format!("{}{version} ({}, {})", self.name, self.file, self.change.as_str())
    }

    fn needs(&self) -> String {
        if self.required.is_empty() {
            "nobody can approve it: it has no owners and no approvers are configured (add `approvers:` to .bylaw.yaml on the base branch)".to_owned()
        } else {
            format!("needs an approval by one of {} ({})", self.required.join(", "), self.required_from)
        }
    }
}

/// The gate of one run.
#[derive(Debug, Clone, Default)]
pub struct Gate {
    pub policies: Vec<ChangedPolicy>,
    /// Why the gate cannot be decided (it then fails).
    pub error: Option<String>,
    /// The head commit approvals are for.
    pub head: String,
    pub base: String,
    /// The change request's number.
    pub number: u64,
    /// Approvals the forge does not count at all (older commits).
    pub ignored: Vec<String>,
    pub audit_log: Option<PathBuf>,
    /// Whether to publish the gate's check: not when it is unknown whether
    /// the change touches a policy at all (the exit code and the log say
    /// why; a failing approval check on a change that may touch no policy
    /// would mislead).
    pub unknown_files: bool,
}

impl Gate {
    /// Every changed policy approved, and nothing in the way.
    pub fn approved(&self) -> bool {
        self.error.is_none() && self.policies.iter().all(ChangedPolicy::approved)
    }

    fn failed(error: String) -> Gate {
        Gate { error: Some(error), ..Gate::default() }
    }

    /// The check's one-line title.
    pub fn title(&self) -> String {
        let waiting = self.policies.iter().filter(|p| !p.approved()).count();
        if let Some(e) = &self.error {
            format!("policy changes cannot be checked: {}", first_chars(e, 100))
        } else if waiting == 0 {
            format!(
                "{} changed polic{} approved by {}",
                self.policies.len(),
                ies(self.policies.len()),
                owners_word(self)
            )
        } else {
            format!(
                "{waiting} of {} changed polic{} awaiting an owner's approval",
                self.policies.len(),
                ies(self.policies.len())
            )
        }
    }

    /// The check's Markdown summary: a row per changed policy.
    pub fn summary(&self) -> String {
        let mut s = String::from("### Approval of policy changes\n\n");
        if let Some(e) = &self.error {
            s.push_str(&format!("❌ {}\n\n", md_text_keeping_code(e)));
        }
        if !self.policies.is_empty() {
            s.push_str(
                "| policy | version | change | approvers (base revision) | approved by |\n|---|---|---|---|---|\n",
            );
            for p in &self.policies {
                let version = match (&p.base_version, &p.head_version) {
                    (Some(b), Some(h)) if b != h => format!("{b} → {h}"),
                    (_, Some(h)) => h.clone(),
                    (Some(b), None) => b.clone(),
                    (None, None) => "—".into(),
                };
                let required = if p.required.is_empty() { "nobody".into() } else { p.required.join(", ") };
                let by = if p.approved() {
                    p.approved_by
                        .iter()
                        .map(|(u, how)| format!("✅ @{} ({})", md_text(u), md_text(how)))
                        .collect::<Vec<_>>()
                        .join("<br>")
                } else {
                    "⏳ nobody yet".into()
                };
                s.push_str(&format!(
                    "| {} ({}) | {} | {} | {} | {} |\n",
                    md_code_cell(&p.name),
                    md_code_cell(&p.file),
                    md_text(&version),
                    p.change.as_str(),
                    md_text(&required),
                    by
                ));
            }
            s.push('\n');
        }
        for p in self.policies.iter().filter(|p| !p.reasons.is_empty()) {
            s.push_str(&format!("{} changes what judges this repository:\n", md_code(&p.file)));
            for r in &p.reasons {
                s.push_str(&format!("- {}\n", md_text_keeping_code(r)));
            }
            s.push('\n');
        }
        let notes: Vec<&String> = self.ignored.iter().chain(self.policies.iter().flat_map(|p| &p.refused)).collect();
        if !notes.is_empty() {
            s.push_str("Approvals that do not count:\n");
            for n in notes {
                s.push_str(&format!("- {}\n", md_text_keeping_code(n)));
            }
            s.push('\n');
        }
        if !self.head.is_empty() {
            s.push_str(&format!(
                "Approvals count for the head commit `{}`; the owners are read at the base revision, so a change cannot name its own approvers.\n",
                first_chars(&self.head, 12)
            ));
        }
        s
    }

    /// The log lines (for the console), one per policy.
    pub fn lines(&self) -> Vec<String> {
        let mut out = Vec::new();
        if let Some(e) = &self.error {
            out.push(format!("policy-change approval: {e}"));
        }
        for p in &self.policies {
            if p.approved() {
                let by: Vec<String> = p.approved_by.iter().map(|(u, how)| format!("@{u} ({how})")).collect();
                out.push(format!("policy-change approval: {}: approved by {}", p.label(), by.join(", ")));
            } else {
                out.push(format!("policy-change approval: {}: {}; approved by: nobody yet", p.label(), p.needs()));
            }
            for r in &p.refused {
                out.push(format!("policy-change approval:   not counted: {r}"));
            }
        }
        for i in &self.ignored {
            out.push(format!("policy-change approval:   not counted: {i}"));
        }
        out
    }
}

fn ies(n: usize) -> &'static str {
    if n == 1 {
        "y"
    } else {
        "ies"
    }
}

fn owners_word(g: &Gate) -> &'static str {
    if g.policies.iter().all(|p| p.required_from.starts_with("owners")) {
        "their owners"
    } else {
        "their approvers"
    }
}

fn first_chars(s: &str, n: usize) -> String {
    s.chars().take(n).collect()
}

/// SHA-256 hex of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// Decides the gate of a change request, before evaluation: which policies
/// the change touches (`changed`: the forge's list of the change's files,
/// `None` when it could not be read) and whether their owners approved.
/// `None` when the change touches no policy file (no approval is asked
/// for: no review or approval request is made). API failures are returned
/// for the flow to warn about; a gate that cannot be decided fails.
pub fn check(
    forge: &dyn Forge,
    repo: &dyn PolicyRepo,
    base: Option<&str>,
    changed: Option<&[String]>,
) -> (Option<Gate>, Vec<ApiFailure>) {
    let mut failures = Vec::new();
    let Some(changed) = changed else {
        let mut gate = Gate::failed(format!(
            "the {}'s files could not be listed, so whether it changes policies is unknown",
            forge.change_word()
        ));
        gate.unknown_files = true;
        return (Some(gate), failures);
    };
    let head_files = match repo.head() {
        Ok(f) => f,
        Err(e) => return (Some(Gate::failed(format!("cannot read the policies: {e}"))), failures),
    };
    let removed = forge.removed_files();
    let touched: BTreeSet<&str> = changed.iter().chain(removed.iter()).map(String::as_str).collect();
    let touches_head = touched.iter().any(|f| head_files.contains_key(*f));
    let touches_base = removed.iter().any(|f| repo.under_policy_paths(f))
        || changed.iter().any(|f| !head_files.contains_key(f.as_str()) && repo.under_policy_paths(f));
    let config_files = repo.config_files();
    let touches_config = config_files.iter().any(|f| touched.contains(f.as_str()));
    if !touches_head && !touches_base && !touches_config {
        return (None, failures);
    }
    let Some(base) = base.filter(|b| !b.is_empty()) else {
        return (
            Some(Gate::failed(format!(
                "the {} changes policy files but its base commit is unknown, so their owners cannot be read",
                forge.change_word()
            ))),
            failures,
        );
    };
    let base_rev = match repo.at(base) {
        Ok(b) => b,
        Err(e) => {
            return (
                Some(Gate::failed(format!(
                    "cannot read the policies at the base commit {}: {e} (fetch the whole history: actions/checkout `fetch-depth: 0`, GitLab `GIT_DEPTH: 0`)",
                    first_chars(base, 12)
                ))),
                failures,
            )
        }
    };
    let mut policies = changed_policies(&touched, &head_files, &base_rev);
    if touches_config {
        match repo.configs_at(base) {
            Ok(revs) => policies.extend(config_entry(&revs, &touched, &base_rev)),
            Err(e) => {
                return (
                    Some(Gate::failed(format!(
                        "cannot read the config at the base commit {}: {e}",
                        first_chars(base, 12)
                    ))),
                    failures,
                )
            }
        }
    }
    if policies.is_empty() {
        // files under the policy paths that hold no policy at either revision
        return (None, failures);
    }
    let mut gate = Gate { base: base.to_owned(), audit_log: repo.audit_log(), ..Gate::default() };
    for p in &mut policies {
        match repo.diff(base, &p.files) {
            Ok(bytes) => p.diff_sha256 = sha256_hex(&bytes),
            Err(e) => {
                gate.error = Some(format!("cannot diff {} against the base commit: {e}", p.files.join(", ")));
            }
        }
    }
    let approvals = match forge.approvals() {
        Ok(a) => a,
        Err(f) => {
            gate.error.get_or_insert_with(|| format!("could not {}: {}", f.what, f.error));
            failures.push(f);
            Approvals::default()
        }
    };
    gate.head = approvals.head.clone();
    gate.number = approvals.number;
    gate.ignored = approvals.ignored.clone();
    let mut cache: BTreeMap<(Vec<String>, String), Result<String, String>> = BTreeMap::new();
    for p in &mut policies {
        let owners = Approvers { entries: p.required.clone() };
        for a in &approvals.approved {
            if a.login.eq_ignore_ascii_case(&approvals.author) {
                p.refused.push(format!("@{}: the author's own approval does not count", a.login));
                continue;
            }
            if p.required.is_empty() {
                continue;
            }
            let key = (p.required.clone(), a.login.to_ascii_lowercase());
            let verdict = cache.entry(key).or_insert_with(|| forge.verify_owner(&owners, a)).clone();
            match verdict {
                Ok(how) => {
                    let how = qualification(p, &a.login, how);
                    p.approved_by.push((a.login.clone(), how))
                }
                Err(why) => p.refused.push(format!("@{} for {}: {why}", a.login, p.name)),
            }
        }
    }
    gate.policies = policies;
    (Some(gate), failures)
}

/// How `login`, verified by the forge (`how`: listed, or a member of a
/// listed team or group), qualifies for `p`: as an owner (`metadata.owners`)
/// or as a configured approver (`approvers:`), said as it is — never "a
/// listed approver" for an owner when no approvers are configured.
fn qualification(p: &ChangedPolicy, login: &str, how: String) -> String {
    let whose = if p.reasons.is_empty() { "the policy" } else { "a policy the change is about" };
    let owner = format!("an owner of {whose}");
    let approver = "a configured approver";
    let named = |e: &String| !e.contains('/') && e.trim_start_matches('@').eq_ignore_ascii_case(login);
    let (as_owner, as_approver) = (p.owners.iter().any(named), p.approvers.iter().any(named));
    match (as_owner, as_approver) {
        (true, true) => return format!("@{login} is {owner} and {approver}"),
        (true, false) => return format!("@{login} is {owner}"),
        (false, true) => return format!("@{login} is {approver}"),
        (false, false) => {}
    }
    // a member of a team or group: the one the forge names (one of ours)
    let team = |e: &&String| e.contains('/') && how.ends_with(&format!("@{}", e.trim_start_matches('@')));
    match (p.owners.iter().find(team), p.approvers.iter().find(team)) {
        (Some(_), _) => format!("{how}, {owner}"),
        (None, Some(_)) => format!("{how}, {approver} team"),
        (None, None) => how,
    }
}

/// The gate entry of a change to the config or its exception lists, when
/// something in it may weaken enforcement: approved by the base config's
/// `approvers`, and for a version pin also by the pinned policy's base
/// owners.
fn config_entry(revs: &ConfigRevisions, touched: &BTreeSet<&str>, base: &BaseRevision) -> Option<ChangedPolicy> {
    let defaults = bylaw_engine::config::Config::default();
    let mut reasons = Vec::new();
    let mut pinned: Vec<String> = Vec::new();
    let mut files = Vec::new();
    if touched.contains(revs.file.as_str()) {
        files.push(revs.file.clone());
        let (b, h) = (revs.base.as_ref().unwrap_or(&defaults), revs.head.as_ref().unwrap_or(&defaults));
        for w in crate::config_change::weakenings(b, h) {
            if let Some(p) = w.policy.filter(|p| !pinned.contains(p)) {
                pinned.push(p);
            }
            reasons.push(w.what);
        }
        if revs.head.is_none() && revs.base.is_some() {
            reasons.insert(0, format!("the config file `{}` is deleted", revs.file));
        }
    }
    if let Some(lock) = revs.lock_file.as_ref().filter(|f| touched.contains(f.as_str())) {
        files.push(lock.clone());
        reasons.push(format!("`{lock}` changed: the pinned policy sources (digests, versions) are different"));
    }
    for f in revs.exception_files.iter().filter(|f| touched.contains(f.as_str())) {
        if !files.contains(f) {
            files.push(f.clone());
            reasons.push(format!("exception list `{f}` changed"));
        }
    }
    if reasons.is_empty() {
        return None;
    }
    files.sort();
    // the policies the change is about: a version pin's, and those whose
    // rules the added or edited exceptions name (not `*`: every policy)
    let excepts = files.iter().any(|f| revs.exception_files.contains(f));
    let about_rules = |p: &OwnedPolicy| {
        excepts
            && !revs.exception_rules.iter().any(|r| r == "*")
            && p.rules.iter().any(|r| revs.exception_rules.contains(r))
    };
    let mut about: Vec<&OwnedPolicy> = Vec::new();
    for p in base.files.values().flatten().filter(|p| pinned.contains(&p.name) || about_rules(p)) {
        if !about.iter().any(|a| a.name == p.name) {
            about.push(p);
        }
    }
    let mut required = base.approvers.clone();
    let mut owners: Vec<String> = Vec::new();
    for o in about.iter().flat_map(|p| p.owners.iter()) {
        if !owners.contains(o) {
            owners.push(o.clone());
        }
        if !required.contains(o) {
            required.push(o.clone());
        }
    }
    let required_from = if about.is_empty() {
        "configured approvers at the base revision"
    } else {
        "configured approvers and the owners of the policies concerned at the base revision"
    };
    let change = match (&revs.base, &revs.head) {
        (None, Some(_)) => Change::Added,
        (Some(_), None) => Change::Removed,
        _ => Change::Modified,
    };
    Some(ChangedPolicy {
        name: revs.file.clone(),
        change,
        file: revs.file.clone(),
        files,
        head_version: None,
        base_version: None,
        required,
        owners,
        approvers: base.approvers.clone(),
        required_from,
        approved_by: Vec::new(),
        refused: Vec::new(),
        diff_sha256: String::new(),
        reasons,
    })
}

/// The changed policies of `touched` files, by name, with who may approve each.
fn changed_policies(touched: &BTreeSet<&str>, head: &PolicyFiles, base: &BaseRevision) -> Vec<ChangedPolicy> {
    let by_name = |files: &PolicyFiles| -> BTreeMap<String, OwnedPolicy> {
        files.values().flatten().map(|p| (p.name.clone(), p.clone())).collect()
    };
    let (head_all, base_all) = (by_name(head), by_name(&base.files));
    // name → touched files
    let mut names: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for files in [head, &base.files] {
        for (f, ps) in files.iter().filter(|(f, _)| touched.contains(f.as_str())) {
            for p in ps {
                names.entry(p.name.clone()).or_default().insert(f.clone());
            }
        }
    }
    names
        .into_iter()
        .map(|(name, files)| {
            let (h, b) = (head_all.get(&name), base_all.get(&name));
            let change = match (h, b) {
                (Some(_), Some(_)) => Change::Modified,
                (Some(_), None) => Change::Added,
                _ => Change::Removed,
            };
            let (required, owners, approvers, required_from) = match b {
                Some(b) => {
                    let mut r = b.owners.clone();
                    r.extend(base.approvers.iter().filter(|a| !b.owners.contains(a)).cloned());
                    (
                        r,
                        b.owners.clone(),
                        base.approvers.clone(),
                        "owners and configured approvers at the base revision",
                    )
                }
                None if !base.approvers.is_empty() => (
                    base.approvers.clone(),
                    Vec::new(),
                    base.approvers.clone(),
                    "configured approvers at the base revision: the policy is new",
                ),
                None => {
                    let owners = h.map(|h| h.owners.clone()).unwrap_or_default();
                    (owners.clone(), owners, Vec::new(), "owners the new policy declares: no approvers are configured")
                }
            };
            ChangedPolicy {
                file: h.or(b).map(|p| p.file.clone()).unwrap_or_default(),
                name,
                change,
                files: files.into_iter().collect(),
                head_version: h.and_then(|p| p.version.clone()),
                base_version: b.and_then(|p| p.version.clone()),
                required,
                owners,
                approvers,
                required_from,
                approved_by: Vec::new(),
                refused: Vec::new(),
                diff_sha256: String::new(),
                reasons: Vec::new(),
            }
        })
        .collect()
}

/// After the verdict: logs the gate, publishes its check, appends the
/// approved policies to the audit log, and returns the exit code (`code`,
/// the report's, raised to 1 while approvals are missing, to 2 when the
/// audit log cannot be written) and the API failures to warn about.
pub fn finish(
    gate: Option<Gate>,
    forge: Option<&dyn Forge>,
    console: &dyn Console,
    time: &str,
    code: u8,
) -> (u8, Vec<ApiFailure>) {
    let Some(gate) = gate else { return (code, Vec::new()) };
    for l in gate.lines() {
        console.out(&format!("bylaw: {l}\n"));
    }
    let mut failures = Vec::new();
    if let Some(f) = forge.filter(|_| !gate.unknown_files) {
        failures = f.publish_approval(gate.approved(), &gate.title(), &gate.summary());
    }
    let mut code = code;
    match append_audit(&gate, time) {
        Ok(lines) => lines.iter().for_each(|l| console.out(&format!("bylaw: {l}\n"))),
        Err(e) => {
            console.err(&format!("error: {e}"));
            code = crate::flow::EXIT_ERROR;
        }
    }
    if !gate.approved() {
        let waiting: Vec<String> = gate
            .policies
            .iter()
            .filter(|p| !p.approved())
            .map(|p| {
                let who = if p.required.is_empty() { "nobody can approve it".into() } else { p.required.join(", ") };
                format!("{} ({who})", p.name)
            })
            .collect();
        let why = match &gate.error {
            Some(e) => e.clone(),
            None => format!("policy changes need an owner's approval on the head commit: {}", waiting.join("; ")),
        };
        console.err(&format!("error: {why}"));
        code = code.max(1);
    }
    (code, failures)
}

/// The audit events of the approved policies not yet in the log.
pub fn audit_events(gate: &Gate, log: &str) -> Vec<Map<String, Value>> {
    let recorded: BTreeSet<(String, String, String)> = log
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v["event"] == AUDIT_EVENT)
        .map(|v| {
            let s = |k: &str| v[k].as_str().unwrap_or_default().to_owned();
            (s("policy"), s("head_sha"), s("diff_sha256"))
        })
        .collect();
    gate.policies
        .iter()
        .filter(|p| p.approved() && gate.error.is_none())
        .filter(|p| !recorded.contains(&(p.name.clone(), gate.head.clone(), p.diff_sha256.clone())))
        .map(|p| {
            let v = json!({
                "event": AUDIT_EVENT,
                "policy": p.name,
                "change": p.change.as_str(),
                "version": p.head_version,
                "base_version": p.base_version,
                "file": p.file,
                "files": p.files,
                "approvers": p.approved_by.iter().map(|(u, how)| json!({ "login": u, "via": how })).collect::<Vec<_>>(),
                "required": p.required,
                "pr": gate.number_value(),
                "head_sha": gate.head,
                "base_sha": gate.base,
                "diff_sha256": p.diff_sha256,
            });
            let mut v = v;
            if !p.reasons.is_empty() {
                v["reasons"] = json!(p.reasons);
            }
            match v {
                Value::Object(m) => m,
                _ => Map::new(),
            }
        })
        .collect()
}

impl Gate {
    fn number_value(&self) -> Value {
        if self.number == 0 {
            Value::Null
        } else {
            json!(self.number)
        }
    }
}

/// Appends the approved policies not yet recorded; the lines to log.
fn append_audit(gate: &Gate, time: &str) -> Result<Vec<String>, String> {
    let any = gate.error.is_none() && gate.policies.iter().any(ChangedPolicy::approved);
    let Some(path) = gate.audit_log.as_ref().filter(|_| any) else {
        if any {
            return Ok(vec![
                "policy-change approval: no `audit_log` in the config: the approval is not recorded".to_owned()
            ]);
        }
        return Ok(Vec::new());
    };
    let text = match std::fs::read(path) {
        Ok(b) => String::from_utf8_lossy(&b).into_owned(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(format!("cannot read the audit log {}: {e}", path.display())),
    };
    let events = audit_events(gate, &text);
    if events.is_empty() {
        return Ok(vec![format!("policy-change approval: already recorded in the audit log {}", path.display())]);
    }
    let n = events.len();
    let end = bylaw_report::audit_log::append(path, events, time)
        .map_err(|e| format!("cannot append to the audit log {}: {e}", path.display()))?;
    Ok(vec![format!(
        "policy-change approval: {n} approval{} recorded in the audit log {} (seq {} head {})",
        if n == 1 { "" } else { "s" },
        path.display(),
        end.seq,
        end.head
    )])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_approver_is_said_to_be_an_owner_or_a_configured_approver_as_it_is() {
        let p = ChangedPolicy {
            name: "a".into(),
            change: Change::Modified,
            file: "p/a.yaml".into(),
            files: vec!["p/a.yaml".into()],
            head_version: None,
            base_version: None,
            required: vec!["alice".into(), "@acme/sec".into(), "bob".into(), "acme/ops".into()],
            owners: vec!["alice".into(), "@acme/sec".into()],
            approvers: vec!["bob".into(), "Alice".into(), "acme/ops".into()],
            required_from: "owners and configured approvers at the base revision",
            approved_by: Vec::new(),
            refused: Vec::new(),
            diff_sha256: String::new(),
            reasons: Vec::new(),
        };
        let q = |login: &str, how: &str| qualification(&p, login, how.to_owned());
        assert_eq!(
            q("alice", "@alice is a listed approver"),
            "@alice is an owner of the policy and a configured approver"
        );
        assert_eq!(q("bob", "@bob is a listed approver"), "@bob is a configured approver");
        assert_eq!(
            q("erin", "@erin is a member of @acme/sec"),
            "@erin is a member of @acme/sec, an owner of the policy"
        );
        assert_eq!(
            q("gus", "@gus is a member of @acme/ops"),
            "@gus is a member of @acme/ops, a configured approver team"
        );
        let config = ChangedPolicy { reasons: vec!["x".into()], approvers: Vec::new(), ..p.clone() };
        assert_eq!(
            qualification(&config, "alice", String::new()),
            "@alice is an owner of a policy the change is about"
        );
    }

    fn owned(name: &str, version: &str, owners: &[&str], file: &str) -> OwnedPolicy {
        OwnedPolicy {
            rules: Vec::new(),
            name: name.into(),
            version: Some(version.into()),
            owners: owners.iter().map(|s| s.to_string()).collect(),
            file: file.into(),
        }
    }

    #[test]
    fn owners_come_from_the_base_and_new_policies_fall_back() {
        let mut head = PolicyFiles::new();
        head.insert("p/a.yaml".into(), vec![owned("a", "1.1.0", &["mallory"], "p/a.yaml")]);
        head.insert("p/new.yaml".into(), vec![owned("new", "0.1.0", &["eve"], "p/new.yaml")]);
        let mut base = BaseRevision::default();
        base.files.insert("p/a.yaml".into(), vec![owned("a", "1.0.0", &["dave"], "p/a.yaml")]);
        base.files.insert("p/gone.yaml".into(), vec![owned("gone", "2.0.0", &["@acme/sec"], "p/gone.yaml")]);
        let touched: BTreeSet<&str> = ["p/a.yaml", "p/new.yaml", "p/gone.yaml", "deploy/x.yaml"].into();
        let ps = changed_policies(&touched, &head, &base);
        let names: Vec<(&str, Change, &[String])> =
            ps.iter().map(|p| (p.name.as_str(), p.change, p.required.as_slice())).collect();
        assert_eq!(names[0], ("a", Change::Modified, &["dave".to_string()][..]), "never the PR's owners");
        assert_eq!(ps[0].head_version.as_deref(), Some("1.1.0"));
        assert_eq!(ps[0].base_version.as_deref(), Some("1.0.0"));
        assert_eq!(names[1], ("gone", Change::Removed, &["@acme/sec".to_string()][..]));
        assert_eq!(names[2], ("new", Change::Added, &["eve".to_string()][..]), "no approvers configured");
        base.approvers = vec!["carol".into()];
        let ps = changed_policies(&touched, &head, &base);
        assert_eq!(ps[0].required, ["dave", "carol"]);
        assert_eq!(ps[2].required, ["carol"], "configured approvers approve new policies");
    }

    #[test]
    fn a_policy_draws_on_its_extends_bases_its_rego_package_and_rego_libraries() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::create_dir_all(d.join("policies")).unwrap();
        let rule = |id: &str| {
            format!("  rules:\n    - id: {id}\n      title: t\n      severity: low\n      deny: \"doc.kind == 'Pod'\"\n      message: m\n")
        };
        std::fs::write(
            d.join("policies/base.yaml"),
            format!(
                "apiVersion: bylaw/v1\nkind: Policy\nmetadata:\n  name: base\n  owners: [base-owner]\nspec:\n{}",
                rule("B-1")
            ),
        )
        .unwrap();
        std::fs::write(
            d.join("policies/team.yaml"),
            format!(
                "apiVersion: bylaw/v1\nkind: Policy\nmetadata:\n  name: team\n  version: 2.0.0\n  owners: [team-owner]\nspec:\n  extends: [\"./base.yaml\"]\n{}",
                rule("T-1")
            ),
        )
        .unwrap();
        std::fs::write(
            d.join("policies/main.rego"),
            "# METADATA\n# title: Main\n# custom:\n#   owners: [\"rego-owner\"]\n#   version: 1.4.0\npackage main\n\nimport data.lib\n\ndeny contains msg if {\n  lib.is_pod\n  msg := \"x\"\n}\n",
        )
        .unwrap();
        std::fs::write(d.join("policies/lib.rego"), "package lib\n\nis_pod if input.kind == \"Pod\"\n").unwrap();
        let loaded = bylaw_engine::loader::load(&[d.join("policies")], d);
        let options = bylaw_engine::compile::CompileOptions {
            environment: None,
            today: bylaw_engine::chrono::NaiveDate::from_ymd_opt(2026, 6, 1).unwrap(),
            include_drafts: true,
        };
        let (set, diags) = bylaw_engine::compile::compile_loaded(
            &loaded,
            &bylaw_engine::language::rego::RegoOptions::default(),
            options,
        );
        assert!(diags.iter().all(|d| d.level != bylaw_engine::diagnostic::Level::Error), "{diags:?}");
        let files = policy_files(&set, &loaded, &|f: &str| Some(f.to_owned()));
        let names = |f: &str| -> Vec<String> {
            let mut n: Vec<String> = files[f].iter().map(|p| p.name.clone()).collect();
            n.sort();
            n
        };
        // an extended file is a base, not a policy of its own: its changes are the child's
        assert_eq!(names("policies/base.yaml"), ["team"]);
        assert_eq!(names("policies/team.yaml"), ["team"]);
        assert_eq!(names("policies/main.rego"), ["main"]);
        assert_eq!(names("policies/lib.rego"), ["main"], "a Rego library belongs to every Rego policy");
        let main = &files["policies/main.rego"][0];
        assert_eq!(main.owners, ["rego-owner"], "METADATA custom.owners");
        assert_eq!(main.version.as_deref(), Some("1.4.0"));
        assert_eq!(files["policies/team.yaml"][0].version.as_deref(), Some("2.0.0"));
    }

    #[test]
    fn rego_packages_and_audit_dedup() {
        assert_eq!(rego_package("# METADATA\n# title: x\npackage main.k8s\n").as_deref(), Some("main.k8s"));
        let gate = Gate {
            head: "abc".into(),
            base: "def".into(),
            number: 7,
            policies: vec![ChangedPolicy {
                name: "a".into(),
                change: Change::Modified,
                file: "p/a.yaml".into(),
                files: vec!["p/a.yaml".into()],
                head_version: Some("1.1.0".into()),
                base_version: Some("1.0.0".into()),
                required: vec!["dave".into()],
                owners: vec!["dave".into()],
                approvers: Vec::new(),
                required_from: "owners",
                approved_by: vec![("dave".into(), "@dave is an owner of the policy".into())],
                refused: Vec::new(),
                diff_sha256: "d1".into(),
                reasons: Vec::new(),
            }],
            ..Gate::default()
        };
        let events = audit_events(&gate, "");
        assert_eq!(events.len(), 1);
        assert_eq!(events[0]["approvers"][0]["login"], "dave");
        let line = serde_json::to_string(&events[0]).unwrap();
        assert!(audit_events(&gate, &line).is_empty(), "recorded once per policy, head and digest");
        let mut changed = gate.clone();
        changed.policies[0].diff_sha256 = "d2".into();
        assert_eq!(audit_events(&changed, &line).len(), 1, "a new diff is a new approval");
    }
}
