//! bylaw's CEL function library (being written).

/// Registers bylaw's functions on a root CEL context.
pub fn register(_ctx: &mut cel::Context<'_, '_>) {}
