//! The archive: reading one safely, writing one deterministically, and the
//! `.manifest`.

use crate::{BundleError, BylawMeta, Manifest};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::io::Read;

/// OPA's manifest file name.
pub const MANIFEST: &str = ".manifest";
/// OPA's signature file name.
pub const SIGNATURES: &str = ".signatures.json";

/// What [`Bundle::read`] accepts at most: an archive is untrusted input.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Entries (files and directories).
    pub entries: usize,
    /// Bytes of one file.
    pub file_bytes: u64,
    /// Bytes of all files together, uncompressed.
    pub total_bytes: u64,
}

impl Default for Limits {
    /// 10,000 entries, 16 MiB a file, 64 MiB in all.
    fn default() -> Limits {
        Limits { entries: 10_000, file_bytes: 16 << 20, total_bytes: 64 << 20 }
    }
}

/// Why a bundle's files do not match the digests of its `.manifest`
/// ([`Bundle::check_digests`]), in the words a user reads after the
/// bundle's name.
#[derive(Debug, thiserror::Error)]
pub enum DigestError {
    #[error("{0}")]
    Manifest(BundleError),
    #[error("`{0}` does not match its SHA-256 in `.manifest` (changed or corrupted after the bundle was built)")]
    Changed(String),
    #[error("`{0}` is not among the file digests of `.manifest` (added after the bundle was built)")]
    Unlisted(String),
    #[error("`{0}` is listed in `.manifest` but missing from the bundle")]
    Missing(String),
}

/// A bundle in memory: every file by its `/`-separated path in the archive
/// (`.manifest` and `.signatures.json` included), in path order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Bundle {
    files: BTreeMap<String, Vec<u8>>,
}

/// The hex SHA-256 of a bundle file as OPA computes it for signatures
/// (`bundle/hash.go`): of the bytes, except for `.manifest`, `data.json`,
/// `data.yaml` and `.signatures.json`, hashed as their JSON value with keys
/// sorted and no spaces. `data.yaml` is not read here (bylaw writes
/// `data.json`): its bytes are hashed.
pub fn file_digest(path: &str, bytes: &[u8]) -> String {
    let base = path.rsplit('/').next().unwrap_or(path);
    if matches!(base, "data.json" | MANIFEST | SIGNATURES) {
        if let Ok(v) = serde_json::from_slice::<Value>(bytes) {
            return hex(&Sha256::digest(canonical_json(&v).as_bytes()));
        }
    }
    hex(&Sha256::digest(bytes))
}

/// Lower-case hex.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// JSON with object keys sorted and no whitespace, strings escaped as Go's
/// encoder does without HTML escaping (OPA's hashing).
pub(crate) fn canonical_json(v: &Value) -> String {
    let mut out = String::new();
    write_canonical(v, &mut out);
    out
}

