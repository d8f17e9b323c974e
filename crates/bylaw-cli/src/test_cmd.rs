//! `bylaw test [PATHS…]`: load the policies and the `*.test.yaml` files
//! found in PATHS, run every case, print a readable diff of each failure,
//! optionally write JUnit and report rule coverage. Exit 1 on any failing
//! case (or coverage below `--min-coverage`), 2 on load errors.

use crate::common::{self, usage_error, EXIT_ERROR};
use crate::Cli;
use bylaw_ci::env as context;
use bylaw_engine::compile::CompileOptions;
use bylaw_engine::diagnostic::Code;
use bylaw_engine::loader::display_path;
use bylaw_engine::testing::{self, is_test_file};
use clap::Args;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

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
}

/// Test files under `dir` (symlink loops are not followed twice).
fn walk(dir: &std::path::Path, out: &mut Vec<PathBuf>) {
    let mut files = bylaw_engine::loader::walk(dir).files;
    files.sort();
    out.extend(files.into_iter().filter(|p| is_test_file(p)));
}

fn has_policy_files(dir: &std::path::Path) -> bool {
    let files = bylaw_engine::loader::walk(dir).files;
    files.iter().any(|p| {
        let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
        (name.ends_with(".yaml") || name.ends_with(".yml")) && !is_test_file(p)
    })
}

/// The policy file beside a test file: `x.test.yaml` → `x.yaml` / `x.yml`.
fn sibling_policy(test: &Path) -> Option<PathBuf> {
    let name = test.file_name()?.to_str()?;
    let stem = name.strip_suffix(".test.yaml").or_else(|| name.strip_suffix(".test.yml"))?;
    ["yaml", "yml"].iter().map(|ext| test.with_file_name(format!("{stem}.{ext}"))).find(|p| p.is_file())
}

/// Paths to test without arguments: the config's `policies` (its files,
/// directories and packs, with the tests in them), else the current directory.
fn default_paths(color: bool) -> Result<Vec<PathBuf>, u8> {
    let config = common::load_config(None, false, &[], color)?;
    if config.file.is_some() && !config.policies.is_empty() {
        return Ok(common::policy_paths(&[], &config));
    }
    Ok(vec![PathBuf::from(".")])
}

pub fn run(args: &TestArgs, cli: &Cli) -> u8 {
    let color = common::stderr_color(cli);
    let paths = if args.paths.is_empty() {
        match default_paths(color) {
            Ok(p) => p,
            Err(code) => return code,
        }
    } else {
        args.paths.clone()
    };
    let mut test_files = Vec::new();
    let mut policy_paths = Vec::new();
    for p in &paths {
        if p.to_str().is_some_and(|s| s.starts_with("pack:")) {
            policy_paths.push(p.clone());
        } else if p.is_dir() {
            let before = test_files.len();
            walk(p, &mut test_files);
            // a directory of tests only holds no policies: do not ask the loader for any
            if has_policy_files(p) || test_files.len() == before {
                policy_paths.push(p.clone());
            }
        } else if is_test_file(p) {
            test_files.push(p.clone());
        } else {
            policy_paths.push(p.clone());
        }
    }
    // the policy beside each test file is loaded with it
    let loaded_already = |candidate: &Path, policy_paths: &[PathBuf]| {
        let c = bylaw_engine::paths::absolute(crate::common::working_dir(), candidate);
        policy_paths.iter().any(|p| c.starts_with(bylaw_engine::paths::absolute(crate::common::working_dir(), p)))
    };
    for t in &test_files {
        if let Some(sib) = sibling_policy(t) {
            if !loaded_already(&sib, &policy_paths) {
                policy_paths.push(sib);
            }
        }
    }
    let now = match context::now(&|k: &str| std::env::var(k).ok()) {
        Ok(n) => n,
        Err(m) => return usage_error(&m, None, color),
    };
    let options = CompileOptions { environment: None, today: now.date_naive(), include_drafts: true };
    let (_, loaded) = match common::load_and_compile(&policy_paths, options, color) {
        Ok(x) => x,
        Err(code) => return code,
    };
    let mut tests = Vec::new();
    let mut errors = Vec::new();
    let mut sources: HashMap<String, Arc<str>> = HashMap::new();
    for f in &test_files {
        let file = display_path(f, crate::common::working_dir());
        let dir = f.parent().map(PathBuf::from).unwrap_or_default();
        match bylaw_engine::paths::read_text(f) {
            Ok(text) => {
                match testing::parse(&file, &dir, &text) {
                    Ok(t) => tests.push(t),
                    Err(d) => errors.extend(d),
                }
                sources.insert(file, Arc::from(text));
            }
            Err(e) => errors.push(bylaw_engine::diagnostic::Diagnostic::error(Code::Io, &file, None, e.to_string())),
        }
    }
    // a test of a policy that is not loaded would pass or fail for nothing
    let names: Vec<&str> = loaded.policies.iter().map(|p| p.def.metadata.name.as_str()).collect();
    for t in &tests {
        let Some(policy) = &t.policy else { continue };
        if names.contains(&policy.as_str()) {
            continue;
        }
        let mut d = bylaw_engine::diagnostic::Diagnostic::error(
            Code::UnknownPolicy,
            &t.file,
            t.policy_span,
            format!("the tests are for policy `{policy}`, which is not loaded"),
        );
        d.hint = Some(match bylaw_engine::diagnostic::did_you_mean(policy, names.iter().copied()) {
            Some(m) => format!("did you mean `{m}`?"),
            None if names.is_empty() => {
                "no policy was loaded: pass the policy file or its directory (`bylaw test policies/`)".into()
            }
            None => format!(
                "loaded policies: {}; pass the policy file or its directory, or put it beside the test file",
                names.join(", ")
            ),
        });
        errors.push(d);
    }
    if !errors.is_empty() {
        common::print_diagnostics(&errors, &sources, color);
        let n = errors.len();
        let message = format!("{n} error{} in test files; no test was run", if n == 1 { "" } else { "s" });
        return common::summary_error(&message, None, color);
    }
    tests.extend(testing::example_tests(&loaded.policies));
    if tests.is_empty() {
        return usage_error(
            "no policy tests found",
            Some("tests are `kind: PolicyTest` files named *.test.yaml next to the policies"),
            color,
        );
    }
    let (results, _) = testing::run(&loaded.policies, &loaded.sources, &tests, now.date_naive());
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
    let mut code = if failed > 0 { 1 } else { 0 };
    if args.coverage || args.min_coverage.is_some() {
        let cov = testing::coverage(&loaded.policies, &results);
        let pct = testing::coverage_percent(&cov);
        let full = cov.iter().filter(|c| c.fires && c.passes).count();
        crate::outln!("\ncoverage: {pct:.1}% of rules fire in some case and pass in another ({full} of {})", cov.len());
        if args.coverage {
            let w = cov.iter().map(|c| c.rule.len()).max().unwrap_or(4).max(4);
            crate::outln!("  {:<w$}  {:<6} {:<6} POLICY", "RULE", "FIRES", "PASSES");
            let yn = |b: bool| if b { "yes" } else { "no" };
            for c in &cov {
                crate::outln!("  {:<w$}  {:<6} {:<6} {}", c.rule, yn(c.fires), yn(c.passes), c.policy);
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
