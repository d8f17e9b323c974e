//! What `check` and `validate` share: finding and loading the config,
//! loading and compiling policies, printing diagnostics with snippets.

use crate::{Cli, ColorChoice};
use bylaw_engine::config::Config;
use bylaw_engine::diagnostic::Diagnostic;
pub use bylaw_run::outputs::{is_input_not_audit_log, output_conflict, refused_outputs};
use std::collections::HashMap;
use std::io::IsTerminal;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Exit code for usage, config and policy errors.
pub const EXIT_ERROR: u8 = 2;

/// Exit status when standard output is a closed pipe: what a shell reports
/// for a process killed by SIGPIPE (128 + 13).
const EXIT_BROKEN_PIPE: i32 = 141;

/// The first error writing to standard output in this run (`> /dev/full`, a
/// closed pipe on a system without SIGPIPE): every subcommand prints through
/// [`out!`](crate::out) / [`outln!`](crate::outln), which never panic, and
/// `main` turns a recorded error into exit 2 with a message, so output
/// nobody received never looks like success.
static STDOUT_ERROR: std::sync::Mutex<Option<String>> = std::sync::Mutex::new(None);

/// Writes to `w` (standard output), remembering the first error instead of
/// panicking.
pub fn write_out(w: &mut dyn std::io::Write, args: std::fmt::Arguments<'_>) {
    if let Err(e) = w.write_fmt(args) {
        remember_stdout_error(&e);
    }
}

/// Records a failed write to standard output (made by a caller's own writer).
/// A closed pipe (`bylaw rules | head`) ends the process quietly with the
/// status a shell reports for SIGPIPE (141 = 128 + 13), as other
/// command-line tools end: Rust ignores SIGPIPE, so the write fails instead.
/// Report files are written before standard output, so they are complete.
pub fn remember_stdout_error(e: &std::io::Error) {
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        std::process::exit(EXIT_BROKEN_PIPE);
    }
    if let Ok(mut first) = STDOUT_ERROR.lock() {
        first.get_or_insert_with(|| e.to_string());
    }
}

/// Flushes standard output; the first write error of the run, if any.
pub fn stdout_error() -> Option<String> {
    if let Err(e) = std::io::Write::flush(&mut std::io::stdout()) {
        remember_stdout_error(&e);
    }
    STDOUT_ERROR.lock().ok().and_then(|e| e.clone())
}

/// `print!` that records a write error for `main` instead of panicking.
#[macro_export]
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::common::write_out(&mut ::std::io::stdout().lock(), format_args!($($arg)*))
    };
}

/// `println!` that records a write error for `main` instead of panicking.
#[macro_export]
macro_rules! outln {
    () => {
        $crate::out!("\n")
    };
    ($($arg:tt)*) => {
        $crate::common::write_out(&mut ::std::io::stdout().lock(), format_args!("{}\n", format_args!($($arg)*)))
    };
}

/// Whether to colour a stream.
pub fn use_color(cli: &Cli, is_tty: bool) -> bool {
    match cli.color {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => is_tty && std::env::var_os("NO_COLOR").is_none(),
    }
}

pub fn stderr_color(cli: &Cli) -> bool {
    use_color(cli, std::io::stderr().is_terminal())
}

/// Every problem this run reported (diagnostics and usage errors), so a run
/// that stops with exit 2 can still write its artifacts describing why.
static REPORTED: std::sync::Mutex<Vec<Diagnostic>> = std::sync::Mutex::new(Vec::new());

/// The problems reported so far in this run.
pub fn reported() -> Vec<Diagnostic> {
    REPORTED.lock().map(|r| r.clone()).unwrap_or_default()
}

fn record(diags: impl IntoIterator<Item = Diagnostic>) {
    if let Ok(mut r) = REPORTED.lock() {
        r.extend(diags);
    }
}

/// Prints diagnostics to stderr, rustc-style, errors and warnings in file order.
pub fn print_diagnostics(diags: &[Diagnostic], sources: &HashMap<String, Arc<str>>, color: bool) {
    record(diags.iter().cloned());
    let mut sorted: Vec<&Diagnostic> = diags.iter().collect();
    sorted.sort_by(|a, b| {
        (&a.file, a.span.map(|s| (s.start_line, s.start_col)))
            .cmp(&(&b.file, b.span.map(|s| (s.start_line, s.start_col))))
    });
    for d in sorted {
        eprintln!("{}", d.render_with(|file| sources.get(file).map(|s| &**s), color));
    }
}

