//! `aurora-chaos shrink RUN_DIR`: reduce a failing run while the same check keeps failing.
//!
//! The run's schedule is frozen into its config (so the seed no longer draws it), then passes are
//! repeated until none makes progress: drop schedule entries (halves, then one at a time; the final
//! heal stays), shorten each fault (move its heal earlier), shorten the run, lower concurrency and
//! the op rate. Every candidate is a full deterministic rerun; it is kept only when the check that
//! failed first in the original run fails again. The result is written as an ordinary run directory
//! (`replay` reruns it byte for byte) plus `fixture.json`, a regression case that the test suite
//! replays (`harness/tests/shrink`).

use crate::config::RunConfig;
use crate::hunt::failing_checks;
use crate::nemesis::{Fault, Schedule};
use crate::outcome::Outcome;
use crate::run::{self, RunReport};
use anyhow::Context;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// A shrunk failing run: replaying `config` must fail `check`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Fixture {
    pub check: String,
    pub outcome: Outcome,
    pub config: RunConfig,
    pub entries_before: usize,
    pub entries_after: usize,
    pub ops_before: u64,
    pub ops_after: u64,
    pub runs: u64,
    pub repro: String,
}

struct Shrinker {
    check: String,
    runs: u64,
    max_runs: u64,
}

fn ops(r: &RunReport) -> u64 {
    r.ops.ok + r.ops.fail + r.ops.info
}

impl Shrinker {
    /// Reruns `cfg`; `Some(report)` if the target check still fails.
    fn fails(&mut self, cfg: &RunConfig) -> Option<RunReport> {
        if self.runs >= self.max_runs {
            return None;
        }
        self.runs += 1;
        let (r, _) = run::execute(cfg);
        failing_checks(&r).contains(&self.check).then_some(r)
    }

    fn try_schedule(&mut self, cfg: &mut RunConfig, s: Schedule) -> bool {
        let mut c = cfg.clone();
        c.schedule = Some(s);
        if self.fails(&c).is_some() {
            *cfg = c;
            true
        } else {
            false
        }
    }

    /// Drop chunks of entries (all but the final heal), halving the chunk size down to one.
    fn drop_entries(&mut self, cfg: &mut RunConfig) -> bool {
        let mut progress = false;
        let mut chunk = cfg
            .schedule
            .as_ref()
            .unwrap()
            .entries
            .len()
            .saturating_sub(1);
        while chunk >= 1 {
            let mut i = 0;
            loop {
                let e = &cfg.schedule.as_ref().unwrap().entries;
                let n = e.len().saturating_sub(1);
                if i >= n {
                    break;
                }
                let mut s = cfg.schedule.clone().unwrap();
                s.entries.drain(i..(i + chunk).min(n));
                if self.try_schedule(cfg, s) {
                    progress = true;
                } else {
                    i += chunk;
                }
            }
            chunk /= 2;
        }
        progress
    }

    /// Move each non-final heal halfway towards the fault before it.
    fn shorten_faults(&mut self, cfg: &mut RunConfig) -> bool {
        let mut progress = false;
        let n = cfg.schedule.as_ref().unwrap().entries.len();
        for i in 1..n.saturating_sub(1) {
            let s = cfg.schedule.as_ref().unwrap();
            if s.entries[i].fault != Fault::Heal {
                continue;
            }
            let (start, end) = (s.entries[i - 1].at_ms, s.entries[i].at_ms);
            if end <= start + 100 {
                continue;
            }
            let mut s = s.clone();
            s.entries[i].at_ms = start + (end - start) / 2;
            progress |= self.try_schedule(cfg, s);
        }
        progress
    }

    /// Halve the run (entries past the new end go; the final heal moves to it).
    fn shorten_run(&mut self, cfg: &mut RunConfig) -> bool {
        if cfg.time_limit_s <= 1 {
            return false;
        }
        let t = (cfg.time_limit_s / 2).max(1);
        let mut c = cfg.clone();
        c.time_limit_s = t;
        let mut s = c.schedule.clone().unwrap();
        let end = t * 1000;
        s.entries.retain(|e| e.at_ms < end);
        s.entries.push(crate::nemesis::Scheduled {
            at_ms: end,
            fault: Fault::Heal,
        });
        c.schedule = Some(s);
        if self.fails(&c).is_some() {
            *cfg = c;
            return true;
        }
        false
    }

