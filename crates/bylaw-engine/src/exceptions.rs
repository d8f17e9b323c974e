//! Exceptions (DESIGN §5): `kind: ExceptionList` files and inline
//! `# bylaw:ignore RULE[,RULE] -- reason` comments, applied to a run's
//! findings. An excepted finding stays in every output, marked with the
//! exception; `mandatory` rules ignore exceptions and say so; expired
//! exceptions stop applying; exceptions matching nothing are stale; policies
//! can require a reason, approvers and a maximum duration, and forbid inline
//! suppressions or require their reason.

use crate::compile::FileMatcher;
use crate::diagnostic::{Code, Diagnostic};
use crate::input::yaml;
use crate::node::Span;
use crate::policy::{ExceptionRules, InlineMode};
use crate::report::{AppliedException, Enforcement, ExceptionState, ExceptionStatus, Report};
use crate::schema::Schema;
use chrono::NaiveDate;
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;
use std::sync::OnceLock;

/// Days before expiry from which an exception is reported as expiring.
pub const DEFAULT_WARN_DAYS: i64 = 14;

#[derive(Deserialize, Debug, Clone, Default, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ResourceSelector {
    pub kind: Option<String>,
    pub namespace: Option<String>,
    pub name: Option<String>,
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
struct RawEntry {
    id: String,
    rules: Vec<String>,
    #[serde(default)]
    targets: Vec<String>,
    #[serde(default)]
    resources: Vec<ResourceSelector>,
    #[serde(default)]
    reason: String,
    ticket: Option<String>,
    requested_by: Option<String>,
    #[serde(default)]
    approved_by: Vec<String>,
    expires: Option<String>,
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
struct RawList {
    #[serde(rename = "apiVersion")]
    _api_version: String,
    #[serde(rename = "kind")]
    _kind: String,
    #[serde(default)]
    exceptions: Vec<RawEntry>,
}

/// One exception of an exception list.
#[derive(Debug)]
pub struct Exception {
    pub id: String,
    pub rules: Vec<String>,
    pub targets: Option<FileMatcher>,
    pub resources: Vec<ResourceSelector>,
    pub reason: String,
    pub ticket: Option<String>,
    pub requested_by: Option<String>,
    pub approved_by: Vec<String>,
    pub expires: Option<NaiveDate>,
    /// Display path of the exception file.
    pub file: String,
    /// The entry, and its fields, in the file (for located errors).
    pub span: Span,
    pub expires_span: Option<Span>,
}

impl Exception {
    fn names(&self, rule: &str) -> bool {
        self.rules.iter().any(|r| r == rule || (r == "*" && !rule.starts_with("bylaw/")))
    }

    fn covers(&self, f: &crate::report::Finding) -> bool {
        if !self.names(&f.rule_id) || !self.targets.as_ref().is_none_or(|m| m.matches(&f.location.path)) {
            return false;
        }
        if self.resources.is_empty() {
            return true;
        }
        let Some(r) = &f.resource else { return false };
        self.resources.iter().any(|sel| {
            let eq =
                |want: &Option<String>, have: &Option<String>| want.as_ref().is_none_or(|w| have.as_ref() == Some(w));
            eq(&sel.kind, &r.kind) && eq(&sel.namespace, &r.namespace) && eq(&sel.name, &r.name)
        })
    }

