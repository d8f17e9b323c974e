//! Input files: which formats bylaw reads, and parsing each into
//! [`Node`](crate::node::Node) documents with source spans.
//!
//! The list of formats is [`Format::ALL`]; a new format is one file here
//! plus one entry there. Files of unknown format are skipped by discovery.

pub mod json;
pub mod yaml;

use crate::node::Node;
pub use yaml::SyntaxError;

/// A file format bylaw can evaluate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Format {
    Yaml,
    Json,
}

impl Format {
    /// Every supported format, with the file extensions that select it.
    pub const ALL: &'static [(Format, &'static [&'static str])] =
        &[(Format::Yaml, &["yaml", "yml"]), (Format::Json, &["json"])];

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

/// What parsing a file produced: the documents that parsed and, if parsing
/// stopped early, the error.
#[derive(Debug, Default)]
pub struct ParsedFile {
    pub documents: Vec<Node>,
    pub error: Option<SyntaxError>,
}

/// Parses file contents of a known format.
pub fn parse(format: Format, src: &str) -> ParsedFile {
    let parsed = match format {
        Format::Yaml => yaml::parse(src),
        Format::Json => json::parse(src),
    };
    ParsedFile { documents: parsed.documents, error: parsed.error }
}
