//! The Jenkins shared library (`jenkins/`): its Groovy harness
//! (`jenkins/test/BylawStepTest.groovy`) runs the `bylaw` step under Debian's
//! groovy, installed by `scripts/tools.sh groovy`, with every pipeline step
//! stubbed, and asserts the calls each case makes (reports recorded, build
//! result, installation, credentials, shell quoting, argument checks); the
//! install script is where Jenkins can read it, and the copy the step writes
//! into a workspace takes nothing from the workspace.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use support::cli::workspace as root;

fn groovy() -> PathBuf {
    let out = Command::new("bash").arg(root().join("scripts/tools.sh")).arg("groovy").output().unwrap();
    assert!(out.status.success(), "scripts/tools.sh groovy:\n{}", String::from_utf8_lossy(&out.stderr));
    PathBuf::from(String::from_utf8(out.stdout).unwrap().trim())
}

#[test]
fn the_bylaw_step_passes_its_groovy_harness() {
    let out = Command::new(groovy())
        .arg(root().join("jenkins/test/BylawStepTest.groovy"))
        .current_dir(root())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "jenkins/test/BylawStepTest.groovy failed:\n{stdout}\n{stderr}");
    // the summary line: "N cases, 0 failed (…)", with the cases really run
    let summary = stdout.lines().find(|l| l.contains(" cases, ")).unwrap_or_else(|| panic!("no summary:\n{stdout}"));
    let cases: usize = summary.split(' ').next().unwrap().parse().unwrap();
    assert!(summary.contains(" cases, 0 failed"), "{stdout}");
    assert!(cases >= 30, "{stdout}");
    assert_eq!(stdout.lines().filter(|l| l.starts_with("ok   - ")).count(), cases, "{stdout}");
}

#[test]
fn the_install_script_is_a_library_resource_and_scripts_links_to_it() {
    // Jenkins' libraryResource refuses symlinks: the real file is the resource
    let resource = root().join("jenkins/resources/io/bylaw/install.sh");
    let meta = std::fs::symlink_metadata(&resource).unwrap();
    assert!(meta.file_type().is_file(), "{} must be a regular file", resource.display());
    let link = root().join("scripts/install.sh");
    assert!(std::fs::symlink_metadata(&link).unwrap().file_type().is_symlink(), "{}", link.display());
    assert_eq!(std::fs::read_link(&link).unwrap(), Path::new("../jenkins/resources/io/bylaw/install.sh"));
    assert_eq!(link.canonicalize().unwrap(), resource.canonicalize().unwrap());
}

/// The step writes the script into the workspace (`.bylaw/install.sh`) and
/// runs it there: a workspace's own Cargo.toml is not bylaw's version, nor
/// its source to build.
#[test]
fn the_install_script_copied_into_a_workspace_needs_a_version_and_never_builds_the_workspace() {
    let ws = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(ws.path().join(".bylaw")).unwrap();
    std::fs::copy(root().join("jenkins/resources/io/bylaw/install.sh"), ws.path().join(".bylaw/install.sh")).unwrap();
    std::fs::write(ws.path().join("Cargo.toml"), "[package]\nname = \"app\"\nversion = \"9.9.9\"\n").unwrap();
    let run = |version: Option<&str>| {
        let mut c = Command::new("bash");
        c.arg(".bylaw/install.sh")
            .current_dir(ws.path())
            .env_clear()
            .env("PATH", "/usr/bin:/bin")
            .env("HOME", ws.path())
            .env("BYLAW_RELEASES_URL", format!("file://{}/no-releases", ws.path().display()))
            .env("BYLAW_INSTALL_DIR", ".bylaw/bin");
        if let Some(v) = version {
            c.env("BYLAW_VERSION", v);
        }
        let out = c.output().unwrap();
        (out.status.code(), String::from_utf8_lossy(&out.stderr).into_owned())
    };
    let (code, err) = run(None);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("cannot tell which version to install: set BYLAW_VERSION"), "{err}");
    let (code, err) = run(Some("1.2.3"));
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("no release v1.2.3 at file://"), "{err}");
    assert!(err.contains("no bylaw source tree to build from"), "{err}");
    assert!(!ws.path().join(".bylaw/bin/bylaw").exists());
}
