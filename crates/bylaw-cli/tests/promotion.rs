//! Promotion across environments (issue 18, item 3): `.bylaw.yaml` pins a
//! policy version per environment (`environments.ENV.policies`), checks
//! it (`versions`), and a policy rolls out dev → staging → prod by date
//! (`spec.environments.ENV.enforce_from`); `bylaw explain --effective
//! --env ENV` shows what is enforced where.

mod support;

use serde_json::Value;
use std::path::Path;
use support::cli::{command, run_bounded, write, Out};

/// 1.4.2: one rule, no rollout.
const P14: &str = "apiVersion: bylaw/v1
kind: Policy
metadata:
  name: k8s-workload-security
  version: 1.4.2
spec:
  match: { kinds: [Pod] }
  rules:
    - id: K8S-001
      title: No privileged containers
      each: \"$.spec.containers[*]\"
      deny: \"item.securityContext.privileged == true\"
      message: \"container {{ item.name }} runs privileged\"
";

/// 1.5.0-rc.1: a new rule, K8S-002, rolled out by date per environment.
const P15: &str = "apiVersion: bylaw/v1
kind: Policy
metadata:
  name: k8s-workload-security
  version: 1.5.0-rc.1
spec:
  match: { kinds: [Pod] }
  environments:
    dev: blocking
    staging: { enforcement: blocking, enforce_from: 2027-01-15 }
    prod: { enforcement: blocking, enforce_from: 2027-02-01 }
  rules:
    - id: K8S-001
      title: No privileged containers
      enforcement: blocking
      each: \"$.spec.containers[*]\"
      deny: \"item.securityContext.privileged == true\"
      message: \"container {{ item.name }} runs privileged\"
    - id: K8S-002
      title: Images are pinned
      each: \"$.spec.containers[*]\"
      deny: \"item.image.endsWith(':latest')\"
      message: \"container {{ item.name }} uses :latest\"
";

const POD: &str = "apiVersion: v1
kind: Pod
metadata: { name: web }
spec:
  containers:
    - name: web
      image: nginx:latest
      securityContext: { privileged: true }
";

/// prod pinned to 1.4.2, dev on 1.5.0-rc.1, staging on the default (1.5).
const CONFIG: &str = "policies: [policies-1.5/]
paths: [deploy/]
environments:
  prod: { branches: [main], policies: [policies-1.4/], versions: { k8s-workload-security: '~1.4' } }
  staging: ['release/*']
  dev:
    branches: ['*']
    policies: [policies-1.5/]
";

/// Every environment on 1.5.0-rc.1: the staged rollout alone.
const STAGED: &str = "policies: [policies-1.5/]
paths: [deploy/]
environments:
  prod: [main]
  staging: ['release/*']
  dev: ['*']
";

fn repo() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "policies-1.4/k8s.yaml", P14);
    write(dir.path(), "policies-1.5/k8s.yaml", P15);
    write(dir.path(), "deploy/pod.yaml", POD);
    write(dir.path(), ".bylaw.yaml", CONFIG);
    write(dir.path(), "staged.yaml", STAGED);
    dir
}

/// `bylaw ARGS` in `dir` on `date` from branch `branch`.
fn bylaw(dir: &Path, args: &[&str], date: &str, branch: &str) -> Out {
    let mut c = command(dir, args);
    c.env("BYLAW_NOW", date).env("BYLAW_REF", branch).stdout(std::process::Stdio::piped());
    run_bounded(c, None, std::time::Duration::from_secs(300)).unwrap()
}

fn json(out: &Out) -> Value {
    serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}\n{}", out.stdout, out.stderr))
}

/// (rule, enforcement) of each finding of a JSON report.
fn findings(report: &Value) -> Vec<(String, String)> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["rule_id"].as_str().unwrap().to_owned(), f["enforcement"].as_str().unwrap().to_owned()))
        .collect()
}

fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
    items.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect()
}

#[test]
fn each_environment_checks_with_its_own_policy_version() {
    let dir = repo();
    let prod = bylaw(dir.path(), &["check", "--env", "prod", "--format", "json"], "2027-01-20", "x");
    assert_eq!(prod.code, 1, "{}", prod.stderr);
    let report = json(&prod);
    assert_eq!(report["environment"], "prod");
    assert_eq!(report["policies"][0]["version"], "1.4.2");
    assert_eq!(report["policies"][0]["source"], "policies-1.4/k8s.yaml");
    assert_eq!(findings(&report), pairs(&[("K8S-001", "blocking")]));

    let dev = bylaw(dir.path(), &["check", "--env", "dev", "--format", "json"], "2027-01-20", "x");
    assert_eq!(dev.code, 1, "{}", dev.stderr);
    let report = json(&dev);
    assert_eq!(report["environment"], "dev");
    assert_eq!(report["policies"][0]["version"], "1.5.0-rc.1");
    assert_eq!(findings(&report), pairs(&[("K8S-001", "blocking"), ("K8S-002", "blocking")]));
}

