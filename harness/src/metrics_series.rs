//! CloudWatch-style metrics of a run as time series, with CloudWatch's names, and their two
//! renderings: `metrics.json` and OpenMetrics text (`metrics.txt`).
//!
//! Where each number comes from:
//! - `CommitThroughput` (commits/s) and `VolumeWriteIOPs` (write I/Os/s) are what each
//!   instance itself published per [`PERIOD_MS`] period (`reference::net::published`), read
//!   at the end of the run.
//! - `ServerlessDatabaseCapacity` (ACU) is the instance's published capacity at each sample
//!   instant (from its list of capacity changes, so exact).
//! - `DatabaseConnections`, `AuroraReplicaLag`, `AuroraReplicaLagMaximum`,
//!   `BufferCacheHitRatio`, `CommitLatency` and the Performance Insights load (`DBLoad`,
//!   `DBLoadCPU`, `DBLoadNonCPU`) are sampled by the driver every [`PERIOD_MS`] of simulated
//!   time from the shared metrics (which hosts refresh every 100 ms); ratios and means are
//!   over the interval since the previous sample.
//! - Global runs add `AuroraGlobalDBReplicationLag` and `AuroraGlobalDBRPOLag` per
//!   secondary region, reused from [`crate::global_checks::GlobalView`].
//!
//! Sampling only reads white-box state: it never changes what a run does (histories stay
//! byte-identical with or without it).

use crate::sut::Sut;
use reference::metrics::WaitSamples;
use reference::net::published::PERIOD_MS;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The turmoil epoch (sim time 0) in Unix seconds: OpenMetrics timestamps are absolute.
pub const EPOCH_S: u64 = 1_700_000_000;

/// One metric's points for one dimension value.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct MetricSeries {
    /// CloudWatch metric name.
    pub name: String,
    /// Dimension: the instance (`DBInstanceIdentifier`) or region.
    pub dimension: String,
    pub unit: String,
    /// (sim ms at the end of the period or at the sample, value).
    pub points: Vec<(u64, f64)>,
}

/// Every series of a run, plus the Performance Insights breakdown per instance.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct Series {
    pub period_ms: u64,
    pub metrics: Vec<MetricSeries>,
    /// Average active sessions per wait event over the run, per instance (cpu, io, commit, lock).
    pub db_load_by_wait: BTreeMap<String, BTreeMap<String, f64>>,
    /// Storage nodes' own count of write I/Os received, per period index (claim C22).
    pub storage_writes_received: BTreeMap<u64, u64>,
    /// Raw published counts per period index, every period including the last partial one:
    /// commits per instance, and write I/Os of all instances.
    pub published_commits: BTreeMap<String, BTreeMap<u64, u64>>,
    pub published_write_ios: BTreeMap<u64, u64>,
    /// Every published capacity change per serverless instance: (sim ms, half-ACUs).
    pub capacity_changes: BTreeMap<String, Vec<(u64, u32)>>,
    /// Not a CloudWatch metric: the load clients sent, requests/s per 100 ms (harness side).
    #[serde(default)]
    pub client_requests_per_s: Vec<(u64, f64)>,
}

impl Series {
    pub fn get(&self, name: &str, dimension: &str) -> Option<&MetricSeries> {
        self.metrics
            .iter()
            .find(|m| m.name == name && m.dimension == dimension)
    }
}

#[derive(Clone, Default)]
struct Snap {
    role: String,
    connections: u64,
    lag_ms: u64,
    hits: u64,
    misses: u64,
    commits: u64,
    latency_sum: u64,
    waits: WaitSamples,
}

/// The driver's sampler: call [`Sampler::maybe_sample`] every step.
pub struct Sampler {
    next_ms: u64,
    snaps: Vec<(u64, BTreeMap<String, Snap>)>,
}

impl Sampler {
    pub fn new(_sut: &Sut) -> Sampler {
        Sampler {
            next_ms: PERIOD_MS,
            snaps: vec![(0, BTreeMap::new())],
        }
    }

