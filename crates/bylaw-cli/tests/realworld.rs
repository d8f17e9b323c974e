//! bylaw on four real repositories (`../shared/realworld/`: the
//! configuration files of microservices-demo, podinfo, kubernetes/examples
//! and argo-cd), as a new user meets it: `bylaw init`, then `bylaw test`
//! and `bylaw check` on a copy of each. The first experience must pass:
//! tests green, `check` exiting 0 or 1 for real findings only (no parse
//! error from Helm templates, kustomize patches or JSON with comments), the
//! same findings when run from the parent directory, and the CI file that
//! init wrote passing bylaw's own GitHub Actions pack.

mod support;

use std::path::{Path, PathBuf};

fn shared() -> PathBuf {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/realworld");
    assert!(p.is_dir(), "the real repositories are expected at {}", p.display());
    p
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        let t = e.file_type().unwrap();
        if t.is_dir() {
            copy_dir(&e.path(), &target);
        } else if t.is_symlink() {
            #[cfg(unix)]
            std::os::unix::fs::symlink(std::fs::read_link(e.path()).unwrap(), &target).unwrap();
        } else {
            std::fs::copy(e.path(), &target).unwrap();
            let mut perm = std::fs::metadata(&target).unwrap().permissions();
            #[allow(clippy::permissions_set_readonly_false)]
            perm.set_readonly(false);
            std::fs::set_permissions(&target, perm).unwrap();
        }
    }
}

fn bylaw(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let out = support::cli::bylaw_in(dir, args, None);
    (out.code, out.stdout, out.stderr)
}

/// (rule, path, line, message) of every finding of a JSON report.
fn findings(report: &serde_json::Value) -> Vec<(String, String, u64, String)> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["rule_id"].as_str().unwrap().to_owned(),
                f["location"]["path"].as_str().unwrap().to_owned(),
                f["location"]["start_line"].as_u64().unwrap(),
                f["message"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// Runs the new user's first session on one repository; returns the
/// parse errors that remain (path, message).
fn first_contact(name: &str) -> Vec<(String, String)> {
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join(name);
    copy_dir(&shared().join(name), &repo);
    let (code, out, err) = bylaw(&repo, &["init", "--platform", "github"]);
    assert_eq!(code, 0, "{name}: init\n{out}\n{err}");

    let (code, out, err) = bylaw(&repo, &["test"]);
    assert_eq!(code, 0, "{name}: bylaw test right after init\n{out}\n{err}");
    assert!(out.contains(" passed, 0 failed"), "{name}: {out}");

    let (code, out, err) = bylaw(&repo, &["check", "--format", "json"]);
    assert!(code == 0 || code == 1, "{name}: check exit {code}\n{err}");
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    let inside = findings(&report);
    let blocking = report["summary"]["blocking"].as_u64().unwrap();
    assert_eq!(code == 1, blocking > 0, "{name}: exit 1 exactly for blocking findings");
    // the starter policies are advisory: only parse errors can block
    let parse_errors: Vec<(String, String)> =
        inside.iter().filter(|f| f.0 == "bylaw/parse-error").map(|f| (f.1.clone(), f.3.clone())).collect();
    assert_eq!(blocking as usize, parse_errors.len(), "{name}: {parse_errors:?}");
    for (path, message) in &parse_errors {
        assert!(!path.contains("/templates/"), "{name}: a Helm template is not a parse error: {path}: {message}");
        assert!(!path.ends_with(".json") || !message.contains("comment"), "{name}: {path}: {message}");
    }
    // the CI file init wrote passes the GitHub Actions pack
    assert!(
        !inside.iter().any(|f| f.1 == ".github/workflows/bylaw.yml"),
        "{name}: the generated workflow has findings: {inside:?}"
    );

    // from the parent directory: the same findings
    let (_, out, err) = bylaw(tmp.path(), &["check", name, "--format", "json"]);
    let parent: serde_json::Value =
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("{name}: {e} from the parent\n{err}"));
    assert_eq!(findings(&parent), inside, "{name}: checking from the parent directory differs");
    assert_eq!(parent["summary"], report["summary"], "{name}");
    parse_errors
}

#[test]
fn microservices_demo() {
    assert_eq!(first_contact("microservices-demo"), vec![]);
}

#[test]
fn podinfo() {
    assert_eq!(first_contact("podinfo"), vec![]);
}

#[test]
fn argo_cd() {
    assert_eq!(first_contact("argo-cd"), vec![]);
}

#[test]
fn kubernetes_examples() {
    // What remains is real: duplicate keys, which kubectl rejects too
    // (go-yaml: "key already set in map").
    let errors = first_contact("examples");
    let paths: Vec<&str> = errors.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(
        paths,
        vec![
            "_archived/openshift-origin/etcd-controller.yaml",
            "_archived/openshift-origin/etcd-discovery-controller.yaml",
            "_archived/openshift-origin/openshift-controller.yaml",
            "_archived/persistent-volume-provisioning/quobyte/quobyte-admin-secret.yaml",
            "_archived/volumes/scaleio/sc-pvc.yaml",
        ]
    );
    assert!(errors.iter().all(|(_, m)| m.contains("duplicate key")), "{errors:?}");
}
