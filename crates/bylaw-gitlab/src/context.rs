//! The GitLab CI context: predefined variables (`CI_PROJECT_ID`,
//! `CI_API_V4_URL`, `CI_COMMIT_SHA`, `CI_MERGE_REQUEST_IID`,
//! `CI_MERGE_REQUEST_DIFF_BASE_SHA`, `CI_PIPELINE_SOURCE`,
//! `GITLAB_USER_LOGIN`, …) turned into the engine's `ctx` (DESIGN §6).

use bylaw_ci::env::Lookup;
use bylaw_ci::host::Subject;
use bylaw_engine::context::{ChangeNumber, ChangeRequest, PipelineContext};

/// The merge request of a merge request pipeline.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct MergeRequest {
    pub iid: u64,
    pub title: String,
    pub description: String,
    pub source_branch: String,
    pub target_branch: String,
    /// `CI_MERGE_REQUEST_DIFF_BASE_SHA`: where the MR's diff starts.
    pub diff_base_sha: String,
    pub labels: Vec<String>,
    pub draft: bool,
    pub source_project_id: String,
    pub project_id: String,
}

/// Everything the adapter knows about the pipeline.
#[derive(Debug, Clone, Default)]
pub struct GitLab {
    /// `CI_API_V4_URL`.
    pub api_url: String,
    /// `CI_PROJECT_ID` (or the URL-encoded path when only that is known).
    pub project_id: String,
    /// `group/project`.
    pub project_path: String,
    /// `CI_PROJECT_URL`, for links to file lines.
    pub project_url: String,
    pub sha: String,
    /// `CI_COMMIT_BRANCH` (empty for MR and tag pipelines).
    pub branch: String,
    pub pipeline_source: String,
    pub user: String,
    pub pipeline_id: Option<u64>,
    pub job_url: Option<String>,
    pub mr: Option<MergeRequest>,
}

fn split_list(v: &str) -> Vec<String> {
    v.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect()
}

impl GitLab {
    /// Reads the context; an error names what is missing.
    pub fn from_env(env: Lookup<'_>) -> Result<GitLab, String> {
        let var = |k: &str| env(k).filter(|v| !v.is_empty());
        let project_id = var("CI_PROJECT_ID").ok_or("CI_PROJECT_ID is not set: is this a GitLab CI job?")?;
        let api_url = var("CI_API_V4_URL")
            .or_else(|| var("CI_SERVER_URL").map(|s| format!("{}/api/v4", s.trim_end_matches('/'))))
            .ok_or("CI_API_V4_URL is not set: is this a GitLab CI job?")?;
        let mr = var("CI_MERGE_REQUEST_IID").and_then(|iid| iid.parse().ok()).map(|iid| MergeRequest {
            iid,
            title: var("CI_MERGE_REQUEST_TITLE").unwrap_or_default(),
            description: var("CI_MERGE_REQUEST_DESCRIPTION").unwrap_or_default(),
            source_branch: var("CI_MERGE_REQUEST_SOURCE_BRANCH_NAME").unwrap_or_default(),
            target_branch: var("CI_MERGE_REQUEST_TARGET_BRANCH_NAME").unwrap_or_default(),
            diff_base_sha: var("CI_MERGE_REQUEST_DIFF_BASE_SHA").unwrap_or_default(),
            labels: var("CI_MERGE_REQUEST_LABELS").map(|l| split_list(&l)).unwrap_or_default(),
            draft: var("CI_MERGE_REQUEST_DRAFT").is_some_and(|v| v == "true"),
            source_project_id: var("CI_MERGE_REQUEST_SOURCE_PROJECT_ID").unwrap_or_default(),
            project_id: var("CI_MERGE_REQUEST_PROJECT_ID").unwrap_or_else(|| project_id.clone()),
        });
        Ok(GitLab {
            api_url,
            project_path: var("CI_PROJECT_PATH").unwrap_or_default(),
            project_url: var("CI_PROJECT_URL").unwrap_or_default(),
            sha: var("CI_COMMIT_SHA").unwrap_or_default(),
            branch: var("CI_COMMIT_BRANCH").unwrap_or_default(),
            pipeline_source: var("CI_PIPELINE_SOURCE").unwrap_or_default(),
            user: var("GITLAB_USER_LOGIN").unwrap_or_default(),
            pipeline_id: var("CI_PIPELINE_ID").and_then(|v| v.parse().ok()),
            job_url: var("CI_JOB_URL"),
            project_id,
            mr,
        })
    }

    /// The branch environments are chosen by: where an MR is going, else
    /// the pipeline's branch.
    pub fn branch(&self) -> Option<String> {
        match &self.mr {
            Some(mr) if !mr.target_branch.is_empty() => Some(mr.target_branch.clone()),
            _ => Some(self.branch.clone()).filter(|b| !b.is_empty()),
        }
    }

