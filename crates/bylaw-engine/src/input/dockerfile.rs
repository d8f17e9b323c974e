//! Dockerfiles (`Dockerfile`, `Containerfile`, `Dockerfile.*`,
//! `*.dockerfile`): one document per file, every instruction with its flags,
//! arguments, value and heredocs, grouped into build stages.
//!
//! # Why a parser of our own
//!
//! The crates of the field do not meet bylaw's needs: `dockerfile-parser`
//! 0.9 (a pest grammar) reads neither heredocs nor the `# escape=`
//! directive, and `dockerfile-parser-rs` 3.4 keeps no positions, ignores the
//! escape directive and pulls in `clap`. The grammar is line-based and
//! small, so it is read here as BuildKit's own parser reads it
//! (`frontend/dockerfile/parser` of moby/buildkit, and the Dockerfile
//! reference):
//!
//! - **Parser directives** (`# syntax=…`, `# escape=…`, `# check=…`) are
//!   read only at the top of the file, before any comment, blank line or
//!   instruction; an unknown one is a comment and ends them. They are not
//!   comments (so never suppressions): the document has them under
//!   `directives`.
//! - A **comment** is a line whose first non-blank character is `#`, also
//!   between continuation lines (where Docker skips it). A `#` anywhere else
//!   (`RUN echo "#x"`, `RUN make # why`) is part of the instruction: the
//!   shell sees it, bylaw does not read it as a comment.
//! - **Continuations**: a line ending with the escape character (`\`, or
//!   `` ` `` after `# escape=`` ` ``), blanks after it allowed, goes on at the
//!   next line; the character and the line break are removed, the next
//!   line is appended as written (its indentation kept), and empty or
//!   comment lines in between are skipped, as Docker joins them.
//! - **Flags**: the leading `--name[=value]` words of any instruction
//!   (`--from`, `--platform`, `--chown`, `--mount`, …); they are not
//!   checked against the instruction (Docker refuses unknown ones).
//! - **Exec form**: arguments that are a JSON array of strings; anything
//!   else (`CMD ['a']` too, as Docker reads it) is the shell form.
//! - **Heredocs** (`RUN`, `COPY`, `ADD`, shell form): every word
//!   `[n]<<[-]NAME` (NAME optionally quoted, then not expanded) opens one,
//!   several per instruction in order; the bodies follow the instruction's
//!   last line, each up to a line equal to NAME (leading tabs removed, for
//!   `<<-`, from the body and the terminator).
//!
//! Errors, each located: an unknown instruction (left out of the
//! document), an unterminated heredoc and a continuation at the end of the
//! file (the instruction is kept), an instruction other than `ARG` before
//! the first `FROM`, a `FROM` with other than one or three arguments, a
//! duplicate or invalid directive. The document is still produced.
//!
//! Lines end at `\n` (a `\r` before it is dropped), as Docker splits them.
//! The document shape is in README ("Dockerfile"); [`parse`] builds it.
//! Linear in the file's size; the document's values are capped at
//! [`yaml::MAX_DOCUMENT_NODES`] (each instruction appears up to three
//! times: in `instructions`, in its stage and in `final_stage`).

use super::format::InputFormat;
use super::{yaml, Comment, ParsedFile, SyntaxError};
use crate::node::{Entry, Node, NodeValue, Span};
use crate::report::Resource;
use compact_str::CompactString;
use std::collections::HashMap;

/// The Dockerfile input format: `file.format` is `dockerfile`, comments are
/// `#` lines, and the resource is kind `Dockerfile` named after the image
/// the final stage builds on ([`resource`]).
pub struct Dockerfile;

impl InputFormat for Dockerfile {
    fn id(&self) -> &'static str {
        "dockerfile"
    }

    fn label(&self) -> &'static str {
        "Dockerfile"
    }

    fn claims(&self, path: &str) -> bool {
        is_dockerfile(path)
    }

    fn comment_markers(&self) -> &'static [&'static str] {
        &["#"]
    }

    fn parse(&self, src: &str, each: &mut dyn FnMut(Node)) -> ParsedFile {
        parse(src).hand_out(each)
    }

    fn resource(&self, doc: &Node) -> Option<Resource> {
        resource(doc)
    }
}

/// Whether the file name of `path` is a Dockerfile's, ignoring case:
/// `Dockerfile`, `Containerfile`, `Dockerfile.*` and `Containerfile.*`
/// (`Dockerfile.dev`), `*.dockerfile` and `*.containerfile`; not
/// `Dockerfile.dockerignore` (its ignore file) nor `Dockerfile.md`,
/// `.yaml`, `.yml`, `.json` (documents about it).
pub fn is_dockerfile(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path).to_ascii_lowercase();
    if [".dockerignore", ".md", ".yaml", ".yml", ".json"].iter().any(|e| name.ends_with(e)) {
        return false;
    }
    name == "dockerfile"
        || name == "containerfile"
        || name.starts_with("dockerfile.")
        || name.starts_with("containerfile.")
        || name.ends_with(".dockerfile")
        || name.ends_with(".containerfile")
}

/// The identity of a Dockerfile: kind `Dockerfile`, named after the
/// external image its final stage builds on (`final_stage.base_image`,
/// e.g. `gcr.io/distroless/static:nonroot`, through the stages it names),
/// no name when there is no stage.
pub fn resource(doc: &Node) -> Option<Resource> {
    Some(Resource {
        api_version: None,
        kind: Some("Dockerfile".into()),
        namespace: None,
        name: doc.str_at(&["final_stage", "base_image"]).map(String::from),
    })
}

/// Every instruction Docker knows.
const INSTRUCTIONS: [&str; 18] = [
    "ADD",
    "ARG",
    "CMD",
    "COPY",
    "ENTRYPOINT",
    "ENV",
    "EXPOSE",
    "FROM",
    "HEALTHCHECK",
    "LABEL",
    "MAINTAINER",
    "ONBUILD",
    "RUN",
    "SHELL",
    "STOPSIGNAL",
    "USER",
    "VOLUME",
    "WORKDIR",
];

/// Flags that may be given several times, kept as a list.
const LIST_FLAGS: [&str; 2] = ["mount", "exclude"];

/// Parses a Dockerfile into at most one document (none for a file without
/// instructions), its located errors and its comments.
pub fn parse(src: &str) -> ParsedFile {
    let src = src.strip_prefix('\u{feff}').unwrap_or(src);
    let mut p = Parser::new(src);
    let doc = p.file();
    ParsedFile { documents: doc.into_iter().collect(), errors: p.errors, comments: p.comments }
}

/// A part of a logical line (an instruction joined across continuations)
/// that lies on one physical line: where it starts in the logical text and
/// in the file (1-based line and character column).
struct Seg {
    logical: usize,
    line: u32,
    col: u32,
}

/// An instruction's text with its continuations joined, and where each
/// part was written.
struct Logical {
    text: String,
    segs: Vec<Seg>,
    /// The 0-based index of the physical line after the instruction.
    next_line: usize,
}

/// Turns byte offsets of a [`Logical`] text into file positions; queries
/// in increasing order cost the characters in between only.
struct Locator<'a> {
    lg: &'a Logical,
    /// (segment, offset, column at offset) of the last query.
    cache: (usize, usize, u32),
}

impl<'a> Locator<'a> {
    fn new(lg: &'a Logical) -> Self {
        Locator { lg, cache: (usize::MAX, 0, 0) }
    }

    fn pos(&mut self, o: usize) -> (u32, u32) {
        let segs = &self.lg.segs;
        let si = segs.partition_point(|s| s.logical <= o).saturating_sub(1);
        let Some(s) = segs.get(si) else { return (1, 1) };
        let (from, col) =
            if self.cache.0 == si && self.cache.1 <= o { (self.cache.1, self.cache.2) } else { (s.logical, s.col) };
        let o = o.min(self.lg.text.len()).max(from);
        let col = col + count_chars(self.lg.text.get(from..o).unwrap_or_default());
        self.cache = (si, o, col);
        (s.line, col)
    }

