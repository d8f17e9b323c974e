//! The history store end to end (issue 19, item 1): `check --record STORE`
//! and `ci jenkins --record STORE` into SQLite and into a real PostgreSQL
//! server started by the test (`bylaw_history::testing`), the config's
//! `history:`, a failed write (unreachable store, a write refused half
//! way) that keeps the verdict, exit code and artifacts, and `bylaw
//! history import` of the JSON report and SARIF bylaw wrote.

mod support;

use bylaw_history::{testing, FindingRow, RunRow, Store};
use serde_json::Value;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;
use support::cli::{command, run_bounded, workspace, Out};

/// The exceptions fixture (policy, deploy/, exception list) as a git
/// repository on branch `main` with an `origin` holding credentials.
fn repo() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let fixture = workspace().join("tests/fixtures/exceptions");
    copy_dir(&fixture, dir.path());
    let git = |args: &[&str]| {
        let ok = Command::new("git")
            .args(args)
            .current_dir(dir.path())
            .env("GIT_AUTHOR_NAME", "a")
            .env("GIT_AUTHOR_EMAIL", "a@example.com")
            .env("GIT_COMMITTER_NAME", "a")
            .env("GIT_COMMITTER_EMAIL", "a@example.com")
            // the same commit in every repository of the tests
            .env("GIT_AUTHOR_DATE", "2026-05-01T00:00:00Z")
            .env("GIT_COMMITTER_DATE", "2026-05-01T00:00:00Z")
            .stdout(Stdio::null())
            .status()
            .unwrap()
            .success();
        assert!(ok, "git {args:?}");
    };
    git(&["init", "-q", "-b", "main"]);
    git(&["remote", "add", "origin", "https://x-token:s3cr3t@github.com/acme/app.git"]);
    git(&["add", "."]);
    git(&["commit", "-q", "-m", "init"]);
    dir
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), target).unwrap();
        }
    }
}

fn head(dir: &Path) -> String {
    let out = Command::new("git").args(["rev-parse", "HEAD"]).current_dir(dir).output().unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

/// `bylaw ARGS` in `dir` at time `now` (git on PATH, no CI variables).
fn bylaw_at(dir: &Path, now: &str, args: &[&str], env: &[(&str, &str)]) -> Out {
    let mut c = command(dir, args);
    c.env("BYLAW_NOW", now).env("PATH", std::env::var("PATH").unwrap_or_default()).stdout(Stdio::piped());
    for (k, v) in env {
        c.env(k, v);
    }
    run_bounded(c, None, Duration::from_secs(600)).unwrap_or_else(|e| panic!("{e}"))
}

const CHECK: &[&str] =
    &["check", "deploy", "-p", "policy.yaml", "--exceptions", "exceptions.yaml", "--no-config", "-q"];

fn check_args<'a>(extra: &[&'a str]) -> Vec<&'a str> {
    let mut a = CHECK.to_vec();
    a.extend_from_slice(extra);
    a
}

fn json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// (fingerprint, rule, path, line, exception) of a JSON report's findings.
fn report_findings(report: &Value) -> Vec<(String, String, String, i64, Option<String>)> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["fingerprint"].as_str().unwrap().to_owned(),
                f["rule_id"].as_str().unwrap().to_owned(),
                f["location"]["path"].as_str().unwrap().to_owned(),
                f["location"]["start_line"].as_i64().unwrap(),
                f["exception"]["id"].as_str().map(str::to_owned),
            )
        })
        .collect()
}

fn stored_findings(rows: &[FindingRow]) -> Vec<(String, String, String, i64, Option<String>)> {
    rows.iter()
        .map(|f| (f.fingerprint.clone(), f.rule_id.clone(), f.path.clone(), f.start_line, f.exception_id.clone()))
        .collect()
}

