//! End-to-end tests of `bylaw impact`, `check --new-since`, `validate
//! --against` and the impact comment of `bylaw ci github|gitlab`, on a git
//! repository built in a temporary directory whose policy change has a
//! known effect: W-001 tightened from advisory to blocking, W-003 added
//! (blocking), W-OLD removed, version 1.0.0 → 1.1.0; and three sample
//! repositories for `--repos`.

mod support;

use serde_json::{json, Value};
use std::path::Path;
use std::process::Command;
use support::cli::{bylaw_in, write};
use support::github_api::spec;
use support::mock::{Call, Mock, Reply};

fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@example.com")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@example.com")
        .output()
        .unwrap();
    assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

const POLICY_BASE: &str = r#"apiVersion: bylaw/v1
kind: Policy
metadata:
  name: workloads
  version: 1.0.0
spec:
  match:
    kinds: [Deployment]
  rules:
    - id: W-001
      title: Containers must not run privileged
      enforcement: advisory
      each: "$.spec.template.spec.containers[*]"
      deny: "item.securityContext.privileged == true"
      message: "container {{ item.name }} runs privileged"
    - id: W-002
      title: Images come from ghcr.io/acme
      each: "$.spec.template.spec.containers[*]"
      require: "item.image.startsWith('ghcr.io/acme/')"
      message: "image {{ item.image }} is not from ghcr.io/acme/"
    - id: W-OLD
      title: No legacy deployments
      deny: "doc.metadata.name == 'legacy'"
      message: "deployment legacy is deprecated"
"#;

/// The head's policy: W-001 blocking, W-OLD removed, W-003 added; 1.1.0.
fn policy_head() -> String {
    let s = POLICY_BASE.replace("version: 1.0.0", "version: 1.1.0").replace("      enforcement: advisory\n", "");
    let cut = s.find("    - id: W-OLD").unwrap();
    format!(
        "{}    - id: W-003\n      title: Containers have a memory limit\n      each: \"$.spec.template.spec.containers[*]\"\n      require: \"item.resources.limits.memory != ''\"\n      message: \"container {{{{ item.name }}}} has no memory limit\"\n",
        &s[..cut]
    )
}

const EXCEPTIONS: &str = r#"apiVersion: bylaw/v1
kind: ExceptionList
exceptions:
  - id: EXC-1
    rules: [W-OLD]
    targets: ["deploy/legacy.yaml"]
    reason: migrating in Q3
    approved_by: [alice]
    expires: 2027-01-31
  - id: EXC-2
    rules: [W-003]
    targets: ["deploy/batch.yaml"]
    reason: batch jobs are bounded by the queue
    approved_by: [alice]
    expires: 2027-01-31
"#;

/// A Deployment `name` in namespace prod with `containers` (YAML lines at
/// an indentation of 8): the first container is on line 10.
fn deployment(name: &str, containers: &str) -> String {
    format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {name}\n  namespace: prod\nspec:\n  template:\n    spec:\n      containers:\n{containers}"
    )
}

const PRIVILEGED: &str = "          securityContext:\n            privileged: true\n";
const LIMITED: &str = "          resources:\n            limits:\n              memory: 128Mi\n";

/// `root/main`: a git repository with two commits (base, then the policy
/// change); `root/samples/{a,b,c}`: three other repositories' files.
/// Returns the base commit.
fn scenario(root: &Path) -> String {
    let main = root.join("main");
    write(&main, "policies/workloads.yaml", POLICY_BASE);
    write(&main, ".bylaw.yaml", "policies: [policies]\nexceptions: [exceptions.yaml]\n");
    write(&main, "exceptions.yaml", EXCEPTIONS);
    write(
        &main,
        "deploy/web.yaml",
        &deployment("web", &format!("        - name: web\n          image: ghcr.io/acme/web:1.0\n{PRIVILEGED}")),
    );
    write(
        &main,
        "deploy/legacy.yaml",
        &deployment("legacy", &format!("        - name: nginx\n          image: docker.io/nginx:1.25\n{LIMITED}")),
    );
    write(
        &main,
        "deploy/batch.yaml",
        &deployment("batch", "        - name: job\n          image: ghcr.io/acme/job:2\n"),
    );
    git(&main, &["init", "-q", "-b", "main"]);
    git(&main, &["add", "-A"]);
    git(&main, &["commit", "-q", "-m", "base"]);
    let base = git(&main, &["rev-parse", "HEAD"]);
    write(&main, "policies/workloads.yaml", &policy_head());
    git(&main, &["commit", "-q", "-am", "tighten workloads"]);

    let s = root.join("samples");
    // a: privileged, no limit: W-001 raised, W-003 added
    write(
        &s.join("a"),
        "deploy/api.yaml",
        &deployment("api", &format!("        - name: api\n          image: ghcr.io/acme/api:1\n{PRIVILEGED}")),
    );
    // b: its own targets and exceptions: W-003 excepted, other/ not checked
    write(&s.join("b"), ".bylaw.yaml", "targets: [\"k8s/**\"]\nexceptions: [exc.yaml]\n");
    write(
        &s.join("b"),
        "exc.yaml",
        "apiVersion: bylaw/v1\nkind: ExceptionList\nexceptions:\n  - id: B-1\n    rules: [W-003]\n    targets: [\"k8s/**\"]\n    reason: limits come from the namespace LimitRange\n    approved_by: [bob]\n    expires: 2027-01-31\n",
    );
    write(
        &s.join("b"),
        "k8s/app.yaml",
        &deployment("shop", "        - name: shop\n          image: ghcr.io/acme/shop:1\n"),
    );
    write(
        &s.join("b"),
        "other/ignored.yaml",
        &deployment("ignored", &format!("        - name: x\n          image: docker.io/x:1\n{PRIVILEGED}")),
    );
    // c: compliant with both revisions
    write(
        &s.join("c"),
        "ok.yaml",
        &deployment("ok", &format!("        - name: ok\n          image: ghcr.io/acme/ok:1\n{LIMITED}")),
    );
    base
}

fn json_of(dir: &Path, args: &[&str]) -> Value {
    let o = bylaw_in(dir, args, None);
    assert_eq!(o.code, 0, "{}\n{}", o.stdout, o.stderr);
    serde_json::from_str(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", o.stdout))
}

/// (rule, path:line:col, enforcement, exception) of a JSON list of findings.
fn marks(list: &Value) -> Vec<(String, String, String, Option<String>)> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["rule"].as_str().unwrap().to_owned(),
                format!("{}:{}:{}", f["path"].as_str().unwrap(), f["line"], f["column"]),
                f["enforcement"].as_str().unwrap().to_owned(),
                f["exception"].as_str().map(str::to_owned),
            )
        })
        .collect()
}

fn mark(rule: &str, at: &str, level: &str, exc: Option<&str>) -> (String, String, String, Option<String>) {
    (rule.into(), at.into(), level.into(), exc.map(str::to_owned))
}

