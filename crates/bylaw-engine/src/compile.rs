//! Compiling loaded policies once per run: CEL programs (conditions, `when`,
//! `{{ }}` in messages) against one shared environment, JSONPath for
//! `each`, `at` paths, file globs, params, and each rule's resolved
//! enforcement. Nothing here is redone per document.
//!
//! Every CEL, JSONPath and glob problem becomes a located diagnostic.

use crate::diagnostic::{did_you_mean, Code, Diagnostic};
use crate::enforcement::{self, Inputs};
use crate::jsonpath::Query as JsonPath;
use crate::loader::LoadedPolicy;
use crate::node::{json_to_val, Node, Segment, Span};
use crate::policy::{Condition, Lifecycle, PolicyType, Target};
use crate::report::{Enforcement, Severity};
use cel::common::value::Val;
use cel::{Context, Env, Program};
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

/// The CEL variables bylaw binds (DESIGN §3), the one list: the compiler
/// knows them by it; `eval.rs`'s resolver binds each.
pub const CEL_VARIABLES: &[&str] = &["doc", "item", "params", "ctx", "file"];

/// A compiled CEL expression with its source text, for error messages.
pub struct Cel {
    pub program: Program,
    pub source: String,
}

/// A compiled `deny` / `require` tree.
pub enum Cond {
    Leaf(Cel),
    All(Vec<Cond>),
    Any(Vec<Cond>),
    Not(Box<Cond>),
}

/// Where `at` points, from the `each` element (or the document).
pub enum At {
    Relative(Vec<Segment>),
    Absolute(JsonPath),
}

/// A message with `{{ CEL }}` parts.
pub enum Part {
    Text(String),
    Expr(Cel),
    /// A `{{ }}` that only selects fields of `doc` or `item`
    /// (`doc.metadata.name`): read straight from the document when the
    /// value there is a string, integer, bool or null, else evaluated as
    /// the CEL it is (the result is the same either way).
    Field(FieldPath, Cel),
}

/// The variable a [`FieldPath`] starts from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FieldRoot {
    Doc,
    Item,
}

/// `doc.a.b` or `item.a`: a CEL expression made only of field selections
/// (no `has()`, no index, no call) on `doc` or `item`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldPath {
    pub root: FieldRoot,
    pub keys: Vec<String>,
}

impl FieldPath {
    /// The field path `program` is, if it is one (cel-spec "Field
    /// Selection": `e.f` on a map is the entry under key `"f"`).
    pub fn of(program: &Program) -> Option<FieldPath> {
        use cel::common::ast::Expr;
        let mut keys = Vec::new();
        let mut e = program.expression();
        loop {
            match &e.expr {
                Expr::Select(s) if !s.test => {
                    keys.push(s.field.clone());
                    e = &s.operand;
                }
                Expr::Ident(name) => {
                    let root = match name.as_str() {
                        "doc" => FieldRoot::Doc,
                        "item" => FieldRoot::Item,
                        _ => return None,
                    };
                    keys.reverse();
                    return (!keys.is_empty()).then_some(FieldPath { root, keys });
                }
                _ => return None,
            }
        }
    }
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
    pub cond: Cond,
    /// `deny` (violation when true) rather than `require`.
    pub deny: bool,
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
    pub when: Option<Cel>,
    pub params: Box<dyn Val + 'static>,
    pub rules: Vec<CompiledRule>,
    /// Whether some rule needs the document as JSON (`each`, `at: $…`).
    pub needs_json: bool,
    /// `metadata.owners`.
    pub owners: Vec<String>,
    /// `spec.exceptions`: what exceptions to its rules must satisfy.
    pub exception_rules: crate::policy::ExceptionRules,
}

impl CompiledPolicy {
    /// Whether this policy evaluates the file at `path` (document policies only).
    pub fn applies_to_file(&self, path: &str) -> bool {
        self.target == Target::Documents && self.files.as_ref().is_none_or(|m| m.matches(path))
    }
}

/// All compiled policies of a run and the CEL root context they share.
pub struct PolicySet {
    pub policies: Vec<CompiledPolicy>,
    pub root: Context<'static, 'static>,
    pub options: CompileOptions,
}

