//! Step-table tests of one replica: given these inputs, exactly these outputs, in this
//! order; and each kind of bad input gets its typed rejection.

use std::collections::VecDeque;
use std::sync::Arc;

use panacea_consensus::{
    Block, BlockRef, CertError, CommitCertificate, CommittedTip, Config, Evidence, Input, Message, Output, Payload,
    Proposal, QuorumCert, Rejection, Replica, Role, SafetyState, ValidatorSet, Vote, VoteData,
};
use panacea_primitives::{ChainId, Epoch, Hash, Height, Keypair, Round, ValidatorIndex};

/// A few replicas wired together by hand, delivering instantly and in order.
pub(crate) struct Net {
    pub(crate) keys: Vec<Keypair>,
    pub(crate) validators: ValidatorSet,
    pub(crate) genesis: BlockRef,
    pub(crate) replicas: Vec<Replica>,
    pub(crate) persisted: Vec<SafetyState>,
    pub(crate) stored: Vec<Vec<BlockRef>>,
    pub(crate) commits: Vec<Vec<BlockRef>>,
    /// The certificate of each replica's last commit.
    pub(crate) certificates: Vec<Option<CommitCertificate>>,
    pub(crate) pending: Vec<(usize, Vec<Output>)>,
}

pub(crate) fn v(i: u16) -> ValidatorIndex {
    ValidatorIndex(i)
}

impl Net {
    pub(crate) fn new(n: u16) -> Net {
        let genesis = Arc::new(Block::genesis(Epoch(0), Payload::opaque(b"genesis".to_vec())));
        Net::for_epoch(n, 1, Epoch(0), genesis)
    }

    /// `n` validators (keys from seeds `first_seed..`) running `epoch` from `anchor`.
    pub(crate) fn for_epoch(n: u16, first_seed: u8, epoch: Epoch, anchor: BlockRef) -> Net {
        let keys: Vec<Keypair> =
            (0..n).map(|i| Keypair::from_seed([u8::try_from(i).unwrap() + first_seed; 32])).collect();
        let validators =
            ValidatorSet::new(ChainId::new("test").unwrap(), epoch, keys.iter().map(Keypair::public).collect())
                .unwrap();
        let mut net = Net {
            validators,
            genesis: anchor,
            replicas: Vec::new(),
            persisted: Vec::new(),
            stored: vec![Vec::new(); usize::from(n)],
            commits: vec![Vec::new(); usize::from(n)],
            certificates: vec![None; usize::from(n)],
            pending: Vec::new(),
            keys,
        };
        for i in 0..usize::from(n) {
            let safety = SafetyState::new(epoch, net.genesis_qc());
            let mut replica = net.replica(i, safety.clone(), vec![]);
            let outputs = replica.start();
            net.replicas.push(replica);
            net.persisted.push(safety);
            net.pending.push((i, outputs));
        }
        net
    }

    pub(crate) fn genesis_qc(&self) -> QuorumCert {
        QuorumCert::anchor(self.validators.epoch(), self.genesis.id(), self.genesis.header.height)
    }

    /// Round-robin leaders: these tests step rounds by hand and name each round's leader
    /// (`leader_reputation.rs` tests the default election).
    pub(crate) fn config(&self) -> Config {
        let mut config = Config::for_epoch(self.validators.clone(), &self.genesis);
        config.leader_election = std::sync::Arc::new(panacea_consensus::RoundRobin);
        config
    }

    pub(crate) fn replica(&self, i: usize, safety: SafetyState, blocks: Vec<BlockRef>) -> Replica {
        let tip = CommittedTip { block: self.genesis.clone(), certificate: None };
        Replica::new(self.config(), Role::Validator(self.keys[i].clone()), safety, tip, blocks, Vec::new()).unwrap()
    }

    /// The leader of `round` builds its block; returns its proposal message.
    pub(crate) fn propose(&mut self, round: u64) -> Message {
        let leader = usize::try_from(round % self.keys.len() as u64).unwrap();
        let outputs = self.replicas[leader]
            .handle(Input::PayloadReady { round: Round(round), payload: Payload::opaque(vec![7; 1024]) });
        outputs
            .into_iter()
            .find_map(|o| match o {
                Output::Broadcast(m @ Message::Proposal(_)) => Some(m),
                _ => None,
            })
            .expect("the leader broadcasts a proposal")
    }

