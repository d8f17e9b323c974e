//! Compiling `.rego` modules into policies: one engine for all the modules
//! and data files of a run, the packages the namespaces select, their
//! `deny`/`violation`/`warn` rules, and the METADATA annotations that give
//! each rule what a YAML rule has (see the module documentation of
//! [`super`]).

use super::{RegoProgram, Shared, NAME};
use crate::compile::{CompileOptions, CompiledPolicy, CompiledRule, Part};
use crate::diagnostic::{Code, Diagnostic};
use crate::enforcement;
use crate::language::Expression;
use crate::node::Span;
use crate::policy::{Lifecycle, PolicyType, Target};
use crate::report::{Enforcement, Severity};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

/// A `.rego` file as loaded: its display path and text.
#[derive(Clone, Debug)]
pub struct RegoModule {
    pub file: String,
    pub text: Arc<str>,
}

/// How Rego modules are read and which of their rules are policies
/// (conftest's `--namespace`, `--all-namespaces`, `--data`).
#[derive(Clone, Debug, Default)]
pub struct RegoOptions {
    /// Packages whose `deny`/`violation`/`warn` rules are policies, as
    /// globs over the package path (`main`, `kubernetes.*`); `main` when
    /// empty.
    pub namespaces: Vec<String>,
    /// Every package's rules are policies.
    pub all_namespaces: bool,
    /// Data files and directories to read into [`RegoOptions::data`]
    /// ([`read_data`]), as given.
    pub data_files: Vec<std::path::PathBuf>,
    /// Documents merged into `data`: (display path, value).
    pub data: Vec<(String, serde_json::Value)>,
    /// Parse every module as Rego v0 (OPA before 1.0). Otherwise a module
    /// is read as v1 and, when only v0 syntax parses it, as v0.
    pub v0: bool,
    /// conftest's `--combine`: the policies are evaluated once, with
    /// `input` an array of every file as `{path, contents}`.
    pub combine: bool,
    /// Evaluate a Gatekeeper template's `K8sNativeValidation` CEL rather
    /// than its Rego where it has both (a template with CEL only always
    /// uses it).
    pub gatekeeper_cel: bool,
}

/// Reads the data files and directories of `rego.data_files` (relative to
/// `working_dir`) into `rego.data`, as OPA's loader and conftest `--data`
/// do: a file's documents are merged at the root of `data`; a directory's
/// YAML and JSON files under the path of their subdirectory
/// (`dir/k8s/x.yaml` at `data.k8s`). Problems (missing, unreadable, not
/// YAML or JSON, more than one document) are located diagnostics; the file
/// texts go to `sources` for snippets.
pub fn read_data(
    rego: &mut RegoOptions,
    working_dir: &std::path::Path,
    sources: &mut std::collections::HashMap<String, Arc<str>>,
    diagnostics: &mut Vec<Diagnostic>,
) {
    for given in rego.data_files.clone() {
        let path = crate::paths::absolute(working_dir, &given);
        let files: Vec<(std::path::PathBuf, Vec<String>)> = if path.is_dir() {
            crate::loader::walk(&path)
                .files
                .into_iter()
                .filter(|f| crate::input::Format::of_path(&f.to_string_lossy()).is_some())
                .map(|f| {
                    let under = f
                        .parent()
                        .and_then(|d| d.strip_prefix(&path).ok())
                        .map(|d| d.components().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect());
                    (f, under.unwrap_or_default())
                })
                .collect()
        } else {
            vec![(path.clone(), Vec::new())]
        };
        for (file, under) in files {
            let shown = crate::loader::display_as_given(&file, &given, working_dir);
            let text = match crate::paths::read_text(&file) {
                Ok(t) => t,
                Err(e) => {
                    diagnostics.push(Diagnostic::error(
                        Code::Io,
                        &shown,
                        None,
                        format!("cannot read the data file: {e}"),
                    ));
                    continue;
                }
            };
            let parsed = crate::input::parse_path(&shown, &text);
            sources.insert(shown.clone(), Arc::from(text.as_str()));
            if let Some(e) = parsed.errors.first() {
                diagnostics.push(Diagnostic::error(
                    Code::Yaml,
                    &shown,
                    Some(Span::point(e.line, e.col)),
                    format!("data file: {}", e.message),
                ));
                continue;
            }
            let mut value = match parsed.documents.as_slice() {
                [] => continue,
                [one] => one.to_json(),
                [_, second, ..] => {
                    diagnostics.push(Diagnostic::error(
                        Code::Rego,
                        &shown,
                        Some(second.span),
                        "a data file holds one document: `data` cannot merge several",
                    ));
                    continue;
                }
            };
            if !value.is_object() && under.is_empty() {
                diagnostics.push(Diagnostic::error(
                    Code::Rego,
                    &shown,
                    parsed.documents.first().map(|d| d.span),
                    "a data file's document must be a mapping: it is merged into `data`",
                ));
                continue;
            }
            for key in under.iter().rev() {
                value = serde_json::json!({ key: value });
            }
            if value.get("bylaw").is_some() {
                // `data.bylaw.ctx` is the pipeline context: a data file may not replace it
                diagnostics.push(Diagnostic::error(
                    Code::Rego,
                    &shown,
                    parsed.documents.first().map(|d| d.span),
                    "`data.bylaw` is bylaw's (the pipeline context is `data.bylaw.ctx`): a data file may not set it",
                ));
                continue;
            }
            rego.data.push((shown, value));
        }
    }
}

