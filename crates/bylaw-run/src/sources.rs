//! Policy sources turned into what the loader reads: plain paths and
//! `pack:NAME` pass through; a bundle (a `.tar.gz`/`.tgz` path, an
//! `https://` URL, an `oci://` reference) is read into memory, its
//! signature checked as `bundles:` of the config asks, and its policy files
//! handed to the loader as in-memory files named `BUNDLE!/path/in/bundle`,
//! its `data.json` files to Rego as data.
//!
//! Trust (`bundles:` of the config): with `require_signatures`, a bundle
//! that is unsigned, tampered with or signed by a key not in
//! `public_keys` is refused; without it, a signed bundle is verified
//! whenever keys are configured, and an unsigned one is loaded.
//! Nothing here reads the process environment: the CA file and registry
//! credentials the CLI found are in [`SourceOptions`].

use crate::RunError;
use bylaw_bundle::{Bundle, Limits, PublicKey};
use bylaw_engine::config::Config;
use bylaw_engine::diagnostic::{Code, Diagnostic};
use bylaw_engine::loader::MemoryFile;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// What the front end found for remote sources (environment variables,
/// files it chose).
#[derive(Clone, Debug, Default)]
pub struct SourceOptions {
    /// CA certificates (PEM) trusted for `https://` and registries instead
    /// of the built-in roots; wins over `bundles.ca_file` of the config.
    pub ca_file: Option<PathBuf>,
    /// Registry credentials (`BYLAW_REGISTRY_USER`/`BYLAW_REGISTRY_PASSWORD`,
    /// else docker's config).
    pub registry: Option<bylaw_bundle::oci::Credentials>,
    /// Docker's `config.json`, whose `auths` give credentials for a
    /// registry when [`SourceOptions::registry`] is `None`.
    pub docker_config: Option<PathBuf>,
    /// OCI sources (as written) pulled by this manifest digest rather than
    /// their tag (the lock's pins).
    pub oci_pins: std::collections::BTreeMap<String, String>,
}

impl SourceOptions {
    /// The credentials for `registry`.
    pub fn credentials_for(&self, registry: &str) -> Option<bylaw_bundle::oci::Credentials> {
        self.registry.clone().or_else(|| {
            self.docker_config.as_deref().and_then(|p| bylaw_bundle::oci::Credentials::from_docker_config(p, registry))
        })
    }
}

/// The sources of a run, resolved.
#[derive(Debug, Default)]
pub struct Resolved {
    /// Policy files, directories and `pack:` names for the loader.
    pub paths: Vec<PathBuf>,
    /// The policy files of bundles.
    pub memory: Vec<MemoryFile>,
    /// The data files of bundles: (display name, value nested at its path).
    pub data: Vec<(String, serde_json::Value)>,
    /// Warnings (a signed bundle not verified for want of keys).
    pub warnings: Vec<String>,
    /// What each source resolved to, in order (for the lock).
    pub fetched: Vec<Fetched>,
}

/// A bundle source as read: its name, the archive bytes' SHA-256, its
/// manifest's version, and for OCI the manifest digest.
#[derive(Clone, Debug)]
pub struct Fetched {
    pub source: String,
    pub sha256: String,
    pub version: Option<String>,
    pub oci_digest: Option<String>,
    /// The bundle's policy files, as handed to the loader.
    pub policy_files: Vec<MemoryFile>,
}

/// Whether a policy source names a bundle archive on disk (`.tar.gz`, `.tgz`).
pub fn is_bundle_path(s: &str) -> bool {
    s.ends_with(".tar.gz") || s.ends_with(".tgz")
}

/// Whether a policy source is remote (`https://`, `http://`, `oci://`):
/// never resolved against a directory.
pub fn is_remote(s: &str) -> bool {
    s.starts_with("https://") || s.starts_with("http://") || s.starts_with("oci://")
}

/// Whether a policy's display name is a file inside a bundle (`BUNDLE!/path`).
pub fn in_bundle(name: &str) -> bool {
    name.contains("!/")
}

