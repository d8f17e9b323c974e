//! Emitters of bylaw's [`Report`]: human text, the JSON report, SARIF 2.1.0,
//! JUnit XML, a Markdown summary and GitLab Code Quality JSON. Every emitter reads only the Report, so
//! every CLI command and CI adapter produces the same outputs from one run.
//!
//! Each format is one file implementing [`Emitter`]; [`EMITTERS`] is the one
//! list of them, which [`render_to`], [`render_failure`] and the name
//! parsing of [`Format`] go through. The [`emitter`] module says what adding
//! a format takes. It deliberately does not publish anything (the CI
//! adapters do) nor decide which formats a run writes (the CLI does).

#![forbid(unsafe_code)]

pub mod audit_log;
mod codequality;
pub mod emitter;
pub mod escape;
pub mod impact;
mod json;
mod junit;
pub mod markdown;
mod sarif;
mod splice;
mod text;

use bylaw_engine::report::Report;
use std::io::Write;
use std::path::Path;
use std::str::FromStr;

pub use codequality::to_codequality;
pub use emitter::{Emitter, EMITTERS};
pub use escape::{display_safe, percent_encode_path};
pub use json::failure_report;
pub use junit::{failure_junit, tests_junit};
pub use sarif::{diagnostics_to_sarif, failure_sarif, sarif_limits, to_sarif, SRCROOT};

/// The diagnostic code of a line that counts the errors reported before it
/// ("2 errors in policies; nothing was evaluated"): shown and kept in the
/// failure artifacts, never counted as one more error.
pub const SUMMARY_CODE: bylaw_engine::diagnostic::Code = bylaw_engine::diagnostic::Code::Summary;

/// JSON Schema of the JSON report (`bylaw schema report`).
pub const REPORT_SCHEMA: &str = include_str!("../../../schemas/report.schema.json");

/// The official SARIF 2.1.0 JSON Schema (OASIS), as shipped in `schemas/`.
pub const SARIF_SCHEMA: &str = include_str!("../../../schemas/sarif-2.1.0.json");

/// [`SARIF_SCHEMA`] parsed, ready for a JSON Schema validator. The official
/// file's `language` patterns (`^[a-zA-Z]{2}|^[a-zA-Z]{2}-[a-zA-Z]{2}]?$`)
/// carry a stray `]` that strict regex engines reject when meta-validating the
/// schema; it is replaced by the intended `(-[a-zA-Z]{2})?`. Nothing else changes.
pub fn sarif_schema() -> serde_json::Value {
    let text = SARIF_SCHEMA.replace("-[a-zA-Z]{2}]?$", "(-[a-zA-Z]{2})?$");
    serde_json::from_str(&text).expect("the bundled SARIF schema is JSON")
}

/// An output format of `bylaw check`: the public name of an [`Emitter`]
/// ([`Format::emitter`]). Each variant's emitter stands at the variant's
/// position in [`EMITTERS`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Text,
    Json,
    Sarif,
    Junit,
    Markdown,
    /// GitLab Code Quality (`artifacts:reports:codequality`).
    Codequality,
}

impl Format {
    /// The names accepted by `--format`, in help order: the
    /// [`Emitter::name`] of each of [`EMITTERS`] (a constant for clap and
    /// messages; a test checks it follows the registry).
    pub const NAMES: &'static [&'static str] = &["text", "json", "sarif", "junit", "markdown", "codequality"];

    /// The name `--format` takes ([`Emitter::name`]).
    pub fn name(self) -> &'static str {
        self.emitter().name()
    }
}

/// `FromStr` error: the name is not one of [`Format::NAMES`] (nor an alias).
#[derive(Debug, thiserror::Error)]
#[error("unknown format `{0}`: expected one of {names}", names = Format::NAMES.join(", "))]
pub struct UnknownFormat(pub String);

impl FromStr for Format {
    type Err = UnknownFormat;
    /// A name or alias of one of [`EMITTERS`] (`markdown` or `md`), exactly.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        EMITTERS
            .iter()
            .find(|e| e.name() == s || e.aliases().contains(&s))
            .map(|e| e.format())
            .ok_or_else(|| UnknownFormat(s.to_string()))
    }
}

/// Options shared by the emitters.
#[derive(Clone, Debug)]
pub struct RenderOptions {
    /// ANSI colours in the text format (the caller decides: only on a TTY).
    pub color: bool,
    /// SARIF `runAutomationDetails.id` category (`bylaw` when `None`); the
    /// emitted id is `CATEGORY/` so code scanning keeps one analysis per category.
    pub automation_category: Option<String>,
    /// The `uriBaseId` of every SARIF location (`%SRCROOT%` by default).
    pub base_uri_id: String,
    /// At most this many findings are listed one by one in the text and
    /// Markdown formats, in report order; the rest are counted in a `… N
    /// more findings` line (every finding stays in JSON, SARIF, JUnit and
    /// Code Quality). `None`: text lists all of them and Markdown its
    /// default of [`markdown::MAX_FINDINGS`]. `bylaw check` passes 200.
    pub max_findings: Option<usize>,
    /// Text format: only the counts, the verdict and the skipped files.
    pub quiet: bool,
    /// Markdown format: URL prefix of links to a finding's file, e.g.
    /// `https://github.com/OWNER/REPO/blob/SHA/`; the link is this prefix,
    /// the path percent-encoded ([`percent_encode_path`]) and `#LLINE`.
    /// `None`: locations are shown as code, unlinked.
    pub link_base: Option<String>,
}

