//! Embedded JSON Schemas (policy language, project config) and the one
//! place that turns a JSON Schema error into a located, human diagnostic:
//! the instance path becomes a span through [`Node::span_of_pointer`], an
//! unknown key points at the key itself with a "did you mean", an enum or
//! pattern mismatch says what was expected.

use crate::diagnostic::{did_you_mean, Code, Diagnostic};
use crate::node::{parse_pointer, Node, NodeValue, Segment, Span};
use jsonschema::error::ValidationErrorKind;
use jsonschema::Validator;
use serde_json::Value;
use std::sync::OnceLock;

/// Which embedded schema to validate against.
#[derive(Clone, Copy, Debug)]
pub enum Schema {
    Policy = 0,
    Config = 1,
    Exceptions = 2,
    PolicyTest = 3,
}

/// JSON Schema of `.bylaw.yaml`.
pub const CONFIG_SCHEMA: &str = include_str!("../../../schemas/config.schema.json");
/// JSON Schema of `kind: ExceptionList` files.
pub const EXCEPTIONS_SCHEMA: &str = include_str!("../../../schemas/exceptions.schema.json");
/// JSON Schema of `kind: PolicyTest` files.
pub const POLICYTEST_SCHEMA: &str = include_str!("../../../schemas/policytest.schema.json");

impl Schema {
    pub fn text(self) -> &'static str {
        match self {
            Schema::Policy => crate::policy::POLICY_SCHEMA,
            Schema::Config => CONFIG_SCHEMA,
            Schema::Exceptions => EXCEPTIONS_SCHEMA,
            Schema::PolicyTest => POLICYTEST_SCHEMA,
        }
    }

    fn json(self) -> &'static Value {
        static CELLS: [OnceLock<Value>; 4] = [const { OnceLock::new() }; 4];
        // The schemas are part of the binary and covered by tests.
        CELLS[self as usize].get_or_init(|| serde_json::from_str(self.text()).expect("embedded schema is valid JSON"))
    }

    fn validator(self) -> &'static Validator {
        static CELLS: [OnceLock<Validator>; 4] = [const { OnceLock::new() }; 4];
        CELLS[self as usize].get_or_init(|| jsonschema::validator_for(self.json()).expect("embedded schema compiles"))
    }

    /// Validates a document, returning one diagnostic per problem, located
    /// in `file` through `root`'s spans.
    pub fn validate(self, instance: &Value, root: &Node, file: &str) -> Vec<Diagnostic> {
        let mut out = Vec::new();
        for e in self.validator().iter_errors(instance) {
            self.diagnose(e.instance_path().as_str(), e.kind(), instance, root, file, &mut out);
        }
        out.sort_by_key(|d| d.span.map(|s| (s.start_line, s.start_col)));
        out.dedup_by(|a, b| a.span == b.span && a.message == b.message);
        out
    }
}

impl Schema {
    /// One diagnostic per error; a `oneOf` that failed on a value whose
    /// shape picked one alternative (all that alternative's errors are
    /// inside the value) reports that alternative's errors instead, which
    /// say what is actually wrong.
    fn diagnose(
        self,
        pointer: &str,
        kind: &ValidationErrorKind,
        instance: &Value,
        root: &Node,
        file: &str,
        out: &mut Vec<Diagnostic>,
    ) {
        if let ValidationErrorKind::OneOfNotValid { context } = kind {
            if !is_condition(pointer) {
                let inside = |b: &&Vec<jsonschema::ValidationError<'static>>| {
                    !b.is_empty() && b.iter().all(|e| e.instance_path().as_str().len() > pointer.len())
                };
                if let Some(branch) = context.iter().filter(inside).min_by_key(|b| b.len()) {
                    for e in branch {
                        self.diagnose(e.instance_path().as_str(), e.kind(), instance, root, file, out);
                    }
                    return;
                }
            }
        }
        out.push(describe(self.json(), pointer, kind, instance, root, file));
    }
}

/// Whether `pointer` is a policy condition (`deny`, `require`, `when`, or inside their trees).
fn is_condition(pointer: &str) -> bool {
    pointer.contains("/deny") || pointer.contains("/require") || pointer.ends_with("/when")
}

/// `spec.rules[3].deny` for `/spec/rules/3/deny`.
pub fn dotted(pointer: &str) -> String {
    let mut out = String::new();
    for seg in parse_pointer(pointer) {
        match seg {
            Segment::Key(k) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(&k);
            }
            Segment::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    if out.is_empty() {
        "the document".into()
    } else {
        format!("`{out}`")
    }
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    }
}

