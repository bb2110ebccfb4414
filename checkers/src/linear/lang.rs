//! A tiny history language for hand-written register and mutex cases.
//!
//! A history is whitespace-separated events in time order; each event is a process number followed
//! by an action:
//!
//! | event | meaning |
//! |---|---|
//! | `0w3` | process 0 invokes `:write 3` |
//! | `0r` | process 0 invokes `:read` |
//! | `0cas1,2` | process 0 invokes `:cas [1 2]` |
//! | `0acq` / `0rel` | process 0 invokes `:acquire` / `:release` |
//! | `0ok` | process 0's pending op completes `:ok` (same value) |
//! | `0ok3` / `0okn` | a read completes `:ok` with 3 / with nil |
//! | `0fail` / `0info` | the pending op completes `:fail` / `:info` |
//!
//! Values are integers or `n` (nil). With `k<key>/` in front of a value (`0wk1/3`, `0okk1/3`,
//! `0rk1/`) the value becomes `[key v]`, for independent keys. Example: `"0w1 1r 0ok 1ok1"`.

use crate::history::{History, Op, OpType};
use crate::value::Value;
use std::collections::BTreeMap;

/// Parses one value: an integer or `n`, optionally `k<key>/` first (then `[key v]`).
fn value(s: &str) -> Result<Value, String> {
    if let Some(rest) = s.strip_prefix('k') {
        let (k, v) = rest
            .split_once('/')
            .ok_or_else(|| format!("bad keyed value {s:?}"))?;
        let k: i64 = k.parse().map_err(|_| format!("bad key in {s:?}"))?;
        let v = if v.is_empty() { Value::Nil } else { value(v)? };
        return Ok(Value::Vector(vec![Value::Int(k), v]));
    }
    if s == "n" {
        return Ok(Value::Nil);
    }
    s.parse::<i64>()
        .map(Value::Int)
        .map_err(|_| format!("bad value {s:?}"))
}

/// Parses the language into a history (positions as indices, line 0).
pub fn parse(text: &str) -> Result<History, String> {
    let mut ops: Vec<Op> = Vec::new();
    let mut pending: BTreeMap<i64, usize> = BTreeMap::new();
    for tok in text.split_whitespace() {
        let digits = tok.chars().take_while(|c| c.is_ascii_digit()).count();
        let p: i64 = tok[..digits]
            .parse()
            .map_err(|_| format!("{tok:?}: expected a process number first"))?;
        let act = &tok[digits..];
        let (kind, f, v) = if let Some(v) = act.strip_prefix("cas") {
            let (a, b) = v
                .split_once(',')
                .ok_or_else(|| format!("{tok:?}: cas needs a,b"))?;
            (
                OpType::Invoke,
                "cas",
                Value::Vector(vec![value(a)?, value(b)?]),
            )
        } else if act == "acq" || act == "rel" {
            (
                OpType::Invoke,
                if act == "acq" { "acquire" } else { "release" },
                Value::Nil,
            )
        } else if let Some(v) = act.strip_prefix('w') {
            (OpType::Invoke, "write", value(v)?)
        } else if let Some(v) = act.strip_prefix('r') {
            (
                OpType::Invoke,
                "read",
                if v.is_empty() { Value::Nil } else { value(v)? },
            )
        } else {
            let (kind, rest) = if let Some(r) = act.strip_prefix("ok") {
                (OpType::Ok, r)
            } else if let Some(r) = act.strip_prefix("fail") {
                (OpType::Fail, r)
            } else if let Some(r) = act.strip_prefix("info") {
                (OpType::Info, r)
            } else {
                return Err(format!("{tok:?}: unknown action"));
            };
            let inv = pending
                .remove(&p)
                .ok_or_else(|| format!("{tok:?}: process {p} has nothing pending"))?;
            let f = ops[inv].f().to_string();
            let v = if rest.is_empty() {
                ops[inv].value.clone()
            } else {
                value(rest)?
            };
            let mut op = Op::new(kind, p, &f, v);
            op.index = ops.len();
            ops.push(op);
            continue;
        };
        if pending.insert(p, ops.len()).is_some() {
            return Err(format!("{tok:?}: process {p} already has an op pending"));
        }
        let mut op = Op::new(kind, p, f, v);
        op.index = ops.len();
        ops.push(op);
    }
    Ok(History::new(ops))
}
