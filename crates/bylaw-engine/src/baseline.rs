//! Baselines: adopting a policy without fixing its history first
//! (`bylaw check --write-baseline FILE`, then `--baseline FILE`).
//!
//! A baseline is the list of a run's findings keyed by their stable
//! fingerprints ([`crate::report::Finding::fingerprint`]: rule, path,
//! resource and pointer, never line numbers, so unrelated edits keep a
//! finding's identity). Checked against one, a finding the baseline holds
//! is `unchanged` and reported at audit level (it never fails the run),
//! any other is `new` and keeps its enforcement: only new findings block.
//! Parse and evaluation errors (`bylaw/…`) are never baselined: a gate does
//! not pass an input it could not read. The states are SARIF 2.1.0's
//! `baselineState` (§3.27.24), shown in every output and counted apart
//! (`summary.baselined`).
//!
//! The file is JSON: `{"bylaw_baseline": 2, "findings": [{"fingerprint",
//! "rule", "path", "line", "message"}]}`, sorted by path, line and rule so
//! that it diffs well when committed. Format 1 differs only in the
//! fingerprints: they were taken of the pointer of the deepest part of a
//! finding's place that exists, with list indices (see
//! [`crate::eval::identity`] for today's); a format-1 baseline is matched
//! by those (recomputed from each finding), so it keeps working until it
//! is rewritten with `--write-baseline`.

use crate::report::{BaselineState, Enforcement, Report};
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use std::path::Path;

/// The format version written in `bylaw_baseline`; 1 is read too.
pub const VERSION: u32 = 2;

/// The fingerprint format 1 gave `f` ([`crate::eval::fingerprint`] of its
/// rule, path, resource, document and pointer).
fn fingerprint_v1(f: &crate::report::Finding) -> String {
    crate::eval::fingerprint(
        &format!("{0}:{0}", f.rule_id),
        &f.location.path,
        f.resource.as_deref(),
        f.document,
        &f.pointer,
    )
}

/// One baselined finding; only `fingerprint` is matched, the rest is for
/// people reading the file.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub fingerprint: String,
    pub rule: String,
    pub path: String,
    pub line: u32,
    pub message: String,
}

/// A baseline file.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Baseline {
    /// [`VERSION`].
    pub bylaw_baseline: u32,
    pub findings: Vec<Entry>,
}

/// Why a baseline file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum BaselineError {
    #[error("cannot read the baseline {path}: {message}")]
    Read { path: String, message: String },
    /// `path` is located (`FILE:LINE:COL`) where the JSON is wrong.
    #[error("{path}: not a bylaw baseline: {message}")]
    Invalid { path: String, message: String },
    #[error("cannot write the baseline {path}: {message}")]
    Write { path: String, message: String },
}

impl Baseline {
    /// The baseline of `report`: its findings that are not errors, covered
    /// by an exception or not (an exception may expire; the baseline then
    /// still holds the finding).
    pub fn of(report: &Report) -> Baseline {
        let mut findings: Vec<Entry> = report
            .findings
            .iter()
            .filter(|f| !f.rule_id.starts_with("bylaw/"))
            .map(|f| Entry {
                fingerprint: f.fingerprint.clone(),
                rule: f.rule_id.clone(),
                path: f.location.path.clone(),
                line: f.location.start_line,
                message: f.message.clone(),
            })
            .collect();
        findings.sort_by(|a, b| {
            (&a.path, a.line, &a.rule, &a.fingerprint).cmp(&(&b.path, b.line, &b.rule, &b.fingerprint))
        });
        findings.dedup_by(|a, b| a.fingerprint == b.fingerprint);
        Baseline { bylaw_baseline: VERSION, findings }
    }

    /// Reads a baseline file (`shown` names it in errors).
    pub fn read(path: &Path, shown: &str) -> Result<Baseline, BaselineError> {
        let text = crate::paths::read_text(path)
            .map_err(|e| BaselineError::Read { path: shown.to_owned(), message: e.to_string() })?;
        let b: Baseline = serde_json::from_str(&text).map_err(|e| {
            // serde's message ends with its own position: say it once, as `file:line:col`
            let message = e.to_string();
            let suffix = format!(" at line {} column {}", e.line(), e.column());
            let message = message.strip_suffix(&suffix).unwrap_or(&message).to_owned();
            BaselineError::Invalid { path: format!("{shown}:{}:{}", e.line().max(1), e.column().max(1)), message }
        })?;
        if !(1..=VERSION).contains(&b.bylaw_baseline) {
            return Err(BaselineError::Invalid {
                path: shown.to_owned(),
                message: format!("format version {} (this bylaw reads 1 to {VERSION})", b.bylaw_baseline),
            });
        }
        Ok(b)
    }

    /// Writes the baseline as pretty JSON, atomically enough for CI (a
    /// temporary file renamed over `path`).
    pub fn write(&self, path: &Path, shown: &str) -> Result<(), BaselineError> {
        let err = |e: &dyn std::fmt::Display| BaselineError::Write { path: shown.to_owned(), message: e.to_string() };
        let mut text = serde_json::to_string_pretty(self).map_err(|e| err(&e))?;
        text.push('\n');
        let tmp = path.with_extension("bylaw-tmp");
        std::fs::write(&tmp, text).map_err(|e| err(&e))?;
        std::fs::rename(&tmp, path).map_err(|e| err(&e))
    }

    /// Marks each finding of `report` `new` or `unchanged`; unchanged ones
    /// are reported at audit level with a note naming `shown`. Recounts.
    pub fn apply(&self, report: &mut Report, shown: &str) {
        let known: HashSet<&str> = self.findings.iter().map(|e| e.fingerprint.as_str()).collect();
        for f in report.findings.iter_mut() {
            if f.rule_id.starts_with("bylaw/") {
                f.baseline = Some(BaselineState::New);
                continue;
            }
            let known_v1 = || self.bylaw_baseline == 1 && known.contains(fingerprint_v1(f).as_str());
            if known.contains(f.fingerprint.as_str()) || known_v1() {
                f.baseline = Some(BaselineState::Unchanged);
                if f.enforcement != Enforcement::Audit {
                    f.notes.push(format!(
                        "in the baseline {shown}: reported at audit level (was {})",
                        f.enforcement.as_str()
                    ));
                    f.enforcement = Enforcement::Audit;
                }
            } else {
                f.baseline = Some(BaselineState::New);
            }
        }
        report.recount();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bad_baseline_is_located_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("b.json");
        std::fs::write(&path, "{\n  \"bylaw_baseline\": 1,\n  \"findings\": 3\n}\n").unwrap();
        let e = Baseline::read(&path, "b.json").unwrap_err().to_string();
        assert_eq!(e, "b.json:3:15: not a bylaw baseline: invalid type: integer `3`, expected a sequence");
        std::fs::write(&path, "").unwrap();
        let e = Baseline::read(&path, "b.json").unwrap_err().to_string();
        assert_eq!(e, "b.json:1:1: not a bylaw baseline: EOF while parsing a value");
    }
}
