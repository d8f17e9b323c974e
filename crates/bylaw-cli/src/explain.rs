//! `bylaw rules` lists rules (of the built-in packs, or of given policies);
//! `bylaw explain RULE` prints a rule's full documentation; `bylaw explain
//! --effective POLICY` prints a policy after `extends` is resolved, each
//! rule marked with the file it comes from; `bylaw explain --effective
//! --env ENV` (or `--all-envs`) what is enforced in each environment
//! ([`envs`]).

use crate::common::{self, usage_error};
use crate::Cli;
use bylaw_engine::compile::{CompileOptions, CompiledPolicy, CompiledRule};
use bylaw_engine::loader::{self, LoadedPolicy};
use bylaw_engine::packs;
use bylaw_run::RegoOptions;
use clap::Args;
use serde_json::Value;
use std::path::PathBuf;

mod envs;

#[derive(Args, Debug)]
pub struct RulesArgs {
    /// Only this built-in pack.
    #[arg(long, value_name = "PACK")]
    pub pack: Option<String>,
    /// List the rules of these policies (files or directories) instead of the packs.
    #[arg(short = 'p', long = "policy", value_name = "POLICY")]
    pub policies: Vec<PathBuf>,
    #[command(flatten)]
    pub rego: crate::rego_args::RegoArgs,
}

#[derive(Args, Debug)]
pub struct ExplainArgs {
    /// A rule id (with --effective: a policy file; with --effective and no
    /// target: the configured policies, per environment).
    pub target: Option<String>,
    /// Show the effective policy of the policy file TARGET (after
    /// `extends`); without TARGET, what is enforced in each environment.
    #[arg(long)]
    pub effective: bool,
    /// With --effective and no TARGET: the environment whose policies and
    /// enforcement to explain (default: every configured one).
    #[arg(long, value_name = "ENV", requires = "effective", conflicts_with = "all_envs")]
    pub env: Option<String>,
    /// With --effective and no TARGET: every configured environment and the
    /// default, one column each (the default without --env).
    #[arg(long, requires = "effective")]
    pub all_envs: bool,
    /// The config file (default: .bylaw.yaml found from the working directory).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Output format of --effective without TARGET.
    #[arg(long, value_name = "FORMAT", default_value = "text", value_parser = ["text", "json"])]
    pub format: String,
    /// Also look for the rule in these policies (default: the packs, and `policies` of .bylaw.yaml).
    #[arg(short = 'p', long = "policy", value_name = "POLICY")]
    pub policies: Vec<PathBuf>,
    #[command(flatten)]
    pub rego: crate::rego_args::RegoArgs,
}

/// What [`load`] found: YAML policies as loaded, Rego policies compiled.
struct Policies {
    yaml: Vec<LoadedPolicy>,
    rego: Vec<CompiledPolicy>,
}

/// Loads policies, printing diagnostics; `Err` is the exit code.
/// Packs are loaded one by one (a pack extending another would otherwise
/// hide it as its base). Rego modules are compiled with `rego`.
fn load(paths: &[PathBuf], rego: &RegoOptions, color: bool) -> Result<Policies, u8> {
    load_with(paths, &[], rego, color)
}

/// [`load`] with the policy files of bundles, in memory.
fn load_with(
    paths: &[PathBuf],
    memory: &[loader::MemoryFile],
    rego: &RegoOptions,
    color: bool,
) -> Result<Policies, u8> {
    let (packs, files): (Vec<&PathBuf>, Vec<&PathBuf>) =
        paths.iter().partition(|p| p.to_str().is_some_and(|s| s.starts_with("pack:")));
    let mut groups: Vec<Vec<PathBuf>> = packs.into_iter().map(|p| vec![p.clone()]).collect();
    if !files.is_empty() || !memory.is_empty() {
        groups.push(files.into_iter().cloned().collect());
    }
    let mut out = Policies { yaml: Vec::new(), rego: Vec::new() };
    let wd = crate::common::working_dir();
    for g in groups {
        let packs_only = g.len() == 1 && g[0].to_str().is_some_and(|s| s.starts_with("pack:"));
        let mut loaded = loader::load_with(&g, if packs_only { &[] } else { memory }, wd);
        let mut rego = rego.clone();
        bylaw_engine::language::rego::read_data(&mut rego, wd, &mut loaded.sources, &mut loaded.diagnostics);
        let options = CompileOptions {
            environment: None,
            today: bylaw_engine::chrono::Utc::now().date_naive(),
            include_drafts: true,
        };
        let (mut compiled, diagnostics) = bylaw_engine::language::rego::compile(&loaded.rego, &rego, &options);
        loaded.diagnostics.extend(diagnostics);
        let (constraints, diagnostics) =
            bylaw_engine::language::rego::gatekeeper::compile(&loaded.gatekeeper, &rego, &options);
        loaded.diagnostics.extend(diagnostics);
        compiled.extend(constraints);
        if loaded.has_errors() {
            common::print_diagnostics(&loaded.diagnostics, &loaded.sources, color);
            return Err(usage_error("the policies do not load", Some("run `bylaw validate`"), color));
        }
        out.yaml.extend(loaded.policies);
        out.rego.extend(compiled);
    }
    Ok(out)
}

