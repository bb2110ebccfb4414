//! Read-write register analysis (Elle's `elle.rw-register`).
//!
//! Values written to a key are unique and every key starts as `nil`. Edges:
//! - wr: the one ok txn that externally wrote `k = v` -> each ok txn that externally read it;
//! - ww / rw: from a *version graph* per key, built from sources that are each kept only if they
//!   leave it acyclic (otherwise their cycles are reported as `cyclic-versions`):
//!   `initial-state` (nil precedes every value), then optionally `wfr-keys` (a txn's external read
//!   precedes its write), `sequential-keys` (process order), `linearizable-keys` (real-time order)
//!   and `transaction-order` (a given total order of txns). For each version edge `v1 -> v2`,
//!   writers of v1 -ww-> writers of v2 and readers of v1 -rw-> writers of v2 (ok txns only).
//!
//! Reading a value no transaction wrote is not an anomaly (Elle does not flag it either).

use super::explain::{Explainer, StepExplanation, TxnRef};
use super::graph::{link_process, link_realtime, tarjan, Graph, GraphBuilder, RW, WR, WW};
use super::txn::{ext_reads, ext_writes, Txns, NIL_VAL, READ, WRITE};
use crate::history::OpType;
use serde_json::{json, Value as Json};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

/// Version-order options.
#[derive(Debug, Clone, Default)]
pub struct VersionOptions {
    pub wfr_keys: bool,
    pub sequential_keys: bool,
    pub linearizable_keys: bool,
    /// Op `:index` -> position in an assumed total order of transactions.
    pub transaction_order: Option<BTreeMap<usize, i64>>,
}

/// Indexes over a register history; also the explainer of its edges.
pub struct RwRegister<'a> {
    pub t: &'a Txns,
    /// Version edges (key, v1, v2); lookups only.
    versions: HashSet<(u32, u32, u32)>,
    pub sources: Vec<&'static str>,
}

const NONE: u32 = u32::MAX;

/// Version-graph edges `(key, v1, v2)`: v1 precedes v2.
type VersionEdges = BTreeSet<(u32, u32, u32)>;

