//! `bylaw check`: evaluate policies against files and the pipeline context,
//! print one format to stdout, write artifacts, exit 0/1/2.

use crate::common::{self, safe, usage_error, EXIT_ERROR};
use crate::Cli;
use bylaw_ci::env as context;
use bylaw_engine::compile::{CompileOptions, FileMatcher};
use bylaw_engine::context::PipelineContext;
use bylaw_engine::diagnostic::Code;
use bylaw_engine::discover::{self, SkipReason};
use bylaw_engine::eval::RunOptions;
use bylaw_engine::exceptions;
use bylaw_engine::paths::{canonical, ProjectRoot};
use bylaw_engine::report::{Enforcement, FailOn, Report};
use bylaw_report::{Format, RenderOptions};
use clap::Args;
use std::collections::HashSet;
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
                explicit
                    .or_else(|| bylaw_engine::paths::find_config(bylaw_engine::config::CONFIG_NAMES, &[]))
                    .and_then(|p| bylaw_engine::config::Config::load(&p).ok())
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
    if !conflicts.is_empty() {
        let code = usage_error(
            &format!("refusing to write {}", safe(&conflicts.join("; "))),
            Some("choose another path for the report (e.g. under a `reports/` directory); `--format F` prints F on standard output"),
            ecolor,
        );
        // the other report files still say why (the refused ones are left alone)
        write_failure(&outputs, args, ecolor);
        return code;
    }
    // the artifacts of this run (and of the last one) are not inputs
    let artifacts = outputs.files.iter().map(|(_, p)| p.clone()).collect();
    let overrides = Overrides { artifacts, audit_log: args.audit_log.clone(), ..Overrides::default() };
    let report = match evaluate_with(&args.run, &config, cli, overrides) {
        Ok(r) => r,
        Err(code) => {
            write_failure(&outputs, args, ecolor);
            return code;
        }
    };
    let mut clock = std::time::Instant::now();
    let mut code = emit(&report, &outputs, args, cli);
    common::phase_done("write outputs", &mut clock);
    let audit = args.audit_log.clone().or_else(|| config.audit_log.as_ref().map(|p| config.resolve(p)));
    if let Some(path) = audit {
        let now = context::now(&|k: &str| std::env::var(k).ok()).unwrap_or_else(|_| bylaw_engine::chrono::Utc::now());
        let time = now.to_rfc3339_opts(bylaw_engine::chrono::SecondsFormat::Secs, true);
        let events = bylaw_report::audit::run_events(&report);
        match bylaw_report::audit::append_checked(&path, events, &time, args.audit_force) {
            // where the log now ends, for the CI output (deleting entries later shows)
            Ok(end) => eprintln!("audit log {}: seq {} head {}", safe(&path.display().to_string()), end.seq, end.head),
            Err(e) => {
                usage_error(&format!("cannot append to the audit log {}: {e}", path.display()), None, ecolor);
                code = EXIT_ERROR;
            }
        }
    }
    // the process exits next: the report's findings (a few allocations
    // each, 100,000 or more in a big run) are not freed one by one
    std::mem::forget(report);
    code
}

/// What a CI adapter adds to a run.
#[derive(Default)]
pub struct Overrides<'a> {
    /// Builds `ctx` from the generic one (for the platform's facts).
    pub ctx: Option<Box<dyn Fn(PipelineContext) -> PipelineContext + 'a>>,
    /// The branch environments are chosen by (e.g. a PR's base).
    pub branch: Option<String>,
    /// Files the run writes (SARIF, JSON, …): never evaluated as inputs.
    pub artifacts: Vec<PathBuf>,
    /// The audit log the run appends to: bylaw's own file, not an input.
    pub audit_log: Option<PathBuf>,
}

/// Loads policies and exceptions, discovers the files, evaluates them and
/// applies exceptions. Problems are printed; `Err` carries the exit code (2).
pub fn evaluate(args: &RunArgs, config: &bylaw_engine::config::Config, cli: &Cli) -> Result<Report, u8> {
    evaluate_with(args, config, cli, Overrides::default())
}

/// [`evaluate`] with a CI adapter's overrides.
pub fn evaluate_with(
    args: &RunArgs,
    config: &bylaw_engine::config::Config,
    cli: &Cli,
    overrides: Overrides<'_>,
) -> Result<Report, u8> {
    prepare(args, config, cli, overrides)?.evaluate(Vec::new())
}

