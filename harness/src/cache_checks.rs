//! The survivable buffer cache's checks (C25), from two vantage points the restarted
//! writer does not control:
//!
//! - **white-box against storage**: when a restarted writer adopts survived cache pages
//!   (`EventKind::CacheAdopted`), an observer on the event bus reads the storage disks at
//!   that moment and compares every adopted (key, LSN, value) with what storage holds at
//!   the recovered VDL — the newest intact record of the key at or below the VDL that no
//!   truncation range in force (on any segment of its PG) covers. Any difference is a
//!   stale (or never-durable) page the cache would serve;
//! - **storage's count of cache misses**: storage reports every page read it serves
//!   (`EventKind::PageRead`); the hit ratio of the first [`FIRST_READS`] client reads after
//!   a restart is `1 − page reads served to the writer / client reads` over the time those
//!   reads took. The client reads come from the history.
//!
//! Black-box, the workload's own checks (linearizability for registers) see every read.
//! Observers only: nothing here feeds back into the simulation.

use crate::checks::{figure, CheckResult};
use checkers::{History, OpType};
use reference::{Cluster, Event, EventKind, Lsn};
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;

/// Reads after a restart over which the hit ratio is measured.
pub const FIRST_READS: usize = 20;

/// One adoption of survived cache pages by a restarted writer.
#[derive(Debug, Clone, Default)]
pub struct Adoption {
    pub time_ms: u64,
    pub host: String,
    pub vdl: Lsn,
    pub pages_kept: u64,
    pub entries: u64,
    /// Pages dropped: above the recovered VDL, inside a truncation, written by another writer.
    pub dropped: (u64, u64, u64),
    /// Pages the region held when the writer opened (0: a first start, not a restart).
    pub survived: u64,
    /// Adopted entries that differ from storage at the recovered VDL.
    pub mismatches: u64,
    pub example: Option<String>,
}

/// What the observer saw over a run.
#[derive(Debug, Clone, Default)]
pub struct CacheAudit {
    pub adoptions: Vec<Adoption>,
    /// Page reads storage served: (time ms, reader host, fetch id).
    pub page_reads: Vec<(u64, String, u64)>,
}

/// Subscribes the observer to `cluster`'s event bus.
pub fn install(cluster: &Cluster) -> Rc<RefCell<CacheAudit>> {
    let audit = Rc::new(RefCell::new(CacheAudit::default()));
    let (a, c) = (audit.clone(), cluster.clone());
    cluster.subscribe(Box::new(move |e: &Event| {
        observe(&c, &mut a.borrow_mut(), e)
    }));
    audit
}

fn observe(cluster: &Cluster, audit: &mut CacheAudit, e: &Event) {
    match &e.kind {
        EventKind::PageRead { reader, id } => {
            audit.page_reads.push((e.time_ms, reader.clone(), *id));
        }
        EventKind::CacheAdopted {
            vdl,
            entries,
            pages_kept,
            dropped_above_vdl,
            dropped_truncated,
            dropped_foreign,
            dropped_other,
        } => {
            let mut a = Adoption {
                time_ms: e.time_ms,
                host: e.host.clone(),
                vdl: *vdl,
                pages_kept: *pages_kept,
                entries: entries.len() as u64,
                dropped: (*dropped_above_vdl, *dropped_truncated, *dropped_foreign),
                survived: pages_kept
                    + dropped_above_vdl
                    + dropped_truncated
                    + dropped_foreign
                    + dropped_other,
                ..Adoption::default()
            };
            for (key, lsn, value) in entries {
                let truth = storage_at(cluster, *key, *vdl);
                let same = truth.as_ref().map(|(l, v)| (*l, v)) == Some((*lsn, value));
                if !same {
                    a.mismatches += 1;
                    a.example.get_or_insert_with(|| {
                        format!(
                            "{} adopted key {key} = {value:?} at LSN {} after recovering to VDL {}, \
                             but storage holds {truth:?} there",
                            e.host, lsn.0, vdl.0
                        )
                    });
                }
            }
            audit.adoptions.push(a);
        }
        _ => {}
    }
}

