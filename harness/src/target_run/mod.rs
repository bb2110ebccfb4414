//! `aurora-chaos run --target postgres|mysql` and `run --writer-dsn URL [--reader-dsn URL]…`:
//! the same workloads and checkers against real engines (see the `targets` crate).
//!
//! Flow: validate flags (usage errors exit 2) → start the cluster on loopback, or take the DSNs →
//! draw the fault schedule from the seed (or read `--schedule`) → run on the real clock → stop every
//! server and remove every directory (also on failure and Ctrl-C) → check → write the run directory
//! (`results/targets/<engine>/<replication>-<isolation>/<workload>/` unless `--out`): `history.edn`,
//! `history.jsonl`, `schedule.json`, `config.json`, `results.json`, then `REPORT.md` and the run
//! page `report.html`, both built from the stored files ([`page`]; `aurora-chaos page DIR`
//! rebuilds them, `--recheck` reruns the checks on the stored history).
//!
//! Runs on real processes are not replayable by seed; `config.json`, `results.json` and the report
//! say so.

pub mod checks;
pub mod page;
mod write;

use crate::cli::RunArgs;
use crate::outcome::Outcome;
use std::path::PathBuf;
use std::time::Duration;
use targets::cluster::Cluster;
use targets::faults::{self, FaultKind, Schedule};
use targets::runner::{self, Generator, RunSpec};
use targets::{Endpoints, Engine, Isolation, Replication};
use workloads::{WorkloadConfig, WorkloadKind};

/// A validated target run.
#[derive(Debug, Clone)]
pub struct TargetArgs {
    pub engine: Engine,
    pub external: bool,
    pub replication: Replication,
    pub isolation: Isolation,
    pub workload: String,
    pub replicas: usize,
    pub writer_dsn: Option<String>,
    pub reader_dsns: Vec<String>,
    pub failover_command: Option<String>,
    pub kinds: Vec<FaultKind>,
    pub schedule_file: Option<PathBuf>,
    pub seed: u64,
    pub time_limit_s: u64,
    pub rate: f64,
    pub concurrency: usize,
    pub interval_ms: u64,
    pub out: Option<PathBuf>,
}

/// Turns the run flags into target arguments, or a usage error.
pub fn parse(a: &RunArgs) -> Result<TargetArgs, String> {
    let external = a.writer_dsn.is_some();
    let engine = match (&a.target, &a.writer_dsn) {
        (Some(t), _) => Engine::from_name(t)
            .ok_or_else(|| format!("--target: unknown target `{t}` (postgres, mysql)"))?,
        (None, Some(d)) if d.starts_with("mysql://") || d.starts_with("mariadb://") => {
            Engine::Mysql
        }
        (None, Some(_)) => Engine::Postgres,
        (None, None) => return Err("--target or --writer-dsn is required".into()),
    };
    if !a.reader_dsn.is_empty() && !external {
        return Err("--reader-dsn needs --writer-dsn".into());
    }
    let replication = Replication::from_name(&a.replication).ok_or_else(|| {
        format!(
            "--replication: unknown mode `{}` (async, sync)",
            a.replication
        )
    })?;
    let isolation = Isolation::from_name(&a.isolation).ok_or_else(|| {
        format!(
            "--isolation: unknown level `{}` (read-committed, repeatable-read, serializable)",
            a.isolation
        )
    })?;
    let workload = a.workload.clone();
    if !["bank", "register", "list-append", "rw-register"].contains(&workload.as_str()) {
        return Err(format!(
            "--workload: unknown workload `{workload}` (bank, register, list-append, rw-register)"
        ));
    }
    let kinds = if external && a.nemesis == "all" {
        if a.failover_command.is_some() {
            vec![FaultKind::FailoverCommand]
        } else {
            Vec::new()
        }
    } else {
        FaultKind::parse_list(&a.nemesis).map_err(|e| format!("--nemesis: {e}"))?
    };
    if external {
        if let Some(k) = kinds.iter().find(|k| **k != FaultKind::FailoverCommand) {
            return Err(format!(
                "--nemesis {}: against --writer-dsn only failover-command applies",
                k.name()
            ));
        }
    }
    if kinds.contains(&FaultKind::FailoverCommand) && a.failover_command.is_none() {
        return Err("--nemesis failover-command needs --failover-command CMD".into());
    }
    if a.time_limit == 0 || a.time_limit > 24 * 3600 {
        return Err("--time-limit must be 1..=86400 seconds".into());
    }
    if !(a.rate.is_finite() && a.rate > 0.0) {
        return Err(format!("--rate must be positive, got {}", a.rate));
    }
    if a.concurrency == 0 || a.concurrency > 200 {
        return Err(format!(
            "--concurrency must be 1..=200 for real engines, got {}",
            a.concurrency
        ));
    }
    let replicas = a.replicas.unwrap_or(match engine {
        Engine::Postgres => 2,
        Engine::Mysql => 1,
    });
    if replicas > 4 {
        return Err("--replicas must be 0..=4".into());
    }
    Ok(TargetArgs {
        engine,
        external,
        replication,
        isolation,
        workload,
        replicas,
        writer_dsn: a.writer_dsn.clone(),
        reader_dsns: a.reader_dsn.clone(),
        failover_command: a.failover_command.clone(),
        kinds,
        schedule_file: a.schedule.clone(),
        seed: a.seed,
        time_limit_s: a.time_limit,
        rate: a.rate,
        concurrency: a.concurrency,
        interval_ms: a.interval_ms.max(1_000),
        out: a.out.clone(),
    })
}

