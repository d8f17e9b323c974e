//! Enforcement resolution (DESIGN §4), in one place:
//!
//! 1. the rule's `enforcement`, else the policy's `spec.enforcement`, else `blocking`;
//! 2. the policy's `overrides[rule].enforcement` replaces it;
//! 3. `environments[env]` replaces it when the run has that environment;
//! 4. lifecycle: `audit` forces `audit`, `deprecated` caps at `advisory`
//!    (`draft` policies are not evaluated unless asked, see [`crate::compile`]);
//! 5. `enforce_from` (rule's, else policy's): before that date a level above
//!    `advisory` is lowered to `advisory`, with a note saying when it becomes
//!    enforced.
//!
//! Every step that changes the level leaves a note for the finding.

use crate::policy::Lifecycle;
use crate::report::Enforcement;
use chrono::NaiveDate;

/// Inputs of the resolution for one rule.
#[derive(Clone, Debug, Default)]
pub struct Inputs {
    pub rule: Option<Enforcement>,
    pub policy_default: Option<Enforcement>,
    pub overridden: Option<Enforcement>,
    /// `environments[env]` of the policy, for the run's environment.
    pub environment: Option<(String, Enforcement)>,
    pub lifecycle: Lifecycle,
    pub enforce_from: Option<NaiveDate>,
}

/// The resolved level and the notes explaining any change along the way.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Resolved {
    pub level: Enforcement,
    pub notes: Vec<String>,
}

/// The enforcement of a rule that only has its own `level` (a Rego rule, a
/// Gatekeeper Constraint): no policy default, override, environment or date.
pub fn resolve_level(level: Enforcement, today: NaiveDate) -> Resolved {
    let inputs = Inputs {
        rule: Some(level),
        policy_default: None,
        overridden: None,
        environment: None,
        lifecycle: Lifecycle::Enforced,
        enforce_from: None,
    };
    resolve(&inputs, today)
}

/// Resolves one rule's enforcement for a run on `today`.
pub fn resolve(inputs: &Inputs, today: NaiveDate) -> Resolved {
    let mut notes = Vec::new();
    let mut level = inputs.rule.or(inputs.policy_default).unwrap_or(Enforcement::Blocking);
    if let Some(o) = inputs.overridden {
        level = o;
    }
    if let Some((env, e)) = &inputs.environment {
        if *e != level {
            notes.push(format!("{e} in environment `{env}`"));
        }
        level = *e;
    }
    match inputs.lifecycle {
        Lifecycle::Audit if level != Enforcement::Audit => {
            notes.push("policy lifecycle is `audit`: reported, not enforced".into());
            level = Enforcement::Audit;
        }
        Lifecycle::Deprecated if level > Enforcement::Advisory => {
            notes.push("policy is deprecated: at most advisory".into());
            level = Enforcement::Advisory;
        }
        _ => {}
    }
    if let Some(date) = inputs.enforce_from {
        if today < date && level > Enforcement::Advisory {
            notes.push(format!("advisory until {date}: becomes {level} on {date}"));
            level = Enforcement::Advisory;
        }
    }
    Resolved { level, notes }
}

/// Parses an `enforce_from` date (`YYYY-MM-DD`, already checked by the schema).
pub fn parse_date(s: &str) -> Result<NaiveDate, String> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|e| format!("`{s}` is not a valid date: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use Enforcement::*;

    fn day(s: &str) -> NaiveDate {
        parse_date(s).unwrap()
    }

    #[test]
    fn defaults_to_blocking_and_policy_default() {
        let r = resolve(&Inputs::default(), day("2026-01-01"));
        assert_eq!(r.level, Blocking);
        assert!(r.notes.is_empty());
        let r = resolve(&Inputs { policy_default: Some(Advisory), ..Default::default() }, day("2026-01-01"));
        assert_eq!(r.level, Advisory);
        let r = resolve(
            &Inputs { rule: Some(Mandatory), policy_default: Some(Advisory), ..Default::default() },
            day("2026-01-01"),
        );
        assert_eq!(r.level, Mandatory);
    }

    #[test]
    fn order_is_rule_override_environment_lifecycle_date() {
        let base = Inputs { rule: Some(Audit), overridden: Some(Blocking), ..Default::default() };
        assert_eq!(resolve(&base, day("2026-01-01")).level, Blocking);
        let env = Inputs { environment: Some(("dev".into(), Advisory)), ..base.clone() };
        let r = resolve(&env, day("2026-01-01"));
        assert_eq!(r.level, Advisory);
        assert_eq!(r.notes, vec!["advisory in environment `dev`"]);
        let prod =
            Inputs { environment: Some(("prod".into(), Mandatory)), lifecycle: Lifecycle::Deprecated, ..base.clone() };
        let r = resolve(&prod, day("2026-01-01"));
        assert_eq!(r.level, Advisory, "deprecated caps the environment's level");
        let audit = Inputs { lifecycle: Lifecycle::Audit, ..env };
        assert_eq!(resolve(&audit, day("2026-01-01")).level, Audit);
    }

    #[test]
    fn enforce_from_is_advisory_before_the_date() {
        let i = Inputs { rule: Some(Blocking), enforce_from: Some(day("2027-01-31")), ..Default::default() };
        let before = resolve(&i, day("2027-01-30"));
        assert_eq!(before.level, Advisory);
        assert_eq!(before.notes, vec!["advisory until 2027-01-31: becomes blocking on 2027-01-31"]);
        let on = resolve(&i, day("2027-01-31"));
        assert_eq!(on.level, Blocking);
        assert!(on.notes.is_empty());
        let audit = Inputs { rule: Some(Audit), ..i };
        assert_eq!(resolve(&audit, day("2027-01-01")).level, Audit, "never raises a level");
    }
}
