//! A secondary region's replication server and reader (host `{region}-rs`); after a
//! switchover or failover, the same host is its region's writer.
//!
//! Secondary: shipments from the primary's [`Feed`] are taken in LSN order only
//! (an early one waits in `pending` until the gap before it is filled), written to the
//! region's 3 storage hosts ([`super::store`]), and the region's durable point
//! advances only to what 2 of the 3 hosts (4 of 6 segments) acknowledged. Records are
//! applied to the read state only up to that durable point, in LSN order; read-only
//! transactions read a snapshot at the durable point when they begin.
//!
//! Primary (promoted): a compact writer over the same storage. Transactions read the
//! durable state and are validated at commit (a read key's newest allocated version
//! must still be the one read: serializable, and strict because reads never see
//! a write that is not durable); a commit's records are allocated above the log's
//! end, written to storage, and acknowledged once durable (and, under managed RPO,
//! once the feed allows). It writes only under the coordinator's lease.

mod txn;

use super::feed::{Feed, FeedConfig, GLOBAL};
use crate::bug::Bug;
use crate::event::EventKind;
use crate::types::*;
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;

/// What the server keeps across restarts (a stand-in for re-reading its storage).
#[derive(Clone, Debug, Default)]
pub struct ServerDisk {
    /// The newest global epoch this server heard of (from the coordinator or a shipment).
    pub gepoch: u64,
    /// The global epoch whose primary's log `log` follows (its branch). It moves only when
    /// a shipment of a newer epoch arrives (carrying that branch's base) or on promotion —
    /// never on the coordinator's word alone, which carries no branch point: adopting a new
    /// epoch without its base kept an old primary's tail beyond the promoted point and
    /// merged it with the new primary's records at the same LSNs (issue 11's
    /// second-failover loss).
    pub branch: u64,
    pub primary: bool,
    pub log: BTreeMap<Lsn, Record>,
    /// Everything at or below this was received (contiguously).
    pub received: Lsn,
    pub next_txn: u64,
}

#[derive(Clone, Debug, Default)]
struct Txn {
    read_only: bool,
    point: Lsn,
    reads: BTreeMap<u64, Lsn>,
    writes: BTreeMap<u64, Datum>,
}

pub struct RegionServer {
    pub name: String,
    pub region: String,
    pub stores: Vec<String>,
    pub disk: Rc<RefCell<ServerDisk>>,
    pgs: u64,
    rpo_ms: Option<u64>,
    bugs: BTreeSet<Bug>,
    /// Early shipments: after -> (upto, records).
    pending: BTreeMap<Lsn, (Lsn, Vec<Record>)>,
    /// Per store host: (sent up to, acknowledged SCL, last ack time).
    store: BTreeMap<String, (Lsn, Lsn, SimTime)>,
    pub durable: Lsn,
    /// key -> values in the order they were applied, with their LSNs.
    state: BTreeMap<u64, Vec<(Lsn, Datum)>>,
    applied: Lsn,
    txns: BTreeMap<u64, Txn>,
    latest: BTreeMap<u64, Lsn>,
    waiters: BTreeMap<Lsn, Vec<(String, u64)>>,
    feed: Option<Feed>,
    lease_until: SimTime,
    read_only: bool,
    base: Lsn,
    next_report: SimTime,
    /// The primary's agent that last shipped here (acks go back to it).
    upstream: Option<String>,
    /// The global epoch a primary last shipped here under (a fenced former primary is
    /// never fed, so it serves nothing).
    fed: Option<u64>,
    pub events: Vec<EventKind>,
}

fn reply(to: &str, id: u64, r: ClientReply) -> Outbound {
    out(to, Msg::Reply { id, reply: r })
}

impl RegionServer {
    pub fn new(
        name: String,
        region: String,
        stores: Vec<String>,
        disk: Rc<RefCell<ServerDisk>>,
        pgs: u64,
        rpo_ms: Option<u64>,
        bugs: BTreeSet<Bug>,
    ) -> Self {
        let store = stores
            .iter()
            .map(|s| (s.clone(), Default::default()))
            .collect();
        let s = RegionServer {
            name,
            region,
            stores,
            disk,
            pgs,
            rpo_ms,
            bugs,
            pending: BTreeMap::new(),
            store,
            durable: Lsn::ZERO,
            state: BTreeMap::new(),
            applied: Lsn::ZERO,
            txns: BTreeMap::new(),
            latest: BTreeMap::new(),
            waiters: BTreeMap::new(),
            feed: None,
            lease_until: 0,
            read_only: false,
            base: Lsn::ZERO,
            next_report: 0,
            upstream: None,
            fed: None,
            events: vec![],
        };
        // After a restart the durable point is re-learned from storage acks; the
        // store senders start from zero and are corrected by the first acks.
        s.disk.borrow_mut().next_txn += 1 << 20;
        s
    }

