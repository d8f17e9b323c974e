//! End-to-end tests of the `plain` input (see main.rs).