    pub(crate) fn deliver_to(&mut self, to: usize, from: ValidatorIndex, message: Message) -> Vec<Output> {
        self.replicas[to].handle(Input::Message { from, message })
    }

    /// Executes every pending output, delivering instantly, until nothing is left or
    /// `steps` outputs were executed. Payloads are built and found valid at once.
    pub(crate) fn pump(&mut self, steps: usize) {
        let mut queue: VecDeque<(usize, Output)> =
            self.pending.drain(..).flat_map(|(i, outs)| outs.into_iter().map(move |o| (i, o))).collect();
        let mut executed = 0;
        while let Some((i, output)) = queue.pop_front() {
            executed += 1;
            if executed > steps {
                break;
            }
            let me = self.replicas[i].index().unwrap();
            let produced: Vec<(usize, Output)> = match output {
                Output::PersistSafety(state) => {
                    self.persisted[i] = state;
                    Vec::new()
                }
                Output::PersistBlock(block) => {
                    self.stored[i].push(block);
                    Vec::new()
                }
                Output::Send { to, message } => {
                    let to = to.as_usize();
                    self.deliver_to(to, me, message).into_iter().map(|o| (to, o)).collect()
                }
                Output::Broadcast(message) => (0..self.replicas.len())
                    .filter(|j| *j != i)
                    .flat_map(|j| self.deliver_to(j, me, message.clone()).into_iter().map(move |o| (j, o)))
                    .collect(),
                Output::BuildPayload { round, height, .. } => {
                    let payload = Payload::opaque(format!("block {} at round {}", height.0, round.0).into_bytes());
                    self.replicas[i]
                        .handle(Input::PayloadReady { round, payload })
                        .into_iter()
                        .map(|o| (i, o))
                        .collect()
                }
                Output::CheckPayload { block } => self.replicas[i]
                    .handle(Input::PayloadChecked { block_id: block.id(), valid: true })
                    .into_iter()
                    .map(|o| (i, o))
                    .collect(),
                Output::Commit { blocks, certificate } => {
                    self.validators
                        .verify_commit(&certificate, self.genesis.id())
                        .expect("commit certificate verifies");
                    self.commits[i].extend(blocks);
                    self.certificates[i] = Some(certificate);
                    Vec::new()
                }
                Output::SetTimer { .. } | Output::FetchBlocks { .. } | Output::Evidence(_) => Vec::new(),
            };
            queue.extend(produced);
        }
    }
}

fn proposal_of(message: &Message) -> Proposal {
    match message {
        Message::Proposal(p) => p.clone(),
        other => panic!("not a proposal: {other:?}"),
    }
}

fn resign(net: &Net, author: usize, block: Block) -> Message {
    let signature = net.keys[author].sign(net.validators.proposal_domain(), block.id().as_bytes());
    Message::Proposal(Proposal { block: Arc::new(block), tc: None, signature })
}

#[test]
fn leader_persists_block_and_state_before_its_proposal_and_vote_leave() {
    let mut net = Net::new(4);
    let start = &net.pending[1].1;
    assert!(matches!(
        start.as_slice(),
        [Output::SetTimer { round: Round(1), .. }, Output::BuildPayload { round: Round(1), height: Height(1), .. }]
    ));
    let outputs =
        net.replicas[1].handle(Input::PayloadReady { round: Round(1), payload: Payload::opaque(vec![1; 10]) });
    match outputs.as_slice() {
        [
            Output::PersistBlock(block),
            Output::PersistSafety(state),
            Output::Broadcast(Message::Proposal(p)),
            Output::Send { to, message: Message::Vote(vote) },
        ] => {
            assert_eq!(block.id(), p.block.id());
            assert_eq!((state.last_proposed_round, state.last_voted_round), (Round(1), Round(1)));
            assert_eq!(*to, v(2), "votes go to the next leader");
            assert_eq!(vote.data.block_id, p.block.id());
        }
        other => panic!("unexpected outputs {other:?}"),
    }
}

