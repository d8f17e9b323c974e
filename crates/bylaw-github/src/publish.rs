//! What a run shows in a GitHub Actions log: workflow-command annotations
//! (escaped per the runner's rules), links to file lines, and the step
//! outputs. The API's side is in [`crate::checks`] and [`crate::comments`].

use crate::context::GitHub;
use bylaw_ci::diff::{on_changed_line, ChangedLines};
use bylaw_ci::summary;
use bylaw_engine::report::{Enforcement, Finding, Report};
use std::collections::BTreeMap;

/// GitHub shows at most this many workflow-command annotations per level and step.
pub const STEP_ANNOTATION_LIMIT: usize = 10;

/// Escapes a workflow command's message: `%`, CR and LF as the runner
/// decodes them (`%25`, `%0D`, `%0A`; actions/toolkit `command.ts`), and
/// every other control character (ESC, BEL, C1, line separators, bidi
/// controls) shown escaped, so no input can end the command or reach the
/// log as a terminal sequence.
pub fn escape_data(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '%' => out.push_str("%25"),
            '\r' => out.push_str("%0D"),
            '\n' => out.push_str("%0A"),
            c => out.push_str(&bylaw_report::display_safe(c.encode_utf8(&mut [0; 4]))),
        }
    }
    out
}

/// Escapes a workflow command's property value.
pub fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

fn level(f: &Finding) -> Option<&'static str> {
    if f.exception.is_some() {
        return None;
    }
    Some(match f.enforcement {
        Enforcement::Mandatory | Enforcement::Blocking => "error",
        Enforcement::Advisory => "warning",
        Enforcement::Audit => "notice",
    })
}

/// Workflow commands for the findings: errors first, at most
/// [`STEP_ANNOTATION_LIMIT`] per level, then one notice counting the rest.
pub fn workflow_commands(report: &Report, changed: Option<&ChangedLines>) -> String {
    let mut out = String::new();
    let mut shown: BTreeMap<&str, usize> = BTreeMap::new();
    let mut skipped = 0;
    let mut off_diff = 0;
    for lvl in ["error", "warning", "notice"] {
        for f in report.findings.iter().filter(|f| level(f) == Some(lvl)) {
            if !on_changed_line(f, changed) {
                off_diff += 1;
                continue;
            }
            let n = shown.entry(lvl).or_default();
            if *n >= STEP_ANNOTATION_LIMIT {
                skipped += 1;
                continue;
            }
            *n += 1;
            let l = &f.location;
            let mut props = format!("file={},line={},endLine={}", escape_property(&l.path), l.start_line, l.end_line);
            if l.start_line == l.end_line {
                props.push_str(&format!(",col={},endColumn={}", l.start_column, l.end_column));
            }
            props.push_str(&format!(",title={}", escape_property(&format!("{} ({})", f.rule_id, f.enforcement))));
            out.push_str(&format!("::{lvl} {props}::{}\n", escape_data(&f.message)));
        }
    }
    if skipped + off_diff > 0 {
        let mut parts = Vec::new();
        if skipped > 0 {
            parts.push(format!("{skipped} more beyond GitHub's per-step annotation limits"));
        }
        if off_diff > 0 {
            parts.push(format!("{off_diff} on lines this pull request did not change"));
        }
        out.push_str(&format!(
            "::notice title=bylaw::{}\n",
            escape_data(&format!(
                "{} findings not annotated ({}): see the job summary and the SARIF report",
                skipped + off_diff,
                parts.join(", ")
            ))
        ));
    }
    out
}

/// A GitHub blob link to a finding's line.
pub fn line_link(gh: &GitHub, f: &Finding) -> String {
    format!(
        "{}/{}/blob/{}/{}#L{}",
        gh.server_url,
        gh.repository,
        gh.sha,
        bylaw_report::percent_encode_path(&f.location.path),
        f.location.start_line
    )
}

/// `key=value` lines for `GITHUB_OUTPUT`.
pub fn step_outputs(report: &Report, sarif: Option<&str>, junit: Option<&str>) -> String {
    let mut out = summary::outputs(report);
    out.push_str(&format!("sarif-file={}\njunit-file={}\n", sarif.unwrap_or(""), junit.unwrap_or("")));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_follows_the_workflow_command_rules() {
        assert_eq!(escape_data("50% done\r\nnext"), "50%25 done%0D%0Anext");
        assert_eq!(escape_data("a\u{1b}]0;t\u{7}\u{9b}\u{2028}b"), "a\\u{1b}]0;t\\u{7}\\u{9b}\\u{2028}b");
        assert_eq!(escape_property("a:b,c%"), "a%3Ab%2Cc%25");
    }
}
