//! The `bylaw` binary: policy as code for CI/CD.
//!
//! A thin edge over `bylaw-engine` (load, compile, evaluate) and
//! `bylaw-report` (emitters): argument parsing, merging flags over
//! `.bylaw.yaml`, printing diagnostics, writing artifacts and choosing the
//! exit code (0 pass, 1 blocking findings, 2 usage/config/policy errors).
//! Start at [`Command`].

// Standard output goes through `out!`/`outln!`: a failed write is exit 2, never a panic.
#![warn(clippy::print_stdout)]
#![forbid(unsafe_code)]

mod audit_log_cmd;
mod bundle_cmd;
mod check;
mod ci;
mod common;
mod exceptions_cmd;
mod explain;
mod impact_cmd;

mod history_cmd;
mod init;
mod lock_cmd;
mod metrics_cmd;
mod process;
mod rego_args;
mod report_cmd;
mod test_cmd;
mod validate;

/// mimalloc: evaluation allocates many small short-lived values per document
/// on several threads, where it is markedly faster than the system allocator
/// (see bench/README.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use clap::{Parser, Subcommand, ValueEnum};
use std::process::ExitCode;

/// Policy as code for CI/CD: evaluate security, compliance and operational
/// policies against a repository and its pipeline.
#[derive(Parser, Debug)]
#[command(name = "bylaw", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    /// When to colour output: auto (only on a terminal, not with NO_COLOR), always, never.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto, global = true)]
    pub color: ColorChoice,
    /// Log what bylaw does to stderr (-v info, -vv debug).
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Evaluate policies against files and the pipeline context.
    Check(check::CheckArgs),
    /// Load, schema-check and compile policies; report every problem with its location.
    Validate(validate::ValidateArgs),
    /// Run policy unit tests (*.test.yaml) and rule examples: expected findings, JUnit, rule coverage.
    Test(test_cmd::TestArgs),
    /// Scaffold .bylaw.yaml, a starter policy extending a pack, its tests and a CI file.
    Init(init::InitArgs),
    /// List the rules of the built-in packs (or of given policies).
    Rules(explain::RulesArgs),
    /// Show a rule's documentation, or with --effective a policy after `extends`.
    Explain(explain::ExplainArgs),
    /// Print a JSON Schema: the policy language (default), the config file, exception lists, policy tests, the JSON report or the pipeline context.
    Schema(SchemaArgs),
    /// List exceptions with their status; `check` exits 1 on expired, stale or rejected ones.
    Exceptions(exceptions_cmd::ExceptionsArgs),
    /// Verify or read a hash-chained audit log.
    Audit(audit_log_cmd::AuditArgs),
    /// Check and publish on a CI platform (GitHub: annotations, check run, PR comment, exception requests).
    Ci(ci::CiArgs),
    /// Build, sign, verify, push and pull policy bundles (OPA-layout .tar.gz, Ed25519 signatures, OCI registries).
    Bundle(bundle_cmd::BundleArgs),
    /// Pin every policy source of .bylaw.yaml by version and SHA-256 in bylaw.lock (`--update` to refresh).
    Lock(lock_cmd::LockArgs),

    /// Compare the findings of the policies at two revisions on the same files: added, removed, newly blocking, stale exceptions.
    Impact(impact_cmd::ImpactArgs),

    /// The history store of `--record`: import earlier JSON reports and SARIF files.
    History(history_cmd::HistoryArgs),

    /// Compliance report of the history store: HTML, Markdown or JSON; a framework's evidence report; the regression gate.
    Report(report_cmd::ReportArgs),

    /// Compliance metrics of the history store in the Prometheus text format (stdout or a node-exporter textfile).
    Metrics(metrics_cmd::MetricsArgs),
}

#[derive(clap::Args, Debug)]
pub struct SchemaArgs {
    /// Which schema to print.
    #[arg(value_enum, default_value_t = SchemaKind::Policy)]
    pub kind: SchemaKind,
}

#[derive(Copy, Clone, Debug, ValueEnum)]
pub enum SchemaKind {
    /// `kind: Policy` files (for editors: yaml-language-server).
    Policy,
    /// `.bylaw.yaml`.
    Config,
    /// The JSON report of `bylaw check --format json`.
    Report,
    /// `kind: ExceptionList` files.
    Exceptions,
    /// `kind: PolicyTest` files (*.test.yaml).
    Test,
    /// The pipeline context: `ctx` in CEL, the target of pipeline policies.
    Context,
}

