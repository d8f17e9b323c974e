//! Jenkins adapter of bylaw (`bylaw ci jenkins`): the context of a
//! multibranch build (`CHANGE_ID`, `CHANGE_TARGET`, `CHANGE_BRANCH`,
//! `CHANGE_AUTHOR`, `CHANGE_URL`, `GIT_COMMIT`, `BRANCH_NAME`, `BUILD_URL`,
//! `JENKINS_URL`, `GIT_URL`) and the SCM it came from. Jenkins itself shows
//! JUnit and SARIF (the shared library in `jenkins/` records them): Jenkins
//! is a CI host ([`host::JenkinsHost`]) and no forge. When the SCM is
//! GitHub or GitLab and a token is given, the CLI publishes through that
//! platform's forge ([`Jenkins::github`], [`Jenkins::gitlab`] give its
//! context), so comments, statuses and exception requests work as they do
//! there. Start with [`Jenkins::from_env`] and [`Jenkins::scm`].

#![forbid(unsafe_code)]

pub mod host;

use bylaw_ci::env::Lookup;
use bylaw_ci::host::Subject;
use bylaw_engine::context::{ChangeNumber, ChangeRequest, PipelineContext};
use bylaw_github::context::{GitHub, PullRequest};
use bylaw_gitlab::context::{GitLab, MergeRequest};
use serde_json::Value;

/// Which SCM a build's repository lives on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scm {
    GitHub,
    GitLab,
    None,
}

/// A multibranch build.
#[derive(Debug, Clone, Default)]
pub struct Jenkins {
    /// `CHANGE_ID`: the PR/MR number of a change build.
    pub change_id: Option<u64>,
    pub change_target: String,
    pub change_branch: String,
    pub change_author: String,
    pub change_title: String,
    /// `CHANGE_URL`: the PR/MR's web page.
    pub change_url: String,
    pub commit: String,
    pub branch_name: String,
    pub build_url: Option<String>,
    pub jenkins_url: String,
    /// `GIT_URL`: the repository's clone URL.
    pub git_url: String,
}

/// `https://host/a/b/-/merge_requests/7` or `https://host/o/r/pull/7`,
/// `git@host:o/r.git`, `https://host/o/r.git` → (`https://host`, `o/r`).
fn host_and_path(url: &str) -> Option<(String, String)> {
    let url = url.trim();
    let (scheme_host, rest) = if let Some(r) = url.strip_prefix("git@") {
        let (host, path) = r.split_once(':')?;
        (format!("https://{host}"), path.to_owned())
    } else {
        let (scheme, r) = url.split_once("://")?;
        let (host, path) = r.split_once('/')?;
        let host = host.rsplit('@').next().unwrap_or(host); // drop credentials
        (format!("{}://{host}", if scheme == "http" { "http" } else { "https" }), path.to_owned())
    };
    let mut path = rest.trim_end_matches('/').trim_end_matches(".git").to_owned();
    for cut in ["/-/merge_requests/", "/pull/"] {
        if let Some(i) = path.find(cut) {
            path.truncate(i);
        }
    }
    Some((scheme_host, path))
}

impl Jenkins {
    /// Reads the build's variables; an error names what is missing.
    pub fn from_env(env: Lookup<'_>) -> Result<Jenkins, String> {
        let var = |k: &str| env(k).filter(|v| !v.is_empty());
        let jenkins_url = var("JENKINS_URL").ok_or("JENKINS_URL is not set: is this a Jenkins build?")?;
        Ok(Jenkins {
            change_id: var("CHANGE_ID").and_then(|v| v.parse().ok()),
            change_target: var("CHANGE_TARGET").unwrap_or_default(),
            change_branch: var("CHANGE_BRANCH").unwrap_or_default(),
            change_author: var("CHANGE_AUTHOR").unwrap_or_default(),
            change_title: var("CHANGE_TITLE").unwrap_or_default(),
            change_url: var("CHANGE_URL").unwrap_or_default(),
            commit: var("GIT_COMMIT").unwrap_or_default(),
            branch_name: var("BRANCH_NAME").unwrap_or_default(),
            build_url: var("BUILD_URL"),
            jenkins_url,
            git_url: var("GIT_URL").unwrap_or_default(),
        })
    }

