//! Backtrack, the writer's part: while opening the volume with a backtrack job, the
//! recovery's quorum reads also look for the *cut* — the last CPL of the target
//! era allocated at or before the target time — and the recovery writes, besides
//! its truncation range, the deactivations of the new era (see [`crate::volume`]).
//! The PG tails new records link to come back with the recovery's acknowledgements.
//! The volume stays closed until the control plane has recorded the new era.

use super::Writer;
use crate::bug::Bug;
use crate::types::*;
use crate::volume::{deactivations, BacktrackDone, BacktrackJob};
use std::collections::{BTreeMap, BTreeSet};

impl Writer {
    /// The cut search the recovery's queries carry (None: an ordinary recovery).
    pub(crate) fn cut_query(&self) -> Option<CutQuery> {
        let job = self.backtrack.as_ref()?;
        let e = job.timeline.era_of(job.to_ms);
        let (above, below) = job.timeline.bounds(e);
        Some(CutQuery {
            above,
            below,
            at_most: job.to_ms,
        })
    }

    /// Open the volume with a backtrack to perform (None: an ordinary recovery).
    pub fn set_backtrack(&mut self, job: Option<BacktrackJob>) {
        self.backtrack = job;
    }

    /// The control plane recorded the backtrack: open the volume.
    pub(crate) fn backtrack_acked(&mut self, now: SimTime) {
        if self.backtrack_done.take().is_some() {
            self.backtrack = None;
            self.last_progress = now;
            self.phase = super::Phase::Open;
        }
    }
}

/// What the recovery needs to turn into a backtrack.
pub(crate) struct CutInput<'a> {
    pub job: &'a BacktrackJob,
    /// Every segment's cut answer.
    pub answers: Vec<(Lsn, SimTime)>,
    /// Records the recovery keeps (committed, at or below its VDL).
    pub kept: Vec<&'a Record>,
    /// Every destructive truncation the quorum knows.
    pub truncations: &'a BTreeSet<Truncation>,
    pub epoch: Epoch,
    pub now: SimTime,
    /// The new era's records start above this (the recovery's truncation top).
    pub resume: Lsn,
    pub bugs: &'a BTreeSet<Bug>,
    pub pgs: Vec<PgId>,
}

/// Choose the cut and the new era; returns the report and the deactivations to
/// write to each PG.
pub(crate) fn plan_backtrack(i: CutInput) -> (BacktrackDone, BTreeMap<PgId, Vec<Truncation>>) {
    let tl = &i.job.timeline;
    let e = tl.era_of(i.job.to_ms);
    let (above, below) = tl.bounds(e);
    let ts: Vec<Truncation> = i.truncations.iter().copied().collect();
    let in_era = |l: Lsn| l > above && l <= below && !destroyed(&ts, l);
    let best = i
        .answers
        .iter()
        .copied()
        .chain(
            i.kept
                .iter()
                .filter(|r| r.cpl && r.at <= i.job.to_ms)
                .map(|r| (r.lsn, r.at)),
        )
        .filter(|(l, _)| in_era(*l))
        .max();
    let (mut cut, to_prime) = best.unwrap_or((above, tl.eras[e].since));
    // Bug `backtrack-inside-txn`: the cut is one record short of the commit boundary.
    if i.bugs.contains(&Bug::BacktrackInsideTxn) && best.is_some() && cut.0 > above.0 + 1 {
        cut = Lsn(cut.0 - 1);
    }
    let floor = tl.gc_floor_ms().min(to_prime);
    let era = tl.next_era(e, cut, i.now, to_prime, i.resume);
    let deact = deactivations(&era, i.epoch, floor);
    let mut per_pg = BTreeMap::new();
    for (n, pg) in i.pgs.iter().enumerate() {
        let mut d = deact.clone();
        // Bug `backtrack-skips-pg`: the first PG is never rewound.
        if n == 0 && i.bugs.contains(&Bug::BacktrackSkipsPg) {
            d.clear();
        }
        // Bug `backtrack-destroys`: the deactivations are written as truncations.
        if i.bugs.contains(&Bug::BacktrackDestroys) {
            for t in d.iter_mut() {
                t.keep = false;
            }
        }
        per_pg.insert(*pg, d);
    }
    (
        BacktrackDone {
            to_ms: i.job.to_ms,
            to_prime_ms: to_prime,
            from_ms: i.job.from_ms,
            cut,
            era,
            epoch: i.epoch,
        },
        per_pg,
    )
}
