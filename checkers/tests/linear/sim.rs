//! A simulated atomic register with random concurrency, crashes (`:info`) and failed cas, recorded as
//! a Jepsen history; plus injected violations that no interleaving can explain.

use checkers::{History, Op, OpType, Value};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::BTreeMap;

/// What a worker is doing.
enum Slot {
    Idle,
    /// Invoked (op position); `result` once it took effect: `Some(Ok(value))` / `Some(Err(()))` = failed cas.
    Invoked {
        inv: usize,
        result: Option<Result<Value, ()>>,
    },
}

fn keyed(key: Option<i64>, v: Value) -> Value {
    match key {
        Some(k) => Value::Vector(vec![Value::Int(k), v]),
        None => v,
    }
}

/// Records `steps` random steps of `procs` workers on an atomic register (one per key when `keys`
/// is given, values `[k v]`). Each step either invokes, applies atomically, or completes; with
/// probability `crash_pct`% an applied or unapplied op completes `:info` and its worker continues as
/// a new process. Ops still pending at the end have no completion.
pub fn record(seed: u64, procs: usize, steps: usize, crash_pct: u32, keys: Option<i64>) -> History {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut reg: BTreeMap<i64, Value> = BTreeMap::new();
    let mut ops: Vec<Op> = Vec::new();
    let mut slots: Vec<(i64, Slot)> = (0..procs).map(|p| (p as i64, Slot::Idle)).collect();
    let mut next_pid = procs as i64;
    for _ in 0..steps {
        let w = rng.random_range(0..procs);
        let (pid, slot) = &mut slots[w];
        match slot {
            Slot::Idle => {
                let key = keys.map(|n| rng.random_range(0..n));
                let (f, v) = match rng.random_range(0..3) {
                    0 => ("read", Value::Nil),
                    1 => ("write", Value::Int(rng.random_range(0..5))),
                    _ => (
                        "cas",
                        Value::Vector(vec![
                            Value::Int(rng.random_range(0..5)),
                            Value::Int(rng.random_range(0..5)),
                        ]),
                    ),
                };
                *slot = Slot::Invoked {
                    inv: ops.len(),
                    result: None,
                };
                ops.push(Op::new(OpType::Invoke, *pid, f, keyed(key, v)));
            }
            Slot::Invoked { inv, result } => {
                let inv_op = ops[*inv].clone();
                let (key, v) = match (keys, inv_op.value.as_vec()) {
                    (Some(_), Some([k, v])) => (k.as_int(), v.clone()),
                    _ => (None, inv_op.value.clone()),
                };
                let crash = rng.random_range(0..100) < crash_pct;
                if crash {
                    ops.push(Op::new(
                        OpType::Info,
                        *pid,
                        inv_op.f(),
                        inv_op.value.clone(),
                    ));
                    *pid = next_pid;
                    next_pid += 1;
                    *slot = Slot::Idle;
                    continue;
                }
                match result.take() {
                    None => {
                        let cur = reg.entry(key.unwrap_or(0)).or_insert(Value::Nil);
                        *result = Some(match inv_op.f() {
                            "read" => Ok(cur.clone()),
                            "write" => {
                                *cur = v.clone();
                                Ok(v)
                            }
                            _ => match v.as_vec() {
                                Some([old, new]) if old == cur => {
                                    *cur = new.clone();
                                    Ok(v.clone())
                                }
                                _ => Err(()),
                            },
                        });
                    }
                    Some(r) => {
                        let (kind, value) = match r {
                            Ok(x) => (OpType::Ok, keyed(key, x)),
                            Err(()) => (OpType::Fail, inv_op.value.clone()),
                        };
                        ops.push(Op::new(kind, *pid, inv_op.f(), value));
                        *slot = Slot::Idle;
                    }
                }
            }
        }
    }
    let mut h = History::new(ops);
    h.reindex();
    h
}

/// Names of the violations [`inject`] can append.
pub const VIOLATIONS: [&str; 6] = [
    "stale-read",
    "lost-cas",
    "future-read",
    "phantom-value",
    "non-monotonic-read",
    "double-cas",
];

