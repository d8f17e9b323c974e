//! End-to-end tests of `bylaw ci github` against a local mock of GitHub's
//! REST API. Every request is checked for method, path, query, headers
//! (auth, accept, API version, user agent) and JSON body, and held against
//! GitHub's OpenAPI description (`@octokit/openapi`): it must be a real
//! operation whose request schema its body fits. The mock answers with the
//! examples of the same description. The repository under test is a copy of
//! `tests/fixtures/github/repo` (three Deployments, a policy with a blocking,
//! a mandatory and an advisory rule); event payloads are in
//! `tests/fixtures/github/events`.

mod support;

use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::Command;
use support::github_api::spec;
use support::mock::{Call, Mock, Reply};
use support::tools::{adapter_repo as repo, root};

const TOKEN: &str = "ghs_bylawTest0123456789SECRETtoken";
const HEAD: &str = "6dcb09b5b57875f334f61aebed695e2e4193db5e";
const BASE: &str = "9049f1265b7d61be4a8904a9a27120d2064dab3b";
const PUSH_SHA: &str = "6dcb09b5b57875f334f61aebed695e2e4193db5e";
const RUN_URL: &str = "https://github.com/acme/shop/actions/runs/4242";

fn event(name: &str) -> PathBuf {
    root().join("tests/fixtures/github/events").join(format!("{name}.json"))
}

struct Out {
    code: i32,
    stdout: String,
    stderr: String,
    summary: String,
    outputs: String,
    sarif: Value,
}

struct Run<'a> {
    dir: &'a Path,
    api: String,
    event: &'a str,
    payload: PathBuf,
    args: Vec<String>,
    token: bool,
}

impl<'a> Run<'a> {
    fn new(dir: &'a Path, api: &str, event_name: &'a str, payload: &str) -> Run<'a> {
        Run { dir, api: api.to_owned(), event: event_name, payload: event(payload), args: Vec::new(), token: true }
    }

    fn args(mut self, a: &[&str]) -> Self {
        self.args.extend(a.iter().map(|s| s.to_string()));
        self
    }

    fn go(self) -> Out {
        let summary = self.dir.join("step-summary.md");
        let outputs = self.dir.join("github-output");
        let sarif = self.dir.join("out/bylaw.sarif");
        for f in [&summary, &outputs, &sarif] {
            let _ = std::fs::remove_file(f);
        }
        let mut c = Command::new(env!("CARGO_BIN_EXE_bylaw"));
        c.args(["ci", "github", "--sarif"]).arg(&sarif).args(&self.args);
        c.current_dir(self.dir).env_clear();
        c.env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("BYLAW_NOW", "2026-06-01T12:00:00Z")
            .env("BYLAW_GITHUB_BACKOFF_MS", "10")
            .env("GITHUB_ACTIONS", "true")
            .env("GITHUB_REPOSITORY", "acme/shop")
            .env("GITHUB_EVENT_NAME", self.event)
            .env("GITHUB_EVENT_PATH", &self.payload)
            .env(
                "GITHUB_SHA",
                if self.event == "pull_request" { "1111111111111111111111111111111111111111" } else { PUSH_SHA },
            )
            .env("GITHUB_REF", if self.event == "pull_request" { "refs/pull/7/merge" } else { "refs/heads/main" })
            .env("GITHUB_API_URL", &self.api)
            .env("GITHUB_SERVER_URL", "https://github.com")
            .env("GITHUB_RUN_ID", "4242")
            .env("GITHUB_ACTOR", "bob")
            .env("GITHUB_WORKSPACE", self.dir)
            .env("GITHUB_STEP_SUMMARY", &summary)
            .env("GITHUB_OUTPUT", &outputs);
        if self.token {
            c.env("GITHUB_TOKEN", TOKEN);
        }
        let out = c.output().unwrap();
        let o = Out {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8(out.stdout).unwrap(),
            stderr: String::from_utf8(out.stderr).unwrap(),
            summary: std::fs::read_to_string(&summary).unwrap_or_default(),
            outputs: std::fs::read_to_string(&outputs).unwrap_or_default(),
            sarif: std::fs::read_to_string(&sarif).map(|t| serde_json::from_str(&t).unwrap()).unwrap_or(Value::Null),
        };
        for (what, text) in
            [("stdout", &o.stdout), ("stderr", &o.stderr), ("summary", &o.summary), ("outputs", &o.outputs)]
        {
            assert!(!text.contains(TOKEN), "the token leaked into {what}");
        }
        assert!(!o.sarif.to_string().contains(TOKEN), "the token leaked into SARIF");
        o
    }
}

/// What every request must carry, and GitHub's description of it.
fn verify(calls: &[Call], prefix: &str) {
    for c in calls {
        assert_eq!(c.header("authorization"), format!("Bearer {TOKEN}"), "{}", c.line());
        assert_eq!(c.header("accept"), "application/vnd.github+json", "{}", c.line());
        assert_eq!(c.header("x-github-api-version"), "2022-11-28", "{}", c.line());
        assert!(c.header("user-agent").starts_with("bylaw/"), "{}: user agent {}", c.line(), c.header("user-agent"));
        if c.body.is_some() {
            assert!(c.header("content-type").starts_with("application/json"), "{}", c.line());
        }
        if let Err(e) = spec().check(c, prefix) {
            panic!("{e}");
        }
    }
}

fn lines(calls: &[Call]) -> Vec<String> {
    calls.iter().map(Call::line).collect()
}

// ---- realistic answers, from the examples of GitHub's description ----

fn example(method: &str, template: &str, status: u16) -> Value {
    spec().example(method, template, status)
}

fn comment(id: u64, login: &str, body: &str, edited: bool) -> Value {
    let mut c = example("GET", "/repos/{owner}/{repo}/issues/comments/{comment_id}", 200);
    c["id"] = json!(id);
    c["body"] = json!(body);
    c["html_url"] = json!(format!("https://github.com/acme/shop/pull/7#issuecomment-{id}"));
    c["url"] = json!(format!("https://api.github.com/repos/acme/shop/issues/comments/{id}"));
    c["user"]["login"] = json!(login);
    c["user"]["type"] = json!(if login.ends_with("[bot]") { "Bot" } else { "User" });
    c["created_at"] = json!("2026-06-01T10:00:00Z");
    c["updated_at"] = json!(if edited { "2026-06-01T10:05:00Z" } else { "2026-06-01T10:00:00Z" });
    c
}

