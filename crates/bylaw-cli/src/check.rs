//! `bylaw check`: evaluate policies against files and the pipeline context,
//! print one format to stdout, write artifacts, exit 0/1/2.

use crate::common::{self, safe, usage_error, EXIT_ERROR};
use crate::Cli;
use bylaw_ci::env as context;
use bylaw_engine::context::PipelineContext;
use bylaw_engine::diagnostic::Code;
use bylaw_engine::report::{FailOn, Report};
use bylaw_report::{Format, RenderOptions};
use clap::Args;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

/// What to evaluate, shared by `check` and `exceptions`.
#[derive(Args, Debug, Clone)]
pub struct RunArgs {
    /// Files or directories to check (default: `paths` of .bylaw.yaml, else the current directory).
    pub paths: Vec<PathBuf>,
    /// A policy file or a directory of policies (repeatable; default: `policies` of .bylaw.yaml).
    #[arg(short = 'p', long = "policy", value_name = "POLICY")]
    pub policies: Vec<PathBuf>,
    /// Project config file (default: .bylaw.yaml in the current directory, if present).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Ignore .bylaw.yaml.
    #[arg(long, conflicts_with = "config")]
    pub no_config: bool,
    /// Environment to evaluate for (dev, test, prod, …); default: from branch patterns in .bylaw.yaml.
    #[arg(long, value_name = "ENV")]
    pub env: Option<String>,
    /// An exception list file (kind: ExceptionList; repeatable; default: `exceptions` of .bylaw.yaml).
    #[arg(long = "exceptions", value_name = "FILE")]
    pub exceptions: Vec<PathBuf>,
    /// Report exceptions expiring within N days as `expiring` (default 14).
    #[arg(long, value_name = "N")]
    pub expiring_days: Option<i64>,
    /// Only evaluate files listed in the pipeline's changed files (BYLAW_CHANGED_FILES).
    #[arg(long)]
    pub changed_only: bool,
    /// Also evaluate policies whose lifecycle is `draft`.
    #[arg(long)]
    pub include_drafts: bool,
    /// Which findings fail the run (exit 1): blocking (default), advisory, never.
    #[arg(long, value_name = "LEVEL", value_parser = parse_fail_on)]
    pub fail_on: Option<FailOn>,
    /// Report the findings a baseline file holds at audit level (they do
    /// not fail the run): only new findings block. SARIF `baselineState`.
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,
    /// Report the findings the same policies find in the files as they
    /// were at git revision REV at audit level: only findings new since
    /// REV block (with --baseline: findings in either are old).
    #[arg(long, value_name = "REV")]
    pub new_since: Option<String>,

    /// Record the run in a history store: an SQLite file (created when
    /// missing) or a postgres:// URL (default: `history` of .bylaw.yaml).
    /// A failed write is a warning; the verdict is unchanged.
    #[arg(long, value_name = "STORE")]
    pub record: Option<String>,
    #[command(flatten)]
    pub rego: crate::rego_args::RegoArgs,
}

#[derive(Args, Debug)]
pub struct CheckArgs {
    #[command(flatten)]
    pub run: RunArgs,
    /// Output format on stdout, or FORMAT=FILE to write a file (repeatable):
    /// text, json, sarif, junit, markdown, codequality.
    #[arg(long = "format", short = 'f', value_name = "FORMAT[=FILE]")]
    pub formats: Vec<String>,
    /// Also write SARIF 2.1.0 to FILE.
    #[arg(long, value_name = "FILE")]
    pub sarif: Option<PathBuf>,
    /// Also write JUnit XML to FILE.
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// Also write the JSON report to FILE.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// Also write a Markdown summary to FILE.
    #[arg(long, value_name = "FILE")]
    pub markdown: Option<PathBuf>,
    /// SARIF automation category (runAutomationDetails.id), default `bylaw`.
    #[arg(long, value_name = "NAME", default_value = "bylaw")]
    pub sarif_category: String,
    /// Print at most N findings in the text output (default 200; 0 prints none).
    /// Every finding is always in the SARIF, JSON and JUnit outputs.
    #[arg(long, value_name = "N", default_value_t = 200)]
    pub max_findings: usize,
    /// Print only the summary (text output), not the findings.
    #[arg(long, short = 'q')]
    pub quiet: bool,
    /// Append to the audit log even when it does not end where its anchor
    /// (`LOG.head`) says, after a reviewed repair.
    #[arg(long)]
    pub audit_force: bool,
    /// Append this run's decisions to a hash-chained JSON Lines audit log.
    #[arg(long, value_name = "FILE")]
    pub audit_log: Option<PathBuf>,
    /// Write this run's findings to FILE as a baseline for `--baseline`.
    #[arg(long, value_name = "FILE")]
    pub write_baseline: Option<PathBuf>,
    /// Print what each file under PATHS is read as (format, how it was
    /// chosen, the types of its documents) and evaluate nothing.
    #[arg(long)]
    pub format_of: bool,
}

