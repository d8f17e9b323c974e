//! Terraform and HCL files: `*.tf`, `*.tfvars` and other `*.hcl` files
//! (Terragrunt, Packer, Nomad, …) in HCL's native syntax, and `*.tf.json` /
//! `*.tfvars.json` in Terraform's JSON syntax ([`json`]), all read into the
//! same documents: **one document per top-level block**.
//!
//! # The parser: `hcl-edit`
//!
//! Native syntax is parsed with [`hcl_edit`] (the `hcl-rs` project's
//! parser). It keeps the byte span of every block, label, attribute key and
//! expression, and every comment and blank as "decor" beside them, so every
//! node and key of a document gets its exact line and column. `hcl-rs`'s
//! `hcl::parse` runs that same parser and then drops the spans, so it could
//! not locate a finding; `hcl-edit` also bounds nesting (64 levels of
//! expressions, templates and blocks, 128 chained operators) instead of
//! overflowing the stack on hostile input. It stops at the first syntax
//! error: that one error is reported, located (line, column, what was
//! expected), and the file has no documents until it is fixed.
//!
//! # Documents
//!
//! A top-level block `resource "aws_s3_bucket" "logs" { … }` is the mapping
//!
//! ```yaml
//! block: resource              # the block type
//! type: aws_s3_bucket          # resource and data only: the first label
//! name: logs                   # resource/data: second label; else the only label
//! labels: [aws_s3_bucket, logs]
//! address: aws_s3_bucket.logs  # data.T.N, module.N, var.N, output.N, provider.N, locals, terraform
//! attributes: { … }            # the block's body
//! ```
//!
//! `attributes` holds each attribute's value, and each nested block type as
//! a list of mappings, one per occurrence in order, nested the same way to
//! any depth (`attributes.versioning[0].enabled`). A nested block with
//! labels (`dynamic "ingress"`, `provisioner "local-exec"`) also has the key
//! `labels`; a `dynamic` block is under the key `dynamic`, its `content`
//! block a list like any nested block. Other block types of generic HCL
//! files get the address of their type and labels joined with dots
//! (`job.web`). A `.tfvars` file is one document `{block: tfvars,
//! attributes: {…}}`; top-level attributes of other files (Terragrunt's
//! `inputs = {…}`) are one document `{block: body, attributes: {…}}`, first.
//!
//! Values: literals (strings, numbers, booleans, null, tuples, objects) are
//! their values; any other expression (`var.x`, `aws_kms_key.k.arn`, a
//! function call, a conditional, a `for` expression) is a string of its
//! source text as written; a template with interpolations is its source text
//! inside the quotes (`arn:aws:s3:::${var.bucket}/*`); a heredoc is its text
//! (`<<-` indentation stripped, interpolations as written). An expression
//! that is exactly `var.NAME` (or `"${var.NAME}"`) is replaced by the literal
//! `default` of `variable "NAME"` when the same file declares one, located
//! where the reference is written. Nothing else is evaluated.
//!
//! Comments `#`, `//` and `/* */` are reported (not inside strings, labels or
//! heredocs: those are known from the parser's spans), so `# bylaw:ignore`
//! and `// bylaw:ignore` both suppress.

pub mod json;

use super::format::InputFormat;
use super::{yaml, Comment, ParsedFile, SyntaxError};
use crate::node::{count_nodes, Entry, Node, NodeValue, Span};
use crate::report::Resource;
use compact_str::CompactString;
use hcl_edit::expr::{Expression, ObjectKey, TraversalOperator};
use hcl_edit::structure::{Block, BlockLabel, Body, Structure};
use hcl_edit::template::Element;
use hcl_edit::visit::{self, Visit};
use hcl_edit::Span as _;
use std::collections::HashMap;
use std::ops::Range;

/// Terraform configuration files: `*.tf` (native syntax) and `*.tf.json`
/// (JSON syntax). `file.format` is `terraform`.
pub struct Terraform;

/// Terraform variable files: `*.tfvars` and `*.tfvars.json`, one document
/// `{block: tfvars, attributes: {…}}` each. `file.format` is `terraform`.
pub struct TerraformVars;

/// Other HCL files (`*.hcl`: Terragrunt, Packer, Nomad, Vault, …), read as
/// Terraform files are. `file.format` is `hcl`.
pub struct Hcl;

