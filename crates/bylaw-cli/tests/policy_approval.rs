//! End-to-end tests of the approval of policy changes by their owners
//! (issue 18, item 6) in `bylaw ci github` and `bylaw ci gitlab`, against
//! local mocks of the APIs. GitHub requests are held to GitHub's OpenAPI
//! description (`@octokit/openapi`), GitLab requests to the endpoints and
//! parameters of GitLab's REST docs (merge requests, merge request
//! approvals, group members, commit statuses). The repository is a real git
//! repository in a tempdir: a base commit with the policy `workloads`
//! (owners `@acme/security`, `dave`, `bob`) and a pull request commit that
//! changes it (version 1.1.0, and `mallory` added to its owners — which
//! must not make her an approver).

mod support;

use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::process::Command;
use support::github_api::spec;
use support::mock::{Call, Mock, Reply};
use support::tools::root;

const GH_TOKEN: &str = "ghs_bylawApproval0123456789SECRET";
const GL_TOKEN: &str = "glpat-bylawApproval0123456789SECRET";
const OLD: &str = "1111111111111111111111111111111111111111";

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
  owners: ["@acme/security", "dave", "bob"]
spec:
  match:
    kinds: [Deployment]
  rules:
    - id: W-001
      title: Containers must not run privileged
      severity: critical
      each: "$.spec.template.spec.containers[*]"
      deny: "item.securityContext.privileged == true"
      message: "container {{ item.name }} runs privileged"
"#;

const DEPLOYMENT: &str = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  template:\n    spec:\n      containers:\n        - name: web\n          image: ghcr.io/acme/web:1.0\n";

/// The work tree of a test's tempdir (the event payload and reports go beside it).
fn work(dir: &tempfile::TempDir) -> PathBuf {
    dir.path().join("repo")
}

/// A repository (`work(dir)`) with a base commit and a change on top;
/// returns (dir, base, head). `change` edits the work tree for the change's commit.
fn repo(change: impl FnOnce(&Path)) -> (tempfile::TempDir, String, String) {
    repo_with("", &[], change)
}

/// [`repo`] with `extra` appended to the base commit's `.bylaw.yaml` and
/// `files` (path, text) in it.
fn repo_with(extra: &str, files: &[(&str, &str)], change: impl FnOnce(&Path)) -> (tempfile::TempDir, String, String) {
    let dir = tempfile::tempdir().unwrap();
    let d = &work(&dir);
    std::fs::create_dir_all(d.join("policies")).unwrap();
    std::fs::create_dir_all(d.join("deploy")).unwrap();
    std::fs::write(
        d.join(".bylaw.yaml"),
        format!("apiVersion: bylaw/v1\nkind: Config\npolicies: [policies]\npaths: [deploy]\naudit_log: audit/log.jsonl\n{extra}"),
    )
    .unwrap();
    std::fs::write(d.join("policies/workloads.yaml"), POLICY_BASE).unwrap();
    std::fs::write(d.join("deploy/app.yaml"), DEPLOYMENT).unwrap();
    for (path, text) in files {
        if let Some(parent) = d.join(path).parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::fs::write(d.join(path), text).unwrap();
    }
    git(d, &["init", "-q", "-b", "main"]);
    git(d, &["add", "-A"]);
    git(d, &["commit", "-q", "-m", "base"]);
    let base = git(d, &["rev-parse", "HEAD"]);
    change(d);
    git(d, &["add", "-A"]);
    git(d, &["commit", "-q", "-m", "change"]);
    let head = git(d, &["rev-parse", "HEAD"]);
    (dir, base, head)
}

/// The change of most tests: the policy tightened, version 1.1.0, and its
/// author's accomplice added to the owners.
fn tighten(d: &Path) {
    let p = d.join("policies/workloads.yaml");
    let text = std::fs::read_to_string(&p)
        .unwrap()
        .replace("version: 1.0.0", "version: 1.1.0")
        .replace(r#""bob"]"#, r#""bob", "mallory"]"#)
        .replace("severity: critical\n", "severity: critical\n      enforcement: mandatory\n");
    std::fs::write(p, text).unwrap();
}

/// What `bylaw` documents it hashes for the audit entry.
fn diff_digest(d: &Path, base: &str, files: &[&str]) -> String {
    let mut args = vec![
        "diff",
        "--no-color",
        "--no-ext-diff",
        "--no-textconv",
        "--full-index",
        "--no-renames",
        "--diff-algorithm=myers",
        "--indent-heuristic",
        "-U3",
        "--src-prefix=a/",
        "--dst-prefix=b/",
        base,
        "HEAD",
        "--",
    ];
    args.extend(files);
    let out = Command::new("git").args(&args).current_dir(d).output().unwrap();
    assert!(out.status.success());
    assert!(!out.stdout.is_empty(), "the change has a diff");
    Sha256::digest(&out.stdout).iter().map(|b| format!("{b:02x}")).collect()
}

struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

fn audit(d: &Path) -> Vec<Value> {
    std::fs::read_to_string(d.join("audit/log.jsonl"))
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .filter(|v: &Value| v["event"] == "policy_change_approved")
        .collect()
}

// ---------------------------------------------------------------- GitHub

fn github(d: &Path, api: &str, event: &str, base: &str, head: &str, extra: &[&str]) -> Out {
    let mut payload: Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("tests/fixtures/github/events/pull_request.json")).unwrap(),
    )
    .unwrap();
    payload["pull_request"]["base"]["sha"] = json!(base);
    payload["pull_request"]["head"]["sha"] = json!(head);
    if event == "pull_request_review" {
        payload["action"] = json!("submitted");
        payload["review"] = json!({ "id": 80, "state": "approved", "commit_id": head, "user": { "login": "dave" } });
    }
    let event_path = d.parent().unwrap().join("event.json");
    std::fs::write(&event_path, payload.to_string()).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_bylaw"))
        .args(["ci", "github", "--sarif", "../bylaw.sarif", "--comment", "never"])
        .args(extra)
        .current_dir(d)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("BYLAW_NOW", "2026-06-01T12:00:00Z")
        .env("BYLAW_GITHUB_BACKOFF_MS", "10")
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_REPOSITORY", "acme/shop")
        .env("GITHUB_EVENT_NAME", event)
        .env("GITHUB_EVENT_PATH", &event_path)
        .env("GITHUB_SHA", head)
        .env("GITHUB_REF", "refs/pull/7/merge")
        .env("GITHUB_API_URL", api)
        .env("GITHUB_SERVER_URL", "https://github.com")
        .env("GITHUB_RUN_ID", "4242")
        .env("GITHUB_ACTOR", "bob")
        .env("GITHUB_WORKSPACE", d)
        .env("GITHUB_TOKEN", GH_TOKEN)
        .output()
        .unwrap();
    let o = Out {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8(out.stdout).unwrap(),
        stderr: String::from_utf8(out.stderr).unwrap(),
    };
    assert!(!o.stdout.contains(GH_TOKEN) && !o.stderr.contains(GH_TOKEN), "the token leaked");
    o
}