impl Default for RenderOptions {
    /// No colour, category `bylaw`, `%SRCROOT%`, every finding, not quiet, no links.
    fn default() -> Self {
        RenderOptions {
            color: false,
            automation_category: None,
            base_uri_id: SRCROOT.to_string(),
            max_findings: None,
            quiet: false,
            link_base: None,
        }
    }
}

/// Errors while rendering or writing a report.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot serialise the report as JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("cannot serialise JUnit XML: {0}")]
    Junit(#[from] quick_junit::SerializeError),
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

/// Renders `report` in `format`. The result ends with a newline.
pub fn render(format: Format, report: &Report, opts: &RenderOptions) -> Result<String, Error> {
    let mut out = Vec::new();
    render_to(format, report, opts, &mut out).map_err(|e| Error::Io { path: "<memory>".into(), source: e })?;
    // every emitter writes UTF-8 (serde_json, and the String-based renderers)
    Ok(String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()))
}

/// Renders `report` in `format` into `out`, ending with a newline. The JSON
/// formats (JSON report, SARIF, Code Quality) are serialised straight into
/// the writer, never held whole in memory, so the cost of a report is the
/// findings already held plus a write buffer (DESIGN §10). Errors: the
/// writer's, or serialisation errors as `io::Error`.
pub fn render_to(format: Format, report: &Report, opts: &RenderOptions, out: &mut dyn Write) -> std::io::Result<()> {
    format.emitter().render(report, opts, out)
}

/// Pretty JSON of `value` into `out` with a final newline, through
/// [`SafeFormatter`].
pub fn write_json<T: serde::Serialize + ?Sized>(out: &mut dyn Write, value: &T) -> std::io::Result<()> {
    let mut ser = serde_json::Serializer::with_formatter(&mut *out, SafeFormatter::default());
    value.serialize(&mut ser).map_err(std::io::Error::from)?;
    out.write_all(b"\n")
}

/// `format` for a run that stopped before evaluating (exit 2: policy,
/// config or exception errors), describing why from the problems reported:
/// every format a run can write, so no requested artifact is missing or left
/// over from an earlier run (DESIGN §7). SARIF ([`failure_sarif`]), JUnit
/// ([`failure_junit`]), the JSON report with verdict `error` and its
/// located `errors` ([`failure_report`]), Code Quality (a `blocker` issue
/// per located error, see [`codequality::failure_codequality`]), Markdown
/// and text (the list).
pub fn render_failure(
    format: Format,
    diags: &[bylaw_engine::diagnostic::Diagnostic],
    fail_on: bylaw_engine::report::FailOn,
    opts: &RenderOptions,
) -> Result<String, Error> {
    format.emitter().render_failure(diags, fail_on, opts)
}

/// `value` as [`write_json`] writes it.
pub(crate) fn json<T: serde::Serialize>(value: &T) -> Result<String, Error> {
    let mut out = Vec::new();
    write_json(&mut out, value)
        .map(|_| String::from_utf8_lossy(&out).into_owned())
        .map_err(|e| Error::Io { path: "<memory>".into(), source: e })
}

/// serde_json's pretty printer, except for string contents: serde_json
/// escapes C0 controls but writes C1 controls (U+0080–U+009F, some
/// terminals' CSI), line separators and bidi controls as they are; in JSON
/// text they can only stand inside strings, where `\uXXXX` means the same
/// (RFC 8259 §7), so they are written escaped: the JSON is unchanged for a
/// parser and inert on a terminal.
#[derive(Default)]
pub struct SafeFormatter<'a> {
    pretty: serde_json::ser::PrettyFormatter<'a>,
}

