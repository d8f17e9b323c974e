//! Terraform's JSON syntax (`*.tf.json`, `*.tfvars.json`; Terraform's
//! "JSON Configuration Syntax"), read into the same documents as the
//! native syntax. The file is read as strict JSON ([`crate::input::json`],
//! every node and key located), then each block type's object is unfolded:
//! `resource` and `data` take two levels of labels (`{"aws_s3_bucket":
//! {"logs": {…}}}`), `module`, `variable`, `output` and `provider` one,
//! other block types none; at any level a list of objects stands for
//! several blocks. A `"//"` property is a comment (Terraform ignores it)
//! and is left out.
//!
//! JSON cannot tell a nested block from an attribute whose value is an
//! object: Terraform decides with the provider's schema, which bylaw does
//! not have. In the bodies of `resource`, `data`, `provider` and
//! `terraform` blocks (and in their nested blocks), a property whose value
//! is an object, or a list of objects, is read as nested blocks (a list of
//! mappings, as in native syntax) except under the keys of
//! [`MAP_ATTRIBUTES`]; `dynamic`, `provisioner` and `backend` take one
//! level of labels. Elsewhere (`locals`, `module`, `variable`, `output`,
//! `.tfvars.json`) every property is an attribute.
//!
//! Every JSON string is a template: its value is its text (as a template
//! in native syntax, `${…}` as written); a string that is exactly
//! `${var.NAME}` takes the literal `default` of `variable "NAME"` of the
//! same file, as in native syntax.

use super::FileKind;
use crate::input::{ParsedFile, SyntaxError};
use crate::node::{Entry, Node, NodeValue, Span};
use std::collections::HashMap;

/// Keys whose object value is an attribute (a map), never a nested block:
/// the map-typed arguments common across providers.
pub const MAP_ATTRIBUTES: &[&str] =
    &["tags", "tags_all", "labels", "triggers", "variables", "parameters", "environment_variables", "metadata"];

/// Nested block types that take one label in JSON syntax.
const LABELLED: &[&str] = &["dynamic", "provisioner", "backend"];

/// [`super::parse`] for a file in JSON syntax.
pub(super) fn parse_each(src: &str, kind: FileKind, each: &mut dyn FnMut(Node)) -> ParsedFile {
    let mut parsed = crate::input::json::parse(src, false);
    for root in std::mem::take(&mut parsed.documents) {
        match documents(root, kind) {
            Ok(docs) => docs.into_iter().for_each(&mut *each),
            Err(e) => parsed.errors.push(e),
        }
    }
    parsed
}

fn error(span: Span, message: impl Into<String>) -> SyntaxError {
    SyntaxError { line: span.start_line, col: span.start_col, message: message.into(), first: None }
}

fn str_node(value: &str, span: Span) -> Node {
    Node { span, value: NodeValue::Str { value: value.into(), plain: false } }
}

fn entry(key: &str, key_span: Span, value: Node) -> Entry {
    Entry { key: key.into(), key_span, value }
}

/// The properties of an object, `"//"` comments left out.
fn properties(n: Node) -> Option<impl Iterator<Item = Entry>> {
    match n.value {
        NodeValue::Map(entries) => Some(entries.into_iter().filter(|e| e.key != "//")),
        _ => None,
    }
}

/// An object, or each object of a list: one or several blocks.
fn objects(n: Node) -> Result<Vec<Node>, SyntaxError> {
    let span = n.span;
    match n.value {
        NodeValue::Map(_) => Ok(vec![n]),
        NodeValue::Seq(items) if items.iter().all(|i| matches!(i.value, NodeValue::Map(_))) => Ok(items),
        _ => Err(error(span, "expected a JSON object (or a list of objects) here: a block in Terraform's JSON syntax")),
    }
}

/// The documents of a Terraform JSON file.
fn documents(root: Node, kind: FileKind) -> Result<Vec<Node>, SyntaxError> {
    let span = root.span;
    let Some(props) = properties(root) else {
        return Err(error(span, "expected a JSON object: the body of a Terraform file in JSON syntax"));
    };
    let props: Vec<Entry> = props.collect();
    let at = Span::point(span.start_line, span.start_col);
    if kind == FileKind::Vars {
        let doc = vec![
            entry("block", at, str_node("tfvars", at)),
            entry("labels", at, Node { span: at, value: NodeValue::Seq(Vec::new()) }),
            entry("attributes", at, Node { span, value: NodeValue::Map(props) }),
        ];
        return Ok(vec![Node { span, value: NodeValue::Map(doc) }]);
    }
    let vars = defaults(&props);
    let mut docs = Vec::new();
    for block in props {
        let levels = match block.key.as_str() {
            "resource" | "data" => 2,
            "module" | "variable" | "output" | "provider" => 1,
            _ => 0,
        };
        let mut bodies = Vec::new();
        unfold(block.value, levels, &mut Vec::new(), &mut bodies)?;
        for (labels, body) in bodies {
            docs.push(document(&block.key, block.key_span, labels, body, &vars)?);
        }
    }
    Ok(docs)
}

/// Walks `levels` levels of labels down to the blocks' bodies.
fn unfold(
    n: Node,
    levels: usize,
    labels: &mut Vec<(String, Span)>,
    out: &mut Vec<(Vec<(String, Span)>, Node)>,
) -> Result<(), SyntaxError> {
    for o in objects(n)? {
        if levels == 0 {
            out.push((labels.clone(), o));
            continue;
        }
        for p in properties(o).into_iter().flatten() {
            labels.push((p.key.to_string(), p.key_span));
            unfold(p.value, levels - 1, labels, out)?;
            labels.pop();
        }
    }
    Ok(())
}

