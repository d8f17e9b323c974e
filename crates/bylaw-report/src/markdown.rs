//! Markdown summary: the body of a CI job summary or a PR/MR comment. The
//! verdict, a table of counts, the findings (blocking first, capped so a
//! comment stays within platform limits) and the rules involved.

use bylaw_engine::report::{Enforcement, Finding, Report, Verdict};
use std::fmt::Write;

/// At most this many findings are listed; the rest are counted.
pub const MAX_FINDINGS: usize = 50;

/// Escapes text for a Markdown table cell.
fn cell(s: &str) -> String {
    s.replace('\\', "\\\\").replace('|', "\\|").replace(['\n', '\r'], " ").replace('<', "&lt;").replace('>', "&gt;")
}

fn icon(f: &Finding) -> &'static str {
    if f.exception.is_some() {
        return "⚪ excepted";
    }
    match f.enforcement {
        Enforcement::Mandatory => "🔴 mandatory",
        Enforcement::Blocking => "🔴 blocking",
        Enforcement::Advisory => "🟡 advisory",
        Enforcement::Audit => "🔵 audit",
    }
}

fn rank(f: &Finding) -> u8 {
    match (f.exception.is_some(), f.enforcement) {
        (false, Enforcement::Mandatory) => 0,
        (false, Enforcement::Blocking) => 1,
        (false, Enforcement::Advisory) => 2,
        (false, Enforcement::Audit) => 3,
        (true, _) => 4,
    }
}

pub(crate) fn render(report: &Report) -> String {
    let s = &report.summary;
    let mut out = String::new();
    let verdict = match report.verdict {
        Verdict::Pass => "✅ bylaw: passed",
        Verdict::Fail => "❌ bylaw: failed",
    };
    let env = report.environment.as_deref().map(|e| format!(" (environment `{e}`)")).unwrap_or_default();
    let _ = writeln!(out, "### {verdict}{env}\n");
    let _ = writeln!(
        out,
        "Checked {} files ({} documents) against {} policies ({} rules).\n",
        s.files, s.documents, s.policies, s.rules
    );
    let _ = writeln!(out, "| Blocking | Advisory | Audit | Excepted | Errors |");
    let _ = writeln!(out, "|---:|---:|---:|---:|---:|");
    let _ = writeln!(out, "| {} | {} | {} | {} | {} |\n", s.blocking, s.advisory, s.audit, s.excepted, s.errors);
    if report.findings.is_empty() {
        let _ = writeln!(out, "No findings.");
        return out;
    }
    let mut findings: Vec<&Finding> = report.findings.iter().collect();
    findings.sort_by_key(|f| rank(f)); // stable: keeps path/line order within a level
    let _ = writeln!(out, "| Level | Rule | Location | Message |");
    let _ = writeln!(out, "|---|---|---|---|");
    for f in findings.iter().take(MAX_FINDINGS) {
        let l = &f.location;
        let _ = writeln!(
            out,
            "| {} | `{}` | `{}:{}` | {} |",
            icon(f),
            cell(&f.rule_id),
            cell(&l.path),
            l.start_line,
            cell(&f.message)
        );
    }
    if findings.len() > MAX_FINDINGS {
        let _ =
            writeln!(out, "\n… and {} more findings (see the SARIF or JSON report).", findings.len() - MAX_FINDINGS);
    }
    let attention: Vec<_> =
        report.exceptions.iter().filter(|e| e.status != bylaw_engine::report::ExceptionState::Active).collect();
    if !attention.is_empty() {
        let _ = writeln!(out, "\n**Exceptions needing attention**\n");
        let _ = writeln!(out, "| Exception | Status | Where | Detail |");
        let _ = writeln!(out, "|---|---|---|---|");
        for e in attention {
            let _ = writeln!(
                out,
                "| `{}` | {} | `{}` | {} |",
                cell(&e.id),
                e.status,
                cell(&e.source),
                cell(e.detail.as_deref().unwrap_or(""))
            );
        }
    }
    let mut ids: Vec<&str> = report.findings.iter().map(|f| f.rule_id.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    let _ = writeln!(out, "\n<details><summary>Rules and remediation</summary>\n");
    for id in ids {
        if let Some(r) = report.rule(id) {
            let _ = write!(out, "- **`{}`** {} ({}, {})", r.id, cell(&r.title), r.severity, r.enforcement);
            if let Some(rem) = &r.remediation {
                let _ = write!(out, ": {}", cell(rem));
            }
            if !r.controls.is_empty() {
                let _ = write!(out, " Controls: {}.", r.controls.join(", "));
            }
            out.push('\n');
        }
    }
    let _ = writeln!(out, "\n</details>");
    out
}