    /// The span of the text `[a, b)`: a point at `a` when empty.
    fn span(&mut self, a: usize, b: usize) -> Span {
        let (l1, c1) = self.pos(a);
        if b <= a {
            return Span::point(l1, c1);
        }
        let last = self.lg.text.get(..b).and_then(|t| t.char_indices().next_back()).map_or(a, |(i, _)| i.max(a));
        let (l2, c2) = self.pos(last);
        Span { start_line: l1, start_col: c1, end_line: l2, end_col: c2 + 1 }
    }
}

fn count_chars(s: &str) -> u32 {
    if s.is_ascii() {
        s.len() as u32
    } else {
        s.chars().count() as u32
    }
}

/// What the document builder needs to know of an instruction besides its node.
struct Instr {
    node: Node,
    keyword: &'static str,
    stage: Option<usize>,
    /// USER: the user part of its value.
    user: Option<Node>,
}

/// A build stage being assembled.
struct Stage {
    index: usize,
    name: Option<Node>,
    image: Node,
    platform: Option<Node>,
    base_stage: Option<usize>,
    base_image: Node,
    span: Span,
    instrs: Vec<usize>,
}

struct Parser<'a> {
    src: &'a str,
    /// `[start, end)` of each physical line, without its `\n` and a `\r` before it.
    lines: Vec<(usize, usize)>,
    escape: char,
    errors: Vec<SyntaxError>,
    comments: Vec<Comment>,
    nodes: usize,
}

impl<'a> Parser<'a> {
    fn new(src: &'a str) -> Self {
        let mut lines = Vec::new();
        let mut start = 0;
        for (i, b) in src.bytes().enumerate() {
            if b == b'\n' {
                let end = if i > start && src.as_bytes()[i - 1] == b'\r' { i - 1 } else { i };
                lines.push((start, end));
                start = i + 1;
            }
        }
        if start < src.len() {
            let end = if src.ends_with('\r') { src.len() - 1 } else { src.len() };
            lines.push((start, end));
        }
        Parser { src, lines, escape: '\\', errors: Vec::new(), comments: Vec::new(), nodes: 0 }
    }

