//! bylaw's compliance analytics (issue 19, items 2–5): what the history
//! store ([`bylaw_history::Store`]) says about a period of runs, as one
//! data model ([`model::HistoryReport`]) computed once ([`metrics`]) and
//! rendered many ways — a self-contained HTML report with inline SVG charts
//! ([`html`], [`svg`]), Markdown for CI summaries ([`markdown`]), JSON for
//! other tools (the model serialised, `version` 1), and the Prometheus text
//! exposition format ([`prometheus`]). [`frameworks`] maps rules' `controls`
//! ids (`SOC2-CC6.1`, `PCI-DSS-6.3.2`, `NIST-800-53-AC-6`, `HIPAA-…`,
//! `CIS-…`) to frameworks and control titles.
//!
//! Definitions of every metric: README.md "Effectiveness metrics".
//!
//! What it does not do: write the store, print, or read the process
//! environment (the CLI passes the time of the run and the filters).

#![forbid(unsafe_code)]

pub mod frameworks;
pub mod html;
pub mod markdown;
pub mod metrics;
pub mod model;
pub mod prometheus;
pub mod svg;

/// Why a report could not be computed.
#[derive(Debug, thiserror::Error)]
pub enum ComplianceError {
    /// The store could not be read.
    #[error(transparent)]
    Store(#[from] bylaw_history::HistoryError),
    /// The query is invalid (e.g. `since` after `until`, an unknown framework); the message says which.
    #[error("{0}")]
    Invalid(String),
}
