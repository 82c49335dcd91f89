use std::collections::BTreeSet;

use panacea_primitives::{Hash, PublicKey, codec};

use super::errors::GovernanceError;
use super::messages::{
    Action, CITES_MAX, ChainParameters, EVIDENCE_BYTES_MAX, EpochRecord, EvidenceId, GovernanceCall, Misbehaviour,
    NewMember, PROPOSALS_OPEN_MAX, PROPOSALS_OPEN_PER_ORG_MAX, PendingValidators, Proposal, ProposalId, ProposalStatus,
    VOTING_PERIOD_MIN_MS, limits,
};
use super::state::{
    epoch_in, epoch_of_in, get_misbehaviour, get_proposal, members_in, open_in, pending_in, put_epoch, put_members,
    put_misbehaviour, put_open, put_parameters, put_pending, put_proposal, rules_in,
};
use crate::audit::{AuditAction, AuditAgent, AuditEntity, AuditEvent, AuditKind, AuditOutcome};
use crate::context::{BlockContext, TxContext};
use crate::error::ExecError;
use crate::identity::{IdentityKind, Principal};
use crate::ids::OrgId;
use crate::membership::{
    ADMIN_KEYS_MAX, KeyOwner, ORG_NAME_BYTES_MAX, OrgStatus, Organisation, key_used, organisation_in, put_key_owner,
    retire_key,
};
use crate::state::{BlockState, StateError};

fn org_agent(org: &OrgId) -> AuditAgent {
    AuditAgent { identity: None, key: None, org: Some(org.clone()), role: None, requestor: false }
}

fn event(
    block: &BlockContext,
    kind: AuditKind,
    action: AuditAction,
    outcome: AuditOutcome,
    agents: Vec<AuditAgent>,
    proposal: Option<ProposalId>,
) -> AuditEvent {
    let entity = AuditEntity { proposal: proposal.map(|p| p.0), ..AuditEntity::default() };
    crate::audit::block_event(block, kind, action, outcome, agents, entity, None)
}

fn admin(who: &Principal) -> Result<(OrgId, PublicKey), GovernanceError> {
    match who {
        Principal::Admin { org, key } => Ok((org.clone(), *key)),
        _ => Err(GovernanceError::NotAMemberAdmin),
    }
}

fn invalid(message: impl Into<String>) -> ExecError {
    GovernanceError::InvalidAction(message.into()).into()
}

/// Executes a governance call.
pub(crate) fn execute(
    state: &mut BlockState<'_>,
    ctx: &TxContext,
    who: &Principal,
    call: GovernanceCall,
) -> Result<(), ExecError> {
    match call {
        GovernanceCall::Propose { action, deadline, rationale, cites } => {
            let (org, key) = admin(who)?;
            let rules = rules_in(state)?;
            let now = ctx.block.time;
            let earliest = now.plus_millis(VOTING_PERIOD_MIN_MS);
            let latest = now.plus_millis(rules.voting_period_max_ms);
            if deadline < earliest || deadline > latest {
                return Err(GovernanceError::BadDeadline {
                    min_ms: VOTING_PERIOD_MIN_MS,
                    max_ms: rules.voting_period_max_ms,
                }
                .into());
            }
            if cites.len() > CITES_MAX {
                return Err(invalid(format!("a proposal cites at most {CITES_MAX} misbehaviour records")));
            }
            for cited in &cites {
                if get_misbehaviour(state, cited)?.is_none() {
                    return Err(GovernanceError::UnknownEvidence(cited.to_string()).into());
                }
            }
            validate(state, &action)?;
            let mut open = open_in(state)?;
            if open.len() >= PROPOSALS_OPEN_MAX {
                return Err(GovernanceError::TooManyOpen(open.len()).into());
            }
            let mine = open
                .keys()
                .filter_map(|id| get_proposal(state, id).ok().flatten())
                .filter(|p| p.proposer == org)
                .count();
            if mine >= PROPOSALS_OPEN_PER_ORG_MAX {
                return Err(GovernanceError::TooManyOpen(mine).into());
            }
            let id = ProposalId(ctx.tx);
            let mut proposal = Proposal {
                id,
                action,
                proposer: org.clone(),
                proposed_at: now,
                height: ctx.block.height,
                deadline,
                rationale,
                cites,
                ballots: Default::default(),
                status: ProposalStatus::Open,
            };
            let mut agents = vec![who.agent()];
            if let Some(subject) = proposal.action.subject().filter(|s| **s != org) {
                agents.push(org_agent(subject));
            }
            let mut proposed = event(
                &ctx.block,
                AuditKind::GovernanceProposed,
                AuditAction::Create,
                AuditOutcome::Success,
                agents,
                Some(id),
            );
            proposed.entity.attachment = rationale;
            state.emit(proposed);
            open.insert(id, deadline);
            put_open(state, &open);
            cast(state, ctx, who, &mut proposal, &org, key, true)?;
            put_proposal(state, &proposal);
            Ok(())
        }
        GovernanceCall::Vote { proposal: id, approve } => {
            let (org, key) = admin(who)?;
            let Some(mut proposal) = get_proposal(state, &id)? else {
                return Err(GovernanceError::UnknownProposal.into());
            };
            if let Some(status) = closed(&proposal.status) {
                return Err(GovernanceError::NotOpen(status).into());
            }
            if ctx.block.time > proposal.deadline {
                return Err(GovernanceError::DeadlinePassed.into());
            }
            cast(state, ctx, who, &mut proposal, &org, key, approve)?;
            put_proposal(state, &proposal);
            Ok(())
        }
        GovernanceCall::ReportMisbehaviour { evidence } => report(state, ctx, who, &evidence),
    }
}