const BOT: &str = "github-actions[bot]";

fn pr_file(name: &str, patch: &str) -> Value {
    let mut f = example("GET", "/repos/{owner}/{repo}/pulls/{pull_number}/files", 200)[0].clone();
    f["filename"] = json!(name);
    f["status"] = json!("modified");
    f["patch"] = json!(patch);
    f
}

/// `GET …/pulls/7/files` in two pages: app.yaml (line 13 changed), then legacy.yaml (added).
fn expect_files(mock: &Mock) {
    mock.expect_with("GET", "/repos/acme/shop/pulls/7/files?per_page=100", 1, |_, base| {
        let next = format!("{base}/repos/acme/shop/pulls/7/files?per_page=100&page=2");
        Reply::json(200, json!([pr_file("deploy/app.yaml", "@@ -10,4 +10,4 @@\n         - name: web\n           image: ghcr.io/acme/web:latest\n           securityContext:\n-            privileged: false\n+            privileged: true")]))
            .header("Link", &format!("<{next}>; rel=\"next\", <{next}>; rel=\"last\""))
    });
    let all: String = (1..=14).map(|i| format!("+line {i}\n")).collect();
    mock.expect(
        "GET",
        "/repos/acme/shop/pulls/7/files?per_page=100&page=2",
        1,
        Reply::json(200, json!([pr_file("deploy/legacy.yaml", &format!("@@ -0,0 +1,14 @@\n{all}"))])),
    );
}

fn expect_comments(mock: &Mock, comments: Vec<Value>) {
    mock.expect("GET", "/repos/acme/shop/issues/7/comments?per_page=100", 1, Reply::json(200, Value::Array(comments)));
}

fn expect_pr(mock: &Mock) {
    let mut pr = example("GET", "/repos/{owner}/{repo}/pulls/{pull_number}", 200);
    pr["number"] = json!(7);
    pr["html_url"] = json!("https://github.com/acme/shop/pull/7");
    pr["user"]["login"] = json!("bob");
    pr["head"]["sha"] = json!(HEAD);
    pr["head"]["ref"] = json!("feature/agent");
    pr["head"]["repo"]["full_name"] = json!("acme/shop");
    pr["base"]["sha"] = json!(BASE);
    pr["base"]["ref"] = json!("main");
    pr["base"]["repo"]["full_name"] = json!("acme/shop");
    mock.expect("GET", "/repos/acme/shop/pulls/7", 1, Reply::json(200, pr));
}

fn check_run_reply(id: u64) -> Reply {
    let mut r = example("POST", "/repos/{owner}/{repo}/check-runs", 201);
    r["id"] = json!(id);
    r["head_sha"] = json!(HEAD);
    r["name"] = json!("bylaw");
    Reply::json(201, r)
}

fn expect_check_run(mock: &Mock, times: usize) {
    mock.expect("POST", "/repos/acme/shop/check-runs", times, check_run_reply(4));
}

/// Answers a comment POST/PATCH with the comment it makes.
fn comment_reply(id: u64) -> impl Fn(&Call, &str) -> Reply + Send + 'static {
    move |call, _| {
        Reply::json(
            if call.method == "POST" { 201 } else { 200 },
            comment(id, BOT, call.json()["body"].as_str().unwrap(), false),
        )
    }
}

fn bodies<'c>(calls: &'c [Call], line: &str) -> Vec<&'c Value> {
    calls.iter().filter(|c| c.line() == line).map(Call::json).collect()
}

fn output(o: &Out, key: &str) -> String {
    o.outputs
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{key}=")))
        .unwrap_or_else(|| panic!("no {key} in {}", o.outputs))
        .to_owned()
}

#[test]
fn pull_request_gets_a_check_run_a_comment_a_summary_and_outputs() {
    let mock = Mock::start();
    let dir = repo();
    expect_files(&mock);
    expect_comments(&mock, vec![comment(11, "carol", "Looks good to me", false)]);
    expect_check_run(&mock, 1);
    mock.expect_with("POST", "/repos/acme/shop/issues/7/comments", 1, comment_reply(9001));
    let o = Run::new(dir.path(), &mock.url, "pull_request", "pull_request").go();
    let calls = mock.finish();
    verify(&calls, "");
    assert_eq!(o.code, 1, "{}\n{}", o.stdout, o.stderr);
    assert_eq!(
        lines(&calls),
        [
            "GET /repos/acme/shop/pulls/7/files?per_page=100",
            "GET /repos/acme/shop/pulls/7/files?page=2&per_page=100",
            "GET /repos/acme/shop/issues/7/comments?per_page=100",
            "POST /repos/acme/shop/check-runs",
            "POST /repos/acme/shop/issues/7/comments",
        ]
    );
    // the check run: on the PR head, completed in one request, failure
    let run = bodies(&calls, "POST /repos/acme/shop/check-runs")[0];
    assert_eq!(run["name"], "bylaw");
    assert_eq!(run["head_sha"], HEAD, "annotate the PR head, not the merge commit");
    assert_eq!(run["status"], "completed");
    assert_eq!(run["conclusion"], "failure");
    assert_eq!(run["details_url"], RUN_URL);
    assert_eq!(run["output"]["title"], "3 blocking, 1 advisory, 0 excepted");
    let ann = run["output"]["annotations"].as_array().unwrap();
    assert_eq!(ann.len(), 4);
    let privileged = ann.iter().find(|a| a["path"] == "deploy/app.yaml" && a["annotation_level"] == "failure").unwrap();
    assert_eq!(privileged["start_line"], 13);
    assert_eq!(privileged["start_column"], 13);
    assert_eq!(privileged["title"], "GH-001 (blocking)");
    assert_eq!(privileged["message"], "container web runs privileged");
    assert!(ann
        .iter()
        .any(|a| a["path"] == "deploy/app.yaml" && a["annotation_level"] == "warning" && a["start_line"] == 11));
    // the PR comment
    let body = bodies(&calls, "POST /repos/acme/shop/issues/7/comments")[0]["body"].as_str().unwrap();
    assert!(body.starts_with("<!-- bylaw:report -->"), "{body}");
    assert!(body.contains("| 3 |") || body.contains("3 blocking"), "summary table: {body}");
    assert!(body.contains(&format!("(https://github.com/acme/shop/blob/{HEAD}/deploy/app.yaml#L13)")), "{body}");
    assert!(body.contains("`GH-002`") && body.contains("legacy-agent uses the host network"), "{body}");
    assert!(body.contains("/bylaw except RULE [PATH] -- reason [expires=30d]"), "{body}");
    assert!(body.contains(RUN_URL), "{body}");
    // workflow commands: errors first, escaped
    let cmds: Vec<&str> = o.stdout.lines().filter(|l| l.starts_with("::")).collect();
    assert_eq!(cmds.len(), 4, "{cmds:?}");
    assert!(cmds[..3].iter().all(|l| l.starts_with("::error ")), "{cmds:?}");
    assert!(cmds[3].starts_with("::warning file=deploy/app.yaml,line=11,endLine=11,col=11,"), "{cmds:?}");
    assert!(o.stdout.contains("::error file=deploy/app.yaml,line=13,endLine=13,col=13,endColumn="), "{}", o.stdout);
    assert!(o.stdout.contains(",title=GH-001 (blocking)::container web runs privileged"), "{}", o.stdout);
    // job summary, step outputs, SARIF
    assert!(o.summary.contains("deploy/app.yaml#L13") && !o.summary.contains("bylaw:report"), "{}", o.summary);
    assert_eq!(output(&o, "verdict"), "fail");
    assert_eq!(output(&o, "blocking"), "3");
    assert_eq!(output(&o, "advisory"), "1");
    assert_eq!(output(&o, "excepted"), "0");
    assert!(output(&o, "sarif-file").ends_with("out/bylaw.sarif"));
    assert_eq!(o.sarif["runs"][0]["results"].as_array().unwrap().len(), 4);
}

