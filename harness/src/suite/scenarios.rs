//! The scenarios, one per covered claim: workload, faults (drawn or hand-written), cluster
//! settings, the figure that measures the claim, and the bugs that must make it fail.

use super::figures::*;
use super::Scenario;
use crate::config::ClusterKnobs;
use crate::nemesis::FaultKind;
use report::Comparison;
use workloads::WorkloadKind;

/// C2's bound: committed transfers per second while an AZ is down, relative to the same run's
/// healthy periods (failover of a writer in the lost AZ included).
pub const C2_MIN_RATIO: f64 = 0.25;

/// The scenarios, one per covered claim.
pub fn scenarios() -> Vec<Scenario> {
    use FaultKind::*;
    use WorkloadKind::*;
    let s = |claim, name, workload, faults: Vec<FaultKind>, figure, bugs| Scenario {
        claim,
        name,
        workload,
        faults,
        seeds: vec![1, 2],
        time_limit_s: 30,
        schedule: None,
        figure,
        bugs,
        cluster: ClusterKnobs::default,
    };
    vec![
        Scenario {
            schedule: Some(|| {
                crate::nemesis::scenarios::isolated_writer_then_destroy_az_plus_one(20_000)
            }),
            ..s(
                "C1",
                "acknowledged_appends_survive_az_plus_one_destroyed",
                ListAppend,
                vec![DestroyAzPlusOne],
                |r| {
                    fig(
                        "acknowledged appends lost with AZ+1 destroyed for good",
                        lost_after_destroy(r),
                        0.0,
                        "",
                        Comparison::Eq,
                    )
                },
                &["ack-before-quorum"],
            )
        },
        s(
            "C2",
            "commits_progress_with_an_az_down",
            Bank,
            vec![AzLoss],
            |r| {
                fig(
                    "commit rate with an AZ down / healthy commit rate",
                    commit_rate_ratio_during_az_loss(r),
                    C2_MIN_RATIO,
                    "",
                    Comparison::Ge,
                )
            },
            &["write-quorum-5"],
        ),
        Scenario {
            schedule: Some(|| crate::nemesis::scenarios::writer_reaches_a_minority(12_000)),
            ..s(
                "C3",
                "commits_acknowledged_only_at_quorum",
                Register,
                vec![PartitionWriter],
                |r| {
                    fig(
                    "commits acknowledged with a record on fewer than 4 segments (storage's view)",
                    acks_below_quorum(r),
                    0.0,
                    "",
                    Comparison::Eq,
                )
                },
                &["ack-before-quorum"],
            )
        },
        s(
            "C4",
            "recovery_yields_the_log_up_to_vdl",
            ListAppend,
            vec![CrashWriter, PartitionWriter],
            |r| {
                fig(
                    "Elle anomalies, truncated records read back, truncations not at a write quorum",
                    sum_checks_anomalies(r, "elle")
                        + invariant_violations(r)
                        + r.iter().map(|x| x.out.white_box.truncations_unadopted as f64).sum::<f64>(),
                    0.0,
                    "",
                    Comparison::Eq,
                )
            },
            &["no-truncation"],
        ),
        s(
            "C5",
            "no_reader_sees_part_of_a_transaction",
            Bank,
            vec![KillStorage, PartitionOne],
            |r| {
                fig(
                    "bank reads with a wrong total (writer and reader endpoints)",
                    sum_checks_anomalies(r, "bank"),
                    0.0,
                    "",
                    Comparison::Eq,
                )
            },
            &["replica-partial-mtr"],
        ),
        Scenario {
            cluster: || ClusterKnobs {
                lal: Some(4),
                ..ClusterKnobs::default()
            },
            ..s(
                "C6",
                "lsn_allocation_stays_below_vdl_plus_lal",
                Register,
                vec![CrashWriter, PartitionWriter],
                |r| {
                    fig(
                        "white-box violations (LSN above VDL + LAL, or inside a truncation range)",
                        lal_gated_violations(r),
                        0.0,
                        "",
                        Comparison::Eq,
                    )
                },
                &["no-lal", "lsn-inside-truncation"],
            )
        },
        Scenario {
            schedule: Some(|| crate::nemesis::scenarios::zombie_writer(14_000)),
            ..s(
                "C7",
                "zombie_writer_is_fenced",
                Register,
                vec![PauseWriter],
                |r| {
                    fig(
                        "zombie writes accepted by storage (of those attempted)",
                        zombie_writes_accepted(r),
                        0.0,
                        "",
                        Comparison::Eq,
                    )
                },
                &["no-epoch-fencing"],
            )
        },
        s(
            "C8",
            "segment_replacement_keeps_acknowledged_writes",
            ListAppend,
            vec![ReplaceSegment, DestroyNode],
            |r| {
                fig(
                    "acknowledged records below quorum of a committed membership, plus acknowledged appends lost",
                    lost_during_replacement(r),
                    0.0,
                    "",
                    Comparison::Eq,
                )
            },
            &["membership-commit-early"],
        ),
        s(
            "C9",
            "replica_reads_are_committed_monotonic_prefixes",
            ListAppend,
            vec![PartitionOne, KillStorage],
            |r| {
                fig(
                    "reader reads not a committed prefix, or going back in time on a replica",
                    check_figure(r, "replica reads are committed prefixes")
                        + check_figure(r, "replica reads are monotonic per replica"),
                    0.0,
                    "",
                    Comparison::Eq,
                )
            },
            &["replica-reuses-old-snapshot"],
        ),
        s(
            "C10",
            "replica_lag_in_a_healthy_cluster",
            ListAppend,
            vec![],
            |r| {
                fig(
                    "max replica lag (commit acknowledged → visible on the replica)",
                    check_figure(r, "replica lag in healthy periods"),
                    100.0,
                    "ms",
                    Comparison::Le,
                )
            },
            &["replica-stops-applying"],
        ),
        Scenario {
            schedule: Some(|| crate::nemesis::scenarios::isolated_writer_then_az_loss(16_000)),
            ..s(
                "C11",
                "failover_keeps_acknowledged_commits",
                ListAppend,
                vec![AzLoss, Failover],
                |r| {
                    fig(
                        "acknowledged appends lost across failovers",
                        check_figure(r, "acknowledged appends lost"),
                        0.0,
                        "",
                        Comparison::Eq,
                    )
                },
                &["ack-before-quorum"],
            )
        },
        Scenario {
            cluster: || ClusterKnobs {
                instances: Some(vec![
                    ("db-1".into(), 0, 4),
                    ("db-2".into(), 1, 2),
                    ("db-3".into(), 1, 8),
                ]),
                ..ClusterKnobs::default()
            },
            ..s(
                "C12",
                "failover_promotes_the_lowest_tier_then_the_largest",
                Bank,
                vec![CrashWriter],
                |r| {
                    fig(
                        "promotions not to the best healthy replica (tiers 0/1/1, sizes 4/2/8)",
                        wrong_promotions(r),
                        0.0,
                        "",
                        Comparison::Eq,
                    )
                },
                &["failover-wrong-tier", "failover-ignores-size"],
            )
        },
        Scenario {
            schedule: Some(|| crate::nemesis::scenarios::writer_power_loss(38_000)),
            ..s(
                "C13",
                "failover_rto",
                Bank,
                vec![PowerLoss],
                |r| {
                    fig(
                    "max failover RTO (failure to first successful write; none counts to the end)",
                    check_figure(r, "failover RTO (failure to first successful write)"),
                    30.0,
                    "s",
                    Comparison::Le,
                )
                },
                &["slow-failover"],
            )
        },
        Scenario {
            schedule: Some(crate::nemesis::scenarios::backtracks),
            cluster: backtrack_cluster,
            ..s(
                "C14",
                "backtrack_yields_the_state_at_the_reported_point",
                ListAppend,
                vec![],
                |r| {
                    fig(
                        "lineage anomalies + rewinds not at the nearest commit point + torn transactions + out-of-window targets accepted",
                        backtrack_violations(r, false),
                        0.0,
                        "",
                        Comparison::Eq,
                    )
                },
                &[
                    "backtrack-skips-pg",
                    "backtrack-inside-txn",
                    "gc-ignores-backtrack-window",
                ],
            )
        },
        Scenario {
            schedule: Some(crate::nemesis::scenarios::backtracks),
            cluster: backtrack_cluster,
            ..s(
                "C15",
                "backtrack_forward_restores_the_later_state",
                ListAppend,
                vec![],
                |r| {
                    fig(
                        "forward rewinds not at the nearest commit point + anomalies in the lineages after them",
                        backtrack_violations(r, true),
                        0.0,
                        "",
                        Comparison::Eq,
                    )
                },
                &["backtrack-destroys"],
            )
        },
        Scenario {
            schedule: Some(crate::nemesis::scenarios::clones_under_faults),
            // The schedule's last fault heals at 17 s.
            time_limit_s: 20,
            ..s(
                "C16",
                "clones_start_at_their_branch_point_and_stay_isolated",
                ListAppend,
                vec![],
                |r| {
                    fig(
                        "reads crossing sides + shared values missing on a clone + anomalies on either side",
                        clone_violations(r),
                        0.0,
                        "",
                        Comparison::Eq,
                    )
                },
                &["clone-write-leaks", "clone-reads-past-branch"],
            )
        },
    ]
    .into_iter()
    .chain(super::global::scenarios())
    .chain(super::serverless::scenarios())
    .chain(super::autoscale::scenarios())
    .chain(super::cache::scenarios())
    .chain(super::pquery::scenarios())
    .chain(super::ddl::scenarios())
    .chain(super::endpoints::scenarios())
    .collect()
}

/// Backtrack on with a 15 s window, and GC collecting as soon as it may (so a GC that ignores
/// the window shows within the run).
fn backtrack_cluster() -> ClusterKnobs {
    ClusterKnobs {
        backtrack_window_ms: Some(15_000),
        gc_retain_lsns: Some(0),
        ..ClusterKnobs::default()
    }
}