fn pack_paths(only: Option<&str>) -> Vec<PathBuf> {
    packs::names()
        .into_iter()
        .filter(|n| only.is_none_or(|o| o == *n))
        .map(|n| PathBuf::from(format!("pack:{n}")))
        .collect()
}

pub fn rules(args: &RulesArgs, cli: &Cli) -> u8 {
    let color = common::stderr_color(cli);
    if let Some(p) = &args.pack {
        if packs::source(p).is_none() {
            return usage_error(
                &format!("no built-in pack `{p}`"),
                Some(&format!("packs: {}", packs::names().join(", "))),
                color,
            );
        }
    }
    let paths = if args.policies.is_empty() { pack_paths(args.pack.as_deref()) } else { args.policies.clone() };
    let Policies { yaml: policies, rego } = match load(&paths, &args.rego.options(&Default::default()), color) {
        Ok(p) => p,
        Err(code) => return code,
    };
    // each rule once, with every policy or pack that holds it (a pack that
    // extends another holds its rules too)
    let mut rows: Vec<[String; 4]> = Vec::new();
    for p in &policies {
        for r in &p.def.spec.rules {
            let name = p.def.metadata.name.clone();
            match rows.iter_mut().find(|row| row[0] == r.id) {
                Some(row) => {
                    row[2].push_str(", ");
                    row[2].push_str(&name);
                }
                None => rows.push([
                    r.id.clone(),
                    r.severity.map(|s| s.to_string()).unwrap_or_else(|| "medium".into()),
                    name,
                    r.title.clone().unwrap_or_default(),
                ]),
            }
        }
    }
    for p in &rego {
        for r in &p.rules {
            rows.push([r.id.clone(), r.severity.to_string(), p.name.clone(), r.title.clone()]);
        }
    }
    let count = policies.len() + rego.len();
    let w: Vec<usize> = (0..3).map(|i| rows.iter().map(|r| r[i].len()).max().unwrap_or(0).max(8)).collect();
    crate::outln!("{:<w0$}  {:<w1$}  {:<w2$}  TITLE", "RULE", "SEVERITY", "POLICIES", w0 = w[0], w1 = w[1], w2 = w[2]);
    for r in &rows {
        crate::outln!("{:<w0$}  {:<w1$}  {:<w2$}  {}", r[0], r[1], r[2], r[3], w0 = w[0], w1 = w[1], w2 = w[2]);
    }
    crate::outln!(
        "\n{} rules in {} polic{}; `bylaw explain RULE` shows one in full",
        rows.len(),
        count,
        if count == 1 { "y" } else { "ies" }
    );
    0
}

