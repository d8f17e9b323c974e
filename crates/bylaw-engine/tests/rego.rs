//! Rego policies end to end: conftest's conventions (namespaces, deny /
//! violation / warn with suffixes, string and object results, `_loc`,
//! `exception` rules, data), METADATA annotations, Rego v0 and v1, and a
//! line for every finding without `_loc`.

mod common;

use bylaw_engine::compile::{compile_loaded, CompileOptions, PolicySet};
use bylaw_engine::diagnostic::{Code, Diagnostic};
use bylaw_engine::language::rego::{RegoModule, RegoOptions};
use bylaw_engine::loader::Loaded;
use bylaw_engine::report::{Enforcement, Finding, Severity};
use common::{file, run};
use std::sync::Arc;

fn compile(modules: &[(&str, &str)], rego: RegoOptions) -> (PolicySet, Vec<Diagnostic>) {
    let loaded = Loaded {
        rego: modules.iter().map(|(f, t)| RegoModule { file: (*f).into(), text: Arc::from(*t) }).collect(),
        ..Loaded::default()
    };
    let options = CompileOptions {
        environment: None,
        today: bylaw_engine::enforcement::parse_date("2026-06-01").unwrap(),
        include_drafts: false,
    };
    compile_loaded(&loaded, &rego, options)
}

fn ok(modules: &[(&str, &str)], rego: RegoOptions) -> PolicySet {
    let (set, diags) = compile(modules, rego);
    assert!(diags.is_empty(), "{diags:#?}");
    set
}

/// `(rule, line, column, message, excepted)` of each finding, in report order.
fn seen(findings: &[Finding]) -> Vec<(String, u32, u32, String, bool)> {
    findings
        .iter()
        .map(|f| {
            (
                f.rule_id.clone(),
                f.location.start_line,
                f.location.start_column,
                f.message.clone(),
                f.exception.is_some(),
            )
        })
        .collect()
}

const DEPLOY: &str = "\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  selector:
    matchLabels: {tier: web}
  template:
    spec:
      containers:
        - name: app
          image: nginx:1.25
        - name: side
          image: busybox:latest
          securityContext:
            privileged: true
";

const MAIN: &str = r#"package main

import rego.v1

# METADATA
# title: Containers must not be privileged
# description: A privileged container is root on the node.
# custom:
#   id: K-PRIV
#   severity: critical
#   remediation: Remove securityContext.privileged.
#   controls: [CIS-5.2.1]
deny_privileged contains msg if {
	some c in input.spec.template.spec.containers
	c.securityContext.privileged
	msg := sprintf("container %s is privileged", [c.name])
}

deny_root contains msg if {
	not input.spec.template.spec.securityContext.runAsNonRoot
	msg := sprintf("deployment %s may run as root", [input.metadata.name])
}

warn_latest contains {"msg": msg, "_loc": sprintf("spec.template.spec.containers[%d].image", [i])} if {
	some i, c in input.spec.template.spec.containers
	endswith(c.image, ":latest")
	msg := sprintf("container %s uses a latest tag", [c.name])
}

violation contains {"msg": "no app label", "details": {"selector": input.spec.selector}} if {
	not input.spec.selector.matchLabels.app
}
"#;

#[test]
fn conftest_rules_of_package_main_are_policies_with_a_line_for_every_finding() {
    let set = ok(&[("policy/main.rego", MAIN)], RegoOptions::default());
    assert_eq!(set.policies.len(), 1);
    let p = &set.policies[0];
    assert_eq!((p.name.as_str(), p.language), ("main", "rego"));
    let ids: Vec<&str> = p.rules.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids, ["K-PRIV", "main.deny_root", "main.warn_latest", "main.violation"]);
    let priv_rule = &p.rules[0];
    assert_eq!(priv_rule.title, "Containers must not be privileged");
    assert_eq!(priv_rule.severity, Severity::Critical);
    assert_eq!(priv_rule.enforcement, Enforcement::Blocking);
    assert_eq!(priv_rule.controls, ["CIS-5.2.1"]);
    assert_eq!(priv_rule.remediation.as_deref(), Some("Remove securityContext.privileged."));
    assert_eq!(p.rules[2].enforcement, Enforcement::Advisory, "warn rules advise");

    let report = run(&set, &[file("deploy.yaml", DEPLOY)]);
    assert_eq!(
        seen(&report.findings),
        [
            // `not …matchLabels.app`: where the missing field would be
            ("main.violation".into(), 7, 5, "no app label".into(), false),
            // `not …securityContext.runAsNonRoot`: its deepest existing part
            ("main.deny_root".into(), 9, 5, "deployment web may run as root".into(), false),
            // `_loc`
            ("main.warn_latest".into(), 14, 11, "container side uses a latest tag".into(), false),
            // no `_loc`: the node whose removal removes the finding
            ("K-PRIV".into(), 16, 13, "container side is privileged".into(), false),
        ]
    );
}

#[test]
fn exception_rules_except_findings_which_are_still_reported() {
    let exceptions = r#"package main

import rego.v1

exception contains rules if {
	input.metadata.name == "web"
	rules := ["privileged", "root"]
}
"#;
    let set = ok(&[("policy/main.rego", MAIN), ("policy/exceptions.rego", exceptions)], RegoOptions::default());
    let report = run(&set, &[file("deploy.yaml", DEPLOY)]);
    let excepted: Vec<(String, bool)> =
        report.findings.iter().map(|f| (f.rule_id.clone(), f.exception.is_some())).collect();
    assert_eq!(
        excepted,
        [
            ("main.violation".to_owned(), false),
            ("main.deny_root".to_owned(), true),
            ("main.warn_latest".to_owned(), false),
            ("K-PRIV".to_owned(), true),
        ]
    );
    assert_eq!(report.summary.excepted, 2);
    assert_eq!(report.summary.blocking, 1);
}

