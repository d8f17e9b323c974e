//! `.rego` policies from the binary: the conftest-style folder under
//! `examples/conftest/` gives the findings conftest's conventions say, each
//! on its line, in every format; `rules` and `explain` show Rego rules;
//! `validate` locates Rego errors.

mod support;

use support::cli::{in_workspace, output};

const ARGS: &[&str] = &[
    "check",
    "-p",
    "examples/conftest/policy",
    "--data",
    "examples/conftest/data",
    "--all-namespaces",
    "--no-config",
    "examples/conftest/manifests",
];

#[test]
fn a_conftest_folder_runs_unchanged_with_a_line_for_every_finding() {
    let mut args = ARGS.to_vec();
    args.extend(["-f", "json"]);
    let (code, out, err) = output(in_workspace(&args));
    assert_eq!(code, 1, "blocking findings fail the run\n{err}");
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    let found: Vec<(String, String, u64, String, bool)> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["rule_id"].as_str().unwrap().to_owned(),
                f["location"]["path"].as_str().unwrap().trim_start_matches("examples/conftest/manifests/").to_owned(),
                f["location"]["start_line"].as_u64().unwrap(),
                f["enforcement"].as_str().unwrap().to_owned(),
                f.get("exception").is_some_and(|e| !e.is_null()),
            )
        })
        .collect();
    let expected: Vec<(String, String, u64, String, bool)> = [
        // `not input.spec.template.spec.securityContext.runAsNonRoot`: its deepest existing part
        ("CT-002", "api.yaml", 11, "blocking", false),
        // `_loc` of a structured `violation` result; `data.registries` from --data
        ("main.violation_registry", "api.yaml", 16, "blocking", false),
        // warn rules advise; the finding is at the node whose change removes it
        // (the image, not the container name its message reads)
        ("main.warn_latest", "api.yaml", 16, "advisory", false),
        ("CT-001", "api.yaml", 18, "blocking", false),
        // the package's `exception` rule: reported, excepted
        ("CT-002", "node-exporter.yaml", 11, "blocking", true),
        ("CT-001", "node-exporter.yaml", 17, "blocking", true),
        // another namespace, Rego v0, `data.services`
        ("services.deny", "services.yaml", 14, "blocking", false),
    ]
    .iter()
    .map(|(r, p, l, e, x)| (r.to_string(), p.to_string(), *l, e.to_string(), *x))
    .collect();
    assert_eq!(found, expected);
    assert_eq!(report["summary"]["excepted"], 2);

    // without --all-namespaces only `main`: no services finding
    let (_, out, _) =
        output(in_workspace(&[&ARGS[..5], &["--no-config", "examples/conftest/manifests", "-f", "json"]].concat()));
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert!(report["findings"].as_array().unwrap().iter().all(|f| f["policy"] == "main"), "{out}");
}

#[test]
fn rego_rules_carry_their_metadata_into_sarif_rules_and_explain() {
    let mut args = ARGS.to_vec();
    args.extend(["-f", "sarif"]);
    let (_, out, err) = output(in_workspace(&args));
    let sarif: serde_json::Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}\n{err}"));
    let rules = sarif["runs"][0]["tool"]["driver"]["rules"].as_array().unwrap();
    let ct1 = rules.iter().find(|r| r["id"] == "CT-001").unwrap();
    assert_eq!(ct1["shortDescription"]["text"], "Containers must not be privileged");
    assert!(ct1["help"]["text"].as_str().unwrap().contains("Remove `securityContext.privileged`"), "{ct1}");

    let (code, out, err) = output(in_workspace(&["rules", "-p", "examples/conftest/policy", "--all-namespaces"]));
    assert_eq!(code, 0, "{err}");
    for row in ["CT-001", "CT-002", "main.warn_latest", "main.violation_registry", "services.deny"] {
        assert!(out.contains(row), "{row} missing from\n{out}");
    }
    let (code, out, err) = output(in_workspace(&["explain", "CT-002", "-p", "examples/conftest/policy"]));
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("CT-002: Pods must not run as root"), "{out}");
    assert!(out.contains("every definition of Rego rule `deny_run_as_root` in package main"), "{out}");
}

