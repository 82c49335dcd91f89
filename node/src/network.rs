//! The peer-to-peer network: libp2p over TCP with Noise and Yamux.
//!
//! - Connection gating: only the nodes of member organisations (their network keys as
//!   registered on chain) may connect, in either direction; the list follows committed
//!   state, so a removed member is cut off after the block that removes it.
//! - Consensus messages travel as direct requests on `/panacea/consensus/1`; blocks are
//!   fetched on `/panacea/sync/1`; transactions are gossiped in batches.
//! - Every frame has a length limit checked before it is read, and is decoded with
//!   limits. A peer whose frames do not decode is scored, and disconnected and banned for
//!   a while once its score passes a threshold; scores halve every five minutes, so rare
//!   bad luck never adds up to a ban. A request-response frame comes straight from the
//!   peer that wrote it, so that peer is the one scored.
//! - Gossip is signed by its author's node key and checked before it is relayed:
//!   gossipsub refuses a bad or missing signature (strict validation), then the node's
//!   admission checks the content ([`Gossiped`] out, a [`Verdict`] back) and only an
//!   accepted message is relayed. Honest nodes therefore never relay garbage, and a
//!   refused message's signed author, not the node that relayed it, is scored. Gossipsub's
//!   own peer score counts invalid messages against the peer that delivered them (which,
//!   with every honest node validating, is their sender) and ignores a peer's gossip while
//!   its score is below the graylist threshold; that score decays too.
//!
//! The network task owns the swarm; the rest of the node talks to it through a bounded
//! command channel and hears from it through the shell's event channel.

use std::collections::{BTreeMap, BTreeSet};
use std::io;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bincode::{Decode, Encode};
use futures::future::BoxFuture;
use futures::stream::FuturesUnordered;
use futures::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, FutureExt, StreamExt};
use libp2p::core::upgrade::Version;
use libp2p::request_response::{self, ProtocolSupport};
use libp2p::swarm::{NetworkBehaviour, SwarmEvent};
use libp2p::{
    Multiaddr, PeerId, StreamProtocol, Swarm, Transport, allow_block_list, gossipsub, identify, noise, ping, tcp, yamux,
};
use panacea_consensus::{Block, BlockRequest, CommitCertificate, Message};
use panacea_primitives::{Height, codec};
use tokio::sync::{mpsc, oneshot};

use crate::metrics::Metrics;

/// Consensus protocol name.
pub const CONSENSUS_PROTOCOL: &str = "/panacea/consensus/1";
/// Block sync protocol name.
pub const SYNC_PROTOCOL: &str = "/panacea/sync/1";
/// The data plane's protocol: one sealed chunk of a granted document per request.
pub const DOCS_PROTOCOL: &str = "/panacea/docs/1";
/// Largest document response frame: a chunk, its tag, the envelope and framing.
const DOCS_FRAME_MAX: usize = panacea_client_sdk::sharing::CHUNK_BYTES + 4096;
/// Most document requests served at once, and most of ours in flight.
pub const DOCS_IN_FLIGHT_MAX: usize = 16;
/// Largest gossiped transaction batch, in bytes.
pub const TX_BATCH_BYTES_MAX: usize = 2 * 1024 * 1024;
/// Score at which a peer is disconnected and banned: three strikes, each within about a
/// minute and a half of the last (two at once are 20; one per half-life tends to 20).
const BAN_SCORE: f64 = 25.0;
/// How long a ban lasts.
const BAN_DURATION: Duration = Duration::from_secs(60);
/// Score added for a frame that does not decode, or for refused gossip one signed.
const GARBAGE_SCORE: f64 = 10.0;
/// Time in which a score halves.
const SCORE_HALF_LIFE: Duration = Duration::from_secs(300);
/// A score below this is forgotten.
const SCORE_FORGOTTEN: f64 = 1.0;
/// Most peers with a score (only members are scored; the map is bounded all the same).
const SCORES_MAX: usize = 1_024;
/// Gossipsub's score per invalid message delivered, squared (its P4): 1 message is -10,
/// 2 are -40, 3 are -90, past the graylist threshold.
const GOSSIP_INVALID_WEIGHT: f64 = -10.0;
/// Below this gossipsub score a peer's gossip is ignored altogether.
const GOSSIP_GRAYLIST_SCORE: f64 = -80.0;
/// Time in which gossipsub's count of a peer's invalid messages decays to a tenth.
const GOSSIP_INVALID_DECAY: Duration = Duration::from_secs(600);
/// Most bytes of gossiped messages waiting for admission's verdict, all together: the
/// count bound alone would let 1,024 messages of 2 MiB hold 2 GiB.
pub const GOSSIP_VALIDATION_BYTES_MAX: usize = 64 * 1024 * 1024;

/// Bytes of gossiped messages held for admission, given back when a [`Gossiped`] is
/// dropped (its verdict given, or the message lost).
#[derive(Debug)]
pub struct HeldBytes {
    total: Arc<AtomicUsize>,
    bytes: usize,
}

impl HeldBytes {
    /// Takes `bytes` from `total` unless that would pass [`GOSSIP_VALIDATION_BYTES_MAX`].
    fn take(total: &Arc<AtomicUsize>, bytes: usize) -> Option<HeldBytes> {
        total
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |held| {
                held.checked_add(bytes).filter(|after| *after <= GOSSIP_VALIDATION_BYTES_MAX)
            })
            .ok()
            .map(|_| HeldBytes { total: total.clone(), bytes })
    }
}

impl Drop for HeldBytes {
    fn drop(&mut self) {
        self.total.fetch_sub(self.bytes, Ordering::AcqRel);
    }
}

/// Most gossiped messages waiting for admission's verdict.
pub const GOSSIP_VALIDATION_QUEUE_MAX: usize = 1_024;
/// How often each connection is pinged.
const PING_INTERVAL: Duration = Duration::from_secs(1);
/// A ping unanswered this long fails.
const PING_TIMEOUT: Duration = Duration::from_secs(3);
/// A peer that has answered no ping for this long is disconnected (and redialled): it is
/// frozen, partitioned or gone. Checked on every redial tick, because `libp2p-ping` reports
/// only a second consecutive failure, which for a frozen peer comes after a 10 s stream
/// negotiation timeout.
const SILENCE_MAX: Duration = Duration::from_secs(4);
/// Longest a dial (TCP connect, Noise, Yamux) may take.
const DIAL_TIMEOUT: Duration = Duration::from_secs(3);
/// How often unconnected members are redialled (and bans and scores housekept).
const REDIAL_INTERVAL: Duration = Duration::from_millis(500);