fn verify_github(calls: &[Call]) {
    for c in calls {
        assert_eq!(c.header("authorization"), format!("Bearer {GH_TOKEN}"), "{}", c.line());
        assert_eq!(c.header("accept"), "application/vnd.github+json", "{}", c.line());
        assert_eq!(c.header("x-github-api-version"), "2022-11-28", "{}", c.line());
        if let Err(e) = spec().check(c, "") {
            panic!("{e}");
        }
    }
}

fn example(method: &str, template: &str, status: u16) -> Value {
    spec().example(method, template, status)
}

fn pr_file(name: &str, status: &str, previous: Option<&str>) -> Value {
    let mut f = example("GET", "/repos/{owner}/{repo}/pulls/{pull_number}/files", 200)[0].clone();
    f["filename"] = json!(name);
    f["status"] = json!(status);
    f["patch"] = json!("@@ -1,1 +1,1 @@\n-a\n+b");
    if let Some(p) = previous {
        f["previous_filename"] = json!(p);
    }
    f
}

fn review(id: u64, login: &str, state: &str, commit: &str) -> Value {
    let mut r = example("GET", "/repos/{owner}/{repo}/pulls/{pull_number}/reviews", 200)[0].clone();
    r["id"] = json!(id);
    r["user"]["login"] = json!(login);
    r["user"]["id"] = json!(1000 + id);
    r["state"] = json!(state);
    r["commit_id"] = json!(commit);
    r
}

fn membership(state: &str) -> Reply {
    let mut m = example("GET", "/orgs/{org}/teams/{team_slug}/memberships/{username}", 200);
    m["state"] = json!(state);
    Reply::json(200, m)
}

fn not_found() -> Reply {
    Reply::json(
        404,
        json!({ "message": "Not Found", "documentation_url": "https://docs.github.com/rest", "status": "404" }),
    )
}

fn check_run_reply(call: &Call, _: &str) -> Reply {
    let mut r = example("POST", "/repos/{owner}/{repo}/check-runs", 201);
    r["name"] = call.json()["name"].clone();
    Reply::json(201, r)
}

/// The PR's files, comments and the two check runs (the verdict's, the gate's).
fn expect_pr(mock: &Mock, files: Vec<Value>) {
    mock.expect("GET", "/repos/acme/shop/pulls/7/files?per_page=100", 1, Reply::json(200, Value::Array(files)));
    mock.expect("GET", "/repos/acme/shop/issues/7/comments?per_page=100", 1, Reply::json(200, json!([])));
}

fn expect_reviews(mock: &Mock, reviews: Vec<Value>) {
    mock.expect("GET", "/repos/acme/shop/pulls/7/reviews?per_page=100", 1, Reply::json(200, Value::Array(reviews)));
}

fn check_run<'c>(calls: &'c [Call], name: &str) -> &'c Value {
    let runs: Vec<&Value> = calls
        .iter()
        .filter(|c| c.line() == "POST /repos/acme/shop/check-runs")
        .map(Call::json)
        .filter(|b| b["name"] == name)
        .collect();
    assert_eq!(runs.len(), 1, "one check run {name}");
    runs[0]
}

#[test]
fn github_without_an_approval_the_gate_fails_naming_the_owners() {
    let (dir, base, head) = repo(tighten);
    let d = &work(&dir);
    let mock = Mock::start();
    expect_pr(&mock, vec![pr_file("policies/workloads.yaml", "modified", None)]);
    expect_reviews(&mock, vec![review(1, "carol", "COMMENTED", &head)]);
    mock.expect_with("POST", "/repos/acme/shop/check-runs", 2, check_run_reply);
    let o = github(d, &mock.url, "pull_request", &base, &head, &[]);
    let calls = mock.finish();
    verify_github(&calls);
    assert_eq!(o.code, 1, "a policy change without approval fails the run\n{}\n{}", o.stdout, o.stderr);
    assert!(
        o.stderr.contains(
            "error: policy changes need an owner's approval on the head commit: workloads (@acme/security, dave, bob)"
        ),
        "{}",
        o.stderr
    );
    assert!(
        o.stdout.contains("bylaw: policy-change approval: workloads 1.0.0 → 1.1.0 (policies/workloads.yaml, modified): needs an approval by one of @acme/security, dave, bob (owners and configured approvers at the base revision); approved by: nobody yet"),
        "{}",
        o.stdout
    );
    // the findings' verdict passes; the gate is its own failing check run
    assert_eq!(check_run(&calls, "bylaw")["conclusion"], "success");
    let gate = check_run(&calls, "bylaw: policy approval");
    assert_eq!(gate["head_sha"], head);
    assert_eq!(gate["status"], "completed");
    assert_eq!(gate["conclusion"], "failure");
    assert_eq!(gate["output"]["title"], "1 of 1 changed policy awaiting an owner's approval");
    let summary = gate["output"]["summary"].as_str().unwrap();
    assert!(
        summary.contains("| `workloads` (`policies/workloads.yaml`) | 1.0.0 → 1.1.0 | modified | @\u{200B}acme/security, dave, bob | ⏳ nobody yet |"),
        "{summary}"
    );
    assert!(!summary.contains("mallory"), "the PR's own owners are not approvers: {summary}");
    assert!(audit(d).is_empty(), "nothing approved, nothing recorded");
}