/// "cannot write PATH: why" for an artifact that could not be written,
/// naming PATH once (the writer's error starts with the path it failed on,
/// which is another one only when PATH is a symlink).
pub fn cannot_write(path: &Path, e: &dyn std::fmt::Display) -> String {
    let path = path.display().to_string();
    let why = e.to_string();
    format!("cannot write {path}: {}", why.strip_prefix(&format!("{path}: ")).unwrap_or(&why))
}

/// Prints a one-line error with a hint, for usage problems.
pub fn usage_error(message: &str, hint: Option<&str>, color: bool) -> u8 {
    one_line_error(bylaw_engine::diagnostic::Code::Usage, message, hint, color)
}

/// [`usage_error`] for the line that counts the errors printed above it
/// ("2 errors in policies; nothing was evaluated"): recorded as a `summary`,
/// which the failure artifacts do not count as one more error.
pub fn summary_error(message: &str, hint: Option<&str>, color: bool) -> u8 {
    one_line_error(bylaw_report::SUMMARY_CODE, message, hint, color)
}

fn one_line_error(code: bylaw_engine::diagnostic::Code, message: &str, hint: Option<&str>, color: bool) -> u8 {
    let mut d = Diagnostic::error(code, "", None, message);
    d.hint = hint.map(str::to_owned);
    record([d]);
    let (red, bold, reset) = if color { ("\x1b[31m", "\x1b[1m", "\x1b[0m") } else { ("", "", "") };
    eprintln!("{bold}{red}error{reset}{bold}: {message}{reset}");
    if let Some(h) = hint {
        eprintln!("  = hint: {h}");
    }
    EXIT_ERROR
}

/// The directory the process was started in, read once: the working
/// directory of every library call (relative paths are taken from it and
/// shown relative to it). When it cannot be read (deleted, or a parent
/// not searchable), `$PWD` is used if it is absolute, with a warning: a
/// relative path (the default `.` among them) then names nothing that
/// exists and the command stops with exit 2, while absolute paths and
/// packs still work. Without `$PWD` the command stops with exit 2:
/// guessing another directory would check the wrong files.
pub fn working_dir() -> &'static Path {
    if let Some(d) = try_working_dir() {
        return d;
    }
    let e = std::env::current_dir().err().map_or_else(|| "unknown error".to_owned(), |e| e.to_string());
    let message = format!("cannot read the current directory ({e}): nothing was checked");
    // the reports named on the command line must not look current
    crate::check::write_usage_failure(&std::env::args_os().collect::<Vec<_>>(), &message);
    let hint = Some("was the directory deleted or moved? `cd` into the repository again");
    let code = one_line_error(bylaw_engine::diagnostic::Code::Io, &message, hint, false);
    std::process::exit(i32::from(code))
}

/// [`working_dir`], or `None` when neither the current directory nor an
/// absolute `$PWD` is known (for the failure path, which must not stop
/// again).
pub fn try_working_dir() -> Option<&'static Path> {
    static CWD: std::sync::OnceLock<Option<PathBuf>> = std::sync::OnceLock::new();
    CWD.get_or_init(|| match std::env::current_dir() {
        Ok(d) => Some(d),
        Err(e) => {
            let pwd = std::env::var_os("PWD").map(PathBuf::from).filter(|p| p.is_absolute())?;
            eprintln!(
                "warning: cannot read the current directory ({e}); relative paths are taken from $PWD ({}), which may be gone: `cd` into the repository again",
                pwd.display()
            );
            Some(pwd)
        }
    })
    .as_deref()
}

/// Finds and loads the config: `--config FILE`, else `.bylaw.yaml` in the
/// directory of the first checked path or an ancestor up to its git work
/// tree's top (so `bylaw check repo` from the parent uses the repository's
/// config), else in the working directory or an ancestor, else defaults.
/// Errors are printed; `Err` carries the exit code.
pub fn load_config(explicit: Option<&Path>, no_config: bool, checked: &[PathBuf], color: bool) -> Result<Config, u8> {
    let choice = match explicit {
        Some(p) => bylaw_run::ConfigChoice::File(p.to_path_buf()),
        None if no_config => bylaw_run::ConfigChoice::None,
        None => bylaw_run::ConfigChoice::Find,
    };
    bylaw_run::load_config(&choice, checked, working_dir()).map_err(|e| show_error(&e, color))
}

