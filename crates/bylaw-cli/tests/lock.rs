//! End-to-end tests of `bylaw lock [--update]` and of `check` holding the
//! policy sources to `bylaw.lock` (issue 18, item 1).

mod support;

use support::cli::{bylaw_in, write, Out};

const POLICY: &str = r#"apiVersion: bylaw/v1
kind: Policy
metadata:
  name: acme-k8s
  version: 1.0.0
spec:
  rules:
    - id: ACME-1
      title: No pods
      severity: high
      deny: "doc.kind == 'Pod'"
"#;

fn repo(config: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "policies/acme.yaml", POLICY);
    write(dir.path(), "deploy/job.yaml", "kind: Job\nmetadata: { name: j }\n");
    write(dir.path(), ".bylaw.yaml", config);
    dir
}

fn ok(out: &Out) {
    assert_eq!(out.code, 0, "stdout:\n{}\nstderr:\n{}", out.stdout, out.stderr);
}

fn lock_json(dir: &std::path::Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("bylaw.lock")).unwrap()).unwrap()
}

#[test]
fn lock_check_drift_and_update() {
    let dir = repo("policies: [policies/, 'pack:kubernetes-baseline']\n");
    let d = dir.path();
    let out = bylaw_in(d, &["lock"], None);
    ok(&out);
    assert_eq!(
        out.stdout,
        "bylaw: wrote bylaw.lock (2 sources; added 2 (policies/, pack:kubernetes-baseline), removed 0, updated 0)\n"
    );
    let lock = lock_json(d);
    assert_eq!(lock["lock_version"], 1);
    assert_eq!(lock["sources"][0]["source"], "policies/");
    assert_eq!(lock["sources"][0]["kind"], "path");
    assert_eq!(lock["sources"][0]["policies"], serde_json::json!({ "acme-k8s": "1.0.0" }));
    assert_eq!(lock["sources"][1]["kind"], "pack");
    assert_eq!(lock["sources"][1]["version"], "1.0.0");
    assert_eq!(lock["sources"][0]["sha256"].as_str().unwrap().len(), 64);
    let locked = lock["sources"][0]["sha256"].as_str().unwrap().to_owned();
    ok(&bylaw_in(d, &["check", "deploy"], None));

    // a policy file edited after locking stops the run
    write(d, "policies/acme.yaml", &POLICY.replace("'Pod'", "'Job'"));
    let out = bylaw_in(d, &["check", "deploy"], None);
    assert_eq!(out.code, 2, "{}", out.stderr);
    let line = out.stderr.lines().next().unwrap();
    assert!(
        line.starts_with(&format!(
            "error: the policy sources differ from bylaw.lock: `policies/`: sha256 locked {locked}, found "
        )),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("hint: review the change; if it is wanted, run `bylaw lock --update`"),
        "{}",
        out.stderr
    );
    // `bylaw lock` keeps pins and says the same
    let out = bylaw_in(d, &["lock"], None);
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("`policies/`: sha256 locked"), "{}", out.stderr);
    assert_eq!(lock_json(d)["sources"][0]["sha256"], locked.as_str());

    let out = bylaw_in(d, &["lock", "--update"], None);
    ok(&out);
    assert_eq!(out.stdout, "bylaw: wrote bylaw.lock (2 sources; added 0, removed 0, updated 1 (policies/))\n");
    let out = bylaw_in(d, &["check", "deploy"], None);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stdout.contains("[ACME-1]"), "{}", out.stdout);

    // a version bump is named as such
    write(d, "policies/acme.yaml", &POLICY.replace("'Pod'", "'Job'").replace("1.0.0", "1.1.0"));
    let out = bylaw_in(d, &["check", "deploy"], None);
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("policies locked acme-k8s 1.0.0, found acme-k8s 1.1.0"), "{}", out.stderr);
}

