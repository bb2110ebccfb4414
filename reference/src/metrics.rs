//! Per-instance metrics (what Aurora users watch) and cluster-wide totals.

use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Clone, Debug, Default, Serialize)]
pub struct InstanceMetrics {
    pub role: String,
    pub vdl: u64,
    pub commits: u64,
    pub commit_latency_ms_sum: u64,
    pub commit_latency_ms_max: u64,
    pub cache_hits: u64,
    pub cache_misses: u64,
    pub replica_lag_ms_last: u64,
    pub replica_lag_ms_max: u64,
    pub connections: u64,
    pub messages_sent: u64,
    pub bytes_sent: u64,
    /// Messages and bytes sent to storage nodes only (the writer's I/O).
    pub storage_messages_sent: u64,
    pub storage_bytes_sent: u64,
    // ---- published per period (CloudWatch-style, see `net::published`); kept by the
    // instance host itself, so they survive role changes. Empty/zero when unused.
    /// Serverless v2 capacity in half-ACUs (0: not a serverless instance).
    #[serde(skip_serializing_if = "is_zero")]
    pub half_acus: u32,
    /// Every capacity change: (sim ms, half-ACUs).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub capacity_changes: Vec<(u64, u32)>,
    /// Buffer cache capacity in pages (0: not published).
    #[serde(skip_serializing_if = "is_zero64")]
    pub cache_pages: u64,
    /// Commits acknowledged, per period index (`sim ms / PERIOD_MS`).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub commits_per_period: BTreeMap<u64, u64>,
    /// Write I/Os (`Write` datagrams) the writer sent to storage, per period index.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub write_ios_per_period: BTreeMap<u64, u64>,
    /// Storage nodes: `Write` datagrams received, per period index.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub writes_received_per_period: BTreeMap<u64, u64>,
    /// Performance Insights: summed sessions per wait event over `wait_samples` samples.
    pub waits: WaitSamples,
}

/// Performance Insights style samples: every sample adds the number of sessions (client
/// requests inside the instance) in each state; average active sessions = sum / samples.
#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
pub struct WaitSamples {
    pub samples: u64,
    /// Queued for or in service at the instance's service-time model (CPU).
    pub cpu: u64,
    /// Handed to the core, waiting on a page read from storage (I/O wait).
    pub io: u64,
    /// A commit parked until VDL reaches it (commit wait).
    pub commit: u64,
    /// Waiting on a lock. The reference uses optimistic concurrency and takes no locks, so
    /// this stays 0 by construction; it is kept so the breakdown has Aurora's categories.
    pub lock: u64,
}

fn is_zero(x: &u32) -> bool {
    *x == 0
}
fn is_zero64(x: &u64) -> bool {
    *x == 0
}

impl InstanceMetrics {
    pub fn commit_latency(&mut self, ms: u64) {
        self.commits += 1;
        self.commit_latency_ms_sum += ms;
        self.commit_latency_ms_max = self.commit_latency_ms_max.max(ms);
    }
    pub fn replica_lag(&mut self, ms: u64) {
        self.replica_lag_ms_last = ms;
        self.replica_lag_ms_max = self.replica_lag_ms_max.max(ms);
    }
    pub fn buffer_cache_hit_ratio(&self) -> f64 {
        let t = self.cache_hits + self.cache_misses;
        if t == 0 {
            1.0
        } else {
            self.cache_hits as f64 / t as f64
        }
    }
    pub fn commit_latency_ms_mean(&self) -> f64 {
        if self.commits == 0 {
            0.0
        } else {
            self.commit_latency_ms_sum as f64 / self.commits as f64
        }
    }
    /// Fold a restarted incarnation's counters into the running total.
    pub fn absorb(&mut self, o: &InstanceMetrics) {
        self.commits += o.commits;
        self.commit_latency_ms_sum += o.commit_latency_ms_sum;
        self.commit_latency_ms_max = self.commit_latency_ms_max.max(o.commit_latency_ms_max);
        self.cache_hits += o.cache_hits;
        self.cache_misses += o.cache_misses;
        self.replica_lag_ms_max = self.replica_lag_ms_max.max(o.replica_lag_ms_max);
    }
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct Metrics {
    /// Keyed by host name (instances and storage nodes).
    pub hosts: BTreeMap<String, InstanceMetrics>,
}
