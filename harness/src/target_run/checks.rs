//! Checks of a run against a real engine, as [`CheckResult`]s (the simulation's type).
//!
//! Each engine × isolation level has a *documented guarantee* (the model its manual claims for one
//! primary): PostgreSQL read committed → `read-committed`, repeatable read → `snapshot-isolation`,
//! serializable → `serializable`; MariaDB read committed → `read-committed`, repeatable read →
//! `repeatable-read`, serializable → `serializable`. Elle checks the writer's history against that
//! model (a failure is a violation) and, for information only (`advisory`), against
//! `strict-serializable`, so the anomalies a weaker level allows are still named. Bank totals are
//! advisory at read committed (read skew and lost updates are allowed there). Durability (acknowledged writes present
//! after the final heal), register linearizability and liveness are never advisory. RTO, RPO and
//! replica lag are measured figures (advisory).

use crate::checks::{validity_word, CheckResult};
use checkers::bank::{BankChecker, BankOptions};
use checkers::elle::{ElleOptions, ListAppendChecker, RwRegisterChecker};
use checkers::linear::{FailSemantics, LinearChecker, LinearOptions, ModelKind};
use checkers::{Checker, History, Op, OpType, Validity, Value, Verdict};
use std::collections::BTreeMap;
use targets::faults::Fault;
use targets::runner::{RunOutput, FINAL_PROCESS};
use targets::{Engine, Isolation};
use workloads::recorder::on_primary;
use workloads::WorkloadConfig;

/// The model the engine's documentation claims at `iso` on a single primary.
pub fn documented_model(engine: Engine, iso: Isolation) -> &'static str {
    match (engine, iso) {
        (_, Isolation::ReadCommitted) => "read-committed",
        (Engine::Postgres, Isolation::RepeatableRead) => "snapshot-isolation",
        (Engine::Mysql, Isolation::RepeatableRead) => "repeatable-read",
        (_, Isolation::Serializable) => "serializable",
    }
}