    fn line(&self, i: usize) -> &'a str {
        self.lines.get(i).and_then(|&(a, b)| self.src.get(a..b)).unwrap_or_default()
    }

    fn error(&mut self, line: u32, col: u32, message: impl Into<String>) {
        self.errors.push(SyntaxError { line, col, message: message.into(), first: None });
    }

    /// Records the comment on line `i` (its first non-blank character is `#`).
    fn comment(&mut self, i: usize) {
        let text = self.line(i);
        let lead = text.len() - text.trim_start().len();
        self.comments.push(Comment {
            line: i as u32 + 1,
            col: count_chars(&text[..lead]) + 1,
            text: text[lead + 1..].trim_end().to_owned(),
        });
    }

    /// The parser directives at the top of the file, from line `*i` on.
    fn directives(&mut self, i: &mut usize) -> Vec<Entry> {
        let mut out: Vec<Entry> = Vec::new();
        while *i < self.lines.len() {
            let text = self.line(*i);
            let Some((name, name_at, value, value_at)) = directive(text) else { break };
            let lname = name.to_ascii_lowercase();
            if !["syntax", "escape", "check"].contains(&lname.as_str()) {
                break; // an unknown directive is a comment, and ends them
            }
            let line = *i as u32 + 1;
            let col = |at: usize| count_chars(&text[..at]) + 1;
            let key_span =
                Span { start_line: line, start_col: col(name_at), end_line: line, end_col: col(name_at + name.len()) };
            let span = Span {
                start_line: line,
                start_col: col(value_at),
                end_line: line,
                end_col: col(value_at + value.len()),
            };
            if out.iter().any(|e| e.key == lname) {
                self.error(line, key_span.start_col, format!("only one `{lname}` parser directive may be given"));
            } else {
                if lname == "escape" {
                    match value {
                        "\\" => self.escape = '\\',
                        "`" => self.escape = '`',
                        _ => self.error(
                            line,
                            span.start_col,
                            format!("invalid escape token `{value}`: expected `\\` or `` ` ``"),
                        ),
                    }
                }
                out.push(Entry { key: lname.into(), key_span, value: string(span, value) });
            }
            *i += 1;
        }
        out
    }

    /// Joins the instruction starting on line `i` (not blank, not a comment)
    /// across its continuations.
    fn logical(&mut self, i: usize) -> Logical {
        let first = self.line(i);
        let lead = first.len() - first.trim_start().len();
        let mut lg = Logical { text: String::new(), segs: Vec::new(), next_line: i + 1 };
        let mut part = &first[lead..];
        let (mut line, mut col) = (i as u32 + 1, count_chars(&first[..lead]) + 1);
        loop {
            let cont = continues(part, self.escape);
            lg.segs.push(Seg { logical: lg.text.len(), line, col });
            lg.text.push_str(&part[..cont.unwrap_or(part.len())]);
            let Some(at) = cont else { break };
            // the next line that is neither blank nor a comment goes on
            loop {
                let j = lg.next_line;
                if j >= self.lines.len() {
                    let c = col + count_chars(&part[..at]);
                    self.error(line, c, "the file ends with a line continuation: the escape character at the end of this line continues the instruction on a line that is not there");
                    return lg;
                }
                lg.next_line += 1;
                let text = self.line(j);
                let trimmed = text.trim_start();
                if trimmed.starts_with('#') {
                    self.comment(j);
                } else if !trimmed.is_empty() {
                    (part, line, col) = (text, j as u32 + 1, 1);
                    break;
                }
            }
        }
        lg
    }

    fn file(&mut self) -> Option<Node> {
        let mut i = 0;
        let directives = self.directives(&mut i);
        let mut instrs: Vec<Instr> = Vec::new();
        let mut stages: Vec<Stage> = Vec::new();
        let mut global_args: HashMap<String, String> = HashMap::new();
        let mut before_from_reported = false;
        let mut names: HashMap<String, usize> = HashMap::new();
        let (mut copied, copy_budget) = (0usize, 4 * self.src.len() + (1 << 20));
        let mut too_many = false;
        while i < self.lines.len() {
            let trimmed = self.line(i).trim_start();
            if trimmed.is_empty() {
                i += 1;
                continue;
            }
            if trimmed.starts_with('#') {
                self.comment(i);
                i += 1;
                continue;
            }
            let lg = self.logical(i);
            i = lg.next_line;
            let mut loc = Locator::new(&lg);
            let Some(mut ins) = self.instruction(&lg, &mut loc, 0, false) else { continue };
            // heredoc bodies follow the instruction
            if let Some(docs) = ins.heredocs.take() {
                let (node, end) = self.heredoc_bodies(docs, &mut i);
                ins.end = ins.end.to(end);
                ins.entries.push(entry("heredocs", node.span, node));
            }
            if ins.keyword == "RUN" {
                let script = run_script(&ins.entries);
                ins.entries.push(entry("script", ins.args_span, string(ins.args_span, &script)));
            }
            // stages
            let stage = match ins.keyword {
                "FROM" => {
                    let index = stages.len();
                    let (image_node, name_node) = ins.from.take().unwrap_or_else(|| (string(ins.args_span, ""), None));
                    let written = image_node.as_str().unwrap_or_default().to_owned();
                    let resolved = expand_args(&written, &global_args).unwrap_or(written);
                    let lower = resolved.to_ascii_lowercase();
                    let base_stage = names.get(&lower).copied();
                    if let Some(n) = name_node.as_ref().and_then(Node::as_str) {
                        names.insert(n.to_owned(), index);
                    }
                    let image = string(image_node.span, &resolved);
                    let base_image = match base_stage.and_then(|b| stages.get(b)) {
                        // a chain of stages copies its root's image: bounded
                        // against a long reference named by many stages
                        Some(b) if copied + b.base_image.as_str().map_or(0, str::len) > copy_budget => {
                            too_many = true;
                            let s = ins.keyword_span;
                            self.error(s.start_line, s.start_col, yaml::too_many_nodes());
                            break;
                        }
                        Some(b) => {
                            copied += b.base_image.as_str().map_or(0, str::len);
                            b.base_image.clone()
                        }
                        None => image.clone(),
                    };
                    let platform = ins.flags.iter().find(|e| e.key == "platform").map(|e| e.value.clone());
                    stages.push(Stage {
                        index,
                        name: name_node,
                        image,
                        platform,
                        base_stage,
                        base_image,
                        span: ins.end,
                        instrs: Vec::new(),
                    });
                    Some(index)
                }
                _ if stages.is_empty() => {
                    if ins.keyword == "ARG" {
                        for (k, v) in &ins.args {
                            if let Some(v) = v {
                                global_args.insert(k.clone(), v.clone());
                            }
                        }
                    } else if !before_from_reported {
                        before_from_reported = true;
                        let s = ins.keyword_span;
                        self.error(
                            s.start_line,
                            s.start_col,
                            format!(
                                "`{}` before the first `FROM`: only `ARG` may come before it (no build stage yet)",
                                ins.keyword
                            ),
                        );
                    }
                    None
                }
                _ => Some(stages.len() - 1),
            };
            if let Some(s) = stage {
                ins.entries.push(entry("stage", ins.keyword_span, int(ins.keyword_span, s as i64)));
            }
            let node = map(ins.end, ins.entries);
            self.nodes += crate::node::count_nodes(&node) * 3;
            if self.nodes > yaml::MAX_DOCUMENT_NODES {
                let s = node.span;
                self.error(s.start_line, s.start_col, yaml::too_many_nodes());
                too_many = true;
                break;
            }
            if let Some(st) = stage.and_then(|s| stages.get_mut(s)) {
                st.span = st.span.to(node.span);
                st.instrs.push(instrs.len());
            }
            instrs.push(Instr { node, keyword: ins.keyword, stage, user: ins.user });
        }
        if instrs.is_empty() || too_many {
            return None;
        }
        Some(self.document(directives, instrs, stages))
    }

    fn document(&mut self, directives: Vec<Entry>, mut instrs: Vec<Instr>, stages: Vec<Stage>) -> Node {
        // the stages whose files are in the final image: the last one and
        // those it builds on through FROM
        let mut runtime = vec![false; stages.len()];
        let mut next = stages.len().checked_sub(1);
        while let Some(s) = next.filter(|&s| !runtime[s]) {
            runtime[s] = true;
            next = stages.get(s).and_then(|st| st.base_stage);
        }
        for i in &mut instrs {
            let rt = i.stage.is_some_and(|s| runtime.get(s).copied().unwrap_or(false));
            let span = i.node.span;
            if let NodeValue::Map(entries) = &mut i.node.value {
                let key_span = entries.first().map_or(span, |e| e.key_span);
                entries.push(entry("runtime", key_span, Node { span: key_span, value: NodeValue::Bool(rt) }));
            }
        }
        let mut stage_nodes: Vec<Node> = Vec::with_capacity(stages.len());
        // each stage's own last USER and HEALTHCHECK (instruction indexes)
        let own = |st: &Stage, kw: &str| {
            st.instrs.iter().rev().copied().find(|&i| instrs.get(i).is_some_and(|i| i.keyword == kw))
        };
        let users: Vec<Option<usize>> = stages.iter().map(|st| own(st, "USER")).collect();
        let checks: Vec<Option<usize>> = stages.iter().map(|st| own(st, "HEALTHCHECK")).collect();
        // the last stage's effective ones, through the stages it builds on
        // (one copy, however long the chain)
        let effective = |v: &[Option<usize>]| {
            let mut s = stages.len().checked_sub(1);
            while let Some(i) = s {
                if let Some(found) = v.get(i).copied().flatten() {
                    return Some(found);
                }
                s = stages.get(i).and_then(|st| st.base_stage);
            }
            None
        };
        let (final_user, final_check) = (effective(&users), effective(&checks));
        for (k, st) in stages.iter().enumerate() {
            let last = k + 1 == stages.len();
            let user_at = if last { final_user } else { users.get(k).copied().flatten() };
            let check_at = if last { final_check } else { checks.get(k).copied().flatten() };
            let user = user_at.and_then(|i| instrs.get(i)).and_then(|i| i.user.clone());
            let check = check_at.and_then(|i| instrs.get(i)).map(|i| i.node.clone());
            let from = instrs.get(st.instrs.first().copied().unwrap_or(0)).map_or(st.span, |i| i.node.span);
            let mut e = vec![entry("index", from, int(from, st.index as i64))];
            if let Some(n) = &st.name {
                e.push(entry("name", n.span, n.clone()));
            }
            e.push(entry("image", st.image.span, st.image.clone()));
            if let Some(p) = &st.platform {
                e.push(entry("platform", p.span, p.clone()));
            }
            if let Some(b) = st.base_stage {
                e.push(entry("base_stage", st.image.span, int(st.image.span, b as i64)));
            }
            e.push(entry("base_image", st.base_image.span, st.base_image.clone()));
            if let Some(u) = &user {
                e.push(entry("user", u.span, u.clone()));
            }
            if let Some(c) = &check {
                e.push(entry("healthcheck", c.span, c.clone()));
            }
            let list: Vec<Node> = st.instrs.iter().filter_map(|&i| instrs.get(i)).map(|i| i.node.clone()).collect();
            e.push(entry("instructions", st.span, seq(st.span, list)));
            stage_nodes.push(map(st.span, e));
        }
        let first = instrs.first().map(|i| i.node.span).unwrap_or_default();
        let last = instrs.last().map(|i| i.node.span).unwrap_or_default();
        let all = first.to(last);
        let mut doc: Vec<Entry> = Vec::new();
        if !directives.is_empty() {
            let span = directives[0].key_span.to(directives[directives.len() - 1].value.span);
            doc.push(entry("directives", span, map(span, directives)));
        }
        let span = Span { start_line: 1, start_col: 1, ..all };
        let final_stage = stage_nodes.last().cloned();
        let stages_span = stage_nodes.first().map(|s| s.span.to(last)).unwrap_or(all);
        doc.push(entry("instructions", all, seq(all, instrs.into_iter().map(|i| i.node).collect())));
        doc.push(entry("stages", stages_span, seq(stages_span, stage_nodes)));
        if let Some(f) = final_stage {
            doc.push(entry("final_stage", f.span, f));
        }
        map(span, doc)
    }

    /// Reads the bodies of `docs` from line `*i` on, in order; returns the
    /// `heredocs` list and the span up to the last terminator.
    fn heredoc_bodies(&mut self, docs: Vec<Marker>, i: &mut usize) -> (Node, Span) {
        let mut items = Vec::with_capacity(docs.len());
        let mut end = docs.first().map(|d| d.span).unwrap_or_default();
        for d in docs {
            let start = *i;
            let mut body = String::new();
            let mut terminated = false;
            while *i < self.lines.len() {
                let text = self.line(*i);
                *i += 1;
                let line = if d.strip_tabs { text.trim_start_matches('\t') } else { text };
                if line == d.name {
                    terminated = true;
                    break;
                }
                body.push_str(line);
                body.push('\n');
            }
            let body_lines = *i - start - usize::from(terminated);
            let body_span = if body_lines == 0 {
                Span::point(start as u32 + 1, 1)
            } else {
                let last = start + body_lines - 1;
                Span {
                    start_line: start as u32 + 1,
                    start_col: 1,
                    end_line: last as u32 + 1,
                    end_col: count_chars(self.line(last)) + 1,
                }
            };
            let span = if terminated {
                let t = *i - 1;
                d.span.to(Span::point(t as u32 + 1, count_chars(self.line(t)) + 1))
            } else {
                self.error(
                    d.span.start_line,
                    d.span.start_col,
                    format!("unterminated heredoc: no line `{}` closes the heredoc opened here", d.name),
                );
                d.span.to(body_span)
            };
            end = end.to(span);
            let e = vec![
                entry("delimiter", d.name_span, string(d.name_span, &d.name)),
                entry("body", body_span, string(body_span, &body)),
                entry("expand", d.span, Node { span: d.span, value: NodeValue::Bool(!d.quoted) }),
            ];
            items.push(map(span, e));
        }
        (seq(end, items), end)
    }

    /// Reads one instruction from `lg` at `from` (after ONBUILD: its trigger).
    fn instruction(&mut self, lg: &Logical, loc: &mut Locator, from: usize, onbuild: bool) -> Option<Parsed> {
        let text = lg.text.as_str();
        let kw_end = text[from..].find(char::is_whitespace).map_or(text.len(), |k| from + k);
        let word = &text[from..kw_end];
        let keyword_span = loc.span(from, kw_end);
        let Some(&keyword) = INSTRUCTIONS.iter().find(|k| k.eq_ignore_ascii_case(word)) else {
            let shown: String = word.chars().take(40).collect();
            self.error(
                keyword_span.start_line,
                keyword_span.start_col,
                format!("unknown instruction `{shown}` (expected one of {})", INSTRUCTIONS.join(", ")),
            );
            return None;
        };
        let mut entries = vec![entry("instruction", keyword_span, string(keyword_span, keyword))];
        // flags
        let mut at = skip_ws(text, kw_end);
        let mut flags: Vec<Entry> = Vec::new();
        let mut flag_at: HashMap<&str, usize> = HashMap::new();
        if keyword != "ONBUILD" {
            while text[at..].starts_with("--") {
                let w_end = word_end(text, at, self.escape);
                let word = &text[at..w_end];
                at = skip_ws(text, w_end);
                if word == "--" {
                    break;
                }
                let (name, value) = match word.find('=') {
                    Some(eq) => (&word[2..eq], Some(eq)),
                    None => (&word[2..], None),
                };
                let key_span = loc.span(w_end - word.len(), w_end - word.len() + 2 + name.len());
                let value = match value {
                    Some(eq) => {
                        let a = w_end - word.len() + eq + 1;
                        string(loc.span(a, w_end), &unquote(&word[eq + 1..], self.escape))
                    }
                    None => Node { span: loc.span(w_end - word.len(), w_end), value: NodeValue::Bool(true) },
                };
                match flag_at.get(name).and_then(|&k| flags.get_mut(k)) {
                    Some(Entry { value: Node { span, value: NodeValue::Seq(items) }, .. })
                        if LIST_FLAGS.contains(&name) =>
                    {
                        *span = span.to(value.span);
                        items.push(value);
                    }
                    // given again: the last one counts
                    Some(e) => *e = Entry { key: name.into(), key_span, value },
                    None => {
                        flag_at.insert(name, flags.len());
                        let value = if LIST_FLAGS.contains(&name) { seq(value.span, vec![value]) } else { value };
                        flags.push(Entry { key: name.into(), key_span, value });
                    }
                }
            }
        }
        let end = text.trim_end().len().max(at);
        let args = &text[at..end];
        let args_span = loc.span(at, end);
        let instr_span = loc.span(from, end);
        entries.push(entry("arguments", args_span, string(args_span, args)));
        if args.is_empty() {
            self.error(keyword_span.start_line, keyword_span.start_col, format!("`{keyword}` needs arguments"));
        }
        let mut parsed = Parsed {
            keyword,
            keyword_span,
            args_span,
            end: instr_span,
            entries: Vec::new(),
            flags: Vec::new(),
            heredocs: None,
            from: None,
            user: None,
            args: Vec::new(),
        };
        let esc = self.escape;
        let exec = || json_array(text, at, end);
        let (form, value) = match keyword {
            "RUN" | "CMD" | "ENTRYPOINT" | "SHELL" => match exec() {
                Some(items) => ("exec", strings(loc, items)),
                None => ("shell", string(args_span, args)),
            },
            "VOLUME" => match exec() {
                Some(items) => ("exec", strings(loc, items)),
                None => ("shell", words_node(loc, text, at, end, esc, args_span)),
            },
            "COPY" | "ADD" => {
                let (form, items) = match exec() {
                    Some(items) => ("exec", items),
                    None => (
                        "shell",
                        words(text, at, end, esc).into_iter().map(|(a, b)| (a, b, unquote(&text[a..b], esc))).collect(),
                    ),
                };
                if items.len() < 2 && !args.is_empty() {
                    self.error(
                        keyword_span.start_line,
                        keyword_span.start_col,
                        format!("`{keyword}` needs at least one source and a destination"),
                    );
                }
                let mut nodes: Vec<Node> = items.into_iter().map(|(a, b, s)| string(loc.span(a, b), &s)).collect();
                let dest = nodes.pop().unwrap_or_else(|| string(args_span, ""));
                let sources_span = nodes.first().map(|n| n.span.to(nodes[nodes.len() - 1].span)).unwrap_or(args_span);
                let v = map(
                    args_span,
                    vec![
                        entry("sources", sources_span, seq(sources_span, nodes)),
                        entry("destination", dest.span, dest),
                    ],
                );
                (form, v)
            }
            "ENV" | "LABEL" | "ARG" => {
                let (v, pairs) = pairs(loc, text, at, end, esc, keyword);
                parsed.args = pairs;
                ("shell", v)
            }
            "EXPOSE" => {
                let items = words(text, at, end, esc)
                    .into_iter()
                    .map(|(a, b)| {
                        let w = unquote(&text[a..b], esc);
                        let (port, proto) = match w.split_once('/') {
                            Some((p, pr)) => (p.to_owned(), pr.to_ascii_lowercase()),
                            None => (w.clone(), "tcp".to_owned()),
                        };
                        let s = loc.span(a, b);
                        map(s, vec![entry("port", s, string(s, &port)), entry("protocol", s, string(s, &proto))])
                    })
                    .collect();
                ("shell", seq(args_span, items))
            }
            "USER" => {
                let w = unquote(args, esc);
                let (user, group) = match w.split_once(':') {
                    Some((u, g)) => (u.to_owned(), Some(g.to_owned())),
                    None => (w.clone(), None),
                };
                let ulen = text[at..end].find(':').unwrap_or(args.len());
                let us = loc.span(at, at + ulen);
                let mut e = vec![entry("user", us, string(us, &user))];
                if let Some(g) = group {
                    let gs = loc.span((at + ulen + 1).min(end), end);
                    e.push(entry("group", gs, string(gs, &g)));
                }
                parsed.user = Some(string(us, &user));
                ("shell", map(args_span, e))
            }
            "FROM" => {
                let ws = words(text, at, end, esc);
                if ws.len() != 1
                    && !(ws.len() == 3 && text[ws[1].0..ws[1].1].eq_ignore_ascii_case("as"))
                    && !ws.is_empty()
                {
                    self.error(
                        keyword_span.start_line,
                        keyword_span.start_col,
                        "`FROM` takes an image and optionally `AS name`: `FROM [--platform=…] IMAGE [AS NAME]`",
                    );
                }
                let image = ws.first().map_or_else(
                    || string(args_span, ""),
                    |&(a, b)| string(loc.span(a, b), &unquote(&text[a..b], esc)),
                );
                let name = match ws.as_slice() {
                    [_, (a1, b1), (a, b)] if text[*a1..*b1].eq_ignore_ascii_case("as") => {
                        Some(string(loc.span(*a, *b), &unquote(&text[*a..*b], esc).to_ascii_lowercase()))
                    }
                    _ => None,
                };
                let mut e = vec![entry("image", image.span, image.clone())];
                if let Some(n) = &name {
                    e.push(entry("name", n.span, n.clone()));
                }
                parsed.from = Some((image, name));
                ("shell", map(args_span, e))
            }
            "HEALTHCHECK" => {
                let ws = words(text, at, end, esc);
                let first = ws.first().map(|&(a, b)| &text[a..b]).unwrap_or_default();
                if first.eq_ignore_ascii_case("NONE") {
                    let s = loc.span(ws[0].0, ws[0].1);
                    ("shell", map(args_span, vec![entry("none", s, Node { span: s, value: NodeValue::Bool(true) })]))
                } else {
                    let cmd_at = if first.eq_ignore_ascii_case("CMD") { skip_ws(text, ws[0].1) } else { at };
                    let cs = loc.span(cmd_at, end);
                    let (form, command) = match json_array(text, cmd_at, end) {
                        Some(items) => ("exec", strings(loc, items)),
                        None => ("shell", string(cs, &text[cmd_at..end])),
                    };
                    let none = Node { span: args_span, value: NodeValue::Bool(false) };
                    (form, map(args_span, vec![entry("none", args_span, none), entry("command", cs, command)]))
                }
            }
            "ONBUILD" => {
                if onbuild {
                    self.error(keyword_span.start_line, keyword_span.start_col, "`ONBUILD ONBUILD` is not allowed");
                    return None;
                }
                let trigger = if args.is_empty() { None } else { self.instruction(lg, loc, at, true) };
                match trigger {
                    Some(t) => {
                        if t.keyword == "FROM" || t.keyword == "MAINTAINER" {
                            self.error(
                                t.keyword_span.start_line,
                                t.keyword_span.start_col,
                                format!("`{}` is not allowed as an `ONBUILD` trigger", t.keyword),
                            );
                        }
                        ("shell", map(t.end, t.entries))
                    }
                    None => ("shell", Node { span: args_span, value: NodeValue::Null }),
                }
            }
            _ => ("shell", string(args_span, args)),
        };
        entries.push(entry("form", args_span, string(args_span, form)));
        entries.push(entry("value", value.span, value));
        let flags_span =
            flags.first().map(|f| f.key_span.to(flags[flags.len() - 1].value.span)).unwrap_or(keyword_span);
        parsed.flags = flags.clone();
        entries.push(entry("flags", flags_span, map(flags_span, flags)));
        if matches!(keyword, "RUN" | "COPY" | "ADD") && form == "shell" && !onbuild {
            let markers = markers(loc, text, at, end, esc);
            if markers.is_empty() {
                entries.push(entry("heredocs", args_span, seq(args_span, Vec::new())));
            } else {
                parsed.heredocs = Some(markers);
            }
        }
        parsed.entries = entries;
        Some(parsed)
    }
}

