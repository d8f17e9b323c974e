//! Exception requests by MR note on GitLab: the shared logic of
//! [`bylaw_ci::requests`] over MR notes. GitLab runs no pipeline for a new
//! note, so each pipeline handles every `/bylaw` note bylaw has not answered
//! yet (its answers carry a hidden marker naming the note), then honours
//! the approved requests. Approvers are verified through the members API:
//! a listed username, a member of a listed group, or Maintainer (40) or
//! above on the project, inherited memberships included.

use crate::api::{encode_id, Client};
use crate::context::GitLab;
use bylaw_ci::commands::parse_command;
use bylaw_ci::requests::{answered, handle_command, Approvers, Thread, ThreadComment, Verifier};
use bylaw_ci::ApiError;
use bylaw_engine::chrono::{DateTime, NaiveDate};
use bylaw_engine::report::Catalog;
use serde_json::{json, Value};

/// GitLab's access level of a Maintainer.
pub const MAINTAINER: u64 = 40;

/// GitLab sets `updated_at` a few milliseconds after `created_at` on a
/// new note; an edit is a later change.
fn edited(n: &Value) -> bool {
    let t = |k: &str| n[k].as_str().and_then(|s| DateTime::parse_from_rfc3339(s).ok());
    match (t("created_at"), t("updated_at")) {
        (Some(c), Some(u)) => (u - c).num_seconds() >= 2,
        _ => n["created_at"] != n["updated_at"],
    }
}

/// Bot users of project and group access tokens are named `project_<id>_bot…`
/// / `group_<id>_bot…`.
fn is_bot_name(username: &str) -> bool {
    (username.starts_with("project_") || username.starts_with("group_")) && username.contains("_bot")
}

/// An MR note as a [`ThreadComment`]; `me` is the token's user id (bylaw's notes).
pub fn thread_comment(n: &Value, me: u64, project_url: &str, iid: u64) -> ThreadComment {
    let id = n["id"].as_u64().unwrap_or(0);
    let author_id = n["author"]["id"].as_u64().unwrap_or(0);
    let author = n["author"]["username"].as_str().unwrap_or_default().to_owned();
    ThreadComment {
        id,
        body: n["body"].as_str().unwrap_or_default().to_owned(),
        bot: (me != 0 && author_id == me) || n["author"]["bot"] == true || is_bot_name(&author),
        author,
        author_id,
        created_at: n["created_at"].as_str().unwrap_or_default().to_owned(),
        edited: edited(n),
        url: format!("{project_url}/-/merge_requests/{iid}#note_{id}"),
    }
}

fn role(level: u64) -> &'static str {
    match level {
        50.. => "Owner",
        40..=49 => "Maintainer",
        30..=39 => "Developer",
        20..=29 => "Reporter",
        10..=19 => "Guest",
        _ => "no",
    }
}

/// Whether `user` (with numeric id `user_id`) is listed in `approvers` by
/// username, or an active member of a listed group (GitLab REST docs,
/// "Group and project members": get a member of a group, including
/// inherited and invited members). `Err` holds why not, one reason per group.
pub fn listed_or_member(
    client: &Client,
    approvers: &Approvers,
    user: &str,
    user_id: u64,
) -> Result<String, Vec<String>> {
    if approvers.lists_user(user) {
        return Ok(format!("@{user} is a listed approver"));
    }
    let mut problems = Vec::new();
    for group in approvers.groups() {
        match client.get(&format!("/groups/{}/members/all/{user_id}", encode_id(group))) {
            Ok(r) if r.json["state"].as_str().unwrap_or("active") == "active" => {
                return Ok(format!("@{user} is a member of @{group}"))
            }
            Ok(_) => problems.push(format!("@{user}'s membership of @{group} is not active")),
            Err(e) if e.status() == Some(404) => problems.push(format!("@{user} is not a member of @{group}")),
            Err(e) => problems.push(format!("membership of @{group} could not be read: {e}")),
        }
    }
    Err(problems)
}

