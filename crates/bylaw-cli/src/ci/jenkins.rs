//! `bylaw ci jenkins`: `bylaw check` for a Jenkins build, writing the
//! JUnit, SARIF and outputs files the shared library (`jenkins/`) records;
//! when the SCM is GitHub or GitLab and a token is given, it publishes
//! through that platform's forge (commit status, PR/MR comment, exception
//! requests), so a change gets the same verdict and findings on every CI.

use super::{backoff, run_flow, start, CommentMode, Common, PolicyRef, Terminal};
use crate::check::RunArgs;
use crate::common::{self, usage_error};
use crate::Cli;
use bylaw_ci::forge::Forge;
use bylaw_ci::host::Console;
use bylaw_github::forge::{GitHubForge, Verdicts};
use bylaw_gitlab::forge::GitLabForge;
use bylaw_jenkins::host::{Files, JenkinsHost};
use bylaw_jenkins::{Jenkins, Scm};
use clap::{Args, ValueEnum};
use std::path::PathBuf;

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum ScmChoice {
    /// From CHANGE_URL / GIT_URL.
    Auto,
    Github,
    Gitlab,
    /// Report in the build only.
    None,
}

#[derive(Args, Debug)]
pub struct JenkinsArgs {
    #[command(flatten)]
    pub run: RunArgs,
    /// Write SARIF (recorded by Warnings NG).
    #[arg(long, value_name = "FILE", default_value = "bylaw.sarif")]
    pub sarif: PathBuf,
    /// Write JUnit XML (recorded by the junit step).
    #[arg(long, value_name = "FILE", default_value = "bylaw-junit.xml")]
    pub junit: PathBuf,
    /// Write `verdict=…`, `blocking=…`, `advisory=…`, `excepted=…` lines.
    #[arg(long, value_name = "FILE", default_value = "bylaw-outputs.txt")]
    pub outputs: PathBuf,
    /// The SCM to publish to (comment, status, exception requests).
    #[arg(long, value_enum, default_value_t = ScmChoice::Auto)]
    pub scm: ScmChoice,
    /// Token for the SCM's API (default: $BYLAW_SCM_TOKEN, else $GITHUB_TOKEN
    /// or $BYLAW_GITLAB_TOKEN). Never printed. Without one: the build only.
    #[arg(long, env = "BYLAW_SCM_TOKEN", hide_env_values = true, value_name = "TOKEN")]
    pub scm_token: Option<String>,
    /// The SCM's API URL (default: from the repository's host:
    /// https://api.github.com, https://HOST/api/v3, https://HOST/api/v4).
    #[arg(long, value_name = "URL")]
    pub api_url: Option<String>,
    /// PR/MR comment with the summary: always, on-failure (default), never.
    #[arg(long, value_enum, default_value_t = CommentMode::OnFailure)]
    pub comment: CommentMode,
    /// Where policies are read from in change builds.
    #[arg(long, value_enum, default_value_t = PolicyRef::Head)]
    pub policy_ref: PolicyRef,
}

pub fn run(args: &JenkinsArgs, cli: &Cli) -> u8 {
    let color = common::stderr_color(cli);
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    let j = match Jenkins::from_env(&env) {
        Ok(j) => j,
        Err(m) => {
            return usage_error(
                &m,
                Some("`bylaw ci jenkins` runs inside a Jenkins build; use `bylaw check` elsewhere"),
                color,
            )
        }
    };
    let scm = match args.scm {
        ScmChoice::Auto => j.scm(),
        ScmChoice::Github => Scm::GitHub,
        ScmChoice::Gitlab => Scm::GitLab,
        ScmChoice::None => Scm::None,
    };
    let token = args.scm_token.clone().or_else(|| match scm {
        Scm::GitHub => env("GITHUB_TOKEN"),
        Scm::GitLab => env("BYLAW_GITLAB_TOKEN"),
        Scm::None => None,
    });
    // the SCM's context: where the forge publishes
    let mut forge: Option<Box<dyn Forge>> = None;
    match (scm, token) {
        (Scm::GitHub, Some(token)) => match j.github(args.api_url.as_deref()) {
            // a commit status works with any token; check runs need a GitHub App
            Ok(gh) => {
                let verdicts = Verdicts { check_run: false, status: true };
                forge = Some(Box::new(GitHubForge::new(gh, token, verdicts, backoff("BYLAW_GITHUB_BACKOFF_MS"))));
            }
            Err(m) => return usage_error(&m, Some("pass --scm none, or set GIT_URL"), color),
        },
        (Scm::GitLab, Some(token)) => match j.gitlab(args.api_url.as_deref()) {
            Ok(gl) => forge = Some(Box::new(GitLabForge::new(gl, token, true, backoff("BYLAW_GITLAB_BACKOFF_MS")))),
            Err(m) => return usage_error(&m, Some("pass --scm none, or set GIT_URL"), color),
        },
        (Scm::None, _) => {}
        (_, None) => Terminal.err(
            "bylaw: warning: no SCM token (tokenCredentialsId / BYLAW_SCM_TOKEN): no PR/MR comment, commit status or exception requests; bylaw reports in the build only",
        ),
    }
    let (mut runner, now) = match start(&args.run, cli, color) {
        Ok(started) => started,
        Err(code) => return code,
    };
    let files = Files { sarif: args.sarif.clone(), junit: args.junit.clone(), outputs: args.outputs.clone() };
    let github = forge.is_some() && scm == Scm::GitHub;
    let host = JenkinsHost::new(j, files, github);
    let common = Common { run: &args.run, policy_ref: args.policy_ref, comment: args.comment };
    run_flow(&host, forge.as_mut().map(|f| f.as_mut() as &mut dyn Forge), &mut runner, common, now, None)
}
