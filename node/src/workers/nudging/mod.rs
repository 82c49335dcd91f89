//! The nudging worker: turns committed events into nudges for the organisation's staff
//! (PANACEA's secure-behaviour nudging), kept off chain in its own store (`store.rs`).
//!
//! It follows the audit log from its cursor (storage, then the shell's broadcast) and
//! makes, for its own organisation only:
//! - `break-glass-review`: a break-glass access awaits its review: to the requester (file
//!   the justification) and to the custodian's auditors (review it);
//! - `first-custodian-access`: an identity's first request to a custodian;
//! - `request-burst`: more than [`BURST_REQUESTS`] requests by one identity within
//!   [`BURST_WINDOW_MS`] of block time: to the identity and the security officers;
//! - `high-risk`: a device quarantined at high risk: to the security officers;
//! - `unexpected-connection`: a connection no rule allowed, involving its machines;
//! - `training-expiring`: a credential ending within [`TRAINING_NOTICE_MS`] (checked every
//!   [`CHECK_INTERVAL`]): to the holder;
//! - `self-assessment-overdue`: the organisation's self-assessment is overdue: to the
//!   security officers.
//!
//! Nudges name identities, organisations and on-chain records, never a patient (events
//! carry only pseudonymous references, and the worker copies none of them). Staff apps
//! read theirs on a signed stream (`/v1/nudges/stream`) and acknowledge them; the
//! organisation reads acknowledgement rates per kind and week (`/v1/nudges/rates`).

pub mod store;

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use panacea_client_sdk::types::{NudgeKind, NudgeRecipient, NudgeView};
use panacea_contracts::audit::{AuditEvent, AuditKind};
use panacea_contracts::codes::StaffRole;
use panacea_contracts::ids::{IdentityId, OrgId};
use panacea_primitives::Timestamp;

use self::store::{Followed, NewNudge, NudgeStore, NudgeStoreError};
use crate::shared::{CommittedEvents, Shared};

/// Requests by one identity that make a burst...
pub const BURST_REQUESTS: usize = 20;
/// ... within this much block time.
pub const BURST_WINDOW_MS: u64 = 5 * 60 * 1000;
/// Identities whose recent requests are tracked for bursts.
const BURST_TRACKED_MAX: usize = 4_096;
/// How long before a credential expires its holder is nudged.
pub const TRAINING_NOTICE_MS: u64 = 30 * 24 * 60 * 60 * 1000;
/// How often expiring credentials and the self-assessment are checked.
pub const CHECK_INTERVAL: Duration = Duration::from_secs(30);
/// Live nudges kept for slow stream readers.
const LIVE_QUEUE: usize = 1_024;
/// Audit events read from storage per step of catching up.
const CATCH_UP_PAGE: usize = 500;
/// Events older than this (block time, against the node's clock) make no nudge: a node
/// that starts on an old chain does not flood its staff with last year's prompts.
pub const NUDGE_HORIZON_MS: u64 = 7 * 24 * 60 * 60 * 1000;

/// The worker, shared with the API.
#[derive(Clone)]
pub struct NudgingWorker {
    shared: Arc<Shared>,
    store: Arc<NudgeStore>,
    org: OrgId,
    live: tokio::sync::broadcast::Sender<Arc<NudgeView>>,
}

impl std::fmt::Debug for NudgingWorker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NudgingWorker").field("org", &self.org).finish()
    }
}

/// Recent requests per identity, for bursts (in memory: rebuilt from new events).
#[derive(Default)]
struct Bursts {
    recent: BTreeMap<IdentityId, VecDeque<u64>>,
    nudged_until: BTreeMap<IdentityId, u64>,
}

impl Bursts {
    /// Records a request at `at` (ms); true if it completes a burst not yet nudged.
    fn record(&mut self, who: IdentityId, at: u64) -> bool {
        if !self.recent.contains_key(&who) && self.recent.len() >= BURST_TRACKED_MAX {
            // Forget identities with nothing in the window; if none, stop tracking new ones.
            self.recent.retain(|_, times| times.back().is_some_and(|t| at.saturating_sub(*t) <= BURST_WINDOW_MS));
            self.nudged_until.retain(|_, until| *until > at);
            if self.recent.len() >= BURST_TRACKED_MAX {
                return false;
            }
        }
        let times = self.recent.entry(who).or_default();
        times.push_back(at);
        while times.front().is_some_and(|t| at.saturating_sub(*t) > BURST_WINDOW_MS) {
            times.pop_front();
        }
        while times.len() > BURST_REQUESTS {
            times.pop_front();
        }
        if times.len() < BURST_REQUESTS || self.nudged_until.get(&who).is_some_and(|until| *until > at) {
            return false;
        }
        self.nudged_until.insert(who, at.saturating_add(BURST_WINDOW_MS));
        true
    }
}

