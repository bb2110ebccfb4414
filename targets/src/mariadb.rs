//! A local MariaDB cluster: a primary and replicas, each made by `mariadb-install-db` and run as
//! `mariadbd --no-defaults` on its own free 127.0.0.1 port in one fresh temporary directory, with
//! GTID replication (`MASTER_USE_GTID=slave_pos`, `gtid_strict_mode`, binary logs on every node,
//! `log_slave_updates`, `sync_binlog=1`, `innodb_flush_log_at_trx_commit=1`).
//!
//! `sync` replication turns on MariaDB's built-in semi-synchronous replication on every node (master
//! and slave sides), with the server defaults: `rpl_semi_sync_master_wait_point = AFTER_COMMIT` and a
//! 10 s `rpl_semi_sync_master_timeout` after which the primary silently falls back to asynchronous.
//!
//! A replica starts empty and replicates the primary's whole binary log (users, database, table), so
//! a rejoining node (after it was killed and replaced) is simply a fresh node.

use crate::procs::{self, Server, ServerUser, TempDir};
use crate::{my_client, Endpoints, Replication};
use anyhow::{anyhow, bail, Result};
use mysql_async::prelude::*;
use mysql_async::{Conn, OptsBuilder, Row};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

pub use crate::pg::Role;

pub struct MyNode {
    pub name: String,
    pub server_id: u32,
    pub port: u16,
    pub data: PathBuf,
    pub socket: PathBuf,
    pub role: Role,
    server: Option<Server>,
}

impl MyNode {
    pub fn dsn(&self) -> String {
        format!("mysql://chaos:chaos@127.0.0.1:{}/chaos", self.port)
    }
    async fn admin(&self) -> Result<Conn> {
        let b = OptsBuilder::default()
            .socket(Some(self.socket.to_string_lossy().to_string()))
            .user(Some("root"));
        Ok(tokio::time::timeout(Duration::from_secs(5), Conn::new(b)).await??)
    }
}

pub struct MyCluster {
    pub version: String,
    user: ServerUser,
    dir: TempDir,
    pub nodes: Vec<MyNode>,
    pub repl: Replication,
    pub endpoints: Arc<Endpoints>,
}

impl MyCluster {
    pub async fn start(replicas: usize, repl: Replication) -> Result<MyCluster> {
        for b in ["mariadb-install-db", "mariadbd"] {
            if which(b).is_none() {
                bail!("MariaDB not found: no `{b}` on PATH or in /usr/sbin (run ci/install-engines.sh)");
            }
        }
        let user = ServerUser::for_engine("mysql")?;
        let dir = TempDir::new("mysql", &user)?;
        let out = std::process::Command::new(which("mariadbd").unwrap_or_default())
            .arg("--version")
            .output()?;
        let version = String::from_utf8_lossy(&out.stdout).trim().to_string();
        let mut c = MyCluster {
            version,
            user,
            dir,
            nodes: Vec::new(),
            repl,
            endpoints: Endpoints::new(String::new(), Vec::new()),
        };
        for i in 0..=replicas {
            let name = format!("n{i}");
            c.nodes.push(MyNode {
                server_id: i as u32 + 1,
                port: procs::free_port()?,
                data: c.dir.path.join(&name),
                socket: c.dir.path.join(format!("{name}.sock")),
                role: if i == 0 { Role::Primary } else { Role::Replica },
                name,
                server: None,
            });
            c.provision(i).await?;
        }
        let mut a = c.nodes[0].admin().await?;
        a.query_drop("CREATE USER 'chaos'@'%' IDENTIFIED BY 'chaos'")
            .await?;
        a.query_drop("GRANT ALL PRIVILEGES ON *.* TO 'chaos'@'%' WITH GRANT OPTION")
            .await?;
        a.query_drop("CREATE DATABASE chaos").await?;
        let _ = a.disconnect().await;
        my_client::prepare_schema(&c.nodes[0].dsn()).await?;
        for i in 1..=replicas {
            c.follow(i, 0).await?;
        }
        c.wait_caught_up(Duration::from_secs(30)).await?;
        c.update_endpoints();
        Ok(c)
    }

