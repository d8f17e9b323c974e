//! JSON files. JSON is checked strictly with `serde_json` (so a trailing
//! comma or a comment is a located syntax error, as JSON tools report it,
//! with a hint when it is a comment), then read into the same span-carrying
//! tree as YAML by [`Reader`], written here because `serde_json` keeps no
//! positions. It is not read through the YAML reader: JSON is not quite a
//! subset of YAML as parsers read it (a tab after `:`, a surrogate pair
//! `"\ud83d\ude00"`, a LINE SEPARATOR inside a string), and bylaw must read
//! every file as JSON tools do. Collections are located as in YAML (see
//! [`yaml::close_span`]); a duplicate key is the same error as in YAML.
//!
//! A UTF-8 byte order mark is skipped, and a file of only whitespace is
//! empty: no document, no error. Files whose tools read JSONC are read
//! through [`super::jsonc`] first.

use super::format::{has_extension, InputFormat};
use super::{jsonc, yaml, ParsedFile, SyntaxError};
use crate::node::{Entry, Node, NodeValue, Span};
use std::borrow::Cow;
use std::collections::HashMap;

/// The strict JSON input format (`*.json` but the JSONC files, see
/// [`super::jsonc::Jsonc`]): no comments, so no inline suppressions.
pub struct Json;

impl InputFormat for Json {
    fn id(&self) -> &'static str {
        "json"
    }

    fn label(&self) -> &'static str {
        "JSON"
    }

    fn claims(&self, path: &str) -> bool {
        has_extension(path, &["json"])
    }

    fn comment_markers(&self) -> &'static [&'static str] {
        &[]
    }

    fn parse(&self, src: &str, each: &mut dyn FnMut(Node)) -> ParsedFile {
        parse_each(src, false, each)
    }
}

/// [`parse`], handing the document (if any) to `each`.
pub(super) fn parse_each(src: &str, jsonc: bool, each: &mut dyn FnMut(Node)) -> ParsedFile {
    parse(src, jsonc).hand_out(each)
}

/// Parses one JSON document; `jsonc` accepts comments and trailing commas.
pub fn parse(src: &str, jsonc: bool) -> ParsedFile {
    let src = src.strip_prefix('\u{feff}').unwrap_or(src);
    let (text, comments) = if jsonc {
        let (text, comments) = jsonc::blank(src);
        (Cow::Owned(text), comments)
    } else {
        (Cow::Borrowed(src), Vec::new())
    };
    if text.trim_matches([' ', '\t', '\r', '\n']).is_empty() {
        return ParsedFile { comments, ..ParsedFile::default() };
    }
    if let Err(e) = serde_json::from_str::<serde::de::IgnoredAny>(&text) {
        let line = e.line().max(1);
        let col = char_column(&text, line, e.column().max(1));
        let mut message = strip_position(&e.to_string());
        if !jsonc && comment_at(&text, line, col) {
            message.push_str(" (JSON does not allow comments; name the file *.jsonc if its tool accepts JSONC)");
        }
        let error = SyntaxError { line: line as u32, col: col as u32, message, first: None };
        return ParsedFile { errors: vec![error], comments, documents: Vec::new() };
    }
    match Reader::new(&text).document() {
        Ok(doc) => ParsedFile { documents: vec![doc], errors: Vec::new(), comments },
        Err(error) => ParsedFile { documents: Vec::new(), errors: vec![error], comments },
    }
}

/// Reads one JSON value that `serde_json` accepted into a [`Node`] tree:
/// 1-based lines and character columns, end exclusive; a line ends at
/// `\n`, `\r\n` or a lone `\r` (whitespace in JSON), as the YAML reader
/// counts them. Nesting is bounded by `serde_json`'s recursion limit (128),
/// checked before; anything else unexpected is a located error, never a
/// panic.
struct Reader<'a> {
    src: &'a str,
    at: usize,
    line: u32,
    col: u32,
    /// Values read so far (see [`yaml::MAX_DOCUMENT_NODES`]).
    nodes: usize,
}

impl<'a> Reader<'a> {
    fn new(src: &'a str) -> Self {
        Reader { src, at: 0, line: 1, col: 1, nodes: 0 }
    }

    fn document(&mut self) -> Result<Node, SyntaxError> {
        let node = self.value(0)?;
        self.blanks();
        match self.peek() {
            None => Ok(node),
            Some(_) => Err(self.error("expected the end of the file after the JSON value")),
        }
    }

    fn peek(&self) -> Option<u8> {
        self.src.as_bytes().get(self.at).copied()
    }