/// The newest durable (lsn, value) of `key` at or below `vdl` over every storage disk.
fn storage_at(cluster: &Cluster, key: u64, vdl: Lsn) -> Option<(Lsn, reference::Datum)> {
    let pg = cluster.pg_of_key(key);
    let disks: Vec<_> = cluster
        .storage_hosts()
        .iter()
        .filter_map(|h| cluster.disk(h))
        .collect();
    let mut truncs = Vec::new();
    for d in &disks {
        if let Some(s) = d.borrow().segs.get(&pg) {
            truncs.extend(s.truncations.iter().copied());
        }
    }
    let out_of_force = |l: Lsn| {
        truncs.iter().any(|t| !t.keep && t.contains(l)) || reference::types::inactive(&truncs, l)
    };
    let mut best: Option<(Lsn, reference::Datum)> = None;
    for d in &disks {
        let d = d.borrow();
        let Some(s) = d.segs.get(&pg) else { continue };
        for r in s.records.range(..=vdl).rev() {
            let r = r.1;
            if r.key != key || !r.is_intact() || out_of_force(r.lsn) {
                continue;
            }
            if best.as_ref().is_none_or(|(l, _)| r.lsn > *l) {
                best = Some((r.lsn, r.value.clone()));
            }
            break;
        }
    }
    best
}

/// The check rows of a run with the survivable cache (none without it).
pub fn checks(audit: Option<&CacheAudit>) -> Vec<CheckResult> {
    let Some(a) = audit else { return vec![] };
    let mismatches: u64 = a.adoptions.iter().map(|x| x.mismatches).sum();
    let entries: u64 = a.adoptions.iter().map(|x| x.entries).sum();
    let summary = match a.adoptions.iter().find_map(|x| x.example.clone()) {
        Some(ex) => format!("{mismatches} of {entries} adopted entries stale; first: {ex}"),
        None => format!(
            "{} opens ({} restarts on a survived region) adopted {entries} entries, all equal to storage at the recovered VDL",
            a.adoptions.len(),
            a.adoptions.iter().filter(|x| x.survived > 0).count()
        ),
    };
    vec![figure(
        "survivable cache: adopted pages equal storage at the recovered VDL",
        &["C25"],
        mismatches as f64,
        0.0,
        "",
        false,
        mismatches == 0,
        summary,
    )]
}

/// Hit ratio over the first [`FIRST_READS`] ok client reads invoked after each restart
/// (an adoption with a non-empty region; storage's count of page reads served to the
/// writer in that time); the lowest over the restarts, NaN when there was none or too
/// few reads followed one.
pub fn hit_ratio_after_restart(a: &CacheAudit, h: &History) -> f64 {
    let reads = ok_reads(h);
    let mut worst = f64::INFINITY;
    for ad in a.adoptions.iter().filter(|x| x.survived > 0) {
        let t0 = ad.time_ms as i64 * 1_000_000;
        let after: Vec<&(i64, i64)> = reads.iter().filter(|(inv, _)| *inv >= t0).collect();
        if after.len() < FIRST_READS {
            return f64::NAN;
        }
        let end = after[..FIRST_READS]
            .iter()
            .map(|(_, c)| *c)
            .max()
            .unwrap_or(t0);
        let misses: BTreeSet<u64> = a
            .page_reads
            .iter()
            .filter(|(t, r, _)| *r == ad.host && (*t as i64) * 1_000_000 >= t0)
            .filter(|(t, _, _)| (*t as i64) * 1_000_000 <= end)
            .map(|(_, _, id)| *id)
            .collect();
        let ratio = (1.0 - misses.len() as f64 / FIRST_READS as f64).max(0.0);
        worst = worst.min(ratio);
    }
    if worst.is_finite() {
        worst
    } else {
        f64::NAN
    }
}

/// (invoke ns, complete ns) of every ok `read`, in invocation order.
fn ok_reads(h: &History) -> Vec<(i64, i64)> {
    let Ok(pairs) = h.pairs() else {
        return vec![];
    };
    let mut v: Vec<(i64, i64)> = pairs
        .iter()
        .filter_map(|p| {
            let inv = &h.ops[p.invoke];
            let c = &h.ops[p.complete?];
            (inv.f() == "read" && c.kind == OpType::Ok)
                .then(|| (inv.time.unwrap_or(0), c.time.unwrap_or(0)))
        })
        .collect();
    v.sort();
    v
}

/// Pages dropped at the adoptions: (above VDL, truncated, foreign), summed.
pub fn dropped(a: &CacheAudit) -> (u64, u64, u64) {
    a.adoptions.iter().fold((0, 0, 0), |s, x| {
        (s.0 + x.dropped.0, s.1 + x.dropped.1, s.2 + x.dropped.2)
    })
}

/// Adoptions per host (for tests and the README).
pub fn adoptions_by_host(a: &CacheAudit) -> BTreeMap<String, usize> {
    let mut m = BTreeMap::new();
    for x in &a.adoptions {
        *m.entry(x.host.clone()).or_insert(0) += 1;
    }
    m
}
