//! bylaw's compliance history: every run of `bylaw check` and `bylaw ci`
//! (with `--record STORE` or the config's `history:`) recorded in a
//! database — the run (repository, ref, commit, environment, time, verdict,
//! the policies and their versions) and each finding (fingerprint, rule,
//! policy, severity, enforcement, file and line, resource, the exception
//! that covers it with its approvers and expiry) — so trends, reports and
//! effectiveness metrics can be computed over weeks of runs (issue 19).
//!
//! A store is SQLite (a file path, created when missing by the commands
//! that record — [`Store::open`]; [`Store::open_existing`] for those that
//! only read: one repository, a laptop, a CI cache) or PostgreSQL (a `postgres://` or `postgresql://`
//! URL: an organisation whose many repositories write at once). Both hold
//! the same schema, created and upgraded by versioned migrations applied
//! when the store is opened ([`schema`]); README.md "History store" has a
//! table per table. [`Store::record`] writes a run whole or not at all: one
//! transaction. [`import`] turns earlier bylaw JSON reports and bylaw SARIF
//! files back into a [`Report`] to record.
//!
//! What it does not do: compute metrics or render reports (later layers
//! read the store), decide anything about a run's verdict (a failed write
//! is an error for the caller to show as a warning), read the process
//! environment or run git (the caller fills [`RunMeta`]), or print.
//!
//! Start at [`Store`] ([`Store::open`], [`Store::record`], [`Store::runs`],
//! [`Store::findings`]) and [`RunMeta`].
//!
//! # Why sqlx
//! One library that speaks both databases, well kept (launchbadge/sqlx,
//! MIT/Apache-2.0), pure Rust for PostgreSQL (rustls with ring, as the
//! rest of bylaw), SQLite bundled (no system library), with a migration
//! runner that records applied versions and checksums and takes
//! PostgreSQL's advisory lock so concurrent writers migrate once. Its
//! `Any` driver runs the same queries (`$1` placeholders, which SQLite
//! accepts too) on either backend, so each query is written once. The
//! query macros are not used: they need a live database at build time.
//! Diesel would need its own migration harness and a C `libpq` for
//! PostgreSQL; rusqlite plus the `postgres` crate would mean every query
//! and the migration bookkeeping twice. The store is synchronous for its
//! callers: it owns a current-thread tokio runtime.

#![forbid(unsafe_code)]

pub mod import;
mod location;
mod query;
mod record;
pub mod repository;
pub mod schema;
#[cfg(any(test, feature = "testing"))]
pub mod testing;

pub use bylaw_engine::report::Report;
pub use location::Location;
pub use query::{ExceptionRow, FindingRow, PolicyRow, RuleRow, RunFilter, RunRow, Window};

use bylaw_engine::chrono::{DateTime, SecondsFormat, Utc};
use bylaw_engine::context::PipelineContext;
use sqlx::{AnyConnection, Connection};
use std::sync::Mutex;

/// Runs `$body` (a future using the connection `$c`) on the store's
/// connection, blocking; an error becomes `$map(message)`, scrubbed of
/// any password.
macro_rules! on_conn {
    ($self:ident, $map:expr, |$c:ident| $body:expr) => {{
        let map = $map;
        match $self.conn.lock() {
            Err(_) => Err(map("the connection was poisoned by a panic".to_string())),
            Ok(mut guard) => match guard.as_mut() {
                None => Err(map("the connection is closed".to_string())),
                Some($c) => $self.rt.block_on($body).map_err(|e| map($self.location.scrub(&e.to_string()))),
            },
        }
    }};
}

/// The id of a recorded run (`runs.id`), increasing in the order runs were recorded.
pub type RunId = i64;

