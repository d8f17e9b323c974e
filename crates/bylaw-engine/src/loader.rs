//! Loading policy files: read, parse YAML with spans, validate each
//! `kind: Policy` document against the language schema, deserialize, and
//! check what a schema cannot (one of `deny`/`require`, unique ids and
//! names, `overrides`/`disable` naming real rules).
//!
//! Every problem is collected as a located [`Diagnostic`]; loading never
//! stops at the first one. CEL, JSONPath and globs are checked when the
//! policies are compiled ([`crate::compile`]).

use crate::diagnostic::{did_you_mean, Code, Diagnostic};
use crate::input::yaml;
use crate::language::rego::gatekeeper;
use crate::node::{Node, NodeValue, Span};
use crate::policy::PolicyDef;
use crate::schema::Schema;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A policy document that passed the schema, with what is needed to point
/// at its parts later.
#[derive(Clone, Debug)]
pub struct LoadedPolicy {
    pub def: PolicyDef,
    /// Display path of the file it came from.
    pub file: String,
    /// The document tree, to locate rules and conditions in diagnostics.
    pub root: Node,
    /// With `extends`: where each rule of the effective policy was written
    /// (empty: every rule is in `root`).
    pub origins: Vec<crate::inherit::RuleOrigin>,
    /// With `extends`: names of the policies inherited from, outermost first.
    pub extends_chain: Vec<String>,
    /// With `extends`: the effective policy as JSON (for `bylaw explain --effective`).
    pub effective_json: Option<serde_json::Value>,
    /// `params_schema` of the templates this policy instantiates: (file, schema).
    pub params_schemas: Vec<(String, serde_json::Value)>,
}

impl LoadedPolicy {
    /// The file rule `i` of the (effective) policy is written in.
    pub fn rule_file(&self, i: usize) -> &str {
        self.origins.get(i).map_or(&self.file, |o| &o.file)
    }

    /// The span of rule `i` (and `sub`, e.g. `/id`) where it is written.
    pub fn rule_span(&self, i: usize, sub: &str) -> Span {
        match self.origins.get(i) {
            Some(o) => rule_span(&o.root, o.index, sub),
            None => rule_span(&self.root, i, sub),
        }
    }

    /// A policy as written in one file.
    pub fn new(def: PolicyDef, file: String, root: Node) -> LoadedPolicy {
        LoadedPolicy {
            def,
            file,
            root,
            origins: Vec::new(),
            extends_chain: Vec::new(),
            effective_json: None,
            params_schemas: Vec::new(),
        }
    }
}

/// What loading produced: policies that passed, every diagnostic, and the
/// source text of each file read (for snippets).
#[derive(Default, Debug)]
pub struct Loaded {
    pub policies: Vec<LoadedPolicy>,
    pub diagnostics: Vec<Diagnostic>,
    pub sources: HashMap<String, Arc<str>>,
    /// Files of a policy directory that hold no policy and are not bylaw
    /// files (tests, exception lists, configs) either, with why: another
    /// tool's YAML, or YAML that does not parse. Shown as notes, so a
    /// policy file that went unread is never silent.
    pub not_policies: Vec<(String, String)>,
    /// Rego modules (`.rego` files), compiled together by
    /// [`crate::language::rego::compile`].
    pub rego: Vec<crate::language::rego::RegoModule>,
    /// Gatekeeper ConstraintTemplates and Constraints, compiled by
    /// [`crate::language::rego::gatekeeper::compile`].
    pub gatekeeper: Vec<gatekeeper::GatekeeperDocument>,
    /// The directory file names are shown relative to (the caller's working
    /// directory); relative display names are read from it.
    pub working_dir: PathBuf,
}

impl Loaded {
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(|d| d.level == crate::diagnostic::Level::Error)
    }
}

/// How a path is shown to users, `/`-separated and normalized: an
/// absolute `path` relative to `base` (the caller's working directory,
/// absolute) when it is under it (`.` for `base` itself), else absolute; a
/// relative `path` as given. See [`display_as_given`] for a file the user
/// named with a relative path.
pub fn display_path(path: &Path, base: &Path) -> String {
    let path = crate::paths::normalize(path);
    let shown = match path.strip_prefix(crate::paths::normalize(base)) {
        Ok(rel) if path.is_absolute() => rel.to_path_buf(),
        _ => path,
    };
    let s = shown.to_string_lossy().replace('\\', "/");
    if s.is_empty() {
        ".".to_owned()
    } else {
        s
    }
}

