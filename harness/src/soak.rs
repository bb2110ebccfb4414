//! `soak` (a swarm sweep over seeds), `replay` (rerun a stored run, compare history bytes) and `bench`
//! (simulated seconds per wall second).

use crate::cli::{run_config, SoakArgs};
use crate::config::RunConfig;
use crate::nemesis::FaultKind;
use crate::outcome::Outcome;
use crate::run;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::path::Path;
use std::time::Instant;

/// Swarm testing: each seed turns each of the allowed fault kinds on with probability 1/2 (at least
/// one stays on), so different seeds explore different fault mixes.
pub fn swarm_kinds(seed: u64, allowed: &[FaultKind]) -> Vec<FaultKind> {
    if allowed.is_empty() {
        return Vec::new();
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x5a5a_0000_5a5a);
    let mut on: Vec<FaultKind> = allowed
        .iter()
        .copied()
        .filter(|_| rng.random_bool(0.5))
        .collect();
    if on.is_empty() {
        on.push(allowed[rng.random_range(0..allowed.len())]);
    }
    on
}

fn parse_seeds(s: &str) -> Result<(u64, u64), String> {
    let (a, b) = s
        .split_once("..")
        .ok_or_else(|| format!("--seeds: expected A..B, got `{s}`"))?;
    let a: u64 = a
        .trim()
        .parse()
        .map_err(|e| format!("--seeds: `{a}`: {e}"))?;
    let b: u64 = b
        .trim()
        .parse()
        .map_err(|e| format!("--seeds: `{b}`: {e}"))?;
    if b <= a {
        return Err(format!("--seeds: empty range {a}..{b}"));
    }
    Ok((a, b))
}

pub fn soak(s: &SoakArgs) -> Outcome {
    let base = match run_config(&s.run) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return Outcome::BadInput;
        }
    };
    let (first, end) = match (&s.seeds, s.wall_time) {
        (Some(r), _) => match parse_seeds(r) {
            Ok(x) => x,
            Err(e) => {
                eprintln!("error: {e}");
                return Outcome::BadInput;
            }
        },
        (None, Some(_)) => (base.seed, u64::MAX),
        (None, None) => {
            eprintln!("error: soak needs --seeds A..B or --wall-time SECS");
            return Outcome::BadInput;
        }
    };
    let started = Instant::now();
    let bar = if end == u64::MAX {
        crate::progress::spinner("seeds")
    } else {
        crate::progress::bar(end - first, "seeds")
    };
    let mut summary = Vec::new();
    let mut rows = Vec::new();
    let mut worst = Outcome::Pass;
    let mut seed = first;
    while seed < end {
        if let Some(w) = s.wall_time {
            if started.elapsed().as_secs() >= w {
                break;
            }
        }
        let mut cfg: RunConfig = base.clone();
        cfg.seed = seed;
        cfg.nemesis = swarm_kinds(seed, &base.nemesis);
        let (report, out) = run::execute(&cfg);
        let dir = run::run_dir(Path::new("results/runs"), &cfg);
        let written = run::write_run(&dir, Some(Path::new("results/runs")), &report, &out);
        // Failing seeds also get their page (passing ones would only fill the disk).
        let written = written.and_then(|()| match report.outcome {
            Outcome::Pass => Ok(()),
            _ => run::write_page(&dir, &report, &out),
        });
        if let Err(e) = written {
            bar.suspend(|| eprintln!("error: {e:#}"));
        }
        bar.inc(1);
        bar.set_message(format!("seed {seed}: {}", report.outcome.name()));
        summary.push(serde_json::json!({
            "seed": seed,
            "faults": cfg.nemesis.iter().map(|k| k.name()).collect::<Vec<_>>(),
            "ops": report.ops.ok + report.ops.fail + report.ops.info,
            "outcome": report.outcome.name(),
            "dir": dir.strip_prefix("results/runs").unwrap_or(&dir).display().to_string(),
        }));
        rows.push((
            seed,
            cfg.nemesis_label(),
            report.ops.ok + report.ops.fail + report.ops.info,
            report.outcome,
            dir,
        ));
        worst = worst.merge(report.outcome);
        if report.outcome != Outcome::Pass {
            bar.suspend(|| {
                println!("{}", crate::terminal::summary(&report));
            });
            if !s.keep_going {
                break;
            }
        }
        seed += 1;
    }
    bar.finish_and_clear();
    if let Some(last) = rows.last().map(|r| r.0) {
        let path = Path::new("results/runs").join(format!("soak-{first}-{last}.json"));
        let doc = serde_json::json!({
            "workload": base.workload.kind.name(),
            "seeds": format!("{first}..{}", last + 1),
            "allowed": base.nemesis.iter().map(|k| k.name()).collect::<Vec<_>>(),
            "rows": summary,
        });
        match serde_json::to_string_pretty(&doc).map(|t| std::fs::write(&path, t + "\n")) {
            Ok(Ok(())) => println!(
                "soak summary: {} (aurora-chaos serve shows it)",
                path.display()
            ),
            Ok(Err(e)) => eprintln!("error: writing {}: {e}", path.display()),
            Err(e) => eprintln!("error: {e}"),
        }
    }
    let mut b = tabled::builder::Builder::default();
    b.push_record(["seed", "nemesis", "ops", "outcome", "run directory"]);
    for (seed, nem, ops, o, dir) in &rows {
        b.push_record([
            seed.to_string(),
            nem.clone(),
            ops.to_string(),
            o.name().to_string(),
            dir.display().to_string(),
        ]);
    }
    let mut t = b.build();
    t.with(tabled::settings::Style::rounded());
    println!("{t}");
    let failed = rows.iter().filter(|r| r.3 != Outcome::Pass).count();
    println!(
        "{} seeds, {} passed, {} failed",
        rows.len(),
        rows.len() - failed,
        failed
    );
    if let Some((seed, _, _, _, _)) = rows.iter().find(|r| r.3 != Outcome::Pass) {
        let mut cfg = base.clone();
        cfg.seed = *seed;
        cfg.nemesis = swarm_kinds(*seed, &base.nemesis);
        println!("first failure reproduces with:\n  {}", cfg.repro_command());
    }
    worst
}

