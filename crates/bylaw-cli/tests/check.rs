//! End-to-end tests of `bylaw check`, `validate` and `schema`: the real
//! binary on the fixtures under `tests/fixtures/` (run from the workspace
//! root so paths in outputs are stable), asserting findings, lines, exit
//! codes and artifacts.

mod support;

use std::process::Command;

use support::cli::{in_workspace, output, workspace as root};

/// The binary with a clean environment (no CI variables, no git), a fixed
/// date, run from the workspace root.
fn bylaw(args: &[&str]) -> Command {
    let mut c = in_workspace(args);
    c.env("BYLAW_REF", "feature/x");
    c
}

fn run(args: &[&str]) -> (i32, String, String) {
    output(bylaw(args))
}

const POLICY: &str = "tests/fixtures/policies/workloads.yaml";
const MANIFESTS: &str = "tests/fixtures/manifests";

#[test]
fn text_output_shows_findings_on_their_lines_and_fails() {
    let (code, out, err) = run(&["check", MANIFESTS, "-p", POLICY, "--no-config"]);
    assert_eq!(code, 1, "blocking findings exit 1\n{out}\n{err}");
    for expected in [
        "tests/fixtures/manifests/broken.yaml:7:",
        "tests/fixtures/manifests/deploy.yaml:11:11",
        "tests/fixtures/manifests/deploy.yaml:13:13",
        "tests/fixtures/manifests/deploy.yaml:17:11",
        "[FX-001] container app runs privileged",
        "[FX-002] image docker.io/library/nginx:1.25 is not from an allowed registry",
        "[FX-003] container proxy has no memory limit",
        "[bylaw/parse-error]",
    ] {
        assert!(out.contains(expected), "missing `{expected}` in:\n{out}");
    }
    assert!(!out.contains("ignored/priv.yaml"), "excluded by match.files");
    assert!(!out.contains("kube-system"), "filtered by match.when");
    assert!(!out.contains('\x1b'), "no colour when stdout is not a terminal");
    insta::assert_snapshot!("text_output", out);
}

#[test]
fn several_formats_in_one_run_and_atomic_files() {
    let dir = tempfile::tempdir().unwrap();
    let sarif = dir.path().join("out/bylaw.sarif");
    let junit = dir.path().join("out/junit.xml");
    let json = dir.path().join("report.json");
    let (code, out, _) = run(&[
        "check",
        MANIFESTS,
        "-p",
        POLICY,
        "--no-config",
        "--format",
        "json",
        "--sarif",
        sarif.to_str().unwrap(),
        "--junit",
        junit.to_str().unwrap(),
        "--json",
        json.to_str().unwrap(),
    ]);
    assert_eq!(code, 1);
    let stdout: serde_json::Value = serde_json::from_str(&out).unwrap();
    let file: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(stdout, file, "stdout JSON and --json file are the same report");
    assert_eq!(file["version"], "1.1");
    assert_eq!(file["verdict"], "fail");
    assert_eq!(file["summary"]["blocking"], 3);
    assert_eq!(file["summary"]["advisory"], 1);
    assert_eq!(file["summary"]["files"], 3);
    let schema: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(root().join("schemas/report.schema.json")).unwrap()).unwrap();
    let v = jsonschema::validator_for(&schema).unwrap();
    let errors: Vec<String> = v.iter_errors(&file).map(|e| format!("{}: {e}", e.instance_path().as_str())).collect();
    assert!(errors.is_empty(), "report schema: {errors:#?}");

    let sarif: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&sarif).unwrap()).unwrap();
    let schema = bylaw_report::sarif_schema();
    let v = jsonschema::validator_for(&schema).unwrap();
    let errors: Vec<String> = v.iter_errors(&sarif).map(|e| format!("{}: {e}", e.instance_path().as_str())).collect();
    assert!(errors.is_empty(), "SARIF schema: {errors:#?}");
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    assert_eq!(results.len(), 4);
    let fx1 = results.iter().find(|r| r["ruleId"] == "FX-001").unwrap();
    assert_eq!(fx1["level"], "error");
    assert_eq!(
        fx1["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "tests/fixtures/manifests/deploy.yaml"
    );
    assert_eq!(fx1["locations"][0]["physicalLocation"]["artifactLocation"]["uriBaseId"], "%SRCROOT%");
    assert_eq!(fx1["locations"][0]["physicalLocation"]["region"]["startLine"], 13);
    let fx3 = results.iter().find(|r| r["ruleId"] == "FX-003").unwrap();
    assert_eq!(fx3["level"], "warning", "advisory by override");

    let xml = std::fs::read_to_string(&junit).unwrap();
    let doc = roxmltree::Document::parse(&xml).unwrap();
    let failures = doc.descendants().filter(|n| n.has_tag_name("failure")).count();
    assert_eq!(failures, 3, "{xml}");
    let cases = doc.descendants().filter(|n| n.has_tag_name("testcase")).count();
    assert!(cases >= 6, "a testcase per rule x target: {xml}");
    // no temporary files left behind
    let leftovers: Vec<_> =
        std::fs::read_dir(dir.path().join("out")).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(leftovers.len(), 2, "{leftovers:?}");
}

