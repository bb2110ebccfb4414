//! Basic vocabulary: LSNs, epochs, values, redo records and the wire messages.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Simulated time in milliseconds since the simulation started. The only clock.
pub type SimTime = u64;

/// A log sequence number from the one volume-wide, strictly increasing sequence.
/// `Lsn(0)` is the origin: the (virtual) predecessor of every PG's first record.
#[derive(
    Copy, Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct Lsn(pub u64);

impl Lsn {
    pub const ZERO: Lsn = Lsn(0);
    pub fn next(self) -> Lsn {
        Lsn(self.0 + 1)
    }
}

impl std::fmt::Display for Lsn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Volume epoch: every storage I/O carries it; storage rejects stale ones (fencing).
pub type Epoch = u64;
/// Membership epoch of one PG: bumped by every membership change (dual stage,
/// commit, revert). Every storage I/O carries the sender's; storage refuses a stale
/// one, so nobody reads or writes a PG through a member list that is no longer current.
pub type MEpoch = u64;
/// Protection group index.
pub type PgId = u32;
/// Page number (volume-wide).
pub type PageId = u64;

/// A value stored under a `u64` key.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Datum {
    #[default]
    Nil,
    Int(i64),
    List(Vec<i64>),
}

impl Datum {
    /// Approximate encoded size in bytes (for the efficiency figure).
    pub fn wire_size(&self) -> u64 {
        match self {
            Datum::Nil => 1,
            Datum::Int(_) => 9,
            Datum::List(v) => 5 + 8 * v.len() as u64,
        }
    }
}

/// Keys live on pages: `KEYS_PER_PAGE` consecutive keys per page.
pub const KEYS_PER_PAGE: u64 = 4;

pub fn page_of(key: u64) -> PageId {
    key / KEYS_PER_PAGE
}

/// One redo record: "key := value" on a page. `prev` is the backlink to the previous
/// record of the same PG (holes are found by following backlinks). `cpl` marks the
/// last record of a mini-transaction (MTR); an MTR is one transaction's writes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    pub lsn: Lsn,
    pub prev: Lsn,
    pub pg: PgId,
    pub epoch: Epoch,
    pub page: PageId,
    pub key: u64,
    pub value: Datum,
    pub cpl: bool,
    /// Simulated time at which the writer allocated the record's MTR (the volume's
    /// time → LSN index for backtrack is read from the CPLs' times).
    #[serde(default)]
    pub at: SimTime,
    pub checksum: u64,
}

impl Record {
    pub fn compute_checksum(&self) -> u64 {
        // FNV-1a over the content; deterministic and std-only.
        let mut h: u64 = 0xcbf29ce484222325;
        let mut feed = |x: u64| {
            for b in x.to_le_bytes() {
                h ^= b as u64;
                h = h.wrapping_mul(0x100000001b3);
            }
        };
        feed(self.lsn.0);
        feed(self.prev.0);
        feed(self.pg as u64);
        feed(self.epoch);
        feed(self.page);
        feed(self.key);
        feed(self.cpl as u64);
        feed(self.at);
        match &self.value {
            Datum::Nil => feed(0),
            Datum::Int(i) => {
                feed(1);
                feed(*i as u64)
            }
            Datum::List(v) => {
                feed(2);
                feed(v.len() as u64);
                for x in v {
                    feed(*x as u64)
                }
            }
        }
        h
    }
    pub fn seal(mut self) -> Self {
        self.checksum = self.compute_checksum();
        self
    }
    pub fn is_intact(&self) -> bool {
        self.checksum == self.compute_checksum()
    }
    /// Approximate binary size: a 48-byte header plus the value.
    pub fn wire_size(&self) -> u64 {
        48 + self.value.wire_size()
    }
}

/// A truncation range `(lo, hi]`: records in it are discarded, even late ones.
///
/// With `keep` it is a *deactivation* written by a backtrack instead: records in it
/// are retained but inactive (never read, indexed or counted in an SCL). Only the
/// deactivations of the highest `epoch` are in force (a later backtrack replaces the
/// whole set, which is how a backtrack moves forward again); a generation with
/// nothing inactive is marked by an empty range (`lo == hi`).
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Truncation {
    pub lo: Lsn,
    pub hi: Lsn,
    pub epoch: Epoch,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub keep: bool,
    /// Deactivations only: storage's GC keeps every version superseded at or after
    /// this simulated time (the lowest point any backtrack restored).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub floor_ms: SimTime,
}

