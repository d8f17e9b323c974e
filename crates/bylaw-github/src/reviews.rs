//! A pull request's reviews (GitHub REST docs, "Pulls > Reviews": list
//! reviews for a pull request, chronological, paginated) as the approvals
//! of policy changes ([`bylaw_ci::policy_approval`]): for each reviewer the
//! latest review that decides (`APPROVED`, `CHANGES_REQUESTED` or
//! `DISMISSED`; a `COMMENTED` review leaves an approval standing, as on
//! GitHub) counts, and an approval counts only when it was given on the
//! PR's head commit — an approval of an older commit does not approve what
//! was pushed after it.

use crate::api::Api;
use crate::context::GitHub;
use bylaw_ci::forge::{Approvals, Approver};
use bylaw_ci::ApiError;
use octocrab::models::pulls::{Review, ReviewState};
use std::collections::BTreeMap;

/// The approvals of PR `number` that stand for `head`; `author` is the PR's.
pub fn approvals(api: &Api, gh: &GitHub, number: u64, author: &str, head: &str) -> Result<Approvals, ApiError> {
    let (owner, repo) = gh.owner_repo();
    let reviews: Vec<Review> = api.get_all(&format!("/repos/{owner}/{repo}/pulls/{number}/reviews"))?;
    Ok(decide(&reviews, author, head, number))
}

/// The latest deciding review of each reviewer, in the order they first reviewed.
fn decide(reviews: &[Review], author: &str, head: &str, number: u64) -> Approvals {
    let mut latest: BTreeMap<String, (usize, &Review)> = BTreeMap::new();
    for (i, r) in reviews.iter().enumerate() {
        let Some(user) = &r.user else { continue };
        let deciding =
            matches!(r.state, Some(ReviewState::Approved | ReviewState::ChangesRequested | ReviewState::Dismissed));
        if !deciding {
            continue;
        }
        let key = user.login.to_ascii_lowercase();
        let first = latest.get(&key).map_or(i, |(f, _)| *f);
        latest.insert(key, (first, r));
    }
    let mut ordered: Vec<(usize, &Review)> = latest.into_values().collect();
    ordered.sort_by_key(|(i, _)| *i);
    let mut out = Approvals { author: author.to_owned(), head: head.to_owned(), number, ..Approvals::default() };
    for (_, r) in ordered {
        let Some(user) = &r.user else { continue };
        if r.state != Some(ReviewState::Approved) {
            continue;
        }
        let commit = r.commit_id.as_deref().unwrap_or_default();
        if commit != head || head.is_empty() {
            out.ignored.push(format!(
                "@{} approved commit {}, not the head commit {}: approve again after the latest push",
                user.login,
                short(commit),
                short(head)
            ));
            continue;
        }
        out.approved.push(Approver { login: user.login.clone(), id: user.id.into_inner() });
    }
    out
}

fn short(sha: &str) -> &str {
    sha.get(..12).unwrap_or(sha)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn review(id: u64, login: &str, state: &str, commit: &str) -> Review {
        serde_json::from_value(json!({
            "id": id, "node_id": "MDE3OlB1bGxSZXF1ZXN0UmV2aWV3ODA=", "html_url": "https://github.com/o/r/pull/7#pullrequestreview-80",
            "user": { "login": login, "id": id, "node_id": "MDQ6VXNlcjE=", "avatar_url": "https://github.com/images/error/octocat_happy.gif",
              "gravatar_id": "", "url": "https://api.github.com/users/octocat", "html_url": "https://github.com/octocat",
              "followers_url": "https://api.github.com/users/octocat/followers", "following_url": "https://api.github.com/users/octocat/following{/other_user}",
              "gists_url": "https://api.github.com/users/octocat/gists{/gist_id}", "starred_url": "https://api.github.com/users/octocat/starred{/owner}{/repo}",
              "subscriptions_url": "https://api.github.com/users/octocat/subscriptions", "organizations_url": "https://api.github.com/users/octocat/orgs",
              "repos_url": "https://api.github.com/users/octocat/repos", "events_url": "https://api.github.com/users/octocat/events{/privacy}",
              "received_events_url": "https://api.github.com/users/octocat/received_events", "type": "User", "site_admin": false },
            "body": "", "state": state, "commit_id": commit, "submitted_at": "2026-06-01T10:00:00Z",
            "pull_request_url": "https://api.github.com/repos/o/r/pulls/7", "author_association": "MEMBER",
        }))
        .unwrap()
    }

    #[test]
    fn the_latest_deciding_review_on_the_head_counts() {
        let rs = vec![
            review(1, "dave", "APPROVED", "old"),
            review(2, "erin", "APPROVED", "head"),
            review(3, "erin", "COMMENTED", "head"),
            review(4, "frank", "APPROVED", "head"),
            review(5, "frank", "CHANGES_REQUESTED", "head"),
            review(6, "gina", "APPROVED", "head"),
            review(7, "gina", "DISMISSED", "head"),
        ];
        let a = decide(&rs, "bob", "head", 7);
        let logins: Vec<&str> = a.approved.iter().map(|a| a.login.as_str()).collect();
        assert_eq!(logins, ["erin"], "a comment leaves an approval standing; changes requested and dismissals end it");
        assert_eq!(a.ignored.len(), 1);
        assert!(a.ignored[0].starts_with("@dave approved commit old, not the head commit head"), "{:?}", a.ignored);
        let later =
            decide(&[review(1, "dave", "APPROVED", "old"), review(2, "dave", "APPROVED", "head")], "bob", "head", 7);
        assert_eq!(later.approved.len(), 1, "approving the head again counts");
        assert!(later.ignored.is_empty());
    }
}
