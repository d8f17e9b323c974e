//! JSONPath (RFC 9535) queries on [`Node`] trees, returning nodes with their
//! path from the root (for line numbers). Every path is parsed and checked by
//! `serde_json_path`; the common subset policies use — names, indexes,
//! wildcards, bracketed name/index lists and descendant segments (`..`) —
//! is evaluated directly on the document tree, without converting it to
//! JSON. Other paths (filters, slices, functions) go through
//! `serde_json_path` on the document's JSON form.

use crate::node::{Node, NodeValue, Segment};
use serde_json_path::JsonPath;
use std::sync::OnceLock;

/// A compiled JSONPath.
#[derive(Debug)]
pub struct Query {
    text: String,
    full: JsonPath,
    fast: Option<Vec<Step>>,
}

#[derive(Debug, PartialEq)]
enum Selector {
    Name(String),
    Index(i64),
    Wildcard,
    /// `?@.name` / `?@['name']`: the children that are objects with member `name`.
    HasMember(String),
}

#[derive(Debug, PartialEq)]
struct Step {
    descendant: bool,
    selectors: Vec<Selector>,
}

/// An invalid constant regular expression in a `match()` or `search()`
/// filter function (RFC 9535 §2.4.6, §2.4.7) of `path`: the message and the
/// character offset of the pattern. RFC 9535 makes such a call
/// `LogicalFalse`, so the filter would silently select nothing on every
/// document (a rule that can never fire): bylaw refuses it at load time.
/// The pattern is checked as `serde_json_path` compiles it
/// (`regex`, `(?R)^(…)$` for `match`, `(?R)(…)` for `search`).
pub fn constant_regex_error(path: &str) -> Option<(String, usize)> {
    let chars: Vec<char> = path.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '\'' | '"' => i = string_end(&chars, i),
            c if c.is_ascii_alphabetic()
                && (i == 0 || !chars[i - 1].is_ascii_alphanumeric() && chars[i - 1] != '_') =>
            {
                let start = i;
                while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '_') {
                    i += 1;
                }
                let name: String = chars[start..i].iter().collect();
                let mut j = i;
                while j < chars.len() && chars[j] == ' ' {
                    j += 1;
                }
                if (name == "match" || name == "search") && chars.get(j) == Some(&'(') {
                    if let Some(at) = second_argument(&chars, j + 1) {
                        if let Some(pattern) = string_value(&chars, at) {
                            let anchored =
                                if name == "match" { format!("(?R)^({pattern})$") } else { format!("(?R)({pattern})") };
                            if let Err(e) = regex::Regex::new(&anchored) {
                                let why = e.to_string().lines().last().unwrap_or_default().trim().to_owned();
                                return Some((
                                    format!(
                                        "invalid regular expression `{pattern}` in `{name}()`: {why} (RFC 9535 makes the call false on every document)"
                                    ),
                                    at,
                                ));
                            }
                        }
                    }
                }
                continue;
            }
            _ => i += 1,
        }
    }
    None
}

/// The index just after the string literal starting at `at`.
fn string_end(chars: &[char], at: usize) -> usize {
    let quote = chars[at];
    let mut i = at + 1;
    while i < chars.len() {
        match chars[i] {
            '\\' => i += 2,
            c if c == quote => return i + 1,
            _ => i += 1,
        }
    }
    chars.len()
}

/// Where the second argument of the call whose arguments start at `from`
/// begins (after the first top-level comma and spaces).
fn second_argument(chars: &[char], from: usize) -> Option<usize> {
    let mut depth = 0usize;
    let mut i = from;
    while i < chars.len() {
        match chars[i] {
            '\'' | '"' => {
                i = string_end(chars, i);
                continue;
            }
            '(' | '[' => depth += 1,
            ')' | ']' if depth == 0 => return None,
            ')' | ']' => depth -= 1,
            ',' if depth == 0 => {
                let mut j = i + 1;
                while j < chars.len() && chars[j] == ' ' {
                    j += 1;
                }
                return Some(j);
            }
            _ => {}
        }
        i += 1;
    }
    None
}