#[test]
fn branch_patterns_choose_the_environment_and_so_the_policies() {
    let dir = repo();
    for (branch, env, rules) in [
        ("main", "prod", "1 policy (1 rule) [env: prod]"),
        ("release/2.0", "staging", "1 policy (2 rules) [env: staging]"),
        ("feature/login", "dev", "1 policy (2 rules) [env: dev]"),
    ] {
        let out = bylaw(dir.path(), &["check"], "2027-01-20", branch);
        assert_eq!(out.code, 1, "{branch}: {}", out.stderr);
        assert!(
            out.stdout.contains(&format!("checked 1 file (1 document) against {rules}")),
            "{branch} → {env}:\n{}",
            out.stdout
        );
    }
    // --env wins over the branch
    let out = bylaw(dir.path(), &["check", "--env", "dev"], "2027-01-20", "main");
    assert!(out.stdout.contains("[env: dev]"), "{}", out.stdout);
}

#[test]
fn a_version_requirement_that_fails_stops_the_run_naming_everything() {
    let dir = repo();
    // prod's pin drifted: its source now holds 1.5.0-rc.1
    let drifted = CONFIG.replace("policies: [policies-1.4/]", "policies: [policies-1.5/]");
    write(dir.path(), ".bylaw.yaml", &drifted);
    let out = bylaw(dir.path(), &["check", "--env", "prod"], "2027-01-20", "x");
    assert_eq!(out.code, 2, "{}\n{}", out.stdout, out.stderr);
    assert!(out.stdout.is_empty(), "nothing evaluated: {}", out.stdout);
    let err = &out.stderr;
    assert!(
        err.contains("error[conflict]: policy `k8s-workload-security` (policies-1.5/k8s.yaml) is at version 1.5.0-rc.1, which does not satisfy `~1.4`, required in environment `prod` by .bylaw.yaml"),
        "{err}"
    );
    assert!(err.contains(" --> policies-1.5/k8s.yaml:5:12"), "located at the version: {err}");
    assert!(err.contains("error: 1 version requirement of environment `prod` not met; nothing was evaluated"), "{err}");
    // the same through a branch pattern
    let out = bylaw(dir.path(), &["check"], "2027-01-20", "main");
    assert_eq!(out.code, 2, "{}", out.stderr);
    // dev has no requirement
    assert_eq!(bylaw(dir.path(), &["check", "--env", "dev"], "2027-01-20", "x").code, 1);

    // a requirement on a policy that is not loaded at all
    write(dir.path(), ".bylaw.yaml", &CONFIG.replace("k8s-workload-security: '~1.4'", "k8s-workload-securty: '~1.4'"));
    let out = bylaw(dir.path(), &["check", "--env", "prod"], "2027-01-20", "x");
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.contains("environment `prod` requires `k8s-workload-securty` at `~1.4` (`environments.prod.versions` of .bylaw.yaml), but no loaded policy is named `k8s-workload-securty`"),
        "{}",
        out.stderr
    );
    // located at the key of the pin, as every other config error
    assert!(out.stderr.contains(" --> .bylaw.yaml:4:68"), "{}", out.stderr);
    assert!(
        out.stderr.contains("error: 1 version requirement of environment `prod` not met; nothing was evaluated"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("= hint: check the policy's name (`metadata.name`)"), "{}", out.stderr);
}

