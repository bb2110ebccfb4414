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

/// Outcome of one register write: (client, key, value, outcome) with outcome "ok" | "fail" | "info".
pub type Writes = Rc<RefCell<Vec<(usize, u64, i64, &'static str)>>>;

/// Start `n` client hosts (`client-{i}`), each writing increasing values to its own
/// `keys` keys through `endpoint` until `until_ms` of sim time.
pub fn spawn_writers(sim: &mut turmoil::Sim<'_>, n: usize, keys: u64, until_ms: u64) -> Writes {
    let log: Writes = Rc::new(RefCell::new(vec![]));
    for i in 0..n {
        let l = log.clone();
        sim.client(format!("client-{i}"), async move {
            let mut cl = Client::connect(Endpoint::Cluster).await?;
            let mut seq = 0i64;
            while turmoil::sim_elapsed().unwrap().as_millis() < until_ms as u128 {
                seq += 1;
                let key = i as u64 * 1000 + (seq as u64 % keys);
                let r = write_txn(&mut cl, key, seq).await;
                let outcome = match &r {
                    Ok(()) => "ok",
                    Err(e) if e.is_indeterminate() => "info",
                    Err(_) => "fail",
                };
                l.borrow_mut().push((i, key, seq, outcome));
                if r.is_err() {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }
            Ok(())
        });
    }
    log
}

/// Read every key the writers touched (through the cluster endpoint, retrying) and
/// check: the final value is the last acknowledged write or a later attempted one.
/// Call only after every writer has stopped.
pub fn check_durable(
    sim: &mut turmoil::Sim<'_>,
    writes: &Writes,
    name: &str,
) -> Result<usize, String> {
    let keys: std::collections::BTreeSet<u64> = writes.borrow().iter().map(|w| w.1).collect();
    let finals: Rc<RefCell<std::collections::BTreeMap<u64, Datum>>> = Rc::default();
    let f = finals.clone();
    let ks = keys.clone();
    sim.client(name.to_string(), async move {
        let mut cl = Client::connect(Endpoint::Cluster).await?;
        for k in ks {
            for _ in 0..200 {
                match read_txn(&mut cl, k).await {
                    Ok(v) => {
                        f.borrow_mut().insert(k, v);
                        break;
                    }
                    Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
                }
            }
        }
        Ok(())
    });
    while !sim.step().map_err(|e| e.to_string())? {
        if finals.borrow().len() == keys.len() {
            break;
        }
        if sim.elapsed() > Duration::from_secs(3600) {
            return Err("final reads did not finish".into());
        }
    }
    let finals = finals.borrow();
    let mut acked = 0;
    for k in &keys {
        let got = match finals.get(k) {
            Some(Datum::Int(v)) => *v,
            Some(Datum::Nil) => 0,
            other => return Err(format!("key {k}: no final read ({other:?})")),
        };
        let ws: Vec<_> = writes
            .borrow()
            .iter()
            .filter(|w| w.1 == *k)
            .cloned()
            .collect();
        let last_ok = ws
            .iter()
            .filter(|w| w.3 == "ok")
            .map(|w| w.2)
            .max()
            .unwrap_or(0);
        acked += ws.iter().filter(|w| w.3 == "ok").count();
        if got < last_ok {
            return Err(format!(
                "key {k}: final value {got} but write {last_ok} was acknowledged (lost)"
            ));
        }
        if got != 0 && !ws.iter().any(|w| w.2 == got && w.3 != "fail") {
            return Err(format!(
                "key {k}: final value {got} was never written (or failed definitely)"
            ));
        }
    }
    let w = writes.borrow();
    eprintln!(
        "{name}: {} keys, {} writes: {acked} ok, {} fail, {} info",
        keys.len(),
        w.len(),
        w.iter().filter(|x| x.3 == "fail").count(),
        w.iter().filter(|x| x.3 == "info").count()
    );
    Ok(acked)
}
