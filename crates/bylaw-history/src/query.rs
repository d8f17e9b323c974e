//! The read queries tests and later layers (metrics, reports) start from.

use crate::{RunId, RunScope};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};
use std::collections::HashMap;

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
    /// Files evaluated.
    pub files: i64,
    /// Documents (resources) evaluated.
    pub documents: i64,
    /// Findings matched by the baseline.
    pub baselined: i64,
    /// What the run evaluated; `None`: the whole repository (and runs
    /// recorded before schema version 2, imports, an unreadable value).
    pub scope: Option<RunScope>,
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
        files: r.try_get("files")?,
        documents: r.try_get("documents")?,
        baselined: r.try_get("baselined")?,
        scope: r
            .try_get::<Option<String>, _>("scope")?
            .and_then(|j| serde_json::from_str::<RunScope>(&j).ok())
            .filter(|s| !s.whole()),
    })
}

pub(crate) async fn runs(conn: &mut AnyConnection) -> Result<Vec<RunRow>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT id, repository, git_ref, sha, environment, platform, started_at, source, tool_version, verdict, \
         finding_count, blocking, advisory, audit, excepted, files, documents, baselined, scope FROM runs \
         ORDER BY started_at, id",
    )
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(run_row).collect()
}

const FINDING_SELECT: &str = "SELECT f.run_id, f.seq, f.fingerprint, f.rule_id, f.policy, f.severity, f.enforcement, \
     f.path, f.start_line, f.resource_kind, f.resource_name, f.baseline, f.exception_id, f.exception_approved_by, \
     f.exception_expires FROM findings f";

fn finding_row(r: &AnyRow) -> Result<FindingRow, sqlx::Error> {
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
}

pub(crate) async fn findings(conn: &mut AnyConnection, run: RunId) -> Result<Vec<FindingRow>, sqlx::Error> {
    let rows = sqlx::query(&format!("{FINDING_SELECT} WHERE f.run_id = $1 ORDER BY f.seq"))
        .bind(run)
        .fetch_all(&mut *conn)
        .await?;
    rows.iter().map(finding_row).collect()
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

/// Which runs a window query reads: every given filter must hold
/// (`None` = no filter). Times compare as the RFC 3339 UTC text the store
/// keeps (whole seconds, `Z`), so give them in that form
/// ([`crate::format_time`]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RunFilter {
    /// Runs at or after this time.
    pub since: Option<String>,
    /// Runs at or before this time.
    pub until: Option<String>,
    pub environment: Option<String>,
    /// The repository: `owner/name` or a remote URL, matching the runs
    /// whose recorded name is the same once normalized, in any case
    /// ([`crate::repository::same`]).
    pub repository: Option<String>,
    /// The ref as recorded; `main` also matches `refs/heads/main` and the
    /// other way round.
    pub git_ref: Option<String>,
}

impl RunFilter {
    /// `WHERE …` over the runs table aliased `r` (empty when no filter),
    /// and the values of its `$N` placeholders in order. `repositories`:
    /// the stored names the repository filter matches.
    fn sql(&self, repositories: &[String]) -> (String, Vec<String>) {
        let mut clauses = Vec::new();
        let mut vals: Vec<String> = Vec::new();
        let mut push = |clause: &str, vals_here: Vec<String>| {
            let mut c = clause.to_owned();
            for v in vals_here {
                vals.push(v);
                c = c.replacen('?', &format!("${}", vals.len()), 1);
            }
            clauses.push(c);
        };
        if let Some(v) = &self.since {
            push("r.started_at >= ?", vec![v.clone()]);
        }
        if let Some(v) = &self.until {
            push("r.started_at <= ?", vec![v.clone()]);
        }
        if let Some(v) = &self.environment {
            push("r.environment = ?", vec![v.clone()]);
        }
        if self.repository.is_some() {
            if repositories.is_empty() {
                push("1 = 0", vec![]);
            } else {
                let marks = vec!["?"; repositories.len()].join(", ");
                push(&format!("r.repository IN ({marks})"), repositories.to_vec());
            }
        }
        if let Some(v) = &self.git_ref {
            let other = match v.strip_prefix("refs/heads/") {
                Some(short) => short.to_owned(),
                None => format!("refs/heads/{v}"),
            };
            push("(r.git_ref = ? OR r.git_ref = ?)", vec![v.clone(), other]);
        }
        if clauses.is_empty() {
            (String::new(), vals)
        } else {
            (format!(" WHERE {}", clauses.join(" AND ")), vals)
        }
    }
}

