//! Policy languages behind one interface, [`PolicyLanguage`], and its one
//! registry, [`LANGUAGES`]: CEL ([`cel`]) for YAML policies, Rego ([`rego`])
//! for `.rego` modules.
//!
//! A language does two things: it **compiles** a policy's conditions into
//! a program (held by [`CompiledPolicy::program`], private to the language)
//! and it **evaluates** programs on a document, reporting *raw findings*
//! ([`RawFinding`]): which rule, at which `each` element, and either the
//! bindings its message is rendered with or an evaluation error. Everything
//! after that is one shared step in [`crate::eval`], the same for every
//! language: the finding is located (the `at` path, else the element, else
//! the document, turned into a span by the document's path→span lookup),
//! its message interpolated ([`crate::compile::Part`]: text, fields read
//! from the document, expressions asked of the [`Bindings`]), its
//! enforcement, severity, notes, resource and fingerprint filled in from
//! the compiled rule, and errors made `bylaw/eval-error` findings. What is
//! language-neutral in a policy (metadata, `match.files`/`kinds`, `each`
//! and `at` paths, enforcement after environments, lifecycle and dates) is
//! compiled once in [`crate::compile`] for every language.
//!
//! # Adding a policy language
//!
//! 1. A module under `src/language/` (as [`cel`]) with a unit struct
//!    implementing [`PolicyLanguage`]:
//!    - **compile**: [`PolicyLanguage::compiler`] returns a
//!      [`ConditionCompiler`] for one policy, asked in file order for the
//!      policy's filter, each rule's condition and each `{{ }}` of its
//!      messages; errors go to the [`Compiler`]'s diagnostics, located by
//!      its pointer→span lookup. [`ConditionCompiler::finish`] returns the
//!      program. A language whose policies are files of its own (`.rego`
//!      modules) builds [`CompiledPolicy`] values from them with the same
//!      neutral parts and its program.
//!    - **evaluate**: [`PolicyLanguage::start`] makes the run-wide state (the
//!      pipeline context in the language's own values, converted once);
//!      [`LanguageRun::evaluate`] is called once per document with the
//!      language's applicable policies, so per-document work (converting
//!      the document) is done once for all of them, and reports
//!      [`Event`]s. Missing data is the language's to define (DESIGN §3:
//!      false for a CEL string); any other failure is an
//!      [`Outcome::Error`], never a silent pass.
//! 2. One entry in [`LANGUAGES`], and the policies that name it
//!    ([`language_of`]).
//! 3. Tests: compile diagnostics located at the expression (snapshots of
//!    `bylaw validate`), each missing-data and error case, and end-to-end
//!    findings at the right line in `crates/bylaw-engine/tests/` and the
//!    CLI's output snapshots; the benchmark (bench/) with a twin of its
//!    policy in the language.

pub mod cel;
pub mod rego;

use crate::compile::{CompiledPolicy, Compiler, FieldPath};
use crate::loader::LoadedPolicy;
use crate::node::{Node, Segment};
use crate::policy::Condition;
use std::sync::OnceLock;

/// A policy language: compiles policies' conditions and evaluates them.
/// Implementations are unit structs listed in [`LANGUAGES`].
pub trait PolicyLanguage: Send + Sync {
    /// The language's name (`cel`), as [`CompiledPolicy::language`] holds it.
    fn name(&self) -> &'static str;

    /// A compiler of `policy`'s conditions, used for that policy only.
    fn compiler<'a>(&'a self, policy: &'a LoadedPolicy) -> Box<dyn ConditionCompiler + 'a>;

    /// The state of one run, made once before any document is evaluated:
    /// `ctx` is the pipeline context (DESIGN §6) as JSON; `files` are the
    /// run's files (Gatekeeper's `data.inventory` is made of them).
    fn start(&self, ctx: &serde_json::Value, files: &[crate::eval::FileRef]) -> Box<dyn LanguageRun>;
}

