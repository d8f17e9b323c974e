//! The ready-to-copy scheduled pipelines of issue 19 item 4
//! (examples/github/bylaw-scheduled.yml, examples/gitlab/
//! scheduled.gitlab-ci.yml, examples/jenkins/Jenkinsfile.scheduled): each
//! parses (YAML with bylaw's own parser and the CI system's schema as
//! vendored by PyPI's check-jsonschema; the Jenkinsfile walked under
//! Debian's groovy, as the Jenkins library's tests do), runs on a schedule
//! only, checks and records the default branch, publishes the report, ends
//! with the regression gate — and every `bylaw` command line in them uses
//! only flags the binary accepts.

mod support;

use serde_json::Value;
use std::process::Command;
use support::tools::{check_jsonschema, root, sh};

const GITHUB: &str = "examples/github/bylaw-scheduled.yml";
const GITLAB: &str = "examples/gitlab/scheduled.gitlab-ci.yml";
const JENKINS: &str = "examples/jenkins/Jenkinsfile.scheduled";

fn read(rel: &str) -> String {
    std::fs::read_to_string(root().join(rel)).unwrap()
}

fn yaml(rel: &str) -> Value {
    let parsed = bylaw_engine::input::yaml::parse(&read(rel));
    assert!(parsed.errors.is_empty(), "{rel}: {:?}", parsed.errors);
    assert_eq!(parsed.documents.len(), 1, "{rel}");
    parsed.documents[0].to_json()
}

fn schema_ok(schema: &str, rel: &str) {
    let (code, out, err) =
        sh(Command::new(check_jsonschema()).args(["--builtin-schema", schema]).arg(rel).current_dir(root()));
    assert_eq!(code, 0, "{rel} against {schema}:\n{out}{err}");
}

/// The `bylaw SUBCOMMAND …` command lines of `text` (continuation lines joined).
fn bylaw_lines(text: &str) -> Vec<String> {
    let joined = text.replace("\\\n", " ");
    joined
        .lines()
        .filter_map(|l| {
            let l = l.trim().trim_start_matches("- ").trim_start_matches(".bylaw/bin/");
            l.starts_with("bylaw ").then(|| l.to_owned())
        })
        .collect()
}

/// Every `--flag` of each command line is one its subcommand's `--help` lists.
fn flags_exist(rel: &str, lines: &[String]) {
    assert!(!lines.is_empty(), "{rel}: no bylaw command line");
    for line in lines {
        let sub = line.split_whitespace().nth(1).unwrap();
        let out = Command::new(env!("CARGO_BIN_EXE_bylaw")).args([sub, "--help"]).output().unwrap();
        assert!(out.status.success(), "{rel}: `bylaw {sub}` is not a subcommand");
        let help = String::from_utf8(out.stdout).unwrap();
        for flag in line.split_whitespace().filter(|w| w.starts_with("--")) {
            let flag = flag.split('=').next().unwrap();
            assert!(
                help.contains(&format!("{flag} ")) || help.contains(&format!("{flag}\n")),
                "{rel}: `bylaw {sub}` has no {flag}: {line}"
            );
        }
    }
}

/// The gate is the last bylaw command, and a recording check and a report come before it.
fn records_reports_then_gates(rel: &str, lines: &[String]) {
    let check = lines.iter().position(|l| l.starts_with("bylaw check ") && l.contains("--record "));
    let report = lines.iter().position(|l| l.starts_with("bylaw report ") && !l.contains("--fail-on-regression"));
    let gate = lines.iter().position(|l| l.starts_with("bylaw report ") && l.contains("--fail-on-regression"));
    let (Some(check), Some(report), Some(gate)) = (check, report, gate) else {
        panic!("{rel}: needs a recording check, a report and the gate: {lines:?}")
    };
    assert!(check < report && report < gate && gate == lines.len() - 1, "{rel}: order {lines:?}");
    assert!(
        lines[check].contains("--fail-on never"),
        "{rel}: the recording check must not fail the job before the report: {}",
        lines[check]
    );
}

