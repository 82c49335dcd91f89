//! Staff, medical devices and services of each organisation, registered, suspended,
//! revoked and rotated by that organisation's admins, and nobody else's.

mod errors;
mod execution;
mod messages;
pub(crate) mod state;
#[cfg(test)]
mod tests;

pub use errors::IdentityError;
pub(crate) use execution::{Principal, execute, principal};
pub use messages::{DEVICE_TEXT_BYTES_MAX, Identity, IdentityCall, IdentityKind, IdentityStatus};
pub use state::identity;
