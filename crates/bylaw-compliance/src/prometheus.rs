//! The Prometheus text exposition format (version 0.0.4, as documented in
//! Prometheus' "Exposition formats") of a [`HistoryReport`], for `bylaw
//! metrics` (stdout, or a node-exporter textfile).
//!
//! Every family is listed in [`FAMILIES`] (name, type, labels, help; the
//! README's "Prometheus metrics" table is the same list). Names carry the
//! `bylaw_` prefix and the unit suffixes of Prometheus' naming conventions
//! (`_total` counters, `_seconds`, `_ratio` 0–1, `_timestamp_seconds`).
//! Labels are bounded sets only — policy, rule, severity, enforcement,
//! repository, framework, environment, plus the fixed vocabularies
//! `scope`, `status`, `age` and `quantile` — never a file, a resource or a
//! fingerprint. When the report is of one environment
//! (`query.environment`), every sample also carries `environment`.
//!
//! A value the model does not have (a rate with a zero denominator) is not
//! exposed at all: absent, never a made-up 0.
//!
//! Time to remediate is a `summary` (`quantile="0.9"`, `_sum`, `_count`)
//! rather than two gauges: `_sum / _count` is the mean, PromQL's
//! `rate()` works on `_sum` and `_count`, and the p90 keeps its standard
//! `quantile` label. `_sum` is the model's mean (hours, two decimals)
//! × the fixed findings × 3600, so it is exact to 36 s per finding.

use crate::model::{ControlState, HistoryReport, ScoreScope, SeverityCounts};
use bylaw_engine::chrono::DateTime;
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// The content type of the format.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// One metric family: name, type, labels (besides `environment`), help.
pub struct Family {
    pub name: &'static str,
    pub kind: &'static str,
    pub labels: &'static [&'static str],
    pub help: &'static str,
}

macro_rules! family {
    ($name:literal, $kind:literal, [$($l:literal),*], $help:literal) => {
        Family { name: $name, kind: $kind, labels: &[$($l),*], help: $help }
    };
}

/// Every metric `bylaw metrics` exposes, in output order.
pub const FAMILIES: &[Family] = &[
    family!("bylaw_runs_total", "counter", ["repository"], "Runs recorded in the history store."),
    family!(
        "bylaw_last_run_timestamp_seconds",
        "gauge",
        ["repository"],
        "Start of the repository's last recorded run, Unix time."
    ),
    family!(
        "bylaw_findings_open",
        "gauge",
        ["repository", "severity"],
        "Open findings (not excepted) at the repository's last run."
    ),
    family!(
        "bylaw_findings_excepted",
        "gauge",
        ["repository"],
        "Findings covered by an exception at the repository's last run."
    ),
    family!(
        "bylaw_findings_opened_total",
        "counter",
        ["repository"],
        "Findings (by fingerprint) first seen in the window."
    ),
    family!(
        "bylaw_findings_fixed_total",
        "counter",
        ["repository"],
        "Findings (by fingerprint) that disappeared in the window."
    ),
    family!("bylaw_findings_recurred_total", "counter", [], "Findings that reappeared after being fixed."),
    family!("bylaw_fix_rate_ratio", "gauge", [], "Fixed / (fixed + open) findings, 0-1."),
    family!(
        "bylaw_time_to_remediate_seconds",
        "summary",
        ["quantile"],
        "Time from first seen to gone of the findings fixed in the window (p90, sum, count)."
    ),
    family!("bylaw_exception_rate_ratio", "gauge", [], "Excepted / all findings at the last runs, 0-1."),
    family!("bylaw_exceptions_open", "gauge", [], "Exceptions open (active, not expired) at the window's end."),
    family!(
        "bylaw_exceptions_expiring_soon",
        "gauge",
        [],
        "Open exceptions expiring within 14 days after the window's end."
    ),
    family!(
        "bylaw_files_unparsed",
        "gauge",
        [],
        "Files that failed to parse (or were too large to parse) at the last runs."
    ),
    family!(
        "bylaw_exceptions_open_by_age",
        "gauge",
        ["age"],
        "Open exceptions by age in days (0-30, 31-90, 91-180, 181+)."
    ),
    family!(
        "bylaw_compliance_score_ratio",
        "gauge",
        ["scope", "name"],
        "Compliance score at the last runs, 0-1; scope is overall, policy, framework or repository."
    ),
    family!(
        "bylaw_framework_controls",
        "gauge",
        ["framework", "status"],
        "Controls of a framework by status (pass, fail, excepted, not-evaluated)."
    ),
    family!(
        "bylaw_rule_findings_open",
        "gauge",
        ["policy", "rule", "severity", "enforcement"],
        "Open findings (not excepted) of a rule at the last runs."
    ),
    family!(
        "bylaw_rule_findings_excepted",
        "gauge",
        ["policy", "rule", "severity", "enforcement"],
        "Excepted findings of a rule at the last runs."
    ),
    family!("bylaw_rules_evaluated", "gauge", [], "Distinct rules evaluated in the window."),
    family!("bylaw_rules_never_fired", "gauge", [], "Rules evaluated in the window that never fired."),
];