/// Compiles the conditions of one policy, in the order they are written
/// (diagnostics come out in file order): the filter, then for each rule its
/// condition, then the expressions of its message.
pub trait ConditionCompiler {
    /// The policy's `match.when` filter at `pointer`: `false` when it does
    /// not compile (the diagnostics say why).
    fn filter(&mut self, c: &mut Compiler<'_>, source: &str, pointer: &str) -> bool;

    /// A rule's condition at `pointer`: violated when it holds (`deny`) or
    /// when it does not (`require`). `has_item`: the rule has `each`. The
    /// handle the program knows it by ([`crate::compile::CompiledRule::condition`]),
    /// or `None` when it does not compile.
    fn condition(
        &mut self,
        c: &mut Compiler<'_>,
        cond: &Condition,
        deny: bool,
        pointer: &str,
        has_item: bool,
    ) -> Option<usize>;

    /// An expression between `{{ }}` in a rule's message at `pointer`,
    /// which [`Bindings::write`] will be asked for by the returned
    /// [`Expression::index`]; `None` when it does not compile.
    fn expression(&mut self, c: &mut Compiler<'_>, source: &str, pointer: &str, has_item: bool) -> Option<Expression>;

    /// The compiled program of the policy, given back to the language's
    /// [`LanguageRun::evaluate`] with the policy.
    fn finish(self: Box<Self>) -> Box<dyn std::any::Any + Send + Sync>;
}

/// A message expression as compiled by its language.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Expression {
    /// The handle [`Bindings::write`] takes.
    pub index: usize,
    /// When the expression only selects fields of `doc` or `item`
    /// (`doc.metadata.name`), the path: the shared step reads a string,
    /// integer, bool or null there from the document without asking the
    /// language (the result is the same).
    pub field: Option<FieldPath>,
}

/// One run of a language over documents (and the pipeline context).
pub trait LanguageRun: Send + Sync {
    /// Evaluates `policies` (those of this language that apply to `doc` by
    /// file and kind; the index is the policy's in the set) on `doc`, and
    /// reports through `sink`, synchronously, in any order.
    fn evaluate<'p>(
        &self,
        doc: &Document<'_>,
        policies: &mut dyn Iterator<Item = (usize, &'p CompiledPolicy)>,
        sink: &mut dyn FnMut(Event<'_>),
    );
}

/// A document to evaluate, with what policies may read of its file.
pub struct Document<'a> {
    /// The file's display path (`file.path`), or the pipeline target.
    pub path: &'a str,
    /// The file's format as policies see it (`file.format`), or `pipeline`.
    pub format: &'a str,
    /// The document's file type (`file.type`, [`crate::input::InputFormat::document_type`]),
    /// or `pipeline`.
    pub file_type: &'a str,
    /// The document: a file's document, or the pipeline context.
    pub node: &'a Node,
    /// The document as JSON, made on first use (JSONPath beyond the native
    /// subset) and shared by every language and rule.
    pub json: &'a OnceLock<serde_json::Value>,
}

/// What evaluating policies on a document produced.
pub enum Event<'a> {
    /// The policy of this index applied to the document (its filter, if
    /// any, held): it counts as evaluated there.
    Applied(usize),
    /// The filter of `policy` could not be evaluated (`message` says why):
    /// the policy did not apply, and the failure is reported.
    FilterFailed { policy: usize, message: String },
    /// A rule fired, or could not be evaluated.
    Finding(RawFinding<'a>),
}

/// A rule's finding before it is located, interpolated and enforced.
pub struct RawFinding<'a> {
    /// Index of the policy in the set.
    pub policy: usize,
    /// Index of the rule in [`CompiledPolicy::rules`].
    pub rule: usize,
    /// Segments from the document root of the `each` element the finding is
    /// about; `None` for a rule without `each` (the whole document).
    pub item: Option<&'a [Segment]>,
    pub outcome: Outcome<'a>,
    /// Why the finding is excepted by the policy itself (Rego's `exception`
    /// rules): it is reported, but does not fail the run.
    pub excepted: Option<String>,
    /// A finding of a policy evaluated once on every file (Rego with
    /// `--combine`) is about one of the files: where, instead of the
    /// document evaluated (`item` is then ignored).
    pub elsewhere: Option<Elsewhere>,
}

/// Where a finding is when it is not in the document evaluated.
pub struct Elsewhere {
    /// The file's display path.
    pub path: String,
    /// Index of the document in the file.
    pub document: Option<u32>,
    /// The node's span in the file, and its JSON pointer in the document.
    pub span: crate::node::Span,
    pub pointer: String,
}

/// Whether a rule fired or failed.
pub enum Outcome<'a> {
    /// The rule is violated; its message is rendered with these bindings.
    Violation(&'a dyn Bindings),
    /// The rule could not be evaluated (not missing data: a type error, an
    /// invalid regular expression, …): why, naming the expression.
    Error(String),
}

/// The values a violation was found with, for its message.
pub trait Bindings {
    /// Appends the value of message expression `expr` ([`Expression::index`])
    /// to `out` as text (strings as they are, other values as JSON):
    /// `Ok(false)`, with nothing appended, when the data is missing;
    /// `Err` with the language's error otherwise.
    fn write(&self, expr: usize, out: &mut String) -> Result<bool, String>;
}

/// Every policy language.
pub static LANGUAGES: &[&dyn PolicyLanguage] = &[&cel::CelLanguage, &rego::RegoLanguage];

/// The language named `name` (`cel`).
pub fn named(name: &str) -> Option<&'static dyn PolicyLanguage> {
    LANGUAGES.iter().copied().find(|l| l.name() == name)
}

/// The language of a loaded policy's conditions: YAML policies write them
/// in CEL (DESIGN §3). Rego modules are not loaded as [`LoadedPolicy`]
/// values: [`rego::compile`] makes their policies.
pub fn language_of(_policy: &LoadedPolicy) -> &'static dyn PolicyLanguage {
    &cel::CelLanguage
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_language_is_found_by_its_unique_name() {
        for l in LANGUAGES {
            assert!(named(l.name()).is_some_and(|found| std::ptr::addr_eq(found, *l)), "{}", l.name());
        }
        let mut names: Vec<&str> = LANGUAGES.iter().map(|l| l.name()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), LANGUAGES.len());
        assert!(named("rego").is_some());
    }
}