    /// The SCM, from the change URL or the clone URL: GitLab when it has
    /// GitLab's `/-/merge_requests/` or a host named gitlab; GitHub for
    /// `/pull/` URLs or a host named github.
    pub fn scm(&self) -> Scm {
        for url in [&self.change_url, &self.git_url] {
            if url.contains("/-/merge_requests/") || host_and_path(url).is_some_and(|(h, _)| h.contains("gitlab")) {
                return Scm::GitLab;
            }
            if url.contains("/pull/") || host_and_path(url).is_some_and(|(h, _)| h.contains("github")) {
                return Scm::GitHub;
            }
        }
        Scm::None
    }

    fn repo(&self) -> Option<(String, String)> {
        [&self.change_url, &self.git_url].into_iter().find_map(|u| host_and_path(u).filter(|(_, p)| !p.is_empty()))
    }

    /// The branch environments are chosen by: where a change is going, else the build's branch.
    pub fn branch(&self) -> Option<String> {
        [&self.change_target, &self.branch_name].into_iter().find(|b| !b.is_empty()).cloned()
    }

    /// What the build is about. Jenkins does not say where a change
    /// starts: the target branch's tip (`origin/<target>`) is the base.
    pub fn subject(&self) -> Subject {
        Subject {
            branch: self.branch(),
            in_change: self.change_id.is_some(),
            base: (!self.change_target.is_empty()).then(|| format!("origin/{}", self.change_target)),
        }
    }

    /// The pipeline context of the build, from
    /// `base` (generic variables, time) with the Jenkins facts on top.
    pub fn ctx(&self, base: PipelineContext) -> PipelineContext {
        let repository = self.repo().map(|(_, path)| path).or(base.repository.clone());
        let sha = if self.commit.is_empty() { base.sha.clone() } else { Some(self.commit.clone()) };
        let (event, pr) = match self.change_id {
            Some(n) => (
                "pull_request".to_owned(),
                Some(ChangeRequest {
                    number: ChangeNumber::Number(i64::try_from(n).unwrap_or(i64::MAX)),
                    title: Some(self.change_title.clone()),
                    body: Some(String::new()),
                    author: Some(self.change_author.clone()),
                    base_ref: Some(self.change_target.clone()),
                    head_ref: Some(self.change_branch.clone()),
                    labels: Vec::new(),
                    draft: false,
                }),
            ),
            None => ("push".to_owned(), None),
        };
        PipelineContext { platform: "jenkins".into(), repository, sha, event, pr, ..base }
    }

    /// The GitHub context of the build (API `api_url`, default derived from
    /// the host: api.github.com, or `/api/v3` of GitHub Enterprise Server).
    /// The PR's head and base come from the API (`GIT_COMMIT` of a change
    /// build may be a merge made by Jenkins).
    pub fn github(&self, api_url: Option<&str>) -> Result<GitHub, String> {
        let (server, repository) =
            self.repo().ok_or("cannot tell the GitHub repository: CHANGE_URL and GIT_URL are not set")?;
        let api_url = api_url.map(str::to_owned).unwrap_or_else(|| {
            if server == "https://github.com" {
                "https://api.github.com".into()
            } else {
                format!("{server}/api/v3")
            }
        });
        let pr = self.change_id.map(|number| PullRequest {
            number,
            title: self.change_title.clone(),
            author: self.change_author.clone(),
            base_ref: self.change_target.clone(),
            head_ref: self.change_branch.clone(),
            html_url: self.change_url.clone(),
            ..Default::default()
        });
        Ok(GitHub {
            api_url,
            server_url: server,
            repository,
            sha: self.commit.clone(),
            git_ref: if self.change_id.is_some() { String::new() } else { format!("refs/heads/{}", self.branch_name) },
            event: if pr.is_some() { "pull_request".into() } else { "push".into() },
            actor: self.change_author.clone(),
            run_url: self.build_url.clone(),
            pr,
            comment: None,
            payload: Value::Null,
        })
    }

