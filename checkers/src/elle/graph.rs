//! Transaction dependency graphs: compressed adjacency with a relationship bitmask per edge, the
//! process and real-time orders, and an iterative Tarjan SCC that handles millions of vertices
//! without recursion.
//!
//! Invariants of [`Graph`]: vertices are `0..n`; each vertex's out-edges are sorted by target and
//! unique (parallel edges are merged by OR-ing their relationship bits); there are no self-edges.

use super::txn::Txns;
use crate::history::OpType;

/// Relationship bits.
pub const WW: u8 = 1;
pub const WR: u8 = 2;
pub const RW: u8 = 4;
pub const PROCESS: u8 = 8;
pub const REALTIME: u8 = 16;
pub const DATA: u8 = WW | WR | RW;

/// Elle's name for one relationship bit.
pub fn rel_name(rel: u8) -> &'static str {
    match rel {
        WW => "ww",
        WR => "wr",
        RW => "rw",
        PROCESS => "process",
        REALTIME => "realtime",
        _ => "?",
    }
}

/// The relationship an edge is explained by, among those allowed: data dependencies first (ww, wr,
/// rw), then process, then realtime, as Elle's combined explainer prefers them.
pub fn label(rels: u8, allowed: u8) -> u8 {
    let r = rels & allowed;
    [WW, WR, RW, PROCESS, REALTIME]
        .into_iter()
        .find(|b| r & b != 0)
        .unwrap_or(0)
}

/// Collects edges before freezing them into a [`Graph`].
#[derive(Debug, Default)]
pub struct GraphBuilder {
    edges: Vec<(u32, u32, u8)>,
}

impl GraphBuilder {
    pub fn link(&mut self, a: u32, b: u32, rel: u8) {
        if a != b {
            self.edges.push((a, b, rel));
        }
    }
    pub fn len(&self) -> usize {
        self.edges.len()
    }
    pub fn is_empty(&self) -> bool {
        self.edges.is_empty()
    }

    /// Freezes into CSR form, by a counting sort on the source and a sort of each vertex's targets.
    pub fn finish(self, n: usize) -> Graph {
        let mut offs = vec![0u32; n + 1];
        for &(a, _, _) in &self.edges {
            offs[a as usize + 1] += 1;
        }
        for i in 0..n {
            offs[i + 1] += offs[i];
        }
        let mut fill = offs.clone();
        let mut adj = vec![(0u32, 0u8); self.edges.len()];
        // The edge list is consumed from its end in chunks and shrunk as it goes, so the two
        // tables are never both whole in memory. (Order within a vertex does not matter: each
        // vertex's slice is sorted and merged below.)
        const CHUNK: usize = 1 << 20;
        let mut edges = self.edges;
        while !edges.is_empty() {
            let keep = edges.len().saturating_sub(CHUNK);
            for &(a, b, r) in &edges[keep..] {
                let slot = &mut fill[a as usize];
                adj[*slot as usize] = (b, r);
                *slot += 1;
            }
            edges.truncate(keep);
            edges.shrink_to_fit();
        }
        // Sort and merge each vertex's slice, compacting in place.
        let mut out_offs = vec![0u32; n + 1];
        let mut w = 0usize;
        for v in 0..n {
            let (s, e) = (offs[v] as usize, offs[v + 1] as usize);
            adj[s..e].sort_unstable_by_key(|x| x.0);
            let start = w;
            for i in s..e {
                let (b, r) = adj[i];
                if w > start && adj[w - 1].0 == b {
                    adj[w - 1].1 |= r;
                } else {
                    adj[w] = (b, r);
                    w += 1;
                }
            }
            out_offs[v + 1] = w as u32;
        }
        adj.truncate(w);
        adj.shrink_to_fit();
        Graph {
            offs: out_offs,
            adj,
        }
    }
}

/// A directed graph in compressed sparse row form.
#[derive(Debug, Clone, Default)]
pub struct Graph {
    offs: Vec<u32>,
    adj: Vec<(u32, u8)>,
}

impl Graph {
    pub fn n(&self) -> usize {
        self.offs.len().saturating_sub(1)
    }
    pub fn edge_count(&self) -> usize {
        self.adj.len()
    }
    /// Out-edges of `v` as `(target, rels)`, sorted by target.
    pub fn out(&self, v: u32) -> &[(u32, u8)] {
        &self.adj[self.offs[v as usize] as usize..self.offs[v as usize + 1] as usize]
    }
    /// The relationships of edge `a -> b` (0 if absent).
    pub fn rels(&self, a: u32, b: u32) -> u8 {
        let o = self.out(a);
        o.binary_search_by_key(&b, |x| x.0)
            .map(|i| o[i].1)
            .unwrap_or(0)
    }

    /// Strongly connected components with at least two vertices, using only edges whose rels
    /// intersect `mask`. Each component is sorted; components are sorted by their first vertex.
    pub fn sccs(&self, mask: u8) -> Vec<Vec<u32>> {
        tarjan(self.n(), |v, out: &mut Vec<u32>| {
            out.extend(self.out(v).iter().filter(|e| e.1 & mask != 0).map(|e| e.0))
        })
    }

    /// The subgraph induced by `vertices` (sorted), renumbered `0..vertices.len()`.
    pub fn induced(&self, vertices: &[u32]) -> Graph {
        let mut b = GraphBuilder::default();
        for (i, &v) in vertices.iter().enumerate() {
            for &(t, r) in self.out(v) {
                if let Ok(j) = vertices.binary_search(&t) {
                    b.link(i as u32, j as u32, r);
                }
            }
        }
        b.finish(vertices.len())
    }
}

