//! Java properties files (`*.properties`), read as
//! `java.util.Properties.load(Reader)` reads them (its Javadoc is the
//! spec): the document is a mapping of key to string.
//! - A logical line may span several lines: a line ending with an odd
//!   number of `\` continues on the next, whose leading whitespace is
//!   skipped.
//! - Comment lines start (after whitespace) with `#` or `!`; there are no
//!   comments after a value (`a = b # c` is the value `b # c`).
//! - The key ends at the first unescaped `=`, `:` or whitespace; then
//!   whitespace, one optional `=` or `:`, and whitespace; the rest of the
//!   logical line is the value (trailing whitespace included, as Java keeps
//!   it).
//! - Escapes in keys and values: `\t`, `\n`, `\r`, `\f`, `\uXXXX`, and `\`
//!   before any other character is that character (`\=`, `\:`, `\ `,
//!   `\#`, `\\`). A malformed `\uXXXX` is an error (Java throws).
//! - A key written twice takes its last value (`Properties` is a map),
//!   located where that value is written.
//!
//! A broken line is a located error that spoils only that logical line.
//! A file without any key has no document. Written here: no maintained
//! crate reads properties with positions.

use super::format::{has_extension, InputFormat};
use super::lines::{col, physical_lines, string, Mapping};
use super::{yaml, Comment, ParsedFile, SyntaxError};
use crate::node::{Entry, Node, Span};
use crate::report::Resource;

/// The Java properties input format: `#` and `!` comment lines.
pub struct Properties;

impl InputFormat for Properties {
    fn id(&self) -> &'static str {
        "properties"
    }

    fn label(&self) -> &'static str {
        "Java properties"
    }

    fn claims(&self, path: &str) -> bool {
        has_extension(path, &["properties"])
    }

    fn comment_markers(&self) -> &'static [&'static str] {
        &["#", "!"]
    }

    fn parse(&self, src: &str, each: &mut dyn FnMut(Node)) -> ParsedFile {
        parse(src).hand_out(each)
    }

    /// Properties files name no resource.
    fn resource(&self, _doc: &Node) -> Option<Resource> {
        None
    }
}

/// Whitespace as `Properties.load` skips it: space, tab, form feed.
fn is_blank(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\u{c}')
}

/// Whether `line` ends with an odd number of backslashes (it continues).
fn continues(line: &str) -> bool {
    line.bytes().rev().take_while(|&b| b == b'\\').count() % 2 == 1
}

/// Parses a properties file (a UTF-8 byte order mark skipped).
pub fn parse(src: &str) -> ParsedFile {
    let src = src.strip_prefix('\u{feff}').unwrap_or(src);
    let mut out = ParsedFile::default();
    let mut keys = Mapping::default();
    let mut lines = physical_lines(src);
    // the characters of one logical line, each with its line and column
    let mut chars: Vec<(char, u32, u32)> = Vec::new();
    while let Some((n, line)) = lines.next() {
        let lead = line.len() - line.trim_start_matches(is_blank).len();
        let text = &line[lead..];
        if text.is_empty() {
            continue;
        }
        if text.starts_with(['#', '!']) {
            out.comments.push(Comment { line: n, col: col(line, lead), text: text[1..].trim_end().to_owned() });
            continue;
        }
        chars.clear();
        let (mut n, mut line, mut lead) = (n, line, lead);
        loop {
            let more = continues(line);
            let body = if more { &line[lead..line.len() - 1] } else { &line[lead..] };
            chars.extend((col(line, lead)..).zip(body.chars()).map(|(c0, c)| (c, n, c0)));
            if !more {
                break;
            }
            let Some((m, next)) = lines.next() else { break };
            (n, line) = (m, next);
            lead = line.len() - line.trim_start_matches(is_blank).len();
        }
        if keys.len() >= yaml::MAX_DOCUMENT_NODES {
            out.errors.push(SyntaxError { line: n, col: 1, message: yaml::too_many_nodes(), first: None });
            break;
        }
        match entry(&chars) {
            Ok(e) => keys.insert_last_wins(e),
            Err(e) => out.errors.push(e),
        }
    }
    if !keys.is_empty() {
        out.documents.push(keys.into_node(None));
    }
    out
}

/// The key and value of one logical line (its characters, unescaped here).
fn entry(chars: &[(char, u32, u32)]) -> Result<Entry, SyntaxError> {
    let end_of = |i: usize| match chars.get(i.wrapping_sub(1)) {
        Some(&(_, l, c)) if i > 0 => Span::point(l, c + 1),
        _ => chars.first().map_or(Span::point(1, 1), |&(_, l, c)| Span::point(l, c)),
    };
    let start_of = |i: usize| chars.get(i).map_or_else(|| end_of(i), |&(_, l, c)| Span::point(l, c));
    let mut i = 0;
    let mut key = String::new();
    while let Some(&(c, _, _)) = chars.get(i) {
        if c == '\\' {
            i = unescape(chars, i, &mut key)?;
            continue;
        }
        if c == '=' || c == ':' || is_blank(c) {
            break;
        }
        key.push(c);
        i += 1;
    }
    let key_span = start_of(0).to(end_of(i));
    while chars.get(i).is_some_and(|&(c, _, _)| is_blank(c)) {
        i += 1;
    }
    if chars.get(i).is_some_and(|&(c, _, _)| c == '=' || c == ':') {
        i += 1;
        while chars.get(i).is_some_and(|&(c, _, _)| is_blank(c)) {
            i += 1;
        }
    }
    let from = i;
    let mut value = String::new();
    while let Some(&(c, _, _)) = chars.get(i) {
        if c == '\\' {
            i = unescape(chars, i, &mut value)?;
        } else {
            value.push(c);
            i += 1;
        }
    }
    let span = if from < chars.len() { start_of(from).to(end_of(chars.len())) } else { end_of(chars.len()) };
    Ok(Entry { key: key.into(), key_span, value: string(span, &value) })
}