    /// A fresh data directory and a running server for node `i`.
    async fn provision(&mut self, i: usize) -> Result<()> {
        let n = &self.nodes[i];
        let _ = std::fs::remove_dir_all(&n.data);
        let log = self.dir.path.join(format!("{}.log", n.name));
        let datadir = format!("--datadir={}", n.data.display());
        let args = [
            "--no-defaults",
            datadir.as_str(),
            "--auth-root-authentication-method=normal",
            "--skip-test-db",
        ];
        // mariadb-install-db has been seen to fail once on a loaded CI machine (exit 1, the
        // cause not in its log's tail): retry it twice on a fresh data directory before
        // giving up with the last error.
        let mut last = None;
        for _ in 0..3 {
            let _ = std::fs::remove_dir_all(&n.data);
            match self
                .user
                .run(
                    &which("mariadb-install-db").unwrap_or_default(),
                    &args,
                    &self.dir.path,
                    &log,
                )
                .await
            {
                Ok(()) => {
                    last = None;
                    break;
                }
                Err(e) => {
                    last = Some(e);
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
            }
        }
        if let Some(e) = last {
            return Err(e);
        }
        self.launch(i).await
    }

    async fn launch(&mut self, i: usize) -> Result<()> {
        let n = &self.nodes[i];
        let log = self.dir.path.join(format!("{}.log", n.name));
        let mut cmd = self
            .user
            .command(which("mariadbd").unwrap_or_default(), &self.dir.path);
        cmd.arg("--no-defaults")
            .arg(format!("--datadir={}", n.data.display()))
            .arg(format!("--port={}", n.port))
            .arg(format!("--socket={}", n.socket.display()))
            .arg(format!(
                "--pid-file={}/{}.pid",
                self.dir.path.display(),
                n.name
            ))
            .arg(format!("--server-id={}", n.server_id))
            .args([
                "--bind-address=127.0.0.1",
                "--skip-name-resolve",
                "--log-bin=binlog",
                "--log-slave-updates=ON",
                "--binlog-format=ROW",
                "--gtid-strict-mode=ON",
                "--sync-binlog=1",
                "--innodb-flush-log-at-trx-commit=1",
                "--innodb-buffer-pool-size=32M",
                "--max-connections=300",
            ]);
        if self.repl == Replication::Sync {
            cmd.args([
                "--rpl-semi-sync-master-enabled=ON",
                "--rpl-semi-sync-slave-enabled=ON",
            ]);
        }
        if n.role != Role::Primary {
            cmd.arg("--read-only=ON");
        }
        let mut server = Server::spawn(cmd, &log)?;
        let name = format!("mariadbd {}", n.name);
        let r = procs::wait_ready(&mut server, &name, Duration::from_secs(60), || async {
            let mut a = n.admin().await?;
            a.query_drop("SELECT 1").await?;
            let _ = a.disconnect().await;
            Ok(())
        })
        .await;
        self.nodes[i].server = Some(server);
        r
    }

    /// Points node `i` at node `from` with GTID replication and starts the replica threads.
    async fn follow(&self, i: usize, from: usize) -> Result<()> {
        let mut a = self.nodes[i].admin().await?;
        a.query_drop("STOP SLAVE").await?;
        a.query_drop(format!(
            "CHANGE MASTER TO MASTER_HOST='127.0.0.1', MASTER_PORT={}, MASTER_USER='chaos', MASTER_PASSWORD='chaos', MASTER_USE_GTID=slave_pos, MASTER_CONNECT_RETRY=1",
            self.nodes[from].port
        ))
        .await?;
        a.query_drop("START SLAVE").await?;
        let _ = a.disconnect().await;
        Ok(())
    }

    async fn wait_caught_up(&self, timeout: Duration) -> Result<()> {
        let p = self.primary();
        procs::wait_until("replicas caught up", timeout, || async {
            let mut a = self.nodes[p].admin().await?;
            let pos: Option<String> = a.query_first("SELECT @@gtid_binlog_pos").await?;
            let _ = a.disconnect().await;
            for n in self.nodes.iter().filter(|n| n.role == Role::Replica) {
                let mut r = n.admin().await?;
                let got: Option<String> = r.query_first("SELECT @@gtid_slave_pos").await?;
                let _ = r.disconnect().await;
                if got != pos {
                    bail!("{} at {got:?}, primary at {pos:?}", n.name);
                }
            }
            Ok(())
        })
        .await
    }

    pub fn primary(&self) -> usize {
        self.nodes
            .iter()
            .position(|n| n.role == Role::Primary)
            .unwrap_or(0)
    }

    fn update_endpoints(&self) {
        let readers = self
            .nodes
            .iter()
            .filter(|n| n.role == Role::Replica)
            .map(MyNode::dsn)
            .collect();
        self.endpoints
            .set(self.nodes[self.primary()].dsn(), readers);
    }

    pub fn resolve(&self, host: &str) -> Option<usize> {
        match host {
            crate::faults::WRITER => Some(self.primary()),
            crate::faults::REPLICA => self.nodes.iter().position(|n| n.role == Role::Replica),
            name => self.nodes.iter().position(|n| n.name == name),
        }
    }

    pub fn kill(&mut self, i: usize) {
        if let Some(s) = self.nodes[i].server.as_mut() {
            s.kill9();
        }
        self.nodes[i].server = None;
    }

    pub fn signal_pause(&self, i: usize, pause: bool) -> bool {
        self.nodes[i]
            .server
            .as_ref()
            .is_some_and(|s| if pause { s.pause() } else { s.resume() })
    }

    /// kill -9 of the primary; the replica with the highest applied GTID sequence drains its relay
    /// log, stops its replica threads and becomes writable; other replicas follow it.
    pub async fn kill_and_promote(&mut self) -> Result<serde_json::Value> {
        let old = self.primary();
        self.kill(old);
        let mut best: Option<(u64, usize)> = None;
        for (i, n) in self
            .nodes
            .iter()
            .enumerate()
            .filter(|(_, n)| n.role == Role::Replica)
        {
            let pos = async {
                let mut a = n.admin().await?;
                let s: Option<String> = a.query_first("SELECT @@gtid_slave_pos").await?;
                let _ = a.disconnect().await;
                Ok::<u64, anyhow::Error>(gtid_seq(&s.unwrap_or_default()))
            };
            if let Ok(Ok(seq)) = tokio::time::timeout(Duration::from_secs(3), pos).await {
                if best.is_none_or(|(b, _)| seq > b) {
                    best = Some((seq, i));
                }
            }
        }
        let Some((_, new)) = best else {
            self.nodes[old].role = Role::Primary;
            self.launch(old).await?;
            return Ok(
                serde_json::json!({"killed": self.nodes[old].name, "promoted": null, "note": "no live replica: the primary restarted and recovered"}),
            );
        };
        self.nodes[old].role = Role::Replaced;
        let mut a = self.nodes[new].admin().await?;
        a.query_drop("STOP SLAVE IO_THREAD").await?;
        let drained = procs::wait_until("relay log applied", Duration::from_secs(10), || async {
            let mut a = self.nodes[new].admin().await?;
            let rows: Vec<Row> = a.query("SHOW SLAVE STATUS").await?;
            let _ = a.disconnect().await;
            let r = rows.first().ok_or_else(|| anyhow!("no slave status"))?;
            let read: Option<u64> = r.get("Read_Master_Log_Pos");
            let exec: Option<u64> = r.get("Exec_Master_Log_Pos");
            let f1: Option<String> = r.get("Master_Log_File");
            let f2: Option<String> = r.get("Relay_Master_Log_File");
            if read == exec && f1 == f2 {
                Ok(())
            } else {
                bail!("read {read:?}/{f1:?}, exec {exec:?}/{f2:?}")
            }
        })
        .await;
        a.query_drop("STOP SLAVE").await?;
        a.query_drop("RESET SLAVE ALL").await?;
        a.query_drop("SET GLOBAL read_only = 0").await?;
        let gtid: Option<String> = a.query_first("SELECT @@gtid_current_pos").await?;
        let _ = a.disconnect().await;
        self.nodes[new].role = Role::Primary;
        self.update_endpoints();
        let others: Vec<usize> = (0..self.nodes.len())
            .filter(|&i| self.nodes[i].role == Role::Replica)
            .collect();
        for i in others {
            self.follow(i, new).await?;
        }
        self.update_endpoints();
        Ok(
            serde_json::json!({"killed": self.nodes[old].name, "promoted": self.nodes[new].name, "gtid_current_pos": gtid, "relay_log_drained": drained.is_ok()}),
        )
    }

    /// Clean restart (SIGTERM, then start) of node `i`.
    pub async fn restart(&mut self, i: usize) -> Result<()> {
        if let Some(mut s) = self.nodes[i].server.take() {
            s.stop(libc::SIGTERM, Duration::from_secs(30)).await;
        }
        self.launch(i).await
    }

    /// `STOP SLAVE SQL_THREAD` / `START SLAVE SQL_THREAD` on replica `i`.
    pub async fn replay(&self, i: usize, pause: bool) -> Result<()> {
        let mut a = self.nodes[i].admin().await?;
        a.query_drop(if pause {
            "STOP SLAVE SQL_THREAD"
        } else {
            "START SLAVE SQL_THREAD"
        })
        .await?;
        let _ = a.disconnect().await;
        Ok(())
    }

    /// Heal: resume every process, restart killed nodes, reprovision replaced primaries as fresh
    /// replicas of the current primary.
    pub async fn heal(&mut self) -> Result<Vec<String>> {
        let mut done = Vec::new();
        for i in 0..self.nodes.len() {
            self.signal_pause(i, false);
            match self.nodes[i].role {
                Role::Down => {
                    let role = if self.nodes.iter().any(|n| n.role == Role::Primary) {
                        Role::Replica
                    } else {
                        Role::Primary
                    };
                    self.nodes[i].role = role;
                    self.launch(i).await?;
                    done.push(format!("restarted {}", self.nodes[i].name));
                }
                Role::Replaced => {
                    let p = self.primary();
                    self.nodes[i].role = Role::Replica;
                    // A fresh server id: a replica skips binlog events carrying its own id, and the
                    // new primary's log still holds the events this node wrote under its old id.
                    self.nodes[i].server_id =
                        self.nodes.iter().map(|n| n.server_id).max().unwrap_or(0) + 1;
                    self.provision(i).await?;
                    self.follow(i, p).await?;
                    self.wait_caught_up(Duration::from_secs(60)).await?;
                    done.push(format!(
                        "{} reprovisioned as a replica of {}",
                        self.nodes[i].name, self.nodes[p].name
                    ));
                }
                Role::Replica => {
                    let _ = self.replay(i, false).await;
                }
                Role::Primary => {}
            }
        }
        self.update_endpoints();
        Ok(done)
    }

    pub async fn shutdown(mut self) {
        for n in &mut self.nodes {
            if let Some(mut s) = n.server.take() {
                s.stop(libc::SIGTERM, Duration::from_secs(20)).await;
            }
        }
    }

    pub fn describe(&self) -> serde_json::Value {
        serde_json::json!({
            "engine": "mysql",
            "version": self.version,
            "replication": match self.repl { Replication::Async => "async (GTID)", Replication::Sync => "semi-sync (GTID; AFTER_COMMIT, 10 s fallback to async)" },
            "dir": self.dir.path,
            "server_user": self.user.name,
            "nodes": self.nodes.iter().map(|n| serde_json::json!({"name": n.name, "port": n.port, "server_id": n.server_id, "role": format!("{:?}", n.role)})).collect::<Vec<_>>(),
        })
    }
}

/// The sequence number of a single-domain GTID position (`0-1-42` → 42); 0 when empty.
fn gtid_seq(pos: &str) -> u64 {
    pos.split(',')
        .filter_map(|g| g.rsplit('-').next()?.parse().ok())
        .max()
        .unwrap_or(0)
}

fn which(b: &str) -> Option<String> {
    for d in ["/usr/sbin", "/usr/bin", "/usr/local/bin", "/usr/local/sbin"] {
        let p = format!("{d}/{b}");
        if std::path::Path::new(&p).exists() {
            return Some(p);
        }
    }
    let out = std::process::Command::new("sh")
        .args(["-c", &format!("command -v {b}")])
        .output()
        .ok()?;
    let p = String::from_utf8_lossy(&out.stdout).trim().to_string();
    (!p.is_empty()).then_some(p)
}
