//! Positions as editors show them — 1-based lines and 1-based character
//! columns, a line ending at `\n`, `\r\n` or a lone `\r`, as editors and
//! code hosts count them (DESIGN §3) — for the parsers that report byte
//! ranges (`toml`) and the line-based formats (INI, properties, `.env`,
//! JSON Lines); and the flat mapping those build ([`Mapping`]).

use crate::node::{Entry, Node, NodeValue, Span};
use std::collections::HashMap;

/// Where each line of a text starts, to turn byte offsets into positions
/// in O(log lines) plus the length of the line's prefix.
pub(crate) struct LineIndex<'a> {
    src: &'a str,
    /// Byte offset of the start of each line; the first is 0.
    starts: Vec<usize>,
}

impl<'a> LineIndex<'a> {
    pub(crate) fn new(src: &'a str) -> Self {
        let bytes = src.as_bytes();
        let mut starts = vec![0];
        for (i, &b) in bytes.iter().enumerate() {
            if b == b'\n' || (b == b'\r' && bytes.get(i + 1) != Some(&b'\n')) {
                starts.push(i + 1);
            }
        }
        LineIndex { src, starts }
    }

    /// The 1-based line and character column of byte `offset` (clamped to
    /// the text, moved back to a character boundary).
    pub(crate) fn position(&self, offset: usize) -> (u32, u32) {
        let mut offset = offset.min(self.src.len());
        while !self.src.is_char_boundary(offset) {
            offset -= 1;
        }
        let line = self.starts.partition_point(|&s| s <= offset).max(1);
        let start = self.starts[line - 1];
        let col = self.src[start..offset].chars().count() + 1;
        (line as u32, col as u32)
    }

    /// The span of the byte range `start..end`.
    pub(crate) fn span(&self, start: usize, end: usize) -> Span {
        let (start_line, start_col) = self.position(start);
        let (end_line, end_col) = self.position(end.max(start));
        Span { start_line, start_col, end_line, end_col }
    }
}

/// The physical lines of `src`: each line's 1-based number and its text
/// without the line break (`\n`, `\r\n` or a lone `\r`).
pub(crate) fn physical_lines(src: &str) -> impl Iterator<Item = (u32, &str)> {
    let mut rest = src;
    let mut number = 0u32;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        number += 1;
        let end = rest.find(['\n', '\r']).unwrap_or(rest.len());
        let line = &rest[..end];
        let brk = match rest.as_bytes().get(end) {
            Some(b'\r') if rest.as_bytes().get(end + 1) == Some(&b'\n') => 2,
            Some(_) => 1,
            None => 0,
        };
        rest = &rest[end + brk..];
        Some((number, line))
    })
}

/// The 1-based character column of byte `at` of `line`.
pub(crate) fn col(line: &str, at: usize) -> u32 {
    let mut at = at.min(line.len());
    while !line.is_char_boundary(at) {
        at -= 1;
    }
    line[..at].chars().count() as u32 + 1
}

/// The span of bytes `from..to` of line number `n`.
pub(crate) fn span_in(n: u32, line: &str, from: usize, to: usize) -> Span {
    Span { start_line: n, start_col: col(line, from), end_line: n, end_col: col(line, to.max(from)) }
}

/// A mapping built line by line, in source order, each key once.
#[derive(Default)]
pub(crate) struct Mapping {
    entries: Vec<Entry>,
    index: HashMap<compact_str::CompactString, usize>,
}

impl Mapping {
    /// Adds `e`, or refuses it with the span of the key already there.
    pub(crate) fn insert_unique(&mut self, e: Entry) -> Result<(), Span> {
        if let Some(&i) = self.index.get(&e.key) {
            return Err(self.entries[i].key_span);
        }
        self.index.insert(e.key.clone(), self.entries.len());
        self.entries.push(e);
        Ok(())
    }

    /// Adds `e`; a key already there takes `e`'s value and place in the
    /// file (the last assignment wins, as a shell or `Properties.load` do),
    /// keeping its order among the keys.
    pub(crate) fn insert_last_wins(&mut self, e: Entry) {
        match self.index.get(&e.key) {
            Some(&i) => self.entries[i] = e,
            None => {
                self.index.insert(e.key.clone(), self.entries.len());
                self.entries.push(e);
            }
        }
    }