/// Most block-sync requests served at once.
const SERVING_MAX: usize = 64;
/// Most commands queued for the network task.
pub const COMMANDS_MAX: usize = 8_192;
/// Most blocks in one sync response.
pub const SYNC_BLOCKS_MAX: u32 = 64;

/// A block-sync request.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub enum SyncRequest {
    /// Blocks by id, walking parents (consensus's own fetch).
    Blocks(BlockRequest),
    /// Committed blocks from `from` upwards, ending with one that carries a certificate.
    Committed {
        /// The first height wanted.
        from: Height,
        /// Most blocks wanted.
        count: u32,
    },
    /// The newest state snapshot the peer can prove (`crate::statesync`).
    SnapshotOffer,
    /// One chunk of a snapshot: state chunks first, then audit chunks.
    SnapshotChunk {
        /// The snapshot's height.
        height: Height,
        /// The chunk.
        index: u32,
    },
}

/// The answer to a [`SyncRequest`].
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
#[allow(clippy::large_enum_variant, reason = "one per sync response, moved once; the blocks dwarf the certificate")]
pub enum SyncResponse {
    /// The blocks asked for, newest first.
    Blocks(Vec<Block>),
    /// Committed blocks, lowest first; the certificate proves the last one final.
    Committed {
        /// The blocks.
        blocks: Vec<Block>,
        /// The certificate of the last block, or of the last of `suffix`.
        certificate: Option<CommitCertificate>,
        /// When the last block ended an epoch and was committed together with blocks
        /// above it (abandoned by the epoch change): their headers, up to the certified one.
        suffix: Vec<panacea_consensus::BlockHeader>,
    },
    /// The peer's newest provable snapshot, if any.
    Offer(Option<Box<crate::statesync::Offer>>),
    /// A snapshot chunk, encoded (`None`: the peer no longer holds it).
    Chunk {
        /// The snapshot's height.
        height: Height,
        /// The chunk.
        index: u32,
        /// Its encoding.
        bytes: Option<Vec<u8>>,
    },
}

/// A request for chunk `index` of `document`, granted under `decision`.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub struct DocRequest {
    /// The grant.
    pub decision: panacea_contracts::ids::DecisionId,
    /// The document.
    pub document: panacea_contracts::ids::DocumentHash,
    /// The chunk.
    pub index: u32,
}

/// The custodian's answer to a [`DocRequest`].
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub enum DocResponse {
    /// The chunk, sealed for the requesting identity.
    Chunk {
        /// Content length.
        bytes: u64,
        /// Chunk count.
        chunks: u32,
        /// The envelope holding the delivery key, for the requesting identity.
        envelope: panacea_client_sdk::sharing::Envelope,
        /// The sealed chunk.
        sealed: Vec<u8>,
    },
    /// Refused for good: the grant is not in force (revoked, expired, erased, not ours).
    Refused(String),
    /// Not now (the custodian is busy or behind); ask again later.
    Unavailable(String),
}

/// An inbound document request, for the sharing worker; answer on `reply`.
#[derive(Debug)]
pub struct DocServe {
    /// The requesting node.
    pub from: PeerId,
    /// The request.
    pub request: DocRequest,
    /// Where the answer goes.
    pub reply: oneshot::Sender<DocResponse>,
}

/// What the network tells the shell.
#[derive(Debug)]
pub enum NetEvent {
    /// A consensus message from a peer, decoded with limits.
    Consensus {
        /// The sender.
        from: PeerId,
        /// The message.
        message: Message,
    },
    /// A peer asks for blocks; answer on `reply`.
    SyncRequested {
        /// The request.
        request: SyncRequest,
        /// Where the answer goes.
        reply: oneshot::Sender<SyncResponse>,
    },
    /// The answer to our [`NetCommand::Sync`].
    SyncAnswered {
        /// Who answered.
        from: PeerId,
        /// The answer (`None` if the request failed).
        response: Option<SyncResponse>,
    },
    /// A peer's first connection came up (at start, or again after it was lost).
    PeerConnected(PeerId),
}

/// A gossiped message waiting for admission's [`Verdict`]; gossipsub holds it (and does
/// not relay it) until then.
#[derive(Debug)]
pub struct Gossiped {
    /// Gossipsub's id of the message.
    pub id: gossipsub::MessageId,
    /// The peer it came from.
    pub relay: PeerId,
    /// The member node that wrote and signed it.
    pub author: PeerId,
    /// The encoded batch.
    pub data: Vec<u8>,
    /// Its bytes' share of [`GOSSIP_VALIDATION_BYTES_MAX`], given back on drop.
    pub held: HeldBytes,
}

/// What admission made of a gossiped message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Valid: relay it.
    Accept,
    /// Not for this node now (depends on its view of the chain): drop it, penalise nobody.
    Ignore,
    /// Something no honest node sends: drop it and penalise its author.
    Reject(String),
}

/// What the node asks of the network.
#[derive(Debug)]
pub enum NetCommand {
    /// Send an encoded consensus message to one peer.
    Send {
        /// The peer.
        to: PeerId,
        /// The encoded message.
        bytes: Arc<Vec<u8>>,
    },
    /// Send an encoded consensus message to every connected peer.
    Broadcast {
        /// The encoded message.
        bytes: Arc<Vec<u8>>,
    },
    /// Ask a peer for blocks; the answer comes back as [`NetEvent::SyncAnswered`].
    Sync {
        /// The peer.
        to: PeerId,
        /// The request.
        request: SyncRequest,
    },
    /// Gossip a batch of encoded transactions.
    PublishTransactions(Vec<Vec<u8>>),
    /// Admission's verdict on a [`Gossiped`] message.
    GossipVerdict {
        /// Gossipsub's id of the message.
        id: gossipsub::MessageId,
        /// The peer it came from.
        relay: PeerId,
        /// Its author.
        author: PeerId,
        /// The verdict.
        verdict: Verdict,
    },
    /// Replace the set of peers allowed to connect.
    SetMembers(Vec<PeerId>),
    /// Ask a custodian's node for a chunk; the answer (`None` if the request failed)
    /// comes back on `reply`.
    FetchChunk {
        /// The custodian's node.
        to: PeerId,
        /// The request.
        request: DocRequest,
        /// Where the answer goes.
        reply: oneshot::Sender<Option<DocResponse>>,
    },
}