fn closed(status: &ProposalStatus) -> Option<&'static str> {
    match status {
        ProposalStatus::Open => None,
        ProposalStatus::Executed { .. } => Some("executed"),
        ProposalStatus::Failed { .. } => Some("failed"),
        ProposalStatus::Rejected { .. } => Some("rejected"),
        ProposalStatus::Expired { .. } => Some("expired"),
    }
}

/// Records one admin's vote, decides its organisation's ballot when enough of its admins
/// agree, and decides the proposal when the members' votes carry or defeat it.
fn cast(
    state: &mut BlockState<'_>,
    ctx: &TxContext,
    who: &Principal,
    proposal: &mut Proposal,
    org: &OrgId,
    key: PublicKey,
    approve: bool,
) -> Result<(), ExecError> {
    let Some(member) = organisation_in(state, org)? else { return Err(GovernanceError::NotAMemberAdmin.into()) };
    let ballot = proposal.ballots.entry(org.clone()).or_default();
    if ballot.decided.is_some() {
        return Err(GovernanceError::AlreadyVoted(org.clone()).into());
    }
    if ballot.approve.contains(&key) || ballot.reject.contains(&key) {
        return Err(GovernanceError::AdminAlreadyVoted.into());
    }
    if approve {
        ballot.approve.push(key);
    } else {
        ballot.reject.push(key);
    }
    let admins = member.admin_keys.len();
    let needed = usize::from(member.admin_threshold.max(1)).min(admins.max(1));
    if ballot.approve.len() >= needed {
        ballot.decided = Some(true);
    } else if ballot.reject.len() > admins.saturating_sub(needed) {
        ballot.decided = Some(false);
    }
    state.emit(event(
        &ctx.block,
        AuditKind::GovernanceVoted,
        AuditAction::Update,
        if approve { AuditOutcome::Success } else { AuditOutcome::Denied },
        vec![who.agent()],
        Some(proposal.id),
    ));
    tally(state, &ctx.block, proposal)
}

/// Counts decided ballots of active members and closes the proposal if they decide it.
fn tally(state: &mut BlockState<'_>, block: &BlockContext, proposal: &mut Proposal) -> Result<(), ExecError> {
    let rules = rules_in(state)?;
    let mut voters = 0usize;
    let (mut yes, mut no) = (0usize, 0usize);
    for id in members_in(state)? {
        let Some(org) = organisation_in(state, &id)? else { continue };
        if org.status != OrgStatus::Active {
            continue;
        }
        voters += 1;
        match proposal.ballots.get(&id).and_then(|b| b.decided) {
            Some(true) => yes += 1,
            Some(false) => no += 1,
            None => {}
        }
    }
    let status = if rules.threshold.reached(yes, voters) {
        match validate(state, &proposal.action) {
            Ok(()) => {
                apply(state, block, &proposal.action)?;
                ProposalStatus::Executed { height: block.height }
            }
            Err(ExecError::Call(e)) => ProposalStatus::Failed { height: block.height, reason: e.message },
            Err(e @ ExecError::State(_)) => return Err(e),
        }
    } else if !rules.threshold.reached(voters.saturating_sub(no), voters) {
        ProposalStatus::Rejected { height: block.height }
    } else {
        return Ok(());
    };
    close(state, block, proposal, status)
}