#[test]
fn sarif_snapshot() {
    let (_, out, _) = run(&["check", MANIFESTS, "-p", POLICY, "--no-config", "--format", "sarif"]);
    insta::assert_snapshot!("sarif_output", out);
}

#[test]
fn environments_and_fail_on() {
    let (code, out, _) = run(&["check", MANIFESTS, "-p", POLICY, "--no-config", "--env", "dev", "--format", "json"]);
    let r: serde_json::Value = serde_json::from_str(&out).unwrap();
    // In dev everything is advisory except the parse error of broken.yaml.
    assert_eq!(r["environment"], "dev");
    assert_eq!(r["summary"]["blocking"], 1);
    assert_eq!(code, 1);
    let (code, _, _) =
        run(&["check", "tests/fixtures/manifests/deploy.yaml", "-p", POLICY, "--no-config", "--env", "dev"]);
    assert_eq!(code, 0, "advisory findings do not fail by default");
    let (code, _, _) = run(&[
        "check",
        "tests/fixtures/manifests/deploy.yaml",
        "-p",
        POLICY,
        "--no-config",
        "--env",
        "dev",
        "--fail-on",
        "advisory",
    ]);
    assert_eq!(code, 1);
    let (code, _, _) = run(&["check", MANIFESTS, "-p", POLICY, "--no-config", "--fail-on", "never"]);
    assert_eq!(code, 0);
    let (code, _, _) = run(&["check", "tests/fixtures/manifests/good.json", "-p", POLICY, "--no-config"]);
    assert_eq!(code, 0, "a passing file exits 0");
}

#[test]
fn config_file_environment_by_branch_and_flags_win() {
    let cfg = "tests/fixtures/config/.bylaw.yaml";
    // feature/x → dev (advisory), broken.yaml excluded by targets → exit 0
    let (code, out, err) = run(&["check", "--config", cfg, "--format", "json"]);
    assert_eq!(code, 0, "{out}\n{err}");
    let r: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(r["environment"], "dev");
    assert_eq!(r["summary"]["advisory"], 3);
    assert_eq!(r["summary"]["files"], 2);
    // main → prod (blocking)
    let out = bylaw(&["check", "--config", cfg]).env("BYLAW_REF", "main").output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    // the flag wins over the branch
    let out = bylaw(&["check", "--config", cfg, "--env", "dev"]).env("BYLAW_REF", "main").output().unwrap();
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn policy_errors_exit_2_with_every_error_located() {
    let (code, out, err) = run(&["check", MANIFESTS, "-p", "tests/fixtures/bad-policies/errors.yaml", "--no-config"]);
    assert_eq!(code, 2);
    assert!(out.is_empty(), "nothing evaluated: {out}");
    for expected in [
        "tests/fixtures/bad-policies/errors.yaml:4:9",
        "`metadata.name` `Bad_Name` does not match",
        "tests/fixtures/bad-policies/errors.yaml:8:17",
        "did you mean `high`?",
        "tests/fixtures/bad-policies/errors.yaml:12:7",
        "unknown key `denny`",
        "did you mean `deny`?",
        "4 |   name: Bad_Name",
    ] {
        assert!(err.contains(expected), "missing `{expected}` in:\n{err}");
    }
    insta::assert_snapshot!("policy_errors", err);
}

#[test]
fn cel_and_jsonpath_errors_are_located() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("p.yaml");
    std::fs::write(
        &p,
        "apiVersion: bylaw/v1\nkind: Policy\nmetadata: {name: p}\nspec:\n  rules:\n    - id: C-1\n      deny: \"doc.a ==\"\n    - id: C-2\n      each: \"$.spec.containers[*\"\n      deny: \"true\"\n    - id: C-3\n      deny: \"item.x\"\n",
    )
    .unwrap();
    let (code, _, err) = run(&["validate", p.to_str().unwrap()]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("p.yaml:7:22"), "CEL error at its column (end of input):\n{err}");
    assert!(err.contains("invalid CEL expression"), "{err}");
    assert!(err.contains("p.yaml:9:"), "{err}");
    assert!(err.contains("invalid JSONPath"), "{err}");
    assert!(err.contains("p.yaml:12:13"), "{err}");
    assert!(err.contains("`item` is only bound in rules with `each`"), "{err}");
    assert!(err.contains("condition `true` reads no data: it is always true"), "{err}");
    assert!(err.contains("4 errors in policies"), "{err}");
}

