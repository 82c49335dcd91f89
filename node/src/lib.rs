//! The Panacea peer node: the only crate that touches the world (libp2p, RocksDB, HTTP,
//! clock, off-chain workers) and the place where consensus and contracts meet.
//!
//! # Design
//! - [`shell`] drives the sans-IO consensus core: it executes the core's outputs in
//!   order (durable writes before the votes they protect), builds and checks payloads
//!   ([`payload`]), executes committed blocks through the contracts, and catches up from
//!   peers when far behind.
//! - [`network`] owns the libp2p swarm (TCP, Noise, Yamux; request-response for
//!   consensus and block sync, gossipsub for transactions) and admits only member nodes.
//! - [`storage`] is one RocksDB database: one synced write batch per committed block.
//! - [`mempool`] is the bounded transaction pool; [`api`] the HTTP API; [`metrics`] the
//!   Prometheus metrics; [`run`] wires them together; [`testnet`] generates a local
//!   consortium.
//! - Off-chain workers (document sharing, risk assessment) will run as further tasks
//!   beside the shell, reading committed state from [`storage`] and submitting
//!   transactions through the pool like any client.
//!
//! # Invariants
//! - A committed block (block, certificate, state, receipts, indexes) is written in one
//!   batch with sync: after a crash it is either wholly there or wholly absent; a client
//!   hears "committed" only after that write returned.
//! - A storage error stops the node: nothing carries on over state it could not read or
//!   write.
//! - Every queue between tasks is bounded; a full queue drops (and counts) network
//!   input, which consensus recovers by timeouts and sync, or refuses a client with a
//!   "try later" error. Nothing blocks the consensus path.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::panic))]

pub mod admission;
pub mod api;
pub mod auth;
pub mod chain;
pub mod config;
pub mod evidence;
pub mod keys;
pub mod mempool;
pub mod metrics;
pub mod network;
pub mod ordering;
pub mod payload;
pub mod proofs;
pub mod ratelimit;
pub mod run;
pub mod shared;
pub mod shell;
pub mod statesync;
pub mod storage;
pub mod testnet;
pub mod workers;
