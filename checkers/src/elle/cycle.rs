//! Cycle search and classification inside one strongly connected component, Elle's way
//! (`elle.txn/cycle-cases-in-scc`):
//!
//! 1. *Cycle existence*: for each model's subgraph ([`CYCLE_EXISTS`]), an SCC of that subgraph proves
//!    a `<model>-cycle-exists` anomaly; models implying a found one are skipped.
//! 2. Those results rule out cycle types that cannot be there; the remaining [`CycleSpec`]s are tried
//!    from most to least severe (anomaly depth), and once a type is found, the types it implies
//!    are skipped.
//! 3. `*-cycle-exists` cases whose model is already ruled out by a found cycle are dropped.
//! 4. When the work budget runs out: a `cycle-search-timeout` case naming the budget, plus some
//!    cycle of the SCC (the fallback).
//!
//! The anomaly kinds are the table [`base_specs`]: a name, the relationships allowed, how `rw` edges
//! may appear, and what must appear. A found cycle is re-classified by [`classify`] and kept only if
//! the classification equals the spec's name, so a reported type always matches its edges.

use super::graph::{label, Graph, GraphBuilder, PROCESS, REALTIME, RW, WR, WW};
use super::model;
use super::search::{explained, simplify, Search};
use crate::budget::{Exhausted, Meter};
use std::collections::BTreeSet;

/// How `rw` edges may appear in a cycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RwMode {
    /// No rw edges (G0, G1c).
    None,
    /// Exactly one (G-single).
    Single,
    /// At least two, no two adjacent (G-nonadjacent).
    Nonadjacent,
    /// At least two, some two adjacent (G2).
    Adjacent,
    /// Anything (the timeout fallback).
    Any,
}

/// One kind of cycle anomaly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CycleSpec {
    pub name: String,
    /// Relationships usable as edges (rw is added when `rw != None`).
    pub allowed: u8,
    pub rw: RwMode,
    /// At least one wr edge.
    pub need_wr: bool,
    /// At least one edge of this relationship (PROCESS or REALTIME for the variants; 0 otherwise).
    pub need: u8,
}

/// The anomaly table: base kinds, then their `-process` and `-realtime` variants, ordered as Elle
/// searches them (by anomaly depth, then name).
pub fn base_specs() -> Vec<CycleSpec> {
    let base: [(&str, u8, RwMode, bool); 5] = [
        ("G0", WW, RwMode::None, false),
        ("G1c", WW | WR, RwMode::None, true),
        ("G-single-item", WW | WR | RW, RwMode::Single, false),
        (
            "G-nonadjacent-item",
            WW | WR | RW,
            RwMode::Nonadjacent,
            false,
        ),
        ("G2-item", WW | WR | RW, RwMode::Adjacent, false),
    ];
    let mut out = Vec::new();
    for (suffix, extra) in [("", 0), ("-process", PROCESS), ("-realtime", REALTIME)] {
        for (name, allowed, rw, need_wr) in base {
            out.push(CycleSpec {
                name: format!("{name}{suffix}"),
                allowed: allowed | extra,
                rw,
                need_wr,
                need: extra,
            });
        }
    }
    out.sort_by(|a, b| {
        model::depth(&a.name)
            .cmp(&model::depth(&b.name))
            .then_with(|| a.name.cmp(&b.name))
    });
    out
}

/// All cycle anomaly names.
pub fn cycle_types() -> BTreeSet<String> {
    base_specs().into_iter().map(|s| s.name).collect()
}

/// How list-append explains an edge with several relationships: ww, then wr, rw, process, realtime.
pub const LIST_APPEND_PREF: [u8; 5] = [WW, WR, RW, PROCESS, REALTIME];
/// How rw-register explains one: wr, then ww, rw, process, realtime.
pub const RW_REGISTER_PREF: [u8; 5] = [WR, WW, RW, PROCESS, REALTIME];

/// Subgraphs that must be acyclic for a model: `(canonical model, relationships, extended by rw)`.
/// With the extension, the subgraph is `A ∪ (A ; rw)`: A-edges, plus `a -> c` for `a -A-> b -rw-> c`.
pub const CYCLE_EXISTS: [(&str, u8, bool); 12] = [
    ("PL-1", WW, false),
    ("PL-2", WW | WR, false),
    ("PL-SI", WW | WR, true),
    ("PL-3", WW | WR | RW, false),
    ("strong-session-PL-1", WW | PROCESS, false),
    ("strong-session-PL-2", WW | WR | PROCESS, false),
    ("strong-session-snapshot-isolation", WW | WR | PROCESS, true),
    ("strong-session-serializable", WW | WR | RW | PROCESS, false),
    ("strong-PL-1", WW | REALTIME, false),
    ("strong-PL-2", WW | WR | REALTIME, false),
    ("strong-snapshot-isolation", WW | WR | REALTIME, true),
    ("PL-SS", WW | WR | RW | REALTIME, false),
];

/// One step of a cycle: `from -> to` explained by relationship `rel` (local vertex ids until the
/// caller maps them back).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Step {
    pub from: u32,
    pub to: u32,
    pub rel: u8,
}

