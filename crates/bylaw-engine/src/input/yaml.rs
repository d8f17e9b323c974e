//! YAML (multi-document) into [`Node`] trees with source spans, built from
//! `saphyr-parser` events.
//!
//! Choices, documented for users in README ("YAML dialect"):
//! - YAML 1.2 core schema for plain scalars (`true`/`false`, `null`/`~`,
//!   ints incl. `0x`/`0o`, floats incl. `.inf`/`.nan`).
//! - Kubernetes compatibility: in a document with top-level `apiVersion` and
//!   `kind` strings ([`is_kubernetes`]), unquoted *values* are read as the
//!   Kubernetes API server reads them (YAML 1.1, go-yaml v2): booleans `yes`,
//!   `no`, `on`, `off`, `y`, `n`, and integers `0644` (octal, 420),
//!   `0b1010`, `1_000`, `-0x1F`. Keys are never converted, and other files
//!   (GitHub workflows' `on:`) keep YAML 1.2 meaning. Details in `yaml11.rs`.
//! - A syntax error spoils only its own document: parsing resumes at the
//!   next line that starts a document (`---` at column 1, then a space or the
//!   line end) after the error, with lines kept right, so every broken
//!   document is reported and the documents after it are still evaluated.
//! - Anchors are not copied when defined; an alias copies its anchor (the
//!   copies bounded by `MAX_ALIAS_NODES`).
//! - A node reached through an alias (`*a`) is located where the alias is
//!   written, and so is every node and key inside it: a finding in a copied
//!   container points at the alias, not a second time at the anchor.
//! - Merge keys (`<<: *base`) are applied; explicit keys win.
//! - Duplicate keys in one mapping are an error, as in Kubernetes tooling.
//! - A UTF-8 byte order mark is skipped.
//! - Limits against hostile input: nesting depth 256 and at most 100,000
//!   nodes created by alias expansion per file, all documents together
//!   ("billion laughs").
//! - Comments: [`ParsedFile::comments`] lists every real comment, found from
//!   the parser's token positions (see `comments.rs`): a `#` inside a quoted
//!   or block scalar is data.
//! - A quoted scalar's span ends at its closing quote (saphyr's own end
//!   marker runs on over trailing blanks and comments).

use super::comments::{self, Pos};
use super::format::{has_extension, InputFormat};
use super::{yaml11, ParsedFile, SyntaxError};
use crate::node::{count_nodes, Entry, Node, NodeValue, Span};
use compact_str::{CompactString, ToCompactString};
use saphyr_parser::{Event, Parser, ScalarStyle, Span as YSpan, Tag};
use std::collections::HashMap;

/// Maximum nesting depth of collections.
pub const MAX_DEPTH: usize = 256;
/// Maximum number of values (scalars and collections, aliases' copies
/// included) in one document: memory stays bounded by design (a parsed
/// value takes 50–150 bytes, and evaluation converts a document once more:
/// up to about 270 bytes a value in all, so two such documents at once stay
/// within 1 GB). Kubernetes stores an object in at most about 1.5 MB, far
/// fewer values than this.
pub const MAX_DOCUMENT_NODES: usize = 1_500_000;

/// The error of a document over [`MAX_DOCUMENT_NODES`].
pub fn too_many_nodes() -> String {
    format!(
        "the document holds more than {MAX_DOCUMENT_NODES} values: too large to check (split it into several documents, or leave the file out with `targets`)"
    )
}

/// Maximum number of nodes alias expansion may create in one file (all its
/// documents together).
pub const MAX_ALIAS_NODES: usize = 100_000;

/// The span of a parser event, in a run of the parser that started at line
/// `line_offset + 1` of the file, within the file's text: the parser puts
/// some events and errors at the end of a text whose last line has no line
/// break (an implicit null after `? key`, an unclosed `[`) one line past
/// it, where no output can point, so positions are capped at `end`
/// ([`end_position`]).
fn span(s: &YSpan, line_offset: u32, end: (u32, u32)) -> Span {
    let (start_line, start_col) = (s.start.line() as u32 + line_offset, s.start.col() as u32 + 1).min(end);
    let (end_line, end_col) = (s.end.line() as u32 + line_offset, s.end.col() as u32 + 1).min(end);
    Span { start_line, start_col, end_line, end_col }
}

enum Frame {
    Seq {
        start: Span,
        anchor: usize,
        items: Vec<Node>,
    },
    Map {
        start: Span,
        anchor: usize,
        entries: Vec<Entry>,
        key: Option<(CompactString, Span, bool)>,
        merges: Vec<Node>,
        /// Key hash → index of the first entry with that hash, built once a
        /// mapping has [`INDEX_FROM`] keys so the duplicate-key check stays
        /// linear for huge mappings; hashes (randomly keyed, so no input can
        /// aim for collisions), not copies of the keys, so a mapping with a
        /// million keys does not hold them twice.
        index: Option<KeyIndex>,
    },
}

/// See `Frame::Map::index`.
struct KeyIndex {
    hasher: std::collections::hash_map::RandomState,
    first: HashMap<u64, usize>,
}

impl KeyIndex {
    fn new(entries: &[Entry]) -> KeyIndex {
        let mut ix = KeyIndex { hasher: Default::default(), first: HashMap::with_capacity(entries.len() * 2) };
        for (i, e) in entries.iter().enumerate() {
            ix.insert(&e.key, i);
        }
        ix
    }

    fn insert(&mut self, key: &str, i: usize) {
        let h = std::hash::BuildHasher::hash_one(&self.hasher, key);
        self.first.entry(h).or_insert(i);
    }

    /// The entry named `key`, if any.
    fn find<'e>(&self, entries: &'e [Entry], key: &str) -> Option<&'e Entry> {
        let h = std::hash::BuildHasher::hash_one(&self.hasher, key);
        let i = *self.first.get(&h)?;
        match entries.get(i) {
            Some(e) if e.key == key => Some(e),
            // a collision of 64-bit hashes: look for the key itself
            _ => entries.iter().find(|e| e.key == key),
        }
    }
}

/// Mappings with this many keys get a key index (smaller ones scan).
const INDEX_FROM: usize = 16;

/// How the reader reads what ordinary YAML leaves alone; the default
/// ([`parse_each`]) is ordinary YAML. CloudFormation sets both
/// (`cloudformation.rs`).
#[derive(Clone, Copy, Default)]
pub(crate) struct Options {
    /// Called for every node with an application tag (not of the YAML core
    /// schema: `!Ref x`, `!If [..]`), on scalars, sequences and mappings:
    /// the node as read without its tag, the tag's handle and suffix (`!`,
    /// `Ref`), and the tag's span (where the node starts; the node's own
    /// span starts there too) → the node kept in its place, or an error
    /// message located at the tag. `None`: application tags are ignored.
    pub tags: Option<TagHook>,
    /// Read plain values as YAML 1.1 in every document, as in Kubernetes
    /// documents ([`is_kubernetes`], `yaml11.rs`).
    pub yaml11: bool,
}

/// See [`Options::tags`].
pub(crate) type TagHook = fn(handle: &str, suffix: &str, node: Node, tag: Span) -> Result<Node, String>;

