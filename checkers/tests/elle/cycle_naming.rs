//! Issue 13, point 2: inside every strongly connected component the cycle search names the most
//! severe cycle class present, and never falls back to a `*-cycle-exists` name while a nameable
//! simple cycle exists (which, with an unlimited budget, is always).
//!
//! Oracle: every simple cycle of a small random graph, with every way of explaining each edge by
//! one of its relationships, classified by `cycle::classify`; the most severe class is the first
//! in `cycle::base_specs` order (Elle's search order: anomaly depth, then name). Graphs carry
//! ww / wr / rw edges plus either process or real-time edges, never both (the checker adds one
//! kind or the other).

use checkers::budget::Meter;
use checkers::elle::cycle::{analyse_scc, base_specs, classify, Case, Step, LIST_APPEND_PREF};
use checkers::elle::graph::{Graph, GraphBuilder, PROCESS, REALTIME, RW, WR, WW};
use proptest::prelude::*;
use std::collections::BTreeSet;

/// Classes of all simple cycles of `g` (every start, every relationship choice per edge).
fn classes(g: &Graph) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let n = g.n() as u32;
    for start in 0..n {
        // Cycles whose smallest vertex is `start`, found once per rotation-free path.
        let mut path: Vec<(u32, u32, u8)> = Vec::new();
        walk(
            g,
            start,
            start,
            &mut vec![false; n as usize],
            &mut path,
            &mut out,
        );
    }
    out
}

fn walk(
    g: &Graph,
    start: u32,
    at: u32,
    on: &mut Vec<bool>,
    path: &mut Vec<(u32, u32, u8)>,
    out: &mut BTreeSet<String>,
) {
    on[at as usize] = true;
    for &(to, rels) in g.out(at) {
        if to < start {
            continue;
        }
        path.push((at, to, rels));
        if to == start {
            label_all(path, 0, &mut Vec::new(), out);
        } else if !on[to as usize] {
            walk(g, start, to, on, path, out);
        }
        path.pop();
    }
    on[at as usize] = false;
}

/// Every way to explain each edge of `path` by one relationship, classified.
fn label_all(path: &[(u32, u32, u8)], i: usize, steps: &mut Vec<Step>, out: &mut BTreeSet<String>) {
    if i == path.len() {
        out.insert(classify(steps));
        return;
    }
    let (from, to, rels) = path[i];
    for rel in [WW, WR, RW, PROCESS, REALTIME] {
        if rels & rel != 0 {
            steps.push(Step { from, to, rel });
            label_all(path, i + 1, steps, out);
            steps.pop();
        }
    }
}

fn graph(n: usize, edges: &[(u32, u32, u8)]) -> Graph {
    let mut b = GraphBuilder::default();
    for &(a, c, r) in edges {
        b.link(a, c, r);
    }
    b.finish(n)
}

/// Random graphs of 2-5 vertices, ww/wr/rw edges plus process or real-time ones.
fn graphs() -> impl Strategy<Value = (usize, Vec<(u32, u32, u8)>)> {
    (2usize..=5, 0u8..3).prop_flat_map(|(n, order)| {
        let extra = [0, PROCESS, REALTIME][order as usize];
        // Any non-empty mix of ww, wr, rw and (if this graph has them) the extra order.
        let rel = (0u8..8, any::<bool>()).prop_map(move |(base, with)| {
            match base | if with { extra } else { 0 } {
                0 => WW,
                r => r,
            }
        });
        // No self loops: the target skips the source.
        let edge = (0..n as u32, 0..n as u32 - 1, rel)
            .prop_map(|(a, b, r)| (a, if b >= a { b + 1 } else { b }, r));
        (Just(n), prop::collection::vec(edge, 1..=9))
    })
}

/// Checks the property on every SCC of the graph; returns the number of SCCs examined.
fn check(n: usize, edges: &[(u32, u32, u8)]) -> usize {
    let g = graph(n, edges);
    let order: Vec<String> = base_specs().into_iter().map(|s| s.name).collect();
    let mut examined = 0;
    for scc in g.sccs(u8::MAX) {
        let sub = g.induced(&scc);
        let present = classes(&sub);
        assert!(
            !present.is_empty(),
            "an SCC without a simple cycle: {edges:?}"
        );
        let cases = analyse_scc(
            &sub,
            &base_specs(),
            &LIST_APPEND_PREF,
            &mut Meter::new(u64::MAX, None),
        );
        let mut named = Vec::new();
        for c in &cases {
            match c {
                Case::Cycle { kind, steps } => {
                    assert_eq!(&classify(steps), kind, "{edges:?}");
                    assert!(
                        present.contains(kind),
                        "{kind} reported, not present: {edges:?}"
                    );
                    named.push(kind.clone());
                }
                Case::Exists { kind, .. } => {
                    panic!("{kind} reported although {present:?} are nameable: {edges:?}")
                }
                Case::Timeout { .. } => panic!("an unlimited budget ran out: {edges:?}"),
            }
        }
        let most_severe = order
            .iter()
            .find(|o| present.contains(*o))
            .expect("a class in the table");
        assert!(
            named.contains(most_severe),
            "most severe class {most_severe} not named (named {named:?}, present {present:?}): {edges:?}"
        );
        examined += 1;
    }
    examined
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]
    #[test]
    fn cycle_search_names_the_most_severe_class_in_every_scc((n, edges) in graphs()) {
        check(n, &edges);
    }
}

#[test]
fn the_oracle_sees_what_it_should() {
    // Not vacuous: these graphs have SCCs, and their classes are the ones a reader expects.
    assert_eq!(check(2, &[(0, 1, WW), (1, 0, WW | RW)]), 1);
    let g = graph(3, &[(0, 1, RW), (1, 2, RW), (2, 0, WR), (1, 0, WW)]);
    let c = classes(&g);
    assert_eq!(
        c,
        BTreeSet::from(["G-single-item".into(), "G2-item".into()])
    );
    assert_eq!(
        check(3, &[(0, 1, WR | REALTIME), (1, 2, REALTIME), (2, 0, WW)]),
        1
    );
}
