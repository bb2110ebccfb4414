//! Jepsen's `set` and `set-full` checkers: `:add x` ops and `:read` ops returning a collection.
//!
//! [`SetChecker`] (jepsen.checker/set) looks at the last ok read only: `lost` = acknowledged adds
//! missing from it, `unexpected` = elements never attempted, `recovered` = unacknowledged adds present.
//! Valid iff nothing is lost or unexpected; unknown when the set was never read.
//!
//! [`SetFullChecker`] (jepsen.checker/set-full) follows every element through every read. An element
//! is *known* once its add is ok or a read has returned it. Considering only reads invoked after it
//! was known: it is *lost* when the latest read missing it began after the latest read seeing it
//! began (or none saw it); *stale* when a read missed it but a later read saw it; *stable* when seen
//! and not lost; *never-read* when no read began after it was known. Valid iff nothing is lost, no
//! read returns an element twice, and (with `linearizable`) nothing is stale.

use crate::comments::elements;
use crate::history::{History, OpType};
use crate::value::Value;
use crate::verdict::{Checker, Validity, Verdict};
use crate::workload_util::invocations;
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet};

fn names<'a>(s: impl IntoIterator<Item = &'a Value>) -> Vec<String> {
    s.into_iter().map(Value::to_string).collect()
}

/// jepsen.checker/set.
#[derive(Debug, Clone, Default)]
pub struct SetChecker;

impl Checker for SetChecker {
    fn name(&self) -> &str {
        "set"
    }

    fn check(&self, h: &History) -> Verdict {
        if let Some(bad) = crate::shape::validate(h, &crate::shape::SET) {
            return bad;
        }
        let attempts: BTreeSet<&Value> = h
            .ops
            .iter()
            .filter(|o| o.kind == OpType::Invoke && o.f() == "add")
            .map(|o| &o.value)
            .collect();
        let adds: BTreeSet<&Value> = h
            .ops
            .iter()
            .filter(|o| o.kind == OpType::Ok && o.f() == "add")
            .map(|o| &o.value)
            .collect();
        let mut v = Verdict::valid();
        let Some(last) = h
            .ops
            .iter()
            .rev()
            .find(|o| o.kind == OpType::Ok && o.f() == "read")
        else {
            v.valid = Validity::Unknown;
            v.explanation = "set was never read".into();
            return v;
        };
        let read: BTreeSet<&Value> = elements(&last.value).into_iter().collect();
        let ok: BTreeSet<&Value> = read.intersection(&attempts).copied().collect();
        let unexpected: BTreeSet<&Value> = read.difference(&attempts).copied().collect();
        let lost: BTreeSet<&Value> = adds.difference(&read).copied().collect();
        let recovered: BTreeSet<&Value> = ok.difference(&adds).copied().collect();
        for (k, n) in [
            ("attempt-count", attempts.len()),
            ("acknowledged-count", adds.len()),
            ("ok-count", ok.len()),
            ("recovered-count", recovered.len()),
        ] {
            v.stats.insert(k.into(), json!(n));
        }
        v.stats.insert("recovered".into(), json!(names(recovered)));
        for (kind, set) in [("lost", &lost), ("unexpected", &unexpected)] {
            if !set.is_empty() {
                v.anomaly_types.push(kind.into());
                v.anomalies.insert(
                    kind.into(),
                    json!({"count": set.len(), "elements": names(set.iter().copied())}),
                );
            }
        }
        if !v.anomaly_types.is_empty() {
            v.valid = Validity::Invalid;
            v.explanation = format!(
                "final read (op {}): {} lost, {} unexpected of {} attempted",
                last.index,
                lost.len(),
                unexpected.len(),
                attempts.len()
            );
        }
        v
    }
}

/// Options of [`SetFullChecker`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SetFullOptions {
    /// Stale reads are errors too.
    pub linearizable: bool,
}

/// jepsen.checker/set-full.
#[derive(Debug, Clone, Default)]
pub struct SetFullChecker {
    pub options: SetFullOptions,
}

/// What we know of one element (positions in the history).
#[derive(Debug, Clone, Default)]
struct Element {
    known: Option<usize>,
    last_present: Option<usize>,
    last_absent: Option<usize>,
    /// Some read missed it after it was known, before a read that saw it.
    stale: bool,
}

