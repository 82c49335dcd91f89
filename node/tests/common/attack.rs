//! A libp2p peer that sends raw frames on the consensus protocol, gossips what it likes on
//! the transaction topic, or asks for document chunks as another node would.

use std::io;
use std::time::Duration;

use futures::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, StreamExt};
use libp2p::request_response::{self, ProtocolSupport};
use libp2p::swarm::SwarmEvent;
use libp2p::{Multiaddr, PeerId, StreamProtocol, gossipsub, noise, tcp, yamux};
use panacea_node::network::{CONSENSUS_PROTOCOL, DOCS_PROTOCOL, DocRequest, DocResponse, FrameCodec, Inbound};

/// Writes requests verbatim, with no framing of its own.
#[derive(Debug, Clone, Default)]
pub struct RawCodec;

impl request_response::Codec for RawCodec {
    type Protocol = StreamProtocol;
    type Request = Vec<u8>;
    type Response = ();

    async fn read_request<T: AsyncRead + Unpin + Send>(
        &mut self,
        _: &StreamProtocol,
        _: &mut T,
    ) -> io::Result<Vec<u8>> {
        Err(io::Error::other("the attacker serves nothing"))
    }

    async fn read_response<T: AsyncRead + Unpin + Send>(&mut self, _: &StreamProtocol, io: &mut T) -> io::Result<()> {
        let mut byte = [0u8; 1];
        io.read_exact(&mut byte).await
    }

    async fn write_request<T: AsyncWrite + Unpin + Send>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        req: Vec<u8>,
    ) -> io::Result<()> {
        io.write_all(&req).await?;
        io.close().await
    }

    async fn write_response<T: AsyncWrite + Unpin + Send>(
        &mut self,
        _: &StreamProtocol,
        _: &mut T,
        (): (),
    ) -> io::Result<()> {
        Ok(())
    }
}

/// Dials `target` as `identity` and sends each of `frames` as a raw consensus request,
/// waiting (bounded) for each to be answered or to fail.
pub async fn dial_and_send(identity: libp2p::identity::Keypair, target: Multiaddr, frames: Vec<Vec<u8>>) {
    let mut swarm = libp2p::SwarmBuilder::with_existing_identity(identity)
        .with_tokio()
        .with_tcp(tcp::Config::default(), noise::Config::new, yamux::Config::default)
        .unwrap()
        .with_behaviour(|_| {
            request_response::Behaviour::with_codec(
                RawCodec,
                [(StreamProtocol::new(CONSENSUS_PROTOCOL), ProtocolSupport::Outbound)],
                request_response::Config::default().with_request_timeout(Duration::from_secs(10)),
            )
        })
        .unwrap()
        .build();
    let Some(libp2p::multiaddr::Protocol::P2p(peer)) = target.iter().last() else { panic!("address without peer id") };
    swarm.dial(target).unwrap();
    let deadline = tokio::time::Instant::now() + super::DEADLINE;
    let mut pending = 0usize;
    let mut sent = false;
    loop {
        let event = match tokio::time::timeout_at(deadline, swarm.select_next_some()).await {
            Ok(event) => event,
            Err(_) => panic!("the attack did not finish in time"),
        };
        match event {
            SwarmEvent::ConnectionEstablished { .. } if !sent => {
                sent = true;
                for frame in &frames {
                    swarm.behaviour_mut().send_request(&peer, frame.clone());
                    pending += 1;
                }
            }
            SwarmEvent::Behaviour(request_response::Event::OutboundFailure { .. })
            | SwarmEvent::Behaviour(request_response::Event::Message { .. }) => {
                pending = pending.saturating_sub(1);
                if pending == 0 {
                    return;
                }
            }
            // With nothing to send, the dialler waits for the node to close (or refuse)
            // the connection.
            SwarmEvent::ConnectionClosed { .. } | SwarmEvent::OutgoingConnectionError { .. } if frames.is_empty() => {
                return;
            }
            _ => {}
        }
    }
}

