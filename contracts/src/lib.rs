//! The on-chain modules of Panacea (membership, identity, consent, access, audit) as one
//! deterministic state-transition function with an authenticated state root.
//!
//! # Design
//! [`execute_block`] takes committed state (behind the [`state::Store`] trait), the
//! block's context (height and time, agreed by consensus) and its signed transactions,
//! and returns receipts, one write batch and the new state root. Nothing else goes in:
//! no clock, no randomness, no IO, so every node computes the same root. Module state is
//! authenticated by a Jellyfish Merkle Tree and the audit log by a Merkle Mountain
//! Range; the state root binds both.
//!
//! # Invariants
//! - Architecture Invariant: contracts never read the clock, draw randomness or do IO,
//!   and never depend on `panacea-consensus` or `panacea-node` (checked by
//!   `tools/tests/it/architecture.rs`).
//! - A failed call leaves state untouched (but for the signer's nonce) and says why in a
//!   typed receipt.
//! - No organisation acts for another; revoked or expired consent never grants; deny
//!   overrides permit; every decision appends exactly one audit event.
//! - Nothing that identifies a patient is stored: patients are pseudonymous hashes, and
//!   free text (justifications, notes, forms) is kept off chain, referenced by hash.
//!
//! # Example
//! ```
//! use panacea_contracts::testing::Chain;
//!
//! let chain = Chain::new();
//! assert_eq!(chain.meta().audit_count, 0);
//! ```
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::panic))]

pub mod access;
pub mod audit;
pub mod codes;
pub mod connection;
pub mod consent;
pub mod context;
pub mod csf;
pub mod document;
pub mod error;
pub mod executor;
pub mod fhir;
pub mod governance;
pub mod identity;
pub mod ids;
pub mod membership;
pub mod product;
pub mod provable;
pub mod risk;
pub mod state;
pub mod testing;
pub mod training;
pub mod tx;

pub use context::{BlockContext, TxContext};
pub use error::{CallError, ErrorCode};
pub use executor::{
    BLOCK_TRANSACTIONS_MAX, BlockOutcome, GenesisError, execute_block, execute_block_verified, genesis, next_nonce,
};
pub use tx::{Call, Outcome, Receipt, SignedTransaction, Transaction};
