//! End-to-end tests of the `cloudformation` input (see main.rs).
