//! Order opaque payloads in a Byzantine environment.
//!
//! A sans-IO core of a chained BFT protocol of the Jolteon / DiemBFT v4 family (linear
//! happy path, 2-chain commit, timeout certificates), and a deterministic simulator that
//! runs whole networks of it under faults.
//!
//! # Design
//! [`Replica::handle`] takes one [`Input`] (a message, a fired timer, a payload built or
//! checked, fetched blocks) and returns the [`Output`]s the host must execute, in order:
//! persist safety state, send, broadcast, set a timer, build or check a payload, commit,
//! fetch blocks, report evidence. The core never reads a clock, draws randomness or
//! touches a socket or disk, so the same inputs always give the same outputs; that is
//! what lets [`sim`] replay any run from its seed.
//!
//! # Invariants
//! - Consensus knows nothing of health or transactions: a payload is bytes and a digest.
//! - `Output::PersistSafety` precedes every vote, timeout and proposal it protects.
//! - Every message is checked on its own signatures and certificates; bad input is a
//!   counted [`Rejection`] (and [`Evidence`] when it proves equivocation), never a panic.
//! - Everything kept per peer input is bounded: rounds by a window, votes by one slot per
//!   validator and round, blocks by count and bytes, fetches by a fixed number.
//!
//! # Example
//! ```
//! use panacea_consensus::sim::{Scenario, Simulation};
//!
//! // Four validators, no faults: every honest replica commits the same chain.
//! let report = Simulation::new(Scenario::Happy, 4, 7).run();
//! assert!(report.violations.is_empty(), "{:?}", report.violations);
//! assert!(report.min_committed_height >= 5);
//! ```
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::panic))]

mod block_tree;
pub mod event;
pub mod evidence;
pub mod leader;
pub mod messages;
mod replica;
pub mod safety;
pub mod sim;
pub mod types;
pub mod validators;
mod vote_keeper;

pub use block_tree::CommittedTip;
pub use event::{Input, Output};
pub use evidence::Evidence;
pub use leader::{Committed, History, LeaderElection, Reputation, RoundRobin};
pub use messages::{BlockRequest, MESSAGE_BYTES_MAX, Message, Proposal, SyncInfo, Timeout, Vote};
pub use replica::{Config, Rejection, Replica, Role, StartError, Stats};
pub use safety::{SafetyState, SafetyViolation};
pub use types::{Block, BlockHeader, BlockRef, CommitCertificate, Payload, QuorumCert, TimeoutCert, VoteData};
pub use validators::{CertError, ValidatorSet, ValidatorSetError};
