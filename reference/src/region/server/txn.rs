//! The region server's client side: transactions (secondary: read-only snapshots at the
//! durable point; primary: the compact writer's validated commits).

use super::*;

impl RegionServer {
    pub(super) fn on_request(
        &mut self,
        now: SimTime,
        from: &str,
        id: u64,
        txn: u64,
        op: ClientOp,
    ) -> Vec<Outbound> {
        let primary = self.is_primary();
        let err = |e| vec![reply(from, id, ClientReply::Err(e))];
        if let ClientOp::Begin { read_only } = op {
            // Only a fed secondary, or a primary holding its lease, serves reads: a former
            // primary's data may run past the promoted point.
            let gepoch = self.disk.borrow().gepoch;
            let serves = if primary {
                now < self.lease_until || self.bugs.contains(&Bug::GlobalNoFence)
            } else {
                self.fed == Some(gepoch)
            };
            if !serves {
                return err(WireError::Unavailable);
            }
            if !read_only && !self.writable(now) {
                return err(if primary {
                    WireError::Unavailable
                } else {
                    WireError::ReadOnly
                });
            }
            let point = if !primary && self.bugs.contains(&Bug::GlobalReadAboveDurable) {
                self.disk.borrow().received
            } else {
                self.durable
            };
            self.events.push(EventKind::GlobalRead {
                region: self.region.clone(),
                at: point,
            });
            let t = {
                let mut d = self.disk.borrow_mut();
                d.next_txn += 1;
                d.next_txn
            };
            self.txns.insert(
                t,
                Txn {
                    read_only,
                    point,
                    ..Default::default()
                },
            );
            return vec![reply(from, id, ClientReply::Begun { txn: t })];
        }
        if !self.txns.contains_key(&txn) {
            return err(WireError::UnknownTxn);
        }
        let ro_bug = self.bugs.contains(&Bug::GlobalReadAboveDurable) && !primary;
        let tx = self.txns.get(&txn).unwrap().clone();
        let read_point = if tx.read_only { tx.point } else { self.durable };
        let current = |s: &Self, key: u64| -> (Lsn, Datum) {
            if ro_bug {
                // Bug: read whatever was received, durable or not.
                let d = s.disk.borrow();
                if let Some(r) = d
                    .log
                    .values()
                    .rev()
                    .find(|r| r.key == key && r.lsn <= tx.point)
                {
                    return (r.lsn, r.value.clone());
                }
            }
            s.value_at(key, read_point)
        };
        match op {
            // Custom endpoints are the primary cluster's (`crate::endpoints`).
            ClientOp::BeginVia { .. } => err(WireError::WrongEndpoint),
            ClientOp::Read { key } => {
                if let Some(v) = tx.writes.get(&key) {
                    return vec![reply(from, id, ClientReply::Value(v.clone()))];
                }
                let (l, v) = current(self, key);
                self.txns
                    .get_mut(&txn)
                    .unwrap()
                    .reads
                    .entry(key)
                    .or_insert(l);
                vec![reply(from, id, ClientReply::Value(v))]
            }
            ClientOp::Scan { .. } => err(WireError::Unavailable),
            ClientOp::Write { .. } | ClientOp::Append { .. } | ClientOp::Cas { .. }
                if tx.read_only =>
            {
                err(WireError::ReadOnly)
            }
            ClientOp::Write { key, value } => {
                self.txns.get_mut(&txn).unwrap().writes.insert(key, value);
                vec![reply(from, id, ClientReply::Done)]
            }
            ClientOp::Append { key, elem } => {
                let cur = match tx.writes.get(&key) {
                    Some(v) => v.clone(),
                    None => {
                        let (l, v) = current(self, key);
                        self.txns
                            .get_mut(&txn)
                            .unwrap()
                            .reads
                            .entry(key)
                            .or_insert(l);
                        v
                    }
                };
                let mut list = match cur {
                    Datum::List(l) => l,
                    _ => vec![],
                };
                list.push(elem);
                self.txns
                    .get_mut(&txn)
                    .unwrap()
                    .writes
                    .insert(key, Datum::List(list));
                vec![reply(from, id, ClientReply::Done)]
            }
            ClientOp::Cas { key, expected, new } => {
                let cur = match tx.writes.get(&key) {
                    Some(v) => v.clone(),
                    None => {
                        let (l, v) = current(self, key);
                        self.txns
                            .get_mut(&txn)
                            .unwrap()
                            .reads
                            .entry(key)
                            .or_insert(l);
                        v
                    }
                };
                let ok = cur == expected;
                if ok {
                    self.txns.get_mut(&txn).unwrap().writes.insert(key, new);
                }
                vec![reply(from, id, ClientReply::Cas(ok))]
            }
            ClientOp::Abort => {
                self.txns.remove(&txn);
                vec![reply(from, id, ClientReply::Done)]
            }
            ClientOp::Commit => {
                let tx = self.txns.remove(&txn).unwrap();
                if tx.writes.is_empty() {
                    return vec![reply(from, id, ClientReply::Committed)];
                }
                if !self.writable(now) {
                    return err(WireError::Unavailable);
                }
                let valid = tx
                    .reads
                    .iter()
                    .all(|(k, seen)| self.latest.get(k).copied().unwrap_or_default() == *seen);
                if !valid {
                    return err(WireError::Conflict);
                }
                let cpl = self.allocate(now, &tx.writes);
                self.waiters
                    .entry(cpl)
                    .or_default()
                    .push((from.to_string(), id));
                vec![]
            }
            ClientOp::Begin { .. } => unreachable!(),
        }
    }

    /// Allocate one MTR above the log's end (primary).
    fn allocate(&mut self, now: SimTime, writes: &BTreeMap<u64, Datum>) -> Lsn {
        let mut d = self.disk.borrow_mut();
        let mut lsn = d.received;
        let n = writes.len();
        for (i, (k, v)) in writes.iter().enumerate() {
            lsn = lsn.next();
            let page = page_of(*k);
            let pg = (page % self.pgs) as PgId;
            let prev = d
                .log
                .values()
                .rev()
                .find(|r| r.pg == pg)
                .map(|r| r.lsn)
                .unwrap_or_default();
            let r = Record {
                lsn,
                prev,
                pg,
                epoch: d.gepoch,
                page,
                key: *k,
                value: v.clone(),
                cpl: i + 1 == n,
                at: now,
                checksum: 0,
            }
            .seal();
            self.latest.insert(*k, lsn);
            d.log.insert(lsn, r);
        }
        d.received = lsn;
        lsn
    }
}
