//! The global-database scenarios (C17-C20): schedules, cluster settings, figures and the bugs
//! that must make each fail. Kept apart from `scenarios.rs` so the table there stays one hook.
//!
//! Every schedule combines the global faults with an in-region one (a storage node killed),
//! and every figure is NaN when its scenario did not exercise the claim in some seed (no
//! switchover, no lag at the failover, the RPO bound never binding, no write after the failure).

use super::figures::fig;
use super::{Scenario, SeedRun};
use crate::config::{ClusterKnobs, GlobalKnobs};
use crate::nemesis::{Fault, HostRef, Schedule, Scheduled};
use report::Comparison;
use workloads::WorkloadKind;

/// Managed RPO used by C19 (Aurora's minimum is 20 s; 2 s keeps the scenario short).
pub const C19_RPO_MS: u64 = 2_000;
/// C20's bound and goal (AURORA.md: under a minute; our goal 30 s).
pub const C20_BOUND_S: f64 = 60.0;

fn at(at_ms: u64, fault: Fault) -> Scheduled {
    Scheduled { at_ms, fault }
}

fn kill_storage(at_ms: u64) -> Scheduled {
    at(
        at_ms,
        Fault::Kill {
            host: HostRef::named("s-az1-0"),
        },
    )
}

/// Switchover to r1 while a storage node is down and r2 is slow.
pub fn switchover() -> Schedule {
    Schedule {
        entries: vec![
            kill_storage(6_000),
            at(
                8_000,
                Fault::SlowRegion {
                    region: "r2".into(),
                    latency_ms: 400,
                },
            ),
            at(12_000, Fault::GlobalSwitchover { to: "r1".into() }),
            at(20_000, Fault::Heal),
        ],
    }
}

/// The primary region is lost (powered off); failover to r1; r0 comes back fenced.
pub fn failover() -> Schedule {
    Schedule {
        entries: vec![
            kill_storage(5_000),
            at(7_000, Fault::Heal),
            at(
                10_000,
                Fault::LoseRegion {
                    region: "r0".into(),
                    destroy: false,
                },
            ),
            at(10_500, Fault::GlobalFailover { to: "r1".into() }),
            at(20_000, Fault::Heal),
        ],
    }
}

/// Both secondaries slowed past R (commits must wait), healed, then a failover to an in-bound r1.
pub fn managed_rpo() -> Schedule {
    let slow = |r: &str| Fault::SlowRegion {
        region: r.into(),
        latency_ms: 3_000,
    };
    Schedule {
        entries: vec![
            at(6_000, slow("r1")),
            at(6_000, slow("r2")),
            at(9_000, kill_storage(0).fault),
            at(14_000, Fault::Heal),
            at(
                20_000,
                Fault::PartitionRegion {
                    region: "r0".into(),
                },
            ),
            at(20_500, Fault::GlobalFailover { to: "r1".into() }),
            at(27_000, Fault::Heal),
        ],
    }
}

fn global(rpo_ms: Option<u64>) -> ClusterKnobs {
    ClusterKnobs {
        global: Some(GlobalKnobs {
            secondaries: 2,
            rpo_ms,
            ..GlobalKnobs::default()
        }),
        ..ClusterKnobs::default()
    }
}

/// A check's figure over all seeds: NaN if any seed lacks it or has NaN, else the maximum.
fn strict_figure(runs: &[SeedRun], check: &str) -> f64 {
    let mut v = f64::NEG_INFINITY;
    for r in runs {
        match r
            .report
            .checks
            .iter()
            .find(|c| c.name == check)
            .and_then(|c| c.figure)
        {
            Some(x) if !x.is_nan() => v = v.max(x),
            _ => return f64::NAN,
        }
    }
    v
}

/// C20: the slowest seed's failure-to-first-write time (NaN when some seed never wrote again).
fn rto_s(runs: &[SeedRun]) -> f64 {
    let mut v = f64::NEG_INFINITY;
    for r in runs {
        let failure = r.out.applied.iter().find_map(|(t, f, _)| {
            matches!(f, Fault::LoseRegion { .. } | Fault::PartitionRegion { .. }).then_some(*t)
        });
        match failure.and_then(|t| crate::global_checks::rto_ms(&r.out.history, t)) {
            Some(ms) => v = v.max(ms as f64 / 1e3),
            None => return f64::NAN,
        }
    }
    v
}

/// C17-C20.
pub fn scenarios() -> Vec<Scenario> {
    let s = |claim, name, workload, schedule: fn() -> Schedule, figure, bugs, cluster| Scenario {
        claim,
        name,
        workload,
        faults: vec![],
        seeds: vec![1, 2],
        time_limit_s: 30,
        schedule: Some(schedule),
        figure,
        bugs,
        cluster,
    };
    vec![
        s(
            "C17",
            "global_switchover_loses_no_acknowledged_commit",
            WorkloadKind::ListAppend,
            switchover,
            |r| {
                fig(
                    "acknowledged commits above the promoted point after a switchover (RPO 0)",
                    strict_figure(r, "switchover loses no acknowledged commit"),
                    0.0,
                    "",
                    Comparison::Eq,
                )
            },
            &["global-switchover-no-drain"],
            || global(None),
        ),
        s(
            "C18",
            "global_failover_keeps_a_consistent_prefix_within_the_lag_window",
            WorkloadKind::ListAppend,
            failover,
            |r| {
                fig(
                    "measured RPO at the failover (lag window of the promoted region)",
                    strict_figure(
                        r,
                        "failover: consistent prefix, losses only from the last lag window",
                    ),
                    1.0,
                    "s",
                    Comparison::Le,
                )
            },
            &[
                "global-out-of-order",
                "global-no-fence",
                "global-read-above-durable",
            ],
            || global(None),
        ),
        s(
            "C19",
            "managed_rpo_holds_commits_while_every_secondary_lags",
            WorkloadKind::Register,
            managed_rpo,
            |r| {
                fig(
                    "commits acknowledged while every secondary lagged more than R = 2 s",
                    strict_figure(r, "managed RPO: no commit acknowledged while every secondary lags more than R"),
                    0.0,
                    "",
                    Comparison::Eq,
                )
            },
            &["global-rpo-not-enforced"],
            || global(Some(C19_RPO_MS)),
        ),
        s(
            "C20",
            "global_failover_rto",
            WorkloadKind::Bank,
            failover,
            |r| {
                fig(
                    "max global failover RTO (region lost to first successful write through the global writer; goal 30 s)",
                    rto_s(r),
                    C20_BOUND_S,
                    "s",
                    Comparison::Le,
                )
            },
            &["global-slow-failover"],
            || global(None),
        ),
    ]
}
