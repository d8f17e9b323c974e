//! What bylaw's REST calls share whatever the HTTP client: retries with
//! exponential backoff on 5xx, on transport errors and on rate limits
//! (GitHub's primary and secondary, GitLab's 429), honouring `Retry-After`
//! and `x-ratelimit-reset` ([`send_with_retries`]); the error message of
//! an error answer; `Link` pagination ([`get_all`], both services send it).
//! And a small blocking client over ureq ([`Client`], GitLab's): fixed
//! headers per service (auth, accept, user agent), JSON bodies. The token
//! is never logged or put in an error message: errors name the method and
//! the path below the base URL only.

use crate::error::ApiError;
use serde_json::Value;
use std::time::Duration;

/// A decoded response.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub json: Value,
    /// The `next` URL of the `Link` header, if any.
    pub next: Option<String>,
}

/// A REST client for one service.
pub struct Client {
    /// `GitHub` or `GitLab`, for messages.
    pub service: &'static str,
    base: String,
    /// Headers of every request (accept, API version).
    headers: Vec<(&'static str, String)>,
    /// The header carrying the token and its value (`Authorization: Bearer …`,
    /// `PRIVATE-TOKEN: …`); never printed.
    auth: Option<(&'static str, String)>,
    agent: ureq::Agent,
    /// How failed calls are retried.
    pub retry: Retry,
}

/// How failed calls are retried.
#[derive(Debug, Clone, Copy)]
pub struct Retry {
    /// Retries after the first attempt.
    pub max_retries: u32,
    /// First backoff; doubled at each retry (without `Retry-After`).
    pub backoff: Duration,
    /// Upper bound of one wait, whatever the server asks.
    pub max_wait: Duration,
}

impl Default for Retry {
    /// Four retries from one second, waiting a minute at most.
    fn default() -> Retry {
        Retry { max_retries: 4, backoff: Duration::from_secs(1), max_wait: Duration::from_secs(60) }
    }
}

/// One answer as the transport got it: status, headers (names lower-case)
/// and body; `Err` is a transport failure's message (no answer).
pub type RawReply = Result<(u16, Vec<(String, String)>, String), String>;

/// Makes one call through `once` (called again for each retry), and turns
/// its answer into a [`Response`] or an [`ApiError`] naming `service`,
/// `method` and `shown` (the path, never the token).
pub fn send_with_retries(
    service: &'static str,
    method: &str,
    shown: &str,
    retry: &Retry,
    mut once: impl FnMut() -> RawReply,
) -> Result<Response, ApiError> {
    let mut attempt = 0;
    loop {
        let result = once();
        let backoff = retry.backoff * 2u32.pow(attempt);
        let (again, wait) = match &result {
            Ok((status, headers, _)) => retry_after(*status, headers, backoff),
            Err(_) => (true, backoff),
        };
        if again && attempt < retry.max_retries {
            let wait = wait.min(retry.max_wait);
            tracing::warn!("{service} API {method} {shown}: retrying in {wait:?} (attempt {})", attempt + 2);
            std::thread::sleep(wait);
            attempt += 1;
            continue;
        }
        let (status, headers, text) = result.map_err(|message| ApiError::Transport {
            service,
            method: method.into(),
            path: shown.into(),
            message,
        })?;
        let json: Value = if text.trim().is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text.clone()))
        };
        if status >= 400 {
            // GitHub: {"message": "…"}; GitLab: {"message": "…" or {field: […]}} or {"error": "…"}
            let message = match (&json["message"], &json["error"]) {
                (Value::String(m), _) | (_, Value::String(m)) => m.clone(),
                (m, _) if !m.is_null() => m.to_string(),
                _ => text.chars().take(200).collect(),
            };
            return Err(ApiError::Status { service, method: method.into(), path: shown.into(), status, message });
        }
        let next = headers.iter().find(|(k, _)| k == "link").and_then(|(_, v)| next_link(v));
        return Ok(Response { status, json, next });
    }
}

/// The headers of an answer as [`RawReply`] has them (names lower-case,
/// values that are not text empty).
pub fn header_pairs(headers: &ureq::http::HeaderMap) -> Vec<(String, String)> {
    headers.iter().map(|(k, v)| (k.as_str().to_ascii_lowercase(), v.to_str().unwrap_or("").to_owned())).collect()
}

/// The URL of `path` below `base` (a full URL, from a `Link` header, as it
/// is), and the path to show in messages (below `base`: never a host's
/// credentials).
pub fn target(base: &str, path: &str) -> (String, String) {
    let url = if path.starts_with("http://") || path.starts_with("https://") {
        path.to_owned()
    } else {
        format!("{base}{path}")
    };
    let shown = url.strip_prefix(base).unwrap_or(&url).to_owned();
    (url, shown)
}

/// GETs every page of a list endpoint through `get` (`per_page=100`,
/// following `Link: rel="next"`, at most 1000 pages). A page that is an
/// object (`{"total_count": …, "files": […]}`) gives its first array.
pub fn get_all(path: &str, mut get: impl FnMut(&str) -> Result<Response, ApiError>) -> Result<Vec<Value>, ApiError> {
    let sep = if path.contains('?') { '&' } else { '?' };
    let mut url = format!("{path}{sep}per_page=100");
    let mut out = Vec::new();
    for _ in 0..1000 {
        let r = get(&url)?;
        match r.json {
            Value::Array(items) => out.extend(items),
            other => {
                if let Some(items) = other.as_object().and_then(|o| o.values().find_map(|v| v.as_array())) {
                    out.extend(items.iter().cloned());
                }
            }
        }
        match r.next {
            Some(next) => url = next,
            None => break,
        }
    }
    Ok(out)
}

