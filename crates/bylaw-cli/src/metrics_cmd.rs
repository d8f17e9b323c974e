//! `bylaw metrics`: the compliance metrics of the history store (issue 19
//! item 5) in the Prometheus text exposition format 0.0.4, on stdout or as
//! a node-exporter textfile (`--textfile PATH`, written atomically: a
//! temporary file in the same directory renamed over PATH, so the collector
//! never reads half a file). The metrics and their labels:
//! [`bylaw_compliance::prometheus::FAMILIES`], README "Prometheus metrics".
//!
//! The numbers are those of `bylaw report --format json` over the whole
//! store (no `--since`), at `BYLAW_NOW` or the current time.

use crate::common::{self, usage_error};
use crate::Cli;
use bylaw_compliance::model::Query;
use bylaw_compliance::{metrics, prometheus};
use clap::Args;
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct MetricsArgs {
    /// The history store: an SQLite file or a postgres:// URL (default: `history` of .bylaw.yaml).
    #[arg(long, value_name = "STORE")]
    pub store: Option<String>,
    /// The config file (default: .bylaw.yaml found from the working directory).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Write a node-exporter textfile (e.g. /var/lib/node_exporter/textfile/bylaw.prom) atomically instead of printing.
    #[arg(long, value_name = "PATH")]
    pub textfile: Option<PathBuf>,
    /// Only runs of this environment (every sample then has an `environment` label).
    #[arg(long, value_name = "ENV")]
    pub env: Option<String>,
    /// Only runs of this repository: owner/name (any case) or its remote URL.
    #[arg(long, value_name = "REPO")]
    pub repository: Option<String>,
}

pub fn run(args: &MetricsArgs, cli: &Cli) -> u8 {
    let color = common::stderr_color(cli);
    let now = match bylaw_ci::env::now(&bylaw_ci::env::process_env) {
        Ok(t) => t,
        Err(m) => return usage_error(&m, None, color),
    };
    let store = match crate::history_cmd::store_to_read("metrics", args.store.as_deref(), args.config.as_deref(), color)
    {
        Ok(s) => s,
        Err(code) => return code,
    };
    // a read-only command never creates a store: a mistyped path is an error
    let store = match crate::history_cmd::open_to_read("metrics", &store, args.textfile.as_deref(), color) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let query = Query { environment: args.env.clone(), repository: args.repository.clone(), ..Query::default() };
    let report = match metrics::compute(&store, &query, now) {
        Ok(r) => r,
        Err(e) => return usage_error(&format!("bylaw metrics: {e}"), None, color),
    };
    let text = prometheus::render(&report);
    match &args.textfile {
        None => {
            crate::out!("{text}");
            0
        }
        Some(path) => {
            let full = bylaw_engine::paths::absolute(common::working_dir(), path);
            if let Err(e) = bylaw_report::write_atomic(&full, text.as_bytes()) {
                return usage_error(&common::cannot_write(path, &e), None, color);
            }
            if path.extension().and_then(|e| e.to_str()) != Some("prom") {
                eprintln!(
                    "warning: node-exporter's textfile collector reads only *.prom files: {} is not one",
                    common::safe(&path.display().to_string())
                );
            }
            eprintln!(
                "wrote {} metric families to {}",
                prometheus::FAMILIES.len(),
                common::safe(&path.display().to_string())
            );
            0
        }
    }
}
