//! Control plane: health monitoring, failover, role assignment and the name service
//! behind the endpoints. Sans-IO.
//!
//! Instances heartbeat; the reply assigns their role. The designated writer and the
//! volume epoch are durable. When the writer has been silent for the failover
//! timeout (or a failover is requested), the healthy replica with the lowest
//! promotion tier wins (ties: larger size, then name); the epoch is bumped and the
//! winner opens the volume with it. The old writer, when heard from again, is told
//! to be a replica (storage has fenced it by then). With no healthy replica the
//! writer is recreated in place when it comes back.

use crate::event::EventKind;
use crate::types::*;
use crate::volume::BacktrackStatus;
use serde::{Deserialize, Serialize};
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstanceSpec {
    pub name: String,
    /// Promotion tier 0-15; lower wins.
    pub tier: u8,
    /// Instance size (e.g. vCPUs); larger wins ties.
    pub size: u32,
}

#[derive(Clone, Debug, Default)]
pub struct ControlDisk {
    pub epoch: Epoch,
    pub writer: Option<String>,
    pub failover_requested: bool,
    /// Storage hosts whose segments should be replaced (membership change).
    pub replace_requests: Vec<String>,
    /// The volume's timeline (eras begun by backtracks).
    pub timeline: crate::volume::Timeline,
    /// The backtrack in progress, and whether a writer epoch was opened for it.
    pub backtrack: Option<(crate::volume::BacktrackJob, bool)>,
    /// Finished backtrack requests by id (done or rejected), for idempotent replies.
    pub backtracks: BTreeMap<u64, crate::volume::BacktrackStatus>,
    /// The clone request waiting for the writer's branch point.
    pub clone_job: Option<u64>,
    /// Clone requests by id (pending registration, done or rejected).
    pub clones: BTreeMap<u64, crate::branch::CloneStatus>,
    /// The clones' branch points, by volume number (1, 2, ...).
    pub branches: Vec<crate::branch::Branch>,
    /// Clone volume -> the request that made it.
    pub clone_ids: BTreeMap<u32, u64>,
    /// Clones the metadata service has acknowledged.
    pub registered: std::collections::BTreeSet<u32>,
    /// Global database: the writer's VDL as last heard (what this region held).
    pub global_vdl: Lsn,
}

pub struct ControlConfig {
    pub failover_timeout_ms: u64,
    /// Replace a segment whose node has not reported for this long (0: never).
    pub repair_timeout_ms: u64,
    pub bugs: std::collections::BTreeSet<crate::bug::Bug>,
    pub dns_ttl_ms: u64,
    /// Custom endpoints by name ([`crate::endpoints`]).
    pub custom: BTreeMap<String, crate::endpoints::CustomEndpoint>,
    /// Backtrack window (0: backtrack off).
    pub backtrack_window_ms: u64,
    /// Global database: this region's name (None: a standalone cluster).
    pub global: Option<String>,
    /// Storage auto-scaling (None: the PG map stays at version 0).
    pub autoscale: Option<crate::pgmap::AutoscaleConfig>,
}

pub struct ControlPlane {
    pub(crate) disk: Rc<RefCell<ControlDisk>>,
    /// Cached copy of the metadata service's state (None: no membership work).
    pub(crate) meta: Option<crate::topology::Topology>,
    pub(crate) meta_polled: SimTime,
    /// A `MetaState` has arrived since (re)start: the cache can be acted on.
    pub(crate) meta_fresh: bool,
    /// Membership puts not yet acknowledged: pg -> (expected epoch, membership).
    pub(crate) unconfirmed: BTreeMap<PgId, (MEpoch, crate::quorum::Membership)>,
    pub(crate) changes: BTreeMap<u32, crate::membership::Change>,
    pub(crate) bugs: std::collections::BTreeSet<crate::bug::Bug>,
    specs: Vec<InstanceSpec>,
    pub(crate) cfg: ControlConfig,
    last_seen: BTreeMap<String, SimTime>,
    reported: BTreeMap<String, Role>,
    rr: usize,
    /// First tick after (re)start: health data is empty until heartbeats arrive,
    /// so no failover is decided within one failover timeout of it.
    pub(crate) started_at: Option<SimTime>,
    /// When to resend unacknowledged clone registrations.
    pub(crate) clone_retry_at: SimTime,
    /// This control plane's host name (`control`, or a clone's).
    pub host: String,
    /// Global database: the coordinator's lease and fence (see `crate::region::gate`).
    pub(crate) gate: Option<crate::region::RegionGate>,
    /// Storage auto-scaling: the growth in progress (volatile, see `crate::autoscale`).
    pub(crate) growth: Option<crate::autoscale::Growth>,
    pub events: Vec<EventKind>,
}

