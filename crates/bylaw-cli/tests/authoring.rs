//! End-to-end tests of policy composition (`extends` of files and packs,
//! templates), the built-in packs, `bylaw rules` and `bylaw explain`.

mod support;

use std::process::Command;

use support::cli::{in_workspace, output, workspace as root};

fn run(args: &[&str]) -> (i32, String, String) {
    output(in_workspace(args))
}

#[test]
fn a_child_inherits_from_a_file_and_a_pack_and_overrides() {
    let (code, out, err) = run(&[
        "check",
        "tests/fixtures/inherit/manifests",
        "-p",
        "tests/fixtures/inherit/policies",
        "--no-config",
        "--format",
        "json",
    ]);
    assert_eq!(code, 1, "{err}");
    let r: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(r["policies"].as_array().unwrap().len(), 1, "the base is not evaluated on its own");
    assert_eq!(r["policies"][0]["name"], "team-payments");
    let rules: Vec<&str> = r["findings"].as_array().unwrap().iter().map(|f| f["rule_id"].as_str().unwrap()).collect();
    assert_eq!(
        rules,
        ["KB-004", "IN-001", "KB-001"],
        "IN-002 disabled, PAY-001 passes, the child's params allow the api image"
    );
    let kb4 = &r["findings"][0];
    assert_eq!(kb4["enforcement"], "advisory", "override on an inherited pack rule");
    assert!(r["findings"][1]["message"].as_str().unwrap().contains("registry.payments.example/"), "child params");
}

#[test]
fn extends_problems_are_located() {
    let (code, _, err) = run(&["validate", "tests/fixtures/inherit/bad/cycle-a.yaml"]);
    assert_eq!(code, 2);
    assert!(err.contains("`extends` cycle: tests/fixtures/inherit/bad/cycle-a.yaml → tests/fixtures/inherit/bad/cycle-b.yaml → tests/fixtures/inherit/bad/cycle-a.yaml"), "{err}");
    assert!(err.contains("tests/fixtures/inherit/bad/cycle-b.yaml:5:13"), "{err}");
    let (code, _, err) = run(&["validate", "tests/fixtures/inherit/bad/refs.yaml"]);
    assert_eq!(code, 2);
    assert!(err.contains("refs.yaml:5:13") && err.contains("did you mean `pack:kubernetes-baseline`?"), "{err}");
    assert!(err.contains("refs.yaml:5:40") && err.contains("not major version 2"), "{err}");
    assert!(err.contains("refs.yaml:5:70") && err.contains("cannot read `./missing.yaml`"), "{err}");
}

#[test]
fn template_params_and_rule_references_are_checked_on_the_effective_policy() {
    let dir = tempfile::tempdir().unwrap();
    let child = dir.path().join("child.yaml");
    let base = root().join("tests/fixtures/inherit/policies/base.yaml");
    std::fs::write(
        &child,
        format!(
            "apiVersion: bylaw/v1\nkind: Policy\nmetadata: {{ name: child }}\nspec:\n  extends: [\"{}\"]\n  params:\n    registries: [\"ghcr.io/acme\"]\n  overrides: {{ IN-009: {{ severity: low }} }}\n",
            base.display()
        ),
    )
    .unwrap();
    let (code, _, err) = run(&["validate", child.to_str().unwrap()]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("child.yaml:7:18") && err.contains("params.registries.0"), "template params: {err}");
    assert!(err.contains("child.yaml:8:16") && err.contains("`overrides` names unknown rule `IN-009`"), "{err}");
    assert!(err.contains("did you mean `IN-00"), "{err}");
}

