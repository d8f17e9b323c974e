//! Diagnostics for a user's mistakes in policies and config: file, line,
//! column, the offending snippet, secondary places that explain it
//! ([`Label`]: "first defined here"), what was expected and a hint —
//! rendered the way rustc and cargo-deny answer. Start from [`Diagnostic`]
//! and [`Code`].
//!
//! Shape of a rendered diagnostic ([`Diagnostic::render`]):
//!
//! ```text
//! error[duplicate-id]: duplicate rule id `R-1`
//!  --> p.yaml:9:11
//!   |
//! 4 |     - id: R-1
//!   |           --- first defined here
//! ...
//! 9 |     - id: R-1
//!   |           ^^^
//!   |
//!   = hint: rule ids must be unique
//! ```
//!
//! The first line and the ` --> file:line:col` line (1-based line and
//! column, counted in characters) are a contract: editors and CI log
//! parsers match them. A diagnostic without a file is the title and its
//! hint; one whose file's text is not at hand (or whose span does not fall
//! in it) is the title, ` --> file:line:col` and its notes and hint.
//!
//! **Renderer.** Snippets are laid out by `annotate-snippets` (0.12), the
//! renderer rustc and cargo use, rather than by hand: it is maintained by
//! the Rust project, its output is the shape Rust users read every day,
//! and it handles what a hand renderer gets wrong (several underlines on a
//! line, labels in other files, folding the lines between two places, long
//! lines cut around the underline, wide characters, tabs). It is light: two
//! small dependencies (`anstyle`, already in the tree, and `unicode-width`),
//! about 2 s of a clean debug build on 2 cores. Colour is one switch
//! (`Renderer::styled` / `plain`): no terminal detection of its own, so
//! the caller's `color` decides. `codespan-reporting` wants byte offsets
//! into a file database and writes through `termcolor`; `miette` brings a
//! whole error-reporting framework (derives, a global hook, fancy Unicode
//! output, more dependencies) for what is here a pure function from a
//! diagnostic and some text to a string.
//!
//! Text from the user (messages, hints, file names, labels) goes through
//! [`display_safe`]; source lines have each unsafe character replaced by
//! one visible character instead, so that columns stay true
//! (annotate-snippets replaces only part of that set itself).
//!
//! Also home of [`display_safe`], the one escaping of input-derived text
//! before it reaches a terminal or a CI log: it lives in the engine because
//! diagnostics need it and the engine cannot depend on `bylaw-report`
//! (which re-exports it as `bylaw_report::display_safe`).

use crate::input::SyntaxError;
use crate::node::Span;
use serde::Serialize;
use std::borrow::Cow;
use std::fmt::Write as _;

/// Whether `c` must not reach a terminal or a CI log raw: C0 controls
/// except TAB (so also LF, CR and ESC), DEL, C1 controls (U+0080–U+009F),
/// the line and paragraph separators U+2028/U+2029 and the bidirectional
/// controls U+202A–U+202E and U+2066–U+2069 ("Trojan Source", CVE-2021-42574).
fn unsafe_char(c: char) -> bool {
    matches!(c,
        '\0'..='\u{8}' | '\u{a}'..='\u{1f}' | '\u{7f}'..='\u{9f}'
        | '\u{2028}' | '\u{2029}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// Whether a UTF-8 byte may start an unsafe character: an ASCII control,
/// DEL, or the lead byte of C1 controls (0xC2) or of U+2028–U+2069 (0xE2).
/// A string without such bytes is returned borrowed without decoding it.
fn suspect_byte(b: u8) -> bool {
    (b < 0x20 && b != b'\t') || b == 0x7f || b == 0xc2 || b == 0xe2
}

/// `s` with every character that could drive a terminal or a CI log made
/// visible instead: `\n` → the two characters `\n`, `\r` → `\r`, every
/// other control (ESC, NUL, DEL, C1), U+2028/U+2029 and the bidi controls →
/// `\u{1b}`-style Rust escapes. TAB and everything else (backslashes
/// included) stay as they are. So one input value stays on one line: a
/// message holding `\n::stop-commands::x` or `\x1b[31m` cannot start a
/// GitHub/Azure workflow command or recolour the terminal.
///
/// Borrows when nothing needs escaping (the common case, checked bytewise).
pub fn display_safe(s: &str) -> Cow<'_, str> {
    if !s.bytes().any(suspect_byte) || !s.chars().any(unsafe_char) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        push_escaped(&mut out, c);
    }
    Cow::Owned(out)
}

