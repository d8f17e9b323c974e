//! A policy file, as `bylaw check`, `validate` and `test` read one: written
//! to a file and loaded with `loader::load` (YAML, schema, `extends`,
//! checks across policies), compiled with `compile::compile` (CEL, JSONPath,
//! globs, templates), linted with `lint::lint`; every diagnostic rendered
//! with its snippet. A policy that compiles is run on fixed manifests and
//! its rules' documented examples are run as `bylaw test` runs them.
#![no_main]

use bylaw_engine::{compile, lint, loader, testing};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some(src) = bylaw_fuzz::text(data) else { return };
    bylaw_fuzz::on_cli_stack(move || {
        let path = bylaw_fuzz::scratch_dir().join("policy.yaml");
        std::fs::write(&path, &src).expect("write the policy into the scratch directory");
        let loaded = loader::load(std::slice::from_ref(&path), bylaw_fuzz::scratch_dir());
        let source = |f: &str| loaded.sources.get(f).map(|s| s.to_string());
        bylaw_fuzz::render_diagnostics(&loaded.diagnostics, &source);
        if loaded.has_errors() {
            return;
        }
        let (set, diags) = compile::compile(&loaded.policies, &loaded.sources, bylaw_fuzz::compile_options(true));
        bylaw_fuzz::render_diagnostics(&diags, &source);
        let lints = lint::lint(&loaded.policies, &[], &Default::default());
        bylaw_fuzz::render_diagnostics(&lints, &source);
        if diags.iter().any(|d| d.level == bylaw_engine::diagnostic::Level::Error) {
            return;
        }
        let files: Vec<_> = bylaw_fuzz::EXCEPTION_INPUTS.iter().map(|(p, t)| bylaw_fuzz::file(p, t)).collect();
        let report = set.run(&files, &bylaw_fuzz::run_options());
        bylaw_fuzz::render_all(&report);
        let examples = testing::example_tests(&loaded.policies);
        let (results, _) = testing::run(&loaded.policies, &loaded.sources, &examples, bylaw_fuzz::today());
        let _ = testing::coverage(&loaded.policies, &results);
    });
});
