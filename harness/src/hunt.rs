//! `aurora-chaos hunt`: the detection matrix. For each catalog bug and each workload that can show
//! it, a swarm sweep over seeds (each seed draws its own fault mix from the bug's fault families,
//! and its mode and fault interval, as `soak` does; no hand-written schedules) records the seeds at which some check failed and which checks those were. A pair stops
//! after `--detections` detections or `--max-seeds` seeds. Seeds-to-detection are the gaps between
//! successive detections (the first counted from the first seed), so the median is over independent
//! restarts of the same sweep.
//!
//! Output: `results/hunt/matrix.json` and `MATRIX.md`, both depending only on the arguments (no
//! wall-clock figures), so the same command rewrites them byte for byte. `--jobs N` runs the pairs
//! in N child processes of this binary (`--shard K/N` is the child's mode: one JSON line per pair on
//! stdout) and merges their lines; the result equals the single-process one.

use crate::config::RunConfig;
use crate::nemesis::FaultKind;
use crate::outcome::Outcome;
use crate::{jobs, run, soak};
use clap::Args;
use reference::Bug;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use workloads::WorkloadKind;

#[derive(Debug, Clone, Args)]
pub struct HuntArgs {
    /// Bugs to hunt, comma-separated (default: the whole catalog).
    #[arg(long)]
    pub bugs: Option<String>,
    /// Workloads, comma-separated (default: bank, register, list-append).
    #[arg(long)]
    pub workloads: Option<String>,
    #[arg(long, default_value_t = 1)]
    pub first_seed: u64,
    /// Give up on a (bug, workload) pair after this many seeds.
    #[arg(long, default_value_t = 8)]
    pub max_seeds: u64,
    /// Stop a pair after this many detections.
    #[arg(long, default_value_t = 3)]
    pub detections: usize,
    /// Simulated seconds of workload per seed.
    #[arg(long, default_value_t = 10)]
    pub time_limit: u64,
    /// Mean simulated ms between fault starts.
    #[arg(long, default_value_t = 3_000)]
    pub interval_ms: u64,
    #[arg(long, default_value = "results/hunt")]
    pub out: PathBuf,
    /// Run pairs in this many local child processes.
    #[arg(long, default_value_t = 1)]
    pub jobs: usize,
    /// Child mode: only pairs K, K+N, ... ; print one JSON line per pair, write nothing.
    #[arg(long, value_name = "K/N")]
    pub shard: Option<String>,
    /// Only re-render the dashboard (`index.html`) from `--out`'s matrix.json and the coverage
    /// summary (`--coverage`, default `<out>/../sweeps/fp-1000/summary.json`); run nothing.
    #[arg(long)]
    pub page: bool,
    #[arg(long, value_name = "SUMMARY_JSON")]
    pub coverage: Option<PathBuf>,
}

/// One seed of a pair's sweep.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Probe {
    pub seed: u64,
    pub outcome: Outcome,
    /// Non-advisory checks that did not pass.
    pub caught_by: Vec<String>,
    pub ops: u64,
    pub faults: usize,
}

/// A (bug, workload) pair's sweep.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PairResult {
    pub bug: String,
    pub workload: String,
    pub probes: Vec<Probe>,
}

impl PairResult {
    pub fn detections(&self) -> Vec<u64> {
        self.probes
            .iter()
            .filter(|p| p.outcome != Outcome::Pass)
            .map(|p| p.seed)
            .collect()
    }
    /// Seeds run until each detection (gaps between successive detections).
    pub fn seeds_to_detection(&self, first_seed: u64) -> Vec<u64> {
        let mut prev = first_seed;
        self.detections()
            .into_iter()
            .map(|s| {
                let g = s + 1 - prev;
                prev = s + 1;
                g
            })
            .collect()
    }
}

/// Checks that read the reference's insides rather than client histories.
pub const WHITE_BOX_CHECKS: [&str; 6] = [
    "white-box invariants",
    "durability ledger (storage's syncs)",
    "storage re-replicated (gossip)",
    "storage scrubbed (checksums)",
    "storage adopted truncations (recovery)",
    "storage discarded truncated records (disks)",
];

