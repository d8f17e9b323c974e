//! End-to-end tests of `bylaw ci gitlab` against a local mock of GitLab's
//! REST API v4 (served under `/api/v4` of the mock, as on a self-managed
//! instance). Every request is checked for method, path, query, headers
//! (`PRIVATE-TOKEN`, accept, user agent) and JSON body, and held to the
//! endpoints and parameters of GitLab's REST docs (notes, merge request
//! diffs, commit statuses, members, users). Payloads have the shapes of the
//! docs' examples. The repository under test is a copy of
//! `tests/fixtures/github/repo` (the fixture all adapters share: a
//! blocking, a mandatory and an advisory rule over three Deployments).

mod support;

use serde_json::{json, Value};
use std::path::Path;
use std::process::Command;
use support::mock::{Call, Mock, Reply};
use support::tools::adapter_repo as repo;

const TOKEN: &str = "glpat-bylawTest0123456789SECRET";
const SHA: &str = "6dcb09b5b57875f334f61aebed695e2e4193db5e";
const BASE: &str = "9049f1265b7d61be4a8904a9a27120d2064dab3b";
const ME: u64 = 999;
const PROJECT: &str = "/api/v4/projects/4242";

struct Out {
    code: i32,
    stdout: String,
    stderr: String,
    outputs: String,
    codequality: Value,
    junit: String,
}

impl Out {
    fn output(&self, key: &str) -> String {
        self.outputs
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{key}=")))
            .unwrap_or_else(|| panic!("no {key} in {}", self.outputs))
            .to_owned()
    }
}

/// A merge request pipeline of MR !7 (or a branch pipeline with `mr: false`).
struct Run<'a> {
    dir: &'a Path,
    api: String,
    mr: bool,
    token: bool,
    args: Vec<String>,
}

impl<'a> Run<'a> {
    fn new(dir: &'a Path, mock: &str) -> Run<'a> {
        Run { dir, api: format!("{mock}/api/v4"), mr: true, token: true, args: Vec::new() }
    }

    fn args(mut self, a: &[&str]) -> Self {
        self.args.extend(a.iter().map(|s| s.to_string()));
        self
    }

    fn go(self) -> Out {
        let out_dir = self.dir.join("out");
        let _ = std::fs::remove_dir_all(&out_dir);
        let mut c = Command::new(env!("CARGO_BIN_EXE_bylaw"));
        c.args(["ci", "gitlab", "--outputs", "out/outputs.env", "--codequality", "out/cq.json"])
            .args(["--junit", "out/junit.xml", "--sarif", "out/bylaw.sarif"])
            .args(&self.args);
        c.current_dir(self.dir).env_clear();
        c.env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("BYLAW_NOW", "2026-06-01T12:00:00Z")
            .env("BYLAW_GITLAB_BACKOFF_MS", "10")
            .env("GITLAB_CI", "true")
            .env("CI", "true")
            .env("CI_JOB_TOKEN", "job-token-must-never-be-used")
            .env("CI_PROJECT_ID", "4242")
            .env("CI_PROJECT_PATH", "acme/shop")
            .env("CI_PROJECT_URL", "https://gitlab.example.com/acme/shop")
            .env("CI_SERVER_URL", "https://gitlab.example.com")
            .env("CI_API_V4_URL", &self.api)
            .env("CI_COMMIT_SHA", SHA)
            .env("CI_PIPELINE_ID", "1077")
            .env("CI_PIPELINE_URL", "https://gitlab.example.com/acme/shop/-/pipelines/1077")
            .env("CI_JOB_URL", "https://gitlab.example.com/acme/shop/-/jobs/5001")
            .env("GITLAB_USER_LOGIN", "bob");
        if self.mr {
            c.env("CI_PIPELINE_SOURCE", "merge_request_event")
                .env("CI_MERGE_REQUEST_IID", "7")
                .env("CI_MERGE_REQUEST_PROJECT_ID", "4242")
                .env("CI_MERGE_REQUEST_SOURCE_PROJECT_ID", "4242")
                .env("CI_MERGE_REQUEST_TITLE", "Add the monitoring agent")
                .env("CI_MERGE_REQUEST_SOURCE_BRANCH_NAME", "feature/agent")
                .env("CI_MERGE_REQUEST_TARGET_BRANCH_NAME", "main")
                .env("CI_MERGE_REQUEST_DIFF_BASE_SHA", BASE);
        } else {
            c.env("CI_PIPELINE_SOURCE", "push").env("CI_COMMIT_BRANCH", "main");
        }
        if self.token {
            c.env("BYLAW_GITLAB_TOKEN", TOKEN);
        }
        let out = c.output().unwrap();
        let read = |f: &str| std::fs::read_to_string(out_dir.join(f)).unwrap_or_default();
        let o = Out {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8(out.stdout).unwrap(),
            stderr: String::from_utf8(out.stderr).unwrap(),
            outputs: read("outputs.env"),
            codequality: serde_json::from_str(&read("cq.json")).unwrap_or(Value::Null),
            junit: read("junit.xml"),
        };
        for (what, text) in [("stdout", &o.stdout), ("stderr", &o.stderr), ("junit", &o.junit)] {
            assert!(!text.contains(TOKEN), "the token leaked into {what}");
        }
        assert!(!read("bylaw.sarif").is_empty(), "SARIF is always written");
        o
    }
}

// ---- GitLab's REST API v4, as its docs describe it ----

/// An endpoint: method, path pattern (`:x` segments), allowed query
/// parameters, allowed and required body fields.
struct Endpoint {
    method: &'static str,
    path: &'static str,
    query: &'static [&'static str],
    body: &'static [&'static str],
    required: &'static [&'static str],
}

