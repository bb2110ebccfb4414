//! The volume's versioned PG map: which protection group serves which page (storage
//! auto-scaling, claim C23).
//!
//! Version 0 is the creation-time placement, page `p` on PG `p % base` — exactly what
//! the reference did before the map existed, so a volume without auto-scaling
//! (`limit: None`) places every page as before. With auto-scaling the version-0 range
//! is bounded, `[0, base · pages_per_pg)`, and each growth appends one range
//! `[limit, limit + pages_per_pg)` served by a new PG numbered `base + k` (data grows by
//! allocating pages above the high water mark, so a new range never holds data that an
//! older version placed elsewhere).
//!
//! Where a version is durable: in the metadata service ([`crate::meta`]), together with
//! the new PG's membership, applied by one compare-and-set on the version. The map is
//! volume metadata like membership (which hosts already refresh from that service); a
//! log record would make every host that routes a page replay the log first.
//!
//! Invariants: versions only grow; a page's PG never changes once covered (ranges are
//! only appended); a host routes a page only through a version it read from the
//! service, and a page above its version's `limit` is not routed at all (the writer
//! refuses the operation with the retryable `Unavailable` and refreshes its map).

use crate::types::{PageId, PgId};
use serde::{Deserialize, Serialize};

/// One range of pages added by a growth, served by `pg`.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PgRange {
    pub lo: PageId,
    pub hi: PageId,
    pub pg: PgId,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PgMap {
    pub version: u32,
    /// PGs of version 0 (pages below `base_limit` go to `page % base`).
    pub base: u32,
    /// End of the version-0 range (None: unbounded, no auto-scaling).
    pub base_limit: Option<PageId>,
    /// Ranges added by growths, in version order (range `k` is version `k + 1`'s).
    pub ranges: Vec<PgRange>,
}

impl Default for PgMap {
    /// One PG, unbounded (a placeholder the volume's placement replaces).
    fn default() -> Self {
        PgMap::modulo(1)
    }
}

impl PgMap {
    /// Today's fixed placement over `base` PGs, for every page.
    pub fn modulo(base: u32) -> PgMap {
        PgMap {
            version: 0,
            base: base.max(1),
            base_limit: None,
            ranges: vec![],
        }
    }
    /// Version 0 of an auto-scaled volume: `base` PGs of `pages_per_pg` pages each.
    pub fn bounded(base: u32, pages_per_pg: u64) -> PgMap {
        let base = base.max(1);
        PgMap {
            base_limit: Some(base as u64 * pages_per_pg),
            ..PgMap::modulo(base)
        }
    }
    pub fn autoscaled(&self) -> bool {
        self.base_limit.is_some()
    }
    /// The PG serving `page` in this version (None: above the map's limit).
    pub fn pg_of_page(&self, page: PageId) -> Option<PgId> {
        match self.base_limit {
            None => Some((page % self.base as u64) as PgId),
            Some(l) if page < l => Some((page % self.base as u64) as PgId),
            Some(_) => self
                .ranges
                .iter()
                .find(|r| r.lo <= page && page < r.hi)
                .map(|r| r.pg),
        }
    }
    /// Pages below this are covered (u64::MAX when unbounded).
    pub fn limit(&self) -> PageId {
        match (self.base_limit, self.ranges.last()) {
            (None, _) => PageId::MAX,
            (Some(_), Some(r)) => r.hi,
            (Some(l), None) => l,
        }
    }
    /// Every PG of this version, in order.
    pub fn pgs(&self) -> Vec<PgId> {
        (0..self.base)
            .chain(self.ranges.iter().map(|r| r.pg))
            .collect()
    }
    /// The next version: `pages` more pages on a new PG (its number returned too).
    pub fn grown(&self, pages: u64) -> (PgMap, PgId) {
        let pg = self.base + self.ranges.len() as u32;
        let lo = self.limit();
        let mut m = self.clone();
        m.version += 1;
        m.ranges.push(PgRange {
            lo,
            hi: lo + pages,
            pg,
        });
        (m, pg)
    }
    /// Growth is due when the highest used page is within `headroom` of the limit.
    pub fn needs_growth(&self, used_hwm: PageId, headroom: u64) -> bool {
        self.autoscaled() && used_hwm + headroom >= self.limit()
    }
}

/// A host's creation-time map: bounded with auto-scaling, today's placement without.
pub fn initial(base: u32, a: Option<AutoscaleConfig>) -> PgMap {
    match a {
        Some(a) => PgMap::bounded(base, a.pages_per_pg),
        None => PgMap::modulo(base),
    }
}

/// Storage auto-scaling settings (opt-in: `ClusterConfig::autoscale`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AutoscaleConfig {
    /// Pages per PG (small in simulation; Aurora's unit is a 10 GB segment).
    pub pages_per_pg: u64,
    /// How long a storage node takes to provision a new segment before acknowledging it.
    pub provision_ms: u64,
}

impl AutoscaleConfig {
    /// Growth starts when the used pages come within this many of the limit.
    pub fn headroom(&self) -> u64 {
        (self.pages_per_pg / 16).max(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_zero_is_the_modulo_placement_and_growth_appends() {
        let m = PgMap::modulo(2);
        assert_eq!(m.pg_of_page(7), Some(1));
        assert_eq!(m.pg_of_page(u64::MAX), Some(1));
        let b = PgMap::bounded(2, 8);
        assert_eq!(b.limit(), 16);
        assert_eq!(b.pg_of_page(15), Some(1));
        assert_eq!(b.pg_of_page(16), None);
        assert!(!b.needs_growth(11, 4));
        assert!(b.needs_growth(12, 4));
        let (g, pg) = b.grown(8);
        assert_eq!((g.version, pg, g.limit()), (1, 2, 24));
        assert_eq!(g.pg_of_page(16), Some(2));
        assert_eq!(g.pg_of_page(3), Some(1));
        assert_eq!(g.pgs(), vec![0, 1, 2]);
        assert!(!m.needs_growth(1 << 40, 4));
    }
}
