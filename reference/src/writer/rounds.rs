//! Fencing rounds: a read-only commit on the writer waits for a write quorum of every
//! PG to confirm the writer's volume epoch after its reads, so a deposed writer
//! cannot serve stale reads.

use super::Writer;
use crate::types::*;
use std::collections::BTreeMap;

impl Writer {
    pub(crate) fn park_round(
        &mut self,
        from: String,
        id: u64,
        started: SimTime,
        outs: &mut Vec<Outbound>,
    ) {
        let need = self.round_started + 1;
        self.round_waiters
            .entry(need)
            .or_default()
            .push((from, id, started));
        self.start_round(outs);
    }

    pub(super) fn start_round(&mut self, outs: &mut Vec<Outbound>) {
        self.round_started += 1;
        self.round_acks.insert(self.round_started, BTreeMap::new());
        // Rounds that never complete (partitions) must not pile up.
        while self.round_acks.len() > 16 {
            self.round_acks.pop_first();
        }
        self.send_round(self.round_started, outs);
    }

    pub(super) fn send_round(&self, round: u64, outs: &mut Vec<Outbound>) {
        for (pg, m) in self.view.iter() {
            for h in m.all() {
                outs.push(out(
                    h,
                    Msg::VdlHint {
                        epoch: self.epoch,
                        pg,
                        mepoch: m.epoch,
                        vdl: self.vdl,
                        mrp: self.mrp,
                        truncations: self.truncations_for(pg),
                        round,
                    },
                ));
            }
        }
    }

    pub(super) fn resend_round(&mut self, outs: &mut Vec<Outbound>) {
        if let Some(&r) = self.round_acks.keys().next_back() {
            if !self.round_waiters.is_empty() {
                self.send_round(r, outs);
            }
        }
    }

    pub(super) fn note_round_ack(
        &mut self,
        now: SimTime,
        round: u64,
        pg: PgId,
        seg: String,
        outs: &mut Vec<Outbound>,
    ) {
        let Some(acks) = self.round_acks.get_mut(&round) else {
            return;
        };
        acks.entry(pg).or_default().insert(seg);
        let done = {
            self.view
                .iter()
                .all(|(p, m)| acks.get(&p).map(|s| m.write_ok(s)).unwrap_or(false))
        };
        if !done {
            return;
        }
        self.round_acks = self.round_acks.split_off(&(round + 1));
        let rest = self.round_waiters.split_off(&(round + 1));
        for (_, ws) in std::mem::replace(&mut self.round_waiters, rest) {
            for (from, id, started) in ws {
                self.metrics.commit_latency(now.saturating_sub(started));
                outs.push(out(
                    from,
                    Msg::Reply {
                        id,
                        reply: ClientReply::Committed,
                    },
                ));
            }
        }
    }
}