/// The prefixes of the rules that are policies (conftest).
const KINDS: &[&str] = &["deny", "violation", "warn"];

/// Whether rule `name` is a policy rule: `deny`, `deny_x`, … Returns the
/// kind and the name an `exception` gives it (`x`, empty without suffix).
pub fn policy_rule(name: &str) -> Option<(&'static str, &str)> {
    KINDS.iter().find_map(|k| {
        let rest = name.strip_prefix(k)?;
        if rest.is_empty() {
            Some((*k, ""))
        } else {
            rest.strip_prefix('_').filter(|s| !s.is_empty()).map(|s| (*k, s))
        }
    })
}

/// A rule definition found in a module.
struct Definition {
    package: String,
    name: String,
    file: String,
    line: u32,
    col: u32,
    /// The whole definition's source text.
    text: String,
    /// A function (`f(x) := …`), not a rule.
    func: bool,
}

/// Compiles `modules` (with `rego`'s data and options) into one policy per
/// selected package that has policy rules. Parse and compile errors are
/// located diagnostics (file, line, column of the Rego source); a module
/// that does not parse is left out and the others still load.
pub fn compile(
    modules: &[RegoModule],
    rego: &RegoOptions,
    options: &CompileOptions,
) -> (Vec<CompiledPolicy>, Vec<Diagnostic>) {
    let mut diagnostics = Vec::new();
    if modules.is_empty() {
        return (Vec::new(), diagnostics);
    }
    let mut engine = super::new_engine();
    let mut added: Vec<&RegoModule> = Vec::new();
    for m in modules {
        match add_module(&mut engine, &m.file, &m.text, rego.v0) {
            Ok(_) => added.push(m),
            Err(e) => diagnostics.push(diagnostic(&e, &m.file, "a Rego module that does not parse is not loaded")),
        }
    }
    for (file, value) in &rego.data {
        if let Err(e) = engine.add_data(regorus::Value::from(value.clone())) {
            diagnostics.push(Diagnostic::error(
                Code::Rego,
                file,
                None,
                format!("cannot merge this data file into `data`: {}", super::one_line(&e.to_string())),
            ));
        }
    }
    // analysis (unsafe variables, unknown functions, recursion) happens
    // when the engine is first prepared: make it happen now, not per document
    if let Err(e) = engine.eval_query("true".to_owned(), false) {
        let file = added.first().map_or("", |m| m.file.as_str());
        diagnostics.push(diagnostic(&e.to_string(), file, "the Rego modules were not evaluated"));
        return (Vec::new(), diagnostics);
    }
    let selected = match namespaces(rego) {
        Ok(s) => s,
        Err(m) => {
            diagnostics.push(Diagnostic::error(Code::Usage, "", None, m));
            return (Vec::new(), diagnostics);
        }
    };
    let definitions = definitions(&mut engine, &added);
    // regorus has no depth limit: a recursive function would overflow the stack
    let recursive = recursive_functions(&definitions);
    if !recursive.is_empty() {
        diagnostics.extend(recursive);
        return (Vec::new(), diagnostics);
    }
    let annotations: BTreeMap<(&str, u32), serde_json::Value> = added
        .iter()
        .flat_map(|m| {
            annotations(&m.text, &m.file, &mut diagnostics).into_iter().map(move |(l, v)| ((m.file.as_str(), l), v))
        })
        .collect();
    // errors that only evaluation finds (an unknown function, an unsafe
    // variable): every policy rule once on an empty input, so they are
    // reported at load time, located, not as a finding on every document
    engine.set_input(regorus::Value::new_object());
    let mut checked = Vec::new();
    for d in &definitions {
        let rule = policy_rule(&d.name).is_some() || d.name == "exception";
        if !rule || !selected(&d.package) || checked.contains(&(&d.package, &d.name)) {
            continue;
        }
        checked.push((&d.package, &d.name));
        if let Err(e) = engine.eval_rule(format!("data.{}.{}", d.package, d.name)) {
            let e = e.to_string();
            let mut diag = diagnostic(&e, &d.file, "the rule fails whatever the input: fix it before it is evaluated");
            if diag.span.is_none() {
                diag.span = Some(Span::point(d.line, d.col).to(Span::point(d.line, d.col + d.name.len() as u32)));
            }
            diagnostics.push(diag);
        }
    }
    let inventory = added.iter().any(|m| m.text.contains("data.inventory"));
    let shared = Arc::new(Shared { engine: Mutex::new(engine), id: next_id(), inventory });
    let mut packages: Vec<&str> = Vec::new();
    for d in &definitions {
        if policy_rule(&d.name).is_some() && !packages.contains(&d.package.as_str()) && selected(&d.package) {
            packages.push(&d.package);
        }
    }
    // a namespace that selects nothing would switch the gate off unnoticed
    let with_rules: Vec<&str> = {
        let mut all: Vec<&str> =
            definitions.iter().filter(|d| policy_rule(&d.name).is_some()).map(|d| d.package.as_str()).collect();
        all.sort_unstable();
        all.dedup();
        all
    };
    for glob in &rego.namespaces {
        let one = RegoOptions { namespaces: vec![glob.clone()], ..RegoOptions::default() };
        let Ok(matches) = namespaces(&one) else { continue };
        if !with_rules.iter().any(|p| matches(p)) {
            diagnostics.push(
                Diagnostic::error(
                    Code::Usage,
                    "",
                    None,
                    format!("--namespace `{glob}` selects no package with deny, violation or warn rules"),
                )
                .with_hint(if with_rules.is_empty() {
                    "no loaded Rego package has such rules".to_owned()
                } else {
                    format!("packages with rules: {}", with_rules.join(", "))
                }),
            );
        }
    }
    if packages.is_empty() && !with_rules.is_empty() && rego.namespaces.is_empty() && !rego.all_namespaces {
        diagnostics.push(
            Diagnostic::warning(
                Code::Usage,
                "",
                None,
                "no Rego package `main` has deny, violation or warn rules: none of the Rego rules is evaluated",
            )
            .with_hint(format!(
                "select packages with --namespace GLOB or --all-namespaces (packages with rules: {})",
                with_rules.join(", ")
            )),
        );
    }
    let mut policies = Vec::new();
    for package in packages {
        let defs: Vec<&Definition> = definitions.iter().filter(|d| d.package == package).collect();
        let has_exceptions = defs.iter().any(|d| d.name == "exception");
        let package_meta = added
            .iter()
            .filter_map(|m| {
                let line = package_line(&m.text)?;
                (package_of(&m.text).as_deref() == Some(package)).then(|| annotations.get(&(m.file.as_str(), line)))?
            })
            .next()
            .cloned()
            .unwrap_or_default();
        let mut rules = Vec::new();
        let mut names: Vec<super::RuleQuery> = Vec::new();
        for d in defs.iter().filter(|d| policy_rule(&d.name).is_some()) {
            if names.iter().any(|q| q.name == d.name) {
                continue;
            }
            let meta = defs
                .iter()
                .filter(|o| o.name == d.name)
                .find_map(|o| annotations.get(&(o.file.as_str(), o.line)))
                .cloned()
                .unwrap_or_default();
            let Some((kind, short)) = policy_rule(&d.name) else { continue };
            rules.push(rule(package, d, kind, &meta, options, &mut diagnostics));
            let missing = defs.iter().filter(|o| o.name == d.name).flat_map(|o| negated_input_paths(&o.text)).collect();
            names.push(super::RuleQuery { name: d.name.clone(), short: short.to_owned(), missing });
        }
        let custom = &package_meta["custom"];
        let file = defs.iter().find(|d| policy_rule(&d.name).is_some()).map(|d| d.file.clone()).unwrap_or_default();
        policies.push(CompiledPolicy {
            name: package.to_owned(),
            version: custom["version"].as_str().map(str::to_owned),
            kind: serde_json::from_value::<PolicyType>(custom["type"].clone()).unwrap_or_default(),
            lifecycle: Lifecycle::Enforced,
            description: package_meta["description"].as_str().or(package_meta["title"].as_str()).map(str::to_owned),
            file,
            target: if rego.combine { Target::Pipeline } else { Target::Documents },
            files: None,
            kinds: Vec::new(),
            types: Vec::new(),
            language: NAME,
            program: Box::new(RegoProgram {
                shared: shared.clone(),
                package: format!("data.{package}"),
                rules: names,
                has_exceptions,
                gatekeeper: None,
                combine: rego.combine,
            }),
            rules,
            needs_json: true,
            reads_every_file: rego.combine,
            owners: strings(&custom["owners"]),
            exception_rules: Default::default(),
        });
    }
    (policies, diagnostics)
}

