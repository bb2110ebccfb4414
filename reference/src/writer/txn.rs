//! Interactive transactions on the writer: optimistic, serializable.
//!
//! Reads return the value as of VDL; a read of a key whose newest write is above VDL
//! waits until VDL reaches it (so a client never sees data that can still be lost,
//! and every read sees the newest committed value). Writes are buffered. Commit
//! validates that every key read still has the version that was read, then
//! allocates the MTR — validation and allocation happen in one step, so the
//! allocation order is a serial order (strict serializability). Pages a
//! transaction touched stay pinned in the buffer cache until it ends.

use super::{Fetch, Parked, Phase, Writer};
use crate::bug::Bug;
use crate::event::EventKind;
use crate::types::*;
use std::collections::{BTreeMap, BTreeSet};

#[derive(Clone, Debug)]
pub struct Txn {
    pub client: String,
    pub read_only: bool,
    pub reads: BTreeMap<u64, Lsn>,
    pub writes: BTreeMap<u64, Datum>,
    pub pinned: BTreeSet<PageId>,
    pub last_active: SimTime,
    pub started: SimTime,
    /// Snapshot isolation: read point and per-PG tails at begin; pages read at it.
    pub snapshot: Option<(Lsn, BTreeMap<PgId, Lsn>)>,
    pub snap_pages: BTreeMap<PageId, PageImage>,
}

enum Look {
    Ready(Lsn, Datum),
    Parked,
}

impl Writer {
    pub(crate) fn exec(
        &mut self,
        now: SimTime,
        p: Parked,
        outs: &mut Vec<Outbound>,
    ) -> Option<ClientReply> {
        if self.phase != Phase::Open {
            return Some(ClientReply::Err(match (&self.phase, &p.op) {
                (Phase::Recovering, _) => WireError::Unavailable,
                _ => WireError::NotWriter,
            }));
        }
        if let ClientOp::Begin { read_only } = p.op {
            self.next_txn += 1;
            let t = Txn {
                client: p.from.clone(),
                read_only,
                reads: BTreeMap::new(),
                writes: BTreeMap::new(),
                pinned: BTreeSet::new(),
                last_active: now,
                started: now,
                snapshot: (self.cfg.isolation == crate::cluster::Isolation::Snapshot)
                    .then(|| (self.vdl, self.pg_durable_tail.clone())),
                snap_pages: BTreeMap::new(),
            };
            self.txns.insert(self.next_txn, t);
            return Some(ClientReply::Begun { txn: self.next_txn });
        }
        if let ClientOp::Scan { .. } = p.op {
            return self.pq_start(now, p, outs);
        }
        let Some(t) = self.txns.get_mut(&p.txn) else {
            return Some(ClientReply::Err(WireError::UnknownTxn));
        };
        t.last_active = now;
        let read_only = t.read_only;
        if let Some(e) = self.autoscale_gate(now, &p.op, outs) {
            return Some(ClientReply::Err(e));
        }
        match p.op.clone() {
            ClientOp::Begin { .. } | ClientOp::Scan { .. } => unreachable!(),
            // The instance host turns it into a `Begin` (`crate::endpoints`).
            ClientOp::BeginVia { .. } => Some(ClientReply::Err(WireError::WrongEndpoint)),
            ClientOp::Read { key } => {
                if let Some(v) = self.txns[&p.txn].writes.get(&key) {
                    return Some(ClientReply::Value(v.clone()));
                }
                match self.lookup(now, &p, key, true, outs) {
                    Look::Ready(lsn, v) => {
                        self.txns
                            .get_mut(&p.txn)
                            .unwrap()
                            .reads
                            .entry(key)
                            .or_insert(lsn);
                        Some(ClientReply::Value(v))
                    }
                    Look::Parked => None,
                }
            }
            ClientOp::Write { key, value } => {
                if read_only {
                    return Some(ClientReply::Err(WireError::ReadOnly));
                }
                match self.lookup(now, &p, key, false, outs) {
                    Look::Ready(..) => {
                        self.txns.get_mut(&p.txn).unwrap().writes.insert(key, value);
                        Some(ClientReply::Done)
                    }
                    Look::Parked => None,
                }
            }
            ClientOp::Append { key, elem } => {
                if read_only {
                    return Some(ClientReply::Err(WireError::ReadOnly));
                }
                let cur = self.current(now, &p, key, outs)?;
                let mut list = match cur {
                    Datum::List(v) => v,
                    Datum::Int(i) => vec![i],
                    Datum::Nil => vec![],
                };
                list.push(elem);
                self.txns
                    .get_mut(&p.txn)
                    .unwrap()
                    .writes
                    .insert(key, Datum::List(list));
                Some(ClientReply::Done)
            }
            ClientOp::Cas { key, expected, new } => {
                if read_only {
                    return Some(ClientReply::Err(WireError::ReadOnly));
                }
                let cur = self.current(now, &p, key, outs)?;
                if cur == expected {
                    self.txns.get_mut(&p.txn).unwrap().writes.insert(key, new);
                    Some(ClientReply::Cas(true))
                } else {
                    Some(ClientReply::Cas(false))
                }
            }
            ClientOp::Abort => {
                self.end_txn(p.txn);
                Some(ClientReply::Done)
            }
            ClientOp::Commit => self.commit(now, p, outs),
        }
    }

