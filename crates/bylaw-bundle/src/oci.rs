//! Pushing and pulling a bundle to and from an OCI registry (the OCI
//! distribution spec, <https://github.com/opencontainers/distribution-spec>),
//! as OPA stores bundles in one: an image manifest
//! (`application/vnd.oci.image.manifest.v1+json`) whose config is `{}` as
//! `application/vnd.oci.image.config.v1+json` and whose one layer is the
//! bundle archive as `application/vnd.oci.image.layer.v1.tar+gzip` — the
//! media types OPA's OCI downloader reads (its docs push with `oras push
//! … --config config.json:application/vnd.oci.image.config.v1+json
//! bundle.tar.gz:application/vnd.oci.image.layer.v1.tar+gzip`).
//!
//! A small client over ureq rather than the `oci-client` crate (0.15,
//! `rustls-tls`). Measured: it adds 24 crates to the tree (reqwest, oci-spec
//! with derive_builder/darling proc macros, jwt, …), about 17 s of CPU of
//! a clean debug build at -j1 — not much; but it is async (bylaw-run is
//! blocking and would need a runtime per pull), brings a third HTTP stack
//! beside ureq and octocrab's hyper (so `bundles.ca_file` would be set up
//! twice, once per stack), and what is needed here is six requests (HEAD,
//! POST, PUT a blob; PUT, GET a manifest; GET a blob) and the token
//! exchange, a page of code over the agent `https://` sources already use.
//! Every request is exercised by the tests against a real registry
//! (Debian's docker-registry).
//!
//! References: `oci://HOST[:PORT]/REPO[:TAG]` or `…/REPO@sha256:DIGEST`
//! (tag `latest` when none). The registry is reached over HTTPS, except a
//! registry on `localhost`/`127.0.0.1`/`[::1]`, reached over plain HTTP (as
//! docker treats such registries as insecure ones). Auth: anonymous, or
//! [`Credentials`] sent as HTTP basic, or exchanged for a bearer token when
//! the registry answers `401` with `WWW-Authenticate: Bearer realm=…`.

use crate::fetch::{agent, is_loopback, FetchError};
use base64::Engine;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::path::Path;

/// OCI image manifest media type.
pub const MANIFEST_MEDIA_TYPE: &str = "application/vnd.oci.image.manifest.v1+json";
/// The config media type OPA expects.
pub const CONFIG_MEDIA_TYPE: &str = "application/vnd.oci.image.config.v1+json";
/// The layer media type of the bundle archive (OPA's).
pub const LAYER_MEDIA_TYPE: &str = "application/vnd.oci.image.layer.v1.tar+gzip";

/// A user and password (or token) for a registry.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    pub user: String,
    pub password: String,
}

impl Credentials {
    /// The credentials docker keeps for `registry` (`host[:port]`) in its
    /// `config.json`: `auths.REGISTRY.auth`, base64 of `user:password`
    /// (also under `https://REGISTRY`). Credential helpers (`credsStore`)
    /// are not run. `None` when there are none or the file is unreadable.
    pub fn from_docker_config(path: &Path, registry: &str) -> Option<Credentials> {
        let text = std::fs::read_to_string(path).ok()?;
        let config: Value = serde_json::from_str(&text).ok()?;
        let auths = config.get("auths")?.as_object()?;
        let entry = auths.get(registry).or_else(|| auths.get(&format!("https://{registry}")))?;
        let decoded = base64::engine::general_purpose::STANDARD.decode(entry.get("auth")?.as_str()?).ok()?;
        let (user, password) = std::str::from_utf8(&decoded).ok()?.split_once(':')?;
        Some(Credentials { user: user.to_owned(), password: password.to_owned() })
    }
}

impl std::fmt::Debug for Credentials {
    /// The user only: a password is never printed.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Credentials({}, ***)", self.user)
    }
}

