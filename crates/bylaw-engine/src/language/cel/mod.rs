//! CEL (cel-spec, through the `cel` crate), the policy language of YAML
//! policies (DESIGN §3): `deny`/`require` conditions (one CEL string or an
//! `all`/`any`/`not` tree of them), the `match.when` filter and the `{{ }}`
//! of messages, over the variables [`CEL_VARIABLES`].
//!
//! Compiling: every string is compiled against one environment (the
//! standard library, its string, list and math extensions, a caching
//! `matches` ([`mod@matches`]) and bylaw's functions ([`library`])), made once per
//! process; unknown variables and undeclared `params` fields are found from
//! the CEL syntax tree (`cel_names`), and errors every evaluation would
//! raise are found at load time ([`constant_errors`], [`check`]).
//!
//! Evaluating: each document is converted to CEL values once for all the
//! policies and rules that apply to it (strings borrowed from the parsed
//! tree), and `each` selections are shared by the rules of a document;
//! the variables are lent to a child scope of the shared root context
//! through a resolver, so no value is copied per rule. Missing data (a
//! "no such key", a field selected on `null`, an index out of range) makes
//! a CEL string false, and shows as `<missing>` in a message; any other
//! error is reported as the rule's evaluation error.

pub mod check;
pub mod library;
pub mod matches;

use super::{
    Bindings, ConditionCompiler, Document, Event, Expression, LanguageRun, Outcome, PolicyLanguage, RawFinding,
};
use crate::compile::{
    expression_limits, strip_strings, CompiledPolicy, CompiledRule, Compiler, FieldPath, FieldRoot, MAX_CEL_LEN,
};
use crate::diagnostic::{did_you_mean, Code, Diagnostic};
use crate::jsonpath::Query as JsonPath;
use crate::loader::LoadedPolicy;
use crate::node::{json_to_val, Segment};
use crate::policy::Condition;
use cel::common::types::{CelMap, CelMapKey, CelString};
use cel::common::value::{CowVal, Val};
use cel::context::VariableResolver;
use cel::{Context, Env, ExecutionError, Program, Value};
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use std::sync::{Arc, OnceLock};

/// The language's name, as [`CompiledPolicy::language`] holds it.
pub const NAME: &str = "cel";

/// The CEL variables bylaw binds (DESIGN §3), the one list: the compiler
/// knows them by it; the evaluator's resolver binds each.
pub const CEL_VARIABLES: &[&str] = &["doc", "item", "params", "ctx", "file"];

/// CEL as a [`PolicyLanguage`].
pub struct CelLanguage;

impl PolicyLanguage for CelLanguage {
    fn name(&self) -> &'static str {
        NAME
    }

    fn compiler<'a>(&'a self, policy: &'a LoadedPolicy) -> Box<dyn ConditionCompiler + 'a> {
        Box::new(CelCompiler {
            policy,
            shared: shared(),
            program: CelProgram {
                when: None,
                params: json_to_val(&serde_json::Value::Object(policy.def.spec.params.clone())),
                conditions: Vec::new(),
                expressions: Vec::new(),
            },
        })
    }

    fn start(&self, ctx: &serde_json::Value, _files: &[crate::eval::FileRef]) -> Box<dyn LanguageRun> {
        Box::new(CelRun { ctx: json_to_val(ctx), root: &shared().root })
    }
}

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

/// The CEL program of one policy, as [`CelLanguage`]'s compiler made it.
pub struct CelProgram {
    /// `match.when`.
    when: Option<Cel>,
    /// `spec.params`, bound as `params`.
    params: Box<dyn Val + 'static>,
    /// The rules' conditions by [`CompiledRule::condition`], each with
    /// whether it is a `deny` (violated when true) rather than a `require`.
    conditions: Vec<(Cond, bool)>,
    /// The expressions of the rules' messages, by [`Expression::index`].
    expressions: Vec<Cel>,
}

/// The environment and root context every CEL program is compiled against
/// and run in, built once per process: they hold only functions (variables
/// are bound per evaluation, through a resolver).
struct Shared {
    env: Arc<Env>,
    root: Context<'static, 'static>,
}

fn shared() -> &'static Shared {
    static SHARED: OnceLock<Shared> = OnceLock::new();
    SHARED.get_or_init(|| {
        let env = Arc::new(cel_env());
        Shared { root: root_context(env.clone()), env }
    })
}

