//! Command-line tools for Panacea: the `panacea` CLI, and the `panacea-bench` and
//! `panacea-share-bench` load generators.

pub mod local;