impl ControlPlane {
    pub fn new(
        disk: Rc<RefCell<ControlDisk>>,
        specs: Vec<InstanceSpec>,
        cfg: ControlConfig,
    ) -> Self {
        {
            let mut d = disk.borrow_mut();
            if d.writer.is_none() {
                d.writer = specs.first().map(|s| s.name.clone());
            }
        }
        let gate = cfg
            .global
            .clone()
            .map(|r| crate::region::RegionGate::new(r, cfg.bugs.clone()));
        ControlPlane {
            gate,
            disk,
            meta: None,
            meta_polled: 0,
            meta_fresh: false,
            unconfirmed: BTreeMap::new(),
            changes: BTreeMap::new(),
            bugs: cfg.bugs.clone(),
            specs,
            cfg,
            last_seen: BTreeMap::new(),
            reported: BTreeMap::new(),
            rr: 0,
            started_at: None,
            clone_retry_at: 0,
            host: crate::branch::control_host(0),
            growth: None,
            events: vec![],
        }
    }

    fn healthy(&self, now: SimTime, h: &str) -> bool {
        self.last_seen
            .get(h)
            .map(|t| now.saturating_sub(*t) < self.cfg.failover_timeout_ms)
            .unwrap_or(false)
    }

    fn healthy_replicas(&self, now: SimTime) -> Vec<String> {
        let w = self.disk.borrow().writer.clone();
        self.specs
            .iter()
            .map(|s| s.name.clone())
            .filter(|n| {
                Some(n) != w.as_ref()
                    && self.healthy(now, n)
                    && matches!(self.reported.get(n), Some(Role::Replica { .. }))
            })
            .collect()
    }

    pub fn handle(&mut self, now: SimTime, from: &str, msg: Msg) -> Vec<Outbound> {
        match msg {
            Msg::Heartbeat {
                role,
                stalled,
                backtracked,
                cloned,
                vdl,
                ..
            } => {
                // A stalled writer answers but fails the health check: treat it as unseen.
                if !stalled {
                    self.last_seen.insert(from.to_string(), now);
                }
                self.reported.insert(from.to_string(), role.clone());
                let mut d = self.disk.borrow_mut();
                let is_writer = d.writer.as_deref() == Some(from);
                if is_writer && matches!(role, Role::Writer { .. }) && self.gate.is_some() {
                    d.global_vdl = d.global_vdl.max(vdl);
                }
                if is_writer {
                    if let Some((id, done)) = backtracked {
                        Self::finish_backtrack(&mut self.events, &mut d, id, done);
                    }
                    if let Some((id, branch)) = cloned {
                        Self::finish_clone(&mut self.events, &mut d, id, branch);
                    }
                }
                let assign = if is_writer {
                    let reopen = matches!(&d.backtrack, Some((_, false)));
                    match role {
                        Role::Writer { epoch } if epoch == d.epoch && !reopen => {
                            Role::Writer { epoch }
                        }
                        _ => {
                            // A backtrack reopens the volume with a new epoch.
                            d.epoch += 1;
                            if let Some((_, opened)) = d.backtrack.as_mut() {
                                *opened = true;
                            }
                            Role::Writer { epoch: d.epoch }
                        }
                    }
                } else {
                    Role::Replica {
                        writer: d.writer.clone(),
                    }
                };
                // Every instance hears of a backtrack in progress: replicas close too.
                let backtrack = d.backtrack.as_ref().map(|(j, _)| j.clone());
                let (clone, branch_floor) = if is_writer {
                    Self::clone_assign(&d)
                } else {
                    (None, None)
                };
                drop(d);
                let replicas = self.healthy_replicas(now);
                let mut extra = vec![];
                let assign = match &self.gate {
                    // Global database: no writer without the coordinator's lease.
                    Some(g) if is_writer && !g.allows_writer(now) => Role::Replica { writer: None },
                    Some(g) if is_writer && g.read_only => {
                        extra.push(out(from, Msg::GReadOnly));
                        assign
                    }
                    _ => assign,
                };
                let mut outs = vec![out(
                    from,
                    Msg::Assign {
                        role: assign,
                        replicas,
                        backtrack,
                        clone,
                        branch_floor,
                    },
                )];
                outs.extend(extra);
                outs
            }
            m @ Msg::GRole { .. } => {
                if let Some(g) = self.gate.as_mut() {
                    g.on_role(&m);
                }
                vec![]
            }
            Msg::Clone { id } => {
                let status = self.on_clone(id);
                vec![out(from, Msg::CloneReply { id, status })]
            }
            Msg::MetaBranchAck { volume } => {
                self.on_branch_ack(volume);
                vec![]
            }
            Msg::Backtrack { id, to_ms } => {
                let status = self.on_backtrack(now, id, to_ms);
                vec![out(from, Msg::BacktrackReply { id, status })]
            }
            Msg::Resolve { id, endpoint } => {
                let target = self.resolve(now, &endpoint);
                vec![out(
                    from,
                    Msg::Resolved {
                        id,
                        target,
                        ttl_ms: self.cfg.dns_ttl_ms,
                    },
                )]
            }
            Msg::MetaState { .. } | Msg::MetaPutAck { .. } => {
                self.on_meta(msg);
                vec![]
            }
            Msg::CreateSegmentAck { .. } | Msg::MetaGrowAck { .. } => {
                self.on_autoscale_msg(from, msg);
                vec![]
            }
            _ => vec![],
        }
    }

