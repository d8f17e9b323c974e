//! A YAML input file, on the CLI's path for one file: `input::parse` and
//! `parse_path` (spans of every node, key, comment and error must be real
//! places in the file), then `PolicySet::run_detailed` with the example and
//! built-in Kubernetes and GitHub Actions policies, inline suppressions
//! through `exceptions::apply`, and every emitter on the report.
#![no_main]

use bylaw_engine::exceptions;
use bylaw_engine::input::{self, Format};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some(src) = bylaw_fuzz::text(data) else { return };
    bylaw_fuzz::on_cli_stack(move || {
        let parsed = input::parse(Format::YAML, &src);
        bylaw_fuzz::check_parsed(&parsed, &src);
        for d in &parsed.documents {
            let _ = d.to_json();
        }
        let _ = exceptions::inline_from_comments(&parsed.comments);
        let set = bylaw_fuzz::input_policies();
        for path in ["deploy/app.yaml", ".github/workflows/ci.yml"] {
            let (mut report, details) = set.run_detailed(&[bylaw_fuzz::file(path, &src)], &bylaw_fuzz::run_options());
            let lines = bylaw_fuzz::line_count(&src);
            for f in &report.findings {
                let l = &f.location;
                let span = bylaw_engine::node::Span {
                    start_line: l.start_line,
                    start_col: l.start_column,
                    end_line: l.end_line,
                    end_col: l.end_column,
                };
                bylaw_fuzz::check_span(&f.rule_id, span, lines);
            }
            let rules = bylaw_fuzz::policy_rules(set);
            let settings = bylaw_fuzz::exception_settings();
            exceptions::apply(&mut report, &[], &rules, &settings, &|p| {
                details.inline.get(p).cloned().unwrap_or_default()
            });
            bylaw_fuzz::render_all(&report);
        }
    });
});
