//! Faults on real processes, as data. The schedule has the simulation's shape
//! (`{"entries":[{"at_ms":…,"fault":{"fault":"kill-promote"}}, …]}`, a `"fault"` tag, hosts as
//! names or `@writer`), with the kinds that make sense for processes. Three kinds are the same
//! data in both: `heal`, `kill` and `pause` with a `host` (`@writer` is the current primary /
//! writer when applied), so a simulation schedule made of them runs against a real cluster and
//! the reverse; `kill-promote`, `restart`, `replica-lag` and `failover-command` exist only here,
//! partitions, AZ losses, disk faults and storage destruction only in the simulation (the harness
//! names the foreign kind when it rejects a schedule). The two enums stay apart because the
//! crates do: `targets` does not depend on the harness, whose enum lives next to the simulator.
//!
//! Like the simulation, faults start one at a time and each is undone by the `heal` that follows
//! it: a paused process is resumed, a killed one restarted, a replica's apply resumed, and a primary
//! that was killed and replaced by a promotion rejoins as a replica of the new primary.

use rand::Rng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// `@writer`: the current primary when the fault is applied; `@replica`: the first live replica.
pub const WRITER: &str = "@writer";
pub const REPLICA: &str = "@replica";

/// One fault (or its cure), serialized with a `"fault"` tag.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "fault", rename_all = "kebab-case")]
pub enum Fault {
    /// kill -9 of the primary's process group, then promotion of the most advanced replica
    /// (PostgreSQL: `pg_promote`; MariaDB: replica threads stopped, `read_only` off); clients move to
    /// the new primary. Without a live replica, the primary restarts and recovers instead.
    KillPromote,
    /// kill -9 of a host's process group; restarted (crash recovery) by the heal.
    Kill { host: String },
    /// SIGSTOP of a host's process group; SIGCONT at the heal.
    Pause { host: String },
    /// Clean restart of a host (fast shutdown, then start), applied at once.
    Restart { host: String },
    /// Pause a replica's apply (PostgreSQL `pg_wal_replay_pause()`, MariaDB `STOP SLAVE
    /// SQL_THREAD`), creating lag until the heal.
    ReplicaLag { host: String },
    /// Run a user command (`--failover-command`, e.g. `aws rds failover-db-cluster …`) with `sh -c`.
    #[serde(rename = "failover-command")]
    Command { command: String },
    /// Undo every active fault.
    Heal,
}

impl Fault {
    /// The history's `:f` for this fault.
    pub fn name(&self) -> &'static str {
        match self {
            Fault::KillPromote => "kill-promote",
            Fault::Kill { .. } => "kill",
            Fault::Pause { .. } => "pause",
            Fault::Restart { .. } => "restart",
            Fault::ReplicaLag { .. } => "replica-lag",
            Fault::Command { .. } => "failover-command",
            Fault::Heal => "heal",
        }
    }
}

/// A fault at a time since the start of the run (real milliseconds).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Scheduled {
    pub at_ms: u64,
    pub fault: Fault,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Schedule {
    pub entries: Vec<Scheduled>,
}

/// Fault kinds as named on the command line (`--nemesis kill-promote,pause`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FaultKind {
    KillPromote,
    KillPrimary,
    KillReplica,
    PausePrimary,
    PauseReplica,
    Restart,
    ReplicaLag,
    FailoverCommand,
}

impl FaultKind {
    pub const ALL: [FaultKind; 8] = [
        FaultKind::KillPromote,
        FaultKind::KillPrimary,
        FaultKind::KillReplica,
        FaultKind::PausePrimary,
        FaultKind::PauseReplica,
        FaultKind::Restart,
        FaultKind::ReplicaLag,
        FaultKind::FailoverCommand,
    ];
    /// The kinds that need a locally started cluster (everything but `failover-command`).
    pub const LOCAL: [FaultKind; 7] = [
        FaultKind::KillPromote,
        FaultKind::KillPrimary,
        FaultKind::KillReplica,
        FaultKind::PausePrimary,
        FaultKind::PauseReplica,
        FaultKind::Restart,
        FaultKind::ReplicaLag,
    ];

