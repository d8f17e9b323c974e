//! `bylaw ci github|gitlab|jenkins`: `bylaw check` plus what each platform
//! shows. The flow is `bylaw_ci::flow`, written once over a CI host and a
//! forge; each submodule parses its platform's arguments, builds the host
//! and the forge, and calls it. This module holds the binary's side of the
//! flow in one place: the evaluator ([`Runner`]: `check::prepare`, then
//! `Prepared::evaluate`, with policies read from the base revision when
//! asked) and the console. API problems never change the verdict.

mod github;
mod gitlab;
mod jenkins;
mod policy_repo;

use crate::check::{prepare, Prepared, RunAdditions, RunArgs};
use crate::common::{self, usage_error};
use crate::Cli;
use bylaw_ci::flow::{self, Evaluator, PreparedRun, RunRequest, Stop};
use bylaw_ci::host::{CiHost, Console};
use bylaw_engine::chrono::{DateTime, Utc};
use bylaw_engine::config::Config;
use bylaw_engine::exceptions::Exception;
use bylaw_engine::report::{Catalog, Report};
use bylaw_report::{Format, RenderOptions};
use clap::{Args, Subcommand, ValueEnum};
use std::path::{Path, PathBuf};

#[derive(Args, Debug)]
pub struct CiArgs {
    #[command(subcommand)]
    pub platform: CiPlatform,
}

#[derive(Subcommand, Debug)]
pub enum CiPlatform {
    /// GitHub Actions: annotations, check run or status, PR comment, job summary, outputs.
    Github(github::GithubArgs),
    /// GitLab CI: MR note, commit status, JUnit, SARIF and Code Quality artifacts.
    Gitlab(gitlab::GitlabArgs),
    /// Jenkins: JUnit, SARIF and outputs files for the shared library, and publishing through the SCM (GitHub or GitLab).
    Jenkins(jenkins::JenkinsArgs),
}

pub fn run(args: &CiArgs, cli: &Cli) -> u8 {
    match &args.platform {
        CiPlatform::Github(a) => github::run(a, cli),
        CiPlatform::Gitlab(a) => gitlab::run(a, cli),
        CiPlatform::Jenkins(a) => jenkins::run(a, cli),
    }
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum CommentMode {
    Always,
    OnFailure,
    Never,
}

impl From<CommentMode> for flow::CommentMode {
    fn from(m: CommentMode) -> flow::CommentMode {
        match m {
            CommentMode::Always => flow::CommentMode::Always,
            CommentMode::OnFailure => flow::CommentMode::OnFailure,
            CommentMode::Never => flow::CommentMode::Never,
        }
    }
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum PolicyRef {
    /// The checked-out commit.
    Head,
    /// The change's base commit (`git show`), so a PR/MR cannot weaken the policies that judge it.
    Base,
}

/// stdout through `out!` (which records write errors for `main`), stderr as it is.
pub struct Terminal;

impl Console for Terminal {
    fn out(&self, text: &str) {
        crate::out!("{text}");
    }

    fn err(&self, line: &str) {
        eprintln!("{line}");
    }
}

/// The process environment.
pub fn env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// The time of the run (`BYLAW_NOW` or now); `Err` is the exit code.
fn now(color: bool) -> Result<DateTime<Utc>, u8> {
    bylaw_ci::env::now(&env).map_err(|m| usage_error(&m, None, color))
}

/// What every platform's run starts with: the [`Runner`] of `args` (its
/// config loaded) and the time of the run; `Err` is the exit code.
pub fn start<'c>(args: &RunArgs, cli: &'c Cli, color: bool) -> Result<(Runner<'c>, DateTime<Utc>), u8> {
    let runner = Runner::new(args, cli)?;
    Ok((runner, now(color)?))
}

/// A retry backoff in milliseconds from variable `name` (tests shorten it).
pub fn backoff(name: &str) -> Option<std::time::Duration> {
    env(name).and_then(|v| v.parse::<u64>().ok()).map(std::time::Duration::from_millis)
}

/// What a CI run shares whatever the platform: the flow's options.
pub struct Common<'a> {
    pub run: &'a RunArgs,
    pub policy_ref: PolicyRef,
    pub comment: CommentMode,
}

