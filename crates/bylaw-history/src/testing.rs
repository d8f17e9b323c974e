//! A throwaway PostgreSQL server for tests (feature `testing`): `initdb`
//! into a temporary directory, `postgres` on a free port of 127.0.0.1 and a
//! Unix socket in that directory, a fresh database, everything removed
//! when the [`Postgres`] is dropped. The server binaries are Debian's
//! `postgresql` package, installed when missing by `scripts/tools.sh
//! postgresql` (which prints their directory).
//!
//! PostgreSQL refuses to run as root: as root (CI, this project's
//! machines) the data directory is given to `nobody` and the server runs
//! as that user through `setpriv`; otherwise as the current user.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running server; stopped (fast shutdown) and its files removed on drop.
pub struct Postgres {
    child: Child,
    dir: tempfile::TempDir,
    port: u16,
}

/// The `nobody` user and `nogroup` group of Debian.
const NOBODY: u32 = 65534;

fn run(cmd: &mut Command) -> Result<(), String> {
    let out = cmd.stdin(Stdio::null()).output().map_err(|e| format!("{cmd:?}: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!("{cmd:?}: {}\n{}", out.status, String::from_utf8_lossy(&out.stderr)))
    }
}

/// The directory holding `initdb` and `postgres` (`scripts/tools.sh postgresql`).
pub fn bin_dir() -> Result<PathBuf, String> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/tools.sh");
    let out = Command::new("bash")
        .arg(&script)
        .arg("postgresql")
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("{}: {e}", script.display()))?;
    if !out.status.success() {
        return Err(format!("{} postgresql failed ({})", script.display(), out.status));
    }
    Ok(PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()))
}

fn is_root() -> bool {
    Command::new("id").arg("-u").output().map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0").unwrap_or(false)
}

/// `cmd` run as `nobody` when we are root.
fn as_server_user(program: &Path, root: bool) -> Command {
    if root {
        let mut c = Command::new("setpriv");
        c.args(["--reuid", &NOBODY.to_string(), "--regid", &NOBODY.to_string(), "--clear-groups", "--"]);
        c.arg(program);
        c
    } else {
        Command::new(program)
    }
}

fn chown_tree(path: &Path) -> std::io::Result<()> {
    std::os::unix::fs::chown(path, Some(NOBODY), Some(NOBODY))?;
    if path.is_dir() {
        for entry in std::fs::read_dir(path)? {
            chown_tree(&entry?.path())?;
        }
    }
    Ok(())
}

fn free_port() -> Result<u16, String> {
    let l = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    l.local_addr().map(|a| a.port()).map_err(|e| e.to_string())
}

impl Postgres {
    /// Starts a server and creates database `bylaw` in it.
    ///
    /// # Errors
    /// Why not, with the server's log: the binaries cannot be installed,
    /// `initdb` fails, or the server does not accept connections in 60 s.
    pub fn start() -> Result<Postgres, String> {
        let bin = bin_dir()?;
        let dir = tempfile::Builder::new().prefix("bylaw-pg-").tempdir().map_err(|e| e.to_string())?;
        let root = is_root();
        let data = dir.path().join("data");
        if root {
            chown_tree(dir.path()).map_err(|e| format!("chown {}: {e}", dir.path().display()))?;
        }
        run(as_server_user(&bin.join("initdb"), root).arg("-D").arg(&data).args([
            "-U",
            "postgres",
            "--auth=trust",
            "--no-locale",
            "-E",
            "UTF8",
            "--no-sync",
        ]))?;
        let port = free_port()?;
        let log = std::fs::File::create(dir.path().join("server.log")).map_err(|e| e.to_string())?;
        let log2 = log.try_clone().map_err(|e| e.to_string())?;
        if root {
            chown_tree(&dir.path().join("server.log")).map_err(|e| e.to_string())?;
        }
        let child = as_server_user(&bin.join("postgres"), root)
            .arg("-D")
            .arg(&data)
            .arg("-k")
            .arg(dir.path())
            .args(["-p", &port.to_string(), "-h", "127.0.0.1"])
            .args(["-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"])
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log2)
            .spawn()
            .map_err(|e| format!("cannot start postgres: {e}"))?;
        let mut pg = Postgres { child, dir, port };
        let deadline = Instant::now() + Duration::from_secs(60);
        let admin = format!("postgres://postgres@127.0.0.1:{port}/postgres");
        loop {
            match create_database(&admin) {
                Ok(()) => return Ok(pg),
                Err(e) if Instant::now() > deadline => return Err(format!("{e}\n{}", pg.log())),
                Err(_) => {
                    if let Ok(Some(status)) = pg.child.try_wait() {
                        return Err(format!("postgres exited ({status}):\n{}", pg.log()));
                    }
                    std::thread::sleep(Duration::from_millis(100));
                }
            }
        }
    }

    /// The URL of database `bylaw` (user `postgres`, no password).
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/bylaw", self.port)
    }

    /// The port the server listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The server's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
    }
}

fn create_database(admin: &str) -> Result<(), String> {
    use sqlx::{Connection, Executor};
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| e.to_string())?;
    rt.block_on(async {
        let mut c = sqlx::PgConnection::connect(admin).await.map_err(|e| e.to_string())?;
        c.execute("CREATE DATABASE bylaw").await.map_err(|e| e.to_string())?;
        c.close().await.map_err(|e| e.to_string())
    })
}

impl Drop for Postgres {
    fn drop(&mut self) {
        // SIGINT: fast shutdown (its shared memory released), then make sure
        let _ = Command::new("kill").arg("-INT").arg(self.child.id().to_string()).status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Creates the store at `location` (an SQLite file or a PostgreSQL
/// database) as a bylaw of schema `version` wrote it, and runs `sql` in
/// it (rows of that schema): a store of an older bylaw.
///
/// # Errors
/// Why not: a bad location, a connection or a statement that fails.
pub fn older_store(location: &str, version: i64, sql: &str) -> Result<(), String> {
    raw(location, Some(version), sql)
}

/// Runs `sql` in the store at `location` without opening it as a
/// [`crate::Store`] (no migration, no version check): a store made
/// unreadable on purpose.
///
/// # Errors
/// Why not: a bad location, a connection or a statement that fails.
pub fn execute(location: &str, sql: &str) -> Result<(), String> {
    raw(location, None, sql)
}

fn raw(location: &str, migrate_to: Option<i64>, sql: &str) -> Result<(), String> {
    use sqlx::{Connection, Executor};
    sqlx::any::install_default_drivers();
    let location = crate::Location::parse(location).map_err(|e| e.to_string())?;
    let backend = location.backend();
    let url = location.connect_url(true);
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| e.to_string())?;
    rt.block_on(async {
        let mut c = sqlx::AnyConnection::connect(&url).await.map_err(|e| e.to_string())?;
        if let Some(version) = migrate_to {
            let migrator = crate::schema::migrator_up_to(backend, version).await.map_err(|e| e.to_string())?;
            migrator.run_direct(&mut c).await.map_err(|e| e.to_string())?;
        }
        c.execute(sql).await.map_err(|e| e.to_string())?;
        c.close().await.map_err(|e| e.to_string())
    })
}
