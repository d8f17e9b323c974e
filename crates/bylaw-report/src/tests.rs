//! Emitter tests on a hand-built report covering every finding state:
//! blocking, advisory, audit, excepted, a parse error and a pipeline policy.

use super::*;
use bylaw_engine::report::*;

fn finding(rule: &str, policy: &str, path: &str, line: u32, enforcement: Enforcement, message: &str) -> Finding {
    Finding {
        rule_id: rule.into(),
        policy: policy.into(),
        severity: Severity::High,
        enforcement,
        message: message.into(),
        location: Location { path: path.into(), start_line: line, start_column: 5, end_line: line, end_column: 20 },
        document: Some(0),
        pointer: "/spec/containers/0".into(),
        resource: Some(Resource {
            api_version: Some("apps/v1".into()),
            kind: Some("Deployment".into()),
            namespace: Some("shop".into()),
            name: Some("web".into()),
        }),
        fingerprint: format!("{:032x}", line as u128 * 7919 + rule.len() as u128),
        notes: vec![],
        exception: None,
    }
}

fn rule(id: &str, policy: &str, enforcement: Enforcement) -> RuleInfo {
    RuleInfo {
        id: id.into(),
        policy: policy.into(),
        title: format!("Title of {id}"),
        severity: Severity::High,
        enforcement,
        description: Some("Why it matters.".into()),
        remediation: Some("Set `privileged: false`.".into()),
        controls: vec!["CIS-5.2.1".into()],
        kind: "security".into(),
    }
}

fn sample() -> Report {
    let mut excepted = finding("K-3", "k8s", "deploy/a b.yaml", 30, Enforcement::Blocking, "excepted one");
    excepted.exception = Some(AppliedException {
        id: "EXC-1".into(),
        reason: "legacy workload".into(),
        kind: "external".into(),
        approved_by: vec!["alice".into()],
        expires: Some("2027-01-01".into()),
    });
    let mut parse =
        finding("bylaw/parse-error", "bylaw", "deploy/broken.yaml", 7, Enforcement::Blocking, "bad YAML | <x>");
    parse.resource = None;
    parse.document = None;
    parse.pointer = String::new();
    Report {
        version: REPORT_VERSION.into(),
        tool: ToolInfo::default(),
        environment: Some("prod".into()),
        fail_on: FailOn::Blocking,
        verdict: Verdict::Fail,
        summary: Summary {
            files: 3,
            documents: 3,
            policies: 2,
            rules: 5,
            findings: 6,
            blocking: 2,
            advisory: 1,
            audit: 1,
            excepted: 1,
            errors: 1,
            skipped: Default::default(),
        },
        policies: vec![
            PolicyInfo {
                name: "k8s".into(),
                version: Some("1.0.0".into()),
                kind: "security".into(),
                lifecycle: "enforced".into(),
                description: None,
                source: "policies/k8s.yaml".into(),
                owners: vec!["@acme/security".into()],
                rules: vec!["K-1".into(), "K-2".into(), "K-3".into(), "K-4".into()],
                targets: vec!["deploy/a b.yaml".into(), "deploy/c.yaml".into()],
            },
            PolicyInfo {
                name: "pipe".into(),
                version: None,
                kind: "operational".into(),
                lifecycle: "enforced".into(),
                description: None,
                source: "policies/pipe.yaml".into(),
                owners: vec![],
                rules: vec!["P-1".into()],
                targets: vec!["<pipeline>".into()],
            },
        ],
        rules: vec![
            rule("K-1", "k8s", Enforcement::Blocking),
            rule("K-2", "k8s", Enforcement::Advisory),
            rule("K-3", "k8s", Enforcement::Blocking),
            rule("K-4", "k8s", Enforcement::Audit),
            rule("P-1", "pipe", Enforcement::Blocking),
            bylaw_engine::builtin::rule_info("bylaw/parse-error", Enforcement::Blocking),
        ],
        findings: vec![
            finding("K-1", "k8s", "deploy/a b.yaml", 10, Enforcement::Blocking, "container app runs privileged"),
            finding("K-2", "k8s", "deploy/a b.yaml", 12, Enforcement::Advisory, "no memory limit"),
            excepted,
            parse,
            finding("K-4", "k8s", "deploy/c.yaml", 3, Enforcement::Audit, "audit note"),
            finding("P-1", "pipe", "policies/pipe.yaml", 8, Enforcement::Blocking, "PR needs a ticket"),
        ],
        exceptions: vec![
            ExceptionStatus {
                id: "EXC-1".into(),
                status: ExceptionState::Expiring,
                source: "exceptions.yaml:4".into(),
                rules: vec!["K-3".into()],
                reason: "legacy workload".into(),
                ticket: Some("SEC-1".into()),
                approved_by: vec!["alice".into()],
                expires: Some("2027-01-01".into()),
                days_left: Some(5),
                matched: 1,
                detail: Some("expires in 5 days".into()),
            },
            ExceptionStatus {
                id: "EXC-2".into(),
                status: ExceptionState::Stale,
                source: "exceptions.yaml:12".into(),
                rules: vec!["*".into()],
                reason: "old".into(),
                ticket: None,
                approved_by: vec![],
                expires: None,
                days_left: None,
                matched: 0,
                detail: Some("matched no finding: remove it".into()),
            },
        ],
    }
}

