//! End-to-end tests of how `bylaw check` and `bylaw test` see a repository:
//! one project root and one path per file wherever bylaw runs from, what
//! was read and skipped and why, Helm templates, kustomize patches and
//! rendered streams on stdin, `bylaw test` beside other tools' YAML. Each
//! test builds a small repository in a temporary directory.

mod support;

use support::cli::{bylaw_in, json_findings, write};

const POLICY: &str = r#"apiVersion: bylaw/v1
kind: Policy
metadata: { name: pods, type: security }
spec:
  match:
    files: ["deploy/prod/*.yaml", "charts/**", "<stdin>"]
    kinds: [Pod, Deployment]
  rules:
    - id: P-001
      title: No privileged containers
      severity: high
      each: "$..containers[*]"
      deny: "item.securityContext.privileged == true"
      at: securityContext.privileged
      message: "container {{ item.name }} runs privileged"
"#;

const WORKFLOWS: &str = r#"apiVersion: bylaw/v1
kind: Policy
metadata: { name: workflows, type: security }
spec:
  match: { files: [".github/workflows/*.yml"] }
  rules:
    - id: W-001
      title: Workflows declare permissions
      severity: medium
      require: "has(doc.permissions)"
      message: "no permissions"
"#;

const PRIVILEGED: &str =
    "apiVersion: v1\nkind: Pod\nmetadata: { name: p }\nspec:\n  containers:\n    - name: app\n      image: x\n      securityContext: { privileged: true }\n";

/// A repository with a config, a policy scoped to `deploy/prod/*.yaml` and
/// one to workflows.
fn repo() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().join("repo");
    write(&d, ".bylaw.yaml", "policies: [policies/]\n");
    write(&d, "policies/pods.yaml", POLICY);
    write(&d, "policies/workflows.yaml", WORKFLOWS);
    write(&d, "deploy/prod/app.yaml", PRIVILEGED);
    write(&d, ".github/workflows/ci.yml", "on: push\njobs: {}\n");
    tmp
}

#[test]
fn the_same_findings_from_any_directory_and_any_spelling() {
    let tmp = repo();
    let d = tmp.path().join("repo");
    let inside = bylaw_in(&d, &["check", "--format", "json"], None);
    assert_eq!(inside.code, 1, "{}", inside.stderr);
    let expected = vec![
        ("W-001".to_owned(), ".github/workflows/ci.yml".to_owned(), 1),
        ("P-001".to_owned(), "deploy/prod/app.yaml".to_owned(), 8),
    ];
    let mut got = json_findings(&inside.stdout);
    got.sort();
    let mut want = expected.clone();
    want.sort();
    assert_eq!(got, want);
    // from the parent, from a subdirectory, and with odd spellings
    let abs = d.join("deploy").display().to_string() + "//";
    for (cwd, args) in [
        (tmp.path().to_path_buf(), vec!["check", "repo", "--format", "json"]),
        (tmp.path().to_path_buf(), vec!["check", "./repo/", "--format", "json"]),
        (d.join("deploy"), vec!["check", "..", "--format", "json"]),
    ] {
        let out = bylaw_in(&cwd, &args, None);
        let mut got = json_findings(&out.stdout);
        got.sort();
        assert_eq!(got, want, "{args:?} from {}: {}", cwd.display(), out.stderr);
    }
    for spelling in ["deploy//", "./deploy/prod/../prod/", abs.as_str()] {
        let out = bylaw_in(&d, &["check", spelling, "--format", "json"], None);
        assert_eq!(
            json_findings(&out.stdout),
            vec![("P-001".to_owned(), "deploy/prod/app.yaml".to_owned(), 8)],
            "{spelling}: {}",
            out.stderr
        );
    }
    // a file named three ways is evaluated once
    let out = bylaw_in(
        &d,
        &["check", "deploy/prod/app.yaml", "./deploy/prod/app.yaml", "deploy//prod/app.yaml", "--format", "json"],
        None,
    );
    assert_eq!(json_findings(&out.stdout).len(), 1, "{}", out.stdout);
}

