//! Product-state breadth-first search for a cycle of a given kind (see [`super::cycle`]).
//!
//! The state of a path records what the spec cares about: how many rw edges (0, 1, 2+), whether
//! the last edge was rw, whether two rw edges were adjacent, and whether wr / the required
//! relationship were seen. Each (vertex, state) is visited once per search, so one search is
//! O(48 · (V + E)).

use super::cycle::{classify, CycleSpec, RwMode, Step};
use super::graph::{Graph, PROCESS, REALTIME, RW, WR, WW};
use crate::budget::Meter;

/// Product-state breadth-first search for a cycle matching a spec.
pub(crate) struct Search {
    /// Visit stamps per (vertex, state).
    seen: Vec<u32>,
    /// Parent (vertex * STATES + state) per (vertex, state), and the label used to get there.
    parent: Vec<u32>,
    via: Vec<u8>,
    stamp: u32,
}

const STATES: usize = 48;

/// Search state bits: rw count (0..=2, saturating), last edge rw, adjacent rw pair seen, wr seen,
/// required relationship seen.
#[derive(Clone, Copy)]
struct St {
    rwc: u8,
    last_rw: bool,
    adj: bool,
    wr: bool,
    need: bool,
}

impl St {
    fn code(self) -> usize {
        self.rwc as usize * 16
            + self.last_rw as usize * 8
            + self.adj as usize * 4
            + self.wr as usize * 2
            + self.need as usize
    }
    /// The state after taking an edge labelled `l`, or `None` if the spec forbids it.
    fn step(self, spec: &CycleSpec, l: u8) -> Option<St> {
        let mut s = self;
        if l == RW {
            match spec.rw {
                RwMode::None => return None,
                RwMode::Single if s.rwc >= 1 => return None,
                RwMode::Nonadjacent if s.last_rw => return None,
                RwMode::Adjacent if s.last_rw => s.adj = true,
                _ => {}
            }
            s.rwc = (s.rwc + 1).min(2);
        }
        s.last_rw = l == RW;
        s.wr |= l == WR;
        s.need |= spec.need != 0 && l == spec.need;
        Some(s)
    }
    /// Whether closing the cycle (back onto the first edge, labelled `first`) satisfies the spec.
    fn accepts(self, spec: &CycleSpec, first: u8) -> bool {
        let wrap = self.last_rw && first == RW;
        let rw_ok = match spec.rw {
            RwMode::None => self.rwc == 0,
            RwMode::Single => self.rwc == 1,
            RwMode::Nonadjacent => self.rwc >= 2 && !wrap,
            RwMode::Adjacent => self.rwc >= 2 && (self.adj || wrap),
            RwMode::Any => true,
        };
        rw_ok && (!spec.need_wr || self.wr) && (spec.need == 0 || self.need)
    }
}

impl Search {
    pub(crate) fn new(n: usize) -> Search {
        Search {
            seen: vec![0; n * STATES],
            parent: vec![0; n * STATES],
            via: vec![0; n * STATES],
            stamp: 0,
        }
    }

    /// Tries every anchor edge (the rarest required relationship) in vertex order; returns the
    /// first cycle found, with its classification. Steps are re-labelled the way the workload's
    /// explainer would explain them (`pref`), but only with relationships the spec allows (unlike
    /// Elle, which may re-label a G0-realtime edge as wr and report G1c-realtime); for the typed
    /// specs (those with rw edges) the classification must equal the spec's name, using the
    /// search's own labels when the re-labelled ones do not; G0 and G1c cycles are reported under
    /// the type of their explanation.
    pub(crate) fn find(
        &mut self,
        g: &Graph,
        spec: &CycleSpec,
        pref: &[u8],
        meter: &mut Meter,
    ) -> Option<(String, Vec<Step>)> {
        let anchor = if spec.rw != RwMode::None {
            RW
        } else if spec.need != 0 {
            spec.need
        } else if spec.need_wr {
            WR
        } else {
            WW
        };
        for a in 0..g.n() as u32 {
            if meter.exhausted().is_some() {
                return None;
            }
            for &(b, r) in g.out(a) {
                if r & spec_rels(spec) & anchor == 0 {
                    continue;
                }
                if let Some(steps) = self.bfs(g, spec, a, b, anchor, Some(&mut *meter)) {
                    let steps = simplify(steps);
                    // Explain each edge by the preferred relationship *the spec allows*, so that
                    // a cycle found with ww + realtime edges stays a G0-realtime even when one of
                    // its edges also carries wr (Elle would relabel it G1c-realtime).
                    let relabelled = explained(g, steps.clone(), pref, spec_rels(spec));
                    let kind = classify(&relabelled);
                    if spec.rw == RwMode::None || kind == spec.name {
                        return Some((kind, relabelled));
                    }
                    // The relabelling changed the rw pattern: the search's own labels satisfy the
                    // spec unless simplification cut the walk, so keep them when they do.
                    let kind = classify(&steps);
                    if kind == spec.name {
                        return Some((kind, steps));
                    }
                }
            }
        }
        None
    }

