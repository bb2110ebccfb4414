//! Turning one parsed map into an [`Op`], with shape checks shared by all formats.

use super::{ReadError, ReadErrorKind};
use crate::history::{Op, OpType, Process};
use crate::value::Value;
use std::collections::BTreeMap;

/// Short rendering of a value for error messages (at most ~60 chars).
pub(crate) fn short(v: &Value) -> String {
    let s = v.to_string();
    if s.chars().count() > 60 {
        let cut: String = s.chars().take(57).collect();
        format!("{cut}...")
    } else {
        s
    }
}

/// Builds an op from a parsed map. `position` is the op's 0-based position (its `index` when the map
/// has no `:index`), `line` its 1-based source line. Keys may be keywords or strings.
///
/// Errors: not a map; `:type` missing or not one of the four; `:index`/`:time` not a non-negative
/// integer / an integer; `:f` not a keyword or string.
pub fn op_from_value(v: Value, position: usize, line: usize, file: &str) -> Result<Op, ReadError> {
    let err = |kind| ReadError::new(file, line, kind);
    let map = match v {
        Value::Map(m) => m,
        other => return Err(err(ReadErrorKind::NotAMap(short(&other)))),
    };
    let mut op = Op {
        index: position,
        time: None,
        kind: OpType::Invoke,
        process: None,
        f: None,
        value: Value::Nil,
        error: None,
        extra: BTreeMap::new(),
        line,
    };
    let mut saw_type = false;
    for (k, val) in map {
        let key = match &k {
            Value::Keyword(s) | Value::Str(s) => s.as_str(),
            _ => {
                op.extra.insert(k, val);
                continue;
            }
        };
        match key {
            "index" => match val {
                Value::Int(i) if i >= 0 => op.index = i as usize,
                other => {
                    return Err(err(ReadErrorKind::BadShape(format!(
                        ":index {} is not a non-negative integer",
                        short(&other)
                    ))))
                }
            },
            "time" => match val {
                Value::Int(i) => op.time = Some(i),
                other => {
                    return Err(err(ReadErrorKind::BadShape(format!(
                        ":time {} is not an integer",
                        short(&other)
                    ))))
                }
            },
            "type" => {
                let t = val.as_name().and_then(OpType::parse);
                match t {
                    Some(t) => op.kind = t,
                    None => return Err(err(ReadErrorKind::BadType(short(&val)))),
                }
                saw_type = true;
            }
            "process" => {
                op.process = Some(match val {
                    Value::Int(p) => Process::Client(p),
                    Value::Keyword(ref s) | Value::Str(ref s) if s == "nemesis" => Process::Nemesis,
                    Value::Nil => continue,
                    other => Process::Other(other),
                })
            }
            "f" => match val {
                Value::Keyword(s) | Value::Str(s) | Value::Symbol(s) => op.f = Some(s),
                Value::Nil => {}
                other => {
                    return Err(err(ReadErrorKind::BadShape(format!(
                        ":f {} is not a keyword",
                        short(&other)
                    ))))
                }
            },
            "value" => op.value = val,
            "error" => op.error = Some(val),
            _ => {
                let k = if let Value::Str(s) = k {
                    Value::Keyword(s)
                } else {
                    k
                };
                op.extra.insert(k, val);
            }
        }
    }
    if !saw_type {
        return Err(err(ReadErrorKind::BadType("missing".into())));
    }
    Ok(op)
}