#[test]
fn verbose_says_what_was_read_and_skipped_and_why() {
    let tmp = repo();
    let d = tmp.path().join("repo");
    // ignore rules apply in a git work tree only
    git(&d, &["init", "-q"]);
    write(&d, "README.md", "# repo\n");
    write(&d, ".gitignore", "build/\n");
    write(&d, "build/out.yaml", PRIVILEGED);
    write(&d, "charts/web/Chart.yaml", "apiVersion: v2\nname: web\nversion: 0.1.0\n");
    write(&d, "charts/web/templates/pod.yaml", "{{- if .Values.on }}\napiVersion: v1\nkind: Pod\n{{- end }}\n");
    write(&d, "kustomize/kustomization.yaml", "resources: [pod.yaml]\npatches:\n  - path: patch.yaml\n");
    write(&d, "kustomize/pod.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: { name: c }\n");
    write(&d, "kustomize/patch.yaml", "apiVersion: v1\nkind: Pod\nmetadata: { name: p }\n");
    write(&d, "other/config.yaml", "a: 1\n");
    let out = bylaw_in(&d, &["check", "-v"], None);
    assert_eq!(out.code, 1, "{}", out.stderr);
    for line in [
        "read     deploy/prod/app.yaml (1 document, 1 policy)",
        "skipped  README.md (unknown format)",
        "skipped  build/ (.gitignore)",
        "skipped  charts/web/templates/pod.yaml (Helm template)",
        "skipped  kustomize/patch.yaml (kustomize patch)",
        "skipped  other/config.yaml (matched no policy)",
    ] {
        assert!(out.stderr.contains(line), "missing `{line}` in:\n{}", out.stderr);
    }
    assert!(!out.stdout.contains("parse-error"), "{}", out.stdout);
    let json = bylaw_in(&d, &["check", "--format", "json"], None);
    let v: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    let skipped = &v["summary"]["skipped"];
    assert_eq!(skipped["Helm template"], 1, "{skipped}");
    assert_eq!(skipped["kustomize patch"], 1, "{skipped}");
    assert_eq!(skipped[".gitignore"], 1, "{skipped}");
    assert!(skipped["unknown format"].as_u64().unwrap() >= 2, "{skipped}");
}

#[test]
fn explicit_files_without_a_policy_warn_and_idle_policies_are_noted() {
    let tmp = repo();
    let d = tmp.path().join("repo");
    write(&d, "other/x.yaml", "apiVersion: v1\nkind: Pod\nmetadata: { name: x }\n");
    let out = bylaw_in(&d, &["check", "other/x.yaml"], None);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stderr.contains("warning: other/x.yaml: no policy applies to this file"), "{}", out.stderr);
    assert!(out.stderr.contains("note: policy workflows matched no file"), "{}", out.stderr);
    assert!(out.stderr.contains("note: policy pods matched no file"), "{}", out.stderr);
    let out = bylaw_in(&d, &["check", "charts/web/templates/pod.yaml"], None);
    assert_eq!(out.code, 2, "a path that does not exist: {}", out.stderr);
    write(&d, "charts/web/Chart.yaml", "name: web\n");
    write(&d, "charts/web/templates/pod.yaml", "{{ if }}\n");
    let out = bylaw_in(&d, &["check", "charts/web/templates/pod.yaml"], None);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stderr.contains("skipped: a Helm chart template"), "{}", out.stderr);
}

#[test]
fn a_rendered_stream_on_stdin_is_reported_against_its_templates() {
    let tmp = repo();
    let d = tmp.path().join("repo");
    write(&d, "charts/web/Chart.yaml", "apiVersion: v2\nname: web\nversion: 0.1.0\n");
    write(&d, "charts/web/templates/pod.yaml", "apiVersion: v1\nkind: Pod\n{{- if .Values.x }}\n{{- end }}\n");
    let stream = format!(
        "---\n# Source: web/templates/pod.yaml\n{PRIVILEGED}---\n# Source: web/templates/cm.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata: {{ name: c }}\n"
    );
    let out = bylaw_in(&d, &["check", "-", "--format", "json"], Some(&stream));
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_eq!(json_findings(&out.stdout), vec![("P-001".to_owned(), "charts/web/templates/pod.yaml".to_owned(), 8)]);
    // a plain stream (kustomize build) keeps its own lines
    let plain = format!("apiVersion: v1\nkind: ConfigMap\nmetadata: {{ name: c }}\n---\n{PRIVILEGED}");
    let out = bylaw_in(&d, &["check", "-", "--format", "json"], Some(&plain));
    assert_eq!(json_findings(&out.stdout), vec![("P-001".to_owned(), "<stdin>".to_owned(), 12)], "{}", out.stderr);
}

