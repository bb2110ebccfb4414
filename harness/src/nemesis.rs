//! Faults as data. A [`Schedule`] is a list of `(sim time, Fault)`, drawn from the run's seed or read
//! from a file, printed in every report and replayable from the CLI. Only the simulation driver
//! (`sim.rs`) turns a fault into turmoil calls.
//!
//! Jepsen-style: faults start one at a time at a staggered interval and are stopped by a `Heal`, which
//! repairs every partition, resumes paused hosts and restarts crashed ones. In safety mode at most one
//! fault is active at once, which keeps every PG within the fault model (≤ AZ+1 segments down); in
//! beyond-the-model mode faults may overlap (availability may be lost, correctness never).

use rand::seq::IndexedRandom;
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// The host a fault hits: a name, or `@writer` — the current writer when the fault is applied.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct HostRef(pub String);

impl HostRef {
    pub const WRITER: &'static str = "@writer";
    /// The writer of the newest clone's cluster (no host until a clone exists).
    pub const CLONE_WRITER: &'static str = "@clone-writer";
    pub fn writer() -> HostRef {
        HostRef(Self::WRITER.into())
    }
    pub fn named(s: &str) -> HostRef {
        HostRef(s.into())
    }
}

/// One fault (or its cure). Serialized with a `"fault"` tag, e.g. `{"fault":"kill","host":"s-az0-1"}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "fault", rename_all = "kebab-case")]
pub enum Fault {
    /// Cut every link between a host of `a` and a host of `b`.
    Partition { a: Vec<HostRef>, b: Vec<HostRef> },
    /// Repair every partition, resume every paused host, restart every crashed host.
    Heal,
    /// Process crash: peers see the connection drop. Restarted by `Heal`.
    Kill { host: HostRef },
    /// Power loss: isolate the host, then crash it, so peers see silence. Restored by `Heal`.
    PowerLoss { host: HostRef },
    /// Power loss of every host in an AZ (storage nodes and instances).
    LoseAz { az: usize },
    /// A whole AZ plus one more storage node elsewhere: the edge of the fault model (reads only).
    AzPlusOne { az: usize, extra: String },
    /// Freeze a host (a zombie when it resumes). Resumed by `Heal`.
    Pause { host: HostRef },
    /// Corrupt one stored record on a storage node's disk (checksums must catch it; scrub repairs).
    CorruptDisk { host: String, seed: u64 },
    /// Ask the control plane for a failover.
    Failover,
    /// Power off a storage node and replace its segments through a membership change.
    ReplaceSegment { host: String },
    /// Destroy a storage node for good: power off and wipe its disk; it never returns
    /// (the control plane's repair replaces its segments).
    Destroy { host: String },
    /// Destroy every storage node of an AZ for good (instances power off and come back
    /// at the heal, as new compute).
    DestroyAz { az: usize },
    /// Destroy an AZ's storage plus one more storage node elsewhere, for good.
    DestroyAzPlusOne { az: usize, extra: String },
    /// Admin action: backtrack the cluster to simulated time `to_ms` (through the control
    /// plane, as `aws rds backtrack-db-cluster`; a target outside the window is refused).
    /// The history records the outcome (`T′`, the cut) as a `:backtrack` nemesis op.
    Backtrack { to_ms: u64 },
    /// Admin action: create a copy-on-write clone of the cluster's volume (as `aws rds
    /// restore-db-cluster-to-point-in-time --restore-type copy-on-write`) and provision a
    /// cluster on it; part of the workload's processes then run on the clone. The history
    /// records the outcome (volume, branch point `T′`) as a `:clone` nemesis op.
    Clone,
    // ---- global database (see `crate::global_nemesis`)
    /// Cut every link between a region's hosts and every host outside it (clients too:
    /// the region is unreachable). Repaired by `Heal`.
    PartitionRegion { region: String },
    /// Power off every host of a region; with `destroy`, its storage is wiped and it never
    /// returns. Otherwise restored by `Heal`.
    LoseRegion { region: String, destroy: bool },
    /// Raise the latency of a region's inter-region links to `latency_ms`. Undone by `Heal`.
    SlowRegion { region: String, latency_ms: u64 },
    /// Planned switchover of the primary role to region `to` (drain, read-only, swap; RPO 0).
    GlobalSwitchover { to: String },
    /// Unplanned failover to region `to`, allowing data loss.
    GlobalFailover { to: String },
    /// An instance's host is replaced: power off, and it comes back at the heal as new
    /// compute (its survivable buffer cache is gone; a `Kill` keeps it).
    ReplaceInstance { host: HostRef },
}

