//! Where a store is: a file path (SQLite) or a PostgreSQL URL, and how it
//! is shown — a URL's password never leaves this module except in the
//! connection string handed to the driver.

use crate::{Backend, HistoryError};
use std::path::{Path, PathBuf};

/// A parsed store location.
#[derive(Clone, PartialEq, Eq)]
pub enum Location {
    /// An SQLite database file.
    Sqlite(PathBuf),
    /// A PostgreSQL connection URL (`postgres://user:password@host:port/db?params`).
    Postgres(String),
}

impl std::fmt::Debug for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.display())
    }
}

impl Location {
    /// `postgres://…` and `postgresql://…` are PostgreSQL; `sqlite:PATH`
    /// and any other text are an SQLite file path.
    ///
    /// # Errors
    /// [`HistoryError::Location`] for an empty location, a PostgreSQL URL
    /// without a host, or another URL scheme (`mysql://`, `http://`).
    pub fn parse(s: &str) -> Result<Location, HistoryError> {
        let s = s.trim();
        if s.is_empty() {
            return Err(HistoryError::Location(
                "the history store is empty: give a file path or a postgres:// URL".into(),
            ));
        }
        let lower = s.to_ascii_lowercase();
        if lower.starts_with("postgres://") || lower.starts_with("postgresql://") {
            let rest = &s[s.find("://").map_or(0, |i| i + 3)..];
            let authority = rest.split(['/', '?']).next().unwrap_or("");
            let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
            // a Unix socket directory may come as `?host=/run/postgresql`
            if host.is_empty() && !rest.contains("host=") {
                let shown = Location::Postgres(s.to_owned()).display();
                return Err(HistoryError::Location(format!(
                    "the PostgreSQL URL {shown} names no host: expected postgres://USER@HOST:PORT/DATABASE"
                )));
            }
            return Ok(Location::Postgres(s.to_owned()));
        }
        if let Some(path) = s.strip_prefix("sqlite://").or_else(|| s.strip_prefix("sqlite:")) {
            return Ok(Location::Sqlite(PathBuf::from(path)));
        }
        if let Some((scheme, _)) = s.split_once("://") {
            if !scheme.is_empty() && scheme.chars().all(|c| c.is_ascii_alphanumeric() || "+.-".contains(c)) {
                return Err(HistoryError::Location(format!(
                    "the history store `{scheme}://…` is not supported: give a file path (SQLite) or a postgres:// URL"
                )));
            }
        }
        Ok(Location::Sqlite(PathBuf::from(s)))
    }

    /// Which database the location is.
    pub fn backend(&self) -> Backend {
        match self {
            Location::Sqlite(_) => Backend::Sqlite,
            Location::Postgres(_) => Backend::Postgres,
        }
    }

    /// The location as messages show it: the path, or the URL with its
    /// password replaced by `***`.
    pub fn display(&self) -> String {
        match self {
            Location::Sqlite(p) => p.display().to_string(),
            Location::Postgres(url) => redact(url),
        }
    }

    /// `text` with the URL's password (as written and percent-decoded)
    /// replaced by `***`: driver errors are shown through this.
    pub fn scrub(&self, text: &str) -> String {
        let Location::Postgres(url) = self else { return text.to_owned() };
        let mut out = text.replace(url.as_str(), &redact(url));
        let in_query = url.split_once('?').and_then(|(_, q)| {
            q.split('&').find_map(|kv| kv.split_once('=').filter(|(k, _)| k.eq_ignore_ascii_case("password")))
        });
        for pw in password(url).into_iter().chain(in_query.map(|(_, v)| v)).filter(|p| !p.is_empty()) {
            out = out.replace(pw, "***");
            let decoded = percent_decode(pw);
            if !decoded.is_empty() {
                out = out.replace(&decoded, "***");
            }
        }
        out
    }