/// How file `path` (absolute) is shown when the user named it, or a
/// directory holding it, as `given`: as the user spells it from `base` —
/// relative, with `..` steps where it is above `base` (`../policies/p.yaml`),
/// when `given` is relative; as [`display_path`] shows an absolute path
/// when `given` is absolute (so `/etc/bylaw/p.yaml` stays absolute).
pub fn display_as_given(path: &Path, given: &Path, base: &Path) -> String {
    if given.is_absolute() || !path.is_absolute() || !base.is_absolute() {
        return display_path(path, base);
    }
    let path = crate::paths::normalize(path);
    match relative_to(&path, &crate::paths::normalize(base)) {
        Some(rel) if !rel.as_os_str().is_empty() => rel.to_string_lossy().replace('\\', "/"),
        Some(_) => ".".to_owned(),
        None => display_path(&path, base),
    }
}

/// `path` relative to `base` (both absolute and normalized) with `..`
/// steps, or `None` when they share nothing below the filesystem root.
fn relative_to(path: &Path, base: &Path) -> Option<PathBuf> {
    let (p, b): (Vec<_>, Vec<_>) = (path.components().collect(), base.components().collect());
    let common = p.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let below_root = b.iter().filter(|c| matches!(c, std::path::Component::Normal(_))).count();
    let shared = p[..common].iter().filter(|c| matches!(c, std::path::Component::Normal(_))).count();
    if shared == 0 && below_root > 0 {
        return None;
    }
    let mut out = PathBuf::new();
    for _ in common..b.len() {
        out.push("..");
    }
    for c in &p[common..] {
        out.push(c);
    }
    Some(out)
}

fn is_policy_file(p: &Path) -> bool {
    let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
    let yaml = (name.ends_with(".yaml") || name.ends_with(".yml"))
        && !name.ends_with(".test.yaml")
        && !name.ends_with(".test.yml");
    yaml || (is_rego(p) && !name.ends_with("_test.rego"))
}

/// Whether `p` is a Rego module (`.rego`): a policy file of the Rego
/// language ([`crate::language::rego`]); `*_test.rego` are OPA tests.
pub fn is_rego(p: &Path) -> bool {
    p.extension().is_some_and(|e| e == "rego")
}

/// Expands directories to the policy files inside them (sorted, recursive).
fn expand(
    paths: &[(PathBuf, PathBuf)],
    working_dir: &Path,
    diagnostics: &mut Vec<Diagnostic>,
) -> Vec<(PathBuf, bool, PathBuf)> {
    let mut out = Vec::new();
    for (p, given) in paths {
        let display_path = |f: &Path, _: &Path| display_as_given(f, given, working_dir);
        if given.as_os_str().is_empty() {
            // not the working directory: an empty argument names nothing
            diagnostics.push(Diagnostic::error(Code::Io, "", None, "an empty policy path names no file or directory"));
            continue;
        }
        if p.is_dir() {
            let Walked { files, loops, unreadable } = walk(p);
            for (d, why) in unreadable {
                // its policies would be missing from the run without a word
                diagnostics.push(Diagnostic::error(
                    Code::Io,
                    display_path(&d, working_dir),
                    None,
                    format!("cannot read the directory ({why}): the policies in it were not loaded"),
                ));
            }
            for l in loops {
                diagnostics.push(Diagnostic::warning(
                    Code::Io,
                    display_path(&l, working_dir),
                    None,
                    "a symlink loop: this directory was already read, it is not read again",
                ));
            }
            let (mut found, special): (Vec<PathBuf>, Vec<PathBuf>) =
                files.into_iter().filter(|f| is_policy_file(f)).partition(|f| f.is_file());
            for f in special {
                let why = crate::paths::why_not_read(&f);
                diagnostics.push(Diagnostic::warning(
                    Code::Io,
                    display_path(&f, working_dir),
                    None,
                    format!("{why}: skipped"),
                ));
            }
            found.sort();
            if found.is_empty() {
                diagnostics.push(Diagnostic::error(
                    Code::Io,
                    display_path(p, working_dir),
                    None,
                    "no policy files (*.yaml, *.yml, *.rego) in this directory",
                ));
            }
            out.extend(found.into_iter().map(|f| (f, false, given.clone())));
        } else if p.exists() {
            out.push((p.clone(), true, given.clone()));
        } else {
            diagnostics.push(Diagnostic::error(
                Code::Io,
                display_path(p, working_dir),
                None,
                "policy file or directory not found",
            ));
        }
    }
    out
}