/// Why a registry operation failed.
#[derive(Debug, thiserror::Error)]
pub enum OciError {
    /// The reference and what is wrong with it.
    #[error("`{0}` is not an OCI reference: {1}")]
    Reference(String, String),
    #[error("{0}")]
    Fetch(#[from] FetchError),
    #[error("{method} {url}: {why}")]
    Transport { method: &'static str, url: String, why: String },
    #[error("{method} {url}: HTTP {status}{}", if .detail.is_empty() { String::new() } else { format!(": {}", .detail) })]
    Status { method: &'static str, url: String, status: u16, detail: String },
    #[error("{0}")]
    Manifest(String),
    #[error("the blob {digest} does not match its digest (got sha256:{got})")]
    Digest { digest: String, got: String },
    #[error("the registry answered with a blob over the limit of {0} bytes")]
    TooLarge(u64),
}

/// A tag as the OCI distribution spec's grammar has it:
/// `[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}`.
fn valid_tag(t: &str) -> bool {
    let mut bytes = t.bytes();
    matches!(bytes.next(), Some(b) if b.is_ascii_alphanumeric() || b == b'_')
        && t.len() <= 128
        && bytes.all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
}

/// What is wrong with a repository name by the OCI distribution spec's
/// grammar (`<name>`: path components `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*`
/// joined by `/`, lower case only), or `None`.
fn repository_problem(repository: &str) -> Option<String> {
    const GRAMMAR: &str = "(OCI distribution spec: `[a-z0-9]+((\\.|_|__|-+)[a-z0-9]+)*`, components joined by `/`)";
    if repository.is_empty() {
        return Some("no repository after the host: expected oci://HOST[:PORT]/REPOSITORY[:TAG]".into());
    }
    if repository.bytes().any(|b| b.is_ascii_uppercase()) {
        return Some(format!(
            "the repository name `{repository}` has upper-case letters: repository names must be lower case {GRAMMAR}; write `{}`",
            repository.to_ascii_lowercase()
        ));
    }
    for component in repository.split('/') {
        let alnum = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
        let bytes = component.as_bytes();
        let mut ok = !bytes.is_empty() && alnum(bytes[0]) && alnum(bytes[bytes.len() - 1]);
        // separators: one `.`, one or two `_`, any number of `-`, between alphanumerics
        let mut i = 0;
        while ok && i < bytes.len() {
            let b = bytes[i];
            if alnum(b) {
                i += 1;
                continue;
            }
            let run = bytes[i..].iter().take_while(|c| !alnum(**c)).count();
            let sep = &component[i..i + run];
            ok = sep == "." || sep == "_" || sep == "__" || sep.bytes().all(|c| c == b'-');
            i += run;
        }
        if !ok {
            return Some(if component.is_empty() {
                format!("the repository name `{repository}` has an empty path component {GRAMMAR}")
            } else {
                format!("the repository path component `{component}` is not valid: lower-case letters and digits, separated by one `.`, `_` or `__`, or by dashes {GRAMMAR}")
            });
        }
    }
    None
}

/// A parsed `oci://` reference.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reference {
    /// `host[:port]`.
    pub registry: String,
    pub repository: String,
    /// A tag, or a digest `sha256:…`.
    pub reference: String,
}

impl Reference {
    /// Parses `oci://HOST[:PORT]/REPO[:TAG|@sha256:HEX]`.
    ///
    /// # Errors
    /// [`OciError::Reference`].
    pub fn parse(s: &str) -> Result<Reference, OciError> {
        let bad = |why: String| OciError::Reference(s.to_owned(), why);
        let expected = || bad("expected oci://HOST[:PORT]/REPOSITORY[:TAG] or …@sha256:DIGEST".into());
        let rest = s.strip_prefix("oci://").ok_or_else(expected)?;
        let (registry, path) = rest.split_once('/').ok_or_else(expected)?;
        if registry.is_empty() || path.is_empty() {
            return Err(expected());
        }
        let (repository, reference) = if let Some((r, d)) = path.split_once('@') {
            let hex = d.strip_prefix("sha256:").unwrap_or("");
            if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(bad(format!("the digest `{d}` is not `sha256:` and 64 hex digits")));
            }
            (r, d.to_ascii_lowercase())
        } else {
            match path.rsplit_once(':') {
                Some((r, t)) if !t.contains('/') => {
                    if !valid_tag(t) {
                        return Err(bad(format!(
                            "the tag `{t}` is not valid: a tag is 1 to 128 letters, digits, `_`, `.` and `-`, not starting with `.` or `-` (OCI distribution spec: `[a-zA-Z0-9_][a-zA-Z0-9._-]{{0,127}}`)"
                        )));
                    }
                    (r, t.to_owned())
                }
                _ => (path, "latest".to_owned()),
            }
        };
        if let Some(why) = repository_problem(repository) {
            return Err(bad(why));
        }
        Ok(Reference { registry: registry.to_owned(), repository: repository.to_owned(), reference })
    }

    /// The same repository at `digest`.
    pub fn at_digest(&self, digest: &str) -> Reference {
        Reference { reference: digest.to_owned(), ..self.clone() }
    }

    /// Whether it names a digest rather than a tag.
    pub fn is_digest(&self) -> bool {
        self.reference.starts_with("sha256:")
    }

    fn base(&self) -> String {
        let host = crate::fetch::host_of(&format!("oci://{}", self.registry)).unwrap_or_default().to_owned();
        let scheme = if is_loopback(&host) { "http" } else { "https" };
        format!("{scheme}://{}/v2/{}", self.registry, self.repository)
    }
}

impl std::fmt::Display for Reference {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let sep = if self.is_digest() { "@" } else { ":" };
        write!(f, "oci://{}/{}{sep}{}", self.registry, self.repository, self.reference)
    }
}

