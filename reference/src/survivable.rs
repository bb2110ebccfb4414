//! The survivable buffer cache (Aurora's "cache survives a database restart").
//!
//! Aurora keeps the buffer cache in a memory region outside the database process, so a
//! process crash and restart on the same host finds it warm. Here that region is a
//! [`CacheRegion`]: host-local state created outside the instance host's closure (like a
//! storage node's disk), so it outlives `crash`/`bounce` of the process, and it is wiped
//! when the host is *replaced* (new compute: [`crate::Cluster::replace_instance`]). No other
//! host reads it. Opt-in: [`crate::ClusterConfig::survivable_cache`].
//!
//! Contract (what a restarted writer may keep, decided when its recovery finishes, from
//! nothing but what the recovery itself read from storage):
//! - a page whose newest entry lies above the recovered VDL is discarded (those records
//!   are in the new truncation range, or became durable only in a version the cache
//!   cannot know is the one storage chose);
//! - a page with an entry inside any truncation range in force (older recoveries'
//!   ranges, a backtrack's deactivations) is discarded;
//! - a page of a PG whose recovered tail (the PG's last durable record) lies above the
//!   highest LSN this cache ever allocated in that PG is discarded: another writer wrote
//!   that PG meanwhile, so the page may be missing its writes;
//! - after a backtrack the whole cache is discarded.
//!
//! What is kept is then exactly what storage holds at the recovered VDL for every key of
//! the page (the cache always holds whole pages, and this host's writer was the only
//! one to write them). The harness checks that white-box against the storage disks
//! ([`EventKind::CacheAdopted`] carries every adopted entry) and black-box through the
//! workload's history.

use crate::bug::Bug;
use crate::types::{Datum, Lsn, PageId, PgId, Truncation};
use crate::writer::CachedPage;
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;

/// The memory region holding an instance's buffer cache across process restarts.
#[derive(Clone, Debug, Default)]
pub struct CacheRegion {
    /// The cache as the process last left it.
    pub pages: BTreeMap<PageId, CachedPage>,
    /// Per PG, the highest LSN the writer that filled the cache allocated there.
    pub pg_tail: BTreeMap<PgId, Lsn>,
    /// A cheap change stamp of the cache last saved (skip copies when unchanged).
    pub(crate) stamp: (u64, Lsn, usize),
}

/// Shared handle: the instance host and the cluster (to wipe it on host replacement).
pub type RegionHandle = Rc<RefCell<CacheRegion>>;

/// Why survived pages were dropped at a restart.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Discards {
    pub above_vdl: u64,
    pub truncated: u64,
    pub foreign: u64,
    pub backtrack: u64,
    pub lost: u64,
}

/// Decide which survived pages a writer that recovered to `vdl` may keep (see the module
/// docs). `truncations` are every range in force after the recovery, including its own;
/// `tails` the recovered last durable record of each PG; `pg_of` maps a page to its PG.
#[allow(clippy::too_many_arguments)]
pub fn filter(
    region: &CacheRegion,
    vdl: Lsn,
    truncations: &[Truncation],
    own: Truncation,
    tails: &BTreeMap<PgId, Lsn>,
    backtracked: bool,
    pg_of: impl Fn(PageId) -> PgId,
    bugs: &BTreeSet<Bug>,
) -> (BTreeMap<PageId, CachedPage>, Discards) {
    let mut d = Discards::default();
    let mut kept = BTreeMap::new();
    if bugs.contains(&Bug::CacheLostOnRestart) {
        d.lost = region.pages.len() as u64;
        return (kept, d);
    }
    if backtracked {
        d.backtrack = region.pages.len() as u64;
        return (kept, d);
    }
    // Bug `cache-keeps-above-vdl`: neither the VDL bound nor this recovery's own
    // truncation range is applied (entries above the recovered VDL are kept).
    let keep_above = bugs.contains(&Bug::CacheKeepsAboveVdl);
    for (page, c) in &region.pages {
        let pg = pg_of(*page);
        if c.lsn > vdl && !keep_above {
            d.above_vdl += 1;
            continue;
        }
        let inside = c.image.values().any(|(l, _)| {
            truncations
                .iter()
                .filter(|t| !(keep_above && **t == own))
                .any(|t| t.contains(*l))
        });
        if inside {
            d.truncated += 1;
            continue;
        }
        let ours = region.pg_tail.get(&pg).copied().unwrap_or_default();
        if tails.get(&pg).copied().unwrap_or_default() > ours {
            d.foreign += 1;
            continue;
        }
        kept.insert(*page, c.clone());
    }
    (kept, d)
}

/// Every (key, LSN, value) of `pages`, for the white-box audit event.
pub fn entries(pages: &BTreeMap<PageId, CachedPage>) -> Vec<(u64, Lsn, Datum)> {
    pages
        .values()
        .flat_map(|c| c.image.iter().map(|(k, (l, v))| (*k, *l, v.clone())))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(entries: &[(u64, u64)]) -> CachedPage {
        let mut c = CachedPage::default();
        for (k, l) in entries {
            c.image.insert(*k, (Lsn(*l), Datum::Int(*k as i64)));
            c.lsn = c.lsn.max(Lsn(*l));
        }
        c
    }

    fn trunc(lo: u64, hi: u64) -> Truncation {
        Truncation {
            lo: Lsn(lo),
            hi: Lsn(hi),
            epoch: 2,
            keep: false,
            floor_ms: 0,
        }
    }

    #[test]
    fn drops_pages_above_vdl_truncated_or_written_by_another_writer() {
        let mut r = CacheRegion::default();
        r.pages.insert(0, page(&[(0, 5), (1, 7)])); // kept
        r.pages.insert(1, page(&[(4, 12)])); // above VDL 10
        r.pages.insert(2, page(&[(8, 3)])); // PG 1: another writer reached LSN 9
        r.pg_tail.insert(0, Lsn(12));
        r.pg_tail.insert(1, Lsn(3));
        let own = trunc(10, 20);
        let tails = BTreeMap::from([(0, Lsn(7)), (1, Lsn(9))]);
        let pg_of = |p: PageId| (p / 2) as PgId;
        let none = BTreeSet::new();
        let (kept, d) = filter(&r, Lsn(10), &[own], own, &tails, false, pg_of, &none);
        assert_eq!(kept.keys().copied().collect::<Vec<_>>(), vec![0]);
        assert_eq!((d.above_vdl, d.foreign), (1, 1));
        let bug = BTreeSet::from([Bug::CacheKeepsAboveVdl]);
        let (kept, _) = filter(&r, Lsn(10), &[own], own, &tails, false, pg_of, &bug);
        assert!(kept.contains_key(&1), "the bug keeps the page above VDL");
        let (kept, d) = filter(&r, Lsn(10), &[own], own, &tails, true, pg_of, &none);
        assert!(kept.is_empty() && d.backtrack == 3);
    }
}
