//! Fast DDL ops (C27), mixed into the register workload by `WorkloadConfig::ddl_fraction`:
//! clients write and read rows of one table (several columns) while, now and then, a client
//! issues `ALTER TABLE ADD COLUMN c NULL`. Each op is its own transaction.
//!
//! History values (checked by the harness's `ddl_checks`, never by the register's table):
//! - `:row-write [r col v]` completes with `[r col v version]`, the schema version the row
//!   was written under;
//! - `:row-read [r]` completes with `[r stored version [c1 .. cn]]` (nulls as `nil`), or
//!   `[r nil]` when there is no row;
//! - `:row-load [lo hi]` (the generator's first invocations: the whole table in chunks of
//!   [`LOAD_CHUNK`] rows) completes with `[lo hi version]`;
//! - `:add-column nil` completes with `[version columns]`, the new schema version and its
//!   column count.

use crate::{Client, ClientError, Completion, Invocation, Target};
use checkers::{OpType, Value};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

/// Columns of the table as created (the system's version 1).
pub const BASE_COLUMNS: u32 = 2;
/// `ADD COLUMN`s per run, at most.
pub const MAX_ADDS: u32 = 6;
/// Rows the ops touch (the first rows of the table), so rows are read and rewritten often.
pub const HOT_ROWS: u64 = 24;
/// DDL-workload invocations drawn after the last load before any `ADD COLUMN` (so that the
/// loads, still running on other workers, have completed: the DDLs then run on a loaded table).
pub const LOAD_SETTLE: u64 = 60;
/// Attempts of a `:row-load` that fails definitely.
pub const LOAD_ATTEMPTS: u32 = 10;
/// Rows per `:row-load`.
pub const LOAD_CHUNK: u64 = 50;
/// The table's extent when `ddl_pages` is not set.
pub const DEFAULT_PAGES: u64 = 64;

/// The DDL part of the generator.
#[derive(Debug, Clone)]
pub struct Ddl {
    pub fraction: f64,
    pub pages: u64,
    adds: u32,
    /// Rows whose load was issued.
    loaded: u64,
    /// Invocations drawn since the last load.
    since_loaded: u64,
    reader_fraction: f64,
    custom: Vec<String>,
}

impl Ddl {
    pub fn new(cfg: &crate::WorkloadConfig) -> Ddl {
        Ddl {
            fraction: cfg.ddl_fraction,
            pages: if cfg.ddl_pages == 0 {
                DEFAULT_PAGES
            } else {
                cfg.ddl_pages
            },
            adds: 0,
            loaded: 0,
            since_loaded: 0,
            reader_fraction: cfg.reader_fraction,
            custom: cfg.custom_endpoints.clone(),
        }
    }

    /// One DDL-workload invocation: first the loads of the whole table, then (after [`LOAD_SETTLE`] more) 3% `ADD COLUMN` (while fewer than [`MAX_ADDS`] were
    /// issued), else a row read (55%) or a row write.
    pub fn next_invocation(&mut self, rng: &mut ChaCha8Rng, process: i64) -> Invocation {
        if self.loaded < self.pages {
            let lo = self.loaded;
            self.loaded = (lo + LOAD_CHUNK).min(self.pages);
            return Invocation {
                f: "row-load",
                value: Value::Vector(vec![Value::Int(lo as i64), Value::Int(self.loaded as i64)]),
                target: Target::Primary,
            };
        }
        self.since_loaded += 1;
        let r = rng.random_range(0..HOT_ROWS.min(self.pages));
        let roll = rng.random_range(0..100);
        if roll < 3 && self.adds < MAX_ADDS && self.since_loaded > LOAD_SETTLE {
            self.adds += 1;
            return Invocation {
                f: "add-column",
                value: Value::Nil,
                target: Target::Primary,
            };
        }
        if roll < 58 {
            let target = if rng.random_bool(self.reader_fraction) {
                crate::reader_target(&self.custom, process)
            } else {
                Target::Primary
            };
            return Invocation {
                f: "row-read",
                value: Value::Vector(vec![Value::Int(r as i64)]),
                target,
            };
        }
        let col = rng.random_range(0..BASE_COLUMNS + self.adds);
        Invocation {
            f: "row-write",
            value: Value::Vector(vec![
                Value::Int(r as i64),
                Value::Int(col as i64),
                Value::Int(rng.random_range(0..100)),
            ]),
            target: Target::Primary,
        }
    }
}

/// Is `f` one of this module's ops?
pub fn is_ddl_op(f: &str) -> bool {
    matches!(f, "row-read" | "row-write" | "row-load" | "add-column")
}

/// Runs a DDL-workload invocation in its own transaction.
pub async fn execute<C: Client>(client: &mut C, inv: &Invocation) -> Completion {
    if inv.f == "row-load" {
        // A load that failed definitely wrote nothing: retry it (a DDL committing meanwhile
        // invalidates its catalog read).
        for _ in 1..LOAD_ATTEMPTS {
            let c = execute_once(client, inv).await;
            if c.kind != OpType::Fail {
                return c;
            }
        }
    }
    execute_once(client, inv).await
}

/// Creates the table (`pages` rows) in its own transaction: the run's setup, before any
/// op (`CREATE TABLE IF NOT EXISTS`).
pub async fn create_table<C: Client>(client: &mut C, pages: u64) -> Result<(), ClientError> {
    let r = async {
        client.begin(&Target::Primary, false).await?;
        client.create_table(pages).await?;
        client.commit().await
    }
    .await;
    if r.is_err() {
        client.abort().await;
    }
    r
}

async fn execute_once<C: Client>(client: &mut C, inv: &Invocation) -> Completion {
    let arg = |i: usize| {
        inv.value
            .as_vec()
            .and_then(|v| v.get(i))
            .and_then(Value::as_int)
    };
    let read_only = inv.f == "row-read";
    let res: Result<Value, ClientError> = async {
        client.begin(&inv.target, read_only).await?;
        let out = match inv.f {
            "add-column" => {
                let (v, n) = client.add_column().await?;
                Value::Vector(vec![Value::Int(v as i64), Value::Int(n as i64)])
            }
            "row-load" => {
                let (Some(lo), Some(hi)) = (arg(0), arg(1)) else {
                    return Err(ClientError::definite("malformed row-load"));
                };
                let ver = client.load_rows(lo as u64, hi as u64).await?;
                Value::Vector(vec![Value::Int(lo), Value::Int(hi), Value::Int(ver as i64)])
            }
            "row-read" => {
                let r = arg(0).ok_or_else(|| ClientError::definite("malformed row-read"))?;
                match client.read_row(r as u64).await? {
                    None => Value::Vector(vec![Value::Int(r), Value::Nil]),
                    Some(row) => Value::Vector(vec![
                        Value::Int(r),
                        Value::Int(row.stored as i64),
                        Value::Int(row.version as i64),
                        Value::Vector(
                            row.cols
                                .iter()
                                .map(|c| c.map(Value::Int).unwrap_or(Value::Nil))
                                .collect(),
                        ),
                    ]),
                }
            }
            _ => {
                let (Some(r), Some(col), Some(v)) = (arg(0), arg(1), arg(2)) else {
                    return Err(ClientError::definite("malformed row-write"));
                };
                let ver = client.write_row(r as u64, col as u32, v).await?;
                Value::Vector(vec![
                    Value::Int(r),
                    Value::Int(col),
                    Value::Int(v),
                    Value::Int(ver as i64),
                ])
            }
        };
        client.commit().await?;
        Ok(out)
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
