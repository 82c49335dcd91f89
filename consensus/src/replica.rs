//! One replica's consensus: `handle(Input) -> Vec<Output>`, with no IO, clock or
//! randomness of its own.
//!
//! The protocol is Jolteon (DiemBFT v4): a chained, linear happy path with 2-chain
//! commit and a quadratic view change by timeout certificates.
//!
//! - Round `r` has one leader. It proposes a block that extends its highest QC and
//!   carries that QC (and, if round `r - 1` ended by timeout, the TC that ended it).
//! - Replicas that find the block safe (see [`crate::safety`]) and its payload valid
//!   send their vote to the leader of `r + 1`, which forms the QC of `r` from `2f + 1`
//!   votes and proposes on it.
//! - A block `B` is final once a QC certifies a block `B'` with `B'.round == B.round + 1`
//!   whose own QC certifies `B` (a 2-chain). `B` and every ancestor not yet final commit.
//! - A replica whose round timer fires broadcasts a timeout carrying its highest QC;
//!   `2f + 1` timeouts form a TC that moves everyone to the next round. Timers back off
//!   exponentially from the third consecutive failed round, and reset on the first QC.

use std::collections::BTreeMap;
use std::sync::Arc;

use panacea_primitives::{Hash, Height, Keypair, Round, Signature, ValidatorIndex};

use crate::block_tree::{BlockTree, CommittedTip, PathError};
use crate::event::{Input, Output};
use crate::evidence::Evidence;
use crate::leader::{History, LeaderElection, Reputation};
use crate::messages::{Message, Proposal, SyncInfo, Timeout, Vote};
use crate::safety::{SafetyState, SafetyViolation};
use crate::types::{Block, BlockHeader, BlockRef, CommitCertificate, Payload, QuorumCert, TimeoutCert, VoteData};
use crate::validators::{CertError, ValidatorSet};
use crate::vote_keeper::{VoteKeeper, VoteOutcome};

mod fetching;

/// How a replica is tuned. Every field has a limit's name and a unit where it has one.
#[derive(Debug, Clone)]
pub struct Config {
    /// The validators of the epoch, which also fixes the chain id and signing domains.
    pub validators: ValidatorSet,
    /// Id of the block this epoch starts from (the chain's genesis block in epoch 0);
    /// its round-0 QC needs no signatures.
    pub genesis_id: Hash,
    /// Height of that block (0 for the chain's genesis).
    pub genesis_height: Height,
    /// First round timeout.
    pub round_timeout_ms: u64,
    /// Ceiling of the exponential back-off.
    pub round_timeout_max_ms: u64,
    /// Votes, timeouts and proposals more than this many rounds ahead are dropped
    /// (their certificates are still used to catch up).
    pub rounds_ahead_max: u64,
    /// Largest payload accepted in a block.
    pub payload_bytes_max: usize,
    /// Most uncommitted blocks held.
    pub blocks_max: usize,
    /// Most bytes of uncommitted blocks held.
    pub blocks_bytes_max: usize,
    /// Most blocks asked for in one fetch.
    pub fetch_blocks_max: u32,
    /// Who leads each round: by default [`Reputation`], among the validators the
    /// committed chain shows active.
    pub leader_election: Arc<dyn LeaderElection>,
}

impl Config {
    /// Defaults sized for a consortium on a WAN: 1 s first timeout, up to 30 s.
    pub fn new(validators: ValidatorSet, genesis_id: Hash) -> Config {
        Config {
            validators,
            genesis_id,
            genesis_height: Height::ZERO,
            round_timeout_ms: 1_000,
            round_timeout_max_ms: 30_000,
            rounds_ahead_max: 100,
            payload_bytes_max: 16 * 1024 * 1024,
            blocks_max: 1_024,
            blocks_bytes_max: 512 * 1024 * 1024,
            fetch_blocks_max: 64,
            leader_election: Arc::new(Reputation::default()),
        }
    }
}

impl Config {
    /// The configuration of a later epoch: `validators` of the new epoch, anchored at
    /// `anchor`, the last committed block of the previous epoch.
    ///
    /// Epoch change is deliberately simple: when the host commits the block that ends an
    /// epoch (its payload says so; consensus does not look), it stops the old replica and
    /// starts a new one with this configuration, `SafetyState::new(epoch,
    /// QuorumCert::anchor(epoch, anchor.id(), anchor.header.height))` and the anchor as
    /// committed tip. Rounds restart at 1; every message and certificate carries its epoch,
    /// so nothing signed in one epoch counts in another.
    pub fn for_epoch(validators: ValidatorSet, anchor: &Block) -> Config {
        let mut config = Config::new(validators, anchor.id());
        config.genesis_height = anchor.header.height;
        config
    }
}

/// Most block ids being fetched at once.
const WANTED_MAX: usize = 16;
/// Rounds after which an unanswered fetch is sent again, to the next validator.
const FETCH_RETRY_ROUNDS: u64 = 2;
/// Attempts after which a fetch is dropped (it is asked again if still needed).
const FETCH_ATTEMPTS_MAX: u32 = 32;

