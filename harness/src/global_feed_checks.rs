//! Feed gaps of a global-database run (issue 11 (a)): a writer opened by an in-region
//! failover holds no redo below its recovered VDL, so a secondary that was behind that
//! point is a gap (`GlobalFeedGap`, the agent's word) that must be filled from the
//! primary's storage. Whether it closed is judged from the secondary's own storage: the
//! gap is closed once 2 of the region's 3 storage hosts acknowledged the gap's floor
//! (`GlobalStored`, the same durable series the lag figures use) — never from the agent's
//! belief that it filled it.
//!
//! A gap followed by a role change before it closed is superseded (the next primary feeds
//! the region from its own log) and not judged. The check appears only in runs with a
//! judged gap; a gap that never closes by the run's end is a violation.
//!
//! Rejoin (issue 11 (b)): a fenced old primary that rejoined as a secondary must catch up
//! — its storage (2 of 3 hosts) reaches the newest commit the primary had durable when it
//! rejoined — and every read its server began afterwards is at or below that storage's
//! durable point and never below an earlier read's point (monotonic). A server that kept
//! the diverged tail reads above what its storage holds after the branch truncation.

use crate::checks::{figure, CheckResult};
use crate::global_checks::GlobalView;
use crate::sim::SimOutput;
use reference::{EventKind, Lsn};

/// One gap as the agent reported it, and when the secondary's storage closed it.
#[derive(Debug, Clone)]
pub struct Gap {
    pub region: String,
    pub at_ms: u64,
    pub received: Lsn,
    pub floor: Lsn,
    pub closed_ms: Option<u64>,
}

/// Every gap that is judged (not superseded by a role change), in time order.
pub fn gaps(v: &GlobalView, out: &SimOutput) -> Vec<Gap> {
    let mut gs = vec![];
    for e in &out.global_events {
        let EventKind::GlobalFeedGap {
            target,
            received,
            base,
        } = &e.kind
        else {
            continue;
        };
        let region = target.split('-').next().unwrap_or_default().to_string();
        let t = e.time_ms;
        let closed_ms = if v.durable_at(&region, t) >= *base {
            Some(t)
        } else {
            v.durable
                .get(&region)
                .into_iter()
                .flatten()
                .find(|(at, l)| *at >= t && *l >= *base)
                .map(|(at, _)| *at)
        };
        let until = closed_ms.unwrap_or(out.sim_ms);
        if v.changes.iter().any(|c| c.at_ms >= t && c.at_ms <= until) {
            continue;
        }
        gs.push(Gap {
            region,
            at_ms: t,
            received: *received,
            floor: *base,
            closed_ms,
        });
    }
    gs
}

/// Every feed gap closes: the secondary's storage reaches the floor of the writer that
/// could not serve it from memory.
pub fn feed_gap_check(v: &GlobalView, out: &SimOutput) -> Option<CheckResult> {
    let gs = gaps(v, out);
    if gs.is_empty() {
        return None;
    }
    let open: Vec<&Gap> = gs.iter().filter(|g| g.closed_ms.is_none()).collect();
    let longest = gs
        .iter()
        .filter_map(|g| g.closed_ms.map(|c| c - g.at_ms))
        .max()
        .unwrap_or(0);
    let summary = match open.first() {
        Some(g) => format!(
            "{} of {} feed gaps never closed; first: {} held LSN {} when the agent's redo began above {} at {} ms, and its storage never reached {} (durable {} at the end)",
            open.len(),
            gs.len(),
            g.region,
            g.received,
            g.floor,
            g.at_ms,
            g.floor,
            v.durable_at(&g.region, out.sim_ms)
        ),
        None => format!(
            "{} feed gap(s) after an in-region writer failover, all closed from primary storage: each secondary's storage reached the new writer's floor (longest {longest} ms after the gap was seen)",
            gs.len()
        ),
    };
    Some(figure(
        "feed gaps close (a secondary behind a new writer is filled from primary storage)",
        &["C18"],
        open.len() as f64,
        0.0,
        "gaps",
        false,
        open.is_empty(),
        summary,
    ))
}

/// Every rejoined region catches up, and its reads after the rejoin are monotonic and at
/// or below its storage's durable point.
pub fn rejoin_check(v: &GlobalView, out: &SimOutput) -> Option<CheckResult> {
    if v.rejoins.is_empty() {
        return None;
    }
    let mut bad = vec![];
    let mut caught = vec![];
    let mut reads = 0;
    for (t, region) in &v.rejoins {
        let (p, _) = v.roles_at(*t);
        // The newest commit of the primary's log at the rejoin: its own, or its promoted
        // point (the commit boundary it inherited).
        let promoted = v
            .changes
            .iter()
            .rev()
            .filter(|c| c.to == p && c.at_ms <= *t)
            .find_map(|c| c.point)
            .unwrap_or_default();
        let target = v
            .cpls
            .get(&p)
            .into_iter()
            .flatten()
            .filter(|(_, at)| at <= t)
            .map(|(l, _)| *l)
            .max()
            .unwrap_or_default()
            .max(promoted);
        let done = v
            .durable
            .get(region)
            .into_iter()
            .flatten()
            .find(|(at, l)| at >= t && *l >= target)
            .map(|(at, _)| at - t);
        match done {
            Some(ms) => caught.push(format!("{region} in {ms} ms (to LSN {target} of {p})")),
            None => bad.push(format!(
                "{region} rejoined at {t} ms and its storage never reached {p}'s LSN {target} (durable {} at the end)",
                v.durable_at(region, out.sim_ms)
            )),
        }
        let end = v
            .changes
            .iter()
            .find(|c| c.at_ms > *t)
            .map(|c| c.at_ms)
            .unwrap_or(u64::MAX);
        let mut last = Lsn::ZERO;
        for (rt, rr, at) in v
            .reads
            .iter()
            .filter(|(rt, rr, _)| rr == region && rt >= t && *rt < end)
        {
            reads += 1;
            let d = v.durable_at(rr, *rt);
            if *at > d {
                bad.push(format!("{rr} read at LSN {at} at {rt} ms after rejoining, above its storage's durable point {d}"));
            }
            if *at < last {
                bad.push(format!(
                    "{rr} read at LSN {at} at {rt} ms after a read at {last} (not monotonic)"
                ));
            }
            last = last.max(*at);
        }
    }
    Some(figure(
        "a fenced old primary rejoins as a secondary and catches up",
        &["C18"],
        bad.len() as f64,
        0.0,
        "violations",
        false,
        bad.is_empty(),
        if bad.is_empty() {
            format!(
                "{} rejoin(s): caught up {}; {reads} reads after the rejoin, monotonic and at or below the region's durable point",
                v.rejoins.len(),
                caught.join(", ")
            )
        } else {
            format!("{} violations; first: {}", bad.len(), bad[0])
        },
    ))
}
