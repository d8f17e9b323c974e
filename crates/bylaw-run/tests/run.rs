//! The library API end to end on files in a temporary directory, which is
//! never the process's current directory: every relative path must be
//! taken from `Request::working_dir`.

use bylaw_engine::chrono::{TimeZone, Utc};
use bylaw_engine::report::Verdict;
use bylaw_run::{load_config, ConfigChoice, Message, Request, RunError, StdinError};
use std::path::{Path, PathBuf};

const POLICY: &str = r#"apiVersion: bylaw/v1
kind: Policy
metadata:
  name: no-latest
  type: security
  owners: [alice]
spec:
  enforcement: blocking
  match:
    kinds: [Deployment]
  rules:
    - id: no-latest-tag
      title: Images are pinned
      severity: high
      each: "$..containers[*]"
      deny: "item.image.endsWith(':latest')"
      message: "image {{ doc.metadata.name }} uses :latest"
"#;

fn deployment(name: &str, image: &str) -> String {
    format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {name}\nspec:\n  template:\n    spec:\n      containers:\n        - name: app\n          image: {image}\n"
    )
}

fn repo() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("policies")).unwrap();
    std::fs::create_dir_all(dir.path().join("deploy")).unwrap();
    std::fs::write(dir.path().join("policies/no-latest.yaml"), POLICY).unwrap();
    std::fs::write(dir.path().join("deploy/web.yaml"), deployment("web", "nginx:latest")).unwrap();
    std::fs::write(dir.path().join("deploy/api.yaml"), deployment("api", "api:1.2.3")).unwrap();
    dir
}

fn request(wd: &Path) -> Request {
    let config = load_config(&ConfigChoice::Find, &[], wd).unwrap();
    let now = Utc.with_ymd_and_hms(2026, 6, 1, 0, 0, 0).unwrap();
    let mut r = Request::new(wd.to_path_buf(), config, now);
    r.policies = vec![PathBuf::from("policies")];
    r.paths = vec![PathBuf::from("deploy")];
    r
}

#[test]
fn relative_paths_are_taken_from_the_working_directory_not_the_process() {
    let dir = repo();
    assert_ne!(std::env::current_dir().unwrap(), dir.path());
    let outcome = bylaw_run::run(request(dir.path())).unwrap();
    let report = &outcome.report;
    assert_eq!(report.verdict, Verdict::Fail);
    assert_eq!(report.summary.files, 2);
    assert_eq!(report.findings.len(), 1);
    let f = &report.findings[0];
    assert_eq!(f.rule_id, "no-latest-tag");
    assert_eq!(f.location.path, "deploy/web.yaml");
    assert_eq!(f.message, "image web uses :latest");
    assert_eq!(report.policies[0].source, "policies/no-latest.yaml");
}

#[test]
fn the_catalog_is_known_before_evaluation_and_approved_exceptions_apply() {
    let dir = repo();
    let prepared = bylaw_run::prepare(request(dir.path())).unwrap();
    let catalog = prepared.catalog();
    assert_eq!(catalog.rule("no-latest-tag").map(|r| r.policy.as_str()), Some("no-latest"));
    assert_eq!(catalog.policy("no-latest").map(|p| p.owners.clone()), Some(vec!["alice".to_owned()]));
    let list = "apiVersion: bylaw/v1\nkind: ExceptionList\nexceptions:\n  - id: EX-1\n    rules: [no-latest-tag]\n    targets: [deploy/web.yaml]\n    reason: migrating\n    approved_by: [alice]\n    expires: 2026-12-31\n";
    let dir2 = tempfile::tempdir().unwrap();
    std::fs::write(dir2.path().join("ex.yaml"), list).unwrap();
    let approved = bylaw_engine::exceptions::load(&[dir2.path().join("ex.yaml")], dir2.path()).unwrap();
    let outcome = prepared.evaluate(approved).unwrap();
    assert_eq!(outcome.report.verdict, Verdict::Pass);
    assert_eq!(outcome.report.findings.len(), 1);
    assert!(outcome.report.findings[0].exception.is_some());
}

#[test]
fn stops_are_typed_with_what_was_said_before() {
    let dir = repo();
    // no policies
    let mut r = request(dir.path());
    r.policies.clear();
    let err = bylaw_run::run(r).err().unwrap();
    assert!(matches!(err.error, RunError::NoPolicies));
    assert!(err.error.hint().unwrap().contains("-p POLICY"));
    // a path that does not exist
    let mut r = request(dir.path());
    r.paths = vec![PathBuf::from("nope")];
    let err = bylaw_run::run(r).err().unwrap();
    match &err.error {
        RunError::Missing(paths) => assert_eq!(paths.len(), 1, "{paths:?}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(err.error.to_string(), "no such file or directory: nope");
    // an empty stream
    let mut r = request(dir.path());
    r.paths = vec![PathBuf::from("-")];
    r.stdin = Some(Box::new(std::io::Cursor::new(b"\n\n".to_vec())));
    let err = bylaw_run::run(r).err().unwrap();
    assert!(matches!(err.error, RunError::Stdin(StdinError::Empty)), "{:?}", err.error);
    // a broken policy: its located diagnostics come with the error
    std::fs::write(dir.path().join("policies/broken.yaml"), "apiVersion: bylaw/v1\nkind: Policy\nmetadata: {}\n")
        .unwrap();
    let err = bylaw_run::run(request(dir.path())).err().unwrap();
    let (diags, _) = err.error.diagnostics().unwrap();
    assert!(diags.iter().any(|d| d.file == "policies/broken.yaml" && d.span.is_some()), "{diags:#?}");
    assert!(err.error.to_string().ends_with("in policies; nothing was evaluated"), "{}", err.error);
}

#[test]
fn a_stream_is_read_from_the_request_and_messages_are_returned_not_printed() {
    let dir = repo();
    let mut r = request(dir.path());
    r.paths = vec![PathBuf::from("-"), PathBuf::from("deploy/api.yaml"), PathBuf::from("policies/no-latest.yaml")];
    r.stdin = Some(Box::new(std::io::Cursor::new(deployment("piped", "x:latest").into_bytes())));
    r.list_files = true;
    let outcome = bylaw_run::run(r).unwrap();
    let paths: Vec<&str> = outcome.report.findings.iter().map(|f| f.location.path.as_str()).collect();
    assert_eq!(paths, ["<stdin>"]);
    // the policy named as an input is one of the run's own files
    assert!(
        outcome
            .messages
            .iter()
            .any(|m| matches!(m, Message::Warning(w) if w.starts_with("policies/no-latest.yaml: skipped"))),
        "{:?}",
        outcome.messages
    );
    let Some(Message::Files(lines)) = outcome.messages.iter().find(|m| matches!(m, Message::Files(_))) else {
        panic!("{:?}", outcome.messages)
    };
    assert!(lines.iter().any(|l| l.starts_with("read     deploy/api.yaml (1 document, 1 policy)")), "{lines:?}");
}