    pub fn maybe_sample(&mut self, sut: &Sut, now_ms: u64) {
        if now_ms < self.next_ms {
            return;
        }
        self.next_ms = now_ms + PERIOD_MS;
        let m = sut.raw_metrics();
        let snap = sut
            .instance_names()
            .into_iter()
            .filter_map(|h| {
                let im = m.hosts.get(&h)?;
                Some((
                    h,
                    Snap {
                        role: im.role.clone(),
                        connections: im.connections,
                        lag_ms: im.replica_lag_ms_last,
                        hits: im.cache_hits,
                        misses: im.cache_misses,
                        commits: im.commits,
                        latency_sum: im.commit_latency_ms_sum,
                        waits: im.waits.clone(),
                    },
                ))
            })
            .collect();
        self.snaps.push((now_ms, snap));
    }

    /// Builds the series at the end of the run (`sim_ms`).
    pub fn finish(self, sut: &Sut, sim_ms: u64) -> Series {
        let m = sut.raw_metrics();
        let mut out = Series {
            period_ms: PERIOD_MS,
            ..Default::default()
        };
        let mut push = |name: &str, dim: &str, unit: &str, points: Vec<(u64, f64)>| {
            if !points.is_empty() {
                out.metrics.push(MetricSeries {
                    name: name.into(),
                    dimension: dim.into(),
                    unit: unit.into(),
                    points,
                });
            }
        };
        let last_full = sim_ms / PERIOD_MS; // periods before this index are complete
        let per_s = |b: &BTreeMap<u64, u64>| -> Vec<(u64, f64)> {
            (0..last_full)
                .map(|p| {
                    let n = b.get(&p).copied().unwrap_or(0);
                    ((p + 1) * PERIOD_MS, n as f64 * 1000.0 / PERIOD_MS as f64)
                })
                .collect()
        };
        let instances = sut.instance_names();
        let (mut published, mut changes) = (BTreeMap::new(), BTreeMap::new());
        let mut write_ios: BTreeMap<u64, u64> = BTreeMap::new();
        for h in &instances {
            let Some(im) = m.hosts.get(h) else { continue };
            push(
                "CommitThroughput",
                h,
                "Count/Second",
                per_s(&im.commits_per_period),
            );
            published.insert(h.clone(), im.commits_per_period.clone());
            if !im.capacity_changes.is_empty() {
                changes.insert(h.clone(), im.capacity_changes.clone());
            }
            for (p, n) in &im.write_ios_per_period {
                *write_ios.entry(*p).or_default() += n;
            }
            if !im.capacity_changes.is_empty() {
                let pts = self
                    .snaps
                    .iter()
                    .skip(1)
                    .map(|(t, _)| {
                        let half = im
                            .capacity_changes
                            .iter()
                            .rev()
                            .find(|(c, _)| c <= t)
                            .map_or(0, |c| c.1);
                        (*t, half as f64 / 2.0)
                    })
                    .collect();
                push("ServerlessDatabaseCapacity", h, "Count", pts);
            }
            if im.waits.samples > 0 {
                let w = &im.waits;
                let aas = |x: u64| x as f64 / w.samples as f64;
                out.db_load_by_wait.insert(
                    h.clone(),
                    [
                        ("cpu", aas(w.cpu)),
                        ("io", aas(w.io)),
                        ("commit", aas(w.commit)),
                        ("lock", aas(w.lock)),
                    ]
                    .into_iter()
                    .map(|(k, v)| (k.to_string(), v))
                    .collect(),
                );
            }
        }
        push(
            "VolumeWriteIOPs",
            "cluster",
            "Count/Second",
            per_s(&write_ios),
        );
        self.sampled(&instances, &mut push);
        out.published_commits = published;
        out.published_write_ios = write_ios;
        out.capacity_changes = changes;
        for h in sut.storage_names() {
            if let Some(sm) = m.hosts.get(&h) {
                for (p, n) in &sm.writes_received_per_period {
                    *out.storage_writes_received.entry(*p).or_default() += n;
                }
            }
        }
        out
    }