/// Three runs a week apart recorded in `store` (shown as `shown`); the
/// store's runs and findings read back.
fn three_weeks(store: &str, shown: &str) -> Vec<(RunRow, Vec<FindingRow>)> {
    let dir = repo();
    let sha = head(dir.path());
    let mut plain_codes = Vec::new();
    for (i, now) in ["2026-05-04T09:00:00Z", "2026-05-11T09:00:00Z", "2026-05-18T09:00:00Z"].iter().enumerate() {
        let plain = bylaw_at(dir.path(), now, CHECK, &[]);
        plain_codes.push(plain.code);
        let o = bylaw_at(dir.path(), now, &check_args(&["--record", store, "--json", "out/r.json"]), &[]);
        assert_eq!(o.code, plain.code, "{}", o.stderr);
        let report = json(&dir.path().join("out/r.json"));
        let n = report["findings"].as_array().unwrap().len();
        assert!(
            o.stderr.contains(&format!("recorded run {} in the history store {shown} ({n} findings)\n", i + 1)),
            "{}",
            o.stderr
        );
    }
    assert_eq!(plain_codes, [1, 1, 1]);
    let store = Store::open(store).unwrap();
    let runs = store.runs().unwrap();
    assert_eq!(runs.len(), 3);
    let report = json(&dir.path().join("out/r.json"));
    for (r, week) in runs.iter().zip(["04", "11", "18"]) {
        assert_eq!(r.started_at, format!("2026-05-{week}T09:00:00Z"));
        assert_eq!(r.repository.as_deref(), Some("acme/app"), "owner/name, no credentials");
        assert_eq!(r.git_ref.as_deref(), Some("main"));
        assert_eq!(r.sha.as_deref(), Some(sha.as_str()));
        assert_eq!((r.platform.as_deref(), r.source.as_str(), r.verdict.as_str()), (Some("local"), "check", "fail"));
        assert_eq!(r.blocking, report["summary"]["blocking"].as_i64().unwrap());
        assert_eq!(r.excepted, report["summary"]["excepted"].as_i64().unwrap());
    }
    let out: Vec<(RunRow, Vec<FindingRow>)> =
        runs.into_iter().map(|r| (r.clone(), store.findings(r.id).unwrap())).collect();
    assert_eq!(stored_findings(&out[2].1), report_findings(&report));
    // the approvers and expiry of an exception
    let excepted = out[2].1.iter().find(|f| f.exception_id.as_deref() == Some("EXC-1")).expect("EXC-1 covers one");
    assert_eq!(excepted.exception_approved_by, ["alice"]);
    assert_eq!(excepted.exception_expires.as_deref(), Some("2026-06-10"));
    out
}

#[test]
fn check_records_runs_in_sqlite_and_postgres_alike() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("history.db").display().to_string();
    let sqlite = three_weeks(&db, &db);
    let pg = testing::Postgres::start().unwrap();
    let postgres = three_weeks(&pg.url(), &pg.url());
    assert_eq!(sqlite, postgres);
}

#[test]
fn the_config_names_the_store_and_the_flag_wins() {
    let dir = repo();
    std::fs::write(
        dir.path().join(".bylaw.yaml"),
        "paths: [deploy]\npolicies: [policy.yaml]\nexceptions: [exceptions.yaml]\nhistory: { store: hist.db }\n",
    )
    .unwrap();
    let now = "2026-05-04T09:00:00Z";
    let o = bylaw_at(dir.path(), now, &["check", "-q"], &[]);
    assert_eq!(o.code, 1, "{}", o.stderr);
    let hist = dir.path().join("hist.db");
    assert!(o.stderr.contains(&format!("recorded run 1 in the history store {}", hist.display())), "{}", o.stderr);
    let o = bylaw_at(dir.path(), now, &["check", "-q", "--record", "other.db"], &[]);
    assert!(o.stderr.contains("recorded run 1 in the history store other.db"), "{}", o.stderr);
    assert_eq!(Store::open(&hist.display().to_string()).unwrap().runs().unwrap().len(), 1);
    assert_eq!(Store::open(&dir.path().join("other.db").display().to_string()).unwrap().runs().unwrap().len(), 1);
    // the short form
    std::fs::write(dir.path().join(".bylaw.yaml"), "paths: [deploy]\npolicies: [policy.yaml]\nhistory: short.db\n")
        .unwrap();
    let o = bylaw_at(dir.path(), now, &["check", "-q"], &[]);
    assert!(o.stderr.contains("recorded run 1 in the history store "), "{}", o.stderr);
    assert!(dir.path().join("short.db").is_file());
    // a wrong shape is a config error with its place
    std::fs::write(dir.path().join(".bylaw.yaml"), "paths: [deploy]\npolicies: [policy.yaml]\nhistory: { path: x }\n")
        .unwrap();
    let o = bylaw_at(dir.path(), now, &["check", "-q"], &[]);
    assert_eq!(o.code, 2, "{}", o.stderr);
    assert!(o.stderr.contains(".bylaw.yaml:3"), "{}", o.stderr);
}

