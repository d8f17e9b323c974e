//! (to be written by helper 19b: the self-contained HTML report.)
//! PLACEHOLDER signature only — the contract both helpers code against.

use crate::model::HistoryReport;

/// The whole HTML document of `report` (UTF-8, self-contained).
pub fn render(report: &HistoryReport) -> String {
    format!("<!doctype html><title>bylaw compliance report</title><p>{} runs</p>", report.totals.runs)
}
