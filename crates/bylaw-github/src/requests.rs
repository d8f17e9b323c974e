//! Exception requests by PR comment on GitHub: the shared logic of
//! [`bylaw_ci::requests`] over issue comments, answered in the
//! `issue_comment` run of each command, with approvers verified through
//! GitHub's API (REST docs, "Teams > Members": get team membership for a
//! user; "Collaborators": get repository permissions for a user): a listed
//! login, an active member of a listed team, or a repository permission of
//! at least `maintain`.

use crate::api::Api;
use crate::comments::{payload_comment, IssueThread};
use crate::context::{Comment, GitHub};
use bylaw_ci::commands::parse_command;
use bylaw_ci::requests::{handle_command, Approvers, Handled, ThreadComment, Verifier};
use bylaw_ci::ApiError;
use bylaw_engine::chrono::NaiveDate;
use bylaw_engine::report::Catalog;
use octocrab::models::memberships::{State, TeamMembership};
use serde::Deserialize;

/// The answer of "get repository permissions for a user" (GitHub REST
/// docs, "Collaborators"). Octocrab's `RepoPermission` reads `permission`
/// as the role names of other endpoints (`push`, `pull`) and fails on this
/// one's (`admin`, `write`, `read`, `none`): hence this model.
#[derive(Debug, Clone, Deserialize)]
struct CollaboratorPermission {
    /// `admin`, `write`, `read` or `none` (maintain maps to write, triage to read).
    permission: String,
    /// The role by name, including `maintain`, `triage` and custom roles.
    #[serde(default)]
    role_name: Option<String>,
}

/// Whether `user` is listed in `approvers` by login, or an active member
/// of a listed team (GitHub REST docs, "Teams > Members": get team
/// membership for a user). `Err` holds why not, one reason per team.
pub fn listed_or_member(api: &Api, approvers: &Approvers, user: &str) -> Result<String, Vec<String>> {
    if approvers.lists_user(user) {
        return Ok(format!("@{user} is a listed approver"));
    }
    let mut team_problems = Vec::new();
    for team in approvers.groups() {
        let (org, slug) = team.split_once('/').unwrap_or(("", ""));
        match api.get::<TeamMembership>(&format!("/orgs/{org}/teams/{slug}/memberships/{user}")) {
            Ok(m) if m.state == State::Active => return Ok(format!("@{user} is a member of @{team}")),
            Ok(_) => team_problems.push(format!("@{user}'s membership of @{team} is not active")),
            Err(e) if e.status() == Some(404) => team_problems.push(format!("@{user} is not a member of @{team}")),
            Err(e) if e.status() == Some(403) => team_problems.push(format!(
                "membership of @{team} cannot be read with this token (it needs organization members: read, which the workflow's GITHUB_TOKEN does not have)"
            )),
            Err(e) => team_problems.push(format!("membership of @{team} could not be read: {e}")),
        }
    }
    Err(team_problems)
}

/// Whether the author of `comment` may approve, verified through the API:
/// listed by login, an active member of a listed team, or holding at least
/// `maintain` permission on the repository. `Err` explains a refusal.
pub fn authorize(api: &Api, gh: &GitHub, approvers: &Approvers, comment: &ThreadComment) -> Result<String, String> {
    let user = comment.author.as_str();
    let (owner, repo) = gh.owner_repo();
    let team_problems = match listed_or_member(api, approvers, user) {
        Ok(how) => return Ok(how),
        Err(problems) => problems,
    };
    let role =
        match api.get::<CollaboratorPermission>(&format!("/repos/{owner}/{repo}/collaborators/{user}/permission")) {
            Ok(p) => p.role_name.unwrap_or(p.permission),
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

/// Handles the `/bylaw` command of an `issue_comment` event on a PR, given
/// the PR's comments, and adds the event's comment to them when the
/// listing did not have it yet. An `edited` event counts as an edited
/// comment. Returns the line for the log, if there was a command to handle.
pub fn handle_comment(
    api: &Api,
    gh: &GitHub,
    thread: &mut Vec<ThreadComment>,
    catalog: &Catalog,
    verifier: &mut Verifier<'_>,
    today: NaiveDate,
) -> Result<Option<String>, ApiError> {
    let (Some(_), Some(pr), "issue_comment") = (&gh.comment, &gh.pr, gh.event.as_str()) else { return Ok(None) };
    let listed = payload_comment(&gh.payload["comment"]);
    let mut event = listed.clone();
    event.edited |= gh.payload["action"] == "edited";
    if !thread.iter().any(|c| c.id == listed.id) {
        thread.push(listed);
    }
    let issue = IssueThread { api, gh, number: pr.number };
    let Handled { outcome, .. } = handle_command(&issue, &event, thread, catalog, verifier, today)?;
    Ok(Some(outcome))
}

/// Whether a comment is a `/bylaw` command.
pub fn is_command(c: &Comment) -> bool {
    parse_command(&c.body).is_some()
}