    /// The connection string for sqlx's `Any` driver; an SQLite file is
    /// created when missing only when `create`.
    pub(crate) fn connect_url(&self, create: bool) -> String {
        match self {
            Location::Postgres(url) => url.clone(),
            Location::Sqlite(path) => {
                format!("sqlite:{}?mode={}", encode_path(path), if create { "rwc" } else { "rw" })
            }
        }
    }
}

/// The password of a URL's authority, as written.
fn password(url: &str) -> Option<&str> {
    let rest = &url[url.find("://")? + 3..];
    let authority = rest.split(['/', '?']).next()?;
    let (userinfo, _) = authority.rsplit_once('@')?;
    userinfo.split_once(':').map(|(_, pw)| pw)
}

/// `url` without its password (`postgres://user:***@host/db`) and with a
/// `password=` query parameter hidden too.
fn redact(url: &str) -> String {
    let mut out = match password(url) {
        Some(pw) => {
            let at = url.find("://").map_or(0, |i| i + 3);
            let (head, tail) = url.split_at(at);
            head.to_owned() + &tail.replacen(&format!(":{pw}@"), ":***@", 1)
        }
        None => url.to_owned(),
    };
    if let Some(q) = out.find('?') {
        let (base, query) = out.split_at(q + 1);
        let hidden: Vec<String> = query
            .split('&')
            .map(|kv| match kv.split_once('=') {
                Some((k, _)) if k.eq_ignore_ascii_case("password") => format!("{k}=***"),
                _ => kv.to_owned(),
            })
            .collect();
        out = format!("{base}{}", hidden.join("&"));
    }
    out
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let Some(b) = s.get(i + 1..i + 3).and_then(|h| u8::from_str_radix(h, 16).ok()) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A path for the `sqlite:` URL, whose path part sqlx percent-decodes:
/// `%`, `?` and `#` are encoded.
fn encode_path(path: &Path) -> String {
    let s = path.to_string_lossy();
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '%' => out.push_str("%25"),
            '?' => out.push_str("%3F"),
            '#' => out.push_str("%23"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_and_urls() {
        assert_eq!(Location::parse("history.db").unwrap(), Location::Sqlite("history.db".into()));
        assert_eq!(Location::parse("sqlite:/tmp/h.db").unwrap(), Location::Sqlite("/tmp/h.db".into()));
        assert_eq!(Location::parse("postgres://u@h/db").unwrap().backend(), Backend::Postgres);
        assert_eq!(Location::parse("postgresql://u@h:5/db").unwrap().backend(), Backend::Postgres);
        let e = Location::parse("mysql://u@h/db").unwrap_err().to_string();
        assert_eq!(e, "the history store `mysql://…` is not supported: give a file path (SQLite) or a postgres:// URL");
        let e = Location::parse("postgres://u:secret@/db").unwrap_err().to_string();
        assert!(!e.contains("secret"), "{e}");
        assert!(Location::parse("  ").is_err());
    }

    #[test]
    fn passwords_are_never_shown() {
        let l = Location::parse("postgres://bylaw:s%40cret@db.example:5432/history?sslmode=require").unwrap();
        assert_eq!(l.display(), "postgres://bylaw:***@db.example:5432/history?sslmode=require");
        assert_eq!(l.scrub("auth failed for s@cret and s%40cret"), "auth failed for *** and ***");
        let q = Location::parse("postgres://bylaw@h/db?password=hunter2&sslmode=disable").unwrap();
        assert_eq!(q.display(), "postgres://bylaw@h/db?password=***&sslmode=disable");
        assert_eq!(q.scrub("no: hunter2"), "no: ***");
        assert_eq!(Location::parse("postgres://bylaw@h/db").unwrap().display(), "postgres://bylaw@h/db");
    }

    #[test]
    fn sqlite_url_encodes_what_sqlx_decodes() {
        let l = Location::Sqlite("/tmp/a?b#c%d.db".into());
        assert_eq!(l.connect_url(true), "sqlite:/tmp/a%3Fb%23c%25d.db?mode=rwc");
        assert_eq!(l.connect_url(false), "sqlite:/tmp/a%3Fb%23c%25d.db?mode=rw");
    }
}