/// Can `workload`'s checks observe `bug` at all? `None` means yes; `Some(reason)` explains why not.
pub fn unobservable(bug: Bug, w: WorkloadKind) -> Option<&'static str> {
    match bug {
        Bug::FailoverWrongTier | Bug::FailoverIgnoresSize => Some(
            "which replica is promoted is judged only by the suite's C12 figure on a cluster with distinct tiers and sizes",
        ),
        Bug::SlowFailover => Some("RTO is an advisory figure in runs; the suite's C13 judges it"),
        Bug::WriteQuorumFive => Some(
            "it costs availability, not correctness: runs judge no commit rate during an AZ loss (the suite's C2 figure does)",
        ),
        Bug::BacktrackInsideTxn
        | Bug::BacktrackSkipsPg
        | Bug::GcIgnoresBacktrackWindow
        | Bug::BacktrackDestroys => Some(
            "acts only on an admin backtrack, which swarm runs never request (backtrack is off by default); the suite's C14 / C15 scenarios judge it",
        ),
        Bug::CloneWriteLeaks | Bug::CloneReadsPastBranch => Some(
            "acts only on a clone, which swarm runs request only when `clone` is among their nemesis kinds (opt-in); the suite's C16 judges it",
        ),
        Bug::GlobalOutOfOrder
        | Bug::GlobalRpoNotEnforced
        | Bug::GlobalSwitchoverNoDrain
        | Bug::GlobalNoFence
        | Bug::GlobalReadAboveDurable
        | Bug::GlobalSlowFailover
        | Bug::GlobalBranchOnRole
        | Bug::GlobalFeedGap
        | Bug::GlobalRejoinMergesTail => Some(
            "global-database bugs need secondary regions, which swarm runs do not install; the suite's C17-C20 judge them",
        ),
        Bug::ServerlessSlowScale | Bug::ServerlessDropsConnections | Bug::MetricsCountAttempts => {
            Some("serverless instances and the metrics check are opt-in, which swarm runs do not ask for; the suite's C21 / C22 judge them")
        }
        Bug::CustomEndpointStaleAfterFailover
        | Bug::CustomEndpointFallsBack
        | Bug::CustomEndpointIgnoresExclusions => Some(
            "custom endpoints are opt-in, which swarm runs do not configure; the suite's C24 judges them",
        ),
        Bug::AutoscaleRoutesBeforeDurable | Bug::AutoscalePausesWrites => Some(
            "storage auto-scaling is opt-in (`--autoscale`), which swarm runs do not ask for; the suite's C23 judges them",
        ),
        Bug::CacheKeepsAboveVdl | Bug::CacheLostOnRestart | Bug::PqReadsLatest => Some(
            "the survivable cache and parallel-query scans are opt-in, which swarm runs do not ask for; the suite's C25 / C26 judge them",
        ),
        Bug::DdlRewritesTable | Bug::DdlMixedSchema | Bug::DdlUnknownVersion => Some(
            "fast-DDL row ops are opt-in (`--ddl`), which swarm runs do not ask for; the suite's C27 judges them",
        ),
        Bug::ReplicaStopsApplying => Some(
            "replica lag is an advisory figure in runs (the suite's C10 judges it); stale replica reads are allowed",
        ),
        Bug::NoLal if w == WorkloadKind::Bank => Some(
            "a read of a key whose newest write is above VDL waits until VDL reaches it (writer/txn.rs) and every bank transfer reads both accounts before writing them, so at most one record per account is ever allocated above VDL; the LAL is never below the account count (bank's opening transaction writes every account), so allocation cannot pass VDL + LAL, bug or not",
        ),
        Bug::ReplicaPartialMtr | Bug::ReplicaMixedSnapshot | Bug::ReplicaReusesSnapshot
            if w == WorkloadKind::Register =>
        {
            Some("register replica reads are single-key and checked as stale-but-consistent")
        }
        _ => None,
    }
}

