//! The writer instance: transactions, the redo pipeline (PGCL → VCL → VDL), the
//! buffer cache, replica streaming and volume recovery. Sans-IO.
//!
//! Pipeline: a commit allocates one LSN per written key (an MTR whose last record
//! is the CPL), links each record to the previous record of its PG, and queues it
//! for the 6 segments of its PG. Acks carry segment SCLs; PGCL is the 4th-highest
//! SCL of a PG; VCL is the highest LSN with every record at or below it at its
//! PGCL; VDL is the highest CPL at or below VCL. The commit is parked until
//! VDL ≥ its LSN, then acknowledged.

mod autoscale;
mod backtrack;
mod clone;
mod feed_fill;
mod membership;
pub(crate) mod pquery;
mod recovery;
mod rounds;
mod survivable;
mod txn;

use crate::bug::Bug;
use crate::event::EventKind;
use crate::metrics::InstanceMetrics;
use crate::quorum::Membership;
use crate::quorum::WRITE_QUORUM;
use crate::topology::MembershipView;
use crate::types::*;
use recovery::Recovery;
use std::collections::{BTreeMap, BTreeSet, VecDeque};
pub use txn::Txn;

#[derive(Clone, Debug)]
pub struct WriterConfig {
    pub lal: u64,
    pub cache_pages: usize,
    pub resend_ms: u64,
    pub hint_ms: u64,
    pub read_timeout_ms: u64,
    pub txn_idle_ms: u64,
    /// Report unhealthy (triggering failover) after this long without I/O progress.
    pub stall_ms: u64,
    pub bugs: BTreeSet<Bug>,
    pub isolation: crate::cluster::Isolation,
    /// The volume this instance's cluster runs on (0: its own; a clone's otherwise).
    pub volume: crate::branch::VolumeId,
    /// Global database: ship durable redo to secondary regions (`crate::region`).
    pub global: Option<crate::region::FeedConfig>,
    /// Storage auto-scaling: the volume's PG map starts bounded and grows (C23).
    pub autoscale: Option<crate::pgmap::AutoscaleConfig>,
}

impl Default for WriterConfig {
    fn default() -> Self {
        WriterConfig {
            lal: 1000,
            cache_pages: 64,
            resend_ms: 40,
            hint_ms: 100,
            read_timeout_ms: 30,
            txn_idle_ms: 10_000,
            stall_ms: 3000,
            bugs: BTreeSet::new(),
            isolation: crate::cluster::Isolation::Serializable,
            volume: 0,
            global: None,
            autoscale: None,
        }
    }
}

/// A cached page: key images with per-key LSNs; `lsn` is the page's newest write.
#[derive(Clone, Debug, Default)]
pub struct CachedPage {
    pub image: PageImage,
    pub lsn: Lsn,
    pub last_use: u64,
}

/// A client request parked until some condition (page loaded, VDL reached).
#[derive(Clone, Debug)]
pub(crate) struct Parked {
    pub from: String,
    pub id: u64,
    pub txn: u64,
    pub op: ClientOp,
}

struct Fetch {
    pg: PgId,
    page: PageId,
    at: Lsn,
    need: Lsn,
    tried: Vec<String>,
    deadline: SimTime,
    /// A snapshot read for this transaction (not a buffer-cache load).
    for_txn: Option<u64>,
}

#[derive(Debug, PartialEq, Eq)]
pub enum Phase {
    Recovering,
    Open,
    Fenced,
}

/// How long a replica's reported read point counts towards the minimum read point.
pub const READ_POINT_TTL_MS: SimTime = 2_000;

