//! The Wing–Gong / Lowe linearizability search, as in Porcupine's `checkSingle`.
//!
//! Input: one partition's operations, each with a call and a return position (`u64`, distinct; an
//! op whose return is unknown gets [`INFINITY`]-based positions after every known event). Events are
//! put in a doubly linked list in time order. The search walks the list: at a call it tries to
//! linearize the op now (the model must accept it, and the pair (linearized set, new state) must be
//! new to the cache); it then lifts the op's call and return out of the list and starts again from
//! the head. Reaching a return means that op can no longer be linearized in this branch: it
//! backtracks (unlifts the most recent op, restores its state) and moves on to the next event.
//!
//! Contracts:
//! - `Model::step` is a pure function of (state, op); an op with an unknown outcome must always be
//!   accepted (applying its effect when legal, otherwise leaving the state alone), which is what makes
//!   "took effect at any time after its call, or never" sound: "never" is "linearized after all else".
//! - The linearized set is cached compactly as (one past the highest linearized id, ids below it that
//!   are not linearized). Ids are assigned in call order, so the holes are the ops still pending around
//!   the frontier and the key stays small even for 100k-op histories.
//! - An unknown-outcome op whose step would leave the state unchanged is not linearized at that
//!   point: any linearization that places it there can place it last instead (it never returns, so
//!   it constrains no later op, and it is always legal), so the branch is dominated.
//! - Symmetry: unknown-outcome ops with equal model ops are interchangeable once called (they never
//!   return), so only the lowest-id one still pending is tried.
//! - A known-outcome op for which `Model::read_only` holds, legal where it is tried, is linearized
//!   greedily: if that branch fails, the configuration fails (the op could be moved there in any
//!   linearization), so the search backtracks past it at once.
//! - Every step charges the [`Meter`] one unit, and every stored configuration one unit per 8 key
//!   words; when the meter is exhausted (a deterministic work budget, or an explicit user time
//!   limit) the search returns [`Outcome::Timeout`] with the reason. The budget makes the outcome a
//!   function of the input alone, and bounds the cache's memory.

use super::cache::Cache;
use crate::budget::{Exhausted, Meter};
use std::hash::Hash;

/// Return position used for ops whose outcome is unknown (they return "after everything").
pub const INFINITY: u64 = u64::MAX / 2;

/// A sequential specification. `step` must be pure.
pub trait Model {
    type State: Clone + Eq + Hash;
    /// Equality is used for symmetry reduction among unknown-outcome ops.
    type Op: PartialEq;
    /// The state after `op`, or `None` when `op` is illegal in `state`.
    fn step(&self, state: &Self::State, op: &Self::Op) -> Option<Self::State>;

    /// True only if `op` never changes any state (a read, a failed-cas observation). The search
    /// linearizes such ops greedily; a wrong `true` makes it unsound, `false` is always safe.
    fn read_only(&self, _op: &Self::Op) -> bool {
        false
    }
}

/// One operation to linearize: its call/return positions and the model op.
#[derive(Debug, Clone)]
pub struct LinOp<O> {
    pub call: u64,
    pub ret: u64,
    /// True when the outcome is unknown (`:info` or no completion).
    pub unknown: bool,
    pub op: O,
}

/// What the search found when it failed: the longest linearizable prefix and where it got stuck.
#[derive(Debug, Clone)]
pub struct Failure<S> {
    /// Op ids (positions in the input slice) linearized, in order, in the deepest branch.
    pub prefix: Vec<usize>,
    /// The op whose return was reached without it being linearizable after `prefix`.
    pub blocked: usize,
    /// Distinct states seen at that depth (at most [`MAX_STATES`]).
    pub states: Vec<S>,
}

/// Most states recorded for an explanation.
pub const MAX_STATES: usize = 16;

/// The search result.
#[derive(Debug, Clone)]
pub enum Outcome<S> {
    Linearizable {
        configs: usize,
    },
    Illegal {
        configs: usize,
        failure: Failure<S>,
    },
    /// The work budget (or the user's time limit) ran out first.
    Timeout {
        configs: usize,
        reason: Exhausted,
    },
}

/// The linearized set: a bitset plus the frontier figures needed for the compact cache key.
///
/// Unknown-outcome ops are kept apart: they never return, so most of them stay pending forever and
/// would otherwise pin the frontier. The key lists the *linearized* unknown ops instead.
struct Linearized {
    bits: Vec<u64>,
    /// Ops with an unknown outcome (fixed).
    unknown: Vec<u64>,
    /// Every known-outcome id below `low` is linearized.
    low: usize,
    /// One past the highest linearized id.
    high: usize,
    /// Linearized unknown-outcome ids, in linearization (stack) order.
    lin_unknown: Vec<u32>,
}