#[test]
fn github_approvals_by_a_non_owner_the_author_or_of_an_older_commit_do_not_count() {
    // the PR also adds mallory to the owners and to the config's approvers
    let (dir, base, head) = repo(|d| {
        tighten(d);
        let c = d.join(".bylaw.yaml");
        let text = std::fs::read_to_string(&c).unwrap();
        std::fs::write(c, format!("{text}approvers: [mallory]\n")).unwrap();
    });
    let d = &work(&dir);
    let mock = Mock::start();
    expect_pr(&mock, vec![pr_file("policies/workloads.yaml", "modified", None)]);
    expect_reviews(
        &mock,
        vec![
            review(1, "mallory", "APPROVED", &head), // listed by the PR only
            review(2, "bob", "APPROVED", &head),     // the author, an owner at the base
            review(3, "dave", "APPROVED", OLD),      // an owner, on an older commit
        ],
    );
    // mallory is checked against the base owners' team, and is not in it
    mock.expect("GET", "/orgs/acme/teams/security/memberships/mallory", 1, not_found());
    mock.expect_with("POST", "/repos/acme/shop/check-runs", 2, check_run_reply);
    let o = github(d, &mock.url, "pull_request", &base, &head, &[]);
    let calls = mock.finish();
    verify_github(&calls);
    assert_eq!(o.code, 1, "{}\n{}", o.stdout, o.stderr);
    assert!(o.stdout.contains("not counted: @bob: the author's own approval does not count"), "{}", o.stdout);
    assert!(
        o.stdout.contains("not counted: @mallory for workloads: @mallory is not one of @acme/security, dave, bob; @mallory is not a member of @acme/security"),
        "{}",
        o.stdout
    );
    assert!(
        o.stdout.contains(&format!(
            "not counted: @dave approved commit {}, not the head commit {}: approve again after the latest push",
            &OLD[..12],
            &head[..12]
        )),
        "{}",
        o.stdout
    );
    let gate = check_run(&calls, "bylaw: policy approval");
    assert_eq!(gate["conclusion"], "failure");
    let summary = gate["output"]["summary"].as_str().unwrap();
    assert!(
        summary.contains("Approvals that do not count:") && summary.contains("@\u{200B}dave approved commit"),
        "{summary}"
    );
    assert!(audit(d).is_empty());
}

#[test]
fn github_an_owners_approval_on_the_head_passes_and_is_recorded_once() {
    let (dir, base, head) = repo(tighten);
    let d = &work(&dir);
    let run = |event: &str| {
        let mock = Mock::start();
        expect_pr(&mock, vec![pr_file("policies/workloads.yaml", "modified", None)]);
        expect_reviews(&mock, vec![review(1, "dave", "CHANGES_REQUESTED", OLD), review(2, "dave", "APPROVED", &head)]);
        mock.expect_with("POST", "/repos/acme/shop/check-runs", 2, check_run_reply);
        let o = github(d, &mock.url, event, &base, &head, &[]);
        let calls = mock.finish();
        verify_github(&calls);
        (o, calls)
    };
    // the review itself re-runs the workflow (`pull_request_review`)
    let (o, calls) = run("pull_request_review");
    assert_eq!(o.code, 0, "approved, and no finding\n{}\n{}", o.stdout, o.stderr);
    assert!(
        o.stdout.contains("policy-change approval: workloads 1.0.0 → 1.1.0 (policies/workloads.yaml, modified): approved by @dave (@dave is an owner of the policy)"),
        "{}",
        o.stdout
    );
    let gate = check_run(&calls, "bylaw: policy approval");
    assert_eq!(gate["conclusion"], "success");
    assert_eq!(gate["output"]["title"], "1 changed policy approved by their owners");
    assert!(gate["output"]["summary"].as_str().unwrap().contains("✅ @dave (@\u{200B}dave is an owner of the policy)"));
    let entries = audit(d);
    assert_eq!(entries.len(), 1);
    let e = &entries[0];
    assert_eq!(e["policy"], "workloads");
    assert_eq!(e["version"], "1.1.0");
    assert_eq!(e["base_version"], "1.0.0");
    assert_eq!(e["file"], "policies/workloads.yaml");
    assert_eq!(e["files"], json!(["policies/workloads.yaml"]));
    assert_eq!(e["approvers"], json!([{ "login": "dave", "via": "@dave is an owner of the policy" }]));
    assert_eq!(e["pr"], 7);
    assert_eq!(e["head_sha"], head);
    assert_eq!(e["base_sha"], base);
    assert_eq!(e["diff_sha256"], diff_digest(d, &base, &["policies/workloads.yaml"]));
    assert_eq!(e["change"], "modified");
    // a re-run appends nothing, and the log's chain is intact
    let (o, _) = run("pull_request");
    assert_eq!(o.code, 0);
    assert!(o.stdout.contains("policy-change approval: already recorded in the audit log"), "{}", o.stdout);
    assert_eq!(audit(d).len(), 1);
    let verify = Command::new(env!("CARGO_BIN_EXE_bylaw"))
        .args(["audit", "verify", "audit/log.jsonl"])
        .current_dir(d)
        .output()
        .unwrap();
    assert!(verify.status.success(), "{}", String::from_utf8_lossy(&verify.stderr));
}

#[test]
fn github_a_team_owner_is_verified_through_the_membership_api() {
    let (dir, base, head) = repo(tighten);
    let d = &work(&dir);
    let mock = Mock::start();
    expect_pr(&mock, vec![pr_file("policies/workloads.yaml", "modified", None)]);
    expect_reviews(&mock, vec![review(1, "erin", "APPROVED", &head)]);
    mock.expect("GET", "/orgs/acme/teams/security/memberships/erin", 1, membership("active"));
    mock.expect_with("POST", "/repos/acme/shop/check-runs", 2, check_run_reply);
    let o = github(d, &mock.url, "pull_request", &base, &head, &[]);
    let calls = mock.finish();
    verify_github(&calls);
    assert_eq!(o.code, 0, "{}\n{}", o.stdout, o.stderr);
    assert_eq!(check_run(&calls, "bylaw: policy approval")["conclusion"], "success");
    assert_eq!(
        audit(d)[0]["approvers"],
        json!([{ "login": "erin", "via": "@erin is a member of @acme/security, an owner of the policy" }])
    );
}