pub fn explain(args: &ExplainArgs, cli: &Cli) -> u8 {
    let color = common::stderr_color(cli);
    let target = match (&args.target, args.effective) {
        (Some(t), true) if args.env.is_none() && !args.all_envs => return effective(t, color),
        (Some(_), true) => {
            return usage_error(
                "--env and --all-envs explain the configured policies: give no POLICY",
                Some("`bylaw explain --effective POLICY` shows one policy after `extends`"),
                color,
            )
        }
        (None, true) => {
            let config = match common::load_config(args.config.as_deref(), false, &[], color) {
                Ok(c) => c,
                Err(code) => return code,
            };
            return envs::run(&envs::Request {
                env: args.env.as_deref(),
                config: &config,
                policies: &args.policies,
                rego: args.rego.options(&config),
                json: args.format == "json",
                color,
            });
        }
        (Some(t), false) => t.as_str(),
        (None, false) => {
            return usage_error(
                "bylaw explain RULE: name a rule",
                Some("`bylaw rules` lists them; `bylaw explain --effective --env ENV` shows what is enforced where"),
                color,
            )
        }
    };
    let config = common::load_config(args.config.as_deref(), false, &[], color).unwrap_or_default();
    // the packs, then every source set of the config (the top-level
    // `policies` and each environment's own, loaded apart: two environments
    // may hold two versions of a policy), or the policies given
    let mut sets = vec![pack_paths(None)];
    if args.policies.is_empty() {
        sets.extend(bylaw_run::validate::config_source_sets(&config));
    } else {
        sets.push(args.policies.clone());
    }
    let options = crate::bundle_cmd::source_options(Some(&config));
    let (mut policies, mut rego) = (Vec::new(), Vec::new());
    for set in &sets {
        let resolved = match bylaw_run::sources::resolve(set, &config, &options, common::working_dir()) {
            Ok(r) => r,
            Err(e) => return common::show_error(&e, color),
        };
        for w in &resolved.warnings {
            eprintln!("warning: {}", common::safe(w));
        }
        let mut options = args.rego.options(&config);
        options.data.extend(resolved.data);
        match load_with(&resolved.paths, &resolved.memory, &options, color) {
            Ok(p) => {
                policies.extend(p.yaml);
                rego.extend(p.rego);
            }
            Err(code) => return code,
        }
    }
    for p in &rego {
        if let Some(r) = p.rules.iter().find(|r| r.id == target) {
            print_compiled_rule(p, r);
            return 0;
        }
    }
    for p in &policies {
        for (i, r) in p.def.spec.rules.iter().enumerate() {
            if r.id != target {
                continue;
            }
            print_rule(p, i);
            return 0;
        }
    }
    let ids: Vec<String> = policies
        .iter()
        .flat_map(|p| p.def.spec.rules.iter().map(|r| r.id.clone()))
        .chain(rego.iter().flat_map(|p| p.rules.iter().map(|r| r.id.clone())))
        .collect();
    // `df-001` is `DF-001` spelled in lower case
    let same_but_case = ids.iter().find(|id| id.eq_ignore_ascii_case(target)).map(String::as_str);
    let hint = same_but_case
        .or_else(|| bylaw_engine::diagnostic::did_you_mean(target, ids.iter().map(String::as_str)))
        .map(|m| format!("did you mean `{m}`?"))
        .unwrap_or_else(|| "`bylaw rules` lists the rules of the built-in packs".into());
    usage_error(&format!("no rule `{}` in the built-in packs or the project's policies", target), Some(&hint), color)
}

/// A rule of a compiled (Rego) policy: its METADATA, and where its
/// definitions are.
fn print_compiled_rule(p: &CompiledPolicy, r: &CompiledRule) {
    crate::outln!("{}: {}", r.id, r.title);
    crate::outln!();
    crate::outln!("  policy       {} ({}, Rego)", p.name, p.file);
    crate::outln!("  severity     {}", r.severity);
    crate::outln!("  enforcement  {} (by default)", r.enforcement);
    if !r.controls.is_empty() {
        crate::outln!("  controls     {}", r.controls.join(", "));
    }
    if let Some(d) = &r.description {
        crate::outln!("\nWhy\n  {d}");
    }
    if let Some(m) = &r.remediation {
        crate::outln!("\nRemediation\n  {m}");
    }
    crate::outln!("\nCondition");
    let program = p.program.downcast_ref::<bylaw_engine::language::rego::RegoProgram>();
    let index = p.rules.iter().position(|x| x.id == r.id);
    if let Some(q) = program.zip(index).and_then(|(prog, i)| prog.rules.get(i)) {
        crate::outln!("  every definition of Rego rule `{}` in package {}", q.name, p.name);
    }
}