/// An instruction as read, before it is placed in its stage.
struct Parsed {
    keyword: &'static str,
    keyword_span: Span,
    args_span: Span,
    /// The whole instruction, up to its last heredoc terminator.
    end: Span,
    entries: Vec<Entry>,
    flags: Vec<Entry>,
    /// Heredocs whose bodies are still to read.
    heredocs: Option<Vec<Marker>>,
    /// FROM: the image and the stage name.
    from: Option<(Node, Option<Node>)>,
    /// USER: the user part.
    user: Option<Node>,
    /// ARG: names and defaults.
    args: Vec<(String, Option<String>)>,
}

/// A heredoc opened by `<<NAME` in an instruction.
struct Marker {
    name: String,
    span: Span,
    name_span: Span,
    strip_tabs: bool,
    quoted: bool,
}

/// Every heredoc marker among the words of `text[at..end]` (BuildKit's
/// `^(\d*)<<(-?)([^<]*)$` on each word, the name unquoted).
fn markers(loc: &mut Locator, text: &str, at: usize, end: usize, esc: char) -> Vec<Marker> {
    let mut out = Vec::new();
    if !text[at..end].contains("<<") {
        return out;
    }
    for (a, b) in words(text, at, end, esc) {
        let w = &text[a..b];
        let digits = w.bytes().take_while(u8::is_ascii_digit).count();
        let Some(rest) = w[digits..].strip_prefix("<<") else { continue };
        let (strip_tabs, rest) = match rest.strip_prefix('-') {
            Some(r) => (true, r),
            None => (false, rest),
        };
        if rest.contains('<') {
            continue;
        }
        let name = unquote(rest, esc);
        if name.is_empty() {
            continue;
        }
        let name_at = b - rest.len();
        out.push(Marker {
            name,
            span: loc.span(a, b),
            name_span: loc.span(name_at, b),
            strip_tabs,
            quoted: rest.contains(['"', '\'']),
        });
    }
    out
}

