//! JSON histories with elle-cli's conventions (`read-json-history`):
//! - `"type"` and `"f"` values become keywords (an op's `f` and `kind`);
//! - in a `"value"` that is a vector of vectors, the first element of each micro-op that is a string
//!   becomes a keyword (`["append",1,2]` → `[:append 1 2]`);
//! - every object key becomes a keyword (bank balances `{"0":100}` → `{:0 100}`);
//! - `"process": "nemesis"` is the nemesis.
//!
//! Other strings stay strings: rw-register keys such as `"x"` are values, not keys.

use super::op::op_from_value;
use super::{Format, ReadError, ReadErrorKind};
use crate::history::Op;
use crate::value::Value;
use std::collections::BTreeMap;

/// Converts JSON to a [`Value`], object keys becoming keywords.
pub fn from_json(j: &serde_json::Value) -> Value {
    use serde_json::Value as J;
    match j {
        J::Null => Value::Nil,
        J::Bool(b) => Value::Bool(*b),
        J::Number(n) => match n.as_i64() {
            Some(i) => Value::Int(i),
            None => Value::Float(n.as_f64().unwrap_or(f64::NAN)),
        },
        J::String(s) => Value::Str(s.clone()),
        J::Array(a) => Value::Vector(a.iter().map(from_json).collect()),
        J::Object(o) => Value::Map(
            o.iter()
                .map(|(k, v)| (Value::Keyword(k.clone()), from_json(v)))
                .collect::<BTreeMap<_, _>>(),
        ),
    }
}

/// Converts a [`Value`] to JSON: keywords, symbols and strings become strings, sets become arrays,
/// map keys become their names (or their EDN text).
pub fn to_json(v: &Value) -> serde_json::Value {
    use serde_json::Value as J;
    match v {
        Value::Nil => J::Null,
        Value::Bool(b) => J::Bool(*b),
        Value::Int(i) => J::from(*i),
        Value::Float(f) => serde_json::Number::from_f64(*f)
            .map(J::Number)
            .unwrap_or(J::Null),
        Value::Str(s) | Value::Keyword(s) | Value::Symbol(s) => J::String(s.clone()),
        Value::Vector(xs) => J::Array(xs.iter().map(to_json).collect()),
        Value::Set(xs) => J::Array(xs.iter().map(to_json).collect()),
        Value::Map(m) => J::Object(
            m.iter()
                .map(|(k, v)| {
                    (
                        k.as_name()
                            .map(str::to_string)
                            .unwrap_or_else(|| k.to_string()),
                        to_json(v),
                    )
                })
                .collect(),
        ),
    }
}

/// Applies the micro-op rule to an op's value.
fn keywordize_value(v: Value) -> Value {
    match v {
        Value::Vector(xs) if !xs.is_empty() && xs.iter().all(|x| matches!(x, Value::Vector(_))) => {
            Value::Vector(
                xs.into_iter()
                    .map(|m| match m {
                        Value::Vector(mut parts) => {
                            if let Some(Value::Str(s)) = parts.first() {
                                parts[0] = Value::Keyword(s.clone());
                            }
                            Value::Vector(parts)
                        }
                        other => other,
                    })
                    .collect(),
            )
        }
        other => other,
    }
}

/// Builds an op from one JSON object.
fn op_from_json(
    j: &serde_json::Value,
    position: usize,
    line: usize,
    file: &str,
) -> Result<Op, ReadError> {
    let mut v = from_json(j);
    if let Value::Map(m) = &mut v {
        if let Some(val) = m.remove(&Value::kw("value")) {
            m.insert(Value::kw("value"), keywordize_value(val));
        }
    }
    op_from_value(v, position, line, file)
}

/// 1-based line of a byte offset.
fn line_of(text: &str, offset: usize) -> usize {
    1 + text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
}

/// Reads a JSON array of ops or JSON Lines.
pub fn read_ops(text: &str, file: &str, format: Format) -> Result<Vec<Op>, ReadError> {
    let malformed = |line, e: &serde_json::Error| {
        ReadError::new(file, line, ReadErrorKind::MalformedJson(e.to_string()))
    };
    let mut ops = Vec::new();
    if format == Format::JsonLines {
        for (n, l) in text.lines().enumerate() {
            if l.trim().is_empty() {
                continue;
            }
            let j: serde_json::Value = serde_json::from_str(l).map_err(|e| malformed(n + 1, &e))?;
            ops.push(op_from_json(&j, ops.len(), n + 1, file)?);
        }
        return Ok(ops);
    }
    // A JSON array: stream its elements so each op keeps its line.
    let trimmed = text.trim_start_matches(|c: char| c.is_whitespace() || c == '\u{feff}');
    let Some(body) = trimmed.strip_prefix('[') else {
        return Err(ReadError::new(
            file,
            1,
            ReadErrorKind::MalformedJson("expected a JSON array".into()),
        ));
    };
    let mut pos = text.len() - body.len();
    loop {
        let rest = &text[pos..];
        let t = rest.trim_start();
        pos += rest.len() - t.len();
        if let Some(after) = t.strip_prefix(']') {
            let after = after.trim();
            if !after.is_empty() {
                return Err(ReadError::new(
                    file,
                    line_of(text, pos),
                    ReadErrorKind::MalformedJson("text after the closing ]".into()),
                ));
            }
            return Ok(ops);
        }
        if t.is_empty() {
            return Err(ReadError::new(
                file,
                line_of(text, pos),
                ReadErrorKind::MalformedJson("end of file inside the array".into()),
            ));
        }
        let line = line_of(text, pos);
        let mut de = serde_json::Deserializer::from_str(t).into_iter::<serde_json::Value>();
        let j = match de.next() {
            Some(Ok(j)) => j,
            Some(Err(e)) => return Err(malformed(line + e.line().saturating_sub(1), &e)),
            None => {
                return Err(ReadError::new(
                    file,
                    line,
                    ReadErrorKind::MalformedJson("expected a value".into()),
                ))
            }
        };
        pos += de.byte_offset();
        ops.push(op_from_json(&j, ops.len(), line, file)?);
        let rest = &text[pos..];
        let t = rest.trim_start();
        pos += rest.len() - t.len();
        if let Some(stripped) = t.strip_prefix(',') {
            pos += t.len() - stripped.len();
        } else if !t.starts_with(']') {
            return Err(ReadError::new(
                file,
                line_of(text, pos),
                ReadErrorKind::MalformedJson("expected , or ] between ops".into()),
            ));
        }
    }
}
