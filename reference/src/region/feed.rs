//! The replication agent of a primary region: it ships the primary's *durable* redo
//! (records at or below VDL, in LSN order, whole MTRs) to the replication server of
//! every secondary region, and it is the managed-RPO gate.
//!
//! Contract:
//! - [`Feed::on_durable`] is called with records in LSN order, each batch ending at
//!   the new VDL (a CPL); nothing above VDL ever enters the feed.
//! - Shipments are `(after, upto]` ranges of that log; a server acknowledges the
//!   contiguous point it received and the point its storage made durable. The feed
//!   rewinds to the received point when a shipment is not acknowledged within
//!   `resend_ms` (lost datagram, partition), so every record reaches each server.
//! - Records stay in the feed until every target received them.
//! - A writer opened by recovery holds no redo at or below its recovered VDL (`floor`).
//!   A secondary that acknowledges a point below it is a gap ([`EventKind::GlobalFeedGap`]):
//!   the agent asks its owner for `(max(point, floor - FILL_LSNS), floor]` ([`Feed::fill_need`]),
//!   which the writer reads back from its volume's storage (a read quorum of every PG) and
//!   hands over complete ([`Feed::fill`]); the floor moves down over it and the target is
//!   rewound to its acknowledged point, so shipping resumes contiguously from there (bug
//!   `global-feed-gap`: no fill, the secondary never catches up).
//! - Managed RPO (`rds.global_db_rpo` = R): [`Feed::rpo_ok`] is true only while some
//!   secondary's RPO lag, as the feed can bound it, is ≤ R. The bound is conservative:
//!   the acknowledged durable point is never ahead of what secondary storage holds,
//!   so the estimated lag is never below the true lag.

use crate::bug::Bug;
use crate::event::EventKind;
use crate::types::{out, Lsn, Msg, Outbound, Record, SimTime};
use std::collections::{BTreeMap, BTreeSet};

/// The global coordinator's host name.
pub const GLOBAL: &str = "global";

/// At most this many records per shipment.
const SHIP_MAX: usize = 256;

/// A fill from storage covers at most this many LSNs per read.
pub const FILL_LSNS: u64 = 512;

#[derive(Clone, Debug, Default)]
pub struct FeedConfig {
    /// This (primary) region's name.
    pub region: String,
    /// Replication servers to ship to (one per secondary region).
    pub targets: Vec<String>,
    /// Managed RPO in ms (None: off).
    pub rpo_ms: Option<u64>,
    pub resend_ms: u64,
    pub bugs: BTreeSet<Bug>,
}

#[derive(Clone, Debug, Default)]
struct Target {
    /// Shipped up to here (optimistically).
    sent: Lsn,
    received: Lsn,
    durable: Lsn,
    last_ack: SimTime,
    /// The target acknowledged at least once (`received` is its word, not a default).
    acked: bool,
    gap: bool,
}

#[derive(Clone, Debug)]
pub struct Feed {
    pub cfg: FeedConfig,
    /// The global epoch this primary ships under.
    pub gepoch: u64,
    /// This epoch's promotion point (0 for the original primary).
    pub base: Lsn,
    /// The feed holds every durable record above this point (a writer opened by
    /// recovery holds nothing at or below its recovered VDL).
    pub floor: Lsn,
    log: BTreeMap<Lsn, Record>,
    /// CPL -> time the primary knew it durable.
    durable_at: BTreeMap<Lsn, SimTime>,
    pub vdl: Lsn,
    targets: BTreeMap<String, Target>,
    /// Switchover: the primary takes no more writes; `drained` once every target holds VDL.
    pub read_only: bool,
    /// Set by the owner: nothing allocated is still waiting to become durable.
    pub quiet: bool,
    blocked_since: Option<SimTime>,
    next_report: SimTime,
    pub events: Vec<EventKind>,
}

impl Feed {
    /// A feed whose targets all hold everything up to `base`; `log` holds the
    /// records above each target's point that a promoted region can still ship.
    pub fn new(
        cfg: FeedConfig,
        gepoch: u64,
        base: Lsn,
        floor: Lsn,
        vdl: Lsn,
        log: BTreeMap<Lsn, Record>,
    ) -> Feed {
        let targets = cfg
            .targets
            .iter()
            .map(|t| (t.clone(), Target::default()))
            .collect();
        let durable_at = log
            .iter()
            .filter(|(_, r)| r.cpl)
            .map(|(l, _)| (*l, 0))
            .collect();
        Feed {
            cfg,
            gepoch,
            base,
            floor,
            log,
            durable_at,
            vdl,
            targets,
            read_only: false,
            quiet: true,
            blocked_since: None,
            next_report: 0,
            events: vec![],
        }
    }

