//! `bylaw ci github`: `bylaw check` plus everything GitHub shows — the
//! context of the event, annotations, a check run or commit status, the PR
//! comment, the job summary, step outputs, SARIF for code scanning — and
//! exception requests by PR comment. API problems never change the verdict:
//! a read-only token (fork PRs) degrades to annotations, artifacts and the
//! exit code, with one warning.

use crate::check::{evaluate_with, Overrides, RunArgs};
use crate::common::{self, usage_error, EXIT_ERROR};
use crate::Cli;
use bylaw_engine::context;
use bylaw_engine::report::Report;
use bylaw_github::api::{ApiError, Client};
use bylaw_github::context::{pr_from, GitHub};
use bylaw_github::publish::{self, ChangedLines};
use bylaw_github::requests::{self, Approvers, Request, Verifier};
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
    Github(GithubArgs),
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum CommentMode {
    Always,
    OnFailure,
    Never,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum PolicyRef {
    /// The checked-out commit.
    Head,
    /// The PR's base commit (`git show`), so a PR cannot weaken the policies that judge it.
    Base,
}

#[derive(Args, Debug)]
pub struct GithubArgs {
    #[command(flatten)]
    pub run: RunArgs,
    /// Token for the API (default: $GITHUB_TOKEN). Never printed.
    #[arg(long, env = "GITHUB_TOKEN", hide_env_values = true, value_name = "TOKEN")]
    pub github_token: Option<String>,
    /// PR comment with the summary: always, on-failure (default), never.
    #[arg(long, value_enum, default_value_t = CommentMode::OnFailure)]
    pub comment: CommentMode,
    /// Publish a check run with annotations (needs `checks: write`).
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, value_name = "BOOL")]
    pub check_run: bool,
    /// Set a `bylaw` commit status (needs `statuses: write`).
    #[arg(long, default_value_t = false, action = clap::ArgAction::Set, value_name = "BOOL")]
    pub status: bool,
    /// Print annotations as workflow commands.
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, value_name = "BOOL")]
    pub annotations: bool,
    /// Write SARIF for github/codeql-action/upload-sarif (default: bylaw.sarif).
    #[arg(long, value_name = "FILE", default_value = "bylaw.sarif")]
    pub sarif: PathBuf,
    /// Keep excepted findings in the SARIF file (code scanning would show them as open alerts).
    #[arg(long)]
    pub sarif_include_excepted: bool,
    /// Write JUnit XML.
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// Where policies are read from in pull requests.
    #[arg(long, value_enum, default_value_t = PolicyRef::Head)]
    pub policy_ref: PolicyRef,
}

pub fn run(args: &CiArgs, cli: &Cli) -> u8 {
    match &args.platform {
        CiPlatform::Github(a) => github(a, cli),
    }
}

/// Warns once about a token that cannot do what was asked.
struct Degraded {
    warned: bool,
}

impl Degraded {
    fn handle(&mut self, what: &str, e: &ApiError) {
        if e.is_forbidden() {
            if !self.warned {
                println!(
                    "::warning title=bylaw::{}",
                    publish::escape_data(&format!(
                        "the GitHub token cannot {what} ({e}); this is expected for pull requests from forks and read-only tokens. bylaw reports through annotations, artifacts and the exit code only."
                    ))
                );
                self.warned = true;
            }
        } else {
            println!("::warning title=bylaw::{}", publish::escape_data(&format!("could not {what}: {e}")));
        }
    }
}

