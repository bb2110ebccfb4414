//! Jepsen's register workload on independent keys: `:read`, `:write v`, `:cas [old new]` with small
//! values (0-4); every `:value` is `[key v]`. Keys rotate: after `OPS_PER_KEY` invocations a slot
//! moves to a fresh key, so each key has a bounded number of ops and linearizability stays cheap to
//! check (cost grows exponentially with concurrency per key, and `:info` ops stay concurrent forever).
//!
//! Reads go to the cluster endpoint, or (a `reader_fraction` of them) to the reader endpoint; the
//! harness checks the latter separately, as stale but consistent.

use crate::{Client, ClientError, Completion, Datum, Invocation, Target, WorkloadConfig};
use checkers::Value;
use rand::Rng;
use rand_chacha::ChaCha8Rng;

/// Invocations per key before its slot moves to a new key.
pub const OPS_PER_KEY: u64 = 60;

pub struct Register {
    slots: u64,
    /// Per slot: (current generation, invocations on the current key).
    state: Vec<(u64, u64)>,
    reader_fraction: f64,
    scan_fraction: f64,
    /// Fast-DDL ops (C27), drawn only when `ddl_fraction` > 0.
    ddl: crate::ddl::Ddl,
    /// `WorkloadConfig::custom_endpoints`.
    custom: Vec<String>,
    /// Invocations per key (`WorkloadConfig::ops_per_key`, default `OPS_PER_KEY`).
    ops_per_key: u64,
}

impl Register {
    pub fn new(cfg: &WorkloadConfig) -> Register {
        let slots = cfg.keys.max(1);
        Register {
            slots,
            state: vec![(0, 0); slots as usize],
            reader_fraction: cfg.reader_fraction,
            scan_fraction: cfg.scan_fraction,
            ddl: crate::ddl::Ddl::new(cfg),
            custom: cfg.custom_endpoints.clone(),
            ops_per_key: cfg.ops_per_key.unwrap_or(OPS_PER_KEY).max(1),
        }
    }

    fn key(&self, slot: u64) -> u64 {
        self.state[slot as usize].0 * self.slots + slot
    }

    pub fn next_invocation(&mut self, rng: &mut ChaCha8Rng, process: i64) -> Invocation {
        // Drawn only when scans are on, so runs without them draw as before.
        if self.scan_fraction > 0.0 && rng.random_bool(self.scan_fraction) {
            return self.scan(rng);
        }
        if self.ddl.fraction > 0.0 && rng.random_bool(self.ddl.fraction) {
            return self.ddl.next_invocation(rng, process);
        }
        let slot = rng.random_range(0..self.slots);
        let (generation, n) = &mut self.state[slot as usize];
        // `ops_per_key` applies to the odd slots; the even ones keep `OPS_PER_KEY`, so old
        // keys keep being written while the key space grows.
        let per_key = if slot % 2 == 1 {
            self.ops_per_key
        } else {
            OPS_PER_KEY
        };
        if *n >= per_key {
            *generation += 1;
            *n = 0;
        }
        *n += 1;
        let k = Value::Int(self.key(slot) as i64);
        match rng.random_range(0..10) {
            0..=3 => {
                let target = if rng.random_bool(self.reader_fraction) {
                    crate::reader_target(&self.custom, process)
                } else {
                    Target::Primary
                };
                Invocation {
                    f: "read",
                    value: Value::Vector(vec![k, Value::Nil]),
                    target,
                }
            }
            4..=6 => {
                let v = Value::Int(rng.random_range(0..5));
                Invocation {
                    f: "write",
                    value: Value::Vector(vec![k, v]),
                    target: Target::Primary,
                }
            }
            _ => {
                let pair = Value::Vector(vec![
                    Value::Int(rng.random_range(0..5)),
                    Value::Int(rng.random_range(0..5)),
                ]);
                Invocation {
                    f: "cas",
                    value: Value::Vector(vec![k, pair]),
                    target: Target::Primary,
                }
            }
        }
    }

    /// A parallel-query scan (`:scan [lo hi min]`) over the keys used so far (every
    /// generation of every slot), filter `value >= min` with `min` in 0-4.
    fn scan(&self, rng: &mut ChaCha8Rng) -> Invocation {
        let generations = self.state.iter().map(|(g, _)| *g).max().unwrap_or(0) + 1;
        let hi = generations * self.slots - 1;
        let lo = rng.random_range(0..=hi / 2);
        let min = rng.random_range(0..5);
        Invocation {
            f: "scan",
            value: Value::Vector(vec![
                Value::Int(lo as i64),
                Value::Int(hi as i64),
                Value::Int(min),
            ]),
            target: Target::Primary,
        }
    }

    /// A final read of every key ever used.
    pub fn final_reads(&self) -> Vec<Invocation> {
        let mut out = Vec::new();
        for slot in 0..self.slots {
            for generation in 0..=self.state[slot as usize].0 {
                let k = Value::Int((generation * self.slots + slot) as i64);
                out.push(Invocation {
                    f: "read",
                    value: Value::Vector(vec![k, Value::Nil]),
                    target: Target::Primary,
                });
            }
        }
        out
    }
}

fn parts(v: &Value) -> Option<(u64, &Value)> {
    let v = v.as_vec()?;
    Some((u64::try_from(v.first()?.as_int()?).ok()?, v.get(1)?))
}

