//! End-to-end tests of the `plain` input (see main.rs): TOML, INI, Java
//! properties, `.env` and JSON Lines. Each: a finding on the exact line
//! of the value it is about, an inline suppression in the format's own
//! comment syntax (and a `#` inside a value that suppresses nothing),
//! `file.format` in conditions, located syntax errors.

use crate::support::cli::{bylaw_in, write};
use std::path::Path;

const POLICY: &str = r#"apiVersion: bylaw/v1
kind: Policy
metadata: { name: plain, type: security }
spec:
  rules:
    - id: TOML-001
      title: Dependencies are pinned
      severity: high
      each: "$.dependencies.*"
      deny: "file.format == 'toml' && item == '*'"
      message: "unpinned dependency"
    - id: INI-001
      title: Database connections use TLS
      severity: high
      deny: "file.format == 'ini' && doc.?database.?ssl.orValue('') == 'false'"
      at: "$.database.ssl"
      message: "ssl is off"
    - id: PROP-001
      title: Spring serves TLS
      severity: high
      deny: "file.format == 'properties' && 'server.ssl.enabled' in doc && doc['server.ssl.enabled'] == 'false'"
      at: "$['server.ssl.enabled']"
      message: "server.ssl.enabled is false"
    - id: ENV-001
      title: No debug mode
      severity: medium
      deny: "file.format == 'dotenv' && doc.?DEBUG.orValue('') == 'true'"
      at: "$.DEBUG"
      message: "DEBUG is on"
    - id: JSONL-001
      title: No debug records
      severity: low
      deny: "file.format == 'jsonl' && doc.?level.orValue('') == 'debug'"
      at: "$.level"
      message: "debug record"
"#;

/// A repository with the policy in `policies/` and the given files.
fn repo(files: &[(&str, &str)]) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    write(tmp.path(), ".bylaw.yaml", "policies: [policies/]\n");
    write(tmp.path(), "policies/plain.yaml", POLICY);
    for (p, t) in files {
        write(tmp.path(), p, t);
    }
    tmp
}

/// A finding: rule, path, line, column, excepted.
type Found = (String, String, u64, u64, bool);

/// Every finding, and the exit
/// code. A finding on a mapping entry starts at its key.
fn check(dir: &Path) -> (i32, Vec<Found>) {
    let out = bylaw_in(dir, &["check", "--format", "json"], None);
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", out.stderr));
    let got = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["rule_id"].as_str().unwrap().to_owned(),
                f["location"]["path"].as_str().unwrap().to_owned(),
                f["location"]["start_line"].as_u64().unwrap(),
                f["location"]["start_column"].as_u64().unwrap(),
                f["exception"].is_object(),
            )
        })
        .collect();
    (out.code, got)
}

fn f(rule: &str, path: &str, line: u64, col: u64, excepted: bool) -> Found {
    (rule.to_owned(), path.to_owned(), line, col, excepted)
}

#[test]
fn toml_findings_land_on_the_value_and_hash_comments_suppress() {
    let cargo = "\
[package]
name = \"app\" # bylaw:ignore TOML-001 -- a string, not a dependency
description = \"# bylaw:ignore TOML-001\"

[dependencies]
serde = \"*\"
# bylaw:ignore TOML-001 -- vendored, pinned by the lock file
rand = \"*\"
regex = \"1\"
log = \"*\" # bylaw:ignore TOML-001 -- same line
";
    // the same rule on a file of another format: `file.format` keeps it off
    let tmp = repo(&[("Cargo.toml", cargo), ("deps.json", "{\"dependencies\": {\"x\": \"*\"}}\n")]);
    let (code, got) = check(tmp.path());
    assert_eq!(
        got,
        vec![
            f("TOML-001", "Cargo.toml", 6, 1, false),
            f("TOML-001", "Cargo.toml", 8, 1, true),
            f("TOML-001", "Cargo.toml", 10, 1, true),
        ]
    );
    assert_eq!(code, 1);
}

#[test]
fn ini_and_properties_findings_and_their_comment_markers() {
    let ini = "\
; app.ini
[server]
port = 8080
[database]
host = db
ssl = false
";
    let suppressed_ini = "[database]\n; bylaw:ignore INI-001 -- local development only\nssl = false\n";
    let props = "\
# application.properties
server.port=8443
server.ssl.enabled = false
";
    let suppressed_props = "! bylaw:ignore PROP-001 -- behind the TLS proxy\nserver.ssl.enabled=false\n";
    let tmp = repo(&[
        ("config/app.ini", ini),
        ("config/dev.cfg", suppressed_ini),
        ("src/main/resources/application.properties", props),
        ("src/test/resources/application.properties", suppressed_props),
    ]);
    let (code, got) = check(tmp.path());
    assert_eq!(
        got,
        vec![
            f("INI-001", "config/app.ini", 6, 1, false),
            f("INI-001", "config/dev.cfg", 3, 1, true),
            f("PROP-001", "src/main/resources/application.properties", 3, 1, false),
            f("PROP-001", "src/test/resources/application.properties", 2, 1, true),
        ]
    );
    assert_eq!(code, 1);
}

#[test]
fn dotenv_and_jsonl_findings_on_their_lines() {
    let env = "\
# .env
export API_URL=\"https://api/#v1\" # bylaw:ignore ENV-001 -- not the line of DEBUG
SECRET='a # b'
DEBUG=true
";
    let suppressed = "DEBUG=true # bylaw:ignore ENV-001 -- a test fixture\n";
    let jsonl = "{\"level\": \"info\"}\n\n{\"msg\": \"# bylaw:ignore JSONL-001\",\n \"level\": \"debug\"}\n{\"level\": \"debug\"}\n";
    let tmp = repo(&[(".env", env), ("test/fixture.env", suppressed), ("logs/app.jsonl", jsonl)]);
    let (code, got) = check(tmp.path());
    // a document broken over lines 3 and 4 is two broken lines; the
    // others are still read
    assert_eq!(
        got,
        vec![
            f("ENV-001", ".env", 4, 1, false),
            f("bylaw/parse-error", "logs/app.jsonl", 3, 35, false),
            f("bylaw/parse-error", "logs/app.jsonl", 4, 9, false),
            f("JSONL-001", "logs/app.jsonl", 5, 2, false),
            f("ENV-001", "test/fixture.env", 1, 1, true),
        ]
    );
    assert_eq!(code, 1);
}

#[test]
fn syntax_errors_are_located_findings_and_name_the_format() {
    let tmp = repo(&[
        ("pyproject.toml", "[project]\nname = \"x\"\nversion = 1.0.0\n"),
        (".env.local", "A=1\nB=\"open\n"),
        ("x.properties", "a=\\u12\n"),
    ]);
    let out = bylaw_in(tmp.path(), &["check", "--format", "json"], None);
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let got: Vec<(String, u64, u64, String)> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["location"]["path"].as_str().unwrap().to_owned(),
                f["location"]["start_line"].as_u64().unwrap(),
                f["location"]["start_column"].as_u64().unwrap(),
                f["message"].as_str().unwrap().split(':').next().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            (".env.local".to_owned(), 2, 3, "invalid .env".to_owned()),
            ("pyproject.toml".to_owned(), 3, 14, "invalid TOML".to_owned()),
            ("x.properties".to_owned(), 1, 3, "invalid Java properties".to_owned()),
        ],
        "{}",
        out.stdout
    );
    assert_eq!(out.code, 1);
}
