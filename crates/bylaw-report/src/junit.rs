//! JUnit XML (DESIGN §8): a testsuite per policy, a testcase per rule ×
//! target. Blocking findings → `failure`; excepted → `skipped`; advisory and
//! audit → passed, with the findings in `system-out`. bylaw's own findings
//! (parse and evaluation errors) form a `bylaw` suite.

use crate::{position, Error};
use bylaw_engine::builtin;
use bylaw_engine::report::{Finding, Report};
use quick_junit::{NonSuccessKind, TestCase, TestCaseStatus, TestSuite};
use std::collections::BTreeMap;

fn describe(findings: &[&Finding]) -> String {
    findings
        .iter()
        .map(|f| {
            let mut line = format!("{}: {} [{}] {}", position(f), f.enforcement, f.rule_id, f.message);
            if let Some(e) = &f.exception {
                line.push_str(&format!(" (excepted by {}: {})", e.id, e.reason));
            }
            line
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The testcase of one rule × target, given the findings on it.
fn case(name: String, classname: &str, findings: &[&Finding], fail_on: bylaw_engine::report::FailOn) -> TestCase {
    let failing: Vec<&Finding> = findings.iter().copied().filter(|f| f.fails(fail_on)).collect();
    let status = if !failing.is_empty() {
        // Every finding that fails the run is a `failure` (DESIGN §8), bylaw's
        // own parse and evaluation errors included, so CI counts them alike.
        let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
        let first = failing[0];
        let more = if failing.len() > 1 { format!(" (and {} more)", failing.len() - 1) } else { String::new() };
        s.set_message(format!("{}: {}{more}", position(first), first.message));
        s.set_type(first.enforcement.as_str());
        s.set_description(describe(&failing));
        s
    } else if !findings.is_empty() && findings.iter().all(|f| f.exception.is_some()) {
        let mut s = TestCaseStatus::skipped();
        let ids: Vec<&str> = findings.iter().filter_map(|f| f.exception.as_ref().map(|e| e.id.as_str())).collect();
        s.set_message(format!("excepted by {}", ids.join(", ")));
        s.set_description(describe(findings));
        s
    } else {
        TestCaseStatus::success()
    };
    let mut tc = TestCase::new(name, status);
    tc.set_classname(classname.to_string());
    if !findings.is_empty() {
        tc.set_system_out(describe(findings));
    }
    tc
}

pub(crate) fn render(report: &Report) -> Result<String, Error> {
    // (policy, rule, target) → findings
    let mut by_case: BTreeMap<(&str, &str, &str), Vec<&Finding>> = BTreeMap::new();
    let pipeline: Vec<&str> = report
        .policies
        .iter()
        .filter(|p| p.targets.iter().any(|t| t == builtin::PIPELINE_TARGET))
        .map(|p| p.name.as_str())
        .collect();
    let mut own: Vec<&Finding> = Vec::new();
    for f in &report.findings {
        if f.rule_id.starts_with("bylaw/") {
            own.push(f);
            continue;
        }
        let target =
            if pipeline.contains(&f.policy.as_str()) { builtin::PIPELINE_TARGET } else { f.location.path.as_str() };
        by_case.entry((f.policy.as_str(), f.rule_id.as_str(), target)).or_default().push(f);
    }
    let mut junit = quick_junit::Report::new("bylaw");
    for p in &report.policies {
        let mut suite = TestSuite::new(p.name.clone());
        for rule in &p.rules {
            let title = report.rule(rule).map(|r| r.title.as_str()).unwrap_or("");
            let classname = format!("{}.{}", p.name, rule);
            for target in &p.targets {
                let found = by_case.get(&(p.name.as_str(), rule.as_str(), target.as_str()));
                let name =
                    if title.is_empty() { format!("{rule} {target}") } else { format!("{rule} {title}: {target}") };
                suite.add_test_case(case(name, &classname, found.map(Vec::as_slice).unwrap_or(&[]), report.fail_on));
            }
        }
        junit.add_test_suite(suite);
    }
    if !own.is_empty() {
        let mut suite = TestSuite::new(builtin::POLICY);
        let mut cases: BTreeMap<(&str, &str), Vec<&Finding>> = BTreeMap::new();
        for f in own {
            cases.entry((f.rule_id.as_str(), f.location.path.as_str())).or_default().push(f);
        }
        for ((rule, path), fs) in cases {
            suite.add_test_case(case(format!("{rule}: {path}"), &format!("bylaw.{rule}"), &fs, report.fail_on));
        }
        junit.add_test_suite(suite);
    }
    Ok(junit.to_string()?)
}

/// JUnit XML of `bylaw test`: a testsuite per test file, a testcase per case.
pub fn tests_junit(results: &[bylaw_engine::testing::CaseResult]) -> Result<String, Error> {
    let mut junit = quick_junit::Report::new("bylaw test");
    let mut suites: BTreeMap<&str, TestSuite> = BTreeMap::new();
    for r in results {
        let suite = suites.entry(r.file.as_str()).or_insert_with(|| TestSuite::new(r.file.clone()));
        let status = if r.passed() {
            TestCaseStatus::success()
        } else {
            let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
            s.set_message(r.failures.first().cloned().unwrap_or_default());
            s.set_description(r.failures.join("\n"));
            s
        };
        let mut tc = TestCase::new(r.name.clone(), status);
        tc.set_classname(format!("{}:{}", r.file, r.line));
        suite.add_test_case(tc);
    }
    for (_, s) in suites {
        junit.add_test_suite(s);
    }
    Ok(junit.to_string()?)
}
