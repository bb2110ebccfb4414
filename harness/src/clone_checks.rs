//! The junction checks of a run with clones (C16): each clone starts from exactly the
//! source's committed state at its branch point `T′`, and afterwards neither side sees the
//! other's writes. The workload's own checks run per side (see
//! `workloads::checks::fork::lineages`); this check counts, from the clients' reads alone:
//!
//! - **leaks**: an ok read on one side that shows a value written on another side — by a
//!   clone, or by the source after the reading clone's `T′` (writes open at `T′` may go
//!   either way);
//! - **missing shared state**: a read on a clone that lacks a source write acknowledged
//!   before its `T′` in the state it branched from (after backtracks: what they kept) —
//!   list-append: every such element must be in every later read of the key on the clone.
//!
//! List-append elements are unique across sides (one generator), so an element names its
//! writer. Registers (values 0-4) and bank transfers carry no unique value: those runs count
//! only through their per-side checks (linearizability, totals on both sides).

use crate::checks::{figure, CheckResult};
use checkers::{History, OpType, Value};
use std::collections::BTreeMap;
use workloads::checks::fork::{forks, volume_of, Fork};
use workloads::checks::list_append::mops;

/// Who wrote a value: (volume, invoked ns, completed ok by ns).
type Writer = (u32, i64, Option<i64>);

/// The appended elements of the history: (key, element) → writer.
fn writers(h: &History) -> BTreeMap<(Value, Value), Writer> {
    let mut out = BTreeMap::new();
    let Ok(pairs) = h.pairs() else {
        return out;
    };
    for p in &pairs {
        let inv = &h.ops[p.invoke];
        let done = p
            .complete
            .map(|c| &h.ops[c])
            .filter(|c| c.kind == OpType::Ok)
            .and_then(|c| c.time);
        let w = (volume_of(inv), inv.time.unwrap_or(0), done);
        for (k, v) in written(inv) {
            out.insert((k, v), w);
        }
    }
    out
}

/// (key, element) pairs a list-append transaction appends.
fn written(op: &checkers::Op) -> Vec<(Value, Value)> {
    if op.f.as_deref() != Some("txn") {
        return vec![];
    }
    mops(op)
        .into_iter()
        .filter(|(a, _, _)| *a)
        .map(|(_, k, v)| (k, v))
        .collect()
}

/// (key, list read) of a list-append transaction's reads.
fn seen(op: &checkers::Op) -> Vec<(Value, Vec<Value>)> {
    if op.f.as_deref() != Some("txn") {
        return vec![];
    }
    mops(op)
        .into_iter()
        .filter(|(a, _, _)| !*a)
        .map(|(_, k, v)| (k, v.as_vec().map(|x| x.to_vec()).unwrap_or_default()))
        .collect()
}

/// Leaks and missing shared state, with the first of each described.
pub fn clone_violations(h: &History) -> (u64, u64, Vec<String>) {
    let (fs, _) = forks(h);
    let by_vol: BTreeMap<u32, &Fork> = fs.iter().map(|f| (f.volume, f)).collect();
    let ws = writers(h);
    let (mut leaks, mut missing, mut examples) = (0u64, 0u64, vec![]);
    // Source appends acknowledged before each clone's T′, per key, in the state the clone
    // branched from: its lineage's cut (after backtracks, only what the rewinds kept).
    let lineages = workloads::checks::fork::lineages(h);
    let shared: BTreeMap<u32, BTreeMap<Value, Vec<Value>>> = fs
        .iter()
        .map(|f| {
            let prefix = format!("clone {} (", f.volume);
            let mut m: BTreeMap<Value, Vec<Value>> = BTreeMap::new();
            if let Some((_, l)) = lineages.iter().find(|(n, _)| n.starts_with(&prefix)) {
                for ((k, v), (vol, _, done)) in writers(l) {
                    if vol == 0 && done.is_some() {
                        m.entry(k).or_default().push(v);
                    }
                }
            }
            (f.volume, m)
        })
        .collect();
    for op in h.ops.iter().filter(|o| o.kind == OpType::Ok) {
        let side = volume_of(op);
        if side != 0 && !by_vol.contains_key(&side) {
            continue;
        }
        for (k, vals) in seen(op) {
            for v in &vals {
                let Some(&(wvol, winv, _)) = ws.get(&(k.clone(), v.clone())) else {
                    continue;
                };
                let leak = wvol != side
                    && (wvol != 0
                        || by_vol
                            .get(&side)
                            .is_some_and(|f| winv > f.t_prime_ms * 1_000_000));
                if leak {
                    leaks += 1;
                    if examples.len() < 3 {
                        examples.push(format!(
                            "op {} on {} read {v:?} of key {k:?}, written on {}",
                            op.index,
                            name(side),
                            name(wvol)
                        ));
                    }
                }
            }
            if side != 0 {
                let want = shared[&side].get(&k).map(Vec::as_slice).unwrap_or(&[]);
                for v in want.iter().filter(|v| !vals.contains(v)) {
                    missing += 1;
                    if examples.len() < 3 {
                        examples.push(format!(
                            "op {} on {} misses {v:?} of key {k:?}, acknowledged on the source before T′ = {} ms",
                            op.index,
                            name(side),
                            by_vol[&side].t_prime_ms
                        ));
                    }
                }
            }
        }
    }
    (leaks, missing, examples)
}

fn name(v: u32) -> String {
    if v == 0 {
        "the source".into()
    } else {
        format!("clone {v}")
    }
}

/// The C16 figure, when the history has clone requests.
pub fn clone_checks(h: &History) -> Vec<CheckResult> {
    let (fs, refused) = forks(h);
    if fs.is_empty() && refused.is_empty() {
        return vec![];
    }
    let on_clones = h
        .ops
        .iter()
        .filter(|o| o.kind == OpType::Ok && volume_of(o) != 0)
        .count();
    let (leaks, missing, examples) = clone_violations(h);
    let n = (leaks + missing) as f64;
    vec![figure(
        "clones start at their branch point and stay isolated",
        &["C16"],
        n,
        0.0,
        "violations",
        false,
        n == 0.0 && !fs.is_empty() && on_clones > 0,
        match examples.first() {
            None => format!(
                "{} clones (T′ = {}), {} refused; {on_clones} ok ops on clones; no read crossed sides",
                fs.len(),
                fs.iter()
                    .map(|f| format!("{} ms", f.t_prime_ms))
                    .collect::<Vec<_>>()
                    .join(", "),
                refused.len()
            ),
            Some(first) => format!("{leaks} leaked reads, {missing} missing shared values; first: {first}"),
        },
    )]
}
