//! Applying one fault of the schedule to the running simulation: what it hits (a host name,
//! a region, a set of links), carried out through turmoil's and the system under test's own
//! controls. Split out of `sim.rs`; the driver calls [`apply`] between `step()` calls.

use crate::nemesis::{Fault, HostRef};
use crate::sim::{destroy, NemesisState};
use crate::sut::Sut;

pub(crate) fn fault_name(f: &Fault) -> &'static str {
    match f {
        Fault::Partition { .. } => "partition",
        Fault::Heal => "heal",
        Fault::Kill { .. } => "kill",
        Fault::PowerLoss { .. } => "power-loss",
        Fault::LoseAz { .. } => "lose-az",
        Fault::AzPlusOne { .. } => "az-plus-one",
        Fault::Pause { .. } => "pause",
        Fault::CorruptDisk { .. } => "corrupt-disk",
        Fault::Failover => "failover",
        Fault::ReplaceSegment { .. } => "replace-segment",
        Fault::Destroy { .. } => "destroy",
        Fault::DestroyAz { .. } => "destroy-az",
        Fault::DestroyAzPlusOne { .. } => "destroy-az-plus-one",
        Fault::Backtrack { .. } => "backtrack-request",
        Fault::Clone => "clone-request",
        Fault::PartitionRegion { .. } => "partition-region",
        Fault::LoseRegion { .. } => "lose-region",
        Fault::SlowRegion { .. } => "slow-region",
        Fault::GlobalSwitchover { .. } => "global-switchover",
        Fault::GlobalFailover { .. } => "global-failover",
        Fault::ReplaceInstance { .. } => "replace-instance",
    }
}

fn resolve(sut: &Sut, h: &HostRef) -> Option<String> {
    if h.0 == HostRef::WRITER {
        sut.current_writer()
    } else if h.0 == HostRef::CLONE_WRITER {
        sut.clone_writer()
    } else {
        Some(h.0.clone())
    }
}

pub(crate) fn power_off(
    sim: &mut turmoil::Sim<'_>,
    nem: &mut NemesisState,
    all: &[String],
    host: &str,
) {
    for other in all.iter().filter(|o| o.as_str() != host) {
        sim.partition(host, other.as_str());
        nem.partitioned.insert((host.to_string(), other.clone()));
    }
    if !nem.crashed.contains(host) {
        sim.crash(host);
        nem.crashed.insert(host.to_string());
    }
}

/// Applies one fault; returns the concrete hosts it hit.
pub(crate) fn apply(
    sim: &mut turmoil::Sim<'_>,
    sut: &Sut,
    nem: &mut NemesisState,
    all: &[String],
    f: &Fault,
) -> Vec<String> {
    match f {
        Fault::Partition { a, b } => {
            let a: Vec<String> = a.iter().filter_map(|h| resolve(sut, h)).collect();
            let b: Vec<String> = b
                .iter()
                .filter_map(|h| resolve(sut, h))
                .filter(|h| !a.contains(h))
                .collect();
            for x in &a {
                for y in &b {
                    sim.partition(x.as_str(), y.as_str());
                    nem.partitioned.insert((x.clone(), y.clone()));
                }
            }
            a.into_iter().chain(b).collect()
        }
        Fault::Heal => {
            let mut hit = Vec::new();
            for (x, y) in std::mem::take(&mut nem.partitioned) {
                sim.repair(x.as_str(), y.as_str());
            }
            for h in std::mem::take(&mut nem.paused) {
                sut.resume(&h);
                hit.push(h);
            }
            for h in std::mem::take(&mut nem.crashed) {
                if nem.destroyed.contains(&h) {
                    continue;
                }
                sim.bounce(h.as_str());
                hit.push(h);
            }
            // A destroyed node stays off and cut off, for good.
            for h in nem.destroyed.clone() {
                nem.crashed.insert(h);
            }
            crate::global_nemesis::heal(sim, sut, nem);
            hit
        }
        Fault::Kill { host } => match resolve(sut, host) {
            Some(h) if !nem.crashed.contains(&h) => {
                sim.crash(h.as_str());
                nem.crashed.insert(h.clone());
                vec![h]
            }
            _ => Vec::new(),
        },
        Fault::PowerLoss { host } => match resolve(sut, host) {
            Some(h) => {
                power_off(sim, nem, all, &h);
                vec![h]
            }
            None => Vec::new(),
        },
        Fault::LoseAz { az } => {
            let hosts = sut.topology().in_az(*az);
            for h in &hosts {
                power_off(sim, nem, all, h);
            }
            hosts
        }
        Fault::AzPlusOne { az, extra } => {
            let mut hosts = sut.topology().in_az(*az);
            hosts.push(extra.clone());
            for h in &hosts {
                power_off(sim, nem, all, h);
            }
            hosts
        }
        Fault::Pause { host } => match resolve(sut, host) {
            Some(h) => {
                sut.pause(&h);
                nem.paused.insert(h.clone());
                vec![h]
            }
            None => Vec::new(),
        },
        Fault::CorruptDisk { host, seed } => {
            if sut.corrupt(host, *seed) {
                vec![host.clone()]
            } else {
                Vec::new()
            }
        }
        Fault::Failover => {
            sut.failover();
            Vec::new()
        }
        Fault::ReplaceSegment { host } => {
            power_off(sim, nem, all, host);
            sut.replace_segment(host);
            vec![host.clone()]
        }
        Fault::Destroy { host } => destroy(sim, sut, nem, all, std::slice::from_ref(host)),
        Fault::DestroyAz { az } => {
            let t = sut.topology();
            let storage: Vec<String> = t
                .storage
                .iter()
                .filter(|(_, a)| a == az)
                .map(|(h, _)| h.clone())
                .collect();
            let mut hit = destroy(sim, sut, nem, all, &storage);
            for (h, _) in t.instances.iter().filter(|(_, a)| a == az) {
                power_off(sim, nem, all, h);
                // New compute at the heal: the survivable cache does not come back.
                sut.replace_instance(h);
                hit.push(h.clone());
            }
            hit
        }
        Fault::ReplaceInstance { host } => match resolve(sut, host) {
            Some(h) => {
                power_off(sim, nem, all, &h);
                sut.replace_instance(&h);
                vec![h]
            }
            None => Vec::new(),
        },
        // Carried out by the admin host (see `admin`).
        Fault::Backtrack { .. } | Fault::Clone => Vec::new(),
        Fault::PartitionRegion { .. }
        | Fault::LoseRegion { .. }
        | Fault::SlowRegion { .. }
        | Fault::GlobalSwitchover { .. }
        | Fault::GlobalFailover { .. } => crate::global_nemesis::apply(sim, sut, nem, all, f),
        Fault::DestroyAzPlusOne { az, extra } => {
            let t = sut.topology();
            let mut storage: Vec<String> = t
                .storage
                .iter()
                .filter(|(_, a)| a == az)
                .map(|(h, _)| h.clone())
                .collect();
            storage.push(extra.clone());
            let mut hit = destroy(sim, sut, nem, all, &storage);
            for (h, _) in t.instances.iter().filter(|(_, a)| a == az) {
                power_off(sim, nem, all, h);
                // New compute at the heal: the survivable cache does not come back.
                sut.replace_instance(h);
                hit.push(h.clone());
            }
            hit
        }
    }
}
