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
