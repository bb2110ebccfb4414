//! Work-budget benchmark: how long the default deterministic budgets take on this machine, so that
//! the defaults ([`checkers::linear::DEFAULT_BUDGET`], [`checkers::elle::options::DEFAULT_CYCLE_SEARCH_BUDGET`])
//! can be stated in seconds. Prints units spent, wall and CPU seconds, units per second and peak RSS.
//!
//! - linear: `n` writes of distinct values all concurrent with a long run of reads of each value in
//!   turn and a final read of a value never written: the search must refute every order, which
//!   takes far more than the budget, so it stops at the budget (unknown).
//! - elle: one strongly connected component made of two wr chains with random rw edges between
//!   them: no G-single cycle exists, so that search explores the component from every anchor
//!   until the budget runs out.
//!
//! Run: `cargo bench -p checkers --bench budget`.

use checkers::budget::Meter;
use checkers::elle::cycle::{analyse_scc, base_specs, LIST_APPEND_PREF};
use checkers::elle::graph::{GraphBuilder, RW, WR};
use checkers::history::{History, Op, OpType};
use checkers::linear::{LinearChecker, LinearOptions, ModelKind, DEFAULT_BUDGET};
use checkers::{Checker, Value};
use rand::{Rng, SeedableRng};
use std::time::Instant;

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

fn cpu_secs() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit_once(')').map(|x| x.1).unwrap_or("");
    let f: Vec<f64> = after
        .split_whitespace()
        .map(|x| x.parse().unwrap_or(0.0))
        .collect();
    (f.get(11).copied().unwrap_or(0.0) + f.get(12).copied().unwrap_or(0.0)) / 100.0
}

fn hard_history(n: i64) -> History {
    let mut ops = Vec::new();
    for p in 0..n {
        ops.push(Op::new(OpType::Invoke, p, "write", Value::Int(p)));
    }
    for v in 0..n {
        ops.push(Op::new(OpType::Invoke, 1000, "read", Value::Nil));
        ops.push(Op::new(OpType::Ok, 1000, "read", Value::Int(v)));
    }
    for p in 0..n {
        ops.push(Op::new(OpType::Ok, p, "write", Value::Int(p)));
    }
    ops.push(Op::new(OpType::Invoke, 1000, "read", Value::Nil));
    ops.push(Op::new(OpType::Ok, 1000, "read", Value::Int(-1)));
    // Two concurrent writes of one unread value: with a value written twice, the polynomial
    // distinct-writes procedure does not apply and the exponential search must decide.
    for p in [2000, 2001] {
        ops.insert(0, Op::new(OpType::Invoke, p, "write", Value::Int(999)));
        ops.push(Op::new(OpType::Ok, p, "write", Value::Int(999)));
    }
    let mut h = History::new(ops);
    h.reindex();
    h
}

fn linear() {
    let h = hard_history(22);
    let (t0, c0) = (Instant::now(), cpu_secs());
    let v = LinearChecker::new(LinearOptions::knossos(ModelKind::Register)).check(&h);
    let (wall, cpu) = (t0.elapsed().as_secs_f64(), cpu_secs() - c0);
    println!(
        "linear: default budget {DEFAULT_BUDGET} units: {:?} ({}) in {wall:.2} s wall, {cpu:.2} s CPU, {:.1} M units/s CPU, configs {}, peak RSS {:.0} MB",
        v.valid,
        v.anomaly_types.join(","),
        DEFAULT_BUDGET as f64 / cpu.max(1e-9) / 1e6,
        v.stats["configs-explored"],
        peak_rss_mb()
    );
}

