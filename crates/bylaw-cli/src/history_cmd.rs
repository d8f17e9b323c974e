//! The history store at the edge: `--record STORE` of `check` and `ci`
//! ([`record`]: a failed write is a warning, never a change of verdict)
//! and `bylaw history import FILE… --store STORE`.

use crate::common::{self, safe, usage_error, EXIT_ERROR};
use crate::Cli;
use bylaw_engine::chrono::{DateTime, Utc};
use bylaw_engine::context::PipelineContext;
use bylaw_engine::report::Report;
use bylaw_history::{import, repository, RunMeta, RunSource, Store};
use clap::{Args, Subcommand};
use std::path::{Path, PathBuf};

#[derive(Args, Debug)]
pub struct HistoryArgs {
    #[command(subcommand)]
    pub command: HistoryCommand,
}

#[derive(Subcommand, Debug)]
pub enum HistoryCommand {
    /// Record earlier runs from bylaw JSON reports and bylaw SARIF files.
    Import(ImportArgs),
}

#[derive(Args, Debug)]
pub struct ImportArgs {
    /// JSON reports (`--format json`) or SARIF logs (`--format sarif`) written by bylaw.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// The history store: an SQLite file (created when missing) or a postgres:// URL
    /// (default: `history` of .bylaw.yaml).
    #[arg(long, value_name = "STORE")]
    pub store: Option<String>,
    /// Repository of the runs (`owner/name`), when the file does not say.
    #[arg(long, value_name = "R")]
    pub repository: Option<String>,
    /// Branch or ref of the runs.
    #[arg(long = "ref", value_name = "REF")]
    pub git_ref: Option<String>,
    /// Commit of the runs.
    #[arg(long, value_name = "SHA")]
    pub sha: Option<String>,
    /// Environment of the runs, when the report has none.
    #[arg(long, value_name = "ENV")]
    pub env: Option<String>,
    /// When the runs happened (RFC 3339); default: what the file says, else its modification time.
    #[arg(long, value_name = "RFC3339", value_parser = parse_time)]
    pub time: Option<DateTime<Utc>>,
}

fn parse_time(s: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| format!("`{s}` is not an RFC 3339 time (e.g. 2026-05-01T09:30:00Z): {e}"))
}

/// The store a run records into: `--record` wins over the config's `history:`.
pub fn store_of(flag: Option<&str>, config: &bylaw_engine::config::Config) -> Option<String> {
    flag.map(str::to_owned).or_else(|| config.history_store())
}

/// Records `report` in `store`, saying so on stderr. A failure (the store
/// unreachable, locked, of a newer schema, a write refused) is a warning:
/// the run's verdict, exit code and artifacts do not depend on it, and
/// the transaction leaves nothing of the run behind.
/// The store a read-only command (`report`, `metrics`; `command` names it
/// in messages) reads: `flag` (`--store`), else `history:` of the config
/// (`config`: `--config`, else `.bylaw.yaml` found as `check` finds it).
/// No store anywhere is a usage error: `Err` holds the exit code (2).
pub fn store_to_read(command: &str, flag: Option<&str>, config: Option<&Path>, color: bool) -> Result<String, u8> {
    if let Some(s) = flag {
        return Ok(s.to_owned());
    }
    let config = crate::common::load_config(config, false, &[], color)?;
    store_of(None, &config).ok_or_else(|| {
        crate::common::usage_error(
            &format!("bylaw {command}: no history store: give --store STORE"),
            Some("an SQLite file path, or a postgres://USER@HOST/DB URL; or set `history:` in .bylaw.yaml"),
            color,
        )
    })
}

/// Opens `store` for a read-only command that will write `output` (`-`
/// or `None`: stdout): refuses an output that would overwrite a store
/// ([`overwrites_a_store`]) and a store that does not exist (nothing is
/// created, [`bylaw_history::Store::open_existing`]). `Err`: the exit code (2).
pub fn open_to_read(
    command: &str,
    store: &str,
    output: Option<&Path>,
    color: bool,
) -> Result<bylaw_history::Store, u8> {
    if let Some(why) = output.filter(|p| p.as_os_str() != "-").and_then(|out| overwrites_a_store(store, out)) {
        return Err(crate::common::usage_error(&format!("bylaw {command}: {why}"), None, color));
    }
    bylaw_history::Store::open_existing(store).map_err(|e| crate::common::usage_error(&e.to_string(), None, color))
}

/// Why `output` (a file a read-only command is told to write: `report -o`,
/// `metrics --textfile`) must not be written: it is the SQLite history
/// store `store` being read (or its journal), or another SQLite database
/// (its first bytes are SQLite's header, "SQLite format 3\0": file format
/// §1.3 of sqlite.org/fileformat.html). `None` when it may be written.
pub fn overwrites_a_store(store: &str, output: &Path) -> Option<String> {
    let wd = crate::common::working_dir();
    let out = bylaw_engine::paths::absolute(wd, output);
    let shown = crate::common::safe(&output.display().to_string());
    if let Ok(bylaw_history::Location::Sqlite(db)) = bylaw_history::Location::parse(store) {
        let db = bylaw_engine::paths::absolute(wd, &db);
        let canonical = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
        let (db, out_c) = (canonical(&db), canonical(&out));
        let journal = ["-journal", "-wal", "-shm"]
            .iter()
            .any(|s| out_c.as_os_str().to_string_lossy() == format!("{}{s}", db.display()));
        if out_c == db || journal {
            return Some(format!("{shown} is the history store this command reads: write the output elsewhere"));
        }
    }
    let mut head = [0u8; 16];
    let is_sqlite = std::fs::File::open(&out)
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut head))
        .is_ok_and(|()| &head == b"SQLite format 3\0");
    is_sqlite.then(|| {
        format!("{shown} is an SQLite database (a history store?): not overwritten; write the output elsewhere")
    })
}