#[test]
fn follower_checks_payload_then_persists_then_votes() {
    let mut net = Net::new(4);
    let proposal = net.propose(1);
    let outputs = net.deliver_to(3, v(1), proposal.clone());
    let block = match outputs.as_slice() {
        [Output::CheckPayload { block }] => block.clone(),
        other => panic!("unexpected outputs {other:?}"),
    };
    let outputs = net.replicas[3].handle(Input::PayloadChecked { block_id: block.id(), valid: true });
    match outputs.as_slice() {
        [
            Output::PersistBlock(stored),
            Output::PersistSafety(state),
            Output::Send { to, message: Message::Vote(vote) },
        ] => {
            assert_eq!(stored.id(), block.id());
            assert_eq!(state.last_voted_round, Round(1));
            assert_eq!(*to, v(2));
            assert_eq!(vote.voter, v(3));
        }
        other => panic!("unexpected outputs {other:?}"),
    }
    // The same proposal again changes nothing.
    assert!(net.deliver_to(3, v(1), proposal).is_empty());
}

#[test]
fn invalid_payload_gets_no_vote() {
    let mut net = Net::new(4);
    let proposal = net.propose(1);
    let id = proposal_of(&proposal).block.id();
    net.deliver_to(3, v(1), proposal);
    assert!(net.replicas[3].handle(Input::PayloadChecked { block_id: id, valid: false }).is_empty());
    assert_eq!(net.replicas[3].last_rejection(), Some(&Rejection::InvalidPayload));
}

/// Each malformed or forged proposal: (name, how to break it, expected rejection).
#[test]
fn bad_proposals_are_rejected_with_their_reason() {
    type Breaker = fn(&Net, Proposal) -> Message;
    let table: Vec<(&str, Breaker, Rejection)> = vec![
        (
            "flipped signature",
            |_, mut p| {
                p.signature.0[5] ^= 1;
                Message::Proposal(p)
            },
            Rejection::BadSignature,
        ),
        (
            "proposed by a validator that does not lead the round",
            |net, p| {
                resign(
                    net,
                    0,
                    Block {
                        header: panacea_consensus::BlockHeader { author: v(0), ..p.block.header.clone() },
                        payload: p.block.payload.clone(),
                    },
                )
            },
            Rejection::NotLeader,
        ),
        (
            "payload swapped after signing",
            |_, p| {
                let mut block = (*p.block).clone();
                block.payload = Payload::opaque(vec![9; 1024]);
                Message::Proposal(Proposal { block: Arc::new(block), ..p })
            },
            Rejection::Malformed("payload does not match its digest"),
        ),
        (
            "wrong height",
            |net, p| {
                let mut block = (*p.block).clone();
                block.header.height = Height(5);
                resign(net, 1, block)
            },
            Rejection::Malformed("height is not the parent's plus one"),
        ),
        (
            "another epoch",
            |net, p| {
                let mut block = (*p.block).clone();
                block.header.epoch = Epoch(3);
                resign(net, 1, block)
            },
            Rejection::WrongEpoch,
        ),
        (
            "far in the future, with nothing new to learn from",
            |net, p| {
                let mut block = (*p.block).clone();
                block.header.round = Round(401);
                resign(net, 1, block)
            },
            Rejection::TooFarAhead(Round(401)),
        ),
        (
            "round-0 certificate for a block that is not genesis",
            |net, p| {
                let mut block = (*p.block).clone();
                block.header.justify.data.block_id = Hash([1; 32]);
                resign(net, 1, block)
            },
            Rejection::BadCertificate(CertError::NotGenesis),
        ),
    ];
    for (name, breaker, expected) in table {
        let mut net = Net::new(4);
        let proposal = proposal_of(&net.propose(1));
        let message = breaker(&net, proposal);
        let outputs = net.deliver_to(3, v(1), message);
        assert!(
            outputs.iter().all(|o| !matches!(o, Output::CheckPayload { .. } | Output::Send { .. })),
            "{name}: {outputs:?}"
        );
        assert_eq!(net.replicas[3].last_rejection(), Some(&expected), "{name}");
    }
}

#[test]
fn duplicate_signer_in_a_certificate_is_rejected() {
    let mut net = Net::new(4);
    net.pump(10_000);
    // After some rounds, take a real proposal with a signed QC and duplicate a signer.
    let round = net.replicas[0].round().0;
    let leader = usize::try_from(round % 4).unwrap();
    let mut honest = Net::new(4);
    honest.pump(10_000);
    let _ = leader;
    let qc = net.replicas[0].high_qc().clone();
    assert!(qc.signatures.len() >= 3, "a signed QC exists");
    let mut forged = qc.clone();
    forged.signatures.insert(0, forged.signatures[0]);
    assert_eq!(net.validators.verify_qc(&forged, net.genesis.id()), Err(CertError::DuplicateSigner));
    let mut short = qc;
    short.signatures.truncate(2);
    assert_eq!(net.validators.verify_qc(&short, net.genesis.id()), Err(CertError::NoQuorum { have: 2, need: 3 }));
}

