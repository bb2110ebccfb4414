//! [`workloads::Client`] over tokio-postgres.
//!
//! Every transaction is `BEGIN ISOLATION LEVEL <level> [READ ONLY]`, statements, `COMMIT`, on the
//! writer DSN (or, for reader-endpoint transactions, the next reader DSN). Data lives in one table
//! `chaos_kv (k bigint primary key, ival bigint, list bigint[])`; a register write is an upsert, a
//! cas is `UPDATE … WHERE ival = expected`, an append is an upsert concatenating the array.
//!
//! Outcome contract (recorded by the workloads):
//! - any error before `COMMIT` is sent is definite (`:fail`): the server never commits a transaction
//!   without a `COMMIT`;
//! - at `COMMIT`, SQLSTATE class 40 (serialization failure 40001, deadlock 40P01) is definite;
//!   a lost connection, a timeout, a server shutdown error, or a success carrying PostgreSQL's
//!   warning that the transaction "has already committed locally, but might not have been replicated"
//!   is indeterminate (`:info`).
//!
//! PostgreSQL refuses SERIALIZABLE on a hot standby; read-only transactions on a standby use
//! REPEATABLE READ instead (the run's notes say so).

use crate::{Endpoints, Isolation};
use futures_util::StreamExt;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio_postgres::{AsyncMessage, NoTls, Statement};
use workloads::{Client, ClientError, Datum, Target};

/// The workload table.
pub const TABLE: &str = "chaos_kv";

struct Conn {
    client: tokio_postgres::Client,
    committed_locally: Arc<AtomicBool>,
    standby: bool,
    stmts: BTreeMap<&'static str, Statement>,
    driver: tokio::task::JoinHandle<()>,
}

impl Drop for Conn {
    fn drop(&mut self) {
        self.driver.abort();
    }
}

/// Connects to `dsn` and drives the connection on a task that watches for the "committed locally"
/// warning. Returns the client, the warning flag and the driver task.
pub async fn connect(
    dsn: &str,
) -> Result<
    (
        tokio_postgres::Client,
        Arc<AtomicBool>,
        tokio::task::JoinHandle<()>,
    ),
    tokio_postgres::Error,
> {
    let (client, mut conn) = tokio_postgres::connect(dsn, NoTls).await?;
    let flag = Arc::new(AtomicBool::new(false));
    let f = flag.clone();
    let driver = tokio::spawn(async move {
        let mut msgs = futures_util::stream::poll_fn(move |cx| conn.poll_message(cx));
        while let Some(m) = msgs.next().await {
            match m {
                Ok(AsyncMessage::Notice(n)) => {
                    let text = format!("{} {}", n.message(), n.detail().unwrap_or(""));
                    if text.contains("committed locally") {
                        f.store(true, Ordering::SeqCst);
                    }
                }
                Ok(_) => {}
                Err(_) => break,
            }
        }
    });
    Ok((client, flag, driver))
}

/// Drops and recreates the workload table through `dsn`.
pub async fn prepare_schema(dsn: &str) -> anyhow::Result<()> {
    let (c, _f, d) = connect(dsn).await?;
    c.batch_execute(&format!(
        "DROP TABLE IF EXISTS {TABLE}; CREATE TABLE {TABLE} (k bigint PRIMARY KEY, ival bigint, list bigint[])"
    ))
    .await?;
    d.abort();
    Ok(())
}

/// Replay lag of every standby connected to the primary at `dsn`, in ms (`pg_stat_replication`).
pub async fn replica_lag_ms(dsn: &str) -> anyhow::Result<Vec<f64>> {
    let (c, _f, d) = connect(dsn).await?;
    let rows = c
        .query(
            "SELECT COALESCE(EXTRACT(EPOCH FROM replay_lag) * 1000, 0)::float8 FROM pg_stat_replication",
            &[],
        )
        .await?;
    d.abort();
    Ok(rows.iter().map(|r| r.get::<_, f64>(0)).collect())
}

/// One client: a connection per DSN it has used, at most one open transaction.
pub struct PgClient {
    eps: Arc<Endpoints>,
    iso: Isolation,
    timeout: Duration,
    conns: BTreeMap<String, Conn>,
    /// DSN of the open transaction.
    txn: Option<String>,
    generation: u64,
}

