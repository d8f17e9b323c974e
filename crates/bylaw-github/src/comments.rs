//! A pull request's conversation on GitHub (REST docs, "Issues > Issue
//! comments": list, create, update): read as [`ThreadComment`]s, written
//! for the summary comment and the answers to `/bylaw` commands.

use crate::api::Api;
use crate::context::GitHub;
use bylaw_ci::requests::{Thread, ThreadComment};
use bylaw_ci::ApiError;
use bylaw_engine::chrono::SecondsFormat;
use octocrab::models::issues::Comment;
use serde::Serialize;
use serde_json::Value;

/// An issue comment from the API as a [`ThreadComment`]. Bots (bylaw's
/// comments are the `github-actions[bot]`'s or an app's) never make or
/// answer requests; a comment changed after it was written is edited.
pub fn thread_comment(c: &Comment) -> ThreadComment {
    ThreadComment {
        id: c.id.into_inner(),
        body: c.body.clone().unwrap_or_default(),
        author: c.user.login.clone(),
        author_id: c.user.id.into_inner(),
        created_at: c.created_at.to_rfc3339_opts(SecondsFormat::Secs, true),
        edited: c.updated_at != Some(c.created_at),
        bot: c.user.r#type == "Bot",
        url: c.html_url.to_string(),
    }
}

/// The comment of an `issue_comment` webhook payload as a [`ThreadComment`]
/// (the payload is read as it comes, not through a model: a field the
/// model requires must not make the run lose the command).
pub fn payload_comment(c: &Value) -> ThreadComment {
    let s = |v: &Value| v.as_str().unwrap_or_default().to_owned();
    ThreadComment {
        id: c["id"].as_u64().unwrap_or(0),
        body: s(&c["body"]),
        author: s(&c["user"]["login"]),
        author_id: c["user"]["id"].as_u64().unwrap_or(0),
        created_at: s(&c["created_at"]),
        edited: c["created_at"] != c["updated_at"],
        bot: c["user"]["type"] == "Bot",
        url: s(&c["html_url"]),
    }
}

/// The body of "create an issue comment" and "update an issue comment".
#[derive(Debug, Clone, Serialize)]
struct CommentBody<'a> {
    body: &'a str,
}

/// The comments of PR `number`, oldest first (every page).
pub fn list(api: &Api, gh: &GitHub, number: u64) -> Result<Vec<ThreadComment>, ApiError> {
    let (owner, repo) = gh.owner_repo();
    let comments: Vec<Comment> = api.get_all(&format!("/repos/{owner}/{repo}/issues/{number}/comments"))?;
    Ok(comments.iter().map(thread_comment).collect())
}

/// Posts `body` on PR `number`.
pub fn post(api: &Api, gh: &GitHub, number: u64, body: &str) -> Result<ThreadComment, ApiError> {
    let (owner, repo) = gh.owner_repo();
    let c: Comment = api.post(&format!("/repos/{owner}/{repo}/issues/{number}/comments"), &CommentBody { body })?;
    Ok(thread_comment(&c))
}

/// Replaces the body of comment `id`.
pub fn edit(api: &Api, gh: &GitHub, id: u64, body: &str) -> Result<ThreadComment, ApiError> {
    let (owner, repo) = gh.owner_repo();
    let c: Comment = api.patch(&format!("/repos/{owner}/{repo}/issues/comments/{id}"), &CommentBody { body })?;
    Ok(thread_comment(&c))
}

/// Updates bylaw's comment `existing` on PR `number`, or creates it.
/// Returns the comment id.
pub fn upsert(api: &Api, gh: &GitHub, number: u64, existing: Option<u64>, body: &str) -> Result<u64, ApiError> {
    match existing {
        Some(id) => edit(api, gh, id, body),
        None => post(api, gh, number, body),
    }
    .map(|c| c.id)
}

/// A PR's conversation, for [`bylaw_ci::requests::handle_command`].
pub struct IssueThread<'a> {
    pub api: &'a Api,
    pub gh: &'a GitHub,
    pub number: u64,
}

impl Thread for IssueThread<'_> {
    fn post(&self, body: &str) -> Result<ThreadComment, ApiError> {
        post(self.api, self.gh, self.number, body)
    }

    fn edit(&self, id: u64, body: &str) -> Result<ThreadComment, ApiError> {
        edit(self.api, self.gh, id, body)
    }
}
