//! How each claim's figure is measured from a scenario's runs. A figure of a scenario that did not
//! exercise its claim is NaN, which never meets a bound.

use super::SeedRun;
use crate::nemesis::Fault;
use crate::sim::SimOutput;
use checkers::{OpType, Validity};
use report::{Comparison, Figure};

pub(super) fn fig(
    name: &str,
    value: f64,
    bound: f64,
    unit: &str,
    comparison: Comparison,
) -> Figure {
    Figure {
        name: name.into(),
        value,
        bound,
        unit: unit.into(),
        comparison,
    }
}

/// C14 (`forward` false): invalid workload checks (they run per lineage) plus the junction
/// check's violations; NaN unless every seed completed a backtrack and refused one outside the
/// window. C15 (`forward` true): the forward check's violations plus invalid workload checks;
/// NaN unless every seed moved forward again.
pub(super) fn backtrack_violations(runs: &[SeedRun], forward: bool) -> f64 {
    let name = if forward {
        "backtrack forward restores the later state"
    } else {
        "backtrack lands on the nearest commit point; out-of-window targets refused"
    };
    let mut total = 0.0;
    for r in runs {
        let (done, refused) = workloads::checks::timeline::rewinds(&r.out.history);
        let exercised = if forward {
            (0..done.len()).any(|i| done[i].forward(i))
        } else {
            !done.is_empty() && !refused.is_empty()
        };
        let Some(f) = r
            .report
            .checks
            .iter()
            .find(|c| c.name == name)
            .and_then(|c| c.figure)
        else {
            return f64::NAN;
        };
        if !exercised {
            return f64::NAN;
        }
        let anomalies = r
            .report
            .checks
            .iter()
            .filter(|c| !c.advisory && c.verdict.is_some() && c.valid != Validity::Valid)
            .count();
        total += f + anomalies as f64;
    }
    total
}

/// C16: the junction check's violations plus invalid workload checks (they run per side);
/// NaN unless every seed created a clone and ran ops on it.
pub(super) fn clone_violations(runs: &[SeedRun]) -> f64 {
    let mut total = 0.0;
    for r in runs {
        let (done, _) = workloads::checks::fork::forks(&r.out.history);
        let on_clone = r
            .out
            .history
            .ops
            .iter()
            .any(|o| o.kind == OpType::Ok && workloads::checks::fork::volume_of(o) != 0);
        let Some(f) = r
            .report
            .checks
            .iter()
            .find(|c| c.claims.iter().any(|x| x == "C16"))
            .and_then(|c| c.figure)
        else {
            return f64::NAN;
        };
        if done.is_empty() || !on_clone {
            return f64::NAN;
        }
        let anomalies = r
            .report
            .checks
            .iter()
            .filter(|c| !c.advisory && c.verdict.is_some() && c.valid != Validity::Valid)
            .count();
        total += f + anomalies as f64;
    }
    total
}

/// The largest figure of the named check over all seeds; NaN when no seed produced it.
pub(super) fn check_figure(runs: &[SeedRun], check: &str) -> f64 {
    runs.iter()
        .flat_map(|r| r.report.checks.iter())
        .filter(|c| c.name == check)
        .filter_map(|c| c.figure)
        .fold(f64::NAN, f64::max)
}

/// Acknowledged records left below quorum of a committed membership (storage's view) plus
/// acknowledged appends lost, or NaN when no segment replacement committed.
pub(super) fn lost_during_replacement(runs: &[SeedRun]) -> f64 {
    let commits: u64 = runs
        .iter()
        .map(|r| r.out.white_box.membership_commits)
        .sum();
    if commits == 0 {
        return f64::NAN;
    }
    let below: u64 = runs
        .iter()
        .map(|r| r.out.white_box.records_below_quorum_after_commit)
        .sum();
    below as f64 + check_figure(runs, "acknowledged appends lost")
}

/// Acknowledged appends lost, or NaN when no storage was destroyed.
pub(super) fn lost_after_destroy(runs: &[SeedRun]) -> f64 {
    let destroyed = runs.iter().any(|r| {
        r.out
            .applied
            .iter()
            .any(|(_, f, hit)| f.is_destructive() && !hit.is_empty())
    });
    if !destroyed {
        return f64::NAN;
    }
    check_figure(runs, "acknowledged appends lost")
}

/// Commits acknowledged while some record at or below them was on fewer than 4 segments, as the
/// storage nodes' own sync events show; NaN when no acknowledgement was checked.
pub(super) fn acks_below_quorum(runs: &[SeedRun]) -> f64 {
    let checked: u64 = runs.iter().map(|r| r.out.white_box.acks_checked).sum();
    if checked == 0 {
        return f64::NAN;
    }
    runs.iter()
        .map(|r| r.out.white_box.acks_below_quorum as f64)
        .sum()
}

/// White-box violations, or NaN when the writer never hit LAL back-pressure (the scenario then
/// did not exercise the LAL half of the claim).
pub(super) fn lal_gated_violations(runs: &[SeedRun]) -> f64 {
    let stalls: u64 = runs.iter().map(|r| r.out.white_box.lal_stalls).sum();
    let v = invariant_violations(runs);
    if stalls == 0 && v == 0.0 {
        return f64::NAN;
    }
    v
}

