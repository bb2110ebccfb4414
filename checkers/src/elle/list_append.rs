//! List-append analysis (Elle's `elle.list-append`): version orders from reads, ww/wr/rw edges, and
//! the anomalies visible without a graph.
//!
//! - Version order of a key: the distinct elements of its longest read by an ok or info txn; a key
//!   never read (non-empty) but appended exactly once has order `[v]`.
//! - Every other non-empty read must be a prefix of that longest read, else `incompatible-order`.
//! - An append of `v` whose position is unknown (never read) comes after the last known element.
//! - ww: the writer of the previous element -> the appender; wr: the writer of a read's last
//!   element -> the reader; rw: each reader of the previous state -> the appender.
//!
//! Only ok and info transactions are vertices with data edges; failed ones only feed G1a and
//! dirty-update.

use super::explain::{Explainer, StepExplanation, TxnRef};
use super::graph::{GraphBuilder, RW, WR, WW};
use super::txn::{FastMap, Mop, Txns, APPEND, READ, UNKNOWN};
use crate::history::OpType;
use serde_json::{json, Value as Json};
use std::collections::BTreeMap;

/// Marker for "the initial, empty state" in place of a previous element.
const INIT: u32 = u32::MAX - 1;

/// Indexes over a list-append history; also the explainer of its edges.
pub struct ListAppend<'a> {
    pub t: &'a Txns,
    /// Per key id: the version order (distinct elements).
    order: Vec<Vec<u32>>,
    /// (key, element) -> position in `order[key]`.
    pos: FastMap<(u32, u32), u32>,
    /// (key, element) -> the ok/info txn that appended it.
    writer: FastMap<(u32, u32), u32>,
    /// Sorted (key, last element or INIT, reader txn) for every known read of an ok/info txn.
    readers: Vec<(u32, u32, u32)>,
}

fn possible(t: &Txns, i: usize) -> bool {
    t.txns[i].kind != OpType::Fail
}

impl<'a> ListAppend<'a> {
    /// Builds the indexes; returns them with the graph's data edges and the non-cycle anomalies.
    pub fn analyse(t: &'a Txns) -> (ListAppend<'a>, GraphBuilder, BTreeMap<String, Vec<Json>>) {
        let nkeys = t.keys.values.len();
        let mut anomalies: BTreeMap<String, Vec<Json>> = BTreeMap::new();
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

        let order = version_orders(t, &longest, |i| possible(t, i));
        let mut pos = FastMap::default();
        for (k, o) in order.iter().enumerate() {
            for (p, &v) in o.iter().enumerate() {
                pos.entry((k as u32, v)).or_insert(p as u32);
            }
        }
        let mut writer = FastMap::default();
        let mut readers = Vec::new();
        for (i, _) in t.txns.iter().enumerate().filter(|(i, _)| possible(t, *i)) {
            for m in t.mops(i as u32) {
                if m.f == APPEND {
                    writer.insert((m.key, m.val), i as u32);
                } else if m.val != UNKNOWN {
                    readers.push((m.key, t.list(m).last().copied().unwrap_or(INIT), i as u32));
                }
            }
        }
        readers.sort_unstable();
        readers.dedup();
        let la = ListAppend {
            t,
            order,
            pos,
            writer,
            readers,
        };
        let g = la.edges();
        la.anomalies(&mut anomalies);
        (la, g, anomalies)
    }

    /// The element appended just before `(k, v)`, or INIT.
    fn prev(&self, k: u32, v: u32) -> u32 {
        match self.pos.get(&(k, v)) {
            Some(0) => INIT,
            Some(&p) => self.order[k as usize][p as usize - 1],
            None => self
                .order
                .get(k as usize)
                .and_then(|o| o.last().copied())
                .unwrap_or(INIT),
        }
    }

    fn readers_of(&self, k: u32, v: u32) -> &[(u32, u32, u32)] {
        let lo = self.readers.partition_point(|r| (r.0, r.1) < (k, v));
        let hi = self.readers.partition_point(|r| (r.0, r.1) <= (k, v));
        &self.readers[lo..hi]
    }