/// Whether a tag is an application tag (`!Ref`), not one of the YAML core schema (`!!str`).
fn is_application_tag(tag: &Tag) -> bool {
    !(tag.is_yaml_core_schema() || tag.handle == "!!")
}

/// The span of `tag` written at the start of `node` (on one line).
fn tag_span(node: Span, tag: &Tag) -> Span {
    let len = (tag.handle.chars().count() + tag.suffix.chars().count()) as u32;
    Span { end_line: node.start_line, end_col: node.start_col + len, ..node }
}

struct Builder<'a> {
    /// The text this run of the parser reads, from a line start of the file.
    src: &'a str,
    line_offset: u32,
    /// Where the file ends ([`end_position`]): no position is past it.
    end: (u32, u32),
    /// Character index and byte offset in `src` of a point already passed
    /// (to find closing quotes in linear time).
    cursor: (usize, usize),
    stack: Vec<Frame>,
    anchors: HashMap<usize, Anchored>,
    alias_nodes: usize,
    /// Values of the document being built (see [`MAX_DOCUMENT_NODES`]).
    doc_nodes: usize,
    root: Option<Node>,
    /// Plain scalars kept raw whose Kubernetes (YAML 1.1) reading differs:
    /// booleans, and numbers.
    has_yaml11_bool: bool,
    has_yaml11_int: bool,
    /// `[start, end)` of every quoted and block scalar, for [`comments`].
    scalars: Vec<(Pos, Pos)>,
    opts: Options,
    /// The open collections with an application tag read by
    /// [`Options::tags`]: the stack depth of each, its tag and the tag's span.
    tagged: Vec<(usize, Tag, Span)>,
}

/// Where an anchored node is: anchors are not copied when defined (nested
/// anchors would copy their subtree once per level), only when an alias uses
/// them, so a document's memory is its size plus the (bounded) alias expansion.
enum Anchored {
    /// Child indexes from the document root: one per collection level (a
    /// mapping's child is its entry's value, by entry index). Valid while
    /// the document is built: entries are only ever appended (merge keys
    /// append after the explicit ones).
    Path(Vec<usize>),
    /// An anchored mapping key or merge-key value, which is not kept in the
    /// tree at a stable index: a copy (scalars, or what a merge key takes).
    Copy(Node),
}

/// Gives `node` and everything inside it (keys too) the span `at`.
fn relocate(node: &mut Node, at: Span) {
    node.span = at;
    match &mut node.value {
        NodeValue::Seq(items) => items.iter_mut().for_each(|n| relocate(n, at)),
        NodeValue::Map(entries) => entries.iter_mut().for_each(|e| {
            e.key_span = at;
            relocate(&mut e.value, at)
        }),
        _ => {}
    }
}

/// Resolves a plain scalar by the YAML 1.2 core schema.
fn resolve_plain(s: &str) -> NodeValue {
    match s {
        "" | "~" | "null" | "Null" | "NULL" => return NodeValue::Null,
        "true" | "True" | "TRUE" => return NodeValue::Bool(true),
        "false" | "False" | "FALSE" => return NodeValue::Bool(false),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => return NodeValue::Float(f64::INFINITY),
        "-.inf" | "-.Inf" | "-.INF" => return NodeValue::Float(f64::NEG_INFINITY),
        ".nan" | ".NaN" | ".NAN" => return NodeValue::Float(f64::NAN),
        _ => {}
    }
    let first = s.as_bytes()[0];
    if !(first.is_ascii_digit() || first == b'-' || first == b'+' || first == b'.') {
        return NodeValue::Str { value: s.into(), plain: true };
    }
    if let Some(hex) = s.strip_prefix("0x") {
        if let Ok(i) = i64::from_str_radix(hex, 16) {
            return NodeValue::Int(i);
        }
    } else if let Some(oct) = s.strip_prefix("0o") {
        if let Ok(i) = i64::from_str_radix(oct, 8) {
            return NodeValue::Int(i);
        }
    } else if is_decimal_int(s) {
        if let Ok(i) = s.parse::<i64>() {
            return NodeValue::Int(i);
        }
        if let Ok(f) = s.parse::<f64>() {
            return NodeValue::Float(f);
        }
    } else if is_float(s) {
        if let Ok(f) = s.parse::<f64>() {
            return NodeValue::Float(f);
        }
    }
    NodeValue::Str { value: s.into(), plain: true }
}

fn is_decimal_int(s: &str) -> bool {
    let digits = s.strip_prefix(['-', '+']).unwrap_or(s);
    !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
}

/// `[-+]? ( \. [0-9]+ | [0-9]+ ( \. [0-9]* )? ) ( [eE] [-+]? [0-9]+ )?`
pub(crate) fn is_float(s: &str) -> bool {
    let b = s.strip_prefix(['-', '+']).unwrap_or(s).as_bytes();
    let mut i = 0;
    let int_digits = b.iter().take_while(|c| c.is_ascii_digit()).count();
    i += int_digits;
    let mut frac_digits = 0;
    if i < b.len() && b[i] == b'.' {
        i += 1;
        frac_digits = b[i..].iter().take_while(|c| c.is_ascii_digit()).count();
        i += frac_digits;
    }
    if int_digits == 0 && frac_digits == 0 {
        return false;
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        i += 1;
        if i < b.len() && (b[i] == b'-' || b[i] == b'+') {
            i += 1;
        }
        let exp = b[i..].iter().take_while(|c| c.is_ascii_digit()).count();
        if exp == 0 {
            return false;
        }
        i += exp;
    }
    i == b.len()
}

/// Resolves a scalar with an explicit core-schema tag (`!!str`, `!!int`, …).
fn resolve_tagged(s: &str, tag: &Tag) -> Result<NodeValue, String> {
    if !(tag.is_yaml_core_schema() || tag.handle == "!!") {
        // Application tags (`!Ref`, `!reference`): keep the scalar as written.
        return Ok(resolve_plain(s));
    }
    let value = match tag.suffix.as_str() {
        "str" => NodeValue::Str { value: s.into(), plain: false },
        "null" => NodeValue::Null,
        "bool" => match resolve_plain(s) {
            v @ NodeValue::Bool(_) => v,
            _ => return Err(format!("`{s}` is not a boolean (!!bool)")),
        },
        "int" => match resolve_plain(s) {
            v @ NodeValue::Int(_) => v,
            _ => return Err(format!("`{s}` is not an integer (!!int)")),
        },
        "float" => match resolve_plain(s) {
            NodeValue::Int(i) => NodeValue::Float(i as f64),
            v @ NodeValue::Float(_) => v,
            _ => return Err(format!("`{s}` is not a float (!!float)")),
        },
        _ => resolve_plain(s),
    };
    Ok(value)
}

fn key_string(node: &Node) -> Result<CompactString, String> {
    // A plain scalar kept raw for the Kubernetes pass (`0_x`, `0644`) is
    // read as YAML 1.2, once: keys are never converted. Its reading is final
    // (a string stays this string), so nothing here recurses.
    let resolved;
    let value = match &node.value {
        NodeValue::Str { value, plain: true } if yaml11::is_int_candidate(value) => {
            resolved = resolve_plain(value);
            &resolved
        }
        other => other,
    };
    Ok(match value {
        NodeValue::Null => "null".into(),
        NodeValue::Bool(b) => b.to_compact_string(),
        NodeValue::Int(i) => i.to_compact_string(),
        NodeValue::Float(f) => f.to_compact_string(),
        NodeValue::Str { value, .. } => value.clone(),
        NodeValue::Seq(_) | NodeValue::Map(_) => return Err("a mapping key must be a scalar, not a collection".into()),
    })
}