/// What a RUN executes, for text searches: the shell form's arguments
/// followed by each heredoc body, or the exec form's words joined by spaces.
fn run_script(entries: &[Entry]) -> String {
    let get = |k: &str| entries.iter().find(|e| e.key == k).map(|e| &e.value);
    let mut out = match get("value").map(|v| &v.value) {
        Some(NodeValue::Seq(items)) => items.iter().filter_map(Node::as_str).collect::<Vec<_>>().join(" "),
        Some(NodeValue::Str { value, .. }) => value.to_string(),
        _ => String::new(),
    };
    if let Some(NodeValue::Seq(docs)) = get("heredocs").map(|v| &v.value) {
        for d in docs {
            if let Some(body) = d.str_at(&["body"]) {
                out.push('\n');
                out.push_str(body);
            }
        }
    }
    out
}

/// ENV, LABEL and ARG: `[{key, value}]`, `value` absent for an ARG
/// without a default; the legacy `ENV KEY value with spaces` is one pair.
fn pairs(
    loc: &mut Locator,
    text: &str,
    at: usize,
    end: usize,
    esc: char,
    keyword: &str,
) -> (Node, Vec<(String, Option<String>)>) {
    let ws = words(text, at, end, esc);
    let mut items = Vec::with_capacity(ws.len());
    let mut raw = Vec::with_capacity(ws.len());
    let legacy = keyword != "ARG" && ws.first().is_some_and(|&(a, b)| !text[a..b].contains('='));
    if legacy {
        if let Some(&(a, b)) = ws.first() {
            let key = unquote(&text[a..b], esc);
            let vs = skip_ws(text, b);
            let value = unquote(&text[vs..end], esc);
            let (ks, vsp) = (loc.span(a, b), loc.span(vs, end));
            items.push(map(
                ks.to(vsp),
                vec![entry("key", ks, string(ks, &key)), entry("value", vsp, string(vsp, &value))],
            ));
            raw.push((key, Some(value)));
        }
    } else {
        for (a, b) in ws {
            let w = &text[a..b];
            let (key, value) = match w.find('=') {
                Some(eq) => (unquote(&w[..eq], esc), Some((a + eq + 1, unquote(&w[eq + 1..], esc)))),
                None => (unquote(w, esc), None),
            };
            let ks = loc.span(a, a + w.find('=').unwrap_or(w.len()));
            let mut e = vec![entry("key", ks, string(ks, &key))];
            if let Some((va, v)) = &value {
                let vsp = loc.span(*va, b);
                e.push(entry("value", vsp, string(vsp, v)));
            }
            let s = loc.span(a, b);
            items.push(map(s, e));
            raw.push((key, value.map(|(_, v)| v)));
        }
    }
    let span = loc.span(at, end);
    (seq(span, items), raw)
}

