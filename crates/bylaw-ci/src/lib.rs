//! What bylaw's CI adapters (`bylaw-github`, `bylaw-gitlab`, and through
//! them `bylaw-jenkins`) share, so that every platform gets the same
//! behaviour: a retrying REST client ([`http::Client`]), the changed lines of
//! a diff ([`diff`]), the summary comment and outputs ([`summary`]), the
//! `/bylaw` comment commands ([`commands`]) and exception requests approved
//! by comment ([`requests`], start with [`requests::handle_command`]), and the
//! pipeline context from generic environment variables ([`env`]).
//!
//! It does not know any platform's endpoints or payloads: the adapters turn
//! their comments into [`requests::Note`]s, implement
//! [`requests::Thread`] and verify approvers through their own APIs.

#![forbid(unsafe_code)]

pub mod commands;
pub mod diff;
pub mod env;
pub mod http;
pub mod requests;
pub mod summary;

/// Percent-encodes a path for a URL (see [`bylaw_report::percent_encode_path`]).
pub use bylaw_report::percent_encode_path;
