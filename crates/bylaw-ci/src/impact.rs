//! The impact comment: on a pull/merge request that changes a policy file
//! (a file of the loaded policy set, at the base or the head), the impact
//! of the change (`bylaw impact` with the request's base commit as base
//! and the checkout as head, computed by the front end through
//! [`Evaluator::impact`]) is posted as ONE comment of its own, found again
//! by [`IMPACT_MARKER`] and updated in place, as the summary comment is.
//! With `impact:` in the config, the impact is computed on each
//! repository it names (a section each); one that cannot be read is listed
//! in the comment as not evaluated and warned about in the log.
//! Like every API call of the flow, a failure here is a warning and never
//! changes the verdict.

use crate::flow::Evaluator;
use crate::forge::{ApiFailure, Forge};
use crate::host::{CiHost, Console};
use crate::requests::ThreadComment;

/// Hidden marker of the impact comment.
pub const IMPACT_MARKER: &str = "<!-- bylaw:impact -->";

/// bylaw's impact comment in `thread`: written by a bot, carrying [`IMPACT_MARKER`].
pub fn impact_comment(thread: &[ThreadComment]) -> Option<u64> {
    thread.iter().find(|c| c.bot && c.body.contains(IMPACT_MARKER)).map(|c| c.id)
}

/// Computes and posts (or updates) the impact comment when the change
/// request changes `changed` files that hold policies. Returns the API
/// failures for the flow to warn about.
pub fn publish<E: Evaluator>(
    evaluator: &mut E,
    forge: Option<&dyn Forge>,
    changed: &[String],
    thread: &[ThreadComment],
    host: &dyn CiHost,
    console: &dyn Console,
) -> Vec<ApiFailure> {
    let Some(f) = forge else { return Vec::new() };
    let subject = f.subject();
    let Some(base) = subject.base.filter(|b| subject.in_change && !b.is_empty()) else { return Vec::new() };
    match evaluator.impact(&base, changed) {
        Ok(None) => Vec::new(),
        Ok(Some(impact)) => {
            let t = &impact.total;
            console.out(&format!(
                "bylaw: this {} changes policies: {} finding{} added, {} removed, {} newly blocking (impact comment)\n",
                f.change_word(),
                t.added,
                if t.added == 1 { "" } else { "s" },
                t.removed,
                t.newly_blocking
            ));
            // a repository of `impact:` that could not be read: the comment
            // says so and shows the others; the log gets the located error
            for r in &impact.failed_repositories {
                host.warn(console, &format!("impact: repository {} not evaluated: {}", r.name, r.error));
            }
            let body = format!("{IMPACT_MARKER}\n{}", bylaw_report::impact::markdown(&impact));
            match f.upsert_summary(impact_comment(thread), &body) {
                Ok(()) => Vec::new(),
                Err(e) => vec![e],
            }
        }
        Err(m) => {
            host.warn(console, &format!("could not compute the impact of the policy change: {m}"));
            Vec::new()
        }
    }
}
