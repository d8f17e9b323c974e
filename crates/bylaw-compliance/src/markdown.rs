//! The compliance report as GitHub-flavoured Markdown ([`render`]): for CI
//! job summaries (headline numbers, trend table, control matrices,
//! exceptions, evidence runs, top rules and repositories, noise
//! candidates, coverage), or — when the query names one framework — an
//! auditor's evidence report for that framework (every mapped control with
//! its title, status, rules, exceptions and evidence runs).
//!
//! Every input-derived text goes through bylaw-report's Markdown escaping
//! ([`bylaw_report::markdown::cell`] and [`bylaw_report::markdown::code`]).

use crate::model::*;
use bylaw_report::markdown::{cell, code};
use std::fmt::Write;

fn num(v: Option<f64>) -> String {
    v.map(|x| format!("{x:.2}")).unwrap_or_else(|| "–".into())
}

fn pct(v: Option<f64>) -> String {
    v.map(|x| format!("{x:.2} %")).unwrap_or_else(|| "–".into())
}

fn hours(v: Option<f64>) -> String {
    v.map(|x| format!("{x:.2} h")).unwrap_or_else(|| "–".into())
}

fn repo(r: &Option<String>) -> String {
    r.as_deref().map(cell).unwrap_or_else(|| "(unknown)".into())
}

fn state(s: ControlState) -> &'static str {
    match s {
        ControlState::Pass => "pass",
        ControlState::Fail => "fail",
        ControlState::Excepted => "excepted",
        ControlState::NotEvaluated => "not evaluated",
    }
}

fn list(items: &[String]) -> String {
    if items.is_empty() {
        "–".into()
    } else {
        items.iter().map(|s| cell(s)).collect::<Vec<_>>().join(", ")
    }
}

fn filters(q: &Query) -> String {
    let mut parts = Vec::new();
    let mut add = |k: &str, v: &Option<String>| {
        if let Some(v) = v {
            parts.push(format!("{k} {}", code(v)));
        }
    };
    add("since", &q.since);
    add("until", &q.until);
    add("environment", &q.environment);
    add("repository", &q.repository);
    add("ref", &q.git_ref);
    add("framework", &q.framework);
    let period = match q.period {
        Period::Day => "day",
        Period::Week => "week",
        Period::Month => "month",
    };
    parts.push(format!("period {period}"));
    parts.join(", ")
}

/// The report as Markdown (UTF-8, ends with a newline).
pub fn render(r: &HistoryReport) -> String {
    let mut o = String::new();
    let evidence_report = r.query.framework.is_some();
    let title = match (&r.query.framework, r.frameworks.first()) {
        (Some(_), Some(fw)) => format!("# {} evidence report", cell(&fw.name)),
        (Some(id), None) => format!("# {} evidence report", cell(&crate::frameworks::name(id))),
        _ => "# Compliance report".to_owned(),
    };
    let _ = writeln!(o, "{title}\n");
    let _ = writeln!(o, "Generated {} from {} ({}).\n", r.generated_at, code(&r.store), filters(&r.query));
    if r.totals.runs == 0 {
        let _ = writeln!(o, "No runs recorded in this window.");
        return o;
    }
    let first = r.runs.first().map(|x| x.started_at.as_str()).unwrap_or("");
    let last = r.runs.last().map(|x| x.started_at.as_str()).unwrap_or("");
    let _ = writeln!(o, "{} from {first} to {last}.\n", plural(r.totals.runs, "run"));

    headline(&mut o, r);
    if evidence_report {
        for fw in &r.frameworks {
            evidence(&mut o, r, fw);
        }
        return o;
    }
    trend(&mut o, r);
    scores(&mut o, r);
    for fw in &r.frameworks {
        matrix(&mut o, fw);
    }
    exceptions(&mut o, r);
    top(&mut o, r);
    noise(&mut o, r);
    coverage(&mut o, r);
    runs(&mut o, r);
    o
}

fn headline(o: &mut String, r: &HistoryReport) {
    let t = &r.totals;
    let s = &t.open_by_severity;
    let _ = writeln!(o, "## Summary\n");
    let _ = writeln!(o, "| Metric | Value |\n|---|---|");
    let (label, score) = r.headline_score();
    let _ = writeln!(o, "| {} | {} |", cell(&label), pct(score));
    let _ = writeln!(
        o,
        "| Open findings | {} (critical {}, high {}, medium {}, low {}, info {}) |",
        t.open, s.critical, s.high, s.medium, s.low, s.info
    );
    let _ = writeln!(o, "| Opened / fixed | {} / {} |", t.opened, t.fixed);
    let _ = writeln!(o, "| Fix rate | {} |", pct(t.fix_rate));
    let _ =
        writeln!(o, "| Time to remediate (mean / p90) | {} / {} |", hours(t.mttr_mean_hours), hours(t.mttr_p90_hours));
    let _ = writeln!(o, "| Recurrences | {} ({}) |", t.recurrences, pct(t.recurrence_rate));
    let _ = writeln!(o, "| Exception rate | {} |", pct(t.exception_rate));
    let _ = writeln!(o, "| Open exceptions (expiring within 14 days) | {} ({}) |", t.open_exceptions, t.expiring_soon);
    let _ = writeln!(o, "| Files that failed to parse | {} |", t.parse_errors);
    let _ = writeln!(o);
}

