//! The pipeline context from generic environment variables, so that any CI
//! (or a developer's shell) can provide it: `BYLAW_*` first, then the
//! common variables of GitHub Actions, GitLab CI and Jenkins, then `git`.
//! The platform adapters put their own facts on top (event payloads, API
//! look-ups). The engine reads none of this: it is handed a
//! [`PipelineContext`].

use bylaw_engine::chrono::{self, DateTime, NaiveDate, Utc};
use bylaw_engine::context::{ChangeNumber, ChangeRequest, PipelineContext};

/// Reads environment variables (a closure, so tests need not touch the process env).
pub type Lookup<'a> = &'a dyn Fn(&str) -> Option<String>;

/// The process environment as a [`Lookup`].
pub fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

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
/// reproducible runs, else now. `Err` names the variable's bad value.
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

/// Where Markdown links to a finding's line point: the commit's file view
/// on GitHub (`GITHUB_SERVER_URL/GITHUB_REPOSITORY/blob/GITHUB_SHA/`) or
/// GitLab (`CI_PROJECT_URL/-/blob/CI_COMMIT_SHA/`), else relative to the
/// project root (right for a Markdown file kept in the repository).
pub fn link_base(env: Lookup<'_>) -> String {
    let var = |k: &str| env(k).filter(|v| !v.is_empty());
    if let (Some(server), Some(repo), Some(sha)) =
        (var("GITHUB_SERVER_URL"), var("GITHUB_REPOSITORY"), var("GITHUB_SHA"))
    {
        return format!("{}/{repo}/blob/{sha}/", server.trim_end_matches('/'));
    }
    if let (Some(project), Some(sha)) = (var("CI_PROJECT_URL"), var("CI_COMMIT_SHA")) {
        return format!("{}/-/blob/{sha}/", project.trim_end_matches('/'));
    }
    String::new()
}

/// `a, b` or one per line.
fn list(v: &str) -> Vec<String> {
    v.split(['\n', ',']).map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect()
}

/// The context from generic variables (DESIGN §6).
pub fn from_env(env: Lookup<'_>, environment: Option<&str>, time: DateTime<Utc>) -> PipelineContext {
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
    let pr = first(env, &["BYLAW_PR_NUMBER", "CI_MERGE_REQUEST_IID", "CHANGE_ID"]).map(|number| ChangeRequest {
        number: ChangeNumber::from(number.as_str()),
        title: first(env, &["BYLAW_PR_TITLE", "CI_MERGE_REQUEST_TITLE", "CHANGE_TITLE"]),
        body: first(env, &["BYLAW_PR_BODY", "CI_MERGE_REQUEST_DESCRIPTION"]),
        author: first(env, &["BYLAW_PR_AUTHOR", "GITLAB_USER_LOGIN", "CHANGE_AUTHOR"]),
        base_ref: first(env, &["BYLAW_PR_BASE_REF", "CI_MERGE_REQUEST_TARGET_BRANCH_NAME", "CHANGE_TARGET"]),
        head_ref: first(env, &["BYLAW_PR_HEAD_REF", "CI_MERGE_REQUEST_SOURCE_BRANCH_NAME", "CHANGE_BRANCH"]),
        labels: first(env, &["BYLAW_PR_LABELS", "CI_MERGE_REQUEST_LABELS"]).map(|v| list(&v)).unwrap_or_default(),
        draft: first(env, &["BYLAW_PR_DRAFT", "CI_MERGE_REQUEST_DRAFT"]).is_some_and(|v| v == "true"),
    });
    PipelineContext {
        platform,
        repository: first(env, &["BYLAW_REPOSITORY", "GITHUB_REPOSITORY", "CI_PROJECT_PATH"]),
        git_ref: branch(env),
        sha: first(env, &["BYLAW_SHA", "GITHUB_SHA", "CI_COMMIT_SHA", "GIT_COMMIT"])
            .or_else(|| git(&["rev-parse", "HEAD"])),
        event: first(env, &["BYLAW_EVENT", "GITHUB_EVENT_NAME", "CI_PIPELINE_SOURCE"])
            .unwrap_or_else(|| "local".into()),
        actor: first(env, &["BYLAW_ACTOR", "GITHUB_ACTOR", "GITLAB_USER_LOGIN", "CHANGE_AUTHOR", "USER"]),
        environment: environment.map(String::from),
        changed_files: first(env, &["BYLAW_CHANGED_FILES"]).map(|v| list(&v)).unwrap_or_default(),
        pr,
        time: time.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
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
        let ctx = from_env(&env, Some("prod"), t).to_json();
        assert_eq!(ctx["ref"], "main");
        assert_eq!(ctx["repository"], "acme/app");
        assert_eq!(ctx["environment"], "prod");
        assert_eq!(ctx["changed_files"], json!(["a.yaml", "b/c.yaml"]));
        assert_eq!(ctx["pr"]["number"], 42);
        assert_eq!(ctx["pr"]["labels"], json!(["security", "prod"]));
        assert_eq!(ctx["pr"]["draft"], false);
        assert_eq!(ctx["time"], "2026-05-01T00:00:00Z");
        assert_eq!(ctx["platform"], "local");
        let schema: serde_json::Value = serde_json::from_str(bylaw_engine::context::CONTEXT_SCHEMA).unwrap();
        assert!(jsonschema::validator_for(&schema).unwrap().is_valid(&ctx));
    }

    #[test]
    fn no_pr_means_no_pr_key() {
        let env = |k: &str| (k == "BYLAW_REF").then(|| "x".to_string());
        let ctx = from_env(&env, None, Utc::now()).to_json();
        assert!(ctx.get("pr").is_none());
        assert!(ctx.get("environment").is_none());
    }

    #[test]
    fn a_bad_bylaw_now_is_named() {
        let env = |k: &str| (k == "BYLAW_NOW").then(|| "yesterday".to_string());
        assert_eq!(now(&env).unwrap_err(), "BYLAW_NOW=`yesterday` is neither RFC 3339 nor YYYY-MM-DD");
    }
}
