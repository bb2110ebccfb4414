//! Parallel query on the writer: a scan with a filter and an aggregate (count and sum of
//! the integer values ≥ `min` of keys in `[lo, hi]`) at one read point.
//!
//! - **Pushed down**: one `PqScan` per PG to a segment whose SCL reaches the PG's last
//!   record at or below the read point (a segment complete at that point); each segment
//!   evaluates over its page versions at the read point and returns its partial
//!   aggregate; the instance merges one answer per PG. A refused or lost request goes to
//!   another segment (after `resend_ms`).
//! - **Instance-side**: the instance reads every page of the range at the read point
//!   (`ReadPage`, the same rule for choosing a segment) and evaluates the filter itself.
//!
//! The read point is the VDL when the scan starts (or a given earlier point at or below
//! it); the per-PG `need` comes from the PG tails known durable then. A scan needs no
//! transaction and pins nothing; it answers `Scanned` with the result, the read point
//! and the messages and wire bytes the instance received for it.

use super::Writer;
use crate::types::*;
use std::collections::BTreeMap;

/// One part of a scan still outstanding: a PG (pushed down) or a page (instance-side).
struct Part {
    pg: PgId,
    page: Option<PageId>,
    tried: Vec<String>,
    deadline: SimTime,
}

struct Scan {
    from: String,
    req: u64,
    at: Lsn,
    tails: BTreeMap<PgId, Lsn>,
    lo: u64,
    hi: u64,
    min: i64,
    parts: BTreeMap<u64, Part>,
    count: u64,
    sum: i64,
    msgs: u64,
    bytes: u64,
}

/// The writer's scans in progress, and which request id belongs to which scan.
#[derive(Default)]
pub(crate) struct Scans {
    scans: BTreeMap<u64, Scan>,
    owner: BTreeMap<u64, u64>,
}

impl Writer {
    /// A `Scan` request: start it, or answer at once when the range is empty.
    pub(crate) fn pq_start(
        &mut self,
        now: SimTime,
        p: super::Parked,
        outs: &mut Vec<Outbound>,
    ) -> Option<ClientReply> {
        let ClientOp::Scan {
            lo,
            hi,
            min,
            pushdown,
            at,
        } = p.op
        else {
            return None;
        };
        let at = match at {
            Some(a) if a <= self.vdl => a,
            Some(_) => return Some(ClientReply::Err(WireError::Unavailable)),
            None => self.vdl,
        };
        self.next_id += 1;
        let sid = self.next_id;
        let mut scan = Scan {
            from: p.from,
            req: p.id,
            at,
            tails: self.pg_durable_tail.clone(),
            lo,
            hi,
            min,
            parts: BTreeMap::new(),
            count: 0,
            sum: 0,
            msgs: 0,
            bytes: 0,
        };
        let mut ids = vec![];
        let mut add = |w: &mut Writer, pg: PgId, page: Option<PageId>| {
            w.next_id += 1;
            let id = w.next_id;
            scan.parts.insert(
                id,
                Part {
                    pg,
                    page,
                    tried: vec![],
                    deadline: 0,
                },
            );
            ids.push(id);
        };
        if hi >= lo {
            if pushdown {
                let pgs: Vec<PgId> = self.view.iter().map(|(pg, _)| pg).collect();
                for pg in pgs {
                    add(self, pg, None);
                }
            } else {
                for page in page_of(lo)..=page_of(hi) {
                    let pg = self.view.pg_of_page(page);
                    add(self, pg, Some(page));
                }
            }
        }
        if scan.parts.is_empty() {
            return Some(reply(&scan));
        }
        for id in &ids {
            self.pq.owner.insert(*id, sid);
        }
        self.pq.scans.insert(sid, scan);
        for id in ids {
            self.pq_send(now, sid, id, outs);
        }
        None
    }