#[test]
fn the_pr_comment_is_updated_in_place_and_kept_when_the_pr_turns_green() {
    let mock = Mock::start();
    let dir = repo();
    // the PR fixed everything: only ok.yaml is left
    std::fs::remove_file(dir.path().join("deploy/app.yaml")).unwrap();
    std::fs::remove_file(dir.path().join("deploy/legacy.yaml")).unwrap();
    expect_files(&mock);
    expect_comments(
        &mock,
        vec![
            comment(11, "carol", "<!-- bylaw:report --> a person's comment is not bylaw's", false),
            comment(9001, BOT, "<!-- bylaw:report -->\nold report", false),
        ],
    );
    expect_check_run(&mock, 1);
    mock.expect_with("PATCH", "/repos/acme/shop/issues/comments/9001", 1, comment_reply(9001));
    let o = Run::new(dir.path(), &mock.url, "pull_request", "pull_request").go();
    let calls = mock.finish();
    verify(&calls, "");
    assert_eq!(o.code, 0, "{}\n{}", o.stdout, o.stderr);
    assert!(!lines(&calls).iter().any(|l| l == "POST /repos/acme/shop/issues/7/comments"), "never a second comment");
    let body = bodies(&calls, "PATCH /repos/acme/shop/issues/comments/9001")[0]["body"].as_str().unwrap();
    assert!(body.starts_with("<!-- bylaw:report -->") && !body.contains("old report"), "{body}");
    assert_eq!(bodies(&calls, "POST /repos/acme/shop/check-runs")[0]["conclusion"], "success");
    assert_eq!(output(&o, "verdict"), "pass");
}

/// Sixty privileged Deployments with unpinned images: 120 findings.
fn many_findings(dir: &Path) {
    std::fs::remove_dir_all(dir.join("deploy")).unwrap();
    std::fs::create_dir_all(dir.join("deploy")).unwrap();
    for i in 0..60 {
        let name = if i == 0 { "odd,name: 100%".to_owned() } else { format!("app-{i:02}") };
        std::fs::write(
            dir.join(format!("deploy/{}.yaml", if i == 0 { "a-odd, 100%".to_owned() } else { name.clone() })),
            format!(
                "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: x\nspec:\n  template:\n    spec:\n      containers:\n        - name: \"{name}\"\n          image: ghcr.io/acme/web:latest\n          securityContext:\n            privileged: true\n"
            ),
        )
        .unwrap();
    }
}

#[test]
fn check_run_annotations_go_in_batches_of_50_and_workflow_commands_stay_within_limits() {
    let mock = Mock::start();
    let dir = repo();
    many_findings(dir.path());
    expect_check_run(&mock, 1);
    mock.expect_with("PATCH", "/repos/acme/shop/check-runs/4", 2, |call, _| {
        let mut r = example("PATCH", "/repos/{owner}/{repo}/check-runs/{check_run_id}", 200);
        r["id"] = json!(4);
        if call.json().get("conclusion").is_some() {
            r["conclusion"] = call.json()["conclusion"].clone();
        }
        Reply::json(200, r)
    });
    let o = Run::new(dir.path(), &mock.url, "push", "push").go();
    let calls = mock.finish();
    verify(&calls, "");
    assert_eq!(o.code, 1);
    assert_eq!(
        lines(&calls),
        [
            "POST /repos/acme/shop/check-runs",
            "PATCH /repos/acme/shop/check-runs/4",
            "PATCH /repos/acme/shop/check-runs/4"
        ]
    );
    let create = calls[0].json();
    assert_eq!(create["status"], "in_progress");
    assert_eq!(create["head_sha"], PUSH_SHA);
    assert_eq!(create["output"]["annotations"].as_array().unwrap().len(), 50);
    assert!(
        create["output"]["annotations"].as_array().unwrap().iter().all(|a| a["annotation_level"] == "failure"),
        "errors first"
    );
    assert_eq!(calls[1].json()["output"]["annotations"].as_array().unwrap().len(), 50);
    assert!(calls[1].json().get("conclusion").is_none());
    assert_eq!(calls[2].json()["output"]["annotations"].as_array().unwrap().len(), 20);
    assert_eq!(calls[2].json()["status"], "completed");
    assert_eq!(calls[2].json()["conclusion"], "failure");
    // workflow commands: 10 errors, 10 warnings, then one notice for the rest
    let cmds: Vec<&str> = o.stdout.lines().filter(|l| l.starts_with("::")).collect();
    assert_eq!(cmds.iter().filter(|l| l.starts_with("::error ")).count(), 10);
    assert_eq!(cmds.iter().filter(|l| l.starts_with("::warning ")).count(), 10);
    assert!(cmds[..10].iter().all(|l| l.starts_with("::error ")), "errors first");
    let last = cmds.last().unwrap();
    assert!(last.starts_with("::notice title=bylaw::100 findings not annotated"), "{last}");
    // escaping of properties and messages
    assert!(
        o.stdout.contains("::error file=deploy/a-odd%2C 100%25.yaml,line=12,")
            && o.stdout.contains("::container odd,name: 100%25 runs privileged"),
        "{}",
        o.stdout
    );
    assert_eq!(output(&o, "blocking"), "60");
}