fn is_zero(x: &SimTime) -> bool {
    *x == 0
}

impl Truncation {
    pub fn contains(&self, lsn: Lsn) -> bool {
        lsn > self.lo && lsn <= self.hi
    }
}

/// Destructive truncations of a list, and whether `lsn` lies in one.
pub fn destroyed(ts: &[Truncation], lsn: Lsn) -> bool {
    ts.iter().any(|t| !t.keep && t.contains(lsn))
}

/// The deactivation generation in force in a list of truncations (0: none).
pub fn deact_gen(ts: &[Truncation]) -> Epoch {
    ts.iter()
        .filter(|t| t.keep)
        .map(|t| t.epoch)
        .max()
        .unwrap_or(0)
}

/// Whether `lsn` is inactive under the deactivations in force in `ts`.
pub fn inactive(ts: &[Truncation], lsn: Lsn) -> bool {
    let g = deact_gen(ts);
    g > 0 && ts.iter().any(|t| t.keep && t.epoch == g && t.contains(lsn))
}

/// Merge `incoming` into `ts`: destructive ranges accumulate; deactivations of a
/// generation newer than the one in force replace it (older ones are dropped).
/// Returns true if anything changed.
pub fn merge_truncations(ts: &mut Vec<Truncation>, incoming: &[Truncation]) -> bool {
    let mut changed = false;
    let g = deact_gen(ts);
    let ig = deact_gen(incoming);
    if ig > g {
        ts.retain(|t| !t.keep);
        ts.extend(incoming.iter().filter(|t| t.keep && t.epoch == ig).copied());
        changed = true;
    }
    for t in incoming.iter().filter(|t| !t.keep) {
        if !ts.contains(t) {
            ts.push(*t);
            changed = true;
        }
    }
    if changed {
        ts.sort();
    }
    changed
}

/// Key/value contents of one page as of some LSN, each key with the LSN of its last write.
pub type PageImage = BTreeMap<u64, (Lsn, Datum)>;

/// Which role an instance plays.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Role {
    Unknown,
    Writer { epoch: Epoch },
    Replica { writer: Option<String> },
}

/// A backtrack's search for its cut point (see [`Msg::RecoverQuery`]).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CutQuery {
    pub above: Lsn,
    pub below: Lsn,
    pub at_most: SimTime,
}

/// Client-visible error codes carried on the wire.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum WireError {
    ReadOnly,
    NotWriter,
    Conflict,
    UnknownTxn,
    Unavailable,
    Indeterminate,
    /// The instance may not serve a session of the custom endpoint it was opened through
    /// (a READER endpoint reached the writer): resolve again.
    WrongEndpoint,
}

/// Client request operations.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ClientOp {
    Begin {
        read_only: bool,
    },
    Read {
        key: u64,
    },
    Write {
        key: u64,
        value: Datum,
    },
    Append {
        key: u64,
        elem: i64,
    },
    Cas {
        key: u64,
        expected: Datum,
        new: Datum,
    },
    Commit,
    Abort,
    /// Parallel query (no transaction needed): count and sum of the integer values of
    /// keys in `[lo, hi]` that are ≥ `min`, at read point `at` (None: the current VDL).
    /// `pushdown`: evaluated by the storage nodes, one segment per PG; otherwise the
    /// instance reads the pages at that point and evaluates itself.
    Scan {
        lo: u64,
        hi: u64,
        min: i64,
        pushdown: bool,
        at: Option<Lsn>,
    },
    /// `Begin` of a session opened through custom endpoint `endpoint` (its name): the
    /// instance checks it may serve that endpoint ([`crate::endpoints`]).
    BeginVia {
        read_only: bool,
        endpoint: String,
    },
}

/// Client replies.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ClientReply {
    Begun {
        txn: u64,
    },
    Value(Datum),
    Done,
    Cas(bool),
    Committed,
    Err(WireError),
    /// A scan's result, its read point, and the storage replies it took (messages,
    /// wire bytes: `Msg::wire_size` of what the instance received for it).
    Scanned {
        count: u64,
        sum: i64,
        at: Lsn,
        msgs: u64,
        bytes: u64,
    },
}

