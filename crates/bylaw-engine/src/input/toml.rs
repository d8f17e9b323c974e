//! TOML files (`*.toml`: `Cargo.toml`, `pyproject.toml`, …; `Pipfile`),
//! TOML 1.1 as the `toml` crate reads it: one document per file, the
//! natural mapping (tables are mappings, arrays and arrays of tables are
//! sequences), offset date-times, local date-times, dates and times as
//! their RFC 3339 text (`1979-05-27T07:32:00Z`, a string: CEL compares
//! them as text, `timestamp(doc.x)` reads the offset ones).
//!
//! Parsed with `toml::de::DeTable` (the `toml` crate's span-keeping tree:
//! the byte range of every key and every value, the crate cargo itself
//! reads manifests with), rather than `toml_edit` (a format-preserving
//! editor: more to build per value than a checker needs) or `toml-span`
//! (one maintainer, a TOML 1.0 parser of its own). Comments come from the
//! same project's lexer (`toml_parser`), so a `#` inside a string is never
//! one. Nesting is bounded by the crate's recursion guard (80 levels), the
//! values of a document by [`yaml::MAX_DOCUMENT_NODES`].
//!
//! Syntax errors are reported located, the first of each line (the
//! crate recovers and goes on); a file with an error has no document: a partial table would make
//! `require` rules fire on what the error hid.

use super::format::{has_extension, InputFormat};
use super::lines::LineIndex;
use super::{yaml, Comment, ParsedFile, SyntaxError};
use crate::node::{Entry, Node, NodeValue, Span};
use crate::report::Resource;
use toml::de::{DeTable, DeValue};
use toml::Spanned;

/// The TOML input format (`*.toml`, `Pipfile`): `#` comments.
pub struct Toml;

impl InputFormat for Toml {
    fn id(&self) -> &'static str {
        "toml"
    }

    fn label(&self) -> &'static str {
        "TOML"
    }

    fn claims(&self, path: &str) -> bool {
        has_extension(path, &["toml"]) || path.rsplit('/').next() == Some("Pipfile")
    }

    fn comment_markers(&self) -> &'static [&'static str] {
        &["#"]
    }

    fn parse(&self, src: &str, each: &mut dyn FnMut(Node)) -> ParsedFile {
        parse(src).hand_out(each)
    }

    /// TOML files name no resource (`match.kinds` does not select them).
    fn resource(&self, _doc: &Node) -> Option<Resource> {
        None
    }
}

/// Parses one TOML document (a UTF-8 byte order mark skipped). A file
/// without any key has no document.
pub fn parse(src: &str) -> ParsedFile {
    let src = src.strip_prefix('\u{feff}').unwrap_or(src);
    let lines = LineIndex::new(src);
    let comments = comments(src, &lines);
    let (table, errors) = DeTable::parse_recoverable(src);
    if !errors.is_empty() {
        let mut errors: Vec<SyntaxError> = errors
            .iter()
            .map(|e| {
                let (line, col) = lines.position(e.span().map_or(0, |r| r.start));
                SyntaxError { line, col, message: e.message().trim_end().to_owned(), first: None }
            })
            .collect();
        errors.sort_by_key(|e| (e.line, e.col));
        errors.dedup_by_key(|e| e.line);
        return ParsedFile { documents: Vec::new(), errors, comments };
    }
    if table.get_ref().is_empty() {
        return ParsedFile { documents: Vec::new(), errors: Vec::new(), comments };
    }
    let mut conv = Convert { lines: &lines, nodes: 0 };
    let span = lines.span(0, src.trim_end().len());
    match conv.table(table.get_ref(), span) {
        Ok(doc) => ParsedFile { documents: vec![doc], errors: Vec::new(), comments },
        Err(e) => ParsedFile { documents: Vec::new(), errors: vec![e], comments },
    }
}

/// The comments of `src`: `#` to the end of the line, outside strings (as
/// TOML's lexer finds them).
fn comments(src: &str, lines: &LineIndex<'_>) -> Vec<Comment> {
    if !src.contains('#') {
        return Vec::new();
    }
    toml_parser::Source::new(src)
        .lex()
        .filter(|t| t.kind() == toml_parser::lexer::TokenKind::Comment)
        .filter_map(|t| {
            let (start, end) = (t.span().start(), t.span().end());
            let text = src.get(start + 1..end)?.trim_end();
            let (line, col) = lines.position(start);
            Some(Comment { line, col, text: text.to_owned() })
        })
        .collect()
}

