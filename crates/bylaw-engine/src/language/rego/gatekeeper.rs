//! OPA Gatekeeper's ConstraintTemplates and Constraints
//! (<https://open-policy-agent.github.io/gatekeeper/website/docs/howto>) as
//! Rego policies: a Constraint (`apiVersion: constraints.gatekeeper.sh/…`)
//! is a policy with one rule, evaluated by the Rego of the template
//! (`templates.gatekeeper.sh/v1` or `v1beta1`) that defines its kind, with
//! the template's `libs`, on every document its `spec.match` selects.
//!
//! - **Input**: `input.review` is an admission review of the document
//!   (`object`, `kind`, `name`, `namespace`, `operation: CREATE`; a
//!   `kind: AdmissionReview` document gives its own `request`), and
//!   `input.parameters` the Constraint's `spec.parameters`, validated
//!   against the template's `openAPIV3Schema` with located errors.
//! - **Match** ([`Match`]): `kinds` (API group and kind), `namespaces` and
//!   `excludedNamespaces` (a trailing `*` is a prefix; a namespaced object
//!   that names no namespace is in `default`), `labelSelector`
//!   and `namespaceSelector` (`matchLabels`, `matchExpressions`), `scope`
//!   (`Cluster`, `Namespaced`, `*`) and `name`.
//! - **Enforcement**: `enforcementAction` `deny` blocks, `warn` advises,
//!   `dryrun` audits; `scoped` takes the `scopedEnforcementActions` entry
//!   whose enforcement points include `gator.gatekeeper.sh` (or `*`).
//! - **Findings**: each `violation` result's `msg`, located like any Rego
//!   finding ([`super::probe`]) on the reviewed object.

use super::load::{add_module, diagnostic, negated_input_paths};
use super::{RegoProgram, RuleQuery, Shared};
use crate::compile::{CompileOptions, CompiledPolicy, CompiledRule, Part};
use crate::diagnostic::{Code, Diagnostic};
use crate::language::Expression;
use crate::node::{Node, NodeValue, Segment, Span};
use crate::policy::{Lifecycle, PolicyType, Target};
use crate::report::{Enforcement, Severity};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// The enforcement point bylaw stands for in `scopedEnforcementActions`.
pub const ENFORCEMENT_POINT: &str = "gator.gatekeeper.sh";

/// A Gatekeeper document among the policies: a template or a constraint.
#[derive(Clone, Debug)]
pub struct GatekeeperDocument {
    /// Display path of its file.
    pub file: String,
    pub root: Node,
}

/// Whether `root` is a ConstraintTemplate.
pub fn is_template(root: &Node) -> bool {
    root.str_at(&["apiVersion"]).is_some_and(|v| v.starts_with("templates.gatekeeper.sh/"))
        && root.str_at(&["kind"]) == Some("ConstraintTemplate")
}

/// Whether `root` is a Constraint (of any template's kind).
pub fn is_constraint(root: &Node) -> bool {
    root.str_at(&["apiVersion"]).is_some_and(|v| v.starts_with("constraints.gatekeeper.sh/"))
}

/// A template, read.
pub struct Template<'a> {
    pub doc: &'a GatekeeperDocument,
    /// `spec.crd.spec.names.kind`: the kind of its constraints.
    pub kind: String,
    pub title: Option<String>,
    pub description: Option<String>,
    /// The parameters' schema (`openAPIV3Schema`).
    pub schema: Option<Value>,
    /// The Rego program, `data.PACKAGE` of its `violation` rule, and what
    /// its `not input.review.object…` paths say.
    pub engine: Result<Compiled, ()>,
    /// Its `K8sNativeValidation` CEL, where it has one that compiles.
    pub cel: Option<Arc<CelValidation>>,
}

/// A template's Rego, compiled once for all of its constraints.
pub struct Compiled {
    pub shared: Arc<Shared>,
    pub package: String,
    pub missing: Vec<Vec<Segment>>,
}

