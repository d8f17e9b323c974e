//! A JSON input file: `input::parse(Format::JSON, …)` (strict) and
//! `parse_path` for a JSONC file (`tsconfig.json`), with every span a real
//! place in the file; and, as an oracle, what JSON tools read: when
//! `serde_json` accepts the text, bylaw must read the same value (it parses
//! JSON through its YAML reader to get spans) or report a duplicate key,
//! which bylaw refuses on purpose. Then the file is evaluated as
//! `deploy/app.json` with the example and built-in policies, and the
//! report rendered by every emitter.
#![no_main]

use bylaw_engine::input::{self, Format};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

/// Equal as JSON tools compare: numbers by value (`1` and `1.0` alike),
/// objects regardless of key order.
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (x.as_i64(), y.as_i64(), x.as_u64(), y.as_u64()) {
            (Some(i), Some(j), _, _) => i == j,
            (_, _, Some(i), Some(j)) => i == j,
            _ => x.as_f64() == y.as_f64(),
        },
        (Value::Array(x), Value::Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same(a, b)),
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
        }
        _ => a == b,
    }
}

/// A Kubernetes list, which bylaw expands into its items.
fn is_list(v: &Value) -> bool {
    v["kind"].as_str().is_some_and(|k| k.ends_with("List")) && v.get("items").is_some()
}

fn check_as_json_tools_read(src: &str, parsed: &input::ParsedFile, dialect: &str) {
    let body = src.strip_prefix('\u{feff}').unwrap_or(src);
    let Ok(expected) = serde_json::from_str::<Value>(body) else { return };
    if parsed.errors.iter().any(|e| e.message.contains("duplicate")) {
        return;
    }
    assert!(parsed.errors.is_empty(), "{dialect}: valid JSON refused: {:?}", parsed.errors);
    if is_list(&expected) {
        return;
    }
    assert_eq!(parsed.documents.len(), 1, "{dialect}: one JSON value is one document");
    let got = parsed.documents[0].to_json();
    assert!(same(&got, &expected), "{dialect}: bylaw reads {got} where JSON tools read {expected}");
}

fuzz_target!(|data: &[u8]| {
    let Some(src) = bylaw_fuzz::text(data) else { return };
    bylaw_fuzz::on_cli_stack(move || {
        let strict = input::parse(Format::JSON, &src);
        bylaw_fuzz::check_parsed(&strict, &src);
        check_as_json_tools_read(&src, &strict, "json");
        let jsonc = input::parse_path("tsconfig.json", &src);
        bylaw_fuzz::check_parsed(&jsonc, &src);
        check_as_json_tools_read(&src, &jsonc, "jsonc");
        let report =
            bylaw_fuzz::input_policies().run(&[bylaw_fuzz::file("deploy/app.json", &src)], &bylaw_fuzz::run_options());
        bylaw_fuzz::render_all(&report);
    });
});
