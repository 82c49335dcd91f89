//! What Byzantine validators do to the messages their (honest) core produces.

use std::sync::Arc;

use panacea_primitives::{Hash, Keypair, Round, Signature};

use super::rng::Rng;
use crate::messages::{Message, Proposal, Timeout, Vote};
use crate::types::{Block, Payload, VoteData};
use crate::validators::ValidatorSet;

/// A Byzantine strategy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Behaviour {
    /// As leader, send one block to half the validators and another to the rest.
    Equivocate,
    /// Vote for the proposed block and for another one.
    DoubleVote,
    /// Corrupt signatures and certificates, and forge votes in others' names.
    Corrupt,
    /// Send validly signed messages for stale and far-future rounds.
    Flood,
    /// Send nothing at all.
    Silent,
    /// Propose payloads the hosts find invalid.
    InvalidPayload,
}

/// A second, conflicting proposal for the same round, with `payload`.
pub fn equivocate(proposal: &Proposal, payload: Payload, key: &Keypair, validators: &ValidatorSet) -> Proposal {
    let header = &proposal.block.header;
    let block = Block::new(header.epoch, header.round, header.justify.clone(), payload, header.author);
    let signature = key.sign(validators.proposal_domain(), block.id().as_bytes());
    Proposal { block: Arc::new(block), tc: proposal.tc.clone(), signature }
}

/// A vote by the same voter for another block of the same round.
pub fn double_vote(vote: &Vote, key: &Keypair, validators: &ValidatorSet, rng: &mut Rng) -> Vote {
    let data = VoteData {
        round: vote.data.round,
        height: vote.data.height,
        block_id: Hash::digest(&rng.next_u64().to_le_bytes()),
    };
    let signature = key.sign(validators.vote_domain(), &data.signing_bytes());
    Vote { epoch: vote.epoch, data, voter: vote.voter, signature }
}

fn flip(signature: &mut Signature, rng: &mut Rng) {
    let byte = rng.index(64);
    signature.0[byte] ^= 1 << rng.below(8);
}

/// The message with one signature or certificate damaged, plus a vote forged in the
/// name of another validator.
pub fn corrupt(message: &Message, validators: &ValidatorSet, rng: &mut Rng) -> Vec<Message> {
    let mut damaged = message.clone();
    match &mut damaged {
        Message::Proposal(p) => match rng.below(3) {
            0 => flip(&mut p.signature, rng),
            1 => {
                let mut block = (*p.block).clone();
                if let Some((_, sig)) = block.header.justify.signatures.first_mut() {
                    flip(sig, rng);
                }
                p.block = Arc::new(block);
            }
            _ => {
                // A duplicated signer in the QC.
                let mut block = (*p.block).clone();
                if let Some(first) = block.header.justify.signatures.first().copied() {
                    block.header.justify.signatures.insert(0, first);
                }
                p.block = Arc::new(block);
            }
        },
        Message::Vote(v) => flip(&mut v.signature, rng),
        Message::Timeout(t) => flip(&mut t.signature, rng),
        Message::Sync(s) => {
            if let Some((_, sig)) = s.high_qc.signatures.first_mut() {
                flip(sig, rng);
            }
        }
    }
    let mut out = vec![damaged];
    if let Message::Vote(v) = message {
        // A vote in another validator's name, with a signature that cannot verify.
        let victim = validators.indices().nth(rng.index(validators.len())).unwrap_or(v.voter);
        let mut forged = v.clone();
        forged.voter = victim;
        flip(&mut forged.signature, rng);
        out.push(Message::Vote(forged));
    }
    out
}

/// Validly signed messages for rounds long past and far ahead, to test the bounds.
pub fn flood(message: &Message, key: &Keypair, validators: &ValidatorSet, rng: &mut Rng) -> Vec<Message> {
    let (Message::Vote(Vote { epoch, voter: author, data, .. })
    | Message::Timeout(Timeout { epoch, author, high_qc: crate::types::QuorumCert { data, .. }, .. })) = message
    else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for _ in 0..4 {
        let round = if rng.chance(500) {
            Round(data.round.0.saturating_sub(rng.range(1, 50)))
        } else {
            Round(data.round.0.saturating_add(rng.range(2, 1_000_000)))
        };
        let vote_data = VoteData { round, height: data.height, block_id: Hash::digest(&round.0.to_le_bytes()) };
        let signature = key.sign(validators.vote_domain(), &vote_data.signing_bytes());
        out.push(Message::Vote(Vote { epoch: *epoch, data: vote_data, voter: *author, signature }));
        if let Message::Timeout(t) = message {
            let mut far = t.clone();
            far.round = round.max(t.round);
            far.signature = key.sign(validators.timeout_domain(), &far.data().signing_bytes());
            out.push(Message::Timeout(far));
        }
    }
    out
}
