//! Helpers shared by the small Jepsen workload checkers.

use crate::history::{History, PairRules};

/// For each op position, the position of its invocation when it is a completion, else `None`.
/// Pairing is [`History::pairs_with`] under [`PairRules::LENIENT`] (so a history with no `:process`
/// pairs in order, e.g. `long-fork.edn`; a standalone completion is its own invocation). Callers
/// validate the history first ([`crate::shape::validate`]); an unpairable history maps nothing.
pub(crate) fn invocations(h: &History) -> Vec<Option<usize>> {
    let mut out = vec![None; h.ops.len()];
    for p in h.pairs_with(PairRules::LENIENT).unwrap_or_default() {
        if let Some(c) = p.complete {
            out[c] = Some(p.invoke);
        }
    }
    out
}