#[test]
fn a_commit_status_instead_of_a_check_run_and_neutral_for_advisory_only() {
    let mock = Mock::start();
    let dir = repo();
    std::fs::write(
        dir.path().join("deploy/app.yaml"),
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  template:\n    spec:\n      containers:\n        - name: web\n          image: ghcr.io/acme/web:latest\n",
    )
    .unwrap();
    std::fs::remove_file(dir.path().join("deploy/legacy.yaml")).unwrap();
    let mut status = example("POST", "/repos/{owner}/{repo}/statuses/{sha}", 201);
    status["context"] = json!("bylaw");
    mock.expect("POST", &format!("/repos/acme/shop/statuses/{PUSH_SHA}"), 1, Reply::json(201, status));
    let o = Run::new(dir.path(), &mock.url, "push", "push").args(&["--check-run", "false", "--status", "true"]).go();
    let calls = mock.finish();
    verify(&calls, "");
    assert_eq!(o.code, 0, "advisory findings do not fail: {}", o.stdout);
    let body = calls[0].json();
    assert_eq!(body["state"], "success");
    assert_eq!(body["context"], "bylaw");
    assert_eq!(body["description"], "0 blocking, 1 advisory, 0 excepted");
    assert_eq!(body["target_url"], RUN_URL);

    // the same with a check run: neutral
    let mock = Mock::start();
    expect_check_run(&mock, 1);
    let o = Run::new(dir.path(), &mock.url, "workflow_dispatch", "workflow_dispatch").go();
    let calls = mock.finish();
    verify(&calls, "");
    assert_eq!(o.code, 0);
    assert_eq!(calls[0].json()["conclusion"], "neutral");
}

#[test]
fn changed_only_annotates_changed_lines_and_reports_the_rest_in_the_summary() {
    let mock = Mock::start();
    let dir = repo();
    expect_files(&mock);
    expect_comments(&mock, vec![]);
    expect_check_run(&mock, 1);
    let o = Run::new(dir.path(), &mock.url, "pull_request", "pull_request")
        .args(&["--changed-only", "--comment", "never"])
        .go();
    let calls = mock.finish();
    verify(&calls, "");
    assert_eq!(o.code, 1);
    // app.yaml changed line 13 only; legacy.yaml is new (every line changed)
    let cmds: Vec<&str> = o.stdout.lines().filter(|l| l.starts_with("::")).collect();
    assert!(cmds.iter().any(|l| l.starts_with("::error file=deploy/app.yaml,line=13,")), "{cmds:?}");
    assert!(!cmds.iter().any(|l| l.contains("file=deploy/app.yaml,line=11,")), "line 11 was not changed: {cmds:?}");
    assert_eq!(cmds.iter().filter(|l| l.contains("file=deploy/legacy.yaml")).count(), 2, "{cmds:?}");
    assert!(cmds.last().unwrap().contains("1 on lines this pull request did not change"), "{cmds:?}");
    let ann = calls[3].json()["output"]["annotations"].as_array().unwrap().clone();
    assert_eq!(ann.len(), 3, "{ann:?}");
    assert!(o.summary.contains("findings on lines this pull request did not change"), "{}", o.summary);
    assert!(o.summary.contains("deploy/app.yaml#L11)"), "{}", o.summary);
}

/// The comments of PR 7 after bob's request (555), bylaw's answer to it
/// (9100) and bylaw's report (9001).
fn thread_after_request() -> Vec<Value> {
    vec![
        comment(
            555,
            "bob",
            "/bylaw except GH-001 deploy/legacy.yaml -- vendor agent needs host access until Q3 expires=14d",
            false,
        ),
        comment(
            9100,
            BOT,
            "<!-- bylaw:request REQ-555 -->\n### bylaw exception request `REQ-555`\n⏳ **pending**",
            false,
        ),
        comment(9001, BOT, "<!-- bylaw:report -->\nreport", false),
    ]
}

fn membership(state: &str) -> Reply {
    let mut m = example("GET", "/orgs/{org}/teams/{team_slug}/memberships/{username}", 200);
    m["state"] = json!(state);
    m["role"] = json!("member");
    Reply::json(200, m)
}

fn permission(login: &str, level: &str) -> Reply {
    let mut p = example("GET", "/repos/{owner}/{repo}/collaborators/{username}/permission", 200);
    p["permission"] = json!(if level == "maintain" { "write" } else { level });
    p["role_name"] = json!(level);
    p["user"]["login"] = json!(login);
    Reply::json(200, p)
}

