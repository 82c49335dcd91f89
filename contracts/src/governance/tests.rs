use panacea_primitives::{Epoch, Keypair, Timestamp};

use super::*;
use crate::codes::{OrgKind, StaffRole};
use crate::error::ErrorCode;
use crate::membership::{OrgStatus, organisation};
use crate::testing::{Chain, error_code, key, org};
use crate::tx::{Call, Outcome};
use crate::{audit::AuditKind, ids::OrgId};

const DAY_MS: u64 = 24 * 60 * 60 * 1000;

fn deadline(chain: &Chain) -> Timestamp {
    chain.time.plus_millis(DAY_MS)
}

fn newcomer(id: &str) -> NewMember {
    NewMember {
        id: org(id),
        name: format!("New member {id}"),
        kind: OrgKind::Hospital,
        validator_key: Some(key(&format!("{id}/validator")).public()),
        network_key: Some(key(&format!("{id}/node")).public().to_bytes()),
        admin_keys: vec![key(&format!("{id}/admin")).public()],
        admin_threshold: 1,
    }
}

fn propose(chain: &mut Chain, by: &str, action: Action) -> (ProposalId, Outcome) {
    let admin = chain.admin(by);
    let deadline = deadline(chain);
    let tx = chain.sign(
        &admin,
        Call::Governance(GovernanceCall::Propose { action, deadline, rationale: None, cites: Vec::new() }),
    );
    let id = ProposalId(tx.id());
    let outcome = chain.block(&[tx]).receipts.remove(0).outcome;
    (id, outcome)
}

fn vote(chain: &mut Chain, signer: &Keypair, proposal: ProposalId, approve: bool) -> Outcome {
    chain.submit(signer, Call::Governance(GovernanceCall::Vote { proposal, approve })).outcome
}

fn status(chain: &Chain, id: ProposalId) -> ProposalStatus {
    proposal(&chain.store, &id).unwrap().unwrap().status
}

fn kinds(outcome: &Outcome) -> Vec<AuditKind> {
    match outcome {
        Outcome::Ok { events } => events.iter().map(|e| e.kind).collect(),
        Outcome::Failed { code, message } => panic!("failed: {code:?}: {message}"),
    }
}

#[test]
fn genesis_records_epoch_zero_rules_and_default_parameters() {
    let chain = Chain::new();
    let record = epoch(&chain.store).unwrap().unwrap();
    assert_eq!(record.epoch, Epoch(0));
    assert_eq!(record.validators.len(), 3);
    assert_eq!(rules(&chain.store).unwrap(), GovernanceRules::default());
    assert_eq!(parameters(&chain.store).unwrap(), ChainParameters::default());
    assert!(pending_validators(&chain.store).unwrap().is_none());
}

#[test]
fn a_new_hospital_is_admitted_by_more_than_two_thirds_and_validates_from_the_next_epoch() {
    let mut chain = Chain::new();
    let (id, outcome) = propose(&mut chain, "hospital-a", Action::Admit(newcomer("hospital-c")));
    assert_eq!(kinds(&outcome), vec![AuditKind::GovernanceProposed, AuditKind::GovernanceVoted]);
    // Two of three is not more than two thirds.
    let b = chain.admin("hospital-b");
    assert_eq!(kinds(&vote(&mut chain, &b, id, true)), vec![AuditKind::GovernanceVoted]);
    assert_eq!(status(&chain, id), ProposalStatus::Open);
    assert!(organisation(&chain.store, &org("hospital-c")).unwrap().is_none());
    let authority = chain.admin("authority");
    let outcome = vote(&mut chain, &authority, id, true);
    assert_eq!(kinds(&outcome), vec![AuditKind::GovernanceVoted, AuditKind::GovernanceDecided]);
    let executed_at = chain.height;
    assert_eq!(status(&chain, id), ProposalStatus::Executed { height: executed_at });
    let member = organisation(&chain.store, &org("hospital-c")).unwrap().unwrap();
    assert_eq!(member.status, OrgStatus::Active);
    // The change is pending until a block attests the state that decided it.
    let pending = pending_validators(&chain.store).unwrap().unwrap();
    assert_eq!(pending.decided_at, executed_at);
    assert_eq!(pending.validators.len(), 4);
    assert_eq!(pending.validators[3], key("hospital-c/validator").public());
    assert_eq!(epoch(&chain.store).unwrap().unwrap().epoch, Epoch(0));
    // The next block attests its parent: it ends epoch 0, and says so in the log (an event
    // of the block, not of a transaction).
    let outcome = chain.block(&[]);
    assert_eq!(outcome.block_events.iter().map(|e| e.kind).collect::<Vec<_>>(), vec![AuditKind::EpochChanged]);
    let next = outcome.epoch_change.expect("the block ends the epoch");
    assert_eq!(next, EpochRecord { epoch: Epoch(1), validators: pending.validators, anchor_height: chain.height });
    assert_eq!(epoch(&chain.store).unwrap().unwrap(), next);
    assert_eq!(epoch_record(&chain.store, Epoch(0)).unwrap().unwrap().validators.len(), 3);
    assert!(pending_validators(&chain.store).unwrap().is_none());
    assert!(chain.block(&[]).epoch_change.is_none(), "one change, one epoch");
    // The new member's admin acts, and now votes: four voters, so three approvals carry.
    let c = key("hospital-c/admin");
    let (id, _) = propose(&mut chain, "hospital-c", Action::Suspend(org("authority")));
    vote(&mut chain, &key("hospital-a/admin"), id, true);
    assert_eq!(status(&chain, id), ProposalStatus::Open, "2 of 4");
    vote(&mut chain, &b, id, true);
    assert!(matches!(status(&chain, id), ProposalStatus::Executed { .. }), "3 of 4");
    let _ = c;
}

