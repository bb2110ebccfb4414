//! The checks of one run, as a tree of verdicts (like Jepsen's `results.edn`): the workload's checker,
//! replica reads, durability of acknowledged writes, the reference's white-box invariants, liveness,
//! and two measured figures (replica lag, failover RTO).
//!
//! Contract: a check is `advisory` when it measures a performance figure against a stated bound (lag,
//! RTO); advisory checks are reported but never change a run's outcome. Every other check that is
//! invalid makes the run a correctness violation.

use crate::config::RunConfig;
use crate::nemesis::Fault;
use crate::outcome::Outcome;
use crate::sim::SimOutput;
use checkers::bank::{BankChecker, BankOptions};
use checkers::elle::{ElleOptions, ListAppendChecker};
use checkers::linear::{FailSemantics, LinearChecker, LinearOptions, ModelKind};
use checkers::{Checker, History, Op, OpType, Process, Validity, Value, Verdict};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use workloads::recorder::on_primary;
use workloads::WorkloadKind;

/// Process ids at or above this are the final reader's.
pub const FINAL_PROCESS: i64 = 1_000_000;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckResult {
    pub name: String,
    /// The claim(s) of AURORA.md this check speaks to, e.g. `["C1", "C11"]`.
    pub claims: Vec<String>,
    #[serde(with = "validity_json")]
    pub valid: Validity,
    pub advisory: bool,
    /// One line for tables.
    pub summary: String,
    /// The measured figure, when the check has one.
    pub figure: Option<f64>,
    pub bound: Option<f64>,
    pub unit: Option<String>,
    /// The checker's verdict, when a checker ran.
    pub verdict: Option<Verdict>,
}

mod validity_json {
    use checkers::Validity;
    use serde::{Deserialize, Deserializer, Serializer};
    pub fn serialize<S: Serializer>(v: &Validity, s: S) -> Result<S::Ok, S::Error> {
        serde::Serialize::serialize(&v.to_json(), s)
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Validity, D::Error> {
        let j = serde_json::Value::deserialize(d)?;
        Ok(match j {
            serde_json::Value::Bool(true) => Validity::Valid,
            serde_json::Value::Bool(false) => Validity::Invalid,
            _ => Validity::Unknown,
        })
    }
}

fn from_verdict(name: &str, claims: &[&str], v: Verdict) -> CheckResult {
    let summary = if v.valid == Validity::Valid {
        "valid".to_string()
    } else {
        format!("{}: {}", validity_word(v.valid), v.anomaly_types.join(", "))
    };
    CheckResult {
        name: name.into(),
        claims: claims.iter().map(|c| c.to_string()).collect(),
        valid: v.valid,
        advisory: false,
        summary,
        figure: None,
        bound: None,
        unit: None,
        verdict: Some(v),
    }
}

pub fn validity_word(v: Validity) -> &'static str {
    match v {
        Validity::Valid => "valid",
        Validity::Invalid => "invalid",
        Validity::Unknown => "unknown",
    }
}