impl<'a> RwRegister<'a> {
    /// Builds version graphs, data edges and the non-cycle anomalies.
    pub fn analyse(
        t: &'a Txns,
        opts: &VersionOptions,
    ) -> (RwRegister<'a>, GraphBuilder, BTreeMap<String, Vec<Json>>) {
        let mut anomalies = BTreeMap::new();
        let mut sources: Vec<(&'static str, VersionEdges)> =
            vec![("initial-state", initial_state(t))];
        if opts.wfr_keys {
            sources.push(("wfr-keys", wfr(t)));
        }
        if opts.sequential_keys {
            let mut b = GraphBuilder::default();
            link_process(t, &mut b);
            sources.push(("sequential-keys", txn_graph_versions(t, &b.finish(t.len()))));
        }
        if opts.linearizable_keys {
            let mut b = GraphBuilder::default();
            link_realtime(t, &mut b);
            sources.push((
                "linearizable-keys",
                txn_graph_versions(t, &b.finish(t.len())),
            ));
        }
        if let Some(order) = &opts.transaction_order {
            let mut ranked: Vec<(i64, u32)> = (0..t.len() as u32)
                .filter_map(|i| order.get(&t.index(i)).map(|&r| (r, i)))
                .collect();
            ranked.sort_unstable();
            let mut b = GraphBuilder::default();
            for w in ranked.windows(2) {
                b.link(w[0].1, w[1].1, WW);
            }
            sources.push((
                "transaction-order",
                txn_graph_versions(t, &b.finish(t.len())),
            ));
        }
        let mut versions: BTreeSet<(u32, u32, u32)> = BTreeSet::new();
        let mut used = Vec::new();
        let mut cyclic = Vec::new();
        for (name, edges) in sources {
            let mut merged = versions.clone();
            merged.extend(edges);
            let cycles = version_cycles(t, &merged);
            if cycles.is_empty() {
                versions = merged;
                used.push(name);
            } else {
                let mut srcs = used.clone();
                srcs.push(name);
                for c in cycles {
                    let mut c = c;
                    c["sources"] = json!(srcs);
                    cyclic.push(c);
                }
            }
        }
        if !cyclic.is_empty() {
            anomalies.insert("cyclic-versions".to_string(), cyclic);
        }
        let r = RwRegister {
            t,
            versions: versions.iter().copied().collect(),
            sources: used,
        };
        let g = r.edges(&versions, &mut anomalies);
        r.anomalies(&mut anomalies);
        (r, g, anomalies)
    }

    fn edges(
        &self,
        versions: &BTreeSet<(u32, u32, u32)>,
        anomalies: &mut BTreeMap<String, Vec<Json>>,
    ) -> GraphBuilder {
        let t = self.t;
        let mut writes: HashMap<(u32, u32), Vec<u32>> = HashMap::new();
        let mut reads: HashMap<(u32, u32), Vec<u32>> = HashMap::new();
        for i in (0..t.len() as u32).filter(|&i| t.is_ok(i)) {
            for (k, v) in ext_writes(t.mops(i)) {
                writes.entry((k, v)).or_default().push(i);
            }
            for (k, v) in ext_reads(t.mops(i)) {
                reads.entry((k, v)).or_default().push(i);
            }
        }
        let mut g = GraphBuilder::default();
        let mut reads_sorted: Vec<(&(u32, u32), &Vec<u32>)> = reads.iter().collect();
        reads_sorted.sort_unstable_by_key(|x| *x.0);
        let mut dup = Vec::new();
        for (kv, readers) in reads_sorted {
            match writes.get(kv).map(Vec::as_slice) {
                Some([w]) => readers.iter().for_each(|&r| g.link(*w, r, WR)),
                Some(ws) if ws.len() > 1 => dup.push(json!({
                    "key": t.keys.get(kv.0).to_string(), "value": t.vals.get(kv.1).to_string(),
                    "writers": ws.iter().map(|&w| t.index(w)).collect::<Vec<_>>()})),
                _ => {}
            }
        }
        if !dup.is_empty() {
            anomalies.insert("duplicate-writes".to_string(), dup);
        }
        let empty = Vec::new();
        for &(k, v1, v2) in versions {
            let w2 = writes.get(&(k, v2)).unwrap_or(&empty);
            for &a in writes.get(&(k, v1)).unwrap_or(&empty) {
                w2.iter().for_each(|&b| g.link(a, b, WW));
            }
            for &a in reads.get(&(k, v1)).unwrap_or(&empty) {
                w2.iter().for_each(|&b| g.link(a, b, RW));
            }
        }
        g
    }

    fn anomalies(&self, out: &mut BTreeMap<String, Vec<Json>>) {
        let t = self.t;
        let mut failed: HashMap<(u32, u32), u32> = HashMap::new();
        let mut intermediate: HashMap<(u32, u32), u32> = HashMap::new();
        for i in 0..t.len() as u32 {
            let ms = t.mops(i);
            for (j, m) in ms.iter().enumerate().filter(|(_, m)| m.f == WRITE) {
                if t.txns[i as usize].kind == OpType::Fail {
                    failed.insert((m.key, m.val), i);
                }
                if ms[j + 1..].iter().any(|n| n.f == WRITE && n.key == m.key) {
                    intermediate.insert((m.key, m.val), i);
                }
            }
        }
        let (mut g1a, mut g1b, mut internal) = (vec![], vec![], vec![]);
        for i in (0..t.len() as u32).filter(|&i| t.is_ok(i)) {
            let ms = t.mops(i);
            for m in ms.iter().filter(|m| m.f == READ && m.val != NIL_VAL) {
                if let Some(&w) = failed.get(&(m.key, m.val)) {
                    g1a.push(json!({"op": t.index(i), "mop": t.mop_edn(m), "writer": t.index(w)}));
                }
                if let Some(&w) = intermediate.get(&(m.key, m.val)) {
                    if w != i {
                        g1b.push(
                            json!({"op": t.index(i), "mop": t.mop_edn(m), "writer": t.index(w)}),
                        );
                    }
                }
            }
            // Internal: a read that differs from the txn's last known value of the key: its own
            // latest write, or its latest read when it has not written the key since. Elle skips
            // the case where that known value is nil; we do not for reads: a txn that reads nil
            // and then, with no write in between, another value observed two states (see the
            // README's list of deliberate differences from Elle).
            let mut state: Vec<(u32, u32, bool)> = Vec::new(); // (key, value, from a read)
            for m in ms {
                let slot = state.iter().position(|s| s.0 == m.key);
                if m.f == READ {
                    let differs = |s: &(u32, u32, bool)| s.1 != m.val && (s.1 != NIL_VAL || s.2);
                    if let Some(s) = slot.filter(|&s| differs(&state[s])) {
                        let expected = t.vals.get(state[s].1).to_string();
                        internal.push(
                            json!({"op": t.index(i), "mop": t.mop_edn(m), "expected": expected}),
                        );
                        break;
                    }
                }
                let from_read = m.f == READ;
                match slot {
                    Some(s) => state[s] = (m.key, m.val, from_read),
                    None => state.push((m.key, m.val, from_read)),
                }
            }
        }
        let lost_cases = super::append_checks::lost_updates(t);
        for (name, cases) in [
            ("G1a", g1a),
            ("G1b", g1b),
            ("internal", internal),
            ("lost-update", lost_cases),
        ] {
            if !cases.is_empty() {
                out.insert(name.to_string(), cases);
            }
        }
    }
}

/// nil precedes every value externally written (ok or info) or read (ok).
fn initial_state(t: &Txns) -> BTreeSet<(u32, u32, u32)> {
    let mut out = BTreeSet::new();
    for i in 0..t.len() as u32 {
        let kind = t.txns[i as usize].kind;
        if kind == OpType::Fail {
            continue;
        }
        let mut kvs = ext_writes(t.mops(i));
        if kind == OpType::Ok {
            kvs.extend(ext_reads(t.mops(i)));
        }
        out.extend(
            kvs.into_iter()
                .filter(|kv| kv.1 != NIL_VAL)
                .map(|(k, v)| (k, NIL_VAL, v)),
        );
    }
    out
}

/// Writes follow reads: an ok txn's external read of k precedes its external write of k.
fn wfr(t: &Txns) -> BTreeSet<(u32, u32, u32)> {
    let mut out = BTreeSet::new();
    for i in (0..t.len() as u32).filter(|&i| t.is_ok(i)) {
        let ws = ext_writes(t.mops(i));
        for (k, v) in ext_reads(t.mops(i))
            .into_iter()
            .filter(|kv| kv.1 != NIL_VAL)
        {
            if let Some(&(_, w)) = ws.iter().find(|x| x.0 == k) {
                if w != v {
                    out.insert((k, v, w));
                }
            }
        }
    }
    out
}

/// The external value of `k` a txn ends with (`last`) or begins with (`!last`); NONE if unknown.
fn ext_value(t: &Txns, i: u32, k: u32, last: bool) -> u32 {
    let ms = t.mops(i);
    let w = ext_writes(ms).into_iter().find(|x| x.0 == k).map(|x| x.1);
    let r = ext_reads(ms).into_iter().find(|x| x.0 == k).map(|x| x.1);
    match t.txns[i as usize].kind {
        OpType::Ok if last => w.or(r).unwrap_or(NIL_VAL),
        OpType::Ok => r.filter(|&v| v != NIL_VAL).or(w).unwrap_or(NIL_VAL),
        OpType::Info => w.unwrap_or(NONE),
        _ => NONE,
    }
}

fn ext_keys(t: &Txns, i: u32) -> Vec<u32> {
    let ms = t.mops(i);
    let mut ks: Vec<u32> = match t.txns[i as usize].kind {
        OpType::Ok => ms.iter().map(|m| m.key).collect(),
        OpType::Info => ms.iter().filter(|m| m.f == WRITE).map(|m| m.key).collect(),
        _ => Vec::new(),
    };
    ks.sort_unstable();
    ks.dedup();
    ks
}

/// Elle's `transaction-graph->version-graphs`: if T1 < T2 in `g`, T1's final value of k precedes
/// the first value of k of each next txn touching k along every path.
fn txn_graph_versions(t: &Txns, g: &Graph) -> BTreeSet<(u32, u32, u32)> {
    // Reverse topological order (Kahn); vertices on cycles are skipped.
    let n = g.n();
    let mut indeg = vec![0u32; n];
    for v in 0..n as u32 {
        g.out(v).iter().for_each(|e| indeg[e.0 as usize] += 1);
    }
    let mut preds_left = indeg.clone();
    let mut order: Vec<u32> = (0..n as u32).filter(|&v| indeg[v as usize] == 0).collect();
    let mut i = 0;
    while i < order.len() {
        for &(w, _) in g.out(order[i]) {
            indeg[w as usize] -= 1;
            if indeg[w as usize] == 0 {
                order.push(w);
            }
        }
        i += 1;
    }
    // Per txn, sorted (key, first value, last value) for the keys it externally touched.
    let ext: Vec<Vec<(u32, u32, u32)>> = (0..n as u32)
        .map(|v| {
            ext_keys(t, v)
                .into_iter()
                .map(|k| (k, ext_value(t, v, k, false), ext_value(t, v, k, true)))
                .collect()
        })
        .collect();
    let touches = |v: u32, k: u32| ext[v as usize].binary_search_by_key(&k, |e| e.0).is_ok();
    // down[b]: sorted, deduplicated (key, txn) pairs: for each key, the first txns touching it on
    // paths from b (b itself excluded). Freed once all of b's predecessors have used it.
    let mut down: Vec<Vec<(u32, u32)>> = vec![Vec::new(); n];
    let mut out = BTreeSet::new();
    for &a in order.iter().rev() {
        let mut d: Vec<(u32, u32)> = Vec::new();
        for &(b, _) in g.out(a) {
            d.extend(
                down[b as usize]
                    .iter()
                    .copied()
                    .filter(|&(k, _)| !touches(b, k)),
            );
            d.extend(ext[b as usize].iter().map(|e| (e.0, b)));
            preds_left[b as usize] -= 1;
            if preds_left[b as usize] == 0 {
                down[b as usize] = Vec::new();
            }
        }
        d.sort_unstable();
        d.dedup();
        for &(k, _, v1) in &ext[a as usize] {
            if v1 == NONE {
                continue;
            }
            let lo = d.partition_point(|x| x.0 < k);
            for &(_, b) in d[lo..].iter().take_while(|x| x.0 == k) {
                let e = &ext[b as usize];
                let v2 = e
                    .binary_search_by_key(&k, |x| x.0)
                    .map(|j| e[j].1)
                    .unwrap_or(NONE);
                if v2 != NONE && v2 != v1 {
                    out.insert((k, v1, v2));
                }
            }
        }
        d.shrink_to_fit();
        down[a as usize] = d;
    }
    out
}

/// Cycles (SCCs) in per-key version graphs, as `cyclic-versions` cases.
fn version_cycles(t: &Txns, versions: &BTreeSet<(u32, u32, u32)>) -> Vec<Json> {
    let mut by_key: BTreeMap<u32, Vec<(u32, u32)>> = BTreeMap::new();
    for &(k, a, b) in versions {
        by_key.entry(k).or_default().push((a, b));
    }
    let mut out = Vec::new();
    for (k, edges) in by_key {
        let mut vs: Vec<u32> = edges.iter().flat_map(|e| [e.0, e.1]).collect();
        vs.sort_unstable();
        vs.dedup();
        let mut b = GraphBuilder::default();
        for (x, y) in &edges {
            let (Ok(i), Ok(j)) = (vs.binary_search(x), vs.binary_search(y)) else {
                continue;
            };
            b.link(i as u32, j as u32, WW);
        }
        let g = b.finish(vs.len());
        for scc in tarjan(g.n(), |v, o: &mut Vec<u32>| {
            o.extend(g.out(v).iter().map(|e| e.0))
        }) {
            let scc: Vec<String> = scc
                .iter()
                .map(|&i| t.vals.get(vs[i as usize]).to_string())
                .collect();
            out.push(json!({"key": t.keys.get(k).to_string(), "scc": scc}));
        }
    }
    out
}

impl Explainer for RwRegister<'_> {
    fn txn_ref(&self, i: u32) -> TxnRef {
        self.t.txn_ref(i)
    }

