//! The store against SQLite and a real PostgreSQL server ([`crate::testing`]).

use super::*;
use bylaw_engine::chrono::TimeZone;
use bylaw_engine::report::Location;
use bylaw_engine::report::*;
use std::sync::Arc;

fn finding(rule: &str, path: &str, line: u32, enforcement: Enforcement, excepted: bool) -> Finding {
    Finding {
        rule_id: rule.into(),
        policy: "k8s-baseline".into(),
        severity: Severity::High,
        enforcement,
        message: format!("{rule} at {path}"),
        location: Location { path: path.into(), start_line: line, start_column: 3, end_line: line, end_column: 9 },
        document: Some(0),
        pointer: "/spec/containers/0".into(),
        resource: Some(Arc::new(Resource {
            api_version: Some("apps/v1".into()),
            kind: Some("Deployment".into()),
            namespace: Some("prod".into()),
            name: Some("web".into()),
        })),
        fingerprint: format!("fp-{rule}-{path}"),
        notes: vec![],
        exception: excepted.then(|| {
            Box::new(AppliedException {
                id: "EXC-1".into(),
                reason: "legacy image".into(),
                kind: "external".into(),
                approved_by: vec!["alice".into(), "@acme/sec".into()],
                expires: Some("2026-09-30".into()),
            })
        }),
        baseline: None,
    }
}

pub(crate) fn sample(findings: Vec<Finding>) -> Report {
    let rules = vec![RuleInfo {
        id: "K8S-001".into(),
        policy: "k8s-baseline".into(),
        title: "Containers run as non-root".into(),
        severity: Severity::High,
        enforcement: Enforcement::Blocking,
        description: None,
        remediation: None,
        controls: vec!["CIS-5.2.6".into()],
        kind: "security".into(),
    }];
    let mut report = Report {
        version: REPORT_VERSION.into(),
        tool: ToolInfo::default(),
        environment: Some("prod".into()),
        fail_on: FailOn::Blocking,
        verdict: Verdict::Pass,
        summary: Summary { files: 2, documents: 2, policies: 1, rules: 1, ..Summary::default() },
        policies: vec![PolicyInfo {
            name: "k8s-baseline".into(),
            version: Some("1.4.2".into()),
            kind: "security".into(),
            lifecycle: "enforced".into(),
            description: None,
            source: "policies/k8s.yaml".into(),
            owners: vec!["@acme/platform".into()],
            rules: vec!["K8S-001".into()],
            targets: vec!["deploy/a.yaml".into()],
        }],
        rules,
        findings,
        exceptions: vec![ExceptionStatus {
            id: "EXC-1".into(),
            status: ExceptionState::Active,
            source: "exceptions.yaml:3".into(),
            rules: vec!["K8S-001".into()],
            reason: "legacy image".into(),
            ticket: Some("SEC-7".into()),
            approved_by: vec!["alice".into(), "@acme/sec".into()],
            expires: Some("2026-09-30".into()),
            days_left: Some(40),
            matched: 1,
            detail: None,
        }],
        errors: vec![],
    };
    report.recount();
    report
}

fn two_findings() -> Report {
    sample(vec![
        finding("K8S-001", "deploy/a.yaml", 12, Enforcement::Blocking, false),
        finding("K8S-001", "deploy/b.yaml", 4, Enforcement::Blocking, true),
    ])
}

fn meta(day: u32) -> RunMeta {
    RunMeta {
        repository: Some("acme/app".into()),
        git_ref: Some("main".into()),
        sha: Some(format!("{day:040}")),
        platform: Some("github".into()),
        event: Some("push".into()),
        ..RunMeta::new(Utc.with_ymd_and_hms(2026, 3, day, 9, 30, 0).unwrap(), RunSource::Check)
    }
}

/// Every run with its findings and policies, as the store reads them back.
fn contents(store: &Store) -> Vec<(RunRow, Vec<FindingRow>, Vec<PolicyRow>)> {
    store
        .runs()
        .unwrap()
        .into_iter()
        .map(|r| {
            let f = store.findings(r.id).unwrap();
            let p = store.policies(r.id).unwrap();
            (r, f, p)
        })
        .collect()
}

