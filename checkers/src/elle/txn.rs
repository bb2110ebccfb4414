//! Transactions as the Elle analyses see them: a compact, interned form of a history.
//!
//! Only ops whose `:process` is an integer are kept (Elle's `client-ops`). Each invocation is paired
//! with the next completion of its process ([`History::pairs_with`] with [`PairRules::LENIENT`]); a
//! completion of a process that never invokes stands for both; anything that cannot be paired
//! unambiguously is malformed input; an
//! invocation with no completion is `Info`. A transaction's micro-ops come from its completion's
//! `:value` (the invocation's when the completion has none).
//!
//! Invariants of [`Txns`]:
//! - `txns` is in invocation order; a transaction's id is its position (`u32`), and graphs use it;
//! - keys and values are interned in order of first appearance (so ids are deterministic), with
//!   `nil` always value id [`NIL_VAL`];
//! - a list read's elements are `elems[m.start .. m.start + m.len]` (value ids), unless `m.val ==
//!   UNKNOWN` (a `nil` read: an invocation, or a crashed op). Reads may share storage: a read
//!   equal to a prefix of an earlier stored read of its key points into that read's elements, so
//!   ranges can overlap and are not in micro-op order (only their contents are meaningful).

use crate::history::{History, OpType, PairRules, Process};
use crate::value::Value;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// Process ids given to the ops of a history that has no `:process` at all.
pub const SYNTHETIC_PROCESS_BASE: i64 = 1 << 40;

/// A small, fast, non-cryptographic hasher (the Fx hash used by rustc) for the lookup-only maps
/// of the analysis. Maps built with it are never iterated where order could reach output.
#[derive(Debug, Default, Clone, Copy)]
pub struct FxHasher(u64);

impl FxHasher {
    #[inline]
    fn add(&mut self, x: u64) {
        self.0 = (self.0.rotate_left(5) ^ x).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

impl Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut b = [0u8; 8];
            b[..chunk.len()].copy_from_slice(chunk);
            self.add(u64::from_le_bytes(b));
        }
    }
    fn write_u8(&mut self, x: u8) {
        self.add(x as u64)
    }
    fn write_u32(&mut self, x: u32) {
        self.add(x as u64)
    }
    fn write_u64(&mut self, x: u64) {
        self.add(x)
    }
    fn write_i64(&mut self, x: i64) {
        self.add(x as u64)
    }
    fn write_usize(&mut self, x: usize) {
        self.add(x as u64)
    }
    /// Finishes with a full avalanche (murmur3's fmix64): hashbrown takes the bucket from the low
    /// bits and the tag from the high ones, and the raw Fx state is weak in the low bits for
    /// small integer keys.
    fn finish(&self) -> u64 {
        let mut x = self.0;
        x ^= x >> 33;
        x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
        x ^= x >> 33;
        x = x.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
        x ^ (x >> 33)
    }
}

/// A lookup-only hash map with [`FxHasher`].
pub type FastMap<K, V> = HashMap<K, V, BuildHasherDefault<FxHasher>>;

/// Micro-op kinds.
pub const APPEND: u8 = 0;
pub const READ: u8 = 1;
pub const WRITE: u8 = 2;
/// Value id of `nil`.
pub const NIL_VAL: u32 = 0;
/// `Mop::val` of a list read whose value is `nil` (not observed).
pub const UNKNOWN: u32 = u32::MAX;

/// One micro-op: `[:append k v]`, `[:r k v]` or `[:w k v]`, with interned key and value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mop {
    pub f: u8,
    pub key: u32,
    /// Appended/written value id; register read value id; for list reads `0` or [`UNKNOWN`].
    pub val: u32,
    pub start: u32,
    pub len: u32,
}

/// One transaction: an invocation and its outcome.
#[derive(Debug, Clone, Copy)]
pub struct Txn {
    /// Position of the invocation in the history.
    pub invoke: u32,
    /// Position of the completion, or `u32::MAX` when there is none.
    pub complete: u32,
    pub kind: OpType,
    pub process: i64,
    pub mop_start: u32,
    pub mop_len: u32,
}

/// Interns values: ids are dense and assigned in order of first appearance. The map is used for
/// lookups only; iteration always goes through `values`.
#[derive(Debug, Default)]
pub struct Interner {
    ids: FastMap<Value, u32>,
    pub values: Vec<Value>,
}