#[test]
fn github_scheduled_workflow() {
    let w = yaml(GITHUB);
    let cron = w["on"]["schedule"][0]["cron"].as_str().expect("on.schedule[0].cron");
    assert_eq!(cron.split_whitespace().count(), 5, "{cron}");
    assert!(w["on"].get("workflow_dispatch").is_some(), "workflow_dispatch");
    assert!(w["on"].get("push").is_none() && w["on"].get("pull_request").is_none(), "schedule only");
    assert_eq!(w["permissions"]["contents"], "write");
    assert_eq!(w["concurrency"]["group"], "bylaw-history");
    let steps = w["jobs"]["monitor"]["steps"].as_array().unwrap();
    assert_eq!(steps[0]["uses"], "actions/checkout@v4");
    assert_eq!(steps[0]["with"]["ref"], "${{ github.event.repository.default_branch }}");
    let runs: String = steps.iter().filter_map(|s| s["run"].as_str()).collect::<Vec<_>>().join("\n");
    assert!(runs.contains("git -C .bylaw-history push -q origin bylaw-history"), "the store is pushed");
    assert!(steps.iter().any(|s| s["uses"] == "actions/upload-artifact@v4"), "artifact");
    assert!(steps.last().unwrap()["run"].as_str().unwrap().contains("--fail-on-regression"), "gate last");
    assert_eq!(w["jobs"]["pages"]["needs"], "monitor");
    assert_eq!(w["jobs"]["pages"]["steps"][0]["uses"], "actions/deploy-pages@v4");
    let lines = bylaw_lines(&runs);
    flags_exist(GITHUB, &lines);
    records_reports_then_gates(GITHUB, &lines);
    schema_ok("vendor.github-workflows", GITHUB);
}

#[test]
fn gitlab_scheduled_pipeline() {
    let p = yaml(GITLAB);
    let rules = p["workflow"]["rules"].as_array().unwrap();
    assert_eq!(rules[0]["if"], "$CI_PIPELINE_SOURCE == \"schedule\"");
    let job = &p["bylaw-monitor"];
    assert_eq!(job["extends"], ".bylaw");
    for r in job["rules"].as_array().unwrap() {
        assert!(r["if"].as_str().unwrap().contains("$CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH"), "default branch only");
    }
    assert_eq!(job["rules"][0]["if"], "$CI_PIPELINE_SOURCE == \"schedule\" && $CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH");
    assert_eq!(job["cache"]["key"], "bylaw-history");
    assert_eq!(job["artifacts"]["when"], "always");
    assert!(job["artifacts"]["paths"].as_array().unwrap().iter().any(|x| x == "public/"));
    assert_eq!(p["pages"]["needs"][0]["job"], "bylaw-monitor");
    assert_eq!(p["pages"]["rules"][0]["when"], "always", "Pages publishes even when the gate failed");
    assert_eq!(p["pages"]["artifacts"]["paths"][0], "public");
    let script: Vec<String> =
        job["script"].as_array().unwrap().iter().map(|x| x.as_str().unwrap().to_owned()).collect();
    let lines = bylaw_lines(&script.join("\n"));
    flags_exist(GITLAB, &lines);
    records_reports_then_gates(GITLAB, &lines);
    // the included template's `.bylaw` job is the one this file extends
    assert!(read("gitlab/bylaw.gitlab-ci.yml").contains("\n.bylaw:\n"));
    schema_ok("vendor.gitlab-ci", GITLAB);
}

