//! Streaming reader: a Jepsen `history.edn` straight into [`Txns`], op by op.
//!
//! The generic path ([`crate::io::read_history_file`] then [`Txns::from_history`]) holds the whole
//! file as text, then every op as a [`crate::Value`] tree, then the transactions. This reader keeps
//! only a buffered line, the few transactions still in flight, and the transaction form being
//! built, so memory grows with the transactions, not with the text.
//!
//! Contract: [`read_txns`] either returns exactly the [`Txns`] the generic path would build from
//! the same file (same ids, same order, same `op_index`), or [`Fallback`], after which the caller
//! must use the generic path. It accepts a strict subset of EDN, the shape Jepsen writes: one op map
//! per line, keyword keys, integers without leading zeros, keywords of `[A-Za-z0-9_?!*+.-]`,
//! strings without escapes, `nil`/`true`/`false`, vectors, lists, maps and sets; micro-ops
//! `[:append k v]` / `[:r k v]` / `[:w k v]` with integer keys, and integer, `nil` or integer-list
//! values. Anything else (another format, a multi-line form, a malformed or unpairable op, a
//! malformed micro-op, a duplicate map key, a float, a tag, an escape, non-ASCII outside strings,
//! an I/O error...) is a fallback, so every bad-input message still comes from the generic reader,
//! which names the file, the line and the problem.
//!
//! Pairing mirrors [`crate::history::History::pairs_with`] with `PairRules::LENIENT`: per process,
//! an invocation pairs with the next completion; a completion of a process that never invokes
//! stands alone; anything else is a fallback (the generic path reports it). Transactions are
//! interned in invocation order, as the generic path does: a completed transaction waits in a
//! queue until every earlier invocation has completed, so the queue holds about as many
//! transactions as there are concurrent processes.

use super::parse::{Parser, ProcKey, RawOp, RawValue};
use super::txn::{FastMap, MopArg, Txn, Txns, Workload};
use crate::history::OpType;
use crate::value::Value;
use std::collections::VecDeque;
use std::io::BufRead;
use std::path::Path;

/// Why the streaming reader gave up; the caller then reads the file with the generic reader.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fallback {
    /// 1-based line where the reader gave up (0: before reading).
    pub line: usize,
    pub reason: &'static str,
}

/// One transaction in flight: its invocation, and its completion once seen.
struct Entry {
    invoke: u32,
    process: ProcKey,
    value: RawValue,
    complete: Option<(u32, OpType, RawValue)>,
}

/// Pairs ops and feeds completed transactions, in invocation order, to a [`Txns`].
struct Builder {
    t: Txns,
    pending: FastMap<ProcKey, u64>,
    /// Processes that invoked, and processes whose completions stood alone: a process in both
    /// would be an unpairable history.
    invokers: FastMap<ProcKey, ()>,
    standalone: FastMap<ProcKey, ()>,
    queue: VecDeque<Entry>,
    /// Sequence number of `queue[0]`.
    base: u64,
}

impl Builder {
    fn push(&mut self, op: RawOp, line: usize) -> Result<(), Fallback> {
        let fb = |reason| Fallback { line, reason };
        let pos = self.t.op_index.len() as u32;
        self.t.op_index.push(op.index.unwrap_or(pos as usize));
        let p = op.process;
        if op.kind == OpType::Invoke {
            if self.pending.contains_key(&p) {
                return Err(fb("a process invokes while its previous op is pending"));
            }
            if self.standalone.contains_key(&p) {
                return Err(fb(
                    "a process invokes after a completion with nothing pending",
                ));
            }
            self.invokers.insert(p, ());
            self.pending.insert(p, self.base + self.queue.len() as u64);
            self.queue.push_back(Entry {
                invoke: pos,
                process: p,
                value: op.value,
                complete: None,
            });
            return Ok(());
        }
        match self.pending.remove(&p) {
            Some(seq) => {
                self.queue[(seq - self.base) as usize].complete = Some((pos, op.kind, op.value))
            }
            None if self.invokers.contains_key(&p) => {
                return Err(fb("a completion with no pending invocation"))
            }
            None => {
                self.standalone.insert(p, ());
                self.queue.push_back(Entry {
                    invoke: pos,
                    process: p,
                    value: RawValue::NotVector,
                    complete: Some((pos, op.kind, op.value)),
                });
            }
        }
        while self.queue.front().is_some_and(|e| e.complete.is_some()) {
            let e = self.queue.pop_front().expect("front exists");
            self.base += 1;
            self.emit(e, line)?;
        }
        Ok(())
    }

