//! A whole bylaw run as a library call (DESIGN §1): a typed [`Request`] —
//! the loaded config, the paths or a stream of documents, the environment,
//! the pipeline context, the exception sources — in; a typed [`Outcome`]
//! (the [`Report`] and the [`Message`]s a front end shows) or a typed
//! [`Failure`] out.
//!
//! Nothing here prints, exits, reads a process environment variable or the
//! current directory: relative paths are taken from
//! [`Request::working_dir`], the time is [`Request::now`], the context is
//! built by the caller (`bylaw_ci::env` for plain environment variables,
//! the platform adapters for their own facts). Front ends — the `bylaw`
//! binary's `check` and `ci`, a server, an editor's language server —
//! decide how to render what comes back. The only process this crate starts
//! is `git`, to find the tracked files an ignore rule would hide
//! ([`git::tracked_but_ignored`]).
//!
//! A run has two steps so that CI adapters can answer exception requests
//! against the policies before anything is evaluated: [`prepare`] loads
//! and compiles the policies and the exception lists, [`Prepared::catalog`]
//! names the policies and rules, [`Prepared::evaluate`] discovers the
//! files, evaluates them and applies the exceptions (the lists' and the
//! approved requests'). [`run`] does both.
//!
//! ```no_run
//! # use std::path::PathBuf;
//! let working_dir = PathBuf::from("/srv/repo");
//! let config = bylaw_run::load_config(&bylaw_run::ConfigChoice::Find, &[], &working_dir).unwrap();
//! let now = bylaw_engine::chrono::Utc::now();
//! let mut request = bylaw_run::Request::new(working_dir, config, now);
//! request.policies.push(PathBuf::from("policies"));
//! match bylaw_run::run(request) {
//!     Ok(outcome) => println!("{} findings", outcome.report.findings.len()),
//!     Err(failure) => eprintln!("error: {}", failure.error),
//! }
//! ```

#![forbid(unsafe_code)]

pub mod against;
pub mod git;
pub mod lock;
pub mod sources;

pub mod impact;
pub mod outputs;
pub mod policy_diff;
mod since;
pub mod test;
pub mod validate;

use bylaw_engine::chrono::{DateTime, Utc};
use bylaw_engine::compile::{self, CompileOptions, FileMatcher, PolicySet};
use bylaw_engine::config::{Config, CONFIG_NAMES};
use bylaw_engine::context::PipelineContext;
use bylaw_engine::diagnostic::{Diagnostic, Level};
use bylaw_engine::discover::{self, SkipReason};
use bylaw_engine::eval::{FileRef, RunOptions};
use bylaw_engine::exceptions::{self, Exception};
pub use bylaw_engine::language::rego::RegoOptions;
use bylaw_engine::loader::{self, Loaded};
use bylaw_engine::paths::{absolute, canonical, ProjectRoot};
use bylaw_engine::report::{Catalog, Enforcement, ExceptionState, FailOn, Report};
use std::collections::{HashMap, HashSet};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The text of the files diagnostics point into, by display path (for snippets).
pub type Sources = HashMap<String, Arc<str>>;

/// Which config a run uses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConfigChoice {
    /// This file (`--config FILE`).
    File(PathBuf),
    /// `.bylaw.yaml` found from the checked paths or the working directory
    /// ([`bylaw_engine::paths::find_config`]), else the defaults.
    Find,
    /// The defaults (`--no-config`).
    None,
}

/// Loads the config `choice` names: relative paths are taken from
/// `working_dir` (absolute), `checked` are the paths the run will check
/// (where the config is looked for first). Without a config file, the
/// defaults with `working_dir` as their base directory.
///
/// # Errors
/// [`RunError::Config`] with the located diagnostics and the file's text.
pub fn load_config(choice: &ConfigChoice, checked: &[PathBuf], working_dir: &Path) -> Result<Config, RunError> {
    let path = match choice {
        ConfigChoice::File(p) => Some(p.clone()),
        ConfigChoice::None => None,
        ConfigChoice::Find => bylaw_engine::paths::find_config(CONFIG_NAMES, checked, working_dir),
    };
    let Some(path) = path else {
        return Ok(Config { base_dir: working_dir.to_path_buf(), ..Config::default() });
    };
    Config::load(&path, working_dir).map_err(|(diagnostics, text)| {
        let mut sources = HashMap::new();
        if let (Some(d), Some(t)) = (diagnostics.first(), text) {
            sources.insert(d.file.clone(), Arc::from(t));
        }
        RunError::Config { diagnostics, sources }
    })
}