#[test]
fn usage_errors_exit_2() {
    let (code, _, err) = run(&["check", "nope/", "-p", POLICY, "--no-config"]);
    assert_eq!(code, 2);
    assert!(err.contains("no such file or directory: nope"), "{err}");
    let (code, _, err) = run(&["check", MANIFESTS, "--no-config"]);
    assert_eq!(code, 2);
    assert!(err.contains("no policies to evaluate"), "{err}");
    let (code, _, _) = run(&["check", MANIFESTS, "-p", POLICY, "--fail-on", "sometimes"]);
    assert_eq!(code, 2);
    let (code, _, err) = run(&["check", MANIFESTS, "-p", POLICY, "--no-config", "--format", "yaml"]);
    assert_eq!(code, 2);
    assert!(err.contains("unknown format `yaml`"), "{err}");
}

#[test]
fn unknown_formats_are_skipped_with_a_warning() {
    let (code, out, err) = run(&[
        "check",
        "tests/fixtures/manifests/notes.txt",
        "tests/fixtures/manifests/good.json",
        "-p",
        POLICY,
        "--no-config",
    ]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(err.contains("notes.txt: skipped"), "{err}");
}

#[test]
fn schema_command_prints_the_language_schema() {
    let (code, out, _) = run(&["schema"]);
    assert_eq!(code, 0);
    let s: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(s["properties"]["apiVersion"]["const"], "bylaw/v1");
    assert!(s["$defs"]["rule"]["properties"]["deny"].is_object());
    let (_, out, _) = run(&["schema", "report"]);
    let s: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert!(s["properties"]["findings"].is_object());
    let (_, out, _) = run(&["schema", "config"]);
    assert!(out.contains("environments"));
}

#[test]
fn the_context_cel_sees_is_what_schema_context_describes() {
    let (code, out, _) = run(&["schema", "context"]);
    assert_eq!(code, 0);
    let schema: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(schema["properties"]["pr"]["$ref"], "#/$defs/changeRequest");
    // a pipeline policy prints `ctx` as CEL sees it
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("show.yaml");
    std::fs::write(
        &p,
        "apiVersion: bylaw/v1\nkind: Policy\nmetadata: {name: show}\nspec:\n  match: {target: pipeline}\n  rules:\n    - id: SHOW\n      deny: \"true\"\n      message: \"{{ ctx }}\"\n",
    )
    .unwrap();
    let v = jsonschema::validator_for(&schema).unwrap();
    for (vars, keys) in [
        (vec![], vec!["changed_files", "event", "platform", "ref", "time"]),
        (
            vec![("BYLAW_PR_NUMBER", "12"), ("BYLAW_PR_TITLE", "SEC-1"), ("BYLAW_SHA", "abc"), ("GITLAB_CI", "true")],
            vec!["changed_files", "event", "platform", "pr", "ref", "sha", "time"],
        ),
    ] {
        let mut c =
            bylaw(&["check", "--no-config", "-p", p.to_str().unwrap(), "--format", "json", "--fail-on", "never"]);
        c.arg("tests/fixtures/manifests/good.json");
        for (k, val) in &vars {
            c.env(k, val);
        }
        let out = c.output().unwrap();
        let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let ctx: serde_json::Value = serde_json::from_str(r["findings"][0]["message"].as_str().unwrap()).unwrap();
        let errors: Vec<String> = v.iter_errors(&ctx).map(|e| e.to_string()).collect();
        assert!(errors.is_empty(), "{errors:?}\n{ctx}");
        // `sha` comes from git when the tests run in a work tree
        let mut got: Vec<&str> = ctx.as_object().unwrap().keys().map(String::as_str).collect();
        if !keys.contains(&"sha") {
            got.retain(|k| *k != "sha");
        }
        got.sort();
        assert_eq!(got, keys, "{ctx}");
    }
}

#[test]
fn validate_accepts_good_policies() {
    let (code, _, err) = run(&["validate", POLICY]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("ok: 1 policy, 3 rules"), "{err}");
}

#[test]
fn pipeline_policy_reads_ctx_from_generic_variables() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("pipe.yaml");
    std::fs::write(
        &p,
        "apiVersion: bylaw/v1\nkind: Policy\nmetadata: {name: pipe, type: operational}\nspec:\n  match: {target: pipeline}\n  rules:\n    - id: P-1\n      title: PRs touching prod need a ticket\n      deny:\n        all:\n          - \"ctx.changed_files.exists(f, f.startsWith('prod/'))\"\n          - not: \"ctx.pr.title.matches('[A-Z]+-[0-9]+')\"\n",
    )
    .unwrap();
    let out = bylaw(&[
        "check",
        "--no-config",
        "-p",
        p.to_str().unwrap(),
        "--format",
        "json",
        "tests/fixtures/manifests/good.json",
    ])
    .env("BYLAW_PR_NUMBER", "12")
    .env("BYLAW_PR_TITLE", "tweak things")
    .env("BYLAW_CHANGED_FILES", "prod/app.yaml\nREADME.md")
    .output()
    .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["findings"][0]["rule_id"], "P-1");
    let ok = bylaw(&["check", "--no-config", "-p", p.to_str().unwrap(), "tests/fixtures/manifests/good.json"])
        .env("BYLAW_PR_NUMBER", "12")
        .env("BYLAW_PR_TITLE", "SEC-9 tweak things")
        .env("BYLAW_CHANGED_FILES", "prod/app.yaml")
        .output()
        .unwrap();
    assert_eq!(ok.status.code(), Some(0));
}

