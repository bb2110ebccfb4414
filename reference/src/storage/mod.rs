//! Storage node: hosts segments of several PGs. Sans-IO.
//!
//! Foreground: receive, persist, acknowledge with the segment's SCL. Background
//! (`tick`): gossip with peers to fill holes found through backlinks, scrub
//! checksums and repair a corrupt record from a peer.
//!
//! Durable state ([`NodeDisk`]) lives outside the host future and survives crashes;
//! volatile state (SCL index, gossip schedule, membership view) is rebuilt on start.
//!
//! Group commit: an incoming record goes to the disk's unsynced buffer; one fsync,
//! `fsync_ms` after the first buffered record, makes everything buffered durable at
//! once, and only then are the writes that brought records acknowledged (with the
//! SCL the sync reached). A crash before the sync drops the buffer, so it can lose
//! only records nobody acknowledged. Reads, gossip and SCL see synced records only.
//! Segment metadata (volume epoch, truncation ranges, VDL seen) is written through.
//!
//! Every I/O carries the sender's membership epoch for the PG; a stale one (or an
//! I/O for a PG this node is no longer a member of) is refused with
//! [`Msg::StaleMembership`], and a newer one makes this node refresh its view from
//! the metadata service first.

mod admit;
mod background;
mod clone;
mod disk;
mod feed_fill;
mod grow;
mod pquery;
mod read;

use disk::PendingAck;
pub use disk::{NodeDisk, SegmentDisk};

use crate::branch::{base_pg, volume_of};
use crate::bug::Bug;
use crate::event::EventKind;
use crate::quorum::Membership;
use crate::topology::MembershipView;
use crate::types::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;

#[derive(Default)]
struct SegVol {
    scl: Lsn,
    next_of: BTreeMap<Lsn, Lsn>,
    /// Page -> key -> LSNs of its records: a page read at any point costs
    /// O(keys · log versions), never a scan of the log.
    by_page: BTreeMap<PageId, BTreeMap<u64, BTreeSet<Lsn>>>,
}

impl SegVol {
    /// Index a shared record's page version only (a clone's chain starts at its tail).
    fn index_version(&mut self, r: &Record) {
        self.by_page
            .entry(r.page)
            .or_default()
            .entry(r.key)
            .or_default()
            .insert(r.lsn);
    }

    /// Index a durable record: its backlink (the lowest successor wins, so a record
    /// of a truncated branch never hides the kept chain) and its page version.
    fn index(&mut self, r: &Record) {
        let e = self.next_of.entry(r.prev).or_insert(r.lsn);
        *e = (*e).min(r.lsn);
        self.by_page
            .entry(r.page)
            .or_default()
            .entry(r.key)
            .or_default()
            .insert(r.lsn);
    }
}

const SCRUB_BATCH: usize = 256;
/// At most this many bytes of records per gossip push (the hydration bandwidth model).
pub const HYDRATE_BATCH_BYTES: u64 = 256 * 1024;
/// How often garbage collection runs.
const GC_MS: u64 = 1000;

pub struct StorageConfig {
    pub gossip_ms: u64,
    pub scrub_ms: u64,
    /// LSNs of history below the GC point that stay readable (replica snapshots
    /// a little behind).
    pub gc_retain_lsns: u64,
    /// Group-commit delay: buffered records are synced this long after the first
    /// of them arrived (0: at the end of every burst of messages).
    pub fsync_ms: u64,
    /// Backtrack window (0: off): GC keeps what any state inside it needs.
    pub backtrack_window_ms: u64,
    pub bugs: BTreeSet<Bug>,
    /// Report every page read served as an event (white-box cache-miss count, C25).
    pub report_page_reads: bool,
    /// Storage auto-scaling: report the highest page held, provision new PGs' segments.
    pub autoscale: Option<crate::pgmap::AutoscaleConfig>,
}

