//! `bylaw init`: scaffold a project — `.bylaw.yaml`, a starter policy that
//! extends a built-in pack, its unit tests, and the CI file of the detected
//! platform — so that `bylaw check` and `bylaw test` work right away.

use crate::common::usage_error;
use crate::Cli;
use clap::{Args, ValueEnum};
use std::path::{Path, PathBuf};

#[derive(Args, Debug)]
pub struct InitArgs {
    /// Directory to initialise (default: the current directory).
    #[arg(default_value = ".")]
    pub dir: PathBuf,
    /// CI platform to write a pipeline file for (default: detected from the repository).
    #[arg(long, value_enum)]
    pub platform: Option<Platform>,
    /// Overwrite files that already exist.
    #[arg(long)]
    pub force: bool,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum Platform {
    Github,
    Gitlab,
    Jenkins,
    None,
}

const CONFIG: &str = r#"# bylaw project configuration: https://github.com/bylaw-dev/bylaw#bylawyaml
apiVersion: bylaw/v1
kind: Config
policies: [policies/]
# paths: [deploy/]              # what `bylaw check` reads without arguments (default: everything here)
targets: ["!.bylaw/**", "!**/node_modules/**", "!**/vendor/**"]
environments:                   # branch patterns -> environment; first match wins
  prod: [main, "release/*"]
  dev: ["*"]
# exceptions: [exceptions.yaml]
outputs:
  sarif: bylaw.sarif
  junit: bylaw-junit.xml
"#;

const K8S_POLICY: &str = r#"# yaml-language-server: $schema=../.bylaw/policy.schema.json
# Starter policy: the Pod Security Standards baseline pack plus one rule of
# your own. It starts advisory so adopting it breaks no build; switch
# `enforcement` to blocking (or per environment) when the findings are fixed.
apiVersion: bylaw/v1
kind: Policy
metadata:
  name: workloads
  version: 0.1.0
  type: security
  owners: ["@your-org/platform"]
spec:
  extends: ["pack:kubernetes-baseline@1"]
  enforcement: advisory
  environments: { dev: advisory, prod: advisory }
  params:
    required_team_label: team
  rules:
    - id: ORG-001
      title: Workloads name their owning team
      severity: low
      description: Every workload carries a team label, so alerts and findings reach the people who own it.
      require: "params.required_team_label in doc.metadata.labels"
      at: metadata
      message: "{{ doc.metadata.name }} has no `{{ params.required_team_label }}` label"
      remediation: Add `metadata.labels.team` with the owning team's name.
      controls: [SOC2-CC6.1]
      examples:
        fail: |
          apiVersion: v1
          kind: Pod
          metadata: { name: web }
          spec: { containers: [{ name: web, image: ghcr.io/acme/web:1.0 }] }
        pass: |
          apiVersion: v1
          kind: Pod
          metadata: { name: web, labels: { team: storefront } }
          spec: { containers: [{ name: web, image: ghcr.io/acme/web:1.0 }] }
"#;

const K8S_TEST: &str = r#"# Unit tests of policies/workloads.yaml: `bylaw test`
apiVersion: bylaw/v1
kind: PolicyTest
policy: workloads
cases:
  - name: a labelled, unprivileged workload passes
    input:
      path: deploy/web.yaml
      inline: |
        apiVersion: apps/v1
        kind: Deployment
        metadata: { name: web, labels: { team: storefront } }
        spec:
          template:
            spec:
              containers: [{ name: web, image: ghcr.io/acme/web:1.0 }]
    expect: none
  - name: a privileged container without a team label
    input:
      path: deploy/debug.yaml
      inline: |
        apiVersion: v1
        kind: Pod
        metadata: { name: debug }
        spec:
          containers:
            - name: shell
              image: ghcr.io/acme/toolbox:1.0
              securityContext: { privileged: true }
    expect:
      - { rule: ORG-001, count: 1 }
      - { rule: KB-001, count: 1, message: "container shell runs privileged", enforcement: advisory }
"#;

/// The GitHub workflow: installs a released bylaw verified against the
/// release's SHA256SUMS (no compile on every run), pins every action to a
/// full commit SHA and declares least-privilege permissions, so it passes
/// bylaw's own `github-actions-hardening` pack. `@VERSION@` is this binary's.
const GITHUB: &str = r#"# bylaw: policy checks on every push and pull request.
name: bylaw
on:
  push:
    branches: [main]
  pull_request:
permissions:
  contents: read
jobs:
  bylaw:
    runs-on: ubuntu-latest
    permissions:
      contents: read
      security-events: write    # upload SARIF to code scanning
    steps:
      - uses: actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683 # v4.2.2
        with:
          persist-credentials: false
      - name: Install bylaw @VERSION@ (release build, SHA-256 verified)
        env:
          BYLAW_VERSION: "@VERSION@"
          RELEASES: https://github.com/bylaw-dev/bylaw/releases/download
          ASSET: bylaw-x86_64-unknown-linux-gnu.tar.gz
        run: |
          set -euo pipefail
          base="$RELEASES/v${BYLAW_VERSION}"
          cd "$RUNNER_TEMP"
          curl -fsSL --retry 3 -o SHA256SUMS "$base/SHA256SUMS"
          curl -fsSL --retry 3 -o "$ASSET" "$base/$ASSET"
          awk -v f="$ASSET" '$2 == f || $2 == "*" f' SHA256SUMS | grep -q . || { echo "SHA256SUMS lists no $ASSET" >&2; exit 1; }
          awk -v f="$ASSET" '$2 == f || $2 == "*" f' SHA256SUMS | sha256sum --check --strict -
          mkdir -p bylaw-x bin && tar -xzf "$ASSET" -C bylaw-x
          install -m 0755 "$(find bylaw-x -type f -name bylaw | head -1)" bin/bylaw
          bin/bylaw --version
          echo "$RUNNER_TEMP/bin" >> "$GITHUB_PATH"
      - name: Policy unit tests
        run: bylaw test
      - name: Check the repository
        run: bylaw check
      - name: Upload SARIF
        if: always()
        uses: github/codeql-action/upload-sarif@ff0a06e83cb2de871e5a09832bc6a81e7276941f # v3.28.18
        with:
          sarif_file: bylaw.sarif
          category: bylaw
"#;

const GITLAB: &str = r#"# bylaw: include it from .gitlab-ci.yml with
#   include: [{ local: .gitlab/bylaw.gitlab-ci.yml }]
# It runs bylaw's CI template (MR and branch pipelines, Code Quality and JUnit
# reports, an MR note and a `bylaw` commit status with BYLAW_GITLAB_TOKEN).
include:
  - remote: https://raw.githubusercontent.com/bylaw-dev/bylaw/v0.1.0/gitlab/bylaw.gitlab-ci.yml
variables:
  BYLAW_POLICY_REF: base
"#;

const JENKINS: &str = r#"// bylaw: policy checks with bylaw's shared library (register it as `bylaw`,
// Library Path `jenkins/`). Merge into your Jenkinsfile or point a job at this file.
@Library('bylaw') _
pipeline {
  agent any
  stages {
    stage('bylaw') {
      steps {
        bylaw(version: '0.1.0', unstableOnAdvisory: true)
      }
    }
  }
}
"#;

fn detect(dir: &Path) -> Platform {
    if dir.join(".github").is_dir() {
        Platform::Github
    } else if dir.join(".gitlab-ci.yml").is_file() {
        Platform::Gitlab
    } else if dir.join("Jenkinsfile").is_file() {
        Platform::Jenkins
    } else {
        Platform::None
    }
}

/// The built-in packs for what `dir` holds besides Kubernetes manifests and
/// GitHub workflows, as (pack, policy name, what it checks): Dockerfiles,
/// Terraform by provider (`aws_`, `azurerm_`, `google_` resources),
/// CloudFormation templates and GitLab CI files, found by name (and for
/// Terraform and CloudFormation by a look at the text) in the first levels
/// of the tree, skipping hidden directories but `.gitlab`, and vendored ones.
fn packs_for(dir: &Path) -> Vec<(&'static str, &'static str, &'static str)> {
    let mut seen = std::collections::BTreeSet::new();
    let mut stack = vec![(dir.to_path_buf(), 0)];
    let mut looked = 0;
    while let Some((d, depth)) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else { continue };
        for e in entries.flatten() {
            let path = e.path();
            let name = e.file_name().to_string_lossy().into_owned();
            let Ok(kind) = e.file_type() else { continue };
            if kind.is_dir() {
                let skip = (name.starts_with('.') && name != ".gitlab")
                    || ["node_modules", "vendor", "target", ".terraform"].contains(&name.as_str());
                if depth < 6 && !skip {
                    stack.push((path, depth + 1));
                }
                continue;
            }
            looked += 1;
            if looked > 20_000 {
                break;
            }
            let rel = path.strip_prefix(dir).map(|p| p.to_string_lossy().replace('\\', "/")).unwrap_or_default();
            let text = || std::fs::read_to_string(&path).unwrap_or_default();
            match bylaw_engine::input::Format::of_path(&rel).map(|f| f.name()) {
                Some("dockerfile") => {
                    seen.insert(("dockerfile", "dockerfiles", "Dockerfiles"));
                }
                Some("terraform") => {
                    let t = text();
                    for (prefix, pack, name, what) in [
                        ("\"aws_", "terraform-aws", "terraform-aws", "Terraform on AWS"),
                        ("\"azurerm_", "terraform-azure", "terraform-azure", "Terraform on Azure"),
                        ("\"google_", "terraform-gcp", "terraform-gcp", "Terraform on Google Cloud"),
                    ] {
                        if t.contains(prefix) {
                            seen.insert((pack, name, what));
                        }
                    }
                }
                Some("cloudformation") => {
                    seen.insert(("cloudformation-aws", "cloudformation", "CloudFormation templates"));
                }
                Some("yaml" | "json") => {
                    if bylaw_engine::input::Format::of_file(&rel, &text()).map(|f| f.name()) == Some("cloudformation") {
                        seen.insert(("cloudformation-aws", "cloudformation", "CloudFormation templates"));
                    } else if name.ends_with(".gitlab-ci.yml")
                        || name == ".gitlab-ci.yaml"
                        || rel.starts_with(".gitlab/ci/")
                    {
                        seen.insert(("gitlab-ci-hardening", "gitlab-ci", "GitLab CI pipelines"));
                    }
                }
                _ => {}
            }
        }
    }
    seen.into_iter().collect()
}

