//! Rego (OPA's policy language, <https://www.openpolicyagent.org/docs/policy-language>)
//! in process through `regorus`, with conftest's conventions
//! (<https://www.conftest.dev/>): a `.rego` file is a policy file wherever a
//! YAML policy file is accepted.
//!
//! **What is a policy.** Every module of a run is loaded into one Rego
//! engine (packages may import each other and read `data`). A package that
//! the run's namespaces select (`main` by default, globs with
//! `--namespace`, every package with `--all-namespaces`) and that defines
//! `deny`, `violation` or `warn` rules, optionally suffixed (`deny_root`),
//! is a policy named after the package; each such rule name is one of its
//! rules ([`load`]).
//!
//! **Rule metadata** comes from OPA METADATA annotations
//! (<https://www.openpolicyagent.org/docs/policy-language#annotations>):
//! `title`, `description`, and under `custom` `id`, `severity`,
//! `enforcement`, `remediation`, `controls`; on the package: `title`,
//! `description`, `custom.type`, `custom.owners`. Without them the rule id
//! is `PACKAGE.RULE` (`main.deny_root`), `deny`/`violation` rules block and
//! `warn` rules advise.
//!
//! **Evaluating.** For each document the rules are queried with the
//! document as `input` (and the pipeline context as `data.bylaw.ctx`). A
//! result is a finding: a string is its message; an object gives `msg` and
//! may give `_loc`, where the finding is ([`location`]); any other value is
//! shown as JSON. `exception` rules of the package (sets of rule names
//! without their `deny_`/`violation_`/`warn_` prefix, conftest's
//! convention) mark the findings of those rules as excepted: reported,
//! not failing. One engine is cloned per worker thread and reused.

pub mod gatekeeper;
pub mod gator;
pub mod load;
pub mod opa_test;
pub mod probe;

use super::{
    Bindings, ConditionCompiler, Document, Elsewhere, Event, LanguageRun, Outcome, PolicyLanguage, RawFinding,
};
use crate::compile::Compiler;
use crate::loader::LoadedPolicy;
use crate::node::{Node, NodeValue, Segment};
use crate::policy::Condition;
use std::sync::{Arc, Mutex};

pub use load::{compile, read_data, RegoModule, RegoOptions};

/// The language's name, as [`crate::compile::CompiledPolicy::language`] holds it.
pub const NAME: &str = "rego";

/// Longest one evaluation of a Rego rule may run, in seconds: a policy that
/// loops or explodes on an input becomes an evaluation error (the rule
/// failed on that document), not a hang of the gate.
pub const EVAL_TIME_LIMIT_SECS: u64 = 10;

/// A Rego engine as bylaw runs them: `print` output gathered (never
/// written to the terminal or the CI log, where an input's text could
/// inject workflow commands or escape sequences) and each evaluation
/// limited to [`EVAL_TIME_LIMIT_SECS`].
pub fn new_engine() -> regorus::Engine {
    let mut engine = regorus::Engine::new();
    engine.set_gather_prints(true);
    if let Some(interval) = std::num::NonZeroU32::new(1024) {
        engine.set_execution_timer_config(regorus::utils::limits::ExecutionTimerConfig {
            limit: std::time::Duration::from_secs(EVAL_TIME_LIMIT_SECS),
            check_interval: interval,
        });
    }
    engine
}

/// Files over this many bytes are not read for Gatekeeper's inventory.
pub const INVENTORY_FILE_LIMIT: usize = 16 << 20;

/// Rego as a [`PolicyLanguage`]. Its policies are `.rego` modules compiled
/// by [`compile`], never YAML policies: [`PolicyLanguage::compiler`] is not
/// asked for them.
pub struct RegoLanguage;

impl PolicyLanguage for RegoLanguage {
    fn name(&self) -> &'static str {
        NAME
    }

    fn compiler<'a>(&'a self, _policy: &'a LoadedPolicy) -> Box<dyn ConditionCompiler + 'a> {
        Box::new(NoConditions)
    }

    fn start(&self, ctx: &serde_json::Value, files: &[crate::eval::FileRef]) -> Box<dyn LanguageRun> {
        Box::new(RegoRun {
            ctx: regorus::Value::from(ctx.clone()),
            engines: Mutex::new(Vec::new()),
            files: files.to_vec(),
            inventory: std::sync::OnceLock::new(),
            parsed: std::sync::OnceLock::new(),
        })
    }
}