/// Escapes a label value: backslash, double quote and line feed.
pub fn escape_label(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

fn escape_help(s: &str) -> String {
    s.replace('\\', "\\\\").replace('\n', "\\n")
}

/// A sample value: shortest round-trip decimal, `NaN`/`+Inf`/`-Inf` as the format spells them.
fn value(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v.is_infinite() {
        if v > 0.0 { "+Inf" } else { "-Inf" }.into()
    } else {
        format!("{v}")
    }
}

/// Samples of one family, each `(suffix, labels, value)`.
type Samples = Vec<(&'static str, Vec<(&'static str, String)>, f64)>;

/// A percentage of the model (two decimals) as a ratio 0–1 (four decimals, exactly).
fn ratio(p: f64) -> f64 {
    (p * 100.0).round() / 10000.0
}

fn repo(r: &Option<String>) -> String {
    r.clone().unwrap_or_else(|| "(unknown)".into())
}

fn by_severity(c: &SeverityCounts) -> [(&'static str, u64); 5] {
    [("critical", c.critical), ("high", c.high), ("medium", c.medium), ("low", c.low), ("info", c.info)]
}

fn samples(report: &HistoryReport, family: &str) -> Samples {
    let t = &report.totals;
    let one = |v: Option<f64>| v.map(|v| vec![("", vec![], v)]).unwrap_or_default();
    match family {
        "bylaw_runs_total" => {
            report.repositories.iter().map(|r| ("", vec![("repository", repo(&r.repository))], r.runs as f64)).collect()
        }
        "bylaw_last_run_timestamp_seconds" => {
            let mut last: BTreeMap<String, f64> = BTreeMap::new();
            for run in &report.runs {
                if let Ok(t) = DateTime::parse_from_rfc3339(&run.started_at) {
                    let e = last.entry(repo(&run.repository)).or_insert(f64::MIN);
                    *e = e.max(t.timestamp() as f64);
                }
            }
            last.into_iter().map(|(r, t)| ("", vec![("repository", r)], t)).collect()
        }
        "bylaw_findings_open" => report
            .repositories
            .iter()
            .flat_map(|r| {
                by_severity(&r.open_by_severity)
                    .into_iter()
                    .map(|(s, n)| ("", vec![("repository", repo(&r.repository)), ("severity", s.to_owned())], n as f64))
                    .collect::<Vec<_>>()
            })
            .collect(),
        "bylaw_findings_excepted" => report
            .repositories
            .iter()
            .map(|r| ("", vec![("repository", repo(&r.repository))], r.excepted as f64))
            .collect(),
        "bylaw_findings_opened_total" => report
            .repositories
            .iter()
            .map(|r| ("", vec![("repository", repo(&r.repository))], r.opened as f64))
            .collect(),
        "bylaw_findings_fixed_total" => report
            .repositories
            .iter()
            .map(|r| ("", vec![("repository", repo(&r.repository))], r.fixed as f64))
            .collect(),
        "bylaw_findings_recurred_total" => one(Some(t.recurrences as f64)),
        "bylaw_fix_rate_ratio" => one(t.fix_rate.map(ratio)),
        "bylaw_time_to_remediate_seconds" => {
            let mut s: Samples = Vec::new();
            if let Some(p90) = t.mttr_p90_hours {
                s.push(("", vec![("quantile", "0.9".into())], p90 * 3600.0));
            }
            let sum = t.mttr_mean_hours.map(|m| (m * 3600.0 * t.fixed as f64).round()).unwrap_or(0.0);
            s.push(("_sum", vec![], sum));
            s.push(("_count", vec![], if t.mttr_mean_hours.is_some() { t.fixed as f64 } else { 0.0 }));
            s
        }
        "bylaw_exception_rate_ratio" => one(t.exception_rate.map(ratio)),
        "bylaw_exceptions_open" => one(Some(t.open_exceptions as f64)),
        "bylaw_exceptions_expiring_soon" => one(Some(t.expiring_soon as f64)),
        "bylaw_files_unparsed" => one(Some(t.parse_errors as f64)),
        "bylaw_exceptions_open_by_age" => {
            report.exception_ageing.iter().map(|b| ("", vec![("age", b.label.clone())], b.count as f64)).collect()
        }
        "bylaw_compliance_score_ratio" => report
            .scores
            .iter()
            .filter_map(|s| {
                let scope = match s.scope {
                    ScoreScope::Overall => "overall",
                    ScoreScope::Policy => "policy",
                    ScoreScope::Framework => "framework",
                    ScoreScope::Repository => "repository",
                };
                s.current.map(|v| ("", vec![("scope", scope.to_owned()), ("name", s.name.clone())], ratio(v)))
            })
            .collect(),
        "bylaw_framework_controls" => report
            .frameworks
            .iter()
            .flat_map(|f| {
                [
                    ("pass", ControlState::Pass),
                    ("fail", ControlState::Fail),
                    ("excepted", ControlState::Excepted),
                    ("not-evaluated", ControlState::NotEvaluated),
                ]
                .into_iter()
                .map(|(name, state)| {
                    let n = f.controls.iter().filter(|c| c.status == state).count();
                    ("", vec![("framework", f.id.clone()), ("status", name.to_owned())], n as f64)
                })
                .collect::<Vec<_>>()
            })
            .collect(),
        "bylaw_rule_findings_open" | "bylaw_rule_findings_excepted" => report
            .rules
            .iter()
            .map(|r| {
                let v = if family == "bylaw_rule_findings_open" { r.open } else { r.excepted };
                (
                    "",
                    vec![
                        ("policy", r.policy.clone()),
                        ("rule", r.rule.clone()),
                        ("severity", r.severity.clone()),
                        ("enforcement", r.enforcement.clone()),
                    ],
                    v as f64,
                )
            })
            .collect(),
        "bylaw_rules_evaluated" => one(Some(report.coverage.rules_evaluated as f64)),
        "bylaw_rules_never_fired" => one(Some(report.coverage.rules_never_fired.len() as f64)),
        _ => Vec::new(),
    }
}

/// The exposition of `report`: for each family of [`FAMILIES`], `# HELP`,
/// `# TYPE` and its samples (a family without samples keeps its HELP and TYPE).
pub fn render(report: &HistoryReport) -> String {
    let env = report.query.environment.clone();
    let mut out = String::new();
    for f in FAMILIES {
        let _ = writeln!(out, "# HELP {} {}", f.name, escape_help(f.help));
        let _ = writeln!(out, "# TYPE {} {}", f.name, f.kind);
        for (suffix, mut labels, v) in samples(report, f.name) {
            if let Some(e) = &env {
                labels.push(("environment", e.clone()));
            }
            let _ = write!(out, "{}{suffix}", f.name);
            if !labels.is_empty() {
                let l: Vec<String> = labels.iter().map(|(k, v)| format!("{k}=\"{}\"", escape_label(v))).collect();
                let _ = write!(out, "{{{}}}", l.join(","));
            }
            let _ = writeln!(out, " {}", value(v));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(escape_label("a\\b\"c\nd"), "a\\\\b\\\"c\\nd");
    }

    #[test]
    fn every_family_has_help_and_type_and_only_bounded_labels() {
        let text = render(&crate::html::tests::sample());
        for f in FAMILIES {
            assert!(f.name.starts_with("bylaw_"));
            assert!(text.contains(&format!("# HELP {} ", f.name)));
            assert!(text.contains(&format!("# TYPE {} {}\n", f.name, f.kind)));
            for l in f.labels {
                assert!(
                    [
                        "policy",
                        "rule",
                        "severity",
                        "enforcement",
                        "repository",
                        "framework",
                        "scope",
                        "name",
                        "status",
                        "age",
                        "quantile"
                    ]
                    .contains(l),
                    "{l}"
                );
            }
            if f.kind == "counter" {
                assert!(f.name.ends_with("_total"), "{}", f.name);
            }
        }
        for never in ["path=", "resource=", "fingerprint=", "file="] {
            assert!(!text.contains(never));
        }
    }

    #[test]
    fn samples_are_the_models_numbers() {
        let text = render(&crate::html::tests::sample());
        for line in [
            "bylaw_findings_open{repository=\"acme/app\",severity=\"high\",environment=\"prod\"} 1",
            "bylaw_fix_rate_ratio{environment=\"prod\"} 0.6667",
            "bylaw_time_to_remediate_seconds{quantile=\"0.9\",environment=\"prod\"} 172800",
            "bylaw_time_to_remediate_seconds_sum{environment=\"prod\"} 262800",
            "bylaw_time_to_remediate_seconds_count{environment=\"prod\"} 2",
            "bylaw_compliance_score_ratio{scope=\"overall\",name=\"overall\",environment=\"prod\"} 0.75",
            "bylaw_framework_controls{framework=\"soc2\",status=\"fail\",environment=\"prod\"} 1",
            "bylaw_rule_findings_open{policy=\"k8s\",rule=\"no-latest\",severity=\"high\",enforcement=\"blocking\",environment=\"prod\"} 1",
            "bylaw_last_run_timestamp_seconds{repository=\"acme/app\",environment=\"prod\"} 1778580000",
            "bylaw_exceptions_open_by_age{age=\"0-30\",environment=\"prod\"} 1",
        ] {
            assert!(text.contains(&format!("{line}\n")), "missing {line} in\n{text}");
        }
    }

    #[test]
    fn label_values_from_the_store_are_escaped_in_the_output() {
        let mut r = crate::html::tests::sample();
        r.repositories[0].repository = Some("acme/\"shop\"\\x\ny".into());
        r.query.environment = None;
        let text = render(&r);
        assert!(text.contains("bylaw_runs_total{repository=\"acme/\\\"shop\\\"\\\\x\\ny\"} 2\n"), "{text}");
        // one sample per line: the newline did not break the line
        assert!(text.lines().all(|l| l.starts_with('#') || l.starts_with("bylaw_")));
    }

    #[test]
    fn a_missing_rate_is_absent_not_zero() {
        let mut r = crate::html::tests::sample();
        r.totals.fix_rate = None;
        r.totals.mttr_mean_hours = None;
        r.totals.mttr_p90_hours = None;
        r.query.environment = None;
        let text = render(&r);
        assert!(!text.contains("\nbylaw_fix_rate_ratio "));
        assert!(text.contains("# TYPE bylaw_fix_rate_ratio gauge\n# HELP bylaw_time_to_remediate_seconds"));
        assert!(!text.contains("quantile="));
        assert!(text.contains("bylaw_time_to_remediate_seconds_count 0\n"));
    }
}