/// Stack of the thread that runs bylaw, and of the evaluation threads: the
/// YAML, CEL and JSONPath parsers and CEL evaluation recurse with their
/// input, and their inputs are capped (nesting 256 in YAML, 64 in CEL and
/// JSONPath); 256 MiB of (lazily committed) stack covers those caps with a
/// wide margin in debug builds too.
const STACK_SIZE: usize = 256 * 1024 * 1024;

fn main() -> ExitCode {
    process::set_up();
    let _ = rayon::ThreadPoolBuilder::new().stack_size(STACK_SIZE).build_global();
    match std::thread::Builder::new().name("bylaw".into()).stack_size(STACK_SIZE).spawn(run) {
        Ok(handle) => handle.join().unwrap_or(ExitCode::from(common::EXIT_ERROR)),
        Err(_) => run(),
    }
}

fn run() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            if e.use_stderr() {
                // a usage error of `check` still writes the reports it names
                let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
                let first = e.to_string().lines().next().unwrap_or("invalid arguments").to_owned();
                let message = first.strip_prefix("error: ").unwrap_or(&first).to_owned();
                check::write_usage_failure(&args, &message);
            }
            // `--help` and `--version` go to standard output: a failed write
            // there is an error too (clap's own `exit` would ignore it)
            let printed = e.print().and_then(|_| std::io::Write::flush(&mut std::io::stdout()));
            if let Err(w) = printed {
                // `bylaw --help | head -1`: quiet, as SIGPIPE would be
                if w.kind() == std::io::ErrorKind::BrokenPipe {
                    return ExitCode::from(141);
                }
                eprintln!("error: cannot write to standard output: {w}");
                return ExitCode::from(common::EXIT_ERROR);
            }
            return ExitCode::from(e.exit_code().clamp(0, 255) as u8);
        }
    };
    let level = match cli.verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("BYLAW_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level)),
        )
        .with_writer(std::io::stderr)
        .with_ansi(common::use_color(&cli, std::io::IsTerminal::is_terminal(&std::io::stderr())))
        .without_time()
        .try_init();
    let code = match &cli.command {
        Command::Check(args) => check::run(args, &cli),
        Command::Validate(args) => validate::run(args, &cli),
        Command::Test(args) => test_cmd::run(args, &cli),
        Command::Rules(args) => explain::rules(args, &cli),
        Command::Init(args) => init::run(args, &cli),
        Command::Explain(args) => explain::explain(args, &cli),
        Command::Exceptions(args) => exceptions_cmd::run(args, &cli),
        Command::Audit(args) => audit_log_cmd::run(args, &cli),
        Command::Ci(args) => ci::run(args, &cli),
        Command::Bundle(args) => bundle_cmd::run(args, &cli),
        Command::Lock(args) => lock_cmd::run(args, &cli),

        Command::Impact(args) => impact_cmd::run(args, &cli),

        Command::History(args) => history_cmd::run(args, &cli),
        Command::Report(args) => report_cmd::run(args, &cli),
        Command::Metrics(args) => metrics_cmd::run(args, &cli),
        Command::Schema(args) => {
            let text = match args.kind {
                SchemaKind::Policy => bylaw_engine::policy::POLICY_SCHEMA,
                SchemaKind::Config => bylaw_engine::schema::CONFIG_SCHEMA,
                SchemaKind::Report => bylaw_report::REPORT_SCHEMA,
                SchemaKind::Exceptions => bylaw_engine::schema::EXCEPTIONS_SCHEMA,
                SchemaKind::Test => bylaw_engine::schema::POLICYTEST_SCHEMA,
                SchemaKind::Context => bylaw_engine::context::CONTEXT_SCHEMA,
            };
            crate::outln!("{}", text.trim_end());
            0
        }
    };
    if let Some(e) = common::stdout_error() {
        let color = common::stderr_color(&cli);
        return ExitCode::from(common::usage_error(&format!("cannot write to standard output: {e}"), None, color));
    }
    ExitCode::from(code)
}