pub struct Writer {
    pub name: String,
    pub epoch: Epoch,
    pub phase: Phase,
    cfg: WriterConfig,
    /// Cached PG memberships; refreshed when storage refuses a stale membership epoch.
    pub(crate) view: MembershipView,
    recovery: Option<Recovery>,
    next_lsn: Lsn,
    pg_tail: BTreeMap<PgId, Lsn>,
    pg_durable_tail: BTreeMap<PgId, Lsn>,
    vcl_pending: Vec<(Lsn, PgId)>,
    unstable: BTreeMap<Lsn, (PgId, bool)>,
    inflight: BTreeMap<PgId, BTreeMap<Lsn, Record>>,
    outbox: BTreeMap<PgId, Vec<Record>>,
    seg_scl: BTreeMap<PgId, BTreeMap<String, Lsn>>,
    pub vcl: Lsn,
    pub vdl: Lsn,
    truncations: Vec<Truncation>,
    /// Every truncation range this writer's recovery decided (reads must never see inside).
    declared: Vec<Truncation>,
    cache: BTreeMap<PageId, CachedPage>,
    pins: BTreeMap<PageId, usize>,
    use_clock: u64,
    fetches: BTreeMap<u64, Fetch>,
    fetching: BTreeMap<PageId, u64>,
    next_id: u64,
    page_waiters: BTreeMap<PageId, Vec<Parked>>,
    snap_waiters: BTreeMap<u64, Parked>,
    vdl_waiters: BTreeMap<Lsn, Vec<Parked>>,
    lal_waiters: VecDeque<Parked>,
    commit_waiters: BTreeMap<Lsn, Vec<(String, u64, SimTime)>>,
    round_waiters: BTreeMap<u64, Vec<(String, u64, SimTime)>>,
    round_started: u64,
    round_acks: BTreeMap<u64, BTreeMap<PgId, BTreeSet<String>>>,
    pub(crate) txns: BTreeMap<u64, Txn>,
    next_txn: u64,
    stream_buf: BTreeMap<Lsn, Record>,
    stream_sent: Lsn,
    pub replicas: Vec<String>,
    next_resend: SimTime,
    last_now: SimTime,
    pub(crate) last_progress: SimTime,
    next_hint: SimTime,
    hinted_vdl: Lsn,
    /// Replicas' reported minimum read points, with the time of the report.
    replica_points: BTreeMap<String, (Lsn, SimTime)>,
    /// When recovery finished (replicas get `READ_POINT_TTL_MS` to report first).
    opened_at: SimTime,
    /// The minimum read point (PGMRPL) sent to storage with writes and hints.
    pub mrp: Lsn,
    /// A backtrack to perform while opening the volume (from the control plane).
    pub(crate) backtrack: Option<crate::volume::BacktrackJob>,
    /// A backtrack done, waiting for the control plane to record it: (job id, report).
    pub backtrack_done: Option<(u64, crate::volume::BacktrackDone)>,
    /// A clone's branch point taken for the control plane: (job id, branch).
    pub clone_point: Option<(u64, crate::branch::Branch)>,
    /// The lowest branch point of the volume's clones: the minimum read point sent to
    /// storage never rises above it.
    pub(crate) branch_floor: Option<Lsn>,
    /// Global database: the replication agent (created when the volume opens) and
    /// the switchover's read-only order.
    pub global: Option<crate::region::Feed>,
    pub global_read_only: bool,
    /// The agent's read of durable redo back from storage, in flight (`feed_fill`).
    fill: Option<feed_fill::Fill>,
    /// Bug `backtrack-skips-pg`: the PG never told about the deactivations.
    skip_deact_pg: Option<PgId>,
    pub events: Vec<EventKind>,
    pub metrics: InstanceMetrics,
    /// The survivable cache region's content at open, adopted when recovery ends.
    pub survived: Option<crate::survivable::CacheRegion>,
    /// Parallel queries in progress (`pquery`).
    pq: pquery::Scans,
    /// Auto-scaling: the highest page this writer logged a record on (only the bug
    /// `autoscale-pauses-writes` acts on it).
    page_hwm: PageId,
    /// Auto-scaling: a `MetaView` has arrived since this writer opened.
    map_read: bool,
}