/// Reads a template: its kind, metadata, schema and Rego (`rego` and
/// `libs` of its `admission.k8s.gatekeeper.sh` target, or of its
/// `code` entry with `engine: Rego`), compiled with regorus.
pub fn template<'a>(doc: &'a GatekeeperDocument, v0: bool, diagnostics: &mut Vec<Diagnostic>) -> Option<Template<'a>> {
    let root = &doc.root;
    let Some(kind) = root.str_at(&["spec", "crd", "spec", "names", "kind"]) else {
        diagnostics.push(
            Diagnostic::error(
                Code::Rego,
                &doc.file,
                Some(root.span),
                "a ConstraintTemplate without `spec.crd.spec.names.kind`",
            )
            .with_hint("the kind names the template's constraints: `kind: K8sRequiredLabels`"),
        );
        return None;
    };
    let annotation = |k: &str| {
        root.get("metadata")
            .and_then(|m| m.get("annotations"))
            .and_then(|a| a.get(k))
            .and_then(Node::as_str)
            .map(str::to_owned)
    };
    let schema = root
        .get("spec")
        .and_then(|s| s.get("crd"))
        .and_then(|c| c.get("spec"))
        .and_then(|s| s.get("validation"))
        .and_then(|v| v.get("openAPIV3Schema"))
        .map(Node::to_json);
    // the Rego of the admission target
    let targets = root.get("spec").and_then(|s| s.get("targets"));
    let target = match targets.map(|t| &t.value) {
        Some(NodeValue::Seq(items)) => {
            items.iter().find(|t| t.str_at(&["target"]) == Some("admission.k8s.gatekeeper.sh"))
        }
        _ => None,
    };
    let source = target.and_then(|t| {
        if t.get("rego").is_some() {
            return Some(t);
        }
        match t.get("code").map(|c| &c.value) {
            Some(NodeValue::Seq(code)) => {
                code.iter().find(|c| c.str_at(&["engine"]) == Some("Rego")).and_then(|c| c.get("source"))
            }
            _ => None,
        }
    });
    let cel_source = target.and_then(|t| match t.get("code").map(|c| &c.value) {
        Some(NodeValue::Seq(code)) => {
            code.iter().find(|c| c.str_at(&["engine"]) == Some("K8sNativeValidation")).and_then(|c| c.get("source"))
        }
        _ => None,
    });
    let cel = cel_source.and_then(|s| CelValidation::compile(doc, s, diagnostics)).map(Arc::new);
    let engine = match source.and_then(|s| s.get("rego").map(|r| (s, r))) {
        // CEL only: an empty Rego program beside it
        None if cel.is_some() => Ok(Compiled {
            shared: Arc::new(Shared {
                engine: Mutex::new(super::new_engine()),
                id: super::load::next_id(),
                inventory: false,
            }),
            package: String::new(),
            missing: Vec::new(),
        }),
        None => {
            diagnostics.push(
                Diagnostic::error(
                    Code::Rego,
                    &doc.file,
                    Some(targets.map_or(root.span, |t| t.span)),
                    format!("template {kind} has no Rego for target admission.k8s.gatekeeper.sh"),
                )
                .with_hint(
                    "bylaw evaluates a template's `rego` (with its `libs`), or its `code` entry with `engine: Rego`",
                ),
            );
            Err(())
        }
        Some((source, rego)) => {
            let libs: Vec<&Node> = match source.get("libs").map(|l| &l.value) {
                Some(NodeValue::Seq(items)) => items.iter().collect(),
                _ => Vec::new(),
            };
            compile_rego(doc, rego, &libs, v0, diagnostics)
        }
    };
    Some(Template {
        doc,
        kind: kind.to_owned(),
        title: annotation("metadata.gatekeeper.sh/title"),
        description: annotation("description"),
        schema,
        engine,
        cel,
    })
}

