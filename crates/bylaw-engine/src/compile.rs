//! Compiling loaded policies once per run. What every policy language
//! shares is compiled here: metadata, file globs, `each` and `at` paths
//! (JSONPath), message templates (`{{ }}` split from the text) and each
//! rule's resolved enforcement; the conditions, the `match.when` filter
//! and the expressions of messages are compiled by the policy's language
//! ([`crate::language`], CEL for YAML policies), which keeps them in the
//! policy's [`CompiledPolicy::program`]. Nothing here is redone per
//! document.
//!
//! Every CEL, JSONPath and glob problem becomes a located diagnostic.

use crate::diagnostic::{did_you_mean, Code, Diagnostic};
use crate::enforcement::{self, Inputs};
use crate::jsonpath::Query as JsonPath;
use crate::language::{self, ConditionCompiler};
use crate::loader::LoadedPolicy;
use crate::node::{Segment, Span};
use crate::policy::{Lifecycle, PolicyType, Target};
use crate::report::{Enforcement, Severity};
use chrono::NaiveDate;
use globset::{GlobBuilder, GlobSet, GlobSetBuilder};
use std::sync::Arc;

/// Run-wide settings that change what compiled policies do.
#[derive(Clone, Debug)]
pub struct CompileOptions {
    /// Environment of the run (`--env` or a branch pattern), if any.
    pub environment: Option<String>,
    /// The date `enforce_from` is compared with.
    pub today: NaiveDate,
    /// Evaluate `lifecycle: draft` policies too.
    pub include_drafts: bool,
}

/// Where `at` points, from the `each` element (or the document).
pub enum At {
    Relative(Vec<Segment>),
    Absolute(JsonPath),
}

/// A part of a message: text, or a `{{ }}` expression of the policy's
/// language. Messages are interpolated by one shared step
/// ([`crate::eval`]) for every language.
pub enum Part {
    Text(String),
    /// A `{{ }}`: `source` is its text (for error messages), `expression`
    /// what its language compiled. When it only selects fields of `doc` or
    /// `item` (`doc.metadata.name`), a string, integer, bool or null there
    /// is read straight from the document, anything else is asked of the
    /// language (the result is the same either way).
    Expr {
        source: String,
        expression: language::Expression,
    },
}

/// The variable a [`FieldPath`] starts from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FieldRoot {
    Doc,
    Item,
}

/// `doc.a.b` or `item.a`: an expression made only of field selections
/// (no `has()`, no index, no call) on `doc` or `item`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldPath {
    pub root: FieldRoot,
    pub keys: Vec<String>,
}

/// Include and exclude globs of `match.files` (or `.bylaw.yaml` targets).
#[derive(Clone, Debug)]
pub struct FileMatcher {
    include: Option<GlobSet>,
    exclude: Option<GlobSet>,
}

impl FileMatcher {
    /// Builds from patterns where a leading `!` excludes. A pattern with no
    /// `/` matches the file name at any depth (as in .gitignore); `*` does not
    /// cross `/`, `**` does.
    pub fn new(patterns: &[String]) -> Result<Option<FileMatcher>, (usize, String)> {
        if patterns.is_empty() {
            return Ok(None);
        }
        let mut inc = GlobSetBuilder::new();
        let mut exc = GlobSetBuilder::new();
        let (mut n_inc, mut n_exc) = (0, 0);
        for (i, p) in patterns.iter().enumerate() {
            let (neg, pat) = match p.strip_prefix('!') {
                Some(rest) => (true, rest),
                None => (false, p.as_str()),
            };
            let pat = pat.strip_prefix("./").unwrap_or(pat);
            let pat = if pat.contains('/') { pat.trim_start_matches('/').to_owned() } else { format!("**/{pat}") };
            let glob = GlobBuilder::new(&pat).literal_separator(true).build().map_err(|e| (i, e.kind().to_string()))?;
            if neg {
                exc.add(glob);
                n_exc += 1;
            } else {
                inc.add(glob);
                n_inc += 1;
            }
        }
        let build = |b: GlobSetBuilder, n: usize| -> Result<Option<GlobSet>, (usize, String)> {
            if n == 0 {
                return Ok(None);
            }
            b.build().map(Some).map_err(|e| (0, e.to_string()))
        };
        Ok(Some(FileMatcher { include: build(inc, n_inc)?, exclude: build(exc, n_exc)? }))
    }

