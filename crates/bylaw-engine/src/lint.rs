//! What `bylaw validate` checks beyond loading and compiling: constant
//! (unreachable or always-firing) conditions, conflicting rules, exception
//! entries naming unknown rules, and lints (warnings): a policy without
//! `metadata.version`, a rule without remediation, a rule without tests,
//! a compliance rule without controls.

use crate::compile::strip_strings;
use crate::diagnostic::{Code, Diagnostic, Level};
use crate::exceptions::Exception;
use crate::language::cel::{cel_env, root_context};
use crate::loader::LoadedPolicy;
use crate::node::Span;
use crate::policy::{Condition, PolicyType};
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

/// Rule ids that some test case or rule example exercises.
pub type Tested = BTreeSet<String>;

/// Runs every check; errors and warnings, located.
pub fn lint(policies: &[LoadedPolicy], exceptions: &[Exception], tested: &Tested) -> Vec<Diagnostic> {
    lint_with(policies, &BTreeSet::new(), exceptions, tested)
}

/// [`lint`], where the rules of `other_rules` (ids of the Rego and
/// Gatekeeper policies, which have no YAML to lint) are known to
/// exceptions too.
pub fn lint_with(
    policies: &[LoadedPolicy],
    other_rules: &BTreeSet<String>,
    exceptions: &[Exception],
    tested: &Tested,
) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let env = Arc::new(cel_env());
    let ctx = root_context(env.clone());
    for p in policies {
        // every policy carries a semver version (issue 18): lock files,
        // `versions` requirements and explain read it
        if p.def.metadata.version.is_none() && !p.file.starts_with("pack:") {
            out.push(
                Diagnostic::warning(
                    Code::Lint,
                    &p.file,
                    Some(p.root.span_of_pointer("/metadata").0),
                    format!("policy `{}` has no `metadata.version`", p.def.metadata.name),
                )
                .with_hint("add a semantic version, e.g. `version: 1.0.0`, and raise it with every change: environments pin policies by version"),
            );
        }
        for (i, r) in p.def.spec.rules.iter().enumerate() {
            let file = p.rule_file(i).to_owned();
            let own = file == p.file;
            for (key, cond) in [("deny", &r.deny), ("require", &r.require)] {
                if let Some(c) = cond {
                    constant_leaves(p, i, &format!("/{key}"), c, key, &env, &ctx, &mut out);
                }
            }
            if !own {
                continue; // lints belong to the file the rule is written in
            }
            let at_id = Some(p.rule_span(i, "/id"));
            if r.remediation.is_none() {
                out.push(
                    Diagnostic::warning(Code::Lint, &file, at_id, format!("rule `{}` has no `remediation`", r.id))
                        .with_hint("say how to fix a violation: it is shown in every output and in SARIF help"),
                );
            }
            if r.examples.is_none() && !tested.contains(&r.id) {
                out.push(
                    Diagnostic::warning(Code::Lint, &file, at_id, format!("rule `{}` has no tests", r.id))
                        .with_hint("add `examples: { fail: …, pass: … }` to the rule, or a case in a *.test.yaml file"),
                );
            }
            if p.def.metadata.kind == PolicyType::Compliance && r.controls.is_empty() {
                out.push(
                    Diagnostic::warning(
                        Code::Lint,
                        &file,
                        at_id,
                        format!("rule `{}` of compliance policy `{}` maps to no `controls`", r.id, p.def.metadata.name),
                    )
                    .with_hint("list the controls it evidences, e.g. `controls: [SOC2-CC6.1, PCI-DSS-2.2.5]`"),
                );
            }
        }
    }
    conflicts(policies, &mut out);
    let known: BTreeSet<&str> = policies.iter().flat_map(|p| p.def.spec.rules.iter().map(|r| r.id.as_str())).collect();
    for e in exceptions {
        for rule in &e.rules {
            if rule == "*" || rule.starts_with("bylaw/") || known.contains(rule.as_str()) || other_rules.contains(rule)
            {
                continue;
            }
            let mut d = Diagnostic::error(
                Code::Exception,
                &e.file,
                Some(e.span),
                format!("exception `{}` names unknown rule `{rule}`", e.id),
            );
            d.hint = Some(match crate::diagnostic::did_you_mean(rule, known.iter().copied()) {
                Some(m) => format!("did you mean `{m}`?"),
                None => "it matches nothing: fix the id or remove the exception".into(),
            });
            out.push(d);
        }
    }
    out
}

