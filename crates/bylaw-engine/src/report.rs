//! The platform-neutral Report: everything a run found, in a deterministic
//! order. Every emitter (text, JSON, SARIF, JUnit, Markdown, …) and every
//! adapter reads only this; nothing here knows about a CI platform.
//!
//! The JSON form of [`Report`] is a published format (`schemas/report.schema.json`,
//! printed by `bylaw schema --report`); bump [`REPORT_VERSION`] on any
//! incompatible change.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Version of the JSON report format (`schemas/report.schema.json`): the
/// minor version grows with additions a 1.0 reader can ignore — 1.1 added
/// verdict `error` and `errors` (a run stopped with exit 2).
pub const REPORT_VERSION: &str = "1.1";

/// How strongly a finding is enforced, from weakest to strongest.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[serde(rename_all = "lowercase")]
pub enum Enforcement {
    /// Recorded as a note; never fails the pipeline.
    Audit,
    /// Reported as a warning; never fails the pipeline.
    Advisory,
    /// An error that fails the pipeline unless an approved exception covers it.
    Blocking,
    /// An error that fails the pipeline; exceptions are not honoured.
    Mandatory,
}

impl Enforcement {
    /// The lowercase name used in policies, reports and CLI flags.
    pub fn as_str(self) -> &'static str {
        match self {
            Enforcement::Audit => "audit",
            Enforcement::Advisory => "advisory",
            Enforcement::Blocking => "blocking",
            Enforcement::Mandatory => "mandatory",
        }
    }

    /// Whether a finding at this level fails the pipeline (when not excepted).
    pub fn is_blocking(self) -> bool {
        matches!(self, Enforcement::Blocking | Enforcement::Mandatory)
    }
}

impl fmt::Display for Enforcement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How bad a violation is, independent of how it is enforced.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }

    /// CVSS-like score for SARIF's `security-severity` property (GitHub maps
    /// >= 9.0 critical, >= 7.0 high, >= 4.0 medium, > 0 low).
    pub fn security_severity(self) -> &'static str {
        match self {
            Severity::Critical => "9.5",
            Severity::High => "8.0",
            Severity::Medium => "5.5",
            Severity::Low => "3.0",
            Severity::Info => "0.0",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The threshold at which findings fail the run (`--fail-on`).
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum FailOn {
    /// Unexcepted blocking or mandatory findings fail the run (the default).
    #[default]
    Blocking,
    /// Advisory findings fail the run too.
    Advisory,
    /// Nothing fails the run; exit code 0 whatever was found.
    Never,
}

impl FailOn {
    /// Whether a finding at `level` (not excepted) fails the run.
    pub fn fails(self, level: Enforcement) -> bool {
        match self {
            FailOn::Blocking => level.is_blocking(),
            FailOn::Advisory => level >= Enforcement::Advisory,
            FailOn::Never => false,
        }
    }
}

/// The outcome of a run.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Pass,
    Fail,
    /// The run stopped before evaluating (exit 2: policy, config or
    /// exception errors); [`Report::errors`] says why.
    Error,
}

/// A problem that stopped the run (exit 2), as the JSON report lists it:
/// a policy, config or exception-list error with where it is.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct RunError {
    /// `error` or `warning`.
    pub level: String,
    /// The diagnostic's category (`yaml`, `schema`, `cel`, `io`, …).
    pub code: String,
    /// The file it is about (root-relative; empty when none).
    pub path: String,
    /// 1-based line and column, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<u32>,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

/// A 1-based line/column range in a file, as an editor shows it. Columns
/// count characters (not bytes), starting at 1; `end_column` is exclusive
/// (the column just after the node), as in SARIF regions.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Location {
    /// Path relative to the run's root (the working directory), with `/`.
    pub path: String,
    pub start_line: u32,
    pub start_column: u32,
    pub end_line: u32,
    pub end_column: u32,
}

/// The Kubernetes-style identity of the document a finding is in, when it has one.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Default)]
pub struct Resource {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// An exception that covers a finding (filled by the exceptions machinery).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct AppliedException {
    /// Id of the exception (`EXC-0042`, or `inline` for `# bylaw:ignore`).
    pub id: String,
    /// Why the finding is accepted.
    pub reason: String,
    /// `external` for an exception file or an approved request, `inSource` for inline.
    pub kind: String,
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub approved_by: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires: Option<String>,
}

