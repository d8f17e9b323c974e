//! YAML (multi-document) into [`Node`] trees with source spans, built from
//! `saphyr-parser` events.
//!
//! Choices, documented for users in README ("YAML dialect"):
//! - YAML 1.2 core schema for plain scalars (`true`/`false`, `null`/`~`,
//!   ints incl. `0x`/`0o`, floats incl. `.inf`/`.nan`).
//! - Kubernetes compatibility: in a document with top-level `apiVersion` and
//!   `kind` strings, unquoted YAML 1.1 booleans used as *values* (`yes`, `no`,
//!   `on`, `off`, `y`, `n` in any case Kubernetes accepts) are read as booleans,
//!   as the Kubernetes API server reads them. Keys are never converted, and
//!   other files (GitHub workflows' `on:`) keep YAML 1.2 meaning.
//! - Merge keys (`<<: *base`) are applied; explicit keys win.
//! - Duplicate keys in one mapping are an error, as in Kubernetes tooling.
//! - Limits against hostile input: nesting depth 256 and at most 1,000,000
//!   nodes created by alias expansion per document ("billion laughs").
//!
//! It does not keep comments: inline suppressions are read from the source
//! lines by the exceptions machinery.

use crate::node::{Entry, Node, NodeValue, Span};
use saphyr_parser::{Event, Parser, ScalarStyle, Span as YSpan, Tag};
use std::collections::HashMap;

/// Maximum nesting depth of collections.
pub const MAX_DEPTH: usize = 256;
/// Maximum number of nodes alias expansion may create in one document.
pub const MAX_ALIAS_NODES: usize = 1_000_000;

/// A syntax error with its position (1-based line and column).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyntaxError {
    pub line: u32,
    pub col: u32,
    pub message: String,
}

/// The documents of a YAML stream that parsed, and the error that stopped
/// parsing, if any. Documents before the error are kept and evaluated.
#[derive(Debug, Default)]
pub struct Parsed {
    pub documents: Vec<Node>,
    pub error: Option<SyntaxError>,
}

fn span(s: &YSpan) -> Span {
    Span {
        start_line: s.start.line() as u32,
        start_col: s.start.col() as u32 + 1,
        end_line: s.end.line() as u32,
        end_col: s.end.col() as u32 + 1,
    }
}

enum Frame {
    Seq { start: Span, anchor: usize, items: Vec<Node> },
    Map { start: Span, anchor: usize, entries: Vec<Entry>, key: Option<(String, Span, bool)>, merges: Vec<Node> },
}

struct Builder {
    stack: Vec<Frame>,
    anchors: HashMap<usize, Node>,
    alias_nodes: usize,
    root: Option<Node>,
    /// Plain-scalar YAML 1.1 booleans seen in the current document.
    has_yaml11_bool: bool,
}

fn count_nodes(n: &Node) -> usize {
    match &n.value {
        NodeValue::Seq(items) => 1 + items.iter().map(count_nodes).sum::<usize>(),
        NodeValue::Map(entries) => 1 + entries.iter().map(|e| count_nodes(&e.value)).sum::<usize>(),
        _ => 1,
    }
}

