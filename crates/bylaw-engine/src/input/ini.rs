//! INI files (`*.ini`, `*.cfg`, `.editorconfig`): `[section]` headers and
//! `key = value` lines, read as Python's `configparser` reads them with
//! its defaults (the INI reader most of these files are written for:
//! `setup.cfg`, `tox.ini`, `pytest.ini`, `mypy.ini`, `alembic.ini`), with
//! the exceptions listed below. `*.conf` is not claimed: nginx, Apache,
//! supervisord and systemd-resolved each have a `.conf` syntax of their
//! own, and most are not INI.
//!
//! The document is a mapping of section name to a mapping of key to
//! string: `{"metadata": {"name": "bylaw"}}`. Keys written before any
//! section are under the section `""` (`doc[''].root`; `configparser`
//! refuses them, PHP and `.editorconfig` accept them). Names are kept as
//! written (no lowercasing, unlike `configparser`'s `optionxform`).
//! - `key = value` or `key: value`, split at the first `=` or `:`; key and
//!   value trimmed; quotes are kept, as written (INI has no quoting).
//! - A key alone on its line (`skip-name-resolve`) has the value `null`
//!   (`configparser`'s `allow_no_value`).
//! - An indented line after a key continues its value (joined with a line
//!   break); a blank line ends it.
//! - Comments are whole lines starting with `;` or `#` (and the end of a
//!   section header line); a `;` or `#` after a value is part of it (`configparser`'s default: no inline
//!   comments), so inline suppressions go on the line above.
//! - A duplicate section or key is a located error (`configparser`'s
//!   `strict` default), as in YAML and JSON.
//!
//! A broken line is a located error that spoils only that line; the other
//! keys are still checked. A file without any key has no document.
//! Written here: no maintained INI crate keeps positions.

use super::format::{has_extension, InputFormat};
use super::lines::{physical_lines, span_in, string, Mapping};
use super::{yaml, Comment, ParsedFile, SyntaxError};
use crate::node::{Entry, Node, NodeValue, Span};
use crate::report::Resource;
use std::collections::HashMap;

/// The INI input format: `;` and `#` comment lines.
pub struct Ini;

impl InputFormat for Ini {
    fn id(&self) -> &'static str {
        "ini"
    }

    fn label(&self) -> &'static str {
        "INI"
    }

    fn claims(&self, path: &str) -> bool {
        has_extension(path, &["ini", "cfg"]) || path.rsplit('/').next() == Some(".editorconfig")
    }

    fn comment_markers(&self) -> &'static [&'static str] {
        &["#", ";"]
    }

    fn parse(&self, src: &str, each: &mut dyn FnMut(Node)) -> ParsedFile {
        parse(src).hand_out(each)
    }

    /// INI files name no resource.
    fn resource(&self, _doc: &Node) -> Option<Resource> {
        None
    }
}

/// A section being read: its name, where the name and the header are.
struct Section {
    name: String,
    key_span: Span,
    header: Option<Span>,
    keys: Mapping,
}