#[test]
fn a_block_that_does_not_attest_the_decision_does_not_end_the_epoch() {
    let mut chain = Chain::new();
    let (id, _) = propose(&mut chain, "hospital-a", Action::SetValidator { org: org("authority"), key: None });
    vote(&mut chain, &key("hospital-b/admin"), id, true);
    vote(&mut chain, &key("authority/admin"), id, true);
    let decided = chain.height;
    let stale = crate::BlockContext {
        attested: decided.prev(),
        ..crate::BlockContext::new(crate::testing::chain_id(), chain.height.next(), chain.time.plus_millis(1_000))
    };
    let outcome = crate::execute_block(&chain.store, &stale, &[]).unwrap();
    assert!(outcome.epoch_change.is_none(), "the attested state predates the decision");
    let outcome = chain.block(&[]);
    assert_eq!(outcome.epoch_change.unwrap().validators.len(), 2);
}

#[test]
fn an_organisation_votes_once_and_nobody_else_votes() {
    let mut chain = Chain::new();
    let (id, _) = propose(&mut chain, "hospital-a", Action::Admit(newcomer("hospital-c")));
    let a = chain.admin("hospital-a");
    let before = chain.meta();
    let outcome = vote(&mut chain, &a, id, false);
    assert_eq!(error_code(&outcome), Some(ErrorCode::Conflict), "{outcome:?}");
    assert!(matches!(outcome, Outcome::Failed { ref message, .. } if message.contains("already voted")));
    // Staff, and keys nobody owns, neither propose nor vote.
    let (nurse, _) = chain.staff("hospital-b", StaffRole::Nurse, "nurse");
    assert_eq!(error_code(&vote(&mut chain, &nurse, id, true)), Some(ErrorCode::Unauthorized));
    let stranger = key("stranger");
    assert_eq!(error_code(&vote(&mut chain, &stranger, id, true)), Some(ErrorCode::UnknownSigner));
    let deadline = deadline(&chain);
    let outcome = chain
        .submit(
            &nurse,
            Call::Governance(GovernanceCall::Propose {
                action: Action::Remove(org("hospital-a")),
                deadline,
                rationale: None,
                cites: Vec::new(),
            }),
        )
        .outcome;
    assert_eq!(error_code(&outcome), Some(ErrorCode::Unauthorized));
    assert_eq!(chain.meta().audit_count, before.audit_count + 1, "only the nurse's registration was logged");
    // An unknown proposal.
    let b = chain.admin("hospital-b");
    assert_eq!(
        error_code(&vote(&mut chain, &b, ProposalId(panacea_primitives::Hash::digest(b"x")), true)),
        Some(ErrorCode::NotFound)
    );
}

