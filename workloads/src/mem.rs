//! An in-memory, serial database implementing [`Client`]: every transaction runs alone and commits
//! atomically. It is the simplest correct system under test, used to test the workloads themselves
//! (a history it produces must pass every checker) and as a model of what a client must do.

use crate::client::{Client, ClientError, Datum, Target};
use std::collections::BTreeMap;

#[derive(Debug, Default, Clone)]
pub struct MemDb {
    pub data: BTreeMap<u64, Datum>,
}

/// A client of a [`MemDb`] it owns; the open transaction buffers its writes until commit.
#[derive(Debug, Default)]
pub struct MemClient {
    pub db: MemDb,
    txn: Option<BTreeMap<u64, Datum>>,
    read_only: bool,
}

impl MemClient {
    pub fn new() -> MemClient {
        MemClient::default()
    }

    fn get(&self, key: u64) -> Datum {
        self.txn
            .as_ref()
            .and_then(|t| t.get(&key))
            .or_else(|| self.db.data.get(&key))
            .cloned()
            .unwrap_or(Datum::Nil)
    }

    fn put(&mut self, key: u64, v: Datum) -> Result<(), ClientError> {
        if self.read_only {
            return Err(ClientError::definite("read-only transaction"));
        }
        self.txn
            .as_mut()
            .ok_or_else(|| ClientError::definite("no transaction"))?
            .insert(key, v);
        Ok(())
    }
}

impl Client for MemClient {
    async fn begin(&mut self, _target: &Target, read_only: bool) -> Result<(), ClientError> {
        self.txn = Some(BTreeMap::new());
        self.read_only = read_only;
        Ok(())
    }
    async fn read(&mut self, key: u64) -> Result<Datum, ClientError> {
        Ok(self.get(key))
    }
    async fn write(&mut self, key: u64, value: Datum) -> Result<(), ClientError> {
        self.put(key, value)
    }
    async fn append(&mut self, key: u64, element: i64) -> Result<(), ClientError> {
        let mut l = match self.get(key) {
            Datum::List(l) => l,
            Datum::Nil => Vec::new(),
            Datum::Int(_) => return Err(ClientError::definite("not a list")),
        };
        l.push(element);
        self.put(key, Datum::List(l))
    }
    async fn cas(&mut self, key: u64, expected: Datum, new: Datum) -> Result<bool, ClientError> {
        if self.get(key) == expected {
            self.put(key, new)?;
            Ok(true)
        } else {
            Ok(false)
        }
    }
    async fn commit(&mut self) -> Result<(), ClientError> {
        let t = self
            .txn
            .take()
            .ok_or_else(|| ClientError::definite("no transaction"))?;
        self.db.data.extend(t);
        Ok(())
    }
    async fn abort(&mut self) {
        self.txn = None;
    }
}

/// Polls a future that never waits (every [`MemClient`] future is ready at once) to completion.
pub fn block_on<F: std::future::Future>(f: F) -> F::Output {
    let mut f = std::pin::pin!(f);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    loop {
        if let std::task::Poll::Ready(v) = f.as_mut().poll(&mut cx) {
            return v;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{execute, Recorder, Workload, WorkloadConfig, WorkloadKind};
    use checkers::{OpType, Value};
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    fn run_serial(kind: WorkloadKind, n: usize, seed: u64) -> (checkers::History, MemClient) {
        let cfg = WorkloadConfig::default_for(kind);
        let mut w = Workload::new(&cfg);
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut c = MemClient::new();
        for (k, v) in w.initial_data() {
            c.db.data.insert(k, v);
        }
        let mut rec = Recorder::new();
        for i in 0..n {
            let inv = w.next_invocation(&mut rng, 0);
            rec.invoke(0, &inv, i as i64 * 2);
            let done = block_on(execute(&cfg, &mut c, &inv));
            rec.complete(0, &inv, &done, i as i64 * 2 + 1);
        }
        for inv in w.final_reads() {
            let done = block_on(execute(&cfg, &mut c, &inv));
            assert_eq!(done.kind, OpType::Ok);
        }
        (rec.history(), c)
    }

    #[test]
    fn bank_reads_always_see_the_total() {
        let (h, _) = run_serial(WorkloadKind::Bank, 500, 3);
        let mut reads = 0;
        for op in h
            .ops
            .iter()
            .filter(|o| o.kind == OpType::Ok && o.f() == "read")
        {
            let sum: i64 = op
                .value
                .as_map()
                .expect("read is a map")
                .values()
                .filter_map(Value::as_int)
                .sum();
            assert_eq!(sum, 80, "op {op:?}");
            reads += 1;
        }
        assert!(reads > 100);
        assert!(
            h.ops.iter().any(|o| o.kind == OpType::Fail),
            "some transfer hit insufficient funds"
        );
    }

    #[test]
    fn list_append_values_are_unique_per_key_and_reads_grow() {
        let (h, c) = run_serial(WorkloadKind::ListAppend, 800, 5);
        for (k, v) in &c.db.data {
            let Datum::List(l) = v else {
                panic!("key {k} is not a list")
            };
            let mut s = l.clone();
            s.sort();
            s.dedup();
            assert_eq!(s.len(), l.len(), "duplicate element in key {k}");
        }
        assert!(
            c.db.data.len() > 10,
            "keys rotate: {} keys",
            c.db.data.len()
        );
        assert!(h
            .ops
            .iter()
            .any(|o| o.extra.contains_key(&Value::Keyword("endpoint".into()))));
    }

    #[test]
    fn register_keys_rotate_and_values_are_small() {
        let (h, _) = run_serial(WorkloadKind::Register, 1000, 9);
        let keys: std::collections::BTreeSet<i64> = h
            .ops
            .iter()
            .filter_map(|o| {
                o.value
                    .as_vec()
                    .and_then(|v| v.first())
                    .and_then(Value::as_int)
            })
            .collect();
        assert!(keys.len() > 6, "keys: {keys:?}");
    }
}
