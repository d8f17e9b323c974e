//! One name per repository: the `owner/name` path that CI platforms give
//! (`GITHUB_REPOSITORY`, GitLab's `CI_PROJECT_PATH`), also for a remote
//! URL (`https://github.com/Acme/PodInfo.git`, `git@github.com:Acme/PodInfo.git`,
//! `ssh://git@host:22/group/sub/proj.git`, `https://user:token@host/a/b`).
//! Runs are recorded under [`normalize`]d names, and names read from a
//! store (older runs may hold URLs) are normalized again, so one
//! repository is one stream whichever way a run named it. Filters compare
//! names with [`same`]: normalized and case-insensitive (GitHub and GitLab
//! paths are).

/// The `owner/name` path of a repository name or remote URL: the URL's
/// path without scheme, user, password, host, port, query and a trailing
/// `.git` or `/`. `owner/name` and `group/sub/proj` are kept as they are
/// (their case too). `None` for a name that is empty once trimmed.
///
/// A URL with no path (`https://host/`) keeps its host; a local path
/// (`/srv/git/app.git`) loses only `.git`. Credentials are never in the
/// result: they are part of the URL's authority (or the user of
/// `user@host:path`), which is dropped.
pub fn normalize(name: &str) -> Option<String> {
    let s = name.trim();
    if s.is_empty() {
        return None;
    }
    let path = if let Some((_, rest)) = s.split_once("://") {
        // scheme://[user[:password]@]host[:port]/path[?query][#fragment]
        let rest = rest.split(['?', '#']).next().unwrap_or("");
        let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
        let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
        let host = host.split(':').next().unwrap_or(host);
        if path.trim_matches('/').is_empty() {
            host.to_owned()
        } else {
            path.to_owned()
        }
    } else if let Some((_, path)) = scp_like(s) {
        path.to_owned()
    } else {
        s.to_owned()
    };
    let path = path.trim_end_matches('/');
    let path = path.strip_suffix(".git").unwrap_or(path);
    // `ssh://host/~user/repo` and `host:/abs/path` keep no leading `/`
    // only for URL forms; a local path stays absolute, `file:///srv/x.git`
    // too (as `/srv/x.git`)
    let file_url = s.get(..7).is_some_and(|p| p.eq_ignore_ascii_case("file://"));
    let path = if file_url {
        s[7..].split(['?', '#']).next().unwrap_or("").trim_end_matches('/')
    } else if s.contains("://") || scp_like(s).is_some() {
        path.trim_start_matches('/')
    } else {
        path
    };
    let path = path.strip_suffix(".git").unwrap_or(path).trim_end_matches('/');
    let path = azure_devops(path);
    if path.is_empty() {
        Some(s.to_owned())
    } else {
        Some(path)
    }
}

/// Azure DevOps paths as their `organization/project/repository`: the
/// HTTPS form's `org/project/_git/repo` loses `_git`, the SSH form's
/// `v3/org/project/repo` its `v3` (Azure Repos docs, "Clone an existing
/// Git repo": `https://dev.azure.com/{org}/{project}/_git/{repo}`,
/// `git@ssh.dev.azure.com:v3/{org}/{project}/{repo}`).
fn azure_devops(path: &str) -> String {
    let parts: Vec<&str> = path.split('/').collect();
    match parts.as_slice() {
        [org, project, "_git", repo] => format!("{org}/{project}/{repo}"),
        ["v3", org, project, repo] => format!("{org}/{project}/{repo}"),
        _ => path.to_owned(),
    }
}

/// `[user@]host:path` (git's scp-like syntax): `(user@host, path)`. Not a
/// Windows drive (`C:\…`) nor a path with a `/` before the colon.
fn scp_like(s: &str) -> Option<(&str, &str)> {
    let (head, path) = s.split_once(':')?;
    let host = head.rsplit_once('@').map_or(head, |(_, h)| h);
    let drive = head.len() == 1 && (path.starts_with('\\') || path.starts_with('/'));
    if host.is_empty() || drive || head.contains('/') || head.contains('\\') || path.is_empty() {
        return None;
    }
    Some((head, path))
}

/// Whether two repository names (or URLs) name the same repository:
/// equal once [`normalize`]d, ignoring case.
pub fn same(a: &str, b: &str) -> bool {
    match (normalize(a), normalize(b)) {
        (Some(a), Some(b)) => a.eq_ignore_ascii_case(&b),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_remote_form_is_owner_and_name() {
        for (url, expected) in [
            ("Acme/PodInfo", "Acme/PodInfo"),
            ("acme/podinfo", "acme/podinfo"),
            ("https://github.com/Acme/PodInfo.git", "Acme/PodInfo"),
            ("https://github.com/Acme/PodInfo", "Acme/PodInfo"),
            ("https://github.com/Acme/PodInfo/", "Acme/PodInfo"),
            ("git@github.com:Acme/PodInfo.git", "Acme/PodInfo"),
            ("github.com:Acme/PodInfo", "Acme/PodInfo"),
            ("ssh://git@gitlab.example:22/group/sub/proj.git", "group/sub/proj"),
            ("ssh://git@gitlab.example/group/sub/proj", "group/sub/proj"),
            ("https://x-access-token:s3cr3t@github.com/acme/app.git", "acme/app"),
            ("https://oauth2:glpat-xyz@gitlab.example:8443/group/sub/proj.git?ref=1#top", "group/sub/proj"),
            ("git+ssh://git@host/a/b.git", "a/b"),
            ("group/sub/proj", "group/sub/proj"),
            ("https://git.acme.io/shop.git", "shop"),
            ("/srv/git/app.git", "/srv/git/app"),
            ("file:///srv/git/app.git", "/srv/git/app"),
            ("FILE:///srv/git/app/", "/srv/git/app"),
            ("https://dev.azure.com/org/proj/_git/repo", "org/proj/repo"),
            ("https://org@dev.azure.com/org/proj/_git/repo", "org/proj/repo"),
            ("git@ssh.dev.azure.com:v3/org/proj/repo", "org/proj/repo"),
            ("  acme/app  ", "acme/app"),
        ] {
            assert_eq!(normalize(url).as_deref(), Some(expected), "{url}");
        }
        assert_eq!(normalize("  "), None);
        assert_eq!(normalize("https://host.example/").as_deref(), Some("host.example"));
        assert_eq!(normalize("C:\\repos\\app").as_deref(), Some("C:\\repos\\app"));
    }

    #[test]
    fn credentials_never_survive() {
        for url in ["https://user:hunter2@h/a/b.git", "ssh://hunter2@h:22/a/b", "hunter2@h:a/b.git"] {
            let n = normalize(url).unwrap();
            assert!(!n.contains("hunter2"), "{url} -> {n}");
            assert_eq!(n, "a/b");
        }
    }

    #[test]
    fn names_compare_normalized_and_without_case() {
        assert!(same("acme/podinfo", "https://github.com/Acme/PodInfo.git"));
        assert!(same("git@github.com:Acme/PodInfo.git", "Acme/PodInfo"));
        assert!(!same("acme/podinfo", "acme/other"));
        assert!(!same("", ""));
    }
}
