//! Checks of a run against a real engine, as [`CheckResult`]s (the simulation's type).
//!
//! Two parts, neither keyed by the workload:
//! - the workload's own check table ([`targets::runner::Generator::checks`]), built from the
//!   engine's documented [`Guarantee`] at the run's isolation level ([`targets::guarantee`]): Elle
//!   rows at the documented models are violations when they fail, rows at stronger models are
//!   informational (advisory), bank totals are informational where the level allows read skew;
//! - the checks only a real run has, from real clocks and the faults as applied: liveness, RPO
//!   (derived from whatever durability row the table has), RTO and replica lag.
//!
//! Contract: a pure function of [`Facts`], so a stored run directory (history, applied faults,
//! lag samples) is rechecked to the same results ([`super::page`]'s `--recheck`). AURORA.md's
//! claim ids are the reference's, so target results carry none.

use crate::checks::{run_table, CheckResult};
use checkers::{History, Op, OpType, Validity, Value};
use targets::faults::Fault;
use targets::runner::{Generator, FINAL_PROCESS};
use workloads::checks::{Guarantee, Judgement};
use workloads::recorder::on_primary;
use workloads::WorkloadConfig;

/// What the target-only checks read: everything is stored in the run directory.
pub struct Facts<'a> {
    pub history: &'a History,
    /// Faults as applied: (ms since start, fault).
    pub applied: Vec<(u64, Fault)>,
    /// `[start, end)` windows (ms) during which a fault was active.
    pub fault_windows: &'a [(u64, u64)],
    /// (ms since start, max lag over replicas in ms); `None` when not recorded.
    pub lag_samples: Option<&'a [(u64, f64)]>,
    /// The final reads completed.
    pub converged: bool,
}

fn figure(
    name: &str,
    value: f64,
    bound: f64,
    unit: &str,
    advisory: bool,
    ok: bool,
    summary: String,
) -> CheckResult {
    CheckResult {
        name: name.into(),
        claims: Vec::new(),
        valid: if ok {
            Validity::Valid
        } else {
            Validity::Invalid
        },
        advisory,
        summary,
        figure: Some(value),
        bound: Some(bound),
        unit: Some(unit.into()),
        verdict: None,
    }
}

/// Every check of one target run: the workload's table under `g`, then the target-only checks.
pub fn run_checks(
    generator: &Generator,
    wcfg: &WorkloadConfig,
    g: &Guarantee,
    facts: &Facts,
) -> Vec<CheckResult> {
    let mut r = Vec::new();
    let mut lost_acked: Option<Vec<i64>> = None;
    for (j, mut c) in run_table(&generator.checks(g), wcfg, facts.history) {
        c.claims.clear();
        if let Judgement::Figure {
            lost_acked_ns: Some(l),
            ..
        } = j
        {
            lost_acked.get_or_insert_with(Vec::new).extend(l);
        }
        r.push(c);
    }
    if let Some(l) = lost_acked {
        r.push(rpo(&l, &facts.applied));
    }
    r.push(figure(
        "liveness",
        if facts.converged { 1.0 } else { 0.0 },
        1.0,
        "converged",
        false,
        facts.converged,
        if facts.converged {
            "final reads completed after the heal".into()
        } else {
            "final reads did not complete before the deadline".into()
        },
    ));
    r.extend(rto(facts));
    r.extend(facts.lag_samples.and_then(|s| lag(s, facts.fault_windows)));
    r
}

/// RPO: for each acknowledged write found lost, the time from its acknowledgement to the next
/// fault that hit the writer; the figure is the maximum (0 when nothing was lost).
fn rpo(lost_acked_ns: &[i64], applied: &[(u64, Fault)]) -> CheckResult {
    let kills: Vec<i64> = applied
        .iter()
        .filter(|(_, f)| writer_fault(f))
        .map(|(t, _)| *t as i64 * 1_000_000)
        .collect();
    let rpo_ns = lost_acked_ns
        .iter()
        .filter_map(|&t| kills.iter().find(|&&k| k >= t).map(|k| k - t))
        .max()
        .unwrap_or(0);
    let n = lost_acked_ns.len();
    let rpo_s = rpo_ns as f64 / 1e9;
    figure(
        "RPO (ack of a lost write to the writer fault)",
        rpo_s,
        0.0,
        "s",
        true,
        n == 0,
        format!("{n} lost acknowledged writes; RPO {rpo_s:.3} s"),
    )
}

