//! Elle's list-append workload: transactions of `[:append k v]` and `[:r k nil]` micro-ops over a pool
//! of active keys; appended values are unique per key (a per-key counter), and a key is retired after
//! `max_appends_per_key` appends. Read-only transactions may go through the reader endpoint.
//!
//! Invocation `{:f :txn :value [[:append 3 1] [:r 4 nil]]}`; completion fills reads with lists.

use crate::{kw, Client, ClientError, Completion, Datum, Invocation, Target, WorkloadConfig};
use checkers::Value;
use rand::Rng;
use rand_chacha::ChaCha8Rng;

pub struct ListAppend {
    pool: u64,
    max_appends: u64,
    max_len: usize,
    reader_fraction: f64,
    /// `WorkloadConfig::custom_endpoints`.
    custom: Vec<String>,
    /// Per pool slot: (current key, appends so far to it).
    slots: Vec<(u64, u64)>,
    next_key: u64,
}

impl ListAppend {
    pub fn new(cfg: &WorkloadConfig) -> ListAppend {
        let pool = cfg.keys.max(1);
        ListAppend {
            pool,
            max_appends: cfg.max_appends_per_key.max(1),
            max_len: cfg.max_txn_len.max(1),
            reader_fraction: cfg.reader_fraction,
            custom: cfg.custom_endpoints.clone(),
            slots: (0..pool).map(|k| (k, 0)).collect(),
            next_key: pool,
        }
    }

    pub fn next_invocation(&mut self, rng: &mut ChaCha8Rng, process: i64) -> Invocation {
        let len = rng.random_range(1..=self.max_len);
        if rng.random_bool(self.reader_fraction / 2.0) {
            let mops = (0..len)
                .map(|_| {
                    let k = self.slots[rng.random_range(0..self.pool) as usize].0;
                    Value::Vector(vec![kw("r"), Value::Int(k as i64), Value::Nil])
                })
                .collect();
            return Invocation {
                f: "txn",
                value: Value::Vector(mops),
                target: crate::reader_target(&self.custom, process),
            };
        }
        let mut mops = Vec::with_capacity(len);
        for _ in 0..len {
            let slot = rng.random_range(0..self.pool) as usize;
            if rng.random_bool(0.5) {
                if self.slots[slot].1 >= self.max_appends {
                    self.slots[slot] = (self.next_key, 0);
                    self.next_key += 1;
                }
                self.slots[slot].1 += 1;
                let (k, n) = self.slots[slot];
                mops.push(Value::Vector(vec![
                    kw("append"),
                    Value::Int(k as i64),
                    Value::Int(n as i64),
                ]));
            } else {
                mops.push(Value::Vector(vec![
                    kw("r"),
                    Value::Int(self.slots[slot].0 as i64),
                    Value::Nil,
                ]));
            }
        }
        Invocation {
            f: "txn",
            value: Value::Vector(mops),
            target: Target::Primary,
        }
    }

    /// One read-only transaction per key ever used.
    pub fn final_reads(&self) -> Vec<Invocation> {
        (0..self.next_key)
            .map(|k| Invocation {
                f: "txn",
                value: Value::Vector(vec![Value::Vector(vec![
                    kw("r"),
                    Value::Int(k as i64),
                    Value::Nil,
                ])]),
                target: Target::Primary,
            })
            .collect()
    }
}

enum Mop {
    Append(u64, i64),
    Read(u64),
}

fn parse(v: &Value) -> Option<Vec<Mop>> {
    v.as_vec()?
        .iter()
        .map(|m| {
            let m = m.as_vec()?;
            let k = u64::try_from(m.get(1)?.as_int()?).ok()?;
            match m.first()?.as_name()? {
                "append" => Some(Mop::Append(k, m.get(2)?.as_int()?)),
                "r" => Some(Mop::Read(k)),
                _ => None,
            }
        })
        .collect()
}

pub async fn execute<C: Client>(client: &mut C, inv: &Invocation) -> Completion {
    let Some(mops) = parse(&inv.value) else {
        return Completion::from_error(inv.value.clone(), &ClientError::definite("malformed txn"));
    };
    let read_only = mops.iter().all(|m| matches!(m, Mop::Read(_)));
    let res: Result<Value, ClientError> = async {
        client.begin(&inv.target, read_only).await?;
        let mut out = Vec::with_capacity(mops.len());
        for m in &mops {
            match *m {
                Mop::Append(k, v) => {
                    client.append(k, v).await?;
                    out.push(Value::Vector(vec![
                        kw("append"),
                        Value::Int(k as i64),
                        Value::Int(v),
                    ]));
                }
                Mop::Read(k) => {
                    let list = match client.read(k).await? {
                        Datum::Nil => Vec::new(),
                        Datum::List(l) => l.into_iter().map(Value::Int).collect(),
                        Datum::Int(_) => {
                            return Err(ClientError::definite("list-append key holds an integer"))
                        }
                    };
                    out.push(Value::Vector(vec![
                        kw("r"),
                        Value::Int(k as i64),
                        Value::Vector(list),
                    ]));
                }
            }
        }
        client.commit().await?;
        Ok(Value::Vector(out))
    }
    .await;
    match res {
        Ok(v) => Completion::ok(v),
        Err(e) => {
            client.abort().await;
            Completion::from_error(inv.value.clone(), &e)
        }
    }
}
