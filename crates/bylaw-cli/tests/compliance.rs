//! Compliance reports end to end (issue 19, items 2–4, "done means"): a
//! sample repository (four Kubernetes manifests and a GitHub workflow;
//! pack kubernetes-baseline extended by a policy with SOC 2 / PCI DSS
//! controls, a workflow policy, an exception list with approvers and
//! expiry) recorded 30 times by the binary (`check --record STORE`) over
//! ten simulated weeks — findings appear, get fixed, get excepted, an
//! exception expires, a finding recurs, a new blocking finding arrives at
//! the last run — then `bylaw report` as JSON, Markdown and the SOC 2
//! evidence report, checked against the numbers the scenario implies and
//! against the store's rows read back, in SQLite and in PostgreSQL alike;
//! and the regression gate (`--fail-on-regression`).

mod support;

use bylaw_history::{testing, Store};
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;
use support::cli::{command, run_bounded, write, Out};

/// When the reports are made: the day after the last run.
const REPORT_NOW: &str = "2026-05-10T00:00:00Z";

/// `bylaw ARGS` in `dir` at `now` as repository `acme/shop`, ref `main`, commit `sha`.
fn bylaw_at(dir: &Path, now: &str, sha: &str, args: &[&str]) -> Out {
    let mut c = command(dir, args);
    c.env("BYLAW_NOW", now)
        .env("BYLAW_REPOSITORY", "acme/shop")
        .env("BYLAW_SHA", sha)
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .stdout(Stdio::piped());
    run_bounded(c, None, Duration::from_secs(600)).unwrap_or_else(|e| panic!("{e}"))
}

fn report_cmd(dir: &Path, args: &[&str]) -> Out {
    bylaw_at(dir, REPORT_NOW, "-", args)
}

const K8S_POLICY: &str = r#"apiVersion: bylaw/v1
kind: Policy
metadata:
  name: shop-k8s
  version: 2.1.0
  owners: ["@acme/platform"]
spec:
  extends: ["pack:kubernetes-baseline"]
  rules:
    - id: APP-001
      title: Images must not use the latest tag
      severity: medium
      enforcement: advisory
      controls: [SOC2-CC8.1, PCI-DSS-6.3.2]
      each: "$.spec.template.spec.containers[*]"
      deny: "imageTag(item.image) in ['', 'latest']"
      at: image
      message: "image {{ item.image }} has no pinned tag"
"#;

const WORKFLOW_POLICY: &str = r#"apiVersion: bylaw/v1
kind: Policy
metadata:
  name: shop-workflows
  version: 1.0.0
spec:
  match:
    files: [".github/workflows/*.yml"]
  rules:
    - id: WF-001
      title: Workflows declare token permissions
      severity: low
      enforcement: advisory
      controls: [SOC2-CC8.1, PCI-DSS-6.5.1]
      deny: "!has(doc.permissions)"
      message: "the workflow does not declare permissions"
"#;

const NO_EXCEPTIONS: &str = "apiVersion: bylaw/v1\nkind: ExceptionList\nexceptions: []\n";

const EXCEPTIONS: &str = r#"apiVersion: bylaw/v1
kind: ExceptionList
exceptions:
  - id: EXC-1
    rules: [KB-002]
    targets: ["deploy/agent.yaml"]
    reason: Node agent needs the host network until the eBPF rewrite
    approved_by: [alice]
    expires: 2026-04-15
  - id: EXC-2
    rules: [KB-004]
    targets: ["deploy/cache.yaml"]
    reason: Redis port on the node, accepted by the platform team
    approved_by: [bob, carol]
    expires: 2026-05-20
"#;

/// A Deployment `name` with `container` lines under its container and `pod` lines under its pod spec.
fn deployment(name: &str, image: &str, container: &str, pod: &str) -> String {
    format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {name}\n  namespace: shop\nspec:\n  template:\n    spec:\n{pod}      containers:\n        - name: {name}\n          image: {image}\n{container}"
    )
}

