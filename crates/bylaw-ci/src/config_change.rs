//! Changes to the project config (`.bylaw.yaml`) that weaken enforcement,
//! for the approval gate of policy changes ([`crate::policy_approval`]):
//! a pull/merge request that lowers `fail_on`, drops a policy source,
//! edits an exception list, moves a version pin or changes `approvers`
//! changes what judges the repository as surely as an edited policy does,
//! so it needs the same approval — by the `approvers` of the config as it
//! is at the BASE revision (and, for a version pin, the pinned policy's
//! base owners).
//!
//! [`weakenings`] compares the base and head configs key by key and says,
//! in one line each, what may weaken: a key whose change can only tighten
//! (a policy source added, `fail_on` raised to `advisory`) asks for
//! nothing. Where a change may go either way (`targets`, `environments`,
//! `rego`, the trust of `bundles`) it is listed: a gate never passes by
//! accident. The contents of the exception lists the config names are
//! compared by the caller (a touched file is a change).

use bylaw_engine::config::Config;
use bylaw_engine::report::{Enforcement, FailOn};
use std::collections::BTreeSet;

/// One change of the config that may weaken enforcement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Weakening {
    /// What changed, for people (`` `fail_on` lowered from blocking to never ``).
    pub what: String,
    /// The policy the change is about (a version pin's), whose base owners
    /// may approve it besides the configured approvers.
    pub policy: Option<String>,
}

impl Weakening {
    fn new(what: String) -> Weakening {
        Weakening { what, policy: None }
    }
}

/// How much of the run fails at each `fail_on` (never < blocking < advisory).
fn fail_rank(f: Option<FailOn>) -> u8 {
    match f.unwrap_or_default() {
        FailOn::Never => 0,
        FailOn::Blocking => 1,
        FailOn::Advisory => 2,
    }
}

fn fail_name(f: Option<FailOn>) -> &'static str {
    match f.unwrap_or_default() {
        FailOn::Never => "never",
        FailOn::Blocking => "blocking",
        FailOn::Advisory => "advisory",
    }
}

fn quoted(items: &[&String]) -> String {
    items.iter().map(|s| format!("`{s}`")).collect::<Vec<_>>().join(", ")
}

/// Entries of `base` missing from `head`.
fn removed<'a>(base: &'a [String], head: &[String]) -> Vec<&'a String> {
    base.iter().filter(|b| !head.contains(b)).collect()
}

fn set(items: &[String]) -> BTreeSet<&String> {
    items.iter().collect()
}

/// What in `head` may weaken enforcement compared with `base` (a missing
/// config is the defaults), in key order.
pub fn weakenings(base: &Config, head: &Config) -> Vec<Weakening> {
    let mut out = Vec::new();
    let mut push = |what: String| out.push(Weakening::new(what));
    if fail_rank(head.fail_on) < fail_rank(base.fail_on) {
        push(format!("`fail_on` lowered from {} to {}", fail_name(base.fail_on), fail_name(head.fail_on)));
    }
    let parse = |e: Option<Enforcement>| e.unwrap_or(Enforcement::Blocking);
    if parse(head.parse_errors) < parse(base.parse_errors) {
        push(format!(
            "`parse_errors` lowered from {} to {}",
            parse(base.parse_errors).as_str(),
            parse(head.parse_errors).as_str()
        ));
    }
    let gone = removed(&base.policies, &head.policies);
    if !gone.is_empty() {
        push(format!("policy source{} {} removed from `policies`", plural(gone.len()), quoted(&gone)));
    }
    let gone = removed(&base.paths, &head.paths);
    if !gone.is_empty() || (base.paths.is_empty() && !head.paths.is_empty()) {
        push(format!("`paths` narrowed (checked: {} → {})", list_or(&base.paths, "."), list_or(&head.paths, ".")));
    }
    if set(&base.targets) != set(&head.targets) {
        push(format!("`targets` changed ({} → {})", list_or(&base.targets, "all"), list_or(&head.targets, "all")));
    }
    if base.formats != head.formats {
        push("`formats` changed: files may be read as another format, or not at all".to_owned());
    }
    if set(&base.exceptions) != set(&head.exceptions) {
        push(format!(
            "`exceptions` changed ({} → {})",
            list_or(&base.exceptions, "none"),
            list_or(&head.exceptions, "none")
        ));
    }
    if base.inline_suppressions != head.inline_suppressions {
        push("`inline_suppressions` changed".to_owned());
    }
    if base.include_drafts.unwrap_or(false) && !head.include_drafts.unwrap_or(false) {
        push("`include_drafts` turned off".to_owned());
    }
    if set(&base.approvers) != set(&head.approvers) {
        push(format!(
            "`approvers` changed ({} → {})",
            list_or(&base.approvers, "none"),
            list_or(&head.approvers, "none")
        ));
    }
    if base.audit_log != head.audit_log {
        push(format!(
            "`audit_log` changed ({} → {})",
            base.audit_log.as_deref().unwrap_or("none"),
            head.audit_log.as_deref().unwrap_or("none")
        ));
    }
    if base.env != head.env {
        push(format!(
            "`env` changed ({} → {})",
            base.env.as_deref().unwrap_or("none"),
            head.env.as_deref().unwrap_or("none")
        ));
    }
    if format!("{:?}", base.rego) != format!("{:?}", head.rego) {
        push("`rego` changed: which Rego packages and data are read".to_owned());
    }
    let (b, h) = (&base.bundles, &head.bundles);
    if b.require_signatures && !h.require_signatures {
        push("`bundles.require_signatures` turned off".to_owned());
    }
    if set(&b.public_keys) != set(&h.public_keys) {
        push("`bundles.public_keys` changed: which bundle signatures are trusted".to_owned());
    }
    if b.ca_file != h.ca_file {
        push("`bundles.ca_file` changed: which servers are trusted".to_owned());
    }
    out.extend(environment_weakenings(base, head));
    out
}

