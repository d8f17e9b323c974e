//! The summary every platform shows in its PR/MR comment and job page: the
//! Markdown report, the top blocking findings linked to their lines, the
//! findings left out of annotations, approved requests to commit, and how
//! to request an exception. Also the `key=value` outputs of a run.

use crate::diff::{on_changed_line, ChangedLines};
use crate::requests::ThreadComment;
use bylaw_engine::report::{Finding, Report, Verdict};

/// Hidden marker of bylaw's PR/MR comment (found again and updated in place).
pub const COMMENT_MARKER: &str = "<!-- bylaw:report -->";

/// bylaw's summary comment among a change request's comments: written by a
/// bot (bylaw's comments are; people's never count) and carrying [`COMMENT_MARKER`].
pub fn report_comment(thread: &[ThreadComment]) -> Option<u64> {
    thread.iter().find(|c| c.bot && c.body.contains(COMMENT_MARKER)).map(|c| c.id)
}

/// Links a finding to its file line on the platform.
pub type LineLink<'a> = dyn Fn(&Finding) -> String + 'a;

fn finding_item(f: &Finding, link: &LineLink<'_>) -> String {
    use bylaw_report::escape::{md_code, md_text};
    format!(
        "- [{}]({}) {} {}\n",
        md_code(&format!("{}:{}", f.location.path, f.location.start_line)),
        link(f),
        md_code(&f.rule_id),
        md_text(&f.message)
    )
}

/// The comment / job summary body: [`COMMENT_MARKER`], the Markdown
/// report, the top blocking findings with links, `extra` sections, how to
/// request an exception, and a link to the run (`(label, url)`).
pub fn comment_body(report: &Report, link: &LineLink<'_>, extra: &str, run: Option<(&str, &str)>) -> String {
    let mut body = format!("{COMMENT_MARKER}\n");
    body.push_str(
        &bylaw_report::render(bylaw_report::Format::Markdown, report, &Default::default()).unwrap_or_default(),
    );
    let top: Vec<&Finding> = report.findings.iter().filter(|f| f.fails(report.fail_on)).take(10).collect();
    if !top.is_empty() {
        body.push_str("\n**Blocking findings**\n\n");
        for f in top {
            body.push_str(&finding_item(f, link));
        }
    }
    if !extra.is_empty() {
        body.push('\n');
        body.push_str(extra);
    }
    body.push_str(
        "\n<sub>To request an exception, comment `/bylaw except RULE [PATH] -- reason [expires=30d]`; an approver answers `/bylaw approve ID`.</sub>\n",
    );
    if let Some((label, url)) = run {
        body.push_str(&format!("<sub>[{label}]({url})</sub>\n"));
    }
    body
}

/// A collapsed list of the unexcepted findings on lines the change did
/// not touch (not annotated with `--changed-only`); empty when none.
pub fn off_diff_details(report: &Report, lines: &ChangedLines, link: &LineLink<'_>, change: &str) -> String {
    let off: Vec<&Finding> =
        report.findings.iter().filter(|f| f.exception.is_none() && !on_changed_line(f, Some(lines))).collect();
    if off.is_empty() {
        return String::new();
    }
    let mut out = format!(
        "<details><summary>{} findings on lines this {change} did not change (not annotated)</summary>\n\n",
        off.len()
    );
    for f in off {
        out.push_str(&finding_item(f, link));
    }
    out.push_str("</details>\n");
    out
}

/// A collapsed ExceptionList to commit for the approved requests honoured
/// here, in a code block no line of the YAML (reasons come from PR
/// comments) can close.
pub fn approved_details(yaml: &str) -> String {
    format!(
        "<details><summary>Approved exception requests honoured here: add them to your exception list</summary>\n\n{}</details>\n",
        bylaw_report::escape::md_fenced(yaml, "yaml")
    )
}

/// `verdict`, `blocking`, `advisory`, `excepted` as `key=value` lines.
pub fn outputs(report: &Report) -> String {
    let s = &report.summary;
    let verdict = if report.verdict == Verdict::Fail { "fail" } else { "pass" };
    format!("verdict={verdict}\nblocking={}\nadvisory={}\nexcepted={}\n", s.blocking, s.advisory, s.excepted)
}

#[cfg(test)]
mod tests {
    use super::*;
    use bylaw_engine::report::{Enforcement, Finding, Location, Severity};

    #[test]
    fn finding_items_escape_the_text_and_encode_the_link() {
        let f = Finding {
            rule_id: "K-1".into(),
            policy: "p".into(),
            severity: Severity::High,
            enforcement: Enforcement::Blocking,
            message: "bad [x](http://evil) <b>\n::stop-commands::t".into(),
            location: Location {
                path: "deploy/a b#1%.yaml".into(),
                start_line: 3,
                start_column: 1,
                end_line: 3,
                end_column: 2,
            },
            document: None,
            pointer: String::new(),
            resource: None,
            fingerprint: String::new(),
            notes: vec![],
            exception: None,
            baseline: None,
        };
        let link = |f: &Finding| {
            format!("https://x/blob/s/{}#L{}", crate::percent_encode_path(&f.location.path), f.location.start_line)
        };
        let item = finding_item(&f, &link);
        assert_eq!(
            item,
            "- [`deploy/a b#1%.yaml:3`](https://x/blob/s/deploy/a%20b%231%25.yaml#L3) `K-1` bad \\[\u{200B}x\\](http:\u{200B}//evil) &lt;b&gt;\\\\n::stop-commands::t\n"
        );
        assert_eq!(item.lines().count(), 1, "one line whatever the message holds");
    }
}