/// Why the store could not be opened, written or read. The messages name
/// the store by [`Location::display`]: a PostgreSQL password is never in them.
#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    /// The location is neither a path nor a PostgreSQL URL, or is malformed.
    #[error("{0}")]
    Location(String),
    /// The database could not be reached or opened.
    #[error("cannot open the history store {store}: {message}")]
    Open { store: String, message: String },
    /// The migrations failed (a changed migration, SQL).
    #[error("cannot migrate the history store {store}: {message}")]
    Migrate { store: String, message: String },
    /// The store has applied a migration this bylaw does not know: it was
    /// written by a newer bylaw (or another build). It is neither read nor written.
    #[error("{}", unknown_schema(store, *version, *known))]
    UnknownSchema {
        store: String,
        /// The highest version applied to the store.
        version: i64,
        /// [`schema::VERSION`].
        known: i64,
    },
    /// A read-only command ([`Store::open_existing`]) found no store there:
    /// no SQLite file, or a database without bylaw's schema. Nothing was created.
    #[error("no history store at {store} (record runs with `check --record {store}` or `bylaw history import`)")]
    Missing { store: String },
    /// A write or read failed; a write left nothing behind (rolled back).
    #[error("history store {store}: {message}")]
    Database { store: String, message: String },
    /// A file to import is not a bylaw JSON report or SARIF log.
    #[error("{file}: {message}")]
    Import { file: String, message: String },
}

fn unknown_schema(store: &str, version: i64, known: i64) -> String {
    if version > known {
        format!(
            "the history store {store} was written by a newer bylaw (schema version {version}; \
             this bylaw knows up to {known}): upgrade bylaw"
        )
    } else {
        format!(
            "the history store {store} has a schema version this bylaw does not know (version {version}; \
             this bylaw knows up to {known}): it was written by another build of bylaw; use that one"
        )
    }
}

/// What part of the repository a run evaluated, `runs.scope` (JSON). A
/// run without one (`None` in [`RunMeta::scope`] and [`RunRow::scope`]:
/// imports, runs recorded before schema version 2) evaluated the whole
/// repository. Paths are relative to the project root with `/`
/// separators, as findings' paths are.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RunScope {
    /// The files and directories evaluated (`check PATHS…`, the config's
    /// `paths`); empty: the whole repository.
    pub paths: Vec<String>,
    /// With `--changed-only`: the changed files, the only ones evaluated
    /// under `paths`; `None`: every file under `paths`.
    pub changed: Option<Vec<String>>,
}

impl RunScope {
    /// Whether the file `path` (root-relative) was within the run's reach:
    /// under one of `paths` (equal to it, or below it as a directory) and
    /// one of `changed` when that is given.
    pub fn contains(&self, path: &str) -> bool {
        let clean = |p: &str| p.trim_start_matches("./").trim_end_matches('/').to_owned();
        let path = clean(path);
        let under = self.paths.is_empty()
            || self.paths.iter().map(|p| clean(p)).any(|p| {
                p.is_empty() || p == "." || path == p || path.strip_prefix(&p).is_some_and(|r| r.starts_with('/'))
            });
        under && self.changed.as_ref().is_none_or(|c| c.iter().any(|f| clean(f) == path))
    }

    /// The scope as stored: `None` for the whole repository.
    pub fn whole(&self) -> bool {
        self.paths.is_empty() && self.changed.is_none()
    }
}

/// Where a run comes from, `runs.source`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunSource {
    /// `bylaw check --record`.
    Check,
    /// `bylaw ci PLATFORM --record`.
    Ci,
    /// `bylaw history import` of a JSON report.
    ImportJson,
    /// `bylaw history import` of a SARIF log.
    ImportSarif,
}

impl RunSource {
    /// The value stored in `runs.source`.
    pub fn as_str(self) -> &'static str {
        match self {
            RunSource::Check => "check",
            RunSource::Ci => "ci",
            RunSource::ImportJson => "import-json",
            RunSource::ImportSarif => "import-sarif",
        }
    }
}

