//! SARIF 2.1.0 for code-scanning tools (GitHub, GitLab, Azure DevOps,
//! Warnings NG): one `reportingDescriptor` per rule with help and
//! `security-severity`, results with relative locations under a `uriBaseId`,
//! 1-based regions, stable `partialFingerprints`, `suppressions` for
//! excepted findings and an automation category.
//!
//! The log stays within GitHub code scanning's upload limits ("SARIF
//! results exceed one or more limits", docs.github.com, code-security →
//! troubleshooting SARIF uploads): at most [`MAX_RESULTS`] results and
//! [`MAX_RULES`] rules per run and [`MAX_TAGS`] tags per rule; bylaw writes
//! one run and one location per result, under the 20 runs and 1,000
//! locations allowed. When a report has more, the most severe results are
//! kept and the run's `properties."bylaw/truncated"` says what was cut;
//! [`sarif_limits`] words it for the user.

use crate::emitter::Emitter;
use crate::escape::percent_encode_path as uri;
use crate::{Error, Format, RenderOptions};
use bylaw_engine::diagnostic::Diagnostic;
use bylaw_engine::report::FailOn;
use bylaw_engine::report::{Enforcement, Finding, Report, RuleInfo, Severity};
use serde_json::json;
use serde_sarif::sarif;
use std::collections::BTreeMap;

/// The `uriBaseId` of every location: the root of the checkout.
pub const SRCROOT: &str = "%SRCROOT%";
/// Key of bylaw's fingerprint in `partialFingerprints`.
pub const FINGERPRINT_KEY: &str = "bylaw/v1";
const SCHEMA_URI: &str = "https://json.schemastore.org/sarif-2.1.0.json";

/// GitHub code scanning rejects a run with more results than this.
pub const MAX_RESULTS: usize = 25_000;
/// GitHub code scanning rejects a run with more rules than this.
pub const MAX_RULES: usize = 25_000;
/// GitHub code scanning rejects a rule with more tags than this.
pub const MAX_TAGS: usize = 20;
/// Key of the run property recording what the limits cut.
pub const TRUNCATED_KEY: &str = "bylaw/truncated";

/// What GitHub's limits cut from a report's SARIF run.
struct Cuts {
    /// Indices of the findings kept as results, in report order.
    kept: Vec<usize>,
    /// Indices of the rules kept as descriptors, in report order.
    rules: Vec<usize>,
    /// Rules whose tags were cut to [`MAX_TAGS`].
    tagged: usize,
}

/// How important a finding is for the cut, smaller first: unexcepted
/// mandatory/blocking, advisory, audit, then excepted ones; within that,
/// critical to info; then the report's own order.
/// How much a finding matters: unexcepted blocking/mandatory first, then
/// advisory, audit, excepted; within a level, the most severe first.
pub(crate) fn importance(f: &Finding) -> (u8, std::cmp::Reverse<Severity>) {
    let level = match (f.exception.is_some(), f.enforcement) {
        (false, Enforcement::Mandatory | Enforcement::Blocking) => 0,
        (false, Enforcement::Advisory) => 1,
        (false, Enforcement::Audit) => 2,
        (true, _) => 3,
    };
    (level, std::cmp::Reverse(f.severity))
}

fn tags_of(rule: &RuleInfo) -> usize {
    2 + rule.controls.len()
}

fn cuts(report: &Report) -> Cuts {
    let n = report.findings.len();
    let kept = if n <= MAX_RESULTS {
        (0..n).collect()
    } else {
        let mut order: Vec<usize> = (0..n).collect();
        order.sort_by_key(|&i| (importance(&report.findings[i]), i));
        order.truncate(MAX_RESULTS);
        order.sort_unstable();
        order
    };
    let rules = if report.rules.len() <= MAX_RULES {
        (0..report.rules.len()).collect()
    } else {
        // Rules with a kept result first (there are at most MAX_RESULTS of
        // them), then the others in order until the limit.
        let used: std::collections::HashSet<&str> = kept.iter().map(|&i| report.findings[i].rule_id.as_str()).collect();
        let (mut with, without): (Vec<usize>, Vec<usize>) =
            (0..report.rules.len()).partition(|&i| used.contains(report.rules[i].id.as_str()));
        let room = MAX_RULES.saturating_sub(with.len());
        with.extend(without.into_iter().take(room));
        with.sort_unstable();
        with
    };
    let tagged = rules.iter().filter(|&&i| tags_of(&report.rules[i]) > MAX_TAGS).count();
    Cuts { kept, rules, tagged }
}

