//! `bylaw validate`: load, schema-check and compile policies without
//! evaluating anything; every problem is printed with its location.

use crate::common::{self, usage_error};
use crate::Cli;
use bylaw_engine::compile::CompileOptions;
use clap::Args;
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct ValidateArgs {
    /// Policy files or directories (default: `policies` of .bylaw.yaml).
    pub policies: Vec<PathBuf>,
    /// Project config file (default: .bylaw.yaml in the current directory, if present).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

pub fn run(args: &ValidateArgs, cli: &Cli) -> u8 {
    let color = common::stderr_color(cli);
    let config = match common::load_config(args.config.as_deref(), false, color) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let paths = common::policy_paths(&args.policies, &config);
    if paths.is_empty() {
        return usage_error(
            "no policies to validate",
            Some("bylaw validate POLICY… (files or directories), or list `policies:` in .bylaw.yaml"),
            color,
        );
    }
    let options = CompileOptions { environment: None, today: chrono_today(), include_drafts: true };
    match common::load_and_compile(&paths, options, color) {
        Ok((set, _)) => {
            let rules: usize = set.policies.iter().map(|p| p.rules.len()).sum();
            eprintln!(
                "ok: {} polic{}, {rules} rule{}: no errors",
                set.policies.len(),
                if set.policies.len() == 1 { "y" } else { "ies" },
                if rules == 1 { "" } else { "s" }
            );
            0
        }
        Err(code) => code,
    }
}

fn chrono_today() -> bylaw_engine::chrono::NaiveDate {
    bylaw_engine::chrono::Utc::now().date_naive()
}