#[test]
fn exception_request_then_approval_then_honoured_on_the_next_run() {
    let dir = repo();
    // 1. bob asks for an exception: bylaw answers with a request comment
    let mock = Mock::start();
    expect_pr(&mock);
    expect_files(&mock);
    expect_comments(&mock, vec![thread_after_request()[0].clone()]);
    mock.expect_with("POST", "/repos/acme/shop/issues/7/comments", 2, comment_reply(9100));
    expect_check_run(&mock, 1);
    let o = Run::new(dir.path(), &mock.url, "issue_comment", "issue_comment_except").go();
    let calls = mock.finish();
    verify(&calls, "");
    assert_eq!(o.code, 1, "{}\n{}", o.stdout, o.stderr);
    assert!(o.stdout.contains("bylaw: exception request REQ-555 recorded: GH-001 until 2026-06-15"), "{}", o.stdout);
    let posted = bodies(&calls, "POST /repos/acme/shop/issues/7/comments");
    let request = posted[0]["body"].as_str().unwrap();
    assert!(request.starts_with("<!-- bylaw:request REQ-555 -->"), "{request}");
    assert!(request.contains("@bob asks to except `GH-001` on `deploy/legacy.yaml` until 2026-06-15"), "{request}");
    assert!(request.contains("/bylaw approve REQ-555"), "{request}");
    assert!(posted[1]["body"].as_str().unwrap().starts_with("<!-- bylaw:report -->"));
    assert_eq!(bodies(&calls, "POST /repos/acme/shop/check-runs")[0]["head_sha"], HEAD);

    // 2. alice, a member of @acme/security (the policy's owners), approves
    let mock = Mock::start();
    expect_pr(&mock);
    expect_files(&mock);
    let mut thread = thread_after_request();
    thread.push(comment(556, "alice", "/bylaw approve REQ-555", false));
    expect_comments(&mock, thread.clone());
    mock.expect("GET", "/orgs/acme/teams/security/memberships/alice", 1, membership("active"));
    mock.expect_with("PATCH", "/repos/acme/shop/issues/comments/9100", 1, comment_reply(9100));
    mock.expect_with("PATCH", "/repos/acme/shop/issues/comments/9001", 1, comment_reply(9001));
    expect_check_run(&mock, 1);
    let o = Run::new(dir.path(), &mock.url, "issue_comment", "issue_comment_approve").go();
    let calls = mock.finish();
    verify(&calls, "");
    assert!(o.stdout.contains("bylaw: request REQ-555 approved by @alice"), "{}", o.stdout);
    let updated = bodies(&calls, "PATCH /repos/acme/shop/issues/comments/9100")[0]["body"].as_str().unwrap();
    assert!(updated.starts_with("<!-- bylaw:request REQ-555 -->"), "{updated}");
    // the team is named, not mentioned (a zero-width space after `@`): bylaw's comment pings nobody
    assert!(
        updated.contains("approved** by @alice") && updated.contains("member of @\u{200B}acme/security"),
        "{updated}"
    );
    assert_eq!(output(&o, "excepted"), "1", "honoured at once: {}\n{}", o.stdout, o.stderr);
    assert_eq!(output(&o, "blocking"), "2");

    // 3. the next push to the PR honours it, verifying alice again
    let mock = Mock::start();
    expect_files(&mock);
    let mut approved = thread.clone();
    approved[1] = comment(9100, BOT, updated, false);
    // two pages of comments
    let second = approved.split_off(2);
    mock.expect_with("GET", "/repos/acme/shop/issues/7/comments?per_page=100", 1, move |_, base| {
        let next = format!("{base}/repos/acme/shop/issues/7/comments?per_page=100&page=2");
        Reply::json(200, Value::Array(approved.clone())).header("Link", &format!("<{next}>; rel=\"next\""))
    });
    mock.expect(
        "GET",
        "/repos/acme/shop/issues/7/comments?per_page=100&page=2",
        1,
        Reply::json(200, Value::Array(second)),
    );
    mock.expect("GET", "/orgs/acme/teams/security/memberships/alice", 1, membership("active"));
    mock.expect_with("PATCH", "/repos/acme/shop/issues/comments/9001", 1, comment_reply(9001));
    expect_check_run(&mock, 1);
    let o = Run::new(dir.path(), &mock.url, "pull_request", "pull_request").args(&["--sarif-include-excepted"]).go();
    let calls = mock.finish();
    verify(&calls, "");
    assert_eq!(o.code, 1, "app.yaml still has a blocking finding and GH-002 is mandatory");
    assert_eq!(output(&o, "excepted"), "1");
    let run = bodies(&calls, "POST /repos/acme/shop/check-runs")[0];
    assert_eq!(run["output"]["title"], "2 blocking, 1 advisory, 1 excepted");
    assert!(!run["output"]["annotations"]
        .as_array()
        .unwrap()
        .iter()
        .any(|a| a["path"] == "deploy/legacy.yaml" && a["title"] == "GH-001 (blocking)"));
    let yaml = "apiVersion: bylaw/v1\nkind: ExceptionList\nexceptions:\n  - id: REQ-555\n    rules: [\"GH-001\"]\n    targets: [\"deploy/legacy.yaml\"]\n    reason: \"vendor agent needs host access until Q3\"\n    ticket: \"https://github.com/acme/shop/pull/7#issuecomment-555\"\n    requested_by: \"bob\"\n    approved_by: [\"alice\"]\n    expires: 2026-06-15\n";
    assert!(o.stdout.contains(yaml), "{}", o.stdout);
    assert!(o.summary.contains(yaml), "{}", o.summary);
    let comment_body = bodies(&calls, "PATCH /repos/acme/shop/issues/comments/9001")[0]["body"].as_str().unwrap();
    assert!(comment_body.contains(yaml), "{comment_body}");
    // the excepted result in SARIF carries the approver and the link
    let results = o.sarif["runs"][0]["results"].as_array().unwrap();
    let excepted = results.iter().find(|r| !r["suppressions"].is_null()).expect("an excepted result");
    let s = excepted["suppressions"].to_string();
    assert!(s.contains("REQ-555") && s.contains("alice"), "{s}");
    // the exception list YAML is valid for bylaw itself
    std::fs::write(dir.path().join("approved.yaml"), yaml).unwrap();
    let check = Command::new(env!("CARGO_BIN_EXE_bylaw"))
        .args(["check", "--exceptions", "approved.yaml", "--format", "json"])
        .current_dir(dir.path())
        .env_clear()
        .env("BYLAW_NOW", "2026-06-01T12:00:00Z")
        .output()
        .unwrap();
    let r: Value = serde_json::from_slice(&check.stdout).unwrap();
    assert_eq!(r["summary"]["excepted"], 1, "{}", String::from_utf8_lossy(&check.stderr));
}

/// Runs an `issue_comment` fixture on the thread and returns the reply bylaw posted.
fn refused(payload: &str, thread: Vec<Value>, setup: impl FnOnce(&Mock)) -> (String, Out) {
    let dir = repo();
    let mock = Mock::start();
    expect_pr(&mock);
    expect_files(&mock);
    expect_comments(&mock, thread);
    setup(&mock);
    mock.expect_with("POST", "/repos/acme/shop/issues/7/comments", 1, comment_reply(9200));
    let o = Run::new(dir.path(), &mock.url, "issue_comment", payload)
        .args(&["--check-run", "false", "--comment", "never"])
        .go();
    let calls = mock.finish();
    verify(&calls, "");
    assert!(!calls.iter().any(|c| c.method == "PATCH"), "a refusal changes nothing: {:?}", lines(&calls));
    assert_eq!(output(&o, "excepted"), "0");
    let body = bodies(&calls, "POST /repos/acme/shop/issues/7/comments")[0]["body"].as_str().unwrap().to_owned();
    (body, o)
}

