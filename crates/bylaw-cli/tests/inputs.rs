//! End-to-end tests of inputs that are not plain manifests and of inputs
//! built to break the outputs, from bug reports filed against peer tools:
//! the binary on files in a temporary repository, asserting findings,
//! lines, exit codes and what reaches stdout.

mod support;

use std::path::Path;
use support::cli::{bylaw_in, json_findings, write};

fn bylaw(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let out = bylaw_in(dir, args, None);
    (out.code, out.stdout, out.stderr)
}

const POLICY: &str = r#"apiVersion: bylaw/v1
kind: Policy
metadata: { name: pods, type: security }
spec:
  rules:
    - id: P-001
      title: No privileged containers
      severity: high
      match: {}
      each: "$.spec['containers','initContainers'][*]"
      deny: "item.securityContext.privileged == true"
      at: securityContext.privileged
      message: "container {{ item.name }} runs privileged"
      remediation: Set securityContext.privileged to false.
    - id: P-002
      title: Not root
      severity: high
      each: "$..containers[*]"
      deny: "item.securityContext.runAsUser == 0"
      at: securityContext.runAsUser
      message: "container {{ item.name }} runs as root"
    - id: P-003
      title: Config files name their owner
      severity: low
      deny: "file.format == 'json' && !has(doc.owner)"
      message: "no owner"
"#;

/// A repository with the policy in `policies/` and the given files.
fn repo(files: &[(&str, &str)]) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    write(tmp.path(), ".bylaw.yaml", "policies: [policies/]\n");
    write(tmp.path(), "policies/pods.yaml", &POLICY.replace("      match: {}\n", ""));
    for (p, t) in files {
        write(tmp.path(), p, t);
    }
    tmp
}

/// (rule, path, line) of each finding.
fn findings(dir: &Path, args: &[&str]) -> Vec<(String, String, u64)> {
    let mut a = vec!["check", "--format", "json"];
    a.extend_from_slice(args);
    json_findings(&bylaw_in(dir, &a, None).stdout)
}

fn f(rule: &str, path: &str, line: u64) -> (String, String, u64) {
    (rule.to_owned(), path.to_owned(), line)
}

#[test]
fn json_with_a_bom_comments_trailing_commas_or_nothing_is_no_false_error() {
    let tmp = repo(&[
        ("bom.json", "\u{feff}{\"owner\": \"a\"}\n"),
        ("tsconfig.json", "{\n  // compiler options\n  \"owner\": \"b\", /* trailing */\n}\n"),
        (".vscode/settings.json", "{ \"owner\": \"c\", }\n"),
        (".devcontainer/devcontainer.json", "{\n  // dev container\n  \"owner\": \"d\",\n}\n"),
        ("x.jsonc", "{ \"owner\": 1, // c\n}\n"),
        ("empty.json", ""),
        ("blank.json", "  \n"),
        ("empty.yaml", ""),
        ("strict.json", "{\n  \"owner\": 1, // not JSONC\n}\n"),
    ]);
    let got = findings(tmp.path(), &[]);
    // only the strict JSON with a comment is a parse error, at its line
    assert_eq!(got, vec![f("bylaw/parse-error", "strict.json", 2)]);
}

#[test]
fn a_broken_document_does_not_hide_the_ones_after_it() {
    let pod = |name: &str| {
        format!("apiVersion: v1\nkind: Pod\nmetadata: {{ name: {name} }}\nspec:\n  containers:\n    - name: {name}\n      securityContext: {{ privileged: true }}\n")
    };
    let text = format!("{}---\nkind: [unclosed\n---\n{}", pod("a"), pod("b"));
    let tmp = repo(&[("multi.yaml", &text)]);
    let got = findings(tmp.path(), &[]);
    // the unclosed flow is found where the next document starts
    assert_eq!(
        got,
        vec![f("P-001", "multi.yaml", 7), f("bylaw/parse-error", "multi.yaml", 10), f("P-001", "multi.yaml", 17)]
    );
}