fn compile_rego(
    doc: &GatekeeperDocument,
    rego: &Node,
    libs: &[&Node],
    v0: bool,
    diagnostics: &mut Vec<Diagnostic>,
) -> Result<Compiled, ()> {
    let mut engine = super::new_engine();
    let mut package = None;
    let mut ok = true;
    for (i, node) in std::iter::once(rego).chain(libs.iter().copied()).enumerate() {
        let Some(text) = node.as_str() else { continue };
        let name = format!("{}#{}", doc.file, if i == 0 { "rego".to_owned() } else { format!("libs[{}]", i - 1) });
        match add_module(&mut engine, &name, text, v0) {
            Ok(p) => {
                if i == 0 {
                    package = Some(p);
                }
            }
            Err(e) => {
                diagnostics.push(in_yaml(diagnostic(&e, &doc.file, "the template is not evaluated"), node));
                ok = false;
            }
        }
    }
    let (Some(package), true) = (package, ok) else { return Err(()) };
    if let Err(e) = engine.eval_query("true".to_owned(), false) {
        diagnostics.push(in_yaml(diagnostic(&e.to_string(), &doc.file, "the template is not evaluated"), rego));
        return Err(());
    }
    let missing = rego
        .as_str()
        .map(negated_input_paths)
        .unwrap_or_default()
        .into_iter()
        .filter_map(|p| match p.as_slice() {
            [Segment::Key(r), Segment::Key(o), rest @ ..] if r == "review" && o == "object" => Some(rest.to_vec()),
            _ => None,
        })
        .collect();
    let inventory = std::iter::once(rego)
        .chain(libs.iter().copied())
        .any(|n| n.as_str().is_some_and(|t| t.contains("data.inventory")));
    let shared = Shared { engine: Mutex::new(engine), id: super::load::next_id(), inventory };
    Ok(Compiled { shared: Arc::new(shared), package, missing })
}

/// A diagnostic located in an embedded Rego string moved to the YAML file:
/// line `l` of a block scalar is `l` lines below its indicator.
fn in_yaml(mut d: Diagnostic, node: &Node) -> Diagnostic {
    if let Some(s) = d.span {
        let block = node.span.end_line > node.span.start_line;
        let line = node.span.start_line + s.start_line - u32::from(!block);
        d.span = Some(Span::point(line, s.start_col).to(Span::point(line, s.end_col)));
    } else {
        d.span = Some(node.span);
    }
    d
}

/// The Constraints of `docs` as policies, each with its template's Rego.
pub fn compile(
    docs: &[GatekeeperDocument],
    rego: &super::RegoOptions,
    options: &CompileOptions,
) -> (Vec<CompiledPolicy>, Vec<Diagnostic>) {
    let v0 = rego.v0;
    let mut diagnostics = Vec::new();
    let mut templates: HashMap<String, Template<'_>> = HashMap::new();
    for d in docs.iter().filter(|d| is_template(&d.root)) {
        if let Some(t) = template(d, v0, &mut diagnostics) {
            templates.insert(t.kind.clone(), t);
        }
    }
    let mut policies = Vec::new();
    for d in docs.iter().filter(|d| is_constraint(&d.root)) {
        let kind = d.root.str_at(&["kind"]).unwrap_or_default();
        let Some(t) = templates.get(kind) else {
            let span = d.root.get("kind").map_or(d.root.span, |k| k.span);
            diagnostics.push(
                Diagnostic::error(
                    Code::Rego,
                    &d.file,
                    Some(span),
                    format!("no ConstraintTemplate defines kind `{kind}`"),
                )
                .with_hint("pass the template too (`-p template.yaml`), or a directory holding it"),
            );
            continue;
        };
        if let Some(p) = constraint(d, t, rego.gatekeeper_cel, options, &mut diagnostics) {
            policies.push(p);
        }
    }
    (policies, diagnostics)
}