/// What a run's report does not say about it: where and when it ran.
/// Every text field is optional: a local run outside git has none.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunMeta {
    /// `owner/name`, a project path, or a remote URL: recorded as its
    /// `owner/name` path ([`repository::normalize`]; never credentials).
    pub repository: Option<String>,
    /// The branch or ref checked.
    pub git_ref: Option<String>,
    /// The commit checked.
    pub sha: Option<String>,
    /// The environment, when the report has none ([`Report::environment`] wins).
    pub environment: Option<String>,
    /// `github`, `gitlab`, `jenkins`, `local`, …
    pub platform: Option<String>,
    /// `push`, `pull_request`, … (`local` outside CI).
    pub event: Option<String>,
    /// Who started the pipeline.
    pub actor: Option<String>,
    /// When the run happened (stored as RFC 3339 UTC, whole seconds).
    pub time: DateTime<Utc>,
    pub source: RunSource,
    /// For imports: a digest of the file and this metadata; a second
    /// import of the same is refused by a unique index ([`Store::find_digest`]).
    pub content_digest: Option<String>,
    /// What the run evaluated; `None`: the whole repository.
    pub scope: Option<RunScope>,
}

impl RunMeta {
    /// Metadata with only a time and a source.
    pub fn new(time: DateTime<Utc>, source: RunSource) -> RunMeta {
        RunMeta {
            repository: None,
            git_ref: None,
            sha: None,
            environment: None,
            platform: None,
            event: None,
            actor: None,
            time,
            source,
            content_digest: None,
            scope: None,
        }
    }

    /// The pipeline context's facts (`bylaw_engine::context`, built by the
    /// CI adapters or from `BYLAW_*` variables), at `time`.
    pub fn from_context(ctx: &PipelineContext, time: DateTime<Utc>, source: RunSource) -> RunMeta {
        let some = |s: &Option<String>| s.clone().filter(|v| !v.is_empty());
        RunMeta {
            repository: some(&ctx.repository),
            git_ref: some(&ctx.git_ref),
            sha: some(&ctx.sha),
            environment: some(&ctx.environment),
            platform: Some(ctx.platform.clone()).filter(|v| !v.is_empty()),
            event: Some(ctx.event.clone()).filter(|v| !v.is_empty()),
            actor: some(&ctx.actor),
            time,
            source,
            content_digest: None,
            scope: None,
        }
    }
}

/// RFC 3339 UTC with whole seconds, the form every time in the store has.
pub fn format_time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Which database a store is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// An open history store, migrated to [`schema::VERSION`]. Its methods
/// block (the store owns a small tokio runtime); it is not meant to be
/// used from inside another async runtime.
pub struct Store {
    rt: tokio::runtime::Runtime,
    /// One connection: a run is written by one process at a time, and a
    /// pool would hide why a connection failed behind its own timeout.
    conn: Mutex<Option<AnyConnection>>,
    location: Location,
}

/// How long opening a connection may take (an unreachable host).
const CONNECT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("location", &self.location.display()).finish()
    }
}

impl Store {
    /// Opens the store at `location` — a file path (SQLite, created with
    /// its file and directories when missing) or a
    /// `postgres://`/`postgresql://` URL (the database must exist) — and
    /// applies the migrations it lacks: what a command that records runs
    /// uses (`check --record`, `history import`).
    ///
    /// # Errors
    /// [`HistoryError::Location`] for a malformed location,
    /// [`HistoryError::Open`] when the database cannot be reached, opened
    /// or authenticated to, [`HistoryError::UnknownSchema`] when the store
    /// was written by a newer bylaw, [`HistoryError::Migrate`] when the
    /// schema cannot be brought up to date otherwise.
    pub fn open(location: &str) -> Result<Store, HistoryError> {
        Self::open_at(Location::parse(location)?, true)
    }

