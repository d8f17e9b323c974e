//! Input files: which formats bylaw reads, and parsing each into
//! [`Node`] documents with source spans.
//!
//! The formats are one list, [`FORMATS`] ([`mod@format`] says what a format
//! implements and what adding one takes): YAML, JSONC (for the files whose
//! tools accept comments, see [`is_jsonc`]) and strict JSON. Start from
//! [`parse_path`]: it picks the format from the path and returns a
//! [`ParsedFile`]: the documents that parsed, every syntax error in order,
//! and the file's comments (for inline suppressions).
//!
//! Choices every caller sees (README, "YAML dialect"):
//! - A UTF-8 byte order mark is skipped; an empty or whitespace-only file has
//!   no document and no error.
//! - A syntax error spoils only its own document: parsing resumes at the next
//!   `---` line, so no manifest hides behind a broken one ([`yaml`]).
//! - Kubernetes lists (`kind: List`, `PodList`, … with `items`) are expanded
//!   into their items, each a document at its own lines ([`kube_list`]), in
//!   every format.
//!
//! Files no format claims are skipped by discovery (`unknown format`).

pub mod cloudformation;
mod comments;
pub mod dockerfile;
pub mod dotenv;
pub mod format;
pub mod ini;
pub mod json;
pub mod jsonc;
pub mod jsonl;
pub mod kube_list;
mod lines;
pub mod properties;
pub mod terraform;
pub mod terraform_plan;
pub mod toml;
pub mod yaml;
mod yaml11;

use crate::node::{Node, NodeValue, Span};
pub use format::{
    comment_marker, format_names, kubernetes_resource, type_names, Format, FormatOverrides, InputFormat, Relocate,
    FORMATS,
};
pub use jsonc::is_jsonc;

/// A syntax error with its position (1-based line and column).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyntaxError {
    pub line: u32,
    pub col: u32,
    pub message: String,
    /// A second place the error is about: for a duplicate key, where the
    /// key was first written (shown as a "first defined here" label).
    pub first: Option<Span>,
}

/// A comment as written in the file: YAML `# …`, JSONC `// …` and `/* … */`.
/// Only real comments are listed: a `#` inside a quoted or block scalar (a
/// shell script under `command: |`) is data, not a comment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Comment {
    /// 1-based line of the comment marker (`#`, `//`, `/*`).
    pub line: u32,
    /// 1-based character column of the comment marker.
    pub col: u32,
    /// The text after the marker (`#`, `//`; inside `/* */`), as written,
    /// without the line break and trailing whitespace.
    pub text: String,
}

/// What parsing a file produced. Documents before, between and after broken
/// ones are kept and evaluated; `errors` lists every syntax error, in order.
#[derive(Debug, Default)]
pub struct ParsedFile {
    pub documents: Vec<Node>,
    pub errors: Vec<SyntaxError>,
    pub comments: Vec<Comment>,
}

impl ParsedFile {
    /// Hands the documents of a file parsed whole to `each`, in order, and
    /// returns the rest (errors, comments): [`InputFormat::parse`] for the
    /// formats whose parser builds every document before the first is out.
    pub fn hand_out(mut self, each: &mut dyn FnMut(Node)) -> ParsedFile {
        std::mem::take(&mut self.documents).into_iter().for_each(each);
        self
    }
}

/// Parses a file, choosing the format from its path ([`Format::of_path`]):
/// `*.yaml`/`*.yml` as YAML, `*.json` as strict JSON unless [`is_jsonc`] says
/// its tool reads JSONC, `*.jsonc` as JSONC. A path of no known format is
/// read as YAML (of which JSON is a subset).
pub fn parse_path(path: &str, src: &str) -> ParsedFile {
    let mut documents = Vec::new();
    let mut parsed = parse_path_each(path, src, &mut |d| documents.push(d));
    parsed.documents = documents;
    parsed
}

/// [`parse_path`], handing each document to `each` as soon as it is parsed
/// (Kubernetes lists already expanded into their items, in order), so a
/// stream of many documents is never held whole. The returned
/// [`ParsedFile`] holds the errors and comments, and no documents.
fn parse_path_each(path: &str, src: &str, each: &mut dyn FnMut(Node)) -> ParsedFile {
    parse_each(Format::of_file(path, src).unwrap_or(Format::YAML), src, each)
}

/// Parses `src` as `format`, handing each document to `each` as soon as it
/// is parsed, Kubernetes lists expanded into their items ([`kube_list`]).
/// The returned [`ParsedFile`] holds the errors and comments, and no
/// documents.
pub fn parse_each(format: Format, src: &str, each: &mut dyn FnMut(Node)) -> ParsedFile {
    format.parse(src, &mut |doc: Node| kube_list::expand(vec![doc]).into_iter().for_each(&mut *each))
}

