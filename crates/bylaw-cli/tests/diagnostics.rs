//! Every diagnostic code as a user sees it: for each
//! `bylaw_engine::diagnostic::Code`, a small input written to a temporary
//! directory that triggers it, run through the real `bylaw` binary
//! (`validate`, `check` or `test`), and its stderr snapshotted (paths are
//! relative to the directory; its absolute path, where a message names it,
//! is shown as `[TMP]`). Codes with a second place to show (duplicates,
//! cycles, conflicts) have a case with their secondary label.
//!
//! `every_code_has_a_case` fails when a code is added to the enum (and so,
//! by the engine's own test, to `Code::ALL`) without a case here.

mod support;

use bylaw_engine::diagnostic::Code;
use std::collections::BTreeSet;
use support::cli::{bylaw_in, write};

/// How the binary shows a code on stderr.
#[derive(Clone, Copy, PartialEq, Debug)]
enum Shown {
    /// As `error[CODE]` / `warning[CODE]` (`Diagnostic::render`).
    Rendered,
    /// As the one-line `error: message` of a problem of the run itself
    /// (`common::usage_error` / `summary_error`), whose first line names no
    /// code; the case checks the code where the run records it instead.
    OneLine,
}

struct Case {
    /// The snapshot's name: the code, and what the case shows when a code
    /// has several.
    name: &'static str,
    code: Code,
    shown: Shown,
    files: Vec<(&'static str, String)>,
    args: &'static [&'static str],
    exit: i32,
}

/// A policy named `name` with `rules` (YAML list items under `rules:`,
/// indented by four spaces) and, before them, `spec` lines (indented by two).
fn policy(name: &str, spec: &str, rules: &str) -> String {
    format!(
        "apiVersion: bylaw/v1\nkind: Policy\nmetadata:\n  name: {name}\n  version: 1.0.0\n  type: operational\nspec:\n{spec}  rules:\n{rules}"
    )
}

/// A rule that validates without warnings, with `extra` lines (indented by six).
fn rule(id: &str, extra: &str) -> String {
    format!(
        "    - id: {id}\n      title: t\n      severity: low\n      remediation: fix it\n{extra}      examples: {{ fail: \"a: 1\", pass: \"a: 2\" }}\n"
    )
}

fn deny(id: &str, cel: &str) -> String {
    rule(id, &format!("      deny: \"{cel}\"\n"))
}

/// `p.yaml` holding policy `demo` with `rules`, and `exceptions.yaml` with
/// an exception (id, rule) for each of `exceptions`.
fn with_exceptions(rules: &str, exceptions: &[(&str, &str)]) -> Vec<(&'static str, String)> {
    let mut list = String::from("apiVersion: bylaw/v1\nkind: ExceptionList\nexceptions:\n");
    for (id, rule) in exceptions {
        list.push_str(&format!("  - id: {id}\n    rules: [{rule}]\n    reason: legacy\n"));
    }
    vec![("p.yaml", policy("demo", "", rules)), ("exceptions.yaml", list)]
}