    fn data_step(&self, a: u32, b: u32, rel: u8) -> StepExplanation {
        let t = self.t;
        let (ma, mb) = (t.mops(a), t.mops(b));
        let found = match rel {
            WW => ext_writes(ma).into_iter().find_map(|(k, va)| {
                ext_writes(mb)
                    .into_iter()
                    .find(|&(kb, vb)| kb == k && self.versions.contains(&(k, va, vb)))
                    .map(|(_, vb)| (k, va, vb))
            }),
            RW => ext_reads(ma).into_iter().find_map(|(k, va)| {
                ext_writes(mb)
                    .into_iter()
                    .find(|&(kb, vb)| kb == k && self.versions.contains(&(k, va, vb)))
                    .map(|(_, vb)| (k, va, vb))
            }),
            _ => ext_writes(ma)
                .into_iter()
                .find(|&(k, v)| ext_reads(mb).contains(&(k, v)))
                .map(|(k, v)| (k, v, NONE)),
        };
        let name = super::graph::rel_name(rel);
        let Some((k, va, vb)) = found else {
            return StepExplanation {
                rel: name.into(),
                from: 0,
                to: 0,
                key: None,
                value: None,
                value2: None,
                reason: format!("of a {name} dependency"),
            };
        };
        let (ks, vas) = (t.keys.get(k).to_string(), t.vals.get(va).to_string());
        let vbs = (vb != NONE).then(|| t.vals.get(vb).to_string());
        let reason = match rel {
            WW => format!("{{a}} set key {ks} to {vas}, and {{b}} set it to {}, which came later in the version order", vbs.clone().unwrap_or_default()),
            RW => format!("{{a}} read key {ks} = {vas}, and {{b}} set it to {}, which came later in the version order", vbs.clone().unwrap_or_default()),
            _ => format!("{{a}} wrote {ks} = {vas}, which was read by {{b}}"),
        };
        StepExplanation {
            rel: name.into(),
            from: 0,
            to: 0,
            key: Some(ks),
            value: Some(vas),
            value2: vbs,
            reason,
        }
    }
}
