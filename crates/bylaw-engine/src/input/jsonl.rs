//! JSON Lines (`*.jsonl`, `*.ndjson`; jsonlines.org): one JSON document
//! per line, each read by the strict JSON reader ([`super::json`]) and
//! located on its own line. A broken line is a located error that spoils
//! only that line's document; blank lines are skipped. JSON Lines has no
//! comments, so no inline suppressions.

use super::format::{has_extension, InputFormat};
use super::lines::physical_lines;
use super::{json, ParsedFile};
use crate::node::{Node, NodeValue, Span};

/// The JSON Lines input format.
pub struct JsonLines;

impl InputFormat for JsonLines {
    fn id(&self) -> &'static str {
        "jsonl"
    }

    fn label(&self) -> &'static str {
        "JSON Lines"
    }

    fn claims(&self, path: &str) -> bool {
        has_extension(path, &["jsonl", "ndjson"])
    }

    fn comment_markers(&self) -> &'static [&'static str] {
        &[]
    }

    fn parse(&self, src: &str, each: &mut dyn FnMut(Node)) -> ParsedFile {
        parse_each(src, each)
    }
}

/// Parses every line, handing each document to `each` in order.
pub fn parse_each(src: &str, each: &mut dyn FnMut(Node)) -> ParsedFile {
    let src = src.strip_prefix('\u{feff}').unwrap_or(src);
    let mut out = ParsedFile::default();
    for (n, line) in physical_lines(src) {
        if line.trim_matches([' ', '\t']).is_empty() {
            continue;
        }
        let parsed = json::parse(line, false);
        for mut e in parsed.errors {
            e.line += n - 1;
            if let Some(f) = &mut e.first {
                (f.start_line, f.end_line) = (f.start_line + n - 1, f.end_line + n - 1);
            }
            out.errors.push(e);
        }
        for mut doc in parsed.documents {
            shift(&mut doc, n - 1);
            each(doc);
        }
    }
    out
}

/// Moves every span of `n` down by `by` lines.
fn shift(n: &mut Node, by: u32) {
    let move_span = |s: &mut Span| {
        s.start_line += by;
        s.end_line += by;
    };
    move_span(&mut n.span);
    match &mut n.value {
        NodeValue::Seq(items) => items.iter_mut().for_each(|i| shift(i, by)),
        NodeValue::Map(entries) => entries.iter_mut().for_each(|e| {
            move_span(&mut e.key_span);
            shift(&mut e.value, by);
        }),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(src: &str) -> (Vec<Node>, ParsedFile) {
        let mut docs = Vec::new();
        let p = parse_each(src, &mut |d| docs.push(d));
        (docs, p)
    }

    #[test]
    fn each_line_is_a_document_on_its_line() {
        let (docs, p) = parse("{\"a\": 1}\r\n\n  {\"b\": {\"c\": \"# not a comment\"}}\n[1, 2]");
        assert!(p.errors.is_empty() && p.comments.is_empty(), "{:?}", p.errors);
        assert_eq!(docs.len(), 3);
        let s = docs[1].value_span_of_pointer("/b/c").0;
        assert_eq!((s.start_line, s.start_col, s.end_line, s.end_col), (3, 15, 3, 32));
        let s = docs[1].span_of_pointer("/b").0;
        assert_eq!((s.start_line, s.start_col), (3, 4));
        assert_eq!(docs[2].span.start_line, 4);
        assert_eq!(docs[1].to_json()["b"]["c"], "# not a comment");
    }

    #[test]
    fn a_broken_line_spoils_only_itself() {
        let (docs, p) = parse("{\"a\": 1}\n{\"a\": 2,}\n{\"a\": // c\n{\"a\": 3}\n{\"a\": 1, \"a\": 2}\n");
        assert_eq!(docs.iter().map(|d| d.to_json()["a"].clone()).collect::<Vec<_>>(), vec![1, 3]);
        let got: Vec<(u32, u32)> = p.errors.iter().map(|e| (e.line, e.col)).collect();
        assert_eq!(got, vec![(2, 9), (3, 7), (5, 10)], "{:?}", p.errors);
        assert_eq!(p.errors[2].first.map(|s| s.start_line), Some(5), "the first key is on the same line");
    }

    #[test]
    fn hostile_input() {
        let deep = format!("{}{}\n{{\"ok\": true}}\n", "[".repeat(100_000), "]".repeat(100_000));
        let (docs, p) = parse(&deep);
        assert_eq!((docs.len(), p.errors.len()), (1, 1));
        assert_eq!(docs[0].span.start_line, 2);
        let (docs, p) = parse("\u{feff}1\n\"x\"\nnull\n\r\n");
        assert_eq!((docs.len(), p.errors.len()), (3, 0));
    }
}