    fn error(&self, message: impl Into<String>) -> SyntaxError {
        SyntaxError { line: self.line, col: self.col, message: message.into(), first: None }
    }

    fn point(&self) -> Span {
        Span::point(self.line, self.col)
    }

    /// Moves past one ASCII character on the current line.
    fn bump(&mut self) {
        self.at += 1;
        self.col += 1;
    }

    fn blanks(&mut self) {
        while let Some(b) = self.peek() {
            match b {
                b' ' | b'\t' => self.bump(),
                b'\n' => (self.at, self.line, self.col) = (self.at + 1, self.line + 1, 1),
                b'\r' => {
                    self.at += if self.src.as_bytes().get(self.at + 1) == Some(&b'\n') { 2 } else { 1 };
                    (self.line, self.col) = (self.line + 1, 1);
                }
                _ => break,
            }
        }
    }

    /// The one-character span of the bracket or comma at the cursor, and past it.
    fn token(&mut self, want: u8) -> Result<Span, SyntaxError> {
        self.blanks();
        if self.peek() != Some(want) {
            return Err(self.error(format!("expected `{}`", want as char)));
        }
        let start = self.point();
        self.bump();
        Ok(start.to(self.point()))
    }

    fn value(&mut self, depth: usize) -> Result<Node, SyntaxError> {
        self.blanks();
        if depth >= yaml::MAX_DEPTH {
            return Err(self.error(format!("nesting deeper than {} levels", yaml::MAX_DEPTH)));
        }
        self.nodes += 1;
        if self.nodes > yaml::MAX_DOCUMENT_NODES {
            return Err(self.error(yaml::too_many_nodes()));
        }
        match self.peek() {
            Some(b'{') => self.object(depth),
            Some(b'[') => self.array(depth),
            Some(b'"') => {
                let (span, value) = self.string()?;
                Ok(Node { span, value: NodeValue::Str { value: value.into(), plain: false } })
            }
            Some(_) => self.scalar(),
            None => Err(self.error("expected a JSON value")),
        }
    }

    fn object(&mut self, depth: usize) -> Result<Node, SyntaxError> {
        let start = self.token(b'{')?;
        let mut entries: Vec<Entry> = Vec::new();
        let mut lines: HashMap<String, Span> = HashMap::new();
        self.blanks();
        if self.peek() != Some(b'}') {
            loop {
                self.blanks();
                let (key_span, key) = self.string()?;
                self.token(b':')?;
                let value = self.value(depth + 1)?;
                if let Some(first) = lines.insert(key.clone(), key_span) {
                    return Err(SyntaxError {
                        line: key_span.start_line,
                        col: key_span.start_col,
                        first: Some(first),
                        message: format!(
                            "duplicate key `{key}` in this mapping (first defined at line {})",
                            first.start_line
                        ),
                    });
                }
                entries.push(Entry { key: key.into(), key_span, value });
                self.blanks();
                if self.peek() != Some(b',') {
                    break;
                }
                self.bump();
            }
        }
        let end = self.token(b'}')?;
        let span = yaml::close_span(start, entries.last().map(|e| e.value.span), end);
        Ok(Node { span, value: NodeValue::Map(entries) })
    }

    fn array(&mut self, depth: usize) -> Result<Node, SyntaxError> {
        let start = self.token(b'[')?;
        let mut items = Vec::new();
        self.blanks();
        if self.peek() != Some(b']') {
            loop {
                items.push(self.value(depth + 1)?);
                self.blanks();
                if self.peek() != Some(b',') {
                    break;
                }
                self.bump();
            }
        }
        let end = self.token(b']')?;
        let span = yaml::close_span(start, items.last().map(|n| n.span), end);
        Ok(Node { span, value: NodeValue::Seq(items) })
    }

    /// A string token: its span (quotes included) and its value, decoded
    /// by `serde_json` (escapes, surrogate pairs).
    fn string(&mut self) -> Result<(Span, String), SyntaxError> {
        if self.peek() != Some(b'"') {
            return Err(self.error("expected a string"));
        }
        let (from, start) = (self.at, self.point());
        self.bump();
        let mut escaped = false;
        loop {
            let Some(c) = self.src[self.at..].chars().next() else {
                return Err(SyntaxError {
                    line: start.start_line,
                    col: start.start_col,
                    first: None,
                    message: "unclosed string".into(),
                });
            };
            self.at += c.len_utf8();
            self.col += 1;
            match c {
                '"' if !escaped => break,
                '\\' if !escaped => escaped = true,
                '\n' | '\r' => return Err(self.error("a line break inside a string")),
                _ => escaped = false,
            }
        }
        let value = serde_json::from_str::<String>(&self.src[from..self.at]).map_err(|e| SyntaxError {
            line: start.start_line,
            col: start.start_col,
            first: None,
            message: strip_position(&e.to_string()),
        })?;
        Ok((start.to(self.point()), value))
    }