impl<'a> Builder<'a> {
    fn new(src: &'a str, line_offset: u32, end: (u32, u32)) -> Self {
        Builder {
            src,
            line_offset,
            end,
            cursor: (0, 0),
            stack: Vec::new(),
            anchors: HashMap::new(),
            alias_nodes: 0,
            doc_nodes: 0,
            root: None,
            has_yaml11_bool: false,
            has_yaml11_int: false,
            scalars: Vec::new(),
            opts: Options::default(),
            tagged: Vec::new(),
        }
    }

    /// The position just after the closing quote of the quoted scalar that
    /// starts at character index `start` (line `line`, column `col`, 0-based),
    /// if the source there is what the parser said.
    /// With `props`, the scalar's tag and anchor (and the blanks after them)
    /// are skipped first: the parser starts a node at its properties.
    fn closing_quote(&mut self, start: usize, line: u32, col: u32, props: bool) -> Option<Pos> {
        if start < self.cursor.0 {
            self.cursor = (0, 0);
        }
        let (mut ci, mut bi) = self.cursor;
        let mut chars = self.src[bi..].chars();
        while ci < start {
            bi += chars.next()?.len_utf8();
            ci += 1;
        }
        self.cursor = (ci, bi);
        let mut chars = self.src[bi..].chars().peekable();
        let (mut line, mut col) = (line, col);
        while props && matches!(chars.peek(), Some('!' | '&' | ' ' | '\t' | '\n' | '\r')) {
            match chars.next() {
                Some('!' | '&') => {
                    col += 1;
                    while chars.next_if(|c| !matches!(c, ' ' | '\t' | '\n' | '\r')).is_some() {
                        col += 1;
                    }
                }
                Some('\n') => (line, col) = (line + 1, 0),
                Some('\r') if chars.peek() != Some(&'\n') => (line, col) = (line + 1, 0),
                _ => col += 1,
            }
        }
        let quote = chars.next().filter(|q| *q == '"' || *q == '\'')?;
        let (mut line, mut col) = (line, col + 1);
        while let Some(c) = chars.next() {
            if c == '\n' {
                (line, col) = (line + 1, 0);
                continue;
            }
            col += 1;
            if c == quote {
                if quote == '\'' && chars.peek() == Some(&'\'') {
                    chars.next();
                    col += 1;
                    continue;
                }
                return Some((line, col));
            }
            if c == '\\' && quote == '"' {
                match chars.next()? {
                    '\n' => (line, col) = (line + 1, 0),
                    _ => col += 1,
                }
            }
        }
        None
    }

    fn err(span: Span, message: impl Into<String>) -> SyntaxError {
        SyntaxError { line: span.start_line, col: span.start_col, message: message.into(), first: None }
    }

    /// Where a node pushed now will be kept ([`Anchored`]).
    fn anchored(&self, node: &Node) -> Anchored {
        let mut path = Vec::with_capacity(self.stack.len());
        for frame in &self.stack {
            match frame {
                Frame::Seq { items, .. } => path.push(items.len()),
                // a key, or a merge key's value: not at a stable index
                Frame::Map { key: None, .. } => return Anchored::Copy(node.clone()),
                Frame::Map { key: Some((k, _, true)), .. } if k == "<<" => return Anchored::Copy(node.clone()),
                Frame::Map { entries, .. } => path.push(entries.len()),
            }
        }
        Anchored::Path(path)
    }

    /// The anchored node `id` names, complete by the time an alias uses it.
    fn anchor(&self, id: usize) -> Option<&Node> {
        let path = match self.anchors.get(&id)? {
            Anchored::Copy(node) => return Some(node),
            Anchored::Path(path) => path,
        };
        if path.is_empty() {
            return self.root.as_ref();
        }
        // down the open collections while the node is still inside the one
        // being built, then down the finished subtree
        for (depth, &i) in path.iter().enumerate() {
            let done = match self.stack.get(depth)? {
                Frame::Seq { items, .. } => items.get(i),
                Frame::Map { entries, .. } => entries.get(i).map(|e| &e.value),
            };
            if let Some(mut node) = done {
                for &j in &path[depth + 1..] {
                    node = match &node.value {
                        NodeValue::Seq(items) => items.get(j)?,
                        NodeValue::Map(entries) => &entries.get(j)?.value,
                        _ => return None,
                    };
                }
                return Some(node);
            }
        }
        None
    }

    /// Adds a finished node to the innermost collection (or as the root).
    fn push(&mut self, node: Node, anchor: usize, plain: bool) -> Result<(), SyntaxError> {
        self.doc_nodes += 1;
        if self.doc_nodes > MAX_DOCUMENT_NODES {
            return Err(Self::err(node.span, too_many_nodes()));
        }
        if anchor != 0 {
            if !self.tagged.is_empty() {
                // its path would not survive the tag's rewrite of the collection
                return Err(Self::err(node.span, "an anchor inside a tagged collection (`!If [..]`) is not supported"));
            }
            let at = self.anchored(&node);
            self.anchors.insert(anchor, at);
        }
        match self.stack.last_mut() {
            None => self.root = Some(node),
            Some(Frame::Seq { items, .. }) => items.push(node),
            Some(Frame::Map { entries, key, merges, index, .. }) => match key.take() {
                None => {
                    let k = key_string(&node).map_err(|m| Self::err(node.span, m))?;
                    *key = Some((k, node.span, plain));
                }
                Some((k, key_span, key_plain)) => {
                    if k == "<<" && key_plain {
                        match &node.value {
                            NodeValue::Map(_) => merges.push(node),
                            NodeValue::Seq(items) if items.iter().all(|i| matches!(i.value, NodeValue::Map(_))) => {
                                merges.extend(items.iter().cloned())
                            }
                            _ => {
                                return Err(Self::err(
                                    node.span,
                                    "a merge key `<<` needs a mapping or a list of mappings",
                                ))
                            }
                        }
                        return Ok(());
                    }
                    let prev = match index {
                        Some(ix) => ix.find(entries, &k),
                        None => entries.iter().find(|e| e.key == k),
                    };
                    if let Some(prev) = prev {
                        return Err(SyntaxError {
                            first: Some(prev.key_span),
                            ..Self::err(
                                key_span,
                                format!(
                                    "duplicate key `{k}` in this mapping (first defined at line {})",
                                    prev.key_span.start_line
                                ),
                            )
                        });
                    }
                    match index {
                        Some(ix) => ix.insert(&k, entries.len()),
                        None if entries.len() + 1 >= INDEX_FROM => {
                            let mut ix = KeyIndex::new(entries);
                            ix.insert(&k, entries.len());
                            *index = Some(ix);
                        }
                        None => {}
                    }
                    entries.push(Entry { key: k, key_span, value: node });
                }
            },
        }
        Ok(())
    }