#[test]
fn kubernetes_reads_yaml_1_1_integers_lists_and_aliases_as_kubectl_does() {
    let root = "apiVersion: v1\nkind: Pod\nmetadata: { name: r }\nspec:\n  containers:\n    - name: a\n      securityContext: { runAsUser: 0b0 }\n    - name: b\n      securityContext: { runAsUser: 0o0 }\n    - name: c\n      securityContext: { runAsUser: 0_0 }\n";
    let list = "apiVersion: v1\nkind: List\nitems:\n  - apiVersion: v1\n    kind: Pod\n    metadata: { name: l1 }\n    spec: { containers: [{ name: x, securityContext: { privileged: true } }] }\n  - apiVersion: v1\n    kind: Pod\n    metadata: { name: l2 }\n    spec: { containers: [{ name: y, securityContext: { privileged: true } }] }\n";
    let podlist = "apiVersion: v1\nkind: PodList\nitems:\n  - metadata: { name: p1 }\n    spec: { containers: [{ name: z, securityContext: { privileged: true } }] }\n";
    let alias = "apiVersion: v1\nkind: Pod\nmetadata: { name: al }\nspec:\n  containers:\n    - &c { name: a, securityContext: { privileged: true } }\n  initContainers:\n    - *c\n";
    let tmp = repo(&[("root.yaml", root), ("list.yaml", list), ("podlist.yaml", podlist), ("alias.yaml", alias)]);
    let got = findings(tmp.path(), &[]);
    assert_eq!(
        got,
        vec![
            f("P-001", "alias.yaml", 6),
            f("P-001", "alias.yaml", 8),
            f("P-001", "list.yaml", 7),
            f("P-001", "list.yaml", 11),
            f("P-001", "podlist.yaml", 5),
            f("P-002", "root.yaml", 7),
            f("P-002", "root.yaml", 9),
            f("P-002", "root.yaml", 11),
        ]
    );
}

#[test]
fn only_real_comments_suppress() {
    let text = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: s\n  annotations:\n    note: \"# bylaw:ignore P-001\"\nspec:\n  containers:\n    - name: a\n      command:\n        - sh\n        - -c\n        - |\n          echo hi # bylaw:ignore P-001\n      securityContext: { privileged: true }\n    - name: b\n      # bylaw:ignore P-001 -- vendor agent\n      securityContext: { privileged: true }\n";
    let tmp = repo(&[("pod.yaml", text)]);
    let (_, out, _) = bylaw(tmp.path(), &["check", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let got: Vec<(u64, bool)> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["location"]["start_line"].as_u64().unwrap(), f["exception"].is_object()))
        .collect();
    assert_eq!(got, vec![(15, false), (18, true)], "{out}");
}

#[test]
fn input_text_cannot_start_a_ci_command_or_a_terminal_escape() {
    let text = "apiVersion: v1\nkind: Pod\nmetadata: { name: \"p\\n##[error]x\" }\nspec:\n  containers:\n    - name: \"x\\n::stop-commands::t\\r\\u001b[31m\"\n      securityContext: { privileged: true }\n";
    let tmp = repo(&[("pod.yaml", text), ("::warning::a.yaml", text)]);
    for format in ["text", "markdown", "junit"] {
        let (code, out, err) = bylaw(tmp.path(), &["check", "--format", format]);
        assert_eq!(code, 1, "{format}: {err}");
        for line in out.lines().chain(err.lines()) {
            let t = line.trim_start();
            assert!(!t.starts_with("::") && !t.starts_with("##["), "{format}: a line starts a CI command: {line:?}");
            assert!(!line.contains('\u{1b}') && !line.contains('\r'), "{format}: raw control character: {line:?}");
        }
        assert!(out.contains("stop-commands"), "{format}: the value is still shown, escaped:\n{out}");
    }
}

#[test]
fn many_findings_read_well_and_the_summary_alone_with_quiet() {
    let mut text = String::from("apiVersion: v1\nkind: Pod\nmetadata: { name: many }\nspec:\n  containers:\n");
    for i in 0..300 {
        text.push_str(&format!("    - {{ name: c{i}, securityContext: {{ privileged: true }} }}\n"));
    }
    let tmp = repo(&[("many.yaml", &text)]);
    let (code, out, _) = bylaw(tmp.path(), &["check"]);
    assert_eq!(code, 1);
    assert_eq!(out.matches("] container c").count(), 200, "default cap of 200 printed findings");
    assert!(out.contains("100 more"), "{out}");
    assert_eq!(out.matches("help [P-001]").count(), 1, "remediation once per rule");
    let (_, out, _) = bylaw(tmp.path(), &["check", "--max-findings", "5"]);
    assert_eq!(out.matches("] container c").count(), 5);
    let (code, out, _) = bylaw(tmp.path(), &["check", "--quiet"]);
    assert_eq!(code, 1);
    assert!(!out.contains("] container c"), "{out}");
    assert!(out.contains("FAIL: 300 blocking"), "{out}");
}