    /// `true`, `false`, `null` or a number, read as the YAML core schema
    /// reads the same plain scalar (an integer that fits 64 bits, else a float).
    fn scalar(&mut self) -> Result<Node, SyntaxError> {
        let (from, start) = (self.at, self.point());
        while let Some(b) = self.peek() {
            if !(b.is_ascii_alphanumeric() || matches!(b, b'-' | b'+' | b'.')) {
                break;
            }
            self.bump();
        }
        let text = &self.src[from..self.at];
        let value = match text {
            "true" => NodeValue::Bool(true),
            "false" => NodeValue::Bool(false),
            "null" => NodeValue::Null,
            _ if !text.contains(['.', 'e', 'E']) && text.parse::<i64>().is_ok() => {
                NodeValue::Int(text.parse().unwrap_or_default())
            }
            _ => match text.parse::<f64>() {
                Ok(f) if !text.is_empty() => NodeValue::Float(f),
                _ => {
                    return Err(SyntaxError {
                        line: start.start_line,
                        col: start.start_col,
                        first: None,
                        message: format!("`{text}` is not a JSON value"),
                    })
                }
            },
        };
        Ok(Node { span: start.to(self.point()), value })
    }
}

/// The 1-based character column (what an editor shows, and what YAML
/// positions are in) of serde_json's 1-based byte column on `line`.
fn char_column(text: &str, line: usize, byte_col: usize) -> usize {
    let Some(l) = text.split('\n').nth(line - 1) else { return byte_col };
    let mut end = (byte_col - 1).min(l.len());
    while !l.is_char_boundary(end) {
        end -= 1;
    }
    l[..end].chars().count() + 1
}

/// Whether a `//` or `/*` starts at (1-based) `line`, `col`, where serde_json
/// stopped.
fn comment_at(text: &str, line: usize, col: usize) -> bool {
    let Some(l) = text.lines().nth(line - 1) else { return false };
    let rest: String = l.chars().skip(col - 1).take(2).collect();
    rest == "//" || rest == "/*"
}

