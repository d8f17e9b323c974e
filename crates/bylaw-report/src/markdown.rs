//! Markdown summary: the body of a CI job summary or a PR/MR comment. The
//! verdict, a table of counts, the findings (blocking first, capped so a
//! comment stays within platform limits) and the rules involved.
//!
//! Input-derived text goes through the escapers of [`crate::escape`] for
//! its context: plain text ([`cell`]: no emphasis, link, image, HTML,
//! mention or cross-reference from a value, and one line whatever it
//! holds), ids and paths as code spans fenced with more backticks than they
//! hold ([`code`] in a table, [`code_span`] elsewhere), and a rule's
//! remediation keeping only its own code spans.

use crate::emitter::{write_text, Emitter};
use crate::escape::{md_code, md_code_cell, md_text, md_text_keeping_code, percent_encode_path};
use crate::{Error, Format, RenderOptions};
use bylaw_engine::diagnostic::Diagnostic;
use bylaw_engine::report::FailOn;
use bylaw_engine::report::{Enforcement, Finding, Report, Verdict};
use std::fmt::Write;

/// Findings listed when [`RenderOptions::max_findings`] is `None`; the rest are counted.
pub const MAX_FINDINGS: usize = 50;

/// Upper bound of the whole Markdown, in bytes. GitHub rejects comment
/// bodies over 65,536 characters ("Body is too long", REST API `POST
/// /repos/{owner}/{repo}/issues/{number}/comments`) and job summaries over
/// 1 MiB; this leaves room for the sections the CI adapters append. Bytes
/// count at least as many as characters, so the bound is conservative.
pub const MAX_BYTES: usize = 60_000;

/// Of [`MAX_BYTES`], at most this much goes to the rules section.
const MAX_RULES_BYTES: usize = 20_000;

/// Input-derived text as Markdown inline text (a table cell, a list item,
/// a paragraph): [`crate::escape::md_text`], the one escaper of every
/// Markdown output (its module docs say what is escaped and why).
pub fn cell(s: &str) -> String {
    md_text(s)
}

/// Input-derived text as a code span in a GFM table cell:
/// [`crate::escape::md_code_cell`] (`|` escaped, longer fence around backticks).
pub fn code(s: &str) -> String {
    md_code_cell(s)
}

/// Input-derived text as a code span outside a table (a list item, a
/// heading, a paragraph): [`crate::escape::md_code`].
pub fn code_span(s: &str) -> String {
    md_code(s)
}

/// The location cell: `path:line` as code, linked when `opts.link_base` is set.
fn location(f: &Finding, opts: &RenderOptions) -> String {
    let l = &f.location;
    let text = code(&format!("{}:{}", l.path, l.start_line));
    match &opts.link_base {
        // a file outside the project root or standard input has no link
        Some(base) if !l.path.starts_with('/') && !l.path.starts_with('<') => {
            format!("[{text}]({base}{}#L{})", percent_encode_path(&l.path), l.start_line)
        }
        _ => text,
    }
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

/// The Markdown emitter (`--format markdown`, alias `md`).
pub(crate) struct Markdown;

impl Emitter for Markdown {
    fn format(&self) -> Format {
        Format::Markdown
    }

    fn name(&self) -> &'static str {
        "markdown"
    }

    fn aliases(&self) -> &'static [&'static str] {
        &["md"]
    }

    fn render(&self, report: &Report, opts: &RenderOptions, out: &mut dyn std::io::Write) -> std::io::Result<()> {
        write_text(out, &render(report, opts))
    }

    /// A heading and the list of problems.
    fn render_failure(&self, diags: &[Diagnostic], _: FailOn, _: &RenderOptions) -> Result<String, Error> {
        Ok(diags.iter().fold(String::from("### ⛔ bylaw could not run\n\n"), |mut md, d| {
            let at = if d.file.is_empty() { String::new() } else { format!("{} ", code_span(&d.location())) };
            md.push_str(&format!("- {at}{}\n", cell(&d.message)));
            md
        }))
    }
}