impl Fault {
    /// Destroys durable state for good (the schedule must leave room for repair).
    pub fn is_destructive(&self) -> bool {
        matches!(
            self,
            Fault::Destroy { .. } | Fault::DestroyAz { .. } | Fault::DestroyAzPlusOne { .. }
        )
    }
}

/// A fault at a simulated time (milliseconds since the start of the run).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Scheduled {
    pub at_ms: u64,
    pub fault: Fault,
}

/// The whole fault schedule of a run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Schedule {
    pub entries: Vec<Scheduled>,
}

/// Fault kinds as named on the command line (`--nemesis partition-az,kill-storage`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FaultKind {
    PartitionAz,
    PartitionWriter,
    PartitionHalves,
    PartitionOne,
    /// Cut the links between the current writer and one AZ's storage nodes (a non-transitive
    /// partition, as Jepsen's bridge): commits go on at 4 of 6, and the cut segments' peers and
    /// the replicas still reach them, so they lag the writer (until gossip fills their holes)
    /// while they keep answering reads.
    PartitionWriterAz,
    KillStorage,
    PowerLoss,
    AzLoss,
    AzPlusOne,
    PauseWriter,
    CorruptDisk,
    CrashWriter,
    Failover,
    ReplaceSegment,
    /// False failure detection: a storage node blinks off (power off) and the control plane
    /// replaces its segments, but it is back after a short drawn outage (the schedule's early
    /// `Heal`, `FLAP_MS`), typically while the replacement still hydrates: the change reverts.
    ReplaceSegmentFlap,
    DestroyNode,
    DestroyAz,
    DestroyAzPlusOne,
    /// Admin: backtrack to a target drawn from the run's past (some outside the window).
    Backtrack,
    /// Admin: create a copy-on-write clone and run part of the workload on it.
    Clone,
    // ---- global database (opt-in, need `--regions`; see `crate::global_nemesis`)
    PartitionRegion,
    LoseRegion,
    SlowRegion,
    GlobalSwitchover,
    GlobalFailover,
}

impl FaultKind {
    pub const ALL: [FaultKind; 18] = [
        FaultKind::PartitionAz,
        FaultKind::PartitionWriter,
        FaultKind::PartitionHalves,
        FaultKind::PartitionOne,
        FaultKind::PartitionWriterAz,
        FaultKind::KillStorage,
        FaultKind::PowerLoss,
        FaultKind::AzLoss,
        FaultKind::AzPlusOne,
        FaultKind::PauseWriter,
        FaultKind::CorruptDisk,
        FaultKind::CrashWriter,
        FaultKind::Failover,
        FaultKind::ReplaceSegment,
        FaultKind::ReplaceSegmentFlap,
        FaultKind::DestroyNode,
        FaultKind::DestroyAz,
        FaultKind::DestroyAzPlusOne,
    ];

    /// Admin actions a swarm may draw besides faults; opt-in (`--nemesis backtrack,clone`),
    /// never in `all`.
    pub const ADMIN: [FaultKind; 2] = [FaultKind::Backtrack, FaultKind::Clone];

    /// Global-database faults and admin actions; opt-in (`--nemesis partition-region,…`
    /// with `--regions N`), never in `all`: they need secondary regions.
    pub const GLOBAL: [FaultKind; 5] = [
        FaultKind::PartitionRegion,
        FaultKind::LoseRegion,
        FaultKind::SlowRegion,
        FaultKind::GlobalSwitchover,
        FaultKind::GlobalFailover,
    ];