pub fn run(args: &InitArgs, cli: &Cli) -> u8 {
    let color = crate::common::stderr_color(cli);
    let dir = &args.dir;
    if !dir.is_dir() {
        return usage_error(&format!("{} is not a directory", dir.display()), None, color);
    }
    let platform = args.platform.unwrap_or_else(|| detect(dir));
    let mut files: Vec<(PathBuf, String)> = vec![
        (dir.join(".bylaw.yaml"), CONFIG.to_owned()),
        (dir.join("policies/workloads.yaml"), K8S_POLICY.to_owned()),
        (dir.join("policies/workloads.test.yaml"), K8S_TEST.to_owned()),
        (dir.join(".bylaw/policy.schema.json"), bylaw_engine::policy::POLICY_SCHEMA.to_owned()),
    ];
    if platform == Platform::Github || dir.join(".github/workflows").is_dir() {
        files.push((
            dir.join("policies/github-actions.yaml"),
            "# Hardening of this repository's GitHub Actions workflows.\napiVersion: bylaw/v1\nkind: Policy\nmetadata: { name: github-actions, type: security }\nspec:\n  extends: [\"pack:github-actions-hardening@1\"]\n  enforcement: advisory\n".to_owned(),
        ));
    }
    // a starter policy for each other kind of file the repository holds
    for (pack, name, what) in packs_for(dir) {
        files.push((
            dir.join(format!("policies/{name}.yaml")),
            format!(
                "# {what}: the built-in `{pack}` pack (`bylaw rules --pack {pack}`,\n# `bylaw explain ID`). Advisory to start; make it blocking when its\n# findings are fixed.\napiVersion: bylaw/v1\nkind: Policy\nmetadata: {{ name: {name}, type: security }}\nspec:\n  extends: [\"pack:{pack}@1\"]\n  enforcement: advisory\n"
            ),
        ));
    }
    match platform {
        Platform::Github => files
            .push((dir.join(".github/workflows/bylaw.yml"), GITHUB.replace("@VERSION@", env!("CARGO_PKG_VERSION")))),
        Platform::Gitlab => files.push((dir.join(".gitlab/bylaw.gitlab-ci.yml"), GITLAB.to_owned())),
        Platform::Jenkins => files.push((dir.join("Jenkinsfile.bylaw"), JENKINS.to_owned())),
        Platform::None => {}
    }
    let existing: Vec<String> =
        files.iter().filter(|(p, _)| p.exists()).map(|(p, _)| p.display().to_string()).collect();
    if !existing.is_empty() && !args.force {
        return usage_error(
            &format!("not overwriting existing files: {}", existing.join(", ")),
            Some("move them away, or pass --force to overwrite"),
            color,
        );
    }
    for (path, text) in &files {
        if let Err(e) = bylaw_report::write_atomic(path, text.as_bytes()) {
            return usage_error(&crate::common::cannot_write(path, &e), None, color);
        }
        crate::outln!("created {}", path.display());
    }
    let ci = match platform {
        Platform::Github => "the workflow .github/workflows/bylaw.yml runs both and uploads SARIF to code scanning",
        Platform::Gitlab => "include .gitlab/bylaw.gitlab-ci.yml from your .gitlab-ci.yml",
        Platform::Jenkins => "merge Jenkinsfile.bylaw into your Jenkinsfile",
        Platform::None => "no CI platform detected: rerun with --platform github|gitlab|jenkins for a pipeline file",
    };
    crate::outln!("\nnext: `bylaw test` runs the policy tests, `bylaw check` checks this repository;\n{ci}.");
    0
}