    /// Opens a store that must exist already — an SQLite file, or a
    /// PostgreSQL database holding bylaw's schema — and applies the
    /// migrations it lacks (a store of an older bylaw is upgraded): what a
    /// command that only reads uses (`report`, `metrics`), so a mistyped
    /// store is an error instead of an empty report. Nothing is created
    /// when it is missing.
    ///
    /// # Errors
    /// [`HistoryError::Missing`] when there is no store at `location`;
    /// otherwise as [`Store::open`].
    pub fn open_existing(location: &str) -> Result<Store, HistoryError> {
        Self::open_at(Location::parse(location)?, false)
    }

    /// [`Store::open`] (`create`) or [`Store::open_existing`] of a parsed [`Location`].
    pub fn open_at(location: Location, create: bool) -> Result<Store, HistoryError> {
        sqlx::any::install_default_drivers();
        let missing = || HistoryError::Missing { store: location.display() };
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| {
            HistoryError::Open { store: location.display(), message: format!("cannot start the async runtime: {e}") }
        })?;
        let url = location.connect_url(create);
        let open_error = |message: String| HistoryError::Open { store: location.display(), message };
        if let Location::Sqlite(path) = &location {
            if create {
                // A SQLite file is created when missing, and so are the directories
                // it sits in (`history: .bylaw/history.db` in a fresh checkout).
                if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                    std::fs::create_dir_all(dir)
                        .map_err(|e| open_error(format!("cannot create the directory {}: {e}", dir.display())))?;
                }
            } else if !path.exists() {
                return Err(missing());
            }
        }
        let conn = rt
            .block_on(async { tokio::time::timeout(CONNECT_TIMEOUT, AnyConnection::connect(&url)).await })
            .map_err(|_| open_error(format!("no connection within {} s", CONNECT_TIMEOUT.as_secs())))?
            .map_err(|e| open_error(location.scrub(&e.to_string())))?;
        let store = Store { rt, conn: Mutex::new(Some(conn)), location };
        let applied = store.applied_versions()?;
        if applied.is_none() && !create {
            return Err(HistoryError::Missing { store: store.display() });
        }
        let known: Vec<i64> = schema::versions().collect();
        if let Some(&version) = applied.iter().flatten().filter(|v| !known.contains(v)).max() {
            return Err(HistoryError::UnknownSchema { store: store.display(), version, known: schema::VERSION });
        }
        store.migrate()?;
        Ok(store)
    }

    /// Which database this is.
    pub fn backend(&self) -> Backend {
        self.location.backend()
    }

    /// The store's location as messages show it (no password).
    pub fn display(&self) -> String {
        self.location.display()
    }

    fn migrate(&self) -> Result<(), HistoryError> {
        let backend = self.backend();
        let store = self.display();
        on_conn!(self, |message| HistoryError::Migrate { store, message }, |c| async move {
            let migrator = schema::migrator(backend).await?;
            migrator.run_direct(c).await
        })
    }

    /// Every version recorded in `_sqlx_migrations` (applied or failed);
    /// `None` when the table does not exist (a new, empty database).
    fn applied_versions(&self) -> Result<Option<Vec<i64>>, HistoryError> {
        let backend = self.backend();
        let exists_sql = match backend {
            Backend::Sqlite => "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'",
            Backend::Postgres => {
                "SELECT COUNT(*) FROM information_schema.tables \
                 WHERE table_name = '_sqlx_migrations' AND table_schema = current_schema()"
            }
        };
        let store = self.display();
        let open_error = move |message: String| HistoryError::Open { store, message };
        on_conn!(self, open_error, |c| async move {
            let n: i64 = sqlx::query_scalar(exists_sql).fetch_one(&mut *c).await?;
            if n == 0 {
                return Ok(None);
            }
            sqlx::query_scalar::<_, i64>("SELECT version FROM _sqlx_migrations ORDER BY version")
                .fetch_all(&mut *c)
                .await
                .map(Some)
        })
    }

    fn db_error(&self) -> impl FnOnce(String) -> HistoryError {
        let store = self.display();
        move |message| HistoryError::Database { store, message }
    }

    /// The versions of the migrations applied to this store, in order.
    ///
    /// # Errors
    /// [`HistoryError::Database`] when the bookkeeping table cannot be read.
    pub fn applied_migrations(&self) -> Result<Vec<i64>, HistoryError> {
        on_conn!(self, self.db_error(), |c| {
            sqlx::query_scalar::<_, i64>("SELECT version FROM _sqlx_migrations WHERE success = TRUE ORDER BY version")
                .fetch_all(c)
        })
    }

    /// Records `report` with `meta` in one transaction: the run, its
    /// policies, rules, findings and exception statuses, all or nothing.
    /// The environment is the report's, else `meta`'s.
    ///
    /// # Errors
    /// [`HistoryError::Database`] when any statement or the commit fails;
    /// nothing of the run is then in the store.
    pub fn record(&self, report: &Report, meta: &RunMeta) -> Result<RunId, HistoryError> {
        on_conn!(self, self.db_error(), |c| record::record(c, record::max_params(self.backend()), report, meta))
    }

    /// The run an import with this digest was recorded as, if any.
    ///
    /// # Errors
    /// [`HistoryError::Database`] when the query fails.
    pub fn find_digest(&self, digest: &str) -> Result<Option<RunId>, HistoryError> {
        on_conn!(self, self.db_error(), |c| query::find_digest(c, digest))
    }

    /// Every run, oldest first (by time, then id).
    ///
    /// # Errors
    /// [`HistoryError::Database`] when the query fails.
    pub fn runs(&self) -> Result<Vec<RunRow>, HistoryError> {
        on_conn!(self, self.db_error(), |c| query::runs(c))
    }

    /// The findings of run `run`, in the report's order.
    ///
    /// # Errors
    /// [`HistoryError::Database`] when the query fails.
    pub fn findings(&self, run: RunId) -> Result<Vec<FindingRow>, HistoryError> {
        on_conn!(self, self.db_error(), |c| query::findings(c, run))
    }

    /// Every run `filter` selects with its findings, rules, exception
    /// statuses and policies: one query per table, whatever the number of
    /// runs (what `bylaw-compliance` computes its metrics from).
    ///
    /// # Errors
    /// [`HistoryError::Database`] when a query fails.
    pub fn window(&self, filter: &RunFilter) -> Result<Window, HistoryError> {
        on_conn!(self, self.db_error(), |c| query::window(c, filter))
    }

    /// The policies (with versions) of run `run`, by name.
    ///
    /// # Errors
    /// [`HistoryError::Database`] when the query fails.
    pub fn policies(&self, run: RunId) -> Result<Vec<PolicyRow>, HistoryError> {
        on_conn!(self, self.db_error(), |c| query::policies(c, run))
    }

    /// Row counts of every table of the schema, by table name: what a
    /// test compares between backends and after a failed write.
    ///
    /// # Errors
    /// [`HistoryError::Database`] when a count fails.
    pub fn counts(&self) -> Result<Vec<(&'static str, i64)>, HistoryError> {
        on_conn!(self, self.db_error(), |c| query::counts(c))
    }

    /// Runs SQL statements as they are (tests: a trigger that fails a
    /// write half way).
    ///
    /// # Errors
    /// [`HistoryError::Database`] when a statement fails.
    #[cfg(any(test, feature = "testing"))]
    pub fn execute_unchecked(&self, sql: &str) -> Result<(), HistoryError> {
        use sqlx::Executor;
        on_conn!(self, self.db_error(), |c| async move { c.execute(sql).await.map(|_| ()) })
    }
}

impl Drop for Store {
    fn drop(&mut self) {
        // close the connection (SQLite's file handle, PostgreSQL's
        // session) before the runtime goes away
        if let Some(conn) = self.conn.get_mut().ok().and_then(Option::take) {
            let _ = self.rt.block_on(conn.close());
        }
    }
}

#[cfg(test)]
mod tests;
