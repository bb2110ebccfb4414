//! Installing a whole cluster into a turmoil simulation, and driving faults that
//! need the reference's cooperation (pause, disk corruption, failover, membership).

use crate::bug::Bug;
use crate::control::{ControlConfig, ControlDisk, ControlPlane, InstanceSpec};
use crate::event::{Event, Subscriber};
use crate::meta::{MetaHost, MetaService};
use crate::metrics::Metrics;
use crate::net::{run_node, ControlHost, InstanceHost, Shared};
use crate::storage::{NodeDisk, StorageConfig, StorageNode};
use crate::topology::Topology;
use crate::writer::WriterConfig;
use serde::{Deserialize, Serialize};
use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Isolation {
    /// Optimistic validation of every read at commit: strict serializability.
    #[default]
    Serializable,
    /// Reads from a snapshot at the transaction's first VDL; commit checks only
    /// write-write conflicts (first committer wins).
    Snapshot,
}

#[derive(Clone, Debug)]
pub struct ClusterConfig {
    pub seed: u64,
    pub pgs: u32,
    pub azs: usize,
    pub nodes_per_az: usize,
    /// Extra storage nodes per AZ that hold no segment until a membership change.
    pub spare_nodes_per_az: usize,
    pub instances: Vec<InstanceSpec>,
    pub lal: u64,
    pub dns_ttl_ms: u64,
    pub failover_timeout_ms: u64,
    pub heartbeat_ms: u64,
    /// How often instances run their timers (group commit flush, resends), in ms.
    pub tick_ms: u64,
    /// How often storage nodes and the control plane run background timers, in ms.
    pub background_tick_ms: u64,
    pub cache_pages: usize,
    pub resend_ms: u64,
    pub read_timeout_ms: u64,
    pub gossip_ms: u64,
    pub scrub_ms: u64,
    /// Storage GC keeps this many LSNs of page-version history below its GC point.
    pub gc_retain_lsns: u64,
    /// Storage group commit: records are synced (and acknowledged) this long after
    /// the first of a batch arrives; a crash before that drops them (0: sync at the
    /// end of each burst of messages).
    pub fsync_ms: u64,
    /// Replace a segment whose node stays silent this long (0: only on request).
    pub repair_timeout_ms: u64,
    /// Backtrack window in simulated ms (0: backtrack off; Aurora allows up to 72 h).
    pub backtrack_window_ms: u64,
    /// Custom endpoints by name ([`crate::endpoints`]); instances get the definitions too.
    pub custom_endpoints: BTreeMap<String, crate::endpoints::CustomEndpoint>,
    pub bugs: BTreeSet<Bug>,
    pub isolation: Isolation,
    /// Keep the full event log in memory (`Cluster::events`). Turn off for long
    /// runs; subscribers and the invariant monitor are unaffected.
    pub keep_event_log: bool,
    /// Global database: secondary regions and managed RPO (None: one region).
    pub global: Option<crate::region::GlobalConfig>,
    /// Serverless v2: every instance's capacity bounds and scaler (None: provisioned).
    pub serverless: Option<crate::serverless::ServerlessConfig>,
    /// Instances keep their buffer cache in a region that survives process restarts
    /// ([`crate::survivable`]); storage then reports the page reads it serves.
    pub survivable_cache: bool,
    /// Storage auto-scaling (C23, [`crate::pgmap`]): the PG map grows by a PG of
    /// `pages_per_pg` pages as data nears its limit (None: a fixed `page % pgs` placement).
    /// Single-region volumes only: clones and global secondaries keep a fixed map.
    pub autoscale: Option<crate::pgmap::AutoscaleConfig>,
}

impl Default for ClusterConfig {
    fn default() -> Self {
        ClusterConfig {
            seed: 0,
            pgs: 2,
            azs: 3,
            nodes_per_az: 2,
            spare_nodes_per_az: 0,
            instances: vec![
                InstanceSpec {
                    name: "db-1".into(),
                    tier: 0,
                    size: 4,
                },
                InstanceSpec {
                    name: "db-2".into(),
                    tier: 1,
                    size: 4,
                },
                InstanceSpec {
                    name: "db-3".into(),
                    tier: 2,
                    size: 4,
                },
            ],
            lal: 1000,
            dns_ttl_ms: 5000,
            failover_timeout_ms: 2000,
            heartbeat_ms: 100,
            tick_ms: 10,
            background_tick_ms: 10,
            cache_pages: 64,
            resend_ms: 40,
            read_timeout_ms: 30,
            gossip_ms: 50,
            scrub_ms: 500,
            gc_retain_lsns: 20_000,
            fsync_ms: 1,
            repair_timeout_ms: 0,
            backtrack_window_ms: 0,
            custom_endpoints: BTreeMap::new(),
            bugs: BTreeSet::new(),
            isolation: Isolation::Serializable,
            keep_event_log: true,
            global: None,
            serverless: None,
            survivable_cache: false,
            autoscale: None,
        }
    }
}