fn parse_fail_on(s: &str) -> Result<FailOn, String> {
    match s {
        "blocking" => Ok(FailOn::Blocking),
        "advisory" => Ok(FailOn::Advisory),
        "never" => Ok(FailOn::Never),
        _ => Err(format!("`{s}` is not one of: blocking, advisory, never")),
    }
}

/// Outputs requested: the one format for stdout, and files.
struct Outputs {
    stdout: Format,
    files: Vec<(Format, PathBuf)>,
}

fn outputs(args: &CheckArgs, config: &bylaw_engine::config::Config) -> Result<Outputs, String> {
    let parse = |name: &str| -> Result<Format, String> {
        name.parse::<Format>()
            .map_err(|_| format!("unknown format `{name}`: expected one of {}", Format::NAMES.join(", ")))
    };
    let mut stdout = None;
    let mut files = Vec::new();
    for f in &args.formats {
        match f.split_once('=') {
            Some((name, path)) if !path.is_empty() => files.push((parse(name)?, PathBuf::from(path))),
            Some((name, _)) => return Err(format!("`--format {name}=` needs a file name after `=`")),
            None => {
                if stdout.is_some() {
                    return Err("only one --format can go to stdout; write the others to files with FORMAT=FILE".into());
                }
                stdout = Some(parse(f)?);
            }
        }
    }
    let stdout = match stdout {
        Some(f) => f,
        None => match &config.outputs.format {
            Some(name) => parse(name)?,
            None => Format::Text,
        },
    };
    files.extend(flag_files(args, config));
    Ok(Outputs { stdout, files })
}

/// The files of `--sarif`, `--junit`, `--json` and `--markdown`, each
/// flag winning over its key in the config's `outputs`.
fn flag_files(args: &CheckArgs, config: &bylaw_engine::config::Config) -> Vec<(Format, PathBuf)> {
    let cfg = &config.outputs;
    let mut files = Vec::new();
    for (format, flag, conf) in [
        (Format::Sarif, &args.sarif, &cfg.sarif),
        (Format::Junit, &args.junit, &cfg.junit),
        (Format::Json, &args.json, &cfg.json),
        (Format::Markdown, &args.markdown, &cfg.markdown),
    ] {
        if let Some(p) = flag {
            files.push((format, p.clone()));
        } else if let Some(p) = conf {
            files.push((format, config.resolve(p)));
        }
    }
    files
}

/// The report files of `args` whose format is known, when [`outputs`]
/// refuses the set (an unknown format, two formats on stdout).
fn salvaged_outputs(args: &CheckArgs, config: &bylaw_engine::config::Config) -> Outputs {
    let mut files: Vec<(Format, PathBuf)> = args
        .formats
        .iter()
        .filter_map(|f| f.split_once('='))
        .filter_map(|(name, path)| Some((name.parse::<Format>().ok()?, PathBuf::from(path))))
        .filter(|(_, p)| !p.as_os_str().is_empty())
        .collect();
    files.extend(flag_files(args, config));
    Outputs { stdout: Format::Text, files }
}

