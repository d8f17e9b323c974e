//! The impact of a policy change (`bylaw impact --base REV`): the findings
//! that the policies of two revisions give on the same files, compared by
//! their stable fingerprints, per repository, and how it renders — text
//! for a terminal, JSON (a published shape with a `version`, README
//! "Impact analysis") and Markdown for a pull/merge request comment.
//!
//! The data ([`Impact`]) is computed by `bylaw_run::impact`; this module
//! only renders it. Every input-derived value goes through
//! [`display_safe`] (text) or the Markdown escapes of [`crate::markdown`];
//! no text line starts with one.

use crate::escape::display_safe;
use crate::markdown::{cell, code, code_span};
use bylaw_engine::report::{Enforcement, Finding};
use serde::Serialize;
use std::fmt::Write;

/// Version of the JSON form of [`Impact`]; grows with incompatible changes.
pub const IMPACT_VERSION: u32 = 1;

/// Items of each Markdown list before the rest is counted ("… N more").
pub const MARKDOWN_ITEMS: usize = 50;

/// Lists longer than this are collapsed in `<details>` in Markdown.
pub const MARKDOWN_OPEN_ITEMS: usize = 10;

/// The whole impact of a policy change.
#[derive(Serialize, Clone, Debug, PartialEq)]
pub struct Impact {
    /// [`IMPACT_VERSION`].
    pub version: u32,
    /// The revision the old policies are read from.
    pub base: Revision,
    /// The revision the new policies are read from (the working tree when
    /// `commit` is `None`).
    pub head: Revision,
    /// The environment both were evaluated for, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub environment: Option<String>,
    /// Policies added, removed or changed, by name.
    pub policies: Vec<PolicyChange>,
    /// One entry per repository evaluated (this one alone without `--repos`
    /// or `impact:` of the config).
    pub repositories: Vec<RepositoryImpact>,
    /// Repositories (of `--repos`, `--repos-file` or `impact:` of the
    /// config) that could not be evaluated, with why (the others are in
    /// `repositories`).
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub failed_repositories: Vec<RepositoryFailure>,
    /// The repositories' counts added up.
    pub total: Counts,
}

/// A repository that could not be evaluated.
#[derive(Serialize, Clone, Debug, PartialEq)]
pub struct RepositoryFailure {
    /// As written on the command line, in the config or in a repository
    /// list file (whatever characters it holds).
    pub name: String,
    /// Why, with the place it is named (`.bylaw.yaml:7:12: …`).
    pub error: String,
}

/// A revision as asked and the commit it named.
#[derive(Serialize, Clone, Debug, PartialEq)]
pub struct Revision {
    /// As given (`main`, `HEAD~1`), or `working tree`.
    pub rev: String,
    /// Full commit id; `None` for the working tree.
    pub commit: Option<String>,
}

impl Revision {
    fn label(&self) -> String {
        match &self.commit {
            Some(c) if !c.starts_with(&self.rev) => format!("{} ({})", self.rev, short(c)),
            Some(c) => short(c).to_owned(),
            None => self.rev.clone(),
        }
    }
}

fn short(c: &str) -> &str {
    c.get(..12).unwrap_or(c)
}

/// A policy that is not the same at both revisions.
#[derive(Serialize, Clone, Debug, PartialEq)]
pub struct PolicyChange {
    pub name: String,
    /// `added`, `removed` or `changed`.
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub base_version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub head_version: Option<String>,
    /// Changes of the whole policy (`lifecycle`, `match`, `environments`).
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub changes: Vec<String>,
    /// Rules added, removed or changed, by id.
    pub rules: Vec<RuleChange>,
}

/// A rule that is not the same at both revisions.
#[derive(Serialize, Clone, Debug, PartialEq)]
pub struct RuleChange {
    pub id: String,
    /// `added`, `removed` or `changed`.
    pub status: String,
    /// Enforcement and severity at the base, as evaluated.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub base: Option<RuleLevel>,
    /// Enforcement and severity at the head, as evaluated.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub head: Option<RuleLevel>,
    /// What changed, for a person.
    pub changes: Vec<String>,
}

/// How a rule is enforced in a run.
#[derive(Serialize, Clone, Debug, PartialEq)]
pub struct RuleLevel {
    pub enforcement: String,
    pub severity: String,
}

