//! Switchable known bugs, for proving that the harness catches them. Each changes
//! exactly the mechanism it names; none is on by default.

use serde::{Deserialize, Serialize};

#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Bug {
    /// The writer counts a record durable once one segment has it (not 4 of 6).
    AckBeforeQuorum,
    /// The writer serves reads of values written above VDL (not yet durable).
    ReadAboveVdl,
    /// Storage accepts writes carrying a stale volume epoch (no fencing).
    NoEpochFencing,
    /// Replicas apply an MTR's records one per millisecond, visible mid-MTR.
    ReplicaPartialMtr,
}

impl Bug {
    pub fn all() -> [Bug; 4] {
        [
            Bug::AckBeforeQuorum,
            Bug::ReadAboveVdl,
            Bug::NoEpochFencing,
            Bug::ReplicaPartialMtr,
        ]
    }
    pub fn name(self) -> &'static str {
        match self {
            Bug::AckBeforeQuorum => "ack-before-quorum",
            Bug::ReadAboveVdl => "read-above-vdl",
            Bug::NoEpochFencing => "no-epoch-fencing",
            Bug::ReplicaPartialMtr => "replica-partial-mtr",
        }
    }
    pub fn from_name(name: &str) -> Option<Bug> {
        Bug::all().into_iter().find(|b| b.name() == name)
    }
    pub fn description(self) -> &'static str {
        match self {
            Bug::AckBeforeQuorum => "writer treats a record as durable once 1 segment acks it, so commits are acknowledged before 4/6",
            Bug::ReadAboveVdl => "writer returns values whose LSN is above VDL, which a crash can still lose",
            Bug::NoEpochFencing => "storage accepts writes with a stale volume epoch, so a zombie writer is not fenced",
            Bug::ReplicaPartialMtr => "replicas apply an MTR record by record, so readers can see part of a transaction",
        }
    }
}

impl std::fmt::Display for Bug {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}