fn push_escaped(out: &mut String, c: char) {
    match c {
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        c if unsafe_char(c) => {
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        }
        c => out.push(c),
    }
}

/// How serious a diagnostic is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Warning,
    Error,
}

/// The category of a [`Diagnostic`]: shown as `error[CODE]`, the SARIF
/// notification's `bylaw/validate/CODE`, Code Quality's `bylaw/CODE` and the
/// JSON report's `errors[].code`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Code {
    /// `yaml`: A file is not valid YAML (or JSON): a syntax error, a duplicate key, a limit of the reader.
    Yaml,
    /// `schema`: A policy, config, exception list or policy test does not have the shape its JSON Schema requires (`bylaw schema …`).
    Schema,
    /// `cel`: A CEL expression does not parse, uses an unknown variable or function, or has a constant part that fails whatever the input.
    Cel,
    /// `jsonpath`: A JSONPath (`each`, `at`) does not parse (RFC 9535), nests too deep, or holds an invalid constant regular expression.
    JsonPath,
    /// `glob`: A file glob (`match.files`, `targets`, an exception's `paths`) is invalid.
    Glob,
    /// `duplicate-id`: Two policies, rules or exceptions share an id.
    DuplicateId,
    /// `io`: A file cannot be read: missing, not a regular file, too large, not UTF-8.
    Io,
    /// `extends`: A policy's `extends` names nothing, loops, or cannot be merged.
    Extends,
    /// `rule`: A rule is incomplete or contradictory (no `deny`/`require`, both, an unknown field).
    Rule,
    /// `lint`: A policy is valid but likely wrong (a rule that can never fire, an unused parameter).
    Lint,
    /// `params`: A policy's parameters do not match what its rules use, or a value has the wrong type.
    Params,
    /// `exception`: An exception is invalid: no expiry or approval where the policy requires one, an unknown rule.
    Exception,
    /// `constant`: A condition is constant: it is always or never true whatever the input.
    Constant,
    /// `unknown-policy`: A policy test names a policy that is not loaded.
    UnknownPolicy,
    /// `unknown-rule`: A reference names a rule that no loaded policy has.
    UnknownRule,
    /// `usage`: The command line is invalid (flags, values, paths, report files).
    Usage,
    /// `summary`: The closing line of a failed run (how many errors, nothing evaluated); not a problem of its own.
    Summary,
    /// `message`: A rule's message template is invalid (`{{ }}` unclosed or not CEL).
    Message,
    /// `at`: A rule's `at` path is invalid.
    At,
    /// `conflict`: Two policies or settings contradict each other.
    Conflict,
    /// `rego`: A Rego module does not parse or compile, a data file cannot be merged into `data`, or a METADATA annotation is invalid.
    Rego,
}