pub struct StorageNode {
    pub name: String,
    disk: Rc<RefCell<NodeDisk>>,
    view: MembershipView,
    /// Peers' SCLs as their gossip pulls told us (volatile; GC floors come from here).
    peer_scl: BTreeMap<(PgId, String), Lsn>,
    next_report: SimTime,
    vol: BTreeMap<PgId, SegVol>,
    /// When the buffered records will be synced (None: buffer empty).
    sync_due: Option<SimTime>,
    pending_acks: Vec<PendingAck>,
    #[allow(dead_code)]
    rng: ChaCha8Rng,
    cfg: StorageConfig,
    next_gossip: SimTime,
    next_scrub: SimTime,
    scrub_cursor: BTreeMap<PgId, Lsn>,
    next_gc: SimTime,
    slow_gossip: BTreeMap<PgId, SimTime>,
    /// Segments being provisioned: pg -> (when done, who asked).
    provisioning: BTreeMap<PgId, (SimTime, String)>,
    pub events: Vec<EventKind>,
}

impl StorageNode {
    pub fn new(
        name: String,
        disk: Rc<RefCell<NodeDisk>>,
        placement: BTreeMap<PgId, Membership>,
        seed: u64,
        cfg: StorageConfig,
    ) -> Self {
        // (Re)start after a crash: the unsynced buffer is gone. The membership view is
        // the one this node last persisted (or the volume's placement on a new disk).
        let lost = disk.borrow_mut().crash();
        let view = MembershipView::new(disk.borrow().mview.clone().unwrap_or(placement));
        let mut n = StorageNode {
            name,
            disk,
            view,
            peer_scl: BTreeMap::new(),
            next_report: 0,
            vol: BTreeMap::new(),
            sync_due: None,
            pending_acks: vec![],
            rng: ChaCha8Rng::seed_from_u64(seed),
            cfg,
            next_gossip: 0,
            next_scrub: 0,
            scrub_cursor: BTreeMap::new(),
            next_gc: 0,
            slow_gossip: BTreeMap::new(),
            provisioning: BTreeMap::new(),
            events: vec![],
        };
        if lost > 0 {
            n.events.push(EventKind::UnsyncedLost { records: lost });
        }
        let pgs: Vec<PgId> = n.disk.borrow().segs.keys().copied().collect();
        for pg in pgs {
            n.rebuild(pg);
        }
        n
    }

    /// Recompute the backlink index and SCL of a segment from its durable records
    /// (a clone's segment: the source records it shares, then its own).
    fn rebuild(&mut self, pg: PgId) {
        let disk = self.disk.borrow();
        let mut v = SegVol::default();
        if let Some(b) = disk.branches.get(&volume_of(pg)) {
            let tail = b.tail(pg);
            if let Some(src) = disk.segs.get(&base_pg(pg)) {
                for r in src
                    .records
                    .range(..=tail)
                    .map(|(_, r)| r)
                    .filter(|r| !inactive(&src.truncations, r.lsn))
                {
                    v.index_version(r);
                }
            }
        }
        if let Some(s) = disk.segs.get(&pg) {
            for r in s
                .records
                .values()
                .filter(|r| !inactive(&s.truncations, r.lsn))
            {
                v.index(r);
            }
        }
        v.scl = disk.segs.get(&pg).map(|s| s.chain_base).unwrap_or_default();
        drop(disk);
        self.vol.insert(pg, v);
        self.advance_scl(pg);
    }

    fn advance_scl(&mut self, pg: PgId) {
        let v = self.vol.entry(pg).or_default();
        while let Some(n) = v.next_of.get(&v.scl) {
            v.scl = *n;
        }
    }

    /// The segment's SCL. A clone's segment is complete only as far as its source
    /// segment is, up to the records they share.
    pub fn scl(&self, pg: PgId) -> Lsn {
        let own = self.vol.get(&pg).map(|v| v.scl).unwrap_or_default();
        match self.branch_tail(pg) {
            Some(tail) => {
                let src = self.scl(base_pg(pg));
                if src < tail {
                    src
                } else {
                    own
                }
            }
            None => own,
        }
    }

