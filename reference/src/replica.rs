//! Read replica: applies the writer's redo stream to cached pages and serves
//! read-only snapshot transactions at its VDL. Sans-IO.
//!
//! The stream carries whole MTRs up to the writer's VDL. The replica applies them in
//! LSN order and only then moves its VDL, so each MTR becomes visible atomically
//! (the `replica-partial-mtr` bug instead applies one record per millisecond and
//! moves the read point after each). Records for pages not in the cache are
//! dropped; such pages are read from storage at the snapshot's read point. A gap
//! in the stream (lost message, new writer) clears the cache and jumps to the new
//! VDL — always safe, since storage can serve any durable read point.

use crate::bug::Bug;
use crate::event::EventKind;
use crate::metrics::InstanceMetrics;
use crate::quorum::Membership;
use crate::topology::MembershipView;
use crate::types::*;
use crate::writer::CachedPage;
use std::collections::{BTreeMap, BTreeSet, VecDeque};

struct Snapshot {
    at: Lsn,
    tails: BTreeMap<PgId, Lsn>,
    last_active: SimTime,
}

struct Fetch {
    from: String,
    req: u64,
    key: u64,
    pg: PgId,
    at: Lsn,
    need: Lsn,
    tried: Vec<String>,
    deadline: SimTime,
    cacheable: bool,
}

pub struct Replica {
    pub name: String,
    pub epoch: Epoch,
    pub vdl: Lsn,
    /// The deactivation generation of the stream (a backtrack raises it).
    dgen: Epoch,
    /// A backtrack is under way: serve nothing until the stream reaches this generation.
    closed_below: Epoch,
    tails: BTreeMap<PgId, Lsn>,
    cache: BTreeMap<PageId, CachedPage>,
    cache_pages: usize,
    pending: VecDeque<Record>,
    pending_target: Option<(Lsn, BTreeMap<PgId, Lsn>, SimTime)>,
    snaps: BTreeMap<u64, Snapshot>,
    next_txn: u64,
    fetches: BTreeMap<u64, Fetch>,
    next_id: u64,
    read_timeout_ms: u64,
    bugs: BTreeSet<Bug>,
    /// Cached PG memberships; refreshed when storage refuses a stale membership epoch.
    pub(crate) view: MembershipView,
    /// Bug `replica-reuses-old-snapshot` only: recently handed-out read points.
    recent: VecDeque<(Lsn, BTreeMap<PgId, Lsn>)>,
    use_clock: u64,
    /// The writer whose stream this replica follows (where read points go).
    writer: Option<String>,
    next_report: SimTime,
    pub events: Vec<EventKind>,
    pub metrics: InstanceMetrics,
}

impl Replica {
    pub fn new(
        name: String,
        placement: BTreeMap<PgId, Membership>,
        cache_pages: usize,
        read_timeout_ms: u64,
        bugs: BTreeSet<Bug>,
        txn_base: u64,
    ) -> Self {
        Replica {
            name,
            epoch: 0,
            vdl: Lsn::ZERO,
            dgen: 0,
            closed_below: 0,
            tails: BTreeMap::new(),
            cache: BTreeMap::new(),
            cache_pages,
            pending: VecDeque::new(),
            pending_target: None,
            snaps: BTreeMap::new(),
            next_txn: txn_base,
            fetches: BTreeMap::new(),
            next_id: 0,
            read_timeout_ms,
            bugs,
            view: MembershipView::new(placement),
            recent: VecDeque::new(),
            use_clock: 0,
            writer: None,
            next_report: 0,
            events: vec![],
            metrics: InstanceMetrics::default(),
        }
    }

    /// Serverless v2: the buffer cache's capacity follows the instance's ACUs (applied at
    /// the next insertion).
    pub fn set_cache_pages(&mut self, pages: usize) {
        self.cache_pages = pages;
    }