/// A request as read from a peer: a frame that passed the codec's checks, or the reason
/// it did not. Read failures are returned as values, not errors, so that the network
/// task learns which peer sent the bad frame and can score it (libp2p drops read errors
/// without telling the behaviour).
#[derive(Debug, Clone)]
pub enum Inbound<T> {
    /// A frame within limits that decoded.
    Valid(T),
    /// Why the frame was refused.
    Invalid(String),
}

/// Reads a frame and decodes it with `decode`, turning refusals into [`Inbound::Invalid`];
/// only transport failures stay errors.
async fn read_inbound<T, R: AsyncRead + Unpin + Send>(
    io: &mut R,
    limit: usize,
    decode: impl FnOnce(Vec<u8>) -> Result<T, String>,
) -> io::Result<Inbound<T>> {
    match read_frame(io, limit).await {
        Ok(bytes) => Ok(decode(bytes).map_or_else(Inbound::Invalid, Inbound::Valid)),
        Err(e) if e.kind() == io::ErrorKind::InvalidData => Ok(Inbound::Invalid(e.to_string())),
        Err(e) => Err(e),
    }
}

fn refuse_to_send() -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, "an invalid request is never sent")
}

/// A length-prefixed bincode frame codec with a size limit checked before reading.
#[derive(Debug, Clone)]
pub struct FrameCodec<Req, Resp> {
    limit: usize,
    _types: std::marker::PhantomData<fn() -> (Req, Resp)>,
}

impl<Req, Resp> FrameCodec<Req, Resp> {
    /// A codec refusing frames over `limit` bytes.
    pub fn new(limit: usize) -> Self {
        FrameCodec { limit, _types: std::marker::PhantomData }
    }
}

/// Reads one frame of at most `limit` bytes.
pub async fn read_frame<T: AsyncRead + Unpin + Send>(io: &mut T, limit: usize) -> io::Result<Vec<u8>> {
    let mut len = [0u8; 4];
    io.read_exact(&mut len).await?;
    let len = usize::try_from(u32::from_be_bytes(len)).unwrap_or(usize::MAX);
    if len > limit {
        return Err(io::Error::new(io::ErrorKind::InvalidData, format!("frame of {len} bytes exceeds {limit}")));
    }
    let mut buf = vec![0u8; len];
    io.read_exact(&mut buf).await?;
    Ok(buf)
}

/// Writes one frame.
pub async fn write_frame<T: AsyncWrite + Unpin + Send>(io: &mut T, bytes: &[u8]) -> io::Result<()> {
    let len = u32::try_from(bytes.len()).map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "frame too large"))?;
    io.write_all(&len.to_be_bytes()).await?;
    io.write_all(bytes).await?;
    io.flush().await
}

fn decode_frame<T: codec::Decode<()>>(bytes: &[u8]) -> io::Result<T> {
    codec::decode::<T, { panacea_consensus::MESSAGE_BYTES_MAX }>(bytes)
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e.to_string()))
}

/// Consensus requests are encoded messages, decoded by the network task (so that a
/// garbage frame is attributed to its peer); the response is an empty acknowledgement.
impl request_response::Codec for FrameCodec<Inbound<Vec<u8>>, ()> {
    type Protocol = StreamProtocol;
    type Request = Inbound<Vec<u8>>;
    type Response = ();

    async fn read_request<T: AsyncRead + Unpin + Send>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
    ) -> io::Result<Inbound<Vec<u8>>> {
        read_inbound(io, self.limit, Ok).await
    }

    async fn read_response<T: AsyncRead + Unpin + Send>(&mut self, _: &StreamProtocol, io: &mut T) -> io::Result<()> {
        let mut ack = [0u8; 1];
        io.read_exact(&mut ack).await
    }

    async fn write_request<T: AsyncWrite + Unpin + Send>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        req: Inbound<Vec<u8>>,
    ) -> io::Result<()> {
        match req {
            Inbound::Valid(bytes) => write_frame(io, &bytes).await,
            Inbound::Invalid(_) => Err(refuse_to_send()),
        }
    }

    async fn write_response<T: AsyncWrite + Unpin + Send>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        (): (),
    ) -> io::Result<()> {
        io.write_all(&[1]).await?;
        io.flush().await
    }
}

impl request_response::Codec for FrameCodec<Inbound<SyncRequest>, SyncResponse> {
    type Protocol = StreamProtocol;
    type Request = Inbound<SyncRequest>;
    type Response = SyncResponse;

    async fn read_request<T: AsyncRead + Unpin + Send>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
    ) -> io::Result<Inbound<SyncRequest>> {
        read_inbound(io, 1024, |bytes| decode_frame(&bytes).map_err(|e| e.to_string())).await
    }

    async fn read_response<T: AsyncRead + Unpin + Send>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
    ) -> io::Result<SyncResponse> {
        decode_frame(&read_frame(io, self.limit).await?)
    }

    async fn write_request<T: AsyncWrite + Unpin + Send>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        req: Inbound<SyncRequest>,
    ) -> io::Result<()> {
        match req {
            Inbound::Valid(req) => write_frame(io, &codec::encode(&req)).await,
            Inbound::Invalid(_) => Err(refuse_to_send()),
        }
    }

    async fn write_response<T: AsyncWrite + Unpin + Send>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        res: SyncResponse,
    ) -> io::Result<()> {
        write_frame(io, &codec::encode(&res)).await
    }
}

impl request_response::Codec for FrameCodec<Inbound<DocRequest>, DocResponse> {
    type Protocol = StreamProtocol;
    type Request = Inbound<DocRequest>;
    type Response = DocResponse;

    async fn read_request<T: AsyncRead + Unpin + Send>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
    ) -> io::Result<Inbound<DocRequest>> {
        read_inbound(io, 256, |bytes| decode_frame(&bytes).map_err(|e| e.to_string())).await
    }

    async fn read_response<T: AsyncRead + Unpin + Send>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
    ) -> io::Result<DocResponse> {
        let bytes = read_frame(io, DOCS_FRAME_MAX).await?;
        codec::decode::<DocResponse, DOCS_FRAME_MAX>(&bytes)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e.to_string()))
    }

    async fn write_request<T: AsyncWrite + Unpin + Send>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        req: Inbound<DocRequest>,
    ) -> io::Result<()> {
        match req {
            Inbound::Valid(req) => write_frame(io, &codec::encode(&req)).await,
            Inbound::Invalid(_) => Err(refuse_to_send()),
        }
    }

    async fn write_response<T: AsyncWrite + Unpin + Send>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        res: DocResponse,
    ) -> io::Result<()> {
        write_frame(io, &codec::encode(&res)).await
    }
}

