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

use crate::bug::Bug;
use crate::event::EventKind;
use crate::topology::{MembershipView, SclReport, Topology};
use crate::types::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;

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
}

/// A storage node's disk: synced segments plus an unsynced write buffer that a
/// crash discards.
#[derive(Clone, Debug, Default)]
pub struct NodeDisk {
    pub segs: BTreeMap<PgId, SegmentDisk>,
    pub unsynced: BTreeMap<(PgId, Lsn), Record>,
}

impl NodeDisk {
    /// Crash: whatever was not synced is gone.
    pub fn crash(&mut self) {
        self.unsynced.clear();
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

/// An acknowledgement waiting for the sync that makes its records durable.
#[derive(Clone, Debug)]
enum PendingAck {
    Write { to: String, epoch: Epoch, pg: PgId },
    Recover { to: String, id: u64, pg: PgId },
}

#[derive(Default)]
struct SegVol {
    scl: Lsn,
    next_of: BTreeMap<Lsn, Lsn>,
    /// Page -> key -> LSNs of its records: a page read at any point costs
    /// O(keys · log versions), never a scan of the log.
    by_page: BTreeMap<PageId, BTreeMap<u64, BTreeSet<Lsn>>>,
}

const SCRUB_BATCH: usize = 256;
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
    pub bugs: BTreeSet<Bug>,
}

pub struct StorageNode {
    pub name: String,
    disk: Rc<RefCell<NodeDisk>>,
    topo: Rc<RefCell<Topology>>,
    view: MembershipView,
    vol: BTreeMap<PgId, SegVol>,
    /// When the buffered records will be synced (None: buffer empty).
    sync_due: Option<SimTime>,
    pending_acks: Vec<PendingAck>,
    rng: ChaCha8Rng,
    cfg: StorageConfig,
    next_gossip: SimTime,
    next_scrub: SimTime,
    scrub_cursor: BTreeMap<PgId, Lsn>,
    next_gc: SimTime,
    slow_gossip: BTreeMap<PgId, SimTime>,
    pub events: Vec<EventKind>,
}

impl StorageNode {
    pub fn new(
        name: String,
        disk: Rc<RefCell<NodeDisk>>,
        topo: Rc<RefCell<Topology>>,
        seed: u64,
        cfg: StorageConfig,
    ) -> Self {
        disk.borrow_mut().crash();
        let view = MembershipView::load(topo.clone());
        let mut n = StorageNode {
            name,
            disk,
            topo,
            view,
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
            events: vec![],
        };
        let pgs: Vec<PgId> = n.disk.borrow().segs.keys().copied().collect();
        for pg in pgs {
            n.rebuild(pg);
        }
        n
    }