#[test]
fn double_proposal_is_evidence() {
    let mut net = Net::new(4);
    let first = proposal_of(&net.propose(1));
    let mut other = (*first.block).clone();
    other.payload = Payload::opaque(vec![8; 16]);
    other.header.payload_digest = other.payload.digest();
    other.header.payload_bytes = 16;
    let second = resign(&net, 1, other);
    net.deliver_to(3, v(1), Message::Proposal(first));
    let outputs = net.deliver_to(3, v(1), second);
    let evidence = outputs
        .iter()
        .find_map(|o| if let Output::Evidence(e) = o { Some(e.clone()) } else { None })
        .expect("evidence");
    assert!(matches!(evidence, Evidence::DoubleProposal { .. }));
    assert_eq!(evidence.culprit(), v(1));
    assert_eq!(evidence.verify(&net.validators), Ok(()));
    assert_eq!(net.replicas[3].last_rejection(), Some(&Rejection::Equivocation(v(1))));
}

#[test]
fn double_vote_is_evidence() {
    let mut net = Net::new(4);
    let sign = |net: &Net, block: u8| {
        let data = VoteData { round: Round(1), height: Height(1), block_id: Hash([block; 32]) };
        let signature = net.keys[0].sign(net.validators.vote_domain(), &data.signing_bytes());
        Message::Vote(Vote { epoch: Epoch(0), data, voter: v(0), signature })
    };
    let (a, b) = (sign(&net, 1), sign(&net, 2));
    assert!(net.deliver_to(2, v(0), a).is_empty());
    let outputs = net.deliver_to(2, v(0), b);
    match outputs.as_slice() {
        [Output::Evidence(e @ Evidence::DoubleVote { .. })] => assert_eq!(e.verify(&net.validators), Ok(())),
        other => panic!("unexpected outputs {other:?}"),
    }
}

#[test]
fn votes_for_other_leaders_and_far_rounds_are_dropped() {
    let mut net = Net::new(4);
    let vote_for = |net: &Net, round: u64| {
        let data = VoteData { round: Round(round), height: Height(1), block_id: Hash([3; 32]) };
        let signature = net.keys[0].sign(net.validators.vote_domain(), &data.signing_bytes());
        Message::Vote(Vote { epoch: Epoch(0), data, voter: v(0), signature })
    };
    // Replica 3 does not lead round 2, so votes of round 1 are not for it.
    net.deliver_to(3, v(0), vote_for(&net, 1));
    assert_eq!(net.replicas[3].last_rejection(), Some(&Rejection::NotLeader));
    // Far-future votes are dropped before their signature is even checked.
    for round in (1_000..1_100).step_by(4).map(|r| r + 1) {
        let message = vote_for(&net, round);
        net.deliver_to(2, v(0), message);
        assert!(matches!(net.replicas[2].last_rejection(), Some(Rejection::TooFarAhead(_))));
    }
}

#[test]
fn unknown_sender_is_rejected() {
    let mut net = Net::new(4);
    let proposal = net.propose(1);
    assert!(net.deliver_to(3, v(9), proposal).is_empty());
    assert_eq!(net.replicas[3].last_rejection(), Some(&Rejection::UnknownSender(v(9))));
}

