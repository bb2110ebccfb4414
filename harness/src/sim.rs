//! The simulation driver: builds turmoil's world (cluster hosts from the reference, client hosts
//! running workload workers as tasks), applies the fault schedule between `step()` calls, and runs the
//! phases of a run: setup → run (faults) → heal and converge → final reads.
//!
//! Determinism: turmoil's `rng_seed` and a fixed `epoch` are always set; every workload choice comes
//! from one `ChaCha8Rng` seeded from the run seed and drawn from in simulation order (one thread).

use crate::config::RunConfig;
use crate::nemesis::{Fault, Schedule};
pub(crate) use crate::sim_faults::power_off;
use crate::sim_faults::{apply, fault_name};
use crate::sut::{Sut, SutClient};
use checkers::{History, OpType};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;
use std::time::{Duration, UNIX_EPOCH};
use workloads::{Completion, Invocation, Recorder, Workload, WorkloadConfig};

/// Where the run is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Loading initial data.
    Setup,
    /// Workers invoke ops; faults happen.
    Run,
    /// Faults healed; workers finish in-flight ops and stop.
    Drain,
    /// One worker runs the final reads.
    Final,
    /// Everything finished.
    Done,
}

/// State shared by the driver and every worker (single-threaded: `Rc<RefCell<…>>`).
pub struct Shared {
    pub recorder: Recorder,
    pub phase: Phase,
    pub rng: ChaCha8Rng,
    pub workload: Workload,
    pub final_reads_done: bool,
    /// Admin actions waiting for the admin host: (request id, action).
    pub admin: std::collections::VecDeque<(u64, Admin)>,
    /// Clones created, waiting for the driver to provision their clusters.
    pub clones_ready: Vec<reference::branch::Branch>,
    /// Final-read tasks still to finish (the source's, plus one per clone cluster).
    pub finals_outstanding: usize,
    /// The load schedule `(sim ms, ops/s)` and the worker count it is spread over (empty:
    /// every worker keeps the think time of the run's `rate`).
    pub rate_schedule: Vec<(u64, f64)>,
    pub concurrency: usize,
}

/// An admin action, carried out by the admin host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admin {
    Backtrack { to_ms: u64 },
    Clone,
}

/// What a finished simulation hands to the checks.
pub struct SimOutput {
    pub history: History,
    pub schedule: Schedule,
    /// The final reads completed before the liveness deadline.
    pub converged: bool,
    /// Simulated milliseconds the run took.
    pub sim_ms: u64,
    /// Faults as applied: (sim ms, fault, concrete hosts it hit).
    pub applied: Vec<(u64, Fault, Vec<String>)>,
    pub invariant_violations: Vec<String>,
    pub metrics: serde_json::Value,
    /// Simulated time windows `[start, end)` during which some fault was active.
    pub fault_windows: Vec<(u64, u64)>,
    /// A simulation error (a host's software failed), if any.
    pub sim_error: Option<String>,
    /// How many events of each kind the reference's event hook published.
    pub event_counts: BTreeMap<String, u64>,
    /// Promotions: (sim ms, promoted host, its tier).
    pub promotions: Vec<(u64, String, u8)>,
    /// (name, promotion tier, size) of every instance.
    pub instance_specs: Vec<(String, u8, u32)>,
    /// White-box figures measured at storage and replicas (not from the writer).
    pub white_box: WhiteBox,
    /// Global database: its events and every commit acknowledgement (empty: one region).
    pub global_events: Vec<reference::Event>,
    /// CloudWatch-style time series sampled at a fixed simulated interval (claims C21, C22).
    pub series: crate::metrics_series::Series,
    /// Commits acknowledged to clients, as (sim ms at receipt, instance) (claim C22).
    pub commit_acks: Vec<(u64, String)>,
    /// Client requests sent, per 100 ms of sim time (claim C21).
    pub client_requests: BTreeMap<u64, u64>,
    /// The survivable cache's white-box audit (None without the survivable cache).
    pub cache_audit: Option<crate::cache_checks::CacheAudit>,
    /// Storage auto-scaling's observer (None without auto-scaling).
    pub autoscale_audit: Option<crate::autoscale_checks::AutoscaleAudit>,
    /// Custom endpoints: what instances served or refused, and promotions (empty: none
    /// configured). See `crate::endpoint_checks`.
    pub endpoint_events: Vec<reference::Event>,
}