#[test]
fn sources_are_added_and_dropped_and_an_unlocked_source_fails_the_run() {
    let dir = repo("policies: [policies/]\n");
    let d = dir.path();
    ok(&bylaw_in(d, &["lock"], None));
    write(d, ".bylaw.yaml", "policies: ['pack:kubernetes-baseline']\n");
    let out = bylaw_in(d, &["check", "deploy"], None);
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains(
            "error: the policy sources differ from bylaw.lock: `pack:kubernetes-baseline` is not in bylaw.lock"
        ),
        "{}",
        out.stderr
    );
    let out = bylaw_in(d, &["lock"], None);
    ok(&out);
    assert_eq!(
        out.stdout,
        "bylaw: wrote bylaw.lock (1 source; added 1 (pack:kubernetes-baseline), removed 1 (policies/), updated 0)\n"
    );
    ok(&bylaw_in(d, &["check", "deploy"], None));
    // a run given other policies (`-p`) is not held to the config's lock
    let out = bylaw_in(d, &["check", "deploy", "-p", "policies"], None);
    assert_eq!(out.code, 0, "{}", out.stderr);
}

#[test]
fn a_policy_without_a_semver_version_is_not_locked() {
    let dir = repo("policies: [policies/]\n");
    let d = dir.path();
    write(
        d,
        "policies/other.yaml",
        &POLICY.replace("acme-k8s", "other").replace("ACME-1", "OTHER-1").replace("version: 1.0.0", "version: v1"),
    );
    write(
        d,
        "policies/bare.yaml",
        &POLICY.replace("acme-k8s", "bare").replace("ACME-1", "BARE-1").replace("  version: 1.0.0\n", ""),
    );
    let out = bylaw_in(d, &["lock"], None);
    assert_eq!(out.code, 2, "{}", out.stderr);
    // an invalid version: the language's schema says so first
    assert!(out.stderr.contains("`metadata.version` `v1` does not match the required pattern"), "{}", out.stderr);
    assert!(out.stderr.contains(" --> policies/other.yaml:5:12"), "{}", out.stderr);
    assert!(out.stderr.contains("error: 1 error in policies; nothing was evaluated"), "{}", out.stderr);
    assert!(!d.join("bylaw.lock").exists());
    std::fs::remove_file(d.join("policies/other.yaml")).unwrap();
    let out = bylaw_in(d, &["lock"], None);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("error[schema]: policy `bare` has no `metadata.version`"), "{}", out.stderr);
    assert!(out.stderr.contains(" --> policies/bare.yaml:4:3"), "{}", out.stderr);
    let summary = "error: 1 policy without a semver `metadata.version`; nothing was locked";
    assert!(out.stderr.contains(summary), "{}", out.stderr);
    assert!(!d.join("bylaw.lock").exists());
}

#[test]
fn a_bundle_is_locked_by_its_archive_and_manifest_version() {
    let dir = repo("policies: [acme.tar.gz]\n");
    let d = dir.path();
    ok(&bylaw_in(d, &["bundle", "build", "policies", "-o", "acme.tar.gz"], None));
    ok(&bylaw_in(d, &["lock"], None));
    let lock = lock_json(d);
    let digest = bylaw_bundle::Bundle::digest_of(&std::fs::read(d.join("acme.tar.gz")).unwrap());
    assert_eq!(lock["sources"][0]["kind"], "bundle");
    assert_eq!(lock["sources"][0]["sha256"], digest.as_str());
    assert_eq!(lock["sources"][0]["version"], "1.0.0");
    assert_eq!(lock["sources"][0]["policies"], serde_json::json!({ "acme-k8s": "1.0.0" }));
    ok(&bylaw_in(d, &["check", "deploy"], None));
    ok(&bylaw_in(
        d,
        &["bundle", "build", "policies", "-o", "acme.tar.gz", "--name", "acme", "--version", "1.0.1"],
        None,
    ));
    let out = bylaw_in(d, &["check", "deploy"], None);
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("version locked 1.0.0, found 1.0.1"), "{}", out.stderr);
}