/// What [`walk`] found under a directory.
pub struct Walked {
    /// Every file, in path order.
    pub files: Vec<PathBuf>,
    /// Directories reached a second time through a symlink (not read again).
    pub loops: Vec<PathBuf>,
    /// Directories that could not be listed, with why.
    pub unreadable: Vec<(PathBuf, String)>,
}

/// The files under `dir`, following symlinks; a directory reached again
/// (a symlink loop) is not descended twice, and each loop is returned once
/// as the path that closes it.
pub fn walk(dir: &Path) -> Walked {
    let mut out = Vec::new();
    let mut loops = Vec::new();
    let mut unreadable = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let canon = std::fs::canonicalize(&d).unwrap_or_else(|_| d.clone());
        if !seen.insert(canon) {
            loops.push(d);
            continue;
        }
        let entries = match std::fs::read_dir(&d) {
            Ok(entries) => entries,
            Err(e) => {
                unreadable.push((d, e.to_string()));
                continue;
            }
        };
        let mut entries: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
        entries.sort();
        for path in entries.into_iter().rev() {
            if path.is_dir() {
                stack.push(path);
            } else {
                out.push(path);
            }
        }
    }
    Walked { files: out, loops, unreadable }
}

/// Loads every policy in `paths` (files or directories; relative ones are
/// taken from `working_dir`, the caller's current directory, and files are
/// shown relative to it). In a directory, YAML documents of another `kind`
/// (tests, exception lists) are skipped; in a file named explicitly they are
/// an error.
pub fn load(paths: &[PathBuf], working_dir: &Path) -> Loaded {
    load_with(paths, &[], working_dir)
}

/// A policy file held in memory (a file of a bundle): its display name
/// (`BUNDLE!/path/in/bundle.yaml`) and text.
#[derive(Clone, Debug)]
pub struct MemoryFile {
    pub name: String,
    pub text: Arc<str>,
}

/// [`load`], and `memory` files read as the files of a policy directory
/// are (policies and Rego modules by their names; other files skipped).
pub fn load_with(paths: &[PathBuf], memory: &[MemoryFile], working_dir: &Path) -> Loaded {
    let mut loaded = Loaded { working_dir: working_dir.to_path_buf(), ..Loaded::default() };
    // `pack:NAME` loads a built-in pack as it is.
    let (packs, paths): (Vec<&PathBuf>, Vec<&PathBuf>) =
        paths.iter().partition(|p| p.to_str().is_some_and(|s| s.starts_with("pack:")));
    for p in packs {
        let id = p.to_string_lossy().into_owned();
        let name = id.trim_start_matches("pack:").split('@').next().unwrap_or_default().to_owned();
        match crate::packs::source(&name) {
            Some(text) => {
                let id = format!("pack:{name}");
                load_text(&id, text, true, &mut loaded);
                loaded.sources.insert(id, Arc::from(text));
            }
            None => loaded.diagnostics.push(
                Diagnostic::error(Code::Io, &id, None, format!("no built-in pack `{name}`"))
                    .with_hint(format!("built-in packs: {}", crate::packs::names().join(", "))),
            ),
        }
    }
    let paths: Vec<(PathBuf, PathBuf)> =
        paths.into_iter().map(|p| (crate::paths::absolute(working_dir, p), p.clone())).collect();
    let files = expand(&paths, working_dir, &mut loaded.diagnostics);
    for (path, explicit, given) in files {
        let file = display_as_given(&path, &given, working_dir);
        // a bundle reaches the loader only where a command reads plain
        // policy files (`test`, `explain --effective FILE`): say so, not
        // "not valid UTF-8"
        let name = path.to_string_lossy();
        if explicit && (name.ends_with(".tar.gz") || name.ends_with(".tgz")) {
            loaded.diagnostics.push(
                Diagnostic::error(
                    Code::Io,
                    &file,
                    None,
                    "a policy bundle (`.tar.gz`): this command reads policy files and directories",
                )
                .with_hint(
                    "`check`, `ci`, `validate` and `impact` read bundles given with `-p` or in `policies:` of .bylaw.yaml (`explain --effective` without a file shows their policies); `bylaw test` runs on the bundle's source directory",
                ),
            );
            continue;
        }
        let text = match crate::paths::read_text(&path) {
            Ok(t) => t,
            Err(e) => {
                loaded.diagnostics.push(Diagnostic::error(Code::Io, &file, None, format!("cannot read: {e}")));
                continue;
            }
        };
        let text: Arc<str> = Arc::from(text);
        if is_rego(&path) {
            loaded.rego.push(crate::language::rego::RegoModule { file: file.clone(), text: text.clone() });
        } else {
            load_text(&file, &text, explicit, &mut loaded);
        }
        loaded.sources.insert(file, text);
    }
    for f in memory.iter().filter(|f| is_policy_file(Path::new(&f.name))) {
        if is_rego(Path::new(&f.name)) {
            loaded.rego.push(crate::language::rego::RegoModule { file: f.name.clone(), text: f.text.clone() });
        } else {
            load_text(&f.name, &f.text, false, &mut loaded);
        }
        loaded.sources.insert(f.name.clone(), f.text.clone());
    }
    crate::inherit::resolve(&mut loaded);
    check_across(&mut loaded);
    loaded
}

