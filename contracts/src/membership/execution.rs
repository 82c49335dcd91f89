use std::collections::BTreeSet;

use super::errors::MembershipError;
use super::messages::{ADMIN_KEYS_MAX, Genesis, ORG_NAME_BYTES_MAX, ORGS_MAX};
use super::state::{KeyOwner, put_key_owner, put_org};
use crate::state::BlockState;

/// Writes the genesis organisations and their admin keys.
pub fn apply_genesis(state: &mut BlockState<'_>, genesis: &Genesis) -> Result<(), MembershipError> {
    let count = genesis.organisations.len();
    if count == 0 || count > ORGS_MAX {
        return Err(MembershipError::OrganisationCount { count, max: ORGS_MAX });
    }
    let mut ids = BTreeSet::new();
    let mut keys = BTreeSet::new();
    for org in &genesis.organisations {
        if !ids.insert(org.id.clone()) {
            return Err(MembershipError::DuplicateOrg(org.id.clone()));
        }
        if org.name.is_empty() || org.name.len() > ORG_NAME_BYTES_MAX {
            return Err(MembershipError::BadName(org.id.clone()));
        }
        if org.admin_keys.is_empty() || org.admin_keys.len() > ADMIN_KEYS_MAX {
            return Err(MembershipError::AdminKeys(org.id.clone()));
        }
        if org.admin_threshold == 0 || usize::from(org.admin_threshold) > org.admin_keys.len() {
            return Err(MembershipError::AdminThreshold(org.id.clone()));
        }
        if org.network_key.is_some_and(|k| peer_key_valid(&k).is_err()) {
            return Err(MembershipError::NetworkKey(org.id.clone()));
        }
        for admin in &org.admin_keys {
            if !keys.insert(*admin) {
                return Err(MembershipError::DuplicateKey(org.id.clone()));
            }
        }
    }
    for org in &genesis.organisations {
        put_org(state, org);
        for admin in &org.admin_keys {
            put_key_owner(state, admin, &KeyOwner::Admin(org.id.clone()));
        }
    }
    crate::governance::apply_genesis(state, genesis)
}

/// Checks that a node's network key is an ed25519 public key (libp2p's node keys are).
pub(crate) fn peer_key_valid(key: &[u8; 32]) -> Result<(), panacea_primitives::CryptoError> {
    panacea_primitives::PublicKey::from_bytes(*key).map(|_| ())
}
