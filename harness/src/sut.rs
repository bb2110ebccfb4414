//! The system under test as the harness sees it: the reference Aurora installed into the simulation,
//! and its client library adapted to the workloads' [`workloads::Client`] trait. This is the only
//! module that knows the reference's API; a second target (a real PostgreSQL) would get its own.

use crate::config::RunConfig;
use crate::nemesis::Topology;
use reference::{Bug, Cluster, ClusterConfig, Endpoint};
use std::collections::BTreeMap;
use workloads::{ClientError, Datum, Target};

/// Handle to the installed cluster (cheap to clone).
#[derive(Clone)]
pub struct Sut {
    cluster: Cluster,
    azs: usize,
    /// What clients observed: every commit acknowledged to a client of the source cluster for
    /// a transaction that read or wrote something, as (sim ms at receipt, instance). The
    /// independent side of the published CommitThroughput (claim C22).
    pub commit_acks: std::rc::Rc<std::cell::RefCell<Vec<(u64, String)>>>,
    /// Client requests sent to the source cluster's instances, per 100 ms of sim time (the
    /// client-observed load of claim C21).
    pub requests_per_100ms: std::rc::Rc<std::cell::RefCell<BTreeMap<u64, u64>>>,
    /// The survivable cache's white-box observer (with `survivable_cache`).
    cache_audit: Option<std::rc::Rc<std::cell::RefCell<crate::cache_checks::CacheAudit>>>,
    /// Storage auto-scaling's observer (with `autoscale`).
    autoscale_audit:
        Option<std::rc::Rc<std::cell::RefCell<crate::autoscale_checks::AutoscaleAudit>>>,
    /// Disk corruption hits a key's current version (`ClusterKnobs::corrupt_current`).
    corrupt_current: bool,
}

/// Does the run replace or destroy segments (and so need a spare storage node per AZ)?
fn replaces_segments(cfg: &RunConfig) -> bool {
    use crate::nemesis::{Fault, FaultKind};
    cfg.nemesis.iter().any(|k| {
        matches!(k, FaultKind::ReplaceSegment | FaultKind::ReplaceSegmentFlap) || k.is_destructive()
    }) || cfg.schedule.as_ref().is_some_and(|s| {
        s.entries
            .iter()
            .any(|e| matches!(e.fault, Fault::ReplaceSegment { .. }) || e.fault.is_destructive())
    })
}

fn cluster_config(cfg: &RunConfig) -> ClusterConfig {
    let mut c = ClusterConfig {
        seed: cfg.seed,
        tick_ms: cfg.tick_ms,
        bugs: cfg.bugs.iter().filter_map(|b| Bug::from_name(b)).collect(),
        // Spares cost simulation time (turmoil's cost grows with hosts²): only when needed.
        spare_nodes_per_az: if replaces_segments(cfg) { 1 } else { 0 },
        repair_timeout_ms: cfg.cluster.repair_timeout_ms.unwrap_or(5_000),
        backtrack_window_ms: cfg.cluster.backtrack_window_ms.unwrap_or(0),
        gc_retain_lsns: cfg.cluster.gc_retain_lsns.unwrap_or(20_000),
        survivable_cache: cfg.cluster.survivable_cache,
        autoscale: cfg
            .cluster
            .autoscale
            .map(|a| reference::pgmap::AutoscaleConfig {
                pages_per_pg: a.pages_per_pg,
                provision_ms: a.provision_ms,
            }),
        ..ClusterConfig::default()
    };
    if let Some(g) = &cfg.cluster.global {
        c.global = Some(reference::region::GlobalConfig {
            secondaries: g.secondaries.clamp(1, 5),
            rpo_ms: g.rpo_ms,
            rejoin: g.rejoin,
            ..Default::default()
        });
    }
    c.custom_endpoints = cfg.cluster.custom_endpoints.clone();
    if let Some(lal) = cfg.cluster.lal {
        c.lal = lal;
    }
    if let Some(p) = cfg.cluster.cache_pages {
        c.cache_pages = p;
    }
    if let Some(g) = cfg.cluster.gossip_ms {
        c.gossip_ms = g;
    }
    if let Some(s) = &cfg.cluster.serverless {
        c.serverless = Some(reference::serverless::ServerlessConfig {
            min_acu: s.min_acu,
            max_acu: s.max_acu,
            ..Default::default()
        });
    }
    if cfg.cluster.snapshot_isolation {
        c.isolation = reference::Isolation::Snapshot;
    }
    if let Some(specs) = &cfg.cluster.instances {
        c.instances = specs
            .iter()
            .map(|(name, tier, size)| reference::InstanceSpec {
                name: name.clone(),
                tier: *tier,
                size: *size,
            })
            .collect();
    }
    c
}