/// A Constraint as a policy of one rule.
pub fn constraint(
    d: &GatekeeperDocument,
    t: &Template<'_>,
    prefer_cel: bool,
    options: &CompileOptions,
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<CompiledPolicy> {
    let name = d.root.str_at(&["metadata", "name"]).unwrap_or("unnamed").to_owned();
    let parameters = d.root.get("spec").and_then(|s| s.get("parameters"));
    let mut ok = true;
    if let (Some(schema), Some(params)) = (&t.schema, parameters) {
        ok &= validate_parameters(d, schema, params, diagnostics);
    }
    let matcher = match d.root.get("spec").and_then(|s| s.get("match")) {
        Some(m) => match Match::from_node(m) {
            Ok(m) => m,
            Err((span, message)) => {
                diagnostics.push(Diagnostic::error(Code::Rego, &d.file, Some(span), message));
                return None;
            }
        },
        None => Match::default(),
    };
    let (level, note) = enforcement(&d.root);
    let Ok(compiled) = &t.engine else { return None };
    if !ok {
        return None;
    }
    let span = d.root.get("metadata").and_then(|m| m.get("name")).map_or(d.root.span, |n| n.span);
    let mut notes = Vec::new();
    notes.extend(note);
    let resolved = crate::enforcement::resolve_level(level, options.today);
    notes.extend(resolved.notes);
    let parameters_json = parameters.map(Node::to_json).unwrap_or_else(|| serde_json::json!({}));
    // the CEL engine where asked for (or where there is no Rego)
    let cel_engine = t.cel.clone().filter(|_| prefer_cel || compiled.package.is_empty());
    let rule = CompiledRule {
        id: name.clone(),
        title: t.title.clone().unwrap_or_else(|| t.kind.clone()),
        description: t.description.clone(),
        severity: Severity::Medium,
        remediation: None,
        controls: Vec::new(),
        enforcement: resolved.level,
        notes,
        each: None,
        condition: 0,
        at: None,
        message: vec![Part::Expr { source: "msg".to_owned(), expression: Expression { index: 0, field: None } }],
        span,
    };
    Some(CompiledPolicy {
        name,
        version: None,
        kind: PolicyType::Security,
        lifecycle: Lifecycle::Enforced,
        description: t.description.clone(),
        file: d.file.clone(),
        target: Target::Documents,
        files: None,
        kinds: Vec::new(),
        types: Vec::new(),
        language: super::NAME,
        program: Box::new(RegoProgram {
            shared: compiled.shared.clone(),
            package: compiled.package.clone(),
            rules: vec![RuleQuery {
                name: "violation".into(),
                short: String::new(),
                missing: compiled.missing.clone(),
            }],
            has_exceptions: false,
            combine: false,
            gatekeeper: Some(Constraint {
                parameters: regorus::Value::from(parameters_json.clone()),
                parameters_json,
                matcher,
                cel: cel_engine,
            }),
        }),
        rules: vec![rule],
        needs_json: true,
        reads_every_file: false,
        owners: Vec::new(),
        exception_rules: Default::default(),
    })
}

/// What a constraint adds to its template's program.
pub struct Constraint {
    /// `input.parameters`.
    pub parameters: regorus::Value,
    /// The same as JSON (`variables.params` of CEL).
    pub parameters_json: Value,
    pub matcher: Match,
    /// The template's CEL, when it is the engine used.
    pub cel: Option<Arc<CelValidation>>,
}

/// A template's `K8sNativeValidation` source, compiled with bylaw's CEL
/// environment: `variables` (each may read the ones before it as
/// `variables.NAME`; `variables.params` and `variables.anyObject` are
/// Gatekeeper's) and `validations` (each fails the object when false,
/// with its `messageExpression`, else its `message`).
pub struct CelValidation {
    variables: Vec<(String, cel::Program, String)>,
    validations: Vec<CelCheck>,
}

struct CelCheck {
    expression: cel::Program,
    source: String,
    message: Option<String>,
    message_expression: Option<cel::Program>,
}

fn cel_env() -> &'static Arc<cel::Env> {
    static ENV: std::sync::OnceLock<Arc<cel::Env>> = std::sync::OnceLock::new();
    ENV.get_or_init(|| Arc::new(crate::language::cel::cel_env()))
}

impl CelValidation {
    fn compile(doc: &GatekeeperDocument, source: &Node, diagnostics: &mut Vec<Diagnostic>) -> Option<CelValidation> {
        let env = cel_env();
        let mut ok = true;
        let mut compile = |node: Option<&Node>| -> Option<(cel::Program, String)> {
            let node = node?;
            let text = node.as_str()?.to_owned();
            match env.compile(&text) {
                Ok(p) => Some((p, text)),
                Err(e) => {
                    diagnostics.push(
                        Diagnostic::error(Code::Cel, &doc.file, Some(node.span), format!("K8sNativeValidation: {e}"))
                            .with_hint("bylaw evaluates this CEL with its own environment (DESIGN §3)"),
                    );
                    ok = false;
                    None
                }
            }
        };
        let list = |key: &str| match source.get(key).map(|v| &v.value) {
            Some(NodeValue::Seq(items)) => items.iter().collect::<Vec<_>>(),
            _ => Vec::new(),
        };
        let mut variables = Vec::new();
        for v in list("variables") {
            let name = v.str_at(&["name"]).unwrap_or_default().to_owned();
            if let Some((p, text)) = compile(v.get("expression")) {
                variables.push((name, p, text));
            }
        }
        let mut validations = Vec::new();
        for v in list("validations") {
            let message_expression = compile(v.get("messageExpression")).map(|(p, _)| p);
            if let Some((expression, source)) = compile(v.get("expression")) {
                let message = v.str_at(&["message"]).map(str::to_owned);
                validations.push(CelCheck { expression, source, message, message_expression });
            }
        }
        ok.then_some(CelValidation { variables, validations })
    }

