//! The control plane's side of fast clones (see [`crate::branch`]).
//!
//! An admin's `Clone { id }` starts a job; the writer's next `Assign` asks it for a
//! branch point, which it takes at its VDL and reports in its heartbeats. The control
//! plane then numbers the clone, registers its branch in the metadata service (retrying
//! until acknowledged) and only then answers `Done`. Every `Assign` to a writer carries
//! the lowest branch point, below which its minimum read point never rises.
//!
//! Invariants: a job gets at most one branch (the first the writer reports); a clone is
//! reported created only once the metadata service holds its branch; the cluster never
//! has more than [`MAX_CLONES`] clones; a cluster with clones refuses backtracks (its
//! clones share the versions a rewind would deactivate).

use crate::branch::{Branch, CloneStatus, MAX_CLONES};
use crate::control::{ControlDisk, ControlPlane};
use crate::event::EventKind;
use crate::topology::META;
use crate::types::*;

/// How often an unacknowledged branch registration is resent.
const REGISTER_RETRY_MS: SimTime = 50;

impl ControlPlane {
    /// An admin's clone request: start it, or report how it went.
    pub(crate) fn on_clone(&mut self, id: u64) -> CloneStatus {
        let mut d = self.disk.borrow_mut();
        if let Some(s) = d.clones.get(&id) {
            return s.clone();
        }
        if d.clone_job == Some(id) {
            return CloneStatus::Pending;
        }
        let why = if let Some(j) = d.clone_job {
            Some(format!("clone {j} is still being created"))
        } else if d.branches.len() >= MAX_CLONES {
            Some(format!(
                "the cluster already has {} clones (at most {MAX_CLONES})",
                d.branches.len()
            ))
        } else if d.backtrack.is_some() {
            Some("a backtrack is in progress".to_string())
        } else {
            None
        };
        if let Some(why) = why {
            let s = CloneStatus::Rejected(why.clone());
            d.clones.insert(id, s.clone());
            self.events.push(EventKind::CloneRejected { id, why });
            return s;
        }
        d.clone_job = Some(id);
        CloneStatus::Pending
    }

    /// The writer took the job's branch point: number the clone and register it.
    pub(crate) fn finish_clone(
        events: &mut Vec<EventKind>,
        d: &mut ControlDisk,
        id: u64,
        mut branch: Branch,
    ) {
        if d.clone_job != Some(id) {
            return;
        }
        d.clone_job = None;
        branch.volume = d.branches.len() as u32 + 1;
        events.push(EventKind::Cloned {
            volume: branch.volume,
            lsn: branch.lsn,
            at: branch.at,
        });
        d.clone_ids.insert(branch.volume, id);
        d.branches.push(branch);
        d.clones.insert(id, CloneStatus::Pending);
    }

    /// Resend registrations the metadata service has not acknowledged.
    pub(crate) fn clone_tick(&mut self, now: SimTime) -> Vec<Outbound> {
        let d = self.disk.borrow();
        if now < self.clone_retry_at {
            return vec![];
        }
        let outs: Vec<Outbound> = d
            .branches
            .iter()
            .filter(|b| !d.registered.contains(&b.volume))
            .map(|b| out(META, Msg::MetaBranch { branch: b.clone() }))
            .collect();
        drop(d);
        if !outs.is_empty() {
            self.clone_retry_at = now + REGISTER_RETRY_MS;
        }
        outs
    }

    /// The metadata service holds the branch: the clone exists.
    pub(crate) fn on_branch_ack(&mut self, volume: u32) {
        let mut d = self.disk.borrow_mut();
        if !d.registered.insert(volume) {
            return;
        }
        let branch = d.branches.iter().find(|b| b.volume == volume).cloned();
        if let (Some(b), Some(id)) = (branch, d.clone_ids.get(&volume).copied()) {
            d.clones.insert(id, CloneStatus::Done(b));
        }
    }

    /// What an `Assign` to the writer says about clones: the job it must take a branch
    /// point for, and the lowest branch point.
    pub(crate) fn clone_assign(d: &ControlDisk) -> (Option<u64>, Option<Lsn>) {
        (d.clone_job, d.branches.iter().map(|b| b.lsn).min())
    }
}