#[cfg(unix)]
#[test]
fn symlinks_are_followed_and_a_loop_is_reported_once() {
    let tmp = repo();
    let d = tmp.path().join("repo");
    std::os::unix::fs::symlink(d.join("deploy"), d.join("deploy/prod/loop")).unwrap();
    std::os::unix::fs::symlink(d.join("deploy/prod/app.yaml"), d.join("deploy/prod/alias.yaml")).unwrap();
    let out = bylaw_in(&d, &["check", "--format", "json"], None);
    assert_eq!(out.stderr.matches("symlink loop").count(), 1, "{}", out.stderr);
    let got = json_findings(&out.stdout);
    assert_eq!(got.iter().filter(|f| f.0 == "P-001").count(), 1, "one file, evaluated once: {got:?}");
}

#[test]
fn bylaw_test_uses_the_config_and_skips_other_tools_yaml() {
    let tmp = repo();
    let d = tmp.path().join("repo");
    // another tool's `kind: Policy` and a Helm-like file among the policies
    write(&d, "policies/kyverno.yaml", "apiVersion: kyverno.io/v1\nkind: Policy\nmetadata: { name: k }\nspec: {}\n");
    write(&d, "policies/tpl.yaml", "{{- if .Values.x }}\nkind: Policy\n{{- end }}\n");
    write(
        &d,
        "policies/pods.test.yaml",
        &format!(
            "apiVersion: bylaw/v1\nkind: PolicyTest\npolicy: pods\ncases:\n  - name: privileged\n    input:\n      path: deploy/prod/a.yaml\n      inline: |\n{}    expect: [{{ rule: P-001, count: 1 }}]\n",
            PRIVILEGED.lines().map(|l| format!("        {l}\n")).collect::<String>()
        ),
    );
    let out = bylaw_in(&d, &["test"], None);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert!(out.stdout.contains("1 passed, 0 failed"), "{}", out.stdout);
    // the test file alone finds the policy beside it
    let out = bylaw_in(&d, &["test", "policies/pods.test.yaml"], None);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    // a test of a policy that is not loaded is an error naming it
    write(&d, "elsewhere/x.test.yaml", "apiVersion: bylaw/v1\nkind: PolicyTest\npolicy: podz\ncases:\n  - name: n\n    input: { inline: 'a: 1' }\n    expect: none\n");
    let out = bylaw_in(&d, &["test", "elsewhere/x.test.yaml", "policies/pods.yaml"], None);
    assert_eq!(out.code, 2, "{}\n{}", out.stdout, out.stderr);
    assert!(out.stderr.contains("policy `podz`, which is not loaded"), "{}", out.stderr);
    assert!(out.stderr.contains("elsewhere/x.test.yaml:3:9"), "{}", out.stderr);
    assert!(out.stderr.contains("did you mean `pods`?"), "{}", out.stderr);
}

#[test]
fn naming_a_manifest_as_a_kustomize_patch_does_not_hide_it() {
    let tmp = repo();
    let d = tmp.path().join("repo");
    // a complete workload named as a patch, and a resource of another kustomization
    write(
        &d,
        "tools/kustomization.yaml",
        "patches:\n  - path: ../deploy/prod/app.yaml\n  - path: ../deploy/prod/res.yaml\n",
    );
    write(&d, "deploy/prod/kustomization.yaml", "resources: [res.yaml]\n");
    write(&d, "deploy/prod/res.yaml", &PRIVILEGED.replace("name: p", "name: r"));
    let out = bylaw_in(&d, &["check", "--format", "json"], None);
    let mut got = json_findings(&out.stdout);
    got.retain(|f| f.0 == "P-001");
    got.sort();
    assert_eq!(
        got,
        vec![
            ("P-001".to_owned(), "deploy/prod/app.yaml".to_owned(), 8),
            ("P-001".to_owned(), "deploy/prod/res.yaml".to_owned(), 8)
        ],
        "{}",
        out.stderr
    );
}