/// The impact on one repository's files.
#[derive(Serialize, Clone, Debug, PartialEq)]
pub struct RepositoryImpact {
    /// The repository as given (`.` for this one).
    pub name: String,
    /// Findings at the head the base does not have, by rule, path, line.
    pub added: Vec<ImpactFinding>,
    /// Findings at the base the head does not have.
    pub removed: Vec<ImpactFinding>,
    /// Findings at both whose enforcement differs (the head's finding).
    pub enforcement_changed: Vec<EnforcementChange>,
    /// Findings that fail the run at the head (blocking or mandatory, not
    /// excepted) and did not at the base: added ones and raised ones.
    pub newly_blocking: Vec<ImpactFinding>,
    /// Exceptions that cover findings at the base and none at the head.
    pub exceptions_stale: Vec<ExceptionChange>,
    /// Exceptions that cover findings at the head and none at the base.
    pub exceptions_new: Vec<ExceptionChange>,
    /// Per rule with findings on either side, by rule id.
    pub rules: Vec<RuleCounts>,
    pub counts: Counts,
}

/// A finding, exactly: where, what, how enforced, its identity.
#[derive(Serialize, Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct ImpactFinding {
    pub rule: String,
    pub path: String,
    /// 1-based.
    pub line: u32,
    /// 1-based.
    pub column: u32,
    pub policy: String,
    /// `Kind namespace/name` of the document, when it has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
    pub message: String,
    pub enforcement: Enforcement,
    /// The exception covering it, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exception: Option<String>,
    /// The stable fingerprint both revisions are matched by.
    pub fingerprint: String,
}

impl ImpactFinding {
    /// The finding of a report, as the impact lists it.
    pub fn of(f: &Finding) -> ImpactFinding {
        let resource = f.resource.as_ref().and_then(|r| {
            let (kind, name) = (r.kind.as_ref()?, r.name.as_ref()?);
            Some(match &r.namespace {
                Some(ns) => format!("{kind} {ns}/{name}"),
                None => format!("{kind} {name}"),
            })
        });
        ImpactFinding {
            rule: f.rule_id.clone(),
            path: f.location.path.clone(),
            line: f.location.start_line,
            column: f.location.start_column,
            policy: f.policy.clone(),
            resource,
            message: f.message.clone(),
            enforcement: f.enforcement,
            exception: f.exception.as_ref().map(|e| e.id.clone()),
            fingerprint: f.fingerprint.clone(),
        }
    }

    /// Whether it fails a run (blocking or mandatory, not excepted).
    pub fn blocks(&self) -> bool {
        self.enforcement.is_blocking() && self.exception.is_none()
    }

    /// `path:line:col: LEVEL [RULE] message (resource) fingerprint FP`,
    /// safe for a terminal.
    pub fn line(&self) -> String {
        let mut s = format!(
            "{}:{}:{}: {} [{}] {}",
            display_safe(&self.path),
            self.line,
            self.column,
            self.level(),
            display_safe(&self.rule),
            display_safe(&self.message)
        );
        if let Some(r) = &self.resource {
            let _ = write!(s, " ({})", display_safe(r));
        }
        let _ = write!(s, " fingerprint {}", self.fingerprint);
        s
    }

    fn level(&self) -> String {
        match &self.exception {
            Some(id) => format!("{} excepted by {}", self.enforcement, display_safe(id)),
            None => self.enforcement.to_string(),
        }
    }

    fn markdown(&self) -> String {
        let mut s = format!(
            "{} **{}** {} · {}",
            code_span(&format!("{}:{}:{}", self.path, self.line, self.column)),
            cell(&self.rule),
            cell(&self.message),
            match &self.exception {
                Some(id) => format!("{} (excepted by {})", self.enforcement, cell(id)),
                None => self.enforcement.to_string(),
            }
        );
        if let Some(r) = &self.resource {
            let _ = write!(s, " · {}", cell(r));
        }
        let _ = write!(s, " · {}", code_span(&self.fingerprint));
        s
    }
}

/// A finding at both revisions whose enforcement differs.
#[derive(Serialize, Clone, Debug, PartialEq)]
pub struct EnforcementChange {
    /// The head's finding.
    #[serde(flatten)]
    pub finding: ImpactFinding,
    /// Its enforcement at the base (with `base_exception` when excepted).
    pub base_enforcement: Enforcement,
}