#[test]
fn a_restarted_replica_never_votes_twice_in_a_round() {
    let mut net = Net::new(4);
    let first = net.propose(1);
    let id = proposal_of(&first).block.id();
    net.deliver_to(3, v(1), first.clone());
    let outputs = net.replicas[3].handle(Input::PayloadChecked { block_id: id, valid: true });
    let persisted = outputs
        .iter()
        .find_map(|o| if let Output::PersistSafety(s) = o { Some(s.clone()) } else { None })
        .expect("persisted before voting");
    // Crash: all volatile state is lost; restart from what was persisted.
    let mut restarted = net.replica(3, persisted.clone(), vec![]);
    restarted.start();
    // The leader equivocates; the restarted replica sees the other block first.
    let mut other = (*proposal_of(&first).block).clone();
    other.payload = Payload::opaque(vec![4; 4]);
    other.header.payload_digest = other.payload.digest();
    other.header.payload_bytes = 4;
    let other_id = other.id();
    let second = resign(&net, 1, other);
    let outputs = restarted.handle(Input::Message { from: v(1), message: second });
    assert!(outputs.iter().all(|o| !matches!(o, Output::CheckPayload { .. })), "{outputs:?}");
    assert!(matches!(restarted.last_rejection(), Some(Rejection::Unsafe(_))));
    let outputs = restarted.handle(Input::PayloadChecked { block_id: other_id, valid: true });
    assert!(outputs.iter().all(|o| !matches!(o, Output::Send { .. })));
    assert_eq!(restarted.safety().last_voted_round, Round(1));
}

#[test]
fn instant_network_commits_one_chain() {
    let mut net = Net::new(4);
    net.pump(20_000);
    let heights: Vec<usize> = net.commits.iter().map(Vec::len).collect();
    assert!(heights.iter().all(|h| *h >= 5), "every replica commits: {heights:?}");
    let shortest = *heights.iter().min().unwrap();
    for i in 1..4 {
        for h in 0..shortest {
            assert_eq!(net.commits[0][h].id(), net.commits[i][h].id(), "replicas 0 and {i} differ at {h}");
            assert_eq!(net.commits[i][h].header.height, Height(h as u64 + 1));
        }
    }
}

#[test]
fn silent_leader_is_replaced_by_a_timeout_certificate() {
    let mut net = Net::new(4);
    // Round 1's leader (1) never proposes. Everyone else's timer fires.
    net.pending.clear();
    let mut timeouts = Vec::new();
    for i in [0usize, 2, 3] {
        for output in net.replicas[i].handle(Input::TimerFired { round: Round(1) }) {
            match output {
                Output::Broadcast(Message::Timeout(t)) => timeouts.push((i, t)),
                Output::PersistSafety(s) => assert_eq!(s.last_voted_round, Round(1)),
                _ => {}
            }
        }
    }
    assert_eq!(timeouts.len(), 3);
    // Replica 2, leader of round 2, collects the others' timeouts.
    let mut build = None;
    for (from, timeout) in timeouts.into_iter().filter(|(i, _)| *i != 2) {
        for output in net.deliver_to(2, v(u16::try_from(from).unwrap()), Message::Timeout(timeout)) {
            if let Output::BuildPayload { round, .. } = output {
                build = Some(round);
            }
        }
    }
    assert_eq!(build, Some(Round(2)), "a TC moved the leader of round 2 to propose");
    assert_eq!(net.replicas[2].round(), Round(2));
    let proposal = net.propose(2);
    let tc = proposal_of(&proposal).tc.expect("the proposal carries the TC");
    assert_eq!(tc.round, Round(1));
    assert_eq!(net.validators.verify_tc(&tc, net.genesis.id()), Ok(()));
    // A replica still in round 1 follows the TC and can vote in round 2.
    let outputs = net.deliver_to(3, v(2), proposal);
    assert!(outputs.iter().any(|o| matches!(o, Output::CheckPayload { .. })), "{outputs:?}");
}

#[test]
fn a_new_epoch_continues_the_chain_with_a_new_validator_set() {
    let mut old = Net::new(4);
    old.pump(20_000);
    let anchor = old.commits[0].last().cloned().expect("epoch 0 committed blocks");
    let anchor_height = anchor.header.height;
    // Epoch 1: one member left, two joined (keys from other seeds).
    let mut new = Net::for_epoch(5, 3, Epoch(1), anchor.clone());
    assert_eq!(new.replicas[0].round(), Round(1));
    new.pump(20_000);
    let chain = &new.commits[0];
    let why: Vec<_> = new.replicas.iter().map(|r| (r.round(), r.stats(), r.last_rejection().cloned())).collect();
    assert!(chain.len() >= 3, "epoch 1 commits: {why:?}");
    assert_eq!(chain[0].header.justify.block_id(), anchor.id(), "epoch 1 extends the anchor");
    assert_eq!(chain[0].header.height, anchor_height.next(), "heights continue across epochs");
    assert!(chain.iter().all(|b| b.header.epoch == Epoch(1)));
    // A vote signed for the old epoch is refused by the new set.
    let data = VoteData { round: new.replicas[2].round(), height: Height(1), block_id: Hash([1; 32]) };
    let signature = old.keys[0].sign(old.validators.vote_domain(), &data.signing_bytes());
    let leader = usize::try_from((data.round.0 + 1) % 5).unwrap();
    new.deliver_to(leader, v(0), Message::Vote(Vote { epoch: Epoch(0), data, voter: v(0), signature }));
    assert_eq!(new.replicas[leader].last_rejection(), Some(&Rejection::WrongEpoch));
}