struct Inner {
    cfg: ClusterConfig,
    /// The metadata service's durable state (read here only white-box).
    topo: Rc<RefCell<Topology>>,
    disks: BTreeMap<String, Rc<RefCell<NodeDisk>>>,
    control: Rc<RefCell<ControlDisk>>,
    shared: Shared,
    /// The clones' clusters installed so far.
    clones: RefCell<Vec<crate::clone_cluster::CloneCluster>>,
    global: Option<crate::region::GlobalHandle>,
    /// Each instance host's survivable cache region (with `survivable_cache`).
    regions: BTreeMap<String, crate::survivable::RegionHandle>,
}

/// Handles to a running cluster. Cheap to clone; everything is `Rc`-shared.
#[derive(Clone)]
pub struct Cluster {
    inner: Rc<Inner>,
}

/// A turmoil builder with the settings the reference expects: a fixed epoch, the
/// seed, 1 ms ticks, 1-5 ms latencies, and roomy UDP queues (turmoil drops
/// datagrams beyond `udp_capacity`, 64 by default).
pub fn sim_builder(seed: u64) -> turmoil::Builder {
    sim_builder_with_tick(seed, 1)
}

/// [`sim_builder`] with a longer tick: turmoil's cost is per tick (× hosts²), so a
/// 2-5 ms tick buys speed at the price of latencies in whole ticks
/// (message latency is 1-3 ticks).
pub fn sim_builder_with_tick(seed: u64, tick_ms: u64) -> turmoil::Builder {
    let tick = std::time::Duration::from_millis(tick_ms);
    let mut b = turmoil::Builder::new();
    b.rng_seed(seed)
        .epoch(std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_700_000_000))
        .tick_duration(tick)
        .min_message_latency(tick)
        .max_message_latency(tick * 3)
        .simulation_duration(std::time::Duration::from_secs(365 * 24 * 3600))
        .udp_capacity(4096);
    b
}