/// After a usage error of `bylaw check` (clap refused the arguments, so
/// there are no parsed options): writes a failure report to every report
/// file `args` names with a known format (`--sarif F`, `--junit F`,
/// `--json F`, `--markdown F`, `-f FORMAT=F`, also as `--flag=F`), so no
/// report of an earlier run is left looking current. Anything else is
/// left alone.
pub fn write_usage_failure(args: &[std::ffi::OsString], message: &str) {
    let args: Vec<String> = args.iter().map(|a| a.to_string_lossy().into_owned()).collect();
    let mut files: Vec<(Format, PathBuf)> = Vec::new();
    let mut stdout: Option<Format> = None;
    let mut i = match (args.get(1).map(String::as_str), args.get(2).map(String::as_str)) {
        (Some("check"), _) => {
            // the config's `outputs:` too, read quietly (its own errors are
            // not this run's to report): those a flag does not replace
            let named = |flag: &str| args.iter().any(|a| a == flag || a.starts_with(&format!("{flag}=")));
            let config = if named("--no-config") {
                None
            } else {
                let explicit =
                    args.iter().position(|a| a == "--config").and_then(|i| args.get(i + 1)).map(PathBuf::from);
                let explicit = explicit.map(bylaw_run::ConfigChoice::File).unwrap_or(bylaw_run::ConfigChoice::Find);
                common::try_working_dir().and_then(|wd| bylaw_run::load_config(&explicit, &[], wd).ok())
            };
            if let Some(config) = config {
                let o = &config.outputs;
                for (flag, format, path) in [
                    ("--sarif", Format::Sarif, &o.sarif),
                    ("--junit", Format::Junit, &o.junit),
                    ("--json", Format::Json, &o.json),
                    ("--markdown", Format::Markdown, &o.markdown),
                ] {
                    if let (Some(p), false) = (path, named(flag)) {
                        files.push((format, config.resolve(p)));
                    }
                }
            }
            2
        }
        // `bylaw ci PLATFORM`: its report files by default too (`--sarif`,
        // `--junit`, `--codequality`), as clap declares them
        (Some("ci"), Some(platform)) => {
            use clap::CommandFactory;
            let cli = crate::Cli::command();
            let Some(cmd) = cli.find_subcommand("ci").and_then(|c| c.find_subcommand(platform)) else { return };
            for (id, format) in
                [("sarif", Format::Sarif), ("junit", Format::Junit), ("codequality", Format::Codequality)]
            {
                let default =
                    cmd.get_arguments().find(|a| a.get_id() == id).and_then(|a| a.get_default_values().first());
                let named = args.iter().any(|a| a == &format!("--{id}") || a.starts_with(&format!("--{id}=")));
                if let (Some(d), false) = (default, named) {
                    files.push((format, PathBuf::from(d)));
                }
            }
            3
        }
        _ => return,
    };
    while i < args.len() {
        let (flag, inline) = match args[i].split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f, Some(v.to_owned())),
            // `-fjson=F`, `-f=json=F`
            _ if args[i].starts_with("-f") && args[i].len() > 2 => {
                ("-f", Some(args[i][2..].strip_prefix('=').unwrap_or(&args[i][2..]).to_owned()))
            }
            _ => (args[i].as_str(), None),
        };
        let takes =
            matches!(flag, "--sarif" | "--junit" | "--json" | "--markdown" | "--codequality" | "--format" | "-f");
        let value = match (takes, inline) {
            (false, _) => None,
            (true, Some(v)) => Some(v),
            (true, None) => {
                i += 1;
                args.get(i).cloned()
            }
        };
        if let Some(v) = value {
            let file = match flag {
                "--sarif" => Some((Format::Sarif, v)),
                "--junit" => Some((Format::Junit, v)),
                "--json" => Some((Format::Json, v)),
                "--markdown" => Some((Format::Markdown, v)),
                "--codequality" => Some((Format::Codequality, v)),
                _ => match v.split_once('=') {
                    Some((n, p)) => n.parse::<Format>().ok().map(|f| (f, p.to_owned())),
                    None => {
                        stdout = v.parse::<Format>().ok().or(stdout);
                        None
                    }
                },
            };
            if let Some((format, path)) = file.filter(|(_, p)| !p.is_empty()) {
                files.push((format, PathBuf::from(path)));
            }
        }
        i += 1;
    }
    let mut d = bylaw_engine::diagnostic::Diagnostic::error(Code::Usage, "", None, message);
    d.hint = Some("see `bylaw check --help`".into());
    let opts = RenderOptions { automation_category: Some("bylaw".into()), ..RenderOptions::default() };
    for (format, path) in files {
        if common::output_conflict(&path).is_some() {
            continue;
        }
        if let Ok(text) = bylaw_report::render_failure(format, std::slice::from_ref(&d), FailOn::default(), &opts) {
            if let Err(e) = bylaw_report::write_atomic(&path, text.as_bytes()) {
                eprintln!("error: {}", common::cannot_write(&path, &e));
            }
        }
    }
    // a machine-readable format asked on standard output gets the same
    // document (text is the error on stderr already)
    if let Some(format) = stdout.filter(|f| *f != Format::Text) {
        if let Ok(text) = bylaw_report::render_failure(format, std::slice::from_ref(&d), FailOn::default(), &opts) {
            crate::out!("{text}");
        }
    }
}

