//! Named selectors for `each`: the one definition of where Kubernetes pod
//! specs and containers live, used by every built-in Kubernetes rule and
//! open to policy authors.
//!
//! A selector is written where a JSONPath is expected, optionally followed
//! by more JSONPath segments: `each: "@containers"`,
//! `each: "@pod_specs.securityContext.sysctls[*]"`. It expands to the
//! JSONPath (RFC 9535) below before compilation, so locations, `at` and
//! `item` work exactly as with the written-out path.
//!
//! - `@pod_specs`: every pod spec of a document — a Pod's `spec`, the
//!   `spec.template.spec` of workloads and of custom resources that embed a
//!   pod template, a CronJob's `spec.jobTemplate.spec.template.spec`, a
//!   PodTemplate's `template.spec` — recognized as an object holding
//!   `containers`, `initContainers` or `ephemeralContainers`.
//! - `@containers`: every container of every pod spec, from the three lists
//!   (Pod Security Standards check all three).

use std::borrow::Cow;

/// (name, JSONPath, description) of every selector.
pub const SELECTORS: &[(&str, &str, &str)] = &[
    (
        "@pod_specs",
        "$..[?@.containers || @.initContainers || @.ephemeralContainers]",
        "every pod spec (Pod spec, pod templates, CronJob job templates)",
    ),
    (
        "@containers",
        "$..['containers','initContainers','ephemeralContainers'][*]",
        "every container, init container and ephemeral container",
    ),
];

/// Expands a leading selector name; other paths are returned unchanged.
/// `Err` names the unknown selector and lists the known ones.
pub fn expand(path: &str) -> Result<Cow<'_, str>, String> {
    if !path.starts_with('@') {
        return Ok(Cow::Borrowed(path));
    }
    let end = path[1..].find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).map_or(path.len(), |i| i + 1);
    let (name, rest) = path.split_at(end);
    match SELECTORS.iter().find(|(n, _, _)| *n == name) {
        Some((_, jsonpath, _)) => Ok(Cow::Owned(format!("{jsonpath}{rest}"))),
        None => Err(format!(
            "unknown selector `{name}`: the selectors are {}",
            SELECTORS.iter().map(|(n, _, _)| *n).collect::<Vec<_>>().join(", ")
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selectors_expand_with_their_suffix() {
        assert_eq!(expand("$.a[*]").unwrap(), "$.a[*]");
        assert_eq!(expand("@containers").unwrap(), SELECTORS[1].1);
        assert_eq!(
            expand("@pod_specs.securityContext.sysctls[*]").unwrap(),
            format!("{}.securityContext.sysctls[*]", SELECTORS[0].1)
        );
        assert!(expand("@pods").unwrap_err().contains("unknown selector `@pods`"));
        for (_, path, _) in SELECTORS {
            assert!(crate::jsonpath::Query::parse(path).is_ok(), "{path}");
        }
    }
}