impl Sut {
    pub fn install(sim: &mut turmoil::Sim<'_>, cfg: &RunConfig) -> Sut {
        let ccfg = cluster_config(cfg);
        let azs = ccfg.azs;
        let survivable = ccfg.survivable_cache;
        let autoscale = ccfg.autoscale.is_some();
        let cluster = Cluster::install(sim, ccfg);
        let cache_audit = survivable.then(|| crate::cache_checks::install(&cluster));
        let autoscale_audit = autoscale.then(|| crate::autoscale_checks::install(&cluster));
        Sut {
            cluster,
            azs,
            commit_acks: Default::default(),
            requests_per_100ms: Default::default(),
            cache_audit,
            autoscale_audit,
            corrupt_current: cfg.cluster.corrupt_current,
        }
    }

    /// What the survivable cache's observer saw (None without the survivable cache).
    pub fn cache_audit(&self) -> Option<crate::cache_checks::CacheAudit> {
        self.cache_audit.as_ref().map(|a| a.borrow().clone())
    }

    /// What storage auto-scaling's observer saw (None without auto-scaling).
    pub fn autoscale_audit(&self) -> Option<crate::autoscale_checks::AutoscaleAudit> {
        self.autoscale_audit.as_ref().map(|a| a.borrow().clone())
    }

    /// An instance host is replaced by new compute: its survivable cache is gone.
    pub fn replace_instance(&self, host: &str) -> bool {
        self.cluster.replace_instance(host)
    }

    /// The topology a config produces, without building a simulation (to draw schedules).
    pub fn topology_for(cfg: &RunConfig) -> Topology {
        let c = cluster_config(cfg);
        let placed = reference::topology::Topology::place(
            c.pgs,
            c.azs,
            c.nodes_per_az,
            c.spare_nodes_per_az,
        );
        let storage = placed.storage_hosts().into_iter().map(|h| {
            let az = placed.az.get(&h).copied().unwrap_or(0);
            (h, az)
        });
        let members = members_of(&placed.pgs, &placed.az);
        Topology {
            storage: storage.collect(),
            members,
            instances: c
                .instances
                .iter()
                .enumerate()
                .map(|(i, s)| (s.name.clone(), i % c.azs))
                .collect(),
            others: vec!["control".into(), "meta".into()],
            azs: c.azs,
        }
    }

    pub fn topology(&self) -> Topology {
        let placed = reference::topology::Topology::place(
            self.cluster.config().pgs,
            self.cluster.config().azs,
            self.cluster.config().nodes_per_az,
            self.cluster.config().spare_nodes_per_az,
        );
        Topology {
            members: members_of(&placed.pgs, &placed.az),
            storage: self
                .cluster
                .storage_hosts()
                .into_iter()
                .map(|h| {
                    let az = self.cluster.az_of(&h).unwrap_or(0);
                    (h, az)
                })
                .collect(),
            instances: self
                .cluster
                .instance_hosts()
                .into_iter()
                .enumerate()
                .map(|(i, h)| (h, i % self.azs))
                .collect(),
            others: vec!["control".into(), "meta".into()],
            azs: self.azs,
        }
    }

