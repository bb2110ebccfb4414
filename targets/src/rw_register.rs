//! Elle's rw-register workload: transactions of `[:r k nil]` and `[:w k v]` micro-ops over a pool of
//! active keys. Written values are unique per key (a per-key counter, starting at 1), as Elle's
//! rw-register analysis requires; a key is retired after `max_writes_per_key` writes. Read-only
//! transactions (a `reader_fraction / 2` share) go through the reader endpoint.
//!
//! It lives here rather than in `workloads` because only the real-engine targets run it; it uses the
//! same [`Client`] calls (`read`, `write`) as the shared workloads.

use checkers::Value;
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use workloads::{Client, ClientError, Completion, Datum, Invocation, Target, WorkloadConfig};

fn kw(s: &str) -> Value {
    Value::Keyword(s.into())
}

pub struct RwRegister {
    pool: usize,
    max_writes: u64,
    max_len: usize,
    reader_fraction: f64,
    /// Per slot: (key, writes so far).
    slots: Vec<(u64, u64)>,
    next_key: u64,
}

impl RwRegister {
    pub fn new(cfg: &WorkloadConfig) -> RwRegister {
        let pool = cfg.keys.max(1) as usize;
        RwRegister {
            pool,
            max_writes: cfg.max_appends_per_key.max(1),
            max_len: cfg.max_txn_len.max(1),
            reader_fraction: cfg.reader_fraction,
            slots: (0..pool as u64).map(|k| (k, 0)).collect(),
            next_key: pool as u64,
        }
    }

    pub fn next_invocation(&mut self, rng: &mut ChaCha8Rng) -> Invocation {
        let len = rng.random_range(1..=self.max_len);
        let read_only = rng.random_bool(self.reader_fraction / 2.0);
        let mut mops = Vec::with_capacity(len);
        for _ in 0..len {
            let slot = rng.random_range(0..self.pool);
            if !read_only && rng.random_bool(0.5) {
                if self.slots[slot].1 >= self.max_writes {
                    self.slots[slot] = (self.next_key, 0);
                    self.next_key += 1;
                }
                self.slots[slot].1 += 1;
                let (k, n) = self.slots[slot];
                mops.push(Value::Vector(vec![
                    kw("w"),
                    Value::Int(k as i64),
                    Value::Int(n as i64),
                ]));
            } else {
                let k = self.slots[slot].0;
                mops.push(Value::Vector(vec![
                    kw("r"),
                    Value::Int(k as i64),
                    Value::Nil,
                ]));
            }
        }
        Invocation {
            f: "txn",
            value: Value::Vector(mops),
            target: if read_only {
                Target::Reader
            } else {
                Target::Primary
            },
        }
    }

    /// One read of every key ever used, on the writer.
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
    W(u64, i64),
    R(u64),
}

fn parse(v: &Value) -> Option<Vec<Mop>> {
    v.as_vec()?
        .iter()
        .map(|m| {
            let m = m.as_vec()?;
            let k = u64::try_from(m.get(1)?.as_int()?).ok()?;
            match m.first()?.as_name()? {
                "w" => Some(Mop::W(k, m.get(2)?.as_int()?)),
                "r" => Some(Mop::R(k)),
                _ => None,
            }
        })
        .collect()
}

/// Runs one rw-register transaction; definite errors are `:fail`, indeterminate ones `:info`.
pub async fn execute<C: Client>(client: &mut C, inv: &Invocation) -> Completion {
    let Some(mops) = parse(&inv.value) else {
        return Completion::from_error(inv.value.clone(), &ClientError::definite("malformed txn"));
    };
    let read_only = mops.iter().all(|m| matches!(m, Mop::R(_)));
    let res: Result<Value, ClientError> = async {
        client.begin(&inv.target, read_only).await?;
        let mut out = Vec::with_capacity(mops.len());
        for m in &mops {
            match *m {
                Mop::W(k, v) => {
                    client.write(k, Datum::Int(v)).await?;
                    out.push(Value::Vector(vec![
                        kw("w"),
                        Value::Int(k as i64),
                        Value::Int(v),
                    ]));
                }
                Mop::R(k) => {
                    let v = match client.read(k).await? {
                        Datum::Nil => Value::Nil,
                        Datum::Int(i) => Value::Int(i),
                        Datum::List(_) => {
                            return Err(ClientError::definite("rw-register key holds a list"))
                        }
                    };
                    out.push(Value::Vector(vec![kw("r"), Value::Int(k as i64), v]));
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

/// rw-register's check table: Elle's rw-register analysis at the models of `g`
/// ([`workloads::checks::elle_rows`]). Values are unique per key, so no durability check is
/// possible without a final read of every version (a register keeps only its last value).
pub fn checks(g: &workloads::checks::Guarantee) -> Vec<workloads::checks::HistoryCheck> {
    fn elle(model: &'static str, h: &checkers::History) -> checkers::Verdict {
        use checkers::Checker;
        let o = checkers::elle::ElleOptions {
            models: vec![model.into()],
            ..checkers::elle::ElleOptions::default()
        };
        checkers::elle::RwRegisterChecker::new(o).check(h)
    }
    workloads::checks::elle_rows(g, elle, &[], &[])
}

#[cfg(test)]
mod tests {
    use super::*;
    use checkers::elle::{ElleOptions, RwRegisterChecker};
    use checkers::Checker;
    use rand::SeedableRng;
    use workloads::mem::{block_on, MemClient};
    use workloads::{Recorder, WorkloadKind};

    /// A serial execution through the in-memory database passes Elle's rw-register check, and the
    /// generator writes unique values per key.
    #[test]
    fn serial_history_is_strict_serializable() {
        let cfg = WorkloadConfig::default_for(WorkloadKind::ListAppend);
        let mut g = RwRegister::new(&cfg);
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let mut c = MemClient::new();
        let mut rec = Recorder::new();
        for i in 0..600 {
            let inv = g.next_invocation(&mut rng);
            rec.invoke(0, &inv, i * 2);
            let done = block_on(execute(&mut c, &inv));
            assert_eq!(done.kind, checkers::OpType::Ok);
            rec.complete(0, &inv, &done, i * 2 + 1);
        }
        let v = RwRegisterChecker::new(ElleOptions::default()).check(&rec.history());
        assert_eq!(v.valid, checkers::Validity::Valid, "{}", v.explanation);
        assert!(g.next_key > cfg.keys, "keys rotate");
    }
}