fn close(
    state: &mut BlockState<'_>,
    block: &BlockContext,
    proposal: &mut Proposal,
    status: ProposalStatus,
) -> Result<(), ExecError> {
    let outcome =
        if matches!(status, ProposalStatus::Executed { .. }) { AuditOutcome::Success } else { AuditOutcome::Denied };
    proposal.status = status;
    let mut agents = vec![org_agent(&proposal.proposer)];
    if let Some(subject) = proposal.action.subject().filter(|s| **s != proposal.proposer) {
        agents.push(org_agent(subject));
    }
    state.emit(event(block, AuditKind::GovernanceDecided, AuditAction::Execute, outcome, agents, Some(proposal.id)));
    let mut open = open_in(state)?;
    open.remove(&proposal.id);
    put_open(state, &open);
    Ok(())
}

fn check_new_keys(
    state: &BlockState<'_>,
    keys: &[PublicKey],
    threshold: u8,
    own: Option<&Organisation>,
) -> Result<(), ExecError> {
    if keys.is_empty() || keys.len() > ADMIN_KEYS_MAX {
        return Err(invalid(format!("an organisation needs 1 to {ADMIN_KEYS_MAX} admin keys")));
    }
    if threshold == 0 || usize::from(threshold) > keys.len() {
        return Err(invalid("the admin threshold must be between 1 and the number of admin keys"));
    }
    let mut seen = BTreeSet::new();
    for key in keys {
        if !seen.insert(*key) {
            return Err(invalid("an admin key is listed twice"));
        }
        let already_own = own.is_some_and(|o| o.admin_keys.contains(key));
        if !already_own && key_used(state, key)? {
            return Err(invalid(format!("admin key {key} is already used on this chain")));
        }
    }
    Ok(())
}

/// Every member (of any standing), in the order they joined.
fn all_members(state: &BlockState<'_>) -> Result<Vec<Organisation>, StateError> {
    let mut out = Vec::new();
    for id in members_in(state)? {
        if let Some(org) = organisation_in(state, &id)? {
            out.push(org);
        }
    }
    Ok(out)
}

fn validator_key_taken(state: &BlockState<'_>, key: &PublicKey, except: &OrgId) -> Result<bool, StateError> {
    Ok(all_members(state)?.iter().any(|o| &o.id != except && o.validator_key.as_ref() == Some(key))
        || key_used(state, key)?)
}

fn network_key_taken(state: &BlockState<'_>, key: &[u8; 32], except: &OrgId) -> Result<bool, StateError> {
    Ok(all_members(state)?.iter().any(|o| &o.id != except && o.network_key.as_ref() == Some(key)))
}

/// Would at least one validator remain if `org` stopped validating?
fn validators_remain_without(state: &BlockState<'_>, org: &OrgId) -> Result<bool, StateError> {
    Ok(all_members(state)?.iter().any(|o| &o.id != org && o.status == OrgStatus::Active && o.validator_key.is_some()))
}

fn existing(state: &BlockState<'_>, org: &OrgId) -> Result<Organisation, ExecError> {
    match organisation_in(state, org)? {
        Some(o) if o.status != OrgStatus::Removed => Ok(o),
        Some(_) => Err(invalid(format!("{org} has been removed from the consortium"))),
        None => Err(invalid(format!("{org} is not a member organisation"))),
    }
}

/// True if applying `action` may change who validates.
fn touches_validators(state: &BlockState<'_>, action: &Action) -> Result<bool, StateError> {
    let validates = |org: &OrgId| -> Result<bool, StateError> {
        Ok(organisation_in(state, org)?.is_some_and(|o| o.validator_key.is_some()))
    };
    Ok(match action {
        Action::Admit(member) => member.validator_key.is_some(),
        Action::Suspend(org) | Action::Reinstate(org) | Action::Remove(org) => validates(org)?,
        Action::SetValidator { .. } => true,
        Action::SetNetworkKey { .. } | Action::SetAdmins { .. } | Action::SetParameters(_) => false,
    })
}

