//! Background work of a storage node: metadata reports, scrub, garbage
//! collection and gossip.

use super::*;
use crate::topology::META;

/// How often a storage node reports to (and polls) the metadata service.
pub(super) const REPORT_MS: SimTime = 100;

impl StorageNode {
    /// The report of `(SCL, adopted membership epoch)` for `pgs` (and the page high-water mark).
    pub(super) fn meta_report(&self, pgs: &[PgId]) -> Outbound {
        let reports = pgs
            .iter()
            .map(|&pg| (pg, self.scl(pg), self.view.epoch(pg)))
            .collect();
        let hwm = self.page_hwm();
        out(META, Msg::MetaReport { reports, hwm })
    }

    pub fn tick(&mut self, now: SimTime) -> Vec<Outbound> {
        let mut outs = self.poll_sync(now);
        if !self.provisioning.is_empty() {
            outs.extend(self.provision_tick(now));
        }
        if now < self.next_scrub && now < self.next_gossip {
            return outs;
        }
        // Background: poll the metadata service for membership changes, and report
        // SCLs (with the membership epoch adopted) there, every `REPORT_MS`.
        let base = self.view.pgs_on(&self.name);
        let pgs = self.served_pgs();
        if now >= self.next_report {
            self.next_report = now + REPORT_MS;
            outs.push(self.meta_report(&base));
            outs.extend(self.view.request(now));
        }
        if now >= self.next_scrub {
            self.next_scrub = now + self.cfg.scrub_ms;
            for &pg in &pgs {
                // Incremental: verify up to SCRUB_BATCH records per pass, wrapping around.
                let from = self.scrub_cursor.get(&pg).copied().unwrap_or_default();
                let trusting = self.cfg.bugs.contains(&Bug::ScrubTrustsCorrupt);
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
                            .filter(|r| !trusting && !r.is_intact())
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
                self.gc(now, pg);
            }
        }
        if now >= self.next_gossip {
            self.next_gossip = now + self.cfg.gossip_ms;
            for &pg in &pgs {
                let peers = self.peers(pg);
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
                    .map(|s| {
                        s.records
                            .range(self.scl(pg).next()..)
                            .any(|(l, _)| !inactive(&s.truncations, *l))
                    })
                    .unwrap_or(false);
                let slow = self.slow_gossip.entry(pg).or_insert(0);
                if !hole && now < *slow {
                    continue;
                }
                *slow = now + 10 * self.cfg.gossip_ms;
                // Round-robin over peers: each peer hears this node's SCL (its GC
                // floor) within a few slow periods.
                let turn = (now / self.cfg.gossip_ms.max(1)) as usize / 10;
                let peer = peers[turn % peers.len()].clone();
                outs.push(out(peer, self.pull(pg, vec![])));
            }
        }
        outs
    }

