//! The verdict on GitHub: a check run with annotations (GitHub REST docs,
//! "Checks > Check runs": create and update; at most 50 annotations per
//! request) or a commit status ("Commits > Commit statuses": create).

use crate::api::Api;
use crate::context::GitHub;
use bylaw_ci::diff::{on_changed_line, ChangedLines};
use bylaw_ci::ApiError;
use bylaw_engine::report::{Enforcement, Finding, Report, Verdict};
use octocrab::models::checks::CheckRun;
use octocrab::models::{Status, StatusState};
use serde::Serialize;

/// Name of the check run and context of the commit status.
pub const CHECK_NAME: &str = "bylaw";
/// Annotations per check-run request (GitHub's limit).
pub const CHECK_BATCH: usize = 50;
/// GitHub's limit of a check run's output summary is 65,535 characters.
const SUMMARY_LIMIT: usize = 65_000;

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

/// A check-run annotation (request body item).
#[derive(Debug, Clone, Serialize)]
struct Annotation {
    path: String,
    start_line: u32,
    end_line: u32,
    /// `failure`, `warning` or `notice`.
    annotation_level: &'static str,
    message: String,
    title: String,
    /// Columns only on single-line annotations (GitHub's rule).
    #[serde(skip_serializing_if = "Option::is_none")]
    start_column: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    end_column: Option<u32>,
}

impl Annotation {
    fn of(f: &Finding) -> Annotation {
        let l = &f.location;
        let level = match f.enforcement {
            Enforcement::Mandatory | Enforcement::Blocking => "failure",
            Enforcement::Advisory => "warning",
            Enforcement::Audit => "notice",
        };
        let one_line = l.start_line == l.end_line;
        Annotation {
            path: l.path.clone(),
            start_line: l.start_line,
            end_line: l.end_line,
            annotation_level: level,
            message: f.message.clone(),
            title: format!("{} ({})", f.rule_id, f.enforcement),
            start_column: one_line.then_some(l.start_column),
            end_column: one_line.then_some(l.end_column.max(l.start_column)),
        }
    }

    /// Errors first, as in the workflow commands.
    fn rank(&self) -> u8 {
        match self.annotation_level {
            "failure" => 0,
            "warning" => 1,
            _ => 2,
        }
    }
}

/// A check run's `output`.
#[derive(Debug, Clone, Serialize)]
struct Output<'a> {
    title: &'a str,
    summary: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    annotations: Option<&'a [Annotation]>,
}

/// The body of "create a check run" and "update a check run": every field
/// optional, sent only when set.
#[derive(Debug, Clone, Default, Serialize)]
struct CheckRunBody<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    head_sha: Option<&'a str>,
    /// `in_progress` or `completed`.
    #[serde(skip_serializing_if = "Option::is_none")]
    status: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    conclusion: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    details_url: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    output: Option<Output<'a>>,
}

