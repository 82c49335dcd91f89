use std::time::Instant;

use libp2p::PeerId;
use panacea_contracts::SignedTransaction;
use panacea_contracts::membership::ChainMode;
use panacea_primitives::{Hash, OpaqueBatch};

use crate::mempool::{AdmitError, Mempool};
use crate::shared::Shared;

/// Admits a checked transaction to the pool and queues it for gossip. Already pending
/// is not an error: submission is idempotent.
pub(crate) fn admit(shared: &Shared, tx: SignedTransaction, bytes: Vec<u8>) -> Result<Hash, AdmitError> {
    let next = panacea_contracts::next_nonce(&shared.storage.state(), &tx.tx.signer).map_err(|e| {
        tracing::error!(error = %e, "cannot read a nonce");
        AdmitError::Full
    })?;
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

/// Admits transactions gossiped by `from` (on the admission task).
pub fn admit_gossiped(shared: &Shared, from: PeerId, transactions: Vec<Vec<u8>>) {
    if shared.chain.genesis.mode == ChainMode::OrderingOnly {
        return admit_gossiped_batches(shared, from, transactions);
    }
    let chain_id = shared.chain.chain_id();
    let checked = Mempool::check_stateless_batch(&transactions, chain_id);
    for (bytes, checked) in transactions.iter().zip(checked) {
        let tx = match checked {
            Ok(tx) => tx,
            Err(e) => {
                tracing::debug!(peer = %from, error = %e, "gossiped transaction refused");
                continue;
            }
        };
        let next = match panacea_contracts::next_nonce(&shared.storage.state(), &tx.tx.signer) {
            Ok(next) => next,
            Err(_) => continue,
        };
        if let Ok(mut pool) = shared.mempool.lock()
            && pool.insert(tx, bytes.len(), next, Instant::now()).is_ok()
        {
            shared.mempool_notify.notify_one();
        }
    }
}

/// [`admit_gossiped`] on an ordering-only chain, where each gossiped item is a framed
/// opaque batch.
fn admit_gossiped_batches(shared: &Shared, from: PeerId, batches: Vec<Vec<u8>>) {
    for bytes in batches {
        let batch = match OpaqueBatch::from_framed(bytes) {
            Ok(batch) => batch,
            Err(e) => {
                tracing::debug!(peer = %from, error = %e, "gossiped batch refused");
                continue;
            }
        };
        if let Ok(mut pool) = shared.batches.lock()
            && pool.admit(batch).is_ok()
        {
            shared.mempool_notify.notify_one();
        }
    }
}