fn trend(o: &mut String, r: &HistoryReport) {
    let _ = writeln!(o, "## Trend\n");
    let _ = writeln!(
        o,
        "| Period | Runs | Opened | Fixed | Open (crit/high/med/low/info) | Fix rate | MTTR mean | MTTR p90 | Open exceptions | Score |"
    );
    let _ = writeln!(o, "|---|---:|---:|---:|---|---:|---:|---:|---:|---:|");
    for p in &r.periods {
        let s = &p.open_by_severity;
        let _ = writeln!(
            o,
            "| {} | {} | {} | {} | {}/{}/{}/{}/{} | {} | {} | {} | {} | {} |",
            p.start.get(..10).unwrap_or(&p.start),
            p.runs,
            p.opened,
            p.fixed,
            s.critical,
            s.high,
            s.medium,
            s.low,
            s.info,
            pct(p.fix_rate),
            hours(p.mttr_mean_hours),
            hours(p.mttr_p90_hours),
            p.open_exceptions,
            num(p.score)
        );
    }
    let _ = writeln!(o);
}

fn scores(o: &mut String, r: &HistoryReport) {
    let _ = writeln!(o, "## Compliance scores\n");
    let _ = writeln!(o, "| Scope | Name | Score |\n|---|---|---:|");
    for s in &r.scores {
        let scope = match s.scope {
            ScoreScope::Overall => "overall",
            ScoreScope::Policy => "policy",
            ScoreScope::Framework => "framework",
            ScoreScope::Repository => "repository",
        };
        let _ = writeln!(o, "| {scope} | {} | {} |", cell(&s.name), pct(s.current));
    }
    let _ = writeln!(o);
}

fn matrix(o: &mut String, fw: &FrameworkMatrix) {
    let _ = writeln!(o, "## {} controls (score {})\n", cell(&fw.name), pct(fw.score));
    let _ = writeln!(o, "| Control | Title | Status | Rules | Exceptions | Evidence runs |\n|---|---|---|---|---|---|");
    for c in &fw.controls {
        let rules: Vec<String> = c.rules.iter().map(|x| format!("{} ({})", code(&x.rule), state(x.status))).collect();
        let excs: Vec<String> = c.exceptions.iter().map(|e| code(&e.id)).collect();
        let ev: Vec<String> = c.evidence.iter().take(5).map(|id| format!("#{id}")).collect();
        let _ = writeln!(
            o,
            "| {} | {} | {} | {} | {} | {} |",
            code(&c.control),
            c.title.as_deref().map(cell).unwrap_or_else(|| "–".into()),
            state(c.status),
            rules.join(", "),
            if excs.is_empty() { "–".into() } else { excs.join(", ") },
            if ev.is_empty() { "–".into() } else { ev.join(" ") }
        );
    }
    let _ = writeln!(o);
}

fn exceptions(o: &mut String, r: &HistoryReport) {
    if r.exceptions.is_empty() {
        return;
    }
    let _ = writeln!(o, "## Exceptions\n");
    let _ = writeln!(o, "| Id | Rules | Status | Approved by | Expires | Age (days) | Matched | Reason |");
    let _ = writeln!(o, "|---|---|---|---|---|---:|---:|---|");
    for e in &r.exceptions {
        let _ = writeln!(
            o,
            "| {} | {} | {}{} | {} | {} | {} | {} | {} |",
            code(&e.id),
            list(&e.rules),
            cell(&e.status),
            if e.expiring_soon { " (expires soon)" } else { "" },
            list(&e.approved_by),
            e.expires.as_deref().map(cell).unwrap_or_else(|| "never".into()),
            e.age_days,
            e.matched,
            cell(&e.reason)
        );
    }
    let ageing: Vec<String> = r.exception_ageing.iter().map(|b| format!("{} days: {}", b.label, b.count)).collect();
    let _ = writeln!(o, "\nOpen exceptions by age: {}.\n", ageing.join(", "));
}

