//! Checks of a global-database run (issue 11, claims C17-C20), from an independent vantage
//! point: what each secondary region's storage hosts acknowledged (`GlobalStored`, a region is
//! durable at the SCL 2 of its 3 hosts reached) against when the primary knew each commit
//! durable (`GlobalPrimaryDurable`) and when commits were acknowledged (`CommitAcked` on the
//! primary cluster, `GlobalCommitAcked` on a promoted region) — never the agent's own belief.
//!
//! - RPO lag of secondary `s` at `t` (AuroraGlobalDBRPOLag): age of the oldest commit durable
//!   on the primary that `s`'s storage does not hold yet (0 when caught up). Replication lag
//!   (AuroraGlobalDBReplicationLag): for the newest commit `s` holds, the time from durable on
//!   the primary to durable on `s`.
//! - C17: every commit the old primary acknowledged before a switchover is at or below the
//!   promoted point. C18: a failover promotes at a commit boundary of the old primary's log, and
//!   every acknowledged commit it lost became durable within the last lag window before the
//!   failure (the RPO, in seconds). C19: with managed RPO R, no commit is acknowledged while
//!   every secondary lags more than R, and a failover loses at most R. C20: failure to the first
//!   successful write through the global writer endpoint. Secondary reads begin at or below
//!   their region's durable point; a region that stopped being primary acknowledges nothing.
//! - Scenarios that never exercise a claim yield NaN figures (never a vacuous pass).

use crate::checks::{figure, CheckResult};
use crate::config::RunConfig;
use crate::nemesis::Fault;
use crate::sim::SimOutput;

use reference::{EventKind, Lsn};
use std::collections::BTreeMap;

pub use crate::global_history::{history_for_checks, rto_ms};

/// How often the lag series is sampled (ms).
pub const SAMPLE_MS: u64 = 100;

/// A role change as the coordinator completed it, with the promoted point.
#[derive(Debug, Clone)]
pub struct Change {
    pub kind: String,
    pub from: String,
    pub to: String,
    pub at_ms: u64,
    pub point: Option<Lsn>,
    /// The failure it answers: the last region fault on `from` before it (or the request).
    pub failure_ms: u64,
}

/// The global run's timeline, rebuilt from events.
#[derive(Debug, Default)]
pub struct GlobalView {
    /// region -> [(t, durable)] (non-decreasing in t).
    pub durable: BTreeMap<String, Vec<(u64, Lsn)>>,
    /// primary region -> its commits (CPL LSN, t durable on it), in LSN order.
    pub cpls: BTreeMap<String, Vec<(Lsn, u64)>>,
    /// region -> acknowledged commits (t, LSN).
    pub acks: BTreeMap<String, Vec<(u64, Lsn)>>,
    pub changes: Vec<Change>,
    pub reads: Vec<(u64, String, Lsn)>,
    pub rpo_blocks: u64,
    pub regions: Vec<String>,
    /// Fenced old primaries that rejoined as secondaries: (t, region).
    pub rejoins: Vec<(u64, String)>,
}

fn region_of(host: &str) -> String {
    match host.split_once('-') {
        Some((r, _)) if r.starts_with('r') && r[1..].chars().all(|c| c.is_ascii_digit()) => {
            r.to_string()
        }
        _ => "r0".into(),
    }
}