/// Loads the policies in one file's text (also used by tests and `bylaw test`).
pub fn load_text(file: &str, text: &str, explicit: bool, loaded: &mut Loaded) {
    let parsed = yaml::parse(text);
    // In a directory, a file that does not parse is reported only when it
    // looks like a bylaw file: Helm templates and other tools' YAML beside
    // the policies are not policies.
    let ours = text.contains("bylaw/")
        || text.contains("templates.gatekeeper.sh/")
        || text.contains("constraints.gatekeeper.sh/");
    if !parsed.errors.is_empty() && !explicit && !ours {
        let e = &parsed.errors[0];
        loaded.not_policies.push((
            file.to_owned(),
            format!("not a policy (invalid YAML at {}:{}: {}), skipped", e.line, e.col, e.message),
        ));
        return;
    }
    if !explicit && parsed.errors.is_empty() && !parsed.documents.is_empty() {
        let ours = |d: &Node| {
            d.str_at(&["apiVersion"]).is_some_and(|v| v.starts_with("bylaw/"))
                || gatekeeper::is_template(d)
                || gatekeeper::is_constraint(d)
        };
        if !parsed.documents.iter().any(ours) {
            let kinds: Vec<&str> = parsed.documents.iter().filter_map(|d| d.str_at(&["kind"])).collect();
            let what = match kinds.first() {
                Some(k) => format!("`kind: {k}` of another tool"),
                None => "YAML without `apiVersion: bylaw/v1`".to_owned(),
            };
            loaded.not_policies.push((file.to_owned(), format!("not a policy ({what}), skipped")));
            return;
        }
    }
    for e in &parsed.errors {
        loaded.diagnostics.push(
            Diagnostic::invalid_yaml(file, e).with_hint("check the indentation and quoting around this position"),
        );
    }
    if parsed.documents.is_empty() && parsed.errors.is_empty() {
        if explicit {
            loaded.diagnostics.push(Diagnostic::error(Code::Schema, file, None, "the file holds no policy"));
        } else {
            // an empty file among the policies is worth a word: a policy may be missing
            loaded.diagnostics.push(Diagnostic::warning(
                Code::Schema,
                file,
                None,
                "empty (or only comments): no policy in it, skipped",
            ));
        }
    }
    for root in parsed.documents {
        // Gatekeeper templates and constraints are Rego policies
        if gatekeeper::is_template(&root) || gatekeeper::is_constraint(&root) {
            loaded.gatekeeper.push(gatekeeper::GatekeeperDocument { file: file.to_owned(), root });
            continue;
        }
        let kind = root.str_at(&["kind"]);
        let api = root.str_at(&["apiVersion"]);
        // another tool's `kind: Policy` (Kyverno, Istio, …) is not ours
        let foreign = api.is_some_and(|v| !v.starts_with("bylaw/"));
        if kind != Some("Policy") || (foreign && !explicit) {
            // In a directory, other documents (tests, exception lists, test
            // inputs) are skipped; a bylaw document without a kind is not.
            let bylaw_doc = root.str_at(&["apiVersion"]).is_some_and(|v| v.starts_with("bylaw/"));
            if explicit || (kind.is_none() && bylaw_doc) {
                let span = root.get("kind").map(|n| n.span).unwrap_or(root.span);
                let found = kind.map(|k| format!("`kind: {k}`")).unwrap_or_else(|| "no `kind`".into());
                loaded.diagnostics.push(
                    Diagnostic::error(
                        Code::Schema,
                        file,
                        Some(span),
                        format!("expected a policy (`kind: Policy`), found {found}"),
                    )
                    .with_hint("a policy starts with `apiVersion: bylaw/v1` and `kind: Policy`"),
                );
            }
            continue;
        }
        let json = root.to_json();
        let errors = Schema::Policy.validate(&json, &root, file);
        if !errors.is_empty() {
            loaded.diagnostics.extend(errors);
            continue;
        }
        match serde_json::from_value::<PolicyDef>(json) {
            Ok(def) => {
                check_policy(&def, &root, file, &mut loaded.diagnostics);
                loaded.policies.push(LoadedPolicy::new(def, file.to_owned(), root));
            }
            Err(e) => loaded.diagnostics.push(Diagnostic::error(
                Code::Schema,
                file,
                Some(root.span),
                format!("invalid policy: {e}"),
            )),
        }
    }
}