/// The comment markers of HCL's native syntax.
const MARKERS: &[&str] = &["#", "//", "/*"];

impl InputFormat for Terraform {
    fn block_suppressions(&self) -> bool {
        true
    }

    fn id(&self) -> &'static str {
        "terraform"
    }

    fn label(&self) -> &'static str {
        "Terraform"
    }

    fn claims(&self, path: &str) -> bool {
        ends_with(path, &[".tf", ".tf.json"])
    }

    fn comment_markers(&self) -> &'static [&'static str] {
        MARKERS
    }

    fn parse(&self, src: &str, each: &mut dyn FnMut(Node)) -> ParsedFile {
        parse_each(src, FileKind::Config, each)
    }

    fn resource(&self, doc: &Node) -> Option<Resource> {
        block_resource(doc)
    }
}

impl InputFormat for TerraformVars {
    fn id(&self) -> &'static str {
        "tfvars"
    }

    fn name(&self) -> &'static str {
        "terraform"
    }

    fn label(&self) -> &'static str {
        "Terraform"
    }

    fn claims(&self, path: &str) -> bool {
        ends_with(path, &[".tfvars", ".tfvars.json"])
    }

    fn comment_markers(&self) -> &'static [&'static str] {
        MARKERS
    }

    fn parse(&self, src: &str, each: &mut dyn FnMut(Node)) -> ParsedFile {
        parse_each(src, FileKind::Vars, each)
    }

    fn resource(&self, doc: &Node) -> Option<Resource> {
        block_resource(doc)
    }
}

impl InputFormat for Hcl {
    fn block_suppressions(&self) -> bool {
        true
    }

    fn id(&self) -> &'static str {
        "hcl"
    }

    fn label(&self) -> &'static str {
        "HCL"
    }

    fn claims(&self, path: &str) -> bool {
        ends_with(path, &[".hcl"])
    }

    fn comment_markers(&self) -> &'static [&'static str] {
        MARKERS
    }

    fn parse(&self, src: &str, each: &mut dyn FnMut(Node)) -> ParsedFile {
        parse_each(src, FileKind::Generic, each)
    }

    fn resource(&self, doc: &Node) -> Option<Resource> {
        block_resource(doc)
    }
}

/// Whether the file name of `path` ends with one of `suffixes`, ignoring case.
fn ends_with(path: &str, suffixes: &[&str]) -> bool {
    let name = path.rsplit(['/', '\\']).next().unwrap_or(path);
    suffixes.iter().any(|s| name.len() > s.len() && name[name.len() - s.len()..].eq_ignore_ascii_case(s))
}

/// The resource a document describes: `kind` is the resource or data
/// source type (`aws_s3_bucket`) for `resource` and `data` blocks, else the
/// block type (`module`, `tfvars`); `name` is the document's `name`.
fn block_resource(doc: &Node) -> Option<Resource> {
    let block = doc.str_at(&["block"])?;
    let kind = match block {
        "resource" | "data" => doc.str_at(&["type"]).unwrap_or(block),
        _ => block,
    };
    Some(Resource {
        api_version: None,
        kind: Some(kind.to_owned()),
        namespace: None,
        name: doc.str_at(&["name"]).map(String::from),
    })
}

/// Which kind of file is read: what its top-level attributes are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileKind {
    /// A Terraform configuration (`*.tf`, `*.tf.json`).
    Config,
    /// A Terraform variables file (`*.tfvars`, `*.tfvars.json`): one
    /// `tfvars` document.
    Vars,
    /// Any other HCL file (`*.hcl`).
    Generic,
}

/// Parses a file of `kind`: JSON syntax when its first character (after a
/// byte order mark and blanks) is `{`, which no native HCL body starts with;
/// native syntax otherwise. Every document, error and comment, located.
pub fn parse(src: &str, kind: FileKind) -> ParsedFile {
    let mut documents = Vec::new();
    let mut parsed = parse_each(src, kind, &mut |d| documents.push(d));
    parsed.documents = documents;
    parsed
}