/// One row of `run_rules`: a rule a run evaluated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuleRow {
    pub run_id: RunId,
    pub rule_id: String,
    pub policy: String,
    pub title: String,
    pub severity: String,
    pub enforcement: String,
    pub kind: String,
    /// Control ids (`SOC2-CC6.1`, …), in the policy's order.
    pub controls: Vec<String>,
}

/// One row of `run_exceptions`: an exception of a run's list and its status then.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExceptionRow {
    pub run_id: RunId,
    pub exception_id: String,
    /// `active`, `expiring`, `expired`, `stale` or `rejected`.
    pub status: String,
    /// `file:line` where it is written.
    pub source: String,
    pub rules: Vec<String>,
    pub reason: String,
    pub ticket: Option<String>,
    pub approved_by: Vec<String>,
    /// `YYYY-MM-DD`.
    pub expires: Option<String>,
    /// Findings it covered in that run.
    pub matched: i64,
}

/// Everything recorded about the runs a [`RunFilter`] selects, read with
/// one query per table.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Window {
    /// Oldest first (time, then id).
    pub runs: Vec<RunRow>,
    /// By run id, then the report's order.
    pub findings: Vec<FindingRow>,
    /// By run id, then rule id.
    pub rules: Vec<RuleRow>,
    /// By run id, then exception id.
    pub exceptions: Vec<ExceptionRow>,
    /// (run id, policy), by run id then name.
    pub policies: Vec<(RunId, PolicyRow)>,
}

fn bind_all<'q>(
    mut q: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
    vals: &[String],
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
    for v in vals {
        q = q.bind(v.clone());
    }
    q
}

/// Every stored repository name with its one name in reports: the
/// [`crate::repository::normalize`]d form of the most recently used of the
/// names that are the same in any case (`Acme/App` recorded last names
/// `acme/app` and `https://github.com/acme/app.git` runs too).
async fn repository_names(conn: &mut AnyConnection) -> Result<HashMap<String, String>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT repository, MAX(started_at) AS latest FROM runs WHERE repository IS NOT NULL GROUP BY repository",
    )
    .fetch_all(&mut *conn)
    .await?;
    let mut stored: Vec<(String, String)> = rows
        .iter()
        .map(|r| Ok((r.try_get("repository")?, r.try_get("latest")?)))
        .collect::<Result<_, sqlx::Error>>()?;
    // oldest first, so the newest use of a group wins
    stored.sort_by(|a, b| (&a.1, &a.0).cmp(&(&b.1, &b.0)));
    let mut group: HashMap<String, String> = HashMap::new();
    for (raw, _) in &stored {
        let name = crate::repository::normalize(raw).unwrap_or_else(|| raw.clone());
        group.insert(name.to_lowercase(), name);
    }
    Ok(stored
        .into_iter()
        .map(|(raw, _)| {
            let name = crate::repository::normalize(&raw).unwrap_or_else(|| raw.clone());
            let shown = group.get(&name.to_lowercase()).cloned().unwrap_or(name);
            (raw, shown)
        })
        .collect())
}