    fn lower_load(&mut self, cfg: &mut RunConfig) -> bool {
        let mut progress = false;
        if cfg.concurrency > 1 {
            let mut c = cfg.clone();
            c.concurrency = (cfg.concurrency / 2).max(1);
            if self.fails(&c).is_some() {
                *cfg = c;
                progress = true;
            }
        }
        if cfg.rate > 2.0 {
            let mut c = cfg.clone();
            c.rate = (cfg.rate / 2.0).floor().max(1.0);
            if self.fails(&c).is_some() {
                *cfg = c;
                progress = true;
            }
        }
        progress
    }
}

/// Shrinks a failing config; `Err` if it does not fail.
pub fn shrink_config(start: &RunConfig, max_runs: u64) -> anyhow::Result<(Fixture, RunReport)> {
    let mut cfg = start.clone();
    let schedule = run::schedule_for(&cfg);
    cfg.schedule = Some(schedule.clone());
    let (first, _) = run::execute(&cfg);
    let Some(check) = failing_checks(&first).into_iter().next() else {
        anyhow::bail!("the run passes: nothing to shrink");
    };
    let mut s = Shrinker {
        check: check.clone(),
        runs: 1,
        max_runs,
    };
    loop {
        let mut progress = s.drop_entries(&mut cfg);
        progress |= s.shorten_faults(&mut cfg);
        progress |= s.shorten_run(&mut cfg);
        progress |= s.lower_load(&mut cfg);
        if !progress || s.runs >= s.max_runs {
            break;
        }
    }
    let (last, _) = run::execute(&cfg);
    assert!(
        failing_checks(&last).contains(&check),
        "a kept candidate must still fail (determinism)"
    );
    let mut repro = cfg.repro_command();
    repro = repro.replace("<run-dir>", "<shrunk-dir>");
    Ok((
        Fixture {
            check,
            outcome: last.outcome,
            entries_before: schedule.entries.len(),
            entries_after: cfg.schedule.as_ref().unwrap().entries.len(),
            ops_before: ops(&first),
            ops_after: ops(&last),
            runs: s.runs,
            config: cfg,
            repro,
        },
        last,
    ))
}

/// Writes the shrunk run directory (`replay`-able) and its `fixture.json`.
pub fn write_shrunk(dir: &Path, f: &Fixture) -> anyhow::Result<()> {
    let (report, out) = run::execute(&f.config);
    run::write_run(dir, None, &report, &out)?;
    run::write_page(dir, &report, &out)?;
    let p = dir.join("fixture.json");
    std::fs::write(&p, serde_json::to_string_pretty(f)? + "\n")
        .with_context(|| format!("writing {}", p.display()))
}

/// Reads a run directory's config.
pub fn load_config(dir: &Path) -> Result<RunConfig, String> {
    let p = dir.join("config.json");
    let text = std::fs::read_to_string(&p).map_err(|e| format!("{}: {e}", p.display()))?;
    let cfg: RunConfig = serde_json::from_str(&text).map_err(|e| {
        format!(
            "{}: line {}, column {}: {e}",
            p.display(),
            e.line(),
            e.column()
        )
    })?;
    crate::global_cli::validate_file(&cfg, &p, &text)?;
    Ok(cfg)
}

pub fn shrink_dir(dir: &Path, out: Option<&Path>, max_runs: u64) -> Outcome {
    let cfg = match load_config(dir) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return Outcome::BadInput;
        }
    };
    let (f, _) = match shrink_config(&cfg, max_runs) {
        Ok(x) => x,
        Err(e) => {
            eprintln!("error: {}: {e}", dir.display());
            return Outcome::BadInput;
        }
    };
    let target: PathBuf = out
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from(format!("{}-shrunk", dir.display())));
    if let Err(e) = write_shrunk(&target, &f) {
        eprintln!("error: {e:#}");
        return Outcome::HarnessCrash;
    }
    println!(
        "shrunk in {} runs: schedule {} -> {} entries, ops {} -> {}, {} s, concurrency {}, rate {}; check `{}` still fails ({})",
        f.runs,
        f.entries_before,
        f.entries_after,
        f.ops_before,
        f.ops_after,
        f.config.time_limit_s,
        f.config.concurrency,
        f.config.rate,
        f.check,
        f.outcome.name()
    );
    println!("minimal run: {} (fixture.json beside it)", target.display());
    println!(
        "reproduce: aurora-chaos replay {}   or   {}",
        target.display(),
        f.repro
            .replace("<shrunk-dir>", &target.display().to_string())
    );
    f.outcome
}