    /// The key's current value for this txn (own writes first), recording the read.
    fn current(
        &mut self,
        now: SimTime,
        p: &Parked,
        key: u64,
        outs: &mut Vec<Outbound>,
    ) -> Option<Datum> {
        if let Some(v) = self.txns[&p.txn].writes.get(&key) {
            return Some(v.clone());
        }
        match self.lookup(now, p, key, true, outs) {
            Look::Ready(lsn, v) => {
                self.txns
                    .get_mut(&p.txn)
                    .unwrap()
                    .reads
                    .entry(key)
                    .or_insert(lsn);
                Some(v)
            }
            Look::Parked => None,
        }
    }

    fn commit(&mut self, now: SimTime, p: Parked, outs: &mut Vec<Outbound>) -> Option<ClientReply> {
        let t = &self.txns[&p.txn];
        let n = t.writes.len();
        if n > 0 && !self.lal_allows(n) {
            if self.lal_waiters.is_empty() {
                self.events.push(EventKind::LalStall {
                    next_lsn: self.next_lsn,
                    vdl: self.vdl,
                });
            }
            self.lal_waiters.push_back(p);
            return None;
        }
        let valid = match &t.snapshot {
            // SI: first committer wins on every written key.
            Some((at, _)) => t
                .writes
                .keys()
                .all(|k| self.version(*k).map(|v| v <= *at).unwrap_or(false)),
            None => t
                .reads
                .iter()
                .all(|(k, seen)| self.version(*k) == Some(*seen)),
        };
        let t = self.end_txn(p.txn).unwrap();
        if !valid {
            return Some(ClientReply::Err(WireError::Conflict));
        }
        if n == 0 {
            if t.reads.is_empty() {
                return Some(ClientReply::Committed);
            }
            self.park_round(p.from, p.id, now, outs);
            return None;
        }
        let lsn = self.allocate_mtr(&t.writes);
        self.commit_waiters
            .entry(lsn)
            .or_default()
            .push((p.from, p.id, now));
        None
    }

    /// Bug `commit-before-vdl`: acknowledge a parked commit once its own PG has the
    /// commit record at quorum, whatever VDL says about the records before it.
    pub(crate) fn ack_before_vdl(&mut self, now: SimTime, outs: &mut Vec<Outbound>) {
        let early: Vec<Lsn> = self
            .commit_waiters
            .keys()
            .copied()
            .filter(|l| match self.unstable.get(l) {
                Some((pg, _)) => self.pgcl_of(*pg) >= *l,
                None => false,
            })
            .collect();
        for lsn in early {
            for (from, id, started) in self.commit_waiters.remove(&lsn).unwrap_or_default() {
                self.events
                    .push(EventKind::CommitAcked { lsn, vdl: self.vdl });
                self.metrics.commit_latency(now.saturating_sub(started));
                outs.push(out(
                    from,
                    Msg::Reply {
                        id,
                        reply: ClientReply::Committed,
                    },
                ));
            }
        }
    }

