//! Where governance keeps its records.

use super::messages::{
    ChainParameters, EpochRecord, EvidenceId, GovernanceRules, Misbehaviour, PendingValidators, Proposal, ProposalId,
};
use crate::ids::OrgId;
use crate::state::{BlockState, SmallMap, StateError, Store, key, read};
use panacea_primitives::{Epoch, Timestamp};

fn proposal_key(id: &ProposalId) -> Vec<u8> {
    key("gov", &[b"proposal", id.0.as_bytes()])
}

fn open_key() -> Vec<u8> {
    key("gov", &[b"open"])
}

fn rules_key() -> Vec<u8> {
    key("gov", &[b"rules"])
}

fn parameters_key() -> Vec<u8> {
    key("gov", &[b"parameters"])
}

/// The state key of the current epoch's record.
pub fn epoch_key() -> Vec<u8> {
    key("gov", &[b"epoch"])
}

fn epoch_history_key(epoch: Epoch) -> Vec<u8> {
    key("gov", &[b"epochs", &epoch.0.to_be_bytes()])
}

/// The state key of the validator set decided but not yet in force: what a light client
/// proves against the root that the epoch's last block attests.
pub fn pending_key() -> Vec<u8> {
    key("gov", &[b"pending"])
}

fn members_key() -> Vec<u8> {
    key("gov", &[b"members"])
}

fn misbehaviour_key(id: &EvidenceId) -> Vec<u8> {
    key("gov", &[b"misbehaviour", id.0.as_bytes()])
}

fn misbehaviour_of_key(org: &OrgId) -> Vec<u8> {
    key("gov", &[b"misbehaviour-of", org.as_str().as_bytes()])
}

/// Open proposals and their deadlines.
pub(crate) type OpenProposals = SmallMap<ProposalId, Timestamp>;

pub(crate) fn get_proposal(state: &BlockState<'_>, id: &ProposalId) -> Result<Option<Proposal>, StateError> {
    state.get(&proposal_key(id))
}

pub(crate) fn put_proposal(state: &mut BlockState<'_>, proposal: &Proposal) {
    state.put(proposal_key(&proposal.id), proposal);
}

pub(crate) fn open_in(state: &BlockState<'_>) -> Result<OpenProposals, StateError> {
    Ok(state.get(&open_key())?.unwrap_or_default())
}

pub(crate) fn put_open(state: &mut BlockState<'_>, open: &OpenProposals) {
    state.put(open_key(), open);
}

pub(crate) fn rules_in(state: &BlockState<'_>) -> Result<GovernanceRules, StateError> {
    Ok(state.get(&rules_key())?.unwrap_or_default())
}

pub(crate) fn put_rules(state: &mut BlockState<'_>, rules: &GovernanceRules) {
    state.put(rules_key(), rules);
}

/// The chain parameters, during execution.
pub(crate) fn parameters_in(state: &BlockState<'_>) -> Result<ChainParameters, StateError> {
    Ok(state.get(&parameters_key())?.unwrap_or_default())
}

pub(crate) fn put_parameters(state: &mut BlockState<'_>, parameters: &ChainParameters) {
    state.put(parameters_key(), parameters);
}

pub(crate) fn epoch_in(state: &BlockState<'_>) -> Result<Option<EpochRecord>, StateError> {
    state.get(&epoch_key())
}

pub(crate) fn epoch_of_in(state: &BlockState<'_>, epoch: Epoch) -> Result<Option<EpochRecord>, StateError> {
    state.get(&epoch_history_key(epoch))
}

pub(crate) fn put_epoch(state: &mut BlockState<'_>, record: &EpochRecord) {
    state.put(epoch_key(), record);
    state.put(epoch_history_key(record.epoch), record);
}

pub(crate) fn pending_in(state: &BlockState<'_>) -> Result<Option<PendingValidators>, StateError> {
    state.get(&pending_key())
}

pub(crate) fn put_pending(state: &mut BlockState<'_>, pending: Option<&PendingValidators>) {
    match pending {
        Some(pending) => state.put(pending_key(), pending),
        None => state.delete(pending_key()),
    }
}

