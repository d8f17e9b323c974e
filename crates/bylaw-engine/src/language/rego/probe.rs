//! Where a Rego finding is, when the policy does not say (`_loc`): OPA
//! reports no input positions (open-policy-agent/opa#2935), so bylaw finds
//! the place by asking the rule again on altered inputs.
//!
//! A node *causes* a finding when altering it makes the finding's message
//! disappear **and** the rule yield fewer results. A mapping or a list is
//! altered by removing it; a string is replaced by another string, a
//! boolean negated, a number or null removed — so a node that only feeds
//! the message, such as a container's name, changes the message but
//! leaves as many results: it is not a cause, while the image a rule
//! tests is. The search alters each child of a causing node in turn,
//! starting from the root, and descends only into causes; the finding is
//! placed at its deepest cause (`spec.containers[1].securityContext.privileged`
//! rather than `kind`). The work is bounded per rule and document
//! ([`budget`]: fewer re-evaluations for bigger documents); what was found
//! by then is used.

use crate::node::Segment;
use std::collections::HashMap;

/// Re-evaluations spent at most per rule and document.
pub const MAX_EVALUATIONS: usize = 400;

/// Values (nodes of the document) re-read at most per rule and document,
/// summed over the re-evaluations: a document of a million values gets a
/// handful of them, not four hundred.
pub const MAX_VALUES_READ: usize = 2_000_000;

/// The re-evaluations allowed for a document of `values` values.
pub fn budget(values: usize) -> usize {
    (MAX_VALUES_READ / values.max(1)).clamp(8, MAX_EVALUATIONS)
}

fn values(v: &serde_json::Value) -> usize {
    match v {
        serde_json::Value::Object(o) => 1 + o.values().map(values).sum::<usize>(),
        serde_json::Value::Array(a) => 1 + a.iter().map(values).sum::<usize>(),
        _ => 1,
    }
}

/// For each of `messages` (findings of a rule on `doc`; `results` asks the
/// rule again on an altered document: its messages, `None` when it fails),
/// the path of its deepest cause, when one was found.
pub fn locate(
    doc: &serde_json::Value,
    messages: &[&str],
    results: &mut dyn FnMut(&serde_json::Value) -> Option<Vec<String>>,
) -> HashMap<String, Vec<Segment>> {
    let mut best: HashMap<String, Vec<Segment>> = HashMap::new();
    let Some(total) = results(doc).map(|r| r.len()) else { return best };
    let mut budget = budget(values(doc));
    let mut stack: Vec<Vec<Segment>> = vec![Vec::new()];
    while let Some(path) = stack.pop() {
        let Some(node) = get(doc, &path) else { continue };
        let children: Vec<Segment> = match node {
            serde_json::Value::Object(o) => o.keys().map(|k| Segment::Key(k.as_str().into())).collect(),
            serde_json::Value::Array(a) => (0..a.len()).map(Segment::Index).collect(),
            _ => continue,
        };
        for child in children {
            if budget == 0 {
                return best;
            }
            budget -= 1;
            let mut child_path = path.clone();
            child_path.push(child);
            let mut altered = doc.clone();
            alter(&mut altered, &child_path);
            let Some(after) = results(&altered) else { continue };
            if after.len() >= total {
                continue;
            }
            let mut causes = false;
            for m in messages.iter().filter(|m| !after.iter().any(|a| a == **m)) {
                causes = true;
                let deeper = best.get(*m).is_none_or(|b| b.len() < child_path.len());
                if deeper {
                    best.insert((*m).to_owned(), child_path.clone());
                }
            }
            if causes {
                stack.push(child_path);
            }
        }
    }
    best
}

/// A string no policy expects.
const OTHER: &str = "bylaw-probe-value";

/// Alters the value at `path`: see the module documentation.
fn alter(v: &mut serde_json::Value, path: &[Segment]) {
    match get_mut(v, path) {
        Some(serde_json::Value::String(s)) => *s = OTHER.to_owned(),
        Some(serde_json::Value::Bool(b)) => *b = !*b,
        _ => remove(v, path),
    }
}

/// The value at `path` of `v`, to change it.
pub(super) fn get_mut<'a>(v: &'a mut serde_json::Value, path: &[Segment]) -> Option<&'a mut serde_json::Value> {
    path.iter().try_fold(v, |v, s| match (v, s) {
        (serde_json::Value::Object(o), Segment::Key(k)) => o.get_mut(k.as_str()),
        (serde_json::Value::Array(a), Segment::Index(i)) => a.get_mut(*i),
        _ => None,
    })
}

/// The messages rule `query` yields with `input` (None when it fails): the
/// re-evaluation of a Rego rule for [`locate`].
pub fn rego_results(engine: &mut regorus::Engine, query: &str, input: regorus::Value) -> Option<Vec<String>> {
    engine.set_input(input);
    let v = engine.eval_rule(query.to_owned()).ok()?;
    Some(super::results_of(&v).into_iter().map(|r| super::message_of(r).0).collect())
}

fn get<'a>(v: &'a serde_json::Value, path: &[Segment]) -> Option<&'a serde_json::Value> {
    path.iter().try_fold(v, |v, s| match (v, s) {
        (serde_json::Value::Object(o), Segment::Key(k)) => o.get(k.as_str()),
        (serde_json::Value::Array(a), Segment::Index(i)) => a.get(*i),
        _ => None,
    })
}

fn remove(v: &mut serde_json::Value, path: &[Segment]) {
    let Some((last, parent)) = path.split_last() else { return };
    let mut node = v;
    for s in parent {
        node = match (node, s) {
            (serde_json::Value::Object(o), Segment::Key(k)) => match o.get_mut(k.as_str()) {
                Some(n) => n,
                None => return,
            },
            (serde_json::Value::Array(a), Segment::Index(i)) => match a.get_mut(*i) {
                Some(n) => n,
                None => return,
            },
            _ => return,
        };
    }
    match (node, last) {
        (serde_json::Value::Object(o), Segment::Key(k)) => {
            o.shift_remove(k.as_str());
        }
        (serde_json::Value::Array(a), Segment::Index(i)) if *i < a.len() => {
            a.remove(*i);
        }
        _ => {}
    }
}