/// Warns about CEL leaves that read no variable: they are constant.
#[allow(clippy::too_many_arguments)]
fn constant_leaves(
    p: &LoadedPolicy,
    i: usize,
    pointer: &str,
    c: &Condition,
    key: &str,
    env: &cel::Env,
    ctx: &cel::Context<'_, '_>,
    out: &mut Vec<Diagnostic>,
) {
    match c {
        Condition::Cel(src) => {
            let Ok(program) = env.compile(src) else { return };
            if !program.references().variables().is_empty() {
                return;
            }
            let code = strip_strings(src);
            if code.contains("now") {
                return;
            }
            let Ok(cel::Value::Bool(b)) = program.execute(ctx) else { return };
            let top = pointer == "/deny" || pointer == "/require";
            let effect = match (top, key, b) {
                (true, "deny", false) | (true, "require", true) => " so the rule can never fire",
                (true, "deny", true) | (true, "require", false) => " so the rule fires on every target",
                _ => "",
            };
            let level = if effect.is_empty() { Level::Warning } else { Level::Error };
            let span = Some(p.rule_span(i, pointer));
            let msg = format!("condition `{src}` reads no data: it is always {b}{effect}");
            let d = match level {
                Level::Error => Diagnostic::error(Code::Constant, p.rule_file(i), span, msg),
                _ => Diagnostic::warning(Code::Constant, p.rule_file(i), span, msg),
            };
            out.push(d.with_hint("conditions should read `doc`, `item`, `params`, `ctx` or `file`"));
        }
        Condition::All { all: list } | Condition::Any { any: list } => {
            let k = if matches!(c, Condition::All { .. }) { "all" } else { "any" };
            for (j, sub) in list.iter().enumerate() {
                constant_leaves(p, i, &format!("{pointer}/{k}/{j}"), sub, key, env, ctx, out);
            }
        }
        Condition::Not { not } => constant_leaves(p, i, &format!("{pointer}/not"), not, key, env, ctx, out),
    }
}

/// A condition as comparable text (whitespace outside strings removed).
fn normalized(c: &Condition) -> String {
    match c {
        Condition::Cel(s) => {
            let mut out = String::new();
            let mut quote = None;
            for ch in s.chars() {
                match quote {
                    Some(q) if ch == q => quote = None,
                    Some(_) => {}
                    None if ch == '\'' || ch == '"' => quote = Some(ch),
                    None if ch.is_whitespace() => continue,
                    None => {}
                }
                out.push(ch);
            }
            out
        }
        Condition::All { all } => format!("all[{}]", all.iter().map(normalized).collect::<Vec<_>>().join(",")),
        Condition::Any { any } => format!("any[{}]", any.iter().map(normalized).collect::<Vec<_>>().join(",")),
        Condition::Not { not } => format!("not[{}]", normalized(not)),
    }
}

/// Rules with the same match and `each` where one denies and the other
/// requires the same condition: together they fire on every target.
fn conflicts(policies: &[LoadedPolicy], out: &mut Vec<Diagnostic>) {
    /// The first rule of a (match, each, condition): id, kind, policy, and where its condition is.
    struct First<'p> {
        id: String,
        kind: &'static str,
        policy: String,
        at: (&'p str, Span),
    }
    let mut seen: HashMap<(String, String, String), First<'_>> = HashMap::new();
    for p in policies {
        let scope = serde_json::to_string(&p.root.to_json()["spec"]["match"]).unwrap_or_default();
        for (i, r) in p.def.spec.rules.iter().enumerate() {
            let (kind, cond) = match (&r.deny, &r.require) {
                (Some(c), None) => ("deny", c),
                (None, Some(c)) => ("require", c),
                _ => continue,
            };
            let key = (scope.clone(), r.each.clone().unwrap_or_default(), normalized(cond));
            match seen.get(&key) {
                Some(First { id: other, kind: other_kind, policy: other_policy, at: (other_file, other_span) })
                    if *other_kind != kind =>
                {
                    out.push(
                    Diagnostic::error(
                        Code::Conflict,
                        p.rule_file(i),
                        Some(p.rule_span(i, &format!("/{kind}"))),
                        format!(
                            "rule `{}` {} the condition that rule `{other}` (policy `{other_policy}`) {}, on the same targets: together they fire on every target",
                            r.id,
                            verb(kind),
                            verb(other_kind)
                        ),
                    )
                    .with_label(*other_file, *other_span, format!("rule `{other}` {} it here", verb(other_kind)))
                    .with_hint("keep one of the two rules"),
                    )
                }
                Some(_) => {}
                None => {
                    let at = (p.rule_file(i), p.rule_span(i, &format!("/{kind}")));
                    seen.insert(key, First { id: r.id.clone(), kind, policy: p.def.metadata.name.clone(), at });
                }
            }
        }
    }
}

fn verb(kind: &str) -> &'static str {
    if kind == "deny" {
        "denies"
    } else {
        "requires"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lint_text(text: &str) -> Vec<Diagnostic> {
        let mut loaded = crate::loader::Loaded::default();
        crate::loader::load_text("p.yaml", text, true, &mut loaded);
        assert!(loaded.diagnostics.is_empty(), "{:?}", loaded.diagnostics);
        lint(&loaded.policies, &[], &Tested::new())
    }

    const POLICY: &str = "apiVersion: bylaw/v1\nkind: Policy\nmetadata:\n  name: demo\nspec:\n  rules:\n    - id: R-1\n      remediation: fix it\n      examples: { fail: 'x: 1' }\n      deny: \"doc.x == 1\"\n";

    #[test]
    fn a_policy_without_a_version_is_warned_at_its_metadata() {
        let d = lint_text(POLICY);
        assert_eq!(d.len(), 1, "{d:?}");
        assert_eq!(d[0].level, Level::Warning);
        assert_eq!(d[0].location(), "p.yaml:3:1");
        assert_eq!(d[0].message, "policy `demo` has no `metadata.version`");
        assert!(d[0].hint.as_deref().unwrap_or("").contains("`version: 1.0.0`"));
        let d = lint_text(&POLICY.replace("  name: demo\n", "  name: demo\n  version: 1.0.0\n"));
        assert!(d.is_empty(), "{d:?}");
    }
}
