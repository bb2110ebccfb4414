//! The global database (AURORA.md §Global database): a primary region and up to 5
//! secondary regions fed by storage-level, asynchronous replication.
//!
//! Topology (kept small: turmoil's cost grows with hosts²):
//! - the primary region `r0` is the whole reference cluster (storage, instances,
//!   `control`, `meta`); its writer runs the replication agent ([`Feed`]);
//! - each secondary region `rN` has a replication server that is also its reader
//!   and, once promoted, its writer (`rN-rs`, [`server`]), and a volume of 3 storage
//!   hosts, one per AZ, each holding 2 of the 6 segments of every PG (`rN-s0..2`,
//!   [`store`]);
//! - the global coordinator `global` ([`coordinator`]) holds the global epoch and
//!   the primary region, grants write leases, and resolves the global writer and
//!   regional reader endpoints.
//!
//! Data flow: the primary's durable redo (at or below VDL, LSN order, whole MTRs)
//! goes agent → server (shipments and acks over 60-150 ms inter-region links) →
//! the secondary's storage; the secondary's durable point advances only over
//! contiguous records acknowledged by 2 of its 3 hosts; its readers read there.
//! Primary commits never wait for secondaries, except under managed RPO.
//!
//! In-region writer failover: the new writer's agent holds no redo below its recovered
//! VDL; a secondary behind that point (`GlobalFeedGap`) is filled from the primary's
//! storage (`GFetch` to a read quorum of every PG, `writer/feed_fill.rs`) before the
//! live feed resumes, contiguously from the secondary's acknowledged point.
//!
//! Rejoin (opt-in, [`GlobalConfig::rejoin`]): the fenced old primary `r0`, once back,
//! becomes a secondary of the new primary through its own replication server `r0-rs`;
//! the tail beyond the promoted point is truncated there (and recorded), never merged.
//! Its cluster (writer, replicas, storage) stays fenced: it never accepts a write.
//!
//! Not modelled (stated, not hidden): a promoted secondary (a replication server) that
//! is failed away from is fenced and not re-fed; the fill relies on primary storage still
//! holding the range (GC keeps 20,000 LSNs below the read point by default; a range GC
//! removed is never completed, so the gap stays open and the feed-gap check fails).

pub mod coordinator;
pub mod feed;
pub mod gate;
pub mod server;
pub mod store;

pub use coordinator::{CoordDisk, Coordinator, RoleChange};
pub use feed::{Feed, FeedConfig, GLOBAL};
pub use gate::RegionGate;
pub use server::{RegionServer, ServerDisk};
pub use store::{SecondaryStore, StoreDisk};

use crate::bug::Bug;
use crate::event::EventKind;
use crate::metrics::InstanceMetrics;
use crate::net::{run_node, Node, Shared};
use crate::types::*;
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;

/// The primary region's name.
pub const PRIMARY: &str = "r0";

/// A global database's shape. Region `r0` is the primary cluster; `secondaries`
/// more regions `r1..` get a server and 3 storage hosts each.
#[derive(Clone, Debug)]
pub struct GlobalConfig {
    pub secondaries: usize,
    /// One-way latency between regions `(a, b)` with `a < b`, in ms (60-150 ms);
    /// pairs not listed get `default_latency_ms`.
    pub latency_ms: BTreeMap<(String, String), u64>,
    pub default_latency_ms: u64,
    /// Latency jitter on inter-region links (messages take latency..latency+jitter).
    pub jitter_ms: u64,
    /// Latency between the coordinator and every region.
    pub coordinator_latency_ms: u64,
    /// Managed RPO (`rds.global_db_rpo`) in ms, if set.
    pub rpo_ms: Option<u64>,
    /// Rejoin (opt-in): the primary region `r0` also has a replication server and a
    /// 3-host secondary volume (`r0-rs`, `r0-s0..2`), kept in step with r0's own log by
    /// its writer's agent (in-region) while r0 is primary. After a failover, when the
    /// fenced old primary comes back, the coordinator records its diverged tail and
    /// makes `r0-rs` the region's entry: a secondary of the new primary, which truncates
    /// the tail beyond the promoted point (recorded, never merged) and is fed from there.
    pub rejoin: bool,
}

