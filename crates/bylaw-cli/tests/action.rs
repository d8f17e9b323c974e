//! The GitHub Action: `action.yml` and the example workflows against
//! SchemaStore's schemas as vendored by PyPI's check-jsonschema, its
//! inputs/outputs contract, the install script against a local fake release
//! directory, and the run script end to end.

mod support;

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;
use support::tools::{check_jsonschema, root, sh};

#[test]
fn action_and_workflows_fit_schemastore_schemas() {
    let tool = check_jsonschema();
    let (code, out, err) =
        sh(Command::new(&tool).args(["--builtin-schema", "vendor.github-actions", "action.yml"]).current_dir(root()));
    assert_eq!(code, 0, "action.yml:\n{out}{err}");
    let mut workflows: Vec<PathBuf> = Vec::new();
    for dir in ["examples/github", ".github/workflows"] {
        for e in std::fs::read_dir(root().join(dir)).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == "yml" || x == "yaml") {
                workflows.push(p);
            }
        }
    }
    assert!(workflows.len() >= 3, "{workflows:?}");
    let (code, out, err) = sh(Command::new(&tool)
        .args(["--builtin-schema", "vendor.github-workflows"])
        .args(&workflows)
        .current_dir(root()));
    assert_eq!(code, 0, "{workflows:?}:\n{out}{err}");
    // a broken workflow is caught (the check is real)
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.yml");
    std::fs::write(
        &bad,
        "on: push\njobs:\n  x:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: a/b@v1\n        run: echo both\n",
    )
    .unwrap();
    let (code, _, _) = sh(Command::new(&tool).args(["--builtin-schema", "vendor.github-workflows"]).arg(&bad));
    assert_ne!(code, 0);
}

fn yaml(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap();
    let parsed = bylaw_engine::input::yaml::parse(&text);
    assert!(parsed.errors.is_empty(), "{}: {:?}", path.display(), parsed.errors);
    parsed.documents[0].to_json()
}

#[test]
fn action_inputs_and_outputs_are_the_contract() {
    let action = yaml(&root().join("action.yml"));
    assert_eq!(action["runs"]["using"], "composite");
    let inputs: Vec<&str> = action["inputs"].as_object().unwrap().keys().map(String::as_str).collect();
    for name in [
        "policies",
        "paths",
        "config",
        "env",
        "fail-on",
        "sarif",
        "junit",
        "comment",
        "check-run",
        "status",
        "annotations",
        "github-token",
        "version",
    ] {
        assert!(inputs.contains(&name), "input {name} missing: {inputs:?}");
    }
    assert_eq!(action["inputs"]["comment"]["default"], "on-failure");
    assert_eq!(action["inputs"]["github-token"]["default"], "${{ github.token }}");
    let outputs = action["outputs"].as_object().unwrap();
    for name in ["verdict", "blocking", "advisory", "excepted", "sarif-file", "junit-file"] {
        assert_eq!(outputs[name]["value"], format!("${{{{ steps.run.outputs.{name} }}}}"), "output {name}");
    }
    // every input reaches the run step
    let steps = action["runs"]["steps"].as_array().unwrap();
    let run = steps.iter().find(|s| s["id"] == "run").unwrap();
    let env = run["env"].as_object().unwrap();
    for name in inputs.iter().filter(|n| !["github-token", "version"].contains(n)) {
        let var = format!("BYLAW_INPUT_{}", name.to_uppercase().replace('-', "_"));
        assert_eq!(env[&var], format!("${{{{ inputs.{name} }}}}"), "{var}");
    }
    assert_eq!(env["GITHUB_TOKEN"], "${{ inputs.github-token }}", "the token goes by environment, not argv");
}

// ---- scripts/install.sh against a fake release directory ----

/// A small executable answering `--version` like bylaw does: the install
/// script only runs it, and copying the 200 MB debug binary around would make
/// these tests slow.
fn stand_in(path: &Path) -> PathBuf {
    std::fs::write(path, format!("#!/bin/sh\necho 'bylaw {}'\n", env!("CARGO_PKG_VERSION"))).unwrap();
    let (code, _, _) = sh(Command::new("chmod").arg("+x").arg(path));
    assert_eq!(code, 0);
    path.to_path_buf()
}

struct Release {
    dir: tempfile::TempDir,
}

