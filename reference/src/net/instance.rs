//! A database instance host: writer, replica, or idle (waiting for its role from
//! the control plane). Heartbeats carry its role; `Assign` replies switch it.
//! A fenced writer drops its volatile state and rejoins as whatever it is told.

use super::Node;
use crate::bug::Bug;
use crate::event::EventKind;
use crate::metrics::InstanceMetrics;
use crate::quorum::Membership;
use crate::replica::Replica;
use crate::types::*;
use crate::writer::{Phase, Writer, WriterConfig};
use std::cell::Cell;
use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;

pub enum Core {
    Idle,
    Writer(Box<Writer>),
    Replica(Box<Replica>),
}

pub struct InstanceHost {
    pub name: String,
    pub core: Core,
    /// The memberships a new writer or replica core starts from: the volume's
    /// placement, then whatever the previous core had learned.
    placement: BTreeMap<PgId, Membership>,
    wcfg: WriterConfig,
    bugs: BTreeSet<Bug>,
    heartbeat_ms: u64,
    next_hb: SimTime,
    /// Durable incarnation counter: keeps transaction ids unique across restarts.
    incarnation: Rc<Cell<u64>>,
    events: Vec<EventKind>,
    base_metrics: InstanceMetrics,
    clients: BTreeMap<String, SimTime>,
    /// Serverless v2 capacity, queue and scaler (None: a provisioned instance).
    capacity: Option<crate::serverless::Capacity>,
    /// CloudWatch-style published series and the wait breakdown.
    published: super::published::Published,
    /// The survivable buffer cache's memory region (outlives this process), if enabled.
    region: Option<crate::survivable::RegionHandle>,
    /// Custom endpoint definitions, to check a session opened through one (static config).
    endpoints: BTreeMap<String, crate::endpoints::CustomEndpoint>,
}

impl InstanceHost {
    pub fn new(
        name: String,
        placement: BTreeMap<PgId, Membership>,
        wcfg: WriterConfig,
        heartbeat_ms: u64,
        incarnation: Rc<Cell<u64>>,
    ) -> Self {
        let bugs = wcfg.bugs.clone();
        let count_attempts = bugs.contains(&Bug::MetricsCountAttempts);
        InstanceHost {
            name,
            core: Core::Idle,
            placement,
            wcfg,
            bugs,
            heartbeat_ms,
            next_hb: 0,
            incarnation,
            events: vec![],
            base_metrics: InstanceMetrics::default(),
            clients: BTreeMap::new(),
            capacity: None,
            published: super::published::Published::new(count_attempts),
            region: None,
            endpoints: BTreeMap::new(),
        }
    }

    /// Keep the writer's buffer cache in `region`, which survives process restarts.
    pub fn with_region(mut self, region: Option<crate::survivable::RegionHandle>) -> Self {
        self.region = region;
        self
    }

    fn save_cache(&self) {
        if let (Core::Writer(w), Some(r)) = (&self.core, &self.region) {
            w.save_cache(&mut r.borrow_mut());
        }
    }

    /// Makes this a Serverless v2 instance; `follows_writer` for replicas in tiers 0-1.
    pub fn with_serverless(
        mut self,
        cfg: crate::serverless::ServerlessConfig,
        follows_writer: bool,
    ) -> Self {
        let c = crate::serverless::Capacity::new(
            cfg,
            follows_writer,
            self.bugs.contains(&Bug::ServerlessSlowScale),
        );
        self.wcfg.cache_pages = c.cache_pages();
        self.capacity = Some(c);
        self.published.track_sessions = true;
        self
    }

    fn core_commits(&self) -> u64 {
        match &self.core {
            Core::Writer(w) => w.metrics.commits,
            Core::Replica(r) => r.metrics.commits,
            Core::Idle => 0,
        }
    }

    /// Hands one message to the core, accounting for what it acknowledged and sent.
    fn dispatch(&mut self, now: SimTime, from: &str, msg: Msg) -> Vec<Outbound> {
        self.published.on_dispatch(from, &msg);
        let before = self.core_commits();
        let outs = match &mut self.core {
            Core::Writer(w) => w.handle(now, from, msg),
            Core::Replica(r) => r.handle(now, from, msg),
            Core::Idle => match msg {
                Msg::Request { id, .. } => vec![out(
                    from,
                    Msg::Reply {
                        id,
                        reply: ClientReply::Err(WireError::Unavailable),
                    },
                )],
                _ => vec![],
            },
        };
        let n = self.core_commits().saturating_sub(before);
        self.published.on_core_output(now, n, &outs);
        outs
    }

