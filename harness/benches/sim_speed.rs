//! Simulation speed (issue 12 point 7): simulated seconds per wall second on the standard
//! topology with every fault, per run and as a sweep over seeds with parallel jobs, and the floor
//! that turmoil itself sets for the same number of hosts.
//!
//! Run: `cargo bench -p harness --bench sim_speed`. Environment: `SIM_BENCH_SECS` (simulated
//! seconds of workload per run, default 60), `SIM_BENCH_TICKS` (comma-separated tick lengths in
//! ms, default `1`), `SIM_BENCH_SEEDS` (runs in the sweep, default 4), `SIM_BENCH_JOBS` (the job
//! counts to sweep with, default `1,2`).
//!
//! - per run: one `run::execute` of the bank workload with `--nemesis all` (the `aurora-chaos
//!   bench` configuration), timed in this process; CPU seconds are printed beside the wall time so
//!   a figure taken on a loaded machine can be judged;
//! - sweep: `jobs` child processes of this benchmark, each running its share of the seeds one
//!   after another (as `soak --jobs` does: no threads inside a simulation); the figure is the
//!   simulated seconds of all runs divided by the sweep's wall time;
//! - turmoil floor: a turmoil simulation with the standard topology's hosts, each bound to a UDP
//!   socket and idle (no messages, no timers), stepped at the same tick; then the same after every
//!   pair of hosts has exchanged one datagram (every link exists, as in a long run), and with
//!   every host waking on a timer every tick. Its rate bounds any run of this topology from above,
//!   whatever our hosts do. The same idle simulation with 1, 4 and 8 hosts shows the cost per host;
//! - tokio primitive: what turmoil does for each running host at every step (`Rt::tick`: a
//!   `block_on` of a `LocalSet::run_until` of a one-tick sleep on a current-thread runtime with
//!   paused time), in a loop on one such runtime with nothing else on it.

use harness::config::RunConfig;
use harness::run;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant, UNIX_EPOCH};

/// User + system CPU seconds of this process so far.
fn cpu_secs() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit_once(')').map(|x| x.1).unwrap_or("");
    let f: Vec<f64> = after
        .split_whitespace()
        .map(|x| x.parse().unwrap_or(0.0))
        .collect();
    (f.get(11).copied().unwrap_or(0.0) + f.get(12).copied().unwrap_or(0.0)) / 100.0
}

fn load() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next().map(String::from))
        .unwrap_or_else(|| "?".into())
}

fn env_list(name: &str, default: &str) -> Vec<u64> {
    std::env::var(name)
        .unwrap_or_else(|_| default.into())
        .split(',')
        .filter_map(|x| x.trim().parse().ok())
        .collect()
}

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

/// The `aurora-chaos bench` configuration.
fn config(seed: u64, tick_ms: u64, secs: u64) -> RunConfig {
    let mut cfg = RunConfig::default_for(workloads::WorkloadKind::Bank);
    cfg.seed = seed;
    cfg.tick_ms = tick_ms;
    cfg.min_latency_ms = tick_ms;
    cfg.max_latency_ms = 2 * tick_ms;
    cfg.time_limit_s = secs;
    cfg
}

/// One run; returns (simulated s, wall s, CPU s).
fn one_run(seed: u64, tick_ms: u64, secs: u64) -> (f64, f64, f64) {
    let cfg = config(seed, tick_ms, secs);
    let (c0, t0) = (cpu_secs(), Instant::now());
    let (report, _) = run::execute(&cfg);
    (
        report.sim_ms as f64 / 1000.0,
        t0.elapsed().as_secs_f64(),
        cpu_secs() - c0,
    )
}

/// The host names of the standard topology (cluster hosts and client hosts).
fn host_names() -> Vec<String> {
    let cfg = config(1, 1, 1);
    let mut hosts = harness::sut::Sut::topology_for(&cfg).cluster_hosts();
    hosts.extend((0..cfg.client_hosts.max(1)).map(|h| format!("client-{h}")));
    hosts
}

