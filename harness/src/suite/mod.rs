//! `aurora-chaos suite`: the conformance suite. For each claim (AURORA.md's C1 … C20, then C21 …
//! C27 beyond its table) that the reference implements, one scenario with pinned seeds shows it holds, with the figure measured
//! against the stated bound. Claims not implemented yet are listed as "not yet covered".
//! Claims from C21 on go beyond AURORA.md's table: they check the features of its "Also in the
//! seed" list (issue 16), worded here.
//!
//! The suite's output (REPORT.md, report.json, report.html) is byte-identical between runs except the
//! `generated` header field; CI regenerates it and compares with the committed copy.

use crate::checks::CheckResult;
use crate::config::RunConfig;
use crate::nemesis::FaultKind;
use crate::run::{self, RunReport};
use crate::sim::SimOutput;
use checkers::{OpType, Process, Validity};
use report::{
    CheckRow, ClaimRow, Conformance, FaultBand, Figure, OpCounts, OpKind, ScenarioResult, Status,
    Timeline, TimelineOp, Verdict,
};
use workloads::recorder::on_primary;
use workloads::WorkloadKind;

pub mod autoscale;
pub mod cache;
pub mod ddl;
mod endpoints;
mod figures;
mod global;
mod mutations;
pub mod pquery;
mod scenarios;
mod serverless;
use figures::*;
pub use mutations::run_mutations;
pub use scenarios::scenarios;

/// The claims table of AURORA.md (C1-C20), then the claims of issue 16 beyond that table
/// (C21-C27: the rest of Aurora's features, each numbered here, not in the design card).
pub const CLAIMS: &[(&str, &str)] = &[
    ("C1", "No acknowledged commit is lost while every PG keeps ≥ 3 of 6 segments (AZ+1 down)"),
    ("C2", "Commits make progress with ≤ 2 segments per PG down (a whole AZ)"),
    ("C3", "A commit is acknowledged only when every record up to it is at 4/6 in its PG"),
    ("C4", "After recovery the state is exactly the log up to the new VDL; truncated records never reappear"),
    ("C5", "No reader sees part of an MTR or of a transaction"),
    ("C6", "Allocated LSN ≤ VDL + LAL; after recovery new LSNs lie above the truncation range"),
    ("C7", "Once a new volume epoch is recorded, a zombie writer's I/O is rejected"),
    ("C8", "During segment replacement, acknowledged writes meet both quorums and I/O never blocks"),
    ("C9", "Replica reads are a committed, monotonic prefix of the writer's history"),
    ("C10", "Replica lag stays under its bound in a healthy cluster"),
    ("C11", "After failover every commit acknowledged before it is present"),
    ("C12", "Failover promotes the lowest tier; ties go to the largest instance"),
    ("C13", "Failover RTO (failure to first successful write)"),
    ("C14", "Backtrack to T yields exactly the committed state at the reported T′ ≤ T"),
    ("C15", "Backtracking forward inside the window restores the later state"),
    ("C16", "A clone equals the source at clone time; later writes on each side stay isolated"),
    ("C17", "Global switchover loses no acknowledged commit"),
    ("C18", "Global failover yields a consistent prefix; lost commits are only those of the last lag window"),
    ("C19", "With managed RPO R, no commit is acknowledged while every secondary lags more than R"),
    ("C20", "Global failover RTO"),
    // ---- beyond AURORA.md's table (issue 16): the rest of Aurora's features.
    ("C21", "Serverless v2 capacity reaches the level a load spike needs within 1 s, without client errors or dropped connections"),
    ("C22", "Published metrics agree with what clients and storage observed (CommitThroughput, VolumeWriteIOPs)"),
    ("C23", "Writes continue and no acknowledged write is lost while PGs are added under faults (storage auto-scaling)"),
    ("C24", "A custom endpoint never routes to a non-member (READER: never to the writer), across failover and restarts"),
    ("C25", "A survivable buffer cache is warm right after an instance restart and never serves a stale page"),
    ("C26", "A parallel query pushed down to storage equals the same query evaluated at the instance at the same read point"),
    ("C27", "Fast DDL: no reader sees a row in a mixed or unknown schema, and adding a nullable column takes constant time"),
];

