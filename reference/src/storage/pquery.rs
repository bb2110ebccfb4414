//! Parallel query on a storage node: a segment evaluates a pushed-down scan over its own
//! page versions at the read point and answers with its partial aggregate
//! ([`crate::writer`]'s pquery merges one answer per PG).
//!
//! Contract: the answer is exactly the filter and aggregate over the page images a
//! `ReadPage` at the same read point would return for every page of the range in this
//! PG (same completeness rule: the segment's SCL must reach `need`; same GC horizon and
//! checksum verification), or None when any of them cannot be served.

use super::StorageNode;
use crate::bug::Bug;
use crate::types::*;

impl StorageNode {
    #[allow(clippy::too_many_arguments)]
    pub(super) fn on_pq_scan(
        &mut self,
        now: SimTime,
        from: &str,
        id: u64,
        epoch: Epoch,
        pg: PgId,
        mepoch: MEpoch,
        at: Lsn,
        need: Lsn,
        (lo, hi, min): (u64, u64, i64),
        dgen: Epoch,
    ) -> Vec<Outbound> {
        if let Some(rej) = self.admit(now, from, pg, mepoch, None) {
            return rej;
        }
        let behind = self
            .disk
            .borrow()
            .segs
            .get(&pg)
            .map(|s| deact_gen(&s.truncations))
            .unwrap_or(0)
            < dgen;
        if (epoch != 0 && epoch < self.epoch_of(pg)) || behind {
            return vec![out(from, Msg::PqResult { id, result: None })];
        }
        // Bug `pq-reads-latest`: the segment evaluates at its newest versions.
        let point = if self.cfg.bugs.contains(&Bug::PqReadsLatest) {
            Lsn(u64::MAX - 1)
        } else {
            at
        };
        let pages: Vec<PageId> = self
            .vol
            .get(&pg)
            .map(|v| {
                v.by_page
                    .range(page_of(lo)..=page_of(hi.max(lo)))
                    .map(|(p, _)| *p)
                    .collect()
            })
            .unwrap_or_default();
        let mut result = Some((0, 0));
        for page in pages {
            match self.read_page(pg, page, point, need) {
                Some(img) => {
                    let (c, s) = crate::writer::pquery::aggregate(
                        img.iter().map(|(k, (_, v))| (*k, v)),
                        lo,
                        hi,
                        min,
                    );
                    result = result.map(|(c0, s0)| (c0 + c, s0 + s));
                }
                None => {
                    result = None;
                    break;
                }
            }
        }
        // Even an empty range must come from a segment complete at the read point.
        if self.scl(pg) < need && !self.cfg.bugs.contains(&Bug::ReadBelowReadPoint) {
            result = None;
        }
        vec![out(from, Msg::PqResult { id, result })]
    }
}