    /// New durable records (LSN order), the new VDL, and when it was reached.
    pub fn on_durable(&mut self, records: &[Record], vdl: Lsn, now: SimTime) {
        for r in records.iter().filter(|r| r.lsn <= vdl) {
            if r.cpl {
                self.durable_at.insert(r.lsn, now);
                self.events
                    .push(EventKind::GlobalPrimaryDurable { lsn: r.lsn });
            }
            self.log.insert(r.lsn, r.clone());
        }
        self.vdl = self.vdl.max(vdl);
    }

    /// The range to read back from storage for a gapped target, if any: `(after, floor]`
    /// with `after` the lowest point a target that acknowledged is known to hold (below
    /// `floor`), at most [`FILL_LSNS`] below `floor`. None under bug `global-feed-gap`.
    pub fn fill_need(&self) -> Option<(Lsn, Lsn)> {
        if self.cfg.bugs.contains(&Bug::GlobalFeedGap) {
            return None;
        }
        let low = self
            .targets
            .values()
            .filter(|t| t.acked && t.received < self.floor)
            .map(|t| t.received)
            .min()?;
        Some((
            Lsn(self.floor.0.saturating_sub(FILL_LSNS)).max(low),
            self.floor,
        ))
    }

    /// Records read back from storage: every durable record in `(after, upto]` (the caller
    /// checked the range complete), with `upto` the current floor. The floor moves down to
    /// `after`; targets below the old floor are rewound to what they acknowledged. A CPL's
    /// primary-durable time is taken as its allocation time (earlier than the truth, so the
    /// managed-RPO bound stays conservative).
    pub fn fill(&mut self, records: Vec<Record>, after: Lsn, upto: Lsn) {
        if upto != self.floor || after >= upto {
            return;
        }
        let n = records.len() as u64;
        for r in records
            .into_iter()
            .filter(|r| r.lsn > after && r.lsn <= upto)
        {
            if r.cpl {
                self.durable_at.entry(r.lsn).or_insert(r.at);
            }
            self.log.insert(r.lsn, r);
        }
        for t in self.targets.values_mut().filter(|t| t.received < upto) {
            t.sent = t.received;
            if t.received >= after {
                t.gap = false;
            }
        }
        self.floor = after;
        self.events.push(EventKind::GlobalFeedFilled {
            after,
            upto,
            records: n,
        });
    }

    /// Targets the coordinator added (a fenced old primary that rejoined as a secondary):
    /// each starts at zero and is rewound to what it acknowledges. `log` is the owner's
    /// own durable log (a promoted server's storage); what this feed already trimmed is
    /// taken back from it, so nothing at or below VDL is missing when it ships from there.
    pub fn add_targets(&mut self, names: &[String], log: &BTreeMap<Lsn, Record>) {
        let fresh: Vec<&String> = names
            .iter()
            .filter(|n| !self.targets.contains_key(*n))
            .collect();
        if fresh.is_empty() {
            return;
        }
        for n in fresh {
            self.targets.insert(n.clone(), Target::default());
        }
        for (l, r) in log.range(self.floor.next()..=self.vdl) {
            if r.cpl {
                self.durable_at.entry(*l).or_insert(r.at);
            }
            self.log.entry(*l).or_insert_with(|| r.clone());
        }
    }

    /// A server's acknowledgement.
    pub fn on_ack(&mut self, now: SimTime, from: &str, gepoch: u64, received: Lsn, durable: Lsn) {
        if gepoch != self.gepoch {
            return;
        }
        if let Some(t) = self.targets.get_mut(from) {
            t.received = t.received.max(received);
            t.durable = t.durable.max(durable);
            t.last_ack = now;
            t.acked = true;
            if t.sent < t.received {
                t.sent = t.received;
            }
        }
        // Keep what some target has not received yet.
        let low = self
            .targets
            .values()
            .map(|t| t.received)
            .min()
            .unwrap_or(self.vdl);
        let keep = self.log.split_off(&low.next());
        self.log = keep;
        let keep = self.durable_at.split_off(&low.next());
        self.durable_at = keep;
    }

