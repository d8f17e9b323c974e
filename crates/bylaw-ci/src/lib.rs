//! The CI flow of bylaw, written once for every platform ([`flow::run`]),
//! over two traits: the CI host where the job runs ([`host::CiHost`]:
//! context, annotations, job summary, outputs, artifacts, how warnings are
//! logged) and the forge the change request lives on ([`forge::Forge`]:
//! change request, changed lines, conversation, summary comment, check run
//! or commit status, approvers, exception-request commands). Evaluation is
//! the front end's ([`flow::Evaluator`], implemented by the `bylaw`
//! binary): exception requests are resolved against the policies' catalog
//! before it and handed to it as exceptions.
//!
//! Also what the adapters share: a retrying REST client ([`http::Client`],
//! GitLab's), the one API error type ([`ApiError`]), the changed lines of a
//! diff ([`diff`]), the summary comment and outputs ([`summary`]), the
//! `/bylaw` comment commands ([`commands`]) and exception requests
//! approved by comment ([`requests`], start with
//! [`requests::handle_command`]), and the pipeline context from generic
//! environment variables ([`env`]).
//!
//! It knows no platform's endpoints, payloads or variables beyond the
//! generic ones: `bylaw-github` (GitHub Actions and GitHub), `bylaw-gitlab`
//! (GitLab CI and GitLab) and `bylaw-jenkins` (a host only) implement the
//! traits.
//!
//! # Adding a platform (Azure Pipelines, Bitbucket)
//!
//! One new crate, `bylaw-azure` or `bylaw-bitbucket`, depending on
//! `bylaw-ci` (and `bylaw-engine` for the context types), and a few lines
//! in the binary. What it takes:
//!
//! 1. **The host** ([`host::CiHost`]), read from the platform's variables
//!    with an [`env::Lookup`] so tests need not touch the process:
//!    - Azure Pipelines: `TF_BUILD` (is this Azure), `BUILD_REPOSITORY_NAME`,
//!      `BUILD_SOURCEVERSION` (sha), `BUILD_SOURCEBRANCH` (`refs/heads/…`),
//!      `BUILD_REASON` (`PullRequest`, `IndividualCI`, … → `event`),
//!      `BUILD_REQUESTEDFOR`, `SYSTEM_PULLREQUEST_PULLREQUESTID`,
//!      `SYSTEM_PULLREQUEST_TARGETBRANCH`, `SYSTEM_PULLREQUEST_SOURCEBRANCH`,
//!      `SYSTEM_COLLECTIONURI` + `SYSTEM_TEAMPROJECT` + `BUILD_BUILDID`
//!      (the run link).
//!    - Bitbucket Pipelines: `BITBUCKET_BUILD_NUMBER` (is this Bitbucket),
//!      `BITBUCKET_REPO_FULL_NAME`, `BITBUCKET_COMMIT`, `BITBUCKET_BRANCH`,
//!      `BITBUCKET_PR_ID`, `BITBUCKET_PR_DESTINATION_BRANCH`,
//!      `BITBUCKET_PIPELINE_UUID` (the run link), `BITBUCKET_GIT_HTTP_ORIGIN`.
//!
//!    Methods: `subject` (branch = the PR's target else the branch;
//!    `in_change`; `base` = `origin/<target>` as Jenkins does), `context`
//!    (platform name, repository, sha, ref, event, actor, `pr` over the
//!    generic base), `warn` (Azure: `##vso[task.logissue type=warning]…`
//!    on stdout, escaped like GitHub's workflow commands; Bitbucket: a
//!    plain stderr line), `artifacts` (SARIF and JUnit paths from the
//!    CLI: Azure publishes JUnit with `PublishTestResults`, Bitbucket
//!    picks up `test-results/**/*.xml`), and optionally `annotations`
//!    (Azure: `##vso[task.logissue type=error;sourcepath=…;linenumber=…]`),
//!    `job_summary` (Azure: a Markdown file attached with
//!    `##vso[task.uploadsummary]`), `outputs_file` / `step_outputs`
//!    (Azure: `##vso[task.setvariable variable=verdict;isOutput=true]`),
//!    `run_link`.
//! 2. **The forge** ([`forge::Forge`]), over the service's REST API with
//!    [`http::Client`] (its auth header and API version), or a typed client
//!    on the adapter's own runtime as `bylaw-github` does:
//!    - Azure Repos: `GET …/pullRequests/{id}` (`open`: head and base
//!      commits), `…/pullRequests/{id}/iterations/{n}/changes` plus the
//!      file diffs (`changes`), `…/pullRequests/{id}/threads` (`thread`:
//!      each thread's comments as [`requests::ThreadComment`]s, bots by
//!      identity), `POST …/threads` and `PATCH …/threads/{t}/comments/{c}`
//!      (the [`requests::Thread`] behind `answer_commands`, and
//!      `upsert_summary`), `POST …/statuses` (`publish_verdict`), the
//!      Graph / Security namespaces or the repository's `Contribute to pull
//!      requests` permission (`authorize`); token `SYSTEM_ACCESSTOKEN`.
//!    - Bitbucket Cloud: `GET /repositories/{ws}/{repo}/pullrequests/{id}`,
//!      `…/diff` (`changes`, a unified diff: [`diff::added_lines`]),
//!      `…/comments` (`thread`, paginated by `next`), `POST`/`PUT`
//!      `…/comments[/{id}]`, `POST /repositories/{ws}/{repo}/commit/{sha}/statuses/build`
//!      (`publish_verdict`), `GET /workspaces/{ws}/permissions` or
//!      `/repositories/{ws}/{repo}/permissions-config/users/{uuid}`
//!      (`authorize`: admin or write); a repository access token.
//!
//!    `answer_commands` handles, like GitLab's, every `/bylaw` comment not
//!    answered yet (neither platform runs a pipeline for a new comment)
//!    with [`requests::handle_command`]; `line_link` is the web page of a
//!    file line at the sha.
//! 3. **The CLI**: a subcommand in `crates/bylaw-cli/src/ci/` with the
//!    clap arguments (token, artifact paths, `--comment`, `--status`,
//!    `--policy-ref`, `--outputs`), which builds the host from the process
//!    environment, the forge when a token is given (else a warning text in
//!    [`flow::Options::unpublished`]), and calls [`flow::run`] with the
//!    binary's evaluator; one line in `ci/mod.rs`'s `CiPlatform` list. The
//!    mock-API tests follow `crates/bylaw-cli/tests/gitlab.rs`.

#![forbid(unsafe_code)]

pub mod commands;
pub mod config_change;
pub mod diff;
pub mod env;
mod error;
pub mod files;
pub mod flow;
pub mod forge;
pub mod host;
pub mod http;
pub mod impact;

pub mod policy_approval;
pub mod requests;
pub mod summary;

pub use error::ApiError;

/// Percent-encodes a path for a URL (see [`bylaw_report::percent_encode_path`]).
pub use bylaw_report::percent_encode_path;