impl GlobalView {
    pub fn build(out: &SimOutput) -> Option<GlobalView> {
        if out.global_events.is_empty() {
            return None;
        }
        let mut v = GlobalView::default();
        let mut hosts: BTreeMap<String, BTreeMap<String, Lsn>> = BTreeMap::new();
        let mut promoted: BTreeMap<(String, u64), Lsn> = BTreeMap::new();
        for e in &out.global_events {
            let t = e.time_ms;
            match &e.kind {
                EventKind::GlobalStored { region, scl } => {
                    let h = hosts.entry(region.clone()).or_default();
                    h.insert(e.host.clone(), *scl);
                    let mut s: Vec<Lsn> = h.values().copied().collect();
                    s.sort();
                    s.reverse();
                    let q = s.get(1).copied().unwrap_or_default();
                    let d = v.durable.entry(region.clone()).or_default();
                    if d.last().map(|x| x.1) != Some(q) {
                        d.push((t, q));
                    }
                }
                EventKind::GlobalPrimaryDurable { lsn } => {
                    v.cpls
                        .entry(region_of(&e.host))
                        .or_default()
                        .push((*lsn, t));
                }
                EventKind::CommitAcked { lsn, .. } => {
                    v.acks.entry("r0".into()).or_default().push((t, *lsn));
                }
                EventKind::GlobalCommitAcked { region, lsn } => {
                    v.acks.entry(region.clone()).or_default().push((t, *lsn));
                }
                EventKind::GlobalRead { region, at } => v.reads.push((t, region.clone(), *at)),
                EventKind::GlobalRpoBlocked { .. } => v.rpo_blocks += 1,
                EventKind::GlobalRejoined { region, .. } => v.rejoins.push((t, region.clone())),
                EventKind::GlobalPromoted { region, gepoch, at } => {
                    promoted.entry((region.clone(), *gepoch)).or_insert(*at);
                }
                EventKind::GlobalRoleChanged {
                    kind,
                    from,
                    to,
                    gepoch,
                } => v.changes.push(Change {
                    kind: kind.clone(),
                    from: from.clone(),
                    to: to.clone(),
                    at_ms: t,
                    point: Some(Lsn(*gepoch)),
                    failure_ms: t,
                }),
                _ => {}
            }
        }
        for c in v.cpls.values_mut() {
            c.sort();
            c.dedup_by_key(|x| x.0);
        }
        for c in v.changes.iter_mut() {
            let gepoch = c.point.map(|l| l.0).unwrap_or(0);
            c.point = promoted.get(&(c.to.clone(), gepoch)).copied();
            let mut failure = None;
            let mut requested = None;
            for (t, f, _) in out.applied.iter().filter(|(t, _, _)| *t <= c.at_ms) {
                match f {
                    Fault::LoseRegion { region, .. } | Fault::PartitionRegion { region }
                        if *region == c.from =>
                    {
                        failure = Some(*t)
                    }
                    Fault::GlobalFailover { .. } | Fault::GlobalSwitchover { .. } => {
                        requested = Some(*t)
                    }
                    _ => {}
                }
            }
            c.failure_ms = failure.or(requested).unwrap_or(c.at_ms);
        }
        let n = out
            .global_events
            .iter()
            .filter_map(|e| match &e.kind {
                EventKind::GlobalStored { region, .. } => Some(region.clone()),
                _ => None,
            })
            .collect::<std::collections::BTreeSet<_>>();
        v.regions = std::iter::once("r0".to_string()).chain(n).collect();
        v.regions.dedup();
        Some(v)
    }

    /// The commit boundaries of `region`'s log as it stood when it stopped being primary at
    /// `until`: its own commits, and below its promoted point those of the log it was promoted
    /// from (a region promoted from a promoted region inherits that region's chain).
    pub fn log_cpls(&self, region: &str, until: u64) -> Vec<Lsn> {
        let mut out: Vec<Lsn> = self
            .cpls
            .get(region)
            .into_iter()
            .flatten()
            .map(|x| x.0)
            .collect();
        if let Some(c) = self
            .changes
            .iter()
            .rev()
            .find(|c| c.to == region && c.at_ms <= until)
        {
            if let Some(q) = c.point {
                out.extend(
                    self.log_cpls(&c.from, c.at_ms)
                        .into_iter()
                        .filter(|l| *l <= q),
                );
                out.push(q);
            }
        }
        out.sort();
        out.dedup();
        out
    }

    pub fn durable_at(&self, region: &str, t: u64) -> Lsn {
        self.durable
            .get(region)
            .and_then(|d| d.iter().rev().find(|x| x.0 <= t))
            .map(|x| x.1)
            .unwrap_or_default()
    }

    /// The primary region at `t`, and the regions that had stopped being primary by then.
    pub fn roles_at(&self, t: u64) -> (String, Vec<String>) {
        let mut p = "r0".to_string();
        let mut old: Vec<(String, u64)> = vec![];
        for c in self.changes.iter().filter(|c| c.at_ms <= t) {
            old.push((c.from.clone(), c.at_ms));
            p = c.to.clone();
        }
        // A fenced old primary that rejoined (after it was failed away from) is a secondary.
        old.retain(|(r, at)| {
            *r != p
                && !self
                    .rejoins
                    .iter()
                    .any(|(rt, rr)| rr == r && *rt >= *at && *rt <= t)
        });
        let mut old: Vec<String> = old.into_iter().map(|x| x.0).collect();
        old.dedup();
        (p, old)
    }

