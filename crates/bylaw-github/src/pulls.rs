//! A pull request on GitHub (REST docs, "Pulls": get a pull request, list
//! pull request files): its head and base when the event lacks them
//! (`issue_comment`, Jenkins), and its changed files and lines.

use crate::api::Api;
use crate::context::{GitHub, PullRequest};
use bylaw_ci::diff::{added_lines, ChangedLines};
use bylaw_ci::ApiError;
use octocrab::models::pulls;
use octocrab::models::repos::{DiffEntry, DiffEntryStatus};

/// The API's pull request as the adapter's.
pub fn pull_request(p: &pulls::PullRequest) -> PullRequest {
    PullRequest {
        number: p.number,
        title: p.title.clone().unwrap_or_default(),
        body: p.body.clone().unwrap_or_default(),
        author: p.user.as_ref().map(|u| u.login.clone()).unwrap_or_default(),
        labels: p.labels.iter().flatten().map(|l| l.name.clone()).collect(),
        base_ref: p.base.ref_field.clone(),
        head_ref: p.head.ref_field.clone(),
        head_sha: p.head.sha.clone(),
        base_sha: p.base.sha.clone(),
        draft: p.draft.unwrap_or(false),
        head_repo: p.head.repo.as_ref().and_then(|r| r.full_name.clone()).unwrap_or_default(),
        html_url: p.html_url.as_ref().map(|u| u.to_string()).unwrap_or_default(),
    }
}

/// PR `number`.
pub fn get(api: &Api, gh: &GitHub, number: u64) -> Result<PullRequest, ApiError> {
    let (owner, repo) = gh.owner_repo();
    let p: pulls::PullRequest = api.get(&format!("/repos/{owner}/{repo}/pulls/{number}"))?;
    Ok(pull_request(&p))
}

/// PR `number`'s changed files and the lines each adds (every page),
/// and the paths it removes: removed files and the previous names of
/// renamed ones.
pub fn files(api: &Api, gh: &GitHub, number: u64) -> Result<(Vec<String>, ChangedLines, Vec<String>), ApiError> {
    let (owner, repo) = gh.owner_repo();
    let entries: Vec<DiffEntry> = api.get_all(&format!("/repos/{owner}/{repo}/pulls/{number}/files"))?;
    let mut names = Vec::new();
    let mut lines = ChangedLines::new();
    let mut removed = Vec::new();
    for f in entries {
        match f.status {
            DiffEntryStatus::Removed => removed.push(f.filename.clone()),
            DiffEntryStatus::Renamed => removed.extend(f.previous_filename.clone()),
            _ => {}
        }
        lines.insert(f.filename.clone(), added_lines(f.patch.as_deref().unwrap_or("")));
        names.push(f.filename);
    }
    Ok((names, lines, removed))
}