impl Interner {
    pub fn intern(&mut self, v: &Value) -> u32 {
        if let Some(&id) = self.ids.get(v) {
            return id;
        }
        let id = self.values.len() as u32;
        self.ids.insert(v.clone(), id);
        self.values.push(v.clone());
        id
    }
    pub fn get(&self, id: u32) -> &Value {
        &self.values[id as usize]
    }
}

/// Which micro-ops a workload allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Workload {
    ListAppend,
    RwRegister,
}

/// A history in transaction form.
#[derive(Debug)]
pub struct Txns {
    pub workload: Workload,
    pub txns: Vec<Txn>,
    pub mops: Vec<Mop>,
    pub elems: Vec<u32>,
    pub keys: Interner,
    /// Value ids. For list-append, ids are per `(key, value)` pair (an appended element is unique
    /// per key), so an element id alone identifies an append and can index dense tables.
    pub vals: Interner,
    elems_by_key: FastMap<(u32, Value), u32>,
    /// Fast path of `elems_by_key` for integer elements (the common case): no Value clone.
    int_elems_by_key: FastMap<(u32, i64), u32>,
    /// Per key id, element ids of small non-negative integer elements, indexed by value
    /// (`u32::MAX`: none), and how many are filed; see [`Txns::intern_elem`].
    dense_elems: Vec<(Vec<u32>, u32)>,
    /// Per key id, the longest run of integer elements read so far with their ids: most reads are
    /// prefixes of it, so their elements are resolved by comparison instead of hashing.
    read_cache: Vec<Vec<(i64, u32)>>,
    /// Per key id, `(start, len)` in `elems` of the longest stored read: a later read equal to a
    /// prefix of it shares its elements instead of storing a copy.
    stored_runs: Vec<(u32, u32)>,
    /// History `:index` of each op position (for reporting).
    pub op_index: Vec<usize>,
    /// Malformed transactions and pairing errors, as messages naming the line (a checker answers
    /// `malformed-history` when there is any).
    pub malformed: Vec<String>,
    /// The 1-based source line of each `malformed` message.
    pub malformed_lines: Vec<usize>,
}

impl Txns {
    pub fn mops(&self, t: u32) -> &[Mop] {
        let t = &self.txns[t as usize];
        &self.mops[t.mop_start as usize..(t.mop_start + t.mop_len) as usize]
    }
    pub fn list(&self, m: &Mop) -> &[u32] {
        &self.elems[m.start as usize..(m.start + m.len) as usize]
    }
    /// The `:index` of the op that reports this transaction (its completion, else its invocation).
    pub fn index(&self, t: u32) -> usize {
        let t = &self.txns[t as usize];
        let pos = if t.complete == u32::MAX {
            t.invoke
        } else {
            t.complete
        };
        self.op_index[pos as usize]
    }
    /// A micro-op as EDN, e.g. `[:append 1 2]`, `[:r 1 [1 2]]`, `[:w "x" 3]`.
    pub fn mop_edn(&self, m: &Mop) -> String {
        let k = self.keys.get(m.key);
        match m.f {
            APPEND => format!("[:append {k} {}]", self.vals.get(m.val)),
            WRITE => format!("[:w {k} {}]", self.vals.get(m.val)),
            _ if m.val == UNKNOWN => format!("[:r {k} nil]"),
            _ if self.is_list_read(m) => {
                let xs: Vec<String> = self
                    .list(m)
                    .iter()
                    .map(|&x| self.vals.get(x).to_string())
                    .collect();
                format!("[:r {k} [{}]]", xs.join(" "))
            }
            _ => format!("[:r {k} {}]", self.vals.get(m.val)),
        }
    }
    fn is_list_read(&self, m: &Mop) -> bool {
        self.workload == Workload::ListAppend && m.f == READ
    }
    /// A transaction's micro-ops as EDN.
    pub fn txn_edn(&self, t: u32) -> String {
        let ms: Vec<String> = self.mops(t).iter().map(|m| self.mop_edn(m)).collect();
        format!("[{}]", ms.join(" "))
    }
    /// The transaction as explanations show it.
    pub fn txn_ref(&self, i: u32) -> super::explain::TxnRef {
        let x = &self.txns[i as usize];
        super::explain::TxnRef {
            index: self.index(i),
            process: x.process,
            kind: x.kind.name().into(),
            value: self.txn_edn(i),
            invoke_index: self.op_index[x.invoke as usize],
        }
    }
    /// Lengths and capacities of the big tables, as text (profiling only).
    pub fn footprint(&self) -> String {
        fn mb<T>(v: &Vec<T>) -> String {
            let sz = std::mem::size_of::<T>();
            format!(
                "{}/{} MB",
                v.len() * sz / 1_000_000,
                v.capacity() * sz / 1_000_000
            )
        }
        format!(
            "txns {} ({}), mops {} ({}), elems {} ({}), vals {} ({}), keys {}, op_index {}, \
             dense_elems {}, read_cache {}, int_elems_by_key {}",
            self.txns.len(),
            mb(&self.txns),
            self.mops.len(),
            mb(&self.mops),
            self.elems.len(),
            mb(&self.elems),
            self.vals.values.len(),
            mb(&self.vals.values),
            self.keys.values.len(),
            mb(&self.op_index),
            self.dense_elems.len(),
            self.read_cache.len(),
            self.int_elems_by_key.len()
        )
    }
    pub fn is_ok(&self, t: u32) -> bool {
        self.txns[t as usize].kind == OpType::Ok
    }
    pub fn len(&self) -> usize {
        self.txns.len()
    }
    pub fn is_empty(&self) -> bool {
        self.txns.is_empty()
    }

