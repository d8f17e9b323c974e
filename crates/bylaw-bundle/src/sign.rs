//! Signing and verifying bundles: OPA's bundle-signature format
//! (<https://www.openpolicyagent.org/docs/latest/management-bundles/#signature-format>)
//! with Ed25519 keys — a JWS in compact form (RFC 7515), algorithm `EdDSA`
//! (RFC 8037), in `.signatures.json` as `{"signatures": [JWS]}`.
//!
//! The JWS header is `{"alg": "EdDSA", "kid": KEYID}`, its payload
//! `{"files": [{"name", "hash", "algorithm": "SHA-256"}…], "keyid": KEYID}`
//! listing every file of the bundle but `.signatures.json` with OPA's
//! hash ([`crate::file_digest`]). The key id is derived from the public
//! key ([`PublicKey::id`]), so a verifier finds the key among the ones it
//! trusts without configuring ids; OPA's `keys:` can name it the same.
//!
//! Keys are PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`) and SPKI PEM
//! (`-----BEGIN PUBLIC KEY-----`), as `openssl genpkey -algorithm ed25519`
//! writes them.

use crate::archive::hex;
use crate::{file_digest, Bundle, SIGNATURES};
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use ed25519_dalek::pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey};
use ed25519_dalek::{Signer, Verifier};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// An Ed25519 key pair (the signer's).
pub struct KeyPair(ed25519_dalek::SigningKey);

impl std::fmt::Debug for KeyPair {
    /// The public key id only: a private key is never printed.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "KeyPair({})", self.public().id())
    }
}

/// An Ed25519 public key (a verifier's).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublicKey(ed25519_dalek::VerifyingKey);

/// Why a key could not be made, read or written.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("no randomness from the operating system: {0}")]
    Random(String),
    #[error("not an Ed25519 private key in PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`): {0}")]
    Private(String),
    #[error("not an Ed25519 public key in PEM (`-----BEGIN PUBLIC KEY-----`): {0}")]
    Public(String),
}

impl KeyPair {
    /// A new key pair from the operating system's randomness.
    ///
    /// # Errors
    /// [`KeyError::Random`].
    pub fn generate() -> Result<KeyPair, KeyError> {
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed).map_err(|e| KeyError::Random(e.to_string()))?;
        Ok(KeyPair(ed25519_dalek::SigningKey::from_bytes(&seed)))
    }

    /// Reads a PKCS#8 PEM private key.
    ///
    /// # Errors
    /// [`KeyError::Private`].
    pub fn from_pem(pem: &str) -> Result<KeyPair, KeyError> {
        ed25519_dalek::SigningKey::from_pkcs8_pem(pem).map(KeyPair).map_err(|e| KeyError::Private(e.to_string()))
    }

    /// The private key as PKCS#8 PEM.
    ///
    /// # Errors
    /// [`KeyError::Private`] (encoding cannot fail for a valid key).
    pub fn to_pem(&self) -> Result<String, KeyError> {
        self.0
            .to_pkcs8_pem(ed25519_dalek::pkcs8::spki::der::pem::LineEnding::LF)
            .map(|z| z.to_string())
            .map_err(|e| KeyError::Private(e.to_string()))
    }

    /// Its public half.
    pub fn public(&self) -> PublicKey {
        PublicKey(self.0.verifying_key())
    }
}

impl PublicKey {
    /// Reads an SPKI PEM public key.
    ///
    /// # Errors
    /// [`KeyError::Public`].
    pub fn from_pem(pem: &str) -> Result<PublicKey, KeyError> {
        ed25519_dalek::VerifyingKey::from_public_key_pem(pem)
            .map(PublicKey)
            .map_err(|e| KeyError::Public(e.to_string()))
    }

