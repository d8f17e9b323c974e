//! Enforcement resolution (DESIGN §4), in one place:
//!
//! 1. the rule's `enforcement`, else the policy's `spec.enforcement`, else `blocking`;
//! 2. the policy's `overrides[rule].enforcement` replaces it;
//! 3. `environments[env]` replaces it when the run has that environment
//!    and the policy names it: a level, or a staged rollout
//!    `{ enforcement, enforce_from }` whose date replaces the policy's and
//!    the rule's `enforce_from` in that environment;
//! 4. lifecycle: `audit` forces `audit`, `deprecated` caps at `advisory`
//!    (`draft` policies are not evaluated unless asked, see [`crate::compile`]);
//! 5. `enforce_from` (the environment's, else the rule's, else the
//!    policy's): before that date a level above `advisory` is lowered to
//!    `advisory`, with a note saying when it becomes enforced.
//!
//! Every step that changes the level leaves a note for the finding, and
//! every step that applies is one line of [`Resolved::steps`], the "why"
//! that `bylaw explain --effective --env ENV` prints.

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
    pub environment: Option<Environment>,
    pub lifecycle: Lifecycle,
    /// The rule's `enforce_from`, else the policy's.
    pub enforce_from: Option<NaiveDate>,
}

/// What a policy's `environments[env]` says for the run's environment.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Environment {
    /// The environment's name.
    pub name: String,
    /// The level there (`dev: advisory`, or the mapping's `enforcement`).
    pub enforcement: Option<Enforcement>,
    /// The mapping's `enforce_from`: the date the level applies from there.
    pub enforce_from: Option<NaiveDate>,
}

/// The resolved level and the notes explaining any change along the way.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Resolved {
    pub level: Enforcement,
    pub notes: Vec<String>,
    /// Each step of the resolution that applied, in order, starting with
    /// where the level comes from: `rule blocking`, `override advisory`,
    /// `env prod: enforce_from 2027-02-01`, `lifecycle audit`, …
    pub steps: Vec<String>,
    /// When `enforce_from` holds the level down: the date and the level
    /// from that date on (`level` is `advisory` until then).
    pub until: Option<(NaiveDate, Enforcement)>,
}

impl Resolved {
    /// `blocking`, or `advisory until 2027-02-01, then blocking`.
    pub fn describe(&self) -> String {
        match self.until {
            Some((date, then)) => format!("{} until {date}, then {then}", self.level),
            None => self.level.to_string(),
        }
    }
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
    let mut steps = Vec::new();
    let mut level = match (inputs.rule, inputs.policy_default) {
        (Some(l), _) => {
            steps.push(format!("rule {l}"));
            l
        }
        (None, Some(l)) => {
            steps.push(format!("policy {l}"));
            l
        }
        (None, None) => {
            steps.push("default blocking".to_owned());
            Enforcement::Blocking
        }
    };
    if let Some(o) = inputs.overridden {
        steps.push(format!("override {o}"));
        level = o;
    }
    if let Some(env) = &inputs.environment {
        if let Some(e) = env.enforcement {
            if e != level {
                notes.push(format!("{e} in environment `{}`", env.name));
                steps.push(format!("env {}: {e}", env.name));
            }
            level = e;
        }
    }
    match inputs.lifecycle {
        Lifecycle::Audit if level != Enforcement::Audit => {
            notes.push("policy lifecycle is `audit`: reported, not enforced".into());
            steps.push("lifecycle audit".into());
            level = Enforcement::Audit;
        }
        Lifecycle::Deprecated if level > Enforcement::Advisory => {
            notes.push("policy is deprecated: at most advisory".into());
            steps.push("lifecycle deprecated: at most advisory".into());
            level = Enforcement::Advisory;
        }
        _ => {}
    }
    let env_from = inputs.environment.as_ref().and_then(|e| e.enforce_from.map(|d| (d, e.name.as_str())));
    let from = env_from.map(|(d, n)| (d, Some(n))).or(inputs.enforce_from.map(|d| (d, None)));
    let mut until = None;
    if let Some((date, env)) = from {
        if level > Enforcement::Advisory {
            let (step, note_env) = match env {
                Some(n) => (format!("env {n}: enforce_from {date}"), format!(" in environment `{n}`")),
                None => (format!("enforce_from {date}"), String::new()),
            };
            if today < date {
                notes.push(format!("advisory until {date}: becomes {level} on {date}{note_env}"));
                steps.push(step);
                until = Some((date, level));
                level = Enforcement::Advisory;
            } else {
                steps.push(format!("{step}, passed"));
            }
        }
    }
    Resolved { level, notes, steps, until }
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

