//! Admission to the pool, from clients (the API, the node's own workers) and from gossip.
//!
//! - Who may sign: [`signer_standing`] resolves the signer against committed state, and
//!   the pool refuses a signer that may not act ([`AdmitError::UnknownSigner`]): such a
//!   transaction would only execute as a failure and be stored for ever.
//! - Gossip: [`admit_gossiped`] checks a gossiped batch before gossipsub relays it and
//!   returns a [`Verdict`]. `Reject` is for what no honest node ever publishes (a batch
//!   or a transaction that does not decode, is for another chain, or whose signature does
//!   not verify: checks every node runs alike), and the batch's signed author answers for
//!   it. What depends on this node's view of the chain (a signer this node does not know
//!   yet, or no longer; nonces) is `Ignore`: not relayed, nobody penalised, because an
//!   honest author whose committed state is ahead of or behind ours sends it in good faith.
//! - The proposal check's signer rule ([`registered_at`]) is weaker than admission's and
//!   exact: "the key had an owner in the state the block attests".

mod overload;

use std::time::Instant;

use libp2p::PeerId;
use panacea_contracts::SignedTransaction;
use panacea_contracts::identity::IdentityStatus;
use panacea_contracts::ids::OrgId;
use panacea_contracts::membership::{ChainMode, KeyOwner, OrgStatus};
use panacea_contracts::state::{StateError, Store, StoreError, authenticated};
use panacea_primitives::{Hash, OpaqueBatch, PublicKey, codec};

use crate::mempool::{AdmitError, Mempool, SignerRefusal};
use crate::network::{TX_BATCH_BYTES_MAX, Verdict};
use crate::shared::Shared;

pub use overload::{Capacity, OverloadConfig, Overloaded};

/// Admission control for client work: whether the pool has room for `incoming` more
/// transactions within the delay the chain's measured capacity drains (see [`overload`]).
/// Asked once per request, before any of it is admitted, so that a batch is taken or
/// refused whole.
pub(crate) fn room_for(shared: &Shared, incoming: u64) -> Result<(), Overloaded> {
    let queued = shared.mempool.lock().map(|pool| pool.stats().transactions as u64).unwrap_or(0);
    counted(shared, shared.capacity.admit(queued, incoming, Instant::now()))
}

/// [`room_for`] on an ordering-only chain: the opaque batches' transactions.
pub(crate) fn room_for_opaque(shared: &Shared, incoming: u64) -> Result<(), Overloaded> {
    let queued = shared.batches.lock().map(|pool| pool.transactions() as u64).unwrap_or(0);
    counted(shared, shared.capacity.admit(queued, incoming, Instant::now()))
}

fn counted(shared: &Shared, verdict: Result<(), Overloaded>) -> Result<(), Overloaded> {
    if verdict.is_err() {
        shared.metrics.overloaded.inc();
    }
    verdict
}

/// Whether `signer` may act on the chain, in committed state: an admin key of an active
/// organisation, the current key of an active identity of an active organisation, or a
/// patient's bound key. The one place admission decides who may sign.
///
/// An identity's `status` is the one in force from the next block on (a change takes
/// effect at the height after the block that records it), so it is the status the next
/// block executes with.
pub fn signer_standing<S: Store + ?Sized>(store: &S, signer: &PublicKey) -> Result<(), AdmitError> {
    standing(store, signer)?.map_or(Ok(()), |reason| Err(AdmitError::UnknownSigner { reason }))
}

fn standing<S: Store + ?Sized>(store: &S, signer: &PublicKey) -> Result<Option<SignerRefusal>, AdmitError> {
    let read = |e: StateError| {
        tracing::error!(error = %e, "cannot read a signer's standing");
        AdmitError::Full
    };
    let active = |org: &OrgId| -> Result<Option<SignerRefusal>, AdmitError> {
        match panacea_contracts::membership::organisation(store, org).map_err(read)? {
            Some(o) if o.status == OrgStatus::Active => Ok(None),
            _ => Ok(Some(SignerRefusal::OrganisationInactive)),
        }
    };
    match panacea_contracts::membership::key_owner(store, signer).map_err(read)? {
        None => Ok(Some(SignerRefusal::NotRegistered)),
        Some(KeyOwner::Admin(org)) => active(&org),
        Some(KeyOwner::Identity(id)) => match panacea_contracts::identity::identity(store, &id).map_err(read)? {
            None => Ok(Some(SignerRefusal::NotRegistered)),
            Some(identity) if identity.key != *signer => Ok(Some(SignerRefusal::RotatedOut)),
            Some(identity) if identity.status != IdentityStatus::Active => Ok(Some(SignerRefusal::IdentityInactive)),
            Some(identity) => active(&identity.org),
        },
        // A patient's key acts only while its binding is in force (not replaced, not revoked).
        Some(KeyOwner::Patient(_)) => match panacea_contracts::consent::bound_patient(store, signer).map_err(read)? {
            Some(_) => Ok(None),
            None => Ok(Some(SignerRefusal::BindingRevoked)),
        },
    }
}

/// The state key of `signer`'s owner record: the contracts' membership layout, which the
/// test `shell::tests::the_owner_record_key_is_the_contracts_own` pins.
fn owner_record_key(signer: &PublicKey) -> Vec<u8> {
    panacea_contracts::state::key("key", &[&signer.to_bytes()])
}

/// Whether `signer` had an owner (admin, identity or patient) at state tree `version`
/// (within the last [`authenticated::HISTORY_VERSIONS`]). Read from the state tree's
/// history, so it is the same answer on every node, however far its own tip has moved
/// on (a key rotated out since is still "registered then").
pub fn registered_at<S: Store + ?Sized>(store: &S, version: u64, signer: &PublicKey) -> Result<bool, StoreError> {
    Ok(authenticated::prove(store, version, &owner_record_key(signer))?.value.is_some())
}