    /// Adopt truncation ranges: drop every record inside a destructive one; adopt a
    /// newer generation of deactivations (records kept, but no longer indexed, read
    /// or counted in the SCL); recompute the index and SCL if anything changed.
    fn adopt_truncations(&mut self, pg: PgId, ts: &[Truncation]) {
        let mut disk = self.disk.borrow_mut();
        let seg = disk.segs.entry(pg).or_default();
        let old_gen = deact_gen(&seg.truncations);
        let fresh: Vec<Truncation> = ts
            .iter()
            .filter(|t| !seg.truncations.contains(t))
            .copied()
            .collect();
        if !merge_truncations(&mut seg.truncations, &fresh) {
            return;
        }
        for t in fresh.iter().filter(|t| seg.truncations.contains(t)) {
            self.events
                .push(EventKind::TruncationAdopted { pg, truncation: *t });
            if t.keep {
                continue;
            }
            let doomed: Vec<Lsn> = seg
                .records
                .range(t.lo.next()..=t.hi)
                .map(|(l, _)| *l)
                .collect();
            for l in doomed {
                seg.records.remove(&l);
            }
        }
        if deact_gen(&seg.truncations) != old_gen {
            // The chain restarts from the last active record at or below its base:
            // everything between is inactive now.
            let base = seg.chain_base;
            seg.chain_base = seg
                .records
                .range(..=base)
                .rev()
                .map(|(l, _)| *l)
                .find(|l| !inactive(&seg.truncations, *l))
                .unwrap_or_default();
        }
        drop(disk);
        self.rebuild(pg);
    }

    /// A record inside a destructive truncation range (discarded even if late).
    pub(crate) fn truncated(seg: &SegmentDisk, lsn: Lsn) -> bool {
        destroyed(&seg.truncations, lsn)
    }