    /// The gauges and interval ratios sampled by the driver.
    fn sampled(
        &self,
        instances: &[String],
        push: &mut impl FnMut(&str, &str, &str, Vec<(u64, f64)>),
    ) {
        let mut lag_max: BTreeMap<u64, f64> = BTreeMap::new();
        for h in instances {
            let (mut conns, mut lag, mut hit, mut lat, mut load, mut cpu, mut noncpu) =
                (vec![], vec![], vec![], vec![], vec![], vec![], vec![]);
            for w in self.snaps.windows(2) {
                let (t, cur) = (w[1].0, w[1].1.get(h));
                let prev = w[0].1.get(h).cloned().unwrap_or_default();
                let Some(c) = cur else { continue };
                conns.push((t, c.connections as f64));
                if c.role == "replica" {
                    lag.push((t, c.lag_ms as f64));
                    let e = lag_max.entry(t).or_insert(0.0);
                    *e = e.max(c.lag_ms as f64);
                }
                let (dh, dm) = (
                    c.hits.saturating_sub(prev.hits),
                    c.misses.saturating_sub(prev.misses),
                );
                if dh + dm > 0 {
                    hit.push((t, 100.0 * dh as f64 / (dh + dm) as f64));
                }
                let dc = c.commits.saturating_sub(prev.commits);
                if dc > 0 {
                    lat.push((
                        t,
                        c.latency_sum.saturating_sub(prev.latency_sum) as f64 / dc as f64,
                    ));
                }
                let ds = c.waits.samples.saturating_sub(prev.waits.samples);
                if ds > 0 {
                    let d = |a: u64, b: u64| a.saturating_sub(b) as f64 / ds as f64;
                    let c_cpu = d(c.waits.cpu, prev.waits.cpu);
                    let c_non = d(c.waits.io, prev.waits.io)
                        + d(c.waits.commit, prev.waits.commit)
                        + d(c.waits.lock, prev.waits.lock);
                    load.push((t, c_cpu + c_non));
                    cpu.push((t, c_cpu));
                    noncpu.push((t, c_non));
                }
            }
            push("DatabaseConnections", h, "Count", conns);
            push("AuroraReplicaLag", h, "Milliseconds", lag);
            push("BufferCacheHitRatio", h, "Percent", hit);
            push("CommitLatency", h, "Milliseconds", lat);
            push("DBLoad", h, "Count", load);
            push("DBLoadCPU", h, "Count", cpu);
            push("DBLoadNonCPU", h, "Count", noncpu);
        }
        push(
            "AuroraReplicaLagMaximum",
            "cluster",
            "Milliseconds",
            lag_max.into_iter().collect(),
        );
    }
}

/// The plots of the run page: capacity, client load, commit latency and throughput, DB load,
/// and global lag when present.
pub fn plots(s: &Series) -> Vec<report::metrics_plot::MetricPlot> {
    let mut v = Vec::new();
    let mut plot = |name: &str, title: &str| {
        let lines: Vec<(String, Vec<(f64, f64)>)> = s
            .metrics
            .iter()
            .filter(|m| m.name == name)
            .map(|m| {
                let pts = m
                    .points
                    .iter()
                    .map(|(t, y)| (*t as f64 / 1e3, *y))
                    .collect();
                (m.dimension.clone(), pts)
            })
            .collect();
        if let Some(unit) = s
            .metrics
            .iter()
            .find(|m| m.name == name)
            .map(|m| m.unit.clone())
        {
            v.push(report::metrics_plot::MetricPlot {
                title: title.into(),
                unit,
                lines,
            });
        }
    };
    plot(
        "ServerlessDatabaseCapacity",
        "ServerlessDatabaseCapacity (ACU)",
    );
    plot("CommitThroughput", "CommitThroughput (commits/s)");
    plot("CommitLatency", "CommitLatency (ms, mean per period)");
    plot("DBLoad", "DBLoad (average active sessions)");
    plot("AuroraReplicaLagMaximum", "AuroraReplicaLagMaximum (ms)");
    plot(
        "AuroraGlobalDBReplicationLag",
        "AuroraGlobalDBReplicationLag (ms)",
    );
    if !s.client_requests_per_s.is_empty() {
        let pts = s
            .client_requests_per_s
            .iter()
            .map(|(t, y)| (*t as f64 / 1e3, *y))
            .collect();
        v.insert(
            v.len().min(1),
            report::metrics_plot::MetricPlot {
                title: "client load (requests/s sent, per 100 ms; harness side)".into(),
                unit: "requests/s".into(),
                lines: vec![("clients".into(), pts)],
            },
        );
    }
    v
}

