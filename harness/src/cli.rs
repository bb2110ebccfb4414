//! Command-line interface (clap). Usage errors exit with code 2.

use crate::check::CheckArgs;
use crate::config::RunConfig;
use crate::nemesis::{FaultKind, Mode, Schedule};
use crate::outcome::Outcome;
use crate::{run, soak, terminal};
use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;
use workloads::WorkloadKind;

#[derive(Debug, Parser)]
#[command(
    name = "aurora-chaos",
    version,
    about = "Deterministic chaos testing of an Aurora-style database"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// One chaos run (the default when no subcommand is given).
    Run(RunArgs),
    /// A swarm sweep over many seeds; each seed also draws which fault kinds are on.
    Soak(SoakArgs),
    /// The detection matrix: swarm sweeps per catalog bug and workload, seeds until detection.
    Hunt(crate::hunt::HuntArgs),
    /// Reduce a failing run while the same check still fails; write a minimal run and a fixture.
    Shrink {
        /// A failing run directory (holding config.json).
        dir: Option<PathBuf>,
        /// Shrink the first detection of every bug in the hunt matrix (see --hunt-dir).
        #[arg(long, conflicts_with = "dir")]
        all: bool,
        #[arg(long, default_value = "results/hunt")]
        hunt_dir: PathBuf,
        /// Where the minimal run goes (default: RUN_DIR-shrunk).
        #[arg(long)]
        out: Option<PathBuf>,
        /// At most this many reruns.
        #[arg(long, default_value_t = 60)]
        max_runs: u64,
    },
    /// Combine the JSON-lines outputs of soak shards into one summary.
    Merge(crate::merge::MergeArgs),
    /// Rerun a stored run from its config and confirm a byte-identical history.
    Replay {
        /// A run directory (holding config.json and history.edn).
        dir: PathBuf,
    },
    /// Check stored history files offline.
    Check(CheckArgs),
    /// Rebuild `report.html` (and, for real-target runs, `REPORT.md`) of stored run directories
    /// from their files, without rerunning anything.
    Page {
        /// Run directories (holding results.json and history.edn).
        #[arg(required = true)]
        dirs: Vec<PathBuf>,
        /// Real-target runs: rerun the checks on the stored history first and rewrite
        /// results.json (the run itself is not repeated; simulated runs use `replay`).
        #[arg(long)]
        recheck: bool,
    },
    /// A drop-in for elle-cli: its flags, its output, its exit codes (see `elle-cli --help`).
    #[command(name = "elle-cli")]
    ElleCli(crate::elle_cli::ElleCliArgs),
    /// The conformance suite: one scenario per Aurora claim, with its measured figure.
    Suite {
        /// Where REPORT.md, report.json and report.html go.
        #[arg(long, default_value = "results/conformance")]
        out: PathBuf,
        /// Only these claims (e.g. C1), repeatable.
        #[arg(long, value_name = "CLAIM")]
        filter: Vec<String>,
        /// Also rerun each claim under each of its bugs: every claim must fail under at least
        /// one (a claim that passes under all of them is vacuous, and the suite fails).
        #[arg(long)]
        mutations: bool,
    },
    /// Browse results in a web browser: runs and suite reports, sortable and filterable.
    Serve {
        /// The results directory to serve.
        #[arg(default_value = "results")]
        dir: PathBuf,
        /// Address to listen on (loopback by default).
        #[arg(long, default_value = "127.0.0.1")]
        bind: String,
        #[arg(long, default_value_t = 8080)]
        port: u16,
    },
    /// Measure simulated seconds per wall second for the standard topology.
    Bench {
        /// Simulated seconds of workload to run.
        #[arg(long, default_value_t = 300)]
        sim_secs: u64,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Simulation tick in ms (message latencies are 1-2 ticks).
        #[arg(long, default_value_t = 1)]
        tick_ms: u64,
    },
}