/// Everything a run needs. Build it with [`Request::new`] and set what the
/// front end was given; empty lists mean "what the config says".
pub struct Request {
    /// The directory relative paths are taken from and shown relative to
    /// (absolute; a command-line front end's current directory).
    pub working_dir: PathBuf,
    /// The config in use ([`load_config`]).
    pub config: Config,
    /// Files or directories to check; `-` is [`Request::stdin`]. Empty: the
    /// config's `paths`, else the config's directory.
    pub paths: Vec<PathBuf>,
    /// The stream read for the path `-` (`helm template … | bylaw check -`),
    /// at most the config's `max_file_size` bytes.
    pub stdin: Option<Box<dyn Read>>,
    /// Policy files, directories or `pack:NAME`. Empty: the config's `policies`.
    pub policies: Vec<PathBuf>,
    /// The [`Request::policies`] given are the config's own sources read
    /// from elsewhere (the base revision's copies, `ci --policy-ref base`):
    /// a `versions` pin naming no loaded policy is then an error, as it is
    /// when the config's sources are read in place.
    pub policies_from_config: bool,
    /// Exception list files. Empty: the config's `exceptions`.
    pub exceptions: Vec<PathBuf>,
    /// The environment to evaluate for (`--env`); else the one the config's
    /// branch patterns give [`Request::branch`], else the config's `env`.
    pub environment: Option<String>,
    /// The branch environments are chosen by (a pull request's base, the
    /// checked-out branch).
    pub branch: Option<String>,
    /// The pipeline context policies see as `ctx`; its `environment` is set
    /// by the run to the environment chosen.
    pub context: PipelineContext,
    /// The time of the run: today's date for lifecycles, `enforce_from` and
    /// exception expiry.
    pub now: DateTime<Utc>,
    /// Exceptions expiring within this many days are `expiring` (default:
    /// the config's, else [`exceptions::DEFAULT_WARN_DAYS`]).
    pub expiring_days: Option<i64>,
    /// Only evaluate the context's `changed_files`.
    pub changed_only: bool,
    /// Also evaluate `draft` policies.
    pub include_drafts: bool,
    /// Which findings fail the run (default: the config's, else blocking).
    pub fail_on: Option<FailOn>,
    /// Files the run's front end writes (reports): never inputs, and refused
    /// ([`RunError::RefusedOutputs`]) where they would replace an input.
    pub artifacts: Vec<PathBuf>,
    /// The audit log the front end appends to: never an input.
    pub audit_log: Option<PathBuf>,
    /// Say what happened to every file ([`Message::Files`], `check -v`).
    pub list_files: bool,
    /// A baseline to check against (`check --baseline`): the findings it
    /// holds are reported at audit level ([`bylaw_engine::baseline`]).
    pub baseline: Option<PathBuf>,
    /// Report the findings the same policies and config find in the
    /// repository's files as they were at this revision at audit level
    /// (`check --new-since REV`), as a baseline does; with
    /// [`Request::baseline`], the union of both.
    pub new_since: Option<String>,
    /// Files that are never inputs of this run, besides its policies,
    /// exception lists and config (another revision's copies of them).
    pub not_inputs: Vec<PathBuf>,
    /// Only say what each file is read as ([`Message::Files`]): every file
    /// is read and parsed, nothing is evaluated, policies are optional
    /// (`check --format-of`).
    pub format_of: bool,
    /// How `.rego` policies are read: namespaces, data files, Rego v0.
    pub rego: RegoOptions,
    /// What remote policy sources need: CA file, registry credentials.
    pub sources: sources::SourceOptions,
}

impl Request {
    /// A request for `working_dir` (absolute) with `config`, at `now`, with
    /// everything else empty or off and a `local` context.
    pub fn new(working_dir: PathBuf, config: Config, now: DateTime<Utc>) -> Request {
        let context = PipelineContext {
            platform: "local".into(),
            repository: None,
            git_ref: None,
            sha: None,
            event: "local".into(),
            actor: None,
            environment: None,
            changed_files: Vec::new(),
            pr: None,
            time: now.to_rfc3339_opts(bylaw_engine::chrono::SecondsFormat::Secs, true),
        };
        Request {
            working_dir,
            config,
            paths: Vec::new(),
            stdin: None,
            policies: Vec::new(),
            policies_from_config: false,
            exceptions: Vec::new(),
            environment: None,
            branch: None,
            context,
            now,
            expiring_days: None,
            changed_only: false,
            include_drafts: false,
            fail_on: None,
            artifacts: Vec::new(),
            audit_log: None,
            list_files: false,
            baseline: None,
            new_since: None,
            not_inputs: Vec::new(),
            format_of: false,
            rego: RegoOptions::default(),
            sources: sources::SourceOptions::default(),
        }
    }
}

/// Something a front end shows besides the report, in the order it
/// happened. Texts hold input-derived names as they are: a front end that
/// writes to a terminal or a CI log escapes control characters.
#[derive(Clone, Debug, PartialEq)]
pub enum Message {
    /// Located problems (warnings of policies, rejected exceptions), with
    /// the text of their files for snippets.
    Diagnostics { diagnostics: Vec<Diagnostic>, sources: Sources },
    /// Worth knowing, changes nothing (`note: …`).
    Note(String),
    /// Something was not read or not as asked (`warning: …`).
    Warning(String),
    /// What happened to every file, one line each, sorted by path (with
    /// [`Request::list_files`]).
    Files(Vec<String>),
}

/// What a finished run gives: the report (exceptions applied, counts and
/// verdict current), the messages, and what part of the project it evaluated.
pub struct Outcome {
    pub report: Report,
    pub messages: Vec<Message>,
    /// `None`: the whole project (no PATHS narrower than the root, no
    /// `--changed-only` list); what the history store records so that a
    /// partial run fixes nothing outside it.
    pub scope: Option<Scope>,
}

/// What part of the project a run evaluated. Paths are relative to the
/// project root with `/` separators, as findings' paths are.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Scope {
    /// The files and directories evaluated (`check PATHS…`, the config's
    /// `paths`; standard input's documents by their paths); empty: every
    /// file of the project.
    pub paths: Vec<String>,
    /// `--changed-only`: the changed files (only they were evaluated under
    /// `paths`); `None`: every file under `paths`.
    pub changed: Option<Vec<String>>,
}

