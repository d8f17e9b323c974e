//! End-to-end tests of exceptions (exception lists, inline suppressions,
//! policy requirements), `bylaw exceptions list|check` and the audit log,
//! on the fixtures of `tests/fixtures/exceptions/`.

mod support;

use std::process::Command;

use support::cli::{in_workspace, output, workspace as root};

fn bylaw(args: &[&str]) -> Command {
    in_workspace(args)
}

fn run(args: &[&str]) -> (i32, String, String) {
    output(bylaw(args))
}

const DEPLOY: &str = "tests/fixtures/exceptions/deploy";
const POLICY: &str = "tests/fixtures/exceptions/policy.yaml";
const LIST: &str = "tests/fixtures/exceptions/exceptions.yaml";

fn args<'a>(extra: &[&'a str]) -> Vec<&'a str> {
    let mut a = vec![DEPLOY, "-p", POLICY, "--exceptions", LIST, "--no-config"];
    a.extend_from_slice(extra);
    a
}

fn json_report() -> serde_json::Value {
    let mut a = vec!["check"];
    a.extend(args(&["--format", "json"]));
    let (code, out, err) = run(&a);
    assert_eq!(code, 1, "{err}");
    serde_json::from_str(&out).unwrap()
}

fn finding<'r>(r: &'r serde_json::Value, path_end: &str, rule: &str) -> &'r serde_json::Value {
    r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule_id"] == rule && f["location"]["path"].as_str().unwrap().ends_with(path_end))
        .unwrap_or_else(|| panic!("{rule} on {path_end}"))
}

#[test]
fn exceptions_apply_expire_go_stale_and_mandatory_rules_ignore_them() {
    let r = json_report();
    let legacy = finding(&r, "legacy.yaml", "X-001");
    assert_eq!(legacy["exception"]["id"], "EXC-1");
    assert_eq!(legacy["exception"]["kind"], "external");
    assert_eq!(legacy["exception"]["approved_by"][0], "alice");
    let mandatory = finding(&r, "legacy.yaml", "X-002");
    assert!(mandatory.get("exception").is_none());
    assert!(mandatory["notes"][0].as_str().unwrap().contains("mandatory: exception EXC-2 is not honoured"));
    let inline = finding(&r, "app.yaml", "X-001");
    assert_eq!(inline["exception"]["kind"], "inSource");
    assert_eq!(inline["exception"]["reason"], "needs /dev/fuse until the CSI driver lands (SEC-77)");
    let other = finding(&r, "other.yaml", "X-001");
    assert!(other.get("exception").is_none());
    let notes = other["notes"].to_string();
    assert!(notes.contains("exception EXC-3 expired on 2026-05-01"), "{notes}");
    assert!(notes.contains("needs a reason") || notes.contains("requires a reason"), "{notes}");
    assert_eq!(r["summary"]["excepted"], 2);
    assert_eq!(r["summary"]["blocking"], 2);
    assert_eq!(r["verdict"], "fail");

    let status = |id: &str| {
        r["exceptions"].as_array().unwrap().iter().find(|e| e["id"] == id).unwrap_or_else(|| panic!("{id}")).clone()
    };
    assert_eq!(status("EXC-1")["status"], "expiring");
    assert_eq!(status("EXC-1")["days_left"], 9);
    assert_eq!(status("EXC-2")["status"], "active");
    assert_eq!(status("EXC-3")["status"], "expired");
    assert_eq!(status("EXC-4")["status"], "stale");
    assert_eq!(status("EXC-5")["status"], "rejected");
    assert!(status("EXC-6")["detail"].as_str().unwrap().contains("allows at most 90 days"));
    assert_eq!(status("inline:tests/fixtures/exceptions/deploy/other.yaml:13")["status"], "rejected");
    assert_eq!(status("inline:tests/fixtures/exceptions/deploy/app.yaml:13")["status"], "active");

    let schema: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(root().join("schemas/report.schema.json")).unwrap()).unwrap();
    let v = jsonschema::validator_for(&schema).unwrap();
    let errors: Vec<String> = v.iter_errors(&r).map(|e| format!("{}: {e}", e.instance_path())).collect();
    assert!(errors.is_empty(), "{errors:#?}");
}

