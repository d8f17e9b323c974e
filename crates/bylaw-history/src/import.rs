//! `bylaw history import`: earlier runs read back from the files bylaw
//! wrote — the JSON report (`--format json`, `schemas/report.schema.json`,
//! any 1.x version) and the SARIF 2.1.0 log (`--format sarif`, written by
//! `bylaw_report::sarif`) — as a [`Report`] to record with [`crate::Store::record`].
//!
//! From SARIF, what bylaw writes is read back: rule descriptors (title,
//! `bylaw/severity`, `bylaw/enforcement`, the tags `KIND`, `policy:NAME`
//! and controls), each result's rule id, level-independent `severity` and
//! `enforcement` properties, location (the URI percent-decoded), `pointer`,
//! `document`, `resource`, `notes`, the `bylaw/v1` partial fingerprint,
//! `baselineState` and the accepted suppression (exception id, reason,
//! approvers, expiry), and the run's `verdict`, `summary` and `environment`
//! properties. SARIF carries no policy versions: an imported SARIF run's
//! policies have none. A run of `bylaw validate` (`bylaw-validate/`) or
//! of another tool is refused.
//!
//! Neither format holds where or when the run was: [`FileMeta`] is what
//! the file says (SARIF's `versionControlProvenance` and an invocation's
//! `startTimeUtc`, when a tool added them); the caller fills the rest.

use crate::{HistoryError, RunSource};
use bylaw_engine::chrono::{DateTime, Utc};
use bylaw_engine::report::{
    AppliedException, BaselineState, Enforcement, FailOn, Finding, Location, PolicyInfo, Report, Resource, RuleInfo,
    Severity, Summary, ToolInfo, Verdict,
};
use serde_json::Value;
use sha2::{Digest, Sha256};

/// A file read back: the run's report and what the file says of the run.
#[derive(Debug)]
pub struct Imported {
    pub report: Report,
    pub meta: FileMeta,
    /// [`RunSource::ImportJson`] or [`RunSource::ImportSarif`].
    pub source: RunSource,
    /// Hex SHA-256 of the file's bytes.
    pub digest: String,
}

/// Run metadata found in the file itself.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct FileMeta {
    pub repository: Option<String>,
    pub git_ref: Option<String>,
    pub sha: Option<String>,
    pub time: Option<DateTime<Utc>>,
}

