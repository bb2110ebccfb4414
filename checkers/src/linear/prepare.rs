//! From a history to per-partition operation lists, and running the search on each partition.

use super::explain::FailureData;
use super::model::{Interner, Mop, MultiRegister, Mutex, MutexOp, RegOp, Register, Txn, NIL};
use super::search::{self, LinOp, Outcome, INFINITY};
use super::zones::{self, ZoneOp, Zones};
use super::{FailSemantics, LinearOptions, ModelKind, PartitionResult};
use crate::budget::Meter;
use crate::history::{History, Op, OpType, Pair, PairError};
use crate::io::edn_short as short;
use crate::value::Value;
use std::collections::BTreeMap;

impl PrepareError {
    /// The 1-based source line of the op at fault.
    pub fn line(&self) -> usize {
        match self {
            PrepareError::Pairs(e) => e.line(),
            PrepareError::Shape { line, .. } => *line,
        }
    }
}

/// Why a history cannot be checked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PrepareError {
    #[error(transparent)]
    Pairs(#[from] PairError),
    #[error("line {line}: op {index}: {problem}")]
    Shape {
        line: usize,
        index: usize,
        problem: String,
    },
}

/// A model op of any kind.
#[derive(Debug, Clone)]
pub(crate) enum AnyOp {
    Reg(RegOp),
    Mutex(MutexOp),
    Txn(Txn),
}

/// One op of a partition, with the pair it came from.
#[derive(Debug, Clone)]
pub(crate) struct Item {
    pub pair: Pair,
    pub call: u64,
    pub ret: u64,
    pub unknown: bool,
    pub op: AnyOp,
}

/// One independently checked part of the history.
#[derive(Debug, Clone, Default)]
pub(crate) struct Partition {
    pub key: Option<Value>,
    pub values: Interner,
    /// Multi-register key ids.
    pub mkeys: BTreeMap<Value, usize>,
    pub items: Vec<Item>,
}

fn shape(op: &Op, problem: String) -> PrepareError {
    PrepareError::Shape {
        line: op.line,
        index: op.index,
        problem,
    }
}

/// Splits `[key v]` when `independent`.
fn split<'v>(
    op: &Op,
    v: &'v Value,
    independent: bool,
) -> Result<(Option<&'v Value>, &'v Value), PrepareError> {
    if !independent {
        return Ok((None, v));
    }
    match v.as_vec() {
        Some([k, x]) => Ok((Some(k), x)),
        _ => Err(shape(
            op,
            format!("independent :value must be [key value], found {}", short(v)),
        )),
    }
}

/// Builds the partitions (one per key when `independent`, else one), keys in order.
pub(crate) fn partitions(h: &History, o: &LinearOptions) -> Result<Vec<Partition>, PrepareError> {
    let mut parts: BTreeMap<Option<Value>, Partition> = BTreeMap::new();
    for pair in h.pairs()? {
        let inv = &h.ops[pair.invoke];
        if inv.client().is_none() {
            continue;
        }
        let outcome = pair.outcome(h);
        if outcome == OpType::Fail
            && !(o.fail_semantics == FailSemantics::ObservedFailure && inv.f() == "cas")
        {
            continue;
        }
        let comp = pair.complete.map(|c| &h.ops[c]);
        let (key, inv_v) = split(inv, &inv.value, o.independent)?;
        let comp_v = match comp {
            Some(c) if outcome == OpType::Ok => split(c, &c.value, o.independent)?.1,
            _ => inv_v,
        };
        let part = parts.entry(key.cloned()).or_insert_with(|| Partition {
            key: key.cloned(),
            ..Partition::default()
        });
        let unknown = outcome == OpType::Info;
        let op = match o.model {
            ModelKind::Register | ModelKind::CasRegister => {
                match reg_op(inv, outcome, inv_v, comp_v, o, &mut part.values)? {
                    Some(op) => AnyOp::Reg(op),
                    None => continue,
                }
            }
            ModelKind::Mutex => AnyOp::Mutex(match (inv.f(), unknown) {
                ("acquire", false) => MutexOp::Acquire,
                ("acquire", true) => MutexOp::AcquireMaybe,
                ("release", false) => MutexOp::Release,
                ("release", true) => MutexOp::ReleaseMaybe,
                (f, _) => return Err(shape(inv, format!("the mutex model has no :f :{f}"))),
            }),
            ModelKind::MultiRegister => {
                if inv.f() != "txn" {
                    return Err(shape(
                        inv,
                        format!("the multi-register model has no :f :{}", inv.f()),
                    ));
                }
                let src = if unknown { inv_v } else { comp_v };
                AnyOp::Txn(txn(inv, src, unknown, part)?)
            }
        };
        let call = pair.invoke as u64;
        let ret = pair.complete.map(|c| c as u64).unwrap_or(INFINITY);
        part.items.push(Item {
            pair,
            call,
            ret,
            unknown,
            op,
        });
    }
    Ok(parts.into_values().collect())
}

