//! Input validation for the workload checkers (bank, set, set-full, counter, long-fork, comments):
//! a history of another workload's shape, or one whose ops cannot be paired, is malformed input,
//! never a verdict.
//!
//! Contract of [`validate`]: it returns `None` when every client op (integer `:process`, or no
//! `:process` in a history that has none) has an `:f` the workload knows and, where the value
//! matters, a value of the right shape; and, for checkers that match completions to invocations
//! ([`WorkloadShape::pairs`]), the history pairs under
//! [`PairRules::LENIENT`](crate::history::PairRules::LENIENT). Otherwise it returns the
//! [`malformed_history`] verdict naming the first offending line. `nil` values are always accepted
//! on invocations and on `:fail` / `:info` completions (they carry no observation).

use crate::history::{History, Op, OpType, PairRules, Process};
use crate::value::Value;
use crate::verdict::{malformed_history, Verdict};

/// What the value of an op with a given `:f` must look like.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueShape {
    /// Anything.
    Any,
    /// An integer.
    Int,
    /// A map (bank reads: account -> balance; bank transfers: `{:from :to :amount}`).
    Map,
    /// A vector, list or set (set reads).
    Collection,
    /// A vector of `[f k v]` micro-ops (long-fork).
    Mops,
}

/// The ops a workload consists of: `(f, shape of the value on :ok completions, shape on invocations)`.
#[derive(Debug, Clone, Copy)]
pub struct WorkloadShape {
    pub name: &'static str,
    /// The checker matches completions to invocations, so the history must pair unambiguously.
    pub pairs: bool,
    pub ops: &'static [(&'static str, ValueShape, ValueShape)],
}

pub const BANK: WorkloadShape = WorkloadShape {
    pairs: false,
    name: "bank",
    ops: &[
        ("read", ValueShape::Map, ValueShape::Any),
        ("transfer", ValueShape::Map, ValueShape::Map),
    ],
};
/// set-full follows each element from its add's invocation, so it pairs.
pub const SET_FULL: WorkloadShape = WorkloadShape { pairs: true, ..SET };
pub const SET: WorkloadShape = WorkloadShape {
    pairs: false,
    name: "set",
    ops: &[
        ("add", ValueShape::Any, ValueShape::Any),
        ("read", ValueShape::Collection, ValueShape::Any),
    ],
};
pub const COUNTER: WorkloadShape = WorkloadShape {
    pairs: true,
    name: "counter",
    ops: &[
        ("add", ValueShape::Int, ValueShape::Int),
        ("read", ValueShape::Int, ValueShape::Any),
    ],
};
pub const LONG_FORK: WorkloadShape = WorkloadShape {
    pairs: false,
    name: "long-fork",
    ops: &[
        ("read", ValueShape::Mops, ValueShape::Mops),
        ("txn", ValueShape::Mops, ValueShape::Mops),
        ("write", ValueShape::Mops, ValueShape::Mops),
        ("insert", ValueShape::Mops, ValueShape::Mops),
    ],
};
pub const COMMENTS: WorkloadShape = WorkloadShape {
    pairs: false,
    name: "comments",
    ops: &[
        ("write", ValueShape::Any, ValueShape::Any),
        ("read", ValueShape::Collection, ValueShape::Any),
    ],
};

fn fits(v: &Value, shape: ValueShape) -> bool {
    match shape {
        ValueShape::Any => true,
        ValueShape::Int => matches!(v, Value::Int(_)),
        ValueShape::Map => matches!(v, Value::Map(_)),
        ValueShape::Collection => matches!(v, Value::Vector(_) | Value::Set(_)),
        ValueShape::Mops => v.as_vec().is_some_and(|ms| {
            ms.iter()
                .all(|m| matches!(m.as_vec(), Some([f, _, _]) if f.as_name().is_some()))
        }),
    }
}

fn shape_name(shape: ValueShape) -> &'static str {
    match shape {
        ValueShape::Any => "any value",
        ValueShape::Int => "an integer",
        ValueShape::Map => "a map",
        ValueShape::Collection => "a collection",
        ValueShape::Mops => "a vector of [f k v] micro-ops",
    }
}

/// Whether the op belongs to a client (the only ops the workload checkers interpret).
fn is_client(op: &Op) -> bool {
    matches!(op.process, None | Some(Process::Client(_)))
}

/// Checks that `h` is a history of workload `w` (see the module contract).
pub fn validate(h: &History, w: &WorkloadShape) -> Option<Verdict> {
    if let (true, Err(e)) = (w.pairs, h.pairs_with(PairRules::LENIENT)) {
        return Some(malformed_history(
            &e.to_string(),
            e.line(),
            1,
            vec![e.to_string()],
        ));
    }
    for op in h.ops.iter().filter(|o| is_client(o)) {
        let Some(&(_, ok_shape, inv_shape)) = w.ops.iter().find(|(f, _, _)| *f == op.f()) else {
            let known: Vec<String> = w.ops.iter().map(|(f, _, _)| format!(":{f}")).collect();
            let msg = format!(
                "line {}: op {} has :f {} but a {} history has only {}; is this a history of another workload?",
                op.line,
                op.index,
                op.f.as_deref().map(|f| format!(":{f}")).unwrap_or_else(|| "(none)".into()),
                w.name,
                known.join(", ")
            );
            return Some(malformed_history(&msg, op.line, 1, vec![msg.clone()]));
        };
        let shape = match op.kind {
            OpType::Ok => ok_shape,
            OpType::Invoke => inv_shape,
            OpType::Fail | OpType::Info => ValueShape::Any,
        };
        let nil_ok = op.kind != OpType::Ok;
        if !(fits(&op.value, shape) || (nil_ok && op.value.is_nil())) {
            let msg = format!(
                "line {}: op {} (:{} :{}) has :value {}, expected {} for a {} history",
                op.line,
                op.index,
                op.kind.name(),
                op.f(),
                crate::io::edn_short(&op.value),
                shape_name(shape),
                w.name
            );
            return Some(malformed_history(&msg, op.line, 1, vec![msg.clone()]));
        }
    }
    None
}
