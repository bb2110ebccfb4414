//! List-append analysis (Elle's `elle.list-append`): version orders from reads, ww/wr/rw edges, and
//! the anomalies visible without a graph.
//!
//! - Version order of a key: the distinct elements of its longest read by an ok or info txn; a key
//!   never read (non-empty) but appended exactly once has order `[v]`.
//! - Every other non-empty read must be a prefix of that longest read, else `incompatible-order`;
//!   the key's order is then only the longest common prefix of its reads (beyond Elle, which keeps
//!   the longest read and may report cycles that exist only because of that arbitrary choice).
//! - An append of `v` whose position is unknown (never read) comes after the last known element.
//! - ww: the writer of the previous element -> the appender; wr: the writer of a read's last
//!   element -> the reader; rw: each reader of the previous state -> the appender.
//!
//! Only ok and info transactions are vertices with data edges; failed ones only feed G1a and
//! dirty-update.

use super::append_checks::{dirty_updates, future_read_case, lost_updates};
use super::explain::{Explainer, StepExplanation, TxnRef};
use super::graph::{GraphBuilder, RW, WR, WW};
use super::txn::{Mop, Txns, APPEND, READ, UNKNOWN};
use crate::history::OpType;
use serde_json::{json, Value as Json};
use std::collections::BTreeMap;

/// Marker for "the initial, empty state" in place of a previous element.
pub(crate) const INIT: u32 = u32::MAX - 1;
/// Marker for "none" in dense tables.
pub(crate) const NONE: u32 = u32::MAX;

/// Indexes over a list-append history; also the explainer of its edges.
pub struct ListAppend<'a> {
    pub t: &'a Txns,
    /// Per key id: the version order (distinct elements).
    order: Vec<Vec<u32>>,
    /// Element id -> position in its key's order (NONE if not in it). Element ids are unique per
    /// (key, value), so these tables are dense vectors, not hash maps.
    pos: Vec<u32>,
    /// Element id -> the ok/info txn that appended it (NONE if none).
    writer: Vec<u32>,
    /// Sorted (key, last element or INIT, reader txn) for every known read of an ok/info txn.
    readers: Readers,
}

fn possible(t: &Txns, i: usize) -> bool {
    t.txns[i].kind != OpType::Fail
}

