//! [`workloads::Client`] over mysql_async (MariaDB / MySQL / Aurora MySQL).
//!
//! Each connection runs `SET SESSION TRANSACTION ISOLATION LEVEL <level>` once; a transaction is
//! `START TRANSACTION [READ ONLY]`, statements, `COMMIT`. Data lives in one InnoDB table
//! `chaos_kv (k BIGINT PRIMARY KEY, ival BIGINT NULL, list TEXT NULL)`; lists are comma-separated
//! and appended with `CONCAT_WS`. Connections use `CLIENT_FOUND_ROWS`, so a cas that writes the
//! value already there still counts as a match.
//!
//! Outcome contract: any error before `COMMIT` is definite (`:fail`); at `COMMIT`, a server error
//! 1213 (deadlock) or 1205 (lock wait timeout) or any other server error that rolls back is definite,
//! while a lost connection or a timeout is indeterminate (`:info`). MariaDB's semi-synchronous
//! replication falls back to asynchronous after `rpl_semi_sync_master_timeout` and still reports the
//! commit as successful; the client cannot see that, so neither can the history.

use crate::{Endpoints, Isolation};
use mysql_async::prelude::*;
use mysql_async::{Conn, Opts, OptsBuilder};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use workloads::{Client, ClientError, Datum, Target};

/// Opens a connection to `dsn` (a `mysql://` URL) over TCP.
pub async fn connect(dsn: &str) -> Result<Conn, mysql_async::Error> {
    let opts = Opts::from_url(dsn)?;
    let b = OptsBuilder::from_opts(opts)
        .client_found_rows(true)
        .prefer_socket(false);
    Conn::new(b).await
}

/// Drops and recreates the workload table through `dsn`.
pub async fn prepare_schema(dsn: &str) -> anyhow::Result<()> {
    let mut c = connect(dsn).await?;
    c.query_drop("DROP TABLE IF EXISTS chaos_kv").await?;
    c.query_drop(
        "CREATE TABLE chaos_kv (k BIGINT PRIMARY KEY, ival BIGINT NULL, list TEXT NULL) ENGINE=InnoDB",
    )
    .await?;
    let _ = c.disconnect().await;
    Ok(())
}

/// `Seconds_Behind_Master` of each replica DSN, in ms (MariaDB reports whole seconds).
pub async fn replica_lag_ms(replicas: &[String]) -> anyhow::Result<Vec<f64>> {
    let mut out = Vec::new();
    for dsn in replicas {
        let mut c = connect(dsn).await?;
        let rows: Vec<mysql_async::Row> = c.query("SHOW SLAVE STATUS").await?;
        for r in rows {
            let s: Option<Option<u64>> = r.get("Seconds_Behind_Master");
            out.push(s.flatten().map(|s| s as f64 * 1000.0).unwrap_or(f64::NAN));
        }
        let _ = c.disconnect().await;
    }
    Ok(out)
}

pub struct MyClient {
    eps: Arc<Endpoints>,
    iso: Isolation,
    timeout: Duration,
    conns: BTreeMap<String, Conn>,
    txn: Option<String>,
    generation: u64,
}

fn classify(e: &mysql_async::Error, at_commit: bool) -> ClientError {
    match e {
        mysql_async::Error::Server(s) => {
            let msg = format!("{} {}", s.code, s.message);
            if !at_commit || matches!(s.code, 1213 | 1205 | 1180 | 1181) {
                ClientError::definite(msg)
            } else {
                ClientError::indeterminate(msg)
            }
        }
        other if at_commit => {
            ClientError::indeterminate(format!("connection lost at commit: {other}"))
        }
        other => ClientError::definite(format!("connection error before commit: {other}")),
    }
}

impl MyClient {
    pub fn new(eps: Arc<Endpoints>, iso: Isolation, timeout: Duration) -> MyClient {
        MyClient {
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
            let iso = self.iso;
            let fut = async {
                let mut c = connect(dsn).await?;
                c.query_drop(format!(
                    "SET SESSION TRANSACTION ISOLATION LEVEL {}",
                    iso.sql()
                ))
                .await?;
                Ok::<_, mysql_async::Error>(c)
            };
            let c = tokio::time::timeout(self.timeout, fut)
                .await
                .map_err(|_| ClientError::definite("connect timeout"))?
                .map_err(|e| ClientError::definite(format!("connect: {e}")))?;
            self.conns.insert(dsn.to_string(), c);
        }
        Ok(self.conns.get_mut(dsn).expect("inserted above"))
    }

