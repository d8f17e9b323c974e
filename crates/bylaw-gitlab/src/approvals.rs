//! A merge request's approvals (GitLab REST docs, "Merge request
//! approvals": `GET /projects/:id/merge_requests/:merge_request_iid/approvals`,
//! `approved_by[].user.username`) as the approvals of policy changes
//! ([`bylaw_ci::policy_approval`]), with the MR's author and head commit
//! from `GET /projects/:id/merge_requests/:merge_request_iid` (`author`,
//! `sha`).
//!
//! GitLab does not say which commit an approval was given on. Approvals
//! count only while the MR's head is the pipeline's commit (a pipeline of
//! an older commit counts none); that a push after an approval withdraws
//! it is the project's setting "Remove all approvals when commits are added
//! to the source branch", which a project that gates policy changes should
//! turn on.

use crate::api::Client;
use crate::context::GitLab;
use bylaw_ci::forge::{Approvals, Approver};
use bylaw_ci::ApiError;

/// The approvals of MR `iid` that stand for the pipeline's commit.
pub fn approvals(client: &Client, gl: &GitLab, iid: u64) -> Result<Approvals, ApiError> {
    let mr = client.get(&format!("{}/merge_requests/{iid}", gl.project()))?.json;
    let author = mr["author"]["username"].as_str().unwrap_or_default().to_owned();
    let mr_head = mr["sha"].as_str().unwrap_or_default().to_owned();
    let head = if gl.sha.is_empty() { mr_head.clone() } else { gl.sha.clone() };
    let r = client.get(&format!("{}/merge_requests/{iid}/approvals", gl.project()))?.json;
    let mut out = Approvals { author, head: head.clone(), number: iid, ..Approvals::default() };
    for a in r["approved_by"].as_array().into_iter().flatten() {
        let user = &a["user"];
        let Some(login) = user["username"].as_str() else { continue };
        if mr_head != head {
            out.ignored.push(format!(
                "@{login} approved the merge request at {}, not this pipeline's commit {}: run the latest pipeline",
                short(&mr_head),
                short(&head)
            ));
            continue;
        }
        out.approved.push(Approver { login: login.to_owned(), id: user["id"].as_u64().unwrap_or(0) });
    }
    Ok(out)
}

fn short(sha: &str) -> &str {
    sha.get(..12).unwrap_or(sha)
}
