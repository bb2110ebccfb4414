//! Hand-written schedules for scenarios a random draw rarely hits, as data.

use super::{Fault, HostRef, Schedule, Scheduled};

/// The writer and AZ 0's storage nodes are cut off from the other AZs' storage (so the writer can
/// reach only 2 of 6 segments per PG and gossip cannot carry records out), then AZ 0 is lost while
/// the control plane fails over, and everything heals at `heal_ms`. A correct writer acknowledges
/// nothing in the window and serves nothing above VDL; recovery on the other AZs truncates what
/// only AZ 0 had. Exposes `ack-before-quorum` and `read-above-vdl`.
pub fn isolated_writer_then_az_loss(heal_ms: u64) -> Schedule {
    let near = ["@writer", "s-az0-0", "s-az0-1"]
        .map(HostRef::named)
        .to_vec();
    let far = ["s-az1-0", "s-az1-1", "s-az2-0", "s-az2-1"]
        .map(HostRef::named)
        .to_vec();
    Schedule {
        entries: vec![
            Scheduled {
                at_ms: 4_000,
                fault: Fault::Partition { a: near, b: far },
            },
            Scheduled {
                at_ms: 8_000,
                fault: Fault::LoseAz { az: 0 },
            },
            Scheduled {
                at_ms: heal_ms,
                fault: Fault::Heal,
            },
        ],
    }
}

/// The writer and AZ 0's storage are cut off from the other AZs' storage (a correct writer
/// then acknowledges nothing: it reaches 3 segments of the 9, 2 of each PG's 6), then AZ 0's
/// storage and `s-az1-0` are destroyed for good: 3 of 6 segments per PG survive. Recovery must
/// work from the survivors while repair replaces the lost segments, and no acknowledged
/// append may be missing. Exposes `ack-before-quorum` (its acks live only in AZ 0).
pub fn isolated_writer_then_destroy_az_plus_one(heal_ms: u64) -> Schedule {
    let near = ["@writer", "s-az0-0", "s-az0-1", "s-az0-2"]
        .map(HostRef::named)
        .to_vec();
    let far = [
        "s-az1-0", "s-az1-1", "s-az1-2", "s-az2-0", "s-az2-1", "s-az2-2",
    ]
    .map(HostRef::named)
    .to_vec();
    Schedule {
        entries: vec![
            Scheduled {
                at_ms: 4_000,
                fault: Fault::Partition { a: near, b: far },
            },
            Scheduled {
                at_ms: 7_000,
                fault: Fault::DestroyAzPlusOne {
                    az: 0,
                    extra: "s-az1-0".into(),
                },
            },
            Scheduled {
                at_ms: heal_ms,
                fault: Fault::Heal,
            },
        ],
    }
}

/// The writer and AZ 0's storage are cut off from the other AZs' storage for 8 s, then
/// everything heals: a correct writer reaches 2 of each PG's 6 segments and acknowledges
/// nothing meanwhile. Exposes `ack-before-quorum` to storage's own accounting.
pub fn writer_reaches_a_minority(heal_ms: u64) -> Schedule {
    let near = ["@writer", "s-az0-0", "s-az0-1"]
        .map(HostRef::named)
        .to_vec();
    let far = ["s-az1-0", "s-az1-1", "s-az2-0", "s-az2-1"]
        .map(HostRef::named)
        .to_vec();
    Schedule {
        entries: vec![
            Scheduled {
                at_ms: 4_000,
                fault: Fault::Partition { a: near, b: far },
            },
            Scheduled {
                at_ms: heal_ms,
                fault: Fault::Heal,
            },
        ],
    }
}

