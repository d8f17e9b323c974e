//! Which lines a pull/merge request changed, from the unified diffs both
//! GitHub (`patch` of each file) and GitLab (`diff` of each file) return:
//! `--changed-only` annotates only findings on those lines.

use bylaw_engine::report::Finding;
use std::collections::{BTreeMap, BTreeSet};

/// Lines added or changed by a PR/MR, per file.
pub type ChangedLines = BTreeMap<String, BTreeSet<u32>>;

/// The new-file lines a unified diff adds.
pub fn added_lines(patch: &str) -> BTreeSet<u32> {
    let mut out = BTreeSet::new();
    let mut line = 0u32;
    for l in patch.lines() {
        if let Some(h) = l.strip_prefix("@@") {
            // @@ -a,b +c,d @@
            line = h
                .split_whitespace()
                .find_map(|p| p.strip_prefix('+'))
                .and_then(|p| p.split(',').next())
                .and_then(|n| n.parse().ok())
                .unwrap_or(1);
            continue;
        }
        if l.starts_with('+') {
            out.insert(line);
            line += 1;
        } else if !(l.starts_with('-') || l.starts_with('\\')) {
            line += 1;
        }
    }
    out
}

/// Whether a finding is on a line the PR changed (always true without a filter).
pub fn on_changed_line(f: &Finding, changed: Option<&ChangedLines>) -> bool {
    let Some(c) = changed else { return true };
    c.get(&f.location.path)
        .is_some_and(|lines| (f.location.start_line..=f.location.end_line).any(|l| lines.contains(&l)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn added_lines_of_a_patch() {
        let patch = "@@ -1,3 +1,4 @@\n a\n-b\n+B\n+C\n c\n@@ -10,2 +11,3 @@\n x\n+y\n z";
        assert_eq!(added_lines(patch).into_iter().collect::<Vec<_>>(), vec![2, 3, 12]);
    }
}