/// The CEL environment: the standard library and its string, list and math
/// extensions. bylaw's own functions are added to the root context.
pub fn cel_env() -> Env {
    let mut env = Env::stdlib();
    for ext in [
        cel::extensions::strings as fn(&mut Env) -> Result<(), cel::DeclarationError>,
        cel::extensions::lists,
        cel::extensions::math,
        matches::extension,
        library::extension,
    ] {
        if let Err(e) = env.add_extension(ext) {
            tracing::warn!("CEL extension not registered: {e}");
        }
    }
    env
}

/// Builds the shared root context (functions are declared on the env);
/// variables are bound per evaluation through a resolver.
pub fn root_context(env: Arc<Env>) -> Context<'static, 'static> {
    Context::with_env(env)
}

/// Compiles the CEL strings of one policy into its [`CelProgram`].
struct CelCompiler<'a> {
    policy: &'a LoadedPolicy,
    shared: &'static Shared,
    program: CelProgram,
}

impl ConditionCompiler for CelCompiler<'_> {
    fn filter(&mut self, c: &mut Compiler<'_>, source: &str, pointer: &str) -> bool {
        self.program.when = self.cel(c, source, pointer, false);
        self.program.when.is_some()
    }

    fn condition(
        &mut self,
        c: &mut Compiler<'_>,
        cond: &Condition,
        deny: bool,
        pointer: &str,
        has_item: bool,
    ) -> Option<usize> {
        let cond = self.cond(c, cond, pointer, has_item)?;
        self.program.conditions.push((cond, deny));
        Some(self.program.conditions.len() - 1)
    }

    fn expression(&mut self, c: &mut Compiler<'_>, source: &str, pointer: &str, has_item: bool) -> Option<Expression> {
        let cel = self.cel(c, source, pointer, has_item)?;
        let field = field_path(&cel.program);
        self.program.expressions.push(cel);
        Some(Expression { index: self.program.expressions.len() - 1, field })
    }

    fn finish(self: Box<Self>) -> Box<dyn std::any::Any + Send + Sync> {
        Box::new(self.program)
    }
}

impl CelCompiler<'_> {
    /// Compiles one CEL string found at `pointer`; `has_item` says whether
    /// `item` is bound there.
    fn cel(&mut self, c: &mut Compiler<'_>, source: &str, pointer: &str, has_item: bool) -> Option<Cel> {
        if let Err((message, offset)) = expression_limits(source, MAX_CEL_LEN) {
            let node = c.span(pointer);
            let span = c.expr_span(node, (1, offset as isize + 1));
            c.push(
                Diagnostic::error(Code::Cel, c.file(), Some(span), format!("CEL expression too complex: {message}"))
                    .with_hint("split the condition into an `all`/`any` tree, or move list literals into `params`"),
            );
            return None;
        }
        match self.shared.env.compile(source) {
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
                            c.file(),
                            Some(c.span(pointer)),
                            format!("unknown variable `{v}` in `{source}`"),
                        );
                        d.hint = Some(match did_you_mean(v, CEL_VARIABLES.iter().copied()) {
                            Some(m) => format!("did you mean `{m}`?"),
                            None => "the variables are doc, item (with `each`), params, ctx and file".into(),
                        });
                        c.push(d);
                        return None;
                    }
                }
                let declared = &self.policy.def.spec.params;
                for name in params_read {
                    if !declared.contains_key(&name) {
                        let mut d = Diagnostic::error(
                            Code::Params,
                            c.file(),
                            Some(c.span(pointer)),
                            format!("`params.{name}` is not declared in the policy's `spec.params`"),
                        );
                        d.hint = Some(match did_you_mean(&name, declared.keys().map(String::as_str)) {
                            Some(m) => format!("did you mean `params.{m}`?"),
                            None => format!("declare it: `spec.params: {{ {name}: ... }}`"),
                        });
                        c.push(d);
                        return None;
                    }
                }
                for v in vars {
                    if v == "item" && !has_item {
                        c.push(
                            Diagnostic::error(
                                Code::Cel,
                                c.file(),
                                Some(c.span(pointer)),
                                "`item` is only bound in rules with `each`",
                            )
                            .with_hint("add `each: \"$.path.to.list[*]\"` to the rule, or use `doc`"),
                        );
                        return None;
                    }
                }
                let constant = constant_errors(source).or_else(|| check::constant_error(&program, &self.shared.root));
                if let Some((message, offset)) = constant {
                    let node = c.span(pointer);
                    let span = c.expr_span(node, (1, offset as isize + 1));
                    let mut d = Diagnostic::error(Code::Cel, c.file(), Some(span), message);
                    d.hint = Some(format!("in `{source}`: this would fail on every document at run time"));
                    c.push(d);
                    return None;
                }
                Some(Cel { program, source: source.to_owned() })
            }
            Err(errors) => {
                let node_span = c.span(pointer);
                for e in errors.errors.iter() {
                    let span = c.expr_span(node_span, e.pos);
                    let msg = e.msg.trim_start_matches("Syntax error: ").to_owned();
                    let mut d =
                        Diagnostic::error(Code::Cel, c.file(), Some(span), format!("invalid CEL expression: {msg}"));
                    d.hint = Some(format!("in `{source}`"));
                    c.push(d);
                }
                None
            }
        }
    }

    fn cond(&mut self, c: &mut Compiler<'_>, cond: &Condition, pointer: &str, has_item: bool) -> Option<Cond> {
        Some(match cond {
            Condition::Cel(s) => Cond::Leaf(self.cel(c, s, pointer, has_item)?),
            Condition::All { all } => Cond::All(self.conds(c, all, &format!("{pointer}/all"), has_item)?),
            Condition::Any { any } => Cond::Any(self.conds(c, any, &format!("{pointer}/any"), has_item)?),
            Condition::Not { not } => Cond::Not(Box::new(self.cond(c, not, &format!("{pointer}/not"), has_item)?)),
        })
    }

    fn conds(&mut self, c: &mut Compiler<'_>, cs: &[Condition], pointer: &str, has_item: bool) -> Option<Vec<Cond>> {
        let compiled: Vec<Option<Cond>> =
            cs.iter().enumerate().map(|(i, cond)| self.cond(c, cond, &format!("{pointer}/{i}"), has_item)).collect();
        compiled.into_iter().collect()
    }
}

