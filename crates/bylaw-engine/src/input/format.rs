//! The input-format interface, [`InputFormat`], and its one registry,
//! [`FORMATS`]: which files bylaw reads, how each is parsed into documents
//! with source spans, which comments it has (inline suppressions are read
//! from them), and what identifies the resource a document describes.
//!
//! Every consumer asks the registry, never a format by name: discovery
//! skips the files no format claims (`unknown format`), evaluation parses
//! with the file's format and reads `file.format`, the resource identity of
//! each document (findings, `match.kinds`, exception `resources`) and the
//! label of its syntax errors from it, and inline suppressions are read from
//! the comments its parser reports (`exceptions.rs` names its comment
//! marker in hints). The CLI lists the formats with [`format_names`].
//!
//! # Adding an input format
//!
//! 1. One file under `src/input/` (as `json.rs`) with the parser, which
//!    builds the engine's tree ([`Node`], every node and key with its
//!    [`Span`](crate::node::Span): 1-based lines and columns as an editor
//!    shows them) and reports every syntax error located and every comment
//!    ([`ParsedFile`]); and a unit struct implementing [`InputFormat`]: its
//!    ids, which paths it [claims](InputFormat::claims) (file names and
//!    extensions), its comment markers, and the resource identity of its
//!    documents when the Kubernetes one ([`kubernetes_resource`]) does not
//!    fit.
//! 2. One entry in [`FORMATS`], before any format that claims the same
//!    paths more broadly (the first claim wins: JSONC before JSON).
//! 3. Tests beside the parser: spans of nodes, keys and errors (an error
//!    spoils only what it must), comments and where they are not comments
//!    (inside strings), limits against hostile input (depth, size), and an
//!    end-to-end case under `crates/bylaw-cli/tests/inputs.rs`: a finding
//!    on the exact line, an inline suppression in the format's comment
//!    syntax, `file.format` in a condition. Add the parser to the fuzz
//!    targets (`fuzz/`).
//!
//! Nothing else changes: discovery, evaluation, suppressions and the CLI's
//! list of formats follow the registry.

use crate::node::Node;
use crate::report::Resource;

use super::ParsedFile;

/// A file format bylaw reads. Implementations are unit structs listed in
/// [`FORMATS`]; they hold no state and are shared by every thread.
pub trait InputFormat: Send + Sync {
    /// The format's unique id in the registry (`yaml`, `jsonc`).
    fn id(&self) -> &'static str;

    /// What policies see as `file.format` (`yaml`, `json`). By default the
    /// id; a dialect may share its language's name (JSONC is `json`).
    fn name(&self) -> &'static str {
        self.id()
    }

    /// The format's name in messages: `invalid YAML: …`, and the list of
    /// formats bylaw reads ([`format_names`]).
    fn label(&self) -> &'static str;

    /// Whether the file at `path` (relative, `/`-separated) is of this
    /// format, by its file name or extension. Formats are asked in the
    /// order of [`FORMATS`]; the first that claims a path reads it.
    fn claims(&self, path: &str) -> bool;

    /// Whether this format reads the file at `path` although another format
    /// claims its path, because its content says so: a CloudFormation
    /// template is a `.yaml` or `.json` file with `AWSTemplateFormatVersion`
    /// or `AWS::` resource types, a Terraform plan a `.json` file with
    /// `planned_values`. `src` is the file's text; look at what is needed
    /// (the first kilobytes), it is asked of every file. Formats that sniff
    /// are asked in [`FORMATS`] order before any claim by path
    /// ([`Format::of_file`]). No by default.
    fn sniffs(&self, _path: &str, _src: &str) -> bool {
        false
    }

    /// The markers that start a comment (`#`; `//` and `/*`), the first
    /// being the one hints suggest for `bylaw:ignore`. Empty when the
    /// format has no comments: its files cannot hold inline suppressions.
    fn comment_markers(&self) -> &'static [&'static str];

    /// Parses `src` (the file's text, a byte order mark included), handing
    /// each document to `each` in order as soon as it is complete. The
    /// returned [`ParsedFile`] holds every syntax error, located, and every
    /// comment, and no documents. A syntax error spoils as little as the
    /// format allows: the other documents are still handed out.
    fn parse(&self, src: &str, each: &mut dyn FnMut(Node)) -> ParsedFile;

    /// What identifies the resource `doc` describes (findings carry it;
    /// `match.kinds` and exceptions' `resources` match it); `None` when
    /// nothing does. Kubernetes' `apiVersion`, `kind` and `metadata` by
    /// default ([`kubernetes_resource`]).
    fn resource(&self, doc: &Node) -> Option<Resource> {
        kubernetes_resource(doc)
    }
}

/// Every input format, in the order they are asked to claim a path.
pub static FORMATS: &[Format] = &[Format::YAML, Format::JSONC, Format::JSON, Format::DOCKERFILE];