/// A run with its policies compiled and exception lists loaded, not yet
/// evaluated: what exception requests are resolved against
/// ([`Prepared::catalog`]) before [`Prepared::evaluate`].
pub struct Prepared<'a> {
    args: &'a RunArgs,
    config: &'a bylaw_engine::config::Config,
    cli: &'a Cli,
    overrides: Overrides<'a>,
    now: bylaw_engine::chrono::DateTime<bylaw_engine::chrono::Utc>,
    environment: Option<String>,
    set: bylaw_engine::compile::PolicySet,
    loaded: bylaw_engine::loader::Loaded,
    exception_paths: Vec<PathBuf>,
    exception_list: Vec<bylaw_engine::exceptions::Exception>,
    clock: std::time::Instant,
}

/// Loads the config's policies and exception lists (the first half of
/// [`evaluate_with`]). Problems are printed; `Err` carries the exit code (2).
pub fn prepare<'a>(
    args: &'a RunArgs,
    config: &'a bylaw_engine::config::Config,
    cli: &'a Cli,
    overrides: Overrides<'a>,
) -> Result<Prepared<'a>, u8> {
    let ecolor = common::stderr_color(cli);
    let mut clock = std::time::Instant::now();
    let policy_paths = common::policy_paths(&args.policies, config);
    if policy_paths.is_empty() {
        return Err(usage_error(
            "no policies to evaluate",
            Some("pass `-p POLICY` (a file or directory), or list `policies:` in .bylaw.yaml"),
            ecolor,
        ));
    }
    let env_lookup = |k: &str| std::env::var(k).ok();
    let now = context::now(&env_lookup).map_err(|m| usage_error(&m, None, ecolor))?;
    let environment = args
        .env
        .clone()
        .or_else(|| {
            overrides
                .branch
                .clone()
                .or_else(|| context::branch(&env_lookup))
                .and_then(|b| config.environment_for_branch(&b))
        })
        .or_else(|| config.env.clone());
    let options = CompileOptions {
        environment: environment.clone(),
        today: now.date_naive(),
        include_drafts: args.include_drafts || config.include_drafts.unwrap_or(false),
    };
    let (set, loaded) = common::load_and_compile(&policy_paths, options, ecolor)?;
    common::phase_done("load and compile policies", &mut clock);
    let exception_paths: Vec<PathBuf> = if !args.exceptions.is_empty() {
        args.exceptions.clone()
    } else {
        config.exceptions.iter().map(|p| config.resolve(p)).collect()
    };
    let exception_list = match exceptions::load(&exception_paths) {
        Ok(list) => list,
        Err((diags, sources)) => {
            let sources = sources.into_iter().map(|(k, v)| (k, std::sync::Arc::from(v))).collect();
            common::print_diagnostics(&diags, &sources, ecolor);
            let n = diags.len();
            return Err(common::summary_error(
                &format!("{n} error{} in exception lists; nothing was evaluated", if n == 1 { "" } else { "s" }),
                Some("`bylaw schema exceptions` prints the format"),
                ecolor,
            ));
        }
    };

    Ok(Prepared { args, config, cli, overrides, now, environment, set, loaded, exception_paths, exception_list, clock })
}

