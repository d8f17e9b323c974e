//! `bylaw validate` as a library call: load, schema-check and compile
//! policies without evaluating anything, read their test files (which rules
//! are exercised), load the exception lists, then lint: constant
//! conditions, conflicting rules, exceptions naming unknown rules (errors);
//! rules without remediation, tests or (in compliance policies) controls
//! (warnings). Nothing is printed.

use crate::{Message, Sources};
use bylaw_engine::chrono::NaiveDate;
use bylaw_engine::compile::{self, CompileOptions};
use bylaw_engine::diagnostic::{Diagnostic, Level};
use bylaw_engine::{exceptions, lint, loader, testing};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// What validation found.
pub struct Validation {
    /// Every problem (errors and warnings), in the order found.
    pub diagnostics: Vec<Diagnostic>,
    /// The text of the files they point into.
    pub sources: Sources,
    /// Notes (files of policy directories that hold no policy).
    pub messages: Vec<Message>,
    /// Policies compiled.
    pub policies: usize,
    /// Rules in them.
    pub rules: usize,
}

impl Validation {
    /// How many diagnostics are errors.
    pub fn errors(&self) -> usize {
        self.diagnostics.iter().filter(|d| d.level == Level::Error).count()
    }
}

/// Validates the policies at `paths` (files, directories or `pack:NAME`)
/// with the exception lists at `exception_paths`, as of `today`; relative
/// paths are taken from `working_dir`.
pub fn validate(
    paths: &[PathBuf],
    exception_paths: &[PathBuf],
    rego: &crate::RegoOptions,
    working_dir: &Path,
    today: NaiveDate,
) -> Validation {
    let mut messages = Vec::new();
    let mut loaded = loader::load(paths, working_dir);
    for (file, why) in &loaded.not_policies {
        messages.push(Message::Note(format!("{file}: {why}")));
    }
    let options = CompileOptions { environment: None, today, include_drafts: true };
    let mut rego = rego.clone();
    bylaw_engine::language::rego::read_data(&mut rego, working_dir, &mut loaded.sources, &mut loaded.diagnostics);
    let (set, compile_diags) = compile::compile_loaded(&loaded, &rego, options);
    let mut diags = loaded.diagnostics.clone();
    diags.extend(compile_diags);

    // tests: which rules are exercised, and test files that do not load
    let mut tested: lint::Tested = BTreeSet::new();
    let on_disk: Vec<(PathBuf, &PathBuf)> = paths
        .iter()
        .filter(|p| !p.to_string_lossy().starts_with("pack:"))
        .map(|p| (bylaw_engine::paths::absolute(working_dir, p), p))
        .collect();
    let found = on_disk
        .iter()
        .flat_map(|(abs, given)| test_files(std::slice::from_ref(abs)).into_iter().map(move |f| (f, *given)));
    for (f, given) in found.collect::<Vec<_>>() {
        let file = loader::display_as_given(&f, given, working_dir);
        let Ok(text) = std::fs::read_to_string(&f) else { continue };
        match testing::parse(&file, f.parent().unwrap_or(Path::new(".")), &text) {
            Ok(t) => {
                for c in &t.cases {
                    tested.extend(c.rules.iter().cloned());
                    if let testing::Expect::Findings(list) = &c.expect {
                        tested.extend(list.iter().map(|e| e.rule.clone()));
                    }
                }
            }
            Err(d) => diags.extend(d),
        }
        loaded.sources.insert(file, Arc::from(text));
    }
    let exception_list = match exceptions::load(exception_paths, working_dir) {
        Ok(list) => list,
        Err((d, sources)) => {
            diags.extend(d);
            loaded.sources.extend(sources.into_iter().map(|(k, v)| (k, Arc::from(v))));
            Vec::new()
        }
    };
    for given in exception_paths {
        let p = bylaw_engine::paths::absolute(working_dir, given);
        if let Ok(t) = std::fs::read_to_string(&p) {
            loaded.sources.insert(loader::display_as_given(&p, given, working_dir), Arc::from(t));
        }
    }
    let other_rules: BTreeSet<String> = set
        .policies
        .iter()
        .filter(|p| p.language != bylaw_engine::language::cel::NAME)
        .flat_map(|p| p.rules.iter().map(|r| r.id.clone()))
        .collect();
    diags.extend(lint::lint_with(&loaded.policies, &other_rules, &exception_list, &tested));
    Validation {
        diagnostics: diags,
        sources: loaded.sources,
        messages,
        policies: set.policies.len(),
        rules: set.policies.iter().map(|p| p.rules.len()).sum(),
    }
}

/// Test files next to (or under) the policies.
fn test_files(paths: &[PathBuf]) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            // every test under a directory (symlink loops read once)
            out.extend(bylaw_engine::loader::walk(p).files.into_iter().filter(|f| testing::is_test_file(f)));
        } else if p.is_file() {
            // a policy file's tests are beside it (not the whole tree above it)
            let parent = p.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
            if let Ok(entries) = std::fs::read_dir(parent) {
                out.extend(entries.flatten().map(|e| e.path()).filter(|f| f.is_file() && testing::is_test_file(f)));
            }
        }
    }
    out.sort();
    out.dedup();
    out
}