    fn event(&mut self, ev: Event<'_>, sp: &YSpan) -> Result<(), SyntaxError> {
        let mut s = span(sp, self.line_offset, self.end);
        match ev {
            Event::Scalar(text, style, anchor, tag) => {
                let start = (s.start_line, s.start_col - 1);
                // an application tag read by the hook: the scalar is read as untagged
                let hook = match (self.opts.tags, &tag) {
                    (Some(hook), Some(t)) if is_application_tag(t) => Some((hook, t)),
                    _ => None,
                };
                match style {
                    ScalarStyle::SingleQuoted | ScalarStyle::DoubleQuoted => {
                        let props = self.opts.tags.is_some() && (tag.is_some() || anchor != 0);
                        if let Some(end) = self.closing_quote(sp.start.index(), start.0, start.1, props) {
                            (s.end_line, s.end_col) = (end.0, end.1 + 1);
                        }
                        self.scalars.push((start, (s.end_line, s.end_col - 1)));
                    }
                    ScalarStyle::Literal | ScalarStyle::Folded => {
                        self.scalars.push((start, (s.end_line, s.end_col - 1)));
                    }
                    ScalarStyle::Plain => {}
                }
                let plain = style == ScalarStyle::Plain;
                let value = match (&tag, plain) {
                    (Some(t), _) if hook.is_none() => resolve_tagged(&text, t).map_err(|m| Self::err(s, m))?,
                    (_, true) if yaml11::is_int_candidate(&text) => {
                        // Resolved at the document's end, once it is known
                        // whether Kubernetes (YAML 1.1) reads it.
                        self.has_yaml11_int = true;
                        NodeValue::Str { value: text.into(), plain: true }
                    }
                    (_, true) => {
                        self.has_yaml11_bool |= yaml11::is_bool(&text).is_some();
                        resolve_plain(&text)
                    }
                    (_, false) => NodeValue::Str { value: text.into(), plain: false },
                };
                let mut node = Node { span: s, value };
                if let Some((hook, t)) = hook {
                    let at = tag_span(s, t);
                    node = hook(&t.handle, &t.suffix, node, at).map_err(|m| Self::err(at, m))?;
                }
                self.push(node, anchor, plain)?;
            }
            Event::SequenceStart(anchor, tag) => {
                self.open(s)?;
                self.stack.push(Frame::Seq { start: s, anchor, items: Vec::new() });
                self.tag_collection(tag, s);
            }
            Event::MappingStart(anchor, tag) => {
                self.open(s)?;
                self.stack.push(Frame::Map {
                    start: s,
                    anchor,
                    entries: Vec::new(),
                    key: None,
                    merges: Vec::new(),
                    index: None,
                });
                self.tag_collection(tag, s);
            }
            Event::SequenceEnd => {
                if let Some(Frame::Seq { start, anchor, mut items }) = self.stack.pop() {
                    // a document is kept until evaluated: no growth slack
                    items.shrink_to_fit();
                    let span = close_span(start, items.last().map(|n| n.span), s);
                    let node = self.untag_collection(Node { span, value: NodeValue::Seq(items) })?;
                    self.push(node, anchor, false)?;
                }
            }
            Event::MappingEnd => {
                if let Some(Frame::Map { start, anchor, mut entries, merges, .. }) = self.stack.pop() {
                    let last = entries.last().map(|e| e.value.span);
                    if !merges.is_empty() {
                        // explicit keys win, then earlier merges: linear with a key set
                        let mut keys: std::collections::HashSet<CompactString> =
                            entries.iter().map(|e| e.key.clone()).collect();
                        for m in merges {
                            if let NodeValue::Map(merged) = m.value {
                                for e in merged {
                                    if keys.insert(e.key.clone()) {
                                        entries.push(e);
                                    }
                                }
                            }
                        }
                    }
                    entries.shrink_to_fit();
                    let span = close_span(start, last, s);
                    let node = self.untag_collection(Node { span, value: NodeValue::Map(entries) })?;
                    self.push(node, anchor, false)?;
                }
            }
            Event::Alias(id) => {
                let Some(target) = self.anchor(id) else {
                    return Err(Self::err(s, "alias to an unknown anchor"));
                };
                // counted before copying: a bomb is refused before it costs memory
                let nodes = self.alias_nodes + count_nodes(target);
                if nodes > MAX_ALIAS_NODES {
                    return Err(Self::err(
                        s,
                        format!(
                            "alias expansion creates more than {MAX_ALIAS_NODES} nodes in this file (possible \"billion laughs\" document)"
                        ),
                    ));
                }
                let copied = count_nodes(target);
                if self.doc_nodes + copied > MAX_DOCUMENT_NODES {
                    return Err(Self::err(s, too_many_nodes()));
                }
                let mut node = target.clone();
                // the copy's own nodes (its root is counted by `push`)
                self.doc_nodes += copied - 1;
                self.alias_nodes = nodes;
                relocate(&mut node, s);
                self.push(node, 0, false)?;
            }
            Event::DocumentStart(_) => {
                self.stack.clear();
                self.tagged.clear();
                self.anchors.clear();
                self.doc_nodes = 0;
                self.root = None;
                self.has_yaml11_bool = false;
                self.has_yaml11_int = false;
            }
            _ => {}
        }
        Ok(())
    }

    /// Records the application tag of the collection just opened (at the
    /// top of the stack) for [`Options::tags`].
    fn tag_collection(&mut self, tag: Option<std::borrow::Cow<'_, Tag>>, s: Span) {
        if let (Some(_), Some(t)) = (self.opts.tags, tag) {
            if is_application_tag(&t) {
                let at = tag_span(s, &t);
                self.tagged.push((self.stack.len(), t.into_owned(), at));
            }
        }
    }

    /// The collection just closed (popped from the stack), as the tag hook
    /// makes it when it was tagged ([`Options::tags`]).
    fn untag_collection(&mut self, node: Node) -> Result<Node, SyntaxError> {
        match (self.opts.tags, self.tagged.last()) {
            (Some(hook), Some((depth, _, _))) if *depth == self.stack.len() + 1 => {
                let Some((_, t, at)) = self.tagged.pop() else { return Ok(node) };
                hook(&t.handle, &t.suffix, node, at).map_err(|m| Self::err(at, m))
            }
            _ => Ok(node),
        }
    }

    fn open(&self, s: Span) -> Result<(), SyntaxError> {
        if self.stack.len() >= MAX_DEPTH {
            return Err(Self::err(s, format!("nesting deeper than {MAX_DEPTH} levels")));
        }
        Ok(())
    }
}

/// The span of a closed collection: from its start to the end of its last
/// child, or to the closing bracket when that is on the same line (flow style).
/// JSON collections are located the same way (`json.rs`).
pub(super) fn close_span(start: Span, last_child: Option<Span>, end_event: Span) -> Span {
    match last_child {
        Some(last) if end_event.start_line == last.end_line => start.to(end_event),
        Some(last) => start.to(last),
        None if end_event.start_line == start.start_line => start.to(end_event),
        None => start,
    }
}

