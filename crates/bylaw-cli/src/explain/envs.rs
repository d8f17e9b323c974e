//! `bylaw explain --effective --env ENV` (and `--all-envs`, or neither with
//! no target): what is enforced where (issue 18, item 3). For each
//! environment, the policies in effect there (its `policies` in
//! .bylaw.yaml, else the top-level list) with their version, lifecycle and
//! source, and each rule's effective level with every step of the
//! resolution of DESIGN §4 that applied (rule → overrides →
//! environments[env] → lifecycle → enforce_from). Policies are loaded
//! through `bylaw_run`, like `check` loads them; the date is the run's
//! (`BYLAW_NOW`, as for `check`).

use crate::common::{self, usage_error};
use bylaw_engine::chrono::NaiveDate;
use bylaw_engine::compile::{self, CompileOptions};
use bylaw_engine::config::Config;
use bylaw_engine::enforcement;
use bylaw_engine::paths::{absolute, canonical};
use bylaw_run::RegoOptions;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

/// One rule's effective enforcement in one environment.
struct RuleView {
    id: String,
    resolved: enforcement::Resolved,
    /// `false` for a draft policy's rules (not evaluated unless asked).
    evaluated: bool,
}

/// One policy in effect in one environment.
struct PolicyView {
    name: String,
    version: Option<String>,
    lifecycle: &'static str,
    /// The configured source (`policies/`, `pack:NAME`, …) it comes from.
    source: String,
    file: String,
    rules: Vec<RuleView>,
}

/// One environment (`None`: the default, no environment).
struct EnvView {
    env: Option<String>,
    sources: Vec<String>,
    policies: Vec<PolicyView>,
}

/// What to explain: the environment (`None` for every configured one and
/// the default), the config, `-p` policies, the output format.
pub struct Request<'a> {
    pub env: Option<&'a str>,
    pub config: &'a Config,
    pub policies: &'a [PathBuf],
    pub rego: RegoOptions,
    pub json: bool,
    pub color: bool,
}

/// Runs it; returns the exit code (2 when the policies do not load).
pub fn run(req: &Request<'_>) -> u8 {
    let today = match bylaw_ci::env::now(&bylaw_ci::env::process_env) {
        Ok(now) => now.date_naive(),
        Err(m) => return usage_error(&m, None, req.color),
    };
    let config = req.config;
    let envs: Vec<Option<String>> = match req.env {
        Some(e) => {
            if config.environment(e).is_none() {
                let names: Vec<&str> = config.environments.iter().map(|(n, _)| n.as_str()).collect();
                let hint = bylaw_engine::diagnostic::did_you_mean(e, names.iter().copied())
                    .map(|m| format!(" (did you mean `{m}`?)"))
                    .unwrap_or_default();
                eprintln!(
                    "note: environment `{}` is not in `environments:` of the config{hint}: the top-level `policies` apply",
                    common::safe(e)
                );
            }
            vec![Some(e.to_owned())]
        }
        None => std::iter::once(None).chain(config.environments.iter().map(|(n, _)| Some(n.clone()))).collect(),
    };
    let mut views = Vec::new();
    for env in envs {
        match view(req, env, today) {
            Ok(v) => views.push(v),
            Err(code) => return code,
        }
    }
    match (req.json, req.env.is_some()) {
        (true, true) => print_json(&env_json(&views[0], today)),
        (true, false) => print_json(&json!({
            "date": today.to_string(),
            "environments": views.iter().map(|v| env_json(v, today)).collect::<Vec<_>>(),
        })),
        (false, true) => print_env(&views[0], today),
        (false, false) => print_matrix(&views, today),
    }
    0
}

fn print_json(v: &Value) {
    crate::outln!("{}", serde_json::to_string_pretty(v).unwrap_or_default());
}