/// An exception whose use differs between the revisions.
#[derive(Serialize, Clone, Debug, PartialEq)]
pub struct ExceptionChange {
    pub id: String,
    /// `file:line` where it is written.
    pub source: String,
    pub rules: Vec<String>,
    /// Findings it covers with the base's policies.
    pub base_matched: usize,
    /// Findings it covers with the head's policies.
    pub head_matched: usize,
}

/// The findings of one rule at both revisions.
#[derive(Serialize, Clone, Debug, PartialEq)]
pub struct RuleCounts {
    pub rule: String,
    pub policy: String,
    pub base: usize,
    pub head: usize,
    pub added: usize,
    pub removed: usize,
    pub newly_blocking: usize,
}

/// Counts of a repository (or of all, [`Impact::total`]).
#[derive(Serialize, Clone, Debug, PartialEq, Eq, Default)]
pub struct Counts {
    /// Findings with the base's policies.
    pub base_findings: usize,
    /// Findings with the head's policies.
    pub head_findings: usize,
    /// Findings that fail the run with the base's / the head's policies.
    pub base_blocking: usize,
    pub head_blocking: usize,
    pub added: usize,
    pub removed: usize,
    pub enforcement_changed: usize,
    pub newly_blocking: usize,
    pub exceptions_stale: usize,
    pub exceptions_new: usize,
}

impl Counts {
    /// Adds `other` to these counts.
    pub fn add(&mut self, o: &Counts) {
        self.base_findings += o.base_findings;
        self.head_findings += o.head_findings;
        self.base_blocking += o.base_blocking;
        self.head_blocking += o.head_blocking;
        self.added += o.added;
        self.removed += o.removed;
        self.enforcement_changed += o.enforcement_changed;
        self.newly_blocking += o.newly_blocking;
        self.exceptions_stale += o.exceptions_stale;
        self.exceptions_new += o.exceptions_new;
    }

    fn sentence(&self) -> String {
        format!(
            "{} added, {} removed, {} with another enforcement, {} newly blocking; exceptions: {} would become stale, {} newly apply; findings {} → {} ({} → {} blocking)",
            self.added,
            self.removed,
            self.enforcement_changed,
            self.newly_blocking,
            self.exceptions_stale,
            self.exceptions_new,
            self.base_findings,
            self.head_findings,
            self.base_blocking,
            self.head_blocking
        )
    }
}

fn plural(n: usize, word: &str) -> String {
    format!("{n} {word}{}", if n == 1 { "" } else { "s" })
}

/// The JSON form (pretty, with a final newline).
pub fn json(impact: &Impact) -> String {
    let mut s = serde_json::to_string_pretty(impact).unwrap_or_default();
    s.push('\n');
    s
}

/// Findings grouped by rule, then by file, each line indented under its
/// group: `rule ID (policy P): N`, `file PATH`, `- FINDING`.
fn text_group(out: &mut String, title: &str, list: &[&ImpactFinding]) {
    let _ = writeln!(out, "  {title}: {}", list.len());
    let mut last_rule: Option<&str> = None;
    let mut last_file: Option<&str> = None;
    for f in list {
        if last_rule != Some(f.rule.as_str()) {
            let n = list.iter().filter(|g| g.rule == f.rule).count();
            let _ = writeln!(out, "    rule {} (policy {}): {n}", display_safe(&f.rule), display_safe(&f.policy));
            last_rule = Some(&f.rule);
            last_file = None;
        }
        if last_file != Some(f.path.as_str()) {
            let _ = writeln!(out, "      file {}", display_safe(&f.path));
            last_file = Some(&f.path);
        }
        let _ = writeln!(out, "        - {}", f.line());
    }
}

