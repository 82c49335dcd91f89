//! The on-chain modules of Panacea (membership, identity, consent, access, audit) as one
//! deterministic state-transition function.
//!
//! This crate is reserved by the workspace layout; its modules arrive with the contracts
//! issue. Architecture Invariant: it will never read the clock, draw randomness or do IO,
//! and it never depends on `panacea-consensus` or `panacea-node` (checked by
//! `tools/tests/it/architecture.rs`).
