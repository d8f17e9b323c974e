//! GitLab's REST API v4 through the shared client: the token in the
//! `PRIVATE-TOKEN` header (personal, project and group access tokens), and
//! project paths URL-encoded where an id is expected.

pub use bylaw_ci::http::Client;

/// A client of the GitLab API at `base` (`CI_API_V4_URL`, e.g.
/// `https://gitlab.com/api/v4`).
pub fn client(base: &str, token: Option<String>) -> Client {
    Client::new("GitLab", base, vec![("Accept", "application/json".into())], token.map(|t| ("PRIVATE-TOKEN", t)))
}

/// A project or group id for a URL: numeric ids as they are, paths
/// (`group/sub/project`) percent-encoded.
pub fn encode_id(id: &str) -> String {
    let mut out = String::new();
    for b in id.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(b as char),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn paths_are_percent_encoded() {
        assert_eq!(super::encode_id("acme/platform/shop"), "acme%2Fplatform%2Fshop");
        assert_eq!(super::encode_id("42"), "42");
    }
}
