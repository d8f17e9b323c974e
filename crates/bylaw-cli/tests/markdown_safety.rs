//! End-to-end: text from inputs (a manifest's name and annotation, a rule's
//! title and remediation from the repository's own policy) reaches every
//! Markdown output — `check --format markdown`, the PR summary comment,
//! the job summary and the impact comment — with nothing in it live: no
//! mention, cross-reference, emphasis, link, image, raw HTML or extra
//! table cell. The PR is checked against a local mock of GitHub's API that
//! holds every request to GitHub's OpenAPI description.

mod support;

use serde_json::{json, Value};
use std::path::Path;
use std::process::Command;
use support::cli::{bylaw_in, write};
use support::github_api::spec;
use support::mock::{Call, Mock, Reply};

const HOSTILE: &str = "@org/team **x** <img src=x> [a](http://e) | #1";
/// The same, as bylaw writes it in Markdown: a ZERO WIDTH SPACE after `@`,
/// `#`, `[` and `://`, CommonMark punctuation backslash-escaped, `<>` as entities.
const ESCAPED: &str =
    "@\u{200B}org/team \\*\\*x\\*\\* &lt;img src=x&gt; \\[\u{200B}a\\](http:\u{200B}//e) \\| #\u{200B}1";
const TOKEN: &str = "ghs_bylawTest0123456789SECRETtoken";

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

fn policy(with_rule: bool) -> String {
    let mut p = String::from(
        "apiVersion: bylaw/v1\nkind: Policy\nmetadata:\n  name: notes\n  version: 1.0.0\nspec:\n  match:\n    kinds: [Deployment]\n  rules:\n    - id: N-000\n      title: Deployments have a name\n      deny: \"doc.metadata.name == ''\"\n      message: unnamed\n",
    );
    if with_rule {
        p.push_str(&format!(
            "    - id: N-001\n      title: \"Ping {HOSTILE}\"\n      deny: \"has(doc.metadata.annotations.note)\"\n      message: \"note {{{{ doc.metadata.annotations.note }}}}\"\n      remediation: \"Ask {HOSTILE} or see `docs` <details>\"\n"
        ));
    }
    p
}

/// A repository whose policy gains N-001 in its second commit; a
/// Deployment named and annotated with [`HOSTILE`]. Returns the base commit.
fn repo(dir: &Path) -> String {
    write(dir, ".bylaw.yaml", "policies: [policies]\npaths: [deploy]\n");
    write(dir, "policies/notes.yaml", &policy(false));
    write(
        dir,
        "deploy/app.yaml",
        &format!(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: \"{HOSTILE}\"\n  namespace: prod\n  annotations:\n    note: \"{HOSTILE}\"\n"
        ),
    );
    git(dir, &["init", "-q", "-b", "main"]);
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-q", "-m", "base"]);
    let base = git(dir, &["rev-parse", "HEAD"]);
    write(dir, "policies/notes.yaml", &policy(true));
    git(dir, &["commit", "-q", "-am", "add N-001"]);
    base
}

/// Nothing of [`HOSTILE`] is live in `md`, and its escaped form is there.
fn assert_inert(md: &str, what: &str) {
    for live in ["@org/team", "**x**", "<img", "[a](", "http://e", "#1"] {
        assert!(!md.contains(live), "{what}: `{live}` is live in:\n{md}");
    }
    assert!(md.contains(ESCAPED), "{what}: the text is shown escaped:\n{md}");
}

#[test]
fn check_markdown_shows_input_text_inert() {
    let d = tempfile::tempdir().unwrap();
    repo(d.path());
    let o = bylaw_in(d.path(), &["check", "--format", "markdown", "--markdown", "out.md"], None);
    assert_eq!(o.code, 1, "{}\n{}", o.stdout, o.stderr);
    assert_inert(&o.stdout, "check --format markdown");
    let row = o.stdout.lines().find(|l| l.contains("N-001") && l.starts_with("| ")).unwrap();
    assert!(row.starts_with("| 🔴 blocking | `N-001` | ") && row.ends_with(&format!(" | note {ESCAPED} |")), "{row}");
    assert_eq!(row.replace("\\|", "").matches('|').count(), 5, "four cells: {row}");
    // the rule's title and remediation (the repository's own policy) too;
    // the remediation's own code span stays code
    assert!(
        o.stdout.contains(&format!(
            "- **`N-001`** Ping {ESCAPED} (medium, blocking): Ask {ESCAPED} or see `docs` &lt;details&gt;"
        )),
        "{}",
        o.stdout
    );
    assert_eq!(std::fs::read_to_string(d.path().join("out.md")).unwrap(), o.stdout);
}

