//! The data model of a compliance report: everything `bylaw report`
//! renders (HTML, Markdown), prints as JSON (`--format json`, this model
//! serialised with `version: 1`) and `bylaw metrics` exposes, computed by
//! [`crate::metrics::compute`] from the history store for one [`Query`].
//!
//! Conventions: times are RFC 3339 UTC strings with whole seconds (as the
//! store keeps them); durations are in **hours** (`f64`, rounded to two
//! decimals); rates and scores are **percentages** 0–100 (`f64`, two
//! decimals) or `None` when their denominator is zero (never a made-up 0
//! or 100); counts are `u64`. Lists are in a deterministic order, given on
//! each field. Field names are part of the JSON contract: add fields, never
//! rename them without bumping [`REPORT_VERSION`].

use serde::{Deserialize, Serialize};

/// The `version` of the JSON form of [`HistoryReport`].
pub const REPORT_VERSION: u32 = 1;

/// Length of one bucket of the trend series.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Period {
    /// Calendar days, UTC.
    Day,
    /// ISO weeks, Monday 00:00 UTC to the next Monday.
    #[default]
    Week,
    /// Calendar months, UTC.
    Month,
}

/// What a report covers: the runs of the store that match every given
/// filter (`None` = no filter on that field).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Query {
    /// First instant included (RFC 3339 UTC); `None` = the first run.
    pub since: Option<String>,
    /// Last instant included (RFC 3339 UTC); `None` = the report's time.
    pub until: Option<String>,
    /// Only runs of this environment.
    pub environment: Option<String>,
    /// Only runs of this repository (as recorded: `owner/name` or a URL).
    pub repository: Option<String>,
    /// Only runs of this git ref (e.g. `refs/heads/main` or `main`).
    pub git_ref: Option<String>,
    /// Bucket length of the trend series.
    pub period: Period,
    /// Only this framework's control matrix (`soc2`, `pci-dss`, `hipaa`,
    /// `nist-800-53`, `cis`); `None` = every framework with a mapped rule.
    pub framework: Option<String>,
}

/// A whole compliance report.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HistoryReport {
    /// [`REPORT_VERSION`].
    pub version: u32,
    /// When the report was computed (RFC 3339 UTC; `BYLAW_NOW` in tests).
    pub generated_at: String,
    /// The filters it was computed with.
    pub query: Query,
    /// The store, as [`bylaw_history::Store::display`] names it (never a password).
    pub store: String,
    /// Headline numbers over the whole query window.
    pub totals: Totals,
    /// The trend series: one entry per period bucket from the one holding
    /// the window's start (`since`, else the first run) to the one holding
    /// its end (the reference time: `until`, never after now), oldest
    /// first, empty buckets included; empty when the window has no run.
    pub periods: Vec<PeriodStats>,
    /// Every run in the window (the evidence), oldest first (time, then id).
    pub runs: Vec<RunEvidence>,
    /// Exceptions seen in the window, by id.
    pub exceptions: Vec<ExceptionStats>,
    /// Open exceptions (at the reference time, see [`Totals::open_exceptions`])
    /// by age in days at the reference time: `0-30`, `31-90`, `91-180`, `181+`.
    pub exception_ageing: Vec<AgeBucket>,
    /// Per rule, by rule id.
    pub rules: Vec<RuleStats>,
    /// Per repository, by name (`None` sorts first, rendered `(unknown)`).
    pub repositories: Vec<RepositoryStats>,
    /// Compliance scores per policy, framework and repository, each with its series.
    pub scores: Vec<ScoreSeries>,
    /// One control matrix per framework (ordered soc2, pci-dss, hipaa,
    /// nist-800-53, cis, then others by id), only frameworks with a mapped rule.
    pub frameworks: Vec<FrameworkMatrix>,
    /// Rules excepted or ignored most (noise candidates), most first, at most 10.
    pub noise: Vec<NoiseCandidate>,
    /// What was evaluated.
    pub coverage: Coverage,
}

/// Headline numbers over the whole window (definitions: README "Effectiveness metrics").
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Totals {
    pub runs: u64,
    /// Findings (by fingerprint) first seen in the window.
    pub opened: u64,
    /// Fixes in the window: a finding absent from a later run of its
    /// stream that evaluated its rule (a finding fixed, recurring and fixed
    /// again counts twice).
    pub fixed: u64,
    /// Findings open at the last run of each repository (not excepted).
    pub open: u64,
    /// Open findings by severity at the last runs: critical, high, medium, low, info.
    pub open_by_severity: SeverityCounts,
    /// `fixed / (fixed + open)` as a percentage.
    pub fix_rate: Option<f64>,
    /// Mean time to remediate of the findings fixed in the window, hours.
    pub mttr_mean_hours: Option<f64>,
    /// 90th percentile (nearest-rank) of the same, hours.
    pub mttr_p90_hours: Option<f64>,
    /// Findings that reappeared after being fixed (count of reappearances).
    pub recurrences: u64,
    /// `recurrences / fixed` as a percentage.
    pub recurrence_rate: Option<f64>,
    /// Excepted findings / all findings at the last runs, percentage.
    pub exception_rate: Option<f64>,
    /// Exceptions open at the reference time (the window's end: `until`,
    /// never after now): listed by the last runs with status active or
    /// expiring, and not expired at the reference time.
    pub open_exceptions: u64,
    /// Of those, expiring within 14 days after the reference time.
    pub expiring_soon: u64,
    /// The overall compliance score at the last runs.
    pub score: Option<f64>,
    /// Files that failed to parse (`bylaw/parse-error`) or were too large
    /// to parse (`bylaw/input-too-large`) at the last runs (distinct per
    /// repository and environment). bylaw's own findings are not policy
    /// findings: they count in no other number.
    #[serde(default)]
    pub parse_errors: u64,
}

