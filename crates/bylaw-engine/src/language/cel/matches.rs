//! CEL's `matches` (RE2 syntax through the `regex` crate), with compiled
//! patterns cached per thread. The `cel` crate's own `matches` compiles its
//! pattern on every call, which dominated evaluation time on large corpora
//! (a rule like `item.name.matches(params.pattern)` runs once per container
//! per document); its `regex` feature is turned off and this one is
//! registered in its place, with the same semantics and overloads.

use cel::common::types::{CelBool, CelString};
use cel::{DeclarationError, Env, ExecutionError};
use regex::Regex;
use std::cell::RefCell;
use std::collections::HashMap;

/// Patterns kept per thread; the cache is emptied when it grows past this
/// (policies use a handful of patterns, so it normally never is).
const CACHE_LIMIT: usize = 512;

thread_local! {
    static CACHE: RefCell<HashMap<String, Regex>> = RefCell::new(HashMap::new());
}

/// Registers `matches(string, string)` and `string.matches(string)` on `env`.
pub fn extension(env: &mut Env) -> Result<(), DeclarationError> {
    cel::add_overload!(env, fn matches: (CelString, CelString) -> Result<CelBool>, id = "matches")?;
    cel::add_member_overload!(env, fn matches: (CelString, CelString) -> Result<CelBool>)?;
    Ok(())
}

/// Whether `text` contains a match of `pattern` (unanchored, as in CEL).
pub fn is_match(text: &str, pattern: &str) -> Result<bool, ExecutionError> {
    CACHE.with(|cache| {
        let mut cache = cache.borrow_mut();
        if let Some(re) = cache.get(pattern) {
            return Ok(re.is_match(text));
        }
        let re = Regex::new(pattern).map_err(|err| {
            ExecutionError::function_error("matches", format!("'{pattern}' not a valid regex:\n{err}"))
        })?;
        let found = re.is_match(text);
        if cache.len() >= CACHE_LIMIT {
            cache.clear();
        }
        cache.insert(pattern.to_owned(), re);
        Ok(found)
    })
}

fn matches(this: &CelString<'_>, re: &CelString<'_>) -> Result<CelBool, ExecutionError> {
    is_match(this.inner(), re.inner()).map(CelBool::from)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    fn eval(src: &str) -> Result<cel::Value, cel::ExecutionError> {
        let env = Arc::new(crate::language::cel::cel_env());
        let program = env.compile(src).unwrap();
        program.execute(&crate::language::cel::root_context(env))
    }

    #[test]
    fn member_and_global_forms_match_unanchored() {
        assert_eq!(eval("'foobar'.matches('^fo+b')").unwrap(), cel::Value::Bool(true));
        assert_eq!(eval("matches('foo1', '^[a-z]*$')").unwrap(), cel::Value::Bool(false));
        assert_eq!(eval("'AWS_SECRET_KEY'.matches('(?i)secret|token')").unwrap(), cel::Value::Bool(true));
        // the cached pattern gives the same answers on later calls
        for _ in 0..3 {
            assert_eq!(eval("['a1', 'b', 'c2'].filter(s, s.matches('[0-9]')).size()").unwrap(), cel::Value::Int(2));
        }
    }

    #[test]
    fn invalid_patterns_are_errors_naming_the_pattern() {
        let err = eval("'x'.matches('(foo')").unwrap_err().to_string();
        assert!(err.contains("'(foo' not a valid regex"), "{err}");
    }
}