    /// The RPO lag of one target as the feed bounds it (ms): age of the oldest commit
    /// durable here that the target's storage has not acknowledged.
    fn lag_ms(&self, now: SimTime, t: &Target) -> u64 {
        match self.durable_at.range(t.durable.next()..).next() {
            Some((_, at)) => now.saturating_sub(*at),
            None => 0,
        }
    }

    /// Managed RPO: may a commit be acknowledged now?
    pub fn rpo_ok(&self, now: SimTime) -> bool {
        let Some(r) = self.cfg.rpo_ms else {
            return true;
        };
        if self.cfg.bugs.contains(&Bug::GlobalRpoNotEnforced) || self.targets.is_empty() {
            return true;
        }
        self.targets
            .iter()
            .filter(|(n, _)| !self.in_region(n))
            .any(|(_, t)| self.lag_ms(now, t) <= r)
    }

    /// A target in the primary's own region (a rejoin server kept in step in-region) is
    /// not a secondary region: it never satisfies managed RPO.
    fn in_region(&self, target: &str) -> bool {
        target.starts_with(&format!("{}-", self.cfg.region))
    }

    /// Every target holds (durably) everything this primary made durable.
    pub fn drained(&self) -> bool {
        self.read_only && self.quiet && self.targets.values().all(|t| t.durable >= self.vdl)
    }

    /// Ship, resend, report to the coordinator, and note managed-RPO blocks.
    pub fn tick(&mut self, now: SimTime) -> Vec<Outbound> {
        let mut outs = vec![];
        let names: Vec<String> = self.targets.keys().cloned().collect();
        for name in names {
            let t = self.targets.get_mut(&name).unwrap();
            if t.sent > t.received && now.saturating_sub(t.last_ack) >= self.cfg.resend_ms {
                t.sent = t.received;
                t.last_ack = now;
            }
            // The feed holds nothing at or below `base` (a writer opened by recovery):
            // a target behind it cannot be served from here.
            let after = t.sent.max(self.floor);
            if t.acked && t.received < self.floor && !t.gap {
                t.gap = true;
                self.events.push(EventKind::GlobalFeedGap {
                    target: name.clone(),
                    received: t.received,
                    base: self.floor,
                });
            }
            if after >= self.vdl {
                continue;
            }
            let mut records = vec![];
            let mut upto = after;
            for (l, r) in self.log.range(after.next()..=self.vdl) {
                records.push(r.clone());
                if r.cpl {
                    upto = *l;
                    if records.len() >= SHIP_MAX {
                        break;
                    }
                }
            }
            records.retain(|r| r.lsn <= upto);
            if upto == after {
                continue;
            }
            let durable_at = self
                .durable_at
                .range(after.next()..=upto)
                .map(|(l, at)| (*l, *at))
                .collect();
            t.sent = upto;
            outs.push(out(
                name.clone(),
                Msg::GShip {
                    gepoch: self.gepoch,
                    base: self.base,
                    after,
                    upto,
                    records,
                    durable_at,
                },
            ));
        }
        let ok = self.rpo_ok(now);
        match (ok, self.blocked_since) {
            (false, None) => {
                self.blocked_since = Some(now);
                let lag_ms = self
                    .targets
                    .values()
                    .map(|t| self.lag_ms(now, t))
                    .min()
                    .unwrap_or(0);
                self.events.push(EventKind::GlobalRpoBlocked {
                    lag_ms,
                    rpo_ms: self.cfg.rpo_ms.unwrap_or(0),
                    reason: format!(
                        "managed RPO: every secondary lags more than {} ms (best {lag_ms} ms); commits wait",
                        self.cfg.rpo_ms.unwrap_or(0)
                    ),
                });
            }
            (true, Some(_)) => {
                self.blocked_since = None;
                self.events.push(EventKind::GlobalRpoUnblocked);
            }
            _ => {}
        }
        if now >= self.next_report {
            self.next_report = now + 100;
            outs.push(out(
                GLOBAL,
                Msg::GReport {
                    region: self.cfg.region.clone(),
                    gepoch: self.gepoch,
                    durable: self.vdl,
                    drained: self.drained(),
                },
            ));
        }
        outs
    }
}
