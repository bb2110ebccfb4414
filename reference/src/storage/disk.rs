//! The simulated disk of a storage node, and the group commit that syncs it.

use super::StorageNode;
use crate::types::*;
use std::collections::{BTreeMap, BTreeSet};

/// One segment's durable content.
#[derive(Clone, Debug, Default)]
pub struct SegmentDisk {
    pub records: BTreeMap<Lsn, Record>,
    pub epoch: Epoch,
    pub truncations: Vec<Truncation>,
    pub vdl_seen: Lsn,
    /// Garbage collection: the backlink chain is known complete up to here (older
    /// records may be coalesced away), and reads below `gc_horizon` cannot be served.
    pub chain_base: Lsn,
    pub gc_horizon: Lsn,
    /// The highest minimum read point (PGMRPL) a writer has sent: no instance reads
    /// below it, so versions below it that a newer one hides may be collected.
    pub min_read_point: Lsn,
}

/// A storage node's disk: synced segments plus an unsynced write buffer that a
/// crash discards.
#[derive(Clone, Debug, Default)]
pub struct NodeDisk {
    pub segs: BTreeMap<PgId, SegmentDisk>,
    pub unsynced: BTreeMap<(PgId, Lsn), Record>,
    /// The memberships this node last adopted from the metadata service.
    pub mview: Option<BTreeMap<PgId, crate::quorum::Membership>>,
    /// The clones of the volume this node learnt from the metadata service.
    pub branches: BTreeMap<crate::branch::VolumeId, crate::branch::Branch>,
    /// Auto-scaling: when each segment created on request is (was) provisioned.
    pub provisioned: BTreeMap<PgId, crate::types::SimTime>,
}

impl NodeDisk {
    /// Crash: whatever was not synced is gone.
    /// Returns how many buffered records were lost.
    pub fn crash(&mut self) -> usize {
        let lost = self.unsynced.len();
        self.unsynced.clear();
        lost
    }
    /// fsync: make every buffered record durable; returns what was synced.
    pub fn sync(&mut self) -> Vec<(PgId, Record)> {
        let mut synced = vec![];
        for ((pg, _), r) in std::mem::take(&mut self.unsynced) {
            let seg = self.segs.entry(pg).or_default();
            // A truncation adopted while the record sat in the buffer still wins.
            if !StorageNode::truncated(seg, r.lsn) {
                seg.records.insert(r.lsn, r.clone());
                synced.push((pg, r));
            }
        }
        synced
    }
}

/// The flush interval of bug `ack-before-fsync`.
const LAZY_FSYNC_MS: u64 = 100;

/// An acknowledgement waiting for the sync that makes its records durable.
#[derive(Clone, Debug)]
pub(super) enum PendingAck {
    Write { to: String, epoch: Epoch, pg: PgId },
    Recover { to: String, id: u64, pg: PgId },
}

impl StorageNode {
    /// Buffer records for the next sync; returns how many were new.
    pub(super) fn persist(&mut self, now: SimTime, pg: PgId, records: Vec<Record>) -> usize {
        let mut added = 0;
        let mut disk = self.disk.borrow_mut();
        for r in records {
            let seg = disk.segs.entry(pg).or_default();
            if Self::truncated(seg, r.lsn) || !r.is_intact() {
                continue;
            }
            match seg.records.get(&r.lsn) {
                Some(old) if old.is_intact() => continue,
                _ => {}
            }
            if disk.unsynced.contains_key(&(pg, r.lsn)) {
                continue;
            }
            disk.unsynced.insert((pg, r.lsn), r);
            added += 1;
        }
        if added > 0 && self.sync_due.is_none() {
            // Bug `ack-before-fsync`: acks no longer wait for the sync, which is left to
            // a lazy 100 ms flush interval.
            let delay = if self.cfg.bugs.contains(&crate::bug::Bug::AckBeforeFsync) {
                self.cfg.fsync_ms.max(LAZY_FSYNC_MS)
            } else {
                self.cfg.fsync_ms
            };
            self.sync_due = Some(now + delay);
        }
        added
    }

    /// Records are waiting in the buffer: an acknowledgement must wait for the sync.
    pub(super) fn sync_pending(&self) -> bool {
        self.sync_due.is_some()
    }

    /// The group commit's fsync: make the buffer durable, index it, advance SCLs,
    /// and release the acknowledgements that waited for it.
    pub(super) fn sync(&mut self) -> Vec<Outbound> {
        self.sync_due = None;
        let synced = self.disk.borrow_mut().sync();
        let mut touched = BTreeSet::new();
        let mut lsns: BTreeMap<PgId, Vec<Lsn>> = BTreeMap::new();
        for (pg, r) in synced {
            touched.insert(pg);
            lsns.entry(pg).or_default().push(r.lsn);
            // Retained but inactive (a backtrack deactivated its range): not indexed.
            let off = {
                let d = self.disk.borrow();
                d.segs
                    .get(&pg)
                    .is_some_and(|s| inactive(&s.truncations, r.lsn))
            };
            if !off {
                self.vol.entry(pg).or_default().index(&r);
                self.index_shared(pg, &r);
            }
        }
        // White-box feed of the durability ledger (what storage holds, not what the
        // writer believes).
        for (pg, lsns) in lsns {
            self.events
                .push(crate::event::EventKind::Synced { pg, lsns });
        }
        for pg in touched {
            self.advance_scl(pg);
        }
        std::mem::take(&mut self.pending_acks)
            .into_iter()
            .map(|a| match a {
                PendingAck::Write { to, epoch, pg } => self.write_ack(&to, epoch, pg, 0),
                PendingAck::Recover { to, id, pg } => self.recover_committed(&to, id, pg),
            })
            .collect()
    }

    /// Sync at once if anything is buffered (ahead of the group commit's schedule).
    pub(super) fn sync_now(&mut self) -> Vec<Outbound> {
        if self.sync_pending() {
            self.sync()
        } else {
            vec![]
        }
    }

    /// Sync if the group commit is due (called on every wake-up).
    pub fn poll_sync(&mut self, now: SimTime) -> Vec<Outbound> {
        match self.sync_due {
            Some(due) if due <= now => self.sync(),
            _ => vec![],
        }
    }

    /// When the node next needs to run (the pending sync), if ever.
    pub fn deadline(&self) -> Option<SimTime> {
        self.sync_due
    }

    /// Bug `ack-before-fsync`: the SCL acknowledged counts the unsynced buffer too,
    /// following the backlinks of buffered records past the durable chain.
    pub(super) fn write_ack_buffered(&self, to: &str, epoch: Epoch, pg: PgId) -> Outbound {
        let next_of: BTreeMap<Lsn, Lsn> = self
            .disk
            .borrow()
            .unsynced
            .iter()
            .filter(|((p, _), _)| *p == pg)
            .map(|(_, r)| (r.prev, r.lsn))
            .collect();
        let mut scl = self.scl(pg);
        while let Some(n) = next_of.get(&scl) {
            scl = *n;
        }
        out(
            to,
            Msg::WriteAck {
                epoch,
                pg,
                seg: self.name.clone(),
                scl,
                round: 0,
            },
        )
    }

    pub(super) fn write_ack(&self, to: &str, epoch: Epoch, pg: PgId, round: u64) -> Outbound {
        out(
            to,
            Msg::WriteAck {
                epoch,
                pg,
                seg: self.name.clone(),
                scl: self.scl(pg),
                round,
            },
        )
    }
}