/// A block being fetched.
#[derive(Debug, Clone, Copy)]
struct Want {
    /// The validator asked last.
    from: ValidatorIndex,
    /// Requests sent so far.
    attempts: u32,
    /// The round of the last request.
    requested: Round,
}

/// Why an input was not acted on. Counted in [`Stats`]; Byzantine input lands here,
/// never in a panic.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    /// For another epoch.
    #[error("message of another epoch")]
    WrongEpoch,
    /// The sender or signer is not a validator.
    #[error("sender {0} is not a validator")]
    UnknownSender(ValidatorIndex),
    /// A proposal by someone who does not lead its round, or a vote sent to a replica
    /// that does not lead the next round.
    #[error("not the leader of the round")]
    NotLeader,
    /// For a round or height already passed.
    #[error("stale round {0}")]
    Stale(Round),
    /// Too far ahead of this replica's round to keep.
    #[error("round {0} is too far ahead")]
    TooFarAhead(Round),
    /// Structurally invalid.
    #[error("malformed: {0}")]
    Malformed(&'static str),
    /// A signature that does not verify.
    #[error("invalid signature")]
    BadSignature,
    /// A certificate that does not verify.
    #[error("invalid certificate: {0}")]
    BadCertificate(CertError),
    /// A second, conflicting message by the same signer for one round (evidence emitted).
    #[error("equivocation by {0}")]
    Equivocation(ValidatorIndex),
    /// The safety rules forbid acting.
    #[error("unsafe: {0}")]
    Unsafe(SafetyViolation),
    /// The host found the payload invalid.
    #[error("invalid payload")]
    InvalidPayload,
    /// Payloads and blocks this replica did not ask for.
    #[error("unexpected {0}")]
    Unexpected(&'static str),
    /// A chain that conflicts with a committed block. With at most f Byzantine
    /// validators this cannot happen; seeing it means the fault assumption is broken.
    #[error("a certified chain conflicts with the committed chain")]
    ConflictsWithCommitted,
}

impl From<CertError> for Rejection {
    fn from(e: CertError) -> Rejection {
        Rejection::BadCertificate(e)
    }
}

impl From<SafetyViolation> for Rejection {
    fn from(e: SafetyViolation) -> Rejection {
        Rejection::Unsafe(e)
    }
}

/// Counters for metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Inputs rejected.
    pub rejected: u64,
    /// Blocks committed.
    pub committed_blocks: u64,
    /// Timeouts this replica signed.
    pub timeouts: u64,
    /// Pieces of evidence emitted.
    pub evidence: u64,
    /// Votes this replica signed.
    pub votes: u64,
    /// Blocks this replica proposed.
    pub proposals: u64,
}

/// Whether the replica votes.
#[derive(Debug, Clone)]
#[allow(clippy::large_enum_variant, reason = "built once per replica, never stored in bulk")]
pub enum Role {
    /// A validator holding the key of one member of the set.
    Validator(Keypair),
    /// A non-voting replica that follows and verifies the chain (for example a regional
    /// health authority's node).
    Observer,
}

/// The replica cannot start.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StartError {
    /// The key is not in the validator set.
    #[error("this key is not a validator of epoch {0}")]
    NotAValidator(panacea_primitives::Epoch),
    /// Safety state of another epoch.
    #[error("persisted safety state is for epoch {got}, validators are of epoch {expected}")]
    EpochMismatch {
        /// Persisted epoch.
        got: panacea_primitives::Epoch,
        /// The set's epoch.
        expected: panacea_primitives::Epoch,
    },
}

/// A replica of the consensus: feed it inputs, execute its outputs in order.
#[derive(Debug)]
pub struct Replica {
    config: Config,
    me: Option<(ValidatorIndex, Keypair)>,
    safety: SafetyState,
    round: Round,
    high_qc: QuorumCert,
    /// The newest TC; it justifies proposals of the round after it.
    high_tc: Option<TimeoutCert>,
    consecutive_timeouts: u32,
    tree: BlockTree,
    keeper: VoteKeeper,
    /// First proposal seen per round, to detect equivocation. Pruned with the rounds.
    proposals_seen: BTreeMap<Round, (BlockHeader, Signature)>,
    /// The justification fixed when a payload was asked for.
    building: Option<(Round, QuorumCert)>,
    /// The block of this round waiting for the host's payload check.
    awaiting_check: Option<(Hash, Option<TimeoutCert>)>,
    /// This round's proposal, waiting for its parent to be fetched.
    pending_proposal: Option<Proposal>,
    /// The highest QC whose commit waits for fetched blocks.
    pending_commit: Option<QuorumCert>,
    /// This round's timeout, repeated while the round lasts.
    my_timeout: Option<Timeout>,
    /// Blocks being fetched: id -> (peer asked, attempts).
    wanted: BTreeMap<Hash, Want>,
    /// Sender of the input being handled: the first peer to ask for blocks it refers to.
    sender: Option<ValidatorIndex>,
    /// The epoch's last committed blocks, which leader election reads.
    history: History,
    stats: Stats,
    last_rejection: Option<Rejection>,
}