/// The series of a finished run: plus the client load and, for a global run, the global lag
/// metrics per secondary region.
pub fn for_run(out: &crate::sim::SimOutput) -> Series {
    let mut s = out.series.clone();
    s.client_requests_per_s = out
        .client_requests
        .iter()
        .map(|(b, n)| (b * 100 + 100, *n as f64 * 10.0))
        .collect();
    if let Some(v) = crate::global_checks::GlobalView::build(out) {
        let mut rep: BTreeMap<String, Vec<(u64, f64)>> = BTreeMap::new();
        let mut rpo: BTreeMap<String, Vec<(u64, f64)>> = BTreeMap::new();
        for (t, region, r, p) in v.series(out.sim_ms) {
            rep.entry(region.clone()).or_default().push((t, r as f64));
            rpo.entry(region).or_default().push((t, p as f64));
        }
        for (name, m) in [
            ("AuroraGlobalDBReplicationLag", rep),
            ("AuroraGlobalDBRPOLag", rpo),
        ] {
            for (region, points) in m {
                s.metrics.push(MetricSeries {
                    name: name.into(),
                    dimension: region,
                    unit: "Milliseconds".into(),
                    points,
                });
            }
        }
    }
    s
}

/// `metrics.json`: the series and the wait breakdown, pretty-printed.
pub fn to_json(s: &Series) -> String {
    serde_json::to_string_pretty(s).unwrap_or_default() + "\n"
}

/// `metrics.txt`: OpenMetrics text exposition. One gauge family per CloudWatch name, a
/// `dimension` label, timestamps in Unix seconds (sim time + [`EPOCH_S`]), ending in `# EOF`.
pub fn to_openmetrics(s: &Series) -> String {
    let mut by_name: BTreeMap<&str, Vec<&MetricSeries>> = BTreeMap::new();
    for m in &s.metrics {
        by_name.entry(m.name.as_str()).or_default().push(m);
    }
    let mut t = String::new();
    for (name, ms) in by_name {
        t.push_str(&format!("# TYPE {name} gauge\n"));
        t.push_str(&format!(
            "# HELP {name} CloudWatch {name} ({}) of the reference cluster\n",
            ms[0].unit
        ));
        for m in ms {
            for (ms_t, v) in &m.points {
                t.push_str(&format!(
                    "{name}{{dimension=\"{}\"}} {} {}.{:03}\n",
                    m.dimension,
                    fmt_value(*v),
                    EPOCH_S + ms_t / 1000,
                    ms_t % 1000
                ));
            }
        }
    }
    t.push_str("# TYPE DBLoadByWait gauge\n# HELP DBLoadByWait Performance Insights: average active sessions per wait event over the run\n");
    for (h, w) in &s.db_load_by_wait {
        for (ev, v) in w {
            t.push_str(&format!(
                "DBLoadByWait{{dimension=\"{h}\",wait=\"{ev}\"}} {}\n",
                fmt_value(*v)
            ));
        }
    }
    t.push_str("# EOF\n");
    t
}

fn fmt_value(v: f64) -> String {
    if v.is_finite() {
        format!("{v}")
    } else {
        "NaN".into()
    }
}
