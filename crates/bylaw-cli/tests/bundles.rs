//! End-to-end tests of policy bundles: `bylaw bundle build|sign|verify|
//! keygen|push|pull`, loading a bundle from a path, an HTTPS URL (a local
//! TLS server with a certificate made by the test) and a real OCI registry
//! (Debian's `docker-registry`, installed by `scripts/tools.sh
//! docker-registry` and started by the test), and `bundles:` trust.

mod support;

use bylaw_bundle::{Bundle, Limits};
use std::collections::BTreeMap;
use std::path::Path;
use support::cli::{bylaw_in, write, Out};

const POLICY: &str = r#"apiVersion: bylaw/v1
kind: Policy
metadata:
  name: acme-k8s
  version: 1.0.0
spec:
  match: { kinds: [Deployment] }
  rules:
    - id: ACME-1
      title: No latest tag
      severity: high
      each: "$.spec.template.spec.containers[*]"
      deny: "item.image.endsWith(':latest')"
      message: "image {{ item.image }} uses the latest tag"
"#;

const REGO: &str = r#"package main

deny contains msg if {
  input.kind == "Deployment"
  not input.metadata.labels[data.required_label]
  msg := sprintf("missing label %s", [data.required_label])
}
"#;

const DEPLOY: &str = r#"apiVersion: apps/v1
kind: Deployment
metadata: { name: web }
spec:
  template:
    spec:
      containers: [{ name: web, image: "nginx:latest" }]
"#;

/// A repository with a policy directory (a YAML policy, a Rego module, a
/// data file) and a deployment; a key pair.
fn repo() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(d, "policies/k8s.yaml", POLICY);
    write(d, "policies/main.rego", REGO);
    write(d, "policies/data.yaml", "required_label: team\n");
    write(d, "policies/k8s.test.yaml", "apiVersion: bylaw/v1\nkind: PolicyTest\n");
    write(d, "deploy/web.yaml", DEPLOY);
    dir
}

fn ok(out: &Out) {
    assert_eq!(out.code, 0, "stdout:\n{}\nstderr:\n{}", out.stdout, out.stderr);
}

fn bylaw(dir: &Path, args: &[&str]) -> Out {
    bylaw_in(dir, args, None)
}

/// Builds and signs `acme.tar.gz` with a new key pair `key.key`/`key.pub`.
fn signed_bundle(d: &Path) {
    ok(&bylaw(d, &["bundle", "build", "policies", "-o", "acme.tar.gz"]));
    ok(&bylaw(d, &["bundle", "keygen", "-o", "key"]));
    ok(&bylaw(d, &["bundle", "sign", "acme.tar.gz", "--key", "key.key"]));
}

fn read(path: &Path) -> Bundle {
    Bundle::read(&std::fs::read(path).unwrap(), Limits::default()).unwrap()
}

/// `acme.tar.gz` with `path` replaced by `bytes` (or added), signature kept.
fn tamper(d: &Path, path: &str, bytes: &[u8], out: &str) {
    let b = read(&d.join("acme.tar.gz"));
    let mut files: BTreeMap<String, Vec<u8>> = b.all_files().map(|(p, b)| (p.to_owned(), b.to_vec())).collect();
    files.insert(path.to_owned(), bytes.to_vec());
    std::fs::write(d.join(out), Bundle::from_files(files).to_tar_gz()).unwrap();
}

const TRUSTING: &str = "policies: [acme.tar.gz]\nbundles:\n  require_signatures: true\n  public_keys: [key.pub]\n";

#[test]
fn build_lays_out_an_opa_bundle_deterministically() {
    let dir = repo();
    let d = dir.path();
    let out = bylaw(d, &["bundle", "build", "policies", "-o", "acme.tar.gz"]);
    ok(&out);
    let bytes = std::fs::read(d.join("acme.tar.gz")).unwrap();
    let digest = Bundle::digest_of(&bytes);
    assert_eq!(out.stdout, format!("bylaw: wrote acme.tar.gz (bundle acme-k8s 1.0.0, 3 files, sha256:{digest})\n"));
    let b = read(&d.join("acme.tar.gz"));
    let names: Vec<&str> = b.all_files().map(|(p, _)| p).collect();
    // the policy test is not a policy; data.yaml is written as data.json
    assert_eq!(names, [".manifest", "data.json", "k8s.yaml", "main.rego"]);
    assert_eq!(b.file("data.json").unwrap(), br#"{"required_label":"team"}"#);
    let m = b.manifest().unwrap().unwrap();
    assert_eq!((m.revision.as_str(), m.roots.clone()), ("1.0.0", vec![String::new()]));
    let meta = m.bylaw.unwrap();
    assert_eq!((meta.name.as_str(), meta.version.as_str()), ("acme-k8s", "1.0.0"));
    assert_eq!(meta.files["k8s.yaml"], bylaw_bundle::file_digest("k8s.yaml", POLICY.as_bytes()));
    // the same input gives the same bytes
    ok(&bylaw(d, &["bundle", "build", "policies", "-o", "again.tar.gz"]));
    assert_eq!(std::fs::read(d.join("again.tar.gz")).unwrap(), bytes);
}

#[test]
fn build_refuses_what_would_make_a_bad_bundle() {
    let dir = repo();
    let d = dir.path();
    let out = bylaw(d, &["bundle", "build", "policies", "-o", "b.tar.gz", "--version", "1.2"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("error: the bundle version `1.2` is not a semantic version (MAJOR.MINOR.PATCH, e.g. 1.4.2)"),
        "{}",
        out.stderr
    );
    write(d, "policies/other.yaml", &POLICY.replace("acme-k8s", "acme-two").replace("ACME-1", "ACME-2"));
    let out = bylaw(d, &["bundle", "build", "policies", "-o", "b.tar.gz"]);
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("error: the bundle holds 2 YAML policies"), "{}", out.stderr);
    assert!(out.stderr.contains("`--name NAME --version SEMVER`"), "{}", out.stderr);
    ok(&bylaw(d, &["bundle", "build", "policies", "-o", "b.tar.gz", "--name", "acme", "--version", "2.0.0"]));
    write(d, "policies/broken.yaml", "apiVersion: bylaw/v1\nkind: Policy\nmetadata: { name: Bad }\n");
    let out = bylaw(d, &["bundle", "build", "policies", "-o", "c.tar.gz", "--name", "acme", "--version", "2.0.0"]);
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("the policies have errors: no bundle was written"), "{}", out.stderr);
    assert!(!d.join("c.tar.gz").exists());
}

