//! The project configuration, `.bylaw.yaml` at the repository root
//! (DESIGN §6): policy sources, paths and target globs, exception files,
//! environments by branch pattern, outputs. Every CLI flag has an
//! equivalent here; flags win (the CLI merges).
//!
//! Relative paths in the file are relative to the directory holding it.

use crate::diagnostic::{Code, Diagnostic};
use crate::input::yaml;
use crate::report::{Enforcement, FailOn};
use crate::schema::Schema;
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// File names looked for in the working directory when `--config` is not given.
pub const CONFIG_NAMES: &[&str] = &[".bylaw.yaml", ".bylaw.yml"];

#[derive(Deserialize, Debug, Default, Clone)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(rename = "apiVersion")]
    pub api_version: Option<String>,
    pub kind: Option<String>,
    #[serde(default)]
    pub policies: Vec<String>,
    #[serde(default)]
    pub paths: Vec<String>,
    #[serde(default)]
    pub targets: Vec<String>,
    /// `formats:`: glob → format, in file order, overriding the choice by
    /// content and name ([`crate::input::FormatOverrides`]).
    #[serde(default, deserialize_with = "ordered_pairs")]
    pub formats: Vec<(String, String)>,
    /// [`Config::formats`], checked and compiled.
    #[serde(skip)]
    pub format_overrides: crate::input::FormatOverrides,
    #[serde(default)]
    pub exceptions: Vec<String>,
    pub exceptions_warn_days: Option<i64>,
    pub inline_suppressions: Option<crate::policy::InlineMode>,
    pub audit_log: Option<String>,
    /// `history:`: the history store runs are recorded in (flag `--record`).
    pub history: Option<HistoryConfig>,
    /// Who may approve exception requests, besides each policy's owners (users, `@org/team`).
    #[serde(default)]
    pub approvers: Vec<String>,
    pub env: Option<String>,
    /// Environment → branch patterns, in file order (first match wins).
    #[serde(default)]
    pub environments: serde_json::Map<String, serde_json::Value>,
    pub fail_on: Option<FailOn>,
    pub include_drafts: Option<bool>,
    pub parse_errors: Option<Enforcement>,
    /// Files over this many bytes are not parsed and get a `bylaw/parse-error`
    /// finding, `bylaw/input-too-large` (default [`crate::eval::DEFAULT_MAX_FILE_SIZE`]).
    pub max_file_size: Option<u64>,
    #[serde(default)]
    pub outputs: Outputs,
    /// `rego:`: how `.rego` policies are read.
    #[serde(default)]
    pub rego: RegoConfig,
    /// Directory of the config file; relative paths resolve against it.
    #[serde(skip)]
    pub base_dir: PathBuf,
    /// Display path of the config file.
    #[serde(skip)]
    pub file: Option<String>,
}

#[derive(Deserialize, Debug, Default, Clone)]
#[serde(deny_unknown_fields)]
pub struct Outputs {
    pub format: Option<String>,
    pub sarif: Option<String>,
    pub junit: Option<String>,
    pub json: Option<String>,
    pub markdown: Option<String>,
}

/// `history: STORE` or `history: { store: STORE }`: an SQLite file
/// (relative to the config file) or a `postgres://` URL.
#[derive(Deserialize, Debug, Clone)]
#[serde(untagged)]
pub enum HistoryConfig {
    Store(String),
    Table { store: String },
}

impl Config {
    /// The history store of `history:`: a URL as written, a path resolved
    /// against the config file's directory.
    pub fn history_store(&self) -> Option<String> {
        let store = match self.history.as_ref()? {
            HistoryConfig::Store(s) | HistoryConfig::Table { store: s } => s,
        };
        let path = match store.strip_prefix("sqlite://").or_else(|| store.strip_prefix("sqlite:")) {
            Some(p) => p,
            None if store.contains("://") => return Some(store.clone()),
            None => store,
        };
        Some(self.resolve(path).to_string_lossy().into_owned())
    }
}

/// `rego:` of the config (flags `--namespace`, `--all-namespaces`,
/// `--data`, `--rego-v0` win).
#[derive(Deserialize, Debug, Default, Clone)]
#[serde(deny_unknown_fields)]
pub struct RegoConfig {
    #[serde(default)]
    pub namespaces: Vec<String>,
    pub all_namespaces: Option<bool>,
    /// Data files or directories, relative to the config file.
    #[serde(default)]
    pub data: Vec<String>,
    pub v0: Option<bool>,
    pub combine: Option<bool>,
    pub gatekeeper_cel: Option<bool>,
}

impl Config {
    /// Resolves a path written in the config file.
    pub fn resolve(&self, p: &str) -> PathBuf {
        let path = Path::new(p);
        if path.is_absolute() {
            path.to_path_buf()
        } else {
            self.base_dir.join(path)
        }
    }

