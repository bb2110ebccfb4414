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
        self.t.seal();
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

/// Ops parsed from consecutive lines, with their 1-based lines.
type Batch = Vec<(RawOp, usize)>;
const BATCH_OPS: usize = 4096;

/// Parses one line (with its newline, if any) into `out`.
fn parse_line(
    text: &[u8],
    line: usize,
    workload: Workload,
    out: &mut Batch,
) -> Result<(), Fallback> {
    if std::str::from_utf8(text).is_err() {
        return Err(Fallback {
            line,
            reason: "not UTF-8",
        });
    }
    let mut p = Parser::new(text, workload);
    while let Some(op) = p.next_op().map_err(|reason| Fallback { line, reason })? {
        out.push((op, line));
    }
    Ok(())
}

/// Reads lines and hands batches of parsed ops to `send` (which returns false once the consumer
/// has stopped). Returns the number of lines read.
fn parse_all(
    mut r: impl BufRead,
    workload: Workload,
    mut send: impl FnMut(Batch) -> bool,
) -> Result<usize, Fallback> {
    // A line is parsed where it lies in the reader's buffer; only a line that straddles two
    // buffer fills is copied (into `carry`).
    let mut carry: Vec<u8> = Vec::new();
    let mut batch = Batch::with_capacity(BATCH_OPS);
    let mut line = 0usize;
    loop {
        let chunk = r.fill_buf().map_err(|_| Fallback {
            line,
            reason: "read error",
        })?;
        if chunk.is_empty() {
            if !carry.is_empty() {
                line += 1;
                parse_line(&carry, line, workload, &mut batch)?;
            }
            break;
        }
        let Some(nl) = memchr::memchr(b'\n', chunk) else {
            carry.extend_from_slice(chunk);
            let n = chunk.len();
            r.consume(n);
            continue;
        };
        line += 1;
        if carry.is_empty() {
            parse_line(&chunk[..=nl], line, workload, &mut batch)?;
        } else {
            carry.extend_from_slice(&chunk[..=nl]);
            parse_line(&carry, line, workload, &mut batch)?;
            carry.clear();
        }
        r.consume(nl + 1);
        if batch.len() >= BATCH_OPS
            && !send(std::mem::replace(
                &mut batch,
                Batch::with_capacity(BATCH_OPS),
            ))
        {
            return Ok(line);
        }
    }
    send(batch);
    Ok(line)
}

