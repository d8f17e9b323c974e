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
