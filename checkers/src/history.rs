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
use std::collections::BTreeMap;
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

/// Problems found when pairing a history's invocations and completions.
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
    /// pending, or a completion with nothing pending, is an error. `:info` ops with nothing pending (the
    /// nemesis's) are skipped, as Knossos does. Returns pairs in invocation order.
    pub fn pairs(&self) -> Result<Vec<Pair>, PairError> {
        let mut pending: BTreeMap<&Process, usize> = BTreeMap::new();
        let mut out: Vec<Pair> = Vec::new();
        let mut slot: BTreeMap<usize, usize> = BTreeMap::new(); // invoke position -> index in out
        for (i, op) in self.ops.iter().enumerate() {
            let Some(p) = op.process.as_ref() else {
                continue;
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
                    None if op.kind == OpType::Info => {}
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
}