#[test]
fn validate_locates_rego_errors_and_passes_the_example() {
    let (code, _, err) = output(in_workspace(&["validate", "examples/conftest/policy"]));
    assert_eq!(code, 0, "{err}");
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(
        tmp.path().join("bad.rego"),
        "package main\n\nimport rego.v1\n\ndeny contains msg if {\n  msg := nosuch(input.a)\n}\n",
    )
    .unwrap();
    let path = tmp.path().join("bad.rego");
    let (code, _, err) = output(in_workspace(&["validate", path.to_str().unwrap()]));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("error[rego]") && err.contains("bad.rego:6:"), "{err}");
}

/// The gatekeeper-library (`../shared/conformance/gatekeeper-library/`).
fn gatekeeper_library() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/conformance/gatekeeper-library/library")
}

/// Cases of the gatekeeper-library that fail, each for a reason outside
/// bylaw's code (README "Gatekeeper"): regorus reads Rego differently
/// from OPA there.
const KNOWN_FAILURES: &[&str] = &[
    // `input.parameters.minimumReplicaSpread` then `(…)` on the next line:
    // regorus reads a call across the line break
    "example-allowed-hpa",
    "example-disallowed-hpa-replicas",
    "example-disallowed-hpa-replicaspread",
    "example-disallowed-scaletarget",
    // `not accept_value(rule, v, params.ranges)` with `ranges` undefined:
    // OPA moves the argument out of the negation (the body fails), regorus
    // negates the undefined call (a violation)
    "example-allowed",
];

#[test]
fn the_gatekeeper_library_suites_run_unchanged() {
    let library = gatekeeper_library();
    let tmp = tempfile::tempdir().unwrap();
    let junit = tmp.path().join("gator.xml");
    let (code, out, err) =
        output(in_workspace(&["test", library.to_str().unwrap(), "--junit", junit.to_str().unwrap()]));
    // two suites cannot run (exit 2), named with their reason
    assert_eq!(code, 2, "{out}\n{err}");
    assert!(err.contains("httpsonly/template.yaml:33:"), "a quoted scalar our YAML reader refuses\n{err}");
    assert!(err.contains("noupdateserviceaccount/template.yaml:97:"), "a set rule with two bodies\n{err}");
    let summary = out.lines().last().unwrap();
    assert_eq!(summary, "265 cases: 260 passed, 5 failed", "{out}");
    let failed: Vec<&str> =
        out.lines().filter_map(|l| l.strip_prefix("FAIL ")).map(|l| l.rsplit(' ').next().unwrap()).collect();
    assert_eq!(failed, KNOWN_FAILURES, "{out}");
    assert!(
        out.contains("PASS pod-security-policy/users/suite.yaml:10 example-disallowed")
            || out.contains("users/suite.yaml:10 example-disallowed")
    );
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert_eq!(xml.matches("<testcase").count(), 265, "every case in the JUnit report");

    // the 16 templates with K8sNativeValidation CEL, by their CEL: the same verdicts
    let (code, out, err) = output(in_workspace(&["test", library.to_str().unwrap(), "--gatekeeper-cel"]));
    assert_eq!(code, 2, "{out}\n{err}");
    assert_eq!(out.lines().last().unwrap(), "265 cases: 260 passed, 5 failed", "{out}");
}

#[test]
fn a_constraint_checks_its_samples_with_a_line_on_the_finding() {
    let dir = gatekeeper_library().join("pod-security-policy/privileged-containers");
    let samples = dir.join("samples/psp-privileged-container");
    let (code, out, err) = output(in_workspace(&[
        "check",
        "--no-config",
        "-p",
        dir.join("template.yaml").to_str().unwrap(),
        "-p",
        samples.join("constraint.yaml").to_str().unwrap(),
        samples.join("example_disallowed.yaml").to_str().unwrap(),
        samples.join("example_allowed.yaml").to_str().unwrap(),
        samples.join("update.yaml").to_str().unwrap(),
        "-f",
        "json",
    ]));
    assert_eq!(code, 1, "{err}");
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    let lines: Vec<(String, u64)> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let path = f["location"]["path"].as_str().unwrap();
            (path.rsplit('/').next().unwrap().to_owned(), f["location"]["start_line"].as_u64().unwrap())
        })
        .collect();
    // the `privileged: true` lines of the container and the init container
    assert_eq!(lines, [("example_disallowed.yaml".to_owned(), 12), ("example_disallowed.yaml".to_owned(), 17)]);
    assert!(report["findings"][0]["message"]
        .as_str()
        .unwrap()
        .starts_with("Privileged container is not allowed: nginx"));
}

