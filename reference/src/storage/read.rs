//! The segment's read path: a page image at a read point, the checks that refuse a read (SCL
//! below the PG's last record at or below the point, the GC horizon, a corrupt record), and the
//! white-box events of a read just answered.

use super::StorageNode;
use crate::bug::Bug;
use crate::event::EventKind;
use crate::types::*;

impl StorageNode {
    /// Checksum verification of a stored record (bug `scrub-trusts-corrupt`: always passes).
    pub(super) fn verified(&self, r: &Record) -> bool {
        r.is_intact() || self.cfg.bugs.contains(&Bug::ScrubTrustsCorrupt)
    }

    /// White-box events of a page read just answered: refused below the GC horizon (coverage),
    /// or served although the SCL is below `need` (an assertion). Observes only.
    pub(super) fn note_page_read(&mut self, pg: PgId, at: Lsn, need: Lsn, served: bool) {
        let horizon = self.disk.borrow().segs.get(&pg).map(|s| s.gc_horizon);
        let scl = self.scl(pg);
        match horizon {
            Some(horizon) if !served && at < horizon => self
                .events
                .push(EventKind::ReadRefusedBelowMrp { pg, at, horizon }),
            Some(_) if served && scl < need => {
                self.events
                    .push(EventKind::ReadServedBelowScl { pg, scl, need })
            }
            _ => {}
        }
    }

    /// The page as of `at`, if this segment's SCL reaches `need` and no needed record is corrupt.
    pub fn read_page(&self, pg: PgId, page: PageId, at: Lsn, need: Lsn) -> Option<PageImage> {
        let d = self.disk.borrow();
        let seg = d.segs.get(&pg)?;
        // `need` is the PG's last record at or below `at`: the SCL must reach it.
        let lagging = self.scl(pg) < need && !self.cfg.bugs.contains(&Bug::ReadBelowReadPoint);
        if lagging || at < seg.gc_horizon {
            return None;
        }
        let mut img = PageImage::new();
        let keys = self.vol.get(&pg).and_then(|v| v.by_page.get(&page));
        for (key, lsns) in keys.into_iter().flatten() {
            let Some(l) = lsns.range(..=at).next_back() else {
                continue;
            };
            // A version a clone shares with its source is the source's record.
            let mine = |r: &&Record| r.page == page && r.key == *key;
            let r = match seg.records.get(l).filter(mine) {
                Some(r) => r,
                None => self.shared_record(&d, pg, *l).filter(mine)?,
            };
            if !self.verified(r) {
                return None;
            }
            img.insert(*key, (r.lsn, r.value.clone()));
        }
        self.clone_bugs_on_read(&d, pg, page, at, &mut img);
        Some(img)
    }
}
