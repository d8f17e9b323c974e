//! `bylaw test [PATHS…]`: load the policies and the `*.test.yaml` files
//! found in PATHS, run every case, print a readable diff of each failure,
//! optionally write JUnit and report rule coverage. Exit 1 on any failing
//! case (or coverage below `--min-coverage`), 2 on load errors.

use crate::common::{self, usage_error, EXIT_ERROR};
use crate::Cli;
use bylaw_ci::env as context;
use bylaw_engine::testing;
use clap::Args;
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct TestArgs {
    /// Policy files, test files (*.test.yaml) or directories holding them (default: .).
    pub paths: Vec<PathBuf>,
    /// Write JUnit XML of the cases to FILE.
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// Report, per rule, whether some case makes it fire and some case makes it pass.
    #[arg(long)]
    pub coverage: bool,
    /// Fail (exit 1) when fewer than N percent of rules both fire and pass in some case.
    #[arg(long, value_name = "N")]
    pub min_coverage: Option<f64>,
    #[command(flatten)]
    pub rego: crate::rego_args::RegoArgs,
}

/// Paths to test without arguments: every source set of the config (its
/// top-level `policies` and each environment's own list: files,
/// directories and packs, with the tests in them; bundles hold no tests),
/// each tested on its own, else the current directory.
fn default_sets(color: bool) -> Result<Vec<Vec<PathBuf>>, u8> {
    let config = common::load_config(None, false, &[], color)?;
    if config.file.is_some() {
        let sets: Vec<Vec<PathBuf>> = bylaw_run::validate::config_source_sets(&config)
            .into_iter()
            .map(|set| {
                set.into_iter()
                    .filter(|p| {
                        let s = p.to_string_lossy();
                        !bylaw_run::sources::is_remote(&s) && !bylaw_run::sources::is_bundle_path(&s)
                    })
                    .collect::<Vec<_>>()
            })
            .filter(|set| !set.is_empty())
            .collect();
        if !sets.is_empty() {
            return Ok(sets);
        }
    }
    Ok(vec![vec![PathBuf::from(".")]])
}

/// What the cases of one source set gave.
struct SetOutcome {
    results: Vec<testing::CaseResult>,
    policies: Vec<bylaw_engine::loader::LoadedPolicy>,
    rego_coverage: Vec<bylaw_engine::language::rego::opa_test::FileCoverage>,
    broken: bool,
}

/// Loads one set of paths and runs its cases; `Ok(None)` when it holds no
/// test and `quiet_if_none`. Errors are printed: the exit code.
fn run_set(
    paths: &[PathBuf],
    rego: &bylaw_run::RegoOptions,
    today: bylaw_engine::chrono::NaiveDate,
    quiet_if_none: bool,
    color: bool,
) -> Result<Option<SetOutcome>, u8> {
    let mut messages = Vec::new();
    let suite = bylaw_run::test::load(paths, rego, common::working_dir(), today, &mut messages);
    common::show(&messages, color);
    let bylaw_run::test::Suite { loaded, tests, gator, rego_tests, rego } = match suite {
        Ok(s) => s,
        Err(bylaw_run::RunError::NoTests) if quiet_if_none => return Ok(None),
        Err(e) => return Err(common::show_error(&e, color)),
    };
    let (mut results, _) = testing::run(&loaded.policies, &loaded.sources, &tests, today);
    // gator suites: a suite that cannot run is an error (exit 2), the others still run
    let options = bylaw_engine::compile::CompileOptions { environment: None, today, include_drafts: true };
    let mut broken = false;
    let mut rego_coverage = Vec::new();
    if !rego_tests.is_empty() {
        match bylaw_engine::language::rego::opa_test::run(&loaded.rego, &rego_tests, &rego) {
            Ok(outcome) => {
                results.extend(outcome.results);
                rego_coverage = outcome.coverage;
            }
            Err(diagnostics) => {
                common::print_diagnostics(&diagnostics, &loaded.sources, color);
                broken = true;
            }
        }
    }
    for (path, shown) in &gator {
        match bylaw_engine::language::rego::gator::run(path, shown, rego.gatekeeper_cel, &options) {
            Ok(r) => results.extend(r),
            Err(diagnostics) => {
                common::print_diagnostics(&diagnostics, &loaded.sources, color);
                broken = true;
            }
        }
    }
    Ok(Some(SetOutcome { results, policies: loaded.policies, rego_coverage, broken }))
}

