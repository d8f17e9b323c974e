//! Built-in policy packs (the `bylaw-packs` crate holds their files),
//! loaded as `pack:NAME` and extended with `extends: ["pack:NAME"]` (or
//! `pack:NAME@MAJOR`).

pub use bylaw_packs::{names, source, PACKS};

/// `metadata.version` of pack `name`.
pub fn version(name: &str) -> Option<String> {
    let src = source(name)?;
    let doc = crate::input::yaml::parse(src).documents.into_iter().next()?;
    doc.str_at(&["metadata", "version"]).map(str::to_owned)
}