/// What storage and replicas showed, from the reference's instrumentation.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct WhiteBox {
    /// Commit acknowledgements checked against storage's holdings, and those that
    /// came with a record below 4 distinct segments (C3).
    pub acks_checked: u64,
    pub acks_below_quorum: u64,
    /// Segment replacements committed, and acknowledged records each left held by
    /// fewer than 4 of the new member set (C8).
    pub membership_commits: u64,
    pub records_below_quorum_after_commit: u64,
    pub examples: Vec<String>,
    /// Commit acknowledged on the writer → visible on each replica.
    pub lag: Vec<reference::lag::LagSample>,
    /// Truncation ranges decided by recoveries, and (range, PG) pairs that no write quorum of
    /// segments adopted (C4).
    pub truncations_checked: u64,
    pub truncations_unadopted: u64,
    /// Times the writer hit LAL back-pressure (C6).
    pub lal_stalls: u64,
    /// Segment replacements: (pg, failed, replacement, started ms, committed ms, bytes hydrated).
    pub repairs: Vec<(u32, String, String, u64, u64, u64)>,
    /// Coverage only: commits acknowledged with their record synced by exactly 4 segments, and
    /// synced records dropped by an adopted truncation range.
    pub acks_at_exact_quorum: u64,
    pub records_truncated: u64,
    /// With `RunConfig::replication_check`: (records checked, holes, first hole) of
    /// [`reference::ledger::Ledger::holes`] at the end of the run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replication: Option<(u64, u64, Option<String>)>,
    /// With `RunConfig::replication_check`: the records of member segments whose checksum does
    /// not verify at the end of the run, as (host, PG, LSN)
    /// ([`reference::Cluster::corrupt_member_records`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub corrupt_left: Option<Vec<(String, u32, u64)>>,
    /// With `RunConfig::replication_check`: the records of member segments that lie inside a
    /// truncation range a recovery of a later epoch decided, as (host, PG, LSN), at the end of
    /// the run ([`reference::Cluster::truncated_member_records`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub truncated_left: Option<Vec<(String, u32, u64)>>,
}

/// How often the driver samples replica lag (simulated ms).
const LAG_SAMPLE_MS: u64 = 100;

pub(crate) fn now_ns() -> i64 {
    turmoil::sim_elapsed()
        .map(|d| d.as_nanos() as i64)
        .unwrap_or(0)
}

/// Tracks what the nemesis has done, so `Heal` can undo it.
#[derive(Default)]
pub(crate) struct NemesisState {
    pub(crate) partitioned: BTreeSet<(String, String)>,
    pub(crate) crashed: BTreeSet<String>,
    /// Storage nodes destroyed for good: never restarted.
    pub(crate) destroyed: BTreeSet<String>,
    pub(crate) paused: BTreeSet<String>,
    pub(crate) active_since: Option<u64>,
    /// Global database: region -> hosts, and the slowed regions' latencies.
    pub(crate) regions: BTreeMap<String, Vec<String>>,
    pub(crate) slow: BTreeMap<String, u64>,
}

