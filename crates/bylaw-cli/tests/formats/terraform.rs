//! End-to-end tests of the `terraform` input (see main.rs).