/// Member ids in the order they joined (genesis order, then admissions).
pub(crate) fn members_in(state: &BlockState<'_>) -> Result<Vec<OrgId>, StateError> {
    Ok(state.get(&members_key())?.unwrap_or_default())
}

pub(crate) fn put_members(state: &mut BlockState<'_>, members: &[OrgId]) {
    state.put(members_key(), &members.to_vec());
}

pub(crate) fn get_misbehaviour(state: &BlockState<'_>, id: &EvidenceId) -> Result<Option<Misbehaviour>, StateError> {
    state.get(&misbehaviour_key(id))
}

pub(crate) fn put_misbehaviour(state: &mut BlockState<'_>, record: &Misbehaviour) -> Result<(), StateError> {
    state.put(misbehaviour_key(&record.id), record);
    let mut of: Vec<EvidenceId> = state.get(&misbehaviour_of_key(&record.org))?.unwrap_or_default();
    of.push(record.id);
    if of.len() > super::messages::MISBEHAVIOUR_PER_ORG_MAX {
        of.remove(0);
    }
    state.put(misbehaviour_of_key(&record.org), &of);
    Ok(())
}

/// A proposal, from committed state.
pub fn proposal<S: Store + ?Sized>(store: &S, id: &ProposalId) -> Result<Option<Proposal>, StateError> {
    read(store, &proposal_key(id))
}

/// Open proposals' ids and deadlines, from committed state.
pub fn open_proposals<S: Store + ?Sized>(store: &S) -> Result<Vec<(ProposalId, Timestamp)>, StateError> {
    let open: OpenProposals = read(store, &open_key())?.unwrap_or_default();
    Ok(open.into_iter().collect())
}

/// Every proposal, newest first, at most `limit`, from committed state.
pub fn proposals<S: Store + ?Sized>(store: &S, limit: usize) -> Result<Vec<Proposal>, StateError> {
    let mut prefix = key("gov", &[b"proposal"]);
    prefix.push(b'/');
    let mut out: Vec<Proposal> = Vec::new();
    for (k, _) in store.scan(&prefix, None, super::PROPOSALS_LISTED_MAX)? {
        if let Some(p) = read::<Proposal, _>(store, &k)? {
            out.push(p);
        }
    }
    out.sort_by(|a, b| b.height.cmp(&a.height).then(a.id.cmp(&b.id)));
    out.truncate(limit);
    Ok(out)
}

/// The governance rules, from committed state.
pub fn rules<S: Store + ?Sized>(store: &S) -> Result<GovernanceRules, StateError> {
    Ok(read(store, &rules_key())?.unwrap_or_default())
}

/// The chain parameters, from committed state.
pub fn parameters<S: Store + ?Sized>(store: &S) -> Result<ChainParameters, StateError> {
    Ok(read(store, &parameters_key())?.unwrap_or_default())
}

/// The current epoch's record, from committed state.
pub fn epoch<S: Store + ?Sized>(store: &S) -> Result<Option<EpochRecord>, StateError> {
    read(store, &epoch_key())
}

/// The record of `epoch`, from committed state.
pub fn epoch_record<S: Store + ?Sized>(store: &S, epoch: Epoch) -> Result<Option<EpochRecord>, StateError> {
    read(store, &epoch_history_key(epoch))
}

/// The validator set decided but not yet in force, from committed state.
pub fn pending_validators<S: Store + ?Sized>(store: &S) -> Result<Option<PendingValidators>, StateError> {
    read(store, &pending_key())
}

/// A misbehaviour record, from committed state.
pub fn misbehaviour<S: Store + ?Sized>(store: &S, id: &EvidenceId) -> Result<Option<Misbehaviour>, StateError> {
    read(store, &misbehaviour_key(id))
}

/// An organisation's misbehaviour records (the latest ones), from committed state.
pub fn misbehaviour_of<S: Store + ?Sized>(store: &S, org: &OrgId) -> Result<Vec<Misbehaviour>, StateError> {
    let ids: Vec<EvidenceId> = read(store, &misbehaviour_of_key(org))?.unwrap_or_default();
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        if let Some(record) = misbehaviour(store, &id)? {
            out.push(record);
        }
    }
    Ok(out)
}
