//! What changed in a policy between two revisions, rule by rule, and
//! whether each change can make a repository fail where it passed before:
//! the ground for `bylaw validate --against REV` (a change that removes or
//! tightens a rule needs a new major version, DESIGN §3 `metadata.version`)
//! and for the policy section of `bylaw impact`.
//!
//! Policies are matched by `metadata.name`, rules by `id`; each is compared
//! as the engine resolves it from its definition (after `extends`): a
//! rule's enforcement is `overrides[id]`, else its own, else the policy's
//! `spec.enforcement`, else `blocking`; its severity `overrides[id]`, else
//! its own, else `medium` (DESIGN §4). Changed conditions (`deny`,
//! `require`, `each`, `match`, `params`) cannot be judged without inputs:
//! they "may tighten".

use bylaw_engine::loader::LoadedPolicy;
use bylaw_engine::policy::{Lifecycle, PolicyDef, Rule};
use bylaw_engine::report::{Enforcement, Severity};
use std::collections::BTreeSet;

/// What a change can do to a repository checked by the policy.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Effect {
    /// Cannot add a failure (a looser level, a message, a title).
    Other,
    /// A condition changed: it may find more.
    MayTighten,
    /// Finds more or fails where it warned (a higher level, a rule added at
    /// blocking, a rule enabled again, an earlier `enforce_from`).
    Tightens,
    /// A rule is gone (what named it, an exception, an override, breaks).
    Removes,
}

impl Effect {
    /// Whether semantic versioning makes it a major change.
    pub fn is_major(self) -> bool {
        self != Effect::Other
    }
}

/// One change: the rule it is about (`None`: the whole policy), what
/// changed, for a person, and its [`Effect`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Change {
    pub rule: Option<String>,
    pub what: String,
    pub effect: Effect,
}

/// How a policy or rule differs between the two revisions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    Added,
    Removed,
    Changed,
    Unchanged,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Added => "added",
            Status::Removed => "removed",
            Status::Changed => "changed",
            Status::Unchanged => "unchanged",
        }
    }
}

/// A policy at the base and the head revision.
pub struct PolicyDiff<'a> {
    pub name: String,
    pub base: Option<&'a LoadedPolicy>,
    pub head: Option<&'a LoadedPolicy>,
    pub status: Status,
    /// Every change, policy-wide first, then by rule in the head's order.
    pub changes: Vec<Change>,
}

impl PolicyDiff<'_> {
    /// `metadata.version` at the base.
    pub fn base_version(&self) -> Option<&str> {
        self.base.and_then(|p| p.def.metadata.version.as_deref())
    }

    /// `metadata.version` at the head.
    pub fn head_version(&self) -> Option<&str> {
        self.head.and_then(|p| p.def.metadata.version.as_deref())
    }
}

/// The policies of either side by name (sorted), with their changes.
pub fn diff<'a>(base: &'a [LoadedPolicy], head: &'a [LoadedPolicy]) -> Vec<PolicyDiff<'a>> {
    let names: BTreeSet<&str> = base.iter().chain(head).map(|p| p.def.metadata.name.as_str()).collect();
    names
        .into_iter()
        .map(|name| {
            let b = base.iter().find(|p| p.def.metadata.name == name);
            let h = head.iter().find(|p| p.def.metadata.name == name);
            let (status, changes) = match (b, h) {
                (Some(b), Some(h)) => {
                    let changes = changes(&b.def, &h.def);
                    (if changes.is_empty() { Status::Unchanged } else { Status::Changed }, changes)
                }
                (None, _) => (Status::Added, Vec::new()),
                (_, None) => (Status::Removed, Vec::new()),
            };
            PolicyDiff { name: name.to_owned(), base: b, head: h, status, changes }
        })
        .collect()
}

fn lifecycle_rank(l: Lifecycle) -> u8 {
    match l {
        Lifecycle::Draft => 0,
        Lifecycle::Audit => 1,
        Lifecycle::Deprecated => 2,
        Lifecycle::Enforced => 3,
    }
}

/// The enforcement rule `r` resolves to from its policy's definition.
pub fn rule_enforcement(def: &PolicyDef, r: &Rule) -> Enforcement {
    def.spec
        .overrides
        .get(&r.id)
        .and_then(|o| o.enforcement)
        .or(r.enforcement)
        .or(def.spec.enforcement)
        .unwrap_or(Enforcement::Blocking)
}

/// The severity rule `r` resolves to from its policy's definition.
pub fn rule_severity(def: &PolicyDef, r: &Rule) -> Severity {
    def.spec.overrides.get(&r.id).and_then(|o| o.severity).or(r.severity).unwrap_or(Severity::Medium)
}