    /// An empty transaction form (only `nil` interned), to be filled by [`Txns::from_history`] or
    /// the streaming reader ([`super::stream`]).
    pub(crate) fn empty(workload: Workload) -> Txns {
        let mut out = Txns {
            workload,
            txns: Vec::new(),
            mops: Vec::new(),
            elems: Vec::new(),
            keys: Interner::default(),
            vals: Interner::default(),
            elems_by_key: FastMap::default(),
            int_elems_by_key: FastMap::default(),
            dense_elems: Vec::new(),
            read_cache: Vec::new(),
            stored_runs: Vec::new(),
            op_index: Vec::new(),
            malformed: Vec::new(),
            malformed_lines: Vec::new(),
        };
        out.vals.intern(&Value::Nil);
        out
    }

    /// Frees what only building needs (the element-interning tables and read caches, about a
    /// tenth of the memory of a large history) once every transaction is in. Nothing may be
    /// pushed afterwards; lookups of keys and values by id are unaffected.
    pub(crate) fn seal(&mut self) {
        self.elems_by_key = FastMap::default();
        self.int_elems_by_key = FastMap::default();
        self.dense_elems = Vec::new();
        self.read_cache = Vec::new();
        self.stored_runs = Vec::new();
        self.keys.ids = FastMap::default();
        self.vals.ids = FastMap::default();
    }

    /// Builds the transaction form of `history`. Never panics on malformed input: bad micro-ops are
    /// reported in `malformed` and skipped.
    pub fn from_history(history: &History, workload: Workload) -> Txns {
        let mut out = Txns::empty(workload);
        out.op_index = history.ops.iter().map(|o| o.index).collect();
        // Pairing is strict (see `PairRules::LENIENT`): an op without `:process` in a history that
        // has them, a double invocation, or a completion that cannot be matched is malformed input
        // (never paired first-in-first-out). A history with no `:process` at all (hand-written
        // examples such as Elle's paper example) pairs in order while at most one invocation is
        // pending; each of its transactions gets a synthetic process of its own. (Elle's
        // `client-ops` would keep nothing and answer unknown; a user who wrote such a file means
        // its transactions.)
        let raw = match history.pairs_with(PairRules::LENIENT) {
            Ok(p) => p,
            Err(e) => {
                out.malformed_lines.push(e.line());
                out.malformed.push(e.to_string());
                return out;
            }
        };
        let mut pairs: Vec<(usize, Option<usize>, i64)> = Vec::with_capacity(raw.len());
        for (n, pr) in raw.iter().enumerate() {
            let process = match &history.ops[pr.invoke].process {
                Some(Process::Client(p)) => *p,
                None => SYNTHETIC_PROCESS_BASE + n as i64,
                Some(_) => continue,
            };
            pairs.push((pr.invoke, pr.complete, process));
        }
        for (inv, comp, process) in pairs {
            let kind = comp.map(|c| history.ops[c].kind).unwrap_or(OpType::Info);
            let value = match comp.map(|c| &history.ops[c].value) {
                Some(v @ Value::Vector(_)) => v,
                _ => &history.ops[inv].value,
            };
            let mop_start = out.mops.len() as u32;
            let at = &history.ops[comp.unwrap_or(inv)];
            out.parse_txn(value, workload, kind == OpType::Ok, at.index, at.line);
            out.txns.push(Txn {
                invoke: inv as u32,
                complete: comp.map(|c| c as u32).unwrap_or(u32::MAX),
                kind,
                process,
                mop_start,
                mop_len: out.mops.len() as u32 - mop_start,
            });
        }
        out.seal();
        out
    }

