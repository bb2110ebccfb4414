//! The writer's side of membership epochs and of the minimum read point (PGMRPL).

use super::{Phase, Writer, READ_POINT_TTL_MS};
use crate::event::EventKind;
use crate::quorum::Membership;
use crate::types::*;
use std::collections::BTreeMap;

impl Writer {
    /// A segment refused our membership epoch for `pg`: ask the metadata service for
    /// the PG again; the refused I/O is redone under the new member list (counting
    /// quorums in it) when the answer arrives ([`Self::on_meta_view`]). A refusal from a
    /// segment whose own view is older than ours only needs the read retried.
    pub(super) fn on_stale_membership(
        &mut self,
        now: SimTime,
        pg: PgId,
        current: MEpoch,
        read: Option<u64>,
        outs: &mut Vec<Outbound>,
    ) {
        if current > self.view.epoch(pg) {
            outs.extend(self.view.request(now));
            return;
        }
        if let Some(id) = read {
            if self.fetches.contains_key(&id) {
                self.send_fetch(now, id, outs);
            }
        }
    }

    /// The metadata service answered: adopt newer memberships, then resend in-flight
    /// writes (or the recovery step) to the new member sets and recount their quorums,
    /// and retry page reads.
    pub(super) fn on_meta_view(
        &mut self,
        now: SimTime,
        pgs: BTreeMap<PgId, Membership>,
        pgmap: Option<crate::pgmap::PgMap>,
        outs: &mut Vec<Outbound>,
    ) {
        // The map first: a PG it adds comes with its membership in the same answer.
        self.view.adopt_map(pgmap);
        let first_map = !self.map_read && self.cfg.autoscale.is_some();
        self.map_read = true;
        let changed = self.view.adopt(pgs);
        if changed.is_empty() {
            if first_map && self.phase == Phase::Recovering {
                self.recovery_resend(now, outs);
            }
            return;
        }
        for &pg in &changed {
            self.events.push(EventKind::MembershipRefreshed {
                pg,
                mepoch: self.view.epoch(pg),
            });
        }
        match self.phase {
            Phase::Recovering => self.recovery_resend(now, outs),
            Phase::Open => {
                self.resend(outs);
                for &pg in &changed {
                    self.advance(now, pg, outs);
                }
            }
            Phase::Fenced => {}
        }
        let ids: Vec<u64> = self.fetches.keys().copied().collect();
        for id in ids {
            self.send_fetch(now, id, outs);
        }
    }

    /// PGMRPL: the lowest LSN any instance may still read at — this writer's snapshot
    /// transactions and page reads, and every replica that reported within
    /// `READ_POINT_TTL_MS` — never above VDL. Zero (collect nothing) until replicas have
    /// had that long to report to a newly opened writer. A replica whose report is
    /// older may find its oldest versions collected; storage then refuses the read.
    pub(super) fn min_read_point(&self, now: SimTime) -> Lsn {
        if now < self.opened_at + READ_POINT_TTL_MS {
            return Lsn::ZERO;
        }
        let snapshots = self
            .txns
            .values()
            .filter_map(|t| t.snapshot.as_ref().map(|s| s.0));
        let fetches = self.fetches.values().map(|f| f.at);
        let replicas = self
            .replica_points
            .values()
            .filter(|(_, at)| now.saturating_sub(*at) <= READ_POINT_TTL_MS)
            .map(|(l, _)| *l);
        snapshots
            .chain(fetches)
            .chain(replicas)
            .fold(self.vdl, Lsn::min)
    }
}