    /// The global database, when the run has one.
    pub fn global(&self) -> Option<&reference::region::GlobalHandle> {
        self.cluster.global()
    }
    /// Every host of the secondary regions and the coordinator (empty: one region).
    pub fn global_hosts(&self) -> Vec<String> {
        let Some(g) = self.global() else {
            return vec![];
        };
        let mut v: Vec<String> = g
            .cfg
            .server_regions()
            .iter()
            .flat_map(|r| reference::region::GlobalConfig::secondary_hosts(r))
            .collect();
        v.push(reference::region::GLOBAL.to_string());
        v
    }
    /// The global database's events (and commit acknowledgements) for its checks.
    pub fn global_events(&self) -> Vec<reference::Event> {
        if self.global().is_none() {
            return vec![];
        }
        self.cluster
            .events()
            .into_iter()
            .filter(|e| {
                let k = serde_json::to_value(&e.kind).ok();
                let name = match &k {
                    Some(serde_json::Value::Object(m)) => {
                        m.keys().next().cloned().unwrap_or_default()
                    }
                    Some(serde_json::Value::String(s)) => s.clone(),
                    _ => String::new(),
                };
                name.starts_with("Global") || name == "CommitAcked"
            })
            .collect()
    }
    pub fn current_writer(&self) -> Option<String> {
        self.cluster.current_writer()
    }
    /// What instances recorded serving (or refusing) custom endpoints' sessions (C24), and
    /// every promotion, in time order (empty: no custom endpoint configured).
    pub fn endpoint_events(&self) -> Vec<reference::Event> {
        if self.cluster.config().custom_endpoints.is_empty() {
            return vec![];
        }
        self.cluster
            .events()
            .into_iter()
            .filter(|e| {
                matches!(
                    e.kind,
                    reference::EventKind::CustomServed { .. }
                        | reference::EventKind::CustomRefused { .. }
                        | reference::EventKind::Promoted { .. }
                )
            })
            .collect()
    }
    pub fn pause(&self, host: &str) {
        self.cluster.pause(host)
    }
    pub fn resume(&self, host: &str) {
        self.cluster.resume(host)
    }
    pub fn corrupt(&self, host: &str, seed: u64) -> bool {
        self.cluster
            .corrupt_record(host, seed, self.corrupt_current)
    }
    /// Wipe a storage node's disk for good (the driver keeps it down).
    pub fn destroy(&self, host: &str) -> bool {
        self.cluster.destroy_disk(host)
    }
    pub fn event_log_jsonl(&self) -> String {
        self.cluster.event_log_jsonl()
    }
    /// The white-box durability ledger.
    pub fn ledger(&self) -> reference::ledger::Ledger {
        self.cluster.ledger()
    }
    pub fn lag_samples(&self, end_ms: u64) -> Vec<reference::lag::LagSample> {
        self.cluster.lag_samples(end_ms)
    }
    pub fn lal_stalls(&self) -> u64 {
        self.cluster.lal_stalls()
    }
    pub fn failover(&self) {
        self.cluster.request_failover()
    }
    /// Membership change: replace the failed node's segments with a spare in the same AZ through
    /// the dual-quorum stage. Returns whether a change started.
    pub fn replace_segment(&self, host: &str) -> bool {
        self.cluster.replace_segment(host)
    }
    /// The online invariant monitors' findings: the cluster's, then each clone's.
    pub fn invariant_violations(&self) -> Vec<String> {
        let mut v = self.cluster.invariant_violations();
        for c in self.cluster.clones() {
            v.extend(
                c.invariant_violations()
                    .into_iter()
                    .map(|x| format!("clone {}: {x}", c.volume)),
            );
        }
        v
    }
    /// Provision clone `volume`'s cluster: its control plane, a writer and a tier-1 replica
    /// (the source's first two instance specs). Returns the hosts added.
    pub fn install_clone(&self, sim: &mut turmoil::Sim<'_>, volume: u32) -> Vec<String> {
        let specs: Vec<reference::InstanceSpec> = self
            .cluster
            .config()
            .instances
            .iter()
            .take(2)
            .cloned()
            .collect();
        let c = self.cluster.install_clone(sim, volume, &specs);
        let mut hosts = c.instances.clone();
        hosts.push(c.control_host());
        hosts
    }
    /// The newest clone's designated writer.
    pub fn clone_writer(&self) -> Option<String> {
        self.cluster
            .clones()
            .last()
            .and_then(|c| c.current_writer())
    }