impl Code {
    /// Every code, in the order above.
    pub const ALL: &'static [Code] = &[
        Code::Yaml,
        Code::Schema,
        Code::Cel,
        Code::JsonPath,
        Code::Glob,
        Code::DuplicateId,
        Code::Io,
        Code::Extends,
        Code::Rule,
        Code::Lint,
        Code::Params,
        Code::Exception,
        Code::Constant,
        Code::UnknownPolicy,
        Code::UnknownRule,
        Code::Usage,
        Code::Summary,
        Code::Message,
        Code::At,
        Code::Conflict,
        Code::Rego,
    ];

    /// The code as written in outputs.
    pub fn as_str(self) -> &'static str {
        match self {
            Code::Yaml => "yaml",
            Code::Schema => "schema",
            Code::Cel => "cel",
            Code::JsonPath => "jsonpath",
            Code::Glob => "glob",
            Code::DuplicateId => "duplicate-id",
            Code::Io => "io",
            Code::Extends => "extends",
            Code::Rule => "rule",
            Code::Lint => "lint",
            Code::Params => "params",
            Code::Exception => "exception",
            Code::Constant => "constant",
            Code::UnknownPolicy => "unknown-policy",
            Code::UnknownRule => "unknown-rule",
            Code::Usage => "usage",
            Code::Summary => "summary",
            Code::Message => "message",
            Code::At => "at",
            Code::Conflict => "conflict",
            Code::Rego => "rego",
        }
    }

    /// What the code means (for documentation and `--help`-like listings).
    pub fn description(self) -> &'static str {
        match self {
            Code::Yaml => "A file is not valid YAML (or JSON): a syntax error, a duplicate key, a limit of the reader.",
            Code::Schema => "A policy, config, exception list or policy test does not have the shape its JSON Schema requires (`bylaw schema …`).",
            Code::Cel => "A CEL expression does not parse, uses an unknown variable or function, or has a constant part that fails whatever the input.",
            Code::JsonPath => "A JSONPath (`each`, `at`) does not parse (RFC 9535), nests too deep, or holds an invalid constant regular expression.",
            Code::Glob => "A file glob (`match.files`, `targets`, an exception's `paths`) is invalid.",
            Code::DuplicateId => "Two policies, rules or exceptions share an id.",
            Code::Io => "A file cannot be read: missing, not a regular file, too large, not UTF-8.",
            Code::Extends => "A policy's `extends` names nothing, loops, or cannot be merged.",
            Code::Rule => "A rule is incomplete or contradictory (no `deny`/`require`, both, an unknown field).",
            Code::Lint => "A policy is valid but likely wrong (a rule that can never fire, an unused parameter).",
            Code::Params => "A policy's parameters do not match what its rules use, or a value has the wrong type.",
            Code::Exception => "An exception is invalid: no expiry or approval where the policy requires one, an unknown rule.",
            Code::Constant => "A condition is constant: it is always or never true whatever the input.",
            Code::UnknownPolicy => "A policy test names a policy that is not loaded.",
            Code::UnknownRule => "A reference names a rule that no loaded policy has.",
            Code::Usage => "The command line is invalid (flags, values, paths, report files).",
            Code::Summary => "The closing line of a failed run (how many errors, nothing evaluated); not a problem of its own.",
            Code::Message => "A rule's message template is invalid (`{{ }}` unclosed or not CEL).",
            Code::At => "A rule's `at` path is invalid.",
            Code::Conflict => "Two policies or settings contradict each other.",
            Code::Rego => "A Rego module does not parse or compile, a data file cannot be merged into `data`, or a METADATA annotation is invalid.",
        }
    }
}

impl std::fmt::Display for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Code {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// A second place that explains a [`Diagnostic`]: where a duplicated id
/// was first defined, the rule a condition contradicts, the `extends`
/// entry that closes a cycle. Shown under the snippet as a `-` underline
/// with its message (in its own snippet, `::: file:line:col`, when it is
/// in another file), or as a `= note: file:line:col: message` line when
/// its file's text is not at hand.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Label {
    /// The file it points into, as the diagnostic names files (may be the
    /// diagnostic's own).
    pub file: String,
    pub span: Span,
    /// What this place is ("first defined here").
    pub message: String,
}

impl Label {
    /// `file:line:col`.
    pub fn location(&self) -> String {
        format!("{}:{}:{}", self.file, self.span.start_line, self.span.start_col)
    }
}

/// One problem found while loading or validating.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Diagnostic {
    pub level: Level,
    /// Its category ([`Code`]).
    pub code: Code,
    /// The file it is about; empty for a problem of the run itself (usage).
    pub file: String,
    pub span: Option<Span>,
    pub message: String,
    pub hint: Option<String>,
    /// Secondary places that explain this one ([`Label`]), in order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub labels: Vec<Label>,
}

impl Diagnostic {
    pub fn error(code: Code, file: impl Into<String>, span: Option<Span>, message: impl Into<String>) -> Self {
        Diagnostic {
            level: Level::Error,
            code,
            file: file.into(),
            span,
            message: message.into(),
            hint: None,
            labels: Vec::new(),
        }
    }

