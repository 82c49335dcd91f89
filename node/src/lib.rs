//! The Panacea peer node: the only crate that touches the world (libp2p, RocksDB, HTTP,
//! clock, off-chain workers) and the place where consensus and contracts meet.
//!
//! # Design
//! The node is being built in layers. [`storage`] is the first: one RocksDB database per
//! node with a column family per kind of record, one atomic, synced write batch per
//! committed block, and the durable safety state that must be on disk before a vote
//! leaves. Networking, the mempool, the shell that drives consensus and the HTTP API
//! follow (see the node issue).
//!
//! # Invariants
//! - A committed block (block, certificate, state, receipts, indexes) is written in one
//!   batch with sync: after a crash it is either wholly there or wholly absent.
//! - A storage error is returned to the caller, who stops the node: nothing carries on
//!   on top of state it could not read or write.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::panic))]

pub mod storage;
