//! Volume metadata: which storage node holds which segment of which PG (placement
//! and membership), the segments' SCL reports, and when each storage node was last
//! heard from. In Aurora this lives in a strongly consistent metadata service (a
//! DynamoDB table); here it is the durable state of the `meta` host
//! ([`crate::meta::MetaService`]), reached only by messages.
//!
//! No host reads the service's state directly: each keeps a [`MembershipView`], a
//! cached copy it starts from the volume's creation-time placement (storage nodes:
//! from the copy they last persisted) and refreshes with a `MetaGet` request when
//! storage refuses an I/O for a stale membership epoch (storage nodes also poll on
//! their background tick). Every storage I/O carries the sender's membership epoch
//! for its PG, so a host acting on an old member list is told so by the segments
//! themselves, and none of its quorums is counted against the wrong set.

use crate::pgmap::PgMap;
use crate::quorum::Membership;
use crate::types::{out, page_of, Lsn, MEpoch, Msg, Outbound, PageId, PgId, SimTime};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The metadata service's host name.
pub const META: &str = "meta";

/// What a segment last reported to the metadata service (on its background tick).
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SclReport {
    pub scl: Lsn,
    /// When the service received it (its own clock).
    pub at: SimTime,
    /// The membership epoch the segment had adopted when it reported.
    pub mepoch: MEpoch,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Topology {
    pub pgs: BTreeMap<PgId, Membership>,
    /// Storage host -> AZ (fixed geometry of the fleet).
    pub az: BTreeMap<String, usize>,
    /// Latest report of each segment (used by membership changes and repair).
    pub scl_reports: BTreeMap<(PgId, String), SclReport>,
    /// When each storage node last reported (spares included): repair looks here.
    pub seen: BTreeMap<String, SimTime>,
    /// The volume's clones (durable: storage serves a clone only once it is here).
    pub branches: BTreeMap<crate::branch::VolumeId, crate::branch::Branch>,
    /// The volume's PG map (version 0: `page % pgs`; grown by auto-scaling, C23).
    pub pgmap: PgMap,
    /// The highest page any storage node reported holding (auto-scaling's usage signal).
    pub used_hwm: Option<PageId>,
}

impl Topology {
    /// Default placement: for PG `p`, in each AZ take 2 of that AZ's nodes, rotating by `p`
    /// (with 2 nodes per AZ every node hosts a segment of every PG).
    pub fn place(pgs: u32, azs: usize, per_az: usize, spares: usize) -> Topology {
        let mut az = BTreeMap::new();
        let mut by_az: Vec<Vec<String>> = vec![];
        for a in 0..azs {
            let mut v = vec![];
            for i in 0..per_az + spares {
                let h = format!("s-az{a}-{i}");
                az.insert(h.clone(), a);
                if i < per_az {
                    v.push(h);
                }
            }
            by_az.push(v);
        }
        let mut map = BTreeMap::new();
        for p in 0..pgs {
            let mut members = vec![];
            for nodes in &by_az {
                for j in 0..2 {
                    members.push(nodes[(p as usize + j) % nodes.len()].clone());
                }
            }
            map.insert(p, Membership::new(members));
        }
        Topology {
            pgs: map,
            az,
            scl_reports: BTreeMap::new(),
            seen: BTreeMap::new(),
            branches: BTreeMap::new(),
            pgmap: PgMap::modulo(pgs),
            used_hwm: None,
        }
    }
    /// The PG of `page` in the current map (pages above an auto-scaled map's limit: the
    /// version-0 rule, which only the routing bug ever acts on).
    pub fn pg_of_page(&self, page: PageId) -> PgId {
        self.pgmap
            .pg_of_page(page)
            .unwrap_or((page % self.pgmap.base as u64) as PgId)
    }
    pub fn pg_of_key(&self, key: u64) -> PgId {
        self.pg_of_page(page_of(key))
    }
    pub fn storage_hosts(&self) -> Vec<String> {
        self.az.keys().cloned().collect()
    }
    /// The placement alone (what a host is provisioned with): no reports.
    pub fn geometry(&self) -> Topology {
        Topology {
            pgs: self.pgs.clone(),
            az: self.az.clone(),
            pgmap: self.pgmap.clone(),
            ..Topology::default()
        }
    }
}

/// How often writers and replicas poll the metadata service in the background.
pub const INSTANCE_POLL_MS: SimTime = 500;

/// How long a host waits for a `MetaView` before asking again.
const REFRESH_RETRY_MS: SimTime = 20;

/// A host's cached copy of every PG's membership (see the module docs).
///
/// Invariant: a cached membership is never newer than the metadata service's, and
/// `adopt` only moves it forward.
#[derive(Clone, Debug)]
pub struct MembershipView {
    /// Memberships of the source volume's PGs (a clone's PG has its source PG's).
    pgs: BTreeMap<PgId, Membership>,
    /// The volume whose PG numbers this view hands out ([`crate::branch`]); storage
    /// nodes, which serve every volume, keep volume 0.
    vol: crate::branch::VolumeId,
    /// The PG map version this host last read from the metadata service.
    map: PgMap,
    requested_at: Option<SimTime>,
    polled_at: Option<SimTime>,
}

/// Instances also poll the service this often: a writer whose I/O only goes to dead
/// segments (recovery waiting for a replacement) hears no refusal to learn from.

impl MembershipView {
    /// Start from a known copy (the volume's placement, or one persisted earlier).
    pub fn new(pgs: BTreeMap<PgId, Membership>) -> Self {
        MembershipView {
            map: PgMap::modulo(pgs.len() as u32),
            pgs,
            vol: 0,
            requested_at: None,
            polled_at: None,
        }
    }
    /// The view of an instance of volume `vol`'s cluster.
    pub fn for_volume(pgs: BTreeMap<PgId, Membership>, vol: crate::branch::VolumeId) -> Self {
        MembershipView {
            vol,
            ..Self::new(pgs)
        }
    }
    pub fn volume(&self) -> crate::branch::VolumeId {
        self.vol
    }
    pub fn get(&self, pg: PgId) -> &Membership {
        &self.pgs[&crate::branch::base_pg(pg)]
    }
    pub fn epoch(&self, pg: PgId) -> MEpoch {
        self.pgs
            .get(&crate::branch::base_pg(pg))
            .map(|m| m.epoch)
            .unwrap_or(0)
    }
    /// This view's volume's PGs with their memberships.
    pub fn iter(&self) -> impl Iterator<Item = (PgId, &Membership)> + '_ {
        self.pgs
            .iter()
            .map(move |(p, m)| (crate::branch::pg_in(self.vol, *p), m))
    }
    pub fn memberships(&self) -> &BTreeMap<PgId, Membership> {
        &self.pgs
    }
    /// Ask the metadata service for the current memberships, unless a request is
    /// already out (retried after `REFRESH_RETRY_MS`: requests and replies can be lost).
    pub fn request(&mut self, now: SimTime) -> Option<Outbound> {
        if self
            .requested_at
            .is_some_and(|t| now < t + REFRESH_RETRY_MS)
        {
            return None;
        }
        self.requested_at = Some(now);
        Some(out(META, Msg::MetaGet))
    }
    /// A background poll, at most once per `every_ms`.
    pub fn poll(&mut self, now: SimTime, every_ms: SimTime) -> Option<Outbound> {
        if self.polled_at.is_some_and(|t| now < t + every_ms) {
            return None;
        }
        self.polled_at = Some(now);
        self.request(now)
    }
    /// Adopt what the service answered; returns the PGs whose membership moved forward.
    pub fn adopt(&mut self, fresh: BTreeMap<PgId, Membership>) -> Vec<PgId> {
        self.requested_at = None;
        let mut changed = vec![];
        for (pg, m) in fresh {
            if m.epoch > self.epoch(pg) {
                self.pgs.insert(pg, m);
                changed.push(crate::branch::pg_in(self.vol, pg));
            }
        }
        changed
    }
    /// PGs of which `host` holds a segment in this view (dual stage included).
    pub fn pgs_on(&self, host: &str) -> Vec<PgId> {
        self.pgs
            .iter()
            .filter(|(_, m)| m.has(host))
            .map(|(p, _)| *p)
            .collect()
    }
    /// Start from a known map too (an auto-scaled volume's creation-time version).
    pub fn with_map(mut self, map: PgMap) -> Self {
        self.map = map;
        self
    }
    pub fn map(&self) -> &PgMap {
        &self.map
    }
    /// Adopt a newer map version; returns whether it moved forward.
    pub fn adopt_map(&mut self, map: Option<PgMap>) -> bool {
        match map {
            Some(m) if m.version > self.map.version => {
                self.map = m;
                true
            }
            _ => false,
        }
    }
    /// Is `page` covered by this host's map version?
    pub fn covers(&self, page: PageId) -> bool {
        self.map.pg_of_page(page).is_some()
    }
    /// The PG of `page` under this host's map version. A page above the map's limit gets
    /// the version-0 rule, `page % base`: callers gate on [`Self::covers`] first, and only
    /// the bug `autoscale-routes-before-durable` routes such a page.
    pub fn pg_of_page(&self, page: PageId) -> PgId {
        let p = self
            .map
            .pg_of_page(page)
            .unwrap_or((page % self.map.base as u64) as PgId);
        crate::branch::pg_in(self.vol, p)
    }
}
