#![allow(dead_code)]
use reference::*;
use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

pub fn sim_and_cluster(cfg: ClusterConfig) -> (turmoil::Sim<'static>, Cluster) {
    let mut sim = sim_builder(cfg.seed).build();
    let c = Cluster::install(&mut sim, cfg);
    (sim, c)
}

/// Step until `done` or `max_ms` of sim time passes. Returns the sim time reached.
pub fn run_until(sim: &mut turmoil::Sim<'_>, max_ms: u64, mut done: impl FnMut() -> bool) -> u64 {
    let start = sim.elapsed();
    while sim.elapsed() - start < Duration::from_millis(max_ms) {
        sim.step().unwrap();
        if done() {
            break;
        }
    }
    sim.elapsed().as_millis() as u64
}

pub fn run_for(sim: &mut turmoil::Sim<'_>, ms: u64) {
    run_until(sim, ms, || false);
}

/// Wait until a writer is open (first VDL event of its epoch after recovery).
pub fn wait_open(sim: &mut turmoil::Sim<'_>, c: &Cluster, max_ms: u64) -> bool {
    let before = recoveries(c);
    let c2 = c.clone();
    run_until(sim, max_ms, || recoveries(&c2) > before);
    recoveries(c) > before
}

pub fn recoveries(c: &Cluster) -> usize {
    c.events()
        .iter()
        .filter(|e| matches!(e.kind, EventKind::RecoveryDone { .. }))
        .count()
}

/// Shared outcome log for client tasks.
pub type Log = Rc<RefCell<Vec<String>>>;

pub async fn write_txn(cl: &mut Client, key: u64, v: i64) -> Result<(), ClientError> {
    cl.begin(false).await?;
    cl.write(key, Datum::Int(v)).await?;
    cl.commit().await
}

pub async fn read_txn(cl: &mut Client, key: u64) -> Result<Datum, ClientError> {
    cl.begin(true).await?;
    let v = cl.read(key).await?;
    cl.commit().await?;
    Ok(v)
}