fn parse_each(src: &str, kind: FileKind, each: &mut dyn FnMut(Node)) -> ParsedFile {
    let src = src.strip_prefix('\u{feff}').unwrap_or(src);
    let trimmed = src.trim_start_matches([' ', '\t', '\r', '\n']);
    if trimmed.is_empty() {
        return ParsedFile::default();
    }
    if trimmed.starts_with('{') {
        return json::parse_each(src, kind, each);
    }
    let body = match hcl_edit::parser::parse_body(src) {
        Ok(body) => body,
        Err(e) => {
            let error = SyntaxError {
                line: e.location().line() as u32,
                col: e.location().column() as u32,
                message: e.message().to_owned(),
                first: None,
            };
            return ParsedFile { errors: vec![error], ..ParsedFile::default() };
        }
    };
    let lines = Lines::of(src);
    let comments = find_comments(src, &body, &lines);
    let mut conv = Converter { src, lines: &lines, vars: HashMap::new(), nodes: 0 };
    conv.vars = variable_defaults(&body, &mut conv);
    let mut errors = Vec::new();
    // a variables file is all one document; elsewhere the top-level
    // attributes are one, and each block another
    let vars = kind == FileKind::Vars;
    if vars || body.iter().any(Structure::is_attribute) {
        conv.nodes = 0;
        match conv.top_attributes(&body, vars) {
            Ok(doc) => each(doc),
            Err(e) => errors.push(e),
        }
    }
    for block in body.iter().filter_map(Structure::as_block).filter(|_| !vars) {
        conv.nodes = 0;
        match conv.block_document(block) {
            Ok(doc) => each(doc),
            Err(e) => errors.push(e),
        }
    }
    ParsedFile { documents: Vec::new(), errors, comments }
}

/// Byte offsets to 1-based lines and character columns. Lines end at `\n`
/// (a `\r\n` ends with it); columns count characters, as editors do.
struct Lines<'a> {
    src: &'a str,
    starts: Vec<usize>,
}

impl<'a> Lines<'a> {
    fn of(src: &'a str) -> Self {
        let mut starts = vec![0];
        starts.extend(src.bytes().enumerate().filter(|&(_, b)| b == b'\n').map(|(i, _)| i + 1));
        Lines { src, starts }
    }

    /// (line, column), both 1-based, of byte offset `at`.
    fn pos(&self, at: usize) -> (u32, u32) {
        let line = self.starts.partition_point(|&s| s <= at).max(1) - 1;
        let start = self.starts[line];
        let col = self.src.get(start..at).map_or(at.saturating_sub(start), |s| {
            if s.is_ascii() {
                s.len()
            } else {
                s.chars().count()
            }
        });
        (line as u32 + 1, col as u32 + 1)
    }

    fn span(&self, r: &Range<usize>) -> Span {
        let (start_line, start_col) = self.pos(r.start);
        let (end_line, end_col) = self.pos(r.end);
        Span { start_line, start_col, end_line, end_col }
    }
}

/// The literal defaults of the file's `variable "NAME"` blocks, by name.
fn variable_defaults(body: &Body, conv: &mut Converter) -> HashMap<String, Node> {
    let mut vars = HashMap::new();
    for block in body.iter().filter_map(Structure::as_block) {
        if block.ident.as_str() != "variable" || block.labels.len() != 1 {
            continue;
        }
        let Some(default) = block.body.get_attribute("default") else { continue };
        if !is_literal(&default.value) {
            continue;
        }
        conv.nodes = 0;
        if let Ok(node) = conv.expr(&default.value) {
            vars.insert(block.labels[0].as_str().to_owned(), node);
        }
    }
    vars
}

/// Whether `e` is a literal value: null, a boolean, a number, a string
/// without interpolation, or a tuple or object of literals (object keys
/// names or plain strings).
fn is_literal(e: &Expression) -> bool {
    match e {
        Expression::Null(_) | Expression::Bool(_) | Expression::Number(_) | Expression::String(_) => true,
        Expression::Array(a) => a.iter().all(is_literal),
        Expression::Object(o) => o.iter().all(|(k, v)| {
            matches!(k, ObjectKey::Ident(_) | ObjectKey::Expression(Expression::String(_))) && is_literal(v.expr())
        }),
        _ => false,
    }
}