#[test]
fn a_deleted_working_directory_stops_with_exit_2_and_checks_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let sarif = tmp.path().join("out.sarif");
    let script = format!(
        "mkdir gone && cd gone && rmdir ../gone && exec {} check --sarif {}",
        env!("CARGO_BIN_EXE_bylaw"),
        sarif.display()
    );
    let out = Command::new("sh").arg("-c").arg(script).current_dir(tmp.path()).env_clear().output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("cannot read the current directory"), "{err}");
    // the report named does not look like a clean run
    let report: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&sarif).unwrap()).unwrap();
    assert_eq!(report["runs"][0]["invocations"][0]["executionSuccessful"], false);
    // what needs no directory still works: the packs, absolute paths
    let script = format!(
        "mkdir gone2 && cd gone2 && rmdir ../gone2 && exec {} rules --pack kubernetes-baseline",
        env!("CARGO_BIN_EXE_bylaw")
    );
    let out = Command::new("sh").arg("-c").arg(script).current_dir(tmp.path()).env_clear().output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("KB-001"));
}

#[test]
fn files_above_the_working_directory_are_named_as_the_user_spells_them() {
    let tmp = tempfile::tempdir().unwrap();
    let sub = tmp.path().join("repo/sub");
    std::fs::create_dir_all(&sub).unwrap();
    std::fs::create_dir_all(tmp.path().join("repo/.git")).unwrap();
    std::fs::write(tmp.path().join("repo/p.yaml"), "apiVersion: bylaw/v1\nkind: Policy\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_bylaw"))
        .args(["check", "-p", "../p.yaml", "--no-config", "."])
        .current_dir(&sub)
        .env_clear()
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("--> ../p.yaml:"), "{err}");
    assert!(!err.contains(&tmp.path().display().to_string()), "{err}");
}