    fn is_primary(&self) -> bool {
        self.disk.borrow().primary
    }

    /// Apply durable records to the read state, in LSN order.
    fn apply_durable(&mut self) {
        if self.durable <= self.applied {
            return;
        }
        let d = self.disk.borrow();
        for (l, r) in d.log.range(self.applied.next()..=self.durable) {
            self.state
                .entry(r.key)
                .or_default()
                .push((*l, r.value.clone()));
        }
        drop(d);
        self.applied = self.durable;
    }

    fn value_at(&self, key: u64, at: Lsn) -> (Lsn, Datum) {
        self.state
            .get(&key)
            .and_then(|v| v.iter().rev().find(|(l, _)| *l <= at).cloned())
            .unwrap_or((Lsn::ZERO, Datum::Nil))
    }

    /// Recompute the durable point: the SCL that 2 of the 3 hosts reached.
    fn advance(&mut self, now: SimTime, outs: &mut Vec<Outbound>) {
        let mut scls: Vec<Lsn> = self.store.values().map(|s| s.1).collect();
        scls.sort();
        scls.reverse();
        let q = scls.get(1).copied().unwrap_or_default();
        let q = q.min(self.disk.borrow().received);
        if q <= self.durable {
            return;
        }
        let newly: Vec<Record> = self
            .disk
            .borrow()
            .log
            .range(self.durable.next()..=q)
            .map(|(_, r)| r.clone())
            .collect();
        self.durable = q;
        if !self.bugs.contains(&Bug::GlobalOutOfOrder) {
            self.apply_durable();
        }
        if let Some(f) = self.feed.as_mut() {
            f.on_durable(&newly, q, now);
        }
        if self.feed.is_none() {
            // Tell the agent at once: managed RPO and switchover drains wait on this.
            if let Some(up) = self.upstream.clone() {
                outs.push(self.ship_ack(&up));
            }
        }
        let rpo_ok = self.feed.as_ref().map(|f| f.rpo_ok(now)).unwrap_or(true);
        if rpo_ok {
            self.ack_commits(outs);
        }
    }

    fn ack_commits(&mut self, outs: &mut Vec<Outbound>) {
        let rest = self.waiters.split_off(&self.durable.next());
        for (lsn, ws) in std::mem::replace(&mut self.waiters, rest) {
            for (from, id) in ws {
                self.events.push(EventKind::GlobalCommitAcked {
                    region: self.region.clone(),
                    lsn,
                });
                outs.push(reply(&from, id, ClientReply::Committed));
            }
        }
    }

    /// Take a shipment (secondary).
    fn on_ship(&mut self, gepoch: u64, base: Lsn, after: Lsn, upto: Lsn, records: Vec<Record>) {
        let mut d = self.disk.borrow_mut();
        if gepoch < d.gepoch || d.primary && gepoch == d.gepoch {
            return;
        }
        self.fed = Some(gepoch);
        // A new branch is recognised by the branch epoch, not `gepoch`: the coordinator's
        // role message may have raised `gepoch` first, without the branch point. (Bug
        // `global-branch-on-role`: compare with `gepoch`, as the first version did.)
        let branch = if self.bugs.contains(&Bug::GlobalBranchOnRole) {
            d.gepoch
        } else {
            d.branch
        };
        if gepoch > branch {
            d.gepoch = gepoch;
            d.branch = gepoch;
            d.primary = false;
            // Bug `global-rejoin-merges-tail`: the tail beyond the branch point is kept
            // (and stays readable); the new primary's records at those LSNs are dropped.
            let merge = self.bugs.contains(&Bug::GlobalRejoinMergesTail);
            if d.received > base && !merge {
                self.events.push(EventKind::GlobalDiverged {
                    region: self.region.clone(),
                    promoted_at: base,
                    beyond: d.received,
                });
                let _ = d.log.split_off(&base.next());
                d.received = base;
                self.pending.clear();
                for st in self.store.values_mut() {
                    *st = (Lsn::ZERO, Lsn::ZERO, 0);
                }
                self.durable = self.durable.min(base);
                drop(d);
                self.rebuild();
                d = self.disk.borrow_mut();
            }
            self.base = base;
        }
        if self.bugs.contains(&Bug::GlobalOutOfOrder) {
            // Bug: apply on arrival, whatever came before.
            for r in records {
                self.state
                    .entry(r.key)
                    .or_default()
                    .push((r.lsn, r.value.clone()));
                d.log.insert(r.lsn, r);
            }
            d.received = d.received.max(upto);
            return;
        }
        self.pending.insert(after, (upto, records));
        while let Some(a) = self.pending.keys().next().copied() {
            if a > d.received {
                break;
            }
            let (u, recs) = self.pending.remove(&a).unwrap();
            if u > d.received {
                let low = d.received;
                for r in recs.into_iter().filter(|r| r.lsn > low) {
                    d.log.insert(r.lsn, r);
                }
                d.received = u;
            }
        }
    }