    /// Recompute the backlink index and SCL of a segment from its durable records.
    fn rebuild(&mut self, pg: PgId) {
        let disk = self.disk.borrow();
        let mut v = SegVol::default();
        if let Some(s) = disk.segs.get(&pg) {
            for r in s.records.values() {
                v.next_of.entry(r.prev).or_insert(r.lsn);
                v.by_page
                    .entry(r.page)
                    .or_default()
                    .entry(r.key)
                    .or_default()
                    .insert(r.lsn);
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

    pub fn scl(&self, pg: PgId) -> Lsn {
        self.vol.get(&pg).map(|v| v.scl).unwrap_or_default()
    }

    /// Adopt truncation ranges: drop every record inside them; recompute SCL if needed.
    fn adopt_truncations(&mut self, pg: PgId, ts: &[Truncation]) {
        let mut disk = self.disk.borrow_mut();
        let seg = disk.segs.entry(pg).or_default();
        let mut changed = false;
        for t in ts {
            if !seg.truncations.contains(t) {
                seg.truncations.push(*t);
                seg.truncations.sort();
                let doomed: Vec<Lsn> = seg
                    .records
                    .range(t.lo.next()..=t.hi)
                    .map(|(l, _)| *l)
                    .collect();
                for l in doomed {
                    seg.records.remove(&l);
                }
                changed = true;
            }
        }
        drop(disk);
        if changed {
            self.rebuild(pg);
        }
    }

    pub(crate) fn truncated(seg: &SegmentDisk, lsn: Lsn) -> bool {
        seg.truncations.iter().any(|t| t.contains(lsn))
    }

    /// Buffer records for the next sync; returns how many were new.
    fn persist(&mut self, now: SimTime, pg: PgId, records: Vec<Record>) -> usize {
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
            self.sync_due = Some(now + self.cfg.fsync_ms);
        }
        added
    }

    /// Records are waiting in the buffer: an acknowledgement must wait for the sync.
    fn sync_pending(&self) -> bool {
        self.sync_due.is_some()
    }

    /// The group commit's fsync: make the buffer durable, index it, advance SCLs,
    /// and release the acknowledgements that waited for it.
    fn sync(&mut self) -> Vec<Outbound> {
        self.sync_due = None;
        let synced = self.disk.borrow_mut().sync();
        let mut touched = BTreeSet::new();
        for (pg, r) in synced {
            touched.insert(pg);
            let v = self.vol.entry(pg).or_default();
            let e = v.next_of.entry(r.prev).or_insert(r.lsn);
            *e = (*e).min(r.lsn);
            v.by_page
                .entry(r.page)
                .or_default()
                .entry(r.key)
                .or_default()
                .insert(r.lsn);
        }
        for pg in touched {
            self.advance_scl(pg);
        }
        std::mem::take(&mut self.pending_acks)
            .into_iter()
            .map(|a| match a {
                PendingAck::Write { to, epoch, pg } => self.write_ack(&to, epoch, pg, 0),
                PendingAck::Recover { to, id, pg } => out(
                    to,
                    Msg::RecoverCommitted {
                        id,
                        pg,
                        seg: self.name.clone(),
                        scl: self.scl(pg),
                    },
                ),
            })
            .collect()
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

    fn write_ack(&self, to: &str, epoch: Epoch, pg: PgId, round: u64) -> Outbound {
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

    /// Membership check of every I/O: refresh on a newer epoch, refuse a stale one or
    /// an I/O for a PG this node is not a member of.
    fn admit(&mut self, from: &str, pg: PgId, mepoch: MEpoch, read: Option<u64>) -> Option<Outbound> {
        if mepoch > self.view.epoch(pg) {
            self.view.refresh(pg);
        }
        let current = self.view.epoch(pg);
        let member = current > 0 && self.view.get(pg).all().iter().any(|h| *h == self.name);
        if mepoch >= current && member {
            return None;
        }
        self.events.push(EventKind::StaleMembershipRejected {
            pg,
            mepoch,
            current,
        });
        Some(out(
            from,
            Msg::StaleMembership {
                pg,
                seg: self.name.clone(),
                current,
                read,
            },
        ))
    }

    fn epoch_of(&self, pg: PgId) -> Epoch {
        self.disk
            .borrow()
            .segs
            .get(&pg)
            .map(|s| s.epoch)
            .unwrap_or(0)
    }

    fn set_epoch(&mut self, pg: PgId, e: Epoch) {
        let mut d = self.disk.borrow_mut();
        let s = d.segs.entry(pg).or_default();
        s.epoch = s.epoch.max(e);
    }

    /// Fencing check; returns `Some(reject)` if the I/O must be refused.
    fn fence(&mut self, from: &str, pg: PgId, epoch: Epoch) -> Option<Outbound> {
        let current = self.epoch_of(pg);
        if epoch >= current {
            self.set_epoch(pg, epoch);
            return None;
        }
        if self.cfg.bugs.contains(&Bug::NoEpochFencing) {
            self.events
                .push(EventKind::WriteAcceptedStaleEpoch { pg, epoch, current });
            return None;
        }
        self.events
            .push(EventKind::WriteRejectedStaleEpoch { pg, epoch, current });
        Some(out(
            from,
            Msg::Rejected {
                epoch,
                pg,
                seg: self.name.clone(),
                current,
            },
        ))
    }

    pub fn handle(&mut self, now: SimTime, from: &str, msg: Msg) -> Vec<Outbound> {
        match msg {
            Msg::Write {
                epoch,
                pg,
                mepoch,
                records,
                vdl,
                truncations,
            } => {
                if let Some(rej) = self.admit(from, pg, mepoch, None) {
                    return vec![rej];
                }
                if let Some(rej) = self.fence(from, pg, epoch) {
                    return vec![rej];
                }
                self.adopt_truncations(pg, &truncations);
                self.persist(now, pg, records);
                self.note_vdl(pg, vdl);
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
                truncations,
                round,
            } => {
                if let Some(rej) = self.admit(from, pg, mepoch, None) {
                    return vec![rej];
                }
                if let Some(rej) = self.fence(from, pg, epoch) {
                    return vec![rej];
                }
                self.adopt_truncations(pg, &truncations);
                self.note_vdl(pg, vdl);
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
            } => {
                if let Some(rej) = self.admit(from, pg, mepoch, Some(id)) {
                    return vec![rej];
                }
                // Epoch 0 marks a replica's snapshot read, which needs no fencing.
                if epoch != 0 && epoch < self.epoch_of(pg) {
                    return vec![out(from, Msg::PageData { id, image: None })];
                }
                vec![out(
                    from,
                    Msg::PageData {
                        id,
                        image: self.read_page(pg, page, at, need),
                    },
                )]
            }
            Msg::StaleMembership { pg, current, .. } => {
                // A gossip peer knows a newer membership.
                if current > self.view.epoch(pg) {
                    self.view.refresh(pg);
                }
                vec![]
            }
            Msg::RecoverQuery {
                id,
                epoch,
                pg,
                mepoch,
            } => {
                if let Some(rej) = self.admit(from, pg, mepoch, None) {
                    return vec![rej];
                }
                let current = self.epoch_of(pg);
                if epoch < current {
                    return vec![out(
                        from,
                        Msg::Rejected {
                            epoch,
                            pg,
                            seg: self.name.clone(),
                            current,
                        },
                    )];
                }
                self.set_epoch(pg, epoch);
                // Whatever the old epoch got into the buffer becomes durable before the
                // new writer sees this segment's state, so no acknowledgement for it can
                // follow a recovery that did not see it.
                let mut outs = if self.sync_pending() { self.sync() } else { vec![] };
                let scl = self.scl(pg);
                let d = self.disk.borrow();
                let seg = d.segs.get(&pg).cloned().unwrap_or_default();
                let point = seg.vdl_seen.min(scl);
                let floor = seg
                    .records
                    .range(..=point)
                    .next_back()
                    .map(|(l, _)| *l)
                    .unwrap_or_default()
                    .max(seg.chain_base);
                let records = seg
                    .records
                    .range(floor.next()..)
                    .map(|(_, r)| r.clone())
                    .filter(|r| r.is_intact())
                    .collect();
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
                if let Some(rej) = self.admit(from, pg, mepoch, None) {
                    return vec![rej];
                }
                let current = self.epoch_of(pg);
                if epoch < current {
                    return vec![out(
                        from,
                        Msg::Rejected {
                            epoch,
                            pg,
                            seg: self.name.clone(),
                            current,
                        },
                    )];
                }
                self.set_epoch(pg, epoch);
                self.adopt_truncations(pg, &truncations);
                self.persist(now, pg, records);
                self.note_vdl(pg, vdl);
                if self.sync_pending() {
                    self.pending_acks.push(PendingAck::Recover {
                        to: from.to_string(),
                        id,
                        pg,
                    });
                    return vec![];
                }
                vec![out(
                    from,
                    Msg::RecoverCommitted {
                        id,
                        pg,
                        seg: self.name.clone(),
                        scl: self.scl(pg),
                    },
                )]
            }
            Msg::GossipPull {
                pg,
                mepoch,
                epoch,
                scl,
                missing,
                truncations,
            } => {
                if let Some(rej) = self.admit(from, pg, mepoch, None) {
                    return vec![rej];
                }
                self.set_epoch(pg, epoch);
                self.adopt_truncations(pg, &truncations);
                let d = self.disk.borrow();
                let Some(seg) = d.segs.get(&pg) else {
                    return vec![];
                };
                let mut records: Vec<Record> = seg
                    .records
                    .range(scl.next()..)
                    .take(64)
                    .map(|(_, r)| r.clone())
                    .filter(|r| r.is_intact())
                    .collect();
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
                if let Some(rej) = self.admit(from, pg, mepoch, None) {
                    return vec![rej];
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
                let n = self.persist(now, pg, records);
                for lsn in repaired {
                    self.events.push(EventKind::ScrubRepaired { pg, lsn });
                }
                if n > 0 {
                    self.events.push(EventKind::HoleFilled { pg, count: n });
                }
                vec![]
            }
            _ => vec![],
        }
    }

    fn note_vdl(&mut self, pg: PgId, vdl: Lsn) {
        let mut d = self.disk.borrow_mut();
        let s = d.segs.entry(pg).or_default();
        s.vdl_seen = s.vdl_seen.max(vdl);
    }

    /// The page as of `at`, if this segment's SCL reaches `need` and no needed record is corrupt.
    pub fn read_page(&self, pg: PgId, page: PageId, at: Lsn, need: Lsn) -> Option<PageImage> {
        let d = self.disk.borrow();
        let seg = d.segs.get(&pg)?;
        // `need` is the PG's last record at or below `at`: the SCL must reach it.
        if self.scl(pg) < need || at < seg.gc_horizon {
            return None;
        }
        let mut img = PageImage::new();
        let keys = self.vol.get(&pg).and_then(|v| v.by_page.get(&page));
        for (key, lsns) in keys.into_iter().flatten() {
            let Some(l) = lsns.range(..=at).next_back() else {
                continue;
            };
            let r = seg.records.get(l)?;
            if !r.is_intact() {
                return None;
            }
            img.insert(*key, (r.lsn, r.value.clone()));
        }
        Some(img)
    }

    pub fn tick(&mut self, now: SimTime) -> Vec<Outbound> {
        let mut outs = self.poll_sync(now);
        if now < self.next_scrub && now < self.next_gossip {
            return outs;
        }
        // Background: pick up membership changes from the metadata service, and
        // report SCLs (with the membership epoch adopted) there.
        self.view.refresh_all();
        let pgs = self.view.pgs_on(&self.name);
        {
            let mut t = self.topo.borrow_mut();
            for &pg in &pgs {
                let report = SclReport {
                    scl: self.scl(pg),
                    at: now,
                    mepoch: self.view.epoch(pg),
                };
                t.scl_reports.insert((pg, self.name.clone()), report);
            }
        }
        if now >= self.next_scrub {
            self.next_scrub = now + self.cfg.scrub_ms;
            for &pg in &pgs {
                // Incremental: verify up to SCRUB_BATCH records per pass, wrapping around.
                let from = self.scrub_cursor.get(&pg).copied().unwrap_or_default();
                let (bad, next) = {
                    let d = self.disk.borrow();
                    let Some(seg) = d.segs.get(&pg) else { continue };
                    let batch: Vec<&Record> = seg
                        .records
                        .range(from.next()..)
                        .take(SCRUB_BATCH)
                        .map(|(_, r)| r)
                        .collect();
                    let next = if batch.len() < SCRUB_BATCH {
                        Lsn::ZERO
                    } else {
                        batch.last().unwrap().lsn
                    };
                    (
                        batch
                            .iter()
                            .filter(|r| !r.is_intact())
                            .map(|r| r.lsn)
                            .collect::<Vec<Lsn>>(),
                        next,
                    )
                };
                self.scrub_cursor.insert(pg, next);
                for lsn in &bad {
                    self.events.push(EventKind::ScrubDetected { pg, lsn: *lsn });
                }
                if !bad.is_empty() {
                    outs.extend(self.gossip_to_all(pg, bad));
                }
            }
        }
        if now >= self.next_gc {
            self.next_gc = now + GC_MS;
            for &pg in &pgs {
                self.gc(pg);
            }
        }
        if now >= self.next_gossip {
            self.next_gossip = now + self.cfg.gossip_ms;
            for &pg in &pgs {
                let peers: Vec<String> = self
                    .view
                    .get(pg)
                    .all()
                    .into_iter()
                    .filter(|h| *h != self.name)
                    .collect();
                if peers.is_empty() {
                    continue;
                }
                // Pull at once when a hole is known (a record above SCL: its backlink
                // points at something missing); otherwise only every 10 periods, to
                // catch a missed tail.
                let hole = self
                    .disk
                    .borrow()
                    .segs
                    .get(&pg)
                    .map(|s| s.records.range(self.scl(pg).next()..).next().is_some())
                    .unwrap_or(false);
                let slow = self.slow_gossip.entry(pg).or_insert(0);
                if !hole && now < *slow {
                    continue;
                }
                *slow = now + 10 * self.cfg.gossip_ms;
                let peer = peers[self.rng.random_range(0..peers.len())].clone();
                outs.push(out(peer, self.pull(pg, vec![])));
            }
        }
        outs
    }

    /// Coalesce: below the minimum point every member segment has reached (and this
    /// segment knows durable), keep only each key's newest version at or below
    /// `GC point - gc_retain_lsns`; drop older versions.
    fn gc(&mut self, pg: PgId) {
        let members = self.view.get(pg).all();
        let min_peer = {
            let t = self.topo.borrow();
            members
                .iter()
                .map(|m| {
                    t.scl_reports
                        .get(&(pg, m.clone()))
                        .map(|x| x.scl)
                        .unwrap_or_default()
                })
                .min()
                .unwrap_or_default()
        };
        let scl = self.scl(pg);
        let mut d = self.disk.borrow_mut();
        let Some(seg) = d.segs.get_mut(&pg) else {
            return;
        };
        let point = seg.vdl_seen.min(scl).min(min_peer);
        let Some(gc_point) = seg.records.range(..=point).next_back().map(|(l, _)| *l) else {
            return;
        };
        if gc_point <= seg.chain_base {
            return;
        }
        seg.chain_base = gc_point;
        let horizon = Lsn(gc_point.0.saturating_sub(self.cfg.gc_retain_lsns));
        if horizon <= seg.gc_horizon {
            return;
        }
        seg.gc_horizon = horizon;
        let Some(v) = self.vol.get_mut(&pg) else {
            return;
        };
        for keys in v.by_page.values_mut() {
            for lsns in keys.values_mut() {
                let Some(&keep) = lsns.range(..=horizon).next_back() else {
                    continue;
                };
                let old: Vec<Lsn> = lsns.range(..keep).copied().collect();
                for l in old {
                    lsns.remove(&l);
                    if let Some(r) = seg.records.remove(&l) {
                        if v.next_of.get(&r.prev) == Some(&l) {
                            v.next_of.remove(&r.prev);
                        }
                    }
                }
            }
        }
    }

    fn pull(&self, pg: PgId, missing: Vec<Lsn>) -> Msg {
        let d = self.disk.borrow();
        let (epoch, truncations) = d
            .segs
            .get(&pg)
            .map(|s| (s.epoch, s.truncations.clone()))
            .unwrap_or_default();
        Msg::GossipPull {
            pg,
            mepoch: self.view.epoch(pg),
            epoch,
            scl: self.scl(pg),
            missing,
            truncations,
        }
    }

    fn gossip_to_all(&self, pg: PgId, missing: Vec<Lsn>) -> Vec<Outbound> {
        let peers: Vec<String> = self
            .view
            .get(pg)
            .all()
            .into_iter()
            .filter(|h| *h != self.name)
            .collect();
        peers
            .into_iter()
            .map(|p| out(p, self.pull(pg, missing.clone())))
            .collect()
    }

    /// Disk fault: flip the value of one stored record (checksum left stale).
    pub fn corrupt_one(disk: &Rc<RefCell<NodeDisk>>, seed: u64) -> bool {
        let mut d = disk.borrow_mut();
        let all: Vec<(PgId, Lsn)> = d
            .segs
            .iter()
            .flat_map(|(p, s)| s.records.keys().map(move |l| (*p, *l)))
            .collect();
        if all.is_empty() {
            return false;
        }
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let (pg, lsn) = all[rng.random_range(0..all.len())];
        let r = d.segs.get_mut(&pg).unwrap().records.get_mut(&lsn).unwrap();
        r.value = match &r.value {
            Datum::Int(i) => Datum::Int(i ^ 0x5a5a),
            Datum::List(v) => Datum::List(
                v.iter()
                    .rev()
                    .chain(std::iter::once(&-1))
                    .copied()
                    .collect(),
            ),
            Datum::Nil => Datum::Int(-999),
        };
        true
    }
}
