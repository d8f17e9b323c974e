//! What bylaw's fuzz targets share: the CLI's thread setup, a fixed date,
//! compiled policy sets built once per process, and a private temporary
//! directory for the targets whose API reads files.
//!
//! The targets call the engine as the CLI does, so a fault found here is one
//! the CLI has. In particular they run on a thread with the CLI's stack
//! (256 MiB, see `STACK_SIZE` in `crates/bylaw-cli/src/main.rs`) and the
//! rayon pool is built with the same stack: the engine's depth limits
//! (YAML 256, CEL and JSONPath 64) are sized for that stack, and a stack
//! overflow on libFuzzer's default 8 MiB thread would not be one of bylaw's.

use bylaw_engine::chrono::NaiveDate;
use bylaw_engine::compile::{compile, CompileOptions, PolicySet};
use bylaw_engine::eval::{FileRef, RunOptions, DEFAULT_MAX_FILE_SIZE};
use bylaw_engine::loader::{self, Loaded};
use bylaw_engine::report::{Enforcement, FailOn};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::{Arc, Mutex, OnceLock};

/// The CLI's stack for its main and rayon threads.
pub const STACK_SIZE: usize = 256 * 1024 * 1024;

type Job = Box<dyn FnOnce() + Send + 'static>;

struct Worker {
    jobs: SyncSender<Job>,
    done: Receiver<()>,
}

/// Runs `f` on a thread with the CLI's stack, as `bylaw` runs everything
/// (one long-lived thread, so each input costs a channel round trip, not a
/// thread). A panic there aborts the process, as libFuzzer's panic hook
/// does on its own thread, so libFuzzer records the crash.
pub fn on_cli_stack(f: impl FnOnce() + Send + 'static) {
    static WORKER: OnceLock<Mutex<Worker>> = OnceLock::new();
    let worker = WORKER.get_or_init(|| {
        let _ = rayon::ThreadPoolBuilder::new().num_threads(1).stack_size(STACK_SIZE).build_global();
        let (jobs, inbox) = sync_channel::<Job>(0);
        let (finished, done) = sync_channel::<()>(0);
        std::thread::Builder::new()
            .name("bylaw".into())
            .stack_size(STACK_SIZE)
            .spawn(move || {
                for job in inbox {
                    job();
                    if finished.send(()).is_err() {
                        break;
                    }
                }
            })
            .expect("spawn the fuzz worker thread");
        Mutex::new(Worker { jobs, done })
    });
    let w = worker.lock().unwrap_or_else(|e| e.into_inner());
    w.jobs.send(Box::new(f)).expect("the fuzz worker is alive");
    if w.done.recv().is_err() {
        // the job panicked: the panic hook aborts before this point in
        // fuzz builds; elsewhere make it loud
        std::process::abort();
    }
}

/// The date every target runs on (policies, exceptions and tests compare
/// dates with it; a fixed one keeps runs reproducible).
pub fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 6, 1).expect("a valid date")
}

/// Compile options of the targets: no environment, [`today`].
pub fn compile_options(include_drafts: bool) -> CompileOptions {
    CompileOptions { environment: None, today: today(), include_drafts }
}

/// Run options as `bylaw check` has them by default.
pub fn run_options() -> RunOptions {
    RunOptions {
        ctx: serde_json::json!({
            "platform": "local",
            "environment": null,
            "branch": "main",
            "changed_files": [],
        }),
        fail_on: FailOn::Blocking,
        parse_errors: Enforcement::Blocking,
        max_file_size: DEFAULT_MAX_FILE_SIZE,
    }
}

/// An in-memory input file at display path `path`.
pub fn file(path: &str, content: &str) -> FileRef {
    FileRef { path: path.into(), fs_path: path.into(), content: Some(content.into()) }
}

/// Loads policy texts (name, text) as the loader loads files, panicking on
/// a diagnostic: these are the repository's own, known-good policies.
pub fn load_known(texts: &[(&str, &str)]) -> Loaded {
    let mut loaded = Loaded::default();
    for (name, text) in texts {
        loader::load_text(name, text, true, &mut loaded);
        loaded.sources.insert((*name).into(), Arc::from(*text));
    }
    assert!(loaded.diagnostics.is_empty(), "{:#?}", loaded.diagnostics);
    loaded
}