#[test]
fn neither_a_baseline_nor_a_bundle_is_written_over_the_lock_or_a_policy() {
    let dir = repo("policies: [policies/]\nenvironments:\n  prod: { branches: [main] }\n");
    let d = dir.path();
    ok(&bylaw_in(d, &["lock"], None));
    let lock = std::fs::read_to_string(d.join("bylaw.lock")).unwrap();
    let out = bylaw_in(d, &["check", "deploy", "--write-baseline", "bylaw.lock"], None);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("bylaw.lock: an existing file that is not a bylaw baseline"), "{}", out.stderr);
    assert_eq!(std::fs::read_to_string(d.join("bylaw.lock")).unwrap(), lock, "the lock is untouched");

    let policy = std::fs::read_to_string(d.join("policies/acme.yaml")).unwrap();
    let out = bylaw_in(d, &["bundle", "build", "policies", "-o", "policies/acme.yaml"], None);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("an existing file that is not a bundle archive"), "{}", out.stderr);
    assert_eq!(std::fs::read_to_string(d.join("policies/acme.yaml")).unwrap(), policy, "the policy is untouched");

    // a misspelt environment is said, not silently replaced by the default
    let out = bylaw_in(d, &["check", "deploy", "--env", "prdo"], None);
    ok(&out);
    assert!(
        out.stderr.contains("environment `prdo` is not one of the environments of .bylaw.yaml (prod)"),
        "{}",
        out.stderr
    );
}

#[test]
fn explain_effective_reads_bundles_and_fails_on_a_broken_pin_as_check_does() {
    let dir =
        repo("policies: [acme.tar.gz]\nenvironments:\n  prod: { branches: [main], versions: { acme-k8s: '~1.0' } }\n");
    let d = dir.path();
    let out = bylaw_in(d, &["bundle", "build", "policies", "-o", "acme.tar.gz"], None);
    ok(&out);
    assert!(out.stdout.contains("(bundle acme-k8s 1.0.0, 1 file, sha256:"), "{}", out.stdout);
    let out = bylaw_in(d, &["explain", "--effective", "--env", "prod"], None);
    ok(&out);
    assert!(out.stdout.contains("acme-k8s  1.0.0    enforced   acme.tar.gz"), "{}", out.stdout);
    assert!(out.stdout.contains("acme-k8s 1.0.0 (acme.tar.gz!/acme.yaml)"), "{}", out.stdout);

    write(
        d,
        ".bylaw.yaml",
        "policies: [acme.tar.gz]\nenvironments:\n  prod: { branches: [main], versions: { acme-k8s: '~1.1' } }\n",
    );
    for args in [&["explain", "--effective", "--env", "prod"][..], &["check", "deploy", "--env", "prod"][..]] {
        let out = bylaw_in(d, args, None);
        assert_eq!(out.code, 2, "{args:?}: {}", out.stderr);
        assert!(out.stderr.contains("is at version 1.0.0, which does not satisfy `~1.1`"), "{args:?}: {}", out.stderr);
    }
}

