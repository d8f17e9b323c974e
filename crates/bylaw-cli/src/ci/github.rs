//! `bylaw ci github`: `bylaw check` plus everything GitHub shows — the
//! context of the event, annotations, a check run or commit status, the PR
//! comment, the job summary, step outputs, SARIF for code scanning — and
//! exception requests by PR comment: GitHub Actions as the host, GitHub as
//! the forge when there is a token. A read-only token (fork PRs) degrades
//! to annotations, artifacts and the exit code, with one warning.

use super::{backoff, env, run_flow, start, CommentMode, Common, PolicyRef};
use crate::check::RunArgs;
use crate::common::{self, usage_error};
use crate::Cli;
use bylaw_ci::forge::Forge;
use bylaw_github::context::GitHub;
use bylaw_github::forge::{GitHubForge, Verdicts};
use bylaw_github::host::{Actions, Files};
use bylaw_github::requests::is_command;
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

pub fn run(args: &GithubArgs, cli: &Cli) -> u8 {
    let color = common::stderr_color(cli);
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
        let command = gh.comment.as_ref().is_some_and(is_command);
        if gh.pr.is_none() || !command || gh.payload["action"] == "deleted" {
            crate::outln!("bylaw: nothing to do for this comment (not a /bylaw command on a pull request)");
            return 0;
        }
    }
    let (mut runner, now) = match start(&args.run, cli, color) {
        Ok(started) => started,
        Err(code) => return code,
    };
    let token = args.github_token.clone().filter(|t| !t.is_empty());
    let verdicts = Verdicts { check_run: args.check_run, status: args.status };
    let mut forge = token.map(|t| GitHubForge::new(gh.clone(), t, verdicts, backoff("BYLAW_GITHUB_BACKOFF_MS")));
    let files = Files {
        sarif: args.sarif.clone(),
        sarif_include_excepted: args.sarif_include_excepted,
        junit: args.junit.clone(),
    };
    let host = Actions::new(gh, files, args.annotations, &env);
    let common = Common { run: &args.run, policy_ref: args.policy_ref, comment: args.comment };
    let unpublished =
        "no GitHub token: no check run, status, PR comment or exception requests (set `github-token` / GITHUB_TOKEN)";
    run_flow(&host, forge.as_mut().map(|f| f as &mut dyn Forge), &mut runner, common, now, Some(unpublished.to_owned()))
}
