//! The GitHub Actions context: `GITHUB_*` variables and the event payload
//! (`GITHUB_EVENT_PATH`) for `pull_request`, `pull_request_target`,
//! `pull_request_review`, `push`,
//! `issue_comment`, `workflow_dispatch` and `merge_group`, turned into the
//! engine's `ctx` (DESIGN §6).

use bylaw_ci::env::Lookup;
use bylaw_ci::host::Subject;
use bylaw_engine::context::{ChangeNumber, ChangeRequest, PipelineContext};
use serde_json::Value;

/// A pull request the run is about.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PullRequest {
    pub number: u64,
    pub title: String,
    pub body: String,
    pub author: String,
    pub labels: Vec<String>,
    pub base_ref: String,
    pub head_ref: String,
    pub head_sha: String,
    pub base_sha: String,
    pub draft: bool,
    /// `owner/name` of the head repository (differs from the base for forks).
    pub head_repo: String,
    pub html_url: String,
}

/// The comment of an `issue_comment` event.
#[derive(Debug, Clone, PartialEq)]
pub struct Comment {
    pub id: u64,
    pub body: String,
    pub user: String,
    pub created_at: String,
    pub updated_at: String,
    pub html_url: String,
}

/// Everything the adapter knows about the run.
#[derive(Debug, Clone)]
pub struct GitHub {
    pub api_url: String,
    pub server_url: String,
    /// `owner/name`.
    pub repository: String,
    pub sha: String,
    pub git_ref: String,
    pub event: String,
    pub actor: String,
    pub run_url: Option<String>,
    /// The pull request (for `issue_comment`: only the number and URL are in
    /// the payload; [`crate::forge::GitHubForge`] fetches the rest).
    pub pr: Option<PullRequest>,
    pub comment: Option<Comment>,
    pub payload: Value,
}

fn s(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_owned()
}

impl GitHub {
    /// Reads the context; an error names what is missing.
    pub fn from_env(env: Lookup<'_>) -> Result<GitHub, String> {
        let repository =
            env("GITHUB_REPOSITORY").ok_or("GITHUB_REPOSITORY is not set: is this a GitHub Actions run?")?;
        let payload: Value = match env("GITHUB_EVENT_PATH") {
            Some(p) => {
                let text =
                    std::fs::read_to_string(&p).map_err(|e| format!("cannot read GITHUB_EVENT_PATH {p}: {e}"))?;
                serde_json::from_str(&text).map_err(|e| format!("GITHUB_EVENT_PATH {p} is not JSON: {e}"))?
            }
            None => Value::Null,
        };
        let event = env("GITHUB_EVENT_NAME").unwrap_or_default();
        let server_url = env("GITHUB_SERVER_URL").unwrap_or_else(|| "https://github.com".into());
        let pr = match event.as_str() {
            // a review re-runs the gate of policy-change approval
            "pull_request" | "pull_request_target" | "pull_request_review" => pr_from(&payload["pull_request"]),
            "issue_comment" if payload["issue"].get("pull_request").is_some() => {
                let issue = &payload["issue"];
                Some(PullRequest {
                    number: issue["number"].as_u64().unwrap_or(0),
                    title: s(&issue["title"]),
                    body: s(&issue["body"]),
                    author: s(&issue["user"]["login"]),
                    labels: labels(&issue["labels"]),
                    base_ref: String::new(),
                    head_ref: String::new(),
                    head_sha: String::new(),
                    base_sha: String::new(),
                    draft: issue["draft"].as_bool().unwrap_or(false),
                    head_repo: String::new(),
                    html_url: s(&issue["html_url"]),
                })
            }
            _ => None,
        };
        let comment = (event == "issue_comment").then(|| {
            let c = &payload["comment"];
            Comment {
                id: c["id"].as_u64().unwrap_or(0),
                body: s(&c["body"]),
                user: s(&c["user"]["login"]),
                created_at: s(&c["created_at"]),
                updated_at: s(&c["updated_at"]),
                html_url: s(&c["html_url"]),
            }
        });
        let mut sha = env("GITHUB_SHA").unwrap_or_default();
        if let Some(p) = &pr {
            if !p.head_sha.is_empty() {
                sha = p.head_sha.clone(); // annotate the PR head, not the merge commit
            }
        }
        if event == "merge_group" {
            sha = s(&payload["merge_group"]["head_sha"]);
            if sha.is_empty() {
                sha = env("GITHUB_SHA").unwrap_or_default();
            }
        }
        let run_url = match (env("GITHUB_RUN_ID"), Some(&server_url)) {
            (Some(id), Some(server)) => Some(format!("{server}/{repository}/actions/runs/{id}")),
            _ => None,
        };
        Ok(GitHub {
            api_url: env("GITHUB_API_URL").unwrap_or_else(|| "https://api.github.com".into()),
            server_url,
            repository,
            sha,
            git_ref: env("GITHUB_REF").unwrap_or_default(),
            event,
            actor: env("GITHUB_ACTOR").unwrap_or_default(),
            run_url,
            pr,
            comment,
            payload,
        })
    }