/// The `NAME` of an expression that is exactly `var.NAME` or `"${var.NAME}"`.
fn var_reference(e: &Expression) -> Option<&str> {
    match e {
        Expression::Traversal(t) => match (&t.expr, t.operators.as_slice()) {
            (Expression::Variable(v), [op]) if v.as_str() == "var" => match &**op {
                TraversalOperator::GetAttr(name) => Some(name.as_str()),
                _ => None,
            },
            _ => None,
        },
        Expression::StringTemplate(t) => match t.as_single_element() {
            Some(Element::Interpolation(i)) if matches!(i.expr, Expression::Traversal(_)) => var_reference(&i.expr),
            _ => None,
        },
        _ => None,
    }
}

/// Sets every span of `n` (and its keys) to `span`.
fn respan(n: &mut Node, span: Span) {
    n.span = span;
    match &mut n.value {
        NodeValue::Seq(items) => items.iter_mut().for_each(|i| respan(i, span)),
        NodeValue::Map(entries) => entries.iter_mut().for_each(|e| {
            e.key_span = span;
            respan(&mut e.value, span);
        }),
        _ => {}
    }
}

/// Builds the documents of one parsed native file.
struct Converter<'a> {
    src: &'a str,
    lines: &'a Lines<'a>,
    /// Literal defaults of the file's variables (see [`variable_defaults`]).
    vars: HashMap<String, Node>,
    /// Values of the document being built (see [`yaml::MAX_DOCUMENT_NODES`]).
    nodes: usize,
}

fn str_node(value: &str, span: Span) -> Node {
    Node { span, value: NodeValue::Str { value: value.into(), plain: false } }
}

fn entry(key: &str, key_span: Span, value: Node) -> Entry {
    Entry { key: key.into(), key_span, value }
}