/// Whether `signer` has an owner in the latest committed state.
pub fn registered<S: Store + ?Sized>(store: &S, signer: &PublicKey) -> Result<bool, StateError> {
    Ok(panacea_contracts::membership::key_owner(store, signer)?.is_some())
}

/// The consortium's cap on one signer's waiting transactions (a governed chain parameter).
fn per_signer_max<S: Store + ?Sized>(state: &S) -> u64 {
    panacea_contracts::governance::parameters(state).map(|p| u64::from(p.pool_per_signer_max)).unwrap_or(u64::MAX)
}

/// Admits a transaction this node signed itself (its workers'), checking its signature
/// first: execution trusts every transaction in the pool to have passed that check
/// (`execute_block_verified` skips it), and [`admit`] expects it done.
pub(crate) fn admit_own(shared: &Shared, tx: SignedTransaction, bytes: Vec<u8>) -> Result<Hash, AdmitError> {
    if !tx.verify() {
        return Err(AdmitError::BadSignature);
    }
    admit(shared, tx, bytes)
}

/// Admits a checked transaction to the pool and queues it for gossip. Already pending
/// is not an error: submission is idempotent. "Checked" means it passed
/// [`Mempool::check_stateless`] (or the batch form), signature included: execution does
/// not check the signatures of transactions it finds in the pool again.
pub(crate) fn admit(shared: &Shared, tx: SignedTransaction, bytes: Vec<u8>) -> Result<Hash, AdmitError> {
    let state = shared.storage.state();
    signer_standing(&state, &tx.tx.signer)?;
    let next = panacea_contracts::next_nonce(&state, &tx.tx.signer).map_err(|e| {
        tracing::error!(error = %e, "cannot read a nonce");
        AdmitError::Full
    })?;
    // The consortium's per-signer limit (a governed chain parameter) caps the node's own
    // nonce window: a signer has at most that many transactions waiting.
    let per_signer = per_signer_max(&state);
    if tx.tx.nonce >= next && tx.tx.nonce - next >= per_signer {
        return Err(AdmitError::NonceTooFar { nonce: tx.tx.nonce, next });
    }
    let size = bytes.len();
    let result = match shared.mempool.lock() {
        Ok(mut pool) => pool.insert(tx, size, next, Instant::now()),
        Err(_) => Err(AdmitError::Full),
    };
    match result {
        Ok((id, _)) => {
            shared.mempool_notify.notify_one();
            if shared.gossip.try_send(bytes).is_err() {
                tracing::debug!("gossip queue full; the transaction stays in this node's pool");
            }
            Ok(id)
        }
        Err(AdmitError::Full) => {
            shared.metrics.mempool_full.inc();
            Err(AdmitError::Full)
        }
        Err(e) => Err(e),
    }
}

/// Checks a batch gossiped by `author` (a member's node; gossipsub checked its signature)
/// and admits what it may to the pool (on the admission task). The verdict tells
/// gossipsub whether to relay it, and the network whom to penalise.
pub fn admit_gossiped(shared: &Shared, author: PeerId, data: &[u8]) -> Verdict {
    let items = match codec::decode::<Vec<Vec<u8>>, TX_BATCH_BYTES_MAX>(data) {
        Ok(items) => items,
        Err(e) => return Verdict::Reject(format!("the batch does not decode: {e}")),
    };
    if items.is_empty() {
        return Verdict::Ignore;
    }
    if shared.chain.genesis.mode == ChainMode::OrderingOnly {
        return admit_gossiped_batches(shared, items);
    }
    let checked = Mempool::check_stateless_batch(&items, shared.chain.chain_id());
    // No honest node gossips a transaction that fails these checks: they are the same on
    // every node, and it ran them before gossiping.
    if let Some((index, e)) = checked.iter().enumerate().find_map(|(i, c)| c.as_ref().err().map(|e| (i, e))) {
        return Verdict::Reject(format!("transaction {index} of the batch: {e}"));
    }
    let state = shared.storage.state();
    let per_signer = per_signer_max(&state);
    let mut relay = true;
    for (bytes, tx) in items.iter().zip(checked.into_iter().flatten()) {
        if let Err(e) = signer_standing(&state, &tx.tx.signer) {
            // Not relayed: this node may be behind or ahead of the author's state.
            tracing::debug!(peer = %author, error = %e, "gossiped transaction not admitted");
            relay = false;
            continue;
        }
        let Ok(next) = panacea_contracts::next_nonce(&state, &tx.tx.signer) else { continue };
        if tx.tx.nonce >= next && tx.tx.nonce - next >= per_signer {
            continue;
        }
        if let Ok(mut pool) = shared.mempool.lock()
            && pool.insert(tx, bytes.len(), next, Instant::now()).is_ok()
        {
            shared.mempool_notify.notify_one();
        }
    }
    if relay { Verdict::Accept } else { Verdict::Ignore }
}

/// [`admit_gossiped`] on an ordering-only chain, where each gossiped item is a framed
/// opaque batch.
fn admit_gossiped_batches(shared: &Shared, batches: Vec<Vec<u8>>) -> Verdict {
    let mut checked = Vec::with_capacity(batches.len());
    for (index, bytes) in batches.into_iter().enumerate() {
        match OpaqueBatch::from_framed(bytes) {
            Ok(batch) => checked.push(batch),
            Err(e) => return Verdict::Reject(format!("opaque batch {index}: {e}")),
        }
    }
    for batch in checked {
        if let Ok(mut pool) = shared.batches.lock()
            && pool.admit(batch).is_ok()
        {
            shared.mempool_notify.notify_one();
        }
    }
    Verdict::Accept
}