/// The span of `/spec/rules/{i}` and a sub-path of it.
pub fn rule_span(root: &Node, index: usize, sub: &str) -> Span {
    root.value_span_of_pointer(&format!("/spec/rules/{index}{sub}")).0
}

fn key_span_at(root: &Node, pointer: &str, key: &str) -> Span {
    match root.at(&crate::node::parse_pointer(pointer)).map(|n| &n.value) {
        Some(NodeValue::Map(entries)) => entries.iter().find(|e| e.key == key).map(|e| e.key_span).unwrap_or(root.span),
        _ => root.span_of_pointer(pointer).0,
    }
}

fn check_policy(def: &PolicyDef, root: &Node, file: &str, out: &mut Vec<Diagnostic>) {
    // the schema's pattern has the shape; the semver crate has the rest
    // (`1.0.0-01`: a numeric pre-release identifier with a leading zero)
    if let Some(Err(e)) = def.metadata.semver() {
        out.push(
            Diagnostic::error(
                Code::Schema,
                file,
                Some(root.value_span_of_pointer("/metadata/version").0),
                format!(
                    "`metadata.version` `{}` is not a semantic version: {e}",
                    def.metadata.version.as_deref().unwrap_or("")
                ),
            )
            .with_hint("use a semantic version (semver.org), e.g. `1.2.0` or `1.5.0-rc.1`"),
        );
    }
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for (i, rule) in def.spec.rules.iter().enumerate() {
        match (&rule.deny, &rule.require) {
            (Some(_), Some(_)) => out.push(
                Diagnostic::error(
                    Code::Rule,
                    file,
                    Some(key_span_at(root, &format!("/spec/rules/{i}"), "require")),
                    format!("rule `{}` has both `deny` and `require`", rule.id),
                )
                .with_hint("a rule has exactly one: `deny` (violation when true) or `require` (violation when false)"),
            ),
            (None, None) => out.push(
                Diagnostic::error(
                    Code::Rule,
                    file,
                    Some(rule_span(root, i, "/id")),
                    format!("rule `{}` has neither `deny` nor `require`", rule.id),
                )
                .with_hint(
                    "add `deny: \"<CEL>\"` (violation when true) or `require: \"<CEL>\"` (violation when false)",
                ),
            ),
            _ => {}
        }
        if let Some(prev) = seen.insert(rule.id.as_str(), i) {
            out.push(
                Diagnostic::error(
                    Code::DuplicateId,
                    file,
                    Some(rule_span(root, i, "/id")),
                    format!("duplicate rule id `{}`", rule.id),
                )
                .with_label(file, rule_span(root, prev, "/id"), "first defined here")
                .with_hint("rule ids must be unique"),
            );
        }
    }
    if def.spec.rules.is_empty() && def.spec.extends.is_empty() {
        out.push(
            Diagnostic::error(Code::Rule, file, Some(key_span_at(root, "", "spec")), "the policy has no rules")
                .with_hint("add `rules:` under `spec:`"),
        );
    }
    if def.spec.extends.is_empty() {
        check_rule_references(&LoadedPolicy::new(def.clone(), file.to_owned(), root.clone()), out);
    }
}

