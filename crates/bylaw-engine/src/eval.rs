//! Evaluating a compiled [`PolicySet`] against files and the pipeline
//! context, producing the [`Report`].
//!
//! Cost model (DESIGN §10), for F files, D documents, K keys and scalars,
//! R rules and N findings:
//!
//! - Time is linear in each: discovery O(F) (one `realpath` per directory,
//!   not per file); parsing O(K) per file (the duplicate-key check uses a
//!   hash index beyond 16 keys); evaluation O(D × R), each policy language
//!   called once per document for all its policies there (CEL converts the
//!   document to its values once, strings borrowed from the parsed tree,
//!   and shares `each` selections between rules: see
//!   [`crate::language::cel`]), the document converted to JSON only when a
//!   rule needs a JSONPath outside the native subset. A message's
//!   `{{ doc.a.b }}` (field selections only) is read from the document, not
//!   asked of the language.
//!   Each file's findings are sorted where it is evaluated, O(N log N) in
//!   all; the JSON, SARIF and Code Quality writers serialize them in
//!   parallel blocks. Files, and the documents of one file, are evaluated in
//!   parallel (rayon).
//! - Memory is the findings (about 200 bytes each plus their strings;
//!   documents share one `Resource`) plus the documents being evaluated:
//!   a file is evaluated while it is parsed, in batches of at most
//!   1,000,000 values (one evaluated while the next is filled), each document dropped
//!   once evaluated, so a 100 MB stream holds its text and a few batches;
//!   one document holds at most 1,500,000 values; the tree is about 4–6×
//!   the YAML it came from (keys and strings of up
//!   to 24 bytes are stored inline, without an allocation; anchors are not
//!   copied; alias expansion is capped at 100,000 nodes per file). A
//!   file over `max_file_size` (128 MiB by default) is not read at all.
//!   Reports are streamed to their files, never held as text.
//!
//! Measured figures are in bench/RESULTS.md; `BYLAW_LOG=bylaw::timing=debug`
//! prints where a run's time goes, phase by phase.
//!
//! The policy languages report raw findings ([`crate::language::RawFinding`]);
//! one step here, the same for every language, locates them (`at`, else
//! the `each` element, else the document, through the document's
//! path→span lookup), interpolates their messages and gives them the rule's
//! enforcement, severity and notes (`Evaluator::locate`).
//!
//! Missing data (DESIGN §3): a CEL "no such key" — also a field selected on
//! `null` and a list index out of range — makes that CEL string false. Any
//! other error is a `bylaw/eval-error` finding at the rule's enforcement.

use crate::builtin;
use crate::compile::{At, CompiledPolicy, CompiledRule, FieldPath, FieldRoot, Part, PolicySet};
use crate::input::{self, Format};
use crate::language::{self, Bindings, Document, Event, LanguageRun, Outcome, RawFinding};
use crate::node::{to_pointer, Entry, Node, NodeValue, Segment, Span};
use crate::policy::Target as PolicyTarget;
use crate::report::*;
use rayon::prelude::*;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

/// A file to evaluate: how it is shown (relative, `/`) and where it is read from.
#[derive(Clone, Debug)]
pub struct FileRef {
    pub path: String,
    pub fs_path: PathBuf,
    /// The format `formats:` of the config sets for it; `None` to choose
    /// by content and name ([`Format::of_file`]).
    pub format: Option<Format>,
    /// The file's text when it is not read from `fs_path` (policy tests' inline inputs).
    pub content: Option<String>,
}

/// Run-wide inputs besides the files.
#[derive(Clone, Debug)]
pub struct RunOptions {
    /// The pipeline context `ctx` as CEL sees it: the JSON form of a
    /// [`crate::context::PipelineContext`] ([`crate::context::PipelineContext::to_json`]),
    /// or the free-form `ctx` of a policy test.
    pub ctx: serde_json::Value,
    pub fail_on: FailOn,
    /// Enforcement of `bylaw/parse-error` findings.
    pub parse_errors: Enforcement,
    /// Files larger than this many bytes are not parsed: they get a
    /// `bylaw/parse-error` finding saying so (a gate never passes a file it
    /// did not read). [`DEFAULT_MAX_FILE_SIZE`] unless configured.
    pub max_file_size: u64,
    /// Read and parse every file, evaluate nothing: what each file is read
    /// as ([`FileOutcome::read_as`], `bylaw check --format-of`).
    pub format_of: bool,
}

/// Default of [`RunOptions::max_file_size`]: 128 MiB. Generous for any
/// manifest a repository holds (DESIGN §10 asks a 100 MB file to be checked,
/// within 1 GB), while a multi-gigabyte file cannot exhaust memory: it
/// becomes a located `bylaw/input-too-large` finding instead.
pub const DEFAULT_MAX_FILE_SIZE: u64 = 128 * 1024 * 1024;

/// What a run did with one file, for `-v` and the skipped counts.
#[derive(Clone, Debug, PartialEq)]
pub struct FileOutcome {
    /// Display path.
    pub path: String,
    /// Documents parsed.
    pub documents: usize,
    /// What it was read as: `yaml (by name; kubernetes)`, the format, how
    /// it was chosen and the types of its documents; `None` when it was not
    /// read.
    pub read_as: Option<String>,
    /// Policies evaluated on at least one of its documents.
    pub policies: usize,
    /// Why it was not evaluated, if it was not.
    pub skipped: Option<crate::discover::SkipReason>,
}

/// What a run produced besides the [`Report`].
#[derive(Clone, Debug, Default)]
pub struct RunDetails {
    /// One entry per file given to the run, in the same order.
    pub files: Vec<FileOutcome>,
    /// Inline suppressions (`# bylaw:ignore`) of the files read, by display path.
    pub inline: BTreeMap<String, Vec<crate::exceptions::Inline>>,
    /// Files with documents that were not evaluated because they are
    /// unrendered templates (`{{ … }}` that does not parse), and how many.
    pub templated: Vec<(String, usize)>,
}

/// The message of a finding, its expressions asked of `bindings`. Missing
/// data shows as `<missing>`; any other error (`{{ x / 0 }}`) is returned,
/// to become a `bylaw/eval-error` finding rather than text inside the
/// message. `item` is the `each` element's node, when there is one.
fn render_message(parts: &[Part], bindings: &dyn Bindings, doc: &Node, item: Option<&Node>) -> Result<String, String> {
    let mut out = String::new();
    for p in parts {
        let (source, expression) = match p {
            Part::Text(t) => {
                out.push_str(t);
                continue;
            }
            Part::Expr { source, expression } => (source, expression),
        };
        if expression.field.as_ref().is_some_and(|path| field_display(path, doc, item, &mut out)) {
            continue;
        }
        match bindings.write(expression.index, &mut out) {
            Ok(true) => {}
            Ok(false) => out.push_str("<missing>"),
            Err(e) => return Err(format!("the message's `{{{{ {source} }}}}`: {e}")),
        }
    }
    Ok(out)
}

