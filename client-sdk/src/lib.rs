//! Typed Rust client for the Panacea node API.
//!
//! [`types`] holds the API's wire types, shared with the node that serves them. With the
//! `http` feature (default), [`Client`] submits signed transactions, waits for their
//! commit and reads blocks, receipts and status.
//!
//! # Example
//! ```no_run
//! # async fn example() -> Result<(), panacea_client_sdk::ClientError> {
//! let client = panacea_client_sdk::Client::new("http://127.0.0.1:8645")?;
//! let status = client.status().await?;
//! println!("height {}", status.height);
//! # Ok(())
//! # }
//! ```
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::panic))]

pub mod sbom;
pub mod sharing;
pub mod types;
pub mod verify;

#[cfg(feature = "http")]
mod client;
#[cfg(feature = "http")]
mod registries;

#[cfg(feature = "http")]
pub use client::{AuditStream, Client, ClientError, RequestSigner, now};
/// Pseudonymisation at the edge: derive a patient's reference with the custodian's key,
/// on the custodian's machine (see `docs/consent-and-access.md`).
pub use panacea_primitives::{LocalPatient, PseudonymError, Pseudonymiser};
#[cfg(feature = "http")]
pub use registries::sign_challenge;
pub use verify::{ProvableRecord, TrustAnchor, VerifiedState, VerifyError};