/// The value of the JSONPath string literal at `at` (RFC 9535 §2.3.1.1
/// escapes), when there is one.
fn string_value(chars: &[char], at: usize) -> Option<String> {
    let quote = *chars.get(at).filter(|c| **c == '\'' || **c == '"')?;
    let mut out = String::new();
    let mut i = at + 1;
    while i < chars.len() {
        match chars[i] {
            c if c == quote => return Some(out),
            '\\' => {
                let e = *chars.get(i + 1)?;
                match e {
                    'b' => out.push('\u{8}'),
                    'f' => out.push('\u{c}'),
                    'n' => out.push('\n'),
                    'r' => out.push('\r'),
                    't' => out.push('\t'),
                    'u' => {
                        let hex: String = chars.get(i + 2..i + 6)?.iter().collect();
                        out.push(char::from_u32(u32::from_str_radix(&hex, 16).ok()?)?);
                        i += 4;
                    }
                    other => out.push(other),
                }
                i += 2;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    None
}

impl Query {
    /// Parses `text`; the error is `serde_json_path`'s (message and position).
    pub fn parse(text: &str) -> Result<Query, serde_json_path::ParseError> {
        let full = JsonPath::parse(text)?;
        Ok(Query { text: text.to_owned(), fast: parse_simple(text), full })
    }

    /// The path as written in the policy.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The segments of a singular path (only names and non-negative
    /// indexes, one per step: `$.spec.containers[0].image`, RFC 9535
    /// §2.3.5.1 "singular query"), which names one place whether or not it
    /// exists; `None` for any other path.
    pub fn singular(&self) -> Option<Vec<Segment>> {
        self.fast
            .as_ref()?
            .iter()
            .map(|step| match (step.descendant, step.selectors.as_slice()) {
                (false, [Selector::Name(n)]) => Some(Segment::Key(n.as_str().into())),
                (false, [Selector::Index(i)]) => usize::try_from(*i).ok().map(Segment::Index),
                _ => None,
            })
            .collect()
    }

    /// The nodes the path selects in `doc`, in RFC 9535 order, each with its
    /// segments from the root. `json` caches the document's JSON form for
    /// paths outside the fast subset.
    pub fn select<'n>(&self, doc: &'n Node, json: &OnceLock<serde_json::Value>) -> Vec<(Vec<Segment>, &'n Node)> {
        match &self.fast {
            Some(steps) => {
                let mut current: Vec<(Vec<Segment>, &'n Node)> = vec![(Vec::new(), doc)];
                for step in steps {
                    let mut next = Vec::new();
                    for (path, node) in &current {
                        if step.descendant {
                            descend(node, &mut path.clone(), &step.selectors, &mut next);
                        } else {
                            apply(node, path, &step.selectors, &mut next);
                        }
                    }
                    current = next;
                }
                current
            }
            None => {
                let json = json.get_or_init(|| doc.to_json());
                self.full
                    .query_located(json)
                    .into_iter()
                    .filter_map(|located| {
                        let segs: Vec<Segment> = located
                            .location()
                            .iter()
                            .map(|e| match e {
                                serde_json_path::PathElement::Name(n) => Segment::Key((*n).into()),
                                serde_json_path::PathElement::Index(i) => Segment::Index(*i),
                            })
                            .collect();
                        let node = doc.at(&segs)?;
                        Some((segs, node))
                    })
                    .collect()
            }
        }
    }
}

fn child(path: &[Segment], seg: Segment) -> Vec<Segment> {
    let mut p = Vec::with_capacity(path.len() + 1);
    p.extend_from_slice(path);
    p.push(seg);
    p
}

/// Applies the selectors of a child segment to `node`.
fn apply<'n>(node: &'n Node, path: &[Segment], selectors: &[Selector], out: &mut Vec<(Vec<Segment>, &'n Node)>) {
    for sel in selectors {
        match (sel, &node.value) {
            (Selector::Name(name), NodeValue::Map(entries)) => {
                if let Some(e) = entries.iter().find(|e| e.key == name) {
                    out.push((child(path, Segment::Key(e.key.clone())), &e.value));
                }
            }
            (Selector::Index(i), NodeValue::Seq(items)) => {
                let len = items.len() as i64;
                let idx = if *i < 0 { len + i } else { *i };
                if (0..len).contains(&idx) {
                    out.push((child(path, Segment::Index(idx as usize)), &items[idx as usize]));
                }
            }
            (Selector::Wildcard, NodeValue::Map(entries)) => {
                for e in entries {
                    out.push((child(path, Segment::Key(e.key.clone())), &e.value));
                }
            }
            (Selector::Wildcard, NodeValue::Seq(items)) => {
                for (i, item) in items.iter().enumerate() {
                    out.push((child(path, Segment::Index(i)), item));
                }
            }
            (Selector::HasMember(name), NodeValue::Map(entries)) => {
                for e in entries.iter().filter(|e| e.value.get(name).is_some()) {
                    out.push((child(path, Segment::Key(e.key.clone())), &e.value));
                }
            }
            (Selector::HasMember(name), NodeValue::Seq(items)) => {
                for (i, item) in items.iter().enumerate().filter(|(_, n)| n.get(name).is_some()) {
                    out.push((child(path, Segment::Index(i)), item));
                }
            }
            _ => {}
        }
    }
}

/// A descendant segment: `node` and every node below it (pre-order, children
/// in document order), each with the selectors applied. `path` is a stack
/// (pushed and popped on the way), copied only for the nodes selected.
fn descend<'n>(
    node: &'n Node,
    path: &mut Vec<Segment>,
    selectors: &[Selector],
    out: &mut Vec<(Vec<Segment>, &'n Node)>,
) {
    apply(node, path, selectors, out);
    match &node.value {
        NodeValue::Map(entries) => {
            for e in entries {
                if matches!(e.value.value, NodeValue::Map(_) | NodeValue::Seq(_)) {
                    path.push(Segment::Key(e.key.clone()));
                    descend(&e.value, path, selectors, out);
                    path.pop();
                }
            }
        }
        NodeValue::Seq(items) => {
            for (i, item) in items.iter().enumerate() {
                if matches!(item.value, NodeValue::Map(_) | NodeValue::Seq(_)) {
                    path.push(Segment::Index(i));
                    descend(item, path, selectors, out);
                    path.pop();
                }
            }
        }
        _ => {}
    }
}

/// Parses the subset evaluated natively; `None` for anything else (which
/// then goes through `serde_json_path`, which has already accepted it).
fn parse_simple(text: &str) -> Option<Vec<Step>> {
    let b = text.as_bytes();
    if b.first() != Some(&b'$') {
        return None;
    }
    let mut i = 1;
    let mut steps = Vec::new();
    while i < b.len() {
        let mut descendant = false;
        if b[i] == b'.' {
            i += 1;
            if b.get(i) == Some(&b'.') {
                descendant = true;
                i += 1;
            }
            match b.get(i) {
                Some(b'[') if descendant => {}
                Some(b'*') => {
                    i += 1;
                    steps.push(Step { descendant, selectors: vec![Selector::Wildcard] });
                    continue;
                }
                Some(&c) if c == b'_' || c.is_ascii_alphabetic() => {
                    let start = i;
                    while i < b.len() && (b[i] == b'_' || b[i].is_ascii_alphanumeric()) {
                        i += 1;
                    }
                    steps.push(Step { descendant, selectors: vec![Selector::Name(text[start..i].to_owned())] });
                    continue;
                }
                _ => return None,
            }
        }
        if b.get(i) != Some(&b'[') {
            return None;
        }
        i += 1;
        let mut selectors = Vec::new();
        loop {
            while b.get(i).is_some_and(|c| c.is_ascii_whitespace()) {
                i += 1;
            }
            match *b.get(i)? {
                b'*' => {
                    i += 1;
                    selectors.push(Selector::Wildcard);
                }
                b'?' => {
                    // only the existence test of one member: `?@.name` or `?@['name']`
                    let rest = &text[i + 1..];
                    let rest_trim = rest.trim_start();
                    let after_at = rest_trim.strip_prefix('@')?;
                    let skipped = rest.len() - rest_trim.len() + 1;
                    let (name, used) = if let Some(r) = after_at.strip_prefix('.') {
                        let n = r.bytes().take_while(|c| *c == b'_' || c.is_ascii_alphanumeric()).count();
                        if n == 0 || r.as_bytes()[0].is_ascii_digit() {
                            return None;
                        }
                        (r[..n].to_owned(), 1 + n)
                    } else {
                        let r = after_at.strip_prefix("['")?;
                        let end = r.find('\'')?;
                        if r[..end].contains('\\') || !r[end + 1..].starts_with(']') {
                            return None;
                        }
                        (r[..end].to_owned(), end + 4)
                    };
                    i += 1 + skipped + used;
                    selectors.push(Selector::HasMember(name));
                }
                q @ (b'\'' | b'"') => {
                    let start = i + 1;
                    let end = start + text[start..].find(q as char)?;
                    let name = &text[start..end];
                    if name.contains('\\') || name.chars().any(|c| (c as u32) < 0x20) {
                        return None;
                    }
                    selectors.push(Selector::Name(name.to_owned()));
                    i = end + 1;
                }
                c if c == b'-' || c.is_ascii_digit() => {
                    let start = i;
                    i += 1;
                    while b.get(i).is_some_and(u8::is_ascii_digit) {
                        i += 1;
                    }
                    selectors.push(Selector::Index(text[start..i].parse().ok()?));
                }
                _ => return None,
            }
            while b.get(i).is_some_and(|c| c.is_ascii_whitespace()) {
                i += 1;
            }
            match *b.get(i)? {
                b',' => i += 1,
                b']' => {
                    i += 1;
                    break;
                }
                _ => return None,
            }
        }
        steps.push(Step { descendant, selectors });
    }
    Some(steps)
}

#[cfg(test)]
mod regex_tests {
    use super::constant_regex_error;

    #[test]
    fn invalid_constant_regexes_in_filters_are_found() {
        let (m, at) = constant_regex_error("$..containers[?match(@.image, '[a-z')]").unwrap();
        assert!(m.starts_with("invalid regular expression `[a-z` in `match()`"), "{m}");
        assert_eq!(at, 30);
        assert!(constant_regex_error("$[?search(@.name, \"(unclosed\")]").is_some());
        assert!(constant_regex_error("$[?search( @['a,b'] , 'x{2,1}' )]").is_some());
        for ok in [
            "$..containers[?match(@.image, '^[a-z]+:[0-9.]+')]",
            "$[?search(@.name, 'match[(]')]",
            "$['match(', 'search(x, \'[\')']",
            "$[?match(@.a, @.b)]",
            "$.spec.containers[*]",
        ] {
            assert_eq!(constant_regex_error(ok), None, "{ok}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::{parse, Format};

    const DOC: &str = r#"
kind: List
spec:
  containers:
    - name: a
      image: x
    - name: b
  initContainers:
    - name: init
  template:
    spec:
      containers:
        - name: c
          ports: [{containerPort: 80}, {containerPort: 443}]
      volumes: []
"#;

    fn doc() -> Node {
        parse(Format::YAML, DOC).documents.into_iter().next().unwrap()
    }

    /// Both evaluators give the same nodes in the same order.
    fn check(path: &str, fast_expected: bool) -> Vec<String> {
        let d = doc();
        let q = Query::parse(path).unwrap();
        assert_eq!(q.fast.is_some(), fast_expected, "{path}: {:?}", q.fast);
        let json = OnceLock::new();
        let fast: Vec<(Vec<Segment>, serde_json::Value)> =
            q.select(&d, &json).into_iter().map(|(p, n)| (p, n.to_json())).collect();
        let slow_q = Query { fast: None, ..Query::parse(path).unwrap() };
        let slow: Vec<(Vec<Segment>, serde_json::Value)> =
            slow_q.select(&d, &OnceLock::new()).into_iter().map(|(p, n)| (p, n.to_json())).collect();
        assert_eq!(fast, slow, "{path}");
        fast.iter().map(|(p, _)| crate::node::to_pointer(p)).collect()
    }

    #[test]
    fn the_native_subset_agrees_with_serde_json_path() {
        assert_eq!(check("$.spec.containers[*]", true), ["/spec/containers/0", "/spec/containers/1"]);
        assert_eq!(
            check("$..['containers','initContainers'][*]", true),
            ["/spec/containers/0", "/spec/containers/1", "/spec/initContainers/0", "/spec/template/spec/containers/0"]
        );
        assert_eq!(check("$..containers[*].ports[*]", true).len(), 2);
        assert_eq!(check("$.spec.containers[-1].name", true), ["/spec/containers/1/name"]);
        assert_eq!(check("$.spec.containers[0, 1]", true).len(), 2);
        assert_eq!(check("$[\"spec\"].*", true).len(), 3);
        assert_eq!(check("$..*", true).len(), check("$..[*]", true).len());
        assert_eq!(check("$.nope[*]", true), Vec::<String>::new());
        assert_eq!(check("$..volumes[*]", true), Vec::<String>::new());
        assert_eq!(check("$", true), [""]);
    }

    #[test]
    fn existence_filters_are_native() {
        assert_eq!(check("$..[?@.image]", true), ["/spec/containers/0"]);
        assert_eq!(check("$..[?@.containers]", true), ["/spec", "/spec/template/spec"]);
        assert_eq!(check("$.spec.template[?@['containers']]", true), ["/spec/template/spec"]);
        assert_eq!(check("$..[ ?@.ports ].name", true), ["/spec/template/spec/containers/0/name"]);
    }

    #[test]
    fn other_paths_fall_back_to_serde_json_path() {
        assert_eq!(check("$..[?@.image == 'x']", false), ["/spec/containers/0"]);
        assert_eq!(check("$..[?@.containers && @.volumes]", false), ["/spec/template/spec"]);
        assert_eq!(check("$.spec.containers[0:1]", false), ["/spec/containers/0"]);
        assert_eq!(check("$['a\\'b']", false), Vec::<String>::new());
    }
}