impl Writer {
    /// A writer that opens the volume with `epoch`: it starts in recovery.
    pub fn open(
        name: String,
        epoch: Epoch,
        placement: BTreeMap<PgId, Membership>,
        cfg: WriterConfig,
        txn_base: u64,
    ) -> Self {
        let base = placement.len() as u32;
        let view = MembershipView::for_volume(placement, cfg.volume)
            .with_map(crate::pgmap::initial(base, cfg.autoscale));
        let mut w = Writer {
            name,
            epoch,
            phase: Phase::Recovering,
            cfg,
            view,
            recovery: None,
            next_lsn: Lsn(1),
            pg_tail: BTreeMap::new(),
            pg_durable_tail: BTreeMap::new(),
            vcl_pending: vec![],
            unstable: BTreeMap::new(),
            inflight: BTreeMap::new(),
            outbox: BTreeMap::new(),
            seg_scl: BTreeMap::new(),
            vcl: Lsn::ZERO,
            vdl: Lsn::ZERO,
            truncations: vec![],
            declared: vec![],
            cache: BTreeMap::new(),
            pins: BTreeMap::new(),
            use_clock: 0,
            fetches: BTreeMap::new(),
            fetching: BTreeMap::new(),
            next_id: 1,
            page_waiters: BTreeMap::new(),
            snap_waiters: BTreeMap::new(),
            vdl_waiters: BTreeMap::new(),
            lal_waiters: VecDeque::new(),
            commit_waiters: BTreeMap::new(),
            round_waiters: BTreeMap::new(),
            round_started: 0,
            round_acks: BTreeMap::new(),
            txns: BTreeMap::new(),
            next_txn: txn_base,
            stream_buf: BTreeMap::new(),
            stream_sent: Lsn::ZERO,
            replicas: vec![],
            next_resend: 0,
            last_now: 0,
            last_progress: 0,
            next_hint: 0,
            hinted_vdl: Lsn::ZERO,
            replica_points: BTreeMap::new(),
            opened_at: 0,
            mrp: Lsn::ZERO,
            backtrack: None,
            backtrack_done: None,
            global: None,
            global_read_only: false,
            fill: None,
            skip_deact_pg: None,
            clone_point: None,
            branch_floor: None,
            events: vec![],
            metrics: InstanceMetrics::default(),
            survived: None,
            pq: pquery::Scans::default(),
            page_hwm: 0,
            map_read: false,
        };
        w.events.push(EventKind::RecoveryStarted { epoch });
        w.recovery = Some(Recovery::new(epoch));
        w
    }

    pub fn is_open(&self) -> bool {
        self.phase == Phase::Open
    }

    fn quorum(&self) -> usize {
        if self.cfg.bugs.contains(&Bug::AckBeforeQuorum) {
            1
        } else if self.cfg.bugs.contains(&Bug::WriteQuorumFive) {
            5
        } else {
            WRITE_QUORUM
        }
    }

    pub fn handle(&mut self, now: SimTime, from: &str, msg: Msg) -> Vec<Outbound> {
        self.last_now = now;
        let mut outs = vec![];
        match msg {
            Msg::Request { id, txn, op } => {
                let p = Parked {
                    from: from.to_string(),
                    id,
                    txn,
                    op,
                };
                if let Some(r) = self.exec(now, p.clone(), &mut outs) {
                    outs.push(out(p.from, Msg::Reply { id, reply: r }));
                }
            }
            Msg::WriteAck {
                epoch,
                pg,
                seg,
                scl,
                round,
            } if epoch == self.epoch => {
                if self.phase != Phase::Open {
                    return outs;
                }
                let e = self
                    .seg_scl
                    .entry(pg)
                    .or_default()
                    .entry(seg.clone())
                    .or_default();
                *e = (*e).max(scl);
                if round > 0 {
                    self.note_round_ack(now, round, pg, seg, &mut outs);
                }
                self.advance(now, pg, &mut outs);
            }
            Msg::ReadPoint { lsn } => {
                self.replica_points.insert(from.to_string(), (lsn, now));
            }
            Msg::GShipAck {
                gepoch,
                received,
                durable,
                ..
            } => {
                if let Some(g) = self.global.as_mut() {
                    g.on_ack(now, from, gepoch, received, durable);
                }
            }
            Msg::GFetched {
                id,
                pg,
                seg,
                records,
            } => self.on_fetched(id, pg, seg, records),
            Msg::Rejected { current, .. } if current > self.epoch => {
                self.fence(now, &mut outs);
            }
            Msg::StaleMembership {
                pg, current, read, ..
            } => self.on_stale_membership(now, pg, current, read, &mut outs),
            Msg::MetaView { pgs, pgmap, .. } => self.on_meta_view(now, pgs, pgmap, &mut outs),
            Msg::PageData { id, image } => self.on_page(now, id, from, image, &mut outs),
            Msg::PqResult { id, result } => self.pq_on_result(now, id, result, &mut outs),
            Msg::RecoverState { .. } | Msg::RecoverCommitted { .. } => {
                self.on_recovery_msg(now, from, msg, &mut outs);
            }
            _ => {}
        }
        outs
    }

