//! GitHub's REST API through `octocrab`, on a current-thread `tokio`
//! runtime the adapter owns (the rest of bylaw is synchronous: every call
//! blocks on it). Octocrab runs over a service stack built here rather than
//! its default client, so that every request carries exactly the headers
//! GitHub asks for and nothing else: `Accept: application/vnd.github+json`,
//! `X-GitHub-Api-Version` (octocrab's, [`API_VERSION`]), a bylaw user
//! agent, and the bearer token, sent to the API's own host only and marked
//! sensitive (never in a log, an error or a `Debug` print). TLS is rustls
//! with ring and the WebPKI roots; plain `http://` is allowed for mock
//! servers. The base URI is `GITHUB_API_URL` (GitHub Enterprise Server's
//! `https://HOST/api/v3`, or a mock's).
//!
//! Retries, backoff and error messages are [`bylaw_ci::http::send_with_retries`]'s,
//! pagination [`bylaw_ci::http::get_all`]'s, as for GitLab. Responses are
//! read into octocrab's typed models (GitHub REST docs: "Pull requests",
//! "Issue comments", "Check runs", "Commit statuses", "Collaborators",
//! "Team members"), request bodies are the typed structs of
//! [`crate::publish`].

use bylaw_ci::http::{self as rest, RawReply, Response, Retry};
use bylaw_ci::ApiError;
use http::header::{HeaderName, HeaderValue, ACCEPT, USER_AGENT};
use octocrab::service::middleware::auth_header::AuthHeaderLayer;
use octocrab::service::middleware::base_uri::BaseUriLayer;
use octocrab::service::middleware::extra_headers::ExtraHeadersLayer;
use octocrab::{AuthState, OctoBody, Octocrab, OctocrabBuilder};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::sync::Arc;
use std::time::Duration;

/// The REST API version bylaw is written against (octocrab sends it with
/// every request: a test checks they agree).
pub const API_VERSION: &str = "2022-11-28";

/// How long one attempt may take.
const TIMEOUT: Duration = Duration::from_secs(60);

const SERVICE: &str = "GitHub";

/// A client of the GitHub API at one base URI, with a token.
pub struct Api {
    /// The base URI without a trailing `/`, for building and showing paths.
    base: String,
    /// The runtime and the client, or why they could not be built (a bad
    /// `GITHUB_API_URL`: every call then fails with that message, as a
    /// transport error would).
    inner: Result<(tokio::runtime::Runtime, Octocrab), String>,
    /// How failed calls are retried.
    pub retry: Retry,
}

fn build(base: &str, token: &str) -> Result<(tokio::runtime::Runtime, Octocrab), String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the HTTP runtime: {e}"))?;
    let uri: http::Uri = base.parse().map_err(|e| format!("GITHUB_API_URL `{base}` is not a URL: {e}"))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let connector = hyper_rustls::HttpsConnectorBuilder::new()
        .with_provider_and_webpki_roots(provider)
        .map_err(|e| format!("cannot set up TLS: {e}"))?
        .https_or_http()
        .enable_http1()
        .build();
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build::<_, OctoBody>(connector);
    let header = |v: &str| HeaderValue::from_str(v).map_err(|e| format!("invalid header value: {e}"));
    let headers: Vec<(HeaderName, HeaderValue)> = vec![
        (USER_AGENT, header(&format!("bylaw/{}", env!("CARGO_PKG_VERSION")))?),
        (ACCEPT, header("application/vnd.github+json")?),
    ];
    let mut auth = HeaderValue::from_str(&format!("Bearer {token}"))
        .map_err(|_| "the GitHub token holds characters a header cannot carry".to_owned())?;
    auth.set_sensitive(true);
    // octocrab spawns its request buffer on the runtime it is built in
    let _entered = runtime.enter();
    let octocrab = OctocrabBuilder::new_empty()
        .with_service(client)
        .with_layer(&ExtraHeadersLayer::new(Arc::new(headers)))
        .with_layer(&BaseUriLayer::new(uri.clone()))
        .with_layer(&AuthHeaderLayer::new(Some(auth), uri.clone(), uri))
        .with_auth(AuthState::None)
        .build()
        .map_err(|e| format!("cannot build the GitHub client: {e}"))?;
    drop(_entered);
    Ok((runtime, octocrab))
}