/// A plain-HTTP server on 127.0.0.1 answering every GET with `body`, until
/// it is dropped; returns its base URL.
struct Served {
    url: String,
    server: std::sync::Arc<tiny_http::Server>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Served {
    fn start(body: Vec<u8>) -> Served {
        let server = std::sync::Arc::new(tiny_http::Server::http("127.0.0.1:0").unwrap());
        let port = server.server_addr().to_ip().unwrap().port();
        let s = server.clone();
        let thread = std::thread::spawn(move || {
            for req in s.incoming_requests() {
                let _ = req.respond(tiny_http::Response::from_data(body.clone()));
            }
        });
        Served { url: format!("http://127.0.0.1:{port}"), server, thread: Some(thread) }
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        self.server.unblock();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[test]
fn sources_only_one_environment_uses_are_locked_and_checked_there_only() {
    let dir = repo("policies: [policies/]\n");
    let d = dir.path();
    // prod's bundle and staging's URL hold the policy at another version
    write(d, "next/acme.yaml", &POLICY.replace("version: 1.0.0", "version: 2.0.0"));
    ok(&bylaw_in(d, &["bundle", "build", "next", "-o", "acme.tar.gz"], None));
    ok(&bylaw_in(d, &["bundle", "build", "next", "-o", "served.tar.gz", "--version", "2.0.1"], None));
    let server = Served::start(std::fs::read(d.join("served.tar.gz")).unwrap());
    let url = format!("{}/acme.tar.gz", server.url);
    write(
        d,
        ".bylaw.yaml",
        &format!(
            "policies: [policies/]\nenvironments:\n  prod:\n    policies: [acme.tar.gz]\n  staging:\n    policies: ['{url}', 'pack:kubernetes-baseline']\n  dev: {{ branches: [dev] }}\n"
        ),
    );
    for args in [&["lock"][..], &["lock", "--update"][..]] {
        let out = bylaw_in(d, args, None);
        ok(&out);
        assert!(out.stdout.contains("(4 sources;"), "{args:?}: {}", out.stdout);
    }
    let lock = lock_json(d);
    let by_source = |s: &str| lock["sources"].as_array().unwrap().iter().find(|e| e["source"] == s).cloned().unwrap();
    assert_eq!(by_source("acme.tar.gz")["kind"], "bundle");
    assert_eq!(by_source("acme.tar.gz")["policies"], serde_json::json!({ "acme-k8s": "2.0.0" }));
    assert_eq!(by_source(&url)["kind"], "url");
    assert_eq!(by_source(&url)["version"], "2.0.1");
    assert_eq!(by_source("pack:kubernetes-baseline")["kind"], "pack");
    assert_eq!(by_source("policies/")["kind"], "path");

    for env in [None, Some("prod"), Some("staging"), Some("dev")] {
        let mut args = vec!["check", "deploy"];
        if let Some(e) = env {
            args.extend(["--env", e]);
        }
        ok(&bylaw_in(d, &args, None));
    }

    // prod's bundle rebuilt: prod's run stops, the others' do not read it
    ok(&bylaw_in(d, &["bundle", "build", "next", "-o", "acme.tar.gz", "--version", "3.0.0"], None));
    let out = bylaw_in(d, &["check", "deploy", "--env", "prod"], None);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("`acme.tar.gz`: sha256 locked"), "{}", out.stderr);
    ok(&bylaw_in(d, &["check", "deploy"], None));
    ok(&bylaw_in(d, &["check", "deploy", "--env", "staging"], None));
    // `lock` refuses the drift, `lock --update` pins it
    let out = bylaw_in(d, &["lock"], None);
    assert_eq!(out.code, 2, "{}", out.stderr);
    let out = bylaw_in(d, &["lock", "--update"], None);
    ok(&out);
    assert!(out.stdout.contains("updated 1 (acme.tar.gz)"), "{}", out.stdout);
    ok(&bylaw_in(d, &["check", "deploy", "--env", "prod"], None));

    // the server gone: only staging, which uses the URL, is stopped
    drop(server);
    ok(&bylaw_in(d, &["check", "deploy"], None));
    ok(&bylaw_in(d, &["check", "deploy", "--env", "prod"], None));
    let out = bylaw_in(d, &["check", "deploy", "--env", "staging"], None);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains(&format!(" --> {url}")), "{}", out.stderr);
}

#[test]
fn a_broken_lock_file_is_located() {
    let dir = repo("policies: [policies/]\n");
    let d = dir.path();
    write(d, "bylaw.lock", "{\n  \"lock_version\": 1,\n  \"sources\": 3\n}\n");
    for args in [&["check", "deploy"][..], &["lock"][..]] {
        let out = bylaw_in(d, args, None);
        assert_eq!(out.code, 2, "{args:?}: {}", out.stderr);
        assert!(
            out.stderr.contains(
                "error: bylaw.lock:3:14: not a bylaw lock file: invalid type: integer `3`, expected a sequence\n"
            ),
            "{args:?}: {}",
            out.stderr
        );
    }
}