/// serde_json appends " at line L column C"; the position is reported separately.
fn strip_position(msg: &str) -> String {
    match msg.rfind(" at line ") {
        Some(i) => msg[..i].to_owned(),
        None => msg.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_spans() {
        let p = parse("{\n  \"a\": {\n    \"b\": [1, true]\n  }\n}\n", false);
        assert!(p.errors.is_empty());
        let (s, n) = p.documents[0].span_of_pointer("/a/b/1");
        assert_eq!(n, 3);
        assert_eq!((s.start_line, s.start_col, s.end_col), (3, 14, 18));
    }

    #[test]
    fn json_errors_are_located() {
        let p = parse("{\n  \"a\": 1,\n}\n", false);
        let e = &p.errors[0];
        assert_eq!(e.line, 3);
        assert!(e.message.contains("key must be a string"), "{}", e.message);
    }

    #[test]
    fn error_columns_count_characters_not_bytes() {
        // serde_json counts bytes: `é` and `→` are 2 and 3 bytes, one column each
        let p = parse("{\"é\": \"→\", x}\n", false);
        assert_eq!((p.errors[0].line, p.errors[0].col), (1, 12), "{:?}", p.errors);
        // a LINE SEPARATOR between tokens is not JSON whitespace
        let p = parse("{\"a\": \"\u{2028}\",\u{2028}\"b\": 1}\n", false);
        assert_eq!((p.errors[0].line, p.errors[0].col), (1, 11), "{:?}", p.errors);
        let p = parse("{\n  \"ü\": 1, // c\n}\n", false);
        assert_eq!((p.errors[0].line, p.errors[0].col), (2, 11));
        assert!(p.errors[0].message.contains("*.jsonc"), "{:?}", p.errors);
    }

    #[test]
    fn bom_and_empty_files() {
        let p = parse("\u{feff}{\"a\": 1}\n", false);
        assert!(p.errors.is_empty(), "{:?}", p.errors);
        assert_eq!(p.documents[0].to_json()["a"], 1);
        assert_eq!(p.documents[0].span_of_pointer("/a").0.start_col, 2);
        for empty in ["", "  \n\t\r\n", "\u{feff}", "\u{feff}\n"] {
            let p = parse(empty, false);
            assert!(p.documents.is_empty() && p.errors.is_empty(), "{empty:?}: {:?}", p.errors);
        }
        let p = parse("// only a comment\n", true);
        assert!(p.documents.is_empty() && p.errors.is_empty());
        assert_eq!(p.comments.len(), 1);
    }

    #[test]
    fn jsonc_keeps_spans_exact() {
        let src = "{\n  /* build\n     options */ \"target\": \"es2022\",\n  // strict\n  \"strict\": true,\n}\n";
        let p = parse(src, true);
        assert!(p.errors.is_empty(), "{:?}", p.errors);
        let d = &p.documents[0];
        let s = d.value_span_of_pointer("/target").0;
        assert_eq!((s.start_line, s.start_col, s.end_col), (3, 27, 35));
        let s = d.value_span_of_pointer("/strict").0;
        assert_eq!((s.start_line, s.start_col), (5, 13));
        assert_eq!(p.comments.iter().map(|c| (c.line, c.col)).collect::<Vec<_>>(), vec![(2, 3), (4, 3)]);
        assert_eq!(p.comments[1].text, " strict");
    }

    /// Found while writing the `json_input` fuzz target's oracle (bylaw must
    /// read what `serde_json` reads; reproducers in fuzz/seeds/json_input/):
    /// read through the YAML reader, these valid JSON files were refused (a
    /// tab after `:`, a surrogate pair escape) or read with another value (a
    /// LINE SEPARATOR inside a string became a space).
    #[test]
    fn json_is_read_as_json_tools_read_it() {
        for src in [
            "{\"a\":\t1, \"b\"\t:\t[1,\t2]}",
            "{\"smile\": \"\\ud83d\\ude00\", \"é\": \"\\u00e9\"}",
            "[\"a\u{2028}b\u{2029}c\u{85}d\"]",
            "{\"<<\": {\"a\": 1}, \"? k\": \"- v\", \"#\": \"&x *y !t\"}",
            "[1E2, 1e-2, 0.5, true, null]",
        ] {
            let p = parse(src, false);
            assert!(p.errors.is_empty(), "{src:?}: {:?}", p.errors);
            let want: serde_json::Value = serde_json::from_str(src).unwrap();
            assert_eq!(p.documents[0].to_json().to_string(), want.to_string(), "{src:?}");
        }
        // numbers as the YAML core schema reads them: 64-bit integers, else floats
        let p = parse("[-0, 12345678901234567890]", false);
        assert_eq!(p.documents[0].to_json(), serde_json::json!([0, 12345678901234567890.0]));
        let p = parse("{\"a\": \"\\ud83d\\ude00\", \"b\":\t2}", false);
        let (s, _) = p.documents[0].value_span_of_pointer("/b");
        assert_eq!((s.start_col, s.end_col), (28, 29), "columns count characters as written");
    }

    #[test]
    fn json_duplicate_keys_and_collection_spans() {
        let p = parse("{\n  \"a\": 1,\n  \"a\": 2\n}\n", false);
        assert!(p.documents.is_empty());
        let e = &p.errors[0];
        assert_eq!((e.line, e.col), (3, 3));
        assert_eq!(
            e.message,
            "duplicate key `a` in this mapping (first defined at line 1)".replace("line 1", "line 2")
        );
        assert_eq!(e.first.map(|s| (s.start_line, s.start_col, s.end_col)), Some((2, 3, 6)));
        // a collection ends at its bracket (on its line) or its last child
        let p = parse("{\"a\": [1, 2] , \"b\": {\n  \"c\": 3\n  }\t}", false);
        let d = &p.documents[0];
        let s = d.value_span_of_pointer("/a").0;
        assert_eq!((s.start_line, s.start_col, s.end_line, s.end_col), (1, 7, 1, 13));
        let s = d.value_span_of_pointer("/b").0;
        assert_eq!((s.start_line, s.start_col, s.end_line, s.end_col), (1, 21, 2, 9));
        let s = d.span;
        assert_eq!((s.start_line, s.start_col, s.end_line, s.end_col), (1, 1, 2, 9));
    }

    #[test]
    fn a_comment_in_strict_json_is_a_located_error_with_a_hint() {
        let p = parse("{\n  \"a\": 1, // why\n  \"b\": 2\n}\n", false);
        assert!(p.documents.is_empty());
        let e = &p.errors[0];
        assert_eq!((e.line, e.col), (2, 11));
        assert!(e.message.contains("name the file *.jsonc"), "{}", e.message);
        let p = parse("{\n  \"a\": 1,\n}\n", false);
        assert!(!p.errors[0].message.contains("jsonc"), "no hint without a comment");
    }
}
