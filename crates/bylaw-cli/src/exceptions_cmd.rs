//! `bylaw exceptions list|check`: evaluate like `check`, then show every
//! exception with its status (active, expiring, expired, stale, rejected).
//! `check` exits 1 when one is expired, stale or rejected, so a scheduled
//! pipeline can nag before the exceptions bite.

use crate::check::{evaluate, RunArgs};
use crate::common;
use crate::Cli;
use bylaw_engine::report::{ExceptionStatus, Report};
use clap::{Args, Subcommand, ValueEnum};

#[derive(Args, Debug)]
pub struct ExceptionsArgs {
    #[command(subcommand)]
    pub command: ExceptionsCommand,
}

#[derive(Subcommand, Debug)]
pub enum ExceptionsCommand {
    /// List every exception with its status.
    List(ListArgs),
    /// Like list, but exit 1 if an exception is expired, stale or rejected.
    Check(ListArgs),
}

#[derive(Args, Debug)]
pub struct ListArgs {
    #[command(flatten)]
    pub run: RunArgs,
    /// Output: a table (default) or JSON.
    #[arg(long, value_enum, default_value_t = ListFormat::Table)]
    pub format: ListFormat,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum ListFormat {
    Table,
    Json,
}

pub fn run(args: &ExceptionsArgs, cli: &Cli) -> u8 {
    let (list, check) = match &args.command {
        ExceptionsCommand::List(a) => (a, false),
        ExceptionsCommand::Check(a) => (a, true),
    };
    let ecolor = common::stderr_color(cli);
    if list.run.record.is_some() {
        return common::usage_error(
            "--record records runs of `bylaw check` and `bylaw ci`, not of `bylaw exceptions`",
            None,
            ecolor,
        );
    }
    let config = match common::load_config(list.run.config.as_deref(), list.run.no_config, &list.run.paths, ecolor) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let report = match evaluate(&list.run, &config, cli) {
        Ok(r) => r,
        Err(code) => return code,
    };
    match list.format {
        ListFormat::Json => match serde_json::to_string_pretty(&report.exceptions) {
            Ok(s) => crate::outln!("{s}"),
            Err(e) => return common::usage_error(&format!("cannot render JSON: {e}"), None, ecolor),
        },
        ListFormat::Table => crate::out!("{}", table(&report)),
    }
    let bad: Vec<&ExceptionStatus> = report.exceptions.iter().filter(|e| e.status.needs_action()).collect();
    if check && !bad.is_empty() {
        eprintln!(
            "error: {} exception{} need{} attention: {}",
            bad.len(),
            if bad.len() == 1 { "" } else { "s" },
            if bad.len() == 1 { "s" } else { "" },
            bad.iter().map(|e| format!("{} ({})", common::safe(&e.id), e.status)).collect::<Vec<_>>().join(", ")
        );
        return 1;
    }
    0
}

fn table(report: &Report) -> String {
    if report.exceptions.is_empty() {
        return "no exceptions\n".into();
    }
    let rows: Vec<[String; 6]> = report
        .exceptions
        .iter()
        .map(|e| {
            [
                e.id.clone(),
                e.status.to_string(),
                e.expires.clone().unwrap_or_else(|| "-".into()),
                e.matched.to_string(),
                e.source.clone(),
                e.detail.clone().unwrap_or_default(),
            ]
        })
        .collect();
    let head = ["ID", "STATUS", "EXPIRES", "MATCHED", "SOURCE", "DETAIL"];
    let mut widths = head.map(str::len);
    for r in &rows {
        for (w, c) in widths.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    let mut out = String::new();
    let mut line = |cells: Vec<&str>| {
        let mut l = String::new();
        for (i, c) in cells.iter().enumerate() {
            if i + 1 == cells.len() {
                l.push_str(c);
            } else {
                l.push_str(&format!("{c:<w$}  ", w = widths[i]));
            }
        }
        out.push_str(l.trim_end());
        out.push('\n');
    };
    line(head.to_vec());
    for r in &rows {
        line(r.iter().map(String::as_str).collect());
    }
    out
}
