//! The document tree every input format parses into: plain data (null, bool,
//! numbers, strings, sequences, mappings) where every node keeps the source
//! span it came from.
//!
//! Locations are symbolic until printed (CONVENTIONS): findings carry a JSON
//! pointer into the document, and [`Node::span_of`] is the one place that
//! turns such a pointer into a line/column span, for every format.
//!
//! Conversions to `serde_json::Value` (for JSONPath and schemas) and to
//! CEL's `Val` tree (for evaluation) live here too, so each document is
//! converted once.

use cel::common::types::{CelBool, CelDouble, CelInt, CelList, CelMap, CelMapKey, CelNull, CelString};
use cel::common::value::Val;
use compact_str::CompactString;
use std::collections::HashMap;

/// A source range: 1-based lines and 1-based character columns, end exclusive.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Hash, PartialOrd, Ord, serde::Serialize)]
pub struct Span {
    pub start_line: u32,
    pub start_col: u32,
    pub end_line: u32,
    pub end_col: u32,
}

impl Span {
    /// A span covering `self` and `other`.
    pub fn to(self, other: Span) -> Span {
        let (end_line, end_col) = if (other.end_line, other.end_col) > (self.end_line, self.end_col) {
            (other.end_line, other.end_col)
        } else {
            (self.end_line, self.end_col)
        };
        Span { start_line: self.start_line, start_col: self.start_col, end_line, end_col }
    }

    /// A zero-width span at a point.
    pub fn point(line: u32, col: u32) -> Span {
        Span { start_line: line, start_col: col, end_line: line, end_col: col }
    }
}

/// A value in a parsed document, with where it was written.
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    pub span: Span,
    pub value: NodeValue,
}

/// The data of a [`Node`].
#[derive(Clone, Debug, PartialEq)]
pub enum NodeValue {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    /// A string; `plain` is true for an unquoted YAML scalar (used for the
    /// YAML 1.1 boolean and integer compatibility of Kubernetes documents,
    /// see `input/yaml11.rs`).
    Str {
        value: CompactString,
        plain: bool,
    },
    Seq(Vec<Node>),
    Map(Vec<Entry>),
}

/// One key/value pair of a mapping, in source order.
#[derive(Clone, Debug, PartialEq)]
pub struct Entry {
    pub key: CompactString,
    pub key_span: Span,
    pub value: Node,
}

/// One step of a path into a document.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Segment {
    Key(CompactString),
    Index(usize),
}

impl Node {
    /// The entry of a mapping node under `key`.
    pub fn get(&self, key: &str) -> Option<&Node> {
        match &self.value {
            NodeValue::Map(entries) => entries.iter().find(|e| e.key == key).map(|e| &e.value),
            _ => None,
        }
    }

    /// The string value of this node, if it is a string.
    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            NodeValue::Str { value, .. } => Some(value),
            _ => None,
        }
    }

    /// The value at a string key path (`["metadata", "name"]`) when it is a string.
    pub fn str_at(&self, keys: &[&str]) -> Option<&str> {
        let mut node = self;
        for key in keys {
            node = node.get(key)?;
        }
        node.as_str()
    }

    /// Walks `segments` from this node as far as they exist. Returns the
    /// span of the deepest node reached and how many segments matched. A
    /// mapping entry's span runs from its key to the end of its value, so a
    /// finding on `securityContext` points at the line that names it.
    pub fn span_of(&self, segments: &[Segment]) -> (Span, usize) {
        self.walk_span(segments, true)
    }

    fn walk_span(&self, segments: &[Segment], with_key: bool) -> (Span, usize) {
        let mut node = self;
        let mut span = self.span;
        for (depth, segment) in segments.iter().enumerate() {
            let next = match (&node.value, segment) {
                (NodeValue::Map(entries), Segment::Key(key)) => entries.iter().find(|e| e.key == key).map(|e| {
                    let span = if with_key { e.key_span.to(e.value.span) } else { e.value.span };
                    (span, &e.value)
                }),
                (NodeValue::Seq(items), Segment::Index(i)) => items.get(*i).map(|n| (n.span, n)),
                _ => None,
            };
            match next {
                Some((s, n)) => {
                    span = s;
                    node = n;
                }
                None => return (span, depth),
            }
        }
        (span, segments.len())
    }

    /// The node at `segments`, if every segment exists.
    pub fn at(&self, segments: &[Segment]) -> Option<&Node> {
        let mut node = self;
        for segment in segments {
            node = match (&node.value, segment) {
                (NodeValue::Map(entries), Segment::Key(key)) => &entries.iter().find(|e| e.key == key)?.value,
                (NodeValue::Seq(items), Segment::Index(i)) => items.get(*i)?,
                _ => return None,
            };
        }
        Some(node)
    }

    /// Converts to JSON (for JSONPath queries and JSON Schema validation).
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value as J;
        match &self.value {
            NodeValue::Null => J::Null,
            NodeValue::Bool(b) => J::Bool(*b),
            NodeValue::Int(i) => J::from(*i),
            NodeValue::Float(f) => {
                serde_json::Number::from_f64(*f).map(J::Number).unwrap_or_else(|| J::String(f.to_string()))
            }
            NodeValue::Str { value, .. } => J::String(value.to_string()),
            NodeValue::Seq(items) => J::Array(items.iter().map(Node::to_json).collect()),
            NodeValue::Map(entries) => {
                J::Object(entries.iter().map(|e| (e.key.to_string(), e.value.to_json())).collect())
            }
        }
    }

    /// Converts to CEL's value tree, borrowing every string from this node:
    /// done once per document (and per `each` element), never per rule.
    pub fn to_val(&self) -> Box<dyn Val + '_> {
        match &self.value {
            NodeValue::Null => Box::new(CelNull),
            NodeValue::Bool(b) => Box::new(CelBool::from(*b)),
            NodeValue::Int(i) => Box::new(CelInt::from(*i)),
            NodeValue::Float(f) => Box::new(CelDouble::from(*f)),
            NodeValue::Str { value, .. } => Box::new(CelString::from(value.as_str())),
            NodeValue::Seq(items) => Box::new(CelList::from(items.iter().map(Node::to_val).collect::<Vec<_>>())),
            NodeValue::Map(entries) => {
                let mut map = HashMap::with_capacity(entries.len());
                for e in entries {
                    map.insert(CelMapKey::from(e.key.as_str()), e.value.to_val());
                }
                Box::new(CelMap::from(map))
            }
        }
    }
}