impl Converter<'_> {
    fn span(&self, r: Option<Range<usize>>) -> Span {
        r.map(|r| self.lines.span(&r)).unwrap_or_default()
    }

    fn text(&self, r: Option<Range<usize>>) -> &str {
        r.and_then(|r| self.src.get(r)).unwrap_or_default()
    }

    fn count(&mut self, span: Span, n: usize) -> Result<(), SyntaxError> {
        self.nodes += n;
        if self.nodes > yaml::MAX_DOCUMENT_NODES {
            return Err(SyntaxError {
                line: span.start_line,
                col: span.start_col,
                message: yaml::too_many_nodes(),
                first: None,
            });
        }
        Ok(())
    }

    /// The document of the file's top-level attributes: `tfvars` for a
    /// variables file, `body` otherwise.
    fn top_attributes(&mut self, body: &Body, vars: bool) -> Result<Node, SyntaxError> {
        let block = if vars { "tfvars" } else { "body" };
        let attrs = self.body(body.iter().filter(|s| vars || s.is_attribute()))?;
        let span = attrs
            .first()
            .map(|e| e.key_span.to(attrs.last().map_or(e.key_span, |l| l.value.span)))
            .unwrap_or(Span::point(1, 1));
        let at = Span::point(span.start_line, span.start_col);
        Ok(Node {
            span,
            value: NodeValue::Map(vec![
                entry("block", at, str_node(block, at)),
                entry("labels", at, Node { span: at, value: NodeValue::Seq(Vec::new()) }),
                entry("attributes", at, Node { span, value: NodeValue::Map(attrs) }),
            ]),
        })
    }

    /// One top-level block as a document.
    fn block_document(&mut self, block: &Block) -> Result<Node, SyntaxError> {
        let span = self.span(block.span());
        let ident = block.ident.as_str();
        let ident_span = self.span(block.ident.span());
        let labels: Vec<(&str, Span)> = block.labels.iter().map(|l| (l.as_str(), self.span(l.span()))).collect();
        let mut entries = vec![entry("block", ident_span, str_node(ident, ident_span))];
        let label = |i: usize| labels.get(i).copied();
        let (ty, name) = match ident {
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
        let header = labels.last().map_or(ident_span, |l| ident_span.to(l.1));
        let labels_span = match (labels.first(), labels.last()) {
            (Some(f), Some(l)) => f.1.to(l.1),
            _ => ident_span,
        };
        let items = labels.iter().map(|&(l, s)| str_node(l, s)).collect();
        entries.push(entry("labels", labels_span, Node { span: labels_span, value: NodeValue::Seq(items) }));
        let names: Vec<&str> = labels.iter().map(|l| l.0).collect();
        entries.push(entry("address", header, str_node(&address(ident, &names), header)));
        let attrs = self.body(block.body.iter())?;
        entries.push(entry("attributes", ident_span, Node { span, value: NodeValue::Map(attrs) }));
        Ok(Node { span, value: NodeValue::Map(entries) })
    }

    /// A body's attributes and nested blocks (a list per block type).
    fn body<'b>(&mut self, body: impl Iterator<Item = &'b Structure>) -> Result<Vec<Entry>, SyntaxError> {
        let mut entries: Vec<Entry> = Vec::new();
        // whether each entry holds blocks (more may be added to it)
        let mut blocks: Vec<bool> = Vec::new();
        for s in body {
            match s {
                Structure::Attribute(a) => {
                    let key = a.key.as_str();
                    let key_span = self.span(a.key.span());
                    if let Some(first) = entries.iter().find(|e| e.key == key) {
                        return Err(SyntaxError {
                            line: key_span.start_line,
                            col: key_span.start_col,
                            message: format!(
                                "`{key}` is defined twice in this block (first at line {})",
                                first.key_span.start_line
                            ),
                            first: Some(first.key_span),
                        });
                    }
                    let value = self.expr(&a.value)?;
                    entries.push(entry(key, key_span, value));
                    blocks.push(false);
                }
                Structure::Block(b) => {
                    let key = b.ident.as_str();
                    let key_span = self.span(b.ident.span());
                    let nested = self.nested_block(b)?;
                    match entries.iter().position(|e| e.key == key) {
                        Some(i) if blocks[i] => {
                            let seq = &mut entries[i].value;
                            seq.span = seq.span.to(nested.span);
                            if let NodeValue::Seq(items) = &mut seq.value {
                                items.push(nested);
                            }
                        }
                        Some(i) => {
                            let first = entries[i].key_span;
                            return Err(SyntaxError {
                                line: key_span.start_line,
                                col: key_span.start_col,
                                message: format!(
                                    "`{key}` is both an attribute (line {}) and a block in this block",
                                    first.start_line
                                ),
                                first: Some(first),
                            });
                        }
                        None => {
                            let span = nested.span;
                            entries.push(entry(key, key_span, Node { span, value: NodeValue::Seq(vec![nested]) }));
                            blocks.push(true);
                        }
                    }
                }
            }
        }
        Ok(entries)
    }

    /// A nested block: its attributes, and `labels` when it has some.
    fn nested_block(&mut self, b: &Block) -> Result<Node, SyntaxError> {
        let span = self.span(b.span());
        self.count(span, 1)?;
        let mut entries = Vec::new();
        if !b.labels.is_empty() {
            let items: Vec<Node> = b.labels.iter().map(|l| str_node(l.as_str(), self.span(l.span()))).collect();
            let ls = items[0].span.to(items[items.len() - 1].span);
            entries.push(entry("labels", ls, Node { span: ls, value: NodeValue::Seq(items) }));
        }
        entries.extend(self.body(b.body.iter())?);
        Ok(Node { span, value: NodeValue::Map(entries) })
    }

    /// An expression's value (see the module documentation).
    fn expr(&mut self, e: &Expression) -> Result<Node, SyntaxError> {
        let span = self.span(e.span());
        self.count(span, 1)?;
        if let Some(name) = var_reference(e) {
            if let Some(default) = self.vars.get(name) {
                let mut n = default.clone();
                respan(&mut n, span);
                self.count(span, count_nodes(&n).saturating_sub(1))?;
                return Ok(n);
            }
        }
        let value = match e {
            Expression::Null(_) => NodeValue::Null,
            Expression::Bool(b) => NodeValue::Bool(*b.value()),
            Expression::Number(n) => match (n.as_i64(), n.as_f64()) {
                (Some(i), _) => NodeValue::Int(i),
                (None, Some(f)) => NodeValue::Float(f),
                _ => return Ok(str_node(self.text(e.span()), span)),
            },
            Expression::String(s) => NodeValue::Str { value: s.as_str().into(), plain: false },
            Expression::Array(a) => NodeValue::Seq(a.iter().map(|i| self.expr(i)).collect::<Result<_, _>>()?),
            Expression::Object(o) => {
                let mut entries = Vec::with_capacity(o.len());
                for (k, v) in o.iter() {
                    let key_span = self.span(k.span());
                    let key: CompactString = match k {
                        ObjectKey::Ident(i) => i.as_str().into(),
                        ObjectKey::Expression(Expression::String(s)) => s.as_str().into(),
                        ObjectKey::Expression(x) => self.text(x.span()).into(),
                    };
                    let value = self.expr(v.expr())?;
                    entries.push(Entry { key, key_span, value });
                }
                NodeValue::Map(entries)
            }
            Expression::StringTemplate(_) => {
                let t = self.text(e.span());
                let inner = t.strip_prefix('"').and_then(|t| t.strip_suffix('"')).unwrap_or(t);
                NodeValue::Str { value: inner.into(), plain: false }
            }
            Expression::HeredocTemplate(h) => {
                let mut text = String::new();
                for el in h.template.iter() {
                    match el {
                        Element::Literal(l) => text.push_str(l.as_str()),
                        other => text.push_str(self.text(other.span())),
                    }
                }
                NodeValue::Str { value: text.into(), plain: false }
            }
            _ => NodeValue::Str { value: self.text(e.span()).into(), plain: false },
        };
        Ok(Node { span, value })
    }
}

