//! The writer's side of fast clones: taking a branch point (see [`crate::branch`]).

use super::{Phase, Writer};
use crate::branch::Branch;
use crate::types::{Lsn, SimTime};

impl Writer {
    /// What an `Assign` said about clones. `job`: a clone request waiting for a branch
    /// point (None once the control plane recorded it); `floor`: the lowest recorded
    /// branch point.
    ///
    /// The branch point is this writer's VDL now — a commit boundary, durable at a write
    /// quorum of every PG — so the clone shows exactly the commits acknowledged by now
    /// and none invoked later. From the moment it is taken, the minimum read point this
    /// writer sends to storage stays at or below it, so no version the clone shares is
    /// ever collected.
    pub(crate) fn on_clone_assign(&mut self, now: SimTime, job: Option<u64>, floor: Option<Lsn>) {
        if let Some(f) = floor {
            self.pin_branch(f);
        }
        let Some(id) = job else {
            self.clone_point = None;
            return;
        };
        if self.phase != Phase::Open || self.backtrack.is_some() {
            return;
        }
        if matches!(&self.clone_point, Some((i, _)) if *i == id) {
            return;
        }
        let branch = Branch {
            volume: 0,
            lsn: self.vdl,
            at: now,
            tails: self.pg_durable_tail.iter().map(|(p, l)| (*p, *l)).collect(),
        };
        self.pin_branch(self.vdl);
        self.clone_point = Some((id, branch));
    }

    fn pin_branch(&mut self, lsn: Lsn) {
        let f = self.branch_floor.map_or(lsn, |b| b.min(lsn));
        self.branch_floor = Some(f);
        self.mrp = self.mrp.min(f);
    }
}
