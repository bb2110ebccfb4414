//! A brute-force linearizability oracle for tiny register histories: tries every order of the ops
//! (and, for ops with unknown outcome, whether they happened at all) that respects real time. It
//! shares no code with the checker, so agreement on random histories tests the search's pruning.

use checkers::linear::{FailSemantics, LinearOptions};
use checkers::{History, OpType, Value};

/// One op: call and return positions (return `usize::MAX` when unknown), f, invoked value,
/// outcome, completion value.
struct BOp {
    call: usize,
    ret: usize,
    f: String,
    inv: Value,
    outcome: OpType,
    out: Value,
}

fn ops(h: &History, o: &LinearOptions) -> Vec<BOp> {
    let mut v = Vec::new();
    for p in h.pairs().expect("paired") {
        let inv = &h.ops[p.invoke];
        let outcome = p.outcome(h);
        let out = p
            .complete
            .map(|c| h.ops[c].value.clone())
            .unwrap_or(Value::Nil);
        match (inv.f(), outcome) {
            ("read", OpType::Info | OpType::Fail) => continue,
            ("write", OpType::Fail) => continue,
            ("cas", OpType::Fail) if o.fail_semantics == FailSemantics::Drop => continue,
            _ => {}
        }
        let ret = if outcome == OpType::Info {
            usize::MAX
        } else {
            p.complete.unwrap_or(usize::MAX)
        };
        v.push(BOp {
            call: p.invoke,
            ret,
            f: inv.f().to_string(),
            inv: inv.value.clone(),
            outcome,
            out,
        });
    }
    v
}

/// The register after `op` from `s`, if legal.
fn apply(o: &LinearOptions, s: &Value, op: &BOp) -> Option<Value> {
    match op.f.as_str() {
        "read" => (op.out == *s || (op.out.is_nil() && o.nil_read_wildcard)).then(|| s.clone()),
        "write" => Some(op.inv.clone()),
        _ => {
            let [old, new] = op.inv.as_vec()? else {
                return None;
            };
            match op.outcome {
                OpType::Fail => (old != s).then(|| s.clone()),
                _ => (old == s).then(|| new.clone()),
            }
        }
    }
}

fn search(
    o: &LinearOptions,
    ops: &[BOp],
    done: &mut Vec<bool>,
    skipped: &mut Vec<bool>,
    s: &Value,
) -> bool {
    if done.iter().zip(skipped.iter()).all(|(d, k)| *d || *k) {
        return true;
    }
    for i in 0..ops.len() {
        if done[i] || skipped[i] {
            continue;
        }
        // Real time: every op that returned before i was called must already be placed.
        let blocked =
            (0..ops.len()).any(|j| j != i && !done[j] && !skipped[j] && ops[j].ret < ops[i].call);
        if blocked {
            continue;
        }
        if let Some(next) = apply(o, s, &ops[i]) {
            done[i] = true;
            let ok = search(o, ops, done, skipped, &next);
            done[i] = false;
            if ok {
                return true;
            }
        }
        if ops[i].ret == usize::MAX {
            // An unknown op may also never happen.
            skipped[i] = true;
            let ok = search(o, ops, done, skipped, s);
            skipped[i] = false;
            if ok {
                return true;
            }
        }
    }
    false
}

/// Whether the history is linearizable under `o` (register semantics, initial value from `o`).
pub fn linearizable(h: &History, o: &LinearOptions) -> bool {
    let ops = ops(h, o);
    let n = ops.len();
    search(
        o,
        &ops,
        &mut vec![false; n],
        &mut vec![false; n],
        &o.initial_value,
    )
}
