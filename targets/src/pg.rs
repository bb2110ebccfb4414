//! A local PostgreSQL cluster: a primary made by `initdb`, replicas made by `pg_basebackup -R`
//! streaming from it, each a `postgres` process on its own free 127.0.0.1 port, all in one fresh
//! temporary directory owned by the server user.
//!
//! Replication: `async` leaves `synchronous_standby_names` empty; `sync` sets it to
//! `ANY 1 (n0, n1, …)` (every node's `application_name`) with `synchronous_commit = on`, so a commit
//! waits until one standby has flushed it, whichever node is primary.
//!
//! Invariants: at most one node is primary; the endpoints always name the primary and the live,
//! unpaused-or-paused replicas (a paused replica stays a reader: clients time out on it, as they
//! would in production).

use crate::procs::{self, Server, ServerUser, TempDir};
use crate::{pg_client, Endpoints, Replication};
use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Primary,
    Replica,
    /// Killed and replaced by a promotion; rejoins as a replica at the heal.
    Replaced,
    /// Killed; restarts in its old role at the heal.
    Down,
}

pub struct PgNode {
    pub name: String,
    pub port: u16,
    pub data: PathBuf,
    pub role: Role,
    server: Option<Server>,
}

pub struct PgCluster {
    bin: PathBuf,
    pub version: String,
    user: ServerUser,
    dir: TempDir,
    pub nodes: Vec<PgNode>,
    pub repl: Replication,
    pub endpoints: Arc<Endpoints>,
    /// `pg_stat_replication` (application_name, sync_state) right after setup.
    pub sync_states: Vec<(String, String)>,
}

/// The directory holding `initdb`, `postgres` and `pg_basebackup`: `AURORA_CHAOS_PG_BIN`, or the
/// newest `/usr/lib/postgresql/<ver>/bin` (Debian), or the directory of `initdb` on `PATH`.
pub fn find_bin() -> Result<PathBuf> {
    if let Ok(p) = std::env::var("AURORA_CHAOS_PG_BIN") {
        return Ok(PathBuf::from(p));
    }
    let mut best: Option<(u32, PathBuf)> = None;
    if let Ok(rd) = std::fs::read_dir("/usr/lib/postgresql") {
        for e in rd.flatten() {
            let v: u32 = e.file_name().to_string_lossy().parse().unwrap_or(0);
            let bin = e.path().join("bin");
            if bin.join("initdb").exists() && best.as_ref().is_none_or(|(b, _)| v > *b) {
                best = Some((v, bin));
            }
        }
    }
    if let Some((_, b)) = best {
        return Ok(b);
    }
    if let Ok(out) = std::process::Command::new("sh")
        .args(["-c", "command -v initdb"])
        .output()
    {
        let p = String::from_utf8_lossy(&out.stdout).trim().to_string();
        if !p.is_empty() {
            return Ok(PathBuf::from(p)
                .parent()
                .map(Path::to_path_buf)
                .unwrap_or_default());
        }
    }
    bail!("PostgreSQL not found: no /usr/lib/postgresql/<ver>/bin/initdb and no initdb on PATH (run ci/install-engines.sh, or set AURORA_CHAOS_PG_BIN)")
}

fn dsn(port: u16, db: &str) -> String {
    format!("host=127.0.0.1 port={port} user=postgres dbname={db} connect_timeout=3")
}

impl PgNode {
    pub fn dsn(&self) -> String {
        dsn(self.port, "chaos")
    }
}