/// The schema node that describes the instance at `pointer` (following
/// `$ref`, `properties`, `additionalProperties` and `items`).
fn schema_at<'a>(schema: &'a Value, root: &'a Value, pointer: &str) -> Option<&'a Value> {
    let mut node = resolve_ref(schema, root);
    for seg in parse_pointer(pointer) {
        let step = |node: &'a Value| match &seg {
            Segment::Key(k) => node
                .get("properties")
                .and_then(|p| p.get(k.as_str()))
                .or_else(|| node.get("additionalProperties").filter(|a| a.is_object())),
            Segment::Index(i) => {
                node.get("items").or_else(|| node.get("properties").and_then(|p| p.get(i.to_string())))
            }
        };
        // through `oneOf` / `anyOf` alternatives when the node itself has no such child
        let next = step(node).or_else(|| {
            ["oneOf", "anyOf"]
                .iter()
                .filter_map(|k| node.get(*k).and_then(Value::as_array))
                .flatten()
                .find_map(|alt| step(resolve_ref(alt, root)))
        })?;
        node = resolve_ref(next, root);
    }
    Some(node)
}

fn resolve_ref<'a>(mut node: &'a Value, root: &'a Value) -> &'a Value {
    for _ in 0..16 {
        match node.get("$ref").and_then(Value::as_str) {
            Some(r) => match r.strip_prefix('#').and_then(|p| root.pointer(p)) {
                Some(target) => node = target,
                None => break,
            },
            None => break,
        }
    }
    node
}

fn key_span(root: &Node, pointer: &str, key: &str) -> Option<Span> {
    let parent = root.at(&parse_pointer(pointer))?;
    match &parent.value {
        NodeValue::Map(entries) => entries.iter().find(|e| e.key == key).map(|e| e.key_span),
        _ => None,
    }
}

fn hint_for_pattern(pointer: &str) -> Option<&'static str> {
    let last = pointer.rsplit('/').next().unwrap_or("");
    Some(match last {
        "name" => "policy names use lowercase letters, digits and dashes, e.g. `k8s-workload-security`",
        "id" => "rule ids start with a letter or digit, then letters, digits, `_`, `.` or `-`, e.g. `K8S-001`",
        "version" => "use a semantic version, e.g. `1.2.0`",
        "enforce_from" => "write the date as YYYY-MM-DD, e.g. `2027-01-31`",
        _ => return None,
    })
}

