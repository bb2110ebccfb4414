//! The typed event hook and the built-in invariant monitor.
//!
//! Every core pushes [`EventKind`]s; the turmoil wrapper stamps them with sim time and
//! host and publishes them on the [`EventBus`], which keeps the log, feeds
//! subscribers and runs the [`Monitor`].

use crate::types::{Epoch, Lsn, PageId, PgId, SimTime, Truncation};
use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub enum EventKind {
    // ---- storage auto-scaling (`crate::pgmap`, C23)
    /// The control plane decided to grow the volume: `used` (the highest page storage
    /// reported) came within the headroom of the current map's `limit`.
    GrowthStarted {
        version: u32,
        pg: PgId,
        used: PageId,
        limit: PageId,
    },
    /// Map version `version` is durable in the metadata service: pages `[lo, hi)` are
    /// served by the new PG `pg`, whose segments a write quorum of nodes provisioned.
    PgAdded {
        version: u32,
        pg: PgId,
        lo: PageId,
        hi: PageId,
    },
    // ---- global database (`crate::region`)
    /// The primary's agent saw this commit (a CPL) durable on the primary.
    GlobalPrimaryDurable {
        lsn: Lsn,
    },
    /// A secondary storage host persisted everything up to `scl`.
    GlobalStored {
        region: String,
        scl: Lsn,
    },
    /// A secondary (or promoted) region began a transaction reading at `at`.
    GlobalRead {
        region: String,
        at: Lsn,
    },
    /// A region became the primary at point `at` (its log continues above it).
    GlobalPromoted {
        region: String,
        gepoch: u64,
        at: Lsn,
    },
    /// The coordinator completed a switchover or failover.
    GlobalRoleChanged {
        kind: String,
        from: String,
        to: String,
        gepoch: u64,
    },
    /// A fenced old primary came back and rejoined as a secondary of the current primary
    /// (global epoch `gepoch`), through its replication server.
    GlobalRejoined {
        region: String,
        gepoch: u64,
    },
    /// A region held records beyond the promoted point: recorded, not merged.
    GlobalDiverged {
        region: String,
        promoted_at: Lsn,
        beyond: Lsn,
    },
    /// Managed RPO blocks commits (and why).
    GlobalRpoBlocked {
        lag_ms: u64,
        rpo_ms: u64,
        reason: String,
    },
    GlobalRpoUnblocked,
    /// A promoted region's writer acknowledged a commit (the primary cluster's writer
    /// reports `CommitAcked`).
    GlobalCommitAcked {
        region: String,
        lsn: Lsn,
    },
    /// The agent read `(after, upto]` of the primary's durable redo back from its volume's
    /// storage (a read quorum of every PG) to serve a secondary behind its in-memory redo.
    GlobalFeedFilled {
        after: Lsn,
        upto: Lsn,
        records: u64,
    },
    /// The agent's in-memory redo does not reach down to a secondary's point (a writer
    /// opened by recovery): it fills the range from storage ([`EventKind::GlobalFeedFilled`]).
    GlobalFeedGap {
        target: String,
        received: Lsn,
        base: Lsn,
    },
    VdlAdvanced {
        epoch: Epoch,
        vdl: Lsn,
    },
    LsnAllocated {
        lsn: Lsn,
        vdl: Lsn,
        lal: u64,
    },
    CommitAcked {
        lsn: Lsn,
        vdl: Lsn,
    },
    EpochBumped {
        epoch: Epoch,
    },
    WriteRejectedStaleEpoch {
        pg: u32,
        epoch: Epoch,
        current: Epoch,
    },
    /// Only possible with a bug (`no-epoch-fencing`).
    WriteAcceptedStaleEpoch {
        pg: u32,
        epoch: Epoch,
        current: Epoch,
    },
    RecoveryStarted {
        epoch: Epoch,
    },
    RecoveryDone {
        epoch: Epoch,
        vdl: Lsn,
        truncation: Truncation,
    },
    Promoted {
        host: String,
        epoch: Epoch,
        tier: u8,
    },
    /// The control plane accepted a backtrack request.
    BacktrackStarted {
        id: u64,
        to_ms: SimTime,
    },
    /// A backtrack request outside the window (or with backtrack off) was refused.
    /// A storage node created its segments of a clone (copy-on-write: nothing copied).
    CloneSegmentsCreated {
        volume: u32,
        lsn: Lsn,
    },
    /// The control plane took a clone's branch point and registered it.
    Cloned {
        volume: u32,
        lsn: Lsn,
        at: SimTime,
    },
    CloneRejected {
        id: u64,
        why: String,
    },
    BacktrackRejected {
        id: u64,
        to_ms: SimTime,
    },
    /// The control plane recorded a completed backtrack's new era.
    Backtracked {
        id: u64,
        to_ms: SimTime,
        to_prime_ms: SimTime,
        cut: Lsn,
        resume: Lsn,
    },
    Demoted {
        host: String,
    },
    /// A read was served with a value whose LSN is above VDL (a white-box assertion).
    ReadServedAboveVdl {
        lsn: Lsn,
        vdl: Lsn,
    },
    ReplicaApplied {
        vdl: Lsn,
        lag_ms: u64,
    },
    ScrubDetected {
        pg: u32,
        lsn: Lsn,
    },
    ScrubRepaired {
        pg: u32,
        lsn: Lsn,
    },
    HoleFilled {
        pg: u32,
        count: usize,
        /// Bytes of records received (wire size).
        bytes: u64,
    },
    MembershipChanged {
        pg: u32,
        stage: String,
    },
    /// A segment refused an I/O carrying a stale membership epoch (or one for a PG it
    /// is no longer a member of).
    StaleMembershipRejected {
        pg: u32,
        mepoch: u64,
        current: u64,
    },
    /// A storage node restarted after a crash that dropped records it had not yet
    /// synced (and so never acknowledged).
    UnsyncedLost {
        records: usize,
    },
    /// A host refreshed its cached membership of `pg` from the metadata service.
    MembershipRefreshed {
        pg: u32,
        mepoch: u64,
    },
    Fenced {
        epoch: Epoch,
    },
    /// A segment replacement committed: `replacement` now holds `failed`'s place.
    SegmentReplaced {
        pg: u32,
        failed: String,
        replacement: String,
        started_ms: SimTime,
        /// The committed member set.
        members: Vec<String>,
    },
    /// A storage node made these records of `pg` durable (white-box feed of the
    /// [`Ledger`](crate::ledger::Ledger); never kept in the event log).
    Synced {
        pg: u32,
        lsns: Vec<Lsn>,
    },
    /// A storage node adopted a truncation range of `pg` (white-box, for the ledger).
    TruncationAdopted {
        pg: u32,
        truncation: Truncation,
    },
    /// A page read returned a record inside a truncation range (a white-box assertion).
    ReadTruncatedRecord {
        lsn: Lsn,
    },
    /// Storage GC removed version `lsn` of a key although a read at the minimum read point
    /// `mrp` it had been sent would return it (a white-box assertion).
    CollectedAboveReadPoint {
        pg: u32,
        lsn: Lsn,
        mrp: Lsn,
    },
    /// A restarted writer kept these survived buffer-cache entries (key, LSN, value) after
    /// its recovery to `vdl`, and dropped the counted pages (white-box audit of C25).
    CacheAdopted {
        vdl: Lsn,
        entries: Vec<(u64, Lsn, crate::types::Datum)>,
        pages_kept: u64,
        dropped_above_vdl: u64,
        dropped_truncated: u64,
        dropped_foreign: u64,
        dropped_other: u64,
    },
    /// A storage node served a page read to `reader` (only with
    /// `ClusterConfig::survivable_cache`: the storage-side count of cache misses).
    PageRead {
        reader: String,
        id: u64,
    },
    /// The writer could not allocate an LSN: it would exceed VDL + LAL (back-pressure).
    LalStall {
        next_lsn: Lsn,
        vdl: Lsn,
    },
    // ---- custom endpoints (`crate::endpoints`)
    /// This instance began transaction `txn` of a session opened through custom endpoint
    /// `endpoint`, in the role it had when it served it (`writer`): the server side's record
    /// that claim C24 is measured from.
    CustomServed {
        endpoint: String,
        txn: u64,
        writer: bool,
    },
    /// This instance refused such a session (a READER endpoint reached it as the writer).
    CustomRefused {
        endpoint: String,
    },
    // ---- issue 12 (hunting): white-box consequences and coverage
    /// A segment refused a page read at `at`, below its GC horizon (the PGMRPL it was sent,
    /// less the retention): the versions that read needs may be gone.
    ReadRefusedBelowMrp {
        pg: u32,
        at: Lsn,
        horizon: Lsn,
    },
    /// A segment served a page read at `at` although its SCL was below `need`, the PG's last
    /// record at or below `at` (a white-box assertion: only `read-below-read-point` does it).
    ReadServedBelowScl {
        pg: u32,
        scl: Lsn,
        need: Lsn,
    },
    /// A member segment admitted an I/O carrying a membership epoch older than its own (a
    /// white-box assertion: only `stale-membership-accepted` does it).
    StaleMembershipAdmitted {
        pg: u32,
        mepoch: u64,
        current: u64,
    },
    /// Transport (white-box, never kept in the event log): this host sent recovery
    /// `epoch`'s query of `pg` (to one of its segments).
    RecoveryQuerySent {
        epoch: Epoch,
        pg: u32,
    },
    /// Transport (white-box, never kept in the event log): segment `seg`'s answer to
    /// recovery `epoch`'s query of `pg` was delivered to this host.
    RecoveryAnswerDelivered {
        epoch: Epoch,
        pg: u32,
        seg: String,
    },
    /// Transport (white-box, never kept in the event log): this host sent recovery
    /// `epoch`'s decision (its commit: new VDL and truncation range) for `pg`.
    RecoveryDecisionSent {
        epoch: Epoch,
        pg: u32,
    },
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Event {
    pub time_ms: SimTime,
    pub host: String,
    pub kind: EventKind,
}

impl EventKind {
    /// The PG a storage-side event is about (its number names the volume too).
    pub fn pg(&self) -> Option<u32> {
        use EventKind::*;
        match self {
            WriteRejectedStaleEpoch { pg, .. }
            | WriteAcceptedStaleEpoch { pg, .. }
            | ScrubDetected { pg, .. }
            | ScrubRepaired { pg, .. }
            | HoleFilled { pg, .. }
            | MembershipChanged { pg, .. }
            | StaleMembershipRejected { pg, .. }
            | MembershipRefreshed { pg, .. }
            | SegmentReplaced { pg, .. }
            | Synced { pg, .. }
            | TruncationAdopted { pg, .. }
            | ReadRefusedBelowMrp { pg, .. }
            | ReadServedBelowScl { pg, .. }
            | StaleMembershipAdmitted { pg, .. }
            | RecoveryQuerySent { pg, .. }
            | RecoveryAnswerDelivered { pg, .. }
            | RecoveryDecisionSent { pg, .. } => Some(*pg),
            _ => None,
        }
    }
}

/// White-box invariants checked online over the event stream.
#[derive(Default)]
pub struct Monitor {
    vdl_by_epoch: BTreeMap<Epoch, Lsn>,
    max_acked: Lsn,
    /// Top of the truncation range each host's last recovery wrote.
    trunc_hi: BTreeMap<String, Lsn>,
    pub violations: Vec<String>,
    /// Times the writer hit LAL back-pressure.
    pub lal_stalls: u64,
    /// LSNs allocated, and how many were checked against a truncation range.
    pub lsns_allocated: u64,
    /// Recovery decisions against the answers delivered before them.
    pub recovery_quorum: crate::recovery_watch::RecoveryQuorumWatch,
}

impl Monitor {
    pub fn observe(&mut self, e: &Event) {
        let at = format!("t={}ms host={}", e.time_ms, e.host);
        match &e.kind {
            EventKind::VdlAdvanced { epoch, vdl } => {
                let prev = self.vdl_by_epoch.entry(*epoch).or_default();
                if *vdl < *prev {
                    self.violations.push(format!(
                        "{at}: VDL regressed in epoch {epoch}: {prev} -> {vdl}"
                    ));
                }
                *prev = (*prev).max(*vdl);
            }
            EventKind::LsnAllocated { lsn, vdl, lal } => {
                self.lsns_allocated += 1;
                if lsn.0 > vdl.0 + lal {
                    self.violations.push(format!(
                        "{at}: LSN {lsn} allocated above VDL {vdl} + LAL {lal}"
                    ));
                }
                if let Some(hi) = self.trunc_hi.get(&e.host) {
                    if lsn <= hi {
                        self.violations.push(format!(
                            "{at}: LSN {lsn} allocated inside the truncation range ending at {hi}"
                        ));
                    }
                }
            }
            EventKind::LalStall { .. } => self.lal_stalls += 1,
            EventKind::RecoveryQuerySent { epoch, pg } => {
                self.recovery_quorum.query_sent(&e.host, *epoch, *pg);
            }
            EventKind::RecoveryAnswerDelivered { epoch, pg, seg } => {
                self.recovery_quorum
                    .answer_delivered(&e.host, *epoch, *pg, seg);
            }
            EventKind::RecoveryDecisionSent { epoch, pg } => {
                if let Some(v) = self.recovery_quorum.decision_sent(&e.host, *epoch, *pg) {
                    self.violations.push(format!("{at}: {v}"));
                }
            }
            EventKind::ReadTruncatedRecord { lsn } => {
                self.violations.push(format!(
                    "{at}: a page read returned record {lsn}, inside a truncation range"
                ));
            }
            EventKind::CommitAcked { lsn, vdl } => {
                if lsn > vdl {
                    self.violations.push(format!(
                        "{at}: commit at LSN {lsn} acknowledged with VDL {vdl}"
                    ));
                }
                self.max_acked = self.max_acked.max(*lsn);
            }
            EventKind::ReadServedAboveVdl { lsn, vdl } => {
                self.violations.push(format!(
                    "{at}: a read was served at LSN {lsn} above VDL {vdl}"
                ));
            }
            EventKind::CollectedAboveReadPoint { pg, lsn, mrp } => {
                self.violations.push(format!(
                    "{at}: PG {pg}'s GC removed version {lsn}, which a read at the minimum read point {mrp} needs"
                ));
            }
            EventKind::ReadServedBelowScl { pg, scl, need } => {
                self.violations.push(format!(
                    "{at}: PG {pg} served a page read needing LSN {need} with SCL {scl}"
                ));
            }
            EventKind::StaleMembershipAdmitted {
                pg,
                mepoch,
                current,
            } => {
                self.violations.push(format!(
                    "{at}: PG {pg} admitted I/O of stale membership epoch {mepoch} (current {current})"
                ));
            }
            EventKind::WriteAcceptedStaleEpoch { pg, epoch, current } => {
                self.violations.push(format!(
                    "{at}: PG {pg} accepted a write of stale epoch {epoch} (current {current})"
                ));
            }
            EventKind::RecoveryDone {
                epoch,
                vdl,
                truncation,
            } => {
                self.trunc_hi.insert(e.host.clone(), truncation.hi);
                if self.max_acked > *vdl {
                    self.violations.push(format!(
                        "{at}: recovery for epoch {epoch} chose VDL {vdl} below acknowledged commit LSN {}",
                        self.max_acked
                    ));
                }
            }
            _ => {}
        }
    }
}

pub type Subscriber = Box<dyn FnMut(&Event)>;

/// Shared event sink: log + subscribers + monitor.
#[derive(Default)]
pub struct EventBus {
    /// Every event, unless `drop_log` is set (long runs: subscribers and the
    /// monitor still see everything).
    pub log: Vec<Event>,
    pub drop_log: bool,
    pub subscribers: Vec<Subscriber>,
    pub monitor: Monitor,
    pub ledger: crate::ledger::Ledger,
    pub lag: crate::lag::LagTracker,
    /// Each clone's own bus: storage events about a clone's PGs go there, so every
    /// volume's monitor and ledger see that volume alone.
    pub clones: std::collections::BTreeMap<u32, std::rc::Rc<std::cell::RefCell<EventBus>>>,
}

impl EventBus {
    pub fn publish(&mut self, e: Event) {
        let vol = e.kind.pg().map(crate::branch::volume_of).unwrap_or(0);
        if vol != 0 {
            if let Some(b) = self.clones.get(&vol) {
                b.borrow_mut().publish(e);
            }
            return;
        }
        self.ledger.observe(&e);
        self.lag.observe(&e);
        if matches!(e.kind, EventKind::Synced { .. }) {
            return;
        }
        self.monitor.observe(&e);
        if matches!(
            e.kind,
            EventKind::RecoveryQuerySent { .. }
                | EventKind::RecoveryAnswerDelivered { .. }
                | EventKind::RecoveryDecisionSent { .. }
        ) {
            return;
        }
        for s in self.subscribers.iter_mut() {
            s(&e);
        }
        if !self.drop_log {
            self.log.push(e);
        }
    }
}