impl Prepared<'_> {
    /// The policies and rules of the run (exception requests name them).
    pub fn catalog(&self) -> bylaw_engine::report::Catalog {
        self.set.catalog()
    }

    /// Discovers the files, evaluates them and applies the exception lists
    /// and `approved` (exceptions from approved requests). Problems are
    /// printed; `Err` carries the exit code (2).
    pub fn evaluate(self, approved: Vec<bylaw_engine::exceptions::Exception>) -> Result<Report, u8> {
        let Prepared {
            args,
            config,
            cli,
            overrides,
            now,
            environment,
            set,
            loaded,
            exception_paths,
            mut exception_list,
            mut clock,
        } = self;
        exception_list.extend(approved);
        let ecolor = common::stderr_color(cli);
        let env_lookup = |k: &str| std::env::var(k).ok();
        let targets = FileMatcher::new(&config.targets).map_err(|(i, m)| {
            usage_error(&format!("invalid glob `{}` in `targets` of the config: {m}", config.targets[i]), None, ecolor)
        })?;
        let paths: Vec<PathBuf> = if !args.paths.is_empty() {
            args.paths.clone()
        } else if !config.paths.is_empty() {
            config.paths.iter().map(|p| config.resolve(p)).collect()
        } else {
            vec![config.base_dir.clone()]
        };
        let root = project_root(config, &paths);
        // bylaw's own files are never inputs
        // only files that hold policies (or their bases) stop being inputs: a
        // manifest in a policy directory is still checked
        let policy_files =
            loaded.policies.iter().flat_map(|p| std::iter::once(&p.file).chain(p.origins.iter().map(|o| &o.file)));
        let mut exclude: HashSet<PathBuf> = policy_files
            .filter(|k| !k.starts_with("pack:"))
            .chain(config.file.iter())
            .map(|k| canonical(Path::new(k)))
            .collect();
        exclude.extend(exception_paths.iter().map(|p| canonical(p)));
        // the audit log (a JSON-lines file) is bylaw's own, not an input
        let audit = overrides.audit_log.clone().or_else(|| config.audit_log.as_ref().map(|p| config.resolve(p)));
        exclude.extend(audit.iter().map(|p| canonical(p)));
        let configured_outputs =
            [&config.outputs.sarif, &config.outputs.junit, &config.outputs.json, &config.outputs.markdown];
        let mut artifacts: HashSet<PathBuf> =
            configured_outputs.into_iter().flatten().map(|p| canonical(&config.resolve(p))).collect();
        artifacts.extend(overrides.artifacts.iter().map(|p| canonical(p)));
        // a report path over an input is refused (for `bylaw ci` too; `check`
        // has refused it before getting here)
        let written: Vec<PathBuf> = configured_outputs
            .into_iter()
            .flatten()
            .map(|p| config.resolve(p))
            .chain(overrides.artifacts.iter().cloned())
            .collect();
        let conflicts = common::refused_outputs(written.iter().map(PathBuf::as_path));
        if !conflicts.is_empty() {
            return Err(usage_error(
                &format!("refusing to write {}", safe(&conflicts.join("; "))),
                Some("choose another path for the report (e.g. under a `reports/` directory)"),
                ecolor,
            ));
        }
        let stdin = paths.iter().any(|p| p.as_os_str() == "-");
        let on_disk: Vec<PathBuf> = paths.iter().filter(|p| p.as_os_str() != "-").cloned().collect();
        let tracked = || tracked_but_ignored(&root);
        let filter =
            discover::Filter { targets: targets.as_ref(), exclude: &exclude, artifacts: &artifacts, tracked: &tracked };
        let mut found = discover::discover(&on_disk, &root, &filter);
        common::phase_done("discover files", &mut clock);
        if !found.missing.is_empty() {
            return Err(usage_error(
                &format!("no such file or directory: {}", safe(&found.missing.join(", "))),
                Some("bylaw check [PATHS…]: give existing files or directories (or `-` for standard input)"),
                ecolor,
            ));
        }
        // a FIFO, socket or device named on the command line is an error (one
        // met while walking a directory is skipped with a warning)
        let special: Vec<String> = found
            .skipped
            .iter()
            .filter(|s| s.explicit && s.reason == SkipReason::NotRegular)
            .map(|s| format!("{} ({})", s.path, bylaw_engine::paths::not_regular(&root.resolve(&s.path))))
            .collect();
        if !special.is_empty() {
            return Err(usage_error(
            &format!("not a regular file: {}", safe(&special.join(", "))),
            Some("bylaw reads regular files (and standard input, `-`): write the input to a file, or pipe it: `… | bylaw check -`"),
            ecolor,
        ));
        }
        for l in &found.loops {
            eprintln!("warning: {}", safe(l));
        }
        for s in found.skipped.iter().filter(|s| !s.explicit && s.reason == SkipReason::NotRegular) {
            let what = bylaw_engine::paths::not_regular(&root.resolve(&s.path));
            eprintln!("warning: {}: {what}: not read", safe(&s.path));
        }
        for s in found.skipped.iter().filter(|s| s.explicit) {
            let why = match s.reason {
                SkipReason::UnknownFormat => "not a format bylaw reads (YAML, JSON)",
                SkipReason::HelmTemplate => {
                    "a Helm chart template: render it and pipe the output, `helm template … | bylaw check -`"
                }
                SkipReason::KustomizePatch => {
                    "a kustomize patch: check the built output, `kustomize build … | bylaw check -`"
                }
                SkipReason::Targets => "excluded by `targets` of the config",
                SkipReason::NotRegular => "not a regular file",
                SkipReason::BylawFile => "a policy, exception list or config of this run",
                _ => s.reason.as_str(),
            };
            eprintln!("warning: {}: skipped: {why}", safe(&s.path));
        }
        let mut ctx = context::from_env(&env_lookup, environment.as_deref(), now);
        if let Some(f) = &overrides.ctx {
            ctx = f(ctx);
        }
        let mut files = std::mem::take(&mut found.files);
        if stdin {
            // the same size limit as files: `cat /dev/zero | bylaw check -`
            // stops at it instead of exhausting memory
            let limit = config.max_file_size.unwrap_or(bylaw_engine::eval::DEFAULT_MAX_FILE_SIZE);
            let mut bytes = Vec::new();
            let read = std::io::Read::read_to_end(&mut std::io::Read::take(std::io::stdin(), limit + 1), &mut bytes);
            if let Err(e) = read {
                return Err(usage_error(&format!("cannot read standard input: {e}"), None, ecolor));
            }
            if bytes.len() as u64 > limit {
                return Err(usage_error(
                    &format!("standard input is over the size limit of {limit} bytes: not evaluated"),
                    Some("raise `max_file_size` in .bylaw.yaml, or check the files themselves"),
                    ecolor,
                ));
            }
            let text = match bylaw_engine::input::decode(bytes) {
                Ok(t) => t,
                Err(e) => {
                    let what = e.message.replace("the file is", "it is").replace("re-encode the file", "re-encode it");
                    let m = format!("cannot read standard input: at line {}, column {}: {what}", e.line, e.col);
                    return Err(usage_error(&m, None, ecolor));
                }
            };
            if text.trim().is_empty() {
                // `helm template … | bylaw check -` after a failed render
                return Err(usage_error(
                "standard input is empty: nothing to check",
                Some("did the command piped into `bylaw check -` fail? (`set -o pipefail` makes the pipeline say so)"),
                ecolor,
            ));
            }
            files.extend(discover::split_stream(&text, &root));
        }
        if args.changed_only {
            // changed files are named from the top of the git work tree
            let top = bylaw_engine::paths::git_top(root.dir()).unwrap_or_else(|| root.dir().to_path_buf());
            let changed: HashSet<String> = ctx.changed_files.iter().map(|c| root.display(&top.join(c))).collect();
            if changed.is_empty() {
                eprintln!(
                    "warning: --changed-only: no changed files known (set BYLAW_CHANGED_FILES); checking every file"
                );
            } else {
                files.retain(|f| changed.contains(&f.path));
            }
        }
        let run = RunOptions {
            ctx: ctx.to_json(),
            fail_on: args.fail_on.or(config.fail_on).unwrap_or_default(),
            parse_errors: config.parse_errors.unwrap_or(Enforcement::Blocking),
            max_file_size: config.max_file_size.unwrap_or(bylaw_engine::eval::DEFAULT_MAX_FILE_SIZE),
        };
        // policies are shown by their path under the root in every output
        let mut set = set;
        for p in set.policies.iter_mut().filter(|p| !p.file.starts_with("pack:")) {
            p.file = root.display(Path::new(&p.file));
        }
        let (mut report, details) = set.run_detailed(&files, &run);
        common::phase_done("parse and evaluate", &mut clock);
        for s in &found.skipped {
            *report.summary.skipped.entry(s.reason.as_str().to_owned()).or_default() += 1;
        }
        say_what_was_read(&found, &details, &report, cli);
        let rules: exceptions::PolicyRules =
            set.policies.iter().map(|p| (p.name.clone(), p.exception_rules.clone())).collect();
        let settings = exceptions::Settings {
            today: now.date_naive(),
            warn_days: args.expiring_days.or(config.exceptions_warn_days).unwrap_or(exceptions::DEFAULT_WARN_DAYS),
            inline: config.inline_suppressions.unwrap_or_default(),
        };
        let rejected = exceptions::apply(&mut report, &exception_list, &rules, &settings, &|p| {
            details.inline.get(p).cloned().unwrap_or_default()
        });
        common::phase_done("apply exceptions", &mut clock);
        if !rejected.is_empty() {
            let sources = exception_paths
                .iter()
                .filter_map(|p| {
                    std::fs::read_to_string(p)
                        .ok()
                        .map(|t| (bylaw_engine::loader::display_path(p), std::sync::Arc::from(t)))
                })
                .collect();
            common::print_diagnostics(&rejected, &sources, ecolor);
        }
        for e in &report.exceptions {
            use bylaw_engine::report::ExceptionState::*;
            if matches!(e.status, Expiring | Expired | Stale) {
                eprintln!(
                    "warning: exception {} ({}) is {}: {}",
                    safe(&e.id),
                    safe(&e.source),
                    e.status,
                    safe(e.detail.as_deref().unwrap_or(""))
                );
            }
        }
        Ok(report)
    }
}