/// What every backend must do alike: record, read back, refuse a
/// half-written run, reopen without migrating again.
fn exercise(open: &dyn Fn() -> Store, fail_trigger: &str) -> Vec<(RunRow, Vec<FindingRow>, Vec<PolicyRow>)> {
    let store = open();
    assert_eq!(store.applied_migrations().unwrap(), schema::versions().collect::<Vec<_>>());
    let first = store.record(&two_findings(), &meta(2)).unwrap();
    let second = store.record(&sample(vec![]), &meta(9)).unwrap();
    assert!(second > first);

    let runs = store.runs().unwrap();
    assert_eq!(runs.len(), 2);
    let r = &runs[0];
    assert_eq!(r.repository.as_deref(), Some("acme/app"));
    assert_eq!(r.environment.as_deref(), Some("prod"));
    assert_eq!(r.started_at, "2026-03-02T09:30:00Z");
    assert_eq!((r.verdict.as_str(), r.finding_count, r.blocking, r.excepted), ("fail", 2, 1, 1));
    assert_eq!((runs[1].verdict.as_str(), runs[1].finding_count), ("pass", 0));

    let findings = store.findings(first).unwrap();
    assert_eq!(findings.len(), 2);
    assert_eq!(findings[0].fingerprint, "fp-K8S-001-deploy/a.yaml");
    assert_eq!((findings[0].path.as_str(), findings[0].start_line), ("deploy/a.yaml", 12));
    assert_eq!(findings[0].resource_kind.as_deref(), Some("Deployment"));
    assert_eq!(findings[0].exception_id, None);
    assert_eq!(findings[1].exception_id.as_deref(), Some("EXC-1"));
    assert_eq!(findings[1].exception_approved_by, ["alice", "@acme/sec"]);
    assert_eq!(findings[1].exception_expires.as_deref(), Some("2026-09-30"));
    let policies = store.policies(first).unwrap();
    assert_eq!(policies[0].name, "k8s-baseline");
    assert_eq!(policies[0].version.as_deref(), Some("1.4.2"));

    // a write that fails half way (the findings' insert, after the run's
    // row) leaves nothing of that run
    let before = store.counts().unwrap();
    store.execute_unchecked(fail_trigger).unwrap();
    let bad = sample(vec![
        finding("K8S-001", "deploy/a.yaml", 1, Enforcement::Blocking, false),
        finding("FAIL-ME", "deploy/c.yaml", 2, Enforcement::Advisory, false),
    ]);
    let e = store.record(&bad, &meta(16)).unwrap_err();
    assert!(e.to_string().contains("forced failure"), "{e}");
    assert_eq!(store.counts().unwrap(), before);
    drop(store);

    // reopened: no migration again, the same rows
    let again = open();
    assert_eq!(again.applied_migrations().unwrap(), schema::versions().collect::<Vec<_>>());
    assert_eq!(again.counts().unwrap(), before);
    assert_eq!(before.iter().map(|(_, n)| *n).collect::<Vec<_>>(), [2, 2, 2, 2, 2]);
    contents(&again)
}

const SQLITE_TRIGGER: &str = "CREATE TRIGGER fail_me BEFORE INSERT ON findings WHEN NEW.rule_id = 'FAIL-ME' \
     BEGIN SELECT RAISE(ABORT, 'forced failure'); END;";

const POSTGRES_TRIGGER: &str = "CREATE FUNCTION fail_me() RETURNS trigger AS $$ BEGIN \
     IF NEW.rule_id = 'FAIL-ME' THEN RAISE EXCEPTION 'forced failure'; END IF; RETURN NEW; END $$ LANGUAGE plpgsql; \
     CREATE TRIGGER fail_me BEFORE INSERT ON findings FOR EACH ROW EXECUTE FUNCTION fail_me();";

#[test]
fn sqlite_and_postgres_hold_the_same_rows() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sub dir?#").join("history.db");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let path = path.to_string_lossy().into_owned();
    let sqlite = exercise(&|| Store::open(&path).unwrap(), SQLITE_TRIGGER);

    let pg = testing::Postgres::start().unwrap();
    let url = pg.url();
    let postgres = exercise(&|| Store::open(&url).unwrap(), POSTGRES_TRIGGER);
    assert_eq!(sqlite, postgres);
}