#[derive(Debug, Clone, Args)]
pub struct RunArgs {
    /// bank, register or list-append.
    #[arg(long, default_value = "bank")]
    pub workload: String,
    /// Fault kinds, comma-separated, `all`, `none`, or `help` to list them.
    #[arg(long, default_value = "all")]
    pub nemesis: String,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Simulated seconds of workload (faults happen inside this window).
    #[arg(long, value_name = "SIM_SECS", default_value_t = 60)]
    pub time_limit: u64,
    /// Target ops per simulated second, over all workers.
    #[arg(long, value_name = "OPS_PER_SEC", default_value_t = 50.0)]
    pub rate: f64,
    /// Concurrent workers.
    #[arg(long, default_value_t = 6)]
    pub concurrency: usize,
    /// Write the run directory here instead of results/runs/<workload>-<nemesis>/<seed>-<n>/.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Switch on a known bug of the reference (repeatable); `help` lists them.
    #[arg(long = "inject-bug", value_name = "NAME")]
    pub inject_bug: Vec<String>,
    /// safety (faults within the model) or beyond-model (faults may overlap).
    #[arg(long, default_value = "safety")]
    pub mode: String,
    /// Use this schedule file (schedule.json of an earlier run) instead of drawing one.
    #[arg(long, value_name = "FILE")]
    pub schedule: Option<PathBuf>,
    /// Mean simulated milliseconds between fault starts.
    #[arg(long, default_value_t = 10_000)]
    pub interval_ms: u64,
    /// The reference: keys (bank accounts) the workload uses, instead of its default.
    #[arg(long)]
    pub keys: Option<u64>,
    /// The reference: fraction of reads sent through the reader endpoint (0-1), instead of 0.25.
    #[arg(long)]
    pub reader_fraction: Option<f64>,
    /// The reference, register workload: fraction of invocations that are fast-DDL row ops
    /// and ADD COLUMNs (0-1; claim C27). Off by default.
    #[arg(long)]
    pub ddl: Option<f64>,
    /// With --ddl: the table's extent in pages, one row per page (1-1000000; default 64).
    #[arg(long)]
    pub ddl_pages: Option<u64>,
    /// The reference: LSN allocation limit (default 1000; the swarm draws 4 on some seeds).
    #[arg(long)]
    pub lal: Option<u64>,
    /// The reference: disk corruption hits the current version of a key (the swarm's draw).
    #[arg(long)]
    pub corrupt_current: bool,
    /// The reference: buffer cache size of every instance in pages (default 64; the swarm draws 1 on some seeds).
    #[arg(long)]
    pub cache_pages: Option<usize>,
    /// The reference: storage's gossip period in ms (default 50).
    #[arg(long)]
    pub gossip_ms: Option<u64>,
    /// Also check storage re-replicated every acknowledged record by the end (the swarm's).
    #[arg(long)]
    pub check_replication: bool,
    /// Run against a real engine the harness starts on loopback: postgres or mysql (MariaDB).
    /// --time-limit and --interval-ms are then real time.
    #[arg(long, value_name = "ENGINE")]
    pub target: Option<String>,
    /// Real targets: async or sync replication.
    #[arg(long, default_value = "async")]
    pub replication: String,
    /// Real targets: read-committed, repeatable-read or serializable. The reference:
    /// serializable (strict, the default) or snapshot.
    #[arg(long, default_value = "serializable")]
    pub isolation: String,
    /// The reference: backtrack window in simulated seconds (0: backtrack off). Backtracks are
    /// admin actions in a schedule: `{"fault":"backtrack","to_ms":5000}`.
    #[arg(long, default_value_t = 0)]
    pub backtrack_window_s: u64,
    /// Real targets: replicas to start (default 2 for postgres, 1 for mysql).
    #[arg(long)]
    pub replicas: Option<usize>,
    /// Run against an existing cluster's writer endpoint (postgres DSN or mysql:// URL).
    #[arg(long, value_name = "URL")]
    pub writer_dsn: Option<String>,
    /// The existing cluster's reader endpoint(s), repeatable.
    #[arg(long, value_name = "URL")]
    pub reader_dsn: Vec<String>,
    /// A shell command run on the fault schedule (DSN mode), e.g. `aws rds failover-db-cluster …`.
    #[arg(long, value_name = "CMD")]
    pub failover_command: Option<String>,
    /// The reference: Serverless v2 instances with capacity MIN:MAX ACUs (0.5-128, 0.5 steps).
    #[arg(long, value_name = "MIN:MAX")]
    pub serverless: Option<String>,
    /// A load schedule `MS:OPS_PER_SEC,...`: from each simulated ms on, that rate replaces
    /// --rate (e.g. `4000:300,7000:20` for a spike).
    #[arg(long, value_name = "SCHEDULE")]
    pub rate_schedule: Option<String>,
    /// The reference: check the published metrics (CommitThroughput, VolumeWriteIOPs)
    /// against what clients and storage observed (claim C22).
    #[arg(long)]
    pub check_metrics: bool,
    /// The reference: a custom endpoint (repeatable), `NAME=reader|any:MEMBERS` with static
    /// members `db-2,db-3` or exclusions `-db-1`. The reader share of the workload then goes
    /// through the custom endpoints (process p through the (p mod n)-th), and C24's check runs.
    #[arg(long = "custom-endpoint", value_name = "SPEC")]
    pub custom_endpoint: Vec<String>,
    /// The reference: a global database of N regions, the primary and N-1 secondaries (2-6;
    /// 1: one region). Global faults (`--nemesis partition-region,…`) need it.
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub regions: usize,
    /// The reference, with --regions: managed RPO (`rds.global_db_rpo`) in whole seconds.
    /// Aurora's minimum is 20 s; any R ≥ 1 s is accepted so short simulations can bind it.
    #[arg(long, value_name = "SECS")]
    pub global_rpo_s: Option<u64>,
    /// The reference, with --regions: a fenced old primary (r0) rejoins as a secondary of
    /// the new primary when it comes back (off: it stays fenced and serves nothing).
    #[arg(long)]
    pub global_rejoin: bool,
    /// The reference: storage auto-scaling with PAGES_PER_PG pages per PG (2-4096): the volume
    /// grows by a PG as data nears its map's limit (claim C23).
    #[arg(long, value_name = "PAGES_PER_PG")]
    pub autoscale: Option<u64>,
    /// The register workload: invocations per key before an odd slot moves to a fresh key
    /// (1-1000; default 60, which even slots keep). Small values make the key space grow.
    #[arg(long, value_name = "N")]
    pub ops_per_key: Option<u64>,
}