    pub fn name(self) -> &'static str {
        match self {
            FaultKind::KillPromote => "kill-promote",
            FaultKind::KillPrimary => "kill-primary",
            FaultKind::KillReplica => "kill-replica",
            FaultKind::PausePrimary => "pause-primary",
            FaultKind::PauseReplica => "pause-replica",
            FaultKind::Restart => "restart",
            FaultKind::ReplicaLag => "replica-lag",
            FaultKind::FailoverCommand => "failover-command",
        }
    }

    pub fn help(self) -> &'static str {
        match self {
            FaultKind::KillPromote => {
                "kill -9 the primary, promote the most advanced replica, move clients"
            }
            FaultKind::KillPrimary => "kill -9 the primary; it restarts and recovers at the heal",
            FaultKind::KillReplica => "kill -9 a replica; it restarts at the heal",
            FaultKind::PausePrimary => "SIGSTOP the primary; SIGCONT at the heal",
            FaultKind::PauseReplica => "SIGSTOP a replica; SIGCONT at the heal",
            FaultKind::Restart => "clean restart of the primary (fast shutdown, start)",
            FaultKind::ReplicaLag => "pause a replica's apply until the heal (lag)",
            FaultKind::FailoverCommand => "run --failover-command (DSN mode)",
        }
    }

    /// The simulation's names for the kinds that draw the same fault data: `pause-writer` draws
    /// `{"fault":"pause","host":"@writer"}` and `crash-writer` `{"fault":"kill","host":"@writer"}`
    /// there, as `pause-primary` and `kill-primary` do here.
    pub const SHARED_NAMES: [(&'static str, FaultKind); 2] = [
        ("pause-writer", FaultKind::PausePrimary),
        ("crash-writer", FaultKind::KillPrimary),
    ];

    /// Parses `none`, `all` (the local kinds) or a comma-separated list of names (or the
    /// simulation's [`FaultKind::SHARED_NAMES`]).
    pub fn parse_list(s: &str) -> Result<Vec<FaultKind>, String> {
        match s {
            "none" | "" => return Ok(Vec::new()),
            "all" => return Ok(Self::LOCAL.to_vec()),
            _ => {}
        }
        let mut out = Vec::new();
        for part in s.split(',') {
            let part = part.trim();
            let shared = Self::SHARED_NAMES.iter().find(|(n, _)| *n == part);
            let k = Self::ALL
                .into_iter()
                .find(|k| k.name() == part)
                .or(shared.map(|(_, k)| *k))
                .ok_or_else(|| {
                    format!(
                        "unknown fault kind `{part}` (known: {}, all, none)",
                        Self::ALL.map(|k| k.name()).join(", ")
                    )
                })?;
            if !out.contains(&k) {
                out.push(k);
            }
        }
        Ok(out)
    }

    pub fn help_text() -> String {
        let mut s = String::from("fault kinds on real processes (--nemesis LIST | all | none):\n");
        for k in Self::ALL {
            s.push_str(&format!("  {:<18} {}\n", k.name(), k.help()));
        }
        s.push_str("  (the simulation's pause-writer and crash-writer are accepted for pause-primary and kill-primary)\n");
        s
    }

    fn concrete(self, failover_command: Option<&str>) -> Fault {
        let host = |h: &str| h.to_string();
        match self {
            FaultKind::KillPromote => Fault::KillPromote,
            FaultKind::KillPrimary => Fault::Kill { host: host(WRITER) },
            FaultKind::KillReplica => Fault::Kill {
                host: host(REPLICA),
            },
            FaultKind::PausePrimary => Fault::Pause { host: host(WRITER) },
            FaultKind::PauseReplica => Fault::Pause {
                host: host(REPLICA),
            },
            FaultKind::Restart => Fault::Restart { host: host(WRITER) },
            FaultKind::ReplicaLag => Fault::ReplicaLag {
                host: host(REPLICA),
            },
            FaultKind::FailoverCommand => Fault::Command {
                command: failover_command.unwrap_or("true").to_string(),
            },
        }
    }
}

/// Draws a schedule from `rng`: the first fault at `start_ms`, then one fault every
/// `interval_ms` (±25%), each followed by a heal after half the interval, all before `end_ms`.
pub fn draw(
    rng: &mut ChaCha8Rng,
    kinds: &[FaultKind],
    start_ms: u64,
    interval_ms: u64,
    end_ms: u64,
    failover_command: Option<&str>,
) -> Schedule {
    let mut entries = Vec::new();
    if kinds.is_empty() {
        return Schedule { entries };
    }
    let mut t = start_ms;
    while t + interval_ms / 2 < end_ms {
        let k = kinds[rng.random_range(0..kinds.len())];
        entries.push(Scheduled {
            at_ms: t,
            fault: k.concrete(failover_command),
        });
        entries.push(Scheduled {
            at_ms: t + interval_ms / 2,
            fault: Fault::Heal,
        });
        let jitter = rng.random_range(0..=interval_ms / 2);
        t += interval_ms * 3 / 4 + jitter;
    }
    Schedule { entries }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn schedules_alternate_fault_and_heal_and_round_trip_as_json() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let s = draw(&mut rng, &FaultKind::LOCAL, 2_000, 4_000, 30_000, None);
        assert!(s.entries.len() >= 8, "{s:?}");
        for pair in s.entries.chunks(2) {
            assert_ne!(pair[0].fault, Fault::Heal);
            assert_eq!(pair[1].fault, Fault::Heal);
            assert!(pair[1].at_ms < 30_000);
        }
        let text = serde_json::to_string(&s).unwrap();
        assert!(
            text.contains(r#"{"fault":"kill-promote"}"#) || text.contains(r#""fault":"pause""#)
        );
        let back: Schedule = serde_json::from_str(&text).unwrap();
        assert_eq!(back, s);
        let again = draw(
            &mut ChaCha8Rng::seed_from_u64(7),
            &FaultKind::LOCAL,
            2_000,
            4_000,
            30_000,
            None,
        );
        assert_eq!(again, s, "same seed, same schedule");
    }

    #[test]
    fn parse_list_rejects_unknown_kinds() {
        assert_eq!(FaultKind::parse_list("none").unwrap(), vec![]);
        assert_eq!(FaultKind::parse_list("all").unwrap().len(), 7);
        assert_eq!(
            FaultKind::parse_list("pause-writer,crash-writer").unwrap(),
            vec![FaultKind::PausePrimary, FaultKind::KillPrimary]
        );
        assert!(FaultKind::parse_list("kill-promote,bogus")
            .unwrap_err()
            .contains("bogus"));
    }
}