/// The exec form: `text[at..end]` as a JSON array of strings, each with its
/// `[start, end)` (quotes included) and decoded value; `None` otherwise.
fn json_array(text: &str, at: usize, end: usize) -> Option<Vec<(usize, usize, String)>> {
    let b = text.as_bytes();
    let ws = |mut i: usize| {
        while i < end && matches!(b[i], b' ' | b'\t' | b'\n' | b'\r') {
            i += 1;
        }
        i
    };
    if b.get(at) != Some(&b'[') {
        return None;
    }
    let mut i = ws(at + 1);
    let mut out = Vec::new();
    if b.get(i) == Some(&b']') && i < end {
        return (ws(i + 1) == end).then_some(out);
    }
    loop {
        if i >= end || b[i] != b'"' {
            return None;
        }
        let start = i;
        i += 1;
        while i < end && b[i] != b'"' {
            i += if b[i] == b'\\' { 2 } else { 1 };
        }
        if i >= end {
            return None;
        }
        i += 1;
        let s: String = serde_json::from_str(text.get(start..i)?).ok()?;
        out.push((start, i, s));
        i = ws(i);
        match b.get(i) {
            Some(b',') if i < end => i = ws(i + 1),
            Some(b']') if i < end => return (ws(i + 1) == end).then_some(out),
            _ => return None,
        }
    }
}

fn strings(loc: &mut Locator, items: Vec<(usize, usize, String)>) -> Node {
    let nodes: Vec<Node> = items.into_iter().map(|(a, b, s)| string(loc.span(a, b), &s)).collect();
    let span = nodes.first().map(|n| n.span.to(nodes[nodes.len() - 1].span)).unwrap_or_default();
    seq(span, nodes)
}

fn words_node(loc: &mut Locator, text: &str, at: usize, end: usize, esc: char, span: Span) -> Node {
    let items = words(text, at, end, esc)
        .into_iter()
        .map(|(a, b)| string(loc.span(a, b), &unquote(&text[a..b], esc)))
        .collect();
    seq(span, items)
}

fn skip_ws(text: &str, mut i: usize) -> usize {
    while let Some(c) = text.get(i..).and_then(|t| t.chars().next()) {
        if !c.is_whitespace() {
            break;
        }
        i += c.len_utf8();
    }
    i
}

/// The end of the word starting at `at`: the next blank outside quotes
/// (`'…'`, `"…"`), the escape character escaping the next one.
fn word_end(text: &str, at: usize, esc: char) -> usize {
    let mut quote: Option<char> = None;
    let mut chars = text[at..].char_indices();
    while let Some((i, c)) = chars.next() {
        match quote {
            Some(q) if c == q => quote = None,
            Some('"') if c == esc => {
                chars.next();
            }
            Some(_) => {}
            None if c == '"' || c == '\'' => quote = Some(c),
            None if c == esc => {
                chars.next();
            }
            None if c.is_whitespace() => return at + i,
            None => {}
        }
    }
    text.len()
}

/// The `[start, end)` of each word of `text[at..end]`.
fn words(text: &str, at: usize, end: usize, esc: char) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut i = skip_ws(text, at);
    while i < end {
        let e = word_end(text, i, esc).min(end);
        out.push((i, e));
        i = skip_ws(text, e);
    }
    out
}

/// A word as the shell lexer reads it without expanding variables: quotes
/// removed; the escape character keeps the next character (in double
/// quotes only before `"`, `$`, `` ` `` or itself); single quotes are literal.
fn unquote(w: &str, esc: char) -> String {
    if !w.contains(['"', '\'', esc]) {
        return w.to_owned();
    }
    let mut out = String::with_capacity(w.len());
    let mut quote: Option<char> = None;
    let mut chars = w.chars().peekable();
    while let Some(c) = chars.next() {
        match quote {
            Some(q) if c == q => quote = None,
            Some('"') if c == esc => match chars.peek() {
                Some(&n) if n == '"' || n == '$' || n == '`' || n == esc => {
                    out.push(n);
                    chars.next();
                }
                _ => out.push(c),
            },
            Some(_) => out.push(c),
            None if c == '"' || c == '\'' => quote = Some(c),
            None if c == esc => match chars.next() {
                Some(n) => out.push(n),
                None => out.push(c),
            },
            None => out.push(c),
        }
    }
    out
}

/// Where the continuation character of `line` is (the escape character,
/// then only blanks), if it continues.
fn continues(line: &str, esc: char) -> Option<usize> {
    let t = line.trim_end_matches([' ', '\t']);
    t.ends_with(esc).then(|| t.len() - esc.len_utf8())
}

/// A parser directive line `# name = value`: (name, its offset, value, its offset).
fn directive(line: &str) -> Option<(&str, usize, &str, usize)> {
    let lead = line.len() - line.trim_start().len();
    let rest = line[lead..].strip_prefix('#')?;
    let name_at = line.len() - rest.trim_start().len();
    let name_len = line[name_at..].bytes().take_while(u8::is_ascii_alphanumeric).count();
    let name = &line[name_at..name_at + name_len];
    if !name.starts_with(|c: char| c.is_ascii_alphabetic()) {
        return None;
    }
    let after = line[name_at + name_len..].trim_start_matches([' ', '\t']);
    let after = after.strip_prefix('=')?;
    let value = after.trim_matches([' ', '\t']);
    if value.is_empty() {
        return None;
    }
    let value_at = line.len() - after.trim_start_matches([' ', '\t']).len();
    Some((name, name_at, value, value_at))
}

/// `$NAME`, `${NAME}` and `${NAME:-word}` replaced by the defaults of the
/// ARGs before the first FROM; `None` when a variable has none.
fn expand_args(s: &str, args: &HashMap<String, String>) -> Option<String> {
    if !s.contains('$') {
        return Some(s.to_owned());
    }
    let mut out = String::new();
    let mut rest = s;
    while let Some(d) = rest.find('$') {
        out.push_str(&rest[..d]);
        rest = &rest[d + 1..];
        if let Some(r) = rest.strip_prefix('{') {
            let close = r.find('}')?;
            let inner = &r[..close];
            let (name, default) = match inner.split_once(":-") {
                Some((n, w)) => (n, Some(w)),
                None => (inner, None),
            };
            let value = match default {
                Some(w) => args.get(name).map(String::as_str).filter(|v| !v.is_empty()).unwrap_or(w),
                None => args.get(name)?,
            };
            out.push_str(value);
            rest = &r[close + 1..];
        } else {
            let n = rest.bytes().take_while(|b| b.is_ascii_alphanumeric() || *b == b'_').count();
            out.push_str(args.get(&rest[..n])?);
            rest = &rest[n..];
        }
    }
    out.push_str(rest);
    Some(out)
}

fn string(span: Span, s: &str) -> Node {
    Node { span, value: NodeValue::Str { value: CompactString::from(s), plain: false } }
}

fn int(span: Span, i: i64) -> Node {
    Node { span, value: NodeValue::Int(i) }
}

fn seq(span: Span, items: Vec<Node>) -> Node {
    Node { span, value: NodeValue::Seq(items) }
}

fn map(span: Span, entries: Vec<Entry>) -> Node {
    Node { span, value: NodeValue::Map(entries) }
}

