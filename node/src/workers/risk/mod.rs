//! The risk worker: an organisation's attack-graph assessment, recomputed whenever its
//! inventory folder (or its parameters on chain) change and submitted through the pool,
//! signed by the organisation's risk service identity; and the attestation of other
//! organisations' assessments, recomputed from the inventories they shared (`docs/risk.md`).
//!
//! Assessments run on a blocking thread (seconds for 10^5 devices); at most one
//! transaction per check; a folder that did not change is not assessed again. On a dev or
//! test home (one that holds the organisation's admin key) the worker registers its own
//! service identity, as the sharing worker does. Nothing the folders hold is logged: they
//! name machines and people.

pub mod firmware;
pub mod inventory;
pub mod observed;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use panacea_contracts::identity::{IdentityCall, IdentityKind};
use panacea_contracts::ids::OrgId;
use panacea_contracts::membership::KeyOwner;
use panacea_contracts::risk::{RiskCall, RiskParameters};
use panacea_contracts::{Call, Transaction};
use panacea_primitives::{Hash, Keypair};

use crate::config::RiskConfig;
use crate::shared::Shared;

/// How long the worker waits before registering its identity again.
const REGISTRATION_RETRY: Duration = Duration::from_secs(30);

/// The worker's state.
pub struct RiskWorker {
    shared: Arc<Shared>,
    dir: Option<PathBuf>,
    salt: PathBuf,
    key: Keypair,
    /// The organisation's admin key, on dev and test homes only.
    admin: Option<Keypair>,
    attest: Vec<(OrgId, PathBuf)>,
    interval: Duration,
    /// The fingerprint of the folder last submitted, and the transaction.
    last: Option<(Hash, Hash)>,
    /// The refused transaction already logged.
    logged: Option<Hash>,
    /// Assessments of others already recomputed (attested, or found different).
    recomputed: BTreeSet<Hash>,
    registration_sent: Option<Instant>,
}

/// SHA-256 over the names and hashes of the folder's documents and identity map: what
/// tells the worker the inventory changed.
fn fingerprint(dir: &Path) -> Result<Hash, String> {
    let mut parts: Vec<Vec<u8>> = Vec::new();
    for name in panacea_risk::DOCUMENT_NAMES.iter().copied().chain(["identities.json", firmware::FEED_NAME]) {
        let path = dir.join(name);
        // A document past the model's limit is not read (the assessment refuses it); its
        // size and time stand for it.
        let digest = match std::fs::metadata(&path) {
            Ok(meta) if meta.len() > panacea_risk::MAX_DOCUMENT_BYTES as u64 => {
                let modified = meta.modified().ok().and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok());
                Hash::digest(format!("{}:{modified:?}", meta.len()).as_bytes())
            }
            Ok(_) => Hash::digest(&std::fs::read(&path).unwrap_or_default()),
            Err(_) => Hash::ZERO,
        };
        parts.push([name.as_bytes(), digest.as_bytes()].concat());
    }
    let parts: Vec<&[u8]> = parts.iter().map(Vec::as_slice).collect();
    Ok(Hash::digest_parts(&parts))
}

/// What the chain adds to `org`'s inventory in `dir` (its mapped devices' firmware, and
/// the connections observed between them in reports before `until`, or all so far), and
/// the audit cutoff used.
fn facts_of(
    shared: &Shared,
    dir: &Path,
    org: &OrgId,
    until: Option<u64>,
) -> Result<(inventory::ChainFacts, u64), String> {
    let identities = inventory::identity_map(dir).map_err(|_| unreadable(dir))?;
    let store = shared.storage.state();
    let firmware = firmware::firmware_components(&store, &identities).map_err(|e| e.to_string())?;
    let (reports, cutoff) = observed::reports(&store, org, until).map_err(|e| e.to_string())?;
    let edges = observed::edges(&reports, &identities);
    Ok((inventory::ChainFacts { firmware, edges }, cutoff))
}

/// The error the worker logs for an inventory that does not assess. The model's own error
/// names ids from the inventory (machines, people), which stay out of the logs; the
/// operator sees it with `panacea risk assess`.
fn unreadable(dir: &Path) -> String {
    format!("the inventory in {} does not assess: run `panacea risk assess` on it to see why", dir.display())
}