    pub fn handle(&mut self, now: SimTime, from: &str, msg: Msg) -> Vec<Outbound> {
        let mut outs = vec![];
        match msg {
            Msg::Stream {
                epoch,
                prev_vdl,
                vdl,
                records,
                pg_tails,
                sent_at,
                dgen,
            } => {
                if epoch >= self.epoch {
                    self.writer = Some(from.to_string());
                }
                if epoch >= self.epoch && dgen > self.dgen && vdl > self.vdl {
                    // The volume was rewound: nothing cached or open is valid any more.
                    self.dgen = dgen;
                    self.cache.clear();
                    self.pending.clear();
                    self.pending_target = None;
                    self.snaps.clear();
                    self.recent.clear();
                    self.epoch = epoch;
                    self.set_vdl(now, vdl, pg_tails.into_iter().collect(), sent_at);
                    return outs;
                }
                self.on_stream(now, epoch, prev_vdl, vdl, records, pg_tails, sent_at)
            }
            Msg::Request { id, txn, op } => {
                if let Some(r) = self.exec(now, from, id, txn, op, &mut outs) {
                    outs.push(out(from, Msg::Reply { id, reply: r }));
                }
            }
            Msg::PageData { id, image } => self.on_page(now, id, image, &mut outs),
            Msg::StaleMembership {
                pg, current, read, ..
            } => {
                // Our view is older than the segment's: ask the metadata service and
                // retry the reads once it answers; otherwise retry the read now.
                if current > self.view.epoch(pg) {
                    outs.extend(self.view.request(now));
                } else if let Some(id) = read.filter(|id| self.fetches.contains_key(id)) {
                    self.send_fetch(now, id, &mut outs);
                }
            }
            Msg::MetaView { pgs, pgmap, .. } => {
                self.view.adopt_map(pgmap);
                for pg in self.view.adopt(pgs) {
                    self.events.push(EventKind::MembershipRefreshed {
                        pg,
                        mepoch: self.view.epoch(pg),
                    });
                    let ids: Vec<u64> = self.fetches.keys().copied().collect();
                    for id in ids {
                        self.send_fetch(now, id, &mut outs);
                    }
                }
            }
            _ => {}
        }
        outs
    }

    /// The control plane says a backtrack is under way: every open snapshot and cached
    /// page is about to be rewound, so close until the rewound stream arrives.
    pub fn close_for_backtrack(&mut self, min_dgen: Epoch) {
        if self.dgen >= min_dgen || self.closed_below >= min_dgen {
            return;
        }
        self.closed_below = min_dgen;
        self.cache.clear();
        self.snaps.clear();
        self.recent.clear();
    }

    #[allow(clippy::too_many_arguments)]
    fn on_stream(
        &mut self,
        now: SimTime,
        epoch: Epoch,
        prev_vdl: Lsn,
        vdl: Lsn,
        records: Vec<Record>,
        pg_tails: Vec<(PgId, Lsn)>,
        sent_at: SimTime,
    ) {
        if self.bugs.contains(&Bug::ReplicaBeyondVdl) && epoch >= self.epoch {
            self.apply_beyond_vdl(now, epoch, vdl, records, pg_tails, sent_at);
            return;
        }
        if epoch < self.epoch || vdl <= self.vdl {
            return;
        }
        // Bug `replica-stops-applying`: after 5 s the stream is ignored.
        if self.bugs.contains(&Bug::ReplicaStopsApplying) && now > 5_000 && self.vdl > Lsn::ZERO {
            return;
        }
        self.epoch = epoch;
        let tails: BTreeMap<PgId, Lsn> = pg_tails.into_iter().collect();
        if prev_vdl != self.target_vdl() {
            // Gap: drop the cache (and any partial apply) and jump.
            self.cache.clear();
            self.pending.clear();
            self.pending_target = None;
            self.set_vdl(now, vdl, tails, sent_at);
            return;
        }
        if self.bugs.contains(&Bug::ReplicaPartialMtr) {
            self.pending.extend(records);
            self.pending_target = Some((vdl, tails, sent_at));
            return;
        }
        for r in &records {
            self.apply(r);
        }
        self.set_vdl(now, vdl, tails, sent_at);
    }

    /// Bug `replica-beyond-vdl`: apply every streamed MTR at once and read at the
    /// highest LSN applied, whatever VDL the writer sent.
    fn apply_beyond_vdl(
        &mut self,
        now: SimTime,
        epoch: Epoch,
        vdl: Lsn,
        records: Vec<Record>,
        pg_tails: Vec<(PgId, Lsn)>,
        sent_at: SimTime,
    ) {
        self.epoch = epoch;
        let mut tails = self.tails.clone();
        for (pg, l) in pg_tails {
            let t = tails.entry(pg).or_default();
            *t = (*t).max(l);
        }
        let mut top = self.vdl.max(vdl);
        for r in &records {
            self.apply(r);
            let t = tails.entry(r.pg).or_default();
            *t = (*t).max(r.lsn);
            if r.cpl {
                top = top.max(r.lsn);
            }
        }
        if top > self.vdl {
            self.set_vdl(now, top, tails, sent_at);
        }
    }

