//! C24, custom endpoints (beyond AURORA.md's C1-C20 table; issue 16 item 4): a custom endpoint
//! never routes to a non-member, nor a READER endpoint to the writer, including after a
//! failover (the writer changes) and after instances restart.
//!
//! Two endpoints over the standard three instances (db-1 the writer, tiers 0-2):
//! `analytics`, READER over static members db-1 and db-2; `not-db-3`, ANY over every instance
//! but db-3. The reader share of the register workload goes through them (half the processes
//! each). The schedule kills the writer twice: db-1 (failover to db-2, the one replica member
//! of `analytics`, which its clients hold in their DNS cache), then, once db-1 is back as a
//! replica, db-2 (failover back to db-1, again `analytics`' one replica member). While the
//! killed member is down and the other is the writer, `analytics` has no eligible member: it
//! must answer no target, not widen to db-3.

use super::figures::fig;
use super::{Scenario, SeedRun};
use crate::config::ClusterKnobs;
use crate::nemesis::{Fault, HostRef, Schedule, Scheduled};
use reference::endpoints::{CustomEndpoint, EndpointType};
use report::Comparison;
use workloads::WorkloadKind;

/// The scenario's endpoints.
pub fn endpoints_cluster() -> ClusterKnobs {
    let mut k = ClusterKnobs::default();
    k.custom_endpoints
        .insert("analytics".into(), CustomEndpoint::reader(["db-1", "db-2"]));
    k.custom_endpoints.insert(
        "not-db-3".into(),
        CustomEndpoint::excluding(EndpointType::Any, ["db-3"]),
    );
    k
}

/// Kill the writer (failover), restart it, kill the new writer (failover back), restart it.
pub fn two_failovers() -> Schedule {
    let at = |at_ms, fault| Scheduled { at_ms, fault };
    let kill = || Fault::Kill {
        host: HostRef::writer(),
    };
    Schedule {
        entries: vec![
            at(2_500, kill()),
            at(6_000, Fault::Heal),
            at(7_500, kill()),
            at(12_000, Fault::Heal),
        ],
    }
}

/// C24's figure: sessions served by a non-member (or, READER, the writer) over all seeds, from
/// the instances' records; NaN when some seed had no promotion or served no READER session
/// after it (the failover part of the claim was not exercised).
fn violations(runs: &[SeedRun]) -> f64 {
    let mut total = 0.0;
    for r in runs {
        let t = crate::endpoint_checks::tally(&r.cfg, &r.out);
        if t.promotions == 0 || t.reader_after_failover == 0 {
            return f64::NAN;
        }
        total += t.violations.len() as f64;
    }
    total
}

/// C24.
pub fn scenarios() -> Vec<Scenario> {
    vec![Scenario {
        claim: "C24",
        name: "custom_endpoints_route_only_to_members_across_failover",
        workload: WorkloadKind::Register,
        faults: vec![],
        seeds: vec![1, 2],
        time_limit_s: 14,
        schedule: Some(two_failovers),
        figure: |r| {
            fig(
                "custom-endpoint sessions served by a non-member or (READER) the writer (instances' records)",
                violations(r),
                0.0,
                "",
                Comparison::Eq,
            )
        },
        bugs: &[
            "custom-endpoint-stale-after-failover",
            "custom-endpoint-falls-back",
            "custom-endpoint-ignores-exclusions",
        ],
        cluster: endpoints_cluster,
    }]
}