impl PgCluster {
    /// Starts a primary and `replicas` streaming replicas and creates the `chaos` database and the
    /// workload table. On error everything started so far is stopped and removed (by `Drop`).
    pub async fn start(replicas: usize, repl: Replication) -> Result<PgCluster> {
        let bin = find_bin()?;
        let user = ServerUser::for_engine("postgres")?;
        let dir = TempDir::new("postgres", &user)?;
        let out = std::process::Command::new(bin.join("postgres"))
            .arg("--version")
            .output()?;
        let version = String::from_utf8_lossy(&out.stdout).trim().to_string();
        let mut c = PgCluster {
            bin,
            version,
            user,
            dir,
            nodes: Vec::new(),
            repl,
            endpoints: Endpoints::new(String::new(), Vec::new()),
            sync_states: Vec::new(),
        };
        let names: Vec<String> = (0..=replicas).map(|i| format!("n{i}")).collect();
        let data = c.dir.path.join("n0");
        let log = c.dir.path.join("n0.log");
        let initdb = c.bin.join("initdb");
        let args = [
            "-D",
            data.to_str().unwrap_or_default(),
            "-U",
            "postgres",
            "-A",
            "trust",
            "-E",
            "UTF8",
            "-k",
            "--no-instructions",
        ];
        c.user
            .run(
                initdb.to_str().unwrap_or_default(),
                &args,
                &c.dir.path,
                &log,
            )
            .await?;
        let sync_names = match repl {
            Replication::Async => String::new(),
            Replication::Sync => format!("ANY 1 ({})", names.join(", ")),
        };
        let conf = format!(
            "\n# aurora-chaos\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '{}'\nwal_level = replica\nmax_wal_senders = 16\nmax_replication_slots = 16\nhot_standby = on\nhot_standby_feedback = on\nwal_keep_size = '256MB'\nmax_connections = 200\nshared_buffers = '32MB'\nfsync = on\nsynchronous_commit = on\nwal_receiver_status_interval = '1s'\nlog_min_messages = warning\n",
            c.dir.path.display()
        );
        append(&data.join("postgresql.conf"), &conf)?;
        c.nodes.push(PgNode {
            name: names[0].clone(),
            port: procs::free_port()?,
            data,
            role: Role::Primary,
            server: None,
        });
        c.launch(0).await?;
        let (admin, _f, d) = pg_client::connect(&dsn(c.nodes[0].port, "postgres")).await?;
        admin.batch_execute("CREATE DATABASE chaos").await?;
        d.abort();
        for name in &names[1..] {
            let i = c.nodes.len();
            c.nodes.push(PgNode {
                name: name.clone(),
                port: procs::free_port()?,
                data: c.dir.path.join(name),
                role: Role::Replica,
                server: None,
            });
            c.basebackup(i, 0).await?;
            append(
                &c.nodes[i].data.join("postgresql.auto.conf"),
                &format!("synchronous_standby_names = '{sync_names}'\n"),
            )?;
            c.launch(i).await?;
        }
        c.wait_streaming(replicas, Duration::from_secs(30)).await?;
        // Only now that the standbys stream: before, a synchronous primary could not commit the setup.
        let (admin, _f, d) = pg_client::connect(&dsn(c.nodes[0].port, "postgres")).await?;
        admin
            .batch_execute(&format!(
                "ALTER SYSTEM SET synchronous_standby_names = '{sync_names}'"
            ))
            .await?;
        admin.batch_execute("SELECT pg_reload_conf()").await?;
        tokio::time::sleep(Duration::from_millis(300)).await;
        for r in admin
            .query(
                "SELECT application_name, sync_state FROM pg_stat_replication ORDER BY 1",
                &[],
            )
            .await?
        {
            c.sync_states.push((r.get(0), r.get(1)));
        }
        d.abort();
        pg_client::prepare_schema(&c.nodes[0].dsn()).await?;
        for n in &c.nodes[1..] {
            let dsn = n.dsn();
            procs::wait_until(
                &format!("table replicated to {}", n.name),
                Duration::from_secs(30),
                || {
                    let dsn = dsn.clone();
                    async move {
                        let (c, _f, d) = pg_client::connect(&dsn).await?;
                        let r = c
                            .query_one("SELECT to_regclass('chaos_kv') IS NOT NULL", &[])
                            .await?;
                        d.abort();
                        if r.get::<_, bool>(0) {
                            Ok(())
                        } else {
                            bail!("not yet")
                        }
                    }
                },
            )
            .await?;
        }
        c.update_endpoints();
        Ok(c)
    }