pub fn simulate(cfg: &RunConfig, schedule: Schedule) -> SimOutput {
    let mut sim = turmoil::Builder::new()
        .rng_seed(cfg.seed)
        .epoch(UNIX_EPOCH + Duration::from_secs(1_700_000_000))
        .tick_duration(Duration::from_millis(cfg.tick_ms))
        .min_message_latency(Duration::from_millis(cfg.min_latency_ms))
        .max_message_latency(Duration::from_millis(cfg.max_latency_ms))
        .simulation_duration(Duration::from_secs(
            cfg.time_limit_s + cfg.convergence_s + cfg.liveness_s + 3_600,
        ))
        .tcp_capacity(1024)
        .udp_capacity(4096)
        .build();
    let sut = Sut::install(&mut sim, cfg);
    let wcfg = Rc::new(cfg.workload.clone());
    let shared = Rc::new(RefCell::new(Shared {
        recorder: Recorder::new(),
        phase: Phase::Setup,
        rng: ChaCha8Rng::seed_from_u64(cfg.seed ^ 0x5eed_0f_c1_1e_47),
        workload: Workload::new(&cfg.workload),
        final_reads_done: false,
        admin: Default::default(),
        clones_ready: vec![],
        finals_outstanding: 1,
        rate_schedule: cfg.rate_schedule.clone(),
        concurrency: cfg.concurrency.max(1),
    }));
    // The admin host exists only in runs whose schedule has admin actions.
    if schedule
        .entries
        .iter()
        .any(|e| matches!(e.fault, Fault::Backtrack { .. } | Fault::Clone))
    {
        let shared = shared.clone();
        sim.client("admin", admin(shared));
    }
    let concurrency = cfg.concurrency.max(1) as i64;
    // Mean think time per worker so that all workers together make `rate` ops per second.
    let think_ms = ((cfg.concurrency.max(1) as f64 / cfg.rate.max(0.001)) * 1000.0).max(1.0);
    let hosts = cfg.client_hosts.max(1);
    let mut client_names = Vec::new();
    for h in 0..hosts {
        let name = format!("client-{h}");
        client_names.push(name.clone());
        let procs: Vec<i64> = (0..concurrency)
            .filter(|p| (*p as usize) % hosts == h)
            .collect();
        let (shared, wcfg, sut) = (shared.clone(), wcfg.clone(), sut.clone());
        sim.client(name, async move {
            let mut tasks = Vec::new();
            if h == 0 {
                tasks.push(tokio::task::spawn_local(setup_and_final(
                    shared.clone(),
                    wcfg.clone(),
                    sut.clone(),
                )));
            }
            for p in procs {
                tasks.push(tokio::task::spawn_local(worker(
                    shared.clone(),
                    wcfg.clone(),
                    SutClient::in_region(&sut, p as usize),
                    p,
                    concurrency,
                    think_ms,
                )));
            }
            for t in tasks {
                t.await??;
            }
            Ok(())
        });
    }

    let run_end_ms = cfg.time_limit_s * 1000;
    let final_at_ms = run_end_ms + cfg.convergence_s * 1000;
    let deadline_ms = final_at_ms + cfg.liveness_s * 1000;
    let mut all_hosts = sut.topology().cluster_hosts();
    all_hosts.extend(client_names.iter().cloned());
    all_hosts.extend(sut.global_hosts());
    let mut nem = NemesisState::default();
    crate::global_nemesis::init(&mut sim, &sut, &mut nem, &all_hosts, &client_names);
    let mut applied = Vec::new();
    let mut fault_windows = Vec::new();
    let mut next_fault = 0;
    let mut converged = false;
    let mut sim_error = None;
    let mut lag_samples: Vec<(u64, u64)> = Vec::new();
    let mut next_sample_ms = 0u64;
    let mut series = crate::metrics_series::Sampler::new(&sut);
    loop {
        let now = sim.elapsed().as_millis() as u64;
        series.maybe_sample(&sut, now);
        if now >= next_sample_ms {
            if let Some(max) = sut.replica_lags().into_iter().map(|(_, l)| l).max() {
                lag_samples.push((now, max));
            }
            next_sample_ms = now + LAG_SAMPLE_MS;
        }
        while next_fault < schedule.entries.len() && schedule.entries[next_fault].at_ms <= now {
            let f = crate::global_nemesis::resolve(&sut, &schedule.entries[next_fault].fault);
            let action = match f {
                Fault::Backtrack { to_ms } => Some(Admin::Backtrack { to_ms }),
                Fault::Clone => Some(Admin::Clone),
                _ => None,
            };
            if let Some(a) = action {
                shared
                    .borrow_mut()
                    .admin
                    .push_back((next_fault as u64 + 1, a));
            }
            let hit = apply(&mut sim, &sut, &mut nem, &all_hosts, &f);
            match (&f, nem.active_since) {
                (Fault::Heal, Some(since)) => {
                    fault_windows.push((since, now));
                    nem.active_since = None;
                }
                (Fault::Heal, None) => {}
                (_, None) => nem.active_since = Some(now),
                _ => {}
            }
            let value =
                checkers::io::json::from_json(&serde_json::json!({"fault": f, "hosts": hit}));
            shared
                .borrow_mut()
                .recorder
                .nemesis(fault_name(&f), value, now as i64 * 1_000_000);
            applied.push((now, f, hit));
            next_fault += 1;
        }
        let ready = std::mem::take(&mut shared.borrow_mut().clones_ready);
        for b in ready {
            let hosts = crate::sim_clone::provision(
                &mut sim,
                &sut,
                &shared,
                &wcfg,
                b.volume,
                (concurrency / 2).max(1),
                think_ms,
            );
            all_hosts.extend(hosts);
        }
        {
            let mut s = shared.borrow_mut();
            if now >= run_end_ms && matches!(s.phase, Phase::Setup | Phase::Run) {
                s.phase = Phase::Drain;
            }
            if now >= final_at_ms && s.phase == Phase::Drain {
                s.phase = Phase::Final;
            }
            if s.final_reads_done {
                converged = true;
            }
        }
        if now >= deadline_ms {
            shared.borrow_mut().phase = Phase::Done;
            break;
        }
        match sim.step() {
            Ok(true) => break,
            Ok(false) => {}
            Err(e) => {
                sim_error = Some(e.to_string());
                break;
            }
        }
    }
    if shared.borrow().final_reads_done {
        converged = true;
    }
    let sim_ms = sim.elapsed().as_millis() as u64;
    // Debugging aid: the reference's whole event log as JSON lines.
    if let Ok(path) = std::env::var("AURORA_CHAOS_EVENTS") {
        let _ = std::fs::write(
            path.replace("{seed}", &cfg.seed.to_string()),
            sut.event_log_jsonl(),
        );
    }
    let history = shared.borrow().recorder.history();
    let (event_counts, promotions) = sut.event_summary();
    let mut metrics = sut.metrics_json();
    metrics["replica_lag_samples"] = serde_json::json!(lag_samples);
    let series = series.finish(&sut, sim_ms);
    let commit_acks = sut.commit_acks.borrow().clone();
    let client_requests = sut.requests_per_100ms.borrow().clone();
    SimOutput {
        history,
        schedule,
        converged,
        sim_ms,
        applied,
        invariant_violations: sut.invariant_violations(),
        metrics,
        fault_windows,
        sim_error,
        event_counts,
        promotions,
        instance_specs: sut.instance_specs(),
        white_box: {
            let mut wb = sut.white_box(sim_ms);
            if cfg.replication_check {
                wb.replication = Some(sut.replication_holes(sim_ms));
                wb.corrupt_left = Some(sut.corrupt_member_records());
                wb.truncated_left = Some(sut.truncated_member_records());
            }
            wb
        },
        global_events: sut.global_events(),
        series,
        commit_acks,
        client_requests,
        cache_audit: sut.cache_audit(),
        autoscale_audit: sut.autoscale_audit(),
        endpoint_events: sut.endpoint_events(),
    }
}

