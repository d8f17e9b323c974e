//! Shared by the adapter tests: a mock HTTP API and GitHub's API description.
#![allow(dead_code)]

pub mod cli;
pub mod github_api;
pub mod mock;
pub mod tools;
