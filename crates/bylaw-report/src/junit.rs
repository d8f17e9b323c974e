//! JUnit XML (DESIGN §8): a testsuite per policy, a testcase per rule ×
//! target. Blocking findings → `failure`; excepted → `skipped`; advisory and
//! audit → passed, with the findings in `system-out`. bylaw's own findings
//! (parse and evaluation errors) form a `bylaw` suite.
//!
//! Every input-derived string goes through [`x`]: controls escaped as in
//! the text format (CI systems print JUnit messages in their logs) and the
//! characters XML 1.0 forbids (`Char` production, §2.2) dropped, so the
//! file always parses.

use crate::emitter::{write_text, Emitter};
use crate::escape::display_safe;
use crate::{position, Error, Format, RenderOptions};
use bylaw_engine::builtin;
use bylaw_engine::diagnostic::Diagnostic;
use bylaw_engine::report::FailOn;
use bylaw_engine::report::{Finding, Report};
use quick_junit::{NonSuccessKind, TestCase, TestCaseStatus, TestSuite};
use std::borrow::Cow;
use std::collections::BTreeMap;

/// Whether XML 1.0 allows `c` (`#x9 | #xA | #xD | [#x20-#xD7FF] |
/// [#xE000-#xFFFD] | [#x10000-#x10FFFF]`; surrogates cannot occur in a `str`).
fn xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{fffd}' | '\u{10000}'..)
}

/// An input-derived value for the XML: controls made visible, then any
/// character XML 1.0 forbids (U+FFFE, U+FFFF) dropped. Borrows when clean.
fn x(s: &str) -> Cow<'_, str> {
    match display_safe(s) {
        Cow::Borrowed(b) if b.chars().all(xml_char) => Cow::Borrowed(b),
        c => Cow::Owned(c.chars().filter(|&c| xml_char(c)).collect()),
    }
}

/// `path:line:col` of a finding, safe for the XML.
fn at(f: &Finding) -> String {
    x(&position(f)).into_owned()
}

fn describe(findings: &[&Finding]) -> String {
    findings
        .iter()
        .map(|f| {
            let mut line = format!("{}: {} [{}] {}", at(f), f.enforcement, x(&f.rule_id), x(&f.message));
            if let Some(e) = &f.exception {
                line.push_str(&format!(" (excepted by {}: {})", x(&e.id), x(&e.reason)));
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
        s.set_message(format!("{}: {}{more}", at(first), x(&first.message)));
        s.set_type(first.enforcement.as_str());
        s.set_description(describe(&failing));
        s
    } else if !findings.is_empty() && findings.iter().all(|f| f.exception.is_some()) {
        let mut s = TestCaseStatus::skipped();
        let ids: Vec<Cow<str>> = findings.iter().filter_map(|f| f.exception.as_ref().map(|e| x(&e.id))).collect();
        s.set_message(format!("excepted by {}", ids.join(", ")));
        s.set_description(describe(findings));
        s
    } else {
        TestCaseStatus::success()
    };
    let mut tc = TestCase::new(x(&name).into_owned(), status);
    tc.set_classname(x(classname).into_owned());
    if !findings.is_empty() {
        tc.set_system_out(describe(findings));
    }
    tc
}

/// The JUnit XML emitter (`--format junit`).
pub(crate) struct Junit;

impl Emitter for Junit {
    fn format(&self) -> Format {
        Format::Junit
    }

    fn name(&self) -> &'static str {
        "junit"
    }

    fn render(&self, report: &Report, _: &RenderOptions, out: &mut dyn std::io::Write) -> std::io::Result<()> {
        write_text(out, &render(report).map_err(std::io::Error::other)?)
    }

    fn render_failure(&self, diags: &[Diagnostic], _: FailOn, _: &RenderOptions) -> Result<String, Error> {
        failure_junit(diags)
    }
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
        let mut suite = TestSuite::new(x(&p.name).into_owned());
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
        let suite = suites.entry(r.file.as_str()).or_insert_with(|| TestSuite::new(x(&r.file).into_owned()));
        let status = if r.passed() {
            TestCaseStatus::success()
        } else {
            let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
            s.set_message(r.failures.first().map(|m| x(m).into_owned()).unwrap_or_default());
            s.set_description(r.failures.iter().map(|m| x(m)).collect::<Vec<_>>().join("\n"));
            s
        };
        let mut tc = TestCase::new(x(&r.name).into_owned(), status);
        tc.set_classname(x(&format!("{}:{}", r.file, r.line)).into_owned());
        suite.add_test_case(tc);
    }
    for (_, s) in suites {
        junit.add_test_suite(s);
    }
    Ok(junit.to_string()?)
}

/// JUnit for a run that could not evaluate anything (exit 2: policy, config
/// or exception errors): one test suite `bylaw` with one errored test case
/// whose message counts the problems and whose text lists them, so a test
/// report shows why instead of nothing.
pub fn failure_junit(diags: &[bylaw_engine::diagnostic::Diagnostic]) -> Result<String, Error> {
    let mut junit = quick_junit::Report::new("bylaw");
    let mut suite = TestSuite::new("bylaw");
    let mut status = TestCaseStatus::non_success(NonSuccessKind::Error);
    let errors = diags
        .iter()
        .filter(|d| d.level == bylaw_engine::diagnostic::Level::Error && d.code != crate::SUMMARY_CODE)
        .count();
    status.set_message(format!("bylaw could not run: {errors} error{}", if errors == 1 { "" } else { "s" }));
    let text: Vec<String> = diags
        .iter()
        .map(|d| {
            if d.file.is_empty() {
                x(&d.message).into_owned()
            } else {
                x(&format!("{}: {}", d.location(), d.message)).into_owned()
            }
        })
        .collect();
    status.set_description(text.join("\n"));
    status.set_type("bylaw/error");
    suite.add_test_case(TestCase::new("policies, config and exception lists load", status));
    junit.add_test_suite(suite);
    Ok(junit.to_string()?)
}