/// Reads a bylaw JSON report or SARIF log (`name` is how errors name the file).
///
/// # Errors
/// [`HistoryError::Import`]: not JSON, neither format, a report version
/// this bylaw does not read, a SARIF run not written by bylaw's `check`,
/// or a result missing what bylaw writes (named by its index).
pub fn read(bytes: &[u8], name: &str) -> Result<Imported, HistoryError> {
    let err = |message: String| HistoryError::Import { file: name.to_owned(), message };
    let value: Value = serde_json::from_slice(bytes).map_err(|e| err(format!("not JSON: {e}")))?;
    let digest = hex(&Sha256::digest(bytes));
    if value.get("runs").is_some() && value.get("version").and_then(Value::as_str) == Some("2.1.0") {
        let (report, meta) = from_sarif(&value).map_err(err)?;
        return Ok(Imported { report, meta, source: RunSource::ImportSarif, digest });
    }
    if value.get("tool").is_some() && value.get("verdict").is_some() {
        let version = value.get("version").and_then(Value::as_str).unwrap_or("");
        if version.split('.').next() != Some("1") {
            return Err(err(format!(
                "a bylaw JSON report of version `{version}`: this bylaw reads version 1.x (schemas/report.schema.json)"
            )));
        }
        let report: Report = serde_json::from_value(value).map_err(|e| err(format!("not a bylaw JSON report: {e}")))?;
        return Ok(Imported { report, meta: FileMeta::default(), source: RunSource::ImportJson, digest });
    }
    Err(err("neither a bylaw JSON report (`--format json`) nor a SARIF 2.1.0 log (`--format sarif`)".into()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The digest that keys an import: the file's and the metadata it is
/// recorded with, so the same file imported twice with the same flags is
/// one run, and with another repository or time another.
pub fn import_digest(file_digest: &str, meta: &crate::RunMeta) -> String {
    let mut h = Sha256::new();
    for part in [
        Some(file_digest),
        meta.repository.as_deref(),
        meta.git_ref.as_deref(),
        meta.sha.as_deref(),
        meta.environment.as_deref(),
        Some(&crate::format_time(meta.time)[..]),
    ] {
        h.update(part.unwrap_or("").as_bytes());
        h.update([0u8]);
    }
    hex(&h.finalize())
}

fn str_at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a str> {
    path.iter().try_fold(v, |v, k| v.get(k))?.as_str()
}

fn parse_enum<T: serde::de::DeserializeOwned>(s: &str) -> Option<T> {
    serde_json::from_value(Value::String(s.to_owned())).ok()
}

/// Percent-decoding of a SARIF artifact URI (bylaw encodes what RFC 3986 reserves).
fn decode_uri(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            if let Some(b) = s.get(i + 1..i + 3).and_then(|h| u8::from_str_radix(h, 16).ok()) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn from_sarif(log: &Value) -> Result<(Report, FileMeta), String> {
    let runs = log.get("runs").and_then(Value::as_array).ok_or("SARIF without `runs`")?;
    let [run] = runs.as_slice() else {
        return Err(format!("a SARIF log with {} runs: bylaw writes one", runs.len()));
    };
    let driver = run.pointer("/tool/driver").ok_or("SARIF run without `tool.driver`")?;
    let tool = str_at(driver, &["name"]).unwrap_or("");
    if tool != "bylaw" {
        return Err(format!("a SARIF run of `{tool}`: only bylaw's own SARIF is imported"));
    }
    let category = str_at(run, &["automationDetails", "id"]).unwrap_or("");
    if category.starts_with("bylaw-validate") {
        return Err("the SARIF of `bylaw validate` holds no run to record".into());
    }
    let props = run.get("properties").cloned().unwrap_or(Value::Null);
    let succeeded = run.pointer("/invocations/0/executionSuccessful").and_then(Value::as_bool).unwrap_or(true);

    // a run that stopped before evaluating (exit 2): its results are the
    // problems, not findings
    if !succeeded {
        let problems = run.get("results").and_then(Value::as_array).map_or(0, Vec::len);
        let version = str_at(driver, &["version"]).unwrap_or("").to_owned();
        let report = Report {
            version: bylaw_engine::report::REPORT_VERSION.to_owned(),
            tool: ToolInfo { version, ..ToolInfo::default() },
            environment: None,
            fail_on: FailOn::default(),
            verdict: Verdict::Error,
            summary: Summary { errors: problems, ..Summary::default() },
            policies: Vec::new(),
            rules: Vec::new(),
            findings: Vec::new(),
            exceptions: Vec::new(),
            errors: Vec::new(),
        };
        return Ok((report, provenance(run)));
    }

    // rules
    let mut rules = Vec::new();
    for (i, d) in driver.get("rules").and_then(Value::as_array).into_iter().flatten().enumerate() {
        let at = |what: &str| format!("rule {i} (`tool.driver.rules[{i}]`): no {what}");
        let id = str_at(d, &["id"]).ok_or_else(|| at("id"))?.to_owned();
        let tags: Vec<String> = d
            .pointer("/properties/tags")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).map(str::to_owned).collect())
            .unwrap_or_default();
        let policy = tags.iter().find_map(|t| t.strip_prefix("policy:")).unwrap_or("").to_owned();
        let kind = tags.first().filter(|t| !t.starts_with("policy:")).cloned().unwrap_or_default();
        let controls: Vec<String> = match d.pointer("/properties/bylaw~1controls").and_then(Value::as_array) {
            Some(all) => all.iter().filter_map(Value::as_str).map(str::to_owned).collect(),
            None => tags.iter().skip(2).cloned().collect(),
        };
        let severity = d
            .pointer("/properties/bylaw~1severity")
            .and_then(Value::as_str)
            .and_then(parse_enum::<Severity>)
            .ok_or_else(|| at("`bylaw/severity` property"))?;
        let enforcement = d
            .pointer("/properties/bylaw~1enforcement")
            .and_then(Value::as_str)
            .and_then(parse_enum::<Enforcement>)
            .ok_or_else(|| at("`bylaw/enforcement` property"))?;
        let title = str_at(d, &["shortDescription", "text"]).unwrap_or(&id).to_owned();
        let description = str_at(d, &["fullDescription", "text"]).filter(|t| *t != title).map(str::to_owned);
        rules.push(RuleInfo {
            id,
            policy,
            title,
            severity,
            enforcement,
            description,
            remediation: None,
            controls,
            kind,
        });
    }

    // results
    let mut findings = Vec::new();
    for (i, r) in run.get("results").and_then(Value::as_array).into_iter().flatten().enumerate() {
        let at = |what: &str| format!("result {i} (`runs[0].results[{i}]`): no {what}");
        let p = r.get("properties").cloned().unwrap_or(Value::Null);
        let rule_id = str_at(r, &["ruleId"]).ok_or_else(|| at("ruleId"))?.to_owned();
        let fingerprint = r
            .pointer("/partialFingerprints/bylaw~1v1")
            .and_then(Value::as_str)
            .ok_or_else(|| at("`bylaw/v1` partial fingerprint"))?
            .to_owned();
        let severity =
            str_at(&p, &["severity"]).and_then(parse_enum::<Severity>).ok_or_else(|| at("`severity` property"))?;
        let enforcement = str_at(&p, &["enforcement"])
            .and_then(parse_enum::<Enforcement>)
            .ok_or_else(|| at("`enforcement` property"))?;
        let policy = str_at(&p, &["policy"]).ok_or_else(|| at("`policy` property"))?.to_owned();
        let physical = r.pointer("/locations/0/physicalLocation").ok_or_else(|| at("location"))?;
        let uri = str_at(physical, &["artifactLocation", "uri"]).ok_or_else(|| at("artifact URI"))?;
        let path = match uri.strip_prefix("file://") {
            Some(abs) => decode_uri(abs),
            None => decode_uri(uri),
        };
        let num = |k: &str| physical.pointer(&format!("/region/{k}")).and_then(Value::as_u64).unwrap_or(1) as u32;
        let location = Location {
            path,
            start_line: num("startLine"),
            start_column: num("startColumn"),
            end_line: num("endLine"),
            end_column: num("endColumn"),
        };
        let resource =
            p.get("resource").and_then(|v| serde_json::from_value::<Resource>(v.clone()).ok()).map(std::sync::Arc::new);
        let notes = p
            .get("notes")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).map(str::to_owned).collect())
            .unwrap_or_default();
        let baseline = r.get("baselineState").and_then(Value::as_str).and_then(parse_enum::<BaselineState>);
        let exception = r.pointer("/suppressions/0").map(|s| {
            let sp = s.get("properties").cloned().unwrap_or(Value::Null);
            let id = str_at(&sp, &["exception"]).unwrap_or("").to_owned();
            let justification = str_at(s, &["justification"]).unwrap_or("");
            // bylaw writes `REASON (ID)`
            let reason = justification.strip_suffix(&format!(" ({id})")).unwrap_or(justification).to_owned();
            Box::new(AppliedException {
                id,
                reason,
                kind: str_at(s, &["kind"]).unwrap_or("external").to_owned(),
                approved_by: sp
                    .get("approvedBy")
                    .and_then(Value::as_array)
                    .map(|a| a.iter().filter_map(Value::as_str).map(str::to_owned).collect())
                    .unwrap_or_default(),
                expires: str_at(&sp, &["expires"]).map(str::to_owned),
            })
        });
        findings.push(Finding {
            rule_id,
            policy,
            severity,
            enforcement,
            message: str_at(r, &["message", "text"]).unwrap_or("").to_owned(),
            location,
            document: p.get("document").and_then(Value::as_u64).map(|d| d as u32),
            pointer: str_at(&p, &["pointer"]).unwrap_or("").to_owned(),
            resource,
            fingerprint,
            notes,
            exception,
            baseline,
        });
    }

    // the policies the rules name (SARIF has no versions)
    let mut policies: Vec<PolicyInfo> = Vec::new();
    for rule in &rules {
        if rule.policy.is_empty() {
            continue;
        }
        match policies.iter_mut().find(|p| p.name == rule.policy) {
            Some(p) => p.rules.push(rule.id.clone()),
            None => policies.push(PolicyInfo {
                name: rule.policy.clone(),
                version: None,
                kind: rule.kind.clone(),
                lifecycle: String::new(),
                description: None,
                source: String::new(),
                owners: Vec::new(),
                rules: vec![rule.id.clone()],
                targets: Vec::new(),
            }),
        }
    }
    policies.sort_by(|a, b| a.name.cmp(&b.name));

    let verdict = match props.get("verdict").and_then(Value::as_str).and_then(parse_enum::<Verdict>) {
        Some(v) => v,
        None if !succeeded => Verdict::Error,
        None => return Err("the SARIF run has no `verdict` property: not written by `bylaw check`".into()),
    };
    let mut summary: Summary =
        props.get("summary").and_then(|s| serde_json::from_value(s.clone()).ok()).unwrap_or_default();
    if props.get("summary").is_none() {
        summary.findings = findings.len();
    }
    let version = str_at(driver, &["version"]).unwrap_or("").to_owned();
    let report = Report {
        version: bylaw_engine::report::REPORT_VERSION.to_owned(),
        tool: ToolInfo { version, ..ToolInfo::default() },
        environment: props.get("environment").and_then(Value::as_str).map(str::to_owned),
        fail_on: FailOn::default(),
        verdict,
        summary,
        policies,
        rules,
        findings,
        exceptions: Vec::new(),
        errors: Vec::new(),
    };
    Ok((report, provenance(run)))
}