/// The YAML input format (`*.yaml`, `*.yml`; `#` comments), read as the
/// module doc says, with YAML 1.1's Unicode line breaks ending a line as in
/// go-yaml (see `parse_yaml_input` in [`super`]).
pub struct Yaml;

impl InputFormat for Yaml {
    fn id(&self) -> &'static str {
        "yaml"
    }

    fn label(&self) -> &'static str {
        "YAML"
    }

    fn claims(&self, path: &str) -> bool {
        has_extension(path, &["yaml", "yml"])
    }

    fn comment_markers(&self) -> &'static [&'static str] {
        &["#"]
    }

    fn parse(&self, src: &str, each: &mut dyn FnMut(Node)) -> ParsedFile {
        super::parse_yaml_input(src, Options::default(), each)
    }
}

/// Whether a document looks like a Kubernetes object (`apiVersion` and `kind` strings).
/// bylaw's own documents (`apiVersion: bylaw/…`) are plain YAML 1.2.
pub fn is_kubernetes(doc: &Node) -> bool {
    doc.str_at(&["apiVersion"]).is_some_and(|v| !v.starts_with("bylaw/")) && doc.str_at(&["kind"]).is_some()
}

/// Parses a YAML stream. Empty documents (only comments, or `---` alone)
/// are skipped. A syntax error is recorded with its position and parsing
/// resumes at the next document start after it (see the module doc).
pub fn parse(src: &str) -> ParsedFile {
    let mut documents = Vec::new();
    let mut parsed = parse_each(src, &mut |d| documents.push(d));
    parsed.documents = documents;
    parsed
}

/// [`parse`], handing each document to `each` as soon as it is complete
/// (in order), so a long stream need not be held whole: the returned
/// [`ParsedFile`] has the errors and comments, and no documents.
pub fn parse_each(src: &str, each: &mut dyn FnMut(Node)) -> ParsedFile {
    parse_each_with(src, Options::default(), each)
}

/// [`parse_each`], reading what ordinary YAML leaves alone as `opts` says.
pub(crate) fn parse_each_with(src: &str, opts: Options, each: &mut dyn FnMut(Node)) -> ParsedFile {
    let src = src.strip_prefix('\u{feff}').unwrap_or(src);
    let mut out = ParsedFile::default();
    let mut scalars = Vec::new();
    // Where parsing failed: from the error to the resumption point.
    let mut unknown: Vec<(Pos, Pos)> = Vec::new();
    let (mut offset, mut first_line) = (0usize, 1u32);
    let end = end_position(src);
    // nodes copied by aliases, in the whole file: a stream of documents each
    // just under the cap would otherwise multiply it
    let mut alias_nodes = 0usize;
    loop {
        let err = parse_run(&src[offset..], first_line - 1, end, opts, each, &mut scalars, &mut alias_nodes);
        let Some(err) = err else { break };
        let from = (err.line, err.col.saturating_sub(1));
        out.errors.push(err);
        // Strictly after the error, unless the error is the `---` marker
        // itself (the previous document was left open); never the line this
        // run started at, so parsing always moves on.
        let after_error = if from.1 == 0 { from.0 } else { from.0 + 1 };
        match next_document_start(src, offset, first_line, after_error.max(first_line + 1)) {
            Some((byte, line)) => {
                unknown.push((from, (line, 0)));
                (offset, first_line) = (byte, line);
            }
            None => {
                unknown.push((from, (u32::MAX, 0)));
                break;
            }
        }
    }
    out.comments = comments::find(src, scalars, &unknown);
    out
}

/// The 1-based line and column just past the last character of `src`,
/// counting line breaks as the YAML parser does (`\n`, `\r\n`, a lone `\r`):
/// the last position a span or an error may have (see [`span`]).
fn end_position(src: &str) -> (u32, u32) {
    let (mut line, mut col) = (1u32, 1u32);
    let mut chars = src.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\r' if chars.peek() == Some(&'\n') => {}
            '\r' | '\n' => (line, col) = (line + 1, 1),
            _ => col += 1,
        }
    }
    (line, col)
}

/// The byte offset and line of the first line at or after `min_line` that
/// starts a document (`---` then a blank or the line end); `offset` is the
/// byte offset of line `line`.
fn next_document_start(src: &str, mut offset: usize, mut line: u32, min_line: u32) -> Option<(usize, u32)> {
    while offset < src.len() {
        let rest = &src[offset..];
        let len = rest.find('\n').map_or(rest.len(), |i| i + 1);
        if line >= min_line {
            if let Some(after) = rest.strip_prefix("---") {
                if after.is_empty() || after.starts_with([' ', '\t', '\r', '\n']) {
                    return Some((offset, line));
                }
            }
        }
        offset += len;
        line += 1;
    }
    None
}