#[test]
fn a_vote_after_the_deadline_is_refused_and_the_proposal_expires() {
    let mut chain = Chain::new();
    let (id, _) = propose(&mut chain, "hospital-a", Action::Admit(newcomer("hospital-c")));
    chain.advance(DAY_MS);
    let b = chain.admin("hospital-b");
    let before = chain.meta();
    // The block after the deadline expires the proposal before its transactions run.
    let outcome = vote(&mut chain, &b, id, true);
    assert_eq!(error_code(&outcome), Some(ErrorCode::Conflict));
    assert!(matches!(outcome, Outcome::Failed { ref message, .. } if message.contains("expired")), "{outcome:?}");
    assert!(matches!(status(&chain, id), ProposalStatus::Expired { .. }));
    assert_eq!(chain.meta().audit_count, before.audit_count + 1, "one event: the expiry");
    let outcome = chain.dry_run(&[]);
    assert!(outcome.block_events.is_empty(), "expired once");
    assert!(open_proposals(&chain.store).unwrap().is_empty());
    assert!(organisation(&chain.store, &org("hospital-c")).unwrap().is_none());
}

#[test]
fn a_vote_in_the_block_at_the_deadline_still_counts() {
    let mut chain = Chain::new();
    let (id, _) = propose(&mut chain, "hospital-a", Action::Admit(newcomer("hospital-c")));
    let proposal = proposal(&chain.store, &id).unwrap().unwrap();
    // The next block's time equals the deadline: still open.
    chain.advance(DAY_MS - 2_000);
    let b = chain.admin("hospital-b");
    assert!(matches!(vote(&mut chain, &b, id, true), Outcome::Ok { .. }));
    assert_eq!(chain.time, proposal.deadline);
}

#[test]
fn enough_rejections_reject_a_proposal() {
    let mut chain = Chain::new();
    let (id, _) = propose(&mut chain, "hospital-a", Action::Remove(org("hospital-b")));
    let outcome = vote(&mut chain, &key("hospital-b/admin"), id, false);
    assert_eq!(kinds(&outcome), vec![AuditKind::GovernanceVoted, AuditKind::GovernanceDecided]);
    assert!(matches!(status(&chain, id), ProposalStatus::Rejected { .. }));
    let outcome = vote(&mut chain, &key("authority/admin"), id, true);
    assert!(matches!(outcome, Outcome::Failed { ref message, .. } if message.contains("rejected")));
    assert_eq!(organisation(&chain.store, &org("hospital-b")).unwrap().unwrap().status, OrgStatus::Active);
}

#[test]
fn an_organisation_with_two_admins_and_threshold_two_votes_when_both_agree() {
    let mut chain = Chain::new();
    // The consortium gives hospital-b two admins, both needed.
    let (b1, b2) = (chain.admin("hospital-b"), key("hospital-b/admin-2"));
    let (id, _) = propose(
        &mut chain,
        "hospital-a",
        Action::SetAdmins { org: org("hospital-b"), keys: vec![b1.public(), b2.public()], threshold: 2 },
    );
    vote(&mut chain, &b1, id, true);
    vote(&mut chain, &key("authority/admin"), id, true);
    assert!(matches!(status(&chain, id), ProposalStatus::Executed { .. }));
    let (id, _) = propose(&mut chain, "hospital-a", Action::Admit(newcomer("hospital-c")));
    vote(&mut chain, &key("authority/admin"), id, true);
    vote(&mut chain, &b1, id, true);
    assert_eq!(status(&chain, id), ProposalStatus::Open, "one of hospital-b's two admins");
    assert_eq!(error_code(&vote(&mut chain, &b1, id, true)), Some(ErrorCode::Conflict), "twice by one admin");
    vote(&mut chain, &b2, id, true);
    assert!(matches!(status(&chain, id), ProposalStatus::Executed { .. }));
}

#[test]
fn admin_keys_change_only_by_vote_and_old_keys_are_retired() {
    let mut chain = Chain::new();
    let old = chain.admin("hospital-b");
    let new = key("hospital-b/admin-new");
    let (id, _) = propose(
        &mut chain,
        "hospital-a",
        Action::SetAdmins { org: org("hospital-b"), keys: vec![new.public()], threshold: 1 },
    );
    vote(&mut chain, &key("authority/admin"), id, true);
    assert_eq!(status(&chain, id), ProposalStatus::Open, "hospital-b's own vote is still missing");
    vote(&mut chain, &old, id, true);
    assert!(matches!(status(&chain, id), ProposalStatus::Executed { .. }));
    let (nurse_key, nurse) = (key("nurse-b"), crate::identity::IdentityKind::Staff { role: StaffRole::Nurse });
    let register = Call::Identity(crate::identity::IdentityCall::Register { key: nurse_key.public(), kind: nurse });
    assert_eq!(error_code(&chain.submit(&old, register.clone()).outcome), Some(ErrorCode::UnknownSigner));
    assert!(matches!(chain.submit(&new, register).outcome, Outcome::Ok { .. }));
}

