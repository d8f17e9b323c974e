//! Policy bundles: bylaw's policies (YAML, Rego, Gatekeeper templates) and
//! their data files packed into one `.tar.gz` laid out like an OPA bundle
//! (<https://www.openpolicyagent.org/docs/latest/management-bundles/>), so
//! that OPA reads the Rego part of it as it is, signed with Ed25519 in OPA's
//! bundle-signature shape, and fetched from where it is published.
//!
//! Start from [`Bundle`]: [`Bundle::build`] from files, [`Bundle::read`]
//! from archive bytes (with limits: entries, sizes, no path traversal, no
//! links), [`Bundle::to_tar_gz`] (deterministic: the same files give the
//! same bytes), [`Bundle::sign`] and [`Bundle::verify`] ([`sign`]).
//! [`fetch`] reads an `https://` bundle and [`oci`] pushes and pulls one
//! to and from an OCI registry.
//!
//! The layout (what OPA reads, and where bylaw's own facts go):
//! - `.manifest`: JSON with OPA's `revision` and `roots` (`[""]`: the
//!   bundle may define any package and data path), and bylaw's name,
//!   version and file digests under `metadata.bylaw` — `metadata` is the
//!   manifest's free-form object, so OPA keeps it and ignores it.
//! - `*.rego`: modules OPA compiles; `data.json` anywhere: data OPA (and
//!   bylaw) merges at the path of its directory.
//! - bylaw's YAML policies and Gatekeeper templates, under their paths:
//!   OPA loads only `.rego`, `data.json`/`data.yaml` and its own dot files,
//!   and ignores the rest (but a signature covers every file).
//! - `.signatures.json`: `{"signatures": [JWS]}`, the JWS payload
//!   `{"files": [{"name", "hash", "algorithm": "SHA-256"}], "keyid"}`.
//!   Hashes are OPA's: the SHA-256 of the bytes, except for `.manifest` and
//!   `data.json`, hashed as canonical JSON (keys sorted, no spaces) — and
//!   bylaw writes those two canonical, so both readings agree.
//!
//! This crate does not parse policies (bylaw-engine does; the CLI decides
//! what goes in) and never reads the process environment: credentials and
//! CA files are passed in.

#![forbid(unsafe_code)]

mod archive;
pub mod fetch;
pub mod oci;
pub mod sign;

pub use archive::{file_digest, Bundle, DigestError, Limits, MANIFEST, SIGNATURES};
pub use sign::{KeyPair, PublicKey, VerifyError};

/// What bylaw writes in a bundle's `.manifest` under `metadata.bylaw`.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct BylawMeta {
    /// The bundle's name (`[a-z0-9-]+`, like a policy's).
    pub name: String,
    /// A semver version.
    pub version: String,
    /// Every file of the bundle but `.manifest` and `.signatures.json`:
    /// path → hex SHA-256 ([`file_digest`]).
    pub files: std::collections::BTreeMap<String, String>,
}

/// The parts of an OPA `.manifest` bylaw reads and writes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Manifest {
    /// OPA's `revision`.
    pub revision: String,
    /// OPA's `roots`.
    pub roots: Vec<String>,
    /// `metadata.bylaw`, absent in a bundle bylaw did not build.
    pub bylaw: Option<BylawMeta>,
}

/// Why a bundle could not be built, read or written.
#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    #[error("the bundle version `{0}` is not a semantic version (MAJOR.MINOR.PATCH, e.g. 1.4.2)")]
    Version(String),
    #[error("the bundle name `{0}` is not valid: lower-case letters, digits and `-`")]
    Name(String),
    /// The bytes are not a gzip-compressed tar archive (what is wrong, in words).
    #[error("{0}")]
    Archive(String),
    #[error("`{path}` in the archive: {why}")]
    Entry { path: String, why: String },
    #[error("the archive is over the limit of {0}")]
    TooLarge(String),
    #[error("`.manifest`: {0}")]
    Manifest(String),
    #[error("`{0}`: {1}")]
    Data(String, String),
}
