//! A PolicyTest file, as `bylaw test` reads one: `testing::parse` (YAML,
//! schema, `expect`, input files), every diagnostic rendered with its
//! snippet; a file that parses is run with `testing::run` against the
//! example policy (`examples/policies/k8s-workload-security.yaml`), and
//! coverage computed. The test file sits in the scratch directory beside
//! copies of the input files the seeds name (`inputs/pod.yaml`, `../inputs/pod.yaml`,
//! `../manifests/good/payments-api-deployment.yaml`); cases whose input is
//! a file outside the scratch directory are left out of the run, so the
//! target reads no file the fuzzer names.
#![no_main]

use bylaw_engine::testing;
use libfuzzer_sys::fuzz_target;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

fn example() -> &'static bylaw_engine::loader::Loaded {
    static LOADED: OnceLock<bylaw_engine::loader::Loaded> = OnceLock::new();
    LOADED.get_or_init(|| bylaw_fuzz::load_known(&[bylaw_fuzz::EXAMPLE_POLICY]))
}

/// The directory the test file is in, with the seeds' input files around it.
fn test_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let root = bylaw_fuzz::scratch_dir();
        let files = [
            ("tests/inputs/pod.yaml", include_str!("../../tests/fixtures/policytests/inputs/pod.yaml")),
            ("inputs/pod.yaml", include_str!("../../tests/fixtures/policytests/inputs/pod.yaml")),
            (
                "manifests/good/payments-api-deployment.yaml",
                include_str!("../../examples/manifests/good/payments-api-deployment.yaml"),
            ),
        ];
        for (p, text) in files {
            let p = root.join(p);
            std::fs::create_dir_all(p.parent().expect("a parent")).expect("create a scratch subdirectory");
            std::fs::write(&p, text).expect("write an input file");
        }
        root.join("tests")
    })
}

/// Whether a case's input file is inside the scratch directory.
fn in_scratch(dir: &Path, file: &str) -> bool {
    let root = std::fs::canonicalize(bylaw_fuzz::scratch_dir()).ok();
    let p = std::fs::canonicalize(dir.join(file)).ok();
    matches!((root, p), (Some(r), Some(p)) if p.starts_with(&r))
}

fuzz_target!(|data: &[u8]| {
    let Some(src) = bylaw_fuzz::text(data) else { return };
    bylaw_fuzz::on_cli_stack(move || {
        let file = "policies/fuzz.test.yaml";
        let mut t = match testing::parse(file, test_dir(), &src) {
            Ok(t) => t,
            Err(diags) => {
                bylaw_fuzz::render_diagnostics(&diags, &|_: &str| Some(src.clone()));
                return;
            }
        };
        assert_eq!(t.lines.len(), t.cases.len());
        let keep: Vec<usize> = (0..t.cases.len())
            .filter(|&i| t.cases[i].input.file.as_deref().is_none_or(|f| in_scratch(test_dir(), f)))
            .collect();
        t.cases = keep.iter().map(|&i| t.cases[i].clone()).collect();
        t.lines = keep.iter().map(|&i| t.lines[i]).collect();
        t.spans = keep.iter().map(|&i| t.spans[i]).collect();
        let loaded = example();
        let (results, diags) = testing::run(&loaded.policies, &loaded.sources, &[t], bylaw_fuzz::today());
        assert_eq!(results.len(), keep.len(), "one result per case");
        bylaw_fuzz::render_diagnostics(&diags, &|f: &str| loaded.sources.get(f).map(|s| s.to_string()));
        let cov = testing::coverage(&loaded.policies, &results);
        let pct = testing::coverage_percent(&cov);
        assert!((0.0..=100.0).contains(&pct), "coverage {pct}%");
    });
});