#[test]
fn keygen_sign_and_verify_name_every_failure() {
    let dir = repo();
    let d = dir.path();
    signed_bundle(d);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(d.join("key.key")).unwrap().permissions().mode() & 0o777, 0o600);
    }
    let again = bylaw(d, &["bundle", "keygen", "-o", "key"]);
    assert_eq!(again.code, 2);
    assert!(again.stderr.contains("key.key exists: not overwritten"), "{}", again.stderr);
    let pem = std::fs::read_to_string(d.join("key.pub")).unwrap();
    let id = bylaw_bundle::PublicKey::from_pem(&pem).unwrap().id();

    let out = bylaw(d, &["bundle", "verify", "acme.tar.gz", "--key", "key.pub"]);
    ok(&out);
    assert_eq!(out.stdout, format!("acme.tar.gz: signature OK (key {id}, 4 files verified)\n"));

    tamper(d, "k8s.yaml", POLICY.replace("high", "low").as_bytes(), "tampered.tar.gz");
    let out = bylaw(d, &["bundle", "verify", "tampered.tar.gz", "--key", "key.pub"]);
    assert_eq!(out.code, 1);
    assert_eq!(
        out.stderr,
        "error: tampered.tar.gz: `k8s.yaml` was changed after signing (its SHA-256 differs from the signed one)\n"
    );
    tamper(d, "extra.rego", b"package extra\n", "added.tar.gz");
    let out = bylaw(d, &["bundle", "verify", "added.tar.gz", "--key", "key.pub"]);
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("`extra.rego` is in the bundle but not in its signature"), "{}", out.stderr);

    ok(&bylaw(d, &["bundle", "keygen", "-o", "other"]));
    let other = bylaw_bundle::PublicKey::from_pem(&std::fs::read_to_string(d.join("other.pub")).unwrap()).unwrap();
    let out = bylaw(d, &["bundle", "verify", "acme.tar.gz", "--key", "other.pub"]);
    assert_eq!(out.code, 1);
    assert_eq!(
        out.stderr,
        format!("error: acme.tar.gz: signed with the unknown key id `{id}` (trusted: {})\n", other.id())
    );
    ok(&bylaw(d, &["bundle", "build", "policies", "-o", "unsigned.tar.gz"]));
    let out = bylaw(d, &["bundle", "verify", "unsigned.tar.gz", "--key", "key.pub"]);
    assert_eq!(out.code, 1);
    assert_eq!(out.stderr, "error: unsigned.tar.gz: the bundle is not signed (no .signatures.json)\n");
}