#[test]
fn a_baseline_reports_old_findings_at_audit_level_and_blocks_only_new_ones() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let pod = |name: &str, extra: &str| {
        format!("apiVersion: v1\nkind: Pod\nmetadata: {{ name: {name} }}\nspec:\n{extra}  containers:\n    - name: c\n      image: nginx:1.25\n      securityContext: {{ privileged: true }}\n")
    };
    std::fs::write(dir.join("old.yaml"), pod("old", "")).unwrap();
    let bylaw = |args: &[&str]| {
        let mut all = vec!["check", ".", "-p", "pack:kubernetes-baseline", "--no-config"];
        all.extend_from_slice(args);
        let out = Command::new(env!("CARGO_BIN_EXE_bylaw")).args(&all).current_dir(dir).env_clear().output().unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8(out.stdout).unwrap(),
            String::from_utf8(out.stderr).unwrap(),
        )
    };
    // the baseline of today's findings; writing it again replaces it
    let (code, _, err) = bylaw(&["--write-baseline", "baseline.json", "-q"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("wrote the baseline baseline.json (1 finding)"), "{err}");
    let (_, _, err) = bylaw(&["--write-baseline", "baseline.json", "-q"]);
    assert!(err.contains("wrote the baseline"), "its own earlier baseline is replaced: {err}");
    let written: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("baseline.json")).unwrap()).unwrap();
    assert_eq!(written["bylaw_baseline"], 2);
    assert_eq!(written["findings"][0]["rule"], "KB-001");
    // nothing new: the old finding is audit-level, the run passes
    let (code, out, err) = bylaw(&["--baseline", "baseline.json", "--format", "json"]);
    assert_eq!(code, 0, "{out}{err}");
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["summary"]["baselined"], 1);
    assert_eq!(report["summary"]["audit"], 1);
    assert_eq!(report["findings"][0]["baseline"], "unchanged");
    assert_eq!(report["findings"][0]["enforcement"], "audit");
    assert_eq!(report["summary"]["files"], 1, "the baseline file is not an input");
    // a new pod with the same violation: only it blocks, and SARIF says which is which
    std::fs::write(dir.join("new.yaml"), pod("new", "  hostNetwork: true\n")).unwrap();
    let (code, out, _) = bylaw(&["--baseline", "baseline.json", "--format", "sarif"]);
    assert_eq!(code, 1);
    let sarif: serde_json::Value = serde_json::from_str(&out).unwrap();
    let mut states: Vec<(String, String, String, String)> = sarif["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let s = |v: &serde_json::Value| v.as_str().unwrap_or_default().to_owned();
            (
                s(&r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]),
                s(&r["ruleId"]),
                s(&r["baselineState"]),
                s(&r["level"]),
            )
        })
        .collect();
    states.sort();
    let row = |p: &str, r: &str, b: &str, l: &str| (p.to_owned(), r.to_owned(), b.to_owned(), l.to_owned());
    assert_eq!(
        states,
        [
            row("new.yaml", "KB-001", "new", "error"),
            row("new.yaml", "KB-002", "new", "error"),
            row("old.yaml", "KB-001", "unchanged", "note"),
        ]
    );
    let (code, out, _) = bylaw(&["--baseline", "baseline.json"]);
    assert_eq!(code, 1);
    assert!(out.contains("baseline: 1 finding in the baseline reported at audit level; 2 new"), "{out}");
    // a missing or foreign baseline stops the run
    let (code, _, err) = bylaw(&["--baseline", "nope.json"]);
    assert_eq!(code, 2);
    assert!(err.contains("cannot read the baseline nope.json"), "{err}");
    // ... before anything else: the missing policy directory is not even looked at
    let (code, _, err) = bylaw(&["--baseline", "nope.json", "-p", "gone-policies/"]);
    assert_eq!(code, 2);
    assert!(err.contains("cannot read the baseline nope.json"), "{err}");
    assert!(!err.contains("gone-policies"), "{err}");
    // a file that is not a baseline is not replaced, and the hint speaks of a baseline
    std::fs::write(dir.join("notes.json"), "{\"a\": 1}").unwrap();
    let (code, _, err) = bylaw(&["--write-baseline", "notes.json"]);
    assert_eq!(code, 2);
    assert!(err.contains("refusing to write notes.json: an existing file that is not a bylaw baseline"), "{err}");
    assert!(err.contains("hint: choose another path for the baseline"), "{err}");
    assert!(!err.contains("report"), "{err}");
    std::fs::write(dir.join("other.json"), "{\"a\": 1}").unwrap();
    let (code, _, err) = bylaw(&["--baseline", "other.json"]);
    assert_eq!(code, 2);
    assert!(err.contains("error: other.json:1:8: not a bylaw baseline: missing field `bylaw_baseline`\n"), "{err}");
}

