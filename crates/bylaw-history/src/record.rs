//! Writing one run: every row of it in one transaction ([`record`]), so a
//! run is in the store whole or not at all. Rows go in multi-row `INSERT`s
//! of a bounded number of parameters ([`max_params`]).

use crate::{format_time, RunId, RunMeta};
use bylaw_engine::report::{Finding, Report};
use sqlx::any::Any;
use sqlx::{AnyConnection, Connection, Transaction};

/// Parameters per statement. PostgreSQL allows 65,535 and binds by
/// position: large statements save round trips. SQLite allows 32,766 but
/// finds a numbered parameter (`$N`) by a linear search of the statement's
/// names, so binding costs the square of their count: in a debug build the
/// 827 findings of the 10,000-file benchmark took 540 ms in statements of
/// 400 findings and take 70 ms in statements of 250 parameters (10
/// findings); 122,000 findings take 8.7 s (500 parameters: 9.2 s, 1,000: 11.2 s).
pub(crate) fn max_params(backend: crate::Backend) -> usize {
    match backend {
        crate::Backend::Postgres => 10_000,
        crate::Backend::Sqlite => 250,
    }
}

/// A value bound to a placeholder.
enum Val {
    Text(Option<String>),
    Int(Option<i64>),
}

fn text(s: impl Into<String>) -> Val {
    Val::Text(Some(s.into()))
}

fn opt(s: Option<&str>) -> Val {
    Val::Text(s.map(str::to_owned))
}

fn int(n: impl TryInto<i64>) -> Val {
    Val::Int(Some(n.try_into().unwrap_or(i64::MAX)))
}

fn json_list(items: &[String]) -> Val {
    text(serde_json::Value::from(items.to_vec()).to_string())
}

/// `INSERT INTO table (columns) VALUES ($1, …), (…)` for `rows` rows.
fn insert_sql(table: &str, columns: &[&str], rows: usize) -> String {
    let mut sql = format!("INSERT INTO {table} ({}) VALUES ", columns.join(", "));
    let mut n = 0;
    for r in 0..rows {
        if r > 0 {
            sql.push_str(", ");
        }
        sql.push('(');
        for c in 0..columns.len() {
            n += 1;
            if c > 0 {
                sql.push_str(", ");
            }
            sql.push_str(&format!("${n}"));
        }
        sql.push(')');
    }
    sql
}

fn bind_all<'q>(
    mut q: sqlx::query::Query<'q, Any, sqlx::any::AnyArguments<'q>>,
    vals: Vec<Val>,
) -> sqlx::query::Query<'q, Any, sqlx::any::AnyArguments<'q>> {
    for v in vals {
        q = match v {
            Val::Text(t) => q.bind(t),
            Val::Int(i) => q.bind(i),
        };
    }
    q
}

/// Inserts `rows` (each `columns.len()` values) into `table`, in chunks.
async fn insert_rows(
    tx: &mut Transaction<'_, Any>,
    max_params: usize,
    table: &str,
    columns: &[&str],
    rows: Vec<Vec<Val>>,
) -> Result<(), sqlx::Error> {
    let per = (max_params / columns.len()).max(1);
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let chunk: Vec<Vec<Val>> = rows.by_ref().take(per).collect();
        let sql = insert_sql(table, columns, chunk.len());
        let q = bind_all(sqlx::query(&sql), chunk.into_iter().flatten().collect());
        q.execute(&mut **tx).await?;
    }
    Ok(())
}

const RUN_COLUMNS: &[&str] = &[
    "repository",
    "git_ref",
    "sha",
    "environment",
    "platform",
    "event",
    "actor",
    "started_at",
    "recorded_at",
    "source",
    "content_digest",
    "tool_version",
    "report_version",
    "verdict",
    "fail_on",
    "files",
    "documents",
    "policy_count",
    "rule_count",
    "finding_count",
    "blocking",
    "advisory",
    "audit",
    "excepted",
    "errors",
    "baselined",
    "scope",
];

const FINDING_COLUMNS: &[&str] = &[
    "run_id",
    "seq",
    "fingerprint",
    "rule_id",
    "policy",
    "severity",
    "enforcement",
    "message",
    "path",
    "start_line",
    "start_column",
    "end_line",
    "end_column",
    "document",
    "pointer",
    "resource_api_version",
    "resource_kind",
    "resource_namespace",
    "resource_name",
    "baseline",
    "exception_id",
    "exception_kind",
    "exception_reason",
    "exception_approved_by",
    "exception_expires",
];

fn serde_name<T: serde::Serialize>(v: &T) -> String {
    match serde_json::to_value(v) {
        Ok(serde_json::Value::String(s)) => s,
        _ => String::new(),
    }
}