    pub fn warning(code: Code, file: impl Into<String>, span: Option<Span>, message: impl Into<String>) -> Self {
        Diagnostic { level: Level::Warning, ..Diagnostic::error(code, file, span, message) }
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// Adds a secondary [`Label`] at `span` of `file` (which may be this
    /// diagnostic's own file).
    pub fn with_label(mut self, file: impl Into<String>, span: Span, message: impl Into<String>) -> Self {
        self.labels.push(Label { file: file.into(), span, message: message.into() });
        self
    }

    /// The `yaml` diagnostic for syntax error `e` of `file` ("invalid YAML:
    /// …" at its position), with a "first defined here" label where `e` is
    /// a duplicate key.
    pub fn invalid_yaml(file: &str, e: &SyntaxError) -> Self {
        let d = Diagnostic::error(
            Code::Yaml,
            file,
            Some(Span::point(e.line, e.col)),
            format!("invalid YAML: {}", e.message),
        );
        match e.first {
            Some(first) => d.with_label(file, first, "first defined here"),
            None => d,
        }
    }

    /// `file:line:col` (or just `file`).
    pub fn location(&self) -> String {
        match self.span {
            Some(s) => format!("{}:{}:{}", self.file, s.start_line, s.start_col),
            None => self.file.clone(),
        }
    }

    /// Renders rustc-style (see the module docs for the shape): the title
    /// `error[code]: message`, ` --> file:line:col`, the source line with
    /// `^` under the span, the secondary labels and the hint. `source` is
    /// the text of the diagnostic's file when available; labels in other
    /// files are shown as notes (use [`Diagnostic::render_with`] to show
    /// their snippets). ANSI colours only when `color`.
    pub fn render(&self, source: Option<&str>, color: bool) -> String {
        self.render_with(|file| if file == self.file { source } else { None }, color)
    }

    /// [`Diagnostic::render`] with the text of any file the diagnostic or
    /// its labels name: `sources(file)` returns it when at hand.
    ///
    /// Input-derived text (message, hint, file names, label messages) is
    /// escaped with [`display_safe`]; in source lines each unsafe character
    /// is replaced by one visible character (`␛`, `�`), so that columns and
    /// underlines stay where the file has them.
    pub fn render_with<'s>(&self, sources: impl Fn(&str) -> Option<&'s str>, color: bool) -> String {
        render::render(self, &sources, color)
    }
}

/// Longest hint shown whole (characters); a longer one is cut with `…`.
const HINT_WIDTH: usize = 320;

/// The rendering of [`Diagnostic`]s on `annotate-snippets`.
mod render {
    use super::{display_safe, unsafe_char, Diagnostic, Level, Span, HINT_WIDTH};
    use annotate_snippets::renderer::DecorStyle;
    use annotate_snippets::{AnnotationKind, Group, Origin, Renderer, Snippet};
    use std::borrow::Cow;