    /// The id of element `v` of key `key` (list-append).
    ///
    /// Integer elements live in a per-key table indexed by value when the value is small next to
    /// the key's table (Jepsen appends 1, 2, 3… per key), else in `int_elems_by_key`; a lookup
    /// checks both, so where an element was filed never changes its id.
    fn intern_elem(&mut self, key: u32, v: &Value) -> u32 {
        if let Value::Int(x) = v {
            let next = self.vals.values.len() as u32;
            if self.dense_elems.len() <= key as usize {
                self.dense_elems
                    .resize_with(key as usize + 1, Default::default);
            }
            let (dense, filled) = &mut self.dense_elems[key as usize];
            // Bounded by the elements filed so far: the table stays under 2 slots per element
            // plus 64 per key, whatever the values.
            let slot = usize::try_from(*x)
                .ok()
                .filter(|&i| i < 2 * *filled as usize + 64);
            if let Some(&id) = slot
                .and_then(|i| dense.get(i))
                .filter(|&&id| id != u32::MAX)
            {
                return id;
            }
            if let Some(&id) = self.int_elems_by_key.get(&(key, *x)) {
                return id;
            }
            match slot {
                Some(i) => {
                    if dense.len() <= i {
                        dense.resize(i + 1, u32::MAX);
                    }
                    dense[i] = next;
                    *filled += 1;
                }
                None => {
                    self.int_elems_by_key.insert((key, *x), next);
                }
            }
            self.vals.values.push(v.clone());
            return next;
        }
        let k = (key, v.clone());
        if let Some(&id) = self.elems_by_key.get(&k) {
            return id;
        }
        let id = self.vals.values.len() as u32;
        self.vals.values.push(v.clone());
        self.elems_by_key.insert(k, id);
        id
    }

    fn parse_txn(
        &mut self,
        value: &Value,
        workload: Workload,
        ok: bool,
        index: usize,
        line: usize,
    ) {
        let Some(mops) = value.as_vec() else {
            self.malformed_lines.push(line);
            self.malformed.push(format!(
                "line {line}: op {index}: :value {value} is not a vector of micro-ops"
            ));
            return;
        };
        for mop in mops {
            if let Err(e) = self.parse_mop(mop, workload, ok) {
                self.malformed_lines.push(line);
                self.malformed
                    .push(format!("line {line}: op {index}: micro-op {mop}: {e}"));
            }
        }
    }

