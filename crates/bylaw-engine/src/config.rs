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
    /// `environments:`, in file order (the first whose branch patterns
    /// match wins): each a list of branch patterns, or a mapping with
    /// `branches`, its own `policies` and `versions` requirements.
    #[serde(default, deserialize_with = "environments")]
    pub environments: Vec<(String, Environment)>,
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
    /// `bundles:`: signature keys and the CA of bundle sources.
    #[serde(default)]
    pub bundles: BundlesConfig,
    /// `impact:`: the repositories `bylaw impact` and the CI impact comment evaluate.
    #[serde(default)]
    pub impact: ImpactConfig,
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

/// One environment of `environments:` (DESIGN §6, issue 18 item 3):
/// either `prod: [main, 'release/*']` (branch patterns only) or
/// `prod: { branches: [...], policies: [...], versions: {...} }`.
#[derive(Deserialize, Debug, Default, Clone, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Environment {
    /// Branch glob patterns that select this environment.
    #[serde(default)]
    pub branches: Vec<String>,
    /// Policy sources in effect in this environment, replacing the
    /// top-level `policies` (same forms: paths relative to the config,
    /// `pack:NAME`, bundles and URLs).
    pub policies: Option<Vec<String>>,
    /// Policy name → semver requirement (`~1.4`, `=1.4.2`, `>=1.5.0-rc.1`)
    /// that the loaded policy's `metadata.version` must satisfy in this
    /// environment, as written.
    #[serde(default)]
    pub versions: std::collections::BTreeMap<String, String>,
    /// [`Environment::versions`], parsed (by [`Config::parse`]), by policy name.
    #[serde(skip)]
    pub requirements: Vec<VersionPin>,
}

/// A version requirement on one policy in one environment
/// (`environments.ENV.versions`), checked when the policies are loaded.
#[derive(Debug, Clone, PartialEq)]
pub struct VersionPin {
    /// The policy's `metadata.name`.
    pub policy: String,
    /// The requirement, parsed with the `semver` crate (Cargo's rules: `1.4`
    /// means `^1.4`; a pre-release only matches a comparator with a
    /// pre-release on the same `MAJOR.MINOR.PATCH`).
    pub requirement: semver::VersionReq,
    /// The requirement as written in the config.
    pub written: String,
    /// Where `POLICY: REQUIREMENT` is written in the config (its key first).
    pub span: Option<crate::node::Span>,
}

/// `environments:` values: a list of branch patterns or an [`Environment`]
/// mapping, in file order.
fn environments<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<(String, Environment)>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Form {
        Branches(Vec<String>),
        Mapping(Environment),
    }
    let map: serde_json::Map<String, serde_json::Value> = serde::Deserialize::deserialize(d)?;
    map.into_iter()
        .map(|(name, v)| {
            let env = match serde_json::from_value::<Form>(v).map_err(serde::de::Error::custom)? {
                Form::Branches(branches) => Environment { branches, ..Environment::default() },
                Form::Mapping(e) => e,
            };
            Ok((name, env))
        })
        .collect()
}

/// `bundles:` of the config: how policy bundles (`.tar.gz` paths,
/// `https://` URLs and `oci://` references among `policies`) are trusted.
#[derive(Deserialize, Debug, Default, Clone)]
#[serde(deny_unknown_fields)]
pub struct BundlesConfig {
    /// Refuse an unsigned, tampered or wrongly signed bundle.
    #[serde(default)]
    pub require_signatures: bool,
    /// Ed25519 public keys (SPKI PEM files, relative to the config).
    #[serde(default)]
    pub public_keys: Vec<String>,
    /// CA certificates (a PEM file, relative to the config) trusted for
    /// HTTPS sources and registries instead of the built-in roots.
    pub ca_file: Option<String>,
}

/// `impact:` of the config: the repositories a policy change is evaluated
/// on by `bylaw impact` (when no `--repos`/`--repos-file` is given) and by
/// the impact comment of `bylaw ci github|gitlab`, instead of this one (list
/// `.` to include it). Paths are relative to the config file; the lines of
/// `repos_file` relative to that file. Both may be given: `repos` first.
#[derive(Deserialize, Debug, Default, Clone)]
#[serde(deny_unknown_fields)]
pub struct ImpactConfig {
    /// Repository directories, as written.
    #[serde(default)]
    pub repos: Vec<String>,
    /// A file listing repository directories, one a line (`#` comments).
    pub repos_file: Option<String>,
    /// Where each of [`ImpactConfig::repos`] is written, in order (set by [`Config::parse`]).
    #[serde(skip)]
    pub repo_spans: Vec<crate::node::Span>,
    /// Where [`ImpactConfig::repos_file`] is written (set by [`Config::parse`]).
    #[serde(skip)]
    pub repos_file_span: Option<crate::node::Span>,
}

