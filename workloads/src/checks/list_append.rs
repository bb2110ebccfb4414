//! list-append's checks: Elle on the writer's history and on every endpoint, at the models of the
//! [`Guarantee`] it is given (the reference's: strict serializability and serializability),
//! durability of acknowledged appends, and replica reads that are committed prefixes and monotonic
//! per replica.

use super::{Guarantee, HistoryCheck, Judgement, Scope};
use crate::recorder::on_primary;
use checkers::elle::{ElleOptions, ListAppendChecker};
use checkers::{Checker, History, Op, OpType, Value};
use std::collections::BTreeMap;

/// The table under guarantee `g`: Elle's rows ([`super::elle_rows`]: `g.writer` on the writer,
/// `g.with_readers` with the reader endpoint, the informational models), then durability and the
/// replica-read checks, which every guarantee shares.
pub fn checks(g: &Guarantee) -> Vec<HistoryCheck> {
    let mut rows = super::elle_rows(g, elle, &["C3", "C4", "C5", "C11"], &["C5", "C9"]);
    rows.extend([
        HistoryCheck {
            name: "acknowledged appends lost".into(),
            claims: &["C1", "C11"],
            scope: Scope::Full,
            informational: false,
            judge: Box::new(|_, h| durability(h)),
        },
        HistoryCheck {
            name: "replica reads are committed prefixes".into(),
            claims: &["C9"],
            scope: Scope::Full,
            informational: false,
            judge: Box::new(|_, h| replica_prefix(h)),
        },
        HistoryCheck {
            name: "replica reads are monotonic per replica".into(),
            claims: &["C9"],
            scope: Scope::Full,
            informational: false,
            judge: Box::new(|_, h| replica_monotonic(h)),
        },
    ]);
    rows
}

fn elle(model: &'static str, h: &History) -> checkers::Verdict {
    let o = ElleOptions {
        models: vec![model.into()],
        ..ElleOptions::default()
    };
    ListAppendChecker::new(o).check(h)
}

fn figure(n: usize, ok: bool, unit: &'static str, summary: String) -> Judgement {
    Judgement::Figure {
        value: n as f64,
        bound: 0.0,
        unit,
        ok,
        summary,
        lost_acked_ns: None,
    }
}

/// list-append micro-ops of an op's value: (is_append, key, element or read list).
pub fn mops(op: &Op) -> Vec<(bool, Value, Value)> {
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
pub fn final_lists(h: &History) -> BTreeMap<Value, Vec<Value>> {
    let mut finals = BTreeMap::new();
    for op in h
        .ops
        .iter()
        .filter(|o| o.kind == OpType::Ok && o.client().is_some_and(super::is_final_process))
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
fn durability(h: &History) -> Judgement {
    let finals = final_lists(h);
    let mut lost = Vec::new();
    let mut lost_at = Vec::new();
    let mut acked = 0u64;
    for op in h.ops.iter().filter(|o| o.kind == OpType::Ok) {
        for (is_append, k, v) in mops(op) {
            if is_append {
                acked += 1;
                let present = finals.get(&k).is_some_and(|l| l.contains(&v));
                if !present {
                    lost.push(format!("append {v} to key {k} (op {})", op.index));
                    lost_at.push(op.time.unwrap_or(0));
                }
            }
        }
    }
    let n = lost.len();
    let mut summary = if finals.is_empty() {
        "no final reads completed".to_string()
    } else {
        format!("{n} of {acked} acknowledged appends missing from the final reads")
    };
    if n > 0 {
        summary.push_str(&format!("; first: {}", lost[0]));
    }
    Judgement::Figure {
        value: n as f64,
        bound: 0.0,
        unit: "appends",
        ok: n == 0 && !finals.is_empty(),
        summary,
        lost_acked_ns: Some(lost_at),
    }
}

/// C9: every reader-endpoint read is a prefix of the key's final (committed) list.
fn replica_prefix(h: &History) -> Judgement {
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
    let mut summary =
        format!("{n} of {reads} reader-endpoint reads are not a prefix of the committed list");
    if n > 0 {
        summary.push_str(&format!("; first: {}", bad[0]));
    }
    figure(n, n == 0, "reads", summary)
}

/// C9, monotonic half: on each replica, a read invoked after another read on the same replica
/// completed must see at least what that read saw (every key's list extends the earlier one).
fn replica_monotonic(h: &History) -> Judgement {
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
                    let Some(b_list) = b_reads.get(k) else {
                        continue;
                    };
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
    let mut summary =
        format!("{n} of {compared} ordered read pairs on the same replica went back in time");
    if n > 0 {
        summary.push_str(&format!("; first: {}", bad[0]));
    }
    figure(n, n == 0, "reads", summary)
}
