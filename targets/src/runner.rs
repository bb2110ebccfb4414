//! The real-clock runner: workers draw invocations from the workload generator (seeded RNG),
//! execute them through a [`Client`] and record a history stamped with monotonic nanoseconds since
//! the start of the run; the nemesis applies the fault schedule at its real times; after the
//! workload window every fault is healed, the workers drain, and a fresh client reads every key on
//! the writer (`:process` ≥ [`FINAL_PROCESS`]).
//!
//! Everything runs on one thread (a `LocalSet`): the workload generator and the recorder are
//! shared through `Rc<RefCell<…>>` and never borrowed across an await. Jepsen's rule holds: a
//! process whose op ended `:info` never invokes again; the worker continues under a new process id
//! (`process + concurrency`).
//!
//! Not replayable: the seed fixes the op stream each worker draws from and the fault schedule, not
//! the interleaving or the engine's timing.

use crate::cluster::Cluster;
use crate::faults::{Fault, Schedule};
use crate::rw_register::RwRegister;
use checkers::{History, OpType, Value};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;
use tokio::time::Instant;
use workloads::checks::{Guarantee, HistoryCheck};
use workloads::{Client, Completion, Invocation, Recorder, Workload, WorkloadConfig};

/// Process ids at or above this are the final reader's (the harness's checks use the same).
pub const FINAL_PROCESS: i64 = 1_000_000;

/// A workload generator: one of the shared workloads, or rw-register (this crate).
pub enum Generator {
    Shared(Workload),
    RwRegister(RwRegister),
}

impl Generator {
    /// The generator of a workload named on the command line (`bank`, `register`, `list-append`,
    /// `rw-register`), or `None` for an unknown name.
    pub fn for_workload(name: &str, cfg: &WorkloadConfig) -> Option<Generator> {
        if name == "rw-register" {
            return Some(Generator::RwRegister(RwRegister::new(cfg)));
        }
        workloads::WorkloadKind::from_name(name).map(|_| Generator::Shared(Workload::new(cfg)))
    }
    /// The workload's own check table under `g`: each workload owns its checks.
    pub fn checks(&self, g: &Guarantee) -> Vec<HistoryCheck> {
        match self {
            Generator::Shared(w) => w.kind().checks(g),
            Generator::RwRegister(_) => crate::rw_register::checks(g),
        }
    }
    fn next(&mut self, rng: &mut ChaCha8Rng, process: i64) -> Invocation {
        match self {
            Generator::Shared(w) => w.next_invocation(rng, process),
            Generator::RwRegister(w) => w.next_invocation(rng),
        }
    }
    fn final_reads(&self) -> Vec<Invocation> {
        match self {
            Generator::Shared(w) => w.final_reads(),
            Generator::RwRegister(w) => w.final_reads(),
        }
    }
    fn initial_data(&self) -> Vec<(u64, workloads::Datum)> {
        match self {
            Generator::Shared(w) => w.initial_data(),
            Generator::RwRegister(_) => Vec::new(),
        }
    }
}

async fn exec<C: Client>(
    g: &Rc<RefCell<Generator>>,
    cfg: &WorkloadConfig,
    c: &mut C,
    inv: &Invocation,
) -> Completion {
    let rw = matches!(&*g.borrow(), Generator::RwRegister(_));
    if rw {
        crate::rw_register::execute(c, inv).await
    } else {
        workloads::execute(cfg, c, inv).await
    }
}

/// What to run.
pub struct RunSpec {
    pub workload: WorkloadConfig,
    pub generator: Generator,
    pub seed: u64,
    pub concurrency: usize,
    /// Target ops per second over all workers.
    pub rate: f64,
    /// Workload window.
    pub duration: Duration,
    pub schedule: Schedule,
    /// Upper bound on one op (the clients also time out each statement).
    pub op_timeout: Duration,
    /// Give up the final reads (liveness failure) after this long.
    pub final_timeout: Duration,
    /// Wait this long after the last heal before the final reads (replicas catch up).
    pub settle: Duration,
}