pub fn record(store: &str, report: &Report, meta: &RunMeta) {
    let result = Store::open(store).and_then(|s| s.record(report, meta).map(|id| (id, s.display())));
    match result {
        Ok((id, shown)) => eprintln!(
            "recorded run {id} in the history store {} ({} finding{})",
            safe(&shown),
            report.findings.len(),
            if report.findings.len() == 1 { "" } else { "s" }
        ),
        Err(e) => eprintln!(
            "warning: the run was not recorded: {} (the verdict and the reports are unchanged)",
            safe(&e.to_string())
        ),
    }
}

/// The history store's record of what a run evaluated (`None`: the whole project).
pub fn scope_of(scope: Option<bylaw_run::Scope>) -> Option<bylaw_history::RunScope> {
    scope.map(|s| bylaw_history::RunScope { paths: s.paths, changed: s.changed })
}

/// The metadata of a run with pipeline context `ctx` at `time`, the gaps
/// of a local run filled from git in `dir` (branch, `origin`, HEAD). The
/// repository is recorded as its `owner/name` path
/// ([`repository::normalize`]: no host, scheme or credentials), as CI and
/// imports record it.
pub fn meta_of(ctx: &PipelineContext, time: DateTime<Utc>, source: RunSource, dir: &Path) -> RunMeta {
    let mut meta = RunMeta::from_context(ctx, time, source);
    let git = |args: &[&str]| -> Option<String> {
        let out = std::process::Command::new("git")
            .arg("-C")
            .arg(dir)
            .args(args)
            .stdin(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .output()
            .ok()?;
        let s = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        (out.status.success() && !s.is_empty()).then_some(s)
    };
    if meta.git_ref.is_none() {
        meta.git_ref = git(&["symbolic-ref", "--short", "-q", "HEAD"]);
    }
    if meta.sha.is_none() {
        meta.sha = git(&["rev-parse", "-q", "--verify", "HEAD"]);
    }
    if meta.repository.is_none() {
        meta.repository = git(&["remote", "get-url", "origin"]).as_deref().and_then(repository::normalize);
    }
    // `owner/name` as CI and imports record it, never a URL or credentials
    meta.repository = meta.repository.as_deref().and_then(repository::normalize);
    meta
}

pub fn run(args: &HistoryArgs, cli: &Cli) -> u8 {
    match &args.command {
        HistoryCommand::Import(a) => import_files(a, cli),
    }
}

fn import_files(args: &ImportArgs, cli: &Cli) -> u8 {
    let color = common::stderr_color(cli);
    let store =
        match &args.store {
            Some(s) => s.clone(),
            None => {
                let config = match common::load_config(None, false, &[], color) {
                    Ok(c) => c,
                    Err(code) => return code,
                };
                match config.history_store() {
                    Some(s) => s,
                    None => return usage_error(
                        "bylaw history import: no store: give --store STORE",
                        Some("an SQLite file path, or a postgres://USER@HOST/DB URL; or set `history:` in .bylaw.yaml"),
                        color,
                    ),
                }
            }
        };
    let store = match Store::open(&store) {
        Ok(s) => s,
        Err(e) => return usage_error(&e.to_string(), None, color),
    };
    let mut failed = false;
    for file in &args.files {
        let shown = safe(&file.display().to_string());
        let path = bylaw_engine::paths::absolute(common::working_dir(), file);
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) => {
                usage_error(&format!("cannot read {shown}: {e}"), None, color);
                failed = true;
                continue;
            }
        };
        let imported = match import::read(&bytes, &file.display().to_string()) {
            Ok(i) => i,
            Err(e) => {
                usage_error(&e.to_string(), None, color);
                failed = true;
                continue;
            }
        };
        let mtime = std::fs::metadata(&path).and_then(|m| m.modified()).ok().map(DateTime::<Utc>::from);
        let Some(time) = args.time.or(imported.meta.time).or(mtime) else {
            usage_error(&format!("{shown}: the time of the run is unknown"), Some("give --time RFC3339"), color);
            failed = true;
            continue;
        };
        let mut meta = RunMeta::new(time, imported.source);
        meta.repository = args.repository.clone().or(imported.meta.repository.clone());
        meta.repository = meta.repository.as_deref().and_then(repository::normalize);
        meta.git_ref = args.git_ref.clone().or(imported.meta.git_ref.clone());
        meta.sha = args.sha.clone().or(imported.meta.sha.clone());
        meta.environment = args.env.clone();
        let digest = import::import_digest(&imported.digest, &meta);
        meta.content_digest = Some(digest.clone());
        match store.find_digest(&digest) {
            Ok(Some(id)) => {
                eprintln!("skipped {shown}: already recorded as run {id}");
                continue;
            }
            Ok(None) => {}
            Err(e) => {
                usage_error(&e.to_string(), None, color);
                failed = true;
                continue;
            }
        }
        match store.record(&imported.report, &meta) {
            Ok(id) => crate::outln!(
                "imported {shown} as run {id} ({}, {}, {} finding{})",
                if imported.source == RunSource::ImportSarif { "SARIF" } else { "JSON report" },
                bylaw_history::format_time(time),
                imported.report.findings.len(),
                if imported.report.findings.len() == 1 { "" } else { "s" }
            ),
            Err(e) => {
                usage_error(&e.to_string(), None, color);
                failed = true;
            }
        }
    }
    if failed {
        EXIT_ERROR
    } else {
        0
    }
}
