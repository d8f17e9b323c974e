//! A CloudFormation template (YAML with intrinsic short forms, or JSON):
//! `input::parse` (spans of every node, key, comment and error must be real
//! places in the file; `!Ref` and the other short forms read as long forms), the
//! sniffing of a `.yaml` file, and the `cloudformation-aws` pack on the
//! CLI's path for one file.
#![no_main]

use bylaw_engine::input::{self, Format};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some(src) = bylaw_fuzz::text(data) else { return };
    bylaw_fuzz::on_cli_stack(move || {
        let parsed = input::parse(Format::CLOUDFORMATION, &src);
        bylaw_fuzz::check_parsed(&parsed, &src);
        for d in &parsed.documents {
            let _ = d.to_json();
            let _ = Format::CLOUDFORMATION.resource(d);
        }
        let _ = Format::of_file("stack.yaml", &src);
        let _ = Format::of_file("stack.json", &src);
        let set = bylaw_fuzz::input_policies();
        let (report, _) = set.run_detailed(&[bylaw_fuzz::file("stack.template", &src)], &bylaw_fuzz::run_options());
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
    });
});
