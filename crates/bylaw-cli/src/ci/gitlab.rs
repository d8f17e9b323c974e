//! `bylaw ci gitlab`: `bylaw check` plus what GitLab shows — JUnit, SARIF
//! and Code Quality artifacts for the MR widgets, one MR note kept up to
//! date, a `bylaw` commit status — and exception requests by MR note,
//! handled at the next pipeline. With only `CI_JOB_TOKEN` (which cannot
//! write notes or statuses) it reports through artifacts and the exit code,
//! with one warning.

use super::{
    honoured_requests, policies_from_base, write_artifacts, write_text, CommentMode, Degraded, Log, PolicyRef,
};
use crate::check::{prepare, Overrides, RunArgs};
use crate::common::{self, usage_error, EXIT_ERROR};
use crate::Cli;
use bylaw_ci::diff::ChangedLines;
use bylaw_ci::env as context;
use bylaw_ci::requests::{self, Approvers, Note, Request, Verifier};
use bylaw_ci::summary;
use bylaw_gitlab::api::{self, Client};
use bylaw_gitlab::context::GitLab;
use bylaw_gitlab::publish;
use bylaw_gitlab::requests::{authorize, handle_new_commands, MrThread};
use bylaw_report::{Format, RenderOptions};
use clap::Args;
use std::path::PathBuf;

#[derive(Args, Debug, Clone)]
pub struct GitlabArgs {
    #[command(flatten)]
    pub run: RunArgs,
    /// Project or group access token (api scope) for notes, statuses and
    /// approvals. Never printed. Without it: artifacts and exit code only.
    #[arg(long, env = "BYLAW_GITLAB_TOKEN", hide_env_values = true, value_name = "TOKEN")]
    pub gitlab_token: Option<String>,
    /// MR note with the summary: always, on-failure (default), never.
    #[arg(long, value_enum, default_value_t = CommentMode::OnFailure)]
    pub note: CommentMode,
    /// Set a `bylaw` commit status with the verdict.
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, value_name = "BOOL")]
    pub status: bool,
    /// Write SARIF (kept as an artifact).
    #[arg(long, value_name = "FILE", default_value = "bylaw.sarif")]
    pub sarif: PathBuf,
    /// Write JUnit XML (`artifacts:reports:junit`).
    #[arg(long, value_name = "FILE", default_value = "bylaw-junit.xml")]
    pub junit: PathBuf,
    /// Write the GitLab Code Quality report (`artifacts:reports:codequality`).
    #[arg(long, value_name = "FILE", default_value = "gl-code-quality-report.json")]
    pub codequality: Option<PathBuf>,
    /// Where policies are read from in merge request pipelines.
    #[arg(long, value_enum, default_value_t = PolicyRef::Head)]
    pub policy_ref: PolicyRef,
    /// Write `verdict=…`, `blocking=…`, `advisory=…`, `excepted=…` lines
    /// (usable as `artifacts:reports:dotenv`).
    #[arg(long, value_name = "FILE")]
    pub outputs: Option<PathBuf>,
}

pub fn run(args: &GitlabArgs, cli: &Cli) -> u8 {
    let color = common::stderr_color(cli);
    let env = |k: &str| std::env::var(k).ok();
    match GitLab::from_env(&env) {
        Ok(gl) => publish_run(gl, args, cli, None),
        Err(m) => usage_error(&m, Some("`bylaw ci gitlab` runs inside GitLab CI; use `bylaw check` elsewhere"), color),
    }
}

