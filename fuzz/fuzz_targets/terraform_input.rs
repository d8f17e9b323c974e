//! A Terraform / HCL input file: `input::parse` as Terraform (`*.tf`,
//! native or JSON syntax), Terraform variables (`*.tfvars`) and generic HCL
//! (`*.hcl`), with every span a real place in the file; and, as an oracle,
//! every reported comment starts with a comment marker (`#`, `//`, `/*`)
//! where it says it does: a `#` inside a string or a heredoc is never one.
//! Then the file is evaluated as `main.tf` with the example and built-in
//! policies, and the report rendered by every emitter.
#![no_main]

use bylaw_engine::input::{self, Format};
use libfuzzer_sys::fuzz_target;

/// The text of `src` from 1-based `line` and character `col` on.
fn from(src: &str, line: u32, col: u32) -> &str {
    let Some(l) = src.split('\n').nth(line as usize - 1) else { return "" };
    l.char_indices().nth(col as usize - 1).map_or("", |(i, _)| &l[i..])
}

fn check_comments(parsed: &input::ParsedFile, src: &str) {
    let body = src.strip_prefix('\u{feff}').unwrap_or(src);
    for c in &parsed.comments {
        let at = from(body, c.line, c.col);
        assert!(
            at.starts_with('#') || at.starts_with("//") || at.starts_with("/*"),
            "a comment at {}:{} starts with {:?}",
            c.line,
            c.col,
            at.chars().take(8).collect::<String>()
        );
    }
}

fuzz_target!(|data: &[u8]| {
    let Some(src) = bylaw_fuzz::text(data) else { return };
    bylaw_fuzz::on_cli_stack(move || {
        for format in [Format::TERRAFORM, Format::TERRAFORM_VARS, Format::HCL] {
            let parsed = input::parse(format, &src);
            bylaw_fuzz::check_parsed(&parsed, &src);
            check_comments(&parsed, &src);
            for d in &parsed.documents {
                assert!(format.resource(d).is_some(), "every document has a kind: {}", d.to_json());
            }
        }
        let report = bylaw_fuzz::input_policies().run(&[bylaw_fuzz::file("main.tf", &src)], &bylaw_fuzz::run_options());
        bylaw_fuzz::render_all(&report);
    });
});