/// Why a run stopped before giving a report (exit code 2 for a command-line
/// front end). Each message is the text shown after `error: `;
/// [`RunError::hint`] says what to do.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The config file could not be read or is invalid.
    #[error("{} in the config", count(diagnostics, "error"))]
    Config { diagnostics: Vec<Diagnostic>, sources: Sources },
    /// Neither the request nor the config names a policy.
    #[error("no policies to evaluate")]
    NoPolicies,
    /// Policies have errors (the diagnostics hold them, warnings too).
    #[error("{errors} error{} in policies; nothing was evaluated", plural(*errors))]
    Policies { errors: usize, diagnostics: Vec<Diagnostic>, sources: Sources },
    /// Exception lists have errors.
    #[error("{} error{} in exception lists; nothing was evaluated", diagnostics.len(), plural(diagnostics.len()))]
    ExceptionLists { diagnostics: Vec<Diagnostic>, sources: Sources },
    /// A glob of the config's `targets` is invalid.
    #[error("invalid glob `{glob}` in `targets` of the config: {message}")]
    TargetGlob { glob: String, message: String },
    /// A report or the audit log would replace an input or go to standard
    /// output (`PATH: why` each).
    #[error("refusing to write {}", .0.join("; "))]
    RefusedOutputs(Vec<String>),
    /// Paths to check that do not exist.
    #[error("no such file or directory: {}", .0.join(", "))]
    Missing(Vec<String>),
    /// Paths to check that are FIFOs, sockets or devices (`PATH (what)`).
    #[error("not a regular file: {}", .0.join(", "))]
    NotRegular(Vec<String>),
    /// Standard input could not be read, is too large, not text, or empty.
    #[error("{0}")]
    Stdin(StdinError),
    /// Policy test files do not parse or name a policy that is not loaded.
    #[error("{} error{} in test files; no test was run", diagnostics.len(), plural(diagnostics.len()))]
    TestFiles { diagnostics: Vec<Diagnostic>, sources: Sources },
    /// No test file and no policy example to run.
    #[error("no policy tests found")]
    NoTests,
    /// Policies do not satisfy the `versions` requirements of the run's
    /// environment (a pin that drifted).
    #[error(
        "{} version requirement{} of environment `{environment}` not met; nothing was evaluated",
        diagnostics.len(),
        if diagnostics.len() == 1 { "" } else { "s" }
    )]
    Versions { environment: String, diagnostics: Vec<Diagnostic>, sources: Sources },
    /// The baseline file cannot be read or is not one.
    #[error("{0}")]
    Baseline(bylaw_engine::baseline::BaselineError),
    /// Policy sources (bundles, URLs, registries) that cannot be read,
    /// fetched or trusted ([`sources`]).
    #[error("{} error{} in policy sources; nothing was evaluated", diagnostics.len(), plural(diagnostics.len()))]
    Sources { diagnostics: Vec<Diagnostic>, sources: Sources },
    /// `bylaw.lock` cannot be read, or there is no config to lock.
    #[error("{0}")]
    LockFile(String),
    /// Policy sources differ from their pins in the lock (or are not in it).
    #[error("the policy sources differ from {lock}: {}", drift.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    LockDrift { lock: String, drift: Vec<lock::Drift> },
    /// Policies without a semver `metadata.version` cannot be locked.
    #[error("{} polic{} without a semver `metadata.version`; nothing was locked", diagnostics.len(), if diagnostics.len() == 1 { "y" } else { "ies" })]
    Unversioned { diagnostics: Vec<Diagnostic>, sources: Sources },

    /// A revision to compare with cannot be read (`--new-since REV`: not a
    /// git repository, an unknown revision, or its run failed).
    #[error("{0}")]
    Revision(String),
}

/// Why the stream named `-` was not evaluated.
#[derive(Debug, thiserror::Error)]
pub enum StdinError {
    #[error("cannot read standard input: {0}")]
    Read(std::io::Error),
    #[error("standard input is over the size limit of {0} bytes: not evaluated")]
    TooLarge(u64),
    #[error("cannot read standard input: at line {line}, column {col}: {what}")]
    NotText { line: u32, col: u32, what: String },
    #[error("standard input is empty: nothing to check")]
    Empty,
    #[error("standard input (`-`) is named but the request has no stream")]
    Missing,
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

fn count(diags: &[Diagnostic], what: &str) -> String {
    let n = diags.iter().filter(|d| d.level == Level::Error).count().max(1);
    format!("{n} {what}{}", plural(n))
}

impl RunError {
    /// What to do about it, for the line under the error.
    pub fn hint(&self) -> Option<&'static str> {
        Some(match self {
            RunError::Config { .. } => return None,
            RunError::NoPolicies => "pass `-p POLICY` (a file or directory), or list `policies:` in .bylaw.yaml",
            RunError::Policies { .. } => "run `bylaw validate` while editing policies",
            RunError::ExceptionLists { .. } => "`bylaw schema exceptions` prints the format",
            RunError::TargetGlob { .. } => return None,
            RunError::Baseline(_) => "write one with `bylaw check --write-baseline FILE`",
            RunError::Versions { .. } => "`bylaw explain --effective --env ENV` shows the policies and versions in effect",
            RunError::LockFile(_) => "`bylaw lock` writes bylaw.lock beside .bylaw.yaml",
            RunError::LockDrift { .. } => {
                "review the change; if it is wanted, run `bylaw lock --update` and commit bylaw.lock"
            }
            RunError::Unversioned { .. } => "every policy carries `metadata.version: MAJOR.MINOR.PATCH` (semver)",
            // each source's diagnostic carries the hint of its own kind of problem
            RunError::Sources { .. } => return None,

            RunError::Revision(_) => "name a commit, branch or tag of the repository (`git log --oneline` lists them)",
            RunError::RefusedOutputs(_) => "choose another path for the report (e.g. under a `reports/` directory)",
            RunError::Missing(_) => {
                "bylaw check [PATHS…]: give existing files or directories (or `-` for standard input)"
            }
            RunError::NotRegular(_) => {
                "bylaw reads regular files (and standard input, `-`): write the input to a file, or pipe it: `… | bylaw check -`"
            }
            RunError::Stdin(StdinError::TooLarge(_)) => {
                "raise `max_file_size` in .bylaw.yaml, or check the files themselves"
            }
            RunError::Stdin(StdinError::Empty) => {
                "did the command piped into `bylaw check -` fail? (`set -o pipefail` makes the pipeline say so)"
            }
            RunError::Stdin(_) => return None,
            RunError::TestFiles { .. } => return None,
            RunError::NoTests => "tests are `kind: PolicyTest` files named *.test.yaml next to the policies",
        })
    }

    /// The located diagnostics behind the error, with their files' text.
    pub fn diagnostics(&self) -> Option<(&[Diagnostic], &Sources)> {
        match self {
            RunError::Config { diagnostics, sources }
            | RunError::Policies { diagnostics, sources, .. }
            | RunError::ExceptionLists { diagnostics, sources }
            | RunError::TestFiles { diagnostics, sources }
            | RunError::Versions { diagnostics, sources, .. }
            | RunError::Sources { diagnostics, sources }
            | RunError::Unversioned { diagnostics, sources } => Some((diagnostics, sources)),
            _ => None,
        }
    }
}