/// Publishes the check run of the run's commit: annotations (unexcepted
/// findings on `changed` lines when given) in batches of [`CHECK_BATCH`]
/// and the conclusion. With one batch or none that is a single request
/// creating a completed check run; otherwise the run is created in
/// progress with the first batch, updated with the next ones, and completed
/// with the last. Returns the check run id.
pub fn check_run(api: &Api, gh: &GitHub, report: &Report, changed: Option<&ChangedLines>) -> Result<u64, ApiError> {
    let (owner, repo) = gh.owner_repo();
    let s = &report.summary;
    let title = format!("{} blocking, {} advisory, {} excepted", s.blocking, s.advisory, s.excepted);
    let mut summary =
        bylaw_report::render(bylaw_report::Format::Markdown, report, &Default::default()).unwrap_or_default();
    if summary.chars().count() > SUMMARY_LIMIT {
        summary = summary.chars().take(SUMMARY_LIMIT).collect::<String>()
            + "\n\n… (truncated: see the job summary and the SARIF report)";
    }
    let mut annotations: Vec<Annotation> = report
        .findings
        .iter()
        .filter(|f| f.exception.is_none() && on_changed_line(f, changed))
        .map(Annotation::of)
        .collect();
    annotations.sort_by_key(Annotation::rank);
    let batches: Vec<&[Annotation]> = annotations.chunks(CHECK_BATCH).collect();
    fn output<'a>(title: &'a str, summary: &'a str, annotations: Option<&'a [Annotation]>) -> Output<'a> {
        Output { title, summary, annotations }
    }
    let details_url = gh.run_url.as_deref();
    let create = format!("/repos/{owner}/{repo}/check-runs");
    let identity = CheckRunBody { name: Some(CHECK_NAME), head_sha: Some(&gh.sha), details_url, ..Default::default() };
    if batches.len() <= 1 {
        let body = CheckRunBody {
            status: Some("completed"),
            conclusion: Some(conclusion(report)),
            output: Some(output(&title, &summary, batches.first().copied())),
            ..identity
        };
        let created: CheckRun = api.post(&create, &body)?;
        return Ok(created.id.into_inner());
    }
    let first = CheckRunBody {
        status: Some("in_progress"),
        output: Some(output(&title, &summary, batches.first().copied())),
        ..identity
    };
    let created: CheckRun = api.post(&create, &first)?;
    let id = created.id.into_inner();
    let update = format!("/repos/{owner}/{repo}/check-runs/{id}");
    for (i, batch) in batches.iter().enumerate().skip(1) {
        let mut body = CheckRunBody { output: Some(output(&title, &summary, Some(batch))), ..Default::default() };
        if i + 1 == batches.len() {
            body =
                CheckRunBody { status: Some("completed"), conclusion: Some(conclusion(report)), details_url, ..body };
        }
        api.patch_only(&update, &body)?;
    }
    Ok(id)
}

/// The body of "create a commit status".
#[derive(Debug, Clone, Serialize)]
struct StatusBody<'a> {
    state: StatusState,
    context: &'a str,
    description: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    target_url: Option<&'a str>,
}

/// Sets the `bylaw` commit status of the run's commit.
pub fn commit_status(api: &Api, gh: &GitHub, report: &Report) -> Result<(), ApiError> {
    let (owner, repo) = gh.owner_repo();
    let s = &report.summary;
    let body = StatusBody {
        state: if report.verdict == Verdict::Fail { StatusState::Failure } else { StatusState::Success },
        context: CHECK_NAME,
        description: format!("{} blocking, {} advisory, {} excepted", s.blocking, s.advisory, s.excepted),
        target_url: gh.run_url.as_deref(),
    };
    let _: Status = api.post(&format!("/repos/{owner}/{repo}/statuses/{}", gh.sha), &body)?;
    Ok(())
}

/// Publishes a completed check run `name` on the run's commit with a
/// `conclusion` (`success`, `failure`), a one-line `title` and a Markdown
/// `summary` (cut at GitHub's limit): the gate of policy-change approval.
pub fn named_check_run(
    api: &Api,
    gh: &GitHub,
    name: &str,
    conclusion: &'static str,
    title: &str,
    summary: &str,
) -> Result<u64, ApiError> {
    let (owner, repo) = gh.owner_repo();
    let summary: String = summary.chars().take(SUMMARY_LIMIT).collect();
    let body = CheckRunBody {
        name: Some(name),
        head_sha: Some(&gh.sha),
        status: Some("completed"),
        conclusion: Some(conclusion),
        details_url: gh.run_url.as_deref(),
        output: Some(Output { title, summary: &summary, annotations: None }),
    };
    let created: CheckRun = api.post(&format!("/repos/{owner}/{repo}/check-runs"), &body)?;
    Ok(created.id.into_inner())
}

/// Sets commit status `context` of the run's commit: `success` or `failure`
/// with `description` (cut at GitHub's 140 characters).
pub fn named_status(api: &Api, gh: &GitHub, context: &str, success: bool, description: &str) -> Result<(), ApiError> {
    let (owner, repo) = gh.owner_repo();
    let body = StatusBody {
        state: if success { StatusState::Success } else { StatusState::Failure },
        context,
        description: description.chars().take(140).collect(),
        target_url: gh.run_url.as_deref(),
    };
    let _: Status = api.post(&format!("/repos/{owner}/{repo}/statuses/{}", gh.sha), &body)?;
    Ok(())
}