    /// The branch the run is for (the PR base for pull requests: policies
    /// and environments follow where the change is going).
    pub fn branch(&self) -> Option<String> {
        if let Some(p) = self.pr.as_ref().filter(|p| !p.base_ref.is_empty()) {
            return Some(p.base_ref.clone());
        }
        if self.event == "merge_group" {
            return self.payload["merge_group"]["base_ref"]
                .as_str()
                .map(|r| r.trim_start_matches("refs/heads/").to_owned());
        }
        self.git_ref.strip_prefix("refs/heads/").map(str::to_owned)
    }

    /// The pipeline context, from `base` (generic variables, time) with the
    /// GitHub facts on top.
    pub fn ctx(&self, base: PipelineContext, changed_files: &[String]) -> PipelineContext {
        PipelineContext {
            platform: "github".into(),
            repository: Some(self.repository.clone()),
            sha: Some(self.sha.clone()),
            git_ref: Some(self.git_ref.clone()),
            event: self.event.clone(),
            actor: Some(self.actor.clone()),
            changed_files: changed_files.to_vec(),
            pr: self.pr.as_ref().map(|p| ChangeRequest {
                number: ChangeNumber::Number(i64::try_from(p.number).unwrap_or(i64::MAX)),
                title: Some(p.title.clone()),
                body: Some(p.body.clone()),
                author: Some(p.author.clone()),
                base_ref: Some(p.base_ref.clone()),
                head_ref: Some(p.head_ref.clone()),
                labels: p.labels.clone(),
                draft: p.draft,
            }),
            ..base
        }
    }

    /// What the run is about: the branch environments follow, whether it
    /// is a pull request, and the PR's base commit.
    pub fn subject(&self) -> Subject {
        Subject {
            branch: self.branch(),
            in_change: self.pr.is_some(),
            base: self.pr.as_ref().map(|p| p.base_sha.clone()),
        }
    }

    /// `owner/name` split.
    pub fn owner_repo(&self) -> (&str, &str) {
        self.repository.split_once('/').unwrap_or((&self.repository, ""))
    }

    /// Whether the PR comes from a fork (its token is read-only).
    pub fn is_fork_pr(&self) -> bool {
        self.pr.as_ref().is_some_and(|p| !p.head_repo.is_empty() && p.head_repo != self.repository)
    }
}

fn labels(v: &Value) -> Vec<String> {
    v.as_array().map(|a| a.iter().filter_map(|l| l["name"].as_str().map(str::to_owned)).collect()).unwrap_or_default()
}

/// A pull request from a `pull_request` object (REST or webhook payload).
fn pr_from(p: &Value) -> Option<PullRequest> {
    let number = p["number"].as_u64()?;
    Some(PullRequest {
        number,
        title: s(&p["title"]),
        body: s(&p["body"]),
        author: s(&p["user"]["login"]),
        labels: labels(&p["labels"]),
        base_ref: s(&p["base"]["ref"]),
        head_ref: s(&p["head"]["ref"]),
        head_sha: s(&p["head"]["sha"]),
        base_sha: s(&p["base"]["sha"]),
        draft: p["draft"].as_bool().unwrap_or(false),
        head_repo: s(&p["head"]["repo"]["full_name"]),
        html_url: s(&p["html_url"]),
    })
}