/// Appends what the language would show for `path` when the value is
/// there and a string, integer, bool or null, read from the document
/// without evaluating anything; false (nothing appended) otherwise, for the
/// language to evaluate (floats, lists, maps, missing data and errors keep
/// its exact output).
fn field_display(path: &FieldPath, doc: &Node, item: Option<&Node>, out: &mut String) -> bool {
    let mut node = match path.root {
        FieldRoot::Doc => doc,
        FieldRoot::Item => match item {
            Some(n) => n,
            None => return false,
        },
    };
    for key in &path.keys {
        match node.get(key) {
            Some(n) => node = n,
            None => return false,
        }
    }
    match &node.value {
        NodeValue::Str { value, .. } => out.push_str(value),
        NodeValue::Int(i) => out.push_str(&i.to_string()),
        NodeValue::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        NodeValue::Null => out.push_str("null"),
        NodeValue::Float(_) | NodeValue::Seq(_) | NodeValue::Map(_) => return false,
    }
    true
}

/// The identity of the place `segs` names in `root`, for [`fingerprint`]:
/// the JSON pointer (RFC 6901) of the whole path — also the part that does
/// not exist yet, so adding `securityContext: {}` to a container does not
/// move a finding about a field under it — where an index into a list is
/// replaced by what names the item, so that inserting an item before
/// another keeps the other's identity ([`item_key`]):
/// - a mapping with an `id`, else a `name` (a string or number no other
///   item of the list shares), by that key: `/spec/containers/name=app/…`
///   (Kubernetes containers, volumes, env, ports; GitHub Actions steps
///   with an `id`), so editing the item keeps it too;
/// - any other item (a step with only `uses`/`run`, a Dockerfile
///   instruction, a Terraform nested block, a scalar) by a digest of its
///   content and which of the equal items before it it is — Semgrep's
///   match-based identity: editing that item gives it a new one.
///
/// Each such segment starts with a NUL, which no key of a parsed document
/// holds. Lists longer than [`NAMED_ITEMS_MAX`] keep indices (the names
/// are looked up among the siblings). A path through none of this is
/// exactly the pointer.
pub fn identity(root: &Node, segs: &[Segment]) -> String {
    let mut out = String::new();
    let mut node = Some(root);
    for (n, seg) in segs.iter().enumerate() {
        let named = match (node.map(|n| &n.value), seg) {
            (Some(NodeValue::Seq(items)), Segment::Index(i)) if items.len() <= NAMED_ITEMS_MAX => item_key(items, *i),
            _ => None,
        };
        match named {
            Some(key) => {
                out.push_str("/\0");
                out.push_str(&key);
            }
            None => out.push_str(&to_pointer(&segs[n..=n])),
        }
        node = node.and_then(|n| n.at(std::slice::from_ref(seg)));
    }
    out
}

/// The longest list whose items [`identity`] names rather than numbers.
pub const NAMED_ITEMS_MAX: usize = 1000;

/// What names item `i` of `items` ([`identity`]): `id=…` or `name=…` when
/// the item is a mapping with such a string or integer that no other item
/// has under the same key, else `#` and 16 hex digits of a SHA-256 of its
/// content ([`item_digest`]), with `~N` when N equal items come before it.
fn item_key(items: &[Node], i: usize) -> Option<String> {
    #[derive(PartialEq)]
    enum Scalar<'a> {
        Str(&'a str),
        Int(i64),
    }
    fn scalar<'a>(n: &'a Node, key: &str) -> Option<Scalar<'a>> {
        match &n.get(key)?.value {
            NodeValue::Str { value, .. } => Some(Scalar::Str(value.as_str())),
            NodeValue::Int(i) => Some(Scalar::Int(*i)),
            _ => None,
        }
    }
    let item = items.get(i)?;
    let named = ["id", "name"].into_iter().find_map(|key| {
        let value = scalar(item, key)?;
        let shared = items.iter().filter(|other| scalar(other, key).as_ref() == Some(&value)).nth(1).is_some();
        let text = match value {
            Scalar::Str(s) => s.to_owned(),
            Scalar::Int(i) => i.to_string(),
        };
        (!shared).then(|| format!("{key}={text}"))
    });
    if named.is_some() {
        return named;
    }
    // equal items before it, compared directly: no digest per sibling
    let before = items[..i].iter().filter(|other| same_item(other, item)).count();
    let digest = item_digest(item);
    let mut key = String::with_capacity(20);
    key.push('#');
    for b in &digest[..8] {
        use std::fmt::Write;
        let _ = write!(key, "{b:02x}");
    }
    if before > 0 {
        key.push_str(&format!("~{before}"));
    }
    Some(key)
}

/// What an unnamed list item says of itself: of a mapping, its entries
/// whose values are scalars (a step's `uses` and `run`, an instruction's
/// text, a stage's image — not the lists and mappings it holds, which
/// change as the item's contents are edited); `None` when it has no such
/// entry or is no mapping: then all of it.
fn scalar_entries(n: &Node) -> Option<Vec<&Entry>> {
    let NodeValue::Map(entries) = &n.value else { return None };
    let scalars: Vec<&Entry> =
        entries.iter().filter(|e| !matches!(e.value.value, NodeValue::Seq(_) | NodeValue::Map(_))).collect();
    (!scalars.is_empty()).then_some(scalars)
}

/// SHA-256 of what an unnamed list item says of itself ([`scalar_entries`],
/// else its whole content). Never its place in the file.
fn item_digest(n: &Node) -> [u8; 32] {
    match scalar_entries(n) {
        Some(entries) => {
            let mut h = Sha256::new();
            for e in entries {
                h.update((e.key.len() as u64).to_le_bytes());
                h.update(e.key.as_bytes());
                h.update(content_digest(&e.value));
            }
            h.finalize().into()
        }
        None => content_digest(n),
    }
}

/// Whether two list items say the same of themselves (equal
/// [`item_digest`]s, compared without hashing).
fn same_item(a: &Node, b: &Node) -> bool {
    match (scalar_entries(a), scalar_entries(b)) {
        (Some(x), Some(y)) => {
            x.len() == y.len() && x.iter().zip(&y).all(|(p, q)| p.key == q.key && same_content(&p.value, &q.value))
        }
        (None, None) => same_content(a, b),
        _ => false,
    }
}