fn git(dir: &std::path::Path, args: &[&str]) {
    let ok = std::process::Command::new("git")
        .args(["-c", "user.name=t", "-c", "user.email=t@example.com", "-c", "init.defaultBranch=main"])
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap()
        .status
        .success();
    assert!(ok, "git {args:?}");
}

#[test]
fn nothing_a_repository_author_controls_hides_a_manifest() {
    let tmp = repo();
    let d = tmp.path().join("repo");
    // a tracked file that .gitignore matches is committed, so checked
    git(&d, &["init", "-q"]);
    write(&d, "deploy/prod/tracked.yaml", &PRIVILEGED.replace("name: p", "name: t"));
    git(&d, &["add", "-A"]);
    git(&d, &["commit", "-qm", "x"]);
    write(&d, ".gitignore", "deploy/prod/tracked.yaml\n");
    // a broken document with a placeholder does not hide the one before it
    write(
        &d,
        "deploy/prod/mixed.yaml",
        &format!("{}---\nx: {{{{ .Values.x }}}}\n", PRIVILEGED.replace("name: p", "name: m")),
    );
    // a plain manifest under templates/ of a (fake) chart is rendered verbatim by Helm
    write(&d, "charts/fake/Chart.yaml", "name: fake\n");
    write(&d, "charts/fake/templates/plain.yaml", &PRIVILEGED.replace("name: p", "name: f"));
    // a manifest in the policy directory is not a policy
    write(&d, "policies/pod.yaml", &PRIVILEGED.replace("name: p", "name: q"));
    let out = bylaw_in(&d, &["check", "--format", "json"], None);
    let mut got: Vec<String> = json_findings(&out.stdout).into_iter().filter(|f| f.0 == "P-001").map(|f| f.1).collect();
    got.sort();
    assert_eq!(
        got,
        vec![
            "charts/fake/templates/plain.yaml",
            "deploy/prod/app.yaml",
            "deploy/prod/mixed.yaml",
            "deploy/prod/tracked.yaml",
        ],
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("1 document with unrendered `{{ }}` templates not evaluated (deploy/prod/mixed.yaml)"),
        "{}",
        out.stderr
    );
    let verbose = bylaw_in(&d, &["check", "-v"], None);
    assert!(verbose.stderr.contains("skipped  policies/pods.yaml (bylaw's own file)"), "{}", verbose.stderr);
    assert!(verbose.stderr.contains("skipped  policies/pod.yaml (matched no policy)"), "an input: {}", verbose.stderr);
}

#[test]
fn ignore_files_git_cannot_see_and_submodules_do_not_hide_tracked_manifests() {
    let tmp = repo();
    let d = tmp.path().join("repo");
    // a submodule that ignores (and tracks) its generated manifests
    let sub = tmp.path().join("sub");
    git(tmp.path(), &["init", "-q", "sub"]);
    write(&sub, "generated/crd.yaml", &PRIVILEGED.replace("name: p", "name: s"));
    write(&sub, ".gitignore", "generated/\n");
    git(&sub, &["add", "-f", "-A"]);
    git(&sub, &["commit", "-qm", "s"]);
    git(&d, &["init", "-q"]);
    git(&d, &["-c", "protocol.file.allow=always", "submodule", "add", "-q", "../sub", "charts"]);
    // a committed `.ignore` (ripgrep's, unknown to git) holding `*`
    write(&d, "deploy/prod/.ignore", "*\n");
    git(&d, &["add", "-A"]);
    git(&d, &["commit", "-qm", "x"]);
    let out = bylaw_in(&d, &["check", "--format", "json"], None);
    let mut got: Vec<String> = json_findings(&out.stdout).into_iter().filter(|f| f.0 == "P-001").map(|f| f.1).collect();
    got.sort();
    assert_eq!(got, vec!["charts/generated/crd.yaml", "deploy/prod/app.yaml"], "{}", out.stderr);
    assert_eq!(out.code, 1, "{}", out.stderr);
    // without git, what .gitignore hid cannot be sorted into tracked and
    // ignored: said loudly
    let mut c = support::cli::command(&d, &["check", "--format", "json"]);
    c.env("PATH", tmp.path().join("no-such-dir"));
    let out = support::cli::run_bounded(c, None, std::time::Duration::from_secs(120)).unwrap();
    assert!(out.stderr.contains("warning: cannot ask git which ignored files it tracks (git:"), "{}", out.stderr);
}