/// The largest bundle archive read, compressed (64 MiB).
pub const MAX_ARCHIVE_BYTES: u64 = 64 << 20;

/// Resolves the policy sources `policies` (as [`crate::policy_paths`]
/// gives them) for `config`, with `options`, relative paths from
/// `working_dir`.
///
/// # Errors
/// [`RunError::Sources`] with a diagnostic per bundle that cannot be read,
/// fetched or trusted.
pub fn resolve(
    policies: &[PathBuf],
    config: &Config,
    options: &SourceOptions,
    working_dir: &Path,
) -> Result<Resolved, RunError> {
    let mut out = Resolved::default();
    let mut diagnostics = Vec::new();
    let mut keys: Option<Vec<PublicKey>> = None;
    for p in policies {
        let given = p.to_string_lossy().into_owned();
        let remote = is_remote(&given);
        if !remote && !is_bundle_path(&given) {
            out.paths.push(p.clone());
            continue;
        }
        let trusted = keys.get_or_insert_with(|| read_keys(config, &mut diagnostics));
        let name = if remote { given.clone() } else { bylaw_engine::loader::display_path(p, working_dir) };
        let fetched = if remote {
            fetch_remote(&given, config, options)
        } else {
            read_local(&bylaw_engine::paths::absolute(working_dir, p))
        };
        let fetched = fetched.and_then(|(bytes, oci_digest)| {
            let bundle = Bundle::read(&bytes, Limits::default()).map_err(Problem::archive)?;
            let version = bundle.manifest().ok().flatten().and_then(|m| m.bylaw).map(|b| b.version);
            let record = Fetched {
                source: given.clone(),
                sha256: Bundle::digest_of(&bytes),
                version,
                oci_digest,
                policy_files: Vec::new(),
            };
            Ok((bundle, record))
        });
        match fetched.and_then(|(bundle, mut record)| {
            trust(&bundle, config, trusted, &name, &mut out.warnings)?;
            let before = out.memory.len();
            add_bundle(&bundle, &name, &mut out).map_err(Problem::archive)?;
            record.policy_files = out.memory[before..].to_vec();
            Ok(record)
        }) {
            Ok(record) => out.fetched.push(record),
            Err(p) => diagnostics.push(Diagnostic::error(Code::Io, &name, None, p.message).with_hint(p.hint)),
        }
    }
    if diagnostics.is_empty() {
        Ok(out)
    } else {
        Err(RunError::Sources { diagnostics, sources: Default::default() })
    }
}

/// Why a source could not be used, and what to do about it: each kind of
/// problem has its own hint (a missing file is not a signature problem).
#[derive(Debug)]
struct Problem {
    message: String,
    hint: String,
}

/// The hint of every trust problem: signature, key or digest.
const TRUST_HINT: &str =
    "`bylaw bundle verify FILE --key PUBLIC.pem` checks a bundle; `bundles:` of .bylaw.yaml says which keys are trusted";

impl Problem {
    fn new(message: impl Into<String>, hint: impl Into<String>) -> Problem {
        Problem { message: message.into(), hint: hint.into() }
    }

    /// A file that is not a bundle bylaw reads.
    fn archive(e: impl std::fmt::Display) -> Problem {
        Problem::new(
            e.to_string(),
            "the file is not a bundle bylaw can read: `bylaw bundle build PATHS… -o FILE` writes one, `tar tzf FILE` lists what it holds",
        )
    }

    fn fetch(e: bylaw_bundle::fetch::FetchError) -> Problem {
        Problem::new(e.to_string(), fetch_hint(&e))
    }