fn gh_comment(id: u64, login: &str, body: &str) -> Value {
    let mut c = spec().example("GET", "/repos/{owner}/{repo}/issues/comments/{comment_id}", 200);
    c["id"] = json!(id);
    c["body"] = json!(body);
    c["user"]["login"] = json!(login);
    c["user"]["type"] = json!(if login.ends_with("[bot]") { "Bot" } else { "User" });
    c
}

#[test]
fn pr_comments_and_job_summary_show_input_text_inert() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path().join("repo");
    let base = repo(&dir);
    let mut e: Value = serde_json::from_str(
        &std::fs::read_to_string(support::tools::root().join("tests/fixtures/github/events/pull_request.json"))
            .unwrap(),
    )
    .unwrap();
    e["pull_request"]["base"]["sha"] = json!(base);
    let payload = d.path().join("event.json");
    std::fs::write(&payload, e.to_string()).unwrap();

    let mock = Mock::start();
    let mut f = spec().example("GET", "/repos/{owner}/{repo}/pulls/{pull_number}/files", 200)[0].clone();
    f["filename"] = json!("policies/notes.yaml");
    f["status"] = json!("modified");
    f["patch"] = json!("@@ -1,1 +1,1 @@\n-a\n+b");
    mock.expect("GET", "/repos/acme/shop/pulls/7/files?per_page=100", 1, Reply::json(200, json!([f])));
    mock.expect("GET", "/repos/acme/shop/issues/7/comments?per_page=100", 1, Reply::json(200, json!([])));
    mock.expect("GET", "/repos/acme/shop/pulls/7/reviews?per_page=100", 1, Reply::json(200, json!([])));
    let mut r = spec().example("POST", "/repos/{owner}/{repo}/check-runs", 201);
    r["id"] = json!(4);
    mock.expect("POST", "/repos/acme/shop/check-runs", 2, Reply::json(201, r));
    mock.expect_with("POST", "/repos/acme/shop/issues/7/comments", 2, |call: &Call, _: &str| {
        Reply::json(201, gh_comment(9001, "github-actions[bot]", call.json()["body"].as_str().unwrap()))
    });
    let summary = d.path().join("summary.md");
    let out = Command::new(env!("CARGO_BIN_EXE_bylaw"))
        .args(["ci", "github"])
        .current_dir(&dir)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("BYLAW_NOW", "2026-06-01T12:00:00Z")
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_REPOSITORY", "acme/shop")
        .env("GITHUB_EVENT_NAME", "pull_request")
        .env("GITHUB_EVENT_PATH", &payload)
        .env("GITHUB_SHA", "1111111111111111111111111111111111111111")
        .env("GITHUB_REF", "refs/pull/7/merge")
        .env("GITHUB_API_URL", &mock.url)
        .env("GITHUB_SERVER_URL", "https://github.com")
        .env("GITHUB_RUN_ID", "4242")
        .env("GITHUB_WORKSPACE", &dir)
        .env("GITHUB_STEP_SUMMARY", &summary)
        .env("GITHUB_TOKEN", TOKEN)
        .output()
        .unwrap();
    let calls = mock.finish();
    for c in &calls {
        assert_eq!(c.header("authorization"), format!("Bearer {TOKEN}"), "{}", c.line());
        if let Err(e) = spec().check(c, "") {
            panic!("{e}");
        }
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    let posted: Vec<&str> = calls
        .iter()
        .filter(|c| c.line() == "POST /repos/acme/shop/issues/7/comments")
        .map(|c| c.json()["body"].as_str().unwrap())
        .collect();
    let report = posted.iter().find(|b| b.starts_with("<!-- bylaw:report -->")).expect("the summary comment");
    let impact = posted.iter().find(|b| b.starts_with("<!-- bylaw:impact -->")).expect("the impact comment");
    assert_inert(report, "summary comment");
    assert_inert(impact, "impact comment");
    // the exact finding in the impact comment: message and resource escaped
    assert!(
        impact.contains(&format!("**N-001** note {ESCAPED} · blocking · Deployment prod/{ESCAPED} · `")),
        "{impact}"
    );
    // in the top blocking findings of the summary comment
    assert!(report.contains(&format!("`N-001` note {ESCAPED}\n")), "{report}");
    // the check run's summary (Markdown) too
    for c in calls.iter().filter(|c| c.line() == "POST /repos/acme/shop/check-runs") {
        if let Some(s) = c.json()["output"]["summary"].as_str() {
            if s.contains("N-001") {
                assert_inert(s, "check run summary");
            }
        }
    }
    let job = std::fs::read_to_string(&summary).unwrap();
    assert_inert(&job, "job summary");
}