/// `overrides` and `disable` must name rules of the (effective) policy.
pub fn check_rule_references(p: &LoadedPolicy, out: &mut Vec<Diagnostic>) {
    let (def, root, file) = (&p.def, &p.root, p.file.as_str());
    let ids: Vec<&str> = def.spec.rules.iter().map(|r| r.id.as_str()).collect();
    let unknown = |id: &str, span: Span, what: &str| {
        let mut d = Diagnostic::error(Code::UnknownRule, file, Some(span), format!("{what} names unknown rule `{id}`"));
        if let Some(m) = did_you_mean(id, ids.iter().copied()) {
            d.hint = Some(format!("did you mean `{m}`?"));
        }
        d
    };
    for id in def.spec.overrides.keys() {
        if !ids.contains(&id.as_str()) {
            out.push(unknown(id, key_span_at(root, "/spec/overrides", id), "`overrides`"));
        }
    }
    for (i, id) in def.spec.disable.iter().enumerate() {
        if !ids.contains(&id.as_str()) {
            out.push(unknown(id, root.value_span_of_pointer(&format!("/spec/disable/{i}")).0, "`disable`"));
        }
    }
}

/// Checks across all loaded policies: unique policy names and rule ids.
fn check_across(loaded: &mut Loaded) {
    let mut names: BTreeMap<&str, &LoadedPolicy> = BTreeMap::new();
    let mut rules: BTreeMap<&str, (&LoadedPolicy, usize)> = BTreeMap::new();
    let mut out = Vec::new();
    for p in &loaded.policies {
        if let Some(prev) = names.insert(p.def.metadata.name.as_str(), p) {
            out.push(
                Diagnostic::error(
                    Code::DuplicateId,
                    &p.file,
                    Some(p.root.value_span_of_pointer("/metadata/name").0),
                    format!("duplicate policy name `{}`", p.def.metadata.name),
                )
                .with_label(&prev.file, prev.root.value_span_of_pointer("/metadata/name").0, "first defined here")
                .with_hint("policy names must be unique: rename one of the two"),
            );
        }
        for (i, r) in p.def.spec.rules.iter().enumerate() {
            match rules.get(r.id.as_str()) {
                Some((prev, j)) if !std::ptr::eq(*prev, p) => out.push(
                    Diagnostic::error(
                        Code::DuplicateId,
                        p.rule_file(i),
                        Some(p.rule_span(i, "/id")),
                        format!("rule id `{}` is also used by policy `{}`", r.id, prev.def.metadata.name),
                    )
                    .with_label(
                        prev.rule_file(*j),
                        prev.rule_span(*j, "/id"),
                        format!("first defined here, in policy `{}`", prev.def.metadata.name),
                    )
                    .with_hint("rule ids must be unique across policies"),
                ),
                Some(_) => {}
                None => {
                    rules.insert(r.id.as_str(), (p, i));
                }
            }
        }
    }
    loaded.diagnostics.extend(out);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load_str(text: &str) -> Loaded {
        let mut l = Loaded::default();
        load_text("p.yaml", text, true, &mut l);
        check_across(&mut l);
        l
    }

    #[test]
    fn display_paths_as_a_user_spells_them_from_the_working_directory() {
        let wd = Path::new("/work/repo/sub");
        for (path, shown) in [
            ("/work/repo/sub/p.yaml", "p.yaml"),
            ("/work/repo/sub", "."),
            ("/work/repo/p.yaml", "../p.yaml"),
            ("/work/repo/sub/../../other/q.yaml", "../../other/q.yaml"),
            ("/etc/bylaw/q.yaml", "/etc/bylaw/q.yaml"),
            ("policies/./p.yaml", "policies/p.yaml"),
        ] {
            assert_eq!(display_as_given(Path::new(path), Path::new("p"), wd), shown, "{path}");
        }
        assert_eq!(display_path(Path::new("/x/p.yaml"), Path::new("/")), "x/p.yaml");
        // named by an absolute path: absolute unless under the working directory
        assert_eq!(
            display_as_given(Path::new("/work/repo/p.yaml"), Path::new("/work/repo/p.yaml"), wd),
            "/work/repo/p.yaml"
        );
        assert_eq!(display_as_given(Path::new("/work/repo/sub/p.yaml"), Path::new("/work/repo/sub"), wd), "p.yaml");
        assert_eq!(display_path(Path::new("/work/repo/sub"), wd), ".");
    }

    const GOOD: &str = "apiVersion: bylaw/v1\nkind: Policy\nmetadata:\n  name: demo\n  type: security\nspec:\n  rules:\n    - id: R-1\n      title: t\n      severity: high\n      deny: \"doc.x == 1\"\n";

    #[test]
    fn loads_a_valid_policy() {
        let l = load_str(GOOD);
        assert!(l.diagnostics.is_empty(), "{:?}", l.diagnostics);
        assert_eq!(l.policies.len(), 1);
        assert_eq!(l.policies[0].def.spec.rules[0].id, "R-1");
    }

    #[test]
    fn reports_every_schema_error_with_location_and_hint() {
        let text = GOOD
            .replace("      deny:", "      denny:")
            .replace("severity: high", "severity: hihg")
            .replace("name: demo", "name: Demo");
        let l = load_str(&text);
        let msgs: Vec<String> =
            l.diagnostics.iter().map(|d| format!("{} {} {:?}", d.location(), d.message, d.hint)).collect();
        assert_eq!(l.diagnostics.len(), 3, "{msgs:#?}");
        assert!(msgs[0].starts_with("p.yaml:4:9 `metadata.name` `Demo` does not match"), "{msgs:#?}");
        assert!(
            msgs[1].starts_with("p.yaml:10:17 `hihg` is not a valid value for `spec.rules[0].severity`"),
            "{msgs:#?}"
        );
        assert!(msgs[1].contains("did you mean `high`"), "{msgs:#?}");
        assert!(msgs[2].starts_with("p.yaml:11:7 unknown key `denny` in `spec.rules[0]`"), "{msgs:#?}");
        assert!(msgs[2].contains("did you mean `deny`?"), "{msgs:#?}");
    }

    #[test]
    fn metadata_version_must_be_semver() {
        for (version, message) in [
            ("1.2", "`metadata.version` `1.2` does not match the required pattern"),
            ("v1.2.0", "`metadata.version` `v1.2.0` does not match the required pattern"),
            ("1.0.0-01", "`metadata.version` `1.0.0-01` is not a semantic version: invalid leading zero"),
        ] {
            let l = load_str(&GOOD.replace("  type: security", &format!("  version: '{version}'\n  type: security")));
            assert_eq!(l.diagnostics.len(), 1, "{version}: {:?}", l.diagnostics);
            let d = &l.diagnostics[0];
            assert_eq!(d.location(), "p.yaml:5:12", "{version}");
            assert!(d.message.starts_with(message), "{version}: {}", d.message);
            assert!(d.hint.as_deref().unwrap_or("").contains("e.g. `1.2.0`"), "{version}: {:?}", d.hint);
        }
        for version in ["1.4.2", "1.5.0-rc.1", "2.0.0+build.7"] {
            let l = load_str(&GOOD.replace("  type: security", &format!("  version: {version}\n  type: security")));
            assert!(l.diagnostics.is_empty(), "{version}: {:?}", l.diagnostics);
            assert_eq!(l.policies[0].def.metadata.semver().unwrap().unwrap().to_string(), version);
        }
    }

    #[test]
    fn environments_take_a_level_or_a_staged_mapping() {
        use crate::policy::EnvironmentEnforcement;
        use crate::report::Enforcement;
        let text = GOOD.replace(
            "spec:\n",
            "spec:\n  environments: { dev: blocking, prod: { enforcement: blocking, enforce_from: 2027-02-01 } }\n",
        );
        let l = load_str(&text);
        assert!(l.diagnostics.is_empty(), "{:?}", l.diagnostics);
        let envs = &l.policies[0].def.spec.environments;
        assert_eq!(envs["dev"], EnvironmentEnforcement::Level(Enforcement::Blocking));
        assert_eq!(envs["prod"].enforcement(), Some(Enforcement::Blocking));
        assert_eq!(envs["prod"].enforce_from(), Some("2027-02-01"));
        for (env, location, message, hint) in [
            (
                "{ enforcement: blocking, enforce-from: 2027-02-01 }",
                "p.yaml:7:50",
                "unknown key `enforce-from` in `spec.environments.prod`",
                "did you mean `enforce_from`?",
            ),
            (
                "{ enforcement: blokcing }",
                "p.yaml:7:40",
                "`blokcing` is not a valid value for `spec.environments.prod.enforcement`",
                "did you mean `blocking`?",
            ),
            (
                "blokcing",
                "p.yaml:7:25",
                "`blokcing` is not a valid value for `spec.environments.prod`",
                "did you mean `blocking`?",
            ),
            (
                "{ enforce_from: 2027-2-1 }",
                "p.yaml:7:41",
                "`spec.environments.prod.enforce_from` `2027-2-1` does not match",
                "YYYY-MM-DD",
            ),
            ("[blocking]", "p.yaml:7:25", "`spec.environments.prod` must be a string or a mapping, found a list", ""),
        ] {
            let l = load_str(&GOOD.replace("spec:\n", &format!("spec:\n  environments: {{ prod: {env} }}\n")));
            assert_eq!(l.diagnostics.len(), 1, "{env}: {:?}", l.diagnostics);
            let d = &l.diagnostics[0];
            assert_eq!(d.location(), location, "{env}: {}", d.message);
            assert!(d.message.starts_with(message), "{env}: {}", d.message);
            assert!(d.hint.as_deref().unwrap_or("").contains(hint), "{env}: {:?}", d.hint);
        }
    }

    #[test]
    fn deny_and_require_are_exclusive_and_ids_unique() {
        let text = format!("{GOOD}      require: \"true\"\n    - id: R-1\n      deny: \"false\"\n    - id: R-2\n");
        let l = load_str(&text);
        let msgs: Vec<String> = l.diagnostics.iter().map(|d| format!("{} {}", d.location(), d.message)).collect();
        assert!(msgs.contains(&"p.yaml:12:7 rule `R-1` has both `deny` and `require`".to_owned()), "{msgs:#?}");
        assert!(msgs.contains(&"p.yaml:13:11 duplicate rule id `R-1`".to_owned()), "{msgs:#?}");
        let dup = l.diagnostics.iter().find(|d| d.message == "duplicate rule id `R-1`").unwrap();
        let labels: Vec<String> = dup.labels.iter().map(|l| format!("{} {}", l.location(), l.message)).collect();
        assert_eq!(labels, ["p.yaml:8:11 first defined here"]);
        assert!(msgs.contains(&"p.yaml:15:11 rule `R-2` has neither `deny` nor `require`".to_owned()), "{msgs:#?}");
    }

    #[test]
    fn bad_condition_tree_is_explained() {
        let text = GOOD.replace("deny: \"doc.x == 1\"", "deny:\n        alll: [\"true\"]");
        let l = load_str(&text);
        assert_eq!(l.diagnostics.len(), 1, "{:?}", l.diagnostics);
        let d = &l.diagnostics[0];
        assert_eq!(d.location(), "p.yaml:12:9");
        assert!(d.message.contains("must be a CEL expression"));
        assert_eq!(d.hint.as_deref(), Some("unknown key `alll`: did you mean `all`?"));
    }

    #[test]
    fn yaml_syntax_errors_are_located() {
        let l = load_str("apiVersion: bylaw/v1\nkind: Policy\nmetadata: [\n");
        assert_eq!(l.diagnostics.len(), 1);
        assert_eq!(l.diagnostics[0].code, Code::Yaml);
        assert!(l.diagnostics[0].span.unwrap().start_line >= 3);
    }

    #[test]
    fn overrides_and_disable_must_name_rules() {
        let text =
            GOOD.replace("spec:\n", "spec:\n  disable: [R-2]\n  overrides: { R-x: { enforcement: advisory } }\n");
        let l = load_str(&text);
        let msgs: Vec<String> = l.diagnostics.iter().map(|d| format!("{} {}", d.location(), d.message)).collect();
        assert_eq!(
            msgs,
            vec!["p.yaml:8:16 `overrides` names unknown rule `R-x`", "p.yaml:7:13 `disable` names unknown rule `R-2`"]
        );
    }
}