    /// The environment whose branch patterns match `branch` first.
    pub fn environment_for_branch(&self, branch: &str) -> Option<String> {
        for (env, patterns) in &self.environments {
            let patterns: Vec<&str> =
                patterns.as_array().map(|a| a.iter().filter_map(|p| p.as_str()).collect()).unwrap_or_default();
            for p in patterns {
                let matched = globset::GlobBuilder::new(p)
                    .literal_separator(false)
                    .build()
                    .map(|g| g.compile_matcher().is_match(branch))
                    .unwrap_or(false);
                if matched {
                    return Some(env.clone());
                }
            }
        }
        None
    }

    /// Loads and validates a config file (`path` relative to `working_dir`,
    /// the caller's current directory, unless absolute; the config's own
    /// relative paths are then taken from the config's absolute directory).
    /// Errors are located diagnostics.
    pub fn load(path: &Path, working_dir: &Path) -> Result<Config, (Vec<Diagnostic>, Option<String>)> {
        let file = crate::loader::display_path(path, working_dir);
        let path = &crate::paths::absolute(working_dir, path);
        let text = crate::paths::read_text(path).map_err(|e| {
            (vec![Diagnostic::error(Code::Io, &file, None, format!("cannot read the config file: {e}"))], None)
        })?;
        let mut cfg = Self::parse(&file, &text).map_err(|d| (d, Some(text.clone())))?;
        cfg.base_dir = path
            .parent()
            .map(Path::to_path_buf)
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or_else(|| PathBuf::from("."));
        cfg.file = Some(file);
        Ok(cfg)
    }

    /// Parses config text (`file` names it in diagnostics).
    pub fn parse(file: &str, text: &str) -> Result<Config, Vec<Diagnostic>> {
        let parsed = yaml::parse(text);
        if let Some(e) = parsed.errors.into_iter().next() {
            return Err(vec![Diagnostic::invalid_yaml(file, &e)]);
        }
        let Some(root) = parsed.documents.into_iter().next() else {
            return Ok(Config::default());
        };
        let json = root.to_json();
        let mut errors = Schema::Config.validate(&json, &root, file);
        if !errors.is_empty() {
            return Err(errors);
        }
        let mut config: Config = serde_json::from_value(json).map_err(|e| {
            errors.push(Diagnostic::error(Code::Schema, file, Some(root.span), format!("invalid config: {e}")));
            errors
        })?;
        config.format_overrides = crate::input::FormatOverrides::new(&config.formats).map_err(|(i, message)| {
            let key = crate::node::Segment::Key(config.formats[i].0.as_str().into());
            let (span, _) = root.span_of(&[crate::node::Segment::Key("formats".into()), key]);
            vec![Diagnostic::error(Code::Schema, file, Some(span), format!("`formats`: {message}"))]
        })?;
        Ok(config)
    }
}

/// A mapping of strings, kept in file order as `(key, value)` pairs.
fn ordered_pairs<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<(String, String)>, D::Error> {
    let map: serde_json::Map<String, serde_json::Value> = serde::Deserialize::deserialize(d)?;
    map.into_iter()
        .map(|(k, v)| match v {
            serde_json::Value::String(s) => Ok((k, s)),
            other => Err(serde::de::Error::custom(format!("the format of `{k}` must be a string, not {other}"))),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_matches_branches_in_order() {
        let c = Config::parse(
            ".bylaw.yaml",
            "policies: [policies/]\nenvironments:\n  prod: [main, 'release/*']\n  dev: ['*']\nfail_on: advisory\noutputs: { sarif: out.sarif }\n",
        )
        .unwrap();
        assert_eq!(c.policies, vec!["policies/"]);
        assert_eq!(c.environment_for_branch("main").as_deref(), Some("prod"));
        assert_eq!(c.environment_for_branch("release/1.2").as_deref(), Some("prod"));
        assert_eq!(c.environment_for_branch("feature/x").as_deref(), Some("dev"));
        assert_eq!(c.fail_on, Some(FailOn::Advisory));
        assert_eq!(c.outputs.sarif.as_deref(), Some("out.sarif"));
    }

    #[test]
    fn formats_set_by_glob_are_checked_where_written() {
        let c = Config::parse(".bylaw.yaml", "formats:\n  'infra/*.txt': yaml\n").unwrap();
        assert_eq!(c.format_overrides.format_of("infra/a.txt"), Some(crate::input::Format::YAML));
        let e = Config::parse(".bylaw.yaml", "policies: [a]\nformats:\n  '*.txt': yaml\n  '*.cfn': cloudformatoin\n")
            .unwrap_err();
        assert_eq!(e[0].location(), ".bylaw.yaml:4:3");
        assert!(e[0].message.contains("unknown format `cloudformatoin`"), "{}", e[0].message);
    }

    #[test]
    fn unknown_keys_are_located() {
        let e = Config::parse(".bylaw.yaml", "policies: [a]\nfail-on: never\n").unwrap_err();
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].location(), ".bylaw.yaml:2:1");
        assert!(e[0].message.contains("unknown key `fail-on`"));
        assert!(e[0].hint.as_deref().unwrap().contains("did you mean `fail_on`?"));
    }
}
