//! `bylaw bundle build|sign|verify|keygen|push|pull`: policy bundles
//! (crates/bylaw-bundle), and the environment remote sources read
//! ([`source_options`]: `BYLAW_CA_FILE`, `BYLAW_REGISTRY_USER`,
//! `BYLAW_REGISTRY_PASSWORD`, docker's `config.json`).

use crate::common::{self, usage_error};
use crate::Cli;
use bylaw_bundle::oci::{Client, Credentials, Reference};
use bylaw_bundle::{Bundle, KeyPair, Limits, PublicKey};
use bylaw_engine::paths::absolute;
use clap::{Args, Subcommand};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

#[derive(Args, Debug)]
pub struct BundleArgs {
    #[command(subcommand)]
    pub command: BundleCommand,
}

#[derive(Subcommand, Debug)]
pub enum BundleCommand {
    /// Pack policies (YAML, Rego, Gatekeeper templates) and data files (data.json, data.yaml) into an OPA-layout .tar.gz.
    // `--version` is the bundle's here, not bylaw's
    #[command(disable_version_flag = true)]
    Build(BuildArgs),
    /// Sign a bundle with an Ed25519 private key: adds .signatures.json (OPA's format, JWS EdDSA).
    Sign {
        /// The bundle (.tar.gz), rewritten in place.
        file: PathBuf,
        /// The private key (PKCS#8 PEM, from `bylaw bundle keygen`).
        #[arg(long)]
        key: PathBuf,
        /// Replace a signature made by another key (OPA's format holds one signature).
        #[arg(long)]
        replace: bool,
    },
    /// Verify a bundle's archive, signature and every file's digest (exit 1 with the reason when it is not a valid, trusted bundle; 2 when the file or a key cannot be read).
    Verify {
        /// The bundle (.tar.gz).
        file: PathBuf,
        /// A trusted public key (PEM); repeatable.
        #[arg(long, required = true)]
        key: Vec<PathBuf>,
    },
    /// Write a new Ed25519 key pair: PREFIX.key (private, mode 0600) and PREFIX.pub.
    Keygen {
        /// Path prefix of the two files.
        #[arg(short = 'o', long = "output", value_name = "PREFIX")]
        output: PathBuf,
    },
    /// Push a bundle to an OCI registry (oci://HOST[:PORT]/REPO:TAG); a malformed archive or a bundle whose files do not match its digests is refused (exit 1).
    Push {
        /// The bundle (.tar.gz).
        file: PathBuf,
        /// Where: oci://HOST[:PORT]/REPOSITORY:TAG.
        reference: String,
    },
    /// Pull a bundle from an OCI registry into a file.
    Pull {
        /// oci://HOST[:PORT]/REPOSITORY:TAG or …@sha256:DIGEST.
        reference: String,
        /// The file to write.
        #[arg(short = 'o', long = "output")]
        output: PathBuf,
    },
}

#[derive(Args, Debug)]
pub struct BuildArgs {
    /// Policy files or directories (directories are read recursively).
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// The bundle file to write (.tar.gz).
    #[arg(short = 'o', long = "output")]
    pub output: PathBuf,
    /// The bundle's name (default: the policy's, when there is one policy).
    #[arg(long)]
    pub name: Option<String>,
    /// The bundle's version, semver (default: the policy's `metadata.version`, when there is one policy).
    #[arg(long = "version", id = "bundle_version", value_name = "SEMVER")]
    pub version: Option<String>,
    /// OPA's manifest `revision` (default: the version).
    #[arg(long)]
    pub revision: Option<String>,
}

pub fn run(args: &BundleArgs, cli: &Cli) -> u8 {
    let color = common::stderr_color(cli);
    let result = match &args.command {
        BundleCommand::Build(b) => build(b, color),
        BundleCommand::Sign { file, key, replace } => sign(file, key, *replace),
        BundleCommand::Verify { file, key } => return verify(file, key, color),
        BundleCommand::Keygen { output } => keygen(output),
        BundleCommand::Push { file, reference } => return push(file, reference, color),
        BundleCommand::Pull { reference, output } => pull(reference, output),
    };
    match result {
        Ok(()) => 0,
        Err((message, hint)) => usage_error(&common::safe(&message), hint, color),
    }
}