impl Checker for SetFullChecker {
    fn name(&self) -> &str {
        "set-full"
    }

    fn check(&self, h: &History) -> Verdict {
        if let Some(bad) = crate::shape::validate(h, &crate::shape::SET_FULL) {
            return bad;
        }
        let inv = invocations(h);
        let mut elems: BTreeMap<&Value, Element> = BTreeMap::new();
        let mut duplicated: BTreeMap<String, usize> = BTreeMap::new();
        let mut read_count = 0usize;
        for (i, op) in h.ops.iter().enumerate() {
            match (op.kind, op.f()) {
                (OpType::Invoke, "add") => {
                    elems.entry(&op.value).or_default();
                }
                (OpType::Ok, "add") => {
                    let e = elems.entry(&op.value).or_default();
                    e.known = Some(e.known.map_or(i, |k| k.min(i)));
                }
                (OpType::Ok, "read") => {
                    read_count += 1;
                    let began = inv[i].unwrap_or(i);
                    let seen_list = elements(&op.value);
                    let seen: BTreeSet<&Value> = seen_list.iter().copied().collect();
                    if seen.len() != seen_list.len() {
                        let mut counts: BTreeMap<&Value, usize> = BTreeMap::new();
                        for x in &seen_list {
                            *counts.entry(x).or_default() += 1;
                        }
                        for (x, n) in counts.into_iter().filter(|(_, n)| *n > 1) {
                            let d = duplicated.entry(x.to_string()).or_default();
                            *d = (*d).max(n);
                        }
                    }
                    for x in &seen {
                        elems.entry(x).or_default();
                    }
                    for (x, e) in elems.iter_mut() {
                        if seen.contains(x) {
                            if e.last_absent.is_some()
                                && e.last_present
                                    .is_none_or(|p| p < e.last_absent.unwrap_or(0))
                            {
                                e.stale = true;
                            }
                            e.last_present = Some(e.last_present.map_or(began, |p| p.max(began)));
                            e.known = Some(e.known.map_or(i, |k| k.min(i)));
                        } else if e.known.is_some_and(|k| k < began) {
                            e.last_absent = Some(e.last_absent.map_or(began, |a| a.max(began)));
                        }
                    }
                }
                _ => {}
            }
        }
        let (mut lost, mut stale, mut never_read, mut stable) =
            (Vec::new(), Vec::new(), Vec::new(), 0usize);
        for (x, e) in &elems {
            if e.known.is_none() {
                continue;
            }
            match (e.last_present, e.last_absent) {
                (None, None) => never_read.push(x.to_string()),
                (p, Some(a)) if p.is_none_or(|p| p < a) => lost.push(x.to_string()),
                _ => {
                    stable += 1;
                    if e.stale {
                        stale.push(x.to_string());
                    }
                }
            }
        }
        let attempts = h
            .ops
            .iter()
            .filter(|o| o.kind == OpType::Invoke && o.f() == "add")
            .count();
        let mut v = Verdict::valid();
        for (k, n) in [
            ("attempt-count", attempts),
            ("read-count", read_count),
            ("stable-count", stable),
            ("never-read-count", never_read.len()),
        ] {
            v.stats.insert(k.into(), json!(n));
        }
        v.stats.insert("never-read".into(), json!(never_read));
        let bad_stale = self.options.linearizable && !stale.is_empty();
        for (kind, list, counts) in [("lost", &lost, true), ("stale", &stale, bad_stale)] {
            if !list.is_empty() {
                v.anomalies
                    .insert(kind.into(), json!({"count": list.len(), "elements": list}));
                if counts {
                    v.anomaly_types.push(kind.into());
                }
            }
        }
        if !duplicated.is_empty() {
            v.anomaly_types.push("duplicated".into());
            v.anomalies.insert("duplicated".into(), json!(duplicated));
        }
        v.anomaly_types.sort();
        if !v.anomaly_types.is_empty() {
            v.valid = Validity::Invalid;
            v.explanation = format!(
                "{} lost, {} stale, {} duplicated of {} attempted element(s) over {} read(s)",
                lost.len(),
                stale.len(),
                duplicated.len(),
                attempts,
                read_count
            );
        }
        v
    }
}