/// What the search found in one SCC.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Case {
    Cycle {
        kind: String,
        steps: Vec<Step>,
    },
    Exists {
        kind: String,
        not: String,
        subgraph: String,
        scc: Vec<u32>,
    },
    /// The search's work budget (or the user's time limit) ran out while searching for `spec`.
    Timeout {
        spec: String,
        scc_size: usize,
        reason: Exhausted,
    },
}

/// Classifies a cycle by its edge labels, as Elle's cycle explainer does (item workloads).
pub fn classify(steps: &[Step]) -> String {
    let count = |r: u8| steps.iter().filter(|s| s.rel == r).count();
    let rw = count(RW);
    let n = steps.len();
    let adjacent = (0..n).any(|i| steps[i].rel == RW && steps[(i + 1) % n].rel == RW);
    let base = match rw {
        1 => "G-single-item",
        0 if count(WR) > 0 => "G1c",
        0 => "G0",
        _ if adjacent => "G2-item",
        _ => "G-nonadjacent-item",
    };
    let suffix = if count(REALTIME) > 0 {
        "-realtime"
    } else if count(PROCESS) > 0 {
        "-process"
    } else {
        ""
    };
    format!("{base}{suffix}")
}

/// Analyses one SCC (`g` is the induced subgraph, vertices `0..n`). Returns `None`-free cases; the
/// caller maps local ids back. `meter` bounds the typed cycle search (one unit per vertex the
/// breadth-first searches pop, plus its out-degree), so the cases found are a function of the graph
/// alone; once it is exhausted the result carries a [`Case::Timeout`] naming the spec being searched
/// and the reason, and a fallback cycle. The cycle-existence checks are linear-time and unmetered.
pub fn analyse_scc(g: &Graph, specs: &[CycleSpec], pref: &[u8], meter: &mut Meter) -> Vec<Case> {
    let exists = cycle_exists_cases(g);
    // Models that no found cycle rules out; the anomalies they prohibit cannot be here.
    let mut impossible_models = BTreeSet::new();
    for c in &exists {
        if let Case::Exists { not, .. } = c {
            impossible_models.extend(model::all_impossible_models(not));
        }
    }
    let possible: Vec<String> = CYCLE_EXISTS
        .iter()
        .map(|(m, _, _)| m.to_string())
        .filter(|m| !impossible_models.contains(m))
        .collect();
    let mut redundant = model::anomalies_prohibited_by(&possible);
    let mut cycles: Vec<Case> = Vec::new();
    let mut search = Search::new(g.n());
    for spec in specs {
        if redundant.contains(&spec.name) {
            continue;
        }
        let found = search.find(g, spec, pref, meter);
        if let Some(reason) = meter.exhausted() {
            let mut out = vec![Case::Timeout {
                spec: spec.name.clone(),
                scc_size: g.n(),
                reason,
            }];
            out.extend(fallback(g, pref));
            out.extend(merge(exists, cycles));
            return out;
        }
        if let Some((kind, steps)) = found {
            redundant.extend(model::all_implied_anomalies([spec.name.as_str()]));
            cycles.push(Case::Cycle { kind, steps });
        }
    }
    merge(exists, cycles)
}

/// Drops cycle-exists cases whose model a found cycle already rules out; exists cases come first.
fn merge(exists: Vec<Case>, cycles: Vec<Case>) -> Vec<Case> {
    let kinds: Vec<&str> = cycles
        .iter()
        .filter_map(|c| {
            if let Case::Cycle { kind, .. } = c {
                Some(kind.as_str())
            } else {
                None
            }
        })
        .collect();
    let ruled_out = model::impossible_models(kinds);
    let mut out: Vec<Case> = exists
        .into_iter()
        .filter(|c| match c {
            Case::Exists { not, .. } => !ruled_out.contains(model::canonical(not)),
            _ => true,
        })
        .collect();
    out.extend(cycles);
    out
}

/// Elle's `cycle-exists-cases`: which models' subgraphs have an SCC here.
fn cycle_exists_cases(g: &Graph) -> Vec<Case> {
    let mut out = Vec::new();
    let mut redundant: BTreeSet<String> = BTreeSet::new();
    for (m, rels, ext) in CYCLE_EXISTS {
        if redundant.contains(m) {
            continue;
        }
        let (sccs, self_loop) = if ext {
            extension(g, rels)
        } else {
            (g.sccs(rels), None)
        };
        let smallest = match self_loop {
            Some(v) => vec![v],
            None => match sccs.iter().min_by_key(|c| c.len()) {
                Some(c) => c.clone(),
                None => continue,
            },
        };
        let names: Vec<&str> = [WW, WR, RW, PROCESS, REALTIME]
            .into_iter()
            .filter(|r| rels & r != 0)
            .map(super::graph::rel_name)
            .collect();
        let subgraph = if ext {
            format!(
                "[:extension [:union {}] :rw]",
                names
                    .iter()
                    .map(|n| format!(":{n}"))
                    .collect::<Vec<_>>()
                    .join(" ")
            )
        } else {
            format!(
                "[:union {}]",
                names
                    .iter()
                    .map(|n| format!(":{n}"))
                    .collect::<Vec<_>>()
                    .join(" ")
            )
        };
        out.push(Case::Exists {
            kind: format!("{m}-cycle-exists"),
            not: model::friendly(m).to_string(),
            subgraph,
            scc: smallest,
        });
        redundant.extend(model::all_impossible_models(m));
    }
    out
}