const ENDPOINTS: &[Endpoint] = &[
    Endpoint { method: "GET", path: "/user", query: &[], body: &[], required: &[] },
    Endpoint {
        method: "GET",
        path: "/projects/:id/merge_requests/:iid/diffs",
        query: &["page", "per_page", "unidiff"],
        body: &[],
        required: &[],
    },
    Endpoint {
        method: "GET",
        path: "/projects/:id/merge_requests/:iid/notes",
        query: &["page", "per_page", "sort", "order_by"],
        body: &[],
        required: &[],
    },
    Endpoint {
        method: "POST",
        path: "/projects/:id/merge_requests/:iid/notes",
        query: &[],
        body: &["body", "created_at", "internal", "merge_request_diff_head_sha"],
        required: &["body"],
    },
    Endpoint {
        method: "PUT",
        path: "/projects/:id/merge_requests/:iid/notes/:note_id",
        query: &[],
        body: &["body", "confidential"],
        required: &["body"],
    },
    Endpoint {
        method: "POST",
        path: "/projects/:id/statuses/:sha",
        query: &[],
        body: &["state", "ref", "name", "context", "target_url", "description", "coverage", "pipeline_id"],
        required: &["state"],
    },
    Endpoint { method: "GET", path: "/projects/:id/members/all/:user_id", query: &[], body: &[], required: &[] },
    Endpoint { method: "GET", path: "/groups/:id/members/all/:user_id", query: &[], body: &[], required: &[] },
];

fn matches(pattern: &str, path: &str) -> bool {
    let (p, a): (Vec<&str>, Vec<&str>) = (pattern.split('/').collect(), path.split('/').collect());
    p.len() == a.len() && p.iter().zip(&a).all(|(p, a)| p.starts_with(':') && !a.is_empty() || p == a)
}

/// Headers, endpoint, query and body of every call.
fn verify(calls: &[Call]) {
    for c in calls {
        assert_eq!(c.header("private-token"), TOKEN, "{}", c.line());
        assert_eq!(c.header("authorization"), "", "{}: one way to authenticate", c.line());
        assert!(!c.line().contains("job-token"), "{}", c.line());
        assert!(c.header("user-agent").starts_with("bylaw/"), "{}", c.line());
        assert_eq!(c.header("accept"), "application/json", "{}", c.line());
        let path = c.path.strip_prefix("/api/v4").unwrap_or_else(|| panic!("{}: not under CI_API_V4_URL", c.line()));
        let e = ENDPOINTS
            .iter()
            .find(|e| e.method == c.method && matches(e.path, path))
            .unwrap_or_else(|| panic!("{}: not an endpoint of GitLab's REST API v4 that bylaw uses", c.line()));
        for k in c.query.keys() {
            assert!(e.query.contains(&k.as_str()), "{}: GitLab has no query parameter {k} here", c.line());
        }
        match &c.body {
            Some(b) => {
                assert!(c.header("content-type").starts_with("application/json"), "{}", c.line());
                let o = b.as_object().unwrap_or_else(|| panic!("{}: body is not an object", c.line()));
                for k in o.keys() {
                    assert!(e.body.contains(&k.as_str()), "{}: GitLab has no parameter {k} here", c.line());
                }
                for k in e.required {
                    assert!(o.contains_key(*k), "{}: {k} is required", c.line());
                }
            }
            None => assert!(e.required.is_empty(), "{}: body required", c.line()),
        }
        if c.method == "POST" && path.contains("/statuses/") {
            let state = c.json()["state"].as_str().unwrap();
            assert!(["pending", "running", "success", "failed", "canceled", "skipped"].contains(&state));
        }
    }
}