fn risky(c: char) -> bool {
    matches!(c, '\u{80}'..='\u{9f}' | '\u{2028}' | '\u{2029}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

impl serde_json::ser::Formatter for SafeFormatter<'_> {
    fn write_string_fragment<W: ?Sized + Write>(&mut self, w: &mut W, fragment: &str) -> std::io::Result<()> {
        if fragment.is_ascii() {
            return w.write_all(fragment.as_bytes());
        }
        let mut rest = fragment;
        while let Some((i, c)) = rest.char_indices().find(|&(_, c)| risky(c)) {
            w.write_all(&rest.as_bytes()[..i])?;
            write!(w, "\\u{:04x}", c as u32)?;
            rest = &rest[i + c.len_utf8()..];
        }
        w.write_all(rest.as_bytes())
    }
    fn begin_array<W: ?Sized + Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.pretty.begin_array(w)
    }
    fn end_array<W: ?Sized + Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.pretty.end_array(w)
    }
    fn begin_array_value<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> std::io::Result<()> {
        self.pretty.begin_array_value(w, first)
    }
    fn end_array_value<W: ?Sized + Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.pretty.end_array_value(w)
    }
    fn begin_object<W: ?Sized + Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.pretty.begin_object(w)
    }
    fn end_object<W: ?Sized + Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.pretty.end_object(w)
    }
    fn begin_object_key<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> std::io::Result<()> {
        self.pretty.begin_object_key(w, first)
    }
    fn begin_object_value<W: ?Sized + Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.pretty.begin_object_value(w)
    }
    fn end_object_value<W: ?Sized + Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.pretty.end_object_value(w)
    }
}

/// Writes `bytes` to `path` atomically: a temporary file in the same
/// directory (created if needed), flushed and synced, then renamed over
/// `path`. Readers never see a half-written artifact. A symlink is written
/// through to its target, a character device (`/dev/null`, a terminal) is
/// written in place, and a FIFO, socket, block device or directory is refused
/// with an error: nothing that is not a regular file is ever replaced.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    write_through(path, &mut |w| w.write_all(bytes), 0)
}

/// [`write_atomic`] with the content produced by `write` into a buffered
/// writer (a report rendered with [`render_to`] never exists whole in memory).
pub fn write_atomic_with(
    path: &Path,
    write: &mut dyn FnMut(&mut dyn Write) -> std::io::Result<()>,
) -> Result<(), Error> {
    write_through(path, write, 0)
}

/// Symlinks followed at most (as the kernel's own limit, `ELOOP`).
const MAX_LINKS: usize = 40;

fn write_through(
    path: &Path,
    write: &mut dyn FnMut(&mut dyn Write) -> std::io::Result<()>,
    links: usize,
) -> Result<(), Error> {
    let io = |source| Error::Io { path: path.display().to_string(), source };
    // Never replace what is not a regular file: a symlink is written through
    // to its target, a character device (`/dev/null`, `/dev/stdout`) is
    // written to in place, a FIFO, socket, block device or directory is
    // refused (DESIGN §7: artifacts never replace a device node, FIFO or symlink).
    // What the path leads to (through links): a device or a pipe is written
    // in place — `/dev/null`, a terminal, or `/dev/stdout` when it is a pipe —
    // and a named FIFO elsewhere is refused, as opening it could wait forever.
    if let Ok(meta) = std::fs::metadata(path) {
        let kind = meta.file_type();
        let special = !kind.is_file() && !kind.is_dir();
        let system = path.starts_with("/dev") || path.starts_with("/proc");
        if special && (is_char_device(&kind) || system) {
            let f = std::fs::OpenOptions::new().write(true).open(path).map_err(io)?;
            let mut w = std::io::BufWriter::with_capacity(1 << 16, f);
            return write(&mut w).and_then(|_| w.flush()).map_err(io);
        }
    }
    if let Ok(meta) = std::fs::symlink_metadata(path) {
        let kind = meta.file_type();
        if kind.is_symlink() {
            let target = match std::fs::canonicalize(path) {
                Ok(t) => t,
                // a dangling link: create its target
                Err(_) => {
                    let link = std::fs::read_link(path).map_err(io)?;
                    match path.parent() {
                        Some(dir) if link.is_relative() => dir.join(link),
                        _ => link,
                    }
                }
            };
            if target == path || links >= MAX_LINKS {
                return Err(io(std::io::Error::other("too many levels of symbolic links")));
            }
            return write_through(&target, write, links + 1);
        }
        if !kind.is_file() {
            let what = bylaw_engine::paths::why_not_read(path);
            return Err(io(std::io::Error::other(format!("{what}: refusing to replace it"))));
        }
    }
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    };
    std::fs::create_dir_all(&dir).map_err(io)?;
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let result = (|| {
        let mut w = std::io::BufWriter::with_capacity(1 << 16, std::fs::File::create(&tmp)?);
        write(&mut w)?;
        let f = w.into_inner().map_err(|e| e.into_error())?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.map_err(io)
}

#[cfg(unix)]
fn is_char_device(kind: &std::fs::FileType) -> bool {
    std::os::unix::fs::FileTypeExt::is_char_device(kind)
}

#[cfg(not(unix))]
fn is_char_device(_: &std::fs::FileType) -> bool {
    false
}

/// `path:line:col` of a finding, as editors and terminals link it.
pub(crate) fn position(f: &bylaw_engine::report::Finding) -> String {
    format!("{}:{}:{}", f.location.path, f.location.start_line, f.location.start_column)
}

#[cfg(test)]
mod tests;
