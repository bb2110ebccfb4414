//! Storage auto-scaling, the control plane's side (claim C23): grow the volume by one PG
//! when the data nears the PG map's limit, without touching the PGs that exist.
//!
//! 1. **Decide**: the metadata service keeps the highest page any storage node reported
//!    holding (`MetaReport::hwm`); when it comes within the headroom of the current
//!    map's limit ([`crate::pgmap::PgMap::needs_growth`]), the next version is drawn up:
//!    `[limit, limit + pages_per_pg)` on PG `base + k`, its 6 segments placed by the
//!    volume's placement rule (2 per AZ, rotating by PG number over the AZ's nodes that
//!    hold segments).
//! 2. **Provision**: `CreateSegment` goes to the 6 nodes (resent every poll until
//!    acknowledged); a node acknowledges once the empty segment is durable, after its
//!    provisioning time.
//! 3. **Commit**: once a write quorum (4/6) has acknowledged, `MetaGrow` commits the
//!    version and the PG's membership in one compare-and-set at the metadata service.
//!    Nodes that missed step 2 (down, cut off) learn the PG from their metadata poll and
//!    fill their segment by gossip; repair replaces them if they stay silent.
//!
//! No I/O waits for any of this: hosts keep routing through the version they hold, and
//! only a page above that version's limit is refused (retryably) until a host has read
//! the new version from the service. The growth state is volatile: a restarted control
//! plane decides again from the service's state (both steps are idempotent).

use crate::control::ControlPlane;
use crate::event::EventKind;
use crate::membership::META_POLL_MS;
use crate::pgmap::PgMap;
use crate::quorum::{Membership, WRITE_QUORUM};
use crate::topology::{Topology, META};
use crate::types::*;
use std::collections::BTreeSet;

/// A growth in progress.
#[derive(Clone, Debug)]
pub struct Growth {
    pub map: PgMap,
    pub pg: PgId,
    pub membership: Membership,
    /// Nodes whose segment of `pg` is provisioned.
    pub acked: BTreeSet<String>,
    pub sent_at: Option<SimTime>,
}

/// The new PG's members: in each AZ, 2 of the nodes that hold segments of the volume
/// (spares stay spares), rotating by PG number as [`Topology::place`] does.
pub fn place_new(t: &Topology, pg: PgId) -> Vec<String> {
    let holding: BTreeSet<String> = t.pgs.values().flat_map(|m| m.members.clone()).collect();
    let azs: BTreeSet<usize> = t.az.values().copied().collect();
    let mut members = vec![];
    for a in azs {
        let nodes: Vec<&String> =
            t.az.iter()
                .filter(|(h, az)| **az == a && holding.contains(*h))
                .map(|(h, _)| h)
                .collect();
        for j in 0..2.min(nodes.len()) {
            members.push(nodes[(pg as usize + j) % nodes.len()].clone());
        }
    }
    members
}

impl ControlPlane {
    /// Decide, provision and commit (see the module docs); a no-op without auto-scaling.
    pub(crate) fn autoscale_tick(&mut self, now: SimTime) -> Vec<Outbound> {
        let mut outs = vec![];
        let Some(a) = self.cfg.autoscale else {
            return outs;
        };
        let Some(t) = self.meta.as_ref() else {
            return outs;
        };
        if !self.meta_fresh {
            return outs;
        }
        if self.growth.is_none() {
            let used = t.used_hwm.unwrap_or(0);
            if !t.pgmap.needs_growth(used, a.headroom()) {
                return outs;
            }
            let (map, pg) = t.pgmap.grown(a.pages_per_pg);
            self.events.push(EventKind::GrowthStarted {
                version: map.version,
                pg,
                used,
                limit: t.pgmap.limit(),
            });
            self.growth = Some(Growth {
                membership: Membership::new(place_new(t, pg)),
                map,
                pg,
                acked: BTreeSet::new(),
                sent_at: None,
            });
        }
        let epoch = self.disk.borrow().epoch;
        let g = self
            .growth
            .as_mut()
            .expect("a growth is in progress: set above when none was");
        if g.sent_at.is_some_and(|s| now < s + META_POLL_MS) {
            return outs;
        }
        g.sent_at = Some(now);
        if g.acked.len() >= WRITE_QUORUM {
            outs.push(out(
                META,
                Msg::MetaGrow {
                    map: g.map.clone(),
                    pg: g.pg,
                    membership: g.membership.clone(),
                },
            ));
        } else {
            for h in &g.membership.members {
                if !g.acked.contains(h) {
                    outs.push(out(
                        h,
                        Msg::CreateSegment {
                            pg: g.pg,
                            membership: g.membership.clone(),
                            epoch,
                        },
                    ));
                }
            }
        }
        outs
    }

    /// `CreateSegmentAck` and `MetaGrowAck`.
    pub(crate) fn on_autoscale_msg(&mut self, from: &str, msg: Msg) {
        let Some(g) = self.growth.as_mut() else {
            return;
        };
        match msg {
            Msg::CreateSegmentAck { pg } if pg == g.pg => {
                let was = g.acked.len();
                g.acked.insert(from.to_string());
                if was < WRITE_QUORUM && g.acked.len() >= WRITE_QUORUM {
                    g.sent_at = None; // commit on the next tick
                }
            }
            Msg::MetaGrowAck { version, ok } if version == g.map.version => {
                let g = self
                    .growth
                    .take()
                    .expect("matched on the growth in progress");
                if ok {
                    let r = *g
                        .map
                        .ranges
                        .last()
                        .expect("a grown map has the new PG's range last");
                    self.events.push(EventKind::PgAdded {
                        version,
                        pg: g.pg,
                        lo: r.lo,
                        hi: r.hi,
                    });
                    if let Some(t) = self.meta.as_mut() {
                        t.pgs.entry(g.pg).or_insert(g.membership);
                        t.pgmap = g.map;
                    }
                }
                // Refused (another version won): decide again from the next poll.
            }
            _ => {}
        }
    }
}