/// Committed transfers per second while an AZ was down, over the same per second in healthy
/// periods (no fault, and 5 s after a heal) of the same runs; NaN without both kinds of period.
pub(super) fn commit_rate_ratio_during_az_loss(runs: &[SeedRun]) -> f64 {
    let (mut down_n, mut down_ms, mut ok_n, mut ok_ms) = (0u64, 0f64, 0u64, 0f64);
    for r in runs {
        let windows = fault_windows(&r.out, |f| matches!(f, Fault::LoseAz { .. }));
        let end = (r.cfg.time_limit_s * 1000) as f64;
        let busy: Vec<(f64, f64)> = r
            .out
            .fault_windows
            .iter()
            .map(|(a, b)| (*a as f64, *b as f64 + 5_000.0))
            .collect();
        down_ms += windows.iter().map(|(a, b, _)| b.min(end) - a).sum::<f64>();
        // Healthy time: [2 s, end) minus fault windows (+5 s).
        let mut healthy = 0.0;
        let mut t = 2_000.0;
        while t < end {
            if !busy.iter().any(|(a, b)| t >= *a && t < *b) {
                healthy += 100.0;
            }
            t += 100.0;
        }
        ok_ms += healthy;
        for op in r
            .out
            .history
            .ops
            .iter()
            .filter(|o| o.kind == OpType::Ok && o.f() == "transfer")
        {
            let t = op.time.unwrap_or(0) as f64 / 1e6;
            if windows.iter().any(|(a, b, _)| t >= *a && t < *b) {
                down_n += 1;
            } else if t >= 2_000.0 && t < end && !busy.iter().any(|(a, b)| t >= *a && t < *b) {
                ok_n += 1;
            }
        }
    }
    if down_ms <= 0.0 || ok_ms <= 0.0 || ok_n == 0 {
        return f64::NAN;
    }
    (down_n as f64 / down_ms) / (ok_n as f64 / ok_ms)
}

/// Zombie writes accepted, or NaN when no stale-epoch write was even attempted.
pub(super) fn zombie_writes_accepted(runs: &[SeedRun]) -> f64 {
    if event_count(runs, "WriteRejectedStaleEpoch") + event_count(runs, "WriteAcceptedStaleEpoch")
        == 0.0
    {
        return f64::NAN;
    }
    event_count(runs, "WriteAcceptedStaleEpoch")
}

pub(super) fn sum_checks_anomalies(runs: &[SeedRun], prefix: &str) -> f64 {
    runs.iter()
        .flat_map(|r| r.report.checks.iter())
        .filter(|c| c.name.starts_with(prefix))
        .filter(|c| c.valid == Validity::Invalid)
        .map(|c| {
            c.verdict
                .as_ref()
                .map(|v| v.anomaly_types.len().max(1))
                .unwrap_or(1) as f64
        })
        .sum()
}

pub(super) fn event_count(runs: &[SeedRun], kind: &str) -> f64 {
    runs.iter()
        .map(|r| r.out.event_counts.get(kind).copied().unwrap_or(0) as f64)
        .sum()
}

pub(super) fn invariant_violations(runs: &[SeedRun]) -> f64 {
    runs.iter()
        .map(|r| r.out.invariant_violations.len() as f64)
        .sum()
}

/// Promotions that did not choose the best healthy candidate (lowest tier, then largest, then name).
pub(super) fn wrong_promotions(runs: &[SeedRun]) -> f64 {
    let mut wrong = 0;
    if runs.iter().all(|r| r.out.promotions.is_empty()) {
        return f64::NAN;
    }
    for r in runs {
        let specs = r.out.instance_specs.clone();
        let mut writer = specs
            .iter()
            .min_by_key(|s| (s.1, std::cmp::Reverse(s.2), s.0.clone()))
            .map(|s| s.0.clone());
        for (t, host, _) in &r.out.promotions {
            let down = down_hosts_at(&r.out, *t);
            let best = specs
                .iter()
                .filter(|s| Some(&s.0) != writer.as_ref() && !down.contains(&s.0))
                .min_by_key(|s| (s.1, std::cmp::Reverse(s.2), s.0.clone()))
                .map(|s| s.0.clone());
            if best.is_some() && best.as_ref() != Some(host) && Some(host) != writer.as_ref() {
                wrong += 1;
            }
            writer = Some(host.clone());
        }
    }
    wrong as f64
}

/// Hosts crashed, powered off or paused at sim time `t` (from the applied faults).
pub(super) fn down_hosts_at(out: &SimOutput, t: u64) -> Vec<String> {
    let mut down: Vec<String> = Vec::new();
    for (at, f, hosts) in out.applied.iter().filter(|(at, _, _)| *at <= t) {
        let _ = at;
        match f {
            Fault::Heal => down.clear(),
            Fault::Kill { .. }
            | Fault::PowerLoss { .. }
            | Fault::LoseAz { .. }
            | Fault::AzPlusOne { .. }
            | Fault::Pause { .. } => down.extend(hosts.iter().cloned()),
            _ => {}
        }
    }
    down
}

/// `[start, end)` windows (ms) of faults matching `pred`, ended by the next heal, with their names.
pub(super) fn fault_windows(
    out: &SimOutput,
    pred: impl Fn(&Fault) -> bool,
) -> Vec<(f64, f64, String)> {
    let mut windows = Vec::new();
    let mut open: Option<(f64, String)> = None;
    for (t, f, _) in &out.applied {
        if *f == Fault::Heal {
            if let Some((s, n)) = open.take() {
                windows.push((s, *t as f64, n));
            }
        } else if pred(f) && open.is_none() {
            open = Some((*t as f64, fault_label(f)));
        }
    }
    if let Some((s, n)) = open {
        windows.push((s, out.sim_ms as f64, n));
    }
    windows
}

pub(super) fn fault_label(f: &Fault) -> String {
    serde_json::to_value(f)
        .ok()
        .and_then(|v| v["fault"].as_str().map(str::to_string))
        .unwrap_or_default()
}