fn short(hash: &impl std::fmt::Display) -> String {
    let text = hash.to_string();
    text.get(..12).unwrap_or(&text).to_string()
}

impl NudgingWorker {
    /// A worker for the organisation whose network key this node holds; `None` (with a
    /// warning) for a node of no organisation.
    pub fn new(shared: Arc<Shared>, store: Arc<NudgeStore>, org: Option<OrgId>) -> Option<NudgingWorker> {
        let Some(org) = org else {
            tracing::warn!("this node's network key belongs to no organisation; it makes no nudges");
            return None;
        };
        let (live, _) = tokio::sync::broadcast::channel(LIVE_QUEUE);
        Some(NudgingWorker { shared, store, org, live })
    }

    /// The organisation it nudges for.
    pub fn org(&self) -> &OrgId {
        &self.org
    }

    /// Its store.
    pub fn store(&self) -> &NudgeStore {
        &self.store
    }

    /// New nudges as they are made.
    pub fn subscribe(&self) -> tokio::sync::broadcast::Receiver<Arc<NudgeView>> {
        self.live.subscribe()
    }

    /// Runs until shutdown: catches up from its cursor, follows new blocks, checks expiring
    /// training and the self-assessment every [`CHECK_INTERVAL`].
    pub async fn run(
        self,
        mut events: tokio::sync::broadcast::Receiver<Arc<CommittedEvents>>,
        mut shutdown: tokio::sync::watch::Receiver<bool>,
    ) {
        let mut bursts = Bursts::default();
        let mut check = tokio::time::interval(CHECK_INTERVAL);
        loop {
            if let Err(e) = self.catch_up(&mut bursts) {
                tracing::error!(error = %e, "the nudging worker stopped: its store failed");
                return;
            }
            tokio::select! {
                block = events.recv() => match block {
                    // Each block is read back from storage, from the cursor: one path.
                    Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
                },
                _ = check.tick() => {
                    if let Err(e) = self.scheduled(crate::shell::now()) {
                        tracing::warn!(error = %e, "nudging: a scheduled check failed");
                    }
                }
                _ = shutdown.wait_for(|stop| *stop) => return,
            }
        }
    }

    /// Handles every committed audit event from the cursor on.
    fn catch_up(&self, bursts: &mut Bursts) -> Result<(), NudgeStoreError> {
        let state = self.shared.storage.state();
        loop {
            let from = self.store.cursor()?;
            let filter = panacea_contracts::audit::AuditFilter::default();
            let page = panacea_contracts::audit::events(&state, &filter, from.checked_sub(1), CATCH_UP_PAGE)
                .map_err(|e| NudgeStoreError::Corrupt(format!("the audit log: {e}")))?;
            if page.events.is_empty() {
                return Ok(());
            }
            let now = crate::shell::now();
            for event in &page.events {
                let mut change = self.store.change()?;
                if now.as_millis().saturating_sub(event.recorded.as_millis()) <= NUDGE_HORIZON_MS {
                    let asked = |identity: &IdentityId, custodian: &OrgId| {
                        self.store.asked_before(identity, custodian).unwrap_or(true)
                    };
                    for new in self.nudges_for(event, bursts, &asked)? {
                        change.add(new)?;
                    }
                }
                self.remember(event, &mut change)?;
                for made in change.commit(Some(event.seq.saturating_add(1)))? {
                    let _ = self.live.send(Arc::new(made));
                }
            }
            if page.next.is_none() {
                return Ok(());
            }
        }
    }