#[test]
fn a_removed_member_cannot_act_and_its_validator_leaves() {
    let mut chain = Chain::new();
    let (id, _) = propose(&mut chain, "hospital-a", Action::Remove(org("hospital-b")));
    vote(&mut chain, &key("authority/admin"), id, true);
    // Two of three voters: not yet.
    assert_eq!(status(&chain, id), ProposalStatus::Open);
    let (id2, _) = propose(&mut chain, "authority", Action::Remove(org("hospital-b")));
    let _ = id2;
    // hospital-b itself approving its removal carries the first one.
    vote(&mut chain, &key("hospital-b/admin"), id, true);
    assert!(matches!(status(&chain, id), ProposalStatus::Executed { .. }));
    assert_eq!(organisation(&chain.store, &org("hospital-b")).unwrap().unwrap().status, OrgStatus::Removed);
    let b = chain.admin("hospital-b");
    assert_eq!(error_code(&vote(&mut chain, &b, id2, true)), Some(ErrorCode::Unauthorized));
    // That block attested the removal: it ended epoch 0.
    let change = epoch(&chain.store).unwrap().unwrap();
    assert_eq!(change.epoch, Epoch(1));
    assert_eq!(change.validators, vec![key("hospital-a/validator").public(), key("authority/validator").public()]);
    // Voters are now two: the second proposal fails at execution (already removed) when
    // it is carried.
    vote(&mut chain, &key("hospital-a/admin"), id2, true);
    assert!(
        matches!(status(&chain, id2), ProposalStatus::Failed { ref reason, .. } if reason.contains("removed")),
        "{:?}",
        status(&chain, id2)
    );
}

#[test]
fn invalid_actions_are_refused_when_proposed_and_nothing_changes() {
    let mut chain = Chain::new();
    let before = chain.meta();
    let mut taken = newcomer("hospital-c");
    taken.admin_keys = vec![chain.admin("hospital-a").public()];
    let mut no_threshold = newcomer("hospital-c");
    no_threshold.admin_threshold = 2;
    let mut bad_network = newcomer("hospital-c");
    bad_network.network_key = Some([0; 32]);
    let mut validator_taken = newcomer("hospital-c");
    validator_taken.validator_key = Some(key("hospital-a/validator").public());
    let cases = [
        Action::Admit(newcomer("hospital-a")),
        Action::Admit(taken),
        Action::Admit(no_threshold),
        Action::Admit(bad_network),
        Action::Admit(validator_taken),
        Action::Reinstate(org("hospital-b")),
        Action::Suspend(org("nobody")),
        Action::SetParameters(ChainParameters { permit_ms: 1, ..ChainParameters::default() }),
        Action::SetParameters(ChainParameters { patient_consents_max: 65, ..ChainParameters::default() }),
    ];
    for action in cases {
        let (_, outcome) = propose(&mut chain, "hospital-a", action.clone());
        assert_eq!(error_code(&outcome), Some(ErrorCode::InvalidArgument), "{action:?}: {outcome:?}");
    }
    // A deadline too soon or too late.
    for deadline in [chain.time, chain.time.plus_millis(31 * DAY_MS)] {
        let outcome = chain
            .submit(
                &key("hospital-a/admin"),
                Call::Governance(GovernanceCall::Propose {
                    action: Action::Suspend(org("hospital-b")),
                    deadline,
                    rationale: None,
                    cites: Vec::new(),
                }),
            )
            .outcome;
        assert_eq!(error_code(&outcome), Some(ErrorCode::InvalidArgument), "{outcome:?}");
    }
    assert_eq!(chain.meta().audit_count, before.audit_count);
    assert!(open_proposals(&chain.store).unwrap().is_empty());
}

#[test]
fn the_last_validator_cannot_be_voted_away() {
    let mut chain = Chain::new();
    for org_id in ["hospital-b", "authority"] {
        let (id, _) = propose(&mut chain, "hospital-a", Action::SetValidator { org: org(org_id), key: None });
        for voter in ["hospital-b", "authority"] {
            vote(&mut chain, &key(&format!("{voter}/admin")), id, true);
        }
        assert!(matches!(status(&chain, id), ProposalStatus::Executed { .. }));
    }
    let (_, outcome) = propose(&mut chain, "hospital-b", Action::Suspend(org("hospital-a")));
    assert_eq!(error_code(&outcome), Some(ErrorCode::InvalidArgument));
}

