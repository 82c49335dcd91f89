//! Business layer: dependency graph, impact tokens, likelihood of service levels.
//!
//! Dependencies: service level `u` depends on every service level named in its `depends_on` tree. Cycles are
//! allowed only where every reference closing them lies under a `cycle` node (checked by validation); the
//! strongly connected components are then collapsed into one node.
//!
//! Impact tokens: each service level emits a token worth its `impact`. `All` and `Cycle` nodes pass the whole
//! token to each child; `Any` splits it into one fragment per child, and the fragments only make a whole
//! token again at a node that all of them reach. Only whole tokens count, so, as booleans, the set of
//! service levels a token reaches whole is `D(u) = {u} ∪ eval(tree(u))` with `eval(sl k) = D(k)`,
//! `eval(All) = ∪ children`, `eval(Any) = ∩ children`; inside a collapsed cycle C, `D` is shared by all
//! members and contains C. The impact of a service level is the sum of the tokens that reach it whole
//! (its own included), saturating.
//!
//! Likelihood (thousandths): a service level is as likely compromised as the most likely of its own devices
//! (max), combined with its tree: `All`/`Cycle` take the max of the children (any one child compromised
//! breaks it), `Any` the min (every alternative must fall). A collapsed cycle is iterated to its fixpoint.

use std::collections::BTreeMap;

use crate::input::{BusinessModel, DepNode};

/// Strongly connected components (iterative Tarjan): (component of each node, components in reverse
/// topological order: a component comes after every component it has edges to).
pub fn scc(adj: &[Vec<usize>]) -> (Vec<usize>, Vec<Vec<usize>>) {
    let n = adj.len();
    let mut index = vec![usize::MAX; n];
    let mut low = vec![0usize; n];
    let mut on = vec![false; n];
    let mut stack = Vec::new();
    let mut comp = vec![usize::MAX; n];
    let mut comps: Vec<Vec<usize>> = Vec::new();
    let mut next = 0;
    for root in 0..n {
        if index[root] != usize::MAX {
            continue;
        }
        let mut call: Vec<(usize, usize)> = vec![(root, 0)];
        index[root] = next;
        low[root] = next;
        next += 1;
        stack.push(root);
        on[root] = true;
        while let Some(top) = call.last_mut() {
            let v = top.0;
            let succ = adj[v].get(top.1).copied();
            top.1 += 1;
            match succ {
                Some(w) if w < n => {
                    if index[w] == usize::MAX {
                        index[w] = next;
                        low[w] = next;
                        next += 1;
                        stack.push(w);
                        on[w] = true;
                        call.push((w, 0));
                    } else if on[w] {
                        low[v] = low[v].min(index[w]);
                    }
                }
                Some(_) => {}
                None => {
                    call.pop();
                    if let Some(&(p, _)) = call.last() {
                        low[p] = low[p].min(low[v]);
                    }
                    if low[v] == index[v] {
                        let mut c = Vec::new();
                        while let Some(w) = stack.pop() {
                            on[w] = false;
                            comp[w] = comps.len();
                            c.push(w);
                            if w == v {
                                break;
                            }
                        }
                        c.sort_unstable();
                        comps.push(c);
                    }
                }
            }
        }
    }
    (comp, comps)
}

#[derive(Debug, Clone)]
enum Tree {
    Sl(usize),
    All(Vec<Tree>),
    Any(Vec<Tree>),
}

fn resolve(node: &DepNode, ids: &BTreeMap<&str, usize>) -> Tree {
    match node {
        DepNode::ServiceLevel(id) => Tree::Sl(ids.get(id.as_str()).copied().unwrap_or(usize::MAX)),
        DepNode::All(c) | DepNode::Cycle(c) => Tree::All(c.iter().map(|x| resolve(x, ids)).collect()),
        DepNode::Any(c) => Tree::Any(c.iter().map(|x| resolve(x, ids)).collect()),
    }
}

fn refs(t: &Tree, out: &mut Vec<usize>) {
    match t {
        Tree::Sl(k) => out.push(*k),
        Tree::All(c) | Tree::Any(c) => c.iter().for_each(|x| refs(x, out)),
    }
}

/// The resolved dependency graph of a (validated) business model.
#[derive(Debug, Clone)]
pub struct Dependencies {
    trees: Vec<Option<Tree>>,
    comp: Vec<usize>,
    comps: Vec<Vec<usize>>,
}

type Bits = Vec<u64>;

fn bit(b: &Bits, i: usize) -> bool {
    b.get(i / 64).is_some_and(|w| w >> (i % 64) & 1 == 1)
}