const SQL_READ: &str = "SELECT ival, list FROM chaos_kv WHERE k = $1";
const SQL_WRITE: &str = "INSERT INTO chaos_kv (k, ival) VALUES ($1, $2) ON CONFLICT (k) DO UPDATE SET ival = EXCLUDED.ival";
const SQL_APPEND: &str = "INSERT INTO chaos_kv (k, list) VALUES ($1, ARRAY[$2::bigint]) ON CONFLICT (k) DO UPDATE SET list = COALESCE(chaos_kv.list, '{}') || EXCLUDED.list";
const SQL_CAS: &str = "UPDATE chaos_kv SET ival = $3 WHERE k = $1 AND ival = $2";

fn lost(e: &tokio_postgres::Error) -> bool {
    e.is_closed() || e.as_db_error().is_none()
}

fn classify(e: &tokio_postgres::Error, at_commit: bool) -> ClientError {
    if let Some(db) = e.as_db_error() {
        let code = db.code().code();
        let msg = format!("{code} {}", db.message());
        if code.starts_with("40") || !at_commit {
            return ClientError::definite(msg);
        }
        return ClientError::indeterminate(msg);
    }
    if at_commit {
        ClientError::indeterminate(format!("connection lost at commit: {e}"))
    } else {
        ClientError::definite(format!("connection error before commit: {e}"))
    }
}

impl PgClient {
    pub fn new(eps: Arc<Endpoints>, iso: Isolation, timeout: Duration) -> PgClient {
        PgClient {
            eps,
            iso,
            timeout,
            conns: BTreeMap::new(),
            txn: None,
            generation: 0,
        }
    }

    async fn conn_for(&mut self, dsn: &str) -> Result<&mut Conn, ClientError> {
        if !self.conns.contains_key(dsn) {
            let fut = async {
                let (client, flag, driver) = connect(dsn).await?;
                let standby: bool = client
                    .query_one("SELECT pg_is_in_recovery()", &[])
                    .await?
                    .get(0);
                Ok::<_, tokio_postgres::Error>(Conn {
                    client,
                    committed_locally: flag,
                    standby,
                    stmts: BTreeMap::new(),
                    driver,
                })
            };
            let c = tokio::time::timeout(self.timeout, fut)
                .await
                .map_err(|_| ClientError::definite("connect timeout"))?
                .map_err(|e| ClientError::definite(format!("connect: {e}")))?;
            self.conns.insert(dsn.to_string(), c);
        }
        Ok(self.conns.get_mut(dsn).expect("inserted above"))
    }

    fn open(&self) -> Result<String, ClientError> {
        self.txn
            .clone()
            .ok_or_else(|| ClientError::definite("no open transaction"))
    }

    /// Runs one statement of the open transaction; returns affected rows or the read row.
    async fn stmt(
        &mut self,
        sql: &'static str,
        params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
        read: bool,
    ) -> Result<(u64, Option<tokio_postgres::Row>), ClientError> {
        let dsn = self.open()?;
        let timeout = self.timeout;
        let conn = self.conn_for(&dsn).await?;
        let res = tokio::time::timeout(timeout, async {
            let st = match conn.stmts.get(sql) {
                Some(s) => s.clone(),
                None => {
                    let s = conn.client.prepare(sql).await?;
                    conn.stmts.insert(sql, s.clone());
                    s
                }
            };
            if read {
                let row = conn.client.query_opt(&st, params).await?;
                Ok((row.is_some() as u64, row))
            } else {
                Ok((conn.client.execute(&st, params).await?, None))
            }
        })
        .await;
        match res {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => {
                if lost(&e) {
                    self.drop_conn(&dsn);
                }
                Err(classify(&e, false))
            }
            Err(_) => {
                self.drop_conn(&dsn);
                Err(ClientError::definite("statement timeout (before commit)"))
            }
        }
    }

    fn drop_conn(&mut self, dsn: &str) {
        self.conns.remove(dsn);
        if self.txn.as_deref() == Some(dsn) {
            self.txn = None;
        }
    }
}