fn top(o: &mut String, r: &HistoryReport) {
    let mut rules: Vec<&RuleStats> = r.rules.iter().filter(|x| x.open + x.excepted + x.opened > 0).collect();
    rules.sort_by(|a, b| b.open.cmp(&a.open).then(b.opened.cmp(&a.opened)).then(a.rule.cmp(&b.rule)));
    if !rules.is_empty() {
        let _ = writeln!(o, "## Top rules\n");
        let _ =
            writeln!(o, "| Rule | Policy | Severity | Enforcement | Open | Excepted | Opened | Fixed | MTTR mean |");
        let _ = writeln!(o, "|---|---|---|---|---:|---:|---:|---:|---:|");
        for x in rules.iter().take(10) {
            let _ = writeln!(
                o,
                "| {} | {} | {} | {} | {} | {} | {} | {} | {} |",
                code(&x.rule),
                cell(&x.policy),
                cell(&x.severity),
                cell(&x.enforcement),
                x.open,
                x.excepted,
                x.opened,
                x.fixed,
                hours(x.mttr_mean_hours)
            );
        }
        let _ = writeln!(o);
    }
    let _ = writeln!(o, "## Repositories\n");
    let _ = writeln!(o, "| Repository | Runs | Last run | Verdict | Open | Excepted | Opened | Fixed | Score |");
    let _ = writeln!(o, "|---|---:|---|---|---:|---:|---:|---:|---:|");
    for x in &r.repositories {
        let s = &x.open_by_severity;
        let _ = writeln!(
            o,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            repo(&x.repository),
            x.runs,
            x.last_run.map(|id| format!("#{id}")).unwrap_or_else(|| "–".into()),
            x.last_verdict.as_deref().map(cell).unwrap_or_else(|| "–".into()),
            s.critical + s.high + s.medium + s.low + s.info,
            x.excepted,
            x.opened,
            x.fixed,
            pct(x.score)
        );
    }
    let _ = writeln!(o);
}

fn noise(o: &mut String, r: &HistoryReport) {
    if r.noise.is_empty() {
        return;
    }
    let _ = writeln!(o, "## Noise candidates\n");
    let _ = writeln!(o, "| Rule | Policy | Excepted | Ignored | Noise rate |\n|---|---|---:|---:|---:|");
    for n in &r.noise {
        let _ = writeln!(
            o,
            "| {} | {} | {} | {} | {} |",
            code(&n.rule),
            cell(&n.policy),
            n.excepted,
            n.ignored,
            pct(n.noise_rate)
        );
    }
    let _ = writeln!(o);
}

fn coverage(o: &mut String, r: &HistoryReport) {
    let c = &r.coverage;
    let _ = writeln!(o, "## Coverage\n");
    let _ = writeln!(
        o,
        "{} and {} at the last runs; {} evaluated, {} never fired{}\n",
        plural(c.files, "file"),
        plural(c.documents, "document"),
        plural(c.rules_evaluated, "rule"),
        c.rules_never_fired.len(),
        if c.rules_never_fired.is_empty() {
            ".".to_owned()
        } else {
            format!(": {}.", c.rules_never_fired.iter().map(|x| code(x)).collect::<Vec<_>>().join(", "))
        }
    );
}

fn run_row(o: &mut String, x: &RunEvidence) {
    let _ = writeln!(
        o,
        "| #{} | {} | {} | {} | {} | {} | {} | {} |",
        x.id,
        x.started_at,
        repo(&x.repository),
        x.git_ref.as_deref().map(code).unwrap_or_else(|| "–".into()),
        x.sha.as_deref().map(|s| code(s.get(..12).unwrap_or(s))).unwrap_or_else(|| "–".into()),
        cell(&x.verdict),
        x.findings,
        x.excepted
    );
}

const RUN_HEADER: &str =
    "| Run | Time | Repository | Ref | Commit | Verdict | Findings | Excepted |\n|---|---|---|---|---|---|---:|---:|";

fn runs(o: &mut String, r: &HistoryReport) {
    let _ = writeln!(o, "## Evidence runs\n");
    let _ = writeln!(o, "{RUN_HEADER}");
    let shown = r.runs.iter().rev().take(30).collect::<Vec<_>>();
    for x in shown.iter().rev() {
        run_row(o, x);
    }
    if r.runs.len() > 30 {
        let _ = writeln!(o, "\n({} in the JSON report.)", plural(r.runs.len() as u64 - 30, "earlier run"));
    }
    let _ = writeln!(o);
}

