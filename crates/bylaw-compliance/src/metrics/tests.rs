//! `compute` and `regressions` on small stores written with `Store::record`.

use super::*;
use bylaw_engine::report::*;
use bylaw_history::{RunMeta, RunSource};

/// A finding of `rule` in `path` (fingerprint `fp-RULE-PATH`), excepted by EXC-1 when `excepted`.
fn finding(rule: &str, path: &str, excepted: bool) -> Finding {
    let (severity, enforcement) =
        if rule == "R1" { (Severity::High, Enforcement::Blocking) } else { (Severity::Low, Enforcement::Advisory) };
    Finding {
        rule_id: rule.into(),
        policy: "demo".into(),
        severity,
        enforcement,
        message: format!("{rule} at {path}"),
        location: Location { path: path.into(), start_line: 7, start_column: 1, end_line: 7, end_column: 9 },
        document: Some(0),
        pointer: "/spec".into(),
        resource: None,
        fingerprint: format!("fp-{rule}-{path}"),
        notes: vec![],
        exception: excepted.then(|| {
            Box::new(AppliedException {
                id: "EXC-1".into(),
                reason: "vendor image".into(),
                kind: "external".into(),
                approved_by: vec!["alice".into()],
                expires: Some("2026-02-05".into()),
            })
        }),
        baseline: None,
    }
}

fn rule(id: &str, control: &str) -> RuleInfo {
    RuleInfo {
        id: id.into(),
        policy: "demo".into(),
        title: format!("rule {id}"),
        severity: if id == "R1" { Severity::High } else { Severity::Low },
        enforcement: if id == "R1" { Enforcement::Blocking } else { Enforcement::Advisory },
        description: None,
        remediation: None,
        controls: vec![control.into()],
        kind: "security".into(),
    }
}

fn report(findings: Vec<Finding>) -> Report {
    let matched = findings.iter().filter(|f| f.exception.is_some()).count();
    let mut r = Report {
        version: bylaw_engine::report::REPORT_VERSION.into(),
        tool: ToolInfo::default(),
        environment: Some("prod".into()),
        fail_on: FailOn::Blocking,
        verdict: Verdict::Pass,
        summary: Summary { files: 3, documents: 4, policies: 1, rules: 3, ..Summary::default() },
        policies: vec![PolicyInfo {
            name: "demo".into(),
            version: Some("1.0.0".into()),
            kind: "security".into(),
            lifecycle: "enforced".into(),
            description: None,
            source: "policy.yaml".into(),
            owners: vec![],
            rules: vec!["R1".into(), "R2".into(), "R3".into()],
            targets: vec![],
        }],
        rules: vec![rule("R1", "SOC2-CC6.1"), rule("R2", "PCI-DSS-6.3.2"), rule("R3", "SOC2-CC8.1")],
        findings,
        exceptions: vec![ExceptionStatus {
            id: "EXC-1".into(),
            status: if matched > 0 { ExceptionState::Active } else { ExceptionState::Stale },
            source: "exceptions.yaml:2".into(),
            rules: vec!["R2".into()],
            reason: "vendor image".into(),
            ticket: None,
            approved_by: vec!["alice".into()],
            expires: Some("2026-02-05".into()),
            days_left: None,
            matched,
            detail: None,
        }],
        errors: vec![],
    };
    r.recount();
    r
}

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn meta(time: &str) -> RunMeta {
    let mut m = RunMeta::new(at(time), RunSource::Check);
    m.repository = Some("acme/app".into());
    m.git_ref = Some("main".into());
    m
}

/// Four weekly runs (Mondays): A (R1) and B (R2) appear; B is excepted
/// from run 2; A is fixed at run 3 and recurs at run 4.
fn four_weeks() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("h.db").to_str().unwrap()).unwrap();
    let a = || finding("R1", "deploy/a.yaml", false);
    let b = |ex| finding("R2", "deploy/b.yaml", ex);
    store.record(&report(vec![a(), b(false)]), &meta("2026-01-05T09:00:00Z")).unwrap();
    store.record(&report(vec![a(), b(true)]), &meta("2026-01-12T09:00:00Z")).unwrap();
    store.record(&report(vec![b(true)]), &meta("2026-01-19T09:00:00Z")).unwrap();
    store.record(&report(vec![a(), b(true)]), &meta("2026-01-26T09:00:00Z")).unwrap();
    (dir, store)
}

const NOW: &str = "2026-01-27T00:00:00Z";

