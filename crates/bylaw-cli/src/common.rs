//! What `check` and `validate` share: finding and loading the config,
//! loading and compiling policies, printing diagnostics with snippets.

use crate::{Cli, ColorChoice};
use bylaw_engine::compile::{self, CompileOptions, PolicySet};
use bylaw_engine::config::{Config, CONFIG_NAMES};
use bylaw_engine::diagnostic::{Diagnostic, Level};
use bylaw_engine::loader::{self, Loaded};
use std::collections::HashMap;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Exit code for usage, config and policy errors.
pub const EXIT_ERROR: u8 = 2;

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
pub fn remember_stdout_error(e: &std::io::Error) {
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
/// Why a report must not be written at `path`, if it must not: the path
/// is standard output itself (a pipe or file that the stdout report also
/// goes to: the two documents would be mixed), or an existing YAML or JSON
/// file — through symlinks: what a write would replace — that is not a
/// report bylaw wrote earlier (an input the run would check, or another
/// tool's file).
pub fn output_conflict(path: &Path) -> Option<String> {
    let meta = std::fs::metadata(path).ok()?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::{FileTypeExt, MetadataExt};
        if let Ok(out) = std::fs::metadata("/dev/stdout") {
            let shared = meta.file_type().is_fifo() || meta.file_type().is_file();
            if shared && (meta.dev(), meta.ino()) == (out.dev(), out.ino()) {
                return Some("it is standard output, where the run prints its report".into());
            }
        }
    }
    let target = existing_data_file(path)?;
    (!is_bylaw_output(&target)).then(|| {
        let via =
            if path.is_symlink() { format!(" (the symlink leads to {})", target.display()) } else { String::new() };
        format!(
            "an existing YAML or JSON file{via} that is not an earlier bylaw report: an input, or another tool's file"
        )
    })
}

/// What `path` leads to (through symlinks) when that is an existing regular
/// file named as YAML or JSON (by the path or by its target): a file a
/// write or an append would change an input of.
fn existing_data_file(path: &Path) -> Option<PathBuf> {
    let target = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    let format = |p: &Path| bylaw_engine::input::Format::of_path(&p.to_string_lossy()).is_some();
    (target.is_file() && (format(path) || format(&target))).then_some(target)
}

/// `PATH: WHY` for each of `paths` that [`output_conflict`] refuses.
pub fn refused_outputs<'p>(paths: impl IntoIterator<Item = &'p Path>) -> Vec<String> {
    paths.into_iter().filter_map(|p| output_conflict(p).map(|why| format!("{}: {why}", p.display()))).collect()
}

/// Whether `path` (through symlinks) is an existing YAML or JSON file whose
/// first line is not an audit-log entry (a JSON object with `seq` and
/// `prev`, see `bylaw_report::audit`): appending to it would change an input.
pub fn is_input_not_audit_log(path: &Path) -> bool {
    use std::io::BufRead;
    let Some(target) = existing_data_file(path) else { return false };
    let Ok(file) = std::fs::File::open(&target) else { return false };
    let mut first = String::new();
    let _ = std::io::BufReader::new(std::io::Read::take(file, 1 << 20)).read_line(&mut first);
    if first.trim().is_empty() {
        return false;
    }
    let entry: Option<serde_json::Value> = serde_json::from_str(first.trim()).ok();
    !entry.is_some_and(|v| v.get("seq").is_some() && v.get("prev").is_some())
}