impl<'a> ListAppend<'a> {
    /// Builds the indexes; returns them with the graph's data edges and the non-cycle anomalies.
    pub fn analyse(t: &'a Txns) -> (ListAppend<'a>, GraphBuilder, BTreeMap<String, Vec<Json>>) {
        let nkeys = t.keys.values.len();
        let mut anomalies: BTreeMap<String, Vec<Json>> = BTreeMap::new();
        let mut clock = super::Phases::new();
        // Longest read per key among ok/info txns, and incompatible orders.
        let longest = longest_reads(t, |i| possible(t, i));
        let mut incompatible = Vec::new();
        let mut seen_bad = vec![false; nkeys];
        for (i, _) in t.txns.iter().enumerate().filter(|(i, _)| possible(t, *i)) {
            for m in t.mops(i as u32) {
                if m.f != READ || m.val == UNKNOWN || m.len == 0 || seen_bad[m.key as usize] {
                    continue;
                }
                let Some(l) = longest[m.key as usize] else {
                    continue;
                };
                let l = t.list(&l);
                let r = t.list(m);
                if !l.starts_with(r) {
                    seen_bad[m.key as usize] = true;
                    let show = |xs: &[u32]| {
                        Json::from(
                            xs.iter()
                                .map(|&x| t.vals.get(x).to_string())
                                .collect::<Vec<_>>(),
                        )
                    };
                    incompatible.push((
                        t.keys.get(m.key).clone(),
                        json!({"key": t.keys.get(m.key).to_string(), "values": [show(r), show(l)]}),
                    ));
                }
            }
        }
        incompatible.sort_by(|a, b| a.0.cmp(&b.0));
        push(
            &mut anomalies,
            "incompatible-order",
            incompatible.into_iter().map(|x| x.1).collect(),
        );

        clock.lap("incompatible-order");
        let mut order = version_orders(t, &longest, |i| possible(t, i));
        // A key whose reads are incompatible has no known order beyond what every read agrees
        // on: its order is their longest common prefix, so that no ww or rw edge (and no cycle)
        // rests on an arbitrary choice between incompatible reads. Elements after the prefix
        // still follow all of it (the unknown-position rule of `prev`).
        if seen_bad.iter().any(|&b| b) {
            let mut common: Vec<Option<Vec<u32>>> = vec![None; nkeys];
            for (i, _) in t.txns.iter().enumerate().filter(|(i, _)| possible(t, *i)) {
                for m in t.mops(i as u32) {
                    if m.f != READ || m.val == UNKNOWN || m.len == 0 || !seen_bad[m.key as usize] {
                        continue;
                    }
                    let r = t.list(m);
                    let c = common[m.key as usize].get_or_insert_with(|| r.to_vec());
                    let same = c.iter().zip(r).take_while(|(a, b)| a == b).count();
                    c.truncate(same);
                }
            }
            for (k, c) in common.into_iter().enumerate() {
                if let Some(c) = c {
                    order[k] = c;
                }
            }
        }
        let nvals = t.vals.values.len();
        let mut pos = vec![NONE; nvals];
        for o in &order {
            for (p, &v) in o.iter().enumerate() {
                pos[v as usize] = p as u32;
            }
        }
        clock.lap("version-orders");
        let mut writer = vec![NONE; nvals];
        let mut readers: Vec<(u32, u32, u32)> = Vec::new();
        for (i, _) in t.txns.iter().enumerate().filter(|(i, _)| possible(t, *i)) {
            for m in t.mops(i as u32) {
                if m.f == APPEND {
                    writer[m.val as usize] = i as u32;
                } else if m.val != UNKNOWN {
                    readers.push((m.key, t.list(m).last().copied().unwrap_or(INIT), i as u32));
                }
            }
        }
        let readers = Readers::new(readers, nkeys, nvals);
        let la = ListAppend {
            t,
            order,
            pos,
            writer,
            readers,
        };
        clock.lap("indexes");
        let g = la.edges();
        clock.lap("edges");
        la.anomalies(&mut anomalies);
        clock.lap("anomalies");
        (la, g, anomalies)
    }

    /// The element appended just before `(k, v)`, or INIT.
    fn prev(&self, k: u32, v: u32) -> u32 {
        match self.pos[v as usize] {
            0 => INIT,
            NONE => self
                .order
                .get(k as usize)
                .and_then(|o| o.last().copied())
                .unwrap_or(INIT),
            p => self.order[k as usize][p as usize - 1],
        }
    }

    /// The ok/info txn that appended element `v` (or INIT), if any.
    fn writer_of(&self, v: u32) -> Option<u32> {
        self.writer.get(v as usize).copied().filter(|&w| w != NONE)
    }

    /// Ok/info txns whose read of key `k` ended with element `v` (or was empty, for INIT).
    fn readers_of(&self, k: u32, v: u32) -> &[u32] {
        self.readers.of(k, v)
    }

    fn edges(&self) -> GraphBuilder {
        let mut g = GraphBuilder::default();
        for i in (0..self.t.len() as u32).filter(|&i| possible(self.t, i as usize)) {
            for m in self.t.mops(i) {
                if m.f == APPEND {
                    let p = self.prev(m.key, m.val);
                    if p != INIT {
                        if let Some(w) = self.writer_of(p) {
                            g.link(w, i, WW);
                        }
                    }
                    for &r in self.readers_of(m.key, p) {
                        g.link(r, i, RW);
                    }
                } else if m.val != UNKNOWN {
                    if let Some(&last) = self.t.list(m).last() {
                        if let Some(w) = self.writer_of(last) {
                            g.link(w, i, WR);
                        }
                    }
                }
            }
        }
        g
    }