/// YAML policies' conditions are CEL: a YAML policy is never compiled as
/// Rego, and a condition asked of this compiler does not compile.
struct NoConditions;

impl ConditionCompiler for NoConditions {
    fn filter(&mut self, _: &mut Compiler<'_>, _: &str, _: &str) -> bool {
        false
    }
    fn condition(&mut self, _: &mut Compiler<'_>, _: &Condition, _: bool, _: &str, _: bool) -> Option<usize> {
        None
    }
    fn expression(&mut self, _: &mut Compiler<'_>, _: &str, _: &str, _: bool) -> Option<super::Expression> {
        None
    }
    fn finish(self: Box<Self>) -> Box<dyn std::any::Any + Send + Sync> {
        Box::new(())
    }
}

/// The engine every Rego policy of a compilation shares: all modules and
/// data loaded, ready to clone.
pub struct Shared {
    engine: Mutex<regorus::Engine>,
    /// Identity of this engine, so a run's pooled clones are of it.
    id: usize,
    /// Its Rego reads `data.inventory` (a referential Gatekeeper template).
    pub inventory: bool,
}

impl Shared {
    fn clone_engine(&self) -> Option<regorus::Engine> {
        self.engine.lock().ok().map(|e| e.clone())
    }
}

/// The program of one Rego policy (a package).
pub struct RegoProgram {
    pub shared: Arc<Shared>,
    /// `data.PACKAGE`, the prefix of its rules' queries.
    pub package: String,
    /// The policy's rules, in the order of its [`crate::compile::CompiledPolicy::rules`].
    pub rules: Vec<RuleQuery>,
    /// Whether the package defines `exception` rules.
    pub has_exceptions: bool,
    /// For a Gatekeeper Constraint: its parameters and match.
    pub gatekeeper: Option<gatekeeper::Constraint>,
    /// Evaluated once on every file (conftest's `--combine`), not per document.
    pub combine: bool,
}

/// One policy rule of a package.
pub struct RuleQuery {
    /// The rule's name (`deny_root`).
    pub name: String,
    /// The name an `exception` gives it (`root`; empty without a suffix).
    pub short: String,
    /// The `input` paths its bodies require to be absent (`not input.a.b`).
    pub missing: Vec<Vec<Segment>>,
}

/// A run: the pipeline context as a Rego value, and engines of the run
/// (each with the context in `data`), reused by the worker threads.
struct RegoRun {
    ctx: regorus::Value,
    engines: Mutex<Vec<(usize, regorus::Engine)>>,
    /// The run's files, for the inventory.
    files: Vec<crate::eval::FileRef>,
    /// The Kubernetes objects of the run's files, read when a template
    /// first needs them.
    inventory: std::sync::OnceLock<Vec<serde_json::Value>>,
    /// The run's files parsed, for the inventory and `--combine`.
    parsed: std::sync::OnceLock<Vec<(String, Vec<Node>)>>,
}

impl RegoRun {
    fn take(&self, shared: &Shared) -> Option<regorus::Engine> {
        if let Ok(mut pool) = self.engines.lock() {
            if let Some(i) = pool.iter().position(|(id, _)| *id == shared.id) {
                return Some(pool.swap_remove(i).1);
            }
        }
        let mut engine = shared.clone_engine()?;
        let mut bylaw = std::collections::BTreeMap::new();
        bylaw.insert(regorus::Value::from("ctx"), self.ctx.clone());
        let mut data = std::collections::BTreeMap::new();
        data.insert(regorus::Value::from("bylaw"), regorus::Value::from(bylaw));
        if shared.inventory {
            data.insert(regorus::Value::from("inventory"), regorus::Value::from(gator::inventory(self.objects())));
        }
        // a module's own `data.bylaw` wins: the context is only added
        let _ = engine.add_data(regorus::Value::from(data));
        Some(engine)
    }