/// The admin host: carries out admin actions through the control plane's API and records
/// each outcome as a `:backtrack` nemesis op (`to_ms`, `to_prime_ms`, `from_ms`, `cut`, or
/// `rejected`), so a stored history can be split at its rewinds and re-checked offline.
async fn admin(shared: Rc<RefCell<Shared>>) -> turmoil::Result {
    let mut cl = reference::Client::connect(reference::Endpoint::Cluster)
        .await
        .map_err(|e| e.to_string())?;
    loop {
        let next = {
            let mut s = shared.borrow_mut();
            if s.phase == Phase::Done {
                return Ok(());
            }
            s.admin.pop_front()
        };
        let Some((id, action)) = next else {
            tokio::time::sleep(Duration::from_millis(10)).await;
            continue;
        };
        let requested = turmoil::sim_elapsed()
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0);
        let to_ms = match action {
            Admin::Backtrack { to_ms } => to_ms,
            Admin::Clone => {
                crate::sim_clone::admin_clone(&shared, &mut cl, (1 << 48) + id, requested).await;
                continue;
            }
        };
        let r = cl.backtrack((1 << 48) + id, to_ms, 60_000).await;
        let mut v = serde_json::json!({"to_ms": to_ms, "requested_ms": requested});
        match r {
            Ok(d) => {
                v["to_prime_ms"] = d.to_prime_ms.into();
                v["from_ms"] = d.from_ms.into();
                v["cut"] = d.cut.0.into();
                v["era"] = d.era.since.into();
            }
            Err(reference::BacktrackError::Rejected(why)) => v["rejected"] = why.into(),
            Err(e) => v["indeterminate"] = e.to_string().into(),
        }
        let value = checkers::io::json::from_json(&v);
        shared
            .borrow_mut()
            .recorder
            .nemesis("backtrack", value, now_ns());
    }
}

