//! Typed Rust client for the Panacea API: builds and signs transactions, queries, and
//! verifies certified headers and state proofs.
//!
//! This crate is reserved by the workspace layout; the SDK arrives with the API issue.