    /// (name, promotion tier, size) of every instance.
    pub fn instance_specs(&self) -> Vec<(String, u8, u32)> {
        self.cluster
            .config()
            .instances
            .iter()
            .map(|s| (s.name.clone(), s.tier, s.size as u32))
            .collect()
    }

    /// Event counts by kind, and every promotion (sim ms, host, tier).
    pub fn event_summary(&self) -> (BTreeMap<String, u64>, Vec<(u64, String, u8)>) {
        let mut counts = BTreeMap::new();
        let mut promotions = Vec::new();
        for e in self.cluster.events() {
            if let reference::EventKind::Promoted { host, tier, .. } = &e.kind {
                promotions.push((e.time_ms, host.clone(), *tier));
            }
            if let reference::EventKind::MembershipChanged { stage, .. } = &e.kind {
                let word = stage.split(':').next().unwrap_or_default();
                *counts
                    .entry(format!("MembershipChanged:{word}"))
                    .or_insert(0) += 1;
            }
            let name = match serde_json::to_value(&e.kind) {
                Ok(serde_json::Value::Object(m)) => m.keys().next().cloned().unwrap_or_default(),
                Ok(serde_json::Value::String(s)) => s,
                _ => String::new(),
            };
            *counts.entry(name).or_insert(0) += 1;
        }
        (counts, promotions)
    }

    /// The reference's white-box figures at the end of a run.
    pub fn white_box(&self, end_ms: u64) -> crate::sim::WhiteBox {
        let l = self.cluster.ledger();
        let mut repairs = Vec::new();
        let events = self.cluster.events();
        for e in &events {
            if let reference::EventKind::SegmentReplaced {
                pg,
                failed,
                replacement,
                started_ms,
                ..
            } = &e.kind
            {
                let bytes = events
                    .iter()
                    .filter(|h| h.host == *replacement && h.time_ms >= *started_ms)
                    .filter(|h| h.time_ms <= e.time_ms)
                    .filter_map(|h| match &h.kind {
                        reference::EventKind::HoleFilled { pg: p, bytes, .. } if p == pg => {
                            Some(*bytes)
                        }
                        _ => None,
                    })
                    .sum();
                repairs.push((
                    *pg,
                    failed.clone(),
                    replacement.clone(),
                    *started_ms,
                    e.time_ms,
                    bytes,
                ));
            }
        }
        let pgs: Vec<u32> = (0..self.cluster.config().pgs).collect();
        let (truncations_checked, truncations_unadopted) =
            l.truncations_unadopted(&pgs, end_ms, 5_000);
        crate::sim::WhiteBox {
            truncations_checked,
            truncations_unadopted,
            acks_checked: l.acks_checked,
            acks_below_quorum: l.acks_below_quorum,
            membership_commits: l.membership_commits_checked,
            records_below_quorum_after_commit: l.records_below_quorum_after_commit,
            examples: l.examples.clone(),
            lag: self.cluster.lag_samples(end_ms),
            lal_stalls: self.cluster.lal_stalls(),
            repairs,
            acks_at_exact_quorum: l.acks_at_exact_quorum,
            records_truncated: l.records_truncated,
            replication: None,
            corrupt_left: None,
            truncated_left: None,
        }
    }

    /// The shared metrics as they stand (white-box; for the metrics sampler).
    pub fn raw_metrics(&self) -> reference::Metrics {
        self.cluster.metrics()
    }
    pub fn instance_names(&self) -> Vec<String> {
        self.cluster.instance_hosts()
    }
    pub fn storage_names(&self) -> Vec<String> {
        self.cluster.storage_hosts()
    }
    /// Holes in the committed member sets at `end_ms`: records acknowledged by
    /// `end_ms - REPLICATION_SETTLE_MS` that a live member has not synced (see
    /// `Ledger::holes`).
    pub fn replication_holes(&self, end_ms: u64) -> (u64, u64, Option<String>) {
        self.cluster.ledger().holes(
            &self.cluster.pg_members(),
            end_ms.saturating_sub(crate::replication_checks::SETTLE_MS),
        )
    }

    /// Records of member segments whose checksum fails now (white-box: the storage disks).
    pub fn corrupt_member_records(&self) -> Vec<(String, u32, u64)> {
        self.cluster.corrupt_member_records()
    }