/// The policy of the exception tests (rules X-001..X-003 on Deployments,
/// with exception requirements and `inline: require_reason`).
pub const EXCEPTION_POLICY: (&str, &str) =
    ("policies/exceptions.yaml", include_str!("../../tests/fixtures/exceptions/policy.yaml"));

/// The example policy with unit tests (`examples/policies`).
pub const EXAMPLE_POLICY: (&str, &str) =
    ("policies/k8s-workload-security.yaml", include_str!("../../examples/policies/k8s-workload-security.yaml"));

/// Manifests the exception policy finds problems in (with inline
/// suppressions among them).
pub const EXCEPTION_INPUTS: &[(&str, &str)] = &[
    ("deploy/app.yaml", include_str!("../../tests/fixtures/exceptions/deploy/app.yaml")),
    ("deploy/legacy.yaml", include_str!("../../tests/fixtures/exceptions/deploy/legacy.yaml")),
    ("deploy/other.yaml", include_str!("../../tests/fixtures/exceptions/deploy/other.yaml")),
];

/// Built once: the exception policy, the example policy and the built-in
/// Kubernetes and GitHub Actions packs, compiled on [`today`].
pub fn input_policies() -> &'static PolicySet {
    static SET: OnceLock<PolicySet> = OnceLock::new();
    SET.get_or_init(|| {
        let mut loaded = load_known(&[EXCEPTION_POLICY, EXAMPLE_POLICY]);
        let packs = loader::load(
            &[
                PathBuf::from("pack:kubernetes-baseline"),
                PathBuf::from("pack:github-actions-hardening"),
                PathBuf::from("pack:cloudformation-aws"),
            ],
            std::path::Path::new("/"),
        );
        assert!(packs.diagnostics.is_empty(), "{:#?}", packs.diagnostics);
        loaded.policies.extend(packs.policies);
        loaded.sources.extend(packs.sources);
        let (set, diags) = compile(&loaded.policies, &loaded.sources, compile_options(false));
        assert!(diags.is_empty(), "{diags:#?}");
        set
    })
}

/// A directory of this process for the targets whose API reads or writes
/// files; nothing is written anywhere else. It is made in
/// `$BYLAW_FUZZ_SCRATCH` (which `scripts/fuzz.sh` creates and removes around
/// each run: libFuzzer ends the process without running destructors), else
/// in memory (`/dev/shm`) where there is one, as the audit log syncs every
/// append and on a disk that costs more than the code under test.
pub fn scratch_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let base = std::env::var_os("BYLAW_FUZZ_SCRATCH")
            .map(PathBuf::from)
            .filter(|d| d.is_dir())
            .or_else(|| Some(PathBuf::from("/dev/shm")).filter(|d| d.is_dir()))
            .unwrap_or_else(std::env::temp_dir);
        tempfile::Builder::new().prefix("bylaw-fuzz-").tempdir_in(base).expect("a temporary directory").keep()
    })
}

/// `data` as the text the CLI would read: the CLI refuses files that are
/// not UTF-8 (`paths::read_text`), so those inputs are skipped.
pub fn text(data: &[u8]) -> Option<String> {
    std::str::from_utf8(data).ok().map(str::to_owned)
}

/// Number of lines of `src` as YAML 1.1 readers (and so bylaw) count them:
/// `\n`, `\r\n`, a lone `\r`, NEL, LINE SEPARATOR and PARAGRAPH SEPARATOR
/// end a line.
pub fn line_count(src: &str) -> u32 {
    let mut n = 1u32;
    let mut chars = src.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\r' => {
                if chars.peek() == Some(&'\n') {
                    chars.next();
                }
                n += 1;
            }
            '\n' | '\u{85}' | '\u{2028}' | '\u{2029}' => n += 1,
            _ => {}
        }
    }
    n
}

/// Panics unless `span` is a real place in a text of `lines` lines: 1-based,
/// not ending before it starts, not past the last line.
pub fn check_span(what: &str, span: bylaw_engine::node::Span, lines: u32) {
    let s = span;
    assert!(s.start_line >= 1 && s.start_col >= 1, "{what}: {s:?} is not 1-based");
    assert!((s.start_line, s.start_col) <= (s.end_line, s.end_col), "{what}: {s:?} ends before it starts");
    assert!(s.end_line <= lines, "{what}: {s:?} is past the last line ({lines})");
}

