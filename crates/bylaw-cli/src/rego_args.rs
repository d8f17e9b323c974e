//! The flags of `.rego` policies, shared by `check`, `ci` and `validate`:
//! conftest's `--namespace`, `--all-namespaces`, `--data` and
//! `--combine`, and `--rego-v0`. Each wins over its `rego:` key in .bylaw.yaml.

use bylaw_engine::config::Config;
use bylaw_run::RegoOptions;
use clap::Args;
use std::path::PathBuf;

#[derive(Args, Debug, Clone, Default)]
pub struct RegoArgs {
    /// Rego packages whose deny/violation/warn rules are policies, as globs
    /// (repeatable; default: `main`, or `rego.namespaces` of .bylaw.yaml).
    #[arg(long = "namespace", value_name = "GLOB")]
    pub namespaces: Vec<String>,
    /// Every Rego package's deny/violation/warn rules are policies.
    #[arg(long)]
    pub all_namespaces: bool,
    /// A YAML or JSON file, or a directory of them, merged into Rego's
    /// `data` (repeatable; also `rego.data` of .bylaw.yaml).
    #[arg(long = "data", value_name = "PATH")]
    pub data: Vec<PathBuf>,
    /// Parse every .rego module as Rego v0 (OPA before 1.0). Without it a
    /// module is read as v1, and as v0 when only v0 parses it.
    #[arg(long)]
    pub rego_v0: bool,
    /// Evaluate the Rego policies once, with `input` an array of every file
    /// as `{path, contents}` (conftest's --combine), for rules across files.
    #[arg(long)]
    pub combine: bool,
    /// Evaluate Gatekeeper templates' K8sNativeValidation CEL rather than
    /// their Rego where they have both.
    #[arg(long)]
    pub gatekeeper_cel: bool,
}

impl RegoArgs {
    /// The options of a run: these flags, else the config's `rego:`.
    pub fn options(&self, config: &Config) -> RegoOptions {
        let c = &config.rego;
        RegoOptions {
            namespaces: if self.namespaces.is_empty() { c.namespaces.clone() } else { self.namespaces.clone() },
            all_namespaces: self.all_namespaces || c.all_namespaces.unwrap_or(false),
            data_files: if self.data.is_empty() {
                c.data.iter().map(|p| config.resolve(p)).collect()
            } else {
                self.data.clone()
            },
            data: Vec::new(),
            v0: self.rego_v0 || c.v0.unwrap_or(false),
            combine: self.combine || c.combine.unwrap_or(false),
            gatekeeper_cel: self.gatekeeper_cel || c.gatekeeper_cel.unwrap_or(false),
        }
    }
}
