//! End-to-end tests of the `dockerfile` input (see main.rs).