fn print_rule(p: &LoadedPolicy, i: usize) {
    let r = &p.def.spec.rules[i];
    crate::outln!("{}: {}", r.id, r.title.as_deref().unwrap_or(""));
    crate::outln!();
    crate::outln!("  policy       {} ({})", p.def.metadata.name, p.rule_file(i));
    crate::outln!("  severity     {}", r.severity.map(|s| s.to_string()).unwrap_or_else(|| "medium".into()));
    let enforcement =
        r.enforcement.or(p.def.spec.enforcement).map(|e| e.to_string()).unwrap_or_else(|| "blocking".into());
    crate::outln!("  enforcement  {enforcement} (by default)");
    if !r.controls.is_empty() {
        crate::outln!("  controls     {}", r.controls.join(", "));
    }
    if let Some(d) = &r.description {
        crate::outln!("\nWhy\n  {d}");
    }
    if let Some(m) = &r.remediation {
        crate::outln!("\nRemediation\n  {m}");
    }
    crate::outln!("\nCondition");
    if let Some(e) = &r.each {
        crate::outln!("  each: {e}");
    }
    let json = p.effective_json.clone().unwrap_or_else(|| p.root.to_json());
    let rule_json =
        json["spec"]["rules"].as_array().and_then(|rs| rs.iter().find(|x| x["id"] == r.id.as_str())).cloned();
    for key in ["deny", "require"] {
        if let Some(c) = rule_json.as_ref().and_then(|x| x.get(key)) {
            crate::out!("  {key}:{}", yaml(c, 4));
        }
    }
    if let Some(ex) = &r.examples {
        for (label, text) in [("Failing example", &ex.fail), ("Passing example", &ex.pass)] {
            if let Some(t) = text {
                crate::outln!("\n{label}{}", ex.path.as_ref().map(|p| format!(" ({p})")).unwrap_or_default());
                for line in t.lines() {
                    crate::outln!("  {line}");
                }
            }
        }
    }
}

fn effective(target: &str, color: bool) -> u8 {
    let policies = match load(&[PathBuf::from(target)], &RegoOptions::default(), color) {
        Ok(p) => p.yaml,
        Err(code) => return code,
    };
    for p in &policies {
        crate::outln!("# Effective policy `{}` from {}", p.def.metadata.name, p.file);
        if !p.extends_chain.is_empty() {
            crate::outln!("# extends (resolved first, in order): {}", p.extends_chain.join(", "));
            crate::outln!(
                "# resolution: parents in `extends` order, then this file; later wins for params, environments,"
            );
            crate::outln!(
                "# overrides and each field of match; disable is the union; a rule with an inherited id replaces it."
            );
        }
        let json = p.effective_json.clone().unwrap_or_else(|| p.root.to_json());
        let mut by_file: Vec<(String, Vec<String>)> = Vec::new();
        for (i, r) in p.def.spec.rules.iter().enumerate() {
            let f = p.rule_file(i).to_owned();
            match by_file.iter_mut().find(|(x, _)| *x == f) {
                Some((_, ids)) => ids.push(r.id.clone()),
                None => by_file.push((f, vec![r.id.clone()])),
            }
        }
        for (f, ids) in &by_file {
            crate::outln!("# rules from {f}: {}", ids.join(", "));
        }
        crate::out!("{}", yaml(&json, 0).trim_start_matches('\n'));
        crate::outln!();
    }
    0
}

fn plain_ok(s: &str) -> bool {
    !s.is_empty()
        && !s.contains(": ")
        && !s.contains(" #")
        && !s.ends_with(':')
        && !s.starts_with(|c: char| " -?:,[]{}#&*!|>'\"%@`".contains(c))
        && !s.ends_with(' ')
        && !["true", "false", "null", "yes", "no", "on", "off", "~"].contains(&s.to_ascii_lowercase().as_str())
        && s.parse::<f64>().is_err()
        && !s.contains(['\n', '\t'])
}

/// A small YAML emitter for JSON values (block style; strings quoted as JSON
/// when plain style would change their meaning, multi-line ones as `|`).
fn yaml(v: &Value, indent: usize) -> String {
    let pad = " ".repeat(indent);
    match v {
        Value::Object(m) if m.is_empty() => " {}\n".into(),
        Value::Array(a) if a.is_empty() => " []\n".into(),
        Value::Object(m) => {
            let mut out = String::from("\n");
            for (k, val) in m {
                let key = if plain_ok(k) { k.clone() } else { Value::String(k.clone()).to_string() };
                out.push_str(&format!("{pad}{key}:{}", yaml(val, indent + 2)));
            }
            out
        }
        Value::Array(a) => {
            let mut out = String::from("\n");
            for item in a {
                let inner = yaml(item, indent + 2);
                match item {
                    Value::Object(m) if !m.is_empty() => {
                        // first key on the dash line
                        let body = inner.trim_start_matches('\n');
                        out.push_str(&format!("{pad}- {}", body.trim_start()));
                    }
                    _ => out.push_str(&format!("{pad}-{inner}")),
                }
            }
            out
        }
        Value::String(s) if s.contains('\n') => {
            let mut out = String::from(" |\n");
            for line in s.trim_end_matches('\n').lines() {
                out.push_str(&format!("{pad}  {line}\n"));
            }
            out
        }
        Value::String(s) if plain_ok(s) => format!(" {s}\n"),
        other => format!(" {other}\n"),
    }
}