/// The register op for a pair, or `None` when it imposes nothing (unknown or failed reads).
fn reg_op(
    inv: &Op,
    outcome: OpType,
    inv_v: &Value,
    comp_v: &Value,
    o: &LinearOptions,
    vals: &mut Interner,
) -> Result<Option<RegOp>, PrepareError> {
    let unknown = outcome == OpType::Info;
    let failed = outcome == OpType::Fail;
    Ok(Some(match inv.f() {
        "read" if unknown || failed => return Ok(None),
        "read" => RegOp::Read(vals.id(comp_v)),
        "write" if failed => return Ok(None),
        "write" => RegOp::Write(vals.id(inv_v)),
        "cas" if o.model == ModelKind::CasRegister => {
            let Some([old, new]) = inv_v.as_vec() else {
                return Err(shape(
                    inv,
                    format!(":cas value must be [old new], found {}", short(inv_v)),
                ));
            };
            let (old, new) = (vals.id(old), vals.id(new));
            match outcome {
                OpType::Fail => RegOp::CasFailed(old),
                OpType::Info | OpType::Invoke => RegOp::CasMaybe(old, new),
                OpType::Ok => RegOp::Cas(old, new),
            }
        }
        f => {
            return Err(shape(
                inv,
                format!("the {:?} model has no :f :{f}", o.model),
            ))
        }
    }))
}

/// Parses a multi-register txn `[[:read k v] [:write k v] ...]`.
fn txn(inv: &Op, v: &Value, maybe: bool, part: &mut Partition) -> Result<Txn, PrepareError> {
    let Some(ms) = v.as_vec() else {
        return Err(shape(
            inv,
            format!(":txn value must be a vector, found {}", short(v)),
        ));
    };
    let mut mops = Vec::with_capacity(ms.len());
    for m in ms {
        let Some([f, k, x]) = m.as_vec() else {
            return Err(shape(
                inv,
                format!("micro-op must be [f k v], found {}", short(m)),
            ));
        };
        let next = part.mkeys.len();
        let kid = *part.mkeys.entry(k.clone()).or_insert(next);
        let xid = part.values.id(x);
        mops.push(match f.as_name() {
            Some("read" | "r") => Mop::Read(kid, xid),
            Some("write" | "w") => Mop::Write(kid, xid),
            _ => return Err(shape(inv, format!("unknown micro-op {}", short(m)))),
        });
    }
    Ok(Txn { mops, maybe })
}

fn lin_ops<O: Clone>(items: &[Item], f: impl Fn(&AnyOp) -> Option<O>) -> Vec<LinOp<O>> {
    items
        .iter()
        .filter_map(|it| {
            Some(LinOp {
                call: it.call,
                ret: it.ret,
                unknown: it.unknown,
                op: f(&it.op)?,
            })
        })
        .collect()
}

fn finish<S>(p: &Partition, out: Outcome<S>, render: impl Fn(&S) -> Value) -> PartitionResult {
    let mut r = PartitionResult {
        key: p.key.clone(),
        ops: p.items.len(),
        configs: 0,
        timed_out: false,
        exhausted: None,
        zones: false,
        failure: None,
    };
    match out {
        Outcome::Linearizable { configs } => r.configs = configs,
        Outcome::Timeout { configs, reason } => {
            r.configs = configs;
            r.timed_out = true;
            r.exhausted = Some(reason);
        }
        Outcome::Illegal { configs, failure } => {
            r.configs = configs;
            r.failure = Some(FailureData {
                prefix: failure.prefix.iter().map(|&i| p.items[i].pair).collect(),
                blocked: p.items[failure.blocked].pair,
                states: failure.states.iter().map(render).collect(),
            });
        }
    }
    r
}

