//! Issue 16, helper A: Serverless v2 scaling (C21) and CloudWatch-style metrics (C22). These
//! claims go beyond AURORA.md's table (C1-C20): they check items of its "Also in the seed"
//! list. Kept apart from `scenarios.rs` so the table there stays one hook.
//!
//! C21 runs a load spike (rate schedule 20 → 250 → 20 ops/s) against serverless instances
//! (0.5-16 ACU); C22 runs a contended bank workload and compares the published metrics with
//! clients and storage. Each figure is NaN when its scenario did not exercise the claim in
//! some seed (no spike raised the need; no commit was observed).

use super::figures::fig;
use super::{Scenario, SeedRun};
use crate::config::{ClusterKnobs, RunConfig, ServerlessKnobs};
use report::Comparison;
use workloads::WorkloadKind;

/// The load spike: (sim ms, ops/s) steps after the base rate.
pub const SPIKE: [(u64, f64); 2] = [(4_000, 250.0), (8_000, 20.0)];
/// The base rate before and after the spike.
pub const BASE_RATE: f64 = 20.0;

/// Run settings these scenarios need beyond cluster knobs (called by `run_scenario`).
pub fn tune(claim: &str, cfg: &mut RunConfig) {
    match claim {
        "C21" => {
            cfg.rate = BASE_RATE;
            cfg.rate_schedule = SPIKE.to_vec();
            cfg.concurrency = 40;
        }
        "C22" => {
            cfg.rate = 150.0;
            cfg.concurrency = 12;
        }
        _ => {}
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

fn serverless() -> ClusterKnobs {
    ClusterKnobs {
        serverless: Some(ServerlessKnobs {
            min_acu: 0.5,
            max_acu: 16.0,
        }),
        ..ClusterKnobs::default()
    }
}

fn metrics() -> ClusterKnobs {
    ClusterKnobs {
        check_metrics: true,
        ..ClusterKnobs::default()
    }
}

/// C21-C22.
pub fn scenarios() -> Vec<Scenario> {
    vec![
        Scenario {
            claim: "C21",
            name: "serverless_scales_to_a_load_spike_within_1s_without_errors",
            workload: WorkloadKind::Register,
            faults: vec![],
            seeds: vec![1, 2],
            time_limit_s: 12,
            schedule: None,
            figure: |r| {
                fig(
                    "max time from the client-observed spike to the writer's published capacity reaching the level its load needs",
                    strict_figure(r, "serverless capacity reaches the spike's need within 1 s"),
                    crate::serverless_checks::REACTION_BOUND_S,
                    "s",
                    Comparison::Le,
                )
            },
            bugs: &["serverless-slow-scale", "serverless-drops-connections"],
            cluster: serverless,
        },
        Scenario {
            claim: "C22",
            name: "published_metrics_agree_with_clients_and_storage",
            workload: WorkloadKind::Bank,
            faults: vec![],
            seeds: vec![1, 2],
            time_limit_s: 10,
            schedule: None,
            figure: |r| {
                fig(
                    "commits where the writer's published CommitThroughput and the client-observed acknowledgements disagree (beyond acks in flight at a period boundary)",
                    strict_figure(
                        r,
                        "published CommitThroughput equals the commits clients saw acknowledged",
                    ),
                    0.0,
                    "",
                    Comparison::Eq,
                )
            },
            bugs: &["metrics-count-attempts"],
            cluster: metrics,
        },
    ]
}
