//! Jepsen's counter checker: `:add n` ops and `:read` ops on one counter that starts at 0.
//!
//! Walking the history in order: an `:add` invoke raises the upper bound by n, its `:ok` raises the
//! lower bound by n, its `:fail` lowers the upper bound again. A read must return a value within
//! [lower bound when it was invoked, upper bound when it completed]. Reads are reported as
//! `[lower value upper]`; the checker is valid iff no read is out of bounds.

use crate::history::{History, OpType, Process};
use crate::verdict::{Checker, Validity, Verdict};
use serde_json::json;
use std::collections::BTreeMap;

#[derive(Debug, Clone, Default)]
pub struct CounterChecker;

impl Checker for CounterChecker {
    fn name(&self) -> &str {
        "counter"
    }

    fn check(&self, h: &History) -> Verdict {
        if let Some(bad) = crate::shape::validate(h, &crate::shape::COUNTER) {
            return bad;
        }
        let (mut lower, mut upper) = (0i64, 0i64);
        let mut pending: BTreeMap<Option<&Process>, i64> = BTreeMap::new();
        let mut reads: Vec<[i64; 3]> = Vec::new();
        let mut bad_values = 0usize;
        for op in &h.ops {
            if op.process == Some(Process::Nemesis) {
                continue;
            }
            let n = op.value.as_int().unwrap_or(0);
            match (op.kind, op.f()) {
                (OpType::Invoke, "read") => {
                    pending.insert(op.process.as_ref(), lower);
                }
                (OpType::Ok, "read") => {
                    let lo = pending.remove(&op.process.as_ref()).unwrap_or(lower);
                    match op.value.as_int() {
                        Some(v) => reads.push([lo, v, upper]),
                        None => bad_values += 1,
                    }
                }
                (OpType::Fail | OpType::Info, "read") => {
                    pending.remove(&op.process.as_ref());
                }
                (OpType::Invoke, "add") => upper = upper.saturating_add(n),
                (OpType::Ok, "add") => lower = lower.saturating_add(n),
                (OpType::Fail, "add") => upper = upper.saturating_sub(n),
                _ => {}
            }
        }
        let errors: Vec<[i64; 3]> = reads
            .iter()
            .copied()
            .filter(|[lo, v, up]| !(lo <= v && v <= up))
            .collect();
        let mut v = Verdict::valid();
        v.stats.insert("reads".into(), json!(reads));
        v.stats.insert("read-count".into(), json!(reads.len()));
        if !errors.is_empty() || bad_values > 0 {
            v.valid = Validity::Invalid;
            v.anomaly_types = vec!["out-of-bounds".into()];
            v.anomalies.insert(
                "out-of-bounds".into(),
                json!({"errors": errors, "non-integer-reads": bad_values}),
            );
            v.explanation = format!(
                "{} of {} reads outside [lower, upper] bounds{}; first: {:?}",
                errors.len(),
                reads.len(),
                if bad_values > 0 {
                    format!(" and {bad_values} non-integer read(s)")
                } else {
                    String::new()
                },
                errors.first()
            );
        }
        v
    }
}