type CmdError = (String, Option<&'static str>);

fn read_bundle(file: &Path) -> Result<Bundle, CmdError> {
    let bytes = bylaw_engine::paths::read_regular(file, bylaw_run::sources::MAX_ARCHIVE_BYTES)
        .map_err(|e| (format!("cannot read {}: {e}", file.display()), None))?;
    Bundle::read(&bytes, Limits::default()).map_err(|e| (format!("{}: {e}", file.display()), None))
}

/// Writes a bundle archive; an existing file is replaced only when it is a
/// gzip archive itself (an earlier bundle), never a policy, a config or a lock.
fn write(path: &Path, bytes: &[u8]) -> Result<(), CmdError> {
    if path.exists() {
        let mut magic = [0u8; 2];
        let gzip = std::fs::File::open(path)
            .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut magic))
            .is_ok_and(|()| magic == [0x1f, 0x8b]);
        if !gzip || !path.is_file() {
            return Err((
                format!("refusing to write {}: an existing file that is not a bundle archive", path.display()),
                Some("name a new file, e.g. `-o dist/policies.tar.gz`"),
            ));
        }
    }
    bylaw_report::write_atomic(path, bytes).map_err(|e| (common::cannot_write(path, &e), None))
}

fn build(args: &BuildArgs, color: bool) -> Result<(), CmdError> {
    let wd = common::working_dir();
    let loaded = bylaw_engine::loader::load(&args.paths, wd);
    if loaded.has_errors() {
        common::print_diagnostics(&loaded.diagnostics, &loaded.sources, color);
        return Err(("the policies have errors: no bundle was written".into(), Some("run `bylaw validate PATHS…`")));
    }
    // the files the loader took as policies, by their real path
    let canon = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
    let policy_files: std::collections::HashSet<PathBuf> = loaded
        .policies
        .iter()
        .map(|p| p.file.as_str())
        .chain(loaded.rego.iter().map(|r| r.file.as_str()))
        .chain(loaded.gatekeeper.iter().map(|g| g.file.as_str()))
        .map(|f| canon(&absolute(wd, Path::new(f))))
        .collect();
    let mut files = BTreeMap::new();
    for given in &args.paths {
        let path = absolute(wd, given);
        let (root, found) = if path.is_dir() {
            (path.clone(), bylaw_engine::loader::walk(&path).files)
        } else {
            (path.parent().map(Path::to_path_buf).unwrap_or_default(), vec![path.clone()])
        };
        for f in found {
            let base = f.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_owned();
            let data = matches!(base.as_str(), "data.json" | "data.yaml" | "data.yml");
            if !data && !policy_files.contains(&canon(&f)) {
                continue;
            }
            let rel = f.strip_prefix(&root).unwrap_or(&f).to_string_lossy().replace('\\', "/");
            let bytes = std::fs::read(&f).map_err(|e| (format!("cannot read {}: {e}", f.display()), None))?;
            if base == "data.yaml" || base == "data.yml" {
                // OPA and bylaw read a bundle's data as data.json
                let text = String::from_utf8(bytes).map_err(|_| (format!("{}: not UTF-8", f.display()), None))?;
                let parsed = bylaw_engine::input::parse_path(&rel, &text);
                if let Some(e) = parsed.errors.first() {
                    return Err((format!("{}:{}:{}: {}", f.display(), e.line, e.col, e.message), None));
                }
                let value = parsed.documents.first().map(|d| d.to_json()).unwrap_or_default();
                let json_rel = format!("{}data.json", rel.strip_suffix(&base).unwrap_or(""));
                files.insert(json_rel, serde_json::to_vec(&value).unwrap_or_default());
            } else {
                files.insert(rel, bytes);
            }
        }
    }
    if files.is_empty() {
        return Err(("no policy or data file to bundle".into(), None));
    }
    let (name, version) = match (&args.name, &args.version, loaded.policies.as_slice()) {
        (Some(n), Some(v), _) => (n.clone(), v.clone()),
        (n, v, [one]) => {
            let version =
                match (v, &one.def.metadata.version) {
                    (Some(v), _) => v.clone(),
                    (None, Some(v)) => v.clone(),
                    (None, None) => return Err((
                        format!("policy `{}` ({}) has no `metadata.version`", one.def.metadata.name, one.file),
                        Some(
                            "give the bundle's version with `--version SEMVER`, or set the policy's `metadata.version`",
                        ),
                    )),
                };
            (n.clone().unwrap_or_else(|| one.def.metadata.name.clone()), version)
        }
        _ => {
            return Err((
                format!(
                    "the bundle holds {} YAML policies: its name and version are not taken from one",
                    loaded.policies.len()
                ),
                Some("give them: `--name NAME --version SEMVER`"),
            ))
        }
    };
    if let ([one], Some(given)) = (loaded.policies.as_slice(), &args.version) {
        // the bundle's version names a release of its one policy: a different
        // number is most likely a forgotten bump of the policy (or of the flag)
        if let Some(own) = one.def.metadata.version.as_ref().filter(|v| *v != given) {
            eprintln!(
                "warning: the bundle version {} differs from the `metadata.version` {} of its one policy `{}` ({}); the lock and `environments.*.versions` read the policy's",
                common::safe(given),
                common::safe(own),
                common::safe(&one.def.metadata.name),
                common::safe(&one.file)
            );
        }
    }
    let revision = args.revision.clone().unwrap_or_else(|| version.clone());
    let bundle = Bundle::build(files, &name, &version, &revision).map_err(|e| (e.to_string(), None))?;
    let bytes = bundle.to_tar_gz();
    write(&args.output, &bytes)?;
    crate::outln!(
        "bylaw: wrote {} (bundle {name} {version}, {} file{}, sha256:{})",
        common::safe(&args.output.display().to_string()),
        bundle.content_files().count(),
        if bundle.content_files().count() == 1 { "" } else { "s" },
        Bundle::digest_of(&bytes)
    );
    Ok(())
}

