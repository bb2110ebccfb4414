//! Linearizability benchmarks (`cargo bench -p checkers --bench linear`); prints figures.
//!
//! 1. All Porcupine etcd histories of the corpus (`$AURORA_CHAOS_HISTORIES/etcd/*.edn`), Porcupine
//!    semantics, checked one after another (parsing excluded). Porcupine needs about 1 s for them.
//! 2. A generated single cas-register history: 100,000 invocations by 8 processes.
//! 3. A generated independent-key history: 1,000,000 invocations over 1,000 keys.
//!
//! Inputs 2 and 3 are recorded from a simulated atomic register with a seeded ChaCha RNG (so they
//! are linearizable and the checker must explore rather than stop at the first contradiction).

use checkers::io::read_history_file;
use checkers::linear::{LinearChecker, LinearOptions};
use checkers::{Checker, History, Op, OpType, Validity, Value};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// Records `invocations` ops of `procs` concurrent workers on an atomic register per key. Each step
/// picks a worker that invokes, takes effect, or completes; `info_per_mille` of ops crash (`:info`,
/// the worker continues as a new process).
fn generate(
    seed: u64,
    procs: usize,
    invocations: usize,
    keys: Option<i64>,
    info_per_mille: u32,
) -> History {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut reg: BTreeMap<i64, i64> = BTreeMap::new();
    let mut ops: Vec<Op> = Vec::with_capacity(invocations * 2);
    // per worker: process id, pending (invoke position, key, f, arg, result once applied)
    type Pending = (usize, i64, u8, [i64; 2], Option<Option<i64>>);
    let mut workers: Vec<(i64, Option<Pending>)> = (0..procs).map(|p| (p as i64, None)).collect();
    let mut next_pid = procs as i64;
    let mut invoked = 0usize;
    let wrap = |k: i64, v: Value| {
        if keys.is_some() {
            Value::Vector(vec![Value::Int(k), v])
        } else {
            v
        }
    };
    let val = |x: i64| if x < 0 { Value::Nil } else { Value::Int(x) };
    while invoked < invocations || workers.iter().any(|w| w.1.is_some()) {
        let w = rng.random_range(0..procs);
        let (pid, pending) = &mut workers[w];
        match pending.take() {
            None if invoked < invocations => {
                let k = keys.map_or(0, |n| rng.random_range(0..n));
                let f: u8 = rng.random_range(0..3);
                let arg = [rng.random_range(0..5), rng.random_range(0..5)];
                let (name, v) = match f {
                    0 => ("read", Value::Nil),
                    1 => ("write", Value::Int(arg[0])),
                    _ => (
                        "cas",
                        Value::Vector(vec![Value::Int(arg[0]), Value::Int(arg[1])]),
                    ),
                };
                *pending = Some((ops.len(), k, f, arg, None));
                ops.push(Op::new(OpType::Invoke, *pid, name, wrap(k, v)));
                invoked += 1;
            }
            None => {}
            Some((inv, k, f, arg, None)) => {
                let cur = reg.entry(k).or_insert(-1);
                let res = match f {
                    0 => Some(*cur),
                    1 => {
                        *cur = arg[0];
                        Some(arg[0])
                    }
                    _ if *cur == arg[0] => {
                        *cur = arg[1];
                        Some(0)
                    }
                    _ => None,
                };
                *pending = Some((inv, k, f, arg, Some(res)));
            }
            Some((inv, k, f, _, Some(res))) => {
                let name = ops[inv].f().to_string();
                let (kind, v) = if rng.random_range(0..1000) < info_per_mille {
                    (OpType::Info, ops[inv].value.clone())
                } else {
                    match (f, res) {
                        (0, Some(x)) => (OpType::Ok, wrap(k, val(x))),
                        (_, Some(_)) => (OpType::Ok, ops[inv].value.clone()),
                        (_, None) => (OpType::Fail, ops[inv].value.clone()),
                    }
                };
                ops.push(Op::new(kind, *pid, &name, v));
                if kind == OpType::Info {
                    *pid = next_pid;
                    next_pid += 1;
                }
            }
        }
    }
    let mut h = History::new(ops);
    h.reindex();
    h
}

fn run(label: &str, h: &History, o: LinearOptions) -> Duration {
    let t = Instant::now();
    let v = LinearChecker::new(o).check(h);
    let d = t.elapsed();
    println!(
        "{label}: {} ops, {:?} in {:.1} ms ({} configs, {} partitions)",
        h.len(),
        v.valid,
        d.as_secs_f64() * 1e3,
        v.stats.get("configs-explored").cloned().unwrap_or_default(),
        v.stats.get("partitions").cloned().unwrap_or_default()
    );
    assert_eq!(v.valid, Validity::Valid, "{}", v.explanation);
    d
}

fn etcd() {
    let root = std::env::var_os("AURORA_CHAOS_HISTORIES")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../../shared/histories"
            ))
        })
        .join("etcd");
    let histories: Vec<(usize, History)> = (0..=102)
        .filter_map(|i| {
            Some((
                i,
                read_history_file(&root.join(format!("etcd_{i:03}.edn"))).ok()?,
            ))
        })
        .collect();
    if histories.is_empty() {
        println!("etcd: corpus NOT found at {}", root.display());
        return;
    }
    // Best of 5 rounds, per file (the machine is shared, so single rounds are noisy).
    let mut per_file = vec![Duration::MAX; histories.len()];
    let mut first_round = Duration::ZERO;
    for round in 0..5 {
        for (k, (_, h)) in histories.iter().enumerate() {
            let t1 = Instant::now();
            let _ = LinearChecker::new(LinearOptions::porcupine()).check(h);
            let d = t1.elapsed();
            per_file[k] = per_file[k].min(d);
            if round == 0 {
                first_round += d;
            }
        }
    }
    let best: Duration = per_file.iter().sum();
    let (k, d) = per_file
        .iter()
        .enumerate()
        .max_by_key(|(_, d)| **d)
        .map(|(k, d)| (k, *d))
        .unwrap_or((0, Duration::ZERO));
    let slowest = (d, histories[k].0);
    println!(
        "etcd: first round {:.1} ms",
        first_round.as_secs_f64() * 1e3
    );
    println!(
        "etcd: {} histories checked in {:.1} ms (sum of per-file best of 5; Porcupine ~1000 ms); slowest etcd_{:03} {:.1} ms",
        histories.len(),
        best.as_secs_f64() * 1e3,
        slowest.1,
        slowest.0.as_secs_f64() * 1e3
    );
}

fn main() {
    etcd();
    let t = Instant::now();
    let single = generate(1, 8, 100_000, None, 0);
    println!(
        "(generated single-register history in {:.0} ms)",
        t.elapsed().as_secs_f64() * 1e3
    );
    run(
        "single register, 100k invocations, 8 processes, no crashes",
        &single,
        LinearOptions::default(),
    );
    let crashy = generate(2, 8, 100_000, None, 2);
    run(
        "single register, 100k invocations, 8 processes, 0.2% :info",
        &crashy,
        LinearOptions::default(),
    );
    let t = Instant::now();
    let many = generate(3, 16, 1_000_000, Some(1000), 2);
    println!(
        "(generated independent history in {:.0} ms)",
        t.elapsed().as_secs_f64() * 1e3
    );
    run(
        "1,000 independent keys, 1M invocations, 16 processes, 0.2% :info",
        &many,
        LinearOptions {
            independent: true,
            ..LinearOptions::default()
        },
    );
}