/// The CEL environment: the standard library and its string, list and math
/// extensions. bylaw's own functions are added to the root context.
pub fn cel_env() -> Env {
    let mut env = Env::stdlib();
    for ext in [
        cel::extensions::strings as fn(&mut Env) -> Result<(), cel::DeclarationError>,
        cel::extensions::lists,
        cel::extensions::math,
        crate::cel_regex::extension,
        crate::library::extension,
    ] {
        if let Err(e) = env.add_extension(ext) {
            tracing::warn!("CEL extension not registered: {e}");
        }
    }
    env
}

/// `source` with the contents of its string literals blanked out, so that
/// text inside strings is never read as code.
/// Errors a CEL expression would raise on every evaluation, found at load
/// time: a constant regular expression in `matches` that does not compile,
/// and a division or remainder by a constant zero. Returns the message and
/// the byte offset it points at.
pub fn constant_errors(source: &str) -> Option<(String, usize)> {
    let code = strip_strings(source);
    // division or remainder by a literal zero
    let bytes = code.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        if b == b'/' || b == b'%' {
            let mut j = i + 1;
            while j < bytes.len() && bytes[j] == b' ' {
                j += 1;
            }
            let mut k = j;
            while k < bytes.len() && (bytes[k] == b'0' || bytes[k] == b'.') {
                k += 1;
            }
            let zero = k > j && bytes[j] == b'0' && (k == bytes.len() || !bytes[k].is_ascii_alphanumeric());
            if zero {
                return Some((format!("{} by a constant zero", if b == b'/' { "division" } else { "remainder" }), i));
            }
        }
    }
    // constant regexes in `x.matches('re')` and `matches(x, 're')`
    for (at, _) in code.match_indices("matches(") {
        let open = at + "matches(".len();
        let rest = &code[open..];
        // the literal is the first argument (method form) or follows the first top-level comma
        let lit_at = match rest.trim_start().chars().next() {
            Some('\'' | '"' | 'r' | 'R') => open + (rest.len() - rest.trim_start().len()),
            _ => match rest.find([',', '(', ')']) {
                Some(c) if rest.as_bytes()[c] == b',' => {
                    let after = &rest[c + 1..];
                    open + c + 1 + (after.len() - after.trim_start().len())
                }
                _ => continue,
            },
        };
        if let Some(pattern) = string_literal(&source[lit_at..]) {
            if let Err(e) = regex::Regex::new(&pattern) {
                let first = e.to_string().lines().last().unwrap_or_default().trim().to_owned();
                return Some((format!("invalid regular expression `{pattern}`: {first}"), lit_at));
            }
        }
    }
    None
}