/// Runs the parser on `src` (which starts at line `line_offset + 1` of the
/// file, and ends at `end` of it) until the end or the first error, which
/// is returned.
fn parse_run(
    src: &str,
    line_offset: u32,
    end: (u32, u32),
    opts: Options,
    documents: &mut dyn FnMut(Node),
    scalars: &mut Vec<(Pos, Pos)>,
    alias_nodes: &mut usize,
) -> Option<SyntaxError> {
    let mut b = Builder::new(src, line_offset, end);
    b.opts = opts;
    b.alias_nodes = *alias_nodes;
    let mut parser = Parser::new_from_str(src);
    let error = loop {
        match parser.next() {
            None => break None,
            Some(Err(e)) => {
                let mut nul_at = None;
                let message = match e.info() {
                    // saphyr counts `[`/`{` levels in a u8: say what the limit is
                    "recursion limit exceeded" => "flow collections (`[`, `{`) nested deeper than 255 levels".to_owned(),
                    // say which character (a NUL, an escape, …)
                    "found unprintable character" => match src.chars().nth(e.marker().index()) {
                        Some(c) => format!(
                            "found unprintable character U+{:04X} (YAML allows no control characters but tab and line breaks)",
                            c as u32
                        ),
                        None => "found unprintable character".to_owned(),
                    },
                    // saphyr reads a NUL as the end of the text: inside a
                    // quoted scalar that is "unexpected end of stream" where
                    // the scalar starts; the NUL itself is the error
                    info if info.contains("end of stream") && src.contains('\0') => {
                        let at = src.find('\0').unwrap_or_default();
                        let before = &src[..at];
                        nul_at = Some((
                            before.matches('\n').count() as u32 + 1,
                            before.rsplit('\n').next().unwrap_or_default().chars().count() as u32 + 1,
                        ));
                        "found unprintable character U+0000 (YAML allows no control characters but tab and line breaks)"
                            .to_owned()
                    }
                    info => info.to_owned(),
                };
                let (line, col) = nul_at.unwrap_or((e.marker().line() as u32, e.marker().col() as u32 + 1));
                // never past the end of the text (a marker at EOF without a line break)
                let (line, col) = (line + line_offset, col).min(end);
                break Some(SyntaxError { line, col, message, first: None });
            }
            Some(Ok((Event::DocumentEnd, _))) => {
                if let Some(mut root) = b.root.take() {
                    if !matches!(root.value, NodeValue::Null) {
                        if b.has_yaml11_int || b.has_yaml11_bool {
                            let kubernetes = opts.yaml11 || is_kubernetes(&root);
                            if kubernetes || b.has_yaml11_int {
                                yaml11::resolve_document(&mut root, kubernetes, &resolve_plain);
                            }
                        }
                        documents(root);
                    }
                }
            }
            Some(Ok((Event::StreamEnd, _))) => break None,
            Some(Ok((ev, sp))) => {
                if let Err(e) = b.event(ev, &sp) {
                    break Some(e);
                }
            }
        }
    };
    scalars.append(&mut b.scalars);
    *alias_nodes = b.alias_nodes;
    error
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::node::parse_pointer;

    fn one(src: &str) -> Node {
        let p = parse(src);
        assert!(p.errors.is_empty(), "{:?}", p.errors);
        assert_eq!(p.documents.len(), 1);
        p.documents.into_iter().next().unwrap()
    }

    #[test]
    fn scalars_follow_yaml_1_2_core_schema() {
        let d = one("a: true\nb: 12\nc: 0x1F\nd: 1.5e3\ne: ~\nf: '12'\ng: yes\nh: 1.2.3\ni: -7\nj: .5\n");
        let j = d.to_json();
        assert_eq!(j["a"], true);
        assert_eq!(j["b"], 12);
        assert_eq!(j["c"], 31);
        assert_eq!(j["d"], 1500.0);
        assert!(j["e"].is_null());
        assert_eq!(j["f"], "12");
        assert_eq!(j["g"], "yes", "not a Kubernetes document: YAML 1.2 keeps yes a string");
        assert_eq!(j["h"], "1.2.3");
        assert_eq!(j["i"], -7);
        assert_eq!(j["j"], 0.5);
    }

    #[test]
    fn kubernetes_documents_read_yaml_1_1_booleans_in_values() {
        let d = one("apiVersion: v1\nkind: Pod\nspec:\n  hostNetwork: yes\n  'on': x\n  q: 'yes'\n");
        let j = d.to_json();
        assert_eq!(j["spec"]["hostNetwork"], true);
        assert_eq!(j["spec"]["q"], "yes", "quoted stays a string");
        assert_eq!(j["spec"]["on"], "x", "keys are not converted");
    }

    #[test]
    fn block_spans_are_one_based() {
        let src = "apiVersion: v1\nkind: Pod\nspec:\n  containers:\n    - name: app\n      image: nginx\n      securityContext:\n        privileged: true\n";
        let d = one(src);
        let (s, n) = d.span_of_pointer("/spec/containers/0/securityContext/privileged");
        assert_eq!(n, 5);
        assert_eq!((s.start_line, s.start_col), (8, 9));
        assert_eq!((s.end_line, s.end_col), (8, 25));
        let (s, _) = d.span_of_pointer("/spec/containers/0");
        assert_eq!((s.start_line, s.start_col), (5, 7));
        assert_eq!(s.end_line, 8);
        // missing tail: deepest existing node
        let (s, n) = d.span_of_pointer("/spec/containers/0/resources/limits");
        assert_eq!(n, 3);
        assert_eq!(s.start_line, 5);
    }

    #[test]
    fn flow_style_spans() {
        let d = one("spec: {containers: [{name: a, securityContext: {privileged: true}}]}\n");
        let (s, _) = d.span_of_pointer("/spec/containers/0/securityContext/privileged");
        assert_eq!((s.start_line, s.start_col), (1, 49));
        let (s, _) = d.span_of_pointer("/spec/containers/0");
        assert_eq!((s.start_line, s.start_col, s.end_line), (1, 21, 1));
        assert_eq!(s.end_col, 67);
    }

    #[test]
    fn multi_document_and_errors() {
        let p = parse("a: 1\n---\n# only a comment\n---\nb: 2\n---\nc: [1, 2\n");
        assert_eq!(p.documents.len(), 2);
        assert_eq!(p.errors.len(), 1);
        let e = &p.errors[0];
        assert!(e.line >= 7, "{e:?}");
        let (s, _) = p.documents[1].span_of_pointer("/b");
        assert_eq!(s.start_line, 5);
    }

    #[test]
    fn anchors_aliases_and_merge_keys() {
        let d = one("base: &b\n  image: nginx\n  tag: x\nuse: *b\nmerged:\n  <<: *b\n  tag: y\n");
        let j = d.to_json();
        assert_eq!(j["use"]["image"], "nginx");
        assert_eq!(j["merged"]["image"], "nginx");
        assert_eq!(j["merged"]["tag"], "y", "explicit keys win over merged ones");
        let (s, _) = d.span_of_pointer("/use");
        assert_eq!(s.start_line, 4, "the alias node is located where the alias is written");
    }

    #[test]
    fn aliases_find_their_anchor_wherever_it_is_kept() {
        let src = "\
top:
  a: &x {k: v}
  b: *x
list:
  - &outer
    - &inner [1, 2]
    - *inner
  - *outer
&key name: 1
keyed: *key
base: {<<: &m {a: 1}, b: 2}
merged: *m
scalar: &s plain
again: *s
";
        let j = one(src).to_json();
        assert_eq!(j["top"]["b"], serde_json::json!({"k": "v"}), "an anchor in the mapping still being built");
        assert_eq!(j["list"][0][1], serde_json::json!([1, 2]), "an anchor in the sequence still being built");
        assert_eq!(j["list"][1], serde_json::json!([[1, 2], [1, 2]]), "a finished subtree holding an alias");
        assert_eq!(j["keyed"], "name", "an anchored key");
        assert_eq!(j["base"], serde_json::json!({"b": 2, "a": 1}));
        assert_eq!(j["merged"], serde_json::json!({"a": 1}), "an anchored merge value");
        assert_eq!(j["again"], "plain");
        // anchors are per document
        let p = parse("a: &x 1\n---\nb: *x\n");
        assert!(p.errors.iter().any(|e| e.message.contains("unknown anchor")), "{:?}", p.errors);
    }

    #[test]
    fn nested_anchors_are_not_copied() {
        // 200 anchors nested around 20,000 scalars, no alias: copying each
        // anchor's subtree would make 4,000,000 nodes (the 250 × 200,000
        // took 2.66 GB); kept in place, the document is its own size
        let mut src = String::new();
        for d in 0..200 {
            src.push_str(&format!("{}- &a{d}\n", "  ".repeat(d)));
        }
        let pad = "  ".repeat(200);
        for i in 0..20_000 {
            src.push_str(&format!("{pad}- {i}\n"));
        }
        let p = parse(&src);
        assert!(p.errors.is_empty(), "{:?}", p.errors);
        assert_eq!(count_nodes(&p.documents[0]), 1 + 200 + 20_000, "the root, 200 anchored sequences, the scalars");
    }

    #[test]
    fn billion_laughs_is_refused() {
        let mut src = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..10 {
            let prev = format!("*a{}", i - 1);
            src.push_str(&format!("a{i}: &a{i} [{}]\n", vec![prev; 10].join(", ")));
        }
        let p = parse(&src);
        let e = &p.errors[0];
        assert!(e.message.contains("alias expansion"), "{e:?}");
    }

    #[test]
    fn a_document_over_the_value_cap_is_an_error_and_the_next_is_read() {
        let items = vec!["1"; MAX_DOCUMENT_NODES].join(",");
        let src = format!("kind: X\nb: [{items}]\n---\nkind: Pod\n");
        let p = parse(&src);
        assert_eq!(p.errors.len(), 1, "{:?}", p.errors);
        assert!(p.errors[0].message.starts_with("the document holds more than 1500000 values"), "{:?}", p.errors);
        assert_eq!(p.errors[0].line, 2);
        assert_eq!(p.documents.len(), 1, "the document after it is read");
        // JSON the same
        let big = format!("[{}]", vec!["1"; MAX_DOCUMENT_NODES].join(","));
        let p = crate::input::json::parse(&big, false);
        assert!(p.errors[0].message.starts_with("the document holds more than 1500000 values"), "{:?}", p.errors);
    }

    #[test]
    fn the_alias_budget_is_for_the_whole_file() {
        // each document copies about 35,000 nodes: under the cap alone, over it
        // from the third document on
        let mut doc = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..4 {
            let prev = format!("*a{}", i - 1);
            doc.push_str(&format!("a{i}: &a{i} [{}]\n", vec![prev; 10].join(", ")));
        }
        doc.push_str("b: [*a3, *a3]\n");
        let one = parse(&doc);
        assert!(one.errors.is_empty(), "{:?}", one.errors);
        let stream: String = (0..10).map(|_| format!("---\n{doc}")).collect();
        let p = parse(&stream);
        assert_eq!(p.documents.len(), 2, "the documents before the budget ran out are kept");
        assert!(p.errors[0].message.contains("alias expansion creates more than 100000 nodes in this file"));
        // and every later document is refused too
        assert_eq!(p.errors.len(), 8, "{:?}", p.errors);
    }

    #[test]
    fn huge_mappings_check_duplicates_in_linear_time() {
        let mut src: String = (0..150_000).map(|i| format!("k{i}: {i}\n")).collect();
        let p = parse(&src);
        assert!(p.errors.is_empty());
        assert_eq!(p.documents[0].to_json().as_object().unwrap().len(), 150_000);
        src.push_str("k77: dup\n");
        let p = parse(&src);
        assert_eq!(p.errors.len(), 1);
        assert!(p.errors[0].message.contains("duplicate key `k77`") && p.errors[0].message.contains("line 78"));
    }

    #[test]
    fn duplicate_keys_are_errors() {
        let p = parse("a: 1\nb: 2\na: 3\n");
        let e = &p.errors[0];
        assert_eq!((e.line, e.col), (3, 1));
        assert!(e.message.contains("duplicate key `a`"));
        assert!(e.message.contains("line 1"));
        // the first `a`, for the diagnostic's "first defined here" label
        assert_eq!(e.first, Some(Span { start_line: 1, start_col: 1, end_line: 1, end_col: 2 }));
    }

    /// Found by fuzzing (fuzz/seeds/exceptions/key-int-candidate.yaml): a
    /// key that only looks like a YAML 1.1 integer (`0_x`, `02a`, `0b2`) is
    /// kept raw for the Kubernetes pass, read as YAML 1.2 stays a string,
    /// and used to recurse until the stack overflowed.
    #[test]
    fn keys_that_only_look_like_numbers_are_strings() {
        for key in ["0_x", "02a", "0b2", "-0X", "+0o9", "1_000_000_z"] {
            let d = one(&format!("{key}: 1\n"));
            assert_eq!(d.to_json()[key], 1, "{key}");
        }
        // and those that are numbers in YAML 1.2 are keyed by their value
        let d = one("0o17: a\n0x1F: b\n017: c\n");
        assert_eq!(d.to_json(), serde_json::json!({"15": "a", "31": "b", "17": "c"}));
    }

    /// Found by fuzzing (fuzz/seeds/yaml_input/error-past-the-end.yaml,
    /// node-past-the-end.yaml): an error, or a node, at the end of a text
    /// whose last line has no line break was placed one line past the end,
    /// where no output can point.
    #[test]
    fn errors_and_nodes_at_the_end_point_into_the_text() {
        for (src, at) in [
            (":\n0", (2, 2)),
            ("a: [1", (1, 6)),
            ("a: {b: 1", (1, 9)),
            ("a:\r\n  - [x", (2, 7)),
            ("a: 1\n---\nb: [\n", (4, 1)),
            ("x\n---\n:\r0", (4, 2)),
        ] {
            let p = parse(src);
            let e = p.errors.last().unwrap_or_else(|| panic!("{src:?} has an error"));
            assert_eq!((e.line, e.col), at, "{src:?}: {}", e.message);
        }
        for (src, end) in [("?  A", (1, 5)), ("a:", (1, 3)), ("- ? x\n- ", (2, 3)), ("x: [1, ?  A]", (1, 13))] {
            let p = parse(src);
            assert!(p.errors.is_empty(), "{src:?}: {:?}", p.errors);
            fn check(n: &Node, end: (u32, u32), src: &str) {
                assert!((n.span.end_line, n.span.end_col) <= end, "{src:?}: {:?}", n.span);
                match &n.value {
                    NodeValue::Seq(items) => items.iter().for_each(|i| check(i, end, src)),
                    NodeValue::Map(entries) => entries.iter().for_each(|e| {
                        assert!((e.key_span.end_line, e.key_span.end_col) <= end, "{src:?}: key {:?}", e.key_span);
                        check(&e.value, end, src)
                    }),
                    _ => {}
                }
            }
            check(&p.documents[0], end, src);
        }
    }

    #[test]
    fn a_control_character_is_named() {
        for (src, at, code) in [("a: x\0y\n", (1, 5), "U+0000"), ("a: 1\nb: \"x\0y\"\n", (2, 6), "U+0000")] {
            let e = parse(src).errors.remove(0);
            assert_eq!((e.line, e.col), at, "{e:?}");
            assert!(e.message.starts_with(&format!("found unprintable character {code} ")), "{e:?}");
        }
    }

    #[test]
    fn deep_nesting_is_refused() {
        let src = "[".repeat(300) + &"]".repeat(300);
        let e = parse(&src).errors.remove(0);
        assert_eq!((e.line, e.col), (1, 256), "{e:?}");
        assert_eq!(e.message, "flow collections (`[`, `{`) nested deeper than 255 levels");
        let src: String = (0..300).map(|i| format!("{}k:\n", "  ".repeat(i))).collect();
        let e = parse(&src).errors.remove(0);
        assert_eq!((e.line, e.col), (257, 513), "{e:?}");
        assert_eq!(e.message, "nesting deeper than 256 levels");
    }

    #[test]
    fn pointer_parse_handles_numeric_keys() {
        let d = one("ports:\n  80: http\n");
        let (s, n) = d.span_of_pointer("/ports/80");
        assert_eq!(n, 2);
        assert_eq!(s.start_line, 2);
        assert_eq!(parse_pointer("/ports/80").len(), 2);
    }
}

