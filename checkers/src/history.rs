//! The one history type: Jepsen's operations (`:index :time :type :process :f :value`).
//!
//! Invariants of a [`History`] built by [`History::new`]:
//! - `ops[i].index == i` after [`History::reindex`] (readers call it when a file has no `:index`);
//! - [`History::pairs`] matches each client invocation with the next completion of the same process;
//!   an invocation with no completion is treated as `Info` (it may happen at any later time, or never).
//!
//! `Info` is an ordinary outcome, never an error.

use crate::value::Value;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// `:type` of an operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OpType {
    Invoke,
    Ok,
    Fail,
    Info,
}

impl OpType {
    pub fn name(self) -> &'static str {
        match self {
            OpType::Invoke => "invoke",
            OpType::Ok => "ok",
            OpType::Fail => "fail",
            OpType::Info => "info",
        }
    }
    pub fn parse(s: &str) -> Option<OpType> {
        match s {
            "invoke" => Some(OpType::Invoke),
            "ok" => Some(OpType::Ok),
            "fail" => Some(OpType::Fail),
            "info" => Some(OpType::Info),
            _ => None,
        }
    }
}

/// `:process`: a client process id, `:nemesis`, or something else (kept, but never checked).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Process {
    Client(i64),
    Nemesis,
    Other(Value),
}

impl Process {
    pub fn client(&self) -> Option<i64> {
        match self {
            Process::Client(p) => Some(*p),
            _ => None,
        }
    }
}

impl fmt::Display for Process {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Process::Client(p) => write!(f, "{p}"),
            Process::Nemesis => write!(f, ":nemesis"),
            Process::Other(v) => write!(f, "{v}"),
        }
    }
}

/// One operation. Fields absent from a file are `None`; unknown keys are kept in `extra`.
#[derive(Debug, Clone, PartialEq)]
pub struct Op {
    /// Position in the history (0-based); readers assign positions when the file has none.
    pub index: usize,
    /// Nanoseconds since the start of the test, if recorded.
    pub time: Option<i64>,
    pub kind: OpType,
    pub process: Option<Process>,
    /// `:f` without the colon (`"read"`, `"txn"`), if present.
    pub f: Option<String>,
    pub value: Value,
    pub error: Option<Value>,
    /// Other keys of the op map, in key order (kept so that writing back loses nothing).
    pub extra: BTreeMap<Value, Value>,
    /// 1-based line in the source file, for error messages; 0 when not read from a file.
    pub line: usize,
}

impl Op {
    pub fn new(kind: OpType, process: i64, f: &str, value: Value) -> Op {
        Op {
            index: 0,
            time: None,
            kind,
            process: Some(Process::Client(process)),
            f: Some(f.to_string()),
            value,
            error: None,
            extra: BTreeMap::new(),
            line: 0,
        }
    }

    pub fn with_time(mut self, time_ns: i64) -> Op {
        self.time = Some(time_ns);
        self
    }

    pub fn f(&self) -> &str {
        self.f.as_deref().unwrap_or("")
    }

    pub fn client(&self) -> Option<i64> {
        self.process.as_ref().and_then(Process::client)
    }
}

/// An invocation and its completion (`None`: never completed, which counts as `Info`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pair {
    pub invoke: usize,
    pub complete: Option<usize>,
}

impl Pair {
    /// The outcome: the completion's type, or `Info` when there is none.
    pub fn outcome(&self, h: &History) -> OpType {
        self.complete.map(|c| h.ops[c].kind).unwrap_or(OpType::Info)
    }
}

/// Problems found when pairing a history's invocations and completions. Each names the 1-based
/// source line of the op that cannot be paired.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PairError {
    #[error("line {line}: process {process} invokes (op {index}) while its op {pending} is still pending")]
    DoubleInvoke {
        line: usize,
        index: usize,
        process: String,
        pending: usize,
    },
    #[error("line {line}: process {process} completes (op {index}) with no pending invocation")]
    Unpaired {
        line: usize,
        index: usize,
        process: String,
    },
    #[error("line {line}: op {index} has no :process, so it cannot be paired with its invocation or completion")]
    NoProcess { line: usize, index: usize },
    #[error("line {line}: op {index} is invoked while op {pending} (line {pending_line}) is pending, and the history has no :process to tell their completions apart")]
    Overlapping {
        line: usize,
        index: usize,
        pending: usize,
        pending_line: usize,
    },
}

impl PairError {
    /// The 1-based source line of the op that could not be paired.
    pub fn line(&self) -> usize {
        match self {
            PairError::DoubleInvoke { line, .. }
            | PairError::Unpaired { line, .. }
            | PairError::NoProcess { line, .. }
            | PairError::Overlapping { line, .. } => *line,
        }
    }
}