pub fn run(args: &CheckArgs, cli: &Cli) -> u8 {
    let ecolor = common::stderr_color(cli);
    let config = match common::load_config(args.run.config.as_deref(), args.run.no_config, &args.run.paths, ecolor) {
        Ok(c) if args.format_of => return format_of(args, c, cli),
        Ok(c) => c,
        Err(code) => {
            // the artifacts named on the command line still say why
            if let Ok(o) = outputs(args, &bylaw_engine::config::Config::default()) {
                write_failure(&o, args, ecolor);
            }
            return code;
        }
    };
    let outputs = match outputs(args, &config) {
        Ok(o) => o,
        Err(m) => {
            let code = usage_error(&m, Some("see `bylaw check --help`"), ecolor);
            // the report files that are named well still say why
            write_failure(&salvaged_outputs(args, &config), args, ecolor);
            return code;
        }
    };
    // a report path that is an input or standard output is refused before
    // anything is written
    let mut conflicts = common::refused_outputs(outputs.files.iter().map(|(_, p)| p.as_path()));
    // nor is an audit log appended to an input (YAML or JSON that is not a log)
    let audit = args.audit_log.clone().or_else(|| config.audit_log.as_ref().map(|p| config.resolve(p)));
    if let Some(p) = audit.as_ref().filter(|p| common::is_input_not_audit_log(p)) {
        conflicts.push(format!("{}: an existing YAML or JSON file that is not an audit log", p.display()));
    }
    // a baseline replaces only an earlier baseline: never a lock file, a
    // report, a bundle or any other file, whatever its name
    let reports_refused = !conflicts.is_empty();
    let mut baseline_refused = false;
    if let Some(p) = args.write_baseline.as_ref().filter(|p| p.is_file() || p.is_symlink()) {
        if bylaw_engine::baseline::Baseline::read(p, &p.display().to_string()).is_err() {
            conflicts.push(format!("{}: an existing file that is not a bylaw baseline", p.display()));
            baseline_refused = true;
        }
    }
    if !conflicts.is_empty() {
        // the hint speaks of what was refused: a report, a baseline or both
        let report_hint = "choose another path for the report (e.g. under a `reports/` directory); `--format F` prints F on standard output";
        let baseline_hint = "choose another path for the baseline (e.g. `bylaw-baseline.json`): `--write-baseline` replaces only a baseline bylaw wrote";
        let hint = match (reports_refused, baseline_refused) {
            (true, true) => format!("{report_hint}; {baseline_hint}"),
            (false, true) => baseline_hint.to_owned(),
            _ => report_hint.to_owned(),
        };
        let code = usage_error(&format!("refusing to write {}", safe(&conflicts.join("; "))), Some(&hint), ecolor);
        // the other report files still say why (the refused ones are left alone)
        write_failure(&outputs, args, ecolor);
        return code;
    }
    // the artifacts of this run (and of the last one) are not inputs, nor
    // are the baselines it reads and writes
    let artifacts = outputs.files.iter().map(|(_, p)| p.clone()).chain(args.write_baseline.iter().cloned()).collect();
    let additions = RunAdditions { artifacts, audit_log: args.audit_log.clone(), ..RunAdditions::default() };
    let audit_config = config.audit_log.as_ref().map(|p| config.resolve(p));
    let evaluated = prepare(&args.run, &config, cli, additions).and_then(|p| p.evaluate_scoped(Vec::new()));
    let (report, scope) = match evaluated {
        Ok(r) => r,
        Err(code) => {
            write_failure(&outputs, args, ecolor);
            return code;
        }
    };
    let mut clock = std::time::Instant::now();
    let mut code = emit(&report, &outputs, args, cli);
    if let Some(path) = &args.write_baseline {
        let baseline = bylaw_engine::baseline::Baseline::of(&report);
        match baseline.write(path, &path.display().to_string()) {
            Ok(()) => eprintln!(
                "wrote the baseline {} ({} finding{})",
                safe(&path.display().to_string()),
                baseline.findings.len(),
                if baseline.findings.len() == 1 { "" } else { "s" }
            ),
            Err(e) => {
                usage_error(&e.to_string(), None, ecolor);
                code = EXIT_ERROR;
            }
        }
    }
    common::phase_done("write outputs", &mut clock);
    if let Some(path) = args.audit_log.clone().or(audit_config) {
        let now = context::now(&context::process_env).unwrap_or_else(|_| bylaw_engine::chrono::Utc::now());
        let time = now.to_rfc3339_opts(bylaw_engine::chrono::SecondsFormat::Secs, true);
        let events = bylaw_report::audit_log::run_events(&report);
        match bylaw_report::audit_log::append_checked(&path, events, &time, args.audit_force) {
            // where the log now ends, for the CI output (deleting entries later shows)
            Ok(end) => eprintln!("audit log {}: seq {} head {}", safe(&path.display().to_string()), end.seq, end.head),
            Err(e) => {
                usage_error(&format!("cannot append to the audit log {}: {e}", path.display()), None, ecolor);
                code = EXIT_ERROR;
            }
        }
    }
    if let Some(store) = crate::history_cmd::store_of(args.run.record.as_deref(), &config) {
        clock = std::time::Instant::now();
        let env = &context::process_env;
        let now = context::now(env).unwrap_or_else(|_| bylaw_engine::chrono::Utc::now());
        let ctx = context::from_env(env, None, now);
        let mut meta = crate::history_cmd::meta_of(&ctx, now, bylaw_history::RunSource::Check, common::working_dir());
        meta.scope = crate::history_cmd::scope_of(scope);
        crate::history_cmd::record(&store, &report, &meta);
        common::phase_done("record history", &mut clock);
    }
    // the process exits next: the report's findings (a few allocations
    // each, 100,000 or more in a big run) are not freed one by one
    std::mem::forget(report);
    code
}

