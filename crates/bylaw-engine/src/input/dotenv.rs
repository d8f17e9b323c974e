//! `.env` files (`.env`, `.env.*`, `*.env`), as Docker Compose reads them
//! (its "env file syntax" page; `compose-go`'s dotenv reader, which
//! follows `godotenv` and Ruby's `dotenv`): the document is a mapping of
//! variable name to string.
//! - `KEY=value`, spaces around `=` allowed; an `export ` prefix is
//!   skipped. `KEY` alone (no `=`) has the value `null`: Compose takes it
//!   from the environment.
//! - Unquoted values are trimmed; a `#` after whitespace starts a comment
//!   (`A=b # c` is `b`), a `#` right after text does not (`A=b#c`).
//! - `'single'` quotes are literal (`\'` is a quote); `"double"` quotes
//!   read `\n`, `\r`, `\t`, `\\`, `\"`, `\'` and `\$`, and keep any other
//!   `\x` as written. Both may span lines. After the closing quote, only
//!   whitespace and a `#` comment may follow.
//! - Nothing is interpolated: `${VAR}`, `$VAR` and `${VAR:-default}` are
//!   kept as written (policies see what the file says, not what a shell
//!   would make of it).
//! - A variable set twice takes its last value, as Compose does.
//!
//! A broken line (an unclosed quote, text after a quote, a key with a
//! space) is a located error that spoils only that line. A file without
//! any variable has no document. Written here: the `dotenvy` crate keeps
//! no positions.

use super::lines::{col, physical_lines, span_in, string, Mapping};
use super::{yaml, Comment, InputFormat, ParsedFile, SyntaxError};
use crate::node::{Entry, Node, NodeValue, Span};
use crate::report::Resource;

/// The `.env` input format: `#` comments.
pub struct Dotenv;

impl InputFormat for Dotenv {
    fn id(&self) -> &'static str {
        "dotenv"
    }

    fn label(&self) -> &'static str {
        ".env"
    }

    /// `.env`, `.env.local`, `.env.production`, `prod.env`; not `.envrc`
    /// (a shell script) nor `.env.yaml`/`.env.json`, which their own
    /// formats claim first.
    fn claims(&self, path: &str) -> bool {
        let name = path.rsplit('/').next().unwrap_or(path);
        name == ".env" || name.starts_with(".env.") || (name.len() > 4 && super::format::has_extension(name, &["env"]))
    }

    fn comment_markers(&self) -> &'static [&'static str] {
        &["#"]
    }

    fn parse(&self, src: &str, each: &mut dyn FnMut(Node)) -> ParsedFile {
        parse(src).hand_out(each)
    }

    /// `.env` files name no resource.
    fn resource(&self, _doc: &Node) -> Option<Resource> {
        None
    }
}