    /// Shortest path `b ->* a` such that `a -first-> b` plus the path satisfies `spec`.
    pub(crate) fn bfs(
        &mut self,
        g: &Graph,
        spec: &CycleSpec,
        a: u32,
        b: u32,
        first: u8,
        mut meter: Option<&mut Meter>,
    ) -> Option<Vec<Step>> {
        self.stamp += 1;
        let start = St {
            rwc: 0,
            last_rw: false,
            adj: false,
            wr: false,
            need: false,
        }
        .step(spec, first)?;
        let root = b as usize * STATES + start.code();
        self.seen[root] = self.stamp;
        self.parent[root] = u32::MAX;
        let mut queue = std::collections::VecDeque::from([(b, start)]);
        while let Some((v, s)) = queue.pop_front() {
            if let Some(m) = meter.as_deref_mut() {
                if !m.charge(1 + g.out(v).len() as u64) {
                    return None;
                }
            }
            let here = v as usize * STATES + s.code();
            for &(w, r) in g.out(v) {
                // An edge with several relationships may be taken as any of them: each is a
                // different step of the state machine (ww, wr, rw, process, realtime).
                let rels = r & spec_rels(spec);
                for l in [WW, WR, RW, PROCESS, REALTIME] {
                    if rels & l == 0 {
                        continue;
                    }
                    let Some(s2) = s.step(spec, l) else { continue };
                    if w == a {
                        if s2.accepts(spec, first) {
                            return Some(self.path(a, b, first, here, v, l));
                        }
                        continue;
                    }
                    let slot = w as usize * STATES + s2.code();
                    if self.seen[slot] != self.stamp {
                        self.seen[slot] = self.stamp;
                        self.parent[slot] = here as u32;
                        self.via[slot] = l;
                        queue.push_back((w, s2));
                    }
                }
            }
        }
        None
    }

    fn path(&self, a: u32, b: u32, first: u8, last: usize, last_v: u32, last_l: u8) -> Vec<Step> {
        let mut rev = vec![Step {
            from: last_v,
            to: a,
            rel: last_l,
        }];
        let mut slot = last;
        while self.parent[slot] != u32::MAX {
            let p = self.parent[slot] as usize;
            rev.push(Step {
                from: (p / STATES) as u32,
                to: (slot / STATES) as u32,
                rel: self.via[slot],
            });
            slot = p;
        }
        rev.push(Step {
            from: a,
            to: b,
            rel: first,
        });
        rev.reverse();
        rev
    }
}

/// The relationships a spec's cycles may use.
pub(crate) fn spec_rels(spec: &CycleSpec) -> u8 {
    spec.allowed | if spec.rw == RwMode::None { 0 } else { RW }
}

/// Re-labels each step by the first relationship in `pref` that its edge has among `allowed`.
pub(crate) fn explained(g: &Graph, steps: Vec<Step>, pref: &[u8], allowed: u8) -> Vec<Step> {
    steps
        .into_iter()
        .map(|s| {
            let rels = g.rels(s.from, s.to) & allowed;
            Step {
                rel: pref
                    .iter()
                    .copied()
                    .find(|r| rels & r != 0)
                    .unwrap_or(s.rel),
                ..s
            }
        })
        .collect()
}

/// Cuts repeated vertices out of a closed walk that starts with its anchor edge, keeping a simple
/// cycle through the anchor.
pub(crate) fn simplify(steps: Vec<Step>) -> Vec<Step> {
    let mut out: Vec<Step> = Vec::with_capacity(steps.len());
    for s in steps {
        if let Some(i) = out.iter().position(|o| o.from == s.from) {
            if i > 0 {
                out.truncate(i);
            }
        }
        out.push(s);
    }
    out
}
