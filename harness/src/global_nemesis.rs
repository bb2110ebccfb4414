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

use crate::nemesis::{Fault, FaultKind};
use crate::sim::{destroy, power_off, NemesisState};
use crate::sut::Sut;
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use reference::region::{GlobalConfig, RoleChange, PRIMARY};

/// Region references a drawn schedule uses (resolved when the fault is applied, as
/// `@writer` is): the current primary region, and a secondary the fault may act on.
pub const AT_PRIMARY: &str = "@primary";
pub const AT_SECONDARY: &str = "@secondary";

/// A drawn global fault (swarm runs). Region faults hit a secondary (`partition-region` the
/// primary half of the time); role changes go to a secondary. Which one is decided when the
/// fault is applied ([`resolve`]), since earlier role changes move the primary.
pub fn concrete(rng: &mut ChaCha8Rng, kind: FaultKind) -> Fault {
    let secondary = || AT_SECONDARY.to_string();
    match kind {
        FaultKind::PartitionRegion => Fault::PartitionRegion {
            region: if rng.random_bool(0.5) {
                AT_PRIMARY.into()
            } else {
                secondary()
            },
        },
        FaultKind::LoseRegion => Fault::LoseRegion {
            region: secondary(),
            destroy: false,
        },
        FaultKind::SlowRegion => Fault::SlowRegion {
            region: secondary(),
            latency_ms: rng.random_range(300..=600),
        },
        FaultKind::GlobalSwitchover => Fault::GlobalSwitchover { to: secondary() },
        FaultKind::GlobalFailover => Fault::GlobalFailover { to: secondary() },
        _ => unreachable!("not a global fault kind: {kind:?}"),
    }
}

/// Resolve `@primary` / `@secondary` against the coordinator's current roles (the driver's
/// white-box view, like `@writer`): `@secondary` is the first region after the primary, in
/// region order and wrapping, that is neither primary nor a fenced old primary. With none
/// left (every other region fenced) the fault names region `none` and does nothing. Other
/// faults are returned unchanged, so a recorded schedule replays as it was applied.
pub fn resolve(sut: &Sut, f: &Fault) -> Fault {
    let Some(g) = sut.global() else {
        return f.clone();
    };
    let name = |r: &str| -> String {
        let (primary, fenced) = {
            let d = g.coord.borrow();
            (d.primary.clone(), d.fenced.clone())
        };
        match r {
            AT_PRIMARY => primary,
            AT_SECONDARY => {
                let all = g.cfg.regions();
                let i = all.iter().position(|x| *x == primary).unwrap_or(0);
                (1..all.len())
                    .map(|k| all[(i + k) % all.len()].clone())
                    .find(|x| !fenced.contains_key(x))
                    .unwrap_or_else(|| "none".into())
            }
            _ => r.to_string(),
        }
    };
    match f {
        Fault::PartitionRegion { region } => Fault::PartitionRegion {
            region: name(region),
        },
        Fault::LoseRegion { region, destroy } => Fault::LoseRegion {
            region: name(region),
            destroy: *destroy,
        },
        Fault::SlowRegion { region, latency_ms } => Fault::SlowRegion {
            region: name(region),
            latency_ms: *latency_ms,
        },
        Fault::GlobalSwitchover { to } => Fault::GlobalSwitchover { to: name(to) },
        Fault::GlobalFailover { to } => Fault::GlobalFailover { to: name(to) },
        other => other.clone(),
    }
}

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
    // Under rejoin, r0's replication server and its volume are r0's hosts too.
    if g.cfg.rejoin {
        r0.extend(GlobalConfig::secondary_hosts(PRIMARY));
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
        _ if region_of(f) == Some("none") => Vec::new(),
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

/// The region a global fault names.
fn region_of(f: &Fault) -> Option<&str> {
    match f {
        Fault::PartitionRegion { region }
        | Fault::LoseRegion { region, .. }
        | Fault::SlowRegion { region, .. } => Some(region),
        Fault::GlobalSwitchover { to } | Fault::GlobalFailover { to } => Some(to),
        _ => None,
    }
}