#[test]
fn namespaces_select_packages_and_data_is_read_by_policies() {
    let lb = r#"package k8s.services

deny[msg] {
  input.kind == "Service"
  input.spec.type == "LoadBalancer"
  not data.allowed[input.metadata.name]
  msg := sprintf("service %v is a LoadBalancer", [input.metadata.name])
}
"#;
    let svc = "apiVersion: v1\nkind: Service\nmetadata: {name: internal}\nspec: {type: LoadBalancer}\n---\napiVersion: v1\nkind: Service\nmetadata: {name: public}\nspec: {type: LoadBalancer}\n";
    // not in `main`: no policy unless selected, and a warning says so
    let (set, diags) = compile(&[("lb.rego", lb)], RegoOptions::default());
    assert!(set.policies.is_empty());
    assert_eq!(diags.len(), 1, "{diags:?}");
    assert_eq!(diags[0].level, bylaw_engine::diagnostic::Level::Warning);
    assert!(diags[0].hint.as_deref().unwrap_or("").contains("k8s.services"), "{diags:?}");
    // a namespace that selects nothing is an error
    let (_, diags) =
        compile(&[("lb.rego", lb)], RegoOptions { namespaces: vec!["k8s.nope".into()], ..Default::default() });
    assert_eq!(diags.len(), 1, "{diags:?}");
    assert_eq!(diags[0].level, bylaw_engine::diagnostic::Level::Error);
    let data = vec![("data.yaml".to_owned(), serde_json::json!({"allowed": {"public": true}}))];
    for rego in [
        RegoOptions { namespaces: vec!["k8s.*".into()], data: data.clone(), ..RegoOptions::default() },
        RegoOptions { all_namespaces: true, data: data.clone(), ..RegoOptions::default() },
    ] {
        let set = ok(&[("lb.rego", lb)], rego);
        let report = run(&set, &[file("svc.yaml", svc)]);
        assert_eq!(
            seen(&report.findings),
            [("k8s.services.deny".into(), 4, 8, "service internal is a LoadBalancer".into(), false)],
            "a Rego v0 module, data read, the `type` line"
        );
    }
}

#[test]
fn rego_errors_are_located_and_stop_nothing_else() {
    let broken = "package main\n\nimport rego.v1\n\ndeny contains msg if {\n  msg := \n}\n";
    let unknown = "package main\n\nimport rego.v1\n\ndeny_x contains msg if {\n  nosuch(input.a)\n  msg := \"x\"\n}\n";
    let (_, diags) = compile(&[("a.rego", broken), ("b.rego", unknown)], RegoOptions::default());
    let got: Vec<(Code, &str, Option<u32>)> =
        diags.iter().map(|d| (d.code, d.file.as_str(), d.span.map(|s| s.start_line))).collect();
    assert_eq!(got, [(Code::Rego, "a.rego", Some(6)), (Code::Rego, "b.rego", Some(6))], "{diags:#?}");
    assert!(diags[1].message.contains("nosuch"), "{}", diags[1].message);

    // a recursive function is refused before anything runs (regorus has no depth limit)
    let recursive = "package main\n\nimport rego.v1\n\nf(x) := f(x + 1)\n\ndeny contains \"x\" if f(1) > 0\n";
    let (_, diags) = compile(&[("r.rego", recursive)], RegoOptions::default());
    assert_eq!(diags.len(), 1, "{diags:#?}");
    assert!(diags[0].message.contains("function `f` is recursive"), "{}", diags[0].message);
    assert_eq!(diags[0].span.map(|s| s.start_line), Some(5));

    let bad_meta = "package main\n\nimport rego.v1\n\n# METADATA\n# custom:\n#   severity: extreme\ndeny contains \"x\" if { input.a }\n";
    let (_, diags) = compile(&[("c.rego", bad_meta)], RegoOptions::default());
    assert_eq!(diags.len(), 1, "{diags:#?}");
    assert!(diags[0].message.contains("custom.severity"), "{}", diags[0].message);
    assert_eq!(diags[0].span.map(|s| s.start_line), Some(8));
}

#[test]
fn a_rego_rule_id_that_a_yaml_rule_has_is_a_duplicate() {
    let mut loaded = Loaded::default();
    let yaml = "apiVersion: bylaw/v1\nkind: Policy\nmetadata:\n  name: demo\n  type: security\nspec:\n  rules:\n    - id: K-PRIV\n      title: t\n      severity: high\n      deny: \"doc.x == 1\"\n";
    bylaw_engine::loader::load_text("p.yaml", yaml, true, &mut loaded);
    loaded.rego.push(RegoModule { file: "main.rego".into(), text: Arc::from(MAIN) });
    let options = CompileOptions {
        environment: None,
        today: bylaw_engine::enforcement::parse_date("2026-06-01").unwrap(),
        include_drafts: false,
    };
    let (_, diags) = compile_loaded(&loaded, &RegoOptions::default(), options);
    assert_eq!(diags.len(), 1, "{diags:#?}");
    assert_eq!((diags[0].code, diags[0].file.as_str()), (Code::DuplicateId, "main.rego"));
}
