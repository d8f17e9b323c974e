//! `bylaw ci jenkins` end to end: a build reported in Jenkins only, and
//! builds of GitHub and GitLab changes publishing through those adapters
//! (against local mocks checking every request); and the promise of the
//! adapters: given the same repository, policies and exceptions,
//! `bylaw ci github`, `bylaw ci gitlab` and `bylaw ci jenkins` reach the
//! same verdict with the same findings.

mod support;

use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;
use support::github_api::spec;
use support::mock::{Call, Mock, Reply};
use support::tools::adapter_repo;

const TOKEN: &str = "scm-token-0123456789-SECRET";
const HEAD: &str = "6dcb09b5b57875f334f61aebed695e2e4193db5e";
const MERGE: &str = "1111111111111111111111111111111111111111";

/// The shared adapter fixture plus an exception list excepting GH-001 on legacy.yaml.
fn repo() -> tempfile::TempDir {
    let dir = adapter_repo();
    std::fs::write(
        dir.path().join("exceptions.yaml"),
        "apiVersion: bylaw/v1\nkind: ExceptionList\nexceptions:\n  - id: EXC-9\n    rules: [GH-001]\n    targets: [\"deploy/legacy.yaml\"]\n    reason: vendor agent until the CNI migration\n    approved_by: [carol]\n    expires: 2026-12-31\n",
    )
    .unwrap();
    let cfg = std::fs::read_to_string(dir.path().join(".bylaw.yaml")).unwrap();
    std::fs::write(dir.path().join(".bylaw.yaml"), format!("{cfg}exceptions: [exceptions.yaml]\n")).unwrap();
    dir
}

struct Out {
    code: i32,
    stdout: String,
    stderr: String,
    outputs: String,
    junit: String,
    sarif: Value,
}

fn bylaw(dir: &Path, args: &[&str], env: &[(&str, String)]) -> Out {
    let _ = std::fs::remove_dir_all(dir.join("out"));
    let mut c = Command::new(env!("CARGO_BIN_EXE_bylaw"));
    c.args(args).current_dir(dir).env_clear();
    c.env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("BYLAW_NOW", "2026-06-01T12:00:00Z")
        .env("BYLAW_GITHUB_BACKOFF_MS", "10")
        .env("BYLAW_GITLAB_BACKOFF_MS", "10");
    for (k, v) in env {
        c.env(k, v);
    }
    let out = c.output().unwrap();
    let read = |f: &str| std::fs::read_to_string(dir.join("out").join(f)).unwrap_or_default();
    let o = Out {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8(out.stdout).unwrap(),
        stderr: String::from_utf8(out.stderr).unwrap(),
        outputs: read("outputs.txt"),
        junit: read("junit.xml"),
        sarif: serde_json::from_str(&read("bylaw.sarif")).unwrap_or(Value::Null),
    };
    for text in [&o.stdout, &o.stderr, &o.outputs, &o.junit] {
        assert!(!text.contains(TOKEN), "the token leaked");
    }
    o
}

const FILES: [&str; 6] = ["--sarif", "out/bylaw.sarif", "--junit", "out/junit.xml", "--outputs", "out/outputs.txt"];

fn jenkins_env(change_url: &str, git_url: &str) -> Vec<(&'static str, String)> {
    vec![
        ("JENKINS_URL", "https://ci.acme.io/".into()),
        ("BUILD_URL", "https://ci.acme.io/job/shop/job/PR-7/3/".into()),
        ("CHANGE_ID", "7".into()),
        ("CHANGE_TARGET", "main".into()),
        ("CHANGE_BRANCH", "feature/agent".into()),
        ("CHANGE_AUTHOR", "bob".into()),
        ("CHANGE_TITLE", "Add the monitoring agent".into()),
        ("CHANGE_URL", change_url.into()),
        ("GIT_URL", git_url.into()),
        ("GIT_COMMIT", MERGE.into()),
        ("BRANCH_NAME", "PR-7".into()),
    ]
}