fn sign(file: &Path, key: &Path, replace: bool) -> Result<(), CmdError> {
    let mut bundle = read_bundle(file)?;
    let pem =
        std::fs::read_to_string(key).map_err(|e| (format!("cannot read the key {}: {e}", key.display()), None))?;
    let key = KeyPair::from_pem(&pem).map_err(|e| (format!("{}: {e}", key.display()), None))?;
    let shown = common::safe(&file.display().to_string());
    // a bundle changed since it was built is not signed as it is
    bundle.check_digests().map_err(|e| {
        (format!("{shown}: not signed: {e}"), Some("build the bundle again with `bylaw bundle build`, then sign it"))
    })?;
    let id = key.public().id();
    if bundle.is_signed() {
        // OPA's `.signatures.json` holds one signature: signing again replaces it
        match bundle.signer() {
            Ok(signer) if signer == id => {}
            Ok(_) | Err(_) if replace => {}
            Ok(signer) => {
                let signer = if signer.is_empty() { "(no key id)".to_owned() } else { signer };
                return Err((
                    format!("{shown} is already signed by key {signer}, not by {id}: not signed"),
                    Some("OPA's bundle format holds one signature; `--replace` replaces the other key's signature with this one"),
                ));
            }
            Err(e) => {
                return Err((
                    format!("{shown} has a signature bylaw cannot read ({e}): not signed"),
                    Some("`--replace` replaces it with this key's signature"),
                ))
            }
        }
    }
    let replaced = bundle.signer().ok().filter(|s| *s != id);
    bundle.sign(&key);
    write(file, &bundle.to_tar_gz())?;
    match replaced {
        Some(old) => crate::outln!("bylaw: signed {shown} with key {id} (replacing the signature of key {old})"),
        None => crate::outln!("bylaw: signed {shown} with key {id}"),
    }
    Ok(())
}