/// Checks that `action` can be applied to the current state.
fn validate(state: &BlockState<'_>, action: &Action) -> Result<(), ExecError> {
    if pending_in(state)?.is_some() && touches_validators(state, action)? {
        return Err(invalid(
            "a validator-set change is pending until the epoch ends (a few blocks); propose this again then",
        ));
    }
    match action {
        Action::Admit(NewMember { id, name, validator_key, network_key, admin_keys, admin_threshold, .. }) => {
            if organisation_in(state, id)?.is_some() {
                return Err(invalid(format!("organisation id {id} is already taken (ids are never reused)")));
            }
            if name.is_empty() || name.len() > ORG_NAME_BYTES_MAX {
                return Err(invalid(format!("an organisation name is 1 to {ORG_NAME_BYTES_MAX} bytes")));
            }
            check_new_keys(state, admin_keys, *admin_threshold, None)?;
            if let Some(key) = validator_key
                && (admin_keys.contains(key) || validator_key_taken(state, key, id)?)
            {
                return Err(invalid(format!("validator key {key} is already used on this chain")));
            }
            if let Some(key) = network_key {
                if crate::membership::peer_key_valid(key).is_err() {
                    return Err(invalid("the network key is not an ed25519 public key"));
                }
                if network_key_taken(state, key, id)? {
                    return Err(invalid("the network key is already another member's"));
                }
            }
            if all_members(state)?.len() >= crate::membership::ORGS_MAX {
                return Err(invalid("the consortium has the most members it can have"));
            }
            Ok(())
        }
        Action::Suspend(org) => {
            let o = existing(state, org)?;
            if o.status != OrgStatus::Active {
                return Err(invalid(format!("{org} is not active")));
            }
            if o.validator_key.is_some() && !validators_remain_without(state, org)? {
                return Err(invalid(format!("{org} runs the last validator")));
            }
            Ok(())
        }
        Action::Reinstate(org) => {
            if existing(state, org)?.status != OrgStatus::Suspended {
                return Err(invalid(format!("{org} is not suspended")));
            }
            Ok(())
        }
        Action::Remove(org) => {
            let o = existing(state, org)?;
            if o.validator_key.is_some() && o.status == OrgStatus::Active && !validators_remain_without(state, org)? {
                return Err(invalid(format!("{org} runs the last validator")));
            }
            Ok(())
        }
        Action::SetValidator { org, key } => {
            let o = existing(state, org)?;
            match key {
                Some(key) => {
                    if o.validator_key.as_ref() != Some(key)
                        && (o.admin_keys.contains(key) || validator_key_taken(state, key, org)?)
                    {
                        return Err(invalid(format!("validator key {key} is already used on this chain")));
                    }
                }
                None => {
                    if o.status == OrgStatus::Active
                        && o.validator_key.is_some()
                        && !validators_remain_without(state, org)?
                    {
                        return Err(invalid(format!("{org} runs the last validator")));
                    }
                }
            }
            Ok(())
        }
        Action::SetNetworkKey { org, key } => {
            existing(state, org)?;
            if let Some(key) = key {
                if crate::membership::peer_key_valid(key).is_err() {
                    return Err(invalid("the network key is not an ed25519 public key"));
                }
                if network_key_taken(state, key, org)? {
                    return Err(invalid("the network key is already another member's"));
                }
            }
            Ok(())
        }
        Action::SetAdmins { org, keys, threshold } => {
            let o = existing(state, org)?;
            check_new_keys(state, keys, *threshold, Some(&o))
        }
        Action::SetParameters(parameters) => check_parameters(parameters),
    }
}

fn check_parameters(p: &ChainParameters) -> Result<(), ExecError> {
    let grant = limits::GRANT_MS_MIN..=limits::GRANT_MS_MAX;
    if !grant.contains(&p.permit_ms) || !grant.contains(&p.break_glass_ms) {
        return Err(invalid(format!(
            "permit_ms and break_glass_ms must be between {} and {}",
            limits::GRANT_MS_MIN,
            limits::GRANT_MS_MAX
        )));
    }
    if p.patient_consents_max == 0 || p.patient_consents_max > limits::PATIENT_CONSENTS_MAX {
        return Err(invalid(format!("patient_consents_max must be between 1 and {}", limits::PATIENT_CONSENTS_MAX)));
    }
    if p.pool_per_signer_max == 0 || p.pool_per_signer_max > limits::POOL_PER_SIGNER_MAX {
        return Err(invalid(format!("pool_per_signer_max must be between 1 and {}", limits::POOL_PER_SIGNER_MAX)));
    }
    if !(limits::SELF_ASSESSMENT_MS_MIN..=limits::SELF_ASSESSMENT_MS_MAX).contains(&p.self_assessment_max_age_ms) {
        return Err(invalid(format!(
            "self_assessment_max_age_ms must be between {} and {}",
            limits::SELF_ASSESSMENT_MS_MIN,
            limits::SELF_ASSESSMENT_MS_MAX
        )));
    }
    if let Some(risk) = &p.risk_defaults {
        crate::risk::check_parameters(risk).map_err(|e| invalid(format!("risk_defaults: {e}")))?;
    }
    Ok(())
}

