//! `bylaw ci github|gitlab|jenkins`: `bylaw check` plus what each platform
//! shows. The platforms share one flow — context, changed files, exception
//! requests, evaluation, artifacts, then the API — and this module holds the
//! parts that are the same everywhere: artifacts, reading policies from the
//! base revision, and the one warning of a token that cannot publish. API
//! problems never change the verdict.

mod github;
mod gitlab;
mod jenkins;

use crate::check::RunArgs;
use crate::common::{self, usage_error};
use crate::Cli;
use bylaw_ci::http::ApiError;
use bylaw_ci::requests::{exception_list_yaml, Request};
use bylaw_ci::summary;
use bylaw_engine::chrono::NaiveDate;
use bylaw_engine::report::Report;
use bylaw_report::{Format, RenderOptions};
use clap::{Args, Subcommand, ValueEnum};
use std::io::Write;
use std::path::{Path, PathBuf};

#[derive(Args, Debug)]
pub struct CiArgs {
    #[command(subcommand)]
    pub platform: CiPlatform,
}

#[derive(Subcommand, Debug)]
pub enum CiPlatform {
    /// GitHub Actions: annotations, check run or status, PR comment, job summary, outputs.
    Github(github::GithubArgs),
    /// GitLab CI: MR note, commit status, JUnit, SARIF and Code Quality artifacts.
    Gitlab(gitlab::GitlabArgs),
    /// Jenkins: JUnit, SARIF and outputs files for the shared library, and publishing through the SCM (GitHub or GitLab).
    Jenkins(jenkins::JenkinsArgs),
}

pub fn run(args: &CiArgs, cli: &Cli) -> u8 {
    match &args.platform {
        CiPlatform::Github(a) => github::run(a, cli),
        CiPlatform::Gitlab(a) => gitlab::run(a, cli),
        CiPlatform::Jenkins(a) => jenkins::run(a, cli),
    }
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum CommentMode {
    Always,
    OnFailure,
    Never,
}

impl CommentMode {
    /// Whether to write (or update) the summary comment: an earlier comment
    /// is kept up to date when the change turns green.
    pub fn wanted(self, report: &Report, existing: bool) -> bool {
        match self {
            CommentMode::Always => true,
            CommentMode::OnFailure => report.verdict == bylaw_engine::report::Verdict::Fail || existing,
            CommentMode::Never => false,
        }
    }
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum PolicyRef {
    /// The checked-out commit.
    Head,
    /// The change's base commit (`git show`), so a PR/MR cannot weaken the policies that judge it.
    Base,
}

/// How a run reports warnings: GitHub Actions workflow commands, or plain
/// lines on stderr elsewhere.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Log {
    Actions,
    Plain,
}

impl Log {
    pub fn warn(self, message: &str) {
        match self {
            Log::Actions => crate::outln!("::warning title=bylaw::{}", bylaw_github::publish::escape_data(message)),
            Log::Plain => eprintln!("bylaw: warning: {message}"),
        }
    }
}

/// Warns once about a token that cannot do what was asked (fork PRs,
/// read-only or job tokens); other API failures are warned about each.
pub struct Degraded {
    pub log: Log,
    warned: bool,
}

impl Degraded {
    pub fn new(log: Log) -> Degraded {
        Degraded { log, warned: false }
    }

    pub fn handle(&mut self, what: &str, e: &ApiError) {
        if e.is_forbidden() {
            if !self.warned {
                self.log.warn(&format!(
                    "the {} token cannot {what} ({e}); this is expected for pull/merge requests from forks and read-only tokens. bylaw reports through annotations, artifacts and the exit code only.",
                    e.service()
                ));
                self.warned = true;
            }
        } else {
            self.log.warn(&format!("could not {what}: {e}"));
        }
    }
}

/// Renders and writes the artifacts; every one is attempted. Returns how
/// many could not be written (each is reported on stderr).
pub fn write_artifacts(artifacts: &[(&Path, Format, &Report)]) -> usize {
    let opts = RenderOptions { automation_category: Some("bylaw".into()), ..RenderOptions::default() };
    let mut failed = 0;
    for (path, format, report) in artifacts {
        if *format == Format::Sarif {
            if let Some(w) = bylaw_report::sarif_limits(report) {
                eprintln!("warning: {}: {w}", path.display());
            }
        }
        failed +=
            match bylaw_report::write_atomic_with(path, &mut |w| bylaw_report::render_to(*format, report, &opts, w)) {
                Ok(()) => 0,
                Err(e) => {
                    eprintln!("error: {}", crate::common::cannot_write(path, &e));
                    1
                }
            };
    }
    failed
}

/// A CI run stopped before evaluating (exit 2): writes its artifacts (SARIF,
/// JUnit, Code Quality) describing the problems (see `check`), so code
/// scanning, test reports and the merge request widget show why the gate failed.
pub fn write_failure_artifacts(files: &[(Format, &Path)]) {
    let diags = crate::common::reported();
    let opts = RenderOptions { automation_category: Some("bylaw".into()), ..RenderOptions::default() };
    for &(format, path) in files {
        if crate::common::output_conflict(path).is_some() {
            continue;
        }
        if let Ok(text) = bylaw_report::render_failure(format, &diags, Default::default(), &opts) {
            write_text(path, &text);
        }
    }
}

/// Writes `text` to `path` atomically: 0, or 1 when it cannot (reported on stderr).
pub fn write_text(path: &Path, text: &str) -> usize {
    match bylaw_report::write_atomic(path, text.as_bytes()) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("error: {}", crate::common::cannot_write(path, &e));
            1
        }
    }
}

