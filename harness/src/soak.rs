//! `soak` (a swarm sweep over seeds), `replay` (rerun a stored run, compare history bytes) and `bench`
//! (simulated seconds per wall second).

use crate::cli::{run_config, SoakArgs};
use crate::config::RunConfig;
use crate::nemesis::FaultKind;
use crate::outcome::Outcome;
use crate::run;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::io::Write;
use std::path::Path;
use std::time::Instant;

/// Swarm testing: each seed first draws a density, 1/2 or 1/4 (equally likely), then turns each
/// of the allowed fault kinds on with that probability (at least one stays on), so different seeds
/// explore different fault mixes, some broad and some concentrated on a few kinds.
pub fn swarm_kinds(seed: u64, allowed: &[FaultKind]) -> Vec<FaultKind> {
    if allowed.is_empty() {
        return Vec::new();
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x5a5a_0000_5a5a);
    let density = if rng.random_bool(0.5) { 0.5 } else { 0.25 };
    let mut on: Vec<FaultKind> = allowed
        .iter()
        .copied()
        .filter(|_| rng.random_bool(density))
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

/// One seed of a sweep, as the JSON line a shard prints.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SeedLine {
    pub seed: u64,
    pub workload: String,
    pub faults: Vec<String>,
    pub ops: u64,
    pub outcome: Outcome,
    /// Non-advisory checks that did not pass.
    pub caught_by: Vec<String>,
    pub coverage: std::collections::BTreeMap<String, u64>,
    pub dir: String,
    pub repro: String,
}

/// The rest of a seed's swarm draw, on top of [`swarm_kinds`], applied to `cfg` in place:
/// - with probability 1/2 faults may overlap (`beyond-model` mode: a fault is left unhealed half
///   the time, so two can be active at once); a base already `beyond-model` stays so;
/// - the mean interval between fault starts is the base one times 1/2, 1 or 4: dense seeds pile
///   faults on top of each other (a segment replacement while its AZ is cut off), sparse ones hold
///   a fault long enough for the control plane to act on it (its 2 s failover timeout);
/// - the workload's key count is the default, a half or a quarter of it (at least 2: more
///   contention per key), and the reader-endpoint fraction 0.25, 0.5 or 0.75;
/// - the LSN allocation limit: the default or [`LAL_SMALL`] (probability [`LAL_SMALL_P`]), and
///   whether disk corruption hits a key's current version (probability 1/2).
///
/// Each choice is equally likely and deterministic in the seed; it never writes a schedule.
pub fn apply_swarm_shape(seed: u64, cfg: &mut RunConfig) {
    apply_swarm_shape_with(seed, cfg, true)
}

/// [`apply_swarm_shape`]; without `long_faults` the ×4 interval becomes ×1 (the same draws, so
/// the configurations are a subset of the standard sweep's).
pub fn apply_swarm_shape_with(seed: u64, cfg: &mut RunConfig, long_faults: bool) {
    use crate::nemesis::Mode;
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x0a0a_5a5a_0a0a_5a5a);
    if rng.random_bool(0.5) {
        cfg.mode = Mode::BeyondModel;
    }
    let half_steps = [1, 2, if long_faults { 8 } else { 2 }][rng.random_range(0..3usize)];
    cfg.nemesis_interval_ms = (cfg.nemesis_interval_ms.saturating_mul(half_steps) / 2).max(100);
    let div = [1, 2, 4][rng.random_range(0..3usize)];
    cfg.workload.keys = (cfg.workload.keys / div).max(2);
    cfg.workload.reader_fraction = [0.25, 0.5, 0.75][rng.random_range(0..3usize)];
    // Knobs a user's swarm randomizes (FoundationDB's BUGGIFY idea), drawn after the above so
    // a seed's earlier draws do not change: a small LSN allocation limit (the writer then meets
    // LAL back-pressure whenever the quorum stalls), and disk corruption aimed at the current
    // version of a key (a block reads need) rather than any stored record.
    if rng.random_bool(LAL_SMALL_P) {
        // Never below the largest transaction a workload writes (bank's opening deposit
        // writes every account): a transaction larger than LAL could never be allocated.
        cfg.cluster.lal = Some(LAL_SMALL.max(cfg.workload.keys));
    }
    if rng.random_bool(0.5) {
        cfg.cluster.corrupt_current = true;
    }
    // More clients in flight (the same total rate) on half the seeds: while the
    // write quorum stalls every client's transaction waits with its LSNs allocated, so how far
    // allocation runs ahead of VDL (what LAL bounds) grows with the clients in flight.
    if rng.random_bool(0.5) {
        cfg.concurrency = cfg.concurrency.saturating_mul(CONCURRENCY_WIDE);
    }
    // A one-page buffer cache on half the seeds: reads, replicas' included, then miss the cache
    // and go to storage, where a segment that missed writes can be asked for a page.
    if rng.random_bool(0.5) {
        cfg.cluster.cache_pages = Some(1);
    }
    // Every swarm run also judges storage's self-healing (`replication_checks`).
    cfg.replication_check = true;
}