fn cases() -> Vec<Case> {
    let ok = deny("R-1", "doc.a == 1");
    let case = |name, code, files: Vec<(&'static str, String)>, args, exit| Case {
        name,
        code,
        shown: Shown::Rendered,
        files,
        args,
        exit,
    };
    vec![
        case(
            "yaml_duplicate_key",
            Code::Yaml,
            vec![("p.yaml", policy("demo", "", &ok).replace("      title: t\n", "      title: t\n      title: u\n"))],
            &["validate", "p.yaml"],
            2,
        ),
        case(
            "schema",
            Code::Schema,
            vec![("p.yaml", policy("demo", "", &ok).replace("severity: low", "severity: hihg"))],
            &["validate", "p.yaml"],
            2,
        ),
        case("cel", Code::Cel, vec![("p.yaml", policy("demo", "", &deny("R-1", "doc.a ==")))], &["validate", "p.yaml"], 2),
        case(
            "jsonpath",
            Code::JsonPath,
            vec![("p.yaml", policy("demo", "", &rule("R-1", "      each: \"$.spec[[\"\n      deny: \"item.a == 1\"\n")))],
            &["validate", "p.yaml"],
            2,
        ),
        case(
            "glob",
            Code::Glob,
            vec![("p.yaml", policy("demo", "  match:\n    files: [\"deploy/[a-\"]\n", &ok))],
            &["validate", "p.yaml"],
            2,
        ),
        case(
            "duplicate_id_rule",
            Code::DuplicateId,
            vec![("p.yaml", policy("demo", "", &format!("{ok}{}", deny("R-1", "doc.b == 1"))))],
            &["validate", "p.yaml"],
            2,
        ),
        case(
            "duplicate_id_policy_name",
            Code::DuplicateId,
            vec![
                ("a.yaml", policy("demo", "", &ok)),
                ("b.yaml", policy("demo", "", &deny("R-2", "doc.b == 1"))),
            ],
            &["validate", "a.yaml", "b.yaml"],
            2,
        ),
        case(
            "duplicate_id_rule_across_policies",
            Code::DuplicateId,
            vec![("a.yaml", policy("one", "", &ok)), ("b.yaml", policy("two", "", &deny("R-1", "doc.b == 1")))],
            &["validate", "a.yaml", "b.yaml"],
            2,
        ),
        case(
            "duplicate_id_exception",
            Code::DuplicateId,
            with_exceptions(&ok, &[("EXC-1", "R-1"), ("EXC-1", "R-1")]),
            &["validate", "p.yaml", "--exceptions", "exceptions.yaml"],
            2,
        ),
        case("io", Code::Io, vec![], &["validate", "missing.yaml"], 2),
        case(
            "extends_cycle",
            Code::Extends,
            vec![
                ("a.yaml", policy("a", "  extends: [\"./b.yaml\"]\n", &ok)),
                ("b.yaml", policy("b", "  extends: [\"./a.yaml\"]\n", &deny("R-2", "doc.b == 1"))),
            ],
            &["validate", "a.yaml"],
            2,
        ),
        case(
            "rule",
            Code::Rule,
            vec![("p.yaml", policy("demo", "", &rule("R-1", "      deny: \"doc.a == 1\"\n      require: \"doc.b == 1\"\n")))],
            &["validate", "p.yaml"],
            2,
        ),
        case(
            "lint",
            Code::Lint,
            vec![("p.yaml", policy("demo", "", &ok).replace("      remediation: fix it\n", ""))],
            &["validate", "p.yaml"],
            0,
        ),
        case(
            "params",
            Code::Params,
            vec![("p.yaml", policy("demo", "  params: { max_replicas: 3 }\n", &deny("R-1", "doc.replicas > params.max_replica")))],
            &["validate", "p.yaml"],
            2,
        ),
        case(
            "exception",
            Code::Exception,
            with_exceptions(&ok, &[("EXC-1", "R-2")]),
            &["validate", "p.yaml", "--exceptions", "exceptions.yaml"],
            2,
        ),
        case("constant", Code::Constant, vec![("p.yaml", policy("demo", "", &deny("R-1", "1 == 2")))], &["validate", "p.yaml"], 2),
        case(
            "unknown_policy",
            Code::UnknownPolicy,
            vec![
                ("p.yaml", policy("demo", "", &ok)),
                (
                    "p.test.yaml",
                    "apiVersion: bylaw/v1\nkind: PolicyTest\nmetadata:\n  name: t\npolicy: dmeo\ncases:\n  - name: a is 1\n    input: { inline: \"a: 1\" }\n    expect: none\n".into(),
                ),
            ],
            &["test", "p.yaml", "p.test.yaml"],
            2,
        ),
        case(
            "unknown_rule",
            Code::UnknownRule,
            vec![("p.yaml", policy("demo", "  disable: [R-2]\n", &ok))],
            &["validate", "p.yaml"],
            2,
        ),
        Case {
            name: "usage",
            code: Code::Usage,
            shown: Shown::OneLine,
            files: vec![("p.yaml", policy("demo", "", &ok))],
            args: &["check", ".", "-p", "p.yaml", "--format", "xml", "--json", "report.json"],
            exit: 2,
        },
        Case {
            name: "summary",
            code: Code::Summary,
            shown: Shown::OneLine,
            files: vec![("p.yaml", policy("demo", "", &deny("R-1", "doc.a ==")))],
            args: &["check", ".", "-p", "p.yaml"],
            exit: 2,
        },
        case(
            "message",
            Code::Message,
            vec![("p.yaml", policy("demo", "", &rule("R-1", "      deny: \"doc.a == 1\"\n      message: \"a is {{ doc.a\"\n")))],
            &["validate", "p.yaml"],
            2,
        ),
        case(
            "at",
            Code::At,
            vec![("p.yaml", policy("demo", "", &rule("R-1", "      deny: \"doc.a == 1\"\n      at: \"a[[\"\n")))],
            &["validate", "p.yaml"],
            2,
        ),
        case(
            "conflict",
            Code::Conflict,
            vec![(
                "p.yaml",
                policy(
                    "demo",
                    "",
                    &format!("{}{}", deny("R-1", "doc.a == 1"), rule("R-2", "      require: \"doc.a == 1\"\n")),
                ),
            )],
            &["validate", "p.yaml"],
            2,
        ),
        case(
            "rego",
            Code::Rego,
            vec![("p.rego", "package main\n\nimport rego.v1\n\ndeny contains msg if {\n  msg := sprintf(\"%v\", [input.x]\n}\n".to_owned())],
            &["validate", "p.rego"],
            2,
        ),
    ]
}