fn figure(
    name: &str,
    claims: &[&str],
    value: f64,
    bound: f64,
    unit: &str,
    advisory: bool,
    ok: bool,
    summary: String,
) -> CheckResult {
    CheckResult {
        name: name.into(),
        claims: claims.iter().map(|c| c.to_string()).collect(),
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

/// Client ops only, optionally only those sent to the cluster (writer) endpoint.
fn sub_history(h: &History, primary_only: bool) -> History {
    let ops = h
        .ops
        .iter()
        .filter(|o| matches!(o.process, Some(Process::Client(_))))
        .filter(|o| !primary_only || on_primary(o))
        .cloned()
        .collect();
    let mut out = History::new(ops);
    out.reindex();
    out
}

/// Runs every check on a finished simulation.
pub fn run_checks(cfg: &RunConfig, out: &SimOutput) -> Vec<CheckResult> {
    let h = &out.history;
    let mut results = Vec::new();
    match cfg.workload.kind {
        WorkloadKind::Bank => {
            let accounts = (0..cfg.workload.keys.max(2) as i64)
                .map(Value::Int)
                .collect();
            let total = cfg.workload.bank_initial_balance * cfg.workload.keys.max(2) as i64;
            let opts = BankOptions {
                accounts: Some(accounts),
                total: Some(total),
                negative_balances: false,
            };
            let v = BankChecker::new(opts.clone()).check(&sub_history(h, true));
            results.push(from_verdict("bank (writer)", &["C3", "C5", "C11"], v));
            let v = BankChecker::new(opts).check(&sub_history(h, false));
            results.push(from_verdict(
                "bank (incl. reader endpoint)",
                &["C5", "C9"],
                v,
            ));
        }
        WorkloadKind::Register => {
            let opts = LinearOptions {
                model: ModelKind::CasRegister,
                initial_value: Value::Nil,
                independent: true,
                nil_read_wildcard: false,
                fail_semantics: FailSemantics::Drop,
                time_limit: Some(std::time::Duration::from_secs(60)),
            };
            let v = LinearChecker::new(opts.clone()).check(&sub_history(h, true));
            results.push(from_verdict(
                "linearizable (cluster endpoint)",
                &["C3", "C4", "C11"],
                v,
            ));
            let v = LinearChecker::new(opts).check(&stale_reads_history(h));
            results.push(from_verdict(
                "reader reads stale but consistent",
                &["C9"],
                v,
            ));
        }
        WorkloadKind::ListAppend => {
            let mut o = ElleOptions::default();
            o.models = vec!["strict-serializable".into()];
            let v = ListAppendChecker::new(o).check(&sub_history(h, true));
            results.push(from_verdict(
                "elle strict-serializable (writer)",
                &["C3", "C4", "C5", "C11"],
                v,
            ));
            let mut o = ElleOptions::default();
            o.models = vec!["serializable".into()];
            let v = ListAppendChecker::new(o).check(&sub_history(h, false));
            results.push(from_verdict(
                "elle serializable (incl. reader endpoint)",
                &["C5", "C9"],
                v,
            ));
            results.push(durability_list_append(h));
            results.push(replica_prefix_list_append(h));
            results.push(replica_monotonic_list_append(h));
        }
    }
    results.push(invariants(out));
    results.push(liveness(out));
    if let Some(r) = failover_rto(cfg, out) {
        results.push(r);
    }
    if let Some(r) = replica_lag(out) {
        results.push(r);
    }
    results
}

/// The run's outcome from its checks.
pub fn outcome(out: &SimOutput, checks: &[CheckResult]) -> Outcome {
    if out.sim_error.is_some() {
        return Outcome::HarnessCrash;
    }
    let mut o = Outcome::Pass;
    for c in checks.iter().filter(|c| !c.advisory) {
        o = o.merge(match (c.name.as_str(), c.valid) {
            ("liveness", Validity::Invalid) => Outcome::Liveness,
            (_, v) => Outcome::from(v),
        });
    }
    o
}

/// Reader-endpoint reads checked as "stale but consistent": each may linearize at any point before
/// it completed, so its invocation moves to the start of the history (under a fresh process id).
fn stale_reads_history(h: &History) -> History {
    let client = sub_history(h, false);
    let pairs = match client.pairs() {
        Ok(p) => p,
        Err(_) => return sub_history(h, true),
    };
    let mut moved = Vec::new();
    let mut skip = vec![false; client.ops.len()];
    let mut renamed: BTreeMap<usize, i64> = BTreeMap::new();
    let mut next = 2_000_000;
    for p in pairs {
        let inv = &client.ops[p.invoke];
        if on_primary(inv) {
            continue;
        }
        skip[p.invoke] = true;
        match p.complete {
            Some(c) if client.ops[c].kind == OpType::Ok => {
                let mut op = inv.clone();
                op.process = Some(Process::Client(next));
                op.time = Some(0);
                moved.push(op);
                renamed.insert(c, next);
                next += 1;
            }
            Some(c) => skip[c] = true,
            None => {}
        }
    }
    let mut ops: Vec<Op> = moved;
    for (i, op) in client.ops.iter().enumerate() {
        if skip[i] {
            continue;
        }
        let mut op = op.clone();
        if let Some(p) = renamed.get(&i) {
            op.process = Some(Process::Client(*p));
        }
        ops.push(op);
    }
    let mut out = History::new(ops);
    out.reindex();
    out
}

/// list-append micro-ops of an op's value: (is_append, key, element or read list).
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

/// The final read of each key (the last ok read by the final reader).
fn final_lists(h: &History) -> BTreeMap<Value, Vec<Value>> {
    let mut finals = BTreeMap::new();
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
    finals
}

/// C1/C11: every acknowledged append is present in the final read of its key.
fn durability_list_append(h: &History) -> CheckResult {
    let finals = final_lists(h);
    let mut lost = Vec::new();
    let mut acked = 0u64;
    for op in h.ops.iter().filter(|o| o.kind == OpType::Ok) {
        for (is_append, k, v) in mops(op) {
            if is_append {
                acked += 1;
                let present = finals.get(&k).is_some_and(|l| l.contains(&v));
                if !present {
                    lost.push(format!("append {v} to key {k} (op {})", op.index));
                }
            }
        }
    }
    let n = lost.len();
    let mut r = figure(
        "acknowledged appends lost",
        &["C1", "C11"],
        n as f64,
        0.0,
        "appends",
        false,
        n == 0 && !finals.is_empty(),
        if finals.is_empty() {
            "no final reads completed".into()
        } else {
            format!("{n} of {acked} acknowledged appends missing from the final reads")
        },
    );
    if n > 0 {
        r.summary.push_str(&format!("; first: {}", lost[0]));
    }
    r
}

/// C9: every reader-endpoint read is a prefix of the key's final (committed) list.
fn replica_prefix_list_append(h: &History) -> CheckResult {
    let finals = final_lists(h);
    let mut reads = 0u64;
    let mut bad = Vec::new();
    for op in h
        .ops
        .iter()
        .filter(|o| o.kind == OpType::Ok && !on_primary(o))
    {
        for (is_append, k, v) in mops(op) {
            if is_append {
                continue;
            }
            reads += 1;
            let read = v.as_vec().map(|x| x.to_vec()).unwrap_or_default();
            let fin = finals.get(&k).cloned().unwrap_or_default();
            if read.len() > fin.len() || fin[..read.len()] != read[..] {
                bad.push(format!(
                    "op {} read key {k} = {v}, final {}",
                    op.index,
                    Value::Vector(fin)
                ));
            }
        }
    }
    let n = bad.len();
    let mut r = figure(
        "replica reads are committed prefixes",
        &["C9"],
        n as f64,
        0.0,
        "reads",
        false,
        n == 0,
        format!("{n} of {reads} reader-endpoint reads are not a prefix of the committed list"),
    );
    if n > 0 {
        r.summary.push_str(&format!("; first: {}", bad[0]));
    }
    r
}

fn invariants(out: &SimOutput) -> CheckResult {
    let n = out.invariant_violations.len();
    let mut r = figure(
        "white-box invariants",
        &["C3", "C6", "C7"],
        n as f64,
        0.0,
        "violations",
        false,
        n == 0,
        if n == 0 {
            "no violation".into()
        } else {
            format!("{n} violations; first: {}", out.invariant_violations[0])
        },
    );
    r.claims = vec!["C3".into(), "C6".into(), "C7".into()];
    r
}

fn liveness(out: &SimOutput) -> CheckResult {
    figure(
        "liveness",
        &["C2"],
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
    )
}

/// Does this op write (an ok transfer, write, cas or append-bearing txn)?
fn is_write(op: &Op) -> bool {
    match op.f() {
        "transfer" | "write" | "cas" => true,
        "txn" => mops(op).iter().any(|(a, _, _)| *a),
        _ => false,
    }
}

/// C13: from each writer failure (crash, failover, AZ loss with the writer, pause) to the first
/// successful write invoked after it.
fn failover_rto(cfg: &RunConfig, out: &SimOutput) -> Option<CheckResult> {
    let mut rtos = Vec::new();
    let mut unrecovered = 0;
    let instances: Vec<String> = out.metrics["instances"]
        .as_object()
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default();
    for (t, f, hosts) in &out.applied {
        let writer_hit = match f {
            Fault::Failover => true,
            Fault::Kill { .. }
            | Fault::Pause { .. }
            | Fault::LoseAz { .. }
            | Fault::AzPlusOne { .. }
            | Fault::PowerLoss { .. } => hosts
                .iter()
                .any(|h| instances.contains(h) || h.starts_with("db-")),
            _ => false,
        };
        if !writer_hit {
            continue;
        }
        let t_ns = *t as i64 * 1_000_000;
        let h = &out.history;
        let pairs = h.pairs().unwrap_or_default();
        let first_ok = pairs
            .iter()
            .filter(|p| h.ops[p.invoke].time.unwrap_or(0) >= t_ns && on_primary(&h.ops[p.invoke]))
            .filter_map(|p| p.complete.map(|c| &h.ops[c]))
            .filter(|c| c.kind == OpType::Ok && is_write(c))
            .filter_map(|c| c.time)
            .min();
        // A failure never followed by a successful write counts as an RTO that lasted
        // at least until the run ended (beyond any bound once the run is long enough).
        match first_ok {
            Some(done) => rtos.push((done - t_ns) as f64 / 1e9),
            None => {
                unrecovered += 1;
                rtos.push((out.sim_ms.saturating_sub(*t)) as f64 / 1e3);
            }
        }
    }
    let _ = cfg;
    if rtos.is_empty() {
        return None;
    }
    let max = rtos.iter().cloned().fold(0.0, f64::max);
    Some(figure(
        "failover RTO (failure to first successful write)",
        &["C13"],
        max,
        30.0,
        "s",
        true,
        max <= 30.0,
        format!(
            "{} writer failures ({unrecovered} never followed by a successful write); max RTO {:.2} s (goal ≤ 30 s)",
            rtos.len(),
            max
        ),
    ))
}

/// C10: replica lag as Aurora defines it — a commit acknowledged on the writer until it is
/// visible on each replica — for commits acknowledged in healthy periods (no fault active, nor in
/// the 5 s after a heal). A commit a replica never showed counts with the lag it had reached when
/// the run ended, so a replica that stops applying fails the bound instead of reporting nothing.
fn replica_lag(out: &SimOutput) -> Option<CheckResult> {
    let healthy = |t: u64| {
        !out.fault_windows
            .iter()
            .any(|(a, b)| t + 5_000 >= *a && t < b + 5_000)
    };
    let lags: Vec<(f64, bool)> = out
        .white_box
        .lag
        .iter()
        .filter(|s| healthy(s.acked_ms) && s.acked_ms + 1_000 < out.sim_ms)
        .map(|s| (s.lag_ms as f64, s.visible))
        .collect();
    if lags.is_empty() {
        return None;
    }
    let never = lags.iter().filter(|(_, v)| !v).count();
    let mut sorted: Vec<f64> = lags.iter().map(|(l, _)| *l).collect();
    sorted.sort_by(|a, b| a.total_cmp(b));
    let max = *sorted.last().unwrap_or(&0.0);
    let p50 = sorted[sorted.len() / 2];
    let p99 = sorted[(sorted.len() * 99 / 100).min(sorted.len() - 1)];
    Some(figure(
        "replica lag in healthy periods",
        &["C10"],
        max,
        100.0,
        "ms",
        true,
        max <= 100.0,
        format!(
            "{} commit x replica samples (commit acknowledged → visible on the replica); p50 {p50:.1} ms, p99 {p99:.1} ms, max {max:.1} ms; {never} never visible (bound: much less than 100 ms; typical ≤ 20 ms)",
            lags.len()
        ),
    ))
}

/// C9, monotonic half: on each replica, a read invoked after another read on the same replica
/// completed must see at least what that read saw (every key's list extends the earlier one).
fn replica_monotonic_list_append(h: &History) -> CheckResult {
    let node_key = Value::Keyword("node".into());
    let pairs = h.pairs().unwrap_or_default();
    // (node, invoke time, complete time, reads)
    let mut reads: Vec<(String, i64, i64, BTreeMap<Value, Vec<Value>>, usize)> = Vec::new();
    for p in &pairs {
        let inv = &h.ops[p.invoke];
        let Some(c) = p.complete.map(|c| &h.ops[c]) else {
            continue;
        };
        if c.kind != OpType::Ok || on_primary(inv) {
            continue;
        }
        let Some(Value::Str(node)) = c.extra.get(&node_key) else {
            continue;
        };
        let mut m = BTreeMap::new();
        for (is_append, k, v) in mops(c) {
            if !is_append {
                m.insert(k, v.as_vec().map(|x| x.to_vec()).unwrap_or_default());
            }
        }
        reads.push((
            node.clone(),
            inv.time.unwrap_or(0),
            c.time.unwrap_or(0),
            m,
            c.index,
        ));
    }
    let mut bad = Vec::new();
    let mut compared = 0u64;
    let mut by_node: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, r) in reads.iter().enumerate() {
        by_node.entry(r.0.as_str()).or_default().push(i);
    }
    for idx in by_node.values() {
        // The latest-completed earlier read per key is enough: prefixes are transitive.
        let mut by_done: Vec<usize> = idx.clone();
        by_done.sort_by_key(|&i| reads[i].2);
        for &b in idx {
            let (_, b_inv, _, b_reads, b_op) = &reads[b];
            for &a in by_done.iter().take_while(|&&a| reads[a].2 < *b_inv) {
                let (node, _, _, a_reads, a_op) = &reads[a];
                for (k, a_list) in a_reads {
                    let Some(b_list) = b_reads.get(k) else { continue };
                    compared += 1;
                    if b_list.len() < a_list.len() || b_list[..a_list.len()] != a_list[..] {
                        bad.push(format!(
                            "on {node}, op {b_op} read key {k} = {} after op {a_op} had read {}",
                            Value::Vector(b_list.clone()),
                            Value::Vector(a_list.clone())
                        ));
                    }
                }
            }
        }
    }
    let n = bad.len();
    let mut r = figure(
        "replica reads are monotonic per replica",
        &["C9"],
        n as f64,
        0.0,
        "reads",
        false,
        n == 0,
        format!("{n} of {compared} ordered read pairs on the same replica went back in time"),
    );
    if n > 0 {
        r.summary.push_str(&format!("; first: {}", bad[0]));
    }
    r
}