/// What a SARIF run says of where and when it ran (`versionControlProvenance`,
/// the first invocation's `startTimeUtc`), when a tool added it.
fn provenance(run: &Value) -> FileMeta {
    let vcp = run.pointer("/versionControlProvenance/0");
    FileMeta {
        repository: vcp.and_then(|v| str_at(v, &["repositoryUri"])).map(str::to_owned),
        git_ref: vcp.and_then(|v| str_at(v, &["branch"])).map(str::to_owned),
        sha: vcp.and_then(|v| str_at(v, &["revisionId"])).map(str::to_owned),
        time: run
            .pointer("/invocations/0/startTimeUtc")
            .and_then(Value::as_str)
            .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
            .map(|t| t.with_timezone(&Utc)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_what_it_cannot_read() {
        let e = |b: &str| read(b.as_bytes(), "f.json").unwrap_err().to_string();
        assert!(e("{").starts_with("f.json: not JSON: "));
        assert_eq!(
            e("{\"a\":1}"),
            "f.json: neither a bylaw JSON report (`--format json`) nor a SARIF 2.1.0 log (`--format sarif`)"
        );
        assert_eq!(
            e(r#"{"version":"2.0","tool":{},"verdict":"pass"}"#),
            "f.json: a bylaw JSON report of version `2.0`: this bylaw reads version 1.x (schemas/report.schema.json)"
        );
        assert_eq!(
            e(r#"{"version":"2.1.0","runs":[{"tool":{"driver":{"name":"checkov"}}}]}"#),
            "f.json: a SARIF run of `checkov`: only bylaw's own SARIF is imported"
        );
    }

    #[test]
    fn uris_are_decoded() {
        assert_eq!(decode_uri("deploy/my%20app%25.yaml"), "deploy/my app%.yaml");
        assert_eq!(decode_uri("bad%zz"), "bad%zz");
    }
}