impl RiskWorker {
    /// A worker for `config` on a node whose home is `home`; `None` when it has nothing to
    /// assess or attest.
    pub fn new(shared: Arc<Shared>, home: &Path, config: &RiskConfig) -> Result<Option<RiskWorker>, String> {
        if config.inventory_dir.is_none() && config.attest.is_empty() {
            return Ok(None);
        }
        let at_home = |p: &Path| if p.is_absolute() { p.to_path_buf() } else { home.join(p) };
        let key_file = config.service_key_file.as_deref().ok_or("risk.service_key_file is required with [risk]")?;
        let key = crate::keys::load(&at_home(key_file)).map_err(|e| format!("risk.service_key_file: {e}"))?;
        let salt = at_home(config.survey_salt_file.as_deref().unwrap_or(Path::new("keys/survey.salt")));
        let interval =
            Duration::from_millis(if config.poll_interval_ms == 0 { 60_000 } else { config.poll_interval_ms });
        let admin = crate::keys::load(&crate::config::Home(home.to_path_buf()).admin_key()).ok();
        Ok(Some(RiskWorker {
            shared,
            dir: config.inventory_dir.as_deref().map(at_home),
            salt,
            key,
            admin,
            attest: config.attest.iter().map(|a| (a.org.clone(), at_home(&a.inventory_dir))).collect(),
            interval,
            last: None,
            logged: None,
            recomputed: BTreeSet::new(),
            registration_sent: None,
        }))
    }

    /// The organisation the service key acts for, once registered.
    fn org(&self) -> Result<Option<OrgId>, String> {
        let store = self.shared.storage.state();
        Ok(match panacea_contracts::membership::key_owner(&store, &self.key.public()).map_err(|e| e.to_string())? {
            Some(KeyOwner::Admin(org)) => Some(org),
            Some(KeyOwner::Identity(id)) => {
                panacea_contracts::identity::identity(&store, &id).map_err(|e| e.to_string())?.map(|i| i.org)
            }
            _ => None,
        })
    }

    fn parameters(&self, org: &OrgId) -> Result<Option<RiskParameters>, String> {
        panacea_contracts::risk::effective_parameters(&self.shared.storage.state(), org).map_err(|e| e.to_string())
    }

    /// Registers the service key with the admin key on a dev or test home; elsewhere the
    /// operator registers it (`panacea identity register-service`).
    fn register(&mut self) -> Result<(), String> {
        let Some(admin) = &self.admin else {
            return Err(format!(
                "the risk service key {} is not registered: panacea identity register-service --public-key {}",
                hex::encode(self.key.public().to_bytes()),
                hex::encode(self.key.public().to_bytes())
            ));
        };
        if self.registration_sent.is_some_and(|at| at.elapsed() < REGISTRATION_RETRY) {
            return Ok(());
        }
        let store = self.shared.storage.state();
        let nonce = panacea_contracts::next_nonce(&store, &admin.public()).map_err(|e| e.to_string())?;
        let kind = IdentityKind::Service { name: "risk worker".into() };
        let call = Call::Identity(IdentityCall::Register { key: self.key.public(), kind });
        let tx = Transaction { chain_id: self.shared.chain.chain_id().clone(), signer: admin.public(), nonce, call }
            .sign(admin);
        let bytes = tx.encode();
        crate::admission::admit_own(&self.shared, tx, bytes).map_err(|e| e.to_string())?;
        self.registration_sent = Some(Instant::now());
        tracing::info!("registering the risk service identity with the admin key");
        Ok(())
    }

