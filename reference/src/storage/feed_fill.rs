//! Global database: a segment answers its writer's replication agent with the durable
//! redo it holds in a range (`GFetch`), so a writer opened by an in-region failover can
//! fill a secondary region's gap below its recovered VDL from storage.
//!
//! Contract: the answer holds only synced, intact records of `pg` in `(after, upto]`
//! that no truncation range this segment adopted destroys or deactivates (the same filter
//! recovery's `RecoverState` applies). A segment that is not a current member, or that
//! has seen a newer volume epoch than the asker's, does not answer. The asker unions a
//! read quorum of every PG's answers and ships nothing until every LSN of the range is
//! accounted for (a record, or inside one of its truncation ranges).

use super::StorageNode;
use crate::types::*;

impl StorageNode {
    #[allow(clippy::too_many_arguments)]
    pub(super) fn on_gfetch(
        &mut self,
        now: SimTime,
        from: &str,
        id: u64,
        epoch: Epoch,
        pg: PgId,
        mepoch: MEpoch,
        (after, upto): (Lsn, Lsn),
    ) -> Vec<Outbound> {
        if let Some(rej) = self.admit(now, from, pg, mepoch, None) {
            return rej;
        }
        if epoch < self.epoch_of(pg) {
            return vec![];
        }
        let d = self.disk.borrow();
        let records = d
            .segs
            .get(&pg)
            .map(|seg| {
                seg.records
                    .range(after.next()..=upto)
                    .map(|(_, r)| r)
                    .filter(|r| {
                        r.is_intact()
                            && !destroyed(&seg.truncations, r.lsn)
                            && !inactive(&seg.truncations, r.lsn)
                    })
                    .cloned()
                    .collect()
            })
            .unwrap_or_default();
        vec![out(
            from,
            Msg::GFetched {
                id,
                pg,
                seg: self.name.clone(),
                records,
            },
        )]
    }
}