/// The auditor's part: each control in detail.
fn evidence(o: &mut String, r: &HistoryReport, fw: &FrameworkMatrix) {
    let _ = writeln!(o, "## {} controls\n", cell(&fw.name));
    let _ = writeln!(o, "Framework score: {}.\n", pct(fw.score));
    let _ = writeln!(o, "| Control | Title | Status |\n|---|---|---|");
    for c in &fw.controls {
        let _ = writeln!(
            o,
            "| {} | {} | {} |",
            code(&c.control),
            c.title.as_deref().map(cell).unwrap_or_else(|| "–".into()),
            state(c.status)
        );
    }
    let _ = writeln!(o);
    for c in &fw.controls {
        let _ = writeln!(
            o,
            "### {} {}\n",
            cell(&c.control),
            c.title.as_deref().map(|t| format!("— {}", cell(t))).unwrap_or_default()
        );
        let _ = writeln!(o, "Status: **{}** (mapped as {}).\n", state(c.status), code(&c.mapped_id));
        let _ = writeln!(o, "| Rule | Policy | Status | Open | Excepted |\n|---|---|---|---:|---:|");
        for x in &c.rules {
            let _ = writeln!(
                o,
                "| {} | {} | {} | {} | {} |",
                code(&x.rule),
                cell(&x.policy),
                state(x.status),
                x.open,
                x.excepted
            );
        }
        let _ = writeln!(o);
        if c.exceptions.is_empty() {
            let _ = writeln!(o, "Exceptions: none.\n");
        } else {
            let _ = writeln!(o, "| Exception | Status | Approved by | Expires |\n|---|---|---|---|");
            for e in &c.exceptions {
                let _ = writeln!(
                    o,
                    "| {} | {} | {} | {} |",
                    code(&e.id),
                    cell(&e.status),
                    list(&e.approved_by),
                    e.expires.as_deref().map(cell).unwrap_or_else(|| "never".into())
                );
            }
            let _ = writeln!(o);
        }
        if c.evidence.is_empty() {
            let _ = writeln!(o, "Evidence runs: none.\n");
        } else {
            let _ = writeln!(o, "Evidence runs (newest first):\n");
            let _ = writeln!(o, "{RUN_HEADER}");
            for id in &c.evidence {
                if let Some(x) = r.runs.iter().find(|x| x.id == *id) {
                    run_row(o, x);
                }
            }
            let _ = writeln!(o);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> HistoryReport {
        HistoryReport {
            version: REPORT_VERSION,
            generated_at: "2026-03-01T00:00:00Z".into(),
            query: Query { framework: Some("soc2".into()), ..Query::default() },
            store: "h.db".into(),
            totals: Totals { runs: 1, score: Some(50.0), ..Totals::default() },
            periods: vec![],
            runs: vec![RunEvidence {
                id: 7,
                started_at: "2026-02-27T09:00:00Z".into(),
                repository: Some("acme/a|b".into()),
                verdict: "fail".into(),
                sha: Some("0123456789abcdef".into()),
                ..RunEvidence::default()
            }],
            exceptions: vec![],
            exception_ageing: vec![],
            rules: vec![],
            repositories: vec![],
            scores: vec![],
            frameworks: vec![FrameworkMatrix {
                id: "soc2".into(),
                name: "SOC 2".into(),
                score: Some(50.0),
                controls: vec![ControlStatus {
                    control: "CC6.1".into(),
                    mapped_id: "SOC2-CC6.1".into(),
                    title: Some("Logical access".into()),
                    status: ControlState::Excepted,
                    rules: vec![ControlRule {
                        rule: "R1".into(),
                        policy: "p<x>".into(),
                        status: ControlState::Excepted,
                        open: 0,
                        excepted: 1,
                    }],
                    exceptions: vec![ExceptionRef {
                        id: "EXC-1".into(),
                        approved_by: vec!["alice".into()],
                        expires: Some("2026-04-01".into()),
                        status: "expired".into(),
                    }],
                    evidence: vec![7],
                }],
            }],
            noise: vec![],
            coverage: Coverage::default(),
        }
    }

    #[test]
    fn evidence_report_lists_each_control_with_exceptions_and_runs_escaped() {
        let md = render(&sample());
        assert!(md.starts_with("# SOC 2 evidence report\n"), "{md}");
        assert!(md.contains("### CC6.1 — Logical access\n"), "{md}");
        assert!(md.contains("Status: **excepted** (mapped as `SOC2-CC6.1`).\n"), "{md}");
        assert!(md.contains("| `R1` | p&lt;x&gt; | excepted | 0 | 1 |\n"), "{md}");
        assert!(md.contains("| `EXC-1` | expired | alice | 2026-04-01 |\n"), "{md}");
        assert!(
            md.contains("| #7 | 2026-02-27T09:00:00Z | acme/a\\|b | – | `0123456789ab` | fail | 0 | 0 |\n"),
            "{md}"
        );
    }

    #[test]
    fn no_runs_says_so() {
        let mut r = sample();
        r.totals.runs = 0;
        r.query.framework = None;
        let md = render(&r);
        assert!(md.starts_with("# Compliance report\n"));
        assert!(md.ends_with("No runs recorded in this window.\n"), "{md}");
    }
}
