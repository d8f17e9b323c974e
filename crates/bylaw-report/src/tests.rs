//! Emitter tests on a hand-built report covering every finding state:
//! blocking, advisory, audit, excepted, a parse error and a pipeline policy.

use super::*;
use bylaw_engine::diagnostic::Code;
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
        resource: Some(std::sync::Arc::new(Resource {
            api_version: Some("apps/v1".into()),
            kind: Some("Deployment".into()),
            namespace: Some("shop".into()),
            name: Some("web".into()),
        })),
        fingerprint: format!("{:032x}", line as u128 * 7919 + rule.len() as u128),
        notes: vec![],
        exception: None,
        baseline: None,
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
    excepted.exception = Some(Box::new(AppliedException {
        id: "EXC-1".into(),
        reason: "legacy workload".into(),
        kind: "external".into(),
        approved_by: vec!["alice".into()],
        expires: Some("2027-01-01".into()),
    }));
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
            baselined: 0,
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
        errors: vec![],
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
fn sarif_keeps_the_most_severe_results_within_githubs_limit() {
    let mut r = many(sarif::MAX_RESULTS + 10);
    // Ten excepted blocking findings and the audit ones are what should go.
    for f in r.findings.iter_mut().filter(|f| f.rule_id == "K-1").take(10) {
        f.exception = sample().findings[2].exception.clone();
    }
    r.recount();
    let doc = sarif_json(&r);
    let run = &doc["runs"][0];
    let results = run["results"].as_array().unwrap();
    assert_eq!(results.len(), 25_000);
    assert_eq!(run["properties"]["bylaw/truncated"], serde_json::json!({"results": {"total": 25_010, "kept": 25_000}}));
    let count = |pred: &dyn Fn(&serde_json::Value) -> bool| results.iter().filter(|r| pred(r)).count();
    assert_eq!(count(&|r| r["level"] == "error" && r.get("suppressions").is_none()), 2_491, "every blocking one");
    assert_eq!(count(&|r| r["level"] == "warning"), 15_006, "every advisory one");
    assert_eq!(count(&|r| r.get("suppressions").is_some()), 0, "excepted ones go first");
    // Audit findings fill the rest, critical ones before medium.
    let audit: Vec<&serde_json::Value> = results.iter().filter(|r| r["level"] == "note").collect();
    assert_eq!(audit.len(), 25_000 - 2_491 - 15_006);
    let critical_audit = r.findings.iter().filter(|f| f.rule_id == "K-4" && f.severity == Severity::Critical).count();
    assert_eq!(audit.iter().filter(|r| r["properties"]["severity"] == "critical").count(), critical_audit);
    // Kept results stay in report order.
    let lines: Vec<(String, i64)> = results
        .iter()
        .map(|r| {
            let l = &r["locations"][0]["physicalLocation"];
            (l["artifactLocation"]["uri"].as_str().unwrap().to_string(), l["region"]["startLine"].as_i64().unwrap())
        })
        .collect();
    assert!(lines.windows(2).all(|w| w[0] <= w[1]));
    let validator = jsonschema::validator_for(&sarif_schema()).unwrap();
    let errors: Vec<String> =
        validator.iter_errors(&doc).take(5).map(|e| format!("{}: {e}", e.instance_path())).collect();
    assert!(errors.is_empty(), "{errors:#?}");
    assert_eq!(
        sarif_limits(&r).unwrap(),
        "SARIF: 25010 results exceed GitHub code scanning's limit of 25000 per run: the SARIF keeps the 25000 most severe and leaves out 10 (every finding is in the JSON report)"
    );
    assert_eq!(sarif_limits(&sample()), None);
    assert!(sarif_json(&sample())["runs"][0]["properties"].get("bylaw/truncated").is_none());
}

