//! The volume's timeline: backtrack rewinds a live volume in place by deactivating
//! records, never destroying them, so a later backtrack can move forward again.
//!
//! A [`Timeline`] is a list of [`Era`]s. Era 0 begins when the volume is created;
//! every completed backtrack begins a new one. At simulated time `t` the volume
//! showed the state of era `e = era_of(t)`: the LSN ranges it inherited (`base`)
//! plus its own committed records (LSNs above `resume`) allocated by then. A
//! backtrack to `T` finds `e = era_of(T)` and the *cut* — the highest CPL of era
//! `e`'s own records allocated at or before `T` (a commit boundary, never inside a
//! transaction) — and begins a new era whose base is `e.base ∪ (e.resume, cut]`.
//! Everything else up to the new `resume` is deactivated (see [`Truncation::keep`]).
//!
//! Invariants:
//! - LSNs only grow: every era's records lie above its `resume`, and the next era's
//!   `resume` is above every LSN allocated before it, so eras never share LSNs.
//! - The state after `backtrack(T)` is the committed state the volume showed at the
//!   reported `T′ ≤ T` (the cut's allocation time, or the era's start if the era had
//!   no commit by `T`).
//! - The timeline is durable in the control plane and changes only when a writer
//!   reports a backtrack done; until then the writer keeps the volume closed, so a
//!   crash leaves the cluster before the backtrack or after it, never in between.

use crate::types::{Epoch, Lsn, SimTime, Truncation};
use serde::{Deserialize, Serialize};

/// One era of the timeline.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Era {
    /// When the era began (the volume reopened after its backtrack; 0 for the first).
    pub since: SimTime,
    /// The backtrack's reported point `T′` (0 for the first era).
    pub to_prime: SimTime,
    /// Active LSN ranges `(lo, hi]` inherited from the restored state, ascending.
    pub base: Vec<(Lsn, Lsn)>,
    /// The era's own records have LSNs above this.
    pub resume: Lsn,
}

/// The volume's eras, oldest first (never empty).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Timeline {
    pub eras: Vec<Era>,
}

impl Default for Timeline {
    fn default() -> Self {
        Timeline {
            eras: vec![Era {
                since: 0,
                to_prime: 0,
                base: vec![],
                resume: Lsn::ZERO,
            }],
        }
    }
}

impl Timeline {
    /// The era the volume was in at simulated time `t`.
    pub fn era_of(&self, t: SimTime) -> usize {
        self.eras.iter().rposition(|e| e.since <= t).unwrap_or(0)
    }

    /// The LSN bounds `(above, below]` of era `e`'s own records.
    pub fn bounds(&self, e: usize) -> (Lsn, Lsn) {
        let below = self
            .eras
            .get(e + 1)
            .map(|n| n.resume)
            .unwrap_or(Lsn(u64::MAX));
        (self.eras[e].resume, below)
    }

    /// The era a backtrack into era `e` with cut `cut` begins.
    pub fn next_era(
        &self,
        e: usize,
        cut: Lsn,
        since: SimTime,
        to_prime: SimTime,
        resume: Lsn,
    ) -> Era {
        let mut base = self.eras[e].base.clone();
        let above = self.eras[e].resume;
        if cut > above {
            match base.last_mut() {
                Some(last) if last.1 == above => last.1 = cut,
                _ => base.push((above, cut)),
            }
        }
        Era {
            since,
            to_prime,
            base,
            resume,
        }
    }

    /// The lowest `T′` any backtrack restored: garbage collection must keep every
    /// version that state needed (versions superseded later may be read again).
    pub fn gc_floor_ms(&self) -> SimTime {
        self.eras
            .iter()
            .skip(1)
            .map(|e| e.to_prime)
            .min()
            .unwrap_or(SimTime::MAX)
    }
}

/// The deactivations an era puts in force: the complement of its base within
/// `(0, resume]`, as `keep` truncations of generation `epoch` (an empty marker if
/// nothing is inactive). `floor_ms` rides on each entry for storage's GC.
pub fn deactivations(era: &Era, epoch: Epoch, floor_ms: SimTime) -> Vec<Truncation> {
    let mut out = vec![];
    let mut cur = Lsn::ZERO;
    let mk = |lo: Lsn, hi: Lsn| Truncation {
        lo,
        hi,
        epoch,
        keep: true,
        floor_ms,
    };
    for &(lo, hi) in &era.base {
        if lo > cur {
            out.push(mk(cur, lo));
        }
        cur = cur.max(hi);
    }
    if era.resume > cur {
        out.push(mk(cur, era.resume));
    }
    if out.is_empty() {
        out.push(mk(era.resume, era.resume));
    }
    out
}

/// A backtrack the control plane hands to the writer with its role.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BacktrackJob {
    pub id: u64,
    pub to_ms: SimTime,
    /// When the request was accepted (the state the backtrack comes from).
    pub from_ms: SimTime,
    pub timeline: Timeline,
    /// The rewound volume's deactivation generation is at least this (the epoch the
    /// backtrack's recovery runs with is above every epoch before the request): replicas
    /// stop serving until their stream reaches it.
    pub min_dgen: Epoch,
}

/// What a completed backtrack reports (`BacktrackTo` / `BacktrackedFrom`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BacktrackDone {
    /// The requested target.
    pub to_ms: SimTime,
    /// The consistent point used, `T′ ≤ T`.
    pub to_prime_ms: SimTime,
    /// When the request was accepted.
    pub from_ms: SimTime,
    /// The cut LSN (last CPL kept from the era of `T′`).
    pub cut: Lsn,
    /// The era the backtrack began.
    pub era: Era,
    pub epoch: Epoch,
}

/// The control plane's answer to [`crate::types::Msg::Backtrack`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum BacktrackStatus {
    Pending,
    Done(BacktrackDone),
    Rejected(String),
}