/// Declarative Pipeline just deep enough to walk the Jenkinsfile: blocks
/// are entered, `environment` assignments land in `env`, and the calls of
/// `cron`, `bylaw`, `sh` and `archiveArtifacts` and the stage names are
/// printed as JSON.
const WALK: &str = r#"
import groovy.json.JsonOutput
class Walk {
    Map env = [JOB_NAME: 'acme/shop monitor']
    Map calls = [cron: [], bylaw: [], sh: [], archiveArtifacts: [], stages: []]
    def methodMissing(String name, Object args) {
        Object[] a = args as Object[]
        if (calls.containsKey(name) && name != 'stages') { calls[name] << (a.length > 0 ? a[0] : null) }
        if (name == 'stage') { calls.stages << a[0].toString() }
        if (name == 'bylaw') { return [verdict: 'pass', blocking: 0, advisory: 0, excepted: 0, exitCode: 0] }
        for (Object x in a) {
            if (x instanceof Closure) {
                Closure body = ((Closure) x).rehydrate(this, this, this)
                body.resolveStrategy = Closure.DELEGATE_FIRST
                body()
            }
        }
        null
    }
    def propertyMissing(String name) { name }
    def propertyMissing(String name, Object value) { env[name] = value }
}
String text = new File(args[0]).text
assert text.readLines().contains("@Library('bylaw') _")
Walk w = new Walk()
Binding b = new Binding()
b.setVariable('pipeline', { Closure body -> w.methodMissing('pipeline', [body] as Object[]) })
new GroovyShell(b).evaluate(text.replace("@Library('bylaw') _", ''), 'Jenkinsfile')
println JsonOutput.toJson([calls: w.calls, env: w.env])
"#;

#[test]
fn jenkins_scheduled_pipeline() {
    let groovy = {
        let (code, out, err) = sh(Command::new("bash").arg(root().join("scripts/tools.sh")).arg("groovy"));
        assert_eq!(code, 0, "scripts/tools.sh groovy: {err}");
        out.trim().to_owned()
    };
    let dir = tempfile::tempdir().unwrap();
    let walk = dir.path().join("walk.groovy");
    std::fs::write(&walk, WALK).unwrap();
    let (code, out, err) = sh(Command::new(groovy).arg(&walk).arg(root().join(JENKINS)));
    assert_eq!(code, 0, "{out}{err}");
    let json: Value = serde_json::from_str(out.lines().last().unwrap()).unwrap();
    let calls = &json["calls"];
    assert_eq!(calls["cron"], serde_json::json!(["H 5 * * 1-5"]));
    assert_eq!(calls["stages"], serde_json::json!(["Check and record", "Compliance report", "Regression gate"]));
    let step = &calls["bylaw"][0];
    assert_eq!(calls["bylaw"].as_array().unwrap().len(), 1);
    // the step's parameters are the library's documented ones
    let doc = read("jenkins/vars/bylaw.txt");
    for key in step.as_object().unwrap().keys() {
        assert!(doc.contains(&format!("<li><code>{key}</code>")), "the bylaw step has no parameter {key}");
    }
    assert_eq!(step["failOn"], "never");
    assert_eq!(step["args"][0], "--record");
    assert_eq!(step["args"][1], "/var/lib/bylaw-history/acme_shop_monitor.db");
    let shells: Vec<String> = calls["sh"].as_array().unwrap().iter().map(|s| s.as_str().unwrap().to_owned()).collect();
    let mut lines = vec![format!("bylaw check . --fail-on never --record {}", step["args"][1].as_str().unwrap())];
    lines.extend(bylaw_lines(&shells.join("\n")));
    flags_exist(JENKINS, &lines[1..]);
    records_reports_then_gates(JENKINS, &lines);
    // the shell's store name is the Groovy one
    let (code, out, _) = sh(Command::new("sh")
        .arg("-c")
        .arg("printf '%s' \"$JOB_NAME\" | tr -c 'A-Za-z0-9._-' '_'")
        .env("JOB_NAME", "acme/shop monitor"));
    assert_eq!((code, out.as_str()), (0, "acme_shop_monitor"));
    assert!(shells.iter().all(|s| s
        .contains("store=\"$BYLAW_HISTORY_DIR/$(printf '%s' \"$JOB_NAME\" | tr -c 'A-Za-z0-9._-' '_').db\"")
        || s.starts_with("mkdir")));
    assert_eq!(calls["archiveArtifacts"][0]["artifacts"], "bylaw-report.html,bylaw-report.json,bylaw-report.md");
    assert_eq!(json["env"]["BYLAW_ENV"], "prod");
}