    fn oci(e: bylaw_bundle::oci::OciError) -> Problem {
        use bylaw_bundle::oci::OciError as O;
        let hint = match &e {
            O::Reference(..) => "write oci://HOST[:PORT]/REPOSITORY:TAG (or …@sha256:DIGEST), the repository in lower case".to_owned(),
            O::Fetch(f) => fetch_hint(f),
            O::Transport { .. } => {
                "check the registry host and that it is reachable; a private CA goes in `bundles.ca_file` or BYLAW_CA_FILE".to_owned()
            }
            O::Status { status, .. } => status_hint(*status, "the repository and tag (`bylaw bundle push FILE oci://…` publishes one)"),
            O::Manifest(_) => "the registry holds something that is not a bylaw/OPA bundle at that reference: `bylaw bundle push` stores one".to_owned(),
            O::Digest { .. } => "the registry served bytes that do not match their digest: pull again, or check the registry".to_owned(),
            O::TooLarge(_) => format!("a bundle is at most {MAX_ARCHIVE_BYTES} bytes: split the policies into several bundles"),
        };
        Problem::new(e.to_string(), hint)
    }
}

/// The hint for a failed `https://` fetch.
fn fetch_hint(e: &bylaw_bundle::fetch::FetchError) -> String {
    use bylaw_bundle::fetch::FetchError as F;
    match e {
            F::Url(_) => "a bundle URL starts with https://".to_owned(),
            F::PlainHttp(_) => {
                "serve the bundle over https:// (plain http:// is accepted for localhost only); a private CA goes in `bundles.ca_file` or BYLAW_CA_FILE".to_owned()
            }
            F::CaFile { .. } => "`bundles.ca_file` (or BYLAW_CA_FILE) names a PEM file of CA certificates".to_owned(),
            F::Transport { .. } => {
                "check the URL and that the server is reachable; a private CA goes in `bundles.ca_file` or BYLAW_CA_FILE".to_owned()
            }
            F::Status { status, .. } => status_hint(*status, "the URL and the version in it"),
            F::TooLarge { .. } => format!("a bundle is at most {MAX_ARCHIVE_BYTES} bytes: split the policies into several bundles"),
        }
}

/// The hint for an HTTP status from a bundle server or registry.
fn status_hint(status: u16, what: &str) -> String {
    match status {
        401 | 403 => "the server refused access: give credentials (BYLAW_REGISTRY_USER and BYLAW_REGISTRY_PASSWORD, or `docker login`, for a registry)".to_owned(),
        404 => format!("nothing is published there: check {what}"),
        500..=599 => "the server failed: try again later, or ask its operators".to_owned(),
        _ => format!("check {what}"),
    }
}

fn read_local(path: &Path) -> Result<(Vec<u8>, Option<String>), Problem> {
    use std::io::Read;
    let hint = "check the path among `policies:` of .bylaw.yaml (relative to its directory) or given with `-p`";
    let file = std::fs::File::open(path).map_err(|e| Problem::new(format!("cannot read the bundle: {e}"), hint))?;
    if !file.metadata().map(|m| m.is_file()).unwrap_or(false) {
        return Err(Problem::new("cannot read the bundle: not a regular file", hint));
    }
    let mut bytes = Vec::new();
    file.take(MAX_ARCHIVE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| Problem::new(format!("cannot read the bundle: {e}"), hint))?;
    if bytes.len() as u64 > MAX_ARCHIVE_BYTES {
        return Err(Problem::new(
            format!("the bundle is over the limit of {MAX_ARCHIVE_BYTES} bytes"),
            "split the policies into several bundles",
        ));
    }
    Ok((bytes, None))
}

/// The CA file: the front end's, else the config's.
fn ca_file(config: &Config, options: &SourceOptions) -> Option<PathBuf> {
    options.ca_file.clone().or_else(|| config.bundles.ca_file.as_ref().map(|c| config.resolve(c)))
}

fn fetch_remote(source: &str, config: &Config, options: &SourceOptions) -> Result<(Vec<u8>, Option<String>), Problem> {
    let ca = ca_file(config, options);
    let ca = ca.as_deref();
    if source.starts_with("oci://") {
        let mut reference = bylaw_bundle::oci::Reference::parse(source).map_err(Problem::oci)?;
        if let Some(pin) = options.oci_pins.get(source) {
            reference = reference.at_digest(pin);
        }
        let client =
            bylaw_bundle::oci::Client::new(ca, options.credentials_for(&reference.registry)).map_err(Problem::oci)?;
        let pulled = client.pull(&reference, MAX_ARCHIVE_BYTES).map_err(Problem::oci)?;
        Ok((pulled.bundle, Some(pulled.manifest_digest)))
    } else {
        let bytes = bylaw_bundle::fetch::get(source, ca, MAX_ARCHIVE_BYTES).map_err(Problem::fetch)?;
        Ok((bytes, None))
    }
}