    /// Records of member segments inside a truncation range a recovery of a later epoch decided
    /// (white-box: the storage disks; `Cluster::truncated_member_records`).
    pub fn truncated_member_records(&self) -> Vec<(String, u32, u64)> {
        self.cluster.truncated_member_records()
    }

    /// Current replica lag per replica instance, in ms.
    pub fn replica_lags(&self) -> Vec<(String, u64)> {
        let m = self.cluster.metrics();
        let writer = self.current_writer();
        self.cluster
            .instance_hosts()
            .into_iter()
            .filter(|h| Some(h) != writer.as_ref())
            .filter_map(|h| {
                m.hosts
                    .get(&h)
                    .filter(|im| im.role.starts_with("replica"))
                    .map(|im| (h.clone(), im.replica_lag_ms_last))
            })
            .collect()
    }

    /// Metrics of every instance and storage node, as JSON.
    pub fn metrics_json(&self) -> serde_json::Value {
        let m = self.cluster.metrics();
        let instances: BTreeMap<String, serde_json::Value> = self
            .cluster
            .instance_hosts()
            .into_iter()
            .filter_map(|h| {
                let im = m.hosts.get(&h)?;
                Some((
                    h,
                    serde_json::json!({
                        "role": im.role,
                        "vdl": im.vdl,
                        "commits": im.commits,
                        "commit_latency_ms_mean": im.commit_latency_ms_mean(),
                        "commit_latency_ms_max": im.commit_latency_ms_max,
                        "buffer_cache_hit_ratio": im.buffer_cache_hit_ratio(),
                        "replica_lag_ms_max": im.replica_lag_ms_max,
                        "connections": im.connections,
                        "messages_sent": im.messages_sent,
                        "bytes_sent": im.bytes_sent,
                    }),
                ))
            })
            .collect();
        let storage: BTreeMap<String, serde_json::Value> = self
            .cluster
            .storage_hosts()
            .into_iter()
            .filter_map(|h| {
                let sm = m.hosts.get(&h)?;
                Some((h, serde_json::json!({"messages_sent": sm.messages_sent, "bytes_sent": sm.bytes_sent})))
            })
            .collect();
        serde_json::json!({ "instances": instances, "storage": storage, "epoch": self.cluster.epoch() })
    }
}

/// The workloads' client over the reference's client library: one connection per endpoint, opened
/// lazily; a connection that failed is dropped so the next transaction resolves the endpoint again.
pub struct SutClient {
    /// The volume whose cluster this client talks to (0: the cluster's own; a clone's).
    volume: u32,
    /// Global database: the region this client reads from (None: one region).
    region: Option<String>,
    conns: BTreeMap<Target, reference::Client>,
    /// The client library's configuration (carries client-side bugs).
    lib: reference::ClientConfig,
    active: Option<Target>,
    /// The instance that served the last transaction begun.
    pub served_by: Option<String>,
    /// Reads and writes of the current transaction that succeeded.
    txn_ops: u64,
    /// Where acknowledged commits are recorded ([`Sut::commit_acks`]; None for clones).
    acks: Option<std::rc::Rc<std::cell::RefCell<Vec<(u64, String)>>>>,
    requests: Option<std::rc::Rc<std::cell::RefCell<BTreeMap<u64, u64>>>>,
}

impl SutClient {
    pub fn new(sut: &Sut) -> SutClient {
        SutClient::in_region(sut, 0)
    }

    /// The client library's configuration: client-side bugs, and the control plane of
    /// volume `volume`'s cluster.
    fn lib(sut: &Sut, volume: u32) -> reference::ClientConfig {
        reference::ClientConfig {
            bugs: sut.cluster.config().bugs.clone(),
            control: reference::branch::control_host(volume),
            ..Default::default()
        }
    }

    /// A client of clone `volume`'s cluster (its endpoints, through its control plane).
    pub fn for_volume(sut: &Sut, volume: u32) -> SutClient {
        SutClient {
            volume,
            region: None,
            conns: BTreeMap::new(),
            lib: Self::lib(sut, volume),
            active: None,
            served_by: None,
            txn_ops: 0,
            acks: (volume == 0).then(|| sut.commit_acks.clone()),
            requests: (volume == 0).then(|| sut.requests_per_100ms.clone()),
        }
    }

