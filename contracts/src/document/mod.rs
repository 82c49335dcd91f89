//! Off-chain documents, on chain only by commitment: a custodian registers a document by
//! its commitment, patient reference and data class; records its erasure (crypto-shredding,
//! GDPR article 17); and the requesting organisation confirms each delivery, which the
//! patient's accounting of disclosures shows.
//!
//! The commitment is SHA-256 over a random salt and the content (see the SDK's `sharing`
//! module), so that once the salt is destroyed with the document's keys, the commitment
//! alone reveals nothing, even for a document whose content could be guessed.
//!
//! What a grant covers, and whether it is still in force, is [`grant_in_force`]: the
//! sharing workers of both nodes ask it before every transfer.

mod errors;
mod execution;
mod messages;
pub(crate) mod state;
#[cfg(test)]
mod tests;

pub use errors::DocumentError;
pub(crate) use execution::execute;
pub use messages::{DOCUMENTS_PER_CLASS_MAX, DocumentCall, DocumentRecord};
pub use state::{GrantRefused, covered_documents, delivered, document, grant_in_force};
