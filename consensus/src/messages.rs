//! The messages replicas exchange. Every one is self-authenticating: it carries the
//! signatures and certificates that make it valid, whoever relayed it.

use bincode::{Decode, Encode};
use panacea_primitives::{Epoch, Hash, Height, Round, Signature, ValidatorIndex, codec};

use crate::types::{BlockRef, QuorumCert, TimeoutCert, TimeoutData, VoteData};

/// The largest consensus message accepted from the network, in bytes. Blocks are limited
/// by [`crate::Config::payload_bytes_max`], which must stay below this.
pub const MESSAGE_BYTES_MAX: usize = 32 * 1024 * 1024;

/// A leader's proposal for its round.
#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode)]
pub struct Proposal {
    /// The proposed block; its header names the round, author and justifying QC.
    pub block: BlockRef,
    /// When the previous round ended by timeout, the TC that lets this block extend
    /// `block.header.justify` although it is not from the previous round.
    pub tc: Option<TimeoutCert>,
    /// The author's signature over the block id.
    pub signature: Signature,
}

/// A replica's vote for a block, sent to the leader of the next round.
#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode)]
pub struct Vote {
    /// Epoch of the voter's validator set.
    pub epoch: Epoch,
    /// What is voted for.
    pub data: VoteData,
    /// The voter.
    pub voter: ValidatorIndex,
    /// Signature over `data`.
    pub signature: Signature,
}

/// A replica gives up on a round. Broadcast, and repeated while the round lasts.
#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode)]
pub struct Timeout {
    /// Epoch of the author's validator set.
    pub epoch: Epoch,
    /// The round given up.
    pub round: Round,
    /// The author's highest QC; its round is what the author signs.
    pub high_qc: QuorumCert,
    /// The TC that ended the previous round, if it ended by timeout, so that lagging
    /// replicas can catch up from the timeout alone.
    pub last_tc: Option<TimeoutCert>,
    /// The author.
    pub author: ValidatorIndex,
    /// Signature over `TimeoutData { round, high_qc_round: high_qc.round() }`.
    pub signature: Signature,
}

impl Timeout {
    /// What the author signed.
    pub fn data(&self) -> TimeoutData {
        TimeoutData { round: self.round, high_qc_round: self.high_qc.round() }
    }
}

/// The certificates a replica holds, sent to a peer that is behind.
#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode)]
pub struct SyncInfo {
    /// The sender's highest QC.
    pub high_qc: QuorumCert,
    /// The TC that ended the sender's previous round, if any.
    pub high_tc: Option<TimeoutCert>,
}

/// Everything one replica's consensus sends another.
#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode)]
pub enum Message {
    /// A leader's proposal.
    Proposal(Proposal),
    /// A vote, to the next leader.
    Vote(Vote),
    /// A timeout, to everyone.
    Timeout(Timeout),
    /// Certificates for a peer that is behind.
    Sync(SyncInfo),
}

impl Message {
    /// Decodes a message received from the network, with the size limit.
    pub fn decode(bytes: &[u8]) -> Result<Message, codec::CodecError> {
        codec::decode::<Message, MESSAGE_BYTES_MAX>(bytes)
    }

    /// The canonical encoding.
    pub fn encode(&self) -> Vec<u8> {
        codec::encode(self)
    }

    /// The round the message is about (for a sync, the round its certificates lead to).
    pub fn round(&self) -> Round {
        match self {
            Message::Proposal(p) => p.block.header.round,
            Message::Vote(v) => v.data.round,
            Message::Timeout(t) => t.round,
            Message::Sync(s) => {
                let tc = s.high_tc.as_ref().map_or(Round::ZERO, |tc| tc.round);
                s.high_qc.round().max(tc)
            }
        }
    }

    /// A short name for traces and metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            Message::Proposal(_) => "proposal",
            Message::Vote(_) => "vote",
            Message::Timeout(_) => "timeout",
            Message::Sync(_) => "sync",
        }
    }
}

/// A request for a block and its ancestors, answered by the host from its store.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Encode, Decode)]
pub struct BlockRequest {
    /// The newest block wanted.
    pub block_id: Hash,
    /// How many blocks, walking parents from `block_id`, at most.
    pub count: u32,
    /// Stop below this height: the requester already has it.
    pub above_height: Height,
}