/// Reads the escape at `chars[i]` (a `\`) into `out`; the index after it.
fn unescape(chars: &[(char, u32, u32)], i: usize, out: &mut String) -> Result<usize, SyntaxError> {
    let Some(&(c, _, _)) = chars.get(i + 1) else {
        // a `\` ending the file's last line: dropped, as Java does
        return Ok(i + 1);
    };
    let decoded = match c {
        't' => '\t',
        'n' => '\n',
        'r' => '\r',
        'f' => '\u{c}',
        'u' => {
            let hex: String = chars.iter().skip(i + 2).take(4).map(|&(c, _, _)| c).collect();
            let code = (hex.len() == 4).then(|| u32::from_str_radix(&hex, 16).ok()).flatten();
            let (_, line, col) = chars[i];
            let Some(code) = code else {
                return Err(SyntaxError {
                    line,
                    col,
                    message: "malformed \\uXXXX escape: expected 4 hexadecimal digits after `\\u`".into(),
                    first: None,
                });
            };
            // a UTF-16 surrogate pair is two escapes, as Java reads them
            if (0xd800..0xdc00).contains(&code) {
                let low: String = chars.iter().skip(i + 6).take(6).map(|&(c, _, _)| c).collect();
                let low = low.strip_prefix("\\u").and_then(|h| u32::from_str_radix(h, 16).ok());
                if let Some(low @ 0xdc00..0xe000) = low {
                    out.extend(char::from_u32(0x10000 + ((code - 0xd800) << 10) + (low - 0xdc00)));
                    return Ok(i + 12);
                }
            }
            out.push(char::from_u32(code).unwrap_or('\u{fffd}'));
            return Ok(i + 6);
        }
        c => c,
    };
    out.push(decoded);
    Ok(i + 2)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(d: &Node, ptr: &str) -> (u32, u32, u32, u32) {
        let s = d.value_span_of_pointer(ptr).0;
        (s.start_line, s.start_col, s.end_line, s.end_col)
    }

    const APP: &str = "\
# application.properties
! also a comment
spring.datasource.url=jdbc:postgresql://db/app
server.port : 8080
greeting Hello\\, world # not a comment
fruits   apple, banana, \\
         pear
key\\ with\\=escapes = \\u00e9\\t\\\\
\tindented=yes
empty=
only
url=http://x/#frag
server.port=9090
";

    #[test]
    fn keys_values_and_continuations_are_read_as_java_reads_them() {
        let p = parse(APP);
        assert!(p.errors.is_empty(), "{:?}", p.errors);
        let d = &p.documents[0];
        let j = d.to_json();
        assert_eq!(j["spring.datasource.url"], "jdbc:postgresql://db/app");
        assert_eq!(j["greeting"], "Hello, world # not a comment");
        assert_eq!(j["fruits"], "apple, banana, pear");
        assert_eq!(j["key with=escapes"], "é\t\\");
        assert_eq!(j["indented"], "yes");
        assert_eq!(j["empty"], "");
        assert_eq!(j["only"], "");
        assert_eq!(j["url"], "http://x/#frag");
        assert_eq!(j["server.port"], "9090", "the last value wins");
        assert_eq!(at(d, "/server.port"), (13, 13, 13, 17));
        assert_eq!(at(d, "/spring.datasource.url"), (3, 23, 3, 47));
        assert_eq!(d.span_of_pointer("/spring.datasource.url").0.start_col, 1);
        assert_eq!(at(d, "/fruits"), (6, 10, 7, 14));
        assert_eq!(at(d, "/indented"), (9, 11, 9, 14));
        let k = d.span_of_pointer("/key with=escapes").0;
        assert_eq!((k.start_line, k.start_col), (8, 1));
        let c: Vec<(u32, &str)> = p.comments.iter().map(|c| (c.line, c.text.as_str())).collect();
        assert_eq!(c, vec![(1, " application.properties"), (2, " also a comment")]);
    }

    #[test]
    fn a_continued_line_is_never_a_comment() {
        let p = parse("a = 1\\\n# two\nb\\\\\n# real\n");
        let j = p.documents[0].to_json();
        assert_eq!(j["a"], "1# two");
        assert_eq!(j["b\\"], "");
        assert_eq!(p.comments.iter().map(|c| c.line).collect::<Vec<_>>(), vec![4]);
    }

    #[test]
    fn malformed_escapes_are_located_and_spoil_their_line_only() {
        let p = parse("a=1\nb=\\u12G4\nc=\\u00\nd=\\ud83d\\ude00\n");
        let got: Vec<(u32, u32)> = p.errors.iter().map(|e| (e.line, e.col)).collect();
        assert_eq!(got, vec![(2, 3), (3, 3)]);
        let j = p.documents[0].to_json();
        assert_eq!(j["a"], "1");
        assert_eq!(j["d"], "😀");
        assert!(j.get("b").is_none());
    }

    #[test]
    fn hostile_and_empty_input() {
        assert!(parse("").documents.is_empty());
        assert!(parse("# c\n! d\n   \n").documents.is_empty());
        let long = format!("{}\n", "\\\n".repeat(50_000));
        let p = parse(&long);
        assert!(p.errors.is_empty());
        for odd in ["\\", "=", ":", "\\u", "\\uFFFF", "a\\", "\r\r", "é=\\é"] {
            let p = parse(odd);
            assert!(p.documents.len() <= 1, "{odd:?}");
        }
        assert_eq!(parse("é=\\é").documents[0].to_json()["é"], "é");
    }
}