/// Environments: removed or added ones, their branch patterns, their own
/// policy sources and their version pins (each pin its own line, naming
/// its policy).
fn environment_weakenings(base: &Config, head: &Config) -> Vec<Weakening> {
    let mut out = Vec::new();
    for (name, b) in &base.environments {
        let Some(h) = head.environment(name) else {
            out.push(Weakening::new(format!("environment `{name}` removed")));
            continue;
        };
        if set(&b.branches) != set(&h.branches) {
            out.push(Weakening::new(format!(
                "branches of environment `{name}` changed ({} → {})",
                list_or(&b.branches, "none"),
                list_or(&h.branches, "none")
            )));
        }
        if b.policies != h.policies {
            out.push(Weakening::new(format!(
                "`environments.{name}.policies` changed ({} → {})",
                b.policies.as_deref().map(|p| list_or(p, "none")).unwrap_or_else(|| "the top-level list".into()),
                h.policies.as_deref().map(|p| list_or(p, "none")).unwrap_or_else(|| "the top-level list".into())
            )));
        }
        let policies: BTreeSet<&String> = b.versions.keys().chain(h.versions.keys()).collect();
        for policy in policies {
            let (was, now) = (b.versions.get(policy), h.versions.get(policy));
            if was == now {
                continue;
            }
            let what = match (was, now) {
                (Some(w), Some(n)) => {
                    format!("version pin of `{policy}` in environment `{name}` changed from `{w}` to `{n}`")
                }
                (Some(w), None) => format!("version pin of `{policy}` (`{w}`) in environment `{name}` removed"),
                (None, Some(n)) => format!("version pin of `{policy}` in environment `{name}` added (`{n}`)"),
                (None, None) => continue,
            };
            out.push(Weakening { what, policy: Some(policy.clone()) });
        }
    }
    for (name, _) in head.environments.iter().filter(|(n, _)| base.environment(n).is_none()) {
        out.push(Weakening::new(format!(
            "environment `{name}` added: its branch patterns choose the policies of those branches"
        )));
    }
    out
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

fn list_or(items: &[String], none: &str) -> String {
    if items.is_empty() {
        none.to_owned()
    } else {
        items.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(text: &str) -> Config {
        Config::parse(".bylaw.yaml", text).unwrap()
    }

    fn whats(base: &str, head: &str) -> Vec<String> {
        weakenings(&cfg(base), &cfg(head)).into_iter().map(|w| w.what).collect()
    }

    #[test]
    fn tightening_asks_for_nothing() {
        let base = "policies: [policies/]\nfail_on: blocking\n";
        assert!(whats(base, "policies: [policies/, pack:dockerfile]\nfail_on: advisory\n").is_empty());
        assert!(whats(base, base).is_empty());
        assert!(whats("paths: [deploy/]\n", "paths: [deploy/, charts/]\n").is_empty());
    }

    #[test]
    fn every_weakening_is_named() {
        let base = "policies: [policies/, pack:dockerfile]\nfail_on: advisory\nparse_errors: blocking\nexceptions: [exc.yaml]\napprovers: [carol]\nbundles: { require_signatures: true, public_keys: [k.pub] }\n";
        let head = "policies: [policies/]\nfail_on: never\nparse_errors: advisory\nexceptions: [exc.yaml, more.yaml]\napprovers: [carol, mallory]\nbundles: { public_keys: [k.pub] }\n";
        assert_eq!(
            whats(base, head),
            [
                "`fail_on` lowered from advisory to never",
                "`parse_errors` lowered from blocking to advisory",
                "policy source `pack:dockerfile` removed from `policies`",
                "`exceptions` changed (exc.yaml → exc.yaml, more.yaml)",
                "`approvers` changed (carol → carol, mallory)",
                "`bundles.require_signatures` turned off",
            ]
        );
        // no config at the base: the defaults (fail on blocking)
        assert_eq!(whats("", "fail_on: never\n"), ["`fail_on` lowered from blocking to never"]);
    }

    #[test]
    fn environment_pins_name_their_policy() {
        let base = "environments:\n  prod: { branches: [main], policies: [p-1.4/], versions: { k8s: '~1.4' } }\n";
        let head = "environments:\n  prod: { branches: [main], policies: [p-1.3/], versions: { k8s: '~1.3' } }\n  dev: ['*']\n";
        let w = weakenings(&cfg(base), &cfg(head));
        let whats: Vec<&str> = w.iter().map(|w| w.what.as_str()).collect();
        assert_eq!(
            whats,
            [
                "`environments.prod.policies` changed (p-1.4/ → p-1.3/)",
                "version pin of `k8s` in environment `prod` changed from `~1.4` to `~1.3`",
                "environment `dev` added: its branch patterns choose the policies of those branches",
            ]
        );
        assert_eq!(w[1].policy.as_deref(), Some("k8s"));
        assert_eq!(w[0].policy, None);
    }
}