    fn resolve(&mut self, now: SimTime, endpoint: &str) -> Option<String> {
        let mut writer = self.disk.borrow().writer.clone();
        if self.gate.as_ref().is_some_and(|g| !g.allows_writer(now)) {
            writer = None;
        }
        if self.gate.as_ref().is_some_and(|g| g.fenced()) {
            return None;
        }
        if endpoint == "cluster" {
            return writer;
        }
        if let Some(name) = endpoint.strip_prefix("instance:") {
            return self
                .specs
                .iter()
                .find(|s| s.name == name)
                .map(|s| s.name.clone());
        }
        let pool: Vec<String> = if endpoint == "reader" {
            self.healthy_replicas(now)
        } else if let Some(name) = endpoint.strip_prefix("custom:") {
            let instances: Vec<String> = self.specs.iter().map(|s| s.name.clone()).collect();
            let pool = self.cfg.custom.get(name)?.pool(
                &instances,
                writer.as_deref(),
                |h| self.healthy(now, h),
                |h| matches!(self.reported.get(h), Some(Role::Replica { .. })),
                &self.bugs,
            );
            if pool.is_empty() {
                return None;
            }
            pool
        } else {
            return None;
        };
        if pool.is_empty() {
            return if endpoint == "reader" { writer } else { None };
        }
        self.rr += 1;
        Some(pool[self.rr % pool.len()].clone())
    }

    pub fn tick(&mut self, now: SimTime) -> Vec<Outbound> {
        let started = *self.started_at.get_or_insert(now);
        let mut outs = self.membership_tick(now);
        outs.extend(self.autoscale_tick(now));
        if let Some(g) = self.gate.as_mut() {
            g.last_vdl = self.disk.borrow().global_vdl;
            outs.extend(g.tick(now));
            if !g.allows_writer(now) {
                // Fenced or without a lease: no in-region promotion either.
                return outs;
            }
        }
        outs.extend(self.failover_tick(now, started));
        outs.extend(self.clone_tick(now));
        outs
    }

    fn failover_tick(&mut self, now: SimTime, started: SimTime) -> Vec<Outbound> {
        let (writer, requested) = {
            let d = self.disk.borrow();
            (d.writer.clone(), d.failover_requested)
        };
        let Some(writer) = writer else { return vec![] };
        // Bug `slow-failover`: the health monitor waits 20 failover timeouts.
        let wait = if self.bugs.contains(&crate::bug::Bug::SlowFailover) {
            20 * self.cfg.failover_timeout_ms
        } else {
            self.cfg.failover_timeout_ms
        };
        let silent_for = self
            .last_seen
            .get(&writer)
            .map(|t| now.saturating_sub(*t))
            .unwrap_or(u64::MAX);
        let writer_down = silent_for >= wait && now >= started + wait;
        if !(writer_down || requested) {
            return vec![];
        }
        let mut candidates: Vec<&InstanceSpec> = self
            .specs
            .iter()
            .filter(|s| {
                s.name != writer
                    && self.healthy(now, &s.name)
                    && matches!(self.reported.get(&s.name), Some(Role::Replica { .. }))
            })
            .collect();
        candidates.sort_by(|a, b| promotion_order(&self.bugs, a, b));
        let Some(best) = candidates.first().map(|s| (*s).clone()) else {
            return vec![];
        };
        let mut d = self.disk.borrow_mut();
        d.failover_requested = false;
        d.epoch += 1;
        d.writer = Some(best.name.clone());
        let epoch = d.epoch;
        // A backtrack in progress moves to the new writer.
        let backtrack = d.backtrack.as_mut().map(|(j, opened)| {
            *opened = true;
            j.clone()
        });
        drop(d);
        self.events.push(EventKind::Promoted {
            host: best.name.clone(),
            epoch,
            tier: best.tier,
        });
        self.events.push(EventKind::Demoted {
            host: writer.clone(),
        });
        let replicas = self.healthy_replicas(now);
        let (clone, branch_floor) = Self::clone_assign(&self.disk.borrow());
        vec![out(
            best.name,
            Msg::Assign {
                role: Role::Writer { epoch },
                replicas,
                backtrack,
                clone,
                branch_floor,
            },
        )]
    }