/// The text for a terminal.
pub fn text(impact: &Impact) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "bylaw impact: policies of {} → {}{}",
        display_safe(&impact.base.label()),
        display_safe(&impact.head.label()),
        impact.environment.as_ref().map(|e| format!(", environment {}", display_safe(e))).unwrap_or_default()
    );
    out.push('\n');
    if impact.policies.is_empty() {
        out.push_str("policies: no policy or rule changed\n");
    } else {
        out.push_str("policies:\n");
        for p in &impact.policies {
            let version = match (&p.base_version, &p.head_version) {
                (Some(b), Some(h)) if b != h => format!(" {} → {}", display_safe(b), display_safe(h)),
                (Some(b), Some(_)) => format!(" {} (version unchanged)", display_safe(b)),
                (Some(b), None) | (None, Some(b)) => format!(" {}", display_safe(b)),
                (None, None) => String::new(),
            };
            let _ = writeln!(out, "  - {} {}{version}", p.status, display_safe(&p.name));
            for c in &p.changes {
                let _ = writeln!(out, "      policy: {}", display_safe(c));
            }
            for r in &p.rules {
                let level = |l: &Option<RuleLevel>| {
                    l.as_ref().map(|l| format!("{} {}", l.enforcement, l.severity)).unwrap_or_else(|| "-".into())
                };
                let _ = writeln!(
                    out,
                    "      rule {} {} ({} → {}){}",
                    display_safe(&r.id),
                    r.status,
                    level(&r.base),
                    level(&r.head),
                    if r.changes.is_empty() {
                        String::new()
                    } else {
                        format!(": {}", display_safe(&r.changes.join("; ")))
                    }
                );
            }
        }
    }
    for repo in &impact.repositories {
        out.push('\n');
        let _ = writeln!(out, "repository {}:", display_safe(&repo.name));
        text_group(&mut out, "added findings", &repo.added.iter().collect::<Vec<_>>());
        text_group(&mut out, "removed findings", &repo.removed.iter().collect::<Vec<_>>());
        let _ = writeln!(out, "  enforcement changed: {}", repo.enforcement_changed.len());
        for c in &repo.enforcement_changed {
            let _ = writeln!(out, "        - {} → {}: {}", c.base_enforcement, c.finding.enforcement, c.finding.line());
        }
        text_group(&mut out, "newly blocking", &repo.newly_blocking.iter().collect::<Vec<_>>());
        for (title, list) in [
            ("exceptions that would become stale", &repo.exceptions_stale),
            ("exceptions that newly apply", &repo.exceptions_new),
        ] {
            let _ = writeln!(out, "  {title}: {}", list.len());
            for e in list {
                let _ = writeln!(
                    out,
                    "        - {} ({}): covers {} at the base, {} at the head",
                    display_safe(&e.id),
                    display_safe(&e.source),
                    plural(e.base_matched, "finding"),
                    e.head_matched
                );
            }
        }
        if !repo.rules.is_empty() {
            out.push_str("  per rule (base → head, added, removed, newly blocking):\n");
            for r in &repo.rules {
                let _ = writeln!(
                    out,
                    "    rule {} (policy {}): {} → {}, +{} -{}, {} newly blocking",
                    display_safe(&r.rule),
                    display_safe(&r.policy),
                    r.base,
                    r.head,
                    r.added,
                    r.removed,
                    r.newly_blocking
                );
            }
        }
        let _ = writeln!(out, "  summary: {}", repo.counts.sentence());
    }
    if !impact.failed_repositories.is_empty() {
        out.push('\n');
        let _ = writeln!(out, "repositories not evaluated: {}", impact.failed_repositories.len());
        for f in &impact.failed_repositories {
            let _ = writeln!(out, "  - {}: {}", display_safe(&f.name), display_safe(&f.error));
        }
    }
    out.push('\n');
    let _ = writeln!(
        out,
        "total ({}): {}",
        match impact.repositories.len() {
            1 => "1 repository".to_owned(),
            n => format!("{n} repositories"),
        },
        impact.total.sentence()
    );
    out
}

/// A Markdown list of `items`, at most [`MARKDOWN_ITEMS`] then "… N more",
/// collapsed in `<details>` when longer than [`MARKDOWN_OPEN_ITEMS`].
fn md_list(out: &mut String, title: &str, items: &[String]) {
    if items.is_empty() {
        return;
    }
    let head = format!("{title} ({})", items.len());
    let collapsed = items.len() > MARKDOWN_OPEN_ITEMS;
    if collapsed {
        let _ = writeln!(out, "<details><summary>{head}</summary>\n");
    } else {
        let _ = writeln!(out, "**{head}**\n");
    }
    for i in items.iter().take(MARKDOWN_ITEMS) {
        let _ = writeln!(out, "- {i}");
    }
    if items.len() > MARKDOWN_ITEMS {
        let _ = writeln!(out, "- … {} more", items.len() - MARKDOWN_ITEMS);
    }
    out.push('\n');
    if collapsed {
        out.push_str("</details>\n\n");
    }
}

fn md_counts_row(name: &str, c: &Counts) -> String {
    format!(
        "| {name} | {} | {} | {} | {} | {} | {} | {} | {} |\n",
        c.base_findings,
        c.head_findings,
        c.added,
        c.removed,
        c.enforcement_changed,
        c.newly_blocking,
        c.exceptions_stale,
        c.exceptions_new
    )
}