/// Every message on the simulated network.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Msg {
    // ---- writer -> storage
    Write {
        epoch: Epoch,
        pg: PgId,
        mepoch: MEpoch,
        records: Vec<Record>,
        vdl: Lsn,
        /// The volume's minimum read point (PGMRPL): no instance reads below it.
        mrp: Lsn,
        truncations: Vec<Truncation>,
    },
    VdlHint {
        epoch: Epoch,
        pg: PgId,
        mepoch: MEpoch,
        vdl: Lsn,
        /// The volume's minimum read point (PGMRPL): no instance reads below it.
        mrp: Lsn,
        truncations: Vec<Truncation>,
        round: u64,
    },
    ReadPage {
        id: u64,
        epoch: Epoch,
        pg: PgId,
        mepoch: MEpoch,
        page: PageId,
        at: Lsn,
        need: Lsn,
        /// The reader's deactivation generation: a segment that has not adopted it
        /// yet cannot tell active records from inactive ones and refuses the read.
        dgen: Epoch,
    },
    RecoverQuery {
        id: u64,
        epoch: Epoch,
        pg: PgId,
        mepoch: MEpoch,
        /// A backtrack's search for its cut: the highest CPL in `(above, below]`
        /// allocated at or before `at_most` (simulated ms).
        cut: Option<CutQuery>,
    },
    RecoverCommit {
        id: u64,
        epoch: Epoch,
        pg: PgId,
        mepoch: MEpoch,
        records: Vec<Record>,
        vdl: Lsn,
        truncations: Vec<Truncation>,
    },
    // ---- storage -> writer / replica
    WriteAck {
        epoch: Epoch,
        pg: PgId,
        seg: String,
        scl: Lsn,
        round: u64,
    },
    Rejected {
        epoch: Epoch,
        pg: PgId,
        seg: String,
        current: Epoch,
    },
    PageData {
        id: u64,
        image: Option<PageImage>,
    },
    /// The I/O carried a stale membership epoch (or this segment is no longer a
    /// member): refresh the PG's membership from the metadata service and retry.
    /// `read` names the page read refused, if it was one.
    StaleMembership {
        pg: PgId,
        seg: String,
        current: MEpoch,
        read: Option<u64>,
    },
    RecoverState {
        id: u64,
        pg: PgId,
        seg: String,
        epoch: Epoch,
        scl: Lsn,
        vdl_seen: Lsn,
        floor: Lsn,
        records: Vec<Record>,
        truncations: Vec<Truncation>,
        /// The answer to the query's `cut`: (LSN, allocation time) of the highest
        /// matching CPL at or below `floor` (the records above it are sent anyway).
        cut: Option<(Lsn, SimTime)>,
    },
    RecoverCommitted {
        id: u64,
        pg: PgId,
        seg: String,
        scl: Lsn,
        /// The highest active record this segment holds (a backtrack's PG tail).
        tail: Lsn,
    },
    // ---- storage <-> storage
    GossipPull {
        pg: PgId,
        mepoch: MEpoch,
        epoch: Epoch,
        /// The puller's SCL (peers take GC floors from it).
        scl: Lsn,
        /// Send records above this (≥ `scl`: a catching-up segment skips what it
        /// already has buffered).
        after: Lsn,
        missing: Vec<Lsn>,
        truncations: Vec<Truncation>,
    },
    GossipPush {
        pg: PgId,
        mepoch: MEpoch,
        epoch: Epoch,
        records: Vec<Record>,
        truncations: Vec<Truncation>,
    },
    // ---- writer -> replica
    Stream {
        epoch: Epoch,
        prev_vdl: Lsn,
        vdl: Lsn,
        records: Vec<Record>,
        pg_tails: Vec<(PgId, Lsn)>,
        sent_at: SimTime,
        /// The deactivation generation the stream's VDL belongs to.
        dgen: Epoch,
    },
    // ---- replica -> writer
    /// The lowest LSN any of the replica's open snapshots reads at (or its VDL).
    ReadPoint {
        lsn: Lsn,
    },
    // ---- instance <-> control plane
    Heartbeat {
        role: Role,
        epoch: Epoch,
        vdl: Lsn,
        /// A writer whose storage I/O has made no progress for a while (health check).
        stalled: bool,
        /// A backtrack this writer completed while opening: (job id, result).
        backtracked: Option<(u64, crate::volume::BacktrackDone)>,
        /// A clone point this writer took, waiting for the control plane to record it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        cloned: Option<(u64, crate::branch::Branch)>,
    },
    Assign {
        role: Role,
        replicas: Vec<String>,
        /// A backtrack the writer must perform while opening the volume.
        backtrack: Option<crate::volume::BacktrackJob>,
        /// A clone request the writer must take a branch point for (job id).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        clone: Option<u64>,
        /// The lowest branch point of the volume's clones: the writer's minimum read
        /// point never rises above it (storage GC keeps what clones share).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        branch_floor: Option<Lsn>,
    },
    // ---- admin client <-> control plane (what `aws rds backtrack-db-cluster` does)
    /// Rewind the cluster to simulated time `to_ms`; idempotent by `id` (resend
    /// until the reply says done or rejected).
    Backtrack {
        id: u64,
        to_ms: SimTime,
    },
    BacktrackReply {
        id: u64,
        status: crate::volume::BacktrackStatus,
    },
    /// Create a copy-on-write clone of the volume; idempotent by `id` (resend until
    /// the reply says done or rejected). What `aws rds restore-db-cluster-to-point-in-time
    /// --restore-type copy-on-write` does.
    Clone {
        id: u64,
    },
    CloneReply {
        id: u64,
        status: crate::branch::CloneStatus,
    },
    Resolve {
        id: u64,
        endpoint: String,
    },
    Resolved {
        id: u64,
        target: Option<String>,
        ttl_ms: u64,
    },
    // ---- any host <-> metadata service (`meta`)
    /// Ask for every PG's current membership.
    MetaGet,
    MetaView {
        pgs: std::collections::BTreeMap<PgId, crate::quorum::Membership>,
        /// The clones registered on the volume (storage serves their segments).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        branches: Vec<crate::branch::Branch>,
        /// The volume's PG map (auto-scaled volumes only, C23).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pgmap: Option<crate::pgmap::PgMap>,
    },
    /// Register a clone's branch point (idempotent).
    MetaBranch {
        branch: crate::branch::Branch,
    },
    MetaBranchAck {
        volume: crate::branch::VolumeId,
    },
    /// A storage node's background report: `(pg, SCL, membership epoch adopted)` for
    /// each PG it holds a segment of (empty for a spare: it still says it is alive).
    MetaReport {
        reports: Vec<(PgId, Lsn, MEpoch)>,
        /// The highest page the node holds (auto-scaling's usage signal; None: off).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        hwm: Option<PageId>,
    },
    /// The control plane asks for the whole state (memberships, reports, liveness).
    MetaStateGet,
    MetaState {
        pgs: std::collections::BTreeMap<PgId, crate::quorum::Membership>,
        reports: Vec<(PgId, String, crate::topology::SclReport)>,
        seen: Vec<(String, SimTime)>,
        /// Auto-scaled volumes: the PG map and the highest page storage reported.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pgmap: Option<(crate::pgmap::PgMap, Option<PageId>)>,
    },
    /// Auto-scaling: commit map version `map` (one more range, served by `pg` with
    /// `membership`) if the service holds version `map.version - 1`.
    MetaGrow {
        map: crate::pgmap::PgMap,
        pg: PgId,
        membership: crate::quorum::Membership,
    },
    MetaGrowAck {
        version: u32,
        ok: bool,
    },
    // ---- control plane <-> storage (auto-scaling)
    /// Provision a segment of the new PG `pg` (idempotent); stamped with the volume epoch.
    CreateSegment {
        pg: PgId,
        membership: crate::quorum::Membership,
        epoch: Epoch,
    },
    /// The segment exists and is durable (after the node's provisioning time).
    CreateSegmentAck {
        pg: PgId,
    },
    /// Compare-and-set one PG's membership: applied only if the service's epoch for
    /// the PG is still `expect` (or the same membership is already there).
    MetaPut {
        pg: PgId,
        expect: MEpoch,
        membership: crate::quorum::Membership,
    },
    MetaPutAck {
        pg: PgId,
        ok: bool,
        current: crate::quorum::Membership,
    },
    // ---- global database (issue 11; see `crate::region`)
    /// Primary's replication agent -> a secondary's replication server: every durable
    /// record in `(after, upto]` in LSN order (`upto` a CPL), shipped under global epoch
    /// `gepoch`; `durable_at` gives each CPL's primary-durable time.
    GShip {
        gepoch: u64,
        /// Where this epoch's primary log branched off (its promotion point): a server
        /// that holds records above it from an older epoch discards them.
        base: Lsn,
        after: Lsn,
        upto: Lsn,
        records: Vec<Record>,
        durable_at: Vec<(Lsn, SimTime)>,
    },
    /// A primary writer's replication agent -> a storage segment of its volume: the durable
    /// redo in `(after, upto]` that the segment holds (a writer opened by recovery fills a
    /// secondary's gap below its recovered VDL from storage, not from memory).
    GFetch {
        id: u64,
        epoch: Epoch,
        pg: PgId,
        mepoch: MEpoch,
        after: Lsn,
        upto: Lsn,
    },
    /// Segment -> writer: its intact, active records of `pg` in the asked range.
    GFetched {
        id: u64,
        pg: PgId,
        seg: String,
        records: Vec<Record>,
    },
    /// Replication server -> agent: contiguous point received, and quorum-durable point.
    GShipAck {
        gepoch: u64,
        region: String,
        received: Lsn,
        durable: Lsn,
    },
    /// Replication server -> secondary storage host: append `(after, upto]`.
    GStore {
        gepoch: u64,
        base: Lsn,
        after: Lsn,
        upto: Lsn,
        records: Vec<Record>,
    },
    /// Secondary storage host -> server: everything at or below `scl` is persisted.
    GStored {
        gepoch: u64,
        scl: Lsn,
    },
    /// Global coordinator -> a region (its control plane or server): the global epoch,
    /// which region is primary, its write lease, and (primary) where to ship.
    GRole {
        gepoch: u64,
        primary: String,
        lease_until: SimTime,
        ship_to: Vec<String>,
        /// Switchover: the primary stops taking writes and drains.
        read_only: bool,
        /// A promoted region starts its log right above this point.
        start_after: Lsn,
    },
    /// A region -> coordinator: its role epoch, its durable point, and (primary) the
    /// feed's view: whether it is read-only and fully drained.
    GReport {
        region: String,
        gepoch: u64,
        durable: Lsn,
        drained: bool,
    },
    /// Control plane -> its writer instance: stop taking writes (switchover drain).
    GReadOnly,
    // ---- client <-> instance
    Request {
        id: u64,
        txn: u64,
        op: ClientOp,
    },
    Reply {
        id: u64,
        reply: ClientReply,
    },
    // ---- serverless v2 (issue 16)
    /// Writer instance -> replica instances: the writer's serverless capacity in half-ACUs.
    /// Replicas in promotion tiers 0-1 keep their own capacity at least this high.
    Capacity {
        half_acus: u32,
    },
    // ---- parallel query (`crate::writer` pquery, `crate::storage` pquery)
    /// Instance -> one segment of `pg`: evaluate a scan over the PG's pages at `at`
    /// (the segment's SCL must reach `need`, the PG's last record at or below `at`).
    PqScan {
        id: u64,
        epoch: Epoch,
        pg: PgId,
        mepoch: MEpoch,
        at: Lsn,
        need: Lsn,
        lo: u64,
        hi: u64,
        min: i64,
        dgen: Epoch,
    },
    /// The segment's partial aggregate (count, sum), or None (lagging, behind the GC
    /// horizon or a stale epoch: ask another segment).
    PqResult {
        id: u64,
        result: Option<(u64, i64)>,
    },
}

impl Msg {
    /// Approximate binary size of the message (what a compact encoding would send).
    pub fn wire_size(&self) -> u64 {
        let recs = |r: &Vec<Record>| r.iter().map(Record::wire_size).sum::<u64>();
        32 + match self {
            Msg::Write {
                records,
                truncations,
                ..
            } => recs(records) + 24 * truncations.len() as u64,
            Msg::RecoverCommit { records, .. } => recs(records),
            Msg::RecoverState { records, .. } => recs(records),
            Msg::GossipPush { records, .. } => recs(records),
            Msg::Stream { records, .. } => recs(records),
            Msg::GShip { records, .. } | Msg::GStore { records, .. } => recs(records),
            Msg::GossipPull { missing, .. } => 8 * missing.len() as u64,
            Msg::PageData { image: Some(i), .. } => 24 * i.len() as u64,
            _ => 16,
        }
    }
}

/// An addressed outgoing message. `to` is a host name, or `ip:port` for a client socket.
#[derive(Clone, Debug)]
pub struct Outbound {
    pub to: String,
    pub msg: Msg,
}

pub fn out(to: impl Into<String>, msg: Msg) -> Outbound {
    Outbound { to: to.into(), msg }
}
