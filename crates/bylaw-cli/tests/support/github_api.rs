//! GitHub's own description of its REST API (`@octokit/openapi`, installed
//! by `scripts/tools.sh octokit`) held against what the adapter sends: every
//! request must be a real operation, with declared query parameters and a
//! JSON body that fits the operation's request schema. The mock's answers
//! start from the examples of the same description, and real webhook
//! payloads come from `@octokit/webhooks-examples`.

use super::mock::Call;
use serde_json::{json, Value};
use std::path::PathBuf;
use std::sync::OnceLock;

/// The installed `@octokit` directory.
pub fn octokit_dir() -> PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
        let out = std::process::Command::new("bash")
            .arg(root.join("scripts/tools.sh"))
            .arg("octokit")
            .output()
            .expect("run scripts/tools.sh");
        assert!(out.status.success(), "scripts/tools.sh octokit failed:\n{}", String::from_utf8_lossy(&out.stderr));
        PathBuf::from(String::from_utf8(out.stdout).unwrap().trim())
    })
    .clone()
}

pub struct Spec {
    doc: Value,
    /// Path templates split into segments (`None` for a `{parameter}`).
    templates: Vec<(String, Vec<Option<String>>)>,
}

/// GitHub.com's REST description.
pub fn spec() -> &'static Spec {
    static SPEC: OnceLock<Spec> = OnceLock::new();
    SPEC.get_or_init(|| {
        let file = octokit_dir().join("openapi/generated/api.github.com.json");
        let text = std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let doc: Value = serde_json::from_str(&text).expect("OpenAPI description is JSON");
        let templates = doc["paths"]
            .as_object()
            .unwrap()
            .keys()
            .map(|t| {
                let segs = t.split('/').map(|s| (!s.starts_with('{')).then(|| s.to_owned())).collect();
                (t.clone(), segs)
            })
            .collect();
        Spec { doc, templates }
    })
}

impl Spec {
    /// The path template a concrete path belongs to (the one with the most
    /// literal segments when several fit).
    pub fn template(&self, path: &str) -> Option<&str> {
        let segs: Vec<&str> = path.split('/').collect();
        self.templates
            .iter()
            .filter(|(_, t)| {
                t.len() == segs.len()
                    && t.iter().zip(&segs).all(|(t, s)| match t {
                        Some(lit) => lit == s,
                        None => !s.is_empty(),
                    })
            })
            .max_by_key(|(_, t)| t.iter().filter(|s| s.is_some()).count())
            .map(|(name, _)| name.as_str())
    }

    fn deref<'a>(&'a self, v: &'a Value) -> &'a Value {
        match v.get("$ref").and_then(Value::as_str) {
            Some(r) => self.doc.pointer(r.trim_start_matches('#')).unwrap_or_else(|| panic!("dangling $ref {r}")),
            None => v,
        }
    }

    /// `v` with every `$ref` inlined (up to a depth, for recursive schemas)
    /// and OpenAPI 3.0's `nullable` turned into JSON Schema.
    fn inline(&self, v: &Value, depth: usize) -> Value {
        if depth > 24 {
            return json!({});
        }
        match v {
            Value::Object(o) => {
                if o.contains_key("$ref") {
                    return self.inline(self.deref(v), depth + 1);
                }
                let mut out = serde_json::Map::new();
                for (k, x) in o {
                    if k == "example" || k == "examples" || k == "nullable" {
                        continue;
                    }
                    out.insert(k.clone(), self.inline(x, depth + 1));
                }
                if o.get("nullable") == Some(&json!(true)) {
                    if let Some(Value::String(t)) = out.get("type").cloned() {
                        out.insert("type".into(), json!([t, "null"]));
                    }
                }
                Value::Object(out)
            }
            Value::Array(a) => Value::Array(a.iter().map(|x| self.inline(x, depth + 1)).collect()),
            other => other.clone(),
        }
    }

    /// The operation object of a call (`prefix`: the API's base path, e.g.
    /// `/api/v3` on GitHub Enterprise Server).
    fn operation(&self, call: &Call, prefix: &str) -> Result<(&str, &Value), String> {
        let path = call.path.strip_prefix(prefix).ok_or_else(|| format!("{}: not under {prefix}", call.line()))?;
        let t = self.template(path).ok_or_else(|| format!("{}: no such path in GitHub's REST API", call.line()))?;
        let op = self.doc["paths"][t]
            .get(call.method.to_ascii_lowercase())
            .ok_or_else(|| format!("{}: GitHub's REST API has no {} on {t}", call.line(), call.method))?;
        Ok((t, op))
    }

    /// Checks a call against the description.
    pub fn check(&self, call: &Call, prefix: &str) -> Result<(), String> {
        let (t, op) = self.operation(call, prefix)?;
        let params: Vec<&Value> =
            op["parameters"].as_array().map(|a| a.iter().map(|p| self.deref(p)).collect()).unwrap_or_default();
        for q in call.query.keys() {
            if !params.iter().any(|p| p["in"] == "query" && p["name"] == q.as_str()) {
                return Err(format!("{}: {t} has no query parameter `{q}`", call.line()));
            }
        }
        let schema = op["requestBody"]["content"]["application/json"]["schema"].clone();
        match (&call.body, schema.is_null()) {
            (Some(_), true) => Err(format!("{}: {t} takes no JSON body", call.line())),
            (None, false) if op["requestBody"]["required"] == true => {
                Err(format!("{}: {t} needs a JSON body", call.line()))
            }
            (None, _) => Ok(()),
            (Some(body), false) => {
                let schema = self.inline(&schema, 0);
                let v = jsonschema::draft7::new(&schema)
                    .map_err(|e| format!("{t}: request schema does not compile: {e}"))?;
                let errors: Vec<String> =
                    v.iter_errors(body).map(|e| format!("{} at {}", e, e.instance_path())).collect();
                if errors.is_empty() {
                    Ok(())
                } else {
                    Err(format!(
                        "{}: body does not fit GitHub's request schema:\n  {}\nbody: {body}",
                        call.line(),
                        errors.join("\n  ")
                    ))
                }
            }
        }
    }

    /// The first example GitHub documents for an operation's response
    /// (`template` as in the description, e.g. `/repos/{owner}/{repo}/check-runs`).
    pub fn example(&self, method: &str, template: &str, status: u16) -> Value {
        let op = &self.doc["paths"][template][method.to_ascii_lowercase()];
        let resp = self.deref(&op["responses"][status.to_string()]);
        let examples = &resp["content"]["application/json"]["examples"];
        let first = examples
            .as_object()
            .and_then(|o| o.values().next())
            .unwrap_or_else(|| panic!("no example for {method} {template} {status}"));
        self.deref(first)["value"].clone()
    }
}

/// Real webhook payloads of an event (`@octokit/webhooks-examples`).
pub fn webhook_examples(event: &str) -> Vec<Value> {
    static INDEX: OnceLock<Value> = OnceLock::new();
    let index = INDEX.get_or_init(|| {
        let file = octokit_dir().join("webhooks-examples/api.github.com/index.json");
        serde_json::from_str(&std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display())))
            .unwrap()
    });
    index
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == event)
        .and_then(|e| e["examples"].as_array())
        .unwrap_or_else(|| panic!("no webhook examples for {event}"))
        .clone()
}