#[test]
fn a_missing_directory_of_the_sqlite_file_is_created() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(".bylaw").join("nested").join("history.db");
    let store = Store::open(&path.to_string_lossy()).unwrap();
    assert_eq!(store.applied_migrations().unwrap(), schema::versions().collect::<Vec<_>>());
    assert!(path.is_file());
    // A file where the directory should be is an open error naming it.
    let blocked = dir.path().join("file");
    std::fs::write(&blocked, "x").unwrap();
    let e = Store::open(&blocked.join("h.db").to_string_lossy()).unwrap_err().to_string();
    assert!(e.contains("cannot create the directory") && e.contains("file"), "{e}");
}

#[test]
fn an_unreachable_store_is_an_open_error_without_the_password() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let e = Store::open(&format!("postgres://bylaw:hunter2@127.0.0.1:{port}/history")).unwrap_err();
    let text = e.to_string();
    assert!(matches!(e, HistoryError::Open { .. }), "{e:?}");
    assert!(
        text.starts_with(&format!("cannot open the history store postgres://bylaw:***@127.0.0.1:{port}/history: ")),
        "{text}"
    );
    assert!(!text.contains("hunter2"), "{text}");
    // a directory that cannot be made (a file is in the way; missing
    // directories are created: a_missing_directory_of_the_sqlite_file_is_created)
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("file"), "").unwrap();
    let path = dir.path().join("file/history.db").to_string_lossy().into_owned();
    let e = Store::open(&path).unwrap_err().to_string();
    assert!(e.starts_with(&format!("cannot open the history store {path}: cannot create the directory ")), "{e}");
}

/// A store with a migration this bylaw does not know is refused by name,
/// whether opened to write or to read, and left as it was.
fn refuses_unknown_versions(location: &str, shown: &str) {
    drop(Store::open(location).unwrap());
    let blob = if location.starts_with("postgres") { "decode('00', 'hex')" } else { "X'00'" };
    for version in [99_i64, 99990101000000] {
        testing::execute(
            location,
            &format!(
                "DELETE FROM _sqlx_migrations WHERE version > 2; \
                 INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
                 VALUES ({version}, 'future', TRUE, {blob}, 0)"
            ),
        )
        .unwrap();
        let expected = format!(
            "the history store {shown} was written by a newer bylaw (schema version {version}; \
             this bylaw knows up to {}): upgrade bylaw",
            schema::VERSION
        );
        for e in [Store::open(location).unwrap_err(), Store::open_existing(location).unwrap_err()] {
            assert!(matches!(e, HistoryError::UnknownSchema { .. }), "{e:?}");
            assert_eq!(e.to_string(), expected);
        }
    }
    // a version between the known ones (another build) is named too
    testing::execute(
        location,
        &format!(
            "DELETE FROM _sqlx_migrations WHERE version > 2; \
             INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
             VALUES (0, 'other', TRUE, {blob}, 0)"
        ),
    )
    .unwrap();
    let e = Store::open(location).unwrap_err().to_string();
    assert!(e.contains("has a schema version this bylaw does not know (version 0;"), "{e}");
}

#[test]
fn a_store_from_a_newer_bylaw_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("h.db").to_string_lossy().into_owned();
    refuses_unknown_versions(&path, &path);
    let pg = testing::Postgres::start().unwrap();
    refuses_unknown_versions(&pg.url(), &pg.url());
}

