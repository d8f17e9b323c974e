//! Policy unit tests: `kind: PolicyTest` files (`*.test.yaml`) whose cases
//! give an input (a file or an inline document), optional `env` and `ctx`,
//! and the findings expected. [`run`] evaluates every case with the real
//! engine and compares; [`coverage`] says, per rule, whether some case makes
//! it fire and some case makes it pass.

use crate::compile::{self, CompileOptions, PolicySet};
use crate::diagnostic::{Code, Diagnostic};
use crate::eval::{FileRef, RunOptions};
use crate::input::{yaml, Format};
use crate::loader::LoadedPolicy;
use crate::node::Span;
use crate::report::{Enforcement, FailOn, Finding, Report};
use crate::schema::Schema;
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

#[derive(Deserialize, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct Input {
    pub file: Option<String>,
    pub inline: Option<String>,
    pub format: Option<String>,
    pub path: Option<String>,
}

#[derive(Deserialize, Debug, Clone, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Expectation {
    pub rule: String,
    pub count: Option<usize>,
    pub line: Option<u32>,
    pub message: Option<String>,
    pub enforcement: Option<Enforcement>,
}

#[derive(Deserialize, Debug, Clone)]
#[serde(untagged)]
pub enum Expect {
    None(String),
    Findings(Vec<Expectation>),
}

#[derive(Deserialize, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct Case {
    pub name: String,
    pub input: Input,
    pub env: Option<String>,
    #[serde(default)]
    pub ctx: serde_json::Map<String, serde_json::Value>,
    #[serde(default)]
    pub rules: Vec<String>,
    pub expect: Expect,
}

#[derive(Deserialize, Debug, Clone, Default)]
#[serde(deny_unknown_fields)]
struct Meta {
    name: Option<String>,
    #[allow(dead_code)]
    description: Option<String>,
}

#[derive(Deserialize, Debug, Clone)]
#[serde(deny_unknown_fields)]
struct RawTestFile {
    #[serde(rename = "apiVersion")]
    _api_version: String,
    #[serde(rename = "kind")]
    _kind: String,
    #[serde(default)]
    metadata: Meta,
    policy: Option<String>,
    cases: Vec<Case>,
}

/// A loaded PolicyTest file.
#[derive(Debug, Clone)]
pub struct TestFile {
    /// Display path.
    pub file: String,
    pub dir: PathBuf,
    pub name: String,
    pub policy: Option<String>,
    /// Where `policy:` is written (for "not loaded" errors).
    pub policy_span: Option<Span>,
    pub cases: Vec<Case>,
    /// Line of each case, for reports.
    pub lines: Vec<u32>,
    pub spans: Vec<Span>,
}

/// Whether a path names a policy test file.
pub fn is_test_file(path: &Path) -> bool {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    name.ends_with(".test.yaml") || name.ends_with(".test.yml")
}