fn lines(calls: &[Call]) -> Vec<String> {
    calls.iter().map(Call::line).collect()
}

fn bodies<'c>(calls: &'c [Call], line: &str) -> Vec<&'c Value> {
    calls.iter().filter(|c| c.line() == line).map(Call::json).collect()
}

fn user(id: u64, username: &str) -> Value {
    json!({
        "id": id, "username": username, "name": username.replace('_', " "), "state": "active",
        "locked": false, "avatar_url": format!("https://gitlab.example.com/uploads/-/system/user/avatar/{id}/avatar.png"),
        "web_url": format!("https://gitlab.example.com/{username}"),
    })
}

fn me() -> Value {
    let mut u = user(ME, "project_4242_bot_5e1f0a");
    u["bot"] = json!(true);
    u["created_at"] = json!("2026-01-05T09:00:00.000Z");
    u["public_email"] = Value::Null;
    u
}

fn note(id: u64, author: (u64, &str), body: &str, edited: bool) -> Value {
    json!({
        "id": id, "type": null, "body": body, "attachment": null,
        "author": user(author.0, author.1),
        "created_at": "2026-06-01T10:00:00.123Z",
        "updated_at": if edited { "2026-06-01T10:07:00.000Z" } else { "2026-06-01T10:00:00.127Z" },
        "system": false, "noteable_id": 88, "noteable_type": "MergeRequest", "project_id": 4242,
        "resolvable": false, "confidential": false, "internal": false, "noteable_iid": 7,
        "commands_changes": {},
    })
}

fn system_note(id: u64) -> Value {
    let mut n = note(id, (5, "bob"), "added 1 commit\n\n<ul><li>6dcb09b5 - Add the agent</li></ul>", false);
    n["system"] = json!(true);
    n
}

fn diff(path: &str, diff: &str, new_file: bool) -> Value {
    json!({
        "old_path": path, "new_path": path, "a_mode": if new_file { "0" } else { "100644" }, "b_mode": "100644",
        "diff": diff, "new_file": new_file, "renamed_file": false, "deleted_file": false, "generated_file": false,
    })
}

fn member(id: u64, username: &str, level: u64) -> Reply {
    let mut m = user(id, username);
    m["access_level"] = json!(level);
    m["created_at"] = json!("2025-03-01T10:00:00.000Z");
    m["expires_at"] = Value::Null;
    m["membership_state"] = json!("active");
    Reply::json(200, m)
}

/// The policy's owners list the group @acme/security; `user` is not in it.
fn not_in_security(mock: &Mock, user: u64) {
    mock.expect(
        "GET",
        &format!("/api/v4/groups/acme%2Fsecurity/members/all/{user}"),
        1,
        Reply::json(404, json!({ "message": "404 Not found" })),
    );
}

fn expect_me(mock: &Mock) {
    mock.expect("GET", "/api/v4/user", 1, Reply::json(200, me()));
}