    fn parse_mop(&mut self, mop: &Value, workload: Workload, ok: bool) -> Result<(), &'static str> {
        let parts = mop.as_vec().ok_or("not a vector")?;
        let [f, k, v] = parts else {
            return Err("expected [f k v]");
        };
        let f = match (f.as_name().ok_or("f is not a name")?, workload) {
            ("append", Workload::ListAppend) => APPEND,
            ("r" | "read", _) => READ,
            ("w" | "write", Workload::RwRegister) => WRITE,
            _ => return Err("unexpected micro-op type for this workload"),
        };
        self.push_mop(f, k, MopArg::Value(v), ok)
    }

    /// Appends one micro-op of kind `f` (already checked against the workload) on key `k`. This is
    /// the one place where micro-ops become [`Mop`]s, whichever reader produced them, so that ids
    /// and errors do not depend on the reader.
    pub(crate) fn push_mop(
        &mut self,
        f: u8,
        k: &Value,
        v: MopArg<'_>,
        ok: bool,
    ) -> Result<(), &'static str> {
        let key = self.keys.intern(k);
        let mut m = Mop {
            f,
            key,
            val: 0,
            start: 0,
            len: 0,
        };
        let list_read = f == READ && self.workload == Workload::ListAppend;
        match (v, list_read) {
            (MopArg::Value(Value::Nil), true) if ok => m.start = self.elems.len() as u32,
            (MopArg::Value(Value::Nil), true) => m.val = UNKNOWN,
            (MopArg::Value(Value::Vector(xs)), true) => {
                m.start = self.elems.len() as u32;
                for (j, x) in xs.iter().enumerate() {
                    let id = self.read_elem(key, j, x);
                    self.elems.push(id);
                }
                m.len = xs.len() as u32;
                self.share_read(&mut m);
            }
            (MopArg::Ints(xs), true) => {
                m.start = self.elems.len() as u32;
                for (j, &x) in xs.iter().enumerate() {
                    let id = self.read_elem(key, j, &Value::Int(x));
                    self.elems.push(id);
                }
                m.len = xs.len() as u32;
                self.share_read(&mut m);
            }
            (MopArg::Value(_), true) => return Err("a list read's value must be a vector or nil"),
            (MopArg::Ints(_), false) => return Err("a list is not a register value"),
            (MopArg::Value(v), false) => {
                m.val = if self.workload == Workload::ListAppend {
                    self.intern_elem(key, v)
                } else {
                    self.vals.intern(v)
                }
            }
        }
        self.mops.push(m);
        Ok(())
    }

    /// `m` is a list read just stored at the end of `elems`. If it equals a prefix of its key's
    /// longest stored read, it is dropped from the end and points into that read instead; if it
    /// is longer, it becomes the key's longest stored read.
    fn share_read(&mut self, m: &mut Mop) {
        if m.len == 0 {
            return;
        }
        let k = m.key as usize;
        if self.stored_runs.len() <= k {
            self.stored_runs.resize(k + 1, (0, 0));
        }
        let (cs, cl) = self.stored_runs[k];
        let (s, n) = (m.start as usize, m.len as usize);
        if n <= cl as usize && self.elems[cs as usize..cs as usize + n] == self.elems[s..s + n] {
            self.elems.truncate(s);
            m.start = cs;
        } else if n > cl as usize {
            self.stored_runs[k] = (m.start, m.len);
        }
    }

    /// The id of element `x` at position `j` of a list read of key `key`: most reads are prefixes
    /// of the longest integer run read so far, so they are resolved by comparison, not hashing.
    fn read_elem(&mut self, key: u32, j: usize, x: &Value) -> u32 {
        if self.read_cache.len() <= key as usize {
            self.read_cache.resize_with(key as usize + 1, Vec::new);
        }
        if let (Value::Int(v), Some(&(c, id))) = (x, self.read_cache[key as usize].get(j)) {
            if c == *v {
                return id;
            }
        }
        let id = self.intern_elem(key, x);
        let cache = &mut self.read_cache[key as usize];
        if let (Value::Int(v), true) = (x, cache.len() == j) {
            cache.push((*v, id));
        }
        id
    }
}

/// The value of a micro-op as a reader hands it to [`Txns::push_mop`]: a parsed [`Value`], or the
/// integer elements of a list read (the streaming reader's form; equal to a `Value::Vector` of
/// `Value::Int`s).
#[derive(Debug, Clone, Copy)]
pub(crate) enum MopArg<'a> {
    Value(&'a Value),
    Ints(&'a [i64]),
}

/// External reads of a register transaction: the first read of each key that precedes any write
/// of it in the txn, as `(key, value)` in micro-op order.
pub fn ext_reads(mops: &[Mop]) -> Vec<(u32, u32)> {
    let mut seen: Vec<u32> = Vec::new();
    let mut out = Vec::new();
    for m in mops {
        if !seen.contains(&m.key) {
            seen.push(m.key);
            if m.f == READ {
                out.push((m.key, m.val));
            }
        }
    }
    out
}

/// External writes of a register transaction: the last write of each key, as `(key, value)` in order
/// of the key's first write.
pub fn ext_writes(mops: &[Mop]) -> Vec<(u32, u32)> {
    let mut out: Vec<(u32, u32)> = Vec::new();
    for m in mops.iter().filter(|m| m.f == WRITE) {
        match out.iter_mut().find(|(k, _)| *k == m.key) {
            Some(e) => e.1 = m.val,
            None => out.push((m.key, m.val)),
        }
    }
    out
}