    /// One underline to draw: the primary span (no message) or a label.
    struct Mark<'d> {
        span: Span,
        label: Option<&'d str>,
    }

    pub(super) fn render<'s>(d: &Diagnostic, sources: &dyn Fn(&str) -> Option<&'s str>, color: bool) -> String {
        let level = match d.level {
            Level::Error => annotate_snippets::Level::ERROR,
            Level::Warning => annotate_snippets::Level::WARNING,
        };
        let message = display_safe(&d.message);
        let file = display_safe(&d.file);
        let mut group = Group::with_title(level.primary_title(message).id(d.code.as_str()));
        // the notes for labels whose file's text is not at hand
        let mut notes: Vec<String> = Vec::new();
        // Without a snippet for the primary span, annotate-snippets puts
        // ` --> file` at column 0; it is indented by the width of the line
        // number (as a snippet's gutter would be) so that the line is the
        // same with or without the file's text.
        let mut indent = 0;
        let primary = (!d.file.is_empty())
            .then(|| d.span.and_then(|span| sources(&d.file).map(|src| (span, src))))
            .flatten()
            .and_then(|(span, src)| {
                let mut marks = vec![Mark { span, label: None }];
                let (here, elsewhere): (Vec<_>, Vec<_>) = d.labels.iter().partition(|l| l.file == d.file);
                for l in here {
                    if fits(src, l.span) {
                        marks.push(Mark { span: l.span, label: Some(&l.message) });
                    } else {
                        notes.push(note(&l.location(), &l.message));
                    }
                }
                let snippet = excerpt(src, &marks, true)?;
                Some((snippet, elsewhere))
            });
        match primary {
            Some((snippet, elsewhere)) => {
                group = group.element(snippet.path(file.clone()));
                for l in elsewhere {
                    let mark = [Mark { span: l.span, label: Some(&l.message) }];
                    match sources(&l.file).and_then(|src| excerpt(src, &mark, false)) {
                        Some(s) => group = group.element(s.path(display_safe(&l.file))),
                        None => notes.push(note(&l.location(), &l.message)),
                    }
                }
            }
            None => {
                if !d.file.is_empty() {
                    let origin = match d.span {
                        Some(s) => {
                            indent = digits(s.start_line);
                            Origin::path(file.clone()).line(s.start_line as usize).char_column(s.start_col as usize)
                        }
                        None => {
                            indent = 1;
                            Origin::path(file.clone())
                        }
                    };
                    group = group.element(origin);
                } else {
                    indent = 1;
                }
                notes.extend(d.labels.iter().map(|l| note(&l.location(), &l.message)));
            }
        }
        for n in notes {
            group = group.element(annotate_snippets::Level::NOTE.message(n));
        }
        if let Some(h) = &d.hint {
            let shown: Cow<'_, str> = if h.chars().count() > HINT_WIDTH {
                Cow::Owned(h.chars().take(HINT_WIDTH).chain("…".chars()).collect())
            } else {
                Cow::Borrowed(h)
            };
            group = group
                .element(annotate_snippets::Level::HELP.with_name("hint").message(display_safe(&shown).into_owned()));
        }
        let renderer = if color { Renderer::styled() } else { Renderer::plain() }.decor_style(DecorStyle::Ascii);
        let text = renderer.render(&[group]);
        let mut out = String::with_capacity(text.len() + 16);
        for (i, line) in text.lines().enumerate() {
            if i > 0 {
                out.extend(std::iter::repeat_n(' ', indent));
            }
            out.push_str(line);
            out.push('\n');
        }
        out
    }

    fn note(location: &str, message: &str) -> String {
        format!("{}: {}", display_safe(location), display_safe(message))
    }

    fn digits(n: u32) -> usize {
        n.to_string().len()
    }

    /// The text of line `n` (1-based), without its line break.
    fn line(src: &str, n: u32) -> Option<&str> {
        src.lines().nth((n as usize).checked_sub(1)?)
    }

    /// Whether `span` starts on a line of `src`, at most one column past
    /// its end (where parsers report an unexpected end of line).
    fn fits(src: &str, span: Span) -> bool {
        span.start_line >= 1
            && span.start_col >= 1
            && line(src, span.start_line).is_some_and(|l| span.start_col as usize <= l.chars().count() + 1)
    }

    /// A snippet of `src` from the first to the last marked line, with
    /// each mark underlined on its first line: from its start column to its
    /// end column on the same line, else (a point, or a span over several
    /// lines) to the end of that line. `None` when the first mark does not
    /// [`fit`](fits) the text: its snippet would point at the wrong place.
    /// With `primary`, the first mark is the diagnostic's own span (`^`);
    /// the others are labels (`-`).
    fn excerpt<'a>(
        src: &str,
        marks: &[Mark<'a>],
        primary: bool,
    ) -> Option<Snippet<'a, annotate_snippets::Annotation<'a>>> {
        if !fits(src, marks.first()?.span) {
            return None;
        }
        let first = marks.iter().map(|m| m.span.start_line).min()?;
        let last = marks.iter().map(|m| m.span.start_line).max()?;
        let mut text = String::new();
        // byte offset in `text` of each shown line's start, and its length
        let mut starts: Vec<(usize, &str)> = Vec::new();
        for (i, l) in src.lines().skip(first as usize - 1).take((last - first) as usize + 1).enumerate() {
            if i > 0 {
                text.push('\n');
            }
            starts.push((text.len(), l));
            text.extend(l.chars().map(visible));
        }
        let offset = |line: u32, col: u32| -> usize {
            let (at, l) = starts[(line - first) as usize];
            // `visible` keeps each character's UTF-8 length only for safe
            // ones: count in the rewritten text
            let shown: String = l.chars().take(col as usize - 1).map(visible).collect();
            at + shown.len()
        };
        let line_len = |line: u32| starts[(line - first) as usize].1.chars().count() as u32;
        let mut snippet = Snippet::source(text).line_start(first as usize);
        for (i, m) in marks.iter().enumerate() {
            let s = m.span;
            let end_col = if s.end_line == s.start_line && s.end_col > s.start_col {
                s.end_col.min(line_len(s.start_line) + 1)
            } else {
                line_len(s.start_line) + 1
            };
            let range = offset(s.start_line, s.start_col)..offset(s.start_line, end_col.max(s.start_col));
            let kind = if i == 0 && primary { AnnotationKind::Primary } else { AnnotationKind::Context };
            let label = m.label.map(|l| display_safe(l).into_owned());
            snippet = snippet.annotation(kind.span(range).label(label));
        }
        Some(snippet)
    }

    /// `c`, or one visible character in its place when it must not reach
    /// a terminal raw: the control pictures `␀`…`␟` and `␡` for C0 controls
    /// and DEL, `�` for the other unsafe characters (C1 controls, line and
    /// paragraph separators, bidi controls).
    fn visible(c: char) -> char {
        if !unsafe_char(c) {
            return c;
        }
        match c {
            '\0'..='\u{1f}' => char::from_u32(0x2400 + c as u32).unwrap_or('\u{fffd}'),
            '\u{7f}' => '\u{2421}',
            _ => '\u{fffd}',
        }
    }
}

