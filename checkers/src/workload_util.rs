//! Helpers shared by the small Jepsen workload checkers.

use crate::history::{History, OpType, Process};
use std::collections::BTreeMap;

/// For each op position, the position of its invocation when it is a completion (matched by
/// process), else `None`. Completions without a process (e.g. `long-fork.edn`) are their own
/// invocation.
pub(crate) fn invocations(h: &History) -> Vec<Option<usize>> {
    let mut pending: BTreeMap<&Process, usize> = BTreeMap::new();
    let mut out = vec![None; h.ops.len()];
    for (i, op) in h.ops.iter().enumerate() {
        match (&op.process, op.kind) {
            (Some(p), OpType::Invoke) => {
                pending.insert(p, i);
            }
            (Some(p), _) => out[i] = pending.remove(p),
            (None, OpType::Invoke) => {}
            (None, _) => out[i] = Some(i),
        }
    }
    out
}