#[test]
fn approval_by_an_unauthorized_user_is_refused_with_the_reason() {
    let mut thread = thread_after_request();
    thread.push(comment(556, "alice", "/bylaw approve REQ-555", false));
    let (reply, o) = refused("issue_comment_approve", thread, |mock| {
        // the workflow token cannot read team membership; alice has write permission only
        mock.expect(
            "GET",
            "/orgs/acme/teams/security/memberships/alice",
            1,
            Reply::json(403, json!({ "message": "Resource not accessible by integration", "documentation_url": "https://docs.github.com/rest/teams/members#get-team-membership-for-a-user", "status": "403" })),
        );
        mock.expect("GET", "/repos/acme/shop/collaborators/alice/permission", 1, permission("alice", "write"));
    });
    assert!(
        reply.starts_with(
            "<!-- bylaw:re 556 -->\n> /bylaw approve REQ-555\n\n@alice not authorized to answer `REQ-555`"
        ),
        "{reply}"
    );
    assert!(reply.contains("has write permission on acme/shop (maintain or admin needed)"), "{reply}");
    assert!(reply.contains("organization members: read"), "{reply}");
    assert!(o.stdout.contains("refused: not authorized"), "{}", o.stdout);
}

#[test]
fn maintainers_and_listed_approvers_are_authorized() {
    // erin is not listed but maintains the repository
    let dir = repo();
    let mock = Mock::start();
    expect_pr(&mock);
    expect_files(&mock);
    let mut thread = thread_after_request();
    thread.push(comment(556, "erin", "/bylaw deny REQ-555", false));
    expect_comments(&mock, thread);
    mock.expect(
        "GET",
        "/orgs/acme/teams/security/memberships/erin",
        1,
        Reply::json(
            404,
            json!({ "message": "Not Found", "documentation_url": "https://docs.github.com/rest", "status": "404" }),
        ),
    );
    mock.expect("GET", "/repos/acme/shop/collaborators/erin/permission", 1, permission("erin", "maintain"));
    mock.expect_with("PATCH", "/repos/acme/shop/issues/comments/9100", 1, comment_reply(9100));
    let mut run = Run::new(dir.path(), &mock.url, "issue_comment", "issue_comment_approve").args(&[
        "--check-run",
        "false",
        "--comment",
        "never",
    ]);
    run.payload = payload_with(dir.path(), "issue_comment_approve", |e| {
        e["comment"]["body"] = json!("/bylaw deny REQ-555");
        e["comment"]["user"]["login"] = json!("erin");
    });
    let o = run.go();
    let calls = mock.finish();
    verify(&calls, "");
    assert!(o.stdout.contains("request REQ-555 denied by @erin"), "{}", o.stdout);
    let body = calls.last().unwrap().json()["body"].as_str().unwrap();
    assert!(body.contains("denied** by @erin") && body.contains("maintain permission on acme/shop"), "{body}");
    assert_eq!(output(&o, "excepted"), "0");
}

#[test]
fn self_approval_edited_approval_and_mandatory_rules_are_refused() {
    let mut thread = thread_after_request();
    thread.push(comment(557, "bob", "/bylaw approve REQ-555", false));
    let (reply, _) = refused("issue_comment_self_approve", thread, |_| {});
    assert!(reply.contains("@bob you cannot approve or deny your own exception request `REQ-555`"), "{reply}");

    let mut thread = thread_after_request();
    thread.push(comment(558, "alice", "/bylaw approve REQ-555", true));
    let (reply, _) = refused("issue_comment_edited", thread, |_| {});
    assert!(reply.contains("@alice this comment was edited"), "{reply}");

    let (reply, _) =
        refused("issue_comment_mandatory", vec![comment(559, "bob", "/bylaw except GH-002 -- please", false)], |_| {});
    assert!(reply.contains("rule `GH-002` is mandatory"), "{reply}");
}

#[test]
fn a_forged_or_edited_request_is_never_honoured() {
    let dir = repo();
    let mock = Mock::start();
    expect_files(&mock);
    expect_comments(
        &mock,
        vec![
            // mallory writes what looks like bylaw's approval
            comment(600, "mallory", "<!-- bylaw:request REQ-555 -->\n✅ **approved** by @alice", false),
            // bob's request was edited after alice approved it
            comment(555, "bob", "/bylaw except GH-001 -- widened after approval", true),
            comment(556, "alice", "/bylaw approve REQ-555", false),
        ],
    );
    expect_check_run(&mock, 1);
    let o = Run::new(dir.path(), &mock.url, "pull_request", "pull_request").args(&["--comment", "never"]).go();
    let calls = mock.finish();
    verify(&calls, "");
    assert_eq!(output(&o, "excepted"), "0");
    assert!(!lines(&calls).iter().any(|l| l.contains("memberships")), "no request, nothing to verify");
}

#[test]
fn a_fork_pr_with_a_read_only_token_degrades_to_annotations_artifacts_and_exit_code() {
    let dir = repo();
    let mock = Mock::start();
    expect_files(&mock);
    expect_comments(&mock, vec![]);
    let forbidden = json!({ "message": "Resource not accessible by integration", "documentation_url": "https://docs.github.com/rest/checks/runs#create-a-check-run", "status": "403" });
    mock.expect("POST", "/repos/acme/shop/check-runs", 1, Reply::json(403, forbidden.clone()));
    mock.expect("POST", "/repos/acme/shop/issues/7/comments", 1, Reply::json(403, forbidden));
    let o =
        Run::new(dir.path(), &mock.url, "pull_request", "pull_request_fork").args(&["--junit", "out/junit.xml"]).go();
    let calls = mock.finish();
    verify(&calls, "");
    assert_eq!(o.code, 1, "the verdict is unchanged: {}", o.stderr);
    let warnings: Vec<&str> = o.stdout.lines().filter(|l| l.starts_with("::warning title=bylaw::")).collect();
    assert_eq!(warnings.len(), 1, "one clear warning: {warnings:?}");
    assert!(warnings[0].contains("cannot create a check run") && warnings[0].contains("forks"), "{}", warnings[0]);
    assert_eq!(o.stdout.lines().filter(|l| l.starts_with("::error ")).count(), 3, "annotations still printed");
    assert_eq!(o.sarif["runs"][0]["results"].as_array().unwrap().len(), 4);
    assert!(dir.path().join("out/junit.xml").exists());
    assert_eq!(output(&o, "verdict"), "fail");
}

