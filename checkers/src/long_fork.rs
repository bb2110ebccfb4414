//! Jepsen's long-fork checker (parallel snapshot isolation vs snapshot isolation).
//!
//! Writes are single inserts `[[:w k v]]`; reads are txns `[[:r k v] ...]` over a group of
//! `group_size` keys (group = key / group_size). Two ok reads of the same group *fork* when one saw
//! key x but not key y and the other saw y but not x (or they saw different values of one key).
//! Also reported: `reads-count`, `early-read-count` (reads that saw nothing) and `late-read-count`
//! (reads that saw everything). Valid iff no fork; unknown when some key is written twice.

use crate::history::{History, Op, OpType};
use crate::io::op_to_json;
use crate::value::Value;
use crate::verdict::{Checker, Validity, Verdict};
use serde_json::json;
use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};

/// Options: Jepsen's `n`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LongForkOptions {
    pub group_size: i64,
}

impl Default for LongForkOptions {
    fn default() -> Self {
        LongForkOptions { group_size: 2 }
    }
}

#[derive(Debug, Clone, Default)]
pub struct LongForkChecker {
    pub options: LongForkOptions,
}

/// `[[f k v] ...]` as (f, k, v) triples, if the value has that shape.
fn mops(v: &Value) -> Option<Vec<(&str, &Value, &Value)>> {
    v.as_vec()?
        .iter()
        .map(|m| match m.as_vec() {
            Some([f, k, x]) => Some((f.as_name()?, k, x)),
            _ => None,
        })
        .collect()
}

/// How read `a` relates to read `b` on their common keys: `Some(order)` if comparable.
fn compare(a: &BTreeMap<&Value, &Value>, b: &BTreeMap<&Value, &Value>) -> Option<Ordering> {
    let mut ord = Ordering::Equal;
    for (k, va) in a {
        let Some(vb) = b.get(k) else { continue };
        let o = match (va.is_nil(), vb.is_nil()) {
            (true, true) => Ordering::Equal,
            (true, false) => Ordering::Less,
            (false, true) => Ordering::Greater,
            (false, false) if va == vb => Ordering::Equal,
            (false, false) => return None,
        };
        ord = match (ord, o) {
            (x, Ordering::Equal) => x,
            (Ordering::Equal, y) => y,
            (x, y) if x == y => x,
            _ => return None,
        };
    }
    Some(ord)
}

impl Checker for LongForkChecker {
    fn name(&self) -> &str {
        "long-fork"
    }

    fn check(&self, h: &History) -> Verdict {
        if let Some(bad) = crate::shape::validate(h, &crate::shape::LONG_FORK) {
            return bad;
        }
        let mut v = Verdict::valid();
        // Multiple writes to one key make the analysis meaningless.
        let mut written: BTreeSet<&Value> = BTreeSet::new();
        for op in h.ops.iter().filter(|o| o.kind == OpType::Invoke) {
            if let Some(ms) = mops(&op.value) {
                if let [("w", k, _)] = ms.as_slice() {
                    if !written.insert(k) {
                        v.valid = Validity::Unknown;
                        v.explanation = format!("key {k} is written more than once");
                        v.stats
                            .insert("error".into(), json!(["multiple-writes", k.to_string()]));
                        return v;
                    }
                }
            }
        }
        let reads: Vec<(&Op, BTreeMap<&Value, &Value>)> = h
            .ops
            .iter()
            .filter(|o| o.kind == OpType::Ok)
            .filter_map(|o| {
                let ms = mops(&o.value)?;
                (!ms.is_empty() && ms.iter().all(|(f, _, _)| *f == "r"))
                    .then(|| (o, ms.iter().map(|(_, k, x)| (*k, *x)).collect()))
            })
            .collect();
        let early = reads
            .iter()
            .filter(|(_, m)| m.values().all(|x| x.is_nil()))
            .count();
        let late = reads
            .iter()
            .filter(|(_, m)| m.values().all(|x| !x.is_nil()))
            .count();
        let n = self.options.group_size.max(1);
        let mut groups: BTreeMap<i64, Vec<usize>> = BTreeMap::new();
        for (i, (_, m)) in reads.iter().enumerate() {
            let gs: BTreeSet<i64> = m
                .keys()
                .filter_map(|k| k.as_int())
                .map(|k| k.div_euclid(n))
                .collect();
            for g in gs {
                groups.entry(g).or_default().push(i);
            }
        }
        let mut forks = Vec::new();
        for members in groups.values() {
            for (x, &a) in members.iter().enumerate() {
                for &b in &members[x + 1..] {
                    if compare(&reads[a].1, &reads[b].1).is_none() {
                        forks.push(json!([op_to_json(reads[b].0), op_to_json(reads[a].0)]));
                    }
                }
            }
        }
        v.stats.insert("reads-count".into(), json!(reads.len()));
        v.stats.insert("early-read-count".into(), json!(early));
        v.stats.insert("late-read-count".into(), json!(late));
        if !forks.is_empty() {
            v.valid = Validity::Invalid;
            v.anomaly_types = vec!["long-fork".into()];
            v.explanation = format!(
                "{} pair(s) of reads observe the same group's writes in conflicting orders",
                forks.len()
            );
            v.anomalies.insert("long-fork".into(), json!(forks));
        }
        v
    }
}