/// `GET …/diffs` in two pages (Link and x-next-page headers, as GitLab sends).
fn expect_diffs(mock: &Mock) {
    mock.expect_with("GET", &format!("{PROJECT}/merge_requests/7/diffs?per_page=100"), 1, |_, base| {
        let next = format!("{base}{PROJECT}/merge_requests/7/diffs?page=2&per_page=100");
        Reply::json(
            200,
            json!([diff("deploy/app.yaml", "@@ -10,4 +10,4 @@\n         - name: web\n           image: ghcr.io/acme/web:latest\n           securityContext:\n-            privileged: false\n+            privileged: true\n", false)]),
        )
        .header("Link", &format!("<{next}>; rel=\"next\", <{next}>; rel=\"last\""))
        .header("x-next-page", "2")
        .header("x-page", "1")
        .header("x-per-page", "100")
    });
    let all: String = (1..=14).map(|i| format!("+line {i}\n")).collect();
    mock.expect(
        "GET",
        &format!("{PROJECT}/merge_requests/7/diffs?page=2&per_page=100"),
        1,
        Reply::json(200, json!([diff("deploy/legacy.yaml", &format!("@@ -0,0 +1,14 @@\n{all}"), true)]))
            .header("x-next-page", "")
            .header("x-page", "2"),
    );
}

fn expect_notes(mock: &Mock, notes: Vec<Value>) {
    mock.expect(
        "GET",
        &format!("{PROJECT}/merge_requests/7/notes?sort=asc&order_by=created_at&per_page=100"),
        1,
        Reply::json(200, Value::Array(notes)),
    );
}

/// Answers a note POST/PUT with the note it makes, written by bylaw's bot user.
fn note_reply(id: u64) -> impl Fn(&Call, &str) -> Reply + Send + 'static {
    move |call, _| {
        Reply::json(
            if call.method == "POST" { 201 } else { 200 },
            note(id, (ME, "project_4242_bot_5e1f0a"), call.json()["body"].as_str().unwrap(), false),
        )
    }
}

fn status_reply() -> Reply {
    Reply::json(
        201,
        json!({
            "id": 93, "sha": SHA, "ref": "feature/agent", "status": "failed", "name": "bylaw",
            "target_url": "https://gitlab.example.com/acme/shop/-/jobs/5001", "description": "…",
            "created_at": "2026-06-01T12:00:01.000Z", "started_at": null, "finished_at": "2026-06-01T12:00:01.000Z",
            "allow_failure": false, "coverage": null, "pipeline_id": 1077, "author": user(ME, "project_4242_bot_5e1f0a"),
        }),
    )
}

fn expect_status(mock: &Mock) {
    mock.expect("POST", &format!("{PROJECT}/statuses/{SHA}"), 1, status_reply());
}

#[test]
fn merge_request_pipeline_gets_a_note_a_status_and_code_quality() {
    let dir = repo();
    let mock = Mock::start();
    expect_me(&mock);
    expect_diffs(&mock);
    expect_notes(&mock, vec![system_note(50), note(51, (5, "bob"), "Ready for review", false)]);
    expect_status(&mock);
    mock.expect_with("POST", &format!("{PROJECT}/merge_requests/7/notes"), 1, note_reply(9000));
    let o = Run::new(dir.path(), &mock.url).go();
    let calls = mock.finish();
    verify(&calls);
    assert_eq!(o.code, 1, "{}\n{}", o.stdout, o.stderr);
    assert_eq!(
        (o.output("verdict"), o.output("blocking"), o.output("advisory")),
        ("fail".into(), "3".into(), "1".into())
    );

    let status = bodies(&calls, &format!("POST {PROJECT}/statuses/{SHA}"))[0];
    assert_eq!(status["state"], "failed");
    assert_eq!(status["name"], "bylaw");
    assert_eq!(status["description"], "3 blocking, 1 advisory, 0 excepted");
    assert_eq!(status["target_url"], "https://gitlab.example.com/acme/shop/-/jobs/5001");
    assert_eq!(status["pipeline_id"], 1077);

    let note = bodies(&calls, &format!("POST {PROJECT}/merge_requests/7/notes"))[0]["body"].as_str().unwrap();
    assert!(note.starts_with("<!-- bylaw:report -->"), "{note}");
    assert!(note.contains("**Blocking findings**"), "{note}");
    assert!(
        note.contains(&format!(
            "[`deploy/app.yaml:13`](https://gitlab.example.com/acme/shop/-/blob/{SHA}/deploy/app.yaml#L13) `GH-001`"
        )),
        "{note}"
    );
    assert!(note.contains("/bylaw except RULE [PATH] -- reason"), "{note}");
    assert!(note.contains("[Pipeline](https://gitlab.example.com/acme/shop/-/pipelines/1077)"), "{note}");

    // Code Quality, field by field: one entry per finding, in report order
    let cq = o.codequality.as_array().expect("a JSON array");
    assert_eq!(cq.len(), 4, "{:#}", o.codequality);
    let by = |rule: &str, path: &str| {
        cq.iter()
            .find(|i| i["check_name"] == rule && i["location"]["path"] == path)
            .unwrap_or_else(|| panic!("{rule} {path}"))
    };
    let app = by("GH-001", "deploy/app.yaml");
    assert_eq!(
        app["description"],
        "[GH-001] container web runs privileged Remediation: Set securityContext.privileged to false."
    );
    assert_eq!(app["severity"], "critical");
    assert_eq!(app["location"]["lines"]["begin"], 13);
    assert_eq!(app["type"], "issue");
    assert_eq!(app["categories"], json!(["Security"]));
    let fp = app["fingerprint"].as_str().unwrap();
    assert!(fp.len() >= 32 && fp.chars().all(|c| c.is_ascii_hexdigit()), "{fp}");
    assert_eq!(by("GH-002", "deploy/legacy.yaml")["severity"], "blocker", "mandatory");
    assert_eq!(by("GH-002", "deploy/legacy.yaml")["location"]["lines"]["begin"], 9);
    assert_eq!(by("GH-003", "deploy/app.yaml")["severity"], "minor", "advisory, medium severity");
    let fps: std::collections::BTreeSet<&str> = cq.iter().map(|i| i["fingerprint"].as_str().unwrap()).collect();
    assert_eq!(fps.len(), cq.len(), "fingerprints are unique");
    assert!(o.junit.contains("<failure"), "{}", o.junit);
}

