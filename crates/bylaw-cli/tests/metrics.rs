//! `bylaw metrics` end to end (issue 19 item 5): a history recorded by the
//! binary (tests/report_scenario), its Prometheus text exposition parsed
//! back by a Prometheus text-format parser from crates.io
//! (`prometheus-parse`), every value compared with `bylaw report --format
//! json` of the same store (the model) and with what the scenario
//! implies; `--env`, `--textfile`, errors; and the README's table lists
//! every metric family.

mod report_scenario;
mod support;

use bylaw_compliance::prometheus::FAMILIES;
use prometheus_parse::{Sample, Scrape, Value as P};
use report_scenario::{bylaw_at, json_report, record, time_of, REPORT_NOW, RUNS};
use serde_json::Value;

fn scrape(text: &str) -> Scrape {
    Scrape::parse(text.lines().map(|l| Ok(l.to_owned()))).unwrap()
}

fn number(v: &P) -> f64 {
    match v {
        P::Counter(x) | P::Gauge(x) | P::Untyped(x) => *x,
        other => panic!("not a number: {other:?}"),
    }
}

/// The value of the one sample of `metric` whose labels include `labels`.
fn get(s: &Scrape, metric: &str, labels: &[(&str, &str)]) -> Option<f64> {
    let found: Vec<&Sample> = s
        .samples
        .iter()
        .filter(|x| x.metric == metric && labels.iter().all(|(k, v)| x.labels.get(k) == Some(*v)))
        .collect();
    assert!(found.len() <= 1, "{metric} {labels:?}: {} samples", found.len());
    found.first().map(|x| number(&x.value))
}

fn approx(a: Option<f64>, b: Option<f64>, what: &str) {
    match (a, b) {
        (Some(a), Some(b)) => assert!((a - b).abs() < 1e-6, "{what}: {a} != {b}"),
        (a, b) => assert_eq!(a, b, "{what}"),
    }
}

fn pct_ratio(v: &Value) -> Option<f64> {
    v.as_f64().map(|p| (p * 100.0).round() / 10000.0)
}