impl Replica {
    /// A replica resuming from `safety` (persisted before every vote), `tip` (the last
    /// committed block and its certificate), `blocks` (the uncommitted blocks the host
    /// stored on `Output::PersistBlock`) and `history`: the headers of the last committed
    /// blocks, oldest first, ending at the tip, as many as
    /// [`LeaderElection::history_blocks`] asks for (blocks of other epochs are ignored).
    /// Leaders are chosen from that history, so a host that hands over less than it has
    /// makes its replica disagree on leaders until it has committed that many blocks.
    /// Call [`Replica::start`] next.
    pub fn new(
        config: Config,
        role: Role,
        safety: SafetyState,
        tip: CommittedTip,
        blocks: Vec<BlockRef>,
        history: Vec<BlockHeader>,
    ) -> Result<Replica, StartError> {
        let epoch = config.validators.epoch();
        if safety.epoch != epoch {
            return Err(StartError::EpochMismatch { got: safety.epoch, expected: epoch });
        }
        let me = match role {
            Role::Validator(key) => {
                let index = config.validators.index_of(&key.public()).ok_or(StartError::NotAValidator(epoch))?;
                Some((index, key))
            }
            Role::Observer => None,
        };
        let mut high_qc = safety.high_qc.clone();
        // The tip of a new epoch is the anchor, whose certificate (if the host kept it)
        // is of the previous epoch: its QC means nothing here.
        if let Some(cert) = &tip.certificate
            && cert.child_qc.epoch == epoch
            && cert.child_qc.round() > high_qc.round()
        {
            high_qc = cert.child_qc.clone();
        }
        let high_tc = safety.high_tc.clone();
        let tc_round = high_tc.as_ref().map_or(Round::ZERO, |tc| tc.round);
        let round = high_qc.round().max(tc_round).next();
        let mut recent = History::new(epoch, config.leader_election.history_blocks(config.validators.len()));
        for header in history.iter().chain([&tip.block.header]) {
            recent.record(header);
        }
        let mut tree = BlockTree::new(tip, epoch, config.blocks_max, config.blocks_bytes_max);
        for block in blocks {
            tree.insert(block.id(), block, None);
        }
        Ok(Replica {
            me,
            safety,
            round,
            high_qc,
            high_tc,
            consecutive_timeouts: 0,
            tree,
            keeper: VoteKeeper::default(),
            proposals_seen: BTreeMap::new(),
            building: None,
            awaiting_check: None,
            pending_proposal: None,
            pending_commit: None,
            my_timeout: None,
            wanted: BTreeMap::new(),
            sender: None,
            history: recent,
            stats: Stats::default(),
            last_rejection: None,
            config,
        })
    }

    /// Arms the first timer and, if this replica leads the first round, asks for a payload.
    pub fn start(&mut self) -> Vec<Output> {
        let mut out = Vec::new();
        self.begin_round(&mut out);
        out
    }

    /// Handles one input; the host executes the returned outputs in order.
    pub fn handle(&mut self, input: Input) -> Vec<Output> {
        let mut out = Vec::new();
        let result = match input {
            Input::Message { from, message } => {
                self.sender = Some(from);
                let result = self.on_message(from, message, &mut out);
                self.sender = None;
                result
            }
            Input::TimerFired { round } => {
                self.on_timer(round, &mut out);
                Ok(())
            }
            Input::PayloadReady { round, payload } => self.on_payload_ready(round, payload, &mut out),
            Input::PayloadChecked { block_id, valid } => self.on_payload_checked(block_id, valid, &mut out),
            Input::BlocksFetched { blocks } => self.on_blocks_fetched(blocks, &mut out),
            Input::PeerConnected { validator } => {
                self.on_peer_connected(validator, &mut out);
                Ok(())
            }
        };
        if let Err(rejection) = result {
            self.stats.rejected += 1;
            self.last_rejection = Some(rejection);
        }
        out
    }

    /// The current round.
    pub fn round(&self) -> Round {
        self.round
    }

    /// The highest QC known.
    pub fn high_qc(&self) -> &QuorumCert {
        &self.high_qc
    }

    /// The last committed block and its certificate.
    pub fn committed(&self) -> &CommittedTip {
        self.tree.committed()
    }

    /// The block `id`, if this replica holds it uncommitted (or it is the committed tip).
    pub fn block(&self, id: &Hash) -> Option<BlockRef> {
        self.tree.get(id).cloned()
    }

    /// The safety state (also emitted in every `PersistSafety`).
    pub fn safety(&self) -> &SafetyState {
        &self.safety
    }

