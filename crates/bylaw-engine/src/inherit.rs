//! Policy inheritance and composition (`spec.extends`): a policy extends
//! local policy files (paths relative to it) and built-in packs
//! (`pack:NAME`, `pack:NAME@MAJOR`). The effective policy is computed here,
//! once, at load time.
//!
//! Resolution order (documented in README): the parents, in `extends`
//! order, each itself resolved first; then the child. Later wins:
//! - `rules`: the parents' rules in order, then the child's; a child rule
//!   with the id of an inherited rule replaces it in place;
//! - `params`, `environments`, `overrides`: merged key by key;
//! - `disable`: the union;
//! - `enforcement`, `enforce_from`, `exceptions`, and each field of `match`:
//!   the child's when it sets them, else the last parent's that does;
//! - `metadata`: the child's own.
//!
//! A parent's `spec.params_schema` (a JSON Schema) makes it a template: the
//! effective `params` of every instance are validated against it.
//!
//! A policy file extended by another loaded policy is a base: it is not
//! evaluated on its own (that would report its rules twice).

use crate::diagnostic::{Code, Diagnostic};
use crate::loader::{display_path, load_text, Loaded, LoadedPolicy};
use crate::node::{Node, Span};
use crate::packs;
use crate::policy::PolicyDef;
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

/// Where a rule of an effective policy was written.
#[derive(Clone, Debug)]
pub struct RuleOrigin {
    pub file: String,
    pub root: Arc<Node>,
    /// Index of the rule in that file's `spec.rules`.
    pub index: usize,
}

/// A reference in `extends`, resolved to an identity and a loaded policy.
struct Parent {
    id: String,
    policy: LoadedPolicy,
}

struct Resolver<'a> {
    sources: &'a mut HashMap<String, Arc<str>>,
    diagnostics: &'a mut Vec<Diagnostic>,
    /// Display paths are relative to it (see [`Loaded::working_dir`]).
    working_dir: &'a Path,
    /// Effective policies by identity (file path or `pack:NAME`).
    done: HashMap<String, Option<LoadedPolicy>>,
    /// Identities of files extended by some policy.
    bases: Vec<String>,
    /// For each policy being resolved but the innermost: its file and the
    /// `extends` entry being followed (to show where a cycle starts).
    via: Vec<(String, Span)>,
}

/// Resolves `extends` of every loaded policy in place; drops policies that
/// are bases of others.
pub fn resolve(loaded: &mut Loaded) {
    if loaded.policies.iter().all(|p| p.def.spec.extends.is_empty()) {
        return;
    }
    let policies = std::mem::take(&mut loaded.policies);
    let mut r = Resolver {
        sources: &mut loaded.sources,
        diagnostics: &mut loaded.diagnostics,
        working_dir: &loaded.working_dir,
        done: HashMap::new(),
        bases: Vec::new(),
        via: Vec::new(),
    };
    let mut out = Vec::new();
    for p in policies {
        let id = p.file.clone();
        let mut stack = vec![id.clone()];
        if let Some(e) = r.effective(p, &mut stack) {
            out.push((id, e));
        }
    }
    let bases = r.bases;
    loaded.policies = out.into_iter().filter(|(id, _)| !bases.contains(id)).map(|(_, p)| p).collect();
}

