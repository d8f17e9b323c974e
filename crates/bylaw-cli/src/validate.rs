//! `bylaw validate`: load, schema-check and compile policies without
//! evaluating anything, then lint them: constant conditions, conflicting
//! rules, exceptions naming unknown rules (errors); rules without
//! remediation, tests or (in compliance policies) controls (warnings).
//! Text (rustc-style) or SARIF; exit 2 on errors, 0 otherwise.

use crate::common::{self, usage_error, EXIT_ERROR};
use crate::Cli;
use bylaw_engine::diagnostic::Level;
use clap::{Args, ValueEnum};
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct ValidateArgs {
    /// Policy files, directories or bundles (default: every source of .bylaw.yaml: `policies` and each environment's).
    pub policies: Vec<PathBuf>,
    /// Project config file (default: .bylaw.yaml in the current directory, if present).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Exception lists to check against the rules (default: `exceptions` of .bylaw.yaml).
    #[arg(long = "exceptions", value_name = "FILE")]
    pub exceptions: Vec<PathBuf>,
    /// Output: text (default, on stderr) or sarif (on stdout).
    #[arg(long, value_enum, default_value_t = ValidateFormat::Text)]
    pub format: ValidateFormat,
    /// Also compare each policy with itself at git revision REV: warn when
    /// a change that removes or tightens rules keeps the major version.
    #[arg(long, value_name = "REV")]
    pub against: Option<String>,
    #[command(flatten)]
    pub rego: crate::rego_args::RegoArgs,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum ValidateFormat {
    Text,
    Sarif,
}

pub fn run(args: &ValidateArgs, cli: &Cli) -> u8 {
    let color = common::stderr_color(cli);
    let config = match common::load_config(args.config.as_deref(), false, &[], color) {
        Ok(c) => c,
        Err(code) => return code,
    };
    // the paths given, else every source set of the config (the top-level
    // `policies` and each environment's own): a prod-only policy is validated too
    let sets: Vec<Vec<PathBuf>> = if args.policies.is_empty() {
        bylaw_run::validate::config_source_sets(&config)
    } else {
        vec![args.policies.clone()]
    };
    if sets.is_empty() {
        return usage_error(
            "no policies to validate",
            Some("bylaw validate POLICY… (files or directories), or list `policies:` in .bylaw.yaml"),
            color,
        );
    }
    let today = bylaw_engine::chrono::Utc::now().date_naive();
    let exception_paths: Vec<PathBuf> = if !args.exceptions.is_empty() {
        args.exceptions.clone()
    } else {
        config.exceptions.iter().map(|p| config.resolve(p)).collect()
    };
    // bundles, URLs and registries are read as `check` reads them
    let options = crate::bundle_cmd::source_options(Some(&config));
    let mut resolved = Vec::new();
    let mut warnings = Vec::new();
    for set in &sets {
        match bylaw_run::sources::resolve(set, &config, &options, common::working_dir()) {
            Ok(r) => {
                warnings.extend(r.warnings.iter().filter(|w| !warnings.contains(*w)).cloned().collect::<Vec<_>>());
                resolved.push(bylaw_run::validate::SourceSet { paths: r.paths, memory: r.memory, data: r.data });
            }
            Err(e) => return common::show_error(&e, color),
        }
    }
    let warnings: Vec<bylaw_run::Message> = warnings.into_iter().map(bylaw_run::Message::Warning).collect();
    common::show(&warnings, color);
    let mut v = bylaw_run::validate::validate_sets(
        &resolved,
        &exception_paths,
        &args.rego.options(&config),
        common::working_dir(),
        today,
    );
    if let Some(rev) = &args.against {
        for set in &sets {
            // bundles and remote sources have no git history here
            let on_disk: Vec<PathBuf> = set
                .iter()
                .filter(|p| {
                    let s = p.to_string_lossy();
                    !bylaw_run::sources::is_remote(&s) && !bylaw_run::sources::is_bundle_path(&s)
                })
                .cloned()
                .collect();
            if on_disk.iter().all(|p| p.to_string_lossy().starts_with("pack:")) && sets.len() > 1 {
                continue; // packs only: no history here, another set has some
            }
            match bylaw_run::against::against(rev, &on_disk, common::working_dir()) {
                Ok((diagnostics, sources)) => {
                    for d in diagnostics {
                        if !v.diagnostics.contains(&d) {
                            v.diagnostics.push(d);
                        }
                    }
                    v.sources.extend(sources);
                }
                Err(m) => {
                    return usage_error(
                        &format!("--against {}", common::safe(&m)),
                        Some("--against names a commit, branch or tag of the repository holding the policies (`git log --oneline` lists them)"),
                        color,
                    )
                }
            }
        }
    }
    common::show(&v.messages, color);
    let diags = &v.diagnostics;
    let errors = diags.iter().filter(|d| d.level == Level::Error).count();
    let warnings = diags.len() - errors;
    match args.format {
        ValidateFormat::Sarif => {
            let sarif = bylaw_report::diagnostics_to_sarif(diags, &bylaw_report::RenderOptions::default());
            match serde_json::to_string_pretty(&sarif) {
                Ok(s) => crate::outln!("{s}"),
                Err(e) => return usage_error(&format!("cannot render SARIF: {e}"), None, color),
            }
        }
        ValidateFormat::Text => common::print_diagnostics(diags, &v.sources, color),
    }
    let plural = |n: usize, w: &str| format!("{n} {w}{}", if n == 1 { "" } else { "s" });
    if errors > 0 {
        if args.format == ValidateFormat::Text {
            usage_error(
                &format!("{} in policies ({})", plural(errors, "error"), plural(warnings, "warning")),
                Some("fix the errors above; warnings do not fail validation"),
                color,
            );
        }
        return EXIT_ERROR;
    }
    eprintln!(
        "ok: {} polic{}, {}: no errors{}",
        v.policies,
        if v.policies == 1 { "y" } else { "ies" },
        plural(v.rules, "rule"),
        if warnings > 0 { format!(", {}", plural(warnings, "warning")) } else { String::new() }
    );
    0
}
