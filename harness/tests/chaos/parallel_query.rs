//! Parallel query chaos (C26): register runs with scans (each pushed down to storage, then
//! evaluated at the instance at the same read point) under killed storage nodes and single
//! partitioned hosts, pinned seeds: every scan pair must agree, and pushing down must move
//! fewer bytes of storage replies. Under `pq-reads-latest` some pair must disagree.

use harness::nemesis::FaultKind;
use harness::pq_checks::scans;
use harness::suite::pquery::C26_SCAN_FRACTION;
use harness::{run, terminal, Outcome, RunConfig};
use workloads::WorkloadKind;

fn cfg(seed: u64, faults: &[FaultKind], bugs: &[&str]) -> RunConfig {
    let mut c = RunConfig::default_for(WorkloadKind::Register);
    c.seed = seed;
    c.nemesis = faults.to_vec();
    c.nemesis_interval_ms = 4_000;
    c.time_limit_s = 10;
    c.workload.scan_fraction = C26_SCAN_FRACTION;
    c.bugs = bugs.iter().map(|b| b.to_string()).collect();
    c
}

#[test]
fn pushed_down_scans_equal_instance_side_scans_under_faults() {
    for (seed, fault) in [(3, FaultKind::KillStorage), (4, FaultKind::PartitionOne)] {
        let c = cfg(seed, &[fault], &[]);
        let (report, out) = run::execute(&c);
        let s = scans(&out.history);
        let (pb, lb) = s.iter().fold((0, 0), |a, x| (a.0 + x.3, a.1 + x.4));
        eprintln!(
            "seed {seed} {fault:?}: {} scans, bytes pushed down {pb} vs instance-side {lb}",
            s.len()
        );
        assert_eq!(
            report.outcome,
            Outcome::Pass,
            "\n{}\n{}",
            terminal::banner(&c, &report.schedule),
            terminal::summary(&report)
        );
        assert!(
            s.len() >= 30,
            "seed {seed}: only {} scans completed",
            s.len()
        );
        assert!(s.iter().all(|x| x.1 == x.2));
        assert!(pb < lb, "pushing down moved {pb} bytes, instance-side {lb}");
    }
}

#[test]
fn scans_at_the_latest_version_are_caught() {
    // The suite's seeds and length: a pair disagrees when a write lands in the scanned
    // range between the read point and the segment's evaluation.
    let mut bad = 0;
    let mut violations = 0;
    for seed in [1, 2] {
        let mut c = cfg(seed, &[FaultKind::KillStorage], &["pq-reads-latest"]);
        c.time_limit_s = 12;
        let (report, out) = run::execute(&c);
        bad += scans(&out.history).iter().filter(|x| x.1 != x.2).count();
        violations += (report.outcome == Outcome::Violation) as usize;
    }
    eprintln!("pq-reads-latest: {bad} disagreeing scan pairs");
    assert!(bad > 0, "no scan pair disagreed under pq-reads-latest");
    assert!(violations > 0);
}

#[test]
fn runs_without_scans_draw_as_before() {
    // scan_fraction 0 is the default: no `:scan` op, no C26 row.
    let mut c = cfg(1, &[], &[]);
    c.workload.scan_fraction = 0.0;
    let (report, out) = run::execute(&c);
    assert!(scans(&out.history).is_empty());
    assert!(report
        .checks
        .iter()
        .all(|k| !k.claims.contains(&"C26".to_string())));
}