/// The libp2p behaviours of a node.
#[derive(NetworkBehaviour)]
pub struct Behaviour {
    allowed: allow_block_list::Behaviour<allow_block_list::AllowedPeers>,
    identify: identify::Behaviour,
    /// Liveness: a peer that stops answering pings is disconnected (and redialled), so
    /// that a frozen or partitioned peer does not count as connected.
    ping: ping::Behaviour,
    consensus: request_response::Behaviour<FrameCodec<Inbound<Vec<u8>>, ()>>,
    sync: request_response::Behaviour<FrameCodec<Inbound<SyncRequest>, SyncResponse>>,
    docs: request_response::Behaviour<FrameCodec<Inbound<DocRequest>, DocResponse>>,
    gossip: gossipsub::Behaviour,
}

/// The network task's state.
pub struct Network {
    swarm: Swarm<Behaviour>,
    topic: gossipsub::IdentTopic,
    members: BTreeSet<PeerId>,
    connected: Arc<Mutex<BTreeSet<PeerId>>>,
    dial: BTreeMap<PeerId, Multiaddr>,
    scores: PeerScores,
    banned: BTreeMap<PeerId, Instant>,
    /// When each connected peer last answered a ping (or connected). Bounded by the
    /// connected members.
    answered: BTreeMap<PeerId, Instant>,
    /// When the last liveness check ran.
    last_check: Instant,
    /// Connected peers whose gossipsub score is below the graylist threshold (reported once).
    graylisted: BTreeSet<PeerId>,
    events: mpsc::Sender<NetEvent>,
    gossiped: mpsc::Sender<Gossiped>,
    gossip_bytes: Arc<AtomicUsize>,
    metrics: Arc<Metrics>,
    serving:
        FuturesUnordered<BoxFuture<'static, (request_response::ResponseChannel<SyncResponse>, Option<SyncResponse>)>>,
    docs_inbound: mpsc::Sender<DocServe>,
    docs_serving:
        FuturesUnordered<BoxFuture<'static, (request_response::ResponseChannel<DocResponse>, Option<DocResponse>)>>,
    docs_pending: BTreeMap<request_response::OutboundRequestId, oneshot::Sender<Option<DocResponse>>>,
}

/// Where a started network listens, and how to reach it.
#[derive(Debug, Clone)]
pub struct NetworkInfo {
    /// This node's peer id.
    pub peer_id: PeerId,
    /// The addresses it listens on, with `/p2p/<peer id>`.
    pub listen: Vec<Multiaddr>,
}

/// A network that could not start.
#[derive(Debug, thiserror::Error)]
pub enum NetworkError {
    /// The transport could not be built.
    #[error("cannot build the transport: {0}")]
    Transport(String),
    /// The listen address could not be bound.
    #[error("cannot listen on {addr}: {reason}")]
    Listen {
        /// The address.
        addr: String,
        /// Why.
        reason: String,
    },
}

/// Settings of the network task.
#[derive(Debug, Clone)]
pub struct NetworkSettings {
    /// Listen address.
    pub listen: Multiaddr,
    /// Peers to dial (with `/p2p/<id>`).
    pub peers: Vec<Multiaddr>,
    /// Peers allowed to connect.
    pub members: Vec<PeerId>,
    /// Chain id, which names the gossip topic.
    pub chain_id: String,
    /// Largest consensus or sync frame.
    pub message_bytes_max: usize,
}

/// The gossip topic of a chain's transaction batches.
pub fn transactions_topic(chain_id: &str) -> gossipsub::IdentTopic {
    gossipsub::IdentTopic::new(format!("/panacea/{chain_id}/transactions/1"))
}

/// Gossipsub's peer scoring: only invalid messages count (P4), decaying. Time in the mesh,
/// delivery counts, IP colocation and behaviour penalties are off: members are few and
/// known, and those would only make a quiet, busy or co-hosted honest member look bad.
fn gossip_scoring(topic: &gossipsub::IdentTopic) -> (gossipsub::PeerScoreParams, gossipsub::PeerScoreThresholds) {
    let mut params = gossipsub::PeerScoreParams {
        app_specific_weight: 0.0,
        ip_colocation_factor_weight: 0.0,
        behaviour_penalty_weight: 0.0,
        slow_peer_weight: 0.0,
        ..gossipsub::PeerScoreParams::default()
    };
    let topic_params = gossipsub::TopicScoreParams {
        topic_weight: 1.0,
        time_in_mesh_weight: 0.0,
        first_message_deliveries_weight: 0.0,
        mesh_message_deliveries_weight: 0.0,
        mesh_failure_penalty_weight: 0.0,
        invalid_message_deliveries_weight: GOSSIP_INVALID_WEIGHT,
        invalid_message_deliveries_decay: gossipsub::score_parameter_decay(GOSSIP_INVALID_DECAY),
        ..gossipsub::TopicScoreParams::default()
    };
    params.topics.insert(topic.hash(), topic_params);
    let thresholds = gossipsub::PeerScoreThresholds {
        graylist_threshold: GOSSIP_GRAYLIST_SCORE,
        // Scores never go above zero: nothing to graft opportunistically.
        opportunistic_graft_threshold: 0.0,
        ..gossipsub::PeerScoreThresholds::default()
    };
    (params, thresholds)
}

/// Strikes against peers, decaying with [`SCORE_HALF_LIFE`], at most [`SCORES_MAX`].
#[derive(Debug, Default)]
struct PeerScores {
    scores: BTreeMap<PeerId, (f64, Instant)>,
}

impl PeerScores {
    /// `peer`'s score at `now`.
    fn score(&self, peer: &PeerId, now: Instant) -> f64 {
        self.scores.get(peer).map_or(0.0, |(score, at)| {
            let half_lives = now.saturating_duration_since(*at).as_secs_f64() / SCORE_HALF_LIFE.as_secs_f64();
            score * 0.5f64.powf(half_lives)
        })
    }

    /// Adds a strike against `peer` at `now`; returns its new score.
    fn strike(&mut self, peer: PeerId, now: Instant) -> f64 {
        if self.scores.len() >= SCORES_MAX && !self.scores.contains_key(&peer) {
            self.prune(now);
            let lowest =
                self.scores.keys().map(|p| (self.score(p, now), *p)).min_by(|a, b| a.0.total_cmp(&b.0)).map(|(_, p)| p);
            if let Some(lowest) = lowest.filter(|_| self.scores.len() >= SCORES_MAX) {
                self.scores.remove(&lowest);
            }
        }
        let score = self.score(&peer, now) + GARBAGE_SCORE;
        self.scores.insert(peer, (score, now));
        score
    }

    fn forget(&mut self, peer: &PeerId) {
        self.scores.remove(peer);
    }

