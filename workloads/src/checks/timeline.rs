//! Checking across backtracks. Elle and linearizability do not apply across a deliberate
//! rewind, so a history with `:backtrack` nemesis ops (recorded by the harness's admin host
//! with the reported `T′`) is split into *lineages*, one per interval between rewinds:
//!
//! - lineage 0 is every op invoked before the first rewind completed;
//! - lineage `i` (the interval after rewind `i`) is the lineage of the interval that was
//!   current at `T′ᵢ`, cut at `T′ᵢ` — ops invoked after it dropped, writes still open at it
//!   made indeterminate (`:info`), reads still open at it dropped — followed by the ops
//!   invoked in interval `i`.
//!
//! Each lineage is a history the workload's own checks apply to unchanged: the state a rewind
//! restored is the state its lineage's ops before `T′` produced, and every later read must
//! agree with it (a read of the rewound future is a read of a value never written in the
//! lineage; a lost pre-`T′` commit is a lost write). The junction itself is checked by time:
//! `T′ ≤ T`, and no write was both invoked after `T′` and acknowledged by `T` (else `T′` was
//! not the nearest commit point).

use super::list_append::mops;
use checkers::{History, Op, OpType, Process, Value};

/// A completed backtrack as the history recorded it.
#[derive(Debug, Clone, PartialEq)]
pub struct Rewind {
    /// When the admin saw it done (ns): the start of the next interval.
    pub done_ns: i64,
    pub to_ms: i64,
    pub to_prime_ms: i64,
    pub requested_ms: i64,
    /// Index of the interval that was current at `T′` (the lineage it continues).
    pub parent: usize,
}

impl Rewind {
    /// A rewind into an interval before the one it left: how a backtrack moves forward again.
    /// `index` is the rewind's position (0-based); it left interval `index`.
    pub fn forward(&self, index: usize) -> bool {
        self.parent < index
    }
}

fn field<'a>(op: &'a Op, k: &str) -> Option<&'a Value> {
    op.value.as_map()?.get(&Value::kw(k))
}

/// The `:backtrack` nemesis ops that completed, in history order, and those refused:
/// (requested ms, target ms) of each refusal.
pub fn rewinds(h: &History) -> (Vec<Rewind>, Vec<(i64, i64)>) {
    let mut done: Vec<Rewind> = vec![];
    let mut refused = vec![];
    for op in h.ops.iter().filter(|o| {
        matches!(o.process, Some(Process::Nemesis)) && o.f.as_deref() == Some("backtrack")
    }) {
        let to_ms = field(op, "to_ms").and_then(Value::as_int).unwrap_or(0);
        let requested_ms = field(op, "requested_ms")
            .and_then(Value::as_int)
            .unwrap_or(0);
        match field(op, "to_prime_ms").and_then(Value::as_int) {
            Some(to_prime_ms) => {
                let t = to_prime_ms * 1_000_000;
                let parent = done.iter().filter(|r| r.done_ns <= t).count();
                done.push(Rewind {
                    done_ns: op.time.unwrap_or(0),
                    to_ms,
                    to_prime_ms,
                    requested_ms,
                    parent,
                });
            }
            None if field(op, "rejected").is_some() => refused.push((requested_ms, to_ms)),
            None => {}
        }
    }
    (done, refused)
}

/// Does the op write (a transfer, write, cas, or a txn with an append or write)?
pub fn writes(op: &Op) -> bool {
    match op.f.as_deref() {
        Some("transfer" | "write" | "cas") => true,
        Some("txn") => mops(op).iter().any(|(a, _, _)| *a),
        _ => false,
    }
}

/// One lineage: (invocation index, completion index, completion kept or made `:info`).
type Lineage = Vec<(usize, Option<usize>, bool)>;