/// Runs the CI flow on `host`, publishing through `forge`, evaluating with
/// `runner`. `unpublished` is warned at the end when there is no forge.
pub fn run_flow(
    host: &dyn CiHost,
    forge: Option<&mut dyn bylaw_ci::forge::Forge>,
    runner: &mut Runner<'_>,
    common: Common<'_>,
    now: DateTime<Utc>,
    unpublished: Option<String>,
) -> u8 {
    let opts = flow::Options {
        env: &env,
        now,
        changed_only: common.run.changed_only,
        policies_from_base: common.policy_ref == PolicyRef::Base,
        comment: common.comment.into(),
        unpublished,
    };
    flow::run(host, forge, runner, &Terminal, &opts)
}

/// The binary's evaluation for the CI flow: `bylaw check`'s run
/// (`check::prepare`, `Prepared::catalog`, `Prepared::evaluate`) with the
/// platform's context, the branch environments follow, the approved
/// requests, and the run's own files kept out of the inputs. The one place
/// to re-point when the run becomes a library call.
pub struct Runner<'c> {
    args: RunArgs,
    config: Config,
    cli: &'c Cli,
    color: bool,
    /// The base revision's policies, alive during the run.
    base_dir: Option<tempfile::TempDir>,
    /// The policies as given (`prepare` may point `args` at the base's).
    given_policies: Vec<PathBuf>,
}

impl<'c> Runner<'c> {
    /// Loads the config of `args`; `Err` is the exit code (problems printed).
    pub fn new(args: &RunArgs, cli: &'c Cli) -> Result<Runner<'c>, u8> {
        let color = common::stderr_color(cli);
        let config = common::load_config(args.config.as_deref(), args.no_config, &args.paths, color)?;
        Ok(Runner { args: args.clone(), config, cli, color, base_dir: None, given_policies: args.policies.clone() })
    }
}

/// A prepared run, and the files to write describing the problems if it stops.
pub struct Ready<'a> {
    prepared: Prepared,
    approvers: &'a [String],
    failure: Vec<(Format, PathBuf)>,
    /// The policies at head and at the base, for policy-change approval.
    sources: policy_repo::Sources,

    /// The history store (`--record`, `history:`) and the run's metadata.
    record: Option<(String, bylaw_history::RunMeta)>,
}

impl Evaluator for Runner<'_> {
    type Prepared<'a>
        = Ready<'a>
    where
        Self: 'a;

    fn impact(&mut self, base: &str, changed: &[String]) -> Result<Option<bylaw_report::impact::Impact>, String> {
        self.policy_impact(base, changed)
    }

    fn prepare(&mut self, run: RunRequest) -> Result<Ready<'_>, Stop> {
        let failure: Vec<(Format, PathBuf)> = run.artifacts.iter().map(|a| (a.format, a.path.clone())).collect();
        let sources = policy_repo::Sources {
            sets: policy_repo::source_sets(&self.args.policies, &self.config),
            rego: self.args.rego.options(&self.config),
            config_file: self
                .config
                .file
                .as_ref()
                .map(|f| bylaw_engine::paths::absolute(common::working_dir(), Path::new(f))),
            approvers: self.config.approvers.clone(),
            audit_log: self.config.audit_log.as_ref().map(|p| self.config.resolve(p)),
            working_dir: common::working_dir().to_path_buf(),
            today: Utc::now().date_naive(),
        };
        if let Some(base) = &run.policies_at {
            // the sources in effect in the run's environment, as `prepare` chooses them
            let branch = run.branch.clone().or_else(|| bylaw_ci::env::branch(&bylaw_ci::env::process_env));
            let env = bylaw_run::choose_environment(self.args.env.as_deref(), branch.as_deref(), &self.config);
            let paths = bylaw_run::policy_paths_for(&self.args.policies, &self.config, env.as_deref());
            match bylaw_run::git::policies_at(base, &paths, common::working_dir()) {
                Ok((dir, moved)) => {
                    crate::outln!("bylaw: policies read from the base commit {}", base.chars().take(12).collect::<String>());
                    self.args.policies = moved;
                    self.base_dir = Some(dir);
                }
                Err(m) => return Err(Stop(usage_error(
                    &format!("--policy-ref base: {m}"),
                    Some("fetch the whole history (actions/checkout `fetch-depth: 0`, GitLab `GIT_DEPTH: 0`) so that the base commit is available"),
                    self.color,
                ))),
            }
        }
        let this: &Runner<'_> = self;
        // the platform's facts (environment and time are the run's own)
        let platform = run.context;
        let record = crate::history_cmd::store_of(this.args.record.as_deref(), &this.config).map(|store| {
            let time = DateTime::parse_from_rfc3339(&platform.time)
                .map(|t| t.with_timezone(&Utc))
                .unwrap_or_else(|_| Utc::now());
            let source = bylaw_history::RunSource::Ci;
            (store, crate::history_cmd::meta_of(&platform, time, source, common::working_dir()))
        });
        // the base's copies of the config's own sources are still the config's
        let policies_from_config = this.base_dir.is_some() && this.given_policies.is_empty();
        let additions = RunAdditions {
            context: Some(platform),
            branch: run.branch,
            artifacts: run.written,
            audit_log: None,
            policies_from_config,
        };
        match prepare(&this.args, &this.config, this.cli, additions) {
            Ok(prepared) => Ok(Ready { prepared, approvers: &this.config.approvers, failure, sources, record }),
            Err(code) => {
                write_failure_artifacts(&failure);
                Err(Stop(code))
            }
        }
    }
}