fn push(out: &mut Vec<Change>, rule: Option<&str>, what: String, effect: Effect) {
    out.push(Change { rule: rule.map(str::to_owned), what, effect });
}

/// `enforce_from` dates compared: earlier or removed tightens.
fn enforce_from(out: &mut Vec<Change>, rule: Option<&str>, base: Option<&str>, head: Option<&str>) {
    match (base, head) {
        (Some(b), Some(h)) if h < b => {
            push(out, rule, format!("`enforce_from` moved earlier, from {b} to {h}"), Effect::Tightens)
        }
        (Some(b), Some(h)) if h != b => {
            push(out, rule, format!("`enforce_from` moved later, from {b} to {h}"), Effect::Other)
        }
        (Some(b), None) => push(out, rule, format!("`enforce_from` {b} removed: enforced now"), Effect::Tightens),
        (None, Some(h)) => push(out, rule, format!("`enforce_from` {h} set"), Effect::Other),
        _ => {}
    }
}

/// Every change from `base` to `head` of one policy.
pub fn changes(base: &PolicyDef, head: &PolicyDef) -> Vec<Change> {
    let mut out = Vec::new();
    let (bs, hs) = (&base.spec, &head.spec);
    let (bl, hl) = (base.metadata.lifecycle, head.metadata.lifecycle);
    if bl != hl {
        let effect = if lifecycle_rank(hl) > lifecycle_rank(bl) { Effect::Tightens } else { Effect::Other };
        push(&mut out, None, format!("lifecycle moved from {} to {}", bl.as_str(), hl.as_str()), effect);
    }
    let envs: BTreeSet<&String> = bs.environments.keys().chain(hs.environments.keys()).collect();
    for env in envs {
        match (bs.environments.get(env), hs.environments.get(env)) {
            (Some(b), Some(h)) if b != h => {
                match (b.enforcement(), h.enforcement()) {
                    (Some(bl), Some(hl)) if hl > bl => {
                        push(&mut out, None, format!("`environments.{env}` raised from {bl} to {hl}"), Effect::Tightens)
                    }
                    (Some(bl), Some(hl)) if hl < bl => {
                        push(&mut out, None, format!("`environments.{env}` lowered from {bl} to {hl}"), Effect::Other)
                    }
                    (bl, hl) if bl != hl => push(
                        &mut out,
                        None,
                        format!("`environments.{env}` changed from {b} to {h}"),
                        Effect::MayTighten,
                    ),
                    _ => {}
                }
                enforce_from(&mut out, None, b.enforce_from(), h.enforce_from());
            }
            (None, Some(h)) => push(&mut out, None, format!("`environments.{env}` set to {h}"), Effect::MayTighten),
            (Some(b), None) => push(
                &mut out,
                None,
                format!("`environments.{env}` ({b}) removed: the rules' own levels apply"),
                Effect::MayTighten,
            ),
            _ => {}
        }
    }
    enforce_from(&mut out, None, bs.enforce_from.as_deref(), hs.enforce_from.as_deref());
    let (bm, hm) = (&bs.matcher, &hs.matcher);
    if bm.target != hm.target
        || bm.files != hm.files
        || bm.kinds != hm.kinds
        || bm.types != hm.types
        || bm.when != hm.when
    {
        push(&mut out, None, "`match` changed (may tighten)".into(), Effect::MayTighten);
    }
    if bs.params != hs.params {
        push(&mut out, None, "`params` changed (may tighten)".into(), Effect::MayTighten);
    }
    let disabled = |d: &Vec<String>, id: &str| d.iter().any(|x| x == id);
    for r in &hs.rules {
        let id = r.id.as_str();
        let Some(b) = bs.rules.iter().find(|b| b.id == r.id) else {
            if disabled(&hs.disable, id) {
                continue;
            }
            let level = rule_enforcement(head, r);
            let effect = if level.is_blocking() { Effect::Tightens } else { Effect::Other };
            push(&mut out, Some(id), format!("added at {level}"), effect);
            continue;
        };
        match (disabled(&bs.disable, id), disabled(&hs.disable, id)) {
            (true, false) => {
                push(&mut out, Some(id), "enabled again (no longer in `disable`)".into(), Effect::Tightens)
            }
            (false, true) => push(&mut out, Some(id), "disabled".into(), Effect::Other),
            _ => {}
        }
        let (be, he) = (rule_enforcement(base, b), rule_enforcement(head, r));
        if he != be {
            let (word, effect) = if he > be { ("raised", Effect::Tightens) } else { ("lowered", Effect::Other) };
            push(&mut out, Some(id), format!("enforcement {word} from {be} to {he}"), effect);
        }
        let (bv, hv) = (rule_severity(base, b), rule_severity(head, r));
        if hv != bv {
            let (word, effect) = if hv > bv { ("raised", Effect::Tightens) } else { ("lowered", Effect::Other) };
            push(&mut out, Some(id), format!("severity {word} from {bv} to {hv}"), effect);
        }
        enforce_from(&mut out, Some(id), b.enforce_from.as_deref(), r.enforce_from.as_deref());
        for (key, changed) in
            [("deny", b.deny != r.deny), ("require", b.require != r.require), ("each", b.each != r.each)]
        {
            if changed {
                push(&mut out, Some(id), format!("`{key}` changed (may tighten)"), Effect::MayTighten);
            }
        }
        let other = [
            ("at", b.at != r.at),
            ("message", b.message != r.message),
            ("title", b.title != r.title),
            ("remediation", b.remediation != r.remediation),
            ("controls", b.controls != r.controls),
        ];
        let names: Vec<&str> = other.iter().filter(|(_, c)| *c).map(|(k, _)| *k).collect();
        if !names.is_empty() {
            let list = names.iter().map(|k| format!("`{k}`")).collect::<Vec<_>>().join(", ");
            push(&mut out, Some(id), format!("{list} changed"), Effect::Other);
        }
    }
    for b in bs.rules.iter().filter(|b| !hs.rules.iter().any(|r| r.id == b.id)) {
        push(&mut out, Some(&b.id), "removed".into(), Effect::Removes);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn def(yaml: &str) -> PolicyDef {
        let mut loaded = bylaw_engine::loader::Loaded::default();
        bylaw_engine::loader::load_text("p.yaml", yaml, true, &mut loaded);
        assert!(!loaded.has_errors(), "{:?}", loaded.diagnostics);
        loaded.policies[0].def.clone()
    }

    const BASE: &str = "apiVersion: bylaw/v1\nkind: Policy\nmetadata: { name: p, version: 1.0.0 }\nspec:\n  enforcement: advisory\n  disable: [R-3]\n  rules:\n    - { id: R-1, deny: \"doc.a == 1\" }\n    - { id: R-2, deny: \"doc.b == 1\", enforce_from: 2027-01-01 }\n    - { id: R-3, deny: \"doc.c == 1\" }\n    - { id: R-4, deny: \"doc.d == 1\" }\n";

    #[test]
    fn tightening_changes_are_told_apart_from_loosening_ones() {
        let head = BASE
            .replace("R-1, deny: \"doc.a == 1\"", "R-1, deny: \"doc.a == 1\", enforcement: blocking")
            .replace("2027-01-01", "2026-07-01")
            .replace("disable: [R-3]", "disable: []")
            .replace(
                "    - { id: R-4, deny: \"doc.d == 1\" }\n",
                "    - { id: R-5, deny: \"doc.e == 1\", severity: low }\n",
            );
        let c = changes(&def(BASE), &def(&head));
        let got: Vec<(Option<&str>, &str, Effect)> =
            c.iter().map(|c| (c.rule.as_deref(), c.what.as_str(), c.effect)).collect();
        assert_eq!(
            got,
            vec![
                (Some("R-1"), "enforcement raised from advisory to blocking", Effect::Tightens),
                (Some("R-2"), "`enforce_from` moved earlier, from 2027-01-01 to 2026-07-01", Effect::Tightens),
                (Some("R-3"), "enabled again (no longer in `disable`)", Effect::Tightens),
                (Some("R-5"), "added at advisory", Effect::Other),
                (Some("R-4"), "removed", Effect::Removes),
            ]
        );
    }

    #[test]
    fn changed_conditions_may_tighten_and_lower_levels_do_not() {
        let head = BASE.replace("enforcement: advisory", "enforcement: audit").replace("doc.b == 1", "doc.b >= 1");
        let c = changes(&def(BASE), &def(&head));
        assert!(c.iter().all(|c| c.effect != Effect::Tightens), "{c:?}");
        assert!(c.contains(&Change {
            rule: Some("R-2".into()),
            what: "`deny` changed (may tighten)".into(),
            effect: Effect::MayTighten
        }));
        assert!(c.iter().any(|c| c.what == "enforcement lowered from advisory to audit"));
        assert!(changes(&def(BASE), &def(BASE)).is_empty());
    }
}