impl Resolver<'_> {
    /// The effective form of `p` (`stack`: identities being resolved, for cycles).
    fn effective(&mut self, p: LoadedPolicy, stack: &mut Vec<String>) -> Option<LoadedPolicy> {
        if p.def.spec.extends.is_empty() {
            return Some(p);
        }
        let mut parents = Vec::new();
        let mut ok = true;
        for (j, reference) in p.def.spec.extends.iter().enumerate() {
            let span = p.root.value_span_of_pointer(&format!("/spec/extends/{j}")).0;
            let Some(parent) = self.load_parent(&p.file, reference, span) else {
                ok = false;
                continue;
            };
            if let Some(at) = stack.iter().position(|s| s == &parent.id) {
                let mut chain: Vec<&str> = stack[at..].iter().map(String::as_str).collect();
                chain.push(&parent.id);
                let mut d = Diagnostic::error(
                    Code::Extends,
                    &p.file,
                    Some(span),
                    format!("`extends` cycle: {}", chain.join(" → ")),
                )
                .with_hint("a policy cannot extend itself, directly or through its parents");
                if let (Some((file, at_span)), Some(next)) = (self.via.get(at), stack.get(at + 1)) {
                    d = d.with_label(
                        file,
                        *at_span,
                        format!("the cycle starts here: `{}` extends `{next}`", stack[at]),
                    );
                }
                self.diagnostics.push(d);
                ok = false;
                continue;
            }
            if !self.bases.contains(&parent.id) {
                self.bases.push(parent.id.clone());
            }
            let resolved = match self.done.get(&parent.id) {
                Some(done) => done.clone(),
                None => {
                    stack.push(parent.id.clone());
                    self.via.push((p.file.clone(), span));
                    let e = self.effective(parent.policy, stack);
                    self.via.pop();
                    stack.pop();
                    self.done.insert(parent.id.clone(), e.clone());
                    e
                }
            };
            match resolved {
                Some(e) => parents.push(e),
                None => ok = false,
            }
        }
        if !ok {
            return None;
        }
        Some(self.merge(&p, &parents))
    }

    fn load_parent(&mut self, child_file: &str, reference: &str, span: Span) -> Option<Parent> {
        let (id, text) = if let Some(pack) = reference.strip_prefix("pack:") {
            let (name, major) = match pack.split_once('@') {
                Some((n, m)) => (n, Some(m)),
                None => (pack, None),
            };
            let Some(text) = packs::source(name) else {
                let known = packs::names();
                let mut d =
                    Diagnostic::error(Code::Extends, child_file, Some(span), format!("no built-in pack `{name}`"));
                d.hint = Some(match crate::diagnostic::did_you_mean(name, known.iter().copied()) {
                    Some(m) => format!("did you mean `pack:{m}`?"),
                    None => format!("built-in packs: {}", known.join(", ")),
                });
                self.diagnostics.push(d);
                return None;
            };
            if let Some(m) = major {
                let have = packs::version(name).unwrap_or_default();
                if have.split('.').next() != Some(m.trim_start_matches('v')) {
                    self.diagnostics.push(
                        Diagnostic::error(
                            Code::Extends,
                            child_file,
                            Some(span),
                            format!("pack `{name}` is at version {have}, not major version {m}"),
                        )
                        .with_hint(format!(
                            "use `pack:{name}@{}` or `pack:{name}`",
                            have.split('.').next().unwrap_or("1")
                        )),
                    );
                    return None;
                }
            }
            (format!("pack:{name}"), text.to_owned())
        } else {
            let base = Path::new(child_file).parent().unwrap_or(Path::new(""));
            let path = crate::paths::absolute(self.working_dir, &base.join(reference));
            let id = display_path(&path, self.working_dir);
            match crate::paths::read_text(&path) {
                Ok(t) => (id, t),
                Err(e) => {
                    self.diagnostics.push(
                        Diagnostic::error(
                            Code::Extends,
                            child_file,
                            Some(span),
                            format!("cannot read `{reference}` ({id}): {e}"),
                        )
                        .with_hint("paths in `extends` are relative to the policy file; packs are `pack:NAME`"),
                    );
                    return None;
                }
            }
        };
        let mut sub = Loaded::default();
        load_text(&id, &text, true, &mut sub);
        self.sources.insert(id.clone(), Arc::from(text));
        if !sub.diagnostics.is_empty() {
            self.diagnostics.append(&mut sub.diagnostics);
            return None;
        }
        match sub.policies.len() {
            1 => Some(Parent { id, policy: sub.policies.remove(0) }),
            n => {
                self.diagnostics.push(Diagnostic::error(
                    Code::Extends,
                    child_file,
                    Some(span),
                    format!("`{reference}` holds {n} policies; `extends` needs a file with exactly one"),
                ));
                None
            }
        }
    }

    /// Merges parents and child into the effective policy.
    fn merge(&mut self, child: &LoadedPolicy, parents: &[LoadedPolicy]) -> LoadedPolicy {
        let mut spec = Map::new();
        let mut rules: Vec<(Value, RuleOrigin)> = Vec::new();
        let mut extends_chain = Vec::new();
        let mut params_schemas: Vec<(String, Value)> = Vec::new();
        for p in parents {
            let mut json = p.effective_json.clone().unwrap_or_else(|| p.root.to_json());
            // A parent's default enforcement belongs to its own rules: bake it
            // in, so that it does not leak to siblings' rules through the merge.
            if let Some(default) = json["spec"].as_object_mut().and_then(|s| s.remove("enforcement")) {
                for rule in json["spec"]["rules"].as_array_mut().into_iter().flatten() {
                    if let Some(r) = rule.as_object_mut() {
                        r.entry("enforcement").or_insert_with(|| default.clone());
                    }
                }
            }
            merge_spec(&mut spec, &json["spec"], &mut rules, &origins_of(p));
            extends_chain.extend(p.extends_chain.iter().cloned());
            extends_chain.push(p.def.metadata.name.clone());
            if let Some(s) = json["spec"].get("params_schema") {
                params_schemas.push((p.file.clone(), s.clone()));
            }
            params_schemas.extend(p.params_schemas.iter().cloned());
        }
        let json = child.root.to_json();
        merge_spec(&mut spec, &json["spec"], &mut rules, &origins_of(child));
        spec.remove("extends");
        spec.insert("rules".into(), Value::Array(rules.iter().map(|(r, _)| r.clone()).collect()));
        let mut doc = json.as_object().cloned().unwrap_or_default();
        doc.insert("spec".into(), Value::Object(spec));
        let mut def: PolicyDef = match serde_json::from_value(Value::Object(doc.clone())) {
            Ok(d) => d,
            Err(e) => {
                self.diagnostics.push(Diagnostic::error(
                    Code::Extends,
                    &child.file,
                    Some(child.root.span),
                    format!("the effective policy is invalid: {e}"),
                ));
                child.def.clone()
            }
        };
        def.spec.extends = child.def.spec.extends.clone();
        let effective = LoadedPolicy {
            def,
            file: child.file.clone(),
            root: child.root.clone(),
            origins: rules.into_iter().map(|(_, o)| o).collect(),
            extends_chain,
            effective_json: Some(Value::Object(doc)),
            params_schemas,
        };
        self.check_effective(&effective);
        effective
    }

    /// What can only be checked on the effective policy: `overrides` and
    /// `disable` naming rules, template parameters.
    fn check_effective(&mut self, p: &LoadedPolicy) {
        crate::loader::check_rule_references(p, self.diagnostics);
        let params = Value::Object(p.def.spec.params.clone());
        for (file, schema) in &p.params_schemas {
            let validator = match jsonschema::validator_for(schema) {
                Ok(v) => v,
                Err(e) => {
                    self.diagnostics.push(Diagnostic::error(
                        Code::Schema,
                        file,
                        None,
                        format!("`spec.params_schema` is not a valid JSON Schema: {e}"),
                    ));
                    continue;
                }
            };
            for e in validator.iter_errors(&params) {
                let pointer = format!("/spec/params{}", e.instance_path().as_str());
                let span = p.root.value_span_of_pointer(&pointer).0;
                self.diagnostics.push(
                    Diagnostic::error(
                        Code::Params,
                        &p.file,
                        Some(span),
                        format!("`params{}`: {e}", e.instance_path().as_str().replace('/', ".")),
                    )
                    .with_hint(format!("the template in {file} declares its parameters in `spec.params_schema`")),
                );
            }
        }
    }
}