    /// Adds one transaction to the [`Txns`], as `Txns::from_history` would.
    fn emit(&mut self, e: Entry, line: usize) -> Result<(), Fallback> {
        let ProcKey::Client(process) = e.process else {
            return Ok(()); // the nemesis: not a client op
        };
        let (complete, kind, value) = match e.complete {
            Some((c, kind, v @ (RawValue::Mops { .. } | RawValue::BadVector))) => (c, kind, v),
            Some((c, kind, _)) => (c, kind, e.value),
            None => (u32::MAX, OpType::Info, e.value),
        };
        let RawValue::Mops { mops, elems } = value else {
            return Err(Fallback {
                line,
                reason: "a transaction whose value is not a vector of micro-ops",
            });
        };
        let ok = kind == OpType::Ok;
        let mop_start = self.t.mops.len() as u32;
        for m in &mops {
            let arg = match m.val {
                super::parse::RawVal::Nil => MopArg::Value(&Value::Nil),
                super::parse::RawVal::Int(x) => {
                    self.push_int(m.f, m.key, x, ok, line)?;
                    continue;
                }
                super::parse::RawVal::List(s, n) => {
                    MopArg::Ints(&elems[s as usize..(s + n) as usize])
                }
            };
            self.t
                .push_mop(m.f, &Value::Int(m.key), arg, ok)
                .map_err(|reason| Fallback { line, reason })?;
        }
        self.t.txns.push(Txn {
            invoke: e.invoke,
            complete,
            kind,
            process,
            mop_start,
            mop_len: self.t.mops.len() as u32 - mop_start,
        });
        Ok(())
    }

    fn push_int(&mut self, f: u8, key: i64, x: i64, ok: bool, line: usize) -> Result<(), Fallback> {
        self.t
            .push_mop(f, &Value::Int(key), MopArg::Value(&Value::Int(x)), ok)
            .map_err(|reason| Fallback { line, reason })
    }

    fn finish(mut self, line: usize) -> Result<Txns, Fallback> {
        while let Some(e) = self.queue.pop_front() {
            self.emit(e, line)?;
        }
        Ok(self.t)
    }
}

/// Reads `path` into the transaction form for `workload`, or tells the caller to use the generic
/// reader (see the module doc).
pub fn read_txns(path: &Path, workload: Workload) -> Result<Txns, Fallback> {
    let fb = |line, reason| Fallback { line, reason };
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    if matches!(ext.as_str(), "json" | "jsonl" | "ndjson" | "log" | "txt") {
        return Err(fb(0, "not an EDN file name"));
    }
    let file = std::fs::File::open(path).map_err(|_| fb(0, "cannot open"))?;
    read_txns_from(std::io::BufReader::with_capacity(1 << 20, file), workload)
}

/// As [`read_txns`], from any buffered reader (the text of an EDN op stream).
pub fn read_txns_from(mut r: impl BufRead, workload: Workload) -> Result<Txns, Fallback> {
    let mut b = Builder {
        t: Txns::empty(workload),
        pending: FastMap::default(),
        invokers: FastMap::default(),
        standalone: FastMap::default(),
        queue: VecDeque::new(),
        base: 0,
    };
    let mut buf: Vec<u8> = Vec::with_capacity(4096);
    let mut line = 0usize;
    loop {
        buf.clear();
        let n = r.read_until(b'\n', &mut buf).map_err(|_| Fallback {
            line,
            reason: "read error",
        })?;
        if n == 0 {
            break;
        }
        line += 1;
        if std::str::from_utf8(&buf).is_err() {
            return Err(Fallback {
                line,
                reason: "not UTF-8",
            });
        }
        let mut p = Parser::new(&buf, workload);
        while let Some(op) = p.next_op().map_err(|reason| Fallback { line, reason })? {
            b.push(op, line)?;
        }
    }
    b.finish(line)
}