#[cfg(test)]
mod dialect_tests {
    use super::*;

    fn comments(src: &str) -> Vec<(u32, u32, String)> {
        let p = parse(src);
        assert!(p.errors.is_empty(), "{:?}", p.errors);
        p.comments.into_iter().map(|c| (c.line, c.col, c.text)).collect()
    }

    #[test]
    fn a_broken_document_does_not_hide_the_next_ones() {
        let src = "apiVersion: v1\nkind: Pod\n---\napiVersion: v1\nkind: Pod\nspec: [a, b\n---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: third\n";
        let p = parse(src);
        assert_eq!(p.documents.len(), 2);
        assert_eq!(p.errors.len(), 1);
        assert_eq!(p.errors[0].line, 7, "{:?}", p.errors);
        let (s, _) = p.documents[1].span_of_pointer("/metadata/name");
        assert_eq!((s.start_line, s.start_col), (11, 3));
        assert_eq!(p.documents[1].str_at(&["metadata", "name"]), Some("third"));
    }

    #[test]
    fn every_broken_document_is_reported() {
        let src = "a: 1\n---\nb: \"open\n---\nc: 2\n---\nd: 1\nd: 2\n--- # four\ne:\n  - 5 # five\n";
        let p = parse(src);
        let lines: Vec<u32> = p.errors.iter().map(|e| e.line).collect();
        assert_eq!(lines, vec![3, 8], "{:?}", p.errors);
        assert!(p.errors[1].message.contains("duplicate key `d`"));
        let keys: Vec<String> =
            p.documents.iter().map(|d| d.to_json().as_object().unwrap().keys().next().unwrap().clone()).collect();
        assert_eq!(keys, ["a", "c", "e"]);
        assert_eq!(p.documents[2].span_of_pointer("/e/0").0.start_line, 11);
        assert_eq!(p.comments.iter().map(|c| c.line).collect::<Vec<_>>(), vec![9, 11]);
    }

