//! Diagnostics for a user's mistakes in policies and config: file, line,
//! column, the offending snippet, what was expected and a hint — rendered the
//! way rustc and cargo-deny answer.

use crate::node::Span;
use serde::Serialize;
use std::fmt::Write as _;

/// How serious a diagnostic is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Warning,
    Error,
}

/// One problem found while loading or validating.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Diagnostic {
    pub level: Level,
    /// Short machine-readable category: `yaml`, `schema`, `cel`, `jsonpath`, `glob`, `duplicate-id`, `io`, …
    pub code: &'static str,
    pub file: String,
    pub span: Option<Span>,
    pub message: String,
    pub hint: Option<String>,
}

impl Diagnostic {
    pub fn error(code: &'static str, file: impl Into<String>, span: Option<Span>, message: impl Into<String>) -> Self {
        Diagnostic { level: Level::Error, code, file: file.into(), span, message: message.into(), hint: None }
    }

    pub fn warning(
        code: &'static str,
        file: impl Into<String>,
        span: Option<Span>,
        message: impl Into<String>,
    ) -> Self {
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
    /// `source` is the file's text when available.
    pub fn render(&self, source: Option<&str>, color: bool) -> String {
        let (red, yellow, blue, bold, reset) =
            if color { ("\x1b[31m", "\x1b[33m", "\x1b[34m", "\x1b[1m", "\x1b[0m") } else { ("", "", "", "", "") };
        let (label, lc) = match self.level {
            Level::Error => ("error", red),
            Level::Warning => ("warning", yellow),
        };
        let mut out = format!("{bold}{lc}{label}[{}]{reset}{bold}: {}{reset}\n", self.code, self.message);
        let line_text =
            self.span.and_then(|s| source.and_then(|src| src.lines().nth(s.start_line.saturating_sub(1) as usize)));
        let gutter = self.span.map(|s| s.start_line.to_string().len()).unwrap_or(1);
        let pad = " ".repeat(gutter);
        let _ = writeln!(out, "{pad}{blue}-->{reset} {}", self.location());
        if let (Some(s), Some(text)) = (self.span, line_text) {
            let text = text.replace('\t', " ");
            let width = text.chars().count() as u32;
            let start = s.start_col.max(1);
            let end =
                if s.end_line == s.start_line && s.end_col > start { s.end_col.min(width + 1) } else { width + 1 };
            let carets = end.saturating_sub(start).max(1) as usize;
            let _ = writeln!(out, "{pad} {blue}|{reset}");
            let _ = writeln!(out, "{blue}{}{reset} {blue}|{reset} {text}", s.start_line);
            let _ = writeln!(
                out,
                "{pad} {blue}|{reset} {}{lc}{}{reset}",
                " ".repeat(start as usize - 1),
                "^".repeat(carets)
            );
        }
        if let Some(h) = &self.hint {
            let _ = writeln!(out, "{pad} {blue}={reset} {bold}hint{reset}: {h}");
        }
        out
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
    fn renders_snippet_with_carets_and_hint() {
        let d = Diagnostic::error(
            "schema",
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
    fn suggests_close_names() {
        assert_eq!(did_you_mean("denny", ["deny", "require", "each"]), Some("deny"));
        assert_eq!(did_you_mean("zzz", ["deny", "require"]), None);
    }
}