/// What a pull gives.
#[derive(Clone, Debug)]
pub struct Pulled {
    /// The bundle archive (the layer's bytes, digest checked).
    pub bundle: Vec<u8>,
    /// `sha256:…` of the manifest.
    pub manifest_digest: String,
}

/// A registry client.
pub struct Client {
    agent: ureq::Agent,
    credentials: Option<Credentials>,
    /// The `Authorization` value that worked last (basic or bearer).
    auth: std::cell::RefCell<Option<String>>,
}

fn sha256(bytes: &[u8]) -> String {
    format!("sha256:{}", crate::archive::hex(&Sha256::digest(bytes)))
}

/// `key="value"` pairs of a `WWW-Authenticate` challenge.
fn challenge_params(header: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = header.split_once(' ').map_or("", |(_, r)| r).trim();
    while let Some((key, after)) = rest.split_once('=') {
        let key = key.trim().trim_start_matches(',').trim();
        let (value, next) = match after.strip_prefix('"') {
            Some(quoted) => quoted.split_once('"').unwrap_or((quoted, "")),
            None => after.split_once(',').unwrap_or((after, "")),
        };
        out.push((key.to_owned(), value.to_owned()));
        rest = next.trim_start_matches(',').trim();
    }
    out
}

type Resp = ureq::http::Response<ureq::Body>;

impl Client {
    /// A client trusting `ca_file` instead of the built-in roots, with
    /// `credentials` when given.
    ///
    /// # Errors
    /// [`OciError::Fetch`] for the CA file.
    pub fn new(ca_file: Option<&Path>, credentials: Option<Credentials>) -> Result<Client, OciError> {
        Ok(Client { agent: agent(ca_file)?, credentials, auth: std::cell::RefCell::new(None) })
    }

