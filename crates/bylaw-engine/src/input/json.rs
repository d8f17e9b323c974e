//! JSON files. JSON is checked strictly with `serde_json` (so a trailing
//! comma or a comment is a located syntax error, as JSON tools report it,
//! with a hint when it is a comment), then read through the YAML reader, of
//! which JSON is a subset, to get the same span-carrying tree.
//!
//! A UTF-8 byte order mark is skipped, and a file of only whitespace is
//! empty: no document, no error. Files whose tools read JSONC are read
//! through [`super::jsonc`] first.

use super::{jsonc, yaml, ParsedFile, SyntaxError};
use std::borrow::Cow;

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
        let error = SyntaxError { line: line as u32, col: col as u32, message };
        return ParsedFile { errors: vec![error], comments, documents: Vec::new() };
    }
    let mut parsed = yaml::parse(&text);
    parsed.comments = comments;
    parsed
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