    /// The public key as SPKI PEM.
    ///
    /// # Errors
    /// [`KeyError::Public`] (encoding cannot fail for a valid key).
    pub fn to_pem(&self) -> Result<String, KeyError> {
        self.0
            .to_public_key_pem(ed25519_dalek::pkcs8::spki::der::pem::LineEnding::LF)
            .map_err(|e| KeyError::Public(e.to_string()))
    }

    /// The key id: `ed25519:` and the first 16 hex digits of the SHA-256 of
    /// the 32-byte public key.
    pub fn id(&self) -> String {
        format!("ed25519:{}", &hex(&Sha256::digest(self.0.as_bytes()))[..16])
    }
}

/// Why a bundle's signature does not hold, in the words a user reads
/// after the bundle's name.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum VerifyError {
    #[error("the bundle is not signed (no .signatures.json)")]
    Unsigned,
    #[error("`.signatures.json` is not OPA's signature format: {0}")]
    Format(String),
    #[error("signed with the unknown key id `{found}` (trusted: {})", if .trusted.is_empty() { "none".to_owned() } else { .trusted.join(", ") })]
    UnknownKey { found: String, trusted: Vec<String> },
    #[error("the signature algorithm is `{0}`; bylaw verifies `EdDSA` (Ed25519)")]
    Algorithm(String),
    #[error("bad signature: the signed file list was not signed by key `{0}`")]
    BadSignature(String),
    #[error("`{0}` was changed after signing (its SHA-256 differs from the signed one)")]
    Tampered(String),
    #[error("`{0}` is in the bundle but not in its signature (added after signing)")]
    Unlisted(String),
    #[error("`{0}` is signed but missing from the bundle")]
    Missing(String),
}

/// What a good signature says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verified {
    /// The id of the key that signed.
    pub key_id: String,
}

impl Bundle {
    /// Signs the bundle with `key`: replaces `.signatures.json` with one
    /// JWS over every other file.
    pub fn sign(&mut self, key: &KeyPair) {
        let kid = key.public().id();
        let files: Vec<Value> = self
            .all_files()
            .filter(|(p, _)| *p != SIGNATURES)
            .map(|(p, b)| json!({ "name": p, "hash": file_digest(p, b), "algorithm": "SHA-256" }))
            .collect();
        let header = json!({ "alg": "EdDSA", "kid": kid });
        let payload = json!({ "files": files, "keyid": kid });
        let signing_input = format!("{}.{}", B64.encode(header.to_string()), B64.encode(payload.to_string()));
        let sig = key.0.sign(signing_input.as_bytes());
        let jws = format!("{signing_input}.{}", B64.encode(sig.to_bytes()));
        let doc = json!({ "signatures": [jws] });
        self.set_file(SIGNATURES, crate::archive::canonical_json(&doc).into_bytes());
    }

    /// Verifies the signature against `trusted` keys, then every file:
    /// each signed file present with its hash, no file unsigned.
    ///
    /// # Errors
    /// The first [`VerifyError`] met, in this order: unsigned, format,
    /// unknown key, algorithm, bad signature, then files in path order.
    pub fn verify(&self, trusted: &[PublicKey]) -> Result<Verified, VerifyError> {
        let jws = self.signature()?;
        let Some(key) = trusted.iter().find(|k| k.id() == jws.kid) else {
            return Err(VerifyError::UnknownKey {
                found: jws.kid,
                trusted: trusted.iter().map(PublicKey::id).collect(),
            });
        };
        let alg = jws.header.get("alg").and_then(Value::as_str).unwrap_or_default();
        if alg != "EdDSA" {
            return Err(VerifyError::Algorithm(alg.to_owned()));
        }
        let sig = ed25519_dalek::Signature::from_slice(&jws.signature)
            .map_err(|_| VerifyError::BadSignature(jws.kid.clone()))?;
        key.0.verify(jws.signing_input.as_bytes(), &sig).map_err(|_| VerifyError::BadSignature(jws.kid.clone()))?;
        self.check_files(&jws.payload)?;
        Ok(Verified { key_id: jws.kid })
    }

