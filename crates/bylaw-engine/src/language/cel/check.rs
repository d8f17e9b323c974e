//! Load-time checking of CEL expressions beyond syntax: every subexpression
//! built only from literals — no variable (`doc`, `item`, `params`, `ctx`,
//! `file`), no comprehension — is evaluated once when the policy is
//! compiled, and an error there is an error of the policy, located at that
//! subexpression, instead of one `bylaw/eval-error` per document at run time.
//!
//! This finds what a CEL type checker finds when every variable is `dyn`
//! (cel-spec, "Type Checking": overloads are resolved from the operands'
//! static types, and literals are the only typed operands here): no
//! matching overload (`'a' + 1`, `size(1)`, `!'x'`, `1 && true`,
//! `'1.2' > 1`), plus the errors of constant values: integer division by
//! zero, overflow, an invalid regular expression in `'x'.matches('[')`, an
//! index out of range, a conversion that cannot succeed (`int('x')`).
//! Evaluation uses the run's own root context (the same functions), with no
//! variables bound, so it is exactly what the run would do.

use cel::common::ast::{EntryExpr, Expr};
use cel::{Context, IdedExpr, Program, Value};

/// The first constant subexpression of `program` that fails, innermost
/// first: the error message (naming the subexpression) and the character
/// offset of the subexpression in the source. `None` when none fails.
pub fn constant_error(program: &Program, ctx: &Context<'_, '_>) -> Option<(String, usize)> {
    let mut found = None;
    walk(program.expression(), program, ctx, &mut found);
    found
}

/// Whether `e` is constant; records the first failing constant call or
/// field selection in `found`. Every child is walked (not short-circuited),
/// so a failing constant inside `false && (…)` is still found.
fn walk(e: &IdedExpr, program: &Program, ctx: &Context<'_, '_>, found: &mut Option<(String, usize)>) -> bool {
    if found.is_some() {
        return false;
    }
    // every child is walked, even after a variable is seen
    let all = |es: &mut dyn Iterator<Item = &IdedExpr>, found: &mut Option<(String, usize)>| {
        let mut constant = true;
        for e in es {
            constant &= walk(e, program, ctx, found);
        }
        constant
    };
    let constant = match &e.expr {
        Expr::Literal(_) => return true,
        Expr::Ident(_) | Expr::Unspecified | Expr::Struct(_) => false,
        Expr::Comprehension(c) => {
            let parts = [&c.iter_range, &c.accu_init, &c.loop_cond, &c.loop_step, &c.result];
            all(&mut parts.into_iter(), found);
            false
        }
        Expr::List(l) => all(&mut l.elements.iter(), found),
        Expr::Map(m) => all(
            &mut m.entries.iter().flat_map(|entry| match &entry.expr {
                EntryExpr::MapEntry(me) => vec![&me.key, &me.value],
                EntryExpr::StructField(sf) => vec![&sf.value],
            }),
            found,
        ),
        Expr::Select(s) => walk(&s.operand, program, ctx, found),
        Expr::Call(c) => all(&mut c.target.iter().map(|t| &**t).chain(c.args.iter()), found),
    };
    if constant && found.is_none() && matches!(e.expr, Expr::Call(_) | Expr::Select(_)) {
        if let Err(err) = Value::resolve(e, ctx) {
            // the parser records one position per node: a call's operator or
            // name, a selection's field
            let mut at = program.source_info().offset_for(e.id).map_or(0, |(start, _)| start as usize);
            // a call is recorded at its `(`: point at the function's name
            if let Expr::Call(c) = &e.expr {
                let chars: Vec<char> = program.source_info().source.chars().collect();
                let name: Vec<char> = c.func_name.chars().collect();
                if chars.get(at) == Some(&'(') && at >= name.len() && chars[at - name.len()..at] == name[..] {
                    at -= name.len();
                }
            }
            *found = Some((format!("a constant part of the expression fails whatever the input: {err}"), at));
        }
    }
    constant
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn check(src: &str) -> Option<(String, usize)> {
        let env = Arc::new(crate::language::cel::cel_env());
        let program = env.compile(src).expect("parses");
        let ctx = crate::language::cel::root_context(env);
        constant_error(&program, &ctx)
    }

    #[test]
    fn type_errors_between_literals_are_found() {
        for src in [
            "doc.a == 1 && 'x' + 1 == 'x1'",
            "size(1) > 0",
            "doc.enabled && !'yes'",
            "doc.n > 1 || (1 && true)",
            "'1.2' > 1",
            "doc.x == int('twelve')",
            "[1, 2][5] == doc.y",
            "doc.tag.startsWith('v') || 'abc'.matches('[a-')",
            "false && 1 / 0 == 1",
        ] {
            assert!(check(src).is_some(), "{src}");
        }
        let (message, at) = check("doc.a == 1 && 'x' + 1 == 'x1'").unwrap();
        assert!(message.contains("fails whatever the input") && message.contains("add"), "{message}");
        assert_eq!(at, 18, "at the `+`");
        assert_eq!(check("doc.a && size(1) > 0").map(|e| e.1), Some(9), "at the function's name");
    }

    #[test]
    fn expressions_that_depend_on_the_input_are_left_alone() {
        for src in [
            "doc.a + 1 > 2",
            "size(doc.items) > 0",
            "doc.x.matches('^[a-z]+$')",
            "[1, 2, 3].all(x, x > 0)",
            "doc.spec.?replicas.orValue(1) > 0",
            "has(doc.metadata.labels) && 'app' in doc.metadata.labels",
            "{'a': 1}.a == 1 && [1, 2][1] == 2 && 'abc'.matches('^a')",
            "type(doc.x) == int",
            "quantity('1Gi') > quantity('512Mi')",
        ] {
            assert_eq!(check(src), None, "{src}");
        }
    }
}
