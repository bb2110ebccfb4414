//! Checking a finished target run, writing its run directory and printing its summary.

use super::checks::{run_checks, Facts};
use super::page::verdict_word;
use super::TargetArgs;
use crate::checks::CheckResult;
use crate::outcome::Outcome;
use checkers::{OpType, Process, Validity};
use serde_json::json;
use std::collections::BTreeMap;
use std::path::Path;
use targets::faults::Schedule;
use targets::runner::{Generator, RunOutput};

const NOT_REPLAYABLE: &str = "real clocks and real processes: the seed fixes the op generator and the fault schedule, not the interleaving; this run is not replayable by seed";

/// The outcome the checks imply: the worst non-advisory verdict (a failed liveness check is a
/// liveness outcome).
pub fn outcome_from_checks(checks: &[CheckResult]) -> Outcome {
    let mut o = Outcome::Pass;
    for c in checks.iter().filter(|c| !c.advisory) {
        o = o.merge(match (c.name.as_str(), c.valid) {
            ("liveness", Validity::Invalid) => Outcome::Liveness,
            (_, v) => Outcome::from(v),
        });
    }
    o
}

/// `results.json`'s `valid`: true, false or "unknown".
pub fn valid_json(o: Outcome) -> serde_json::Value {
    match o {
        Outcome::Pass => json!(true),
        Outcome::Unknown => json!("unknown"),
        _ => json!(false),
    }
}

fn outcome_of(checks: &[CheckResult], out: &RunOutput, leftover: (usize, usize)) -> Outcome {
    if out.setup_error.is_some() || leftover != (0, 0) {
        return Outcome::HarnessCrash;
    }
    outcome_from_checks(checks)
}

fn op_stats(out: &RunOutput) -> serde_json::Value {
    let mut by_f: BTreeMap<String, [u64; 3]> = BTreeMap::new();
    let mut errors: BTreeMap<String, u64> = BTreeMap::new();
    for op in out
        .history
        .ops
        .iter()
        .filter(|o| matches!(o.process, Some(Process::Client(_))))
    {
        let slot = match op.kind {
            OpType::Ok => 0,
            OpType::Fail => 1,
            OpType::Info => 2,
            OpType::Invoke => continue,
        };
        by_f.entry(op.f().to_string()).or_default()[slot] += 1;
        if let Some(checkers::Value::Str(e)) = &op.error {
            // Group errors by their first words (SQLSTATE / error code and message head).
            let head: String = e.split_whitespace().take(4).collect::<Vec<_>>().join(" ");
            *errors
                .entry(format!("{} {head}", op.kind.name()))
                .or_default() += 1;
        }
    }
    let sum = |i: usize| by_f.values().map(|v| v[i]).sum::<u64>();
    json!({"ok": sum(0), "fail": sum(1), "info": sum(2), "by_f": by_f, "errors": errors})
}