/// `check --format-of`: one line per file on stdout, `PATH as FORMAT (HOW;
/// TYPES)`; what the run says besides on stderr. Exit 0, or 2 when the run
/// could not start (a missing path, a bad config).
fn format_of(args: &CheckArgs, config: bylaw_engine::config::Config, cli: &Cli) -> u8 {
    let color = common::stderr_color(cli);
    let mut request = match request(&args.run, config, cli, RunAdditions::default()) {
        Ok(r) => r,
        Err(code) => return code,
    };
    request.format_of = true;
    match bylaw_run::run(request) {
        Ok(outcome) => {
            let (files, other): (Vec<_>, Vec<_>) =
                outcome.messages.into_iter().partition(|m| matches!(m, bylaw_run::Message::Files(_)));
            common::show(&other, color);
            let mut out = std::io::stdout().lock();
            for m in files {
                if let bylaw_run::Message::Files(lines) = m {
                    for l in &lines {
                        let line = match (l.strip_prefix("read     "), l.strip_prefix("skipped  ")) {
                            (Some(read), _) => read.to_owned(),
                            (_, Some(skipped)) => match skipped.rsplit_once(" (") {
                                Some((path, why)) => format!("{path} not read ({why}"),
                                None => format!("{skipped} not read"),
                            },
                            _ => l.clone(),
                        };
                        let _ = writeln!(out, "{}", safe(&line));
                    }
                }
            }
            0
        }
        Err(failure) => common::show_failure(&failure, color),
    }
}