/// Backtracks with a 15 s window: at 12 s back to 5 s with the writer crashed while it
/// rewinds (restarted at 14 s); at 20 s forward again into the first interval, to 9 s; at
/// 26 s a target before the window (2 s) and at 27 s one in the future (40 s), both to be
/// refused.
pub fn backtracks() -> Schedule {
    let at = |at_ms, fault| Scheduled { at_ms, fault };
    Schedule {
        entries: vec![
            at(12_000, Fault::Backtrack { to_ms: 5_000 }),
            at(
                12_010,
                Fault::Kill {
                    host: HostRef::named("@writer"),
                },
            ),
            at(14_000, Fault::Heal),
            at(20_000, Fault::Backtrack { to_ms: 9_000 }),
            at(26_000, Fault::Backtrack { to_ms: 2_000 }),
            at(27_000, Fault::Backtrack { to_ms: 40_000 }),
        ],
    }
}

/// The backtracks of [`backtracks`] with more faults around them: a storage node killed
/// while the forward backtrack runs, and the writer partitioned from AZ 2 after it.
pub fn backtracks_under_faults() -> Schedule {
    let mut s = backtracks();
    let at = |at_ms, fault| Scheduled { at_ms, fault };
    s.entries.extend([
        at(
            19_990,
            Fault::Kill {
                host: HostRef::named("s-az1-0"),
            },
        ),
        at(21_500, Fault::Heal),
        at(
            22_000,
            Fault::Partition {
                a: vec![HostRef::named("@writer")],
                b: vec![HostRef::named("s-az2-0"), HostRef::named("s-az2-1")],
            },
        ),
        at(25_000, Fault::Heal),
    ]);
    s.entries.sort_by_key(|e| e.at_ms);
    s
}

/// Clones: at 6 s a clone is taken with the source's writer crashed 20 ms later
/// (restarted at 8 s); at 12 s a second clone. Workers run on each clone from its
/// creation.
pub fn clones() -> Schedule {
    let at = |at_ms, fault| Scheduled { at_ms, fault };
    Schedule {
        entries: vec![
            at(6_000, Fault::Clone),
            at(
                6_020,
                Fault::Kill {
                    host: HostRef::named("@writer"),
                },
            ),
            at(8_000, Fault::Heal),
            at(12_000, Fault::Clone),
        ],
    }
}

/// The clones of [`clones`] with more faults around them: the clone's writer killed and
/// a storage node partitioned from the source's writer after the first clone, the
/// source failing over after the second.
pub fn clones_under_faults() -> Schedule {
    let mut s = clones();
    let at = |at_ms, fault| Scheduled { at_ms, fault };
    s.entries.extend([
        at(
            9_000,
            Fault::Kill {
                host: HostRef::named(HostRef::CLONE_WRITER),
            },
        ),
        at(
            9_500,
            Fault::Partition {
                a: vec![HostRef::named("@writer")],
                b: vec![HostRef::named("s-az1-0"), HostRef::named("s-az1-1")],
            },
        ),
        at(11_000, Fault::Heal),
        at(14_000, Fault::Failover),
        at(
            15_000,
            Fault::Kill {
                host: HostRef::named("s-az2-0"),
            },
        ),
        at(17_000, Fault::Heal),
    ]);
    s.entries.sort_by_key(|e| e.at_ms);
    s
}

/// The writer loses power at 5 s and stays down until `heal_ms`, late in the run: only a
/// failover restores writes in time.
pub fn writer_power_loss(heal_ms: u64) -> Schedule {
    Schedule {
        entries: vec![
            Scheduled {
                at_ms: 5_000,
                fault: Fault::PowerLoss {
                    host: HostRef::writer(),
                },
            },
            Scheduled {
                at_ms: heal_ms,
                fault: Fault::Heal,
            },
        ],
    }
}

/// The writer freezes long enough for the control plane to fail over, then resumes as a zombie
/// with requests still queued. Exposes `no-epoch-fencing`.
pub fn zombie_writer(heal_ms: u64) -> Schedule {
    Schedule {
        entries: vec![
            Scheduled {
                at_ms: 4_000,
                fault: Fault::Pause {
                    host: HostRef::writer(),
                },
            },
            Scheduled {
                at_ms: heal_ms,
                fault: Fault::Heal,
            },
        ],
    }
}