/// The fingerprint of the finding of `rule` in `path` in a JSON list.
fn fp(list: &Value, rule: &str, path: &str) -> String {
    list.as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == rule && f["path"] == path)
        .unwrap_or_else(|| panic!("no {rule} in {path}: {list:#}"))["fingerprint"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[test]
fn impact_of_a_tightened_policy_in_json_text_and_markdown() {
    let root = tempfile::tempdir().unwrap();
    let base = scenario(root.path());
    let main = root.path().join("main");
    let j = json_of(&main, &["impact", "--base", "HEAD~1", "--format", "json"]);
    assert_eq!(j["version"], 1);
    assert_eq!(j["base"], json!({"rev": "HEAD~1", "commit": base}));
    assert_eq!(j["head"], json!({"rev": "working tree", "commit": null}));
    let r = &j["repositories"][0];
    assert_eq!(r["name"], ".");
    assert_eq!(
        marks(&r["added"]),
        vec![
            mark("W-003", "deploy/batch.yaml:10:11", "blocking", Some("EXC-2")),
            mark("W-003", "deploy/web.yaml:10:11", "blocking", None),
        ]
    );
    assert_eq!(r["added"][1]["message"], "container web has no memory limit");
    assert_eq!(r["added"][1]["resource"], "Deployment prod/web");
    assert_eq!(marks(&r["removed"]), vec![mark("W-OLD", "deploy/legacy.yaml:1:1", "blocking", Some("EXC-1"))]);
    assert_eq!(
        marks(&r["newly_blocking"]),
        vec![
            mark("W-001", "deploy/web.yaml:10:11", "blocking", None),
            mark("W-003", "deploy/web.yaml:10:11", "blocking", None),
        ]
    );
    let changed = &r["enforcement_changed"][0];
    assert_eq!((changed["rule"].as_str(), changed["base_enforcement"].as_str()), (Some("W-001"), Some("advisory")));
    assert_eq!(r["enforcement_changed"].as_array().unwrap().len(), 1);
    assert_eq!(
        r["exceptions_stale"],
        json!([{"id": "EXC-1", "source": "exceptions.yaml:4", "rules": ["W-OLD"], "base_matched": 1, "head_matched": 0}])
    );
    assert_eq!(r["exceptions_new"][0]["id"], "EXC-2");
    assert_eq!(
        r["counts"],
        json!({"base_findings": 3, "head_findings": 4, "base_blocking": 1, "head_blocking": 3, "added": 2, "removed": 1,
               "enforcement_changed": 1, "newly_blocking": 2, "exceptions_stale": 1, "exceptions_new": 1})
    );
    let w3 = r["rules"].as_array().unwrap().iter().find(|c| c["rule"] == "W-003").unwrap();
    assert_eq!((w3["base"].as_u64(), w3["head"].as_u64(), w3["added"].as_u64()), (Some(0), Some(2), Some(2)));
    let p = &j["policies"][0];
    assert_eq!((p["name"].as_str(), p["status"].as_str()), (Some("workloads"), Some("changed")));
    assert_eq!((p["base_version"].as_str(), p["head_version"].as_str()), (Some("1.0.0"), Some("1.1.0")));
    let rules: Vec<(&str, &str)> = p["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["id"].as_str().unwrap(), r["status"].as_str().unwrap()))
        .collect();
    assert_eq!(rules, [("W-001", "changed"), ("W-003", "added"), ("W-OLD", "removed")]);
    assert_eq!(p["rules"][0]["changes"], json!(["enforcement raised from advisory to blocking"]));

    // text: the same findings, exactly, grouped per rule and file
    let web3 = fp(&r["added"], "W-003", "deploy/web.yaml");
    let web1 = fp(&r["newly_blocking"], "W-001", "deploy/web.yaml");
    let legacy = fp(&r["removed"], "W-OLD", "deploy/legacy.yaml");
    let t = bylaw_in(&main, &["impact", "--base", "HEAD~1"], None);
    assert_eq!(t.code, 0, "{}", t.stderr);
    for line in [
        format!("bylaw impact: policies of HEAD~1 ({}) → working tree", &base[..12]),
        "  - changed workloads 1.0.0 → 1.1.0".into(),
        "      rule W-001 changed (advisory medium → blocking medium): enforcement raised from advisory to blocking".into(),
        "      rule W-OLD removed (blocking medium → -): removed".into(),
        "  added findings: 2".into(),
        "    rule W-003 (policy workloads): 2".into(),
        "      file deploy/web.yaml".into(),
        format!("        - deploy/web.yaml:10:11: blocking [W-003] container web has no memory limit (Deployment prod/web) fingerprint {web3}"),
        format!("        - deploy/legacy.yaml:1:1: blocking excepted by EXC-1 [W-OLD] deployment legacy is deprecated (Deployment prod/legacy) fingerprint {legacy}"),
        format!("        - advisory → blocking: deploy/web.yaml:10:11: blocking [W-001] container web runs privileged (Deployment prod/web) fingerprint {web1}"),
        "  newly blocking: 2".into(),
        "        - EXC-1 (exceptions.yaml:4): covers 1 finding at the base, 0 at the head".into(),
        "        - EXC-2 (exceptions.yaml:10): covers 0 findings at the base, 1 at the head".into(),
        "    rule W-003 (policy workloads): 0 → 2, +2 -0, 1 newly blocking".into(),
    ] {
        assert!(t.stdout.lines().any(|l| l == line), "no line `{line}` in:\n{}", t.stdout);
    }

    // Markdown, written to a file too; JSON file equals stdout
    let t = bylaw_in(
        &main,
        &["impact", "--base", "HEAD~1", "--format", "markdown", "--json", "../i.json", "--markdown", "../i.md"],
        None,
    );
    assert_eq!(t.code, 0, "{}", t.stderr);
    let md = std::fs::read_to_string(root.path().join("i.md")).unwrap();
    assert_eq!(md, t.stdout);
    let file: Value = serde_json::from_str(&std::fs::read_to_string(root.path().join("i.json")).unwrap()).unwrap();
    assert_eq!(file, j);
    assert!(md.contains("| `.` | 3 | 4 | 2 | 1 | 1 | 2 | 1 | 1 |"), "{md}");
    assert!(md.contains("| `workloads` | changed | 1.0.0 → 1.1.0 | `W-001`: enforcement raised from advisory to blocking<br>`W-003`: added at blocking<br>`W-OLD`: removed |"), "{md}");
    assert!(md.contains(&format!("**Newly blocking (2)**\n\n- `deploy/web.yaml:10:11` **W-001** container web runs privileged · blocking · Deployment prod/web · `{web1}`\n")), "{md}");
    assert!(md.contains(&format!("- `deploy/web.yaml:10:11` **W-003** container web has no memory limit · blocking · Deployment prod/web · `{web3}`\n")), "{md}");
    assert!(md.contains("**Exceptions that would become stale (1)**\n\n- `EXC-1` (`exceptions.yaml:4`): covers 1 finding at the base, 0 at the head\n"), "{md}");
}

#[test]
fn impact_across_three_repositories() {
    let root = tempfile::tempdir().unwrap();
    scenario(root.path());
    let main = root.path().join("main");
    let j = json_of(
        &main,
        &["impact", "--base", "HEAD~1", "--format", "json", "--repos", "../samples/a", "../samples/b", "../samples/c"],
    );
    let repos = j["repositories"].as_array().unwrap();
    let names: Vec<&str> = repos.iter().map(|r| r["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["../samples/a", "../samples/b", "../samples/c"]);
    assert_eq!(marks(&repos[0]["added"]), vec![mark("W-003", "deploy/api.yaml:10:11", "blocking", None)]);
    assert_eq!(
        marks(&repos[0]["newly_blocking"]),
        vec![
            mark("W-001", "deploy/api.yaml:10:11", "blocking", None),
            mark("W-003", "deploy/api.yaml:10:11", "blocking", None)
        ]
    );
    // b's own targets (other/ is not checked) and exceptions
    assert_eq!(marks(&repos[1]["added"]), vec![mark("W-003", "k8s/app.yaml:10:11", "blocking", Some("B-1"))]);
    assert_eq!(repos[1]["newly_blocking"], json!([]));
    assert_eq!(repos[1]["exceptions_new"][0]["id"], "B-1");
    assert_eq!(repos[1]["counts"]["base_findings"], 0);
    assert_eq!(repos[2]["counts"]["head_findings"], 0);
    assert_eq!(repos[2]["added"], json!([]));
    assert_eq!((j["total"]["added"].as_u64(), j["total"]["newly_blocking"].as_u64()), (Some(2), Some(2)));
    // the same from a list file (relative to it, with comments)
    write(root.path(), "repos.txt", "# the samples\nsamples/a\nsamples/b  # own config\n\nsamples/c\n");
    let from_file = json_of(&main, &["impact", "--base", "HEAD~1", "--format", "json", "--repos-file", "../repos.txt"]);
    assert_eq!(from_file["total"], j["total"]);
    let md =
        bylaw_in(&main, &["impact", "--base", "HEAD~1", "--format", "markdown", "--repos-file", "../repos.txt"], None);
    assert!(md.stdout.contains("| **Total** | 1 | 3 | 2 | 0 | 1 | 2 | 0 | 1 |"), "{}", md.stdout);
    assert!(md.stdout.contains("No finding or exception changed."), "{}", md.stdout);
}

#[test]
fn impact_errors_exit_2_naming_the_revision() {
    let root = tempfile::tempdir().unwrap();
    scenario(root.path());
    let main = root.path().join("main");
    let o = bylaw_in(&main, &["impact", "--base", "no-such-rev"], None);
    assert_eq!(o.code, 2);
    assert!(o.stderr.contains("error: impact: unknown revision `no-such-rev`"), "{}", o.stderr);
    assert!(o.stdout.is_empty());
    let o = bylaw_in(&root.path().join("samples/a"), &["impact", "--base", "HEAD", "-p", "../../main/policies"], None);
    assert_eq!(o.code, 2);
    assert!(o.stderr.contains("is not in a git repository"), "{}", o.stderr);
    let o = bylaw_in(&main, &["impact", "--base", "HEAD~1", "--repos", "../samples/nope"], None);
    assert_eq!(o.code, 2);
    assert!(o.stderr.contains("`--repos`: repository `../samples/nope` does not exist"), "{}", o.stderr);
}

#[test]
fn new_since_reports_only_what_came_after_the_revision() {
    let root = tempfile::tempdir().unwrap();
    scenario(root.path());
    let main = root.path().join("main");
    // after HEAD: a new Deployment without a memory limit
    write(
        &main,
        "deploy/new.yaml",
        &deployment("fresh", "        - name: cron\n          image: ghcr.io/acme/cron:1\n"),
    );
    let o = bylaw_in(&main, &["check", "--new-since", "HEAD", "--format", "json"], None);
    assert_eq!(o.code, 1, "the new finding blocks: {}", o.stderr);
    let r: Value = serde_json::from_str(&o.stdout).unwrap();
    let new: Vec<(&str, &str)> = r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["baseline"] == "new")
        .map(|f| (f["rule_id"].as_str().unwrap(), f["location"]["path"].as_str().unwrap()))
        .collect();
    assert_eq!(new, [("W-003", "deploy/new.yaml")]);
    assert_eq!(r["summary"]["baselined"], 4);
    assert_eq!(r["summary"]["blocking"], 1);
    let t = bylaw_in(&main, &["check", "--new-since", "HEAD"], None);
    assert!(t.stdout.contains("baseline: 4 findings in the baseline reported at audit level; 1 new"), "{}", t.stdout);
    assert!(t.stdout.contains("note: in the baseline of HEAD ("), "{}", t.stdout);
    let s = bylaw_in(&main, &["check", "--new-since", "HEAD", "--format", "sarif"], None);
    let sarif: Value = serde_json::from_str(&s.stdout).unwrap();
    let states: Vec<&str> =
        sarif["runs"][0]["results"].as_array().unwrap().iter().map(|r| r["baselineState"].as_str().unwrap()).collect();
    assert_eq!(states.iter().filter(|s| **s == "new").count(), 1, "{states:?}");
    assert_eq!(states.iter().filter(|s| **s == "unchanged").count(), 4, "{states:?}");
    // HEAD~1 had the policy without W-003 but the same manifests: run with
    // the SAME (current) policies, its findings are the same four
    let o = bylaw_in(&main, &["check", "--new-since", "HEAD~1", "--format", "json"], None);
    let r: Value = serde_json::from_str(&o.stdout).unwrap();
    assert_eq!(r["summary"]["baselined"], 4, "the current policies on the files of HEAD~1");
    // errors
    let o = bylaw_in(&main, &["check", "--new-since", "nope"], None);
    assert_eq!(o.code, 2);
    assert!(o.stderr.contains("error: --new-since nope: unknown revision `nope`"), "{}", o.stderr);
    let o =
        bylaw_in(&root.path().join("samples/a"), &["check", "--new-since", "HEAD", "-p", "../../main/policies"], None);
    assert_eq!(o.code, 2);
    assert!(o.stderr.contains("--new-since HEAD:") && o.stderr.contains("not in a git repository"), "{}", o.stderr);
}

#[test]
fn validate_against_warns_at_the_version_when_the_major_stays() {
    let root = tempfile::tempdir().unwrap();
    scenario(root.path());
    let main = root.path().join("main");
    // the exception list names W-OLD, gone at the head: an error of its own
    write(&main, ".bylaw.yaml", "policies: [policies]\n");
    let o = bylaw_in(&main, &["validate", "--against", "HEAD~1"], None);
    assert_eq!(o.code, 0, "warnings do not fail validation: {}", o.stderr);
    for w in [
        "warning[lint]: policy `workloads`: rule `W-001` enforcement raised from advisory to blocking since HEAD~1, a change that tightens a rule, but the major version stays 1 (1.0.0 → 1.1.0)",
        "warning[lint]: policy `workloads`: rule `W-003` added at blocking since HEAD~1, a change that tightens a rule, but the major version stays 1 (1.0.0 → 1.1.0)",
        "warning[lint]: policy `workloads`: rule `W-OLD` removed since HEAD~1, a change that removes a rule, but the major version stays 1 (1.0.0 → 1.1.0)",
    ] {
        let at = o.stderr.find(w).unwrap_or_else(|| panic!("no `{w}` in:\n{}", o.stderr));
        let after = &o.stderr[at..];
        assert!(after.lines().nth(1).unwrap().ends_with("--> policies/workloads.yaml:5:12"), "{after}");
        assert!(after.contains("= hint: a change that removes or tightens rules is a major change: bump to 2.0.0"), "{after}");
    }
    // 2.0.0: nothing to say; the same version with changed rules: a warning
    write(&main, "policies/workloads.yaml", &policy_head().replace("1.1.0", "2.0.0"));
    let o = bylaw_in(&main, &["validate", "policies", "--against", "HEAD~1"], None);
    assert!(!o.stderr.contains("major version stays"), "{}", o.stderr);
    // the same version: breaking changes are said once each, rule by rule
    write(&main, "policies/workloads.yaml", &policy_head().replace("1.1.0", "1.0.0"));
    let o = bylaw_in(&main, &["validate", "policies", "--against", "HEAD~1"], None);
    assert!(o.stderr.contains("but the major version stays 1 (1.0.0 → 1.0.0)"), "{}", o.stderr);
    assert!(!o.stderr.contains("its rules changed since"), "no second, generic warning: {}", o.stderr);
    // a change that only loosens, at the same version: a minor version is enough
    write(&main, "policies/workloads.yaml", &POLICY_BASE.replace("enforcement: advisory", "enforcement: audit"));
    let o = bylaw_in(&main, &["validate", "policies", "--against", "HEAD~1"], None);
    let w = "policy `workloads`: its rules changed since HEAD~1 but its version is still 1.0.0";
    let at = o.stderr.find(w).unwrap_or_else(|| panic!("no `{w}` in:\n{}", o.stderr));
    assert!(o.stderr[at..].contains("= hint: bump to 1.1.0"), "{}", o.stderr);
    assert!(!o.stderr.contains("major version stays"), "{}", o.stderr);
    write(&main, "policies/workloads.yaml", &POLICY_BASE.replace("1.0.0", "0.9.0"));
    let o = bylaw_in(&main, &["validate", "policies", "--against", "HEAD~1"], None);
    assert!(o.stderr.contains("the version went down from 1.0.0 at HEAD~1 to 0.9.0"), "{}", o.stderr);
    let o = bylaw_in(&main, &["validate", "policies", "--against", "nope"], None);
    assert_eq!(o.code, 2);
    assert!(o.stderr.contains("--against unknown revision `nope`"), "{}", o.stderr);
}

#[test]
fn validate_against_warns_when_a_policy_is_renamed_or_removed() {
    let root = tempfile::tempdir().unwrap();
    scenario(root.path());
    let main = root.path().join("main");
    write(&main, ".bylaw.yaml", "policies: [policies]\n");
    let head = policy_head();
    // renamed, same version: pins and lock entries naming `workloads` break
    write(&main, "policies/workloads.yaml", &head.replace("name: workloads", "name: workloads-v2"));
    let o = bylaw_in(&main, &["validate", "--against", "HEAD"], None);
    assert_eq!(o.code, 0, "a warning: {}", o.stderr);
    let w = "warning[lint]: policy `workloads` was renamed to `workloads-v2` since HEAD, a change that removes a policy (`versions` pins and `bylaw.lock` entries naming it break), but the major version stays 1 (1.1.0 → 1.1.0)";
    let at = o.stderr.find(w).unwrap_or_else(|| panic!("no `{w}` in:\n{}", o.stderr));
    let after = &o.stderr[at..];
    assert!(after.lines().nth(1).unwrap().ends_with("--> policies/workloads.yaml:4:9"), "{after}");
    assert!(after.contains("= hint: renaming a policy is a major change: bump to 2.0.0"), "{after}");
    // renamed with a new major version: nothing to say
    write(
        &main,
        "policies/workloads.yaml",
        &head.replace("name: workloads", "name: workloads-v2").replace("1.1.0", "2.0.0"),
    );
    let o = bylaw_in(&main, &["validate", "--against", "HEAD"], None);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(!o.stderr.contains("renamed"), "{}", o.stderr);
    // removed with its file (another policy stays): a warning at the file
    std::fs::remove_file(main.join("policies/workloads.yaml")).unwrap();
    write(&main, "policies/other.yaml", &POLICY_BASE.replace("name: workloads", "name: other"));
    let o = bylaw_in(&main, &["validate", "--against", "HEAD"], None);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(
        o.stderr.contains(
            "warning[lint]: policy `workloads` (1.1.0 at HEAD) was removed since HEAD with its file, a change that removes a policy: `versions` pins and `bylaw.lock` entries naming it break\n --> policies/workloads.yaml\n"
        ),
        "{}",
        o.stderr
    );
    assert!(o.stderr.contains("= hint: removing a policy is a major change"), "{}", o.stderr);
}

// ---- the impact comment, against the mock GitHub and GitLab APIs ----

const GH_TOKEN: &str = "ghs_bylawTest0123456789SECRETtoken";
const GL_TOKEN: &str = "glpat-bylawTest0123456789SECRET";
const HEAD_SHA: &str = "6dcb09b5b57875f334f61aebed695e2e4193db5e";

fn gh_comment(id: u64, login: &str, body: &str) -> Value {
    let mut c = spec().example("GET", "/repos/{owner}/{repo}/issues/comments/{comment_id}", 200);
    c["id"] = json!(id);
    c["body"] = json!(body);
    c["user"]["login"] = json!(login);
    c["user"]["type"] = json!(if login.ends_with("[bot]") { "Bot" } else { "User" });
    c["created_at"] = json!("2026-06-01T10:00:00Z");
    c["updated_at"] = json!("2026-06-01T10:00:00Z");
    c
}

fn gh_run(main: &Path, api: &str, base: &str) -> (i32, String, String) {
    let mut e: Value = serde_json::from_str(
        &std::fs::read_to_string(support::tools::root().join("tests/fixtures/github/events/pull_request.json"))
            .unwrap(),
    )
    .unwrap();
    e["pull_request"]["base"]["sha"] = json!(base);
    let payload = main.join("../event.json");
    std::fs::write(&payload, e.to_string()).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_bylaw"))
        .args(["ci", "github"])
        .current_dir(main)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("BYLAW_NOW", "2026-06-01T12:00:00Z")
        .env("BYLAW_GITHUB_BACKOFF_MS", "10")
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_REPOSITORY", "acme/shop")
        .env("GITHUB_EVENT_NAME", "pull_request")
        .env("GITHUB_EVENT_PATH", &payload)
        .env("GITHUB_SHA", "1111111111111111111111111111111111111111")
        .env("GITHUB_REF", "refs/pull/7/merge")
        .env("GITHUB_API_URL", api)
        .env("GITHUB_SERVER_URL", "https://github.com")
        .env("GITHUB_RUN_ID", "4242")
        .env("GITHUB_WORKSPACE", main)
        .env("GITHUB_TOKEN", GH_TOKEN)
        .output()
        .unwrap();
    (out.status.code().unwrap_or(-1), String::from_utf8(out.stdout).unwrap(), String::from_utf8(out.stderr).unwrap())
}

fn gh_files(mock: &Mock, files: &[&str]) {
    let list: Vec<Value> = files
        .iter()
        .map(|name| {
            let mut f = spec().example("GET", "/repos/{owner}/{repo}/pulls/{pull_number}/files", 200)[0].clone();
            f["filename"] = json!(name);
            f["status"] = json!("modified");
            f["patch"] = json!("@@ -1,1 +1,1 @@\n-a\n+b");
            f
        })
        .collect();
    mock.expect("GET", "/repos/acme/shop/pulls/7/files?per_page=100", 1, Reply::json(200, Value::Array(list)));
}

fn gh_verify(calls: &[Call]) {
    for c in calls {
        assert_eq!(c.header("authorization"), format!("Bearer {GH_TOKEN}"), "{}", c.line());
        if let Err(e) = spec().check(c, "") {
            panic!("{e}");
        }
    }
}

fn gh_comment_reply(id: u64) -> impl Fn(&Call, &str) -> Reply + Send + 'static {
    move |call, _| {
        Reply::json(
            if call.method == "POST" { 201 } else { 200 },
            gh_comment(id, "github-actions[bot]", call.json()["body"].as_str().unwrap()),
        )
    }
}

/// The verdict's check run and, on a change of policies, the policy-approval
/// gate's (`n` = 2), after its `GET …/reviews` (nobody approved).
fn gh_check_run(mock: &Mock, n: usize) {
    if n > 1 {
        mock.expect("GET", "/repos/acme/shop/pulls/7/reviews?per_page=100", 1, Reply::json(200, json!([])));
    }
    let mut r = spec().example("POST", "/repos/{owner}/{repo}/check-runs", 201);
    r["id"] = json!(4);
    r["head_sha"] = json!(HEAD_SHA);
    mock.expect("POST", "/repos/acme/shop/check-runs", n, Reply::json(201, r));
}

#[test]
fn github_pr_that_changes_a_policy_gets_one_impact_comment() {
    let root = tempfile::tempdir().unwrap();
    let base = scenario(root.path());
    let main = root.path().join("main");
    let added = json_of(&main, &["impact", "--base", &base, "--format", "json"]);
    let web3 = fp(&added["repositories"][0]["added"], "W-003", "deploy/web.yaml");

    // a first run posts it; a second run updates the same comment
    let mock = Mock::start();
    gh_files(&mock, &["policies/workloads.yaml"]);
    mock.expect("GET", "/repos/acme/shop/issues/7/comments?per_page=100", 1, Reply::json(200, json!([])));
    gh_check_run(&mock, 2);
    mock.expect_with("POST", "/repos/acme/shop/issues/7/comments", 2, gh_comment_reply(9001));
    let (code, out, err) = gh_run(&main, &mock.url, &base);
    let calls = mock.finish();
    gh_verify(&calls);
    assert_eq!(code, 1, "the head's policies block: {out}\n{err}");
    assert!(
        out.contains("bylaw: this pull request changes policies: 2 findings added, 1 removed, 2 newly blocking"),
        "{out}"
    );
    let posted: Vec<&str> = calls
        .iter()
        .filter(|c| c.line() == "POST /repos/acme/shop/issues/7/comments")
        .map(|c| c.json()["body"].as_str().unwrap())
        .collect();
    let impact = posted.iter().find(|b| b.starts_with("<!-- bylaw:impact -->\n")).expect("an impact comment");
    assert!(posted.iter().any(|b| b.starts_with("<!-- bylaw:report -->")), "and the summary comment");
    assert!(impact.contains(&format!("- `deploy/web.yaml:10:11` **W-003** container web has no memory limit · blocking · Deployment prod/web · `{web3}`\n")), "{impact}");
    assert!(
        impact.contains(
            "- `deploy/batch.yaml:10:11` **W-003** container job has no memory limit · blocking (excepted by EXC-2)"
        ),
        "{impact}"
    );
    assert!(impact.contains("`EXC-1` (`exceptions.yaml:4`): covers 1 finding at the base, 0 at the head"), "{impact}");

    let mock = Mock::start();
    gh_files(&mock, &["policies/workloads.yaml"]);
    let earlier = vec![
        gh_comment(5, "carol", "<!-- bylaw:impact --> not bylaw's"),
        gh_comment(9001, "github-actions[bot]", "<!-- bylaw:report -->\nold"),
        gh_comment(9002, "github-actions[bot]", "<!-- bylaw:impact -->\nold impact"),
    ];
    mock.expect("GET", "/repos/acme/shop/issues/7/comments?per_page=100", 1, Reply::json(200, Value::Array(earlier)));
    gh_check_run(&mock, 2);
    mock.expect_with("PATCH", "/repos/acme/shop/issues/comments/9001", 1, gh_comment_reply(9001));
    mock.expect_with("PATCH", "/repos/acme/shop/issues/comments/9002", 1, gh_comment_reply(9002));
    let (code, out, err) = gh_run(&main, &mock.url, &base);
    let calls = mock.finish();
    gh_verify(&calls);
    assert_eq!(code, 1, "{out}\n{err}");
    let body = calls.iter().find(|c| c.line() == "PATCH /repos/acme/shop/issues/comments/9002").unwrap().json()["body"]
        .as_str()
        .unwrap();
    assert!(body.starts_with("<!-- bylaw:impact -->") && body.contains(&web3), "{body}");
}

#[test]
fn github_pr_without_policy_changes_gets_no_impact_comment() {
    let root = tempfile::tempdir().unwrap();
    let base = scenario(root.path());
    let main = root.path().join("main");
    let mock = Mock::start();
    gh_files(&mock, &["deploy/web.yaml"]);
    mock.expect("GET", "/repos/acme/shop/issues/7/comments?per_page=100", 1, Reply::json(200, json!([])));
    gh_check_run(&mock, 1);
    mock.expect_with("POST", "/repos/acme/shop/issues/7/comments", 1, gh_comment_reply(9001));
    let (code, out, _) = gh_run(&main, &mock.url, &base);
    let calls = mock.finish();
    gh_verify(&calls);
    assert_eq!(code, 1);
    assert!(!out.contains("changes policies"), "{out}");
    let body =
        calls.iter().find(|c| c.method == "POST" && c.path.ends_with("/comments")).unwrap().json()["body"].clone();
    assert!(body.as_str().unwrap().starts_with("<!-- bylaw:report -->"));
}

fn gl_note(id: u64, author: (u64, &str), body: &str) -> Value {
    json!({
        "id": id, "type": null, "body": body, "attachment": null,
        "author": {"id": author.0, "username": author.1, "name": author.1, "state": "active", "locked": false,
                   "avatar_url": "https://gitlab.example.com/a.png", "web_url": format!("https://gitlab.example.com/{}", author.1)},
        "created_at": "2026-06-01T10:00:00.123Z", "updated_at": "2026-06-01T10:00:00.127Z",
        "system": false, "noteable_id": 88, "noteable_type": "MergeRequest", "project_id": 4242,
        "resolvable": false, "confidential": false, "internal": false, "noteable_iid": 7, "commands_changes": {},
    })
}

/// `bylaw ci gitlab` on an MR of `root/main` changing its policy, with
/// base commit `base`, against the mock GitLab API: the exit code, the
/// output, the impact note's body (it updates note 70) and the summary note's.
fn gitlab_impact_note(root: &Path, base: &str) -> (Option<i32>, String, String, String) {
    let main = root.join("main");
    let project = "/api/v4/projects/4242";
    let mock = Mock::start();
    let bot = (999, "project_4242_bot_5e1f0a");
    let mut me = gl_note(0, bot, "")["author"].clone();
    me["bot"] = json!(true);
    mock.expect("GET", "/api/v4/user", 1, Reply::json(200, me));
    let diff = json!([{"old_path": "policies/workloads.yaml", "new_path": "policies/workloads.yaml", "a_mode": "100644",
        "b_mode": "100644", "diff": "@@ -1,1 +1,1 @@\n-a\n+b\n", "new_file": false, "renamed_file": false,
        "deleted_file": false, "generated_file": false}]);
    mock.expect("GET", &format!("{project}/merge_requests/7/diffs?per_page=100"), 1, Reply::json(200, diff));
    mock.expect(
        "GET",
        &format!("{project}/merge_requests/7/notes?sort=asc&order_by=created_at&per_page=100"),
        1,
        Reply::json(200, json!([gl_note(70, bot, "<!-- bylaw:impact -->\nold")])),
    );
    // the policy-approval gate: the MR (author, head) and its approvals (none)
    let mr = json!({"id": 88, "iid": 7, "project_id": 4242, "title": "Tighten", "state": "opened",
        "author": {"id": 5, "username": "bob", "name": "bob", "state": "active"}, "sha": HEAD_SHA,
        "source_branch": "feature/tighten", "target_branch": "main"});
    mock.expect("GET", &format!("{project}/merge_requests/7"), 1, Reply::json(200, mr));
    let none = json!({"id": 88, "iid": 7, "project_id": 4242, "approved": false, "approved_by": []});
    mock.expect("GET", &format!("{project}/merge_requests/7/approvals"), 1, Reply::json(200, none));
    mock.expect(
        "POST",
        &format!("{project}/statuses/{HEAD_SHA}"),
        2,
        Reply::json(201, json!({"id": 93, "status": "failed"})),
    );
    let reply = move |call: &Call, _: &str| {
        Reply::json(
            if call.method == "POST" { 201 } else { 200 },
            gl_note(71, bot, call.json()["body"].as_str().unwrap()),
        )
    };
    mock.expect_with("POST", &format!("{project}/merge_requests/7/notes"), 1, reply);
    mock.expect_with("PUT", &format!("{project}/merge_requests/7/notes/70"), 1, reply);
    let out = Command::new(env!("CARGO_BIN_EXE_bylaw"))
        .args(["ci", "gitlab"])
        .current_dir(&main)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("BYLAW_NOW", "2026-06-01T12:00:00Z")
        .env("BYLAW_GITLAB_BACKOFF_MS", "10")
        .env("GITLAB_CI", "true")
        .env("CI", "true")
        .env("CI_PROJECT_ID", "4242")
        .env("CI_PROJECT_PATH", "acme/shop")
        .env("CI_PROJECT_URL", "https://gitlab.example.com/acme/shop")
        .env("CI_SERVER_URL", "https://gitlab.example.com")
        .env("CI_API_V4_URL", format!("{}/api/v4", mock.url))
        .env("CI_COMMIT_SHA", HEAD_SHA)
        .env("CI_PIPELINE_ID", "1077")
        .env("CI_PIPELINE_SOURCE", "merge_request_event")
        .env("CI_MERGE_REQUEST_IID", "7")
        .env("CI_MERGE_REQUEST_PROJECT_ID", "4242")
        .env("CI_MERGE_REQUEST_SOURCE_PROJECT_ID", "4242")
        .env("CI_MERGE_REQUEST_SOURCE_BRANCH_NAME", "feature/tighten")
        .env("CI_MERGE_REQUEST_TARGET_BRANCH_NAME", "main")
        .env("CI_MERGE_REQUEST_DIFF_BASE_SHA", base)
        .env("BYLAW_GITLAB_TOKEN", GL_TOKEN)
        .output()
        .unwrap();
    let calls = mock.finish();
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
    for c in &calls {
        assert_eq!(c.header("private-token"), GL_TOKEN, "{}", c.line());
    }
    let put = calls.iter().find(|c| c.method == "PUT").unwrap();
    assert_eq!(put.json().as_object().unwrap().keys().collect::<Vec<_>>(), ["body"]);
    let body = put.json()["body"].as_str().unwrap().to_owned();
    let summary = calls.iter().find(|c| c.method == "POST" && c.path.ends_with("/notes")).unwrap().json()["body"]
        .as_str()
        .unwrap()
        .to_owned();
    (out.status.code(), format!("{stdout}{stderr}"), body, summary)
}

#[test]
fn gitlab_mr_that_changes_a_policy_gets_one_impact_note() {
    let root = tempfile::tempdir().unwrap();
    let base = scenario(root.path());
    let main = root.path().join("main");
    let added = json_of(&main, &["impact", "--base", &base, "--format", "json"]);
    let web3 = fp(&added["repositories"][0]["added"], "W-003", "deploy/web.yaml");
    let (code, out, body, summary) = gitlab_impact_note(root.path(), &base);
    assert_eq!(code, Some(1), "{out}");
    assert!(body.starts_with("<!-- bylaw:impact -->\n### bylaw policy impact: "), "{body}");
    assert!(body.contains(&format!("- `deploy/web.yaml:10:11` **W-003** container web has no memory limit · blocking · Deployment prod/web · `{web3}`\n")), "{body}");
    assert!(summary.starts_with("<!-- bylaw:report -->"), "{summary}");
}

#[test]
fn gitlab_impact_note_shows_each_configured_repository() {
    let root = tempfile::tempdir().unwrap();
    let base = scenario(root.path());
    configure_impact(root.path());
    let (code, out, body, _) = gitlab_impact_note(root.path(), &base);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("impact: repository ../samples/gone not evaluated: .bylaw.yaml:4:53"), "{out}");
    for name in ["../samples/a", "../samples/b", "../samples/c"] {
        assert!(body.contains(&format!("#### `{name}`\n")), "{body}");
    }
    assert!(body.contains("| **Total** | 1 | 3 | 2 | 0 | 1 | 2 | 0 | 1 |"), "{body}");
    assert!(
        body.contains("**Repositories not evaluated (1)**\n\n- ⚠️ `../samples/gone`: .bylaw.yaml:4:53: "),
        "{body}"
    );
}

#[test]
fn a_source_added_to_the_config_is_part_of_the_change() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    git(d, &["init", "-q", "-b", "main"]);
    write(d, ".bylaw.yaml", "policies: [policies/]\n");
    write(d, "policies/workloads.yaml", POLICY_BASE);
    write(d, "extra/pods.yaml", &POLICY_BASE.replace("name: workloads", "name: pods").replace("id: W-", "id: P-"));
    write(d, "deploy/web.yaml", "apiVersion: apps/v1\nkind: Deployment\nmetadata: { name: web }\n");
    git(d, &["add", "-A"]);
    git(d, &["commit", "-qm", "base"]);
    // the change only names one more source in .bylaw.yaml
    write(d, ".bylaw.yaml", "policies: [policies/, extra/]\n");
    let impact = json_of(d, &["impact", "--base", "HEAD", "--format", "json"]);
    let added: Vec<&str> = impact["policies"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["status"] == "added")
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(added, ["pods"], "{impact:#}");
}