#[test]
fn parameters_voted_in_change_how_long_a_permit_lasts() {
    let mut chain = Chain::new();
    let parameters = ChainParameters { permit_ms: 60 * 60 * 1000, ..ChainParameters::default() };
    let (id, _) = propose(&mut chain, "hospital-a", Action::SetParameters(parameters.clone()));
    vote(&mut chain, &key("hospital-b/admin"), id, true);
    vote(&mut chain, &key("authority/admin"), id, true);
    assert_eq!(crate::governance::parameters(&chain.store).unwrap(), parameters);
}

#[test]
fn open_proposals_are_bounded_per_member() {
    let mut chain = Chain::new();
    for i in 0..PROPOSALS_OPEN_PER_ORG_MAX {
        let (_, outcome) = propose(&mut chain, "hospital-a", Action::Admit(newcomer(&format!("new-{i}"))));
        assert!(matches!(outcome, Outcome::Ok { .. }));
    }
    let (_, outcome) = propose(&mut chain, "hospital-a", Action::Admit(newcomer("one-too-many")));
    assert_eq!(error_code(&outcome), Some(ErrorCode::LimitExceeded));
}

/// A stand-in for the consensus rules: evidence is `epoch (8 bytes) || round (8) ||
/// culprit key (32) || b"ok"`; anything else does not verify. The node's real check is
/// tested in the node.
struct FakeCheck;

static FAKE: FakeCheck = FakeCheck;

impl EvidenceCheck for FakeCheck {
    fn epoch_of(&self, evidence: &[u8]) -> Result<Epoch, String> {
        let bytes: [u8; 8] = evidence.get(..8).and_then(|b| b.try_into().ok()).ok_or("too short")?;
        Ok(Epoch(u64::from_be_bytes(bytes)))
    }

    fn verify(&self, _: &panacea_primitives::ChainId, epoch: &EpochRecord, evidence: &[u8]) -> Result<Offence, String> {
        if evidence.len() != 50 || &evidence[48..] != b"ok" {
            return Err("signatures do not verify".into());
        }
        let key: [u8; 32] = evidence[16..48].try_into().map_err(|_| "key")?;
        let culprit = panacea_primitives::PublicKey::from_bytes(key).map_err(|e| e.to_string())?;
        if !epoch.validators.contains(&culprit) {
            return Err("not a validator of that epoch".into());
        }
        let round = u64::from_be_bytes(evidence[8..16].try_into().map_err(|_| "round")?);
        Ok(Offence { kind: OffenceKind::DoubleVote, epoch: epoch.epoch, round, culprit })
    }
}

fn evidence(epoch: u64, round: u64, culprit: &Keypair, tail: &[u8]) -> Vec<u8> {
    [&epoch.to_be_bytes()[..], &round.to_be_bytes(), &culprit.public().to_bytes(), tail].concat()
}

fn report(chain: &mut Chain, signer: &Keypair, evidence: Vec<u8>, check: bool) -> Outcome {
    let tx = chain.sign(signer, Call::Governance(GovernanceCall::ReportMisbehaviour { evidence }));
    let mut block =
        crate::BlockContext::new(crate::testing::chain_id(), chain.height.next(), chain.time.plus_millis(1_000));
    if check {
        block.evidence = EvidenceChecker::new(&FAKE);
    }
    let outcome = crate::execute_block(&chain.store, &block, &[tx]).unwrap();
    chain.store.apply(&outcome.writes);
    chain.height = block.height;
    chain.time = block.time;
    outcome.receipts.into_iter().next().unwrap().outcome
}

