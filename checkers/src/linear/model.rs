//! The sequential models: (cas-)register, mutex and Knossos's multi-register.
//!
//! Values are interned to `u32` ids per partition ([`Interner`]); id 0 is nil. Ops with an unknown
//! outcome use the `*Maybe` variants, which are always legal (see the search's contract).

use super::search::Model;
use crate::value::Value;
use std::collections::BTreeMap;

/// Id of nil.
pub const NIL: u32 = 0;

/// Maps values to dense ids and back. Id 0 is nil.
#[derive(Debug, Clone)]
pub struct Interner {
    ids: BTreeMap<Value, u32>,
    values: Vec<Value>,
}

impl Default for Interner {
    fn default() -> Self {
        let mut ids = BTreeMap::new();
        ids.insert(Value::Nil, NIL);
        Interner {
            ids,
            values: vec![Value::Nil],
        }
    }
}

impl Interner {
    pub fn id(&mut self, v: &Value) -> u32 {
        if let Some(&i) = self.ids.get(v) {
            return i;
        }
        let i = self.values.len() as u32;
        self.ids.insert(v.clone(), i);
        self.values.push(v.clone());
        i
    }
    pub fn value(&self, id: u32) -> &Value {
        &self.values[id as usize]
    }
}

/// A register operation, values interned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegOp {
    /// An ok read that returned this value.
    Read(u32),
    Write(u32),
    /// An ok cas: requires `old`, sets `new`.
    Cas(u32, u32),
    /// A cas with unknown outcome: sets `new` if the register holds `old`, else nothing.
    CasMaybe(u32, u32),
    /// A failed cas under Porcupine's semantics: an observation that the register was not `old`.
    CasFailed(u32),
}

/// Register and cas-register. State: the value id.
#[derive(Debug, Clone, Copy)]
pub struct Register {
    /// An ok read of nil matches any state (Knossos); otherwise it requires nil (Porcupine).
    pub nil_read_wildcard: bool,
}

impl Model for Register {
    type State = u32;
    type Op = RegOp;
    fn step(&self, s: &u32, op: &RegOp) -> Option<u32> {
        match *op {
            RegOp::Read(v) => (v == *s || (v == NIL && self.nil_read_wildcard)).then_some(*s),
            RegOp::Write(v) => Some(v),
            RegOp::Cas(old, new) => (*s == old).then_some(new),
            RegOp::CasMaybe(old, new) => Some(if *s == old { new } else { *s }),
            RegOp::CasFailed(old) => (*s != old).then_some(*s),
        }
    }
    fn read_only(&self, op: &RegOp) -> bool {
        matches!(op, RegOp::Read(_) | RegOp::CasFailed(_))
    }
}

/// A mutex operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MutexOp {
    Acquire,
    Release,
    AcquireMaybe,
    ReleaseMaybe,
}

/// Knossos's mutex. State: `true` when held.
#[derive(Debug, Clone, Copy)]
pub struct Mutex;

impl Model for Mutex {
    type State = bool;
    type Op = MutexOp;
    fn step(&self, held: &bool, op: &MutexOp) -> Option<bool> {
        match op {
            MutexOp::Acquire => (!held).then_some(true),
            MutexOp::Release => held.then_some(false),
            MutexOp::AcquireMaybe => Some(true),
            MutexOp::ReleaseMaybe => Some(false),
        }
    }
}

/// One micro-op of a multi-register txn: key id and value id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mop {
    Read(usize, u32),
    Write(usize, u32),
}

/// A multi-register txn: micro-ops in order; `maybe` when the outcome is unknown (reads are then
/// unconstrained and the writes apply).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Txn {
    pub mops: Vec<Mop>,
    pub maybe: bool,
}

/// Knossos's multi-register: a vector of registers indexed by key id. A read of nil matches anything.
#[derive(Debug, Clone, Copy)]
pub struct MultiRegister;

impl Model for MultiRegister {
    type State = Vec<u32>;
    type Op = Txn;
    fn step(&self, s: &Vec<u32>, t: &Txn) -> Option<Vec<u32>> {
        let mut s = s.clone();
        for m in &t.mops {
            match *m {
                Mop::Read(k, v) => {
                    if !t.maybe && v != NIL && s[k] != v {
                        return None;
                    }
                }
                Mop::Write(k, v) => s[k] = v,
            }
        }
        Some(s)
    }
    fn read_only(&self, t: &Txn) -> bool {
        !t.maybe && t.mops.iter().all(|m| matches!(m, Mop::Read(..)))
    }
}