pub fn replay(dir: &Path) -> Outcome {
    let cfg_path = dir.join("config.json");
    let text = match std::fs::read_to_string(&cfg_path) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("error: {}: {e}", cfg_path.display());
            return Outcome::BadInput;
        }
    };
    let cfg: RunConfig = match serde_json::from_str(&text) {
        Ok(c) => c,
        Err(e) => {
            eprintln!(
                "error: {}: line {}, column {}: {e}",
                cfg_path.display(),
                e.line(),
                e.column()
            );
            return Outcome::BadInput;
        }
    };
    let hist_path = dir.join("history.edn");
    let stored = match std::fs::read(&hist_path) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("error: {}: {e}", hist_path.display());
            return Outcome::BadInput;
        }
    };
    let (report, out) = run::execute(&cfg);
    let fresh = checkers::io::write_edn(&out.history).into_bytes();
    if fresh == stored {
        println!(
            "replay of {}: byte-identical history ({} bytes, {} ops); outcome {}",
            dir.display(),
            fresh.len(),
            out.history.len(),
            report.outcome.name()
        );
        Outcome::Pass
    } else {
        let line = fresh
            .split(|b| *b == b'\n')
            .zip(stored.split(|b| *b == b'\n'))
            .position(|(a, b)| a != b);
        println!(
            "replay of {}: history DIFFERS ({} bytes stored, {} replayed; first differing line: {})",
            dir.display(),
            stored.len(),
            fresh.len(),
            line.map(|l| (l + 1).to_string()).unwrap_or_else(|| "past the end of the shorter".into())
        );
        Outcome::Violation
    }
}

pub fn bench(sim_secs: u64, seed: u64, tick_ms: u64) -> Outcome {
    let mut cfg = RunConfig::default_for(workloads::WorkloadKind::Bank);
    cfg.seed = seed;
    cfg.tick_ms = tick_ms.max(1);
    cfg.min_latency_ms = cfg.tick_ms;
    cfg.max_latency_ms = 2 * cfg.tick_ms;
    cfg.time_limit_s = sim_secs.max(1);
    let started = Instant::now();
    let (report, _) = run::execute(&cfg);
    let wall = started.elapsed().as_secs_f64();
    let sim = report.sim_ms as f64 / 1000.0;
    println!(
        "bench: standard topology, bank workload, nemesis all, seed {seed}, tick {} ms: {sim:.1} simulated s in {wall:.2} wall s = {:.1}x real time; {} ops ({} ok); outcome {}",
        cfg.tick_ms,
        sim / wall,
        report.ops.ok + report.ops.fail + report.ops.info,
        report.ops.ok,
        report.outcome.name()
    );
    Outcome::Pass
}