#[test]
fn lifecycle_totals_and_score_of_four_weeks() {
    let (_dir, store) = four_weeks();
    let r = compute(&store, &Query::default(), at(NOW)).unwrap();
    let t = &r.totals;
    assert_eq!((t.runs, t.opened, t.fixed, t.recurrences, t.open), (4, 2, 1, 1, 1));
    assert_eq!(t.open_by_severity, SeverityCounts { high: 1, ..SeverityCounts::default() });
    assert_eq!(t.fix_rate, Some(50.0));
    assert_eq!(t.mttr_mean_hours, Some(336.0));
    assert_eq!(t.mttr_p90_hours, Some(336.0));
    assert_eq!(t.recurrence_rate, Some(100.0));
    assert_eq!(t.exception_rate, Some(50.0));
    assert_eq!((t.open_exceptions, t.expiring_soon), (1, 1));
    // R1 fails, R2 excepted (passes), R3 never fired: 2 of 3
    assert_eq!(t.score, Some(66.67));

    let starts: Vec<&str> = r.periods.iter().map(|p| p.start.as_str()).collect();
    assert_eq!(
        starts,
        ["2026-01-05T00:00:00Z", "2026-01-12T00:00:00Z", "2026-01-19T00:00:00Z", "2026-01-26T00:00:00Z"]
    );
    let opened: Vec<u64> = r.periods.iter().map(|p| p.opened).collect();
    let fixed: Vec<u64> = r.periods.iter().map(|p| p.fixed).collect();
    let scores: Vec<Option<f64>> = r.periods.iter().map(|p| p.score).collect();
    assert_eq!(opened, [2, 0, 0, 0]);
    assert_eq!(fixed, [0, 0, 1, 0]);
    assert_eq!(scores, [Some(33.33), Some(66.67), Some(100.0), Some(66.67)]);
    assert_eq!(r.periods[2].fix_rate, Some(100.0));
    assert_eq!(r.periods[0].open_exceptions, 0);
    assert_eq!(r.periods[1].open_exceptions, 1);

    let exc = &r.exceptions[0];
    // recorded active; at now, expiring within 14 days
    assert_eq!((exc.id.as_str(), exc.status.as_str(), exc.matched, exc.age_days), ("EXC-1", "expiring", 1, 21));
    assert_eq!(exc.recorded_status, "active");
    assert_eq!(exc.first_seen, "2026-01-05T09:00:00Z");
    assert!(exc.expiring_soon);
    let ageing: Vec<u64> = r.exception_ageing.iter().map(|b| b.count).collect();
    assert_eq!(ageing, [1, 0, 0, 0]);

    let r1 = r.rules.iter().find(|x| x.rule == "R1").unwrap();
    assert_eq!((r1.opened, r1.fixed, r1.open, r1.excepted, r1.runs_evaluated, r1.runs_fired), (1, 1, 1, 0, 4, 3));
    assert_eq!(r1.open_findings[0].first_seen, "2026-01-05T09:00:00Z");
    assert_eq!(r.coverage.rules_never_fired, ["R3"]);
    assert_eq!((r.coverage.files, r.coverage.documents, r.coverage.rules_evaluated), (3, 4, 3));
    // R2 is excepted at the last run: the only noise candidate
    assert_eq!(r.noise.len(), 1);
    assert_eq!((r.noise[0].rule.as_str(), r.noise[0].excepted, r.noise[0].noise_rate), ("R2", 1, Some(100.0)));

    let ids: Vec<&str> = r.frameworks.iter().map(|f| f.id.as_str()).collect();
    assert_eq!(ids, ["soc2", "pci-dss"]);
    let soc2 = &r.frameworks[0];
    let states: Vec<(&str, ControlState)> = soc2.controls.iter().map(|c| (c.control.as_str(), c.status)).collect();
    assert_eq!(states, [("CC6.1", ControlState::Fail), ("CC8.1", ControlState::Pass)]);
    assert_eq!(soc2.score, Some(50.0));
    assert_eq!(soc2.controls[0].evidence.len(), 4);
    assert!(soc2.controls[0].title.is_some());
    let pci = &r.frameworks[1].controls[0];
    assert_eq!(pci.status, ControlState::Excepted);
    assert_eq!(pci.exceptions[0].approved_by, ["alice"]);
    let repo = &r.repositories[0];
    assert_eq!((repo.runs, repo.last_run, repo.opened, repo.fixed, repo.excepted), (4, Some(4), 2, 1, 1));
    assert_eq!(r.runs[3].policies, [("demo".to_owned(), Some("1.0.0".to_owned()))]);
    let overall = &r.scores[0];
    assert_eq!((overall.scope, overall.series.len()), (ScoreScope::Overall, 4));
}

#[test]
fn since_excludes_earlier_openings_but_uses_the_history() {
    let (_dir, store) = four_weeks();
    let q = Query { since: Some("2026-01-19T00:00:00Z".into()), ..Query::default() };
    let r = compute(&store, &q, at(NOW)).unwrap();
    let t = &r.totals;
    assert_eq!((t.runs, t.opened, t.fixed, t.recurrences), (2, 0, 1, 1));
    assert_eq!(r.periods.len(), 2);
    assert_eq!(r.runs.iter().map(|x| x.id).collect::<Vec<_>>(), [3, 4]);
    let day = compute(&store, &Query { period: Period::Month, ..Query::default() }, at(NOW)).unwrap();
    assert_eq!(day.periods.len(), 1);
    assert_eq!(day.periods[0].start, "2026-01-01T00:00:00Z");
    assert_eq!(day.periods[0].end, "2026-02-01T00:00:00Z");
}