#[test]
fn opa_tests_run_with_rego_line_coverage() {
    let (code, out, err) = output(in_workspace(&["test", "examples/conftest/policy", "--coverage"]));
    assert_eq!(code, 0, "{out}\n{err}");
    for line in [
        "PASS examples/conftest/policy/workloads_test.rego:16 test_privileged_container_is_denied",
        "PASS examples/conftest/policy/workloads_test.rego:20 test_non_root_unprivileged_pod_passes",
        "PASS examples/conftest/policy/workloads_test.rego:26 test_registry_from_data",
        "3 cases: 3 passed, 0 failed",
        "100.0%  examples/conftest/policy/lib.rego",
    ] {
        assert!(out.contains(line), "{line:?} missing from\n{out}");
    }
    assert!(out.contains("examples/conftest/policy/workloads.rego (not run: lines"), "{out}");

    // a failing test fails the run, with why
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("p.rego"), "package main\n\nimport rego.v1\n\ndeny contains \"x\" if input.x\n")
        .unwrap();
    std::fs::write(
        tmp.path().join("p_test.rego"),
        "package main\n\nimport rego.v1\n\ntest_x if {\n  count(deny) == 2 with input as {\"x\": true}\n}\n",
    )
    .unwrap();
    let (code, out, _) = output(in_workspace(&["test", tmp.path().to_str().unwrap()]));
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("FAIL") && out.contains("test_x") && out.contains("undefined"), "{out}");
}

#[test]
fn combine_evaluates_once_on_every_file_and_places_findings_in_their_file() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    std::fs::create_dir_all(d.join("k8s")).unwrap();
    std::fs::write(
        d.join("combine.rego"),
        "package main\n\nimport rego.v1\n\ndeny contains msg if {\n\tsome f in input\n\tf.contents.kind == \"Service\"\n\tnot selected(f.contents.spec.selector)\n\tmsg := sprintf(\"service %s selects no deployment\", [f.contents.metadata.name])\n}\n\nselected(selector) if {\n\tsome f in input\n\tf.contents.kind == \"Deployment\"\n\tevery k, v in selector {\n\t\tf.contents.spec.template.metadata.labels[k] == v\n\t}\n}\n",
    )
    .unwrap();
    std::fs::write(
        d.join("k8s/app.yaml"),
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  template:\n    metadata:\n      labels: {app: web}\n",
    )
    .unwrap();
    std::fs::write(
        d.join("k8s/svc.yaml"),
        "apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec:\n  selector: {app: web}\n",
    )
    .unwrap();
    std::fs::write(
        d.join("k8s/api.yaml"),
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: api\nspec:\n  selector: {app: api}\n",
    )
    .unwrap();
    let rego = d.join("combine.rego");
    let k8s = d.join("k8s");
    let (code, out, err) = output(in_workspace(&[
        "check",
        "--no-config",
        "--combine",
        "-p",
        rego.to_str().unwrap(),
        k8s.to_str().unwrap(),
        "-f",
        "json",
    ]));
    assert_eq!(code, 1, "{err}");
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    let findings = report["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 1, "{out}");
    assert_eq!(findings[0]["message"], "service api selects no deployment");
    assert!(findings[0]["location"]["path"].as_str().unwrap().ends_with("k8s/api.yaml"), "{out}");
    assert!(findings[0]["location"]["start_line"].as_u64().unwrap() > 1, "a node of api.yaml: {out}");
    // without --combine every document is its own input: the rule reads nothing
    let (code, _, err) =
        output(in_workspace(&["check", "--no-config", "-p", rego.to_str().unwrap(), k8s.to_str().unwrap()]));
    assert_eq!(code, 0, "{err}");
}