/// One seed's run.
pub struct SeedRun {
    pub cfg: RunConfig,
    pub report: RunReport,
    pub out: SimOutput,
}

/// A scenario: the runs that exercise a claim, and how its figure is measured.
pub struct Scenario {
    pub claim: &'static str,
    pub name: &'static str,
    pub workload: WorkloadKind,
    pub faults: Vec<FaultKind>,
    pub seeds: Vec<u64>,
    pub time_limit_s: u64,
    /// A hand-written schedule instead of one drawn from `faults`.
    pub schedule: Option<fn() -> crate::nemesis::Schedule>,
    /// The figure over all seeds' runs. A scenario that did not exercise its claim (no promotion,
    /// no zombie write attempt) yields NaN, which never meets a bound: it fails rather than passing
    /// vacuously.
    pub figure: fn(&[SeedRun]) -> Figure,
    /// Switchable bugs that break exactly what the claim states: under each, the scenario must
    /// FAIL (`suite --mutations`), or the claim is vacuous.
    pub bugs: &'static [&'static str],
    /// Cluster settings the scenario needs beyond the standard cluster.
    pub cluster: fn() -> crate::config::ClusterKnobs,
}

/// Why a claim is not covered, or `None` when it is. Every claim of `CLAIMS` is covered now;
/// a claim added before its mechanism is built gets its reason here, and the report says
/// INCOMPLETE until it is.
fn not_covered(_claim: &str) -> Option<&'static str> {
    None
}

fn verdict(v: Validity) -> Verdict {
    match v {
        Validity::Valid => Verdict::Valid,
        Validity::Unknown => Verdict::Unknown,
        Validity::Invalid => Verdict::Invalid,
    }
}

/// Runs one scenario over its seeds, with `bugs` switched on (none for the claim itself).
///
/// The seeds run on parallel threads (at most `available_parallelism`, or `AURORA_CHAOS_SUITE_JOBS`
/// when set): each run is its own simulation with its own seeded RNG and shares nothing with the
/// others, and the results come back in seed order, so the output does not depend on the thread
/// count or on scheduling.
pub fn run_scenario(sc: &Scenario, bugs: &[&str]) -> Vec<SeedRun> {
    let cfgs: Vec<RunConfig> = sc
        .seeds
        .iter()
        .map(|&seed| {
            let mut cfg = RunConfig::default_for(sc.workload);
            cfg.seed = seed;
            cfg.nemesis = sc.faults.clone();
            cfg.time_limit_s = sc.time_limit_s;
            cfg.nemesis_interval_ms = 8_000;
            cfg.schedule = sc.schedule.map(|f| f());
            cfg.cluster = (sc.cluster)();
            serverless::tune(sc.claim, &mut cfg);
            if let Some(k) = cfg.cluster.workload_keys {
                cfg.workload.keys = k;
            }
            if let Some(r) = cfg.cluster.workload_rate {
                cfg.rate = r;
            }
            if let Some(n) = cfg.cluster.workload_ops_per_key {
                cfg.workload.ops_per_key = Some(n);
            }
            if let Some(f) = cfg.cluster.scan_fraction {
                cfg.workload.scan_fraction = f;
            }
            if let Some(f) = cfg.cluster.ddl_fraction {
                cfg.workload.ddl_fraction = f;
            }
            // A cluster with custom endpoints: the workload's reader share goes through them.
            cfg.workload.custom_endpoints = cfg.cluster.custom_endpoints.keys().cloned().collect();
            cfg.bugs = bugs.iter().map(|b| b.to_string()).collect();
            cfg
        })
        .collect();
    run_parallel(cfgs)
}

/// Worker threads for the suite's runs.
fn suite_jobs() -> usize {
    std::env::var("AURORA_CHAOS_SUITE_JOBS")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|&n: &usize| n >= 1)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