#[test]
fn github_a_pending_team_membership_does_not_approve_and_a_read_only_token_degrades() {
    let (dir, base, head) = repo(tighten);
    let d = &work(&dir);
    let mock = Mock::start();
    expect_pr(&mock, vec![pr_file("policies/workloads.yaml", "modified", None)]);
    expect_reviews(&mock, vec![review(1, "erin", "APPROVED", &head)]);
    mock.expect("GET", "/orgs/acme/teams/security/memberships/erin", 1, membership("pending"));
    let forbidden = json!({ "message": "Resource not accessible by integration", "documentation_url": "https://docs.github.com/rest/checks/runs#create-a-check-run", "status": "403" });
    mock.expect("POST", "/repos/acme/shop/check-runs", 2, Reply::json(403, forbidden));
    let o = github(d, &mock.url, "pull_request", &base, &head, &[]);
    let calls = mock.finish();
    verify_github(&calls);
    assert_eq!(o.code, 1, "still failing, without a check run: {}", o.stderr);
    let warnings: Vec<&str> = o.stdout.lines().filter(|l| l.starts_with("::warning title=bylaw::")).collect();
    assert_eq!(warnings.len(), 1, "one warning for the read-only token: {warnings:?}");
    assert!(o.stdout.contains("@erin's membership of @acme/security is not active"), "{}", o.stdout);
    assert!(o.stderr.contains("error: policy changes need an owner's approval"), "{}", o.stderr);
}

#[test]
fn github_renaming_a_policy_needs_its_base_owners_and_the_new_one_its_declared_owners() {
    let (dir, base, head) = repo(|d| {
        let text = std::fs::read_to_string(d.join("policies/workloads.yaml"))
            .unwrap()
            .replace("name: workloads", "name: pods");
        std::fs::remove_file(d.join("policies/workloads.yaml")).unwrap();
        std::fs::write(d.join("policies/pods.yaml"), text).unwrap();
    });
    let d = &work(&dir);
    let mock = Mock::start();
    expect_pr(&mock, vec![pr_file("policies/pods.yaml", "renamed", Some("policies/workloads.yaml"))]);
    expect_reviews(&mock, vec![]);
    mock.expect_with("POST", "/repos/acme/shop/check-runs", 2, check_run_reply);
    let o = github(d, &mock.url, "pull_request", &base, &head, &[]);
    let calls = mock.finish();
    verify_github(&calls);
    assert_eq!(o.code, 1, "{}\n{}", o.stdout, o.stderr);
    assert!(
        o.stdout.contains("policy-change approval: workloads 1.0.0 (policies/workloads.yaml, removed): needs an approval by one of @acme/security, dave, bob (owners and configured approvers at the base revision)"),
        "{}",
        o.stdout
    );
    assert!(
        o.stdout.contains("policy-change approval: pods 1.0.0 (policies/pods.yaml, added): needs an approval by one of @acme/security, dave, bob (owners the new policy declares: no approvers are configured)"),
        "{}",
        o.stdout
    );
    assert_eq!(
        check_run(&calls, "bylaw: policy approval")["output"]["title"],
        "2 of 2 changed policies awaiting an owner's approval"
    );
}

#[test]
fn github_a_pr_that_changes_no_policy_asks_for_no_review() {
    let (dir, base, head) = repo(|d| {
        std::fs::write(d.join("deploy/app.yaml"), DEPLOYMENT.replace("1.0", "1.1")).unwrap();
    });
    let d = &work(&dir);
    let mock = Mock::start();
    expect_pr(&mock, vec![pr_file("deploy/app.yaml", "modified", None)]);
    mock.expect_with("POST", "/repos/acme/shop/check-runs", 1, check_run_reply);
    let o = github(d, &mock.url, "pull_request", &base, &head, &[]);
    let calls = mock.finish();
    verify_github(&calls);
    assert_eq!(o.code, 0, "{}\n{}", o.stdout, o.stderr);
    assert!(!calls.iter().any(|c| c.path.contains("reviews") || c.path.contains("memberships")), "{calls:?}");
    assert!(!o.stdout.contains("policy-change approval"), "{}", o.stdout);
}

// ---------------------------------------------------------------- GitLab

const PROJECT: &str = "/api/v4/projects/4242";

fn gitlab(d: &Path, mock: &str, base: &str, head: &str) -> Out {
    gitlab_with(d, mock, base, head, &[])
}

/// [`gitlab`] with `extra` arguments.
fn gitlab_with(d: &Path, mock: &str, base: &str, head: &str, extra: &[&str]) -> Out {
    let out = Command::new(env!("CARGO_BIN_EXE_bylaw"))
        .args(["ci", "gitlab", "--sarif", "../bylaw.sarif", "--junit", "../junit.xml", "--codequality", "../cq.json"])
        .args(["--note", "never"])
        .args(extra)
        .current_dir(d)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("BYLAW_NOW", "2026-06-01T12:00:00Z")
        .env("BYLAW_GITLAB_BACKOFF_MS", "10")
        .env("GITLAB_CI", "true")
        .env("CI", "true")
        .env("CI_PROJECT_ID", "4242")
        .env("CI_PROJECT_PATH", "acme/shop")
        .env("CI_PROJECT_URL", "https://gitlab.example.com/acme/shop")
        .env("CI_API_V4_URL", format!("{mock}/api/v4"))
        .env("CI_COMMIT_SHA", head)
        .env("CI_PIPELINE_ID", "1077")
        .env("CI_JOB_URL", "https://gitlab.example.com/acme/shop/-/jobs/5001")
        .env("GITLAB_USER_LOGIN", "bob")
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
    let o = Out {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8(out.stdout).unwrap(),
        stderr: String::from_utf8(out.stderr).unwrap(),
    };
    assert!(!o.stdout.contains(GL_TOKEN) && !o.stderr.contains(GL_TOKEN), "the token leaked");
    o
}

/// GitLab REST API v4 endpoints these runs use (method, path pattern,
/// query parameters, body fields), from its docs.
const GITLAB_ENDPOINTS: &[(&str, &str, &[&str], &[&str])] = &[
    ("GET", "/user", &[], &[]),
    ("GET", "/projects/:id/merge_requests/:iid/diffs", &["page", "per_page", "unidiff"], &[]),
    ("GET", "/projects/:id/merge_requests/:iid/notes", &["page", "per_page", "sort", "order_by"], &[]),
    // "Merge requests": get single MR
    (
        "GET",
        "/projects/:id/merge_requests/:iid",
        &["render_html", "include_diverged_commits_count", "include_rebase_in_progress"],
        &[],
    ),
    // "Merge request approvals": get the approval state of a merge request
    ("GET", "/projects/:id/merge_requests/:iid/approvals", &[], &[]),
    ("GET", "/groups/:id/members/all/:user_id", &[], &[]),
    (
        "POST",
        "/projects/:id/statuses/:sha",
        &[],
        &["state", "ref", "name", "context", "target_url", "description", "coverage", "pipeline_id"],
    ),
];