impl Config {
    /// The environment named `name` in `environments:`.
    pub fn environment(&self, name: &str) -> Option<&Environment> {
        self.environments.iter().find(|(n, _)| n == name).map(|(_, e)| e)
    }

    /// The policy sources in effect in environment `env`: the environment's
    /// own `policies` when it has some, else the top-level `policies` (also
    /// for no environment or one the config does not name).
    pub fn policy_sources(&self, env: Option<&str>) -> Vec<String> {
        env.and_then(|e| self.environment(e)).and_then(|e| e.policies.clone()).unwrap_or_else(|| self.policies.clone())
    }

    /// Every configured policy source with the environment it is written
    /// under (`None`: the top-level `policies`), in file order: the
    /// top-level list first, then each environment's.
    pub fn all_policy_sources(&self) -> Vec<(Option<String>, String)> {
        let top = self.policies.iter().map(|s| (None, s.clone()));
        let envs = self
            .environments
            .iter()
            .flat_map(|(n, e)| e.policies.iter().flatten().map(move |s| (Some(n.clone()), s.clone())));
        top.chain(envs).collect()
    }

    /// The version requirements of environment `env` (empty without one).
    pub fn version_pins(&self, env: Option<&str>) -> &[VersionPin] {
        env.and_then(|e| self.environment(e)).map(|e| e.requirements.as_slice()).unwrap_or_default()
    }

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
        for (env, e) in &self.environments {
            for p in &e.branches {
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
        let mut errors = Vec::new();
        for (name, env) in &mut config.environments {
            for (policy, written) in &env.versions {
                let key = |k: &str| crate::node::Segment::Key(k.into());
                let (span, _) = root.span_of(&[key("environments"), key(name), key("versions"), key(policy)]);
                match semver::VersionReq::parse(written) {
                    Ok(requirement) => env.requirements.push(VersionPin {
                        policy: policy.clone(),
                        requirement,
                        written: written.clone(),
                        span: Some(span),
                    }),
                    Err(e) => {
                        errors.push(
                            Diagnostic::error(
                                Code::Schema,
                                file,
                                Some(span),
                                format!("`{written}` is not a version requirement for `{policy}` in environment `{name}`: {e}"),
                            )
                            .with_hint("write a semver requirement, e.g. `~1.4` (1.4.x), `=1.4.2`, `>=1.5.0-rc.1, <2`"),
                        );
                    }
                }
            }
        }
        if config.bundles.require_signatures && config.bundles.public_keys.is_empty() {
            // a requirement no bundle can meet: say so where it is written
            let key = |k: &str| crate::node::Segment::Key(k.into());
            let (span, _) = root.span_of(&[key("bundles"), key("require_signatures")]);
            errors.push(
                Diagnostic::error(
                    Code::Schema,
                    file,
                    Some(span),
                    "`bundles.require_signatures` is on but `bundles.public_keys` names no key to verify with",
                )
                .with_hint(
                    "list the publisher's public keys (PEM files, relative to this file) under `bundles.public_keys`",
                ),
            );
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        // where `impact:` names its repositories, for errors about them later
        let key = |k: &str| crate::node::Segment::Key(k.into());
        config.impact.repo_spans = (0..config.impact.repos.len())
            .map(|i| root.span_of(&[key("impact"), key("repos"), crate::node::Segment::Index(i)]).0)
            .collect();
        if config.impact.repos_file.is_some() {
            config.impact.repos_file_span = Some(root.span_of(&[key("impact"), key("repos_file")]).0);
        }
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
    fn impact_repos_are_kept_with_where_they_are_written() {
        let c = Config::parse(
            ".bylaw.yaml",
            "policies: [p]\nimpact:\n  repos: [svc-a, '../svc-b']\n  repos_file: repos.txt\n",
        )
        .unwrap();
        assert_eq!(c.impact.repos, ["svc-a", "../svc-b"]);
        assert_eq!(c.impact.repos_file.as_deref(), Some("repos.txt"));
        let at: Vec<(u32, u32)> = c.impact.repo_spans.iter().map(|s| (s.start_line, s.start_col)).collect();
        assert_eq!(at, [(3, 11), (3, 18)]);
        assert_eq!(
            c.impact.repos_file_span.map(|s| (s.start_line, s.start_col)),
            Some((4, 3)),
            "the entry, from its key"
        );
        let e = Config::parse(".bylaw.yaml", "impact:\n  repo: [a]\n").unwrap_err();
        assert_eq!(e[0].location(), ".bylaw.yaml:2:3");
        assert!(Config::parse(".bylaw.yaml", "impact: { repos: [''] }\n").is_err(), "an empty path");
    }

    #[test]
    fn unknown_keys_are_located() {
        let e = Config::parse(".bylaw.yaml", "policies: [a]\nfail-on: never\n").unwrap_err();
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].location(), ".bylaw.yaml:2:1");
        assert!(e[0].message.contains("unknown key `fail-on`"));
        assert!(e[0].hint.as_deref().unwrap().contains("did you mean `fail_on`?"));
    }

    const PROMOTION: &str = "policies: [policies/]
environments:
  prod: { branches: [main, 'release/*'], policies: ['policies@1.4.2/'], versions: { k8s-workload-security: '~1.4' } }
  staging: [staging]
  dev:
    branches: ['*']
    policies: ['oci://registry.local/acme/policies:1.5.0-rc.1', 'pack:dockerfile']
";

    #[test]
    fn environments_take_branches_or_a_mapping_in_file_order() {
        let c = Config::parse(".bylaw.yaml", PROMOTION).unwrap();
        let names: Vec<&str> = c.environments.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["prod", "staging", "dev"]);
        assert_eq!(c.environment_for_branch("release/2").as_deref(), Some("prod"));
        assert_eq!(c.environment_for_branch("staging").as_deref(), Some("staging"));
        assert_eq!(c.environment_for_branch("feature/x").as_deref(), Some("dev"));
        assert_eq!(c.environment("staging").unwrap().branches, ["staging"]);
        assert_eq!(c.environment("staging").unwrap().policies, None);
    }