/// Parses a `.env` file (a UTF-8 byte order mark skipped).
pub fn parse(src: &str) -> ParsedFile {
    let src = src.strip_prefix('\u{feff}').unwrap_or(src);
    let mut out = ParsedFile::default();
    let mut vars = Mapping::default();
    let mut lines = physical_lines(src);
    while let Some((n, line)) = lines.next() {
        let text = line.trim_start();
        let indent = line.len() - text.len();
        if text.trim_end().is_empty() {
            continue;
        }
        if let Some(c) = text.strip_prefix('#') {
            out.comments.push(Comment { line: n, col: col(line, indent), text: c.trim_end().to_owned() });
            continue;
        }
        if vars.len() >= yaml::MAX_DOCUMENT_NODES {
            out.errors.push(SyntaxError { line: n, col: 1, message: yaml::too_many_nodes(), first: None });
            break;
        }
        let error = |at: usize, message: &str| SyntaxError {
            line: n,
            col: col(line, at),
            message: message.into(),
            first: None,
        };
        let mut at = indent;
        if let Some(rest) = text.strip_prefix("export") {
            if rest.starts_with([' ', '\t']) && !rest.trim_start().is_empty() {
                at = line.len() - rest.trim_start().len();
            }
        }
        let rest = &line[at..];
        let (key, value_at) = match rest.find('=') {
            Some(eq) => (rest[..eq].trim_end(), Some(at + eq + 1)),
            None => (rest.trim_end(), None),
        };
        if key.is_empty() {
            out.errors.push(error(at, "expected a variable name before `=`"));
            continue;
        }
        if let Some(bad) = key.find(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | '#')) {
            out.errors.push(error(at + bad, "a variable name holds no space, quote or `#` (expected `NAME=value`)"));
            continue;
        }
        let key_span = span_in(n, line, at, at + key.len());
        let Some(value_at) = value_at else {
            vars.insert_last_wins(Entry {
                key: key.into(),
                key_span,
                value: Node { span: key_span, value: NodeValue::Null },
            });
            continue;
        };
        let after = &line[value_at..];
        let v_at = value_at + (after.len() - after.trim_start_matches([' ', '\t']).len());
        let v = &line[v_at..];
        let value = match v.chars().next() {
            Some(q @ ('"' | '\'')) => match quoted(q, n, line, v_at, &mut lines, &mut out.comments) {
                Ok(node) => node,
                Err(e) => {
                    out.errors.push(e);
                    continue;
                }
            },
            _ => {
                // an unquoted value ends at a `#` after whitespace
                let end =
                    v.char_indices().find(|&(i, c)| c == '#' && i > 0 && v[..i].ends_with([' ', '\t'])).map(|(i, _)| i);
                if let Some(i) = end {
                    let text = v[i + 1..].trim_end().to_owned();
                    out.comments.push(Comment { line: n, col: col(line, v_at + i), text });
                }
                let body = v[..end.unwrap_or(v.len())].trim_end();
                string(span_in(n, line, v_at, v_at + body.len()), body)
            }
        };
        vars.insert_last_wins(Entry { key: key.into(), key_span, value });
    }
    if !vars.is_empty() {
        out.documents.push(vars.into_node(None));
    }
    out
}

