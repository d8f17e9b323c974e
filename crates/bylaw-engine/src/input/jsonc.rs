//! JSONC ("JSON with comments"): JSON plus `//` and `/* */` comments and
//! trailing commas, as VS Code, TypeScript, ESLint, Biome, Deno and Turborepo
//! read their configuration files.
//!
//! Which files are JSONC is decided by their path ([`is_jsonc`]), never by
//! their content: a comment in a `package.json` stays the located error its
//! tools report. A JSONC file is read by blanking every comment and trailing
//! comma with spaces (line breaks kept, one space per character), then
//! parsing the result as JSON: every line and column stays exact.

use super::format::InputFormat;
use super::{Comment, ParsedFile};
use crate::node::Node;

/// The JSONC input format: the files [`is_jsonc`] names, read as JSON with
/// `//` and `/* */` comments and trailing commas. Policies see it as
/// `file.format == 'json'`, and its syntax errors are `invalid JSON`.
pub struct Jsonc;

impl InputFormat for Jsonc {
    fn id(&self) -> &'static str {
        "jsonc"
    }

    fn name(&self) -> &'static str {
        "json"
    }

    fn label(&self) -> &'static str {
        "JSON"
    }

    fn claims(&self, path: &str) -> bool {
        is_jsonc(path)
    }

    fn comment_markers(&self) -> &'static [&'static str] {
        &["//", "/*"]
    }

    fn parse(&self, src: &str, each: &mut dyn FnMut(Node)) -> ParsedFile {
        super::json::parse_each(src, true, each)
    }
}

/// Whether the tool that reads `path` accepts JSONC, so comments and
/// trailing commas in it are not errors: `*.jsonc`;
/// `tsconfig.json`/`tsconfig.*.json` and the same for `jsconfig`;
/// `devcontainer.json`, `.devcontainer.json` and any `.json` under
/// `.devcontainer/` or `.vscode/`; `.eslintrc.json`, `tslint.json`,
/// `biome.json`, `deno.json`, `turbo.json`, `api-extractor.json`,
/// `typedoc.json`; and `*.code-workspace.json`.
pub fn is_jsonc(path: &str) -> bool {
    let path = path.replace('\\', "/").to_ascii_lowercase();
    let mut parts = path.rsplit('/');
    let name = parts.next().unwrap_or_default();
    if name.ends_with(".jsonc") {
        return true;
    }
    let Some(stem) = name.strip_suffix(".json") else { return false };
    if parts.any(|dir| dir == ".devcontainer" || dir == ".vscode") {
        return true;
    }
    const TOOLS: &[&str] =
        &["devcontainer", ".devcontainer", ".eslintrc", "tslint", "biome", "deno", "turbo", "api-extractor", "typedoc"];
    TOOLS.contains(&stem)
        || ["tsconfig", "jsconfig"].iter().any(|t| stem == *t || stem.starts_with(&format!("{t}.")))
        || stem.ends_with(".code-workspace")
}

/// `src` with its comments and trailing commas replaced by spaces (line
/// breaks kept), and the comments. An unterminated `/*` is left in place,
/// for the JSON parser to report where it starts.
pub(crate) fn blank(src: &str) -> (String, Vec<Comment>) {
    let mut out = String::with_capacity(src.len());
    let mut comments = Vec::new();
    let mut chars = src.char_indices().peekable();
    let (mut line, mut col) = (1u32, 1u32);
    let mut in_string = false;
    // Byte offset in `out` of a comma that may turn out to be trailing.
    let mut comma: Option<usize> = None;
    while let Some((i, c)) = chars.next() {
        if in_string {
            out.push(c);
            col += 1;
            match c {
                '"' => in_string = false,
                '\\' => {
                    if let Some((_, e)) = chars.next() {
                        out.push(e);
                        col += 1;
                    }
                }
                '\n' => (line, col) = (line + 1, 1),
                _ => {}
            }
            continue;
        }
        let next = chars.peek().map(|&(_, n)| n);
        match (c, next) {
            ('/', Some('/')) => {
                let end = src[i..].find('\n').map_or(src.len(), |n| i + n);
                let text = &src[i + 2..end];
                comments.push(Comment { line, col, text: text.trim_end().to_owned() });
                let width = src[i..end].chars().count();
                out.push_str(&" ".repeat(width));
                col += width as u32;
                while chars.peek().is_some_and(|&(j, _)| j < end) {
                    chars.next();
                }
            }
            ('/', Some('*')) => {
                let Some(close) = src[i + 2..].find("*/") else {
                    out.push_str(&src[i..]);
                    break;
                };
                let end = i + 2 + close + 2;
                comments.push(Comment { line, col, text: src[i + 2..end - 2].trim_end().to_owned() });
                for b in src[i..end].chars() {
                    if b == '\n' || b == '\r' {
                        out.push(b);
                        if b == '\n' {
                            (line, col) = (line + 1, 1);
                        }
                    } else {
                        out.push(' ');
                        col += 1;
                    }
                }
                while chars.peek().is_some_and(|&(j, _)| j < end) {
                    chars.next();
                }
            }
            _ => {
                match c {
                    '}' | ']' => {
                        if let Some(at) = comma.take() {
                            out.replace_range(at..at + 1, " ");
                        }
                    }
                    ',' => comma = Some(out.len()),
                    '"' => {
                        in_string = true;
                        comma = None;
                    }
                    c if c.is_whitespace() => {}
                    _ => comma = None,
                }
                out.push(c);
                if c == '\n' {
                    (line, col) = (line + 1, 1);
                } else {
                    col += 1;
                }
            }
        }
    }
    (out, comments)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jsonc_files_are_known_by_their_tools() {
        for p in [
            "tsconfig.json",
            "web/tsconfig.build.json",
            "jsconfig.json",
            ".devcontainer/devcontainer.json",
            ".devcontainer.json",
            ".devcontainer/python/devcontainer.json",
            ".vscode/settings.json",
            "C:\\repo\\.vscode\\launch.json",
            ".eslintrc.json",
            "biome.json",
            "deno.json",
            "turbo.json",
            "packages/x/api-extractor.json",
            "typedoc.json",
            "tslint.json",
            "a/b.jsonc",
            "team.code-workspace.json",
        ] {
            assert!(is_jsonc(p), "{p}");
        }
        for p in ["package.json", "tsconfigs.json", "x/settings.json", "deploy/app.yaml", "vscode/settings.json"] {
            assert!(!is_jsonc(p), "{p}");
        }
    }

    #[test]
    fn blanking_keeps_every_position() {
        let src = "{ /* a\n  b */ \"k\": \"//not/*a comment\", // é tail\n  \"l\": [1, 2, ],\n}\n";
        let (out, comments) = blank(src);
        assert_eq!(out, "{     \n       \"k\": \"//not/*a comment\",          \n  \"l\": [1, 2  ] \n}\n");
        assert_eq!(out.lines().count(), src.lines().count());
        assert_eq!(comments.len(), 2);
        assert_eq!((comments[0].line, comments[0].col, comments[0].text.as_str()), (1, 3, " a\n  b"));
        assert_eq!((comments[1].line, comments[1].col, comments[1].text.as_str()), (2, 33, " é tail"));
    }
}