/// The swarm's small LAL (the default is 1000; the suite's C6 uses 4 too), raised to the
/// workload's key count (bank's opening transaction writes every account; the others write at
/// most 4 records per transaction), drawn with probability [`LAL_SMALL_P`].
pub const LAL_SMALL: u64 = 4;
pub const LAL_SMALL_P: f64 = 0.5;

/// The factor the swarm multiplies the client count by on half the seeds.
pub const CONCURRENCY_WIDE: usize = 4;

/// The seed's config: the base with this seed and its swarm fault mix.
/// With `all_workloads`, seed N runs workload N mod 3 (bank, register, list-append).
pub fn seed_config(base: &RunConfig, seed: u64, all_workloads: bool) -> RunConfig {
    let mut cfg = base.clone();
    if all_workloads {
        let kind = workloads::WorkloadKind::ALL[(seed % 3) as usize];
        cfg.workload = workloads::WorkloadConfig::default_for(kind);
    }
    cfg.seed = seed;
    cfg.nemesis = swarm_kinds(seed, &base.nemesis);
    apply_swarm_shape(seed, &mut cfg);
    cfg
}

/// Runs one seed, writes its run directory (and a page when it fails), returns its line.
fn run_seed(base: &RunConfig, seed: u64, all: bool) -> (SeedLine, run::RunReport) {
    let cfg = seed_config(base, seed, all);
    let (report, out) = run::execute(&cfg);
    let dir = run::run_dir(Path::new("results/runs"), &cfg);
    let written = run::write_run(&dir, Some(Path::new("results/runs")), &report, &out);
    // Failing seeds also get their page (passing ones would only fill the disk).
    let written = written.and_then(|()| match report.outcome {
        Outcome::Pass => Ok(()),
        _ => run::write_page(&dir, &report, &out),
    });
    if let Err(e) = written {
        eprintln!("error: {e:#}");
    }
    let line = SeedLine {
        seed,
        workload: cfg.workload.kind.name().into(),
        faults: cfg.nemesis.iter().map(|k| k.name().to_string()).collect(),
        ops: report.ops.ok + report.ops.fail + report.ops.info,
        outcome: report.outcome,
        caught_by: crate::hunt::failing_checks(&report),
        coverage: crate::coverage::measure(&out),
        dir: dir
            .strip_prefix("results/runs")
            .unwrap_or(&dir)
            .display()
            .to_string(),
        repro: cfg.repro_command(),
    };
    (line, report)
}

fn seed_range(s: &SoakArgs, base: &RunConfig) -> Result<(u64, u64), String> {
    match (&s.seeds, s.wall_time) {
        (Some(r), _) => parse_seeds(r),
        (None, Some(_)) if s.shard.is_none() && s.jobs <= 1 => Ok((base.seed, u64::MAX)),
        (None, Some(_)) => Err("--shard and --jobs need --seeds A..B, not --wall-time".into()),
        (None, None) => Err("soak needs --seeds A..B or --wall-time SECS".into()),
    }
}

