//! The pipeline context `ctx` (DESIGN §6), the same shape on every platform:
//! `platform`, `repository`, `ref`, `sha`, `event`, `actor`, `environment`,
//! `changed_files`, `pr` (only when there is one), `time`.
//!
//! Here it is filled from generic environment variables, so that any CI
//! (or a developer's shell) can provide it: `BYLAW_*` first, then the
//! common variables of GitHub Actions, GitLab CI and Jenkins, then `git`.
//! The platform adapters enrich it (event payloads, API look-ups).

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::{json, Map, Value};

/// Reads environment variables (a closure, so tests need not touch the process env).
pub type Lookup<'a> = &'a dyn Fn(&str) -> Option<String>;

fn first(env: Lookup<'_>, names: &[&str]) -> Option<String> {
    names.iter().find_map(|n| env(n).filter(|v| !v.trim().is_empty()))
}

fn git(args: &[&str]) -> Option<String> {
    let out = std::process::Command::new("git").args(args).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
        .filter(|s| !s.is_empty() && s != "HEAD")
}

/// The current branch or ref name, from the environment or `git`.
pub fn branch(env: Lookup<'_>) -> Option<String> {
    first(
        env,
        &[
            "BYLAW_REF",
            "GITHUB_HEAD_REF",
            "GITHUB_REF_NAME",
            "CI_MERGE_REQUEST_SOURCE_BRANCH_NAME",
            "CI_COMMIT_REF_NAME",
            "CHANGE_BRANCH",
            "BRANCH_NAME",
            "GIT_BRANCH",
        ],
    )
    .or_else(|| git(&["rev-parse", "--abbrev-ref", "HEAD"]))
}

/// The time of the run: `BYLAW_NOW` (RFC 3339 or YYYY-MM-DD) for
/// reproducible runs, else now.
pub fn now(env: Lookup<'_>) -> Result<DateTime<Utc>, String> {
    match env("BYLAW_NOW") {
        None => Ok(Utc::now()),
        Some(s) => DateTime::parse_from_rfc3339(&s)
            .map(|d| d.with_timezone(&Utc))
            .or_else(|_| {
                NaiveDate::parse_from_str(&s, "%Y-%m-%d").map(|d| d.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc())
            })
            .map_err(|_| format!("BYLAW_NOW=`{s}` is neither RFC 3339 nor YYYY-MM-DD")),
    }
}

fn list(v: &str) -> Vec<Value> {
    v.split(['\n', ',']).map(str::trim).filter(|s| !s.is_empty()).map(|s| Value::String(s.to_owned())).collect()
}