#[test]
fn an_unreachable_store_warns_and_keeps_the_exit_code_and_artifacts() {
    let dir = repo();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let url = format!("postgres://bylaw:hunter2@127.0.0.1:{port}/history");
    for (store, shown) in [
        (url.clone(), format!("postgres://bylaw:***@127.0.0.1:{port}/history")),
        // a file where the store's directory should be
        ("policy.yaml/h.db".to_owned(), "policy.yaml/h.db".to_owned()),
    ] {
        let _ = std::fs::remove_dir_all(dir.path().join("out"));
        let args = check_args(&["--record", &store, "--json", "out/r.json", "--sarif", "out/r.sarif"]);
        let o = bylaw_at(dir.path(), "2026-05-04T09:00:00Z", &args, &[]);
        assert_eq!(o.code, 1, "the verdict is the run's: {}", o.stderr);
        let warning = format!("warning: the run was not recorded: cannot open the history store {shown}: ");
        assert!(o.stderr.contains(&warning), "{}", o.stderr);
        assert!(o.stderr.contains("(the verdict and the reports are unchanged)\n"), "{}", o.stderr);
        assert!(!o.stderr.contains("hunter2"), "{}", o.stderr);
        assert_eq!(json(&dir.path().join("out/r.json"))["verdict"], "fail");
        assert_eq!(json(&dir.path().join("out/r.sarif"))["version"], "2.1.0");
    }
    // a passing run stays a pass
    let o = bylaw_at(dir.path(), "2026-05-04T09:00:00Z", &check_args(&["--fail-on", "never", "--record", &url]), &[]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(o.stderr.contains("warning: the run was not recorded"), "{}", o.stderr);
}

#[test]
fn a_write_refused_half_way_records_nothing_of_the_run() {
    let dir = repo();
    let db = dir.path().join("h.db").display().to_string();
    {
        let store = Store::open(&db).unwrap();
        // the run's row goes in first; its findings' insert then fails
        store
            .execute_unchecked(
                "CREATE TRIGGER refuse BEFORE INSERT ON findings WHEN NEW.rule_id = 'X-002' \
                 BEGIN SELECT RAISE(ABORT, 'refused by a trigger'); END;",
            )
            .unwrap();
    }
    let o = bylaw_at(dir.path(), "2026-05-04T09:00:00Z", &check_args(&["--record", &db, "--json", "out/r.json"]), &[]);
    assert_eq!(o.code, 1, "{}", o.stderr);
    assert!(o.stderr.contains(&format!("warning: the run was not recorded: history store {db}: ")), "{}", o.stderr);
    assert!(o.stderr.contains("refused by a trigger"), "{}", o.stderr);
    assert!(dir.path().join("out/r.json").is_file());
    let counts = Store::open(&db).unwrap().counts().unwrap();
    assert_eq!(counts, [("runs", 0), ("run_policies", 0), ("run_rules", 0), ("findings", 0), ("run_exceptions", 0)]);
}

#[test]
fn import_reads_back_the_json_report_and_sarif_bylaw_wrote() {
    let dir = repo();
    let o = bylaw_at(
        dir.path(),
        "2026-05-04T09:00:00Z",
        &check_args(&["--json", "out/r.json", "--sarif", "out/r.sarif"]),
        &[],
    );
    assert_eq!(o.code, 1, "{}", o.stderr);
    let report = json(&dir.path().join("out/r.json"));
    let n = report["findings"].as_array().unwrap().len();
    let flags = ["--repository", "acme/app", "--ref", "main", "--sha", "abc123", "--time", "2026-04-27T08:00:00Z"];
    let mut args = vec!["history", "import", "out/r.json", "out/r.sarif", "--store", "h.db"];
    args.extend(flags);
    let o = bylaw_at(dir.path(), "2026-06-01T00:00:00Z", &args, &[]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert_eq!(
        o.stdout,
        format!(
            "imported out/r.json as run 1 (JSON report, 2026-04-27T08:00:00Z, {n} findings)\n\
             imported out/r.sarif as run 2 (SARIF, 2026-04-27T08:00:00Z, {n} findings)\n"
        )
    );
    let store = Store::open(&dir.path().join("h.db").display().to_string()).unwrap();
    let runs = store.runs().unwrap();
    assert_eq!(runs.iter().map(|r| r.source.as_str()).collect::<Vec<_>>(), ["import-json", "import-sarif"]);
    for r in &runs {
        assert_eq!(
            (r.repository.as_deref(), r.git_ref.as_deref(), r.sha.as_deref()),
            (Some("acme/app"), Some("main"), Some("abc123"))
        );
        assert_eq!((r.verdict.as_str(), r.blocking), ("fail", report["summary"]["blocking"].as_i64().unwrap()));
        assert_eq!(stored_findings(&store.findings(r.id).unwrap()), report_findings(&report));
    }
    // the JSON report keeps the policies' versions; SARIF has none
    let json_policies = store.policies(runs[0].id).unwrap();
    assert_eq!(json_policies[0].version.as_deref(), report["policies"][0]["version"].as_str());
    assert!(store.policies(runs[1].id).unwrap().iter().all(|p| p.version.is_none()));
    drop(store);

    // the same files with the same flags are not recorded twice
    let o = bylaw_at(dir.path(), "2026-06-01T00:00:00Z", &args, &[]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert_eq!(o.stdout, "");
    assert_eq!(
        o.stderr,
        "skipped out/r.json: already recorded as run 1\nskipped out/r.sarif: already recorded as run 2\n"
    );

    // what is not a bylaw report is refused by name; the others still go in
    std::fs::write(dir.path().join("other.json"), "{\"name\": \"not a report\"}").unwrap();
    let o = bylaw_at(
        dir.path(),
        "2026-06-01T00:00:00Z",
        &["history", "import", "other.json", "out/r.json", "--store", "h.db", "--time", "2026-05-11T08:00:00Z"],
        &[],
    );
    assert_eq!(o.code, 2, "{}", o.stderr);
    assert!(
        o.stderr.contains(
            "error: other.json: neither a bylaw JSON report (`--format json`) nor a SARIF 2.1.0 log (`--format sarif`)"
        ),
        "{}",
        o.stderr
    );
    assert_eq!(o.stdout, format!("imported out/r.json as run 3 (JSON report, 2026-05-11T08:00:00Z, {n} findings)\n"));
}

#[test]
fn ci_jenkins_records_the_platform_context() {
    let dir = repo();
    std::fs::write(
        dir.path().join(".bylaw.yaml"),
        "paths: [deploy]\npolicies: [policy.yaml]\nexceptions: [exceptions.yaml]\n",
    )
    .unwrap();
    let sha = "6dcb09b5b57875f334f61aebed695e2e4193db5e";
    let env = [
        ("JENKINS_URL", "https://ci.acme.io/"),
        ("BUILD_URL", "https://ci.acme.io/job/shop/job/main/3/"),
        ("GIT_URL", "https://git.acme.io/shop.git"),
        ("GIT_COMMIT", sha),
        ("BRANCH_NAME", "main"),
    ];
    let args = [
        "ci",
        "jenkins",
        "--sarif",
        "out/bylaw.sarif",
        "--junit",
        "out/junit.xml",
        "--outputs",
        "out/outputs.txt",
        "--record",
        "h.db",
    ];
    let o = bylaw_at(dir.path(), "2026-05-04T09:00:00Z", &args, &env);
    assert_eq!(o.code, 1, "{}\n{}", o.stdout, o.stderr);
    assert!(o.stderr.contains("recorded run 1 in the history store h.db ("), "{}", o.stderr);
    assert!(dir.path().join("out/bylaw.sarif").is_file());
    let store = Store::open(&dir.path().join("h.db").display().to_string()).unwrap();
    let runs = store.runs().unwrap();
    assert_eq!(runs.len(), 1);
    let r = &runs[0];
    assert_eq!((r.source.as_str(), r.platform.as_deref(), r.sha.as_deref()), ("ci", Some("jenkins"), Some(sha)));
    assert_eq!(
        (r.git_ref.as_deref(), r.started_at.as_str(), r.verdict.as_str()),
        (Some("main"), "2026-05-04T09:00:00Z", "fail")
    );
}

#[test]
fn exceptions_refuses_record() {
    let dir = repo();
    let o = bylaw_at(
        dir.path(),
        "2026-05-04T09:00:00Z",
        &["exceptions", "list", "deploy", "-p", "policy.yaml", "--no-config", "--record", "h.db"],
        &[],
    );
    assert_eq!(o.code, 2, "{}", o.stderr);
    assert!(
        o.stderr.contains("error: --record records runs of `bylaw check` and `bylaw ci`, not of `bylaw exceptions`"),
        "{}",
        o.stderr
    );
    assert!(!dir.path().join("h.db").exists());
}

/// Every file and directory under `dir`, relative, sorted.
fn tree(dir: &Path) -> Vec<String> {
    fn walk(base: &Path, dir: &Path, out: &mut Vec<String>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            out.push(p.strip_prefix(base).unwrap().display().to_string());
            if p.is_dir() && !p.ends_with(".git") {
                walk(base, &p, out);
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

/// `report` and `metrics` only read: a mistyped store is exit 2 with the
/// store named, and nothing is created (no file, no directory, no schema in
/// an empty PostgreSQL database); `check --record` and `history import`
/// still create it.
#[test]
fn read_only_commands_refuse_a_missing_store_and_create_nothing() {
    let dir = repo();
    let now = "2026-05-04T09:00:00Z";
    let before = tree(dir.path());
    let missing = |store: &str| {
        format!("error: no history store at {store} (record runs with `check --record {store}` or `bylaw history import`)\n")
    };
    for store in ["histroy.db", "no/such/dir/h.db"] {
        for args in [
            vec!["report", "--store", store, "--fail-on-regression", "--format", "json"],
            vec!["report", "--store", store],
            vec!["metrics", "--store", store],
            vec!["metrics", "--store", store, "--textfile", "out/bylaw.prom"],
        ] {
            let o = bylaw_at(dir.path(), now, &args, &[]);
            assert_eq!(o.code, 2, "{args:?}: {}", o.stderr);
            assert_eq!(o.stderr, missing(store), "{args:?}");
            assert_eq!(o.stdout, "");
            assert_eq!(tree(dir.path()), before, "{args:?} created something");
        }
    }
    // the config's `history:` too
    std::fs::write(dir.path().join(".bylaw.yaml"), "policies: [policy.yaml]\nhistory: .bylaw/history.db\n").unwrap();
    let o = bylaw_at(dir.path(), now, &["report", "--format", "md"], &[]);
    assert_eq!(o.code, 2, "{}", o.stderr);
    let shown = dir.path().join(".bylaw/history.db").display().to_string();
    assert_eq!(o.stderr, missing(&shown));
    assert!(!dir.path().join(".bylaw").exists());
    std::fs::remove_file(dir.path().join(".bylaw.yaml")).unwrap();

    // recording creates the store (and its directories); then it reads
    let o = bylaw_at(dir.path(), now, &check_args(&["--record", "no/such/dir/h.db"]), &[]);
    assert!(o.stderr.contains("recorded run 1 in the history store no/such/dir/h.db"), "{}", o.stderr);
    let o = bylaw_at(dir.path(), now, &["report", "--store", "no/such/dir/h.db", "--format", "json"], &[]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let o = bylaw_at(dir.path(), now, &check_args(&["--json", "out/r.json"]), &[]);
    assert_eq!(o.code, 1, "{}", o.stderr);
    let o = bylaw_at(dir.path(), now, &["history", "import", "out/r.json", "--store", "imported/h.db"], &[]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(dir.path().join("imported/h.db").is_file());

    // PostgreSQL: a database without bylaw's schema is no store, and stays without one
    let pg = testing::Postgres::start().unwrap();
    for args in [vec!["report", "--store", &pg.url(), "--fail-on-regression"], vec!["metrics", "--store", &pg.url()]] {
        let o = bylaw_at(dir.path(), now, &args, &[]);
        assert_eq!(o.code, 2, "{}", o.stderr);
        assert_eq!(o.stderr, missing(&pg.url()));
    }
    testing::execute(&pg.url(), "CREATE TABLE probe (x INTEGER)").unwrap();
    let e = testing::execute(&pg.url(), "SELECT 1 FROM runs").unwrap_err();
    assert!(e.contains("runs"), "no table was created: {e}");
    let o = bylaw_at(dir.path(), now, &check_args(&["--record", &pg.url()]), &[]);
    assert!(o.stderr.contains("recorded run 1 in the history store"), "{}", o.stderr);
    let o = bylaw_at(dir.path(), now, &["metrics", "--store", &pg.url()], &[]);
    assert_eq!(o.code, 0, "{}", o.stderr);
}

/// A store whose `_sqlx_migrations` has a version this bylaw does not
/// know: every command names it as written by a newer bylaw; reading and
/// importing exit 2, recording warns and keeps the verdict; nothing is written.
fn newer_store_is_refused(store: &str, shown: &str, blob: &str) {
    let dir = repo();
    let now = "2026-05-04T09:00:00Z";
    let o = bylaw_at(dir.path(), now, &check_args(&["--record", store, "--json", "out/r.json"]), &[]);
    assert!(o.stderr.contains("recorded run 1"), "{}", o.stderr);
    testing::execute(
        store,
        &format!(
            "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
             VALUES (99990101000000, 'future', TRUE, {blob}, 0)"
        ),
    )
    .unwrap();
    let message = format!(
        "the history store {shown} was written by a newer bylaw (schema version 99990101000000; \
         this bylaw knows up to {}): upgrade bylaw",
        bylaw_history::schema::VERSION
    );
    for args in [
        vec!["report", "--store", store, "--format", "json"],
        vec!["metrics", "--store", store],
        vec!["history", "import", "out/r.json", "--store", store],
    ] {
        let o = bylaw_at(dir.path(), now, &args, &[]);
        assert_eq!(o.code, 2, "{args:?}: {}", o.stderr);
        assert_eq!(o.stderr, format!("error: {message}\n"), "{args:?}");
    }
    let o = bylaw_at(dir.path(), now, &check_args(&["--record", store]), &[]);
    assert_eq!(o.code, 1, "the verdict is the run's: {}", o.stderr);
    assert!(
        o.stderr.contains(&format!(
            "warning: the run was not recorded: {message} (the verdict and the reports are unchanged)\n"
        )),
        "{}",
        o.stderr
    );
    assert!(!o.stderr.contains("previously applied"), "{}", o.stderr);
    testing::execute(store, "DELETE FROM _sqlx_migrations WHERE version = 99990101000000").unwrap();
    assert_eq!(Store::open(store).unwrap().runs().unwrap().len(), 1, "nothing was written");
}

#[test]
fn a_store_of_a_newer_bylaw_is_named_by_every_command() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("h.db").display().to_string();
    newer_store_is_refused(&db, &db, "X'00'");
    let pg = testing::Postgres::start().unwrap();
    newer_store_is_refused(&pg.url(), &pg.url(), "decode('00', 'hex')");
}

fn set_origin(dir: &Path, url: &str) {
    let ok = Command::new("git").args(["remote", "set-url", "origin", url]).current_dir(dir).status().unwrap();
    assert!(ok.success());
}

/// One repository is one stream whatever names it: an HTTPS clone with a
/// token, an SSH clone, an import's `--repository`, and a run recorded as
/// a URL by an older bylaw; `--repository` takes any case and URL form.
fn one_repository(store: &str) -> Vec<Value> {
    let dir = repo();
    testing::older_store(
        store,
        1,
        "INSERT INTO runs (repository, git_ref, started_at, recorded_at, source, tool_version, report_version, \
         verdict, fail_on, files, documents, policy_count, rule_count, finding_count, blocking, advisory, audit, \
         excepted, errors, baselined) VALUES ('https://github.com/Acme/PodInfo.git', 'main', \
         '2026-04-27T09:00:00Z', '2026-04-27T09:00:00Z', 'check', '0.1.0', '1.0', 'pass', 'blocking', 1, 1, 1, 1, \
         0, 0, 0, 0, 0, 0, 0)",
    )
    .unwrap();
    set_origin(dir.path(), "https://x-token:s3cr3t@github.com/Acme/PodInfo.git");
    let o =
        bylaw_at(dir.path(), "2026-05-04T09:00:00Z", &check_args(&["--record", store, "--json", "out/r.json"]), &[]);
    assert!(o.stderr.contains("recorded run 2"), "{}", o.stderr);
    set_origin(dir.path(), "git@github.com:Acme/PodInfo.git");
    let o = bylaw_at(dir.path(), "2026-05-11T09:00:00Z", &check_args(&["--record", store]), &[]);
    assert!(o.stderr.contains("recorded run 3"), "{}", o.stderr);
    let import = [
        "history",
        "import",
        "out/r.json",
        "--store",
        store,
        "--repository",
        "ssh://git@github.com:22/Acme/PodInfo.git",
    ];
    let o =
        bylaw_at(dir.path(), "2026-05-12T09:00:00Z", &[&import[..], &["--time", "2026-05-12T09:00:00Z"]].concat(), &[]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let s = Store::open(store).unwrap();
    let names: Vec<Option<String>> = s.runs().unwrap().into_iter().map(|r| r.repository).collect();
    assert_eq!(
        names,
        [
            Some("https://github.com/Acme/PodInfo.git".into()),
            Some("Acme/PodInfo".into()),
            Some("Acme/PodInfo".into()),
            Some("Acme/PodInfo".into())
        ],
        "recorded as owner/name"
    );
    drop(s);
    let mut reports = Vec::new();
    for filter in [
        None,
        Some("acme/podinfo"),
        Some("Acme/PodInfo"),
        Some("https://github.com/acme/podinfo"),
        Some("git@github.com:ACME/podinfo.git"),
    ] {
        let mut args = vec!["report", "--store", store, "--format", "json"];
        if let Some(f) = filter {
            args.extend(["--repository", f]);
        }
        let o = bylaw_at(dir.path(), "2026-05-13T00:00:00Z", &args, &[]);
        assert_eq!(o.code, 0, "{}", o.stderr);
        let v: Value = serde_json::from_str(&o.stdout).unwrap();
        assert_eq!(v["totals"]["runs"], 4, "{filter:?}");
        let repos: Vec<&Value> = v["repositories"].as_array().unwrap().iter().map(|r| &r["repository"]).collect();
        assert_eq!(repos, [&Value::from("Acme/PodInfo")], "{filter:?}: one repository, one stream");
        // the runs of a check and its import are one stream: each of the
        // run's 4 findings opened once, none fixed
        assert_eq!((&v["totals"]["opened"], &v["totals"]["fixed"]), (&Value::from(4), &Value::from(0)), "{filter:?}");
        reports.push(v["totals"].clone());
    }
    let o = bylaw_at(
        dir.path(),
        "2026-05-13T00:00:00Z",
        &["report", "--store", store, "--format", "json", "--repository", "acme/other"],
        &[],
    );
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert_eq!(serde_json::from_str::<Value>(&o.stdout).unwrap()["totals"]["runs"], 0);
    let o = bylaw_at(
        dir.path(),
        "2026-05-13T00:00:00Z",
        &["metrics", "--store", store, "--repository", "ACME/PODINFO"],
        &[],
    );
    assert!(o.stdout.contains("bylaw_runs_total{repository=\"Acme/PodInfo\"} 4\n"), "{}", o.stdout);
    reports
}

#[test]
fn one_repository_is_one_stream_whatever_its_remote() {
    let tmp = tempfile::tempdir().unwrap();
    let sqlite = one_repository(&tmp.path().join("h.db").display().to_string());
    let pg = testing::Postgres::start().unwrap();
    assert_eq!(one_repository(&pg.url()), sqlite);
}