    fn drop_conn(&mut self, dsn: &str) {
        // Dropping a mysql_async Conn without disconnect closes the socket.
        self.conns.remove(dsn);
        if self.txn.as_deref() == Some(dsn) {
            self.txn = None;
        }
    }

    /// Runs `f` on the open transaction's connection with the statement timeout; errors before
    /// commit are definite and a broken connection is dropped.
    async fn run<T, F>(&mut self, f: F) -> Result<T, ClientError>
    where
        F: for<'c> FnOnce(
            &'c mut Conn,
        ) -> std::pin::Pin<
            Box<dyn std::future::Future<Output = Result<T, mysql_async::Error>> + 'c>,
        >,
    {
        let dsn = self
            .txn
            .clone()
            .ok_or_else(|| ClientError::definite("no open transaction"))?;
        let timeout = self.timeout;
        let conn = self.conn_for(&dsn).await?;
        match tokio::time::timeout(timeout, f(conn)).await {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => {
                if !matches!(e, mysql_async::Error::Server(_)) {
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
}

fn parse_list(s: &str) -> Result<Vec<i64>, ClientError> {
    s.split(',')
        .filter(|x| !x.is_empty())
        .map(|x| {
            x.parse()
                .map_err(|_| ClientError::definite(format!("unparseable list element `{x}`")))
        })
        .collect()
}

impl Client for MyClient {
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
        let timeout = self.timeout;
        let conn = self.conn_for(&dsn).await?;
        let sql = if read_only {
            "START TRANSACTION READ ONLY"
        } else {
            "START TRANSACTION"
        };
        match tokio::time::timeout(timeout, conn.query_drop(sql)).await {
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
        let k = key as i64;
        let row: Option<(Option<i64>, Option<String>)> = self
            .run(move |c| {
                Box::pin(c.exec_first("SELECT ival, list FROM chaos_kv WHERE k = ?", (k,)))
            })
            .await?;
        Ok(match row {
            None => Datum::Nil,
            Some((_, Some(l))) => Datum::List(parse_list(&l)?),
            Some((Some(i), None)) => Datum::Int(i),
            Some((None, None)) => Datum::Nil,
        })
    }

    async fn write(&mut self, key: u64, value: Datum) -> Result<(), ClientError> {
        let Datum::Int(v) = value else {
            return Err(ClientError::definite("only integer writes are supported"));
        };
        let k = key as i64;
        self.run(move |c| {
            Box::pin(c.exec_drop(
                "INSERT INTO chaos_kv (k, ival) VALUES (?, ?) ON DUPLICATE KEY UPDATE ival = VALUES(ival)",
                (k, v),
            ))
        })
        .await
    }

    async fn append(&mut self, key: u64, element: i64) -> Result<(), ClientError> {
        let k = key as i64;
        let e = element.to_string();
        self.run(move |c| {
            Box::pin(c.exec_drop(
                "INSERT INTO chaos_kv (k, list) VALUES (?, ?) ON DUPLICATE KEY UPDATE list = CONCAT_WS(',', list, VALUES(list))",
                (k, e),
            ))
        })
        .await
    }

    async fn cas(&mut self, key: u64, expected: Datum, new: Datum) -> Result<bool, ClientError> {
        let (Datum::Int(old), Datum::Int(new)) = (expected, new) else {
            return Err(ClientError::definite("cas supports integers only"));
        };
        let k = key as i64;
        let n = self
            .run(move |c| {
                Box::pin(async move {
                    c.exec_drop(
                        "UPDATE chaos_kv SET ival = ? WHERE k = ? AND ival = ?",
                        (new, k, old),
                    )
                    .await?;
                    Ok(c.affected_rows())
                })
            })
            .await?;
        Ok(n == 1)
    }

    async fn commit(&mut self) -> Result<(), ClientError> {
        let dsn = self
            .txn
            .take()
            .ok_or_else(|| ClientError::definite("no open transaction"))?;
        let timeout = self.timeout;
        let conn = self.conn_for(&dsn).await?;
        match tokio::time::timeout(timeout, conn.query_drop("COMMIT")).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => {
                if !matches!(e, mysql_async::Error::Server(_)) {
                    self.drop_conn(&dsn);
                }
                Err(classify(&e, true))
            }
            Err(_) => {
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
        let ok = match self.conns.get_mut(&dsn) {
            Some(c) => matches!(
                tokio::time::timeout(timeout, c.query_drop("ROLLBACK")).await,
                Ok(Ok(()))
            ),
            None => true,
        };
        if !ok {
            self.conns.remove(&dsn);
        }
    }
}
