//! `bylaw test` as a library call: find the `*.test.yaml` files and the
//! policies in the given paths (a test file brings the policy beside it),
//! load and compile the policies, parse the tests, and check that each
//! test names a loaded policy. Running the cases is
//! [`bylaw_engine::testing::run`]. Nothing is printed.

use crate::{Message, RunError, Sources};
use bylaw_engine::chrono::NaiveDate;
use bylaw_engine::compile::CompileOptions;
use bylaw_engine::diagnostic::{did_you_mean, Code, Diagnostic};
use bylaw_engine::language::rego::{gator, RegoModule};
use bylaw_engine::loader::Loaded;
use bylaw_engine::paths::absolute;
use bylaw_engine::testing::{self, is_test_file, TestFile};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Policies and their tests, ready to run.
pub struct Suite {
    /// The policies loaded (their sources for snippets).
    pub loaded: Loaded,
    /// The test files' tests, then the examples embedded in policies.
    pub tests: Vec<TestFile>,
    /// `gator verify` suite files (`kind: Suite`): (path, display path),
    /// run by [`bylaw_engine::language::rego::gator::run`].
    pub gator: Vec<(PathBuf, String)>,
    /// OPA test modules (`*_test.rego`), run with `loaded.rego` by
    /// [`bylaw_engine::language::rego::opa_test::run`].
    pub rego_tests: Vec<RegoModule>,
    /// The Rego options of the run, its data files read.
    pub rego: crate::RegoOptions,
}

fn is_rego_test(p: &Path) -> bool {
    p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.ends_with("_test.rego"))
}

/// Whether the YAML file at `p` is a gator Suite.
fn is_gator_suite(p: &Path) -> bool {
    let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
    (name.ends_with(".yaml") || name.ends_with(".yml"))
        && !is_test_file(p)
        && std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.len() < 1 << 20)
        && bylaw_engine::paths::read_text(p).is_ok_and(|t| gator::is_suite(&t))
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

