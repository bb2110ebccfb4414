//! The global coordinator (host `global`): the global database's control plane. It
//! holds the global epoch and which region is primary (durably), grants the primary
//! region a write lease, answers the global writer and regional reader endpoints,
//! and carries out switchover and failover.
//!
//! - Lease: the primary region takes writes only while it holds an unexpired lease
//!   (renewed every `RENEW_MS`, valid `LEASE_MS`). A failover promotes only after the
//!   last lease granted to the old primary has expired, so a primary cut off from the
//!   coordinator stops taking writes before another region starts; one that comes
//!   back never gets a lease again under the newer epoch (fenced: it can never accept
//!   a write), and what it reports beyond the promoted point is recorded.
//! - Switchover (planned): the primary goes read-only, the coordinator waits until the
//!   primary reports itself drained (nothing in flight) and the target's durable point
//!   equals the primary's, then bumps the epoch and promotes the target at exactly
//!   that point: RPO 0.
//! - Failover (unplanned): after the lease expired, the target is promoted at its own
//!   durable point (a committed prefix of the old primary's log; it may miss the last
//!   lag window).
//! - Rejoin (regions in `rejoin`, opt-in): when a fenced old primary reports again (it is
//!   back), its tail beyond the promoted point is recorded first; then the region's entry
//!   becomes its replication server, which is unfenced as a *secondary*: it gets role
//!   messages and is in the primary's `ship_to`, never a lease. Reports from the region's
//!   old entry are not taken as the region's any more (only its divergence is recorded).

use crate::bug::Bug;
use crate::event::EventKind;
use crate::types::*;
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;

/// Write-lease validity and renewal period.
pub const LEASE_MS: SimTime = 2_000;
pub const RENEW_MS: SimTime = 200;
/// Margin past the old lease before a failover promotes (clock-free: one sim clock).
const LEASE_MARGIN_MS: SimTime = 100;

/// What the driver asks for (through [`super::GlobalHandle`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RoleChange {
    Switchover { to: String },
    Failover { to: String },
}

/// The coordinator's durable state.
#[derive(Clone, Debug, Default)]
pub struct CoordDisk {
    pub gepoch: u64,
    pub primary: String,
    pub requested: Option<(RoleChange, SimTime)>,
    /// Highest lease ever granted to the current primary.
    pub lease_granted: SimTime,
    /// Completed role changes: (sim ms requested, sim ms done, region, point, kind).
    pub done: Vec<(SimTime, SimTime, String, Lsn, String)>,
    /// Old primaries and the promoted point they must not go beyond.
    pub fenced: BTreeMap<String, Lsn>,
}

pub struct Coordinator {
    pub disk: Rc<RefCell<CoordDisk>>,
    /// Region -> the host that speaks for it (`control` or `{region}-rs`).
    pub regions: BTreeMap<String, String>,
    /// Region -> the replication server that becomes its entry when it rejoins as a
    /// secondary after being fenced (opt-in; empty: fenced old primaries stay out).
    pub rejoin: BTreeMap<String, String>,
    /// Regions that rejoined: only their new entry's reports count.
    rejoined: BTreeSet<String>,
    /// Region -> last report (gepoch, durable, drained).
    reports: BTreeMap<String, (u64, Lsn, bool)>,
    next_renew: SimTime,
    dns_ttl_ms: u64,
    bugs: BTreeSet<Bug>,
    pub events: Vec<EventKind>,
}

impl Coordinator {
    pub fn new(
        disk: Rc<RefCell<CoordDisk>>,
        regions: BTreeMap<String, String>,
        dns_ttl_ms: u64,
        bugs: BTreeSet<Bug>,
    ) -> Self {
        Coordinator {
            disk,
            regions,
            rejoin: BTreeMap::new(),
            rejoined: BTreeSet::new(),
            reports: BTreeMap::new(),
            next_renew: 0,
            dns_ttl_ms,
            bugs,
            events: vec![],
        }
    }

    fn host_of(&self, region: &str) -> String {
        self.regions.get(region).cloned().unwrap_or_default()
    }

    pub fn handle(&mut self, now: SimTime, from: &str, msg: Msg) -> Vec<Outbound> {
        match msg {
            Msg::GReport {
                region,
                gepoch,
                durable,
                drained,
            } => {
                // A rejoin server speaks for its region only once the region rejoined.
                if self.rejoin.get(&region).is_some_and(|h| h == from) {
                    return vec![];
                }
                let fence = self.disk.borrow().fenced.get(&region).copied();
                if let Some(p) = fence {
                    if gepoch < self.disk.borrow().gepoch && durable > p {
                        self.events.push(EventKind::GlobalDiverged {
                            region: region.clone(),
                            promoted_at: p,
                            beyond: durable,
                        });
                        // Recorded once: the old primary's extra tail is not merged.
                        self.disk
                            .borrow_mut()
                            .fenced
                            .insert(region.clone(), durable);
                    }
                }
                if self.rejoined.contains(&region) && from != self.host_of(&region) {
                    return vec![];
                }
                let back = fence.is_some() && gepoch < self.disk.borrow().gepoch;
                if back && self.rejoin.contains_key(&region) {
                    return self.rejoin_region(now, &region);
                }
                self.reports.insert(region, (gepoch, durable, drained));
                vec![]
            }
            Msg::Resolve { id, endpoint } => {
                let target = self.resolve(&endpoint);
                vec![out(
                    from,
                    Msg::Resolved {
                        id,
                        target,
                        ttl_ms: self.dns_ttl_ms,
                    },
                )]
            }
            _ => vec![],
        }
    }

