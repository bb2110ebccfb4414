//! Jepsen's bank checker (as elle-cli runs it, corpus README §4.1).
//!
//! Only `:ok` `:read` ops are checked; their `:value` maps account to balance. The account set is
//! [`BankOptions::accounts`] if given, else the keys of the first ok read; the total is
//! [`BankOptions::total`] if given, else the sum of the first ok read. Each read gets at most one
//! error, the first that applies, in this order (the order is a table: [`ERROR_KINDS`]):
//! 1. `unexpected-key`: a key outside the account set;
//! 2. `nil-balance`: a balance that is not a number;
//! 3. `wrong-total`: the balances do not sum to the total;
//! 4. `negative-value`: some balance is negative, unless `negative_balances`.
//!
//! Valid iff no read has an error. Per error kind the verdict reports count, first, worst and last
//! (plus lowest/highest total for wrong-total); stats carry `read-count`, `error-count` and
//! `first-error`. Transfers are not checked. Account ids are opaque: `0`, `:0` and `"0"` are the
//! same account (elle-cli's JSON turns the key `"0"` into the keyword `:0`).

use crate::history::{History, Op, OpType};
use crate::io::op_to_json;
use crate::value::Value;
use crate::verdict::{Checker, Validity, Verdict};
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet};

/// The error kinds, in the order they are tested.
pub const ERROR_KINDS: [&str; 4] = [
    "unexpected-key",
    "nil-balance",
    "wrong-total",
    "negative-value",
];

/// Options: all optional, as in Jepsen (`:accounts`, `:total-amount`, `:negative-balances?`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BankOptions {
    pub accounts: Option<Vec<Value>>,
    pub total: Option<i64>,
    pub negative_balances: bool,
}

/// The bank checker.
#[derive(Debug, Clone, Default)]
pub struct BankChecker {
    pub options: BankOptions,
}

/// Canonical account name: the text of an integer, keyword, string or symbol; else the EDN text.
fn account(v: &Value) -> String {
    match v {
        Value::Int(i) => i.to_string(),
        other => other
            .as_name()
            .map(str::to_string)
            .unwrap_or_else(|| other.to_string()),
    }
}

/// One read's error: its kind, the data Jepsen reports, and a badness for "worst".
struct BankError {
    kind: &'static str,
    data: serde_json::Value,
    badness: f64,
    total: Option<i128>,
}

/// A sum as JSON: a number when it fits in i64 (always, unless balances are near the i64 limits),
/// else its decimal text.
fn json_int(x: i128) -> serde_json::Value {
    match i64::try_from(x) {
        Ok(v) => json!(v),
        Err(_) => json!(x.to_string()),
    }
}

impl BankChecker {
    pub fn new(options: BankOptions) -> BankChecker {
        BankChecker { options }
    }

    fn check_read(&self, op: &Op, accts: &BTreeSet<String>, total: i64) -> Option<BankError> {
        let empty = BTreeMap::new();
        let m = op.value.as_map().unwrap_or(&empty);
        let unexpected: Vec<String> = m
            .keys()
            .map(account)
            .filter(|k| !accts.contains(k))
            .collect();
        let opj = op_to_json(op);
        if !unexpected.is_empty() || op.value.as_map().is_none() {
            let n = unexpected.len() as f64;
            return Some(BankError {
                kind: "unexpected-key",
                data: json!({"type": "unexpected-key", "unexpected": unexpected, "op": opj}),
                badness: n,
                total: None,
            });
        }
        let nils: Vec<String> = m
            .iter()
            .filter(|(_, v)| v.as_int().is_none())
            .map(|(k, _)| account(k))
            .collect();
        if !nils.is_empty() {
            let n = nils.len() as f64;
            return Some(BankError {
                kind: "nil-balance",
                data: json!({"type": "nil-balance", "nils": nils, "op": opj}),
                badness: n,
                total: None,
            });
        }
        let balances: Vec<i64> = m.values().filter_map(Value::as_int).collect();
        // Sums in i128: up to 2^64 balances of i64 cannot overflow it, so no input can wrap.
        let sum: i128 = balances.iter().map(|&b| b as i128).sum();
        if sum != total as i128 {
            let diff = (sum - total as i128) as f64;
            let badness = if total == 0 {
                diff.abs()
            } else {
                (diff / total as f64).abs()
            };
            return Some(BankError {
                kind: "wrong-total",
                data: json!({"type": "wrong-total", "total": json_int(sum), "op": opj}),
                badness,
                total: Some(sum),
            });
        }
        let negative: Vec<i64> = balances.iter().copied().filter(|b| *b < 0).collect();
        if !self.options.negative_balances && !negative.is_empty() {
            let badness = -(negative.iter().map(|&b| b as f64).sum::<f64>());
            return Some(BankError {
                kind: "negative-value",
                data: json!({"type": "negative-value", "negative": negative, "op": opj}),
                badness,
                total: None,
            });
        }
        None
    }
}