/// The Markdown for a pull/merge request comment: a summary table, the
/// policy changes, then each repository's exact changed findings.
pub fn markdown(impact: &Impact) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "### bylaw policy impact: {} → {}\n",
        code_span(&impact.base.label()),
        code_span(&impact.head.label())
    );
    if let Some(e) = &impact.environment {
        let _ = writeln!(out, "Environment: {}\n", code_span(e));
    }
    out.push_str("| Repository | Findings at base | Findings at head | Added | Removed | Enforcement changed | Newly blocking | Stale exceptions | Newly applying exceptions |\n");
    out.push_str("|---|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for r in &impact.repositories {
        out.push_str(&md_counts_row(&code(&r.name), &r.counts));
    }
    if impact.repositories.len() > 1 {
        out.push_str(&md_counts_row("**Total**", &impact.total));
    }
    out.push('\n');
    if !impact.failed_repositories.is_empty() {
        let _ = writeln!(out, "**Repositories not evaluated ({})**\n", impact.failed_repositories.len());
        for f in &impact.failed_repositories {
            let _ = writeln!(out, "- ⚠️ {}: {}", code_span(&f.name), cell(&f.error));
        }
        out.push('\n');
    }
    if !impact.policies.is_empty() {
        out.push_str("**Policy changes**\n\n| Policy | Change | Version | What changed |\n|---|---|---|---|\n");
        for p in &impact.policies {
            let version = match (&p.base_version, &p.head_version) {
                (Some(b), Some(h)) => format!("{} → {}", cell(b), cell(h)),
                (Some(v), None) | (None, Some(v)) => cell(v),
                (None, None) => String::new(),
            };
            let mut what: Vec<String> = p.changes.iter().map(|c| cell(c)).collect();
            what.extend(p.rules.iter().map(|r| {
                let detail = if r.changes.is_empty() { r.status.clone() } else { r.changes.join("; ") };
                format!("{}: {}", code(&r.id), cell(&detail))
            }));
            let _ = writeln!(out, "| {} | {} | {version} | {} |", code(&p.name), p.status, what.join("<br>"));
        }
        out.push('\n');
    }
    for r in &impact.repositories {
        if impact.repositories.len() > 1 {
            let _ = writeln!(out, "#### {}\n", code_span(&r.name));
        }
        let c = &r.counts;
        if c.added + c.removed + c.enforcement_changed + c.exceptions_stale + c.exceptions_new == 0 {
            out.push_str("No finding or exception changed.\n\n");
        }
        let items = |l: &[ImpactFinding]| l.iter().map(ImpactFinding::markdown).collect::<Vec<_>>();
        md_list(&mut out, "Newly blocking", &items(&r.newly_blocking));
        md_list(&mut out, "Added findings", &items(&r.added));
        md_list(&mut out, "Removed findings", &items(&r.removed));
        let changed: Vec<String> = r
            .enforcement_changed
            .iter()
            .map(|c| format!("{} → {}: {}", c.base_enforcement, c.finding.enforcement, c.finding.markdown()))
            .collect();
        md_list(&mut out, "Enforcement changed", &changed);
        let exc = |l: &[ExceptionChange]| {
            l.iter()
                .map(|e| {
                    format!(
                        "{} ({}): covers {} at the base, {} at the head",
                        code_span(&e.id),
                        code_span(&e.source),
                        plural(e.base_matched, "finding"),
                        e.head_matched
                    )
                })
                .collect::<Vec<_>>()
        };
        md_list(&mut out, "Exceptions that would become stale", &exc(&r.exceptions_stale));
        md_list(&mut out, "Exceptions that newly apply", &exc(&r.exceptions_new));
        let rules: Vec<String> = r
            .rules
            .iter()
            .map(|c| {
                format!(
                    "{} ({}): {} → {}, +{} −{}, {} newly blocking",
                    code_span(&c.rule),
                    cell(&c.policy),
                    c.base,
                    c.head,
                    c.added,
                    c.removed,
                    c.newly_blocking
                )
            })
            .collect();
        md_list(&mut out, "Findings per rule", &rules);
    }
    if out.len() > crate::markdown::MAX_BYTES {
        let mut cut = crate::markdown::MAX_BYTES;
        while !out.is_char_boundary(cut) {
            cut -= 1;
        }
        out.truncate(cut);
        out.push_str("\n\n… cut to stay within the comment size limit; `bylaw impact --format json` has everything.\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finding(rule: &str, path: &str, line: u32, enforcement: Enforcement) -> ImpactFinding {
        ImpactFinding {
            rule: rule.into(),
            path: path.into(),
            line,
            column: 3,
            policy: "p".into(),
            resource: Some("Deployment prod/web".into()),
            message: "msg <b>".into(),
            enforcement,
            exception: None,
            fingerprint: "abc".into(),
        }
    }

    fn impact(n: usize) -> Impact {
        let added: Vec<ImpactFinding> =
            (0..n).map(|i| finding("R-1", "a.yaml", i as u32 + 1, Enforcement::Blocking)).collect();
        let counts = Counts { added: n, newly_blocking: n, ..Counts::default() };
        Impact {
            version: IMPACT_VERSION,
            base: Revision { rev: "main".into(), commit: Some("0123456789abcdef".into()) },
            head: Revision { rev: "working tree".into(), commit: None },
            environment: None,
            policies: Vec::new(),
            failed_repositories: Vec::new(),
            repositories: vec![RepositoryImpact {
                name: ".".into(),
                newly_blocking: added.clone(),
                added,
                removed: Vec::new(),
                enforcement_changed: Vec::new(),
                exceptions_stale: Vec::new(),
                exceptions_new: Vec::new(),
                rules: Vec::new(),
                counts: counts.clone(),
            }],
            total: counts,
        }
    }

    #[test]
    fn text_lines_name_each_finding_exactly() {
        let t = text(&impact(1));
        assert!(t.starts_with("bylaw impact: policies of main (0123456789ab) → working tree\n"), "{t}");
        assert!(
            t.contains("        - a.yaml:1:3: blocking [R-1] msg <b> (Deployment prod/web) fingerprint abc\n"),
            "{t}"
        );
        assert!(t.contains("    rule R-1 (policy p): 1\n      file a.yaml\n"), "{t}");
    }

    #[test]
    fn markdown_collapses_long_lists_and_caps_them() {
        let short = markdown(&impact(2));
        assert!(short.contains("**Added findings (2)**"), "{short}");
        assert!(
            short.contains("- `a.yaml:1:3` **R-1** msg &lt;b&gt; · blocking · Deployment prod/web · `abc`\n"),
            "{short}"
        );
        let long = markdown(&impact(MARKDOWN_ITEMS + 5));
        assert!(long.contains("<details><summary>Added findings (55)</summary>"), "{long}");
        assert!(long.contains("- … 5 more\n"), "{long}");
        assert!(long.contains("| `.` | 0 | 0 | 55 | 0 | 0 | 55 | 0 | 0 |"), "{long}");
    }

    #[test]
    fn markdown_shows_hostile_values_inert_and_the_repositories_not_evaluated() {
        let hostile = "@org/team **x** <img src=x> [a](http://e) | #1";
        let mut i = impact(1);
        let f = &mut i.repositories[0].added[0];
        f.message = hostile.into();
        f.resource = Some(format!("Deployment prod/{hostile}"));
        f.path = format!("deploy/{hostile}`.yaml");
        i.repositories[0].name = format!("svc {hostile}");
        i.failed_repositories = vec![RepositoryFailure {
            name: "../gone".into(),
            error: format!(".bylaw.yaml:4:9: `{hostile}` does not exist"),
        }];
        let md = markdown(&i);
        // the path with a backtick stays one code span (inert: code is never linked or mentioned)
        let span = format!("``deploy/{hostile}`.yaml:1:3``");
        assert!(md.contains(&format!("- {span} **R-1** ")), "{md}");
        let name = &i.repositories[0].name;
        let outside_code = md.replace(&span, "").replace(&code(name), "").replace(&code_span(name), "");
        for live in ["@org/team", "**x**", "<img", "[a](", "http://e", "#1"] {
            assert!(!outside_code.contains(live), "`{live}` live in {md}");
        }
        assert!(
            md.contains("**Repositories not evaluated (1)**\n\n- ⚠️ `../gone`: .bylaw.yaml:4:9: \\`@\u{200B}org/team"),
            "{md}"
        );
        let t = text(&i);
        assert!(t.contains("repositories not evaluated: 1\n  - ../gone: .bylaw.yaml:4:9: "), "{t}");
    }
}
