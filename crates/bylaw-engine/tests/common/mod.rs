//! Shared by the engine's end-to-end tests: compiling packs or policy text
//! on a fixed date, and the run options every test uses.
#![allow(dead_code)]

use bylaw_engine::compile::{compile, CompileOptions, PolicySet};
use bylaw_engine::diagnostic::Diagnostic;
use bylaw_engine::eval::{FileRef, RunOptions, DEFAULT_MAX_FILE_SIZE};
use bylaw_engine::loader::{self, Loaded};
use bylaw_engine::report::{Enforcement, FailOn, Report};
use std::path::PathBuf;

fn options_on(date: &str) -> CompileOptions {
    CompileOptions {
        environment: None,
        today: bylaw_engine::enforcement::parse_date(date).unwrap(),
        include_drafts: false,
    }
}

/// Compiles what `loaded` holds on 2026-06-01: the set and the diagnostics.
pub fn compile_loaded(loaded: &Loaded) -> (PolicySet, Vec<Diagnostic>) {
    compile(&loaded.policies, &loaded.sources, options_on("2026-06-01"))
}

/// The built-in packs `names` (without `pack:`), loaded and compiled without a problem.
pub fn packs(names: &[&str]) -> PolicySet {
    let paths: Vec<PathBuf> = names.iter().map(|n| PathBuf::from(format!("pack:{n}"))).collect();
    let loaded = loader::load(&paths, std::path::Path::new("/"));
    assert!(!loaded.has_errors(), "{:#?}", loaded.diagnostics);
    let (set, diags) = compile_loaded(&loaded);
    assert!(diags.is_empty(), "{diags:#?}");
    set
}

/// The diagnostics of compiling one policy file's text (named `file`).
pub fn compile_errors(file: &str, text: &str) -> Vec<Diagnostic> {
    let mut loaded = Loaded::default();
    loader::load_text(file, text, true, &mut loaded);
    loaded.sources.insert(file.into(), std::sync::Arc::from(text));
    compile_loaded(&loaded).1
}

/// Run options of the tests: empty `ctx`, blocking parse errors.
pub fn options() -> RunOptions {
    RunOptions {
        ctx: serde_json::json!({}),
        fail_on: FailOn::Blocking,
        parse_errors: Enforcement::Blocking,
        max_file_size: DEFAULT_MAX_FILE_SIZE,
        format_of: false,
    }
}

/// An in-memory input file at `path`.
pub fn file(path: &str, content: &str) -> FileRef {
    FileRef { path: path.into(), fs_path: path.into(), content: Some(content.into()), format: None }
}

/// Runs `set` on in-memory files.
pub fn run(set: &PolicySet, files: &[FileRef]) -> Report {
    set.run(files, &options())
}