impl Cluster {
    /// Register every host: storage `s-az{a}-{i}`, the instances, `control`, and the
    /// metadata service `meta`.
    pub fn install(sim: &mut turmoil::Sim<'_>, cfg: ClusterConfig) -> Cluster {
        let topo = Rc::new(RefCell::new(Topology::place(
            cfg.pgs,
            cfg.azs,
            cfg.nodes_per_az,
            cfg.spare_nodes_per_az,
        )));
        if let Some(a) = cfg.autoscale {
            topo.borrow_mut().pgmap = crate::pgmap::PgMap::bounded(cfg.pgs, a.pages_per_pg);
        }
        let shared = Shared::default();
        shared.bus.borrow_mut().drop_log = !cfg.keep_event_log;
        let mut disks = BTreeMap::new();
        let hosts = topo.borrow().storage_hosts();
        for (i, h) in hosts.iter().enumerate() {
            let disk = Rc::new(RefCell::new(NodeDisk::default()));
            disks.insert(h.clone(), disk.clone());
            let (placement, shared, name, bugs) = (
                topo.borrow().pgs.clone(),
                shared.clone(),
                h.clone(),
                cfg.bugs.clone(),
            );
            let (gossip_ms, scrub_ms, tick) = (cfg.gossip_ms, cfg.scrub_ms, cfg.background_tick_ms);
            let (gc_retain_lsns, fsync_ms) = (cfg.gc_retain_lsns, cfg.fsync_ms);
            let backtrack_window_ms = cfg.backtrack_window_ms;
            let report_page_reads = cfg.survivable_cache;
            let autoscale = cfg.autoscale;
            let seed = cfg.seed ^ (i as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15);
            let boots = Rc::new(Cell::new(0u64));
            sim.host(h.as_str(), move || {
                boots.set(boots.get() + 1);
                let node = StorageNode::new(
                    name.clone(),
                    disk.clone(),
                    placement.clone(),
                    seed ^ boots.get(),
                    StorageConfig {
                        gossip_ms,
                        scrub_ms,
                        gc_retain_lsns,
                        fsync_ms,
                        backtrack_window_ms,
                        bugs: bugs.clone(),
                        report_page_reads,
                        autoscale,
                    },
                );
                run_node(node, shared.clone(), tick)
            });
        }
        let wcfg = WriterConfig {
            lal: cfg.lal,
            cache_pages: cfg.cache_pages,
            resend_ms: cfg.resend_ms,
            read_timeout_ms: cfg.read_timeout_ms,
            bugs: cfg.bugs.clone(),
            isolation: cfg.isolation,
            global: cfg.global.as_ref().map(|g| g.feed_config(&cfg.bugs)),
            autoscale: cfg.autoscale,
            ..WriterConfig::default()
        };
        let global_region = cfg
            .global
            .as_ref()
            .map(|_| crate::region::PRIMARY.to_string());
        let mut regions = BTreeMap::new();
        for spec in &cfg.instances {
            let (placement, shared, name, wcfg) = (
                topo.borrow().pgs.clone(),
                shared.clone(),
                spec.name.clone(),
                wcfg.clone(),
            );
            let (hb, tick) = (cfg.heartbeat_ms, cfg.tick_ms);
            let incarnation = Rc::new(Cell::new(0u64));
            // Serverless: replicas in promotion tiers 0-1 follow the writer's capacity.
            let serverless = cfg.serverless.clone().map(|s| (s, spec.tier <= 1));
            let region = cfg
                .survivable_cache
                .then(|| Rc::new(RefCell::new(crate::survivable::CacheRegion::default())));
            if let Some(r) = &region {
                regions.insert(spec.name.clone(), r.clone());
            }
            let custom = cfg.custom_endpoints.clone();
            sim.host(spec.name.as_str(), move || {
                let mut node = InstanceHost::new(
                    name.clone(),
                    placement.clone(),
                    wcfg.clone(),
                    hb,
                    incarnation.clone(),
                )
                .with_region(region.clone())
                .with_endpoints(custom.clone());
                if let Some((s, follows)) = &serverless {
                    node = node.with_serverless(s.clone(), *follows);
                }
                run_node(node, shared.clone(), tick)
            });
        }
        let control = Rc::new(RefCell::new(ControlDisk::default()));
        {
            let (control, shared, specs) = (control.clone(), shared.clone(), cfg.instances.clone());
            let geometry = topo.borrow().geometry();
            let (fo, ttl, custom, tick) = (
                cfg.failover_timeout_ms,
                cfg.dns_ttl_ms,
                cfg.custom_endpoints.clone(),
                cfg.background_tick_ms,
            );
            let (repair, bugs) = (cfg.repair_timeout_ms, cfg.bugs.clone());
            let backtrack_window_ms = cfg.backtrack_window_ms;
            let autoscale = cfg.autoscale;
            sim.host("control", move || {
                let mut cp = ControlPlane::new(
                    control.clone(),
                    specs.clone(),
                    ControlConfig {
                        failover_timeout_ms: fo,
                        repair_timeout_ms: repair,
                        bugs: bugs.clone(),
                        dns_ttl_ms: ttl,
                        custom: custom.clone(),
                        backtrack_window_ms,
                        global: global_region.clone(),
                        autoscale,
                    },
                );
                // The control plane starts from the fleet's geometry and learns the
                // rest from the metadata service.
                cp.meta = Some(geometry.clone());
                run_node(ControlHost(cp), shared.clone(), tick)
            });
        }
        {
            let (mdisk, shared, tick) = (topo.clone(), shared.clone(), cfg.background_tick_ms);
            sim.host(crate::topology::META, move || {
                run_node(
                    MetaHost(MetaService::new(mdisk.clone())),
                    shared.clone(),
                    tick,
                )
            });
        }
        let global = cfg.global.clone().map(|g| {
            crate::region::install(
                sim,
                g,
                shared.clone(),
                cfg.pgs,
                cfg.bugs.clone(),
                cfg.dns_ttl_ms,
                cfg.background_tick_ms,
            )
        });
        Cluster {
            inner: Rc::new(Inner {
                cfg,
                topo,
                disks,
                control,
                shared,
                clones: RefCell::new(vec![]),
                global,
                regions,
            }),
        }
    }

