//! The primary region's side of the global database, held by its control plane:
//! the coordinator's write lease and fence. While the region is not the primary or
//! its lease has expired, the control plane appoints no writer (the current one is
//! demoted to a replica) and the cluster endpoint resolves to nothing, so the region
//! cannot accept a write; a switchover's read-only order is forwarded to the writer.
//! After a restart there is no lease until the coordinator grants one, so a region
//! that comes back after a failover never takes a write under the old epoch.

use super::feed::GLOBAL;
use crate::bug::Bug;
use crate::types::*;
use std::collections::BTreeSet;

#[derive(Clone, Debug, Default)]
pub struct RegionGate {
    pub region: String,
    pub gepoch: u64,
    pub primary: String,
    pub lease_until: SimTime,
    pub read_only: bool,
    /// The writer's VDL as its heartbeats last said (what this region held).
    pub last_vdl: Lsn,
    next_report: SimTime,
    bugs: BTreeSet<Bug>,
}

impl RegionGate {
    pub fn new(region: String, bugs: BTreeSet<Bug>) -> Self {
        RegionGate {
            region,
            bugs,
            ..Default::default()
        }
    }

    /// May this region have a writer now?
    pub fn allows_writer(&self, now: SimTime) -> bool {
        // Bug `global-no-fence`: the old primary keeps (or reappoints) its writer.
        if self.bugs.contains(&Bug::GlobalNoFence) {
            return true;
        }
        self.primary == self.region && now < self.lease_until
    }

    /// Fenced: another region is primary. This region's data may hold a tail beyond the
    /// promoted point and it is not re-seeded, so it serves no endpoint at all.
    pub fn fenced(&self) -> bool {
        !self.bugs.contains(&Bug::GlobalNoFence)
            && !self.primary.is_empty()
            && self.primary != self.region
    }

    pub fn on_role(&mut self, m: &Msg) {
        if let Msg::GRole {
            gepoch,
            primary,
            lease_until,
            read_only,
            ..
        } = m
        {
            if *gepoch < self.gepoch {
                return;
            }
            self.gepoch = *gepoch;
            self.primary = primary.clone();
            self.lease_until = if *primary == self.region {
                (*lease_until).max(if *gepoch == self.gepoch {
                    self.lease_until
                } else {
                    0
                })
            } else {
                0
            };
            self.read_only = *read_only;
        }
    }

    /// Once fenced, report what the region held so the coordinator records any tail
    /// beyond the promoted point (while primary, the writer's feed reports).
    pub fn tick(&mut self, now: SimTime) -> Vec<Outbound> {
        if self.primary.is_empty() || self.primary == self.region || now < self.next_report {
            return vec![];
        }
        self.next_report = now + 200;
        vec![out(
            GLOBAL,
            Msg::GReport {
                region: self.region.clone(),
                gepoch: self.gepoch.saturating_sub(1),
                durable: self.last_vdl,
                drained: false,
            },
        )]
    }
}