    /// The key id the bundle says it is signed with (the JWS `kid`, else
    /// the payload's `keyid`), the signature not checked: who signed, for
    /// `bundle sign` to refuse replacing another key's signature.
    ///
    /// # Errors
    /// [`VerifyError::Unsigned`], [`VerifyError::Format`].
    pub fn signer(&self) -> Result<String, VerifyError> {
        self.signature().map(|jws| jws.kid)
    }

    /// Checks every file against the hashes the signature lists, without a
    /// key (so the signature itself is NOT verified): a bundle changed
    /// after signing is caught where no key is configured, e.g. before a
    /// push. Returns the signer's key id.
    ///
    /// # Errors
    /// [`VerifyError::Unsigned`], [`VerifyError::Format`], then files in
    /// path order ([`VerifyError::Tampered`], [`VerifyError::Unlisted`],
    /// [`VerifyError::Missing`]).
    pub fn check_signed_hashes(&self) -> Result<String, VerifyError> {
        let jws = self.signature()?;
        self.check_files(&jws.payload)?;
        Ok(jws.kid)
    }

    /// `.signatures.json` read: OPA's format, exactly one compact JWS.
    fn signature(&self) -> Result<Jws, VerifyError> {
        let bytes = self.file(SIGNATURES).ok_or(VerifyError::Unsigned)?;
        let doc: Value = serde_json::from_slice(bytes).map_err(|e| VerifyError::Format(e.to_string()))?;
        let sigs = doc
            .get("signatures")
            .and_then(Value::as_array)
            .ok_or_else(|| VerifyError::Format("no `signatures` list".into()))?;
        let [token] = sigs.as_slice() else {
            return Err(VerifyError::Format(format!("{} signatures; exactly one is expected", sigs.len())));
        };
        let token = token.as_str().ok_or_else(|| VerifyError::Format("a signature is not a string".into()))?;
        let parts: Vec<&str> = token.split('.').collect();
        let [h, p, s] = parts.as_slice() else {
            return Err(VerifyError::Format("the JWS is not in compact form (three parts)".into()));
        };
        let decode = |part: &str, what: &str| -> Result<Vec<u8>, VerifyError> {
            B64.decode(part).map_err(|e| VerifyError::Format(format!("the JWS {what} is not base64url: {e}")))
        };
        let header: Value = serde_json::from_slice(&decode(h, "header")?)
            .map_err(|e| VerifyError::Format(format!("the JWS header: {e}")))?;
        let payload: Value = serde_json::from_slice(&decode(p, "payload")?)
            .map_err(|e| VerifyError::Format(format!("the JWS payload: {e}")))?;
        let kid = header
            .get("kid")
            .and_then(Value::as_str)
            .or_else(|| payload.get("keyid").and_then(Value::as_str))
            .unwrap_or_default()
            .to_owned();
        let signature = decode(s, "signature")?;
        Ok(Jws { signing_input: format!("{h}.{p}"), header, payload, kid, signature })
    }

    /// Every file against the JWS payload's list.
    fn check_files(&self, payload: &Value) -> Result<(), VerifyError> {
        let listed = payload
            .get("files")
            .and_then(Value::as_array)
            .ok_or_else(|| VerifyError::Format("the JWS payload has no `files` list".into()))?;
        let mut signed: BTreeMap<&str, &str> = BTreeMap::new();
        for f in listed {
            let name = f.get("name").and_then(Value::as_str).unwrap_or_default();
            let alg = f.get("algorithm").and_then(Value::as_str).unwrap_or_default();
            if alg != "SHA-256" {
                return Err(VerifyError::Format(format!("`{name}` is hashed with `{alg}`; bylaw verifies SHA-256")));
            }
            let name = name.trim_start_matches('/');
            signed.insert(name, f.get("hash").and_then(Value::as_str).unwrap_or_default());
        }
        for (path, bytes) in self.all_files().filter(|(p, _)| *p != SIGNATURES) {
            match signed.remove(path) {
                None => return Err(VerifyError::Unlisted(path.to_owned())),
                Some(hash) if !hash.eq_ignore_ascii_case(&file_digest(path, bytes)) => {
                    return Err(VerifyError::Tampered(path.to_owned()))
                }
                Some(_) => {}
            }
        }
        if let Some((missing, _)) = signed.into_iter().next() {
            return Err(VerifyError::Missing(missing.to_owned()));
        }
        Ok(())
    }
}