/// A format of the registry: a copyable handle to its [`InputFormat`],
/// equal to another when their ids are.
#[derive(Clone, Copy)]
pub struct Format(&'static dyn InputFormat);

impl Format {
    /// YAML (`*.yaml`, `*.yml`), see [`super::yaml`].
    pub const YAML: Format = Format(&super::yaml::Yaml);
    /// Strict JSON (`*.json`), see [`super::json`].
    pub const JSON: Format = Format(&super::json::Json);
    /// JSONC: JSON with comments and trailing commas, for the files whose
    /// tools read it (`*.jsonc`, `tsconfig.json`, …), see [`super::jsonc`].
    pub const JSONC: Format = Format(&super::jsonc::Jsonc);
    /// Dockerfiles (`Dockerfile`, `Containerfile`, `*.dockerfile`, …), see [`super::dockerfile`].
    pub const DOCKERFILE: Format = Format(&super::dockerfile::Dockerfile);

    /// The format of a path (by file name or extension), the first of
    /// [`FORMATS`] to claim it; `None` for formats bylaw does not read.
    pub fn of_path(path: &str) -> Option<Format> {
        FORMATS.iter().copied().find(|f| f.claims(path))
    }

    /// The format of a file from its path and its text: the first of
    /// [`FORMATS`] that [sniffs](InputFormat::sniffs) it, else the one that
    /// claims its path ([`Format::of_path`]).
    pub fn of_file(path: &str, src: &str) -> Option<Format> {
        FORMATS.iter().copied().find(|f| f.sniffs(path, src)).or_else(|| Format::of_path(path))
    }

    /// The name policies see as `file.format` ([`InputFormat::name`]).
    pub fn name(self) -> &'static str {
        self.0.name()
    }
}

impl std::ops::Deref for Format {
    type Target = dyn InputFormat;
    fn deref(&self) -> &Self::Target {
        self.0
    }
}

impl PartialEq for Format {
    fn eq(&self, other: &Format) -> bool {
        self.0.id() == other.0.id()
    }
}

impl Eq for Format {}

impl std::fmt::Debug for Format {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Format({})", self.0.id())
    }
}

/// The formats bylaw reads as messages name them, each once, in registry
/// order (`["YAML", "JSON"]`: JSONC is JSON to a user), e.g. for "not a
/// format bylaw reads (YAML, JSON)".
pub fn format_names() -> Vec<&'static str> {
    let mut names: Vec<&'static str> = Vec::with_capacity(FORMATS.len());
    for f in FORMATS {
        if !names.contains(&f.label()) {
            names.push(f.label());
        }
    }
    names
}

/// The comment marker that starts an inline suppression in the file at
/// `path` (`#` in YAML, `//` in JSONC); `#` when its format has no comments
/// or bylaw does not read it.
pub fn comment_marker(path: &str) -> &'static str {
    Format::of_path(path).and_then(|f| f.comment_markers().first().copied()).unwrap_or("#")
}

/// Whether the file name of `path` ends with `.EXT` for one of `extensions`
/// (lowercase, without the dot), ignoring case: the claim of most formats.
pub fn has_extension(path: &str, extensions: &[&str]) -> bool {
    path.rsplit_once('.').is_some_and(|(_, ext)| extensions.iter().any(|e| ext.eq_ignore_ascii_case(e)))
}

/// The Kubernetes identity of a document: `apiVersion`, `kind`,
/// `metadata.namespace` and `metadata.name` (strings); `None` when it has
/// neither a kind nor a name.
pub fn kubernetes_resource(doc: &Node) -> Option<Resource> {
    let r = Resource {
        api_version: doc.str_at(&["apiVersion"]).map(String::from),
        kind: doc.str_at(&["kind"]).map(String::from),
        namespace: doc.str_at(&["metadata", "namespace"]).map(String::from),
        name: doc.str_at(&["metadata", "name"]).map(String::from),
    };
    (r.kind.is_some() || r.name.is_some()).then_some(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique() {
        let mut ids: Vec<&str> = FORMATS.iter().map(|f| f.id()).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), FORMATS.len());
    }

    #[test]
    fn the_first_format_to_claim_a_path_reads_it() {
        let of = |p: &str| Format::of_path(p).map(|f| f.id());
        assert_eq!(of("deploy/app.yaml"), Some("yaml"));
        assert_eq!(of("deploy/APP.YML"), Some("yaml"));
        assert_eq!(of("data/a.json"), Some("json"));
        assert_eq!(of("tsconfig.json"), Some("jsonc"), "JSONC is asked before JSON");
        assert_eq!(of(".vscode/settings.json"), Some("jsonc"));
        assert_eq!(of("x.jsonc"), Some("jsonc"));
        assert_eq!(of("main.tf"), None);
        assert_eq!(of("Makefile"), None);
        // what policies see
        assert_eq!(Format::JSONC.name(), "json");
    }

    #[test]
    fn messages_name_each_format_once() {
        assert_eq!(format_names(), ["YAML", "JSON", "Dockerfile"]);
        assert_eq!(comment_marker("a.yaml"), "#");
        assert_eq!(comment_marker("a.jsonc"), "//");
        assert_eq!(comment_marker("a.json"), "#", "strict JSON has no comments");
    }
}
