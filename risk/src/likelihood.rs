//! Likelihood arithmetic and shortest paths.
//!
//! A step of rate λ costs `1/λ`; a path costs `M = Σ 1/λᵢ` and has likelihood `L = -20·log10((M-1)/M)`.
//! L decreases as M grows, so the most likely path is the one of least M: Dijkstra with a binary heap,
//! ties broken by node index (the heap orders (cost, node)); a node's predecessor is the first one that
//! gave it its final cost. Structural edges (privilege implication, hubs, credential -> device) cost 0.

use std::cmp::Reverse;
use std::collections::{BTreeSet, BinaryHeap};

/// The largest likelihood: the value for `M <= 1 + 1e-5`, where the formula would go to infinity (M = 1)
/// or NaN (M < 1). `-20·log10(1e-5 / (1 + 1e-5)) ≈ 100.00009`, so 100 is a continuous clamp.
pub const L_MAX: f64 = 100.0;

/// `L = -20·log10((M-1)/M)`, clamped to [0, [`L_MAX`]]; M infinite or NaN (no path) gives 0, `M <= 1`
/// (the entry itself, or a single step of rate >= 1) gives [`L_MAX`]. Never NaN, never infinite.
pub fn likelihood(m: f64) -> f64 {
    if m.is_nan() || m == f64::INFINITY {
        return 0.0;
    }
    if m <= 1.0 {
        return L_MAX;
    }
    let l = -20.0 * ((m - 1.0) / m).log10();
    if l.is_nan() { 0.0 } else { l.clamp(0.0, L_MAX) }
}

/// A likelihood in thousandths, rounded to nearest (0..=100_000).
pub fn to_milli(l: f64) -> u32 {
    let v = (l * 1000.0).round();
    if v.is_nan() || v <= 0.0 {
        0
    } else if v >= 100_000.0 {
        100_000
    } else {
        v as u32
    }
}

/// The cost of a step of rate `rate`: `1/rate`, or `None` (no edge) when the rate is 0, negative or NaN.
pub fn step_cost(rate: f64) -> Option<f64> {
    (rate > 0.0 && rate.is_finite()).then(|| 1.0 / rate)
}

/// A directed graph in compressed sparse row form with non-negative costs.
#[derive(Debug, Clone, Default)]
pub struct Graph {
    offsets: Vec<u32>,
    targets: Vec<u32>,
    costs: Vec<f64>,
}

/// Result of a single-run Dijkstra.
#[derive(Debug, Clone)]
pub struct ShortestPaths {
    /// Least cost to each node (`f64::INFINITY` when unreached).
    pub cost: Vec<f64>,
    /// Predecessor on the best path (`u32::MAX` for sources and unreached nodes).
    pub pred: Vec<u32>,
}

impl ShortestPaths {
    /// The best path to `node`, sources first; empty when unreached.
    pub fn path_to(&self, node: u32) -> Vec<u32> {
        let mut out = Vec::new();
        if self.cost.get(node as usize).is_none_or(|c| !c.is_finite()) {
            return out;
        }
        let mut n = node;
        while n != u32::MAX && out.len() <= self.pred.len() {
            out.push(n);
            n = self.pred.get(n as usize).copied().unwrap_or(u32::MAX);
        }
        out.reverse();
        out
    }
}

struct Ban<'a> {
    nodes: &'a [bool],
    from: u32,
    to: &'a [u32],
}

impl Graph {
    /// Builds the graph; edges are kept in input order per source (stable), edges with an endpoint out of
    /// range or a negative or non-finite cost are dropped.
    pub fn from_edges(n: usize, edges: &[(u32, u32, f64)]) -> Self {
        let ok = |e: &&(u32, u32, f64)| (e.0 as usize) < n && (e.1 as usize) < n && e.2 >= 0.0 && e.2.is_finite();
        let mut offsets = vec![0u32; n + 1];
        for e in edges.iter().filter(ok) {
            offsets[e.0 as usize + 1] += 1;
        }
        for i in 0..n {
            offsets[i + 1] += offsets[i];
        }
        let m = offsets[n] as usize;
        let mut fill: Vec<u32> = offsets[..n].to_vec();
        let mut targets = vec![0u32; m];
        let mut costs = vec![0f64; m];
        for e in edges.iter().filter(ok) {
            let slot = &mut fill[e.0 as usize];
            targets[*slot as usize] = e.1;
            costs[*slot as usize] = e.2;
            *slot += 1;
        }
        Self { offsets, targets, costs }
    }

    /// Number of nodes.
    pub fn node_count(&self) -> usize {
        self.offsets.len().saturating_sub(1)
    }

    /// Number of edges.
    pub fn edge_count(&self) -> usize {
        self.targets.len()
    }