    /// Runs until `shutdown` turns true.
    pub async fn run(mut self, mut shutdown: tokio::sync::watch::Receiver<bool>) {
        let mut tick = tokio::time::interval(self.interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = tick.tick() => {
                    if let Err(e) = self.step().await {
                        tracing::warn!(error = %e, "the risk worker could not assess, attest or submit; it tries again");
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

    /// One check: submit the organisation's assessment if its inputs changed, otherwise
    /// attest one assessment of another organisation that this worker has not recomputed.
    async fn step(&mut self) -> Result<(), String> {
        self.shared.metrics.risk_checks.inc();
        let Some(org) = self.org()? else { return self.register() };
        if self.submit_own(&org).await? {
            return Ok(());
        }
        self.attest_others(&org).await
    }

    /// Submits the organisation's assessment if its folder or parameters changed; true if
    /// a transaction went out or is still pending.
    async fn submit_own(&mut self, org: &OrgId) -> Result<bool, String> {
        let Some(dir) = self.dir.clone() else { return Ok(false) };
        let parameters = self.parameters(org)?;
        let folder = tokio::task::spawn_blocking(move || fingerprint(&dir)).await.map_err(|e| e.to_string())??;
        // New parameters, and new reports of unexpected connections, on chain are changes too.
        let set = serde_json::to_vec(&parameters).map_err(|e| e.to_string())?;
        let (_, reported) = observed::reports(&self.shared.storage.state(), org, None).map_err(|e| e.to_string())?;
        let seen = Hash::digest_parts(&[folder.as_bytes(), &set, &reported.to_be_bytes()]);
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
            if pooled {
                return Ok(true);
            }
            if receipt.is_some() && done == seen {
                return Ok(false);
            }
        }
        let (dir, salt) = (self.dir.clone().unwrap_or_default(), self.salt.clone());
        let shared = self.shared.clone();
        let own = org.clone();
        let call = tokio::task::spawn_blocking(move || {
            let (facts, cutoff) = facts_of(&shared, &dir, &own, None)?;
            let assessed =
                inventory::assess_dir_with(&dir, parameters.as_ref(), &facts).map_err(|_| unreadable(&dir))?;
            inventory::submit_call(&dir, &assessed, &salt, cutoff).map_err(|_| unreadable(&dir))
        })
        .await
        .map_err(|e| e.to_string())??;
        let id = self.send(Call::Risk(call))?;
        self.shared.metrics.risk_submissions.inc();
        tracing::info!(tx = %id, "the risk worker submitted an assessment");
        self.last = Some((seen, id));
        Ok(true)
    }

    /// Recomputes the latest assessment of the first organisation it attests for that it
    /// has not recomputed yet, and attests it if the output is the same.
    async fn attest_others(&mut self, own: &OrgId) -> Result<(), String> {
        for (org, dir) in self.attest.clone() {
            let store = self.shared.storage.state();
            let latest = panacea_contracts::risk::assessments_of(&store, &org).map_err(|e| e.to_string())?;
            let Some(latest) = latest.into_iter().next() else { continue };
            if latest.org == *own
                || latest.attestations.iter().any(|a| a.org == *own)
                || self.recomputed.contains(&latest.id)
            {
                continue;
            }
            let parameters = self.parameters(&org)?;
            let shared = self.shared.clone();
            let (assessed_org, until) = (latest.org.clone(), latest.observed_until);
            let assessed = tokio::task::spawn_blocking(move || {
                let (facts, _) = facts_of(&shared, &dir, &assessed_org, Some(until))?;
                inventory::assess_dir_with(&dir, parameters.as_ref(), &facts).map_err(|_| unreadable(&dir))
            })
            .await
            .map_err(|e| e.to_string())??;
            self.recomputed.insert(latest.id);
            let output = Hash::from_hex(&assessed.assessment.hash()).map_err(|e| e.to_string())?;
            if output != latest.output {
                tracing::warn!(org = %org, assessment = %latest.id, "this worker computes another output: not attested");
                continue;
            }
            let id = self.send(Call::Risk(RiskCall::Attest { assessment: latest.id, output }))?;
            tracing::info!(org = %org, tx = %id, "the risk worker attested an assessment");
            return Ok(());
        }
        Ok(())
    }

    /// Signs `call` with the service key at its next committed nonce and admits it.
    fn send(&self, call: Call) -> Result<Hash, String> {
        let store = self.shared.storage.state();
        let nonce = panacea_contracts::next_nonce(&store, &self.key.public()).map_err(|e| e.to_string())?;
        let tx = Transaction { chain_id: self.shared.chain.chain_id().clone(), signer: self.key.public(), nonce, call }
            .sign(&self.key);
        let id = tx.id();
        let bytes = tx.encode();
        crate::admission::admit_own(&self.shared, tx, bytes).map_err(|e| e.to_string())?;
        Ok(id)
    }
}
