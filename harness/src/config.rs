//! A run's configuration: everything a seed does not decide. Stored as `config.json` in every run
//! directory so `aurora-chaos replay DIR` can rerun it exactly.

use crate::nemesis::{FaultKind, Mode, Schedule};
use serde::{Deserialize, Serialize};
use workloads::{WorkloadConfig, WorkloadKind};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunConfig {
    pub seed: u64,
    pub workload: WorkloadConfig,
    /// Fault kinds drawn from (empty: no faults).
    pub nemesis: Vec<FaultKind>,
    pub mode: Mode,
    /// Simulated seconds during which clients invoke ops.
    pub time_limit_s: u64,
    /// Target ops per simulated second, over all workers.
    pub rate: f64,
    /// Concurrent workers (Jepsen processes), spread over the client hosts.
    pub concurrency: usize,
    pub client_hosts: usize,
    /// Switchable known bugs of the reference (`--inject-bug`).
    pub bugs: Vec<String>,
    /// Mean time between fault starts.
    pub nemesis_interval_ms: u64,
    /// Simulation tick.
    pub tick_ms: u64,
    /// Message latency range.
    pub min_latency_ms: u64,
    pub max_latency_ms: u64,
    /// After the heal: time to converge before the final reads.
    pub convergence_s: u64,
    /// After the final reads start: give up (liveness failure) after this long.
    pub liveness_s: u64,
    /// A fixed schedule (read from a file) instead of one drawn from the seed.
    pub schedule: Option<Schedule>,
    /// Cluster settings a scenario may change (defaults: the standard cluster).
    #[serde(default)]
    pub cluster: ClusterKnobs,
    /// A load schedule: from each `(sim ms, ops/s)` on, the workers together aim at that rate
    /// instead of `rate` (empty: `rate` throughout). For load-spike scenarios.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rate_schedule: Vec<(u64, f64)>,
    /// Also check that storage restored full replication by the end of the run
    /// (`replication_checks`; the swarm turns it on, default off).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub replication_check: bool,
}

/// Cluster settings beyond the standard topology.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ClusterKnobs {
    /// LSN allocation limit (default 1000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lal: Option<u64>,
    /// (name, promotion tier, size) of each instance, the first the initial writer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instances: Option<Vec<(String, u8, u32)>>,
    /// Replace a segment silent this long (default 5000 ms; 0: never).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repair_timeout_ms: Option<u64>,
    /// Run the writer at snapshot isolation instead of (strict) serializable: write skew is
    /// then possible, which the checkers must report (a check of the checkers, not a bug).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub snapshot_isolation: bool,
    /// Storage GC retention below the minimum read point, in LSNs (default 20,000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gc_retain_lsns: Option<u64>,
    /// Backtrack window in simulated ms (default 0: backtrack off).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backtrack_window_ms: Option<u64>,
    /// Disk corruption (`corrupt-disk`) hits the current version of a key on the node (a
    /// recently written, likely read block) instead of any stored record (default false).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub corrupt_current: bool,
    /// Buffer cache size of every instance, writer and replicas, in pages (default 64; the
    /// swarm draws 1 on some seeds, so reads miss the cache and go to storage).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_pages: Option<usize>,
    /// Storage's gossip period in ms (default 50).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gossip_ms: Option<u64>,
    /// A global database: secondary regions and managed RPO (default: one region).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub global: Option<GlobalKnobs>,
    /// Serverless v2 instances: capacity bounds in ACUs (default: provisioned instances).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub serverless: Option<ServerlessKnobs>,
    /// Check the published metrics against clients and storage (claim C22).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub check_metrics: bool,
    /// Instances keep their buffer cache in a region that survives process restarts (C25).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub survivable_cache: bool,
    /// Scenario sizing: the workload's key count (a table larger than the default few
    /// keys, e.g. so that a buffer cache spans many pages). Applied by the suite.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workload_keys: Option<u64>,
    /// Scenario sizing: the register workload's fraction of parallel-query scans (C26).
    /// Applied by the suite.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scan_fraction: Option<f64>,
    /// Scenario sizing: the register workload's fraction of fast-DDL ops (C27). Applied by
    /// the suite.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ddl_fraction: Option<f64>,
    /// Custom endpoints by name (static members or exclusions, READER or ANY; claim C24).
    /// The suite routes the reader share of its workload through them
    /// (`WorkloadConfig::custom_endpoints`).
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub custom_endpoints: std::collections::BTreeMap<String, reference::endpoints::CustomEndpoint>,
    /// Storage auto-scaling (claim C23): the PG map grows by a PG as data nears its limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub autoscale: Option<AutoscaleKnobs>,
    /// Scenario sizing: the register workload's invocations per key (small: a key space
    /// that grows over the run). Applied by the suite.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workload_ops_per_key: Option<u64>,
    /// Scenario sizing: the clients' target ops per second (default 50). Applied by the suite.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workload_rate: Option<f64>,
}

/// Storage auto-scaling settings (`--autoscale PAGES_PER_PG`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct AutoscaleKnobs {
    /// Pages per PG (the version-0 map covers `pgs × pages_per_pg` pages).
    pub pages_per_pg: u64,
    /// How long a storage node takes to provision a new segment (default 1000 ms).
    #[serde(default = "default_provision_ms")]
    pub provision_ms: u64,
}