#[test]
fn the_note_is_updated_in_place_and_the_status_follows_a_green_pipeline() {
    let dir = repo();
    // the MR removed the findings that fail the run
    std::fs::remove_file(dir.path().join("deploy/legacy.yaml")).unwrap();
    let app = std::fs::read_to_string(dir.path().join("deploy/app.yaml")).unwrap();
    std::fs::write(dir.path().join("deploy/app.yaml"), app.replace("privileged: true", "privileged: false")).unwrap();
    let mock = Mock::start();
    expect_me(&mock);
    expect_diffs(&mock);
    let old = note(9000, (ME, "project_4242_bot_5e1f0a"), "<!-- bylaw:report -->\nold summary", false);
    // a note by someone else carrying the marker is not bylaw's
    let forged = note(60, (6, "mallory"), "<!-- bylaw:report -->\nall good", false);
    expect_notes(&mock, vec![forged, old]);
    mock.expect_with("POST", &format!("{PROJECT}/statuses/{SHA}"), 1, |_, _| {
        Reply::json(400, json!({ "message": "Cannot transition status via :run from :success" }))
    });
    mock.expect_with("PUT", &format!("{PROJECT}/merge_requests/7/notes/9000"), 1, note_reply(9000));
    let o = Run::new(dir.path(), &mock.url).go();
    let calls = mock.finish();
    verify(&calls);
    assert_eq!(o.code, 0, "{}\n{}", o.stdout, o.stderr);
    assert!(!o.stderr.contains("warning"), "a status already set is fine: {}", o.stderr);
    let status = bodies(&calls, &format!("POST {PROJECT}/statuses/{SHA}"))[0];
    assert_eq!(status["state"], "success");
    assert_eq!(status["description"], "0 blocking, 1 advisory, 0 excepted");
    let body = bodies(&calls, &format!("PUT {PROJECT}/merge_requests/7/notes/9000"))[0]["body"].as_str().unwrap();
    assert!(body.starts_with("<!-- bylaw:report -->") && !body.contains("old summary"), "{body}");
    assert!(!calls.iter().any(|c| c.method == "POST" && c.path.ends_with("/notes")), "never a second note");
}

#[test]
fn a_branch_pipeline_sets_the_status_only_and_never_reads_merge_requests() {
    let dir = repo();
    let mock = Mock::start();
    expect_status(&mock);
    let mut run = Run::new(dir.path(), &mock.url);
    run.mr = false;
    let o = run.go();
    let calls = mock.finish();
    verify(&calls);
    assert_eq!(lines(&calls), vec![format!("POST {PROJECT}/statuses/{SHA}")]);
    assert_eq!(o.code, 1);
}

