//! Which `#` characters of a YAML file are comments.
//!
//! saphyr-parser emits no comment events, so comments are found from the
//! parser's own view of where tokens are: a `#` is a comment when it starts
//! a line or follows a space or tab (YAML's rule: `a#b` is a plain scalar)
//! and lies outside every quoted and block scalar the parser reported. Plain
//! scalars need no check: a ` #` always ends one.
//!
//! Linear: one pass over the `#` bytes of the file (lines without `#` are
//! skipped by a byte search), then one merge with the scalar ranges, which
//! the parser reports in source order.

use super::Comment;

/// A position: 1-based line, 0-based character column (saphyr's convention).
pub(crate) type Pos = (u32, u32);

/// The comments of `src`, given the `[start, end)` ranges of its quoted and
/// block scalars and the ranges where parsing failed (there nothing is known
/// of the tokens, so nothing is reported as a comment).
pub(crate) fn find(src: &str, mut scalars: Vec<(Pos, Pos)>, unknown: &[(Pos, Pos)]) -> Vec<Comment> {
    scalars.sort_unstable();
    let bytes = src.as_bytes();
    let mut out = Vec::new();
    let (mut line, mut line_start) = (1u32, 0usize);
    // `col` is the character column of byte `col_at`, on the current line.
    let (mut col_at, mut col) = (0usize, 0u32);
    let (mut next_scalar, mut next_unknown) = (0, 0);
    let mut from = 0;
    while let Some(off) = bytes[from..].iter().position(|&b| b == b'#') {
        let at = from + off;
        let passed = &bytes[col_at..at];
        let newlines = passed.iter().filter(|&&b| b == b'\n').count();
        if newlines > 0 {
            line += newlines as u32;
            line_start = col_at + passed.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
            (col_at, col) = (line_start, 0);
        }
        col += src[col_at..at].chars().count() as u32;
        col_at = at;
        from = at + 1;
        if at > line_start && !matches!(bytes[at - 1], b' ' | b'\t') {
            continue;
        }
        let pos = (line, col);
        if inside(&scalars, &mut next_scalar, pos) || inside(unknown, &mut next_unknown, pos) {
            continue;
        }
        let end = bytes[at..].iter().position(|&b| b == b'\n').map_or(bytes.len(), |i| at + i);
        out.push(Comment { line, col: col + 1, text: src[at + 1..end].trim_end().to_owned() });
    }
    out
}

/// Whether `pos` lies in one of the sorted, disjoint `[start, end)` ranges;
/// `next` moves forward only, as positions are asked in increasing order.
fn inside(ranges: &[(Pos, Pos)], next: &mut usize, pos: Pos) -> bool {
    while *next < ranges.len() && ranges[*next].1 <= pos {
        *next += 1;
    }
    ranges.get(*next).is_some_and(|(start, _)| *start <= pos)
}