/// A run that stopped: the error and what was said before it.
#[derive(Debug, thiserror::Error)]
#[error("{error}")]
pub struct Failure {
    #[source]
    pub error: RunError,
    pub messages: Vec<Message>,
}

/// A run with its policies compiled and exception lists loaded, not yet
/// evaluated.
pub struct Prepared {
    request: Request,
    environment: Option<String>,
    set: PolicySet,
    loaded: Loaded,
    exception_paths: Vec<PathBuf>,
    exception_list: Vec<Exception>,
    /// `--baseline`, read before anything is loaded (a missing or foreign
    /// file stops the run before the work), and its name as shown.
    baseline: Option<(bylaw_engine::baseline::Baseline, String)>,
    messages: Vec<Message>,
}

/// Loads and evaluates: [`prepare`] then [`Prepared::evaluate`] with no
/// approved requests.
///
/// # Errors
/// A [`Failure`] when the run cannot give a report.
pub fn run(request: Request) -> Result<Outcome, Failure> {
    prepare(request)?.evaluate(Vec::new())
}

/// Loads and compiles the policies and loads the exception lists.
///
/// # Errors
/// [`RunError::NoPolicies`], [`RunError::Policies`],
/// [`RunError::ExceptionLists`], with the messages so far.
pub fn prepare(request: Request) -> Result<Prepared, Failure> {
    let mut clock = std::time::Instant::now();
    let mut messages = Vec::new();
    // the baseline first: a missing or foreign one stops the run before
    // any policy is loaded or file read
    let baseline = match request.baseline.as_ref().map(|path| {
        let wd = &request.working_dir;
        let shown = loader::display_as_given(&absolute(wd, path), path, wd);
        bylaw_engine::baseline::Baseline::read(&absolute(wd, path), &shown).map(|b| (b, shown))
    }) {
        Some(Err(e)) => return Err(Failure { error: RunError::Baseline(e), messages }),
        Some(Ok(b)) => Some(b),
        None => None,
    };
    let config = &request.config;
    // the environment chooses the policies (`environments.ENV.policies`)
    let environment = choose_environment(request.environment.as_deref(), request.branch.as_deref(), config);
    if let Some(env) = request.environment.as_deref() {
        // a misspelt `--env prdo` would silently apply another policy set
        if !config.environments.is_empty() && config.environment(env).is_none() {
            let names: Vec<&str> = config.environments.iter().map(|(n, _)| n.as_str()).collect();
            messages.push(Message::Warning(format!(
                "environment `{env}` is not one of the environments of {} ({}): the top-level `policies` apply",
                config.file.as_deref().unwrap_or(".bylaw.yaml"),
                names.join(", ")
            )));
        }
    }
    let policy_paths = policy_paths_for(&request.policies, config, environment.as_deref());
    if policy_paths.is_empty() && !request.format_of {
        return Err(Failure { error: RunError::NoPolicies, messages });
    }
    let options = CompileOptions {
        environment: environment.clone(),
        today: request.now.date_naive(),
        include_drafts: request.include_drafts || config.include_drafts.unwrap_or(false),
    };
    // bundles, URLs and registries become in-memory files and Rego data;
    // `bylaw.lock` beside the config holds every source to its pin
    let resolved = match lock::resolve_checked(&request, &policy_paths, environment.as_deref()) {
        Ok(r) => r,
        Err(error) => return Err(Failure { error, messages }),
    };
    messages.extend(resolved.warnings.iter().cloned().map(Message::Warning));
    let mut rego = request.rego.clone();
    rego.data.extend(resolved.data);
    let (set, loaded) = match load_and_compile_with(
        &resolved.paths,
        &resolved.memory,
        options,
        &rego,
        &request.working_dir,
        &mut messages,
    ) {
        Ok(l) => l,
        Err(error) => return Err(Failure { error, messages }),
    };
    phase_done("load and compile policies", &mut clock);
    let from_config = request.policies.is_empty() || request.policies_from_config;
    let pinned = check_versions(config, environment.as_deref(), &loaded, &set, from_config);
    if !pinned.is_empty() {
        let mut sources = loaded.sources.clone();
        // a pin naming no loaded policy points into the config: its snippet
        if let Some(file) = config.file.as_ref().filter(|f| pinned.iter().any(|d| &d.file == *f)) {
            if let Ok(text) = bylaw_engine::paths::read_text(&absolute(&request.working_dir, Path::new(file))) {
                sources.insert(file.clone(), Arc::from(text));
            }
        }
        let error =
            RunError::Versions { environment: environment.clone().unwrap_or_default(), diagnostics: pinned, sources };
        return Err(Failure { error, messages });
    }
    let exception_paths: Vec<PathBuf> = if !request.exceptions.is_empty() {
        // as given: shown as the user spells them
        request.exceptions.clone()
    } else {
        config.exceptions.iter().map(|p| config.resolve(p)).collect()
    };
    let exception_list = match exceptions::load(&exception_paths, &request.working_dir) {
        Ok(list) => list,
        Err((diagnostics, sources)) => {
            let sources = sources.into_iter().map(|(k, v)| (k, Arc::from(v))).collect();
            return Err(Failure { error: RunError::ExceptionLists { diagnostics, sources }, messages });
        }
    };
    Ok(Prepared { request, environment, set, loaded, exception_paths, exception_list, baseline, messages })
}

/// Policy paths: the request's, else the config's top-level `policies`
/// (relative to it; `pack:NAME` entries name built-in packs). A run in an
/// environment uses [`policy_paths_for`].
pub fn policy_paths(requested: &[PathBuf], config: &Config) -> Vec<PathBuf> {
    policy_paths_for(requested, config, None)
}