/// The warning to show when `report`'s SARIF run exceeds GitHub code
/// scanning's limits (see the module doc), naming what was kept and cut;
/// `None` when it fits. The SARIF itself records the same in its run
/// property `bylaw/truncated`.
pub fn sarif_limits(report: &Report) -> Option<String> {
    let c = cuts(report);
    let mut parts = Vec::new();
    let total = report.findings.len();
    if c.kept.len() < total {
        parts.push(format!(
            "{total} results exceed GitHub code scanning's limit of {MAX_RESULTS} per run: the SARIF keeps the {} most severe and leaves out {} (every finding is in the JSON report)",
            c.kept.len(),
            total - c.kept.len()
        ));
    }
    if c.rules.len() < report.rules.len() {
        parts.push(format!(
            "{} rules exceed the limit of {MAX_RULES} per run: the SARIF describes {} (every rule with a result among them)",
            report.rules.len(),
            c.rules.len()
        ));
    }
    if c.tagged > 0 {
        parts.push(format!(
            "{} rule{} map to more than {} controls: their SARIF tags stop at {MAX_TAGS} (all controls are in the rule's property `bylaw/controls`)",
            c.tagged,
            if c.tagged == 1 { "" } else { "s" },
            MAX_TAGS - 2
        ));
    }
    (!parts.is_empty()).then(|| format!("SARIF: {}", parts.join("; ")))
}

fn level(e: Enforcement) -> sarif::ResultLevel {
    match e {
        Enforcement::Mandatory | Enforcement::Blocking => sarif::ResultLevel::Error,
        Enforcement::Advisory => sarif::ResultLevel::Warning,
        Enforcement::Audit => sarif::ResultLevel::Note,
    }
}

fn level_name(e: Enforcement) -> &'static str {
    match level(e) {
        sarif::ResultLevel::Error => "error",
        sarif::ResultLevel::Warning => "warning",
        _ => "note",
    }
}

fn bag(tags: Vec<String>, props: serde_json::Map<String, serde_json::Value>) -> sarif::PropertyBag {
    let mut b =
        sarif::PropertyBag::builder().additional_properties(props.into_iter().collect::<BTreeMap<_, _>>()).build();
    if !tags.is_empty() {
        b.tags = Some(tags);
    }
    b
}

/// A rule id made into a SARIF `name`: an identifier-like PascalCase of the title.
fn rule_name(rule: &RuleInfo) -> String {
    let name: String = rule
        .title
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| {
            let mut cs = w.chars();
            cs.next().map(|c| c.to_ascii_uppercase().to_string() + cs.as_str()).unwrap_or_default()
        })
        .collect();
    if name.is_empty() {
        rule.id.replace(|c: char| !c.is_ascii_alphanumeric(), "")
    } else {
        name
    }
}