/// The lineages of a history with rewinds (empty when it has none), each with a label.
pub fn lineages(h: &History) -> Vec<(String, History)> {
    let (rw, _) = rewinds(h);
    if rw.is_empty() {
        return vec![];
    }
    let Ok(pairs) = h.pairs() else {
        return vec![];
    };
    let time = |i: usize| h.ops[i].time.unwrap_or(0);
    let bounds: Vec<i64> = std::iter::once(i64::MIN)
        .chain(rw.iter().map(|r| r.done_ns))
        .chain(std::iter::once(i64::MAX))
        .collect();
    // Ops invoked while rewind i was under way (requested, not yet seen done) ran before it or
    // after it, or failed: their reads (era unknown) go; their writes count in both interval i
    // and interval i + 1 as indeterminate.
    let junction = |inv: usize| {
        let t = time(inv);
        rw.iter()
            .position(|r| t >= r.requested_ms * 1_000_000 && t < r.done_ns)
    };
    let client = |inv: usize| matches!(h.ops[inv].process, Some(Process::Client(_)));
    let own = |k: usize| -> Lineage {
        pairs
            .iter()
            .filter(|p| client(p.invoke))
            .filter_map(|p| {
                let t = time(p.invoke);
                match junction(p.invoke) {
                    None if t >= bounds[k] && t < bounds[k + 1] => {
                        Some((p.invoke, p.complete, true))
                    }
                    Some(i) if (i == k || i + 1 == k) && writes(&h.ops[p.invoke]) => {
                        Some((p.invoke, p.complete, false))
                    }
                    _ => None,
                }
            })
            .collect()
    };
    let mut built: Vec<Lineage> = vec![own(0)];
    for (i, r) in rw.iter().enumerate() {
        let cut = r.to_prime_ms * 1_000_000;
        let mut l: Lineage = built[r.parent.min(built.len() - 1)]
            .iter()
            .filter(|(inv, _, _)| time(*inv) < cut)
            .filter_map(|&(inv, c, keep)| match c {
                Some(c) if keep && time(c) <= cut => Some((inv, Some(c), true)),
                _ if writes(&h.ops[inv]) => Some((inv, c, false)),
                _ => None,
            })
            .collect();
        l.extend(own(i + 1));
        built.push(l);
    }
    built
        .into_iter()
        .enumerate()
        .map(|(k, l)| {
            let label = if k == 0 {
                "before the first backtrack".to_string()
            } else {
                format!("after backtrack {k} (to T′ = {} ms)", rw[k - 1].to_prime_ms)
            };
            (label, materialize(h, &l))
        })
        .collect()
}

/// The lineage's ops in history order; a completion made indeterminate becomes `:info` with
/// its invocation's value (what it read is unknown).
fn materialize(h: &History, l: &Lineage) -> History {
    let mut keep: Vec<(usize, Op)> = vec![];
    for &(inv, c, kept) in l {
        keep.push((inv, h.ops[inv].clone()));
        if let Some(c) = c {
            let mut op = h.ops[c].clone();
            if !kept {
                op.kind = OpType::Info;
                op.value = h.ops[inv].value.clone();
            }
            keep.push((c, op));
        }
    }
    keep.sort_by_key(|(i, _)| *i);
    History::new(keep.into_iter().map(|(_, o)| o).collect())
}

/// Rewinds whose `T′` is not the nearest commit point to `T`: `T′ > T`, or a write invoked
/// after `T′` was acknowledged by `T` within the lineage the rewind continued. Returns
/// (rewind index, explanation) for each.
pub fn not_nearest(h: &History) -> Vec<(usize, String)> {
    let (rw, _) = rewinds(h);
    let lin = lineages(h);
    let mut out = vec![];
    for (i, r) in rw.iter().enumerate() {
        if r.to_prime_ms > r.to_ms {
            out.push((
                i,
                format!("T′ {} ms is after T {} ms", r.to_prime_ms, r.to_ms),
            ));
            continue;
        }
        let Some((_, parent)) = lin.get(r.parent) else {
            continue;
        };
        let Ok(pairs) = parent.pairs() else { continue };
        let (lo, hi) = (r.to_prime_ms * 1_000_000, r.to_ms * 1_000_000);
        let late = pairs.iter().find(|p| {
            let inv = &parent.ops[p.invoke];
            let done = p.complete.map(|c| &parent.ops[c]);
            matches!(inv.process, Some(Process::Client(_)))
                && writes(inv)
                && inv.time.unwrap_or(0) > lo
                && done.is_some_and(|c| c.kind == OpType::Ok && c.time.unwrap_or(i64::MAX) <= hi)
        });
        if let Some(p) = late {
            out.push((
                i,
                format!(
                    "backtrack {} to T={} ms reported T′={} ms, but a write invoked at {} ms was acknowledged at {} ms",
                    i + 1,
                    r.to_ms,
                    r.to_prime_ms,
                    parent.ops[p.invoke].time.unwrap_or(0) / 1_000_000,
                    p.complete.and_then(|c| parent.ops[c].time).unwrap_or(0) / 1_000_000
                ),
            ));
        }
    }
    out
}