/// Checks, writes the run directory, prints the summary; returns the outcome.
pub fn finish(
    t: &TargetArgs,
    schedule: &Schedule,
    out: RunOutput,
    cluster: serde_json::Value,
    leftover: (usize, usize),
) -> Outcome {
    let wcfg = t.workload_config();
    let g = targets::guarantee(t.engine, t.isolation);
    let generator = Generator::for_workload(&t.workload, &wcfg).expect("validated workload");
    let facts = Facts {
        history: &out.history,
        applied: out
            .applied
            .iter()
            .map(|(t, f, _)| (*t, f.clone()))
            .collect(),
        fault_windows: &out.fault_windows,
        lag_samples: Some(&out.lag_samples),
        converged: out.converged,
    };
    let checks = run_checks(&generator, &wcfg, &g, &facts);
    let outcome = outcome_of(&checks, &out, leftover);
    let mut notes = vec![NOT_REPLAYABLE.to_string()];
    if t.engine == targets::Engine::Postgres && t.isolation == targets::Isolation::Serializable {
        notes.push("PostgreSQL refuses SERIALIZABLE on a hot standby: read-only transactions on replicas run at REPEATABLE READ".into());
    }
    if let Some(e) = &out.setup_error {
        notes.push(format!("setup error: {e}"));
    }
    if leftover != (0, 0) {
        notes.push(format!(
            "left behind after cleanup: {} process groups, {} directories",
            leftover.0, leftover.1
        ));
    }
    let config = json!({
        "engine": t.engine.name(),
        "external": t.external,
        "replication": if t.external { "external".to_string() } else { t.replication.name().to_string() },
        "replicas": if t.external { t.reader_dsns.len() } else { t.replicas },
        "isolation": t.isolation.name(),
        "documented_model": g.writer,
        "documented_model_with_readers": g.with_readers,
        "workload": t.workload,
        "workload_config": wcfg,
        "seed": t.seed,
        "time_limit_s": t.time_limit_s,
        "rate": t.rate,
        "concurrency": t.concurrency,
        "nemesis": t.kinds.iter().map(|k| k.name()).collect::<Vec<_>>(),
        "interval_ms": t.interval_ms,
        "failover_command": t.failover_command,
        "cluster": cluster,
        "replayable": false,
        "command": t.command_line(),
    });
    let applied: Vec<serde_json::Value> = out
        .applied
        .iter()
        .map(|(at, f, r)| match r {
            Ok(v) => json!({"at_ms": at, "fault": f, "result": v}),
            Err(e) => json!({"at_ms": at, "fault": f, "error": e}),
        })
        .collect();
    let results = json!({
        "outcome": outcome,
        "valid": valid_json(outcome),
        "ops": op_stats(&out),
        "elapsed_ms": out.elapsed_ms,
        "applied_faults": applied,
        "fault_windows_ms": out.fault_windows,
        "replica_lag_samples": out.lag_samples.len(),
        "replica_lag_ms": out.lag_samples,
        "checks": checks,
        "notes": notes,
    });
    let dir = t.out.clone().unwrap_or_else(|| t.default_dir());
    if let Err(e) = write_dir(&dir, &out, schedule, &config, &results) {
        eprintln!("error: writing {}: {e:#}", dir.display());
        return Outcome::HarnessCrash;
    }
    println!("{}", summary_table(&checks));
    println!("ops: {}", results["ops"]);
    for n in &notes {
        println!("note: {n}");
    }
    println!("outcome: {} (exit {})", outcome.name(), outcome.exit_code());
    println!("run directory: {}", dir.display());
    println!("run page: {}", dir.join("report.html").display());
    outcome
}

fn summary_table(checks: &[CheckResult]) -> String {
    let mut b = tabled::builder::Builder::default();
    b.push_record(["check", "verdict", "figure", "details"]);
    for c in checks {
        let verdict = verdict_word(c).to_string();
        let fig = match (c.figure, &c.unit) {
            (Some(f), Some(u)) => format!("{f:.3} {u}"),
            _ => String::new(),
        };
        let mut details = c.summary.clone();
        if details.len() > 160 {
            let mut end = 160;
            while !details.is_char_boundary(end) {
                end -= 1;
            }
            details.truncate(end);
            details.push('…');
        }
        b.push_record([c.name.clone(), verdict, fig, details]);
    }
    let mut t = b.build();
    t.with(tabled::settings::Style::rounded());
    t.to_string()
}

fn write_dir(
    dir: &Path,
    out: &RunOutput,
    schedule: &Schedule,
    config: &serde_json::Value,
    results: &serde_json::Value,
) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir)?;
    let w = |name: &str, text: String| std::fs::write(dir.join(name), text);
    w("history.edn", checkers::io::write_edn(&out.history))?;
    w("history.jsonl", checkers::io::write_jsonl(&out.history))?;
    w(
        "schedule.json",
        serde_json::to_string_pretty(schedule)? + "\n",
    )?;
    w("config.json", serde_json::to_string_pretty(config)? + "\n")?;
    w(
        "results.json",
        serde_json::to_string_pretty(results)? + "\n",
    )?;
    // The views are built from what was just written, exactly as `aurora-chaos page` rebuilds them.
    super::page::write_views(
        dir,
        config,
        results,
        &serde_json::to_value(schedule)?,
        &out.history,
    )
}