fn verify(file: &Path, keys: &[PathBuf], color: bool) -> u8 {
    // a file or key that cannot be read is a usage error (exit 2); bytes
    // that are no valid bundle are an answer: not trustworthy (exit 1)
    let read = || -> Result<(Vec<u8>, Vec<PublicKey>), CmdError> {
        let bytes = bylaw_engine::paths::read_regular(file, bylaw_run::sources::MAX_ARCHIVE_BYTES)
            .map_err(|e| (format!("cannot read {}: {e}", file.display()), None))?;
        let mut trusted = Vec::new();
        for k in keys {
            let pem =
                std::fs::read_to_string(k).map_err(|e| (format!("cannot read the key {}: {e}", k.display()), None))?;
            trusted.push(PublicKey::from_pem(&pem).map_err(|e| (format!("{}: {e}", k.display()), None))?);
        }
        Ok((bytes, trusted))
    };
    let (bytes, trusted) = match read() {
        Ok(r) => r,
        Err((m, h)) => return usage_error(&common::safe(&m), h, color),
    };
    let shown = common::safe(&file.display().to_string());
    let bundle = match Bundle::read(&bytes, Limits::default()) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("error: {shown}: not a valid bundle: {}", common::safe(&e.to_string()));
            return 1;
        }
    };
    match bundle.verify(&trusted) {
        Ok(_) if bundle.check_digests().is_err() => {
            let why = bundle.check_digests().err().map(|e| e.to_string()).unwrap_or_default();
            eprintln!("error: {shown}: {}", common::safe(&why));
            1
        }
        Ok(v) => {
            crate::outln!(
                "{shown}: signature OK (key {}, {} file{} verified)",
                v.key_id,
                bundle.all_files().count() - 1,
                if bundle.all_files().count() == 2 { "" } else { "s" }
            );
            0
        }
        Err(e) => {
            eprintln!("error: {shown}: {}", common::safe(&e.to_string()));
            1
        }
    }
}

fn keygen(prefix: &Path) -> Result<(), CmdError> {
    let with = |ext: &str| {
        let mut s = prefix.as_os_str().to_owned();
        s.push(ext);
        PathBuf::from(s)
    };
    let (private, public) = (with(".key"), with(".pub"));
    for p in [&private, &public] {
        if p.symlink_metadata().is_ok() {
            return Err((format!("{} exists: not overwritten", p.display()), Some("choose another prefix")));
        }
    }
    let key = KeyPair::generate().map_err(|e| (e.to_string(), None))?;
    let pem = key.to_pem().map_err(|e| (e.to_string(), None))?;
    write_private(&private, pem.as_bytes())?;
    write(&public, key.public().to_pem().map_err(|e| (e.to_string(), None))?.as_bytes())?;
    crate::outln!(
        "bylaw: wrote {} (private, mode 0600) and {} (key id {})",
        private.display(),
        public.display(),
        key.public().id()
    );
    Ok(())
}

/// Creates `path` with mode 0600 before anything is written into it.
fn write_private(path: &Path, bytes: &[u8]) -> Result<(), CmdError> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut f = options.open(path).map_err(|e| (common::cannot_write(path, &e), None))?;
    f.write_all(bytes).map_err(|e| (common::cannot_write(path, &e), None))
}

fn client(reference: &Reference) -> Result<Client, CmdError> {
    let options = source_options(None);
    let credentials = options.credentials_for(&reference.registry);
    Client::new(options.ca_file.as_deref(), credentials).map_err(|e| (e.to_string(), None))
}

