//! What a run shows on GitHub: workflow-command annotations, a check run
//! (annotations in batches of 50) or a commit status, one upserted PR
//! comment, the job summary and the step outputs.

use crate::api::Client;
use crate::context::GitHub;
use bylaw_ci::diff::{on_changed_line, ChangedLines};
use bylaw_ci::{summary, ApiError};
use bylaw_engine::report::{Enforcement, Finding, Report, Verdict};
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// Name of the check run and context of the commit status.
pub const CHECK_NAME: &str = "bylaw";
/// GitHub shows at most this many workflow-command annotations per level and step.
pub const STEP_ANNOTATION_LIMIT: usize = 10;
/// Annotations per check-run update (GitHub's limit).
pub const CHECK_BATCH: usize = 50;

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

/// Updates bylaw's comment `existing` on PR `number`, or creates it.
/// Returns the comment id.
pub fn upsert_comment(
    client: &Client,
    gh: &GitHub,
    number: u64,
    existing: Option<u64>,
    body: &str,
) -> Result<u64, ApiError> {
    let (owner, repo) = gh.owner_repo();
    let r = match existing {
        Some(id) => client.patch(&format!("/repos/{owner}/{repo}/issues/comments/{id}"), &json!({ "body": body }))?,
        None => client.post(&format!("/repos/{owner}/{repo}/issues/{number}/comments"), &json!({ "body": body }))?,
    };
    Ok(r.json["id"].as_u64().unwrap_or(0))
}

/// The check-run conclusion of a report: failure when it fails, neutral
/// when only advisory findings remain, success otherwise.
pub fn conclusion(report: &Report) -> &'static str {
    if report.verdict == Verdict::Fail {
        "failure"
    } else if report.findings.iter().any(|f| f.exception.is_none() && f.enforcement == Enforcement::Advisory) {
        "neutral"
    } else {
        "success"
    }
}

fn check_annotation(f: &Finding) -> Value {
    let l = &f.location;
    let level = match f.enforcement {
        Enforcement::Mandatory | Enforcement::Blocking => "failure",
        Enforcement::Advisory => "warning",
        Enforcement::Audit => "notice",
    };
    let mut a = json!({
        "path": l.path,
        "start_line": l.start_line,
        "end_line": l.end_line,
        "annotation_level": level,
        "message": f.message,
        "title": format!("{} ({})", f.rule_id, f.enforcement),
    });
    if l.start_line == l.end_line {
        a["start_column"] = json!(l.start_column);
        a["end_column"] = json!(l.end_column.max(l.start_column));
    }
    a
}

/// Publishes the check run: annotations in batches of [`CHECK_BATCH`]
/// (GitHub's limit per request) and the conclusion. With one batch or none
/// that is a single request creating a completed check run; otherwise the
/// run is created in progress with the first batch, updated with the next
/// ones, and completed with the last. Returns the check run id.
pub fn check_run(
    client: &Client,
    gh: &GitHub,
    report: &Report,
    changed: Option<&ChangedLines>,
) -> Result<u64, ApiError> {
    let (owner, repo) = gh.owner_repo();
    let s = &report.summary;
    let title = format!("{} blocking, {} advisory, {} excepted", s.blocking, s.advisory, s.excepted);
    // the output summary is limited to 65,535 characters
    let mut summary =
        bylaw_report::render(bylaw_report::Format::Markdown, report, &Default::default()).unwrap_or_default();
    if summary.chars().count() > 65_000 {
        summary = summary.chars().take(65_000).collect::<String>()
            + "\n\n… (truncated: see the job summary and the SARIF report)";
    }
    // errors first, as in the workflow commands
    let mut annotations: Vec<Value> = report
        .findings
        .iter()
        .filter(|f| f.exception.is_none() && on_changed_line(f, changed))
        .map(check_annotation)
        .collect();
    let rank = |a: &Value| match a["annotation_level"].as_str() {
        Some("failure") => 0,
        Some("warning") => 1,
        _ => 2,
    };
    annotations.sort_by_key(rank);
    let batches: Vec<&[Value]> = annotations.chunks(CHECK_BATCH).collect();
    let output = |batch: Option<&&[Value]>| {
        let mut o = json!({ "title": title, "summary": summary });
        if let Some(b) = batch {
            o["annotations"] = json!(b);
        }
        o
    };
    let mut done = json!({ "status": "completed", "conclusion": conclusion(report) });
    if let Some(url) = &gh.run_url {
        done["details_url"] = json!(url);
    }
    if batches.len() <= 1 {
        let mut body = done;
        body["name"] = json!(CHECK_NAME);
        body["head_sha"] = json!(gh.sha);
        body["output"] = output(batches.first());
        let created = client.post(&format!("/repos/{owner}/{repo}/check-runs"), &body)?;
        return Ok(created.json["id"].as_u64().unwrap_or(0));
    }
    let mut first =
        json!({ "name": CHECK_NAME, "head_sha": gh.sha, "status": "in_progress", "output": output(batches.first()) });
    if let Some(url) = &gh.run_url {
        first["details_url"] = json!(url);
    }
    let created = client.post(&format!("/repos/{owner}/{repo}/check-runs"), &first)?;
    let id = created.json["id"].as_u64().unwrap_or(0);
    let path = format!("/repos/{owner}/{repo}/check-runs/{id}");
    for (i, batch) in batches.iter().enumerate().skip(1) {
        if i + 1 == batches.len() {
            let mut last = done.clone();
            last["output"] = output(Some(batch));
            client.patch(&path, &last)?;
        } else {
            client.patch(&path, &json!({ "output": output(Some(batch)) }))?;
        }
    }
    Ok(id)
}

/// Sets the `bylaw` commit status of the run's commit.
pub fn commit_status(client: &Client, gh: &GitHub, report: &Report) -> Result<(), ApiError> {
    let (owner, repo) = gh.owner_repo();
    let s = &report.summary;
    let state = if report.verdict == Verdict::Fail { "failure" } else { "success" };
    let mut body = json!({
        "state": state,
        "context": CHECK_NAME,
        "description": format!("{} blocking, {} advisory, {} excepted", s.blocking, s.advisory, s.excepted),
    });
    if let Some(url) = &gh.run_url {
        body["target_url"] = json!(url);
    }
    client.post(&format!("/repos/{owner}/{repo}/statuses/{}", gh.sha), &body)?;
    Ok(())
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