    /// Serverless: serve every queued request whose service time has passed, then flush.
    fn serve_due(&mut self, now: SimTime) -> Vec<Outbound> {
        let due = match &mut self.capacity {
            Some(c) => c.served(now),
            None => return vec![],
        };
        if due.is_empty() {
            return vec![];
        }
        let mut outs = Vec::new();
        for (from, msg) in due {
            outs.extend(self.dispatch(now, &from, msg));
        }
        outs.extend(self.flush_core(now));
        outs
    }

    fn flush_core(&mut self, now: SimTime) -> Vec<Outbound> {
        let before = self.core_commits();
        let outs = match &mut self.core {
            Core::Writer(w) => w.flush(),
            _ => vec![],
        };
        let n = self.core_commits().saturating_sub(before);
        self.published.on_core_output(now, n, &outs);
        outs
    }

    /// Serverless: the scaler's step, the cache bound, and the writer's capacity sent to
    /// its replicas (on a change and with every heartbeat).
    fn scale(&mut self, now: SimTime, heartbeat: bool) -> Vec<Outbound> {
        let Some(c) = &mut self.capacity else {
            return vec![];
        };
        let changed = c.scale(now).is_some();
        let (pages, half, queued) = (c.cache_pages(), c.half_acus, c.queued());
        self.published.sample(queued);
        let mut outs = Vec::new();
        if changed {
            self.wcfg.cache_pages = pages;
            match &mut self.core {
                Core::Writer(w) => w.set_cache_pages(pages),
                Core::Replica(r) => r.set_cache_pages(pages),
                Core::Idle => {}
            }
            if self.bugs.contains(&Bug::ServerlessDropsConnections) {
                for (from, msg) in self.capacity.as_mut().unwrap().drop_queued() {
                    if let Msg::Request { id, .. } = msg {
                        self.published.forget(&from, id);
                        outs.push(out(
                            &from,
                            Msg::Reply {
                                id,
                                reply: ClientReply::Err(WireError::Unavailable),
                            },
                        ));
                    }
                }
                self.clients.clear();
            }
        }
        if let (true, Core::Writer(w)) = (changed || heartbeat, &self.core) {
            for r in &w.replicas {
                outs.push(out(r, Msg::Capacity { half_acus: half }));
            }
        }
        outs
    }

    /// The cluster's custom endpoint definitions ([`crate::endpoints`]).
    pub fn with_endpoints(
        mut self,
        endpoints: BTreeMap<String, crate::endpoints::CustomEndpoint>,
    ) -> Self {
        self.endpoints = endpoints;
        self
    }

    /// A `BeginVia`: refuse it when this instance may not serve the endpoint in its current
    /// role (a READER endpoint reaching the writer; an unknown endpoint), else begin as usual
    /// and record what served it (the server side's record for C24).
    fn begin_via(
        &mut self,
        now: SimTime,
        from: &str,
        id: u64,
        read_only: bool,
        endpoint: String,
    ) -> Vec<Outbound> {
        let writer = matches!(self.core, Core::Writer(_));
        let admitted = self
            .endpoints
            .get(&endpoint)
            .is_some_and(|e| e.admits(writer, &self.bugs));
        if !admitted {
            self.events.push(EventKind::CustomRefused { endpoint });
            let reply = ClientReply::Err(WireError::WrongEndpoint);
            return vec![out(from, Msg::Reply { id, reply })];
        }
        let begin = Msg::Request {
            id,
            txn: 0,
            op: ClientOp::Begin { read_only },
        };
        let outs = self.handle(now, from, begin);
        for o in &outs {
            if let Msg::Reply {
                id: rid,
                reply: ClientReply::Begun { txn },
            } = &o.msg
            {
                if *rid == id {
                    self.events.push(EventKind::CustomServed {
                        endpoint: endpoint.clone(),
                        txn: *txn,
                        writer,
                    });
                }
            }
        }
        outs
    }