impl Client for PgClient {
    async fn begin(&mut self, target: &Target, read_only: bool) -> Result<(), ClientError> {
        let g = self.eps.generation();
        if g != self.generation {
            self.conns.clear();
            self.generation = g;
        }
        let dsn = match target {
            Target::Reader => self.eps.reader(),
            Target::Primary | Target::Instance(_) => self.eps.writer(),
            Target::Custom(c) => {
                return Err(ClientError::definite(format!(
                    "custom endpoint `{c}` is not supported by this target"
                )))
            }
        };
        let (iso, timeout) = (self.iso, self.timeout);
        let conn = self.conn_for(&dsn).await?;
        let iso = if conn.standby && iso == Isolation::Serializable {
            Isolation::RepeatableRead
        } else {
            iso
        };
        let sql = format!(
            "BEGIN ISOLATION LEVEL {}{}",
            iso.sql(),
            if read_only { " READ ONLY" } else { "" }
        );
        match tokio::time::timeout(timeout, conn.client.batch_execute(&sql)).await {
            Ok(Ok(())) => {
                self.txn = Some(dsn);
                Ok(())
            }
            Ok(Err(e)) => {
                self.drop_conn(&dsn);
                Err(classify(&e, false))
            }
            Err(_) => {
                self.drop_conn(&dsn);
                Err(ClientError::definite("begin timeout"))
            }
        }
    }

    async fn read(&mut self, key: u64) -> Result<Datum, ClientError> {
        let (_, row) = self.stmt(SQL_READ, &[&(key as i64)], true).await?;
        let Some(row) = row else {
            return Ok(Datum::Nil);
        };
        let ival: Option<i64> = row.get(0);
        let list: Option<Vec<i64>> = row.get(1);
        Ok(match (list, ival) {
            (Some(l), _) => Datum::List(l),
            (None, Some(i)) => Datum::Int(i),
            (None, None) => Datum::Nil,
        })
    }

    async fn write(&mut self, key: u64, value: Datum) -> Result<(), ClientError> {
        let Datum::Int(v) = value else {
            return Err(ClientError::definite("only integer writes are supported"));
        };
        self.stmt(SQL_WRITE, &[&(key as i64), &v], false).await?;
        Ok(())
    }

    async fn append(&mut self, key: u64, element: i64) -> Result<(), ClientError> {
        self.stmt(SQL_APPEND, &[&(key as i64), &element], false)
            .await?;
        Ok(())
    }

    async fn cas(&mut self, key: u64, expected: Datum, new: Datum) -> Result<bool, ClientError> {
        let (Datum::Int(old), Datum::Int(new)) = (expected, new) else {
            return Err(ClientError::definite("cas supports integers only"));
        };
        let (n, _) = self
            .stmt(SQL_CAS, &[&(key as i64), &old, &new], false)
            .await?;
        Ok(n == 1)
    }

    async fn commit(&mut self) -> Result<(), ClientError> {
        let dsn = self.open()?;
        let timeout = self.timeout;
        let conn = self.conn_for(&dsn).await?;
        conn.committed_locally.store(false, Ordering::SeqCst);
        let flag = conn.committed_locally.clone();
        let cancel = conn.client.cancel_token();
        let res = {
            let commit = conn.client.batch_execute("COMMIT");
            tokio::pin!(commit);
            match tokio::time::timeout(timeout, &mut commit).await {
                Ok(r) => Some(r),
                Err(_) => {
                    // A commit stuck (e.g. waiting for a synchronous standby): cancel it, as an
                    // application would, and see what the server says.
                    let _ =
                        tokio::time::timeout(Duration::from_secs(2), cancel.cancel_query(NoTls))
                            .await;
                    tokio::time::timeout(Duration::from_secs(2), &mut commit)
                        .await
                        .ok()
                }
            }
        };
        self.txn = None;
        match res {
            Some(Ok(())) if flag.load(Ordering::SeqCst) => {
                self.drop_conn(&dsn);
                Err(ClientError::indeterminate(
                    "commit cancelled: committed locally, not confirmed replicated",
                ))
            }
            Some(Ok(())) => Ok(()),
            Some(Err(e)) => {
                if lost(&e) {
                    self.drop_conn(&dsn);
                }
                Err(classify(&e, true))
            }
            None => {
                self.drop_conn(&dsn);
                Err(ClientError::indeterminate("commit timeout"))
            }
        }
    }

    async fn abort(&mut self) {
        let Some(dsn) = self.txn.take() else {
            return;
        };
        let timeout = self.timeout.min(Duration::from_secs(2));
        let ok = match self.conns.get(&dsn) {
            Some(c) => matches!(
                tokio::time::timeout(timeout, c.client.batch_execute("ROLLBACK")).await,
                Ok(Ok(()))
            ),
            None => true,
        };
        if !ok {
            self.conns.remove(&dsn);
        }
    }
}
