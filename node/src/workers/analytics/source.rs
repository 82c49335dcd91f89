//! The chain side of the analytics sink: committed blocks read back from storage, with
//! their receipts, their audit events (by seq, from the audit log in committed state) and
//! the decisions and consent versions those events name.

use panacea_contracts::state::Meta;
use panacea_primitives::{Height, Timestamp};

use super::rows::{self, ChainBlock};
use crate::payload::BlockBody;
use crate::storage::{Storage, StorageError};

/// Largest block payload decoded, in bytes (a block is at most 16 MiB by configuration).
const PAYLOAD_BYTES_MAX: usize = 64 * 1024 * 1024;

/// The chain could not be read as the sink needs it. A storage error or a missing record
/// is a broken local invariant: the worker reports it and tries again; it never skips.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// Storage failed.
    #[error("reading the chain: {0}")]
    Storage(#[from] StorageError),
    /// Committed state failed.
    #[error("reading committed state: {0}")]
    State(String),
    /// A record that a committed block implies is missing.
    #[error("{0} is missing from this node's storage")]
    Missing(String),
    /// A stored block's payload does not decode.
    #[error("block {height} does not decode: {reason}")]
    Payload {
        /// The block.
        height: Height,
        /// Why.
        reason: String,
    },
    /// A block's records do not hang together.
    #[error(transparent)]
    Rows(#[from] rows::RowError),
}

/// The first height whose whole record this node holds: genesis (0) for a node that
/// replayed the chain; the block after its snapshot for one that state-synced (it holds
/// the snapshot's block, but not the receipts of its transactions).
pub fn first_height(storage: &Storage) -> Result<u64, SourceError> {
    let from = storage.history_from()?.0;
    Ok(if from <= 1 { 0 } else { from.saturating_add(1) })
}

/// The committed block at `height` with everything the tables hold about it.
pub fn read_block(storage: &Storage, genesis_time: Timestamp, height: u64) -> Result<ChainBlock, SourceError> {
    let at = Height(height);
    let block =
        storage.block(at)?.ok_or_else(|| SourceError::Missing(format!("the committed block at height {at}")))?;
    let after = meta(storage, at)?;
    let audit_from = match height.checked_sub(1) {
        Some(before) => meta(storage, Height(before))?.audit_count,
        None => 0,
    };
    let (time, transactions) = if height == 0 {
        (genesis_time, Vec::new())
    } else {
        let body = BlockBody::decode::<PAYLOAD_BYTES_MAX>(&block.payload, usize::MAX)
            .map_err(|e| SourceError::Payload { height: at, reason: e.to_string() })?;
        (body.time(), body.transactions)
    };
    let mut with_receipts = Vec::with_capacity(transactions.len());
    for tx in transactions {
        let id = tx.id();
        let (found_at, receipt) = storage
            .receipt(&id)?
            .ok_or_else(|| SourceError::Missing(format!("the receipt of transaction {id} (block {at})")))?;
        if found_at != at {
            return Err(SourceError::Missing(format!("transaction {id} of block {at} (indexed at {found_at})")));
        }
        with_receipts.push((tx, receipt));
    }
    let state = storage.state();
    let mut events = Vec::new();
    for seq in audit_from..after.audit_count {
        let event = panacea_contracts::audit::event(&state, seq)
            .map_err(|e| SourceError::State(e.to_string()))?
            .ok_or_else(|| SourceError::Missing(format!("audit event {seq}")))?;
        events.push(event);
    }
    let (decision_ids, consent_versions) = rows::records_named(&events);
    let mut decisions = Vec::with_capacity(decision_ids.len());
    for id in decision_ids {
        let decision = panacea_contracts::access::access_decision(&state, &id)
            .map_err(|e| SourceError::State(e.to_string()))?
            .ok_or_else(|| SourceError::Missing(format!("access decision {id}")))?;
        decisions.push(decision);
    }
    let mut consents = Vec::with_capacity(consent_versions.len());
    for (id, version) in consent_versions {
        let consent = panacea_contracts::consent::consent_version(&state, &id, version)
            .map_err(|e| SourceError::State(e.to_string()))?
            .ok_or_else(|| SourceError::Missing(format!("consent {id} version {version}")))?;
        consents.push(consent);
    }
    Ok(ChainBlock {
        height: at,
        id: block.id(),
        parent: (height > 0).then(|| block.header.parent()),
        epoch: block.header.epoch.0,
        round: block.header.round.0,
        author: block.header.author.0,
        time,
        state_root: after.state_root(),
        audit_from,
        transactions: with_receipts,
        events,
        decisions,
        consents,
    })
}

fn meta(storage: &Storage, height: Height) -> Result<Meta, SourceError> {
    storage
        .state_meta(height)?
        .ok_or_else(|| SourceError::Missing(format!("the state bookkeeping after block {height}")))
}
