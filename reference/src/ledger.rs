//! The durability ledger: a white-box record of which segments hold which records,
//! fed by the storage nodes' own sync events (never by the writer), and checked
//! against what the writer acknowledges. It is instrumentation, like the event
//! bus it hangs off: no protocol decision reads it.
//!
//! Two figures come from here, each from storage's vantage point:
//! - **acknowledged below quorum** (claim C3): when a commit at LSN `c` is
//!   acknowledged, every record at or below `c` in every PG (outside truncation
//!   ranges) must have been synced by at least 4 distinct segments at some point;
//!   a record that never was is counted, with the first one described;
//! - **committed membership below quorum** (claim C8): when a segment replacement
//!   commits, the new segment must hold every record acknowledged before the change
//!   began, and every acknowledged record of the PG must have been synced by at
//!   least 4 members of the new set.
//!
//! Both quorum figures count syncs **ever made**, including those of disks destroyed
//! for good afterwards: they judge the protocol's counting rule (an ack or a commit
//! only at 4/6 synced), and a writer cannot un-receive the ack of a segment whose disk
//! is lost later. Losing 3 of 6 segments for good (AZ+1) leaves at most 3 holders of
//! anything, so "held now by 4" is then unreachable by any protocol; what survives
//! such a loss is judged instead by what the surviving members hold (the new segment's
//! hydration here, and re-replication in `holes`, which skips destroyed disks).

use crate::event::{Event, EventKind};
use crate::quorum::WRITE_QUORUM;
use crate::types::{Lsn, PgId, Truncation};
use std::collections::{BTreeMap, BTreeSet};

#[derive(Default, Debug, Clone)]
pub struct Ledger {
    hosts: Vec<String>,
    /// (pg, lsn) -> bitmask of the hosts (indices into `hosts`) holding it synced now
    /// (a destroyed disk's bit is cleared).
    holders: BTreeMap<(PgId, Lsn), u64>,
    /// (pg, lsn) -> bitmask of the hosts that ever synced it (never cleared); a
    /// superset of `holders`.
    synced_by: BTreeMap<(PgId, Lsn), u64>,
    /// Records not yet synced (ever) by a write quorum of distinct segments.
    below_quorum: BTreeSet<(PgId, Lsn)>,
    truncations: BTreeMap<PgId, Vec<Truncation>>,
    /// Truncation ranges recoveries decided: (time, range).
    declared: Vec<(crate::types::SimTime, Truncation)>,
    /// Who adopted each (pg, range).
    adopters: BTreeMap<(PgId, Truncation), u64>,
    /// Highest LSN of an acknowledged commit.
    pub acked_upto: Lsn,
    /// (time, highest acknowledged LSN then), one entry per rise.
    acked_at: Vec<(crate::types::SimTime, Lsn)>,
    /// Commit acknowledgements checked, and those with a record below quorum.
    pub acks_checked: u64,
    pub acks_below_quorum: u64,
    /// Membership commits checked, and acknowledged records each left below quorum.
    pub membership_commits_checked: u64,
    pub records_below_quorum_after_commit: u64,
    /// First violation of each kind, for explanations.
    pub examples: Vec<String>,
    /// Coverage (never a verdict): commits acknowledged while their commit record was
    /// synced by exactly a write quorum (4 of 6), and synced records later dropped by
    /// a truncation range a segment adopted.
    pub acks_at_exact_quorum: u64,
    pub records_truncated: u64,
    pg_of: BTreeMap<Lsn, PgId>,
    /// Hosts whose disks were destroyed for good.
    destroyed_hosts: BTreeSet<String>,
}

impl Ledger {
    fn index(&mut self, host: &str) -> Option<u32> {
        if let Some(i) = self.hosts.iter().position(|h| h == host) {
            return Some(i as u32);
        }
        if self.hosts.len() >= 64 {
            return None;
        }
        self.hosts.push(host.to_string());
        Some(self.hosts.len() as u32 - 1)
    }

    fn truncated(&self, pg: PgId, lsn: Lsn) -> bool {
        self.truncations
            .get(&pg)
            .is_some_and(|ts| ts.iter().any(|t| t.contains(lsn)))
    }