fn github(args: &GithubArgs, cli: &Cli) -> u8 {
    let color = common::stderr_color(cli);
    let env = |k: &str| std::env::var(k).ok();
    let mut gh = match GitHub::from_env(&env) {
        Ok(g) => g,
        Err(m) => {
            return usage_error(
                &m,
                Some("`bylaw ci github` runs inside GitHub Actions; use `bylaw check` elsewhere"),
                color,
            )
        }
    };
    if gh.event == "issue_comment" {
        // comment events only matter for /bylaw commands on pull requests
        let command = gh.comment.as_ref().is_some_and(requests::is_command);
        if gh.pr.is_none() || !command || gh.payload["action"] == "deleted" {
            println!("bylaw: nothing to do for this comment (not a /bylaw command on a pull request)");
            return 0;
        }
    }
    let config = match common::load_config(args.run.config.as_deref(), args.run.no_config, color) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let mut client = Client::new(&gh.api_url, args.github_token.clone());
    if let Some(ms) = env("BYLAW_GITHUB_BACKOFF_MS").and_then(|v| v.parse::<u64>().ok()) {
        client.backoff = std::time::Duration::from_millis(ms);
    }
    let degraded = std::cell::RefCell::new(Degraded { warned: false });
    let (owner, repo) = {
        let (o, r) = gh.owner_repo();
        (o.to_owned(), r.to_owned())
    };
    let now = match context::now(&env) {
        Ok(n) => n,
        Err(m) => return usage_error(&m, None, color),
    };
    let today = now.date_naive();
    let api = client.has_token();

    // the full PR (issue_comment payloads lack head and base)
    if let Some(number) = gh.pr.as_ref().filter(|p| p.head_sha.is_empty() && api).map(|p| p.number) {
        match client.get(&format!("/repos/{owner}/{repo}/pulls/{number}")) {
            Ok(r) => {
                if let Some(p) = pr_from(&r.json) {
                    gh.sha = p.head_sha.clone();
                    gh.pr = Some(p);
                }
            }
            Err(e) => degraded.borrow_mut().handle("read the pull request", &e),
        }
    }
    // changed files and lines, and the comments, of a PR
    let mut changed_files = Vec::new();
    let mut changed_lines: Option<ChangedLines> = None;
    let mut comments = Vec::new();
    if let Some(pr) = gh.pr.as_ref().filter(|_| api) {
        match client.get_all(&format!("/repos/{owner}/{repo}/pulls/{}/files", pr.number)) {
            Ok(files) => {
                let mut lines = ChangedLines::new();
                for f in &files {
                    let Some(name) = f["filename"].as_str() else { continue };
                    changed_files.push(name.to_owned());
                    lines.insert(name.to_owned(), publish::added_lines(f["patch"].as_str().unwrap_or("")));
                }
                changed_lines = Some(lines);
            }
            Err(e) => degraded.borrow_mut().handle("list the pull request's files", &e),
        }
        match client.get_all(&format!("/repos/{owner}/{repo}/issues/{}/comments", pr.number)) {
            Ok(cs) => comments = cs,
            Err(e) => degraded.borrow_mut().handle("read the pull request's comments", &e),
        }
    }

    let mut run_args = args.run.clone();
    let _base_dir; // keeps the base-revision policies alive during the run
    if args.policy_ref == PolicyRef::Base {
        match gh.pr.as_ref().map(|p| p.base_sha.as_str()).filter(|s| !s.is_empty()) {
            Some(base) => {
                let paths = common::policy_paths(&run_args.policies, &config);
                match policies_at(base, &paths) {
                    Ok((dir, moved)) => {
                        println!("bylaw: policies read from the pull request's base commit {}", &base[..base.len().min(12)]);
                        run_args.policies = moved;
                        _base_dir = dir;
                    }
                    Err(m) => {
                        return usage_error(
                            &format!("--policy-ref base: {m}"),
                            Some("check out with `fetch-depth: 0` so that the base commit is available"),
                            color,
                        )
                    }
                }
            }
            None if gh.pr.is_some() => println!(
                "::warning title=bylaw::{}",
                publish::escape_data("--policy-ref base: the pull request's base commit is unknown; policies are read from the checked-out commit")
            ),
            None => {}
        }
    }

    // exception requests: answer a command, then honour approved requests
    let reqs = std::cell::RefCell::new(Vec::new());
    let approvers = config.approvers.clone();
    let exceptions_from = |report: &Report| -> Vec<bylaw_engine::exceptions::Exception> {
        if gh.pr.is_none() || !api {
            return Vec::new();
        }
        let approvers_for = |policy: &str| Approvers {
            entries: report
                .policies
                .iter()
                .filter(|p| p.name == policy)
                .flat_map(|p| p.owners.iter().cloned())
                .chain(approvers.iter().cloned())
                .collect(),
        };
        let mut verifier = Verifier::new(&client, &gh, &approvers_for);
        if gh.event == "issue_comment" {
            match requests::handle_comment(&client, &gh, report, &comments, &mut verifier, today) {
                Ok(line) => println!("bylaw: {line}"),
                Err(e) => degraded.borrow_mut().handle("answer the /bylaw command", &e),
            }
        }
        let mut all = comments.clone();
        if let Some(c) = &gh.comment {
            if !all.iter().any(|x| x["id"].as_u64() == Some(c.id)) {
                all.push(gh.payload["comment"].clone());
            }
        }
        let resolved = requests::resolve(requests::requests(&all), &all, report, &mut verifier);
        let exceptions = requests::approved_exceptions(&resolved, today);
        *reqs.borrow_mut() = resolved;
        exceptions
    };
    let overrides = Overrides {
        ctx: Some(Box::new(|base| gh.ctx(base, &changed_files))),
        branch: gh.branch(),
        exceptions: Some(Box::new(exceptions_from)),
    };
    let report = match evaluate_with(&run_args, &config, cli, overrides) {
        Ok(r) => r,
        Err(code) => return code,
    };
    let reqs = reqs.into_inner();
    let mut degraded = degraded.into_inner();

    // logs: the text report, then annotations
    let text = bylaw_report::render(Format::Text, &report, &RenderOptions::default()).unwrap_or_default();
    print!("{text}");
    let line_filter = if args.run.changed_only { changed_lines.as_ref() } else { None };
    if args.annotations {
        print!("{}", publish::workflow_commands(&report, line_filter));
    }
    let in_force: Vec<&Request> = reqs.iter().filter(|r| r.in_force(today)).collect();
    let approved_yaml = requests::exception_list_yaml(&reqs, today);
    if !in_force.is_empty() {
        let ids: Vec<&str> = in_force.iter().map(|r| r.id.as_str()).collect();
        println!(
            "bylaw: approved exception requests honoured in this run ({}); to keep them beyond this pull request, add to your exception list:\n{approved_yaml}",
            ids.join(", ")
        );
    }

    // artifacts (always written, whatever the API does)
    let mut failed_writes = 0;
    let mut sarif_report = report.clone();
    if !args.sarif_include_excepted {
        sarif_report.findings.retain(|f| f.exception.is_none());
    }
    let write = |path: &Path, format: Format, r: &Report| -> bool {
        let opts = RenderOptions { automation_category: Some("bylaw".into()), ..RenderOptions::default() };
        let ok = bylaw_report::render(format, r, &opts)
            .map_err(|e| e.to_string())
            .and_then(|t| bylaw_report::write_atomic(path, t.as_bytes()).map_err(|e| e.to_string()));
        if let Err(e) = &ok {
            eprintln!("error: cannot write {}: {e}", path.display());
        }
        ok.is_ok()
    };
    if !write(&args.sarif, Format::Sarif, &sarif_report) {
        failed_writes += 1;
    }
    if let Some(j) = &args.junit {
        if !write(j, Format::Junit, &report) {
            failed_writes += 1;
        }
    }
    let mut extra = String::new();
    if let Some(lines) = line_filter {
        let off: Vec<_> = report
            .findings
            .iter()
            .filter(|f| f.exception.is_none() && !publish::on_changed_line(f, Some(lines)))
            .collect();
        if !off.is_empty() {
            extra.push_str(&format!(
                "<details><summary>{} findings on lines this pull request did not change (not annotated)</summary>\n\n",
                off.len()
            ));
            for f in off {
                extra.push_str(&format!(
                    "- [`{}:{}`]({}) `{}` {}\n",
                    f.location.path,
                    f.location.start_line,
                    publish::line_link(&gh, f),
                    f.rule_id,
                    f.message.replace('\n', " ")
                ));
            }
            extra.push_str("</details>\n");
        }
    }
    if !in_force.is_empty() {
        extra.push_str(&format!(
            "<details><summary>Approved exception requests honoured here: add them to your exception list</summary>\n\n```yaml\n{approved_yaml}```\n</details>\n"
        ));
    }
    let body = publish::comment_body(&gh, &report, &extra);
    if let Some(path) = env("GITHUB_STEP_SUMMARY") {
        append(&path, &body.replace(publish::COMMENT_MARKER, ""));
    }
    if let Some(path) = env("GITHUB_OUTPUT") {
        let junit = args.junit.as_ref().map(|p| p.display().to_string());
        append(&path, &publish::step_outputs(&report, Some(&args.sarif.display().to_string()), junit.as_deref()));
    }

    // the API: check run or status, PR comment
    if api {
        if args.check_run {
            if let Err(e) = publish::check_run(&client, &gh, &report, line_filter) {
                degraded.handle("create a check run", &e);
            }
        }
        if args.status {
            if let Err(e) = publish::commit_status(&client, &gh, &report) {
                degraded.handle("set a commit status", &e);
            }
        }
        if let Some(pr) = &gh.pr {
            let existing = publish::report_comment(&comments);
            let wanted = match args.comment {
                CommentMode::Always => true,
                // an earlier comment is kept up to date when the PR turns green
                CommentMode::OnFailure => report.verdict == bylaw_engine::report::Verdict::Fail || existing.is_some(),
                CommentMode::Never => false,
            };
            if wanted {
                if let Err(e) = publish::upsert_comment(&client, &gh, pr.number, existing, &body) {
                    degraded.handle("comment on the pull request", &e);
                }
            }
        }
    } else {
        println!(
            "::warning title=bylaw::no GitHub token: no check run, status, PR comment or exception requests (set `github-token` / GITHUB_TOKEN)"
        );
    }
    if failed_writes > 0 {
        return EXIT_ERROR;
    }
    report.exit_code() as u8
}

fn append(path: &str, text: &str) {
    let written =
        std::fs::OpenOptions::new().create(true).append(true).open(path).and_then(|mut f| writeln!(f, "{text}"));
    if let Err(e) = written {
        eprintln!("warning: cannot append to {path}: {e}");
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
            let content = git(&["show", &format!("{rev}:{f}")])?;
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