    fn edges(&self) -> GraphBuilder {
        let mut g = GraphBuilder::default();
        for i in (0..self.t.len() as u32).filter(|&i| possible(self.t, i as usize)) {
            for m in self.t.mops(i) {
                if m.f == APPEND {
                    let p = self.prev(m.key, m.val);
                    if p != INIT {
                        if let Some(&w) = self.writer.get(&(m.key, p)) {
                            g.link(w, i, WW);
                        }
                    }
                    for &(_, _, r) in self.readers_of(m.key, p) {
                        g.link(r, i, RW);
                    }
                } else if m.val != UNKNOWN {
                    if let Some(&last) = self.t.list(m).last() {
                        if let Some(&w) = self.writer.get(&(m.key, last)) {
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
        let mut failed: FastMap<(u32, u32), u32> = FastMap::default();
        let mut intermediate: FastMap<(u32, u32), u32> = FastMap::default();
        for i in 0..t.len() as u32 {
            let ms = t.mops(i);
            for (j, m) in ms.iter().enumerate().filter(|(_, m)| m.f == APPEND) {
                if t.txns[i as usize].kind == OpType::Fail {
                    failed.insert((m.key, m.val), i);
                }
                if ms[j + 1..].iter().any(|n| n.f == APPEND && n.key == m.key) {
                    intermediate.insert((m.key, m.val), i);
                }
            }
        }
        let (mut g1a, mut g1b, mut internal, mut future, mut dups) =
            (vec![], vec![], vec![], vec![], vec![]);
        for i in 0..t.len() as u32 {
            let kind = t.txns[i as usize].kind;
            for m in t.mops(i).iter().filter(|m| m.f == READ && m.val != UNKNOWN) {
                let list = t.list(m);
                if kind == OpType::Ok {
                    for &e in list {
                        if let Some(&w) = failed.get(&(m.key, e)) {
                            g1a.push(json!({"op": idx(i), "mop": t.mop_edn(m), "writer": idx(w), "element": t.vals.get(e).to_string()}));
                        }
                    }
                    if let Some(&w) = list.last().and_then(|&e| intermediate.get(&(m.key, e))) {
                        if w != i {
                            let e = t.vals.get(*list.last().unwrap_or(&0)).to_string();
                            g1b.push(json!({"op": idx(i), "mop": t.mop_edn(m), "writer": idx(w), "element": e}));
                        }
                    }
                }
                if kind != OpType::Fail && list.len() > 1 {
                    let mut s = list.to_vec();
                    s.sort_unstable();
                    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
                    for w in s.windows(2).filter(|w| w[0] == w[1]) {
                        *counts.entry(t.vals.get(w[0]).to_string()).or_insert(1) += 1;
                    }
                    if !counts.is_empty() {
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
        push(out, "dirty-update", dirty_updates(t));
        push(out, "lost-update", lost_updates(t));
    }

    /// Elle's `op-int-case`: a read inconsistent with the txn's own earlier reads and appends.
    fn internal_case(&self, i: u32) -> Option<Json> {
        let t = self.t;
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

fn push(out: &mut BTreeMap<String, Vec<Json>>, name: &str, cases: Vec<Json>) {
    if !cases.is_empty() {
        out.insert(name.to_string(), cases);
    }
}

/// Per key id, the longest non-empty read (as a mop whose list is it) among txns passing `keep`.
fn longest_reads(t: &Txns, keep: impl Fn(usize) -> bool) -> Vec<Option<Mop>> {
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
fn version_orders(
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
    longest
        .iter()
        .zip(&appends)
        .map(|(l, a)| match l {
            Some(l) => {
                let mut seen = std::collections::HashSet::<
                    u32,
                    std::hash::BuildHasherDefault<super::txn::FxHasher>,
                >::default();
                t.list(l)
                    .iter()
                    .copied()
                    .filter(|x| seen.insert(*x))
                    .collect()
            }
            None if a.0 == 1 => vec![a.1],
            None => Vec::new(),
        })
        .collect()
}

/// Elle's `op-future-read-case`: a txn reads an element it appends later.
fn future_read_case(t: &Txns, i: u32) -> Option<Json> {
    let ms = t.mops(i);
    for (j, m) in ms.iter().enumerate().filter(|(_, m)| m.f == APPEND) {
        let read = ms[..j].iter().find(|r| {
            r.f == READ && r.key == m.key && r.val != UNKNOWN && t.list(r).contains(&m.val)
        });
        if let Some(r) = read {
            return Some(
                json!({"op": t.index(i), "mop": t.mop_edn(r), "element": t.vals.get(m.val).to_string()}),
            );
        }
    }
    None
}

/// Elle's `dirty-update-cases`: along a key's version order, a committed append right after a
/// failed one.
fn dirty_updates(t: &Txns) -> Vec<Json> {
    if !t.txns.iter().any(|x| x.kind == OpType::Fail) {
        return Vec::new();
    }
    let longest = longest_reads(t, |i| t.txns[i].complete != u32::MAX);
    let order = version_orders(t, &longest, |i| t.txns[i].complete != u32::MAX);
    let mut writer: FastMap<(u32, u32), u32> = FastMap::default();
    for i in (0..t.len() as u32).filter(|&i| t.txns[i as usize].complete != u32::MAX) {
        for m in t.mops(i).iter().filter(|m| m.f == APPEND) {
            writer.insert((m.key, m.val), i);
        }
    }
    let mut keys: Vec<u32> = (0..order.len() as u32).collect();
    keys.sort_by(|a, b| t.keys.get(*a).cmp(t.keys.get(*b)));
    let mut cases = Vec::new();
    for k in keys {
        let (mut t1, mut vs): (Option<u32>, Vec<u32>) = (None, Vec::new());
        let kind = |x: Option<u32>| x.map(|x| t.txns[x as usize].kind).unwrap_or(OpType::Ok);
        for &v in &order[k as usize] {
            vs.push(v);
            let Some(&t2) = writer.get(&(k, v)) else {
                continue;
            };
            match (kind(t1), kind(Some(t2))) {
                (OpType::Fail, OpType::Ok) => {
                    let shown: Vec<String> =
                        vs.iter().map(|&x| t.vals.get(x).to_string()).collect();
                    let t1i = t1.map(|x| t.index(x)).unwrap_or(0);
                    cases.push(json!({"key": t.keys.get(k).to_string(), "values": shown, "txns": [t1i, "...", t.index(t2)]}));
                    (t1, vs) = (Some(t2), vec![v]);
                }
                (_, OpType::Info) | (OpType::Fail, OpType::Fail) => {}
                _ => (t1, vs) = (Some(t2), vec![v]),
            }
        }
    }
    cases
}

/// Elle's `lost-update-cases`: committed txns that read the same state of a key and then append
/// to it.
fn lost_updates(t: &Txns) -> Vec<Json> {
    // (key, read length, last element) -> txns; lookups only, output sorted below.
    let mut groups: FastMap<(u32, u32, u32), Vec<u32>> = FastMap::default();
    for i in (0..t.len() as u32).filter(|&i| t.is_ok(i)) {
        let ms = t.mops(i);
        let mut written: Vec<u32> = Vec::new();
        for (j, m) in ms.iter().enumerate().filter(|(_, m)| m.f == APPEND) {
            if written.contains(&m.key) {
                continue;
            }
            written.push(m.key);
            if let Some(r) = ms[..j]
                .iter()
                .find(|r| r.f == READ && r.key == m.key && r.val != UNKNOWN)
            {
                let last = t.list(r).last().copied().unwrap_or(INIT);
                groups.entry((m.key, r.len, last)).or_default().push(i);
            }
        }
    }
    let mut cases: Vec<(crate::value::Value, u32, Json)> = groups
        .into_iter()
        .filter(|(_, ts)| ts.len() > 1)
        .map(|((k, len, last), ts)| {
            let value = if last == INIT {
                "[]".to_string()
            } else {
                format!("[... {}]", t.vals.get(last))
            };
            let txns: Vec<usize> = ts.iter().map(|&x| t.index(x)).collect();
            (
                t.keys.get(k).clone(),
                len,
                json!({"key": t.keys.get(k).to_string(), "value": value, "txns": txns}),
            )
        })
        .collect();
    cases.sort_by(|a, b| (&a.0, a.1).cmp(&(&b.0, b.1)));
    cases.into_iter().map(|c| c.2).collect()
}

impl Explainer for ListAppend<'_> {
    fn txn_ref(&self, i: u32) -> TxnRef {
        let x = &self.t.txns[i as usize];
        TxnRef {
            index: self.t.index(i),
            process: x.process,
            kind: x.kind.name().into(),
            value: self.t.txn_edn(i),
        }
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
                    if p != INIT && self.writer.get(&(m.key, p)) == Some(&a) {
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
                        if self.writer.get(&(m.key, last)) == Some(&a) {
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
                    if self.readers_of(m.key, p).iter().any(|r| r.2 == a) {
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