    /// `pg_basebackup -R` of node `i` from node `from`, with its `application_name` set.
    async fn basebackup(&mut self, i: usize, from: usize) -> Result<()> {
        let n = &self.nodes[i];
        let _ = std::fs::remove_dir_all(&n.data);
        let log = self.dir.path.join(format!("{}.log", n.name));
        let port = self.nodes[from].port.to_string();
        let bb = self.bin.join("pg_basebackup");
        let args = [
            "-D",
            n.data.to_str().unwrap_or_default(),
            "-h",
            "127.0.0.1",
            "-p",
            &port,
            "-U",
            "postgres",
            "-R",
            "-X",
            "stream",
            "-c",
            "fast",
        ];
        self.user
            .run(bb.to_str().unwrap_or_default(), &args, &self.dir.path, &log)
            .await?;
        append(
            &n.data.join("postgresql.auto.conf"),
            &conninfo_line(self.nodes[from].port, &n.name),
        )?;
        Ok(())
    }

    /// Starts node `i`'s postgres and waits until it accepts connections.
    async fn launch(&mut self, i: usize) -> Result<()> {
        let n = &self.nodes[i];
        let log = self.dir.path.join(format!("{}.log", n.name));
        let mut cmd = self.user.command(self.bin.join("postgres"), &self.dir.path);
        cmd.arg("-D").arg(&n.data).arg("-p").arg(n.port.to_string());
        let mut server = Server::spawn(cmd, &log)?;
        let dsn = dsn(n.port, "postgres");
        let name = format!("postgres {}", n.name);
        let r = procs::wait_ready(&mut server, &name, Duration::from_secs(60), || {
            let dsn = dsn.clone();
            async move {
                let (c, _f, d) = pg_client::connect(&dsn).await?;
                c.simple_query("SELECT 1").await?;
                d.abort();
                Ok(())
            }
        })
        .await;
        self.nodes[i].server = Some(server);
        r
    }

    async fn wait_streaming(&self, n: usize, timeout: Duration) -> Result<()> {
        let dsn = self.primary_node().dsn();
        procs::wait_until("replicas streaming", timeout, || {
            let dsn = dsn.clone();
            async move {
                let lags = pg_client::replica_lag_ms(&dsn).await?;
                if lags.len() >= n {
                    Ok(())
                } else {
                    bail!("{} of {n} streaming", lags.len())
                }
            }
        })
        .await
    }

    pub fn primary(&self) -> usize {
        self.nodes
            .iter()
            .position(|n| n.role == Role::Primary)
            .unwrap_or(0)
    }
    fn primary_node(&self) -> &PgNode {
        &self.nodes[self.primary()]
    }

    fn update_endpoints(&self) {
        let readers = self
            .nodes
            .iter()
            .filter(|n| n.role == Role::Replica)
            .map(PgNode::dsn)
            .collect();
        self.endpoints.set(self.primary_node().dsn(), readers);
    }

    /// Resolves `@writer`, `@replica` or a node name to a node index.
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

    /// kill -9 of the primary, then promotion of the replica that has received the most WAL; the
    /// other replicas follow the new primary. Returns what happened.
    pub async fn kill_and_promote(&mut self) -> Result<serde_json::Value> {
        let old = self.primary();
        self.kill(old);
        let mut best: Option<(i64, usize)> = None;
        for (i, n) in self
            .nodes
            .iter()
            .enumerate()
            .filter(|(_, n)| n.role == Role::Replica)
        {
            let lsn = async {
                let (c, _f, d) = pg_client::connect(&n.dsn()).await?;
                let r = c.query_one("SELECT pg_wal_lsn_diff(COALESCE(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn()), '0/0')::bigint", &[]).await?;
                d.abort();
                Ok::<i64, anyhow::Error>(r.get(0))
            };
            if let Ok(Ok(l)) = tokio::time::timeout(Duration::from_secs(3), lsn).await {
                if best.is_none_or(|(b, _)| l > b) {
                    best = Some((l, i));
                }
            }
        }
        let Some((lsn, new)) = best else {
            self.nodes[old].role = Role::Down;
            self.launch_role(old, Role::Primary).await?;
            return Ok(
                serde_json::json!({"killed": self.nodes[old].name, "promoted": null, "note": "no live replica: the primary restarted and recovered"}),
            );
        };
        self.nodes[old].role = Role::Replaced;
        let (c, _f, d) = pg_client::connect(&self.nodes[new].dsn()).await?;
        let ok: bool = c
            .query_one("SELECT pg_promote(true, 60)", &[])
            .await?
            .get(0);
        d.abort();
        if !ok {
            bail!("pg_promote on {} did not complete", self.nodes[new].name);
        }
        self.nodes[new].role = Role::Primary;
        self.update_endpoints();
        let port = self.nodes[new].port;
        for n in self.nodes.iter().filter(|n| n.role == Role::Replica) {
            let (c, _f, d) = pg_client::connect(&n.dsn()).await?;
            c.batch_execute(&format!(
                "ALTER SYSTEM SET primary_conninfo = '{}'",
                conninfo(port, &n.name)
            ))
            .await?;
            c.batch_execute("SELECT pg_reload_conf()").await?;
            d.abort();
        }
        Ok(
            serde_json::json!({"killed": self.nodes[old].name, "promoted": self.nodes[new].name, "promoted_received_lsn": lsn}),
        )
    }