/// Steps an idle turmoil simulation of `hosts` for `secs` simulated seconds at `tick_ms`;
/// `mesh`: every pair of hosts exchanges one datagram first; `wake`: every host also wakes on a
/// timer every tick. Returns wall seconds per simulated second.
fn floor(hosts: &[String], tick_ms: u64, secs: u64, mesh: bool, wake: bool) -> f64 {
    const PORT: u16 = 7000;
    let mut sim = turmoil::Builder::new()
        .rng_seed(1)
        .epoch(UNIX_EPOCH + Duration::from_secs(1_700_000_000))
        .tick_duration(Duration::from_millis(tick_ms))
        .min_message_latency(Duration::from_millis(tick_ms))
        .max_message_latency(Duration::from_millis(2 * tick_ms))
        .simulation_duration(Duration::from_secs(secs + 3_600))
        .udp_capacity(4096)
        .build();
    for (i, h) in hosts.iter().enumerate() {
        let peers: Vec<String> = if mesh {
            hosts[i + 1..].to_vec()
        } else {
            Vec::new()
        };
        sim.host(h.as_str(), move || {
            let peers = peers.clone();
            async move {
                let any = SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), PORT);
                let sock = turmoil::net::UdpSocket::bind(any).await?;
                for p in &peers {
                    let _ =
                        sock.try_send_to(b"x", SocketAddr::new(turmoil::lookup(p.as_str()), PORT));
                }
                let mut buf = [0u8; 64];
                let mut every = tokio::time::interval(Duration::from_millis(tick_ms));
                loop {
                    tokio::select! {
                        r = sock.recv_from(&mut buf) => { r?; }
                        _ = every.tick(), if wake => {}
                    }
                }
            }
        });
    }
    // The simulation ends when its one client does.
    sim.client("floor-driver", async move {
        tokio::time::sleep(Duration::from_secs(secs)).await;
        Ok(())
    });
    let (c0, t0) = (cpu_secs(), Instant::now());
    let mut steps = 0u64;
    while !sim.step().expect("idle simulation steps") {
        steps += 1;
    }
    let wall = t0.elapsed().as_secs_f64();
    let cpu = cpu_secs() - c0;
    let sim_s = sim.elapsed().as_secs_f64();
    println!(
        "  turmoil floor, {} hosts + driver, {}{}: {steps} steps of {tick_ms} ms in {wall:.2} s wall ({cpu:.2} s CPU) = {:.1} us/step = {:.1}x real time ({:.1}x per CPU second)",
        hosts.len(),
        if mesh { "every link in use" } else { "no links" },
        if wake { ", every host wakes every tick" } else { ", idle" },
        wall * 1e6 / steps.max(1) as f64,
        sim_s / wall,
        sim_s / cpu.max(1e-9)
    );
    wall / sim_s
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    // Child of the sweep: `--sweep-child TICK SECS SEED...`; prints one simulated-seconds figure
    // per run.
    if let Some(i) = args.iter().position(|a| a == "--sweep-child") {
        let (tick, secs) = (args[i + 1].parse().unwrap(), args[i + 2].parse().unwrap());
        for s in &args[i + 3..] {
            let (sim, _, _) = one_run(s.parse().unwrap(), tick, secs);
            println!("{sim}");
        }
        return;
    }
    let secs = env_u64("SIM_BENCH_SECS", 60);
    let seeds = env_u64("SIM_BENCH_SEEDS", 4);
    let hosts = host_names();
    println!(
        "sim_speed: standard topology ({} hosts: {}), bank workload, nemesis all, {secs} simulated s of workload per run; load average {} at start",
        hosts.len(),
        hosts.join(" "),
        load()
    );
    for tick in env_list("SIM_BENCH_TICKS", "1") {
        let (sim, wall, cpu) = one_run(1, tick, secs);
        println!(
            "tick {tick} ms, one run (seed 1): {sim:.1} simulated s in {wall:.2} s wall ({cpu:.2} s CPU) = {:.1}x real time ({:.1}x per CPU second), {:.1} us per tick",
            sim / wall,
            sim / cpu,
            wall * 1e6 * tick as f64 / (sim * 1000.0)
        );
        for jobs in env_list("SIM_BENCH_JOBS", "1,2") {
            let jobs = jobs.max(1) as usize;
            let me = std::env::current_exe().expect("own path");
            let t0 = Instant::now();
            let children: Vec<_> = (0..jobs)
                .map(|k| {
                    let mine: Vec<String> = (1..=seeds)
                        .filter(|s| (*s as usize - 1) % jobs == k)
                        .map(|s| s.to_string())
                        .collect();
                    std::process::Command::new(&me)
                        .arg("--sweep-child")
                        .arg(tick.to_string())
                        .arg(secs.to_string())
                        .args(mine)
                        .stdout(std::process::Stdio::piped())
                        .spawn()
                        .expect("spawn a sweep job")
                })
                .collect();
            let mut total = 0.0;
            for c in children {
                let out = c.wait_with_output().expect("sweep job");
                total += String::from_utf8_lossy(&out.stdout)
                    .lines()
                    .filter_map(|l| l.trim().parse::<f64>().ok())
                    .sum::<f64>();
            }
            let wall = t0.elapsed().as_secs_f64();
            println!(
                "tick {tick} ms, sweep of {seeds} seeds with {jobs} jobs: {total:.1} simulated s in {wall:.2} s wall = {:.1} simulated s per wall s (load average {})",
                total / wall,
                load()
            );
        }
        for n in [1, 4, 8] {
            floor(&hosts[..n], tick, secs, false, false);
        }
        floor(&hosts, tick, secs, false, false);
        floor(&hosts, tick, secs, true, false);
        floor(&hosts, tick, secs, true, true);
        tokio_tick(tick, 200_000);
    }
}

/// Times turmoil's per-host step primitive `iters` times on one idle runtime.
fn tokio_tick(tick_ms: u64, iters: u32) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .expect("a current-thread runtime");
    let local = tokio::task::LocalSet::new();
    let t0 = Instant::now();
    for _ in 0..iters {
        rt.block_on(
            local.run_until(async { tokio::time::sleep(Duration::from_millis(tick_ms)).await }),
        );
    }
    println!(
        "  tokio primitive (block_on + LocalSet::run_until + sleep({tick_ms} ms), paused time, idle): {:.2} us per call",
        t0.elapsed().as_secs_f64() * 1e6 / iters as f64
    );
}