/// Whether the author of `note` may approve, verified through the members
/// API. `Err` explains a refusal.
pub fn authorize(client: &Client, gl: &GitLab, approvers: &Approvers, note: &ThreadComment) -> Result<String, String> {
    let user = note.author.as_str();
    let problems = match listed_or_member(client, approvers, user, note.author_id) {
        Ok(how) => return Ok(how),
        Err(p) => p,
    };
    let level = match client.get(&format!("{}/members/all/{}", gl.project(), note.author_id)) {
        Ok(r) => r.json["access_level"].as_u64().unwrap_or(0),
        Err(e) if e.status() == Some(404) => 0,
        Err(e) => return Err(format!("cannot verify @{user}'s role: {e}")),
    };
    let project = if gl.project_path.is_empty() { "the project" } else { gl.project_path.as_str() };
    if level >= MAINTAINER {
        return Ok(format!("@{user} is {} of {project}", role(level)));
    }
    let mut why = format!(
        "@{user} is not a listed approver and has the {} role in {project} (Maintainer or above needed)",
        role(level)
    );
    for p in problems {
        why.push_str("; ");
        why.push_str(&p);
    }
    Err(why)
}

/// An MR's notes.
pub struct MrThread<'a> {
    pub client: &'a Client,
    pub gl: &'a GitLab,
    pub iid: u64,
    pub me: u64,
}

impl Thread for MrThread<'_> {
    fn post(&self, body: &str) -> Result<ThreadComment, ApiError> {
        let r = self
            .client
            .post(&format!("{}/merge_requests/{}/notes", self.gl.project(), self.iid), &json!({ "body": body }))?;
        Ok(thread_comment(&r.json, self.me, &self.gl.project_url, self.iid))
    }

    fn edit(&self, id: u64, body: &str) -> Result<ThreadComment, ApiError> {
        let path = format!("{}/merge_requests/{}/notes/{id}", self.gl.project(), self.iid);
        let r = self.client.put(&path, &json!({ "body": body }))?;
        Ok(thread_comment(&r.json, self.me, &self.gl.project_url, self.iid))
    }
}

/// Handles, oldest first, every `/bylaw` note by a person that bylaw has
/// not answered yet; `notes` is updated with what bylaw writes. Returns a
/// line per handled note.
pub fn handle_new_commands(
    thread: &MrThread<'_>,
    notes: &mut Vec<ThreadComment>,
    catalog: &Catalog,
    verifier: &mut Verifier<'_>,
    today: NaiveDate,
) -> Result<Vec<String>, ApiError> {
    let pending: Vec<ThreadComment> = notes
        .iter()
        .filter(|n| !n.bot && parse_command(&n.body).is_some() && !answered(notes, n.id))
        .cloned()
        .collect();
    let mut lines = Vec::new();
    for n in pending {
        if answered(notes, n.id) {
            continue; // e.g. an approval already written into the request note it follows
        }
        let handled = handle_command(thread, &n, notes, catalog, verifier, today)?;
        if let Some(w) = handled.written {
            match notes.iter_mut().find(|x| x.id == w.id) {
                Some(existing) => *existing = w,
                None => notes.push(w),
            }
        }
        lines.push(format!("note {}: {}", n.id, handled.outcome));
    }
    Ok(lines)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notes_know_edits_and_bots() {
        let n = json!({
            "id": 5, "body": "/bylaw approve REQ-1", "system": false,
            "author": { "id": 9, "username": "alice" },
            "created_at": "2026-06-01T10:00:00.886Z", "updated_at": "2026-06-01T10:00:00.889Z",
        });
        let a = thread_comment(&n, 1, "https://gitlab.example.com/acme/shop", 7);
        assert!(!a.edited && !a.bot, "a few milliseconds apart is a new note");
        assert_eq!(a.url, "https://gitlab.example.com/acme/shop/-/merge_requests/7#note_5");
        let mut e = n.clone();
        e["updated_at"] = json!("2026-06-01T10:05:00.000Z");
        assert!(thread_comment(&e, 1, "", 7).edited);
        assert!(thread_comment(&n, 9, "", 7).bot, "the token's own notes are bylaw's");
        let mut b = n.clone();
        b["author"] = json!({ "id": 3, "username": "project_4242_bot_0d5a" });
        assert!(thread_comment(&b, 0, "", 7).bot);
        assert_eq!(role(40), "Maintainer");
        assert_eq!(role(30), "Developer");
    }
}