/// `root/main/.bylaw.yaml` naming the three samples and one that is not
/// there under `impact:`, relative to the config file.
fn configure_impact(root: &Path) {
    write(
        &root.join("main"),
        ".bylaw.yaml",
        "policies: [policies]\nexceptions: [exceptions.yaml]\nimpact:\n  repos: [../samples/a, ../samples/b, ../samples/c, ../samples/gone]\n",
    );
}

#[test]
fn impact_reads_the_repositories_of_the_config_and_names_a_missing_one() {
    let root = tempfile::tempdir().unwrap();
    scenario(root.path());
    let main = root.path().join("main");
    let given = json_of(
        &main,
        &["impact", "--base", "HEAD~1", "--format", "json", "--repos", "../samples/a", "../samples/b", "../samples/c"],
    );
    configure_impact(root.path());
    let o = bylaw_in(&main, &["impact", "--base", "HEAD~1", "--format", "json"], None);
    // a config error (exit 2), located and naming the repository; the others are evaluated
    assert_eq!(o.code, 2, "{}\n{}", o.stdout, o.stderr);
    assert!(
        o.stderr.contains("error[io]: `impact.repos`: repository `../samples/gone` does not exist"),
        "{}",
        o.stderr
    );
    assert!(o.stderr.contains(".bylaw.yaml:4:53"), "{}", o.stderr);
    let j: Value = serde_json::from_str(&o.stdout).unwrap();
    let names: Vec<&str> = j["repositories"].as_array().unwrap().iter().map(|r| r["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["../samples/a", "../samples/b", "../samples/c"]);
    assert_eq!(j["total"], given["total"], "the same impact as with --repos");
    assert_eq!(j["repositories"], given["repositories"]);
    assert_eq!(j["failed_repositories"][0]["name"], "../samples/gone");
    assert!(
        j["failed_repositories"][0]["error"]
            .as_str()
            .unwrap()
            .starts_with(".bylaw.yaml:4:53: `impact.repos`: repository `../samples/gone` does not exist"),
        "{j}"
    );
    // --repos wins over the config
    let o = bylaw_in(&main, &["impact", "--base", "HEAD~1", "--format", "json", "--repos", "../samples/c"], None);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let j: Value = serde_json::from_str(&o.stdout).unwrap();
    assert_eq!(j["repositories"].as_array().unwrap().len(), 1);
    assert!(j.get("failed_repositories").is_none(), "{j}");
}

#[test]
fn github_impact_comment_shows_each_configured_repository() {
    let root = tempfile::tempdir().unwrap();
    let base = scenario(root.path());
    configure_impact(root.path());
    let main = root.path().join("main");
    let mock = Mock::start();
    gh_files(&mock, &["policies/workloads.yaml"]);
    mock.expect("GET", "/repos/acme/shop/issues/7/comments?per_page=100", 1, Reply::json(200, json!([])));
    gh_check_run(&mock, 2);
    mock.expect_with("POST", "/repos/acme/shop/issues/7/comments", 2, gh_comment_reply(9001));
    let (code, out, err) = gh_run(&main, &mock.url, &base);
    let calls = mock.finish();
    gh_verify(&calls);
    assert_eq!(code, 1, "the verdict is this repository's: {out}\n{err}");
    let all = format!("{out}{err}");
    assert!(all.contains("impact: repository ../samples/gone not evaluated: .bylaw.yaml:4:53"), "{all}");
    let impact = calls
        .iter()
        .filter(|c| c.line() == "POST /repos/acme/shop/issues/7/comments")
        .map(|c| c.json()["body"].as_str().unwrap())
        .find(|b| b.starts_with("<!-- bylaw:impact -->\n"))
        .expect("an impact comment");
    // the same Markdown as `bylaw impact --repos …`
    let md = bylaw_in(
        &main,
        &["impact", "--base", &base, "--format", "markdown", "--repos", "../samples/a", "../samples/b", "../samples/c"],
        None,
    );
    assert_eq!(md.code, 0, "{}", md.stderr);
    for section in md.stdout.split("\n#### ").skip(1) {
        assert!(impact.contains(section), "section {section}\nnot in\n{impact}");
    }
    for name in ["../samples/a", "../samples/b", "../samples/c"] {
        assert!(impact.contains(&format!("#### `{name}`\n")), "{impact}");
    }
    assert!(impact.contains("| **Total** | 1 | 3 | 2 | 0 | 1 | 2 | 0 | 1 |"), "{impact}");
    assert!(
        impact.contains("**Repositories not evaluated (1)**\n\n- ⚠️ `../samples/gone`: .bylaw.yaml:4:53: "),
        "{impact}"
    );
}

/// A loopback HTTP server answering GET PATH with the bytes of `files`;
/// returns its base URL and the paths asked, in order.
fn bundle_server(files: Vec<(String, Vec<u8>)>) -> (String, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
    let server = tiny_http::Server::http("127.0.0.1:0").unwrap();
    let port = server.server_addr().to_ip().unwrap().port();
    let asked = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = asked.clone();
    std::thread::spawn(move || {
        for req in server.incoming_requests() {
            let url = req.url().to_owned();
            log.lock().unwrap().push(format!("{} {url}", req.method()));
            let reply = match files.iter().find(|(p, _)| *p == url) {
                Some((_, bytes)) => tiny_http::Response::from_data(bytes.clone()),
                None => tiny_http::Response::from_data(b"not found".to_vec()).with_status_code(404),
            };
            let _ = req.respond(reply);
        }
    });
    (format!("http://127.0.0.1:{port}"), asked)
}

#[test]
fn impact_of_a_bundle_version_bump_in_the_config() {
    let root = tempfile::tempdir().unwrap();
    scenario(root.path());
    // two versions of the policies, published as bundles (outside the repository)
    let publish = root.path().join("publish");
    let mut files = Vec::new();
    for (version, text) in [("1.0.0", POLICY_BASE.to_owned()), ("1.1.0", policy_head())] {
        write(&publish, "policies/workloads.yaml", &text);
        let out = format!("acme-{version}.tar.gz");
        let o = bylaw_in(
            &publish,
            &["bundle", "build", "policies", "-o", &out, "--name", "acme", "--version", version],
            None,
        );
        assert_eq!(o.code, 0, "{}", o.stderr);
        files.push((format!("/bundles/{out}"), std::fs::read(publish.join(&out)).unwrap()));
    }
    let (url, asked) = bundle_server(files);
    // the service repository pins 1.0.0, then a change bumps it to 1.1.0
    let svc = root.path().join("svc");
    for f in ["deploy/web.yaml", "deploy/legacy.yaml", "deploy/batch.yaml", "exceptions.yaml"] {
        write(&svc, f, &std::fs::read_to_string(root.path().join("main").join(f)).unwrap());
    }
    let config = |v: &str| format!("policies: ['{url}/bundles/acme-{v}.tar.gz']\nexceptions: [exceptions.yaml]\n");
    write(&svc, ".bylaw.yaml", &config("1.0.0"));
    git(&svc, &["init", "-q", "-b", "main"]);
    git(&svc, &["add", "-A"]);
    git(&svc, &["commit", "-q", "-m", "pin 1.0.0"]);
    write(&svc, ".bylaw.yaml", &config("1.1.0"));
    git(&svc, &["commit", "-q", "-am", "bump to 1.1.0"]);

    let j = json_of(&svc, &["impact", "--base", "HEAD~1", "--head", "HEAD", "--format", "json"]);
    // the same exact findings as the policy change made in the repository itself
    let local =
        json_of(&root.path().join("main"), &["impact", "--base", "HEAD~1", "--head", "HEAD", "--format", "json"]);
    assert_eq!(j["repositories"][0]["added"], local["repositories"][0]["added"], "{j}");
    assert_eq!(j["repositories"][0]["removed"], local["repositories"][0]["removed"]);
    assert_eq!(j["repositories"][0]["newly_blocking"], local["repositories"][0]["newly_blocking"]);
    assert_eq!(j["total"], local["total"]);
    assert_eq!(j["policies"][0]["name"], "workloads");
    assert_eq!(
        (j["policies"][0]["base_version"].as_str(), j["policies"][0]["head_version"].as_str()),
        (Some("1.0.0"), Some("1.1.0"))
    );
    let asked = asked.lock().unwrap().clone();
    assert!(asked.contains(&"GET /bundles/acme-1.0.0.tar.gz".to_owned()), "{asked:?}");
    assert!(asked.contains(&"GET /bundles/acme-1.1.0.tar.gz".to_owned()), "{asked:?}");

    // a version that cannot be fetched is an error naming the source (exit 2)
    write(&svc, ".bylaw.yaml", &config("9.9.9"));
    let o = bylaw_in(&svc, &["impact", "--base", "HEAD~1", "--format", "json"], None);
    assert_eq!(o.code, 2, "{}\n{}", o.stdout, o.stderr);
    assert!(o.stderr.contains(&format!("{url}/bundles/acme-9.9.9.tar.gz")), "{}", o.stderr);
}

#[test]
fn a_missing_repository_of_the_command_line_is_reported_and_the_others_evaluated() {
    let root = tempfile::tempdir().unwrap();
    scenario(root.path());
    let main = root.path().join("main");
    let given = json_of(&main, &["impact", "--base", "HEAD~1", "--format", "json", "--repos", "../samples/a"]);
    // a repository whose own config is broken fails alone too
    write(&root.path().join("samples/broken"), ".bylaw.yaml", "targets: [\n");

    let o = bylaw_in(
        &main,
        &["impact", "--base", "HEAD~1", "--format", "json", "--repos", "../samples/a", "../nope", "../samples/broken"],
        None,
    );
    assert_eq!(o.code, 2, "{}\n{}", o.stdout, o.stderr);
    assert!(o.stderr.contains("error[usage]: `--repos`: repository `../nope` does not exist"), "{}", o.stderr);
    assert!(o.stderr.contains("(the other repositories are still evaluated)"), "{}", o.stderr);
    let j: Value = serde_json::from_str(&o.stdout).unwrap();
    let names: Vec<&str> = j["repositories"].as_array().unwrap().iter().map(|r| r["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["../samples/a"]);
    assert_eq!(j["repositories"], given["repositories"]);
    let failed: Vec<&str> =
        j["failed_repositories"].as_array().unwrap().iter().map(|r| r["name"].as_str().unwrap()).collect();
    assert_eq!(failed, ["../nope", "../samples/broken"], "{j}");
    assert_eq!(j["failed_repositories"][0]["error"], "`--repos`: repository `../nope` does not exist");
    assert!(j["failed_repositories"][1]["error"].as_str().unwrap().starts_with(".bylaw.yaml:"), "{j}");

    // --repos-file: the missing one is located at its line
    write(&main, "repos.txt", "# samples\n../samples/a\n../gone # retired\n");
    let o = bylaw_in(&main, &["impact", "--base", "HEAD~1", "--format", "markdown", "--repos-file", "repos.txt"], None);
    assert_eq!(o.code, 2, "{}\n{}", o.stdout, o.stderr);
    assert!(o.stderr.contains("error[io]: repository `../gone` does not exist"), "{}", o.stderr);
    assert!(o.stderr.contains("repos.txt:3:1"), "{}", o.stderr);
    assert!(o.stdout.contains("| `../samples/a` | 1 | 2 |"), "{}", o.stdout);
    assert!(o.stdout.contains("- ⚠️ `../gone`: repos.txt:3:1: repository"), "{}", o.stdout);
}

#[test]
fn a_failed_repository_keeps_its_name_whatever_it_holds() {
    let root = tempfile::tempdir().unwrap();
    scenario(root.path());
    let main = root.path().join("main");
    let odd = "../samples/we`ird";
    write(
        &main,
        ".bylaw.yaml",
        &format!("policies: [policies]\nexceptions: [exceptions.yaml]\nimpact:\n  repos: [../samples/a, '{odd}']\n"),
    );
    let o = bylaw_in(&main, &["impact", "--base", "HEAD~1", "--format", "json"], None);
    assert_eq!(o.code, 2, "{}\n{}", o.stdout, o.stderr);
    let j: Value = serde_json::from_str(&o.stdout).unwrap();
    assert_eq!(j["failed_repositories"][0]["name"], odd, "{j}");
    let o = bylaw_in(&main, &["impact", "--base", "HEAD~1", "--format", "markdown", "--repos", odd], None);
    assert_eq!(o.code, 2, "{}\n{}", o.stdout, o.stderr);
    assert!(o.stdout.contains("- ⚠️ ``../samples/we`ird``: \\`--repos\\`: repository"), "{}", o.stdout);
}