    /// A fenced old primary is back (its divergence recorded): its replication server
    /// becomes the region's entry as a secondary of the current primary.
    fn rejoin_region(&mut self, now: SimTime, region: &str) -> Vec<Outbound> {
        let Some(host) = self.rejoin.remove(region) else {
            return vec![];
        };
        self.regions.insert(region.to_string(), host.clone());
        self.rejoined.insert(region.to_string());
        self.reports.remove(region);
        let gepoch = {
            let mut d = self.disk.borrow_mut();
            d.fenced.remove(region);
            d.gepoch
        };
        self.events.push(EventKind::GlobalRejoined {
            region: region.to_string(),
            gepoch,
        });
        // Tell the region and the primary at once (the next renewal would, within 200 ms).
        let primary = self.disk.borrow().primary.clone();
        let mut outs = vec![out(host, self.role_msg(now, region))];
        let m = self.role_msg(now, &primary);
        if let Msg::GRole { lease_until, .. } = &m {
            let mut d = self.disk.borrow_mut();
            d.lease_granted = d.lease_granted.max(*lease_until);
        }
        outs.push(out(self.host_of(&primary), m));
        outs
    }

    /// `global-writer` -> the primary region's entry (`r0`: ask its control plane;
    /// otherwise the region's server); `region-reader:{r}` -> that region's entry.
    fn resolve(&self, endpoint: &str) -> Option<String> {
        let d = self.disk.borrow();
        if endpoint == "global-writer" {
            if d.requested.is_some() {
                return None;
            }
            return Some(d.primary.clone());
        }
        // A rejoined primary region (`r0`) is served by its replication server: answered
        // by host name (the client takes an answer ending in `-rs` as the host itself).
        endpoint
            .strip_prefix("region-reader:")
            .filter(|r| self.regions.contains_key(*r))
            .map(|r| match self.regions.get(r) {
                Some(h) if r == super::PRIMARY && h != "control" => h.clone(),
                _ => r.to_string(),
            })
    }

    fn role_msg(&self, now: SimTime, region: &str) -> Msg {
        let d = self.disk.borrow();
        let is_primary = d.primary == region;
        let switching = matches!(d.requested, Some((RoleChange::Failover { .. }, _)));
        let read_only = matches!(d.requested, Some((RoleChange::Switchover { .. }, _)));
        Msg::GRole {
            gepoch: d.gepoch,
            primary: d.primary.clone(),
            lease_until: if is_primary && !switching {
                now + LEASE_MS
            } else {
                0
            },
            ship_to: self
                .regions
                .iter()
                .filter(|(r, _)| *r != &d.primary && !d.fenced.contains_key(*r))
                .map(|(_, h)| h.clone())
                .filter(|h| h != "control")
                .collect(),
            read_only: is_primary && read_only,
            start_after: Lsn(u64::MAX),
        }
    }

    pub fn tick(&mut self, now: SimTime) -> Vec<Outbound> {
        let mut outs = vec![];
        self.progress(now, &mut outs);
        if now >= self.next_renew {
            self.next_renew = now + RENEW_MS;
            let regions: Vec<String> = self.regions.keys().cloned().collect();
            for r in regions {
                let m = self.role_msg(now, &r);
                if let Msg::GRole { lease_until, .. } = &m {
                    if *lease_until > 0 {
                        let mut d = self.disk.borrow_mut();
                        d.lease_granted = d.lease_granted.max(*lease_until);
                    }
                }
                outs.push(out(self.host_of(&r), m));
            }
        }
        outs
    }

    /// Carry a requested role change forward.
    fn progress(&mut self, now: SimTime, outs: &mut Vec<Outbound>) {
        let req = self.disk.borrow().requested.clone();
        let Some((change, asked)) = req else { return };
        let (to, point, kind) = match &change {
            RoleChange::Switchover { to } => {
                let old = self.disk.borrow().primary.clone();
                let (_, pd, drained) = self.reports.get(&old).copied().unwrap_or_default();
                let (_, td, _) = self.reports.get(to).copied().unwrap_or_default();
                let no_drain = self.bugs.contains(&Bug::GlobalSwitchoverNoDrain);
                if !no_drain && !(drained && td >= pd) {
                    return;
                }
                (
                    to.clone(),
                    if no_drain { Lsn(u64::MAX) } else { pd },
                    "switchover",
                )
            }
            RoleChange::Failover { to } => {
                let wait = if self.bugs.contains(&Bug::GlobalSlowFailover) {
                    30 * LEASE_MS
                } else {
                    LEASE_MARGIN_MS
                };
                if now < self.disk.borrow().lease_granted + wait {
                    return;
                }
                (to.clone(), Lsn(u64::MAX), "failover")
            }
        };
        let mut d = self.disk.borrow_mut();
        let old = std::mem::replace(&mut d.primary, to.clone());
        d.gepoch += 1;
        d.requested = None;
        d.lease_granted = 0;
        let reported = self.reports.get(&old).map(|r| r.1).unwrap_or_default();
        d.fenced.insert(old.clone(), reported.min(point));
        d.fenced.remove(&to);
        d.done
            .push((asked, now, to.clone(), point, kind.to_string()));
        let gepoch = d.gepoch;
        drop(d);
        self.events.push(EventKind::GlobalRoleChanged {
            kind: kind.to_string(),
            from: old,
            to: to.clone(),
            gepoch,
        });
        let mut m = self.role_msg(now, &to);
        if let Msg::GRole {
            start_after,
            lease_until,
            ..
        } = &mut m
        {
            *start_after = point;
            self.disk.borrow_mut().lease_granted = *lease_until;
        }
        outs.push(out(self.host_of(&to), m));
    }
}