    /// Forgets the scores that have decayed away.
    fn prune(&mut self, now: Instant) {
        let faded: Vec<PeerId> = self.scores.keys().filter(|p| self.score(p, now) < SCORE_FORGOTTEN).copied().collect();
        for peer in faded {
            self.scores.remove(&peer);
        }
    }
}

impl Network {
    /// Builds the swarm and starts listening; returns the task state and where it listens.
    pub async fn start(
        identity: libp2p::identity::Keypair,
        settings: NetworkSettings,
        events: mpsc::Sender<NetEvent>,
        gossiped: mpsc::Sender<Gossiped>,
        docs_inbound: mpsc::Sender<DocServe>,
        connected: Arc<Mutex<BTreeSet<PeerId>>>,
        metrics: Arc<Metrics>,
    ) -> Result<(Network, NetworkInfo), NetworkError> {
        let limit = settings.message_bytes_max;
        let topic = transactions_topic(&settings.chain_id);
        let mut swarm = libp2p::SwarmBuilder::with_existing_identity(identity)
            .with_tokio()
            // TCP, Noise and Yamux, with a bound on setting a connection up: a dial to an
            // unreachable peer fails within DIAL_TIMEOUT instead of waiting out the kernel's
            // SYN retries (minutes), so that the next redial finds a healed link at once.
            .with_other_transport(|key| -> Result<_, Box<dyn std::error::Error + Send + Sync>> {
                Ok(tcp::tokio::Transport::new(tcp::Config::default().nodelay(true))
                    .upgrade(Version::V1)
                    .authenticate(noise::Config::new(key)?)
                    .multiplex(yamux::Config::default())
                    .timeout(DIAL_TIMEOUT))
            })
            .map_err(|e| NetworkError::Transport(e.to_string()))?
            .with_behaviour(|key| -> Result<Behaviour, Box<dyn std::error::Error + Send + Sync>> {
                let gossip_config = gossipsub::ConfigBuilder::default()
                    .max_transmit_size(TX_BATCH_BYTES_MAX + 1024)
                    // Every message is signed by its author's node key, and one whose
                    // signature or author does not check out is dropped by gossipsub.
                    .validation_mode(gossipsub::ValidationMode::Strict)
                    // The rest is relayed only once admission accepted it.
                    .validate_messages()
                    .message_id_fn(|m: &gossipsub::Message| {
                        gossipsub::MessageId::from(panacea_primitives::Hash::digest(&m.data).as_bytes().to_vec())
                    })
                    .heartbeat_interval(Duration::from_millis(700))
                    .build()?;
                let mut gossip =
                    gossipsub::Behaviour::new(gossipsub::MessageAuthenticity::Signed(key.clone()), gossip_config)?;
                let (params, thresholds) = gossip_scoring(&topic);
                gossip.with_peer_score(params, thresholds)?;
                let rr_config = request_response::Config::default()
                    .with_request_timeout(Duration::from_secs(10))
                    .with_max_concurrent_streams(1_024);
                Ok(Behaviour {
                    allowed: allow_block_list::Behaviour::default(),
                    identify: identify::Behaviour::new(identify::Config::new("/panacea/1".into(), key.public())),
                    ping: ping::Behaviour::new(
                        ping::Config::new().with_interval(PING_INTERVAL).with_timeout(PING_TIMEOUT),
                    ),
                    consensus: request_response::Behaviour::with_codec(
                        FrameCodec::new(limit),
                        [(StreamProtocol::new(CONSENSUS_PROTOCOL), ProtocolSupport::Full)],
                        rr_config.clone(),
                    ),
                    sync: request_response::Behaviour::with_codec(
                        FrameCodec::new(limit),
                        [(StreamProtocol::new(SYNC_PROTOCOL), ProtocolSupport::Full)],
                        rr_config.clone(),
                    ),
                    docs: request_response::Behaviour::with_codec(
                        FrameCodec::new(DOCS_FRAME_MAX),
                        [(StreamProtocol::new(DOCS_PROTOCOL), ProtocolSupport::Full)],
                        rr_config.with_request_timeout(Duration::from_secs(30)),
                    ),
                    gossip,
                })
            })
            .map_err(|e| NetworkError::Transport(e.to_string()))?
            .with_swarm_config(|c| c.with_idle_connection_timeout(Duration::from_secs(3_600)))
            .build();
        swarm.behaviour_mut().gossip.subscribe(&topic).map_err(|e| NetworkError::Transport(e.to_string()))?;
        swarm
            .listen_on(settings.listen.clone())
            .map_err(|e| NetworkError::Listen { addr: settings.listen.to_string(), reason: e.to_string() })?;
        // Wait for the listener to report its address (port 0 becomes a real port).
        let peer_id = *swarm.local_peer_id();
        let mut listen = Vec::new();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while listen.is_empty() {
            let event = tokio::time::timeout_at(deadline, swarm.select_next_some()).await.map_err(|_| {
                NetworkError::Listen { addr: settings.listen.to_string(), reason: "no listen address reported".into() }
            })?;
            match event {
                SwarmEvent::NewListenAddr { address, .. } => {
                    listen.push(address.with(libp2p::multiaddr::Protocol::P2p(peer_id)));
                }
                SwarmEvent::ListenerError { error, .. } | SwarmEvent::ListenerClosed { reason: Err(error), .. } => {
                    return Err(NetworkError::Listen { addr: settings.listen.to_string(), reason: error.to_string() });
                }
                _ => {}
            }
        }
        let mut network = Network {
            swarm,
            topic,
            members: BTreeSet::new(),
            connected,
            dial: BTreeMap::new(),
            scores: PeerScores::default(),
            banned: BTreeMap::new(),
            answered: BTreeMap::new(),
            last_check: Instant::now(),
            graylisted: BTreeSet::new(),
            events,
            gossiped,
            gossip_bytes: Arc::default(),
            metrics,
            serving: FuturesUnordered::new(),
            docs_inbound,
            docs_serving: FuturesUnordered::new(),
            docs_pending: BTreeMap::new(),
        };
        network.set_members(settings.members);
        for addr in settings.peers {
            if let Some(libp2p::multiaddr::Protocol::P2p(peer)) = addr.iter().last() {
                network.dial.insert(peer, addr);
            } else {
                tracing::warn!(%addr, "peer address without /p2p/<peer id> ignored");
            }
        }
        network.redial();
        Ok((network, NetworkInfo { peer_id, listen }))
    }