    /// Destroys storage for good.
    pub fn is_destructive(self) -> bool {
        matches!(
            self,
            FaultKind::DestroyNode | FaultKind::DestroyAz | FaultKind::DestroyAzPlusOne
        )
    }

    /// Leaves every PG's live segment count alone (safe to draw after a destroy in
    /// safety mode, while repair may still be running).
    pub fn spares_segments(self) -> bool {
        matches!(
            self,
            FaultKind::PartitionWriter
                | FaultKind::PauseWriter
                | FaultKind::CrashWriter
                | FaultKind::Failover
                | FaultKind::Backtrack
                | FaultKind::Clone
                | FaultKind::PartitionRegion
                | FaultKind::LoseRegion
                | FaultKind::SlowRegion
                | FaultKind::GlobalSwitchover
                | FaultKind::GlobalFailover
        )
    }

    pub fn name(self) -> &'static str {
        match self {
            FaultKind::PartitionAz => "partition-az",
            FaultKind::PartitionWriter => "partition-writer",
            FaultKind::PartitionHalves => "partition-halves",
            FaultKind::PartitionOne => "partition-one",
            FaultKind::PartitionWriterAz => "partition-writer-az",
            FaultKind::KillStorage => "kill-storage",
            FaultKind::PowerLoss => "power-loss",
            FaultKind::AzLoss => "az-loss",
            FaultKind::AzPlusOne => "az-plus-one",
            FaultKind::PauseWriter => "pause-writer",
            FaultKind::CorruptDisk => "corrupt-disk",
            FaultKind::CrashWriter => "crash-writer",
            FaultKind::Failover => "failover",
            FaultKind::ReplaceSegment => "replace-segment",
            FaultKind::ReplaceSegmentFlap => "replace-segment-flap",
            FaultKind::DestroyNode => "destroy-node",
            FaultKind::DestroyAz => "destroy-az",
            FaultKind::DestroyAzPlusOne => "destroy-az-plus-one",
            FaultKind::Backtrack => "backtrack",
            FaultKind::Clone => "clone",
            FaultKind::PartitionRegion => "partition-region",
            FaultKind::LoseRegion => "lose-region",
            FaultKind::SlowRegion => "slow-region",
            FaultKind::GlobalSwitchover => "global-switchover",
            FaultKind::GlobalFailover => "global-failover",
        }
    }

    pub fn help(self) -> &'static str {
        match self {
            FaultKind::PartitionAz => {
                "isolate one AZ (its storage nodes and instances) from the rest"
            }
            FaultKind::PartitionWriter => "cut the current writer off from every storage node",
            FaultKind::PartitionHalves => "split the cluster's hosts into two random halves",
            FaultKind::PartitionOne => "isolate one random host from every other",
            FaultKind::PartitionWriterAz => {
                "cut the current writer off from one AZ's storage nodes (their peers and the replicas still reach them)"
            }
            FaultKind::KillStorage => {
                "crash a storage node's process (peers see the connection drop); restart at heal"
            }
            FaultKind::PowerLoss => {
                "power off a storage node: isolate, then crash (peers see silence)"
            }
            FaultKind::AzLoss => "lose a whole AZ: power off every host in it",
            FaultKind::AzPlusOne => {
                "lose an AZ plus one more storage node (the edge of the fault model)"
            }
            FaultKind::PauseWriter => {
                "freeze the writer so that it resumes as a zombie after failover"
            }
            FaultKind::CorruptDisk => {
                "corrupt a stored record on a storage node (checksums and scrub)"
            }
            FaultKind::CrashWriter => "crash the writer instance (the control plane fails over)",
            FaultKind::Failover => "request a failover from the control plane",
            FaultKind::ReplaceSegment => {
                "power off a storage node and replace its segments (membership change)"
            }
            FaultKind::ReplaceSegmentFlap => {
                "replace-segment, but the node is back within 10-100 ms (false failure detection)"
            }
            FaultKind::DestroyNode => {
                "destroy a storage node's disk for good (repair replaces its segments)"
            }
            FaultKind::DestroyAz => "destroy every storage node of an AZ for good",
            FaultKind::DestroyAzPlusOne => {
                "destroy an AZ's storage plus one more storage node, for good"
            }
            FaultKind::Backtrack => {
                "admin: backtrack to a time drawn from the run's past (needs --backtrack-window-s; targets before the window must be refused)"
            }
            FaultKind::Clone => {
                "admin: clone the volume copy-on-write and run part of the workload on the clone"
            }
            FaultKind::PartitionRegion => {
                "cut the primary or a secondary region off from every host outside it"
            }
            FaultKind::LoseRegion => "power off every host of a secondary region",
            FaultKind::SlowRegion => {
                "raise a secondary region's inter-region latency to 300-600 ms"
            }
            FaultKind::GlobalSwitchover => {
                "admin: planned switchover of the primary role to a secondary (RPO 0)"
            }
            FaultKind::GlobalFailover => {
                "admin: unplanned failover to a secondary, allowing data loss (old primary fenced)"
            }
        }
    }

    pub fn from_name(s: &str) -> Option<FaultKind> {
        Self::ALL
            .into_iter()
            .chain(Self::ADMIN)
            .chain(Self::GLOBAL)
            .find(|k| k.name() == s)
    }

    /// Parses `--nemesis` text: comma-separated kinds, `all`, or `none`.
    pub fn parse_list(s: &str) -> Result<Vec<FaultKind>, String> {
        let mut out = Vec::new();
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            match part {
                "all" => out.extend(Self::ALL),
                "none" => {}
                _ => {
                    out.push(Self::from_name(part).ok_or_else(|| {
                        format!("unknown nemesis `{part}` (see `--nemesis help`)")
                    })?)
                }
            }
        }
        out.sort();
        out.dedup();
        Ok(out)
    }

    /// The text `--nemesis help` prints.
    pub fn help_text() -> String {
        let mut s = String::from("nemesis kinds (comma-separated, or `all`, or `none`):\n");
        for k in Self::ALL {
            s.push_str(&format!("  {:<18} {}\n", k.name(), k.help()));
        }
        s.push_str("admin actions (opt-in, not in `all`):\n");
        for k in Self::ADMIN {
            s.push_str(&format!("  {:<18} {}\n", k.name(), k.help()));
        }
        s.push_str("global database (opt-in, not in `all`; need --regions 2 or more):\n");
        for k in Self::GLOBAL {
            s.push_str(&format!("  {:<18} {}\n", k.name(), k.help()));
        }
        s
    }
}