fn origins_of(p: &LoadedPolicy) -> Vec<RuleOrigin> {
    if !p.origins.is_empty() {
        return p.origins.clone();
    }
    let root = Arc::new(p.root.clone());
    (0..p.def.spec.rules.len()).map(|index| RuleOrigin { file: p.file.clone(), root: root.clone(), index }).collect()
}

/// Merges one level (`spec` of a parent or the child) into `spec`.
fn merge_spec(
    spec: &mut Map<String, Value>,
    layer: &Value,
    rules: &mut Vec<(Value, RuleOrigin)>,
    origins: &[RuleOrigin],
) {
    let Some(layer) = layer.as_object() else { return };
    for (key, value) in layer {
        match key.as_str() {
            "rules" => {
                for (i, rule) in value.as_array().into_iter().flatten().enumerate() {
                    let origin = origins.get(i).cloned().unwrap_or_else(|| RuleOrigin {
                        file: String::new(),
                        root: Arc::new(Node { span: Span::default(), value: crate::node::NodeValue::Null }),
                        index: i,
                    });
                    match rules.iter_mut().find(|(r, _)| r["id"] == rule["id"]) {
                        Some(slot) => *slot = (rule.clone(), origin),
                        None => rules.push((rule.clone(), origin)),
                    }
                }
            }
            "params" | "environments" | "overrides" => {
                let entry = spec.entry(key.clone()).or_insert_with(|| Value::Object(Map::new()));
                if let (Some(into), Some(from)) = (entry.as_object_mut(), value.as_object()) {
                    for (k, v) in from {
                        into.insert(k.clone(), v.clone());
                    }
                }
            }
            "disable" => {
                let entry = spec.entry(key.clone()).or_insert_with(|| Value::Array(Vec::new()));
                if let (Some(into), Some(from)) = (entry.as_array_mut(), value.as_array()) {
                    for v in from {
                        if !into.contains(v) {
                            into.push(v.clone());
                        }
                    }
                }
            }
            "match" => {
                let entry = spec.entry(key.clone()).or_insert_with(|| Value::Object(Map::new()));
                if let (Some(into), Some(from)) = (entry.as_object_mut(), value.as_object()) {
                    for (k, v) in from {
                        into.insert(k.clone(), v.clone());
                    }
                }
            }
            "params_schema" => {}
            _ => {
                spec.insert(key.clone(), value.clone());
            }
        }
    }
}
