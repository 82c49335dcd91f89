//! Dijkstra and Yen against brute-force enumeration of simple paths on small random graphs.
#![allow(clippy::cast_possible_truncation, reason = "small test graphs and synthetic sizes")]

use panacea_risk::likelihood::Graph;
use proptest::prelude::*;

/// Costs of all simple paths from a source to a target that meet no other target before the end.
fn brute(n: usize, edges: &[(u32, u32, f64)], sources: &[u32], targets: &[u32]) -> Vec<f64> {
    let mut out = Vec::new();
    fn go(u: u32, cost: f64, seen: &mut Vec<bool>, edges: &[(u32, u32, f64)], targets: &[u32], out: &mut Vec<f64>) {
        if targets.contains(&u) {
            out.push(cost);
            return;
        }
        for &(a, b, w) in edges {
            if a == u && !seen[b as usize] {
                seen[b as usize] = true;
                go(b, cost + w, seen, edges, targets, out);
                seen[b as usize] = false;
            }
        }
    }
    for &s in sources {
        let mut seen = vec![false; n];
        seen[s as usize] = true;
        go(s, 0.0, &mut seen, edges, targets, &mut out);
    }
    out.sort_by(f64::total_cmp);
    out
}

fn graph_strategy() -> impl Strategy<Value = (usize, Vec<(u32, u32, f64)>)> {
    (2usize..=8).prop_flat_map(|n| {
        let edge = (
            0..n as u32,
            0..n as u32,
            prop_oneof![Just(0.0), Just(1.0), 0.0f64..5.0, (1u32..10).prop_map(|r| 1.0 / f64::from(r) * 10.0)],
        );
        (Just(n), prop::collection::vec(edge, 0..24))
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn dijkstra_equals_brute_force((n, edges) in graph_strategy(), src in 0u32..8) {
        let src = src % n as u32;
        let g = Graph::from_edges(n, &edges);
        let sp = g.shortest(&[src]);
        for t in 0..n as u32 {
            let b = brute(n, &edges, &[src], &[t]);
            match b.first() {
                None => prop_assert!(sp.cost[t as usize].is_infinite()),
                Some(best) => {
                    prop_assert!((sp.cost[t as usize] - best).abs() < 1e-9);
                    // the reported path is a real path of that cost
                    let p = sp.path_to(t);
                    prop_assert_eq!(p.first().copied(), Some(src));
                    prop_assert_eq!(p.last().copied(), Some(t));
                    let c: f64 = p.windows(2).map(|w| g.edge_cost(w[0], w[1]).unwrap()).sum();
                    prop_assert!((c - best).abs() < 1e-9);
                }
            }
        }
    }

    #[test]
    fn yen_equals_brute_force_top_k((n, edges) in graph_strategy(), a in 0u32..8, b in 0u32..8, t in 0u32..8) {
        let (a, b, t) = (a % n as u32, b % n as u32, t % n as u32);
        let mut sources = vec![a, b];
        sources.sort_unstable();
        sources.dedup();
        let targets = [t];
        // parallel edges would make brute force count a node sequence twice: keep the cheapest of each pair.
        let mut best: std::collections::BTreeMap<(u32, u32), f64> = Default::default();
        for &(u, v, w) in &edges {
            let e = best.entry((u, v)).or_insert(w);
            *e = e.min(w);
        }
        let edges: Vec<(u32, u32, f64)> = best.into_iter().map(|((u, v), w)| (u, v, w)).collect();
        let g = Graph::from_edges(n, &edges);
        let got = g.k_shortest(&sources, &targets, 3);
        let want = brute(n, &edges, &sources, &targets);
        prop_assert_eq!(got.len(), want.len().min(3));
        for ((c, p), w) in got.iter().zip(&want) {
            prop_assert!((c - w).abs() < 1e-9, "{c} vs {w}");
            // simple, starts at a source, ends at the target
            let mut s = p.clone();
            s.sort_unstable();
            s.dedup();
            prop_assert_eq!(s.len(), p.len());
            prop_assert!(sources.contains(&p[0]));
            prop_assert_eq!(*p.last().unwrap(), t);
        }
        // distinct paths
        for i in 0..got.len() {
            for j in i + 1..got.len() {
                prop_assert_ne!(&got[i].1, &got[j].1);
            }
        }
    }
}