/// The value of the CEL string literal at the start of `s` (`'…'`, `"…"`,
/// raw `r'…'`), if there is one.
fn string_literal(s: &str) -> Option<String> {
    let (raw, s) = match s.strip_prefix(['r', 'R']) {
        Some(rest) => (true, rest),
        None => (false, s),
    };
    let quote = s.chars().next().filter(|c| *c == '\'' || *c == '"')?;
    let mut out = String::new();
    let mut chars = s[1..].chars();
    while let Some(c) = chars.next() {
        match c {
            c if c == quote => return Some(out),
            '\\' if !raw => match chars.next()? {
                'n' => out.push('\n'),
                't' => out.push('\t'),
                'r' => out.push('\r'),
                c @ ('\\' | '\'' | '"' | '`' | '?') => out.push(c),
                c => {
                    out.push('\\');
                    out.push(c);
                }
            },
            c => out.push(c),
        }
    }
    None
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

/// What a compiled CEL program binds and reads, from its AST (cel-spec,
/// "Macros": comprehensions bind their iteration variables and an
/// accumulator): the names comprehensions bind (`exists(c, …)`,
/// `all(k, v, …)`), and the fields of `params` it selects (`params.x`,
/// `params.?x`, `params['x']`).
fn cel_names(program: &Program) -> (Vec<String>, Vec<String>) {
    use cel::common::ast::{EntryExpr, Expr};
    fn walk(e: &cel::IdedExpr, bound: &mut Vec<String>, params: &mut Vec<String>) {
        let is_params = |e: &cel::IdedExpr| matches!(&e.expr, Expr::Ident(n) if n == "params");
        let literal_string = |e: &cel::IdedExpr| match &e.expr {
            Expr::Literal(cel::common::ast::LiteralValue::String(s)) => Some(s.to_string()),
            _ => None,
        };
        match &e.expr {
            Expr::Comprehension(c) => {
                bound.push(c.iter_var.clone());
                bound.extend(c.iter_var2.clone());
                bound.push(c.accu_var.clone());
                for part in [&c.iter_range, &c.accu_init, &c.loop_cond, &c.loop_step, &c.result] {
                    walk(part, bound, params);
                }
            }
            Expr::Select(sel) => {
                if is_params(&sel.operand) {
                    params.push(sel.field.clone());
                }
                walk(&sel.operand, bound, params);
            }
            Expr::Call(call) => {
                // macros the parser leaves as calls (`all(k, v, …)` on a map,
                // `transformList(i, v, …)`): their leading identifiers are bound
                let macros =
                    ["all", "exists", "exists_one", "existsOne", "map", "filter", "transformList", "transformMap"];
                if call.target.is_some() && macros.contains(&call.func_name.as_str()) && call.args.len() >= 2 {
                    for a in &call.args[..call.args.len() - 1] {
                        if let Expr::Ident(n) = &a.expr {
                            bound.push(n.clone());
                        }
                    }
                }
                // `params['x']` and `params.?x` are calls of `_[_]` and `_?._`
                if matches!(call.func_name.as_str(), "_[_]" | "_?._" | "_[?_]")
                    && call.args.len() == 2
                    && is_params(&call.args[0])
                {
                    params.extend(literal_string(&call.args[1]));
                }
                for a in call.target.iter().map(|t| &**t).chain(call.args.iter()) {
                    walk(a, bound, params);
                }
            }
            Expr::List(l) => l.elements.iter().for_each(|x| walk(x, bound, params)),
            Expr::Map(cel::common::ast::MapExpr { entries })
            | Expr::Struct(cel::common::ast::StructExpr { entries, .. }) => {
                for entry in entries {
                    match &entry.expr {
                        EntryExpr::MapEntry(me) => {
                            walk(&me.key, bound, params);
                            walk(&me.value, bound, params);
                        }
                        EntryExpr::StructField(sf) => walk(&sf.value, bound, params),
                    }
                }
            }
            Expr::Ident(_) | Expr::Literal(_) | Expr::Unspecified => {}
        }
    }
    let (mut bound, mut params) = (Vec::new(), Vec::new());
    walk(program.expression(), &mut bound, &mut params);
    (bound, params)
}

/// Builds the shared root context (functions are declared on the env);
/// variables are bound per evaluation through a resolver.
pub fn root_context(env: Arc<Env>) -> Context<'static, 'static> {
    Context::with_env(env)
}

struct Compiler<'a> {
    env: &'a Env,
    policy: &'a LoadedPolicy,
    /// File, tree and text diagnostics point into: the policy's, or for an
    /// inherited rule the file it was written in.
    file: &'a str,
    root: &'a crate::node::Node,
    /// The file's text: the tree alone does not know quoting.
    source: Option<&'a str>,
    sources: &'a std::collections::HashMap<String, Arc<str>>,
    diagnostics: &'a mut Vec<Diagnostic>,
    /// The run's root context, to evaluate constant subexpressions (`cel_check`).
    consts: &'a Context<'static, 'static>,
}

impl<'a> Compiler<'a> {
    fn file(&self) -> &str {
        self.file
    }

    fn span(&self, pointer: &str) -> Span {
        self.root.value_span_of_pointer(pointer).0
    }

    /// Points diagnostics at `file` / `root` (an inherited rule's origin).
    fn locate_in(&mut self, file: &'a str, root: &'a crate::node::Node) {
        self.file = file;
        self.root = root;
        self.source = self.sources.get(file).map(|s| &**s);
    }

