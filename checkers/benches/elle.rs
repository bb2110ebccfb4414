//! Elle benchmark: a generated list-append history of 1,000,000 transactions checked for strict
//! serializability, plus the Elle corpus.
//!
//! The history comes from a simulated strictly serializable store with real concurrency: 20
//! processes each step through invoke -> execute (atomically, against one shared state) ->
//! complete, in a random interleaving, so every txn takes effect between its invocation and its
//! completion. Txns have 3-7 micro-ops over 10 active keys; a key retires after 8 appends. About
//! 1% of txns abort (`:fail`, no effect). Everything is drawn from one seed (rand_chacha).
//!
//! Run: `cargo bench -p checkers --bench elle` (env `ELLE_BENCH_TXNS` to change the size).

use checkers::elle::{ElleOptions, ListAppendChecker, RwRegisterChecker};
use checkers::history::{History, Op, OpType};
use checkers::{Checker, Validity, Value};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::time::Instant;

const PROCESSES: usize = 20;
const ACTIVE_KEYS: usize = 10;
const MAX_APPENDS_PER_KEY: i64 = 8;

enum Phase {
    Idle,
    Invoked(Vec<(bool, i64, i64)>),
    Executed(Vec<Value>, bool),
}

/// Generates a strictly serializable list-append history of `n` transactions.
fn generate(n: usize, seed: u64) -> History {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut state: std::collections::HashMap<i64, Vec<i64>> = Default::default();
    let mut active: Vec<i64> = (0..ACTIVE_KEYS as i64).collect();
    let mut next_key = ACTIVE_KEYS as i64;
    let mut next_val: std::collections::HashMap<i64, i64> = Default::default();
    let mut phases: Vec<Phase> = (0..PROCESSES).map(|_| Phase::Idle).collect();
    let mut ops: Vec<Op> = Vec::with_capacity(2 * n + PROCESSES);
    let (mut invoked, mut completed) = (0usize, 0usize);
    let kw = |s: &str| Value::kw(s);
    while completed < n {
        let p = rng.random_range(0..PROCESSES);
        let phase = std::mem::replace(&mut phases[p], Phase::Idle);
        phases[p] = match phase {
            Phase::Idle if invoked < n => {
                invoked += 1;
                let len = rng.random_range(3..=7);
                let mut mops = Vec::with_capacity(len);
                let mut value = Vec::with_capacity(len);
                for _ in 0..len {
                    let k = active[rng.random_range(0..ACTIVE_KEYS)];
                    let append = rng.random_bool(0.5);
                    let v = if append {
                        let c = next_val.entry(k).or_insert(0);
                        *c += 1;
                        *c
                    } else {
                        0
                    };
                    mops.push((append, k, v));
                    value.push(if append {
                        Value::Vector(vec![kw("append"), Value::Int(k), Value::Int(v)])
                    } else {
                        Value::Vector(vec![kw("r"), Value::Int(k), Value::Nil])
                    });
                }
                // Retire keys that have had their appends handed out.
                for slot in active.iter_mut() {
                    if next_val.get(slot).copied().unwrap_or(0) >= MAX_APPENDS_PER_KEY {
                        *slot = next_key;
                        next_key += 1;
                    }
                }
                ops.push(Op::new(
                    OpType::Invoke,
                    p as i64,
                    "txn",
                    Value::Vector(value),
                ));
                Phase::Invoked(mops)
            }
            Phase::Idle => Phase::Idle,
            Phase::Invoked(mops) => {
                let abort = rng.random_bool(0.01);
                let mut value = Vec::with_capacity(mops.len());
                for (append, k, v) in mops {
                    if append {
                        if !abort {
                            state.entry(k).or_default().push(v);
                        }
                        value.push(Value::Vector(vec![
                            kw("append"),
                            Value::Int(k),
                            Value::Int(v),
                        ]));
                    } else {
                        let read = if abort {
                            Value::Nil
                        } else {
                            Value::Vector(
                                state
                                    .get(&k)
                                    .into_iter()
                                    .flatten()
                                    .map(|&x| Value::Int(x))
                                    .collect(),
                            )
                        };
                        value.push(Value::Vector(vec![kw("r"), Value::Int(k), read]));
                    }
                }
                Phase::Executed(value, abort)
            }
            Phase::Executed(value, abort) => {
                completed += 1;
                let kind = if abort { OpType::Fail } else { OpType::Ok };
                ops.push(Op::new(kind, p as i64, "txn", Value::Vector(value)));
                Phase::Idle
            }
        };
    }
    for (i, op) in ops.iter_mut().enumerate() {
        op.index = i;
        op.time = Some(i as i64 * 1000);
    }
    History::new(ops)
}