/// An error with its chain of causes (`Service Error: client error
/// (Connect): tcp connect error: Connection refused (os error 111)`):
/// octocrab's and hyper's own messages name only the outermost layer,
/// which does not say what went wrong. Repeated messages are dropped.
fn with_causes(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        let text = c.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        cause = c.source();
    }
    out
}

impl Api {
    /// A client of the API at `base` (`https://api.github.com`,
    /// `https://ghe.example.com/api/v3`) authenticating with `token`.
    pub fn new(base: &str, token: &str) -> Api {
        let base = base.trim_end_matches('/').to_owned();
        let inner = build(&base, token);
        Api { base, inner, retry: Retry::default() }
    }

    /// One call with retries. `path` is below the base URI (`/repos/…`), or
    /// a full URL from a `Link` header.
    fn send<B: Serialize + Sync>(&self, method: &str, path: &str, body: Option<&B>) -> Result<Response, ApiError> {
        let (url, shown) = rest::target(&self.base, path);
        let once = || -> RawReply {
            let (runtime, octocrab) = self.inner.as_ref().map_err(Clone::clone)?;
            runtime.block_on(async {
                let call = async {
                    let sent = match method {
                        "POST" => octocrab._post(url.as_str(), body).await,
                        "PATCH" => octocrab._patch(url.as_str(), body).await,
                        _ => octocrab._get(url.as_str()).await,
                    };
                    let response = sent.map_err(|e| with_causes(&e))?;
                    let status = response.status().as_u16();
                    let headers = rest::header_pairs(response.headers());
                    let text = octocrab.body_to_string(response).await.map_err(|e| with_causes(&e))?;
                    Ok((status, headers, text))
                };
                tokio::time::timeout(TIMEOUT, call).await.map_err(|_| format!("no answer within {TIMEOUT:?}"))?
            })
        };
        rest::send_with_retries(SERVICE, method, &shown, &self.retry, once)
    }

    /// Reads a success answer into model `T`.
    fn decode<T: DeserializeOwned>(method: &str, path: &str, r: Response) -> Result<T, ApiError> {
        serde_json::from_value(r.json).map_err(|e| ApiError::Decode {
            service: SERVICE,
            method: method.into(),
            path: path.into(),
            message: e.to_string(),
        })
    }

    /// `GET path` as model `T`.
    pub fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, ApiError> {
        Api::decode("GET", path, self.send::<()>("GET", path, None)?)
    }

    /// Every page of the list at `path` (see [`bylaw_ci::http::get_all`]), as models `T`.
    pub fn get_all<T: DeserializeOwned>(&self, path: &str) -> Result<Vec<T>, ApiError> {
        let items = rest::get_all(path, |url| self.send::<()>("GET", url, None))?;
        items
            .into_iter()
            .map(|item| Api::decode("GET", path, Response { status: 200, json: item, next: None }))
            .collect()
    }

    /// `POST path` with JSON `body`, the answer as model `T`.
    pub fn post<B: Serialize + Sync, T: DeserializeOwned>(&self, path: &str, body: &B) -> Result<T, ApiError> {
        Api::decode("POST", path, self.send("POST", path, Some(body))?)
    }

    /// `PATCH path` with JSON `body`, the answer as model `T`.
    pub fn patch<B: Serialize + Sync, T: DeserializeOwned>(&self, path: &str, body: &B) -> Result<T, ApiError> {
        Api::decode("PATCH", path, self.send("PATCH", path, Some(body))?)
    }

    /// `PATCH path` with JSON `body`, whatever the answer's body.
    pub fn patch_only<B: Serialize + Sync>(&self, path: &str, body: &B) -> Result<(), ApiError> {
        self.send("PATCH", path, Some(body)).map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn octocrab_sends_the_api_version_bylaw_is_written_against() {
        assert!(octocrab::_SET_HEADERS_MAP.contains(&("X-GitHub-Api-Version", API_VERSION)));
    }

    #[test]
    fn a_bad_base_url_fails_each_call_without_the_token() {
        let mut api = Api::new("not a url", "ghs_SECRET");
        api.retry.max_retries = 0;
        let e = api.get::<serde_json::Value>("/repos/o/r").unwrap_err();
        assert!(e.to_string().contains("GITHUB_API_URL"), "{e}");
        assert!(!e.to_string().contains("SECRET"), "{e}");
    }
}