impl Default for GlobalConfig {
    fn default() -> Self {
        let mut latency_ms = BTreeMap::new();
        latency_ms.insert(("r0".into(), "r1".into()), 70);
        latency_ms.insert(("r0".into(), "r2".into()), 120);
        latency_ms.insert(("r1".into(), "r2".into()), 90);
        GlobalConfig {
            secondaries: 2,
            latency_ms,
            default_latency_ms: 100,
            jitter_ms: 10,
            coordinator_latency_ms: 30,
            rpo_ms: None,
            rejoin: false,
        }
    }
}

impl GlobalConfig {
    /// Regions with a replication server: the secondaries, and `r0` under rejoin.
    pub fn server_regions(&self) -> Vec<String> {
        let all = self.regions();
        let skip = usize::from(!self.rejoin);
        all[skip..].to_vec()
    }
    pub fn regions(&self) -> Vec<String> {
        (0..=self.secondaries).map(|i| format!("r{i}")).collect()
    }
    pub fn server_host(region: &str) -> String {
        format!("{region}-rs")
    }
    pub fn store_hosts(region: &str) -> Vec<String> {
        (0..3).map(|i| format!("{region}-s{i}")).collect()
    }
    /// Hosts of a secondary region (server first).
    pub fn secondary_hosts(region: &str) -> Vec<String> {
        let mut v = vec![Self::server_host(region)];
        v.extend(Self::store_hosts(region));
        v
    }
    /// The feed settings of the primary's writer.
    pub fn feed_config(&self, bugs: &BTreeSet<Bug>) -> FeedConfig {
        FeedConfig {
            region: PRIMARY.into(),
            targets: self
                .server_regions()
                .iter()
                .map(|r| Self::server_host(r))
                .collect(),
            rpo_ms: self.rpo_ms,
            resend_ms: 400,
            bugs: bugs.clone(),
        }
    }
    pub fn latency(&self, a: &str, b: &str) -> u64 {
        let k = if a < b {
            (a.to_string(), b.to_string())
        } else {
            (b.to_string(), a.to_string())
        };
        self.latency_ms
            .get(&k)
            .copied()
            .unwrap_or(self.default_latency_ms)
    }
}

/// Durable state of the global layer, shared with the driver (white-box only).
#[derive(Clone)]
pub struct GlobalHandle {
    pub cfg: GlobalConfig,
    pub coord: Rc<RefCell<CoordDisk>>,
    pub servers: BTreeMap<String, Rc<RefCell<ServerDisk>>>,
    pub stores: BTreeMap<String, Rc<RefCell<StoreDisk>>>,
}

impl GlobalHandle {
    /// Ask the coordinator for a switchover or failover (what `aws rds
    /// switchover-global-cluster` / `failover-global-cluster --allow-data-loss` do).
    pub fn request(&self, change: RoleChange, now: SimTime) {
        self.coord.borrow_mut().requested = Some((change, now));
    }
    pub fn primary(&self) -> String {
        self.coord.borrow().primary.clone()
    }
    /// Wipe a secondary region's storage and server state (a destroyed region).
    pub fn destroy_region(&self, region: &str) {
        for (h, d) in &self.stores {
            if h.starts_with(&format!("{region}-")) {
                *d.borrow_mut() = StoreDisk::default();
            }
        }
        if let Some(d) = self.servers.get(&GlobalConfig::server_host(region)) {
            *d.borrow_mut() = ServerDisk::default();
        }
    }
}

struct Wrap<T> {
    name: String,
    core: T,
}

macro_rules! node_impl {
    ($t:ty) => {
        impl Node for Wrap<$t> {
            fn name(&self) -> &str {
                &self.name
            }
            fn handle(&mut self, now: SimTime, from: &str, msg: Msg) -> Vec<Outbound> {
                self.core.handle(now, from, msg)
            }
            fn tick(&mut self, now: SimTime) -> Vec<Outbound> {
                self.core.tick(now)
            }
            fn take_events(&mut self) -> Vec<EventKind> {
                std::mem::take(&mut self.core.events)
            }
            fn core_metrics(&self) -> InstanceMetrics {
                InstanceMetrics::default()
            }
        }
    };
}

impl SecondaryStore {
    pub fn tick(&mut self, _now: SimTime) -> Vec<Outbound> {
        vec![]
    }
}

node_impl!(RegionServer);
node_impl!(SecondaryStore);
node_impl!(Coordinator);

