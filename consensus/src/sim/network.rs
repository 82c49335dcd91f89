//! Links between simulated nodes: latency, jitter (hence reordering), loss,
//! duplication, and partitions.

use super::rng::Rng;

/// How messages travel while faults last.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LinkParams {
    /// Fixed one-way delay.
    pub latency_ms: u64,
    /// Extra delay drawn uniformly from `0..=jitter_ms`; messages overtake each other.
    pub jitter_ms: u64,
    /// Probability of loss, per mille.
    pub loss_per_mille: u64,
    /// Probability that a message is delivered twice, per mille.
    pub duplicate_per_mille: u64,
}

impl LinkParams {
    /// Hospitals across a country: 40-120 ms one way, no loss.
    pub fn wan() -> LinkParams {
        LinkParams { latency_ms: 40, jitter_ms: 80, loss_per_mille: 0, duplicate_per_mille: 0 }
    }

    /// A bad network: up to 25 % loss, 10 % duplication, jitter up to 400 ms.
    pub fn lossy(rng: &mut Rng) -> LinkParams {
        LinkParams {
            latency_ms: rng.range(20, 80),
            jitter_ms: rng.range(50, 400),
            loss_per_mille: rng.range(20, 250),
            duplicate_per_mille: rng.range(0, 100),
        }
    }
}

/// The network: link parameters and the current partition.
#[derive(Debug, Clone)]
pub struct Network {
    link: LinkParams,
    /// Group of each node slot; messages cross groups only when `None`.
    groups: Option<Vec<u8>>,
}

impl Network {
    /// A connected network with `link`.
    pub fn new(link: LinkParams) -> Network {
        Network { link, groups: None }
    }

    /// Changes the link behaviour.
    pub fn set_link(&mut self, link: LinkParams) {
        self.link = link;
    }

    /// Splits the network.
    pub fn partition(&mut self, groups: Vec<u8>) {
        self.groups = Some(groups);
    }

    /// Reconnects every node.
    pub fn heal(&mut self) {
        self.groups = None;
    }

    /// True if `from` and `to` can reach each other now.
    pub fn connected(&self, from: usize, to: usize) -> bool {
        match &self.groups {
            None => true,
            Some(groups) => groups.get(from) == groups.get(to),
        }
    }

    /// The delays after which copies of a message sent now from `from` to `to` arrive:
    /// none if it is lost or partitioned away, two if it is duplicated.
    pub fn delays(&self, from: usize, to: usize, rng: &mut Rng) -> Vec<u64> {
        if !self.connected(from, to) || rng.chance(self.link.loss_per_mille) {
            return Vec::new();
        }
        let mut delays = vec![self.link.latency_ms + rng.below(self.link.jitter_ms + 1)];
        if rng.chance(self.link.duplicate_per_mille) {
            delays.push(self.link.latency_ms + rng.below(self.link.jitter_ms + 1));
        }
        delays
    }
}