pub fn soak(s: &SoakArgs) -> Outcome {
    let fail = |e: String| {
        eprintln!("error: {e}");
        Outcome::BadInput
    };
    let all = s.run.workload == "all";
    let mut args = s.run.clone();
    if all {
        args.workload = "bank".into();
    }
    let base = match run_config(&args) {
        Ok(c) => c,
        Err(e) => return fail(e),
    };
    let (first, end) = match seed_range(s, &base) {
        Ok(x) => x,
        Err(e) => return fail(e),
    };
    let shard = match (&s.shard, crate::jobs::shard_from_env()) {
        (Some(k), _) => match crate::jobs::parse_shard(k) {
            Ok(x) => Some(x),
            Err(e) => return fail(format!("--shard: {e}")),
        },
        (None, Ok(env)) => env,
        (None, Err(e)) => return fail(e),
    };
    if let Some((k, n)) = shard {
        // A shard: its seeds, one JSON line each (stdout or --jsonl), nothing else on stdout.
        let mut sink: Box<dyn std::io::Write> = match &s.jsonl {
            Some(p) => match std::fs::File::create(p) {
                Ok(f) => Box::new(f),
                Err(e) => return fail(format!("--jsonl {}: {e}", p.display())),
            },
            None => Box::new(std::io::stdout()),
        };
        let mut worst = Outcome::Pass;
        for seed in (first..end).filter(|x| (x - first) as usize % n == k) {
            let (line, _) = run_seed(&base, seed, all);
            worst = worst.merge(line.outcome);
            let text = serde_json::to_string(&line).expect("a line serializes");
            if let Err(e) = writeln!(sink, "{text}") {
                eprintln!("error: writing a seed line: {e}");
                return Outcome::HarnessCrash;
            }
            if line.outcome != Outcome::Pass && !s.keep_going {
                break;
            }
        }
        return worst;
    }
    let lines = if s.jobs > 1 {
        let args = crate::jobs::child_args_without(&["--jobs", "--jsonl"]);
        match crate::jobs::run_children(&args, s.jobs) {
            Ok(l) => match l.iter().map(|x| serde_json::from_str(x)).collect() {
                Ok(v) => {
                    let mut v: Vec<SeedLine> = v;
                    v.sort_by_key(|x| x.seed);
                    v
                }
                Err(e) => return fail(format!("a shard's output: {e}")),
            },
            Err(e) => {
                eprintln!("error: {e:#}");
                return Outcome::HarnessCrash;
            }
        }
    } else {
        sweep_here(s, &base, first, end, all)
    };
    finish(&base, first, &lines, !s.no_coverage_goals, true, all)
}

/// The unsharded sweep in this process (progress bar; stops at the first failure unless
/// --keep-going; --wall-time stops it by the clock).
fn sweep_here(s: &SoakArgs, base: &RunConfig, first: u64, end: u64, all: bool) -> Vec<SeedLine> {
    let started = Instant::now();
    let bar = if end == u64::MAX {
        crate::progress::spinner("seeds")
    } else {
        crate::progress::bar(end - first, "seeds")
    };
    let mut lines = Vec::new();
    for seed in first..end {
        if s.wall_time
            .is_some_and(|w| started.elapsed().as_secs() >= w)
        {
            break;
        }
        let (line, report) = run_seed(base, seed, all);
        bar.inc(1);
        bar.set_message(format!("seed {seed}: {}", line.outcome.name()));
        let failed = line.outcome != Outcome::Pass;
        if failed {
            bar.suspend(|| println!("{}", crate::terminal::summary(&report)));
        }
        lines.push(line);
        if failed && !s.keep_going {
            break;
        }
    }
    bar.finish_and_clear();
    lines
}

