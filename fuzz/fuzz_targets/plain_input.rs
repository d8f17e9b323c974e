//! The small text formats (TOML, INI, Java properties, `.env`, JSON Lines)
//! and Terraform plans: `input::parse(Format::X, …)` of the same bytes in
//! each format, every span, error and comment a real place in the file;
//! as an oracle for TOML, what the `toml` crate reads (a valid file is one
//! document unless it has no key), and for JSON Lines, that every line
//! `serde_json` accepts is a document. Then the text is evaluated as a
//! file of each format with the example and built-in policies, and the
//! report rendered by every emitter.
#![no_main]

use bylaw_engine::input::{self, Format};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some(src) = bylaw_fuzz::text(data) else { return };
    bylaw_fuzz::on_cli_stack(move || {
        for format in
            [Format::TOML, Format::INI, Format::PROPERTIES, Format::DOTENV, Format::JSONL, Format::TERRAFORM_PLAN]
        {
            let parsed = input::parse(format, &src);
            bylaw_fuzz::check_parsed(&parsed, &src);
        }
        let body = src.strip_prefix('\u{feff}').unwrap_or(&src);
        if let Ok(table) = body.parse::<toml::Table>() {
            let parsed = input::parse(Format::TOML, &src);
            assert!(parsed.errors.is_empty(), "valid TOML refused: {:?}", parsed.errors);
            assert_eq!(parsed.documents.len(), usize::from(!table.is_empty()));
        }
        // JSON Lines: a line is a document exactly when `serde_json` reads
        // it (bylaw refuses duplicate keys on purpose)
        let valid_lines = body
            .split(['\n', '\r'])
            .map(|l| l.strip_prefix('\u{feff}').unwrap_or(l))
            .filter(|l| !l.trim_matches([' ', '\t']).is_empty())
            .filter(|l| serde_json::from_str::<serde::de::IgnoredAny>(l).is_ok())
            .count();
        let mut docs = 0;
        let jsonl = Format::JSONL.parse(&src, &mut |_| docs += 1);
        let duplicates = jsonl.errors.iter().filter(|e| e.message.contains("duplicate")).count();
        assert!(
            docs <= valid_lines && docs + duplicates >= valid_lines,
            "{docs} documents of {valid_lines} JSON lines"
        );
        let files = [
            bylaw_fuzz::file("Cargo.toml", &src),
            bylaw_fuzz::file("setup.cfg", &src),
            bylaw_fuzz::file("app.properties", &src),
            bylaw_fuzz::file(".env", &src),
            bylaw_fuzz::file("log.jsonl", &src),
        ];
        let report = bylaw_fuzz::input_policies().run(&files, &bylaw_fuzz::run_options());
        bylaw_fuzz::render_all(&report);
    });
});