/// Policy paths: the flags', else the config's (relative to it).
pub fn policy_paths(flags: &[PathBuf], config: &Config) -> Vec<PathBuf> {
    bylaw_run::policy_paths(flags, config)
}

/// Prints what a run said, in order, on stderr: located diagnostics with
/// snippets, `note:` and `warning:` lines, and the list of files (`-v`).
/// Input-derived text is made [`safe`].
pub fn show(messages: &[bylaw_run::Message], color: bool) {
    for m in messages {
        match m {
            bylaw_run::Message::Diagnostics { diagnostics, sources } => print_diagnostics(diagnostics, sources, color),
            bylaw_run::Message::Note(t) => eprintln!("note: {}", safe(t)),
            bylaw_run::Message::Warning(t) => eprintln!("warning: {}", safe(t)),
            bylaw_run::Message::Files(lines) => {
                let mut err = std::io::stderr().lock();
                for l in lines {
                    let _ = writeln!(err, "  {}", safe(l));
                }
            }
        }
    }
}

/// Prints a stopped run: what it said, then why it stopped. Returns the
/// exit code (2).
pub fn show_failure(failure: &bylaw_run::Failure, color: bool) -> u8 {
    show(&failure.messages, color);
    show_error(&failure.error, color)
}

/// Prints why a run stopped: the located diagnostics behind it and the
/// line that counts them, or one line with a hint. Returns the exit code (2).
pub fn show_error(error: &bylaw_run::RunError, color: bool) -> u8 {
    match error.diagnostics() {
        // a config's problems are the diagnostics alone
        Some((diags, sources)) if matches!(error, bylaw_run::RunError::Config { .. }) => {
            print_diagnostics(diags, sources, color);
            EXIT_ERROR
        }
        Some((diags, sources)) => {
            print_diagnostics(diags, sources, color);
            summary_error(&error.to_string(), error.hint(), color)
        }
        None => usage_error(&safe(&error.to_string()), error.hint(), color),
    }
}

/// Input-derived text made safe for a terminal or a CI log: control
/// characters (newline, carriage return, ESC, …) are shown escaped, so no
/// file name or value can start a workflow command (`::`, `##[`) or a
/// terminal escape sequence.
pub fn safe(s: &str) -> String {
    bylaw_report::display_safe(s).into_owned()
}

/// Logs how long the phase that ends now took (`BYLAW_LOG=bylaw::timing=debug`
/// or `-vv`), and restarts the clock: where a run's time goes (DESIGN §10).
pub fn phase_done(name: &str, clock: &mut std::time::Instant) {
    tracing::debug!(target: "bylaw::timing", "{name}: {:.1} ms", clock.elapsed().as_secs_f64() * 1e3);
    *clock = std::time::Instant::now();
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A stdout that is full (`/dev/full`).
    struct Full;

    impl std::io::Write for Full {
        fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
            Err(std::io::Error::other("No space left on device"))
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_failed_write_to_stdout_is_remembered_not_a_panic() {
        write_out(&mut Full, format_args!("{}\n", "report"));
        write_out(&mut Full, format_args!("more"));
        let first = STDOUT_ERROR.lock().unwrap().clone();
        assert_eq!(first.as_deref(), Some("No space left on device"));
    }

    #[test]
    fn a_write_error_names_the_path_once() {
        let e = std::io::Error::other("out/x.sarif: not a regular file (a FIFO): refusing to replace it");
        assert_eq!(
            cannot_write(Path::new("out/x.sarif"), &e),
            "cannot write out/x.sarif: not a regular file (a FIFO): refusing to replace it"
        );
        // through a symlink, the target the writer failed on is named too
        let e = std::io::Error::other("/srv/real.sarif: Permission denied");
        assert_eq!(
            cannot_write(Path::new("link.sarif"), &e),
            "cannot write link.sarif: /srv/real.sarif: Permission denied"
        );
    }
}
