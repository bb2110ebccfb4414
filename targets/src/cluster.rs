//! A target cluster: one the harness started (PostgreSQL or MariaDB), or an existing one reached by
//! DSN. Applies [`Fault`]s and tracks what the next heal must undo.
//!
//! Contract: `apply` never panics; a fault that cannot be applied (no replica to pause, a `command`
//! that exits non-zero) returns an error that the runner records in the history and the report, and
//! the run goes on.

use crate::faults::Fault;
use crate::mariadb::MyCluster;
use crate::pg::{PgCluster, Role};
use crate::{Endpoints, Engine};
use anyhow::{anyhow, bail, Result};
use serde_json::json;
use std::sync::Arc;

pub enum Cluster {
    Pg(PgCluster),
    My(MyCluster),
    /// An existing cluster: faults come only from the user's command.
    External {
        engine: Engine,
        endpoints: Arc<Endpoints>,
    },
}

impl Cluster {
    pub fn engine(&self) -> Engine {
        match self {
            Cluster::Pg(_) => Engine::Postgres,
            Cluster::My(_) => Engine::Mysql,
            Cluster::External { engine, .. } => *engine,
        }
    }

    pub fn endpoints(&self) -> Arc<Endpoints> {
        match self {
            Cluster::Pg(c) => c.endpoints.clone(),
            Cluster::My(c) => c.endpoints.clone(),
            Cluster::External { endpoints, .. } => endpoints.clone(),
        }
    }

    pub fn describe(&self) -> serde_json::Value {
        match self {
            Cluster::Pg(c) => c.describe(),
            Cluster::My(c) => c.describe(),
            Cluster::External { engine, endpoints } => json!({
                "engine": engine.name(),
                "external": true,
                "writer_dsn": redact(&endpoints.writer()),
                "reader_dsns": endpoints.readers().iter().map(|d| redact(d)).collect::<Vec<_>>(),
            }),
        }
    }

    /// Applies one fault; returns what it did (for the history and `results.json`).
    pub async fn apply(&mut self, f: &Fault) -> Result<serde_json::Value> {
        if let Fault::Command { command } = f {
            return run_command(command).await;
        }
        match self {
            Cluster::Pg(c) => apply_pg(c, f).await,
            Cluster::My(c) => apply_my(c, f).await,
            Cluster::External { .. } => bail!(
                "fault `{}` needs a cluster the harness started; against --writer-dsn only --failover-command applies",
                f.name()
            ),
        }
    }

    /// Replica lag samples in ms (one per replica), where the engine reports them.
    pub async fn lag_ms(&self) -> Option<Vec<f64>> {
        let eps = self.endpoints();
        match self.engine() {
            Engine::Postgres => crate::pg_client::replica_lag_ms(&eps.writer()).await.ok(),
            Engine::Mysql => {
                let r = eps.readers();
                if r.is_empty() {
                    return None;
                }
                crate::my_client::replica_lag_ms(&r).await.ok()
            }
        }
    }

    /// Stops every server the harness started and removes their directories.
    pub async fn shutdown(self) {
        match self {
            Cluster::Pg(c) => c.shutdown().await,
            Cluster::My(c) => c.shutdown().await,
            Cluster::External { .. } => {}
        }
    }
}

macro_rules! apply_impl {
    ($name:ident, $ty:ty) => {
        async fn $name(c: &mut $ty, f: &Fault) -> Result<serde_json::Value> {
            let host_of = |c: &$ty, h: &str| -> Result<usize> {
                c.resolve(h).ok_or_else(|| anyhow!("no node matches `{h}`"))
            };
            match f {
                Fault::KillPromote => c.kill_and_promote().await,
                Fault::Kill { host } => {
                    let i = host_of(c, host)?;
                    c.kill(i);
                    c.nodes[i].role = Role::Down;
                    Ok(json!({"killed": c.nodes[i].name}))
                }
                Fault::Pause { host } => {
                    let i = host_of(c, host)?;
                    if !c.signal_pause(i, true) {
                        bail!("{} is not running", c.nodes[i].name);
                    }
                    Ok(json!({"paused": c.nodes[i].name}))
                }
                Fault::Restart { host } => {
                    let i = host_of(c, host)?;
                    c.restart(i).await?;
                    Ok(json!({"restarted": c.nodes[i].name}))
                }
                Fault::ReplicaLag { host } => {
                    let i = host_of(c, host)?;
                    if c.nodes[i].role != Role::Replica {
                        bail!("{} is not a replica", c.nodes[i].name);
                    }
                    c.replay(i, true).await?;
                    Ok(json!({"apply-paused": c.nodes[i].name}))
                }
                Fault::Heal => Ok(json!({"healed": c.heal().await?})),
                Fault::Command { .. } => unreachable!("handled by Cluster::apply"),
            }
        }
    };
}

apply_impl!(apply_pg, PgCluster);
apply_impl!(apply_my, MyCluster);

async fn run_command(command: &str) -> Result<serde_json::Value> {
    let out = tokio::process::Command::new("sh")
        .args(["-c", command])
        .output()
        .await?;
    let stdout = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let stderr = String::from_utf8_lossy(&out.stderr).trim().to_string();
    if !out.status.success() {
        bail!("`{command}` exited with {}: {stderr}", out.status);
    }
    Ok(json!({"command": command, "status": out.status.code(), "stdout": stdout, "stderr": stderr}))
}

/// A DSN with its password replaced by `***` (for reports).
pub fn redact(dsn: &str) -> String {
    if let Some((scheme, rest)) = dsn.split_once("://") {
        if let Some((cred, host)) = rest.split_once('@') {
            let user = cred.split(':').next().unwrap_or("");
            return format!("{scheme}://{user}:***@{host}");
        }
        return dsn.to_string();
    }
    dsn.split_whitespace()
        .map(|kv| {
            if kv.starts_with("password=") {
                "password=***"
            } else {
                kv
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}