    fn send(
        &self,
        method: &'static str,
        url: &str,
        headers: &[(&str, &str)],
        body: Option<&[u8]>,
    ) -> Result<Resp, OciError> {
        let transport = |e: ureq::Error| OciError::Transport { method, url: url.to_owned(), why: e.to_string() };
        let build = |auth: Option<&str>| {
            let mut req = ureq::http::Request::builder().method(method).uri(url);
            for (k, v) in headers {
                req = req.header(*k, *v);
            }
            if let Some(a) = auth {
                req = req.header("Authorization", a);
            }
            req
        };
        let run = |auth: Option<&str>| -> Result<Resp, OciError> {
            let req = build(auth);
            let result = match body {
                Some(b) => req.body(b.to_vec()).map(|r| self.agent.run(r)),
                None => req.body(()).map(|r| self.agent.run(r)),
            };
            result
                .map_err(|e| OciError::Transport { method, url: url.to_owned(), why: e.to_string() })?
                .map_err(transport)
        };
        let current = self.auth.borrow().clone();
        let resp = run(current.as_deref())?;
        if resp.status().as_u16() != 401 {
            return Ok(resp);
        }
        let challenge = resp.headers().get("www-authenticate").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
        let Some(auth) = self.authorize(&challenge)? else { return Ok(resp) };
        let retried = run(Some(&auth))?;
        if retried.status().as_u16() != 401 {
            *self.auth.borrow_mut() = Some(auth);
        }
        Ok(retried)
    }

    /// The `Authorization` value answering `challenge`, or `None` when
    /// there is nothing to answer it with.
    fn authorize(&self, challenge: &str) -> Result<Option<String>, OciError> {
        let basic = self.credentials.as_ref().map(|c| {
            format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{}:{}", c.user, c.password)))
        });
        if !challenge.to_ascii_lowercase().starts_with("bearer") {
            return Ok(basic);
        }
        let params = challenge_params(challenge);
        let get = |k: &str| params.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        let Some(realm) = get("realm") else { return Ok(basic) };
        crate::fetch::check_url(realm)?;
        let mut query = Vec::new();
        for key in ["service", "scope"] {
            if let Some(v) = get(key) {
                query.push(format!("{key}={}", v.replace(' ', "%20")));
            }
        }
        let url = if query.is_empty() { realm.to_owned() } else { format!("{realm}?{}", query.join("&")) };
        let mut req = self.agent.get(&url);
        if let Some(b) = &basic {
            req = req.header("Authorization", b);
        }
        let mut resp =
            req.call().map_err(|e| OciError::Transport { method: "GET", url: url.clone(), why: e.to_string() })?;
        let status = resp.status().as_u16();
        if status != 200 {
            return Err(OciError::Status { method: "GET", url, status, detail: "token request refused".into() });
        }
        let body: Value = resp
            .body_mut()
            .with_config()
            .limit(1 << 20)
            .read_json()
            .map_err(|e| OciError::Transport { method: "GET", url: url.clone(), why: e.to_string() })?;
        let token = body.get("token").or_else(|| body.get("access_token")).and_then(Value::as_str);
        Ok(token.map(|t| format!("Bearer {t}")))
    }

    fn expect(method: &'static str, url: &str, mut resp: Resp, ok: &[u16]) -> Result<Resp, OciError> {
        let status = resp.status().as_u16();
        if ok.contains(&status) {
            return Ok(resp);
        }
        let detail = resp.body_mut().with_config().limit(4096).read_to_string().unwrap_or_default();
        let detail: String = detail.chars().filter(|c| !c.is_control()).take(300).collect();
        let detail = match status {
            401 | 403 => format!("{detail} (set BYLAW_REGISTRY_USER and BYLAW_REGISTRY_PASSWORD)"),
            _ => detail,
        };
        Err(OciError::Status { method, url: url.to_owned(), status, detail: detail.trim().to_owned() })
    }