    /// Storage refused our epoch: a newer writer exists. Stop, answer every parked request.
    pub fn fence(&mut self, _now: SimTime, outs: &mut Vec<Outbound>) {
        if self.phase == Phase::Fenced {
            return;
        }
        self.phase = Phase::Fenced;
        self.events.push(EventKind::Fenced { epoch: self.epoch });
        for (_, ws) in std::mem::take(&mut self.commit_waiters) {
            for (from, id, _) in ws {
                outs.push(out(
                    from,
                    Msg::Reply {
                        id,
                        reply: ClientReply::Err(WireError::Indeterminate),
                    },
                ));
            }
        }
        let mut parked: Vec<Parked> = std::mem::take(&mut self.lal_waiters).into_iter().collect();
        parked.extend(
            std::mem::take(&mut self.vdl_waiters)
                .into_values()
                .flatten(),
        );
        parked.extend(
            std::mem::take(&mut self.page_waiters)
                .into_values()
                .flatten(),
        );
        parked.extend(std::mem::take(&mut self.snap_waiters).into_values());
        for p in parked {
            outs.push(out(
                p.from,
                Msg::Reply {
                    id: p.id,
                    reply: ClientReply::Err(WireError::NotWriter),
                },
            ));
        }
        for (_, ws) in std::mem::take(&mut self.round_waiters) {
            for (from, id, _) in ws {
                outs.push(out(
                    from,
                    Msg::Reply {
                        id,
                        reply: ClientReply::Err(WireError::Unavailable),
                    },
                ));
            }
        }
        self.txns.clear();
    }

    /// Recompute PGCL for `pg`, then VCL and VDL; wake what VDL unblocks.
    fn advance(&mut self, now: SimTime, pg: PgId, outs: &mut Vec<Outbound>) {
        let pgcl = {
            self.view.get(pg).pgcl(
                self.seg_scl.get(&pg).unwrap_or(&BTreeMap::new()),
                self.quorum(),
            )
        };
        if let Some(inf) = self.inflight.get_mut(&pg) {
            *inf = inf.split_off(&pgcl.next());
        }
        let _ = pgcl;
        let old_vdl = self.vdl;
        loop {
            let Some((&lsn, &(rpg, cpl))) = self.unstable.iter().next() else {
                break;
            };
            let rpgcl = if rpg == pg { pgcl } else { self.pgcl_of(rpg) };
            if lsn > rpgcl {
                break;
            }
            self.unstable.remove(&lsn);
            self.vcl = lsn;
            self.vcl_pending.push((lsn, rpg));
            if cpl {
                self.vdl = lsn;
                for (l, p) in self.vcl_pending.drain(..) {
                    self.pg_durable_tail.insert(p, l);
                }
            }
        }
        if self.vdl > old_vdl {
            self.last_progress = now;
            self.events.push(EventKind::VdlAdvanced {
                epoch: self.epoch,
                vdl: self.vdl,
            });
            self.on_vdl(now, outs);
        }
        if self.cfg.bugs.contains(&Bug::CommitBeforeVdl) {
            self.ack_before_vdl(now, outs);
        }
    }

    pub(crate) fn pgcl_of(&self, pg: PgId) -> Lsn {
        self.view.get(pg).pgcl(
            self.seg_scl.get(&pg).unwrap_or(&BTreeMap::new()),
            self.quorum(),
        )
    }