#[test]
fn misbehaviour_is_verified_recorded_once_against_the_member_and_citable() {
    let mut chain = Chain::new();
    let a = chain.admin("hospital-a");
    let culprit = key("hospital-b/validator");
    let before = chain.meta();
    // Evidence that does not verify, of an unknown epoch, or with no check: refused.
    for (bytes, check) in [
        (evidence(0, 7, &culprit, b"no"), true),
        (evidence(5, 7, &culprit, b"ok"), true),
        (evidence(0, 7, &key("stranger"), b"ok"), true),
        (vec![1, 2], true),
        (evidence(0, 7, &culprit, b"ok"), false),
        (vec![0; EVIDENCE_BYTES_MAX + 1], true),
    ] {
        let outcome = report(&mut chain, &a, bytes, check);
        assert_eq!(error_code(&outcome), Some(ErrorCode::InvalidArgument), "{outcome:?}");
    }
    assert_eq!(chain.meta().audit_count, before.audit_count);
    let outcome = report(&mut chain, &a, evidence(0, 7, &culprit, b"ok"), true);
    assert_eq!(kinds(&outcome), vec![AuditKind::MisbehaviourReported]);
    let records = misbehaviour_of(&chain.store, &org("hospital-b")).unwrap();
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].offence.round, 7);
    assert_eq!(records[0].reported_by, org("hospital-a"));
    let outcome = report(&mut chain, &key("authority/admin"), evidence(0, 7, &culprit, b"ok"), true);
    assert_eq!(error_code(&outcome), Some(ErrorCode::Conflict), "one record per offence");
    // A removal proposal cites it; an unknown citation is refused.
    let deadline = deadline(&chain);
    let propose_citing = |cites: Vec<EvidenceId>| {
        Call::Governance(GovernanceCall::Propose {
            action: Action::Remove(org("hospital-b")),
            deadline,
            rationale: None,
            cites,
        })
    };
    let unknown = EvidenceId(panacea_primitives::Hash::digest(b"nothing"));
    assert_eq!(error_code(&chain.submit(&a, propose_citing(vec![unknown])).outcome), Some(ErrorCode::NotFound));
    assert!(matches!(chain.submit(&a, propose_citing(vec![records[0].id])).outcome, Outcome::Ok { .. }));
}

#[test]
fn genesis_refuses_bad_rules_and_thresholds() {
    let mut genesis = crate::testing::genesis();
    genesis.governance.threshold = Threshold { numerator: 3, denominator: 3 };
    assert!(crate::testing::try_genesis(&genesis).is_err());
    let mut genesis = crate::testing::genesis();
    genesis.organisations[0].admin_threshold = 2;
    assert!(crate::testing::try_genesis(&genesis).is_err());
    let _: Option<OrgId> = None;
}

#[test]
fn threshold_is_strictly_more_than_the_fraction() {
    let t = Threshold::TWO_THIRDS;
    assert!(!t.reached(2, 3));
    assert!(t.reached(3, 3));
    assert!(!t.reached(4, 6));
    assert!(t.reached(5, 6));
    assert!(t.reached(3, 4));
    assert!(!t.reached(2, 4));
    assert!(t.reached(1, 1));
    assert!(!t.reached(0, 0));
}

#[test]
fn a_pending_validator_set_is_never_superseded() {
    // If a second decision could replace a pending set before it took effect, a committed
    // block attesting the first decision's state would prove a set that never took effect.
    let mut chain = Chain::new();
    let (first, _) = propose(&mut chain, "hospital-a", Action::SetValidator { org: org("authority"), key: None });
    let (second, _) = propose(&mut chain, "hospital-a", Action::Admit(newcomer("hospital-c")));
    let (third, _) = propose(&mut chain, "hospital-a", Action::SetParameters(ChainParameters::default()));
    for id in [first, second, third] {
        vote(&mut chain, &key("hospital-b/admin"), id, true);
    }
    // The authority's three approvals in one block: the first carries the change, the
    // second would change the set again and fails, the third changes no validator.
    let authority = key("authority/admin");
    let txs: Vec<_> = [first, second, third]
        .into_iter()
        .map(|proposal| chain.sign(&authority, Call::Governance(GovernanceCall::Vote { proposal, approve: true })))
        .collect();
    chain.block(&txs);
    assert!(matches!(status(&chain, first), ProposalStatus::Executed { .. }));
    assert!(
        matches!(status(&chain, second), ProposalStatus::Failed { ref reason, .. } if reason.contains("pending")),
        "{:?}",
        status(&chain, second)
    );
    assert!(matches!(status(&chain, third), ProposalStatus::Executed { .. }));
    let pending = pending_validators(&chain.store).unwrap().unwrap();
    assert_eq!(pending.epoch, Epoch(1), "the set says which epoch it starts");
    assert_eq!(pending.validators.len(), 2);
    assert_eq!(chain.block(&[]).epoch_change.unwrap().validators, pending.validators);
}