    fn anomalies(&self, out: &mut BTreeMap<String, Vec<Json>>) {
        let t = self.t;
        let idx = |i: u32| t.index(i);
        // Failed and intermediate appends.
        let nvals = t.vals.values.len();
        let mut failed = vec![NONE; nvals];
        let mut intermediate = vec![NONE; nvals];
        for i in 0..t.len() as u32 {
            let ms = t.mops(i);
            for (j, m) in ms.iter().enumerate().filter(|(_, m)| m.f == APPEND) {
                if t.txns[i as usize].kind == OpType::Fail {
                    failed[m.val as usize] = i;
                }
                if ms[j + 1..].iter().any(|n| n.f == APPEND && n.key == m.key) {
                    intermediate[m.val as usize] = i;
                }
            }
        }
        let (mut g1a, mut g1b, mut internal, mut future, mut dups) =
            (vec![], vec![], vec![], vec![], vec![]);
        // Duplicate detection: stamp[e] == read number when e was already seen in this read.
        let mut stamp = vec![0u32; nvals];
        let mut read_no = 0u32;
        for i in 0..t.len() as u32 {
            let kind = t.txns[i as usize].kind;
            for m in t.mops(i).iter().filter(|m| m.f == READ && m.val != UNKNOWN) {
                let list = t.list(m);
                if kind == OpType::Ok {
                    for &e in list {
                        if let Some(&w) = failed.get(e as usize).filter(|&&w| w != NONE) {
                            g1a.push(json!({"op": idx(i), "mop": t.mop_edn(m), "writer": idx(w), "element": t.vals.get(e).to_string()}));
                        }
                    }
                    let im = list
                        .last()
                        .and_then(|&e| intermediate.get(e as usize))
                        .filter(|&&w| w != NONE);
                    if let Some(&w) = im {
                        if w != i {
                            let e = t.vals.get(*list.last().unwrap_or(&0)).to_string();
                            g1b.push(json!({"op": idx(i), "mop": t.mop_edn(m), "writer": idx(w), "element": e}));
                        }
                    }
                }
                if kind != OpType::Fail && list.len() > 1 {
                    read_no += 1;
                    let mut dup = false;
                    for &e in list {
                        dup |= stamp[e as usize] == read_no;
                        stamp[e as usize] = read_no;
                    }
                    if dup {
                        let mut counts: BTreeMap<String, usize> = BTreeMap::new();
                        let mut sorted = list.to_vec();
                        sorted.sort_unstable();
                        for w in sorted.windows(2).filter(|w| w[0] == w[1]) {
                            *counts.entry(t.vals.get(w[0]).to_string()).or_insert(1) += 1;
                        }
                        dups.push(json!({"op": idx(i), "mop": t.mop_edn(m), "duplicates": counts}));
                    }
                }
            }
            if kind == OpType::Ok {
                if let Some(c) = self.internal_case(i) {
                    internal.push(c);
                }
                if let Some(c) = future_read_case(t, i) {
                    future.push(c);
                }
            }
        }
        push(out, "G1a", g1a);
        push(out, "G1b", g1b);
        push(out, "internal", internal);
        push(out, "future-read", future);
        push(out, "duplicate-elements", dups);
        push(out, "dirty-update", dirty_updates(t, &self.order));
        push(out, "lost-update", lost_updates(t));
    }