/// Whether the file at `path` is, in full, a report bylaw wrote: the JSON
/// report (`tool.name` bylaw, `verdict`, `findings`), SARIF (every run's
/// driver bylaw) or Code Quality (every item with `check_name` and
/// `fingerprint`), with no `apiVersion` or `kind` anywhere at its top: a
/// Kubernetes manifest dressed up as a report is not one. Read as a stream,
/// values skipped, so a big report costs little.
fn is_bylaw_output(path: &Path) -> bool {
    use serde::de::IgnoredAny;
    #[derive(serde::Deserialize)]
    struct Name {
        name: String,
    }
    #[derive(serde::Deserialize)]
    struct Tool {
        driver: Name,
    }
    #[derive(serde::Deserialize)]
    struct Run {
        tool: Tool,
    }
    #[derive(serde::Deserialize)]
    struct Object {
        tool: Option<Name>,
        verdict: Option<IgnoredAny>,
        findings: Option<IgnoredAny>,
        runs: Option<Vec<Run>>,
        kind: Option<IgnoredAny>,
        #[serde(rename = "apiVersion")]
        api_version: Option<IgnoredAny>,
    }
    #[derive(serde::Deserialize)]
    struct Issue {
        #[allow(dead_code)]
        check_name: IgnoredAny,
        #[allow(dead_code)]
        fingerprint: IgnoredAny,
        kind: Option<IgnoredAny>,
        #[serde(rename = "apiVersion")]
        api_version: Option<IgnoredAny>,
    }
    use std::io::BufRead;
    let Ok(file) = std::fs::File::open(path) else { return false };
    let mut reader = std::io::BufReader::new(file);
    // an object or an array, by the first character (no buffering of the whole)
    let first = loop {
        let Ok(buf) = reader.fill_buf() else { return false };
        match buf.iter().position(|b| !b.is_ascii_whitespace()) {
            Some(i) => break buf[i],
            None if buf.is_empty() => return false,
            None => {
                let n = buf.len();
                reader.consume(n);
            }
        }
    };
    match first {
        b'{' => match serde_json::from_reader::<_, Object>(reader) {
            Ok(o) if o.kind.is_some() || o.api_version.is_some() => false,
            Ok(Object { tool: Some(t), verdict: Some(_), findings: Some(_), .. }) => t.name == "bylaw",
            Ok(Object { runs: Some(runs), .. }) => {
                !runs.is_empty() && runs.iter().all(|r| r.tool.driver.name == "bylaw")
            }
            _ => false,
        },
        b'[' => serde_json::from_reader::<_, Vec<Issue>>(reader)
            .is_ok_and(|items| items.iter().all(|i| i.kind.is_none() && i.api_version.is_none())),
        _ => false,
    }
}

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

/// Finds and loads the config: `--config FILE`, else `.bylaw.yaml` in the
/// directory of the first checked path or an ancestor up to its git work
/// tree's top (so `bylaw check repo` from the parent uses the repository's
/// config), else in the working directory or an ancestor, else defaults.
/// Errors are printed; `Err` carries the exit code.
pub fn load_config(explicit: Option<&Path>, no_config: bool, checked: &[PathBuf], color: bool) -> Result<Config, u8> {
    let path = match explicit {
        Some(p) => Some(p.to_path_buf()),
        None if no_config => None,
        None => bylaw_engine::paths::find_config(CONFIG_NAMES, checked),
    };
    let Some(path) = path else {
        return Ok(Config { base_dir: PathBuf::from("."), ..Config::default() });
    };
    Config::load(&path).map_err(|(diags, text)| {
        let mut sources = HashMap::new();
        if let (Some(d), Some(t)) = (diags.first(), text) {
            sources.insert(d.file.clone(), Arc::from(t));
        }
        print_diagnostics(&diags, &sources, color);
        EXIT_ERROR
    })
}

/// Policy paths: the flags', else the config's (relative to it).
pub fn policy_paths(flags: &[PathBuf], config: &Config) -> Vec<PathBuf> {
    if !flags.is_empty() {
        return flags.to_vec();
    }
    // `pack:NAME` entries name built-in packs, not paths
    config.policies.iter().map(|p| if p.starts_with("pack:") { PathBuf::from(p) } else { config.resolve(p) }).collect()
}

/// Loads and compiles policies, printing every diagnostic. `Err` carries the exit code.
pub fn load_and_compile(paths: &[PathBuf], options: CompileOptions, color: bool) -> Result<(PolicySet, Loaded), u8> {
    let loaded = loader::load(paths);
    for (file, why) in &loaded.not_policies {
        eprintln!("note: {}: {}", safe(file), safe(why));
    }
    let (set, compile_diags) = compile::compile(&loaded.policies, &loaded.sources, options);
    let mut diags = loaded.diagnostics.clone();
    diags.extend(compile_diags);
    if !diags.is_empty() {
        print_diagnostics(&diags, &loaded.sources, color);
    }
    let errors = diags.iter().filter(|d| d.level == Level::Error).count();
    if errors > 0 {
        summary_error(
            &format!("{errors} error{} in policies; nothing was evaluated", if errors == 1 { "" } else { "s" }),
            Some("run `bylaw validate` while editing policies"),
            color,
        );
        return Err(EXIT_ERROR);
    }
    Ok((set, loaded))
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