/// Whether two nodes hold the same values (their places in the file aside).
fn same_content(a: &Node, b: &Node) -> bool {
    match (&a.value, &b.value) {
        (NodeValue::Str { value: x, .. }, NodeValue::Str { value: y, .. }) => x == y,
        (NodeValue::Float(x), NodeValue::Float(y)) => x.to_bits() == y.to_bits(),
        (NodeValue::Seq(x), NodeValue::Seq(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| same_content(p, q))
        }
        (NodeValue::Map(x), NodeValue::Map(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| p.key == q.key && same_content(&p.value, &q.value))
        }
        (x, y) => x == y,
    }
}

/// SHA-256 of a node's content (its values, never its place in the file).
fn content_digest(n: &Node) -> [u8; 32] {
    fn feed(n: &Node, h: &mut Sha256) {
        let len = |h: &mut Sha256, l: usize| h.update((l as u64).to_le_bytes());
        match &n.value {
            NodeValue::Null => h.update(b"n"),
            NodeValue::Bool(b) => h.update(if *b { b"t" } else { b"f" }),
            NodeValue::Int(i) => {
                h.update(b"i");
                h.update(i.to_le_bytes());
            }
            NodeValue::Float(f) => {
                h.update(b"d");
                h.update(f.to_bits().to_le_bytes());
            }
            NodeValue::Str { value, .. } => {
                h.update(b"s");
                len(h, value.len());
                h.update(value.as_bytes());
            }
            NodeValue::Seq(items) => {
                h.update(b"[");
                len(h, items.len());
                items.iter().for_each(|i| feed(i, h));
            }
            NodeValue::Map(entries) => {
                h.update(b"{");
                len(h, entries.len());
                for e in entries {
                    len(h, e.key.len());
                    h.update(e.key.as_bytes());
                    feed(&e.value, h);
                }
            }
        }
    }
    let mut h = Sha256::new();
    feed(n, &mut h);
    h.finalize().into()
}

/// Stable identity of a finding: rule, file, resource (or document index)
/// and the place's [`identity`] (baseline format 1 was written when it
/// was the pointer of the deepest part that exists: [`crate::baseline`]
/// still matches those); no line numbers, so unrelated edits keep it. 32 hex
/// digits (the first 16 bytes of a SHA-256).
pub fn fingerprint(
    rule: &str,
    path: &str,
    resource: Option<&Resource>,
    document: Option<u32>,
    identity: &str,
) -> String {
    let mut h = Sha256::new();
    for part in [rule, path] {
        h.update(part.as_bytes());
        h.update([0]);
    }
    match resource.filter(|r| r.name.is_some()) {
        Some(r) => {
            for part in [&r.kind, &r.namespace, &r.name] {
                h.update(part.as_deref().unwrap_or("").as_bytes());
                h.update([0]);
            }
        }
        None => h.update(format!("doc{}", document.unwrap_or(0)).as_bytes()),
    }
    h.update([0]);
    h.update(identity.as_bytes());
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut hex = String::with_capacity(32);
    for b in h.finalize().iter().take(16) {
        hex.push(char::from(HEX[usize::from(b >> 4)]));
        hex.push(char::from(HEX[usize::from(b & 15)]));
    }
    hex
}

fn location(path: &str, span: Span) -> Location {
    Location {
        path: path.to_owned(),
        start_line: span.start_line.max(1),
        start_column: span.start_col.max(1),
        end_line: span.end_line.max(span.start_line).max(1),
        end_column: span.end_col.max(1),
    }
}

/// Reports `f` (a finding on `doc`) where `r` places it, with a note of
/// where it was found ([`input::InputFormat::relocator`]); its identity
/// (fingerprint, pointer) stays the one in the file evaluated.
fn relocated(r: &dyn input::Relocate, doc: &Node, f: &mut Finding) {
    if let Some((path, span)) = r.relocate(doc, &crate::node::parse_pointer(&f.pointer)) {
        let at = &f.location;
        f.notes.push(format!("{RELOCATED}{}:{}:{}", at.path, at.start_line, at.start_column));
        f.location = location(&path, span);
    }
}

/// The note [`relocated`] leaves on a finding it moved.
const RELOCATED: &str = "found in ";

/// A finding moved to another file ([`relocated`]: a plan's finding on
/// its resource's `.tf` line) where that file gave the same finding itself
/// (same rule, same place): one finding, the file's own, with the moved
/// one's origin as a note, not the same violation twice.
fn merge_relocated(findings: &mut Vec<Finding>) {
    let key =
        |f: &Finding| (f.rule_id.clone(), f.location.path.clone(), f.location.start_line, f.location.start_column);
    let moved = |f: &Finding| f.notes.iter().any(|n| n.starts_with(RELOCATED));
    if !findings.iter().any(moved) {
        return;
    }
    let mut own: std::collections::HashMap<_, usize> = std::collections::HashMap::new();
    for (i, f) in findings.iter().enumerate().filter(|(_, f)| !moved(f)) {
        own.entry(key(f)).or_insert(i);
    }
    // fixed before any note is added: a finding given a moved one's note stays its own
    let was_moved: Vec<bool> = findings.iter().map(moved).collect();
    let mut drop = vec![false; findings.len()];
    for i in 0..findings.len() {
        if !was_moved[i] {
            continue;
        }
        if let Some(&j) = own.get(&key(&findings[i])) {
            let notes: Vec<String> = findings[i].notes.iter().filter(|n| n.starts_with(RELOCATED)).cloned().collect();
            findings[j].notes.extend(notes);
            drop[i] = true;
        }
    }
    let mut i = 0;
    findings.retain(|_| {
        i += 1;
        !drop[i - 1]
    });
}

/// A document (or the pipeline context) being evaluated: what the
/// languages read of it, and what its findings carry.
struct Subject<'a> {
    doc: Document<'a>,
    /// Index of the document in its file.
    document: Option<u32>,
    resource: Option<Arc<Resource>>,
    /// Pipeline policies: findings point at the rule in the policy file.
    pipeline: bool,
}

/// The policy set of a run with its languages started.
struct Evaluator<'a> {
    set: &'a PolicySet,
    /// The languages the set's policies use, by name, each started once.
    runs: &'a [(&'static str, Box<dyn LanguageRun>)],
}

