//! Human text: findings grouped by file, one `path:line:col: level [RULE]
//! message` line each (terminals and editors link it), the remediation and
//! notes under it, and a summary with counts and the verdict.

use crate::{position, RenderOptions};
use bylaw_engine::report::{Enforcement, ExceptionState, Finding, Report, Verdict};
use std::fmt::Write;

struct Style {
    color: bool,
}

impl Style {
    fn paint(&self, code: &str, s: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    }
}

/// The word shown for a finding's level (`excepted` when an exception covers it).
pub(crate) fn level_word(f: &Finding) -> &'static str {
    if f.exception.is_some() {
        return "excepted";
    }
    match f.enforcement {
        Enforcement::Mandatory | Enforcement::Blocking => "error",
        Enforcement::Advisory => "warning",
        Enforcement::Audit => "note",
    }
}

fn level_color(word: &str) -> &'static str {
    match word {
        "error" => "1;31",
        "warning" => "1;33",
        "note" => "1;36",
        _ => "1;32",
    }
}

pub(crate) fn render(report: &Report, opts: &RenderOptions) -> String {
    let st = Style { color: opts.color };
    let mut out = String::new();
    let mut current: Option<&str> = None;
    for f in &report.findings {
        if current != Some(f.location.path.as_str()) {
            if current.is_some() {
                out.push('\n');
            }
            current = Some(&f.location.path);
            let n = report.findings.iter().filter(|g| g.location.path == f.location.path).count();
            let header = format!("{} ({n} finding{})", f.location.path, plural(n));
            let _ = writeln!(out, "{}", st.paint("1;4", &header));
        }
        let word = level_word(f);
        let _ = writeln!(
            out,
            "{}: {} {} {}",
            position(f),
            st.paint(level_color(word), word),
            st.paint("1", &format!("[{}]", f.rule_id)),
            f.message
        );
        let mut facts = format!("policy {}, severity {}, {}", f.policy, f.severity, f.enforcement);
        if let Some(r) = &f.resource {
            if let (Some(kind), Some(name)) = (&r.kind, &r.name) {
                let ns = r.namespace.as_deref().map(|n| format!("{n}/")).unwrap_or_default();
                let _ = write!(facts, ", {kind} {ns}{name}");
            }
        }
        let _ = writeln!(out, "    {} {facts}", st.paint("2", "="));
        if let Some(e) = &f.exception {
            let mut line = format!("excepted by {}: {}", e.id, e.reason);
            if let Some(exp) = &e.expires {
                let _ = write!(line, " (expires {exp})");
            }
            let _ = writeln!(out, "    {} {line}", st.paint("1;32", "exception:"));
        }
        if let Some(rem) = report.rule(&f.rule_id).and_then(|r| r.remediation.as_deref()) {
            let _ = writeln!(out, "    {} {}", st.paint("1;36", "help:"), one_line(rem));
        }
        for n in &f.notes {
            let _ = writeln!(out, "    {} {n}", st.paint("1", "note:"));
        }
    }
    if !report.findings.is_empty() {
        out.push('\n');
    }
    let attention: Vec<_> = report.exceptions.iter().filter(|e| e.status != ExceptionState::Active).collect();
    if !attention.is_empty() {
        let _ = writeln!(out, "{}", st.paint("1;4", "exceptions"));
        for e in attention {
            let color = if e.status.needs_action() { "1;31" } else { "1;33" };
            let _ = writeln!(
                out,
                "{}: {} {} {}{}",
                e.source,
                st.paint(color, e.status.as_str()),
                st.paint("1", &format!("[{}]", e.id)),
                e.detail.as_deref().unwrap_or(""),
                e.expires
                    .as_deref()
                    .filter(|_| e.status == ExceptionState::Expiring)
                    .map(|d| format!(" (on {d})"))
                    .unwrap_or_default(),
            );
        }
        out.push('\n');
    }
    let s = &report.summary;
    let env = report.environment.as_deref().map(|e| format!(" [env: {e}]")).unwrap_or_default();
    let _ = writeln!(
        out,
        "checked {} file{} ({} document{}) against {} polic{} ({} rule{}){env}",
        s.files,
        plural(s.files),
        s.documents,
        plural(s.documents),
        s.policies,
        if s.policies == 1 { "y" } else { "ies" },
        s.rules,
        plural(s.rules),
    );
    let verdict = match report.verdict {
        Verdict::Pass => st.paint("1;32", "PASS"),
        Verdict::Fail => st.paint("1;31", "FAIL"),
    };
    let _ = writeln!(
        out,
        "{verdict}: {} blocking, {} advisory, {} audit, {} excepted ({} finding{} in all{})",
        s.blocking,
        s.advisory,
        s.audit,
        s.excepted,
        s.findings,
        plural(s.findings),
        if s.errors > 0 { format!(", {} error{}", s.errors, plural(s.errors)) } else { String::new() },
    );
    out
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// Folds a multi-line remediation into one line for the terminal.
fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}
