//! Diagnostics for a user's mistakes in policies and config: file, line,
//! column, the offending snippet, what was expected and a hint — rendered the
//! way rustc and cargo-deny answer.
//!
//! Also home of [`display_safe`], the one escaping of input-derived text
//! before it reaches a terminal or a CI log: it lives in the engine because
//! diagnostics need it and the engine cannot depend on `bylaw-report`
//! (which re-exports it as `bylaw_report::display_safe`).

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

/// How many characters `c` takes once escaped by [`display_safe`].
fn escaped_width(c: char) -> usize {
    match c {
        '\n' | '\r' => 2,
        c if unsafe_char(c) => format!("\\u{{{:x}}}", c as u32).len(),
        _ => 1,
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

/// One problem found while loading or validating.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Diagnostic {
    pub level: Level,
    /// Its category ([`Code`]).
    pub code: Code,
    pub file: String,
    pub span: Option<Span>,
    pub message: String,
    pub hint: Option<String>,
}

impl Diagnostic {
    pub fn error(code: Code, file: impl Into<String>, span: Option<Span>, message: impl Into<String>) -> Self {
        Diagnostic { level: Level::Error, code, file: file.into(), span, message: message.into(), hint: None }
    }

    pub fn warning(code: Code, file: impl Into<String>, span: Option<Span>, message: impl Into<String>) -> Self {
        Diagnostic { level: Level::Warning, ..Diagnostic::error(code, file, span, message) }
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// `file:line:col` (or just `file`).
    pub fn location(&self) -> String {
        match self.span {
            Some(s) => format!("{}:{}:{}", self.file, s.start_line, s.start_col),
            None => self.file.clone(),
        }
    }

    /// Renders rustc-style with the source line and a caret under the span.
    /// `source` is the file's text when available. The message, hint, file
    /// and source line are escaped with [`display_safe`] (the carets follow
    /// the escaped line).
    pub fn render(&self, source: Option<&str>, color: bool) -> String {
        let (red, yellow, blue, bold, reset) =
            if color { ("\x1b[31m", "\x1b[33m", "\x1b[34m", "\x1b[1m", "\x1b[0m") } else { ("", "", "", "", "") };
        let (label, lc) = match self.level {
            Level::Error => ("error", red),
            Level::Warning => ("warning", yellow),
        };
        let mut out =
            format!("{bold}{lc}{label}[{}]{reset}{bold}: {}{reset}\n", self.code, display_safe(&self.message));
        let line_text =
            self.span.and_then(|s| source.and_then(|src| src.lines().nth(s.start_line.saturating_sub(1) as usize)));
        let gutter = self.span.map(|s| s.start_line.to_string().len()).unwrap_or(1);
        let pad = " ".repeat(gutter);
        let _ = writeln!(out, "{pad}{blue}-->{reset} {}", display_safe(&self.location()));
        if let (Some(s), Some(text)) = (self.span, line_text) {
            let full = text.replace('\t', " ");
            let full_width = full.chars().count() as u32;
            // a very long line is shown as a window around the column
            let (text, shift) = if full_width > SNIPPET_WIDTH {
                // (a column past the line's end, as some parsers report at
                // its end, still shows the line's tail)
                let from = s.start_col.max(1).saturating_sub(1).saturating_sub(SNIPPET_WIDTH / 3);
                let from = from.min(full_width.saturating_sub(SNIPPET_WIDTH));
                let to = (from + SNIPPET_WIDTH).min(full_width);
                let body: String = full.chars().skip(from as usize).take(to.saturating_sub(from) as usize).collect();
                let lead = if from > 0 { "…" } else { "" };
                let tail = if to < full_width { "…" } else { "" };
                (format!("{lead}{body}{tail}"), from as i64 - i64::from(from > 0))
            } else {
                (full, 0)
            };
            let width = text.chars().count() as u32;
            let start = (i64::from(s.start_col.max(1)) - shift).max(1) as u32;
            let end = if s.end_line == s.start_line && s.end_col > s.start_col.max(1) {
                ((i64::from(s.end_col) - shift).max(1) as u32).min(width + 1)
            } else {
                width + 1
            };
            // Columns count source characters; the carets go under their escaped form.
            let shown = |from: u32, to: u32| -> usize {
                text.chars().skip(from as usize).take(to.saturating_sub(from) as usize).map(escaped_width).sum()
            };
            let indent = shown(0, start - 1);
            let carets = shown(start - 1, end - 1).max(1);
            let _ = writeln!(out, "{pad} {blue}|{reset}");
            let _ = writeln!(out, "{blue}{}{reset} {blue}|{reset} {}", s.start_line, display_safe(&text));
            let _ = writeln!(out, "{pad} {blue}|{reset} {}{lc}{}{reset}", " ".repeat(indent), "^".repeat(carets));
        }
        if let Some(h) = &self.hint {
            let shown: String = if h.chars().count() > 2 * SNIPPET_WIDTH as usize {
                h.chars().take(2 * SNIPPET_WIDTH as usize).chain("…".chars()).collect()
            } else {
                h.clone()
            };
            let _ = writeln!(out, "{pad} {blue}={reset} {bold}hint{reset}: {}", display_safe(&shown));
        }
        out
    }
}

/// Longest source line a snippet shows whole (characters); longer lines are
/// shown as a window of this width around the column.
const SNIPPET_WIDTH: u32 = 160;

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
            | Code::Conflict => position(c).is_some(),
        };
        assert!(Code::ALL.iter().all(|c| every(*c)));
        assert_eq!(Code::ALL.len(), 20, "a code added to the enum is added to ALL");
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
        let snippet = lines.iter().find(|l| l.starts_with("1 |")).unwrap();
        let carets = lines.iter().find(|l| l.contains('^')).unwrap();
        assert!(snippet.chars().count() < 200, "{snippet}");
        assert!(snippet.contains('…'));
        let at = carets.find('^').unwrap();
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
            let snippet = out.lines().find(|l| l.starts_with("1 |")).unwrap();
            assert!(snippet.starts_with("1 | …###") && snippet.chars().count() < 200, "{col}: {out}");
            assert!(out.lines().any(|l| l.trim_end().ends_with('^')), "{col}: {out}");
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
            "error[schema]: unknown key `denny`\n --> p.yaml:2:5\n  |\n2 |   - denny: x\n  |     ^^^^^\n  = hint: did you mean `deny`?\n"
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
            "error[schema]: bad\\n##[error]forged\n --> x\\n::warning::p.yaml:1:3\n  |\n1 | a:\\u{1b} b: x\n  |   ^^^^^^^\n  = hint: use \\u{1b}[31mred\n"
        );
        assert!(out.lines().all(|l| !l.starts_with("::") && !l.starts_with("##[")), "{out}");
    }

    #[test]
    fn suggests_close_names() {
        assert_eq!(did_you_mean("denny", ["deny", "require", "each"]), Some("deny"));
        assert_eq!(did_you_mean("zzz", ["deny", "require"]), None);
    }
}