/// Policy paths of a run in environment `env`: the request's, else the
/// sources in effect there ([`Config::policy_sources`]: the environment's
/// own `policies`, else the top-level list).
pub fn policy_paths_for(requested: &[PathBuf], config: &Config, env: Option<&str>) -> Vec<PathBuf> {
    if !requested.is_empty() {
        return requested.to_vec();
    }
    config.policy_sources(env).iter().map(|p| source_path(config, p)).collect()
}

/// What the loader and [`sources::resolve`] read for one source as written
/// in the config: `pack:NAME` and remote sources as they are, a path
/// resolved against the config's directory.
pub fn source_path(config: &Config, source: &str) -> PathBuf {
    if source.starts_with("pack:") || sources::is_remote(source) {
        PathBuf::from(source)
    } else {
        config.resolve(source)
    }
}

/// The environment of a run (DESIGN §4): `explicit` (`--env`), else the
/// first environment whose branch patterns match `branch`, else the
/// config's `env`.
pub fn choose_environment(explicit: Option<&str>, branch: Option<&str>, config: &Config) -> Option<String> {
    explicit
        .map(str::to_owned)
        .or_else(|| branch.and_then(|b| config.environment_for_branch(b)))
        .or_else(|| config.env.clone())
}

/// Checks the loaded policies against the `versions` requirements of
/// environment `env` (`environments.ENV.versions` of the config): one
/// error per policy whose `metadata.version` is missing or does not
/// satisfy its requirement, located at the policy's version, naming the
/// policy, its version, the requirement, the environment and both files.
/// With `from_config` (the policies are the config's, not `-p`), a
/// requirement naming no loaded policy is an error too.
pub fn check_versions(
    config: &Config,
    env: Option<&str>,
    loaded: &Loaded,
    set: &PolicySet,
    from_config: bool,
) -> Vec<Diagnostic> {
    use bylaw_engine::diagnostic::Code;
    let (Some(env), pins) = (env, config.version_pins(env)) else {
        return Vec::new();
    };
    let config_file = config.file.as_deref().unwrap_or(".bylaw.yaml");
    let mut out = Vec::new();
    for pin in pins {
        let required = format!("`{}`, required in environment `{env}` by {config_file}", pin.written);
        let hint = format!(
            "point `environments.{env}.policies` at a source with a matching version, or change `environments.{env}.versions` in {config_file}"
        );
        // YAML policies (drafts too), then Rego packages and Constraints
        let found = loaded
            .policies
            .iter()
            .find(|p| p.def.metadata.name == pin.policy)
            .map(|p| {
                let pointer = if p.def.metadata.version.is_some() { "/metadata/version" } else { "/metadata" };
                (p.file.clone(), Some(p.root.value_span_of_pointer(pointer).0), p.def.metadata.version.clone())
            })
            .or_else(|| {
                set.policies.iter().find(|p| p.name == pin.policy).map(|p| (p.file.clone(), None, p.version.clone()))
            });
        let Some((file, span, version)) = found else {
            if from_config {
                out.push(
                    Diagnostic::error(
                        Code::Conflict,
                        config_file,
                        pin.span,
                        format!(
                            "environment `{env}` requires `{}` at `{}` (`environments.{env}.versions` of {config_file}), but no loaded policy is named `{}`",
                            pin.policy, pin.written, pin.policy
                        ),
                    )
                    .with_hint(format!(
                        "check the policy's name (`metadata.name`), or remove the requirement; the sources in effect in `{env}` are: {}",
                        config.policy_sources(Some(env)).join(", ")
                    )),
                );
            }
            continue;
        };
        let problem = match version.as_deref().map(|v| (v, bylaw_engine::semver::Version::parse(v))) {
            None => format!("policy `{}` ({file}) has no `metadata.version`, but {required}", pin.policy),
            Some((v, Err(e))) => {
                format!("policy `{}` ({file}) has version `{v}`, not semver ({e}), but {required}", pin.policy)
            }
            Some((v, Ok(parsed))) if !pin.requirement.matches(&parsed) => {
                format!("policy `{}` ({file}) is at version {v}, which does not satisfy {required}", pin.policy)
            }
            Some(_) => continue,
        };
        out.push(Diagnostic::error(Code::Conflict, &file, span, problem).with_hint(hint.clone()));
    }
    out
}

/// Loads and compiles policies (relative paths from `working_dir`): the
/// files of policy directories that hold no policy become notes, warnings
/// a [`Message::Diagnostics`].
///
/// # Errors
/// [`RunError::Policies`] when any diagnostic is an error.
pub fn load_and_compile(
    paths: &[PathBuf],
    options: CompileOptions,
    rego: &RegoOptions,
    working_dir: &Path,
    messages: &mut Vec<Message>,
) -> Result<(PolicySet, Loaded), RunError> {
    load_and_compile_with(paths, &[], options, rego, working_dir, messages)
}

/// [`load_and_compile`] with the policy files of bundles held in memory.
///
/// # Errors
/// [`RunError::Policies`] when any diagnostic is an error.
pub fn load_and_compile_with(
    paths: &[PathBuf],
    memory: &[loader::MemoryFile],
    options: CompileOptions,
    rego: &RegoOptions,
    working_dir: &Path,
    messages: &mut Vec<Message>,
) -> Result<(PolicySet, Loaded), RunError> {
    let mut loaded = loader::load_with(paths, memory, working_dir);
    for (file, why) in &loaded.not_policies {
        messages.push(Message::Note(format!("{file}: {why}")));
    }
    let mut rego = rego.clone();
    bylaw_engine::language::rego::read_data(&mut rego, working_dir, &mut loaded.sources, &mut loaded.diagnostics);
    let (set, compile_diags) = compile::compile_loaded(&loaded, &rego, options);
    let mut diagnostics = loaded.diagnostics.clone();
    diagnostics.extend(compile_diags);
    let errors = diagnostics.iter().filter(|d| d.level == Level::Error).count();
    if errors > 0 {
        return Err(RunError::Policies { errors, diagnostics, sources: loaded.sources.clone() });
    }
    if !diagnostics.is_empty() {
        messages.push(Message::Diagnostics { diagnostics, sources: loaded.sources.clone() });
    }
    Ok((set, loaded))
}

