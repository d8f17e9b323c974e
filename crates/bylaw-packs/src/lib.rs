//! bylaw's built-in policy packs: ordinary policy files under
//! `crates/bylaw-packs/packs/`, embedded in the binary, loaded as
//! `pack:NAME` and extended with `extends: ["pack:NAME"]` (or
//! `pack:NAME@MAJOR`). Every rule documents why it exists, how to fix a
//! violation and the controls it maps to (Pod Security Standards, CIS
//! benchmarks, NIST SP 800-53/800-190, SOC 2), and carries a failing and a
//! passing example that `bylaw test` runs. Policy content lives here, apart
//! from the engine that evaluates it: the engine knows no platform, a pack
//! may be about one (GitHub Actions).
//!
//! Adding a pack: one YAML file under `packs/` and one entry in [`PACKS`];
//! the engine's pack tests then run its examples and check its documentation.

#![forbid(unsafe_code)]

/// (name, YAML source) of every pack, in the order `bylaw rules` lists them.
pub const PACKS: &[(&str, &str)] = &[
    ("kubernetes-baseline", include_str!("../packs/kubernetes-baseline.yaml")),
    ("kubernetes-restricted", include_str!("../packs/kubernetes-restricted.yaml")),
    ("kubernetes-best-practices", include_str!("../packs/kubernetes-best-practices.yaml")),
    ("kubernetes-rbac", include_str!("../packs/kubernetes-rbac.yaml")),
    ("github-actions-hardening", include_str!("../packs/github-actions-hardening.yaml")),
    ("terraform-aws", include_str!("../packs/terraform-aws.yaml")),
    ("gitlab-ci-hardening", include_str!("../packs/gitlab-ci-hardening.yaml")),
    ("terraform-azure", include_str!("../packs/terraform-azure.yaml")),
    ("terraform-gcp", include_str!("../packs/terraform-gcp.yaml")),
    ("cloudformation-aws", include_str!("../packs/cloudformation-aws.yaml")),
    ("dockerfile", include_str!("../packs/dockerfile.yaml")),
];

/// The YAML source of pack `name`, `None` when there is no such pack.
pub fn source(name: &str) -> Option<&'static str> {
    PACKS.iter().find(|(n, _)| *n == name).map(|(_, s)| *s)
}

/// Names of the built-in packs, in [`PACKS`] order.
pub fn names() -> Vec<&'static str> {
    PACKS.iter().map(|(n, _)| *n).collect()
}