#[derive(Debug, Args)]
pub struct SoakArgs {
    /// Seeds to sweep, `A..B` (B exclusive).
    #[arg(long, conflicts_with = "wall_time")]
    pub seeds: Option<String>,
    /// Keep sweeping seeds from --seed upward for this many wall-clock seconds.
    #[arg(long, value_name = "SECS")]
    pub wall_time: Option<u64>,
    /// Do not stop at the first failure.
    #[arg(long)]
    pub keep_going: bool,
    /// Only seeds K, K+N, ... of the range (0-based K); one JSON line per seed on stdout (or
    /// --jsonl). Without it, JOB_COMPLETION_INDEX / JOB_COMPLETIONS (Kubernetes Indexed Jobs) apply.
    #[arg(long, value_name = "K/N")]
    pub shard: Option<String>,
    /// Run the seeds in N local child processes (shards) and merge their lines.
    #[arg(long, default_value_t = 1)]
    pub jobs: usize,
    /// A shard's JSON lines go to this file instead of stdout.
    #[arg(long, value_name = "FILE")]
    pub jsonl: Option<PathBuf>,
    /// Do not fail (exit 3) when a required coverage goal was never reached.
    #[arg(long)]
    pub no_coverage_goals: bool,
    #[command(flatten)]
    pub run: RunArgs,
}