#[test]
fn retries_after_502_and_after_a_secondary_rate_limit_honouring_retry_after() {
    let dir = repo();
    let mock = Mock::start();
    mock.expect("POST", "/repos/acme/shop/check-runs", 1, Reply::json(502, json!({ "message": "Server Error" })));
    expect_check_run(&mock, 1);
    mock.expect(
        "POST",
        &format!("/repos/acme/shop/statuses/{PUSH_SHA}"),
        1,
        Reply::json(403, json!({ "message": "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.", "documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits", "status": "403" }))
            .header("Retry-After", "1"),
    );
    mock.expect(
        "POST",
        &format!("/repos/acme/shop/statuses/{PUSH_SHA}"),
        1,
        Reply::json(201, example("POST", "/repos/{owner}/{repo}/statuses/{sha}", 201)),
    );
    let started = std::time::Instant::now();
    let o = Run::new(dir.path(), &mock.url, "push", "push").args(&["--status", "true"]).go();
    let waited = started.elapsed();
    let calls = mock.finish();
    verify(&calls, "");
    assert_eq!(o.code, 1);
    assert_eq!(calls.len(), 4, "{:?}", lines(&calls));
    assert_eq!(calls[0].json(), calls[1].json(), "the same request again");
    assert!(waited >= std::time::Duration::from_secs(1), "Retry-After: 1 was honoured ({waited:?})");
    assert!(!o.stdout.contains("::warning title=bylaw"), "recovered without warnings: {}", o.stdout);
}

#[test]
fn github_enterprise_server_api_url_is_respected() {
    let dir = repo();
    let mock = Mock::start();
    mock.expect("POST", "/api/v3/repos/acme/shop/check-runs", 1, check_run_reply(4));
    let o = Run::new(dir.path(), &format!("{}/api/v3", mock.url), "merge_group", "merge_group").go();
    let calls = mock.finish();
    verify(&calls, "/api/v3");
    assert_eq!(o.code, 1);
    assert_eq!(calls[0].json()["head_sha"], "ec26c3e57ca3a959ca5aad62de7213c562f8c821");
}

#[test]
fn without_a_token_it_still_annotates_writes_artifacts_and_exits_with_the_verdict() {
    let dir = repo();
    let mut run = Run::new(dir.path(), "http://127.0.0.1:9", "pull_request", "pull_request");
    run.token = false;
    let o = run.go();
    assert_eq!(o.code, 1);
    assert!(o.stdout.contains("::warning title=bylaw::no GitHub token"), "{}", o.stdout);
    assert_eq!(o.stdout.lines().filter(|l| l.starts_with("::error ")).count(), 3);
    assert_eq!(output(&o, "blocking"), "3");
}

/// A fixture payload changed by `f`, written into `dir`.
fn payload_with(dir: &Path, name: &str, f: impl FnOnce(&mut Value)) -> PathBuf {
    let mut e: Value = serde_json::from_str(&std::fs::read_to_string(event(name)).unwrap()).unwrap();
    f(&mut e);
    let path = dir.join(format!("{name}.changed.json"));
    std::fs::write(&path, e.to_string()).unwrap();
    path
}

#[test]
fn comments_that_are_not_commands_do_nothing() {
    let dir = repo();
    let mut run = Run::new(dir.path(), "http://127.0.0.1:9", "issue_comment", "issue_comment_approve");
    run.payload =
        payload_with(dir.path(), "issue_comment_approve", |e| e["comment"]["body"] = json!("Thanks, looks good!"));
    let o = run.go();
    assert_eq!(o.code, 0);
    assert!(o.stdout.contains("nothing to do"), "{}", o.stdout);
}

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

#[test]
fn policy_ref_base_judges_a_pr_by_the_policies_of_its_base() {
    let dir = repo();
    let d = dir.path();
    git(d, &["init", "-q", "-b", "main"]);
    git(d, &["add", "-A"]);
    git(d, &["commit", "-q", "-m", "base"]);
    let base = git(d, &["rev-parse", "HEAD"]);
    // the PR weakens the policy: GH-001 becomes advisory
    let p = d.join("policies/workloads.yaml");
    let weakened = std::fs::read_to_string(&p)
        .unwrap()
        .replace("severity: critical\n", "severity: critical\n      enforcement: advisory\n");
    std::fs::write(&p, weakened).unwrap();
    git(d, &["commit", "-q", "-am", "weaken"]);
    let payload = payload_with(d, "pull_request", |e| e["pull_request"]["base"]["sha"] = json!(base));
    let run = |extra: &[&str]| {
        let mut r = Run::new(d, "http://127.0.0.1:9", "pull_request", "pull_request").args(extra);
        r.payload = payload.clone();
        r.token = false;
        r.go()
    };
    let head = run(&["--policy-ref", "head"]);
    assert_eq!(output(&head, "blocking"), "1", "with the PR's own policy only GH-002 blocks");
    let o = run(&["--policy-ref", "base"]);
    assert!(o.stdout.contains(&format!("policies read from the base commit {}", &base[..12])), "{}", o.stdout);
    assert_eq!(output(&o, "blocking"), "3", "{}", o.stdout);
    assert_eq!(o.code, 1);
}

#[test]
fn the_api_description_rejects_what_github_would() {
    let call = |method: &str, target: &str, body: Option<Value>| {
        let (path, query) = target.split_once('?').unwrap_or((target, ""));
        Call {
            method: method.into(),
            path: path.into(),
            query: query
                .split('&')
                .filter(|q| !q.is_empty())
                .map(|q| q.split_once('=').map(|(k, v)| (k.into(), v.into())).unwrap())
                .collect(),
            headers: Default::default(),
            body,
        }
    };
    let good = json!({ "name": "bylaw", "head_sha": HEAD, "status": "completed", "conclusion": "failure" });
    assert!(spec().check(&call("POST", "/repos/acme/shop/check-runs", Some(good)), "").is_ok());
    let bad = json!({ "name": "bylaw", "head_sha": HEAD, "conclusion": "failed" });
    assert!(spec()
        .check(&call("POST", "/repos/acme/shop/check-runs", Some(bad)), "")
        .unwrap_err()
        .contains("conclusion"));
    let no_sha = json!({ "name": "bylaw" });
    assert!(spec().check(&call("POST", "/repos/acme/shop/check-runs", Some(no_sha)), "").is_err());
    assert!(spec()
        .check(&call("PUT", "/repos/acme/shop/check-runs", Some(json!({}))), "")
        .unwrap_err()
        .contains("has no PUT"));
    assert!(spec().check(&call("GET", "/repos/acme/shop/frobnicate", None), "").unwrap_err().contains("no such path"));
    assert!(spec().check(&call("GET", "/repos/acme/shop/issues/7/comments?per_page=100&page=2", None), "").is_ok());
    assert!(spec()
        .check(&call("GET", "/repos/acme/shop/issues/7/comments?limit=100", None), "")
        .unwrap_err()
        .contains("`limit`"));
    assert!(spec()
        .check(&call("POST", "/repos/acme/shop/issues/7/comments", Some(json!({ "text": "x" }))), "")
        .is_err());
}