fn request_thread() -> Vec<Value> {
    vec![note(
        101,
        (5, "bob"),
        "/bylaw except GH-001 deploy/app.yaml -- vendor agent until the CNI migration expires=30d",
        false,
    )]
}

#[test]
fn exception_request_then_maintainer_approval_honoured_on_the_next_pipelines() {
    let dir = repo();
    // pipeline 1: the request is answered with a request note
    let mock = Mock::start();
    expect_me(&mock);
    expect_diffs(&mock);
    expect_notes(&mock, request_thread());
    mock.expect_with("POST", &format!("{PROJECT}/merge_requests/7/notes"), 2, |call, base| {
        let id = if call.json()["body"].as_str().unwrap().contains("bylaw:request") { 900 } else { 901 };
        note_reply(id)(call, base)
    });
    let o = Run::new(dir.path(), &mock.url).args(&["--status", "false"]).go();
    let calls = mock.finish();
    verify(&calls);
    assert_eq!(o.output("excepted"), "0", "pending requests change nothing");
    let posted = bodies(&calls, &format!("POST {PROJECT}/merge_requests/7/notes"));
    let request = posted[0]["body"].as_str().unwrap().to_owned();
    assert!(request.starts_with("<!-- bylaw:request REQ-101 --><!-- bylaw:re 101 -->"), "{request}");
    assert!(request.contains("@bob asks to except `GH-001` on `deploy/app.yaml` until 2026-07-01"), "{request}");
    assert!(request.contains("⏳ **pending**"), "{request}");
    assert!(posted[1]["body"].as_str().unwrap().starts_with("<!-- bylaw:report -->"));

    // pipeline 2: dave (a Maintainer) approved; the request note is updated and the exception honoured
    let mut thread = request_thread();
    thread.push(note(900, (ME, "project_4242_bot_5e1f0a"), &request, false));
    thread.push(note(901, (ME, "project_4242_bot_5e1f0a"), "<!-- bylaw:report -->\nsummary", false));
    thread.push(note(102, (8, "erin"), "/bylaw approve REQ-101", false));
    let mock = Mock::start();
    expect_me(&mock);
    expect_diffs(&mock);
    expect_notes(&mock, thread.clone());
    not_in_security(&mock, 8);
    mock.expect("GET", &format!("{PROJECT}/members/all/8"), 1, member(8, "erin", 40));
    mock.expect_with("PUT", &format!("{PROJECT}/merge_requests/7/notes/900"), 1, note_reply(900));
    mock.expect_with("PUT", &format!("{PROJECT}/merge_requests/7/notes/901"), 1, note_reply(901));
    let o = Run::new(dir.path(), &mock.url).args(&["--status", "false"]).go();
    let calls = mock.finish();
    verify(&calls);
    let updated =
        bodies(&calls, &format!("PUT {PROJECT}/merge_requests/7/notes/900"))[0]["body"].as_str().unwrap().to_owned();
    assert!(updated.contains("<!-- bylaw:re 101 --><!-- bylaw:re 102 -->"), "{updated}");
    assert!(
        updated.contains("✅ **approved** by @erin in https://gitlab.example.com/acme/shop/-/merge_requests/7#note_102 (@\u{200B}erin is Maintainer of acme/shop)"),
        "{updated}"
    );
    assert_eq!(o.output("excepted"), "1", "{}", o.stdout);
    assert_eq!(o.output("blocking"), "2");
    assert!(
        o.stdout.contains("  - id: REQ-101\n    rules: [\"GH-001\"]\n    targets: [\"deploy/app.yaml\"]"),
        "{}",
        o.stdout
    );
    assert!(o.stdout.contains("approved_by: [\"erin\"]\n    expires: 2026-07-01"), "{}", o.stdout);
    assert!(o.junit.contains("REQ-101"), "the excepted finding is reported with its exception");
    assert!(
        !o.codequality
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["check_name"] == "GH-001" && i["location"]["path"] == "deploy/app.yaml"),
        "excepted findings are not Code Quality issues"
    );
    let summary = bodies(&calls, &format!("PUT {PROJECT}/merge_requests/7/notes/901"))[0]["body"].as_str().unwrap();
    assert!(summary.contains("Approved exception requests honoured here"), "{summary}");

    // pipeline 3: nothing new to answer; the approver is verified again, the exception still honoured
    let mut thread3 = thread;
    thread3[1] = note(900, (ME, "project_4242_bot_5e1f0a"), &updated, false);
    let mock = Mock::start();
    expect_me(&mock);
    expect_diffs(&mock);
    expect_notes(&mock, thread3);
    not_in_security(&mock, 8);
    mock.expect("GET", &format!("{PROJECT}/members/all/8"), 1, member(8, "erin", 40));
    mock.expect_with("PUT", &format!("{PROJECT}/merge_requests/7/notes/901"), 1, note_reply(901));
    let o = Run::new(dir.path(), &mock.url).args(&["--status", "false"]).go();
    let calls = mock.finish();
    verify(&calls);
    assert_eq!(o.output("excepted"), "1");
    assert!(!calls.iter().any(|c| c.path.ends_with("/notes/900") || c.method == "POST"), "{:?}", lines(&calls));
}

