//! Linearizability checking (Knossos / Porcupine equivalent).
//!
//! [`LinearChecker`] turns a history into per-partition operation lists ([`prepare`]), runs the
//! Wing–Gong/Lowe search of [`search`] on each, and explains failures ([`explain`]).
//!
//! Semantics (chosen by [`LinearOptions`], see the corpus README §2.3 and §3.1):
//! - invocations are paired with completions per process ([`History::pairs`]); only client processes
//!   count; an `:info` completion or none at all means "took effect at any time after the invoke, or
//!   never";
//! - `:fail` ops never happened ([`FailSemantics::Drop`], Knossos/Jepsen), or a failed `:cas` is an
//!   observation that the register did not hold the expected value ([`FailSemantics::ObservedFailure`],
//!   Porcupine); failed reads and writes are dropped under both;
//! - an ok read of nil matches anything when `nil_read_wildcard` (Knossos), else it requires nil;
//! - with `independent`, every `:value` is `[key v]` and each key is checked on its own
//!   (P-compositionality): the history is linearizable iff every key's sub-history is.

mod cache;
mod explain;
pub mod lang;
pub mod model;
mod prepare;
pub mod search;
mod zones;

use crate::history::History;
use crate::value::Value;
use crate::verdict::{Checker, Verdict};
use std::time::{Duration, Instant};

pub use prepare::PrepareError;

/// Which sequential specification to check against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModelKind {
    /// `:read`, `:write`.
    Register,
    /// `:read`, `:write`, `:cas [old new]`.
    CasRegister,
    /// `:acquire`, `:release` (Knossos's mutex; starts unlocked).
    Mutex,
    /// Knossos's multi-register: `:txn` of `[:read k v]` / `[:write k v]`.
    MultiRegister,
}

impl ModelKind {
    pub fn parse(s: &str) -> Option<ModelKind> {
        match s {
            "register" => Some(ModelKind::Register),
            "cas-register" => Some(ModelKind::CasRegister),
            "mutex" => Some(ModelKind::Mutex),
            "multi-register" => Some(ModelKind::MultiRegister),
            _ => None,
        }
    }
}

/// Most threads used for independent keys.
pub const MAX_THREADS: usize = 4;

/// What a `:fail` completion means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailSemantics {
    /// The op did not happen (Knossos, Jepsen).
    Drop,
    /// A failed cas observed a value other than its expected one (Porcupine's etcd model).
    ObservedFailure,
}

/// Options of [`LinearChecker`]. The default is Knossos's cas-register with initial value nil.
#[derive(Debug, Clone, PartialEq)]
pub struct LinearOptions {
    pub model: ModelKind,
    /// Initial register value (nil by default); a map `{k v}` for the multi-register.
    pub initial_value: Value,
    /// `:value` is `[key v]`; keys are checked independently.
    pub independent: bool,
    /// An ok read of nil matches any value (Knossos) instead of requiring nil (Porcupine).
    pub nil_read_wildcard: bool,
    pub fail_semantics: FailSemantics,
    /// A wall-clock limit for the whole check, as an explicit user choice; when exceeded the
    /// verdict is `Unknown` ("time limit"). With it set, verdicts can depend on machine speed; the
    /// deterministic bound is [`LinearChecker::budget`], which applies either way.
    pub time_limit: Option<Duration>,
}

impl Default for LinearOptions {
    fn default() -> Self {
        LinearOptions {
            model: ModelKind::CasRegister,
            initial_value: Value::Nil,
            independent: false,
            nil_read_wildcard: true,
            fail_semantics: FailSemantics::Drop,
            time_limit: None,
        }
    }
}

impl LinearOptions {
    /// Knossos semantics for `model` (nil reads are wildcards, failed ops dropped).
    pub fn knossos(model: ModelKind) -> LinearOptions {
        LinearOptions {
            model,
            ..LinearOptions::default()
        }
    }

    /// Porcupine's etcd semantics (strict nil reads, failed cas observed).
    pub fn porcupine() -> LinearOptions {
        LinearOptions {
            nil_read_wildcard: false,
            fail_semantics: FailSemantics::ObservedFailure,
            ..LinearOptions::default()
        }
    }
}

