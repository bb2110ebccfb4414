//! Survivable buffer cache chaos (C25): the suite's restart schedule (a restart with commits
//! in flight, then a plain crash) over pinned seeds must pass every check with a warm cache
//! right after each restart; a cold cache (bug `cache-lost-on-restart`) must measure below
//! the bound, the bug `cache-keeps-above-vdl` must be caught by the white-box check, and a
//! replaced host (new compute) must start cold. Also: same seed, same history bytes.

use harness::cache_checks::{dropped, hit_ratio_after_restart};
use harness::nemesis::{Fault, HostRef, Scheduled};
use harness::suite::cache::{cluster, restarts, C25_MIN_HIT_RATIO};
use harness::{run, terminal, Outcome, RunConfig};
use workloads::WorkloadKind;

fn cfg(seed: u64, bugs: &[&str]) -> RunConfig {
    let mut c = RunConfig::default_for(WorkloadKind::Register);
    c.seed = seed;
    c.nemesis = vec![];
    c.time_limit_s = 13;
    c.schedule = Some(restarts());
    c.cluster = cluster();
    c.workload.keys = c.cluster.workload_keys.unwrap();
    c.bugs = bugs.iter().map(|b| b.to_string()).collect();
    c
}

#[test]
fn survivable_cache_is_warm_after_restart_and_never_stale() {
    for seed in [1, 2] {
        let c = cfg(seed, &[]);
        let (report, out) = run::execute(&c);
        let a = out
            .cache_audit
            .as_ref()
            .expect("the audit runs with the cache on");
        let restarts: Vec<_> = a.adoptions.iter().filter(|x| x.survived > 0).collect();
        let hit = hit_ratio_after_restart(a, &out.history);
        eprintln!(
            "seed {seed}: restarts {:?}, dropped (above VDL, truncated, foreign) {:?}, hit ratio {hit:.2}",
            restarts
                .iter()
                .map(|x| (x.survived, x.pages_kept, x.entries))
                .collect::<Vec<_>>(),
            dropped(a)
        );
        assert_eq!(
            report.outcome,
            Outcome::Pass,
            "\n{}\n{}",
            terminal::banner(&c, &report.schedule),
            terminal::summary(&report)
        );
        assert_eq!(
            restarts.len(),
            2,
            "both restarts reopened on the survived region"
        );
        assert!(
            dropped(a).0 > 0,
            "the cut-off restart had pages above the recovered VDL"
        );
        assert!(hit >= C25_MIN_HIT_RATIO, "seed {seed}: hit ratio {hit}");
    }
}

#[test]
fn cold_cache_measures_below_the_bound() {
    // One seed: `suite --mutations` runs both.
    {
        let seed = 1;
        let (_, out) = run::execute(&cfg(seed, &["cache-lost-on-restart"]));
        let hit = hit_ratio_after_restart(out.cache_audit.as_ref().unwrap(), &out.history);
        eprintln!("seed {seed}: cold hit ratio {hit:.2}");
        assert!(hit < C25_MIN_HIT_RATIO, "seed {seed}: cold hit ratio {hit}");
    }
}

#[test]
fn keeping_entries_above_the_recovered_vdl_is_caught() {
    {
        let seed = 2;
        let c = cfg(seed, &["cache-keeps-above-vdl"]);
        let (report, out) = run::execute(&c);
        let stale: u64 = out
            .cache_audit
            .as_ref()
            .unwrap()
            .adoptions
            .iter()
            .map(|x| x.mismatches)
            .sum();
        assert!(stale > 0, "seed {seed}: no stale adopted entry");
        assert_eq!(report.outcome, Outcome::Violation, "seed {seed}");
    }
}

#[test]
fn a_replaced_instance_starts_cold_and_the_cache_is_opt_in() {
    let mut c = cfg(1, &[]);
    c.schedule = Some(harness::nemesis::Schedule {
        entries: vec![
            Scheduled {
                at_ms: 6_000,
                fault: Fault::ReplaceInstance {
                    host: HostRef::writer(),
                },
            },
            Scheduled {
                at_ms: 6_300,
                fault: Fault::Heal,
            },
        ],
    });
    c.time_limit_s = 9;
    let (report, out) = run::execute(&c);
    assert_eq!(
        report.outcome,
        Outcome::Pass,
        "{}",
        terminal::summary(&report)
    );
    let a = out.cache_audit.unwrap();
    assert!(a.adoptions.len() >= 2, "the replaced host reopened");
    assert!(
        a.adoptions.iter().all(|x| x.survived == 0),
        "no page survives new compute"
    );
    // Off by default: no audit, no survivable region.
    c.cluster.survivable_cache = false;
    let (_, out) = run::execute(&c);
    assert!(out.cache_audit.is_none());
}

#[test]
fn survivable_cache_runs_are_deterministic() {
    let (ra, a) = run::execute(&cfg(2, &[]));
    let (rb, b) = run::execute(&cfg(2, &[]));
    assert_eq!(
        checkers::io::write_edn(&a.history),
        checkers::io::write_edn(&b.history)
    );
    assert_eq!(
        serde_json::to_string(&ra.checks).unwrap(),
        serde_json::to_string(&rb.checks).unwrap()
    );
}
