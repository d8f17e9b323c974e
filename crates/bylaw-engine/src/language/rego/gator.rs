//! `gator verify` suites (`kind: Suite`, `apiVersion:
//! test.gatekeeper.sh/v1alpha1`, <https://open-policy-agent.github.io/gatekeeper/website/docs/gator>)
//! run unchanged by `bylaw test`: each test names a template and a
//! constraint, each case an object, optional inventory objects (read by
//! the template as `data.inventory`) and assertions `violations: yes | no |
//! N` with an optional `message` regular expression. Paths are relative to
//! the suite file.

use super::gatekeeper::{self, GatekeeperDocument};
use super::RegoProgram;
use crate::compile::CompileOptions;
use crate::diagnostic::{Code, Diagnostic};
use crate::node::Node;
use crate::testing::CaseResult;
use serde_json::Value;
use std::path::Path;

/// Whether `text` is a gator Suite (by its `kind` and `apiVersion` lines).
pub fn is_suite(text: &str) -> bool {
    text.contains("test.gatekeeper.sh/") && text.lines().any(|l| l.trim() == "kind: Suite")
}

/// A parsed YAML file's first document, or a diagnostic.
fn read(path: &Path, shown: &str) -> Result<(Vec<Node>, String), Diagnostic> {
    let text = crate::paths::read_text(path)
        .map_err(|e| Diagnostic::error(Code::Io, shown, None, format!("cannot read {}: {e}", path.display())))?;
    let parsed = crate::input::yaml::parse(&text);
    if let Some(e) = parsed.errors.first() {
        return Err(Diagnostic::invalid_yaml(shown, e));
    }
    Ok((parsed.documents, text))
}

/// Runs the suite in file `path` (shown as `shown`): a result per case,
/// or the problems that stop the suite (it does not parse, a file it names
/// is missing, the template or the constraint does not compile).
pub fn run(
    path: &Path,
    shown: &str,
    prefer_cel: bool,
    options: &CompileOptions,
) -> Result<Vec<CaseResult>, Vec<Diagnostic>> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let (docs, _) = read(path, shown).map_err(|d| vec![d])?;
    let Some(suite) = docs.first() else {
        return Err(vec![Diagnostic::error(Code::Schema, shown, None, "an empty suite")]);
    };
    let mut results = Vec::new();
    let tests = match suite.get("tests").map(|t| &t.value) {
        Some(crate::node::NodeValue::Seq(t)) => t.as_slice(),
        _ => &[],
    };
    for test in tests {
        let test_name = test.str_at(&["name"]).unwrap_or("test").to_owned();
        let located = |key: &str, message: String| {
            Diagnostic::error(Code::Schema, shown, Some(test.get(key).map_or(test.span, |n| n.span)), message)
        };
        let (Some(template_path), Some(constraint_path)) = (test.str_at(&["template"]), test.str_at(&["constraint"]))
        else {
            return Err(vec![located("name", format!("test `{test_name}` needs `template` and `constraint`"))]);
        };
        let load = |rel: &str, key: &str| -> Result<GatekeeperDocument, Vec<Diagnostic>> {
            let p = dir.join(rel);
            // shown as the suite is, with `rel` from its directory
            let file = crate::paths::normalize(&Path::new(shown).parent().unwrap_or(Path::new("")).join(rel))
                .to_string_lossy()
                .replace('\\', "/");
            let (docs, _) = read(&p, &file).map_err(|d| {
                vec![d, located(key, format!("test `{test_name}` cannot run: its {key} {rel} does not load"))]
            })?;
            let root = docs.into_iter().next().ok_or_else(|| vec![located(key, format!("{rel} is empty"))])?;
            Ok(GatekeeperDocument { file, root })
        };
        let template_doc = load(template_path, "template")?;
        let constraint_doc = load(constraint_path, "constraint")?;
        let mut diagnostics = Vec::new();
        let Some(template) = gatekeeper::template(&template_doc, false, &mut diagnostics) else {
            return Err(diagnostics);
        };
        let policy = gatekeeper::constraint(&constraint_doc, &template, prefer_cel, options, &mut diagnostics);
        let Some(policy) = policy.filter(|_| diagnostics.is_empty()) else {
            return Err(diagnostics);
        };
        let Some(program) = policy.program.downcast_ref::<RegoProgram>() else { continue };
        let cases = match test.get("cases").map(|c| &c.value) {
            Some(crate::node::NodeValue::Seq(c)) => c.as_slice(),
            _ => &[],
        };
        for case in cases {
            let name = case.str_at(&["name"]).unwrap_or("case").to_owned();
            let mut result = CaseResult {
                file: shown.to_owned(),
                suite: format!("{}/{test_name}", suite.str_at(&["metadata", "name"]).unwrap_or("suite")),
                name: name.clone(),
                line: case.span.start_line,
                failures: Vec::new(),
                findings: Vec::new(),
                passed_rules: Vec::new(),
            };
            if matches!(case.get("skip").map(|s| &s.value), Some(crate::node::NodeValue::Bool(true))) {
                result.name.push_str(" (skipped, as the suite says)");
                results.push(result);
                continue;
            }
            match run_case(dir, case, program) {
                Ok((messages, failures)) => {
                    result.failures = failures;
                    result.passed_rules =
                        if messages.is_empty() { vec![policy.rules[0].id.clone()] } else { Vec::new() };
                }
                Err(e) => result.failures.push(e),
            }
            results.push(result);
        }
    }
    Ok(results)
}