/// Loads the policies and tests in `paths` (policy files, test files,
/// directories holding them, `pack:NAME`; relative ones from
/// `working_dir`) as of `today`. Notes and policy warnings go to
/// `messages`.
///
/// # Errors
/// [`RunError::Policies`], [`RunError::TestFiles`] (a test file that does
/// not parse or names a policy that is not loaded), [`RunError::NoTests`].
pub fn load(
    paths: &[PathBuf],
    rego: &crate::RegoOptions,
    working_dir: &Path,
    today: NaiveDate,
    messages: &mut Vec<Message>,
) -> Result<Suite, RunError> {
    let mut test_files = Vec::new();
    let mut policy_paths = Vec::new();
    let mut suites: Vec<PathBuf> = Vec::new();
    let mut rego_test_paths: Vec<PathBuf> = Vec::new();
    // (absolute, as given): files under a path are shown as it was spelled
    let mut roots: Vec<(PathBuf, PathBuf)> = Vec::new();
    for given in paths {
        let p = &if given.to_str().is_some_and(|s| s.starts_with("pack:")) {
            given.clone()
        } else {
            absolute(working_dir, given)
        };
        roots.push((p.clone(), given.clone()));
        if p.to_str().is_some_and(|s| s.starts_with("pack:")) {
            policy_paths.push(p.clone());
        } else if p.is_dir() {
            let before = test_files.len();
            walk(p, &mut test_files);
            let suites_before = suites.len();
            let mut files = bylaw_engine::loader::walk(p).files;
            files.sort();
            rego_test_paths.extend(files.iter().filter(|f| is_rego_test(f)).cloned());
            suites.extend(files.into_iter().filter(|f| is_gator_suite(f)));
            // a directory of tests only holds no policies: do not ask the
            // loader for any (a gator suite names its own template)
            let only_suites = suites.len() > suites_before && test_files.len() == before;
            if !only_suites && (has_policy_files(p) || test_files.len() == before) {
                policy_paths.push(p.clone());
            }
        } else if is_test_file(p) {
            test_files.push(p.clone());
        } else if is_gator_suite(p) {
            suites.push(p.clone());
        } else if is_rego_test(p) {
            rego_test_paths.push(p.clone());
        } else {
            policy_paths.push(p.clone());
        }
    }
    // the policy beside each test file is loaded with it
    let loaded_already =
        |candidate: &Path, policy_paths: &[PathBuf]| policy_paths.iter().any(|p| candidate.starts_with(p));
    for t in &test_files {
        if let Some(sib) = sibling_policy(t) {
            if !loaded_already(&sib, &policy_paths) {
                policy_paths.push(sib);
            }
        }
    }
    let options = CompileOptions { environment: None, today, include_drafts: true };
    let shown = |f: &Path| {
        let given = roots.iter().filter(|(abs, _)| f.starts_with(abs)).map(|(_, g)| g.as_path()).next().unwrap_or(f);
        bylaw_engine::loader::display_as_given(f, given, working_dir)
    };
    // the loader shows a policy path as given
    let policy_paths: Vec<PathBuf> = policy_paths
        .into_iter()
        .map(|p| match roots.iter().find(|(abs, _)| *abs == p) {
            Some((_, given)) => given.clone(),
            // a sibling policy of a test file: spelled as its test's path is
            None if p.is_absolute() => PathBuf::from(shown(&p)),
            None => p,
        })
        .collect();
    let (_, loaded) = crate::load_and_compile(&policy_paths, options, rego, working_dir, messages)?;
    let mut rego = rego.clone();
    let mut data_sources = Sources::new();
    let mut data_diagnostics = Vec::new();
    bylaw_engine::language::rego::read_data(&mut rego, working_dir, &mut data_sources, &mut data_diagnostics);
    let mut tests = Vec::new();
    let mut errors = Vec::new();
    let mut sources = Sources::new();
    for f in &test_files {
        let file = shown(f);
        let dir = f.parent().map(PathBuf::from).unwrap_or_default();
        match bylaw_engine::paths::read_text(f) {
            Ok(text) => {
                match testing::parse(&file, &dir, &text) {
                    Ok(t) => tests.push(t),
                    Err(d) => errors.extend(d),
                }
                sources.insert(file, Arc::from(text));
            }
            Err(e) => errors.push(Diagnostic::error(Code::Io, &file, None, e.to_string())),
        }
    }
    // a test of a policy that is not loaded would pass or fail for nothing
    let names: Vec<&str> = loaded.policies.iter().map(|p| p.def.metadata.name.as_str()).collect();
    for t in &tests {
        let Some(policy) = &t.policy else { continue };
        if names.contains(&policy.as_str()) {
            continue;
        }
        let mut d = Diagnostic::error(
            Code::UnknownPolicy,
            &t.file,
            t.policy_span,
            format!("the tests are for policy `{policy}`, which is not loaded"),
        );
        d.hint = Some(match did_you_mean(policy, names.iter().copied()) {
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
        return Err(RunError::TestFiles { diagnostics: errors, sources });
    }
    tests.extend(testing::example_tests(&loaded.policies));
    let mut rego_tests = Vec::new();
    for p in &rego_test_paths {
        let file = shown(p);
        match bylaw_engine::paths::read_text(p) {
            Ok(text) => rego_tests.push(RegoModule { file, text: Arc::from(text) }),
            Err(e) => errors.push(Diagnostic::error(Code::Io, &file, None, e.to_string())),
        }
    }
    if !errors.is_empty() {
        return Err(RunError::TestFiles { diagnostics: errors, sources });
    }
    if tests.is_empty() && suites.is_empty() && rego_tests.is_empty() {
        return Err(RunError::NoTests);
    }
    let gator = suites.into_iter().map(|p| (p.clone(), shown(&p))).collect();
    Ok(Suite { loaded, tests, gator, rego_tests, rego })
}
