//! The policy language v1 as data: what a policy file says, after its
//! shape has been checked against the embedded JSON Schema
//! ([`POLICY_SCHEMA`]). Compiling it (CEL, JSONPath, globs, enforcement)
//! is [`crate::compile`]'s job.

use crate::report::{Enforcement, Severity};
use serde::Deserialize;
use std::collections::BTreeMap;

/// The JSON Schema of the policy language, printed by `bylaw schema`.
pub const POLICY_SCHEMA: &str = include_str!("../../../schemas/policy.schema.json");

/// A `kind: Policy` document.
#[derive(Deserialize, Clone, Debug)]
pub struct PolicyDef {
    #[serde(rename = "apiVersion")]
    pub api_version: String,
    pub kind: String,
    pub metadata: Metadata,
    pub spec: Spec,
}

#[derive(Deserialize, Clone, Debug)]
pub struct Metadata {
    pub name: String,
    pub version: Option<String>,
    #[serde(rename = "type", default)]
    pub kind: PolicyType,
    pub description: Option<String>,
    #[serde(default)]
    pub owners: Vec<String>,
    #[serde(default)]
    pub lifecycle: Lifecycle,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
}

impl Metadata {
    /// `version` parsed as a semantic version (semver.org 2.0.0, the
    /// `semver` crate), `None` when the policy has none.
    pub fn semver(&self) -> Option<Result<semver::Version, semver::Error>> {
        self.version.as_deref().map(semver::Version::parse)
    }
}

/// What a policy is about.
#[derive(Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum PolicyType {
    #[default]
    Security,
    Compliance,
    Operational,
}

impl PolicyType {
    pub fn as_str(self) -> &'static str {
        match self {
            PolicyType::Security => "security",
            PolicyType::Compliance => "compliance",
            PolicyType::Operational => "operational",
        }
    }
}

/// Where a policy is in its life.
#[derive(Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum Lifecycle {
    /// Not evaluated unless asked (`--include-drafts`).
    Draft,
    /// Evaluated; every finding is `audit`.
    Audit,
    /// Evaluated at the rules' enforcement.
    #[default]
    Enforced,
    /// Evaluated; enforcement capped at `advisory`.
    Deprecated,
}

impl Lifecycle {
    pub fn as_str(self) -> &'static str {
        match self {
            Lifecycle::Draft => "draft",
            Lifecycle::Audit => "audit",
            Lifecycle::Enforced => "enforced",
            Lifecycle::Deprecated => "deprecated",
        }
    }
}

#[derive(Deserialize, Clone, Debug, Default)]
pub struct Spec {
    #[serde(default)]
    pub extends: Vec<String>,
    #[serde(default)]
    pub params: serde_json::Map<String, serde_json::Value>,
    /// JSON Schema of `params` (makes the policy a template).
    pub params_schema: Option<serde_json::Value>,
    pub enforcement: Option<Enforcement>,
    /// Per environment: a level, or a staged rollout (`{ enforcement, enforce_from }`).
    #[serde(default)]
    pub environments: BTreeMap<String, EnvironmentEnforcement>,
    pub enforce_from: Option<String>,
    #[serde(rename = "match", default)]
    pub matcher: Match,
    #[serde(default)]
    pub overrides: BTreeMap<String, Override>,
    #[serde(default)]
    pub disable: Vec<String>,
    #[serde(default)]
    pub rules: Vec<Rule>,
    /// What exceptions to this policy's rules must satisfy.
    #[serde(default)]
    pub exceptions: ExceptionRules,
}

/// What `spec.environments[ENV]` says: `prod: blocking`, or
/// `prod: { enforcement: blocking, enforce_from: 2027-02-01 }` so that one
/// policy version rolls out environment by environment, by date (DESIGN §4).
#[derive(Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(untagged)]
pub enum EnvironmentEnforcement {
    /// The level in that environment.
    Level(Enforcement),
    /// A level and/or the date it starts to apply in that environment.
    Staged(StagedEnforcement),
}

impl std::fmt::Display for EnvironmentEnforcement {
    /// `blocking`, or `blocking from 2027-02-01` for a staged rollout.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (self.enforcement(), self.enforce_from()) {
            (Some(l), Some(d)) => write!(f, "{l} from {d}"),
            (Some(l), None) => write!(f, "{l}"),
            (None, Some(d)) => write!(f, "the rules' levels from {d}"),
            (None, None) => write!(f, "the rules' levels"),
        }
    }
}