    /// Compiles one CEL string found at `pointer`; `has_item` says whether
    /// `item` is bound there.
    fn cel(&mut self, source: &str, pointer: &str, has_item: bool) -> Option<Cel> {
        if let Err((message, offset)) = expression_limits(source, MAX_CEL_LEN) {
            let node = self.span(pointer);
            let span = self.expr_span(node, (1, offset as isize + 1));
            self.diagnostics.push(
                Diagnostic::error(Code::Cel, self.file(), Some(span), format!("CEL expression too complex: {message}"))
                    .with_hint("split the condition into an `all`/`any` tree, or move list literals into `params`"),
            );
            return None;
        }
        match self.env.compile(source) {
            Ok(program) => {
                let vars: Vec<String> = program.references().variables().into_iter().map(str::to_owned).collect();
                let (bound, params_read) = cel_names(&program);
                // variables, type identifiers and function namespaces
                let mut known = CEL_VARIABLES.to_vec();
                known.extend([
                    "int",
                    "uint",
                    "double",
                    "bool",
                    "string",
                    "bytes",
                    "list",
                    "map",
                    "null_type",
                    "type",
                    "dyn",
                    "timestamp",
                    "duration",
                    "math",
                    "strings",
                    "optional",
                ]);
                known.extend(bound.iter().map(String::as_str));
                for v in &vars {
                    if !known.contains(&v.as_str()) {
                        let mut d = Diagnostic::error(
                            Code::Cel,
                            self.file(),
                            Some(self.span(pointer)),
                            format!("unknown variable `{v}` in `{source}`"),
                        );
                        d.hint = Some(match did_you_mean(v, CEL_VARIABLES.iter().copied()) {
                            Some(m) => format!("did you mean `{m}`?"),
                            None => "the variables are doc, item (with `each`), params, ctx and file".into(),
                        });
                        self.diagnostics.push(d);
                        return None;
                    }
                }
                let declared = &self.policy.def.spec.params;
                for name in params_read {
                    if !declared.contains_key(&name) {
                        let mut d = Diagnostic::error(
                            Code::Params,
                            self.file(),
                            Some(self.span(pointer)),
                            format!("`params.{name}` is not declared in the policy's `spec.params`"),
                        );
                        d.hint = Some(match did_you_mean(&name, declared.keys().map(String::as_str)) {
                            Some(m) => format!("did you mean `params.{m}`?"),
                            None => format!("declare it: `spec.params: {{ {name}: ... }}`"),
                        });
                        self.diagnostics.push(d);
                        return None;
                    }
                }
                for v in vars {
                    if v == "item" && !has_item {
                        self.diagnostics.push(
                            Diagnostic::error(
                                Code::Cel,
                                self.file(),
                                Some(self.span(pointer)),
                                "`item` is only bound in rules with `each`",
                            )
                            .with_hint("add `each: \"$.path.to.list[*]\"` to the rule, or use `doc`"),
                        );
                        return None;
                    }
                }
                let constant =
                    constant_errors(source).or_else(|| crate::cel_check::constant_error(&program, self.consts));
                if let Some((message, offset)) = constant {
                    let node = self.span(pointer);
                    let span = self.expr_span(node, (1, offset as isize + 1));
                    let mut d = Diagnostic::error(Code::Cel, self.file(), Some(span), message);
                    d.hint = Some(format!("in `{source}`: this would fail on every document at run time"));
                    self.diagnostics.push(d);
                    return None;
                }
                Some(Cel { program, source: source.to_owned() })
            }
            Err(errors) => {
                let node_span = self.span(pointer);
                for e in errors.errors.iter() {
                    let span = self.expr_span(node_span, e.pos);
                    let msg = e.msg.trim_start_matches("Syntax error: ").to_owned();
                    let mut d =
                        Diagnostic::error(Code::Cel, self.file(), Some(span), format!("invalid CEL expression: {msg}"));
                    d.hint = Some(format!("in `{source}`"));
                    self.diagnostics.push(d);
                }
                None
            }
        }
    }