    fn txn_base(&self) -> u64 {
        self.incarnation.set(self.incarnation.get() + 1);
        self.incarnation.get() << 32
    }

    fn role(&self) -> Role {
        match &self.core {
            Core::Idle => Role::Unknown,
            Core::Writer(w) if w.phase == Phase::Fenced => Role::Unknown,
            Core::Writer(w) => Role::Writer { epoch: w.epoch },
            Core::Replica(_) => Role::Replica { writer: None },
        }
    }

    fn switch(&mut self, core: Core) {
        let old = std::mem::replace(&mut self.core, core);
        match old {
            Core::Writer(mut w) => {
                self.placement = w.view.memberships().clone();
                self.events.append(&mut w.events);
                self.base_metrics.absorb(&w.metrics);
            }
            Core::Replica(mut r) => {
                self.placement = r.view.memberships().clone();
                self.events.append(&mut r.events);
                self.base_metrics.absorb(&r.metrics);
            }
            Core::Idle => {}
        }
    }

    fn on_assign(
        &mut self,
        now: SimTime,
        role: Role,
        replicas: Vec<String>,
        backtrack: Option<crate::volume::BacktrackJob>,
    ) {
        match role {
            Role::Writer { epoch } => {
                let same = matches!(&self.core, Core::Writer(w) if w.epoch == epoch && w.phase != Phase::Fenced);
                if !same {
                    let base = self.txn_base();
                    let mut w = Writer::open(
                        self.name.clone(),
                        epoch,
                        self.placement.clone(),
                        self.wcfg.clone(),
                        base,
                    );
                    w.set_backtrack(backtrack.clone());
                    w.survived = self.region.as_ref().map(|r| r.borrow().clone());
                    self.switch(Core::Writer(Box::new(w)));
                }
                if let Core::Writer(w) = &mut self.core {
                    w.replicas = replicas;
                    // The control plane recorded the backtrack: the volume may open.
                    if backtrack.is_none() {
                        w.backtrack_acked(now);
                    }
                }
            }
            Role::Replica { .. } => {
                if let (Some(job), Core::Replica(r)) = (&backtrack, &mut self.core) {
                    r.close_for_backtrack(job.min_dgen);
                }
                if !matches!(self.core, Core::Replica(_)) {
                    if matches!(self.core, Core::Writer(_)) {
                        self.events.push(EventKind::Demoted {
                            host: self.name.clone(),
                        });
                    }
                    let base = self.txn_base();
                    let mut r = Replica::new(
                        self.name.clone(),
                        self.placement.clone(),
                        self.wcfg.cache_pages,
                        self.wcfg.read_timeout_ms,
                        self.bugs.clone(),
                        base,
                    );
                    r.view = crate::topology::MembershipView::for_volume(
                        self.placement.clone(),
                        self.wcfg.volume,
                    )
                    .with_map(crate::pgmap::initial(
                        self.placement.len() as u32,
                        self.wcfg.autoscale,
                    ));
                    self.switch(Core::Replica(Box::new(r)));
                }
            }
            Role::Unknown => {}
        }
    }

    fn vdl(&self) -> Lsn {
        match &self.core {
            Core::Writer(w) => w.vdl,
            Core::Replica(r) => r.vdl,
            Core::Idle => Lsn::ZERO,
        }
    }
}

impl Node for InstanceHost {
    fn name(&self) -> &str {
        &self.name
    }