    /// Send (or resend) one part to a segment whose SCL reaches its need, untried first.
    fn pq_send(&mut self, now: SimTime, sid: u64, id: u64, outs: &mut Vec<Outbound>) {
        let epoch = self.epoch;
        let resend = self.cfg.resend_ms;
        let Some(pg) = self
            .pq
            .scans
            .get(&sid)
            .and_then(|s| s.parts.get(&id))
            .map(|p| p.pg)
        else {
            return;
        };
        let dgen = deact_gen(&self.truncations_for(pg));
        let s = self.pq.scans.get_mut(&sid).unwrap();
        let part = s.parts.get_mut(&id).unwrap();
        let need = s.tails.get(&pg).copied().unwrap_or_default();
        let members = self.view.get(pg).all();
        let scl = self.seg_scl.get(&pg);
        let good = |m: &String| {
            scl.and_then(|x| x.get(m))
                .map(|l| *l >= need)
                .unwrap_or(need == Lsn::ZERO)
        };
        let target = members
            .iter()
            .find(|m| good(m) && !part.tried.contains(m))
            .or_else(|| members.iter().find(|m| !part.tried.contains(m)))
            .cloned();
        let target = match target {
            Some(t) => t,
            None => {
                part.tried.clear();
                members[0].clone()
            }
        };
        part.tried.push(target.clone());
        part.deadline = now + resend;
        let msg = match part.page {
            None => Msg::PqScan {
                id,
                epoch,
                pg,
                mepoch: self.view.epoch(pg),
                at: s.at,
                need,
                lo: s.lo,
                hi: s.hi,
                min: s.min,
                dgen,
            },
            Some(page) => Msg::ReadPage {
                id,
                epoch,
                pg,
                mepoch: self.view.epoch(pg),
                page,
                at: s.at,
                need,
                dgen,
            },
        };
        outs.push(out(target, msg));
    }

    pub(crate) fn pq_owns(&self, id: u64) -> bool {
        self.pq.owner.contains_key(&id)
    }

    /// A segment's partial aggregate for a pushed-down part.
    pub(crate) fn pq_on_result(
        &mut self,
        now: SimTime,
        id: u64,
        result: Option<(u64, i64)>,
        outs: &mut Vec<Outbound>,
    ) {
        let size = Msg::PqResult { id, result }.wire_size();
        let partial = result;
        self.pq_answer(now, id, size, partial, outs);
    }

    /// A page read for an instance-side part: evaluate the filter over it here.
    pub(crate) fn pq_on_page(
        &mut self,
        now: SimTime,
        id: u64,
        image: Option<PageImage>,
        outs: &mut Vec<Outbound>,
    ) {
        let msg = Msg::PageData { id, image };
        let size = msg.wire_size();
        let Msg::PageData { image, .. } = msg else {
            unreachable!()
        };
        let partial = match (image, self.pq.owner.get(&id)) {
            (Some(img), Some(sid)) => {
                let s = &self.pq.scans[sid];
                Some(aggregate(
                    img.iter().map(|(k, (_, v))| (*k, v)),
                    s.lo,
                    s.hi,
                    s.min,
                ))
            }
            _ => None,
        };
        self.pq_answer(now, id, size, partial, outs);
    }

    fn pq_answer(
        &mut self,
        now: SimTime,
        id: u64,
        size: u64,
        partial: Option<(u64, i64)>,
        outs: &mut Vec<Outbound>,
    ) {
        let Some(&sid) = self.pq.owner.get(&id) else {
            return;
        };
        let s = self.pq.scans.get_mut(&sid).unwrap();
        s.msgs += 1;
        s.bytes += size;
        let Some((c, sum)) = partial else {
            return self.pq_send(now, sid, id, outs);
        };
        if s.parts.remove(&id).is_none() {
            return;
        }
        self.pq.owner.remove(&id);
        s.count += c;
        s.sum += sum;
        if s.parts.is_empty() {
            let s = self.pq.scans.remove(&sid).unwrap();
            outs.push(out(
                s.from.clone(),
                Msg::Reply {
                    id: s.req,
                    reply: reply(&s),
                },
            ));
        }
    }

    /// Resend parts past their deadline (lost message, dead or partitioned segment).
    pub(crate) fn pq_retry(&mut self, now: SimTime, outs: &mut Vec<Outbound>) {
        let late: Vec<(u64, u64)> = self
            .pq
            .scans
            .iter()
            .flat_map(|(sid, s)| {
                s.parts
                    .iter()
                    .filter(|(_, p)| p.deadline <= now)
                    .map(move |(id, _)| (*sid, *id))
            })
            .collect();
        for (sid, id) in late {
            self.pq_send(now, sid, id, outs);
        }
    }
}

fn reply(s: &Scan) -> ClientReply {
    ClientReply::Scanned {
        count: s.count,
        sum: s.sum,
        at: s.at,
        msgs: s.msgs,
        bytes: s.bytes,
    }
}

/// The scan's filter and aggregate over (key, value) pairs: integer values ≥ `min` of
/// keys in `[lo, hi]`; (count, sum). Shared by storage and the instance.
pub fn aggregate<'a>(
    kvs: impl Iterator<Item = (u64, &'a Datum)>,
    lo: u64,
    hi: u64,
    min: i64,
) -> (u64, i64) {
    let mut r = (0, 0);
    for (k, v) in kvs {
        if let (true, Datum::Int(x)) = (k >= lo && k <= hi, v) {
            if *x >= min {
                r.0 += 1;
                r.1 += *x;
            }
        }
    }
    r
}
