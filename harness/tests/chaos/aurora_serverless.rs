//! Serverless v2 (C21) and CloudWatch-style metrics (C22), issue 16: a load spike against
//! serverless instances with a storage node killed during the spike, the two serverless bugs
//! caught, the published metrics agreeing with clients and storage (and the count-attempts bug
//! caught), and the metrics files being deterministic OpenMetrics text.

use harness::config::{ClusterKnobs, ServerlessKnobs};
use harness::nemesis::{Fault, HostRef, Schedule, Scheduled};
use harness::{run, terminal, Outcome, RunConfig};
use workloads::WorkloadKind;

const REACT: &str = "serverless capacity reaches the spike's need within 1 s";
const ERRORS: &str = "serverless scaling causes no client errors";
const COMMITS: &str = "published CommitThroughput equals the commits clients saw acknowledged";
const IOPS: &str = "published VolumeWriteIOPs equals the write I/Os storage nodes received";

/// 20 → 250 → 20 ops/s at 4 s and 8 s, 0.5-16 ACU.
fn spike(seed: u64) -> RunConfig {
    let mut cfg = RunConfig::default_for(WorkloadKind::Register);
    cfg.seed = seed;
    cfg.nemesis = vec![];
    cfg.time_limit_s = 12;
    cfg.convergence_s = 3;
    cfg.rate = 20.0;
    cfg.concurrency = 40;
    cfg.rate_schedule = vec![(4_000, 250.0), (8_000, 20.0)];
    cfg.cluster = ClusterKnobs {
        serverless: Some(ServerlessKnobs {
            min_acu: 0.5,
            max_acu: 16.0,
        }),
        ..ClusterKnobs::default()
    };
    cfg
}

fn check<'a>(r: &'a run::RunReport, name: &str) -> &'a harness::checks::CheckResult {
    r.checks
        .iter()
        .find(|c| c.name == name)
        .unwrap_or_else(|| panic!("no check `{name}`: {}", terminal::summary(r)))
}

#[test]
fn serverless_scales_to_a_spike_under_a_storage_kill_without_errors() {
    for seed in [1, 2] {
        let mut cfg = spike(seed);
        cfg.schedule = Some(Schedule {
            entries: vec![
                Scheduled {
                    at_ms: 5_000,
                    fault: Fault::Kill {
                        host: HostRef::named("s-az1-0"),
                    },
                },
                Scheduled {
                    at_ms: 9_000,
                    fault: Fault::Heal,
                },
            ],
        });
        let (report, out) = run::execute(&cfg);
        let msg = format!(
            "\n{}\n{}\n",
            terminal::banner(&cfg, &report.schedule),
            terminal::summary(&report)
        );
        assert_eq!(report.outcome, Outcome::Pass, "{msg}");
        let f = check(&report, REACT).figure.unwrap();
        assert!(f <= 1.0, "reaction {f} s{msg}");
        // Capacity went up with the spike and came down after it.
        let ch = &out.series.capacity_changes["db-1"];
        let peak = ch.iter().map(|c| c.1).max().unwrap();
        let after = ch.iter().rev().find(|c| c.0 <= out.sim_ms).unwrap().1;
        assert!(peak >= 8 && after < peak, "{ch:?}");
    }
}

#[test]
fn serverless_bugs_are_caught() {
    for (bug, name) in [
        ("serverless-slow-scale", REACT),
        ("serverless-drops-connections", ERRORS),
    ] {
        let mut cfg = spike(1);
        cfg.bugs = vec![bug.into()];
        let (report, _) = run::execute(&cfg);
        assert_ne!(
            report.outcome,
            Outcome::Pass,
            "{bug}: {}",
            terminal::summary(&report)
        );
        assert_eq!(
            check(&report, name).valid,
            checkers::Validity::Invalid,
            "{bug}: {}",
            terminal::summary(&report)
        );
    }
}

fn metrics_run(seed: u64) -> RunConfig {
    let mut cfg = RunConfig::default_for(WorkloadKind::Bank);
    cfg.seed = seed;
    cfg.nemesis = vec![];
    cfg.time_limit_s = 8;
    cfg.convergence_s = 3;
    cfg.rate = 150.0;
    cfg.concurrency = 12;
    cfg.cluster.check_metrics = true;
    cfg
}

#[test]
fn published_metrics_agree_and_counting_attempts_is_caught() {
    let (report, _) = run::execute(&metrics_run(2));
    assert_eq!(
        report.outcome,
        Outcome::Pass,
        "{}",
        terminal::summary(&report)
    );
    assert_eq!(check(&report, COMMITS).figure, Some(0.0));
    assert_eq!(check(&report, IOPS).figure, Some(0.0));
    let mut cfg = metrics_run(2);
    cfg.bugs = vec!["metrics-count-attempts".into()];
    let (report, _) = run::execute(&cfg);
    assert_eq!(
        check(&report, COMMITS).valid,
        checkers::Validity::Invalid,
        "{}",
        terminal::summary(&report)
    );
}

#[test]
fn metrics_files_are_deterministic_openmetrics() {
    let texts: Vec<(String, String)> = (0..2)
        .map(|i| {
            let cfg = metrics_run(1);
            let (report, out) = run::execute(&cfg);
            let dir =
                std::env::temp_dir().join(format!("aurora-metrics-{}-{i}", std::process::id()));
            run::write_run(&dir, None, &report, &out).unwrap();
            let t = std::fs::read_to_string(dir.join("metrics.txt")).unwrap();
            let j = std::fs::read_to_string(dir.join("metrics.json")).unwrap();
            let _ = std::fs::remove_dir_all(&dir);
            (t, j)
        })
        .collect();
    assert_eq!(texts[0], texts[1], "same seed, same metrics files");
    let (t, j) = &texts[0];
    let _: serde_json::Value = serde_json::from_str(j).unwrap();
    assert!(t.ends_with("# EOF\n"));
    for name in [
        "CommitThroughput",
        "CommitLatency",
        "VolumeWriteIOPs",
        "DatabaseConnections",
        "BufferCacheHitRatio",
        "AuroraReplicaLag",
        "AuroraReplicaLagMaximum",
    ] {
        assert!(
            t.contains(&format!("# TYPE {name} gauge\n")),
            "{name} missing"
        );
        assert!(t.contains(&format!("\n{name}{{")), "{name} has no sample");
    }
    // Every sample line: name{labels} value [timestamp].
    for l in t.lines().filter(|l| !l.starts_with('#')) {
        let (name, rest) = l.split_once('{').unwrap_or_else(|| panic!("{l}"));
        assert!(
            name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
            "{l}"
        );
        let (_, vals) = rest.split_once("} ").unwrap_or_else(|| panic!("{l}"));
        for v in vals.split(' ') {
            assert!(v == "NaN" || v.parse::<f64>().is_ok(), "{l}");
        }
    }
}