/// The Unicode line breaks of YAML 1.1: NEL, LINE SEPARATOR, PARAGRAPH SEPARATOR.
const UNICODE_BREAKS: [char; 3] = ['\u{85}', '\u{2028}', '\u{2029}'];

/// An input YAML file. NEL (U+0085), LINE SEPARATOR (U+2028) and PARAGRAPH
/// SEPARATOR (U+2029) end a line for YAML 1.1 readers — go-yaml
/// (`is_break`, what Kubernetes and most CI tools read YAML with), libyaml,
/// PyYAML — but not for YAML 1.2. A manifest could otherwise hide
/// `privileged: true` after a comment that bylaw reads to the end of the
/// physical line while the API server does not; they are read as line
/// breaks here, as those tools do. Locations are still counted as editors
/// and code hosts count lines (LF, CRLF, CR; DESIGN §3): every position is
/// mapped back to its physical line and column ([`PhysicalLines`]).
fn parse_yaml_input(src: &str, opts: yaml::Options, each: &mut dyn FnMut(Node)) -> ParsedFile {
    if !src.contains(UNICODE_BREAKS) {
        return yaml::parse_each_with(src, opts, each);
    }
    let lines = PhysicalLines::of(src);
    let mut parsed = yaml::parse_each_with(&src.replace(UNICODE_BREAKS, "\n"), opts, &mut |mut doc| {
        lines.node(&mut doc);
        each(doc);
    });
    lines.apply(&mut parsed);
    parsed
}

/// Where each line of a text read with Unicode line breaks starts in the
/// physical file: one character replaces one, so a position moves only by
/// the lines and columns the extra breaks added.
struct PhysicalLines {
    /// For each line as parsed (0-based): its physical line (1-based) and
    /// the characters before it on that physical line.
    starts: Vec<(u32, u32)>,
}

impl PhysicalLines {
    fn of(src: &str) -> PhysicalLines {
        let mut starts = vec![(1, 0)];
        let (mut line, mut col) = (1u32, 0u32);
        let mut chars = src.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '\n' | '\r' => {
                    if c == '\r' && chars.peek() == Some(&'\n') {
                        chars.next();
                    }
                    line += 1;
                    col = 0;
                    starts.push((line, 0));
                }
                c if UNICODE_BREAKS.contains(&c) => {
                    col += 1;
                    starts.push((line, col));
                }
                _ => col += 1,
            }
        }
        PhysicalLines { starts }
    }

    /// The physical (line, column) of a parsed (line, column), all 1-based.
    fn map(&self, line: u32, col: u32) -> (u32, u32) {
        match self.starts.get(line.saturating_sub(1) as usize) {
            Some(&(l, before)) => (l, col + before),
            None => (line, col),
        }
    }

    fn span(&self, s: &mut Span) {
        (s.start_line, s.start_col) = self.map(s.start_line, s.start_col);
        (s.end_line, s.end_col) = self.map(s.end_line, s.end_col);
    }

    fn node(&self, n: &mut Node) {
        self.span(&mut n.span);
        match &mut n.value {
            NodeValue::Seq(items) => items.iter_mut().for_each(|i| self.node(i)),
            NodeValue::Map(entries) => entries.iter_mut().for_each(|e| {
                self.span(&mut e.key_span);
                self.node(&mut e.value);
            }),
            _ => {}
        }
    }

    fn apply(&self, parsed: &mut ParsedFile) {
        parsed.documents.iter_mut().for_each(|d| self.node(d));
        for e in &mut parsed.errors {
            (e.line, e.col) = self.map(e.line, e.col);
            e.first.iter_mut().for_each(|f| self.span(f));
        }
        for c in &mut parsed.comments {
            (c.line, c.col) = self.map(c.line, c.col);
        }
    }
}

/// Decodes a file's bytes: bylaw reads UTF-8 only. The error is located at
/// the first byte that is not UTF-8 (line and character column, as an
/// editor shows them), and says so when the file is UTF-16.
pub fn decode(bytes: Vec<u8>) -> Result<String, SyntaxError> {
    let e = match String::from_utf8(bytes) {
        Ok(text) => return Ok(text),
        Err(e) => e,
    };
    let bytes = e.as_bytes();
    let valid = e.utf8_error().valid_up_to();
    if bytes.starts_with(&[0xff, 0xfe]) || bytes.starts_with(&[0xfe, 0xff]) {
        return Err(SyntaxError {
            line: 1,
            col: 1,
            first: None,
            message: "the file is UTF-16 (it starts with a UTF-16 byte order mark); bylaw reads UTF-8: re-encode it (`iconv -f UTF-16 -t UTF-8`)".into(),
        });
    }
    // the bytes before the first invalid one are UTF-8
    let before = std::str::from_utf8(&bytes[..valid]).unwrap_or_default();
    let line = before.matches('\n').count() as u32 + 1;
    let col = before.rsplit('\n').next().unwrap_or_default().chars().count() as u32 + 1;
    Err(SyntaxError {
        line,
        col,
        first: None,
        message: format!(
            "the file is not valid UTF-8: byte 0x{:02X} here is not part of a UTF-8 character (bylaw reads UTF-8: re-encode the file)",
            bytes[valid]
        ),
    })
}

