//! Switchable known bugs, for proving that the harness catches them. Each changes
//! exactly the mechanism it names; none is on by default. The table below is the
//! catalog: name, what the bug does, and the real failure mode it echoes.

use serde::{Deserialize, Serialize};

#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Bug {
    /// The writer counts a record durable once one segment has it (not 4 of 6).
    AckBeforeQuorum,
    /// The writer serves reads of values written above VDL (not yet durable).
    ReadAboveVdl,
    /// Storage accepts writes carrying a stale volume epoch (no fencing).
    NoEpochFencing,
    /// Replicas apply an MTR's records one per millisecond, visible mid-MTR.
    ReplicaPartialMtr,
    /// The writer needs 5 of 6 segments for a write quorum.
    WriteQuorumFive,
    /// Recovery writes no truncation range: records above the new VDL survive.
    NoTruncation,
    /// LSN allocation ignores the LAL (no back-pressure).
    NoLal,
    /// After recovery, new LSNs start right above the new VDL, inside the truncation range.
    LsnInsideTruncation,
    /// Storage admits I/O carrying an older membership epoch.
    StaleMembershipAccepted,
    /// A membership change commits as soon as the new segment adopted it, caught up or not.
    MembershipCommitEarly,
    /// A replica's new transactions reuse its oldest open snapshot (reads go back in time).
    ReplicaReusesSnapshot,
    /// Replicas stop applying the redo stream (reads keep being served, ever staler).
    ReplicaStopsApplying,
    /// Failover prefers the highest promotion tier.
    FailoverWrongTier,
    /// Failover breaks tier ties by name instead of by the larger instance.
    FailoverIgnoresSize,
    /// The health monitor waits 20 failover timeouts before failing over.
    SlowFailover,
    /// A backtrack's cut is one record short of the commit boundary.
    BacktrackInsideTxn,
    /// A backtrack never rewinds the first PG.
    BacktrackSkipsPg,
    /// Storage GC ignores the backtrack window.
    GcIgnoresBacktrackWindow,
    /// A backtrack destroys what it deactivates (no way forward again).
    BacktrackDestroys,
    /// Storage acknowledges records still in its unsynced buffer (ack before fsync).
    AckBeforeFsync,
    /// The writer acknowledges a commit once its own PG has it at quorum, before VDL reaches it.
    CommitBeforeVdl,
    /// Storage serves a page read although its SCL is below the read point.
    ReadBelowReadPoint,
    /// A replica serves each read of a transaction at its latest VDL, not the transaction's.
    ReplicaMixedSnapshot,
    /// Recovery decides VDL from the first 2 segments of each PG to answer.
    RecoveryReadQuorumTwo,
    /// Storage's checksum verification passes corrupt blocks (scrub and reads trust them).
    ScrubTrustsCorrupt,
    /// A gossip push leaves out the first record the puller lacks.
    GossipDropsRecord,
    /// Replicas apply the redo stream as it arrives and read above the VDL they were sent.
    ReplicaBeyondVdl,
    /// A clone's write lands on the version it shares: source reads of a key a clone
    /// wrote return the clone's version.
    CloneWriteLeaks,
    /// A clone's read of a key it never wrote returns the source's latest version,
    /// not the branch point's.
    CloneReadsPastBranch,
    /// Global database: the replication server applies shipments as they arrive, in any order.
    GlobalOutOfOrder,
    /// Global database: managed RPO is not enforced (commits never wait).
    GlobalRpoNotEnforced,
    /// Global database: switchover promotes the target without draining the primary.
    GlobalSwitchoverNoDrain,
    /// Global database: the old primary is not fenced (it keeps or regains a writer).
    GlobalNoFence,
    /// Global database: a secondary serves reads at what it received, above its durable point.
    GlobalReadAboveDurable,
    /// Storage GC collects up to its GC point, ignoring the minimum read point (PGMRPL).
    GcBelowReadPoint,
    /// The client library re-runs a transaction whose commit ended indeterminate, as if it failed.
    ClientRetriesIndeterminate,
    /// Global database: the coordinator waits 30 lease periods before a failover promotes.
    GlobalSlowFailover,
    // ---- issue 16, helper A: Serverless v2 and metrics (claims C21, C22).
    /// The serverless scaler raises capacity by at most 0.5 ACU per second.
    ServerlessSlowScale,
    /// A serverless capacity change drops the instance's queued requests and connections.
    ServerlessDropsConnections,
    /// The published CommitThroughput counts commit requests at submit, not at acknowledgement.
    MetricsCountAttempts,
    // ---- issue 16, helper C
    /// Survivable cache: a restarted writer keeps cached entries above the recovered VDL.
    CacheKeepsAboveVdl,
    /// Survivable cache: the region is lost at every restart (a cold cache each time).
    CacheLostOnRestart,
    /// Parallel query: storage evaluates a pushed-down scan at its newest versions.
    PqReadsLatest,
    // ---- custom endpoints (`crate::endpoints`, claim C24)
    /// The instance promoted to writer keeps serving a READER custom endpoint's sessions.
    CustomEndpointStaleAfterFailover,
    /// A custom endpoint with no healthy eligible member resolves to any healthy instance.
    CustomEndpointFallsBack,
    /// A custom endpoint's exclusion list is not applied.
    CustomEndpointIgnoresExclusions,
    /// Global database: a replication server adopts a new global epoch's branch on the
    /// coordinator's role message, without the branch point (issue 11's second-failover loss).
    GlobalBranchOnRole,
    /// Global database: a writer opened by an in-region failover starts its replication
    /// agent at its recovered VDL and never fills a secondary's gap below it from storage.
    GlobalFeedGap,
    /// Global database: a region rejoining as a secondary keeps the tail it held beyond
    /// the new primary's branch point (readable), instead of truncating it.
    GlobalRejoinMergesTail,
    // ---- fast DDL (`crate::schema`, claim C27)
    /// `ADD COLUMN` rewrites every page of the table to the new version (eager).
    DdlRewritesTable,
    /// The lazy upgrade tags a row with the new version but keeps its old columns, and
    /// readers present rows without checking their column count.
    DdlMixedSchema,
    /// A session caches the catalog it read first and presents every later row under it.
    DdlUnknownVersion,
    // ---- storage auto-scaling (`crate::pgmap`, claim C23)
    /// The writer routes a page above its PG map's limit by the version-0 rule instead of
    /// waiting for the grown map to be durable.
    AutoscaleRoutesBeforeDurable,
    /// The writer refuses every write while the volume grows, not only the new range's.
    AutoscalePausesWrites,
}

