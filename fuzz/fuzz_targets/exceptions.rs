//! An exception list, as `bylaw check --exceptions` reads one: written to a
//! file and loaded with `exceptions::load` (YAML, schema, dates, globs,
//! duplicate ids), every diagnostic rendered with its snippet; a list that
//! loads is linted against the rules (`lint::lint`) and applied
//! (`exceptions::apply`, requirements, expiry, inline suppressions) to a
//! report with findings, which is then rendered by every emitter.
#![no_main]

use bylaw_engine::{exceptions, lint};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some(src) = bylaw_fuzz::text(data) else { return };
    bylaw_fuzz::on_cli_stack(move || {
        let path = bylaw_fuzz::scratch_dir().join("exceptions.yaml");
        std::fs::write(&path, &src).expect("write the list into the scratch directory");
        let list = match exceptions::load(std::slice::from_ref(&path), bylaw_fuzz::scratch_dir()) {
            Ok(list) => list,
            Err((diags, sources)) => {
                bylaw_fuzz::render_diagnostics(&diags, &|f: &str| sources.get(f).cloned());
                return;
            }
        };
        let world = bylaw_fuzz::exception_world();
        let lints = lint::lint(&world.loaded.policies, &list, &Default::default());
        bylaw_fuzz::render_diagnostics(&lints, &|_: &str| Some(src.clone()));
        let mut report = world.report.clone();
        let rejected = exceptions::apply(
            &mut report,
            &list,
            &bylaw_fuzz::policy_rules(&world.set),
            &bylaw_fuzz::exception_settings(),
            &|p| world.inline.get(p).cloned().unwrap_or_default(),
        );
        bylaw_fuzz::render_diagnostics(&rejected, &|_: &str| Some(src.clone()));
        assert_eq!(
            report.findings.len(),
            world.report.findings.len(),
            "an excepted finding stays in every output, marked"
        );
        bylaw_fuzz::render_all(&report);
    });
});