#[test]
fn reading_refuses_a_missing_store_and_creates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("no").join("such").join("histroy.db");
    let shown = path.to_string_lossy().into_owned();
    let e = Store::open_existing(&shown).unwrap_err();
    assert!(matches!(e, HistoryError::Missing { .. }), "{e:?}");
    assert_eq!(
        e.to_string(),
        format!("no history store at {shown} (record runs with `check --record {shown}` or `bylaw history import`)")
    );
    assert!(!dir.path().join("no").exists(), "no directory is created");
    let file = dir.path().join("histroy.db");
    Store::open_existing(&file.to_string_lossy()).unwrap_err();
    assert!(!file.exists(), "no file is created");
    // an existing store opens
    let real = dir.path().join("h.db").to_string_lossy().into_owned();
    drop(Store::open(&real).unwrap());
    assert_eq!(Store::open_existing(&real).unwrap().runs().unwrap(), vec![]);

    // a PostgreSQL database without bylaw's schema is no store either, and stays empty
    let pg = testing::Postgres::start().unwrap();
    let e = Store::open_existing(&pg.url()).unwrap_err();
    assert!(matches!(e, HistoryError::Missing { .. }), "{e:?}");
    assert!(e.to_string().starts_with(&format!("no history store at {} (", pg.url())), "{e}");
    let store = Store::open(&pg.url()).unwrap();
    assert_eq!(store.applied_migrations().unwrap(), schema::versions().collect::<Vec<_>>());
    drop(store);
    assert!(Store::open_existing(&pg.url()).is_ok());
}

/// A store of schema version 1 (no `scope`; a repository recorded as a
/// URL) opened to read: migrated, its run read as of the whole repository
/// and of `owner/name`.
fn upgrades_an_older_store(location: &str) {
    testing::older_store(
        location,
        1,
        "INSERT INTO runs (repository, git_ref, started_at, recorded_at, source, tool_version, report_version, \
         verdict, fail_on, files, documents, policy_count, rule_count, finding_count, blocking, advisory, audit, \
         excepted, errors, baselined) VALUES ('https://github.com/Acme/App.git', 'main', '2026-03-01T09:00:00Z', \
         '2026-03-01T09:00:00Z', 'check', '0.1.0', '1.0', 'pass', 'blocking', 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0)",
    )
    .unwrap();
    let store = Store::open_existing(location).unwrap();
    assert_eq!(store.applied_migrations().unwrap(), schema::versions().collect::<Vec<_>>());
    let runs = store.runs().unwrap();
    assert_eq!((runs[0].repository.as_deref(), &runs[0].scope), (Some("https://github.com/Acme/App.git"), &None));
    // a new run names it `acme/app`: one repository, named as the newest run names it
    let mut m = meta(9);
    m.repository = Some("git@github.com:acme/app.git".into());
    m.scope = Some(RunScope { paths: vec!["deploy".into()], changed: Some(vec!["deploy/a.yaml".into()]) });
    store.record(&two_findings(), &m).unwrap();
    let runs = store.runs().unwrap();
    assert_eq!(runs[1].repository.as_deref(), Some("acme/app"), "recorded as owner/name");
    assert_eq!(runs[1].scope, m.scope);
    for wanted in ["acme/app", "Acme/App", "https://github.com/ACME/app", "ssh://git@github.com:22/acme/app.git"] {
        let w = store.window(&RunFilter { repository: Some(wanted.into()), ..RunFilter::default() }).unwrap();
        let names: Vec<_> = w.runs.iter().map(|r| r.repository.as_deref()).collect();
        assert_eq!(names, [Some("acme/app"), Some("acme/app")], "{wanted}");
    }
    let w = store.window(&RunFilter { repository: Some("acme/other".into()), ..RunFilter::default() }).unwrap();
    assert!(w.runs.is_empty());
}

#[test]
fn an_older_store_is_upgraded_and_its_repository_urls_read_as_names() {
    let dir = tempfile::tempdir().unwrap();
    upgrades_an_older_store(&dir.path().join("old.db").to_string_lossy());
    let pg = testing::Postgres::start().unwrap();
    upgrades_an_older_store(&pg.url());
}