impl Prepared {
    /// The policies and rules of the run (what exception requests name).
    pub fn catalog(&self) -> Catalog {
        self.set.catalog()
    }

    /// Discovers the files, evaluates them and applies the exception lists
    /// and `approved` (exceptions of approved requests).
    ///
    /// # Errors
    /// [`RunError::TargetGlob`], [`RunError::RefusedOutputs`],
    /// [`RunError::Missing`], [`RunError::NotRegular`],
    /// [`RunError::Stdin`], with the messages so far.
    pub fn evaluate(self, approved: Vec<Exception>) -> Result<Outcome, Failure> {
        let Prepared {
            mut request,
            environment,
            set,
            loaded,
            exception_paths,
            mut exception_list,
            baseline,
            mut messages,
        } = self;
        exception_list.extend(approved);
        let lists = Lists { paths: &exception_paths, exceptions: exception_list, baseline };
        match evaluate(&mut request, environment, set, &loaded, lists, &mut messages) {
            Ok((report, scope)) => Ok(Outcome { report, messages, scope }),
            Err(error) => Err(Failure { error, messages }),
        }
    }
}

/// What a run holds its findings to: the exception lists (their files and
/// exceptions) and the baseline read by [`prepare`].
struct Lists<'a> {
    paths: &'a [PathBuf],
    exceptions: Vec<Exception>,
    baseline: Option<(bylaw_engine::baseline::Baseline, String)>,
}