#[test]
fn metrics_equal_the_reports_numbers() {
    let work = tempfile::tempdir().unwrap();
    let store = work.path().join("h.db").to_string_lossy().into_owned();
    let repo = record(&store);
    let json = json_report(repo.path(), &store, &[]);
    let out = bylaw_at(repo.path(), REPORT_NOW, "-", &["metrics", "--store", &store]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let text = out.stdout;
    let s = scrape(&text);

    // every family has its HELP and TYPE; no label names a file, resource or fingerprint
    for f in FAMILIES {
        assert!(s.docs.contains_key(f.name), "no HELP for {}", f.name);
        assert!(text.contains(&format!("# TYPE {} {}\n", f.name, f.kind)), "no TYPE for {}", f.name);
    }
    for x in &s.samples {
        for bad in ["path", "file", "resource", "fingerprint"] {
            assert!(x.labels.get(bad).is_none(), "{} has label {bad}", x.metric);
        }
    }

    // what the scenario implies
    assert_eq!(get(&s, "bylaw_runs_total", &[("repository", "acme/shop")]), Some(RUNS as f64));
    let last = bylaw_engine::chrono::DateTime::parse_from_rfc3339(&time_of(RUNS - 1)).unwrap().timestamp() as f64;
    assert_eq!(get(&s, "bylaw_last_run_timestamp_seconds", &[("repository", "acme/shop")]), Some(last));
    // equal to the model of `bylaw report --format json`
    let t = &json["totals"];
    let r = &json["repositories"][0];
    assert_eq!(r["repository"], "acme/shop");
    for sev in ["critical", "high", "medium", "low", "info"] {
        approx(
            get(&s, "bylaw_findings_open", &[("repository", "acme/shop"), ("severity", sev)]),
            r["open_by_severity"][sev].as_f64(),
            sev,
        );
    }
    approx(get(&s, "bylaw_findings_opened_total", &[("repository", "acme/shop")]), r["opened"].as_f64(), "opened");
    approx(get(&s, "bylaw_findings_fixed_total", &[("repository", "acme/shop")]), r["fixed"].as_f64(), "fixed");
    approx(get(&s, "bylaw_findings_excepted", &[("repository", "acme/shop")]), r["excepted"].as_f64(), "excepted");
    approx(get(&s, "bylaw_findings_recurred_total", &[]), t["recurrences"].as_f64(), "recurrences");
    approx(get(&s, "bylaw_fix_rate_ratio", &[]), pct_ratio(&t["fix_rate"]), "fix rate");
    approx(get(&s, "bylaw_exception_rate_ratio", &[]), pct_ratio(&t["exception_rate"]), "exception rate");
    approx(get(&s, "bylaw_exceptions_open", &[]), t["open_exceptions"].as_f64(), "open exceptions");
    approx(get(&s, "bylaw_exceptions_expiring_soon", &[]), t["expiring_soon"].as_f64(), "expiring soon");
    approx(
        get(&s, "bylaw_compliance_score_ratio", &[("scope", "overall"), ("name", "overall")]),
        pct_ratio(&t["score"]),
        "score",
    );
    for score in json["scores"].as_array().unwrap() {
        let (scope, name) = (score["scope"].as_str().unwrap(), score["name"].as_str().unwrap());
        approx(
            get(&s, "bylaw_compliance_score_ratio", &[("scope", scope), ("name", name)]),
            pct_ratio(&score["current"]),
            name,
        );
    }
    for rule in json["rules"].as_array().unwrap() {
        let labels = [
            ("policy", rule["policy"].as_str().unwrap()),
            ("rule", rule["rule"].as_str().unwrap()),
            ("severity", rule["severity"].as_str().unwrap()),
            ("enforcement", rule["enforcement"].as_str().unwrap()),
        ];
        approx(get(&s, "bylaw_rule_findings_open", &labels), rule["open"].as_f64(), "rule open");
        approx(get(&s, "bylaw_rule_findings_excepted", &labels), rule["excepted"].as_f64(), "rule excepted");
    }
    for b in json["exception_ageing"].as_array().unwrap() {
        approx(
            get(&s, "bylaw_exceptions_open_by_age", &[("age", b["label"].as_str().unwrap())]),
            b["count"].as_f64(),
            "age",
        );
    }
    for fw in json["frameworks"].as_array().unwrap() {
        let id = fw["id"].as_str().unwrap();
        let fails = fw["controls"].as_array().unwrap().iter().filter(|c| c["status"] == "fail").count();
        approx(get(&s, "bylaw_framework_controls", &[("framework", id), ("status", "fail")]), Some(fails as f64), id);
    }
    approx(get(&s, "bylaw_rules_evaluated", &[]), json["coverage"]["rules_evaluated"].as_f64(), "rules evaluated");
    // time to remediate: a summary whose p90 is the model's, in seconds; _count the fixed findings
    let ttr = s.samples.iter().find(|x| x.metric == "bylaw_time_to_remediate_seconds").map(|x| x.value.clone());
    match (t["mttr_p90_hours"].as_f64(), ttr) {
        (Some(p90), Some(P::Summary(q))) => {
            assert_eq!(q.len(), 1);
            assert_eq!(q[0].quantile, 0.9);
            approx(Some(q[0].count), Some(p90 * 3600.0), "p90");
            approx(get(&s, "bylaw_time_to_remediate_seconds_count", &[]), t["fixed"].as_f64(), "count");
            let mean = t["mttr_mean_hours"].as_f64().unwrap();
            let sum = get(&s, "bylaw_time_to_remediate_seconds_sum", &[]).unwrap();
            approx(Some(sum / t["fixed"].as_f64().unwrap() / 3600.0), Some(mean), "mean");
        }
        (None, None) => {}
        (a, b) => panic!("p90 {a:?} but summary {b:?}"),
    }
    assert!(t["fixed"].as_u64().unwrap() >= 1, "the scenario fixes a finding");
}

#[test]
fn env_filter_labels_every_sample_and_textfile_is_written_whole() {
    let work = tempfile::tempdir().unwrap();
    let store = work.path().join("h.db").to_string_lossy().into_owned();
    let repo = record(&store);
    let out = bylaw_at(repo.path(), REPORT_NOW, "-", &["metrics", "--store", &store, "--env", "staging"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let s = scrape(&out.stdout);
    assert!(!s.samples.is_empty());
    for x in &s.samples {
        assert_eq!(x.labels.get("environment"), Some("staging"), "{}", x.metric);
    }
    assert_eq!(get(&s, "bylaw_runs_total", &[("repository", "acme/shop")]), Some(2.0));
    // prod alone: at its last run api is on :latest (open, advisory) and agent's host network is excepted
    let out = bylaw_at(repo.path(), REPORT_NOW, "-", &["metrics", "--store", &store, "--env", "prod"]);
    let prod = scrape(&out.stdout);
    let env = ("environment", "prod");
    assert_eq!(get(&prod, "bylaw_runs_total", &[("repository", "acme/shop"), env]), Some(6.0));
    let latest =
        [("policy", "shop-k8s"), ("rule", "APP-001"), ("severity", "medium"), ("enforcement", "advisory"), env];
    assert_eq!(get(&prod, "bylaw_rule_findings_open", &latest), Some(1.0), "{}", out.stdout);
    let host = [("policy", "shop-k8s"), ("rule", "APP-003"), ("severity", "high"), ("enforcement", "blocking"), env];
    assert_eq!(get(&prod, "bylaw_rule_findings_excepted", &host), Some(1.0), "{}", out.stdout);
    assert_eq!(get(&prod, "bylaw_exceptions_open", &[env]), Some(1.0));

    // the textfile holds exactly what stdout shows; nothing else is left in its directory
    let dir = work.path().join("textfile");
    std::fs::create_dir(&dir).unwrap();
    let path = dir.join("bylaw.prom");
    let out = bylaw_at(
        repo.path(),
        REPORT_NOW,
        "-",
        &["metrics", "--store", &store, "--env", "staging", "--textfile", path.to_str().unwrap()],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stdout, "");
    assert!(
        out.stderr.contains(&format!("wrote {} metric families to {}", FAMILIES.len(), path.display())),
        "{}",
        out.stderr
    );
    let again = bylaw_at(repo.path(), REPORT_NOW, "-", &["metrics", "--store", &store, "--env", "staging"]);
    assert_eq!(std::fs::read_to_string(&path).unwrap(), again.stdout);
    let names: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(names, vec![std::ffi::OsString::from("bylaw.prom")]);
    // a name the collector ignores is written, with a warning
    let txt = dir.join("bylaw.txt");
    let out =
        bylaw_at(repo.path(), REPORT_NOW, "-", &["metrics", "--store", &store, "--textfile", txt.to_str().unwrap()]);
    assert_eq!(out.code, 0);
    assert!(
        out.stderr.contains("warning: node-exporter's textfile collector reads only *.prom files"),
        "{}",
        out.stderr
    );
}

#[test]
fn metrics_without_a_store_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let out = bylaw_at(dir.path(), REPORT_NOW, "-", &["metrics"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("bylaw metrics: no history store: give --store STORE"), "{}", out.stderr);
}

#[test]
fn readme_documents_every_metric() {
    let readme = std::fs::read_to_string(support::cli::workspace().join("README.md")).unwrap();
    let section = readme.split("### Prometheus metrics").nth(1).expect("README: ### Prometheus metrics");
    for f in FAMILIES {
        let row = format!("| `{}` | {} |", f.name, f.kind);
        assert!(section.contains(&row), "README lacks the row {row}");
    }
}

#[test]
fn the_store_being_read_or_another_database_is_never_overwritten() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // one recorded run makes a store
    std::fs::write(d.join("pod.yaml"), "apiVersion: v1\nkind: Pod\nmetadata: { name: p }\nspec:\n  containers: [{ name: c, image: nginx:1.25, securityContext: { privileged: true } }]\n").unwrap();
    let o = bylaw_at(
        d,
        REPORT_NOW,
        "-",
        &["check", "pod.yaml", "-p", "pack:kubernetes-baseline", "--no-config", "-q", "--record", "h.db"],
    );
    assert!(o.stderr.contains("recorded run 1"), "{}", o.stderr);
    std::fs::copy(d.join("h.db"), d.join("other.db")).unwrap();
    let before = std::fs::read(d.join("h.db")).unwrap();
    for (args, shown) in [
        (
            vec!["report", "--store", "h.db", "--format", "json", "-o", "h.db"],
            "h.db is the history store this command reads",
        ),
        (vec!["report", "--store", "h.db", "-o", "./h.db"], "./h.db is the history store this command reads"),
        (vec!["report", "--store", "h.db", "-o", "h.db-wal"], "h.db-wal is the history store this command reads"),
        (vec!["metrics", "--store", "h.db", "--textfile", "h.db"], "h.db is the history store this command reads"),
        (vec!["report", "--store", "h.db", "--format", "md", "-o", "other.db"], "other.db is an SQLite database"),
        (vec!["metrics", "--store", "h.db", "--textfile", "other.db"], "other.db is an SQLite database"),
    ] {
        let o = bylaw_at(d, REPORT_NOW, "-", &args);
        assert_eq!(o.code, 2, "{args:?}: {}", o.stderr);
        assert!(o.stderr.contains(shown), "{args:?}: {}", o.stderr);
    }
    assert_eq!(std::fs::read(d.join("h.db")).unwrap(), before, "the store is untouched");
    assert!(!d.join("h.db-wal").exists());
    let o = bylaw_at(d, REPORT_NOW, "-", &["report", "--store", "other.db", "--format", "json"]);
    assert_eq!(o.code, 0, "the other store still reads: {}", o.stderr);
    // an ordinary file is written
    let o = bylaw_at(d, REPORT_NOW, "-", &["report", "--store", "h.db", "--format", "json", "-o", "r.json"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
}