/// The fault families a bug's mechanism needs (the swarm draws each seed's mix from these, at
/// random, as `soak` does from all kinds): what must happen for the bug's code path to run. A
/// family names kinds, never times or hosts; a bug that needs no fault gets a light mix.
pub fn fault_family(bug: Bug) -> &'static [FaultKind] {
    use FaultKind::*;
    match bug {
        Bug::AckBeforeQuorum | Bug::AckBeforeFsync => &[
            KillStorage,
            PowerLoss,
            AzLoss,
            AzPlusOne,
            CrashWriter,
            Failover,
            PartitionWriter,
        ],
        Bug::NoEpochFencing | Bug::ReplicaBeyondVdl | Bug::ClientRetriesIndeterminate => &[
            PauseWriter,
            CrashWriter,
            Failover,
            PartitionWriter,
            PartitionAz,
        ],
        Bug::NoTruncation | Bug::LsnInsideTruncation | Bug::RecoveryReadQuorumTwo => &[
            PartitionHalves,
            PartitionAz,
            PartitionOne,
            PartitionWriter,
            KillStorage,
            PowerLoss,
            CrashWriter,
            Failover,
        ],
        // A segment replacement must run and commit: replace (an operator's or a repair's)
        // while writes go on.
        Bug::MembershipCommitEarly => &[ReplaceSegment, ReplaceSegmentFlap, DestroyNode],
        Bug::StaleMembershipAccepted => &[
            ReplaceSegment,
            DestroyNode,
            KillStorage,
            PowerLoss,
            PartitionOne,
            AzLoss,
        ],
        // A segment must lag while a replica still reaches it: the writer's links to its AZ
        // cut (peers and replicas still reach it), or a node back from a fault before gossip.
        Bug::ReadBelowReadPoint => &[PartitionWriterAz, PartitionOne, KillStorage],
        // A segment must miss writes for gossip to have a hole to fill.
        Bug::GossipDropsRecord => &[
            PartitionOne,
            PartitionAz,
            KillStorage,
            PowerLoss,
            ReplaceSegment,
        ],
        // The write quorum must stall while the writer keeps taking transactions for allocation
        // to meet LAL: the writer cut off from storage, or its AZ, or a PG left with 3 members
        // (a single storage node down leaves 5 of 6, which stalls nothing).
        Bug::NoLal => &[PartitionAz, PartitionHalves, PartitionWriter, AzPlusOne],
        Bug::ScrubTrustsCorrupt => &[CorruptDisk, KillStorage, PartitionOne],
        Bug::ReplicaPartialMtr
        | Bug::ReplicaReusesSnapshot
        | Bug::ReplicaMixedSnapshot
        | Bug::GcBelowReadPoint => &[PartitionOne, KillStorage, CorruptDisk],
        _ => &FaultKind::ALL,
    }
}

/// Bugs whose state needs a fault held past the control plane's 2 s failover timeout (a writer cut
/// off with a minority of storage until another one recovers); the others draw only the shorter
/// intervals of the swarm shape.
pub fn needs_long_faults(bug: Bug) -> bool {
    matches!(
        bug,
        Bug::NoTruncation | Bug::LsnInsideTruncation | Bug::RecoveryReadQuorumTwo
    )
}

/// Swarm dimensions a bug's mechanism needs, fixed for its probes after the seed's draws (which
/// stay as drawn for every other dimension). `read-below-read-point` acts only when a page read
/// reaches storage: replicas read storage only on a buffer-cache miss, so its probes always run
/// with a one-page cache and the swarm's highest reader fraction (the draw gives both on a
/// quarter of the seeds at best).
pub fn bug_shape(bug: Bug, cfg: &mut RunConfig) {
    if bug == Bug::ReadBelowReadPoint {
        cfg.cluster.cache_pages = Some(1);
        cfg.workload.reader_fraction = cfg.workload.reader_fraction.max(0.75);
    }
}

pub fn probe_config(bug: Bug, w: WorkloadKind, seed: u64, a: &HuntArgs) -> RunConfig {
    let mut cfg = RunConfig::default_for(w);
    cfg.seed = seed;
    cfg.nemesis = soak::swarm_kinds(seed, fault_family(bug));
    cfg.time_limit_s = a.time_limit;
    cfg.nemesis_interval_ms = a.interval_ms.max(100);
    soak::apply_swarm_shape_with(seed, &mut cfg, needs_long_faults(bug));
    bug_shape(bug, &mut cfg);
    cfg.bugs = vec![bug.name().to_string()];
    cfg
}

/// The failing, non-advisory checks of a report.
pub fn failing_checks(r: &run::RunReport) -> Vec<String> {
    r.checks
        .iter()
        .filter(|c| !c.advisory && c.valid != checkers::Validity::Valid)
        .map(|c| c.name.clone())
        .collect()
}

fn sweep(bug: Bug, w: WorkloadKind, a: &HuntArgs) -> PairResult {
    let mut probes = Vec::new();
    for seed in a.first_seed..a.first_seed + a.max_seeds {
        let cfg = probe_config(bug, w, seed, a);
        let (report, _) = run::execute(&cfg);
        probes.push(Probe {
            seed,
            outcome: report.outcome,
            caught_by: failing_checks(&report),
            ops: report.ops.ok + report.ops.fail + report.ops.info,
            faults: report.schedule.entries.len(),
        });
        if probes.iter().filter(|p| p.outcome != Outcome::Pass).count() >= a.detections {
            break;
        }
    }
    PairResult {
        bug: bug.name().into(),
        workload: w.name().into(),
        probes,
    }
}

