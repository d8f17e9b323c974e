//! The window of `bylaw report` and `bylaw metrics` end to end (issue 19,
//! a new user's findings): one reference time (the window's end: `--until`,
//! never after now) for exceptions; a trend series covering the whole
//! window, empty periods included; a framework's own score in its evidence
//! report; exceptions that applied during the window listed by their
//! control; parse errors kept out of the scores; and the flags' edges
//! (`-o -`, negative durations, sub-second `--since`, a future `--since`,
//! singular counts, runs without an environment).
//!
//! The history: five runs of `acme/shop` recorded by the binary, Mondays
//! and Thursdays from 2026-02-02 to 2026-02-16, no environment:
//! - agent on the host network (APP-003, SOC 2 CC6.1) always, excepted by
//!   EXC-3 (expires 2026-03-05) from run 1;
//! - web privileged (APP-002, SOC 2 CC6.1) always, excepted by EXC-4
//!   (expires 2026-02-10) at runs 1 and 2, open once it expired (runs 3, 4);
//! - api on `:latest` (APP-001, SOC 2 CC8.1, advisory) always;
//! - APP-004 (no control) never fires;
//! - a file that does not parse at the last run.

mod support;

use serde_json::Value;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;
use support::cli::{command, run_bounded, write, Out};

/// "Now" of the reports: two months after the pipeline stopped running.
const NOW: &str = "2026-04-20T00:00:00Z";

const POLICY: &str = r#"apiVersion: bylaw/v1
kind: Policy
metadata:
  name: shop-k8s
  version: 1.0.0
spec:
  rules:
    - id: APP-001
      title: Images must not use the latest tag
      severity: medium
      enforcement: advisory
      controls: [SOC2-CC8.1]
      each: "$.spec.template.spec.containers[*]"
      deny: "imageTag(item.image) in ['', 'latest']"
      message: "image {{ item.image }} has no pinned tag"
    - id: APP-002
      title: Containers must not run privileged
      severity: critical
      enforcement: blocking
      controls: [SOC2-CC6.1]
      each: "$.spec.template.spec.containers[*]"
      deny: "item.securityContext.privileged == true"
      message: "container {{ item.name }} runs privileged"
    - id: APP-003
      title: Pods must not use the host network
      severity: high
      enforcement: blocking
      controls: [SOC2-CC6.1]
      each: "$.spec.template.spec"
      deny: "item.hostNetwork == true"
      message: "the pod uses the host network"
    - id: APP-004
      title: Containers are not named forbidden
      severity: low
      enforcement: advisory
      each: "$.spec.template.spec.containers[*]"
      deny: "item.name == 'forbidden'"
      message: "forbidden"
"#;

const EXCEPTIONS: &str = r#"apiVersion: bylaw/v1
kind: ExceptionList
exceptions:
  - id: EXC-3
    rules: [APP-003]
    targets: ["deploy/agent.yaml"]
    reason: Node agent needs the host network
    approved_by: [alice]
    expires: 2026-03-05
  - id: EXC-4
    rules: [APP-002]
    targets: ["deploy/web.yaml"]
    reason: Privileged until the migration
    approved_by: [bob]
    expires: 2026-02-10
"#;

const TIMES: [&str; 5] = [
    "2026-02-02T09:00:00Z",
    "2026-02-05T09:00:00Z",
    "2026-02-09T09:00:00Z",
    "2026-02-12T09:00:00Z",
    "2026-02-16T09:00:00Z",
];

fn deployment(name: &str, image: &str, container: &str, pod: &str) -> String {
    format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {name}\nspec:\n  template:\n    spec:\n{pod}      containers:\n        - name: {name}\n          image: {image}\n{container}"
    )
}

fn bylaw_at(dir: &Path, now: &str, args: &[&str]) -> Out {
    let mut c = command(dir, args);
    c.env("BYLAW_NOW", now)
        .env("BYLAW_REPOSITORY", "acme/shop")
        .env("BYLAW_SHA", "ab".repeat(20))
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .stdout(Stdio::piped());
    run_bounded(c, None, Duration::from_secs(600)).unwrap_or_else(|e| panic!("{e}"))
}

