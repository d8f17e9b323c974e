//! `bylaw ci jenkins`: `bylaw check` for a Jenkins build, writing the
//! JUnit, SARIF and outputs files the shared library (`jenkins/`) records;
//! when the SCM is GitHub or GitLab and a token is given, it publishes
//! through that platform's flow (commit status, PR/MR comment, exception
//! requests), so a change gets the same verdict and findings on every CI.

use super::github::{self, GithubArgs, Host};
use super::gitlab::{self, GitlabArgs};
use super::{without_excepted, write_artifacts, write_text, CommentMode, Log, PolicyRef};
use crate::check::{evaluate_with, Overrides, RunArgs};
use crate::common::{self, usage_error, EXIT_ERROR};
use crate::Cli;
use bylaw_ci::summary;
use bylaw_jenkins::{Jenkins, Scm};
use bylaw_report::{Format, RenderOptions};
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
    let run_link = j.build_url.clone().map(|u| ("Jenkins build".to_owned(), u));
    match (scm, token) {
        (Scm::GitHub, Some(token)) => match j.github(args.api_url.as_deref()) {
            Ok(gh) => {
                let a = GithubArgs {
                    run: args.run.clone(),
                    github_token: Some(token),
                    comment: args.comment,
                    // a commit status works with any token; check runs need a GitHub App
                    check_run: false,
                    status: true,
                    annotations: false,
                    sarif: args.sarif.clone(),
                    sarif_include_excepted: false,
                    junit: Some(args.junit.clone()),
                    policy_ref: args.policy_ref,
                };
                github::publish(gh, &a, cli, &Host { log: Log::Plain, outputs: Some(args.outputs.clone()), run_link })
            }
            Err(m) => usage_error(&m, Some("pass --scm none, or set GIT_URL"), color),
        },
        (Scm::GitLab, Some(token)) => match j.gitlab(args.api_url.as_deref()) {
            Ok(gl) => {
                let a = GitlabArgs {
                    run: args.run.clone(),
                    gitlab_token: Some(token),
                    note: args.comment,
                    status: true,
                    sarif: args.sarif.clone(),
                    junit: args.junit.clone(),
                    codequality: None,
                    policy_ref: args.policy_ref,
                    outputs: Some(args.outputs.clone()),
                };
                gitlab::publish_run(gl, &a, cli, run_link)
            }
            Err(m) => usage_error(&m, Some("pass --scm none, or set GIT_URL"), color),
        },
        (scm, _) => {
            if scm != Scm::None {
                Log::Plain.warn(
                    "no SCM token (tokenCredentialsId / BYLAW_SCM_TOKEN): no PR/MR comment, commit status or exception requests; bylaw reports in the build only",
                );
            }
            build_only(&j, args, cli)
        }
    }
}

/// Evaluates and writes the build's files, publishing nowhere.
fn build_only(j: &Jenkins, args: &JenkinsArgs, cli: &Cli) -> u8 {
    let color = common::stderr_color(cli);
    let config = match common::load_config(args.run.config.as_deref(), args.run.no_config, &args.run.paths, color) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let mut run = args.run.clone();
    let _base_dir = if args.policy_ref == PolicyRef::Base {
        // Jenkins does not say where a change starts; the target branch's tip is the base
        let base = (!j.change_target.is_empty()).then(|| format!("origin/{}", j.change_target));
        match super::policies_from_base(
            args.policy_ref,
            base.as_deref(),
            j.change_id.is_some(),
            &mut run,
            &config,
            Log::Plain,
            color,
        ) {
            Ok(d) => d,
            Err(code) => return code,
        }
    } else {
        None
    };
    let overrides = Overrides {
        ctx: Some(Box::new(|base| j.ctx(base))),
        branch: j.branch(),
        // its reports and outputs file are not inputs, and may not replace one
        artifacts: vec![args.sarif.clone(), args.junit.clone(), args.outputs.clone()],
        audit_log: None,
    };
    let report = match evaluate_with(&run, &config, cli, overrides) {
        Ok(r) => r,
        Err(code) => {
            super::write_failure_artifacts(&[
                (Format::Sarif, args.sarif.as_path()),
                (Format::Junit, args.junit.as_path()),
            ]);
            return code;
        }
    };
    crate::out!("{}", bylaw_report::render(Format::Text, &report, &RenderOptions::default()).unwrap_or_default());
    let sarif_report = without_excepted(&report);
    let mut failed = write_artifacts(&[
        (args.sarif.as_path(), Format::Sarif, &sarif_report),
        (args.junit.as_path(), Format::Junit, &report),
    ]);
    failed += write_text(&args.outputs, &summary::outputs(&report));
    if failed > 0 {
        return EXIT_ERROR;
    }
    report.exit_code() as u8
}