    pub fn handle(&mut self, now: SimTime, from: &str, msg: Msg) -> Vec<Outbound> {
        match msg {
            Msg::Write {
                epoch,
                pg,
                mepoch,
                records,
                vdl,
                mrp,
                truncations,
            } => {
                if let Some(rej) = self.admit_writer(now, from, pg, mepoch, epoch) {
                    return rej;
                }
                self.adopt_truncations(pg, &truncations);
                self.persist(now, pg, records);
                self.note_vdl(pg, vdl, mrp);
                if self.cfg.bugs.contains(&Bug::AckBeforeFsync) {
                    return vec![self.write_ack_buffered(from, epoch, pg)];
                }
                if self.sync_pending() {
                    self.pending_acks.push(PendingAck::Write {
                        to: from.to_string(),
                        epoch,
                        pg,
                    });
                    return vec![];
                }
                vec![self.write_ack(from, epoch, pg, 0)]
            }
            Msg::VdlHint {
                epoch,
                pg,
                mepoch,
                vdl,
                mrp,
                truncations,
                round,
            } => {
                if let Some(rej) = self.admit_writer(now, from, pg, mepoch, epoch) {
                    return rej;
                }
                self.adopt_truncations(pg, &truncations);
                self.note_vdl(pg, vdl, mrp);
                vec![self.write_ack(from, epoch, pg, round)]
            }
            Msg::ReadPage {
                id,
                epoch,
                pg,
                mepoch,
                page,
                at,
                need,
                dgen,
            } => {
                if let Some(rej) = self.admit(now, from, pg, mepoch, Some(id)) {
                    return rej;
                }
                // Epoch 0 marks a replica's snapshot read, which needs no fencing. A
                // reader on a newer deactivation generation than this segment's
                // cannot be served: active and inactive records would mix.
                let behind = self
                    .disk
                    .borrow()
                    .segs
                    .get(&pg)
                    .map(|s| deact_gen(&s.truncations))
                    .unwrap_or(0)
                    < dgen;
                if (epoch != 0 && epoch < self.epoch_of(pg)) || behind {
                    return vec![out(from, Msg::PageData { id, image: None })];
                }
                let image = self.read_page(pg, page, at, need);
                if self.cfg.report_page_reads && image.is_some() {
                    self.events.push(crate::event::EventKind::PageRead {
                        reader: from.to_string(),
                        id,
                    });
                }
                self.note_page_read(pg, at, need, image.is_some());
                vec![out(from, Msg::PageData { id, image })]
            }
            Msg::PqScan {
                id,
                epoch,
                pg,
                mepoch,
                at,
                need,
                lo,
                hi,
                min,
                dgen,
            } => self.on_pq_scan(
                now,
                from,
                id,
                epoch,
                pg,
                mepoch,
                at,
                need,
                (lo, hi, min),
                dgen,
            ),
            Msg::StaleMembership { pg, current, .. } => {
                // A gossip peer knows a newer membership.
                if current > self.view.epoch(pg) {
                    return self.view.request(now).into_iter().collect();
                }
                vec![]
            }
            Msg::CreateSegment {
                pg,
                membership,
                epoch,
            } => self.on_create_segment(now, from, pg, membership, epoch),
            // A membership change is acknowledged at once: the new epoch is reported
            // without waiting for the next `REPORT_MS` tick (the control plane fences
            // and reverts changes on these reports).
            Msg::MetaView { pgs, branches, .. } => {
                let changed = self.adopt_view(pgs);
                self.adopt_branches(branches);
                if changed {
                    vec![self.meta_report(&self.view.pgs_on(&self.name))]
                } else {
                    vec![]
                }
            }
            Msg::RecoverQuery {
                id,
                epoch,
                pg,
                mepoch,
                cut,
            } => {
                if let Some(rej) = self.admit_recovery(now, from, pg, mepoch, epoch) {
                    return rej;
                }
                self.set_epoch(pg, epoch);
                // Whatever the old epoch got into the buffer becomes durable before the
                // new writer sees this segment's state, so no acknowledgement for it can
                // follow a recovery that did not see it.
                let mut outs = self.sync_now();
                let scl = self.scl(pg);
                let d = self.disk.borrow();
                let seg = d.segs.get(&pg).cloned().unwrap_or_default();
                let point = seg.vdl_seen.min(scl);
                let active = |l: &Lsn| !inactive(&seg.truncations, *l);
                let floor = seg
                    .records
                    .range(..=point)
                    .rev()
                    .map(|(l, _)| *l)
                    .find(active)
                    .unwrap_or_default()
                    .max(seg.chain_base);
                let records = seg
                    .records
                    .range(floor.next()..)
                    .map(|(_, r)| r.clone())
                    .filter(|r| r.is_intact() && active(&r.lsn))
                    .collect();
                let cut = cut.and_then(|q| backtrack_cut(&seg, q, floor));
                outs.push(out(
                    from,
                    Msg::RecoverState {
                        id,
                        pg,
                        seg: self.name.clone(),
                        epoch,
                        scl,
                        vdl_seen: seg.vdl_seen,
                        floor,
                        records,
                        truncations: seg.truncations.clone(),
                        cut,
                    },
                ));
                outs
            }
            Msg::RecoverCommit {
                id,
                epoch,
                pg,
                mepoch,
                records,
                vdl,
                truncations,
            } => {
                if let Some(rej) = self.admit_recovery(now, from, pg, mepoch, epoch) {
                    return rej;
                }
                self.set_epoch(pg, epoch);
                self.adopt_truncations(pg, &truncations);
                self.persist(now, pg, records);
                self.note_vdl(pg, vdl, Lsn::ZERO);
                if self.sync_pending() {
                    self.pending_acks.push(PendingAck::Recover {
                        to: from.to_string(),
                        id,
                        pg,
                    });
                    return vec![];
                }
                vec![self.recover_committed(from, id, pg)]
            }
            Msg::GFetch {
                id,
                epoch,
                pg,
                mepoch,
                after,
                upto,
            } => self.on_gfetch(now, from, id, epoch, pg, mepoch, (after, upto)),
            Msg::GossipPull {
                pg,
                mepoch,
                epoch,
                scl,
                after,
                missing,
                truncations,
            } => {
                if let Some(rej) = self.admit(now, from, pg, mepoch, None) {
                    return rej;
                }
                self.peer_scl.insert((pg, from.to_string()), scl);
                self.set_epoch(pg, epoch);
                self.adopt_truncations(pg, &truncations);
                let d = self.disk.borrow();
                let Some(seg) = d.segs.get(&pg) else {
                    return vec![];
                };
                // Hydration model: one push carries at most `HYDRATE_BATCH_BYTES` of
                // records; a puller that got a full batch pulls again at once, so a
                // new segment streams its peer's log one round trip per batch.
                let mut records: Vec<Record> = vec![];
                let mut bytes = 0;
                // Bug `gossip-drops-record`: the first record the puller lacks is skipped.
                let skip = usize::from(self.cfg.bugs.contains(&Bug::GossipDropsRecord));
                for r in seg.records.range(after.next()..).map(|(_, r)| r).skip(skip) {
                    if bytes >= HYDRATE_BATCH_BYTES {
                        break;
                    }
                    if r.is_intact() {
                        bytes += r.wire_size();
                        records.push(r.clone());
                    }
                }
                for l in missing {
                    if let Some(r) = seg.records.get(&l) {
                        if r.is_intact() {
                            records.push(r.clone());
                        }
                    }
                }
                let (epoch, truncations) = (seg.epoch, seg.truncations.clone());
                drop(d);
                if records.is_empty() && truncations.is_empty() {
                    return vec![];
                }
                vec![out(
                    from,
                    Msg::GossipPush {
                        pg,
                        mepoch: self.view.epoch(pg),
                        epoch,
                        records,
                        truncations,
                    },
                )]
            }
            Msg::GossipPush {
                pg,
                mepoch,
                epoch,
                records,
                truncations,
            } => {
                if let Some(rej) = self.admit(now, from, pg, mepoch, None) {
                    return rej;
                }
                self.set_epoch(pg, epoch);
                self.adopt_truncations(pg, &truncations);
                let repaired: Vec<Lsn> = {
                    let d = self.disk.borrow();
                    let seg = d.segs.get(&pg);
                    records
                        .iter()
                        .filter(|r| {
                            seg.and_then(|s| s.records.get(&r.lsn))
                                .map(|o| !o.is_intact())
                                .unwrap_or(false)
                        })
                        .map(|r| r.lsn)
                        .collect()
                };
                let bytes: u64 = records.iter().map(Record::wire_size).sum();
                let last = records.iter().map(|r| r.lsn).max();
                let n = self.persist(now, pg, records);
                for lsn in repaired {
                    self.events.push(EventKind::ScrubRepaired { pg, lsn });
                }
                if n > 0 {
                    self.events.push(EventKind::HoleFilled {
                        pg,
                        count: n,
                        bytes,
                    });
                }
                // A full batch: more is waiting, pull the next one now.
                match last {
                    Some(last) if bytes >= HYDRATE_BATCH_BYTES => {
                        vec![out(from, self.pull_after(pg, last, vec![]))]
                    }
                    _ => vec![],
                }
            }
            _ => vec![],
        }
    }