    /// The messages of the failed validations on document `doc` (its
    /// admission review, [`review`]) with `params`.
    pub fn violations(&self, doc: &Value, params: &Value) -> Result<Vec<String>, String> {
        use std::collections::HashMap;
        let review = review(doc);
        let object = review.get("object").cloned().unwrap_or(Value::Null);
        let old = review.get("oldObject").cloned().unwrap_or(Value::Null);
        let value = |v: &Value| cel::to_value(v).map_err(|e| e.to_string());
        let root = crate::language::cel::root_context(cel_env().clone());
        let mut scope = root.new_inner_scope();
        scope.add_variable_from_value("object", value(&object)?);
        scope.add_variable_from_value("oldObject", value(&old)?);
        scope.add_variable_from_value("request", value(&review)?);
        scope.add_variable_from_value("params", value(params)?);
        let mut vars: HashMap<String, cel::Value> = HashMap::new();
        vars.insert("params".into(), value(params)?);
        vars.insert("anyObject".into(), value(if object.is_null() { &old } else { &object })?);
        // Kubernetes evaluates variables lazily: one that fails matters only
        // where it is read (then the reading expression fails, naming it)
        let mut failed: Vec<String> = Vec::new();
        for (name, program, source) in &self.variables {
            let mut s = scope.new_inner_scope();
            s.add_variable_from_value("variables", cel::Value::from(vars.clone()));
            match program.execute(&s) {
                Ok(v) => {
                    vars.insert(name.clone(), v);
                }
                Err(e) => failed.push(format!("variable `{name}` (`{}`): {e}", source.trim())),
            }
        }
        let explain = |e: String| if failed.is_empty() { e } else { format!("{e} (after {})", failed.join("; ")) };
        let mut s = scope.new_inner_scope();
        s.add_variable_from_value("variables", cel::Value::from(vars));
        let mut out = Vec::new();
        for check in &self.validations {
            match check.expression.execute(&s) {
                Ok(cel::Value::Bool(true)) => {}
                Ok(cel::Value::Bool(false)) => {
                    let from_expression = check.message_expression.as_ref().and_then(|m| match m.execute(&s) {
                        Ok(cel::Value::String(t)) => Some(t.to_string()),
                        _ => None,
                    });
                    out.push(
                        from_expression
                            .or_else(|| check.message.clone())
                            .unwrap_or_else(|| format!("failed expression: {}", check.source.trim())),
                    );
                }
                Ok(other) => return Err(format!("`{}` must be a bool, got {other:?}", check.source.trim())),
                Err(e) => return Err(explain(format!("`{}`: {e}", check.source.trim()))),
            }
        }
        Ok(out)
    }
}

impl Constraint {
    /// The input of the template's Rego for document `doc`.
    pub fn input(&self, doc: &Value) -> regorus::Value {
        let review = review(doc);
        let mut input = serde_json::Map::new();
        input.insert("review".into(), review);
        let mut v = regorus::Value::from(Value::Object(input));
        if let Ok(o) = v.as_object_mut() {
            o.insert(regorus::Value::from("parameters"), self.parameters.clone());
        }
        v
    }
}

