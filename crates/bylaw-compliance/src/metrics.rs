//! (to be written by helper 19a: computes a [`HistoryReport`] from the store.)
//! PLACEHOLDER signature only — the contract both helpers code against.

use crate::model::{HistoryReport, Query};
use crate::ComplianceError;
use bylaw_engine::chrono::{DateTime, Utc};
use bylaw_history::Store;

/// Computes the report of `query` from `store` at time `now`.
///
/// # Errors
/// [`ComplianceError`] when the store cannot be read or the query is invalid.
pub fn compute(store: &Store, query: &Query, now: DateTime<Utc>) -> Result<HistoryReport, ComplianceError> {
    let _ = (store, query, now);
    Err(ComplianceError::Invalid("metrics::compute is not written yet".into()))
}