/// Converts the crate's tree into the engine's, counting values.
struct Convert<'a, 'i> {
    lines: &'a LineIndex<'i>,
    nodes: usize,
}

impl Convert<'_, '_> {
    fn span<T>(&self, s: &Spanned<T>) -> Span {
        let r = s.span();
        self.lines.span(r.start, r.end)
    }

    fn count(&mut self, span: Span) -> Result<(), SyntaxError> {
        self.nodes += 1;
        if self.nodes > yaml::MAX_DOCUMENT_NODES {
            return Err(SyntaxError {
                line: span.start_line,
                col: span.start_col,
                message: yaml::too_many_nodes(),
                first: None,
            });
        }
        Ok(())
    }

    /// A table at `span` (a `[header]`, an inline table, the file): it
    /// reaches to its last value, so a table's span covers its section.
    fn table(&mut self, t: &DeTable<'_>, span: Span) -> Result<Node, SyntaxError> {
        self.count(span)?;
        let mut entries = Vec::with_capacity(t.len());
        let mut end = span;
        for (k, v) in t {
            let key_span = self.span(k);
            let value = self.value(v, key_span)?;
            end = end.to(value.span);
            entries.push(Entry { key: k.get_ref().as_ref().into(), key_span, value });
        }
        Ok(Node { span: end, value: NodeValue::Map(entries) })
    }

    /// A value; `key_span` locates the tables TOML declares only by a
    /// dotted key or a sub-table header (they have no text of their own).
    fn value(&mut self, v: &Spanned<DeValue<'_>>, key_span: Span) -> Result<Node, SyntaxError> {
        let mut span = self.span(v);
        if v.span().is_empty() {
            span = key_span;
        }
        let value = match v.get_ref() {
            DeValue::String(s) => NodeValue::Str { value: s.as_ref().into(), plain: false },
            DeValue::Integer(i) => match i64::from_str_radix(i.as_str(), i.radix()) {
                Ok(n) => NodeValue::Int(n),
                Err(_) => NodeValue::Float(i.as_str().parse().unwrap_or(f64::NAN)),
            },
            DeValue::Float(f) => NodeValue::Float(float(f.as_str())),
            DeValue::Boolean(b) => NodeValue::Bool(*b),
            DeValue::Datetime(d) => NodeValue::Str { value: d.to_string().into(), plain: false },
            DeValue::Array(items) => {
                self.count(span)?;
                let mut nodes = Vec::with_capacity(items.len());
                for item in items.iter() {
                    let n = self.value(item, key_span)?;
                    span = span.to(n.span);
                    nodes.push(n);
                }
                return Ok(Node { span, value: NodeValue::Seq(nodes) });
            }
            DeValue::Table(t) => return self.table(t, span),
        };
        self.count(span)?;
        Ok(Node { span, value })
    }
}