    /// The global database's handle, when the cluster is one.
    pub fn global(&self) -> Option<&crate::region::GlobalHandle> {
        self.inner.global.as_ref()
    }
    pub fn config(&self) -> &ClusterConfig {
        &self.inner.cfg
    }
    pub fn storage_hosts(&self) -> Vec<String> {
        self.inner.topo.borrow().storage_hosts()
    }
    pub fn az_of(&self, host: &str) -> Option<usize> {
        self.inner.topo.borrow().az.get(host).copied()
    }
    pub fn instance_hosts(&self) -> Vec<String> {
        self.inner
            .cfg
            .instances
            .iter()
            .map(|s| s.name.clone())
            .collect()
    }
    /// The writer the control plane has designated (it may still be recovering).
    pub fn current_writer(&self) -> Option<String> {
        self.inner.control.borrow().writer.clone()
    }
    /// Current volume epoch as recorded by the control plane.
    pub fn epoch(&self) -> u64 {
        self.inner.control.borrow().epoch
    }
    /// Freeze a host: it neither receives nor ticks until `resume` (a zombie).
    pub fn pause(&self, host: &str) {
        self.inner
            .shared
            .paused
            .borrow_mut()
            .insert(host.to_string());
    }
    pub fn resume(&self, host: &str) {
        self.inner.shared.paused.borrow_mut().remove(host);
    }
    /// Corrupt one stored record on a storage node's disk (checksum left stale); with
    /// `current`, one that is the newest version of its key on its segment.
    pub fn corrupt_record(&self, host: &str, rng_seed: u64, current: bool) -> bool {
        match self.inner.disks.get(host) {
            Some(d) => StorageNode::corrupt_one(d, rng_seed, current),
            None => false,
        }
    }
    /// Destroy a storage node's disk for good: every segment, synced or not, is gone.
    /// (The driver keeps the host down; if it ever ran again it would be an empty node.)
    pub fn destroy_disk(&self, host: &str) -> bool {
        match self.inner.disks.get(host) {
            Some(d) => {
                *d.borrow_mut() = NodeDisk::default();
                self.inner.shared.bus.borrow_mut().ledger.destroyed(host);
                true
            }
            None => false,
        }
    }
    /// The instance host is replaced by new compute: its survivable cache region is gone
    /// (the driver powers the host off; it comes back empty). Returns whether it had one.
    pub fn replace_instance(&self, host: &str) -> bool {
        match self.inner.regions.get(host) {
            Some(r) => {
                *r.borrow_mut() = crate::survivable::CacheRegion::default();
                true
            }
            None => false,
        }
    }
    /// Ask the control plane for a failover now (to the best healthy replica).
    pub fn request_failover(&self) {
        self.inner.control.borrow_mut().failover_requested = true;
    }
    /// Replace every segment on `failed_host` with a segment on another node of the
    /// same AZ (a spare, see `spare_nodes_per_az`) through the dual-quorum stage.
    /// Returns false when no PG could get a replacement.
    pub fn replace_segment(&self, failed_host: &str) -> bool {
        let t = self.inner.topo.borrow();
        let az = t.az.get(failed_host).copied();
        let possible = t.pgs.values().any(|m| {
            m.next.is_none()
                && m.members.iter().any(|h| h == failed_host)
                && t.az
                    .iter()
                    .any(|(h, a)| Some(*a) == az && !m.members.contains(h))
        });
        drop(t);
        if possible {
            self.inner
                .control
                .borrow_mut()
                .replace_requests
                .push(failed_host.to_string());
        }
        possible
    }
    /// The PG holding `key` (white-box observers and tools).
    pub fn pg_of_key(&self, key: u64) -> u32 {
        self.inner.topo.borrow().pg_of_key(key)
    }
    /// PG memberships (host lists) — for placement-aware fault injection.
    pub fn pg_members(&self) -> BTreeMap<u32, Vec<String>> {
        self.inner
            .topo
            .borrow()
            .pgs
            .iter()
            .map(|(p, m)| (*p, m.all()))
            .collect()
    }
    pub fn subscribe(&self, f: Subscriber) {
        self.inner.shared.bus.borrow_mut().subscribers.push(f);
    }
    pub fn events(&self) -> Vec<Event> {
        self.inner.shared.bus.borrow().log.clone()
    }
    /// The event log as JSON lines (byte-comparable across runs).
    pub fn event_log_jsonl(&self) -> String {
        self.inner
            .shared
            .bus
            .borrow()
            .log
            .iter()
            .map(|e| serde_json::to_string(e).unwrap() + "\n")
            .collect()
    }
    /// The white-box durability ledger (what storage acknowledged holding).
    /// White-box inspection (observes only): the stored records of member segments whose
    /// checksum does not verify, as (host, PG, LSN), in host, PG, LSN order. A destroyed disk
    /// holds none; segments a node keeps for a PG it is no longer a member of are skipped.
    pub fn corrupt_member_records(&self) -> Vec<(String, u32, u64)> {
        let members = self.pg_members();
        let mut out = Vec::new();
        for (host, disk) in &self.inner.disks {
            let d = disk.borrow();
            for (pg, seg) in &d.segs {
                if !members.get(pg).is_some_and(|m| m.contains(host)) {
                    continue;
                }
                for (l, r) in &seg.records {
                    if !r.is_intact() {
                        out.push((host.clone(), *pg, l.0));
                    }
                }
            }
        }
        out.sort();
        out
    }
    /// Records of member segments, read from the disks, that lie inside a destructive truncation
    /// range a recovery decided and were written in an older volume epoch than that recovery's,
    /// as (host, PG, LSN): records the recovery dropped that are still stored where a later read
    /// or recovery can find them (C4: truncated records never reappear).
    pub fn truncated_member_records(&self) -> Vec<(String, u32, u64)> {
        let members = self.pg_members();
        let declared: Vec<crate::types::Truncation> = self
            .inner
            .shared
            .bus
            .borrow()
            .ledger
            .declared()
            .iter()
            .map(|(_, t)| *t)
            .filter(|t| !t.keep)
            .collect();
        let mut out = Vec::new();
        for (host, disk) in &self.inner.disks {
            let d = disk.borrow();
            for (pg, seg) in &d.segs {
                if !members.get(pg).is_some_and(|m| m.contains(host)) {
                    continue;
                }
                for (l, r) in &seg.records {
                    if declared.iter().any(|t| t.contains(*l) && r.epoch < t.epoch) {
                        out.push((host.clone(), *pg, l.0));
                    }
                }
            }
        }
        out.sort();
        out
    }
    pub fn ledger(&self) -> crate::ledger::Ledger {
        self.inner.shared.bus.borrow().ledger.clone()
    }
    /// Replica lag samples (commit acknowledged → visible on each replica) up to `end_ms`.
    pub fn lag_samples(&self, end_ms: u64) -> Vec<crate::lag::LagSample> {
        self.inner.shared.bus.borrow().lag.finish(end_ms)
    }
    /// Times the writer hit LAL back-pressure.
    pub fn lal_stalls(&self) -> u64 {
        self.inner.shared.bus.borrow().monitor.lal_stalls
    }
    pub fn invariant_violations(&self) -> Vec<String> {
        self.inner.shared.bus.borrow().monitor.violations.clone()
    }
    pub fn metrics(&self) -> Metrics {
        self.inner.shared.metrics.borrow().clone()
    }
    /// A storage node's durable disk (tests and tools).
    pub fn disk(&self, host: &str) -> Option<Rc<RefCell<NodeDisk>>> {
        self.inner.disks.get(host).cloned()
    }
    pub(crate) fn topo(&self) -> Rc<RefCell<Topology>> {
        self.inner.topo.clone()
    }
    pub(crate) fn shared(&self) -> Shared {
        self.inner.shared.clone()
    }
    pub(crate) fn register_clone(&self, c: crate::clone_cluster::CloneCluster) {
        self.inner.clones.borrow_mut().push(c);
    }
    /// The clones' clusters installed so far, oldest first.
    pub fn clones(&self) -> Vec<crate::clone_cluster::CloneCluster> {
        self.inner.clones.borrow().clone()
    }
    /// The clones the control plane has recorded (registered or not yet).
    pub fn branches(&self) -> Vec<crate::branch::Branch> {
        self.inner.control.borrow().branches.clone()
    }
}
