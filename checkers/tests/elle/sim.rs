//! A simulated strictly serializable store: each txn is executed atomically at a random moment
//! between its invocation and its completion, so the recorded history is strictly serializable.
//! Some txns abort (`:fail`, no effect) and some crash (`:info`, effect applied or not); a process
//! that crashed is replaced by a new process id, as Jepsen does.

use checkers::history::{History, Op, OpType};
use checkers::Value;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::BTreeMap;

#[derive(Clone, Copy)]
enum Mop {
    Read(i64),
    Write(i64, i64),
}

enum Phase {
    Idle,
    /// Invoked, with the snapshot its reads will see (weak mode only).
    Invoked(Vec<Mop>, Option<BTreeMap<i64, Vec<i64>>>),
    Done(Vec<Value>, OpType),
}

/// Runs the store; `lists` selects list-append (else registers). With `weak`, a txn's reads come
/// first and see the committed state as of its invocation, and its appends are applied at commit
/// with no conflict check: read committed holds, serializability does not.
fn run(seed: u64, txns: usize, procs: usize, keys: usize, lists: bool, weak: bool) -> History {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut lists_state: BTreeMap<i64, Vec<i64>> = BTreeMap::new();
    let mut regs: BTreeMap<i64, i64> = BTreeMap::new();
    let mut counters: BTreeMap<i64, i64> = BTreeMap::new();
    let mut phases: Vec<Phase> = (0..procs).map(|_| Phase::Idle).collect();
    let mut pid: Vec<i64> = (0..procs as i64).collect();
    let mut ops = Vec::new();
    let (f_write, mut invoked) = (if lists { "append" } else { "w" }, 0);
    let mop_value = |f: &str, k: i64, v: Value| Value::Vector(vec![Value::kw(f), Value::Int(k), v]);
    loop {
        let busy = phases.iter().any(|p| !matches!(p, Phase::Idle));
        if invoked >= txns && !busy {
            break;
        }
        let w = rng.random_range(0..procs);
        let phase = std::mem::replace(&mut phases[w], Phase::Idle);
        phases[w] = match phase {
            Phase::Idle if invoked < txns => {
                invoked += 1;
                let mops: Vec<Mop> = (0..rng.random_range(1..=4))
                    .map(|_| {
                        let k = rng.random_range(0..keys as i64);
                        if rng.random_bool(0.5) {
                            let c = counters.entry(k).or_insert(0);
                            *c += 1;
                            Mop::Write(k, *c)
                        } else {
                            Mop::Read(k)
                        }
                    })
                    .collect();
                // In the weak store all reads come first, so they see one committed snapshot.
                let mut mops = mops;
                if weak {
                    mops.sort_by_key(|m| matches!(m, Mop::Write(..)));
                }
                let inv = mops
                    .iter()
                    .map(|m| match *m {
                        Mop::Read(k) => mop_value("r", k, Value::Nil),
                        Mop::Write(k, v) => mop_value(f_write, k, Value::Int(v)),
                    })
                    .collect();
                ops.push(Op::new(OpType::Invoke, pid[w], "txn", Value::Vector(inv)));
                Phase::Invoked(mops, weak.then(|| lists_state.clone()))
            }
            Phase::Idle => Phase::Idle,
            Phase::Invoked(mops, snapshot) => {
                let roll = if weak { 99 } else { rng.random_range(0..100) };
                let mut own: BTreeMap<i64, Vec<i64>> = BTreeMap::new();
                let kind = match roll {
                    0..=4 => OpType::Fail,
                    5..=9 => OpType::Info,
                    _ => OpType::Ok,
                };
                let apply = kind == OpType::Ok || (kind == OpType::Info && rng.random_bool(0.5));
                let mut done = Vec::new();
                for m in mops {
                    match m {
                        Mop::Write(k, v) => {
                            if apply {
                                lists_state.entry(k).or_default().push(v);
                                regs.insert(k, v);
                                own.entry(k).or_default().push(v);
                            }
                            done.push(mop_value(f_write, k, Value::Int(v)));
                        }
                        Mop::Read(k) => {
                            let seen = if kind != OpType::Ok {
                                Value::Nil
                            } else if let Some(snap) = &snapshot {
                                let base = snap.get(&k).into_iter().flatten();
                                Value::Vector(
                                    base.chain(own.get(&k).into_iter().flatten())
                                        .map(|&x| Value::Int(x))
                                        .collect(),
                                )
                            } else if lists {
                                Value::Vector(
                                    lists_state
                                        .get(&k)
                                        .into_iter()
                                        .flatten()
                                        .map(|&x| Value::Int(x))
                                        .collect(),
                                )
                            } else {
                                regs.get(&k).map_or(Value::Nil, |&x| Value::Int(x))
                            };
                            done.push(mop_value("r", k, seen));
                        }
                    }
                }
                Phase::Done(done, kind)
            }
            Phase::Done(value, kind) => {
                ops.push(Op::new(kind, pid[w], "txn", Value::Vector(value)));
                if kind == OpType::Info {
                    pid[w] += procs as i64;
                }
                Phase::Idle
            }
        };
    }
    for (i, op) in ops.iter_mut().enumerate() {
        op.index = i;
    }
    History::new(ops)
}

pub fn list_append(seed: u64, txns: usize, procs: usize, keys: usize) -> History {
    run(seed, txns, procs, keys, true, false)
}

pub fn registers(seed: u64, txns: usize, procs: usize, keys: usize) -> History {
    run(seed, txns, procs, keys, false, false)
}

/// A weakened list-append store: snapshot reads, unchecked concurrent appends.
pub fn weak_list_append(seed: u64, txns: usize, procs: usize, keys: usize) -> History {
    run(seed, txns, procs, keys, true, true)
}