/// Power off storage nodes and wipe their disks; they never come back.
pub(crate) fn destroy(
    sim: &mut turmoil::Sim<'_>,
    sut: &Sut,
    nem: &mut NemesisState,
    all: &[String],
    hosts: &[String],
) -> Vec<String> {
    let mut hit = Vec::new();
    for h in hosts {
        if nem.destroyed.contains(h) {
            continue;
        }
        power_off(sim, nem, all, h);
        if sut.destroy(h) {
            nem.destroyed.insert(h.clone());
            hit.push(h.clone());
        }
    }
    hit
}

/// Loads the initial data (retrying until it commits), starts the run, and later runs the final reads.
async fn setup_and_final(
    shared: Rc<RefCell<Shared>>,
    wcfg: Rc<WorkloadConfig>,
    sut: Sut,
) -> turmoil::Result {
    let initial = shared.borrow().workload.initial_data();
    // The setup and final reads run from a secondary region's client (through the global
    // writer endpoint, which follows the primary role); with one region, the usual client.
    let mut client = SutClient::in_region(&sut, 1);
    if !initial.is_empty() {
        loop {
            if shared.borrow().phase != Phase::Setup {
                break;
            }
            if sut_load(&mut client, &initial).await {
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    // Fast DDL (C27): the table exists before the run.
    if wcfg.ddl_fraction > 0.0 {
        let pages = workloads::ddl::Ddl::new(&wcfg).pages;
        while shared.borrow().phase == Phase::Setup
            && workloads::ddl::create_table(&mut client, pages)
                .await
                .is_err()
        {
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    {
        let mut s = shared.borrow_mut();
        if s.phase == Phase::Setup {
            s.phase = Phase::Run;
        }
    }
    // Wait for the final phase.
    loop {
        match shared.borrow().phase {
            Phase::Final => break,
            Phase::Done => return Ok(()),
            _ => {}
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // The final reader uses a process id no worker uses.
    final_reads(&shared, &wcfg, &mut client, 1_000_000).await;
    Ok(())
}

/// Runs the workload's final reads through `client` as process `process` (a new one after each
/// indeterminate op), retrying each until it succeeds; then counts this final-read task done.
/// Returns early, without counting, if the run ends first.
pub(crate) async fn final_reads(
    shared: &Rc<RefCell<Shared>>,
    wcfg: &WorkloadConfig,
    client: &mut SutClient,
    mut process: i64,
) {
    let finals = shared.borrow().workload.final_reads();
    for inv in finals {
        loop {
            if shared.borrow().phase == Phase::Done {
                return;
            }
            let c = run_op(shared, wcfg, client, process, &inv).await;
            if c.kind == OpType::Ok {
                break;
            }
            if c.kind == OpType::Info {
                process += 1;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
    final_done(shared);
}

/// One final-read task finished; the last one ends the run.
pub(crate) fn final_done(shared: &Rc<RefCell<Shared>>) {
    let mut s = shared.borrow_mut();
    s.finals_outstanding = s.finals_outstanding.saturating_sub(1);
    if s.finals_outstanding == 0 {
        s.final_reads_done = true;
        s.phase = Phase::Done;
    }
}

async fn sut_load(client: &mut SutClient, data: &[(u64, workloads::Datum)]) -> bool {
    use workloads::Client;
    let r: Result<(), workloads::ClientError> = async {
        client.begin(&workloads::Target::Primary, false).await?;
        for (k, v) in data {
            client.write(*k, v.clone()).await?;
        }
        client.commit().await
    }
    .await;
    if r.is_err() {
        client.abort().await;
    }
    r.is_ok()
}

pub(crate) async fn run_op(
    shared: &Rc<RefCell<Shared>>,
    wcfg: &WorkloadConfig,
    client: &mut SutClient,
    process: i64,
    inv: &Invocation,
) -> Completion {
    shared.borrow_mut().recorder.invoke(process, inv, now_ns());
    client.served_by = None;
    let c = workloads::execute(wcfg, client, inv).await;
    let mut s = shared.borrow_mut();
    s.recorder.complete(process, inv, &c, now_ns());
    if let Some(node) = &client.served_by {
        s.recorder.set_node(node);
    }
    drop(s);
    c
}

/// The mean think time now: from the load schedule's current rate, else `default_ms`.
fn think_at(s: &Shared, default_ms: f64) -> f64 {
    if s.rate_schedule.is_empty() {
        return default_ms;
    }
    let now = turmoil::sim_elapsed()
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0);
    match s.rate_schedule.iter().rev().find(|(t, _)| *t <= now) {
        Some((_, r)) => ((s.concurrency as f64 / r.max(0.001)) * 1000.0).max(1.0),
        None => default_ms,
    }
}

pub(crate) async fn worker(
    shared: Rc<RefCell<Shared>>,
    wcfg: Rc<WorkloadConfig>,
    mut client: SutClient,
    mut process: i64,
    concurrency: i64,
    think_ms: f64,
) -> turmoil::Result {
    loop {
        let phase = shared.borrow().phase;
        if phase == Phase::Setup {
            tokio::time::sleep(Duration::from_millis(20)).await;
            continue;
        }
        if phase != Phase::Run {
            break;
        }
        let inv = {
            let mut s = shared.borrow_mut();
            let Shared { workload, rng, .. } = &mut *s;
            workload.next_invocation(rng, process)
        };
        let c = run_op(&shared, &wcfg, &mut client, process, &inv).await;
        if c.kind == OpType::Info {
            // Jepsen: a process whose op is indeterminate never invokes again.
            process += concurrency;
        }
        // Exponentially distributed think time around the mean (the load schedule's, if any).
        let think_ms = think_at(&shared.borrow(), think_ms);
        let u: f64 = shared.borrow_mut().rng.random_range(0.0001..1.0);
        let ms = (-u.ln() * think_ms).clamp(1.0, think_ms * 8.0);
        if shared.borrow().rate_schedule.is_empty() {
            tokio::time::sleep(Duration::from_millis(ms as u64)).await;
        } else {
            paced_sleep(&shared, ms as u64).await;
        }
    }
    Ok(())
}

/// Sleeps `ms`, but when the load schedule changes the rate before then, draws a fresh think
/// time at the new rate from the change on (so a spike starts when scheduled, not when the
/// last long think time of the old rate ends).
async fn paced_sleep(shared: &Rc<RefCell<Shared>>, ms: u64) {
    let now = || {
        turmoil::sim_elapsed()
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0)
    };
    let mut wake = now() + ms;
    loop {
        let t = now();
        let change = shared
            .borrow()
            .rate_schedule
            .iter()
            .map(|(c, _)| *c)
            .find(|c| *c > t && *c < wake);
        let Some(c) = change else {
            tokio::time::sleep(Duration::from_millis(wake.saturating_sub(t))).await;
            return;
        };
        tokio::time::sleep(Duration::from_millis(c - t)).await;
        let think = think_at(&shared.borrow(), 1.0);
        let u: f64 = shared.borrow_mut().rng.random_range(0.0001..1.0);
        wake = c + (-u.ln() * think).clamp(1.0, think * 8.0) as u64;
    }
}
