//! `bylaw validate` catches each authoring mistake with a located message.

mod support;

use std::process::Command;

use support::cli::{output, workspace as root};

fn run(args: &[&str]) -> (i32, String, String) {
    let mut c = Command::new(env!("CARGO_BIN_EXE_bylaw"));
    c.args(args).current_dir(root()).env_clear();
    output(c)
}

const ARGS: &[&str] =
    &["validate", "tests/fixtures/validate/mistakes.yaml", "--exceptions", "tests/fixtures/validate/exceptions.yaml"];

#[test]
fn every_mistake_is_reported_at_its_location() {
    let (code, _, err) = run(ARGS);
    assert_eq!(code, 2, "{err}");
    let m = "tests/fixtures/validate/mistakes.yaml";
    for (location, message) in [
        (format!("{m}:10:13"), "condition `1 == 2` reads no data: it is always false so the rule can never fire"),
        (format!("{m}:15:13"), "`params.max_replica` is not declared in the policy's `spec.params`"),
        (format!("{m}:15:13"), "did you mean `params.max_replicas`?"),
        (format!("{m}:20:13"), "unknown variable `spec` in `spec.replicas > 3`"),
        (format!("{m}:30:13"), "rule `VM-005` denies the condition that rule `VM-004` (policy `mistakes`) requires"),
        (format!("{m}:28:11"), "warning[lint]: rule `VM-005` has no `remediation`"),
        (format!("{m}:31:11"), "rule `VM-006` of compliance policy `mistakes` maps to no `controls`"),
        (format!("{m}:8:11"), "rule `VM-001` has no tests"),
        (format!("{m}:3:1"), "warning[lint]: policy `mistakes` has no `metadata.version`"),
        ("tests/fixtures/validate/exceptions.yaml:4:5".to_owned(), "exception `E-1` names unknown rule `VM-0002`"),
    ] {
        let block = err
            .split("\n\n")
            .find(|b| b.contains(message) && b.contains(&location))
            .unwrap_or_else(|| panic!("no diagnostic with `{message}` at {location} in:\n{err}"));
        assert!(!block.is_empty());
    }
    assert!(err.contains("5 errors in policies (11 warnings)"), "{err}");
}

#[test]
fn sarif_output_is_valid_and_warnings_alone_pass() {
    let (code, out, _) = run(&[ARGS, &["--format", "sarif"]].concat());
    assert_eq!(code, 2);
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    let v = jsonschema::validator_for(&bylaw_report::sarif_schema()).unwrap();
    let errors: Vec<String> = v.iter_errors(&doc).map(|e| format!("{}: {e}", e.instance_path())).collect();
    assert!(errors.is_empty(), "{errors:#?}");
    let results = doc["runs"][0]["results"].as_array().unwrap();
    assert_eq!(results.len(), 16);
    assert!(results.iter().any(|r| r["ruleId"] == "bylaw/validate/conflict" && r["level"] == "error"));
    assert!(results.iter().any(|r| r["ruleId"] == "bylaw/validate/lint" && r["level"] == "warning"));
    // a policy with only warnings validates
    let (code, _, err) = run(&["validate", "tests/fixtures/policies/workloads.yaml"]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("no errors, 3 warnings"), "{err}");
}
