//! End-to-end tests of the `terraform_plan` input (see main.rs).