fn peak_rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map(|kb| kb / 1024.0)
        .unwrap_or(f64::NAN)
}

/// CPU time (user + system) of this process, in seconds, from /proc/self/stat (clock ticks of
/// 10 ms): on a shared machine it shows the work done, where wall time also shows the waiting.
fn cpu_secs() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit_once(')').map(|x| x.1).unwrap_or("");
    let f: Vec<f64> = after
        .split_whitespace()
        .map(|x| x.parse().unwrap_or(0.0))
        .collect();
    (f.get(11).copied().unwrap_or(0.0) + f.get(12).copied().unwrap_or(0.0)) / 100.0
}

fn bench_corpus() {
    let dir = std::env::var("AURORA_CHAOS_HISTORIES").unwrap_or_else(|_| {
        concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/histories").to_string()
    });
    let Ok(text) = std::fs::read_to_string(format!("{dir}/manifest.json")) else {
        println!("corpus NOT timed: {dir}/manifest.json missing");
        return;
    };
    let Ok(m) = serde_json::from_str::<serde_json::Value>(&text) else {
        return;
    };
    let mut histories = Vec::new();
    for e in m["entries"].as_array().into_iter().flatten() {
        let w = e["workload"].as_str().unwrap_or("");
        if w == "list-append" || w == "rw-register" {
            let path = std::path::Path::new(&dir).join(e["path"].as_str().unwrap_or(""));
            if let Ok(h) = checkers::io::read_history_file(&path) {
                let o = ElleOptions::from_json(&e["checker_options"]).unwrap_or_default();
                histories.push((w.to_string(), h, o));
            }
        }
    }
    let start = Instant::now();
    let rounds = 20;
    for _ in 0..rounds {
        for (w, h, o) in &histories {
            let _ = if w == "list-append" {
                ListAppendChecker::new(o.clone()).check(h)
            } else {
                RwRegisterChecker::new(o.clone()).check(h)
            };
        }
    }
    let per = start.elapsed() / rounds;
    println!(
        "corpus: {} Elle histories checked in {per:?} per round (mean of {rounds})",
        histories.len()
    );
}

fn main() {
    bench_corpus();
    let n: usize = std::env::var("ELLE_BENCH_TXNS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_000_000);
    let seed = 42;
    let t0 = Instant::now();
    let h = generate(n, seed);
    let mops: usize = h
        .ops
        .iter()
        .filter(|o| o.kind != OpType::Invoke)
        .map(|o| o.value.as_vec().map_or(0, |v| v.len()))
        .sum();
    println!(
        "generated {n} txns ({} ops, {:.1} mops/txn, {PROCESSES} processes, seed {seed}) in {:?}; peak RSS so far {:.0} MB",
        h.len(),
        mops as f64 / n as f64,
        t0.elapsed(),
        peak_rss_mb()
    );
    let checker = ListAppendChecker::new(ElleOptions::default());
    let (t1, c1) = (Instant::now(), cpu_secs());
    let v = checker.check(&h);
    let wall = t1.elapsed();
    let cpu = cpu_secs() - c1;
    println!(
        "list-append strict-serializable: valid={:?} anomalies={:?} in {:.2} s wall ({:.2} s CPU) = {:.0} txn/s wall, {:.0} txn/s CPU; stats {}",
        v.valid,
        v.anomaly_types,
        wall.as_secs_f64(),
        cpu,
        n as f64 / wall.as_secs_f64(),
        n as f64 / cpu.max(0.01),
        serde_json::to_string(&v.stats).unwrap_or_default()
    );
    println!("peak RSS (VmHWM): {:.0} MB", peak_rss_mb());
    assert_eq!(
        v.valid,
        Validity::Valid,
        "a serializable store's history must be valid: {}",
        v.explanation
    );
}
