//! Global database, issue 11 (a) and (b): a secondary that was behind an in-region writer
//! failover is filled from the primary's storage (bug `global-feed-gap` leaves the gap open),
//! and a fenced old primary rejoins as a secondary of the new primary.

use harness::config::{ClusterKnobs, GlobalKnobs};
use harness::nemesis::{Fault, HostRef, Schedule, Scheduled};
use harness::{run, terminal, Outcome, RunConfig};
use reference::EventKind;
use workloads::WorkloadKind;

fn at(at_ms: u64, fault: Fault) -> Scheduled {
    Scheduled { at_ms, fault }
}

const GAP_CHECK: &str =
    "feed gaps close (a secondary behind a new writer is filled from primary storage)";

/// r1 cut off from 2 s (it falls behind), the primary's writer crashed at 3 s (the control
/// plane fails over in-region; the new writer's agent holds nothing below its recovered VDL),
/// everything healed at 5 s: r1 comes back behind the new writer's floor.
fn writer_failover_behind_a_cut_off_secondary(kind: WorkloadKind, seed: u64) -> RunConfig {
    let mut cfg = RunConfig::default_for(kind);
    cfg.seed = seed;
    cfg.nemesis = vec![];
    cfg.time_limit_s = 8;
    cfg.convergence_s = 3;
    cfg.schedule = Some(Schedule {
        entries: vec![
            at(
                2_000,
                Fault::PartitionRegion {
                    region: "r1".into(),
                },
            ),
            at(
                3_000,
                Fault::Kill {
                    host: HostRef::writer(),
                },
            ),
            at(5_000, Fault::Heal),
        ],
    });
    cfg.cluster = ClusterKnobs {
        global: Some(GlobalKnobs::default()),
        ..ClusterKnobs::default()
    };
    cfg
}

#[test]
fn a_secondary_behind_an_in_region_writer_failover_is_filled_from_primary_storage() {
    let cfg = writer_failover_behind_a_cut_off_secondary(WorkloadKind::ListAppend, 4);
    let (report, out) = run::execute(&cfg);
    for e in &out.global_events {
        if matches!(
            e.kind,
            EventKind::GlobalFeedGap { .. } | EventKind::GlobalFeedFilled { .. }
        ) {
            eprintln!("{} {} {:?}", e.time_ms, e.host, e.kind);
        }
    }
    let gap = report.checks.iter().find(|c| c.name == GAP_CHECK);
    assert!(
        gap.is_some(),
        "the scenario must open a feed gap; checks: {:?}",
        report.checks.iter().map(|c| &c.name).collect::<Vec<_>>()
    );
    assert_eq!(
        report.outcome,
        Outcome::Pass,
        "\n{}\n{}\n",
        terminal::banner(&cfg, &report.schedule),
        terminal::summary(&report)
    );
    let mut cfg = cfg;
    cfg.bugs = vec!["global-feed-gap".into()];
    let (report, _) = run::execute(&cfg);
    let gap = report.checks.iter().find(|c| c.name == GAP_CHECK);
    assert!(
        gap.is_some_and(|c| c.valid == checkers::Validity::Invalid),
        "global-feed-gap must leave a gap open: {}",
        terminal::summary(&report)
    );
}

const REJOIN_CHECK: &str = "a fenced old primary rejoins as a secondary and catches up";

/// r0 lost at 3 s (its writer had commits in flight: the tail beyond r1's promoted point),
/// failover to r1, r0 back at 6 s: fenced, its tail recorded, it rejoins as a secondary of r1.
fn failover_and_rejoin(kind: WorkloadKind, seed: u64) -> RunConfig {
    let mut cfg = writer_failover_behind_a_cut_off_secondary(kind, seed);
    cfg.time_limit_s = 10;
    cfg.schedule = Some(Schedule {
        entries: vec![
            at(
                3_000,
                Fault::LoseRegion {
                    region: "r0".into(),
                    destroy: false,
                },
            ),
            at(3_200, Fault::GlobalFailover { to: "r1".into() }),
            at(6_000, Fault::Heal),
        ],
    });
    if let Some(g) = cfg.cluster.global.as_mut() {
        g.rejoin = true;
    }
    cfg
}

#[test]
fn a_fenced_old_primary_rejoins_as_a_secondary_and_catches_up() {
    for (kind, seed) in [(WorkloadKind::ListAppend, 1), (WorkloadKind::Bank, 2)] {
        let cfg = failover_and_rejoin(kind, seed);
        let (report, out) = run::execute(&cfg);
        for e in &out.global_events {
            if matches!(
                e.kind,
                EventKind::GlobalRejoined { .. }
                    | EventKind::GlobalDiverged { .. }
                    | EventKind::GlobalRoleChanged { .. }
            ) {
                eprintln!("{} {} {:?}", e.time_ms, e.host, e.kind);
            }
        }
        let c = report.checks.iter().find(|c| c.name == REJOIN_CHECK);
        assert!(
            c.is_some(),
            "{kind:?}: r0 must have rejoined; checks: {:?}",
            report.checks.iter().map(|c| &c.name).collect::<Vec<_>>()
        );
        eprintln!("{kind:?}: {}", c.unwrap().summary);
        assert_eq!(
            report.outcome,
            Outcome::Pass,
            "\n{}\n{}\n",
            terminal::banner(&cfg, &report.schedule),
            terminal::summary(&report)
        );
    }
    let mut cfg = failover_and_rejoin(WorkloadKind::ListAppend, 1);
    cfg.bugs = vec!["global-rejoin-merges-tail".into()];
    let (report, _) = run::execute(&cfg);
    let failed: Vec<&str> = report
        .checks
        .iter()
        .filter(|c| c.valid == checkers::Validity::Invalid)
        .map(|c| c.name.as_str())
        .collect();
    eprintln!("under global-rejoin-merges-tail: {failed:?}");
    assert!(
        failed.contains(&REJOIN_CHECK),
        "global-rejoin-merges-tail must be caught; failed: {failed:?}\n{}",
        terminal::summary(&report)
    );
}