impl Evaluator<'_> {
    /// Evaluates the policies of `candidates` (indexes in the set) that
    /// `keep` accepts on `t`, each language once for all of its own: the
    /// findings into `out`, the policies that applied into `evaluated`.
    fn evaluate(
        &self,
        t: &Subject<'_>,
        candidates: &[usize],
        keep: &dyn Fn(&CompiledPolicy) -> bool,
        out: &mut Vec<Finding>,
        evaluated: &mut Vec<usize>,
    ) {
        for (name, run) in self.runs {
            let mut policies =
                candidates.iter().map(|&i| (i, &self.set.policies[i])).filter(|(_, p)| p.language == *name && keep(p));
            run.evaluate(&t.doc, &mut policies, &mut |event| match event {
                Event::Applied(i) => evaluated.push(i),
                Event::FilterFailed { policy, message } => {
                    let p = &self.set.policies[policy];
                    if let Some(r) = p.rules.first() {
                        let message = format!("`match.when` of policy {} could not be evaluated: {message}", p.name);
                        let mut f = self.finding(p, r, t, &[], message, true);
                        f.notes[0] = format!("policy {}", p.name);
                        out.push(f);
                    }
                }
                Event::Finding(raw) => out.push(self.locate(t, raw)),
            });
        }
    }

    /// The finding of a raw finding, the same for every language: located
    /// at `at` (from the `each` element, or absolute), else at the element,
    /// else at the document; its message interpolated; the rule's
    /// enforcement, severity and notes. An error, or a message that cannot
    /// be rendered, is a `bylaw/eval-error` at the element.
    fn locate(&self, t: &Subject<'_>, raw: RawFinding<'_>) -> Finding {
        let p = &self.set.policies[raw.policy];
        let r = &p.rules[raw.rule];
        let base = raw.item.unwrap_or(&[]);
        match raw.outcome {
            Outcome::Violation(bindings) => {
                let item = raw.item.and_then(|segs| t.doc.node.at(segs));
                match render_message(&r.message, bindings, t.doc.node, item) {
                    Ok(msg) => {
                        let mut f = self.finding(p, r, t, &self.at_segments(r, t, base), msg, false);
                        if let Some(e) = raw.elsewhere {
                            f.location = location(&e.path, e.span);
                            f.document = e.document;
                            f.fingerprint =
                                fingerprint(&format!("{}:{}", r.id, r.id), &e.path, None, e.document, &e.pointer);
                            f.pointer = e.pointer;
                            f.resource = None;
                        }
                        f.exception = raw.excepted.map(|reason| {
                            Box::new(crate::report::AppliedException {
                                id: format!("{}:exception", p.name),
                                reason,
                                kind: "inSource".to_owned(),
                                approved_by: Vec::new(),
                                expires: None,
                            })
                        });
                        f
                    }
                    Err(e) => self.finding(p, r, t, base, format!("rule {} fired, but {e}", r.id), true),
                }
            }
            Outcome::Error(e) => {
                self.finding(p, r, t, base, format!("rule {} could not be evaluated: {e}", r.id), true)
            }
        }
    }

    fn finding(
        &self,
        p: &CompiledPolicy,
        r: &CompiledRule,
        t: &Subject<'_>,
        segs: &[Segment],
        message: String,
        eval_error: bool,
    ) -> Finding {
        let (span, depth) = t.doc.node.span_of(segs);
        let pointer = to_pointer(&segs[..depth]);
        let (path, span) = if t.pipeline { (p.file.as_str(), r.span) } else { (t.doc.path, span) };
        let rule_id = if eval_error { builtin::EVAL_ERROR } else { r.id.as_str() };
        let mut notes = r.notes.clone();
        if eval_error {
            notes.insert(0, format!("rule {} of policy {}", r.id, p.name));
        }
        Finding {
            rule_id: rule_id.to_owned(),
            policy: p.name.clone(),
            severity: r.severity,
            enforcement: r.enforcement,
            message,
            location: location(path, span),
            document: t.document,
            fingerprint: fingerprint(
                &format!("{rule_id}:{}", r.id),
                path,
                t.resource.as_deref(),
                t.document,
                &identity(t.doc.node, segs),
            ),
            pointer,
            resource: t.resource.clone(),
            notes,
            exception: None,
            baseline: None,
        }
    }

    /// Where `at` points from `base`.
    fn at_segments(&self, r: &CompiledRule, t: &Subject<'_>, base: &[Segment]) -> Vec<Segment> {
        match &r.at {
            None => base.to_vec(),
            Some(At::Relative(rel)) => base.iter().chain(rel.iter()).cloned().collect(),
            // nothing there: a singular path still names the place, and the
            // finding points at its deepest part that exists
            Some(At::Absolute(jp)) => jp
                .select(t.doc.node, t.doc.json)
                .into_iter()
                .next()
                .map(|(segs, _)| segs)
                .or_else(|| jp.singular())
                .unwrap_or_else(|| base.to_vec()),
        }
    }
}

/// The documents of a file parsed but not yet evaluated.
#[derive(Default)]
struct Batch {
    docs: Vec<Node>,
    /// Values in `docs`.
    nodes: usize,
    /// Index in the file of the next document to evaluate.
    next: usize,
}

impl Batch {
    /// A batch is evaluated before it would hold more than this many values
    /// (a parsed value takes 50–150 bytes: at most about 100 MB of
    /// documents; a single bigger document is a batch of its own, within
    /// [`input::yaml::MAX_DOCUMENT_NODES`]) …
    const FULL_NODES: usize = 1_000_000;
    /// … or this many documents.
    const FULL_DOCS: usize = 1024;

    /// The index of the batch's first document, and its documents, leaving
    /// the batch empty for the next ones.
    fn take(&mut self) -> (usize, Vec<Node>) {
        let start = self.next;
        self.next += self.docs.len();
        self.nodes = 0;
        (start, std::mem::take(&mut self.docs))
    }
}

/// A file larger than the size limit: its size in bytes.
struct TooLarge(u64);

/// The bytes of the regular file at `path` when it holds at most `max`
/// bytes: one `open`, one `fstat` and reads into a buffer of the file's size.
/// A file that grows past `max` while it is read is too large too.
fn read_at_most(path: &std::path::Path, max: u64) -> std::io::Result<Result<Vec<u8>, TooLarge>> {
    use std::io::Read;
    let file = std::fs::File::open(path)?;
    let len = file.metadata()?.len();
    if len > max {
        return Ok(Err(TooLarge(len)));
    }
    let mut bytes = Vec::with_capacity(usize::try_from(len).unwrap_or(0).saturating_add(1));
    file.take(max.saturating_add(1)).read_to_end(&mut bytes)?;
    let read = bytes.len() as u64;
    Ok(if read > max { Err(TooLarge(read)) } else { Ok(bytes) })
}

/// The order of findings in a report: path, line, column, rule, message,
/// fingerprint (deterministic output, DESIGN §7).
fn report_order(a: &Finding, b: &Finding) -> std::cmp::Ordering {
    (&a.location.path, a.location.start_line, a.location.start_column, &a.rule_id, &a.message, &a.fingerprint).cmp(&(
        &b.location.path,
        b.location.start_line,
        b.location.start_column,
        &b.rule_id,
        &b.message,
        &b.fingerprint,
    ))
}

/// What one file contributed.
#[derive(Default)]
struct FileResult {
    findings: Vec<Finding>,
    documents: usize,
    /// Indexes of the policies evaluated on at least one document.
    evaluated: Vec<usize>,
    skipped: Option<crate::discover::SkipReason>,
    /// See [`FileOutcome::read_as`].
    read_as: Option<String>,
    inline: Vec<crate::exceptions::Inline>,
    /// Broken documents taken for unrendered templates (not evaluated).
    templated: usize,
}