    pub fn observe(&mut self, e: &Event) {
        match &e.kind {
            EventKind::Synced { pg, lsns } => {
                let Some(i) = self.index(&e.host) else { return };
                for &lsn in lsns {
                    self.pg_of.insert(lsn, *pg);
                    *self.holders.entry((*pg, lsn)).or_insert(0) |= 1 << i;
                    let mask = self.synced_by.entry((*pg, lsn)).or_insert(0);
                    let fresh = *mask == 0;
                    *mask |= 1 << i;
                    if mask.count_ones() as usize >= WRITE_QUORUM {
                        self.below_quorum.remove(&(*pg, lsn));
                    } else if fresh {
                        self.below_quorum.insert((*pg, lsn));
                    }
                }
            }
            EventKind::RecoveryDone { truncation, .. } => {
                self.declared.push((e.time_ms, *truncation));
            }
            // Deactivations keep their records: they release nothing from the ledger.
            EventKind::TruncationAdopted { truncation, .. } if truncation.keep => {}
            EventKind::TruncationAdopted { pg, truncation } => {
                if let Some(i) = self.index(&e.host) {
                    *self.adopters.entry((*pg, *truncation)).or_insert(0) |= 1 << i;
                    self.records_truncated += self
                        .holders
                        .range((*pg, truncation.lo.next())..=(*pg, truncation.hi))
                        .filter(|(_, m)| *m & (1 << i) != 0)
                        .count() as u64;
                }
                let ts = self.truncations.entry(*pg).or_default();
                if !ts.contains(truncation) {
                    ts.push(*truncation);
                }
            }
            EventKind::CommitAcked { lsn, .. } => {
                self.acks_checked += 1;
                if let Some(pg) = self.pg_of.get(lsn) {
                    let n = self
                        .synced_by
                        .get(&(*pg, *lsn))
                        .map_or(0, |m| m.count_ones());
                    if n as usize == WRITE_QUORUM {
                        self.acks_at_exact_quorum += 1;
                    }
                }
                if *lsn > self.acked_upto {
                    self.acked_upto = *lsn;
                    self.acked_at.push((e.time_ms, *lsn));
                }
                let bad = self
                    .below_quorum
                    .iter()
                    .filter(|(_, l)| *l <= *lsn)
                    .find(|(pg, l)| !self.truncated(*pg, *l))
                    .copied();
                if let Some((pg, l)) = bad {
                    self.acks_below_quorum += 1;
                    if self.acks_below_quorum == 1 {
                        let n = self.synced_by.get(&(pg, l)).map_or(0, |m| m.count_ones());
                        self.examples.push(format!(
                            "t={}ms: commit at LSN {lsn} acknowledged while record {l} of PG {pg} had been synced by {n} segment(s)",
                            e.time_ms
                        ));
                    }
                }
            }
            EventKind::SegmentReplaced {
                pg,
                members,
                replacement,
                started_ms,
                ..
            } => {
                self.membership_commits_checked += 1;
                // The new segment must hold everything acknowledged before the change began.
                let before = self
                    .acked_at
                    .iter()
                    .take_while(|(t, _)| t <= started_ms)
                    .last()
                    .map(|(_, l)| *l)
                    .unwrap_or_default();
                let g = self.hosts.iter().position(|h| h == replacement);
                let missing: Vec<Lsn> = self
                    .holders
                    .range((*pg, Lsn::ZERO)..=(*pg, before))
                    .filter(|((_, l), _)| !self.truncated(*pg, *l))
                    .filter(|(_, m)| g.is_none_or(|g| *m & (1 << g) == 0))
                    .map(|((_, l), _)| *l)
                    .collect();
                if let Some(l) = missing.first() {
                    if self.records_below_quorum_after_commit == 0 {
                        self.examples.push(format!(
                            "t={}ms: PG {pg} committed {replacement} before it held acknowledged record {l} ({} missing)",
                            e.time_ms,
                            missing.len()
                        ));
                    }
                }
                self.records_below_quorum_after_commit += missing.len() as u64;
                let set: u64 = members
                    .iter()
                    .filter_map(|m| self.hosts.iter().position(|h| h == m))
                    .fold(0, |acc, i| acc | 1 << i);
                // Syncs ever made by members of the new set (see the module docs).
                let bad: Vec<(Lsn, u32)> = self
                    .synced_by
                    .range((*pg, Lsn::ZERO)..=(*pg, self.acked_upto))
                    .filter(|((_, l), _)| !self.truncated(*pg, *l))
                    .map(|((_, l), m)| (*l, (m & set).count_ones()))
                    .filter(|(_, n)| (*n as usize) < WRITE_QUORUM)
                    .collect();
                if let Some((l, n)) = bad.first() {
                    if self.records_below_quorum_after_commit == 0 {
                        self.examples.push(format!(
                            "t={}ms: PG {pg} committed membership {members:?} while acknowledged record {l} had been synced by {n} of its members",
                            e.time_ms
                        ));
                    }
                }
                self.records_below_quorum_after_commit += bad.len() as u64;
            }
            _ => {}
        }
    }