#[test]
fn check_loads_a_signed_bundle_and_refuses_an_untrusted_one() {
    let dir = repo();
    let d = dir.path();
    signed_bundle(d);
    // the bundle's policies are the run's: not those of the directory
    std::fs::remove_dir_all(d.join("policies")).unwrap();
    write(d, ".bylaw.yaml", TRUSTING);
    let out = bylaw(d, &["check", "deploy", "--format", "json"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    let report: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let findings: Vec<(String, String)> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["rule_id"].as_str().unwrap().to_owned(), f["message"].as_str().unwrap().to_owned()))
        .collect();
    assert!(findings.contains(&("ACME-1".into(), "image nginx:latest uses the latest tag".into())), "{findings:?}");
    // the Rego module read its data from the bundle's data.json
    assert!(findings.iter().any(|(_, m)| m == "missing label team"), "{findings:?}");
    let files: Vec<&str> = report["policies"].as_array().unwrap().iter().filter_map(|p| p["source"].as_str()).collect();
    assert!(files.contains(&"acme.tar.gz!/k8s.yaml"), "{files:?}");

    tamper(d, "k8s.yaml", POLICY.replace("endsWith(':latest')", "false").as_bytes(), "acme.tar.gz");
    let out = bylaw(d, &["check", "deploy"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.contains(
            "bundle refused: `k8s.yaml` was changed after signing (its SHA-256 differs from the signed one)\n --> acme.tar.gz"
        ),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("error: 1 error in policy sources; nothing was evaluated"), "{}", out.stderr);

    std::fs::create_dir(d.join("policies")).unwrap();
    write(d, "policies/k8s.yaml", POLICY);
    ok(&bylaw(d, &["bundle", "build", "policies", "-o", "acme.tar.gz"]));
    let out = bylaw(d, &["check", "deploy"]);
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("bundle refused: the bundle is not signed (no .signatures.json)"), "{}", out.stderr);

    // without `require_signatures` an unsigned bundle is loaded
    write(d, ".bylaw.yaml", "policies: [acme.tar.gz]\n");
    let out = bylaw(d, &["check", "deploy"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stdout.contains("error [ACME-1] image nginx:latest uses the latest tag"), "{}", out.stdout);
}

#[test]
fn a_signed_bundle_is_verified_whenever_keys_are_configured() {
    let dir = repo();
    let d = dir.path();
    signed_bundle(d);
    ok(&bylaw(d, &["bundle", "keygen", "-o", "other"]));
    write(d, ".bylaw.yaml", "policies: [acme.tar.gz]\nbundles: { public_keys: [other.pub] }\n");
    let out = bylaw(d, &["check", "deploy"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("bundle refused: signed with the unknown key id"), "{}", out.stderr);
    // `-p` names a bundle too
    let out = bylaw(d, &["check", "deploy", "--no-config", "-p", "acme.tar.gz"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stdout.contains("[ACME-1]"), "{}", out.stdout);
}

// ---- HTTPS sources: a local TLS server with a certificate made here ----

/// A request the HTTPS server received: method, path, headers (lower-case names).
#[derive(Clone, Debug)]
struct Seen {
    method: String,
    path: String,
    headers: Vec<(String, String)>,
}

/// A one-route HTTPS server on 127.0.0.1: `GET /acme.tar.gz` answers the
/// bundle, anything else 404. Its certificate (for `localhost` and
/// `127.0.0.1`) is signed by a CA made for the test, written to `ca.pem`.
struct HttpsServer {
    port: u16,
    seen: std::sync::Arc<std::sync::Mutex<Vec<Seen>>>,
}

fn https_server(dir: &Path, bundle: Vec<u8>) -> HttpsServer {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
    use std::io::{Read, Write};
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.distinguished_name.push(DnType::CommonName, "bylaw test CA");
    let ca_cert = ca_params.self_signed(&ca_key).unwrap();
    std::fs::write(dir.join("ca.pem"), ca_cert.pem()).unwrap();
    let issuer = Issuer::new(ca_params, ca_key);
    let key = KeyPair::generate().unwrap();
    let cert = CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
        .unwrap()
        .signed_by(&key, &issuer)
        .unwrap();
    let der_key = rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into());
    let config = std::sync::Arc::new(
        rustls::ServerConfig::builder_with_provider(std::sync::Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(vec![cert.der().clone()], der_key)
            .unwrap(),
    );
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = seen.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let Ok(conn) = rustls::ServerConnection::new(config.clone()) else { continue };
            let mut tls = rustls::StreamOwned::new(conn, stream);
            let mut head = Vec::new();
            let mut byte = [0u8; 1];
            // a client that refused the certificate closes here
            while !head.ends_with(b"\r\n\r\n") && tls.read(&mut byte).map(|n| n == 1).unwrap_or(false) {
                head.push(byte[0]);
            }
            let text = String::from_utf8_lossy(&head).into_owned();
            let mut lines = text.lines();
            let Some(first) = lines.next() else { continue };
            let mut parts = first.split(' ');
            let (method, path) = (parts.next().unwrap_or("").to_owned(), parts.next().unwrap_or("").to_owned());
            let headers = lines
                .filter_map(|l| l.split_once(':'))
                .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
                .collect();
            let ok = method == "GET" && path == "/acme.tar.gz";
            log.lock().unwrap().push(Seen { method, path, headers });
            let (status, body): (&str, &[u8]) = if ok { ("200 OK", &bundle) } else { ("404 Not Found", b"") };
            let _ = write!(
                tls,
                "HTTP/1.1 {status}\r\nContent-Type: application/gzip\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = tls.write_all(body);
            let _ = tls.flush();
            tls.conn.send_close_notify();
            let _ = tls.flush();
        }
    });
    HttpsServer { port, seen }
}

#[test]
fn an_https_bundle_is_fetched_with_the_configured_ca_and_verified() {
    let dir = repo();
    let d = dir.path();
    signed_bundle(d);
    let server = https_server(d, std::fs::read(d.join("acme.tar.gz")).unwrap());
    let url = format!("https://localhost:{}/acme.tar.gz", server.port);
    write(
        d,
        ".bylaw.yaml",
        &format!(
            "policies: ['{url}']\nbundles:\n  require_signatures: true\n  public_keys: [key.pub]\n  ca_file: ca.pem\n"
        ),
    );
    let out = bylaw(d, &["check", "deploy"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stdout.contains("error [ACME-1] image nginx:latest uses the latest tag"), "{}", out.stdout);
    {
        let seen = server.seen.lock().unwrap();
        assert_eq!(seen.len(), 1, "{seen:?}");
        assert_eq!((seen[0].method.as_str(), seen[0].path.as_str()), ("GET", "/acme.tar.gz"));
        let header = |k: &str| seen[0].headers.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
        assert_eq!(header("host"), Some(format!("localhost:{}", server.port)));
        assert!(header("user-agent").unwrap().starts_with("bylaw/"), "{seen:?}");
        assert_eq!(header("authorization"), None);
    }

    // BYLAW_CA_FILE (read by the CLI) stands for `bundles.ca_file`
    write(
        d,
        ".bylaw.yaml",
        &format!("policies: ['{url}']\nbundles:\n  require_signatures: true\n  public_keys: [key.pub]\n"),
    );
    let mut c = support::cli::command(d, &["check", "deploy"]);
    c.env("BYLAW_CA_FILE", d.join("ca.pem"));
    let (code, stdout, stderr) = support::cli::output(c);
    assert_eq!(code, 1, "{stderr}");
    assert!(stdout.contains("[ACME-1]"), "{stdout}");

    // without the CA the server is not trusted, and nothing is loaded
    let out = bylaw(d, &["check", "deploy"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains(&format!("GET {url}: ")), "{}", out.stderr);
    assert!(out.stderr.contains("UnknownIssuer") || out.stderr.contains("unknown issuer"), "{}", out.stderr);
    assert!(out.stderr.contains(&format!(" --> {url}")), "{}", out.stderr);

    // a missing bundle is a located error with the status
    let missing = format!("https://localhost:{}/nope.tar.gz", server.port);
    write(d, ".bylaw.yaml", &format!("policies: ['{missing}']\nbundles: {{ ca_file: ca.pem }}\n"));
    let out = bylaw(d, &["check", "deploy"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains(&format!("GET {missing}: HTTP 404")), "{}", out.stderr);
}

#[test]
fn plain_http_is_refused_except_on_the_loopback_interface() {
    let dir = repo();
    let d = dir.path();
    write(d, ".bylaw.yaml", "policies: ['http://policies.example.com/acme.tar.gz']\n");
    let out = bylaw(d, &["check", "deploy"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.contains(
            "plain http:// is refused for `http://policies.example.com/acme.tar.gz`: use https:// (http is accepted for localhost only, where no one is on the way)"
        ),
        "{}",
        out.stderr
    );
}

// ---- OCI: Debian's docker-registry, started by the test ----

/// A registry on a free port of 127.0.0.1, its storage in a tempdir;
/// killed when dropped.
struct Registry {
    child: std::process::Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn registry() -> Registry {
    let tools = support::cli::workspace().join("scripts/tools.sh");
    let out = std::process::Command::new("bash").arg(tools).arg("docker-registry").output().unwrap();
    assert!(out.status.success(), "scripts/tools.sh docker-registry:\n{}", String::from_utf8_lossy(&out.stderr));
    let exe = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let config = format!(
        "version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: {}\nhttp:\n  addr: 127.0.0.1:{port}\n",
        dir.path().join("data").display()
    );
    std::fs::write(dir.path().join("config.yml"), config).unwrap();
    let child = std::process::Command::new(exe)
        .arg("serve")
        .arg(dir.path().join("config.yml"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let registry = Registry { child, port, _dir: dir };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return registry;
        }
        assert!(std::time::Instant::now() < deadline, "docker-registry did not listen on port {port}");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

#[test]
fn a_signed_bundle_goes_through_a_real_registry_and_a_tampered_one_is_refused() {
    let reg = registry();
    let dir = repo();
    let d = dir.path();
    signed_bundle(d);
    let reference = format!("oci://127.0.0.1:{}/acme/policies:1.0.0", reg.port);
    let out = bylaw(d, &["bundle", "push", "acme.tar.gz", &reference]);
    ok(&out);
    assert!(out.stdout.starts_with(&format!("bylaw: pushed acme.tar.gz to {reference} (sha256:")), "{}", out.stdout);
    let manifest_digest = out.stdout.trim().rsplit_once('(').unwrap().1.trim_end_matches(')').to_owned();

    // pull gives the same bytes, by tag and by digest
    let out = bylaw(d, &["bundle", "pull", &reference, "-o", "pulled.tar.gz"]);
    ok(&out);
    assert_eq!(out.stdout, format!("bylaw: pulled {reference} ({manifest_digest}) into pulled.tar.gz\n"));
    assert_eq!(std::fs::read(d.join("pulled.tar.gz")).unwrap(), std::fs::read(d.join("acme.tar.gz")).unwrap());
    let by_digest = format!("oci://127.0.0.1:{}/acme/policies@{manifest_digest}", reg.port);
    ok(&bylaw(d, &["bundle", "pull", &by_digest, "-o", "by-digest.tar.gz"]));
    assert_eq!(std::fs::read(d.join("by-digest.tar.gz")).unwrap(), std::fs::read(d.join("acme.tar.gz")).unwrap());

    // the manifest is OPA's shape: one tar+gzip layer, an OCI config
    let manifest: serde_json::Value =
        ureq_get_json(&format!("http://127.0.0.1:{}/v2/acme/policies/manifests/1.0.0", reg.port));
    assert_eq!(manifest["config"]["mediaType"], "application/vnd.oci.image.config.v1+json");
    assert_eq!(manifest["layers"][0]["mediaType"], "application/vnd.oci.image.layer.v1.tar+gzip");
    assert_eq!(manifest["annotations"]["org.opencontainers.image.version"], "1.0.0");

    std::fs::remove_dir_all(d.join("policies")).unwrap();
    write(
        d,
        ".bylaw.yaml",
        &format!("policies: ['{reference}']\nbundles:\n  require_signatures: true\n  public_keys: [key.pub]\n"),
    );
    let out = bylaw(d, &["check", "deploy"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stdout.contains("error [ACME-1] image nginx:latest uses the latest tag"), "{}", out.stdout);
    assert!(out.stdout.contains("missing label team"), "{}", out.stdout);

    // a tampered bundle pushed under another tag is refused
    std::fs::create_dir(d.join("policies")).unwrap();
    tamper(d, "k8s.yaml", POLICY.replace("endsWith(':latest')", "false").as_bytes(), "tampered.tar.gz");
    let tampered = format!("oci://127.0.0.1:{}/acme/policies:1.0.1", reg.port);
    // `bundle push` refuses it (exit 1): put it there as an attacker would
    let out = bylaw(d, &["bundle", "push", "tampered.tar.gz", &tampered]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr
            .starts_with("error: tampered.tar.gz: not pushed: `k8s.yaml` does not match its SHA-256 in `.manifest`"),
        "{}",
        out.stderr
    );
    // so is a file that is no bundle at all
    std::fs::write(d.join("junk.tar.gz"), b"not gzip").unwrap();
    let out = bylaw(d, &["bundle", "push", "junk.tar.gz", &tampered]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr.starts_with("error: junk.tar.gz: not pushed: not a valid bundle: not a gzip archive"),
        "{}",
        out.stderr
    );
    let client = bylaw_bundle::oci::Client::new(None, None).unwrap();
    let bytes = std::fs::read(d.join("tampered.tar.gz")).unwrap();
    client.push(&bylaw_bundle::oci::Reference::parse(&tampered).unwrap(), &bytes, &[]).unwrap();
    write(
        d,
        ".bylaw.yaml",
        &format!("policies: ['{tampered}']\nbundles:\n  require_signatures: true\n  public_keys: [key.pub]\n"),
    );
    let out = bylaw(d, &["check", "deploy"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.contains(&format!(
            "bundle refused: `k8s.yaml` was changed after signing (its SHA-256 differs from the signed one)\n --> {tampered}"
        )),
        "{}",
        out.stderr
    );

    // pulled as it is, with a warning that a run refuses it
    let out = bylaw(d, &["bundle", "pull", &tampered, "-o", "pulled-tampered.tar.gz"]);
    ok(&out);
    assert!(
        out.stderr.contains("warning: pulled-tampered.tar.gz: `k8s.yaml` does not match its SHA-256 in `.manifest`"),
        "{}",
        out.stderr
    );

    // an unsigned bundle is pushed with a warning
    write(d, "policies/k8s.yaml", POLICY);
    ok(&bylaw(d, &["bundle", "build", "policies", "-o", "unsigned.tar.gz", "--name", "acme", "--version", "1.0.2"]));
    let out =
        bylaw(d, &["bundle", "push", "unsigned.tar.gz", &format!("oci://127.0.0.1:{}/acme/policies:1.0.2", reg.port)]);
    ok(&out);
    assert!(out.stderr.starts_with("warning: pushing an unsigned bundle: unsigned.tar.gz"), "{}", out.stderr);
    // a pull of a missing tag or repository says what to check
    write(d, ".bylaw.yaml", &format!("policies: ['oci://127.0.0.1:{}/acme/nothing:1.0.0']\n", reg.port));
    let out = bylaw(d, &["check", "deploy"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("HTTP 404"), "{}", out.stderr);
    assert!(out.stderr.contains("= hint: nothing is published there: check the repository and tag"), "{}", out.stderr);
    assert!(!out.stderr.contains("bundle verify"), "not a signature problem:\n{}", out.stderr);

    // a tag that does not exist
    let out =
        bylaw(d, &["bundle", "pull", &format!("oci://127.0.0.1:{}/acme/policies:9.9.9", reg.port), "-o", "x.tar.gz"]);
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("/v2/acme/policies/manifests/9.9.9: HTTP 404"), "{}", out.stderr);
}

fn ureq_get_json(url: &str) -> serde_json::Value {
    let mut resp = ureq::get(url).header("Accept", "application/vnd.oci.image.manifest.v1+json").call().unwrap();
    assert_eq!(resp.status().as_u16(), 200, "GET {url}");
    resp.body_mut().read_json().unwrap()
}

#[test]
fn a_locked_oci_source_is_pulled_by_its_locked_digest() {
    let reg = registry();
    let dir = repo();
    let d = dir.path();
    signed_bundle(d);
    let reference = format!("oci://127.0.0.1:{}/acme/policies:1.0.0", reg.port);
    ok(&bylaw(d, &["bundle", "push", "acme.tar.gz", &reference]));
    write(d, ".bylaw.yaml", &format!("policies: ['{reference}']\nbundles: {{ public_keys: [key.pub] }}\n"));
    ok(&bylaw(d, &["lock"]));
    let lock: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("bylaw.lock")).unwrap()).unwrap();
    let entry = &lock["sources"][0];
    assert_eq!(entry["kind"], "oci");
    assert_eq!(entry["version"], "1.0.0");
    assert_eq!(entry["sha256"], Bundle::digest_of(&std::fs::read(d.join("acme.tar.gz")).unwrap()).as_str());
    assert!(entry["manifest_digest"].as_str().unwrap().starts_with("sha256:"), "{entry}");

    // the tag moves to another bundle: the run still reads the locked one
    write(d, "policies/k8s.yaml", &POLICY.replace("endsWith(':latest')", "false"));
    ok(&bylaw(d, &["bundle", "build", "policies", "-o", "moved.tar.gz"]));
    ok(&bylaw(d, &["bundle", "sign", "moved.tar.gz", "--key", "key.key"]));
    ok(&bylaw(d, &["bundle", "push", "moved.tar.gz", &reference]));
    let out = bylaw(d, &["check", "deploy"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stdout.contains("[ACME-1]"), "{}", out.stdout);

    // refreshing the lock takes the tag's new bundle
    let out = bylaw(d, &["lock", "--update"]);
    ok(&out);
    assert!(out.stdout.contains(&format!("updated 1 ({reference})")), "{}", out.stdout);
    let out = bylaw(d, &["check", "deploy"]);
    assert!(!out.stdout.contains("[ACME-1]"), "{}", out.stdout);
}

// ---- trust without keys, signing twice, build's version (issue 18 leftovers) ----

/// `acme.tar.gz` with `path` replaced by `bytes` and the `.manifest`
/// digests rewritten to match (what an editor of a bundle would do to
/// hide a change from the manifest check), signature kept.
fn tamper_with_manifest(d: &Path, path: &str, bytes: &[u8], out: &str) {
    let b = read(&d.join("acme.tar.gz"));
    let mut files: BTreeMap<String, Vec<u8>> = b.all_files().map(|(p, b)| (p.to_owned(), b.to_vec())).collect();
    files.insert(path.to_owned(), bytes.to_vec());
    let mut manifest: serde_json::Value = serde_json::from_slice(&files[".manifest"]).unwrap();
    manifest["metadata"]["bylaw"]["files"][path] = bylaw_bundle::file_digest(path, bytes).into();
    files.insert(".manifest".to_owned(), serde_json::to_vec(&manifest).unwrap());
    std::fs::write(d.join(out), Bundle::from_files(files).to_tar_gz()).unwrap();
}

#[test]
fn manifest_digests_are_checked_on_load_without_any_key() {
    let dir = repo();
    let d = dir.path();
    ok(&bylaw(d, &["bundle", "build", "policies", "-o", "acme.tar.gz"]));
    std::fs::copy(d.join("acme.tar.gz"), d.join("pristine.tar.gz")).unwrap();
    std::fs::remove_dir_all(d.join("policies")).unwrap();
    write(d, ".bylaw.yaml", "policies: [acme.tar.gz]\n");
    let out = bylaw(d, &["check", "deploy"]);
    assert_eq!(out.code, 1, "an intact unsigned bundle loads:\n{}", out.stderr);
    // a corrupted file: an error naming the bundle and the file, not a warning
    tamper(d, "k8s.yaml", POLICY.replace("endsWith(':latest')", "false").as_bytes(), "acme.tar.gz");
    let out = bylaw(d, &["check", "deploy"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.contains(
            "bundle refused: `k8s.yaml` does not match its SHA-256 in `.manifest` (changed or corrupted after the bundle was built)\n --> acme.tar.gz"
        ),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("= hint: the bundle changed after `bylaw bundle build` wrote it"), "{}", out.stderr);
    assert!(out.stderr.contains("error: 1 error in policy sources; nothing was evaluated"), "{}", out.stderr);
    // a file slipped in after the build
    std::fs::copy(d.join("pristine.tar.gz"), d.join("acme.tar.gz")).unwrap();
    tamper(d, "extra.rego", b"package extra\n", "acme.tar.gz");
    let out = bylaw(d, &["check", "deploy"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.contains("bundle refused: `extra.rego` is not among the file digests of `.manifest` (added after the bundle was built)"),
        "{}",
        out.stderr
    );
    // `-p` reads it the same way
    let out = bylaw(d, &["check", "deploy", "--no-config", "-p", "acme.tar.gz"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
}

#[test]
fn a_signed_bundle_without_keys_warns_and_is_still_checked() {
    let dir = repo();
    let d = dir.path();
    signed_bundle(d);
    let id = bylaw_bundle::PublicKey::from_pem(&std::fs::read_to_string(d.join("key.pub")).unwrap()).unwrap().id();
    write(d, ".bylaw.yaml", "policies: [acme.tar.gz]\n");
    let out = bylaw(d, &["check", "deploy"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr.contains(&format!(
            "warning: acme.tar.gz: the bundle is signed (key {id}) but its signature was NOT verified: no `bundles.public_keys` in the config"
        )),
        "{}",
        out.stderr
    );
    // a change hidden from the manifest is still caught by the signed hashes
    tamper_with_manifest(d, "k8s.yaml", POLICY.replace("endsWith(':latest')", "false").as_bytes(), "edited.tar.gz");
    write(d, ".bylaw.yaml", "policies: [edited.tar.gz]\n");
    let out = bylaw(d, &["check", "deploy"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("bundle refused: `.manifest` was changed after signing"), "{}", out.stderr);
    assert!(
        out.stderr.contains("= hint: `bylaw bundle verify FILE --key PUBLIC.pem` checks a bundle"),
        "{}",
        out.stderr
    );
    // requiring signatures without a key is a config error, located
    write(d, ".bylaw.yaml", "policies: [acme.tar.gz]\nbundles:\n  require_signatures: true\n");
    let out = bylaw(d, &["check", "deploy"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.contains("`bundles.require_signatures` is on but `bundles.public_keys` names no key to verify with"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains(".bylaw.yaml:3:3"), "{}", out.stderr);
}

#[test]
fn sign_refuses_to_replace_another_keys_signature_unless_asked() {
    let dir = repo();
    let d = dir.path();
    signed_bundle(d);
    let pub_id =
        |name: &str| bylaw_bundle::PublicKey::from_pem(&std::fs::read_to_string(d.join(name)).unwrap()).unwrap().id();
    let (first, before) = (pub_id("key.pub"), std::fs::read(d.join("acme.tar.gz")).unwrap());
    // the same key signs again: same bytes (Ed25519 is deterministic)
    let out = bylaw(d, &["bundle", "sign", "acme.tar.gz", "--key", "key.key"]);
    ok(&out);
    assert_eq!(std::fs::read(d.join("acme.tar.gz")).unwrap(), before);
    ok(&bylaw(d, &["bundle", "keygen", "-o", "other"]));
    let second = pub_id("other.pub");
    let out = bylaw(d, &["bundle", "sign", "acme.tar.gz", "--key", "other.key"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.contains(&format!("acme.tar.gz is already signed by key {first}, not by {second}: not signed")),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("`--replace`"), "{}", out.stderr);
    assert_eq!(std::fs::read(d.join("acme.tar.gz")).unwrap(), before, "nothing written");
    let out = bylaw(d, &["bundle", "sign", "acme.tar.gz", "--key", "other.key", "--replace"]);
    ok(&out);
    assert_eq!(
        out.stdout,
        format!("bylaw: signed acme.tar.gz with key {second} (replacing the signature of key {first})\n")
    );
    ok(&bylaw(d, &["bundle", "verify", "acme.tar.gz", "--key", "other.pub"]));
    assert_eq!(bylaw(d, &["bundle", "verify", "acme.tar.gz", "--key", "key.pub"]).code, 1);
    // a bundle changed since it was built is not signed
    tamper(d, "k8s.yaml", b"changed", "changed.tar.gz");
    let out = bylaw(d, &["bundle", "sign", "changed.tar.gz", "--key", "other.key", "--replace"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("changed.tar.gz: not signed: `k8s.yaml` does not match its SHA-256"), "{}", out.stderr);
}

#[test]
fn build_warns_when_the_version_differs_from_the_one_policys() {
    let dir = repo();
    let d = dir.path();
    let out = bylaw(d, &["bundle", "build", "policies", "-o", "acme.tar.gz", "--version", "2.0.0"]);
    ok(&out);
    assert!(
        out.stderr.contains(
            "warning: the bundle version 2.0.0 differs from the `metadata.version` 1.0.0 of its one policy `acme-k8s` (policies/k8s.yaml)"
        ),
        "{}",
        out.stderr
    );
    assert_eq!(read(&d.join("acme.tar.gz")).manifest().unwrap().unwrap().bylaw.unwrap().version, "2.0.0");
    let out = bylaw(d, &["bundle", "build", "policies", "-o", "same.tar.gz", "--version", "1.0.0"]);
    ok(&out);
    assert_eq!(out.stderr, "", "the same version: no warning");
}

#[test]
fn each_kind_of_source_problem_has_its_own_hint() {
    let dir = repo();
    let d = dir.path();
    write(d, ".bylaw.yaml", "policies: [missing.tar.gz]\n");
    let out = bylaw(d, &["check", "deploy"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("cannot read the bundle"), "{}", out.stderr);
    assert!(out.stderr.contains("= hint: check the path among `policies:` of .bylaw.yaml"), "{}", out.stderr);
    assert!(!out.stderr.contains("bundle verify"), "{}", out.stderr);

    write(d, ".bylaw.yaml", "policies: ['http://policies.example.com/acme.tar.gz']\n");
    let out = bylaw(d, &["check", "deploy"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("= hint: serve the bundle over https://"), "{}", out.stderr);
    assert!(!out.stderr.contains("bundle verify"), "{}", out.stderr);

    write(d, "notabundle.tar.gz", "plain text");
    write(d, ".bylaw.yaml", "policies: [notabundle.tar.gz]\n");
    let out = bylaw(d, &["check", "deploy"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("= hint: the file is not a bundle bylaw can read"), "{}", out.stderr);

    write(d, ".bylaw.yaml", "policies: ['oci://registry.example.com/Acme/Policies:1.0.0']\n");
    let out = bylaw(d, &["check", "deploy"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.contains(
            "the repository name `Acme/Policies` has upper-case letters: repository names must be lower case"
        ),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("write `acme/policies`"), "{}", out.stderr);
    let out = bylaw(d, &["bundle", "pull", "oci://registry.example.com/Acme/Policies:1.0.0", "-o", "x.tar.gz"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("repository names must be lower case"), "{}", out.stderr);
}

/// A gzip-compressed tar archive of `entries` as given: `..` paths,
/// symbolic links and entries named twice included (what `bundle build`
/// never writes).
fn raw_tar(entries: &[(&str, tar::EntryType, &[u8])]) -> Vec<u8> {
    let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let mut t = tar::Builder::new(gz);
    for (path, kind, bytes) in entries {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(*kind);
        h.set_size(bytes.len() as u64);
        h.set_mode(0o644);
        if kind.is_symlink() {
            h.set_link_name("/etc/passwd").unwrap();
            h.set_size(0);
            t.append_data(&mut h, path, &[][..]).unwrap();
        } else {
            // the name set by hand: `append_data` refuses `..`
            let name = h.as_old_mut();
            name.name[..path.len()].copy_from_slice(path.as_bytes());
            h.set_cksum();
            t.append(&h, *bytes).unwrap();
        }
    }
    t.into_inner().unwrap().finish().unwrap()
}

#[test]
fn verify_answers_exit_1_for_a_malformed_archive_and_2_for_what_cannot_be_read() {
    let dir = repo();
    let d = dir.path();
    signed_bundle(d);
    let regular = tar::EntryType::Regular;
    let cases: [(&str, Vec<u8>, &str); 5] = [
        (
            "twice.tar.gz",
            raw_tar(&[("k8s.yaml", regular, b"a: 1\n"), ("k8s.yaml", regular, b"a: 2\n")]),
            "`k8s.yaml` in the archive: in the archive twice",
        ),
        (
            "escape.tar.gz",
            raw_tar(&[("../evil.rego", regular, b"package evil\n")]),
            "`../evil.rego` in the archive: a path that leaves the bundle (`..`)",
        ),
        (
            "link.tar.gz",
            raw_tar(&[("link.rego", tar::EntryType::Symlink, b"")]),
            "`link.rego` in the archive: a symbolic link: bundles hold regular files only",
        ),
        (
            "text.tar.gz",
            b"apiVersion: bylaw/v1\n".to_vec(),
            "not a gzip archive (a bundle is a gzip-compressed tar archive, `.tar.gz`; gzip data starts with the bytes 1f 8b)",
        ),
        ("empty.tar.gz", raw_tar(&[]), "the archive holds no file: not a bundle"),
    ];
    for (name, bytes, why) in cases {
        std::fs::write(d.join(name), bytes).unwrap();
        let out = bylaw(d, &["bundle", "verify", name, "--key", "key.pub"]);
        assert_eq!(out.code, 1, "{name}: {}", out.stderr);
        assert_eq!(out.stderr, format!("error: {name}: not a valid bundle: {why}\n"));
    }
    // usage errors stay exit 2: no file, no readable key
    let out = bylaw(d, &["bundle", "verify", "nope.tar.gz", "--key", "key.pub"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("cannot read nope.tar.gz"), "{}", out.stderr);
    let out = bylaw(d, &["bundle", "verify", "twice.tar.gz", "--key", "nope.pub"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("cannot read the key nope.pub"), "{}", out.stderr);
    // commands that read plain policy files say what a bundle is to them
    for args in [&["test", "acme.tar.gz"][..], &["explain", "--effective", "acme.tar.gz"][..]] {
        let out = bylaw(d, args);
        assert_eq!(out.code, 2, "{args:?}: {}", out.stderr);
        assert!(
            out.stderr.contains(
                "error[io]: a policy bundle (`.tar.gz`): this command reads policy files and directories\n --> acme.tar.gz\n"
            ),
            "{args:?}: {}",
            out.stderr
        );
        assert!(!out.stderr.contains("UTF-8"), "{args:?}: {}", out.stderr);
    }
    // a run loading the text file as a bundle says the same
    write(d, ".bylaw.yaml", "policies: [text.tar.gz]\n");
    let out = bylaw(d, &["check", "deploy"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("error[io]: not a gzip archive"), "{}", out.stderr);
}
