//! `bylaw validate`: load, schema-check and compile policies without
//! evaluating anything, then lint them: constant conditions, conflicting
//! rules, exceptions naming unknown rules (errors); rules without
//! remediation, tests or (in compliance policies) controls (warnings).
//! Text (rustc-style) or SARIF; exit 2 on errors, 0 otherwise.

use crate::common::{self, usage_error, EXIT_ERROR};
use crate::Cli;
use bylaw_engine::compile::{self, CompileOptions};
use bylaw_engine::diagnostic::Level;
use bylaw_engine::{exceptions, lint, loader, testing};
use clap::{Args, ValueEnum};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

#[derive(Args, Debug)]
pub struct ValidateArgs {
    /// Policy files or directories (default: `policies` of .bylaw.yaml).
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
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum ValidateFormat {
    Text,
    Sarif,
}

/// Test files next to (or under) the policies.
fn test_files(paths: &[PathBuf]) -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else { return };
        for p in entries.flatten().map(|e| e.path()) {
            if p.is_dir() {
                walk(&p, out);
            } else if testing::is_test_file(&p) {
                out.push(p);
            }
        }
    }
    let mut out = Vec::new();
    let mut dirs = BTreeSet::new();
    for p in paths {
        if p.is_dir() {
            dirs.insert(p.clone());
        } else if let Some(parent) = p.parent() {
            dirs.insert(if parent.as_os_str().is_empty() { PathBuf::from(".") } else { parent.to_path_buf() });
        }
    }
    for d in dirs {
        walk(&d, &mut out);
    }
    out.sort();
    out.dedup();
    out
}

pub fn run(args: &ValidateArgs, cli: &Cli) -> u8 {
    let color = common::stderr_color(cli);
    let config = match common::load_config(args.config.as_deref(), false, &[], color) {
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
    let today = bylaw_engine::chrono::Utc::now().date_naive();
    let mut loaded = loader::load(&paths, crate::common::working_dir());
    for (file, why) in &loaded.not_policies {
        eprintln!("note: {}: {}", common::safe(file), common::safe(why));
    }
    let options = CompileOptions { environment: None, today, include_drafts: true };
    let (set, compile_diags) = compile::compile(&loaded.policies, &loaded.sources, options);
    let mut diags = loaded.diagnostics.clone();
    diags.extend(compile_diags);

    // tests: which rules are exercised, and test files that do not load
    let mut tested: lint::Tested = BTreeSet::new();
    for f in
        test_files(&paths.iter().filter(|p| !p.to_string_lossy().starts_with("pack:")).cloned().collect::<Vec<_>>())
    {
        let file = loader::display_path(&f, crate::common::working_dir());
        let Ok(text) = std::fs::read_to_string(&f) else { continue };
        match testing::parse(&file, f.parent().unwrap_or(Path::new(".")), &text) {
            Ok(t) => {
                for c in &t.cases {
                    tested.extend(c.rules.iter().cloned());
                    if let testing::Expect::Findings(list) = &c.expect {
                        tested.extend(list.iter().map(|e| e.rule.clone()));
                    }
                }
            }
            Err(d) => diags.extend(d),
        }
        loaded.sources.insert(file, Arc::from(text));
    }
    let exception_paths: Vec<PathBuf> = if !args.exceptions.is_empty() {
        args.exceptions.clone()
    } else {
        config.exceptions.iter().map(|p| config.resolve(p)).collect()
    };
    let exception_list = match exceptions::load(&exception_paths, crate::common::working_dir()) {
        Ok(list) => list,
        Err((d, sources)) => {
            diags.extend(d);
            loaded.sources.extend(sources.into_iter().map(|(k, v)| (k, Arc::from(v))));
            Vec::new()
        }
    };
    for p in &exception_paths {
        if let Ok(t) = std::fs::read_to_string(p) {
            loaded.sources.insert(
                loader::display_path(
                    &bylaw_engine::paths::absolute(crate::common::working_dir(), p),
                    crate::common::working_dir(),
                ),
                Arc::from(t),
            );
        }
    }
    diags.extend(lint::lint(&loaded.policies, &exception_list, &tested));
    let errors = diags.iter().filter(|d| d.level == Level::Error).count();
    let warnings = diags.len() - errors;
    match args.format {
        ValidateFormat::Sarif => {
            let sarif = bylaw_report::diagnostics_to_sarif(&diags, &bylaw_report::RenderOptions::default());
            match serde_json::to_string_pretty(&sarif) {
                Ok(s) => crate::outln!("{s}"),
                Err(e) => return usage_error(&format!("cannot render SARIF: {e}"), None, color),
            }
        }
        ValidateFormat::Text => common::print_diagnostics(&diags, &loaded.sources, color),
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
    let rules: usize = set.policies.iter().map(|p| p.rules.len()).sum();
    eprintln!(
        "ok: {} polic{}, {}: no errors{}",
        set.policies.len(),
        if set.policies.len() == 1 { "y" } else { "ies" },
        plural(rules, "rule"),
        if warnings > 0 { format!(", {}", plural(warnings, "warning")) } else { String::new() }
    );
    0
}