fn descriptor(rule: &RuleInfo) -> sarif::ReportingDescriptor {
    let full = rule.description.clone().unwrap_or_else(|| rule.title.clone());
    let remediation = rule.remediation.clone();
    let mut help_text = format!("{}\n\n{}", rule.title, full);
    let mut help_md = format!("**{}**\n\n{}", rule.title, full);
    if let Some(r) = &remediation {
        help_text.push_str(&format!("\n\nRemediation: {r}"));
        help_md.push_str(&format!("\n\n**Remediation:** {r}"));
    }
    if !rule.controls.is_empty() {
        help_text.push_str(&format!("\n\nControls: {}", rule.controls.join(", ")));
        help_md.push_str(&format!("\n\n**Controls:** {}", rule.controls.join(", ")));
    }
    help_md.push_str(&format!("\n\nPolicy `{}`, severity {}.", rule.policy, rule.severity));
    let mut tags = vec![rule.kind.clone(), format!("policy:{}", rule.policy)];
    tags.extend(rule.controls.iter().take(MAX_TAGS - tags.len()).cloned());
    let mut props = serde_json::Map::new();
    if tags_of(rule) > MAX_TAGS {
        // The tags stop at MAX_TAGS; every control stays readable here.
        props.insert("bylaw/controls".into(), json!(rule.controls));
    }
    props.insert("security-severity".into(), json!(rule.severity.security_severity()));
    props.insert("problem.severity".into(), json!(problem_severity(rule.enforcement)));
    props.insert("precision".into(), json!("very-high"));
    props.insert("bylaw/severity".into(), json!(rule.severity.as_str()));
    props.insert("bylaw/enforcement".into(), json!(rule.enforcement.as_str()));
    let configuration = sarif::ReportingConfiguration::builder().level(json!(level_name(rule.enforcement))).build();
    sarif::ReportingDescriptor::builder()
        .id(rule.id.clone())
        .name(rule_name(rule))
        .short_description(sarif::MultiformatMessageString::builder().text(rule.title.clone()).build())
        .full_description(sarif::MultiformatMessageString::builder().text(full).build())
        .help(sarif::MultiformatMessageString::builder().text(help_text).markdown(help_md).build())
        .default_configuration(configuration)
        .properties(bag(tags, props))
        .build()
}

/// GitHub's `problem.severity` (used when `security-severity` is absent, and by CodeQL UIs).
fn problem_severity(e: Enforcement) -> &'static str {
    match e {
        Enforcement::Mandatory | Enforcement::Blocking => "error",
        Enforcement::Advisory => "warning",
        Enforcement::Audit => "recommendation",
    }
}

/// Where a file is: a path under the project root is a relative URI under
/// `uriBaseId` (§3.4.4); a file outside the root (an absolute display path)
/// gets an absolute `file://` URI and no base (SARIF 2.1.0 §3.10.3).
fn artifact_location(path: &str, opts: &RenderOptions) -> sarif::ArtifactLocation {
    if path.starts_with('/') {
        return sarif::ArtifactLocation::builder().uri(format!("file://{}", uri(path))).build();
    }
    let mut artifact = sarif::ArtifactLocation::builder().uri(uri(path)).build();
    if !path.starts_with("pack:") {
        artifact.uri_base_id = Some(opts.base_uri_id.clone());
    }
    artifact
}

fn result(f: &Finding, rule_index: Option<usize>, opts: &RenderOptions) -> sarif::Result {
    let l = &f.location;
    let region = sarif::Region::builder()
        .start_line(l.start_line as i64)
        .start_column(l.start_column as i64)
        .end_line(l.end_line as i64)
        .end_column(l.end_column.max(if l.end_line == l.start_line { l.start_column } else { 1 }) as i64)
        .build();
    let artifact = artifact_location(&l.path, opts);
    let location = sarif::Location::builder()
        .physical_location(sarif::PhysicalLocation::builder().artifact_location(artifact).region(region).build())
        .build();
    let mut props = serde_json::Map::new();
    props.insert("policy".into(), json!(f.policy));
    props.insert("severity".into(), json!(f.severity.as_str()));
    props.insert("enforcement".into(), json!(f.enforcement.as_str()));
    props.insert("pointer".into(), json!(f.pointer));
    if let Some(d) = f.document {
        props.insert("document".into(), json!(d));
    }
    if let Some(r) = &f.resource {
        props.insert("resource".into(), serde_json::to_value(r).unwrap_or_default());
    }
    if !f.notes.is_empty() {
        props.insert("notes".into(), json!(f.notes));
    }
    let mut fingerprints = BTreeMap::new();
    fingerprints.insert(FINGERPRINT_KEY.to_string(), f.fingerprint.clone());
    let mut r = sarif::Result::builder()
        .rule_id(f.rule_id.clone())
        .level(level(f.enforcement))
        .message(sarif::Message::builder().text(f.message.clone()).build())
        .locations(vec![location])
        .partial_fingerprints(fingerprints)
        .properties(bag(Vec::new(), props))
        .build();
    r.rule_index = rule_index.map(|i| i as i64);
    // SARIF §3.27.24, against `check --baseline`
    r.baseline_state = f.baseline.map(|b| match b {
        bylaw_engine::report::BaselineState::New => json!("new"),
        bylaw_engine::report::BaselineState::Unchanged => json!("unchanged"),
    });
    if let Some(e) = &f.exception {
        let mut props = serde_json::Map::new();
        props.insert("exception".into(), json!(e.id));
        if !e.approved_by.is_empty() {
            props.insert("approvedBy".into(), json!(e.approved_by));
        }
        if let Some(x) = &e.expires {
            props.insert("expires".into(), json!(x));
        }
        let kind = if e.kind == "inSource" { "inSource" } else { "external" };
        let s = sarif::Suppression::builder()
            .kind(json!(kind))
            .status(json!("accepted"))
            .justification(format!("{} ({})", e.reason, e.id))
            .properties(bag(Vec::new(), props))
            .build();
        r.suppressions = Some(vec![s]);
    }
    r
}

