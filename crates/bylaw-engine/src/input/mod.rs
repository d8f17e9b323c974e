//! Input files: which formats bylaw reads, and parsing each into
//! [`Node`](crate::node::Node) documents with source spans.
//!
//! Start from [`parse_path`]: it picks the dialect from the path (YAML,
//! strict JSON, or JSONC for the files whose tools accept comments, see
//! [`is_jsonc`]) and returns a [`ParsedFile`]: the documents that parsed,
//! every syntax error in order, and the file's comments (for inline
//! suppressions).
//!
//! Choices every caller sees (README, "YAML dialect"):
//! - A UTF-8 byte order mark is skipped; an empty or whitespace-only file has
//!   no document and no error.
//! - A syntax error spoils only its own document: parsing resumes at the next
//!   `---` line, so no manifest hides behind a broken one ([`yaml`]).
//! - Kubernetes lists (`kind: List`, `PodList`, … with `items`) are expanded
//!   into their items, each a document at its own lines ([`kube_list`]).
//!
//! The list of formats is [`Format::ALL`]; a new format is one file here
//! plus one entry there. Files of unknown format are skipped by discovery.

mod comments;
pub mod json;
pub mod jsonc;
pub mod kube_list;
pub mod yaml;
mod yaml11;

use crate::node::Node;
pub use jsonc::is_jsonc;

/// A file format bylaw can evaluate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Format {
    Yaml,
    Json,
}

impl Format {
    /// Every supported format, with the file extensions that select it.
    pub const ALL: &'static [(Format, &'static [&'static str])] =
        &[(Format::Yaml, &["yaml", "yml"]), (Format::Json, &["json", "jsonc"])];

    /// The format of a path, by its extension; `None` for formats bylaw does not read.
    pub fn of_path(path: &str) -> Option<Format> {
        let ext = path.rsplit_once('.')?.1.to_ascii_lowercase();
        Format::ALL.iter().find(|(_, exts)| exts.contains(&ext.as_str())).map(|(f, _)| *f)
    }

    /// The name policies see as `file.format`.
    pub fn name(self) -> &'static str {
        match self {
            Format::Yaml => "yaml",
            Format::Json => "json",
        }
    }
}

/// A syntax error with its position (1-based line and column).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyntaxError {
    pub line: u32,
    pub col: u32,
    pub message: String,
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

/// Parses a file, choosing the dialect from its path: `*.yaml`/`*.yml` as
/// YAML, `*.json` as strict JSON unless [`is_jsonc`] says its tool reads
/// JSONC, `*.jsonc` as JSONC. A path of no known format is read as YAML (of
/// which JSON is a subset).
pub fn parse_path(path: &str, src: &str) -> ParsedFile {
    let parsed = match Format::of_path(path).unwrap_or(Format::Yaml) {
        Format::Yaml => yaml::parse(&libyaml_breaks(src)),
        Format::Json => json::parse(src, is_jsonc(path)),
    };
    expand(parsed)
}

/// NEL (U+0085), LINE SEPARATOR (U+2028) and PARAGRAPH SEPARATOR (U+2029)
/// end a line for YAML 1.1 readers — go-yaml (`is_break`, what Kubernetes
/// and most CI tools read YAML with), libyaml, PyYAML — but not for YAML
/// 1.2. A manifest could otherwise hide `privileged: true` after a comment
/// that bylaw reads to the end of the physical line while the API server
/// does not; they are read as line breaks here, as those tools do (and
/// lines are counted as they count them).
fn libyaml_breaks(src: &str) -> std::borrow::Cow<'_, str> {
    if src.contains(['\u{85}', '\u{2028}', '\u{2029}']) {
        std::borrow::Cow::Owned(src.replace(['\u{85}', '\u{2028}', '\u{2029}'], "\n"))
    } else {
        std::borrow::Cow::Borrowed(src)
    }
}

/// Parses file contents of a known format (JSON strictly: without a path,
/// nothing says the file is JSONC).
pub fn parse(format: Format, src: &str) -> ParsedFile {
    let parsed = match format {
        Format::Yaml => yaml::parse(&libyaml_breaks(src)),
        Format::Json => json::parse(src, false),
    };
    expand(parsed)
}

fn expand(mut parsed: ParsedFile) -> ParsedFile {
    parsed.documents = kube_list::expand(parsed.documents);
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
        assert_eq!(Format::of_path("x/tsconfig.base.jsonc"), Some(Format::Json));
    }

    #[test]
    fn every_caller_sees_list_items() {
        let src = "{\"apiVersion\": \"v1\", \"kind\": \"PodList\", \"items\": [\n  {\"metadata\": {\"name\": \"a\"}},\n  {\"metadata\": {\"name\": \"b\"}}\n]}\n";
        let p = parse(Format::Json, src);
        assert_eq!(p.documents.len(), 2);
        assert_eq!(p.documents[1].str_at(&["kind"]), Some("Pod"));
        assert_eq!(p.documents[1].span.start_line, 3);
    }
}
