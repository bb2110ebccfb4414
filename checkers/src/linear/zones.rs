//! A polynomial decision procedure for read/write registers whose writes are all distinct values
//! (Gibbons and Korach: once every read's write is known, linearizability of a register is no
//! longer NP-complete; this is the "zones" formulation of Golab, Li and Shah).
//!
//! Applicable to a partition when its ops are only reads and writes (no cas), no two writes write
//! the same value, and no write writes the initial value. Then each value `v` has a *cluster*: its
//! write (or, for the initial value, a virtual write before everything) and the ok reads that
//! returned it. With `s` the earliest return and `f` the latest call in the cluster:
//! - the cluster must be linearized contiguously, write first, so when `s < f` its window spans
//!   `[s, f]` (a *forward zone*); when `f <= s` it can sit anywhere in `[f, s]` (a *backward zone*);
//! - the history is linearizable iff every read's value was written by some op that was invoked
//!   before the read returned, no two forward zones overlap, and no backward zone lies inside a
//!   forward zone.
//!
//! A write whose outcome is unknown and that nobody read may never have happened: it is dropped.
//! Failed ops, unknown reads and (with Knossos's wildcard) ok reads of nil impose nothing.
//! Cost: O(n log n) for n ops. The exponential search stays for the general case; for an illegal
//! history the caller still runs the (budgeted) search to explain it.

use super::model::{RegOp, NIL};
use super::search::INFINITY;
use std::collections::BTreeMap;

/// One register op as this procedure sees it: call and return positions, and the op.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ZoneOp {
    pub call: u64,
    /// The completion's position; ignored (taken as never) when the outcome is unknown.
    pub ret: u64,
    pub unknown: bool,
    pub op: RegOp,
}

/// The decision, or why the procedure does not apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Zones {
    Linearizable,
    /// Not linearizable; the index of an op involved (a read whose value cannot be explained, or
    /// an op of one of two conflicting clusters).
    Illegal(usize),
    NotApplicable,
}

/// Decides the partition (see the module contract).
pub(crate) fn decide(ops: &[ZoneOp], init: u32, nil_read_wildcard: bool) -> Zones {
    // Positions are shifted by one so that 0 is "before everything" (the initial value's write).
    struct Cluster {
        write: Option<usize>,
        s: u64,
        f: u64,
        reads: usize,
        first_read: usize,
    }
    let mut clusters: BTreeMap<u32, Cluster> = BTreeMap::new();
    clusters.insert(
        init,
        Cluster {
            write: None,
            s: 0,
            f: 0,
            reads: 0,
            first_read: usize::MAX,
        },
    );
    for (i, o) in ops.iter().enumerate() {
        if let RegOp::Write(v) = o.op {
            if v == init {
                return Zones::NotApplicable;
            }
            // An unknown outcome may take effect at any later time: it never returns.
            let ret = if o.unknown { INFINITY } else { o.ret };
            let c = Cluster {
                write: Some(i),
                s: ret.saturating_add(1),
                f: o.call + 1,
                reads: 0,
                first_read: usize::MAX,
            };
            if clusters.insert(v, c).is_some() {
                return Zones::NotApplicable;
            }
        } else if !matches!(o.op, RegOp::Read(_)) {
            return Zones::NotApplicable;
        }
    }
    for (i, o) in ops.iter().enumerate() {
        let RegOp::Read(v) = o.op else { continue };
        if o.unknown || (v == NIL && nil_read_wildcard) {
            continue;
        }
        let Some(c) = clusters.get_mut(&v) else {
            return Zones::Illegal(i); // a value nobody wrote
        };
        if let Some(w) = c.write {
            if o.ret < ops[w].call {
                return Zones::Illegal(i); // returned before its write was invoked
            }
        }
        c.s = c.s.min(o.ret + 1);
        c.f = c.f.max(o.call + 1);
        c.reads += 1;
        c.first_read = c.first_read.min(i);
    }
    // Zones of the clusters that matter (an unread write of unknown outcome may never happen).
    let mut forward: Vec<(u64, u64, usize)> = Vec::new();
    let mut backward: Vec<(u64, u64, usize)> = Vec::new();
    for c in clusters.values() {
        let who = c.write.unwrap_or(c.first_read);
        match c.write {
            Some(w) if ops[w].unknown && c.reads == 0 => continue,
            None if c.reads == 0 => continue,
            _ => {}
        }
        // A cluster whose write never returned spans at least to its last read's call.
        let s = c.s.min(INFINITY);
        if s < c.f {
            forward.push((s, c.f, who));
        } else {
            backward.push((c.f, s, who));
        }
    }
    forward.sort_unstable();
    for w in forward.windows(2) {
        if w[1].0 < w[0].1 {
            return Zones::Illegal(w[1].2);
        }
    }
    // Forward zones are now disjoint and sorted: a backward zone [a, b] lies inside one iff the
    // last forward zone starting before a also ends after b.
    for &(a, b, who) in &backward {
        let k = forward.partition_point(|z| z.0 < a);
        if k > 0 && forward[k - 1].1 > b {
            return Zones::Illegal(who);
        }
    }
    Zones::Linearizable
}
