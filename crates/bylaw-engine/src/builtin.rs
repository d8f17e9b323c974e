//! bylaw's own rules: problems with the inputs or the policies found while
//! evaluating, reported as findings so they reach every output.

use crate::report::{Enforcement, RuleInfo, Severity};

/// Policy name of the built-in rules.
pub const POLICY: &str = "bylaw";
/// An input file that cannot be read or parsed.
pub const PARSE_ERROR: &str = "bylaw/parse-error";
/// An input file over the size limit (`max_file_size`), not parsed.
pub const INPUT_TOO_LARGE: &str = "bylaw/input-too-large";
/// A rule whose condition failed with an error other than missing data.
pub const EVAL_ERROR: &str = "bylaw/eval-error";
/// The target name of pipeline policies (`match.target: pipeline`).
pub const PIPELINE_TARGET: &str = "<pipeline>";

/// Documentation of a built-in rule.
pub fn rule_info(id: &str, enforcement: Enforcement) -> RuleInfo {
    let (title, description, remediation) = match id {
        PARSE_ERROR => (
            "Input files must parse",
            "A file that policies apply to could not be read or parsed, so none of them could check it. Its other documents, and all other files, were still evaluated.",
            "Fix the syntax error at the reported line and column (indentation, quoting, unclosed brackets), or exclude the file with `match.files` / `targets`.",
        ),
        INPUT_TOO_LARGE => (
            "Input files stay within the size limit",
            "A file that policies apply to is larger than `max_file_size`, so it was not parsed and none of them could check it: a gate never passes a file it did not read.",
            "Split the file, raise `max_file_size` in .bylaw.yaml, or leave it out with `targets`.",
        ),
        _ => (
            "Rules must evaluate without errors",
            "A rule's CEL condition failed with an error other than missing data (a type mismatch, a bad regular expression, a failing function), so the target could not be judged. This is never a silent pass.",
            "Fix the rule's expression (see the message), or guard it, e.g. with `has(...)` or `type(x) == string`.",
        ),
    };
    RuleInfo {
        id: id.to_owned(),
        policy: POLICY.to_owned(),
        title: title.to_owned(),
        severity: Severity::High,
        enforcement,
        description: Some(description.to_owned()),
        remediation: Some(remediation.to_owned()),
        controls: Vec::new(),
        kind: "operational".to_owned(),
    }
}