pub(crate) fn render(report: &Report, opts: &RenderOptions) -> String {
    let s = &report.summary;
    let mut out = String::new();
    let verdict = match report.verdict {
        Verdict::Pass => "✅ bylaw: passed",
        Verdict::Fail => "❌ bylaw: failed",
        Verdict::Error => "⛔ bylaw could not run",
    };
    let env = report.environment.as_deref().map(|e| format!(" (environment {})", code_span(e))).unwrap_or_default();
    let _ = writeln!(out, "### {verdict}{env}\n");
    let _ = writeln!(
        out,
        "Checked {} file{} ({} document{}) against {} polic{} ({} rule{}).\n",
        s.files,
        if s.files == 1 { "" } else { "s" },
        s.documents,
        if s.documents == 1 { "" } else { "s" },
        s.policies,
        if s.policies == 1 { "y" } else { "ies" },
        s.rules,
        if s.rules == 1 { "" } else { "s" }
    );
    let _ = writeln!(out, "| Blocking | Advisory | Audit | Excepted | Errors |");
    let _ = writeln!(out, "|---:|---:|---:|---:|---:|");
    let _ = writeln!(out, "| {} | {} | {} | {} | {} |\n", s.blocking, s.advisory, s.audit, s.excepted, s.errors);
    if report.findings.is_empty() {
        let _ = writeln!(out, "No findings.");
        return out;
    }
    let tail = exceptions_and_rules(report);
    let mut findings: Vec<&Finding> = report.findings.iter().collect();
    findings.sort_by_key(|f| rank(f)); // stable: keeps path/line order within a level
    let cap = opts.max_findings.unwrap_or(MAX_FINDINGS);
    // Room for the rows: the whole stays under MAX_BYTES with the tail and the "more" line.
    let budget = MAX_BYTES.saturating_sub(out.len() + tail.len() + 200);
    let mut rows = String::from("| Level | Rule | Location | Message |\n|---|---|---|---|\n");
    let mut listed = 0;
    for f in findings.iter().take(cap) {
        let row = format!("| {} | {} | {} | {} |\n", icon(f), code(&f.rule_id), location(f, opts), cell(&f.message));
        if rows.len() + row.len() > budget {
            break;
        }
        rows.push_str(&row);
        listed += 1;
    }
    if listed > 0 {
        out.push_str(&rows);
    }
    if findings.len() > listed {
        let _ = writeln!(out, "\n… and {} more findings (see the JSON report).", findings.len() - listed);
    }
    out.push_str(&tail);
    out
}

/// The exceptions needing attention and the rules with their remediation,
/// the rules cut at [`MAX_RULES_BYTES`].
fn exceptions_and_rules(report: &Report) -> String {
    let mut out = String::new();
    let attention: Vec<_> =
        report.exceptions.iter().filter(|e| e.status != bylaw_engine::report::ExceptionState::Active).collect();
    if !attention.is_empty() {
        let _ = writeln!(out, "\n**Exceptions needing attention**\n");
        let _ = writeln!(out, "| Exception | Status | Where | Detail |");
        let _ = writeln!(out, "|---|---|---|---|");
        for e in attention {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} |",
                code(&e.id),
                e.status,
                code(&e.source),
                cell(e.detail.as_deref().unwrap_or(""))
            );
        }
    }
    let infos: std::collections::HashMap<&str, &bylaw_engine::report::RuleInfo> =
        report.rules.iter().map(|r| (r.id.as_str(), r)).collect();
    let mut ids: Vec<&str> = report.findings.iter().map(|f| f.rule_id.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    let _ = writeln!(out, "\n<details><summary>Rules and remediation</summary>\n");
    let start = out.len();
    let mut left = 0;
    for id in ids {
        let Some(r) = infos.get(id) else { continue };
        if out.len() - start > MAX_RULES_BYTES {
            left += 1;
            continue;
        }
        let _ = write!(out, "- **{}** {} ({}, {})", code_span(&r.id), cell(&r.title), r.severity, r.enforcement);
        if let Some(rem) = &r.remediation {
            let _ = write!(out, ": {}", md_text_keeping_code(rem));
        }
        if !r.controls.is_empty() {
            let controls: Vec<String> = r.controls.iter().map(|c| cell(c)).collect();
            let _ = write!(out, " Controls: {}.", controls.join(", "));
        }
        out.push('\n');
    }
    if left > 0 {
        let _ = writeln!(out, "- … and {left} more rules (see the SARIF report).");
    }
    let _ = writeln!(out, "\n</details>");
    out
}