    /// `file:line`, or just where it came from (e.g. a comment's URL) when
    /// it has no line.
    fn source(&self) -> String {
        if self.span.start_line == 0 {
            return self.file.clone();
        }
        format!("{}:{}", self.file, self.span.start_line)
    }
}

/// Why exception lists could not be loaded: the diagnostics, and the text
/// of each file read (for snippets).
pub type LoadErrors = (Vec<Diagnostic>, BTreeMap<String, String>);

/// Loads exception list files. Every problem (YAML, schema, dates, globs,
/// duplicate ids across files) is a located diagnostic; nothing is returned
/// when there is any. Relative paths are taken from `working_dir` (the
/// caller's current directory), and files are shown relative to it.
pub fn load(paths: &[impl AsRef<Path>], working_dir: &Path) -> Result<Vec<Exception>, LoadErrors> {
    let mut out = Vec::new();
    let mut errors = Vec::new();
    let mut sources = BTreeMap::new();
    for path in paths {
        let given = path.as_ref();
        let path = &crate::paths::absolute(working_dir, given);
        let file = crate::loader::display_as_given(path, given, working_dir);
        match crate::paths::read_text(path) {
            Ok(text) => {
                parse_into(&file, &text, &mut out, &mut errors);
                sources.insert(file, text);
            }
            Err(e) => {
                errors.push(Diagnostic::error(Code::Io, &file, None, format!("cannot read the exception list: {e}")))
            }
        }
    }
    let mut seen: HashMap<&str, &Exception> = HashMap::new();
    for e in &out {
        if let Some(first) = seen.insert(&e.id, e) {
            errors.push(
                Diagnostic::error(
                    Code::DuplicateId,
                    &e.file,
                    Some(e.span),
                    format!("exception id `{}` is used twice", e.id),
                )
                .with_label(&first.file, first.span, "first used here")
                .with_hint("give each exception its own id"),
            );
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err((errors, sources))
    }
}

/// Parses one exception list (`file` names it in diagnostics).
pub fn parse_into(file: &str, text: &str, out: &mut Vec<Exception>, errors: &mut Vec<Diagnostic>) {
    let parsed = yaml::parse(text);
    if let Some(e) = parsed.errors.into_iter().next() {
        errors.push(Diagnostic::invalid_yaml(file, &e));
        return;
    }
    let Some(root) = parsed.documents.into_iter().next() else {
        errors.push(Diagnostic::error(
            Code::Schema,
            file,
            None,
            "empty exception list: expected `kind: ExceptionList`",
        ));
        return;
    };
    let json = root.to_json();
    let problems = Schema::Exceptions.validate(&json, &root, file);
    if !problems.is_empty() {
        errors.extend(problems);
        return;
    }
    let list: RawList = match serde_json::from_value(json) {
        Ok(l) => l,
        Err(e) => {
            errors.push(Diagnostic::error(Code::Schema, file, Some(root.span), format!("invalid exception list: {e}")));
            return;
        }
    };
    for (i, raw) in list.exceptions.into_iter().enumerate() {
        let base = format!("/exceptions/{i}");
        let span = root.value_span_of_pointer(&base).0;
        let expires_span = raw.expires.as_ref().map(|_| root.value_span_of_pointer(&format!("{base}/expires")).0);
        let expires = match &raw.expires {
            Some(d) => match NaiveDate::parse_from_str(d, "%Y-%m-%d") {
                Ok(date) => Some(date),
                Err(e) => {
                    errors.push(
                        Diagnostic::error(
                            Code::Schema,
                            file,
                            expires_span,
                            format!("`expires` `{d}` is not a date: {e}"),
                        )
                        .with_hint("write the last day the exception applies as YYYY-MM-DD"),
                    );
                    continue;
                }
            },
            None => None,
        };
        let targets = match FileMatcher::new(&raw.targets) {
            Ok(m) => m,
            Err((t, m)) => {
                let s = root.value_span_of_pointer(&format!("{base}/targets/{t}")).0;
                errors.push(Diagnostic::error(
                    Code::Glob,
                    file,
                    Some(s),
                    format!("invalid glob `{}`: {m}", raw.targets[t]),
                ));
                continue;
            }
        };
        out.push(Exception {
            id: raw.id,
            rules: raw.rules,
            targets,
            resources: raw.resources,
            reason: raw.reason,
            ticket: raw.ticket,
            requested_by: raw.requested_by,
            approved_by: raw.approved_by,
            expires,
            file: file.to_owned(),
            span,
            expires_span,
        });
    }
}

/// What the owners of each policy require of exceptions to its rules.
pub type PolicyRules = HashMap<String, ExceptionRules>;

/// Settings of a run for exceptions.
#[derive(Debug, Clone)]
pub struct Settings {
    pub today: NaiveDate,
    /// Report exceptions expiring within this many days as `expiring`.
    pub warn_days: i64,
    /// Inline suppressions, unless a policy says otherwise.
    pub inline: InlineMode,
}

/// Checks an exception against the requirements of the policies whose rules
/// it names; returns the diagnostics that reject it.
fn requirements(e: &Exception, report: &Report, policies: &PolicyRules, today: NaiveDate) -> Vec<Diagnostic> {
    let mut named: Vec<&str> = report.rules.iter().filter(|r| e.names(&r.id)).map(|r| r.policy.as_str()).collect();
    named.sort_unstable();
    named.dedup();
    let mut out = Vec::new();
    for policy in named {
        let Some(req) = policies.get(policy) else { continue };
        let reject = |span: Option<Span>, msg: String, hint: &str| {
            Diagnostic::error(
                Code::Exception,
                &e.file,
                span.or(Some(e.span)),
                format!("exception `{}` is rejected: {msg}", e.id),
            )
            .with_hint(hint.to_owned())
        };
        for field in &req.require {
            let missing = match field.as_str() {
                "reason" => e.reason.trim().is_empty(),
                "approved_by" => e.approved_by.is_empty(),
                "expires" => e.expires.is_none(),
                "ticket" => e.ticket.as_deref().is_none_or(|t| t.trim().is_empty()),
                "requested_by" => e.requested_by.as_deref().is_none_or(|t| t.trim().is_empty()),
                _ => false,
            };
            if missing {
                out.push(reject(
                    None,
                    format!("policy `{policy}` requires `{field}` for exceptions to its rules"),
                    &format!("add `{field}:` to the exception"),
                ));
            }
        }
        if let Some(max) = req.max_days {
            match e.expires {
                None => out.push(reject(
                    None,
                    format!("policy `{policy}` allows exceptions of at most {max} days, and this one never expires"),
                    &format!("add `expires: YYYY-MM-DD`, at most {max} days from today"),
                )),
                Some(d) if (d - today).num_days() > max as i64 => out.push(reject(
                    e.expires_span,
                    format!(
                        "expires {d}, {} days from today; policy `{policy}` allows at most {max} days",
                        (d - today).num_days()
                    ),
                    &format!("expire it by {}", today + chrono::Days::new(max as u64)),
                )),
                _ => {}
            }
        }
        if !req.approvers.is_empty() && !e.approved_by.iter().any(|a| req.approvers.contains(a)) {
            out.push(reject(
                None,
                format!("policy `{policy}` needs approval by one of {}", req.approvers.join(", ")),
                "have one of the policy's approvers approve it and add them to `approved_by`",
            ));
        }
    }
    out
}

/// An inline suppression found in a file.
#[derive(Debug, Clone, PartialEq)]
pub struct Inline {
    pub line: u32,
    pub rules: Vec<String>,
    pub reason: Option<String>,
    /// For a suppression written just above a block its format suppresses
    /// whole ([`crate::input::InputFormat::block_suppressions`]: a Terraform
    /// block, a CloudFormation resource): the block's last line. Findings
    /// anywhere in the block are then covered, as Checkov's and KICS's
    /// block-level skips are.
    pub until: Option<u32>,
}

fn comment_re() -> &'static regex::Regex {
    static RE: OnceLock<regex::Regex> = OnceLock::new();
    RE.get_or_init(|| {
        regex::Regex::new(r"^\s*bylaw:ignore\s+([A-Za-z0-9_./*-]+(?:\s*,\s*[A-Za-z0-9_./*-]+)*)\s*(?:--\s*(.*?))?\s*$")
            .expect("valid regex")
    })
}

/// The `# bylaw:ignore RULE[,RULE] -- reason` suppressions among a file's
/// comments, as the parser found them: text inside a quoted string or a
/// block scalar (a shell script under `run: |`) is not a comment and
/// suppresses nothing.
pub fn inline_from_comments(comments: &[crate::input::Comment]) -> Vec<Inline> {
    comments
        .iter()
        .filter_map(|c| {
            let m = comment_re().captures(&c.text)?;
            let rules = m[1].split(',').map(|r| r.trim().to_owned()).filter(|r| !r.is_empty()).collect();
            let reason = m.get(2).map(|r| r.as_str().trim().to_owned()).filter(|r| !r.is_empty());
            Some(Inline { line: c.line, rules, reason, until: None })
        })
        .collect()
}

/// An inline suppression and what it did in this run.
struct InlineUse {
    s: Inline,
    matched: usize,
    honoured: usize,
    refused: Option<String>,
}

/// Applies exception lists and inline suppressions to `report`, fills
/// `report.exceptions` and recounts. Returns the diagnostics of rejected
/// exceptions (they do not apply; the run goes on).
pub fn apply(
    report: &mut Report,
    list: &[Exception],
    policies: &PolicyRules,
    settings: &Settings,
    inline_of: &dyn Fn(&str) -> Vec<Inline>,
) -> Vec<Diagnostic> {
    let today = settings.today;
    let mut diagnostics = Vec::new();
    let mut rejected = vec![false; list.len()];
    let mut why_rejected: Vec<Option<String>> = vec![None; list.len()];
    for (i, e) in list.iter().enumerate() {
        let d = requirements(e, report, policies, today);
        rejected[i] = !d.is_empty();
        why_rejected[i] = (!d.is_empty()).then(|| {
            d.iter()
                .map(|x| x.message.split_once("is rejected: ").map_or(x.message.as_str(), |(_, m)| m))
                .collect::<Vec<_>>()
                .join("; ")
        });
        diagnostics.extend(d);
    }
    let expired: Vec<bool> = list.iter().map(|e| e.expires.is_some_and(|d| d < today)).collect();
    let mut matched = vec![0usize; list.len()];
    let mut honoured = vec![0usize; list.len()];
    let pipeline_sources: Vec<String> = report
        .policies
        .iter()
        .filter(|p| p.targets.iter().any(|t| t == crate::builtin::PIPELINE_TARGET))
        .map(|p| p.source.clone())
        .collect();

    // Inline suppressions, per file with findings.
    // (files without any are not kept: with none in the run, findings cost
    // no lookup at all)
    let mut inline: BTreeMap<String, Vec<InlineUse>> = BTreeMap::new();
    let mut looked_at: HashSet<&str> = HashSet::new();
    let mut last: Option<&str> = None;
    for f in &report.findings {
        let path = f.location.path.as_str();
        // findings come sorted by path: most repeat the one before
        if last == Some(path) {
            continue;
        }
        last = Some(path);
        if !looked_at.insert(path) || pipeline_sources.iter().any(|p| p == path) {
            continue;
        }
        let found = inline_of(path);
        if !found.is_empty() {
            inline.insert(
                path.to_owned(),
                found.into_iter().map(|s| InlineUse { s, matched: 0, honoured: 0, refused: None }).collect(),
            );
        }
    }
    drop(looked_at);
    let policy_inline = |policy: &str| policies.get(policy).and_then(|r| r.inline).unwrap_or(settings.inline);

    for f in report.findings.iter_mut() {
        // 1. inline, on the finding's line or the line above
        if let Some(sups) = if inline.is_empty() { None } else { inline.get_mut(&f.location.path) } {
            let line = f.location.start_line;
            if let Some(u) = sups.iter_mut().find(|u| {
                let covers = u.s.line == line
                    || u.s.line + 1 == line
                    || u.s.until.is_some_and(|end| u.s.line < line && line <= end);
                covers && u.s.rules.iter().any(|r| r == &f.rule_id || r == "*")
            }) {
                u.matched += 1;
                let mode = policy_inline(&f.policy);
                let refused = if mode == InlineMode::Forbid {
                    Some(format!("policy {} forbids inline suppressions", f.policy))
                } else if mode == InlineMode::RequireReason && u.s.reason.is_none() {
                    let marker = crate::input::comment_marker(&f.location.path);
                    Some(format!(
                        "policy {} requires a reason (`{marker} bylaw:ignore {} -- why`)",
                        f.policy, f.rule_id
                    ))
                } else if f.enforcement == Enforcement::Mandatory {
                    Some(format!("rule {} is mandatory", f.rule_id))
                } else {
                    None
                };
                match refused {
                    Some(why) => {
                        f.notes.push(format!("inline suppression at line {} is not honoured: {why}", u.s.line));
                        u.refused = Some(why);
                    }
                    None => {
                        u.honoured += 1;
                        f.exception = Some(Box::new(AppliedException {
                            id: format!("inline:{}:{}", f.location.path, u.s.line),
                            reason: u.s.reason.clone().unwrap_or_else(|| "suppressed inline (no reason given)".into()),
                            kind: "inSource".into(),
                            approved_by: Vec::new(),
                            expires: None,
                        }));
                        continue;
                    }
                }
            }
        }
        // 2. exception lists, in file order; the first that applies wins
        for (i, e) in list.iter().enumerate() {
            if rejected[i] || !e.covers(f) {
                continue;
            }
            matched[i] += 1;
            if expired[i] {
                let date = e.expires.map(|d| d.to_string()).unwrap_or_default();
                f.notes.push(format!("exception {} expired on {date} and no longer applies", e.id));
                continue;
            }
            if f.enforcement == Enforcement::Mandatory {
                f.notes.push(format!("rule {} is mandatory: exception {} is not honoured", f.rule_id, e.id));
                continue;
            }
            honoured[i] += 1;
            f.exception = Some(Box::new(AppliedException {
                id: e.id.clone(),
                reason: e.reason.clone(),
                kind: "external".into(),
                approved_by: e.approved_by.clone(),
                expires: e.expires.map(|d| d.to_string()),
            }));
            break;
        }
    }

    let mut statuses: Vec<ExceptionStatus> = list
        .iter()
        .enumerate()
        .map(|(i, e)| {
            let days_left = e.expires.map(|d| (d - today).num_days());
            let (status, detail) = if rejected[i] {
                (ExceptionState::Rejected, why_rejected[i].clone())
            } else if expired[i] {
                (
                    ExceptionState::Expired,
                    Some(format!("expired on {}", e.expires.map(|d| d.to_string()).unwrap_or_default())),
                )
            } else if matched[i] == 0 {
                (ExceptionState::Stale, Some("matched no finding: remove it".to_owned()))
            } else if days_left.is_some_and(|d| d <= settings.warn_days) {
                let d = days_left.unwrap_or_default();
                (ExceptionState::Expiring, Some(format!("expires in {d} day{}", if d == 1 { "" } else { "s" })))
            } else if honoured[i] == 0 {
                (ExceptionState::Active, Some("matches only findings of mandatory rules: not honoured".to_owned()))
            } else {
                (ExceptionState::Active, None)
            };
            ExceptionStatus {
                id: e.id.clone(),
                status,
                source: e.source(),
                rules: e.rules.clone(),
                reason: e.reason.clone(),
                ticket: e.ticket.clone(),
                approved_by: e.approved_by.clone(),
                expires: e.expires.map(|d| d.to_string()),
                days_left,
                matched: matched[i],
                detail,
            }
        })
        .collect();
    for (path, sups) in inline {
        for u in sups {
            let (status, detail) = if u.matched == 0 {
                (ExceptionState::Stale, Some("suppresses no finding on its line or the next: remove it".to_owned()))
            } else if u.honoured == 0 {
                (ExceptionState::Rejected, u.refused.map(|w| format!("not honoured: {w}")))
            } else {
                (ExceptionState::Active, None)
            };
            statuses.push(ExceptionStatus {
                id: format!("inline:{path}:{}", u.s.line),
                status,
                source: format!("{path}:{}", u.s.line),
                rules: u.s.rules,
                reason: u.s.reason.unwrap_or_default(),
                ticket: None,
                approved_by: Vec::new(),
                expires: None,
                days_left: None,
                matched: u.matched,
                detail,
            });
        }
    }
    report.exceptions = statuses;
    report.recount();
    diagnostics
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inline_comments_are_found_with_rules_and_reasons() {
        let text = "a: 1 # bylaw:ignore K-1,K-2 -- legacy, see SEC-1\n# bylaw:ignore K-3\nb: '# bylaw:ignore K-9'\nc: x#bylaw:ignore K-4\nd: |\n  echo hi # bylaw:ignore K-5\n";
        let found = inline_from_comments(&crate::input::parse_path("a.yaml", text).comments);
        assert_eq!(
            found,
            vec![
                Inline {
                    line: 1,
                    rules: vec!["K-1".into(), "K-2".into()],
                    reason: Some("legacy, see SEC-1".into()),
                    until: None,
                },
                Inline { line: 2, rules: vec!["K-3".into()], reason: None, until: None },
            ]
        );
    }

    #[test]
    fn a_refused_inline_suppression_is_hinted_in_the_files_comment_syntax() {
        let finding = |path: &str| crate::report::Finding {
            rule_id: "K-1".into(),
            policy: "p".into(),
            severity: crate::report::Severity::High,
            enforcement: Enforcement::Blocking,
            message: "m".into(),
            location: crate::report::Location {
                path: path.into(),
                start_line: 2,
                start_column: 1,
                end_line: 2,
                end_column: 2,
            },
            document: None,
            pointer: String::new(),
            resource: None,
            fingerprint: path.into(),
            notes: Vec::new(),
            exception: None,
            baseline: None,
        };
        let mut report = Report {
            version: crate::report::REPORT_VERSION.into(),
            tool: Default::default(),
            environment: None,
            fail_on: Default::default(),
            verdict: crate::report::Verdict::Fail,
            summary: Default::default(),
            policies: Vec::new(),
            rules: Vec::new(),
            findings: vec![finding("deploy/a.yaml"), finding("tsconfig.json")],
            exceptions: Vec::new(),
            errors: Vec::new(),
        };
        let settings = Settings {
            today: NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(),
            warn_days: DEFAULT_WARN_DAYS,
            inline: InlineMode::RequireReason,
        };
        let no_reason = |_: &str| vec![Inline { line: 2, rules: vec!["K-1".into()], reason: None, until: None }];
        apply(&mut report, &[], &PolicyRules::new(), &settings, &no_reason);
        let note = |i: usize| report.findings[i].notes.join("\n");
        assert!(note(0).contains("(`# bylaw:ignore K-1 -- why`)"), "{}", note(0));
        assert!(note(1).contains("(`// bylaw:ignore K-1 -- why`)"), "{}", note(1));
    }

    #[test]
    fn exception_lists_are_schema_checked_with_locations() {
        let mut out = Vec::new();
        let mut errors = Vec::new();
        parse_into(
            "x.yaml",
            "apiVersion: bylaw/v1\nkind: ExceptionList\nexceptions:\n  - id: E-1\n    rules: [A]\n    targets: ['[']\n",
            &mut out,
            &mut errors,
        );
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert_eq!(errors[0].location(), "x.yaml:6:15");
        assert!(errors[0].message.contains("invalid glob"));
        errors.clear();
        parse_into("y.yaml", "kind: ExceptionList\n", &mut out, &mut errors);
        assert!(errors.iter().any(|e| e.message.contains("apiVersion")), "{errors:?}");
    }
}