/// The repository as it is at run `i` (0-based):
/// - web runs privileged (KB-001, blocking) at runs 0–4 and again 10–13;
/// - api uses `:latest` (APP-001, advisory) at runs 0–7, and a hostPath
///   volume (KB-003, blocking) at run 29 only;
/// - agent uses the host network (KB-002, blocking) at runs 0–23,
///   excepted by EXC-1 from run 3 until it expires (2026-04-15, run 20 on);
/// - cache uses a host port (KB-004, blocking) always, excepted by EXC-2 from run 3;
/// - the workflow never declares permissions (WF-001, advisory).
fn state_at(dir: &Path, i: usize) {
    let privileged =
        if i < 5 || (10..14).contains(&i) { "          securityContext:\n            privileged: true\n" } else { "" };
    write(dir, "deploy/web.yaml", &deployment("web", "ghcr.io/acme/web:1.0", privileged, ""));
    let api_image = if i < 8 { "ghcr.io/acme/api:latest" } else { "ghcr.io/acme/api:3.2" };
    let host_path = if i == 29 {
        "      volumes:\n        - name: logs\n          hostPath:\n            path: /var/log\n"
    } else {
        ""
    };
    write(dir, "deploy/api.yaml", &deployment("api", api_image, "", host_path));
    let host_network = if i < 24 { "      hostNetwork: true\n" } else { "" };
    write(dir, "deploy/agent.yaml", &deployment("agent", "ghcr.io/acme/agent:2.0", "", host_network));
    let port = "          ports:\n            - containerPort: 6379\n              hostPort: 6379\n";
    write(dir, "deploy/cache.yaml", &deployment("cache", "redis:7.2", port, ""));
    write(
        dir,
        ".github/workflows/ci.yml",
        "name: ci\non: push\njobs:\n  build:\n    runs-on: ubuntu-latest\n    steps:\n      - run: make\n",
    );
    write(dir, "exceptions.yaml", if i < 3 { NO_EXCEPTIONS } else { EXCEPTIONS });
}

/// The time of run `i`: every 56 hours from Monday 2026-03-02 09:00 UTC
/// (run 29 on Saturday 2026-05-09 01:00, ten ISO weeks).
fn time_of(i: usize) -> String {
    let start = bylaw_engine::chrono::DateTime::parse_from_rfc3339("2026-03-02T09:00:00Z").unwrap();
    let t = start + bylaw_engine::chrono::Duration::hours(56 * i as i64);
    t.with_timezone(&bylaw_engine::chrono::Utc).format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// The commit of run `i`: 40 hex digits starting with `i + 1`.
fn sha_of(i: usize) -> String {
    format!("{:02x}{}", i + 1, &"c0ffee".repeat(7)[..38])
}

/// Records the 30 runs in `store`; returns the sample repository and the
/// JSON report of the last run.
fn thirty_runs(store: &str) -> (tempfile::TempDir, Value) {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "policies/k8s.yaml", K8S_POLICY);
    write(dir.path(), "policies/workflows.yaml", WORKFLOW_POLICY);
    let mut last = Value::Null;
    for i in 0..30 {
        state_at(dir.path(), i);
        let sha = sha_of(i);
        let args =
            ["check", ".", "-p", "policies", "--exceptions", "exceptions.yaml", "--no-config", "--format", "json"];
        let mut args = args.to_vec();
        args.extend(["--record", store]);
        let out = bylaw_at(dir.path(), &time_of(i), &sha, &args);
        assert!(out.code == 0 || out.code == 1, "run {i}: exit {}\n{}", out.code, out.stderr);
        assert!(
            out.stderr.contains(&format!("recorded run {} in the history store", i + 1)),
            "run {i}: {}",
            out.stderr
        );
        last = serde_json::from_str(&out.stdout).unwrap();
    }
    (dir, last)
}

fn f(v: &Value) -> Option<f64> {
    v.as_f64()
}