impl Checker for BankChecker {
    fn name(&self) -> &str {
        "bank"
    }

    fn check(&self, h: &History) -> Verdict {
        if let Some(bad) = crate::shape::validate(h, &crate::shape::BANK) {
            return bad;
        }
        let reads: Vec<&Op> = h
            .ops
            .iter()
            .filter(|o| o.kind == OpType::Ok && o.f() == "read")
            .collect();
        let mut v = Verdict::valid();
        v.stats.insert("read-count".into(), json!(reads.len()));
        let first = reads.iter().find(|o| o.value.as_map().is_some());
        let accts: BTreeSet<String> = match (&self.options.accounts, first) {
            (Some(a), _) => a.iter().map(account).collect(),
            (None, Some(f)) => f
                .value
                .as_map()
                .map(|m| m.keys().map(account).collect())
                .unwrap_or_default(),
            (None, None) => BTreeSet::new(),
        };
        // The default total is the first read's sum; one that does not fit in i64 cannot be any
        // read's total, so it is reported rather than wrapped.
        let total = match self.options.total {
            Some(t) => t,
            None => {
                let sum: i128 = first
                    .and_then(|f| f.value.as_map())
                    .map(|m| {
                        m.values()
                            .filter_map(Value::as_int)
                            .map(|b| b as i128)
                            .sum()
                    })
                    .unwrap_or(0);
                match i64::try_from(sum) {
                    Ok(t) => t,
                    Err(_) => {
                        let f = first.expect("a nonzero sum comes from a read");
                        let msg = format!(
                            "line {}: op {}: the first read's balances sum to {sum}, outside the 64-bit range of a bank total",
                            f.line, f.index
                        );
                        return crate::verdict::malformed_history(
                            &msg,
                            f.line,
                            1,
                            vec![msg.clone()],
                        );
                    }
                }
            }
        };
        let mut by_kind: BTreeMap<&str, Vec<BankError>> = BTreeMap::new();
        let mut first_error = serde_json::Value::Null;
        let mut count = 0usize;
        for op in &reads {
            if let Some(e) = self.check_read(op, &accts, total) {
                if first_error.is_null() {
                    first_error = e.data.clone();
                }
                count += 1;
                by_kind.entry(e.kind).or_default().push(e);
            }
        }
        v.stats.insert("error-count".into(), json!(count));
        v.stats.insert("first-error".into(), first_error);
        v.stats.insert("total".into(), json!(total));
        v.stats.insert("accounts".into(), json!(accts));
        let mut prose = Vec::new();
        for kind in ERROR_KINDS {
            let Some(errs) = by_kind.get(kind) else {
                continue;
            };
            // worst: the first error with the greatest badness
            let worst = errs
                .iter()
                .fold(&errs[0], |w, e| if e.badness > w.badness { e } else { w });
            let mut d = json!({
                "count": errs.len(),
                "first": errs[0].data,
                "worst": worst.data,
                "last": errs[errs.len() - 1].data,
            });
            if kind == "wrong-total" {
                let lowest = errs
                    .iter()
                    .fold(&errs[0], |w, e| if e.total < w.total { e } else { w });
                let highest = errs
                    .iter()
                    .fold(&errs[0], |w, e| if e.total > w.total { e } else { w });
                d["lowest"] = lowest.data.clone();
                d["highest"] = highest.data.clone();
            }
            v.anomalies.insert(kind.to_string(), d);
            v.anomaly_types.push(kind.to_string());
            prose.push(format!(
                "{} of {} reads: {kind} (first at op {})",
                errs.len(),
                reads.len(),
                errs[0].data["op"]["index"]
            ));
        }
        v.anomaly_types.sort();
        if count > 0 {
            v.valid = Validity::Invalid;
            v.explanation = format!(
                "bank total {total} over {} account(s): {}",
                accts.len(),
                prose.join("; ")
            );
        }
        v
    }
}