/// Where Markdown links to a finding's line point: the commit's file view
/// on GitHub (`GITHUB_SERVER_URL/GITHUB_REPOSITORY/blob/GITHUB_SHA/`) or
/// GitLab (`CI_PROJECT_URL/-/blob/CI_COMMIT_SHA/`), else relative to the
/// project root (right for a Markdown file kept in the repository).
fn markdown_link_base() -> String {
    let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    if let (Some(server), Some(repo), Some(sha)) =
        (var("GITHUB_SERVER_URL"), var("GITHUB_REPOSITORY"), var("GITHUB_SHA"))
    {
        return format!("{}/{repo}/blob/{sha}/", server.trim_end_matches('/'));
    }
    if let (Some(project), Some(sha)) = (var("CI_PROJECT_URL"), var("CI_COMMIT_SHA")) {
        return format!("{}/-/blob/{sha}/", project.trim_end_matches('/'));
    }
    String::new()
}

fn emit(report: &Report, outputs: &Outputs, args: &CheckArgs, cli: &Cli) -> u8 {
    let ecolor = common::stderr_color(cli);
    let mut failed_writes = 0;
    let link_base = Some(markdown_link_base());
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

/// The project root of a run: the config's directory, else the git work
/// tree of the checked paths, else the current directory (DESIGN §6).
pub fn project_root(config: &bylaw_engine::config::Config, paths: &[PathBuf]) -> ProjectRoot {
    ProjectRoot::find(config.file.as_ref().map(|_| config.base_dir.as_path()), paths)
}

/// `-v` lists every file read or skipped with the reason; a file named on
/// the command line that no policy applies to gets a warning, and a policy
/// that matched no file a note.
fn say_what_was_read(
    found: &discover::Discovered,
    details: &bylaw_engine::eval::RunDetails,
    report: &Report,
    cli: &Cli,
) {
    if cli.verbose > 0 {
        let mut lines: Vec<(String, String)> = Vec::new();
        for f in &details.files {
            let line = match &f.skipped {
                None => format!(
                    "read     {} ({} document{}, {} polic{})",
                    safe(&f.path),
                    f.documents,
                    if f.documents == 1 { "" } else { "s" },
                    f.policies,
                    if f.policies == 1 { "y" } else { "ies" }
                ),
                Some(r) => format!("skipped  {} ({r})", safe(&f.path)),
            };
            lines.push((f.path.clone(), line));
        }
        for s in &found.skipped {
            lines.push((s.path.clone(), format!("skipped  {} ({})", safe(&s.path), s.reason)));
        }
        lines.sort();
        let mut err = std::io::stderr().lock();
        for (_, l) in lines {
            let _ = writeln!(err, "  {l}");
        }
    }
    for f in details.files.iter().filter(|f| found.explicit.contains(&f.path)) {
        if f.skipped == Some(SkipReason::NoPolicy) {
            eprintln!(
                "warning: {}: no policy applies to this file (check `match.files` and `match.kinds`)",
                safe(&f.path)
            );
        } else if f.skipped == Some(SkipReason::Empty) {
            eprintln!(
                "warning: {}: empty (no document, only blank lines or comments): nothing to check",
                safe(&f.path)
            );
        }
    }
    for p in &report.policies {
        if p.targets.is_empty() {
            eprintln!("note: policy {} matched no file", safe(&p.name));
        }
    }
    if !details.templated.is_empty() {
        let docs: usize = details.templated.iter().map(|(_, n)| n).sum();
        let mut names: Vec<String> = details.templated.iter().take(5).map(|(p, _)| safe(p)).collect();
        if details.templated.len() > 5 {
            names.push(format!("… {} more", details.templated.len() - 5));
        }
        eprintln!(
            "warning: {docs} document{} with unrendered `{{{{ }}}}` templates not evaluated ({}): render them and pipe the output to `bylaw check -`",
            if docs == 1 { "" } else { "s" },
            names.join(", ")
        );
    }
    let count = |r: SkipReason| found.skipped.iter().filter(|s| s.reason == r).count();
    let helm = count(SkipReason::HelmTemplate);
    if helm > 0 {
        eprintln!(
            "note: {helm} Helm chart template{} skipped: check the rendered chart with `helm template CHART | bylaw check -`",
            if helm == 1 { " was" } else { "s were" }
        );
    }
    let patches = count(SkipReason::KustomizePatch);
    if patches > 0 {
        eprintln!(
            "note: {patches} kustomize patch{} skipped: check the built output with `kustomize build DIR | bylaw check -`",
            if patches == 1 { " was" } else { "es were" }
        );
    }
    // a gate that read nothing must not look like a pass
    let document_policies =
        report.policies.iter().any(|p| !p.targets.iter().any(|t| t == bylaw_engine::builtin::PIPELINE_TARGET));
    if report.summary.files == 0 && document_policies {
        let skipped: usize = report.summary.skipped.values().sum();
        eprintln!(
            "warning: no file was checked ({skipped} skipped{}); see `bylaw check -v`",
            if skipped == 0 { ": nothing found under the given paths".to_owned() } else { String::new() }
        );
    }
}

/// Files git tracks although an ignore rule matches them (`git ls-files
/// --cached --ignored --exclude-standard`), in the work tree and in every
/// initialized submodule (found from the index's gitlinks, recursively):
/// committed, so checked. Empty outside a git work tree; `Err` when git
/// cannot say (not installed, or refusing a repository owned by another
/// user).
fn tracked_but_ignored(root: &ProjectRoot) -> Result<Vec<PathBuf>, String> {
    let Some(top) = bylaw_engine::paths::git_top(root.dir()) else { return Ok(Vec::new()) };
    let mut found = Vec::new();
    tracked_but_ignored_in(&top, &mut found, 0)?;
    Ok(found)
}

fn tracked_but_ignored_in(dir: &Path, found: &mut Vec<PathBuf>, depth: usize) -> Result<(), String> {
    let git = |args: &[&str]| -> Result<Vec<u8>, String> {
        let out = std::process::Command::new("git")
            .arg("-C")
            .arg(dir)
            .args(args)
            .stdin(std::process::Stdio::null())
            .output()
            .map_err(|e| format!("git: {e}"))?;
        if out.status.success() {
            Ok(out.stdout)
        } else {
            let err = String::from_utf8_lossy(&out.stderr);
            Err(format!("git {}: {}", args[0], err.lines().next().unwrap_or("failed").trim()))
        }
    };
    let records = |bytes: Vec<u8>| -> Vec<String> {
        bytes.split(|b| *b == 0).filter(|p| !p.is_empty()).map(|p| String::from_utf8_lossy(p).into_owned()).collect()
    };
    for rel in records(git(&["ls-files", "--cached", "--ignored", "--exclude-standard", "-z"])?) {
        found.push(dir.join(rel));
    }
    if depth < 8 && dir.join(".gitmodules").is_file() {
        // gitlinks: `160000 SHA STAGE\tPATH`
        for record in records(git(&["ls-files", "--stage", "-z"])?) {
            if let Some((meta, rel)) = record.split_once('\t') {
                let sub = dir.join(rel);
                if meta.starts_with("160000 ") && sub.join(".git").exists() {
                    tracked_but_ignored_in(&sub, found, depth + 1)?;
                }
            }
        }
    }
    Ok(())
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