/// Dials `target` as `identity` and asks for one document chunk on the data-plane
/// protocol; returns the answer (`None` if the request failed).
pub async fn ask_for_chunk(
    identity: libp2p::identity::Keypair,
    target: Multiaddr,
    request: DocRequest,
) -> Option<DocResponse> {
    let mut swarm = libp2p::SwarmBuilder::with_existing_identity(identity)
        .with_tokio()
        .with_tcp(tcp::Config::default(), noise::Config::new, yamux::Config::default)
        .unwrap()
        .with_behaviour(|_| {
            request_response::Behaviour::<FrameCodec<Inbound<DocRequest>, DocResponse>>::with_codec(
                FrameCodec::new(4 * 1024 * 1024),
                [(StreamProtocol::new(DOCS_PROTOCOL), ProtocolSupport::Outbound)],
                request_response::Config::default().with_request_timeout(Duration::from_secs(30)),
            )
        })
        .unwrap()
        .build();
    let Some(libp2p::multiaddr::Protocol::P2p(peer)) = target.iter().last() else { panic!("address without peer id") };
    swarm.dial(target).unwrap();
    let deadline = tokio::time::Instant::now() + super::DEADLINE;
    loop {
        let event = match tokio::time::timeout_at(deadline, swarm.select_next_some()).await {
            Ok(event) => event,
            Err(_) => panic!("the chunk request did not finish in time"),
        };
        match event {
            SwarmEvent::ConnectionEstablished { .. } => {
                swarm.behaviour_mut().send_request(&peer, Inbound::Valid(request.clone()));
            }
            SwarmEvent::Behaviour(request_response::Event::Message {
                message: request_response::Message::Response { response, .. },
                ..
            }) => return Some(response),
            SwarmEvent::Behaviour(request_response::Event::OutboundFailure { .. })
            | SwarmEvent::OutgoingConnectionError { .. } => return None,
            _ => {}
        }
    }
}

/// Who a gossiping attacker claims wrote its messages.
#[derive(Debug, Clone, Copy)]
pub enum Authorship {
    /// Its own identity, with valid gossip signatures.
    Signed,
    /// Another peer, without a signature (a forged author).
    Forged(PeerId),
}

/// Dials `target` as `identity`, waits until the node subscribes to `topic`, and publishes
/// each of `messages` on it, to that node only. Returns once they are handed to the
/// connection; the returned task keeps the connection open until the node closes it (or
/// the task is aborted), so that the node's verdicts do not depend on the attacker leaving.
pub async fn gossip(
    identity: libp2p::identity::Keypair,
    target: Multiaddr,
    topic: &str,
    authorship: Authorship,
    messages: Vec<Vec<u8>>,
) -> tokio::task::JoinHandle<()> {
    let mut swarm = libp2p::SwarmBuilder::with_existing_identity(identity)
        .with_tokio()
        .with_tcp(tcp::Config::default(), noise::Config::new, yamux::Config::default)
        .unwrap()
        .with_behaviour(|key| {
            let authenticity = match authorship {
                Authorship::Signed => gossipsub::MessageAuthenticity::Signed(key.clone()),
                Authorship::Forged(author) => gossipsub::MessageAuthenticity::Author(author),
            };
            // Permissive: the attacker sends whatever it was told to.
            let config = gossipsub::ConfigBuilder::default()
                .validation_mode(gossipsub::ValidationMode::Permissive)
                .max_transmit_size(4 * 1024 * 1024)
                .build()
                .unwrap();
            gossipsub::Behaviour::<gossipsub::IdentityTransform, gossipsub::AllowAllSubscriptionFilter>::new(
                authenticity,
                config,
            )
            .unwrap()
        })
        .unwrap()
        .with_swarm_config(|c| c.with_idle_connection_timeout(Duration::from_secs(600)))
        .build();
    let topic = gossipsub::IdentTopic::new(topic);
    swarm.behaviour_mut().subscribe(&topic).unwrap();
    let Some(libp2p::multiaddr::Protocol::P2p(node)) = target.iter().last() else { panic!("address without peer id") };
    swarm.dial(target).unwrap();
    let (published, on_published) = tokio::sync::oneshot::channel();
    let name = topic.to_string();
    let task = tokio::spawn(async move {
        let mut published = Some(published);
        loop {
            match swarm.select_next_some().await {
                SwarmEvent::Behaviour(gossipsub::Event::Subscribed { peer_id, .. }) if peer_id == node => {
                    if let Some(published) = published.take() {
                        for message in &messages {
                            swarm.behaviour_mut().publish(topic.clone(), message.clone()).unwrap();
                        }
                        let _ = published.send(());
                    }
                }
                SwarmEvent::ConnectionClosed { .. } | SwarmEvent::OutgoingConnectionError { .. } => return,
                _ => {}
            }
        }
    });
    match tokio::time::timeout(super::DEADLINE, on_published).await {
        Ok(Ok(())) => task,
        Ok(Err(_)) => panic!("the connection closed before the node subscribed to {name}"),
        Err(_) => panic!("the node did not subscribe to {name} in time"),
    }
}