/// What the schedule generator needs to know about the cluster.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Topology {
    /// (host, az) of every storage node.
    pub storage: Vec<(String, usize)>,
    /// (host, az) of the storage nodes holding segments at the start (spares excluded).
    #[serde(default)]
    pub members: Vec<(String, usize)>,
    /// (host, az) of every database instance.
    pub instances: Vec<(String, usize)>,
    /// Other cluster hosts (the control plane).
    pub others: Vec<String>,
    pub azs: usize,
}

impl Topology {
    pub fn cluster_hosts(&self) -> Vec<String> {
        let mut v: Vec<String> = self.storage.iter().map(|(h, _)| h.clone()).collect();
        v.extend(self.instances.iter().map(|(h, _)| h.clone()));
        v.extend(self.others.iter().cloned());
        v
    }

    pub fn in_az(&self, az: usize) -> Vec<String> {
        let mut v: Vec<String> = self
            .storage
            .iter()
            .filter(|(_, a)| *a == az)
            .map(|(h, _)| h.clone())
            .collect();
        v.extend(
            self.instances
                .iter()
                .filter(|(_, a)| *a == az)
                .map(|(h, _)| h.clone()),
        );
        v
    }
}

/// How faults may combine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    /// One fault at a time: within the fault model; any wrong answer is a bug.
    Safety,
    /// Faults may overlap (beyond AZ+1): availability may be lost, correctness never.
    BeyondModel,
}