/// What [`History::pairs_with`] accepts beyond strict per-process pairing. Every rule keeps the
/// pairing unambiguous: nothing is ever matched first-in-first-out across processes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PairRules {
    /// A completion of a process that never invokes anything stands for its own invocation (Elle's
    /// histories of `:ok` ops only). A completion with nothing pending from a process that does
    /// invoke is still an error.
    pub standalone_completions: bool,
    /// When no op at all has a `:process`, ops pair in order as long as at most one invocation is
    /// pending at a time (hand-written examples such as Elle's `paper-example.edn`); an invocation
    /// while another is pending is [`PairError::Overlapping`].
    pub sequential_without_process: bool,
}

impl PairRules {
    /// The rules of the transactional and workload checkers (Elle, set, counter, long-fork).
    pub const LENIENT: PairRules = PairRules {
        standalone_completions: true,
        sequential_without_process: true,
    };
}

/// A whole history, in order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct History {
    pub ops: Vec<Op>,
}

impl History {
    pub fn new(ops: Vec<Op>) -> History {
        History { ops }
    }

    pub fn len(&self) -> usize {
        self.ops.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    /// Sets every op's `index` to its position.
    pub fn reindex(&mut self) {
        for (i, op) in self.ops.iter_mut().enumerate() {
            op.index = i;
        }
    }

    /// Pairs invocations with completions, per process, strictly: a second invocation while one is
    /// pending, a completion with nothing pending, or an op with no `:process` is an error. `:info`
    /// ops with nothing pending from a process that never invokes (the nemesis's) are skipped, as
    /// Knossos does. Returns pairs in invocation order.
    pub fn pairs(&self) -> Result<Vec<Pair>, PairError> {
        self.pairs_with(PairRules::default())
    }

    /// As [`History::pairs`], with the extra (still unambiguous) cases `rules` allows. A standalone
    /// completion is the pair `{invoke: i, complete: Some(i)}`.
    pub fn pairs_with(&self, rules: PairRules) -> Result<Vec<Pair>, PairError> {
        if rules.sequential_without_process
            && !self.ops.is_empty()
            && self.ops.iter().all(|o| o.process.is_none())
        {
            return self.pairs_sequential();
        }
        let invokers: BTreeSet<&Process> = self
            .ops
            .iter()
            .filter(|o| o.kind == OpType::Invoke)
            .filter_map(|o| o.process.as_ref())
            .collect();
        let mut pending: BTreeMap<&Process, usize> = BTreeMap::new();
        let mut out: Vec<Pair> = Vec::new();
        let mut slot: BTreeMap<usize, usize> = BTreeMap::new(); // invoke position -> index in out
        for (i, op) in self.ops.iter().enumerate() {
            let Some(p) = op.process.as_ref() else {
                return Err(PairError::NoProcess {
                    line: op.line,
                    index: i,
                });
            };
            match op.kind {
                OpType::Invoke => {
                    if let Some(&prev) = pending.get(p) {
                        return Err(PairError::DoubleInvoke {
                            line: op.line,
                            index: i,
                            process: p.to_string(),
                            pending: prev,
                        });
                    }
                    pending.insert(p, i);
                    slot.insert(i, out.len());
                    out.push(Pair {
                        invoke: i,
                        complete: None,
                    });
                }
                _ => match pending.remove(p) {
                    Some(inv) => out[slot[&inv]].complete = Some(i),
                    None if !invokers.contains(p) && rules.standalone_completions => {
                        out.push(Pair {
                            invoke: i,
                            complete: Some(i),
                        })
                    }
                    None if op.kind == OpType::Info && !invokers.contains(p) => {}
                    None => {
                        return Err(PairError::Unpaired {
                            line: op.line,
                            index: i,
                            process: p.to_string(),
                        })
                    }
                },
            }
        }
        Ok(out)
    }

    /// Pairing of a history with no `:process` at all: in order, one invocation pending at most.
    fn pairs_sequential(&self) -> Result<Vec<Pair>, PairError> {
        let any_invoke = self.ops.iter().any(|o| o.kind == OpType::Invoke);
        let mut out: Vec<Pair> = Vec::new();
        let mut open: Option<usize> = None; // index in out
        for (i, op) in self.ops.iter().enumerate() {
            match (op.kind, open) {
                (OpType::Invoke, Some(j)) => {
                    let pending = out[j].invoke;
                    return Err(PairError::Overlapping {
                        line: op.line,
                        index: i,
                        pending,
                        pending_line: self.ops[pending].line,
                    });
                }
                (OpType::Invoke, None) => {
                    open = Some(out.len());
                    out.push(Pair {
                        invoke: i,
                        complete: None,
                    });
                }
                (_, Some(j)) => {
                    out[j].complete = Some(i);
                    open = None;
                }
                (_, None) if !any_invoke => out.push(Pair {
                    invoke: i,
                    complete: Some(i),
                }),
                (_, None) => {
                    return Err(PairError::Unpaired {
                        line: op.line,
                        index: i,
                        process: "(none)".into(),
                    })
                }
            }
        }
        Ok(out)
    }
}