    fn set_members(&mut self, members: Vec<PeerId>) {
        let me = *self.swarm.local_peer_id();
        let new: BTreeSet<PeerId> = members.into_iter().filter(|p| *p != me).collect();
        for gone in self.members.difference(&new) {
            tracing::warn!(peer = %gone, "peer is no longer a member; disconnecting");
            self.swarm.behaviour_mut().allowed.disallow_peer(*gone);
        }
        for peer in &new {
            if !self.banned.contains_key(peer) {
                self.swarm.behaviour_mut().allowed.allow_peer(*peer);
            }
        }
        self.members = new;
    }

    /// Disconnects the peers that have answered no ping for [`SILENCE_MAX`].
    fn drop_silent_peers(&mut self) {
        let now = Instant::now();
        let since_last = now.duration_since(self.last_check);
        self.last_check = now;
        if since_last > SILENCE_MAX / 2 {
            // This node was the one that stopped (suspended, starved of CPU): its peers'
            // silence is its own. Start counting again rather than drop everyone.
            tracing::warn!(late = ?since_last, "the network task was held up; not judging peers");
            for at in self.answered.values_mut() {
                *at = now;
            }
            return;
        }
        let silent: Vec<PeerId> =
            self.answered.iter().filter(|(_, at)| now.duration_since(**at) > SILENCE_MAX).map(|(p, _)| *p).collect();
        for peer in silent {
            tracing::warn!(%peer, silent_s = SILENCE_MAX.as_secs(), "peer stopped answering; disconnecting and redialling");
            self.metrics.peers_lost.inc();
            self.answered.remove(&peer);
            let _ = self.swarm.disconnect_peer_id(peer);
        }
    }

    fn redial(&mut self) {
        let connected = self.connected.lock().map(|c| c.clone()).unwrap_or_default();
        let targets: Vec<(PeerId, Multiaddr)> = self
            .dial
            .iter()
            .filter(|(peer, _)| {
                !connected.contains(peer) && self.members.contains(peer) && !self.banned.contains_key(peer)
            })
            .map(|(p, a)| (*p, a.clone()))
            .collect();
        for (peer, addr) in targets {
            let opts = libp2p::swarm::dial_opts::DialOpts::peer_id(peer).addresses(vec![addr]).build();
            if let Err(e) = self.swarm.dial(opts) {
                tracing::debug!(%peer, error = %e, "dial failed");
            }
        }
    }

    /// Scores a bad message against `peer`, the one that wrote it: the sender of a direct
    /// request, or the signed author of gossip. Bans it at [`BAN_SCORE`].
    fn punish(&mut self, peer: PeerId, why: &str) {
        self.metrics.bad_messages.inc();
        let now = Instant::now();
        let score = self.scores.strike(peer, now);
        tracing::warn!(%peer, score, why, "peer sent a bad message");
        if score >= BAN_SCORE && !self.banned.contains_key(&peer) {
            tracing::warn!(%peer, "banning peer for {} s", BAN_DURATION.as_secs());
            self.metrics.peers_banned.inc();
            self.banned.insert(peer, now + BAN_DURATION);
            self.scores.forget(&peer);
            self.swarm.behaviour_mut().allowed.disallow_peer(peer);
        }
    }

    /// Hands a gossiped message to admission; gossipsub holds it until the verdict.
    fn on_gossip(&mut self, relay: PeerId, id: gossipsub::MessageId, message: gossipsub::Message) {
        // Strict validation checked the signature: `source` wrote it. An author that is not
        // a member in this node's view (removed, or not yet added here) is not judged:
        // the message is dropped, and nobody penalised.
        let author = match message.source {
            Some(author) if self.members.contains(&author) => author,
            _ => {
                self.swarm.behaviour_mut().gossip.report_message_validation_result(
                    &id,
                    &relay,
                    gossipsub::MessageAcceptance::Ignore,
                );
                return;
            }
        };
        let Some(held) = HeldBytes::take(&self.gossip_bytes, message.data.len()) else {
            // Too many bytes wait for admission already: not relayed, held against nobody.
            self.metrics.dropped_events.inc();
            self.swarm.behaviour_mut().gossip.report_message_validation_result(
                &id,
                &relay,
                gossipsub::MessageAcceptance::Ignore,
            );
            return;
        };
        let gossiped = Gossiped { id: id.clone(), relay, author, data: message.data, held };
        if self.gossiped.try_send(gossiped).is_err() {
            // Admission is behind: the message is not relayed, and held against nobody.
            self.metrics.dropped_events.inc();
            self.swarm.behaviour_mut().gossip.report_message_validation_result(
                &id,
                &relay,
                gossipsub::MessageAcceptance::Ignore,
            );
        }
    }

    fn on_verdict(&mut self, id: &gossipsub::MessageId, relay: PeerId, author: PeerId, verdict: Verdict) {
        let acceptance = match &verdict {
            Verdict::Accept => gossipsub::MessageAcceptance::Accept,
            Verdict::Ignore => gossipsub::MessageAcceptance::Ignore,
            Verdict::Reject(_) => gossipsub::MessageAcceptance::Reject,
        };
        self.swarm.behaviour_mut().gossip.report_message_validation_result(id, &relay, acceptance);
        if let Verdict::Reject(why) = verdict {
            self.metrics.gossip_rejected.inc();
            tracing::warn!(%author, %relay, why, "gossip refused; its author answers for it");
            self.punish(author, "it signed gossip that no honest node sends");
        }
    }

    /// Reports peers whose gossipsub score fell below the graylist threshold: gossipsub
    /// ignores their gossip until the score decays back.
    fn watch_gossip_scores(&mut self) {
        let connected = self.connected.lock().map(|c| c.clone()).unwrap_or_default();
        self.graylisted.retain(|p| connected.contains(p));
        for peer in connected {
            let score = self.swarm.behaviour().gossip.peer_score(&peer).unwrap_or(0.0);
            if score > GOSSIP_GRAYLIST_SCORE {
                self.graylisted.remove(&peer);
            } else if self.graylisted.insert(peer) {
                self.metrics.gossip_graylisted.inc();
                tracing::warn!(
                    %peer,
                    score,
                    "peer graylisted for gossip: it delivered messages that failed validation (a bad or missing \
                     signature, a forged author, or refused content); its gossip is ignored until its score decays"
                );
            }
        }
    }

    fn unban_expired(&mut self) {
        let now = Instant::now();
        let expired: Vec<PeerId> = self.banned.iter().filter(|(_, until)| **until <= now).map(|(p, _)| *p).collect();
        for peer in expired {
            self.banned.remove(&peer);
            if self.members.contains(&peer) {
                self.swarm.behaviour_mut().allowed.allow_peer(peer);
            }
        }
    }

