//! Volume metadata shared by all hosts: which storage node holds which segment of
//! which PG (placement and membership). In Aurora this lives in a metadata service;
//! here it is one `Rc<RefCell<Topology>>` that survives every crash.

use crate::quorum::Membership;
use crate::types::{page_of, PageId, PgId};
use std::collections::BTreeMap;

#[derive(Clone, Debug)]
pub struct Topology {
    pub pgs: BTreeMap<PgId, Membership>,
    /// Storage host -> AZ.
    pub az: BTreeMap<String, usize>,
    /// Latest SCL each segment reported to the metadata service, with the report time
    /// (storage nodes report on their background tick; used by membership changes).
    pub scl_reports: BTreeMap<(PgId, String), (crate::types::Lsn, crate::types::SimTime)>,
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
    /// PGs of which `host` holds a segment (including a replacement in the dual stage).
    pub fn pgs_on(&self, host: &str) -> Vec<PgId> {
        self.pgs
            .iter()
            .filter(|(_, m)| m.all().iter().any(|h| h == host))
            .map(|(p, _)| *p)
            .collect()
    }
    pub fn storage_hosts(&self) -> Vec<String> {
        self.az.keys().cloned().collect()
    }
}
