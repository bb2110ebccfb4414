//! List-append anomalies that need only the transactions (and, for dirty updates, the version
//! orders): future reads, dirty updates and lost updates, as Elle's `elle.list-append` finds them.

use super::list_append::{longest_reads, version_orders, INIT, NONE};
use super::txn::{Txns, APPEND, READ, UNKNOWN};
use crate::history::OpType;
use serde_json::{json, Value as Json};

/// Elle's `op-future-read-case`: a txn reads an element it appends later.
pub(crate) fn future_read_case(t: &Txns, i: u32) -> Option<Json> {
    let ms = t.mops(i);
    for (j, m) in ms.iter().enumerate().filter(|(_, m)| m.f == APPEND) {
        let read = ms[..j].iter().find(|r| {
            r.f == READ && r.key == m.key && r.val != UNKNOWN && t.list(r).contains(&m.val)
        });
        if let Some(r) = read {
            return Some(
                json!({"op": t.index(i), "mop": t.mop_edn(r), "element": t.vals.get(m.val).to_string()}),
            );
        }
    }
    None
}

/// Elle's `dirty-update-cases`: along a key's version order, a committed append right after a
/// failed one.
///
/// Elle derives these orders from every completed txn, failed ones included; when no failed txn
/// read anything, that is the same as `possible_order` (the ok/info orders), which is reused.
pub(crate) fn dirty_updates(t: &Txns, possible_order: &[Vec<u32>]) -> Vec<Json> {
    if !t.txns.iter().any(|x| x.kind == OpType::Fail) {
        return Vec::new();
    }
    let fail_reads = (0..t.len() as u32).any(|i| {
        t.txns[i as usize].kind == OpType::Fail
            && t.mops(i)
                .iter()
                .any(|m| m.f == READ && m.val != UNKNOWN && m.len > 0)
    });
    let computed;
    let order = if fail_reads {
        let longest = longest_reads(t, |i| t.txns[i].complete != u32::MAX);
        computed = version_orders(t, &longest, |i| t.txns[i].complete != u32::MAX);
        &computed
    } else {
        possible_order
    };
    let mut writer = vec![NONE; t.vals.values.len()];
    for i in (0..t.len() as u32).filter(|&i| t.txns[i as usize].complete != u32::MAX) {
        for m in t.mops(i).iter().filter(|m| m.f == APPEND) {
            writer[m.val as usize] = i;
        }
    }
    let mut keys: Vec<u32> = (0..order.len() as u32).collect();
    keys.sort_by(|a, b| t.keys.get(*a).cmp(t.keys.get(*b)));
    let mut cases = Vec::new();
    for k in keys {
        let (mut t1, mut vs): (Option<u32>, Vec<u32>) = (None, Vec::new());
        let kind = |x: Option<u32>| x.map(|x| t.txns[x as usize].kind).unwrap_or(OpType::Ok);
        for &v in &order[k as usize] {
            vs.push(v);
            let t2 = writer[v as usize];
            if t2 == NONE {
                continue;
            }
            match (kind(t1), kind(Some(t2))) {
                (OpType::Fail, OpType::Ok) => {
                    let shown: Vec<String> =
                        vs.iter().map(|&x| t.vals.get(x).to_string()).collect();
                    let t1i = t1.map(|x| t.index(x)).unwrap_or(0);
                    cases.push(json!({"key": t.keys.get(k).to_string(), "values": shown, "txns": [t1i, "...", t.index(t2)]}));
                    (t1, vs) = (Some(t2), vec![v]);
                }
                (_, OpType::Info) | (OpType::Fail, OpType::Fail) => {}
                _ => (t1, vs) = (Some(t2), vec![v]),
            }
        }
    }
    cases
}

/// Elle's `lost-update-cases`: committed txns that read the same state of a key and then append
/// to it.
pub(crate) fn lost_updates(t: &Txns) -> Vec<Json> {
    // (key, read length, last element, txn), sorted to group txns that read the same state.
    let mut reads: Vec<(u32, u32, u32, u32)> = Vec::new();
    for i in (0..t.len() as u32).filter(|&i| t.is_ok(i)) {
        let ms = t.mops(i);
        let mut written: Vec<u32> = Vec::new();
        for (j, m) in ms.iter().enumerate().filter(|(_, m)| m.f == APPEND) {
            if written.contains(&m.key) {
                continue;
            }
            written.push(m.key);
            if let Some(r) = ms[..j]
                .iter()
                .find(|r| r.f == READ && r.key == m.key && r.val != UNKNOWN)
            {
                let last = t.list(r).last().copied().unwrap_or(INIT);
                reads.push((m.key, r.len, last, i));
            }
        }
    }
    reads.sort_unstable();
    let mut cases: Vec<(crate::value::Value, u32, Json)> = Vec::new();
    for group in reads
        .chunk_by(|a, b| (a.0, a.1, a.2) == (b.0, b.1, b.2))
        .filter(|g| g.len() > 1)
    {
        let (k, len, last, _) = group[0];
        let value = if last == INIT {
            "[]".to_string()
        } else {
            format!("[... {}]", t.vals.get(last))
        };
        let txns: Vec<usize> = group.iter().map(|x| t.index(x.3)).collect();
        let case = json!({"key": t.keys.get(k).to_string(), "value": value, "txns": txns});
        cases.push((t.keys.get(k).clone(), len, case));
    }
    cases.sort_by(|a, b| (&a.0, a.1).cmp(&(&b.0, b.1)));
    cases.into_iter().map(|c| c.2).collect()
}
