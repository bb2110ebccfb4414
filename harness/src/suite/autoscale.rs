//! Storage auto-scaling's scenario (C23, beyond AURORA.md's table): a register table whose
//! key space grows all run long (every slot moves to a fresh key above all used ones after
//! a few invocations), on a volume whose PG map starts at 2 PGs of 16 pages and grows by a
//! PG each time the data nears the limit — while a storage node is down, while another is
//! cut off, and across a writer crash (whose recovery must find every PG of the current map).

use super::figures::fig;
use super::{Scenario, SeedRun};
use crate::config::{AutoscaleKnobs, ClusterKnobs};
use crate::nemesis::{Fault, HostRef, Schedule, Scheduled};
use report::Comparison;
use workloads::WorkloadKind;

/// C23's bound on the longest gap between acknowledged writes to the old PGs inside a growth
/// window (bug `autoscale-pauses-writes` measures a whole window, ≥ the provisioning time).
pub const C23_MAX_GAP_MS: u64 = 500;

/// Pages per PG in the scenario.
pub const C23_PAGES_PER_PG: u64 = 16;

fn at(at_ms: u64, fault: Fault) -> Scheduled {
    Scheduled { at_ms, fault }
}

fn host(h: &str) -> HostRef {
    HostRef(h.to_string())
}

/// A storage node down (crashed) for 3 s, another cut off from everyone for 3 s, the writer
/// crashed and restarted, a third storage node down, the writer crashed again as the load
/// ends: growths happen throughout.
pub fn faults() -> Schedule {
    let others: Vec<HostRef> = ["s-az0-0", "s-az0-1", "s-az1-0", "s-az2-0", "s-az2-1"]
        .into_iter()
        .map(host)
        .chain([HostRef::writer(), host("control"), host("meta")])
        .collect();
    Schedule {
        entries: vec![
            at(
                2_000,
                Fault::Kill {
                    host: host("s-az0-0"),
                },
            ),
            at(5_000, Fault::Heal),
            at(
                6_000,
                Fault::Partition {
                    a: vec![host("s-az1-1")],
                    b: others,
                },
            ),
            at(9_000, Fault::Heal),
            at(
                11_000,
                Fault::Kill {
                    host: HostRef::writer(),
                },
            ),
            at(11_300, Fault::Heal),
            at(
                14_000,
                Fault::Kill {
                    host: host("s-az2-0"),
                },
            ),
            at(16_500, Fault::Heal),
            // At the end of the load: the final reads come from a recovered writer, which
            // reads every page from storage through the current map.
            at(
                19_800,
                Fault::Kill {
                    host: HostRef::writer(),
                },
            ),
            at(20_000, Fault::Heal),
        ],
    }
}

/// The standard cluster with auto-scaling; 8 register slots, the odd ones moving to a fresh
/// key every 6 invocations (the even ones every 60, so old keys keep being written), 150
/// ops/s: a PG of 16 pages fills in about 5 s.
pub fn cluster() -> ClusterKnobs {
    ClusterKnobs {
        autoscale: Some(AutoscaleKnobs::new(C23_PAGES_PER_PG)),
        workload_keys: Some(8),
        workload_ops_per_key: Some(6),
        workload_rate: Some(150.0),
        ..ClusterKnobs::default()
    }
}

/// The longest gap over every seed; NaN when some seed counted no growth window.
pub fn longest_gap(runs: &[SeedRun]) -> f64 {
    let mut v = 0.0f64;
    for r in runs {
        let Some(a) = r.out.autoscale_audit.as_ref() else {
            return f64::NAN;
        };
        let g = crate::autoscale_checks::longest_gap_ms(a, &r.out.history);
        if g.is_nan() {
            return f64::NAN;
        }
        v = v.max(g);
    }
    v
}

/// C23.
pub fn scenarios() -> Vec<Scenario> {
    vec![Scenario {
        claim: "C23",
        name: "pgs_added_under_faults_lose_nothing_and_never_pause_writes",
        workload: WorkloadKind::Register,
        faults: vec![],
        seeds: vec![1, 2],
        time_limit_s: 20,
        schedule: Some(faults),
        figure: |r| {
            fig(
                "longest gap between acknowledged writes to the old PGs during a growth (clients' acks); ≥ 1 PG added per seed and the register checks judge loss",
                longest_gap(r),
                C23_MAX_GAP_MS as f64,
                "ms",
                Comparison::Le,
            )
        },
        bugs: &["autoscale-routes-before-durable", "autoscale-pauses-writes"],
        cluster,
    }]
}
