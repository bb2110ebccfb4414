//! The metadata service: one strongly consistent store (like the DynamoDB table
//! Aurora keeps its volume metadata in) running as the `meta` host. Sans-IO.
//!
//! It holds every PG's membership, the segments' latest SCL reports and when each
//! storage node was last heard from. Hosts reach it only by messages, so a
//! partition or a crash cuts them off from it like from anything else:
//! - `MetaGet` → `MetaView`: the memberships (any host refreshing its cached view);
//! - `MetaReport`: a storage node's background report (no reply);
//! - `MetaStateGet` → `MetaState`: everything (the control plane's poll);
//! - `MetaPut` → `MetaPutAck`: compare-and-set of one PG's membership on its epoch;
//! - `MetaGrow` → `MetaGrowAck`: compare-and-set of the PG map's version, adding the
//!   new PG's membership in the same step (auto-scaling, [`crate::pgmap`]).
//!
//! Invariant: a PG's membership epoch in the service only grows, and every change
//! is applied by a `MetaPut` whose `expect` matched, so concurrent writers of the
//! same PG cannot both succeed.

use crate::topology::{SclReport, Topology};
use crate::types::*;
use std::cell::RefCell;
use std::rc::Rc;

pub struct MetaService {
    /// The service's durable state; survives crashes of the host.
    disk: Rc<RefCell<Topology>>,
}

impl MetaService {
    pub fn new(disk: Rc<RefCell<Topology>>) -> Self {
        MetaService { disk }
    }

    pub fn handle(&mut self, now: SimTime, from: &str, msg: Msg) -> Vec<Outbound> {
        let mut t = self.disk.borrow_mut();
        match msg {
            Msg::MetaGet => vec![out(
                from,
                Msg::MetaView {
                    pgs: t.pgs.clone(),
                    branches: t.branches.values().cloned().collect(),
                    pgmap: t.pgmap.autoscaled().then(|| t.pgmap.clone()),
                },
            )],
            Msg::MetaBranch { branch } => {
                let volume = branch.volume;
                t.branches.entry(volume).or_insert(branch);
                vec![out(from, Msg::MetaBranchAck { volume })]
            }
            Msg::MetaReport { reports, hwm } => {
                t.seen.insert(from.to_string(), now);
                if let Some(h) = hwm {
                    t.used_hwm = Some(t.used_hwm.unwrap_or(0).max(h));
                }
                for (pg, scl, mepoch) in reports {
                    t.scl_reports.insert(
                        (pg, from.to_string()),
                        SclReport {
                            scl,
                            at: now,
                            mepoch,
                        },
                    );
                }
                vec![]
            }
            Msg::MetaStateGet => vec![out(
                from,
                Msg::MetaState {
                    pgs: t.pgs.clone(),
                    reports: t
                        .scl_reports
                        .iter()
                        .map(|((pg, h), r)| (*pg, h.clone(), *r))
                        .collect(),
                    seen: t.seen.iter().map(|(h, at)| (h.clone(), *at)).collect(),
                    pgmap: t.pgmap.autoscaled().then(|| (t.pgmap.clone(), t.used_hwm)),
                },
            )],
            // The commit point of a growth: the new version and its PG's membership
            // together, or nothing (compare-and-set on the version).
            Msg::MetaGrow {
                map,
                pg,
                membership,
            } => {
                let ok = if map.version == t.pgmap.version {
                    map == t.pgmap
                } else if t.pgmap.autoscaled()
                    && map.version == t.pgmap.version + 1
                    && !t.pgs.contains_key(&pg)
                {
                    t.pgs.insert(pg, membership);
                    t.pgmap = map.clone();
                    true
                } else {
                    false
                };
                vec![out(
                    from,
                    Msg::MetaGrowAck {
                        version: map.version,
                        ok,
                    },
                )]
            }
            Msg::MetaPut {
                pg,
                expect,
                membership,
            } => {
                let Some(cur) = t.pgs.get(&pg).cloned() else {
                    return vec![];
                };
                let ok = if cur == membership {
                    true
                } else if cur.epoch == expect && membership.epoch > cur.epoch {
                    t.pgs.insert(pg, membership);
                    true
                } else {
                    false
                };
                vec![out(
                    from,
                    Msg::MetaPutAck {
                        pg,
                        ok,
                        current: t.pgs[&pg].clone(),
                    },
                )]
            }
            _ => vec![],
        }
    }
}

/// The metadata service as a host.
pub struct MetaHost(pub MetaService);

impl crate::net::Node for MetaHost {
    fn name(&self) -> &str {
        crate::topology::META
    }
    fn handle(&mut self, now: SimTime, from: &str, msg: Msg) -> Vec<Outbound> {
        self.0.handle(now, from, msg)
    }
    fn tick(&mut self, _now: SimTime) -> Vec<Outbound> {
        vec![]
    }
    fn take_events(&mut self) -> Vec<crate::event::EventKind> {
        vec![]
    }
}