pub(crate) async fn window(conn: &mut AnyConnection, filter: &RunFilter) -> Result<Window, sqlx::Error> {
    let names = repository_names(&mut *conn).await?;
    let mut matching: Vec<String> = match &filter.repository {
        Some(wanted) => names.keys().filter(|raw| crate::repository::same(raw, wanted)).cloned().collect(),
        None => Vec::new(),
    };
    matching.sort();
    let (filter_sql, vals) = filter.sql(&matching);
    let runs_sql = format!(
        "SELECT r.id, r.repository, r.git_ref, r.sha, r.environment, r.platform, r.started_at, r.source, \
         r.tool_version, r.verdict, r.finding_count, r.blocking, r.advisory, r.audit, r.excepted, r.files, \
         r.documents, r.baselined, r.scope FROM runs r{filter_sql} ORDER BY r.started_at, r.id"
    );
    let runs = bind_all(sqlx::query(&runs_sql), &vals).fetch_all(&mut *conn).await?;
    let mut runs = runs.iter().map(run_row).collect::<Result<Vec<_>, _>>()?;
    for r in &mut runs {
        if let Some(shown) = r.repository.as_ref().and_then(|raw| names.get(raw)) {
            r.repository = Some(shown.clone());
        }
    }

    let findings_sql = format!("{FINDING_SELECT} JOIN runs r ON r.id = f.run_id{filter_sql} ORDER BY f.run_id, f.seq");
    let findings = bind_all(sqlx::query(&findings_sql), &vals).fetch_all(&mut *conn).await?;
    let findings = findings.iter().map(finding_row).collect::<Result<Vec<_>, _>>()?;

    let rules_sql = format!(
        "SELECT x.run_id, x.rule_id, x.policy, x.title, x.severity, x.enforcement, x.kind, x.controls \
         FROM run_rules x JOIN runs r ON r.id = x.run_id{filter_sql} ORDER BY x.run_id, x.rule_id"
    );
    let rules = bind_all(sqlx::query(&rules_sql), &vals).fetch_all(&mut *conn).await?;
    let rules = rules
        .iter()
        .map(|r| {
            Ok(RuleRow {
                run_id: r.try_get("run_id")?,
                rule_id: r.try_get("rule_id")?,
                policy: r.try_get("policy")?,
                title: r.try_get("title")?,
                severity: r.try_get("severity")?,
                enforcement: r.try_get("enforcement")?,
                kind: r.try_get("kind")?,
                controls: list(r.try_get("controls")?),
            })
        })
        .collect::<Result<Vec<_>, sqlx::Error>>()?;

    let exceptions_sql = format!(
        "SELECT x.run_id, x.exception_id, x.status, x.source, x.rules, x.reason, x.ticket, x.approved_by, \
         x.expires, x.matched FROM run_exceptions x JOIN runs r ON r.id = x.run_id{filter_sql} \
         ORDER BY x.run_id, x.exception_id"
    );
    let exceptions = bind_all(sqlx::query(&exceptions_sql), &vals).fetch_all(&mut *conn).await?;
    let exceptions = exceptions
        .iter()
        .map(|r| {
            Ok(ExceptionRow {
                run_id: r.try_get("run_id")?,
                exception_id: r.try_get("exception_id")?,
                status: r.try_get("status")?,
                source: r.try_get("source")?,
                rules: list(r.try_get("rules")?),
                reason: r.try_get("reason")?,
                ticket: r.try_get("ticket")?,
                approved_by: list(r.try_get("approved_by")?),
                expires: r.try_get("expires")?,
                matched: r.try_get("matched")?,
            })
        })
        .collect::<Result<Vec<_>, sqlx::Error>>()?;

    let policies_sql = format!(
        "SELECT x.run_id, x.name, x.version, x.kind, x.rule_count FROM run_policies x \
         JOIN runs r ON r.id = x.run_id{filter_sql} ORDER BY x.run_id, x.name"
    );
    let policies = bind_all(sqlx::query(&policies_sql), &vals).fetch_all(&mut *conn).await?;
    let policies = policies
        .iter()
        .map(|r| {
            Ok((
                r.try_get("run_id")?,
                PolicyRow {
                    name: r.try_get("name")?,
                    version: r.try_get("version")?,
                    kind: r.try_get("kind")?,
                    rule_count: r.try_get("rule_count")?,
                },
            ))
        })
        .collect::<Result<Vec<_>, sqlx::Error>>()?;
    Ok(Window { runs, findings, rules, exceptions, policies })
}

#[cfg(test)]
mod filter_tests {
    use super::RunFilter;

    #[test]
    fn placeholders_are_numbered_in_order_and_refs_match_both_forms() {
        let f = RunFilter {
            since: Some("2026-01-01T00:00:00Z".into()),
            git_ref: Some("main".into()),
            ..RunFilter::default()
        };
        let (sql, vals) = f.sql(&[]);
        assert_eq!(sql, " WHERE r.started_at >= $1 AND (r.git_ref = $2 OR r.git_ref = $3)");
        assert_eq!(vals, ["2026-01-01T00:00:00Z", "main", "refs/heads/main"]);
        assert_eq!(RunFilter::default().sql(&[]), (String::new(), vec![]));
        let f = RunFilter { repository: Some("acme/app".into()), environment: Some("prod".into()), ..f };
        let (sql, vals) = f.sql(&["acme/app".into(), "https://github.com/Acme/App.git".into()]);
        assert_eq!(
            sql,
            " WHERE r.started_at >= $1 AND r.environment = $2 AND r.repository IN ($3, $4) \
             AND (r.git_ref = $5 OR r.git_ref = $6)"
        );
        assert_eq!(vals[2..4], ["acme/app", "https://github.com/Acme/App.git"]);
        let (sql, _) = f.sql(&[]);
        assert!(sql.contains(" AND 1 = 0 AND "), "{sql}");
    }
}