/// `shrink --all`: shrink the first detection of every bug in the hunt's matrix (on the workload
/// with the best median), store fixtures under `<hunt>/fixtures/` and sizes in `<hunt>/shrunk.json`.
pub fn shrink_all(hunt_dir: &Path, max_runs: u64) -> Outcome {
    let (jp, _) = crate::hunt::matrix_paths(hunt_dir);
    let doc: serde_json::Value = match std::fs::read_to_string(&jp)
        .map_err(|e| e.to_string())
        .and_then(|t| serde_json::from_str(&t).map_err(|e| e.to_string()))
    {
        Ok(d) => d,
        Err(e) => {
            eprintln!(
                "error: {}: {e} (run `aurora-chaos hunt` first)",
                jp.display()
            );
            return Outcome::BadInput;
        }
    };
    let mut sizes = serde_json::Map::new();
    for b in doc["bugs"].as_array().into_iter().flatten() {
        let name = b["bug"].as_str().unwrap_or_default().to_string();
        let best = b["workloads"]
            .as_object()
            .into_iter()
            .flatten()
            .filter_map(|(w, v)| {
                let seed = v["detections"].as_array()?.first()?.as_u64()?;
                Some((v["median"].as_u64().unwrap_or(u64::MAX), w.clone(), seed))
            })
            .min();
        let Some((_, w, seed)) = best else { continue };
        let Some(bug) = reference::Bug::from_name(&name) else {
            continue;
        };
        let wl = workloads::WorkloadKind::from_name(&w).expect("matrix names a workload");
        let args = hunt_args_from(&doc);
        let cfg = crate::hunt::probe_config(bug, wl, seed, &args);
        eprintln!("shrinking {name} on {w}, seed {seed} ...");
        match shrink_config(&cfg, max_runs) {
            Ok((f, _)) => {
                let p = hunt_dir.join("fixtures").join(format!("{name}.json"));
                let _ = std::fs::create_dir_all(p.parent().unwrap());
                if let Err(e) = std::fs::write(&p, serde_json::to_string_pretty(&f).unwrap() + "\n")
                {
                    eprintln!("error: writing {}: {e}", p.display());
                    return Outcome::HarnessCrash;
                }
                sizes.insert(
                    name.clone(),
                    serde_json::json!({"workload": w, "seed": seed, "check": f.check,
                        "entries_before": f.entries_before, "entries_after": f.entries_after,
                        "ops_before": f.ops_before, "ops_after": f.ops_after,
                        "time_limit_s": f.config.time_limit_s, "concurrency": f.config.concurrency,
                        "rate": f.config.rate, "runs": f.runs}),
                );
                println!(
                    "{name}: {} -> {} entries, {} -> {} ops ({} runs)",
                    f.entries_before, f.entries_after, f.ops_before, f.ops_after, f.runs
                );
            }
            Err(e) => eprintln!("{name}: {e}"),
        }
    }
    let p = hunt_dir.join("shrunk.json");
    if let Err(e) = std::fs::write(
        &p,
        serde_json::to_string_pretty(&serde_json::Value::Object(sizes)).unwrap() + "\n",
    ) {
        eprintln!("error: writing {}: {e}", p.display());
        return Outcome::HarnessCrash;
    }
    // Rewrite the matrix files with the shrink sizes attached.
    if let Err(e) = crate::hunt_report::write(hunt_dir, &doc) {
        eprintln!("error: {e:#}");
        return Outcome::HarnessCrash;
    }
    Outcome::Pass
}

fn hunt_args_from(doc: &serde_json::Value) -> crate::hunt::HuntArgs {
    let p = &doc["params"];
    crate::hunt::HuntArgs {
        bugs: None,
        workloads: None,
        first_seed: p["first_seed"].as_u64().unwrap_or(1),
        max_seeds: p["max_seeds"].as_u64().unwrap_or(8),
        detections: p["detections"].as_u64().unwrap_or(3) as usize,
        time_limit: p["time_limit_s"].as_u64().unwrap_or(10),
        interval_ms: p["interval_ms"].as_u64().unwrap_or(3000),
        out: PathBuf::from("results/hunt"),
        jobs: 1,
        shard: None,
        page: false,
        coverage: None,
    }
}

/// Adds `shrunk` (from `<hunt>/shrunk.json`, if present) to each bug of a matrix document.
pub fn attach_shrunk(hunt_dir: &Path, doc: &mut serde_json::Value) {
    let Ok(text) = std::fs::read_to_string(hunt_dir.join("shrunk.json")) else {
        return;
    };
    let Ok(sizes) = serde_json::from_str::<serde_json::Value>(&text) else {
        return;
    };
    for b in doc["bugs"].as_array_mut().into_iter().flatten() {
        let name = b["bug"].as_str().unwrap_or_default().to_string();
        if let Some(s) = sizes.get(&name) {
            b["shrunk"] = s.clone();
        }
    }
}