#[test]
fn json_reports_and_sarif_logs_read_back() {
    let report = two_findings();
    let json = serde_json::to_vec(&report).unwrap();
    let back = import::read(&json, "r.json").unwrap();
    assert_eq!(back.source, RunSource::ImportJson);
    assert_eq!(back.report, report);

    let sarif = bylaw_report::to_sarif(&report, &bylaw_report::RenderOptions::default());
    let bytes = serde_json::to_vec(&sarif).unwrap();
    let back = import::read(&bytes, "r.sarif").unwrap();
    assert_eq!(back.source, RunSource::ImportSarif);
    let r = back.report;
    assert_eq!(
        (r.verdict, r.summary.clone(), r.environment.as_deref()),
        (report.verdict, report.summary.clone(), Some("prod"))
    );
    assert_eq!(r.rules.len(), 1);
    assert_eq!((r.rules[0].policy.as_str(), r.rules[0].kind.as_str()), ("k8s-baseline", "security"));
    assert_eq!(r.rules[0].controls, ["CIS-5.2.6"]);
    assert_eq!(r.policies.len(), 1);
    assert_eq!(r.policies[0].version, None);
    // every finding as bylaw wrote it
    assert_eq!(r.findings, report.findings);
    assert_eq!(back.meta, import::FileMeta::default());
}

/// `Store::window`: the filters select the same runs and rows on both backends.
fn window_of(store: &Store) -> Vec<(usize, usize, usize, usize, usize)> {
    store.record(&two_findings(), &meta(2)).unwrap();
    let mut other = meta(9);
    other.repository = Some("acme/other".into());
    other.git_ref = Some("refs/heads/main".into());
    store.record(&sample(vec![]), &other).unwrap();
    let mut dev = meta(16);
    dev.git_ref = Some("dev".into());
    store.record(&two_findings(), &dev).unwrap();
    let sizes = |f: &RunFilter| {
        let w = store.window(f).unwrap();
        (w.runs.len(), w.findings.len(), w.rules.len(), w.exceptions.len(), w.policies.len())
    };
    let all = store.window(&RunFilter::default()).unwrap();
    assert_eq!(all.runs.iter().map(|r| r.id).collect::<Vec<_>>(), [1, 2, 3]);
    assert_eq!(all.rules[0].controls, ["CIS-5.2.6"]);
    assert_eq!(all.exceptions[0].approved_by, ["alice", "@acme/sec"]);
    assert_eq!((all.runs[0].files, all.runs[0].documents), (2, 2));
    vec![
        sizes(&RunFilter::default()),
        sizes(&RunFilter { git_ref: Some("main".into()), ..RunFilter::default() }),
        sizes(&RunFilter { repository: Some("acme/app".into()), ..RunFilter::default() }),
        sizes(&RunFilter {
            since: Some("2026-03-09T09:30:00Z".into()),
            until: Some("2026-03-10T00:00:00Z".into()),
            ..RunFilter::default()
        }),
        sizes(&RunFilter { environment: Some("staging".into()), ..RunFilter::default() }),
    ]
}

#[test]
fn window_filters_alike_in_sqlite_and_postgres() {
    let dir = tempfile::tempdir().unwrap();
    let sqlite = window_of(&Store::open(dir.path().join("w.db").to_str().unwrap()).unwrap());
    assert_eq!(sqlite, [(3, 4, 3, 3, 3), (2, 2, 2, 2, 2), (2, 4, 2, 2, 2), (1, 0, 1, 1, 1), (0, 0, 0, 0, 0)]);
    let pg = testing::Postgres::start().unwrap();
    assert_eq!(window_of(&Store::open(&pg.url()).unwrap()), sqlite);
}

#[test]
fn a_scope_holds_its_paths_and_changed_files() {
    let s = RunScope { paths: vec!["deploy/bases".into(), "ci.yml".into()], changed: None };
    assert!(s.contains("deploy/bases/backend/b.yaml") && s.contains("ci.yml") && s.contains("./ci.yml"));
    assert!(!s.contains("deploy/basesX/b.yaml") && !s.contains("deploy/a.yaml") && !s.contains("ci.yml.bak"));
    let c = RunScope { paths: vec!["deploy".into()], changed: Some(vec!["deploy/a.yaml".into(), "README.md".into()]) };
    assert!(c.contains("deploy/a.yaml"));
    assert!(!c.contains("deploy/b.yaml"), "not changed");
    assert!(!c.contains("README.md"), "changed, but not under the paths");
    assert!(RunScope::default().whole() && RunScope::default().contains("anything"));
    assert!(RunScope { paths: vec![".".into()], changed: None }.contains("a/b"));
}
