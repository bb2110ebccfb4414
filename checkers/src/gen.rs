//! Deterministic Jepsen-format list-append histories, for benchmarks and differential tests.
//!
//! [`write_list_append`] simulates a strictly serializable list-append store driven by
//! `processes` Jepsen workers and writes its history as Jepsen writes `history.edn`: one op map
//! per line, `:index :time :type :process :f :value`, invoke/complete pairs.
//!
//! Contract: the output depends on [`AppendGen`] only (one ChaCha stream drawn from `seed`), never
//! on the machine. Each transaction takes effect atomically at one moment between its invocation
//! and its completion, against one shared state, so with `anomalies == 0` every history is strictly
//! serializable and the checker has real work to do (every ok read returns the key's whole list as
//! of that moment). Aborted transactions (`:fail`) have no effect. An `:info` transaction took
//! effect or not (a coin flip, resolved before the completion is written); its process is then
//! replaced by a new one (`process + processes`), as Jepsen does.
//!
//! Anomalies: with `anomalies = n`, about `n` ok transactions (drawn uniformly from the seed) report
//! one of their non-empty reads without its last element, a stale read; depending on who appended
//! that element and when, the checker sees a G-single / G2 cycle (often only with real-time order)
//! or nothing at all. The reader of a written file never learns which were injected, except from
//! the count that [`write_list_append`] returns.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::io::{self, Write};

/// Parameters of a generated list-append history.
#[derive(Debug, Clone)]
pub struct AppendGen {
    /// Transactions to complete (ok, fail or info).
    pub txns: usize,
    pub seed: u64,
    /// Concurrent worker processes (Jepsen's concurrency).
    pub processes: usize,
    /// Micro-ops per transaction, inclusive range.
    pub mops_min: usize,
    pub mops_max: usize,
    /// Keys appended to at any time (Jepsen's default 10); a key retires after
    /// `max_appends_per_key` appends and a fresh key takes its place.
    pub active_keys: usize,
    pub max_appends_per_key: i64,
    /// Per mille of transactions that abort (`:fail`) and that crash (`:info`).
    pub fail_per_mille: u32,
    pub info_per_mille: u32,
    /// Stale reads to inject (approximately; see the module doc).
    pub anomalies: usize,
}

impl Default for AppendGen {
    /// Jepsen-like defaults: 30 processes, 4-6 micro-ops, 10 active keys, 32 appends per key,
    /// 1% aborts, 0.5% crashes, no anomalies.
    fn default() -> Self {
        AppendGen {
            txns: 1000,
            seed: 0,
            processes: 30,
            mops_min: 4,
            mops_max: 6,
            active_keys: 10,
            max_appends_per_key: 32,
            fail_per_mille: 10,
            info_per_mille: 5,
            anomalies: 0,
        }
    }
}

/// What a worker is doing.
enum Phase {
    Idle,
    /// Invoked: `(is_append, key, value)` per micro-op.
    Invoked(Vec<(bool, i64, i64)>),
    /// Took effect (or not, for `:fail` and half the `:info`s); reads as observed (`None` for
    /// appends), and the outcome to report.
    Executed(Vec<(bool, i64, i64)>, Vec<Option<Vec<i64>>>, &'static str),
}

/// Counts of what was written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GenStats {
    pub ops: usize,
    pub txns: usize,
    pub injected: usize,
}