fn evaluate(
    request: &mut Request,
    environment: Option<String>,
    mut set: PolicySet,
    loaded: &Loaded,
    lists: Lists<'_>,
    messages: &mut Vec<Message>,
) -> Result<(Report, Option<Scope>), RunError> {
    let Lists { paths: exception_paths, exceptions: exception_list, baseline } = lists;
    let mut clock = std::time::Instant::now();
    let config = &request.config;
    let wd = request.working_dir.clone();
    let targets = FileMatcher::new(&config.targets)
        .map_err(|(i, message)| RunError::TargetGlob { glob: config.targets[i].clone(), message })?;
    // `bylaw check DIR` is `cd DIR && bylaw check` (DESIGN §6): the one
    // PATH that is the config's own directory takes the config's `paths`
    let names_config_dir = |p: &PathBuf| {
        config.file.is_some() && p.as_os_str() != "-" && canonical(&absolute(&wd, p)) == canonical(&config.base_dir)
    };
    let root_only = request.paths.len() == 1 && names_config_dir(&request.paths[0]) && !config.paths.is_empty();
    let paths: Vec<PathBuf> = if !request.paths.is_empty() && !root_only {
        request.paths.iter().map(|p| if p.as_os_str() == "-" { p.clone() } else { absolute(&wd, p) }).collect()
    } else if !config.paths.is_empty() {
        config.paths.iter().map(|p| config.resolve(p)).collect()
    } else {
        vec![config.base_dir.clone()]
    };
    let root = project_root(config, &paths, &wd);
    // bylaw's own files are never inputs: only files that hold policies (or
    // their bases) stop being inputs, a manifest in a policy directory is
    // still checked
    let policy_files =
        loaded.policies.iter().flat_map(|p| std::iter::once(&p.file).chain(p.origins.iter().map(|o| &o.file)));
    let mut exclude: HashSet<PathBuf> = policy_files
        .filter(|k| !k.starts_with("pack:"))
        .chain(config.file.iter())
        .map(|k| canonical(&absolute(&wd, Path::new(k))))
        .collect();
    exclude.extend(exception_paths.iter().map(|p| canonical(&absolute(&wd, p))));
    // the baseline is bylaw's own file, not an input
    exclude.extend(request.baseline.iter().map(|p| canonical(&absolute(&wd, p))));
    exclude.extend(request.not_inputs.iter().map(|p| canonical(&absolute(&wd, p))));
    // the audit log (a JSON-lines file) is bylaw's own, not an input
    let audit = request
        .audit_log
        .as_ref()
        .map(|p| absolute(&wd, p))
        .or_else(|| config.audit_log.as_ref().map(|p| config.resolve(p)));
    exclude.extend(audit.iter().map(|p| canonical(p)));
    let configured_outputs =
        [&config.outputs.sarif, &config.outputs.junit, &config.outputs.json, &config.outputs.markdown];
    // (where, as given)
    let written: Vec<(PathBuf, PathBuf)> = configured_outputs
        .into_iter()
        .flatten()
        .map(|p| (config.resolve(p), config.resolve(p)))
        .chain(request.artifacts.iter().map(|p| (absolute(&wd, p), p.clone())))
        .collect();
    let artifacts: HashSet<PathBuf> = written.iter().map(|(p, _)| canonical(p)).collect();
    // a report path over an input is refused
    let conflicts: Vec<String> = written
        .iter()
        .filter_map(|(p, given)| {
            let why = outputs::output_conflict(p)?;
            Some(format!("{}: {why}", loader::display_as_given(p, given, &wd)))
        })
        .collect();
    if !conflicts.is_empty() {
        return Err(RunError::RefusedOutputs(conflicts));
    }
    let stdin = paths.iter().any(|p| p.as_os_str() == "-");
    let on_disk: Vec<PathBuf> = paths.iter().filter(|p| p.as_os_str() != "-").cloned().collect();
    let tracked = || git::tracked_but_ignored(root.dir());
    let filter = discover::Filter {
        targets: targets.as_ref(),
        formats: Some(&config.format_overrides),
        exclude: &exclude,
        artifacts: &artifacts,
        tracked: &tracked,
    };
    let mut found = discover::discover(&on_disk, &root, &filter);
    phase_done("discover files", &mut clock);
    if !found.missing.is_empty() {
        return Err(RunError::Missing(found.missing.clone()));
    }
    // a FIFO, socket or device named explicitly is an error (one met while
    // walking a directory is skipped with a warning)
    let special: Vec<String> = found
        .skipped
        .iter()
        .filter(|s| s.explicit && s.reason == SkipReason::NotRegular)
        .map(|s| format!("{} ({})", s.path, bylaw_engine::paths::not_regular(&root.resolve(&s.path))))
        .collect();
    if !special.is_empty() {
        return Err(RunError::NotRegular(special));
    }
    for l in &found.loops {
        messages.push(Message::Warning(l.clone()));
    }
    for s in found.skipped.iter().filter(|s| !s.explicit && s.reason == SkipReason::NotRegular) {
        let what = bylaw_engine::paths::not_regular(&root.resolve(&s.path));
        messages.push(Message::Warning(format!("{}: {what}: not read", s.path)));
    }
    let formats = format!("not a format bylaw reads ({})", bylaw_engine::input::format_names().join(", "));
    for s in found.skipped.iter().filter(|s| s.explicit) {
        let why = match s.reason {
            SkipReason::UnknownFormat => formats.as_str(),
            SkipReason::HelmTemplate => {
                "a Helm chart template: render it and pipe the output, `helm template … | bylaw check -`"
            }
            SkipReason::KustomizePatch => {
                "a kustomize patch: check the built output, `kustomize build … | bylaw check -`"
            }
            SkipReason::Targets => "excluded by `targets` of the config",
            SkipReason::NotRegular => "not a regular file",
            SkipReason::BylawFile => "a policy, exception list or config of this run",
            _ => s.reason.as_str(),
        };
        messages.push(Message::Warning(format!("{}: skipped: {why}", s.path)));
    }
    let mut ctx = request.context.clone();
    ctx.environment = environment;
    let mut files = std::mem::take(&mut found.files);
    if stdin {
        let limit = config.max_file_size.unwrap_or(bylaw_engine::eval::DEFAULT_MAX_FILE_SIZE);
        files.extend(read_stdin(request.stdin.take(), limit, &root)?);
    }
    // what the run evaluates: the paths given (standard input's documents
    // by their paths), narrowed to the changed files below
    let mut scope_paths: Vec<String> = on_disk.iter().map(|p| root.display(p)).collect();
    if stdin {
        scope_paths.extend(files.iter().filter(|f| f.fs_path.as_os_str() == "-").map(|f| f.path.clone()));
    }
    let mut scope_changed = None;
    if request.changed_only {
        // changed files are named from the top of the git work tree
        let top = bylaw_engine::paths::git_top(root.dir()).unwrap_or_else(|| root.dir().to_path_buf());
        let changed: HashSet<String> = ctx.changed_files.iter().map(|c| root.display(&top.join(c))).collect();
        if changed.is_empty() {
            messages.push(Message::Warning(
                "--changed-only: no changed files known (set BYLAW_CHANGED_FILES); checking every file".into(),
            ));
        } else {
            files.retain(|f| changed.contains(&f.path));
            let mut list: Vec<String> = changed.into_iter().collect();
            list.sort();
            scope_changed = Some(list);
        }
    }
    let scope = if scope_paths.iter().any(|p| p == ".") { Vec::new() } else { scope_paths };
    let scope = (!scope.is_empty() || scope_changed.is_some())
        .then(|| Scope { paths: sorted_unique(scope), changed: scope_changed });
    let options = RunOptions {
        ctx: ctx.to_json(),
        fail_on: request.fail_on.or(config.fail_on).unwrap_or_default(),
        parse_errors: config.parse_errors.unwrap_or(Enforcement::Blocking),
        max_file_size: config.max_file_size.unwrap_or(bylaw_engine::eval::DEFAULT_MAX_FILE_SIZE),
        format_of: request.format_of,
    };
    // policies are shown by their path under the root in every output
    for p in set.policies.iter_mut().filter(|p| !p.file.starts_with("pack:") && !sources::in_bundle(&p.file)) {
        p.file = root.display(&absolute(&wd, Path::new(&p.file)));
    }
    let (mut report, details) = set.run_detailed(&files, &options);
    phase_done("parse and evaluate", &mut clock);
    for s in &found.skipped {
        *report.summary.skipped.entry(s.reason.as_str().to_owned()).or_default() += 1;
    }
    what_was_read(&found, &details, &report, request.list_files || request.format_of, request.format_of, messages);
    let rules: exceptions::PolicyRules =
        set.policies.iter().map(|p| (p.name.clone(), p.exception_rules.clone())).collect();
    let settings = exceptions::Settings {
        today: request.now.date_naive(),
        warn_days: request.expiring_days.or(config.exceptions_warn_days).unwrap_or(exceptions::DEFAULT_WARN_DAYS),
        inline: config.inline_suppressions.unwrap_or_default(),
    };
    let rejected = exceptions::apply(&mut report, &exception_list, &rules, &settings, &|p| {
        details.inline.get(p).cloned().unwrap_or_default()
    });
    phase_done("apply exceptions", &mut clock);
    if !rejected.is_empty() {
        let sources = exception_paths
            .iter()
            .filter_map(|p| {
                let abs = absolute(&wd, p);
                let text = std::fs::read_to_string(&abs).ok()?;
                Some((loader::display_as_given(&abs, p, &wd), Arc::from(text)))
            })
            .collect();
        messages.push(Message::Diagnostics { diagnostics: rejected, sources });
    }
    let mut baseline = baseline;
    if let Some(rev) = request.new_since.clone() {
        baseline = Some(since::baseline_since(request, &rev, loaded, exception_paths, baseline)?);
    }
    if let Some((baseline, shown)) = baseline {
        baseline.apply(&mut report, &shown);
    }
    for e in &report.exceptions {
        if matches!(e.status, ExceptionState::Expiring | ExceptionState::Expired | ExceptionState::Stale) {
            messages.push(Message::Warning(format!(
                "exception {} ({}) is {}: {}",
                e.id,
                e.source,
                e.status,
                e.detail.as_deref().unwrap_or("")
            )));
        }
    }
    Ok((report, scope))
}

