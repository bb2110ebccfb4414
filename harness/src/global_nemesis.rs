//! Global-database faults (issue 11) as turmoil calls: `partition-region`, `lose-region`,
//! `slow-region`, and the admin actions `global-switchover` and `global-failover`
//! (requests to the global coordinator, as `aws rds switchover-global-cluster` and
//! `failover-global-cluster --allow-data-loss` are). They combine with the in-region
//! faults of `sim.rs`; `Heal` repairs partitions, restarts hosts and restores latencies.
//!
//! Placement: region `r0` is the primary cluster plus the client hosts (the application
//! runs next to the primary), `rN` its server and storage hosts; the coordinator is at
//! its own distance from every region. Partitioning a region cuts it off from every host
//! outside it, clients included: the region is unreachable.

use crate::nemesis::Fault;
use crate::sim::{destroy, power_off, NemesisState};
use crate::sut::Sut;
use reference::region::{GlobalConfig, RoleChange, PRIMARY};

/// Place hosts in regions and set the inter-region latencies (global runs only).
pub(crate) fn init(
    sim: &mut turmoil::Sim<'_>,
    sut: &Sut,
    nem: &mut NemesisState,
    all: &[String],
    clients: &[String],
) {
    let Some(g) = sut.global() else { return };
    let secondary: Vec<String> = sut.global_hosts();
    let mut r0: Vec<String> = all
        .iter()
        .filter(|h| !secondary.contains(h))
        .cloned()
        .collect();
    for c in clients {
        if !r0.contains(c) {
            r0.push(c.clone());
        }
    }
    nem.regions.insert(PRIMARY.to_string(), r0);
    for r in &g.cfg.regions()[1..] {
        nem.regions
            .insert(r.clone(), GlobalConfig::secondary_hosts(r));
    }
    reference::region::set_latencies(sim, &g.cfg, &nem.regions, &nem.slow);
}

/// Undo `slow-region` (the heal has repaired partitions and restarted hosts already).
pub(crate) fn heal(sim: &mut turmoil::Sim<'_>, sut: &Sut, nem: &mut NemesisState) {
    let Some(g) = sut.global() else { return };
    if !nem.slow.is_empty() {
        nem.slow.clear();
        reference::region::set_latencies(sim, &g.cfg, &nem.regions, &nem.slow);
    }
}

/// The hosts of `region` that the fault may hit (clients are not a region's hosts).
fn region_hosts(nem: &NemesisState, region: &str) -> Vec<String> {
    nem.regions
        .get(region)
        .map(|v| {
            v.iter()
                .filter(|h| !h.starts_with("client-"))
                .cloned()
                .collect()
        })
        .unwrap_or_default()
}

/// Apply one global fault; returns the hosts it hit.
pub(crate) fn apply(
    sim: &mut turmoil::Sim<'_>,
    sut: &Sut,
    nem: &mut NemesisState,
    all: &[String],
    f: &Fault,
) -> Vec<String> {
    let Some(g) = sut.global() else {
        return Vec::new();
    };
    let now = sim.elapsed().as_millis() as u64;
    match f {
        Fault::PartitionRegion { region } => {
            let inside = region_hosts(nem, region);
            for x in &inside {
                for y in all.iter().filter(|y| !inside.contains(y)) {
                    sim.partition(x.as_str(), y.as_str());
                    nem.partitioned.insert((x.clone(), y.clone()));
                }
            }
            inside
        }
        Fault::LoseRegion {
            region,
            destroy: wipe,
        } => {
            let hosts = region_hosts(nem, region);
            if *wipe && region == PRIMARY {
                let storage: Vec<String> =
                    sut.topology().storage.into_iter().map(|(h, _)| h).collect();
                destroy(sim, sut, nem, all, &storage);
            } else if *wipe {
                g.destroy_region(region);
                nem.destroyed.extend(hosts.iter().cloned());
            }
            for h in &hosts {
                power_off(sim, nem, all, h);
            }
            hosts
        }
        Fault::SlowRegion { region, latency_ms } => {
            nem.slow.insert(region.clone(), *latency_ms);
            reference::region::set_latencies(sim, &g.cfg, &nem.regions, &nem.slow);
            region_hosts(nem, region)
        }
        Fault::GlobalSwitchover { to } => {
            g.request(RoleChange::Switchover { to: to.clone() }, now);
            vec![GlobalConfig::server_host(to)]
        }
        Fault::GlobalFailover { to } => {
            g.request(RoleChange::Failover { to: to.clone() }, now);
            vec![GlobalConfig::server_host(to)]
        }
        _ => Vec::new(),
    }
}
