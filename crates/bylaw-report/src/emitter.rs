//! The emitter interface and its one registry, [`EMITTERS`].
//!
//! An emitter turns a [`Report`] (or, for a run that stopped with exit 2,
//! the diagnostics that stopped it) into one output format. It reads
//! nothing but what it is given: every command and CI adapter gets the same
//! bytes from the same run.
//!
//! # Adding an emitter
//!
//! 1. One file in this crate (`src/NAME.rs`, as `sarif.rs`) with a unit
//!    struct implementing [`Emitter`]: its name (and aliases) for
//!    `--format`, whether it is [machine-readable](Emitter::machine_readable),
//!    how it renders a report (streamed into a writer: a report can hold
//!    100,000 findings, which the JSON formats serialize in parallel blocks
//!    through `splice.rs`) and how it renders a failed run (DESIGN §7: every
//!    requested artifact is written even then, describing the failure).
//! 2. A variant of [`Format`] and the emitter at the same position in
//!    [`EMITTERS`]; its name in [`Format::NAMES`] (a test checks the three
//!    agree).
//! 3. Tests: a snapshot of the emitter's output for the shared sample
//!    report (`src/tests.rs`, `insta`), a structural check when the format
//!    has a schema or a parser (SARIF against its schema, JUnit parsed
//!    back), a failed run (`a_failed_run_writes_every_format…`), and the
//!    format's name in `FORMATS` of `crates/bylaw-cli/tests/outputs.rs`, which
//!    snapshots what the CLI prints for the examples in every format.
//!
//! Nothing else changes: [`crate::render_to`], [`crate::render_failure`],
//! name parsing and the CLI's `--format FORMAT[=FILE]` go through the
//! registry.

use crate::{Error, Format, RenderOptions};
use bylaw_engine::diagnostic::Diagnostic;
use bylaw_engine::report::{FailOn, Report};
use std::io::Write;

/// One output format of a [`Report`].
pub trait Emitter: Sync {
    /// The [`Format`] this emitter writes; it stands at that variant's
    /// position in [`EMITTERS`].
    fn format(&self) -> Format;

    /// The name `--format` takes and outputs are known by (`sarif`).
    fn name(&self) -> &'static str;

    /// Other names `--format` accepts for it (`md` for `markdown`).
    fn aliases(&self) -> &'static [&'static str] {
        &[]
    }

    /// Whether the output is a document another program reads (JSON, SARIF,
    /// JUnit, Code Quality, and Markdown for job summaries and comments)
    /// rather than text for the terminal. A run that fails before
    /// evaluating prints its errors on stderr; on stdout, a machine-readable
    /// format still gets a document describing the failure.
    fn machine_readable(&self) -> bool {
        true
    }

    /// Writes `report` into `out`, ending with a newline. Errors: the
    /// writer's, or serialisation errors as `io::Error`.
    fn render(&self, report: &Report, opts: &RenderOptions, out: &mut dyn Write) -> std::io::Result<()>;

    /// The output of a run that stopped before evaluating (exit 2), from
    /// the problems reported (`diags`, in order), so that no requested
    /// artifact is missing or left over from an earlier run (DESIGN §7).
    fn render_failure(&self, diags: &[Diagnostic], fail_on: FailOn, opts: &RenderOptions) -> Result<String, Error>;
}

/// Every emitter, in the order of [`Format`]'s variants (and of
/// [`Format::NAMES`], the order of `--help`).
pub static EMITTERS: &[&dyn Emitter] = &[
    &crate::text::Text,
    &crate::json::Json,
    &crate::sarif::Sarif,
    &crate::junit::Junit,
    &crate::markdown::Markdown,
    &crate::codequality::Codequality,
];

impl Format {
    /// The emitter of this format.
    pub fn emitter(self) -> &'static dyn Emitter {
        EMITTERS[self as usize]
    }

    /// Every format, in [`Format::NAMES`] order.
    pub fn all() -> impl Iterator<Item = Format> {
        EMITTERS.iter().map(|e| e.format())
    }

    /// Whether the output is a document for another program, not text for
    /// the terminal (see [`Emitter::machine_readable`]).
    pub fn machine_readable(self) -> bool {
        self.emitter().machine_readable()
    }
}

/// Writes `text` into `out`, with a final newline when it has none: the
/// ending of every text-built format.
pub(crate) fn write_text(out: &mut dyn Write, text: &str) -> std::io::Result<()> {
    out.write_all(text.as_bytes())?;
    if !text.ends_with('\n') {
        out.write_all(b"\n")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_format_has_its_emitter_at_its_position_and_name() {
        assert_eq!(EMITTERS.len(), Format::NAMES.len());
        for (i, e) in EMITTERS.iter().enumerate() {
            assert_eq!(e.format() as usize, i, "{} stands at the position of its Format", e.name());
            assert_eq!(Format::NAMES[i], e.name(), "Format::NAMES follows the registry");
            assert_eq!(e.format().name(), e.name());
            assert_eq!(e.name().parse::<Format>().ok(), Some(e.format()));
            for alias in e.aliases() {
                assert_eq!(alias.parse::<Format>().ok(), Some(e.format()), "{alias}");
            }
        }
        let mut names: Vec<&str> =
            EMITTERS.iter().flat_map(|e| std::iter::once(e.name()).chain(e.aliases().iter().copied())).collect();
        let count = names.len();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), count, "names and aliases are unique");
    }

    #[test]
    fn only_text_is_for_the_terminal() {
        let terminal: Vec<&str> = Format::all().filter(|f| !f.machine_readable()).map(Format::name).collect();
        assert_eq!(terminal, ["text"]);
    }
}