/// The report without excepted findings, for SARIF consumers that ignore
/// `suppressions` (GitHub code scanning, Warnings NG) and would show them as open.
pub fn without_excepted(report: &Report) -> Report {
    let mut r = report.clone();
    r.findings.retain(|f| f.exception.is_none());
    r
}

/// Prints the approved exception requests honoured in this run with the
/// ExceptionList YAML to commit, and returns the summary section listing
/// them (empty when none). `change` is `pull request` or `merge request`.
pub fn honoured_requests(reqs: &[Request], today: NaiveDate, change: &str) -> String {
    let ids: Vec<&str> = reqs.iter().filter(|r| r.in_force(today)).map(|r| r.id.as_str()).collect();
    if ids.is_empty() {
        return String::new();
    }
    let yaml = exception_list_yaml(reqs, today);
    crate::outln!(
        "bylaw: approved exception requests honoured in this run ({}); to keep them beyond this {change}, add to your exception list:\n{yaml}",
        ids.join(", ")
    );
    summary::approved_details(&yaml)
}

/// Appends `text` and a newline to the file at `path` (job summaries,
/// output files), warning when it cannot.
pub fn append(path: &str, text: &str) {
    let written =
        std::fs::OpenOptions::new().create(true).append(true).open(path).and_then(|mut f| writeln!(f, "{text}"));
    if let Err(e) = written {
        eprintln!("warning: cannot append to {path}: {e}");
    }
}

/// With `--policy-ref base`, points `run.policies` at the policies as they
/// are at `base` (a temporary directory the caller keeps alive). `in_change`
/// says whether the run is about a PR/MR at all; without a known base there
/// it warns and keeps the checked-out policies. `Err` is the exit code.
pub fn policies_from_base(
    policy_ref: PolicyRef,
    base: Option<&str>,
    in_change: bool,
    run: &mut RunArgs,
    config: &bylaw_engine::config::Config,
    log: Log,
    color: bool,
) -> Result<Option<tempfile::TempDir>, u8> {
    if policy_ref != PolicyRef::Base {
        return Ok(None);
    }
    match base.filter(|s| !s.is_empty()) {
        Some(base) => {
            let paths = common::policy_paths(&run.policies, config);
            match policies_at(base, &paths) {
                Ok((dir, moved)) => {
                    crate::outln!("bylaw: policies read from the base commit {}", &base[..base.len().min(12)]);
                    run.policies = moved;
                    Ok(Some(dir))
                }
                Err(m) => Err(usage_error(
                    &format!("--policy-ref base: {m}"),
                    Some("fetch the whole history (actions/checkout `fetch-depth: 0`, GitLab `GIT_DEPTH: 0`) so that the base commit is available"),
                    color,
                )),
            }
        }
        None if in_change => {
            log.warn("--policy-ref base: the base commit is unknown; policies are read from the checked-out commit");
            Ok(None)
        }
        None => Ok(None),
    }
}

/// Materialises the policy files of `paths` as they are at commit `rev`
/// (`git show`) in a temporary directory; returns it and the new paths.
fn policies_at(rev: &str, paths: &[PathBuf]) -> Result<(tempfile::TempDir, Vec<PathBuf>), String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let git = |args: &[&str]| -> Result<Vec<u8>, String> {
        let out = std::process::Command::new("git").args(args).output().map_err(|e| format!("cannot run git: {e}"))?;
        if out.status.success() {
            Ok(out.stdout)
        } else {
            Err(format!("git {}: {}", args.join(" "), String::from_utf8_lossy(&out.stderr).trim()))
        }
    };
    let top = PathBuf::from(String::from_utf8_lossy(&git(&["rev-parse", "--show-toplevel"])?).trim());
    let top = top.canonicalize().unwrap_or(top);
    let cwd = std::env::current_dir().map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    for p in paths {
        let s = p.to_string_lossy();
        if s.starts_with("pack:") {
            out.push(p.clone());
            continue;
        }
        // the path inside the repository (the policy may be gone from the work tree)
        let abs = if p.is_absolute() { p.clone() } else { cwd.join(p) };
        let abs = abs.canonicalize().unwrap_or(abs);
        let rel = abs
            .strip_prefix(&top)
            .map_err(|_| format!("{} is outside the git repository {}", p.display(), top.display()))?
            .to_string_lossy()
            .into_owned();
        let top_s = top.to_string_lossy();
        let listed = git(&["-C", &top_s, "ls-tree", "-r", "--name-only", rev, "--", &rel])?;
        let files: Vec<String> = String::from_utf8_lossy(&listed).lines().map(str::to_owned).collect();
        if files.is_empty() {
            return Err(format!("`{rel}` does not exist at {rev}"));
        }
        for f in &files {
            let content = git(&["-C", &top_s, "show", &format!("{rev}:{f}")])?;
            let target = dir.path().join(f);
            if let Some(parent) = target.parent() {
                std::fs::create_dir_all(parent).map_err(|e| e.to_string())?;
            }
            std::fs::write(&target, content).map_err(|e| e.to_string())?;
        }
        out.push(dir.path().join(&rel));
    }
    Ok((dir, out))
}