/// A host stores each committed block with the certificate that proved it final, and
/// hands both to the next epoch's replica as its committed tip. That certificate belongs
/// to the previous epoch: it must not become the new epoch's high QC (its round means
/// nothing in the new epoch, and no member of the new set would accept it).
#[test]
fn a_new_epoch_ignores_the_previous_epochs_commit_certificate() {
    let mut old = Net::new(4);
    old.pump(20_000);
    let anchor = old.commits[0].last().cloned().expect("epoch 0 committed blocks");
    let certificate = old.certificates[0].clone().expect("epoch 0 commit certificate");
    assert!(certificate.child_qc.round() > Round::ZERO);
    let mut new = Net::for_epoch(4, 3, Epoch(1), anchor.clone());
    new.pending.clear();
    for i in 0..4 {
        let safety = SafetyState::new(Epoch(1), new.genesis_qc());
        let tip = CommittedTip { block: anchor.clone(), certificate: Some(certificate.clone()) };
        let mut replica =
            Replica::new(new.config(), Role::Validator(new.keys[i].clone()), safety, tip, vec![], vec![]).unwrap();
        assert_eq!(replica.round(), Round(1), "rounds restart at 1 in a new epoch");
        assert_eq!(replica.high_qc().epoch, Epoch(1), "the high QC is the new epoch's anchor");
        let outputs = replica.start();
        new.replicas[i] = replica;
        new.pending.push((i, outputs));
    }
    new.pump(20_000);
    assert!(new.commits[0].len() >= 3, "epoch 1 commits from a tip that carries its certificate");
}

/// A QC for `block` signed by validators 0, 1 and 2 of `net` (a quorum of four).
fn certify(net: &Net, block: &Block) -> QuorumCert {
    let data = VoteData { round: block.header.round, height: block.header.height, block_id: block.id() };
    let signatures = (0..3)
        .map(|i| (v(u16::try_from(i).unwrap()), net.keys[i].sign(net.validators.vote_domain(), &data.signing_bytes())))
        .collect();
    QuorumCert { epoch: net.validators.epoch(), data, signatures }
}

/// At the end of an epoch nobody certifies anything higher: the QC that made its last
/// block final may be the only one a lagging replica will ever get, and the replica may
/// already hold a higher QC (of an abandoned block) that forms no 2-chain. It must still
/// commit from the lower one rather than wait for a QC that never comes.
#[test]
fn a_lower_qc_that_completes_a_two_chain_still_commits() {
    let mut net = Net::new(4);
    let payload = |tag: u8| Payload::opaque(vec![tag; 8]);
    let b1 = Block::new(Epoch(0), Round(1), net.genesis_qc(), payload(1), v(1));
    let qc1 = certify(&net, &b1);
    // B2 (round 2) extends B1 (round 1): QC(B2) makes B1 final.
    let b2 = Block::new(Epoch(0), Round(2), qc1.clone(), payload(2), v(2));
    let qc2 = certify(&net, &b2);
    // B3 (round 4) also extends B1: its QC is higher but forms no 2-chain.
    let b3 = Block::new(Epoch(0), Round(4), qc1, payload(3), v(0));
    let qc3 = certify(&net, &b3);
    let sync = |qc: QuorumCert| Message::Sync(panacea_consensus::SyncInfo { high_qc: qc, high_tc: None });
    net.deliver_to(0, v(3), sync(qc3));
    let outputs = net.replicas[0].handle(Input::BlocksFetched { blocks: vec![b3.clone(), b1.clone()] });
    assert!(!outputs.iter().any(|o| matches!(o, Output::Commit { .. })), "{outputs:?}");
    assert_eq!(net.replicas[0].high_qc().round(), Round(4));
    // The QC that ended the epoch, lower than the replica's own.
    let outputs = net.deliver_to(0, v(3), sync(qc2));
    assert!(
        outputs.iter().any(|o| matches!(o, Output::FetchBlocks { request, .. } if request.block_id == b2.id())),
        "the replica fetches the block the lower QC certifies: {outputs:?}"
    );
    let outputs = net.replicas[0].handle(Input::BlocksFetched { blocks: vec![b2] });
    let committed: Vec<Hash> = outputs
        .iter()
        .filter_map(|o| match o {
            Output::Commit { blocks, .. } => Some(blocks.iter().map(|b| b.id())),
            _ => None,
        })
        .flatten()
        .collect();
    assert_eq!(committed, vec![b1.id()], "{outputs:?}");
    assert_eq!(net.replicas[0].high_qc().round(), Round(4), "the high QC stays the highest");
}

