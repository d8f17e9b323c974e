//! Exception requests by PR comment on GitHub: the shared logic of
//! [`bylaw_ci::requests`] over issue comments, with approvers verified
//! through GitHub's API (listed login, active member of a listed team, or
//! repository permission of at least `maintain`).

use crate::api::Client;
use crate::context::{Comment, GitHub};
use bylaw_ci::commands::parse_command;
use bylaw_ci::requests::{handle_command, Approvers, Handled, Thread, ThreadComment, Verifier};
use bylaw_ci::ApiError;
use bylaw_engine::chrono::NaiveDate;
use bylaw_engine::report::Catalog;
use serde_json::{json, Value};

/// An issue comment (REST or webhook payload) as a [`ThreadComment`]. Bots
/// (bylaw's comments are the `github-actions[bot]`'s or an app's) never
/// make or answer requests.
pub fn thread_comment(c: &Value) -> ThreadComment {
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

/// Whether the author of `comment` may approve, verified through the API:
/// listed by login, an active member of a listed team, or holding at least
/// `maintain` permission on the repository. `Err` explains a refusal.
pub fn authorize(
    client: &Client,
    gh: &GitHub,
    approvers: &Approvers,
    comment: &ThreadComment,
) -> Result<String, String> {
    let user = comment.author.as_str();
    let (owner, repo) = gh.owner_repo();
    if approvers.lists_user(user) {
        return Ok(format!("@{user} is a listed approver"));
    }
    let mut team_problems = Vec::new();
    for team in approvers.groups() {
        let (org, slug) = team.split_once('/').unwrap_or(("", ""));
        match client.get(&format!("/orgs/{org}/teams/{slug}/memberships/{user}")) {
            Ok(r) if r.json["state"] == "active" => return Ok(format!("@{user} is a member of @{team}")),
            Ok(_) => team_problems.push(format!("@{user}'s membership of @{team} is not active")),
            Err(e) if e.status() == Some(404) => team_problems.push(format!("@{user} is not a member of @{team}")),
            Err(e) if e.status() == Some(403) => team_problems.push(format!(
                "membership of @{team} cannot be read with this token (it needs organization members: read, which the workflow's GITHUB_TOKEN does not have)"
            )),
            Err(e) => team_problems.push(format!("membership of @{team} could not be read: {e}")),
        }
    }
    let role = match client.get(&format!("/repos/{owner}/{repo}/collaborators/{user}/permission")) {
        Ok(r) => r.json["role_name"].as_str().or(r.json["permission"].as_str()).unwrap_or("none").to_owned(),
        Err(e) if e.status() == Some(404) => "no".to_owned(),
        Err(e) => return Err(format!("cannot verify @{user}'s permission: {e}")),
    };
    if role == "admin" || role == "maintain" {
        return Ok(format!("@{user} has {role} permission on {owner}/{repo}"));
    }
    let mut why = format!(
        "@{user} is not a listed approver and has {role} permission on {owner}/{repo} (maintain or admin needed)"
    );
    for p in team_problems {
        why.push_str("; ");
        why.push_str(&p);
    }
    Err(why)
}

/// A PR's conversation.
struct IssueThread<'a> {
    client: &'a Client,
    gh: &'a GitHub,
    number: u64,
}

impl Thread for IssueThread<'_> {
    fn post(&self, body: &str) -> Result<ThreadComment, ApiError> {
        let (owner, repo) = self.gh.owner_repo();
        let r = self
            .client
            .post(&format!("/repos/{owner}/{repo}/issues/{}/comments", self.number), &json!({ "body": body }))?;
        Ok(thread_comment(&r.json))
    }

    fn edit(&self, id: u64, body: &str) -> Result<ThreadComment, ApiError> {
        let (owner, repo) = self.gh.owner_repo();
        let r = self.client.patch(&format!("/repos/{owner}/{repo}/issues/comments/{id}"), &json!({ "body": body }))?;
        Ok(thread_comment(&r.json))
    }
}

/// Handles the `/bylaw` command of an `issue_comment` event on a PR, given
/// the PR's comments, and adds the event's comment to them when the
/// listing did not have it yet. An `edited` event counts as an edited
/// comment. Returns the line for the log, if there was a command to handle.
pub fn handle_comment(
    client: &Client,
    gh: &GitHub,
    thread: &mut Vec<ThreadComment>,
    catalog: &Catalog,
    verifier: &mut Verifier<'_>,
    today: NaiveDate,
) -> Result<Option<String>, ApiError> {
    let (Some(_), Some(pr), "issue_comment") = (&gh.comment, &gh.pr, gh.event.as_str()) else { return Ok(None) };
    let listed = thread_comment(&gh.payload["comment"]);
    let mut event = listed.clone();
    event.edited |= gh.payload["action"] == "edited";
    if !thread.iter().any(|c| c.id == listed.id) {
        thread.push(listed);
    }
    let issue = IssueThread { client, gh, number: pr.number };
    let Handled { outcome, .. } = handle_command(&issue, &event, thread, catalog, verifier, today)?;
    Ok(Some(outcome))
}

/// Whether a comment is a `/bylaw` command.
pub fn is_command(c: &Comment) -> bool {
    parse_command(&c.body).is_some()
}