/// [`check_span`] for every node, key and comment of a parsed file, and
/// for every syntax error position.
pub fn check_parsed(parsed: &bylaw_engine::input::ParsedFile, src: &str) {
    use bylaw_engine::node::{Node, NodeValue};
    fn walk(n: &Node, lines: u32) {
        check_span("node", n.span, lines);
        match &n.value {
            NodeValue::Seq(items) => items.iter().for_each(|i| walk(i, lines)),
            NodeValue::Map(entries) => entries.iter().for_each(|e| {
                check_span("key", e.key_span, lines);
                walk(&e.value, lines)
            }),
            _ => {}
        }
    }
    let lines = line_count(src);
    for d in &parsed.documents {
        walk(d, lines);
    }
    for e in &parsed.errors {
        assert!(e.line >= 1 && e.col >= 1 && e.line <= lines, "syntax error at {}:{} of {lines} lines", e.line, e.col);
    }
    for c in &parsed.comments {
        assert!(c.line >= 1 && c.col >= 1 && c.line <= lines, "comment at {}:{} of {lines} lines", c.line, c.col);
    }
}

/// Every emitter the CLI has, on `report` (to their own buffers). Only the
/// rules with a finding are kept in the report: the documentation of every
/// other rule is the same for every input, and serialising it would be most
/// of the work of each run.
pub fn render_all(report: &bylaw_engine::report::Report) {
    use bylaw_report::{render_to, Format, RenderOptions};
    let mut report = report.clone();
    let fired: std::collections::HashSet<&str> = report.findings.iter().map(|f| f.rule_id.as_str()).collect();
    report.rules.retain(|r| fired.contains(r.id.as_str()));
    for format in [Format::Text, Format::Json, Format::Sarif, Format::Junit, Format::Markdown, Format::Codequality] {
        let mut out = Vec::new();
        render_to(format, &report, &RenderOptions::default(), &mut out).expect("rendering into memory succeeds");
    }
}

/// Renders every diagnostic as the CLI prints it (rustc-style, with the
/// snippet from its file's source when there is one).
pub fn render_diagnostics(
    diagnostics: &[bylaw_engine::diagnostic::Diagnostic],
    source: &dyn Fn(&str) -> Option<String>,
) {
    for d in diagnostics {
        let src = source(&d.file);
        let _ = d.render(src.as_deref(), false);
        let _ = d.render(src.as_deref(), true);
    }
}

/// The world of the exception tests, built once: the loaded exception
/// policy, its compiled set, and the report of running it on
/// [`EXCEPTION_INPUTS`] (findings on three files, before exceptions) with
/// the inline suppressions found in them.
pub struct ExceptionWorld {
    pub loaded: Loaded,
    pub set: PolicySet,
    pub report: bylaw_engine::report::Report,
    pub inline: std::collections::BTreeMap<String, Vec<bylaw_engine::exceptions::Inline>>,
}

/// See [`ExceptionWorld`].
pub fn exception_world() -> &'static ExceptionWorld {
    static WORLD: OnceLock<ExceptionWorld> = OnceLock::new();
    WORLD.get_or_init(|| {
        let loaded = load_known(&[EXCEPTION_POLICY]);
        let (set, diags) = compile(&loaded.policies, &loaded.sources, compile_options(false));
        assert!(diags.is_empty(), "{diags:#?}");
        let files: Vec<FileRef> = EXCEPTION_INPUTS.iter().map(|(p, t)| file(p, t)).collect();
        let (report, details) = set.run_detailed(&files, &run_options());
        assert!(!report.findings.is_empty());
        ExceptionWorld { loaded, set, report, inline: details.inline }
    })
}

/// Exception requirements of every policy of `set`, as `bylaw check` builds them.
pub fn policy_rules(set: &PolicySet) -> bylaw_engine::exceptions::PolicyRules {
    set.policies.iter().map(|p| (p.name.clone(), p.exception_rules.clone())).collect()
}

/// Exception settings of `bylaw check` by default, on [`today`].
pub fn exception_settings() -> bylaw_engine::exceptions::Settings {
    bylaw_engine::exceptions::Settings {
        today: today(),
        warn_days: bylaw_engine::exceptions::DEFAULT_WARN_DAYS,
        inline: Default::default(),
    }
}