/// Whether a line holds a template placeholder: Go/Helm `{{ … }}` or
/// Jinja `{% … %}`, outside a `#` comment line; not GitHub's `${{ }}`
/// expressions, which are valid YAML strings.
fn has_placeholder(line: &str) -> bool {
    let t = line.trim_start();
    if t.starts_with('#') {
        return false;
    }
    let bytes = line.as_bytes();
    line.contains("{%")
        || line.match_indices("{{").any(|(i, _)| (i == 0 || bytes[i - 1] != b'$') && line[i..].contains("}}"))
}

/// Whether the document in which a syntax error at `line` (1-based) stands
/// — from the `---` before it to the one after — is an unrendered
/// template: it holds a placeholder. Only that document is taken for a
/// template; the other documents of the file are still evaluated.
fn error_in_template(lines: &[&str], line: u32) -> bool {
    let at = (line as usize).saturating_sub(1).min(lines.len().saturating_sub(1));
    let is_marker = |l: &str| l == "---" || l.starts_with("--- ") || l.starts_with("---\t");
    let start = (0..at).rev().find(|&i| is_marker(lines[i])).map_or(0, |i| i + 1);
    // an error found at the next `---` belongs to the document before it
    let end = if lines.get(at).is_some_and(|l| is_marker(l)) {
        at
    } else {
        (at + 1..lines.len()).find(|&i| is_marker(lines[i])).unwrap_or(lines.len())
    };
    lines.get(start..end).is_some_and(|doc| doc.iter().any(|l| has_placeholder(l)))
}

impl PolicySet {
    fn parse_error(&self, path: &str, line: u32, col: u32, message: String, opts: &RunOptions) -> Finding {
        let resource = None;
        Finding {
            rule_id: builtin::PARSE_ERROR.into(),
            policy: builtin::POLICY.into(),
            severity: Severity::High,
            enforcement: opts.parse_errors,
            message,
            location: location(path, Span::point(line, col).to(Span::point(line, col + 1))),
            document: None,
            fingerprint: fingerprint(builtin::PARSE_ERROR, path, resource, None, ""),
            pointer: String::new(),
            resource: None,
            notes: Vec::new(),
            exception: None,
            baseline: None,
        }
    }