/// One case: the violations' messages and the failed assertions.
fn run_case(dir: &Path, case: &Node, program: &RegoProgram) -> Result<(Vec<String>, Vec<String>), String> {
    let object_path = case.str_at(&["object"]).ok_or("the case has no `object`")?;
    let object = first_json(&dir.join(object_path))?;
    let inventory = match case.get("inventory").map(|i| i.to_json()) {
        Some(Value::Array(files)) => {
            let mut objects = Vec::new();
            for f in files.iter().filter_map(Value::as_str) {
                objects.extend(all_json(&dir.join(f))?);
            }
            objects
        }
        _ => Vec::new(),
    };
    let messages = violations(program, &object, &inventory)?;
    let mut failures = Vec::new();
    let assertions = case.get("assertions").map(Node::to_json).unwrap_or(Value::Null);
    for a in assertions.as_array().into_iter().flatten() {
        let matching: Vec<&String> = match a["message"].as_str() {
            Some(re) => {
                let re = regex::Regex::new(re).map_err(|e| format!("invalid `message` regular expression: {e}"))?;
                messages.iter().filter(|m| re.is_match(m)).collect()
            }
            None => messages.iter().collect(),
        };
        let (ok, expected) = match &a["violations"] {
            Value::Bool(true) => (!matching.is_empty(), "at least one violation".to_owned()),
            Value::Bool(false) => (matching.is_empty(), "no violation".to_owned()),
            Value::String(s) if s.trim() == "yes" => (!matching.is_empty(), "at least one violation".to_owned()),
            Value::String(s) if s.trim() == "no" => (matching.is_empty(), "no violation".to_owned()),
            Value::Number(n) => {
                let n = n.as_u64().unwrap_or(0) as usize;
                (matching.len() == n, format!("{n} violation{}", if n == 1 { "" } else { "s" }))
            }
            // gator: no `violations` means at least one
            Value::Null => (!matching.is_empty(), "at least one violation".to_owned()),
            other => return Err(format!("`violations` must be yes, no or a number, found {other}")),
        };
        if !ok {
            let with = a["message"].as_str().map(|m| format!(" matching /{m}/")).unwrap_or_default();
            let got = if messages.is_empty() {
                "none".to_owned()
            } else {
                messages.iter().map(|m| format!("\n      {m}")).collect::<String>()
            };
            failures.push(format!("expected {expected}{with}, got {} matching of: {got}", matching.len()));
        }
    }
    Ok((messages, failures))
}

fn first_json(path: &Path) -> Result<Value, String> {
    all_json(path)?.into_iter().next().ok_or_else(|| format!("{} holds no object", path.display()))
}

fn all_json(path: &Path) -> Result<Vec<Value>, String> {
    let text = crate::paths::read_text(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let parsed = crate::input::parse_path(&path.to_string_lossy(), &text);
    if let Some(e) = parsed.errors.first() {
        return Err(format!("{}:{}:{}: {}", path.display(), e.line, e.col, e.message));
    }
    Ok(parsed.documents.iter().map(Node::to_json).collect())
}

/// `data.inventory` of objects, as Gatekeeper syncs them:
/// `cluster[apiVersion][kind][name]` and
/// `namespace[ns][apiVersion][kind][name]`.
pub fn inventory(objects: &[Value]) -> Value {
    let mut inv = serde_json::json!({"cluster": {}, "namespace": {}});
    for o in objects {
        let (Some(api), Some(kind), Some(name)) =
            (o["apiVersion"].as_str(), o["kind"].as_str(), o["metadata"]["name"].as_str())
        else {
            continue;
        };
        let slot = match o["metadata"]["namespace"].as_str() {
            Some(ns) => &mut inv["namespace"][ns],
            None => &mut inv["cluster"],
        };
        if !slot.is_object() {
            *slot = serde_json::json!({});
        }
        let api_slot = &mut slot[api];
        if !api_slot.is_object() {
            *api_slot = serde_json::json!({});
        }
        let kind_slot = &mut api_slot[kind];
        if !kind_slot.is_object() {
            *kind_slot = serde_json::json!({});
        }
        kind_slot[name] = o.clone();
    }
    inv
}

/// The messages of the constraint's violations on `object`, with
/// `inventory` as `data.inventory`; none when its match excludes it.
pub fn violations(program: &RegoProgram, object: &Value, inventory_objects: &[Value]) -> Result<Vec<String>, String> {
    let Some(constraint) = &program.gatekeeper else { return Ok(Vec::new()) };
    let namespace_labels = |ns: &str| {
        inventory_objects
            .iter()
            .find(|o| o["kind"] == "Namespace" && o["metadata"]["name"] == ns)
            .map(|o| o["metadata"]["labels"].clone())
    };
    if !constraint.matcher.matches(object, &namespace_labels) {
        return Ok(Vec::new());
    }
    if let Some(cel) = &constraint.cel {
        return cel
            .violations(object, &constraint.parameters_json)
            .map_err(|e| format!("the template's CEL failed: {e}"));
    }
    let mut engine = program.shared.engine.lock().map_err(|_| "the engine is unusable")?.clone();
    let mut data = serde_json::Map::new();
    data.insert("inventory".into(), inventory(inventory_objects));
    engine.add_data(regorus::Value::from(Value::Object(data))).map_err(|e| e.to_string())?;
    engine.set_input(constraint.input(object));
    let v = engine
        .eval_rule(format!("{}.violation", program.package))
        .map_err(|e| format!("the template's Rego failed: {}", super::one_line(&e.to_string())))?;
    Ok(super::results_of(&v).into_iter().map(|r| super::message_of(r).0).collect())
}
