//! `bylaw ci gitlab`: `bylaw check` plus what GitLab shows — JUnit, SARIF
//! and Code Quality artifacts for the MR widgets, one MR note kept up to
//! date, a `bylaw` commit status — and exception requests by MR note,
//! handled at the next pipeline. With only `CI_JOB_TOKEN` (which cannot
//! write notes or statuses) it reports through artifacts and the exit code,
//! with one warning.

use super::{backoff, env, run_flow, start, CommentMode, Common, PolicyRef};
use crate::check::RunArgs;
use crate::common::{self, usage_error};
use crate::Cli;
use bylaw_ci::forge::Forge;
use bylaw_ci::host::Console;
use bylaw_gitlab::context::GitLab;
use bylaw_gitlab::forge::GitLabForge;
use bylaw_gitlab::host::{Files, GitLabCi};
use clap::Args;
use std::path::PathBuf;

#[derive(Args, Debug)]
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
    let gl = match GitLab::from_env(&env) {
        Ok(gl) => gl,
        Err(m) => {
            return usage_error(&m, Some("`bylaw ci gitlab` runs inside GitLab CI; use `bylaw check` elsewhere"), color)
        }
    };
    let (mut runner, now) = match start(&args.run, cli, color) {
        Ok(started) => started,
        Err(code) => return code,
    };
    let token = args.gitlab_token.clone().filter(|t| !t.is_empty());
    if token.is_none() {
        let job =
            if env("CI_JOB_TOKEN").is_some() { " (CI_JOB_TOKEN cannot write notes or commit statuses)" } else { "" };
        super::Terminal.err(&format!(
            "bylaw: warning: no BYLAW_GITLAB_TOKEN{job}: no MR note, commit status or exception requests; bylaw reports through its artifacts and exit code only. Add a masked CI/CD variable BYLAW_GITLAB_TOKEN holding a project access token with api scope."
        ));
    }
    let mut forge = token.map(|t| GitLabForge::new(gl.clone(), t, args.status, backoff("BYLAW_GITLAB_BACKOFF_MS")));
    let files = Files {
        sarif: args.sarif.clone(),
        junit: args.junit.clone(),
        codequality: args.codequality.clone(),
        outputs: args.outputs.clone(),
    };
    let host = GitLabCi::new(gl, files, &env);
    let common = Common { run: &args.run, policy_ref: args.policy_ref, comment: args.note };
    run_flow(&host, forge.as_mut().map(|f| f as &mut dyn Forge), &mut runner, common, now, None)
}