fn datum_value(d: Datum) -> Value {
    match d {
        Datum::Nil => Value::Nil,
        Datum::Int(i) => Value::Int(i),
        Datum::List(l) => Value::Vector(l.into_iter().map(Value::Int).collect()),
    }
}

pub async fn execute<C: Client>(client: &mut C, inv: &Invocation) -> Completion {
    if inv.f == "scan" {
        return scan(client, inv).await;
    }
    let Some((key, arg)) = parts(&inv.value) else {
        return Completion::from_error(
            inv.value.clone(),
            &ClientError::definite("malformed register op"),
        );
    };
    let read_only = inv.f == "read";
    let res: Result<Option<Value>, ClientError> = async {
        client.begin(&inv.target, read_only).await?;
        let out = match inv.f {
            "read" => Some(datum_value(client.read(key).await?)),
            "write" => {
                let v = arg
                    .as_int()
                    .ok_or_else(|| ClientError::definite("write of a non-integer"))?;
                client.write(key, Datum::Int(v)).await?;
                Some(arg.clone())
            }
            _ => {
                let pair = arg
                    .as_vec()
                    .ok_or_else(|| ClientError::definite("malformed cas"))?;
                let (old, new) = match (
                    pair.first().and_then(Value::as_int),
                    pair.get(1).and_then(Value::as_int),
                ) {
                    (Some(o), Some(n)) => (o, n),
                    _ => return Err(ClientError::definite("malformed cas")),
                };
                if client.cas(key, Datum::Int(old), Datum::Int(new)).await? {
                    Some(arg.clone())
                } else {
                    None
                }
            }
        };
        if out.is_some() {
            client.commit().await?;
        }
        Ok(out)
    }
    .await;
    match res {
        Ok(Some(v)) => Completion::ok(Value::Vector(vec![Value::Int(key as i64), v])),
        Ok(None) => {
            client.abort().await;
            Completion::from_error(inv.value.clone(), &ClientError::definite("cas-mismatch"))
        }
        Err(e) => {
            client.abort().await;
            Completion::from_error(inv.value.clone(), &e)
        }
    }
}

/// register's checks: linearizable on the cluster endpoint; reader-endpoint reads stale but
/// consistent (each may linearize anywhere before it completed).
/// The register's table: per-key linearizability through the cluster endpoint, and reader-endpoint
/// reads as stale but consistent. The same under every guarantee: each op reads or writes one key
/// in its own transaction, which every isolation level the targets name makes atomic and recent on
/// a single primary.
pub fn checks(_g: &crate::checks::Guarantee) -> Vec<crate::checks::HistoryCheck> {
    use crate::checks::{HistoryCheck, Judgement, Scope};
    fn linear(_: &crate::WorkloadConfig, h: &checkers::History) -> Judgement {
        use checkers::linear::{FailSemantics, LinearChecker, LinearOptions, ModelKind};
        use checkers::Checker;
        let opts = LinearOptions {
            model: ModelKind::CasRegister,
            initial_value: checkers::Value::Nil,
            independent: true,
            nil_read_wildcard: false,
            fail_semantics: FailSemantics::Drop,
            ..LinearOptions::default()
        };
        Judgement::Verdict(LinearChecker::new(opts).check(h))
    }
    vec![
        HistoryCheck {
            name: "linearizable (cluster endpoint)".into(),
            claims: &["C3", "C4", "C11"],
            scope: Scope::Writer,
            informational: false,
            judge: Box::new(linear),
        },
        HistoryCheck {
            name: "reader reads stale but consistent".into(),
            claims: &["C9"],
            scope: Scope::StaleReads,
            informational: false,
            judge: Box::new(linear),
        },
    ]
}

/// A `:scan [lo hi min]`: the query pushed down, then evaluated at the instance at the read
/// point the first one used, in one read-only transaction's connection. Completes with
/// `[lo hi min pushed-count pushed-sum local-count local-sum at pushed-msgs pushed-bytes
/// local-msgs local-bytes]`.
async fn scan<C: Client>(client: &mut C, inv: &Invocation) -> Completion {
    let arg = |i: usize| {
        inv.value
            .as_vec()
            .and_then(|v| v.get(i))
            .and_then(Value::as_int)
    };
    let (Some(lo), Some(hi), Some(min)) = (arg(0), arg(1), arg(2)) else {
        return Completion::from_error(inv.value.clone(), &ClientError::definite("malformed scan"));
    };
    let res: Result<Vec<i64>, ClientError> = async {
        client.begin(&inv.target, true).await?;
        let mut q = crate::client::ScanQuery {
            lo: lo as u64,
            hi: hi as u64,
            min,
            pushdown: true,
            at: None,
        };
        let p = client.scan(&q).await?;
        q.pushdown = false;
        q.at = Some(p.at);
        let l = client.scan(&q).await?;
        client.commit().await?;
        Ok(vec![
            lo,
            hi,
            min,
            p.count as i64,
            p.sum,
            l.count as i64,
            l.sum,
            p.at as i64,
            p.msgs as i64,
            p.bytes as i64,
            l.msgs as i64,
            l.bytes as i64,
        ])
    }
    .await;
    match res {
        Ok(v) => Completion::ok(Value::Vector(v.into_iter().map(Value::Int).collect())),
        Err(e) => {
            client.abort().await;
            Completion::from_error(inv.value.clone(), &e)
        }
    }
}
