//! Global database: the writer reads a range of its volume's durable redo back from
//! storage for its replication agent ([`crate::region::Feed::fill_need`]) — the fill that
//! lets a writer opened by an in-region failover serve a secondary region that was behind
//! its recovered VDL (Aurora's replication is storage-level: the redo is on the volume).
//!
//! Protocol: a `GFetch` for `(after, upto]` to every segment of every PG; answers are
//! unioned per PG. The range is complete when a read quorum of every PG's current
//! membership answered and every LSN in it is either a record of the union or inside one
//! of the writer's truncation ranges (LSNs are allocated one per record, so a durable
//! record a read quorum missed would show as a hole: write quorum 4/6 and read quorum 3/6
//! overlap, so that happens only if every copy in the quorum is corrupt, and then more
//! answers or a resend fill it). Only a complete range is handed to the agent, in LSN
//! order; a read that stays incomplete is resent every [`FILL_RESEND_MS`].

use super::Writer;
use crate::types::*;
use std::collections::{BTreeMap, BTreeSet};

/// Resend an incomplete fill read after this long.
const FILL_RESEND_MS: SimTime = 300;

/// One fill read in flight.
#[derive(Clone, Debug)]
pub(crate) struct Fill {
    id: u64,
    after: Lsn,
    upto: Lsn,
    sent_at: SimTime,
    /// pg -> segment -> its records in the range.
    got: BTreeMap<PgId, BTreeMap<String, Vec<Record>>>,
}

impl Writer {
    /// Start (or resend) the fill read the agent needs.
    pub(super) fn fill_tick(&mut self, now: SimTime, outs: &mut Vec<Outbound>) {
        let Some((after, upto)) = self.global.as_ref().and_then(|g| g.fill_need()) else {
            self.fill = None;
            return;
        };
        let fresh = match &self.fill {
            Some(f) => {
                (f.after, f.upto) != (after, upto)
                    || now.saturating_sub(f.sent_at) >= FILL_RESEND_MS
            }
            None => true,
        };
        if !fresh {
            return;
        }
        self.next_id += 1;
        let id = self.next_id;
        for (pg, m) in self.view.iter() {
            for seg in m.all() {
                outs.push(out(
                    seg,
                    Msg::GFetch {
                        id,
                        epoch: self.epoch,
                        pg,
                        mepoch: self.view.epoch(pg),
                        after,
                        upto,
                    },
                ));
            }
        }
        self.fill = Some(Fill {
            id,
            after,
            upto,
            sent_at: now,
            got: BTreeMap::new(),
        });
    }

    /// A segment's answer; hand the range to the agent once it is complete.
    pub(super) fn on_fetched(&mut self, id: u64, pg: PgId, seg: String, records: Vec<Record>) {
        let Some(f) = self.fill.as_mut().filter(|f| f.id == id) else {
            return;
        };
        f.got.entry(pg).or_default().insert(seg, records);
        let quorum = self.view.iter().all(|(p, m)| {
            f.got
                .get(&p)
                .is_some_and(|s| m.read_ok(&s.keys().cloned().collect::<BTreeSet<_>>()))
        });
        if !quorum {
            return;
        }
        let mut union: BTreeMap<Lsn, Record> = BTreeMap::new();
        for r in f.got.values().flat_map(|s| s.values()).flatten() {
            if r.lsn > f.after && r.lsn <= f.upto && r.is_intact() {
                union.entry(r.lsn).or_insert_with(|| r.clone());
            }
        }
        let ts = &self.truncations;
        let complete = (f.after.0 + 1..=f.upto.0)
            .map(Lsn)
            .all(|l| union.contains_key(&l) || destroyed(ts, l) || inactive(ts, l));
        if !complete {
            return;
        }
        let (after, upto) = (f.after, f.upto);
        self.fill = None;
        if let Some(g) = self.global.as_mut() {
            g.fill(union.into_values().collect(), after, upto);
        }
    }
}