    /// Counters.
    pub fn stats(&self) -> Stats {
        self.stats
    }

    /// Why the last rejected input was rejected.
    pub fn last_rejection(&self) -> Option<&Rejection> {
        self.last_rejection.as_ref()
    }

    /// This replica's index, if it is a validator.
    pub fn index(&self) -> Option<ValidatorIndex> {
        self.me.as_ref().map(|(index, _)| *index)
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Number of uncommitted blocks held.
    pub fn pending_blocks(&self) -> usize {
        self.tree.len()
    }

    fn validators(&self) -> &ValidatorSet {
        &self.config.validators
    }

    fn leader(&self, round: Round) -> ValidatorIndex {
        self.config.leader_election.leader(round, self.config.validators.len(), &self.history)
    }

    fn is_me(&self, index: ValidatorIndex) -> bool {
        self.index() == Some(index)
    }

    /// The round timer. Back-off starts at the third consecutive timeout: one crashed
    /// leader always costs two (the round before it, whose votes go to it, and its own),
    /// and doubling the second would only make every crashed leader cost more.
    fn timeout_ms(&self) -> u64 {
        let factor = 1u64 << self.consecutive_timeouts.saturating_sub(1).min(20);
        self.config.round_timeout_ms.saturating_mul(factor).min(self.config.round_timeout_max_ms)
    }

    fn window_end(&self) -> Round {
        Round(self.round.0.saturating_add(self.config.rounds_ahead_max))
    }

    // ---------------------------------------------------------------- messages

    fn on_message(&mut self, from: ValidatorIndex, message: Message, out: &mut Vec<Output>) -> Result<(), Rejection> {
        if self.validators().key(from).is_none() {
            return Err(Rejection::UnknownSender(from));
        }
        match message {
            Message::Proposal(proposal) => self.on_proposal(from, proposal, out),
            Message::Vote(vote) => self.on_vote(vote, out),
            Message::Timeout(timeout) => self.on_timeout(from, timeout, out),
            Message::Sync(sync) => self.on_sync(sync, out),
        }
    }

    fn on_proposal(
        &mut self,
        from: ValidatorIndex,
        proposal: Proposal,
        out: &mut Vec<Output>,
    ) -> Result<(), Rejection> {
        let header = &proposal.block.header;
        let round = header.round;
        if header.epoch != self.validators().epoch() {
            return Err(Rejection::WrongEpoch);
        }
        if round <= self.tree.committed_round() {
            return Err(Rejection::Stale(round));
        }
        if header.author != self.leader(round) {
            // Leaders follow the committed chain, which this replica may trail: the
            // proposal's certificates may bring what it lacks, after which its author may
            // lead the round after all.
            self.take_certificates(&proposal, out)?;
            if header.author != self.leader(round) {
                return Err(Rejection::NotLeader);
            }
        }
        check_header_shape(header, &proposal.block.payload, self.config.payload_bytes_max)?;
        if let Some(tc) = &proposal.tc
            && tc.round.next() != round
        {
            return Err(Rejection::Malformed("TC is not of the previous round"));
        }
        // Far ahead of us, a proposal is useful only for the certificates it carries.
        let advances = header.justify.round() > self.high_qc.round()
            || proposal.tc.as_ref().is_some_and(|tc| tc.round >= self.round);
        if round > self.window_end() && !advances {
            return Err(Rejection::TooFarAhead(round));
        }
        let id = header.id();
        if let Some((seen, _)) = self.proposals_seen.get(&round)
            && seen.id() == id
        {
            return Ok(()); // A duplicate: nothing new.
        }
        self.validators()
            .verify_signature(header.author, self.validators().proposal_domain(), id.as_bytes(), &proposal.signature)
            .map_err(|_| Rejection::BadSignature)?;
        if proposal.block.payload.digest() != header.payload_digest {
            return Err(Rejection::Malformed("payload does not match its digest"));
        }
        // Only the same author's second block is equivocation. A block of another author
        // means this replica's view of the round's leader changed as it committed blocks
        // (leaders follow the committed chain): the newer view wins, and the safety rules
        // still allow one vote per round.
        if let Some((seen, seen_signature)) = self.proposals_seen.get(&round)
            && seen.author == header.author
        {
            let evidence = Evidence::DoubleProposal {
                first: (seen.clone(), *seen_signature),
                second: (header.clone(), proposal.signature),
            };
            self.stats.evidence += 1;
            out.push(Output::Evidence(evidence));
            return Err(Rejection::Equivocation(header.author));
        }
        self.verify_qc(&header.justify)?;
        if let Some(tc) = &proposal.tc {
            self.validators().verify_tc(tc, self.config.genesis_id)?;
        }
        if round <= self.window_end() {
            self.proposals_seen.insert(round, (header.clone(), proposal.signature));
        }
        self.process_qc(header.justify.clone(), out);
        if let Some(tc) = &proposal.tc {
            self.process_tc(tc.clone(), out);
        }
        let keep = Some(self.high_qc.block_id());
        self.tree.insert(id, proposal.block.clone(), keep);
        if round != self.round {
            return Ok(()); // Kept as a possible ancestor; not ours to vote on now.
        }
        let parent = header.parent();
        if !self.tree.contains(&parent) {
            self.fetch(parent, from, out);
            self.pending_proposal = Some(proposal);
            return Ok(());
        }
        self.consider_vote(proposal.block, proposal.tc, out)
    }

    /// Takes in the certificates of a proposal from a validator this replica does not see
    /// as the round's leader, if they move it forward; they are checked on their own.
    fn take_certificates(&mut self, proposal: &Proposal, out: &mut Vec<Output>) -> Result<(), Rejection> {
        let header = &proposal.block.header;
        if self.validators().key(header.author).is_none() {
            return Err(Rejection::UnknownSender(header.author));
        }
        let tc = proposal.tc.as_ref().filter(|tc| tc.round.next() == header.round && tc.round >= self.round);
        let qc_advances = header.justify.round() > self.high_qc.round() || self.may_commit(&header.justify);
        if !qc_advances && tc.is_none() {
            return Err(Rejection::NotLeader);
        }
        if qc_advances {
            self.verify_qc(&header.justify)?;
        }
        if let Some(tc) = tc {
            self.validators().verify_tc(tc, self.config.genesis_id)?;
        }
        if qc_advances {
            self.process_qc(header.justify.clone(), out);
        }
        if let Some(tc) = tc {
            self.process_tc(tc.clone(), out);
        }
        Ok(())
    }

    /// Asks the host to check a safe block's payload; the vote follows its answer.
    fn consider_vote(
        &mut self,
        block: BlockRef,
        tc: Option<TimeoutCert>,
        out: &mut Vec<Output>,
    ) -> Result<(), Rejection> {
        if self.me.is_none() {
            return Ok(());
        }
        let header = &block.header;
        self.safety.check_vote(header.round, header.justify.round(), tc.as_ref())?;
        self.awaiting_check = Some((header.id(), tc));
        out.push(Output::CheckPayload { block });
        Ok(())
    }

    fn on_payload_checked(&mut self, block_id: Hash, valid: bool, out: &mut Vec<Output>) -> Result<(), Rejection> {
        let Some((awaited, tc)) = self.awaiting_check.take_if(|(id, _)| *id == block_id) else {
            return Err(Rejection::Unexpected("payload check"));
        };
        if !valid {
            return Err(Rejection::InvalidPayload);
        }
        let Some(block) = self.tree.get(&awaited).cloned() else {
            return Err(Rejection::Unexpected("payload check of a forgotten block"));
        };
        if block.header.round != self.round {
            return Err(Rejection::Stale(block.header.round));
        }
        self.vote(&block, tc.as_ref(), out)
    }

    fn vote(&mut self, block: &Block, tc: Option<&TimeoutCert>, out: &mut Vec<Output>) -> Result<(), Rejection> {
        let Some((me, key)) = &self.me else { return Ok(()) };
        let (me, header) = (*me, &block.header);
        self.safety.check_vote(header.round, header.justify.round(), tc)?;
        self.safety.record_vote(header.round, &header.justify, tc);
        if let Some(stored) = self.tree.get(&header.id()) {
            out.push(Output::PersistBlock(stored.clone()));
        }
        out.push(Output::PersistSafety(self.safety.clone()));
        let data = VoteData { round: header.round, height: header.height, block_id: header.id() };
        let signature = key.sign(self.config.validators.vote_domain(), &data.signing_bytes());
        let vote = Vote { epoch: header.epoch, data, voter: me, signature };
        self.stats.votes += 1;
        let next_leader = self.leader(header.round.next());
        if next_leader == me {
            self.count_vote(vote, out);
        } else {
            out.push(Output::Send { to: next_leader, message: Message::Vote(vote) });
        }
        Ok(())
    }

    fn on_vote(&mut self, vote: Vote, out: &mut Vec<Output>) -> Result<(), Rejection> {
        let round = vote.data.round;
        if vote.epoch != self.validators().epoch() {
            return Err(Rejection::WrongEpoch);
        }
        if self.validators().key(vote.voter).is_none() {
            return Err(Rejection::UnknownSender(vote.voter));
        }
        if !self.is_me(self.leader(round.next())) {
            return Err(Rejection::NotLeader);
        }
        if round.next() < self.round {
            return Err(Rejection::Stale(round));
        }
        if round > self.window_end() {
            return Err(Rejection::TooFarAhead(round));
        }
        let previous = self.keeper.vote_of(round, vote.voter).cloned();
        if previous.as_ref().is_some_and(|p| p.data == vote.data) {
            return Ok(()); // A duplicate.
        }
        self.validators()
            .verify_signature(vote.voter, self.validators().vote_domain(), &vote.data.signing_bytes(), &vote.signature)
            .map_err(|_| Rejection::BadSignature)?;
        if let Some(first) = previous {
            let voter = vote.voter;
            self.stats.evidence += 1;
            out.push(Output::Evidence(Evidence::DoubleVote { first, second: vote }));
            return Err(Rejection::Equivocation(voter));
        }
        self.count_vote(vote, out);
        Ok(())
    }

    fn count_vote(&mut self, vote: Vote, out: &mut Vec<Output>) {
        let outcome = self.keeper.add_vote(vote, &self.config.validators);
        if let VoteOutcome::Certified(qc) = outcome {
            self.process_qc(qc, out);
        }
    }

    fn on_timeout(&mut self, from: ValidatorIndex, timeout: Timeout, out: &mut Vec<Output>) -> Result<(), Rejection> {
        if timeout.epoch != self.validators().epoch() {
            return Err(Rejection::WrongEpoch);
        }
        if self.validators().key(timeout.author).is_none() {
            return Err(Rejection::UnknownSender(timeout.author));
        }
        if timeout.round < self.round {
            // The sender is behind: hand it the certificates that move it forward.
            let sync = SyncInfo { high_qc: self.high_qc.clone(), high_tc: self.high_tc.clone() };
            out.push(Output::Send { to: from, message: Message::Sync(sync) });
            return Ok(());
        }
        if self.keeper.has_timeout(timeout.round, timeout.author) {
            return Ok(()); // A repeat.
        }
        let advances_qc = timeout.high_qc.round() > self.high_qc.round();
        let advances_tc = timeout.last_tc.as_ref().is_some_and(|tc| tc.round >= self.round);
        if timeout.round > self.window_end() && !advances_qc && !advances_tc {
            return Err(Rejection::TooFarAhead(timeout.round));
        }
        self.validators()
            .verify_signature(
                timeout.author,
                self.validators().timeout_domain(),
                &timeout.data().signing_bytes(),
                &timeout.signature,
            )
            .map_err(|_| Rejection::BadSignature)?;
        // A QC no higher than ours need not be verified: the TC built from this timeout
        // will report its round, and our own proposal extends our (higher) QC anyway.
        if advances_qc {
            self.verify_qc(&timeout.high_qc)?;
            self.process_qc(timeout.high_qc.clone(), out);
        }
        if advances_tc && let Some(tc) = &timeout.last_tc {
            self.validators().verify_tc(tc, self.config.genesis_id)?;
            self.process_tc(tc.clone(), out);
        }
        if timeout.round < self.round {
            return Ok(());
        }
        if timeout.round > self.window_end() {
            return Err(Rejection::TooFarAhead(timeout.round));
        }
        let round = timeout.round;
        if let Some(tc) = self.keeper.add_timeout(timeout, &self.config.validators, &self.high_qc) {
            self.process_tc(tc, out);
        } else if round == self.round
            && self.my_timeout.is_none()
            && self.keeper.timeouts_in(round) > self.validators().max_faulty()
        {
            // f + 1 replicas gave up on this round, so at least one honest one did: join
            // them now rather than wait for our own timer (Bracha-style amplification).
            self.local_timeout(out);
        }
        Ok(())
    }

    /// A validator's node (re)connected: hands it our certificates and, if we gave up on
    /// the current round, our timeout of it (a repeat is ignored by the receiver).
    fn on_peer_connected(&mut self, to: ValidatorIndex, out: &mut Vec<Output>) {
        if self.index() == Some(to) || self.validators().key(to).is_none() {
            return;
        }
        let sync = SyncInfo { high_qc: self.high_qc.clone(), high_tc: self.high_tc.clone() };
        out.push(Output::Send { to, message: Message::Sync(sync) });
        if let Some(timeout) = self.my_timeout.as_ref().filter(|t| t.round == self.round) {
            out.push(Output::Send { to, message: Message::Timeout(timeout.clone()) });
        }
    }

    fn on_sync(&mut self, sync: SyncInfo, out: &mut Vec<Output>) -> Result<(), Rejection> {
        if sync.high_qc.round() > self.high_qc.round() {
            self.verify_qc(&sync.high_qc)?;
            self.process_qc(sync.high_qc, out);
        } else if self.may_commit(&sync.high_qc) {
            // A QC no higher than ours can still complete a 2-chain we lack. At the end of
            // an epoch nobody certifies anything higher, so the QC that made the epoch's
            // last block final may be the only way this replica ever commits it.
            self.verify_qc(&sync.high_qc)?;
            self.try_commit(sync.high_qc, out);
        }
        if let Some(tc) = sync.high_tc
            && tc.round >= self.round
        {
            self.validators().verify_tc(&tc, self.config.genesis_id)?;
            self.process_tc(tc, out);
        }
        Ok(())
    }

    // ------------------------------------------------------------ certificates

    fn verify_qc(&self, qc: &QuorumCert) -> Result<(), Rejection> {
        // Our own high QC was verified (or built from verified votes) already.
        if *qc == self.high_qc {
            return Ok(());
        }
        if qc.round() == Round::ZERO && qc.height() != self.config.genesis_height {
            return Err(Rejection::BadCertificate(CertError::NotGenesis));
        }
        self.validators().verify_qc(qc, self.config.genesis_id).map_err(Rejection::from)
    }

    /// Takes in a verified QC: maybe a higher QC, maybe a commit, maybe a new round.
    fn process_qc(&mut self, qc: QuorumCert, out: &mut Vec<Output>) {
        if qc.round() > self.high_qc.round() {
            self.high_qc = qc.clone();
        }
        let advance = qc.round() >= self.round;
        self.try_commit(qc, out);
        if advance {
            self.consecutive_timeouts = 0;
            self.enter_round(self.high_qc.round().next(), out);
        }
    }

    /// Takes in a verified TC.
    fn process_tc(&mut self, tc: TimeoutCert, out: &mut Vec<Output>) {
        if self.high_tc.as_ref().is_some_and(|known| known.round >= tc.round) || tc.round < self.round {
            return;
        }
        let next = tc.round.next();
        self.high_tc = Some(tc);
        self.consecutive_timeouts = self.consecutive_timeouts.saturating_add(1);
        self.enter_round(next, out);
    }

    /// True if `qc` may complete a 2-chain above the committed tip: its block is unknown
    /// (it will be fetched) or directly extends an uncommitted QC. Our own high QC counts:
    /// a replica restarted while it fetched the blocks below it never committed them.
    fn may_commit(&self, qc: &QuorumCert) -> bool {
        if qc.round() <= self.tree.committed_round() {
            return false;
        }
        self.tree.get(&qc.block_id()).is_none_or(|child| {
            let justify = &child.header.justify;
            child.header.round == justify.round().next() && justify.round() > self.tree.committed_round()
        })
    }

    /// Commits the block two rounds below a 2-chain that `qc` completes, if any.
    fn try_commit(&mut self, qc: QuorumCert, out: &mut Vec<Output>) {
        if qc.round() <= self.tree.committed_round() {
            return;
        }
        let Some(child) = self.tree.get(&qc.block_id()).cloned() else {
            self.defer_commit(qc.clone(), qc.block_id(), out);
            return;
        };
        let justify = &child.header.justify;
        if child.header.round != justify.round().next() || justify.round() <= self.tree.committed_round() {
            return;
        }
        match self.tree.path_from_committed(justify.block_id()) {
            Ok(blocks) => {
                let certificate =
                    CommitCertificate { committed: justify.block_id(), child: child.header.clone(), child_qc: qc };
                self.tree.commit(&blocks, certificate.clone());
                for block in &blocks {
                    self.history.record(&block.header);
                }
                self.stats.committed_blocks += blocks.len() as u64;
                let committed_round = self.tree.committed_round();
                self.proposals_seen = self.proposals_seen.split_off(&committed_round.next());
                if self.pending_commit.as_ref().is_some_and(|p| p.round() <= committed_round.next()) {
                    self.pending_commit = None;
                }
                out.push(Output::Commit { blocks, certificate });
            }
            Err(PathError::Missing(id)) => self.defer_commit(qc, id, out),
            Err(PathError::Conflicts) => {
                self.stats.rejected += 1;
                self.last_rejection = Some(Rejection::ConflictsWithCommitted);
            }
        }
    }

    fn defer_commit(&mut self, qc: QuorumCert, missing: Hash, out: &mut Vec<Output>) {
        if self.pending_commit.as_ref().is_none_or(|p| p.round() < qc.round()) {
            self.pending_commit = Some(qc);
        }
        let hint = self.sender.unwrap_or_else(|| self.leader(self.round));
        self.fetch(missing, hint, out);
    }

    // ------------------------------------------------------------------ rounds

    fn enter_round(&mut self, round: Round, out: &mut Vec<Output>) {
        if round <= self.round {
            return;
        }
        self.round = round;
        self.my_timeout = None;
        self.awaiting_check = None;
        self.building = None;
        self.pending_proposal = self.pending_proposal.take().filter(|p| p.block.header.round >= round);
        self.keeper.prune_below(round.prev());
        // Rounds advance by timeouts even when nothing commits, so proposals are pruned
        // by round too, not only on commit: memory stays bounded by the window.
        let oldest = Round(round.0.saturating_sub(self.config.rounds_ahead_max));
        if self.proposals_seen.first_key_value().is_some_and(|(r, _)| *r < oldest) {
            self.proposals_seen = self.proposals_seen.split_off(&oldest);
        }
        self.begin_round(out);
        if !self.wanted.is_empty() {
            self.refetch(false, out);
        }
    }

    fn begin_round(&mut self, out: &mut Vec<Output>) {
        out.push(Output::SetTimer { round: self.round, duration_ms: self.timeout_ms() });
        let leader = self.leader(self.round);
        if self.is_me(leader) && self.safety.last_proposed_round < self.round {
            let justify = self.high_qc.clone();
            out.push(Output::BuildPayload {
                round: self.round,
                height: justify.height().next(),
                parent: justify.block_id(),
            });
            self.building = Some((self.round, justify));
        }
    }

    fn on_timer(&mut self, round: Round, out: &mut Vec<Output>) {
        if round != self.round {
            return;
        }
        if self.me.is_some() {
            self.local_timeout(out);
        }
        out.push(Output::SetTimer { round, duration_ms: self.timeout_ms() });
        self.refetch(true, out);
    }

    fn local_timeout(&mut self, out: &mut Vec<Output>) {
        if let Some(timeout) = &self.my_timeout {
            out.push(Output::Broadcast(Message::Timeout(timeout.clone())));
            return;
        }
        let Some((me, key)) = &self.me else { return };
        let me = *me;
        let round = self.round;
        if let Err(violation) = self.safety.check_timeout(round, self.high_qc.round()) {
            self.stats.rejected += 1;
            self.last_rejection = Some(Rejection::Unsafe(violation));
            return;
        }
        let last_tc = self.high_tc.clone().filter(|tc| tc.round.next() == round);
        let mut timeout = Timeout {
            epoch: self.validators().epoch(),
            round,
            high_qc: self.high_qc.clone(),
            last_tc,
            author: me,
            signature: Signature([0; 64]),
        };
        timeout.signature = key.sign(self.config.validators.timeout_domain(), &timeout.data().signing_bytes());
        self.safety.record_timeout(round, &timeout.high_qc, timeout.last_tc.as_ref());
        self.stats.timeouts += 1;
        out.push(Output::PersistSafety(self.safety.clone()));
        self.my_timeout = Some(timeout.clone());
        out.push(Output::Broadcast(Message::Timeout(timeout.clone())));
        if let Some(tc) = self.keeper.add_timeout(timeout, &self.config.validators, &self.high_qc) {
            self.process_tc(tc, out);
        }
    }

    fn on_payload_ready(&mut self, round: Round, payload: Payload, out: &mut Vec<Output>) -> Result<(), Rejection> {
        let Some((_, justify)) = self.building.take_if(|(r, _)| *r == round && round == self.round) else {
            return Err(Rejection::Unexpected("payload"));
        };
        // Every vote that arrived since the quorum goes into the certificate: a validator
        // back from a restart is seen active again (leader reputation) as soon as its vote
        // reaches a leader in time, not only when it is among the first 2f + 1.
        let justify = self.keeper.widen(justify);
        if payload.len() > self.config.payload_bytes_max {
            return Err(Rejection::Malformed("payload larger than payload_bytes_max"));
        }
        let Some((me, key)) = &self.me else { return Err(Rejection::Unexpected("payload")) };
        let (me, key) = (*me, key.clone());
        let tc = self.high_tc.clone().filter(|tc| tc.round.next() == round && justify.round().next() != round);
        self.safety.check_vote(round, justify.round(), tc.as_ref())?;
        self.safety.record_proposal(round)?;
        let block = Arc::new(Block::new(self.validators().epoch(), round, justify, payload, me));
        let id = block.id();
        let signature = key.sign(self.config.validators.proposal_domain(), id.as_bytes());
        self.proposals_seen.insert(round, (block.header.clone(), signature));
        self.tree.insert(id, block.clone(), Some(id));
        self.stats.proposals += 1;
        // The leader votes for its own block. The block and the safety state (which now
        // records both the proposal and the vote) are persisted before the proposal
        // leaves, so a restarted leader never proposes or votes twice in this round.
        let mut vote_out = Vec::new();
        let voted = self.vote(&block, tc.as_ref(), &mut vote_out);
        let (mut persist, rest): (Vec<Output>, Vec<Output>) =
            vote_out.into_iter().partition(|o| matches!(o, Output::PersistBlock(_) | Output::PersistSafety(_)));
        if persist.is_empty() {
            persist = vec![Output::PersistBlock(block.clone()), Output::PersistSafety(self.safety.clone())];
        }
        out.extend(persist);
        out.push(Output::Broadcast(Message::Proposal(Proposal { block, tc, signature })));
        out.extend(rest);
        voted
    }
}

/// The checks of a header that need no signature or state.
fn check_header_shape(header: &BlockHeader, payload: &Payload, payload_bytes_max: usize) -> Result<(), Rejection> {
    if header.round <= header.justify.round() {
        return Err(Rejection::Malformed("block round not above its QC"));
    }
    if header.height != header.justify.height().next() {
        return Err(Rejection::Malformed("height is not the parent's plus one"));
    }
    if header.payload_bytes != payload.len() as u64 || payload.len() > payload_bytes_max {
        return Err(Rejection::Malformed("payload length"));
    }
    Ok(())
}