    /// What the pipeline is about: the branch environments follow, whether
    /// it is a merge request, and where the MR's diff starts.
    pub fn subject(&self) -> Subject {
        Subject {
            branch: self.branch(),
            in_change: self.mr.is_some(),
            base: self.mr.as_ref().map(|m| m.diff_base_sha.clone()),
        }
    }

    /// The pipeline context, from `base` (generic variables, time) with the
    /// GitLab facts on top.
    pub fn ctx(&self, base: PipelineContext, changed_files: &[String]) -> PipelineContext {
        let git_ref = match &self.mr {
            Some(mr) => Some(mr.source_branch.clone()),
            None => base.git_ref.clone(),
        };
        PipelineContext {
            platform: "gitlab".into(),
            repository: Some(self.project_path.clone()),
            sha: Some(self.sha.clone()),
            event: self.pipeline_source.clone(),
            actor: Some(self.user.clone()),
            changed_files: changed_files.to_vec(),
            git_ref,
            pr: self.mr.as_ref().map(|mr| ChangeRequest {
                number: ChangeNumber::Number(i64::try_from(mr.iid).unwrap_or(i64::MAX)),
                title: Some(mr.title.clone()),
                body: Some(mr.description.clone()),
                author: Some(self.user.clone()),
                base_ref: Some(mr.target_branch.clone()),
                head_ref: Some(mr.source_branch.clone()),
                labels: mr.labels.clone(),
                draft: mr.draft,
            }),
            ..base
        }
    }

    /// The project's URL path segment (`/projects/{id}`).
    pub fn project(&self) -> String {
        format!("/projects/{}", crate::api::encode_id(&self.project_id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::collections::HashMap;

    fn base() -> PipelineContext {
        PipelineContext { time: "t".into(), ..Default::default() }
    }

    fn vars() -> HashMap<&'static str, &'static str> {
        HashMap::from([
            ("GITLAB_CI", "true"),
            ("CI_PROJECT_ID", "4242"),
            ("CI_API_V4_URL", "https://gitlab.example.com/api/v4"),
            ("CI_PROJECT_PATH", "acme/shop"),
            ("CI_PROJECT_URL", "https://gitlab.example.com/acme/shop"),
            ("CI_COMMIT_SHA", "6dcb09b5b57875f334f61aebed695e2e4193db5e"),
            ("CI_PIPELINE_SOURCE", "merge_request_event"),
            ("GITLAB_USER_LOGIN", "bob"),
            ("CI_PIPELINE_ID", "77"),
            ("CI_MERGE_REQUEST_IID", "7"),
            ("CI_MERGE_REQUEST_TITLE", "Add the agent"),
            ("CI_MERGE_REQUEST_SOURCE_BRANCH_NAME", "feature/agent"),
            ("CI_MERGE_REQUEST_TARGET_BRANCH_NAME", "main"),
            ("CI_MERGE_REQUEST_DIFF_BASE_SHA", "9049f1265b7d61be4a8904a9a27120d2064dab3b"),
            ("CI_MERGE_REQUEST_LABELS", "security,needs-review"),
            ("CI_MERGE_REQUEST_SOURCE_PROJECT_ID", "4242"),
            ("CI_MERGE_REQUEST_PROJECT_ID", "4242"),
        ])
    }

    #[test]
    fn merge_request_pipelines_fill_ctx_like_github() {
        let v = vars();
        let env = |k: &str| v.get(k).map(|s| s.to_string());
        let gl = GitLab::from_env(&env).unwrap();
        assert_eq!(gl.branch().as_deref(), Some("main"), "environments follow the MR's target");
        assert_eq!(gl.project(), "/projects/4242");
        let ctx = gl.ctx(base(), &["deploy/app.yaml".into()]).to_json();
        assert_eq!(ctx["platform"], "gitlab");
        assert_eq!(ctx["repository"], "acme/shop");
        assert_eq!(ctx["event"], "merge_request_event");
        assert_eq!(ctx["pr"]["number"], 7);
        assert_eq!(ctx["pr"]["labels"], json!(["security", "needs-review"]));
        assert_eq!(ctx["pr"]["base_ref"], "main");
        assert_eq!(ctx["changed_files"], json!(["deploy/app.yaml"]));
    }

    #[test]
    fn branch_pipelines_have_no_pr_and_missing_variables_are_named() {
        let mut v = vars();
        v.retain(|k, _| !k.starts_with("CI_MERGE_REQUEST"));
        v.insert("CI_COMMIT_BRANCH", "main");
        v.insert("CI_PIPELINE_SOURCE", "push");
        let env = |k: &str| v.get(k).map(|s| s.to_string());
        let gl = GitLab::from_env(&env).unwrap();
        assert!(gl.mr.is_none());
        assert_eq!(gl.branch().as_deref(), Some("main"));
        let with_pr = PipelineContext { pr: Some(ChangeRequest::default()), ..base() };
        assert!(gl.ctx(with_pr, &[]).pr.is_none());
        let none = |_: &str| None;
        assert!(GitLab::from_env(&none).unwrap_err().contains("CI_PROJECT_ID"));
    }
}