#[test]
fn approval_by_a_developer_is_refused_with_the_reason_once() {
    let dir = repo();
    let request = "<!-- bylaw:request REQ-101 --><!-- bylaw:re 101 -->\npending";
    let mut thread = request_thread();
    thread.push(note(900, (ME, "project_4242_bot_5e1f0a"), request, false));
    thread.push(note(103, (9, "frank"), "/bylaw approve REQ-101", false));
    // an edited approval by a Maintainer is refused too
    thread.push(note(104, (8, "erin"), "/bylaw approve REQ-101", true));
    let mock = Mock::start();
    expect_me(&mock);
    expect_diffs(&mock);
    expect_notes(&mock, thread.clone());
    not_in_security(&mock, 9);
    mock.expect("GET", &format!("{PROJECT}/members/all/9"), 1, member(9, "frank", 30));
    mock.expect_with("POST", &format!("{PROJECT}/merge_requests/7/notes"), 2, note_reply(950));
    let o = Run::new(dir.path(), &mock.url).args(&["--status", "false", "--note", "never"]).go();
    let calls = mock.finish();
    verify(&calls);
    assert_eq!(o.output("excepted"), "0");
    assert!(!calls.iter().any(|c| c.method == "PUT"), "a refusal changes nothing: {:?}", lines(&calls));
    let replies: Vec<String> = bodies(&calls, &format!("POST {PROJECT}/merge_requests/7/notes"))
        .iter()
        .map(|b| b["body"].as_str().unwrap().to_owned())
        .collect();
    assert!(
        replies[0].starts_with("<!-- bylaw:re 103 -->\n> /bylaw approve REQ-101\n\n@frank not authorized"),
        "{}",
        replies[0]
    );
    assert!(replies[0].contains("has the Developer role in acme/shop (Maintainer or above needed)"), "{}", replies[0]);
    assert!(replies[1].starts_with("<!-- bylaw:re 104 -->") && replies[1].contains("was edited"), "{}", replies[1]);

    // the next pipeline does not answer again
    thread.push(note(950, (ME, "project_4242_bot_5e1f0a"), &replies[0], false));
    thread.push(note(951, (ME, "project_4242_bot_5e1f0a"), &replies[1], false));
    let mock = Mock::start();
    expect_me(&mock);
    expect_diffs(&mock);
    expect_notes(&mock, thread);
    not_in_security(&mock, 9);
    mock.expect("GET", &format!("{PROJECT}/members/all/9"), 1, member(9, "frank", 30));
    let o = Run::new(dir.path(), &mock.url).args(&["--status", "false", "--note", "never"]).go();
    let calls = mock.finish();
    verify(&calls);
    assert_eq!(o.output("excepted"), "0");
    assert!(!calls.iter().any(|c| c.method != "GET"), "{:?}", lines(&calls));
}