    /// Worker `n`'s client. In a global database it lives in region `n % regions`: a
    /// client of a secondary region writes through the global writer endpoint and reads
    /// from its region; a client of the primary region `r0` uses that region's own
    /// cluster and reader endpoints (an application co-located with the primary, which a
    /// fenced old primary must refuse).
    pub fn in_region(sut: &Sut, n: usize) -> SutClient {
        let region = sut
            .global()
            .map(|g| format!("r{}", n % (g.cfg.secondaries + 1)));
        SutClient {
            region,
            ..Self::for_volume(sut, 0)
        }
    }

    fn endpoint(&self, t: &Target) -> Endpoint {
        if self.volume != 0 {
            return match t {
                Target::Primary => Endpoint::Cluster,
                Target::Reader => Endpoint::Reader,
                Target::Instance(i) => {
                    Endpoint::Instance(reference::branch::instance_host(self.volume, i))
                }
                Target::Custom(c) => Endpoint::Custom(c.clone()),
            };
        }
        match (t, &self.region) {
            (Target::Primary, Some(r)) if r == "r0" => Endpoint::Cluster,
            (Target::Primary, Some(_)) => Endpoint::GlobalWriter,
            (Target::Reader, Some(r)) => Endpoint::RegionReader(r.clone()),
            (Target::Primary, None) => Endpoint::Cluster,
            (Target::Reader, None) => Endpoint::Reader,
            (Target::Instance(i), _) => Endpoint::Instance(i.clone()),
            (Target::Custom(c), _) => Endpoint::Custom(c.clone()),
        }
    }

    fn conn(&mut self) -> Result<&mut reference::Client, ClientError> {
        let t = self
            .active
            .clone()
            .ok_or_else(|| ClientError::definite("no transaction is open"))?;
        self.conns
            .get_mut(&t)
            .ok_or_else(|| ClientError::definite("no connection"))
    }

    /// Counts one client request (begin, a statement, commit or abort) about to be sent.
    fn sent(&self) {
        if let Some(r) = &self.requests {
            *r.borrow_mut()
                .entry(reference::net::now_ms() / 100)
                .or_default() += 1;
        }
    }

    fn fail(&mut self, e: reference::ClientError) -> ClientError {
        if let Some(t) = &self.active {
            if let Some(c) = self.conns.get_mut(t) {
                c.invalidate();
            }
        }
        ClientError {
            indeterminate: e.is_indeterminate(),
            message: e.to_string(),
        }
    }
}

fn to_ref(d: Datum) -> reference::Datum {
    match d {
        Datum::Nil => reference::Datum::Nil,
        Datum::Int(i) => reference::Datum::Int(i),
        Datum::List(l) => reference::Datum::List(l),
    }
}

fn from_ref(d: reference::Datum) -> Datum {
    match d {
        reference::Datum::Nil => Datum::Nil,
        reference::Datum::Int(i) => Datum::Int(i),
        reference::Datum::List(l) => Datum::List(l),
    }
}