/// (rule, file, line) of the SARIF results that are not suppressed.
fn sarif_findings(sarif: &Value) -> BTreeSet<(String, String, u64)> {
    sarif["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r.get("suppressions").is_none())
        .map(|r| {
            let loc = &r["locations"][0]["physicalLocation"];
            (
                r["ruleId"].as_str().unwrap().to_owned(),
                loc["artifactLocation"]["uri"].as_str().unwrap().to_owned(),
                loc["region"]["startLine"].as_u64().unwrap(),
            )
        })
        .collect()
}

/// JUnit test cases with their outcome.
fn junit_cases(xml: &str) -> BTreeSet<(String, String)> {
    let doc = roxmltree::Document::parse(xml).unwrap_or_else(|e| panic!("{e}: {xml}"));
    doc.descendants()
        .filter(|n| n.has_tag_name("testcase"))
        .map(|n| {
            let outcome = n
                .children()
                .find(|c| c.is_element() && ["failure", "skipped", "error"].contains(&c.tag_name().name()))
                .map(|c| c.tag_name().name().to_owned())
                .unwrap_or_else(|| "passed".into());
            (n.attribute("name").unwrap_or_default().to_owned(), outcome)
        })
        .collect()
}

#[test]
fn a_build_without_an_scm_token_reports_in_jenkins_only() {
    let dir = repo();
    let mut args = vec!["ci", "jenkins"];
    args.extend(FILES);
    let o = bylaw(dir.path(), &args, &jenkins_env("", "https://git.acme.io/shop.git"));
    assert_eq!(o.code, 1, "{}\n{}", o.stdout, o.stderr);
    assert_eq!(o.outputs, "verdict=fail\nblocking=2\nadvisory=1\nexcepted=1\n");
    assert!(o.stdout.contains("deploy/app.yaml:13:13: error [GH-001] container web runs privileged"), "{}", o.stdout);
    assert!(!o.stderr.contains("warning"), "an unknown SCM is not a problem: {}", o.stderr);
    assert_eq!(sarif_findings(&o.sarif).len(), 3, "excepted findings stay out of the SARIF Warnings NG records");
    assert!(
        junit_cases(&o.junit)
            .contains(&("GH-001 Containers must not run privileged: deploy/legacy.yaml".into(), "skipped".into())),
        "{}",
        o.junit
    );

    // a GitHub change without a token: one warning, same results
    let o2 = bylaw(dir.path(), &args, &jenkins_env("https://github.com/acme/shop/pull/7", ""));
    assert_eq!(o2.code, 1);
    assert_eq!(o2.stderr.matches("warning").count(), 1, "{}", o2.stderr);
    assert!(o2.stderr.contains("no SCM token"), "{}", o2.stderr);
    assert_eq!(o2.outputs, o.outputs);
}

#[test]
fn a_github_change_build_publishes_a_status_and_a_comment_through_the_github_adapter() {
    let dir = repo();
    let mock = Mock::start();
    let mut pr = spec().example("GET", "/repos/{owner}/{repo}/pulls/{pull_number}", 200);
    pr["number"] = json!(7);
    pr["head"]["sha"] = json!(HEAD);
    pr["head"]["repo"]["full_name"] = json!("acme/shop");
    pr["base"]["ref"] = json!("main");
    pr["base"]["repo"]["full_name"] = json!("acme/shop");
    mock.expect("GET", "/repos/acme/shop/pulls/7", 1, Reply::json(200, pr));
    mock.expect("GET", "/repos/acme/shop/pulls/7/files?per_page=100", 1, Reply::json(200, json!([])));
    mock.expect("GET", "/repos/acme/shop/issues/7/comments?per_page=100", 1, Reply::json(200, json!([])));
    let status = spec().example("POST", "/repos/{owner}/{repo}/statuses/{sha}", 201);
    mock.expect("POST", &format!("/repos/acme/shop/statuses/{HEAD}"), 1, Reply::json(201, status));
    let comment = spec().example("POST", "/repos/{owner}/{repo}/issues/{issue_number}/comments", 201);
    mock.expect("POST", "/repos/acme/shop/issues/7/comments", 1, Reply::json(201, comment));
    let mut args = vec!["ci", "jenkins", "--api-url", &mock.url];
    args.extend(FILES);
    let mut env = jenkins_env("https://github.com/acme/shop/pull/7", "https://github.com/acme/shop.git");
    env.push(("BYLAW_SCM_TOKEN", TOKEN.into()));
    let o = bylaw(dir.path(), &args, &env);
    let calls = mock.finish();
    for c in &calls {
        assert_eq!(c.header("authorization"), format!("Bearer {TOKEN}"), "{}", c.line());
        spec().check(c, "").unwrap_or_else(|e| panic!("{e}"));
    }
    assert_eq!(o.code, 1, "{}\n{}", o.stdout, o.stderr);
    let body = |line: &str| calls.iter().find(|c| c.line() == line).map(Call::json).unwrap().clone();
    let st = body(&format!("POST /repos/acme/shop/statuses/{HEAD}"));
    assert_eq!(
        (st["state"].as_str(), st["context"].as_str()),
        (Some("failure"), Some("bylaw")),
        "on the PR head, not Jenkins' merge"
    );
    assert_eq!(st["target_url"], "https://ci.acme.io/job/shop/job/PR-7/3/");
    let c = body("POST /repos/acme/shop/issues/7/comments");
    assert!(c["body"].as_str().unwrap().contains("[Jenkins build](https://ci.acme.io/job/shop/job/PR-7/3/)"));
    assert!(!o.stdout.contains("::error"), "no workflow commands outside GitHub Actions");
    assert_eq!(
        o.outputs.lines().take(4).collect::<Vec<_>>(),
        vec!["verdict=fail", "blocking=2", "advisory=1", "excepted=1"]
    );
}

#[test]
fn a_gitlab_change_build_publishes_a_status_and_a_note_through_the_gitlab_adapter() {
    let dir = repo();
    let mock = Mock::start();
    let project = "/api/v4/projects/platform%2Fshop";
    mock.expect(
        "GET",
        &format!("{project}/merge_requests/7"),
        1,
        Reply::json(200, json!({ "id": 88, "iid": 7, "project_id": 4242, "title": "Add the monitoring agent", "state": "opened", "sha": HEAD, "diff_refs": { "base_sha": "9049f1265b7d61be4a8904a9a27120d2064dab3b", "head_sha": HEAD, "start_sha": "9049f1265b7d61be4a8904a9a27120d2064dab3b" } })),
    );
    mock.expect(
        "GET",
        "/api/v4/user",
        1,
        Reply::json(200, json!({ "id": 999, "username": "project_4242_bot_5e1f0a" })),
    );
    mock.expect("GET", &format!("{project}/merge_requests/7/diffs?per_page=100"), 1, Reply::json(200, json!([])));
    mock.expect(
        "GET",
        &format!("{project}/merge_requests/7/notes?sort=asc&order_by=created_at&per_page=100"),
        1,
        Reply::json(200, json!([])),
    );
    mock.expect(
        "POST",
        &format!("{project}/statuses/{HEAD}"),
        1,
        Reply::json(201, json!({ "id": 93, "status": "failed" })),
    );
    mock.expect(
        "POST",
        &format!("{project}/merge_requests/7/notes"),
        1,
        Reply::json(201, json!({ "id": 9000, "body": "…" })),
    );
    let api = format!("{}/api/v4", mock.url);
    let mut args = vec!["ci", "jenkins", "--api-url", &api];
    args.extend(FILES);
    let mut env =
        jenkins_env("https://code.acme.io/platform/shop/-/merge_requests/7", "https://code.acme.io/platform/shop.git");
    env.push(("BYLAW_SCM_TOKEN", TOKEN.into()));
    let o = bylaw(dir.path(), &args, &env);
    let calls = mock.finish();
    for c in &calls {
        assert_eq!(c.header("private-token"), TOKEN, "{}", c.line());
    }
    assert_eq!(o.code, 1, "{}\n{}", o.stdout, o.stderr);
    let st = calls.iter().find(|c| c.method == "POST" && c.path.contains("/statuses/")).unwrap().json().clone();
    assert_eq!((st["state"].as_str(), st["name"].as_str()), (Some("failed"), Some("bylaw")));
    assert!(!dir.path().join("gl-code-quality-report.json").exists(), "no Code Quality file in Jenkins");
    assert_eq!(o.outputs, "verdict=fail\nblocking=2\nadvisory=1\nexcepted=1\n");
}

#[test]
fn github_gitlab_and_jenkins_reach_the_same_verdict_with_the_same_findings() {
    let dir = repo();
    let events = tempfile::tempdir().unwrap();
    let payload = events.path().join("event.json");
    std::fs::write(
        &payload,
        json!({ "action": "opened", "number": 7, "pull_request": { "number": 7, "title": "Add the monitoring agent", "body": "", "user": { "login": "bob" }, "labels": [], "draft": false, "html_url": "https://github.com/acme/shop/pull/7", "head": { "ref": "feature/agent", "sha": HEAD, "repo": { "full_name": "acme/shop" } }, "base": { "ref": "main", "sha": "9049f1265b7d61be4a8904a9a27120d2064dab3b", "repo": { "full_name": "acme/shop" } } } }).to_string(),
    )
    .unwrap();
    let gh_env = vec![
        ("GITHUB_ACTIONS", "true".to_owned()),
        ("GITHUB_REPOSITORY", "acme/shop".into()),
        ("GITHUB_EVENT_NAME", "pull_request".into()),
        ("GITHUB_EVENT_PATH", payload.display().to_string()),
        ("GITHUB_SHA", MERGE.into()),
        ("GITHUB_REF", "refs/pull/7/merge".into()),
        ("GITHUB_OUTPUT", dir.path().join("out/outputs.txt").display().to_string()),
    ];
    let gl_env = vec![
        ("GITLAB_CI", "true".to_owned()),
        ("CI_PROJECT_ID", "4242".into()),
        ("CI_API_V4_URL", "http://127.0.0.1:9/api/v4".into()),
        ("CI_PROJECT_PATH", "acme/shop".into()),
        ("CI_COMMIT_SHA", HEAD.into()),
        ("CI_PIPELINE_SOURCE", "merge_request_event".into()),
        ("CI_MERGE_REQUEST_IID", "7".into()),
        ("CI_MERGE_REQUEST_SOURCE_BRANCH_NAME", "feature/agent".into()),
        ("CI_MERGE_REQUEST_TARGET_BRANCH_NAME", "main".into()),
    ];
    let run = |platform: &str, env: &[(&str, String)]| {
        let mut args = vec!["ci", platform, "--sarif", "out/bylaw.sarif", "--junit", "out/junit.xml"];
        if platform != "github" {
            args.extend(["--outputs", "out/outputs.txt"]);
        }
        std::fs::create_dir_all(dir.path().join("out")).unwrap();
        let o = bylaw(dir.path(), &args, env);
        assert!(o.code == 0 || o.code == 1, "{platform}: {}\n{}", o.stdout, o.stderr);
        o
    };
    // `bylaw` removes out/ before each run; GitHub appends to GITHUB_OUTPUT, which lives there
    let gh = run("github", &gh_env);
    let gl = run("gitlab", &gl_env);
    let jk = run("jenkins", &jenkins_env("https://github.com/acme/shop/pull/7", ""));
    let summary = |o: &Out| o.outputs.lines().take(4).map(str::to_owned).collect::<Vec<_>>();
    assert_eq!(summary(&gh), vec!["verdict=fail", "blocking=2", "advisory=1", "excepted=1"], "{}", gh.stdout);
    for (name, o) in [("gitlab", &gl), ("jenkins", &jk)] {
        assert_eq!(o.code, gh.code, "{name}: exit code");
        assert_eq!(summary(o), summary(&gh), "{name}: verdict and counts");
        assert_eq!(junit_cases(&o.junit), junit_cases(&gh.junit), "{name}: the same findings and outcomes");
        assert_eq!(sarif_findings(&o.sarif), sarif_findings(&gh.sarif), "{name}: the same unsuppressed findings");
    }
    assert_eq!(sarif_findings(&gh.sarif).len(), 3);
    // and the text reports list the same findings
    let findings = |o: &Out| {
        o.stdout
            .lines()
            .filter(|l| l.contains(": error [") || l.contains(": warning ["))
            .map(str::to_owned)
            .collect::<Vec<_>>()
    };
    assert_eq!(findings(&gl), findings(&gh));
    assert_eq!(findings(&jk), findings(&gh));
}