fn usage(msg: impl std::fmt::Display) -> Outcome {
    eprintln!("error: {msg}");
    Outcome::BadInput
}

/// Turns run flags into a config, or a usage error message.
pub fn run_config(a: &RunArgs) -> Result<RunConfig, String> {
    let kind = WorkloadKind::from_name(&a.workload).ok_or_else(|| {
        format!(
            "--workload: unknown workload `{}` (bank, register, list-append)",
            a.workload
        )
    })?;
    let mut cfg = RunConfig::default_for(kind);
    cfg.seed = a.seed;
    cfg.nemesis = FaultKind::parse_list(&a.nemesis).map_err(|e| format!("--nemesis: {e}"))?;
    cfg.mode = match a.mode.as_str() {
        "safety" => Mode::Safety,
        "beyond-model" => Mode::BeyondModel,
        m => return Err(format!("--mode: unknown mode `{m}` (safety, beyond-model)")),
    };
    if a.time_limit == 0 {
        return Err("--time-limit must be at least 1 simulated second".into());
    }
    cfg.time_limit_s = a.time_limit;
    if !(a.rate.is_finite() && a.rate > 0.0) {
        return Err(format!("--rate must be positive, got {}", a.rate));
    }
    cfg.rate = a.rate;
    if a.concurrency == 0 || a.concurrency > 1000 {
        return Err(format!(
            "--concurrency must be 1..=1000, got {}",
            a.concurrency
        ));
    }
    cfg.concurrency = a.concurrency;
    cfg.nemesis_interval_ms = a.interval_ms.max(100);
    if let Some(sv) = &a.serverless {
        cfg.cluster.serverless = Some(crate::serverless_checks::parse_serverless(sv)?);
    }
    cfg.cluster.check_metrics = a.check_metrics;
    if let Some(rs) = &a.rate_schedule {
        cfg.rate_schedule = crate::serverless_checks::parse_rate_schedule(rs)?;
    }
    if let Some(k) = a.keys {
        if !(2..=10_000).contains(&k) {
            return Err(format!("--keys must be 2..=10000, got {k}"));
        }
        cfg.workload.keys = k;
    }
    if let Some(p) = a.autoscale {
        if !(2..=4096).contains(&p) {
            return Err(format!(
                "--autoscale must be 2..=4096 pages per PG, got {p}"
            ));
        }
        if a.regions > 1 {
            return Err(
                "--autoscale: a global database keeps a fixed PG map (use --regions 1)".into(),
            );
        }
        if cfg.nemesis.contains(&FaultKind::Clone) {
            return Err(
                "--autoscale: clones keep a fixed PG map; a clone of a grown volume is not supported (drop `clone` from --nemesis)".into(),
            );
        }
        cfg.cluster.autoscale = Some(crate::config::AutoscaleKnobs::new(p));
    }
    if let Some(n) = a.ops_per_key {
        if !(1..=1000).contains(&n) {
            return Err(format!("--ops-per-key must be 1..=1000, got {n}"));
        }
        cfg.workload.ops_per_key = Some(n);
    }
    if let Some(f) = a.reader_fraction {
        if !(0.0..=1.0).contains(&f) {
            return Err(format!("--reader-fraction must be within 0..=1, got {f}"));
        }
        cfg.workload.reader_fraction = f;
    }
    if let Some(f) = a.ddl {
        if !(f > 0.0 && f <= 1.0) {
            return Err(format!("--ddl must be within (0, 1], got {f}"));
        }
        if cfg.workload.kind != WorkloadKind::Register {
            return Err("--ddl needs --workload register".into());
        }
        cfg.workload.ddl_fraction = f;
    }
    if let Some(p) = a.ddl_pages {
        if a.ddl.is_none() {
            return Err("--ddl-pages needs --ddl".into());
        }
        if !(1..=1_000_000).contains(&p) {
            return Err(format!("--ddl-pages must be 1..=1000000, got {p}"));
        }
        cfg.workload.ddl_pages = p;
    }
    if let Some(l) = a.lal {
        if l == 0 {
            return Err("--lal must be at least 1".into());
        }
        cfg.cluster.lal = Some(l);
    }
    cfg.cluster.corrupt_current |= a.corrupt_current;
    if let Some(p) = a.cache_pages {
        if p == 0 {
            return Err("--cache-pages must be at least 1".into());
        }
        cfg.cluster.cache_pages = Some(p);
    }
    if let Some(g) = a.gossip_ms {
        if g == 0 {
            return Err("--gossip-ms must be at least 1".into());
        }
        cfg.cluster.gossip_ms = Some(g);
    }
    cfg.replication_check |= a.check_replication;
    for b in &a.inject_bug {
        if reference::Bug::from_name(b).is_none() {
            return Err(format!(
                "--inject-bug: unknown bug `{b}` (see `--inject-bug help`)"
            ));
        }
        cfg.bugs.push(b.clone());
    }
    if let Some(path) = &a.schedule {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("--schedule {}: {e}", path.display()))?;
        let s: Schedule = serde_json::from_str(&text).map_err(|e| {
            // A real-target kind (kill-promote, restart, …) is named, not just rejected.
            let target_only = |f: &serde_json::Value| {
                serde_json::from_value::<crate::nemesis::Fault>(f.clone()).is_err()
                    && serde_json::from_value::<targets::faults::Fault>(f.clone()).is_ok()
            };
            match crate::target_run::foreign_kind(&text, target_only) {
                Some(why) => format!(
                    "--schedule {}: {why} is a real-process fault (run it with --target postgres|mysql); the simulation shares heal, kill and pause",
                    path.display()
                ),
                None => format!(
                    "--schedule {}: line {}, column {}: {e}",
                    path.display(),
                    e.line(),
                    e.column()
                ),
            }
        })?;
        cfg.schedule = Some(s);
    }
    if a.backtrack_window_s > 0 {
        cfg.cluster.backtrack_window_ms = Some(a.backtrack_window_s * 1000);
    }
    for spec in &a.custom_endpoint {
        let instances: Vec<String> = crate::sut::Sut::topology_for(&cfg)
            .instances
            .into_iter()
            .map(|(h, _)| h)
            .collect();
        let (name, ep) = crate::endpoint_checks::parse_spec(spec, &instances)
            .map_err(|e| format!("--custom-endpoint {e}"))?;
        cfg.cluster.custom_endpoints.insert(name.clone(), ep);
        cfg.workload.custom_endpoints = cfg.cluster.custom_endpoints.keys().cloned().collect();
    }
    // The reference offers strict serializability (default) and snapshot isolation.
    match a.isolation.as_str() {
        "serializable" => {}
        "snapshot" | "repeatable-read" => cfg.cluster.snapshot_isolation = true,
        other => {
            return Err(format!(
                "--isolation: the reference offers serializable or snapshot, not `{other}`"
            ))
        }
    }
    crate::global_cli::apply(a.regions, a.global_rpo_s, &mut cfg)?;
    crate::global_cli::apply_rejoin(a.global_rejoin, &mut cfg)?;
    if let (Some(path), Some(s)) = (&a.schedule, &cfg.schedule) {
        crate::nemesis::check_hosts(s, &crate::sut::Sut::topology_for(&cfg).cluster_hosts())
            .map_err(|e| format!("--schedule {}: {e}", path.display()))?;
    }
    Ok(cfg)
}