/// What a run produced.
pub struct RunOutput {
    pub history: History,
    /// Faults as applied: (ms since start, fault, what happened or the error).
    pub applied: Vec<(u64, Fault, Result<serde_json::Value, String>)>,
    /// `[start, end)` windows (ms) during which a fault was active.
    pub fault_windows: Vec<(u64, u64)>,
    /// The final reads completed.
    pub converged: bool,
    pub elapsed_ms: u64,
    /// (ms since start, max lag over replicas in ms).
    pub lag_samples: Vec<(u64, f64)>,
    pub setup_error: Option<String>,
}

struct Shared {
    recorder: Recorder,
    generator: Rc<RefCell<Generator>>,
    rng: ChaCha8Rng,
}

fn ns(start: Instant) -> i64 {
    start.elapsed().as_nanos() as i64
}

/// Runs `spec` against `cluster`, creating clients with `make`. Must be called inside a
/// `LocalSet` (workers are spawned with `spawn_local`).
pub async fn run<C, F>(spec: RunSpec, cluster: &mut Cluster, make: F) -> RunOutput
where
    C: Client + 'static,
    F: Fn() -> C + 'static,
{
    let make = Rc::new(make);
    let generator = Rc::new(RefCell::new(spec.generator));
    let shared = Rc::new(RefCell::new(Shared {
        recorder: Recorder::new(),
        generator: generator.clone(),
        rng: ChaCha8Rng::seed_from_u64(spec.seed),
    }));
    let start = Instant::now();
    let mut out = RunOutput {
        history: History::new(Vec::new()),
        applied: Vec::new(),
        fault_windows: Vec::new(),
        converged: false,
        elapsed_ms: 0,
        lag_samples: Vec::new(),
        setup_error: None,
    };
    let wcfg = Rc::new(spec.workload.clone());

    // Initial data (bank balances), retried until it commits.
    let init = generator.borrow().initial_data();
    if !init.is_empty() {
        let mut c = make();
        let mut ok = false;
        for _ in 0..20 {
            let r: Result<(), workloads::ClientError> = async {
                c.begin(&workloads::Target::Primary, false).await?;
                for (k, v) in &init {
                    c.write(*k, v.clone()).await?;
                }
                c.commit().await
            }
            .await;
            if r.is_ok() {
                ok = true;
                break;
            }
            c.abort().await;
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        if !ok {
            out.setup_error = Some("could not load the initial data".into());
            return out;
        }
    }

    let running = Rc::new(std::cell::Cell::new(true));
    let mean_gap = spec.concurrency as f64 / spec.rate;
    let mut workers = Vec::new();
    for w in 0..spec.concurrency {
        let (shared, running, make, wcfg, generator) = (
            shared.clone(),
            running.clone(),
            make.clone(),
            wcfg.clone(),
            generator.clone(),
        );
        let (concurrency, op_timeout) = (spec.concurrency as i64, spec.op_timeout);
        workers.push(tokio::task::spawn_local(async move {
            let mut process = w as i64;
            let mut client = make();
            while running.get() {
                let gap = { shared.borrow_mut().rng.random_range(0.0..2.0 * mean_gap) };
                tokio::time::sleep(Duration::from_secs_f64(gap)).await;
                if !running.get() {
                    break;
                }
                let inv = {
                    let mut s = shared.borrow_mut();
                    let s = &mut *s;
                    let inv = s.generator.borrow_mut().next(&mut s.rng, process);
                    s.recorder.invoke(process, &inv, ns(start));
                    inv
                };
                let c = match tokio::time::timeout(
                    op_timeout,
                    exec(&generator, &wcfg, &mut client, &inv),
                )
                .await
                {
                    Ok(c) => c,
                    Err(_) => {
                        client = make();
                        Completion {
                            kind: OpType::Info,
                            value: inv.value.clone(),
                            error: Some("op timeout".into()),
                        }
                    }
                };
                shared
                    .borrow_mut()
                    .recorder
                    .complete(process, &inv, &c, ns(start));
                if c.kind == OpType::Info {
                    process += concurrency;
                }
            }
        }));
    }

    // Lag sampler.
    let lag: Rc<RefCell<Vec<(u64, f64)>>> = Rc::new(RefCell::new(Vec::new()));
    let eps_engine = (cluster.endpoints(), cluster.engine());
    let sampler = {
        let (lag, running) = (lag.clone(), running.clone());
        tokio::task::spawn_local(async move {
            let probe = Cluster::External {
                engine: eps_engine.1,
                endpoints: eps_engine.0,
            };
            while running.get() {
                if let Ok(Some(v)) =
                    tokio::time::timeout(Duration::from_secs(2), probe.lag_ms()).await
                {
                    if let Some(m) = v.into_iter().filter(|x| x.is_finite()).reduce(f64::max) {
                        lag.borrow_mut()
                            .push((start.elapsed().as_millis() as u64, m));
                    }
                }
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        })
    };

    // Nemesis: the schedule at its real times.
    let end_ms = spec.duration.as_millis() as u64;
    let mut active_since: Option<u64> = None;
    for e in spec.schedule.entries.iter().filter(|e| e.at_ms < end_ms) {
        let now = start.elapsed().as_millis() as u64;
        if e.at_ms > now {
            tokio::time::sleep(Duration::from_millis(e.at_ms - now)).await;
        }
        apply(
            cluster,
            &e.fault,
            &shared,
            start,
            &mut out,
            &mut active_since,
        )
        .await;
    }
    let now = start.elapsed().as_millis() as u64;
    if end_ms > now {
        tokio::time::sleep(Duration::from_millis(end_ms - now)).await;
    }
    apply(
        cluster,
        &Fault::Heal,
        &shared,
        start,
        &mut out,
        &mut active_since,
    )
    .await;
    running.set(false);
    for w in workers {
        let _ = w.await;
    }
    let _ = sampler.await;
    tokio::time::sleep(spec.settle).await;

    // Final reads on the writer, each retried until ok or the deadline.
    let finals = generator.borrow().final_reads();
    let deadline = Instant::now() + spec.final_timeout;
    let mut client = make();
    let mut process = FINAL_PROCESS;
    let mut converged = true;
    'reads: for inv in finals {
        loop {
            shared
                .borrow_mut()
                .recorder
                .invoke(process, &inv, ns(start));
            let c = match tokio::time::timeout(
                spec.op_timeout,
                exec(&generator, &wcfg, &mut client, &inv),
            )
            .await
            {
                Ok(c) => c,
                Err(_) => {
                    client = make();
                    Completion {
                        kind: OpType::Info,
                        value: inv.value.clone(),
                        error: Some("op timeout".into()),
                    }
                }
            };
            shared
                .borrow_mut()
                .recorder
                .complete(process, &inv, &c, ns(start));
            if c.kind == OpType::Ok {
                break;
            }
            if c.kind == OpType::Info {
                process += 1;
            }
            if Instant::now() >= deadline {
                converged = false;
                break 'reads;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    out.converged = converged;
    out.elapsed_ms = start.elapsed().as_millis() as u64;
    out.lag_samples = lag.borrow().clone();
    out.history = shared.borrow().recorder.history();
    out
}

async fn apply(
    cluster: &mut Cluster,
    f: &Fault,
    shared: &Rc<RefCell<Shared>>,
    start: Instant,
    out: &mut RunOutput,
    active_since: &mut Option<u64>,
) {
    let t = start.elapsed().as_millis() as u64;
    let value = Value::Str(serde_json::to_string(f).unwrap_or_default());
    shared
        .borrow_mut()
        .recorder
        .nemesis(f.name(), value, ns(start));
    let r = cluster.apply(f).await.map_err(|e| format!("{e:#}"));
    let done = Value::Str(match &r {
        Ok(v) => v.to_string(),
        Err(e) => format!("error: {e}"),
    });
    shared
        .borrow_mut()
        .recorder
        .nemesis(f.name(), done, ns(start));
    match f {
        Fault::Heal => {
            if let Some(s) = active_since.take() {
                out.fault_windows
                    .push((s, start.elapsed().as_millis() as u64));
            }
        }
        _ => {
            active_since.get_or_insert(t);
        }
    }
    out.applied.push((t, f.clone(), r));
}