/// Reads a target schedule file. The format is the simulation's (`{"entries":[{"at_ms":…,
/// "fault":{"fault":"heal"}}, …]}`); the kinds both understand are `heal`, `kill` and `pause` with
/// a `host` (`@writer` resolves to the current primary in both). A simulation-only kind
/// (`partition`, `lose-az`, `corrupt-disk`, …) has no meaning for processes: the error names it
/// and its entry. Other errors name the file, line and column.
pub fn read_schedule(path: &std::path::Path) -> Result<Schedule, String> {
    let text =
        std::fs::read_to_string(path).map_err(|e| format!("--schedule {}: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| {
        if let Some(why) = foreign_kind(&text, |f| {
            serde_json::from_value::<targets::faults::Fault>(f.clone()).is_err()
                && serde_json::from_value::<crate::nemesis::Fault>(f.clone()).is_ok()
        }) {
            return format!(
                "--schedule {}: {why} is a simulation fault with no meaning for real processes (process faults: kill-promote, kill, pause, restart, replica-lag, failover-command, heal)",
                path.display()
            );
        }
        format!(
            "--schedule {}: line {}, column {}: {e}",
            path.display(),
            e.line(),
            e.column()
        )
    })
}

/// The first entry of a schedule text whose `fault` satisfies `foreign`, as "entry N (at_ms T):
/// fault `kind`"; `None` when the text is not a schedule or no entry is foreign.
pub fn foreign_kind(text: &str, foreign: impl Fn(&serde_json::Value) -> bool) -> Option<String> {
    let j: serde_json::Value = serde_json::from_str(text).ok()?;
    j["entries"]
        .as_array()?
        .iter()
        .enumerate()
        .find(|(_, e)| foreign(&e["fault"]))
        .map(|(i, e)| {
            format!(
                "entry {i} (at_ms {}): fault `{}`",
                e["at_ms"],
                e["fault"]["fault"].as_str().unwrap_or("?")
            )
        })
}