/// Records the five runs; returns the repository and the store.
fn history() -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let store = d.join("history.db").to_string_lossy().into_owned();
    write(d, "policies/k8s.yaml", POLICY);
    let privileged = "          securityContext:\n            privileged: true\n";
    write(d, "deploy/web.yaml", &deployment("web", "ghcr.io/acme/web:1.0", privileged, ""));
    write(d, "deploy/api.yaml", &deployment("api", "ghcr.io/acme/api:latest", "", ""));
    write(d, "deploy/agent.yaml", &deployment("agent", "ghcr.io/acme/agent:2.0", "", "      hostNetwork: true\n"));
    for (i, t) in TIMES.iter().enumerate() {
        let exceptions =
            if i == 0 { "apiVersion: bylaw/v1\nkind: ExceptionList\nexceptions: []\n" } else { EXCEPTIONS };
        write(d, "exceptions.yaml", exceptions);
        if i == 4 {
            write(d, "deploy/broken.yaml", "apiVersion: apps/v1\nkind: Deployment\nspec: [unclosed\n");
        }
        let args =
            ["check", "deploy", "-p", "policies", "--exceptions", "exceptions.yaml", "--no-config", "--record", &store];
        let out = bylaw_at(d, t, &args);
        assert!(out.code == 0 || out.code == 1, "run {i}: exit {}\n{}", out.code, out.stderr);
        assert!(out.stderr.contains(&format!("recorded run {} in the history store", i + 1)), "{}", out.stderr);
    }
    (dir, store)
}

fn report(dir: &Path, store: &str, now: &str, args: &[&str]) -> Out {
    let mut a = vec!["report", "--store", store];
    a.extend_from_slice(args);
    bylaw_at(dir, now, &a)
}

fn json(dir: &Path, store: &str, now: &str, args: &[&str]) -> Value {
    let mut a = vec!["--format", "json"];
    a.extend_from_slice(args);
    let out = report(dir, store, now, &a);
    assert_eq!(out.code, 0, "{}", out.stderr);
    serde_json::from_str(&out.stdout).unwrap()
}

fn exception<'a>(r: &'a Value, id: &str) -> &'a Value {
    r["exceptions"].as_array().unwrap().iter().find(|e| e["id"] == id).unwrap_or_else(|| panic!("no {id}: {r}"))
}

fn starts(r: &Value) -> Vec<String> {
    r["periods"].as_array().unwrap().iter().map(|p| p["start"].as_str().unwrap()[..10].to_owned()).collect()
}