/// The field path `program` is, if it is one (cel-spec "Field
/// Selection": `e.f` on a map is the entry under key `"f"`).
fn field_path(program: &Program) -> Option<FieldPath> {
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

/// One run: the pipeline context converted to CEL values once.
struct CelRun {
    ctx: Box<dyn Val + 'static>,
    root: &'static Context<'static, 'static>,
}

impl LanguageRun for CelRun {
    fn evaluate<'p>(
        &self,
        doc: &Document<'_>,
        policies: &mut dyn Iterator<Item = (usize, &'p CompiledPolicy)>,
        sink: &mut dyn FnMut(Event<'_>),
    ) {
        let mut policies = policies.peekable();
        if policies.peek().is_none() {
            return;
        }
        // once per document, for every policy and rule
        let doc_val = doc.node.to_val();
        let file = file_val(doc.path, doc.format, doc.file_type);
        let items = RefCell::new(HashMap::new());
        let d = CelDocument { doc, doc_val: &*doc_val, file: &file, items: &items, ctx: &*self.ctx, root: self.root };
        for (i, p) in policies {
            match p.program.downcast_ref::<CelProgram>() {
                Some(program) => d.policy(i, p, program, sink),
                None => debug_assert!(false, "policy {} is not a CEL program", p.name),
            }
        }
    }
}

/// The elements an `each` JSONPath selects in a document: their segments
/// from the document root and their CEL values.
type Items<'a> = Rc<Vec<(Vec<Segment>, &'a (dyn Val + 'a))>>;
/// Per-document cache of [`Items`] by the JSONPath's text.
type ItemCache<'a> = RefCell<HashMap<String, Items<'a>>>;

/// The part of a CEL value (built by [`Node::to_val`]) at `segs`.
fn val_at<'a>(mut v: &'a (dyn Val + 'a), segs: &[Segment]) -> Option<&'a (dyn Val + 'a)> {
    use cel::common::traits::Indexer;
    for seg in segs {
        v = match seg {
            Segment::Key(k) => match v.downcast_ref::<CelMap>()?.get(&CelString::from(k.as_str())).ok()? {
                CowVal::Borrowed(x) => x,
                CowVal::Owned(_) => return None,
            },
            Segment::Index(i) => v.downcast_ref::<cel::common::types::CelList>()?.inner().get(*i)?.as_ref(),
        };
    }
    Some(v)
}

/// One document being evaluated, with its CEL values; `'a` is the lifetime
/// of the per-document values.
struct CelDocument<'a, 'd> {
    doc: &'a Document<'d>,
    doc_val: &'a (dyn Val + 'a),
    file: &'a (dyn Val + 'a),
    /// `each` results of this document by JSONPath, shared by the rules
    /// that use the same path: queried and converted to CEL values once.
    items: &'a ItemCache<'a>,
    ctx: &'a (dyn Val + 'a),
    root: &'a Context<'static, 'static>,
}

impl<'a> CelDocument<'a, '_> {
    /// Evaluates policy `i` (`p`, compiled as `program`): its filter, then
    /// its rules.
    fn policy(&self, i: usize, p: &CompiledPolicy, program: &CelProgram, sink: &mut dyn FnMut(Event<'_>)) {
        let vars = Vars { doc: self.doc_val, item: None, params: &*program.params, ctx: self.ctx, file: self.file };
        if let Some(when) = &program.when {
            match eval_leaf(when, self.root, &vars) {
                Ok(true) => {}
                Ok(false) => return,
                Err(message) => {
                    sink(Event::FilterFailed { policy: i, message });
                    return;
                }
            }
        }
        for (ri, r) in p.rules.iter().enumerate() {
            self.rule((i, ri), r, program, &vars, sink);
        }
        sink(Event::Applied(i));
    }

    /// Evaluates one rule on the document, or on each element its `each`
    /// selects.
    fn rule(
        &self,
        (policy, rule): (usize, usize),
        r: &CompiledRule,
        program: &CelProgram,
        base: &Vars<'_>,
        sink: &mut dyn FnMut(Event<'_>),
    ) {
        let Some((cond, deny)) = program.conditions.get(r.condition) else {
            debug_assert!(false, "rule {} has no condition", r.id);
            return;
        };
        let mut check = |vars: &Vars<'_>, item: Option<&[Segment]>| {
            let bindings = CelBindings { expressions: &program.expressions, root: self.root, vars };
            let outcome = match eval_cond(cond, self.root, vars) {
                Ok(v) if v == *deny => Outcome::Violation(&bindings),
                Ok(_) => return,
                Err(e) => Outcome::Error(e),
            };
            sink(Event::Finding(RawFinding { policy, rule, item, outcome, excepted: None, elsewhere: None }));
        };
        match &r.each {
            None => check(base, None),
            Some(jp) => {
                for (segs, item) in self.items(jp).iter() {
                    let vars = Vars { item: Some(*item), ..*base };
                    check(&vars, Some(segs));
                }
            }
        }
    }

    /// The elements `jp` selects in the document, from the cache when
    /// another rule already asked.
    fn items(&self, jp: &JsonPath) -> Items<'a> {
        if let Some(found) = self.items.borrow().get(jp.as_str()) {
            return found.clone();
        }
        // The elements are parts of the document's CEL value, converted once
        // per document: borrowed from it, not converted again.
        let items: Vec<(Vec<Segment>, &'a (dyn Val + 'a))> = jp
            .select(self.doc.node, self.doc.json)
            .into_iter()
            .filter_map(|(segs, _)| {
                let v = val_at(self.doc_val, &segs);
                debug_assert!(v.is_some(), "the CEL value mirrors the document");
                Some((segs, v?))
            })
            .collect();
        let items = Rc::new(items);
        self.items.borrow_mut().insert(jp.as_str().to_owned(), items.clone());
        items
    }
}