    #[test]
    fn an_environments_policies_replace_the_top_level_list() {
        let c = Config::parse(".bylaw.yaml", PROMOTION).unwrap();
        assert_eq!(c.policy_sources(Some("prod")), ["policies@1.4.2/"]);
        assert_eq!(c.policy_sources(Some("staging")), ["policies/"], "no own list: the top-level one");
        assert_eq!(c.policy_sources(Some("nowhere")), ["policies/"]);
        assert_eq!(c.policy_sources(None), ["policies/"]);
        assert_eq!(
            c.all_policy_sources(),
            [
                (None, "policies/".to_owned()),
                (Some("prod".to_owned()), "policies@1.4.2/".to_owned()),
                (Some("dev".to_owned()), "oci://registry.local/acme/policies:1.5.0-rc.1".to_owned()),
                (Some("dev".to_owned()), "pack:dockerfile".to_owned()),
            ]
        );
    }

    #[test]
    fn version_requirements_are_parsed_per_environment() {
        let c = Config::parse(".bylaw.yaml", PROMOTION).unwrap();
        let pins = c.version_pins(Some("prod"));
        assert_eq!(pins.len(), 1);
        assert_eq!(pins[0].policy, "k8s-workload-security");
        assert_eq!(pins[0].written, "~1.4");
        let at = pins[0].span.unwrap();
        assert_eq!((at.start_line, at.start_col), (3, 85), "the key `k8s-workload-security`");
        assert!(pins[0].requirement.matches(&semver::Version::parse("1.4.7").unwrap()));
        assert!(!pins[0].requirement.matches(&semver::Version::parse("1.5.0").unwrap()));
        assert!(c.version_pins(Some("dev")).is_empty());
        assert!(c.version_pins(None).is_empty());
        let e = Config::parse(".bylaw.yaml", "environments:\n  prod:\n    versions:\n      k8s: 'about 1.4'\n")
            .unwrap_err();
        assert_eq!(e[0].location(), ".bylaw.yaml:4:7");
        assert!(e[0].message.contains("`about 1.4` is not a version requirement for `k8s` in environment `prod`"));
    }

    #[test]
    fn required_signatures_need_a_key() {
        let e =
            Config::parse(".bylaw.yaml", "policies: [a.tar.gz]\nbundles:\n  require_signatures: true\n").unwrap_err();
        assert_eq!(e[0].location(), ".bylaw.yaml:3:3");
        assert!(e[0].message.contains("`bundles.require_signatures` is on but `bundles.public_keys` names no key"));
        assert!(Config::parse(".bylaw.yaml", "bundles: { require_signatures: true, public_keys: [k.pub] }\n").is_ok());
    }

    #[test]
    fn bad_environment_shapes_are_located() {
        let e = Config::parse(".bylaw.yaml", "environments:\n  prod: { branch: [main] }\n").unwrap_err();
        assert_eq!(e.len(), 1, "{e:?}");
        assert_eq!(e[0].location(), ".bylaw.yaml:2:11");
        assert!(e[0].message.contains("unknown key `branch` in `environments.prod`"), "{}", e[0].message);
        assert!(e[0].hint.as_deref().unwrap().contains("did you mean `branches`?"));
        let e = Config::parse(".bylaw.yaml", "environments:\n  prod: main\n").unwrap_err();
        assert_eq!(e[0].location(), ".bylaw.yaml:2:9");
        assert!(
            e[0].message.contains("`environments.prod` must be a list or a mapping, found a string"),
            "{}",
            e[0].message
        );
        let e = Config::parse(".bylaw.yaml", "environments:\n  prod: { policies: policies/ }\n").unwrap_err();
        assert!(
            e[0].message.contains("`environments.prod.policies` must be a list, found a string"),
            "{}",
            e[0].message
        );
    }
}