/// What a front end adds to a run of [`RunArgs`] beyond the arguments: a CI
/// adapter's platform context and branch, and the files the run writes.
#[derive(Default)]
pub struct RunAdditions {
    /// The platform's pipeline context (the CI adapter's), used instead of
    /// the one read from generic environment variables; its environment and
    /// time are the run's own.
    pub context: Option<PipelineContext>,
    /// The branch environments are chosen by (e.g. a PR's base).
    pub branch: Option<String>,
    /// Files the run writes (SARIF, JSON, …): never evaluated as inputs.
    pub artifacts: Vec<PathBuf>,
    /// The audit log the run appends to: bylaw's own file, not an input.
    pub audit_log: Option<PathBuf>,
    /// The policies are the config's, read from the base revision.
    pub policies_from_config: bool,
}

/// Loads policies and exceptions, discovers the files, evaluates them and
/// applies exceptions. Problems are printed; `Err` carries the exit code (2).
pub fn evaluate(args: &RunArgs, config: &bylaw_engine::config::Config, cli: &Cli) -> Result<Report, u8> {
    evaluate_with(args, config, cli, RunAdditions::default())
}

/// [`evaluate`] with a front end's [`RunAdditions`].
pub fn evaluate_with(
    args: &RunArgs,
    config: &bylaw_engine::config::Config,
    cli: &Cli,
    additions: RunAdditions,
) -> Result<Report, u8> {
    prepare(args, config, cli, additions)?.evaluate(Vec::new())
}

/// A run with its policies compiled and exception lists loaded, not yet
/// evaluated: what exception requests are resolved against
/// ([`Prepared::catalog`]) before [`Prepared::evaluate`].
pub struct Prepared {
    prepared: bylaw_run::Prepared,
    color: bool,
}

/// The [`bylaw_run::Request`] of `args`, with the generic pipeline context
/// of the process environment (`bylaw_ci::env`) or a CI adapter's, and the
/// front end's [`RunAdditions`].
/// `Err` carries the exit code (2) of a printed usage error.
pub fn request(
    args: &RunArgs,
    config: bylaw_engine::config::Config,
    cli: &Cli,
    additions: RunAdditions,
) -> Result<bylaw_run::Request, u8> {
    let env = &context::process_env;
    let now = context::now(env).map_err(|m| usage_error(&m, None, common::stderr_color(cli)))?;
    let mut request = bylaw_run::Request::new(common::working_dir().to_path_buf(), config, now);
    request.paths = args.paths.clone();
    if request.paths.iter().any(|p| p.as_os_str() == "-") {
        request.stdin = Some(Box::new(std::io::stdin()));
    }
    request.policies = args.policies.clone();
    request.policies_from_config = additions.policies_from_config;
    request.exceptions = args.exceptions.clone();
    request.environment = args.env.clone();
    if request.environment.is_none() {
        request.branch = additions.branch.or_else(|| context::branch(env));
    }
    request.context = match additions.context {
        Some(platform) => PipelineContext {
            environment: None,
            time: now.to_rfc3339_opts(bylaw_engine::chrono::SecondsFormat::Secs, true),
            ..platform
        },
        None => context::from_env(env, None, now),
    };
    request.expiring_days = args.expiring_days;
    request.changed_only = args.changed_only;
    request.include_drafts = args.include_drafts;
    request.fail_on = args.fail_on;
    request.artifacts = additions.artifacts;
    request.audit_log = additions.audit_log;
    request.list_files = cli.verbose > 0;
    request.baseline = args.baseline.clone();
    request.new_since = args.new_since.clone();
    request.rego = args.rego.options(&request.config);
    request.sources = crate::bundle_cmd::source_options(Some(&request.config));
    Ok(request)
}

/// Loads the config's policies and exception lists (the first half of
/// [`evaluate_with`]). Problems are printed; `Err` carries the exit code (2).
pub fn prepare(
    args: &RunArgs,
    config: &bylaw_engine::config::Config,
    cli: &Cli,
    additions: RunAdditions,
) -> Result<Prepared, u8> {
    let color = common::stderr_color(cli);
    let request = request(args, config.clone(), cli, additions)?;
    match bylaw_run::prepare(request) {
        Ok(prepared) => Ok(Prepared { prepared, color }),
        Err(failure) => Err(common::show_failure(&failure, color)),
    }
}

impl Prepared {
    /// The policies and rules of the run (exception requests name them).
    pub fn catalog(&self) -> bylaw_engine::report::Catalog {
        self.prepared.catalog()
    }

