//! OPA's policy tests (<https://www.openpolicyagent.org/docs/policy-testing>)
//! run by `bylaw test`: `*_test.rego` modules loaded with the policy
//! modules, and every rule named `test_…` evaluated (with its `with`
//! overrides): it passes when it is defined and true. Rego coverage comes
//! from regorus: the lines of the policy modules the tests evaluated.

use super::load::{add_module, diagnostic, RegoModule, RegoOptions};
use crate::diagnostic::Diagnostic;
use crate::testing::CaseResult;

/// Line coverage of one policy module by the tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileCoverage {
    pub file: String,
    /// Lines evaluated by some test.
    pub covered: Vec<u32>,
    /// Lines of rule bodies no test evaluated.
    pub not_covered: Vec<u32>,
}

impl FileCoverage {
    /// Covered lines in percent of the lines regorus counts.
    pub fn percent(&self) -> f64 {
        let all = self.covered.len() + self.not_covered.len();
        if all == 0 {
            100.0
        } else {
            100.0 * self.covered.len() as f64 / all as f64
        }
    }
}

/// What running OPA tests gives.
pub struct Outcome {
    pub results: Vec<CaseResult>,
    /// Coverage of the policy modules (not of the tests).
    pub coverage: Vec<FileCoverage>,
}

/// Runs the `test_` rules of `tests` with `policies` and `rego`'s data.
/// A module that does not parse stops the run (its diagnostics).
pub fn run(policies: &[RegoModule], tests: &[RegoModule], rego: &RegoOptions) -> Result<Outcome, Vec<Diagnostic>> {
    let mut engine = super::new_engine();
    let mut diagnostics = Vec::new();
    for m in policies.iter().chain(tests) {
        if let Err(e) = add_module(&mut engine, &m.file, &m.text, rego.v0) {
            diagnostics.push(diagnostic(&e, &m.file, "the tests were not run"));
        }
    }
    for (_, value) in &rego.data {
        if let Err(e) = engine.add_data(regorus::Value::from(value.clone())) {
            diagnostics.push(Diagnostic::error(crate::diagnostic::Code::Rego, "", None, e.to_string()));
        }
    }
    if diagnostics.is_empty() {
        // what analysis finds (a rule recursion, an unsafe variable) stops the run
        if let Err(e) = engine.eval_query("true".to_owned(), false) {
            let file = tests.first().map_or("", |t| t.file.as_str());
            diagnostics.push(diagnostic(&e.to_string(), file, "the tests were not run"));
        }
    }
    if !diagnostics.is_empty() {
        return Err(diagnostics);
    }
    engine.set_enable_coverage(true);
    let mut results = Vec::new();
    for t in tests {
        let package = package_of(&t.text);
        for (line, name) in test_rules(&t.text) {
            let mut result = CaseResult {
                file: t.file.clone(),
                suite: package.clone(),
                name: name.clone(),
                line,
                failures: Vec::new(),
                findings: Vec::new(),
                passed_rules: Vec::new(),
            };
            match engine.eval_rule(format!("data.{package}.{name}")) {
                Ok(regorus::Value::Bool(true)) => {}
                Ok(regorus::Value::Undefined) => result.failures.push("undefined: a body did not hold".into()),
                Ok(other) => result
                    .failures
                    .push(format!("expected true, got {}", other.to_json_str().unwrap_or_else(|_| "a value".into()))),
                Err(e) => result.failures.push(format!("error: {}", super::one_line(&e.to_string()))),
            }
            results.push(result);
        }
    }
    let tested: Vec<&str> = tests.iter().map(|t| t.file.as_str()).collect();
    let coverage = engine
        .get_coverage_report()
        .map(|r| {
            r.files
                .into_iter()
                .filter(|f| !tested.contains(&f.path.as_str()))
                .map(|f| FileCoverage {
                    file: f.path,
                    covered: f.covered.into_iter().collect(),
                    not_covered: f.not_covered.into_iter().collect(),
                })
                .collect()
        })
        .unwrap_or_default();
    Ok(Outcome { results, coverage })
}

fn package_of(text: &str) -> String {
    text.lines()
        .find_map(|l| l.trim_start().strip_prefix("package "))
        .map(|p| p.split_whitespace().next().unwrap_or("").to_owned())
        .unwrap_or_default()
}

/// The `test_` rules of a test module, by line, each name once.
fn test_rules(text: &str) -> Vec<(u32, String)> {
    let mut out: Vec<(u32, String)> = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let name: String = line.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
        if name.starts_with("test_") && !out.iter().any(|(_, n)| *n == name) {
            out.push((i as u32 + 1, name));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn test_rules_pass_fail_and_cover_the_policy() {
        let policy = RegoModule {
            file: "p.rego".into(),
            text: Arc::from(
                "package main\n\nimport rego.v1\n\ndeny contains \"root\" if {\n  input.user == \"root\"\n}\n\ndeny contains \"never\" if {\n  input.never\n}\n",
            ),
        };
        let tests = RegoModule {
            file: "p_test.rego".into(),
            text: Arc::from(
                "package main\n\nimport rego.v1\n\ntest_root_denied if {\n  \"root\" in deny with input as {\"user\": \"root\"}\n}\n\ntest_wrong if {\n  count(deny) == 1 with input as {\"user\": \"alice\"}\n}\n",
            ),
        };
        let out = run(&[policy], &[tests], &RegoOptions::default()).unwrap();
        let seen: Vec<(&str, u32, bool)> = out.results.iter().map(|r| (r.name.as_str(), r.line, r.passed())).collect();
        assert_eq!(seen, [("test_root_denied", 5, true), ("test_wrong", 9, false)]);
        assert_eq!(out.coverage.len(), 1);
        let c = &out.coverage[0];
        assert_eq!(c.file, "p.rego");
        assert!(c.covered.contains(&6), "{c:?}");
        // the second rule was tried (its condition read) but never produced
        assert!(c.not_covered.contains(&9), "{c:?}");
    }
}