#[test]
fn every_code_has_a_case() {
    let covered: BTreeSet<&str> = cases().iter().map(|c| c.code.as_str()).collect();
    let all: BTreeSet<&str> = Code::ALL.iter().map(|c| c.as_str()).collect();
    assert_eq!(covered, all, "each code needs a case (and a reviewed snapshot) in this file");
    let mut names: Vec<&str> = cases().iter().map(|c| c.name).collect();
    names.sort();
    names.dedup();
    assert_eq!(names.len(), cases().len(), "snapshot names are unique");
}

#[test]
fn every_code_as_the_binary_shows_it() {
    for case in cases() {
        let dir = tempfile::tempdir().unwrap();
        for (path, text) in &case.files {
            write(dir.path(), path, text);
        }
        let out = bylaw_in(dir.path(), case.args, None);
        let tmp = dir.path().display().to_string();
        let stderr = out.stderr.replace(&tmp, "[TMP]");
        assert_eq!(out.code, case.exit, "{}: {stderr}", case.name);
        let code = case.code.as_str();
        match case.shown {
            Shown::Rendered => assert!(
                stderr.contains(&format!("error[{code}]: ")) || stderr.contains(&format!("warning[{code}]: ")),
                "{}: no `[{code}]` in\n{stderr}",
                case.name
            ),
            // the run's own error closes stderr, after any diagnostic it follows
            Shown::OneLine => {
                let last = stderr.trim_end().rsplit("\n\n").next().unwrap_or_default();
                assert!(last.starts_with("error: "), "{}: {stderr}", case.name);
            }
        }
        insta::assert_snapshot!(case.name, stderr);
    }
}

/// The one-line errors are recorded with their codes for the artifacts a
/// failed run still writes: a usage error is the JSON report's `errors[]`
/// entry with code `usage`; the summary line (code `summary`) is not one
/// more error there: the report lists and counts only the error it counts.
#[test]
fn the_one_line_errors_are_recorded_with_their_codes() {
    let usage = cases().into_iter().find(|c| c.code == Code::Usage).unwrap();
    let dir = tempfile::tempdir().unwrap();
    for (path, text) in &usage.files {
        write(dir.path(), path, text);
    }
    let out = bylaw_in(dir.path(), usage.args, None);
    assert_eq!(out.code, 2, "{}", out.stderr);
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("report.json")).unwrap()).unwrap();
    assert_eq!(report["errors"][0]["code"], "usage", "{report:#}");

    let summary = cases().into_iter().find(|c| c.code == Code::Summary).unwrap();
    let dir = tempfile::tempdir().unwrap();
    for (path, text) in &summary.files {
        write(dir.path(), path, text);
    }
    let mut args = summary.args.to_vec();
    args.extend(["--json", "report.json"]);
    let out = bylaw_in(dir.path(), &args, None);
    assert_eq!(out.code, 2, "{}", out.stderr);
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("report.json")).unwrap()).unwrap();
    let codes: Vec<&str> = report["errors"].as_array().unwrap().iter().filter_map(|e| e["code"].as_str()).collect();
    assert_eq!(codes, ["cel"], "the summary is not one more error: {report:#}");
    assert_eq!(report["summary"]["errors"], 1, "{report:#}");
    assert!(out.stderr.ends_with("error: 1 error in policies; nothing was evaluated\n  = hint: run `bylaw validate` while editing policies\n"), "{}", out.stderr);
}
