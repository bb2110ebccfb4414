//! Global database chaos (issue 11): every workload through an unplanned failover (r0 lost,
//! r1 promoted) and then a planned switchover (r1 → r2), under an in-region fault (a primary
//! storage node killed) and a slow secondary, over pinned seeds; a second failover away from a
//! promoted region (the fixed `global-branch-on-role` loss, kept as a regression); and swarm
//! runs with drawn global faults. Each run must pass every
//! check, the global ones included (C17/C18 rows, fencing, secondary reads), and must really
//! have gone through both role changes.

use harness::config::{ClusterKnobs, GlobalKnobs};
use harness::nemesis::{Fault, HostRef, Schedule, Scheduled};
use harness::{run, terminal, Outcome, RunConfig};
use workloads::WorkloadKind;

fn at(at_ms: u64, fault: Fault) -> Scheduled {
    Scheduled { at_ms, fault }
}

fn failover_then_switchover() -> Schedule {
    Schedule {
        entries: vec![
            at(
                2_000,
                Fault::Kill {
                    host: HostRef::named("s-az2-1"),
                },
            ),
            at(
                3_000,
                Fault::SlowRegion {
                    region: "r2".into(),
                    latency_ms: 300,
                },
            ),
            at(
                4_000,
                Fault::LoseRegion {
                    region: "r0".into(),
                    destroy: false,
                },
            ),
            at(4_200, Fault::GlobalFailover { to: "r1".into() }),
            at(8_000, Fault::Heal),
            at(10_000, Fault::GlobalSwitchover { to: "r2".into() }),
        ],
    }
}

fn global_run(kind: WorkloadKind, seed: u64) -> RunConfig {
    let mut cfg = RunConfig::default_for(kind);
    cfg.seed = seed;
    cfg.nemesis = vec![];
    cfg.time_limit_s = 16;
    cfg.convergence_s = 5;
    cfg.schedule = Some(failover_then_switchover());
    cfg.cluster = ClusterKnobs {
        global: Some(GlobalKnobs::default()),
        ..ClusterKnobs::default()
    };
    cfg
}

#[test]
fn every_workload_survives_global_switchover_and_failover_under_faults() {
    for (kind, seed) in [
        (WorkloadKind::ListAppend, 1),
        (WorkloadKind::Bank, 2),
        (WorkloadKind::Register, 3),
    ] {
        let cfg = global_run(kind, seed);
        let (report, out) = run::execute(&cfg);
        let names: Vec<&str> = report.checks.iter().map(|c| c.name.as_str()).collect();
        assert!(
            names.contains(&"switchover loses no acknowledged commit")
                && names
                    .contains(&"failover: consistent prefix, losses only from the last lag window"),
            "{kind:?} seed {seed}: both role changes must have happened; checks: {names:?}"
        );
        assert!(
            out.global_events.iter().any(|e| matches!(
                &e.kind,
                reference::EventKind::GlobalPromoted { region, .. } if region == "r2"
            )),
            "{kind:?} seed {seed}: r2 was never promoted"
        );
        assert_eq!(
            report.outcome,
            Outcome::Pass,
            "\n{}\n{}\n",
            terminal::banner(&cfg, &report.schedule),
            terminal::summary(&report)
        );
    }
}

#[test]
fn split_brain_is_caught_when_the_old_primary_is_not_fenced() {
    let mut cfg = global_run(WorkloadKind::ListAppend, 1);
    cfg.schedule = Some(Schedule {
        entries: vec![
            at(
                3_000,
                Fault::PartitionRegion {
                    region: "r0".into(),
                },
            ),
            at(3_200, Fault::GlobalFailover { to: "r1".into() }),
            at(8_000, Fault::Heal),
        ],
    });
    cfg.bugs = vec!["global-no-fence".into()];
    let (report, _) = run::execute(&cfg);
    assert_ne!(
        report.outcome,
        Outcome::Pass,
        "{}",
        terminal::summary(&report)
    );
}