/// The mapping form of [`EnvironmentEnforcement`].
#[derive(Deserialize, Clone, Debug, Default, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct StagedEnforcement {
    /// Replaces the rule's level in that environment (else it is kept).
    pub enforcement: Option<Enforcement>,
    /// `YYYY-MM-DD`: in that environment, before this date the level is at
    /// most `advisory`; replaces the policy's and the rule's `enforce_from`.
    pub enforce_from: Option<String>,
}

impl EnvironmentEnforcement {
    /// The level it sets, if any.
    pub fn enforcement(&self) -> Option<Enforcement> {
        match self {
            EnvironmentEnforcement::Level(l) => Some(*l),
            EnvironmentEnforcement::Staged(s) => s.enforcement,
        }
    }

    /// The `enforce_from` it sets, as written, if any.
    pub fn enforce_from(&self) -> Option<&str> {
        match self {
            EnvironmentEnforcement::Level(_) => None,
            EnvironmentEnforcement::Staged(s) => s.enforce_from.as_deref(),
        }
    }
}

/// The owners' requirements for exceptions to a policy's rules (`spec.exceptions`).
#[derive(Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ExceptionRules {
    /// Fields an exception must have: `reason`, `approved_by`, `expires`, `ticket`, `requested_by`.
    #[serde(default)]
    pub require: Vec<String>,
    /// Longest allowed time from today to `expires`, in days.
    pub max_days: Option<u32>,
    /// When set, `approved_by` must name one of these.
    #[serde(default)]
    pub approvers: Vec<String>,
    /// Inline `# bylaw:ignore` comments: allowed, allowed with a reason, or forbidden.
    pub inline: Option<InlineMode>,
}

/// What inline suppressions may do.
#[derive(Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum InlineMode {
    #[default]
    Allow,
    RequireReason,
    Forbid,
}

/// What a policy applies to.
#[derive(Deserialize, Clone, Debug, Default)]
pub struct Match {
    #[serde(default)]
    pub target: Target,
    #[serde(default)]
    pub files: Vec<String>,
    #[serde(default)]
    pub kinds: Vec<String>,
    /// File types (`file.type`: a format's name, `github-workflow`,
    /// `gitlab-ci`, `kubernetes`, …) the policy applies to.
    #[serde(default)]
    pub types: Vec<String>,
    pub when: Option<String>,
}

/// Whether a policy runs on documents or once on the pipeline context.
#[derive(Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum Target {
    #[default]
    Documents,
    Pipeline,
}

/// A change a policy makes to one of its (inherited) rules.
#[derive(Deserialize, Clone, Debug, Default)]
pub struct Override {
    pub enforcement: Option<Enforcement>,
    pub severity: Option<Severity>,
}

/// One rule.
#[derive(Deserialize, Clone, Debug)]
pub struct Rule {
    pub id: String,
    pub title: Option<String>,
    pub description: Option<String>,
    pub severity: Option<Severity>,
    pub each: Option<String>,
    pub deny: Option<Condition>,
    pub require: Option<Condition>,
    pub at: Option<String>,
    pub message: Option<String>,
    pub remediation: Option<String>,
    #[serde(default)]
    pub controls: Vec<String>,
    pub enforcement: Option<Enforcement>,
    pub enforce_from: Option<String>,
    /// A failing and a passing input, run by `bylaw test` and shown by `bylaw explain`.
    pub examples: Option<RuleExamples>,
}

/// Documented examples of a rule: `fail` must make it fire, `pass` must not.
#[derive(Deserialize, Clone, Debug, PartialEq)]
pub struct RuleExamples {
    /// The path the examples are evaluated as (for `match.files`), default `example.yaml`.
    pub path: Option<String>,
    pub fail: Option<String>,
    pub pass: Option<String>,
}

/// A CEL string or an `all` / `any` / `not` tree of conditions.
#[derive(Deserialize, Clone, Debug, PartialEq)]
#[serde(untagged)]
pub enum Condition {
    Cel(String),
    All { all: Vec<Condition> },
    Any { any: Vec<Condition> },
    Not { not: Box<Condition> },
}