fn sarif_json(report: &Report) -> serde_json::Value {
    let text = render(Format::Sarif, report, &RenderOptions::default()).unwrap();
    serde_json::from_str(&text).unwrap()
}

#[test]
fn sarif_is_valid_against_the_official_schema() {
    let schema = sarif_schema();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let doc = sarif_json(&sample());
    let errors: Vec<String> = validator.iter_errors(&doc).map(|e| format!("{}: {e}", e.instance_path())).collect();
    assert!(errors.is_empty(), "{errors:#?}");
}

#[test]
fn sarif_maps_levels_rules_locations_and_suppressions() {
    let doc = sarif_json(&sample());
    let run = &doc["runs"][0];
    assert_eq!(doc["version"], "2.1.0");
    assert_eq!(run["automationDetails"]["id"], "bylaw/");
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    assert_eq!(rules.len(), 6);
    let k1 = &rules[0];
    assert_eq!(k1["id"], "K-1");
    assert_eq!(k1["name"], "TitleOfK1");
    assert_eq!(k1["properties"]["security-severity"], "8.0");
    assert_eq!(k1["defaultConfiguration"]["level"], "error");
    assert!(k1["help"]["text"].as_str().unwrap().contains("Set `privileged: false`."));
    assert_eq!(rules[1]["defaultConfiguration"]["level"], "warning");
    assert_eq!(rules[3]["defaultConfiguration"]["level"], "note");
    let results = run["results"].as_array().unwrap();
    assert_eq!(results.len(), 6);
    let levels: Vec<&str> = results.iter().map(|r| r["level"].as_str().unwrap()).collect();
    assert_eq!(levels, ["error", "warning", "error", "error", "note", "error"]);
    let loc = &results[0]["locations"][0]["physicalLocation"];
    assert_eq!(loc["artifactLocation"]["uri"], "deploy/a%20b.yaml", "URIs are percent-encoded");
    assert_eq!(loc["artifactLocation"]["uriBaseId"], "%SRCROOT%");
    assert_eq!(loc["region"]["startLine"], 10);
    assert_eq!(loc["region"]["startColumn"], 5);
    assert_eq!(loc["region"]["endColumn"], 20);
    assert_eq!(results[0]["ruleIndex"], 0);
    assert_eq!(results[3]["ruleIndex"], 5, "parse error points at the built-in rule");
    assert_eq!(results[0]["partialFingerprints"]["bylaw/v1"].as_str().unwrap().len(), 32);
    let sup = &results[2]["suppressions"][0];
    assert_eq!(sup["kind"], "external");
    assert_eq!(sup["status"], "accepted");
    assert_eq!(sup["justification"], "legacy workload (EXC-1)");
    assert!(results[0].get("suppressions").is_none());
    let custom =
        to_sarif(&sample(), &RenderOptions { automation_category: Some("k8s/prod/".into()), ..Default::default() });
    assert_eq!(custom.runs[0].automation_details.as_ref().unwrap().id.as_deref(), Some("k8s/prod/"));
}