    /// The run's files, parsed (each file's documents), read once when a
    /// policy first needs them (Gatekeeper's inventory, `--combine`).
    fn parsed(&self) -> &[(String, Vec<Node>)] {
        self.parsed.get_or_init(|| {
            let mut out = Vec::new();
            for f in &self.files {
                let text = match &f.content {
                    Some(t) => t.clone(),
                    None => match crate::paths::read_text(&f.fs_path) {
                        Ok(t) if t.len() <= INVENTORY_FILE_LIMIT => t,
                        _ => continue,
                    },
                };
                let format = crate::input::Format::of_file(&f.path, &text).unwrap_or(crate::input::Format::YAML);
                let mut docs = Vec::new();
                crate::input::parse_each(format, &text, &mut |doc: Node| docs.push(doc));
                out.push((f.path.clone(), docs));
            }
            out
        })
    }

    /// The Kubernetes objects (`apiVersion`, `kind`, `metadata.name`) of
    /// the run's files: what Gatekeeper would have synced.
    fn objects(&self) -> &[serde_json::Value] {
        self.inventory.get_or_init(|| {
            let k8s = |d: &&Node| {
                d.str_at(&["apiVersion"]).is_some()
                    && d.str_at(&["kind"]).is_some()
                    && d.str_at(&["metadata", "name"]).is_some()
            };
            self.parsed().iter().flat_map(|(_, docs)| docs.iter().filter(k8s).map(Node::to_json)).collect()
        })
    }

    /// conftest's `--combine` input: every file as `{path, contents}`,
    /// `contents` the document (or the list of a file's documents).
    fn combined(&self) -> serde_json::Value {
        let files = self.parsed().iter().map(|(path, docs)| {
            let contents = match docs.as_slice() {
                [one] => one.to_json(),
                many => serde_json::Value::Array(many.iter().map(Node::to_json).collect()),
            };
            serde_json::json!({ "path": path, "contents": contents })
        });
        serde_json::Value::Array(files.collect())
    }

    /// Where a place in the combined input is: its file, document and node.
    fn elsewhere(&self, path: &[Segment]) -> Option<Elsewhere> {
        let [Segment::Index(i), rest @ ..] = path else { return None };
        let (file, docs) = self.parsed().get(*i)?;
        let (document, rest) = match rest {
            [Segment::Key(c), rest @ ..] if c == "contents" && docs.len() == 1 => (0, rest),
            [Segment::Key(c), Segment::Index(d), rest @ ..] if c == "contents" => (*d, rest),
            _ => (0, &[][..]),
        };
        let node = docs.get(document)?;
        let (span, depth) = node.span_of(rest);
        Some(Elsewhere {
            path: file.clone(),
            document: Some(document as u32),
            span,
            pointer: crate::node::to_pointer(&rest[..depth]),
        })
    }

    /// A `--combine` policy, once on every file.
    fn evaluate_combined(
        &self,
        index: usize,
        policy: &crate::compile::CompiledPolicy,
        program: &RegoProgram,
        sink: &mut dyn FnMut(Event<'_>),
    ) {
        let Some(mut engine) = self.take(&program.shared) else { return };
        let combined = self.combined();
        let input = regorus::Value::from(combined.clone());
        engine.set_input(input.clone());
        sink(Event::Applied(index));
        let excepted = if program.has_exceptions {
            engine.eval_rule(format!("{}.exception", program.package)).map(|v| exception_names(&v)).unwrap_or_default()
        } else {
            Vec::new()
        };
        for (rule, query) in program.rules.iter().enumerate() {
            let path = format!("{}.{}", program.package, query.name);
            let Some(results) = eval_or_report(&mut engine, &path, index, rule, sink) else { continue };
            let messages: Vec<String> = results_of(&results).into_iter().map(|r| message_of(r).0).collect();
            let wanted: Vec<&str> = messages.iter().map(String::as_str).collect();
            let mut again =
                |d: &serde_json::Value| probe::rego_results(&mut engine, &path, regorus::Value::from(d.clone()));
            let mut places = probe::locate(&combined, &wanted, &mut again);
            engine.set_input(input.clone());
            let excepted = excepted
                .contains(&query.short)
                .filter_mandatory(policy.rules[rule].enforcement)
                .then(|| exception_reason(&program.package, &query.short));
            for message in &messages {
                let elsewhere = places.remove(message).and_then(|p| self.elsewhere(&p));
                sink(Event::Finding(RawFinding {
                    policy: index,
                    rule,
                    item: None,
                    outcome: Outcome::Violation(&Message(message, &policy.rules[rule].title)),
                    excepted: excepted.clone(),
                    elsewhere,
                }));
            }
        }
        self.give_back(&program.shared, engine);
    }

    fn give_back(&self, shared: &Shared, mut engine: regorus::Engine) {
        // `print` output is dropped, not kept for the whole run
        let _ = engine.take_prints();
        if let Ok(mut pool) = self.engines.lock() {
            pool.push((shared.id, engine));
        }
    }
}

/// A finding's message, for the shared step's one message expression; a
/// result without one (`deny if …`, `true`) says the rule's title.
struct Message<'a>(&'a str, &'a str);

impl Bindings for Message<'_> {
    fn write(&self, _expr: usize, out: &mut String) -> Result<bool, String> {
        out.push_str(if self.0.trim().is_empty() { self.1 } else { self.0 });
        Ok(true)
    }
}

