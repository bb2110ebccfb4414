//! elle-cli's `comments` checker (Jepsen's CockroachDB "comments" test): writes of unique values
//! and reads of the set of values visible.
//!
//! For each write, the set of writes that had completed (`:ok`) before it was invoked "precede" it.
//! A read that sees a value must also see every write preceding that value; the ones it misses are
//! reported (`missing`, `expected-count`). Valid iff no read misses anything.

use crate::history::{History, OpType};
use crate::io::op_to_json;
use crate::value::Value;
use crate::verdict::{Checker, Validity, Verdict};
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet};

#[derive(Debug, Clone, Default)]
pub struct CommentsChecker;

/// The elements of a read value (a set or vector), else none.
pub(crate) fn elements(v: &Value) -> Vec<&Value> {
    match v {
        Value::Set(s) => s.iter().collect(),
        Value::Vector(xs) => xs.iter().collect(),
        _ => Vec::new(),
    }
}

impl Checker for CommentsChecker {
    fn name(&self) -> &str {
        "comments"
    }

    fn check(&self, h: &History) -> Verdict {
        if let Some(bad) = crate::shape::validate(h, &crate::shape::COMMENTS) {
            return bad;
        }
        let mut completed: BTreeSet<&Value> = BTreeSet::new();
        let mut expected: BTreeMap<&Value, BTreeSet<&Value>> = BTreeMap::new();
        for op in h.ops.iter().filter(|o| o.f() == "write") {
            match op.kind {
                OpType::Invoke => {
                    expected.insert(&op.value, completed.clone());
                }
                OpType::Ok => {
                    completed.insert(&op.value);
                }
                _ => {}
            }
        }
        let mut errors = Vec::new();
        for op in h
            .ops
            .iter()
            .filter(|o| o.kind == OpType::Ok && o.f() == "read")
        {
            let seen: BTreeSet<&Value> = elements(&op.value).into_iter().collect();
            let ours: BTreeSet<&Value> = seen
                .iter()
                .filter_map(|s| expected.get(s))
                .flatten()
                .copied()
                .collect();
            let missing: Vec<String> = ours.difference(&seen).map(|v| v.to_string()).collect();
            if !missing.is_empty() {
                let mut o = op_to_json(op);
                if let Some(m) = o.as_object_mut() {
                    m.remove("value");
                    m.insert("missing".into(), json!(missing));
                    m.insert("expected-count".into(), json!(ours.len()));
                }
                errors.push(o);
            }
        }
        let mut v = Verdict::valid();
        if !errors.is_empty() {
            v.valid = Validity::Invalid;
            v.anomaly_types = vec!["missing".into()];
            v.explanation = format!(
                "{} read(s) saw a write but not one that completed before it began; first at op {}, missing {}",
                errors.len(),
                errors[0]["index"],
                errors[0]["missing"]
            );
            v.anomalies.insert("missing".into(), json!(errors));
        }
        v
    }
}