    /// Whether a display path (relative, `/`-separated) is selected.
    pub fn matches(&self, path: &str) -> bool {
        self.include.as_ref().is_none_or(|g| g.is_match(path))
            && !self.exclude.as_ref().is_some_and(|g| g.is_match(path))
    }
}

/// One rule, ready to evaluate.
pub struct CompiledRule {
    pub id: String,
    pub title: String,
    pub description: Option<String>,
    pub severity: Severity,
    pub remediation: Option<String>,
    pub controls: Vec<String>,
    pub enforcement: Enforcement,
    /// Why the enforcement is what it is (environment, lifecycle, date).
    pub notes: Vec<String>,
    pub each: Option<JsonPath>,
    /// The rule's condition (`deny` or `require`), by the handle the
    /// policy's [`CompiledPolicy::program`] knows it by.
    pub condition: usize,
    pub at: Option<At>,
    pub message: Vec<Part>,
    /// Line of the rule's `id` in the policy file (for pipeline findings).
    pub span: Span,
}

/// One policy, ready to evaluate.
pub struct CompiledPolicy {
    pub name: String,
    pub version: Option<String>,
    pub kind: PolicyType,
    pub lifecycle: Lifecycle,
    pub description: Option<String>,
    pub file: String,
    pub target: Target,
    pub files: Option<FileMatcher>,
    pub kinds: Vec<String>,
    /// `match.types`: the file types (`file.type`) it applies to; empty for all.
    pub types: Vec<String>,
    /// The language of its conditions ([`language::PolicyLanguage::name`]).
    pub language: &'static str,
    /// Its filter and conditions as its language compiled them: the
    /// language's own type, which only that language reads.
    pub program: Box<dyn std::any::Any + Send + Sync>,
    pub rules: Vec<CompiledRule>,
    /// Whether some rule needs the document as JSON (`each`, `at: $…`).
    pub needs_json: bool,
    /// A run-level policy that reads every file (Rego `--combine`): the
    /// files count as evaluated by it, though it is evaluated once.
    pub reads_every_file: bool,
    /// `metadata.owners`.
    pub owners: Vec<String>,
    /// `spec.exceptions`: what exceptions to its rules must satisfy.
    pub exception_rules: crate::policy::ExceptionRules,
}

impl CompiledPolicy {
    /// Whether this policy evaluates the file at `path` (document policies only).
    pub fn applies_to_file(&self, path: &str) -> bool {
        (self.target == Target::Documents || self.reads_every_file)
            && self.files.as_ref().is_none_or(|m| m.matches(path))
    }
}

/// All compiled policies of a run.
pub struct PolicySet {
    pub policies: Vec<CompiledPolicy>,
    pub options: CompileOptions,
}

/// Deepest nesting of `(`, `[` and `{` in a CEL expression or JSONPath
/// (string literals aside). The CEL and JSONPath parsers recurse once per
/// level and per operator, so deeper or longer sources could overflow the
/// stack (about 50 levels did on an 8 MiB stack in debug builds): they are
/// refused at load time with a located error, the same in every build.
pub const MAX_NESTING: usize = 64;
/// Longest CEL expression accepted, in bytes (a flat chain of thousands of
/// `||` terms is a recursion as deep as its length).
pub const MAX_CEL_LEN: usize = 16 * 1024;
/// Longest JSONPath accepted, in bytes.
pub const MAX_JSONPATH_LEN: usize = 4 * 1024;

