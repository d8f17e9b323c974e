//! End-to-end tests of `bylaw test`: passing and failing cases, the diff
//! of a failure, JUnit, coverage and `--min-coverage`.

mod support;

use support::cli::{in_workspace, output};

fn run(args: &[&str]) -> (i32, String, String) {
    output(in_workspace(args))
}

const POLICY: &str = "tests/fixtures/policytests/policy.yaml";

#[test]
fn passing_tests_exit_0_with_coverage() {
    let (code, out, err) = run(&["test", POLICY, "tests/fixtures/policytests/images.test.yaml", "--coverage"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("PASS tests/fixtures/policytests/images.test.yaml:5 foreign registry and no tag"), "{out}");
    assert!(out.contains("3 cases: 3 passed, 0 failed"), "{out}");
    assert!(out.contains("coverage: 66.7%"), "{out}");
    let row = out.lines().find(|l| l.trim_start().starts_with("PT-003")).unwrap();
    assert!(row.contains("no") && row.contains("yes"), "PT-003 never fires but passes: {row}");
    let (code, _, err) = run(&["test", POLICY, "tests/fixtures/policytests/images.test.yaml", "--min-coverage", "90"]);
    assert_eq!(code, 1);
    assert!(err.contains("rule coverage 66.7% is below --min-coverage 90"), "{err}");
}

#[test]
fn failing_cases_show_a_diff_exit_1_and_go_to_junit() {
    let dir = tempfile::tempdir().unwrap();
    let junit = dir.path().join("tests.xml");
    let (code, out, _) = run(&["test", "tests/fixtures/policytests", "--junit", junit.to_str().unwrap()]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("FAIL tests/fixtures/policytests/failing/wrong.test.yaml:5"), "{out}");
    assert!(out.contains("expected PT-001 at line 3, got 0 matching, 1 of PT-001:"), "{out}");
    assert!(out.contains("PT-001 at 7:7 (blocking): image docker.io/nginx is not from an allowed registry"), "{out}");
    assert!(out.contains("unexpected finding PT-002 at 7:7"), "{out}");
    assert!(out.contains("5 cases: 4 passed, 1 failed"), "{out}");
    let xml = std::fs::read_to_string(&junit).unwrap();
    let doc = roxmltree::Document::parse(&xml).unwrap();
    assert_eq!(doc.descendants().filter(|n| n.has_tag_name("testcase")).count(), 5);
    let failures: Vec<_> = doc.descendants().filter(|n| n.has_tag_name("failure")).collect();
    assert_eq!(failures.len(), 1);
    assert!(failures[0].attribute("message").unwrap().contains("expected PT-001 at line 3"));
}

#[test]
fn invalid_test_files_exit_2_located() {
    let dir = tempfile::tempdir().unwrap();
    let t = dir.path().join("bad.test.yaml");
    std::fs::write(
        &t,
        "apiVersion: bylaw/v1\nkind: PolicyTest\ncases:\n  - name: x\n    input: { file: missing.yaml }\n    expect: none\n  - name: y\n    input: { inline: 'a: 1' }\n    expect: [{ rule: PT-001, cuont: 1 }]\n",
    )
    .unwrap();
    let (code, _, err) = run(&["test", POLICY, t.to_str().unwrap()]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("bad.test.yaml:9:30") && err.contains("unknown key `cuont`"), "{err}");
}

#[test]
fn the_example_policies_have_passing_tests() {
    let (code, out, err) = run(&["test", "examples/policies"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("0 failed"), "{out}");
}