    fn forward(&mut self, event: NetEvent) {
        // The shell's queue is bounded; when it is full the event is dropped and counted:
        // consensus recovers lost messages by timeouts and sync, never by blocking here.
        if self.events.try_send(event).is_err() {
            self.metrics.dropped_events.inc();
        }
    }

    fn handle_command(&mut self, command: NetCommand) {
        match command {
            NetCommand::Send { to, bytes } => {
                self.swarm.behaviour_mut().consensus.send_request(&to, Inbound::Valid(bytes.to_vec()));
            }
            NetCommand::Broadcast { bytes } => {
                let peers: Vec<PeerId> = self.connected.lock().map(|c| c.iter().copied().collect()).unwrap_or_default();
                for peer in peers {
                    self.swarm.behaviour_mut().consensus.send_request(&peer, Inbound::Valid(bytes.to_vec()));
                }
            }
            NetCommand::Sync { to, request } => {
                self.swarm.behaviour_mut().sync.send_request(&to, Inbound::Valid(request));
            }
            NetCommand::PublishTransactions(batch) => {
                let bytes = codec::encode(&batch);
                if let Err(e) = self.swarm.behaviour_mut().gossip.publish(self.topic.clone(), bytes) {
                    // No peer subscribed yet (a single node, or peers still connecting): the
                    // transactions stay in this node's pool and reach a block from here.
                    tracing::debug!(error = %e, "transaction gossip not sent");
                }
            }
            NetCommand::GossipVerdict { id, relay, author, verdict } => self.on_verdict(&id, relay, author, verdict),
            NetCommand::SetMembers(members) => self.set_members(members),
            NetCommand::FetchChunk { to, request, reply } => {
                if self.docs_pending.len() >= DOCS_IN_FLIGHT_MAX {
                    let _ = reply.send(None);
                    return;
                }
                let id = self.swarm.behaviour_mut().docs.send_request(&to, Inbound::Valid(request));
                self.docs_pending.insert(id, reply);
            }
        }
    }

    fn handle_swarm_event(&mut self, event: SwarmEvent<BehaviourEvent>) {
        match event {
            SwarmEvent::ConnectionEstablished { peer_id, endpoint, num_established, .. } => {
                tracing::info!(peer = %peer_id, addr = %endpoint.get_remote_address(), "peer connected");
                self.answered.insert(peer_id, Instant::now());
                if num_established.get() == 1 {
                    self.forward(NetEvent::PeerConnected(peer_id));
                }
                if let Ok(mut connected) = self.connected.lock() {
                    connected.insert(peer_id);
                    self.metrics.peers.set(i64::try_from(connected.len()).unwrap_or(i64::MAX));
                }
            }
            SwarmEvent::ConnectionClosed { peer_id, num_established, .. } => {
                if num_established == 0
                    && let Ok(mut connected) = self.connected.lock()
                {
                    connected.remove(&peer_id);
                    self.answered.remove(&peer_id);
                    self.metrics.peers.set(i64::try_from(connected.len()).unwrap_or(i64::MAX));
                    tracing::info!(peer = %peer_id, "peer disconnected");
                }
            }
            SwarmEvent::IncomingConnectionError { error, send_back_addr, .. } => {
                if matches!(error, libp2p::swarm::ListenError::Denied { .. }) {
                    self.metrics.connections_denied.inc();
                    tracing::warn!(addr = %send_back_addr, "refused a connection from a node outside the consortium");
                }
            }
            SwarmEvent::OutgoingConnectionError { peer_id, error, .. } => {
                if matches!(error, libp2p::swarm::DialError::Denied { .. }) {
                    self.metrics.connections_denied.inc();
                }
                tracing::debug!(peer = ?peer_id, error = %error, "dial failed");
            }
            SwarmEvent::Behaviour(event) => self.handle_behaviour_event(event),
            _ => {}
        }
    }

    fn handle_behaviour_event(&mut self, event: BehaviourEvent) {
        use request_response::{Event, InboundFailure, Message as RrMessage};
        match event {
            BehaviourEvent::Ping(ping::Event { peer, result: Ok(_), .. }) if self.answered.contains_key(&peer) => {
                self.answered.insert(peer, Instant::now());
            }
            BehaviourEvent::Ping(ping::Event { peer, result: Err(ping::Failure::Unsupported), .. }) => {
                // Not a Panacea node (a tool speaking only request-response): its liveness
                // is not watched.
                self.answered.remove(&peer);
            }
            BehaviourEvent::Ping(ping::Event { peer, connection, result: Err(error), .. }) => {
                tracing::warn!(%peer, %error, "peer stopped answering; closing the connection and redialling");
                self.metrics.peers_lost.inc();
                self.swarm.close_connection(connection);
            }
            BehaviourEvent::Identify(identify::Event::Received { peer_id, info, .. }) => {
                // Remember where a member listens so that it can be dialled again later.
                if self.members.contains(&peer_id)
                    && let Some(addr) = info.listen_addrs.iter().find(|a| is_loopback_or_routable(a))
                {
                    self.dial.insert(peer_id, addr.clone().with(libp2p::multiaddr::Protocol::P2p(peer_id)));
                }
            }
            BehaviourEvent::Consensus(Event::Message { peer, message, .. }) => match message {
                RrMessage::Request { request, channel, .. } => {
                    let _ = self.swarm.behaviour_mut().consensus.send_response(channel, ());
                    match request {
                        Inbound::Valid(bytes) => match Message::decode(&bytes) {
                            Ok(message) => self.forward(NetEvent::Consensus { from: peer, message }),
                            Err(e) => self.punish(peer, &format!("consensus message does not decode: {e}")),
                        },
                        Inbound::Invalid(reason) => self.punish(peer, &format!("consensus frame refused: {reason}")),
                    }
                }
                RrMessage::Response { .. } => {}
            },
            BehaviourEvent::Docs(Event::Message { peer, message, .. }) => match message {
                RrMessage::Request { request, channel, .. } => {
                    let request = match request {
                        Inbound::Valid(request) => request,
                        Inbound::Invalid(reason) => {
                            self.punish(peer, &format!("document request refused: {reason}"));
                            return;
                        }
                    };
                    let (reply, answer) = oneshot::channel();
                    if self.docs_serving.len() >= DOCS_IN_FLIGHT_MAX
                        || self.docs_inbound.try_send(DocServe { from: peer, request, reply }).is_err()
                    {
                        let busy = DocResponse::Unavailable("busy".into());
                        let _ = self.swarm.behaviour_mut().docs.send_response(channel, busy);
                        return;
                    }
                    self.docs_serving.push(async move { (channel, answer.await.ok()) }.boxed());
                }
                RrMessage::Response { request_id, response } => {
                    if let Some(reply) = self.docs_pending.remove(&request_id) {
                        let _ = reply.send(Some(response));
                    }
                }
            },
            BehaviourEvent::Docs(Event::OutboundFailure { request_id, peer, error, .. }) => {
                tracing::debug!(%peer, %error, "document request failed");
                if let Some(reply) = self.docs_pending.remove(&request_id) {
                    let _ = reply.send(None);
                }
            }
            BehaviourEvent::Consensus(Event::InboundFailure { peer, error, .. })
            | BehaviourEvent::Sync(Event::InboundFailure { peer, error, .. })
            | BehaviourEvent::Docs(Event::InboundFailure { peer, error, .. }) => {
                if let InboundFailure::Io(e) = &error
                    && e.kind() == io::ErrorKind::InvalidData
                {
                    self.punish(peer, &e.to_string());
                } else {
                    tracing::debug!(%peer, %error, "inbound request failed");
                }
            }
            BehaviourEvent::Consensus(Event::OutboundFailure { peer, error, .. }) => {
                tracing::debug!(%peer, %error, "consensus message not delivered");
            }
            BehaviourEvent::Sync(Event::Message { peer, message, .. }) => match message {
                RrMessage::Request { request, channel, .. } => {
                    let request = match request {
                        Inbound::Valid(request) => request,
                        Inbound::Invalid(reason) => {
                            self.punish(peer, &format!("sync request refused: {reason}"));
                            return;
                        }
                    };
                    if self.serving.len() >= SERVING_MAX {
                        tracing::debug!(%peer, "too many sync requests in flight; dropping one");
                        return;
                    }
                    let (reply, answer) = oneshot::channel();
                    self.forward(NetEvent::SyncRequested { request, reply });
                    self.serving.push(async move { (channel, answer.await.ok()) }.boxed());
                }
                RrMessage::Response { response, .. } => {
                    self.forward(NetEvent::SyncAnswered { from: peer, response: Some(response) });
                }
            },
            BehaviourEvent::Sync(Event::OutboundFailure { peer, error, .. }) => {
                tracing::debug!(%peer, %error, "sync request failed");
                self.forward(NetEvent::SyncAnswered { from: peer, response: None });
            }
            BehaviourEvent::Gossip(gossipsub::Event::Message { propagation_source, message_id, message }) => {
                self.on_gossip(propagation_source, message_id, message);
            }
            _ => {}
        }
    }