/// Writes the history `g` describes to `out` (see the module doc).
pub fn write_list_append(g: &AppendGen, out: &mut dyn Write) -> io::Result<GenStats> {
    assert!(g.processes > 0 && g.mops_min >= 1 && g.mops_min <= g.mops_max && g.active_keys > 0);
    let mut rng = ChaCha8Rng::seed_from_u64(g.seed);
    let mut state: Vec<Vec<i64>> = Vec::new(); // key -> list
    let mut active: Vec<i64> = (0..g.active_keys as i64).collect();
    let mut next_key = g.active_keys as i64;
    let mut appended: Vec<i64> = Vec::new(); // key -> appends handed out
    let mut phases: Vec<Phase> = (0..g.processes).map(|_| Phase::Idle).collect();
    let mut pids: Vec<i64> = (0..g.processes as i64).collect();
    let inject_per_million = if g.txns == 0 {
        0
    } else {
        (g.anomalies as u64 * 1_000_000 / g.txns as u64).min(1_000_000) as u32
    };
    let mut st = GenStats::default();
    let (mut invoked, mut time) = (0usize, 0i64);
    let mut line = String::with_capacity(512);
    while st.txns < g.txns {
        let w = rng.random_range(0..g.processes);
        time += rng.random_range(1_000..200_000);
        let phase = std::mem::replace(&mut phases[w], Phase::Idle);
        phases[w] = match phase {
            Phase::Idle if invoked < g.txns => {
                invoked += 1;
                let n = rng.random_range(g.mops_min..=g.mops_max);
                let mut mops = Vec::with_capacity(n);
                for _ in 0..n {
                    let k = active[rng.random_range(0..active.len())];
                    let ku = k as usize;
                    if appended.len() <= ku {
                        appended.resize(ku + 1, 0);
                    }
                    if rng.random_bool(0.5) {
                        appended[ku] += 1;
                        mops.push((true, k, appended[ku]));
                    } else {
                        mops.push((false, k, 0));
                    }
                }
                for slot in active.iter_mut() {
                    if appended.get(*slot as usize).copied().unwrap_or(0) >= g.max_appends_per_key {
                        *slot = next_key;
                        next_key += 1;
                    }
                }
                op_line(&mut line, st.ops, time, "invoke", pids[w], &mops, None);
                out.write_all(line.as_bytes())?;
                st.ops += 1;
                Phase::Invoked(mops)
            }
            Phase::Idle => Phase::Idle,
            Phase::Invoked(mops) => {
                // The outcome is drawn when the transaction takes effect, so that nobody ever
                // reads an append that is later undone.
                let roll = rng.random_range(0..1000);
                let kind = if roll < g.fail_per_mille {
                    "fail"
                } else if roll < g.fail_per_mille + g.info_per_mille {
                    "info"
                } else {
                    "ok"
                };
                let applies = kind == "ok" || (kind == "info" && rng.random_bool(0.5));
                let reads = mops
                    .iter()
                    .map(|&(append, k, v)| {
                        let ku = k as usize;
                        if state.len() <= ku {
                            state.resize_with(ku + 1, Vec::new);
                        }
                        match (append, applies) {
                            (true, true) => {
                                state[ku].push(v);
                                None
                            }
                            (true, false) => None,
                            (false, _) => Some(state[ku].clone()),
                        }
                    })
                    .collect();
                Phase::Executed(mops, reads, kind)
            }
            Phase::Executed(mops, mut reads, kind) => {
                let stale = kind == "ok" && rng.random_range(0..1_000_000) < inject_per_million;
                if stale {
                    if let Some(r) = reads.iter_mut().flatten().find(|r| !r.is_empty()) {
                        r.pop();
                        st.injected += 1;
                    }
                }
                let shown = (kind == "ok").then_some(&reads[..]);
                op_line(&mut line, st.ops, time, kind, pids[w], &mops, shown);
                out.write_all(line.as_bytes())?;
                st.ops += 1;
                st.txns += 1;
                if kind == "info" {
                    pids[w] += g.processes as i64;
                }
                Phase::Idle
            }
        };
    }
    Ok(st)
}

/// One op as a Jepsen `history.edn` line (with the newline) into `line`. `reads`: the observed
/// reads of an ok completion; `None` writes reads as `nil` (invocations, `:fail`, `:info`).
fn op_line(
    line: &mut String,
    index: usize,
    time: i64,
    kind: &str,
    process: i64,
    mops: &[(bool, i64, i64)],
    reads: Option<&[Option<Vec<i64>>]>,
) {
    use std::fmt::Write as _;
    line.clear();
    let _ = write!(
        line,
        "{{:index {index}, :time {time}, :type :{kind}, :process {process}, :f :txn, :value ["
    );
    for (i, &(append, k, v)) in mops.iter().enumerate() {
        if i > 0 {
            line.push(' ');
        }
        if append {
            let _ = write!(line, "[:append {k} {v}]");
            continue;
        }
        match reads.and_then(|r| r[i].as_ref()) {
            None => {
                let _ = write!(line, "[:r {k} nil]");
            }
            Some(list) => {
                let _ = write!(line, "[:r {k} [");
                for (j, x) in list.iter().enumerate() {
                    if j > 0 {
                        line.push(' ');
                    }
                    let _ = write!(line, "{x}");
                }
                line.push_str("]]");
            }
        }
    }
    line.push_str("]}\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(g: &AppendGen) -> String {
        let mut out = Vec::new();
        write_list_append(g, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn same_seed_same_text_and_jepsen_shape() {
        let g = AppendGen {
            txns: 200,
            seed: 3,
            ..AppendGen::default()
        };
        let a = text(&g);
        assert_eq!(a, text(&g));
        assert_ne!(
            a,
            text(&AppendGen {
                seed: 4,
                ..g.clone()
            })
        );
        let h = crate::io::read_history_str(&a, "gen").unwrap();
        assert_eq!(h.ops[0].index, 0);
        assert!(h.ops.iter().all(|o| o.f() == "txn" && o.time.is_some()));
        assert_eq!(h.pairs().unwrap().len(), 200);
    }
}