#[test]
fn rejected_exceptions_are_located_errors_and_the_run_goes_on() {
    let mut a = vec!["check"];
    a.extend(args(&[]));
    let (code, out, err) = run(&a);
    assert_eq!(code, 1, "the run is evaluated: {err}");
    assert!(err.contains("tests/fixtures/exceptions/exceptions.yaml:31:5"), "{err}");
    assert!(err.contains("exception `EXC-5` is rejected: policy `exc-workloads` requires `approved_by`"), "{err}");
    assert!(err.contains("tests/fixtures/exceptions/exceptions.yaml:41:14"), "{err}");
    assert!(err.contains("allows at most 90 days"), "{err}");
    assert!(out.contains("excepted [X-001]"), "{out}");
    assert!(out.contains("excepted by EXC-1: Vendor agent needs host access"), "{out}");
    assert!(out.contains("expired [EXC-3]"), "{out}");
    assert!(out.contains("stale [EXC-4]"), "{out}");
    assert!(
        err.contains(
            "warning: exception EXC-1 (tests/fixtures/exceptions/exceptions.yaml:4) is expiring: expires in 9 days"
        ),
        "{err}"
    );
}

#[test]
fn excepted_findings_are_sarif_suppressions_and_junit_skips() {
    let dir = tempfile::tempdir().unwrap();
    let sarif = dir.path().join("x.sarif");
    let junit = dir.path().join("x.xml");
    let mut a = vec!["check"];
    a.extend(args(&["--sarif", sarif.to_str().unwrap(), "--junit", junit.to_str().unwrap()]));
    let (code, _, _) = run(&a);
    assert_eq!(code, 1);
    let doc: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&sarif).unwrap()).unwrap();
    let v = jsonschema::validator_for(&bylaw_report::sarif_schema()).unwrap();
    let errors: Vec<String> = v.iter_errors(&doc).map(|e| format!("{}: {e}", e.instance_path())).collect();
    assert!(errors.is_empty(), "{errors:#?}");
    let results = doc["runs"][0]["results"].as_array().unwrap();
    let suppressed: Vec<&serde_json::Value> = results.iter().filter(|r| r.get("suppressions").is_some()).collect();
    assert_eq!(suppressed.len(), 2);
    let kinds: Vec<&str> = suppressed.iter().map(|r| r["suppressions"][0]["kind"].as_str().unwrap()).collect();
    assert!(kinds.contains(&"external") && kinds.contains(&"inSource"), "{kinds:?}");
    assert!(suppressed.iter().any(|r| r["suppressions"][0]["justification"].as_str().unwrap().contains("(EXC-1)")));
    let xml = std::fs::read_to_string(&junit).unwrap();
    let doc = roxmltree::Document::parse(&xml).unwrap();
    let skipped = doc.descendants().filter(|n| n.has_tag_name("skipped")).count();
    assert_eq!(skipped, 2, "{xml}");
}

#[test]
fn exceptions_list_and_check() {
    let mut a = vec!["exceptions", "list"];
    a.extend(args(&["--format", "json"]));
    let (code, out, _) = run(&a);
    assert_eq!(code, 0, "list does not judge");
    let list: serde_json::Value = serde_json::from_str(&out).unwrap();
    let states: Vec<(&str, &str)> =
        list.as_array().unwrap().iter().map(|e| (e["id"].as_str().unwrap(), e["status"].as_str().unwrap())).collect();
    assert!(states.contains(&("EXC-1", "expiring")) && states.contains(&("EXC-4", "stale")), "{states:?}");
    let mut a = vec!["exceptions", "check"];
    a.extend(args(&[]));
    let (code, out, err) = run(&a);
    assert_eq!(code, 1);
    assert!(out.contains("EXC-3") && out.contains("expired"), "{out}");
    assert!(
        err.contains("need attention: EXC-3 (expired), EXC-4 (stale), EXC-5 (rejected), EXC-6 (rejected)"),
        "{err}"
    );
    // with only the healthy exception, check passes
    let dir = tempfile::tempdir().unwrap();
    let healthy = dir.path().join("ok.yaml");
    std::fs::write(
        &healthy,
        "apiVersion: bylaw/v1\nkind: ExceptionList\nexceptions:\n  - id: OK-1\n    rules: [X-001]\n    targets: ['**/legacy.yaml']\n    reason: fine\n    approved_by: [alice]\n    expires: 2026-08-01\n",
    )
    .unwrap();
    let (code, out, err) = run(&[
        "exceptions",
        "check",
        "tests/fixtures/exceptions/deploy/legacy.yaml",
        "tests/fixtures/exceptions/deploy/app.yaml",
        "-p",
        POLICY,
        "--exceptions",
        healthy.to_str().unwrap(),
        "--no-config",
    ]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("OK-1") && out.contains("active"), "{out}");
}