    /// The secondaries at `t` (neither primary nor a fenced old primary).
    pub fn secondaries_at(&self, t: u64) -> Vec<String> {
        let (p, old) = self.roles_at(t);
        self.regions
            .iter()
            .filter(|r| **r != p && !old.contains(r))
            .cloned()
            .collect()
    }

    /// AuroraGlobalDBRPOLag of `s` at `t` (ms).
    pub fn rpo_lag(&self, s: &str, t: u64) -> u64 {
        let (p, _) = self.roles_at(t);
        let d = self.durable_at(s, t);
        let Some(c) = self.cpls.get(&p) else { return 0 };
        let i = c.partition_point(|x| x.0 <= d);
        match c[i..].iter().find(|x| x.1 <= t) {
            Some((_, at)) => t - at,
            None => 0,
        }
    }

    /// AuroraGlobalDBReplicationLag of `s` at `t` (ms).
    pub fn replication_lag(&self, s: &str, t: u64) -> Option<u64> {
        let (p, _) = self.roles_at(t);
        let d = self.durable_at(s, t);
        let c = self.cpls.get(&p)?;
        let i = c.partition_point(|x| x.0 <= d);
        let (lsn, at_p) = *c[..i].last()?;
        let at_s = self
            .durable
            .get(s)?
            .iter()
            .find(|x| x.1 >= lsn)
            .map(|x| x.0)?;
        Some(at_s.saturating_sub(at_p))
    }

    /// Samples every [`SAMPLE_MS`]: (t, region, replication lag ms, RPO lag ms).
    pub fn series(&self, end_ms: u64) -> Vec<(u64, String, u64, u64)> {
        let mut v = vec![];
        let mut t = 0;
        while t <= end_ms {
            for s in self.secondaries_at(t) {
                if let Some(r) = self.replication_lag(&s, t) {
                    v.push((t, s.clone(), r, self.rpo_lag(&s, t)));
                }
            }
            t += SAMPLE_MS;
        }
        v
    }
}

/// The run's lag series for the replication-lag plot, per secondary in region order:
/// `(t, replication lag, RPO lag)` in ms every [`SAMPLE_MS`] while the region is a secondary.
pub fn lag_series(out: &SimOutput) -> Vec<report::LagSeries> {
    let Some(v) = GlobalView::build(out) else {
        return vec![];
    };
    let mut by: BTreeMap<String, Vec<(f64, f64, f64)>> = BTreeMap::new();
    for (t, r, repl, rpo) in v.series(out.sim_ms) {
        by.entry(r)
            .or_default()
            .push((t as f64, repl as f64, rpo as f64));
    }
    by.into_iter()
        .map(|(region, points)| report::LagSeries { region, points })
        .collect()
}

fn count_figure(
    name: &str,
    claims: &[&str],
    bad: &[String],
    what: &str,
    ok_summary: String,
) -> CheckResult {
    figure(
        name,
        claims,
        bad.len() as f64,
        0.0,
        "violations",
        false,
        bad.is_empty(),
        if bad.is_empty() {
            ok_summary
        } else {
            format!("{} {what}; first: {}", bad.len(), bad[0])
        },
    )
}