#[test]
fn listed_approvers_and_group_members_are_authorized() {
    let dir = repo();
    // dave is listed among the policy's owners; @acme/security is a listed group
    let mut thread = request_thread();
    thread.push(note(105, (11, "grace"), "/bylaw approve REQ-101", false));
    let mock = Mock::start();
    expect_me(&mock);
    expect_diffs(&mock);
    expect_notes(&mock, thread);
    mock.expect("GET", "/api/v4/groups/acme%2Fsecurity/members/all/11", 1, member(11, "grace", 30));
    // the request and its approval came in before one pipeline: one request note, already approved
    mock.expect_with("POST", &format!("{PROJECT}/merge_requests/7/notes"), 1, note_reply(900));
    let o = Run::new(dir.path(), &mock.url).args(&["--status", "false", "--note", "never"]).go();
    let calls = mock.finish();
    verify(&calls);
    let body = bodies(&calls, &format!("POST {PROJECT}/merge_requests/7/notes"))[0]["body"].as_str().unwrap();
    assert!(body.contains("<!-- bylaw:re 101 --><!-- bylaw:re 105 -->"), "{body}");
    assert!(
        body.contains("✅ **approved** by @grace")
            && body.contains("@\u{200B}grace is a member of @\u{200B}acme/security"),
        "{body}"
    );
    assert_eq!(o.output("excepted"), "1");
}

#[test]
fn with_only_the_job_token_it_degrades_to_artifacts_and_exit_code_with_one_warning() {
    let dir = repo();
    let mock = Mock::start();
    let mut run = Run::new(dir.path(), &mock.url);
    run.token = false;
    let o = run.go();
    let calls = mock.finish();
    assert!(calls.is_empty(), "no API call without a token: {:?}", lines(&calls));
    assert_eq!(o.code, 1);
    assert_eq!(o.stderr.matches("warning").count(), 1, "{}", o.stderr);
    assert!(
        o.stderr.contains("no BYLAW_GITLAB_TOKEN (CI_JOB_TOKEN cannot write notes or commit statuses)"),
        "{}",
        o.stderr
    );
    assert_eq!(o.codequality.as_array().unwrap().len(), 4);
    assert!(o.junit.contains("<testsuites"));
}

#[test]
fn a_read_only_token_degrades_with_one_warning() {
    let dir = repo();
    let mock = Mock::start();
    let forbidden = Reply::json(403, json!({ "message": "403 Forbidden" }));
    mock.expect("GET", "/api/v4/user", 1, forbidden.clone());
    mock.expect("GET", &format!("{PROJECT}/merge_requests/7/diffs?per_page=100"), 1, forbidden.clone());
    mock.expect(
        "GET",
        &format!("{PROJECT}/merge_requests/7/notes?sort=asc&order_by=created_at&per_page=100"),
        1,
        forbidden.clone(),
    );
    mock.expect("POST", &format!("{PROJECT}/statuses/{SHA}"), 1, forbidden.clone());
    mock.expect("POST", &format!("{PROJECT}/merge_requests/7/notes"), 1, forbidden);
    let o = Run::new(dir.path(), &mock.url).go();
    let calls = mock.finish();
    verify(&calls);
    assert_eq!(o.code, 1, "the verdict stands");
    assert_eq!(o.stderr.matches("warning").count(), 1, "{}", o.stderr);
    assert!(o.stderr.contains("the GitLab token cannot"), "{}", o.stderr);
    assert_eq!(o.codequality.as_array().unwrap().len(), 4);
}

#[test]
fn retries_after_5xx_and_429_honouring_retry_after() {
    let dir = repo();
    let mock = Mock::start();
    expect_me(&mock);
    let notes = format!("{PROJECT}/merge_requests/7/notes?sort=asc&order_by=created_at&per_page=100");
    let n = std::sync::atomic::AtomicUsize::new(0);
    mock.expect_with("GET", &notes, 3, move |_, _| match n.fetch_add(1, std::sync::atomic::Ordering::SeqCst) {
        0 => Reply::json(502, json!({ "message": "502 Bad Gateway" })),
        1 => Reply::json(429, json!({ "message": "429 Too Many Requests" })).header("Retry-After", "1"),
        _ => Reply::json(200, json!([])),
    });
    expect_diffs(&mock);
    expect_status(&mock);
    mock.expect_with("POST", &format!("{PROJECT}/merge_requests/7/notes"), 1, note_reply(9000));
    let started = std::time::Instant::now();
    let o = Run::new(dir.path(), &mock.url).go();
    let calls = mock.finish();
    verify(&calls);
    assert!(started.elapsed() >= std::time::Duration::from_secs(1), "Retry-After: 1 was honoured");
    assert_eq!(o.code, 1);
    assert!(!o.stderr.contains("warning: could not"), "{}", o.stderr);
}