/// Loads and resolves the policies in effect in `env`.
fn view(req: &Request<'_>, env: Option<String>, today: NaiveDate) -> Result<EnvView, u8> {
    let config = req.config;
    let wd = common::working_dir();
    let paths = bylaw_run::policy_paths_for(req.policies, config, env.as_deref());
    let sources: Vec<String> = if req.policies.is_empty() {
        config.policy_sources(env.as_deref())
    } else {
        req.policies.iter().map(|p| p.display().to_string()).collect()
    };
    if paths.is_empty() {
        return Err(common::show_error(&bylaw_run::RunError::NoPolicies, req.color));
    }
    let include_drafts = config.include_drafts.unwrap_or(false);
    // drafts are loaded too, to say that they are not evaluated
    let options = CompileOptions { environment: env.clone(), today, include_drafts: true };
    let mut messages = Vec::new();
    // bundles, URLs and registries as `check` reads them
    let source_options = crate::bundle_cmd::source_options(Some(config));
    let resolved = match bylaw_run::sources::resolve(&paths, config, &source_options, wd) {
        Ok(r) => r,
        Err(e) => return Err(common::show_error(&e, req.color)),
    };
    messages.extend(resolved.warnings.iter().cloned().map(bylaw_run::Message::Warning));
    let mut rego = req.rego.clone();
    rego.data.extend(resolved.data);
    let (set, loaded) =
        match bylaw_run::load_and_compile_with(&resolved.paths, &resolved.memory, options, &rego, wd, &mut messages) {
            Ok(l) => l,
            Err(e) => {
                common::show(&messages, req.color);
                return Err(common::show_error(&e, req.color));
            }
        };
    common::show(&messages, req.color);
    // a version pin the policies break fails here as in `check`
    let pinned = bylaw_run::check_versions(config, env.as_deref(), &loaded, &set, req.policies.is_empty());
    if !pinned.is_empty() {
        let error = bylaw_run::RunError::Versions {
            environment: env.clone().unwrap_or_default(),
            diagnostics: pinned,
            sources: loaded.sources.clone(),
        };
        return Err(common::show_error(&error, req.color));
    }
    // the configured source each policy file comes from: the longest
    // source path that holds it
    let roots: Vec<(String, PathBuf)> =
        sources.iter().cloned().zip(paths.iter().map(|p| canonical(&absolute(wd, p)))).collect();
    let source_of = |file: &str| -> String {
        if file.starts_with("pack:") {
            let name = file.trim_start_matches("pack:");
            return sources
                .iter()
                .find(|s| s.strip_prefix("pack:").is_some_and(|n| n.split('@').next() == Some(name)))
                .cloned()
                .unwrap_or_else(|| file.to_owned());
        }
        // a bundle's file (`BUNDLE!/path`) comes from the source naming the bundle
        if let Some((bundle, _)) = file.split_once("!/") {
            return sources
                .iter()
                .find(|s| s.as_str() == bundle || bundle.ends_with(s.trim_start_matches("./")))
                .cloned()
                .unwrap_or_else(|| bundle.to_owned());
        }
        let abs = canonical(&absolute(wd, Path::new(file)));
        roots
            .iter()
            .filter(|(_, root)| abs.starts_with(root))
            .max_by_key(|(_, root)| root.as_os_str().len())
            .map(|(s, _)| s.clone())
            .unwrap_or_else(|| file.to_owned())
    };
    let mut policies = Vec::new();
    for p in &loaded.policies {
        let def = &p.def;
        let draft = def.metadata.lifecycle == bylaw_engine::policy::Lifecycle::Draft;
        let rules = def
            .spec
            .rules
            .iter()
            .filter(|r| !def.spec.disable.contains(&r.id))
            .map(|r| {
                let mut resolved = enforcement::resolve(&compile::rule_inputs(def, r, env.as_deref()), today);
                let evaluated = !draft || include_drafts;
                if !evaluated {
                    resolved.steps.push("lifecycle draft: not evaluated".into());
                }
                RuleView { id: r.id.clone(), resolved, evaluated }
            })
            .collect();
        policies.push(PolicyView {
            name: def.metadata.name.clone(),
            version: def.metadata.version.clone(),
            lifecycle: def.metadata.lifecycle.as_str(),
            source: source_of(&p.file),
            file: p.file.clone(),
            rules,
        });
    }
    // Rego packages and Gatekeeper Constraints: each rule at its own level
    let yaml: std::collections::HashSet<&str> = loaded.policies.iter().map(|p| p.def.metadata.name.as_str()).collect();
    for p in set.policies.iter().filter(|p| !yaml.contains(p.name.as_str())) {
        let rules = p
            .rules
            .iter()
            .map(|r| RuleView {
                id: r.id.clone(),
                resolved: enforcement::resolve_level(r.enforcement, today),
                evaluated: true,
            })
            .collect();
        policies.push(PolicyView {
            name: p.name.clone(),
            version: p.version.clone(),
            lifecycle: p.lifecycle.as_str(),
            source: source_of(&p.file),
            file: p.file.clone(),
            rules,
        });
    }
    Ok(EnvView { env, sources, policies })
}

fn env_label(env: &Option<String>) -> String {
    env.clone().unwrap_or_else(|| "(default)".into())
}

fn effective(r: &RuleView) -> String {
    if r.evaluated {
        r.resolved.describe()
    } else {
        "not evaluated".into()
    }
}