/// A violation's variables, for its message.
struct CelBindings<'a> {
    expressions: &'a [Cel],
    root: &'a Context<'static, 'static>,
    vars: &'a Vars<'a>,
}

impl Bindings for CelBindings<'_> {
    fn write(&self, expr: usize, out: &mut String) -> Result<bool, String> {
        let Some(cel) = self.expressions.get(expr) else {
            return Err(format!("no message expression {expr}"));
        };
        match run_cel(cel, self.root, self.vars) {
            Ok(v) => {
                out.push_str(&display_value(&v));
                Ok(true)
            }
            Err(e) if is_missing(&e) => Ok(false),
            Err(e) => Err(e.to_string()),
        }
    }
}

/// The variables of one evaluation, lent to CEL without copying.
struct Vars<'a> {
    doc: &'a (dyn Val + 'a),
    item: Option<&'a (dyn Val + 'a)>,
    params: &'a (dyn Val + 'a),
    ctx: &'a (dyn Val + 'a),
    file: &'a (dyn Val + 'a),
}

impl VariableResolver for Vars<'_> {
    fn resolve<'b>(&'b self, variable: &str) -> Option<CowVal<'b, 'b>> {
        let v: &'b (dyn Val + 'b) = match variable {
            "doc" => self.doc,
            "item" => self.item?,
            "params" => self.params,
            "ctx" => self.ctx,
            "file" => self.file,
            _ => return None,
        };
        Some(CowVal::Borrowed(v))
    }
}