/// Checks a schedule against the run: hosts must be `@writer`, `@replica` or a node the harness
/// starts (`n0` … `n<replicas>`); against `--writer-dsn` only `failover-command` and `heal` apply.
pub fn validate_schedule(s: &Schedule, t: &TargetArgs) -> Result<(), String> {
    use targets::faults::Fault;
    for (i, e) in s.entries.iter().enumerate() {
        let host = match &e.fault {
            Fault::Kill { host }
            | Fault::Pause { host }
            | Fault::Restart { host }
            | Fault::ReplicaLag { host } => Some(host),
            Fault::KillPromote | Fault::Command { .. } | Fault::Heal => None,
        };
        let applies = matches!(e.fault, Fault::Command { .. } | Fault::Heal) || !t.external;
        if !applies {
            return Err(format!(
                "--schedule: entry {i} (at_ms {}): fault `{}` needs a cluster the harness started; against --writer-dsn only failover-command and heal apply",
                e.at_ms,
                e.fault.name()
            ));
        }
        let node = |h: &str| {
            h.strip_prefix('n')
                .and_then(|n| n.parse::<usize>().ok())
                .is_some_and(|n| n <= t.replicas)
        };
        if let Some(h) = host {
            if h != targets::faults::WRITER && h != targets::faults::REPLICA && !node(h) {
                return Err(format!(
                    "--schedule: entry {i} (at_ms {}): fault `{}` on unknown host `{h}` (@writer, @replica, n0 … n{})",
                    e.at_ms,
                    e.fault.name(),
                    t.replicas
                ));
            }
        }
    }
    Ok(())
}

impl TargetArgs {
    pub fn workload_config(&self) -> WorkloadConfig {
        let kind = WorkloadKind::from_name(&self.workload).unwrap_or(WorkloadKind::ListAppend);
        WorkloadConfig::default_for(kind)
    }
    pub fn nemesis_label(&self) -> String {
        if self.kinds.is_empty() {
            "none".into()
        } else {
            self.kinds
                .iter()
                .map(|k| k.name())
                .collect::<Vec<_>>()
                .join("+")
        }
    }
    /// `results/targets/<engine>/<replication>-<isolation>/<workload>` (`external-…` in DSN mode).
    pub fn default_dir(&self) -> PathBuf {
        let mode = if self.external {
            "external"
        } else {
            self.replication.name()
        };
        PathBuf::from("results/targets")
            .join(self.engine.name())
            .join(format!("{mode}-{}", self.isolation.name()))
            .join(&self.workload)
    }
    pub fn command_line(&self) -> String {
        let mut s = format!(
            "aurora-chaos run {} --workload {} --isolation {} --seed {} --time-limit {} --rate {} --concurrency {} --nemesis {} --interval-ms {}",
            if self.external { "--writer-dsn <DSN>".to_string() } else { format!("--target {} --replication {} --replicas {}", self.engine.name(), self.replication.name(), self.replicas) },
            self.workload, self.isolation.name(), self.seed, self.time_limit_s, self.rate, self.concurrency,
            if self.kinds.is_empty() { "none".to_string() } else { self.kinds.iter().map(|k| k.name()).collect::<Vec<_>>().join(",") },
            self.interval_ms,
        );
        if self.failover_command.is_some() {
            s.push_str(" --failover-command <CMD>");
        }
        s
    }
}

/// Runs one target run end to end and returns its outcome.
pub fn run(a: &RunArgs) -> Outcome {
    if a.nemesis == "help" {
        print!("{}", FaultKind::help_text());
        return Outcome::Pass;
    }
    let t = match parse(a) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("error: {e}");
            return Outcome::BadInput;
        }
    };
    let schedule = match &t.schedule_file {
        Some(p) => match read_schedule(p).and_then(|s| validate_schedule(&s, &t).map(|()| s)) {
            Ok(s) => s,
            Err(e) => {
                eprintln!("error: {e}");
                return Outcome::BadInput;
            }
        },
        None => {
            use rand::SeedableRng;
            let mut rng =
                rand_chacha::ChaCha8Rng::seed_from_u64(t.seed.wrapping_mul(0x9e37_79b9_7f4a_7c15));
            faults::draw(
                &mut rng,
                &t.kinds,
                3_000,
                t.interval_ms,
                t.time_limit_s * 1000,
                t.failover_command.as_deref(),
            )
        }
    };
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: tokio runtime: {e}");
            return Outcome::HarnessCrash;
        }
    };
    targets::procs::install_signal_cleanup(rt.handle());
    let local = tokio::task::LocalSet::new();
    let result = local.block_on(&rt, execute(&t, schedule.clone()));
    drop(local);
    drop(rt);
    targets::procs::cleanup_all();
    let leftover = targets::procs::live_counts();
    match result {
        Err(e) => {
            eprintln!("error: target setup failed: {e:#}");
            Outcome::HarnessCrash
        }
        Ok((out, cluster_info)) => write::finish(&t, &schedule, out, cluster_info, leftover),
    }
}