    /// What the worker keeps from an event besides nudges: first accesses, credentials.
    fn remember(&self, event: &AuditEvent, change: &mut store::Change<'_>) -> Result<(), NudgeStoreError> {
        match event.kind {
            AuditKind::AccessDecision | AuditKind::BreakGlass => {
                if let (Some(requester), Some(custodian)) = (self.own_requester(event), self.custodian(event)) {
                    change.asked(&requester, &custodian);
                }
            }
            AuditKind::TrainingIssued => {
                if let (Some(holder), Some(credential)) = (event.entity.identity, event.entity.record) {
                    let own =
                        event.agents.iter().any(|a| a.identity == Some(holder) && a.org.as_ref() == Some(&self.org));
                    let course = self.course_of(&holder, &credential);
                    if own
                        && !course.is_empty()
                        && let Ok(Some(found)) =
                            panacea_contracts::training::credential(&self.shared.storage.state(), &holder, &course)
                    {
                        let followed = Followed { credential, expires: found.expires, nudged: false };
                        change.follow(&holder, &found.course, Some(followed))?;
                    }
                }
            }
            AuditKind::TrainingRevoked => {
                if let (Some(holder), Some(credential)) = (event.entity.identity, event.entity.record) {
                    let course = self.course_of(&holder, &credential);
                    if !course.is_empty() {
                        change.follow(&holder, &course, None)?;
                    }
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// The course of `holder`'s credential `credential` (empty if unknown).
    fn course_of(&self, holder: &IdentityId, credential: &panacea_primitives::Hash) -> String {
        panacea_contracts::training::credentials(&self.shared.storage.state(), holder)
            .ok()
            .and_then(|all| all.into_iter().find(|c| c.id == *credential).map(|c| c.course))
            .unwrap_or_default()
    }

    /// The requester of an access event, when it is one of this organisation's identities.
    fn own_requester(&self, event: &AuditEvent) -> Option<IdentityId> {
        let agent = event.agents.iter().find(|a| a.requestor)?;
        (agent.org.as_ref() == Some(&self.org)).then_some(agent.identity).flatten()
    }

    /// The custodian of an access event (its non-requesting organisation agent).
    fn custodian(&self, event: &AuditEvent) -> Option<OrgId> {
        event.agents.iter().find(|a| !a.requestor && a.identity.is_none()).and_then(|a| a.org.clone())
    }

    /// The nudges an event makes for this organisation.
    fn nudges_for(
        &self,
        event: &AuditEvent,
        bursts: &mut Bursts,
        seen: &dyn Fn(&IdentityId, &OrgId) -> bool,
    ) -> Result<Vec<NewNudge>, NudgeStoreError> {
        let mut out = Vec::new();
        let base = |kind, recipient, message: String| NewNudge {
            kind,
            recipient,
            subject: None,
            other_org: None,
            record: None,
            event: Some(event.seq),
            message,
            created: event.recorded,
        };
        let officers = NudgeRecipient::Role(StaffRole::SecurityOfficer);
        match event.kind {
            AuditKind::BreakGlass => {
                let decision = event.entity.decision.map(|d| d.0);
                let custodian = self.custodian(event);
                if let Some(requester) = self.own_requester(event) {
                    out.push(NewNudge {
                        subject: Some(requester),
                        other_org: custodian.clone(),
                        record: decision,
                        ..base(
                            NudgeKind::BreakGlassReview,
                            NudgeRecipient::Identity(requester),
                            format!(
                                "Your emergency access (decision {}) will be reviewed by the custodian's auditors: keep the written justification ready.",
                                decision.as_ref().map(short).unwrap_or_default()
                            ),
                        )
                    });
                }
                if custodian.as_ref() == Some(&self.org) {
                    let requester = event.agents.iter().find(|a| a.requestor);
                    out.push(NewNudge {
                        subject: requester.and_then(|a| a.identity),
                        other_org: requester.and_then(|a| a.org.clone()),
                        record: decision,
                        ..base(
                            NudgeKind::BreakGlassReview,
                            NudgeRecipient::Role(StaffRole::Auditor),
                            format!(
                                "A break-glass access to data we hold awaits your review (decision {}).",
                                decision.as_ref().map(short).unwrap_or_default()
                            ),
                        )
                    });
                }
            }
            AuditKind::AccessDecision => {
                if let Some(requester) = self.own_requester(event) {
                    if let Some(custodian) = self.custodian(event)
                        && custodian != self.org
                        && !seen(&requester, &custodian)
                    {
                        out.push(NewNudge {
                            subject: Some(requester),
                            other_org: Some(custodian.clone()),
                            ..base(
                                NudgeKind::FirstCustodianAccess,
                                NudgeRecipient::Identity(requester),
                                format!(
                                    "This is your first request to {custodian}: ask only for what the care you give needs."
                                ),
                            )
                        });
                    }
                    if bursts.record(requester, event.recorded.as_millis()) {
                        let message = format!(
                            "{BURST_REQUESTS} access requests within {} minutes: check this is the work you meant to do.",
                            BURST_WINDOW_MS / 60_000
                        );
                        out.push(NewNudge {
                            subject: Some(requester),
                            ..base(NudgeKind::RequestBurst, NudgeRecipient::Identity(requester), message.clone())
                        });
                        out.push(NewNudge {
                            subject: Some(requester),
                            ..base(
                                NudgeKind::RequestBurst,
                                officers,
                                format!("Identity {}: {message}", short(&requester)),
                            )
                        });
                    }
                }
            }
            AuditKind::DeviceQuarantined if event.agents.iter().any(|a| a.org.as_ref() == Some(&self.org)) => {
                let device = event.entity.identity;
                out.push(NewNudge {
                    subject: device,
                    ..base(
                        NudgeKind::HighRisk,
                        officers,
                        format!(
                            "Device {} is at high risk and quarantined: record a mitigation.",
                            device.as_ref().map(short).unwrap_or_default()
                        ),
                    )
                });
            }
            AuditKind::UnexpectedConnection if event.agents.iter().any(|a| a.org.as_ref() == Some(&self.org)) => {
                let others = event.agents.iter().filter_map(|a| a.org.clone()).find(|o| *o != self.org);
                out.push(NewNudge {
                    subject: event.entity.identity,
                    other_org: others,
                    ..base(
                        NudgeKind::UnexpectedConnection,
                        officers,
                        "A machine tried a connection no rule allows: check the source and the allow-list.".into(),
                    )
                });
            }
            _ => {}
        }
        Ok(out)
    }

    /// The checks that depend on time, not events: expiring training, an overdue
    /// self-assessment.
    pub fn scheduled(&self, now: Timestamp) -> Result<Vec<NudgeView>, NudgeStoreError> {
        let mut change = self.store.change()?;
        for (holder, course, mut followed) in self.store.expiring(now.plus_millis(TRAINING_NOTICE_MS))? {
            if followed.expires <= now {
                // Expired without a notice (the node was off): stop following it.
                change.follow(&holder, &course, None)?;
                continue;
            }
            followed.nudged = true;
            change.add(NewNudge {
                kind: NudgeKind::TrainingExpiring,
                recipient: NudgeRecipient::Identity(holder),
                subject: Some(holder),
                other_org: None,
                record: Some(followed.credential),
                event: None,
                message: format!("Your {course} training expires on {}: book the refresher.", followed.expires),
                created: now,
            })?;
            change.follow(&holder, &course, Some(followed))?;
        }
        let state = self.shared.storage.state();
        let latest = panacea_contracts::csf::latest(&state, &self.org)
            .map_err(|e| NudgeStoreError::Corrupt(format!("state: {e}")))?;
        let max_age = panacea_contracts::governance::parameters(&state)
            .map_err(|e| NudgeStoreError::Corrupt(format!("state: {e}")))?
            .self_assessment_max_age_ms;
        let version = latest.as_ref().map_or(0, |a| a.version);
        let overdue = latest.as_ref().is_none_or(|a| a.overdue(now, max_age));
        if overdue && !self.store.overdue_nudged(version)? {
            change.overdue(version);
            change.add(NewNudge {
                kind: NudgeKind::SelfAssessmentOverdue,
                recipient: NudgeRecipient::Role(StaffRole::SecurityOfficer),
                subject: None,
                other_org: None,
                record: None,
                event: None,
                message: "The organisation's security self-assessment is overdue: record a new version.".into(),
                created: now,
            })?;
        }
        let made = change.commit(None)?;
        for nudge in &made {
            let _ = self.live.send(Arc::new(nudge.clone()));
        }
        Ok(made)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_is_nudged_once_per_window() {
        let mut bursts = Bursts::default();
        let who = IdentityId(panacea_primitives::Hash([1; 32]));
        let hits: Vec<bool> = (0..45u64).map(|i| bursts.record(who, i * 1_000)).collect();
        assert_eq!(hits.iter().filter(|h| **h).count(), 1, "once within the window");
        assert!(hits[BURST_REQUESTS - 1], "on the request that completes the burst");
        // Spread out, no burst.
        let other = IdentityId(panacea_primitives::Hash([2; 32]));
        assert!((0..100u64).all(|i| !bursts.record(other, i * BURST_WINDOW_MS / 10)));
        // After the window, a new burst is nudged again.
        let later = 45_000 + BURST_WINDOW_MS;
        assert_eq!((0..25u64).filter(|i| bursts.record(who, later + i)).count(), 1);
    }
}