/// Iterative Tarjan over `n` vertices with successors given by `succ`. Returns the components of
/// size ≥ 2 (single vertices can never be on a cycle: there are no self-edges), each sorted, sorted
/// by first element. Uses an explicit stack, so depth is bounded only by memory.
pub fn tarjan(n: usize, mut succ: impl FnMut(u32, &mut Vec<u32>)) -> Vec<Vec<u32>> {
    const UNSEEN: u32 = u32::MAX;
    let mut index = vec![UNSEEN; n];
    let mut low = vec![0u32; n];
    let mut on_stack = vec![false; n];
    let mut stack: Vec<u32> = Vec::new();
    // Call frames: (vertex, start of its successors in `succs`, position of the next successor).
    let mut frames: Vec<(u32, usize, usize)> = Vec::new();
    let mut succs: Vec<u32> = Vec::new();
    let mut next = 0u32;
    let mut out = Vec::new();
    for root in 0..n as u32 {
        if index[root as usize] != UNSEEN {
            continue;
        }
        let mut visit = Some(root);
        loop {
            if let Some(v) = visit.take() {
                index[v as usize] = next;
                low[v as usize] = next;
                next += 1;
                stack.push(v);
                on_stack[v as usize] = true;
                let s = succs.len();
                succ(v, &mut succs);
                frames.push((v, s, s));
            }
            let Some(frame) = frames.last_mut() else {
                break;
            };
            let (v, start, pos) = *frame;
            if pos < succs.len() {
                frame.2 += 1;
                let w = succs[pos];
                if index[w as usize] == UNSEEN {
                    visit = Some(w);
                } else if on_stack[w as usize] {
                    low[v as usize] = low[v as usize].min(index[w as usize]);
                }
                continue;
            }
            frames.pop();
            succs.truncate(start);
            if let Some(&(parent, _, _)) = frames.last() {
                low[parent as usize] = low[parent as usize].min(low[v as usize]);
            }
            if low[v as usize] == index[v as usize] {
                let mut comp = Vec::new();
                while let Some(w) = stack.pop() {
                    on_stack[w as usize] = false;
                    comp.push(w);
                    if w == v {
                        break;
                    }
                }
                if comp.len() > 1 {
                    comp.sort_unstable();
                    out.push(comp);
                }
            }
        }
    }
    out.sort_unstable_by_key(|c| c[0]);
    out
}

/// Adds process edges: each process's successive ok/info transactions, in order.
pub fn link_process(t: &Txns, b: &mut GraphBuilder) {
    let mut last: std::collections::HashMap<i64, u32> = std::collections::HashMap::new();
    for (i, txn) in t.txns.iter().enumerate() {
        if txn.kind == OpType::Fail {
            continue;
        }
        if let Some(prev) = last.insert(txn.process, i as u32) {
            b.link(prev, i as u32, PROCESS);
        }
    }
}

/// Adds real-time edges: `a -> b` when `a` completed `:ok` before `b` was invoked (`b` ok or info).
/// Only a transitive reduction is added: a frontier holds the ok completions not yet implied by a
/// later one; each invocation links from the whole frontier, and when `b` completes it replaces
/// every frontier member that completed before `b`'s invocation (those were all linked to `b`, so
/// anything after `b` is after them too).
pub fn link_realtime(t: &Txns, b: &mut GraphBuilder) {
    // Events by history position: (position, is_completion, txn). A completion-only txn has both
    // events at one position; its invocation sorts first.
    let mut events: Vec<(u32, bool, u32)> = Vec::with_capacity(t.txns.len() * 2);
    for (i, txn) in t.txns.iter().enumerate() {
        if txn.kind == OpType::Fail {
            continue;
        }
        events.push((txn.invoke, false, i as u32));
        if txn.kind == OpType::Ok {
            events.push((txn.complete, true, i as u32));
        }
    }
    events.sort_unstable();
    let mut frontier: Vec<u32> = Vec::new();
    for (_, done, i) in events {
        if !done {
            for &p in &frontier {
                b.link(p, i, REALTIME);
            }
        } else {
            let inv = t.txns[i as usize].invoke;
            frontier.retain(|&f| t.txns[f as usize].complete >= inv);
            frontier.push(i);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builder_merges_parallel_edges_and_drops_self_edges() {
        let mut b = GraphBuilder::default();
        b.link(0, 1, WW);
        b.link(0, 1, RW);
        b.link(1, 1, WR);
        b.link(1, 0, WR);
        let g = b.finish(2);
        assert_eq!(g.out(0), &[(1, WW | RW)]);
        assert_eq!(g.out(1), &[(0, WR)]);
        assert_eq!(g.rels(0, 1), WW | RW);
        assert_eq!(g.rels(1, 1), 0);
    }

    #[test]
    fn tarjan_finds_components_and_handles_a_million_vertex_chain() {
        let mut b = GraphBuilder::default();
        let n = 1_000_000u32;
        for i in 0..n - 1 {
            b.link(i, i + 1, WW);
        }
        b.link(n - 1, 0, WR);
        b.link(5, 3, WW);
        let g = b.finish(n as usize);
        let s = g.sccs(WW | WR);
        assert_eq!(s.len(), 1);
        assert_eq!(s[0].len(), n as usize);
        let s = g.sccs(WW);
        assert_eq!(s, vec![vec![3, 4, 5]]);
    }
}