    /// Coalesce: the GC point is the highest record every member segment has reached
    /// and this segment knows durable (the backlink chain is complete up to it). Below
    /// `min(GC point, minimum read point) - gc_retain_lsns` each key keeps only its
    /// newest version; older ones are dropped, and reads below that horizon refused.
    fn gc(&mut self, now: SimTime, pg: PgId) {
        let members = self.view.get(pg).all();
        // Every other member's SCL as its last gossip pull said (none heard: zero,
        // so nothing is collected until every member has been heard from).
        let min_peer = members
            .iter()
            .filter(|m| **m != self.name)
            .map(|m| {
                self.peer_scl
                    .get(&(pg, m.clone()))
                    .copied()
                    .unwrap_or_default()
            })
            .min()
            .unwrap_or_default();
        let scl = self.scl(pg);
        let mut d = self.disk.borrow_mut();
        let Some(seg) = d.segs.get_mut(&pg) else {
            return;
        };
        let point = seg.vdl_seen.min(scl).min(min_peer);
        let Some(gc_point) = seg.records.range(..=point).next_back().map(|(l, _)| *l) else {
            return;
        };
        seg.chain_base = seg.chain_base.max(gc_point);
        // Versions are collected only below the minimum read point (PGMRPL) the writer
        // sent, less the retention window: a long-lived snapshot holds GC back.
        let horizon = Lsn(seg
            .chain_base
            .min(seg.min_read_point)
            .0
            .saturating_sub(self.cfg.gc_retain_lsns));
        // Bug `gc-below-read-point`: collect up to the GC point itself, while reads stay
        // admitted down to `horizon` (the read-refusal bound below still trusts PGMRPL).
        let collect = if self.cfg.bugs.contains(&Bug::GcBelowReadPoint) {
            seg.chain_base
        } else {
            horizon
        };
        if collect <= seg.gc_horizon {
            return;
        }
        seg.gc_horizon = horizon.max(seg.gc_horizon);
        let mrp = seg.min_read_point;
        // Backtrack window: a version may be needed again by any state the window
        // can restore, so it goes only once a version that superseded it was
        // allocated before the window began (less a second for its commit) and
        // before the lowest point any backtrack restored. Inactive records are never
        // indexed, so never collected.
        let time_floor = if self.cfg.backtrack_window_ms == 0
            || self.cfg.bugs.contains(&Bug::GcIgnoresBacktrackWindow)
        {
            SimTime::MAX
        } else {
            let restored = seg
                .truncations
                .iter()
                .filter(|t| t.keep && t.floor_ms > 0)
                .map(|t| t.floor_ms)
                .min()
                .unwrap_or(SimTime::MAX);
            now.saturating_sub(self.cfg.backtrack_window_ms + 1000)
                .min(restored)
        };
        let Some(v) = self.vol.get_mut(&pg) else {
            return;
        };
        for keys in v.by_page.values_mut() {
            for lsns in keys.values_mut() {
                let Some(&keep) = lsns
                    .range(..=collect)
                    .rev()
                    .find(|l| seg.records.get(l).is_some_and(|r| r.at < time_floor))
                else {
                    continue;
                };
                let old: Vec<Lsn> = lsns.range(..keep).copied().collect();
                // White-box assertion: never remove the version a read at PGMRPL returns
                // (reachable only with the bug: otherwise `keep <= horizon <= mrp`).
                if keep > mrp {
                    if let Some(&lsn) = old.iter().rev().find(|l| **l <= mrp) {
                        self.events
                            .push(EventKind::CollectedAboveReadPoint { pg, lsn, mrp });
                    }
                }
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

    pub(super) fn pull(&self, pg: PgId, missing: Vec<Lsn>) -> Msg {
        self.pull_after(pg, self.scl(pg), missing)
    }

    pub(super) fn pull_after(&self, pg: PgId, after: Lsn, missing: Vec<Lsn>) -> Msg {
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
            after: after.max(self.scl(pg)),
            missing,
            truncations,
        }
    }

    /// The other segments of `pg`, in this node's membership view.
    fn peers(&self, pg: PgId) -> Vec<String> {
        let mut all = self.view.get(pg).all();
        all.retain(|h| *h != self.name);
        all
    }

    fn gossip_to_all(&self, pg: PgId, missing: Vec<Lsn>) -> Vec<Outbound> {
        self.peers(pg)
            .into_iter()
            .map(|p| out(p, self.pull(pg, missing.clone())))
            .collect()
    }

    /// Disk fault: flip the value of one stored record (checksum left stale). With
    /// `current`, only records that are the newest stored version of their key are
    /// candidates (the blocks reads are most likely to need).
    pub fn corrupt_one(disk: &Rc<RefCell<NodeDisk>>, seed: u64, current: bool) -> bool {
        let mut d = disk.borrow_mut();
        let all: Vec<(PgId, Lsn)> = if current {
            let mut newest: BTreeMap<(PgId, u64), Lsn> = BTreeMap::new();
            for (p, s) in &d.segs {
                for (l, r) in &s.records {
                    newest.insert((*p, r.key), *l);
                }
            }
            newest.into_iter().map(|((p, _), l)| (p, l)).collect()
        } else {
            d.segs
                .iter()
                .flat_map(|(p, s)| s.records.keys().map(move |l| (*p, *l)))
                .collect()
        };
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
