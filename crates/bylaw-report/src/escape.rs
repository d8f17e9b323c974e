//! Making input-derived text safe for where it is printed. Policies,
//! manifests, file names and exception lists are written by other people;
//! their text must never start a CI workflow command (`::stop-commands::`,
//! `##[error]`, `##vso[`) or drive a terminal (ESC sequences), and must not
//! break the structure of a Markdown table or a link.
//!
//! [`display_safe`] is implemented in `bylaw_engine::diagnostic` (the
//! engine's diagnostics need it and the engine cannot depend on this crate)
//! and re-exported here; every emitter of this crate uses it.

pub use bylaw_engine::diagnostic::display_safe;

/// `path` percent-encoded for a URI reference or a Markdown link target,
/// keeping `/`: every byte but the RFC 3986 unreserved characters
/// (`A–Z a–z 0–9 - . _ ~`) becomes `%XX`, so a space, `#`, `%`, `?`, `(`,
/// `)`, `[`, `]`, `<`, `>` and non-ASCII (as its UTF-8 bytes) cannot end
/// or redirect the link.
pub fn percent_encode_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for b in path.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'/' => out.push(b as char),
            _ => {
                const HEX: &[u8; 16] = b"0123456789ABCDEF";
                out.push('%');
                out.push(HEX[(b >> 4) as usize] as char);
                out.push(HEX[(b & 0xf) as usize] as char);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_encoding_keeps_slashes_and_encodes_what_would_break_a_link() {
        assert_eq!(percent_encode_path("deploy/app.yaml"), "deploy/app.yaml");
        assert_eq!(percent_encode_path("a b/#1%(x)[y]<z>?é.yaml"), "a%20b/%231%25%28x%29%5By%5D%3Cz%3E%3F%C3%A9.yaml");
    }
}