/// Parses file contents of a known format (all documents at once; see
/// [`parse_each`]).
pub fn parse(format: Format, src: &str) -> ParsedFile {
    let mut documents = Vec::new();
    let mut parsed = parse_each(format, src, &mut |d| documents.push(d));
    parsed.documents = documents;
    parsed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unicode_line_breaks_end_a_comment_as_in_go_yaml() {
        for sep in ['\u{85}', '\u{2028}', '\u{2029}'] {
            let src = format!("apiVersion: v1\nkind: Pod\nspec:\n  hostPID: false # x{sep}  hostNetwork: true\n");
            let d = &parse_path("p.yaml", &src).documents[0];
            assert_eq!(d.to_json()["spec"]["hostNetwork"], true, "{sep:?}");
        }
    }

    #[test]
    fn positions_after_unicode_line_breaks_are_the_lines_an_editor_shows() {
        // read as go-yaml reads it (NEL, LS and PS end a line), located as
        // an editor counts lines (LF, CRLF, CR)
        let src = "apiVersion: v1\r\nkind: Pod # a\u{85}metadata: { name: n }\u{2028}spec:\n  hostNetwork: true\n";
        let p = parse_path("p.yaml", src);
        let d = &p.documents[0];
        assert_eq!(d.to_json()["spec"]["hostNetwork"], true);
        let at = |ptr: &str| {
            let s = d.value_span_of_pointer(ptr).0;
            (s.start_line, s.start_col)
        };
        assert_eq!(at("/kind"), (2, 7));
        assert_eq!(at("/metadata/name"), (2, 33));
        assert_eq!(at("/spec/hostNetwork"), (3, 16));
        assert_eq!(d.span_of_pointer("/spec").0.start_line, 2);
        assert_eq!(d.span_of_pointer("/spec").0.start_col, 37);
        assert_eq!(p.comments.iter().map(|c| (c.line, c.col)).collect::<Vec<_>>(), vec![(2, 11)]);
        let p = parse_path("p.yaml", "a: 1\u{2028}b: [\n");
        assert_eq!((p.errors[0].line, p.errors[0].col), (2, 1), "{:?}", p.errors);
        let p = parse_path("p.yaml", "a: 1\u{2028}b: c: d\n");
        assert_eq!((p.errors[0].line, p.errors[0].col), (1, 10), "{:?}", p.errors);
    }

    #[test]
    fn invalid_utf8_is_located_at_its_first_bad_byte() {
        let e = decode(b"apiVersion: v1\nmetadata: { name: \"caf\xe9\" }\n".to_vec()).unwrap_err();
        assert_eq!((e.line, e.col), (2, 23), "{e:?}");
        assert!(e.message.contains("byte 0xE9"), "{}", e.message);
        // columns count characters
        let e = decode("é: \"→".bytes().chain([0x80]).collect()).unwrap_err();
        assert_eq!((e.line, e.col), (1, 6), "{e:?}");
        let e = decode(vec![0xff, 0xfe, b'a', 0]).unwrap_err();
        assert!(e.message.contains("UTF-16"), "{}", e.message);
        assert_eq!(decode(b"a: 1\n".to_vec()).unwrap(), "a: 1\n");
    }

    #[test]
    fn the_path_picks_the_dialect() {
        let src = "{\n  // editor settings\n  \"a\": 1,\n}\n";
        let p = parse_path(".vscode/settings.json", src);
        assert!(p.errors.is_empty(), "{:?}", p.errors);
        assert_eq!(p.documents[0].to_json()["a"], 1);
        assert_eq!(p.comments.len(), 1);
        let p = parse_path("config/settings.json", src);
        assert!(p.documents.is_empty());
        assert_eq!(p.errors[0].line, 2);
        let p = parse_path("deploy/app.yml", "a: 0644\n");
        assert_eq!(p.documents[0].to_json()["a"], 644);
        assert_eq!(Format::of_path("x/tsconfig.base.jsonc"), Some(Format::JSONC));
    }

    #[test]
    fn every_caller_sees_list_items() {
        let src = "{\"apiVersion\": \"v1\", \"kind\": \"PodList\", \"items\": [\n  {\"metadata\": {\"name\": \"a\"}},\n  {\"metadata\": {\"name\": \"b\"}}\n]}\n";
        let p = parse(Format::JSON, src);
        assert_eq!(p.documents.len(), 2);
        assert_eq!(p.documents[1].str_at(&["kind"]), Some("Pod"));
        assert_eq!(p.documents[1].span.start_line, 3);
    }
}
