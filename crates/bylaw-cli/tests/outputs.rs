//! What a user sees, byte for byte: every output format of the README's
//! first command (`bylaw check examples/manifests -p examples/policies`)
//! and of the bundled packs on the examples, kept as `insta` snapshots.
//! A change to any emitter, to evaluation or to discovery shows up here as
//! a reviewed diff (`cargo insta review`); a refactoring must leave them
//! identical.

mod support;

use support::cli::bylaw_in;

use support::cli::workspace as root;

const FORMATS: &[&str] = &["text", "json", "sarif", "junit", "markdown", "codequality"];

/// Runs `bylaw check ARGS --format F` from the workspace root for every
/// format, asserts the exit code and snapshots stdout under `NAME_F`.
fn snapshot_every_format(name: &str, args: &[&str], code: i32) {
    for format in FORMATS {
        let mut all: Vec<&str> = args.to_vec();
        all.extend(["--format", format]);
        let out = bylaw_in(&root(), &all, None);
        assert_eq!(out.code, code, "{format}: exit code\n{}", out.stderr);
        assert!(!out.stderr.contains("panicked"), "{}", out.stderr);
        insta::assert_snapshot!(format!("{name}_{format}"), out.stdout);
    }
}

#[test]
fn the_readme_command_in_every_format() {
    // blocking findings: exit 1
    snapshot_every_format("examples", &["check", "examples/manifests", "-p", "examples/policies"], 1);
}

#[test]
fn the_packs_on_the_examples_in_every_format() {
    snapshot_every_format(
        "packs",
        &[
            "check",
            "examples/manifests",
            "examples/github",
            "--no-config",
            "-p",
            "pack:kubernetes-baseline",
            "-p",
            "pack:kubernetes-best-practices",
            "-p",
            "pack:github-actions-hardening",
            "--fail-on",
            "never",
        ],
        0,
    );
}

#[test]
fn a_broken_policy_in_every_format() {
    // exit 2, and every format still describes the failure
    let dir = tempfile::tempdir().unwrap();
    support::cli::write(
        dir.path(),
        "broken.yaml",
        "apiVersion: bylaw/v1\nkind: Policy\nmetadata:\n  name: broken\nspec:\n  rules:\n    - id: B-1\n      deny: \"doc.a ==\"\n",
    );
    support::cli::write(dir.path(), "m/pod.yaml", "kind: Pod\nmetadata:\n  name: p\n");
    for format in FORMATS {
        let out = bylaw_in(dir.path(), &["check", "m", "-p", "broken.yaml", "--no-config", "--format", format], None);
        assert_eq!(out.code, 2, "{format}\n{}", out.stderr);
        assert!(!out.stderr.contains("panicked"), "{}", out.stderr);
        let shown = format!("{}--- stderr ---\n{}", out.stdout, out.stderr);
        insta::assert_snapshot!(format!("broken_policy_{format}"), shown);
    }
}
