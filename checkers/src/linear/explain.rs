//! Failure explanations: data first (JSON), then prose rendered from it.
//!
//! For each partition that is not linearizable we report the op that cannot be placed (the first
//! whose completion the deepest search branch reached without linearizing it), the longest
//! linearizable prefix found (ops in linearization order), and the model states possible after that
//! prefix. Prose shows at most the last [`PROSE_PREFIX`] ops of the prefix.

use super::PartitionResult;
use crate::history::{History, Pair};
use crate::value::Value;
use crate::verdict::{Validity, Verdict};
use serde_json::json;

/// Ops of the prefix shown in prose.
const PROSE_PREFIX: usize = 8;
/// Most prefix ops (invocation indices, the latest ones) kept in the data; the rest are counted
/// in `prefix-omitted` so a 100k-op failure does not print 100k numbers.
const MAX_PREFIX_DATA: usize = 100;
/// Failing keys shown in prose.
const PROSE_KEYS: usize = 3;

/// What the search found for a failing partition, in history terms.
#[derive(Debug, Clone)]
pub(crate) struct FailureData {
    pub prefix: Vec<Pair>,
    pub blocked: Pair,
    pub states: Vec<Value>,
}

/// One op as data: the invocation, and the completion when there is one.
fn op_json(h: &History, p: Pair) -> serde_json::Value {
    let inv = &h.ops[p.invoke];
    let comp = p.complete.map(|c| &h.ops[c]);
    json!({
        "index": inv.index,
        "line": inv.line,
        "process": inv.process.as_ref().map(|p| p.to_string()),
        "f": inv.f(),
        "value": inv.value.to_string(),
        "type": p.outcome(h).name(),
        "completion-index": comp.map(|c| c.index),
        "completion-value": comp.map(|c| c.value.to_string()),
    })
}

/// ` 3` for a value, nothing for nil.
fn val(v: &Value) -> String {
    if v.is_nil() {
        String::new()
    } else {
        format!(" {v}")
    }
}

/// `process 3 :cas [1 2] -> :ok [1 2] (ops 12..15)`.
fn op_prose(h: &History, p: Pair) -> String {
    let inv = &h.ops[p.invoke];
    let proc_ = inv
        .process
        .as_ref()
        .map(|p| p.to_string())
        .unwrap_or_else(|| "?".into());
    match p.complete.map(|c| &h.ops[c]) {
        Some(c) => format!(
            "process {proc_} :{}{} -> :{}{} (ops {}..{})",
            inv.f(),
            val(&inv.value),
            c.kind.name(),
            val(&c.value),
            inv.index,
            c.index
        ),
        None => format!(
            "process {proc_} :{}{} -> never completed (op {})",
            inv.f(),
            val(&inv.value),
            inv.index
        ),
    }
}

fn failure_prose(h: &History, key: &Option<Value>, f: &FailureData) -> String {
    let mut s = String::new();
    if let Some(k) = key {
        s.push_str(&format!("Key {k}: "));
    }
    s.push_str(&format!("cannot linearize {}.\n", op_prose(h, f.blocked)));
    let n = f.prefix.len();
    s.push_str(&format!(
        "The longest linearizable prefix found has {n} op(s)"
    ));
    if n == 0 {
        s.push_str(".\n");
    } else {
        s.push_str(if n > PROSE_PREFIX {
            ", ending with:\n"
        } else {
            ":\n"
        });
        for p in &f.prefix[n.saturating_sub(PROSE_PREFIX)..] {
            s.push_str(&format!("  {}\n", op_prose(h, *p)));
        }
    }
    let states: Vec<String> = f.states.iter().map(Value::to_string).collect();
    s.push_str(&format!(
        "Linearizable prefixes of that length leave the model in {}: {}. From there no pending op, this one \
         included, can be linearized before this op completes, so no order of the ops explains the history.\n",
        if states.len() == 1 { "the state" } else { "one of the states" },
        states.join(", ")
    ));
    s
}

/// Merges partition results into one verdict.
/// Deterministic: no timings in the verdict, partitions in key order.
pub(crate) fn verdict(h: &History, results: &[PartitionResult]) -> Verdict {
    let mut v = Verdict::valid();
    let failing: Vec<&PartitionResult> = results.iter().filter(|r| r.failure.is_some()).collect();
    let timed_out: Vec<&PartitionResult> = results.iter().filter(|r| r.timed_out).collect();
    v.stats.insert("partitions".into(), json!(results.len()));
    v.stats.insert(
        "ops".into(),
        json!(results.iter().map(|r| r.ops).sum::<usize>()),
    );
    v.stats.insert(
        "configs-explored".into(),
        json!(results.iter().map(|r| r.configs).sum::<usize>()),
    );
    v.stats
        .insert("timed-out-partitions".into(), json!(timed_out.len()));
    v.stats.insert(
        "zone-decided-partitions".into(),
        json!(results.iter().filter(|r| r.zones).count()),
    );
    if !failing.is_empty() {
        v.valid = Validity::Invalid;
        v.anomaly_types = vec!["nonlinearizable".into()];
        v.not = vec!["linearizable".into()];
        let data: Vec<serde_json::Value> = failing
            .iter()
            .filter_map(|r| {
                let f = r.failure.as_ref()?;
                Some(json!({
                    "key": r.key.as_ref().map(Value::to_string),
                    "op": op_json(h, f.blocked),
                    "prefix-length": f.prefix.len(),
                    "prefix": f.prefix[f.prefix.len().saturating_sub(MAX_PREFIX_DATA)..].iter().map(|p| h.ops[p.invoke].index).collect::<Vec<_>>(),
                    "prefix-omitted": f.prefix.len().saturating_sub(MAX_PREFIX_DATA),
                    "last-ops": f.prefix[f.prefix.len().saturating_sub(PROSE_PREFIX)..].iter().map(|p| op_json(h, *p)).collect::<Vec<_>>(),
                    "states": f.states.iter().map(Value::to_string).collect::<Vec<_>>(),
                }))
            })
            .collect();
        v.anomalies.insert("nonlinearizable".into(), json!(data));
        let mut prose = String::new();
        if results.len() > 1 {
            prose.push_str(&format!(
                "{} of {} keys are not linearizable.\n",
                failing.len(),
                results.len()
            ));
        }
        for r in failing.iter().take(PROSE_KEYS) {
            if let Some(f) = &r.failure {
                prose.push_str(&failure_prose(h, &r.key, f));
            }
        }
        if failing.len() > PROSE_KEYS {
            prose.push_str(&format!(
                "({} more failing keys not shown)\n",
                failing.len() - PROSE_KEYS
            ));
        }
        v.explanation = prose;
    } else if !timed_out.is_empty() {
        v.valid = Validity::Unknown;
        let reason = timed_out[0]
            .exhausted
            .map(|e| e.describe())
            .unwrap_or_else(|| "search limit".into());
        let kind = match timed_out[0].exhausted {
            Some(crate::budget::Exhausted::Time(_)) => "time-limit-reached",
            _ => "search-budget-exhausted",
        };
        v.anomaly_types = vec![kind.into()];
        v.anomalies.insert(
            kind.into(),
            json!({
                "reason": reason,
                "undecided-partitions": timed_out.len(),
                "partitions": results.len(),
                "first-key": timed_out[0].key.as_ref().map(Value::to_string),
            }),
        );
        v.explanation = format!(
            "{reason} reached: {} of {} partition(s) not decided{}",
            timed_out.len(),
            results.len(),
            timed_out[0]
                .key
                .as_ref()
                .map(|k| format!(" (first: key {k})"))
                .unwrap_or_default()
        );
    }
    v
}