impl workloads::Client for SutClient {
    async fn begin(&mut self, target: &Target, read_only: bool) -> Result<(), ClientError> {
        if !self.conns.contains_key(target) {
            let c = reference::Client::connect_with(self.endpoint(target), self.lib.clone())
                .await
                .map_err(|e| ClientError {
                    indeterminate: false,
                    message: e.to_string(),
                })?;
            self.conns.insert(target.clone(), c);
        }
        self.active = Some(target.clone());
        self.served_by = None;
        self.txn_ops = 0;
        self.sent();
        let r = self.conn()?.begin(read_only).await;
        if r.is_ok() {
            self.served_by = self.conn()?.txn_target().map(str::to_string);
        }
        r.map_err(|e| self.fail(e))
    }
    async fn read(&mut self, key: u64) -> Result<Datum, ClientError> {
        self.sent();
        let r = self.conn()?.read(key).await;
        self.txn_ops += r.is_ok() as u64;
        r.map(from_ref).map_err(|e| self.fail(e))
    }
    async fn write(&mut self, key: u64, value: Datum) -> Result<(), ClientError> {
        self.sent();
        let r = self.conn()?.write(key, to_ref(value)).await;
        self.txn_ops += r.is_ok() as u64;
        r.map_err(|e| self.fail(e))
    }
    async fn append(&mut self, key: u64, element: i64) -> Result<(), ClientError> {
        self.sent();
        let r = self.conn()?.append(key, element).await;
        self.txn_ops += r.is_ok() as u64;
        r.map_err(|e| self.fail(e))
    }
    async fn cas(&mut self, key: u64, expected: Datum, new: Datum) -> Result<bool, ClientError> {
        self.sent();
        let r = self.conn()?.cas(key, to_ref(expected), to_ref(new)).await;
        self.txn_ops += r.is_ok() as u64;
        r.map_err(|e| self.fail(e))
    }
    async fn commit(&mut self) -> Result<(), ClientError> {
        self.sent();
        let r = self.conn()?.commit().await;
        if let (Ok(()), true, Some(acks), Some(host)) =
            (&r, self.txn_ops > 0, &self.acks, &self.served_by)
        {
            acks.borrow_mut()
                .push((reference::net::now_ms(), host.clone()));
        }
        r.map_err(|e| self.fail(e))
    }
    async fn scan(
        &mut self,
        q: &workloads::client::ScanQuery,
    ) -> Result<workloads::client::ScanResult, ClientError> {
        let at = q.at.map(reference::Lsn);
        let r = self.conn()?.scan(q.lo, q.hi, q.min, q.pushdown, at).await;
        r.map(
            |(count, sum, at, msgs, bytes)| workloads::client::ScanResult {
                count,
                sum,
                at: at.0,
                msgs,
                bytes,
            },
        )
        .map_err(|e| self.fail(e))
    }
    async fn read_row(
        &mut self,
        r: u64,
    ) -> Result<Option<workloads::client::RowView>, ClientError> {
        self.sent();
        let res = self.conn()?.read_row(r).await;
        self.txn_ops += res.is_ok() as u64;
        res.map(|o| {
            o.map(|row| workloads::client::RowView {
                stored: row.stored,
                version: row.version,
                cols: row
                    .cols
                    .iter()
                    .map(|&c| (c != reference::schema::NULL).then_some(c))
                    .collect(),
            })
        })
        .map_err(|e| self.fail(e))
    }
    async fn create_table(&mut self, pages: u64) -> Result<(), ClientError> {
        self.sent();
        let res = self.conn()?.create_table(pages).await;
        self.txn_ops += res.is_ok() as u64;
        res.map_err(|e| self.fail(e))
    }
    async fn write_row(&mut self, r: u64, col: u32, value: i64) -> Result<u32, ClientError> {
        self.sent();
        let res = self.conn()?.write_row(r, col, value).await;
        self.txn_ops += res.is_ok() as u64;
        res.map_err(|e| self.fail(e))
    }
    async fn load_rows(&mut self, lo: u64, hi: u64) -> Result<u32, ClientError> {
        self.sent();
        let res = self.conn()?.load_rows(lo, hi).await;
        self.txn_ops += res.is_ok() as u64;
        res.map_err(|e| self.fail(e))
    }
    async fn add_column(&mut self) -> Result<(u32, u32), ClientError> {
        self.sent();
        let res = self.conn()?.add_column().await;
        self.txn_ops += res.is_ok() as u64;
        res.map_err(|e| self.fail(e))
    }
    async fn abort(&mut self) {
        if self.active.is_some() {
            self.sent();
        }
        if let Ok(c) = self.conn() {
            let _ = c.abort().await;
        }
        self.active = None;
    }
}

/// (host, az) of the nodes holding a segment in the initial placement.
fn members_of(
    pgs: &BTreeMap<u32, reference::quorum::Membership>,
    az: &BTreeMap<String, usize>,
) -> Vec<(String, usize)> {
    let set: std::collections::BTreeSet<String> = pgs.values().flat_map(|m| m.all()).collect();
    set.into_iter()
        .map(|h| {
            let a = az.get(&h).copied().unwrap_or(0);
            (h, a)
        })
        .collect()
}
