//! # reference — a compact but real Aurora inside turmoil
//!
//! The system under test for `aurora-chaos`, built from `shared/AURORA.md` (the two
//! Aurora papers condensed). Small, not fake: quorum log storage, VDL commits,
//! epoch-fenced recovery, read replicas, failover and endpoints all run for real.
//!
//! ```text
//!   client hosts (turmoil)                 control  (health, failover, epochs,
//!   Client::connect(Endpoint) ──Resolve──▶  host     name service with TTL)
//!        │   Request/Reply (UDP)              ▲  Heartbeat / Assign{role}
//!        ▼                                    │
//!   ┌──────────┐  Stream{MTRs ≤ VDL, VDL}  ┌──┴───────┐   ┌──────────┐
//!   │ db-1     │ ─────────────────────────▶│ db-2     │   │ db-3     │
//!   │ Writer   │ ────────────────────────────────────────▶│ Replica  │
//!   │ txns,    │                           │ Replica  │   │ tier 2   │
//!   │ VDL, LAL │                           │ tier 1   │   └────┬─────┘
//!   └──┬───▲───┘                           └────┬─────┘        │ ReadPage at
//!      │   │ WriteAck{SCL}/Rejected{epoch}      │ ReadPage at   │ its VDL
//!      │   │                                    │ its VDL       │
//!   Write{epoch, redo records, VDL, truncations}                │
//!      ▼   │                                    ▼               ▼
//!   ┌──────────── PG 0 (6 segments), PG 1 (6 segments) ... ─────────────┐
//!   │  AZ 0: s-az0-0  s-az0-1   AZ 1: s-az1-0  s-az1-1   AZ 2: s-az2-0 …  │
//!   │  each node: receive → buffer → group fsync → ack SCL; gossip        │
//!   │  (holes via backlinks), scrub (checksums, repair from a peer)       │
//!   └──────────────────────────────────────────────────────────────────────┘
//! ```
//!
//! ## Mechanisms
//! - **Storage** ([`storage`]): each node holds one segment of every PG it is placed in
//!   (6 per PG, 2 per AZ, [`topology`]). Incoming records go to an unsynced buffer;
//!   one fsync (group commit, `fsync_ms` after the first) makes the batch durable, and
//!   only then are the writes acknowledged with the segment's SCL (end of its gap-free
//!   backlink chain); a crash drops the buffer. Gossip pulls fill holes; scrub finds
//!   checksum failures and repairs them from a peer. Epochs and truncation ranges are
//!   durable; stale volume epochs are rejected (fencing), and a recovery query syncs
//!   the buffer before answering so no old-epoch ack can follow it.
//! - **Writer** ([`writer`]): keys live on pages (`KEYS_PER_PAGE` keys each), pages in
//!   PGs (`page % pgs`). A commit is one MTR: one redo record per written key, volume-
//!   wide LSNs, per-PG backlinks, the last record a CPL. PGCL = 4th-highest SCL of a PG;
//!   VCL = highest LSN with everything below at its PGCL; VDL = highest CPL ≤ VCL. The
//!   commit is parked until VDL ≥ its LSN. LAL bounds allocation (`next ≤ VDL + LAL`).
//!   The buffer cache evicts only unpinned pages with LSN ≤ VDL; misses read a page
//!   at VDL from a segment whose SCL reaches the PG's last record ≤ VDL.
//! - **Transactions**: interactive (begin/read/write/append/cas/commit/abort),
//!   optimistic and strictly serializable: reads see the newest value at or below VDL
//!   (waiting for VDL if the newest write is above it), commit validates every read
//!   version and allocates in one step. A read-only commit on the writer waits for one
//!   epoch-confirming round trip to a write quorum of every PG, so a deposed writer
//!   cannot serve stale reads.
//!   With [`Isolation::Snapshot`] reads come from a snapshot at the transaction's
//!   first VDL (older versions read from storage) and commit checks only
//!   write-write conflicts.
//! - **Recovery** ([`writer`]'s `recovery`): query every PG (stamping the new epoch),
//!   wait for 4 of 6, walk the backlink chains of the union of their records from the
//!   highest floor, compute VCL/VDL over the LSN sequence (skipping old truncation
//!   ranges), re-replicate the kept tail, write the truncation range
//!   `(VDL, max(VDL + LAL, highest LSN seen)]` to 4/6 of every PG, resume above it.
//! - **Replicas** ([`replica`]): apply streamed MTRs to cached pages only, in LSN
//!   order, atomically; snapshot read-only transactions at the replica's VDL; lag is
//!   measured from the writer's send time.
//! - **Control plane** ([`control`]): heartbeats (a writer whose storage I/O is
//!   stalled reports unhealthy), failover to the lowest tier (ties: larger size,
//!   then name), epoch allocation, role assignment (a returning old writer becomes a
//!   replica), endpoints `cluster`, `reader`, `instance:N`, `custom:N` with a TTL.
//! - **Custom endpoints** ([`endpoints`]): static members or an exclusion list, type
//!   READER or ANY; the name service never widens one, and an instance in the writer
//!   role refuses a READER endpoint's session (the DNS TTL can point at a promoted one).
//! - **Membership** ([`membership`]): replacing a failed segment goes through the
//!   dual-quorum stage (4/6 of both sets for writes), then commits once the new
//!   segment has caught up by gossip, or reverts if the old one reports again. Hosts
//!   route I/O through cached [`topology::MembershipView`]s; every storage I/O carries
//!   the PG's membership epoch, and segments refuse stale ones (and I/O for PGs they
//!   left), so the sender refreshes and recounts its quorums in the new member list.
//!   The catch-up target is fixed only once 3 old members have adopted the dual
//!   epoch, when no old-epoch write can reach a quorum any more.
//! - **GC** ([`storage`]): below the lowest SCL of all members as their gossip pulls
//!   told this node (and the durable
//!   point), and below the minimum read point (PGMRPL) less `gc_retain_lsns`, each key
//!   keeps only its newest version; reads below that horizon are refused, never
//!   answered wrongly. The writer computes PGMRPL from its own snapshots and page
//!   reads and the read points replicas report every 100 ms, and sends it with every
//!   write, so an open snapshot holds collection back.
//!
//! ## Simplifications (honest list)
//! - The metadata service ([`meta`], host `meta`) is one strongly consistent store on
//!   one host, reached only by messages; it can be partitioned but is never destroyed
//!   (Aurora's is a replicated DynamoDB table).
//! - Permanent loss and repair ([`membership`]): a destroyed node never returns;
//!   repair replaces one segment per PG at a time on a live spare, and hydration is
//!   gossip in batches of at most 256 KiB per round trip (the bandwidth model).
//! - Segment metadata (volume epoch, truncation ranges, VDL seen) is written through,
//!   not group-committed.
//! - Pages are 4 keys; an MTR is one transaction's writes (no page splits).
//! - Backtrack ([`volume`]) rewinds by deactivating LSN ranges (kept, generation-
//!   replaced); the time → LSN index is the CPLs' allocation times on the writer's
//!   clock. No clones or global database yet.
//!
//! ## Cost
//! Measured by `benches/efficiency.rs` (standard topology: 6 storage nodes, 3
//! instances, control, 2 client hosts; 2-core machine shared with other builds):
//! about 22x real time at ~70 txn/s with a 1 ms tick and 58x with a 5 ms tick
//! ([`sim_builder_with_tick`]); an idle cluster runs 43x / 140x. The writer sends
//! ~9-12 messages (~1.3-1.4 KB) to storage per committed two-page transaction with
//! 8 clients and ~5.3 (~1.0 KB) with 64 (group commit), against ~24 messages
//! (~260 KB) for a 4-way mirrored-page baseline.
//!
//! ## Design
//! Every protocol participant is a **sans-IO** state machine —
//! `handle(now, from, msg) -> Vec<Outbound>` and `tick(now) -> Vec<Outbound>` — with
//! no tokio inside. [`net`] wraps each as a turmoil host. Durable state (storage
//! disks, the control plane's epoch and writer, incarnation counters) lives in
//! `Rc<RefCell<…>>` created outside the host closures, so it survives `sim.crash` /
//! `sim.bounce`; everything else is rebuilt on restart.
//!
//! **Transport: turmoil UDP.** All protocols are request/response or idempotent
//! pushes with their own retries and timeouts, so a partition is silence and a
//! lost datagram is a retry. TCP was not used: turmoil 0.7.2's TCP has no
//! retransmit, and a process crash here is detected by heartbeat timeouts anyway.
//! Use [`sim_builder`] (it raises turmoil's per-socket UDP queue from 64, beyond
//! which datagrams are silently dropped, and fixes the epoch and seed).
//!
//! **Determinism**: no `std::time`, no threads, no `HashMap` iteration, all
//! randomness from seeded ChaCha. The event log of a seed is byte-identical across
//! runs (tested).
//!
//! **White-box checks**: every core emits typed [`EventKind`]s, published with sim
//! time and host; [`Cluster::subscribe`] hooks them and a built-in monitor records
//! violations ([`Cluster::invariant_violations`]): VDL regressing within an epoch, an
//! LSN above VDL + LAL, a commit acked above VDL, a stale-epoch write accepted, a
//! recovery choosing a VDL below an acknowledged commit.
//!
//! **Known bugs** ([`Bug`]) switch one mechanism off each, to prove the harness.
//!
//! ## Using it
//! ```no_run
//! use reference::*;
//! let mut sim = sim_builder(42).build();
//! let cluster = Cluster::install(&mut sim, ClusterConfig { seed: 42, ..Default::default() });
//! sim.client("client-0", async {
//!     let mut c = Client::connect(Endpoint::Cluster).await.unwrap();
//!     c.begin(false).await.unwrap();
//!     c.append(1, 7).await.unwrap();
//!     match c.commit().await {
//!         Ok(()) => {}                              // :ok
//!         Err(e) if e.is_indeterminate() => {}      // :info
//!         Err(_) => {}                              // :fail
//!     }
//!     Ok(())
//! });
//! sim.run().unwrap();
//! assert!(cluster.invariant_violations().is_empty());
//! ```
#![allow(clippy::type_complexity)]

pub mod autoscale;
pub mod branch;
pub mod bug;
pub mod client;
mod client_rows;
pub mod clone_cluster;
pub mod cluster;
pub mod control;
mod control_clone;
pub mod endpoints;
pub mod event;
pub mod lag;
pub mod ledger;
pub mod membership;
pub mod meta;
pub mod metrics;
pub mod net;
pub mod pgmap;
pub mod quorum;
pub mod recovery_watch;
pub mod region;
pub mod replica;
pub mod schema;
pub mod serverless;
pub mod storage;
pub mod survivable;
pub mod topology;
pub mod types;
pub mod volume;
pub mod writer;

pub use bug::Bug;
pub use client::{BacktrackError, Client, ClientConfig, ClientError, Endpoint};
pub use cluster::{sim_builder, sim_builder_with_tick, Cluster, ClusterConfig, Isolation};
pub use control::InstanceSpec;
pub use event::{Event, EventKind};
pub use metrics::{InstanceMetrics, Metrics};
pub use types::{Datum, Lsn};