const KEY_HINT: &str = "`bundles.public_keys` names Ed25519 public keys in PEM files, relative to the config (`bylaw bundle keygen -o PREFIX` writes PREFIX.pub)";

/// The configured public keys; problems become diagnostics at the key file.
fn read_keys(config: &Config, diagnostics: &mut Vec<Diagnostic>) -> Vec<PublicKey> {
    let mut keys = Vec::new();
    for k in &config.bundles.public_keys {
        let path = config.resolve(k);
        let shown = config.file.as_deref().map(|f| format!("{f}: bundles.public_keys: {k}")).unwrap_or(k.clone());
        match std::fs::read_to_string(&path) {
            Ok(pem) => match PublicKey::from_pem(&pem) {
                Ok(key) => keys.push(key),
                Err(e) => {
                    diagnostics.push(Diagnostic::error(Code::Io, &shown, None, e.to_string()).with_hint(KEY_HINT))
                }
            },
            Err(e) => diagnostics.push(
                Diagnostic::error(Code::Io, &shown, None, format!("cannot read the key: {e}")).with_hint(KEY_HINT),
            ),
        }
    }
    keys
}

/// Applies `bundles:` to one bundle: a signed bundle is verified with the
/// configured keys; its files always match the digests of its `.manifest`
/// (no key needed: corruption and edits are caught everywhere); a signed
/// bundle with no key to check it has its files checked against the
/// hashes the signature lists and is loaded with a warning that the
/// signature itself was NOT verified.
fn trust(
    bundle: &Bundle,
    config: &Config,
    keys: &[PublicKey],
    name: &str,
    warnings: &mut Vec<String>,
) -> Result<(), Problem> {
    let refused = |e: bylaw_bundle::VerifyError| Problem::new(format!("bundle refused: {e}"), TRUST_HINT);
    let required = config.bundles.require_signatures;
    if required && keys.is_empty() {
        // `Config::parse` refuses this; a config built in code may not
        return Err(Problem::new(
            "`bundles.require_signatures` is on but `bundles.public_keys` names no key to verify with",
            "list the publisher's public keys under `bundles.public_keys` in .bylaw.yaml",
        ));
    }
    let verify = !keys.is_empty() && (required || bundle.is_signed());
    if verify {
        // the signature covers `.manifest` too: its reason comes first
        bundle.verify(keys).map_err(refused)?;
    }
    bundle.check_digests().map_err(|e| {
        Problem::new(
            format!("bundle refused: {e}"),
            "the bundle changed after `bylaw bundle build` wrote it: fetch or build it again (`bylaw bundle verify FILE --key PUBLIC.pem` checks a signed one)",
        )
    })?;
    if bundle.is_signed() && !verify {
        let signer = bundle.check_signed_hashes().map_err(refused)?;
        warnings.push(format!(
            "{name}: the bundle is signed (key {signer}) but its signature was NOT verified: no `bundles.public_keys` in the config"
        ));
    }
    Ok(())
}

fn add_bundle(bundle: &Bundle, name: &str, out: &mut Resolved) -> Result<(), String> {
    for (path, bytes) in bundle.content_files() {
        let policy = path.ends_with(".yaml") || path.ends_with(".yml") || path.ends_with(".rego");
        let base = path.rsplit('/').next().unwrap_or(path);
        if !policy || base.starts_with("data.") {
            continue;
        }
        let text = std::str::from_utf8(bytes).map_err(|_| format!("`{path}` in the bundle is not UTF-8 text"))?;
        out.memory.push(MemoryFile { name: format!("{name}!/{path}"), text: Arc::from(text) });
    }
    let data = bundle.data().map_err(|e| e.to_string())?;
    out.data.extend(data.into_iter().map(|(p, v)| (format!("{name}!/{p}"), v)));
    Ok(())
}