/// Applies a validated action.
fn apply(state: &mut BlockState<'_>, block: &BlockContext, action: &Action) -> Result<(), ExecError> {
    let update = |state: &mut BlockState<'_>, org: &OrgId, change: &dyn Fn(&mut Organisation)| {
        let Some(mut o) = organisation_in(state, org)? else { return Ok::<_, StateError>(()) };
        change(&mut o);
        crate::membership::put_org(state, &o);
        Ok(())
    };
    match action {
        Action::Admit(member) => {
            let org = Organisation {
                id: member.id.clone(),
                name: member.name.clone(),
                kind: member.kind,
                validator_key: member.validator_key,
                network_key: member.network_key,
                admin_keys: member.admin_keys.clone(),
                admin_threshold: member.admin_threshold,
                status: OrgStatus::Active,
            };
            crate::membership::put_org(state, &org);
            for key in &org.admin_keys {
                put_key_owner(state, key, &KeyOwner::Admin(org.id.clone()));
            }
            let mut members = members_in(state)?;
            members.push(org.id.clone());
            put_members(state, &members);
        }
        Action::Suspend(org) => update(state, org, &|o| o.status = OrgStatus::Suspended)?,
        Action::Reinstate(org) => update(state, org, &|o| o.status = OrgStatus::Active)?,
        Action::Remove(org) => update(state, org, &|o| o.status = OrgStatus::Removed)?,
        Action::SetValidator { org, key } => update(state, org, &|o| o.validator_key = *key)?,
        Action::SetNetworkKey { org, key } => update(state, org, &|o| o.network_key = *key)?,
        Action::SetAdmins { org, keys, threshold } => {
            let Some(mut o) = organisation_in(state, org)? else { return Ok(()) };
            let owner = KeyOwner::Admin(org.clone());
            for old in o.admin_keys.iter().filter(|k| !keys.contains(k)) {
                retire_key(state, old, &owner);
            }
            for key in keys {
                put_key_owner(state, key, &owner);
            }
            o.admin_keys = keys.clone();
            o.admin_threshold = *threshold;
            crate::membership::put_org(state, &o);
        }
        Action::SetParameters(parameters) => put_parameters(state, parameters),
    }
    update_pending(state, block)?;
    Ok(())
}

/// The validator set the members call for now: the current (or pending) order kept for
/// validators that stay, newcomers appended in the order they joined.
fn called_for(state: &BlockState<'_>, current: &[PublicKey]) -> Result<Vec<PublicKey>, StateError> {
    let members = all_members(state)?;
    let wanted: Vec<PublicKey> =
        members.iter().filter(|o| o.status == OrgStatus::Active).filter_map(|o| o.validator_key).collect();
    let mut out: Vec<PublicKey> = current.iter().filter(|k| wanted.contains(k)).copied().collect();
    for key in wanted {
        if !out.contains(&key) {
            out.push(key);
        }
    }
    Ok(out)
}

fn update_pending(state: &mut BlockState<'_>, block: &BlockContext) -> Result<(), StateError> {
    let Some(current) = epoch_in(state)? else { return Ok(()) };
    let base = match pending_in(state)? {
        Some(pending) => pending.validators,
        None => current.validators.clone(),
    };
    let next = called_for(state, &base)?;
    if next == current.validators {
        put_pending(state, None);
    } else if !next.is_empty() {
        let epoch = panacea_primitives::Epoch(current.epoch.0 + 1);
        put_pending(state, Some(&PendingValidators { epoch, decided_at: block.height, validators: next }));
    }
    Ok(())
}

