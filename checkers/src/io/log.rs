//! The Jepsen log4j text of Porcupine's `etcd_*.log` files:
//! `INFO  jepsen.util - <process> <:type> <:f> <value>`, fields separated by tabs or runs of spaces.
//!
//! Conversion (the same as the corpus's `.edn` twins, README §2.1): `:index` is the 0-based line
//! number, `:time` is `index × 1,000,000` (synthetic), the value is read as EDN. A `:timed-out`
//! completion takes its invocation's value and gets `:error :timed-out`. Blank lines are skipped.

use super::{edn, ReadError, ReadErrorKind};
use crate::history::{Op, OpType, Process};
use crate::value::Value;
use std::collections::BTreeMap;

/// Parses the whole log.
pub fn read_ops(text: &str, file: &str) -> Result<Vec<Op>, ReadError> {
    let mut ops: Vec<Op> = Vec::new();
    let mut pending: BTreeMap<i64, Value> = BTreeMap::new();
    for (n, raw) in text.lines().enumerate() {
        let line = n + 1;
        if raw.trim().is_empty() {
            continue;
        }
        let bad =
            |why: &str| ReadError::new(file, line, ReadErrorKind::MalformedLog(why.to_string()));
        let Some(dash) = raw.find(" - ") else {
            return Err(bad("no \" - \" after the logger name"));
        };
        let mut fields = raw[dash + 3..].split_whitespace();
        let process = fields.next().ok_or_else(|| bad("missing process"))?;
        let kind = fields.next().ok_or_else(|| bad("missing :type"))?;
        let f = fields.next().ok_or_else(|| bad("missing :f"))?;
        let rest: Vec<&str> = fields.collect();
        let value_text = rest.join(" ");
        let process: Process = match process.parse::<i64>() {
            Ok(p) => Process::Client(p),
            Err(_) if process == ":nemesis" => Process::Nemesis,
            Err(_) => return Err(bad("process is not an integer or :nemesis")),
        };
        let kind = kind
            .strip_prefix(':')
            .and_then(OpType::parse)
            .ok_or_else(|| ReadError::new(file, line, ReadErrorKind::BadType(kind.to_string())))?;
        let f = f
            .strip_prefix(':')
            .ok_or_else(|| bad(":f is not a keyword"))?;
        let value = if value_text.is_empty() {
            Value::Nil
        } else {
            edn::parse_one(&value_text).map_err(|e| bad(&format!("value {value_text:?}: {e}")))?
        };
        let position = ops.len();
        let mut op = Op {
            index: position,
            time: Some(position as i64 * 1_000_000),
            kind,
            process: Some(process.clone()),
            f: Some(f.to_string()),
            value,
            error: None,
            extra: BTreeMap::new(),
            line,
        };
        if let Process::Client(p) = process {
            if kind == OpType::Invoke {
                pending.insert(p, op.value.clone());
            } else {
                let invoked = pending.remove(&p);
                if op.value == Value::kw("timed-out") {
                    op.error = Some(Value::kw("timed-out"));
                    op.value = invoked.unwrap_or(Value::Nil);
                }
            }
        }
        ops.push(op);
    }
    Ok(ops)
}
