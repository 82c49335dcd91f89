use bincode::{Decode, Encode};
use panacea_primitives::PublicKey;
use serde::{Deserialize, Serialize};

use super::messages::Organisation;
use crate::ids::{IdentityId, OrgId, PatientRef};
use crate::state::{BlockState, StateError, Store, key, read};

/// Who a signing key belongs to. A key belongs to one owner at most.
#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum KeyOwner {
    /// An administrator of an organisation.
    Admin(OrgId),
    /// A registered identity (staff, device, service).
    Identity(IdentityId),
    /// A patient, through a key bound to their reference.
    Patient(PatientRef),
}

pub(crate) fn org_key(org: &OrgId) -> Vec<u8> {
    key("org", &[org.as_str().as_bytes()])
}

pub(crate) fn owner_key(signer: &PublicKey) -> Vec<u8> {
    key("key", &[&signer.to_bytes()])
}

fn retired_key(signer: &PublicKey) -> Vec<u8> {
    key("key-retired", &[&signer.to_bytes()])
}

/// True if `signer` belongs to someone, or did once. A key serves one owner, once: a key
/// rotated out, replaced or revoked can never come back, neither for its old owner (a
/// revoked identity or patient binding would revive) nor for anyone else (whose actions
/// would then carry the old owner's key in the audit trail).
pub(crate) fn key_used(state: &BlockState<'_>, signer: &PublicKey) -> Result<bool, StateError> {
    Ok(state.get_raw(&owner_key(signer))?.is_some() || state.get_raw(&retired_key(signer))?.is_some())
}

/// Ends `signer`'s ownership for good: it signs nothing more, and [`key_used`] keeps saying
/// so. The tombstone names the former owner.
pub(crate) fn retire_key(state: &mut BlockState<'_>, signer: &PublicKey, owner: &KeyOwner) {
    state.delete(owner_key(signer));
    state.put(retired_key(signer), owner);
}

/// The organisation `org`, during execution.
pub(crate) fn organisation_in(state: &BlockState<'_>, org: &OrgId) -> Result<Option<Organisation>, StateError> {
    state.get(&org_key(org))
}

pub(crate) fn put_org(state: &mut BlockState<'_>, org: &Organisation) {
    state.put(org_key(&org.id), org);
}

pub(crate) fn put_key_owner(state: &mut BlockState<'_>, signer: &PublicKey, owner: &KeyOwner) {
    state.put(owner_key(signer), owner);
}

/// The organisation `org`, from committed state.
pub fn organisation<S: Store + ?Sized>(store: &S, org: &OrgId) -> Result<Option<Organisation>, StateError> {
    read(store, &org_key(org))
}

/// Every organisation, from committed state, in id order.
pub fn organisations<S: Store + ?Sized>(store: &S) -> Result<Vec<Organisation>, StateError> {
    let prefix = key("org", &[]);
    let mut prefix = prefix;
    prefix.push(b'/');
    let mut out = Vec::new();
    for (k, _) in store.scan(&prefix, None, super::messages::ORGS_MAX)? {
        if let Some(org) = read(store, &k)? {
            out.push(org);
        }
    }
    Ok(out)
}

/// Who owns `signer`, from committed state.
pub fn key_owner<S: Store + ?Sized>(store: &S, signer: &PublicKey) -> Result<Option<KeyOwner>, StateError> {
    read(store, &owner_key(signer))
}

/// Who owned `signer` before it was retired (rotated out, replaced or revoked), from
/// committed state; `None` for a key that was never retired.
pub fn retired_key_owner<S: Store + ?Sized>(store: &S, signer: &PublicKey) -> Result<Option<KeyOwner>, StateError> {
    read(store, &retired_key(signer))
}

/// The organisation `signer` administers, from committed state.
pub fn admin_org<S: Store + ?Sized>(store: &S, signer: &PublicKey) -> Result<Option<OrgId>, StateError> {
    Ok(match key_owner(store, signer)? {
        Some(KeyOwner::Admin(org)) => Some(org),
        _ => None,
    })
}
