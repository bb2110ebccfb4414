//! The parallel-query scenario (C26, beyond AURORA.md's table): the register workload with a
//! fifth of its invocations being scans (each run pushed down, then at the instance at the
//! same read point), under storage nodes killed and single hosts partitioned.

use super::figures::fig;
use super::{Scenario, SeedRun};
use crate::config::ClusterKnobs;
use crate::nemesis::FaultKind;
use report::Comparison;
use workloads::WorkloadKind;

/// Scans per invocation in the C26 scenario.
pub const C26_SCAN_FRACTION: f64 = 0.2;

/// The standard cluster, scans on.
pub fn cluster() -> ClusterKnobs {
    ClusterKnobs {
        scan_fraction: Some(C26_SCAN_FRACTION),
        ..ClusterKnobs::default()
    }
}

/// Mismatching scans over every seed; NaN when some seed completed no scan while a fault
/// was active (the claim is "under faults").
pub fn mismatches(runs: &[SeedRun]) -> f64 {
    let mut bad = 0.0;
    for r in runs {
        let s = crate::pq_checks::scans(&r.out.history);
        let under_fault = s.iter().any(|x| {
            let ms = (x.0 / 1_000_000) as u64;
            r.out.fault_windows.iter().any(|(a, b)| ms >= *a && ms < *b)
        });
        if !under_fault {
            return f64::NAN;
        }
        bad += s.iter().filter(|x| x.1 != x.2).count() as f64;
    }
    bad
}

/// Bytes of storage replies for the pushed-down scans / for the instance-side ones, all seeds.
pub fn bytes_ratio(runs: &[SeedRun]) -> f64 {
    let (mut p, mut l) = (0i64, 0i64);
    for r in runs {
        for x in crate::pq_checks::scans(&r.out.history) {
            p += x.3;
            l += x.4;
        }
    }
    if l == 0 {
        f64::NAN
    } else {
        p as f64 / l as f64
    }
}

/// C26.
pub fn scenarios() -> Vec<Scenario> {
    vec![Scenario {
        claim: "C26",
        name: "parallel_query_equals_instance_side_evaluation_under_faults",
        workload: WorkloadKind::Register,
        faults: vec![FaultKind::KillStorage, FaultKind::PartitionOne],
        seeds: vec![1, 2],
        time_limit_s: 12,
        schedule: None,
        figure: |r| {
            fig(
                &format!(
                    "pushed-down scans differing from the instance-side evaluation at the same read point (bytes moved pushed down / at the instance: {:.2})",
                    bytes_ratio(r)
                ),
                mismatches(r),
                0.0,
                "",
                Comparison::Eq,
            )
        },
        bugs: &["pq-reads-latest"],
        cluster,
    }]
}