/// Runs `check . -p pack:kubernetes-restricted --no-config ARGS` in `dir`.
fn check_in(dir: &std::path::Path, args: &[&str]) -> (i32, String, String) {
    let mut all = vec!["check", ".", "-p", "pack:kubernetes-restricted", "--no-config"];
    all.extend_from_slice(args);
    let out = Command::new(env!("CARGO_BIN_EXE_bylaw")).args(&all).current_dir(dir).env_clear().output().unwrap();
    (out.status.code().unwrap_or(-1), String::from_utf8(out.stdout).unwrap(), String::from_utf8(out.stderr).unwrap())
}

/// A Deployment whose containers are `containers` (YAML list items).
fn deployment(containers: &str) -> String {
    format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {{ name: web }}\nspec:\n  template:\n    spec:\n      containers:\n{containers}"
    )
}

const COMPLIANT: &str = "        - name: sidecar\n          image: busybox:1.36\n          securityContext:\n            allowPrivilegeEscalation: false\n            runAsNonRoot: true\n            capabilities: { drop: [ALL] }\n            seccompProfile: { type: RuntimeDefault }\n";

#[test]
fn a_findings_identity_survives_an_inserted_container_and_a_grown_security_context() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let app = "        - name: app\n          image: nginx:1.25\n";
    std::fs::write(dir.join("web.yaml"), deployment(app)).unwrap();
    let (code, _, err) = check_in(dir, &["--write-baseline", "baseline.json", "-q"]);
    assert_eq!(code, 1, "{err}");
    let fingerprints = |out: &str| -> Vec<(String, String)> {
        let report: serde_json::Value = serde_json::from_str(out).unwrap();
        let mut v: Vec<(String, String)> = report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| (f["rule_id"].as_str().unwrap().to_owned(), f["fingerprint"].as_str().unwrap().to_owned()))
            .collect();
        v.sort();
        v
    };
    let (_, before, _) = check_in(dir, &["--format", "json"]);
    let before = fingerprints(&before);
    assert!(before.len() >= 3, "the restricted pack finds several things in a bare container: {before:?}");

    // a compliant container inserted before `app`, and `app` gets a
    // securityContext that fixes nothing yet: nothing is new
    let grown = "        - name: app\n          image: nginx:1.25\n          securityContext: { readOnlyRootFilesystem: true }\n";
    std::fs::write(dir.join("web.yaml"), deployment(&format!("{COMPLIANT}{grown}"))).unwrap();
    let (_, after, _) = check_in(dir, &["--format", "json"]);
    assert_eq!(fingerprints(&after), before, "the same findings keep their identity");
    let (code, out, err) = check_in(dir, &["--baseline", "baseline.json"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains(&format!("baseline: {} findings in the baseline reported at audit level; 0 new", before.len())),
        "{out}"
    );

    // a violating container inserted first: its findings are new, `app`'s are not
    let bad = "        - name: debug\n          image: busybox:1.36\n          securityContext: { privileged: true }\n";
    std::fs::write(dir.join("web.yaml"), deployment(&format!("{bad}{COMPLIANT}{grown}"))).unwrap();
    let (code, out, _) = check_in(dir, &["--baseline", "baseline.json", "--format", "json"]);
    assert_eq!(code, 1);
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    for f in report["findings"].as_array().unwrap() {
        let pointer = f["pointer"].as_str().unwrap();
        let expected = if pointer.contains("/containers/0") { "new" } else { "unchanged" };
        assert_eq!(f["baseline"], expected, "{f}");
    }
}