pub fn run(args: &TestArgs, cli: &Cli) -> u8 {
    let color = common::stderr_color(cli);
    let sets = if args.paths.is_empty() {
        match default_sets(color) {
            Ok(p) => p,
            Err(code) => return code,
        }
    } else {
        vec![args.paths.clone()]
    };
    let now = match context::now(&context::process_env) {
        Ok(n) => n,
        Err(m) => return usage_error(&m, None, color),
    };
    let config = common::load_config(None, false, &[], color).unwrap_or_default();
    let rego = args.rego.options(&config);
    // each set on its own (two environments may use two versions of a
    // policy); a case both sets run is reported once
    let mut results: Vec<testing::CaseResult> = Vec::new();
    let mut policies: Vec<bylaw_engine::loader::LoadedPolicy> = Vec::new();
    let mut rego_coverage: Vec<bylaw_engine::language::rego::opa_test::FileCoverage> = Vec::new();
    let mut broken = false;
    let mut any = false;
    for (i, set) in sets.iter().enumerate() {
        // a set without tests is no error while another set has some
        let last_chance = i + 1 == sets.len() && !any;
        let outcome = match run_set(set, &rego, now.date_naive(), !last_chance, color) {
            Ok(Some(o)) => o,
            Ok(None) => continue,
            Err(code) => return code,
        };
        any = true;
        broken |= outcome.broken;
        for r in outcome.results {
            if !results.iter().any(|o| o.file == r.file && o.line == r.line && o.name == r.name) {
                results.push(r);
            }
        }
        for p in outcome.policies {
            if !policies.iter().any(|o| o.file == p.file && o.def.metadata.name == p.def.metadata.name) {
                policies.push(p);
            }
        }
        for c in outcome.rego_coverage {
            if !rego_coverage.iter().any(|o| o.file == c.file) {
                rego_coverage.push(c);
            }
        }
    }
    let (green, red, bold, reset) = if common::use_color(cli, std::io::IsTerminal::is_terminal(&std::io::stdout())) {
        ("\x1b[32m", "\x1b[31m", "\x1b[1m", "\x1b[0m")
    } else {
        ("", "", "", "")
    };
    for r in &results {
        if r.passed() {
            crate::outln!("{green}PASS{reset} {}:{} {}", common::safe(&r.file), r.line, common::safe(&r.name));
        } else {
            crate::outln!("{red}{bold}FAIL{reset} {}:{} {}", common::safe(&r.file), r.line, common::safe(&r.name));
            for f in &r.failures {
                // a failure may span lines (a diff); each line is made safe
                for line in f.to_string().lines() {
                    crate::outln!("    {}", common::safe(line));
                }
            }
        }
    }
    let failed = results.iter().filter(|r| !r.passed()).count();
    crate::outln!(
        "\n{} case{}: {} passed, {} failed",
        results.len(),
        if results.len() == 1 { "" } else { "s" },
        results.len() - failed,
        failed
    );
    let mut code = if broken {
        EXIT_ERROR
    } else if failed > 0 {
        1
    } else {
        0
    };
    if args.coverage || args.min_coverage.is_some() {
        let cov = testing::coverage(&policies, &results);
        let pct = testing::coverage_percent(&cov);
        let full = cov.iter().filter(|c| c.fires && c.passes).count();
        if !cov.is_empty() {
            crate::outln!(
                "\ncoverage: {pct:.1}% of rules fire in some case and pass in another ({full} of {})",
                cov.len()
            );
        }
        if args.coverage && !cov.is_empty() {
            let w = cov.iter().map(|c| c.rule.len()).max().unwrap_or(4).max(4);
            crate::outln!("  {:<w$}  {:<6} {:<6} POLICY", "RULE", "FIRES", "PASSES");
            let yn = |b: bool| if b { "yes" } else { "no" };
            for c in &cov {
                crate::outln!("  {:<w$}  {:<6} {:<6} {}", c.rule, yn(c.fires), yn(c.passes), c.policy);
            }
        }
        if !rego_coverage.is_empty() {
            crate::outln!("\nRego line coverage by the *_test.rego tests:");
            for f in &rego_coverage {
                let missed: Vec<String> = f.not_covered.iter().map(u32::to_string).collect();
                let missed =
                    if missed.is_empty() { String::new() } else { format!(" (not run: lines {})", missed.join(", ")) };
                crate::outln!("  {:5.1}%  {}{missed}", f.percent(), common::safe(&f.file));
            }
        }
        if let Some(min) = args.min_coverage {
            if pct < min {
                eprintln!("error: rule coverage {pct:.1}% is below --min-coverage {min}");
                code = 1;
            }
        }
    }
    if let Some(path) = &args.junit {
        let written = bylaw_report::tests_junit(&results)
            .map_err(|e| e.to_string())
            .and_then(|xml| bylaw_report::write_atomic(path, xml.as_bytes()).map_err(|e| e.to_string()));
        if let Err(e) = written {
            usage_error(&common::cannot_write(path, &e), None, color);
            return EXIT_ERROR;
        }
    }
    code
}