/// Runs the search on one partition, with a fresh meter of `budget` units (so a partition's
/// outcome does not depend on the others, nor on which thread ran it) and the shared user deadline.
pub(crate) fn run(
    p: &Partition,
    o: &LinearOptions,
    budget: u64,
    deadline: Option<(std::time::Instant, std::time::Duration)>,
) -> PartitionResult {
    let meter = &mut Meter::with_deadline(budget, deadline);
    match o.model {
        ModelKind::Register | ModelKind::CasRegister => {
            let mut vals = p.values.clone();
            let init = vals.id(&o.initial_value);
            let ops = lin_ops(&p.items, |a| {
                if let AnyOp::Reg(r) = a {
                    Some(*r)
                } else {
                    None
                }
            });
            let m = Register {
                nil_read_wildcard: o.nil_read_wildcard,
            };
            // Distinct writes and no cas: decided in polynomial time (see `zones`); the search
            // still explains an illegal history, within its budget.
            let zops: Vec<ZoneOp> = ops
                .iter()
                .map(|l| ZoneOp {
                    call: l.call,
                    ret: l.ret,
                    unknown: l.unknown,
                    op: l.op,
                })
                .collect();
            let zones = zones::decide(&zops, init, o.nil_read_wildcard);
            if zones == Zones::Linearizable {
                let mut r = finish(p, Outcome::<u32>::Linearizable { configs: 0 }, |_| {
                    Value::Nil
                });
                r.zones = true;
                return r;
            }
            // Explaining a refuted history needs no more than a tenth of the budget: past that
            // the verdict stands with the refuting op alone.
            let mut explain = Meter::with_deadline(budget / 10, deadline);
            let meter = if zones == Zones::NotApplicable {
                meter
            } else {
                &mut explain
            };
            let out = search::check(&m, &init, &ops, meter);
            let out = match (zones, out) {
                (Zones::Illegal(i), Outcome::Timeout { configs, .. }) => Outcome::Illegal {
                    configs,
                    failure: search::Failure {
                        prefix: Vec::new(),
                        blocked: i,
                        states: Vec::new(),
                    },
                },
                (_, out) => out,
            };
            // `zones` records that the procedure decided; were the search ever to find a
            // linearization the procedure refuted, the search's (complete) answer stands and
            // the partition does not count as decided by zones (the tests require none).
            let agrees = !matches!(out, Outcome::Linearizable { .. });
            let mut r = finish(p, out, |s| vals.value(*s).clone());
            r.zones = zones != Zones::NotApplicable && agrees;
            r
        }
        ModelKind::Mutex => {
            let ops = lin_ops(&p.items, |a| {
                if let AnyOp::Mutex(r) = a {
                    Some(*r)
                } else {
                    None
                }
            });
            let held = matches!(o.initial_value.as_name(), Some("locked" | "held"));
            finish(p, search::check(&Mutex, &held, &ops, meter), |s| {
                Value::kw(if *s { "locked" } else { "unlocked" })
            })
        }
        ModelKind::MultiRegister => {
            let mut vals = p.values.clone();
            let mut keys = p.mkeys.clone();
            if let Some(m) = o.initial_value.as_map() {
                for k in m.keys() {
                    let n = keys.len();
                    keys.entry(k.clone()).or_insert(n);
                }
            }
            let mut init = vec![NIL; keys.len()];
            for (k, &i) in &keys {
                let v = o
                    .initial_value
                    .as_map()
                    .and_then(|m| m.get(k))
                    .cloned()
                    .unwrap_or(Value::Nil);
                init[i] = vals.id(&v);
            }
            let ops = lin_ops(&p.items, |a| {
                if let AnyOp::Txn(t) = a {
                    Some(t.clone())
                } else {
                    None
                }
            });
            finish(
                p,
                search::check(&MultiRegister, &init, &ops, meter),
                |s: &Vec<u32>| {
                    Value::Map(
                        keys.iter()
                            .map(|(k, &i)| (k.clone(), vals.value(s[i]).clone()))
                            .collect(),
                    )
                },
            )
        }
    }
}