#[test]
fn junit_has_a_suite_per_policy_and_a_case_per_rule_and_target() {
    let xml = render(Format::Junit, &sample(), &RenderOptions::default()).unwrap();
    let doc = roxmltree::Document::parse(&xml).unwrap();
    let suites: Vec<&str> =
        doc.descendants().filter(|n| n.has_tag_name("testsuite")).map(|n| n.attribute("name").unwrap()).collect();
    assert_eq!(suites, ["k8s", "pipe", "bylaw"]);
    let cases: Vec<roxmltree::Node> = doc.descendants().filter(|n| n.has_tag_name("testcase")).collect();
    assert_eq!(cases.len(), 4 * 2 + 1 + 1, "4 rules x 2 files, 1 pipeline rule, 1 parse error");
    let case = |name: &str| {
        *cases.iter().find(|c| c.attribute("name") == Some(name)).unwrap_or_else(|| panic!("{name} in {xml}"))
    };
    let has = |c: roxmltree::Node, tag: &str| c.children().any(|n| n.has_tag_name(tag));
    let k1 = case("K-1 Title of K-1: deploy/a b.yaml");
    assert!(has(k1, "failure"));
    let failure = k1.children().find(|n| n.has_tag_name("failure")).unwrap();
    assert_eq!(failure.attribute("message"), Some("deploy/a b.yaml:10:5: container app runs privileged"));
    assert_eq!(k1.attribute("classname"), Some("k8s.K-1"));
    let k2 = case("K-2 Title of K-2: deploy/a b.yaml");
    assert!(!has(k2, "failure") && !has(k2, "skipped"), "advisory passes");
    assert!(has(k2, "system-out"), "with output");
    assert!(has(case("K-3 Title of K-3: deploy/a b.yaml"), "skipped"), "excepted is skipped");
    assert!(!has(case("K-1 Title of K-1: deploy/c.yaml"), "failure"));
    assert!(has(case("P-1 Title of P-1: <pipeline>"), "failure"));
    assert!(has(case("bylaw/parse-error: deploy/broken.yaml"), "failure"));
    let failures = doc.descendants().filter(|n| n.has_tag_name("failure")).count();
    assert_eq!(failures, 3);
}

#[test]
fn text_groups_by_file_with_positions_and_summary() {
    let text = render(Format::Text, &sample(), &RenderOptions::default()).unwrap();
    assert!(!text.contains('\x1b'));
    assert!(text.contains("deploy/a b.yaml (3 findings)\n"), "{text}");
    assert!(text.contains("deploy/a b.yaml:10:5: error [K-1] container app runs privileged\n"), "{text}");
    assert!(text.contains("deploy/a b.yaml:12:5: warning [K-2] no memory limit\n"), "{text}");
    assert!(text.contains("deploy/a b.yaml:30:5: excepted [K-3]"), "{text}");
    assert!(text.contains("exception: excepted by EXC-1: legacy workload (expires 2027-01-01)"), "{text}");
    assert!(text.contains("deploy/c.yaml:3:5: note [K-4]"), "{text}");
    assert!(text.contains("help: Set `privileged: false`."), "{text}");
    assert!(text.contains("FAIL: 2 blocking, 1 advisory, 1 audit, 1 excepted (6 findings in all, 1 error)"), "{text}");
    let colored = render(Format::Text, &sample(), &RenderOptions { color: true, ..Default::default() }).unwrap();
    assert!(colored.contains("\x1b[1;31merror\x1b[0m"));
}