impl Runner<'_> {
    /// `bylaw impact --base BASE` on the checkout, when `changed` holds a
    /// policy file (the flow posts it as the impact comment).
    fn policy_impact(&self, base: &str, changed: &[String]) -> Result<Option<bylaw_report::impact::Impact>, String> {
        let wd = common::working_dir();
        let paths = common::policy_paths(&self.given_policies, &self.config);
        if !bylaw_run::impact::changes_policy_sources(base, &self.config, &paths, wd, changed)? {
            return Ok(None);
        }
        let now = bylaw_ci::env::now(&env)?;
        let request = bylaw_run::impact::ImpactRequest {
            working_dir: wd.to_path_buf(),
            config: self.config.clone(),
            paths: self.args.paths.clone(),
            policies: self.given_policies.clone(),
            exceptions: self.args.exceptions.clone(),
            environment: self.args.env.clone(),
            branch: if self.args.env.is_none() { bylaw_ci::env::branch(&env) } else { None },
            context: bylaw_ci::env::from_env(&env, None, now),
            now,
            include_drafts: self.args.include_drafts,
            rego: self.args.rego.options(&self.config),
            base: base.to_owned(),
            head: None,
            repos: Vec::new(),
            repos_file: None,
            sources: crate::bundle_cmd::source_options(Some(&self.config)),
        };
        bylaw_run::impact::impact(request).map(|o| Some(o.impact)).map_err(|e| e.to_string())
    }
}

impl PreparedRun for Ready<'_> {
    fn catalog(&self) -> Catalog {
        self.prepared.catalog()
    }

    fn approvers(&self) -> Vec<String> {
        self.approvers.to_vec()
    }

    fn policy_repo(&self) -> &dyn bylaw_ci::policy_approval::PolicyRepo {
        &self.sources
    }

    fn evaluate(self, approved: Vec<Exception>) -> Result<Report, Stop> {
        let Ready { prepared, failure, record, .. } = self;
        let (report, scope) = prepared.evaluate_scoped(approved).map_err(|code| {
            write_failure_artifacts(&failure);
            Stop(code)
        })?;
        if let Some((store, mut meta)) = record {
            meta.scope = crate::history_cmd::scope_of(scope);
            crate::history_cmd::record(&store, &report, &meta);
        }
        Ok(report)
    }
}

/// A CI run stopped before evaluating (exit 2): writes its artifacts (SARIF,
/// JUnit, Code Quality) describing the problems (see `check`), so code
/// scanning, test reports and the merge request widget show why the gate failed.
fn write_failure_artifacts(files: &[(Format, PathBuf)]) {
    let diags = common::reported();
    let opts = RenderOptions { automation_category: Some("bylaw".into()), ..RenderOptions::default() };
    for (format, path) in files {
        if common::output_conflict(path).is_some() {
            continue;
        }
        if let Ok(text) = bylaw_report::render_failure(*format, &diags, Default::default(), &opts) {
            if let Err(e) = bylaw_report::write_atomic(path, text.as_bytes()) {
                eprintln!("error: {}", common::cannot_write(path, &e));
            }
        }
    }
}
