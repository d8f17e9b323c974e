//! `bylaw ci github`: `bylaw check` plus everything GitHub shows — the
//! context of the event, annotations, a check run or commit status, the PR
//! comment, the job summary, step outputs, SARIF for code scanning — and
//! exception requests by PR comment. API problems never change the verdict:
//! a read-only token (fork PRs) degrades to annotations, artifacts and the
//! exit code, with one warning.

use super::{
    append, honoured_requests, policies_from_base, without_excepted, write_artifacts, write_text, CommentMode,
    Degraded, Log, PolicyRef,
};
use crate::check::{prepare, Overrides, RunArgs};
use crate::common::{self, usage_error, EXIT_ERROR};
use crate::Cli;
use bylaw_ci::env as context;
use bylaw_ci::requests::{Note, Verifier};
use bylaw_ci::summary;
use bylaw_github::api::{self, Client};
use bylaw_github::context::{pr_from, GitHub};
use bylaw_github::publish::{self, ChangedLines};
use bylaw_github::requests;
use bylaw_report::{Format, RenderOptions};
use clap::Args;
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct GithubArgs {
    #[command(flatten)]
    pub run: RunArgs,
    /// Token for the API (default: $GITHUB_TOKEN). Never printed.
    #[arg(long, env = "GITHUB_TOKEN", hide_env_values = true, value_name = "TOKEN")]
    pub github_token: Option<String>,
    /// PR comment with the summary: always, on-failure (default), never.
    #[arg(long, value_enum, default_value_t = CommentMode::OnFailure)]
    pub comment: CommentMode,
    /// Publish a check run with annotations (needs `checks: write`).
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, value_name = "BOOL")]
    pub check_run: bool,
    /// Set a `bylaw` commit status (needs `statuses: write`).
    #[arg(long, default_value_t = false, action = clap::ArgAction::Set, value_name = "BOOL")]
    pub status: bool,
    /// Print annotations as workflow commands.
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, value_name = "BOOL")]
    pub annotations: bool,
    /// Write SARIF for github/codeql-action/upload-sarif (default: bylaw.sarif).
    #[arg(long, value_name = "FILE", default_value = "bylaw.sarif")]
    pub sarif: PathBuf,
    /// Keep excepted findings in the SARIF file (code scanning would show them as open alerts).
    #[arg(long)]
    pub sarif_include_excepted: bool,
    /// Write JUnit XML.
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// Where policies are read from in pull requests.
    #[arg(long, value_enum, default_value_t = PolicyRef::Head)]
    pub policy_ref: PolicyRef,
}

/// Where the run happens: GitHub Actions (workflow commands, job summary,
/// step outputs) or another CI publishing to GitHub (Jenkins).
pub struct Host {
    pub log: Log,
    /// A file for the `key=value` outputs besides `GITHUB_OUTPUT`.
    pub outputs: Option<PathBuf>,
    /// What to call the run in the comment (`Workflow run`, `Jenkins build`) and its URL.
    pub run_link: Option<(String, String)>,
}

pub fn run(args: &GithubArgs, cli: &Cli) -> u8 {
    let color = common::stderr_color(cli);
    let env = |k: &str| std::env::var(k).ok();
    let gh = match GitHub::from_env(&env) {
        Ok(g) => g,
        Err(m) => {
            return usage_error(
                &m,
                Some("`bylaw ci github` runs inside GitHub Actions; use `bylaw check` elsewhere"),
                color,
            )
        }
    };
    if gh.event == "issue_comment" {
        // comment events only matter for /bylaw commands on pull requests
        let command = gh.comment.as_ref().is_some_and(requests::is_command);
        if gh.pr.is_none() || !command || gh.payload["action"] == "deleted" {
            crate::outln!("bylaw: nothing to do for this comment (not a /bylaw command on a pull request)");
            return 0;
        }
    }
    let run_link = gh.run_url.clone().map(|u| ("Workflow run".to_owned(), u));
    publish(gh, args, cli, &Host { log: Log::Actions, outputs: None, run_link })
}