impl Release {
    /// A release `tag` holding the real binary as the Linux x86_64 asset.
    fn new(tag: &str) -> Release {
        let dir = tempfile::tempdir().unwrap();
        let rel = dir.path().join(tag);
        let stage = dir.path().join("stage");
        std::fs::create_dir_all(&rel).unwrap();
        std::fs::create_dir_all(&stage).unwrap();
        stand_in(&stage.join("bylaw"));
        let asset = "bylaw-x86_64-unknown-linux-gnu.tar.gz";
        let (code, _, err) =
            sh(Command::new("tar").arg("-czf").arg(rel.join(asset)).arg("-C").arg(&stage).arg("bylaw"));
        assert_eq!(code, 0, "{err}");
        let (_, sums, _) = sh(Command::new("sha256sum").arg(asset).current_dir(&rel));
        std::fs::write(rel.join("SHA256SUMS"), sums).unwrap();
        Release { dir }
    }

    fn url(&self) -> String {
        format!("file://{}", self.dir.path().display())
    }
}

struct Install {
    code: i32,
    stdout: String,
    stderr: String,
    outputs: String,
    bin: PathBuf,
    cargo_log: String,
}

fn install(release_url: &str, env: &[(&str, &str)]) -> Install {
    let work = tempfile::tempdir().unwrap();
    let bin_dir = work.path().join("tools/bin");
    let outputs = work.path().join("output");
    // a `cargo` that records how it is called and installs the built binary
    let fake = work.path().join("fake-cargo");
    std::fs::create_dir_all(&fake).unwrap();
    let log = work.path().join("cargo.log");
    std::fs::write(
        fake.join("cargo"),
        format!(
            "#!/bin/sh\necho \"$@\" >> '{}'\nwhile [ $# -gt 0 ]; do [ \"$1\" = --root ] && root=$2; shift; done\nmkdir -p \"$root/bin\" && cp '{}' \"$root/bin/bylaw\"\n",
            log.display(),
            stand_in(&work.path().join("built-bylaw")).display()
        ),
    )
    .unwrap();
    let (code, _, _) = sh(Command::new("chmod").arg("+x").arg(fake.join("cargo")));
    assert_eq!(code, 0);
    let mut c = Command::new("bash");
    c.arg(root().join("scripts/install.sh")).env_clear();
    c.env("PATH", format!("{}:/usr/bin:/bin", fake.display()))
        .env("HOME", work.path())
        .env("BYLAW_RELEASES_URL", release_url)
        .env("BYLAW_INSTALL_DIR", &bin_dir)
        .env("BYLAW_OS", "Linux")
        .env("BYLAW_ARCH", "X64")
        .env("GITHUB_OUTPUT", &outputs);
    for (k, v) in env {
        c.env(k, v);
    }
    let (code, stdout, stderr) = sh(&mut c);
    let r = Install {
        code,
        stdout,
        stderr,
        outputs: std::fs::read_to_string(&outputs).unwrap_or_default(),
        bin: bin_dir.join("bylaw"),
        cargo_log: std::fs::read_to_string(&log).unwrap_or_default(),
    };
    if r.bin.exists() {
        let (code, v, _) = sh(Command::new(&r.bin).arg("--version"));
        assert_eq!((code, v.trim()), (0, "bylaw 0.1.0"));
    }
    std::mem::forget(work); // keep the binary for the caller's assertions
    r
}

#[test]
fn install_verifies_the_release_checksum() {
    let release = Release::new("v0.1.0");
    let r = install(&release.url(), &[("BYLAW_VERSION", "0.1.0")]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains("verified bylaw-x86_64-unknown-linux-gnu.tar.gz (sha256 "), "{}", r.stderr);
    assert!(r.bin.exists());
    assert_eq!(r.stdout.trim(), r.bin.display().to_string());
    assert!(r.outputs.contains(&format!("path={}\n", r.bin.display())) && r.outputs.contains("version=0.1.0\n"));
    assert!(r.cargo_log.is_empty(), "no build: {}", r.cargo_log);
    // the version comes from the action's ref when it is a tag
    let r = install(&release.url(), &[("BYLAW_ACTION_REF", "v0.1.0")]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.cargo_log.is_empty());
}

#[test]
fn install_refuses_a_tampered_asset() {
    let release = Release::new("v0.1.0");
    let sums = release.dir.path().join("v0.1.0/SHA256SUMS");
    let text = std::fs::read_to_string(&sums).unwrap();
    std::fs::write(&sums, format!("{}{}", "0".repeat(64), &text[64..])).unwrap();
    let r = install(&release.url(), &[("BYLAW_VERSION", "v0.1.0")]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("checksum mismatch for bylaw-x86_64-unknown-linux-gnu.tar.gz"), "{}", r.stderr);
    assert!(!r.bin.exists(), "nothing installed");
    assert!(r.cargo_log.is_empty(), "a mismatch never falls back to building");
}

