//! `bylaw check DIR` equals `cd DIR && bylaw check` (DESIGN §6, §7) when
//! DIR holds a `.bylaw.yaml` with `paths:` and exclusions in `targets:`:
//! the one PATH that is the config's own directory takes the config's
//! `paths`, as a run without PATHS does; any other PATH replaces them.

mod support;

use serde_json::Value;
use std::path::Path;
use support::cli::{bylaw_in, write, Out};

const POLICY: &str = r#"apiVersion: bylaw/v1
kind: Policy
metadata: { name: no-debug, version: 1.0.0 }
spec:
  rules:
    - id: DBG-001
      title: No debug flag
      severity: high
      deny: "has(doc.debug) && doc.debug == true"
      message: "debug is on"
"#;

/// A repository whose config checks `deploy/` only, without its vendored
/// files; a file outside `deploy/` and a vendored one would both fire.
fn repo() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let r = dir.path().join("repo");
    write(&r, "policies/no-debug.yaml", POLICY);
    write(&r, "deploy/app.yaml", "name: app\ndebug: true\n");
    write(&r, "deploy/ok.yaml", "name: ok\ndebug: false\n");
    write(&r, "deploy/vendor/lib.yaml", "name: lib\ndebug: true\n");
    write(&r, "scratch/try.yaml", "name: try\ndebug: true\n");
    write(&r, ".bylaw.yaml", "policies: [policies/]\npaths: [deploy/]\ntargets: ['!**/vendor/**']\n");
    dir
}

fn report(out: &Out) -> Value {
    serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}\n{}", out.stdout, out.stderr))
}

fn finding_paths(report: &Value) -> Vec<String> {
    report["findings"].as_array().unwrap().iter().map(|f| f["location"]["path"].as_str().unwrap().to_owned()).collect()
}

#[test]
fn check_dir_is_cd_dir_and_check() {
    let dir = repo();
    let top = dir.path();
    let r = top.join("repo");
    let inside = bylaw_in(&r, &["check", "--format", "json"], None);
    assert_eq!(inside.code, 1, "{}", inside.stderr);
    let expected = report(&inside);
    assert_eq!(finding_paths(&expected), ["deploy/app.yaml"], "paths: and the vendor exclusion apply");
    assert_eq!(expected["summary"]["files"], 2, "deploy/app.yaml and deploy/ok.yaml");

    let abs = r.to_str().unwrap().to_owned();
    for (cwd, arg) in
        [(top, "repo"), (top, "repo/"), (top, "./repo"), (r.as_path(), "."), (Path::new("/"), abs.as_str())]
    {
        let out = bylaw_in(cwd, &["check", arg, "--format", "json"], None);
        assert_eq!(out.code, 1, "check {arg} from {}: {}", cwd.display(), out.stderr);
        assert_eq!(out.stdout, inside.stdout, "`check {arg}` from {} differs from `cd repo && check`", cwd.display());
    }
}

#[test]
fn another_path_replaces_the_configs_paths() {
    let dir = repo();
    let r = dir.path().join("repo");
    // a directory other than the config's: checked as named (exclusions still apply)
    let out = bylaw_in(&r, &["check", "scratch", "--format", "json"], None);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_eq!(finding_paths(&report(&out)), ["scratch/try.yaml"]);
    let out = bylaw_in(dir.path(), &["check", "repo/deploy", "--format", "json"], None);
    assert_eq!(finding_paths(&report(&out)), ["deploy/app.yaml"], "targets: still leave vendor out");
    // two paths, one of them the root: as given, not the config's `paths`
    let out = bylaw_in(&r, &["check", ".", "scratch", "--format", "json"], None);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_eq!(finding_paths(&report(&out)), ["deploy/app.yaml", "scratch/try.yaml"]);
}