    /// Elle's `op-int-case`: a read inconsistent with the txn's own earlier reads and appends.
    fn internal_case(&self, i: u32) -> Option<Json> {
        let t = self.t;
        // Only a key touched twice can be inconsistent.
        let ms = t.mops(i);
        if !(1..ms.len()).any(|j| ms[..j].iter().any(|m| m.key == ms[j].key)) {
            return None;
        }
        // key -> (prefix unknown?, expected elements)
        let mut state: Vec<(u32, bool, Vec<u32>)> = Vec::new();
        for m in t.mops(i) {
            let slot = state.iter().position(|s| s.0 == m.key);
            if m.f == APPEND {
                match slot {
                    Some(s) => state[s].2.push(m.val),
                    None => state.push((m.key, true, vec![m.val])),
                }
                continue;
            }
            if m.val == UNKNOWN {
                continue;
            }
            let v = t.list(m);
            if let Some(s) = slot {
                let (_, unknown, exp) = &state[s];
                let bad = if *unknown {
                    exp.len() > v.len() || v[v.len() - exp.len()..] != exp[..]
                } else {
                    exp[..] != *v
                };
                if bad {
                    let mut shown: Vec<String> = if *unknown { vec!["...".into()] } else { vec![] };
                    shown.extend(exp.iter().map(|&x| t.vals.get(x).to_string()));
                    return Some(
                        json!({"op": t.index(i), "mop": t.mop_edn(m), "expected": format!("[{}]", shown.join(" "))}),
                    );
                }
                state[s] = (m.key, false, v.to_vec());
            } else {
                state.push((m.key, false, v.to_vec()));
            }
        }
        None
    }
}

/// Readers grouped by the state they observed: by last element id, or (empty reads) by key.
/// Two compressed tables filled by counting sort; each group is in txn order.
struct Readers {
    elem_off: Vec<u32>,
    elem_txn: Vec<u32>,
    init_off: Vec<u32>,
    init_txn: Vec<u32>,
}

impl Readers {
    /// `reads` are `(key, last element or INIT, txn)`, in txn order.
    fn new(reads: Vec<(u32, u32, u32)>, nkeys: usize, nvals: usize) -> Readers {
        let group = |slot: fn(&(u32, u32, u32)) -> Option<usize>, n: usize| {
            let mut off = vec![0u32; n + 1];
            for r in &reads {
                if let Some(g) = slot(r) {
                    off[g + 1] += 1;
                }
            }
            for i in 0..n {
                off[i + 1] += off[i];
            }
            let mut fill = off.clone();
            let mut txns = vec![0u32; off[n] as usize];
            for r in &reads {
                if let Some(g) = slot(r) {
                    txns[fill[g] as usize] = r.2;
                    fill[g] += 1;
                }
            }
            (off, txns)
        };
        let (elem_off, elem_txn) = group(|r| (r.1 != INIT).then_some(r.1 as usize), nvals);
        let (init_off, init_txn) = group(|r| (r.1 == INIT).then_some(r.0 as usize), nkeys);
        Readers {
            elem_off,
            elem_txn,
            init_off,
            init_txn,
        }
    }

    fn of(&self, k: u32, v: u32) -> &[u32] {
        let (off, txns, g) = if v == INIT {
            (&self.init_off, &self.init_txn, k as usize)
        } else {
            (&self.elem_off, &self.elem_txn, v as usize)
        };
        match (off.get(g), off.get(g + 1)) {
            (Some(&a), Some(&b)) => &txns[a as usize..b as usize],
            _ => &[],
        }
    }
}

fn push(out: &mut BTreeMap<String, Vec<Json>>, name: &str, cases: Vec<Json>) {
    if !cases.is_empty() {
        out.insert(name.to_string(), cases);
    }
}

/// Per key id, the longest non-empty read (as a mop whose list is it) among txns passing `keep`.
pub(crate) fn longest_reads(t: &Txns, keep: impl Fn(usize) -> bool) -> Vec<Option<Mop>> {
    let mut longest: Vec<Option<Mop>> = vec![None; t.keys.values.len()];
    for i in (0..t.len()).filter(|&i| keep(i)) {
        for m in t
            .mops(i as u32)
            .iter()
            .filter(|m| m.f == READ && m.val != UNKNOWN && m.len > 0)
        {
            let slot = &mut longest[m.key as usize];
            if slot.is_none_or(|l| l.len < m.len) {
                *slot = Some(*m);
            }
        }
    }
    longest
}