/// (bug, name, what it breaks, the real failure mode it echoes).
const CATALOG: &[(Bug, &str, &str, &str)] = &[
    (Bug::AckBeforeQuorum, "ack-before-quorum",
     "writer treats a record as durable once 1 segment acks it, so commits are acknowledged before 4/6",
     "a quorum system acknowledging on the first replica (the classic lost-ack bug Jepsen finds in primary-backup stores)"),
    (Bug::ReadAboveVdl, "read-above-vdl",
     "writer returns values whose LSN is above VDL, which a crash can still lose",
     "dirty reads of not-yet-durable log entries (etcd's stale/uncommitted read bugs)"),
    (Bug::NoEpochFencing, "no-epoch-fencing",
     "storage accepts writes with a stale volume epoch, so a zombie writer is not fenced",
     "split brain after failover without fencing tokens (Kleppmann's fencing-token argument)"),
    (Bug::ReplicaPartialMtr, "replica-partial-mtr",
     "replicas apply an MTR record by record, so readers can see part of a transaction",
     "torn reads on replicas applying redo non-atomically (Aurora P17 §4.2.4's reason for MTR atomicity)"),
    (Bug::WriteQuorumFive, "write-quorum-5",
     "writer needs 5 of 6 segments per write, so losing an AZ stops every commit",
     "an over-strict quorum that turns a tolerated AZ outage into downtime (P17 §2.1's argument for 4/6)"),
    (Bug::NoTruncation, "no-truncation",
     "recovery writes no truncation range, so records above the new VDL can reappear after it",
     "late log entries resurrected after leader change (Raft's uncommitted-entry overwrite, P18 §2.4)"),
    (Bug::NoLal, "no-lal",
     "the writer allocates LSNs without the LAL bound, so the log may run arbitrarily far ahead of VDL",
     "unbounded in-flight writes that recovery cannot bound (P17 §4.2.1's LAL)"),
    (Bug::LsnInsideTruncation, "lsn-inside-truncation",
     "after recovery new LSNs start right above VDL, inside the range storage discards",
     "LSN/sequence reuse after recovery (reused log positions in Kafka's unclean leader election)"),
    (Bug::StaleMembershipAccepted, "stale-membership-accepted",
     "storage admits reads, writes and gossip carrying an older membership epoch",
     "acting on stale configuration during reconfiguration (P18 §4.1, ZooKeeper dynamic reconfig bugs)"),
    (Bug::MembershipCommitEarly, "membership-commit-early",
     "a segment replacement commits as soon as the new segment adopts it, before it has caught up",
     "adding a replica to the quorum before it is hydrated (Cassandra bootstrap / Raft learner promotion bugs)"),
    (Bug::ReplicaReusesSnapshot, "replica-reuses-old-snapshot",
     "a replica shares snapshots through a small cache and hands out an older one again, so a later read can see less than an earlier one",
     "non-monotonic reads from snapshot sharing on read replicas (Jepsen's MongoDB and YugabyteDB stale-read findings)"),
    (Bug::ReplicaStopsApplying, "replica-stops-applying",
     "replicas stop applying the redo stream while still serving reads",
     "a stalled replica apply thread behind a healthy-looking endpoint (MySQL SQL-thread stalls)"),
    (Bug::FailoverWrongTier, "failover-wrong-tier",
     "failover promotes the replica with the highest tier instead of the lowest",
     "misconfigured promotion priority (Aurora promotion tiers, Redis Sentinel replica-priority)"),
    (Bug::FailoverIgnoresSize, "failover-ignores-size",
     "failover breaks tier ties by name, not by the larger instance",
     "promoting an undersized instance (Aurora's documented size tie-break)"),
    (Bug::SlowFailover, "slow-failover",
     "the health monitor waits 20 failover timeouts before promoting a replica",
     "failure detectors tuned too conservatively (RDS Multi-AZ failovers measured in minutes)"),
    (Bug::BacktrackInsideTxn, "backtrack-inside-txn",
     "a backtrack cuts the log one record before the commit boundary it chose, so part of a transaction survives the rewind",
     "point-in-time restore to a log position inside a transaction (restoring to an LSN rather than a commit boundary)"),
    (Bug::BacktrackSkipsPg, "backtrack-skips-pg",
     "a backtrack never sends its deactivations to the first PG, so that PG keeps the rewound records",
     "a partial restore across shards (one shard left at the newer point: torn cross-shard snapshots)"),
    (Bug::GcIgnoresBacktrackWindow, "gc-ignores-backtrack-window",
     "storage GC collects old versions by the minimum read point only, so a backtrack finds versions inside its window gone",
     "retention shorter than the restore window (WAL or binlog purged before the PITR window ends)"),
    (Bug::BacktrackDestroys, "backtrack-destroys",
     "a backtrack truncates what it should only deactivate, so moving forward again cannot restore the later state",
     "destructive rewind (a restore that overwrites in place, losing the path back; Aurora backtrack's reversible design)"),
    (Bug::AckBeforeFsync, "ack-before-fsync",
     "storage acknowledges a write at once, with an SCL that counts its unsynced buffer, and leaves the fsync to a lazy 100 ms flush, so a crash drops acknowledged records",
     "acknowledging before fsync (the ALICE / 'Files are hard' crash-consistency bugs; etcd and Kafka's unflushed-ack loss)"),
    (Bug::CommitBeforeVdl, "commit-before-vdl",
     "the writer acknowledges a commit as soon as its own PG has the commit record at 4/6, even while an earlier record of another PG is below quorum (VDL not there yet)",
     "committing on a partial quorum across shards (P17 §4.2's reason for VCL/VDL; 2PC acking before all participants are durable)"),
    (Bug::ReadBelowReadPoint, "read-below-read-point",
     "storage answers a page read at read point P although its SCL is below the PG's last record at or below P, so it serves an older version",
     "stale reads from a lagging replica of a quorum store (Cassandra ONE reads, Jepsen's stale-read findings)"),
    (Bug::ReplicaMixedSnapshot, "replica-mixed-snapshot",
     "a replica reads each key of a transaction at its VDL of the moment, so one transaction mixes two VDLs",
     "read skew from per-statement snapshots (read committed where repeatable read was promised; Jepsen's MySQL and TiDB findings)"),
    (Bug::RecoveryReadQuorumTwo, "recovery-read-quorum-2",
     "recovery decides the new VDL from the first 2 segments of each PG to answer, which need not overlap the write quorum of the last commits",
     "quorums that do not intersect (Vr + Vw <= V; P17 §2.1, Dynamo-style sloppy quorums losing acknowledged writes)"),
    (Bug::ScrubTrustsCorrupt, "scrub-trusts-corrupt",
     "storage's checksum verification passes any block, so scrub never repairs a corrupt record and reads serve it",
     "silent data corruption behind a skipped checksum (ZFS's motivation; HDFS and Ceph scrub bugs)"),
    (Bug::GossipDropsRecord, "gossip-drops-record",
     "a gossip push leaves out the first record the puller lacks, so a segment that missed a write keeps its hole (its SCL stalls) and a new segment never hydrates",
     "anti-entropy that silently skips entries (Cassandra repair and Riak AAE bugs leaving replicas divergent)"),
    (Bug::ReplicaBeyondVdl, "replica-beyond-vdl",
     "the writer streams redo as it is generated and replicas apply it at once, reading above the VDL they were sent, so they show records a recovery then truncates",
     "replicas exposing uncommitted log entries (MongoDB rollback of majority-unacknowledged writes, read-uncommitted on followers; P17 §4.2.4's VDL gate)"),
    (Bug::CloneWriteLeaks, "clone-write-leaks",
     "a write on a clone lands on the page version it shares with its source, so a source read of a key the clone has written returns the clone's latest version",
     "copy-on-write that writes through to the shared block (snapshot/clone isolation bugs in ZFS, Btrfs and LVM thin provisioning)"),
    (Bug::CloneReadsPastBranch, "clone-reads-past-branch",
     "a clone's read of a key it has not written itself goes through to the source's latest version instead of the version at its branch point",
     "a clone or snapshot pinned to the wrong point (reads through to the live parent, as in broken thin-snapshot or Neon branch LSN handling)"),
    (Bug::GlobalOutOfOrder, "global-out-of-order",
     "a secondary's replication server applies shipments as they arrive (a later one before the gap before it is filled), so older values overwrite newer ones and its durable point skips missing records",
     "cross-region log shipping that applies out of order (MySQL multi-threaded replica gaps; logical replication applying batches unordered)"),
    (Bug::GlobalRpoNotEnforced, "global-rpo-not-enforced",
     "the primary acknowledges commits while every secondary lags more than the managed RPO",
     "a configured RPO that the commit path never consults (Aurora PostgreSQL rds.global_db_rpo)"),
    (Bug::GlobalSwitchoverNoDrain, "global-switchover-no-drain",
     "a switchover promotes the target at once, without waiting until it has everything the primary acknowledged",
     "planned failover that skips the catch-up step (losing the replication lag on a 'zero data loss' switchover)"),
    (Bug::GlobalNoFence, "global-no-fence",
     "the old primary region ignores the coordinator's lease and fence, so after a failover it keeps (or regains) a writer: split-brain writes",
     "split brain after cross-region failover without fencing (the reason Aurora fences the old primary)"),
    (Bug::GlobalReadAboveDurable, "global-read-above-durable",
     "a secondary region serves reads at the point it received, above what its storage made durable",
     "reads from a replica's unflushed apply buffer (follower reads above the durable index)"),
    (Bug::GcBelowReadPoint, "gc-below-read-point",
     "storage GC collects every version its GC point supersedes, ignoring the minimum read point (PGMRPL) and the retention below it, while reads are still admitted down to the PGMRPL horizon, so an open snapshot finds the version it needs gone",
     "garbage collection racing long-running snapshots (PostgreSQL's 'snapshot too old' / vacuum removing tuples a hot-standby query needs; P18 §3.3's PGMRPL)"),
    (Bug::ClientRetriesIndeterminate, "client-retries-indeterminate",
     "the client library treats a commit that ended indeterminate (timeout, writer lost its role) as failed and silently re-runs the transaction, so its effect can apply twice",
     "non-idempotent retries after an ambiguous commit (Jepsen's duplicate-append and double-increment findings; the reason for idempotency keys and CockroachDB's ambiguous-result error)"),
    (Bug::GlobalSlowFailover, "global-slow-failover",
     "the global coordinator waits 30 lease periods (60 s) past the old primary's last lease before a failover promotes",
     "an over-cautious cross-region failure detector (global failovers that take minutes instead of under one)"),
    (Bug::ServerlessSlowScale, "serverless-slow-scale",
     "the serverless scaler raises capacity by at most 0.5 ACU per second, however far the load is above it",
     "step-wise autoscaling that lags a load spike (Aurora Serverless v1's scaling points and cool-downs, which v2 removed)"),
    (Bug::ServerlessDropsConnections, "serverless-drops-connections",
     "a serverless capacity change restarts the instance's request handling: queued requests are answered 'unavailable' and its connections are forgotten",
     "scaling that drops connections (Aurora Serverless v1 scaling that could not find a scaling point and cut sessions)"),
    (Bug::MetricsCountAttempts, "metrics-count-attempts",
     "the instance's published CommitThroughput counts every commit request when it arrives, not the commits it acknowledged",
     "a metric that counts attempts as successes (throughput dashboards that include aborted or timed-out transactions)"),
    (Bug::CacheKeepsAboveVdl, "cache-keeps-above-vdl",
     "a writer restarting on a survivable buffer cache keeps the cached entries above the VDL its recovery chose (records the recovery truncated), so it serves values storage never made durable",
     "a warm cache reused across a crash without invalidating what the log recovery threw away (Aurora's survivable cache must drop pages newer than the recovered point)"),
    (Bug::CacheLostOnRestart, "cache-lost-on-restart",
     "the survivable cache region is discarded at every restart, so the restarted writer starts cold",
     "a buffer cache that lives in process memory (a restarted MySQL/PostgreSQL instance warming up for minutes)"),
    (Bug::PqReadsLatest, "pq-reads-latest",
     "a storage node evaluates a pushed-down parallel-query scan over its newest page versions instead of the read point the instance sent, so the result includes records above it (even ones not yet durable)",
     "pushed-down predicates evaluated outside the query's snapshot (MVCC visibility skipped in a storage-side filter; Aurora Parallel Query must respect the read view)"),
    (Bug::CustomEndpointStaleAfterFailover, "custom-endpoint-stale-after-failover",
     "an instance promoted to writer does not check its role for sessions opened through a READER custom endpoint, so clients whose cached resolution (DNS TTL) predates the failover read from the writer",
     "reader traffic landing on a freshly promoted writer through a stale DNS answer (the Aurora DNS-TTL failover caveat the AWS drivers guard against by checking innodb_read_only)"),
    (Bug::CustomEndpointFallsBack, "custom-endpoint-falls-back",
     "a custom endpoint with no healthy eligible member resolves to any healthy replica (or the writer), as the cluster reader endpoint does, instead of answering no target",
     "an endpoint that silently widens to the whole cluster when its members are down (analytics load leaking onto the OLTP replicas)"),
    (Bug::CustomEndpointIgnoresExclusions, "custom-endpoint-ignores-exclusions",
     "a custom endpoint defined by an exclusion list routes to every instance, the excluded ones included",
     "an exclusion list lost on the way from the API to the router (traffic reaching an instance reserved for other work)"),
    (Bug::GlobalBranchOnRole, "global-branch-on-role",
     "a secondary's replication server takes a new global epoch as its log's branch when the coordinator announces it, before the new primary's first shipment says where that branch starts: a tail it held beyond the promoted point is kept and merged with the new primary's records at the same LSNs, and its storage is told to truncate at the old branch point",
     "a follower that learns a new term from a heartbeat and keeps its divergent suffix (Raft's log-matching rule skipped; the classic lost-write after a second leader change)"),
    (Bug::GlobalFeedGap, "global-feed-gap",
     "a writer opened by an in-region failover starts its replication agent at its recovered VDL: a secondary that was behind that point is never sent the records in between (they are not read back from the primary's storage), so its durable point stops for good",
     "cross-region replication that resumes from the new leader's in-memory position after a local failover instead of the follower's acknowledged position (a binlog/CDC consumer that silently skips a range, or stalls on it)"),
    (Bug::GlobalRejoinMergesTail, "global-rejoin-merges-tail",
     "a region that rejoins as a secondary (a fenced old primary, or a secondary that ran ahead of the promoted point) keeps the records it held beyond the new primary's branch point: they stay readable, and the new primary's records at the same LSNs are dropped as already held",
     "a failed-over old primary re-attached as a replica without rewinding its divergent tail (MySQL errant GTIDs, PostgreSQL without pg_rewind): reads show writes the new primary never had"),
    (Bug::DdlRewritesTable, "ddl-rewrites-table",
     "ADD COLUMN reads every page of the table and rewrites each row under the new version in the DDL's transaction, so the DDL's time grows with the table's size",
     "a table-copying ALTER TABLE (MySQL's ALGORITHM=COPY, or PostgreSQL's ADD COLUMN with a volatile default before 11) where an instant metadata change was promised"),
    (Bug::DdlMixedSchema, "ddl-mixed-schema",
     "the lazy upgrade on write tags the row with the current schema version but keeps only its old columns (the new ones are not added), and readers present a row without checking that its column count is its version's",
     "instant ADD COLUMN row-format bugs (MySQL 8.0's INSTANT columns: rows read with a wrong field count after a partial upgrade, crash-recovery and replication fixes in 8.0.29-8.0.32)"),
    (Bug::DdlUnknownVersion, "ddl-unknown-version",
     "a client session caches the catalog it read first instead of reading it at each transaction's read point, and presents later rows under that stale schema (a row written under a newer version is cut down to the old columns)",
     "a stale schema/metadata cache on a connection (a prepared statement's cached table definition used after an ALTER TABLE)"),
    (Bug::AutoscaleRoutesBeforeDurable, "autoscale-routes-before-durable",
     "the writer does not wait for the grown PG map: a write to a page above its map's limit is routed by the version-0 placement to an old PG, and once the new version (which gives the page to the new PG) is durable every reader that knows it, a recovered writer included, reads the page from the new PG and misses the write",
     "routing by a shard map the metadata store has not committed (a split whose new range is served before the map change is durable: writes land on the old owner and vanish when routing flips)"),
    (Bug::AutoscalePausesWrites, "autoscale-pauses-writes",
     "while the volume grows (the highest page the writer logged a record on is within the headroom of its map's limit, the control plane's growth trigger, and no newer version has arrived) the writer refuses every write, to old PGs too",
     "stop-the-world resharding (a rebalance that quiesces all writes instead of only the moving range; Aurora grows a volume in 10 GB segments without pausing I/O)"),
];

impl Bug {
    pub fn all() -> Vec<Bug> {
        CATALOG.iter().map(|c| c.0).collect()
    }
    fn entry(self) -> &'static (Bug, &'static str, &'static str, &'static str) {
        CATALOG
            .iter()
            .find(|c| c.0 == self)
            .expect("every bug is in the catalog")
    }
    pub fn name(self) -> &'static str {
        self.entry().1
    }
    pub fn from_name(name: &str) -> Option<Bug> {
        Bug::all().into_iter().find(|b| b.name() == name)
    }
    pub fn description(self) -> &'static str {
        self.entry().2
    }
    /// The real system, paper or failure mode this bug mirrors.
    pub fn echoes(self) -> &'static str {
        self.entry().3
    }
}

impl std::fmt::Display for Bug {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}
