//! Kubernetes lists (`kind: List`, and typed lists `PodList`,
//! `DeploymentList`, …, as `kubectl get -o yaml` and the API return them)
//! are expanded into their items, so a policy on `Pod` sees each pod.
//!
//! Only Kubernetes-looking lists are expanded: `apiVersion` and a `kind`
//! ending in `List` (strings, not `bylaw/…`) with `items` a sequence. Each
//! item becomes a document at its own lines. In a typed list, an item
//! without `kind` or `apiVersion` (the API omits them) gets them from the
//! list (`PodList` → `Pod`, the list's `apiVersion`), as nodes located at the
//! item. Items of a plain `List` are taken as written. Null items are dropped.

use super::yaml::is_kubernetes;
use crate::node::{Entry, Node, NodeValue};

/// Lists inside lists are expanded too, as kubectl flattens them, down to
/// this depth (deeper nesting is left as written).
const MAX_NESTING: usize = 8;

/// The documents with every Kubernetes list replaced by its items.
pub fn expand(documents: Vec<Node>) -> Vec<Node> {
    expand_at(documents, 0)
}

fn expand_at(documents: Vec<Node>, depth: usize) -> Vec<Node> {
    let mut out = Vec::with_capacity(documents.len());
    for doc in documents {
        if depth >= MAX_NESTING {
            out.push(doc);
            continue;
        }
        let list_kind = match (is_kubernetes(&doc), doc.str_at(&["kind"]), doc.get("items")) {
            (true, Some(kind), Some(Node { value: NodeValue::Seq(_), .. })) if kind.ends_with("List") => {
                kind.to_owned()
            }
            _ => {
                out.push(doc);
                continue;
            }
        };
        let api_version = doc.str_at(&["apiVersion"]).unwrap_or_default().to_owned();
        let NodeValue::Map(entries) = doc.value else { continue };
        let Some(items) = entries.into_iter().find(|e| e.key == "items") else { continue };
        let NodeValue::Seq(items) = items.value.value else { continue };
        let item_kind = list_kind.strip_suffix("List").filter(|k| !k.is_empty());
        for mut item in items {
            if let (Some(kind), NodeValue::Map(fields)) = (item_kind, &mut item.value) {
                let at = item.span;
                for (i, (key, value)) in [("apiVersion", api_version.as_str()), ("kind", kind)].into_iter().enumerate()
                {
                    if !fields.iter().any(|e| e.key == key) {
                        let value = Node { span: at, value: NodeValue::Str { value: value.into(), plain: false } };
                        fields.insert(i.min(fields.len()), Entry { key: key.into(), key_span: at, value });
                    }
                }
            }
            if !matches!(item.value, NodeValue::Null) {
                // an item that is itself a list (a `List` of `PodList`s)
                out.extend(expand_at(vec![item], depth + 1));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::yaml;

    #[test]
    fn typed_lists_become_their_items() {
        let src = "apiVersion: v1\nkind: PodList\nitems:\n- metadata:\n    name: a\n  spec:\n    hostNetwork: yes\n- apiVersion: v1\n  kind: Pod\n  metadata:\n    name: b\n---\nkind: Other\nitems: [1]\n";
        let docs = expand(yaml::parse(src).documents);
        assert_eq!(docs.len(), 3);
        let a = &docs[0];
        assert_eq!(a.str_at(&["kind"]), Some("Pod"));
        assert_eq!(a.str_at(&["apiVersion"]), Some("v1"));
        assert_eq!(a.str_at(&["metadata", "name"]), Some("a"));
        assert_eq!(a.to_json()["spec"]["hostNetwork"], true, "the list is Kubernetes: YAML 1.1 values");
        assert_eq!((a.span.start_line, a.span.end_line), (4, 7));
        assert_eq!(a.span_of_pointer("/kind").0.start_line, 4, "derived fields are located at the item");
        assert_eq!(docs[1].str_at(&["metadata", "name"]), Some("b"));
        assert_eq!(docs[1].span_of_pointer("/kind").0.start_line, 9);
        assert_eq!(docs[2].str_at(&["kind"]), Some("Other"), "not a list: untouched");
    }

    #[test]
    fn lists_of_lists_are_flattened() {
        let src = "apiVersion: v1\nkind: List\nitems:\n  - apiVersion: v1\n    kind: PodList\n    items:\n      - metadata: { name: inner }\n        spec: { hostNetwork: true }\n";
        let docs = expand(yaml::parse(src).documents);
        assert_eq!(docs.len(), 1);
        assert_eq!(docs[0].str_at(&["kind"]), Some("Pod"));
        assert_eq!(docs[0].str_at(&["metadata", "name"]), Some("inner"));
        assert_eq!(docs[0].span.start_line, 7);
    }

    #[test]
    fn plain_lists_keep_items_as_written() {
        let src = "apiVersion: v1\nkind: List\nitems:\n  - apiVersion: apps/v1\n    kind: Deployment\n  - metadata: {}\n  - null\n";
        let docs = expand(yaml::parse(src).documents);
        assert_eq!(docs.len(), 2);
        assert_eq!(docs[0].str_at(&["kind"]), Some("Deployment"));
        assert_eq!(docs[1].str_at(&["kind"]), None);
        let not_k8s = expand(yaml::parse("kind: PodList\nitems: [a: 1]\n").documents);
        assert_eq!(not_k8s.len(), 1, "no apiVersion: not a Kubernetes list");
    }
}