#[test]
fn sarif_rules_carry_at_most_twenty_tags_and_every_control_in_properties() {
    let mut r = sample();
    r.rules[0].controls = (1..=25).map(|i| format!("CTL-{i}")).collect();
    let doc = sarif_json(&r);
    let rule = &doc["runs"][0]["tool"]["driver"]["rules"][0];
    let tags = rule["properties"]["tags"].as_array().unwrap();
    assert_eq!(tags.len(), 20);
    assert_eq!(tags[..3], [serde_json::json!("security"), "policy:k8s".into(), "CTL-1".into()]);
    assert_eq!(rule["properties"]["bylaw/controls"].as_array().unwrap().len(), 25);
    let uncut = &doc["runs"][0]["tool"]["driver"]["rules"][1];
    assert!(uncut["properties"].get("bylaw/controls").is_none(), "only rules whose tags were cut: {uncut}");
    assert_eq!(doc["runs"][0]["properties"]["bylaw/truncated"]["tags"], serde_json::json!({"rules": 1, "limit": 20}));
    assert!(sarif_limits(&r).unwrap().contains("1 rule map to more than 18 controls"), "{:?}", sarif_limits(&r));
}

#[test]
fn junit_parses_back_whatever_the_messages_hold() {
    let mut r = hostile();
    r.findings[0].message = "\u{0}\u{1b}\u{fffe}\u{ffff}\n::stop-commands::t".into();
    r.findings[5].location.path = "pipe\u{1}line\u{ffff}.yaml".into();
    let xml = render(Format::Junit, &r, &RenderOptions::default()).unwrap();
    let doc = roxmltree::Document::parse(&xml).unwrap_or_else(|e| panic!("{e}: {xml}"));
    let failure = doc
        .descendants()
        .find(|n| n.has_tag_name("failure") && n.attribute("message").is_some_and(|m| m.contains("stop-commands")))
        .unwrap();
    assert_eq!(failure.attribute("message"), Some("::warning::a.yaml:10:5: \\u{0}\\u{1b}\\n::stop-commands::t"));
    assert_no_command_lines(&xml);
    assert!(!xml.contains('\u{fffe}') && !xml.contains('\u{ffff}'));
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
fn text_groups_by_file_then_tabulates_rules_and_says_what_was_skipped() {
    let mut r = sample();
    r.summary.skipped = [("unknown format", 9), ("Helm template", 3), ("kustomize patch", 2)]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
    let text = render(Format::Text, &r, &RenderOptions::default()).unwrap();
    assert!(!text.contains('\x1b'));
    assert_eq!(text.matches("help [K-1]: Set `privileged: false`.").count(), 1, "remediation once per rule: {text}");
    assert!(text.contains("skipped 14 files: 9 unknown format, 3 Helm template, 2 kustomize patch\n"), "{text}");
    insta::assert_snapshot!("text_sample", text);
    let colored = render(Format::Text, &sample(), &RenderOptions { color: true, ..Default::default() }).unwrap();
    assert!(colored.contains("\x1b[1;31merror\x1b[0m"));
}

#[test]
fn text_caps_the_listed_findings_and_quiet_keeps_only_the_verdict() {
    let capped = RenderOptions { max_findings: Some(2), ..Default::default() };
    let text = render(Format::Text, &sample(), &capped).unwrap();
    // the two most important: blocking findings first, in report order
    assert!(text.contains("container app runs privileged") && text.contains("bad YAML"), "{text}");
    assert!(!text.contains("no memory limit") && !text.contains("audit note"), "{text}");
    assert!(text.contains("==> deploy/a b.yaml (3 findings, 1 shown)\n"), "the header counts the whole file: {text}");
    assert!(text.contains("\n… 4 more findings, all in the SARIF/JSON report\n"), "{text}");
    assert!(text.contains("K-4 "), "the rule table still covers every finding: {text}");
    let quiet = render(Format::Text, &sample(), &RenderOptions { quiet: true, ..Default::default() }).unwrap();
    assert_eq!(
        quiet,
        "checked 3 files (3 documents) against 2 policies (5 rules) [env: prod]\n\
         FAIL: 2 blocking, 1 advisory, 1 audit, 1 excepted (6 findings in all, 1 error)\n"
    );
}

/// A report whose every input-derived value tries to break out.
fn hostile() -> Report {
    let mut r = sample();
    let f = &mut r.findings[0];
    f.location.path = "::warning::a.yaml".into();
    r.policies[0].targets.push("::warning::a.yaml".into());
    f.message = "container x\n::stop-commands::t runs privileged\n##[error]x \x1b[31mred\u{202e}".into();
    std::sync::Arc::make_mut(f.resource.as_mut().unwrap()).name = Some("x\n::stop-commands::t".into());
    f.notes = vec!["note\r\n::error::n".into()];
    let e = &mut r.findings[2];
    e.exception.as_mut().unwrap().reason = "ok\n##[group]y".into();
    r.exceptions[0].source = "::debug::exceptions.yaml:4".into();
    r.exceptions[0].detail = Some("soon\n::warning::z".into());
    r.rules[0].remediation = Some("fix\u{1b}]8;;http://evil\u{7}".into());
    r.rules[0].title = "T\n::error::t".into();
    r.environment = Some("prod\n::add-mask::x".into());
    r
}

fn assert_no_command_lines(out: &str) {
    for line in out.lines() {
        let l = line.trim_start();
        assert!(!l.starts_with("::") && !l.starts_with("##["), "line starts a CI command: {line:?}\n{out}");
    }
    assert!(!out.contains('\x1b') && !out.contains('\r') && !out.contains('\u{202e}'), "{out}");
}

#[test]
fn text_never_lets_input_start_a_line_or_an_escape_sequence() {
    let text = render(Format::Text, &hostile(), &RenderOptions::default()).unwrap();
    assert_no_command_lines(&text);
    assert!(text.contains("- ::warning::a.yaml:10:5: error [K-1] container x\\n::stop-commands::t"), "{text}");
    assert!(text.contains("Deployment shop/x\\n::stop-commands::t"), "{text}");
    assert!(text.contains("\\u{1b}[31mred\\u{202e}"), "{text}");
    assert!(text.contains("==> ::warning::a.yaml (1 finding)"), "{text}");
    // With colour on, the only ESC bytes are bylaw's own SGR codes.
    let colored = render(Format::Text, &hostile(), &RenderOptions { color: true, ..Default::default() }).unwrap();
    assert!(!colored.replace("\x1b[", "").contains('\x1b'), "{colored}");
    assert!(!colored.contains("\x1b[31mred"), "{colored}");
}

#[test]
fn markdown_keeps_every_value_in_its_cell() {
    let md = render(Format::Markdown, &hostile(), &RenderOptions::default()).unwrap();
    assert_no_command_lines(&md);
    let row = md.lines().find(|l| l.contains("stop-commands")).unwrap();
    assert!(row.starts_with("| 🔴 blocking | `K-1` | `::warning::a.yaml:10` | container x\\\\n::stop"), "{row}");
    assert_eq!(row.matches(" | ").count(), 3, "four cells, no stray pipe: {row}");
}

#[test]
fn markdown_links_percent_encode_the_path_and_show_it_escaped() {
    let mut r = sample();
    r.findings[0].location.path = "deploy/a b#1%(x)[y]<z>?é|`.yaml".into();
    let opts =
        RenderOptions { link_base: Some("https://github.com/acme/shop/blob/abc123/".into()), ..Default::default() };
    let md = render(Format::Markdown, &r, &opts).unwrap();
    let link = "[``deploy/a b#1%(x)[y]<z>?é\\|`.yaml:10``]\
                (https://github.com/acme/shop/blob/abc123/deploy/a%20b%231%25%28x%29%5By%5D%3Cz%3E%3F%C3%A9%7C%60.yaml#L10)";
    assert!(md.contains(link), "{md}");
    let plain = render(Format::Markdown, &r, &RenderOptions::default()).unwrap();
    assert!(!plain.contains("](http"), "no link without a base: {plain}");
}

/// `n` findings over `n / 10` files: a tenth blocking, the rest advisory or audit.
fn many(n: usize) -> Report {
    let mut r = sample();
    let mut findings = Vec::with_capacity(n);
    for i in 0..n {
        let (rule, level) = match i % 10 {
            0 => ("K-1", Enforcement::Blocking),
            1..=6 => ("K-2", Enforcement::Advisory),
            _ => ("K-4", Enforcement::Audit),
        };
        let mut f = finding(rule, "k8s", &format!("deploy/app-{:05}.yaml", i / 10), (i % 10) as u32 + 1, level, "");
        f.message = format!("finding number {i} with a message long enough to weigh in a comment");
        f.severity = if i % 1000 == 3 { Severity::Critical } else { Severity::Medium };
        findings.push(f);
    }
    r.findings = findings;
    r.recount();
    r
}

#[test]
fn markdown_stays_under_the_comment_limit() {
    let r = many(5_000);
    let md =
        render(Format::Markdown, &r, &RenderOptions { max_findings: Some(100_000), ..Default::default() }).unwrap();
    assert!(md.len() <= markdown::MAX_BYTES, "{} bytes", md.len());
    let listed = md.lines().filter(|l| l.starts_with("| 🔴") || l.starts_with("| 🟡") || l.starts_with("| 🔵")).count();
    assert!(listed > 100, "as many as fit: {listed}");
    assert!(md.contains(&format!("… and {} more findings", 5_000 - listed)), "{}", &md[md.len() - 2000..]);
    assert!(md.contains("Rules and remediation"), "the rules still follow");
    let default = render(Format::Markdown, &r, &RenderOptions::default()).unwrap();
    assert!(default.contains("… and 4950 more findings"), "50 by default");
}

#[test]
fn text_of_many_findings_lists_the_cap_and_counts_every_rule() {
    let r = many(100_000);
    let text = render(Format::Text, &r, &RenderOptions { max_findings: Some(200), ..Default::default() }).unwrap();
    assert_eq!(text.lines().filter(|l| l.starts_with("- deploy/")).count(), 200);
    assert!(text.contains("… 99800 more findings, all in the SARIF/JSON report"), "{text}");
    let table: Vec<&str> = text.lines().skip_while(|l| !l.starts_with("rule ")).take(4).collect();
    assert_eq!(
        table,
        [
            "rule  severity  enforcement  findings  files",
            "K-1   high      blocking        10000  10000",
            "K-2   high      advisory        60000  10000",
            "K-4   high      audit           30000  10000",
        ]
    );
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
    insta::assert_snapshot!("markdown_sample", md);
    let hostile = render(Format::Markdown, &hostile(), &RenderOptions::default()).unwrap();
    insta::assert_snapshot!("markdown_hostile", hostile);
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

#[test]
fn json_outputs_escape_c1_line_separators_and_bidi_controls() {
    let mut report = sample();
    report.findings[0].message = "a\u{9b}31m b\u{202e}c\u{2028}d".into();
    for format in [Format::Json, Format::Sarif] {
        let out = render(format, &report, &RenderOptions::default()).unwrap();
        assert!(!out.contains('\u{9b}') && !out.contains('\u{202e}') && !out.contains('\u{2028}'), "{format:?}");
        assert!(out.contains("\\u009b") && out.contains("\\u202e") && out.contains("\\u2028"), "{format:?}");
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        let text = v.to_string();
        assert!(text.contains('\u{9b}'), "{format:?}: the value is unchanged for a JSON parser");
    }
}

#[test]
fn a_cap_on_printed_findings_keeps_the_most_important() {
    let mut report = sample();
    report.findings = (0..50)
        .map(|i| finding("K-2", "k8s", "a/low.yaml", i + 1, Enforcement::Advisory, "minor"))
        .chain(std::iter::once(finding("K-1", "k8s", "z/prod.yaml", 3, Enforcement::Blocking, "critical one")))
        .collect();
    let opts = RenderOptions { max_findings: Some(3), ..RenderOptions::default() };
    let text = render(Format::Text, &report, &opts).unwrap();
    assert!(text.contains("z/prod.yaml:3:5: error [K-1] critical one"), "{text}");
    assert_eq!(text.matches("[K-2] minor").count(), 2, "{text}");
    assert!(text.contains("==> a/low.yaml (50 findings, 2 shown)"), "{text}");
    assert!(text.contains("48 more findings"), "{text}");
    let first = text.find("a/low.yaml:1:5").unwrap();
    assert!(first < text.find("z/prod.yaml:3:5").unwrap(), "still in report order: {text}");
}

#[test]
fn streamed_json_outputs_are_byte_for_byte_the_plain_serializations() {
    let plain = |v: &dyn erased::Ser| {
        let mut out = Vec::new();
        v.write(&mut out);
        String::from_utf8(out).unwrap()
    };
    // more findings than one parallel block; the hostile report's controls
    // and bidi characters go through the same escaping
    let mut with_exception = many(300);
    with_exception.findings[7].exception = sample().findings[2].exception.clone();
    let mut none = sample();
    none.findings.clear();
    for r in [sample(), hostile(), many(6_000), with_exception, none] {
        let opts = RenderOptions::default();
        assert_eq!(render(Format::Json, &r, &opts).unwrap(), plain(&r), "JSON report");
        assert_eq!(render(Format::Sarif, &r, &opts).unwrap(), plain(&to_sarif(&r, &opts)), "SARIF");
        assert_eq!(render(Format::Codequality, &r, &opts).unwrap(), plain(&to_codequality(&r)), "Code Quality");
    }
}

/// `write_json` behind a trait object, for the test above.
mod erased {
    pub trait Ser {
        fn write(&self, out: &mut Vec<u8>);
    }
    impl<T: serde::Serialize> Ser for T {
        fn write(&self, out: &mut Vec<u8>) {
            crate::write_json(out, self).unwrap();
        }
    }
}

/// What a run stopped by a policy error reported: the located error, then
/// the line counting it.
fn failure_diags() -> Vec<bylaw_engine::diagnostic::Diagnostic> {
    use bylaw_engine::diagnostic::Diagnostic;
    let span = bylaw_engine::node::Span { start_line: 9, start_col: 23, end_line: 9, end_col: 24 };
    vec![
        Diagnostic::error(Code::Cel, "policies/p.yaml", Some(span), "invalid CEL expression: token recognition error")
            .with_hint("in `doc.a == = 1`"),
        Diagnostic::error(SUMMARY_CODE, "", None, "1 error in policies; nothing was evaluated"),
    ]
}

#[test]
fn a_failed_run_writes_every_format_and_counts_its_errors_once() {
    let diags = failure_diags();
    let opts = RenderOptions::default();
    for format in Format::NAMES.iter().map(|n| n.parse::<Format>().unwrap()) {
        let text = render_failure(format, &diags, FailOn::Blocking, &opts).unwrap();
        assert!(text.contains("policies/p.yaml"), "{format:?}: {text}");
    }
    let junit = render_failure(Format::Junit, &diags, FailOn::Blocking, &opts).unwrap();
    assert!(junit.contains("bylaw could not run: 1 error\""), "the summary line is not a second error: {junit}");
    let text = render_failure(Format::Text, &diags, FailOn::Blocking, &opts).unwrap();
    assert!(
        text.starts_with("error[cel]: invalid CEL expression: token recognition error\n --> policies/p.yaml:9:23\n"),
        "{text}"
    );
}

#[test]
fn a_failed_run_json_report_says_why_and_matches_the_published_schema() {
    let report = failure_report(&failure_diags(), FailOn::Advisory);
    assert_eq!(report.exit_code(), 2);
    let doc = serde_json::to_value(&report).unwrap();
    let schema: serde_json::Value = serde_json::from_str(REPORT_SCHEMA).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let errors: Vec<String> = validator.iter_errors(&doc).map(|e| format!("{}: {e}", e.instance_path())).collect();
    assert!(errors.is_empty(), "{errors:#?}");
    assert_eq!(doc["verdict"], "error");
    assert_eq!(doc["fail_on"], "advisory");
    assert_eq!(
        doc["errors"][0],
        serde_json::json!({
            "level": "error", "code": "cel", "path": "policies/p.yaml", "line": 9, "column": 23,
            "message": "invalid CEL expression: token recognition error", "hint": "in `doc.a == = 1`",
        })
    );
    assert_eq!(doc["errors"].as_array().unwrap().len(), 1, "the summary line is not an error of its own");
    assert_eq!(doc["summary"]["errors"], 1);
}

#[test]
fn a_failed_run_code_quality_report_has_its_located_problems() {
    let v = codequality::failure_codequality(&failure_diags());
    let issues = v.as_array().unwrap();
    assert_eq!(issues.len(), 1, "unlocated problems have no place in Code Quality: {v:#}");
    assert_eq!(issues[0]["check_name"], "bylaw/cel");
    assert_eq!(issues[0]["severity"], "blocker");
    assert_eq!(
        issues[0]["location"],
        serde_json::json!({ "path": "policies/p.yaml", "lines": { "begin": 9, "end": 9 } })
    );
    assert_eq!(issues[0]["fingerprint"].as_str().unwrap().len(), 64);
}

#[test]
fn a_diagnostics_secondary_labels_are_sarif_related_locations() {
    use bylaw_engine::diagnostic::Diagnostic;
    use bylaw_engine::node::Span;
    let d = Diagnostic::error(
        Code::DuplicateId,
        "policies/b.yaml",
        Some(Span { start_line: 4, start_col: 9, end_line: 4, end_col: 13 }),
        "duplicate policy name `demo`",
    )
    .with_label(
        "policies/a.yaml",
        Span { start_line: 3, start_col: 9, end_line: 3, end_col: 13 },
        "first defined here",
    );
    let doc = serde_json::to_value(diagnostics_to_sarif(&[d], &RenderOptions::default())).unwrap();
    let result = &doc["runs"][0]["results"][0];
    assert_eq!(
        result["relatedLocations"],
        serde_json::json!([{
            "id": 0,
            "message": { "text": "first defined here" },
            "physicalLocation": {
                "artifactLocation": { "uri": "policies/a.yaml", "uriBaseId": "%SRCROOT%" },
                "region": { "startLine": 3, "startColumn": 9, "endLine": 3, "endColumn": 13 }
            }
        }]),
        "{result:#}"
    );
    let validator = jsonschema::validator_for(&sarif_schema()).unwrap();
    let errors: Vec<String> = validator.iter_errors(&doc).map(|e| format!("{}: {e}", e.instance_path())).collect();
    assert!(errors.is_empty(), "{errors:#?}");
}

#[test]
fn a_failed_run_json_report_names_the_places_of_the_labels_in_the_hint() {
    use bylaw_engine::diagnostic::Diagnostic;
    use bylaw_engine::node::Span;
    let d = Diagnostic::error(Code::DuplicateId, "p.yaml", Some(Span::point(15, 11)), "duplicate rule id `R-1`")
        .with_label("p.yaml", Span { start_line: 9, start_col: 11, end_line: 9, end_col: 14 }, "first defined here")
        .with_hint("rule ids must be unique");
    let report = failure_report(std::slice::from_ref(&d), FailOn::Blocking);
    assert_eq!(report.errors[0].hint.as_deref(), Some("rule ids must be unique (p.yaml:9:11: first defined here)"));
    let bare = Diagnostic { hint: None, ..d };
    let report = failure_report(&[bare], FailOn::Blocking);
    assert_eq!(report.errors[0].hint.as_deref(), Some("p.yaml:9:11: first defined here"));
}