#[test]
fn one_reference_time_whole_window_series_framework_scores_and_flag_edges() {
    let (dir, store) = history();
    let d = dir.path();

    // ---- 1. exceptions at the reference time: now, two months after the last run
    let r = json(d, &store, NOW, &[]);
    let exc3 = exception(&r, "EXC-3");
    assert_eq!(exc3["recorded_status"], "active", "{exc3}");
    assert_eq!(exc3["status"], "expired", "{exc3}");
    assert_eq!(exc3["expiring_soon"], false);
    // first listed at run 1 (2026-02-05T09:00): 73 whole days before now
    assert_eq!(exc3["age_days"], 73);
    assert_eq!(exception(&r, "EXC-4")["status"], "expired");
    assert_eq!((r["totals"]["open_exceptions"].as_u64(), r["totals"]["expiring_soon"].as_u64()), (Some(0), Some(0)));
    let ageing: Vec<u64> =
        r["exception_ageing"].as_array().unwrap().iter().map(|b| b["count"].as_u64().unwrap()).collect();
    assert_eq!(ageing, [0, 0, 0, 0]);
    let out = bylaw_at(d, NOW, &["metrics", "--store", &store]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains("\nbylaw_exceptions_open 0\n"), "{}", out.stdout);
    assert!(out.stdout.contains("\nbylaw_exceptions_expiring_soon 0\n"), "{}", out.stdout);

    // ... and at the end of a window that closes before the expiry: 2026-02-24 23:59:59, EXC-3 expires 9 days later
    let r = json(d, &store, NOW, &["--until", "2026-02-24"]);
    let exc3 = exception(&r, "EXC-3");
    assert_eq!((exc3["status"].as_str(), exc3["expiring_soon"].as_bool()), (Some("expiring"), Some(true)), "{exc3}");
    assert_eq!(exc3["age_days"], 19);
    assert_eq!((r["totals"]["open_exceptions"].as_u64(), r["totals"]["expiring_soon"].as_u64()), (Some(1), Some(1)));
    // the burn-down's last bucket is at the reference time too: EXC-4 expired on 2026-02-10
    let burn: Vec<u64> =
        r["periods"].as_array().unwrap().iter().map(|p| p["open_exceptions"].as_u64().unwrap()).collect();
    assert_eq!(burn, [2, 1, 1, 1]);
    let md = report(d, &store, NOW, &["--format", "md", "--until", "2026-02-24"]).stdout;
    assert!(md.contains("| `EXC-3` | APP-003 | expiring (expires soon) | alice | 2026-03-05 | 19 |"), "{md}");

    // ---- 2. the series covers the window: from the period of since (or the first run) to the period of now
    let r = json(d, &store, NOW, &[]);
    let weeks = starts(&r);
    assert_eq!(weeks.first().map(String::as_str), Some("2026-02-02"));
    assert_eq!(weeks.last().map(String::as_str), Some("2026-04-20"), "a pipeline that stopped is visible: {weeks:?}");
    assert_eq!(weeks.len(), 12);
    let last = r["periods"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["runs"], 0);
    assert_eq!(last["score"], r["totals"]["score"], "the state carries over to the window's end");
    let r = json(d, &store, NOW, &["--since", "2026-01-20"]);
    assert_eq!(starts(&r).first().map(String::as_str), Some("2026-01-19"));
    assert_eq!(r["periods"][0]["runs"], 0);
    let r = json(d, &store, NOW, &["--period", "day", "--since", "2026-02-10", "--until", "2026-02-20"]);
    let days = starts(&r);
    assert_eq!(days.len(), 11, "{days:?}");
    assert_eq!((days[0].as_str(), days[10].as_str()), ("2026-02-10", "2026-02-20"));
    let runs: Vec<u64> = r["periods"].as_array().unwrap().iter().map(|p| p["runs"].as_u64().unwrap()).collect();
    assert_eq!(runs, [0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0]);
    let md = report(d, &store, NOW, &["--format", "md", "--period", "day", "--since", "2026-02-10"]).stdout;
    assert!(md.contains("| 2026-02-10 | 0 | 0 | 0 |"), "{md}");
    assert!(md.contains("| 2026-04-20 | 0 | 0 | 0 |"), "{md}");
    // a huge window by day is refused, with what to do instead
    let out = report(d, &store, NOW, &["--format", "json", "--period", "day", "--since", "2020-01-01"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.contains("at most 1000 periods; use a longer period (--period week or month)"),
        "{}",
        out.stderr
    );
    assert!(
        json(d, &store, NOW, &["--period", "month", "--since", "2020-01-01"])["periods"].as_array().unwrap().len()
            == 76
    );

    // ---- 3. the framework's own score leads its evidence report
    let r = json(d, &store, NOW, &["--framework", "soc2"]);
    let soc2 = r["frameworks"][0]["score"].as_f64().unwrap();
    let overall = r["totals"]["score"].as_f64().unwrap();
    // APP-001 (CC8.1) and APP-002 (CC6.1, EXC-4 expired) fail, APP-003 is excepted; APP-004 maps to no control
    assert_eq!((soc2, overall), (33.33, 50.0));
    let r = json(d, &store, NOW, &["--framework", "soc2", "--until", "2026-02-06"]);
    let (soc2, overall) = (r["frameworks"][0]["score"].as_f64().unwrap(), r["totals"]["score"].as_f64().unwrap());
    assert_eq!((soc2, overall), (66.67, 75.0));
    let md = report(d, &store, NOW, &["--format", "md", "--framework", "soc2"]).stdout;
    assert!(md.contains("| SOC 2 compliance score | 33.33 % |\n"), "{md}");
    assert!(!md.contains("| Compliance score |"), "{md}");
    let out = report(d, &store, NOW, &["--framework", "soc2", "-o", "soc2.html"]);
    assert_eq!(out.stderr, "wrote soc2.html (5 runs, SOC 2 compliance score 33.33 %)\n");
    let html = std::fs::read_to_string(d.join("soc2.html")).unwrap();
    assert!(html.contains("<div class=\"label\">SOC 2 compliance score</div><div class=\"value\" id=\"score\" data-metric=\"score\" data-value=\"33.33\">"), "{html}");

    // ---- 4. every exception that applied to a mapped rule in the window, with its status now
    let r = json(d, &store, NOW, &["--framework", "soc2"]);
    let cc61 = r["frameworks"][0]["controls"].as_array().unwrap().iter().find(|c| c["control"] == "CC6.1").unwrap();
    assert_eq!(
        cc61["exceptions"],
        serde_json::json!([
            {"id": "EXC-3", "approved_by": ["alice"], "expires": "2026-03-05", "status": "expired"},
            {"id": "EXC-4", "approved_by": ["bob"], "expires": "2026-02-10", "status": "expired"}
        ])
    );
    assert!(md.contains("| `EXC-4` | expired | bob | 2026-02-10 |\n"), "{md}");

    // ---- 5. parse errors: counted, visible, never a policy
    let r = json(d, &store, NOW, &[]);
    assert_eq!(r["totals"]["parse_errors"], 1);
    let names: Vec<&str> = r["scores"].as_array().unwrap().iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["overall", "shop-k8s", "soc2", "acme/shop"]);
    assert_eq!(r["coverage"]["rules_evaluated"], 4);
    assert!(r["rules"].as_array().unwrap().iter().all(|x| x["policy"] != "bylaw"), "{}", r["rules"]);
    // 4 rules, APP-001 and APP-002 fail: the parse error does not lower it
    assert_eq!(r["totals"]["score"].as_f64(), Some(50.0));
    assert_eq!(r["totals"]["open"], 2);
    let md = report(d, &store, NOW, &["--format", "md"]).stdout;
    assert!(md.contains("| Files that failed to parse | 1 |\n"), "{md}");
    let metrics = bylaw_at(d, NOW, &["metrics", "--store", &store]).stdout;
    assert!(metrics.contains("\nbylaw_files_unparsed 1\n"), "{metrics}");
    assert!(!metrics.contains("name=\"bylaw\""), "{metrics}");

    // ---- 6. the edges
    // one run, one of everything
    let md = report(d, &store, NOW, &["--format", "md", "--until", "2026-02-02"]).stdout;
    assert!(md.contains("1 run from 2026-02-02T09:00:00Z"), "{md}");
    assert!(md.contains("3 files and 3 documents at the last runs; 4 rules evaluated"), "{md}");
    let out = report(d, &store, NOW, &["--until", "2026-02-02", "-o", "one.md", "--format", "md"]);
    assert_eq!(out.stderr, "wrote one.md (1 run, compliance score 25.00 %)\n");
    // `-o -` is stdout
    let out = report(d, &store, NOW, &["-o", "-"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.starts_with("<!doctype html>"), "{}", out.stdout);
    assert!(!d.join("-").exists());
    // a negative duration is a clear error, not clap's
    let out = report(d, &store, NOW, &["--since", "-5d"]);
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("`-5d` is a negative duration"), "{}", out.stderr);
    assert!(json(d, &store, NOW, &["--since", "64d"])["totals"]["runs"] == 1);
    // a fraction of a second is honoured: the last run started at 09:00:00 exactly
    assert_eq!(json(d, &store, NOW, &["--since", "2026-02-16T09:00:00Z"])["totals"]["runs"], 1);
    assert_eq!(json(d, &store, NOW, &["--since", "2026-02-16T09:00:00.5Z"])["totals"]["runs"], 0);
    assert_eq!(json(d, &store, NOW, &["--until", "2026-02-16T09:00:00.5Z"])["totals"]["runs"], 5);
    // a since after the window's end says which end
    let out = report(d, &store, NOW, &["--since", "2027-01-01"]);
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("--since 2027-01-01 is after now (2026-04-20T00:00:00Z)"), "{}", out.stderr);
    let out = report(d, &store, NOW, &["--since", "2026-03-01", "--until", "2026-02-01"]);
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains("--since 2026-03-01 is after --until 2026-02-01 (2026-02-01T23:59:59Z)"),
        "{}",
        out.stderr
    );
    // an empty HTML report says what the Markdown says
    let out = report(d, &store, NOW, &["--env", "prod", "-o", "empty.html"]);
    assert_eq!(out.stderr, "wrote empty.html (no runs recorded)\n");
    assert!(std::fs::read_to_string(d.join("empty.html")).unwrap().contains("No runs recorded in this window."));
    // runs without an environment are shown as (none)
    let html = std::fs::read_to_string(d.join("soc2.html")).unwrap();
    assert!(html.contains("<td>(none)</td><td><span class=\"status"), "{html}");
}