/// As [`read_txns`], from any buffered reader (the text of an EDN op stream). Parsing runs on
/// this thread and pairing/interning on a second one, connected by a bounded channel of batches
/// in file order, so the result is the same as a sequential read.
pub fn read_txns_from(r: impl BufRead, workload: Workload) -> Result<Txns, Fallback> {
    let mut b = Builder {
        t: Txns::empty(workload),
        pending: FastMap::default(),
        invokers: FastMap::default(),
        standalone: FastMap::default(),
        queue: VecDeque::new(),
        base: 0,
    };
    let (tx, rx) = std::sync::mpsc::sync_channel::<Batch>(8);
    std::thread::scope(|sc| {
        let builder = sc.spawn(move || -> Result<Builder, Fallback> {
            for batch in rx {
                for (op, line) in batch {
                    b.push(op, line)?;
                }
            }
            Ok(b)
        });
        let parsed = parse_all(r, workload, |batch| tx.send(batch).is_ok());
        drop(tx);
        let built = builder
            .join()
            .expect("the streaming builder thread panicked");
        // Either problem means a fallback; which one is reported is for diagnostics only.
        match (parsed, built) {
            (_, Err(e)) | (Err(e), _) => Err(e),
            (Ok(lines), Ok(b)) => b.finish(lines),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::elle::txn::Mop;

    /// Everything of a [`Txns`] that the analyses read.
    #[allow(clippy::type_complexity)]
    fn shape(
        t: &Txns,
    ) -> (
        Vec<(u32, u32, OpType, i64, u32, u32)>,
        Vec<Mop>,
        Vec<u32>,
        Vec<Value>,
        Vec<Value>,
        Vec<usize>,
    ) {
        let txns = t
            .txns
            .iter()
            .map(|x| {
                (
                    x.invoke,
                    x.complete,
                    x.kind,
                    x.process,
                    x.mop_start,
                    x.mop_len,
                )
            })
            .collect();
        (
            txns,
            t.mops.clone(),
            t.elems.clone(),
            t.keys.values.clone(),
            t.vals.values.clone(),
            t.op_index.clone(),
        )
    }

    /// The generic path's `Txns`, or `None` when the generic reader rejects the text.
    fn generic(text: &str, w: Workload) -> Option<Txns> {
        let h = crate::io::read_history_str(text, "t").ok()?;
        Some(Txns::from_history(&h, w))
    }

    /// Streams `text`; if the streaming reader accepts it, its result must equal the generic one
    /// (and the generic reader must accept it, with nothing malformed). Returns whether it streamed.
    fn agree(text: &str, w: Workload) -> bool {
        match read_txns_from(text.as_bytes(), w) {
            Ok(s) => {
                let g = generic(text, w)
                    .unwrap_or_else(|| panic!("streamed what the generic reader rejects: {text}"));
                assert!(
                    g.malformed.is_empty(),
                    "streamed a malformed history: {text}"
                );
                assert_eq!(shape(&s), shape(&g), "{text}");
                true
            }
            Err(_) => false,
        }
    }

    const LA: Workload = Workload::ListAppend;

    #[test]
    fn generated_histories_stream_exactly_as_the_generic_reader_reads_them() {
        for seed in 0..12 {
            let g = crate::gen::AppendGen {
                txns: 300,
                seed,
                processes: 1 + seed as usize * 3,
                anomalies: (seed % 3) as usize * 10,
                info_per_mille: 50,
                fail_per_mille: 50,
                ..Default::default()
            };
            let mut out = Vec::new();
            crate::gen::write_list_append(&g, &mut out).unwrap();
            let text = String::from_utf8(out).unwrap();
            assert!(agree(&text, LA), "seed {seed} fell back");
            // Cut anywhere (trailing invocations never complete): still the same, or a fallback.
            let cut = &text[..text.len() * (seed as usize + 1) / 13];
            let cut = &cut[..cut.rfind('\n').map(|i| i + 1).unwrap_or(0)];
            assert!(agree(cut, LA), "seed {seed} cut fell back");
        }
    }

    /// Reads share storage with earlier reads of their key (see [`Txns`]); every micro-op must
    /// still show exactly the value the history holds, stale (shorter) reads included.
    #[test]
    fn shared_read_storage_keeps_every_read_as_written() {
        for seed in 0..4 {
            let g = crate::gen::AppendGen {
                txns: 2000,
                seed,
                anomalies: 40 * seed as usize,
                ..Default::default()
            };
            let mut out = Vec::new();
            crate::gen::write_list_append(&g, &mut out).unwrap();
            let text = String::from_utf8(out).unwrap();
            let h = crate::io::read_history_str(&text, "t").unwrap();
            let s = read_txns_from(text.as_bytes(), LA).unwrap();
            let stored: usize = s.mops.iter().map(|m| m.len as usize).sum();
            assert!(
                s.elems.len() < stored,
                "seed {seed}: no read shared storage"
            );
            for i in 0..s.len() as u32 {
                let x = &s.txns[i as usize];
                let value = match h.ops.get(x.complete as usize).map(|o| &o.value) {
                    Some(v @ Value::Vector(_)) => v,
                    _ => &h.ops[x.invoke as usize].value,
                };
                assert_eq!(s.txn_edn(i), value.to_string(), "seed {seed}, txn {i}");
            }
        }
    }

    #[test]
    fn jepsen_variants_stream_and_agree() {
        let streamed = [
            // Key order, no :index, extra keys, nemesis ops with sets and maps, comments, CRLF.
            "{:type :invoke, :process 0, :value [[:append 1 1] [:r 2 nil]], :f :txn}\n\
             {:process :nemesis, :type :info, :f :start, :value [:isolated {\"n1\" #{\"n2\" \"n3\"}}]}\r\n\
             ; a comment\n\n\
             {:value [[:append 1 1] [:r 2 [5 6]]], :type :ok, :process 0, :error [:timeout \"é\"], :x true}\n",
            // A completion without a vector value takes the invocation's; :info with no completion.
            "{:index 7, :type :invoke, :process 3, :value [[:r 1 nil] [:append 1 nil]]}\n\
             {:index 9, :type :info, :process 3, :value nil}\n\
             {:index 10, :type :invoke, :process 4, :value [[:append 2 -3]]}\n",
            // Standalone completions (Elle's ok-only histories), two ops on one line, an empty txn.
            "{:type :ok, :value [[:append 0 1]], :process 1} {:type :ok, :value [], :process 2}\n\
             {:type :ok, :value [[:r 0 [1]]], :process 3}\n",
            "",
        ];
        for t in streamed {
            assert!(agree(t, LA), "fell back: {t}");
        }
        let rw = "{:type :invoke, :process 0, :value [[:w 1 1] [:r 2 nil]]}\n\
                  {:type :ok, :process 0, :value [[:w 1 1] [:read 2 3]]}\n";
        assert!(agree(rw, Workload::RwRegister));
    }

    #[test]
    fn anything_unusual_falls_back_or_agrees() {
        let cases = [
            "[{:type :ok, :process 0, :value [[:append 1 1]]}]",
            "{:type :ok, :process 0,\n :value [[:append 1 1]]}",
            "{:type \"ok\", :process 0, :value [[:append 1 1]]}",
            "{:type :ok, :type :ok, :process 0, :value []}",
            "{:type :ok, :process 0, :value [], :x 1, :x 2}",
            "{:type :ok, :process 0, :time 1.5, :value []}",
            "{:type :ok, :process 0, :index -1, :value []}",
            "{:type :ok, :process 0, :value [[:append 01 1]]}",
            "{:type :ok, :process 0, :value [[:append 1 99999999999999999999]]}",
            "{:type :ok, :process 0, :value [[:w 1 1]]}",
            "{:type :ok, :process 0, :value [[:append \"k\" 1]]}",
            "{:type :ok, :process 0, :value [[:r 1 [1 :a]]]}",
            "{:type :ok, :process 0, :value ([:append 1 1])}",
            "{:type :ok, :process 0, :value [(:append 1 1)]}",
            "{:type :ok, :process 0, :value [[:append 1 1 2]]}",
            "{:type :ok, :process 0, :value 5}",
            "{:type :ok, :process 0, :value {:a 1}}",
            "{:type :ok, :process 0, :value [], :e #{1 1}}",
            "{:type :ok, :process 0, :value [], :e {[1] 2}}",
            "{:type :ok, :process 0, :value [], :e \"a\\\"b\"}",
            "{:type :ok, :process 0, :value [], :e #inst \"2020\"}",
            "{:type :ok, :process 0, :value [], :e \\c}",
            "{:type :ok, :process 0, :value [], :e foo}",
            "{:type :ok, :process 0, :value [], :e :a/b}",
            "{:type :ok, :process 0, :value [], :e :a.b-c?!*+_}",
            "{:type :ok, :process 0, :value [], :e [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}",
            "{:type :ok, :process nil, :value []}",
            "{:type :ok, :process [1], :value []}",
            "{:type :ok, :value []}",
            "{:type :invoke, :process 0, :value []}\n{:type :invoke, :process 0, :value []}",
            "{:type :invoke, :process 0, :value []}\n{:type :ok, :process 0, :value []}\n{:type :ok, :process 0, :value []}",
            "{:type :ok, :process 0, :value []}\n{:type :invoke, :process 0, :value []}",
            "{:type :ok, :process 0, :value []",
            "{:type :ok, :process 0, :value []}}",
            "\u{feff}{:type :ok, :process 0, :value []}",
            "{:type :ok, :process 0, :value [[:append 1 1]]}\n{:type :ok, :process 1, :value [[:append 1 1]]}",
            "{:type :ok :process 0 :value[[:append 1 1][:r 1 [1]]]}",
            "{:type :ok, :process 0, :value [[:r 1 nil]]} ; trailing comment",
        ];
        for t in cases {
            agree(t, LA);
        }
    }

    #[test]
    fn the_shared_corpus_streams_as_the_generic_reader_reads_it() {
        let Some(dir) = std::env::var_os("AURORA_CHAOS_HISTORIES") else {
            return;
        };
        let mut stack = vec![std::path::PathBuf::from(dir)];
        let mut paths = Vec::new();
        while let Some(d) = stack.pop() {
            for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
                let p = e.path();
                if p.is_dir() {
                    stack.push(p);
                } else if p.extension().is_some_and(|e| e == "edn") {
                    paths.push(p);
                }
            }
        }
        paths.sort();
        let mut streamed = 0;
        for p in &paths {
            let Ok(text) = std::fs::read_to_string(p) else {
                continue;
            };
            for w in [LA, Workload::RwRegister] {
                streamed += agree(&text, w) as usize;
            }
        }
        eprintln!("{streamed} of {} corpus files streamed", paths.len());
        assert!(streamed > 0, "no corpus file streamed");
    }

    #[test]
    fn a_bad_line_late_in_a_file_is_the_generic_readers_error() {
        use crate::elle::{ElleOptions, ListAppendChecker};
        use crate::Checker;
        let g = crate::gen::AppendGen {
            txns: 400,
            seed: 9,
            ..Default::default()
        };
        let mut text = Vec::new();
        crate::gen::write_list_append(&g, &mut text).unwrap();
        let lines = text.iter().filter(|&&b| b == b'\n').count();
        text.extend_from_slice(b"{:type :ok, :process 0, :value [[:append 1 1]]\n");
        let path = std::env::temp_dir().join(format!("stream-bad-{}.edn", std::process::id()));
        std::fs::write(&path, &text).unwrap();
        let checked = ListAppendChecker::new(ElleOptions::default()).check_file(&path);
        let streamed = read_txns(&path, LA);
        std::fs::remove_file(&path).unwrap();
        assert_eq!(streamed.map(|_| ()).unwrap_err().line, lines + 1);
        let e = checked.unwrap_err();
        assert_eq!(e.line, lines + 1, "{e}");
        assert!(e.to_string().contains("stream-bad-"), "{e}");
    }
}