/// Builds `ctx` from the environment.
pub fn from_env(env: Lookup<'_>, environment: Option<&str>, time: DateTime<Utc>) -> Value {
    let platform = first(env, &["BYLAW_PLATFORM"]).unwrap_or_else(|| {
        if env("GITHUB_ACTIONS").as_deref() == Some("true") {
            "github".into()
        } else if env("GITLAB_CI").is_some() {
            "gitlab".into()
        } else if env("JENKINS_URL").is_some() {
            "jenkins".into()
        } else {
            "local".into()
        }
    });
    let mut ctx = Map::new();
    ctx.insert("platform".into(), json!(platform));
    let mut put = |key: &str, v: Option<String>| {
        if let Some(v) = v {
            ctx.insert(key.into(), Value::String(v));
        }
    };
    put("repository", first(env, &["BYLAW_REPOSITORY", "GITHUB_REPOSITORY", "CI_PROJECT_PATH"]));
    put("ref", branch(env));
    put(
        "sha",
        first(env, &["BYLAW_SHA", "GITHUB_SHA", "CI_COMMIT_SHA", "GIT_COMMIT"]).or_else(|| git(&["rev-parse", "HEAD"])),
    );
    put(
        "event",
        Some(first(env, &["BYLAW_EVENT", "GITHUB_EVENT_NAME", "CI_PIPELINE_SOURCE"]).unwrap_or_else(|| "local".into())),
    );
    put("actor", first(env, &["BYLAW_ACTOR", "GITHUB_ACTOR", "GITLAB_USER_LOGIN", "CHANGE_AUTHOR", "USER"]));
    put("environment", environment.map(String::from));
    ctx.insert(
        "changed_files".into(),
        Value::Array(first(env, &["BYLAW_CHANGED_FILES"]).map(|v| list(&v)).unwrap_or_default()),
    );
    if let Some(number) = first(env, &["BYLAW_PR_NUMBER", "CI_MERGE_REQUEST_IID", "CHANGE_ID"]) {
        let mut pr = Map::new();
        pr.insert("number".into(), number.parse::<i64>().map(Value::from).unwrap_or(Value::String(number)));
        let fields: [(&str, &[&str]); 5] = [
            ("title", &["BYLAW_PR_TITLE", "CI_MERGE_REQUEST_TITLE", "CHANGE_TITLE"]),
            ("body", &["BYLAW_PR_BODY", "CI_MERGE_REQUEST_DESCRIPTION"]),
            ("author", &["BYLAW_PR_AUTHOR", "GITLAB_USER_LOGIN", "CHANGE_AUTHOR"]),
            ("base_ref", &["BYLAW_PR_BASE_REF", "CI_MERGE_REQUEST_TARGET_BRANCH_NAME", "CHANGE_TARGET"]),
            ("head_ref", &["BYLAW_PR_HEAD_REF", "CI_MERGE_REQUEST_SOURCE_BRANCH_NAME", "CHANGE_BRANCH"]),
        ];
        for (key, names) in fields {
            if let Some(v) = first(env, names) {
                pr.insert(key.into(), Value::String(v));
            }
        }
        let labels = first(env, &["BYLAW_PR_LABELS", "CI_MERGE_REQUEST_LABELS"]).map(|v| list(&v)).unwrap_or_default();
        pr.insert("labels".into(), Value::Array(labels));
        let draft = first(env, &["BYLAW_PR_DRAFT", "CI_MERGE_REQUEST_DRAFT"]).is_some_and(|v| v == "true");
        pr.insert("draft".into(), Value::Bool(draft));
        ctx.insert("pr".into(), Value::Object(pr));
    }
    ctx.insert("time".into(), json!(time.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)));
    Value::Object(ctx)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn generic_variables_fill_ctx() {
        let vars: HashMap<&str, &str> = HashMap::from([
            ("BYLAW_REF", "main"),
            ("BYLAW_SHA", "abc"),
            ("BYLAW_REPOSITORY", "acme/app"),
            ("BYLAW_CHANGED_FILES", "a.yaml\nb/c.yaml"),
            ("BYLAW_PR_NUMBER", "42"),
            ("BYLAW_PR_TITLE", "SEC-1 fix"),
            ("BYLAW_PR_LABELS", "security, prod"),
            ("BYLAW_NOW", "2026-05-01"),
        ]);
        let env = |k: &str| vars.get(k).map(|v| v.to_string());
        let t = now(&env).unwrap();
        let ctx = from_env(&env, Some("prod"), t);
        assert_eq!(ctx["ref"], "main");
        assert_eq!(ctx["repository"], "acme/app");
        assert_eq!(ctx["environment"], "prod");
        assert_eq!(ctx["changed_files"], json!(["a.yaml", "b/c.yaml"]));
        assert_eq!(ctx["pr"]["number"], 42);
        assert_eq!(ctx["pr"]["labels"], json!(["security", "prod"]));
        assert_eq!(ctx["pr"]["draft"], false);
        assert_eq!(ctx["time"], "2026-05-01T00:00:00Z");
        assert_eq!(ctx["platform"], "local");
    }

    #[test]
    fn no_pr_means_no_pr_key() {
        let env = |k: &str| (k == "BYLAW_REF").then(|| "x".to_string());
        let ctx = from_env(&env, None, Utc::now());
        assert!(ctx.get("pr").is_none());
        assert!(ctx.get("environment").is_none());
    }
}