impl Linearized {
    fn new(n: usize, is_unknown: &[bool]) -> Linearized {
        let mut unknown = vec![0u64; n.div_ceil(64)];
        for (i, _) in is_unknown.iter().enumerate().filter(|(_, u)| **u) {
            unknown[i / 64] |= 1 << (i % 64);
        }
        let mut l = Linearized {
            bits: vec![0; n.div_ceil(64)],
            unknown,
            low: 0,
            high: 0,
            lin_unknown: Vec::new(),
        };
        l.advance_low(n);
        l
    }
    fn get(&self, i: usize) -> bool {
        self.bits[i / 64] >> (i % 64) & 1 == 1
    }
    fn is_unknown(&self, i: usize) -> bool {
        self.unknown[i / 64] >> (i % 64) & 1 == 1
    }
    fn advance_low(&mut self, n: usize) {
        while self.low < n && (self.get(self.low) || self.is_unknown(self.low)) {
            self.low += 1;
        }
    }
    /// Adds `id`; returns the (low, high) to restore on [`Linearized::remove`].
    fn add(&mut self, id: usize, n: usize) -> (usize, usize) {
        let saved = (self.low, self.high);
        self.bits[id / 64] ^= 1 << (id % 64);
        self.high = self.high.max(id + 1);
        if self.is_unknown(id) {
            self.lin_unknown.push(id as u32);
        } else {
            self.advance_low(n);
        }
        saved
    }
    /// Undoes the latest [`Linearized::add`] (stack order), which added `id`.
    fn remove(&mut self, id: usize, (low, high): (usize, usize)) {
        self.bits[id / 64] ^= 1 << (id % 64);
        if self.is_unknown(id) {
            self.lin_unknown.pop();
        }
        self.low = low;
        self.high = high;
    }
    /// Writes the compact key into `k` (cleared first): `high`, the known-outcome ids in
    /// `[low, high)` not linearized, `u32::MAX`, then the linearized unknown-outcome ids, sorted.
    /// It determines the set: known ids below `low` are all in, unknown ids are listed.
    fn key_into(&self, k: &mut Vec<u32>) {
        k.clear();
        k.push(self.high as u32);
        let mut i = self.low;
        while i < self.high {
            let w = self.bits[i / 64] | self.unknown[i / 64] | ((1u64 << (i % 64)) - 1);
            if w == u64::MAX {
                i = (i / 64 + 1) * 64;
                continue;
            }
            let z = (!w).trailing_zeros() as usize + (i / 64) * 64;
            if z >= self.high {
                break;
            }
            k.push(z as u32);
            i = z + 1;
        }
        k.push(u32::MAX);
        let start = k.len();
        k.extend_from_slice(&self.lin_unknown);
        k[start..].sort_unstable();
    }
}

/// One linearized op on the search stack: what to restore when it is undone.
struct Frame<S> {
    id: usize,
    /// The state before the op.
    before: S,
    /// `(low, high)` of the linearized set before the op.
    saved: (usize, usize),
    /// Linearized greedily (read-only): undoing it means its configuration failed too.
    forced: bool,
}

/// Whether an equal unknown op with a lower id is still unlinearized (its call came first, so it
/// is pending and callable whenever `id` is).
fn has_pending_twin(twin: &[usize], lin: &Linearized, id: usize) -> bool {
    let mut j = twin[id];
    while j != usize::MAX {
        if !lin.get(j) {
            return true;
        }
        j = twin[j];
    }
    false
}

