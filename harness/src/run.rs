//! One run: draw (or read) the schedule, simulate, check, and write the run directory
//! `results/runs/<workload>-<nemesis>/<seed>-<n>/` with `history.edn`, `history.jsonl`,
//! `schedule.json`, `config.json` and `results.json`, plus a `latest` link; [`write_page`] adds the
//! run's `report.html` (built by [`crate::run_page`]).
//!
//! Determinism: `results.json` and both history files depend only on the config (no wall-clock time),
//! so the same config yields byte-identical files; `replay` relies on it.

use crate::checks::{self, CheckResult};
use crate::config::RunConfig;
use crate::nemesis::{self, DrawParams, Schedule};
use crate::outcome::Outcome;
use crate::sim::{self, SimOutput};
use crate::sut::Sut;
use anyhow::Context;
use checkers::{OpType, Process};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Op counts per `:f` and outcome.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct OpStats {
    pub ok: u64,
    pub fail: u64,
    pub info: u64,
    pub by_f: BTreeMap<String, [u64; 3]>,
}

/// Everything `results.json` holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunReport {
    pub outcome: Outcome,
    pub valid: serde_json::Value,
    pub seed: u64,
    pub config: RunConfig,
    pub schedule: Schedule,
    pub applied_faults: Vec<serde_json::Value>,
    pub ops: OpStats,
    pub sim_ms: u64,
    pub checks: Vec<CheckResult>,
    pub metrics: serde_json::Value,
    pub sim_error: Option<String>,
    pub repro: String,
    /// Global database runs: each secondary's replication / RPO lag samples (the run page's
    /// replication-lag plot); absent for a one-region run.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub global_lag: Vec<report::LagSeries>,
}

/// The schedule for a config: the one it carries, or one drawn from its seed.
pub fn schedule_for(cfg: &RunConfig) -> Schedule {
    if let Some(s) = &cfg.schedule {
        return s.clone();
    }
    let topo = Sut::topology_for(cfg);
    let p = DrawParams {
        kinds: cfg.nemesis.clone(),
        mode: cfg.mode,
        interval_ms: cfg.nemesis_interval_ms,
        start_ms: 3_000,
        end_ms: cfg.time_limit_s * 1000,
    };
    nemesis::draw(
        &mut ChaCha8Rng::seed_from_u64(cfg.seed.wrapping_mul(0x9e37_79b9_7f4a_7c15)),
        &topo,
        &p,
    )
}

pub fn op_stats(out: &SimOutput) -> OpStats {
    let mut s = OpStats::default();
    for op in &out.history.ops {
        if !matches!(op.process, Some(Process::Client(_))) {
            continue;
        }
        let slot = match op.kind {
            OpType::Ok => 0,
            OpType::Fail => 1,
            OpType::Info => 2,
            OpType::Invoke => continue,
        };
        match slot {
            0 => s.ok += 1,
            1 => s.fail += 1,
            _ => s.info += 1,
        }
        s.by_f.entry(op.f().to_string()).or_default()[slot] += 1;
    }
    s
}

/// Runs one configuration end to end (no files written).
pub fn execute(cfg: &RunConfig) -> (RunReport, SimOutput) {
    let schedule = schedule_for(cfg);
    let out = sim::simulate(cfg, schedule.clone());
    let checks = checks::run_checks(cfg, &out);
    let outcome = checks::outcome(&out, &checks);
    let valid = match outcome {
        Outcome::Pass => serde_json::Value::Bool(true),
        Outcome::Unknown => serde_json::Value::String("unknown".into()),
        _ => serde_json::Value::Bool(false),
    };
    let report = RunReport {
        outcome,
        valid,
        seed: cfg.seed,
        config: cfg.clone(),
        schedule,
        applied_faults: out
            .applied
            .iter()
            .map(|(t, f, hosts)| serde_json::json!({"at_ms": t, "fault": f, "hosts": hosts}))
            .collect(),
        ops: op_stats(&out),
        sim_ms: out.sim_ms,
        checks,
        metrics: out.metrics.clone(),
        sim_error: out.sim_error.clone(),
        repro: cfg.repro_command(),
        global_lag: crate::global_checks::lag_series(&out),
    };
    (report, out)
}

/// The run directory for a config under `base` (`results/runs`): the first free `<seed>-<n>`.
pub fn run_dir(base: &Path, cfg: &RunConfig) -> PathBuf {
    let group = base.join(format!(
        "{}-{}",
        cfg.workload.kind.name(),
        cfg.nemesis_label()
    ));
    (0..)
        .map(|n| group.join(format!("{}-{n}", cfg.seed)))
        .find(|p| !p.exists())
        .expect("some index is free")
}

/// Writes the run's files into `dir` (created), and points `<base>/latest` at it when `base` is given.
pub fn write_run(
    dir: &Path,
    base: Option<&Path>,
    report: &RunReport,
    out: &SimOutput,
) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let w = |name: &str, text: String| -> anyhow::Result<()> {
        std::fs::write(dir.join(name), text)
            .with_context(|| format!("writing {}", dir.join(name).display()))
    };
    w("history.edn", checkers::io::write_edn(&out.history))?;
    w("history.jsonl", checkers::io::write_jsonl(&out.history))?;
    w(
        "schedule.json",
        serde_json::to_string_pretty(&report.schedule)? + "\n",
    )?;
    w(
        "config.json",
        serde_json::to_string_pretty(&report.config)? + "\n",
    )?;
    w("results.json", serde_json::to_string_pretty(report)? + "\n")?;
    let series = crate::metrics_series::for_run(out);
    w("metrics.json", crate::metrics_series::to_json(&series))?;
    w(
        "metrics.txt",
        crate::metrics_series::to_openmetrics(&series),
    )?;
    if let Some(base) = base {
        let latest = base.join("latest");
        let _ = std::fs::remove_file(&latest);
        if let Ok(rel) = dir.strip_prefix(base) {
            #[cfg(unix)]
            let _ = std::os::unix::fs::symlink(rel, &latest);
        }
    }
    Ok(())
}

/// Writes the run's page, `report.html`, into `dir` (which [`write_run`] created).
pub fn write_page(dir: &Path, report: &RunReport, out: &SimOutput) -> anyhow::Result<()> {
    let path = dir.join("report.html");
    let series = crate::metrics_series::for_run(out);
    std::fs::write(
        &path,
        crate::run_page::render_with_metrics(report, &out.history, Some(&series)),
    )
    .with_context(|| format!("writing {}", path.display()))
}
