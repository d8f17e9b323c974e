//! What a pipeline shows on GitLab: one MR note with the summary (found
//! again by its hidden marker among bylaw's own notes and updated in place)
//! and a `bylaw` commit status; and what it reads: the MR's changed files
//! and lines, its notes, and who the token is.

use crate::api::Client;
use crate::context::GitLab;
use crate::requests::thread_comment;
use bylaw_ci::diff::{added_lines, ChangedLines};
use bylaw_ci::requests::ThreadComment;
use bylaw_ci::ApiError;
use bylaw_engine::report::{Finding, Report, Verdict};
use serde_json::json;

/// Name of the commit status.
pub const STATUS_NAME: &str = "bylaw";

/// The token's user (`GET /user`): bylaw's notes are the ones it wrote.
pub fn token_user(client: &Client) -> Result<(u64, String), ApiError> {
    let r = client.get("/user")?;
    Ok((r.json["id"].as_u64().unwrap_or(0), r.json["username"].as_str().unwrap_or_default().to_owned()))
}

/// The MR's head commit and diff base (`GET …/merge_requests/:iid`), for
/// runs outside GitLab CI that do not have them in variables.
pub fn merge_request(client: &Client, gl: &GitLab, iid: u64) -> Result<(String, String), ApiError> {
    let r = client.get(&format!("{}/merge_requests/{iid}", gl.project()))?;
    let s = |v: &serde_json::Value| v.as_str().unwrap_or_default().to_owned();
    Ok((s(&r.json["diff_refs"]["head_sha"]), s(&r.json["diff_refs"]["base_sha"])))
}

/// The MR's changed files and the lines each adds (`GET …/diffs`,
/// paginated), and the paths it removes: deleted files and the old paths of
/// renamed ones.
pub fn changes(client: &Client, gl: &GitLab, iid: u64) -> Result<(Vec<String>, ChangedLines, Vec<String>), ApiError> {
    let diffs = client.get_all(&format!("{}/merge_requests/{iid}/diffs", gl.project()))?;
    let mut files = Vec::new();
    let mut lines = ChangedLines::new();
    let mut removed = Vec::new();
    for d in &diffs {
        if d["deleted_file"] == true || d["renamed_file"] == true {
            removed.extend(d["old_path"].as_str().map(str::to_owned));
        }
        if d["deleted_file"] == true {
            continue;
        }
        let Some(path) = d["new_path"].as_str() else { continue };
        files.push(path.to_owned());
        lines.insert(path.to_owned(), added_lines(d["diff"].as_str().unwrap_or("")));
    }
    Ok((files, lines, removed))
}

/// The MR's notes, oldest first, with bylaw's own marked as bot notes.
pub fn notes(client: &Client, gl: &GitLab, iid: u64, me: u64) -> Result<Vec<ThreadComment>, ApiError> {
    let raw = client.get_all(&format!("{}/merge_requests/{iid}/notes?sort=asc&order_by=created_at", gl.project()))?;
    Ok(raw.iter().filter(|n| n["system"] != true).map(|n| thread_comment(n, me, &gl.project_url, iid)).collect())
}

/// Updates bylaw's note `existing` on MR `iid`, or creates it.
pub fn upsert_note(client: &Client, gl: &GitLab, iid: u64, existing: Option<u64>, body: &str) -> Result<u64, ApiError> {
    let path = format!("{}/merge_requests/{iid}/notes", gl.project());
    let r = match existing {
        Some(id) => client.put(&format!("{path}/{id}"), &json!({ "body": body }))?,
        None => client.post(&path, &json!({ "body": body }))?,
    };
    Ok(r.json["id"].as_u64().unwrap_or(0))
}

/// Sets the `bylaw` commit status of the pipeline's commit: `success` or
/// `failed`, attached to this pipeline. Setting the state it already has
/// is not an error.
pub fn commit_status(client: &Client, gl: &GitLab, report: &Report) -> Result<(), ApiError> {
    let s = &report.summary;
    let description = format!("{} blocking, {} advisory, {} excepted", s.blocking, s.advisory, s.excepted);
    named_status(client, gl, STATUS_NAME, report.verdict != Verdict::Fail, &description)
}

/// Sets commit status `name` of the pipeline's commit: `success` or
/// `failed` with `description` (cut at 255 characters), attached to this
/// pipeline. Setting the state it already has is not an error.
pub fn named_status(
    client: &Client,
    gl: &GitLab,
    name: &str,
    success: bool,
    description: &str,
) -> Result<(), ApiError> {
    let mut body = json!({
        "state": if success { "success" } else { "failed" },
        "name": name,
        "description": description.chars().take(255).collect::<String>(),
    });
    if let Some(url) = &gl.job_url {
        body["target_url"] = json!(url);
    }
    if let Some(id) = gl.pipeline_id {
        body["pipeline_id"] = json!(id);
    }
    match client.post(&format!("{}/statuses/{}", gl.project(), gl.sha), &body) {
        Err(ApiError::Status { status: 400, message, .. }) if message.contains("Cannot transition status") => Ok(()),
        other => other.map(|_| ()),
    }
}

/// A link to a finding's line in the project at the pipeline's commit.
pub fn line_link(gl: &GitLab, f: &Finding) -> String {
    format!(
        "{}/-/blob/{}/{}#L{}",
        gl.project_url,
        gl.sha,
        bylaw_ci::percent_encode_path(&f.location.path),
        f.location.start_line
    )
}