/// Runs the search on one partition from `init`. `ops` may be in any order.
pub fn check<M: Model>(
    model: &M,
    init: &M::State,
    ops: &[LinOp<M::Op>],
    meter: &mut Meter,
) -> Outcome<M::State> {
    let n = ops.len();
    if n == 0 {
        return Outcome::Linearizable { configs: 0 };
    }
    // Ids in call order.
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by_key(|&i| (ops[i].call, i));
    // Events: node 0 = head, 1..=2n events, 2n+1 = tail. Event e: op id and whether it is a call.
    let mut events: Vec<(u64, usize, bool)> = Vec::with_capacity(2 * n);
    for (id, &i) in order.iter().enumerate() {
        events.push((ops[i].call, id, true));
        let ret = if ops[i].unknown {
            INFINITY + id as u64
        } else {
            ops[i].ret
        };
        events.push((ret, id, false));
    }
    events.sort_by_key(|&(t, id, is_call)| (t, !is_call, id));
    let tail = 2 * n + 1;
    let mut next: Vec<usize> = (1..=tail + 1).collect();
    let mut prev: Vec<usize> = (0..=tail).map(|i| i.wrapping_sub(1)).collect();
    next[tail] = tail;
    let mut node_op = vec![0usize; tail + 1];
    let mut node_call = vec![false; tail + 1];
    let mut call_node = vec![0usize; n];
    let mut ret_node = vec![0usize; n];
    for (k, &(_, id, is_call)) in events.iter().enumerate() {
        let node = k + 1;
        node_op[node] = id;
        node_call[node] = is_call;
        if is_call {
            call_node[id] = node;
        } else {
            ret_node[id] = node;
        }
    }
    let unknown: Vec<bool> = order.iter().map(|&i| ops[i].unknown).collect();
    // Symmetry: unknown-outcome ops with equal model ops are interchangeable once both are called
    // (neither ever returns), so only the lowest-id one not yet linearized is tried. `twin[id]` is
    // the previous (lower id) unknown op equal to `id`, or `usize::MAX`.
    let mut twin = vec![usize::MAX; n];
    let mut latest: Vec<usize> = Vec::new(); // the latest unknown op id of each distinct op
    for id in (0..n).filter(|&id| unknown[id]) {
        match latest
            .iter_mut()
            .find(|j| ops[order[**j]].op == ops[order[id]].op)
        {
            Some(j) => {
                twin[id] = *j;
                *j = id;
            }
            None => latest.push(id),
        }
    }

    let mut lin = Linearized::new(n, &unknown);
    let mut cache: Cache<M::State> = Cache::new();
    let mut keybuf: Vec<u32> = Vec::with_capacity(16);
    // Stack of (op id, state before, (low, high) before, forced). `forced`: the op left the
    // state unchanged, so linearizing it there dominated every alternative (see below).
    let mut calls: Vec<Frame<M::State>> = Vec::new();
    let mut state = init.clone();
    let mut entry = next[0];
    // The deepest branch so far, kept incrementally: `best.prefix[..common]` equals the op ids of
    // `calls[..common]`, so recording a new best copies only what changed (no O(n) clone per step).
    let mut best: Option<Failure<M::State>> = None;
    let mut best_depth = 0usize;
    let mut common = 0usize;

    while next[0] != tail {
        if !meter.charge(1) {
            return Outcome::Timeout {
                configs: cache.len(),
                reason: meter.exhausted().expect("an exhausted meter says why"),
            };
        }
        let id = node_op[entry];
        if node_call[entry] {
            let i = order[id];
            if unknown[id] && has_pending_twin(&twin, &lin, id) {
                entry = next[entry];
                continue;
            }
            let step = model.step(&state, &ops[i].op);
            // Dominance: an unknown-outcome op that changes nothing now is better left pending (it
            // can still be placed later, or last, where it is always legal).
            let step = step.filter(|s| !(unknown[id] && *s == state));
            let Some(new_state) = step else {
                entry = next[entry];
                continue;
            };
            // Dominance: a known-outcome read-only op (one that never changes any state: a read, a
            // failed-cas observation) that is legal here can be moved to this point in any
            // linearization of the rest: it affects no other op, and no pending op must precede it
            // (their returns would come before its call in the list). So if linearizing it here
            // fails, this whole configuration fails, and the search backtracks instead of trying
            // other ops. (Ops that merely leave the state unchanged *here*, like a write of the
            // current value, do not qualify: moved elsewhere they would change it.)
            let forced = !unknown[id] && model.read_only(&ops[i].op);
            let saved = lin.add(id, n);
            lin.key_into(&mut keybuf);
            if cache.insert(&keybuf, new_state.clone()) {
                // Memory is work too: a stored configuration costs one unit per 8 key words, so
                // the budget also bounds the cache.
                meter.charge(keybuf.len() as u64 / 8);
                calls.push(Frame {
                    id,
                    before: std::mem::replace(&mut state, new_state),
                    saved,
                    forced,
                });
                // lift
                for node in [call_node[id], ret_node[id]] {
                    next[prev[node]] = next[node];
                    prev[next[node]] = prev[node];
                }
                entry = next[0];
                continue;
            }
            lin.remove(id, saved);
            if !forced {
                entry = next[entry];
                continue;
            }
            // Already explored and failed (or we would have returned), so this configuration fails.
        } else {
            if unknown[id] {
                // Every op still in the list has an unknown outcome: each is always legal.
                return Outcome::Linearizable {
                    configs: cache.len(),
                };
            }
            let depth = calls.len();
            if best.is_none() || depth > best_depth {
                best_depth = depth;
                let b = best.get_or_insert_with(|| Failure {
                    prefix: Vec::new(),
                    blocked: 0,
                    states: Vec::new(),
                });
                b.prefix.truncate(common);
                b.prefix.extend(calls[common..].iter().map(|c| order[c.id]));
                common = depth;
                b.blocked = order[id];
                b.states.clear();
                b.states.push(state.clone());
            } else if depth == best_depth {
                if let Some(b) = best.as_mut() {
                    if b.states.len() < MAX_STATES && !b.states.contains(&state) {
                        b.states.push(state.clone());
                    }
                }
            }
        }
        // Backtrack: undo the latest op; keep undoing while the undone op was forced.
        loop {
            let Some(Frame {
                id: cid,
                before: s,
                saved,
                forced,
            }) = calls.pop()
            else {
                let failure = best.unwrap_or(Failure {
                    prefix: vec![],
                    blocked: order[id],
                    states: vec![],
                });
                return Outcome::Illegal {
                    configs: cache.len(),
                    failure,
                };
            };
            state = s;
            common = common.min(calls.len());
            lin.remove(cid, saved);
            // unlift (return first, then call: reverse of lift)
            for node in [ret_node[cid], call_node[cid]] {
                next[prev[node]] = node;
                prev[next[node]] = node;
            }
            if !forced {
                entry = next[call_node[cid]];
                break;
            }
        }
    }
    Outcome::Linearizable {
        configs: cache.len(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A register of u8 values: op = (expected read or None for a write, value written).
    struct R;
    impl Model for R {
        type State = u8;
        type Op = (Option<u8>, u8);
        fn step(&self, s: &u8, op: &(Option<u8>, u8)) -> Option<u8> {
            match op {
                (Some(r), _) => (r == s).then_some(*s),
                (None, w) => Some(*w),
            }
        }
    }

    fn op(call: u64, ret: u64, o: (Option<u8>, u8)) -> LinOp<(Option<u8>, u8)> {
        LinOp {
            call,
            ret,
            unknown: ret == INFINITY,
            op: o,
        }
    }

    #[test]
    fn empty_and_sequential() {
        assert!(matches!(
            check(&R, &0, &[], &mut Meter::new(u64::MAX, None)),
            Outcome::Linearizable { .. }
        ));
        let ops = [op(0, 1, (None, 1)), op(2, 3, (Some(1), 0))];
        assert!(matches!(
            check(&R, &0, &ops, &mut Meter::new(u64::MAX, None)),
            Outcome::Linearizable { .. }
        ));
    }

    #[test]
    fn failure_reports_prefix_blocked_op_and_states() {
        // write 1 completes, then a read returns 2: the read (op 1) is blocked after [op 0].
        let ops = [op(0, 1, (None, 1)), op(2, 3, (Some(2), 0))];
        match check(&R, &0, &ops, &mut Meter::new(u64::MAX, None)) {
            Outcome::Illegal { failure, .. } => {
                assert_eq!(failure.prefix, vec![0]);
                assert_eq!(failure.blocked, 1);
                assert_eq!(failure.states, vec![1]);
            }
            other => panic!("expected illegal, got {other:?}"),
        }
    }

    #[test]
    fn unknown_ops_may_apply_late_or_never() {
        let late = [
            op(0, INFINITY, (None, 1)),
            op(1, 2, (Some(0), 0)),
            op(3, 4, (Some(1), 0)),
        ];
        assert!(matches!(
            check(&R, &0, &late, &mut Meter::new(u64::MAX, None)),
            Outcome::Linearizable { .. }
        ));
        let never = [op(0, INFINITY, (None, 1)), op(1, 2, (Some(0), 0))];
        assert!(matches!(
            check(&R, &0, &never, &mut Meter::new(u64::MAX, None)),
            Outcome::Linearizable { .. }
        ));
    }

    #[test]
    fn compact_key_lists_known_holes_then_linearized_unknown_ops() {
        let mut is_unknown = vec![false; 140];
        is_unknown[2] = true; // pending forever, must not pin the frontier
        is_unknown[5] = true;
        is_unknown[9] = true;
        let mut lin = Linearized::new(140, &is_unknown);
        let mut saved = Vec::new();
        for i in [0usize, 1, 3, 4, 9, 70, 130] {
            saved.push((i, lin.add(i, 140)));
        }
        assert_eq!(lin.low, 6);
        let mut k = Vec::new();
        lin.key_into(&mut k);
        let mut want: Vec<u32> = vec![131];
        want.extend((6..131).filter(|i| ![9, 70, 130].contains(i)));
        want.extend([u32::MAX, 9]);
        assert_eq!(k, want);
        while let Some((i, s)) = saved.pop() {
            lin.remove(i, s);
        }
        lin.key_into(&mut k);
        assert_eq!(k, vec![0, u32::MAX]);
        assert_eq!(lin.low, 0);
    }
}
