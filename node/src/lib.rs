//! The Panacea peer node: the only crate that touches the world (libp2p, RocksDB, HTTP,
//! clock, off-chain workers) and the place where consensus and contracts meet.
//!
//! This crate is reserved by the workspace layout; the node arrives with its own issue.