fn parse_list<T>(
    s: &Option<String>,
    all: Vec<T>,
    by_name: impl Fn(&str) -> Option<T>,
    flag: &str,
) -> Result<Vec<T>, String> {
    match s {
        None => Ok(all),
        Some(s) => s
            .split(',')
            .map(|n| by_name(n.trim()).ok_or_else(|| format!("{flag}: unknown name `{n}`")))
            .collect(),
    }
}

/// The (bug, workload) pairs the hunt sweeps, in catalog order.
pub fn pairs(a: &HuntArgs) -> Result<Vec<(Bug, WorkloadKind)>, String> {
    let bugs = parse_list(&a.bugs, Bug::all(), Bug::from_name, "--bugs")?;
    let wls = parse_list(
        &a.workloads,
        WorkloadKind::ALL.to_vec(),
        WorkloadKind::from_name,
        "--workloads",
    )?;
    Ok(bugs
        .iter()
        .flat_map(|b| wls.iter().map(move |w| (*b, *w)))
        .filter(|(b, w)| unobservable(*b, *w).is_none())
        .collect())
}

pub fn hunt(a: &HuntArgs) -> Outcome {
    if a.page {
        return match crate::hunt_page::write_page(&a.out, a.coverage.as_deref()) {
            Ok(()) => {
                println!("hunt: wrote {}", a.out.join("index.html").display());
                Outcome::Pass
            }
            Err(e) => {
                eprintln!("error: {e:#}");
                Outcome::BadInput
            }
        };
    }
    if a.max_seeds == 0 || a.detections == 0 || a.time_limit == 0 {
        eprintln!("error: --max-seeds, --detections and --time-limit must be at least 1");
        return Outcome::BadInput;
    }
    let pairs = match pairs(a) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("error: {e}");
            return Outcome::BadInput;
        }
    };
    if let Some(shard) = &a.shard {
        let (k, n) = match jobs::parse_shard(shard) {
            Ok(x) => x,
            Err(e) => {
                eprintln!("error: --shard: {e}");
                return Outcome::BadInput;
            }
        };
        for (i, (b, w)) in pairs.iter().enumerate() {
            if i % n == k {
                println!("{}", serde_json::to_string(&sweep(*b, *w, a)).unwrap());
            }
        }
        return Outcome::Pass;
    }
    let started = std::time::Instant::now();
    let results: Vec<PairResult> = if a.jobs > 1 {
        let args = jobs::child_args_without(&["--jobs", "--out"]);
        match jobs::run_children(&args, a.jobs) {
            Ok(lines) => {
                let mut r: Vec<PairResult> = match lines
                    .iter()
                    .map(|l| serde_json::from_str(l))
                    .collect::<Result<_, _>>()
                {
                    Ok(r) => r,
                    Err(e) => {
                        eprintln!("error: a child's output: {e}");
                        return Outcome::HarnessCrash;
                    }
                };
                let order = |p: &PairResult| {
                    pairs
                        .iter()
                        .position(|(b, w)| b.name() == p.bug && w.name() == p.workload)
                };
                r.sort_by_key(order);
                r
            }
            Err(e) => {
                eprintln!("error: {e:#}");
                return Outcome::HarnessCrash;
            }
        }
    } else {
        let bar = crate::progress::bar(pairs.len() as u64, "pairs");
        let r = pairs
            .iter()
            .map(|(b, w)| {
                bar.set_message(format!("{b} on {}", w.name()));
                let r = sweep(*b, *w, a);
                bar.inc(1);
                r
            })
            .collect();
        bar.finish_and_clear();
        r
    };
    let doc = crate::hunt_report::matrix(a, &results);
    if let Err(e) = crate::hunt_report::write(&a.out, &doc) {
        eprintln!("error: {e:#}");
        return Outcome::HarnessCrash;
    }
    print!("{}", crate::hunt_report::terminal(&doc));
    println!(
        "hunt: {} pairs, {} seed runs in {:.0} wall s; matrix in {}/ (matrix.json, MATRIX.md)",
        results.len(),
        results.iter().map(|r| r.probes.len()).sum::<usize>(),
        started.elapsed().as_secs_f64(),
        a.out.display()
    );
    Outcome::Pass
}

/// Where a hunt's matrix files go.
pub fn matrix_paths(out: &Path) -> (PathBuf, PathBuf) {
    (out.join("matrix.json"), out.join("MATRIX.md"))
}

/// Counts of each check among a pair's detections.
pub fn caught_by_counts(r: &PairResult) -> BTreeMap<String, u64> {
    let mut m = BTreeMap::new();
    for p in r.probes.iter().filter(|p| p.outcome != Outcome::Pass) {
        for c in &p.caught_by {
            *m.entry(c.clone()).or_insert(0) += 1;
        }
    }
    m
}