/// Parses an INI file (a UTF-8 byte order mark skipped).
pub fn parse(src: &str) -> ParsedFile {
    let src = src.strip_prefix('\u{feff}').unwrap_or(src);
    let mut out = ParsedFile::default();
    let mut sections: Vec<Section> =
        vec![Section { name: String::new(), key_span: Span::point(1, 1), header: None, keys: Mapping::default() }];
    // the sections seen, by name: where each is named
    let mut named: HashMap<String, Span> = HashMap::new();
    // whether an indented line continues the last key's value
    let mut continues = false;
    let mut values = 0usize;
    for (n, line) in physical_lines(src) {
        let text = line.trim_start();
        let indent = line.len() - text.len();
        let text = text.trim_end();
        if text.is_empty() {
            continues = false;
            continue;
        }
        if text.starts_with([';', '#']) {
            out.comments.push(Comment { line: n, col: super::lines::col(line, indent), text: text[1..].to_owned() });
            continue;
        }
        let error = |at: usize, message: String| SyntaxError {
            line: n,
            col: super::lines::col(line, at),
            message,
            first: None,
        };
        values += 1;
        if values > yaml::MAX_DOCUMENT_NODES {
            out.errors.push(error(indent, yaml::too_many_nodes()));
            break;
        }
        let Some(section) = sections.last_mut() else { break };
        if indent > 0 && continues {
            if let Some(Entry { value, .. }) = section.keys.last_mut() {
                let here = span_in(n, line, indent, indent + text.len());
                let (joined, span) = match &value.value {
                    NodeValue::Str { value: v, .. } if !v.is_empty() => (format!("{v}\n{text}"), value.span.to(here)),
                    _ => (text.to_owned(), here),
                };
                *value = string(span, &joined);
                continue;
            }
        }
        continues = false;
        if let Some(rest) = text.strip_prefix('[') {
            let Some(close) = rest.find(']') else {
                out.errors.push(error(indent + text.len(), "expected `]` to close the section header".into()));
                continue;
            };
            let after = rest[close + 1..].trim_start();
            if !after.is_empty() && !after.starts_with([';', '#']) {
                let at = indent + text.len() - after.len();
                out.errors.push(error(at, "expected the end of the line after the section header".into()));
                continue;
            }
            if !after.is_empty() {
                let at = indent + text.len() - after.len();
                out.comments.push(Comment { line: n, col: super::lines::col(line, at), text: after[1..].to_owned() });
            }
            let raw = &rest[..close];
            let name = raw.trim();
            if name.is_empty() {
                out.errors.push(error(indent + 1, "expected a section name between `[` and `]`".into()));
                continue;
            }
            let from = indent + 1 + (raw.len() - raw.trim_start().len());
            let key_span = span_in(n, line, from, from + name.len());
            if let Some(&first) = named.get(name) {
                out.errors.push(SyntaxError {
                    first: Some(first),
                    ..error(from, format!("duplicate section `{name}` (first defined at line {})", first.start_line))
                });
                continue;
            }
            named.insert(name.to_owned(), key_span);
            let header = span_in(n, line, indent, indent + 2 + close);
            sections.push(Section { name: name.to_owned(), key_span, header: Some(header), keys: Mapping::default() });
            continue;
        }
        let (key, value) = match text.find(['=', ':']) {
            Some(at) => (&text[..at], Some((indent + at + 1, &text[at + 1..]))),
            None => (text, None),
        };
        let key = key.trim_end();
        if key.is_empty() {
            out.errors.push(error(indent, "expected a key before the `=` or `:`".into()));
            continue;
        }
        let key_span = span_in(n, line, indent, indent + key.len());
        let value = match value {
            None => Node { span: key_span, value: NodeValue::Null },
            Some((from, v)) => {
                let from = from + (v.len() - v.trim_start().len());
                let v = v.trim();
                string(span_in(n, line, from, from + v.len()), v)
            }
        };
        if let Err(first) = section.keys.insert_unique(Entry { key: key.into(), key_span, value }) {
            out.errors.push(SyntaxError {
                first: Some(first),
                ..error(
                    indent,
                    format!("duplicate key `{key}` in this section (first defined at line {})", first.start_line),
                )
            });
            continue;
        }
        continues = true;
    }
    let mut doc = Mapping::default();
    for s in sections {
        if s.header.is_none() && s.keys.is_empty() {
            continue;
        }
        let node = s.keys.into_node(s.header);
        // unique: duplicate sections were refused
        let _ = doc.insert_unique(Entry { key: s.name.as_str().into(), key_span: s.key_span, value: node });
    }
    if !doc.is_empty() {
        out.documents.push(doc.into_node(None));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(d: &Node, ptr: &str) -> (u32, u32, u32, u32) {
        let s = d.value_span_of_pointer(ptr).0;
        (s.start_line, s.start_col, s.end_line, s.end_col)
    }

    const SETUP: &str = "\
; setup.cfg
root = yes
[metadata]
name = bylaw
url: https://example.com/#frag ; kept
[options]
install_requires =
    requests
    toml
  # a comment, even indented

[mysqld]
skip-name-resolve
[ tox:py311 ]  # header comment
commands = pytest \"-k x\"
";

    #[test]
    fn sections_keys_and_values_are_located() {
        let p = parse(SETUP);
        assert!(p.errors.is_empty(), "{:?}", p.errors);
        let d = &p.documents[0];
        let j = d.to_json();
        assert_eq!(j[""]["root"], "yes");
        assert_eq!(j["metadata"]["url"], "https://example.com/#frag ; kept", "no inline comments");
        assert_eq!(j["options"]["install_requires"], "requests\ntoml");
        assert_eq!(j["mysqld"]["skip-name-resolve"], serde_json::Value::Null);
        assert_eq!(j["tox:py311"]["commands"], "pytest \"-k x\"", "quotes are kept");
        assert_eq!(at(d, "/metadata/name"), (4, 8, 4, 13));
        assert_eq!(d.span_of_pointer("/metadata/url").0.start_col, 1);
        assert_eq!(at(d, "/metadata/url"), (5, 6, 5, 38));
        assert_eq!(at(d, "/options/install_requires"), (8, 5, 9, 9));
        let s = d.span_of_pointer("/tox:py311").0;
        assert_eq!((s.start_line, s.start_col), (14, 3), "the key is the section's name");
        let s = d.value_span_of_pointer("/metadata").0;
        assert_eq!((s.start_line, s.start_col, s.end_line), (3, 1, 5), "a section spans its header to its last key");
        let c: Vec<(u32, u32, &str)> = p.comments.iter().map(|c| (c.line, c.col, c.text.as_str())).collect();
        assert_eq!(c, vec![(1, 1, " setup.cfg"), (10, 3, " a comment, even indented"), (14, 16, " header comment")]);
    }

    #[test]
    fn broken_lines_are_located_and_spoil_only_themselves() {
        let p = parse("[a]\nx = 1\nx = 2\n[a]\n= v\n[b\n[]\n[c] junk\ny = 3\n");
        let got: Vec<(u32, u32)> = p.errors.iter().map(|e| (e.line, e.col)).collect();
        assert_eq!(got, vec![(3, 1), (4, 2), (5, 1), (6, 3), (7, 2), (8, 5)], "{:?}", p.errors);
        assert_eq!(p.errors[0].first.map(|s| s.start_line), Some(2));
        assert!(p.errors[1].message.contains("duplicate section `a`"), "{:?}", p.errors[1]);
        let j = p.documents[0].to_json();
        assert_eq!(j["a"]["x"], "1");
        assert_eq!(j["a"]["y"], "3", "after a refused header, keys stay in the section before");
    }

    #[test]
    fn which_paths_the_plain_formats_claim() {
        use crate::input::Format;
        let of = |p: &str| Format::of_path(p).map(|f| f.id());
        assert_eq!(of("Cargo.toml"), Some("toml"));
        assert_eq!(of("py/pyproject.toml"), Some("toml"));
        assert_eq!(of("Pipfile"), Some("toml"));
        assert_eq!(of("setup.cfg"), Some("ini"));
        assert_eq!(of("php.INI"), Some("ini"));
        assert_eq!(of("a/.editorconfig"), Some("ini"));
        assert_eq!(of("nginx/nginx.conf"), None, "`.conf` is not INI");
        assert_eq!(of("src/main/resources/application.properties"), Some("properties"));
        assert_eq!(of(".env"), Some("dotenv"));
        assert_eq!(of("deploy/.env.production"), Some("dotenv"));
        assert_eq!(of(".env.json"), Some("json"), "JSON is asked first");
        assert_eq!(of("logs/x.ndjson"), Some("jsonl"));
        assert_eq!(of("x.jsonl"), Some("jsonl"));
    }

    #[test]
    fn hostile_and_empty_input() {
        assert!(parse("").documents.is_empty());
        assert!(parse("; only\n# comments\n\n").documents.is_empty());
        assert_eq!(parse("[s]\n").documents[0].to_json(), serde_json::json!({"s": {}}));
        let long = "k".repeat(100_000) + " = é\r\n";
        let p = parse(&long);
        assert_eq!(p.documents[0].to_json()[""]["k".repeat(100_000)], "é");
        let p = parse("\u{feff}a=1\r[é]\rb=2");
        assert_eq!(at(&p.documents[0], "/é/b"), (3, 3, 3, 4));
        for odd in ["[", "]", "=", ":", " x", "\t\t", "[[a]]", "a=[", "\0"] {
            let p = parse(odd);
            assert!(p.documents.len() <= 1, "{odd:?}");
        }
    }
}