    fn end_txn(&mut self, txn: u64) -> Option<super::Txn> {
        let t = self.txns.remove(&txn)?;
        for pg in &t.pinned {
            if let Some(c) = self.pins.get_mut(pg) {
                *c -= 1;
                if *c == 0 {
                    self.pins.remove(pg);
                }
            }
        }
        Some(t)
    }

    /// Newest version (LSN) of a key, if its page is cached (pinned pages always are).
    fn version(&self, key: u64) -> Option<Lsn> {
        let c = self.cache.get(&page_of(key))?;
        Some(c.image.get(&key).map(|(l, _)| *l).unwrap_or_default())
    }

    /// Look a key up at VDL: from the cache, or park while its page loads or VDL catches up.
    fn lookup(
        &mut self,
        now: SimTime,
        p: &Parked,
        key: u64,
        need_durable: bool,
        outs: &mut Vec<Outbound>,
    ) -> Look {
        let page = page_of(key);
        self.use_clock += 1;
        let clock = self.use_clock;
        let Some(c) = self.cache.get_mut(&page) else {
            self.metrics.cache_misses += 1;
            self.page_waiters.entry(page).or_default().push(p.clone());
            self.start_fetch(now, page, outs);
            return Look::Parked;
        };
        self.metrics.cache_hits += 1;
        c.last_use = clock;
        let (lsn, v) = c.image.get(&key).cloned().unwrap_or_default();
        let t = self.txns.get_mut(&p.txn).unwrap();
        if t.pinned.insert(page) {
            *self.pins.entry(page).or_default() += 1;
        }
        if need_durable {
            if let Some((at, tails)) = t.snapshot.clone() {
                if lsn <= at {
                    return Look::Ready(lsn, v);
                }
                if let Some(img) = t.snap_pages.get(&page) {
                    let (l, v) = img.get(&key).cloned().unwrap_or_default();
                    return Look::Ready(l, v);
                }
                // The cached version is newer than the snapshot: read the page at it.
                let pg = self.view.pg_of_page(page);
                let need = tails.get(&pg).copied().unwrap_or_default();
                self.next_id += 1;
                let id = self.next_id;
                self.fetches.insert(
                    id,
                    Fetch {
                        pg,
                        page,
                        at,
                        need,
                        tried: vec![],
                        deadline: 0,
                        for_txn: Some(p.txn),
                    },
                );
                self.snap_waiters.insert(id, p.clone());
                self.send_fetch(now, id, outs);
                return Look::Parked;
            }
        }
        if need_durable && lsn > self.vdl && !self.cfg.bugs.contains(&Bug::ReadAboveVdl) {
            self.vdl_waiters.entry(lsn).or_default().push(p.clone());
            return Look::Parked;
        }
        if need_durable && lsn > self.vdl {
            // A white-box assertion of "no client reads above VDL", checked on every served read
            // (only reachable with the `read-above-vdl` bug).
            self.events
                .push(EventKind::ReadServedAboveVdl { lsn, vdl: self.vdl });
        }
        Look::Ready(lsn, v)
    }

    fn start_fetch(&mut self, now: SimTime, page: PageId, outs: &mut Vec<Outbound>) {
        if self.fetching.contains_key(&page) {
            return;
        }
        let pg = self.view.pg_of_page(page);
        let need = self.pg_durable_tail.get(&pg).copied().unwrap_or_default();
        self.next_id += 1;
        let id = self.next_id;
        self.fetching.insert(page, id);
        self.fetches.insert(
            id,
            Fetch {
                pg,
                page,
                at: self.vdl,
                need,
                tried: vec![],
                deadline: 0,
                for_txn: None,
            },
        );
        self.send_fetch(now, id, outs);
    }