    /// The truncation ranges recoveries decided, as (time, range), in the order they were.
    pub fn declared(&self) -> &[(crate::types::SimTime, Truncation)] {
        &self.declared
    }

    /// C4's mechanism, from storage's side: every truncation range a recovery decided at least
    /// `settle_ms` before `end_ms` must have been adopted by a write quorum of every PG (only
    /// then are late records in it discarded wherever they land). Returns (ranges checked,
    /// (range, PG) pairs short of a quorum).
    pub fn truncations_unadopted(&self, pgs: &[PgId], end_ms: u64, settle_ms: u64) -> (u64, u64) {
        let mut checked = 0;
        let mut short = 0;
        for (t, tr) in &self.declared {
            if t + settle_ms > end_ms {
                continue;
            }
            checked += 1;
            for pg in pgs {
                let n = self
                    .adopters
                    .get(&(*pg, *tr))
                    .map_or(0, |m| m.count_ones() as usize);
                if n < WRITE_QUORUM {
                    short += 1;
                }
            }
        }
        (checked, short)
    }

    /// Re-replication, from storage's side: every record of a PG at or below the highest
    /// LSN acknowledged by `at_ms` (outside truncation ranges) must by now be synced by every
    /// member of `members` whose disk still exists: gossip fills the holes faults left, so
    /// full replication (not just a write quorum) is restored. Returns (records checked,
    /// (record, member) holes, the first hole described).
    pub fn holes(
        &self,
        members: &BTreeMap<PgId, Vec<String>>,
        at_ms: crate::types::SimTime,
    ) -> (u64, u64, Option<String>) {
        let upto = self
            .acked_at
            .iter()
            .take_while(|(t, _)| *t <= at_ms)
            .last()
            .map(|(_, l)| *l)
            .unwrap_or_default();
        let (mut checked, mut holes, mut first) = (0, 0, None);
        for (pg, ms) in members {
            let live: Vec<&String> = ms
                .iter()
                .filter(|m| !self.destroyed_hosts.contains(*m))
                .collect();
            for ((_, l), mask) in self.holders.range((*pg, Lsn::ZERO)..=(*pg, upto)) {
                if self.truncated(*pg, *l) {
                    continue;
                }
                checked += 1;
                for m in &live {
                    let held = self
                        .hosts
                        .iter()
                        .position(|h| h == *m)
                        .is_some_and(|i| mask & (1 << i) != 0);
                    if !held {
                        holes += 1;
                        first.get_or_insert_with(|| {
                            format!("record {l} of PG {pg} (acknowledged by {at_ms} ms) is missing on member {m}")
                        });
                    }
                }
            }
        }
        (checked, holes, first)
    }

    /// A disk destroyed for good holds nothing any more (its past syncs stay counted in
    /// `synced_by`, see the module docs).
    pub fn destroyed(&mut self, host: &str) {
        self.destroyed_hosts.insert(host.to_string());
        let Some(i) = self.hosts.iter().position(|h| h == host) else {
            return;
        };
        for m in self.holders.values_mut() {
            *m &= !(1u64 << i);
        }
    }
}