/// `GitHub::from_env` over every real payload of `@octokit/webhooks-examples`
/// for the events the action runs on.
fn context_of(event: &str, payload: &Value, git_ref: &str) -> bylaw_github::context::GitHub {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("event.json");
    std::fs::write(&path, serde_json::to_string(payload).unwrap()).unwrap();
    let vars: Vec<(&str, String)> = vec![
        ("GITHUB_REPOSITORY", "acme/shop".into()),
        ("GITHUB_EVENT_NAME", event.into()),
        ("GITHUB_EVENT_PATH", path.display().to_string()),
        ("GITHUB_SHA", "0000000000000000000000000000000000000001".into()),
        ("GITHUB_REF", git_ref.into()),
        ("GITHUB_ACTOR", "octocat".into()),
        ("GITHUB_RUN_ID", "4242".into()),
    ];
    let lookup = |k: &str| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone());
    bylaw_github::context::GitHub::from_env(&lookup).unwrap_or_else(|e| panic!("{event}: {e}"))
}

fn assert_ctx_shape(gh: &bylaw_github::context::GitHub, changed: &[String]) -> Value {
    let base = bylaw_engine::context::PipelineContext {
        time: "2026-11-23T00:00:00Z".into(),
        environment: Some("prod".into()),
        ..Default::default()
    };
    let ctx = gh.ctx(base, changed).to_json();
    // every real payload gives a context its published schema accepts
    let schema: Value = serde_json::from_str(bylaw_engine::context::CONTEXT_SCHEMA).unwrap();
    let errors: Vec<String> =
        jsonschema::validator_for(&schema).unwrap().iter_errors(&ctx).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "{}: {errors:?}\n{ctx}", gh.event);
    for key in ["platform", "repository", "ref", "sha", "event", "actor", "environment", "changed_files", "time"] {
        assert!(ctx.get(key).is_some(), "ctx.{key} missing for {}: {ctx}", gh.event);
    }
    assert_eq!(ctx["platform"], "github");
    assert_eq!(ctx["changed_files"], json!(changed));
    if let Some(pr) = ctx.get("pr") {
        for key in ["number", "title", "body", "author", "labels", "base_ref", "head_ref", "draft"] {
            assert!(pr.get(key).is_some(), "ctx.pr.{key} missing for {}: {pr}", gh.event);
        }
    }
    ctx
}

#[test]
fn the_context_reads_every_real_webhook_payload_of_the_supported_events() {
    let changed = vec!["deploy/app.yaml".to_owned()];
    let mut seen = 0;
    // pull_request_target carries the same payload as pull_request
    for event in ["pull_request", "pull_request_target"] {
        for p in support::github_api::webhook_examples("pull_request") {
            let gh = context_of(event, &p, "refs/pull/1/merge");
            let pr = gh.pr.as_ref().expect("a pull request");
            let want = &p["pull_request"];
            assert_eq!(pr.number, want["number"].as_u64().unwrap());
            assert_eq!(pr.head_sha, want["head"]["sha"].as_str().unwrap());
            assert_eq!(gh.sha, pr.head_sha, "annotations go on the PR head, not the merge commit");
            assert_eq!(gh.branch().as_deref(), want["base"]["ref"].as_str(), "the branch is where the PR goes");
            assert_eq!(pr.author, want["user"]["login"].as_str().unwrap());
            assert_eq!(pr.draft, want["draft"].as_bool().unwrap_or(false));
            let labels: Vec<&str> =
                want["labels"].as_array().unwrap().iter().map(|l| l["name"].as_str().unwrap()).collect();
            assert_eq!(pr.labels, labels);
            assert_eq!(gh.is_fork_pr(), want["head"]["repo"]["full_name"].as_str().is_some_and(|r| r != "acme/shop"));
            let ctx = assert_ctx_shape(&gh, &changed);
            assert_eq!(ctx["pr"]["number"], want["number"]);
            assert_eq!(ctx["event"], event);
            seen += 1;
        }
    }
    for p in support::github_api::webhook_examples("issue_comment") {
        let gh = context_of("issue_comment", &p, "refs/heads/main");
        let c = gh.comment.as_ref().expect("a comment");
        assert_eq!(c.id, p["comment"]["id"].as_u64().unwrap());
        assert_eq!(c.user, p["comment"]["user"]["login"].as_str().unwrap());
        assert_eq!(c.body, p["comment"]["body"].as_str().unwrap());
        let on_pr = p["issue"].get("pull_request").is_some();
        assert_eq!(gh.pr.as_ref().map(|pr| pr.number), on_pr.then(|| p["issue"]["number"].as_u64().unwrap()));
        assert_ctx_shape(&gh, &[]);
        seen += 1;
    }
    for p in support::github_api::webhook_examples("push") {
        let git_ref = p["ref"].as_str().unwrap().to_owned();
        let gh = context_of("push", &p, &git_ref);
        assert!(gh.pr.is_none());
        assert_eq!(gh.branch().as_deref(), git_ref.strip_prefix("refs/heads/"));
        assert_ctx_shape(&gh, &[]);
        assert!(assert_ctx_shape(&gh, &[]).get("pr").is_none());
        seen += 1;
    }
    for p in support::github_api::webhook_examples("workflow_dispatch") {
        let git_ref = p["ref"].as_str().unwrap().to_owned();
        let gh = context_of("workflow_dispatch", &p, &git_ref);
        assert!(gh.pr.is_none());
        assert_eq!(gh.branch().as_deref(), git_ref.strip_prefix("refs/heads/"));
        assert_ctx_shape(&gh, &[]);
        seen += 1;
    }
    for p in support::github_api::webhook_examples("merge_group") {
        let gh = context_of("merge_group", &p, "refs/heads/gh-readonly-queue/main/pr-1");
        let mg = &p["merge_group"];
        assert_eq!(gh.sha, mg["head_sha"].as_str().unwrap(), "the merge group's commit is judged");
        assert_eq!(gh.branch().as_deref(), mg["base_ref"].as_str().unwrap().strip_prefix("refs/heads/"));
        assert_ctx_shape(&gh, &[]);
        seen += 1;
    }
    assert!(seen >= 70, "only {seen} payloads read");
}