/// One block as a document (the shape of the native syntax).
fn document(
    block: &str,
    block_span: Span,
    labels: Vec<(String, Span)>,
    body: Node,
    vars: &HashMap<String, Node>,
) -> Result<Node, SyntaxError> {
    let body_span = body.span;
    let header = labels.last().map_or(block_span, |l| l.1);
    let span = header.to(body_span);
    let mut entries = vec![entry("block", block_span, str_node(block, block_span))];
    let label = |i: usize| labels.get(i).map(|(l, s)| (l.as_str(), *s));
    let (ty, name) = match block {
        "resource" | "data" => (label(0), label(1)),
        _ if labels.len() == 1 => (None, label(0)),
        _ => (None, None),
    };
    if let Some((t, s)) = ty {
        entries.push(entry("type", s, str_node(t, s)));
    }
    if let Some((n, s)) = name {
        entries.push(entry("name", s, str_node(n, s)));
    }
    let labels_span = match (labels.first(), labels.last()) {
        (Some(f), Some(l)) => f.1.to(l.1),
        _ => block_span,
    };
    let names: Vec<&str> = labels.iter().map(|l| l.0.as_str()).collect();
    let items = labels.iter().map(|(l, s)| str_node(l, *s)).collect();
    entries.push(entry("labels", labels_span, Node { span: labels_span, value: NodeValue::Seq(items) }));
    entries.push(entry("address", header, str_node(&super::address(block, &names), header)));
    let nested = matches!(block, "resource" | "data" | "provider" | "terraform");
    let attrs = body_entries(body, nested, vars)?;
    entries.push(entry("attributes", header, Node { span: body_span, value: NodeValue::Map(attrs) }));
    Ok(Node { span, value: NodeValue::Map(entries) })
}

/// Whether `n` reads as nested blocks: an object, or a list of objects.
fn is_blocks(n: &Node) -> bool {
    match &n.value {
        NodeValue::Map(_) => true,
        NodeValue::Seq(items) => !items.is_empty() && items.iter().all(|i| matches!(i.value, NodeValue::Map(_))),
        _ => false,
    }
}

/// A block body's attributes, and its nested blocks as lists when `nested`.
fn body_entries(body: Node, nested: bool, vars: &HashMap<String, Node>) -> Result<Vec<Entry>, SyntaxError> {
    let mut out = Vec::new();
    for mut p in properties(body).into_iter().flatten() {
        if !(nested && is_blocks(&p.value) && !MAP_ATTRIBUTES.contains(&p.key.as_str())) {
            resolve(&mut p.value, vars);
            out.push(p);
            continue;
        }
        // children of `required_providers` are attributes
        let inner = p.key != "required_providers";
        let span = p.value.span;
        let mut blocks = Vec::new();
        for o in objects(p.value)? {
            if LABELLED.contains(&p.key.as_str()) {
                for l in properties(o).into_iter().flatten() {
                    for b in objects(l.value)? {
                        let bspan = l.key_span.to(b.span);
                        let mut entries = vec![entry(
                            "labels",
                            l.key_span,
                            Node { span: l.key_span, value: NodeValue::Seq(vec![str_node(&l.key, l.key_span)]) },
                        )];
                        entries.extend(body_entries(b, inner, vars)?);
                        blocks.push(Node { span: bspan, value: NodeValue::Map(entries) });
                    }
                }
            } else {
                let bspan = o.span;
                blocks.push(Node { span: bspan, value: NodeValue::Map(body_entries(o, inner, vars)?) });
            }
        }
        out.push(Entry { key: p.key, key_span: p.key_span, value: Node { span, value: NodeValue::Seq(blocks) } });
    }
    Ok(out)
}

/// The `NAME` of a template that is exactly `${var.NAME}`.
fn var_reference(s: &str) -> Option<&str> {
    let inner = s.strip_prefix("${")?.strip_suffix('}')?.trim();
    let name = inner.strip_prefix("var.")?;
    let ok = !name.is_empty()
        && name.chars().next().is_some_and(|c| c.is_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_alphanumeric() || c == '_' || c == '-');
    ok.then_some(name)
}

/// Replaces every string that is exactly `${var.NAME}` with the default.
fn resolve(n: &mut Node, vars: &HashMap<String, Node>) {
    if vars.is_empty() {
        return;
    }
    match &mut n.value {
        NodeValue::Str { value, .. } => {
            if let Some(d) = var_reference(value).and_then(|name| vars.get(name)) {
                let span = n.span;
                *n = d.clone();
                super::respan(n, span);
            }
        }
        NodeValue::Seq(items) => items.iter_mut().for_each(|i| resolve(i, vars)),
        NodeValue::Map(entries) => entries.iter_mut().for_each(|e| resolve(&mut e.value, vars)),
        _ => {}
    }
}

/// Whether a JSON value holds no template (`${` or `%{`) in any string.
fn is_literal(n: &Node) -> bool {
    match &n.value {
        NodeValue::Str { value, .. } => !value.contains("${") && !value.contains("%{"),
        NodeValue::Seq(items) => items.iter().all(is_literal),
        NodeValue::Map(entries) => entries.iter().all(|e| is_literal(&e.value)),
        _ => true,
    }
}

/// The literal defaults of the file's variables, by name.
fn defaults(props: &[Entry]) -> HashMap<String, Node> {
    let mut vars = HashMap::new();
    for p in props.iter().filter(|p| p.key == "variable") {
        let Ok(list) = objects(p.value.clone()) else { continue };
        for o in list {
            for v in properties(o).into_iter().flatten() {
                let Ok(bodies) = objects(v.value) else { continue };
                for b in bodies {
                    if let Some(d) = b.get("default").filter(|d| is_literal(d)) {
                        vars.insert(v.key.to_string(), d.clone());
                    }
                }
            }
        }
    }
    vars
}
