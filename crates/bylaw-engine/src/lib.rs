//! bylaw-engine: the policy engine behind every bylaw command and adapter.
//!
//! It loads and validates policies (YAML with CEL conditions), parses input
//! files into documents whose every node has a source span, evaluates the
//! compiled policies against them in parallel, resolves enforcement
//! (environments, lifecycle, dates) and produces a platform-neutral
//! [`report::Report`].
//!
//! Two seams keep it open: policy languages ([`language::PolicyLanguage`],
//! listed in [`language::LANGUAGES`]; CEL today) and input formats
//! ([`input::InputFormat`], listed in [`input::FORMATS`]; YAML, JSONC,
//! JSON). Their module docs say what adding one takes.
//!
//! It deliberately knows nothing about output formats (see `bylaw-report`)
//! or CI platforms (the adapters). Start reading at [`report::Report`],
//! then [`eval`].

#![forbid(unsafe_code)]

pub mod baseline;
pub mod builtin;
pub mod compile;
pub mod config;
pub mod context;
pub mod diagnostic;
pub mod discover;
pub mod enforcement;
pub mod eval;
pub mod exceptions;
pub mod inherit;
pub mod input;
pub mod jsonpath;
pub mod language;
pub mod lint;
pub mod loader;
pub mod node;
pub mod packs;
pub mod paths;
pub mod policy;
pub mod report;
pub mod schema;
pub mod selectors;
pub mod testing;
pub use chrono;
pub use semver;