fn verify_gitlab(calls: &[Call]) {
    for c in calls {
        assert_eq!(c.header("private-token"), GL_TOKEN, "{}", c.line());
        let path = c.path.strip_prefix("/api/v4").unwrap();
        let (_, _, query, body) = GITLAB_ENDPOINTS
            .iter()
            .find(|(m, p, _, _)| {
                let (p, a): (Vec<&str>, Vec<&str>) = (p.split('/').collect(), path.split('/').collect());
                *m == c.method
                    && p.len() == a.len()
                    && p.iter().zip(&a).all(|(p, a)| p.starts_with(':') && !a.is_empty() || p == a)
            })
            .unwrap_or_else(|| panic!("{}: not an endpoint of GitLab's REST API v4 that bylaw uses", c.line()));
        for k in c.query.keys() {
            assert!(query.contains(&k.as_str()), "{}: no query parameter {k}", c.line());
        }
        if let Some(b) = &c.body {
            for k in b.as_object().unwrap().keys() {
                assert!(body.contains(&k.as_str()), "{}: no parameter {k}", c.line());
            }
        }
    }
}

fn gl_user(id: u64, username: &str) -> Value {
    json!({
        "id": id, "username": username, "name": username, "state": "active", "locked": false,
        "avatar_url": format!("https://gitlab.example.com/uploads/-/system/user/avatar/{id}/avatar.png"),
        "web_url": format!("https://gitlab.example.com/{username}"),
    })
}

fn gl_diff(path: &str) -> Value {
    json!({
        "old_path": path, "new_path": path, "a_mode": "100644", "b_mode": "100644",
        "diff": "@@ -1,1 +1,1 @@\n-a\n+b\n", "new_file": false, "renamed_file": false, "deleted_file": false, "generated_file": false,
    })
}

/// `GET …/merge_requests/7` as the docs show it (the fields bylaw reads: `author`, `sha`).
fn merge_request(head: &str) -> Value {
    json!({
        "id": 88, "iid": 7, "project_id": 4242, "title": "Tighten workloads", "description": "", "state": "opened",
        "created_at": "2026-06-01T09:00:00.000Z", "updated_at": "2026-06-01T10:00:00.000Z",
        "target_branch": "main", "source_branch": "feature/tighten", "author": gl_user(5, "bob"),
        "source_project_id": 4242, "target_project_id": 4242, "draft": false, "merge_status": "can_be_merged",
        "detailed_merge_status": "mergeable", "sha": head, "web_url": "https://gitlab.example.com/acme/shop/-/merge_requests/7",
        "diff_refs": { "base_sha": "x", "head_sha": head, "start_sha": "x" },
    })
}

/// `GET …/merge_requests/7/approvals` as the docs show it.
fn approvals(users: &[(u64, &str)]) -> Value {
    json!({
        "id": 88, "iid": 7, "project_id": 4242, "title": "Tighten workloads", "state": "opened",
        "merge_status": "can_be_merged", "approved": !users.is_empty(), "approvals_required": 0, "approvals_left": 0,
        "require_password_to_approve": false,
        "approved_by": users.iter().map(|(id, u)| json!({ "user": gl_user(*id, u), "approved_at": "2026-06-01T11:00:00.000Z" })).collect::<Vec<_>>(),
        "suggested_approvers": [], "approvers": [], "approver_groups": [], "user_has_approved": false,
        "user_can_approve": true, "approval_rules_left": [], "has_approval_rules": false,
        "merge_request_approvers_available": false, "multiple_approval_rules_available": false,
    })
}

fn expect_mr(mock: &Mock, files: Vec<Value>) {
    mock.expect("GET", "/api/v4/user", 1, Reply::json(200, gl_user(999, "project_4242_bot_5e1f0a")));
    mock.expect(
        "GET",
        &format!("{PROJECT}/merge_requests/7/diffs?per_page=100"),
        1,
        Reply::json(200, Value::Array(files)),
    );
    mock.expect(
        "GET",
        &format!("{PROJECT}/merge_requests/7/notes?order_by=created_at&per_page=100&sort=asc"),
        1,
        Reply::json(200, json!([])),
    );
}

fn status_reply(call: &Call, _: &str) -> Reply {
    let b = call.json();
    Reply::json(
        201,
        json!({ "id": 93, "sha": "x", "ref": "feature/tighten", "status": b["state"], "name": b["name"], "target_url": b["target_url"], "description": b["description"], "created_at": "2026-06-01T12:00:00.000Z", "started_at": null, "finished_at": null, "allow_failure": false, "coverage": null, "pipeline_id": 1077, "author": gl_user(999, "project_4242_bot_5e1f0a") }),
    )
}

fn status<'c>(calls: &'c [Call], name: &str) -> &'c Value {
    let s: Vec<&Value> = calls
        .iter()
        .filter(|c| c.method == "POST" && c.path.contains("/statuses/"))
        .map(Call::json)
        .filter(|b| b["name"] == name)
        .collect();
    assert_eq!(s.len(), 1, "one status {name}");
    s[0]
}

/// Runs a GitLab pipeline of the tightened policy with `approved_by`, `mr_head`
/// as the MR's current head, and `setup` for further routes.
fn gitlab_case(
    approved_by: &[(u64, &str)],
    mr_head: Option<&str>,
    setup: impl FnOnce(&Mock),
) -> (tempfile::TempDir, String, String, Out, Vec<Call>) {
    let (dir, base, head) = repo(tighten);
    let mock = Mock::start();
    expect_mr(&mock, vec![gl_diff("policies/workloads.yaml")]);
    mock.expect(
        "GET",
        &format!("{PROJECT}/merge_requests/7"),
        1,
        Reply::json(200, merge_request(mr_head.unwrap_or(&head))),
    );
    mock.expect("GET", &format!("{PROJECT}/merge_requests/7/approvals"), 1, Reply::json(200, approvals(approved_by)));
    mock.expect_with("POST", &format!("{PROJECT}/statuses/{head}"), 2, status_reply);
    setup(&mock);
    let o = gitlab(&work(&dir), &mock.url, &base, &head);
    let calls = mock.finish();
    verify_gitlab(&calls);
    (dir, base, head, o, calls)
}

