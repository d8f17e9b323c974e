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

/// One set of policy sources validated together: the top-level
/// `policies` of a config, or one environment's own list (two sets may
/// hold the same policy at two versions, which one load would call a
/// duplicate).
#[derive(Clone, Debug, Default)]
pub struct SourceSet {
    /// Files, directories and `pack:NAME` for the loader.
    pub paths: Vec<PathBuf>,
    /// Policy files of bundles, in memory ([`crate::sources::resolve`]).
    pub memory: Vec<loader::MemoryFile>,
    /// Data files of bundles, for Rego.
    pub data: Vec<(String, serde_json::Value)>,
}

impl SourceSet {
    /// A set of paths (no bundle).
    pub fn of_paths(paths: &[PathBuf]) -> SourceSet {
        SourceSet { paths: paths.to_vec(), ..SourceSet::default() }
    }
}

/// The sets of policy sources a config names, each as a run reads it: the
/// top-level `policies`, then each environment's own list (in file order,
/// a list equal to one already there is left out). `bylaw validate` and
/// `bylaw test` without arguments read them all, so a policy only one
/// environment uses is checked too.
pub fn config_source_sets(config: &bylaw_engine::config::Config) -> Vec<Vec<PathBuf>> {
    let mut lists: Vec<&Vec<String>> = Vec::new();
    let mut out = Vec::new();
    if !config.policies.is_empty() {
        lists.push(&config.policies);
        out.push(crate::policy_paths(&[], config));
    }
    for (name, env) in &config.environments {
        if let Some(own) = env.policies.as_ref().filter(|p| !p.is_empty() && !lists.contains(p)) {
            lists.push(own);
            out.push(crate::policy_paths_for(&[], config, Some(name)));
        }
    }
    out
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
    validate_sets(&[SourceSet::of_paths(paths)], exception_paths, rego, working_dir, today)
}

/// Validates every set of `sets` on its own (loaded and compiled apart),
/// then lints each: an exception is checked against the rules of every
/// set together (an exception for a prod-only rule is not unknown), and a
/// problem found in two sets (a policy both use) is reported once.
/// Policies and rules are counted once per policy file and name.
pub fn validate_sets(
    sets: &[SourceSet],
    exception_paths: &[PathBuf],
    rego: &crate::RegoOptions,
    working_dir: &Path,
    today: NaiveDate,
) -> Validation {
    let mut messages = Vec::new();
    let mut diags = Vec::new();
    let mut sources = Sources::new();
    let mut compiled = Vec::new();
    for s in sets {
        let mut loaded = loader::load_with(&s.paths, &s.memory, working_dir);
        for (file, why) in &loaded.not_policies {
            let note = Message::Note(format!("{file}: {why}"));
            if !messages.contains(&note) {
                messages.push(note);
            }
        }
        let options = CompileOptions { environment: None, today, include_drafts: true };
        let mut rego = rego.clone();
        rego.data.extend(s.data.iter().cloned());
        bylaw_engine::language::rego::read_data(&mut rego, working_dir, &mut loaded.sources, &mut loaded.diagnostics);
        let (set, compile_diags) = compile::compile_loaded(&loaded, &rego, options);
        diags.extend(loaded.diagnostics.iter().cloned());
        diags.extend(compile_diags);
        compiled.push((loaded, set));
    }

    // tests: which rules are exercised, and test files that do not load
    let mut tested: lint::Tested = BTreeSet::new();
    let mut on_disk: Vec<(PathBuf, &PathBuf)> = Vec::new();
    for p in sets.iter().flat_map(|s| s.paths.iter()) {
        let shown = p.to_string_lossy();
        if shown.starts_with("pack:") || crate::sources::is_remote(&shown) || crate::sources::is_bundle_path(&shown) {
            continue;
        }
        let abs = bylaw_engine::paths::absolute(working_dir, p);
        if !on_disk.iter().any(|(a, _)| *a == abs) {
            on_disk.push((abs, p));
        }
    }
    let mut found: Vec<(PathBuf, &PathBuf)> = Vec::new();
    for (abs, given) in &on_disk {
        for f in test_files(std::slice::from_ref(abs)) {
            if !found.iter().any(|(g, _)| *g == f) {
                found.push((f, *given));
            }
        }
    }
    for (f, given) in found {
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
        sources.insert(file, Arc::from(text));
    }
    let exception_list = match exceptions::load(exception_paths, working_dir) {
        Ok(list) => list,
        Err((d, texts)) => {
            diags.extend(d);
            sources.extend(texts.into_iter().map(|(k, v)| (k, Arc::from(v))));
            Vec::new()
        }
    };
    for given in exception_paths {
        let p = bylaw_engine::paths::absolute(working_dir, given);
        if let Ok(t) = std::fs::read_to_string(&p) {
            sources.insert(loader::display_as_given(&p, given, working_dir), Arc::from(t));
        }
    }
    // the rules an exception may name: every set's (YAML policies' are
    // known to the lint of their own set; the others' are given)
    let mut every_rule: BTreeSet<String> = BTreeSet::new();
    for (_, set) in &compiled {
        every_rule.extend(set.policies.iter().flat_map(|p| p.rules.iter().map(|r| r.id.clone())));
    }
    let mut counted: BTreeSet<(String, String)> = BTreeSet::new();
    let (mut policies, mut rules) = (0, 0);
    for (loaded, set) in compiled {
        diags.extend(lint::lint_with(&loaded.policies, &every_rule, &exception_list, &tested));
        for p in &set.policies {
            if counted.insert((p.file.clone(), p.name.clone())) {
                policies += 1;
                rules += p.rules.len();
            }
        }
        for (k, v) in loaded.sources {
            sources.entry(k).or_insert(v);
        }
    }
    let mut unique: Vec<Diagnostic> = Vec::with_capacity(diags.len());
    for d in diags {
        if !unique.contains(&d) {
            unique.push(d);
        }
    }
    Validation { diagnostics: unique, sources, messages, policies, rules }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_distinct_source_list_is_a_set() {
        let mut c = bylaw_engine::config::Config::parse(
            ".bylaw.yaml",
            "policies: [p-1.5/]\nenvironments:\n  prod: { branches: [main], policies: [p-1.4/] }\n  staging: [staging]\n  qa: { policies: [p-1.5/] }\n  dev: { policies: ['pack:dockerfile', p-1.5/] }\n",
        )
        .unwrap();
        c.base_dir = PathBuf::from("/repo");
        let sets = config_source_sets(&c);
        assert_eq!(
            sets,
            vec![
                vec![PathBuf::from("/repo/p-1.5/")],
                vec![PathBuf::from("/repo/p-1.4/")],
                vec![PathBuf::from("pack:dockerfile"), PathBuf::from("/repo/p-1.5/")],
            ],
            "staging has no list of its own, qa's equals the top-level one"
        );
        let only_envs =
            bylaw_engine::config::Config::parse(".bylaw.yaml", "environments:\n  prod: { policies: [p/] }\n").unwrap();
        assert_eq!(config_source_sets(&only_envs).len(), 1);
    }
}
