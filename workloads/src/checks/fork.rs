//! Checking across clones. A history with `:clone` nemesis ops (recorded by the harness's
//! admin host with the clone's volume and branch point `T′`) holds several databases' ops: the
//! source's (processes below `1 << 32`) and each clone's (processes from
//! [`process_base`]`(volume)`). It is split into one history per side:
//!
//! - the source's: its own ops (split further at backtracks, see [`super::timeline`]);
//! - clone `v`'s: the source's ops cut at `T′` — ops invoked after it dropped, writes still
//!   open at it made indeterminate (`:info`), reads still open at it dropped — followed by
//!   the clone's own ops.
//!
//! Each is a history the workload's own checks apply to unchanged: a clone's state at its
//! creation is the state the source's ops before `T′` produced, so a clone read missing a
//! commit acknowledged before `T′` is a lost write, a clone read of a source write invoked
//! after `T′` (or a source read of a clone's write) reads a value never written in its
//! history. Writes are unique across sides (one generator), so leaks cannot hide.

use super::timeline::writes;
use checkers::{History, Op, OpType, Process, Value};

/// The first process number of clone `volume`'s workers (the source's are below `1 << 32`).
pub fn process_base(volume: u32) -> i64 {
    (volume as i64) << 32
}

/// The side (volume) an op's process ran on; nemesis and unknown processes count as the
/// source's.
pub fn volume_of(op: &Op) -> u32 {
    match op.process {
        Some(Process::Client(p)) if p >= 0 => (p >> 32) as u32,
        _ => 0,
    }
}

/// A clone as the history recorded it.
#[derive(Debug, Clone, PartialEq)]
pub struct Fork {
    pub volume: u32,
    /// The branch point: the source showed this state at `t_prime_ms`.
    pub t_prime_ms: i64,
    pub requested_ms: i64,
    /// When the admin saw it created (ns).
    pub done_ns: i64,
}

fn field<'a>(op: &'a Op, k: &str) -> Option<&'a Value> {
    op.value.as_map()?.get(&Value::kw(k))
}

/// The clones created, in history order, and the requests refused: (requested ms, why).
pub fn forks(h: &History) -> (Vec<Fork>, Vec<(i64, String)>) {
    let mut done = vec![];
    let mut refused = vec![];
    for op in h
        .ops
        .iter()
        .filter(|o| matches!(o.process, Some(Process::Nemesis)) && o.f.as_deref() == Some("clone"))
    {
        let requested_ms = field(op, "requested_ms")
            .and_then(Value::as_int)
            .unwrap_or(0);
        match (
            field(op, "volume").and_then(Value::as_int),
            field(op, "t_prime_ms").and_then(Value::as_int),
        ) {
            (Some(v), Some(t)) => done.push(Fork {
                volume: v as u32,
                t_prime_ms: t,
                requested_ms,
                done_ns: op.time.unwrap_or(0),
            }),
            _ => {
                if let Some(why) = field(op, "rejected") {
                    refused.push((requested_ms, format!("{why:?}")));
                }
            }
        }
    }
    (done, refused)
}

/// Every history the workload's checks run on, labelled: split at clones (this module) and
/// backtracks ([`super::timeline::lineages`]); empty when the history has neither.
pub fn lineages(h: &History) -> Vec<(String, History)> {
    let (fs, _) = forks(h);
    if fs.is_empty() {
        return super::timeline::lineages(h);
    }
    let side = |v: u32| side(h, v);
    let source = side(0);
    let mut out: Vec<(String, History)> = super::timeline::lineages(&source)
        .into_iter()
        .map(|(l, h)| (format!("the source, {l}"), h))
        .collect();
    if out.is_empty() {
        out.push(("the source".to_string(), source));
    }
    let base = out.last().map(|(_, h)| h.clone()).unwrap_or_default();
    for f in &fs {
        let mut ops = cut(&base, f.t_prime_ms * 1_000_000);
        ops.extend(
            side(f.volume)
                .ops
                .into_iter()
                .filter(|o| matches!(o.process, Some(Process::Client(_)))),
        );
        // The cut's ops all began by `T′`, the clone's after it was created.
        ops.sort_by_key(|o| o.time.unwrap_or(0));
        out.push((
            format!("clone {} (branched at T′ = {} ms)", f.volume, f.t_prime_ms),
            History::new(ops),
        ));
    }
    out
}

/// Side `v`'s ops alone (the source's, `v = 0`, keep the nemesis ops).
pub fn side(h: &History, v: u32) -> History {
    History::new(
        h.ops
            .iter()
            .filter(|o| volume_of(o) == v)
            .cloned()
            .collect(),
    )
}

/// The client ops of `h` the state at `cut_ns` reflects: completed by then as they were;
/// writes still open then indeterminate (`:info`, with their invocation's value); reads still
/// open dropped; anything invoked later dropped.
fn cut(h: &History, cut_ns: i64) -> Vec<Op> {
    let Ok(pairs) = h.pairs() else {
        return vec![];
    };
    let time = |i: usize| h.ops[i].time.unwrap_or(0);
    let mut keep: Vec<(usize, Op)> = vec![];
    for p in pairs
        .iter()
        .filter(|p| matches!(h.ops[p.invoke].process, Some(Process::Client(_))))
        .filter(|p| time(p.invoke) < cut_ns)
    {
        let inv = &h.ops[p.invoke];
        match p.complete {
            Some(c) if time(c) <= cut_ns => {
                keep.push((p.invoke, inv.clone()));
                if c != p.invoke {
                    keep.push((c, h.ops[c].clone()));
                }
            }
            c if writes(inv) => {
                keep.push((p.invoke, inv.clone()));
                if let Some(c) = c.filter(|c| *c != p.invoke) {
                    let mut op = h.ops[c].clone();
                    op.kind = OpType::Info;
                    op.value = inv.value.clone();
                    keep.push((c, op));
                }
            }
            _ => {}
        }
    }
    keep.sort_by_key(|(i, _)| *i);
    keep.into_iter().map(|(_, o)| o).collect()
}