/// A TOML float's text as Rust reads it (`inf`, `+inf`, `nan`, `-nan`).
fn float(text: &str) -> f64 {
    match text.trim_start_matches('+') {
        "inf" => f64::INFINITY,
        "-inf" => f64::NEG_INFINITY,
        "nan" | "-nan" => f64::NAN,
        t => t.parse().unwrap_or(f64::NAN),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(d: &Node, ptr: &str) -> (u32, u32, u32, u32) {
        let s = d.value_span_of_pointer(ptr).0;
        (s.start_line, s.start_col, s.end_line, s.end_col)
    }

    fn key(d: &Node, ptr: &str) -> (u32, u32) {
        let s = d.span_of_pointer(ptr).0;
        (s.start_line, s.start_col)
    }

    const CARGO: &str = "\
# the manifest
[package]
name = \"bylaw\" # inline
version = \"0.1.0\"
authors = [
  \"a#b\",
  'c',
]

[dependencies]
serde = { version = \"1\", features = [\"derive\"] }
toml.version = \"1\"

[[bin]]
name = \"x\"
released = 1979-05-27T07:32:00Z
[[bin]]
name = \"y\"
ratio = 0.5
big = 0xff
";

    #[test]
    fn values_keys_and_tables_are_located() {
        let p = parse(CARGO);
        assert!(p.errors.is_empty(), "{:?}", p.errors);
        let d = &p.documents[0];
        let j = d.to_json();
        assert_eq!(j["package"]["name"], "bylaw");
        assert_eq!(j["package"]["authors"][0], "a#b");
        assert_eq!(j["dependencies"]["toml"]["version"], "1");
        assert_eq!(j["bin"][0]["released"], "1979-05-27T07:32:00Z", "dates are their RFC 3339 text");
        assert_eq!(j["bin"][1]["big"], 255);
        assert_eq!(j["bin"][1]["ratio"], 0.5);
        assert_eq!(at(d, "/package/name"), (3, 8, 3, 15));
        assert_eq!(key(d, "/package/name"), (3, 1));
        assert_eq!(at(d, "/package/authors/1"), (7, 3, 7, 6));
        assert_eq!(at(d, "/dependencies/serde/features/0"), (11, 38, 11, 46));
        assert_eq!(key(d, "/dependencies/serde/version"), (11, 11));
        assert_eq!(key(d, "/dependencies/toml/version"), (12, 6));
        assert_eq!(key(d, "/dependencies/toml"), (12, 1));
        assert_eq!(at(d, "/dependencies/toml/version").0, 12);
        assert_eq!(at(d, "/bin/1/name"), (18, 8, 18, 11));
        // a table's span starts at its header and reaches its last value
        let s = d.value_span_of_pointer("/package").0;
        assert_eq!((s.start_line, s.end_line), (2, 8), "{s:?}");
        assert_eq!(key(d, "/package"), (2, 2));
        assert_eq!(at(d, "/bin/1").0, 17);
    }

    #[test]
    fn comments_are_found_outside_strings_only() {
        let p = parse(CARGO);
        let got: Vec<(u32, u32, &str)> = p.comments.iter().map(|c| (c.line, c.col, c.text.as_str())).collect();
        assert_eq!(got, vec![(1, 1, " the manifest"), (3, 16, " inline")]);
        let p = parse("a = \"\"\"\n# not a comment\n\"\"\"\nb = '# nor this' # but this\n");
        assert_eq!(p.comments.iter().map(|c| c.line).collect::<Vec<_>>(), vec![4]);
        assert_eq!(p.documents[0].to_json()["a"], "# not a comment\n");
    }

    #[test]
    fn every_error_is_located_and_spoils_the_document() {
        let p = parse("[a]\nx = 1\nx = 2\n");
        assert!(p.documents.is_empty());
        assert_eq!((p.errors[0].line, p.errors[0].col), (3, 1), "{:?}", p.errors);
        assert!(p.errors[0].message.contains("duplicate"), "{:?}", p.errors);
        let p = parse("a = 1\nb = \nc = [1,\nd = \"é\" x\n");
        assert!(p.errors.len() >= 2, "{:?}", p.errors);
        assert_eq!(p.errors[0].line, 2, "{:?}", p.errors);
        let p = parse("k = \"é\" é\n");
        assert_eq!((p.errors[0].line, p.errors[0].col), (1, 9), "columns count characters: {:?}", p.errors);
    }

    #[test]
    fn hostile_input_is_an_error_not_a_crash() {
        let deep = format!("a = {}{}\n", "[".repeat(10_000), "]".repeat(10_000));
        let p = parse(&deep);
        assert!(p.documents.is_empty() && !p.errors.is_empty());
        let deep = format!("a = {}1{}\n", "{b = ".repeat(500), "}".repeat(500));
        assert!(!parse(&deep).errors.is_empty());
        let p = parse(&format!("{}\n", "a.".repeat(5000) + "b = 1"));
        assert!(p.documents.len() + p.errors.len() == 1);
        for odd in ["\u{feff}a = 1", "", "# c\n", "=", "[", "a = \"\\u{0}\"", "a = 9999999999999999999999", "\r"] {
            let p = parse(odd);
            assert!(p.documents.len() <= 1, "{odd:?}");
        }
        assert_eq!(parse("\u{feff}a = 1").documents[0].to_json()["a"], 1);
        assert!(parse("").documents.is_empty() && parse("# c\n").documents.is_empty(), "no key: no document");
    }

    #[test]
    fn floats_read_as_toml_writes_them() {
        let p = parse("a = inf\nb = -inf\nc = nan\nd = 1e3\ne = 1_000\n");
        let d = p.documents[0].to_json();
        assert_eq!(d["d"], 1000.0);
        assert_eq!(d["e"], 1000);
        assert_eq!(d["a"], "inf", "to_json writes non-finite floats as text");
    }
}