    async fn launch_role(&mut self, i: usize, role: Role) -> Result<()> {
        self.launch(i).await?;
        self.nodes[i].role = role;
        Ok(())
    }

    /// Clean restart (SIGINT = fast shutdown, then start) of node `i`.
    pub async fn restart(&mut self, i: usize) -> Result<()> {
        if let Some(mut s) = self.nodes[i].server.take() {
            s.stop(libc::SIGINT, Duration::from_secs(30)).await;
        }
        let role = self.nodes[i].role;
        self.launch_role(i, role).await
    }

    /// `pg_wal_replay_pause()` / `pg_wal_replay_resume()` on replica `i`.
    pub async fn replay(&self, i: usize, pause: bool) -> Result<()> {
        let (c, _f, d) = pg_client::connect(&self.nodes[i].dsn()).await?;
        let f = if pause {
            "pg_wal_replay_pause"
        } else {
            "pg_wal_replay_resume"
        };
        c.batch_execute(&format!("SELECT {f}()")).await.context(f)?;
        d.abort();
        Ok(())
    }

    /// Heal: resume every process, restart killed nodes, rejoin replaced primaries as replicas
    /// (fresh `pg_basebackup` from the current primary).
    pub async fn heal(&mut self) -> Result<Vec<String>> {
        let mut done = Vec::new();
        for i in 0..self.nodes.len() {
            if self.signal_pause(i, false) {
                // SIGCONT to a running group succeeds; only report nodes that were stopped.
            }
            match self.nodes[i].role {
                Role::Down => {
                    let role = if self.nodes.iter().any(|n| n.role == Role::Primary) {
                        Role::Replica
                    } else {
                        Role::Primary
                    };
                    self.launch_role(i, role).await?;
                    done.push(format!("restarted {}", self.nodes[i].name));
                }
                Role::Replaced => {
                    let p = self.primary();
                    self.basebackup(i, p).await?;
                    self.launch_role(i, Role::Replica).await?;
                    done.push(format!(
                        "{} rejoined as a replica of {}",
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

    /// Stops every server (fast shutdown) and removes the directory.
    pub async fn shutdown(mut self) {
        for n in &mut self.nodes {
            if let Some(mut s) = n.server.take() {
                s.stop(libc::SIGINT, Duration::from_secs(10)).await;
            }
        }
    }

    pub fn describe(&self) -> serde_json::Value {
        serde_json::json!({
            "engine": "postgres",
            "version": self.version,
            "replication": self.repl.name(),
            "dir": self.dir.path,
            "server_user": self.user.name,
            "sync_state_at_setup": self.sync_states,
            "nodes": self.nodes.iter().map(|n| serde_json::json!({"name": n.name, "port": n.port, "role": format!("{:?}", n.role)})).collect::<Vec<_>>(),
        })
    }
}

fn conninfo(port: u16, app: &str) -> String {
    format!("host=127.0.0.1 port={port} user=postgres application_name={app}")
}

fn conninfo_line(port: u16, app: &str) -> String {
    format!("\nprimary_conninfo = '{}'\n", conninfo(port, app))
}

fn append(path: &Path, text: &str) -> Result<()> {
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(path)
        .with_context(|| format!("opening {}", path.display()))?;
    f.write_all(text.as_bytes())?;
    Ok(())
}
