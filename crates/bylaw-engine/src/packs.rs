//! Built-in policy packs, embedded in the binary and extended with
//! `extends: ["pack:NAME"]` (or `pack:NAME@MAJOR`). Each is an ordinary
//! policy file under `crates/bylaw-engine/packs/`; every rule documents why
//! it exists, how to fix a violation, the controls it maps to, and carries a
//! failing and a passing example that `bylaw test` runs.

/// (name, source) of every pack.
pub const PACKS: &[(&str, &str)] = &[
    ("kubernetes-baseline", include_str!("../packs/kubernetes-baseline.yaml")),
    ("kubernetes-restricted", include_str!("../packs/kubernetes-restricted.yaml")),
    ("kubernetes-best-practices", include_str!("../packs/kubernetes-best-practices.yaml")),
    ("kubernetes-rbac", include_str!("../packs/kubernetes-rbac.yaml")),
    ("github-actions-hardening", include_str!("../packs/github-actions-hardening.yaml")),
];

/// The YAML source of pack `name`.
pub fn source(name: &str) -> Option<&'static str> {
    PACKS.iter().find(|(n, _)| *n == name).map(|(_, s)| *s)
}

/// Names of the built-in packs.
pub fn names() -> Vec<&'static str> {
    PACKS.iter().map(|(n, _)| *n).collect()
}

/// `metadata.version` of pack `name`.
pub fn version(name: &str) -> Option<String> {
    let src = source(name)?;
    let doc = crate::input::yaml::parse(src).documents.into_iter().next()?;
    doc.str_at(&["metadata", "version"]).map(str::to_owned)
}