    fn env_of(name: &str, enforcement: Option<Enforcement>, from: Option<&str>) -> Environment {
        Environment { name: name.into(), enforcement, enforce_from: from.map(day) }
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
        let env = Inputs { environment: Some(env_of("dev", Some(Advisory), None)), ..base.clone() };
        let r = resolve(&env, day("2026-01-01"));
        assert_eq!(r.level, Advisory);
        assert_eq!(r.notes, vec!["advisory in environment `dev`"]);
        let prod = Inputs {
            environment: Some(env_of("prod", Some(Mandatory), None)),
            lifecycle: Lifecycle::Deprecated,
            ..base.clone()
        };
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

    #[test]
    fn each_step_is_explained() {
        let i = Inputs { rule: Some(Advisory), overridden: Some(Blocking), ..Default::default() };
        let r = resolve(&i, day("2026-01-01"));
        assert_eq!(r.steps, ["rule advisory", "override blocking"]);
        assert_eq!(r.describe(), "blocking");
        let i = Inputs { policy_default: Some(Mandatory), lifecycle: Lifecycle::Deprecated, ..Default::default() };
        let r = resolve(&i, day("2026-01-01"));
        assert_eq!(r.steps, ["policy mandatory", "lifecycle deprecated: at most advisory"]);
        assert_eq!(r.describe(), "advisory");
        let r = resolve(&Inputs { lifecycle: Lifecycle::Audit, ..Default::default() }, day("2026-01-01"));
        assert_eq!(r.steps, ["default blocking", "lifecycle audit"]);
        assert_eq!(r.describe(), "audit");
    }

    #[test]
    fn an_environment_stages_a_rollout_by_date() {
        let rule = Inputs { rule: Some(Blocking), enforce_from: Some(day("2026-06-01")), ..Default::default() };
        let dev = Inputs { environment: Some(env_of("dev", Some(Blocking), None)), ..rule.clone() };
        let staging =
            Inputs { environment: Some(env_of("staging", Some(Blocking), Some("2027-01-15"))), ..rule.clone() };
        let prod = Inputs { environment: Some(env_of("prod", None, Some("2027-02-01"))), ..rule.clone() };
        let today = day("2027-01-20");
        // dev: the policy's date has passed
        let r = resolve(&dev, today);
        assert_eq!((r.level, r.until), (Blocking, None));
        assert_eq!(r.steps, ["rule blocking", "enforce_from 2026-06-01, passed"]);
        // staging: its own date has passed
        let r = resolve(&staging, today);
        assert_eq!(r.level, Blocking);
        assert_eq!(r.steps, ["rule blocking", "env staging: enforce_from 2027-01-15, passed"]);
        assert!(r.notes.is_empty());
        // prod: its own date replaces the policy's, still ahead
        let r = resolve(&prod, today);
        assert_eq!(r.level, Advisory);
        assert_eq!(r.until, Some((day("2027-02-01"), Blocking)));
        assert_eq!(r.describe(), "advisory until 2027-02-01, then blocking");
        assert_eq!(r.steps, ["rule blocking", "env prod: enforce_from 2027-02-01"]);
        assert_eq!(r.notes, ["advisory until 2027-02-01: becomes blocking on 2027-02-01 in environment `prod`"]);
        assert_eq!(resolve(&prod, day("2027-02-01")).level, Blocking, "on the date");
        // an environment's lower level: the date changes nothing
        let low = Inputs { environment: Some(env_of("qa", Some(Advisory), Some("2027-02-01"))), ..rule };
        let r = resolve(&low, today);
        assert_eq!((r.level, r.until), (Advisory, None));
        assert_eq!(r.steps, ["rule blocking", "env qa: advisory"]);
        // audit lifecycle wins over the environment's level; no date then
        let audit = Inputs { lifecycle: Lifecycle::Audit, ..prod };
        let r = resolve(&audit, today);
        assert_eq!((r.level, r.until), (Audit, None));
        assert_eq!(r.steps, ["rule blocking", "lifecycle audit"]);
    }
}
