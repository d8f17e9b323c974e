//! GitHub's REST API through the shared client: the headers GitHub asks
//! for (`Accept: application/vnd.github+json`, the API version, a bearer
//! token) on every request.

pub use bylaw_ci::http::Client;

/// The REST API version bylaw is written against.
pub const API_VERSION: &str = "2022-11-28";

/// A client of the GitHub API at `base` (`GITHUB_API_URL`, e.g.
/// `https://api.github.com` or `https://ghe.example.com/api/v3`).
pub fn client(base: &str, token: Option<String>) -> Client {
    Client::new(
        "GitHub",
        base,
        vec![("Accept", "application/vnd.github+json".into()), ("X-GitHub-Api-Version", API_VERSION.into())],
        token.map(|t| ("Authorization", format!("Bearer {t}"))),
    )
}
