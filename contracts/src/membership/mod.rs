//! Consortium members: hospitals, health authorities and vendors, listed at genesis and
//! changed by the consortium's vote (`crate::governance`).

mod errors;
mod execution;
mod messages;
pub(crate) mod state;
#[cfg(test)]
mod tests;

pub use errors::MembershipError;
pub use execution::apply_genesis;
pub(crate) use execution::peer_key_valid;
pub use messages::{ADMIN_KEYS_MAX, ChainMode, Genesis, ORG_NAME_BYTES_MAX, ORGS_MAX, OrgStatus, Organisation};
pub use state::{KeyOwner, admin_org, key_owner, organisation, organisations, retired_key_owner};
pub(crate) use state::{key_used, organisation_in, owner_key, put_key_owner, put_org, retire_key};
