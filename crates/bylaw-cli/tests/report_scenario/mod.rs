//! A small recorded history for the tests of `bylaw metrics` and of the
//! HTML report in a browser: one repository (`acme/shop`) checked 8 times
//! by the binary (`check --record STORE`) over four simulated weeks, in
//! environments `prod` and `staging`, with a blocking finding fixed, an
//! advisory one left open, one excepted (approver, expiry) and one that
//! recurs.
#![allow(dead_code)]

use crate::support::cli::{command, run_bounded, write, Out};
use serde_json::Value;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

/// When the reports are made: after the last run.
pub const REPORT_NOW: &str = "2026-05-01T00:00:00Z";

/// Runs recorded.
pub const RUNS: usize = 8;

/// `bylaw ARGS` in `dir` at `now` as repository `acme/shop`, commit `sha`.
pub fn bylaw_at(dir: &Path, now: &str, sha: &str, args: &[&str]) -> Out {
    let mut c = command(dir, args);
    c.env("BYLAW_NOW", now)
        .env("BYLAW_REPOSITORY", "acme/shop")
        .env("BYLAW_SHA", sha)
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .stdout(Stdio::piped());
    run_bounded(c, None, Duration::from_secs(600)).unwrap_or_else(|e| panic!("{e}"))
}

const POLICY: &str = r#"apiVersion: bylaw/v1
kind: Policy
metadata:
  name: shop-k8s
  version: 1.4.0
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
      controls: [SOC2-CC6.1, PCI-DSS-2.2.5]
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
"#;

const EXCEPTIONS: &str = r#"apiVersion: bylaw/v1
kind: ExceptionList
exceptions:
  - id: EXC-7
    rules: [APP-003]
    targets: ["deploy/agent.yaml"]
    reason: Node agent needs the host network
    approved_by: [alice]
    expires: 2026-05-10
"#;

fn deployment(name: &str, image: &str, container: &str, pod: &str) -> String {
    format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {name}\nspec:\n  template:\n    spec:\n{pod}      containers:\n        - name: {name}\n          image: {image}\n{container}"
    )
}

/// The repository at run `i`: web privileged at runs 0–2 and again 6
/// (recurrence); api on `:latest` always (advisory, never fixed); agent on
/// the host network always, excepted by EXC-7 from run 1.
pub fn state_at(dir: &Path, i: usize) {
    let privileged = if i < 3 || i == 6 { "          securityContext:\n            privileged: true\n" } else { "" };
    write(dir, "deploy/web.yaml", &deployment("web", "ghcr.io/acme/web:1.0", privileged, ""));
    write(dir, "deploy/api.yaml", &deployment("api", "ghcr.io/acme/api:latest", "", ""));
    write(dir, "deploy/agent.yaml", &deployment("agent", "ghcr.io/acme/agent:2.0", "", "      hostNetwork: true\n"));
    let exceptions = if i == 0 { "apiVersion: bylaw/v1\nkind: ExceptionList\nexceptions: []\n" } else { EXCEPTIONS };
    write(dir, "exceptions.yaml", exceptions);
}

/// The time of run `i`: every 3.5 days from Monday 2026-04-06 09:00 UTC.
pub fn time_of(i: usize) -> String {
    let start = bylaw_engine::chrono::DateTime::parse_from_rfc3339("2026-04-06T09:00:00Z").unwrap();
    let t = start + bylaw_engine::chrono::Duration::hours(84 * i as i64);
    t.with_timezone(&bylaw_engine::chrono::Utc).format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// The environment of run `i`: staging for runs 2 and 5, else prod.
pub fn env_of(i: usize) -> &'static str {
    if i == 2 || i == 5 {
        "staging"
    } else {
        "prod"
    }
}

/// Records the runs in `store` (an SQLite file); returns the repository.
pub fn record(store: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "policies/k8s.yaml", POLICY);
    for i in 0..RUNS {
        state_at(dir.path(), i);
        let sha = format!("{:02x}{}", i + 1, "ab".repeat(19));
        let args = [
            "check",
            ".",
            "-p",
            "policies",
            "--exceptions",
            "exceptions.yaml",
            "--no-config",
            "--env",
            env_of(i),
            "--record",
            store,
        ];
        let out = bylaw_at(dir.path(), &time_of(i), &sha, &args);
        assert!(out.code == 0 || out.code == 1, "run {i}: exit {}\n{}", out.code, out.stderr);
        assert!(
            out.stderr.contains(&format!("recorded run {} in the history store", i + 1)),
            "run {i}: {}",
            out.stderr
        );
    }
    dir
}

/// `bylaw report --format json ARGS` at [`REPORT_NOW`], parsed.
pub fn json_report(dir: &Path, store: &str, args: &[&str]) -> Value {
    let mut a = vec!["report", "--store", store, "--format", "json"];
    a.extend_from_slice(args);
    let out = bylaw_at(dir, REPORT_NOW, "-", &a);
    assert_eq!(out.code, 0, "{}", out.stderr);
    serde_json::from_str(&out.stdout).unwrap()
}
