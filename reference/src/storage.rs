//! Storage node: hosts segments of several PGs. Sans-IO.
//!
//! Foreground: receive, persist, acknowledge with the segment's SCL. Background
//! (`tick`): gossip with peers to fill holes found through backlinks, scrub
//! checksums and repair a corrupt record from a peer.
//!
//! Durable state ([`NodeDisk`]) lives outside the host future and survives crashes;
//! volatile state (SCL index, gossip schedule) is rebuilt on start. A write is synced
//! before its ack is produced (in the same `handle` call), so a crash can only lose
//! writes that were never acknowledged.

use crate::bug::Bug;
use crate::event::EventKind;
use crate::topology::Topology;
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
    pub unsynced: Vec<(PgId, Record)>,
}

impl NodeDisk {
    /// Crash: whatever was not synced is gone.
    pub fn crash(&mut self) {
        self.unsynced.clear();
    }
    pub fn sync(&mut self) {
        for (pg, r) in self.unsynced.drain(..) {
            self.segs.entry(pg).or_default().records.insert(r.lsn, r);
        }
    }
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
    pub bugs: BTreeSet<Bug>,
}

pub struct StorageNode {
    pub name: String,
    disk: Rc<RefCell<NodeDisk>>,
    topo: Rc<RefCell<Topology>>,
    vol: BTreeMap<PgId, SegVol>,
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
        let mut n = StorageNode {
            name,
            disk,
            topo,
            vol: BTreeMap::new(),
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

    fn truncated(seg: &SegmentDisk, lsn: Lsn) -> bool {
        seg.truncations.iter().any(|t| t.contains(lsn))
    }

    /// Persist records (sync before returning) and advance SCL.
    fn persist(&mut self, pg: PgId, records: Vec<Record>) -> usize {
        let mut added = 0;
        {
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
                disk.unsynced.push((pg, r));
                added += 1;
            }
            let pending: Vec<(Lsn, Lsn, PageId, u64)> = disk
                .unsynced
                .iter()
                .filter(|(p, _)| *p == pg)
                .map(|(_, r)| (r.prev, r.lsn, r.page, r.key))
                .collect();
            disk.sync();
            let v = self.vol.entry(pg).or_default();
            for (prev, lsn, page, key) in pending {
                let e = v.next_of.entry(prev).or_insert(lsn);
                *e = (*e).min(lsn);
                v.by_page
                    .entry(page)
                    .or_default()
                    .entry(key)
                    .or_default()
                    .insert(lsn);
            }
        }
        self.advance_scl(pg);
        added
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

    pub fn handle(&mut self, _now: SimTime, from: &str, msg: Msg) -> Vec<Outbound> {
        match msg {
            Msg::Write {
                epoch,
                pg,
                records,
                vdl,
                truncations,
            } => {
                if let Some(rej) = self.fence(from, pg, epoch) {
                    return vec![rej];
                }
                self.adopt_truncations(pg, &truncations);
                self.persist(pg, records);
                self.note_vdl(pg, vdl);
                vec![out(
                    from,
                    Msg::WriteAck {
                        epoch,
                        pg,
                        seg: self.name.clone(),
                        scl: self.scl(pg),
                        round: 0,
                    },
                )]
            }
            Msg::VdlHint {
                epoch,
                pg,
                vdl,
                truncations,
                round,
            } => {
                if let Some(rej) = self.fence(from, pg, epoch) {
                    return vec![rej];
                }
                self.adopt_truncations(pg, &truncations);
                self.note_vdl(pg, vdl);
                vec![out(
                    from,
                    Msg::WriteAck {
                        epoch,
                        pg,
                        seg: self.name.clone(),
                        scl: self.scl(pg),
                        round,
                    },
                )]
            }
            Msg::ReadPage {
                id,
                epoch,
                pg,
                page,
                at,
                need,
            } => {
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
            Msg::RecoverQuery { id, epoch, pg } => {
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
                vec![out(
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
                )]
            }
            Msg::RecoverCommit {
                id,
                epoch,
                pg,
                records,
                vdl,
                truncations,
            } => {
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
                self.persist(pg, records);
                self.note_vdl(pg, vdl);
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
                epoch,
                scl,
                missing,
                truncations,
            } => {
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
                        epoch,
                        records,
                        truncations,
                    },
                )]
            }
            Msg::GossipPush {
                pg,
                epoch,
                records,
                truncations,
            } => {
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
                let n = self.persist(pg, records);
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
        let mut outs = vec![];
        if now < self.next_scrub && now < self.next_gossip {
            return outs;
        }
        let pgs = self.topo.borrow().pgs_on(&self.name);
        {
            let mut t = self.topo.borrow_mut();
            for &pg in &pgs {
                t.scl_reports
                    .insert((pg, self.name.clone()), (self.scl(pg), now));
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
                let peers: Vec<String> = self.topo.borrow().pgs[&pg]
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
        let members = self.topo.borrow().pgs[&pg].all();
        let min_peer = {
            let t = self.topo.borrow();
            members
                .iter()
                .map(|m| {
                    t.scl_reports
                        .get(&(pg, m.clone()))
                        .map(|x| x.0)
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
            epoch,
            scl: self.scl(pg),
            missing,
            truncations,
        }
    }

    fn gossip_to_all(&self, pg: PgId, missing: Vec<Lsn>) -> Vec<Outbound> {
        let peers: Vec<String> = self.topo.borrow().pgs[&pg]
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