/// Terraform's address of a top-level block (`aws_s3_bucket.logs`,
/// `data.T.N`, `module.N`, `var.N`, `output.N`, `provider.N`, `locals`,
/// `terraform`); other block types: the type and labels joined with dots.
fn address(block: &str, labels: &[&str]) -> String {
    let prefix = match block {
        "resource" => None,
        "variable" => Some("var"),
        _ => Some(block),
    };
    prefix.into_iter().chain(labels.iter().copied()).collect::<Vec<_>>().join(".")
}

/// Collects the byte ranges of every string, template and heredoc (and
/// string label): no comment starts inside them.
#[derive(Default)]
struct Strings(Vec<Range<usize>>);

impl Visit for Strings {
    fn visit_expr(&mut self, e: &Expression) {
        match e {
            Expression::String(_) | Expression::StringTemplate(_) | Expression::HeredocTemplate(_) => {
                self.0.extend(e.span());
            }
            _ => visit::visit_expr(self, e),
        }
    }

    fn visit_block_label(&mut self, l: &BlockLabel) {
        if let BlockLabel::String(s) = l {
            self.0.extend(s.span());
        }
    }
}

/// The comments of a parsed file: `#` and `//` to the end of the line,
/// `/* … */`, outside the strings the parser found.
fn find_comments(src: &str, body: &Body, lines: &Lines) -> Vec<Comment> {
    let mut strings = Strings::default();
    strings.visit_body(body);
    let mut ranges = strings.0;
    ranges.sort_unstable_by_key(|r| r.start);
    let bytes = src.as_bytes();
    let mut out = Vec::new();
    let (mut at, mut next) = (0usize, 0usize);
    while at < bytes.len() {
        while next < ranges.len() && ranges[next].end <= at {
            next += 1;
        }
        if let Some(r) = ranges.get(next) {
            if r.start <= at {
                at = r.end;
                continue;
            }
        }
        let stop = ranges.get(next).map_or(bytes.len(), |r| r.start);
        // the next comment start before the next string
        let Some(off) = bytes[at..stop].iter().position(|&b| b == b'#' || b == b'/') else {
            at = stop;
            continue;
        };
        let start = at + off;
        let (text_from, end, text_to) = match (bytes[start], bytes.get(start + 1)) {
            (b'#', _) => line_end(bytes, start + 1),
            (b'/', Some(b'/')) => line_end(bytes, start + 2),
            (b'/', Some(b'*')) => {
                let close = src[start + 2..].find("*/").map_or(bytes.len(), |i| start + 2 + i);
                (start + 2, (close + 2).min(bytes.len()), close)
            }
            _ => {
                at = start + 1;
                continue;
            }
        };
        let (line, col) = lines.pos(start);
        out.push(Comment { line, col, text: src[text_from..text_to].trim_end().to_owned() });
        at = end;
    }
    out
}

/// (text start, end, text end) of a line comment whose text starts at `from`.
fn line_end(bytes: &[u8], from: usize) -> (usize, usize, usize) {
    let end = bytes[from..].iter().position(|&b| b == b'\n').map_or(bytes.len(), |i| from + i);
    (from, end, end)
}

#[cfg(test)]
mod tests;