    fn target_vdl(&self) -> Lsn {
        self.pending_target
            .as_ref()
            .map(|t| t.0)
            .unwrap_or(self.vdl)
    }

    fn apply(&mut self, r: &Record) {
        if let Some(c) = self.cache.get_mut(&r.page) {
            c.image.insert(r.key, (r.lsn, r.value.clone()));
            c.lsn = c.lsn.max(r.lsn);
        }
    }

    fn set_vdl(&mut self, now: SimTime, vdl: Lsn, tails: BTreeMap<PgId, Lsn>, sent_at: SimTime) {
        self.vdl = vdl;
        self.tails = tails;
        let lag = now.saturating_sub(sent_at);
        self.metrics.replica_lag(lag);
        self.metrics.vdl = vdl.0;
        self.events
            .push(EventKind::ReplicaApplied { vdl, lag_ms: lag });
    }

    /// The lowest LSN this replica may still read at: its open snapshots, its
    /// outstanding page reads, and its VDL.
    pub fn min_read_point(&self) -> Lsn {
        let snaps = self.snaps.values().map(|s| s.at);
        let fetches = self.fetches.values().map(|f| f.at);
        snaps.chain(fetches).fold(self.vdl, Lsn::min)
    }

    pub fn tick(&mut self, now: SimTime) -> Vec<Outbound> {
        let mut outs: Vec<Outbound> = self
            .view
            .poll(now, crate::topology::INSTANCE_POLL_MS)
            .into_iter()
            .collect();
        // Bug path: one record per tick, read point moved after each.
        if let Some(r) = self.pending.pop_front() {
            self.apply(&r);
            self.vdl = r.lsn;
            let pg = r.pg;
            self.tails.insert(pg, r.lsn);
        }
        if self.pending.is_empty() {
            if let Some((vdl, tails, sent)) = self.pending_target.take() {
                self.set_vdl(now, vdl, tails, sent);
            }
        }
        let late: Vec<u64> = self
            .fetches
            .iter()
            .filter(|(_, f)| f.deadline <= now)
            .map(|(i, _)| *i)
            .collect();
        for id in late {
            self.send_fetch(now, id, &mut outs);
        }
        if now >= self.next_report {
            self.next_report = now + 100;
            if let Some(w) = &self.writer {
                outs.push(out(
                    w.clone(),
                    Msg::ReadPoint {
                        lsn: self.min_read_point(),
                    },
                ));
            }
        }
        let idle: Vec<u64> = self
            .snaps
            .iter()
            .filter(|(_, s)| now.saturating_sub(s.last_active) > 10_000)
            .map(|(i, _)| *i)
            .collect();
        for i in idle {
            self.snaps.remove(&i);
        }
        outs
    }

