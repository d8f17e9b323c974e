//! A Dockerfile: `input::parse(Format::DOCKERFILE, …)` with every span a
//! real place in the file, and what the format promises: instructions in
//! file order, each starting on a line that is not a comment, every comment
//! on a line whose first non-blank character is `#`, at most one document.
//! Then the file is evaluated as `Dockerfile` with the `dockerfile` pack
//! and the report rendered by every emitter.
#![no_main]

use bylaw_engine::compile::{compile, PolicySet};
use bylaw_engine::input::{self, Format};
use bylaw_engine::loader;
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

fn pack() -> &'static PolicySet {
    static SET: OnceLock<PolicySet> = OnceLock::new();
    SET.get_or_init(|| {
        let loaded = loader::load(&[std::path::PathBuf::from("pack:dockerfile")], std::path::Path::new("/"));
        assert!(loaded.diagnostics.is_empty(), "{:#?}", loaded.diagnostics);
        let (set, diags) = compile(&loaded.policies, &loaded.sources, bylaw_fuzz::compile_options(false));
        assert!(diags.is_empty(), "{diags:#?}");
        set
    })
}

fuzz_target!(|data: &[u8]| {
    let Some(src) = bylaw_fuzz::text(data) else { return };
    bylaw_fuzz::on_cli_stack(move || {
        let parsed = input::parse(Format::DOCKERFILE, &src);
        bylaw_fuzz::check_parsed(&parsed, &src);
        assert!(parsed.documents.len() <= 1, "one document per Dockerfile");
        let lines: Vec<&str> = src.strip_prefix('\u{feff}').unwrap_or(&src).split('\n').collect();
        for c in &parsed.comments {
            let line = lines.get(c.line as usize - 1).copied().unwrap_or_default();
            assert!(line.trim_start().starts_with('#'), "comment at line {} of {line:?}", c.line);
        }
        if let Some(doc) = parsed.documents.first() {
            let json = doc.to_json();
            for i in json["instructions"].as_array().into_iter().flatten() {
                assert!(i["instruction"].is_string() && i["arguments"].is_string(), "{i}");
            }
            let mut last = 0;
            if let Some(bylaw_engine::node::NodeValue::Seq(items)) = doc.get("instructions").map(|n| &n.value) {
                for n in items {
                    assert!(n.span.start_line > last, "instructions in file order");
                    last = n.span.end_line;
                    let first = lines.get(n.span.start_line as usize - 1).copied().unwrap_or_default();
                    assert!(!first.trim_start().starts_with('#'), "an instruction on a comment line: {first:?}");
                }
            }
        }
        let report = pack().run(&[bylaw_fuzz::file("Dockerfile", &src)], &bylaw_fuzz::run_options());
        bylaw_fuzz::render_all(&report);
    });
});
