//! The read queries tests and later layers (metrics, reports) start from.

use crate::RunId;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

/// One row of `runs` (the summary counts included).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunRow {
    pub id: RunId,
    pub repository: Option<String>,
    pub git_ref: Option<String>,
    pub sha: Option<String>,
    pub environment: Option<String>,
    pub platform: Option<String>,
    /// RFC 3339 UTC, whole seconds.
    pub started_at: String,
    /// `check`, `ci`, `import-json` or `import-sarif`.
    pub source: String,
    pub tool_version: String,
    /// `pass`, `fail` or `error`.
    pub verdict: String,
    pub finding_count: i64,
    pub blocking: i64,
    pub advisory: i64,
    pub audit: i64,
    pub excepted: i64,
}

/// One row of `findings` (the columns a test or a trend reads).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FindingRow {
    pub run_id: RunId,
    /// 0-based position in the report.
    pub seq: i64,
    pub fingerprint: String,
    pub rule_id: String,
    pub policy: String,
    pub severity: String,
    pub enforcement: String,
    pub path: String,
    pub start_line: i64,
    pub resource_kind: Option<String>,
    pub resource_name: Option<String>,
    pub baseline: Option<String>,
    pub exception_id: Option<String>,
    /// Approvers of the exception, in order.
    pub exception_approved_by: Vec<String>,
    pub exception_expires: Option<String>,
}

/// One row of `run_policies`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicyRow {
    pub name: String,
    pub version: Option<String>,
    pub kind: String,
    pub rule_count: i64,
}

fn list(json: Option<String>) -> Vec<String> {
    json.and_then(|j| serde_json::from_str(&j).ok()).unwrap_or_default()
}

fn run_row(r: &AnyRow) -> Result<RunRow, sqlx::Error> {
    Ok(RunRow {
        id: r.try_get("id")?,
        repository: r.try_get("repository")?,
        git_ref: r.try_get("git_ref")?,
        sha: r.try_get("sha")?,
        environment: r.try_get("environment")?,
        platform: r.try_get("platform")?,
        started_at: r.try_get("started_at")?,
        source: r.try_get("source")?,
        tool_version: r.try_get("tool_version")?,
        verdict: r.try_get("verdict")?,
        finding_count: r.try_get("finding_count")?,
        blocking: r.try_get("blocking")?,
        advisory: r.try_get("advisory")?,
        audit: r.try_get("audit")?,
        excepted: r.try_get("excepted")?,
    })
}

pub(crate) async fn runs(conn: &mut AnyConnection) -> Result<Vec<RunRow>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT id, repository, git_ref, sha, environment, platform, started_at, source, tool_version, verdict, \
         finding_count, blocking, advisory, audit, excepted FROM runs ORDER BY started_at, id",
    )
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(run_row).collect()
}

pub(crate) async fn findings(conn: &mut AnyConnection, run: RunId) -> Result<Vec<FindingRow>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT run_id, seq, fingerprint, rule_id, policy, severity, enforcement, path, start_line, resource_kind, \
         resource_name, baseline, exception_id, exception_approved_by, exception_expires \
         FROM findings WHERE run_id = $1 ORDER BY seq",
    )
    .bind(run)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(FindingRow {
                run_id: r.try_get("run_id")?,
                seq: r.try_get("seq")?,
                fingerprint: r.try_get("fingerprint")?,
                rule_id: r.try_get("rule_id")?,
                policy: r.try_get("policy")?,
                severity: r.try_get("severity")?,
                enforcement: r.try_get("enforcement")?,
                path: r.try_get("path")?,
                start_line: r.try_get("start_line")?,
                resource_kind: r.try_get("resource_kind")?,
                resource_name: r.try_get("resource_name")?,
                baseline: r.try_get("baseline")?,
                exception_id: r.try_get("exception_id")?,
                exception_approved_by: list(r.try_get("exception_approved_by")?),
                exception_expires: r.try_get("exception_expires")?,
            })
        })
        .collect()
}

pub(crate) async fn policies(conn: &mut AnyConnection, run: RunId) -> Result<Vec<PolicyRow>, sqlx::Error> {
    let rows = sqlx::query("SELECT name, version, kind, rule_count FROM run_policies WHERE run_id = $1 ORDER BY name")
        .bind(run)
        .fetch_all(&mut *conn)
        .await?;
    rows.iter()
        .map(|r| {
            Ok(PolicyRow {
                name: r.try_get("name")?,
                version: r.try_get("version")?,
                kind: r.try_get("kind")?,
                rule_count: r.try_get("rule_count")?,
            })
        })
        .collect()
}

pub(crate) async fn find_digest(conn: &mut AnyConnection, digest: &str) -> Result<Option<RunId>, sqlx::Error> {
    sqlx::query_scalar::<_, i64>("SELECT id FROM runs WHERE content_digest = $1")
        .bind(digest.to_owned())
        .fetch_optional(&mut *conn)
        .await
}

pub(crate) async fn counts(conn: &mut AnyConnection) -> Result<Vec<(&'static str, i64)>, sqlx::Error> {
    let mut out = Vec::new();
    for table in crate::schema::TABLES {
        let n: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table}")).fetch_one(&mut *conn).await?;
        out.push((*table, n));
    }
    Ok(out)
}