#[test]
fn a_policy_rolls_out_by_date_environment_by_environment() {
    let dir = repo();
    let check = |env: &str, date: &str| {
        let out = bylaw(dir.path(), &["check", "--config", "staged.yaml", "--env", env, "--format", "json"], date, "x");
        (out.code, findings(&json(&out)), json(&out))
    };
    // 2027-01-10: only dev blocks
    assert_eq!(check("dev", "2027-01-10").0, 1);
    let (code, found, report) = check("staging", "2027-01-10");
    assert_eq!(code, 0);
    assert_eq!(found, pairs(&[("K8S-001", "advisory"), ("K8S-002", "advisory")]));
    assert_eq!(
        report["findings"][0]["notes"][0],
        "advisory until 2027-01-15: becomes blocking on 2027-01-15 in environment `staging`"
    );
    // 2027-01-20: staging blocks, prod not yet
    let (code, found, _) = check("staging", "2027-01-20");
    assert_eq!((code, found), (1, pairs(&[("K8S-001", "blocking"), ("K8S-002", "blocking")])));
    let (code, found, report) = check("prod", "2027-01-20");
    assert_eq!((code, found), (0, pairs(&[("K8S-001", "advisory"), ("K8S-002", "advisory")])));
    assert_eq!(
        report["findings"][1]["notes"][0],
        "advisory until 2027-02-01: becomes blocking on 2027-02-01 in environment `prod`"
    );
    // 2027-02-01: prod blocks
    let (code, found, _) = check("prod", "2027-02-01");
    assert_eq!((code, found), (1, pairs(&[("K8S-001", "blocking"), ("K8S-002", "blocking")])));
}

#[test]
fn explain_effective_env_shows_what_is_enforced_and_why() {
    let dir = repo();
    let out =
        bylaw(dir.path(), &["explain", "--effective", "--env", "prod", "--config", "staged.yaml"], "2027-01-20", "x");
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        out.stdout,
        "Environment prod (as of 2027-01-20): policies-1.5/

POLICY                 VERSION     LIFECYCLE  SOURCE
k8s-workload-security  1.5.0-rc.1  enforced   policies-1.5/

k8s-workload-security 1.5.0-rc.1 (policies-1.5/k8s.yaml)
  K8S-001  advisory until 2027-02-01, then blocking   (rule blocking; env prod: enforce_from 2027-02-01)
  K8S-002  advisory until 2027-02-01, then blocking   (default blocking; env prod: enforce_from 2027-02-01)
"
    );
    // with the pinned config: prod runs 1.4.2, which has no rollout
    let out = bylaw(dir.path(), &["explain", "--effective", "--env", "prod"], "2027-01-20", "x");
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        out.stdout,
        "Environment prod (as of 2027-01-20): policies-1.4/

POLICY                 VERSION  LIFECYCLE  SOURCE
k8s-workload-security  1.4.2    enforced   policies-1.4/

k8s-workload-security 1.4.2 (policies-1.4/k8s.yaml)
  K8S-001  blocking   (default blocking)
"
    );
}

#[test]
fn explain_effective_as_json() {
    let dir = repo();
    let out = bylaw(
        dir.path(),
        &["explain", "--effective", "--env", "staging", "--config", "staged.yaml", "--format", "json"],
        "2027-01-10",
        "x",
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let doc = json(&out);
    assert_eq!(doc["environment"], "staging");
    assert_eq!(doc["date"], "2027-01-10");
    assert_eq!(doc["sources"], serde_json::json!(["policies-1.5/"]));
    let p = &doc["policies"][0];
    assert_eq!(p["name"], "k8s-workload-security");
    assert_eq!(p["version"], "1.5.0-rc.1");
    assert_eq!(p["lifecycle"], "enforced");
    assert_eq!(p["source"], "policies-1.5/");
    assert_eq!(p["file"], "policies-1.5/k8s.yaml");
    let r = &p["rules"][0];
    assert_eq!(r["id"], "K8S-001");
    assert_eq!(r["enforcement"], "advisory");
    assert_eq!(r["until"], "2027-01-15");
    assert_eq!(r["then"], "blocking");
    assert_eq!(r["effective"], "advisory until 2027-01-15, then blocking");
    assert_eq!(r["why"], serde_json::json!(["rule blocking", "env staging: enforce_from 2027-01-15"]));
    assert_eq!(r["evaluated"], true);
}

#[test]
fn explain_effective_without_env_shows_every_environment() {
    let dir = repo();
    let out = bylaw(dir.path(), &["explain", "--effective"], "2027-01-20", "x");
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        out.stdout,
        "Policies by environment (as of 2027-01-20):

ENVIRONMENT  POLICY                 VERSION     LIFECYCLE  SOURCE
(default)    k8s-workload-security  1.5.0-rc.1  enforced   policies-1.5/
prod         k8s-workload-security  1.4.2       enforced   policies-1.4/
staging      k8s-workload-security  1.5.0-rc.1  enforced   policies-1.5/
dev          k8s-workload-security  1.5.0-rc.1  enforced   policies-1.5/

Enforcement by environment (`bylaw explain --effective --env ENV` says why):

POLICY                 RULE     (default)  prod      staging   dev
k8s-workload-security  K8S-001  blocking   blocking  blocking  blocking
k8s-workload-security  K8S-002  blocking   -         blocking  blocking
"
    );
    // --all-envs is the same; JSON has one entry per environment
    let all = bylaw(dir.path(), &["explain", "--effective", "--all-envs"], "2027-01-20", "x");
    assert_eq!(all.stdout, out.stdout);
    let out = bylaw(
        dir.path(),
        &["explain", "--effective", "--format", "json", "--config", "staged.yaml"],
        "2027-01-20",
        "x",
    );
    let doc = json(&out);
    let envs: Vec<&Value> = doc["environments"].as_array().unwrap().iter().map(|e| &e["environment"]).collect();
    assert_eq!(envs, [&Value::Null, &Value::from("prod"), &Value::from("staging"), &Value::from("dev")]);
    assert_eq!(
        doc["environments"][1]["policies"][0]["rules"][1]["effective"],
        "advisory until 2027-02-01, then blocking"
    );
    // dev's `blocking` changes nothing: only steps that apply are listed
    assert_eq!(doc["environments"][3]["policies"][0]["rules"][1]["why"], serde_json::json!(["default blocking"]));
}

