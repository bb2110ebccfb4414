//! A small history language for hand-written Elle cases.
//!
//! ```text
//! history := group (';' group)*        groups run one after another
//! group   := txn ('|' txn)*            txns of a group run concurrently: all are invoked, in order,
//!                                      then all complete, in order
//! txn     := token*
//! token   := 'a' KEY INT               append INT to KEY (list-append)
//!          | 'w' KEY INT               write INT to KEY (rw-register)
//!          | 'r' KEY DIGITS?           read KEY: list-append reads one element per digit
//!                                      ("rx12" = [1 2], "rx" = []); register reads the number
//!                                      ("rx12" = 12, "rx" = nil)
//!          | '!'                       the txn fails (:fail)
//!          | '?'                       the txn's outcome is unknown (:info)
//!          | '@' INT                   the txn runs on this process
//! KEY     := one letter a-z, which becomes a keyword (:x)
//! ```
//!
//! Tokens are separated by whitespace. By default the i-th txn of a group runs on process i, so
//! successive groups reuse processes 0, 1, …. Invocations carry `nil` for reads; ok completions
//! carry the values written in the text; failed and crashed txns complete with the invocation's
//! value. Op `:index` and `:time` are positions in the history.
//!
//! Example: `"ax1 | ay1 ; rx1 ry"` — T1 appends 1 to x while T2 appends 1 to y; then T3 reads
//! x = [1] and y = [].

use crate::history::{History, Op, OpType};
use crate::value::Value;

/// Parses a list-append history.
pub fn history(text: &str) -> Result<History, String> {
    parse(text, true)
}

/// Parses an rw-register history.
pub fn register_history(text: &str) -> Result<History, String> {
    parse(text, false)
}

struct Txn {
    process: i64,
    kind: OpType,
    invoke: Vec<Value>,
    complete: Vec<Value>,
}

fn parse(text: &str, lists: bool) -> Result<History, String> {
    let mut ops: Vec<Op> = Vec::new();
    for group in text.split(';') {
        let mut txns = Vec::new();
        for (i, src) in group.split('|').enumerate() {
            let t = parse_txn(src, i as i64, lists)?;
            if !t.invoke.is_empty() {
                txns.push(t);
            }
        }
        for t in &txns {
            ops.push(Op::new(
                OpType::Invoke,
                t.process,
                "txn",
                Value::Vector(t.invoke.clone()),
            ));
        }
        for t in txns {
            let value = if t.kind == OpType::Ok {
                t.complete
            } else {
                t.invoke
            };
            ops.push(Op::new(t.kind, t.process, "txn", Value::Vector(value)));
        }
    }
    for (i, op) in ops.iter_mut().enumerate() {
        op.index = i;
        op.time = Some(i as i64 * 1_000_000);
    }
    Ok(History::new(ops))
}

fn parse_txn(src: &str, default_process: i64, lists: bool) -> Result<Txn, String> {
    let mut t = Txn {
        process: default_process,
        kind: OpType::Ok,
        invoke: vec![],
        complete: vec![],
    };
    for tok in src.split_whitespace() {
        let mut cs = tok.chars();
        let head = cs.next().ok_or("empty token")?;
        let rest: String = cs.collect();
        match head {
            '!' if rest.is_empty() => t.kind = OpType::Fail,
            '?' if rest.is_empty() => t.kind = OpType::Info,
            '@' => {
                t.process = rest
                    .parse()
                    .map_err(|_| format!("bad process in {tok:?}"))?
            }
            'a' | 'w' | 'r' => {
                let mut rs = rest.chars();
                let key = rs
                    .next()
                    .filter(char::is_ascii_lowercase)
                    .ok_or(format!("{tok:?}: expected a key letter"))?;
                let digits: String = rs.collect();
                if !digits.chars().all(|c| c.is_ascii_digit()) {
                    return Err(format!("{tok:?}: expected digits after the key"));
                }
                let k = Value::kw(&key.to_string());
                let num = || {
                    digits
                        .parse::<i64>()
                        .map_err(|_| format!("{tok:?}: expected a number"))
                };
                let (f, inv, done) = match head {
                    'a' => ("append", Value::Int(num()?), Value::Int(num()?)),
                    'w' => ("w", Value::Int(num()?), Value::Int(num()?)),
                    _ if lists => {
                        let xs = digits
                            .chars()
                            .map(|c| Value::Int(c as i64 - '0' as i64))
                            .collect();
                        ("r", Value::Nil, Value::Vector(xs))
                    }
                    _ if digits.is_empty() => ("r", Value::Nil, Value::Nil),
                    _ => ("r", Value::Nil, Value::Int(num()?)),
                };
                t.invoke
                    .push(Value::Vector(vec![Value::kw(f), k.clone(), inv]));
                t.complete.push(Value::Vector(vec![Value::kw(f), k, done]));
            }
            _ => return Err(format!("unexpected token {tok:?}")),
        }
    }
    Ok(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn concurrent_groups_invoke_then_complete() {
        let h = history("ax1 | ay2 ; rx1 ry2").unwrap();
        let kinds: Vec<OpType> = h.ops.iter().map(|o| o.kind).collect();
        use OpType::*;
        assert_eq!(kinds, [Invoke, Invoke, Ok, Ok, Invoke, Ok]);
        assert_eq!(h.ops[5].value.to_string(), "[[:r :x [1]] [:r :y [2]]]");
        assert_eq!(h.ops[4].value.to_string(), "[[:r :x nil] [:r :y nil]]");
        assert_eq!(h.ops[1].client(), Some(1));
    }

    #[test]
    fn outcomes_processes_and_registers() {
        let h = register_history("wx1 ! @7 ; rx12 ? ; rx").unwrap();
        assert_eq!(h.ops[1].kind, OpType::Fail);
        assert_eq!(h.ops[1].client(), Some(7));
        assert_eq!(h.ops[3].kind, OpType::Info);
        assert_eq!(h.ops[3].value.to_string(), "[[:r :x nil]]");
        assert_eq!(h.ops[5].value.to_string(), "[[:r :x nil]]");
        assert!(history("zx1").is_err());
        assert!(history("a1").is_err());
    }
}