#[test]
fn a_file_outside_the_root_gets_a_file_uri_in_sarif() {
    let tmp = repo(&[]);
    let outside = tempfile::tempdir().unwrap();
    write(outside.path(), "pod.yaml", "apiVersion: v1\nkind: Pod\nmetadata: { name: o }\nspec: { containers: [{ name: a, securityContext: { privileged: true } }] }\n");
    let file = outside.path().join("pod.yaml").canonicalize().unwrap();
    let (code, out, err) = bylaw(tmp.path(), &["check", file.to_str().unwrap(), "--format", "sarif"]);
    assert_eq!(code, 1, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let loc = &v["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"];
    assert_eq!(loc["uri"], format!("file://{}", file.display()), "{loc}");
    assert!(loc.get("uriBaseId").is_none(), "{loc}");
}

#[test]
fn a_file_over_the_size_limit_is_a_loud_error_not_a_silent_pass() {
    let tmp = repo(&[("big.yaml", &"a: 1\n".repeat(100))]);
    write(tmp.path(), ".bylaw.yaml", "policies: [policies/]\nmax_file_size: 100\n");
    let (code, out, _) = bylaw(tmp.path(), &["check"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("big.yaml:1:1: error [bylaw/input-too-large] not evaluated: the file is 500 bytes, over the limit of 100 bytes"), "{out}");
    assert!(out.contains("too large"), "counted as skipped: {out}");
}

#[test]
fn markdown_links_percent_encode_paths() {
    let pod = "apiVersion: v1\nkind: Pod\nmetadata: { name: m }\nspec: { containers: [{ name: a, securityContext: { privileged: true } }] }\n";
    let tmp = repo(&[("deploy/a b#1%[x].yaml", pod)]);
    let (_, out, _) = bylaw(tmp.path(), &["check", "--format", "markdown"]);
    assert!(out.contains("](deploy/a%20b%231%25%5Bx%5D.yaml#L4)"), "{out}");
}

#[test]
fn deep_or_long_expressions_are_located_errors_not_stack_overflows() {
    let policy = |deny: &str, each: &str| {
        format!("apiVersion: bylaw/v1\nkind: Policy\nmetadata: {{ name: d, type: security }}\nspec:\n  rules:\n    - id: D-1\n      title: t\n      severity: high\n      {each}deny: \"{deny}\"\n      message: m\n")
    };
    let tmp = repo(&[("pod.yaml", "apiVersion: v1\nkind: Pod\nmetadata: { name: p }\n")]);
    let d = tmp.path();
    // 60 levels: within the limit, evaluated (the parser recursion fits the stack)
    write(d, "p60.yaml", &policy(&format!("{}true{}", "(".repeat(60), ")".repeat(60)), ""));
    let (code, out, err) = bylaw(d, &["check", "pod.yaml", "-p", "p60.yaml", "--no-config"]);
    assert_eq!(code, 1, "{out}\n{err}");
    // 100 levels, a 20,000-byte chain, a 100-deep JSONPath filter: refused where written
    write(d, "p100.yaml", &policy(&format!("{}true{}", "(".repeat(100), ")".repeat(100)), ""));
    write(d, "flat.yaml", &policy(&vec!["doc.a == 1"; 2000].join(" || "), ""));
    write(d, "jp.yaml", &policy("true", &format!("each: \"$.a{}\"\n      ", "[?@.b".repeat(100) + &"]".repeat(100))));
    for (file, location, what) in [
        ("p100.yaml", "p100.yaml:9:78", "CEL expression too complex: nested deeper than 64 levels"),
        ("flat.yaml", "flat.yaml:9:", "CEL expression too complex: 27996 bytes, the limit is 16384"),
        ("jp.yaml", "jp.yaml:9:", "JSONPath too complex: nested deeper than 64 levels"),
    ] {
        let (code, _, err) = bylaw(d, &["check", "pod.yaml", "-p", file, "--no-config"]);
        assert_eq!(code, 2, "{file}: {err}");
        assert!(err.contains(what) && err.contains(location), "{file}: {err}");
    }
}

#[test]
fn a_run_stopped_by_policy_errors_still_writes_its_artifacts() {
    let tmp = repo(&[("pod.yaml", "apiVersion: v1\nkind: Pod\nmetadata: { name: p }\n")]);
    let d = tmp.path();
    write(
        d,
        "policies/pods.yaml",
        &POLICY.replace("      match: {}\n", "").replace("severity: high", "severity: hihg"),
    );
    let (code, out, err) = bylaw(
        d,
        &[
            "check",
            "--sarif",
            "out/bylaw.sarif",
            "--junit",
            "out/junit.xml",
            "--markdown",
            "out/summary.md",
            "--json",
            "out/report.json",
            "--format",
            "codequality=out/cq.json",
            "--format",
            "json",
        ],
    );
    assert_eq!(code, 2, "{err}");
    // the JSON report (file and standard output) says why, located
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("out/report.json")).unwrap()).unwrap();
    assert_eq!(report["verdict"], "error");
    let e = report["errors"].as_array().unwrap().iter().find(|e| e["message"].as_str().unwrap().contains("hihg"));
    let e = e.unwrap_or_else(|| panic!("{report:#}"));
    assert_eq!(e["path"], "policies/pods.yaml");
    assert!(e["line"].as_u64().is_some_and(|l| l > 1), "{e}");
    let stdout: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(stdout, report);
    let cq: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(d.join("out/cq.json")).unwrap()).unwrap();
    assert_eq!(cq[0]["severity"], "blocker", "{cq:#}");
    let sarif: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("out/bylaw.sarif")).unwrap()).unwrap();
    let schema = bylaw_report::sarif_schema();
    let v = jsonschema::validator_for(&schema).unwrap();
    let errors: Vec<String> = v.iter_errors(&sarif).map(|e| format!("{}: {e}", e.instance_path().as_str())).collect();
    assert!(errors.is_empty(), "SARIF schema: {errors:#?}");
    let inv = &sarif["runs"][0]["invocations"][0];
    assert_eq!(inv["executionSuccessful"], false);
    let notes = inv["toolConfigurationNotifications"].as_array().unwrap();
    assert!(
        notes.iter().any(|n| n["message"]["text"].as_str().unwrap().contains("hihg")
            && n["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "policies/pods.yaml"),
        "{notes:#?}"
    );
    let junit = std::fs::read_to_string(d.join("out/junit.xml")).unwrap();
    let doc = roxmltree::Document::parse(&junit).unwrap();
    let error = doc.descendants().find(|n| n.has_tag_name("error")).expect("an errored test case");
    assert!(error.attribute("message").unwrap().starts_with("bylaw could not run"), "{junit}");
    assert!(std::fs::read_to_string(d.join("out/summary.md")).unwrap().contains("hihg"));
}

#[test]
fn deleting_the_last_audit_entries_is_detected_and_refused() {
    let pod = "apiVersion: v1\nkind: Pod\nmetadata: { name: p }\nspec: { containers: [{ name: a, securityContext: { privileged: true } }] }\n";
    let tmp = repo(&[("pod.yaml", pod)]);
    let d = tmp.path();
    for _ in 0..2 {
        let (code, _, err) = bylaw(d, &["check", "--audit-log", "audit.jsonl"]);
        assert_eq!(code, 1, "{err}");
        assert!(err.contains("audit log audit.jsonl: seq"), "the head is printed for the CI log: {err}");
    }
    let (code, out, _) = bylaw(d, &["audit", "verify", "audit.jsonl"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("chain intact and matches its anchor"), "{out}");
    // delete the second run's lines: the chain alone still looks intact
    let text = std::fs::read_to_string(d.join("audit.jsonl")).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let first_run = lines.iter().position(|l| l.contains("\"event\":\"verdict\"")).unwrap() + 1;
    std::fs::write(d.join("audit.jsonl"), lines[..first_run].join("\n") + "\n").unwrap();
    let (code, out, _) = bylaw(d, &["audit", "verify", "audit.jsonl"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("broken: truncated"), "{out}");
    let (code, _, err) = bylaw(d, &["check", "--audit-log", "audit.jsonl"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("not appending"), "{err}");
    let (code, _, err) = bylaw(d, &["check", "--audit-log", "audit.jsonl", "--audit-force"]);
    assert_eq!(code, 1, "{err}");
}

#[test]
fn a_ci_run_stopped_by_policy_errors_still_writes_sarif_and_junit() {
    let tmp = repo(&[("pod.yaml", "apiVersion: v1\nkind: Pod\nmetadata: { name: p }\n")]);
    let d = tmp.path();
    write(
        d,
        "policies/pods.yaml",
        &POLICY.replace("      match: {}\n", "").replace("severity: high", "severity: hihg"),
    );
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_bylaw"))
        .args(["ci", "jenkins"])
        .current_dir(d)
        .env_clear()
        .env("BYLAW_NOW", "2026-06-01T00:00:00Z")
        .env("JENKINS_URL", "http://jenkins.invalid/")
        .env("BUILD_URL", "http://jenkins.invalid/job/1/")
        .env("BRANCH_NAME", "main")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", String::from_utf8_lossy(&out.stderr));
    let sarif: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("bylaw.sarif")).unwrap()).unwrap();
    assert_eq!(sarif["runs"][0]["invocations"][0]["executionSuccessful"], false);
    let junit = std::fs::read_to_string(d.join("bylaw-junit.xml")).unwrap();
    assert!(roxmltree::Document::parse(&junit).unwrap().descendants().any(|n| n.has_tag_name("error")), "{junit}");
}

const TYPED: &str = r#"apiVersion: bylaw/v1
kind: Policy
metadata: { name: typed, type: operational }
spec:
  match: { types: [github-workflow, gitlab-ci] }
  rules:
    - id: T-001
      title: Pipelines name themselves
      severity: low
      require: "has(doc.name)"
      message: "a {{ file.type }} file without a name ({{ file.format }})"
"#;

#[test]
fn policies_select_files_by_type_and_read_file_type() {
    let tmp = tempfile::tempdir().unwrap();
    write(tmp.path(), ".bylaw.yaml", "policies: [policies/]\nformats:\n  'ci/*.pipeline': yaml\n");
    write(tmp.path(), "policies/typed.yaml", TYPED);
    write(tmp.path(), ".github/workflows/ci.yml", "on: push\njobs: {}\n");
    write(tmp.path(), ".gitlab-ci.yml", "build:\n  script: [make]\n");
    write(tmp.path(), "deploy/app.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: { name: a }\n");
    write(tmp.path(), "config/other.yml", "a: 1\n");
    // not a name any format claims: read as YAML because the config says so
    write(tmp.path(), "ci/.gitlab-ci.pipeline", "on: push\n");
    let out = bylaw_in(tmp.path(), &["check", "--format", "json"], None);
    let report: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let mut got: Vec<(String, String)> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["location"]["path"].as_str().unwrap().to_owned(), f["message"].as_str().unwrap().to_owned()))
        .collect();
    got.sort();
    assert_eq!(
        got,
        [
            (".github/workflows/ci.yml".to_owned(), "a github-workflow file without a name (yaml)".to_owned()),
            (".gitlab-ci.yml".to_owned(), "a gitlab-ci file without a name (yaml)".to_owned()),
        ],
        "{}",
        out.stdout
    );
    // what each file was read as
    let out = bylaw_in(tmp.path(), &["check", "--format-of"], None);
    assert_eq!(out.code, 0, "{}", out.stderr);
    for line in [
        ".github/workflows/ci.yml as yaml (by name; github-workflow)",
        ".gitlab-ci.yml as yaml (by name; gitlab-ci)",
        "deploy/app.yaml as yaml (by name; kubernetes)",
        "config/other.yml as yaml (by name)",
        "ci/.gitlab-ci.pipeline as yaml (set by `formats` of the config)",
        "policies/typed.yaml not read (",
    ] {
        assert!(out.stdout.lines().any(|l| l.starts_with(line)), "{line} in\n{}", out.stdout);
    }
}

#[test]
fn an_unknown_file_type_or_format_is_a_located_error() {
    let tmp = tempfile::tempdir().unwrap();
    write(tmp.path(), "p.yaml", &TYPED.replace("gitlab-ci]", "gitlab-cl]"));
    write(tmp.path(), "a.yaml", "a: 1\n");
    let out = bylaw_in(tmp.path(), &["check", "-p", "p.yaml", "a.yaml", "--no-config"], None);
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("p.yaml:5:"), "{}", out.stderr);
    assert!(out.stderr.contains("unknown file type `gitlab-cl` (did you mean `gitlab-ci`?)"), "{}", out.stderr);
    write(tmp.path(), ".bylaw.yaml", "formats:\n  '*.tpl': yml\n");
    let out = bylaw_in(tmp.path(), &["check", "-p", "p.yaml", "a.yaml"], None);
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains(".bylaw.yaml:2:"), "{}", out.stderr);
    assert!(out.stderr.contains("unknown format `yml` (did you mean `yaml`?)"), "{}", out.stderr);
}