#[test]
fn markdown_summary_orders_blocking_first_and_escapes_cells() {
    let md = render(Format::Markdown, &sample(), &RenderOptions::default()).unwrap();
    assert!(md.starts_with("### ❌ bylaw: failed (environment `prod`)"), "{md}");
    assert!(md.contains("| 2 | 1 | 1 | 1 | 1 |"), "{md}");
    let blocking = md.find("container app runs privileged").unwrap();
    let advisory = md.find("no memory limit").unwrap();
    let excepted = md.find("excepted one").unwrap();
    assert!(blocking < advisory && advisory < excepted, "{md}");
    assert!(md.contains("bad YAML \\| &lt;x&gt;"), "{md}");
}

#[test]
fn json_round_trips_and_matches_the_published_schema() {
    let text = render(Format::Json, &sample(), &RenderOptions::default()).unwrap();
    let back: Report = serde_json::from_str(&text).unwrap();
    assert_eq!(back, sample());
    let schema: serde_json::Value = serde_json::from_str(REPORT_SCHEMA).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
    let errors: Vec<String> = validator.iter_errors(&doc).map(|e| format!("{}: {e}", e.instance_path())).collect();
    assert!(errors.is_empty(), "{errors:#?}");
}

#[test]
fn formats_parse_by_name() {
    for name in Format::NAMES {
        assert_eq!(name.parse::<Format>().unwrap().name(), *name);
    }
    let err = "yaml".parse::<Format>().unwrap_err();
    assert_eq!(
        err.to_string(),
        "unknown format `yaml`: expected one of text, json, sarif, junit, markdown, codequality"
    );
}

#[test]
fn write_atomic_creates_directories_and_leaves_no_temp_files() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a/b/out.sarif");
    write_atomic(&path, b"one").unwrap();
    write_atomic(&path, b"two").unwrap();
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "two");
    let entries: Vec<_> = std::fs::read_dir(dir.path().join("a/b")).unwrap().collect();
    assert_eq!(entries.len(), 1);
    let err = write_atomic(&dir.path().join("a/b/out.sarif/x"), b"x").unwrap_err();
    assert!(err.to_string().contains("out.sarif/x"), "{err}");
}

#[test]
fn codequality_has_the_fields_gitlab_reads_and_leaves_out_excepted_findings() {
    let r = sample();
    let text = render(Format::Codequality, &r, &RenderOptions::default()).unwrap();
    let issues: serde_json::Value = serde_json::from_str(&text).unwrap();
    let issues = issues.as_array().unwrap();
    let unexcepted: Vec<&Finding> = r.findings.iter().filter(|f| f.exception.is_none()).collect();
    assert_eq!(issues.len(), unexcepted.len(), "one entry per unexcepted finding: {text}");
    for (i, f) in issues.iter().zip(&unexcepted) {
        assert_eq!(i["check_name"], f.rule_id);
        assert_eq!(i["fingerprint"], f.fingerprint);
        assert_eq!(i["location"]["path"], f.location.path);
        assert_eq!(i["location"]["lines"]["begin"], f.location.start_line);
        assert!(i["description"].as_str().unwrap().contains(&f.message), "{i}");
        assert!(["info", "minor", "major", "critical", "blocker"].contains(&i["severity"].as_str().unwrap()));
    }
    let by_rule = |id: &str| issues.iter().find(|i| i["check_name"] == id).unwrap();
    assert_eq!(by_rule("K-1")["severity"], "critical", "blocking");
    assert_eq!(by_rule("K-2")["severity"], "major", "advisory, high severity");
    assert_eq!(by_rule("K-4")["severity"], "info", "audit");
    assert_eq!(by_rule("K-1")["categories"], serde_json::json!(["Security"]));
    assert_eq!(by_rule("bylaw/parse-error")["categories"], serde_json::json!(["Bug Risk"]));
    assert_eq!(
        by_rule("K-1")["description"],
        "[K-1] container app runs privileged Remediation: Set `privileged: false`."
    );
    assert!(issues.iter().all(|i| i["check_name"] != "K-3"), "excepted findings are not GitLab issues");
    assert_eq!("codequality".parse::<Format>().unwrap(), Format::Codequality);
}