/// Every global check of a run (none for a one-region run).
pub fn checks(cfg: &RunConfig, out: &SimOutput) -> Vec<CheckResult> {
    let Some(v) = GlobalView::build(out) else {
        return vec![];
    };
    let mut r = vec![];
    // Secondary reads at or below the region's durable point.
    let bad: Vec<String> = v
        .reads
        .iter()
        .filter(|(t, region, _)| v.secondaries_at(*t).contains(region))
        .filter(|(t, region, at)| *at > v.durable_at(region, *t))
        .map(|(t, region, at)| {
            format!(
                "{region} read at LSN {at} at {t} ms, durable {}",
                v.durable_at(region, *t)
            )
        })
        .collect();
    r.push(count_figure(
        "secondary reads at or below the region's durable point",
        &["C18"],
        &bad,
        "reads above the durable point",
        format!(
            "{} secondary transactions began at or below their region's durable point",
            v.reads.len()
        ),
    ));
    // No acknowledgement from a region after it stopped being primary (fencing).
    let mut split = vec![];
    for c in &v.changes {
        for (t, lsn) in v.acks.get(&c.from).into_iter().flatten() {
            if *t > c.at_ms && v.roles_at(*t).0 != c.from {
                split.push(format!(
                    "{} acknowledged LSN {lsn} at {t} ms after the {} at {} ms",
                    c.from, c.kind, c.at_ms
                ));
            }
        }
    }
    if !v.changes.is_empty() {
        r.push(count_figure(
            "old primary fenced (no write acknowledged after the role change)",
            &["C17", "C18"],
            &split,
            "split-brain acknowledgements",
            format!(
                "{} role change(s); no acknowledgement from a former primary afterwards",
                v.changes.len()
            ),
        ));
    }
    for c in &v.changes {
        let acked: Vec<(u64, Lsn)> = v
            .acks
            .get(&c.from)
            .into_iter()
            .flatten()
            .filter(|(t, _)| *t <= c.at_ms)
            .copied()
            .collect();
        let Some(p) = c.point else {
            r.push(figure(
                &format!("{} promoted", c.kind),
                &["C17", "C18"],
                f64::NAN,
                0.0,
                "",
                false,
                false,
                format!(
                    "{} to {} at {} ms: the promoted region never reported its point",
                    c.kind, c.to, c.at_ms
                ),
            ));
            continue;
        };
        let lost: Vec<(u64, Lsn)> = acked.iter().filter(|(_, l)| *l > p).copied().collect();
        if c.kind == "switchover" {
            let bad: Vec<String> = lost
                .iter()
                .map(|(t, l)| {
                    format!("LSN {l} acknowledged at {t} ms, above the promoted point {p}")
                })
                .collect();
            r.push(count_figure(
                "switchover loses no acknowledged commit",
                &["C17"],
                &bad,
                "acknowledged commits lost",
                format!("{} commits acknowledged before the switchover at {} ms, all at or below the promoted point {p}", acked.len(), c.at_ms),
            ));
        } else {
            r.extend(failover_checks(cfg, &v, c, p, &acked, &lost));
        }
    }
    if let Some(rpo) = cfg.cluster.global.as_ref().and_then(|g| g.rpo_ms) {
        r.push(managed_rpo(&v, rpo));
    }
    r.extend(crate::global_feed_checks::feed_gap_check(&v, out));
    r.extend(crate::global_feed_checks::rejoin_check(&v, out));
    r.push(lag_p99(&v, out));
    r
}

/// C18 (and C19's loss bound): promoted at a commit boundary; losses within the lag window.
fn failover_checks(
    cfg: &RunConfig,
    v: &GlobalView,
    c: &Change,
    p: Lsn,
    acked: &[(u64, Lsn)],
    lost: &[(u64, Lsn)],
) -> Vec<CheckResult> {
    let cpls = v.cpls.get(&c.from).cloned().unwrap_or_default();
    let boundary = p == Lsn::ZERO || v.log_cpls(&c.from, c.at_ms).binary_search(&p).is_ok();
    let window_ms = v.rpo_lag(&c.to, c.failure_ms);
    let durable_t = |l: Lsn| cpls.iter().find(|x| x.0 == l).map(|x| x.1);
    let outside: Vec<String> = lost
        .iter()
        .filter(|(_, l)| durable_t(*l).is_none_or(|t| t + window_ms < c.failure_ms))
        .map(|(t, l)| format!("LSN {l} acknowledged at {t} ms was durable before the last lag window ({window_ms} ms before the failure at {} ms)", c.failure_ms))
        .collect();
    let mut bad = outside.clone();
    if !boundary {
        bad.insert(
            0,
            format!(
                "promoted point {p} is not a commit boundary of {}'s log",
                c.from
            ),
        );
    }
    let exercised = window_ms > 0 || !lost.is_empty();
    let rpo_s = if exercised {
        window_ms as f64 / 1e3
    } else {
        f64::NAN
    };
    let mut out = vec![figure(
        "failover: consistent prefix, losses only from the last lag window",
        &["C18"],
        rpo_s,
        1.0,
        "s",
        false,
        bad.is_empty(),
        if !exercised {
            format!(
                "failover to {} at {} ms with nothing in flight: the lag window was not exercised",
                c.to, c.at_ms
            )
        } else if bad.is_empty() {
            format!(
                "failover to {} at {} ms (failure at {} ms): promoted at commit {p}; {} of {} acknowledged commits lost, all from the last {window_ms} ms lag window (measured RPO {:.3} s)",
                c.to, c.at_ms, c.failure_ms, lost.len(), acked.len(), rpo_s
            )
        } else {
            format!("{} violations; first: {}", bad.len(), bad[0])
        },
    )];
    if let Some(rpo) = cfg.cluster.global.as_ref().and_then(|g| g.rpo_ms) {
        out.push(figure(
            "failover under managed RPO loses at most R",
            &["C19"],
            window_ms as f64 / 1e3,
            rpo as f64 / 1e3,
            "s",
            false,
            window_ms <= rpo,
            format!("lag window at the failure {window_ms} ms, R = {rpo} ms"),
        ));
    }
    out
}

