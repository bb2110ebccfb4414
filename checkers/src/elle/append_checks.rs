//! List-append anomalies that need only the transactions (and, for dirty updates, the version
//! orders): future reads, dirty updates and lost updates, as Elle's `elle.list-append` finds them.

use super::list_append::{longest_reads, version_orders, NONE};
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

/// `pairs` in ascending order, as `sort_unstable` would put them: a counting sort on the key id
/// (dense), then a sort of each key's few pairs, so that the slices compared lie close together
/// and the cost stays linear in the number of keys.
fn sort_by_key_then_all(
    pairs: Vec<(u32, &[u32], bool, u32)>,
    nkeys: usize,
) -> Vec<(u32, &[u32], bool, u32)> {
    let mut offs = vec![0usize; nkeys + 1];
    for p in &pairs {
        offs[p.0 as usize + 1] += 1;
    }
    for k in 0..nkeys {
        offs[k + 1] += offs[k];
    }
    let mut fill = offs.clone();
    let mut out: Vec<(u32, &[u32], bool, u32)> = vec![(0, &[], false, 0); pairs.len()];
    for p in pairs {
        out[fill[p.0 as usize]] = p;
        fill[p.0 as usize] += 1;
    }
    for k in 0..nkeys {
        out[offs[k]..offs[k + 1]].sort_unstable();
    }
    out
}

/// Elle's `lost-update-cases` (`elle.txn`), for both workloads: in every `:ok` transaction, the
/// first read of each key is remembered; the first write of a key (append or `:w`) that comes after
/// a remembered read of it pairs the key with that read's value (a write with no read of its key
/// before it is ignored and does not count as the key's first write). Two or more transactions
/// paired with the same key and the same read value are a lost update. Exactly Elle's rules,
/// including a read that follows the transaction's own earlier, unpaired write of the key.
/// Cases are ordered by key, then by the value read.
pub(crate) fn lost_updates(t: &Txns) -> Vec<Json> {
    use crate::value::Value;
    // (key, read value as comparable data, nil?, txn); the value borrows the history's storage.
    let mut pairs: Vec<(u32, &[u32], bool, u32)> = Vec::new();
    for i in (0..t.len() as u32).filter(|&i| t.is_ok(i)) {
        let ms = t.mops(i);
        let mut reads: Vec<(u32, usize)> = Vec::new(); // key -> first read mop
        let mut writes: Vec<u32> = Vec::new();
        for (j, m) in ms.iter().enumerate() {
            let read = reads.iter().find(|r| r.0 == m.key).map(|r| r.1);
            if m.f != READ && !writes.contains(&m.key) {
                if let Some(r) = read {
                    let r = &ms[r];
                    let (value, nil) = if t.workload == super::txn::Workload::ListAppend {
                        (t.list(r), r.val == UNKNOWN)
                    } else {
                        (std::slice::from_ref(&r.val), false)
                    };
                    pairs.push((m.key, value, nil, i));
                    writes.push(m.key);
                }
            } else if m.f == READ && read.is_none() {
                reads.push((m.key, j));
            }
        }
    }
    let pairs = sort_by_key_then_all(pairs, t.keys.values.len());
    let mut cases: Vec<(Value, Vec<Value>, Json)> = Vec::new();
    for group in pairs
        .chunk_by(|a, b| (a.0, &a.1, a.2) == (b.0, &b.1, b.2))
        .filter(|g| g.len() > 1)
    {
        let (k, value, nil, _) = group[0];
        let shown: Vec<Value> = value.iter().map(|&x| t.vals.get(x).clone()).collect();
        let value_text = if t.workload == super::txn::Workload::ListAppend {
            if nil {
                "nil".to_string()
            } else {
                Value::Vector(shown.clone()).to_string()
            }
        } else {
            shown[0].to_string()
        };
        let txns: Vec<usize> = group.iter().map(|x| t.index(x.3)).collect();
        let case = json!({"key": t.keys.get(k).to_string(), "value": value_text, "txns": txns});
        cases.push((t.keys.get(k).clone(), shown, case));
    }
    cases.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
    cases.into_iter().map(|c| c.2).collect()
}