    /// Send a page read to a segment whose SCL reaches the read point, preferring untried ones.
    pub(crate) fn send_fetch(&mut self, now: SimTime, id: u64, outs: &mut Vec<Outbound>) {
        let pg = self.fetches[&id].pg;
        let dgen = deact_gen(&self.truncations_for(pg));
        let f = self.fetches.get_mut(&id).unwrap();
        let members = self.view.get(f.pg).all();
        let scl = self.seg_scl.get(&f.pg);
        let good = |m: &String| {
            scl.and_then(|s| s.get(m))
                .map(|l| *l >= f.need)
                .unwrap_or(f.need == Lsn::ZERO)
        };
        let pick = members
            .iter()
            .find(|m| good(m) && !f.tried.contains(m))
            .or_else(|| members.iter().find(|m| !f.tried.contains(m)))
            .cloned();
        let target = match pick {
            Some(t) => t,
            None => {
                f.tried.clear();
                members[0].clone()
            }
        };
        f.tried.push(target.clone());
        f.deadline = now + self.cfg.read_timeout_ms;
        outs.push(out(
            target,
            Msg::ReadPage {
                id,
                epoch: self.epoch,
                pg: f.pg,
                mepoch: self.view.epoch(f.pg),
                page: f.page,
                at: f.at,
                need: f.need,
                dgen,
            },
        ));
    }

    pub(crate) fn retry_fetches(&mut self, now: SimTime, outs: &mut Vec<Outbound>) {
        let late: Vec<u64> = self
            .fetches
            .iter()
            .filter(|(_, f)| f.deadline <= now)
            .map(|(i, _)| *i)
            .collect();
        for id in late {
            self.send_fetch(now, id, outs);
        }
    }

    pub(crate) fn on_page(
        &mut self,
        now: SimTime,
        id: u64,
        _from: &str,
        image: Option<PageImage>,
        outs: &mut Vec<Outbound>,
    ) {
        if self.pq_owns(id) {
            return self.pq_on_page(now, id, image, outs);
        }
        if !self.fetches.contains_key(&id) {
            return;
        }
        let Some(image) = image else {
            self.send_fetch(now, id, outs);
            return;
        };
        // C4: nothing inside a truncation range may ever be read back.
        if let Some((l, _)) = image
            .values()
            .find(|(l, _)| self.declared.iter().any(|t| t.contains(*l)))
        {
            self.events.push(EventKind::ReadTruncatedRecord { lsn: *l });
        }
        let f = self.fetches.remove(&id).unwrap();
        if let Some(txn) = f.for_txn {
            if let Some(t) = self.txns.get_mut(&txn) {
                t.snap_pages.insert(f.page, image);
            }
            if let Some(p) = self.snap_waiters.remove(&id) {
                self.rerun(now, p, outs);
            }
            return;
        }
        self.fetching.remove(&f.page);
        let lsn = image.values().map(|(l, _)| *l).max().unwrap_or_default();
        self.use_clock += 1;
        self.cache.insert(
            f.page,
            super::CachedPage {
                image,
                lsn,
                last_use: self.use_clock,
            },
        );
        for p in self.page_waiters.remove(&f.page).unwrap_or_default() {
            self.rerun(now, p, outs);
        }
        self.evict();
    }

    /// Serverless v2: the buffer cache's capacity follows the instance's ACUs. A smaller
    /// capacity takes effect at the next eviction (still only pages with LSN ≤ VDL go).
    pub fn set_cache_pages(&mut self, pages: usize) {
        self.cfg.cache_pages = pages;
    }

    /// Evict least-recently-used pages beyond capacity — only unpinned pages with LSN ≤ VDL.
    pub(crate) fn evict(&mut self) {
        while self.cache.len() > self.cfg.cache_pages {
            let victim = self
                .cache
                .iter()
                .filter(|(p, c)| c.lsn <= self.vdl && !self.pins.contains_key(p))
                .min_by_key(|(_, c)| c.last_use)
                .map(|(p, _)| *p);
            match victim {
                Some(p) => {
                    self.cache.remove(&p);
                }
                None => break,
            }
        }
    }

    pub(crate) fn expire_txns(&mut self, now: SimTime) {
        let idle: Vec<u64> = self
            .txns
            .iter()
            .filter(|(_, t)| now.saturating_sub(t.last_active) > self.cfg.txn_idle_ms)
            .map(|(i, _)| *i)
            .collect();
        for i in idle {
            self.end_txn(i);
        }
    }
}
