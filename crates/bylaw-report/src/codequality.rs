//! GitLab Code Quality report: the JSON array GitLab's merge request widget
//! and pipeline tab read from `artifacts:reports:codequality`. Each entry has
//! `description`, `check_name`, `fingerprint`, `severity` and
//! `location.path` + `location.lines.begin`; GitLab compares fingerprints
//! between the base and head pipelines to show new and resolved issues.
//!
//! Excepted findings are left out: GitLab has no notion of a suppressed
//! issue and would show them as open.

use crate::emitter::Emitter;
use crate::{Error, Format, RenderOptions};
use bylaw_engine::diagnostic::Diagnostic;
use bylaw_engine::report::FailOn;
use bylaw_engine::report::{Enforcement, Finding, Report, Severity};
use serde::Serialize;
use serde_json::{json, Value};

/// GitLab's severity (`info`, `minor`, `major`, `critical`, `blocker`) of a
/// finding: what it does to the pipeline first, then how serious it is.
pub fn severity(f: &Finding) -> &'static str {
    match f.enforcement {
        Enforcement::Mandatory => "blocker",
        Enforcement::Blocking => "critical",
        Enforcement::Advisory if f.severity >= Severity::High => "major",
        Enforcement::Advisory => "minor",
        Enforcement::Audit => "info",
    }
}

/// One Code Quality entry.
#[derive(Serialize)]
struct Issue<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    description: String,
    check_name: &'a str,
    fingerprint: &'a str,
    severity: &'static str,
    categories: [&'static str; 1],
    location: IssueLocation<'a>,
}

#[derive(Serialize)]
struct IssueLocation<'a> {
    path: &'a str,
    lines: Lines,
}

#[derive(Serialize)]
struct Lines {
    begin: u32,
    end: u32,
}

fn issue<'a>(report: &'a Report, f: &'a Finding) -> Issue<'a> {
    let mut description = format!("[{}] {}", f.rule_id, f.message.replace('\n', " "));
    if let Some(r) = report.rule(&f.rule_id).and_then(|r| r.remediation.as_deref()) {
        description.push_str(&format!(" Remediation: {}", r.replace('\n', " ")));
    }
    Issue {
        kind: "issue",
        description,
        check_name: &f.rule_id,
        fingerprint: &f.fingerprint,
        severity: severity(f),
        categories: [category(report, f)],
        location: IssueLocation {
            path: &f.location.path,
            lines: Lines { begin: f.location.start_line, end: f.location.end_line },
        },
    }
}

/// The GitLab Code Quality emitter (`--format codequality`, alias `code-quality`).
pub(crate) struct Codequality;

impl Emitter for Codequality {
    fn format(&self) -> Format {
        Format::Codequality
    }

    fn name(&self) -> &'static str {
        "codequality"
    }

    fn aliases(&self) -> &'static [&'static str] {
        &["code-quality"]
    }

    fn render(&self, report: &Report, _: &RenderOptions, out: &mut dyn std::io::Write) -> std::io::Result<()> {
        write_codequality(out, report)
    }

    fn render_failure(&self, diags: &[Diagnostic], _: FailOn, _: &RenderOptions) -> Result<String, Error> {
        crate::json(&failure_codequality(diags))
    }
}

/// The Code Quality entries of `report`, in the report's order.
pub fn to_codequality(report: &Report) -> Value {
    let issues = report.findings.iter().filter(|f| f.exception.is_none()).map(|f| issue(report, f));
    serde_json::to_value(issues.collect::<Vec<_>>()).unwrap_or_default()
}

/// Writes [`to_codequality`]'s array into `out`, entries serialized in
/// parallel blocks (`splice`).
fn write_codequality(out: &mut dyn std::io::Write, report: &Report) -> std::io::Result<()> {
    let open: Vec<&Finding> = report.findings.iter().filter(|f| f.exception.is_none()).collect();
    let empty: [(); 0] = [];
    crate::splice::write_spliced(out, &empty, crate::splice::At::Root, open.len(), |i| issue(report, open[i]))
}

/// The Code Climate category GitLab shows: `Bug Risk` for bylaw's own
/// findings (unparseable files), `Security` for security policies, `Style`
/// for compliance and operational conventions.
fn category(report: &Report, f: &Finding) -> &'static str {
    if f.rule_id.starts_with("bylaw/") {
        return "Bug Risk";
    }
    match report.policies.iter().find(|p| p.name == f.policy).map(|p| p.kind.as_str()) {
        Some("security") => "Security",
        _ => "Style",
    }
}

/// Code Quality for a run that stopped before evaluating (exit 2): one
/// `blocker` issue per located problem (a policy, config or exception-list
/// error where it is written), so the merge request shows why the gate
/// failed instead of a clean report. When no problem has a file (a usage
/// error), they are placed on the repository root (`.`, line 1: Code
/// Quality needs `location.path`), never an empty report.
pub fn failure_codequality(diags: &[bylaw_engine::diagnostic::Diagnostic]) -> Value {
    use bylaw_engine::diagnostic::Level;
    // an error of no file (a usage error) still shows, on the repository
    // root, or the failed run would read as a clean one (`[]`)
    let any_located = diags.iter().any(|d| !d.file.is_empty());
    let issues: Vec<Value> = diags
        .iter()
        .filter(|d| !d.file.is_empty() || (!any_located && d.code != crate::SUMMARY_CODE))
        .map(|d| {
            let line = d.span.map_or(1, |s| s.start_line.max(1));
            let check = format!("bylaw/{}", d.code);
            let fingerprint = crate::audit_log::sha256_hex(format!("{check}\0{}\0{}", d.file, d.message).as_bytes());
            json!({
                "type": "issue",
                "description": format!("[{check}] {}", d.message.replace('\n', " ")),
                "check_name": check,
                "fingerprint": fingerprint,
                "severity": if d.level == Level::Error { "blocker" } else { "minor" },
                "categories": ["Bug Risk"],
                "location": { "path": if d.file.is_empty() { "." } else { d.file.as_str() }, "lines": { "begin": line, "end": d.span.map_or(line, |s| s.end_line.max(line)) } },
            })
        })
        .collect();
    Value::Array(issues)
}