/// The SARIF 2.1.0 emitter (`--format sarif`).
pub(crate) struct Sarif;

impl Emitter for Sarif {
    fn format(&self) -> Format {
        Format::Sarif
    }

    fn name(&self) -> &'static str {
        "sarif"
    }

    fn render(&self, report: &Report, opts: &RenderOptions, out: &mut dyn std::io::Write) -> std::io::Result<()> {
        write_sarif(out, report, opts)
    }

    fn render_failure(&self, diags: &[Diagnostic], _: FailOn, opts: &RenderOptions) -> Result<String, Error> {
        crate::json(&failure_sarif(diags, opts))
    }
}

/// Builds the SARIF log of a report, cut to GitHub's limits (module doc).
pub fn to_sarif(report: &Report, opts: &RenderOptions) -> sarif::Sarif {
    let frame = frame(report, opts);
    let results: Vec<sarif::Result> = (0..frame.kept.len()).map(|i| frame.result(report, i, opts)).collect();
    let mut log = frame.log;
    log.runs[0].results = Some(results);
    log
}

/// Writes the SARIF log of a report (as [`to_sarif`]) into `out`, its
/// results serialized in parallel blocks, never all held (`splice`).
fn write_sarif(out: &mut dyn std::io::Write, report: &Report, opts: &RenderOptions) -> std::io::Result<()> {
    let frame = frame(report, opts);
    // `results` of the one run: root object → `runs` array → run object
    let at = crate::splice::At::Key { key: "results", indent: 6 };
    crate::splice::write_spliced(out, &frame.log, at, frame.kept.len(), |i| frame.result(report, i, opts))
}

/// The SARIF log without its results, and what they will be.
struct Frame<'a> {
    log: sarif::Sarif,
    /// Indexes of the findings kept as results, in order.
    kept: Vec<usize>,
    /// Rule id → index of its descriptor.
    index: BTreeMap<&'a str, usize>,
}

impl Frame<'_> {
    /// The `i`-th result.
    fn result(&self, report: &Report, i: usize, opts: &RenderOptions) -> sarif::Result {
        let f = &report.findings[self.kept[i]];
        result(f, self.index.get(f.rule_id.as_str()).copied(), opts)
    }
}