fn bug_help() -> String {
    let mut s = String::from("known bugs of the reference (--inject-bug NAME):\n");
    for b in reference::Bug::all() {
        s.push_str(&format!("  {:<22} {}\n", b.name(), b.description()));
    }
    s
}

pub fn dispatch(cli: Cli) -> Outcome {
    let cmd = cli
        .command
        .unwrap_or_else(|| Command::Run(RunArgs::parse_from_defaults()));
    match cmd {
        Command::Run(a) => {
            if a.target.is_some() || a.writer_dsn.is_some() {
                return crate::target_run::run(&a);
            }
            if a.nemesis == "help" {
                print!("{}", FaultKind::help_text());
                return Outcome::Pass;
            }
            if a.inject_bug.iter().any(|b| b == "help") {
                print!("{}", bug_help());
                return Outcome::Pass;
            }
            match run_config(&a) {
                Ok(cfg) => run_one(&cfg, a.out.as_deref(), true),
                Err(e) => usage(e),
            }
        }
        Command::Soak(s) => soak::soak(&s),
        Command::Replay { dir } => soak::replay(&dir),
        Command::Hunt(a) => crate::hunt::hunt(&a),
        Command::Shrink {
            dir,
            all,
            hunt_dir,
            out,
            max_runs,
        } => match (dir, all) {
            (_, true) => crate::shrink::shrink_all(&hunt_dir, max_runs),
            (Some(d), false) => crate::shrink::shrink_dir(&d, out.as_deref(), max_runs),
            (None, false) => usage("shrink needs RUN_DIR or --all"),
        },
        Command::Merge(a) => crate::merge::merge(&a),
        Command::Check(a) => crate::check::run(&a),
        Command::Page { dirs, recheck } => pages(&dirs, recheck),
        Command::ElleCli(a) => crate::elle_cli::run(&a),
        Command::Bench {
            sim_secs,
            seed,
            tick_ms,
        } => soak::bench(sim_secs, seed, tick_ms),
        Command::Suite {
            out,
            filter,
            mutations,
        } => suite(&out, &filter, mutations),
        Command::Serve { dir, bind, port } => crate::serve::serve(&dir, &bind, port),
    }
}

