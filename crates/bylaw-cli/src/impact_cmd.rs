//! `bylaw impact --base REV [--head REV]`: what a policy change does to
//! the findings of this repository (or of `--repos DIR…`): findings added
//! and removed, enforcement changed, newly blocking, exceptions that would
//! become stale or newly apply, per-rule counts, and the policies and
//! rules changed with their versions. The computation is
//! `bylaw_run::impact`, the rendering `bylaw_report::impact`. Exit 0 (a
//! report, not a gate), 2 on usage, policy or git errors, and when a
//! repository (of `--repos`, `--repos-file` or `impact:` of the config)
//! cannot be read (the impact on the others is still printed).

use crate::common::{self, safe, usage_error, EXIT_ERROR};
use crate::Cli;
use bylaw_ci::env as context;
use clap::{Args, ValueEnum};
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct ImpactArgs {
    /// The revision whose policies are compared (a commit, branch or tag).
    #[arg(long, value_name = "REV")]
    pub base: String,
    /// The revision of the new policies (default: the working tree).
    #[arg(long, value_name = "REV")]
    pub head: Option<String>,
    /// Files or directories to check (default: `paths` of .bylaw.yaml, else the current directory).
    pub paths: Vec<PathBuf>,
    /// A policy file or a directory of policies (repeatable; default: `policies` of .bylaw.yaml).
    #[arg(short = 'p', long = "policy", value_name = "POLICY")]
    pub policies: Vec<PathBuf>,
    /// Project config file (default: .bylaw.yaml in the current directory, if present).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Environment to evaluate for (dev, test, prod, …).
    #[arg(long, value_name = "ENV")]
    pub env: Option<String>,
    /// An exception list file (repeatable; default: `exceptions` of .bylaw.yaml).
    #[arg(long = "exceptions", value_name = "FILE")]
    pub exceptions: Vec<PathBuf>,
    /// Also evaluate policies whose lifecycle is `draft`.
    #[arg(long)]
    pub include_drafts: bool,
    /// Evaluate this repository's policies on these repositories' files
    /// instead (each with its own .bylaw.yaml targets and exceptions), in
    /// parallel (default: `impact.repos`/`impact.repos_file` of .bylaw.yaml).
    #[arg(long, value_name = "DIR", num_args = 1.., conflicts_with_all = ["repos_file", "paths"])]
    pub repos: Vec<PathBuf>,
    /// A file listing repositories for --repos, one path a line (`#` comments).
    #[arg(long, value_name = "FILE", conflicts_with = "paths")]
    pub repos_file: Option<PathBuf>,
    /// Output on standard output.
    #[arg(long, value_enum, default_value_t = ImpactFormat::Text)]
    pub format: ImpactFormat,
    /// Also write the JSON to FILE.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// Also write the Markdown (a PR comment body) to FILE.
    #[arg(long, value_name = "FILE")]
    pub markdown: Option<PathBuf>,
    #[command(flatten)]
    pub rego: crate::rego_args::RegoArgs,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum ImpactFormat {
    Text,
    Json,
    Markdown,
}

pub fn run(args: &ImpactArgs, cli: &Cli) -> u8 {
    let color = common::stderr_color(cli);
    let config = match common::load_config(args.config.as_deref(), false, &args.paths, color) {
        Ok(c) => c,
        Err(code) => return code,
    };
    // a list that cannot be read names no repository to evaluate: a usage
    // error before anything runs (a listed repository that is missing is
    // reported by the impact, the others still evaluated)
    if let Some(f) = &args.repos_file {
        if let Err(m) = bylaw_run::impact::read_repos_file(f) {
            return usage_error(&safe(&m), Some("--repos-file FILE: one repository path a line"), color);
        }
    }
    let env = &context::process_env;
    let now = match context::now(env) {
        Ok(n) => n,
        Err(m) => return usage_error(&m, None, color),
    };
    let config_for_sources = config.clone();
    let request = bylaw_run::impact::ImpactRequest {
        working_dir: common::working_dir().to_path_buf(),
        rego: args.rego.options(&config),
        config,
        paths: args.paths.clone(),
        policies: args.policies.clone(),
        exceptions: args.exceptions.clone(),
        environment: args.env.clone(),
        branch: if args.env.is_none() { context::branch(env) } else { None },
        context: context::from_env(env, None, now),
        now,
        include_drafts: args.include_drafts,
        base: args.base.clone(),
        head: args.head.clone(),
        repos: args.repos.clone(),
        repos_file: args.repos_file.clone(),
        sources: crate::bundle_cmd::source_options(Some(&config_for_sources)),
    };
    let outcome = match bylaw_run::impact::impact(request) {
        Ok(o) => o,
        Err(e) => {
            if let Some(f) = e.failure() {
                common::show_failure(f, color);
            }
            let hint = match &e {
                bylaw_run::impact::ImpactError::Git(_) => Some(
                    "--base/--head name a commit, branch or tag of the repository (`git log --oneline` lists them)",
                ),
                _ => None,
            };
            return usage_error(&format!("impact: {}", safe(&e.to_string())), hint, color);
        }
    };
    common::show(&outcome.messages, color);
    // a repository (`--repos`, `--repos-file`, `impact:`) that cannot be
    // read: shown located, the others are in the impact, and the exit code is 2
    common::show(&outcome.problems, color);
    let impact = &outcome.impact;
    let mut code = if outcome.problems.is_empty() { 0 } else { EXIT_ERROR };
    for (path, text) in
        [(&args.json, bylaw_report::impact::json(impact)), (&args.markdown, bylaw_report::impact::markdown(impact))]
    {
        if let Some(p) = path {
            if let Err(e) = bylaw_report::write_atomic(p, text.as_bytes()) {
                usage_error(&common::cannot_write(p, &e), None, color);
                code = EXIT_ERROR;
            }
        }
    }
    let text = match args.format {
        ImpactFormat::Text => bylaw_report::impact::text(impact),
        ImpactFormat::Json => bylaw_report::impact::json(impact),
        ImpactFormat::Markdown => bylaw_report::impact::markdown(impact),
    };
    crate::out!("{text}");
    code
}