/// The admission review of a document: a `kind: AdmissionReview`'s
/// `request`, or a CREATE of the document.
pub fn review(doc: &Value) -> Value {
    if doc["kind"] == "AdmissionReview" {
        if let Some(r) = doc.get("request") {
            return r.clone();
        }
    }
    let api = doc["apiVersion"].as_str().unwrap_or("");
    let (group, version) = api.rsplit_once('/').unwrap_or(("", api));
    let mut review = serde_json::json!({
        "object": doc,
        "kind": { "group": group, "version": version, "kind": doc["kind"] },
        "operation": "CREATE",
        "userInfo": { "username": "bylaw" },
    });
    if let Some(name) = doc["metadata"]["name"].as_str() {
        review["name"] = Value::from(name);
    }
    if let Some(ns) = doc["metadata"]["namespace"].as_str() {
        review["namespace"] = Value::from(ns);
    }
    review
}

/// The object a review is about (the old one for a DELETE).
pub fn reviewed_object(doc: &Value) -> &Value {
    if doc["kind"] == "AdmissionReview" {
        let r = &doc["request"];
        if r["object"].is_object() {
            return &r["object"];
        }
        return &r["oldObject"];
    }
    doc
}

fn validate_parameters(
    d: &GatekeeperDocument,
    schema: &Value,
    params: &Node,
    diagnostics: &mut Vec<Diagnostic>,
) -> bool {
    let validator = match jsonschema::validator_for(schema) {
        Ok(v) => v,
        Err(e) => {
            diagnostics.push(Diagnostic::error(
                Code::Rego,
                &d.file,
                Some(params.span),
                format!("the template's openAPIV3Schema is not a valid schema: {e}"),
            ));
            return false;
        }
    };
    let json = params.to_json();
    let mut ok = true;
    for e in validator.iter_errors(&json) {
        ok = false;
        let pointer = e.instance_path().as_str().to_owned();
        let span = params.value_span_of_pointer(&pointer).0;
        let shown = if pointer.is_empty() { String::new() } else { pointer.replace('/', ".") };
        diagnostics.push(
            Diagnostic::error(Code::Params, &d.file, Some(span), format!("`spec.parameters{shown}`: {e}"))
                .with_hint("the template's `openAPIV3Schema` says what its parameters are"),
        );
    }
    ok
}

/// The level of `enforcementAction` (and `scopedEnforcementActions` for
/// the `gator.gatekeeper.sh` point), with a note when it is not `deny`.
fn enforcement(root: &Node) -> (Enforcement, Option<String>) {
    let spec = root.get("spec");
    let action = spec.and_then(|s| s.str_at(&["enforcementAction"])).unwrap_or("deny");
    let level = |a: &str| match a {
        "warn" => Some(Enforcement::Advisory),
        "dryrun" => Some(Enforcement::Audit),
        "deny" => Some(Enforcement::Blocking),
        _ => None,
    };
    if action == "scoped" {
        let scoped = spec.map(|s| s.to_json()).map(|s| s["scopedEnforcementActions"].clone()).unwrap_or_default();
        let ours = scoped.as_array().into_iter().flatten().filter(|e| {
            e["enforcementPoints"]
                .as_array()
                .is_some_and(|ps| ps.iter().any(|p| p["name"] == ENFORCEMENT_POINT || p["name"] == "*"))
        });
        let best = ours.filter_map(|e| e["action"].as_str().and_then(level)).max();
        return match best {
            Some(l) => (l, Some(format!("scopedEnforcementActions for {ENFORCEMENT_POINT}: {l}"))),
            None => (
                Enforcement::Audit,
                Some(format!("no scopedEnforcementActions entry for {ENFORCEMENT_POINT}: audit only")),
            ),
        };
    }
    match level(action) {
        Some(Enforcement::Blocking) => (Enforcement::Blocking, None),
        Some(l) => (l, Some(format!("enforcementAction: {action}"))),
        None => (
            Enforcement::Blocking,
            Some(format!("unknown enforcementAction `{action}` (deny, warn, dryrun or scoped): blocking")),
        ),
    }
}

/// A Constraint's `spec.match`.
#[derive(Default, Debug, Clone)]
pub struct Match {
    /// (API groups, kinds) pairs; empty matches every kind.
    kinds: Vec<(Vec<String>, Vec<String>)>,
    namespaces: Vec<String>,
    excluded_namespaces: Vec<String>,
    label_selector: Option<Selector>,
    namespace_selector: Option<Selector>,
    scope: Option<String>,
    name: Option<String>,
}