#[test]
fn gitlab_without_an_owners_approval_the_status_fails() {
    // the author's approval and a non-owner's (checked against the group) do not count
    let (dir, _, _, o, calls) = gitlab_case(&[(5, "bob"), (31, "mallory")], None, |m| {
        m.expect(
            "GET",
            "/api/v4/groups/acme%2Fsecurity/members/all/31",
            1,
            Reply::json(404, json!({ "message": "404 Not found" })),
        );
    });
    assert_eq!(o.code, 1, "{}\n{}", o.stdout, o.stderr);
    assert_eq!(status(&calls, "bylaw")["state"], "success");
    let gate = status(&calls, "bylaw/policy-approval");
    assert_eq!(gate["state"], "failed");
    assert_eq!(gate["description"], "1 of 1 changed policy awaiting an owner's approval");
    assert_eq!(gate["pipeline_id"], 1077);
    assert!(o.stdout.contains("not counted: @bob: the author's own approval does not count"), "{}", o.stdout);
    assert!(o.stdout.contains("@mallory is not a member of @acme/security"), "{}", o.stdout);
    assert!(o.stderr.contains("workloads (@acme/security, dave, bob)"), "{}", o.stderr);
    assert!(audit(&work(&dir)).is_empty());
}

#[test]
fn gitlab_an_approval_while_the_mr_head_is_another_commit_does_not_count() {
    let (_dir, _, head, o, calls) = gitlab_case(&[(7, "dave")], Some(OLD), |_| {});
    assert_eq!(o.code, 1);
    assert_eq!(status(&calls, "bylaw/policy-approval")["state"], "failed");
    assert!(
        o.stdout.contains(&format!(
            "@dave approved the merge request at {}, not this pipeline's commit {}",
            &OLD[..12],
            &head[..12]
        )),
        "{}",
        o.stdout
    );
}

#[test]
fn gitlab_an_owner_or_a_member_of_an_owner_group_approves() {
    let (dir, base, head, o, calls) = gitlab_case(&[(7, "dave")], None, |_| {});
    assert_eq!(o.code, 0, "{}\n{}", o.stdout, o.stderr);
    assert_eq!(status(&calls, "bylaw/policy-approval")["state"], "success");
    let e = &audit(&work(&dir))[0];
    assert_eq!(e["pr"], 7);
    assert_eq!(e["head_sha"], head);
    assert_eq!(e["diff_sha256"], diff_digest(&work(&dir), &base, &["policies/workloads.yaml"]));
    let (dir, _, _, o, calls) = gitlab_case(&[(12, "erin")], None, |m| {
        m.expect(
            "GET",
            "/api/v4/groups/acme%2Fsecurity/members/all/12",
            1,
            Reply::json(200, json!({ "id": 12, "username": "erin", "name": "Erin", "state": "active", "access_level": 30, "created_at": "2026-01-01T00:00:00.000Z", "expires_at": null })),
        );
    });
    assert_eq!(o.code, 0, "{}\n{}", o.stdout, o.stderr);
    assert_eq!(status(&calls, "bylaw/policy-approval")["state"], "success");
    assert_eq!(
        audit(&work(&dir))[0]["approvers"],
        json!([{ "login": "erin", "via": "@erin is a member of @acme/security, an owner of the policy" }])
    );
}

#[test]
fn gitlab_an_mr_that_changes_no_policy_asks_for_no_approvals() {
    let (dir, base, head) =
        repo(|d| std::fs::write(d.join("deploy/app.yaml"), DEPLOYMENT.replace("1.0", "1.1")).unwrap());
    let mock = Mock::start();
    expect_mr(&mock, vec![gl_diff("deploy/app.yaml")]);
    mock.expect_with("POST", &format!("{PROJECT}/statuses/{head}"), 1, status_reply);
    let o = gitlab(&work(&dir), &mock.url, &base, &head);
    let calls = mock.finish();
    verify_gitlab(&calls);
    assert_eq!(o.code, 0, "{}\n{}", o.stdout, o.stderr);
    assert!(
        !calls.iter().any(|c| c.path.ends_with("/approvals") || c.path.ends_with("/merge_requests/7")),
        "{calls:?}"
    );
}

// ------------------------------------------------ config changes (issue 18 leftovers)

/// Appends `text` to the work tree's `.bylaw.yaml`.
fn append_config(d: &Path, text: &str) {
    let c = d.join(".bylaw.yaml");
    let old = std::fs::read_to_string(&c).unwrap();
    std::fs::write(c, format!("{old}{text}")).unwrap();
}

const APPROVERS: &str = "approvers: [carol]\n";

