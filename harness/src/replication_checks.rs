//! Storage's self-healing, checked from the durability ledger (storage's own sync events): by the
//! end of a run every live member segment of every PG holds every acknowledged record. A write
//! quorum (4 of 6) is what a commit needs; the other two copies are what lets the volume survive
//! the next AZ+1 failure (C1), and gossip between segments is the mechanism that restores them
//! after a partition, a crash or a replacement. Opt-in (`RunConfig::replication_check`, which the
//! swarm of `soak` and `hunt` turns on), so runs that do not ask for it are unchanged.
//!
//! Contract: a hole is a (record, member) pair where the record was acknowledged at least
//! [`SETTLE_MS`] before the run ended (so every host had been restarted by the final heal for at
//! least that long: the final reads start `convergence_s` after it), lies outside every truncation
//! range, and the member's disk was never destroyed, yet the member never synced it.
//!
//! Scrub (same opt-in): at the end of the run no member segment's disk holds a record whose
//! checksum fails. Corruption is injected only before the final heal, at least `convergence_s`
//! (10 s in the swarm) before the end; scrub verifies 256 records per PG every 500 ms and
//! repairs a bad one from a peer through gossip, so a 10 s run's records are all re-verified many
//! times over by then. Read straight from the storage disks (white-box), so it judges what is
//! stored, not what scrub reports about itself.
//!
//! Truncation (same opt-in; claim C4): every truncation range a recovery decided (its
//! `RecoveryDone`) at least [`SETTLE_MS`] before the end was adopted, per storage's own
//! `TruncationAdopted` events in the ledger, by at least a write quorum (4 distinct segments) of
//! every PG. Only then does every later read quorum (the next recovery's) see the range, and only
//! then are late records inside it discarded wherever they land (AURORA.md, "Recovery and
//! fencing"). A correct recovery opens the volume only after a write quorum of every PG has
//! acknowledged its commit, which carries the range, so this holds on every run of the correct
//! reference whatever the faults; it judges what storage recorded, not what the writer believes
//! it wrote.
//!
//! Truncated records (same opt-in; C4's consequence): at the end of the run no member segment's
//! disk holds a record written in an older volume epoch inside a destructive truncation range a
//! recovery decided. Such a record is one the recovery dropped (it lies above the VDL it chose),
//! still stored where a later recovery or a read can find it. The correct reference discards
//! records inside an adopted range, late ones included, and gossip carries the ranges to every
//! member, so by the end (the final heal is at least `convergence_s` before it) none is left.
//! Read straight from the disks, so it judges what storage holds. It fires only when a recovery
//! truncated records that some segment had (coverage goal `recovery-truncated-records`).

use crate::checks::{figure, CheckResult};
use crate::config::RunConfig;
use crate::sim::SimOutput;

/// Records acknowledged later than this before the end are not judged (gossip runs every 50 ms;
/// the final heal is at least `convergence_s` = 10 s before the end in the swarm).
pub const SETTLE_MS: u64 = 5_000;

/// The scrub check, when the run asked for it.
pub fn scrub_check(out: &SimOutput) -> Option<CheckResult> {
    let left = out.white_box.corrupt_left.as_ref()?;
    let n = left.len();
    Some(figure(
        "storage scrubbed (checksums)",
        &["C1"],
        n as f64,
        0.0,
        "records",
        false,
        n == 0,
        match left.first() {
            None => "no member segment holds a record failing its checksum at the end".into(),
            Some((host, pg, lsn)) => format!(
                "{n} records failing their checksum left on member segments at the end; first: {host} PG {pg} LSN {lsn}"
            ),
        },
    ))
}

/// The truncation check, when the run asked for it (`RunConfig::replication_check`).
pub fn truncation_check(cfg: &RunConfig, out: &SimOutput) -> Option<CheckResult> {
    if !cfg.replication_check {
        return None;
    }
    let w = &out.white_box;
    let n = w.truncations_unadopted;
    Some(figure(
        "storage adopted truncations (recovery)",
        &["C4"],
        n as f64,
        0.0,
        "(range, PG) pairs",
        false,
        n == 0,
        if n == 0 {
            format!(
                "{} truncation ranges decided by recoveries, each adopted by a write quorum of every PG",
                w.truncations_checked
            )
        } else {
            format!(
                "{n} (range, PG) pairs adopted by fewer than 4 segments among the {} ranges recoveries decided at least {} ms before the end",
                w.truncations_checked, SETTLE_MS
            )
        },
    ))
}

/// The truncated-records check, when the run asked for it.
pub fn truncated_left_check(out: &SimOutput) -> Option<CheckResult> {
    let left = out.white_box.truncated_left.as_ref()?;
    let n = left.len();
    Some(figure(
        "storage discarded truncated records (disks)",
        &["C4"],
        n as f64,
        0.0,
        "records",
        false,
        n == 0,
        match left.first() {
            None => "no member segment holds an older epoch's record inside a recovery's truncation range".into(),
            Some((host, pg, lsn)) => format!(
                "{n} records of an older epoch left inside a recovery's truncation range on member segments at the end; first: {host} PG {pg} LSN {lsn}"
            ),
        },
    ))
}

/// The check, when the run asked for it.
pub fn check(out: &SimOutput) -> Option<CheckResult> {
    let (checked, holes, first) = out.white_box.replication.clone()?;
    Some(figure(
        "storage re-replicated (gossip)",
        &["C1"],
        holes as f64,
        0.0,
        "holes",
        false,
        holes == 0,
        if holes == 0 {
            format!("{checked} acknowledged records held by every live member segment at the end")
        } else {
            format!(
                "{holes} (record, member) holes left at the end among {checked} acknowledged records; first: {}",
                first.unwrap_or_default()
            )
        },
    ))
}
