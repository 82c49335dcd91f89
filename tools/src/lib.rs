//! Command-line tools for Panacea: the `panacea` CLI, the `panacea-bench` load generator,
//! genesis and key tools.
//!
//! This crate is reserved by the workspace layout; the tools arrive with their issues.