#[test]
fn github_a_config_that_weakens_enforcement_needs_the_base_approvers() {
    // the PR turns the gate off and names its own approver
    let (dir, base, head) = repo_with(APPROVERS, &[], |d| {
        let c = d.join(".bylaw.yaml");
        let text = std::fs::read_to_string(&c).unwrap().replace("approvers: [carol]", "approvers: [carol, mallory]");
        std::fs::write(c, format!("{text}fail_on: never\n")).unwrap();
    });
    let d = &work(&dir);
    let mock = Mock::start();
    expect_pr(&mock, vec![pr_file(".bylaw.yaml", "modified", None)]);
    expect_reviews(&mock, vec![review(1, "mallory", "APPROVED", &head)]);
    mock.expect_with("POST", "/repos/acme/shop/check-runs", 2, check_run_reply);
    let o = github(d, &mock.url, "pull_request", &base, &head, &[]);
    let calls = mock.finish();
    verify_github(&calls);
    assert_eq!(o.code, 1, "fail_on: never does not let the PR pass its own gate\n{}\n{}", o.stdout, o.stderr);
    assert!(
        o.stdout.contains("bylaw: policy-change approval: config .bylaw.yaml (modified: `fail_on` lowered from blocking to never; `approvers` changed (carol → carol, mallory)): needs an approval by one of carol (configured approvers at the base revision); approved by: nobody yet"),
        "{}",
        o.stdout
    );
    assert!(o.stdout.contains("not counted: @mallory for .bylaw.yaml: @mallory is not one of carol"), "{}", o.stdout);
    assert!(
        o.stderr.contains("error: policy changes need an owner's approval on the head commit: .bylaw.yaml (carol)"),
        "{}",
        o.stderr
    );
    let gate = check_run(&calls, "bylaw: policy approval");
    assert_eq!(gate["conclusion"], "failure");
    let summary = gate["output"]["summary"].as_str().unwrap();
    assert!(
        summary.contains(
            "`.bylaw.yaml` changes what judges this repository:\n- `fail_on` lowered from blocking to never\n"
        ),
        "{summary}"
    );
    assert!(audit(d).is_empty());

    // carol, an approver at the base, approves: it passes and is recorded
    let mock = Mock::start();
    expect_pr(&mock, vec![pr_file(".bylaw.yaml", "modified", None)]);
    expect_reviews(&mock, vec![review(2, "carol", "APPROVED", &head)]);
    mock.expect_with("POST", "/repos/acme/shop/check-runs", 2, check_run_reply);
    let o = github(d, &mock.url, "pull_request", &base, &head, &[]);
    let calls = mock.finish();
    verify_github(&calls);
    assert_eq!(o.code, 0, "{}\n{}", o.stdout, o.stderr);
    assert_eq!(check_run(&calls, "bylaw: policy approval")["conclusion"], "success");
    let e = &audit(d)[0];
    assert_eq!(e["policy"], ".bylaw.yaml");
    assert_eq!(e["files"], json!([".bylaw.yaml"]));
    assert_eq!(e["reasons"][0], "`fail_on` lowered from blocking to never");
    assert_eq!(e["approvers"], json!([{ "login": "carol", "via": "@carol is a configured approver" }]));
    assert_eq!(e["diff_sha256"], diff_digest(d, &base, &[".bylaw.yaml"]));
}

#[test]
fn github_a_config_change_that_only_tightens_asks_for_no_review() {
    let (dir, base, head) = repo_with(APPROVERS, &[], |d| append_config(d, "fail_on: advisory\n"));
    let d = &work(&dir);
    let mock = Mock::start();
    expect_pr(&mock, vec![pr_file(".bylaw.yaml", "modified", None)]);
    mock.expect_with("POST", "/repos/acme/shop/check-runs", 1, check_run_reply);
    let o = github(d, &mock.url, "pull_request", &base, &head, &[]);
    let calls = mock.finish();
    verify_github(&calls);
    assert_eq!(o.code, 0, "{}\n{}", o.stdout, o.stderr);
    assert!(!calls.iter().any(|c| c.path.contains("reviews")), "{calls:?}");
    assert!(!o.stdout.contains("policy-change approval"), "{}", o.stdout);
}

#[test]
fn github_an_edited_exception_list_and_a_moved_version_pin_need_approval() {
    let exceptions = "apiVersion: bylaw/v1\nkind: ExceptionList\nexceptions: []\n";
    let base_cfg = format!("{APPROVERS}exceptions: [exceptions.yaml]\nenvironments:\n  prod: {{ branches: [main], versions: {{ workloads: '~1.0' }} }}\n");
    let (dir, base, head) = repo_with(&base_cfg, &[("exceptions.yaml", exceptions)], |d| {
        std::fs::write(
            d.join("exceptions.yaml"),
            "apiVersion: bylaw/v1\nkind: ExceptionList\nexceptions:\n  - id: EXC-1\n    rules: [W-001]\n    targets: ['deploy/**']\n    reason: mine\n    approved_by: [mallory]\n    expires: 2099-01-01\n",
        )
        .unwrap();
        let c = d.join(".bylaw.yaml");
        let text = std::fs::read_to_string(&c).unwrap().replace("workloads: '~1.0'", "workloads: '>=0.1'");
        std::fs::write(c, text).unwrap();
    });
    let d = &work(&dir);
    let mock = Mock::start();
    expect_pr(&mock, vec![pr_file(".bylaw.yaml", "modified", None), pr_file("exceptions.yaml", "modified", None)]);
    // dave owns the pinned policy at the base: he may approve the pin
    expect_reviews(&mock, vec![review(1, "dave", "APPROVED", &head)]);
    mock.expect_with("POST", "/repos/acme/shop/check-runs", 2, check_run_reply);
    let o = github(d, &mock.url, "pull_request", &base, &head, &[]);
    let calls = mock.finish();
    verify_github(&calls);
    assert!(
        o.stdout.contains("config .bylaw.yaml (modified: version pin of `workloads` in environment `prod` changed from `~1.0` to `>=0.1`; exception list `exceptions.yaml` changed): approved by @dave (@dave is an owner of a policy the change is about)"),
        "{}\n{}",
        o.stdout,
        o.stderr
    );
    assert_eq!(check_run(&calls, "bylaw: policy approval")["conclusion"], "success");
    let e = &audit(d)[0];
    assert_eq!(e["files"], json!([".bylaw.yaml", "exceptions.yaml"]));
    assert_eq!(e["required"], json!(["carol", "@acme/security", "dave", "bob"]));
}

#[test]
fn gitlab_a_config_that_weakens_enforcement_keeps_the_status_failed() {
    let (dir, base, head) = repo_with(APPROVERS, &[], |d| {
        let c = d.join(".bylaw.yaml");
        let text = std::fs::read_to_string(&c).unwrap().replace("policies: [policies]", "policies: []");
        std::fs::write(c, format!("{text}parse_errors: audit\n")).unwrap();
    });
    let mock = Mock::start();
    expect_mr(&mock, vec![gl_diff(".bylaw.yaml")]);
    mock.expect("GET", &format!("{PROJECT}/merge_requests/7"), 1, Reply::json(200, merge_request(&head)));
    mock.expect(
        "GET",
        &format!("{PROJECT}/merge_requests/7/approvals"),
        1,
        Reply::json(200, approvals(&[(31, "mallory")])),
    );
    mock.expect_with("POST", &format!("{PROJECT}/statuses/{head}"), 2, status_reply);
    let d = &work(&dir);
    // the run itself still has its policy: `-p`
    let o = gitlab_with(d, &mock.url, &base, &head, &["-p", "policies"]);
    let calls = mock.finish();
    verify_gitlab(&calls);
    assert_eq!(o.code, 1, "{}\n{}", o.stdout, o.stderr);
    let gate = status(&calls, "bylaw/policy-approval");
    assert_eq!(gate["state"], "failed");
    assert!(
        o.stdout.contains("config .bylaw.yaml (modified: `parse_errors` lowered from blocking to audit; policy source `policies` removed from `policies`): needs an approval by one of carol"),
        "{}",
        o.stdout
    );
    assert!(o.stdout.contains("not counted: @mallory for .bylaw.yaml: @mallory is not one of carol"), "{}", o.stdout);
}