/// Checks [`MAX_NESTING`] and `max_len`; `Err` says which and where (byte offset).
pub fn expression_limits(source: &str, max_len: usize) -> Result<(), (String, usize)> {
    if source.len() > max_len {
        return Err((format!("{} bytes, the limit is {max_len}", source.len()), max_len));
    }
    let code = strip_strings(source);
    let mut depth = 0usize;
    for (i, c) in code.char_indices() {
        match c {
            '(' | '[' | '{' => {
                depth += 1;
                if depth > MAX_NESTING {
                    return Err((format!("nested deeper than {MAX_NESTING} levels"), i));
                }
            }
            ')' | ']' | '}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Ok(())
}

/// `source` with the contents of its string literals blanked out, so that
/// text inside strings is never read as code.
pub fn strip_strings(source: &str) -> String {
    let mut out = String::with_capacity(source.len());
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for c in source.chars() {
        match quote {
            Some(q) => {
                if escaped {
                    escaped = false;
                    out.push(' ');
                } else if c == '\\' {
                    escaped = true;
                    out.push(' ');
                } else if c == q {
                    quote = None;
                    out.push(c);
                } else {
                    out.push(' ');
                }
            }
            None => {
                if c == '\'' || c == '"' {
                    quote = Some(c);
                }
                out.push(c);
            }
        }
    }
    out
}

/// Where the diagnostics of one policy's compilation go, and how pointers
/// into its file are located: what a policy language's
/// [`ConditionCompiler`] is given to report errors at the expression.
pub struct Compiler<'a> {
    policy: &'a LoadedPolicy,
    /// File, tree and text diagnostics point into: the policy's, or for an
    /// inherited rule the file it was written in.
    file: &'a str,
    root: &'a crate::node::Node,
    /// The file's text: the tree alone does not know quoting.
    source: Option<&'a str>,
    sources: &'a std::collections::HashMap<String, Arc<str>>,
    diagnostics: &'a mut Vec<Diagnostic>,
}

impl<'a> Compiler<'a> {
    /// The file diagnostics point into: the policy's, or for an inherited
    /// rule the file it was written in.
    pub fn file(&self) -> &str {
        self.file
    }

    /// The span of the value at JSON pointer `pointer` in that file.
    pub fn span(&self, pointer: &str) -> Span {
        self.root.value_span_of_pointer(pointer).0
    }

    /// Adds a diagnostic.
    pub fn push(&mut self, diagnostic: Diagnostic) {
        self.diagnostics.push(diagnostic);
    }

    /// Points diagnostics at `file` / `root` (an inherited rule's origin).
    fn locate_in(&mut self, file: &'a str, root: &'a crate::node::Node) {
        self.file = file;
        self.root = root;
        self.source = self.sources.get(file).map(|s| &**s);
    }

    /// Maps a (line, column) inside an expression to the file, when the
    /// expression is written on one line; else the whole scalar.
    pub fn expr_span(&self, node: Span, pos: (isize, isize)) -> Span {
        if node.start_line != node.end_line || pos.0 != 1 {
            return node;
        }
        let quoted = self.source_char(node).is_some_and(|c| c == '"' || c == '\'');
        let col = node.start_col + u32::from(quoted) + (pos.1.max(1) as u32 - 1);
        Span::point(node.start_line, col.min(node.end_col.saturating_sub(1).max(node.start_col)))
            .to(Span::point(node.start_line, col + 1))
    }

    fn source_char(&self, span: Span) -> Option<char> {
        self.source?.lines().nth(span.start_line as usize - 1)?.chars().nth(span.start_col as usize - 1)
    }

    /// A message: its text, and its `{{ }}` compiled by `conditions`.
    fn template(
        &mut self,
        text: &str,
        pointer: &str,
        has_item: bool,
        conditions: &mut dyn ConditionCompiler,
    ) -> Option<Vec<Part>> {
        let mut parts = Vec::new();
        let mut rest = text;
        let mut ok = true;
        while let Some(start) = rest.find("{{") {
            if start > 0 {
                parts.push(Part::Text(rest[..start].to_owned()));
            }
            let after = &rest[start + 2..];
            let Some(end) = after.find("}}") else {
                self.diagnostics.push(
                    Diagnostic::error(Code::Message, self.file(), Some(self.span(pointer)), "unclosed `{{` in message")
                        .with_hint("write `{{ <CEL> }}`, e.g. `{{ item.name }}`"),
                );
                return None;
            };
            let source = after[..end].trim();
            match conditions.expression(self, source, pointer, has_item) {
                Some(expression) => parts.push(Part::Expr { source: source.to_owned(), expression }),
                None => ok = false,
            }
            rest = &after[end + 2..];
        }
        if !rest.is_empty() {
            parts.push(Part::Text(rest.to_owned()));
        }
        ok.then_some(parts)
    }

    fn jsonpath(&mut self, path: &str, pointer: &str) -> Option<JsonPath> {
        if let Err((message, offset)) = expression_limits(path, MAX_JSONPATH_LEN) {
            let node = self.span(pointer);
            let span = self.expr_span(node, (1, offset as isize + 1));
            self.diagnostics.push(Diagnostic::error(
                Code::JsonPath,
                self.file(),
                Some(span),
                format!("JSONPath too complex: {message}"),
            ));
            return None;
        }
        match JsonPath::parse(path) {
            Ok(p) => {
                if let Some((message, offset)) = crate::jsonpath::constant_regex_error(path) {
                    let node = self.span(pointer);
                    let span = self.expr_span(node, (1, offset as isize + 1));
                    self.diagnostics.push(
                        Diagnostic::error(Code::JsonPath, self.file(), Some(span), message).with_hint(format!(
                            "in `{path}`: the filter would select nothing, so the rule could never fire"
                        )),
                    );
                    return None;
                }
                Some(p)
            }
            Err(e) => {
                let node = self.span(pointer);
                let span = self.expr_span(node, (1, e.position() as isize));
                self.diagnostics.push(
                    Diagnostic::error(Code::JsonPath, self.file(), Some(span), format!("invalid JSONPath: {}", e.message()))
                        .with_hint("JSONPath (RFC 9535) starts at `$`, e.g. `$.spec.template.spec.containers[*]` or `$..containers[*]`"),
                );
                None
            }
        }
    }

    /// An `each` path: a JSONPath, or a named selector (`@containers`, see
    /// [`crate::selectors`]) with optional JSONPath segments after it.
    fn each(&mut self, each: &str, pointer: &str) -> Option<JsonPath> {
        match crate::selectors::expand(each) {
            Ok(path) => self.jsonpath(&path, pointer),
            Err(m) => {
                let span = self.span(pointer);
                self.diagnostics.push(
                    Diagnostic::error(Code::JsonPath, self.file(), Some(span), m)
                        .with_hint("`each` is a JSONPath from `$`, or a selector such as `@containers`"),
                );
                None
            }
        }
    }

    fn at(&mut self, at: &str, pointer: &str) -> Option<At> {
        if at.starts_with('$') {
            return self.jsonpath(at, pointer).map(At::Absolute);
        }
        match parse_dotted(at) {
            Ok(segs) => Some(At::Relative(segs)),
            Err(m) => {
                self.diagnostics.push(
                    Diagnostic::error(Code::At, self.file(), Some(self.span(pointer)), format!("invalid `at` path: {m}"))
                        .with_hint("a dotted path from the `each` element, e.g. `securityContext.privileged` or `ports[0].hostPort`, or a JSONPath from `$`"),
                );
                None
            }
        }
    }
}

/// Parses `a.b[0].c` or `metadata.labels["app.kubernetes.io/name"]`.
pub fn parse_dotted(path: &str) -> Result<Vec<Segment>, String> {
    let mut segs = Vec::new();
    let mut chars = path.chars();
    let mut cur = String::new();
    // True right after a `.`: a name must follow.
    let mut after_dot = false;
    while let Some(c) = chars.next() {
        match c {
            '.' => {
                if after_dot || (cur.is_empty() && segs.is_empty()) {
                    return Err(format!("empty segment in `{path}`"));
                }
                if !cur.is_empty() {
                    segs.push(Segment::Key(std::mem::take(&mut cur).into()));
                }
                after_dot = true;
            }
            '[' => {
                if after_dot {
                    return Err(format!("`.[` in `{path}`: write `a[0]`, not `a.[0]`"));
                }
                if !cur.is_empty() {
                    segs.push(Segment::Key(std::mem::take(&mut cur).into()));
                }
                let mut inner = String::new();
                let mut closed = false;
                for c in chars.by_ref() {
                    if c == ']' {
                        closed = true;
                        break;
                    }
                    inner.push(c);
                }
                if !closed {
                    return Err(format!("unclosed `[` in `{path}`"));
                }
                let inner = inner.trim();
                if let Some(q) = inner
                    .strip_prefix('"')
                    .and_then(|s| s.strip_suffix('"'))
                    .or_else(|| inner.strip_prefix('\'').and_then(|s| s.strip_suffix('\'')))
                {
                    segs.push(Segment::Key(q.into()));
                } else {
                    let i = inner
                        .parse::<usize>()
                        .map_err(|_| format!("`[{inner}]` is neither an index nor a quoted key"))?;
                    segs.push(Segment::Index(i));
                }
            }
            c => {
                after_dot = false;
                cur.push(c);
            }
        }
    }
    if after_dot {
        return Err(format!("`{path}` ends with `.`"));
    }
    if !cur.is_empty() {
        segs.push(Segment::Key(cur.into()));
    }
    if segs.is_empty() {
        return Err("the path is empty".into());
    }
    Ok(segs)
}

/// Compiles every loaded policy. Draft policies are left out unless
/// `options.include_drafts`. Returns the set and the diagnostics; the set is
/// only usable when no diagnostic is an error.
pub fn compile(
    loaded: &[LoadedPolicy],
    sources: &std::collections::HashMap<String, Arc<str>>,
    options: CompileOptions,
) -> (PolicySet, Vec<Diagnostic>) {
    let mut diagnostics = Vec::new();
    let mut policies = Vec::new();
    for lp in loaded {
        if lp.def.metadata.lifecycle == Lifecycle::Draft && !options.include_drafts {
            continue;
        }
        let language = language::language_of(lp);
        let mut c = Compiler {
            policy: lp,
            file: &lp.file,
            root: &lp.root,
            source: sources.get(&lp.file).map(|s| &**s),
            sources,
            diagnostics: &mut diagnostics,
        };
        if let Some(p) = compile_policy(&mut c, language, &options) {
            policies.push(p);
        }
    }
    (PolicySet { policies, options }, diagnostics)
}

/// Compiles everything `loaded` holds: its YAML policies ([`compile`]), its
/// Rego modules ([`language::rego::compile`], with `rego`'s options) and
/// its Gatekeeper Constraints ([`language::rego::gatekeeper::compile`]).
/// A Rego rule id that a YAML rule also has is a `duplicate-id` error.
pub fn compile_loaded(
    loaded: &crate::loader::Loaded,
    rego: &language::rego::RegoOptions,
    options: CompileOptions,
) -> (PolicySet, Vec<Diagnostic>) {
    let (mut set, mut diagnostics) = compile(&loaded.policies, &loaded.sources, options);
    let (mut policies, rego_diagnostics) = language::rego::compile(&loaded.rego, rego, &set.options);
    diagnostics.extend(rego_diagnostics);
    let (constraints, gatekeeper_diagnostics) =
        language::rego::gatekeeper::compile(&loaded.gatekeeper, rego, &set.options);
    diagnostics.extend(gatekeeper_diagnostics);
    policies.extend(constraints);
    let mut names: std::collections::HashSet<String> = set.policies.iter().map(|p| p.name.clone()).collect();
    for p in &policies {
        if !names.insert(p.name.clone()) {
            diagnostics.push(
                Diagnostic::error(
                    Code::DuplicateId,
                    &p.file,
                    p.rules.first().map(|r| r.span),
                    format!("policy name `{}` is also another policy's", p.name),
                )
                .with_hint("a Rego package (or a Constraint) is a policy named after it: rename one of them"),
            );
        }
    }
    let mut ids: std::collections::HashMap<String, String> =
        set.policies.iter().flat_map(|p| p.rules.iter().map(move |r| (r.id.clone(), p.name.clone()))).collect();
    for p in &policies {
        for r in &p.rules {
            if let Some(other) = ids.insert(r.id.clone(), p.name.clone()) {
                diagnostics.push(
                    Diagnostic::error(
                        Code::DuplicateId,
                        &p.file,
                        Some(r.span),
                        format!("rule id `{}` is also used by policy `{other}`", r.id),
                    )
                    .with_hint(
                        "rule ids must be unique across policies: give the Rego rule its own METADATA `custom.id`",
                    ),
                );
            }
        }
    }
    set.policies.extend(policies);
    (set, diagnostics)
}

/// Compiles one policy: the language-neutral parts here, its conditions by
/// `language`, in the order they are written (so are the diagnostics).
fn compile_policy<'a>(
    c: &mut Compiler<'a>,
    language: &'static dyn language::PolicyLanguage,
    options: &CompileOptions,
) -> Option<CompiledPolicy> {
    let def = &c.policy.def;
    let spec = &def.spec;
    let mut ok = true;
    let mut conditions = language.compiler(c.policy);
    let files = match FileMatcher::new(&spec.matcher.files) {
        Ok(m) => m,
        Err((i, msg)) => {
            c.diagnostics.push(Diagnostic::error(
                Code::Glob,
                c.file(),
                Some(c.span(&format!("/spec/match/files/{i}"))),
                format!("invalid glob: {msg}"),
            ));
            ok = false;
            None
        }
    };
    let known_types = crate::input::type_names();
    for (i, t) in spec.matcher.types.iter().enumerate() {
        if !known_types.contains(&t.as_str()) {
            let hint = did_you_mean(t, known_types.iter().copied()).map(|m| format!(" (did you mean `{m}`?)"));
            c.diagnostics.push(Diagnostic::error(
                Code::Schema,
                c.file(),
                Some(c.span(&format!("/spec/match/types/{i}"))),
                format!(
                    "unknown file type `{t}`{}; `match.types` takes {}",
                    hint.unwrap_or_default(),
                    known_types.join(", ")
                ),
            ));
            ok = false;
        }
    }
    if let Some(w) = &spec.matcher.when {
        ok &= conditions.filter(c, w, "/spec/match/when");
    }
    let env_known: Vec<&str> = spec.environments.keys().map(String::as_str).collect();
    // dates are checked here (located errors); [`rule_inputs`] reads them again
    let env_setting = options.environment.as_ref().and_then(|e| spec.environments.get(e).map(|v| (e, v)));
    if let Some((name, setting)) = env_setting {
        if let Some(d) = setting.enforce_from() {
            let pointer = format!("/spec/environments/{}/enforce_from", name.replace('~', "~0").replace('/', "~1"));
            date_or_diag(c, d, &pointer);
        }
    }
    if let Some(d) = spec.enforce_from.as_deref() {
        date_or_diag(c, d, "/spec/enforce_from");
    }
    let disabled: Vec<&str> = spec.disable.iter().map(String::as_str).collect();
    let mut rules = Vec::new();
    let mut needs_json = false;
    let policy = c.policy;
    for (i, r) in spec.rules.iter().enumerate() {
        if disabled.contains(&r.id.as_str()) {
            continue;
        }
        let base = match policy.origins.get(i) {
            Some(o) => {
                c.locate_in(&o.file, &o.root);
                format!("/spec/rules/{}", o.index)
            }
            None => {
                c.locate_in(&policy.file, &policy.root);
                format!("/spec/rules/{i}")
            }
        };
        let has_item = r.each.is_some();
        let each = match &r.each {
            Some(e) => {
                needs_json = true;
                let p = c.each(e, &format!("{base}/each"));
                ok &= p.is_some();
                p
            }
            None => None,
        };
        let (cond_def, deny, key) = match (&r.deny, &r.require) {
            (Some(d), _) => (d, true, "deny"),
            (None, Some(q)) => (q, false, "require"),
            (None, None) => continue, // reported by the loader
        };
        let condition = conditions.condition(c, cond_def, deny, &format!("{base}/{key}"), has_item);
        let at = match &r.at {
            Some(a) => {
                let parsed = c.at(a, &format!("{base}/at"));
                if matches!(parsed, Some(At::Absolute(_))) {
                    needs_json = true;
                }
                ok &= parsed.is_some();
                parsed
            }
            None => None,
        };
        let title = r.title.clone().unwrap_or_else(|| r.id.clone());
        let message = match &r.message {
            Some(m) => c.template(m, &format!("{base}/message"), has_item, &mut *conditions),
            None => Some(vec![Part::Text(title.clone())]),
        };
        let over = spec.overrides.get(&r.id);
        if let Some(d) = r.enforce_from.as_deref() {
            date_or_diag(c, d, &format!("{base}/enforce_from"));
        }
        let resolved = enforcement::resolve(&rule_inputs(def, r, options.environment.as_deref()), options.today);
        let (Some(condition), Some(message)) = (condition, message) else {
            ok = false;
            continue;
        };
        rules.push(CompiledRule {
            id: r.id.clone(),
            title,
            description: r.description.clone(),
            severity: over.and_then(|o| o.severity).or(r.severity).unwrap_or(Severity::Medium),
            remediation: r.remediation.clone(),
            controls: r.controls.clone(),
            enforcement: resolved.level,
            notes: resolved.notes,
            each,
            condition,
            at,
            message,
            span: c.span(&format!("{base}/id")),
        });
    }
    if let (Some(env), false) = (&options.environment, env_known.is_empty()) {
        if !spec.environments.contains_key(env) {
            tracing::debug!(
                "policy {} has no enforcement for environment {env}{}",
                def.metadata.name,
                did_you_mean(env, env_known.iter().copied())
                    .map(|m| format!(" (did you mean {m}?)"))
                    .unwrap_or_default()
            );
        }
    }
    if !ok {
        return None;
    }
    Some(CompiledPolicy {
        name: def.metadata.name.clone(),
        version: def.metadata.version.clone(),
        kind: def.metadata.kind,
        lifecycle: def.metadata.lifecycle,
        description: def.metadata.description.clone(),
        file: c.file().to_owned(),
        target: spec.matcher.target,
        files,
        kinds: spec.matcher.kinds.clone(),
        types: spec.matcher.types.clone(),
        language: language.name(),
        program: conditions.finish(),
        rules,
        needs_json,
        reads_every_file: false,
        exception_rules: spec.exceptions.clone(),
        owners: def.metadata.owners.clone(),
    })
}

