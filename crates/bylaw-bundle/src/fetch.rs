//! Fetching a bundle over HTTPS (ureq with rustls), and the HTTP agent the
//! OCI client shares.
//!
//! Plain `http://` is refused except for `localhost`, `127.0.0.1` and
//! `[::1]`: a bundle fetched without TLS can be replaced by anyone on the
//! way, and a signature only helps when one is required — a local mirror
//! or a test server on the loopback interface has no one on the way.
//! Redirects are followed (at most 5) but never from HTTPS to HTTP.

use std::path::Path;
use std::time::Duration;
use ureq::ResponseExt;

/// Why a fetch failed.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("`{0}` is not an http(s) URL")]
    Url(String),
    #[error("plain http:// is refused for `{0}`: use https:// (http is accepted for localhost only, where no one is on the way)")]
    PlainHttp(String),
    #[error("cannot read the CA file {path}: {why}")]
    CaFile { path: String, why: String },
    #[error("GET {url}: {why}")]
    Transport { url: String, why: String },
    #[error("GET {url}: HTTP {status}")]
    Status { url: String, status: u16 },
    #[error("GET {url}: the response is over the limit of {limit} bytes")]
    TooLarge { url: String, limit: u64 },
}

/// The host of an `http(s)://` or `oci://` URL (without port), when it
/// has one.
pub fn host_of(url: &str) -> Option<&str> {
    let rest = url.split_once("://")?.1;
    let authority = rest.split(['/', '?', '#']).next()?;
    let authority = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    if let Some(v6) = authority.strip_prefix('[') {
        return v6.split(']').next();
    }
    Some(authority.split(':').next().unwrap_or(authority))
}

/// Whether `host` is the loopback interface by name or address.
pub fn is_loopback(host: &str) -> bool {
    matches!(host, "localhost" | "127.0.0.1" | "::1")
}

/// Checks that `url` may be fetched: `https://`, or `http://` to the loopback interface.
///
/// # Errors
/// [`FetchError::Url`], [`FetchError::PlainHttp`].
pub fn check_url(url: &str) -> Result<(), FetchError> {
    if url.starts_with("https://") {
        return Ok(());
    }
    if !url.starts_with("http://") {
        return Err(FetchError::Url(url.to_owned()));
    }
    match host_of(url) {
        Some(h) if is_loopback(h) => Ok(()),
        _ => Err(FetchError::PlainHttp(url.to_owned())),
    }
}

/// An agent trusting the certificates of `ca_file` (PEM) instead of the
/// built-in WebPKI roots when given (as `curl --cacert`), HTTP statuses as
/// values, a 60 s limit per request.
///
/// # Errors
/// [`FetchError::CaFile`].
pub fn agent(ca_file: Option<&Path>) -> Result<ureq::Agent, FetchError> {
    let mut tls = ureq::tls::TlsConfig::builder();
    if let Some(path) = ca_file {
        let ca_err = |why: String| FetchError::CaFile { path: path.display().to_string(), why };
        let pem = std::fs::read(path).map_err(|e| ca_err(e.to_string()))?;
        let certs: Vec<ureq::tls::Certificate<'static>> = ureq::tls::parse_pem(&pem)
            .filter_map(|item| match item {
                Ok(ureq::tls::PemItem::Certificate(c)) => Some(c),
                _ => None,
            })
            .collect();
        if certs.is_empty() {
            return Err(ca_err("no PEM certificate in it".into()));
        }
        tls = tls.root_certs(ureq::tls::RootCerts::new_with_certs(&certs));
    }
    let config = ureq::Agent::config_builder()
        .tls_config(tls.build())
        .http_status_as_error(false)
        .max_redirects(5)
        .timeout_global(Some(Duration::from_secs(60)))
        .user_agent(format!("bylaw/{}", env!("CARGO_PKG_VERSION")))
        .build();
    Ok(config.new_agent())
}

/// GETs `url` (a bundle archive), at most `limit` bytes.
///
/// # Errors
/// [`FetchError`]: the URL, the CA file, the transport, a status other
/// than 200, the size.
pub fn get(url: &str, ca_file: Option<&Path>, limit: u64) -> Result<Vec<u8>, FetchError> {
    check_url(url)?;
    let agent = agent(ca_file)?;
    let transport = |e: ureq::Error| FetchError::Transport { url: url.to_owned(), why: e.to_string() };
    let mut resp = agent.get(url).call().map_err(transport)?;
    let status = resp.status().as_u16();
    if status != 200 {
        return Err(FetchError::Status { url: url.to_owned(), status });
    }
    if resp.get_uri().scheme_str() == Some("http") && url.starts_with("https://") {
        return Err(FetchError::PlainHttp(resp.get_uri().to_string()));
    }
    resp.body_mut().with_config().limit(limit).read_to_vec().map_err(|e| match e {
        ureq::Error::BodyExceedsLimit(_) => FetchError::TooLarge { url: url.to_owned(), limit },
        e => transport(e),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_http_is_for_the_loopback_only() {
        assert!(check_url("https://example.com/b.tar.gz").is_ok());
        assert!(check_url("http://127.0.0.1:8080/b.tar.gz").is_ok());
        assert!(check_url("http://localhost/b.tar.gz").is_ok());
        assert!(check_url("http://[::1]:80/b.tar.gz").is_ok());
        let e = check_url("http://example.com/b.tar.gz").unwrap_err();
        assert!(e.to_string().starts_with("plain http:// is refused for `http://example.com/b.tar.gz`"), "{e}");
        assert!(matches!(check_url("ftp://x/b"), Err(FetchError::Url(_))));
        assert_eq!(host_of("http://user@localhost.evil.com:80/x"), Some("localhost.evil.com"));
    }
}