/// C19: no acknowledgement while every secondary lags more than R; the bound must bind.
fn managed_rpo(v: &GlobalView, rpo: u64) -> CheckResult {
    let mut bad = vec![];
    let mut n = 0;
    for (region, acks) in &v.acks {
        for (t, lsn) in acks {
            if v.roles_at(*t).0 != *region {
                continue;
            }
            n += 1;
            let lags: Vec<u64> = v
                .secondaries_at(*t)
                .iter()
                .map(|s| v.rpo_lag(s, *t))
                .collect();
            if !lags.is_empty() && lags.iter().all(|l| *l > rpo) {
                bad.push(format!("LSN {lsn} acknowledged at {t} ms while every secondary lagged more than {rpo} ms ({lags:?})"));
            }
        }
    }
    // The bound binds when every secondary lags more than R at some moment (measured, not
    // the agent's word that it held commits).
    let end = v.acks.values().flatten().map(|x| x.0).max().unwrap_or(0);
    let bound = (0..=end / SAMPLE_MS).any(|i| {
        let t = i * SAMPLE_MS;
        let s = v.secondaries_at(t);
        !s.is_empty() && s.iter().all(|r| v.rpo_lag(r, t) > rpo)
    });
    figure(
        "managed RPO: no commit acknowledged while every secondary lags more than R",
        &["C19"],
        if bound { bad.len() as f64 } else { f64::NAN },
        0.0,
        "violations",
        false,
        bound && bad.is_empty(),
        if !bound {
            format!("R = {rpo} ms never bound (no secondary lagged more than R): the claim was not exercised")
        } else if bad.is_empty() {
            format!("{n} acknowledgements checked against every secondary's measured RPO lag; every secondary lagged more than R for a while, and the primary held commits {} time(s)", v.rpo_blocks)
        } else {
            format!(
                "{} acknowledgements beyond R = {rpo} ms; first: {}",
                bad.len(),
                bad[0]
            )
        },
    )
}

/// Replication lag p99 over healthy samples (no fault active, nor within 5 s after a heal).
fn lag_p99(v: &GlobalView, out: &SimOutput) -> CheckResult {
    let faulty = |t: u64| {
        out.fault_windows
            .iter()
            .any(|(s, e)| t + 500 >= *s && t <= e + 5_000)
            || v.changes
                .iter()
                .any(|c| t + 500 >= c.failure_ms && t <= c.at_ms + 2_000)
    };
    let mut lags: Vec<u64> = v
        .series(out.sim_ms)
        .into_iter()
        .filter(|(t, _, _, _)| !faulty(*t))
        .map(|x| x.2)
        .collect();
    lags.sort();
    let p99 = lags
        .get(((lags.len() as f64 * 0.99).ceil() as usize).saturating_sub(1))
        .map(|x| *x as f64)
        .unwrap_or(f64::NAN);
    figure(
        "replication lag p99 in healthy periods",
        &["C18"],
        p99,
        1000.0,
        "ms",
        true,
        p99 < 1000.0,
        format!(
            "{} healthy samples (every {SAMPLE_MS} ms per secondary): p99 {p99} ms, max {} ms",
            lags.len(),
            lags.last().copied().unwrap_or(0)
        ),
    )
}
