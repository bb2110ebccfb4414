//! Efficiency figure: network messages and bytes the writer sends per committed
//! transaction, against a mirrored-page baseline computed from the same run.
//!
//! Baseline (MySQL on mirrored EBS, P17 §3.1): each transaction writes its redo log
//! record and a binlog record, and each page it dirtied is written twice (page +
//! double-write buffer); every write goes to 4 copies (primary EBS, its mirror, the
//! standby's EBS, its mirror). Pages are 16 KiB. Aurora's figure counts every
//! message the writer sends to storage (writes, resends, VDL hints, fencing rounds,
//! page reads), bytes as a compact binary encoding (`Msg::wire_size`).
//!
//! Measured at 8 and at 64 closed-loop clients (more clients, more transactions per
//! storage write). Also prints simulated seconds per wall second for the standard
//! topology (6 storage nodes, writer + 2 replicas, control, 2 client hosts x 4 tasks).
//! Run: `cargo bench -p reference --bench efficiency` (`SIM_SECS=N` to change length).

use reference::*;
use std::cell::RefCell;
use std::collections::BTreeSet;
use std::rc::Rc;
use std::time::{Duration, Instant};

const PAGE_BYTES: u64 = 16 * 1024;
const MIRRORS: u64 = 4;
const LOG_RECORD_BYTES: u64 = 128;

#[derive(Default)]
struct Stats {
    txns: u64,
    pages: u64,
}

async fn transfers(seedk: u64, until: Duration, pause_ms: u64, st: Rc<RefCell<Stats>>) {
    let mut cl = Client::connect(Endpoint::Cluster).await.unwrap();
    let mut i = 0u64;
    while turmoil::sim_elapsed().unwrap() < until {
        i += 1;
        // A bank-style transfer: read two accounts, write both.
        let a = (seedk * 7919 + i * 31) % 400;
        let b = (a + 1 + (i * 17) % 398) % 400;
        let r: Result<(), ClientError> = async {
            cl.begin(false).await?;
            let va = cl.read(a).await?;
            let vb = cl.read(b).await?;
            let n = |d: Datum| if let Datum::Int(x) = d { x } else { 0 };
            cl.write(a, Datum::Int(n(va) - 1)).await?;
            cl.write(b, Datum::Int(n(vb) + 1)).await?;
            cl.commit().await
        }
        .await;
        if pause_ms > 0 {
            tokio::time::sleep(Duration::from_millis(pause_ms)).await;
        }
        if r.is_ok() {
            let pages: BTreeSet<u64> = [a / 4, b / 4].into_iter().collect();
            let mut s = st.borrow_mut();
            s.txns += 1;
            s.pages += pages.len() as u64;
        }
    }
}

fn tick_ms() -> u64 {
    std::env::var("TICK_MS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1)
}

fn main() {
    println!("turmoil tick: {} ms (TICK_MS)", tick_ms());
    let sim_secs: u64 = std::env::var("SIM_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20);
    println!("== efficiency: 8 closed-loop clients, bank transfers, {sim_secs} simulated s ==");
    run(sim_secs, 0, 4);
    // The paper's figure comes from SysBench with many connections, where one storage
    // write carries the redo of many transactions (group commit).
    println!("== efficiency: 64 closed-loop clients, bank transfers, {sim_secs} simulated s ==");
    run(sim_secs, 0, 32);
    println!("== speed: 8 clients at ~10 txn/s each (~80 txn/s), 120 simulated s ==");
    run(120, 100, 4);
    println!("== speed: idle cluster (no clients), 120 simulated s ==");
    let mut sim = sim_builder_with_tick(2, tick_ms()).build();
    let cluster = Cluster::install(
        &mut sim,
        ClusterConfig {
            seed: 2,
            ..Default::default()
        },
    );
    let wall = Instant::now();
    while sim.elapsed() < Duration::from_secs(120) {
        sim.step().unwrap();
    }
    println!(
        "speed: 120 simulated s in {:.2} wall s = {:.1}x real time ({} hosts)",
        wall.elapsed().as_secs_f64(),
        120.0 / wall.elapsed().as_secs_f64(),
        cluster.storage_hosts().len() + cluster.instance_hosts().len() + 1
    );
}

/// `per_host` closed-loop clients on each of 2 client hosts.
fn run(sim_secs: u64, pause_ms: u64, per_host: u64) {
    let until = Duration::from_secs(sim_secs);
    let mut sim = sim_builder_with_tick(1, tick_ms()).build();
    let cluster = Cluster::install(
        &mut sim,
        ClusterConfig {
            seed: 1,
            ..Default::default()
        },
    );
    let stats = Rc::new(RefCell::new(Stats::default()));
    for h in 0..2u64 {
        let st = stats.clone();
        sim.client(format!("bench-{h}"), async move {
            let mut hs = vec![];
            for t in 0..per_host {
                hs.push(tokio::task::spawn_local(transfers(
                    h * per_host + t,
                    until,
                    pause_ms,
                    st.clone(),
                )));
            }
            for j in hs {
                j.await.unwrap();
            }
            Ok(())
        });
    }
    let wall = Instant::now();
    sim.run().unwrap();
    let wall_s = wall.elapsed().as_secs_f64();
    let sim_s = sim.elapsed().as_secs_f64();
    let s = stats.borrow();
    let m = cluster.metrics();
    let w = &m.hosts["db-1"];
    let txns = s.txns.max(1) as f64;
    let aurora_msgs = w.storage_messages_sent as f64 / txns;
    let aurora_bytes = w.storage_bytes_sent as f64 / txns;
    let pages_per_txn = s.pages as f64 / txns;
    let base_msgs = MIRRORS as f64 * (2.0 + 2.0 * pages_per_txn);
    let base_bytes =
        MIRRORS as f64 * (2.0 * LOG_RECORD_BYTES as f64 + 2.0 * pages_per_txn * PAGE_BYTES as f64);
    println!(
        "committed write transactions: {} ({:.1}/s), {:.2} pages dirtied per txn",
        s.txns,
        txns / sim_s,
        pages_per_txn
    );
    println!("aurora   (writer -> storage): {aurora_msgs:8.2} messages/txn {aurora_bytes:10.0} bytes/txn");
    println!("mirrored (4 copies, 16 KiB pages): {base_msgs:8.2} messages/txn {base_bytes:10.0} bytes/txn");
    println!(
        "ratio: {:.1}x fewer messages, {:.0}x fewer bytes",
        base_msgs / aurora_msgs,
        base_bytes / aurora_bytes
    );
    println!(
        "commit latency mean {:.1} ms, max {} ms; buffer cache hit ratio {:.2}",
        w.commit_latency_ms_mean(),
        w.commit_latency_ms_max,
        w.buffer_cache_hit_ratio()
    );
    for r in ["db-2", "db-3"] {
        println!("{r}: replica lag max {} ms", m.hosts[r].replica_lag_ms_max);
    }
    println!(
        "speed: {sim_s:.1} simulated s in {wall_s:.2} wall s = {:.1}x real time",
        sim_s / wall_s
    );
    println!(
        "invariant violations: {}",
        cluster.invariant_violations().len()
    );
}