fn describe(
    schema: &Value,
    pointer: &str,
    kind: &ValidationErrorKind,
    instance: &Value,
    root: &Node,
    file: &str,
) -> Diagnostic {
    let here = instance.pointer(pointer).unwrap_or(&Value::Null);
    let (span, _) = root.value_span_of_pointer(pointer);
    let at = |m: String| Diagnostic::error(Code::Schema, file, Some(span), m);
    match kind {
        ValidationErrorKind::AdditionalProperties { unexpected } => {
            let key = unexpected.first().cloned().unwrap_or_default();
            let allowed: Vec<&str> = schema_at(schema, schema, pointer)
                .and_then(|s| s.get("properties"))
                .and_then(Value::as_object)
                .map(|p| p.keys().map(String::as_str).collect())
                .unwrap_or_default();
            let mut d = Diagnostic::error(
                Code::Schema,
                file,
                key_span(root, pointer, &key).or(Some(span)),
                format!("unknown key `{key}` in {}", dotted(pointer)),
            );
            let expected = format!("expected one of: {}", allowed.join(", "));
            d.hint = Some(match did_you_mean(&key, allowed.iter().copied()) {
                Some(m) => format!("did you mean `{m}`? ({expected})"),
                None => expected,
            });
            d
        }
        ValidationErrorKind::Required { property } => {
            let name = property.as_str().unwrap_or_default();
            at(format!("missing required key `{name}` in {}", dotted(pointer)))
        }
        ValidationErrorKind::Enum { options } => {
            let opts: Vec<&str> =
                options.as_array().map(|a| a.iter().filter_map(Value::as_str).collect()).unwrap_or_default();
            let found = here.as_str().map(|s| format!("`{s}`")).unwrap_or_else(|| type_name(here).into());
            let mut d = at(format!(
                "{found} is not a valid value for {}: expected one of {}",
                dotted(pointer),
                opts.join(", ")
            ));
            if let Some(m) = here.as_str().and_then(|s| did_you_mean(s, opts.iter().copied())) {
                d.hint = Some(format!("did you mean `{m}`?"));
            }
            d
        }
        ValidationErrorKind::Constant { expected_value } => {
            at(format!("{} must be {expected_value}, found {}", dotted(pointer), here))
        }
        ValidationErrorKind::Type { .. } => {
            let name = |t: &str| match t {
                "object" => "a mapping".to_owned(),
                "array" => "a list".to_owned(),
                "string" => "a string".to_owned(),
                "boolean" => "a boolean".to_owned(),
                "integer" => "a whole number".to_owned(),
                "number" => "a number".to_owned(),
                other => other.to_owned(),
            };
            // `"type": ["array", "object"]`: "a list or a mapping"
            let want = schema_at(schema, schema, pointer)
                .and_then(|s| s.get("type"))
                .map(|t| match t {
                    Value::String(s) => name(s),
                    Value::Array(ts) => ts.iter().filter_map(Value::as_str).map(name).collect::<Vec<_>>().join(" or "),
                    other => other.to_string(),
                })
                .unwrap_or_else(|| "another type".into());
            let found = match here {
                // `1.5` for an integer: say which number
                Value::Number(n) => format!("{n}"),
                other => type_name(other).to_owned(),
            };
            at(format!("{} must be {want}, found {found}", dotted(pointer)))
        }
        ValidationErrorKind::Pattern { pattern } => {
            let mut d = at(format!(
                "{} `{}` does not match the required pattern {pattern}",
                dotted(pointer),
                here.as_str().unwrap_or_default()
            ));
            d.hint = hint_for_pattern(pointer).map(String::from);
            d
        }
        ValidationErrorKind::OneOfNotValid { .. } | ValidationErrorKind::AnyOf { .. } if !is_condition(pointer) => {
            let mut d = at(format!("{} does not have an allowed form", dotted(pointer)));
            d.hint = schema_at(schema, schema, pointer)
                .and_then(|n| n.get("description"))
                .and_then(|v| v.as_str())
                .map(String::from);
            d
        }
        ValidationErrorKind::OneOfNotValid { .. } | ValidationErrorKind::AnyOf { .. } => {
            let mut d = at(format!(
                "{} must be a CEL expression (a string) or a mapping with exactly one of `all`, `any`, `not`",
                dotted(pointer)
            ));
            if let Value::Object(map) = here {
                if let Some(k) = map.keys().find(|k| !["all", "any", "not"].contains(&k.as_str())) {
                    d.hint = Some(match did_you_mean(k, ["all", "any", "not"]) {
                        Some(m) => format!("unknown key `{k}`: did you mean `{m}`?"),
                        None => format!("unknown key `{k}`"),
                    });
                } else if map.len() > 1 {
                    d.hint = Some("nest them: `all: [ {any: [...]}, \"cel\" ]`".into());
                } else {
                    d.hint = Some("`all` and `any` take a non-empty list; `not` takes one condition".into());
                }
            }
            d
        }
        ValidationErrorKind::MinItems { limit } => {
            at(format!("{} needs at least {limit} item{}", dotted(pointer), if *limit == 1 { "" } else { "s" }))
        }
        ValidationErrorKind::MinLength { .. } => at(format!("{} must not be empty", dotted(pointer))),
        ValidationErrorKind::Minimum { limit } => {
            at(format!("{} must be at least {limit}, found {here}", dotted(pointer)))
        }
        ValidationErrorKind::Maximum { limit } => {
            at(format!("{} must be at most {limit}, found {here}", dotted(pointer)))
        }
        ValidationErrorKind::ExclusiveMinimum { limit } => {
            at(format!("{} must be more than {limit}, found {here}", dotted(pointer)))
        }
        ValidationErrorKind::ExclusiveMaximum { limit } => {
            at(format!("{} must be less than {limit}, found {here}", dotted(pointer)))
        }
        ValidationErrorKind::MaxLength { limit } => {
            at(format!("{} must be at most {limit} characters long", dotted(pointer)))
        }
        ValidationErrorKind::MaxItems { limit } => at(format!("{} takes at most {limit} items", dotted(pointer))),
        ValidationErrorKind::UniqueItems => at(format!("{} must not repeat an item", dotted(pointer))),
        other => at(format!("{} is invalid: {other:?}", dotted(pointer))),
    }
}