#[test]
fn framework_filter_and_unknown_framework() {
    let (_dir, store) = four_weeks();
    let q = Query { framework: Some("pci-dss".into()), ..Query::default() };
    let r = compute(&store, &q, at(NOW)).unwrap();
    assert_eq!(r.frameworks.iter().map(|f| f.id.as_str()).collect::<Vec<_>>(), ["pci-dss"]);
    let q = Query { framework: Some("iso27001".into()), ..Query::default() };
    match compute(&store, &q, at(NOW)) {
        Err(ComplianceError::Invalid(m)) => {
            assert!(m.starts_with("unknown framework `iso27001`: known frameworks are soc2, pci-dss, hipaa"), "{m}")
        }
        other => panic!("{other:?}"),
    }
    let q = Query {
        since: Some("2026-02-01T00:00:00Z".into()),
        until: Some("2026-01-01T00:00:00Z".into()),
        ..Query::default()
    };
    assert!(matches!(compute(&store, &q, at(NOW)), Err(ComplianceError::Invalid(_))));
}

#[test]
fn an_empty_store_gives_an_empty_report_without_made_up_rates() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("h.db").to_str().unwrap()).unwrap();
    let r = compute(&store, &Query::default(), at(NOW)).unwrap();
    assert_eq!(r.totals.runs, 0);
    assert_eq!((r.totals.fix_rate, r.totals.score, r.totals.mttr_mean_hours), (None, None, None));
    assert!(r.periods.is_empty() && r.runs.is_empty() && r.frameworks.is_empty());
    assert!(regressions(&store, &Query::default(), at(NOW)).unwrap().is_empty());
}

#[test]
fn regression_gate_names_the_score_drop_and_the_new_blocking_finding() {
    let (_dir, store) = four_weeks();
    let found = regressions(&store, &Query::default(), at(NOW)).unwrap();
    let lines: Vec<String> = found.iter().map(ToString::to_string).collect();
    assert_eq!(
        lines,
        [
            "regression: compliance score fell from 100.00 to 66.67 (run 4 vs run 3, main)",
            "regression: new blocking finding R1 at deploy/a.yaml:7 (run 4)",
        ]
    );
    // up to run 3 the score rose and nothing blocking is new
    let q = Query { until: Some("2026-01-20T00:00:00Z".into()), ..Query::default() };
    assert!(regressions(&store, &q, at(NOW)).unwrap().is_empty());
}

#[test]
fn nearest_rank_percentile_and_buckets() {
    let xs: Vec<f64> = (1..=10).map(f64::from).collect();
    assert_eq!(percentile(&xs, 90.0), Some(9.0));
    assert_eq!(percentile(&[5.0], 90.0), Some(5.0));
    assert_eq!(percentile(&[], 90.0), None);
    assert_eq!(format_time(bucket_start(Period::Week, at("2026-01-11T23:59:59Z"))), "2026-01-05T00:00:00Z");
    assert_eq!(format_time(bucket_next(Period::Month, at("2026-12-01T00:00:00Z"))), "2027-01-01T00:00:00Z");
}

#[test]
fn empty_periods_carry_the_state_over_and_scores_weigh_repositories_by_rules() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("h.db").to_str().unwrap()).unwrap();
    store.record(&report(vec![finding("R1", "a.yaml", false)]), &meta("2026-01-05T09:00:00Z")).unwrap();
    let mut other = meta("2026-01-20T09:00:00Z");
    other.repository = Some("acme/lib".into());
    store.record(&report(vec![]), &other).unwrap();
    let r = compute(&store, &Query::default(), at(NOW)).unwrap();
    // weeks of 5, 12 (no run), 19 and 26 January (now, no run)
    let runs: Vec<u64> = r.periods.iter().map(|p| p.runs).collect();
    assert_eq!(runs, [1, 0, 1, 0]);
    let scores: Vec<Option<f64>> = r.periods.iter().map(|p| p.score).collect();
    // acme/app 2 of 3 rules pass; then acme/lib 3 of 3 joins: 5 of 6
    assert_eq!(scores, [Some(66.67), Some(66.67), Some(83.33), Some(83.33)]);
    assert_eq!(r.periods[1].open_by_severity.high, 1);
    assert_eq!(r.totals.score, Some(83.33));
    let repos: Vec<(Option<&str>, Option<f64>)> =
        r.repositories.iter().map(|x| (x.repository.as_deref(), x.score)).collect();
    assert_eq!(repos, [(Some("acme/app"), Some(66.67)), (Some("acme/lib"), Some(100.0))]);
    let lib = r.scores.iter().find(|s| s.name == "acme/lib").unwrap();
    assert_eq!(lib.series, [None, None, Some(100.0), Some(100.0)]);
    // only acme/lib: nothing was ever open there
    let q = Query { repository: Some("acme/lib".into()), ..Query::default() };
    let lib_only = compute(&store, &q, at(NOW)).unwrap();
    assert_eq!((lib_only.totals.runs, lib_only.totals.opened, lib_only.totals.fix_rate), (1, 0, None));
}