    fn out(&self, u: u32) -> impl Iterator<Item = (u32, f64)> + '_ {
        let a = self.offsets.get(u as usize).copied().unwrap_or(0) as usize;
        let b = self.offsets.get(u as usize + 1).copied().unwrap_or(0) as usize;
        let b = b.max(a);
        self.targets.get(a..b).unwrap_or(&[]).iter().copied().zip(self.costs.get(a..b).unwrap_or(&[]).iter().copied())
    }

    /// Least cost of an edge `u -> v`.
    pub fn edge_cost(&self, u: u32, v: u32) -> Option<f64> {
        self.out(u).filter(|e| e.0 == v).map(|e| e.1).min_by(f64::total_cmp)
    }

    /// Multi-source Dijkstra from `sources` (cost 0 each).
    pub fn shortest(&self, sources: &[u32]) -> ShortestPaths {
        let n = self.node_count();
        let mut sp = ShortestPaths { cost: vec![f64::INFINITY; n], pred: vec![u32::MAX; n] };
        let starts: Vec<(u32, f64)> = sources.iter().map(|&s| (s, 0.0)).collect();
        self.run(&mut sp, &starts, None, None);
        sp
    }

    /// Dijkstra core; returns the first target popped, if `targets` is given.
    fn run(
        &self,
        sp: &mut ShortestPaths,
        starts: &[(u32, f64)],
        ban: Option<&Ban<'_>>,
        targets: Option<&[bool]>,
    ) -> Option<u32> {
        let mut heap: BinaryHeap<Reverse<(u64, u32)>> = BinaryHeap::new();
        for &(s, c) in starts {
            if let Some(slot) = sp.cost.get_mut(s as usize)
                && c < *slot
            {
                *slot = c;
                heap.push(Reverse((c.to_bits(), s)));
            }
        }
        while let Some(Reverse((bits, u))) = heap.pop() {
            let du = f64::from_bits(bits);
            if sp.cost.get(u as usize).is_none_or(|&c| du > c) {
                continue;
            }
            if targets.is_some_and(|t| t.get(u as usize).copied().unwrap_or(false)) {
                return Some(u);
            }
            for (v, w) in self.out(u) {
                if let Some(b) = ban
                    && (b.nodes.get(v as usize).copied().unwrap_or(false) || (u == b.from && b.to.contains(&v)))
                {
                    continue;
                }
                let nd = du + w;
                if let Some(slot) = sp.cost.get_mut(v as usize)
                    && nd < *slot
                {
                    *slot = nd;
                    if let Some(p) = sp.pred.get_mut(v as usize) {
                        *p = u;
                    }
                    heap.push(Reverse((nd.to_bits(), v)));
                }
            }
        }
        None
    }

    fn path_cost(&self, path: &[u32]) -> f64 {
        path.windows(2).map(|w| self.edge_cost(w[0], w[1]).unwrap_or(f64::INFINITY)).sum()
    }

    /// Up to `k` least-cost simple paths from any of `sources` to any of `targets` (Yen's algorithm, with a
    /// virtual super-source joined to every source at cost 0), as (cost, nodes), best first; ties are broken
    /// by the node sequence.
    pub fn k_shortest(&self, sources: &[u32], targets: &[u32], k: usize) -> Vec<(f64, Vec<u32>)> {
        const SUPER: u32 = u32::MAX;
        let n = self.node_count();
        let mut is_target = vec![false; n];
        for &t in targets {
            if let Some(x) = is_target.get_mut(t as usize) {
                *x = true;
            }
        }
        let fresh = || ShortestPaths { cost: vec![f64::INFINITY; n], pred: vec![u32::MAX; n] };
        let mut sp = fresh();
        let starts: Vec<(u32, f64)> = sources.iter().map(|&s| (s, 0.0)).collect();
        let Some(t) = self.run(&mut sp, &starts, None, Some(&is_target)) else { return Vec::new() };
        let mut first = vec![SUPER];
        first.extend(sp.path_to(t));
        let mut found: Vec<(f64, Vec<u32>)> = vec![(sp.cost.get(t as usize).copied().unwrap_or(0.0), first)];
        let mut cand: BTreeSet<(u64, Vec<u32>)> = BTreeSet::new();
        let mut banned_nodes = vec![false; n];
        while found.len() < k {
            let Some((_, last)) = found.last().cloned() else { break };
            for i in 0..last.len().saturating_sub(1) {
                let spur = last[i];
                let root = &last[..=i];
                let next: Vec<u32> =
                    found.iter().filter(|(_, p)| p.len() > i + 1 && &p[..=i] == root).map(|(_, p)| p[i + 1]).collect();
                let before = root.get(1..i).unwrap_or(&[]);
                for &r in before {
                    if let Some(b) = banned_nodes.get_mut(r as usize) {
                        *b = true;
                    }
                }
                let mut sp = fresh();
                let hit = if spur == SUPER {
                    let starts: Vec<(u32, f64)> =
                        sources.iter().filter(|s| !next.contains(s)).map(|&s| (s, 0.0)).collect();
                    self.run(&mut sp, &starts, None, Some(&is_target))
                } else {
                    let ban = Ban { nodes: &banned_nodes, from: spur, to: &next };
                    self.run(&mut sp, &[(spur, 0.0)], Some(&ban), Some(&is_target))
                };
                for &r in before {
                    if let Some(b) = banned_nodes.get_mut(r as usize) {
                        *b = false;
                    }
                }
                if let Some(t) = hit {
                    let spur_path = sp.path_to(t);
                    let mut full: Vec<u32> = if spur == SUPER { vec![SUPER] } else { root[..i].to_vec() };
                    full.extend(spur_path);
                    let cost = self.path_cost(full.get(1..).unwrap_or(&[]));
                    if cost.is_finite() && !found.iter().any(|(_, p)| *p == full) {
                        cand.insert((cost.to_bits(), full));
                    }
                }
            }
            let Some(best) = cand.pop_first() else { break };
            found.push((f64::from_bits(best.0), best.1));
        }
        found
            .into_iter()
            .map(|(c, mut p)| {
                p.remove(0);
                (c, p)
            })
            .collect()
    }
}