/// Pushes after checking the bundle as a consumer would without keys: its
/// files against `.manifest`'s digests and, when signed, against the
/// signature's hashes (exit 1 when they differ: a broken bundle is never
/// published); an unsigned bundle is pushed with a warning.
fn push(file: &Path, reference: &str, color: bool) -> u8 {
    // a reference or file that cannot be used is a usage error (exit 2);
    // bytes that are no valid bundle are refused as a broken bundle (exit 1)
    let checked = || -> Result<(Reference, Vec<u8>), CmdError> {
        let reference = Reference::parse(reference).map_err(|e| (e.to_string(), None))?;
        let bytes = bylaw_engine::paths::read_regular(file, bylaw_run::sources::MAX_ARCHIVE_BYTES)
            .map_err(|e| (format!("cannot read {}: {e}", file.display()), None))?;
        Ok((reference, bytes))
    };
    let (reference, bytes) = match checked() {
        Ok(r) => r,
        Err((m, h)) => return usage_error(&common::safe(&m), h, color),
    };
    let shown = common::safe(&file.display().to_string());
    let refused = |why: String, hint: &str| {
        eprintln!("error: {shown}: not pushed: {}", common::safe(&why));
        eprintln!("  = hint: {hint}");
        1
    };
    let bundle = match Bundle::read(&bytes, Limits::default()) {
        Ok(b) => b,
        Err(e) => {
            return refused(
                format!("not a valid bundle: {e}"),
                "build it with `bylaw bundle build` (and sign it with `bylaw bundle sign`)",
            )
        }
    };
    if let Err(e) = bundle.check_digests() {
        return refused(e.to_string(), "build the bundle again with `bylaw bundle build` (and sign it)");
    }
    if bundle.is_signed() {
        if let Err(e) = bundle.check_signed_hashes() {
            return refused(
                e.to_string(),
                "the bundle changed after it was signed: build and sign it again (`bylaw bundle verify FILE --key PUBLIC.pem` shows what holds)",
            );
        }
    } else {
        eprintln!(
            "warning: pushing an unsigned bundle: {shown} (`bylaw bundle sign {shown} --key KEY` signs it; consumers with `bundles.require_signatures` refuse it)"
        );
    }
    let mut annotations = Vec::new();
    let meta = bundle.manifest().ok().flatten().and_then(|m| m.bylaw);
    if let Some(m) = &meta {
        annotations.push(("org.opencontainers.image.title", m.name.as_str()));
        annotations.push(("org.opencontainers.image.version", m.version.as_str()));
    }
    let pushed =
        client(&reference).and_then(|c| c.push(&reference, &bytes, &annotations).map_err(|e| (e.to_string(), None)));
    match pushed {
        Ok(digest) => {
            crate::outln!("bylaw: pushed {shown} to {reference} ({digest})");
            0
        }
        Err((m, h)) => usage_error(&common::safe(&m), h, color),
    }
}

fn pull(reference: &str, output: &Path) -> Result<(), CmdError> {
    let reference = Reference::parse(reference).map_err(|e| (e.to_string(), None))?;
    let pulled = client(&reference)?
        .pull(&reference, bylaw_run::sources::MAX_ARCHIVE_BYTES)
        .map_err(|e| (e.to_string(), None))?;
    let bundle = Bundle::read(&pulled.bundle, Limits::default()).map_err(|e| (format!("{reference}: {e}"), None))?;
    write(output, &pulled.bundle)?;
    // written as the registry holds it (to look at), but said: a run refuses it
    let broken =
        bundle.check_digests().err().map(|e| e.to_string()).or_else(|| {
            bundle.is_signed().then(|| bundle.check_signed_hashes().err().map(|e| e.to_string())).flatten()
        });
    if let Some(why) = broken {
        eprintln!(
            "warning: {}: {} (a run refuses this bundle)",
            common::safe(&output.display().to_string()),
            common::safe(&why)
        );
    }
    crate::outln!(
        "bylaw: pulled {reference} ({}) into {}",
        pulled.manifest_digest,
        common::safe(&output.display().to_string())
    );
    Ok(())
}

/// What remote sources need from the environment: `BYLAW_CA_FILE` (else
/// `bundles.ca_file` of `config`, resolved by the run), and registry
/// credentials from `BYLAW_REGISTRY_USER`/`BYLAW_REGISTRY_PASSWORD`, else
/// the `auths` of docker's `config.json` (`$DOCKER_CONFIG`, else
/// `~/.docker`) for the registry — credential helpers are not run.
pub fn source_options(config: Option<&bylaw_engine::config::Config>) -> bylaw_run::sources::SourceOptions {
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    let ca_file = env("BYLAW_CA_FILE")
        .map(|p| absolute(common::working_dir(), Path::new(&p)))
        .or_else(|| config.and_then(|c| c.bundles.ca_file.as_ref().map(|f| c.resolve(f))));
    let registry = match (env("BYLAW_REGISTRY_USER"), env("BYLAW_REGISTRY_PASSWORD")) {
        (Some(user), Some(password)) => Some(Credentials { user, password }),
        _ => None,
    };
    let docker = env("DOCKER_CONFIG").map(PathBuf::from).or_else(|| env("HOME").map(|h| Path::new(&h).join(".docker")));
    bylaw_run::sources::SourceOptions {
        ca_file,
        registry,
        docker_config: docker.map(|d| d.join("config.json")),
        oci_pins: Default::default(),
    }
}
