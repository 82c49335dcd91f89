//! How simulated hosts exchange messages and blocks: by key, since validator indices
//! mean something only within one epoch; what Byzantine hosts do to what they send; and
//! what a host does with a message of another epoch.

use panacea_primitives::ValidatorIndex;

use super::byzantine::{self, Behaviour};
use super::epochs::message_epoch;
use super::{Event, Simulation, Status};
use crate::event::Input;
use crate::messages::{BlockRequest, Message};

/// Most messages of the next epoch a host keeps until it switches.
const EARLY_MESSAGES_MAX: usize = 256;

/// Who a message goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Dest {
    /// Every other running node (validators and observers).
    All,
    /// The node(s) holding this validator's key, as indexed in the sender's epoch.
    Validator(ValidatorIndex),
    /// One node slot.
    Node(usize),
}

impl Simulation {
    /// Sends `message` from `node` through the network (and its Byzantine behaviour).
    pub(super) fn send(&mut self, node: usize, dest: Dest, message: Message) {
        let outgoing = match self.nodes[node].behaviour {
            None => {
                if self.nodes[node].honest {
                    self.checker.sent_by_honest(&message);
                }
                vec![(dest, message)]
            }
            Some(behaviour) => self.misbehave(node, behaviour, dest, message),
        };
        for (dest, message) in outgoing {
            let key = match dest {
                Dest::Validator(v) => match self.nodes[node].config.validators.key(v) {
                    Some(key) => Some(*key),
                    None => continue,
                },
                _ => None,
            };
            for peer in 0..self.nodes.len() {
                let p = &self.nodes[peer];
                let addressed = match dest {
                    Dest::All => p.status == Status::Active,
                    Dest::Validator(_) => key.is_some_and(|key| p.public == key),
                    Dest::Node(to) => peer == to,
                };
                if peer == node || !addressed {
                    continue;
                }
                for delay in self.network.delays(node, peer, &mut self.rng) {
                    self.schedule(self.now + delay, Event::Deliver { to: peer, from: node, message: message.clone() });
                }
            }
        }
    }

    /// A message from node slot `from` reaches `to`. Its host hands it to the replica as
    /// from the sender's validator index in its own epoch; a message of another epoch
    /// means one of the two is behind.
    pub(super) fn deliver(&mut self, to: usize, from: usize, message: Message) {
        let n = &self.nodes[to];
        if n.replica.is_none() {
            return;
        }
        let mine = n.config.validators.epoch();
        let theirs = message_epoch(&message);
        if theirs < mine {
            self.help_lagging(to, from, theirs);
            return;
        }
        if theirs > mine {
            let early = &mut self.nodes[to].early;
            if theirs.0 == mine.0 + 1 && early.len() < EARLY_MESSAGES_MAX {
                early.push((from, message));
            }
            self.ask_for_help(to, from);
            return;
        }
        let Some(index) = n.config.validators.index_of(&self.nodes[from].public) else { return };
        self.feed(to, Input::Message { from: index, message });
    }

    /// A fetch goes to the node(s) holding the key of validator `from` of the
    /// requester's epoch.
    pub(super) fn route_fetch(&mut self, node: usize, from: ValidatorIndex, request: BlockRequest) {
        let Some(key) = self.nodes[node].config.validators.key(from).copied() else { return };
        for peer in 0..self.nodes.len() {
            if peer != node && self.nodes[peer].public == key {
                for delay in self.network.delays(node, peer, &mut self.rng) {
                    self.schedule(self.now + delay, Event::FetchRequest { to: peer, requester: node, request });
                }
            }
        }
    }

    fn misbehave(&mut self, node: usize, behaviour: Behaviour, dest: Dest, message: Message) -> Vec<(Dest, Message)> {
        let key = self.nodes[node].key.clone();
        let validators = self.nodes[node].config.validators.clone();
        match (behaviour, &message) {
            (Behaviour::Silent, _) => Vec::new(),
            (Behaviour::Equivocate, Message::Proposal(proposal)) => {
                let payload = self.build_payload(node, proposal.block.header.round, true);
                let other = byzantine::equivocate(proposal, payload, &key, &validators);
                // Half the validators get one block, half the other, and one of them
                // gets both (an equivocator cannot know who compares notes).
                let mut out = Vec::new();
                let both = self.rng.index(validators.len());
                let other = Message::Proposal(other);
                for (i, v) in validators.indices().enumerate() {
                    let (first, second) = if self.rng.chance(500) { (&message, &other) } else { (&other, &message) };
                    out.push((Dest::Validator(v), first.clone()));
                    if i == both {
                        out.push((Dest::Validator(v), second.clone()));
                    }
                }
                out
            }
            (Behaviour::InvalidPayload, Message::Proposal(proposal)) => {
                let payload = self.build_payload(node, proposal.block.header.round, false);
                let bad = byzantine::equivocate(proposal, payload, &key, &validators);
                vec![(dest, Message::Proposal(bad))]
            }
            (Behaviour::DoubleVote, Message::Vote(vote)) => {
                let other = byzantine::double_vote(vote, &key, &validators, &mut self.rng);
                vec![(dest, message.clone()), (dest, Message::Vote(other))]
            }
            (Behaviour::Corrupt, _) => {
                let mut out: Vec<_> =
                    byzantine::corrupt(&message, &validators, &mut self.rng).into_iter().map(|m| (dest, m)).collect();
                if self.rng.chance(300) {
                    out.push((dest, message));
                }
                out
            }
            (Behaviour::Flood, _) => {
                let mut out: Vec<_> = byzantine::flood(&message, &key, &validators, &mut self.rng)
                    .into_iter()
                    .map(|m| (Dest::All, m))
                    .collect();
                out.push((dest, message));
                out
            }
            _ => vec![(dest, message)],
        }
    }

    /// Answers a fetch from the committed chain, the blocks kept from the end of past
    /// epochs, and the replica's block tree.
    pub(super) fn serve_fetch(&mut self, node: usize, requester: usize, request: BlockRequest) {
        let n = &self.nodes[node];
        let Some(replica) = n.replica.as_ref() else { return };
        if n.behaviour == Some(Behaviour::Silent) {
            return;
        }
        let mut blocks = Vec::new();
        let mut cursor = request.block_id;
        while blocks.len() < request.count as usize {
            let block = match n.chain_index.get(&cursor) {
                Some(position) => n.chain.get(*position).cloned(),
                None => n.abandoned.get(&cursor).cloned().or_else(|| replica.block(&cursor)),
            };
            let Some(block) = block else { break };
            if block.header.height <= request.above_height {
                break;
            }
            cursor = block.header.parent();
            blocks.push(block);
        }
        if blocks.is_empty() {
            return;
        }
        for delay in self.network.delays(node, requester, &mut self.rng) {
            self.schedule(self.now + delay, Event::FetchResponse { to: requester, blocks: blocks.clone() });
        }
    }
}