/// A Kubernetes label selector.
#[derive(Default, Debug, Clone)]
struct Selector {
    labels: Vec<(String, String)>,
    /// (key, operator, values)
    expressions: Vec<(String, String, Vec<String>)>,
}

impl Selector {
    fn from_json(v: &Value) -> Selector {
        let labels = v["matchLabels"]
            .as_object()
            .map(|m| m.iter().map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned())).collect())
            .unwrap_or_default();
        let expressions = v["matchExpressions"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|e| {
                let values = e["values"].as_array().into_iter().flatten().filter_map(|x| x.as_str().map(str::to_owned));
                (
                    e["key"].as_str().unwrap_or_default().to_owned(),
                    e["operator"].as_str().unwrap_or_default().to_owned(),
                    values.collect(),
                )
            })
            .collect();
        Selector { labels, expressions }
    }

    fn matches(&self, labels: &Value) -> bool {
        let get = |k: &str| labels.get(k).and_then(Value::as_str);
        self.labels.iter().all(|(k, v)| get(k) == Some(v.as_str()))
            && self.expressions.iter().all(|(k, op, values)| match op.as_str() {
                "In" => get(k).is_some_and(|v| values.iter().any(|x| x == v)),
                "NotIn" => get(k).is_none_or(|v| !values.iter().any(|x| x == v)),
                "Exists" => get(k).is_some(),
                "DoesNotExist" => get(k).is_none(),
                _ => false,
            })
    }
}

/// Gatekeeper's namespace and name globs: a trailing `*` matches a prefix.
fn glob(pattern: &str, value: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(prefix) => value.starts_with(prefix),
        None => match pattern.strip_prefix('*') {
            Some(suffix) => value.ends_with(suffix),
            None => pattern == value,
        },
    }
}

/// Kinds that are not namespaced, for `scope` and the namespace criteria.
const CLUSTER_KINDS: &[&str] = &[
    "Namespace",
    "Node",
    "PersistentVolume",
    "ClusterRole",
    "ClusterRoleBinding",
    "CustomResourceDefinition",
    "StorageClass",
    "PriorityClass",
    "ValidatingWebhookConfiguration",
    "MutatingWebhookConfiguration",
    "APIService",
    "CSIDriver",
    "IngressClass",
    "RuntimeClass",
    "PodSecurityPolicy",
];

impl Match {
    fn from_node(node: &Node) -> Result<Match, (Span, String)> {
        let v = node.to_json();
        let strings = |v: &Value| -> Vec<String> {
            v.as_array().into_iter().flatten().filter_map(|x| x.as_str().map(str::to_owned)).collect()
        };
        let kinds = v["kinds"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|k| (strings(&k["apiGroups"]), strings(&k["kinds"])))
            .collect();
        let scope = v["scope"].as_str().map(str::to_owned);
        if let Some(s) = &scope {
            if !["*", "Cluster", "Namespaced"].contains(&s.as_str()) {
                let span = node.get("scope").map_or(node.span, |n| n.span);
                return Err((span, format!("`match.scope` must be `*`, `Cluster` or `Namespaced`, found `{s}`")));
            }
        }
        Ok(Match {
            kinds,
            namespaces: strings(&v["namespaces"]),
            excluded_namespaces: strings(&v["excludedNamespaces"]),
            label_selector: v.get("labelSelector").map(Selector::from_json),
            namespace_selector: v.get("namespaceSelector").map(Selector::from_json),
            scope,
            name: v["name"].as_str().map(str::to_owned),
        })
    }