/// A replica restarted with a high QC whose 2-chain it had not yet committed (it was
/// still fetching the blocks when it crashed) commits when that same QC comes back in a
/// Sync: at the end of an epoch nobody will send it a higher one.
#[test]
fn a_restarted_replica_commits_from_its_own_high_qc_when_it_comes_back() {
    let net = Net::new(4);
    let payload = |tag: u8| Payload::opaque(vec![tag; 8]);
    let b1 = Block::new(Epoch(0), Round(1), net.genesis_qc(), payload(1), v(1));
    let qc1 = certify(&net, &b1);
    let b2 = Block::new(Epoch(0), Round(2), qc1, payload(2), v(2));
    let qc2 = certify(&net, &b2);
    let mut safety = SafetyState::new(Epoch(0), net.genesis_qc());
    safety.high_qc = qc2.clone();
    let mut replica = net.replica(0, safety, vec![]);
    assert_eq!(replica.high_qc(), &qc2);
    replica.start();
    let sync = Message::Sync(panacea_consensus::SyncInfo { high_qc: qc2, high_tc: None });
    let outputs = replica.handle(Input::Message { from: v(3), message: sync });
    assert!(
        outputs.iter().any(|o| matches!(o, Output::FetchBlocks { request, .. } if request.block_id == b2.id())),
        "{outputs:?}"
    );
    let outputs = replica.handle(Input::BlocksFetched { blocks: vec![b2, b1.clone()] });
    assert!(
        outputs
            .iter()
            .any(|o| matches!(o, Output::Commit { blocks, .. } if blocks.len() == 1 && blocks[0].id() == b1.id())),
        "{outputs:?}"
    );
}

#[test]
fn a_reconnected_peer_gets_our_certificates_and_our_timeout_of_the_round() {
    let mut net = Net::new(4);
    net.pending.clear();
    // Before giving up on round 1: only the certificates.
    let outputs = net.replicas[0].handle(Input::PeerConnected { validator: v(2) });
    assert!(
        matches!(outputs.as_slice(), [Output::Send { to, message: Message::Sync(_) }] if *to == v(2)),
        "{outputs:?}"
    );
    // Not to itself, nor to an index outside the set.
    assert!(net.replicas[0].handle(Input::PeerConnected { validator: v(0) }).is_empty());
    assert!(net.replicas[0].handle(Input::PeerConnected { validator: v(9) }).is_empty());
    // After: the same signed timeout it broadcast, which the peer counts once.
    let mut broadcast = None;
    for output in net.replicas[0].handle(Input::TimerFired { round: Round(1) }) {
        if let Output::Broadcast(Message::Timeout(t)) = output {
            broadcast = Some(t);
        }
    }
    let broadcast = broadcast.expect("replica 0 timed out round 1");
    let outputs = net.replicas[0].handle(Input::PeerConnected { validator: v(2) });
    let resent: Vec<_> = outputs
        .iter()
        .filter_map(|o| match o {
            Output::Send { to, message: Message::Timeout(t) } if *to == v(2) => Some(t.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(resent, vec![broadcast.clone()], "{outputs:?}");
    assert!(
        outputs.iter().all(|o| !matches!(o, Output::PersistSafety(_) | Output::Broadcast(_))),
        "nothing new signed"
    );
    net.deliver_to(2, v(0), Message::Timeout(broadcast.clone()));
    net.deliver_to(2, v(0), Message::Timeout(broadcast));
    assert_eq!(net.replicas[2].round(), Round(1), "one timeout, counted once, moves nobody");
}