    /// The reply to a recovery's commit: SCL and the highest active record held.
    pub(super) fn recover_committed(&self, to: &str, id: u64, pg: PgId) -> Outbound {
        let tail = self
            .disk
            .borrow()
            .segs
            .get(&pg)
            .and_then(|s| {
                s.records
                    .keys()
                    .rev()
                    .find(|l| !inactive(&s.truncations, **l))
                    .copied()
            })
            .unwrap_or_default();
        out(
            to,
            Msg::RecoverCommitted {
                id,
                pg,
                seg: self.name.clone(),
                scl: self.scl(pg),
                tail,
            },
        )
    }

    fn note_vdl(&mut self, pg: PgId, vdl: Lsn, mrp: Lsn) {
        let mut d = self.disk.borrow_mut();
        let s = d.segs.entry(pg).or_default();
        s.vdl_seen = s.vdl_seen.max(vdl);
        s.min_read_point = s.min_read_point.max(mrp);
    }
}

/// A backtrack's cut candidate on one segment: the highest intact CPL in
/// `(above, below]` allocated by `at_most`. In the current era (`below` unbounded)
/// only records at or below `floor` count: above it the recovery walks the chain
/// itself and keeps only what is committed.
fn backtrack_cut(seg: &SegmentDisk, q: CutQuery, floor: Lsn) -> Option<(Lsn, SimTime)> {
    let top = if q.below == Lsn(u64::MAX) {
        floor
    } else {
        q.below
    };
    if top <= q.above {
        return None;
    }
    seg.records
        .range(q.above.next()..=top)
        .rev()
        .map(|(_, r)| r)
        .find(|r| {
            r.cpl && r.at <= q.at_most && r.is_intact() && !StorageNode::truncated(seg, r.lsn)
        })
        .map(|r| (r.lsn, r.at))
}