fn frame<'a>(report: &'a Report, opts: &RenderOptions) -> Frame<'a> {
    let cut = cuts(report);
    let rules: Vec<sarif::ReportingDescriptor> = cut.rules.iter().map(|&i| descriptor(&report.rules[i])).collect();
    let index: BTreeMap<&str, usize> =
        cut.rules.iter().enumerate().map(|(at, &i)| (report.rules[i].id.as_str(), at)).collect();
    let results: Vec<sarif::Result> = Vec::new();
    let tool = &report.tool;
    let driver = sarif::ToolComponent::builder()
        .name(tool.name.clone())
        .full_name(format!("{} {}", tool.name, tool.version))
        .version(tool.version.clone())
        .semantic_version(tool.version.clone())
        .information_uri(tool.information_uri.clone())
        .rules(rules)
        .build();
    let category = opts.automation_category.clone().unwrap_or_else(|| "bylaw".to_string());
    let category = category.trim_end_matches('/');
    let mut run_props = serde_json::Map::new();
    if let Some(env) = &report.environment {
        run_props.insert("environment".into(), json!(env));
    }
    run_props.insert("verdict".into(), serde_json::to_value(report.verdict).unwrap_or_default());
    run_props.insert("summary".into(), serde_json::to_value(&report.summary).unwrap_or_default());
    let mut truncated = serde_json::Map::new();
    if cut.kept.len() < report.findings.len() {
        truncated.insert("results".into(), json!({ "total": report.findings.len(), "kept": cut.kept.len() }));
    }
    if cut.rules.len() < report.rules.len() {
        truncated.insert("rules".into(), json!({ "total": report.rules.len(), "kept": cut.rules.len() }));
    }
    if cut.tagged > 0 {
        truncated.insert("tags".into(), json!({ "rules": cut.tagged, "limit": MAX_TAGS }));
    }
    if !truncated.is_empty() {
        run_props.insert(TRUNCATED_KEY.into(), serde_json::Value::Object(truncated));
    }
    let invocation = sarif::Invocation::builder().execution_successful(true).build();
    let run = sarif::Run::builder()
        .tool(sarif::Tool::builder().driver(driver).build())
        .automation_details(sarif::RunAutomationDetails::builder().id(format!("{category}/")).build())
        .column_kind(json!("unicodeCodePoints"))
        .invocations(vec![invocation])
        .results(results)
        .properties(bag(Vec::new(), run_props))
        .build();
    let log = sarif::Sarif::builder().schema(SCHEMA_URI.to_string()).version(json!("2.1.0")).runs(vec![run]).build();
    Frame { log, kept: cut.kept, index }
}

/// SARIF of `bylaw validate`: one result per diagnostic, rule ids
/// `bylaw/validate/CODE`, levels error or warning.
pub fn diagnostics_to_sarif(diags: &[bylaw_engine::diagnostic::Diagnostic], opts: &RenderOptions) -> sarif::Sarif {
    use bylaw_engine::diagnostic::Level;
    let mut codes: Vec<&str> = diags.iter().map(|d| d.code.as_str()).collect();
    codes.sort_unstable();
    codes.dedup();
    let rules: Vec<sarif::ReportingDescriptor> = codes
        .iter()
        .map(|c| {
            let text = format!("bylaw validate: {c} problems in policies, tests or exception lists");
            sarif::ReportingDescriptor::builder()
                .id(format!("bylaw/validate/{c}"))
                .name(format!(
                    "Validate{}",
                    c.split('-')
                        .map(|w| {
                            let mut cs = w.chars();
                            cs.next().map(|f| f.to_ascii_uppercase().to_string() + cs.as_str()).unwrap_or_default()
                        })
                        .collect::<String>()
                ))
                .short_description(sarif::MultiformatMessageString::builder().text(text.clone()).build())
                .full_description(sarif::MultiformatMessageString::builder().text(text.clone()).build())
                .help(sarif::MultiformatMessageString::builder().text(text).build())
                .build()
        })
        .collect();
    // a problem of the run itself (a usage error) has no file: it is a
    // notification of the invocation, not a result (GitHub requires locations)
    let results: Vec<sarif::Result> = diags
        .iter()
        .filter(|d| !d.file.is_empty())
        .map(|d| {
            let mut text = d.message.clone();
            if let Some(h) = &d.hint {
                text.push_str(&format!(" (hint: {h})"));
            }
            let artifact = artifact_location(&d.file, opts);
            let mut physical = sarif::PhysicalLocation::builder().artifact_location(artifact).build();
            if let Some(s) = d.span {
                physical.region = Some(region(s));
            }
            let mut r = sarif::Result::builder()
                .rule_id(format!("bylaw/validate/{}", d.code))
                .level(if d.level == Level::Error { sarif::ResultLevel::Error } else { sarif::ResultLevel::Warning })
                .message(sarif::Message::builder().text(text).build())
                .locations(vec![sarif::Location::builder().physical_location(physical).build()])
                .build();
            // the diagnostic's secondary labels ("first defined here")
            if !d.labels.is_empty() {
                r.related_locations = Some(
                    d.labels
                        .iter()
                        .enumerate()
                        .map(|(i, l)| {
                            let mut physical = sarif::PhysicalLocation::builder()
                                .artifact_location(artifact_location(&l.file, opts))
                                .build();
                            physical.region = Some(region(l.span));
                            sarif::Location::builder()
                                .id(i as i64)
                                .physical_location(physical)
                                .message(sarif::Message::builder().text(l.message.clone()).build())
                                .build()
                        })
                        .collect(),
                );
            }

            r.rule_index = codes.iter().position(|c| *c == d.code.as_str()).map(|i| i as i64);
            r
        })
        .collect();
    let driver = sarif::ToolComponent::builder()
        .name("bylaw")
        .version(env!("CARGO_PKG_VERSION").to_string())
        .information_uri(bylaw_engine::report::ToolInfo::default().information_uri)
        .rules(rules)
        .build();
    let run = sarif::Run::builder()
        .tool(sarif::Tool::builder().driver(driver).build())
        .automation_details(sarif::RunAutomationDetails::builder().id("bylaw-validate/".to_string()).build())
        .column_kind(json!("unicodeCodePoints"))
        .results(results)
        .build();
    sarif::Sarif::builder().schema(SCHEMA_URI.to_string()).version(json!("2.1.0")).runs(vec![run]).build()
}