    fn eval_file(
        &self,
        f: &FileRef,
        runs: &[(&'static str, Box<dyn LanguageRun>)],
        opts: &RunOptions,
    ) -> Option<FileResult> {
        if f.content.is_none() && f.fs_path.is_dir() {
            // discovery hands over a directory only when it cannot be listed
            let why = match std::fs::read_dir(&f.fs_path) {
                Err(e) => e.to_string(),
                Ok(_) => "it could not be listed while the tree was walked".to_owned(),
            };
            let message = format!("cannot read the directory: {why}; nothing under it was checked");
            let mut res = FileResult::default();
            res.findings.push(self.parse_error(&f.path, 1, 1, message, opts));
            return Some(res);
        }
        let applicable: Vec<usize> = if opts.format_of {
            Vec::new()
        } else {
            (0..self.policies.len()).filter(|&i| self.policies[i].applies_to_file(&f.path)).collect()
        };
        if applicable.is_empty() && !opts.format_of {
            return None;
        }
        // standard input is a YAML stream whatever it is reported as
        let stdin = f.fs_path.as_os_str() == "-";
        let by_path = f.format.or_else(|| Format::of_path(&f.path)).or(stdin.then_some(Format::YAML))?;
        let mut res = FileResult::default();
        let read = match &f.content {
            Some(c) => Ok(Ok(c.clone())),
            None => match read_at_most(&f.fs_path, opts.max_file_size) {
                Ok(Err(TooLarge(len))) => {
                    let size = |b: u64| match b {
                        b if b >= 1 << 20 => format!("{:.1} MiB", b as f64 / f64::from(1u32 << 20)),
                        b if b >= 1 << 10 => format!("{:.1} KiB", b as f64 / 1024.0),
                        b => format!("{b} bytes"),
                    };
                    let mut finding = self.parse_error(
                            &f.path,
                            1,
                            1,
                            format!(
                                "not evaluated: the file is {}, over the limit of {} (raise `max_file_size` in .bylaw.yaml or leave the file out with `targets`)",
                                size(len),
                                size(opts.max_file_size)
                            ),
                            opts,
                        );
                    finding.rule_id = builtin::INPUT_TOO_LARGE.into();
                    finding.fingerprint = fingerprint(builtin::INPUT_TOO_LARGE, &f.path, None, None, "");
                    res.findings.push(finding);
                    res.skipped = Some(crate::discover::SkipReason::TooLarge);
                    return Some(res);
                }
                Ok(Ok(bytes)) => Ok(input::decode(bytes)),
                Err(e) => Err(e),
            },
        };
        let text = match read {
            Ok(Ok(t)) => t,
            Ok(Err(e)) => {
                res.findings.push(self.parse_error(&f.path, e.line, e.col, e.message, opts));
                return Some(res);
            }
            Err(e) => {
                res.findings.push(self.parse_error(&f.path, 1, 1, format!("cannot read the file: {e}"), opts));
                return Some(res);
            }
        };
        // a format may read a file of another's extension by its content
        let format = match f.format {
            Some(set) => set,
            None if stdin => by_path,
            None => Format::of_file(&f.path, &text).unwrap_or(by_path),
        };
        let how = match f.format {
            Some(_) => "set by `formats` of the config",
            None if format != by_path => "by content",
            None => "by name",
        };
        // a format may report its findings in other files (a plan's in its `.tf` files)
        let relocate = if stdin || f.content.is_some() { None } else { format.relocator(&f.path, &f.fs_path, &text) };
        let ev = Evaluator { set: self, runs };
        let eval_doc = |di: usize, doc: Node| -> (Vec<Finding>, Vec<usize>, &'static str) {
            let file_type: &'static str = format.document_type(&f.path, &doc);
            let mut findings = Vec::new();
            let mut evaluated = Vec::new();
            let json = OnceLock::new();
            let t = Subject {
                doc: Document { path: &f.path, format: format.name(), file_type, node: &doc, json: &json },
                document: Some(di as u32),
                resource: format.resource(&doc).map(Arc::new),
                pipeline: false,
            };
            // the resource's kind (Kubernetes' `kind`) selects by `match.kinds`
            let kind = t.resource.as_deref().and_then(|r| r.kind.as_deref());
            // and its file type by `match.types`
            let keep = |p: &CompiledPolicy| {
                (p.kinds.is_empty() || kind.is_some_and(|k| p.kinds.iter().any(|x| x == k)))
                    && (p.types.is_empty() || p.types.iter().any(|x| x == file_type))
            };
            ev.evaluate(&t, &applicable, &keep, &mut findings, &mut evaluated);
            if let Some(r) = &relocate {
                findings.iter_mut().filter(|x| x.location.path == f.path).for_each(|x| relocated(&**r, &doc, x));
            }
            (findings, evaluated, file_type)
        };
        // Documents are evaluated while the file is parsed, a batch at a
        // time (the documents of a batch in parallel: a 100 MB stream is one
        // file), and dropped once evaluated: a long stream is never held
        // whole, only a batch of it (see `Batch::FULL_NODES`).
        let mut batch = Batch::default();
        // the lines of each document, for suppressions that cover blocks
        let blocks = format.block_suppressions();
        let mut spans: Vec<(u32, u32)> = Vec::new();
        // what evaluated batches found, in any order (sorted at the end)
        let done: std::sync::Mutex<(Vec<Finding>, BTreeSet<usize>, BTreeSet<&'static str>)> = Default::default();
        let in_flight = std::sync::atomic::AtomicUsize::new(0);
        let eval_batch = |start: usize, docs: Vec<Node>| {
            let per_doc: Vec<(Vec<Finding>, Vec<usize>, &'static str)> =
                docs.into_par_iter().with_min_len(16).enumerate().map(|(i, doc)| eval_doc(start + i, doc)).collect();
            let mut done = done.lock().unwrap_or_else(|e| e.into_inner());
            done.0.reserve(per_doc.iter().map(|(f, _, _)| f.len()).sum());
            for (findings, pols, file_type) in per_doc {
                done.0.extend(findings);
                done.1.extend(pols);
                done.2.insert(file_type);
            }
        };
        // owned by the scope below, which frees it once parsed
        let mut text = Some(text);
        let (parsed, templated) = rayon::scope(|scope| {
            let Some(text) = text.take() else { return (input::ParsedFile::default(), 0) };
            let mut parsed = input::parse_each(format, &text, &mut |doc| {
                let nodes = crate::node::count_nodes(&doc);
                let full = batch.nodes + nodes > Batch::FULL_NODES || batch.docs.len() >= Batch::FULL_DOCS;
                if full && !batch.docs.is_empty() {
                    // evaluated on another thread while parsing goes on; one
                    // batch at a time, so memory stays bounded: the batch
                    // being evaluated, the one being filled, the document
                    // being parsed
                    while in_flight.load(std::sync::atomic::Ordering::Acquire) >= 1 {
                        rayon::yield_now();
                    }
                    in_flight.fetch_add(1, std::sync::atomic::Ordering::AcqRel);
                    let (start, docs) = batch.take();
                    let (eval_batch, in_flight) = (&eval_batch, &in_flight);
                    scope.spawn(move |_| {
                        eval_batch(start, docs);
                        in_flight.fetch_sub(1, std::sync::atomic::Ordering::AcqRel);
                    });
                }
                batch.nodes += nodes;
                if blocks {
                    spans.push((doc.span.start_line, doc.span.end_line));
                }
                batch.docs.push(doc);
            });
            // a broken document with `{{ … }}` placeholders is a template to
            // render, not a manifest: no parse error for it, and the file's
            // other documents are still evaluated
            let mut templated = 0;
            if !parsed.errors.is_empty() {
                let lines: Vec<&str> = text.lines().collect();
                let before = parsed.errors.len();
                parsed.errors.retain(|e| !error_in_template(&lines, e.line));
                templated = before - parsed.errors.len();
            }
            // the documents own their text: the file's is not needed any more
            drop(text);
            // the last batch (the only one of most files) here
            let (start, docs) = batch.take();
            eval_batch(start, docs);
            (parsed, templated)
        });
        let (mut found, evaluated, types) = done.into_inner().unwrap_or_else(|e| e.into_inner());
        let documents = batch.next;
        let types: Vec<&str> = types.into_iter().filter(|t| *t != format.name()).collect();
        res.read_as = Some(match types.is_empty() {
            true => format!("{} ({how})", format.name()),
            false => format!("{} ({how}; {})", format.name(), types.join(", ")),
        });
        res.templated = templated;
        if templated > 0 && parsed.errors.is_empty() && documents == 0 {
            res.skipped = Some(crate::discover::SkipReason::Template);
            return Some(res);
        }
        if documents == 0 && parsed.errors.is_empty() && res.templated == 0 {
            // nothing to evaluate: say so, not "matched no policy"
            res.skipped = Some(crate::discover::SkipReason::Empty);
            return Some(res);
        }
        res.inline = crate::exceptions::inline_from_comments(&parsed.comments);
        // a suppression just above a block covers the block
        for i in res.inline.iter_mut() {
            i.until = spans.iter().find(|(start, _)| *start == i.line + 1 || *start == i.line).map(|(_, end)| *end);
        }
        for (i, e) in parsed.errors.iter().enumerate() {
            let message = format!("invalid {}: {}", format.label(), e.message);
            let mut finding = self.parse_error(&f.path, e.line, e.col, message, opts);
            if i > 0 {
                // one identity per broken document of a stream
                finding.fingerprint = fingerprint(builtin::PARSE_ERROR, &f.path, None, Some(i as u32), "");
            }
            res.findings.push(finding);
        }
        res.documents = documents;
        res.findings.append(&mut found);
        res.findings.sort_by(report_order);
        res.evaluated = evaluated.into_iter().collect();
        Some(res)
    }

    /// Evaluates every policy: document policies on `files` (in parallel),
    /// pipeline policies once on the context. Deterministic output.
    pub fn run(&self, files: &[FileRef], opts: &RunOptions) -> Report {
        self.run_detailed(files, opts).0
    }

    /// [`PolicySet::run`], with what happened to each file and the inline
    /// suppressions read from them (for exceptions).
    pub fn run_detailed(&self, files: &[FileRef], opts: &RunOptions) -> (Report, RunDetails) {
        // each language the policies use, started once (the pipeline
        // context converted to its values)
        let runs: Vec<(&'static str, Box<dyn LanguageRun>)> = language::LANGUAGES
            .iter()
            .filter(|l| self.policies.iter().any(|p| p.language == l.name()))
            .map(|l| (l.name(), l.start(&opts.ctx, files)))
            .collect();
        let results: Vec<(usize, FileResult)> =
            files.par_iter().enumerate().filter_map(|(i, f)| self.eval_file(f, &runs, opts).map(|r| (i, r))).collect();

        // one allocation of the exact size: growing by doubling would hold
        // up to twice the findings' inline size at the last reallocation
        let mut findings = Vec::with_capacity(results.iter().map(|(_, r)| r.findings.len()).sum());
        let mut targets: BTreeMap<usize, BTreeSet<String>> = BTreeMap::new();
        let mut documents = 0;
        let mut details = RunDetails {
            files: files
                .iter()
                .map(|f| FileOutcome {
                    path: f.path.clone(),
                    documents: 0,
                    read_as: None,
                    policies: 0,
                    skipped: Some(crate::discover::SkipReason::NoPolicy),
                })
                .collect(),
            inline: BTreeMap::new(),
            templated: Vec::new(),
        };
        let mut files_evaluated = 0;
        for (i, r) in results {
            let outcome = &mut details.files[i];
            outcome.documents = r.documents;
            outcome.read_as = r.read_as;
            outcome.policies = r.evaluated.len();
            outcome.skipped = match r.skipped {
                Some(s) => Some(s),
                None if r.evaluated.is_empty() && r.findings.is_empty() => Some(crate::discover::SkipReason::NoPolicy),
                None => None,
            };
            if outcome.skipped.is_none() {
                files_evaluated += 1;
            }
            if !r.inline.is_empty() {
                details.inline.entry(files[i].path.clone()).or_default().extend(r.inline);
            }
            if r.templated > 0 {
                details.templated.push((files[i].path.clone(), r.templated));
            }
            if outcome.skipped.is_none() {
                documents += r.documents;
            }
            findings.extend(r.findings);
            for p in r.evaluated {
                targets.entry(p).or_default().insert(files[i].path.clone());
            }
        }

        merge_relocated(&mut findings);

        // Pipeline policies: once, with doc = ctx.
        let ctx_node = Node::from_json(&opts.ctx);
        let json = OnceLock::new();
        let t = Subject {
            doc: Document {
                path: builtin::PIPELINE_TARGET,
                format: "pipeline",
                file_type: "pipeline",
                node: &ctx_node,
                json: &json,
            },
            document: None,
            resource: None,
            pipeline: true,
        };
        let pipeline: Vec<usize> =
            (0..self.policies.len()).filter(|&i| self.policies[i].target == PolicyTarget::Pipeline).collect();
        let mut applied = Vec::new();
        Evaluator { set: self, runs: &runs }.evaluate(&t, &pipeline, &|_| true, &mut findings, &mut applied);
        for i in applied {
            targets.entry(i).or_default().insert(builtin::PIPELINE_TARGET.to_owned());
        }
        let mut report = self.report(findings, targets, files_evaluated, documents, opts);
        for f in &details.files {
            if let Some(reason) = &f.skipped {
                *report.summary.skipped.entry(reason.as_str().to_owned()).or_default() += 1;
            }
        }
        (report, details)
    }

    /// The set's policies and rules, before any evaluation (see [`Catalog`]).
    pub fn catalog(&self) -> Catalog {
        let mut c = self.catalog_unsorted();
        c.rules.sort_by(|a, b| a.id.cmp(&b.id));
        c.rules.dedup_by(|a, b| a.id == b.id);
        c.policies.sort_by(|a, b| a.name.cmp(&b.name));
        c
    }

    /// [`PolicySet::catalog`] in the set's order (policy `i` at index `i`).
    fn catalog_unsorted(&self) -> Catalog {
        let mut rules: Vec<RuleInfo> = Vec::new();
        let mut policies = Vec::new();
        for p in &self.policies {
            for r in &p.rules {
                rules.push(RuleInfo {
                    id: r.id.clone(),
                    policy: p.name.clone(),
                    title: r.title.clone(),
                    severity: r.severity,
                    enforcement: r.enforcement,
                    description: r.description.clone(),
                    remediation: r.remediation.clone(),
                    controls: r.controls.clone(),
                    kind: p.kind.as_str().to_owned(),
                });
            }
            policies.push(PolicyInfo {
                name: p.name.clone(),
                version: p.version.clone(),
                kind: p.kind.as_str().to_owned(),
                lifecycle: p.lifecycle.as_str().to_owned(),
                description: p.description.clone(),
                source: p.file.clone(),
                owners: p.owners.clone(),
                rules: p.rules.iter().map(|r| r.id.clone()).collect(),
                targets: Vec::new(),
            });
        }
        Catalog { policies, rules }
    }

    fn report(
        &self,
        mut findings: Vec<Finding>,
        mut targets: BTreeMap<usize, BTreeSet<String>>,
        files: usize,
        documents: usize,
        opts: &RunOptions,
    ) -> Report {
        // each file's findings are sorted where the file was evaluated (in
        // parallel) and the files come in path order: one check here, a
        // full sort only when pipeline findings sit elsewhere
        if !findings.is_sorted_by(|a, b| report_order(a, b).is_le()) {
            findings.sort_by(report_order);
        }
        let Catalog { mut policies, mut rules } = self.catalog_unsorted();
        for (i, p) in policies.iter_mut().enumerate() {
            p.targets = targets.remove(&i).map(|t| t.into_iter().collect()).unwrap_or_default();
        }
        for id in [builtin::PARSE_ERROR, builtin::INPUT_TOO_LARGE, builtin::EVAL_ERROR] {
            if let Some(f) = findings.iter().find(|f| f.rule_id == id) {
                rules.push(builtin::rule_info(id, f.enforcement));
            }
        }
        rules.sort_by(|a, b| a.id.cmp(&b.id));
        rules.dedup_by(|a, b| a.id == b.id);
        policies.sort_by(|a, b| a.name.cmp(&b.name));

        let summary = Summary {
            files,
            documents,
            policies: self.policies.len(),
            rules: self.policies.iter().map(|p| p.rules.len()).sum(),
            ..Summary::default()
        };
        let mut report = Report {
            version: REPORT_VERSION.into(),
            tool: ToolInfo::default(),
            environment: self.options.environment.clone(),
            fail_on: opts.fail_on,
            verdict: Verdict::Pass,
            summary,
            policies,
            rules,
            findings,
            exceptions: Vec::new(),
            errors: Vec::new(),
        };
        report.recount();
        report
    }
}

impl Node {
    /// A tree without source positions, from JSON (the pipeline context).
    pub fn from_json(v: &serde_json::Value) -> Node {
        use serde_json::Value as J;
        let value = match v {
            J::Null => NodeValue::Null,
            J::Bool(b) => NodeValue::Bool(*b),
            J::Number(n) => match n.as_i64() {
                Some(i) => NodeValue::Int(i),
                None => NodeValue::Float(n.as_f64().unwrap_or(f64::NAN)),
            },
            J::String(s) => NodeValue::Str { value: s.into(), plain: false },
            J::Array(items) => NodeValue::Seq(items.iter().map(Node::from_json).collect()),
            J::Object(map) => NodeValue::Map(
                map.iter()
                    .map(|(k, v)| crate::node::Entry {
                        key: k.into(),
                        key_span: Span::default(),
                        value: Node::from_json(v),
                    })
                    .collect(),
            ),
        };
        Node { span: Span::default(), value }
    }
}

#[cfg(test)]
mod template_tests {
    use super::*;

    #[test]
    fn only_the_broken_document_with_placeholders_is_a_template() {
        let text = "a: 1\n---\nx: {{ .Values.x }}\n---\nb: [\n---\n# {{ not this }}\nc: [\n";
        let lines: Vec<&str> = text.lines().collect();
        assert!(error_in_template(&lines, 3), "the placeholder's document");
        assert!(!error_in_template(&lines, 5), "a broken document without placeholders");
        assert!(!error_in_template(&lines, 8), "a placeholder in a comment does not count");
        assert!(error_in_template(&lines, 4), "an error found at the next marker belongs to the document before");
        assert!(!has_placeholder("run: echo ${{ github.sha }}"));
    }
}

/// The shared step, driven by a language other than CEL: a second language
/// implements only compile and evaluate, and gets located, interpolated and
/// enforced findings.
#[cfg(test)]
mod language_seam_tests {
    use super::*;
    use crate::compile::{CompileOptions, Part};
    use crate::language::Expression;

    /// A language whose program says which rules fire, on which element.
    struct Toy;

    /// Rule index → what it reports.
    struct ToyProgram(Vec<ToyOutcome>);

    enum ToyOutcome {
        Fire(Vec<Segment>),
        Fail,
    }

    /// Message expression 0 is `v1`; expression 1 is missing data.
    struct ToyBindings;

    impl Bindings for ToyBindings {
        fn write(&self, expr: usize, out: &mut String) -> Result<bool, String> {
            match expr {
                0 => {
                    out.push_str("v1");
                    Ok(true)
                }
                1 => Ok(false),
                _ => Err("no such expression".into()),
            }
        }
    }

    impl LanguageRun for Toy {
        fn evaluate<'p>(
            &self,
            _: &Document<'_>,
            policies: &mut dyn Iterator<Item = (usize, &'p CompiledPolicy)>,
            sink: &mut dyn FnMut(Event<'_>),
        ) {
            for (i, p) in policies {
                let Some(program) = p.program.downcast_ref::<ToyProgram>() else { continue };
                for (rule, outcome) in program.0.iter().enumerate() {
                    let (item, outcome) = match outcome {
                        ToyOutcome::Fire(segs) => (Some(segs.as_slice()), Outcome::Violation(&ToyBindings)),
                        ToyOutcome::Fail => (None, Outcome::Error("`x` is not a number".into())),
                    };
                    sink(Event::Finding(RawFinding {
                        policy: i,
                        rule,
                        item,
                        outcome,
                        excepted: None,
                        elsewhere: None,
                    }));
                }
                sink(Event::Applied(i));
            }
        }
    }

    fn rule(id: &str, at: Option<At>, message: Vec<Part>) -> CompiledRule {
        CompiledRule {
            id: id.into(),
            title: id.into(),
            description: None,
            severity: Severity::High,
            remediation: None,
            controls: Vec::new(),
            enforcement: Enforcement::Advisory,
            notes: vec!["advisory in dev".into()],
            each: None,
            condition: 0,
            at,
            message,
            span: Span::default(),
        }
    }

    #[test]
    fn raw_findings_of_any_language_are_located_interpolated_and_enforced() {
        let text = "kind: Pod\nspec:\n  containers:\n    - name: a\n      securityContext:\n        privileged: true\n";
        let doc = input::parse(Format::YAML, text).documents.remove(0);
        let field = |root, keys: &[&str]| crate::compile::FieldPath {
            root,
            keys: keys.iter().map(|k| k.to_string()).collect(),
        };
        let expr =
            |source: &str, index, field| Part::Expr { source: source.into(), expression: Expression { index, field } };
        let message = vec![
            Part::Text("container ".into()),
            expr("item.name", 9, Some(field(FieldRoot::Item, &["name"]))),
            Part::Text(" of a ".into()),
            expr("doc.kind", 9, Some(field(FieldRoot::Doc, &["kind"]))),
            Part::Text(": ".into()),
            expr("v", 0, None),
            Part::Text(", ".into()),
            expr("gone", 1, None),
        ];
        let container = vec![Segment::Key("spec".into()), Segment::Key("containers".into()), Segment::Index(0)];
        let policy = CompiledPolicy {
            name: "toy".into(),
            version: None,
            kind: Default::default(),
            lifecycle: Default::default(),
            description: None,
            file: "toy.policy".into(),
            target: PolicyTarget::Documents,
            files: None,
            kinds: Vec::new(),
            types: Vec::new(),
            language: "toy",
            program: Box::new(ToyProgram(vec![ToyOutcome::Fire(container), ToyOutcome::Fail])),
            rules: vec![
                rule("T-1", Some(At::Relative(vec![Segment::Key("securityContext".into())])), message),
                rule("T-2", None, vec![Part::Text("unused".into())]),
            ],
            needs_json: false,
            reads_every_file: false,
            owners: Vec::new(),
            exception_rules: Default::default(),
        };
        let set = PolicySet {
            policies: vec![policy],
            options: CompileOptions {
                environment: None,
                today: chrono::NaiveDate::from_ymd_opt(2026, 1, 1).unwrap_or_default(),
                include_drafts: false,
            },
        };
        let runs: Vec<(&'static str, Box<dyn LanguageRun>)> = vec![("toy", Box::new(Toy))];
        let json = OnceLock::new();
        let t = Subject {
            doc: Document { path: "pod.yaml", format: "yaml", file_type: "kubernetes", node: &doc, json: &json },
            document: Some(0),
            resource: None,
            pipeline: false,
        };
        let (mut out, mut applied) = (Vec::new(), Vec::new());
        Evaluator { set: &set, runs: &runs }.evaluate(&t, &[0], &|_| true, &mut out, &mut applied);
        assert_eq!(applied, [0]);
        assert_eq!(out.len(), 2);
        let fired = &out[0];
        assert_eq!(fired.rule_id, "T-1");
        assert_eq!(fired.message, "container a of a Pod: v1, <missing>");
        assert_eq!(fired.pointer, "/spec/containers/0/securityContext", "`at` from the element");
        assert_eq!((fired.location.start_line, fired.location.path.as_str()), (5, "pod.yaml"));
        assert_eq!(
            (fired.enforcement, fired.notes.as_slice()),
            (Enforcement::Advisory, &["advisory in dev".to_owned()][..])
        );
        let failed = &out[1];
        assert_eq!(failed.rule_id, builtin::EVAL_ERROR);
        assert_eq!(failed.message, "rule T-2 could not be evaluated: `x` is not a number");
        assert_eq!(failed.notes[0], "rule T-2 of policy toy");
        assert_eq!(failed.location.start_line, 1, "no element: the document");
    }
}