    /// A new epoch: storage acknowledgements of the old branch no longer count, and the
    /// stores are re-synced from the branch point (they truncate above it themselves).
    fn reset_stores(&mut self) {
        for s in self.store.values_mut() {
            *s = (Lsn::ZERO, Lsn::ZERO, 0);
        }
    }

    /// Rebuild the read state from the log up to the durable point.
    fn rebuild(&mut self) {
        self.state.clear();
        self.applied = Lsn::ZERO;
        self.apply_durable();
    }

    fn on_role(&mut self, now: SimTime, m: &Msg) {
        let Msg::GRole {
            gepoch,
            primary,
            lease_until,
            ship_to,
            read_only,
            start_after,
        } = m
        else {
            return;
        };
        let mine = *primary == self.region;
        let (cur, was_primary) = {
            let d = self.disk.borrow();
            (d.gepoch, d.primary)
        };
        if *gepoch < cur {
            return;
        }
        if mine && (*gepoch > cur || !was_primary) {
            self.promote(now, *gepoch, *start_after, ship_to.clone());
        } else if mine && self.feed.is_none() {
            // Restarted as the primary: resume shipping from the log it kept.
            let log = self.disk.borrow().log.clone();
            self.latest = log.values().map(|r| (r.key, r.lsn)).collect();
            let cfg = FeedConfig {
                region: self.region.clone(),
                targets: ship_to.clone(),
                rpo_ms: self.rpo_ms,
                resend_ms: 400,
                bugs: self.bugs.clone(),
            };
            let vdl = self.durable;
            self.feed = Some(Feed::new(cfg, *gepoch, self.base, Lsn::ZERO, vdl, log));
        } else if !mine && *gepoch > cur {
            let mut d = self.disk.borrow_mut();
            d.gepoch = *gepoch;
            d.primary = false;
            drop(d);
            self.feed = None;
            self.txns.clear();
        }
        if mine {
            self.lease_until = *lease_until;
            self.read_only = *read_only;
            if let Some(f) = self.feed.as_mut() {
                f.read_only = *read_only;
                // A region that rejoined as a secondary: ship to it too, from its point.
                f.add_targets(ship_to, &self.disk.borrow().log);
            }
        }
    }

    fn promote(&mut self, now: SimTime, gepoch: u64, start_after: Lsn, ship_to: Vec<String>) {
        let p = start_after.min(self.durable);
        let mut d = self.disk.borrow_mut();
        if d.received > p {
            self.events.push(EventKind::GlobalDiverged {
                region: self.region.clone(),
                promoted_at: p,
                beyond: d.received,
            });
            let _ = d.log.split_off(&p.next());
            d.received = p;
        }
        d.gepoch = gepoch;
        d.branch = gepoch;
        d.primary = true;
        let log = d.log.clone();
        drop(d);
        self.reset_stores();
        self.pending.clear();
        self.durable = p;
        self.rebuild();
        self.base = p;
        self.latest = log.values().map(|r| (r.key, r.lsn)).collect();
        let cfg = FeedConfig {
            region: self.region.clone(),
            targets: ship_to,
            rpo_ms: self.rpo_ms,
            resend_ms: 400,
            bugs: self.bugs.clone(),
        };
        self.feed = Some(Feed::new(cfg, gepoch, p, Lsn::ZERO, p, log));
        self.events.push(EventKind::GlobalPromoted {
            region: self.region.clone(),
            gepoch,
            at: p,
        });
        let _ = now;
    }