    /// An admin's backtrack request: validate it, start it, or report how it went.
    fn on_backtrack(&mut self, now: SimTime, id: u64, to_ms: SimTime) -> BacktrackStatus {
        let mut d = self.disk.borrow_mut();
        if let Some(s) = d.backtracks.get(&id) {
            return s.clone();
        }
        if let Some((j, _)) = &d.backtrack {
            if j.id == id {
                return BacktrackStatus::Pending;
            }
            return BacktrackStatus::Rejected(format!("backtrack {} is still in progress", j.id));
        }
        let w = self.cfg.backtrack_window_ms;
        let earliest = now.saturating_sub(w);
        let reject = if w == 0 {
            Some("backtrack is not enabled on this cluster (window 0)".to_string())
        } else if !d.branches.is_empty() || d.clone_job.is_some() {
            Some(
                "the cluster has clones, which share the versions a backtrack would deactivate"
                    .to_string(),
            )
        } else if to_ms > now {
            Some(format!("target {to_ms} ms is in the future (now {now} ms)"))
        } else if to_ms < earliest {
            Some(format!(
                "target {to_ms} ms is before the earliest restorable time {earliest} ms (window {w} ms)"
            ))
        } else {
            None
        };
        if let Some(why) = reject {
            let s = BacktrackStatus::Rejected(why);
            d.backtracks.insert(id, s.clone());
            self.events.push(EventKind::BacktrackRejected { id, to_ms });
            return s;
        }
        let job = crate::volume::BacktrackJob {
            id,
            to_ms,
            from_ms: now,
            timeline: d.timeline.clone(),
            min_dgen: d.epoch + 1,
        };
        d.backtrack = Some((job, false));
        self.events.push(EventKind::BacktrackStarted { id, to_ms });
        BacktrackStatus::Pending
    }

    /// The writer finished the job: record the new era; the writer may open.
    fn finish_backtrack(
        events: &mut Vec<EventKind>,
        d: &mut ControlDisk,
        id: u64,
        done: crate::volume::BacktrackDone,
    ) {
        if !matches!(&d.backtrack, Some((j, true)) if j.id == id) {
            return;
        }
        d.backtrack = None;
        d.timeline.eras.push(done.era.clone());
        events.push(EventKind::Backtracked {
            id,
            to_ms: done.to_ms,
            to_prime_ms: done.to_prime_ms,
            cut: done.cut,
            resume: done.era.resume,
        });
        d.backtracks.insert(id, BacktrackStatus::Done(done));
    }

    pub fn writer(&self) -> Option<String> {
        self.disk.borrow().writer.clone()
    }
}

/// Promotion preference: lowest tier, then largest size, then name. Bugs
/// `failover-wrong-tier` (highest tier first) and `failover-ignores-size` (ties go by
/// name) change exactly that order.
fn promotion_order(
    bugs: &std::collections::BTreeSet<crate::bug::Bug>,
    a: &InstanceSpec,
    b: &InstanceSpec,
) -> std::cmp::Ordering {
    use crate::bug::Bug;
    let tier = if bugs.contains(&Bug::FailoverWrongTier) {
        b.tier.cmp(&a.tier)
    } else {
        a.tier.cmp(&b.tier)
    };
    let size = if bugs.contains(&Bug::FailoverIgnoresSize) {
        std::cmp::Ordering::Equal
    } else {
        b.size.cmp(&a.size)
    };
    tier.then(size).then(a.name.cmp(&b.name))
}
