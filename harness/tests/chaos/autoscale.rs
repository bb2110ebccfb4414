//! Storage auto-scaling chaos (C23): the suite's schedule (a storage node down, another cut
//! off, a writer crash mid-run and one as the load ends) over pinned seeds must add PGs, pass
//! every check and keep writing to the old PGs during each growth; the bug
//! `autoscale-routes-before-durable` must lose acknowledged writes (the register checks see
//! it), and `autoscale-pauses-writes` must measure a gap above the bound. Also: same seed,
//! same history bytes.

use harness::autoscale_checks::{longest_gap_ms, pgs_added};
use harness::suite::autoscale::{cluster, faults, C23_MAX_GAP_MS};
use harness::{run, terminal, Outcome, RunConfig};
use workloads::WorkloadKind;

fn cfg(seed: u64, bugs: &[&str]) -> RunConfig {
    let mut c = RunConfig::default_for(WorkloadKind::Register);
    c.seed = seed;
    c.nemesis = vec![];
    c.time_limit_s = 20;
    c.schedule = Some(faults());
    c.cluster = cluster();
    c.workload.keys = c.cluster.workload_keys.unwrap();
    c.workload.ops_per_key = c.cluster.workload_ops_per_key;
    c.rate = c.cluster.workload_rate.unwrap();
    c.bugs = bugs.iter().map(|b| b.to_string()).collect();
    c
}

#[test]
fn pgs_are_added_under_faults_without_loss_or_pause() {
    for seed in [1, 2] {
        let c = cfg(seed, &[]);
        let (report, out) = run::execute(&c);
        let a = out
            .autoscale_audit
            .as_ref()
            .expect("the audit runs with auto-scaling");
        let gap = longest_gap_ms(a, &out.history);
        eprintln!(
            "seed {seed}: {} PGs added, longest old-PG gap {gap} ms",
            pgs_added(a)
        );
        assert_eq!(
            report.outcome,
            Outcome::Pass,
            "\n{}\n{}",
            terminal::banner(&c, &report.schedule),
            terminal::summary(&report)
        );
        assert!(pgs_added(a) >= 2, "seed {seed}: {} PGs added", pgs_added(a));
        assert!(gap <= C23_MAX_GAP_MS as f64, "seed {seed}: gap {gap} ms");
    }
}

#[test]
fn routing_before_the_map_is_durable_loses_writes() {
    let c = cfg(1, &["autoscale-routes-before-durable"]);
    let (report, _) = run::execute(&c);
    let lin = report
        .checks
        .iter()
        .find(|r| r.name == "linearizable (cluster endpoint)")
        .unwrap();
    assert_eq!(
        lin.valid,
        checkers::Validity::Invalid,
        "{}",
        terminal::summary(&report)
    );
}

#[test]
fn pausing_writes_during_growth_is_caught() {
    let (_, out) = run::execute(&cfg(2, &["autoscale-pauses-writes"]));
    let gap = longest_gap_ms(out.autoscale_audit.as_ref().unwrap(), &out.history);
    eprintln!("seed 2 under autoscale-pauses-writes: longest old-PG gap {gap} ms");
    assert!(gap > C23_MAX_GAP_MS as f64, "gap {gap} ms");
}

#[test]
fn autoscaled_runs_are_deterministic() {
    let (_, a) = run::execute(&cfg(2, &[]));
    let (_, b) = run::execute(&cfg(2, &[]));
    assert_eq!(
        checkers::io::write_edn(&a.history),
        checkers::io::write_edn(&b.history)
    );
}