/// Parameters for drawing a schedule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DrawParams {
    pub kinds: Vec<FaultKind>,
    pub mode: Mode,
    /// Mean time between fault starts.
    pub interval_ms: u64,
    /// Faults start after this warm-up.
    pub start_ms: u64,
    /// No fault starts after this time; a final heal is scheduled here.
    pub end_ms: u64,
}

/// Every host a schedule names must exist: one of `known`, a role (`@writer`,
/// `@clone-writer`), a client host, or a host provisioned during the run (a clone's
/// `clone<N>-…`, a secondary region's `r<N>-…`, the global coordinator). Names the first
/// entry that does not.
pub fn check_hosts(s: &Schedule, known: &[String]) -> Result<(), String> {
    fn names(v: &serde_json::Value, out: &mut Vec<String>) {
        match v {
            serde_json::Value::String(h) => out.push(h.clone()),
            serde_json::Value::Array(a) => a.iter().for_each(|x| names(x, out)),
            _ => {}
        }
    }
    let provisioned = |h: &str| {
        let numbered = |p: &str| {
            h.strip_prefix(p).is_some_and(|r| {
                let d = r.chars().take_while(char::is_ascii_digit).count();
                d > 0 && r[d..].starts_with('-')
            })
        };
        h.starts_with('@')
            || h.starts_with("client-")
            || numbered("clone")
            || numbered("r")
            || h == "global"
    };
    for (i, e) in s.entries.iter().enumerate() {
        let v = serde_json::to_value(&e.fault).map_err(|x| x.to_string())?;
        let mut hosts = vec![];
        for k in ["host", "a", "b", "extra"] {
            if let Some(x) = v.get(k) {
                names(x, &mut hosts);
            }
        }
        if let Some(h) = hosts.iter().find(|h| !known.contains(h) && !provisioned(h)) {
            return Err(format!(
                "entry {} (at {} ms) names unknown host `{h}` (hosts: {})",
                i + 1,
                e.at_ms,
                known.join(", ")
            ));
        }
    }
    Ok(())
}

/// How long a `replace-segment-flap` node is off: shorter than a replacement's hydration
/// usually takes (0.27 s on average in the reference), so the node is usually back first.
pub const FLAP_MS: std::ops::RangeInclusive<u64> = 10..=100;

/// Draws a schedule from the RNG. Deterministic for a given RNG state and parameters.
pub fn draw(rng: &mut ChaCha8Rng, topo: &Topology, p: &DrawParams) -> Schedule {
    let mut entries = Vec::new();
    let mut t = p.start_ms + rng.random_range(0..=p.interval_ms / 2);
    // Durable state destroyed for good stays lost: at most one destroy per schedule,
    // and in safety mode only faults that leave segments alone follow it.
    let mut kinds = p.kinds.clone();
    while !kinds.is_empty() && t < p.end_ms {
        let kind = *kinds.choose(rng).expect("kinds is not empty");
        if kind.is_destructive() {
            kinds.retain(|k| !k.is_destructive());
            if p.mode == Mode::Safety {
                kinds.retain(|k| k.spares_segments());
            }
        }
        entries.push(Scheduled {
            at_ms: t,
            fault: concrete(rng, topo, kind, t),
        });
        // Faults last between a third and two thirds of the interval; then heal (safety mode) or
        // sometimes leave them overlapping (beyond-the-model mode). A flap always heals, early.
        let flap = kind == FaultKind::ReplaceSegmentFlap;
        let duration = if flap {
            rng.random_range(FLAP_MS)
        } else {
            rng.random_range(p.interval_ms / 3..=p.interval_ms * 2 / 3)
        }
        .max(1);
        let heal_at = t + duration;
        if p.mode == Mode::Safety || flap || rng.random_bool(0.5) {
            if heal_at < p.end_ms {
                entries.push(Scheduled {
                    at_ms: heal_at,
                    fault: Fault::Heal,
                });
            }
        }
        let gap = rng
            .random_range(p.interval_ms / 2..=p.interval_ms * 3 / 2)
            .max(1);
        t = t.max(heal_at) + gap / 2;
    }
    entries.push(Scheduled {
        at_ms: p.end_ms,
        fault: Fault::Heal,
    });
    Schedule { entries }
}

