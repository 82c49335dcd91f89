use super::messages::Identity;
use crate::ids::IdentityId;
use crate::state::{BlockState, StateError, Store, key, read};

pub(crate) fn identity_key(id: &IdentityId) -> Vec<u8> {
    key("identity", &[id.0.as_bytes()])
}

pub(crate) fn get_identity(state: &BlockState<'_>, id: &IdentityId) -> Result<Option<Identity>, StateError> {
    state.get(&identity_key(id))
}

pub(crate) fn put_identity(state: &mut BlockState<'_>, identity: &Identity) {
    state.put(identity_key(&identity.id), identity);
}

/// The identity `id`, from committed state.
pub fn identity<S: Store + ?Sized>(store: &S, id: &IdentityId) -> Result<Option<Identity>, StateError> {
    read(store, &identity_key(id))
}