/// Appends a violation of kind `kind` (an index into [`VIOLATIONS`]) on key `keys - 1` (or the
/// register), using fresh processes and values (50+) that the random prefix never writes, so no
/// pending op of the prefix can explain it.
pub fn inject(h: &mut History, kind: usize, keys: Option<i64>) {
    let key = keys.map(|n| n - 1);
    let base = 1000 + h.ops.iter().filter_map(|o| o.client()).max().unwrap_or(0);
    let mut ops = std::mem::take(&mut h.ops);
    let seq = |ops: &mut Vec<Op>, p: i64, f: &str, inv: Value, ret: Value| {
        ops.push(Op::new(OpType::Invoke, p, f, keyed(key, inv)));
        ops.push(Op::new(OpType::Ok, p, f, keyed(key, ret)));
    };
    let int = Value::Int;
    let cas = |a: i64, b: i64| Value::Vector(vec![int(a), int(b)]);
    match kind {
        0 => {
            seq(&mut ops, base, "write", int(50), int(50));
            seq(&mut ops, base, "write", int(51), int(51));
            seq(&mut ops, base + 1, "read", Value::Nil, int(50));
        }
        1 => {
            seq(&mut ops, base, "write", int(50), int(50));
            seq(&mut ops, base, "cas", cas(50, 52), cas(50, 52));
            seq(&mut ops, base + 1, "read", Value::Nil, int(50));
        }
        2 => {
            seq(&mut ops, base + 1, "read", Value::Nil, int(53));
            seq(&mut ops, base, "write", int(53), int(53));
        }
        3 => seq(&mut ops, base + 1, "read", Value::Nil, int(54)),
        4 => {
            seq(&mut ops, base, "write", int(56), int(56));
            ops.push(Op::new(OpType::Invoke, base, "write", keyed(key, int(57))));
            seq(&mut ops, base + 1, "read", Value::Nil, int(57));
            seq(&mut ops, base + 2, "read", Value::Nil, int(56));
            ops.push(Op::new(OpType::Ok, base, "write", keyed(key, int(57))));
        }
        _ => {
            seq(&mut ops, base, "write", int(58), int(58));
            seq(&mut ops, base + 1, "cas", cas(58, 59), cas(58, 59));
            seq(&mut ops, base + 2, "cas", cas(58, 59), cas(58, 59));
        }
    }
    h.ops = ops;
    h.reindex();
}

/// `n` concurrent writes, sequential reads that order them, and a final read that contradicts it:
/// not linearizable, and expensive to prove so.
pub fn hard_history(n: i64) -> History {
    let mut ops = Vec::new();
    for p in 0..n {
        ops.push(Op::new(OpType::Invoke, p, "write", Value::Int(p)));
    }
    for v in 0..n {
        ops.push(Op::new(OpType::Invoke, 100, "read", Value::Nil));
        ops.push(Op::new(OpType::Ok, 100, "read", Value::Int(v)));
    }
    for p in 0..n {
        ops.push(Op::new(OpType::Ok, p, "write", Value::Int(p)));
    }
    ops.push(Op::new(OpType::Invoke, 100, "read", Value::Nil));
    ops.push(Op::new(OpType::Ok, 100, "read", Value::Int(0)));
    let mut h = History::new(ops);
    h.reindex();
    h
}

/// [`hard_history`] plus two concurrent writes of one value nobody reads (999): that changes no
/// verdict, but with a value written twice the polynomial distinct-writes procedure does not
/// apply, so the exponential search must decide (tests of the search and its budget use this).
pub fn hard_history_search(n: i64) -> History {
    let mut h = hard_history(n);
    for p in [200, 201] {
        h.ops
            .insert(0, Op::new(OpType::Invoke, p, "write", Value::Int(999)));
        h.ops.push(Op::new(OpType::Ok, p, "write", Value::Int(999)));
    }
    h.reindex();
    h
}

/// A random (not necessarily linearizable) history of `events` events by 3 processes on values
/// 0..2: invocations of read/write/cas and completions with random outcomes and read results.
pub fn random_small(seed: u64, events: usize) -> History {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut ops: Vec<Op> = Vec::new();
    let mut pending: [Option<usize>; 3] = [None; 3];
    let mut pids = [0i64, 1, 2];
    let mut next_pid = 3;
    let small = |rng: &mut ChaCha8Rng| {
        if rng.random_range(0..4) == 0 {
            Value::Nil
        } else {
            Value::Int(rng.random_range(0..2))
        }
    };
    for _ in 0..events {
        let w = rng.random_range(0..3);
        match pending[w] {
            None => {
                let (f, v) = match rng.random_range(0..3) {
                    0 => ("read", Value::Nil),
                    1 => ("write", Value::Int(rng.random_range(0..2))),
                    _ => (
                        "cas",
                        Value::Vector(vec![
                            Value::Int(rng.random_range(0..2)),
                            Value::Int(rng.random_range(0..2)),
                        ]),
                    ),
                };
                pending[w] = Some(ops.len());
                ops.push(Op::new(OpType::Invoke, pids[w], f, v));
            }
            Some(inv) => {
                let f = ops[inv].f().to_string();
                let kind = match rng.random_range(0..6) {
                    0 => OpType::Fail,
                    1 => OpType::Info,
                    _ => OpType::Ok,
                };
                let v = if f == "read" && kind == OpType::Ok {
                    small(&mut rng)
                } else {
                    ops[inv].value.clone()
                };
                ops.push(Op::new(kind, pids[w], &f, v));
                pending[w] = None;
                if kind == OpType::Info {
                    pids[w] = next_pid;
                    next_pid += 1;
                }
            }
        }
    }
    let mut h = History::new(ops);
    h.reindex();
    h
}