/// SCCs of `A ∪ (A ; rw)` over `g` (`a -> c` for `a -A-> b -rw-> c`), and the first vertex with a
/// self-loop `a -A-> b -rw-> a`, which is a (one-vertex) cycle of the extension too.
fn extension(g: &Graph, rels: u8) -> (Vec<Vec<u32>>, Option<u32>) {
    let mut b = GraphBuilder::default();
    let mut self_loop = None;
    for a in 0..g.n() as u32 {
        for &(m, r) in g.out(a) {
            if r & rels == 0 {
                continue;
            }
            b.link(a, m, WW);
            for &(c, r2) in g.out(m) {
                if r2 & RW != 0 {
                    if c == a {
                        self_loop = self_loop.or(Some(a));
                    }
                    b.link(a, c, WW);
                }
            }
        }
    }
    (b.finish(g.n()).sccs(u8::MAX), self_loop)
}

/// Some cycle of a strongly connected `g`, classified: used when the search times out.
fn fallback(g: &Graph, pref: &[u8]) -> Option<Case> {
    let all = WW | WR | RW | PROCESS | REALTIME;
    let spec = CycleSpec {
        name: String::new(),
        allowed: all,
        rw: RwMode::Any,
        need_wr: false,
        need: 0,
    };
    let first = g.out(0).first()?;
    let mut s = Search::new(g.n());
    let path = s.bfs(g, &spec, 0, first.0, label(first.1, all), None)?;
    let steps = explained(g, simplify(path), pref, all);
    Some(Case::Cycle {
        kind: classify(&steps),
        steps,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    fn graph(n: usize, edges: &[(u32, u32, u8)]) -> Graph {
        let mut b = GraphBuilder::default();
        for &(a, c, r) in edges {
            b.link(a, c, r);
        }
        b.finish(n)
    }

    fn kinds(cases: &[Case]) -> Vec<String> {
        cases
            .iter()
            .map(|c| match c {
                Case::Cycle { kind, .. } | Case::Exists { kind, .. } => kind.clone(),
                Case::Timeout { .. } => "cycle-search-timeout".into(),
            })
            .collect()
    }

    fn run(n: usize, edges: &[(u32, u32, u8)]) -> Vec<String> {
        let g = graph(n, edges);
        kinds(&analyse_scc(
            &g,
            &base_specs(),
            &LIST_APPEND_PREF,
            &mut Meter::new(u64::MAX, None),
        ))
    }

    #[test]
    fn classifies_basic_cycles() {
        assert_eq!(run(2, &[(0, 1, WW), (1, 0, WW)]), ["G0"]);
        assert_eq!(run(2, &[(0, 1, WW), (1, 0, WR)]), ["G1c"]);
        assert_eq!(run(2, &[(0, 1, WR), (1, 0, RW)]), ["G-single-item"]);
        assert_eq!(run(2, &[(0, 1, RW), (1, 0, RW)]), ["G2-item"]);
        assert_eq!(
            run(2, &[(0, 1, RW), (1, 0, REALTIME)]),
            ["G-single-item-realtime"]
        );
    }

    #[test]
    fn a_ww_realtime_cycle_stays_g0_realtime() {
        // 0 -wr+rt-> 1 -rt-> 2 -ww-> 0: the G0-realtime search finds it using the first edge's
        // realtime relation. Elle explains that edge as wr and reports G1c-realtime (keeping
        // strong-PL-1-cycle-exists); the cycle of ww + realtime edges is a G0-realtime, the more
        // severe anomaly, so that is what we report.
        let k = run(3, &[(0, 1, WR | REALTIME), (1, 2, REALTIME), (2, 0, WW)]);
        assert_eq!(k, ["G0-realtime"]);
    }

    #[test]
    fn nonadjacent_cycle() {
        let k = run(4, &[(0, 1, RW), (1, 2, WR), (2, 3, RW), (3, 0, WW)]);
        assert_eq!(k, ["G-nonadjacent-item"]);
    }

    #[test]
    fn simplify_cuts_loops() {
        let s = simplify(vec![
            Step {
                from: 0,
                to: 1,
                rel: RW,
            },
            Step {
                from: 1,
                to: 2,
                rel: WW,
            },
            Step {
                from: 2,
                to: 1,
                rel: WW,
            },
            Step {
                from: 1,
                to: 0,
                rel: WR,
            },
        ]);
        assert_eq!(
            s.iter().map(|s| (s.from, s.to)).collect::<Vec<_>>(),
            [(0, 1), (1, 0)]
        );
    }
}
