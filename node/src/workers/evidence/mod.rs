//! The evidence worker: puts the misbehaviour the node's consensus replica proved (two
//! proposals or two votes for one round by one validator) on chain, where the contracts
//! verify it against the validator set of its epoch and record it against the culprit's
//! member for auditors and removal proposals to cite.
//!
//! It signs with the node's sharing identity (a service identity of its organisation,
//! `keys/sharing_key.json`), at the key's next committed nonce; while the sharing worker
//! has a transaction of that key in the pool, the report waits for the next round. Evidence
//! already on record, or that the chain refuses, is dropped with a log line; the queue is
//! bounded (`shared::EVIDENCE_QUEUE_MAX`).

use std::sync::Arc;
use std::time::Duration;

use panacea_contracts::governance::GovernanceCall;
use panacea_contracts::{Call, Transaction};
use panacea_primitives::Keypair;
use tokio::sync::watch;

use crate::mempool::AdmitError;
use crate::shared::Shared;

/// How often the queue is looked at.
const POLL: Duration = Duration::from_secs(1);

/// Reports queued evidence on chain.
pub struct EvidenceWorker {
    shared: Arc<Shared>,
    key: Keypair,
}

impl EvidenceWorker {
    /// A worker signing with `key` (the node's sharing identity).
    pub fn new(shared: Arc<Shared>, key: Keypair) -> EvidenceWorker {
        EvidenceWorker { shared, key }
    }

    /// Runs until `shutdown` turns true.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        let mut tick = tokio::time::interval(POLL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = shutdown.changed() => return,
                _ = tick.tick() => self.report_one(),
            }
        }
    }

    /// Submits the oldest queued piece of evidence.
    fn report_one(&self) {
        let Some(evidence) = self.shared.evidence.lock().ok().and_then(|q| q.front().cloned()) else { return };
        let store = self.shared.storage.state();
        let nonce = match panacea_contracts::next_nonce(&store, &self.key.public()) {
            Ok(nonce) => nonce,
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the sharing identity's nonce; evidence waits");
                return;
            }
        };
        let call = Call::Governance(GovernanceCall::ReportMisbehaviour { evidence: evidence.clone() });
        let tx = Transaction { chain_id: self.shared.chain.chain_id().clone(), signer: self.key.public(), nonce, call }
            .sign(&self.key);
        let id = tx.id();
        let bytes = tx.encode();
        let done = match crate::admission::admit_own(&self.shared, tx, bytes) {
            Ok(_) => {
                tracing::info!(tx = %id, "misbehaviour evidence submitted");
                true
            }
            // The sharing worker holds this nonce in the pool: try again next round.
            Err(AdmitError::NonceTaken(_) | AdmitError::NonceUsed { .. } | AdmitError::Full) => false,
            Err(AdmitError::UnknownSigner { .. }) => {
                tracing::warn!(
                    "misbehaviour evidence cannot be reported: register the node's sharing identity \
                     (panacea identity register-service, docs/sharing.md)"
                );
                true
            }
            Err(e) => {
                tracing::warn!(error = %e, "misbehaviour evidence refused by the pool");
                true
            }
        };
        if done
            && let Ok(mut queue) = self.shared.evidence.lock()
            && queue.front() == Some(&evidence)
        {
            queue.pop_front();
        }
    }
}