    /// Whether the constraint applies to document `doc` (JSON): its
    /// reviewed object's kind, namespace, labels, scope and name.
    /// `namespace_labels` gives the labels of a namespace by name, for
    /// `namespaceSelector` (from the checked files or the inventory).
    pub fn matches(&self, doc: &Value, namespace_labels: &dyn Fn(&str) -> Option<Value>) -> bool {
        let obj = reviewed_object(doc);
        // Gatekeeper reviews Kubernetes objects only (not a workflow file)
        if !obj["apiVersion"].is_string() || !obj["kind"].is_string() {
            return false;
        }
        let kind = obj["kind"].as_str().unwrap_or("");
        let api = obj["apiVersion"].as_str().unwrap_or("");
        let group = api.rsplit_once('/').map_or("", |(g, _)| g);
        if !self.kinds.is_empty()
            && !self.kinds.iter().any(|(groups, kinds)| {
                (groups.is_empty() || groups.iter().any(|g| g == "*" || g == group))
                    && (kinds.is_empty() || kinds.iter().any(|k| k == "*" || k == kind))
            })
        {
            return false;
        }
        let cluster = CLUSTER_KINDS.contains(&kind);
        // a namespaced object that names no namespace lands in `default`
        // (as `kubectl apply` puts it, and as gator reads it)
        let namespace = if kind == "Namespace" {
            obj["metadata"]["name"].as_str()
        } else if cluster {
            None
        } else {
            obj["metadata"]["namespace"].as_str().or_else(|| doc["request"]["namespace"].as_str()).or(Some("default"))
        };
        match self.scope.as_deref() {
            Some("Cluster") if !cluster => return false,
            Some("Namespaced") if cluster => return false,
            _ => {}
        }
        if !self.namespaces.is_empty() && !namespace.is_some_and(|ns| self.namespaces.iter().any(|p| glob(p, ns))) {
            return false;
        }
        if namespace.is_some_and(|ns| self.excluded_namespaces.iter().any(|p| glob(p, ns))) {
            return false;
        }
        if let Some(sel) = &self.label_selector {
            if !sel.matches(&obj["metadata"]["labels"]) {
                return false;
            }
        }
        if let Some(sel) = &self.namespace_selector {
            let labels = if kind == "Namespace" {
                Some(obj["metadata"]["labels"].clone())
            } else {
                namespace.and_then(namespace_labels)
            };
            if !cluster && !labels.is_some_and(|l| sel.matches(&l)) {
                return false;
            }
        }
        if let Some(n) = &self.name {
            if !obj["metadata"]["name"].as_str().is_some_and(|name| glob(n, name)) {
                return false;
            }
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matcher(yaml: &str) -> Match {
        let parsed = crate::input::yaml::parse(yaml);
        Match::from_node(&parsed.documents[0]).unwrap()
    }

    #[test]
    fn match_follows_gatekeeper() {
        let pod = serde_json::json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web-1", "namespace": "prod", "labels": {"app": "web"}}});
        let dep = serde_json::json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "api", "namespace": "kube-system"}});
        let none = |_: &str| None;
        let m = matcher("kinds: [{apiGroups: [\"\"], kinds: [Pod]}]\nexcludedNamespaces: [kube-*]\n");
        assert!(m.matches(&pod, &none));
        assert!(!m.matches(&dep, &none));
        let m = matcher("kinds: [{apiGroups: [apps], kinds: [\"*\"]}]\nnamespaces: [kube-system]\n");
        assert!(m.matches(&dep, &none) && !m.matches(&pod, &none));
        let m =
            matcher("labelSelector: {matchExpressions: [{key: app, operator: In, values: [web, api]}]}\nname: web-*\n");
        assert!(m.matches(&pod, &none) && !m.matches(&dep, &none));
        let m = matcher("namespaceSelector: {matchLabels: {tier: prod}}\n");
        let labels = |ns: &str| (ns == "prod").then(|| serde_json::json!({"tier": "prod"}));
        assert!(m.matches(&pod, &labels) && !m.matches(&dep, &labels));
        let m = matcher("scope: Cluster\n");
        assert!(!m.matches(&pod, &none));
        assert!(matcher("scope: Namespaced\n").matches(&pod, &none));
    }

    #[test]
    fn an_admission_review_is_its_own_request() {
        let doc = serde_json::json!({"kind": "AdmissionReview", "request": {"operation": "UPDATE", "object": {"kind": "Pod"}}});
        assert_eq!(review(&doc)["operation"], "UPDATE");
        assert_eq!(reviewed_object(&doc)["kind"], "Pod");
        let pod = serde_json::json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "a", "namespace": "n"}});
        let r = review(&pod);
        assert_eq!(
            (r["operation"].as_str(), r["kind"]["group"].as_str(), r["namespace"].as_str()),
            (Some("CREATE"), Some("apps"), Some("n"))
        );
    }
}