/// Everything the reports of `store` must say (`shown`: the store as messages name it).
fn check_reports(store: &str, shown: &str) {
    let (dir, last) = thirty_runs(store);
    let dir = dir.path();

    // ---- JSON, against the scenario
    let out = report_cmd(dir, &["report", "--store", store, "--format", "json"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let r: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(r["version"], 1);
    assert_eq!(r["generated_at"], REPORT_NOW);
    assert_eq!(r["store"], shown);
    let t = &r["totals"];
    assert_eq!(t["runs"], 30);
    // web, api:latest, agent, cache, workflow, api hostPath
    assert_eq!(t["opened"], 6);
    // web twice (runs 5 and 14), api:latest (run 8), agent (run 24)
    assert_eq!(t["fixed"], 4);
    assert_eq!(t["recurrences"], 1);
    assert_eq!(f(&t["recurrence_rate"]), Some(25.0));
    // the workflow (low) and the hostPath (high); the host port is excepted
    assert_eq!(t["open"], 2);
    assert_eq!(t["open_by_severity"], serde_json::json!({"critical": 0, "high": 1, "medium": 0, "low": 1, "info": 0}));
    assert_eq!(f(&t["fix_rate"]), Some(66.67));
    // (280 + 224 + 448 + 1344) / 4 hours; p90 nearest rank = the 4th of 4
    assert_eq!(f(&t["mttr_mean_hours"]), Some(574.0));
    assert_eq!(f(&t["mttr_p90_hours"]), Some(1344.0));
    assert_eq!(f(&t["exception_rate"]), Some(33.33));
    assert_eq!(t["open_exceptions"], 1);
    assert_eq!(t["expiring_soon"], 1);
    // 15 rules; KB-003 and WF-001 fail at the last run
    assert_eq!(f(&t["score"]), Some(86.67));

    let periods = r["periods"].as_array().unwrap();
    assert_eq!(periods.len(), 10);
    assert_eq!(periods[0]["start"], "2026-03-02T00:00:00Z");
    assert_eq!(periods[9]["start"], "2026-05-04T00:00:00Z");
    let sum = |k: &str| periods.iter().map(|p| p[k].as_u64().unwrap()).sum::<u64>();
    assert_eq!((sum("runs"), sum("opened"), sum("fixed")), (30, 6, 4));
    // week 1 (runs 0–2): web, agent, api, cache, workflow open, nothing excepted yet: 10 of 15 rules pass
    assert_eq!(f(&periods[0]["score"]), Some(66.67));
    assert_eq!(periods[0]["open_exceptions"], 0);
    assert_eq!(periods[1]["open_exceptions"], 2);

    let exceptions = r["exceptions"].as_array().unwrap();
    let ids: Vec<&str> = exceptions.iter().map(|e| e["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["EXC-1", "EXC-2"]);
    assert_eq!(exceptions[0]["status"], "expired");
    assert_eq!(exceptions[0]["expiring_soon"], false);
    assert_eq!(exceptions[1]["approved_by"], serde_json::json!(["bob", "carol"]));
    assert_eq!(exceptions[1]["first_seen"], time_of(3));
    assert_eq!(exceptions[1]["age_days"], 61);
    assert_eq!(exceptions[1]["expiring_soon"], true);
    let ageing: Vec<u64> =
        r["exception_ageing"].as_array().unwrap().iter().map(|b| b["count"].as_u64().unwrap()).collect();
    assert_eq!(ageing, [0, 1, 0, 0]);

    let rule = |id: &str| r["rules"].as_array().unwrap().iter().find(|x| x["rule"] == id).unwrap().clone();
    let kb001 = rule("KB-001");
    assert_eq!(
        (kb001["opened"].as_u64(), kb001["fixed"].as_u64(), kb001["open"].as_u64()),
        (Some(1), Some(2), Some(0))
    );
    assert_eq!((kb001["runs_evaluated"].as_u64(), kb001["runs_fired"].as_u64()), (Some(30), Some(9)));
    let kb003 = rule("KB-003");
    let hostpath = &last["findings"].as_array().unwrap().iter().find(|x| x["rule_id"] == "KB-003").unwrap()["location"];
    let line = hostpath["start_line"].as_u64().unwrap();
    assert_eq!(kb003["open_findings"][0]["path"], "deploy/api.yaml");
    assert_eq!(kb003["open_findings"][0]["line"].as_u64(), Some(line));
    assert_eq!(kb003["open_findings"][0]["first_seen"], time_of(29));
    let noise: Vec<(&str, u64, u64)> = r["noise"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| (n["rule"].as_str().unwrap(), n["excepted"].as_u64().unwrap(), n["ignored"].as_u64().unwrap()))
        .collect();
    assert_eq!(noise, [("KB-004", 1, 0), ("WF-001", 0, 1)]);
    assert_eq!(r["coverage"]["rules_evaluated"], 15);
    assert_eq!(r["coverage"]["rules_never_fired"].as_array().unwrap().len(), 9);

    let repo = &r["repositories"][0];
    assert_eq!(
        (repo["repository"].as_str(), repo["runs"].as_u64(), repo["last_run"].as_u64()),
        (Some("acme/shop"), Some(30), Some(30))
    );

    let fw_ids: Vec<&str> = r["frameworks"].as_array().unwrap().iter().map(|x| x["id"].as_str().unwrap()).collect();
    assert_eq!(fw_ids, ["soc2", "pci-dss", "nist-800-53", "cis", "nist-800-190", "pss"]);
    let soc2 = &r["frameworks"][0];
    let controls: Vec<(&str, &str)> = soc2["controls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["control"].as_str().unwrap(), c["status"].as_str().unwrap()))
        .collect();
    assert_eq!(controls, [("CC6.1", "fail"), ("CC6.6", "excepted"), ("CC8.1", "fail")]);
    let cc66 = &soc2["controls"][1];
    assert_eq!(
        cc66["exceptions"],
        serde_json::json!([{"id": "EXC-2", "approved_by": ["bob", "carol"], "expires": "2026-05-20", "status": "expiring"}])
    );
    let evidence: Vec<u64> = cc66["evidence"].as_array().unwrap().iter().map(|x| x.as_u64().unwrap()).collect();
    assert_eq!(evidence, (11..=30).rev().collect::<Vec<u64>>());

    // ---- JSON, against the store's rows read back
    let s = Store::open(store).unwrap();
    let rows = s.runs().unwrap();
    let report_runs = r["runs"].as_array().unwrap();
    assert_eq!(rows.len(), report_runs.len());
    for (row, run) in rows.iter().zip(report_runs) {
        assert_eq!(run["id"].as_i64(), Some(row.id));
        assert_eq!(run["started_at"].as_str(), Some(row.started_at.as_str()));
        assert_eq!(run["verdict"].as_str(), Some(row.verdict.as_str()));
        assert_eq!(run["findings"].as_i64(), Some(row.finding_count));
        assert_eq!(run["sha"].as_str(), row.sha.as_deref());
        assert_eq!(run["sha"].as_str(), Some(sha_of(run["id"].as_u64().unwrap() as usize - 1).as_str()));
    }
    let mut fingerprints = BTreeSet::new();
    for row in &rows {
        for x in s.findings(row.id).unwrap() {
            fingerprints.insert(x.fingerprint);
        }
    }
    assert_eq!(t["opened"].as_u64(), Some(fingerprints.len() as u64));
    let last_rows = s.findings(rows[29].id).unwrap();
    assert_eq!(t["open"].as_u64(), Some(last_rows.iter().filter(|x| x.exception_id.is_none()).count() as u64));
    let last_excepted = last_rows.iter().filter(|x| x.exception_id.is_some()).count();
    assert_eq!(
        f(&t["exception_rate"]),
        Some((10000.0 * last_excepted as f64 / last_rows.len() as f64).round() / 100.0)
    );
    assert_eq!(r["coverage"]["files"].as_i64(), Some(rows[29].files));
    assert_eq!(last["summary"]["findings"].as_u64(), Some(last_rows.len() as u64));

    // ---- Markdown for a CI summary
    let out = report_cmd(dir, &["report", "--store", store, "--format", "md"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let md = out.stdout;
    assert!(md.starts_with("# Compliance report\n"), "{md}");
    assert!(md.contains("| Compliance score | 86.67 % |\n"), "{md}");
    assert!(md.contains("| Time to remediate (mean / p90) | 574.00 h / 1344.00 h |\n"), "{md}");
    assert!(md.contains("| 2026-03-02 | 3 | 5 | 0 |"), "{md}");
    assert!(md.contains("| `EXC-2` | KB-004 | expiring (expires soon) | bob, carol | 2026-05-20 | 61 | 1 |"), "{md}");
    assert!(md.contains("bob, carol | 2026-05-20 |"), "{md}");
    assert!(md.contains("| `CC6.6` | Logical access security measures against threats from sources outside the system boundaries | excepted |"), "{md}");

    // ---- the SOC 2 evidence report
    let out = report_cmd(dir, &["report", "--store", store, "--format", "md", "--framework", "soc2"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let md = out.stdout;
    assert!(md.starts_with("# SOC 2 evidence report\n"), "{md}");
    assert!(md.contains("| `CC6.1` | Logical access security software, infrastructure, and architectures over protected information assets | fail |\n"), "{md}");
    assert!(md.contains("### CC6.6 — Logical access security measures"), "{md}");
    assert!(md.contains("| `EXC-2` | expiring | bob, carol | 2026-05-20 |\n"), "{md}");
    assert!(
        md.contains(&format!(
            "| #30 | {} | acme/shop | `main` | `{}` | fail | 3 | 1 |\n",
            time_of(29),
            &sha_of(29)[..12]
        )),
        "{md}"
    );
    assert!(!md.contains("PCI DSS"), "{md}");
    let out = report_cmd(dir, &["report", "--store", store, "--format", "json", "--framework", "SOC2"]);
    let soc2_only: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(soc2_only["frameworks"].as_array().unwrap().len(), 1);
    assert_eq!(soc2_only["frameworks"][0]["id"], "soc2");
    assert_eq!(soc2_only["query"]["framework"], "soc2");

    // ---- filters: the last two weeks; another environment has nothing
    let out = report_cmd(dir, &["report", "--store", store, "--format", "json", "--since", "2026-04-27"]);
    let recent: Value = serde_json::from_str(&out.stdout).unwrap();
    // runs 24–29; agent fixed at run 24, hostPath opened at run 29
    assert_eq!(
        (recent["totals"]["runs"].as_u64(), recent["totals"]["opened"].as_u64(), recent["totals"]["fixed"].as_u64()),
        (Some(6), Some(1), Some(1))
    );
    let out = report_cmd(dir, &["report", "--store", store, "--format", "md", "--env", "staging"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains("No runs recorded in this window."), "{}", out.stdout);

    // ---- HTML by default
    let out = report_cmd(dir, &["report", "--store", store]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stderr, "wrote bylaw-report.html (30 runs, compliance score 86.67 %)\n");
    assert!(dir.join("bylaw-report.html").is_file());

    // ---- the regression gate: run 30 against run 29 of main
    let out =
        report_cmd(dir, &["report", "--store", store, "--format", "json", "-o", "gate.json", "--fail-on-regression"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_eq!(
        out.stderr,
        format!(
            "wrote gate.json (30 runs, compliance score 86.67 %)\n\
             regression: compliance score fell from 93.33 to 86.67 (run 30 vs run 29, main)\n\
             regression: new blocking finding KB-003 at deploy/api.yaml:{line} (run 30)\n"
        )
    );
    assert!(dir.join("gate.json").is_file(), "the artifact is written when the gate fails");
    // up to run 29 nothing regressed: exit 0
    let out = report_cmd(
        dir,
        &[
            "report",
            "--store",
            store,
            "--format",
            "md",
            "-o",
            "gate.md",
            "--until",
            &time_of(28),
            "--ref",
            "main",
            "--fail-on-regression",
        ],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stderr, "wrote gate.md (29 runs, compliance score 93.33 %)\n");
}

#[test]
fn thirty_runs_report_in_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("history.db").to_string_lossy().into_owned();
    check_reports(&store, &store);
}

#[test]
fn thirty_runs_report_in_postgres() {
    let pg = testing::Postgres::start().unwrap();
    check_reports(&pg.url(), &pg.url());
}

#[test]
fn report_without_a_store_or_with_bad_flags_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let out = report_cmd(dir.path(), &["report", "--format", "json"]);
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("bylaw report: no history store: give --store STORE"), "{}", out.stderr);
    let store = dir.path().join("h.db").to_string_lossy().into_owned();
    let out = report_cmd(dir.path(), &["report", "--store", &store, "--since", "last tuesday"]);
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("`last tuesday` is not a date"), "{}", out.stderr);
    // an empty store (created by a recording command)
    drop(Store::open(&store).unwrap());
    let out = report_cmd(dir.path(), &["report", "--store", &store, "--framework", "iso27001", "--format", "json"]);
    assert_eq!(out.code, 2);
    assert!(
        out.stderr
            .contains("unknown framework `iso27001`: known frameworks are soc2, pci-dss, hipaa, nist-800-53, cis"),
        "{}",
        out.stderr
    );
    // the config's history: is the default store; an empty store is a report, not an error
    write(dir.path(), ".bylaw.yaml", "history: h.db\n");
    let out = report_cmd(dir.path(), &["report", "--format", "md"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains("No runs recorded in this window."), "{}", out.stdout);
}