impl RunArgs {
    fn parse_from_defaults() -> RunArgs {
        #[derive(Parser)]
        struct Wrap {
            #[command(flatten)]
            run: RunArgs,
        }
        Wrap::parse_from(["aurora-chaos"]).run
    }
}

/// Runs one config, prints banner and summary, writes the run directory.
pub fn run_one(cfg: &RunConfig, out: Option<&std::path::Path>, verbose: bool) -> Outcome {
    let schedule = run::schedule_for(cfg);
    if verbose {
        println!("{}", terminal::banner(cfg, &schedule));
    }
    let (report, sim_out) = run::execute(cfg);
    let base = PathBuf::from("results/runs");
    let dir = match out {
        Some(d) => d.to_path_buf(),
        None => run::run_dir(&base, cfg),
    };
    let link_base = if out.is_none() {
        Some(base.as_path())
    } else {
        None
    };
    if let Err(e) = run::write_run(&dir, link_base, &report, &sim_out)
        .and_then(|()| run::write_page(&dir, &report, &sim_out))
    {
        eprintln!("error: {e:#}");
        return Outcome::HarnessCrash;
    }
    if verbose {
        println!("{}", terminal::summary(&report));
        println!("run directory: {}", dir.display());
        println!("run page: {}", dir.join("report.html").display());
    }
    report.outcome
}

/// `aurora-chaos page DIR…`: every directory is checked before any is written (exit 2 names the
/// first bad one).
fn pages(dirs: &[PathBuf], recheck: bool) -> Outcome {
    use crate::target_run::page::{is_target_dir, rewrite_dir};
    for d in dirs {
        if !d.join("results.json").is_file() || !d.join("history.edn").is_file() {
            return usage(format!(
                "{}: not a run directory (results.json and history.edn expected)",
                d.display()
            ));
        }
        if recheck && !is_target_dir(d) {
            return usage(format!(
                "{}: --recheck applies to real-target runs (a simulated run is rechecked by `replay`)",
                d.display()
            ));
        }
    }
    for d in dirs {
        let done = if is_target_dir(d) {
            rewrite_dir(d, recheck).map(|(old, new)| {
                if recheck {
                    println!("{}: outcome {old} -> {new}", d.display());
                }
            })
        } else {
            crate::run_page::page_for_dir(d)
                .and_then(|html| Ok(std::fs::write(d.join("report.html"), html)?))
        };
        if let Err(e) = done {
            eprintln!("error: {}: {e:#}", d.display());
            return Outcome::BadInput;
        }
        println!("{}", d.join("report.html").display());
    }
    Outcome::Pass
}