/// The region of a diagnostic's span (lines and columns at least 1, the
/// end not before the start line).
fn region(s: bylaw_engine::node::Span) -> sarif::Region {
    sarif::Region::builder()
        .start_line(s.start_line.max(1) as i64)
        .start_column(s.start_col.max(1) as i64)
        .end_line(s.end_line.max(s.start_line).max(1) as i64)
        .end_column(s.end_col.max(1) as i64)
        .build()
}

/// SARIF for a run that stopped before evaluating (exit 2): the problems as
/// results (so code scanning shows them where they are written) and an
/// invocation with `executionSuccessful: false` whose
/// `toolConfigurationNotifications` carry the same located messages
/// (SARIF 2.1.0 §3.20.14, §3.20.21).
pub fn failure_sarif(diags: &[bylaw_engine::diagnostic::Diagnostic], opts: &RenderOptions) -> sarif::Sarif {
    use bylaw_engine::diagnostic::Level;
    let mut out = diagnostics_to_sarif(diags, opts);
    let notifications: Vec<sarif::Notification> = diags
        .iter()
        .map(|d| {
            let mut n = sarif::Notification::builder()
                .message(sarif::Message::builder().text(d.message.clone()).build())
                .level(json!(if d.level == Level::Error { "error" } else { "warning" }))
                .build();
            if !d.file.is_empty() {
                let mut physical =
                    sarif::PhysicalLocation::builder().artifact_location(artifact_location(&d.file, opts)).build();
                if let Some(s) = d.span {
                    physical.region = Some(
                        sarif::Region::builder()
                            .start_line(s.start_line.max(1) as i64)
                            .start_column(s.start_col.max(1) as i64)
                            .build(),
                    );
                }
                n.locations = Some(vec![sarif::Location::builder().physical_location(physical).build()]);
            }
            n
        })
        .collect();
    let invocation = sarif::Invocation::builder()
        .execution_successful(false)
        .tool_configuration_notifications(notifications)
        .build();
    let category = opts.automation_category.clone().unwrap_or_else(|| "bylaw".into());
    for run in out.runs.iter_mut() {
        run.invocations = Some(vec![invocation.clone()]);
        run.automation_details = Some(sarif::RunAutomationDetails::builder().id(format!("{category}/")).build());
    }
    out
}