    /// Discovers the files, evaluates them and applies the exception lists
    /// and `approved` (exceptions from approved requests). What the run
    /// says is printed; `Err` carries the exit code (2).
    pub fn evaluate(self, approved: Vec<bylaw_engine::exceptions::Exception>) -> Result<Report, u8> {
        self.evaluate_scoped(approved).map(|(report, _)| report)
    }

    /// [`Prepared::evaluate`], and what part of the project the run
    /// evaluated (`None`: all of it), for the history store.
    pub fn evaluate_scoped(
        self,
        approved: Vec<bylaw_engine::exceptions::Exception>,
    ) -> Result<(Report, Option<bylaw_run::Scope>), u8> {
        let color = self.color;
        match self.prepared.evaluate(approved) {
            Ok(outcome) => {
                common::show(&outcome.messages, color);
                Ok((outcome.report, outcome.scope))
            }
            Err(failure) => Err(common::show_failure(&failure, color)),
        }
    }
}

fn emit(report: &Report, outputs: &Outputs, args: &CheckArgs, cli: &Cli) -> u8 {
    let ecolor = common::stderr_color(cli);
    let mut failed_writes = 0;
    let link_base = Some(context::link_base(&context::process_env));
    for (format, path) in &outputs.files {
        let opts = RenderOptions {
            color: false,
            automation_category: Some(args.sarif_category.clone()),
            link_base: link_base.clone(),
            ..RenderOptions::default()
        };
        let written =
            bylaw_report::write_atomic_with(path, &mut |w| bylaw_report::render_to(*format, report, &opts, w));
        if let Err(e) = written {
            failed_writes += 1;
            usage_error(&common::cannot_write(Path::new(path), &e), None, ecolor);
        }
    }
    let opts = RenderOptions {
        color: common::use_color(cli, std::io::stdout().is_terminal()),
        automation_category: Some(args.sarif_category.clone()),
        max_findings: Some(args.max_findings),
        quiet: args.quiet,
        link_base,
        ..RenderOptions::default()
    };
    let sarif_wanted = outputs.stdout == Format::Sarif || outputs.files.iter().any(|(f, _)| *f == Format::Sarif);
    if sarif_wanted {
        if let Some(w) = bylaw_report::sarif_limits(report) {
            eprintln!("warning: {w}");
        }
    }
    let mut out = std::io::BufWriter::with_capacity(1 << 16, std::io::stdout().lock());
    if let Err(e) = bylaw_report::render_to(outputs.stdout, report, &opts, &mut out).and_then(|_| out.flush()) {
        // a report nobody received must not look like a pass (`> /dev/full`):
        // `main` says so and exits 2
        common::remember_stdout_error(&e);
        return EXIT_ERROR;
    }
    if failed_writes > 0 {
        return EXIT_ERROR;
    }
    report.exit_code() as u8
}

/// A run that stops before evaluating (exit 2) still writes every file it
/// was asked for, describing the failure (DESIGN §7): SARIF with the located
/// problems and `executionSuccessful: false`, JUnit with an errored test
/// case, the JSON report with verdict `error` and its located `errors`, Code
/// Quality issues where the problems are written, Markdown and text with the
/// list; so code scanning and test reports show why instead of nothing, and
/// no artifact of an earlier run is left looking current. A machine-readable
/// format on standard output gets the same document (text is already on
/// stderr).
fn write_failure(outputs: &Outputs, args: &CheckArgs, ecolor: bool) {
    let diags = common::reported();
    let opts = RenderOptions { automation_category: Some(args.sarif_category.clone()), ..RenderOptions::default() };
    let fail_on = args.run.fail_on.unwrap_or_default();
    for (format, path) in &outputs.files {
        if common::output_conflict(path).is_some() {
            continue;
        }
        let text = bylaw_report::render_failure(*format, &diags, fail_on, &opts);
        if let Err(e) = text.and_then(|t| bylaw_report::write_atomic(path, t.as_bytes())) {
            usage_error(&common::cannot_write(path, &e), None, ecolor);
        }
    }
    if outputs.stdout != Format::Text {
        if let Ok(text) = bylaw_report::render_failure(outputs.stdout, &diags, fail_on, &opts) {
            crate::out!("{text}");
        }
    }
}