/// One violation (or evaluation problem) of one rule on one target.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Finding {
    /// Rule id (`K8S-001`, or `bylaw/parse-error`, `bylaw/eval-error`).
    pub rule_id: String,
    /// Name of the policy the rule belongs to (`bylaw` for built-in rules).
    pub policy: String,
    pub severity: Severity,
    /// The resolved enforcement level (after overrides, environment, lifecycle, dates).
    pub enforcement: Enforcement,
    pub message: String,
    pub location: Location,
    /// 0-based index of the document in a multi-document file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub document: Option<u32>,
    /// JSON pointer (RFC 6901) of the node the finding points at, within the
    /// document: the symbolic location the line numbers were resolved from.
    pub pointer: String,
    /// Shared by every finding of one document.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource: Option<std::sync::Arc<Resource>>,
    /// Stable identity of the finding across unrelated edits (32 hex
    /// digits, a SHA-256 prefix of rule, path, resource and the place's
    /// identity — its pointer with named list items by name, see
    /// [`crate::eval::identity`]; never line numbers).
    pub fingerprint: String,
    /// Extra facts for humans, e.g. "becomes blocking on 2027-01-31".
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub notes: Vec<String>,
    /// Set when an exception covers the finding: it is still reported but does not fail the run.
    /// Boxed: most findings have none, and a finding's inline size is paid
    /// per finding held (DESIGN §10).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exception: Option<Box<AppliedException>>,
    /// Against a baseline (`check --baseline FILE`, [`crate::baseline`]):
    /// `new`, or `unchanged` for a finding the baseline holds (reported at
    /// audit level). `None` when the run has no baseline.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub baseline: Option<BaselineState>,
}

/// Where a finding stands against a baseline: SARIF 2.1.0 §3.27.24
/// `baselineState` (`new`, `unchanged`; bylaw keys findings by their
/// fingerprint, so an edited finding is `new`, never `updated`).
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum BaselineState {
    New,
    Unchanged,
}

impl Finding {
    /// Whether this finding fails the run under `fail_on`.
    pub fn fails(&self, fail_on: FailOn) -> bool {
        self.exception.is_none() && fail_on.fails(self.enforcement)
    }
}

/// Documentation of a rule, once per rule in the report (SARIF reportingDescriptor).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct RuleInfo {
    pub id: String,
    pub policy: String,
    pub title: String,
    pub severity: Severity,
    /// The enforcement level the rule resolved to in this run.
    pub enforcement: Enforcement,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remediation: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub controls: Vec<String>,
    /// `security`, `compliance` or `operational` (the policy's type).
    pub kind: String,
}

/// A policy that took part in the run.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct PolicyInfo {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// `security`, `compliance` or `operational`.
    #[serde(rename = "type")]
    pub kind: String,
    pub lifecycle: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// File the policy was loaded from.
    pub source: String,
    /// `metadata.owners`: who approves exceptions to its rules.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub owners: Vec<String>,
    /// Ids of the rules evaluated in this run (disabled rules left out).
    pub rules: Vec<String>,
    /// Paths of the files the policy was evaluated on, sorted (`<pipeline>` for
    /// a pipeline policy). Every rule × target without a finding passed.
    pub targets: Vec<String>,
}

/// The policies and rules of a compiled set, known before any file is
/// evaluated: what exception requests are checked against (a rule's policy,
/// the policy's owners) and what every report lists. `targets` is empty.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Catalog {
    /// Sorted by name.
    pub policies: Vec<PolicyInfo>,
    /// Sorted by id, one entry per id (built-in rules not included).
    pub rules: Vec<RuleInfo>,
}

impl Catalog {
    /// The documentation of `rule_id`, if a policy of the set has it.
    pub fn rule(&self, rule_id: &str) -> Option<&RuleInfo> {
        self.rules.iter().find(|r| r.id == rule_id)
    }

    /// The policy named `name`.
    pub fn policy(&self, name: &str) -> Option<&PolicyInfo> {
        self.policies.iter().find(|p| p.name == name)
    }
}

/// Counts for summaries. `blocking` counts unexcepted findings at blocking or
/// mandatory level; `excepted` counts findings covered by an exception, whatever their level.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Default)]
pub struct Summary {
    pub files: usize,
    pub documents: usize,
    pub policies: usize,
    pub rules: usize,
    pub findings: usize,
    pub blocking: usize,
    pub advisory: usize,
    pub audit: usize,
    pub excepted: usize,
    pub errors: usize,
    /// Findings the baseline holds (`check --baseline`), counted in `audit`
    /// too; absent when none.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub baselined: usize,
    /// Files bylaw did not evaluate, counted by reason (`unknown format`,
    /// `.gitignore`, `matched no policy`, `Helm template`, `kustomize patch`,
    /// `template`, `too large`, …). Filled by the caller that discovered the
    /// files; empty when nothing was skipped.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub skipped: std::collections::BTreeMap<String, usize>,
}