    fn handle(&mut self, now: SimTime, from: &str, msg: Msg) -> Vec<Outbound> {
        if let Msg::Assign {
            role,
            replicas,
            backtrack,
            clone,
            branch_floor,
        } = msg
        {
            self.on_assign(now, role, replicas, backtrack);
            if let Core::Writer(w) = &mut self.core {
                w.on_clone_assign(now, clone, branch_floor);
            }
            return vec![];
        }
        if matches!(msg, Msg::GReadOnly) {
            if let Core::Writer(w) = &mut self.core {
                w.global_read_only = true;
            }
            return vec![];
        }
        if let Msg::Capacity { half_acus } = msg {
            if let Some(c) = &mut self.capacity {
                c.writer_capacity(now, half_acus);
            }
            return vec![];
        }
        if let Msg::Request {
            id,
            op:
                ClientOp::BeginVia {
                    read_only,
                    endpoint,
                },
            ..
        } = msg
        {
            return self.begin_via(now, from, id, read_only, endpoint);
        }
        if matches!(msg, Msg::Request { .. }) {
            self.clients.insert(from.to_string(), now);
            self.published.on_arrival(now, &msg);
        }
        // Global switchover: a read-only writer refuses writes (reads still run).
        if let (Core::Writer(w), Msg::Request { id, op, .. }) = (&self.core, &msg) {
            let write = matches!(
                op,
                ClientOp::Write { .. }
                    | ClientOp::Append { .. }
                    | ClientOp::Cas { .. }
                    | ClientOp::Begin { read_only: false }
            );
            if w.global_read_only && write {
                return vec![out(
                    from,
                    Msg::Reply {
                        id: *id,
                        reply: ClientReply::Err(WireError::ReadOnly),
                    },
                )];
            }
        }
        // Serverless: a client request waits its turn in the service-time model.
        if let (Some(c), Msg::Request { .. }) = (&mut self.capacity, &msg) {
            c.admit(now, from.to_string(), msg);
            return vec![];
        }
        self.dispatch(now, from, msg)
    }

    fn tick(&mut self, now: SimTime) -> Vec<Outbound> {
        let before = self.core_commits();
        let mut outs = match &mut self.core {
            Core::Writer(w) => w.tick(now),
            Core::Replica(r) => r.tick(now),
            Core::Idle => vec![],
        };
        let n = self.core_commits().saturating_sub(before);
        self.published.on_core_output(now, n, &outs);
        if self.capacity.is_some() {
            outs.extend(self.serve_due(now));
            let hb = now >= self.next_hb;
            outs.extend(self.scale(now, hb));
        }
        if now >= self.next_hb {
            self.next_hb = now + self.heartbeat_ms;
            outs.push(out(
                crate::branch::control_host(self.wcfg.volume),
                Msg::Heartbeat {
                    role: self.role(),
                    epoch: 0,
                    vdl: self.vdl(),
                    stalled: matches!(&self.core, Core::Writer(w) if w.stalled(now)),
                    backtracked: match &self.core {
                        Core::Writer(w) => w.backtrack_done.clone(),
                        _ => None,
                    },
                    cloned: match &self.core {
                        Core::Writer(w) => w.clone_point.clone(),
                        _ => None,
                    },
                },
            ));
            self.clients.retain(|_, t| now.saturating_sub(*t) < 5_000);
        }
        self.save_cache();
        outs
    }

    fn flush(&mut self, now: SimTime) -> Vec<Outbound> {
        let outs = self.flush_core(now);
        self.save_cache();
        outs
    }

    fn deadline(&self) -> Option<SimTime> {
        self.capacity.as_ref().and_then(|c| c.deadline())
    }

    fn wake(&mut self, now: SimTime) -> Vec<Outbound> {
        self.serve_due(now)
    }

    fn take_events(&mut self) -> Vec<EventKind> {
        let mut e = std::mem::take(&mut self.events);
        match &mut self.core {
            Core::Writer(w) => e.append(&mut w.events),
            Core::Replica(r) => e.append(&mut r.events),
            Core::Idle => {}
        }
        e
    }

    fn core_metrics(&self) -> InstanceMetrics {
        let mut m = self.base_metrics.clone();
        let (role, cm) = match &self.core {
            Core::Writer(w) => ("writer", Some(&w.metrics)),
            Core::Replica(r) => ("replica", Some(&r.metrics)),
            Core::Idle => ("idle", None),
        };
        if let Some(cm) = cm {
            m.absorb(cm);
            m.replica_lag_ms_last = cm.replica_lag_ms_last;
        }
        m.role = role.to_string();
        m.vdl = self.vdl().0;
        m.connections = self.clients.len() as u64;
        if let Some(c) = &self.capacity {
            m.half_acus = c.half_acus;
            m.capacity_changes = c.changes.clone();
            m.cache_pages = c.cache_pages() as u64;
        }
        self.published.fill(&mut m);
        m
    }
}