    #[test]
    fn an_error_on_a_document_marker_line_is_reported_once() {
        let p = parse("a: 1\n--- {b: 1}}\nc: 2\n---\nd: 3\n");
        assert_eq!(p.errors.len(), 1, "{:?}", p.errors);
        assert_eq!(p.errors[0].line, 2);
        assert_eq!(p.documents.len(), 2);
        assert_eq!(p.documents[1].span_of_pointer("/d").0.start_line, 5);
    }

    #[test]
    fn kubernetes_documents_read_yaml_1_1_integers_in_values() {
        let src = "apiVersion: v1\nkind: Pod\nspec:\n  securityContext:\n    runAsUser: 0b0\n  volumes:\n    - secret:\n        defaultMode: 0644\n  a: 0x1F\n  b: 1_000\n  c: 08\n  d: -0o17\n  e: '0644'\n  0644: key\n  f: [0b11, 017]\n";
        let j = parse(src).documents.remove(0).to_json();
        assert_eq!(j["spec"]["securityContext"]["runAsUser"], 0, "0b0 is root");
        assert_eq!(j["spec"]["volumes"][0]["secret"]["defaultMode"], 420);
        assert_eq!(j["spec"]["a"], 31);
        assert_eq!(j["spec"]["b"], 1000);
        assert_eq!(j["spec"]["c"], 8);
        assert_eq!(j["spec"]["d"], -15);
        assert_eq!(j["spec"]["e"], "0644", "quoted stays a string");
        assert_eq!(j["spec"]["644"], "key", "keys keep their YAML 1.2 reading");
        assert_eq!(j["spec"]["f"], serde_json::json!([3, 15]));
    }

    #[test]
    fn other_documents_keep_yaml_1_2_integers() {
        let j = parse("mode: 0644\nbin: 0b1\nsep: 1_000\nneg: -0x1F\nlist: [017]\n").documents.remove(0).to_json();
        assert_eq!(j["mode"], 644);
        assert_eq!(j["bin"], "0b1");
        assert_eq!(j["sep"], "1_000");
        assert_eq!(j["neg"], "-0x1F");
        assert_eq!(j["list"][0], 17);
        let j = parse("apiVersion: bylaw/v1\nkind: Policy\nx: 0644\n").documents.remove(0).to_json();
        assert_eq!(j["x"], 644, "bylaw's own documents are YAML 1.2");
    }

    #[test]
    fn everything_reached_through_an_alias_is_located_at_the_alias() {
        let src = "apiVersion: v1\nkind: Pod\nspec:\n  containers: [&c {name: a, securityContext: {privileged: true}}]\n  initContainers:\n    - *c\n";
        let d = parse(src).documents.remove(0);
        let (s, n) = d.span_of_pointer("/spec/initContainers/0/securityContext/privileged");
        assert_eq!(n, 5);
        assert_eq!((s.start_line, s.start_col, s.end_line), (6, 7, 6));
        assert_eq!(d.value_span_of_pointer("/spec/initContainers/0/name").0.start_line, 6);
        let (s, _) = d.span_of_pointer("/spec/containers/0/securityContext/privileged");
        assert_eq!(s.start_line, 4, "the anchor keeps its own spans");
    }

    #[test]
    fn a_bom_is_skipped() {
        let p = parse("\u{feff}a: 1 # c\n");
        assert!(p.errors.is_empty());
        assert_eq!(p.documents[0].span_of_pointer("/a").0.start_col, 1);
        assert_eq!(p.comments[0].col, 6);
    }

    #[test]
    fn quoted_scalars_end_at_their_closing_quote() {
        let d = parse("a: \"x\" # note\nb: 'it''s\n  multi' # c\n").documents.remove(0);
        let s = d.value_span_of_pointer("/a").0;
        assert_eq!((s.start_col, s.end_line, s.end_col), (4, 1, 7));
        let s = d.value_span_of_pointer("/b").0;
        assert_eq!((s.start_line, s.end_line, s.end_col), (2, 3, 9));
    }

    #[test]
    fn comments_are_only_real_comments() {
        let src = "\
# bylaw:ignore K-0 -- top
spec:
  # bylaw:ignore K-1 -- above
  privileged: true # bylaw:ignore K-2 -- same line
  command: |  # header
    echo hi # bylaw:ignore X-1
    # bylaw:ignore X-2
  folded: >-
    # bylaw:ignore X-3
  dq: \"a
    # bylaw:ignore X-4\"  # after dq
  sq: 'b
    # bylaw:ignore X-5' #after sq
  plain: a#b
  url: http://x/#frag
  é: [\"#x\", 'y #z'] #é
";
        let found = comments(src);
        let expect: Vec<(u32, u32, String)> = vec![
            (1, 1, " bylaw:ignore K-0 -- top".into()),
            (3, 3, " bylaw:ignore K-1 -- above".into()),
            (4, 20, " bylaw:ignore K-2 -- same line".into()),
            (5, 15, " header".into()),
            (11, 26, " after dq".into()),
            (13, 25, "after sq".into()),
            (16, 21, "é".into()),
        ];
        assert_eq!(found, expect);
    }

    #[test]
    fn a_comment_ending_a_block_scalar_is_a_comment() {
        let src = "a:\n  run: |\n    make # not\n  # yes\n  b: 1\nc: |\n  x\n\n# last\n";
        let found: Vec<(u32, u32)> = comments(src).into_iter().map(|(l, c, _)| (l, c)).collect();
        assert_eq!(found, vec![(4, 3), (9, 1)]);
    }
}