/// Runs every config, `suite_jobs()` at a time, and returns the runs in the configs' order.
fn run_parallel(cfgs: Vec<RunConfig>) -> Vec<SeedRun> {
    let jobs = suite_jobs().min(cfgs.len()).max(1);
    if jobs == 1 {
        return cfgs
            .into_iter()
            .map(|cfg| {
                let (report, out) = run::execute(&cfg);
                SeedRun { cfg, report, out }
            })
            .collect();
    }
    let next = std::sync::atomic::AtomicUsize::new(0);
    let slots: Vec<std::sync::Mutex<Option<SeedRun>>> =
        cfgs.iter().map(|_| std::sync::Mutex::new(None)).collect();
    std::thread::scope(|s| {
        for _ in 0..jobs {
            s.spawn(|| loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(cfg) = cfgs.get(i) else { break };
                let (report, out) = run::execute(cfg);
                *slots[i].lock().unwrap() = Some(SeedRun {
                    cfg: cfg.clone(),
                    report,
                    out,
                });
            });
        }
    });
    slots
        .into_iter()
        .map(|m| m.into_inner().unwrap().expect("every run finished"))
        .collect()
}

/// Merges per-seed checks: one row per check name, the worst verdict, the summary of the worst seed.
fn merged_checks(runs: &[SeedRun]) -> Vec<CheckRow> {
    let mut rows: Vec<(String, CheckResult, u64)> = Vec::new();
    for r in runs {
        for c in &r.report.checks {
            match rows.iter_mut().find(|(n, _, _)| *n == c.name) {
                Some(row) if c.valid > row.1.valid => {
                    *row = (c.name.clone(), c.clone(), r.cfg.seed)
                }
                Some(_) => {}
                None => rows.push((c.name.clone(), c.clone(), r.cfg.seed)),
            }
        }
    }
    rows.into_iter()
        .map(|(name, c, seed)| CheckRow {
            name,
            verdict: verdict(c.valid),
            advisory: c.advisory,
            summary: if runs.len() > 1 && c.valid != Validity::Valid {
                format!("seed {seed}: {}", c.summary)
            } else {
                c.summary
            },
        })
        .collect()
}

/// A Jepsen-style timeline of the first seed's run.
pub fn timeline(out: &SimOutput) -> Timeline {
    let h = &out.history;
    let mut ops = Vec::new();
    if let Ok(pairs) = h.pairs() {
        for p in pairs {
            let inv = &h.ops[p.invoke];
            let Some(Process::Client(process)) = inv.process else {
                continue;
            };
            let (end_ms, kind) = match p.complete.map(|c| &h.ops[c]) {
                Some(c) => (
                    c.time.unwrap_or(0) as f64 / 1e6,
                    match c.kind {
                        OpType::Ok => OpKind::Ok,
                        OpType::Fail => OpKind::Fail,
                        _ => OpKind::Info,
                    },
                ),
                None => (out.sim_ms as f64, OpKind::Info),
            };
            let mut label = format!("{} {}", inv.f(), inv.value);
            if !on_primary(inv) {
                label.push_str(" (reader)");
            }
            if label.len() > 120 {
                let mut end = 117;
                while !label.is_char_boundary(end) {
                    end -= 1;
                }
                label.truncate(end);
                label.push_str("...");
            }
            ops.push(TimelineOp {
                process,
                start_ms: inv.time.unwrap_or(0) as f64 / 1e6,
                end_ms,
                kind,
                f: inv.f().to_string(),
                label,
            });
        }
    }
    let faults = fault_windows(out, |_| true)
        .into_iter()
        .map(|(s, e, name)| FaultBand {
            start_ms: s,
            end_ms: e,
            name,
        })
        .collect();
    Timeline {
        lags: Vec::new(),
        ops,
        faults,
        end_ms: out.sim_ms as f64,
    }
}