/// Issue 11's second-failover bug, kept as a regression: r1 slowed (so r2 runs ahead of it),
/// r0 lost → r1 promoted; r0 back fenced; r1 lost → r2 promoted. r2 often hears of epoch 1 from
/// the coordinator before r1's first shipment; a server that took that as its new branch kept
/// r0's tail beyond r1's promoted point, dropped r1's commits at the same LSNs and told its
/// storage to truncate at the old branch point, so the second failover lost acknowledged
/// commits outside the lag window. Fixed by moving the branch only on a shipment (which carries
/// the branch point); `global-branch-on-role` switches the old behaviour back on and must fail.
fn two_failovers() -> Schedule {
    Schedule {
        entries: vec![
            at(
                1_000,
                Fault::SlowRegion {
                    region: "r1".into(),
                    latency_ms: 400,
                },
            ),
            at(
                2_000,
                Fault::Kill {
                    host: HostRef::named("s-az2-1"),
                },
            ),
            at(
                3_000,
                Fault::LoseRegion {
                    region: "r0".into(),
                    destroy: false,
                },
            ),
            at(3_200, Fault::GlobalFailover { to: "r1".into() }),
            at(6_000, Fault::Heal),
            at(
                8_500,
                Fault::LoseRegion {
                    region: "r1".into(),
                    destroy: false,
                },
            ),
            at(8_700, Fault::GlobalFailover { to: "r2".into() }),
            at(11_000, Fault::Heal),
        ],
    }
}

fn promoted(out: &harness::sim::SimOutput) -> Vec<String> {
    out.global_events
        .iter()
        .filter_map(|e| match &e.kind {
            reference::EventKind::GlobalPromoted { region, .. } => Some(region.clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn a_second_failover_away_from_a_promoted_region_loses_only_its_lag_window() {
    for (kind, seed) in [(WorkloadKind::Bank, 2)] {
        let mut cfg = global_run(kind, seed);
        cfg.time_limit_s = 13;
        cfg.schedule = Some(two_failovers());
        let (report, out) = run::execute(&cfg);
        let p = promoted(&out);
        assert!(
            p.contains(&"r1".to_string()) && p.contains(&"r2".to_string()),
            "{kind:?} seed {seed}: both failovers must have happened; promoted: {p:?}"
        );
        assert_eq!(
            report.outcome,
            Outcome::Pass,
            "\n{}\n{}\n",
            terminal::banner(&cfg, &report.schedule),
            terminal::summary(&report)
        );
    }
    // The regression: the first version's branch rule loses acknowledged commits here.
    let mut cfg = global_run(WorkloadKind::ListAppend, 1);
    cfg.time_limit_s = 13;
    cfg.schedule = Some(two_failovers());
    cfg.bugs = vec!["global-branch-on-role".into()];
    let (report, _) = run::execute(&cfg);
    let failed: Vec<&str> = report
        .checks
        .iter()
        .filter(|c| c.valid == checkers::Validity::Invalid)
        .map(|c| c.name.as_str())
        .collect();
    assert!(
        failed.contains(&"failover: consistent prefix, losses only from the last lag window"),
        "global-branch-on-role must lose a commit outside the lag window; failed: {failed:?}\n{}",
        terminal::summary(&report)
    );
}

/// Swarm runs of a global database (issue 11 point 4): every workload with faults drawn from
/// the global kinds (`partition-region`, `lose-region`, `slow-region`, `global-switchover`,
/// `global-failover`) and in-region ones (kill-storage, partition-writer, crash-writer), as
/// `aurora-chaos run --regions 3 --nemesis …` draws them, over pinned seeds. Each must check out
/// clean and must really have drawn a global fault that took effect.
#[test]
fn swarm_runs_with_drawn_global_faults_check_out_clean() {
    use harness::nemesis::FaultKind;
    let mut kinds = FaultKind::GLOBAL.to_vec();
    kinds.extend([
        FaultKind::KillStorage,
        FaultKind::PartitionWriter,
        FaultKind::CrashWriter,
    ]);
    for (kind, seed) in [
        (WorkloadKind::ListAppend, 11),
        (WorkloadKind::Bank, 12),
        (WorkloadKind::Register, 13),
    ] {
        let mut cfg = global_run(kind, seed);
        cfg.schedule = None;
        cfg.nemesis = kinds.clone();
        cfg.nemesis_interval_ms = 1_500;
        cfg.time_limit_s = 8;
        cfg.convergence_s = 3;
        let (report, out) = run::execute(&cfg);
        let global_hits = out
            .applied
            .iter()
            .filter(|(_, f, hit)| {
                !hit.is_empty()
                    && matches!(
                        f,
                        Fault::PartitionRegion { .. }
                            | Fault::LoseRegion { .. }
                            | Fault::SlowRegion { .. }
                            | Fault::GlobalSwitchover { .. }
                            | Fault::GlobalFailover { .. }
                    )
            })
            .count();
        assert!(
            global_hits > 0,
            "{kind:?} seed {seed}: no global fault was drawn: {:?}",
            report.schedule
        );
        assert_eq!(
            report.outcome,
            Outcome::Pass,
            "\n{}\n{}\n",
            terminal::banner(&cfg, &report.schedule),
            terminal::summary(&report)
        );
    }
}
