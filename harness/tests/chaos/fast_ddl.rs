//! Fast DDL chaos (C27): register runs with row reads, row writes and a few ADD COLUMNs on
//! one table, under killed storage nodes and writer crashes, pinned seeds: every row read
//! shows one schema version's columns, old-version rows are read after a DDL and upgraded
//! lazily by a later write, and no DDL rewrote a row. Under each DDL bug the run fails.

use harness::ddl_checks::observe;
use harness::nemesis::FaultKind;
use harness::suite::ddl::C27_DDL_FRACTION;
use harness::{run, terminal, Outcome, RunConfig};
use workloads::WorkloadKind;

fn cfg(seed: u64, faults: &[FaultKind], bugs: &[&str]) -> RunConfig {
    let mut c = RunConfig::default_for(WorkloadKind::Register);
    c.seed = seed;
    c.nemesis = faults.to_vec();
    c.nemesis_interval_ms = 4_000;
    c.time_limit_s = 10;
    c.workload.ddl_fraction = C27_DDL_FRACTION;
    c.bugs = bugs.iter().map(|b| b.to_string()).collect();
    c
}

#[test]
fn readers_see_one_schema_and_rows_upgrade_lazily_under_faults() {
    for (seed, fault) in [(3, FaultKind::KillStorage), (4, FaultKind::CrashWriter)] {
        let c = cfg(seed, &[fault], &[]);
        let (report, out) = run::execute(&c);
        let o = observe(&out.history);
        eprintln!(
            "seed {seed} {fault:?}: {} row reads ({} old-version), {} DDLs, {} lazy upgrades",
            o.reads.len(),
            o.old_version_reads(),
            o.add_latencies_ns().len(),
            o.lazy_upgrades()
        );
        assert_eq!(
            report.outcome,
            Outcome::Pass,
            "\n{}\n{}",
            terminal::banner(&c, &report.schedule),
            terminal::summary(&report)
        );
        assert!(
            !o.add_latencies_ns().is_empty(),
            "seed {seed}: no ADD COLUMN completed"
        );
        assert!(
            o.old_version_reads() > 0,
            "seed {seed}: no old-version row read"
        );
        assert!(o.lazy_upgrades() > 0, "seed {seed}: no lazy upgrade");
        assert!(o.reads.iter().all(|r| o.violation(r).is_none()));
        assert_eq!(o.rewritten(), 0);
    }
}

#[test]
fn mixed_and_unknown_schemas_are_caught() {
    for bug in ["ddl-mixed-schema", "ddl-unknown-version"] {
        let c = cfg(2, &[FaultKind::KillStorage], &[bug]);
        let (report, out) = run::execute(&c);
        let o = observe(&out.history);
        let bad = o.reads.iter().filter(|r| o.violation(r).is_some()).count();
        assert!(
            bad > 0,
            "no row read in a mixed or unknown schema under {bug}"
        );
        assert_eq!(report.outcome, Outcome::Violation, "{bug}");
    }
}

#[test]
fn an_eager_table_rewrite_is_caught() {
    let c = cfg(2, &[FaultKind::KillStorage], &["ddl-rewrites-table"]);
    let (report, out) = run::execute(&c);
    assert!(
        observe(&out.history).rewritten() > 0,
        "no rewritten row seen"
    );
    assert_eq!(report.outcome, Outcome::Violation);
}
