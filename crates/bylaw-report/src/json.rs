//! The JSON report: the [`Report`] itself (DESIGN §8), with a version field
//! and a published schema ([`crate::REPORT_SCHEMA`]). A run that stopped
//! before evaluating is a report with verdict `error` and its located
//! `errors` ([`failure_report`]).

use crate::emitter::Emitter;
use crate::{Error, Format, RenderOptions};
use bylaw_engine::diagnostic::Diagnostic;
use bylaw_engine::report::{FailOn, Report};
use std::io::Write;

/// The JSON report emitter (`--format json`).
pub(crate) struct Json;

impl Emitter for Json {
    fn format(&self) -> Format {
        Format::Json
    }

    fn name(&self) -> &'static str {
        "json"
    }

    fn render(&self, report: &Report, _: &RenderOptions, out: &mut dyn Write) -> std::io::Result<()> {
        write_report(out, report)
    }

    fn render_failure(&self, diags: &[Diagnostic], fail_on: FailOn, opts: &RenderOptions) -> Result<String, Error> {
        crate::render(Format::Json, &failure_report(diags, fail_on), opts)
    }
}

/// The JSON report: `serde_json`'s pretty form of `report`, the findings
/// serialized in parallel blocks and never held as text (`splice`).
fn write_report(out: &mut dyn Write, report: &Report) -> std::io::Result<()> {
    // every field but the findings (a field added to Report must be added
    // here: the struct literal does not compile without it)
    let frame = Report {
        version: report.version.clone(),
        tool: report.tool.clone(),
        environment: report.environment.clone(),
        fail_on: report.fail_on,
        verdict: report.verdict,
        summary: report.summary.clone(),
        policies: report.policies.clone(),
        rules: report.rules.clone(),
        findings: Vec::new(),
        exceptions: report.exceptions.clone(),
        errors: report.errors.clone(),
    };
    let at = crate::splice::At::Key { key: "findings", indent: 2 };
    crate::splice::write_spliced(out, &frame, at, report.findings.len(), |i| &report.findings[i])
}

/// A diagnostic's hint for the JSON report, followed by its secondary
/// labels as `file:line:col: message` (the report format has no field of
/// its own for them): `rule ids must be unique (p.yaml:8:11: first defined here)`.
fn hint_with_labels(d: &Diagnostic) -> Option<String> {
    if d.labels.is_empty() {
        return d.hint.clone();
    }
    let labels: Vec<String> = d.labels.iter().map(|l| format!("{}: {}", l.location(), l.message)).collect();
    let labels = labels.join("; ");
    Some(match &d.hint {
        Some(h) => format!("{h} ({labels})"),
        None => labels,
    })
}

/// The JSON report of a run that stopped before evaluating (exit 2):
/// verdict `error`, nothing evaluated, and every problem in `errors` with
/// its file, line and column.
pub fn failure_report(diags: &[Diagnostic], fail_on: FailOn) -> Report {
    use bylaw_engine::diagnostic::Level;
    use bylaw_engine::report::{RunError, Verdict, REPORT_VERSION};
    let errors: Vec<RunError> = diags
        .iter()
        // the line that counts the others is not one more error
        .filter(|d| d.code != crate::SUMMARY_CODE)
        .map(|d| RunError {
            level: if d.level == Level::Error { "error" } else { "warning" }.into(),
            code: d.code.as_str().into(),
            path: d.file.clone(),
            line: d.span.map(|s| s.start_line),
            column: d.span.map(|s| s.start_col),
            message: d.message.clone(),
            hint: hint_with_labels(d),
        })
        .collect();
    Report {
        version: REPORT_VERSION.into(),
        tool: Default::default(),
        environment: None,
        fail_on,
        verdict: Verdict::Error,
        summary: bylaw_engine::report::Summary {
            errors: errors.iter().filter(|e| e.level == "error").count(),
            ..Default::default()
        },
        policies: Vec::new(),
        rules: Vec::new(),
        findings: Vec::new(),
        exceptions: Vec::new(),
        errors,
    }
}