    /// Runs until the command channel closes.
    pub async fn run(mut self, mut commands: mpsc::Receiver<NetCommand>) {
        let mut tick = tokio::time::interval(REDIAL_INTERVAL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                command = commands.recv() => match command {
                    Some(command) => self.handle_command(command),
                    None => return,
                },
                event = self.swarm.select_next_some() => self.handle_swarm_event(event),
                Some((channel, answer)) = self.serving.next(), if !self.serving.is_empty() => {
                    if let Some(answer) = answer {
                        let _ = self.swarm.behaviour_mut().sync.send_response(channel, answer);
                    }
                }
                Some((channel, answer)) = self.docs_serving.next(), if !self.docs_serving.is_empty() => {
                    let answer = answer.unwrap_or_else(|| DocResponse::Unavailable("not answered".into()));
                    let _ = self.swarm.behaviour_mut().docs.send_response(channel, answer);
                }
                _ = tick.tick() => {
                    self.drop_silent_peers();
                    self.unban_expired();
                    self.scores.prune(Instant::now());
                    self.watch_gossip_scores();
                    self.redial();
                }
            }
        }
    }
}

fn is_loopback_or_routable(addr: &Multiaddr) -> bool {
    match addr.iter().next() {
        Some(libp2p::multiaddr::Protocol::Ip4(ip)) => !ip.is_unspecified(),
        Some(libp2p::multiaddr::Protocol::Ip6(ip)) => !ip.is_unspecified(),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gossip_waiting_for_admission_is_bounded_in_bytes_and_given_back() {
        let total = Arc::new(AtomicUsize::new(0));
        let first = HeldBytes::take(&total, GOSSIP_VALIDATION_BYTES_MAX - 10).expect("room");
        assert!(HeldBytes::take(&total, 11).is_none(), "past the byte bound");
        let second = HeldBytes::take(&total, 10).expect("exactly up to the bound");
        drop(first);
        assert_eq!(total.load(Ordering::Acquire), 10, "a dropped message gives its bytes back");
        drop(second);
        assert_eq!(total.load(Ordering::Acquire), 0);
    }

    #[test]
    fn strikes_add_up_quickly_and_fade_slowly() {
        let mut scores = PeerScores::default();
        let peer = PeerId::random();
        let t0 = Instant::now();
        assert!(scores.strike(peer, t0) < BAN_SCORE);
        assert!(scores.strike(peer, t0) < BAN_SCORE);
        assert!(scores.strike(peer, t0 + Duration::from_secs(1)) >= BAN_SCORE, "three strikes at once ban");
        // An honest node's rare bad frame, one per half-life, never reaches a ban.
        let honest = PeerId::random();
        let mut worst = 0.0f64;
        for k in 0..100u32 {
            worst = worst.max(scores.strike(honest, t0 + SCORE_HALF_LIFE * k));
        }
        assert!(worst < BAN_SCORE, "{worst}");
        // Scores fade away and are forgotten.
        scores.prune(t0 + SCORE_HALF_LIFE * 120);
        assert!(scores.scores.is_empty());
    }

    #[test]
    fn scores_are_bounded() {
        let mut scores = PeerScores::default();
        let now = Instant::now();
        for _ in 0..SCORES_MAX + 10 {
            scores.strike(PeerId::random(), now);
        }
        assert_eq!(scores.scores.len(), SCORES_MAX);
    }

    #[test]
    fn the_scoring_parameters_are_valid() {
        let (params, thresholds) = gossip_scoring(&transactions_topic("test"));
        assert_eq!(params.validate(), Ok(()));
        assert_eq!(thresholds.validate(), Ok(()));
        // Three invalid messages graylist; two do not.
        assert!(3.0f64.powi(2) * GOSSIP_INVALID_WEIGHT <= GOSSIP_GRAYLIST_SCORE);
        assert!(2.0f64.powi(2) * GOSSIP_INVALID_WEIGHT > GOSSIP_GRAYLIST_SCORE);
    }
}