/// Builds a claim's row from its scenario runs.
pub fn claim_row(claim: &str, wording: &str, sc: &Scenario, runs: &[SeedRun]) -> ClaimRow {
    let figure = (sc.figure)(runs);
    let checks = merged_checks(runs);
    let checks_ok = checks
        .iter()
        .filter(|c| !c.advisory)
        .all(|c| c.verdict == Verdict::Valid);
    let status = if checks_ok && figure.holds() {
        Status::Pass
    } else {
        Status::Fail
    };
    let mut ops = OpCounts::default();
    for r in runs {
        ops.ok += r.report.ops.ok;
        ops.fail += r.report.ops.fail;
        ops.info += r.report.ops.info;
    }
    let explanations = runs
        .iter()
        .flat_map(|r| r.report.checks.iter().map(move |c| (r.cfg.seed, c)))
        .filter(|(_, c)| c.valid != Validity::Valid && !c.advisory)
        .filter_map(|(seed, c)| {
            c.verdict
                .as_ref()
                .map(|v| format!("seed {seed}, {}: {}", c.name, v.explanation.trim()))
        })
        .filter(|s| !s.ends_with(": "))
        .collect();
    ClaimRow {
        claim: claim.into(),
        wording: wording.into(),
        status,
        scenario: Some(ScenarioResult {
            name: sc.name.into(),
            workload: sc.workload.name().into(),
            nemesis: if sc.faults.is_empty() {
                "none".into()
            } else {
                sc.faults
                    .iter()
                    .map(|k| k.name())
                    .collect::<Vec<_>>()
                    .join(",")
            },
            seeds: sc.seeds.clone(),
            schedule: runs
                .first()
                .and_then(|r| serde_json::to_value(&r.report.schedule).ok())
                .unwrap_or_default(),
            ops,
            checks,
            figure: Some(figure),
            explanations,
            repro: format!("cargo run --release -- suite --filter {claim}"),
            timeline: runs
                .first()
                .map(|r| crate::run_page::timeline(&r.report, &r.out.history)),
        }),
    }
}

/// Runs the suite (optionally only the claims in `filter`) and returns the report.
/// With `mutations`, every covered claim is also rerun under each of its bugs (see
/// [`run_mutations`]) and the claim × bug matrix goes into the report.
pub fn run_suite(
    filter: &[String],
    generated: &str,
    mutations: bool,
    mut progress: impl FnMut(&str),
) -> Conformance {
    let scenarios = scenarios();
    let mut rows = Vec::new();
    for &(claim, wording) in CLAIMS {
        if !filter.is_empty() && !filter.iter().any(|f| f.eq_ignore_ascii_case(claim)) {
            continue;
        }
        if let Some(sc) = scenarios.iter().find(|s| s.claim == claim) {
            progress(claim);
            let runs = run_scenario(sc, &[]);
            rows.push(claim_row(claim, wording, sc, &runs));
        } else {
            let reason = not_covered(claim).unwrap_or("no scenario yet");
            rows.push(ClaimRow {
                claim: claim.into(),
                wording: wording.into(),
                status: Status::NotCovered {
                    reason: reason.into(),
                },
                scenario: None,
            });
        }
    }
    let matrix = if mutations {
        run_mutations(&scenarios, &mut rows, &mut progress)
    } else {
        Vec::new()
    };
    let mut c = Conformance::new("aurora-chaos conformance", generated, rows);
    c.mutations = matrix;
    c
}

/// Today's UTC date (YYYY-MM-DD) for the report header, or `AURORA_CHAOS_REPORT_DATE` when set.
pub fn today() -> String {
    if let Ok(d) = std::env::var("AURORA_CHAOS_REPORT_DATE") {
        return d;
    }
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let days = (secs / 86_400) as i64;
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + if m <= 2 { 1 } else { 0 };
    format!("{y:04}-{m:02}-{d:02}")
}

/// Writes REPORT.md, report.json, report.html and claims/<id>.html into `dir` ([`report::write_dir`]).
pub fn write_reports(dir: &std::path::Path, c: &Conformance) -> anyhow::Result<()> {
    use anyhow::Context;
    report::write_dir(c, dir)
        .map(|_| ())
        .with_context(|| format!("writing the reports into {}", dir.display()))
}
