//! A storage node's side of fast clones (see [`crate::branch`]): a clone's segment
//! of PG `p` lives beside the source's segment of `p` on the same node, indexes the
//! source records it shares (up to its branch tail) without copying them, and holds
//! only its own records above the branch point.

use super::*;
use crate::branch::{base_pg, pg_in, volume_of, Branch};

impl StorageNode {
    /// A clone PG's last shared source record (None: a source PG).
    pub(super) fn branch_tail(&self, pg: PgId) -> Option<Lsn> {
        if volume_of(pg) == 0 {
            return None;
        }
        self.disk
            .borrow()
            .branches
            .get(&volume_of(pg))
            .map(|b| b.tail(pg))
    }

    /// A source record synced late (this segment was behind) is shared with every
    /// clone whose branch point covers it.
    pub(super) fn index_shared(&mut self, pg: PgId, r: &Record) {
        if volume_of(pg) != 0 {
            return;
        }
        let clones: Vec<PgId> = {
            let d = self.disk.borrow();
            d.branches
                .values()
                .filter(|b| r.lsn <= b.tail(pg))
                .map(|b| pg_in(b.volume, pg))
                .filter(|c| d.segs.contains_key(c))
                .collect()
        };
        for c in clones {
            self.vol.entry(c).or_default().index_version(r);
        }
    }

    /// Adopt the clones the metadata service lists, and create their segments.
    pub(super) fn adopt_branches(&mut self, branches: Vec<Branch>) {
        for b in branches {
            if self.disk.borrow().branches.contains_key(&b.volume) {
                continue;
            }
            let (volume, lsn) = (b.volume, b.lsn);
            self.disk.borrow_mut().branches.insert(b.volume, b);
            self.ensure_clone_segments();
            self.events
                .push(EventKind::CloneSegmentsCreated { volume, lsn });
        }
    }

    /// Every known clone has a segment of every PG this node holds — after it learns of
    /// a clone, and after a membership change makes it a member of a PG (the replacement
    /// of a segment takes the clones' segments of that PG along). A new segment's chain
    /// starts at its PG's shared tail; what it shares is indexed from the source's segment
    /// beside it (hydrated by the source's gossip), its own records arrive by the clone's
    /// gossip like any segment's.
    pub(super) fn ensure_clone_segments(&mut self) {
        let pgs = self.view.pgs_on(&self.name);
        let mut created = vec![];
        {
            let mut d = self.disk.borrow_mut();
            let branches: Vec<Branch> = d.branches.values().cloned().collect();
            for b in &branches {
                for &p in &pgs {
                    let c = pg_in(b.volume, p);
                    if d.segs.contains_key(&c) {
                        continue;
                    }
                    let seg = d.segs.entry(c).or_default();
                    seg.chain_base = b.tail(p);
                    seg.vdl_seen = b.lsn;
                    created.push(c);
                }
            }
        }
        for c in created {
            self.rebuild(c);
        }
    }

    /// The PGs this node serves: its source PGs and their clones' PGs.
    pub(super) fn served_pgs(&self) -> Vec<PgId> {
        let base = self.view.pgs_on(&self.name);
        let d = self.disk.borrow();
        let mut all = base.clone();
        for v in d.branches.keys() {
            all.extend(
                base.iter()
                    .map(|p| pg_in(*v, *p))
                    .filter(|c| d.segs.contains_key(c)),
            );
        }
        all
    }

    /// The record at `lsn` a clone PG's index points to but its segment does not
    /// hold: the source's record it shares.
    pub(super) fn shared_record<'a>(
        &self,
        d: &'a NodeDisk,
        pg: PgId,
        lsn: Lsn,
    ) -> Option<&'a Record> {
        if volume_of(pg) == 0 {
            return None;
        }
        d.segs.get(&base_pg(pg))?.records.get(&lsn)
    }

    /// The clone bugs, both on storage's read path:
    /// - `clone-write-leaks`: a write on a clone lands on the block it shares, so a
    ///   source read of a key a clone has written returns the clone's latest version;
    /// - `clone-reads-past-branch`: a clone read of a key it has not written itself
    ///   goes through to the source's latest version, not the branch point's.
    pub(super) fn clone_bugs_on_read(
        &self,
        d: &NodeDisk,
        pg: PgId,
        page: PageId,
        at: Lsn,
        img: &mut PageImage,
    ) {
        let newest = |p: PgId, upto: Lsn| -> Vec<(u64, Lsn)> {
            self.vol
                .get(&p)
                .and_then(|v| v.by_page.get(&page))
                .into_iter()
                .flatten()
                .filter_map(|(k, ls)| ls.range(..=upto).next_back().map(|l| (*k, *l)))
                .collect()
        };
        let record = |p: PgId, l: Lsn| d.segs.get(&p).and_then(|s| s.records.get(&l));
        if volume_of(pg) == 0 && self.cfg.bugs.contains(&Bug::CloneWriteLeaks) {
            for v in d.branches.keys() {
                let c = pg_in(*v, pg);
                for (k, l) in newest(c, Lsn(u64::MAX)) {
                    if let Some(r) = record(c, l).filter(|r| r.key == k) {
                        img.insert(k, (r.lsn, r.value.clone()));
                    }
                }
            }
        }
        if volume_of(pg) != 0 && self.cfg.bugs.contains(&Bug::CloneReadsPastBranch) {
            let tail = self.branch_tail(pg).unwrap_or_default();
            let own: BTreeMap<u64, Lsn> = newest(pg, at).into_iter().collect();
            for (k, l) in newest(base_pg(pg), Lsn(u64::MAX)) {
                if own.get(&k).is_some_and(|o| *o > tail) {
                    continue;
                }
                if let Some(r) = record(base_pg(pg), l).filter(|r| r.key == k) {
                    img.insert(k, (r.lsn, r.value.clone()));
                }
            }
        }
    }
}