    /// The entry under `key`, to extend it (a continuation line).
    pub(crate) fn last_mut(&mut self) -> Option<&mut Entry> {
        self.entries.last_mut()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// The mapping node: from `start` (a section header; the first key
    /// when `None`) to its last value.
    pub(crate) fn into_node(self, start: Option<Span>) -> Node {
        let first = self.entries.iter().map(|e| e.key_span).min().unwrap_or_default();
        let last = self.entries.iter().map(|e| e.value.span).max_by_key(|s| (s.end_line, s.end_col));
        let span = start.unwrap_or(first);
        let span = last.map_or(span, |l| span.to(l));
        Node { span, value: NodeValue::Map(self.entries) }
    }
}

/// A string node.
pub(crate) fn string(span: Span, value: &str) -> Node {
    Node { span, value: NodeValue::Str { value: value.into(), plain: false } }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_become_editor_positions() {
        let ix = LineIndex::new("ab\r\né = 1\rx\n");
        assert_eq!(ix.position(0), (1, 1));
        assert_eq!(ix.position(4), (2, 1));
        assert_eq!(ix.position(6), (2, 2), "é is one column");
        assert_eq!(ix.position(11), (3, 1), "a lone CR ends a line");
        assert_eq!(ix.position(5), (2, 1), "inside a character: its start");
        assert_eq!(ix.position(999), (4, 1));
    }

    #[test]
    fn physical_lines_end_as_in_an_editor() {
        let got: Vec<(u32, &str)> = physical_lines("a\r\nb\rc\n\nd").collect();
        assert_eq!(got, vec![(1, "a"), (2, "b"), (3, "c"), (4, ""), (5, "d")]);
        assert_eq!(col("é=x", 2), 2);
        assert_eq!(col("é=x", 1), 1);
    }

    /// Parse speed of TOML, INI, properties, `.env`, JSON Lines and plans against YAML on files of
    /// the same data (~5-10 MB each), in MB/s; run in release:
    /// `cargo test --release -p bylaw-engine --lib parse_speed -- --ignored --nocapture`.
    #[test]
    #[ignore = "a measurement, run by hand in release"]
    fn parse_speed() {
        use crate::input::{parse, Format};
        let n = 100_000;
        let gen = |f: &dyn Fn(usize) -> String| (0..n).map(f).collect::<String>();
        let cases: Vec<(&str, Format, String)> = vec![
            (
                "yaml",
                Format::YAML,
                gen(&|i| format!("s{i}:\n  name: \"value {i}\"\n  count: {i}\n  flag: true\n  tags: [a, b]\n")),
            ),
            (
                "toml",
                Format::TOML,
                gen(&|i| format!("[s{i}]\nname = \"value {i}\"\ncount = {i}\nflag = true\ntags = [\"a\", \"b\"]\n")),
            ),
            (
                "ini",
                Format::INI,
                gen(&|i| format!("[s{i}]\nname = value {i}\ncount = {i}\nflag = true\ntags = a, b\n")),
            ),
            (
                "properties",
                Format::PROPERTIES,
                gen(&|i| format!("s{i}.name = value {i}\ns{i}.count = {i}\ns{i}.flag = true\ns{i}.tags = a, b\n")),
            ),
            (
                "dotenv",
                Format::DOTENV,
                gen(&|i| format!("S{i}_NAME=\"value {i}\"\nS{i}_COUNT={i}\nS{i}_FLAG=true\nS{i}_TAGS='a, b'\n")),
            ),
            (
                "jsonl",
                Format::JSONL,
                gen(&|i| {
                    format!("{{\"name\": \"value {i}\", \"count\": {i}, \"flag\": true, \"tags\": [\"a\", \"b\"]}}\n")
                }),
            ),
            ("terraform-plan", Format::TERRAFORM_PLAN, {
                let rs = (0..n / 4).map(|i| format!("{{\"address\": \"aws_s3_bucket.b{i}\", \"mode\": \"managed\", \"type\": \"aws_s3_bucket\", \"name\": \"b{i}\", \"provider_name\": \"aws\", \"values\": {{\"bucket\": \"x{i}\", \"acl\": \"private\", \"tags\": {{\"env\": \"prod\"}}, \"versioning\": [{{\"enabled\": true}}]}}}}")).collect::<Vec<_>>().join(",\n");
                let cs = (0..n / 4).map(|i| format!("{{\"address\": \"aws_s3_bucket.b{i}\", \"change\": {{\"actions\": [\"create\"], \"before\": null, \"after_unknown\": {{\"id\": true}}}}}}")).collect::<Vec<_>>().join(",\n");
                format!("{{\"format_version\": \"1.2\", \"planned_values\": {{\"root_module\": {{\"resources\": [\n{rs}]}}}}, \"resource_changes\": [\n{cs}]}}\n")
            }),
        ];
        for (name, format, src) in &cases {
            let t = std::time::Instant::now();
            let p = parse(*format, src);
            let secs = t.elapsed().as_secs_f64();
            assert!(p.errors.is_empty() && !p.documents.is_empty(), "{name}: {:?}", p.errors.first());
            eprintln!(
                "{name:>15}: {:6.1} MB in {:.3} s = {:6.1} MB/s",
                src.len() as f64 / 1e6,
                secs,
                src.len() as f64 / 1e6 / secs
            );
        }
    }
}