    fn push_blob(&self, r: &Reference, bytes: &[u8]) -> Result<String, OciError> {
        let digest = sha256(bytes);
        let url = format!("{}/blobs/{digest}", r.base());
        let head = self.send("HEAD", &url, &[], None)?;
        if head.status().as_u16() == 200 {
            return Ok(digest);
        }
        let start = format!("{}/blobs/uploads/", r.base());
        let resp = Self::expect("POST", &start, self.send("POST", &start, &[], Some(&[]))?, &[202])?;
        let location = resp
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| OciError::Manifest(format!("POST {start}: no Location header in the answer")))?;
        let location = if location.starts_with('/') {
            let origin: String = r.base().splitn(4, '/').take(3).collect::<Vec<_>>().join("/");
            format!("{origin}{location}")
        } else {
            location.to_owned()
        };
        let sep = if location.contains('?') { '&' } else { '?' };
        let put = format!("{location}{sep}digest={digest}");
        let resp = self.send("PUT", &put, &[("Content-Type", "application/octet-stream")], Some(bytes))?;
        Self::expect("PUT", &put, resp, &[201])?;
        Ok(digest)
    }

    /// Pushes `bundle` (archive bytes) as `reference` (a tag): config and
    /// layer blobs, then the manifest. Returns the manifest digest.
    ///
    /// # Errors
    /// [`OciError`] of the first request that failed.
    pub fn push(&self, reference: &Reference, bundle: &[u8], annotations: &[(&str, &str)]) -> Result<String, OciError> {
        let config = b"{}";
        let config_digest = self.push_blob(reference, config)?;
        let layer_digest = self.push_blob(reference, bundle)?;
        let annotations: serde_json::Map<String, Value> =
            annotations.iter().map(|(k, v)| ((*k).to_owned(), Value::String((*v).to_owned()))).collect();
        let manifest = json!({
            "schemaVersion": 2,
            "mediaType": MANIFEST_MEDIA_TYPE,
            "config": { "mediaType": CONFIG_MEDIA_TYPE, "digest": config_digest, "size": config.len() },
            "layers": [{
                "mediaType": LAYER_MEDIA_TYPE,
                "digest": layer_digest,
                "size": bundle.len(),
                "annotations": { "org.opencontainers.image.title": "bundle.tar.gz" },
            }],
            "annotations": annotations,
        });
        let body = serde_json::to_vec(&manifest).map_err(|e| OciError::Manifest(e.to_string()))?;
        let url = format!("{}/manifests/{}", reference.base(), reference.reference);
        let resp = self.send("PUT", &url, &[("Content-Type", MANIFEST_MEDIA_TYPE)], Some(&body))?;
        Self::expect("PUT", &url, resp, &[201])?;
        Ok(sha256(&body))
    }

    /// Pulls the bundle at `reference`: the manifest (its digest checked
    /// when the reference is one), then the `tar+gzip` layer (its digest
    /// checked), at most `limit` bytes.
    ///
    /// # Errors
    /// [`OciError`].
    pub fn pull(&self, reference: &Reference, limit: u64) -> Result<Pulled, OciError> {
        let url = format!("{}/manifests/{}", reference.base(), reference.reference);
        let resp = self.send("GET", &url, &[("Accept", MANIFEST_MEDIA_TYPE)], None)?;
        let mut resp = Self::expect("GET", &url, resp, &[200])?;
        let body = resp.body_mut().with_config().limit(4 << 20).read_to_vec().map_err(|e| OciError::Transport {
            method: "GET",
            url: url.clone(),
            why: e.to_string(),
        })?;
        let manifest_digest = sha256(&body);
        if reference.is_digest() && manifest_digest != reference.reference {
            return Err(OciError::Digest { digest: reference.reference.clone(), got: manifest_digest });
        }
        let manifest: Value = serde_json::from_slice(&body)
            .map_err(|e| OciError::Manifest(format!("{reference}: the manifest is not JSON: {e}")))?;
        let layers = manifest.get("layers").and_then(Value::as_array).cloned().unwrap_or_default();
        let layer =
            layers.iter().find(|l| l.get("mediaType").and_then(Value::as_str) == Some(LAYER_MEDIA_TYPE)).ok_or_else(
                || OciError::Manifest(format!("{reference}: no layer of type {LAYER_MEDIA_TYPE}: not a policy bundle")),
            )?;
        let digest = layer.get("digest").and_then(Value::as_str).unwrap_or_default().to_owned();
        if !digest.starts_with("sha256:") {
            return Err(OciError::Manifest(format!("{reference}: the layer's digest `{digest}` is not sha256")));
        }
        let size = layer.get("size").and_then(Value::as_u64).unwrap_or(0);
        if size > limit {
            return Err(OciError::TooLarge(limit));
        }
        let url = format!("{}/blobs/{digest}", reference.base());
        let resp = Self::expect("GET", &url, self.send("GET", &url, &[], None)?, &[200])?;
        let mut resp = resp;
        let bytes = resp.body_mut().with_config().limit(limit).read_to_vec().map_err(|e| match e {
            ureq::Error::BodyExceedsLimit(_) => OciError::TooLarge(limit),
            e => OciError::Transport { method: "GET", url: url.clone(), why: e.to_string() },
        })?;
        let got = sha256(&bytes);
        if got != digest {
            return Err(OciError::Digest { digest, got: got.trim_start_matches("sha256:").to_owned() });
        }
        Ok(Pulled { bundle: bytes, manifest_digest })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_parse_or_say_what_is_expected() {
        let r = Reference::parse("oci://127.0.0.1:5000/acme/policies:1.0.0").unwrap();
        assert_eq!(
            (r.registry.as_str(), r.repository.as_str(), r.reference.as_str()),
            ("127.0.0.1:5000", "acme/policies", "1.0.0")
        );
        assert_eq!(r.base(), "http://127.0.0.1:5000/v2/acme/policies");
        assert_eq!(r.to_string(), "oci://127.0.0.1:5000/acme/policies:1.0.0");
        let r = Reference::parse("oci://ghcr.io/acme/p").unwrap();
        assert_eq!((r.reference.as_str(), r.base().as_str()), ("latest", "https://ghcr.io/v2/acme/p"));
        let d = format!("sha256:{}", "a".repeat(64));
        let r = Reference::parse(&format!("oci://reg.example/acme/p@{d}")).unwrap();
        assert!(r.is_digest());
        assert_eq!(r.to_string(), format!("oci://reg.example/acme/p@{d}"));
        for bad in [
            "oci://host",
            "oci://host/",
            "https://x/y",
            "oci://h/Acme:1",
            "oci://h/a@sha256:12",
            "oci://h/a..b",
            "oci://h/a:-x",
        ] {
            assert!(matches!(Reference::parse(bad), Err(OciError::Reference(..))), "{bad}");
        }
        let e = Reference::parse("oci://reg.example/Acme/Policies:1.0.0").unwrap_err().to_string();
        assert!(e.starts_with("`oci://reg.example/Acme/Policies:1.0.0` is not an OCI reference: the repository name `Acme/Policies` has upper-case letters: repository names must be lower case"), "{e}");
        assert!(e.ends_with("write `acme/policies`"), "{e}");
        assert!(Reference::parse("oci://h/a__b/c-d--e/f.g_h:V1.0_x").is_ok());
        let e = Reference::parse("oci://h/a@sha256:12").unwrap_err().to_string();
        assert!(e.contains("the digest `sha256:12` is not `sha256:` and 64 hex digits"), "{e}");
    }

    #[test]
    fn bearer_challenges_are_read() {
        let p = challenge_params(
            r#"Bearer realm="https://auth.example/token",service="reg",scope="repository:a/b:pull,push""#,
        );
        assert_eq!(p[0], ("realm".to_owned(), "https://auth.example/token".to_owned()));
        assert_eq!(p[2].1, "repository:a/b:pull,push");
    }
}