#[test]
fn invalid_exception_files_exit_2_with_located_errors() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.yaml");
    std::fs::write(
        &bad,
        "apiVersion: bylaw/v1\nkind: ExceptionList\nexceptions:\n  - id: E-1\n    rules: [X-001]\n    expires: 2026-02-30\n  - id: E-1\n    rules: []\n    reson: typo\n",
    )
    .unwrap();
    let (code, out, err) = run(&["check", DEPLOY, "-p", POLICY, "--exceptions", bad.to_str().unwrap(), "--no-config"]);
    assert_eq!(code, 2, "{out}");
    assert!(out.is_empty());
    assert!(err.contains("bad.yaml:8:12"), "empty rules located: {err}");
    assert!(err.contains("bad.yaml:9:5"), "unknown key located: {err}");
    assert!(err.contains("did you mean `reason`?"), "{err}");
}

#[test]
fn audit_log_records_decisions_and_detects_tampering() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("audit.jsonl");
    for _ in 0..2 {
        let mut a = vec!["check"];
        a.extend(args(&["--audit-log", log.to_str().unwrap()]));
        let (code, _, err) = run(&a);
        assert_eq!(code, 1, "{err}");
    }
    let text = std::fs::read_to_string(&log).unwrap();
    let events: Vec<serde_json::Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let count = |e: &str| events.iter().filter(|v| v["event"] == e).count();
    assert_eq!(count("run"), 2);
    assert_eq!(count("verdict"), 2);
    assert_eq!(count("finding_blocked"), 4);
    assert_eq!(count("finding_excepted"), 4);
    assert_eq!(count("exception_expired"), 2);
    assert_eq!(count("exception_rejected"), 6, "EXC-5, EXC-6 and the refused inline suppression, per run");
    assert!(events.iter().any(|v| v["event"] == "finding_excepted" && v["exception"] == "EXC-1"));
    let (code, out, _) = run(&["audit", "verify", log.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains(&format!("{} lines, chain intact", events.len())), "{out}");

    let (_, shown, _) = run(&["audit", "show", log.to_str().unwrap(), "--exception", "EXC-1"]);
    assert_eq!(shown.lines().count(), 2, "{shown}");
    assert!(shown.contains("excepted by EXC-1"), "{shown}");
    let (_, shown, _) = run(&["audit", "show", log.to_str().unwrap(), "--rule", "X-002", "--json"]);
    assert_eq!(shown.lines().count(), 2, "{shown}");
    let (_, shown, _) = run(&["audit", "show", log.to_str().unwrap(), "--since", "2026-06-02"]);
    assert!(shown.is_empty(), "{shown}");

    let lines: Vec<&str> = text.lines().collect();
    let tampered = dir.path().join("tampered.jsonl");
    let mut edited = lines.clone();
    let changed = edited[3].replace("\"blocking\"", "\"advisory\"");
    edited[3] = &changed;
    std::fs::write(&tampered, edited.join("\n") + "\n").unwrap();
    let (code, out, _) = run(&["audit", "verify", tampered.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(out.contains("tampered.jsonl:4: broken") && out.contains("edited"), "{out}");
    let mut deleted = lines.clone();
    deleted.remove(5);
    std::fs::write(&tampered, deleted.join("\n") + "\n").unwrap();
    let (code, out, _) = run(&["audit", "verify", tampered.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(out.contains("tampered.jsonl:6: broken"), "{out}");
    let mut reordered = lines.clone();
    reordered.swap(7, 8);
    std::fs::write(&tampered, reordered.join("\n") + "\n").unwrap();
    let (code, out, _) = run(&["audit", "verify", tampered.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(out.contains("tampered.jsonl:8: broken") && out.contains("reordered"), "{out}");
}