/// A compact JWS of `.signatures.json`, decoded.
struct Jws {
    /// `HEADER.PAYLOAD` as written: what the signature covers.
    signing_input: String,
    header: Value,
    payload: Value,
    kid: String,
    signature: Vec<u8>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Limits;

    fn bundle() -> Bundle {
        let mut files = BTreeMap::new();
        files.insert("p.yaml".to_owned(), b"a: 1\n".to_vec());
        files.insert("main.rego".to_owned(), b"package main\n".to_vec());
        Bundle::build(files, "acme", "1.0.0", "").unwrap()
    }

    #[test]
    fn a_signed_bundle_verifies_and_every_change_is_named() {
        let key = KeyPair::generate().unwrap();
        let pem = key.to_pem().unwrap();
        assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----"), "{pem}");
        let key = KeyPair::from_pem(&pem).unwrap();
        let public = PublicKey::from_pem(&key.public().to_pem().unwrap()).unwrap();
        let mut b = bundle();
        assert_eq!(b.verify(std::slice::from_ref(&public)), Err(VerifyError::Unsigned));
        b.sign(&key);
        let b = Bundle::read(&b.to_tar_gz(), Limits::default()).unwrap();
        assert_eq!(b.verify(std::slice::from_ref(&public)).unwrap().key_id, public.id());

        let mut tampered = b.clone();
        tampered.set_file("p.yaml", b"a: 2\n".to_vec());
        assert_eq!(tampered.verify(std::slice::from_ref(&public)), Err(VerifyError::Tampered("p.yaml".into())));
        let mut added = b.clone();
        added.set_file("zz.rego", b"package x\n".to_vec());
        assert_eq!(added.verify(std::slice::from_ref(&public)), Err(VerifyError::Unlisted("zz.rego".into())));

        assert_eq!(b.signer().unwrap(), public.id());
        assert_eq!(b.check_signed_hashes().unwrap(), public.id());
        assert_eq!(tampered.check_signed_hashes(), Err(VerifyError::Tampered("p.yaml".into())));
        assert_eq!(bundle().check_signed_hashes(), Err(VerifyError::Unsigned));

        let other = KeyPair::generate().unwrap().public();
        let e = b.verify(std::slice::from_ref(&other)).unwrap_err();
        assert_eq!(e, VerifyError::UnknownKey { found: public.id(), trusted: vec![other.id()] });

        // a signature made by another key under this key's id
        let mut forged = b.clone();
        let sigs: Value = serde_json::from_slice(b.file(SIGNATURES).unwrap()).unwrap();
        let token = sigs["signatures"][0].as_str().unwrap();
        let (input, _) = token.rsplit_once('.').unwrap();
        let bad = KeyPair::generate().unwrap().0.sign(input.as_bytes());
        let doc = json!({ "signatures": [format!("{input}.{}", B64.encode(bad.to_bytes()))] });
        forged.set_file(SIGNATURES, doc.to_string().into_bytes());
        assert_eq!(forged.verify(&[public]), Err(VerifyError::BadSignature(key.public().id())));
    }

    #[test]
    fn bad_keys_are_explained() {
        assert!(KeyPair::from_pem("nope").unwrap_err().to_string().starts_with("not an Ed25519 private key"));
        assert!(PublicKey::from_pem("nope").unwrap_err().to_string().starts_with("not an Ed25519 public key"));
    }
}