impl Dependencies {
    /// Resolves the trees and collapses the cycles.
    pub fn new(b: &BusinessModel) -> Self {
        let ids: BTreeMap<&str, usize> = b.service_levels.iter().enumerate().map(|(i, s)| (s.id.as_str(), i)).collect();
        let trees: Vec<Option<Tree>> =
            b.service_levels.iter().map(|s| s.depends_on.as_ref().map(|t| resolve(t, &ids))).collect();
        let adj: Vec<Vec<usize>> = trees
            .iter()
            .map(|t| {
                let mut v = Vec::new();
                if let Some(t) = t {
                    refs(t, &mut v);
                }
                v
            })
            .collect();
        let (comp, comps) = scc(&adj);
        Self { trees, comp, comps }
    }

    /// Impact of each service level: the sum of the `impacts` of the tokens that reach it whole.
    pub fn impacts(&self, impacts: &[u64]) -> Vec<u64> {
        let n = self.trees.len();
        let words = n.div_ceil(64);
        let mut d: Vec<Bits> = vec![Vec::new(); self.comps.len()];
        for (c, members) in self.comps.iter().enumerate() {
            let mut own = vec![0u64; words];
            for &m in members {
                own[m / 64] |= 1 << (m % 64);
            }
            let mut acc = own.clone();
            for &m in members {
                if let Some(Some(t)) = self.trees.get(m) {
                    let e = self.eval_bits(t, c, &own, &d, words);
                    acc.iter_mut().zip(e).for_each(|(a, x)| *a |= x);
                }
            }
            d[c] = acc;
        }
        let mut out = vec![0u64; n];
        for (o, &w) in impacts.iter().enumerate().take(n) {
            let set = &d[self.comp[o]];
            for (i, slot) in out.iter_mut().enumerate() {
                if bit(set, i) {
                    *slot = slot.saturating_add(w);
                }
            }
        }
        out
    }

    fn eval_bits(&self, t: &Tree, c: usize, own: &Bits, d: &[Bits], words: usize) -> Bits {
        match t {
            Tree::Sl(k) => match self.comp.get(*k) {
                Some(&ck) if ck == c => own.clone(),
                Some(&ck) => d.get(ck).cloned().unwrap_or_else(|| vec![0; words]),
                None => vec![0; words],
            },
            Tree::All(ch) => ch.iter().fold(vec![0; words], |mut a, x| {
                a.iter_mut().zip(self.eval_bits(x, c, own, d, words)).for_each(|(a, x)| *a |= x);
                a
            }),
            Tree::Any(ch) => ch.iter().fold(vec![u64::MAX; words], |mut a, x| {
                a.iter_mut().zip(self.eval_bits(x, c, own, d, words)).for_each(|(a, x)| *a &= x);
                a
            }),
        }
    }

    /// Likelihood of each service level from `base` (its own devices' best (likelihood, device)), with the
    /// critical device that sets it. Comparison is on (likelihood, then lower device index), deterministic.
    pub fn likelihoods(&self, base: &[(u32, Option<u32>)]) -> Vec<(u32, Option<u32>)> {
        let n = self.trees.len();
        let mut val: Vec<(u32, Option<u32>)> = (0..n).map(|i| base.get(i).copied().unwrap_or((0, None))).collect();
        for members in &self.comps {
            for _ in 0..=members.len() {
                let mut changed = false;
                for &m in members {
                    if let Some(Some(t)) = self.trees.get(m) {
                        let e = eval_l(t, &val);
                        if better(e, val[m]) {
                            val[m] = e;
                            changed = true;
                        }
                    }
                }
                if !changed {
                    break;
                }
            }
        }
        val
    }
}

/// `a` strictly more likely than `b` (ties: the lower device index is "more likely", for determinism).
fn better(a: (u32, Option<u32>), b: (u32, Option<u32>)) -> bool {
    a.0 > b.0 || (a.0 == b.0 && a.0 > 0 && a.1.is_some() && (b.1.is_none() || a.1 < b.1))
}

fn eval_l(t: &Tree, val: &[(u32, Option<u32>)]) -> (u32, Option<u32>) {
    match t {
        Tree::Sl(k) => val.get(*k).copied().unwrap_or((0, None)),
        Tree::All(ch) => ch.iter().map(|x| eval_l(x, val)).fold((0, None), |a, x| if better(x, a) { x } else { a }),
        Tree::Any(ch) => {
            let mut it = ch.iter().map(|x| eval_l(x, val));
            let first = it.next().unwrap_or((0, None));
            it.fold(first, |a, x| if x.0 < a.0 || (x.0 == a.0 && better(x, a)) { x } else { a })
        }
    }
}