async fn execute(
    t: &TargetArgs,
    schedule: Schedule,
) -> anyhow::Result<(runner::RunOutput, serde_json::Value)> {
    println!(
        "aurora-chaos run  target={}{}  workload={}  isolation={}  seed={}  time-limit={}s (real)  rate={}/s  concurrency={}",
        t.engine.name(),
        if t.external { " (external DSN)".to_string() } else { format!(" replication={} replicas={}", t.replication.name(), t.replicas) },
        t.workload,
        t.isolation.name(),
        t.seed,
        t.time_limit_s,
        t.rate,
        t.concurrency
    );
    println!("  schedule ({} entries, real ms):", schedule.entries.len());
    for e in &schedule.entries {
        println!(
            "    {:>8.3}s  {}",
            e.at_ms as f64 / 1000.0,
            serde_json::to_string(&e.fault).unwrap_or_default()
        );
    }
    let mut cluster = if t.external {
        let w = t.writer_dsn.clone().unwrap_or_default();
        match t.engine {
            Engine::Postgres => targets::pg_client::prepare_schema(&w).await?,
            Engine::Mysql => targets::my_client::prepare_schema(&w).await?,
        }
        Cluster::External {
            engine: t.engine,
            endpoints: Endpoints::new(w, t.reader_dsns.clone()),
        }
    } else {
        println!(
            "  starting {} with {} replica(s) on 127.0.0.1 …",
            t.engine.name(),
            t.replicas
        );
        match t.engine {
            Engine::Postgres => {
                Cluster::Pg(targets::pg::PgCluster::start(t.replicas, t.replication).await?)
            }
            Engine::Mysql => {
                Cluster::My(targets::mariadb::MyCluster::start(t.replicas, t.replication).await?)
            }
        }
    };
    let info = cluster.describe();
    println!("  cluster: {info}");
    let wcfg = t.workload_config();
    let generator = Generator::for_workload(&t.workload, &wcfg)
        .ok_or_else(|| anyhow::anyhow!("unknown workload {}", t.workload))?;
    let spec = RunSpec {
        workload: wcfg,
        generator,
        seed: t.seed,
        concurrency: t.concurrency,
        rate: t.rate,
        duration: Duration::from_secs(t.time_limit_s),
        schedule,
        op_timeout: Duration::from_secs(15),
        final_timeout: Duration::from_secs(60),
        settle: Duration::from_secs(1),
    };
    let eps = cluster.endpoints();
    let iso = t.isolation;
    let stmt_timeout = Duration::from_secs(5);
    let out = match t.engine {
        Engine::Postgres => {
            runner::run(spec, &mut cluster, move || {
                targets::pg_client::PgClient::new(eps.clone(), iso, stmt_timeout)
            })
            .await
        }
        Engine::Mysql => {
            runner::run(spec, &mut cluster, move || {
                targets::my_client::MyClient::new(eps.clone(), iso, stmt_timeout)
            })
            .await
        }
    };
    let info = serde_json::json!({"at_start": info, "at_end": cluster.describe()});
    cluster.shutdown().await;
    Ok((out, info))
}