impl Client {
    /// A client of `service` at `base` (e.g. `https://api.github.com`,
    /// `https://gitlab.example.com/api/v4`) sending `headers` with every
    /// request and `auth` when there is a token.
    pub fn new(
        service: &'static str,
        base: &str,
        headers: Vec<(&'static str, String)>,
        auth: Option<(&'static str, String)>,
    ) -> Client {
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(60)))
            .user_agent(format!("bylaw/{}", env!("CARGO_PKG_VERSION")))
            .build();
        Client {
            service,
            base: base.trim_end_matches('/').to_owned(),
            headers,
            auth: auth.filter(|(_, t)| !t.is_empty()),
            agent: config.new_agent(),
            retry: Retry::default(),
        }
    }

    pub fn get(&self, path: &str) -> Result<Response, ApiError> {
        self.request("GET", path, None)
    }

    pub fn post(&self, path: &str, body: &Value) -> Result<Response, ApiError> {
        self.request("POST", path, Some(body))
    }

    pub fn patch(&self, path: &str, body: &Value) -> Result<Response, ApiError> {
        self.request("PATCH", path, Some(body))
    }

    pub fn put(&self, path: &str, body: &Value) -> Result<Response, ApiError> {
        self.request("PUT", path, Some(body))
    }

    /// GETs every page of a list endpoint (see [`get_all`]).
    pub fn get_all(&self, path: &str) -> Result<Vec<Value>, ApiError> {
        get_all(path, |url| self.get(url))
    }

    /// One call with retries. `path` is relative to the base URL, or a full
    /// URL from a `Link` header.
    pub fn request(&self, method: &str, path: &str, body: Option<&Value>) -> Result<Response, ApiError> {
        let (url, shown) = target(&self.base, path);
        send_with_retries(self.service, method, &shown, &self.retry, || self.once(method, &url, body))
    }

    fn once(&self, method: &str, url: &str, body: Option<&Value>) -> RawReply {
        let mut headers = self.headers.clone();
        if let Some(auth) = &self.auth {
            headers.push(auth.clone());
        }
        macro_rules! with_headers {
            ($req:expr) => {{
                let mut r = $req;
                for (k, v) in &headers {
                    r = r.header(*k, v.as_str());
                }
                r
            }};
        }
        let result = match (method, body) {
            ("GET", _) => with_headers!(self.agent.get(url)).call(),
            ("POST", Some(b)) => with_headers!(self.agent.post(url)).send_json(b),
            ("PATCH", Some(b)) => with_headers!(self.agent.patch(url)).send_json(b),
            ("PUT", Some(b)) => with_headers!(self.agent.put(url)).send_json(b),
            ("DELETE", _) => with_headers!(self.agent.delete(url)).call(),
            _ => return Err(format!("unsupported method {method}")),
        };
        let mut resp = result.map_err(|e| e.to_string())?;
        let status = resp.status().as_u16();
        let hs = header_pairs(resp.headers());
        let text = resp.body_mut().read_to_string().map_err(|e| e.to_string())?;
        Ok((status, hs, text))
    }
}

/// Whether to retry a response, and how long to wait first.
fn retry_after(status: u16, headers: &[(String, String)], backoff: Duration) -> (bool, Duration) {
    let header = |name: &str| headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
    if let Some(secs) = header("retry-after").and_then(|v| v.trim().parse::<u64>().ok()) {
        if status == 403 || status == 429 || status >= 500 {
            return (true, Duration::from_secs(secs));
        }
    }
    if (status == 403 || status == 429) && header("x-ratelimit-remaining") == Some("0") {
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
        let reset = header("x-ratelimit-reset").and_then(|v| v.parse::<u64>().ok()).unwrap_or(now + 60);
        return (true, Duration::from_secs(reset.saturating_sub(now)));
    }
    if status == 429 {
        return (true, backoff);
    }
    (status >= 500, backoff)
}

/// The `rel="next"` URL of a `Link` header.
fn next_link(link: &str) -> Option<String> {
    link.split(',').find_map(|part| {
        let (url, rel) = part.split_once(';')?;
        rel.contains("rel=\"next\"").then(|| url.trim().trim_start_matches('<').trim_end_matches('>').to_owned())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_headers_give_the_next_page() {
        let l = r#"<https://api.github.com/repositories/1/issues/2/comments?per_page=100&page=2>; rel="next", <https://api.github.com/repositories/1/issues/2/comments?per_page=100&page=5>; rel="last""#;
        assert_eq!(
            next_link(l).unwrap(),
            "https://api.github.com/repositories/1/issues/2/comments?per_page=100&page=2"
        );
        assert_eq!(next_link(r#"<https://x/y?page=1>; rel="prev""#), None);
    }

    #[test]
    fn retries_follow_retry_after_and_rate_limits() {
        let h = |pairs: &[(&str, &str)]| pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect::<Vec<_>>();
        let b = Duration::from_millis(10);
        assert_eq!(retry_after(502, &[], b), (true, b));
        assert_eq!(retry_after(403, &h(&[("retry-after", "3")]), b), (true, Duration::from_secs(3)));
        assert_eq!(retry_after(403, &[], b), (false, b), "a plain 403 is a permission problem");
        assert!(retry_after(403, &h(&[("x-ratelimit-remaining", "0")]), b).0);
        assert_eq!(retry_after(404, &[], b), (false, b));
        assert_eq!(retry_after(200, &[], b), (false, b));
    }
}
