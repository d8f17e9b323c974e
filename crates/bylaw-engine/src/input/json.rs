//! JSON files. JSON is checked strictly with `serde_json` (so a trailing
//! comma or a comment is a located syntax error, as JSON tools report it),
//! then read through the YAML reader, of which JSON is a subset, to get the
//! same span-carrying tree.

use super::yaml::{self, Parsed, SyntaxError};

/// Parses one JSON document.
pub fn parse(src: &str) -> Parsed {
    if let Err(e) = serde_json::from_str::<serde::de::IgnoredAny>(src) {
        return Parsed {
            documents: Vec::new(),
            error: Some(SyntaxError {
                line: e.line().max(1) as u32,
                col: e.column().max(1) as u32,
                message: strip_position(&e.to_string()),
            }),
        };
    }
    yaml::parse(src)
}

/// serde_json appends " at line L column C"; the position is reported separately.
fn strip_position(msg: &str) -> String {
    match msg.rfind(" at line ") {
        Some(i) => msg[..i].to_owned(),
        None => msg.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_spans() {
        let p = parse("{\n  \"a\": {\n    \"b\": [1, true]\n  }\n}\n");
        assert!(p.error.is_none());
        let (s, n) = p.documents[0].span_of_pointer("/a/b/1");
        assert_eq!(n, 3);
        assert_eq!((s.start_line, s.start_col, s.end_col), (3, 14, 18));
    }

    #[test]
    fn json_errors_are_located() {
        let p = parse("{\n  \"a\": 1,\n}\n");
        let e = p.error.unwrap();
        assert_eq!(e.line, 3);
        assert!(e.message.contains("key must be a string"), "{}", e.message);
    }
}