    fn exec(
        &mut self,
        now: SimTime,
        from: &str,
        id: u64,
        txn: u64,
        op: ClientOp,
        outs: &mut Vec<Outbound>,
    ) -> Option<ClientReply> {
        match op {
            // The instance host turns it into a `Begin` (`crate::endpoints`).
            ClientOp::BeginVia { .. } => Some(ClientReply::Err(WireError::WrongEndpoint)),
            ClientOp::Begin { .. } => {
                // Not yet synced with a writer's stream since (re)start: reading at
                // LSN 0 would show an empty database, so refuse (definitely).
                if self.vdl == Lsn::ZERO || self.dgen < self.closed_below {
                    return Some(ClientReply::Err(WireError::Unavailable));
                }
                self.next_txn += 1;
                let (at, tails) = if self.bugs.contains(&Bug::ReplicaReusesSnapshot) {
                    // Bug: snapshots are shared through a small cache, and any cached
                    // one may be handed out again.
                    self.recent.push_back((self.vdl, self.tails.clone()));
                    if self.recent.len() > 8 {
                        self.recent.pop_front();
                    }
                    let i = (self.next_txn as usize * 5) % self.recent.len();
                    self.recent[i].clone()
                } else {
                    (self.vdl, self.tails.clone())
                };
                self.snaps.insert(
                    self.next_txn,
                    Snapshot {
                        at,
                        tails,
                        last_active: now,
                    },
                );
                Some(ClientReply::Begun { txn: self.next_txn })
            }
            ClientOp::Write { .. } | ClientOp::Append { .. } | ClientOp::Cas { .. } => {
                Some(ClientReply::Err(WireError::ReadOnly))
            }
            // Parallel query runs on the writer only (not modelled on replicas).
            ClientOp::Scan { .. } => Some(ClientReply::Err(WireError::Unavailable)),
            ClientOp::Commit | ClientOp::Abort => Some(match self.snaps.remove(&txn) {
                Some(_) => {
                    if matches!(op, ClientOp::Commit) {
                        ClientReply::Committed
                    } else {
                        ClientReply::Done
                    }
                }
                None => ClientReply::Err(WireError::UnknownTxn),
            }),
            ClientOp::Read { key } => {
                let Some(s) = self.snaps.get_mut(&txn) else {
                    return Some(ClientReply::Err(WireError::UnknownTxn));
                };
                s.last_active = now;
                // Bug `replica-mixed-snapshot`: each read at the replica's VDL of the moment.
                if self.bugs.contains(&Bug::ReplicaMixedSnapshot) {
                    (s.at, s.tails) = (self.vdl, self.tails.clone());
                }
                let (at, page) = (s.at, page_of(key));
                self.use_clock += 1;
                if let Some(c) = self.cache.get_mut(&page) {
                    let (lsn, v) = c.image.get(&key).cloned().unwrap_or_default();
                    if lsn <= at {
                        c.last_use = self.use_clock;
                        self.metrics.cache_hits += 1;
                        return Some(ClientReply::Value(v));
                    }
                }
                self.metrics.cache_misses += 1;
                // Auto-scaling: a page above this replica's PG map waits for the map.
                if !self.view.covers(page) {
                    outs.extend(self.view.request(now));
                    return Some(ClientReply::Err(WireError::Unavailable));
                }
                let pg = self.view.pg_of_page(page);
                let need = s.tails.get(&pg).copied().unwrap_or_default();
                self.next_id += 1;
                let cacheable =
                    at == self.vdl && self.pending.is_empty() && !self.cache.contains_key(&page);
                self.fetches.insert(
                    self.next_id,
                    Fetch {
                        from: from.to_string(),
                        req: id,
                        key,
                        pg,
                        at,
                        need,
                        tried: vec![],
                        deadline: 0,
                        cacheable,
                    },
                );
                self.send_fetch(now, self.next_id, outs);
                None
            }
        }
    }

    fn send_fetch(&mut self, now: SimTime, id: u64, outs: &mut Vec<Outbound>) {
        let f = self.fetches.get_mut(&id).unwrap();
        let members = self.view.get(f.pg).all();
        let target = match members.iter().find(|m| !f.tried.contains(m)) {
            Some(t) => t.clone(),
            None => {
                f.tried.clear();
                members[0].clone()
            }
        };
        f.tried.push(target.clone());
        f.deadline = now + self.read_timeout_ms;
        // Epoch 0: a replica snapshot read at a durable read point needs no fencing.
        outs.push(out(
            target,
            Msg::ReadPage {
                id,
                epoch: 0,
                pg: f.pg,
                mepoch: self.view.epoch(f.pg),
                page: page_of(f.key),
                at: f.at,
                need: f.need,
                dgen: self.dgen,
            },
        ));
    }

    fn on_page(
        &mut self,
        now: SimTime,
        id: u64,
        image: Option<PageImage>,
        outs: &mut Vec<Outbound>,
    ) {
        if !self.fetches.contains_key(&id) {
            return;
        }
        let Some(image) = image else {
            self.send_fetch(now, id, outs);
            return;
        };
        let f = self.fetches.remove(&id).unwrap();
        let v = image
            .get(&f.key)
            .map(|(_, v)| v.clone())
            .unwrap_or_default();
        outs.push(out(
            f.from,
            Msg::Reply {
                id: f.req,
                reply: ClientReply::Value(v),
            },
        ));
        let page = page_of(f.key);
        if f.cacheable
            && f.at == self.vdl
            && self.pending.is_empty()
            && !self.cache.contains_key(&page)
        {
            let lsn = image.values().map(|(l, _)| *l).max().unwrap_or_default();
            self.cache.insert(
                page,
                CachedPage {
                    image,
                    lsn,
                    last_use: self.use_clock,
                },
            );
            while self.cache.len() > self.cache_pages {
                let victim = self
                    .cache
                    .iter()
                    .min_by_key(|(_, c)| c.last_use)
                    .map(|(p, _)| *p)
                    .unwrap();
                self.cache.remove(&victim);
            }
        }
    }
}
