//! Volume metadata: which storage node holds which segment of which PG (placement
//! and membership). In Aurora this lives in a metadata service; here the service is
//! one `Rc<RefCell<Topology>>` that survives every crash, written only by the control
//! plane.
//!
//! No host routes I/O through the service directly: each keeps a
//! [`MembershipView`], a cached copy it loads when it starts and refreshes only when
//! storage refuses an I/O for a stale membership epoch (storage nodes also refresh
//! on their background tick). Every storage I/O carries the sender's membership
//! epoch for its PG, so a host acting on an old member list is told so by the
//! segments themselves, and none of its quorums is counted against the wrong set.

use crate::quorum::Membership;
use crate::types::{page_of, Lsn, MEpoch, PageId, PgId, SimTime};
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

/// What a segment last reported to the metadata service (on its background tick).
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct SclReport {
    pub scl: Lsn,
    pub at: SimTime,
    /// The membership epoch the segment had adopted when it reported.
    pub mepoch: MEpoch,
}

#[derive(Clone, Debug)]
pub struct Topology {
    pub pgs: BTreeMap<PgId, Membership>,
    /// Storage host -> AZ.
    pub az: BTreeMap<String, usize>,
    /// Latest report of each segment (storage nodes report on their background tick;
    /// used by membership changes and garbage collection).
    pub scl_reports: BTreeMap<(PgId, String), SclReport>,
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
        }
    }
    pub fn pg_of_page(&self, page: PageId) -> PgId {
        (page % self.pgs.len() as u64) as PgId
    }
    pub fn pg_of_key(&self, key: u64) -> PgId {
        self.pg_of_page(page_of(key))
    }
    pub fn storage_hosts(&self) -> Vec<String> {
        self.az.keys().cloned().collect()
    }
}

/// A host's cached copy of every PG's membership (see the module docs).
///
/// Invariant: a cached membership is never newer than the metadata service's, and
/// `refresh` only moves it forward.
#[derive(Clone, Debug)]
pub struct MembershipView {
    meta: Rc<RefCell<Topology>>,
    pgs: BTreeMap<PgId, Membership>,
}

impl MembershipView {
    /// Load every PG's membership from the metadata service (done at start).
    pub fn load(meta: Rc<RefCell<Topology>>) -> Self {
        let pgs = meta.borrow().pgs.clone();
        MembershipView { meta, pgs }
    }
    pub fn get(&self, pg: PgId) -> &Membership {
        &self.pgs[&pg]
    }
    pub fn epoch(&self, pg: PgId) -> MEpoch {
        self.pgs.get(&pg).map(|m| m.epoch).unwrap_or(0)
    }
    pub fn iter(&self) -> impl Iterator<Item = (&PgId, &Membership)> {
        self.pgs.iter()
    }
    /// Look the PG up in the metadata service; adopt it if newer. True if it changed.
    pub fn refresh(&mut self, pg: PgId) -> bool {
        let fresh = self.meta.borrow().pgs.get(&pg).cloned();
        match fresh {
            Some(m) if m.epoch > self.epoch(pg) => {
                self.pgs.insert(pg, m);
                true
            }
            _ => false,
        }
    }
    /// Refresh every PG; returns the PGs whose membership changed.
    pub fn refresh_all(&mut self) -> Vec<PgId> {
        let pgs: Vec<PgId> = self.meta.borrow().pgs.keys().copied().collect();
        pgs.into_iter().filter(|pg| self.refresh(*pg)).collect()
    }
    /// PGs of which `host` holds a segment in this view (dual stage included).
    pub fn pgs_on(&self, host: &str) -> Vec<PgId> {
        self.pgs
            .iter()
            .filter(|(_, m)| m.has(host))
            .map(|(p, _)| *p)
            .collect()
    }
    /// Placement of pages on PGs is fixed when the volume is created.
    pub fn pg_of_page(&self, page: PageId) -> PgId {
        (page % self.pgs.len() as u64) as PgId
    }
}