/// The GitLab flow for context `gl`: changed files, exception requests,
/// evaluation, artifacts, commit status, MR note. `run_link` labels the
/// link to the run in the note (Jenkins passes its build).
pub fn publish_run(mut gl: GitLab, args: &GitlabArgs, cli: &Cli, run_link: Option<(String, String)>) -> u8 {
    let color = common::stderr_color(cli);
    let env = |k: &str| std::env::var(k).ok();
    let config = match common::load_config(args.run.config.as_deref(), args.run.no_config, &args.run.paths, color) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let now = match context::now(&env) {
        Ok(n) => n,
        Err(m) => return usage_error(&m, None, color),
    };
    let today = now.date_naive();
    let mut client: Client = api::client(&gl.api_url, args.gitlab_token.clone());
    if let Some(ms) = env("BYLAW_GITLAB_BACKOFF_MS").and_then(|v| v.parse::<u64>().ok()) {
        client.backoff = std::time::Duration::from_millis(ms);
    }
    let api = client.has_token();
    let log = Log::Plain;
    let mut degraded = Degraded::new(log);
    if !api {
        let job =
            if env("CI_JOB_TOKEN").is_some() { " (CI_JOB_TOKEN cannot write notes or commit statuses)" } else { "" };
        log.warn(&format!(
            "no BYLAW_GITLAB_TOKEN{job}: no MR note, commit status or exception requests; bylaw reports through its artifacts and exit code only. Add a masked CI/CD variable BYLAW_GITLAB_TOKEN holding a project access token with api scope."
        ));
    }

    // who bylaw is, the MR's changes and notes
    let mut me = 0;
    let mut changed_files = Vec::new();
    let mut changed_lines: Option<ChangedLines> = None;
    let mut notes: Vec<Note> = Vec::new();
    // outside GitLab CI (Jenkins) the MR's head and diff base come from the API
    if let Some(iid) = gl.mr.as_ref().filter(|m| m.diff_base_sha.is_empty() && api).map(|m| m.iid) {
        match publish::merge_request(&client, &gl, iid) {
            Ok((head, base)) => {
                gl.sha = head;
                if let Some(mr) = gl.mr.as_mut() {
                    mr.diff_base_sha = base;
                }
            }
            Err(e) => degraded.handle("read the merge request", &e),
        }
    }
    if let Some(mr) = gl.mr.as_ref().filter(|_| api) {
        match publish::token_user(&client) {
            Ok((id, name)) => {
                me = id;
                tracing::info!("GitLab token of @{name}");
            }
            Err(e) => degraded.handle("read its own user", &e),
        }
        match publish::changes(&client, &gl, mr.iid) {
            Ok((files, lines)) => {
                changed_files = files;
                changed_lines = Some(lines);
            }
            Err(e) => degraded.handle("list the merge request's changes", &e),
        }
        match publish::notes(&client, &gl, mr.iid, me) {
            Ok(n) => notes = n,
            Err(e) => degraded.handle("read the merge request's notes", &e),
        }
    }

    let mut run_args = args.run.clone();
    let base = gl.mr.as_ref().map(|m| m.diff_base_sha.clone());
    let _base_dir =
        match policies_from_base(args.policy_ref, base.as_deref(), gl.mr.is_some(), &mut run_args, &config, log, color)
        {
            Ok(d) => d,
            Err(code) => return code,
        };

    let overrides = Overrides {
        ctx: Some(Box::new(|base| gl.ctx(base, &changed_files))),
        branch: gl.branch(),
        // its reports are not inputs, and may not replace one
        artifacts: [args.sarif.clone(), args.junit.clone()].into_iter().chain(args.codequality.clone()).collect(),
        audit_log: None,
    };
    let failure_artifacts = || {
        let mut files = vec![(Format::Sarif, args.sarif.as_path()), (Format::Junit, args.junit.as_path())];
        files.extend(args.codequality.as_deref().map(|cq| (Format::Codequality, cq)));
        super::write_failure_artifacts(&files);
    };
    let prepared = match prepare(&run_args, &config, cli, overrides) {
        Ok(p) => p,
        Err(code) => {
            failure_artifacts();
            return code;
        }
    };
    // exception requests, before evaluation: answer new commands, then
    // honour approved requests
    let catalog = prepared.catalog();
    let mut reqs: Vec<Request> = Vec::new();
    if let Some(mr) = gl.mr.as_ref().filter(|_| api) {
        let check = |a: &Approvers, n: &Note| authorize(&client, &gl, a, n);
        let mut verifier = Verifier::new(&catalog, &config.approvers, &check);
        let thread = MrThread { client: &client, gl: &gl, iid: mr.iid, me };
        match handle_new_commands(&thread, &mut notes, &catalog, &mut verifier, today) {
            Ok(lines) => lines.iter().for_each(|l| crate::outln!("bylaw: {l}")),
            Err(e) => degraded.handle("answer /bylaw commands", &e),
        }
        reqs = requests::resolve(requests::requests(&notes), &notes, &mut verifier);
    }
    let report = match prepared.evaluate(requests::approved_exceptions(&reqs, today)) {
        Ok(r) => r,
        Err(code) => {
            failure_artifacts();
            return code;
        }
    };

    let text = bylaw_report::render(Format::Text, &report, &RenderOptions::default()).unwrap_or_default();
    crate::out!("{text}");
    let honoured = honoured_requests(&reqs, today, "merge request");

    // artifacts (always written, whatever the API does)
    let mut artifacts =
        vec![(args.sarif.as_path(), Format::Sarif, &report), (args.junit.as_path(), Format::Junit, &report)];
    if let Some(cq) = &args.codequality {
        artifacts.push((cq.as_path(), Format::Codequality, &report));
    }
    let mut failed = write_artifacts(&artifacts);
    if let Some(path) = &args.outputs {
        failed += write_text(path, &summary::outputs(&report));
    }

    if api {
        if args.status && !gl.sha.is_empty() {
            if let Err(e) = publish::commit_status(&client, &gl, &report) {
                degraded.handle("set a commit status", &e);
            }
        }
        if let Some(mr) = &gl.mr {
            let link = |f: &bylaw_engine::report::Finding| publish::line_link(&gl, f);
            let mut extra = String::new();
            if let Some(lines) = changed_lines.as_ref().filter(|_| args.run.changed_only) {
                extra.push_str(&summary::off_diff_details(&report, lines, &link, "merge request"));
            }
            extra.push_str(&honoured);
            let run_link = run_link.or_else(|| env("CI_PIPELINE_URL").map(|u| ("Pipeline".to_owned(), u)));
            let body =
                summary::comment_body(&report, &link, &extra, run_link.as_ref().map(|(l, u)| (l.as_str(), u.as_str())));
            let existing = publish::report_note(&notes);
            if args.note.wanted(&report, existing.is_some()) {
                if let Err(e) = publish::upsert_note(&client, &gl, mr.iid, existing, &body) {
                    degraded.handle("write the merge request note", &e);
                }
            }
        }
    }
    if failed > 0 {
        return EXIT_ERROR;
    }
    report.exit_code() as u8
}