#[test]
fn install_builds_from_source_without_a_release_asset() {
    let release = Release::new("v0.1.0");
    let src = root().display().to_string();
    // no release of that version
    let r = install(&release.url(), &[("BYLAW_VERSION", "0.1.0-dev"), ("BYLAW_SOURCE_DIR", &src)]);
    assert!(r.stderr.contains("no release v0.1.0-dev"), "{}", r.stderr);
    let expected = format!("install --locked --path {src}/crates/bylaw-cli --root ");
    assert!(r.cargo_log.starts_with(&expected), "{}", r.cargo_log);
    assert!(r.cargo_log.trim_end().ends_with("--bin bylaw"), "{}", r.cargo_log);
    // a release without an asset for this platform
    let r = install(&release.url(), &[("BYLAW_VERSION", "0.1.0"), ("BYLAW_OS", "macOS"), ("BYLAW_ARCH", "ARM64")]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains("release v0.1.0 has no bylaw-aarch64-apple-darwin.tar.gz"), "{}", r.stderr);
    assert!(r.cargo_log.starts_with("install --locked --path "), "{}", r.cargo_log);
    assert!(r.bin.exists());
    // no version given and no tag: the source tree's version
    let r = install(&release.url(), &[("BYLAW_ACTION_REF", "main")]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.cargo_log.is_empty(), "v0.1.0 from Cargo.toml is released: {}", r.cargo_log);
}

// ---- scripts/github-action.sh: the action's run step ----

#[test]
fn the_run_step_turns_inputs_into_a_bylaw_command() {
    let work = tempfile::tempdir().unwrap();
    let repo = root().join("tests/fixtures/github/repo");
    let outputs = work.path().join("output");
    let junit = work.path().join("junit.xml");
    let sarif = work.path().join("out.sarif");
    let run = |extra: &[(&str, &str)]| {
        let mut c = Command::new("bash");
        c.arg(root().join("scripts/github-action.sh")).current_dir(&repo).env_clear();
        c.env("PATH", "/usr/bin:/bin")
            .env("BYLAW_BIN", env!("CARGO_BIN_EXE_bylaw"))
            .env("BYLAW_NOW", "2026-06-01T12:00:00Z")
            .env("GITHUB_REPOSITORY", "acme/shop")
            .env("GITHUB_EVENT_NAME", "push")
            .env("GITHUB_EVENT_PATH", root().join("tests/fixtures/github/events/push.json"))
            .env("GITHUB_REF", "refs/heads/main")
            .env("GITHUB_OUTPUT", &outputs)
            .env("BYLAW_INPUT_POLICIES", "policies/workloads.yaml\n")
            .env("BYLAW_INPUT_PATHS", "deploy/app.yaml deploy/ok.yaml")
            .env("BYLAW_INPUT_SARIF", &sarif)
            .env("BYLAW_INPUT_JUNIT", &junit)
            .env("BYLAW_INPUT_COMMENT", "never")
            .env("BYLAW_INPUT_CHECK_RUN", "true")
            .env("BYLAW_INPUT_STATUS", "false")
            .env("BYLAW_INPUT_ANNOTATIONS", "true");
        for (k, v) in extra {
            c.env(k, v);
        }
        sh(&mut c)
    };
    let (code, out, err) = run(&[]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(err.contains("ci github --policy policies/workloads.yaml --sarif"), "{err}");
    assert!(out.contains("::error file=deploy/app.yaml,line=13,"), "{out}");
    assert!(!out.contains("legacy.yaml"), "only the given paths: {out}");
    let o = std::fs::read_to_string(&outputs).unwrap();
    assert!(o.contains("verdict=fail\nblocking=1\nadvisory=1\n"), "{o}");
    assert!(o.contains(&format!("junit-file={}", junit.display())), "{o}");
    assert!(junit.exists() && sarif.exists());
    // fail-on never passes; a bad boolean is a usage error
    let (code, _, err) = run(&[("BYLAW_INPUT_FAIL_ON", "never")]);
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = run(&[("BYLAW_INPUT_CHECK_RUN", "maybe")]);
    assert_eq!(code, 2);
    assert!(err.contains("`check-run` must be true or false, not `maybe`"), "{err}");
}