fn verdict_result(name: &str, advisory: bool, v: Verdict) -> CheckResult {
    let summary = if v.valid == Validity::Valid {
        "valid".to_string()
    } else {
        format!("{}: {}", validity_word(v.valid), v.anomaly_types.join(", "))
    };
    CheckResult {
        name: name.into(),
        claims: Vec::new(),
        valid: v.valid,
        advisory,
        summary,
        figure: None,
        bound: None,
        unit: None,
        verdict: Some(v),
    }
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

/// The client ops (optionally the writer's only): the same selection the simulated runs use.
fn client_ops(h: &History, primary_only: bool) -> History {
    workloads::checks::sub_history(h, primary_only)
}

fn elle(kind: &str, model: &str, h: &History) -> Verdict {
    let mut o = ElleOptions::default();
    o.models = vec![model.into()];
    if kind == "rw-register" {
        RwRegisterChecker::new(o).check(h)
    } else {
        ListAppendChecker::new(o).check(h)
    }
}

/// Every check of one target run.
pub fn run_checks(
    workload: &str,
    wcfg: &WorkloadConfig,
    engine: Engine,
    iso: Isolation,
    out: &RunOutput,
) -> Vec<CheckResult> {
    let h = &out.history;
    let writer = client_ops(h, true);
    let all = client_ops(h, false);
    let mut r = Vec::new();
    match workload {
        "bank" => {
            let n = wcfg.keys.max(2) as i64;
            let opts = BankOptions {
                accounts: Some((0..n).map(Value::Int).collect()),
                total: Some(wcfg.bank_initial_balance * n),
                negative_balances: false,
            };
            let rc = iso == Isolation::ReadCommitted;
            r.push(verdict_result(
                "bank totals (writer)",
                rc,
                BankChecker::new(opts.clone()).check(&writer),
            ));
            r.push(verdict_result(
                "bank totals (incl. reader endpoint)",
                rc,
                BankChecker::new(opts).check(&all),
            ));
        }
        "register" => {
            let opts = LinearOptions {
                model: ModelKind::CasRegister,
                initial_value: Value::Nil,
                independent: true,
                nil_read_wildcard: false,
                fail_semantics: FailSemantics::Drop,
                // The deterministic work budget bounds the search, not the wall clock.
                time_limit: None,
            };
            r.push(verdict_result(
                "linearizable (writer)",
                false,
                LinearChecker::new(opts).check(&writer),
            ));
        }
        kind => {
            let model = documented_model(engine, iso);
            r.push(verdict_result(
                &format!("elle {model} (writer; documented)"),
                false,
                elle(kind, model, &writer),
            ));
            r.push(verdict_result(
                "elle strict-serializable (writer; informational)",
                true,
                elle(kind, "strict-serializable", &writer),
            ));
            r.push(verdict_result(
                &format!("elle {model} (incl. reader endpoint)"),
                false,
                elle(kind, model, &all),
            ));
            if kind == "list-append" {
                r.extend(durability_list_append(h, out));
            }
        }
    }
    r.push(figure(
        "liveness",
        if out.converged { 1.0 } else { 0.0 },
        1.0,
        "converged",
        false,
        out.converged,
        if out.converged {
            "final reads completed after the heal".into()
        } else {
            "final reads did not complete before the deadline".into()
        },
    ));
    if let Some(c) = rto(out) {
        r.push(c);
    }
    if let Some(c) = lag(out) {
        r.push(c);
    }
    r
}

fn mops(op: &Op) -> Vec<(bool, Value, Value)> {
    op.value
        .as_vec()
        .map(|v| {
            v.iter()
                .filter_map(|m| {
                    let m = m.as_vec()?;
                    Some((
                        m.first()?.as_name()? == "append",
                        m.get(1)?.clone(),
                        m.get(2)?.clone(),
                    ))
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Acknowledged appends missing from the final reads, and the RPO they imply: for each lost append,
/// the time from its acknowledgement to the next writer kill; the figure is the maximum (0 if none).
fn durability_list_append(h: &History, out: &RunOutput) -> Vec<CheckResult> {
    let mut finals: BTreeMap<Value, Vec<Value>> = BTreeMap::new();
    for op in h
        .ops
        .iter()
        .filter(|o| o.kind == OpType::Ok && o.client().is_some_and(|p| p >= FINAL_PROCESS))
    {
        for (is_append, k, v) in mops(op) {
            if !is_append {
                finals.insert(k, v.as_vec().map(|x| x.to_vec()).unwrap_or_default());
            }
        }
    }
    let kills: Vec<i64> = out
        .applied
        .iter()
        .filter(|(_, f, _)| writer_fault(f))
        .map(|(t, _, _)| *t as i64 * 1_000_000)
        .collect();
    let (mut acked, mut lost, mut rpo_ns, mut first) = (0u64, 0u64, 0i64, None);
    for op in h
        .ops
        .iter()
        .filter(|o| o.kind == OpType::Ok && o.client().is_some_and(|p| p < FINAL_PROCESS))
    {
        for (is_append, k, v) in mops(op) {
            if !is_append {
                continue;
            }
            acked += 1;
            if finals.get(&k).is_some_and(|l| l.contains(&v)) {
                continue;
            }
            lost += 1;
            first.get_or_insert_with(|| format!("append {v} to key {k} (op {})", op.index));
            let t = op.time.unwrap_or(0);
            if let Some(kill) = kills.iter().find(|&&kt| kt >= t) {
                rpo_ns = rpo_ns.max(kill - t);
            }
        }
    }
    let mut summary = if finals.is_empty() {
        "no final reads completed".to_string()
    } else {
        format!(
            "{lost} of {acked} acknowledged appends missing from the final reads; RPO {:.3} s",
            rpo_ns as f64 / 1e9
        )
    };
    if let Some(f) = first {
        summary.push_str(&format!("; first: {f}"));
    }
    let rpo_s = rpo_ns as f64 / 1e9;
    vec![
        figure(
            "acknowledged appends lost",
            lost as f64,
            0.0,
            "appends",
            false,
            lost == 0 && !finals.is_empty(),
            summary,
        ),
        figure(
            "RPO (ack of a lost append to the writer fault)",
            rpo_s,
            0.0,
            "s",
            true,
            lost == 0,
            format!("{lost} lost appends; RPO {rpo_s:.3} s"),
        ),
    ]
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
fn rto(out: &RunOutput) -> Option<CheckResult> {
    let h = &out.history;
    let pairs = h.pairs().ok()?;
    let mut rtos = Vec::new();
    for (t, f, _) in out.applied.iter().filter(|(_, f, _)| writer_fault(f)) {
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

fn lag(out: &RunOutput) -> Option<CheckResult> {
    let healthy = |t: u64| {
        !out.fault_windows
            .iter()
            .any(|(a, b)| t >= *a && t < b + 5_000)
    };
    let mut l: Vec<f64> = out
        .lag_samples
        .iter()
        .filter(|(t, _)| healthy(*t))
        .map(|(_, v)| *v)
        .collect();
    let all_max = out.lag_samples.iter().map(|s| s.1).fold(0.0, f64::max);
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