fn writer_fault(f: &Fault) -> bool {
    match f {
        Fault::KillPromote | Fault::Command { .. } => true,
        Fault::Kill { host } | Fault::Pause { host } | Fault::Restart { host } => {
            host == targets::faults::WRITER
        }
        Fault::ReplicaLag { .. } | Fault::Heal => false,
    }
}

/// A write by its shape (the simulation's RTO uses the same rule): a transfer, write or cas, or a
/// transaction with an append or a write micro-op.
fn is_write(op: &Op) -> bool {
    match op.f() {
        "transfer" | "write" | "cas" => true,
        "txn" => op.value.as_vec().is_some_and(|v| {
            v.iter().any(|m| {
                m.as_vec()
                    .and_then(|m| m.first())
                    .and_then(Value::as_name)
                    .is_some_and(|n| n == "append" || n == "w")
            })
        }),
        _ => false,
    }
}

/// RTO: from each fault that hits the writer to the first successful write invoked after it.
fn rto(facts: &Facts) -> Option<CheckResult> {
    let h = facts.history;
    let pairs = h.pairs().ok()?;
    let mut rtos = Vec::new();
    for (t, f) in facts.applied.iter().filter(|(_, f)| writer_fault(f)) {
        let t_ns = *t as i64 * 1_000_000;
        let first_ok = pairs
            .iter()
            .filter(|p| h.ops[p.invoke].time.unwrap_or(0) >= t_ns && on_primary(&h.ops[p.invoke]))
            .filter(|p| h.ops[p.invoke].client().is_some_and(|c| c < FINAL_PROCESS))
            .filter_map(|p| p.complete.map(|c| &h.ops[c]))
            .filter(|c| c.kind == OpType::Ok && is_write(c))
            .filter_map(|c| c.time)
            .min();
        if let Some(done) = first_ok {
            rtos.push((f.name(), (done - t_ns) as f64 / 1e9));
        }
    }
    if rtos.is_empty() {
        return None;
    }
    let max = rtos.iter().map(|r| r.1).fold(0.0, f64::max);
    let list: Vec<String> = rtos.iter().map(|(n, s)| format!("{n} {s:.2} s")).collect();
    Some(figure(
        "RTO (writer fault to first successful write)",
        max,
        30.0,
        "s",
        true,
        max <= 30.0,
        format!("max {max:.2} s; {}", list.join(", ")),
    ))
}

/// Replica lag as the engine reports it, in healthy periods (no fault active, nor in the 5 s
/// after one ended).
fn lag(samples: &[(u64, f64)], windows: &[(u64, u64)]) -> Option<CheckResult> {
    let healthy = |t: u64| !windows.iter().any(|(a, b)| t >= *a && t < b + 5_000);
    let mut l: Vec<f64> = samples
        .iter()
        .filter(|(t, _)| healthy(*t))
        .map(|(_, v)| *v)
        .collect();
    let all_max = samples.iter().map(|s| s.1).fold(0.0, f64::max);
    if l.is_empty() {
        return None;
    }
    l.sort_by(|a, b| a.total_cmp(b));
    let (p50, max) = (l[l.len() / 2], l[l.len() - 1]);
    Some(figure(
        "replica lag in healthy periods",
        max,
        100.0,
        "ms",
        true,
        max <= 100.0,
        format!(
            "{} samples; p50 {p50:.1} ms, max {max:.1} ms; max under faults {all_max:.1} ms",
            l.len()
        ),
    ))
}
