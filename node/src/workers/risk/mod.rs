//! The risk worker: an organisation's attack-graph assessment, recomputed whenever its
//! inventory folder changes and submitted on chain through the pool, signed by the
//! organisation's risk service identity (`docs/risk.md`).
//!
//! The assessment runs on a blocking thread (it takes seconds for 10^4 devices); one
//! submission is in flight at a time, and a folder that did not change is not assessed
//! again. Nothing the folder holds is logged: it names machines and people.

pub mod inventory;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use panacea_contracts::{Call, Transaction};
use panacea_primitives::{Hash, Keypair};

use crate::config::RiskConfig;
use crate::shared::Shared;

/// The worker's state.
pub struct RiskWorker {
    shared: Arc<Shared>,
    dir: PathBuf,
    salt: PathBuf,
    key: Keypair,
    interval: Duration,
    /// The fingerprint of the folder last submitted, and the transaction.
    last: Option<(Hash, Hash)>,
    /// The refused transaction already logged.
    logged: Option<Hash>,
}

/// SHA-256 over the names and hashes of the folder's documents and identity map: what
/// tells the worker the inventory changed.
fn fingerprint(dir: &Path) -> Result<Hash, String> {
    let mut parts: Vec<Vec<u8>> = Vec::new();
    for name in panacea_risk::DOCUMENT_NAMES.iter().copied().chain(["identities.json"]) {
        let bytes = std::fs::read(dir.join(name)).unwrap_or_default();
        parts.push([name.as_bytes(), Hash::digest(&bytes).as_bytes()].concat());
    }
    let parts: Vec<&[u8]> = parts.iter().map(Vec::as_slice).collect();
    Ok(Hash::digest_parts(&parts))
}

impl RiskWorker {
    /// A worker for `config` on a node whose home is `home`; `None` when no inventory
    /// folder is configured.
    pub fn new(shared: Arc<Shared>, home: &Path, config: &RiskConfig) -> Result<Option<RiskWorker>, String> {
        let Some(dir) = &config.inventory_dir else { return Ok(None) };
        let at_home = |p: &Path| if p.is_absolute() { p.to_path_buf() } else { home.join(p) };
        let key_file =
            config.service_key_file.as_deref().ok_or("risk.service_key_file is required with risk.inventory_dir")?;
        let key = crate::keys::load(&at_home(key_file)).map_err(|e| format!("risk.service_key_file: {e}"))?;
        let salt = at_home(config.survey_salt_file.as_deref().unwrap_or(Path::new("keys/survey.salt")));
        let interval =
            Duration::from_millis(if config.poll_interval_ms == 0 { 60_000 } else { config.poll_interval_ms });
        Ok(Some(RiskWorker { shared, dir: at_home(dir), salt, key, interval, last: None, logged: None }))
    }

    /// The parameters the organisation's admins set on chain, if any.
    fn parameters(&self) -> Result<Option<panacea_contracts::risk::RiskParameters>, String> {
        let store = self.shared.storage.state();
        let org =
            match panacea_contracts::membership::key_owner(&store, &self.key.public()).map_err(|e| e.to_string())? {
                Some(panacea_contracts::membership::KeyOwner::Admin(org)) => org,
                Some(panacea_contracts::membership::KeyOwner::Identity(id)) => {
                    match panacea_contracts::identity::identity(&store, &id).map_err(|e| e.to_string())? {
                        Some(identity) => identity.org,
                        None => return Ok(None),
                    }
                }
                // Not registered yet: the submission will wait for it anyway.
                _ => return Ok(None),
            };
        panacea_contracts::risk::parameters(&store, &org).map_err(|e| e.to_string())
    }

    /// Runs until `shutdown` turns true.
    pub async fn run(mut self, mut shutdown: tokio::sync::watch::Receiver<bool>) {
        let mut tick = tokio::time::interval(self.interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = tick.tick() => {
                    if let Err(e) = self.step().await {
                        tracing::warn!(error = %e, "the risk worker could not assess or submit; it tries again");
                    }
                }
                changed = shutdown.changed() => {
                    if changed.is_err() || *shutdown.borrow() {
                        return;
                    }
                }
            }
        }
    }

    /// One check: assess and submit if the folder changed since the last submission that
    /// committed or is still in the pool.
    async fn step(&mut self) -> Result<(), String> {
        self.shared.metrics.risk_checks.inc();
        let parameters = self.parameters()?;
        let dir = self.dir.clone();
        let folder = tokio::task::spawn_blocking(move || fingerprint(&dir)).await.map_err(|e| e.to_string())??;
        // New parameters on chain are a change too.
        let set = serde_json::to_vec(&parameters).map_err(|e| e.to_string())?;
        let seen = Hash::digest_parts(&[folder.as_bytes(), &set]);
        if let Some((done, tx)) = self.last {
            let pooled = self.shared.mempool.lock().map(|pool| pool.contains(&tx)).unwrap_or(false);
            let receipt = self.shared.storage.receipt(&tx).map_err(|e| e.to_string())?;
            if let Some((_, receipt)) = &receipt
                && !receipt.is_ok()
                && self.logged != Some(tx)
            {
                // Once: the same inputs would fail the same way; a changed folder is tried.
                self.logged = Some(tx);
                tracing::warn!(tx = %tx, "the risk assessment was refused on chain; fix the inventory or the identity");
            }
            if pooled || (receipt.is_some() && done == seen) {
                return Ok(());
            }
        }
        let (dir, salt) = (self.dir.clone(), self.salt.clone());
        let call = tokio::task::spawn_blocking(move || {
            let assessed = inventory::assess_dir(&dir, parameters.as_ref())?;
            inventory::submit_call(&dir, &assessed, &salt)
        })
        .await
        .map_err(|e| e.to_string())??;
        let store = self.shared.storage.state();
        let nonce = panacea_contracts::next_nonce(&store, &self.key.public()).map_err(|e| e.to_string())?;
        let tx = Transaction {
            chain_id: self.shared.chain.chain_id().clone(),
            signer: self.key.public(),
            nonce,
            call: Call::Risk(call),
        }
        .sign(&self.key);
        let id = tx.id();
        let bytes = tx.encode();
        crate::admission::admit(&self.shared, tx, bytes).map_err(|e| e.to_string())?;
        self.shared.metrics.risk_submissions.inc();
        tracing::info!(tx = %id, "the risk worker submitted an assessment");
        self.last = Some((seen, id));
        Ok(())
    }
}