/// Register the secondary regions' hosts and the coordinator.
pub fn install(
    sim: &mut turmoil::Sim<'_>,
    cfg: GlobalConfig,
    shared: Shared,
    pgs: u32,
    bugs: BTreeSet<Bug>,
    dns_ttl_ms: u64,
    tick_ms: u64,
) -> GlobalHandle {
    let coord = Rc::new(RefCell::new(CoordDisk {
        primary: PRIMARY.into(),
        ..CoordDisk::default()
    }));
    let mut servers = BTreeMap::new();
    let mut stores = BTreeMap::new();
    let mut regions = BTreeMap::new();
    regions.insert(PRIMARY.to_string(), "control".to_string());
    let mut rejoin = BTreeMap::new();
    for region in cfg.server_regions() {
        let sname = GlobalConfig::server_host(&region);
        if region == PRIMARY {
            rejoin.insert(region.clone(), sname.clone());
        } else {
            regions.insert(region.clone(), sname.clone());
        }
        let sdisk = Rc::new(RefCell::new(ServerDisk::default()));
        servers.insert(sname.clone(), sdisk.clone());
        {
            let (shared, region, bugs, rpo) =
                (shared.clone(), region.clone(), bugs.clone(), cfg.rpo_ms);
            let name = sname.clone();
            sim.host(sname.as_str(), move || {
                let core = RegionServer::new(
                    name.clone(),
                    region.clone(),
                    GlobalConfig::store_hosts(&region),
                    sdisk.clone(),
                    pgs as u64,
                    rpo,
                    bugs.clone(),
                );
                run_node(
                    Wrap {
                        name: name.clone(),
                        core,
                    },
                    shared.clone(),
                    tick_ms,
                )
            });
        }
        for h in GlobalConfig::store_hosts(&region) {
            let d = Rc::new(RefCell::new(StoreDisk::default()));
            stores.insert(h.clone(), d.clone());
            let (shared, region, name) = (shared.clone(), region.clone(), h.clone());
            sim.host(h.as_str(), move || {
                let core = SecondaryStore {
                    name: name.clone(),
                    region: region.clone(),
                    disk: d.clone(),
                    events: vec![],
                };
                run_node(
                    Wrap {
                        name: name.clone(),
                        core,
                    },
                    shared.clone(),
                    tick_ms,
                )
            });
        }
    }
    {
        let (coord, shared) = (coord.clone(), shared.clone());
        sim.host(GLOBAL, move || {
            let mut core =
                Coordinator::new(coord.clone(), regions.clone(), dns_ttl_ms, bugs.clone());
            core.rejoin = rejoin.clone();
            run_node(
                Wrap {
                    name: GLOBAL.to_string(),
                    core,
                },
                shared.clone(),
                tick_ms,
            )
        });
    }
    GlobalHandle {
        cfg,
        coord,
        servers,
        stores,
    }
}

/// Set inter-region latencies: `regions` maps each region to its hosts (the
/// primary's cluster hosts, the secondaries' hosts, and any client hosts placed in
/// a region). Links inside a region keep the simulation's few-ms default.
pub fn set_latencies(
    sim: &mut turmoil::Sim<'_>,
    cfg: &GlobalConfig,
    regions: &BTreeMap<String, Vec<String>>,
    slow: &BTreeMap<String, u64>,
) {
    use std::time::Duration;
    let names: Vec<&String> = regions.keys().collect();
    for (i, a) in names.iter().enumerate() {
        for b in names.iter().skip(i + 1) {
            let base = cfg
                .latency(a, b)
                .max(slow.get(*a).copied().unwrap_or(0))
                .max(slow.get(*b).copied().unwrap_or(0));
            for x in &regions[*a] {
                for y in &regions[*b] {
                    sim.set_link_latency(x.as_str(), y.as_str(), Duration::from_millis(base));
                    sim.set_link_max_message_latency(
                        x.as_str(),
                        y.as_str(),
                        Duration::from_millis(base + cfg.jitter_ms),
                    );
                }
            }
        }
        let c = cfg
            .coordinator_latency_ms
            .max(slow.get(*a).copied().unwrap_or(0));
        for x in &regions[*a] {
            sim.set_link_latency(x.as_str(), GLOBAL, Duration::from_millis(c));
        }
    }
}