/// The number of values in `n`: itself and every value inside it (keys
/// are not counted apart from their values).
pub fn count_nodes(n: &Node) -> usize {
    match &n.value {
        NodeValue::Seq(items) => 1 + items.iter().map(count_nodes).sum::<usize>(),
        NodeValue::Map(entries) => 1 + entries.iter().map(|e| count_nodes(&e.value)).sum::<usize>(),
        _ => 1,
    }
}

/// Converts JSON (params, the pipeline context) to CEL's value tree. Integers
/// become `int` (not `uint`) so that `params.max + 1` works.
pub fn json_to_val(v: &serde_json::Value) -> Box<dyn Val + 'static> {
    use serde_json::Value as J;
    match v {
        J::Null => Box::new(CelNull),
        J::Bool(b) => Box::new(CelBool::from(*b)),
        J::Number(n) => match n.as_i64() {
            Some(i) => Box::new(CelInt::from(i)),
            None => Box::new(CelDouble::from(n.as_f64().unwrap_or(f64::NAN))),
        },
        J::String(s) => Box::new(CelString::from(s.clone())),
        J::Array(items) => Box::new(CelList::from(items.iter().map(json_to_val).collect::<Vec<_>>())),
        J::Object(map) => {
            let mut out = HashMap::with_capacity(map.len());
            for (k, v) in map {
                out.insert(CelMapKey::from(k.clone()), json_to_val(v));
            }
            Box::new(CelMap::from(out))
        }
    }
}

/// Parses an RFC 6901 JSON pointer (`/spec/containers/0`) into segments.
/// All-digit tokens become indexes; they are matched against sequences only,
/// so a mapping key that looks like a number still resolves (see [`Node::span_of`]).
pub fn parse_pointer(pointer: &str) -> Vec<Segment> {
    if pointer.is_empty() {
        return Vec::new();
    }
    pointer
        .trim_start_matches('/')
        .split('/')
        .map(|raw| {
            let token = raw.replace("~1", "/").replace("~0", "~");
            match token.parse::<usize>() {
                Ok(i) if !token.starts_with('+') => Segment::Index(i),
                _ => Segment::Key(token.into()),
            }
        })
        .collect()
}

/// Formats segments as an RFC 6901 JSON pointer.
pub fn to_pointer(segments: &[Segment]) -> String {
    let mut out = String::new();
    for s in segments {
        out.push('/');
        match s {
            Segment::Key(k) if !k.contains(['~', '/']) => out.push_str(k),
            Segment::Key(k) => out.push_str(&k.replace('~', "~0").replace('/', "~1")),
            Segment::Index(i) => {
                use std::fmt::Write;
                let _ = write!(out, "{i}");
            }
        }
    }
    out
}

impl Node {
    /// Like [`Node::span_of`] but tolerant of numeric-looking mapping keys:
    /// an `Index` segment on a mapping is tried as a key.
    pub fn span_of_pointer(&self, pointer: &str) -> (Span, usize) {
        let resolved = self.resolve_pointer(pointer);
        self.span_of(&resolved)
    }

    /// The span of the value node itself at `pointer` (without its key), as
    /// far as the pointer exists: where a wrong value is written.
    pub fn value_span_of_pointer(&self, pointer: &str) -> (Span, usize) {
        let resolved = self.resolve_pointer(pointer);
        self.walk_span(&resolved, false)
    }

    fn resolve_pointer(&self, pointer: &str) -> Vec<Segment> {
        let segments: Vec<Segment> = parse_pointer(pointer);
        let mut resolved = Vec::with_capacity(segments.len());
        let mut node = Some(self);
        for s in segments {
            let s = match (node.map(|n| &n.value), s) {
                (Some(NodeValue::Map(_)), Segment::Index(i)) => Segment::Key(compact_str::format_compact!("{i}")),
                (_, s) => s,
            };
            node = node.and_then(|n| n.at(std::slice::from_ref(&s)));
            resolved.push(s);
        }
        resolved
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pointer_round_trip() {
        let segs = parse_pointer("/a~1b/0/c~0d");
        assert_eq!(segs, vec![Segment::Key("a/b".into()), Segment::Index(0), Segment::Key("c~d".into())]);
        assert_eq!(to_pointer(&segs), "/a~1b/0/c~0d");
        assert!(parse_pointer("").is_empty());
    }
}