fn sorted_unique(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v.dedup();
    v
}

/// The project root of a run: the config's directory, else the git work
/// tree of the checked paths, else `working_dir` (DESIGN §6).
pub fn project_root(config: &Config, paths: &[PathBuf], working_dir: &Path) -> ProjectRoot {
    ProjectRoot::find(config.file.as_ref().map(|_| config.base_dir.as_path()), paths, working_dir)
}

/// The files of the stream named `-`, at most `limit` bytes.
fn read_stdin(stream: Option<Box<dyn Read>>, limit: u64, root: &ProjectRoot) -> Result<Vec<FileRef>, RunError> {
    let stream = stream.ok_or(RunError::Stdin(StdinError::Missing))?;
    // the same size limit as files: `cat /dev/zero | bylaw check -` stops
    // at it instead of exhausting memory
    let mut bytes = Vec::new();
    stream.take(limit + 1).read_to_end(&mut bytes).map_err(|e| RunError::Stdin(StdinError::Read(e)))?;
    if bytes.len() as u64 > limit {
        return Err(RunError::Stdin(StdinError::TooLarge(limit)));
    }
    let text = bylaw_engine::input::decode(bytes).map_err(|e| {
        let what = e.message.replace("the file is", "it is").replace("re-encode the file", "re-encode it");
        RunError::Stdin(StdinError::NotText { line: e.line, col: e.col, what })
    })?;
    if text.trim().is_empty() {
        // `helm template … | bylaw check -` after a failed render
        return Err(RunError::Stdin(StdinError::Empty));
    }
    Ok(discover::split_stream(&text, root))
}

/// What was read and skipped (with [`Request::list_files`]); a file named
/// explicitly that no policy applies to, a policy that matched no file,
/// templated documents, Helm templates and kustomize patches, and a run
/// that read nothing.
fn what_was_read(
    found: &discover::Discovered,
    details: &bylaw_engine::eval::RunDetails,
    report: &Report,
    list_files: bool,
    format_of: bool,
    messages: &mut Vec<Message>,
) {
    if list_files {
        let mut lines: Vec<(String, String)> = Vec::new();
        for f in &details.files {
            let line = match &f.skipped {
                _ if format_of => match &f.read_as {
                    Some(r) => format!("read     {} as {r}", f.path),
                    None => format!("skipped  {} (not read)", f.path),
                },
                None => format!(
                    "read     {} ({} document{}, {} polic{})",
                    f.path,
                    f.documents,
                    plural(f.documents),
                    f.policies,
                    if f.policies == 1 { "y" } else { "ies" }
                ),
                Some(r) => format!("skipped  {} ({r})", f.path),
            };
            lines.push((f.path.clone(), line));
        }
        for s in &found.skipped {
            lines.push((s.path.clone(), format!("skipped  {} ({})", s.path, s.reason)));
        }
        lines.sort();
        messages.push(Message::Files(lines.into_iter().map(|(_, l)| l).collect()));
    }
    if format_of {
        // nothing was evaluated: no policy matched nothing, no gate passed
        return;
    }
    for f in details.files.iter().filter(|f| found.explicit.contains(&f.path)) {
        if f.skipped == Some(SkipReason::NoPolicy) {
            messages.push(Message::Warning(format!(
                "{}: no policy applies to this file (check `match.files` and `match.kinds`)",
                f.path
            )));
        } else if f.skipped == Some(SkipReason::Empty) {
            messages.push(Message::Warning(format!(
                "{}: empty (no document, only blank lines or comments): nothing to check",
                f.path
            )));
        }
    }
    for p in &report.policies {
        if p.targets.is_empty() {
            messages.push(Message::Note(format!("policy {} matched no file", p.name)));
        }
    }
    if !details.templated.is_empty() {
        let docs: usize = details.templated.iter().map(|(_, n)| n).sum();
        let mut names: Vec<String> = details.templated.iter().take(5).map(|(p, _)| p.clone()).collect();
        if details.templated.len() > 5 {
            names.push(format!("… {} more", details.templated.len() - 5));
        }
        messages.push(Message::Warning(format!(
            "{docs} document{} with unrendered `{{{{ }}}}` templates not evaluated ({}): render them and pipe the output to `bylaw check -`",
            plural(docs),
            names.join(", ")
        )));
    }
    let count = |r: SkipReason| found.skipped.iter().filter(|s| s.reason == r).count();
    let helm = count(SkipReason::HelmTemplate);
    if helm > 0 {
        messages.push(Message::Note(format!(
            "{helm} Helm chart template{} skipped: check the rendered chart with `helm template CHART | bylaw check -`",
            if helm == 1 { " was" } else { "s were" }
        )));
    }
    let patches = count(SkipReason::KustomizePatch);
    if patches > 0 {
        messages.push(Message::Note(format!(
            "{patches} kustomize patch{} skipped: check the built output with `kustomize build DIR | bylaw check -`",
            if patches == 1 { " was" } else { "es were" }
        )));
    }
    // a gate that read nothing must not look like a pass
    let document_policies =
        report.policies.iter().any(|p| !p.targets.iter().any(|t| t == bylaw_engine::builtin::PIPELINE_TARGET));
    if report.summary.files == 0 && document_policies {
        let skipped: usize = report.summary.skipped.values().sum();
        messages.push(Message::Warning(format!(
            "no file was checked ({skipped} skipped{}); see `bylaw check -v`",
            if skipped == 0 { ": nothing found under the given paths" } else { "" }
        )));
    }
}

/// Logs how long the phase that ends now took (`BYLAW_LOG=bylaw::timing=debug`),
/// and restarts the clock: where a run's time goes (DESIGN §10).
pub fn phase_done(name: &str, clock: &mut std::time::Instant) {
    tracing::debug!(target: "bylaw::timing", "{name}: {:.1} ms", clock.elapsed().as_secs_f64() * 1e3);
    *clock = std::time::Instant::now();
}