/// Version orders: distinct elements of the longest read, or a lone append.
pub(crate) fn version_orders(
    t: &Txns,
    longest: &[Option<Mop>],
    keep: impl Fn(usize) -> bool,
) -> Vec<Vec<u32>> {
    let mut appends: Vec<(u32, u32)> = vec![(0, 0); t.keys.values.len()]; // (count, value)
    for i in (0..t.len()).filter(|&i| keep(i)) {
        for m in t.mops(i as u32).iter().filter(|m| m.f == APPEND) {
            let a = &mut appends[m.key as usize];
            *a = (a.0 + 1, m.val);
        }
    }
    // Elements are unique per key, so one "seen" table serves every key.
    let mut seen = vec![false; t.vals.values.len()];
    longest
        .iter()
        .zip(&appends)
        .map(|(l, a)| match l {
            Some(l) => t
                .list(l)
                .iter()
                .copied()
                .filter(|&x| !std::mem::replace(&mut seen[x as usize], true))
                .collect(),
            None if a.0 == 1 => vec![a.1],
            None => Vec::new(),
        })
        .collect()
}

impl Explainer for ListAppend<'_> {
    fn txn_ref(&self, i: u32) -> TxnRef {
        self.t.txn_ref(i)
    }

    fn data_step(&self, a: u32, b: u32, rel: u8) -> StepExplanation {
        let t = self.t;
        let s = |v: u32| Some(t.vals.get(v).to_string());
        let mk = |rel: &str, k: u32, v: Option<String>, v2: Option<String>, reason: String| {
            StepExplanation {
                rel: rel.into(),
                from: 0,
                to: 0,
                key: Some(t.keys.get(k).to_string()),
                value: v,
                value2: v2,
                reason,
            }
        };
        for m in t.mops(b) {
            match (rel, m.f) {
                (WW, APPEND) => {
                    let p = self.prev(m.key, m.val);
                    if p != INIT && self.writer_of(p) == Some(a) {
                        let (k, v, v2) = (t.keys.get(m.key), t.vals.get(p), t.vals.get(m.val));
                        return mk(
                            "ww",
                            m.key,
                            s(p),
                            s(m.val),
                            format!("{{b}} appended {v2} after {{a}} appended {v} to {k}"),
                        );
                    }
                }
                (WR, READ) if m.val != UNKNOWN => {
                    if let Some(&last) = t.list(m).last() {
                        if self.writer_of(last) == Some(a) {
                            let (k, v) = (t.keys.get(m.key), t.vals.get(last));
                            return mk(
                                "wr",
                                m.key,
                                s(last),
                                None,
                                format!("{{b}} observed {{a}}'s append of {v} to key {k}"),
                            );
                        }
                    }
                }
                (RW, APPEND) => {
                    let p = self.prev(m.key, m.val);
                    if self.readers_of(m.key, p).contains(&a) {
                        let (k, v2) = (t.keys.get(m.key), t.vals.get(m.val));
                        if p == INIT {
                            let reason = format!("{{a}} observed the initial (nil) state of {k}, which {{b}} created by appending {v2}");
                            return mk("rw", m.key, Some("nil".into()), s(m.val), reason);
                        }
                        return mk(
                            "rw",
                            m.key,
                            s(p),
                            s(m.val),
                            format!("{{a}} did not observe {{b}}'s append of {v2} to {k}"),
                        );
                    }
                }
                _ => {}
            }
        }
        let name = super::graph::rel_name(rel);
        StepExplanation {
            rel: name.into(),
            from: 0,
            to: 0,
            key: None,
            value: None,
            value2: None,
            reason: format!("of a {name} dependency"),
        }
    }
}