    /// The GitLab context of the build (API `api_url`, default
    /// `https://HOST/api/v4`); the project is addressed by its path.
    pub fn gitlab(&self, api_url: Option<&str>) -> Result<GitLab, String> {
        let (server, path) = self.repo().ok_or("cannot tell the GitLab project: CHANGE_URL and GIT_URL are not set")?;
        let mr = self.change_id.map(|iid| MergeRequest {
            iid,
            title: self.change_title.clone(),
            source_branch: self.change_branch.clone(),
            target_branch: self.change_target.clone(),
            ..Default::default()
        });
        Ok(GitLab {
            api_url: api_url.map(str::to_owned).unwrap_or_else(|| format!("{server}/api/v4")),
            project_id: path.clone(),
            project_url: format!("{server}/{path}"),
            project_path: path,
            sha: self.commit.clone(),
            branch: if self.change_id.is_some() { String::new() } else { self.branch_name.clone() },
            pipeline_source: if mr.is_some() { "merge_request_event".into() } else { "push".into() },
            user: self.change_author.clone(),
            pipeline_id: None,
            job_url: self.build_url.clone(),
            mr,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn build(vars: &[(&'static str, &'static str)]) -> Jenkins {
        let v: HashMap<_, _> = vars.iter().cloned().collect();
        let env = |k: &str| v.get(k).map(|s| s.to_string());
        Jenkins::from_env(&env).unwrap()
    }

    #[test]
    fn the_scm_and_repository_come_from_change_or_clone_urls() {
        let gh = build(&[
            ("JENKINS_URL", "https://ci.example.com/"),
            ("CHANGE_ID", "7"),
            ("CHANGE_URL", "https://github.com/acme/shop/pull/7"),
            ("CHANGE_TARGET", "main"),
        ]);
        assert_eq!(gh.scm(), Scm::GitHub);
        let ctx = gh.github(None).unwrap();
        assert_eq!((ctx.api_url.as_str(), ctx.repository.as_str()), ("https://api.github.com", "acme/shop"));
        assert_eq!(ctx.pr.unwrap().number, 7);
        assert_eq!(gh.branch().as_deref(), Some("main"));

        let ghe = build(&[("JENKINS_URL", "x"), ("GIT_URL", "git@ghe.acme.io:acme/shop.git"), ("BRANCH_NAME", "main")]);
        assert_eq!(ghe.github(None).unwrap().api_url, "https://ghe.acme.io/api/v3");
        assert_eq!(ghe.scm(), Scm::None, "an unknown host needs --scm");

        let gl = build(&[
            ("JENKINS_URL", "x"),
            ("CHANGE_ID", "12"),
            ("CHANGE_URL", "https://code.acme.io/platform/shop/-/merge_requests/12"),
        ]);
        assert_eq!(gl.scm(), Scm::GitLab);
        let ctx = gl.gitlab(None).unwrap();
        assert_eq!(ctx.api_url, "https://code.acme.io/api/v4");
        assert_eq!(ctx.project(), "/projects/platform%2Fshop");
        assert_eq!(ctx.mr.unwrap().iid, 12);

        let plain = build(&[("JENKINS_URL", "x"), ("GIT_URL", "https://git.acme.io/shop.git")]);
        assert_eq!(plain.scm(), Scm::None);
        assert!(Jenkins::from_env(&|_: &str| None).unwrap_err().contains("JENKINS_URL"));
    }

    #[test]
    fn ctx_has_the_common_shape() {
        let j = build(&[
            ("JENKINS_URL", "x"),
            ("CHANGE_ID", "7"),
            ("CHANGE_URL", "https://github.com/acme/shop/pull/7"),
            ("CHANGE_TARGET", "main"),
            ("CHANGE_BRANCH", "feature/agent"),
            ("CHANGE_AUTHOR", "bob"),
            ("GIT_COMMIT", "abc"),
        ]);
        let ctx = j.ctx(PipelineContext { time: "t".into(), ..Default::default() }).to_json();
        assert_eq!(ctx["platform"], "jenkins");
        assert_eq!(ctx["repository"], "acme/shop");
        assert_eq!(ctx["pr"]["number"], 7);
        assert_eq!(ctx["pr"]["base_ref"], "main");
        assert_eq!(ctx["pr"]["author"], "bob");
    }
}