#[test]
fn a_baseline_of_format_1_is_matched_by_the_fingerprints_it_was_written_with() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let pod = "apiVersion: v1\nkind: Pod\nmetadata: { name: old }\nspec:\n  containers:\n    - name: c\n      image: nginx:1.25\n      securityContext: { privileged: true }\n";
    std::fs::write(dir.join("old.yaml"), pod).unwrap();
    // written by bylaw 0.1.0 before finding identities named list items
    std::fs::write(
        dir.join("v1.json"),
        r#"{"bylaw_baseline": 1, "findings": [{"fingerprint": "24caf7eaf8971cfe3c4c2b78cde21633",
            "rule": "KB-001", "path": "old.yaml", "line": 8, "message": "container c runs privileged"}]}"#,
    )
    .unwrap();
    let bylaw = |args: &[&str]| {
        let mut all = vec!["check", ".", "-p", "pack:kubernetes-baseline", "--no-config"];
        all.extend_from_slice(args);
        let out = Command::new(env!("CARGO_BIN_EXE_bylaw")).args(&all).current_dir(dir).env_clear().output().unwrap();
        (out.status.code().unwrap_or(-1), String::from_utf8(out.stdout).unwrap())
    };
    let (code, out) = bylaw(&["--baseline", "v1.json"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("baseline: 1 finding in the baseline reported at audit level; 0 new"), "{out}");
    // today's fingerprint differs (the container is named), and a format
    // this bylaw does not know is refused
    let (_, out) = bylaw(&["--format", "json"]);
    assert!(!out.contains("24caf7eaf8971cfe3c4c2b78cde21633"), "{out}");
    std::fs::write(dir.join("v9.json"), r#"{"bylaw_baseline": 9, "findings": []}"#).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_bylaw"))
        .args(["check", ".", "-p", "pack:kubernetes-baseline", "--no-config", "--baseline", "v9.json"])
        .current_dir(dir)
        .env_clear()
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("format version 9 (this bylaw reads 1 to 2)"));
}

#[test]
fn unnamed_steps_and_instructions_keep_their_identity_when_one_is_inserted_before() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    std::fs::create_dir_all(dir.join(".github/workflows")).unwrap();
    let workflow = |first: &str| {
        format!(
            "on: pull_request_target\njobs:\n  build:\n    runs-on: ubuntu-latest\n    steps:\n{first}      - uses: actions/checkout@v4\n      - run: echo \"${{{{ github.event.pull_request.title }}}}\"\n"
        )
    };
    std::fs::write(dir.join(".github/workflows/ci.yml"), workflow("")).unwrap();
    std::fs::write(dir.join("Dockerfile"), "FROM ubuntu:22.04\nRUN apt-get update\nUSER root\n").unwrap();
    let bylaw = |args: &[&str]| {
        let mut all = vec!["check", ".", "-p", "pack:github-actions-hardening", "-p", "pack:dockerfile", "--no-config"];
        all.extend_from_slice(args);
        let out = Command::new(env!("CARGO_BIN_EXE_bylaw")).args(&all).current_dir(dir).env_clear().output().unwrap();
        String::from_utf8(out.stdout).unwrap()
    };
    bylaw(&["--write-baseline", "baseline.json", "-q"]);
    // a step and an instruction inserted first, each with a violation of its own
    std::fs::write(dir.join(".github/workflows/ci.yml"), workflow("      - uses: docker/login-action@v3\n")).unwrap();
    std::fs::write(
        dir.join("Dockerfile"),
        "FROM ubuntu:22.04\nRUN sudo apt-get update\nRUN apt-get update\nUSER root\n",
    )
    .unwrap();
    let report: serde_json::Value =
        serde_json::from_str(&bylaw(&["--baseline", "baseline.json", "--format", "json"])).unwrap();
    let mut states: Vec<(String, String, String)> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let s = |k: &str| f[k].as_str().unwrap().to_owned();
            (s("rule_id"), s("pointer"), s("baseline"))
        })
        .collect();
    states.sort();
    let new: Vec<&(String, String, String)> = states.iter().filter(|s| s.2 == "new").collect();
    let row = |r: &str, p: &str| (r.to_owned(), p.to_owned(), "new".to_owned());
    // only the inserted step's and instruction's findings are new
    assert_eq!(
        new,
        [
            &row("DF-007", "/instructions/1"),
            &row("DF-010", "/instructions/1"),
            &row("GHA-001", "/jobs/build/steps/0/uses")
        ],
        "{states:?}"
    );
    assert!(states.len() > new.len() + 4, "the old findings are still there, unchanged: {states:?}");
}