fn env_json(v: &EnvView, today: NaiveDate) -> Value {
    json!({
        "environment": v.env,
        "date": today.to_string(),
        "sources": v.sources,
        "policies": v.policies.iter().map(|p| json!({
            "name": p.name,
            "version": p.version,
            "lifecycle": p.lifecycle,
            "source": p.source,
            "file": p.file,
            "rules": p.rules.iter().map(|r| json!({
                "id": r.id,
                "evaluated": r.evaluated,
                "enforcement": r.resolved.level.to_string(),
                "until": r.resolved.until.map(|(d, _)| d.to_string()),
                "then": r.resolved.until.map(|(_, l)| l.to_string()),
                "effective": effective(r),
                "why": r.resolved.steps,
            })).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
    })
}

/// Left-aligned columns, two spaces apart; the last column unpadded.
fn table(rows: &[Vec<String>]) {
    let n = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> =
        (0..n).map(|i| rows.iter().filter_map(|r| r.get(i)).map(|c| c.chars().count()).max().unwrap_or(0)).collect();
    for r in rows {
        let mut line = String::new();
        for (i, c) in r.iter().enumerate() {
            if i + 1 == r.len() {
                line.push_str(c);
            } else {
                line.push_str(&format!("{c:<w$}  ", w = widths[i]));
            }
        }
        crate::outln!("{}", common::safe(line.trim_end()));
    }
}

fn policy_row(p: &PolicyView) -> Vec<String> {
    vec![p.name.clone(), p.version.clone().unwrap_or_else(|| "-".into()), p.lifecycle.into(), p.source.clone()]
}

/// One environment: its policies, then each policy's rules with why.
fn print_env(v: &EnvView, today: NaiveDate) {
    crate::outln!("Environment {} (as of {today}): {}", env_label(&v.env), v.sources.join(", "));
    crate::outln!();
    let mut rows = vec![vec!["POLICY".into(), "VERSION".into(), "LIFECYCLE".into(), "SOURCE".into()]];
    rows.extend(v.policies.iter().map(policy_row));
    table(&rows);
    for p in &v.policies {
        crate::outln!();
        crate::outln!(
            "{} {} ({})",
            common::safe(&p.name),
            common::safe(p.version.as_deref().unwrap_or("(no version)")),
            common::safe(&p.file)
        );
        let w_id = p.rules.iter().map(|r| r.id.chars().count()).max().unwrap_or(0);
        let w_eff = p.rules.iter().map(|r| effective(r).chars().count()).max().unwrap_or(0);
        for r in &p.rules {
            crate::outln!(
                "  {:<w_id$}  {:<w_eff$}   ({})",
                common::safe(&r.id),
                effective(r),
                r.resolved.steps.join("; ")
            );
        }
    }
}

/// Every environment: the policies of each, then one column per
/// environment with each rule's effective level (`-` where the rule is
/// not in effect).
fn print_matrix(views: &[EnvView], today: NaiveDate) {
    crate::outln!("Policies by environment (as of {today}):");
    crate::outln!();
    let mut rows =
        vec![vec!["ENVIRONMENT".into(), "POLICY".into(), "VERSION".into(), "LIFECYCLE".into(), "SOURCE".into()]];
    for v in views {
        for p in &v.policies {
            let mut row = vec![env_label(&v.env)];
            row.extend(policy_row(p));
            rows.push(row);
        }
    }
    table(&rows);
    crate::outln!();
    crate::outln!("Enforcement by environment (`bylaw explain --effective --env ENV` says why):");
    crate::outln!();
    // every (policy, rule) in first-seen order
    let mut keys: Vec<(String, String)> = Vec::new();
    for v in views {
        for p in &v.policies {
            for r in &p.rules {
                let k = (p.name.clone(), r.id.clone());
                if !keys.contains(&k) {
                    keys.push(k);
                }
            }
        }
    }
    let mut header = vec!["POLICY".to_owned(), "RULE".to_owned()];
    header.extend(views.iter().map(|v| env_label(&v.env)));
    let mut rows = vec![header];
    for (policy, rule) in &keys {
        let mut row = vec![policy.clone(), rule.clone()];
        for v in views {
            let cell = v
                .policies
                .iter()
                .filter(|p| &p.name == policy)
                .flat_map(|p| p.rules.iter())
                .find(|r| &r.id == rule)
                .map(effective)
                .unwrap_or_else(|| "-".into());
            row.push(cell);
        }
        rows.push(row);
    }
    table(&rows);
}
