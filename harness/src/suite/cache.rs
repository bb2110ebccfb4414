//! The survivable buffer cache's scenario (C25, beyond AURORA.md's table): one writer (the
//! smallest topology with a restart to survive), a register table spanning many cache
//! pages, and two process restarts — the first while the writer is cut off from storage
//! with commits in flight (so its cache holds entries above the VDL the recovery will
//! choose), the second a plain crash. Both keep the host: the cache region survives.

use super::figures::fig;
use super::{Scenario, SeedRun};
use crate::config::ClusterKnobs;
use crate::nemesis::{Fault, HostRef, Schedule, Scheduled};
use report::Comparison;
use workloads::WorkloadKind;

/// C25's bound on the hit ratio of the first reads after a restart (a cold cache, bug
/// `cache-lost-on-restart`, measures far below it; see the README).
pub const C25_MIN_HIT_RATIO: f64 = 0.6;

fn at(at_ms: u64, fault: Fault) -> Scheduled {
    Scheduled { at_ms, fault }
}

/// The storage hosts of the standard volume (3 AZs × 2 nodes).
fn storage() -> Vec<HostRef> {
    (0..3)
        .flat_map(|az| (0..2).map(move |i| HostRef(format!("s-az{az}-{i}"))))
        .collect()
}

/// Writer cut off from storage (commits in flight), crashed, restarted; later a plain
/// crash and restart.
pub fn restarts() -> Schedule {
    Schedule {
        entries: vec![
            at(
                5_000,
                Fault::Partition {
                    a: vec![HostRef::writer()],
                    b: storage(),
                },
            ),
            at(
                5_400,
                Fault::Kill {
                    host: HostRef::writer(),
                },
            ),
            at(5_600, Fault::Heal),
            at(
                9_000,
                Fault::Kill {
                    host: HostRef::writer(),
                },
            ),
            at(9_200, Fault::Heal),
        ],
    }
}

/// One writer with the survivable cache, 200 register keys (50 pages of the 64 cached).
pub fn cluster() -> ClusterKnobs {
    ClusterKnobs {
        instances: Some(vec![("db-1".into(), 0, 4)]),
        survivable_cache: true,
        workload_keys: Some(200),
        ..ClusterKnobs::default()
    }
}

/// The lowest hit ratio of the first reads after any restart, over every seed (NaN when
/// some seed had no restart adoption or too few reads after one).
pub fn hit_ratio(runs: &[SeedRun]) -> f64 {
    let mut v = f64::INFINITY;
    for r in runs {
        let Some(a) = r.out.cache_audit.as_ref() else {
            return f64::NAN;
        };
        let x = crate::cache_checks::hit_ratio_after_restart(a, &r.out.history);
        if x.is_nan() {
            return f64::NAN;
        }
        v = v.min(x);
    }
    if v.is_finite() {
        v
    } else {
        f64::NAN
    }
}

/// C25.
pub fn scenarios() -> Vec<Scenario> {
    vec![Scenario {
        claim: "C25",
        name: "survivable_cache_is_warm_after_restart_and_never_stale",
        workload: WorkloadKind::Register,
        faults: vec![],
        seeds: vec![1, 2],
        time_limit_s: 13,
        schedule: Some(restarts),
        figure: |r| {
            fig(
                "min hit ratio of the first 20 reads after a restart (storage's page reads); stale adopted pages fail the white-box check",
                hit_ratio(r),
                C25_MIN_HIT_RATIO,
                "",
                Comparison::Ge,
            )
        },
        bugs: &["cache-keeps-above-vdl", "cache-lost-on-restart"],
        cluster,
    }]
}