/// `true` unless the rule is mandatory.
trait FilterMandatory {
    fn filter_mandatory(self, level: crate::report::Enforcement) -> bool;
}

impl FilterMandatory for bool {
    fn filter_mandatory(self, level: crate::report::Enforcement) -> bool {
        self && level != crate::report::Enforcement::Mandatory
    }
}

impl LanguageRun for RegoRun {
    fn evaluate<'p>(
        &self,
        doc: &Document<'_>,
        policies: &mut dyn Iterator<Item = (usize, &'p crate::compile::CompiledPolicy)>,
        sink: &mut dyn FnMut(Event<'_>),
    ) {
        let mut input: Option<regorus::Value> = None;
        for (index, policy) in policies {
            let Some(program) = policy.program.downcast_ref::<RegoProgram>() else { continue };
            if program.combine {
                // once per run, with the pipeline context's turn; each
                // document counts as read by it
                if doc.format == "pipeline" {
                    self.evaluate_combined(index, policy, program, sink);
                } else {
                    sink(Event::Applied(index));
                }
                continue;
            }
            let json = doc.json.get_or_init(|| doc.node.to_json());
            if let Some(c) = &program.gatekeeper {
                // a namespaceSelector reads the labels of the Namespace objects checked
                let labels = |ns: &str| {
                    self.objects()
                        .iter()
                        .find(|o| o["kind"] == "Namespace" && o["metadata"]["name"] == ns)
                        .map(|o| o["metadata"]["labels"].clone())
                };
                if !c.matcher.matches(json, &labels) {
                    continue;
                }
            }
            let Some(mut engine) = self.take(&program.shared) else { continue };
            let constraint_input;
            let value = match &program.gatekeeper {
                Some(c) => {
                    constraint_input = c.input(json);
                    &constraint_input
                }
                None => &*input.get_or_insert_with(|| regorus::Value::from(json.clone())),
            };
            engine.set_input(value.clone());
            sink(Event::Applied(index));
            let cel_engine = program.gatekeeper.as_ref().is_some_and(|c| c.cel.is_some());
            // every rule in one query, sharing the helper rules they call
            let mut batch = if cel_engine { None } else { eval_batch(&mut engine, program) };
            let excepted = if !program.has_exceptions {
                Ok(Vec::new())
            } else if let Some(b) = &mut batch {
                Ok(exception_names(&b.pop().unwrap_or(regorus::Value::Undefined)))
            } else {
                engine.eval_rule(format!("{}.exception", program.package)).map(|v| exception_names(&v))
            };
            for (rule, query) in program.rules.iter().enumerate() {
                let (name, short) = (&query.name, &query.short);
                let path = format!("{}.{name}", program.package);
                let cel = program.gatekeeper.as_ref().and_then(|c| c.cel.as_ref().map(|cel| (c, cel)));
                let found: Vec<(String, Option<regorus::Value>)> = match cel {
                    // a template's K8sNativeValidation CEL, where it is the engine used
                    Some((c, cel)) => match cel.violations(json, &c.parameters_json) {
                        Ok(messages) => messages.into_iter().map(|m| (m, None)).collect(),
                        Err(e) => {
                            report_error(sink, index, rule, format!("CEL: {e}"));
                            continue;
                        }
                    },
                    None => {
                        let batched = batch
                            .as_mut()
                            .and_then(|b| b.get_mut(rule))
                            .map(|v| std::mem::replace(v, regorus::Value::Undefined));
                        let Some(results) = batched.or_else(|| eval_or_report(&mut engine, &path, index, rule, sink))
                        else {
                            continue;
                        };
                        results_of(&results).into_iter().map(message_of).collect()
                    }
                };
                let excepted = match &excepted {
                    // a mandatory rule takes no exception (DESIGN §4), not even the package's own
                    Ok(names) => names
                        .iter()
                        .any(|n| n == short)
                        .filter_mandatory(policy.rules[rule].enforcement)
                        .then(|| exception_reason(&program.package, short)),
                    Err(e) => {
                        report_error(sink, index, rule, format!("Rego `exception`: {}", one_line(&e.to_string())));
                        None
                    }
                };
                let unlocated: Vec<&str> =
                    found.iter().filter(|(_, loc)| loc.is_none()).map(|(m, _)| m.as_str()).collect();
                let mut probed: std::collections::HashMap<String, Vec<Segment>> = if unlocated.is_empty() {
                    Default::default()
                } else {
                    // a constraint's findings are about the reviewed object
                    let review = program.gatekeeper.is_some() && json["kind"] == "AdmissionReview";
                    let (subject, base) = if review {
                        (gatekeeper::reviewed_object(json), reviewed_base(json))
                    } else {
                        (json, Vec::new())
                    };
                    // the whole document with the altered object in its place
                    let whole = |d: &serde_json::Value| {
                        let mut whole = json.clone();
                        set_at(&mut whole, &base, d.clone());
                        whole
                    };
                    let mut again = |d: &serde_json::Value| match (&program.gatekeeper, cel) {
                        (_, Some((c, cel))) => cel.violations(&whole(d), &c.parameters_json).ok(),
                        (Some(c), None) => probe::rego_results(&mut engine, &path, c.input(&whole(d))),
                        (None, None) => probe::rego_results(&mut engine, &path, regorus::Value::from(d.clone())),
                    };
                    let places = probe::locate(subject, &unlocated, &mut again)
                        .into_iter()
                        .map(|(m, p)| (m, base.iter().cloned().chain(p).collect()))
                        .collect();
                    // the probes altered the input: the next rules read the document
                    engine.set_input(value.clone());
                    places
                };
                for (message, loc) in found {
                    let item = match &loc {
                        Some(l) => location(l, doc.node),
                        None => {
                            let probed = probed.remove(&message);
                            // a missing field: where its deepest existing part is
                            let base = match &program.gatekeeper {
                                Some(_) if json["kind"] == "AdmissionReview" => reviewed_base(json),
                                _ => Vec::new(),
                            };
                            let missing = query
                                .missing
                                .iter()
                                .map(|m| base.iter().chain(m).cloned().collect::<Vec<_>>())
                                .max_by_key(|m| doc.node.span_of(m).1)
                                .filter(|m| doc.node.span_of(m).1 > base.len());
                            // the deeper of the two places
                            match (probed, missing) {
                                (Some(p), Some(m)) if doc.node.span_of(&m).1 >= p.len() => Some(m),
                                (None, Some(m)) => Some(m),
                                (p, _) => p,
                            }
                        }
                    };
                    sink(Event::Finding(RawFinding {
                        policy: index,
                        rule,
                        item: item.as_deref(),
                        outcome: Outcome::Violation(&Message(&message, &policy.rules[rule].title)),
                        excepted: excepted.clone(),
                        elsewhere: None,
                    }));
                }
            }
            self.give_back(&program.shared, engine);
        }
    }
}

/// The values of every rule of `program` (in the order of its rules, then
/// its `exception` rule when it has one; `Undefined` where a rule is), from
/// one query on the engine's input: one evaluation shares the helper rules
/// and functions that several rules call, where one `eval_rule` per rule
/// computes them again each time (regorus clears its rule cache per query).
/// `None` when the query fails or there is a single rule: the caller then
/// asks rule by rule, which puts an error on the rule that raised it.
fn eval_batch(engine: &mut regorus::Engine, program: &RegoProgram) -> Option<Vec<regorus::Value>> {
    let exception = program.has_exceptions.then_some("exception");
    let names: Vec<&str> = program.rules.iter().map(|r| r.name.as_str()).chain(exception).collect();
    if names.len() < 2 {
        return None;
    }
    // `[x | x := data.p.r]`: `[]` where the rule is undefined, not a failed query
    let parts: Vec<String> = names.iter().map(|n| format!("[__bylaw | __bylaw := {}.{n}]", program.package)).collect();
    // a line each: regorus refuses lines over 1,024 columns
    let results = engine.eval_query(format!("[\n{}\n]", parts.join(",\n")), false).ok()?;
    let value = results.result.into_iter().next()?.expressions.into_iter().next()?.value;
    let regorus::Value::Array(rows) = value else { return None };
    if rows.len() != names.len() {
        return None;
    }
    let values = rows.iter().map(|row| match row {
        regorus::Value::Array(a) => a.first().cloned().unwrap_or(regorus::Value::Undefined),
        _ => regorus::Value::Undefined,
    });
    Some(values.collect())
}

/// The value of rule `path`, or `None` after reporting its error as the
/// rule's evaluation error.
fn eval_or_report(
    engine: &mut regorus::Engine,
    path: &str,
    policy: usize,
    rule: usize,
    sink: &mut dyn FnMut(Event<'_>),
) -> Option<regorus::Value> {
    match engine.eval_rule(path.to_owned()) {
        Ok(v) => Some(v),
        Err(e) => {
            report_error(sink, policy, rule, format!("Rego: {}", one_line(&e.to_string())));
            None
        }
    }
}

/// Reports that `rule` of `policy` could not be evaluated (`message` says why).
fn report_error(sink: &mut dyn FnMut(Event<'_>), policy: usize, rule: usize, message: String) {
    let outcome = Outcome::Error(message);
    sink(Event::Finding(RawFinding { policy, rule, item: None, outcome, excepted: None, elsewhere: None }));
}

/// What a rule's value holds: the members of a set (`deny contains msg`),
/// the items of an array, `true` for a rule that is only true (`deny if
/// …`), nothing when undefined or false.
fn results_of(v: &regorus::Value) -> Vec<&regorus::Value> {
    match v {
        regorus::Value::Set(s) => s.iter().collect(),
        regorus::Value::Array(a) => a.iter().collect(),
        regorus::Value::Undefined | regorus::Value::Null | regorus::Value::Bool(false) => Vec::new(),
        other => vec![other],
    }
}

/// The message of a result and its `_loc`, if any: a string as it is; an
/// object's `msg` (conftest's structured results); anything else as JSON.
fn message_of(v: &regorus::Value) -> (String, Option<regorus::Value>) {
    let text = |v: &regorus::Value| match v {
        regorus::Value::String(s) => s.to_string(),
        other => other.to_json_str().unwrap_or_default(),
    };
    match v {
        regorus::Value::Object(o) => {
            let msg = o.get(&regorus::Value::from("msg")).map(text).unwrap_or_else(|| text(v));
            (msg, o.get(&regorus::Value::from("_loc")).cloned())
        }
        regorus::Value::Bool(true) => (String::new(), None),
        other => (text(other), None),
    }
}

/// The rule names an `exception` rule's value lists (a set of arrays of
/// names, conftest's `exception contains rules`).
fn exception_names(v: &regorus::Value) -> Vec<String> {
    let mut names = Vec::new();
    for r in results_of(v) {
        match r {
            regorus::Value::String(s) => names.push(s.to_string()),
            other => names.extend(results_of(other).into_iter().filter_map(|n| match n {
                regorus::Value::String(s) => Some(s.to_string()),
                _ => None,
            })),
        }
    }
    names
}

fn exception_reason(package: &str, rule: &str) -> String {
    let shown = if rule.is_empty() { "its unsuffixed rules".to_owned() } else { format!("`{rule}`") };
    format!("an `exception` rule of package {} excepts {shown}", package.trim_start_matches("data."))
}

fn one_line(s: &str) -> String {
    // regorus errors carry a source snippet: keep the location and the message
    let lines: Vec<&str> = s.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
    let at = lines.iter().find_map(|l| l.strip_prefix("--> "));
    let message = lines.iter().rev().find(|l| l.starts_with("error:")).map(|l| l.trim_start_matches("error:").trim());
    match (at, message) {
        (Some(at), Some(m)) => format!("{m} (at {at})"),
        _ => lines.join(" "),
    }
}

/// Where a result's `_loc` points in the document, as segments from its
/// root: a JSON pointer (`/spec/containers/0`), a dotted path from the
/// document (`spec.containers[0].securityContext`, an `input.` prefix
/// allowed), an array of keys and indexes (`["spec", "containers", 0]`), or
/// an object with a `line` (and `column`): the first node written there.
/// `None` (the document) when it names nothing.
pub fn location(loc: &regorus::Value, doc: &Node) -> Option<Vec<Segment>> {
    let segments = match loc {
        regorus::Value::String(s) => {
            let s = s.trim();
            if let Some(pointer) = s.strip_prefix('/') {
                pointer
                    .split('/')
                    .map(|p| p.replace("~1", "/").replace("~0", "~"))
                    .map(|p| key_or_index(&p, None))
                    .collect()
            } else {
                let s = s.strip_prefix("input.").or_else(|| s.strip_prefix("$.")).unwrap_or(s);
                crate::compile::parse_dotted(s).ok()?
            }
        }
        regorus::Value::Array(a) => a
            .iter()
            .map(|v| match v {
                regorus::Value::Number(_) => v.as_u64().ok().map(|i| Segment::Index(i as usize)),
                regorus::Value::String(s) => Some(Segment::Key(s.as_ref().into())),
                _ => None,
            })
            .collect::<Option<Vec<_>>>()?,
        regorus::Value::Object(o) => {
            let line = o.get(&regorus::Value::from("line"))?.as_u64().ok()? as u32;
            return at_line(doc, line, &mut Vec::new());
        }
        _ => return None,
    };
    // a key that reads as a number indexes a sequence
    let mut fixed = Vec::with_capacity(segments.len());
    let mut node = Some(doc);
    for seg in segments {
        let seg = match (&seg, node.map(|n| &n.value)) {
            (Segment::Key(k), Some(NodeValue::Seq(_))) => key_or_index(k, Some(true)),
            _ => seg,
        };
        node = node.and_then(|n| n.at(std::slice::from_ref(&seg)));
        fixed.push(seg);
    }
    Some(fixed)
}

fn key_or_index(s: &str, seq: Option<bool>) -> Segment {
    match s.parse::<usize>() {
        Ok(i) if seq != Some(false) => Segment::Index(i),
        _ => Segment::Key(s.into()),
    }
}

/// The segments of the first node (in document order) written on `line`.
fn at_line(node: &Node, line: u32, path: &mut Vec<Segment>) -> Option<Vec<Segment>> {
    if node.span.start_line == line {
        return Some(path.clone());
    }
    if node.span.start_line > line || node.span.end_line < line {
        return None;
    }
    match &node.value {
        NodeValue::Map(entries) => {
            for e in entries {
                path.push(Segment::Key(e.key.clone()));
                if e.key_span.start_line == line {
                    return Some(path.clone());
                }
                if let Some(found) = at_line(&e.value, line, path) {
                    return Some(found);
                }
                path.pop();
            }
        }
        NodeValue::Seq(items) => {
            for (i, item) in items.iter().enumerate() {
                path.push(Segment::Index(i));
                if let Some(found) = at_line(item, line, path) {
                    return Some(found);
                }
                path.pop();
            }
        }
        _ => {}
    }
    None
}

/// Where an AdmissionReview's object is in the document.
fn reviewed_base(doc: &serde_json::Value) -> Vec<Segment> {
    let key = if doc["request"]["object"].is_object() { "object" } else { "oldObject" };
    vec![Segment::Key("request".into()), Segment::Key(key.into())]
}

/// Replaces the value at `path` of `v` (nothing when the path is not there).
fn set_at(v: &mut serde_json::Value, path: &[Segment], new: serde_json::Value) {
    if let Some(node) = probe::get_mut(v, path) {
        *node = new;
    }
}
