//! Kubernetes' YAML 1.1 reading of plain scalar values.
//!
//! The API server and kubectl read manifests with sigs.k8s.io/yaml, which is
//! go-yaml v2: YAML 1.1 resolution. Where that differs from YAML 1.2, a
//! policy must see what the cluster will run, or `hostNetwork: yes` and
//! `runAsUser: 0b0` (root) slip past a rule. So in a Kubernetes document (see
//! [`super::yaml::is_kubernetes`]) unquoted *values* are re-read as go-yaml v2
//! reads them:
//! - booleans `y`, `yes`, `on`, `n`, `no`, `off` (in the cases go-yaml accepts);
//! - integers as Go's `strconv.ParseInt(s, 0, 64)` after removing every `_`:
//!   optional sign, `0b`/`0B` binary, `0o`/`0O` and leading-zero octal
//!   (`defaultMode: 0644` is 420), `0x`/`0X` hex, decimal;
//! - a leading-zero literal that is not octal (`08`, `1_0.5`) falls back to
//!   go-yaml's float pattern; a float with an integral decimal spelling
//!   (`08`) is kept as the integer (8), which is what the API server stores.
//!
//! Keys are never converted. Other documents keep the YAML 1.2 core schema
//! (`0644` is 644, `0b1` a string).
//!
//! The YAML reader keeps the raw text of only the plain scalars whose two
//! readings can differ ([`is_int_candidate`], [`is_bool`]) and resolves them
//! once per document, when it knows whether the document is Kubernetes.

use crate::node::{Node, NodeValue};

/// A YAML 1.1 boolean as go-yaml v2 reads it.
pub(crate) fn is_bool(s: &str) -> Option<bool> {
    match s {
        "y" | "Y" | "yes" | "Yes" | "YES" | "on" | "On" | "ON" => Some(true),
        "n" | "N" | "no" | "No" | "NO" | "off" | "Off" | "OFF" => Some(false),
        _ => None,
    }
}

/// Whether YAML 1.1 (go-yaml v2) and the YAML 1.2 core schema may read this
/// plain scalar as different numbers: a `_` separator, a leading zero
/// followed by a digit, a `0b`/`0B` prefix, an uppercase base prefix, or a
/// sign before a base prefix.
pub(crate) fn is_int_candidate(s: &str) -> bool {
    let b = s.as_bytes();
    let Some(&first) = b.first() else { return false };
    if !(first.is_ascii_digit() || first == b'-' || first == b'+') {
        return false;
    }
    if b.contains(&b'_') {
        return true;
    }
    let signed = first == b'-' || first == b'+';
    let digits = if signed { &b[1..] } else { b };
    match digits {
        [b'0', c, ..] if c.is_ascii_digit() => true,
        [b'0', b'b' | b'B' | b'X' | b'O', ..] => true,
        [b'0', b'x' | b'o', ..] => signed,
        _ => false,
    }
}

/// go-yaml v2's reading of a plain scalar that [`is_int_candidate`] selected.
fn resolve_number(raw: &str) -> Option<NodeValue> {
    let plain = raw.replace('_', "");
    if let Some(i) = go_parse_int(&plain) {
        return Some(NodeValue::Int(i));
    }
    // go-yaml v2's `yamlStyleFloat` is the YAML 1.2 core float pattern.
    if super::yaml::is_float(&plain) {
        let f: f64 = plain.parse().ok()?;
        let digits = plain.strip_prefix(['-', '+']).unwrap_or(&plain);
        if digits.bytes().all(|c| c.is_ascii_digit()) && f.abs() < 9.0e15 {
            return Some(NodeValue::Int(f as i64));
        }
        return Some(NodeValue::Float(f));
    }
    None
}

/// `strconv.ParseInt(s, 0, 64)`: sign, then base prefix `0x`, `0o`, `0b`
/// (either case) or a leading `0` for octal, then at least one digit.
fn go_parse_int(s: &str) -> Option<i64> {
    let (negative, rest) = match s.as_bytes().first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    let (radix, digits) = match rest.as_bytes() {
        [b'0', b'x' | b'X', ..] => (16, &rest[2..]),
        [b'0', b'o' | b'O', ..] => (8, &rest[2..]),
        [b'0', b'b' | b'B', ..] => (2, &rest[2..]),
        [b'0', _, ..] => (8, &rest[1..]),
        _ => (10, rest),
    };
    // from_str_radix would accept a second sign; Go does not.
    if digits.is_empty() || !digits.bytes().all(|c| c.is_ascii_alphanumeric()) {
        return None;
    }
    let magnitude = i128::from(u64::from_str_radix(digits, radix).ok()?);
    i64::try_from(if negative { -magnitude } else { magnitude }).ok()
}

/// Resolves the plain scalars a document kept raw: as Kubernetes reads them
/// when `kubernetes`, else by the YAML 1.2 core schema (`core`).
pub(crate) fn resolve_document(node: &mut Node, kubernetes: bool, core: &dyn Fn(&str) -> NodeValue) {
    match &mut node.value {
        NodeValue::Str { value, plain: true } => {
            if kubernetes {
                if let Some(b) = is_bool(value) {
                    node.value = NodeValue::Bool(b);
                    return;
                }
            }
            if is_int_candidate(value) {
                let resolved = if kubernetes { resolve_number(value) } else { None };
                node.value = resolved.unwrap_or_else(|| core(value));
            }
        }
        NodeValue::Seq(items) => items.iter_mut().for_each(|n| resolve_document(n, kubernetes, core)),
        NodeValue::Map(entries) => entries.iter_mut().for_each(|e| resolve_document(&mut e.value, kubernetes, core)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn k8s(s: &str) -> Option<NodeValue> {
        assert!(is_int_candidate(s), "{s} should be kept raw");
        resolve_number(s)
    }

    #[test]
    fn integers_read_as_go_yaml_v2_does() {
        assert_eq!(k8s("0644"), Some(NodeValue::Int(420)));
        assert_eq!(k8s("0b1010"), Some(NodeValue::Int(10)));
        assert_eq!(k8s("-0b11"), Some(NodeValue::Int(-3)));
        assert_eq!(k8s("0B0"), Some(NodeValue::Int(0)));
        assert_eq!(k8s("0X1F"), Some(NodeValue::Int(31)));
        assert_eq!(k8s("-0x1F"), Some(NodeValue::Int(-31)));
        assert_eq!(k8s("+0o17"), Some(NodeValue::Int(15)));
        assert_eq!(k8s("1_000"), Some(NodeValue::Int(1000)));
        assert_eq!(k8s("0_17"), Some(NodeValue::Int(15)));
        assert_eq!(k8s("-017"), Some(NodeValue::Int(-15)));
        // not octal: go-yaml's float pattern, the number 8
        assert_eq!(k8s("08"), Some(NodeValue::Int(8)));
        assert_eq!(k8s("09"), Some(NodeValue::Int(9)));
        assert_eq!(k8s("1_0.5"), Some(NodeValue::Float(10.5)));
        assert_eq!(k8s("0b102"), None, "not a number: stays a string");
        assert_eq!(resolve_number("0x+1"), None, "Go accepts no sign after the prefix");
    }

    #[test]
    fn only_ambiguous_scalars_are_kept_raw() {
        for s in ["12", "0", "0x1F", "0o17", "-7", "1.5", "0.5", "abc", "v1_2", "_1", "1.2.3", ""] {
            assert!(!is_int_candidate(s), "{s}");
        }
    }
}