#[test]
fn bad_shapes_are_located_errors() {
    let dir = repo();
    write(dir.path(), ".bylaw.yaml", "policies: [policies-1.5/]\nenvironments:\n  prod: { branch: [main] }\n");
    let out = bylaw(dir.path(), &["check"], "2027-01-20", "main");
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("unknown key `branch` in `environments.prod`"), "{}", out.stderr);
    assert!(out.stderr.contains(" --> .bylaw.yaml:3:11"), "{}", out.stderr);
    assert!(out.stderr.contains("did you mean `branches`?"), "{}", out.stderr);

    write(dir.path(), ".bylaw.yaml", CONFIG);
    write(dir.path(), "policies-1.4/k8s.yaml", &P14.replace("version: 1.4.2", "version: v1.4.2"));
    let out = bylaw(dir.path(), &["check", "--env", "prod"], "2027-01-20", "x");
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("`metadata.version` `v1.4.2` does not match the required pattern"), "{}", out.stderr);
    assert!(out.stderr.contains(" --> policies-1.4/k8s.yaml:5:12"), "{}", out.stderr);
    assert!(out.stderr.contains("use a semantic version, e.g. `1.2.0`"), "{}", out.stderr);

    write(
        dir.path(),
        "policies-1.4/k8s.yaml",
        &P14.replace("spec:\n", "spec:\n  environments: { prod: { enforcment: blocking } }\n"),
    );
    let out = bylaw(dir.path(), &["check", "--env", "prod"], "2027-01-20", "x");
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("unknown key `enforcment` in `spec.environments.prod`"), "{}", out.stderr);
    assert!(out.stderr.contains("did you mean `enforcement`?"), "{}", out.stderr);
}

// ---- every environment's sources are validated and tested (issue 18 leftovers) ----

fn git(dir: &Path, args: &[&str]) -> String {
    let out = std::process::Command::new("git")
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

#[test]
fn validate_and_test_read_every_environments_sources() {
    let dir = repo();
    let d = dir.path();
    // both versions, each in its own set: no duplicate-name error
    let out = bylaw(d, &["validate"], "2027-01-20", "x");
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stderr.contains("ok: 2 policies, 3 rules"), "{}", out.stderr);
    // a prod-only policy with an error is found without naming it
    write(
        d,
        "policies-1.4/k8s.yaml",
        &P14.replace(
            "deny: \"item.securityContext.privileged == true\"",
            "deny: \"item.securityContext.privileged ==\"",
        ),
    );
    let out = bylaw(d, &["validate"], "2027-01-20", "x");
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("--> policies-1.4/k8s.yaml:"), "{}", out.stderr);
    write(d, "policies-1.4/k8s.yaml", P14);
    // an exception for a rule only one environment has is not unknown
    write(
        d,
        "exceptions.yaml",
        "apiVersion: bylaw/v1\nkind: ExceptionList\nexceptions:\n  - id: EXC-1\n    rules: [K8S-002]\n    targets: ['deploy/**']\n    reason: r\n    approved_by: [a]\n    expires: 2099-01-01\n",
    );
    write(d, ".bylaw.yaml", &format!("{CONFIG}exceptions: [exceptions.yaml]\n"));
    let out = bylaw(d, &["validate"], "2027-01-20", "x");
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(!out.stderr.contains("unknown rule"), "{}", out.stderr);

    // `bylaw test` runs the prod-only policy's tests too
    write(
        d,
        "policies-1.4/k8s.test.yaml",
        "apiVersion: bylaw/v1\nkind: PolicyTest\npolicy: k8s-workload-security\ncases:\n  - name: prod privileged\n    input: { inline: '{apiVersion: v1, kind: Pod, metadata: {name: p}, spec: {containers: [{name: c, image: x, securityContext: {privileged: true}}]}}' }\n    expect: [{ rule: K8S-002 }]\n",
    );
    let out = bylaw(d, &["test"], "2027-01-20", "x");
    assert_eq!(out.code, 1, "the 1.4 test expects a rule 1.4 does not have:\n{}\n{}", out.stdout, out.stderr);
    assert!(out.stdout.contains("FAIL policies-1.4/k8s.test.yaml:5 prod privileged"), "{}", out.stdout);
}