/// A rule of a Rego policy, from its first definition and its annotations.
fn rule(
    package: &str,
    d: &Definition,
    kind: &str,
    meta: &serde_json::Value,
    options: &CompileOptions,
    diagnostics: &mut Vec<Diagnostic>,
) -> CompiledRule {
    let custom = &meta["custom"];
    let span = Span::point(d.line, d.col).to(Span::point(d.line, d.col + d.name.len() as u32));
    let mut bad = |field: &str, expected: &str| {
        diagnostics.push(
            Diagnostic::error(Code::Rego, &d.file, Some(span), format!("METADATA `custom.{field}` must be {expected}"))
                .with_hint("see `bylaw schema policy` for the values YAML rules take; Rego rules take the same"),
        );
    };
    let severity = match custom.get("severity") {
        None => Severity::Medium,
        Some(v) => serde_json::from_value(v.clone()).unwrap_or_else(|_| {
            bad("severity", "one of critical, high, medium, low, info");
            Severity::Medium
        }),
    };
    let level = match custom.get("enforcement") {
        None => None,
        Some(v) => serde_json::from_value::<Enforcement>(v.clone()).ok().or_else(|| {
            bad("enforcement", "one of mandatory, blocking, advisory, audit");
            None
        }),
    };
    let default = if kind == "warn" { Enforcement::Advisory } else { Enforcement::Blocking };
    let resolved = enforcement::resolve_level(level.unwrap_or(default), options.today);
    // an id as YAML rules' (`bylaw schema policy`): letters, digits, `_.-`
    let valid_id = |s: &str| {
        s.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
            && s.chars().all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
    };
    let id = match custom.get("id") {
        None => format!("{package}.{}", d.name),
        Some(serde_json::Value::String(s)) if valid_id(s) => s.clone(),
        Some(_) => {
            bad("id", "a string of letters, digits, `_`, `.` and `-` starting with a letter or digit");
            format!("{package}.{}", d.name)
        }
    };
    if !custom["remediation"].is_null() && !custom["remediation"].is_string() {
        bad("remediation", "a string");
    }
    for (field, value) in [("title", &meta["title"]), ("description", &meta["description"])] {
        if !value.is_null() && !value.is_string() {
            diagnostics.push(Diagnostic::error(
                Code::Rego,
                &d.file,
                Some(span),
                format!("METADATA `{field}` must be a string"),
            ));
        }
    }
    CompiledRule {
        title: meta["title"].as_str().map_or_else(|| id.clone(), str::to_owned),
        id,
        description: meta["description"].as_str().map(str::to_owned),
        severity,
        remediation: custom["remediation"].as_str().map(str::to_owned),
        controls: strings(&custom["controls"]),
        enforcement: resolved.level,
        notes: resolved.notes,
        each: None,
        condition: 0,
        at: None,
        message: vec![Part::Expr { source: "msg".to_owned(), expression: Expression { index: 0, field: None } }],
        span,
    }
}

