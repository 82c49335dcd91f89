use bincode::{Decode, Encode};
use panacea_primitives::{Hash, Height, PublicKey, Timestamp};
use serde::{Deserialize, Serialize};

use crate::codes::StaffRole;
use crate::ids::{IdentityId, OrgId};

/// Longest free-text field of a device or service, in bytes.
pub const DEVICE_TEXT_BYTES_MAX: usize = 128;

/// What an identity is. Staff are known by role only: no name goes on chain.
#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum IdentityKind {
    /// A member of staff.
    Staff {
        /// Their role.
        role: StaffRole,
    },
    /// A medical IoT device.
    Device {
        /// Device type (for example `infusion-pump`).
        device_type: String,
        /// Manufacturer.
        manufacturer: String,
        /// Model.
        model: String,
        /// SHA-256 of the installed firmware.
        firmware_hash: Hash,
        /// SHA-256 of the device's software bill of materials.
        sbom_hash: Hash,
    },
    /// A software service (for example an EHR integration engine).
    Service {
        /// Its name.
        name: String,
    },
}

impl IdentityKind {
    /// The staff role, for staff.
    pub fn role(&self) -> Option<StaffRole> {
        match self {
            IdentityKind::Staff { role } => Some(*role),
            _ => None,
        }
    }
}

/// Standing of an identity.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Encode, Decode, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum IdentityStatus {
    /// May act.
    Active,
    /// Temporarily may not act; can be reactivated.
    Suspended,
    /// May never act again.
    Revoked,
}

/// A registered identity.
#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode, Serialize, Deserialize)]
pub struct Identity {
    /// Stable id: hash of the organisation and the first key.
    pub id: IdentityId,
    /// The organisation it acts for.
    pub org: OrgId,
    /// What it is.
    pub kind: IdentityKind,
    /// Its current signing key.
    pub key: PublicKey,
    /// Its status from height `effective` on.
    pub status: IdentityStatus,
    /// First height at which `status` applies.
    pub effective: Height,
    /// Its status before `effective`.
    pub previous: IdentityStatus,
    /// Block time of registration.
    pub registered_at: Timestamp,
}

impl Identity {
    /// The identity's id for `org` and its first `key`.
    pub fn id_for(org: &OrgId, key: &PublicKey) -> IdentityId {
        IdentityId(Hash::digest_parts(&[b"panacea-identity-v1", org.as_str().as_bytes(), &key.to_bytes()]))
    }

    /// The status in force at `height`.
    pub fn status_at(&self, height: Height) -> IdentityStatus {
        if height >= self.effective { self.status } else { self.previous }
    }
}

/// Calls of the identity module. All are signed by an admin key of the identity's
/// organisation, except `RotateKey`, which the identity may also sign itself.
#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum IdentityCall {
    /// Register a new identity for the admin's organisation.
    Register {
        /// Its signing key.
        key: PublicKey,
        /// What it is.
        kind: IdentityKind,
    },
    /// Suspend, from the next block.
    Suspend {
        /// The identity.
        identity: IdentityId,
    },
    /// Lift a suspension, from the next block.
    Reactivate {
        /// The identity.
        identity: IdentityId,
    },
    /// Revoke for good, from the next block.
    Revoke {
        /// The identity.
        identity: IdentityId,
    },
    /// Replace the identity's key; the old key stops working at once.
    RotateKey {
        /// The identity.
        identity: IdentityId,
        /// The new key.
        new_key: PublicKey,
    },
}