fn default_provision_ms() -> u64 {
    1000
}

impl AutoscaleKnobs {
    pub fn new(pages_per_pg: u64) -> Self {
        AutoscaleKnobs {
            pages_per_pg,
            provision_ms: default_provision_ms(),
        }
    }
}

/// Serverless v2 capacity bounds (issue 16): 0.5-128 ACU in 0.5 steps.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServerlessKnobs {
    pub min_acu: f64,
    pub max_acu: f64,
}

/// Global database settings (issue 11).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GlobalKnobs {
    /// Secondary regions (1-5; the standard global scenario uses 2).
    pub secondaries: usize,
    /// Managed RPO (`rds.global_db_rpo`) in ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rpo_ms: Option<u64>,
    /// A fenced old primary (`r0`) rejoins as a secondary when it comes back (issue 11);
    /// off: it stays fenced and serves nothing.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub rejoin: bool,
}

impl Default for GlobalKnobs {
    fn default() -> Self {
        GlobalKnobs {
            secondaries: 2,
            rpo_ms: None,
            rejoin: false,
        }
    }
}

impl RunConfig {
    pub fn default_for(kind: WorkloadKind) -> RunConfig {
        RunConfig {
            seed: 1,
            workload: WorkloadConfig::default_for(kind),
            nemesis: FaultKind::ALL.to_vec(),
            mode: Mode::Safety,
            time_limit_s: 60,
            rate: 50.0,
            concurrency: 6,
            client_hosts: 2,
            bugs: Vec::new(),
            nemesis_interval_ms: 10_000,
            tick_ms: 1,
            min_latency_ms: 1,
            max_latency_ms: 2,
            convergence_s: 10,
            liveness_s: 60,
            schedule: None,
            cluster: ClusterKnobs::default(),
            rate_schedule: Vec::new(),
            replication_check: false,
        }
    }

    /// The target rate at simulated time `now_ms` (the rate schedule's last step at or before
    /// it, else `rate`).
    pub fn rate_at(&self, now_ms: u64) -> f64 {
        self.rate_schedule
            .iter()
            .rev()
            .find(|(t, _)| *t <= now_ms)
            .map_or(self.rate, |(_, r)| *r)
    }

    /// The nemesis part of the run directory name: `all`, `none`, or the kinds joined by `+`.
    pub fn nemesis_label(&self) -> String {
        if self.nemesis.is_empty() {
            "none".into()
        } else if self.nemesis.len() == FaultKind::ALL.len() {
            "all".into()
        } else if self.nemesis.len() <= 3 {
            self.nemesis
                .iter()
                .map(|k| k.name())
                .collect::<Vec<_>>()
                .join("+")
        } else {
            format!("{}-kinds", self.nemesis.len())
        }
    }

    /// The command line that reproduces this run.
    pub fn repro_command(&self) -> String {
        let mut s = format!(
            "cargo run --release -- run --workload {} --seed {} --time-limit {} --rate {} --concurrency {}",
            self.workload.kind.name(),
            self.seed,
            self.time_limit_s,
            self.rate,
            self.concurrency
        );
        let nem = if self.nemesis.is_empty() {
            "none".to_string()
        } else {
            self.nemesis
                .iter()
                .map(|k| k.name())
                .collect::<Vec<_>>()
                .join(",")
        };
        s.push_str(&format!(" --nemesis {nem}"));
        let defaults = RunConfig::default_for(self.workload.kind);
        if self.nemesis_interval_ms != defaults.nemesis_interval_ms {
            s.push_str(&format!(" --interval-ms {}", self.nemesis_interval_ms));
        }
        if self.mode == Mode::BeyondModel {
            s.push_str(" --mode beyond-model");
        }
        if self.workload.keys != defaults.workload.keys {
            s.push_str(&format!(" --keys {}", self.workload.keys));
        }
        if self.workload.reader_fraction != defaults.workload.reader_fraction {
            s.push_str(&format!(
                " --reader-fraction {}",
                self.workload.reader_fraction
            ));
        }
        for b in &self.bugs {
            s.push_str(&format!(" --inject-bug {b}"));
        }
        for (name, ep) in &self.cluster.custom_endpoints {
            s.push_str(&format!(
                " --custom-endpoint {}",
                crate::endpoint_checks::spec_of(name, ep)
            ));
        }
        if self.cluster.snapshot_isolation {
            s.push_str(" --isolation snapshot");
        }
        if let Some(l) = self.cluster.lal {
            s.push_str(&format!(" --lal {l}"));
        }
        if self.cluster.corrupt_current {
            s.push_str(" --corrupt-current");
        }
        if let Some(p) = self.cluster.cache_pages {
            s.push_str(&format!(" --cache-pages {p}"));
        }
        if let Some(g) = self.cluster.gossip_ms {
            s.push_str(&format!(" --gossip-ms {g}"));
        }
        if self.replication_check {
            s.push_str(" --check-replication");
        }
        if self.schedule.is_some() {
            s.push_str(" --schedule <run-dir>/schedule.json");
        }
        s
    }
}
