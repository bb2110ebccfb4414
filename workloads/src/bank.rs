//! Jepsen's bank workload: accounts with a fixed total, transfers between two different accounts, and
//! whole-snapshot reads of every account (on the writer and through the reader endpoint).
//!
//! `{:f :transfer :value {:from a :to b :amount n}}` — a transfer that would make `from` negative is
//! aborted and recorded `:fail` with error `insufficient-funds`. `{:f :read :value {0 10, 1 10, …}}`.

use crate::{kw, Client, ClientError, Completion, Datum, Invocation, Target, WorkloadConfig};
use checkers::Value;
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use std::collections::BTreeMap;

pub struct Bank {
    accounts: u64,
    initial: i64,
    reader_fraction: f64,
    /// `WorkloadConfig::custom_endpoints`.
    custom: Vec<String>,
}

impl Bank {
    pub fn new(cfg: &WorkloadConfig) -> Bank {
        Bank {
            accounts: cfg.keys.max(2),
            initial: cfg.bank_initial_balance,
            reader_fraction: cfg.reader_fraction,
            custom: cfg.custom_endpoints.clone(),
        }
    }

    pub fn total(&self) -> i64 {
        self.initial * self.accounts as i64
    }

    pub fn accounts(&self) -> Vec<u64> {
        (0..self.accounts).collect()
    }

    pub fn initial_data(&self) -> Vec<(u64, Datum)> {
        (0..self.accounts)
            .map(|a| (a, Datum::Int(self.initial)))
            .collect()
    }

    pub fn next_invocation(&mut self, rng: &mut ChaCha8Rng, process: i64) -> Invocation {
        if rng.random_bool(0.5) {
            let target = if rng.random_bool(self.reader_fraction) {
                crate::reader_target(&self.custom, process)
            } else {
                Target::Primary
            };
            Invocation {
                f: "read",
                value: Value::Nil,
                target,
            }
        } else {
            let from = rng.random_range(0..self.accounts);
            let mut to = rng.random_range(0..self.accounts - 1);
            if to >= from {
                to += 1;
            }
            let amount = rng.random_range(1..=5);
            let mut m = BTreeMap::new();
            m.insert(kw("from"), Value::Int(from as i64));
            m.insert(kw("to"), Value::Int(to as i64));
            m.insert(kw("amount"), Value::Int(amount));
            Invocation {
                f: "transfer",
                value: Value::Map(m),
                target: Target::Primary,
            }
        }
    }

    pub fn final_reads(&self) -> Vec<Invocation> {
        vec![Invocation {
            f: "read",
            value: Value::Nil,
            target: Target::Primary,
        }]
    }
}

fn field(v: &Value, name: &str) -> Option<i64> {
    v.as_map()?.get(&kw(name))?.as_int()
}

pub async fn execute<C: Client>(
    cfg: &WorkloadConfig,
    client: &mut C,
    inv: &Invocation,
) -> Completion {
    match inv.f {
        "read" => read_all(cfg.keys.max(2), client, inv).await,
        _ => transfer(client, inv).await,
    }
}

async fn read_all<C: Client>(accounts: u64, client: &mut C, inv: &Invocation) -> Completion {
    let res: Result<Value, ClientError> = async {
        client.begin(&inv.target, true).await?;
        let mut m = BTreeMap::new();
        for a in 0..accounts {
            let v = match client.read(a).await? {
                Datum::Int(i) => Value::Int(i),
                Datum::Nil => Value::Nil,
                Datum::List(_) => return Err(ClientError::definite("bank account holds a list")),
            };
            m.insert(Value::Int(a as i64), v);
        }
        client.commit().await?;
        Ok(Value::Map(m))
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

async fn transfer<C: Client>(client: &mut C, inv: &Invocation) -> Completion {
    let (Some(from), Some(to), Some(amount)) = (
        field(&inv.value, "from"),
        field(&inv.value, "to"),
        field(&inv.value, "amount"),
    ) else {
        return Completion::from_error(
            inv.value.clone(),
            &ClientError::definite("malformed transfer"),
        );
    };
    let res: Result<bool, ClientError> = async {
        client.begin(&inv.target, false).await?;
        let a = as_int(client.read(from as u64).await?);
        let b = as_int(client.read(to as u64).await?);
        if a - amount < 0 {
            return Ok(false);
        }
        client.write(from as u64, Datum::Int(a - amount)).await?;
        client.write(to as u64, Datum::Int(b + amount)).await?;
        client.commit().await?;
        Ok(true)
    }
    .await;
    match res {
        Ok(true) => Completion::ok(inv.value.clone()),
        Ok(false) => {
            client.abort().await;
            Completion::from_error(
                inv.value.clone(),
                &ClientError::definite("insufficient-funds"),
            )
        }
        Err(e) => {
            client.abort().await;
            Completion::from_error(inv.value.clone(), &e)
        }
    }
}

fn as_int(d: Datum) -> i64 {
    match d {
        Datum::Int(i) => i,
        _ => 0,
    }
}

/// bank's checks: every read sees the right total, on the writer and on every endpoint.
/// The bank's table: totals on the writer's history and with the reader endpoint included.
/// Without `g.consistent_reads` (read committed) wrong totals are allowed, so both rows are
/// informational.
pub fn checks(g: &crate::checks::Guarantee) -> Vec<crate::checks::HistoryCheck> {
    use crate::checks::{HistoryCheck, Judgement, Scope};
    fn totals(cfg: &WorkloadConfig, h: &checkers::History) -> Judgement {
        use checkers::bank::{BankChecker, BankOptions};
        use checkers::Checker;
        let n = cfg.keys.max(2) as i64;
        let opts = BankOptions {
            accounts: Some((0..n).map(checkers::Value::Int).collect()),
            total: Some(cfg.bank_initial_balance * n),
            negative_balances: false,
        };
        Judgement::Verdict(BankChecker::new(opts).check(h))
    }
    vec![
        HistoryCheck {
            name: "bank (writer)".into(),
            claims: &["C3", "C5", "C11"],
            scope: Scope::Writer,
            informational: !g.consistent_reads,
            judge: Box::new(totals),
        },
        HistoryCheck {
            name: "bank (incl. reader endpoint)".into(),
            claims: &["C5", "C9"],
            scope: Scope::AllEndpoints,
            informational: !g.consistent_reads,
            judge: Box::new(totals),
        },
    ]
}