#[test]
fn an_inherited_rule_error_points_at_the_parent_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("base.yaml"),
        "apiVersion: bylaw/v1\nkind: Policy\nmetadata: { name: base }\nspec:\n  rules:\n    - id: B-1\n      deny: \"doc.a ==\"\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("child.yaml"),
        "apiVersion: bylaw/v1\nkind: Policy\nmetadata: { name: child }\nspec:\n  extends: [./base.yaml]\n",
    )
    .unwrap();
    let (code, _, err) = run(&["validate", dir.path().join("child.yaml").to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(err.contains("base.yaml:7:"), "{err}");
    assert!(err.contains("invalid CEL expression"), "{err}");
}

#[test]
fn every_pack_rule_example_passes_with_full_coverage() {
    // every built-in pack, the ones added later included
    for pack in bylaw_engine::packs::names() {
        let (code, out, err) = run(&["test", &format!("pack:{pack}"), "--coverage"]);
        assert_eq!(code, 0, "{pack}: {out}{err}");
        assert!(out.contains(" 0 failed"), "{pack}: {out}");
        for line in
            out.lines().filter(|l| l.trim_start().starts_with(|c: char| c.is_ascii_uppercase()) && l.contains(pack))
        {
            let own = !(pack == "kubernetes-restricted" && line.trim_start().starts_with("KB-"));
            if own {
                assert!(!line.contains(" no "), "{pack}: every own rule fires and passes in its examples: {line}");
            }
        }
    }
}

#[test]
fn packs_are_usable_directly_and_documented() {
    let (code, out, _) = run(&["rules"]);
    assert_eq!(code, 0);
    for id in ["KB-001", "KR-001", "KBP-004", "KRB-001", "GHA-004"] {
        assert!(out.contains(id), "{id} in {out}");
    }
    let (_, out, _) = run(&["rules", "--pack", "github-actions-hardening"]);
    assert!(out.contains("GHA-005") && !out.contains("KB-001"), "{out}");
    let (code, out, _) = run(&["explain", "GHA-004"]);
    assert_eq!(code, 0);
    for part in ["pull_request_target", "Why", "Remediation", "controls", "Failing example", "Passing example"] {
        assert!(out.contains(part), "{part} in {out}");
    }
    let (code, _, err) = run(&["explain", "KB-0001"]);
    assert_eq!(code, 2);
    assert!(err.contains("did you mean `KB-001`?"), "{err}");
    // a pack as a policy, straight from the command line
    let (code, out, _) =
        run(&["check", "tests/fixtures/inherit/manifests", "-p", "pack:kubernetes-baseline", "--no-config"]);
    assert_eq!(code, 1);
    assert!(out.contains("[KB-001] container sidecar runs privileged"), "{out}");
}

#[test]
fn the_effective_policy_is_shown_and_is_itself_a_valid_policy() {
    let (code, out, _) = run(&["explain", "--effective", "tests/fixtures/inherit/policies/team.yaml"]);
    assert_eq!(code, 0);
    assert!(out.contains("# extends (resolved first, in order): registry-base, kubernetes-baseline"), "{out}");
    assert!(out.contains("# rules from pack:kubernetes-baseline: KB-001"), "{out}");
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("effective.yaml");
    std::fs::write(&f, &out).unwrap();
    let (code, _, err) = run(&["validate", f.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
}

#[test]
fn init_scaffolds_a_project_where_test_check_and_validate_pass() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join(".github/workflows")).unwrap();
    std::fs::create_dir_all(dir.path().join("deploy")).unwrap();
    std::fs::copy(root().join("examples/manifests/bad/debug-pod.yaml"), dir.path().join("deploy/debug-pod.yaml"))
        .unwrap();
    let bylaw = |args: &[&str]| {
        let out =
            Command::new(env!("CARGO_BIN_EXE_bylaw")).args(args).current_dir(dir.path()).env_clear().output().unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8(out.stdout).unwrap(),
            String::from_utf8(out.stderr).unwrap(),
        )
    };
    let (code, out, err) = bylaw(&["init"]);
    assert_eq!(code, 0, "{out}{err}");
    for f in [
        ".bylaw.yaml",
        "policies/workloads.yaml",
        "policies/workloads.test.yaml",
        ".github/workflows/bylaw.yml",
        "policies/github-actions.yaml",
    ] {
        assert!(dir.path().join(f).is_file(), "{f} created: {out}");
    }
    let (code, out, err) = bylaw(&["test"]);
    assert_eq!(code, 0, "bylaw test right after init: {out}{err}");
    assert!(out.contains("0 failed"), "{out}");
    let (code, out, err) = bylaw(&["check"]);
    assert_eq!(code, 0, "bylaw check right after init (advisory start): {out}{err}");
    assert!(out.contains("[KB-001]"), "the pack finds the privileged pod: {out}");
    assert!(dir.path().join("bylaw.sarif").is_file(), "outputs from .bylaw.yaml");
    let (code, _, err) = bylaw(&["validate"]);
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = bylaw(&["init"]);
    assert_eq!(code, 2, "no silent overwrite");
    assert!(err.contains("not overwriting existing files"), "{err}");
}

#[test]
fn init_adds_the_packs_for_what_the_repository_holds() {
    let dir = tempfile::tempdir().unwrap();
    let write = |rel: &str, text: &str| {
        let p = dir.path().join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    };
    write(
        "infra/main.tf",
        "resource \"aws_s3_bucket\" \"logs\" {\n  bucket = \"logs\"\n  acl    = \"public-read\"\n}\n",
    );
    write("services/api/Dockerfile", "FROM node:latest\nCMD [\"node\", \"index.js\"]\n");
    write(".gitlab-ci.yml", "build:\n  image: node:latest\n  script: [npm ci]\n");
    write("stacks/app.yaml", "AWSTemplateFormatVersion: '2010-09-09'\nResources:\n  B:\n    Type: AWS::S3::Bucket\n");
    let bylaw = |args: &[&str]| {
        let out =
            Command::new(env!("CARGO_BIN_EXE_bylaw")).args(args).current_dir(dir.path()).env_clear().output().unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8(out.stdout).unwrap(),
            String::from_utf8(out.stderr).unwrap(),
        )
    };
    let (code, out, err) = bylaw(&["init", "--platform", "none"]);
    assert_eq!(code, 0, "{out}{err}");
    for (file, pack) in [
        ("policies/terraform-aws.yaml", "pack:terraform-aws@1"),
        ("policies/dockerfiles.yaml", "pack:dockerfile@1"),
        ("policies/gitlab-ci.yaml", "pack:gitlab-ci-hardening@1"),
        ("policies/cloudformation.yaml", "pack:cloudformation-aws@1"),
    ] {
        let text = std::fs::read_to_string(dir.path().join(file)).unwrap_or_else(|e| panic!("{file}: {e}\n{out}"));
        assert!(text.contains(pack), "{file}: {text}");
    }
    assert!(!dir.path().join("policies/terraform-azure.yaml").exists(), "no Azure resource, no Azure pack");
    let (code, _, err) = bylaw(&["validate"]);
    assert_eq!(code, 0, "{err}");
    // advisory to start: the findings are reported, the build passes
    let (code, out, err) = bylaw(&["check", "--format", "json"]);
    assert_eq!(code, 0, "{out}{err}");
    for rule in ["TFAWS-001", "DF-002", "GLCI-001", "CFNAWS-003"] {
        assert!(out.contains(&format!("\"{rule}\"")), "{rule} in {out}");
    }
}