#[test]
fn explain_finds_a_rule_only_one_environment_has() {
    let dir = repo();
    let d = dir.path();
    // K8S-002 is only in 1.5, which only dev uses
    write(
        d,
        ".bylaw.yaml",
        "policies: [policies-1.4/]\nenvironments:\n  dev: { branches: ['*'], policies: [policies-1.5/] }\n",
    );
    let out = bylaw(d, &["explain", "K8S-002"], "2027-01-20", "x");
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.starts_with("K8S-002: Images are pinned\n"), "{}", out.stdout);
    let out = bylaw(d, &["explain", "K8S-003"], "2027-01-20", "x");
    assert_eq!(out.code, 2, "{}", out.stderr);
}

#[test]
fn validate_against_uses_the_repository_holding_the_policies() {
    let policies = tempfile::tempdir().unwrap();
    let p = policies.path();
    write(p, "k8s.yaml", P14);
    git(p, &["init", "-q", "-b", "main"]);
    git(p, &["add", "-A"]);
    git(p, &["commit", "-q", "-m", "1.4.2"]);
    // a rule removed, the version not raised
    write(p, "k8s.yaml", &P14.replace("version: 1.4.2", "version: 1.4.3"));
    let elsewhere = tempfile::tempdir().unwrap();
    let path = p.join("k8s.yaml");
    let out = bylaw(elsewhere.path(), &["validate", path.to_str().unwrap(), "--against", "main"], "2027-01-20", "x");
    assert_eq!(out.code, 0, "the policy's own repository answers:\n{}", out.stderr);
    // the same policy outside any git work tree: the error names it
    let loose = tempfile::tempdir().unwrap();
    write(loose.path(), "k8s.yaml", P14);
    let path = loose.path().join("k8s.yaml");
    let out = bylaw(elsewhere.path(), &["validate", path.to_str().unwrap(), "--against", "main"], "2027-01-20", "x");
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains(&format!("--against {} is not in a git work tree", path.display())), "{}", out.stderr);
}

#[test]
fn a_pin_on_an_unknown_policy_stops_a_ci_run_reading_the_base_policies() {
    let dir = repo();
    let d = dir.path();
    write(d, ".bylaw.yaml", &CONFIG.replace("k8s-workload-security: '~1.4'", "k8s-workload-securty: '~1.4'"));
    git(d, &["init", "-q", "-b", "main"]);
    git(d, &["add", "-A"]);
    git(d, &["commit", "-q", "-m", "base"]);
    git(d, &["update-ref", "refs/remotes/origin/main", "HEAD"]);
    let head = git(d, &["rev-parse", "HEAD"]);
    let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_bylaw"));
    c.args(["ci", "jenkins", "--policy-ref", "base", "--env", "prod"]).current_dir(d).env_clear();
    c.env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("BYLAW_NOW", "2027-01-20T12:00:00Z")
        .env("JENKINS_URL", "https://ci.acme.io/")
        .env("BUILD_URL", "https://ci.acme.io/job/shop/job/PR-7/3/")
        .env("CHANGE_ID", "7")
        .env("CHANGE_TARGET", "main")
        .env("CHANGE_BRANCH", "feature/x")
        .env("GIT_COMMIT", &head)
        .env("BRANCH_NAME", "PR-7");
    let out = c.output().unwrap();
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("policies read from the base commit"), "{stdout}\n{stderr}");
    assert_eq!(out.status.code(), Some(2), "{stdout}\n{stderr}");
    assert!(
        stderr.contains("environment `prod` requires `k8s-workload-securty` at `~1.4` (`environments.prod.versions` of .bylaw.yaml), but no loaded policy is named `k8s-workload-securty`"),
        "{stderr}"
    );
    assert!(stderr.contains(" --> .bylaw.yaml:4:68"), "{stderr}");
}