/// The GitHub flow for context `gh`: changed files, exception requests,
/// evaluation, artifacts, annotations, check run or status, PR comment.
pub fn publish(mut gh: GitHub, args: &GithubArgs, cli: &Cli, host: &Host) -> u8 {
    let color = common::stderr_color(cli);
    let env = |k: &str| std::env::var(k).ok();
    let config = match common::load_config(args.run.config.as_deref(), args.run.no_config, &args.run.paths, color) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let mut client: Client = api::client(&gh.api_url, args.github_token.clone());
    if let Some(ms) = env("BYLAW_GITHUB_BACKOFF_MS").and_then(|v| v.parse::<u64>().ok()) {
        client.backoff = std::time::Duration::from_millis(ms);
    }
    let mut degraded = Degraded::new(host.log);
    let (owner, repo) = {
        let (o, r) = gh.owner_repo();
        (o.to_owned(), r.to_owned())
    };
    let now = match context::now(&env) {
        Ok(n) => n,
        Err(m) => return usage_error(&m, None, color),
    };
    let today = now.date_naive();
    let api = client.has_token();

    // the full PR (issue_comment payloads lack head and base)
    if let Some(number) = gh.pr.as_ref().filter(|p| p.head_sha.is_empty() && api).map(|p| p.number) {
        match client.get(&format!("/repos/{owner}/{repo}/pulls/{number}")) {
            Ok(r) => {
                if let Some(p) = pr_from(&r.json) {
                    gh.sha = p.head_sha.clone();
                    gh.pr = Some(p);
                }
            }
            Err(e) => degraded.handle("read the pull request", &e),
        }
    }
    // changed files and lines, and the comments, of a PR
    let mut changed_files = Vec::new();
    let mut changed_lines: Option<ChangedLines> = None;
    let mut comments = Vec::new();
    if let Some(pr) = gh.pr.as_ref().filter(|_| api) {
        match client.get_all(&format!("/repos/{owner}/{repo}/pulls/{}/files", pr.number)) {
            Ok(files) => {
                let mut lines = ChangedLines::new();
                for f in &files {
                    let Some(name) = f["filename"].as_str() else { continue };
                    changed_files.push(name.to_owned());
                    lines.insert(name.to_owned(), publish::added_lines(f["patch"].as_str().unwrap_or("")));
                }
                changed_lines = Some(lines);
            }
            Err(e) => degraded.handle("list the pull request's files", &e),
        }
        match client.get_all(&format!("/repos/{owner}/{repo}/issues/{}/comments", pr.number)) {
            Ok(cs) => comments = cs,
            Err(e) => degraded.handle("read the pull request's comments", &e),
        }
    }

    let mut run_args = args.run.clone();
    let base = gh.pr.as_ref().map(|p| p.base_sha.clone());
    // keeps the base-revision policies alive during the run
    let _base_dir = match policies_from_base(
        args.policy_ref,
        base.as_deref(),
        gh.pr.is_some(),
        &mut run_args,
        &config,
        host.log,
        color,
    ) {
        Ok(d) => d,
        Err(code) => return code,
    };

    let overrides = Overrides {
        ctx: Some(Box::new(|base| gh.ctx(base, &changed_files))),
        branch: gh.branch(),
        // its reports are not inputs, and may not replace one
        artifacts: std::iter::once(args.sarif.clone()).chain(args.junit.clone()).collect(),
        audit_log: None,
    };
    let failure_artifacts = || {
        let mut files = vec![(Format::Sarif, args.sarif.as_path())];
        files.extend(args.junit.as_deref().map(|j| (Format::Junit, j)));
        super::write_failure_artifacts(&files);
    };
    let prepared = match prepare(&run_args, &config, cli, overrides) {
        Ok(p) => p,
        Err(code) => {
            failure_artifacts();
            return code;
        }
    };
    // exception requests, before evaluation: answer a command, then honour
    // approved requests
    let catalog = prepared.catalog();
    let mut reqs = Vec::new();
    if gh.pr.is_some() && api {
        let authorize = |a: &requests::Approvers, n: &Note| requests::authorize(&client, &gh, a, n);
        let mut verifier = Verifier::new(&catalog, &config.approvers, &authorize);
        if gh.event == "issue_comment" {
            match requests::handle_comment(&client, &gh, &catalog, &comments, &mut verifier, today) {
                Ok(line) => crate::outln!("bylaw: {line}"),
                Err(e) => degraded.handle("answer the /bylaw command", &e),
            }
        }
        let mut all: Vec<Note> = comments.iter().map(requests::note).collect();
        if let Some(c) = &gh.comment {
            if !all.iter().any(|x| x.id == c.id) {
                all.push(requests::note(&gh.payload["comment"]));
            }
        }
        reqs = requests::resolve(requests::requests(&all), &all, &mut verifier);
    }
    let report = match prepared.evaluate(requests::approved_exceptions(&reqs, today)) {
        Ok(r) => r,
        Err(code) => {
            failure_artifacts();
            return code;
        }
    };

    // logs: the text report, then annotations
    let text = bylaw_report::render(Format::Text, &report, &RenderOptions::default()).unwrap_or_default();
    crate::out!("{text}");
    let line_filter = if args.run.changed_only { changed_lines.as_ref() } else { None };
    if args.annotations && host.log == Log::Actions {
        crate::out!("{}", publish::workflow_commands(&report, line_filter));
    }
    let honoured = honoured_requests(&reqs, today, "pull request");

    // artifacts (always written, whatever the API does)
    let sarif_report = if args.sarif_include_excepted { report.clone() } else { without_excepted(&report) };
    let mut artifacts = vec![(args.sarif.as_path(), Format::Sarif, &sarif_report)];
    if let Some(j) = &args.junit {
        artifacts.push((j.as_path(), Format::Junit, &report));
    }
    let mut failed_writes = write_artifacts(&artifacts);
    let link = |f: &bylaw_engine::report::Finding| publish::line_link(&gh, f);
    let mut extra = String::new();
    if let Some(lines) = line_filter {
        extra.push_str(&summary::off_diff_details(&report, lines, &link, "pull request"));
    }
    extra.push_str(&honoured);
    let run_link = host.run_link.as_ref().map(|(l, u)| (l.as_str(), u.as_str()));
    let body = summary::comment_body(&report, &link, &extra, run_link);
    if let Some(path) = env("GITHUB_STEP_SUMMARY").filter(|_| host.log == Log::Actions) {
        append(&path, &body.replace(publish::COMMENT_MARKER, ""));
    }
    let junit = args.junit.as_ref().map(|p| p.display().to_string());
    let outputs = publish::step_outputs(&report, Some(&args.sarif.display().to_string()), junit.as_deref());
    if let Some(path) = env("GITHUB_OUTPUT").filter(|_| host.log == Log::Actions) {
        append(&path, &outputs);
    }
    if let Some(path) = &host.outputs {
        failed_writes += write_text(path, &outputs);
    }

    // the API: check run or status, PR comment
    if api {
        if args.check_run {
            if let Err(e) = publish::check_run(&client, &gh, &report, line_filter) {
                degraded.handle("create a check run", &e);
            }
        }
        if args.status {
            if let Err(e) = publish::commit_status(&client, &gh, &report) {
                degraded.handle("set a commit status", &e);
            }
        }
        if let Some(pr) = &gh.pr {
            let existing = publish::report_comment(&comments);
            if args.comment.wanted(&report, existing.is_some()) {
                if let Err(e) = publish::upsert_comment(&client, &gh, pr.number, existing, &body) {
                    degraded.handle("comment on the pull request", &e);
                }
            }
        }
    } else {
        host.log.warn(
            "no GitHub token: no check run, status, PR comment or exception requests (set `github-token` / GITHUB_TOKEN)",
        );
    }
    if failed_writes > 0 {
        return EXIT_ERROR;
    }
    report.exit_code() as u8
}