/// Work units each partition's search may spend by default ([`crate::budget`]). Measured by
/// `cargo bench -p checkers --bench budget` on this project's 2-core machine: about 4.7 s of CPU
/// and 137 MB peak RSS on a history that needs far more (see the README's checker figures).
pub const DEFAULT_BUDGET: u64 = 20_000_000;

/// The linearizability checker. Anomaly name: `"nonlinearizable"`; a search that runs out of its
/// work budget gives `Unknown` with `"search-budget-exhausted"` naming the budget.
#[derive(Debug, Clone)]
pub struct LinearChecker {
    pub options: LinearOptions,
    /// Deterministic work budget per partition ([`DEFAULT_BUDGET`] unless set).
    pub budget: u64,
}

impl Default for LinearChecker {
    fn default() -> Self {
        LinearChecker::new(LinearOptions::default())
    }
}

/// How one partition (one key, or the whole history) turned out.
#[derive(Debug, Clone)]
pub(crate) struct PartitionResult {
    pub key: Option<Value>,
    pub ops: usize,
    pub configs: usize,
    pub timed_out: bool,
    /// Why the search stopped early (when `timed_out`).
    pub exhausted: Option<crate::budget::Exhausted>,
    /// Decided by the polynomial distinct-writes procedure ([`zones`]).
    pub zones: bool,
    pub failure: Option<explain::FailureData>,
}

impl LinearChecker {
    pub fn new(options: LinearOptions) -> LinearChecker {
        LinearChecker {
            options,
            budget: DEFAULT_BUDGET,
        }
    }

    /// The same checker with a work budget of `units` per partition.
    pub fn with_budget(mut self, units: u64) -> LinearChecker {
        self.budget = units;
        self
    }

    /// Checks the history, or says why it cannot be checked (unpaired ops, wrong value shapes,
    /// ops the model does not know).
    pub fn try_check(&self, history: &History) -> Result<Verdict, PrepareError> {
        let start = Instant::now();
        let deadline = self.options.time_limit.map(|d| (start + d, d));
        let parts = prepare::partitions(history, &self.options)?;
        let results = self.run_partitions(&parts, deadline);
        Ok(explain::verdict(history, &results))
    }

    /// Runs every partition; with many keys, on up to [`MAX_THREADS`] scoped threads, each taking
    /// every n-th partition. Results come back in partition (key) order, so the verdict does not
    /// depend on scheduling.
    fn run_partitions(
        &self,
        parts: &[prepare::Partition],
        deadline: Option<(Instant, Duration)>,
    ) -> Vec<PartitionResult> {
        let budget = self.budget;
        let ops: usize = parts.iter().map(|p| p.items.len()).sum();
        let threads = std::thread::available_parallelism()
            .map_or(1, |n| n.get())
            .min(MAX_THREADS)
            .min(parts.len());
        if threads <= 1 || ops < 20_000 {
            return parts
                .iter()
                .map(|p| prepare::run(p, &self.options, budget, deadline))
                .collect();
        }
        let mut slots: Vec<Option<PartitionResult>> = vec![None; parts.len()];
        std::thread::scope(|scope| {
            let handles: Vec<_> = (0..threads)
                .map(|t| {
                    scope.spawn(move || {
                        (t..parts.len())
                            .step_by(threads)
                            .map(|i| (i, prepare::run(&parts[i], &self.options, budget, deadline)))
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            for h in handles {
                // A panic in a worker is a broken invariant of ours: propagate it.
                for (i, r) in h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)) {
                    slots[i] = Some(r);
                }
            }
        });
        slots.into_iter().flatten().collect()
    }
}

impl Checker for LinearChecker {
    fn name(&self) -> &str {
        "linearizable"
    }

    /// As [`LinearChecker::try_check`]; a history that cannot be checked gives `Unknown` with the
    /// reason in the explanation and the anomaly `"malformed-history"`.
    fn check(&self, history: &History) -> Verdict {
        match self.try_check(history) {
            Ok(v) => v,
            Err(e) => crate::verdict::malformed_history(
                &format!("history cannot be checked for linearizability: {e}"),
                e.line(),
                1,
                vec![e.to_string()],
            ),
        }
    }
}