fn elle() {
    let budget = checkers::elle::options::DEFAULT_CYCLE_SEARCH_BUDGET;
    // Two wr chains X and Y with random rw edges between them: every cycle needs two rw edges, so
    // the G-single search (tried before G-nonadjacent and G2) fails from every one of its anchors.
    let m = 10_000u32;
    let n = 2 * m;
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
    let mut b = GraphBuilder::default();
    for i in 0..m - 1 {
        b.link(i, i + 1, WR);
        b.link(m + i, m + i + 1, WR);
    }
    for i in 0..m {
        for _ in 0..2 {
            b.link(i, m + rng.random_range(0..m), RW);
            b.link(m + i, rng.random_range(0..m), RW);
        }
    }
    let g = b.finish(n as usize);
    let mut meter = Meter::new(budget, None);
    let (t0, c0) = (Instant::now(), cpu_secs());
    let cases = analyse_scc(&g, &base_specs(), &LIST_APPEND_PREF, &mut meter);
    let (wall, cpu) = (t0.elapsed().as_secs_f64(), cpu_secs() - c0);
    println!(
        "elle: default cycle-search budget {budget} units on one {n}-vertex SCC: {} unit(s) used, exhausted {:?}, {} case(s) in {wall:.2} s wall, {cpu:.2} s CPU, {:.1} M units/s CPU, peak RSS {:.0} MB",
        meter.used(),
        meter.exhausted().map(|e| e.describe()),
        cases.len(),
        meter.used() as f64 / cpu.max(1e-9) / 1e6,
        peak_rss_mb()
    );
}

/// An atomic register driven by `procs` processes for `n` ops with distinct written values: each
/// op takes effect at a random moment between its invocation and completion; `info_pct`% of the
/// completions are `:info` (the process is then replaced), and half of those took effect.
fn atomic_distinct(n: usize, procs: usize, info_pct: u32, seed: u64, distinct: bool) -> History {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let mut state = Value::Nil;
    let mut next = 1i64;
    // Per process: (pid, pending op: f, value, applied result)
    let mut slots: Vec<(i64, Option<(bool, Value, Option<Value>)>)> =
        (0..procs as i64).map(|p| (p, None)).collect();
    let mut next_pid = procs as i64;
    let mut ops = Vec::new();
    let mut done = 0;
    while done < n {
        let w = rng.random_range(0..procs);
        let (pid, slot) = &mut slots[w];
        match slot.take() {
            None => {
                let write = rng.random_bool(0.5);
                let v = if write {
                    next += 1;
                    Value::Int(if distinct { next - 1 } else { next % 5 })
                } else {
                    Value::Nil
                };
                ops.push(Op::new(
                    OpType::Invoke,
                    *pid,
                    if write { "write" } else { "read" },
                    v.clone(),
                ));
                *slot = Some((write, v, None));
            }
            Some((write, v, None)) if rng.random_bool(0.5) => {
                // Take effect now.
                let r = if write {
                    state = v.clone();
                    v.clone()
                } else {
                    state.clone()
                };
                *slot = Some((write, v, Some(r)));
            }
            Some((write, v, applied)) => {
                let f = if write { "write" } else { "read" };
                if rng.random_range(0..100) < info_pct {
                    if applied.is_none() && write && rng.random_bool(0.5) {
                        state = v.clone();
                    }
                    ops.push(Op::new(OpType::Info, *pid, f, v));
                    *pid = next_pid;
                    next_pid += 1;
                } else {
                    let r = match applied {
                        Some(r) => r,
                        None if write => {
                            state = v.clone();
                            v.clone()
                        }
                        None => state.clone(),
                    };
                    ops.push(Op::new(OpType::Ok, *pid, f, if write { v } else { r }));
                }
                done += 1;
            }
        }
    }
    let mut h = History::new(ops);
    h.reindex();
    h
}

fn distinct_registers() {
    for (n, procs, distinct) in [
        (100_000usize, 100usize, true),
        (100_000, 20, true),
        (100_000, 100, false),
    ] {
        let h = atomic_distinct(n, procs, 20, 7, distinct);
        let (t0, c0) = (Instant::now(), cpu_secs());
        let v = LinearChecker::new(LinearOptions::knossos(ModelKind::Register)).check(&h);
        let (wall, cpu) = (t0.elapsed().as_secs_f64(), cpu_secs() - c0);
        println!(
            "linear, {} writes: {n} ops, {procs} processes, 20% :info: {:?} ({}) in {wall:.2} s wall, {cpu:.2} s CPU, decided by zones: {}, peak RSS {:.0} MB",
            if distinct { "distinct" } else { "5-valued" },
            v.valid,
            v.anomaly_types.join(","),
            v.stats["zone-decided-partitions"],
            peak_rss_mb()
        );
    }
}

fn main() {
    distinct_registers();
    elle();
    linear();
}
