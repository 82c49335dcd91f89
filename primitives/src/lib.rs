//! Shared types of Panacea: SHA-256 hashes, strict ed25519 keys and signatures with
//! domain separation, newtypes for heights, rounds, epochs, times and ids, and the one
//! canonical, bounded binary codec.
//!
//! # Design
//! No logic and no IO: every other crate depends on this one, so it stays small, pure and
//! fast to compile. It draws no randomness either; key generation takes a seed from the
//! caller.
//!
//! # Invariants
//! - Every decode is bounded and canonical ([`codec`]).
//! - Every signature covers a [`crypto::Domain`]: chain id, epoch and kind of message.
//! - Single and batch verification give the same verdict ([`crypto::BatchVerifier`]).
//!
//! # Example
//! ```
//! use panacea_primitives::{codec, ChainId, Domain, Epoch, Hash, Keypair, SignatureKind};
//!
//! let key = Keypair::from_seed([1; 32]);
//! let domain = Domain::new(ChainId::new("panacea-local-1")?, Epoch(0), SignatureKind::Transaction);
//! let id = Hash::digest(b"payload");
//! let signature = key.sign(&domain, id.as_bytes());
//! assert!(key.public().verify(&domain, id.as_bytes(), &signature).is_ok());
//!
//! let bytes = codec::encode(&id);
//! let back: Hash = codec::decode::<Hash, 32>(&bytes)?;
//! assert_eq!(back, id);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::panic))]

pub mod block;
pub mod codec;
pub mod crypto;
pub mod hash;
pub mod ids;
pub mod opaque;
pub mod pseudonym;

pub use block::{BlockMeta, StateAttestation};
pub use crypto::{BatchVerifier, CryptoError, Domain, Keypair, PublicKey, Signature, SignatureKind};
pub use hash::Hash;
pub use ids::{ChainId, Epoch, Height, InvalidChainId, Round, Timestamp, ValidatorIndex};
pub use opaque::{OPAQUE_BATCH_BYTES_MAX, OpaqueBatch, OpaqueBatchError};
pub use pseudonym::{LocalPatient, PseudonymError, Pseudonymiser};
