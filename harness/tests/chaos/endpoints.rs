//! Custom endpoints (C24, issue 16 item 4): the reader share of each workload goes through a
//! READER endpoint over static members and an ANY endpoint defined by exclusion, through two
//! writer crashes (failover to db-2, restart, failover back to db-1, restart), over pinned
//! seeds other than the suite's. Each run must pass every check (C24's included) and must really have
//! served READER sessions after the failover; under `custom-endpoint-stale-after-failover` the
//! same run must be caught.

use harness::config::ClusterKnobs;
use harness::nemesis::{Fault, HostRef, Schedule, Scheduled};
use harness::{endpoint_checks, run, terminal, Outcome, RunConfig};
use reference::endpoints::{CustomEndpoint, EndpointType};
use workloads::WorkloadKind;

fn schedule() -> Schedule {
    let at = |at_ms, fault| Scheduled { at_ms, fault };
    let kill = |h: HostRef| Fault::Kill { host: h };
    Schedule {
        entries: vec![
            at(2_500, kill(HostRef::writer())),
            at(6_000, Fault::Heal),
            at(7_500, kill(HostRef::writer())),
            at(11_000, Fault::Heal),
        ],
    }
}

fn endpoints_run(kind: WorkloadKind, seed: u64) -> RunConfig {
    let mut cfg = RunConfig::default_for(kind);
    cfg.seed = seed;
    cfg.nemesis = vec![];
    cfg.time_limit_s = 13;
    cfg.convergence_s = 5;
    cfg.workload.reader_fraction = 0.5;
    cfg.schedule = Some(schedule());
    let mut k = ClusterKnobs::default();
    k.custom_endpoints
        .insert("analytics".into(), CustomEndpoint::reader(["db-1", "db-2"]));
    k.custom_endpoints.insert(
        "not-db-3".into(),
        CustomEndpoint::excluding(EndpointType::Any, ["db-3"]),
    );
    cfg.workload.custom_endpoints = k.custom_endpoints.keys().cloned().collect();
    cfg.cluster = k;
    cfg
}

fn check(cfg: &RunConfig, want_pass: bool) {
    let (report, out) = run::execute(cfg);
    let t = endpoint_checks::tally(cfg, &out);
    let ctx = format!(
        "\n{}\n{}\n{t:?}",
        terminal::banner(cfg, &report.schedule),
        terminal::summary(&report)
    );
    assert!(
        t.promotions >= 1 && t.reader_after_failover >= 1,
        "not exercised{ctx}"
    );
    if want_pass {
        assert_eq!(report.outcome, Outcome::Pass, "{ctx}");
        assert!(t.violations.is_empty(), "{ctx}");
    } else {
        assert!(!t.violations.is_empty(), "bug not caught{ctx}");
        assert_ne!(report.outcome, Outcome::Pass, "{ctx}");
    }
}

#[test]
fn custom_endpoints_route_only_to_members_bank() {
    check(&endpoints_run(WorkloadKind::Bank, 3), true);
}

#[test]
fn custom_endpoints_route_only_to_members_list_append() {
    check(&endpoints_run(WorkloadKind::ListAppend, 4), true);
}

#[test]
fn stale_reader_endpoint_after_failover_is_caught() {
    let mut cfg = endpoints_run(WorkloadKind::Register, 5);
    cfg.bugs = vec!["custom-endpoint-stale-after-failover".into()];
    check(&cfg, false);
}