    fn writable(&self, now: SimTime) -> bool {
        self.is_primary()
            && !self.read_only
            && (now < self.lease_until || self.bugs.contains(&Bug::GlobalNoFence))
    }

    /// Write `(sent, received]` to each storage host, resending what was not acknowledged.
    fn ship_to_stores(&mut self, now: SimTime, outs: &mut Vec<Outbound>) {
        let d = self.disk.borrow();
        for (host, (sent, acked, last)) in self.store.iter_mut() {
            if *sent > *acked && now.saturating_sub(*last) >= 40 {
                *sent = *acked;
                *last = now;
            }
            if *sent >= d.received {
                continue;
            }
            let mut records = vec![];
            let mut upto = *sent;
            for (l, r) in d.log.range(sent.next()..=d.received) {
                records.push(r.clone());
                if r.cpl {
                    upto = *l;
                    if records.len() >= 256 {
                        break;
                    }
                }
            }
            records.retain(|r| r.lsn <= upto);
            if upto == *sent {
                continue;
            }
            outs.push(out(
                host.clone(),
                Msg::GStore {
                    gepoch: if self.bugs.contains(&Bug::GlobalBranchOnRole) {
                        d.gepoch
                    } else {
                        d.branch
                    },
                    base: self.base,
                    after: *sent,
                    upto,
                    records,
                },
            ));
            *sent = upto;
        }
    }

    fn ship_ack(&self, to: &str) -> Outbound {
        let d = self.disk.borrow();
        out(
            to,
            Msg::GShipAck {
                gepoch: d.gepoch,
                region: self.region.clone(),
                received: d.received,
                durable: self.durable,
            },
        )
    }

    pub fn handle(&mut self, now: SimTime, from: &str, msg: Msg) -> Vec<Outbound> {
        let mut outs = vec![];
        match msg {
            Msg::GShip {
                gepoch,
                base,
                after,
                upto,
                records,
                ..
            } => {
                self.on_ship(gepoch, base, after, upto, records);
                if !self.is_primary() {
                    self.upstream = Some(from.to_string());
                }
                outs.push(self.ship_ack(from));
                // Storage writes go out on the next tick (every few ms: group commit).
            }
            Msg::GStored { gepoch, scl } => {
                let d = self.disk.borrow();
                let branch = if self.bugs.contains(&Bug::GlobalBranchOnRole) {
                    d.gepoch
                } else {
                    d.branch
                };
                drop(d);
                if gepoch == branch {
                    if let Some(s) = self.store.get_mut(from) {
                        s.1 = s.1.max(scl);
                        s.0 = s.0.max(scl);
                        s.2 = now;
                    }
                    self.advance(now, &mut outs);
                }
            }
            Msg::GShipAck {
                gepoch,
                received,
                durable,
                ..
            } => {
                if let Some(f) = self.feed.as_mut() {
                    f.on_ack(now, from, gepoch, received, durable);
                }
            }
            m @ Msg::GRole { .. } => self.on_role(now, &m),
            Msg::Request { id, txn, op } => {
                outs.extend(self.on_request(now, from, id, txn, op));
                self.ship_to_stores(now, &mut outs);
            }
            _ => {}
        }
        outs
    }

    pub fn tick(&mut self, now: SimTime) -> Vec<Outbound> {
        let mut outs = vec![];
        self.ship_to_stores(now, &mut outs);
        if let Some(f) = self.feed.as_mut() {
            f.quiet = self.waiters.is_empty();
            outs.extend(f.tick(now));
            self.events.append(&mut f.events);
            if f.rpo_ok(now) {
                self.ack_commits(&mut outs);
            }
        } else if now >= self.next_report {
            self.next_report = now + 100;
            if let Some(up) = self.upstream.clone() {
                outs.push(self.ship_ack(&up));
            }
            let d = self.disk.borrow();
            outs.push(out(
                GLOBAL,
                Msg::GReport {
                    region: self.region.clone(),
                    gepoch: d.gepoch,
                    durable: self.durable,
                    drained: false,
                },
            ));
        }
        outs
    }
}