    fn on_vdl(&mut self, now: SimTime, outs: &mut Vec<Outbound>) {
        // Managed RPO: durable commits wait while every secondary lags too much.
        let gate = self.global.as_ref().map_or(Lsn(u64::MAX), |g| {
            if g.rpo_ok(now) {
                Lsn(u64::MAX)
            } else {
                Lsn::ZERO
            }
        });
        let rest = self.commit_waiters.split_off(&self.vdl.min(gate).next());
        for (lsn, ws) in std::mem::replace(&mut self.commit_waiters, rest) {
            for (from, id, started) in ws {
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
        let rest = self.vdl_waiters.split_off(&self.vdl.next());
        let ready: Vec<Parked> = std::mem::replace(&mut self.vdl_waiters, rest)
            .into_values()
            .flatten()
            .collect();
        for p in ready {
            self.rerun(now, p, outs);
        }
        let lal: Vec<Parked> = self.lal_waiters.drain(..).collect();
        for p in lal {
            self.rerun(now, p, outs);
        }
        self.evict();
    }

    pub(crate) fn rerun(&mut self, now: SimTime, p: Parked, outs: &mut Vec<Outbound>) {
        let (from, id) = (p.from.clone(), p.id);
        if let Some(r) = self.exec(now, p, outs) {
            outs.push(out(from, Msg::Reply { id, reply: r }));
        }
    }

    /// Allocate and queue an MTR (one record per write, last one the CPL). Returns the CPL's LSN.
    pub(crate) fn allocate_mtr(&mut self, writes: &BTreeMap<u64, Datum>) -> Lsn {
        let n = writes.len();
        let mut last = Lsn::ZERO;
        for (i, (key, value)) in writes.iter().enumerate() {
            let lsn = self.next_lsn;
            self.next_lsn = lsn.next();
            let page = page_of(*key);
            self.page_hwm = self.page_hwm.max(page);
            let pg = self.view.pg_of_page(page);
            let prev = self.pg_tail.get(&pg).copied().unwrap_or_default();
            self.pg_tail.insert(pg, lsn);
            let rec = Record {
                lsn,
                prev,
                pg,
                epoch: self.epoch,
                page,
                key: *key,
                value: value.clone(),
                cpl: i + 1 == n,
                at: self.last_now,
                checksum: 0,
            }
            .seal();
            self.events.push(EventKind::LsnAllocated {
                lsn,
                vdl: self.vdl,
                lal: self.cfg.lal,
            });
            let cp = self.cache.entry(page).or_default();
            cp.image.insert(*key, (lsn, value.clone()));
            cp.lsn = cp.lsn.max(lsn);
            self.unstable.insert(lsn, (pg, rec.cpl));
            self.inflight
                .entry(pg)
                .or_default()
                .insert(lsn, rec.clone());
            self.outbox.entry(pg).or_default().push(rec.clone());
            self.stream_buf.insert(lsn, rec);
            last = lsn;
        }
        last
    }

    pub(crate) fn lal_allows(&self, n: usize) -> bool {
        self.cfg.bugs.contains(&Bug::NoLal)
            || self.next_lsn.0 + n as u64 - 1 <= self.vdl.0 + self.cfg.lal
    }

    /// Health check: storage I/O outstanding with no VDL progress for `stall_ms`.
    pub fn stalled(&self, now: SimTime) -> bool {
        self.phase == Phase::Open && now.saturating_sub(self.last_progress) > self.cfg.stall_ms
    }

    pub fn tick(&mut self, now: SimTime) -> Vec<Outbound> {
        self.last_now = now;
        if self.unstable.is_empty() && self.round_waiters.is_empty() && self.fetches.is_empty() {
            self.last_progress = now;
        }
        let mut outs: Vec<Outbound> = self
            .view
            .poll(now, crate::topology::INSTANCE_POLL_MS)
            .into_iter()
            .collect();
        if self.phase == Phase::Recovering {
            self.recovery_tick(now, &mut outs);
            return outs;
        }
        if self.phase != Phase::Open {
            return outs;
        }
        self.mrp = self
            .min_read_point(now)
            .min(self.branch_floor.unwrap_or(Lsn(u64::MAX)));
        outs.extend(self.flush());
        self.global_tick(now, &mut outs);
        if now >= self.next_resend {
            self.next_resend = now + self.cfg.resend_ms;
            self.resend(&mut outs);
            self.retry_fetches(now, &mut outs);
            self.pq_retry(now, &mut outs);
            self.resend_round(&mut outs);
        }
        if now >= self.next_hint {
            self.next_hint = now + self.cfg.hint_ms;
            if self.hinted_vdl < self.vdl || !self.round_waiters.is_empty() {
                self.hinted_vdl = self.vdl;
                self.start_round(&mut outs);
            }
            self.expire_txns(now);
            // Keepalive: lets a (re)started replica sync to the current VDL even when
            // no commit is flowing; up-to-date replicas ignore it.
            for r in &self.replicas {
                outs.push(out(
                    r.clone(),
                    Msg::Stream {
                        epoch: self.epoch,
                        prev_vdl: self.stream_sent,
                        vdl: self.stream_sent,
                        records: vec![],
                        pg_tails: self.pg_durable_tail.iter().map(|(p, l)| (*p, *l)).collect(),
                        sent_at: now,
                        dgen: deact_gen(&self.truncations),
                    },
                ));
            }
        }
        outs
    }

    /// Ship queued records, one message per segment per PG (group commit), and stream
    /// newly durable MTRs to replicas.
    pub fn flush(&mut self) -> Vec<Outbound> {
        let mut outs = vec![];
        if self.phase != Phase::Open {
            return outs;
        }
        for (pg, recs) in std::mem::take(&mut self.outbox) {
            self.send_records(pg, recs, None, &mut outs);
        }
        self.stream(self.last_now, &mut outs);
        outs
    }

    fn send_records(
        &self,
        pg: PgId,
        recs: Vec<Record>,
        only: Option<&[String]>,
        outs: &mut Vec<Outbound>,
    ) {
        let members = self.view.get(pg).all();
        for m in members {
            if only.map(|o| !o.contains(&m)).unwrap_or(false) {
                continue;
            }
            outs.push(out(
                m,
                Msg::Write {
                    epoch: self.epoch,
                    pg,
                    mepoch: self.view.epoch(pg),
                    records: recs.clone(),
                    vdl: self.vdl,
                    mrp: self.mrp,
                    truncations: self.truncations_for(pg),
                },
            ));
        }
    }

    /// Resend records not yet below a segment's SCL (bounded), for PGs not at quorum.
    fn resend(&mut self, outs: &mut Vec<Outbound>) {
        let pgs: Vec<PgId> = self
            .inflight
            .iter()
            .filter(|(_, m)| !m.is_empty())
            .map(|(p, _)| *p)
            .collect();
        for pg in pgs {
            let members = self.view.get(pg).all();
            for m in members {
                let scl = self
                    .seg_scl
                    .get(&pg)
                    .and_then(|s| s.get(&m))
                    .copied()
                    .unwrap_or_default();
                let recs: Vec<Record> = self.inflight[&pg]
                    .range(scl.next()..)
                    .take(128)
                    .map(|(_, r)| r.clone())
                    .collect();
                if !recs.is_empty() {
                    self.send_records(pg, recs, Some(std::slice::from_ref(&m)), outs);
                }
            }
        }
    }

    /// Stream whole MTRs up to VDL, plus the VDL, to every replica.
    fn stream(&mut self, now: SimTime, outs: &mut Vec<Outbound>) {
        // Bug `replica-beyond-vdl`: records are shipped as they are allocated.
        let eager = self.cfg.bugs.contains(&Bug::ReplicaBeyondVdl) && !self.stream_buf.is_empty();
        if self.vdl <= self.stream_sent && !eager {
            return;
        }
        let upto = if eager { Lsn(u64::MAX - 1) } else { self.vdl };
        let rest = self.stream_buf.split_off(&upto.next());
        let records: Vec<Record> = std::mem::replace(&mut self.stream_buf, rest)
            .into_values()
            .collect();
        let pg_tails: Vec<(PgId, Lsn)> =
            self.pg_durable_tail.iter().map(|(p, l)| (*p, *l)).collect();
        for r in &self.replicas {
            outs.push(out(
                r.clone(),
                Msg::Stream {
                    epoch: self.epoch,
                    prev_vdl: self.stream_sent,
                    vdl: self.vdl,
                    records: records.clone(),
                    pg_tails: pg_tails.clone(),
                    sent_at: now,
                    dgen: deact_gen(&self.truncations),
                },
            ));
        }
        if self.cfg.global.is_some() {
            let base = self.stream_sent;
            let cfg = self.cfg.global.clone().unwrap();
            let g = self.global.get_or_insert_with(|| {
                crate::region::Feed::new(cfg, 0, Lsn::ZERO, base, base, BTreeMap::new())
            });
            g.on_durable(&records, self.vdl, now);
        }
        self.stream_sent = self.vdl;
    }

    /// Global database: run the agent, and acknowledge commits the managed-RPO gate held.
    fn global_tick(&mut self, now: SimTime, outs: &mut Vec<Outbound>) {
        let Some(g) = self.global.as_mut() else {
            return;
        };
        g.read_only = self.global_read_only;
        g.quiet = self.commit_waiters.is_empty() && self.unstable.is_empty();
        outs.extend(g.tick(now));
        self.events.append(&mut g.events);
        self.fill_tick(now, outs);
        let Some(g) = self.global.as_mut() else {
            return;
        };
        let held = self
            .commit_waiters
            .keys()
            .next()
            .is_some_and(|l| *l <= self.vdl);
        if held && g.rpo_ok(now) {
            self.on_vdl(now, outs);
        }
    }

    /// The truncations sent to a PG with every write (bug `backtrack-skips-pg`
    /// withholds the deactivations from one PG).
    pub(crate) fn truncations_for(&self, pg: PgId) -> Vec<Truncation> {
        let mut ts = self.truncations.clone();
        if self.skip_deact_pg == Some(pg) {
            ts.retain(|t| !t.keep);
        }
        ts
    }

    pub fn cache_len(&self) -> usize {
        self.cache.len()
    }
}