/// The summary of a sweep's lines: the per-seed table, the coverage table, `soak-A-B.json` (when
/// `write` is set), the first failure's repro command. Merged shard outputs go through here too.
pub fn finish(
    base: &RunConfig,
    first: u64,
    lines: &[SeedLine],
    goals: bool,
    write: bool,
    all: bool,
) -> Outcome {
    let mut worst = Outcome::Pass;
    let mut totals = crate::coverage::Totals::new();
    for l in lines {
        worst = worst.merge(l.outcome);
        crate::coverage::add(&mut totals, &l.coverage);
    }
    if write {
        if let Some(last) = lines.last().map(|r| r.seed) {
            let path = Path::new("results/runs").join(format!("soak-{first}-{last}.json"));
            let doc = summary_doc(base, first, lines, all);
            let _ = std::fs::create_dir_all("results/runs");
            match serde_json::to_string_pretty(&doc).map(|t| std::fs::write(&path, t + "\n")) {
                Ok(Ok(())) => println!(
                    "soak summary: {} (aurora-chaos serve shows it)",
                    path.display()
                ),
                Ok(Err(e)) => eprintln!("error: writing {}: {e}", path.display()),
                Err(e) => eprintln!("error: {e}"),
            }
        }
    }
    let mut b = tabled::builder::Builder::default();
    b.push_record([
        "seed",
        "workload",
        "nemesis",
        "ops",
        "outcome",
        "run directory",
    ]);
    for l in lines
        .iter()
        .filter(|l| l.outcome != Outcome::Pass || lines.len() <= 40)
    {
        b.push_record([
            l.seed.to_string(),
            l.workload.clone(),
            seed_config(base, l.seed, all).nemesis_label(),
            l.ops.to_string(),
            l.outcome.name().to_string(),
            format!("results/runs/{}", l.dir),
        ]);
    }
    let mut t = b.build();
    t.with(tabled::settings::Style::rounded());
    println!("{t}");
    println!("{}", crate::coverage::table(&totals, lines.len()));
    let failed = lines.iter().filter(|r| r.outcome != Outcome::Pass).count();
    println!(
        "{} seeds, {} passed, {} failed",
        lines.len(),
        lines.len() - failed,
        failed
    );
    if let Some(l) = lines.iter().find(|r| r.outcome != Outcome::Pass) {
        println!("first failure reproduces with:\n  {}", l.repro);
    }
    let missing = crate::coverage::missing(&totals);
    if goals && !missing.is_empty() {
        println!(
            "coverage: required goal(s) never reached: {} (exit 3; --no-coverage-goals skips this)",
            missing.join(", ")
        );
        worst = worst.merge(Outcome::Unknown);
    }
    worst
}

/// `soak-A-B.json`: the sweep's parameters, one row per seed and the coverage totals. Depends only
/// on the lines, so a merged sharded sweep writes the same document as the unsharded one.
pub fn summary_doc(
    base: &RunConfig,
    first: u64,
    lines: &[SeedLine],
    all: bool,
) -> serde_json::Value {
    let mut totals = crate::coverage::Totals::new();
    for l in lines {
        crate::coverage::add(&mut totals, &l.coverage);
    }
    let last = lines.last().map(|l| l.seed).unwrap_or(first);
    serde_json::json!({
        "workload": if all { "all" } else { base.workload.kind.name() },
        "seeds": format!("{first}..{}", last + 1),
        "allowed": base.nemesis.iter().map(|k| k.name()).collect::<Vec<_>>(),
        "outcomes": lines.iter().fold(std::collections::BTreeMap::<&str, u64>::new(), |mut m, l| {
            *m.entry(l.outcome.name()).or_default() += 1;
            m
        }),
        "coverage": totals.iter().map(|(k, (n, r))| (k.clone(), serde_json::json!({"events": n, "runs": r}))).collect::<serde_json::Map<_, _>>(),
        "rows": lines,
    })
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
    if let Err(e) = crate::global_cli::validate_file(&cfg, &cfg_path, &text) {
        eprintln!("error: {e}");
        return Outcome::BadInput;
    }
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