/// The inputs of the enforcement resolution ([`enforcement::resolve`]) of
/// rule `rule` of policy `def` in environment `env` (DESIGN §4): the
/// rule's level, the policy's default and `overrides`, the policy's
/// `environments[env]` (level and/or `enforce_from`), its lifecycle and
/// `enforce_from`. A date that does not parse is left out (loading and
/// [`compile`] report it, located).
pub fn rule_inputs(def: &crate::policy::PolicyDef, rule: &crate::policy::Rule, env: Option<&str>) -> Inputs {
    let spec = &def.spec;
    let date = |d: Option<&str>| d.and_then(|d| enforcement::parse_date(d).ok());
    let environment =
        env.and_then(|e| spec.environments.get(e).map(|v| (e, v))).map(|(name, v)| enforcement::Environment {
            name: name.to_owned(),
            enforcement: v.enforcement(),
            enforce_from: date(v.enforce_from()),
        });
    Inputs {
        rule: rule.enforcement,
        policy_default: spec.enforcement,
        overridden: spec.overrides.get(&rule.id).and_then(|o| o.enforcement),
        environment,
        lifecycle: def.metadata.lifecycle,
        enforce_from: date(rule.enforce_from.as_deref()).or(date(spec.enforce_from.as_deref())),
    }
}