fn write_canonical(v: &Value, out: &mut String) {
    match v {
        Value::Object(map) => {
            out.push('{');
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_string(k, out);
                out.push(':');
                write_canonical(&map[k], out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        Value::String(s) => write_string(s, out),
        other => out.push_str(&other.to_string()),
    }
}

fn write_string(s: &str, out: &mut String) {
    let quoted = Value::String(s.to_owned()).to_string();
    // Go's encoder also escapes the JavaScript line terminators
    out.push_str(&quoted.replace('\u{2028}', "\\u2028").replace('\u{2029}', "\\u2029"));
}

/// A path as it may appear in a bundle: relative, `/`-separated, no `.` or
/// `..` segment, no NUL or backslash. A leading `/` or `./` (OPA writes
/// `/policy.rego`) is dropped.
fn clean_path(raw: &str) -> Result<String, String> {
    let trimmed = raw.trim_start_matches("./").trim_start_matches('/');
    if trimmed.is_empty() {
        return Err("an empty path".into());
    }
    if trimmed.contains('\0') || trimmed.contains('\\') {
        return Err("a path with a NUL or a backslash".into());
    }
    let mut parts = Vec::new();
    for seg in trimmed.split('/') {
        match seg {
            "" | "." => continue,
            ".." => return Err("a path that leaves the bundle (`..`)".into()),
            s => parts.push(s),
        }
    }
    if parts.is_empty() {
        return Err("an empty path".into());
    }
    Ok(parts.join("/"))
}

fn valid_name(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

impl Bundle {
    /// A bundle of `files` (path in the bundle → bytes) with a `.manifest`
    /// naming it `name` at `version` (semver, checked) and `revision`.
    /// `data.json` files are rewritten as canonical JSON (so OPA's hash and
    /// the bytes' agree).
    ///
    /// # Errors
    /// [`BundleError::Version`], [`BundleError::Name`], a file with a bad
    /// path or named like bundle's own files ([`BundleError::Entry`]), a
    /// `data.json` that is not a JSON object ([`BundleError::Data`]).
    pub fn build(
        files: BTreeMap<String, Vec<u8>>,
        name: &str,
        version: &str,
        revision: &str,
    ) -> Result<Bundle, BundleError> {
        if semver::Version::parse(version).is_err() {
            return Err(BundleError::Version(version.to_owned()));
        }
        if !valid_name(name) {
            return Err(BundleError::Name(name.to_owned()));
        }
        let mut out = BTreeMap::new();
        for (path, bytes) in files {
            let clean = clean_path(&path).map_err(|why| BundleError::Entry { path: path.clone(), why })?;
            let base = clean.rsplit('/').next().unwrap_or(&clean);
            if base.starts_with('.') && matches!(base, MANIFEST | SIGNATURES | ".manifest.json") {
                return Err(BundleError::Entry { path, why: "the name of a file of the bundle itself".into() });
            }
            let bytes = if base == "data.json" {
                let v: Value =
                    serde_json::from_slice(&bytes).map_err(|e| BundleError::Data(clean.clone(), e.to_string()))?;
                if !v.is_object() {
                    return Err(BundleError::Data(clean, "a data file's document must be a JSON object".into()));
                }
                canonical_json(&v).into_bytes()
            } else {
                bytes
            };
            if out.insert(clean.clone(), bytes).is_some() {
                return Err(BundleError::Entry { path: clean, why: "named twice".into() });
            }
        }
        let digests: BTreeMap<String, String> = out.iter().map(|(p, b)| (p.clone(), file_digest(p, b))).collect();
        let meta = BylawMeta { name: name.to_owned(), version: version.to_owned(), files: digests };
        let manifest = json!({
            "revision": revision,
            "roots": [""],
            "metadata": { "bylaw": meta },
        });
        out.insert(MANIFEST.to_owned(), canonical_json(&manifest).into_bytes());
        Ok(Bundle { files: out })
    }

    /// Reads a `.tar.gz` bundle from memory within `limits`: regular files
    /// and directories only (a symlink, hardlink or device is refused), no
    /// path leaving the bundle, no file twice.
    ///
    /// # Errors
    /// [`BundleError::Archive`], [`BundleError::Entry`],
    /// [`BundleError::TooLarge`].
    pub fn read(bytes: &[u8], limits: Limits) -> Result<Bundle, BundleError> {
        // RFC 1952: gzip data starts with the bytes 1f 8b (without this, a
        // text file would be "unexpected end of file")
        if !bytes.starts_with(&[0x1f, 0x8b]) {
            return Err(BundleError::Archive(
                "not a gzip archive (a bundle is a gzip-compressed tar archive, `.tar.gz`; gzip data starts with the bytes 1f 8b)"
                    .into(),
            ));
        }
        let gz = flate2::read::GzDecoder::new(bytes);
        // the decompressed stream is cut at the limit (a gzip bomb stops there)
        let mut archive = tar::Archive::new(gz.take(limits.total_bytes.saturating_mul(2) + (1 << 20)));
        let unreadable =
            |e: std::io::Error| BundleError::Archive(format!("not a readable gzip-compressed tar archive: {e}"));
        let entries = archive.entries().map_err(unreadable)?;
        let mut files = BTreeMap::new();
        let mut total = 0u64;
        for (n, entry) in entries.enumerate() {
            if n >= limits.entries {
                return Err(BundleError::TooLarge(format!("{} entries", limits.entries)));
            }
            let mut entry = entry.map_err(unreadable)?;
            let raw = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
            let kind = entry.header().entry_type();
            if kind.is_dir() {
                continue;
            }
            if kind.is_pax_global_extensions() || kind.is_pax_local_extensions() || kind.is_gnu_longname() {
                continue;
            }
            if !kind.is_file() {
                let what = if kind.is_symlink() {
                    "a symbolic link"
                } else if kind.is_hard_link() {
                    "a hard link"
                } else {
                    "not a regular file"
                };
                return Err(BundleError::Entry { path: raw, why: format!("{what}: bundles hold regular files only") });
            }
            let path = clean_path(&raw).map_err(|why| BundleError::Entry { path: raw.clone(), why })?;
            let size = entry.header().size().unwrap_or(u64::MAX);
            if size > limits.file_bytes {
                return Err(BundleError::TooLarge(format!("{} bytes a file (`{path}`)", limits.file_bytes)));
            }
            total = total.saturating_add(size);
            if total > limits.total_bytes {
                return Err(BundleError::TooLarge(format!("{} bytes in all", limits.total_bytes)));
            }
            let mut content = Vec::with_capacity(size as usize);
            entry
                .by_ref()
                .take(limits.file_bytes + 1)
                .read_to_end(&mut content)
                .map_err(|e| BundleError::Entry { path: path.clone(), why: e.to_string() })?;
            if files.insert(path.clone(), content).is_some() {
                return Err(BundleError::Entry { path, why: "in the archive twice".into() });
            }
        }
        if files.is_empty() {
            return Err(BundleError::Archive("the archive holds no file: not a bundle".into()));
        }
        Ok(Bundle { files })
    }

    /// The archive: entries in path order, mode 0644, owner 0, time 0, a
    /// gzip header without name or time — the same files give the same
    /// bytes.
    pub fn to_tar_gz(&self) -> Vec<u8> {
        let gz = flate2::GzBuilder::new().mtime(0).write(Vec::new(), flate2::Compression::default());
        let mut tar = tar::Builder::new(gz);
        tar.mode(tar::HeaderMode::Deterministic);
        for (path, bytes) in &self.files {
            let mut header = tar::Header::new_gnu();
            header.set_size(bytes.len() as u64);
            header.set_mode(0o644);
            header.set_mtime(0);
            header.set_uid(0);
            header.set_gid(0);
            header.set_entry_type(tar::EntryType::Regular);
            // writing to memory cannot fail; a path is checked when added
            let _ = tar.append_data(&mut header, path, bytes.as_slice());
        }
        tar.into_inner().and_then(|gz| gz.finish()).unwrap_or_default()
    }

    /// A bundle of exactly `files` (paths as they are, nothing checked or
    /// added): for tools that rewrite an archive, and tests.
    pub fn from_files(files: BTreeMap<String, Vec<u8>>) -> Bundle {
        Bundle { files }
    }

    /// Every file, `.manifest` and `.signatures.json` included, in path order.
    pub fn all_files(&self) -> impl Iterator<Item = (&str, &[u8])> {
        self.files.iter().map(|(p, b)| (p.as_str(), b.as_slice()))
    }

    /// The content files: all but `.manifest` and `.signatures.json`.
    pub fn content_files(&self) -> impl Iterator<Item = (&str, &[u8])> {
        self.all_files().filter(|(p, _)| *p != MANIFEST && *p != SIGNATURES)
    }

    /// One file's bytes.
    pub fn file(&self, path: &str) -> Option<&[u8]> {
        self.files.get(path).map(Vec::as_slice)
    }

    /// Whether the bundle has a `.signatures.json`.
    pub fn is_signed(&self) -> bool {
        self.files.contains_key(SIGNATURES)
    }

    pub(crate) fn set_file(&mut self, path: &str, bytes: Vec<u8>) {
        self.files.insert(path.to_owned(), bytes);
    }

    /// The `.manifest`, when there is one.
    ///
    /// # Errors
    /// [`BundleError::Manifest`] when it is not OPA's JSON shape.
    pub fn manifest(&self) -> Result<Option<Manifest>, BundleError> {
        let Some(bytes) = self.files.get(MANIFEST) else { return Ok(None) };
        let v: Value = serde_json::from_slice(bytes).map_err(|e| BundleError::Manifest(e.to_string()))?;
        let revision = match v.get("revision") {
            None | Some(Value::Null) => String::new(),
            Some(Value::String(s)) => s.clone(),
            Some(_) => return Err(BundleError::Manifest("`revision` must be a string".into())),
        };
        let roots = match v.get("roots") {
            None | Some(Value::Null) => vec![String::new()],
            Some(Value::Array(a)) => a.iter().map(|r| r.as_str().unwrap_or_default().to_owned()).collect(),
            Some(_) => return Err(BundleError::Manifest("`roots` must be a list of strings".into())),
        };
        let bylaw = match v.pointer("/metadata/bylaw") {
            None => None,
            Some(m) => Some(
                serde_json::from_value::<BylawMeta>(m.clone())
                    .map_err(|e| BundleError::Manifest(format!("`metadata.bylaw`: {e}")))?,
            ),
        };
        Ok(Some(Manifest { revision, roots, bylaw }))
    }

    /// The data files (`data.json` anywhere) as OPA merges them: each
    /// value nested under the path of its directory. (path, value).
    ///
    /// # Errors
    /// [`BundleError::Data`] for a file that is not a JSON object, or a
    /// `data.yaml` (bylaw writes `data.json`; convert it).
    pub fn data(&self) -> Result<Vec<(String, Value)>, BundleError> {
        let mut out = Vec::new();
        for (path, bytes) in self.content_files() {
            let (dir, base) = match path.rsplit_once('/') {
                Some((d, b)) => (d, b),
                None => ("", path),
            };
            match base {
                "data.json" => {}
                "data.yaml" | "data.yml" => {
                    return Err(BundleError::Data(
                        path.to_owned(),
                        "YAML data in a bundle is not read by bylaw: `bylaw bundle build` writes it as data.json"
                            .into(),
                    ))
                }
                _ => continue,
            }
            let mut value: Value =
                serde_json::from_slice(bytes).map_err(|e| BundleError::Data(path.to_owned(), e.to_string()))?;
            if !value.is_object() {
                return Err(BundleError::Data(path.to_owned(), "a data file's document must be a JSON object".into()));
            }
            for key in dir.split('/').filter(|s| !s.is_empty()).rev() {
                value = json!({ key: value });
            }
            out.push((path.to_owned(), value));
        }
        Ok(out)
    }

    /// Checks every file against the digests bylaw wrote in `.manifest`
    /// (`metadata.bylaw.files`) when it built the bundle — no key needed, so
    /// a corrupted or edited bundle is refused even where signatures are
    /// not configured. A bundle without `metadata.bylaw` (not built by
    /// bylaw) has no digests to check: `Ok(false)`; checked: `Ok(true)`.
    ///
    /// # Errors
    /// [`DigestError::Manifest`] for a `.manifest` that is not OPA's JSON
    /// shape; then files in path order: [`DigestError::Changed`],
    /// [`DigestError::Unlisted`], [`DigestError::Missing`].
    pub fn check_digests(&self) -> Result<bool, DigestError> {
        let Some(meta) = self.manifest().map_err(DigestError::Manifest)?.and_then(|m| m.bylaw) else {
            return Ok(false);
        };
        let mut listed = meta.files;
        for (path, bytes) in self.content_files() {
            match listed.remove(path) {
                None => return Err(DigestError::Unlisted(path.to_owned())),
                Some(hash) if !hash.eq_ignore_ascii_case(&file_digest(path, bytes)) => {
                    return Err(DigestError::Changed(path.to_owned()))
                }
                Some(_) => {}
            }
        }
        match listed.into_keys().next() {
            Some(missing) => Err(DigestError::Missing(missing)),
            None => Ok(true),
        }
    }

    /// The SHA-256 of the archive bytes, hex (what a lock pins).
    pub fn digest_of(bytes: &[u8]) -> String {
        hex(&Sha256::digest(bytes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Bundle {
        let mut files = BTreeMap::new();
        files.insert("policies/p.yaml".to_owned(), b"apiVersion: bylaw/v1\n".to_vec());
        files.insert("rego/main.rego".to_owned(), b"package main\n".to_vec());
        files.insert("rego/k8s/data.json".to_owned(), br#"{ "b": 1, "a": [true] }"#.to_vec());
        Bundle::build(files, "acme", "1.2.0", "r1").unwrap()
    }

    #[test]
    fn build_is_deterministic_and_reads_back() {
        let a = sample().to_tar_gz();
        assert_eq!(a, sample().to_tar_gz());
        let back = Bundle::read(&a, Limits::default()).unwrap();
        assert_eq!(back, sample());
        let m = back.manifest().unwrap().unwrap();
        assert_eq!(m.revision, "r1");
        assert_eq!(m.roots, vec![""]);
        let meta = m.bylaw.unwrap();
        assert_eq!((meta.name.as_str(), meta.version.as_str()), ("acme", "1.2.0"));
        assert_eq!(meta.files.keys().collect::<Vec<_>>(), ["policies/p.yaml", "rego/k8s/data.json", "rego/main.rego"]);
        assert_eq!(back.file("rego/k8s/data.json").unwrap(), br#"{"a":[true],"b":1}"#);
        assert_eq!(
            back.data().unwrap(),
            vec![("rego/k8s/data.json".to_owned(), json!({"rego": {"k8s": {"a": [true], "b": 1}}}))]
        );
        let manifest = std::str::from_utf8(back.file(MANIFEST).unwrap()).unwrap();
        assert!(manifest.starts_with(r#"{"metadata":{"bylaw":{"files":{"policies/p.yaml":""#), "{manifest}");
    }

    #[test]
    fn versions_and_names_are_checked() {
        let e = Bundle::build(BTreeMap::new(), "acme", "1.2", "").unwrap_err();
        assert_eq!(e.to_string(), "the bundle version `1.2` is not a semantic version (MAJOR.MINOR.PATCH, e.g. 1.4.2)");
        assert!(matches!(Bundle::build(BTreeMap::new(), "Acme", "1.0.0", ""), Err(BundleError::Name(_))));
    }

    fn raw_tar(entries: &[(&str, tar::EntryType, &[u8])]) -> Vec<u8> {
        let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        let mut t = tar::Builder::new(gz);
        for (path, kind, bytes) in entries {
            let mut h = tar::Header::new_gnu();
            h.set_entry_type(*kind);
            h.set_size(bytes.len() as u64);
            h.set_mode(0o644);
            if kind.is_symlink() || kind.is_hard_link() {
                h.set_link_name("/etc/passwd").unwrap();
                h.set_size(0);
                t.append_data(&mut h, path, &[][..]).unwrap();
            } else {
                // set the name by hand: `append_data` refuses `..`
                let name = h.as_old_mut();
                name.name[..path.len()].copy_from_slice(path.as_bytes());
                h.set_cksum();
                t.append(&h, *bytes).unwrap();
            }
        }
        t.into_inner().unwrap().finish().unwrap()
    }

    #[test]
    fn unsafe_archives_are_refused() {
        let e = Bundle::read(&raw_tar(&[("../evil.rego", tar::EntryType::Regular, b"x")]), Limits::default());
        assert_eq!(e.unwrap_err().to_string(), "`../evil.rego` in the archive: a path that leaves the bundle (`..`)");
        let e = Bundle::read(&raw_tar(&[("link.rego", tar::EntryType::Symlink, b"")]), Limits::default());
        assert_eq!(
            e.unwrap_err().to_string(),
            "`link.rego` in the archive: a symbolic link: bundles hold regular files only"
        );
        let e = Bundle::read(&raw_tar(&[("hard.rego", tar::EntryType::Link, b"")]), Limits::default());
        assert!(e.unwrap_err().to_string().contains("a hard link"));
        let limits = Limits { entries: 1, ..Limits::default() };
        let two = raw_tar(&[("a", tar::EntryType::Regular, b"x"), ("b", tar::EntryType::Regular, b"y")]);
        assert_eq!(Bundle::read(&two, limits).unwrap_err().to_string(), "the archive is over the limit of 1 entries");
        let small = Limits { file_bytes: 1, ..Limits::default() };
        assert!(Bundle::read(&raw_tar(&[("a", tar::EntryType::Regular, b"xy")]), small).is_err());
        assert!(matches!(Bundle::read(b"not gzip", Limits::default()), Err(BundleError::Archive(_))));
    }

    #[test]
    fn manifest_digests_catch_every_change_without_a_key() {
        let good = sample();
        assert!(good.check_digests().unwrap());
        let mut changed = good.clone();
        changed.set_file("policies/p.yaml", b"apiVersion: bylaw/v2\n".to_vec());
        assert_eq!(
            changed.check_digests().unwrap_err().to_string(),
            "`policies/p.yaml` does not match its SHA-256 in `.manifest` (changed or corrupted after the bundle was built)"
        );
        let mut added = good.clone();
        added.set_file("evil.rego", b"package evil\n".to_vec());
        assert!(matches!(added.check_digests(), Err(DigestError::Unlisted(p)) if p == "evil.rego"));
        let mut files = good.files.clone();
        files.remove("rego/main.rego");
        assert!(
            matches!(Bundle::from_files(files).check_digests(), Err(DigestError::Missing(p)) if p == "rego/main.rego")
        );
        let mut opa = BTreeMap::new();
        opa.insert("x.rego".to_owned(), b"package x\n".to_vec());
        opa.insert(MANIFEST.to_owned(), br#"{"revision":"1"}"#.to_vec());
        assert!(!Bundle::from_files(opa.clone()).check_digests().unwrap(), "no bylaw digests: nothing to check");
        opa.insert(MANIFEST.to_owned(), b"{not json".to_vec());
        assert!(matches!(Bundle::from_files(opa).check_digests(), Err(DigestError::Manifest(_))));
    }

    #[test]
    fn opa_hashes_structured_files_as_canonical_json() {
        let pretty = b"{ \"b\": 1,\n \"a\": \"<x>\" }";
        assert_eq!(file_digest("x/data.json", pretty), file_digest("x/data.json", br#"{"a":"<x>","b":1}"#));
        assert_eq!(file_digest("x/data.json", br#"{"a":"<x>","b":1}"#), hex(&Sha256::digest(br#"{"a":"<x>","b":1}"#)));
        assert_ne!(file_digest("p.yaml", b"a: 1"), file_digest("p.yaml", b"a:  1"));
    }
}
