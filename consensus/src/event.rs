//! What the host feeds the replica, and what the replica asks the host to do.

use panacea_primitives::{Hash, Height, Round, ValidatorIndex};

use crate::evidence::Evidence;
use crate::messages::{BlockRequest, Message};
use crate::safety::SafetyState;
use crate::types::{Block, BlockRef, CommitCertificate, Payload};

/// An input to [`crate::Replica::handle`].
#[derive(Debug, Clone)]
#[allow(clippy::large_enum_variant, reason = "moved once into `handle`; boxing would only add an allocation")]
pub enum Input {
    /// A message from validator `from`. `from` is what the transport authenticated; the
    /// message is checked on its own signatures regardless.
    Message {
        /// The sending validator.
        from: ValidatorIndex,
        /// The message, already decoded with [`Message::decode`].
        message: Message,
    },
    /// The timer set by the last `Output::SetTimer` for `round` fired.
    TimerFired {
        /// The round the timer was set for.
        round: Round,
    },
    /// The payload asked for by `Output::BuildPayload` is ready.
    PayloadReady {
        /// The round it was asked for.
        round: Round,
        /// The payload.
        payload: Payload,
    },
    /// The host checked the payload of a block asked for by `Output::CheckPayload`.
    PayloadChecked {
        /// The block.
        block_id: Hash,
        /// Whether the payload is valid on top of the block's parent.
        valid: bool,
    },
    /// Blocks fetched in answer to `Output::FetchBlocks`, newest first.
    BlocksFetched {
        /// The blocks: the requested one, then its ancestors.
        blocks: Vec<Block>,
    },
    /// The host (re)connected to validator `validator`'s node. The replica sends it what it
    /// may have missed while they were apart: its certificates, and its timeout of the
    /// current round, so that a quorum that finds itself again after a partition forms the
    /// round's timeout certificate at once instead of each waiting out its own backed-off
    /// timer. Only messages already signed are sent again.
    PeerConnected {
        /// The validator whose node connected.
        validator: ValidatorIndex,
    },
}

/// An action for the host. The host must execute the outputs of one `handle` call **in
/// order** and completely before the next input: `PersistSafety` is durable (fsync)
/// before the `Send` or `Broadcast` that follows it leaves the machine.
#[derive(Debug, Clone)]
pub enum Output {
    /// Write the safety state durably before executing the next output.
    PersistSafety(SafetyState),
    /// Store this uncommitted block durably before executing the next output (it comes
    /// before the vote for it). A QC proves that 2f + 1 validators stored the block, so
    /// the block survives even if every replica crashes; the host gives stored blocks
    /// back to `Replica::new` on restart and may drop them once a commit passes them.
    PersistBlock(BlockRef),
    /// Send a message to one validator.
    Send {
        /// The recipient.
        to: ValidatorIndex,
        /// The message.
        message: Message,
    },
    /// Send a message to every other validator (and observers).
    Broadcast(Message),
    /// Replace the replica's single timer: fire `Input::TimerFired { round }` after
    /// `duration_ms` milliseconds unless another `SetTimer` comes first.
    SetTimer {
        /// The round the timer belongs to.
        round: Round,
        /// How long to wait.
        duration_ms: u64,
    },
    /// Build a payload for a new block on `parent`, and answer with `Input::PayloadReady`.
    BuildPayload {
        /// The round to propose in.
        round: Round,
        /// The height of the new block.
        height: Height,
        /// Id of the block it extends.
        parent: Hash,
    },
    /// Check the payload of `block` on top of its parent, and answer with
    /// `Input::PayloadChecked`.
    CheckPayload {
        /// The block to check.
        block: BlockRef,
    },
    /// These blocks are final, in order of height: execute and store them. The
    /// certificate proves the last one final; each earlier one is its ancestor.
    Commit {
        /// The newly final blocks, lowest height first.
        blocks: Vec<BlockRef>,
        /// Proof that the last block is final.
        certificate: CommitCertificate,
    },
    /// Fetch blocks from a peer (answer with `Input::BlocksFetched`). `from` is a hint:
    /// a validator that should have them.
    FetchBlocks {
        /// What to fetch.
        request: BlockRequest,
        /// Who to ask first.
        from: ValidatorIndex,
    },
    /// A validator misbehaved: store and report the proof.
    Evidence(Evidence),
}