/// A quoted value opening with `q` at byte `at` of line `n`, read to its
/// closing quote (on a later line, if need be, taken from `lines`).
fn quoted<'a>(
    q: char,
    n: u32,
    line: &'a str,
    at: usize,
    lines: &mut impl Iterator<Item = (u32, &'a str)>,
    comments: &mut Vec<Comment>,
) -> Result<Node, SyntaxError> {
    let start = Span::point(n, col(line, at));
    let mut value = String::new();
    let (mut n, mut line, mut from) = (n, line, at + 1);
    loop {
        let mut chars = line[from..].char_indices();
        while let Some((i, c)) = chars.next() {
            match c {
                '\\' => match (q, chars.next()) {
                    ('\'', Some((_, '\''))) => value.push('\''),
                    ('\'', Some((_, c))) => {
                        value.push('\\');
                        value.push(c);
                    }
                    ('"', Some((_, c))) => match c {
                        'n' => value.push('\n'),
                        'r' => value.push('\r'),
                        't' => value.push('\t'),
                        '\\' | '"' | '\'' | '$' => value.push(c),
                        c => {
                            value.push('\\');
                            value.push(c);
                        }
                    },
                    (_, None) => value.push('\\'),
                    _ => {}
                },
                c if c == q => {
                    let end = from + i + 1;
                    let rest = &line[end..];
                    let tail = rest.trim_start();
                    if let Some(c) = tail.strip_prefix('#') {
                        let at = line.len() - tail.len();
                        comments.push(Comment { line: n, col: col(line, at), text: c.trim_end().to_owned() });
                    } else if !tail.is_empty() {
                        let at = line.len() - tail.len();
                        return Err(SyntaxError {
                            line: n,
                            col: col(line, at),
                            message: "expected the end of the line or a `#` comment after the closing quote".into(),
                            first: None,
                        });
                    }
                    return Ok(string(start.to(Span::point(n, col(line, end))), &value));
                }
                c => value.push(c),
            }
        }
        match lines.next() {
            Some((m, next)) => {
                value.push('\n');
                (n, line, from) = (m, next, 0);
            }
            None => {
                return Err(SyntaxError {
                    line: start.start_line,
                    col: start.start_col,
                    message: format!("unclosed quote: expected a closing `{q}`"),
                    first: None,
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(d: &Node, ptr: &str) -> (u32, u32, u32, u32) {
        let s = d.value_span_of_pointer(ptr).0;
        (s.start_line, s.start_col, s.end_line, s.end_col)
    }

    const ENV: &str = "\
# database
DB_HOST=db.internal # the primary
export DB_PASSWORD='s3cr#t' # quoted
GREETING=\"hello\\n\\\"world\\\" ${USER}\"
URL=http://x/#frag
RAW='${HOME}\\n'
  SPACED = padded value  \t
MULTI=\"line one
line two\"
INHERITED
DB_HOST=db.override
";

    #[test]
    fn variables_are_read_as_compose_reads_them() {
        let p = parse(ENV);
        assert!(p.errors.is_empty(), "{:?}", p.errors);
        let d = &p.documents[0];
        let j = d.to_json();
        assert_eq!(j["DB_PASSWORD"], "s3cr#t");
        assert_eq!(j["GREETING"], "hello\n\"world\" ${USER}", "nothing is interpolated");
        assert_eq!(j["URL"], "http://x/#frag");
        assert_eq!(j["RAW"], "${HOME}\\n");
        assert_eq!(j["SPACED"], "padded value");
        assert_eq!(j["MULTI"], "line one\nline two");
        assert_eq!(j["INHERITED"], serde_json::Value::Null);
        assert_eq!(j["DB_HOST"], "db.override", "the last value wins");
        assert_eq!(at(d, "/DB_HOST"), (11, 9, 11, 20));
        assert_eq!(at(d, "/DB_PASSWORD"), (3, 20, 3, 28));
        assert_eq!(d.span_of_pointer("/DB_PASSWORD").0.start_col, 8, "the key, after `export`");
        assert_eq!(at(d, "/SPACED"), (7, 12, 7, 24));
        assert_eq!(at(d, "/MULTI"), (8, 7, 9, 10));
        let c: Vec<(u32, u32, &str)> = p.comments.iter().map(|c| (c.line, c.col, c.text.as_str())).collect();
        assert_eq!(c, vec![(1, 1, " database"), (2, 21, " the primary"), (3, 29, " quoted")]);
    }

    #[test]
    fn broken_lines_are_located_and_spoil_only_themselves() {
        let p = parse("A=1\nB='x' y\n=2\nC D=3\nE=\"open\nF=4\n");
        let got: Vec<(u32, u32)> = p.errors.iter().map(|e| (e.line, e.col)).collect();
        assert_eq!(got, vec![(2, 7), (3, 1), (4, 2), (5, 3)], "{:?}", p.errors);
        let j = p.documents[0].to_json();
        assert_eq!(j["A"], "1");
        assert!(j.get("F").is_none(), "an unclosed quote runs to the end of the file");
    }

    #[test]
    fn claims_and_hostile_input() {
        let d = Dotenv;
        assert!(d.claims(".env") && d.claims("app/.env.production") && d.claims("prod.env"));
        assert!(!d.claims(".envrc") && !d.claims("x/environment") && !d.claims(".env/x"));
        assert!(parse("").documents.is_empty());
        assert!(parse("# only\n\n").documents.is_empty());
        for odd in ["=", "\"", "'", "A=\"\\", "export", "export ", "A='\\", "\u{feff}A=é"] {
            let p = parse(odd);
            assert!(p.documents.len() <= 1, "{odd:?}");
        }
        assert_eq!(parse("export").documents[0].to_json()["export"], serde_json::Value::Null);
        let p = parse(&format!("A=\"{}", "x\n".repeat(100_000)));
        assert_eq!(p.errors.len(), 1);
    }
}