fn entry(key: &str, key_span: Span, value: Node) -> Entry {
    Entry { key: key.into(), key_span, value }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(src: &str) -> (Node, ParsedFile) {
        let mut p = parse(src);
        let d = p.documents.pop().expect("a document");
        (d, p)
    }

    fn at(d: &Node, ptr: &str) -> (u32, u32, u32, u32) {
        let s = d.value_span_of_pointer(ptr).0;
        (s.start_line, s.start_col, s.end_line, s.end_col)
    }

    const MULTI: &str = "# syntax=docker/dockerfile:1\nARG BASE=golang:1.22\nFROM --platform=$BUILDPLATFORM ${BASE} AS Build\nRUN --mount=type=cache,target=/root/.cache \\\n    # a comment\n    go build -o /app . && \\\n    echo \"#x\"\nFROM build AS test\nUSER nobody\nFROM gcr.io/distroless/static:nonroot\nCOPY --from=build --chown=app /app /app\nENV A=1 B=\"two words\"\nEXPOSE 8080/udp 9090\nUSER app:app\nHEALTHCHECK --interval=30s CMD [\"/app\", \"health\"]\nCMD [\"/app\"]\n";

    #[test]
    fn instructions_flags_values_and_stages() {
        let (d, p) = doc(MULTI);
        assert!(p.errors.is_empty(), "{:?}", p.errors);
        let j = d.to_json();
        assert_eq!(j["directives"]["syntax"], "docker/dockerfile:1");
        let i = &j["instructions"];
        assert_eq!(i[0]["instruction"], "ARG");
        assert!(i[0].get("stage").is_none(), "a global ARG is in no stage");
        assert_eq!(i[1]["flags"]["platform"], "$BUILDPLATFORM");
        assert_eq!(i[1]["value"], serde_json::json!({"image": "${BASE}", "name": "build"}));
        assert_eq!(i[2]["arguments"], "go build -o /app . &&     echo \"#x\"");
        assert_eq!(i[2]["flags"]["mount"], serde_json::json!(["type=cache,target=/root/.cache"]));
        assert_eq!(i[2]["form"], "shell");
        assert_eq!(i[6]["value"], serde_json::json!({"sources": ["/app"], "destination": "/app"}));
        assert_eq!(i[6]["flags"], serde_json::json!({"from": "build", "chown": "app"}));
        assert_eq!(i[7]["value"], serde_json::json!([{"key": "A", "value": "1"}, {"key": "B", "value": "two words"}]));
        assert_eq!(
            i[8]["value"],
            serde_json::json!([{"port": "8080", "protocol": "udp"}, {"port": "9090", "protocol": "tcp"}])
        );
        assert_eq!(i[9]["value"], serde_json::json!({"user": "app", "group": "app"}));
        assert_eq!(i[10]["value"], serde_json::json!({"none": false, "command": ["/app", "health"]}));
        assert_eq!(i[10]["form"], "exec");
        assert_eq!(i[11]["value"], serde_json::json!(["/app"]));
        // stages: the global ARG resolves the image, a stage named in FROM is followed
        let st = &j["stages"];
        assert_eq!(st[0]["image"], "golang:1.22");
        assert_eq!(st[0]["name"], "build");
        assert_eq!(st[0]["platform"], "$BUILDPLATFORM");
        assert_eq!(st[1]["base_stage"], 0);
        assert_eq!(st[1]["base_image"], "golang:1.22");
        assert_eq!(st[1]["user"], "nobody");
        assert_eq!(st[0]["instructions"].as_array().map(Vec::len), Some(2));
        assert_eq!(j["final_stage"]["index"], 2);
        let runtime: Vec<bool> = i.as_array().unwrap().iter().map(|i| i["runtime"] == true).collect();
        assert_eq!(runtime, [false, false, false, false, false, true, true, true, true, true, true, true]);
        assert_eq!(j["final_stage"]["user"], "app");
        assert_eq!(j["final_stage"]["healthcheck"]["flags"]["interval"], "30s");
        assert_eq!(j["final_stage"]["instructions"][0]["instruction"], "FROM");
        assert_eq!(resource(&d).and_then(|r| r.name), Some("gcr.io/distroless/static:nonroot".into()));
        // the comment between continuation lines is a comment; `#x` is not
        assert_eq!(p.comments, vec![Comment { line: 5, col: 5, text: " a comment".into() }]);
    }

    #[test]
    fn spans_of_instructions_arguments_keys_and_values() {
        let (d, _) = doc(MULTI);
        // the RUN spans its continuation lines; its arguments start after the flags
        assert_eq!(at(&d, "/instructions/2"), (4, 1, 7, 14));
        assert_eq!(at(&d, "/instructions/2/arguments"), (6, 5, 7, 14));
        assert_eq!(at(&d, "/instructions/2/instruction"), (4, 1, 4, 4));
        assert_eq!(at(&d, "/instructions/2/flags/mount/0"), (4, 13, 4, 43));
        assert_eq!(d.span_of_pointer("/instructions/2/flags/mount").0.start_col, 5, "a key's span is the flag name");
        assert_eq!(at(&d, "/instructions/1/value/image"), (3, 32, 3, 39));
        assert_eq!(at(&d, "/instructions/7/value/1/value"), (12, 11, 12, 22));
        assert_eq!(at(&d, "/instructions/7/value/1/key"), (12, 9, 12, 10));
        assert_eq!(at(&d, "/instructions/10/value/command/1"), (15, 41, 15, 49));
        assert_eq!(at(&d, "/final_stage/user"), (14, 6, 14, 9));
        assert_eq!(at(&d, "/stages/1/user"), (9, 6, 9, 12));
        assert_eq!(at(&d, "/final_stage"), (10, 1, 16, 13));
        assert_eq!(at(&d, "/final_stage/instructions/4"), (14, 1, 14, 13));
        assert_eq!(at(&d, "/directives/syntax"), (1, 10, 1, 29));
    }

    #[test]
    fn heredocs_several_in_one_instruction_with_tabs_and_quotes() {
        let src = "FROM alpine:3.20\nRUN <<EOF\napk add curl\ncurl https://x | sh\nEOF\nRUN python3 <<-'PY' && cat <<-SH\n\tprint('#1')\n\tPY\n\techo \"$HOME\"\n\tSH\nCOPY <<conf /etc/app.conf\nkey=value\nconf\nUSER app\n";
        let (d, p) = doc(src);
        assert!(p.errors.is_empty(), "{:?}", p.errors);
        assert!(p.comments.is_empty(), "no comment in heredoc bodies: {:?}", p.comments);
        let j = d.to_json();
        let i = &j["instructions"];
        assert_eq!(
            i[1]["heredocs"],
            serde_json::json!([{"delimiter": "EOF", "body": "apk add curl\ncurl https://x | sh\n", "expand": true}])
        );
        assert_eq!(i[1]["script"], "<<EOF\napk add curl\ncurl https://x | sh\n");
        assert_eq!(
            i[2]["heredocs"][0],
            serde_json::json!({"delimiter": "PY", "body": "print('#1')\n", "expand": false})
        );
        assert_eq!(i[2]["heredocs"][1]["body"], "echo \"$HOME\"\n");
        assert_eq!(i[3]["value"]["destination"], "/etc/app.conf");
        assert_eq!(i[4]["instruction"], "USER");
        // the instruction spans up to its last terminator; the body its lines
        assert_eq!(at(&d, "/instructions/1"), (2, 1, 5, 4));
        assert_eq!(at(&d, "/instructions/1/heredocs/0/body"), (3, 1, 4, 20));
        assert_eq!(at(&d, "/instructions/2"), (6, 1, 10, 4), "a tab is one column");
        assert_eq!(at(&d, "/instructions/2/heredocs/1/delimiter"), (6, 31, 6, 33));
        assert_eq!(at(&d, "/instructions/4"), (14, 1, 14, 9));
    }

    #[test]
    fn escape_directive_and_exec_form() {
        let src = "# escape=`\nFROM mcr.microsoft.com/windows/servercore:ltsc2022\nRUN dir C:\\ `\n    && echo done\nSHELL [\"powershell\", \"-Command\"]\nCMD ['single', 'quotes']\nVOLUME /a \"/b c\"\n";
        let (d, p) = doc(src);
        assert!(p.errors.is_empty(), "{:?}", p.errors);
        let j = d.to_json();
        assert_eq!(j["directives"]["escape"], "`");
        assert_eq!(
            j["instructions"][1]["arguments"], "dir C:\\     && echo done",
            "a backslash is not the escape character"
        );
        assert_eq!(j["instructions"][2]["form"], "exec");
        assert_eq!(j["instructions"][3]["form"], "shell", "single quotes are not JSON: Docker reads the shell form");
        assert_eq!(j["instructions"][4]["value"], serde_json::json!(["/a", "/b c"]));
        // directives are neither comments nor read after the first instruction
        assert!(p.comments.is_empty());
        let p = parse("FROM a\n# escape=`\nRUN x `\n");
        assert_eq!(p.comments.len(), 1);
        assert_eq!(p.documents[0].to_json()["instructions"][1]["arguments"], "x `");
    }

    #[test]
    fn errors_are_located_and_spoil_only_their_instruction() {
        let p = parse("FROM alpine\nRUNN make\nUSER app\n");
        assert_eq!((p.errors[0].line, p.errors[0].col), (2, 1));
        assert!(p.errors[0].message.starts_with("unknown instruction `RUNN`"), "{}", p.errors[0].message);
        let j = p.documents[0].to_json();
        assert_eq!(j["instructions"].as_array().map(Vec::len), Some(2));
        assert_eq!(j["final_stage"]["user"], "app");

        let p = parse("FROM alpine\nRUN cat <<EOF\nnever closed\n");
        assert_eq!((p.errors[0].line, p.errors[0].col), (2, 9));
        assert!(p.errors[0].message.contains("unterminated heredoc"), "{}", p.errors[0].message);
        assert_eq!(p.documents[0].to_json()["instructions"][1]["heredocs"][0]["body"], "never closed\n");

        let p = parse("FROM alpine\nRUN make \\\n");
        assert_eq!((p.errors[0].line, p.errors[0].col), (2, 10));
        assert!(p.errors[0].message.contains("line continuation"));
        assert_eq!(p.documents[0].to_json()["instructions"][1]["arguments"], "make");

        let p = parse("RUN x\nFROM a b\nFROM\n# escape=x\n");
        let at: Vec<(u32, u32)> = p.errors.iter().map(|e| (e.line, e.col)).collect();
        assert_eq!(at, vec![(1, 1), (2, 1), (3, 1)], "{:?}", p.errors);
        let p = parse("# escape=x\n# escape=`\nFROM a\n");
        let at: Vec<(u32, u32)> = p.errors.iter().map(|e| (e.line, e.col)).collect();
        assert_eq!(at, vec![(1, 10), (2, 3)], "{:?}", p.errors);
    }

    #[test]
    fn comments_blank_files_and_crlf() {
        for empty in ["", "\n\n", "# only a comment\n", "\u{feff}"] {
            let p = parse(empty);
            assert!(p.documents.is_empty() && p.errors.is_empty(), "{empty:?}");
        }
        let (d, p) =
            doc("\u{feff}# bylaw:ignore DF-001 -- ok\r\nFROM a\r\n  # indented\r\nRUN echo '#' # shell comment\r\n");
        assert_eq!(p.comments.iter().map(|c| (c.line, c.col)).collect::<Vec<_>>(), vec![(1, 1), (3, 3)]);
        assert_eq!(p.comments[0].text, " bylaw:ignore DF-001 -- ok");
        assert_eq!(d.to_json()["instructions"][1]["arguments"], "echo '#' # shell comment");
        assert_eq!(at(&d, "/instructions/1"), (4, 1, 4, 29));
    }

    #[test]
    fn the_final_stage_inherits_user_and_healthcheck_from_the_stage_it_names() {
        let (d, _) =
            doc("FROM node:20 AS base\nUSER node\nHEALTHCHECK CMD curl -f http://localhost/\nFROM base\nRUN npm ci\n");
        let j = d.to_json();
        assert_eq!(j["final_stage"]["user"], "node");
        assert!(
            j["instructions"].as_array().unwrap().iter().all(|i| i["runtime"] == true),
            "the named stage is in the image"
        );
        assert_eq!(j["final_stage"]["healthcheck"]["value"]["command"], "curl -f http://localhost/");
        assert_eq!(at(&d, "/final_stage/user"), (2, 6, 2, 10));
        let (d, _) = doc("FROM a\nHEALTHCHECK NONE\nONBUILD RUN make\n");
        let j = d.to_json();
        assert_eq!(j["final_stage"]["healthcheck"]["value"]["none"], true);
        assert_eq!(j["instructions"][2]["value"]["instruction"], "RUN");
        assert_eq!(j["instructions"][2]["value"]["arguments"], "make");
        assert_eq!(at(&d, "/instructions/2/value/arguments"), (3, 13, 3, 17));
    }

    #[test]
    fn hostile_input_is_linear_and_bounded() {
        // a long line of pairs with non-ASCII text, many heredocs, deep continuations
        let env = format!("FROM a\nENV {}\n", (0..20_000).map(|i| format!("é{i}=ü")).collect::<Vec<_>>().join(" "));
        let (d, _) = doc(&env);
        assert_eq!(d.to_json()["instructions"][1]["value"].as_array().map(Vec::len), Some(20_000));
        assert_eq!(at(&d, "/instructions/1/value/19999/value").0, 2);
        let many = format!("FROM a\nRUN {}\n", "<<A ".repeat(5_000));
        let p = parse(&many);
        assert_eq!(p.errors.len(), 5_000, "every unterminated heredoc is reported");
        let cont = format!("FROM a\nRUN a{}\n", " \\\n b".repeat(50_000));
        let p = parse(&cont);
        assert!(p.errors.is_empty());
        // too many values: an error, no partial document
        let huge = format!("FROM a\n{}", "EXPOSE 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20\n".repeat(10_000));
        let p = parse(&huge);
        assert!(p.documents.is_empty());
        assert!(p.errors[0].message.contains("more than"), "{:?}", p.errors[0]);
        // many distinct flags, many stages named in a chain: no quadratic copies
        let flags =
            format!("FROM a\nRUN {} x\n", (0..50_000).map(|i| format!("--f{i}=v")).collect::<Vec<_>>().join(" "));
        let (d, _) = doc(&flags);
        assert_eq!(
            d.get("instructions").map(|i| i.to_json()[1]["flags"].as_object().map(|f| f.len())),
            Some(Some(50_000))
        );
        let long = "x".repeat(1 << 20);
        let chain = format!(
            "FROM {long} AS s0\n{}",
            (1..20_000).map(|i| format!("FROM s{} AS s{i}\n", i - 1)).collect::<String>()
        );
        let p = parse(&chain);
        assert!(p.documents.is_empty(), "copying the image through 20,000 stages is refused");
        assert!(p.errors[0].message.contains("more than"), "{:?}", p.errors);
        let chain = format!(
            "FROM alpine:3 AS s0\nUSER app\n{}",
            (1..20_000).map(|i| format!("FROM s{} AS s{i}\n", i - 1)).collect::<String>()
        );
        let (d, _) = doc(&chain);
        let j = d.to_json();
        assert_eq!(j["final_stage"]["base_image"], "alpine:3");
        assert_eq!(j["final_stage"]["user"], "app");
        assert!(j["stages"][5].get("user").is_none(), "only the last stage has the inherited user");
        // garbage never panics
        for src in [
            "\\",
            "FROM\\",
            "RUN [\"a\\",
            "RUN <<",
            "RUN <<\"\"",
            "FROM a\nRUN <<-\n",
            "ONBUILD ONBUILD RUN x",
            "USER :",
            "EXPOSE /",
            "ENV",
            "HEALTHCHECK",
        ] {
            let _ = parse(src);
        }
    }

    #[test]
    fn dockerfile_names() {
        for p in [
            "Dockerfile",
            "a/b/dockerfile",
            "Containerfile",
            "Dockerfile.dev",
            "build/app.Dockerfile",
            "x.dockerfile",
            "Containerfile.prod",
        ] {
            assert!(is_dockerfile(p), "{p}");
        }
        for p in
            ["Dockerfile.dockerignore", "Dockerfile.md", "docs/Dockerfile.yaml", "Dockerfiles/x.txt", "my-dockerfile"]
        {
            assert!(!is_dockerfile(p), "{p}");
        }
    }
}