/// Counts by severity.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeverityCounts {
    pub critical: u64,
    pub high: u64,
    pub medium: u64,
    pub low: u64,
    pub info: u64,
}

/// One bucket of the trend series.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PeriodStats {
    /// First instant of the bucket (RFC 3339 UTC).
    pub start: String,
    /// First instant after the bucket.
    pub end: String,
    /// Runs in the bucket.
    pub runs: u64,
    pub opened: u64,
    pub fixed: u64,
    /// Open (not excepted) findings at the bucket's last run of each
    /// repository, by severity (carried over from earlier runs when a
    /// repository has no run in the bucket).
    pub open_by_severity: SeverityCounts,
    pub fix_rate: Option<f64>,
    pub mttr_mean_hours: Option<f64>,
    pub mttr_p90_hours: Option<f64>,
    /// Exceptions open at the end of the bucket (the burn-down; the last
    /// bucket: at the reference time).
    pub open_exceptions: u64,
    /// Overall compliance score at the end of the bucket.
    pub score: Option<f64>,
}

/// One recorded run: the evidence a control links to.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RunEvidence {
    /// `runs.id` in the store.
    pub id: i64,
    pub started_at: String,
    pub repository: Option<String>,
    pub git_ref: Option<String>,
    pub sha: Option<String>,
    pub environment: Option<String>,
    /// `pass`, `fail` or `error`.
    pub verdict: String,
    pub findings: u64,
    pub blocking: u64,
    pub excepted: u64,
    /// Policy name → version at that run, by name.
    pub policies: Vec<(String, Option<String>)>,
}

/// One exception over the window.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ExceptionStats {
    pub id: String,
    pub rules: Vec<String>,
    pub reason: String,
    pub approved_by: Vec<String>,
    /// `YYYY-MM-DD` or `None` (no expiry).
    pub expires: Option<String>,
    /// First run that listed it.
    pub first_seen: String,
    /// Status at the reference time (the window's end): `rejected`; else
    /// `expired` once its expiry day is past; else `removed` when the last
    /// runs no longer list it; else `expiring` (expires within 14 days),
    /// `active`, or `stale` as recorded.
    pub status: String,
    /// Status recorded at the last run that listed it (`active`,
    /// `expiring`, `expired`, `stale`, `rejected`).
    #[serde(default)]
    pub recorded_status: String,
    /// Days from `first_seen` to the reference time.
    pub age_days: u64,
    /// Findings it covered at the last run that listed it.
    pub matched: u64,
    /// Open at the reference time and expires within 14 days after it.
    pub expiring_soon: bool,
}

/// Open exceptions of one age range.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgeBucket {
    /// `0-30`, `31-90`, `91-180` or `181+` (days).
    pub label: String,
    pub count: u64,
}

/// One rule over the window.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RuleStats {
    pub rule: String,
    pub policy: String,
    pub title: String,
    pub severity: String,
    /// Enforcement at the last run that evaluated it.
    pub enforcement: String,
    pub controls: Vec<String>,
    pub opened: u64,
    pub fixed: u64,
    /// Open, not excepted, at the last runs.
    pub open: u64,
    /// Excepted at the last runs.
    pub excepted: u64,
    pub mttr_mean_hours: Option<f64>,
    /// Runs that evaluated the rule / runs in which it fired.
    pub runs_evaluated: u64,
    pub runs_fired: u64,
    /// Findings at the last runs, for drill-down (excepted ones with
    /// [`OpenFinding::exception`] set): at most 50, by path, line.
    pub open_findings: Vec<OpenFinding>,
}

/// An open finding at the last run of its repository.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct OpenFinding {
    pub fingerprint: String,
    pub rule: String,
    pub repository: Option<String>,
    pub path: String,
    pub line: u64,
    pub severity: String,
    pub enforcement: String,
    pub resource: Option<String>,
    /// First run (time) the fingerprint was seen.
    pub first_seen: String,
    /// The exception covering it, if any.
    pub exception: Option<String>,
    /// The run this state is from.
    pub run_id: i64,
}