/// Parses a PolicyTest file; problems are located diagnostics.
pub fn parse(file: &str, dir: &Path, text: &str) -> Result<TestFile, Vec<Diagnostic>> {
    let parsed = yaml::parse(text);
    if let Some(e) = parsed.errors.into_iter().next() {
        return Err(vec![Diagnostic::invalid_yaml(file, &e)]);
    }
    let Some(root) = parsed.documents.into_iter().next() else {
        return Err(vec![Diagnostic::error(Code::Schema, file, None, "empty test file: expected `kind: PolicyTest`")]);
    };
    let json = root.to_json();
    let errors = Schema::PolicyTest.validate(&json, &root, file);
    if !errors.is_empty() {
        return Err(errors);
    }
    let raw: RawTestFile = serde_json::from_value(json)
        .map_err(|e| vec![Diagnostic::error(Code::Schema, file, Some(root.span), format!("invalid test file: {e}"))])?;
    let mut problems = Vec::new();
    let spans: Vec<Span> = (0..raw.cases.len()).map(|i| root.value_span_of_pointer(&format!("/cases/{i}")).0).collect();
    for (i, c) in raw.cases.iter().enumerate() {
        if let Expect::None(s) = &c.expect {
            if s != "none" {
                problems.push(Diagnostic::error(
                    Code::Schema,
                    file,
                    Some(root.value_span_of_pointer(&format!("/cases/{i}/expect")).0),
                    format!("`expect` must be `none` or a list of findings, not `{s}`"),
                ));
            }
        }
        if let Some(f) = &c.input.file {
            if !dir.join(f).is_file() {
                problems.push(Diagnostic::error(
                    Code::Io,
                    file,
                    Some(root.value_span_of_pointer(&format!("/cases/{i}/input/file")).0),
                    format!("input file `{f}` not found (relative to the test file)"),
                ));
            }
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    Ok(TestFile {
        file: file.to_owned(),
        dir: dir.to_path_buf(),
        name: raw.metadata.name.unwrap_or_else(|| file.to_owned()),
        policy_span: raw.policy.as_ref().map(|_| root.value_span_of_pointer("/policy").0),
        policy: raw.policy,
        lines: spans.iter().map(|s| s.start_line).collect(),
        spans,
        cases: raw.cases,
    })
}

/// The documented examples of the rules written in `policies` (inherited
/// rules are tested where they are written), as test cases: `fail` must make
/// its rule fire, `pass` must not.
pub fn example_tests(policies: &[LoadedPolicy]) -> Vec<TestFile> {
    let mut out = Vec::new();
    for p in policies {
        let mut cases = Vec::new();
        let mut lines = Vec::new();
        for (i, r) in p.def.spec.rules.iter().enumerate() {
            let own = p.origins.get(i).is_none_or(|o| o.file == p.file);
            let Some(ex) = r.examples.as_ref().filter(|_| own) else { continue };
            let index = p.origins.get(i).map_or(i, |o| o.index);
            let line = p.root.value_span_of_pointer(&format!("/spec/rules/{index}/examples")).0.start_line;
            let path = ex.path.clone().unwrap_or_else(|| "example.yaml".into());
            for (text, fires) in [(&ex.fail, true), (&ex.pass, false)] {
                let Some(text) = text else { continue };
                cases.push(Case {
                    name: format!("{} {} example", r.id, if fires { "fail" } else { "pass" }),
                    input: Input { file: None, inline: Some(text.clone()), format: None, path: Some(path.clone()) },
                    env: None,
                    ctx: serde_json::Map::new(),
                    rules: vec![r.id.clone()],
                    expect: if fires {
                        Expect::Findings(vec![Expectation {
                            rule: r.id.clone(),
                            count: None,
                            line: None,
                            message: None,
                            enforcement: None,
                        }])
                    } else {
                        Expect::None("none".into())
                    },
                });
                lines.push(line);
            }
        }
        if !cases.is_empty() {
            out.push(TestFile {
                file: p.file.clone(),
                dir: PathBuf::from("."),
                name: format!("examples of {}", p.def.metadata.name),
                policy: Some(p.def.metadata.name.clone()),
                policy_span: None,
                spans: Vec::new(),
                lines,
                cases,
            });
        }
    }
    out
}

/// The outcome of one case.
#[derive(Debug, Clone)]
pub struct CaseResult {
    pub file: String,
    pub suite: String,
    pub name: String,
    pub line: u32,
    /// Empty when the case passed; otherwise one line per problem.
    pub failures: Vec<String>,
    /// The findings that counted (after `policy` and `rules` filters).
    pub findings: Vec<Finding>,
    /// Rules evaluated on the input that produced no finding.
    pub passed_rules: Vec<String>,
}

impl CaseResult {
    pub fn passed(&self) -> bool {
        self.failures.is_empty()
    }
}

fn describe(f: &Finding) -> String {
    format!("{} at {}:{} ({}): {}", f.rule_id, f.location.start_line, f.location.start_column, f.enforcement, f.message)
}

fn meets(f: &Finding, e: &Expectation) -> bool {
    f.rule_id == e.rule
        && e.line.is_none_or(|l| f.location.start_line == l)
        && e.message.as_deref().is_none_or(|m| f.message.contains(m))
        && e.enforcement.is_none_or(|x| f.enforcement == x)
}

fn expectation_text(e: &Expectation) -> String {
    let mut s = e.rule.clone();
    if let Some(c) = e.count {
        s.push_str(&format!(" ×{c}"));
    }
    if let Some(l) = e.line {
        s.push_str(&format!(" at line {l}"));
    }
    if let Some(x) = e.enforcement {
        s.push_str(&format!(" ({x})"));
    }
    if let Some(m) = &e.message {
        s.push_str(&format!(" with message containing {m:?}"));
    }
    s
}

/// Compares findings with expectations; returns the problems.
pub fn compare(findings: &[Finding], expect: &Expect) -> Vec<String> {
    let expectations: &[Expectation] = match expect {
        Expect::None(_) => &[],
        Expect::Findings(list) => list,
    };
    let mut problems = Vec::new();
    let mut used = vec![false; findings.len()];
    for e in expectations {
        let matching: Vec<usize> = (0..findings.len()).filter(|&i| meets(&findings[i], e)).collect();
        let ok = match e.count {
            Some(c) => matching.len() == c,
            None => !matching.is_empty(),
        };
        for &i in &matching {
            used[i] = true;
        }
        if !ok {
            let same_rule: Vec<String> =
                findings.iter().filter(|f| f.rule_id == e.rule).map(|f| format!("      {}", describe(f))).collect();
            let got = if same_rule.is_empty() {
                format!("no {} finding", e.rule)
            } else {
                format!("{} matching, {} of {}:\n{}", matching.len(), same_rule.len(), e.rule, same_rule.join("\n"))
            };
            problems.push(format!("expected {}, got {got}", expectation_text(e)));
        }
    }
    for (i, f) in findings.iter().enumerate() {
        if !used[i] && !expectations.iter().any(|e| e.rule == f.rule_id) {
            problems.push(format!("unexpected finding {}", describe(f)));
        }
    }
    problems
}

/// Runs every case of `tests` against `policies` (compiled once per environment).
pub fn run(
    policies: &[LoadedPolicy],
    sources: &HashMap<String, Arc<str>>,
    tests: &[TestFile],
    today: chrono::NaiveDate,
) -> (Vec<CaseResult>, Vec<Diagnostic>) {
    let mut sets: BTreeMap<Option<String>, PolicySet> = BTreeMap::new();
    let mut diagnostics = Vec::new();
    let mut results = Vec::new();
    for t in tests {
        for (i, case) in t.cases.iter().enumerate() {
            if !sets.contains_key(&case.env) {
                let options = CompileOptions { environment: case.env.clone(), today, include_drafts: true };
                let (set, d) = compile::compile(policies, sources, options);
                if sets.is_empty() {
                    diagnostics.extend(d);
                }
                sets.insert(case.env.clone(), set);
            }
            let set = &sets[&case.env];
            let file = input_file(t, case);
            let mut ctx = serde_json::Map::new();
            ctx.insert("platform".into(), "test".into());
            ctx.insert("environment".into(), case.env.clone().map(Into::into).unwrap_or(serde_json::Value::Null));
            ctx.insert("changed_files".into(), serde_json::json!([]));
            ctx.extend(case.ctx.clone());
            let opts = RunOptions {
                ctx: serde_json::Value::Object(ctx),
                fail_on: FailOn::Blocking,
                parse_errors: Enforcement::Blocking,
                max_file_size: crate::eval::DEFAULT_MAX_FILE_SIZE,
                format_of: false,
            };
            let report = set.run(std::slice::from_ref(&file), &opts);
            // bylaw's own findings (parse and evaluation errors) always count
            let counts = |rule: &str, policy: &str| {
                rule.starts_with("bylaw/")
                    || t.policy.as_deref().is_none_or(|p| p == policy)
                        && (case.rules.is_empty() || case.rules.iter().any(|r| r == rule))
            };
            let findings: Vec<Finding> =
                report.findings.iter().filter(|f| counts(&f.rule_id, &f.policy)).cloned().collect();
            let passed_rules = passed_rules(&report, &file.path, &findings, &counts);
            results.push(CaseResult {
                file: t.file.clone(),
                suite: t.name.clone(),
                name: case.name.clone(),
                line: t.lines[i],
                failures: compare(&findings, &case.expect),
                findings,
                passed_rules,
            });
        }
    }
    (results, diagnostics)
}

/// Rules that were evaluated on the input (their policy applied) and did not fire.
fn passed_rules(report: &Report, path: &str, findings: &[Finding], counts: &dyn Fn(&str, &str) -> bool) -> Vec<String> {
    let mut out = Vec::new();
    for p in &report.policies {
        if !p.targets.iter().any(|t| t == path || t == crate::builtin::PIPELINE_TARGET) {
            continue;
        }
        for r in &p.rules {
            if counts(r, &p.name) && !findings.iter().any(|f| &f.rule_id == r) {
                out.push(r.clone());
            }
        }
    }
    out
}

fn input_file(t: &TestFile, case: &Case) -> FileRef {
    let i = &case.input;
    match (&i.file, &i.inline) {
        (Some(f), _) => {
            let fs_path = t.dir.join(f);
            // shown as the test file is, with the input's name under its directory
            let path = i.path.clone().unwrap_or_else(|| {
                let shown = Path::new(&t.file).parent().unwrap_or(Path::new("")).join(f);
                crate::paths::normalize(&shown).to_string_lossy().replace('\\', "/")
            });
            FileRef { path, content: crate::paths::read_text(&fs_path).ok(), fs_path, format: None }
        }
        (None, inline) => {
            let ext = match i.format.as_deref() {
                Some("json") => "json",
                Some(_) => "yaml",
                None => i.path.as_deref().and_then(Format::of_path).map(|f| f.name()).unwrap_or("yaml"),
            };
            let mut path = i.path.clone().unwrap_or_else(|| format!("case.{ext}"));
            if i.format.is_some() && Format::of_path(&path).map(|f| f.name()) != Some(ext) {
                path = format!("{path}.{ext}");
            }
            FileRef {
                fs_path: PathBuf::from(&path),
                path,
                content: Some(inline.clone().unwrap_or_default()),
                format: None,
            }
        }
    }
}

/// Per rule: whether some case made it fire and some case made it pass.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleCoverage {
    pub rule: String,
    pub policy: String,
    pub fires: bool,
    pub passes: bool,
}

/// Coverage of every rule of `policies` by `results`.
pub fn coverage(policies: &[LoadedPolicy], results: &[CaseResult]) -> Vec<RuleCoverage> {
    let mut out = Vec::new();
    for p in policies {
        let disabled = &p.def.spec.disable;
        for r in &p.def.spec.rules {
            if disabled.contains(&r.id) {
                continue;
            }
            out.push(RuleCoverage {
                rule: r.id.clone(),
                policy: p.def.metadata.name.clone(),
                fires: results.iter().any(|c| c.findings.iter().any(|f| f.rule_id == r.id)),
                passes: results.iter().any(|c| c.passed_rules.contains(&r.id)),
            });
        }
    }
    out.sort_by(|a, b| (&a.policy, &a.rule).cmp(&(&b.policy, &b.rule)));
    out
}

/// Percentage of rules both firing and passing in some case.
pub fn coverage_percent(cov: &[RuleCoverage]) -> f64 {
    if cov.is_empty() {
        return 100.0;
    }
    100.0 * cov.iter().filter(|c| c.fires && c.passes).count() as f64 / cov.len() as f64
}
