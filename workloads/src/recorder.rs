//! Records a Jepsen-style history as a run goes: invocations and completions with simulated
//! timestamps (nanoseconds since the start of the run).
//!
//! Invariant: ops are appended in the order they happen in simulated time, and `index` is the position.
//! Ops sent anywhere but the cluster endpoint carry an extra `:endpoint` key (`"reader"`,
//! `"instance:db-2"`), so checks can split the history by endpoint.

use crate::{Completion, Invocation, Target};
use checkers::{History, Op, OpType, Process, Value};
use std::collections::BTreeMap;

#[derive(Debug, Default, Clone)]
pub struct Recorder {
    ops: Vec<Op>,
}

impl Recorder {
    pub fn new() -> Recorder {
        Recorder::default()
    }

    fn push(&mut self, mut op: Op) {
        op.index = self.ops.len();
        self.ops.push(op);
    }

    /// Records an invocation by client `process` at `time_ns`.
    pub fn invoke(&mut self, process: i64, inv: &Invocation, time_ns: i64) {
        let mut op = Op::new(OpType::Invoke, process, inv.f, inv.value.clone()).with_time(time_ns);
        op.extra = endpoint_extra(&inv.target);
        self.push(op);
    }

    /// Records the completion of `process`'s pending invocation.
    pub fn complete(&mut self, process: i64, inv: &Invocation, c: &Completion, time_ns: i64) {
        let mut op = Op::new(c.kind, process, inv.f, c.value.clone()).with_time(time_ns);
        op.error = c.error.clone().map(Value::Str);
        op.extra = endpoint_extra(&inv.target);
        self.push(op);
    }

    /// Names the instance that served the last recorded completion (`:node`), for
    /// per-replica checks. Only reader and instance endpoints are annotated.
    pub fn set_node(&mut self, node: &str) {
        if let Some(op) = self.ops.last_mut() {
            if !on_primary(op) {
                op.extra
                    .insert(Value::Keyword("node".into()), Value::Str(node.to_string()));
            }
        }
    }

    /// Records a nemesis op (`:process :nemesis`, `:type :info`).
    pub fn nemesis(&mut self, f: &str, value: Value, time_ns: i64) {
        let mut op = Op::new(OpType::Info, 0, f, value).with_time(time_ns);
        op.process = Some(Process::Nemesis);
        self.push(op);
    }

    pub fn len(&self) -> usize {
        self.ops.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    pub fn history(&self) -> History {
        History::new(self.ops.clone())
    }
}

fn endpoint_extra(t: &Target) -> BTreeMap<Value, Value> {
    let mut m = BTreeMap::new();
    if *t != Target::Primary {
        m.insert(Value::Keyword("endpoint".into()), Value::Str(t.name()));
    }
    m
}

/// True when an op was sent to the cluster (writer) endpoint.
pub fn on_primary(op: &Op) -> bool {
    !op.extra.contains_key(&Value::Keyword("endpoint".into()))
}