/// One repository over the window.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RepositoryStats {
    pub repository: Option<String>,
    pub runs: u64,
    /// Its last run in the window.
    pub last_run: Option<i64>,
    pub last_verdict: Option<String>,
    pub open_by_severity: SeverityCounts,
    pub excepted: u64,
    pub opened: u64,
    pub fixed: u64,
    pub score: Option<f64>,
    /// Findings at its last runs (excepted ones with
    /// [`OpenFinding::exception`] set), at most 50, by rule, path, line.
    pub open_findings: Vec<OpenFinding>,
}

/// What a score is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ScoreScope {
    Overall,
    Policy,
    Framework,
    Repository,
}

/// A compliance score and its trend.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ScoreSeries {
    pub scope: ScoreScope,
    /// Policy name, framework id, repository (`(unknown)`), or `overall`.
    pub name: String,
    /// At the last runs.
    pub current: Option<f64>,
    /// One value per entry of [`HistoryReport::periods`], same order.
    pub series: Vec<Option<f64>>,
}

/// A framework's control matrix.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct FrameworkMatrix {
    /// `soc2`, `pci-dss`, `hipaa`, `nist-800-53`, `cis`, or the prefix of an unknown id.
    pub id: String,
    /// `SOC 2`, `PCI DSS v4.0`, `HIPAA Security Rule`, `NIST SP 800-53 Rev. 5`, `CIS Benchmarks`.
    pub name: String,
    pub score: Option<f64>,
    /// By control id (natural order: `CC6.1` < `CC6.10`).
    pub controls: Vec<ControlStatus>,
}

/// Status of a control at the last runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ControlState {
    /// Every mapped rule was evaluated and has no open finding.
    Pass,
    /// A mapped rule has an open, not excepted finding.
    Fail,
    /// No open finding, but at least one excepted.
    Excepted,
    /// No mapped rule was evaluated by the last runs.
    NotEvaluated,
}

/// One control of a framework.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ControlStatus {
    /// The control's id inside its framework (`CC6.1`, `6.3.2`, `AC-6`, `164.312(b)`, `K8S-5.2.1`).
    pub control: String,
    /// The id as written on rules (`SOC2-CC6.1`).
    pub mapped_id: String,
    /// The control's title, `None` when the catalogue does not know it.
    pub title: Option<String>,
    pub status: ControlState,
    /// Mapped rules, by id, each with its own status.
    pub rules: Vec<ControlRule>,
    /// Every exception that excepted a finding of a mapped rule in the
    /// window (also those expired or removed since), by id.
    pub exceptions: Vec<ExceptionRef>,
    /// Runs that evaluated a mapped rule (ids), newest first, at most 20.
    pub evidence: Vec<i64>,
}

/// One rule under a control.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ControlRule {
    pub rule: String,
    pub policy: String,
    pub status: ControlState,
    pub open: u64,
    pub excepted: u64,
}

/// An exception as a control shows it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ExceptionRef {
    pub id: String,
    pub approved_by: Vec<String>,
    pub expires: Option<String>,
    /// Its status at the reference time ([`ExceptionStats::status`];
    /// an inline suppression: `active`, or `expired` past its expiry).
    #[serde(default)]
    pub status: String,
}

/// A rule that is excepted or ignored often.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct NoiseCandidate {
    pub rule: String,
    pub policy: String,
    /// Excepted findings at the last runs.
    pub excepted: u64,
    /// Findings left open at advisory/audit level for the whole window (never fixed).
    pub ignored: u64,
    /// `(excepted + ignored) / findings of the rule` at the last runs, percentage.
    pub noise_rate: Option<f64>,
}

/// What the runs evaluated.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Coverage {
    /// Files evaluated at the last runs (sum over repositories).
    pub files: u64,
    /// Documents (resources) evaluated at the last runs.
    pub documents: u64,
    /// Distinct rules evaluated in the window.
    pub rules_evaluated: u64,
    /// Rules evaluated in the window that never fired, by id.
    pub rules_never_fired: Vec<String>,
}

impl HistoryReport {
    /// The score a report leads with and its label: with a framework
    /// selected ([`Query::framework`]) that framework's score, labelled
    /// "NAME compliance score" (e.g. `SOC 2 compliance score`); otherwise
    /// the overall score ([`Totals::score`]), "Compliance score".
    pub fn headline_score(&self) -> (String, Option<f64>) {
        match (&self.query.framework, self.frameworks.first()) {
            (Some(_), Some(fw)) => (format!("{} compliance score", fw.name), fw.score),
            (Some(id), None) => (format!("{} compliance score", crate::frameworks::name(id)), None),
            _ => ("Compliance score".to_owned(), self.totals.score),
        }
    }
}

/// `N thing` or `N things`: `plural(1, "run")` is `1 run`, `plural(2, "run")` `2 runs`.
pub fn plural(n: u64, word: &str) -> String {
    format!("{n} {word}{}", if n == 1 { "" } else { "s" })
}