fn strings(v: &serde_json::Value) -> Vec<String> {
    match v {
        serde_json::Value::String(s) => vec![s.clone()],
        serde_json::Value::Array(a) => a.iter().filter_map(|x| x.as_str().map(str::to_owned)).collect(),
        _ => Vec::new(),
    }
}

pub(super) fn next_id() -> usize {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(1);
    NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

/// Adds a module: as Rego v1 (OPA 1.0's default), else as v0 when only
/// that parses it (the gatekeeper-library and older conftest folders are
/// v0); with `v0`, as v0 only. The error is the one of the parse that got
/// further into the file.
pub(super) fn add_module(engine: &mut regorus::Engine, file: &str, text: &str, v0: bool) -> Result<String, String> {
    // a byte order mark (editors on Windows write one) is not Rego
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    engine.set_rego_v0(v0);
    let first = match engine.add_policy(file.to_owned(), text.to_owned()) {
        Ok(package) => return Ok(package),
        Err(e) => e.to_string(),
    };
    if v0 {
        return Err(first);
    }
    engine.set_rego_v0(true);
    let second = engine.add_policy(file.to_owned(), text.to_owned());
    engine.set_rego_v0(false);
    match second {
        Ok(package) => Ok(package),
        Err(e) => {
            let e = e.to_string();
            Err(if position(&e) > position(&first) { e } else { first })
        }
    }
}

/// (line, column) of a regorus error's `--> file:line:col`.
fn position(e: &str) -> (u32, u32) {
    e.lines()
        .find_map(|l| l.trim().strip_prefix("--> "))
        .and_then(|at| {
            let mut parts = at.rsplitn(3, ':');
            let col = parts.next()?.parse().ok()?;
            let line = parts.next()?.parse().ok()?;
            Some((line, col))
        })
        .unwrap_or((0, 0))
}

/// A located diagnostic from a regorus error.
pub(super) fn diagnostic(e: &str, file: &str, consequence: &str) -> Diagnostic {
    let (line, col) = position(e);
    let message = e
        .lines()
        .rev()
        .map(str::trim)
        .find_map(|l| l.strip_prefix("error:"))
        .map(|m| m.trim().to_owned())
        .unwrap_or_else(|| super::one_line(e));
    let span = (line > 0).then(|| Span::point(line, col.max(1)).to(Span::point(line, col.max(1) + 1)));
    Diagnostic::error(Code::Rego, file, span, message).with_hint(consequence.to_owned())
}

/// Whether a package (its path, `main`) is selected.
type Selector = Box<dyn Fn(&str) -> bool>;

/// The package selector of the run.
fn namespaces(rego: &RegoOptions) -> Result<Selector, String> {
    if rego.all_namespaces {
        return Ok(Box::new(|_| true));
    }
    if rego.namespaces.is_empty() {
        return Ok(Box::new(|p| p == "main"));
    }
    let mut set = globset::GlobSetBuilder::new();
    for n in &rego.namespaces {
        let glob = globset::GlobBuilder::new(n)
            .literal_separator(false)
            .build()
            .map_err(|e| format!("invalid --namespace glob `{n}`: {}", e.kind()))?;
        set.add(glob);
    }
    let set = set.build().map_err(|e| e.to_string())?;
    Ok(Box::new(move |p| set.is_match(p)))
}

/// Every rule definition of the modules, in file order.
fn definitions(engine: &mut regorus::Engine, added: &[&RegoModule]) -> Vec<Definition> {
    use regorus::unstable::{Rule, RuleHead};
    let mut out = Vec::new();
    for (module, source) in engine.get_modules().iter().zip(added) {
        let package = module.package.refr.span().text().trim_start_matches("data.").to_owned();
        for rule in &module.policy {
            let (refr, func) = match rule.as_ref() {
                Rule::Spec { head, .. } => match head {
                    RuleHead::Compr { refr, .. } | RuleHead::Set { refr, .. } => (refr, false),
                    RuleHead::Func { refr, .. } => (refr, true),
                },
                Rule::Default { refr, .. } => (refr, false),
            };
            let span = refr.span();
            let name: String = span.text().chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
            out.push(Definition {
                package: package.clone(),
                name,
                file: source.file.clone(),
                line: span.line,
                col: span.col,
                text: rule.span().text().to_owned(),
                func,
            });
        }
    }
    out
}

/// The `input` paths a rule body requires to be absent (`not
/// input.spec.securityContext.runAsNonRoot`): where a finding of a missing
/// field is, its deepest part that exists.
pub(super) fn negated_input_paths(text: &str) -> Vec<Vec<crate::node::Segment>> {
    use crate::node::Segment;
    static NOT_INPUT: std::sync::OnceLock<Option<regex::Regex>> = std::sync::OnceLock::new();
    let pattern = r#"\bnot\s+input((?:\.[A-Za-z_][A-Za-z0-9_]*|\["[^"\]]*"\]|\[[0-9]+\])+)"#;
    let Some(re) = NOT_INPUT.get_or_init(|| regex::Regex::new(pattern).ok()) else { return Vec::new() };
    re.captures_iter(text)
        .filter_map(|c| {
            let path = c.get(1)?.as_str();
            crate::compile::parse_dotted(path.trim_start_matches('.')).ok()
        })
        .collect::<Vec<Vec<Segment>>>()
}

/// Functions that call themselves, directly or through others of their
/// package (OPA rejects them: `rego_recursion_error`): an error at each.
fn recursive_functions(definitions: &[Definition]) -> Vec<Diagnostic> {
    let funcs: Vec<&Definition> = definitions.iter().filter(|d| d.func).collect();
    let calls = |d: &Definition, name: &str| {
        // the body after the head: `name(` as a word
        let body = d.text.split_once(['{', '=']).map_or("", |(_, b)| b);
        body.match_indices(&format!("{name}("))
            .any(|(i, _)| !body[..i].chars().next_back().is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '.'))
    };
    let mut out = Vec::new();
    let mut reported: Vec<(&str, &str)> = Vec::new();
    for f in &funcs {
        // depth-first over the calls, within the package
        let mut stack = vec![f.name.as_str()];
        let mut seen: Vec<&str> = Vec::new();
        let mut cycle = false;
        while let Some(name) = stack.pop() {
            for g in funcs.iter().filter(|g| g.package == f.package && g.name == name) {
                for h in funcs.iter().filter(|h| h.package == f.package) {
                    if calls(g, &h.name) {
                        if h.name == f.name {
                            cycle = true;
                        } else if !seen.contains(&h.name.as_str()) {
                            seen.push(&h.name);
                            stack.push(&h.name);
                        }
                    }
                }
            }
        }
        if cycle && !reported.contains(&(f.package.as_str(), f.name.as_str())) {
            reported.push((&f.package, &f.name));
            let span = Span::point(f.line, f.col).to(Span::point(f.line, f.col + f.name.len() as u32));
            out.push(
                Diagnostic::error(Code::Rego, &f.file, Some(span), format!("function `{}` is recursive", f.name))
                    .with_hint(
                    "Rego functions may not call themselves, directly or through others (OPA: rego_recursion_error)",
                ),
            );
        }
    }
    out
}