fn finding_row(run: RunId, seq: usize, f: &Finding) -> Vec<Val> {
    let l = &f.location;
    let r = f.resource.as_deref();
    let e = f.exception.as_deref();
    vec![
        Val::Int(Some(run)),
        int(seq),
        text(&f.fingerprint),
        text(&f.rule_id),
        text(&f.policy),
        text(f.severity.as_str()),
        text(f.enforcement.as_str()),
        text(&f.message),
        text(&l.path),
        int(l.start_line),
        int(l.start_column),
        int(l.end_line),
        int(l.end_column),
        Val::Int(f.document.map(i64::from)),
        text(&f.pointer),
        opt(r.and_then(|r| r.api_version.as_deref())),
        opt(r.and_then(|r| r.kind.as_deref())),
        opt(r.and_then(|r| r.namespace.as_deref())),
        opt(r.and_then(|r| r.name.as_deref())),
        Val::Text(f.baseline.map(|b| serde_name(&b))),
        opt(e.map(|e| e.id.as_str())),
        opt(e.map(|e| e.kind.as_str())),
        opt(e.map(|e| e.reason.as_str())),
        match e {
            Some(e) => json_list(&e.approved_by),
            None => Val::Text(None),
        },
        opt(e.and_then(|e| e.expires.as_deref())),
    ]
}

/// Writes the run and all its rows in one transaction; returns its id.
pub(crate) async fn record(
    conn: &mut AnyConnection,
    max_params: usize,
    report: &Report,
    meta: &RunMeta,
) -> Result<RunId, sqlx::Error> {
    let mut tx = conn.begin().await?;
    let s = &report.summary;
    let environment = report.environment.clone().or_else(|| meta.environment.clone());
    let run_vals = vec![
        // one name per repository, whichever way the run named it
        Val::Text(meta.repository.as_deref().and_then(crate::repository::normalize)),
        opt(meta.git_ref.as_deref()),
        opt(meta.sha.as_deref()),
        Val::Text(environment),
        opt(meta.platform.as_deref()),
        opt(meta.event.as_deref()),
        opt(meta.actor.as_deref()),
        text(format_time(meta.time)),
        text(format_time(bylaw_engine::chrono::Utc::now())),
        text(meta.source.as_str()),
        opt(meta.content_digest.as_deref()),
        text(&report.tool.version),
        text(&report.version),
        text(serde_name(&report.verdict)),
        text(serde_name(&report.fail_on)),
        int(s.files),
        int(s.documents),
        int(s.policies),
        int(s.rules),
        int(s.findings),
        int(s.blocking),
        int(s.advisory),
        int(s.audit),
        int(s.excepted),
        int(s.errors),
        int(s.baselined),
        Val::Text(meta.scope.as_ref().filter(|s| !s.whole()).and_then(|s| serde_json::to_string(s).ok())),
    ];
    let sql = format!("{} RETURNING id", insert_sql("runs", RUN_COLUMNS, 1));
    let mut q = sqlx::query_scalar::<Any, i64>(&sql);
    for v in run_vals {
        q = match v {
            Val::Text(t) => q.bind(t),
            Val::Int(i) => q.bind(i),
        };
    }
    let run: RunId = q.fetch_one(&mut *tx).await?;

    let policies = report
        .policies
        .iter()
        .map(|p| {
            vec![
                Val::Int(Some(run)),
                text(&p.name),
                opt(p.version.as_deref()),
                text(&p.kind),
                opt(Some(p.lifecycle.as_str()).filter(|s| !s.is_empty())),
                opt(Some(p.source.as_str()).filter(|s| !s.is_empty())),
                json_list(&p.owners),
                int(p.rules.len()),
            ]
        })
        .collect();
    let cols = &["run_id", "name", "version", "kind", "lifecycle", "source", "owners", "rule_count"];
    insert_rows(&mut tx, max_params, "run_policies", cols, policies).await?;

    let rules = report
        .rules
        .iter()
        .map(|r| {
            vec![
                Val::Int(Some(run)),
                text(&r.id),
                text(&r.policy),
                text(&r.title),
                text(r.severity.as_str()),
                text(r.enforcement.as_str()),
                text(&r.kind),
                json_list(&r.controls),
            ]
        })
        .collect();
    let cols = &["run_id", "rule_id", "policy", "title", "severity", "enforcement", "kind", "controls"];
    insert_rows(&mut tx, max_params, "run_rules", cols, rules).await?;

    let findings = report.findings.iter().enumerate().map(|(i, f)| finding_row(run, i, f)).collect();
    insert_rows(&mut tx, max_params, "findings", FINDING_COLUMNS, findings).await?;

    let exceptions = report
        .exceptions
        .iter()
        .map(|e| {
            vec![
                Val::Int(Some(run)),
                text(&e.id),
                text(e.status.as_str()),
                text(&e.source),
                json_list(&e.rules),
                text(&e.reason),
                opt(e.ticket.as_deref()),
                json_list(&e.approved_by),
                opt(e.expires.as_deref()),
                int(e.matched),
            ]
        })
        .collect();
    let cols = &[
        "run_id",
        "exception_id",
        "status",
        "source",
        "rules",
        "reason",
        "ticket",
        "approved_by",
        "expires",
        "matched",
    ];
    insert_rows(&mut tx, max_params, "run_exceptions", cols, exceptions).await?;
    tx.commit().await?;
    Ok(run)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbered_placeholders_for_every_row() {
        assert_eq!(insert_sql("t", &["a", "b"], 2), "INSERT INTO t (a, b) VALUES ($1, $2), ($3, $4)");
    }
}