/// Work at the start of every block, before its transactions: proposals past their
/// deadline expire, and a pending validator set whose decision the block's state
/// attestation covers takes effect (the block ends the epoch; the next block is the new
/// epoch's first). Returns the new epoch's record when the block ends one, and the audit
/// events logged (they belong to no transaction's receipt).
pub(crate) fn begin_block(
    state: &mut BlockState<'_>,
    block: &BlockContext,
) -> Result<(Option<EpochRecord>, Vec<AuditEvent>), StateError> {
    let open = open_in(state)?;
    let expired: Vec<ProposalId> =
        open.iter().filter(|(_, deadline)| **deadline < block.time).map(|(id, _)| *id).collect();
    for id in expired {
        if let Some(mut proposal) = get_proposal(state, &id)? {
            match close(state, block, &mut proposal, ProposalStatus::Expired { height: block.height }) {
                Ok(()) => put_proposal(state, &proposal),
                Err(ExecError::State(e)) => return Err(e),
                Err(ExecError::Call(_)) => {}
            }
        }
    }
    let mut ended = None;
    if let (Some(pending), Some(current)) = (pending_in(state)?, epoch_in(state)?)
        && pending.decided_at <= block.attested
        && pending.decided_at < block.height
    {
        let record = EpochRecord {
            epoch: panacea_primitives::Epoch(current.epoch.0 + 1),
            validators: pending.validators,
            anchor_height: block.height,
        };
        put_epoch(state, &record);
        put_pending(state, None);
        state.emit(event(block, AuditKind::EpochChanged, AuditAction::Update, AuditOutcome::Success, Vec::new(), None));
        ended = Some(record);
    }
    let events = state.commit_tx();
    Ok((ended, events))
}

/// Verifies and records a validator's misbehaviour.
fn report(state: &mut BlockState<'_>, ctx: &TxContext, who: &Principal, evidence: &[u8]) -> Result<(), ExecError> {
    let reporter = match who {
        Principal::Admin { org, .. } => org.clone(),
        Principal::Member { identity } if matches!(identity.kind, IdentityKind::Service { .. }) => identity.org.clone(),
        _ => return Err(GovernanceError::NotAReporter.into()),
    };
    if evidence.len() > EVIDENCE_BYTES_MAX {
        return Err(GovernanceError::BadEvidence(format!("larger than {EVIDENCE_BYTES_MAX} bytes")).into());
    }
    let Some(check) = ctx.block.evidence.get() else { return Err(GovernanceError::NoEvidenceCheck.into()) };
    let epoch = check.epoch_of(evidence).map_err(GovernanceError::BadEvidence)?;
    let Some(record) = epoch_of_in(state, epoch)? else {
        return Err(GovernanceError::BadEvidence(format!("this chain has no record of epoch {epoch}")).into());
    };
    let offence = check.verify(&ctx.block.chain_id, &record, evidence).map_err(GovernanceError::BadEvidence)?;
    let id = EvidenceId(Hash::digest_parts(&[b"panacea-offence-v1", &codec::encode(&offence)]));
    if get_misbehaviour(state, &id)?.is_some() {
        return Err(GovernanceError::AlreadyReported(id.to_string()).into());
    }
    let culprit = all_members(state)?
        .into_iter()
        .find(|o| o.validator_key == Some(offence.culprit))
        .map(|o| o.id)
        .ok_or_else(|| GovernanceError::BadEvidence("no member holds the culprit's validator key".into()))?;
    let record = Misbehaviour { id, offence, org: culprit.clone(), reported_by: reporter, height: ctx.block.height };
    put_misbehaviour(state, &record)?;
    let mut reported = event(
        &ctx.block,
        AuditKind::MisbehaviourReported,
        AuditAction::Create,
        AuditOutcome::Success,
        vec![who.agent(), org_agent(&culprit)],
        None,
    );
    reported.entity.attachment = Some(crate::ids::DocumentHash(id.0));
    state.emit(reported);
    Ok(())
}

/// Writes governance's genesis records: the rules, the member order and epoch 0.
pub(crate) fn apply_genesis(
    state: &mut BlockState<'_>,
    genesis: &crate::membership::Genesis,
) -> Result<(), crate::membership::MembershipError> {
    if !genesis.governance.threshold.is_valid() {
        return Err(crate::membership::MembershipError::Governance(
            "the governance threshold must be a fraction n/d with 0 <= n < d".into(),
        ));
    }
    if genesis.governance.voting_period_max_ms < VOTING_PERIOD_MIN_MS {
        return Err(crate::membership::MembershipError::Governance(format!(
            "the longest voting period must be at least {VOTING_PERIOD_MIN_MS} ms"
        )));
    }
    super::state::put_rules(state, &genesis.governance);
    let members: Vec<OrgId> = genesis.organisations.iter().map(|o| o.id.clone()).collect();
    put_members(state, &members);
    let validators = genesis
        .organisations
        .iter()
        .filter(|o| o.status == OrgStatus::Active)
        .filter_map(|o| o.validator_key)
        .collect();
    put_epoch(
        state,
        &EpochRecord {
            epoch: panacea_primitives::Epoch(0),
            validators,
            anchor_height: panacea_primitives::Height::ZERO,
        },
    );
    put_parameters(state, &ChainParameters::default());
    Ok(())
}
