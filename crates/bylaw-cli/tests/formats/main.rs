//! End-to-end tests of the input formats beyond YAML and JSON (issue 17),
//! one module per format: the binary on files in a temporary repository,
//! asserting findings on exact lines, inline suppressions in the format's
//! comment syntax, `file.format`, and the packs written for each format.

#[path = "../support/mod.rs"]
mod support;

mod cloudformation;
mod dockerfile;
mod plain;
mod terraform;
mod terraform_plan;