/// The line of a module's `package` statement.
fn package_line(text: &str) -> Option<u32> {
    text.lines().position(|l| l.trim_start().starts_with("package ")).map(|i| i as u32 + 1)
}

/// The package path a module declares.
fn package_of(text: &str) -> Option<String> {
    text.lines().find_map(|l| l.trim_start().strip_prefix("package ")).map(|p| p.trim().to_owned())
}

/// The METADATA annotations of a module, by the line of the statement
/// each precedes: a comment line `# METADATA` and the comment lines after
/// it, read as YAML (OPA's annotation syntax). A block that is not YAML is
/// a located error.
fn annotations(text: &str, file: &str, diagnostics: &mut Vec<Diagnostic>) -> BTreeMap<u32, serde_json::Value> {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = BTreeMap::new();
    let mut i = 0;
    while i < lines.len() {
        if lines[i].trim() != "# METADATA" {
            i += 1;
            continue;
        }
        let start = i + 1;
        let mut j = start;
        let mut yaml = String::new();
        while j < lines.len() && lines[j].trim_start().starts_with('#') {
            let body = lines[j].trim_start().trim_start_matches('#');
            yaml.push_str(body.strip_prefix(' ').unwrap_or(body));
            yaml.push('\n');
            j += 1;
        }
        let parsed = crate::input::yaml::parse(&yaml);
        if let Some(e) = parsed.errors.first() {
            diagnostics.push(Diagnostic::error(
                Code::Rego,
                file,
                Some(Span::point(start as u32 + e.line, 1)),
                format!("METADATA is not YAML: {}", e.message),
            ));
        } else if let Some(doc) = parsed.documents.first() {
            // the statement it annotates: the next line that is not blank
            let mut k = j;
            while k < lines.len() && lines[k].trim().is_empty() {
                k += 1;
            }
            out.insert(k as u32 + 1, doc.to_json());
        }
        i = j;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_rules_are_conftests() {
        assert_eq!(policy_rule("deny"), Some(("deny", "")));
        assert_eq!(policy_rule("deny_root"), Some(("deny", "root")));
        assert_eq!(policy_rule("warn_x_y"), Some(("warn", "x_y")));
        assert_eq!(policy_rule("violation"), Some(("violation", "")));
        for no in ["denial", "deny_", "allow", "exception", "warning"] {
            assert_eq!(policy_rule(no), None, "{no}");
        }
    }

    #[test]
    fn annotations_attach_to_the_next_statement() {
        let text = "# METADATA\n# title: Pkg\npackage main\n\n# METADATA\n# title: No root\n# custom:\n#   id: K-1\n\ndeny contains msg if {\n  msg := \"x\"\n}\n";
        let mut d = Vec::new();
        let a = annotations(text, "p.rego", &mut d);
        assert!(d.is_empty(), "{d:?}");
        assert_eq!(a[&3]["title"], "Pkg");
        assert_eq!(a[&10]["custom"]["id"], "K-1");
    }

    #[test]
    fn errors_point_at_the_rego_source() {
        let e = "\n--> p.rego:3:7\n  |\n3 | deny x\n  |       ^\nerror: unexpected token";
        assert_eq!(position(e), (3, 7));
        let d = diagnostic(e, "p.rego", "not loaded");
        assert_eq!(d.message, "unexpected token");
        assert_eq!(d.span.map(|s| (s.start_line, s.start_col)), Some((3, 7)));
    }
}
