//! The fast-DDL scenario (C27, beyond AURORA.md's table): the register workload with half
//! of its invocations being row reads, row writes and a few `ADD COLUMN`s on one table,
//! under storage nodes killed, writer crashes and single hosts partitioned. The schema half
//! of the claim is judged by the run's checks (`crate::ddl_checks`); the figure is the
//! constant-time half: `ADD COLUMN` latency (invoke → ok, simulated) on tables of
//! [`C27_PAGES`] pages, in fault-free runs with the same bugs, largest median / smallest.

use super::figures::fig;
use super::{Scenario, SeedRun};
use crate::config::ClusterKnobs;
use crate::ddl_checks::observe;
use crate::nemesis::FaultKind;
use crate::run;
use report::Comparison;
use workloads::WorkloadKind;

/// Fast-DDL ops per invocation in the C27 scenario.
pub const C27_DDL_FRACTION: f64 = 0.5;
/// Table sizes (pages) of the constant-time measurement.
pub const C27_PAGES: [u64; 3] = [100, 1_000, 10_000];
/// Bound on the largest / smallest median `ADD COLUMN` latency over those sizes.
pub const C27_MAX_RATIO: f64 = 1.5;
/// Simulated seconds of each sizing run.
const SIZING_S: u64 = 12;
/// Ops per simulated second of each sizing run (every one a DDL-workload op).
const SIZING_RATE: f64 = 200.0;

/// The standard cluster, DDL ops on.
pub fn cluster() -> ClusterKnobs {
    ClusterKnobs {
        ddl_fraction: Some(C27_DDL_FRACTION),
        ..ClusterKnobs::default()
    }
}

/// Whether every seed exercised the claim: an `ADD COLUMN` completed, a row stored under an
/// older version was read after one, and a row was upgraded lazily by a later write.
pub fn exercised(runs: &[SeedRun]) -> bool {
    runs.iter().all(|r| {
        let o = observe(&r.out.history);
        !o.add_latencies_ns().is_empty() && o.old_version_reads() > 0 && o.lazy_upgrades() > 0
    })
}

fn median_ms(mut v: Vec<i64>) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_unstable();
    v[v.len() / 2] as f64 / 1e6
}

/// Per table size in [`C27_PAGES`]: (pages, median `ADD COLUMN` latency in ms, DDLs
/// measured, rows loaded). One fault-free run each, seed 1, with `base`'s workload and
/// bugs: the table is loaded first (`:row-load`, 50 rows a transaction), and only the
/// DDLs invoked after the last load completed are measured (NaN when none was).
pub fn latencies_ms(base: &crate::RunConfig) -> Vec<(u64, f64, usize, u64)> {
    C27_PAGES
        .iter()
        .map(|&pages| {
            let mut c = base.clone();
            c.seed = 1;
            c.nemesis = vec![];
            c.schedule = None;
            c.time_limit_s = SIZING_S;
            c.workload.ddl_pages = pages;
            c.workload.ddl_fraction = 1.0;
            c.rate = SIZING_RATE;
            let (_, out) = run::execute(&c);
            let o = observe(&out.history);
            let l = o
                .loaded_at()
                .map(|t| o.add_latencies_after_ns(t))
                .unwrap_or_default();
            (pages, median_ms(l.clone()), l.len(), o.rows_loaded)
        })
        .collect()
}

/// Largest / smallest median latency (NaN when a size had none).
pub fn ratio(lat: &[(u64, f64, usize, u64)]) -> f64 {
    let v: Vec<f64> = lat.iter().map(|x| x.1).collect();
    if v.iter().any(|x| x.is_nan() || *x <= 0.0) {
        return f64::NAN;
    }
    let max = v.iter().cloned().fold(f64::MIN, f64::max);
    let min = v.iter().cloned().fold(f64::MAX, f64::min);
    max / min
}

/// C27.
pub fn scenarios() -> Vec<Scenario> {
    vec![Scenario {
        claim: "C27",
        name: "fast_ddl_readers_see_one_schema_and_add_column_is_constant_time",
        workload: WorkloadKind::Register,
        faults: vec![
            FaultKind::KillStorage,
            FaultKind::CrashWriter,
            FaultKind::PartitionOne,
        ],
        seeds: vec![1, 2],
        time_limit_s: 12,
        schedule: None,
        figure: |r| {
            let lat = r.first().map(|x| latencies_ms(&x.cfg)).unwrap_or_default();
            let sizes: Vec<String> = lat
                .iter()
                .map(|(p, ms, n, rows)| {
                    format!("{p} pages ({rows} rows loaded): {ms:.1} ms over {n}")
                })
                .collect();
            let value = if exercised(r) { ratio(&lat) } else { f64::NAN };
            fig(
                &format!(
                    "ADD COLUMN median latency, largest / smallest over table sizes ({}); NaN unless every seed completed a DDL, read an old-version row after it and upgraded one lazily",
                    sizes.join(", ")
                ),
                value,
                C27_MAX_RATIO,
                "",
                Comparison::Le,
            )
        },
        bugs: &[
            "ddl-rewrites-table",
            "ddl-mixed-schema",
            "ddl-unknown-version",
        ],
        cluster,
    }]
}