    /// Maps a (line, column) inside an expression to the file, when the
    /// expression is written on one line; else the whole scalar.
    fn expr_span(&self, node: Span, pos: (isize, isize)) -> Span {
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

    fn cond(&mut self, c: &Condition, pointer: &str, has_item: bool) -> Option<Cond> {
        Some(match c {
            Condition::Cel(s) => Cond::Leaf(self.cel(s, pointer, has_item)?),
            Condition::All { all } => Cond::All(self.conds(all, &format!("{pointer}/all"), has_item)?),
            Condition::Any { any } => Cond::Any(self.conds(any, &format!("{pointer}/any"), has_item)?),
            Condition::Not { not } => Cond::Not(Box::new(self.cond(not, &format!("{pointer}/not"), has_item)?)),
        })
    }

    fn conds(&mut self, cs: &[Condition], pointer: &str, has_item: bool) -> Option<Vec<Cond>> {
        let compiled: Vec<Option<Cond>> =
            cs.iter().enumerate().map(|(i, c)| self.cond(c, &format!("{pointer}/{i}"), has_item)).collect();
        compiled.into_iter().collect()
    }

    fn template(&mut self, text: &str, pointer: &str, has_item: bool) -> Option<Vec<Part>> {
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
            match self.cel(after[..end].trim(), pointer, has_item) {
                Some(c) => parts.push(match FieldPath::of(&c.program) {
                    Some(path) => Part::Field(path, c),
                    None => Part::Expr(c),
                }),
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
    let env = Arc::new(cel_env());
    let root = root_context(env.clone());
    let mut diagnostics = Vec::new();
    let mut policies = Vec::new();
    for lp in loaded {
        if lp.def.metadata.lifecycle == Lifecycle::Draft && !options.include_drafts {
            continue;
        }
        let mut c = Compiler {
            env: &env,
            policy: lp,
            file: &lp.file,
            root: &lp.root,
            source: sources.get(&lp.file).map(|s| &**s),
            sources,
            diagnostics: &mut diagnostics,
            consts: &root,
        };
        if let Some(p) = compile_policy(&mut c, &options) {
            policies.push(p);
        }
    }
    (PolicySet { policies, root, options }, diagnostics)
}

fn compile_policy<'a>(c: &mut Compiler<'a>, options: &CompileOptions) -> Option<CompiledPolicy> {
    let def = &c.policy.def;
    let spec = &def.spec;
    let mut ok = true;
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
    let when = match &spec.matcher.when {
        Some(w) => {
            let compiled = c.cel(w, "/spec/match/when", false);
            ok &= compiled.is_some();
            compiled
        }
        None => None,
    };
    let env_known: Vec<&str> = spec.environments.keys().map(String::as_str).collect();
    let environment = options.environment.as_ref().and_then(|e| spec.environments.get(e).map(|lvl| (e.clone(), *lvl)));
    let policy_from = spec.enforce_from.as_deref().and_then(|d| date_or_diag(c, d, "/spec/enforce_from"));
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
        let cond = c.cond(cond_def, &format!("{base}/{key}"), has_item);
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
            Some(m) => c.template(m, &format!("{base}/message"), has_item),
            None => Some(vec![Part::Text(title.clone())]),
        };
        let over = spec.overrides.get(&r.id);
        let rule_from = r.enforce_from.as_deref().and_then(|d| date_or_diag(c, d, &format!("{base}/enforce_from")));
        let resolved = enforcement::resolve(
            &Inputs {
                rule: r.enforcement,
                policy_default: spec.enforcement,
                overridden: over.and_then(|o| o.enforcement),
                environment: environment.clone(),
                lifecycle: def.metadata.lifecycle,
                enforce_from: rule_from.or(policy_from),
            },
            options.today,
        );
        let (Some(cond), Some(message)) = (cond, message) else {
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
            cond,
            deny,
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
        when,
        params: json_to_val(&serde_json::Value::Object(spec.params.clone())),
        rules,
        needs_json,
        exception_rules: spec.exceptions.clone(),
        owners: def.metadata.owners.clone(),
    })
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

/// The node a document-relative pointer names, for `each` results.
pub fn node_at<'a>(root: &'a Node, segments: &[Segment]) -> Option<&'a Node> {
    root.at(segments)
}

#[cfg(test)]
mod tests {
    #[test]
    fn constant_errors_are_found_at_load_time() {
        assert_eq!(constant_errors("doc.n / 0 > 1").map(|e| e.1), Some(6));
        assert!(constant_errors("doc.n % 0").unwrap().0.contains("remainder"));
        assert_eq!(constant_errors("doc.n / 0.5 > 1 && doc.m / 10 > 0"), None);
        assert_eq!(constant_errors("doc.path == 'a/0'"), None);
        let (m, at) = constant_errors("doc.image.matches('[a-z')").unwrap();
        assert!(m.starts_with("invalid regular expression `[a-z`"), "{m}");
        assert_eq!(at, 18);
        assert!(constant_errors("matches(doc.x, r'(unclosed')").is_some());
        assert_eq!(constant_errors(r#"doc.x.matches(r"\$\{\{[^}]*\}\}") && doc.y.matches('@[0-9a-f]{40}$')"#), None);
        assert_eq!(constant_errors("doc.x.matches(params.re)"), None);
    }

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