#[test]
fn github_a_changed_lock_file_needs_the_base_approvers() {
    // the PR pins the sources anew: what a bundle or registry source may hold
    let (dir, base, head) = repo_with(APPROVERS, &[], |d| {
        let out = Command::new(env!("CARGO_BIN_EXE_bylaw")).arg("lock").current_dir(d).env_clear().output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    });
    let d = &work(&dir);
    let mock = Mock::start();
    expect_pr(&mock, vec![pr_file("bylaw.lock", "added", None)]);
    expect_reviews(&mock, vec![]);
    mock.expect_with("POST", "/repos/acme/shop/check-runs", 2, check_run_reply);
    let o = github(d, &mock.url, "pull_request", &base, &head, &[]);
    let calls = mock.finish();
    verify_github(&calls);
    assert_eq!(o.code, 1, "{}\n{}", o.stdout, o.stderr);
    assert!(
        o.stdout.contains("config .bylaw.yaml (modified: `bylaw.lock` changed: the pinned policy sources (digests, versions) are different): needs an approval by one of carol"),
        "{}",
        o.stdout
    );
    assert_eq!(check_run(&calls, "bylaw: policy approval")["conclusion"], "failure");
}

#[test]
fn gitlab_an_exception_for_a_rule_is_approved_by_that_policys_base_owners() {
    let exceptions = "apiVersion: bylaw/v1\nkind: ExceptionList\nexceptions: []\n";
    let (dir, base, head) = repo_with(
        &format!("{APPROVERS}exceptions: [exceptions.yaml]\n"),
        &[("exceptions.yaml", exceptions)],
        |d| {
            std::fs::write(
                d.join("exceptions.yaml"),
                "apiVersion: bylaw/v1\nkind: ExceptionList\nexceptions:\n  - id: EXC-1\n    rules: [W-001]\n    targets: ['deploy/**']\n    reason: vendor agent\n    approved_by: [dave]\n    expires: 2099-01-01\n",
            )
            .unwrap();
        },
    );
    let d = &work(&dir);
    let run = |approved: &[(u64, &str)]| {
        let mock = Mock::start();
        expect_mr(&mock, vec![gl_diff("exceptions.yaml")]);
        mock.expect("GET", &format!("{PROJECT}/merge_requests/7"), 1, Reply::json(200, merge_request(&head)));
        mock.expect("GET", &format!("{PROJECT}/merge_requests/7/approvals"), 1, Reply::json(200, approvals(approved)));
        mock.expect_with("POST", &format!("{PROJECT}/statuses/{head}"), 2, status_reply);
        let o = gitlab(d, &mock.url, &base, &head);
        let calls = mock.finish();
        verify_gitlab(&calls);
        (o, calls)
    };
    let (o, calls) = run(&[]);
    assert_eq!(o.code, 1, "{}\n{}", o.stdout, o.stderr);
    assert_eq!(status(&calls, "bylaw/policy-approval")["state"], "failed");
    assert!(
        o.stdout.contains("config .bylaw.yaml (modified: exception list `exceptions.yaml` changed): needs an approval by one of carol, @acme/security, dave, bob (configured approvers and the owners of the policies concerned at the base revision)"),
        "{}",
        o.stdout
    );
    // dave owns `workloads`, whose rule W-001 the exception names
    let (o, calls) = run(&[(7, "dave")]);
    assert_eq!(o.code, 0, "{}\n{}", o.stdout, o.stderr);
    assert_eq!(status(&calls, "bylaw/policy-approval")["state"], "success");
    let e = &audit(d)[0];
    assert_eq!(e["files"], json!(["exceptions.yaml"]));
    assert_eq!(e["reasons"], json!(["exception list `exceptions.yaml` changed"]));
    assert_eq!(e["diff_sha256"], diff_digest(d, &base, &["exceptions.yaml"]));
}

#[test]
fn github_a_policy_only_one_environment_uses_is_gated_too() {
    let prod = POLICY_BASE
        .replace("name: workloads", "name: prod-workloads")
        .replace(r#"owners: ["@acme/security", "dave", "bob"]"#, r#"owners: ["frank"]"#);
    // prod reads its own directory; dev a registry (not the repository's files)
    let envs = "environments:\n  prod: { branches: [main], policies: [prod-policies] }\n  dev: { branches: ['feature/*'], policies: ['oci://registry.invalid/acme/policies:1.0.0'] }\n";
    let (dir, base, head) = repo_with(envs, &[("prod-policies/workloads.yaml", &prod)], |d| {
        let p = d.join("prod-policies/workloads.yaml");
        let text = std::fs::read_to_string(&p).unwrap().replace("version: 1.0.0", "version: 1.0.1");
        std::fs::write(p, text).unwrap();
    });
    let d = &work(&dir);
    let mock = Mock::start();
    expect_pr(&mock, vec![pr_file("prod-policies/workloads.yaml", "modified", None)]);
    expect_reviews(&mock, vec![]);
    mock.expect_with("POST", "/repos/acme/shop/check-runs", 2, check_run_reply);
    let o = github(d, &mock.url, "pull_request", &base, &head, &[]);
    let calls = mock.finish();
    verify_github(&calls);
    assert_eq!(o.code, 1, "{}\n{}", o.stdout, o.stderr);
    assert!(
        o.stdout.contains("policy-change approval: prod-workloads 1.0.0 → 1.0.1 (prod-policies/workloads.yaml, modified): needs an approval by one of frank"),
        "{}",
        o.stdout
    );
    assert_eq!(check_run(&calls, "bylaw: policy approval")["conclusion"], "failure");
}
