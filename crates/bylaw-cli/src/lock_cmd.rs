//! `bylaw lock [--update]`: pin every policy source of the config in
//! `bylaw.lock` beside it (bylaw-run's `lock` module holds the format).

use crate::common;
use crate::Cli;
use clap::Args;
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct LockArgs {
    /// Pin every source anew (after reviewing a change); without it, pins are kept and a drifted source is an error.
    #[arg(long)]
    pub update: bool,
    /// Project config file (default: .bylaw.yaml in the current directory or above).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

pub fn run(args: &LockArgs, cli: &Cli) -> u8 {
    let color = common::stderr_color(cli);
    let config = match common::load_config(args.config.as_deref(), false, &[], color) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let options = crate::bundle_cmd::source_options(Some(&config));
    let wd = common::working_dir();
    let locked = match bylaw_run::lock::lock(&config, &options, wd, args.update) {
        Ok(l) => l,
        Err(e) => return common::show_error(&e, color),
    };
    let shown = bylaw_engine::loader::display_path(&locked.path, wd);
    if let Err(e) = bylaw_report::write_atomic(&locked.path, locked.lock.to_text().as_bytes()) {
        return common::usage_error(&common::cannot_write(&locked.path, &e), None, color);
    }
    let list = |v: &[String]| if v.is_empty() { String::new() } else { format!(" ({})", v.join(", ")) };
    crate::outln!(
        "bylaw: wrote {} ({} source{}; added {}{}, removed {}{}, updated {}{})",
        common::safe(&shown),
        locked.lock.sources.len(),
        if locked.lock.sources.len() == 1 { "" } else { "s" },
        locked.added.len(),
        common::safe(&list(&locked.added)),
        locked.removed.len(),
        common::safe(&list(&locked.removed)),
        locked.updated.len(),
        common::safe(&list(&locked.updated)),
    );
    0
}