fn is_yaml11_bool(s: &str) -> Option<bool> {
    match s {
        "y" | "Y" | "yes" | "Yes" | "YES" | "on" | "On" | "ON" => Some(true),
        "n" | "N" | "no" | "No" | "NO" | "off" | "Off" | "OFF" => Some(false),
        _ => None,
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
        return NodeValue::Str { value: s.to_owned(), plain: true };
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
    NodeValue::Str { value: s.to_owned(), plain: true }
}

fn is_decimal_int(s: &str) -> bool {
    let digits = s.strip_prefix(['-', '+']).unwrap_or(s);
    !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
}

/// `[-+]? ( \. [0-9]+ | [0-9]+ ( \. [0-9]* )? ) ( [eE] [-+]? [0-9]+ )?`
fn is_float(s: &str) -> bool {
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
        "str" => NodeValue::Str { value: s.to_owned(), plain: false },
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

fn key_string(node: &Node) -> Result<String, String> {
    Ok(match &node.value {
        NodeValue::Null => "null".into(),
        NodeValue::Bool(b) => b.to_string(),
        NodeValue::Int(i) => i.to_string(),
        NodeValue::Float(f) => f.to_string(),
        NodeValue::Str { value, .. } => value.clone(),
        NodeValue::Seq(_) | NodeValue::Map(_) => return Err("a mapping key must be a scalar, not a collection".into()),
    })
}

impl Builder {
    fn new() -> Self {
        Builder { stack: Vec::new(), anchors: HashMap::new(), alias_nodes: 0, root: None, has_yaml11_bool: false }
    }

    fn err(span: Span, message: impl Into<String>) -> SyntaxError {
        SyntaxError { line: span.start_line, col: span.start_col, message: message.into() }
    }

    /// Adds a finished node to the innermost collection (or as the root).
    fn push(&mut self, node: Node, anchor: usize, plain: bool) -> Result<(), SyntaxError> {
        if anchor != 0 {
            self.anchors.insert(anchor, node.clone());
        }
        match self.stack.last_mut() {
            None => self.root = Some(node),
            Some(Frame::Seq { items, .. }) => items.push(node),
            Some(Frame::Map { entries, key, merges, .. }) => match key.take() {
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
                    if let Some(prev) = entries.iter().find(|e| e.key == k) {
                        return Err(Self::err(
                            key_span,
                            format!(
                                "duplicate key `{k}` in this mapping (first defined at line {})",
                                prev.key_span.start_line
                            ),
                        ));
                    }
                    entries.push(Entry { key: k, key_span, value: node });
                }
            },
        }
        Ok(())
    }

    fn event(&mut self, ev: Event<'_>, sp: &YSpan) -> Result<(), SyntaxError> {
        let s = span(sp);
        match ev {
            Event::Scalar(text, style, anchor, tag) => {
                let plain = style == ScalarStyle::Plain;
                let value = match (&tag, plain) {
                    (Some(t), _) => resolve_tagged(&text, t).map_err(|m| Self::err(s, m))?,
                    (None, true) => {
                        let v = resolve_plain(&text);
                        if is_yaml11_bool(&text).is_some() {
                            self.has_yaml11_bool = true;
                        }
                        v
                    }
                    (None, false) => NodeValue::Str { value: text.into_owned(), plain: false },
                };
                self.push(Node { span: s, value }, anchor, plain)?;
            }
            Event::SequenceStart(anchor, _) => {
                self.open(s)?;
                self.stack.push(Frame::Seq { start: s, anchor, items: Vec::new() });
            }
            Event::MappingStart(anchor, _) => {
                self.open(s)?;
                self.stack.push(Frame::Map { start: s, anchor, entries: Vec::new(), key: None, merges: Vec::new() });
            }
            Event::SequenceEnd => {
                if let Some(Frame::Seq { start, anchor, items }) = self.stack.pop() {
                    let span = close_span(start, items.last().map(|n| n.span), s);
                    self.push(Node { span, value: NodeValue::Seq(items) }, anchor, false)?;
                }
            }
            Event::MappingEnd => {
                if let Some(Frame::Map { start, anchor, mut entries, merges, .. }) = self.stack.pop() {
                    let last = entries.last().map(|e| e.value.span);
                    for m in merges {
                        if let NodeValue::Map(merged) = m.value {
                            for e in merged {
                                if !entries.iter().any(|x| x.key == e.key) {
                                    entries.push(e);
                                }
                            }
                        }
                    }
                    let span = close_span(start, last, s);
                    self.push(Node { span, value: NodeValue::Map(entries) }, anchor, false)?;
                }
            }
            Event::Alias(id) => {
                let Some(target) = self.anchors.get(&id) else {
                    return Err(Self::err(s, "alias to an unknown anchor"));
                };
                let mut node = target.clone();
                self.alias_nodes += count_nodes(&node);
                if self.alias_nodes > MAX_ALIAS_NODES {
                    return Err(Self::err(
                        s,
                        format!(
                            "alias expansion creates more than {MAX_ALIAS_NODES} nodes (possible \"billion laughs\" document)"
                        ),
                    ));
                }
                node.span = s;
                self.push(node, 0, false)?;
            }
            Event::DocumentStart(_) => {
                self.stack.clear();
                self.anchors.clear();
                self.alias_nodes = 0;
                self.root = None;
                self.has_yaml11_bool = false;
            }
            _ => {}
        }
        Ok(())
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
fn close_span(start: Span, last_child: Option<Span>, end_event: Span) -> Span {
    match last_child {
        Some(last) if end_event.start_line == last.end_line => start.to(end_event),
        Some(last) => start.to(last),
        None if end_event.start_line == start.start_line => start.to(end_event),
        None => start,
    }
}

/// Applies Kubernetes' YAML 1.1 booleans to a Kubernetes document (values only).
fn apply_yaml11_bools(node: &mut Node) {
    match &mut node.value {
        NodeValue::Str { value, plain: true } => {
            if let Some(b) = is_yaml11_bool(value) {
                node.value = NodeValue::Bool(b);
            }
        }
        NodeValue::Seq(items) => items.iter_mut().for_each(apply_yaml11_bools),
        NodeValue::Map(entries) => entries.iter_mut().for_each(|e| apply_yaml11_bools(&mut e.value)),
        _ => {}
    }
}

/// Whether a document looks like a Kubernetes object (`apiVersion` and `kind` strings).
/// bylaw's own documents (`apiVersion: bylaw/…`) are plain YAML 1.2.
pub fn is_kubernetes(doc: &Node) -> bool {
    doc.str_at(&["apiVersion"]).is_some_and(|v| !v.starts_with("bylaw/")) && doc.str_at(&["kind"]).is_some()
}

/// Parses a YAML stream. Empty documents (only comments, or `---` alone) are
/// skipped; a syntax error stops parsing and is returned with its position.
pub fn parse(src: &str) -> Parsed {
    let mut out = Parsed::default();
    let mut b = Builder::new();
    let mut parser = Parser::new_from_str(src);
    loop {
        match parser.next() {
            None => break,
            Some(Err(e)) => {
                out.error = Some(SyntaxError {
                    line: e.marker().line() as u32,
                    col: e.marker().col() as u32 + 1,
                    message: e.info().to_owned(),
                });
                break;
            }
            Some(Ok((Event::DocumentEnd, _))) => {
                if let Some(mut root) = b.root.take() {
                    if !matches!(root.value, NodeValue::Null) {
                        if b.has_yaml11_bool && is_kubernetes(&root) {
                            apply_yaml11_bools(&mut root);
                        }
                        out.documents.push(root);
                    }
                }
            }
            Some(Ok((Event::StreamEnd, _))) => break,
            Some(Ok((ev, sp))) => {
                if let Err(e) = b.event(ev, &sp) {
                    out.error = Some(e);
                    break;
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::node::parse_pointer;

    fn one(src: &str) -> Node {
        let p = parse(src);
        assert!(p.error.is_none(), "{:?}", p.error);
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
        let e = p.error.expect("unclosed flow sequence is an error");
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
    fn billion_laughs_is_refused() {
        let mut src = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..10 {
            let prev = format!("*a{}", i - 1);
            src.push_str(&format!("a{i}: &a{i} [{}]\n", vec![prev; 10].join(", ")));
        }
        let p = parse(&src);
        let e = p.error.expect("expansion limit");
        assert!(e.message.contains("alias expansion"), "{e:?}");
    }

    #[test]
    fn duplicate_keys_are_errors() {
        let p = parse("a: 1\nb: 2\na: 3\n");
        let e = p.error.unwrap();
        assert_eq!((e.line, e.col), (3, 1));
        assert!(e.message.contains("duplicate key `a`"));
        assert!(e.message.contains("line 1"));
    }

    #[test]
    fn deep_nesting_is_refused() {
        let src = "[".repeat(300) + &"]".repeat(300);
        let e = parse(&src).error.expect("too deep");
        assert!(e.message.contains("nesting") || e.message.contains("recursion"), "{e:?}");
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