/// Whether an execution error means "the data is not there".
fn is_missing(e: &ExecutionError) -> bool {
    match e {
        ExecutionError::NoSuchKey(_) | ExecutionError::IndexOutOfBounds(_) => true,
        ExecutionError::NoSuchOverload(o) => {
            o.function() == "_._" && o.argument_types().first().is_some_and(|t| t == "null_type")
        }
        _ => false,
    }
}

fn run_cel(cel: &Cel, root: &Context<'_, '_>, vars: &Vars<'_>) -> Result<Value, ExecutionError> {
    let mut scope = root.new_inner_scope();
    scope.set_variable_resolver(vars);
    cel.program.execute(&scope)
}

/// Evaluates one CEL string as a condition, with the missing-data rule.
fn eval_leaf(cel: &Cel, root: &Context<'_, '_>, vars: &Vars<'_>) -> Result<bool, String> {
    match run_cel(cel, root, vars) {
        Ok(Value::Bool(b)) => Ok(b),
        Ok(other) => Err(format!("`{}` must evaluate to a bool, got {}", cel.source, other.type_of())),
        Err(e) if is_missing(&e) => Ok(false),
        Err(e) => Err(format!("`{}`: {e}", cel.source)),
    }
}

fn eval_cond(c: &Cond, root: &Context<'_, '_>, vars: &Vars<'_>) -> Result<bool, String> {
    match c {
        Cond::Leaf(cel) => eval_leaf(cel, root, vars),
        Cond::All(cs) => {
            for c in cs {
                if !eval_cond(c, root, vars)? {
                    return Ok(false);
                }
            }
            Ok(true)
        }
        Cond::Any(cs) => {
            for c in cs {
                if eval_cond(c, root, vars)? {
                    return Ok(true);
                }
            }
            Ok(false)
        }
        Cond::Not(c) => Ok(!eval_cond(c, root, vars)?),
    }
}

/// Renders a CEL value for a message: strings as-is, the rest as in JSON.
fn display_value(v: &Value) -> String {
    match v {
        Value::String(s) => s.to_string(),
        Value::Float(f) if !f.is_finite() => f.to_string(),
        other => value_json(other).to_string(),
    }
}

fn value_json(v: &Value) -> serde_json::Value {
    use serde_json::Value as J;
    match v {
        Value::Null => J::Null,
        Value::Bool(b) => J::Bool(*b),
        Value::Int(i) => J::from(*i),
        Value::UInt(u) => J::from(*u),
        // JSON has no infinity or NaN: written as CEL's `string()` writes them
        Value::Float(f) => serde_json::Number::from_f64(*f).map(J::Number).unwrap_or_else(|| J::String(f.to_string())),
        Value::String(s) => J::String(s.to_string()),
        Value::List(l) => J::Array(l.iter().map(value_json).collect()),
        Value::Map(m) => {
            let mut entries: Vec<(String, J)> = m
                .map
                .iter()
                .map(|(k, v)| {
                    let key = match k {
                        cel::objects::Key::String(s) => s.to_string(),
                        cel::objects::Key::Int(i) => i.to_string(),
                        cel::objects::Key::Uint(u) => u.to_string(),
                        cel::objects::Key::Bool(b) => b.to_string(),
                    };
                    (key, value_json(v))
                })
                .collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            J::Object(entries.into_iter().collect())
        }
        other => J::String(format!("{other:?}")),
    }
}

/// The `file` variable: the file's display path, format and type.
fn file_val<'a>(path: &'a str, format: &'a str, file_type: &'a str) -> CelMap<'a> {
    let mut m: HashMap<CelMapKey<'a>, Box<dyn Val + 'a>> = HashMap::new();
    m.insert(CelMapKey::from("path"), Box::new(CelString::from(path)));
    m.insert(CelMapKey::from("format"), Box::new(CelString::from(format)));
    m.insert(CelMapKey::from("type"), Box::new(CelString::from(file_type)));
    CelMap::from(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_resolver_binds_every_cel_variable_the_compiler_knows() {
        let null = cel::common::types::CelNull;
        let vars = Vars { doc: &null, item: Some(&null), params: &null, ctx: &null, file: &null };
        for name in CEL_VARIABLES {
            assert!(vars.resolve(name).is_some(), "`{name}` is not bound");
        }
        assert!(vars.resolve("docs").is_none());
    }

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
}