fn suite(out: &std::path::Path, filter: &[String], mutations: bool) -> Outcome {
    for f in filter {
        if !crate::suite::CLAIMS
            .iter()
            .any(|(c, _)| c.eq_ignore_ascii_case(f))
        {
            let ids: Vec<&str> = crate::suite::CLAIMS.iter().map(|c| c.0).collect();
            return usage(format!(
                "--filter: unknown claim `{f}` ({})",
                ids.join(", ")
            ));
        }
    }
    let wanted =
        |claim: &str| filter.is_empty() || filter.iter().any(|f| f.eq_ignore_ascii_case(claim));
    let total = crate::suite::scenarios()
        .iter()
        .filter(|s| wanted(s.claim))
        .map(|s| 1 + if mutations { s.bugs.len() } else { 0 })
        .sum::<usize>();
    let bar = crate::progress::bar(total as u64, "scenarios");
    let mut begun = false;
    let mut c = crate::suite::run_suite(filter, &crate::suite::today(), mutations, |claim| {
        if begun {
            bar.inc(1);
        }
        begun = true;
        bar.set_message(format!("running {claim}"));
    });
    bar.finish_and_clear();
    if !filter.is_empty() {
        // A filtered report's headline covers only the claims asked for: say so where it shows.
        c.title = format!("{} (only {})", c.title, filter.join(", "));
    }
    use std::io::IsTerminal;
    println!(
        "{}",
        report::render_terminal(&c, std::io::stdout().is_terminal())
    );
    if let Err(e) = crate::suite::write_reports(out, &c) {
        eprintln!("error: {e:#}");
        return Outcome::HarnessCrash;
    }
    println!(
        "reports written to {}/ (REPORT.md, report.json, report.html, claims/*.html)",
        out.display()
    );
    let vacuous = c
        .mutations
        .iter()
        .filter(|m| m.outcome == report::MutationOutcome::Vacuous)
        .count();
    // A failed or vacuous claim (or a vacuous mutation) fails the suite; uncovered claims alone
    // do not (the headline says INCOMPLETE).
    if c.overall() == report::Overall::Fail {
        if vacuous > 0 {
            eprintln!("{vacuous} mutation run(s) did not make their claim fail (vacuous)");
        }
        Outcome::Violation
    } else {
        Outcome::Pass
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The printed repro command parses back into exactly the config it came from.
    #[test]
    fn repro_command_round_trips() {
        for kind in WorkloadKind::ALL {
            let mut cfg = RunConfig::default_for(kind);
            cfg.seed = 42;
            cfg.time_limit_s = 17;
            cfg.nemesis = vec![FaultKind::AzLoss, FaultKind::PauseWriter];
            cfg.nemesis_interval_ms = 6_000;
            cfg.mode = Mode::BeyondModel;
            cfg.bugs = vec!["read-above-vdl".into()];
            let cmd = cfg.repro_command();
            let args: Vec<&str> = cmd
                .split_whitespace()
                .skip_while(|a| *a != "--")
                .skip(1)
                .collect();
            let parsed =
                Cli::try_parse_from(std::iter::once("aurora-chaos").chain(args)).expect("parses");
            let Some(Command::Run(a)) = parsed.command else {
                panic!("not a run: {cmd}")
            };
            assert_eq!(run_config(&a).expect("valid"), cfg, "{cmd}");
        }
    }
}