fn pick<'a>(rng: &mut ChaCha8Rng, v: &'a [(String, usize)]) -> &'a (String, usize) {
    v.choose(rng).expect("topology has hosts of every role")
}

/// Turns a kind into a concrete fault on drawn hosts, at `now_ms` into the run.
pub fn concrete(rng: &mut ChaCha8Rng, topo: &Topology, kind: FaultKind, now_ms: u64) -> Fault {
    let refs = |v: Vec<String>| v.into_iter().map(HostRef).collect::<Vec<_>>();
    match kind {
        FaultKind::PartitionAz => {
            let az = rng.random_range(0..topo.azs);
            let inside = topo.in_az(az);
            let rest = topo
                .cluster_hosts()
                .into_iter()
                .filter(|h| !inside.contains(h))
                .collect();
            Fault::Partition {
                a: refs(inside),
                b: refs(rest),
            }
        }
        FaultKind::PartitionWriter => Fault::Partition {
            a: vec![HostRef::writer()],
            b: refs(topo.storage.iter().map(|(h, _)| h.clone()).collect()),
        },
        FaultKind::PartitionHalves => {
            let mut hosts = topo.cluster_hosts();
            rand::seq::SliceRandom::shuffle(hosts.as_mut_slice(), rng);
            let b = hosts.split_off(hosts.len() / 2);
            Fault::Partition {
                a: refs(hosts),
                b: refs(b),
            }
        }
        FaultKind::PartitionOne => {
            let hosts = topo.cluster_hosts();
            let one = hosts.choose(rng).expect("hosts").clone();
            let rest = hosts.into_iter().filter(|h| *h != one).collect();
            Fault::Partition {
                a: vec![HostRef(one)],
                b: refs(rest),
            }
        }
        FaultKind::PartitionWriterAz => {
            let az = rng.random_range(0..topo.azs);
            Fault::Partition {
                a: vec![HostRef::writer()],
                b: refs(
                    topo.storage
                        .iter()
                        .filter(|(_, z)| *z == az)
                        .map(|(h, _)| h.clone())
                        .collect(),
                ),
            }
        }
        FaultKind::KillStorage => Fault::Kill {
            host: HostRef(pick(rng, &topo.storage).0.clone()),
        },
        FaultKind::PowerLoss => Fault::PowerLoss {
            host: HostRef(pick(rng, &topo.storage).0.clone()),
        },
        FaultKind::AzLoss => Fault::LoseAz {
            az: rng.random_range(0..topo.azs),
        },
        FaultKind::AzPlusOne => {
            let az = rng.random_range(0..topo.azs);
            let others: Vec<(String, usize)> = topo
                .storage
                .iter()
                .filter(|(_, a)| *a != az)
                .cloned()
                .collect();
            Fault::AzPlusOne {
                az,
                extra: pick(rng, &others).0.clone(),
            }
        }
        FaultKind::PauseWriter => Fault::Pause {
            host: HostRef::writer(),
        },
        FaultKind::CorruptDisk => Fault::CorruptDisk {
            host: pick(rng, &topo.storage).0.clone(),
            seed: rng.random(),
        },
        FaultKind::CrashWriter => Fault::Kill {
            host: HostRef::writer(),
        },
        FaultKind::Failover => Fault::Failover,
        FaultKind::Backtrack => Fault::Backtrack {
            to_ms: rng.random_range(0..=now_ms),
        },
        FaultKind::Clone => Fault::Clone,
        FaultKind::PartitionRegion
        | FaultKind::LoseRegion
        | FaultKind::SlowRegion
        | FaultKind::GlobalSwitchover
        | FaultKind::GlobalFailover => crate::global_nemesis::concrete(rng, kind),
        FaultKind::ReplaceSegment => Fault::ReplaceSegment {
            host: pick(rng, &topo.storage).0.clone(),
        },
        // A flap hits a node that holds segments at the start (a spare has none to replace).
        FaultKind::ReplaceSegmentFlap => Fault::ReplaceSegment {
            host: pick(rng, &topo.members).0.clone(),
        },
        FaultKind::DestroyNode => Fault::Destroy {
            host: pick(rng, &topo.members).0.clone(),
        },
        FaultKind::DestroyAz => Fault::DestroyAz {
            az: rng.random_range(0..topo.azs),
        },
        FaultKind::DestroyAzPlusOne => {
            let az = rng.random_range(0..topo.azs);
            let others: Vec<(String, usize)> = topo
                .members
                .iter()
                .filter(|(_, a)| *a != az)
                .cloned()
                .collect();
            Fault::DestroyAzPlusOne {
                az,
                extra: pick(rng, &others).0.clone(),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn topo() -> Topology {
        Topology {
            storage: (0..6)
                .map(|i| (format!("s-az{}-{}", i / 2, i % 2), i / 2))
                .collect(),
            members: (0..6)
                .map(|i| (format!("s-az{}-{}", i / 2, i % 2), i / 2))
                .collect(),
            instances: vec![("db-1".into(), 0), ("db-2".into(), 1), ("db-3".into(), 2)],
            others: vec!["control".into()],
            azs: 3,
        }
    }

    fn params(mode: Mode) -> DrawParams {
        DrawParams {
            kinds: FaultKind::ALL.to_vec(),
            mode,
            interval_ms: 10_000,
            start_ms: 2_000,
            end_ms: 120_000,
        }
    }

    #[test]
    fn same_seed_same_schedule_and_json_round_trip() {
        let a = draw(
            &mut ChaCha8Rng::seed_from_u64(7),
            &topo(),
            &params(Mode::Safety),
        );
        let b = draw(
            &mut ChaCha8Rng::seed_from_u64(7),
            &topo(),
            &params(Mode::Safety),
        );
        assert_eq!(a, b);
        let json = serde_json::to_string(&a).expect("serializes");
        let back: Schedule = serde_json::from_str(&json).expect("parses");
        assert_eq!(a, back);
        let c = draw(
            &mut ChaCha8Rng::seed_from_u64(8),
            &topo(),
            &params(Mode::Safety),
        );
        assert_ne!(a, c);
    }

    #[test]
    fn safety_mode_never_overlaps_faults() {
        for seed in 0..200 {
            let s = draw(
                &mut ChaCha8Rng::seed_from_u64(seed),
                &topo(),
                &params(Mode::Safety),
            );
            let mut active = 0;
            let mut last = 0;
            for e in &s.entries {
                assert!(e.at_ms >= last, "schedule is sorted");
                last = e.at_ms;
                if e.fault == Fault::Heal {
                    active = 0;
                } else {
                    active += 1;
                    assert!(active <= 1, "seed {seed}: two faults active at once: {s:?}");
                }
            }
            assert_eq!(s.entries.last().map(|e| &e.fault), Some(&Fault::Heal));
        }
    }

    #[test]
    fn nemesis_names_parse() {
        assert_eq!(
            FaultKind::parse_list("all").expect("parses").len(),
            FaultKind::ALL.len()
        );
        assert_eq!(
            FaultKind::parse_list("kill-storage, az-loss")
                .expect("parses")
                .len(),
            2
        );
        assert!(FaultKind::parse_list("bogus").is_err());
        assert!(FaultKind::help_text().contains("az-plus-one"));
    }
}

/// Hand-written schedules for scenarios a random draw rarely hits, as data.
#[path = "nemesis_scenarios.rs"]
pub mod scenarios;