/// An unreadable directory fails the run like an unreadable file: what is
/// in it was not checked. Needs a user the permissions apply to: the test
/// runs as `nobody` through `setpriv` when it runs as root.
#[cfg(unix)]
#[test]
fn an_unreadable_directory_is_a_blocking_error_not_a_pass() {
    use std::os::unix::fs::PermissionsExt;
    let root = std::process::Command::new("id").arg("-u").output().map(|o| o.stdout == b"0\n").unwrap_or(false);
    let setpriv = std::path::Path::new("/usr/bin/setpriv");
    if root && !setpriv.exists() {
        eprintln!("skipped: running as root without setpriv to drop privileges");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    write(d, "ok/app.yaml", "kind: ConfigMap\nmetadata: {name: c}\n");
    write(d, "locked/hidden.yaml", PRIVILEGED);
    write(d, "p.yaml", POLICY);
    for dir in [d.to_path_buf(), d.join("ok")] {
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    for f in ["ok/app.yaml", "p.yaml"] {
        std::fs::set_permissions(d.join(f), std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    std::fs::set_permissions(d.join("locked"), std::fs::Permissions::from_mode(0o000)).unwrap();
    let bin = env!("CARGO_BIN_EXE_bylaw");
    let mut c = if root {
        let mut c = std::process::Command::new(setpriv);
        c.args(["--reuid", "65534", "--regid", "65534", "--clear-groups", bin]);
        c
    } else {
        std::process::Command::new(bin)
    };
    c.args(["check", "--no-config", "-p", "p.yaml", ".", "--format", "json"]).current_dir(d).env_clear();
    c.stdout(std::process::Stdio::piped());
    let out = support::cli::run_bounded(c, None, std::time::Duration::from_secs(120)).unwrap();
    // an unreadable directory of policies: its policies would be missing
    write(d, "policies/locked/p.yaml", POLICY);
    write(d, "policies/q.yaml", &POLICY.replace("name: pods", "name: q"));
    std::fs::set_permissions(d.join("policies"), std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(d.join("policies/q.yaml"), std::fs::Permissions::from_mode(0o644)).unwrap();
    std::fs::set_permissions(d.join("policies/locked"), std::fs::Permissions::from_mode(0o000)).unwrap();
    let mut c = if root {
        let mut c = std::process::Command::new(setpriv);
        c.args(["--reuid", "65534", "--regid", "65534", "--clear-groups", bin]);
        c
    } else {
        std::process::Command::new(bin)
    };
    c.args(["check", "--no-config", "-p", "policies", "ok"]).current_dir(d).env_clear();
    c.stdout(std::process::Stdio::piped());
    let policies = support::cli::run_bounded(c, None, std::time::Duration::from_secs(120)).unwrap();
    std::fs::set_permissions(d.join("policies/locked"), std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(d.join("locked"), std::fs::Permissions::from_mode(0o755)).unwrap();
    assert_eq!(policies.code, 2, "{}", policies.stderr);
    assert!(
        policies.stderr.contains(
            "cannot read the directory (Permission denied (os error 13)): the policies in it were not loaded"
        ),
        "{}",
        policies.stderr
    );
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    let found = json_findings(&out.stdout);
    assert!(found.iter().any(|f| f.0 == "bylaw/parse-error" && f.1 == "locked"), "{found:?}\n{}", out.stderr);
    assert!(out.stdout.contains("cannot read the directory: Permission denied"), "{}", out.stdout);
}

#[test]
fn standard_input_that_is_empty_or_names_no_template_is_not_trusted() {
    let tmp = repo();
    let d = tmp.path().join("repo");
    let out = bylaw_in(&d, &["check", "-"], Some("  \n"));
    assert_eq!(out.code, 2, "an empty stream is a failed render: {}", out.stderr);
    assert!(out.stderr.contains("standard input is empty"), "{}", out.stderr);
    // a `# Source:` naming no template under the root keeps the stream's name
    let spoof = format!("---\n# Source: legacy/templates/x.yaml\n{PRIVILEGED}");
    let out = bylaw_in(&d, &["check", "-", "--format", "json"], Some(&spoof));
    assert_eq!(json_findings(&out.stdout), vec![("P-001".to_owned(), "<stdin>".to_owned(), 10)], "{}", out.stderr);
}