fn date_or_diag(c: &mut Compiler<'_>, d: &str, pointer: &str) -> Option<NaiveDate> {
    match enforcement::parse_date(d) {
        Ok(date) => Some(date),
        Err(m) => {
            c.diagnostics.push(Diagnostic::error(Code::Schema, c.file(), Some(c.span(pointer)), m));
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dotted_paths() {
        assert_eq!(
            parse_dotted("a.b[2].c").unwrap(),
            vec![Segment::Key("a".into()), Segment::Key("b".into()), Segment::Index(2), Segment::Key("c".into())]
        );
        assert_eq!(
            parse_dotted("metadata.labels[\"app.kubernetes.io/name\"]").unwrap(),
            vec![
                Segment::Key("metadata".into()),
                Segment::Key("labels".into()),
                Segment::Key("app.kubernetes.io/name".into())
            ]
        );
        assert!(parse_dotted("a..b").is_err());
        assert!(parse_dotted("a[x]").is_err());
        assert!(parse_dotted("a[1").is_err());
    }

    #[test]
    fn file_globs() {
        let m = FileMatcher::new(&["deploy/**/*.yaml".into(), "!deploy/vendor/**".into()]).unwrap().unwrap();
        assert!(m.matches("deploy/a/b.yaml"));
        assert!(m.matches("deploy/b.yaml"));
        assert!(!m.matches("deploy/vendor/x.yaml"));
        assert!(!m.matches("other/b.yaml"));
        let m = FileMatcher::new(&["*.yaml".into()]).unwrap().unwrap();
        assert!(m.matches("a/b/c.yaml"), "no slash: any depth");
        let m = FileMatcher::new(&["!**/test/**".into()]).unwrap().unwrap();
        assert!(m.matches("a.yaml") && !m.matches("x/test/a.yaml"), "only excludes: everything else");
        assert!(FileMatcher::new(&["a/[".into()]).is_err());
    }
}