/// The closest of `candidates` to `word`, for "did you mean" hints.
pub fn did_you_mean<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(word, c), c))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_is_listed_once_unique_and_described() {
        // a match with no wildcard: a new variant must be listed here, and so in ALL
        let position = |c: Code| Code::ALL.iter().position(|x| *x == c);
        for c in Code::ALL {
            assert_eq!(Code::ALL.iter().filter(|x| *x == c).count(), 1, "{c} twice in ALL");
            assert!(position(*c).is_some());
            assert!(!c.description().is_empty() && c.description().ends_with('.'), "{c}");
            assert!(c.as_str().chars().all(|ch| ch.is_ascii_lowercase() || ch == '-'), "{c}");
        }
        let mut names: Vec<&str> = Code::ALL.iter().map(|c| c.as_str()).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), Code::ALL.len(), "codes are unique");
        let every = |c: Code| match c {
            Code::Yaml
            | Code::Schema
            | Code::Cel
            | Code::JsonPath
            | Code::Glob
            | Code::DuplicateId
            | Code::Io
            | Code::Extends
            | Code::Rule
            | Code::Lint
            | Code::Params
            | Code::Exception
            | Code::Constant
            | Code::UnknownPolicy
            | Code::UnknownRule
            | Code::Usage
            | Code::Summary
            | Code::Message
            | Code::At
            | Code::Conflict
            | Code::Rego => position(c).is_some(),
        };
        assert!(Code::ALL.iter().all(|c| every(*c)));
        assert_eq!(Code::ALL.len(), 21, "a code added to the enum is added to ALL");
    }

    #[test]
    fn the_readme_documents_every_code() {
        let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md")).unwrap();
        for c in Code::ALL {
            let row = format!("| `{}` | {} |", c.as_str(), c.description());
            assert!(readme.contains(&row), "README.md lacks the row {row}");
        }
    }

    #[test]
    fn long_lines_are_shown_as_a_window_around_the_column() {
        let line = format!("deny: \"{}BAD{}\"", "a ".repeat(300), " b".repeat(300));
        let col = line.find("BAD").unwrap() as u32 + 1;
        let d = Diagnostic::error(
            Code::Cel,
            "p.yaml",
            Some(Span { start_line: 1, start_col: col, end_line: 1, end_col: col + 3 }),
            "x",
        );
        let out = d.render(Some(&line), false);
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines[1], format!(" --> p.yaml:1:{col}"), "{out}");
        let snippet = lines.iter().find(|l| l.starts_with("1 |")).unwrap();
        let carets = lines.iter().find(|l| l.contains('^')).unwrap();
        assert!(snippet.chars().count() < 200, "{snippet}");
        // cut on both sides, marked by the renderer's `...`
        assert!(snippet.starts_with("1 | ...") && snippet.ends_with("..."), "{snippet}");
        let at = carets.find('^').unwrap();
        assert_eq!(carets[at..].trim_end(), "^^^", "{out}");
        assert_eq!(
            &snippet[snippet.char_indices().nth(carets[..at].chars().count()).unwrap().0..][..3],
            "BAD",
            "{out}"
        );
    }

    #[test]
    fn a_column_past_the_end_of_a_long_line_shows_its_tail() {
        // found by the `exceptions` fuzz target: the window started past the
        // line's end and its width underflowed
        let line = "#".repeat(400);
        for col in [400, 401, 900] {
            let d = Diagnostic::error(Code::Yaml, "x.yaml", Some(Span::point(1, col)), "invalid YAML");
            let out = d.render(Some(&line), false);
            assert_eq!(out.lines().nth(1), Some(format!(" --> x.yaml:1:{col}").as_str()), "{col}: {out}");
            let snippet = out.lines().find(|l| l.starts_with("1 |"));
            if col <= 401 {
                // the line's end, or one past it (where parsers report an unexpected end)
                let snippet = snippet.unwrap_or_else(|| panic!("{col}: {out}"));
                assert!(snippet.starts_with("1 | ...###") && snippet.chars().count() < 200, "{col}: {out}");
                assert!(out.lines().any(|l| l.trim_end().ends_with('^')), "{col}: {out}");
            } else {
                // further out the snippet would underline the wrong place: the location alone
                assert_eq!(snippet, None, "{col}: {out}");
            }
        }
    }

    #[test]
    fn renders_snippet_with_carets_and_hint() {
        let d = Diagnostic::error(
            Code::Schema,
            "p.yaml",
            Some(Span { start_line: 2, start_col: 5, end_line: 2, end_col: 10 }),
            "unknown key `denny`",
        )
        .with_hint("did you mean `deny`?");
        let out = d.render(Some("rules:\n  - denny: x\n"), false);
        assert_eq!(
            out,
            "error[schema]: unknown key `denny`\n --> p.yaml:2:5\n  |\n2 |   - denny: x\n  |     ^^^^^\n  |\n  = hint: did you mean `deny`?\n"
        );
    }

    #[test]
    fn display_safe_makes_controls_visible_and_borrows_clean_text() {
        assert!(matches!(display_safe("deploy/a b.yaml\tü ✓"), Cow::Borrowed(_)));
        assert_eq!(
            display_safe("x\n::stop-commands::t\r\n##[error]y\x1b[31m\u{0}\u{7f}\u{85}\u{2028}\u{202e}\u{2066}"),
            "x\\n::stop-commands::t\\r\\n##[error]y\\u{1b}[31m\\u{0}\\u{7f}\\u{85}\\u{2028}\\u{202e}\\u{2066}"
        );
        // Text with a 0xC2 / 0xE2 lead byte but nothing unsafe is kept as is.
        assert!(matches!(display_safe("½ — “quoted” €"), Cow::Borrowed(_)));
    }

    #[test]
    fn render_escapes_input_text_and_keeps_carets_under_the_span() {
        let d = Diagnostic::error(
            Code::Schema,
            "x\n::warning::p.yaml",
            Some(Span { start_line: 1, start_col: 3, end_line: 1, end_col: 5 }),
            "bad\n##[error]forged",
        )
        .with_hint("use \x1b[31mred");
        let out = d.render(Some("a:\x1b b: x\n"), false);
        assert_eq!(
            out,
            "error[schema]: bad\\n##[error]forged\n --> x\\n::warning::p.yaml:1:3\n  |\n1 | a:\u{241b} b: x\n  |   ^^\n  |\n  = hint: use \\u{1b}[31mred\n"
        );
        // the ESC of the source line is shown as one character (␛), so the
        // carets stay under columns 3–4 and the column in `-->` is the file's
        assert!(!out.contains('\x1b'), "{out}");
        assert!(out.lines().all(|l| !l.starts_with("::") && !l.starts_with("##[")), "{out}");
    }

    fn dup() -> Diagnostic {
        Diagnostic::error(
            Code::DuplicateId,
            "p.yaml",
            Some(Span { start_line: 5, start_col: 9, end_line: 5, end_col: 12 }),
            "duplicate rule id `R-1`",
        )
        .with_label("p.yaml", Span { start_line: 2, start_col: 9, end_line: 2, end_col: 12 }, "first defined here")
        .with_hint("rule ids must be unique")
    }

    const DUP_SRC: &str = "rules:\n  - id: R-1\n    deny: x\n  - title: t\n  - id: R-1\n    deny: y\n";

    #[test]
    fn a_label_in_the_same_file_is_underlined_in_the_same_snippet() {
        assert_eq!(
            dup().render(Some(DUP_SRC), false),
            "error[duplicate-id]: duplicate rule id `R-1`\n --> p.yaml:5:9\n  |\n2 |   - id: R-1\n  |         --- first defined here\n...\n5 |   - id: R-1\n  |         ^^^\n  |\n  = hint: rule ids must be unique\n"
        );
    }

    #[test]
    fn a_label_in_another_file_gets_its_snippet_when_its_text_is_at_hand_else_a_note() {
        let d = Diagnostic::error(
            Code::DuplicateId,
            "b.yaml",
            Some(Span { start_line: 2, start_col: 9, end_line: 2, end_col: 10 }),
            "duplicate policy name `a`",
        )
        .with_label(
            "a.yaml",
            Span { start_line: 3, start_col: 9, end_line: 3, end_col: 10 },
            "first defined here",
        );
        let (a, b) = ("kind: Policy\nmetadata:\n  name: a\n", "metadata:\n  name: a\n");
        let sources = |f: &str| match f {
            "a.yaml" => Some(a),
            "b.yaml" => Some(b),
            _ => None,
        };
        assert_eq!(
            d.render_with(sources, false),
            "error[duplicate-id]: duplicate policy name `a`\n --> b.yaml:2:9\n  |\n2 |   name: a\n  |         ^\n  |\n ::: a.yaml:3:9\n  |\n3 |   name: a\n  |         - first defined here\n"
        );
        assert_eq!(
            d.render(Some(b), false),
            "error[duplicate-id]: duplicate policy name `a`\n --> b.yaml:2:9\n  |\n2 |   name: a\n  |         ^\n  |\n  = note: a.yaml:3:9: first defined here\n"
        );
    }

    #[test]
    fn without_the_source_the_location_line_and_notes_keep_their_shape() {
        assert_eq!(
            dup().render(None, false),
            "error[duplicate-id]: duplicate rule id `R-1`\n --> p.yaml:5:9\n  = note: p.yaml:2:9: first defined here\n  = hint: rule ids must be unique\n"
        );
        let far = Diagnostic::error(Code::Cel, "p.yaml", Some(Span::point(120, 3)), "x").with_hint("h");
        assert_eq!(far.render(None, false), "error[cel]: x\n   --> p.yaml:120:3\n    = hint: h\n");
        let unplaced = Diagnostic::error(Code::Io, "p.yaml", None, "cannot read");
        assert_eq!(unplaced.render(Some("a: b"), false), "error[io]: cannot read\n --> p.yaml\n");
        // a span past the end of the text: the location alone
        assert_eq!(far.render(Some("a: b\n"), false), far.render(None, false));
    }

    #[test]
    fn a_diagnostic_without_a_file_is_one_line_and_its_hint() {
        let d = Diagnostic::error(Code::Usage, "", None, "unknown format `xml`").with_hint("use json");
        assert_eq!(d.render(None, false), "error[usage]: unknown format `xml`\n  |\n  = hint: use json\n");
        let w = Diagnostic::warning(Code::Lint, "", None, "w\x1b[2J");
        assert_eq!(w.render(None, false), "warning[lint]: w\\u{1b}[2J\n");
    }

    #[test]
    fn colours_only_when_asked() {
        let plain = dup().render(Some(DUP_SRC), false);
        let styled = dup().render(Some(DUP_SRC), true);
        assert!(!plain.contains('\x1b'), "{plain}");
        assert!(styled.contains("\x1b["), "{styled}");
        let strip = |s: &str| {
            let mut out = String::new();
            let mut in_escape = false;
            for c in s.chars() {
                match c {
                    '\x1b' => in_escape = true,
                    'm' if in_escape => in_escape = false,
                    c if !in_escape => out.push(c),
                    _ => {}
                }
            }
            out
        };
        assert_eq!(strip(&styled), plain);
    }

    #[test]
    fn columns_count_characters_with_tabs_and_wide_text() {
        // a tab and a wide character before the span: `-->` keeps the file's
        // column, the carets go under the span as displayed
        let src = "\tname: \u{4f60}\u{597d} bad";
        let d = Diagnostic::error(
            Code::Schema,
            "p.yaml",
            Some(Span { start_line: 1, start_col: 11, end_line: 1, end_col: 14 }),
            "x",
        );
        let out = d.render(Some(src), false);
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines[1], " --> p.yaml:1:11", "{out}");
        // the tab is shown as 4 columns, each of the two CJK characters as 2
        assert_eq!(lines[3], "1 |     name: \u{4f60}\u{597d} bad", "{out}");
        assert_eq!(lines[4], "  |                ^^^", "{out}");
    }

    #[test]
    fn suggests_close_names() {
        assert_eq!(did_you_mean("denny", ["deny", "require", "each"]), Some("deny"));
        assert_eq!(did_you_mean("zzz", ["deny", "require"]), None);
    }
}