/// Name and version of the tool, for SARIF `driver` and the JSON report.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct ToolInfo {
    pub name: String,
    pub version: String,
    pub information_uri: String,
}

impl Default for ToolInfo {
    fn default() -> Self {
        ToolInfo {
            name: "bylaw".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            information_uri: "https://github.com/bylaw-dev/bylaw".into(),
        }
    }
}

/// Everything a run found. Findings are sorted by path, line, column, rule id
/// and message; rules by id; policies by name.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Report {
    /// [`REPORT_VERSION`].
    pub version: String,
    pub tool: ToolInfo,
    /// The environment the run was evaluated for (`dev`, `prod`, …), if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub environment: Option<String>,
    pub fail_on: FailOn,
    pub verdict: Verdict,
    pub summary: Summary,
    pub policies: Vec<PolicyInfo>,
    pub rules: Vec<RuleInfo>,
    pub findings: Vec<Finding>,
    /// Every exception of the run's exception lists with its status (empty
    /// when there are none).
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub exceptions: Vec<ExceptionStatus>,
    /// Why the run stopped, when [`Verdict::Error`] (empty otherwise).
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub errors: Vec<RunError>,
}

/// The state of an exception after a run.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum ExceptionState {
    /// Valid, unexpired, and it covered at least one finding.
    Active,
    /// Active, but it expires within the warning window.
    Expiring,
    /// Past its expiry date: it no longer applies.
    Expired,
    /// Valid and unexpired, but it matched no finding: remove it.
    Stale,
    /// Breaks the requirements of a policy it names (reason, approvers,
    /// maximum duration): it does not apply.
    Rejected,
}

impl ExceptionState {
    pub fn as_str(self) -> &'static str {
        match self {
            ExceptionState::Active => "active",
            ExceptionState::Expiring => "expiring",
            ExceptionState::Expired => "expired",
            ExceptionState::Stale => "stale",
            ExceptionState::Rejected => "rejected",
        }
    }

    /// Whether `bylaw exceptions check` fails on it.
    pub fn needs_action(self) -> bool {
        matches!(self, ExceptionState::Expired | ExceptionState::Stale | ExceptionState::Rejected)
    }
}

impl fmt::Display for ExceptionState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One exception of an exception list (or an inline suppression) and what it did.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct ExceptionStatus {
    pub id: String,
    pub status: ExceptionState,
    /// `file:line` where the exception is written.
    pub source: String,
    pub rules: Vec<String>,
    pub reason: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ticket: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub approved_by: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires: Option<String>,
    /// Days until expiry (negative once expired).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub days_left: Option<i64>,
    /// Findings it covers in this run.
    pub matched: usize,
    /// Why it is expired, stale, rejected or expiring, for humans.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

impl Report {
    /// The documentation of `rule_id`, if the report has it.
    pub fn rule(&self, rule_id: &str) -> Option<&RuleInfo> {
        self.rules.iter().find(|r| r.id == rule_id)
    }

    /// Recomputes the counts of the summary and the verdict from the
    /// findings (after exceptions were applied).
    pub fn recount(&mut self) {
        let s = &mut self.summary;
        s.findings = self.findings.len();
        s.blocking = 0;
        s.advisory = 0;
        s.audit = 0;
        s.excepted = 0;
        s.errors = 0;
        s.baselined = 0;
        for f in &self.findings {
            if f.baseline == Some(BaselineState::Unchanged) {
                s.baselined += 1;
            }
            if f.rule_id.starts_with("bylaw/") {
                s.errors += 1;
            }
            if f.exception.is_some() {
                s.excepted += 1;
                continue;
            }
            match f.enforcement {
                Enforcement::Blocking | Enforcement::Mandatory => s.blocking += 1,
                Enforcement::Advisory => s.advisory += 1,
                Enforcement::Audit => s.audit += 1,
            }
        }
        if self.verdict == Verdict::Error {
            return;
        }
        let fail_on = self.fail_on;
        self.verdict = if self.findings.iter().any(|f| f.fails(fail_on)) { Verdict::Fail } else { Verdict::Pass };
    }

    /// Process exit code for this report per the CLI contract: 1 when
    /// something fails the run, else 0 (2 is for errors before a report exists).
    pub fn exit_code(&self) -> i32 {
        match self.verdict {
            Verdict::Pass => 0,
            Verdict::Fail => 1,
            Verdict::Error => 2,
        }
    }
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}
