//! Read replicas: snapshot reads never see part of a transaction, stay monotonic, lag little.
#[path = "../common/mod.rs"]
mod common;

use common::*;
use reference::*;
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;
use std::time::Duration;

/// Bank of two accounts on different PGs (keys 0 and 4): transfers on the writer,
/// whole-snapshot reads on the reader endpoint. Returns (reads, bad reads, non-monotonic).
fn bank(seed: u64, bugs: &[Bug]) -> (usize, usize, usize, Cluster) {
    let mut cfg = ClusterConfig {
        seed,
        ..Default::default()
    };
    cfg.bugs.extend(bugs.iter().copied());
    let (mut sim, c) = sim_and_cluster(cfg);
    wait_open(&mut sim, &c, 3000);
    sim.client("writer-client", async move {
        let mut cl = Client::connect(Endpoint::Cluster).await?;
        loop {
            cl.begin(false).await.map_err(|e| e.to_string())?;
            cl.write(0, Datum::Int(100))
                .await
                .map_err(|e| e.to_string())?;
            cl.write(4, Datum::Int(0))
                .await
                .map_err(|e| e.to_string())?;
            if cl.commit().await.is_ok() {
                break;
            }
        }
        while turmoil::sim_elapsed().unwrap() < Duration::from_secs(4) {
            let r: Result<(), ClientError> = async {
                cl.begin(false).await?;
                let a = cl.read(0).await?;
                let b = cl.read(4).await?;
                let (Datum::Int(a), Datum::Int(b)) = (a, b) else {
                    unreachable!()
                };
                cl.write(0, Datum::Int(a - 1)).await?;
                cl.write(4, Datum::Int(b + 1)).await?;
                cl.commit().await
            }
            .await;
            let _ = r;
        }
        Ok(())
    });
    let stats = Rc::new(RefCell::new((0usize, 0usize, 0usize)));
    for i in 0..2 {
        let st = stats.clone();
        sim.client(format!("reader-{i}"), async move {
            tokio::time::sleep(Duration::from_millis(500)).await;
            let mut cl = Client::connect(Endpoint::Reader).await?;
            let mut last: BTreeMap<String, i64> = BTreeMap::new();
            while turmoil::sim_elapsed().unwrap() < Duration::from_secs(4) {
                if cl.begin(true).await.is_err() {
                    continue;
                }
                let target = cl.txn_target().unwrap().to_string();
                assert_ne!(target, "db-1", "reader endpoint must pick a replica");
                let (Ok(a), Ok(b)) = (cl.read(0).await, cl.read(4).await) else {
                    continue;
                };
                // Under OCC (on the writer) reads count only once the commit validates them.
                if cl.commit().await.is_err() {
                    continue;
                }
                let mut s = st.borrow_mut();
                s.0 += 1;
                match (a, b) {
                    (Datum::Nil, Datum::Nil) => {}
                    (Datum::Int(a), Datum::Int(b)) => {
                        if a + b != 100 {
                            s.1 += 1;
                        }
                        let prev = last.entry(target).or_insert(b);
                        if b < *prev {
                            s.2 += 1;
                        }
                        *prev = b;
                    }
                    _ => s.1 += 1,
                }
            }
            Ok(())
        });
    }
    sim.run().unwrap();
    let s = *stats.borrow();
    (s.0, s.1, s.2, c)
}

#[test]
fn replica_never_sees_a_partial_transaction() {
    let (reads, bad, nonmono, c) = bank(5, &[]);
    assert!(reads > 200, "only {reads} replica reads");
    assert_eq!(bad, 0);
    assert_eq!(nonmono, 0);
    assert!(
        c.invariant_violations().is_empty(),
        "{:?}",
        c.invariant_violations()
    );
    let m = c.metrics();
    for r in ["db-2", "db-3"] {
        let lag = m.hosts[r].replica_lag_ms_max;
        assert!(lag <= 20, "{r} lag {lag} ms");
        eprintln!(
            "{r}: lag max {lag} ms, hit ratio {:.2}",
            m.hosts[r].buffer_cache_hit_ratio()
        );
    }
    assert!(c
        .events()
        .iter()
        .any(|e| matches!(e.kind, EventKind::ReplicaApplied { .. })));
}

#[test]
fn replica_partial_mtr_bug_is_visible() {
    let (reads, bad, _, c) = bank(5, &[Bug::ReplicaPartialMtr]);
    eprintln!(
        "reads {reads} bad {bad} applied {}",
        c.events()
            .iter()
            .filter(|e| matches!(e.kind, EventKind::ReplicaApplied { .. }))
            .count()
    );
    assert!(reads > 100);
    assert!(bad > 0, "the bug should expose partial transactions");
}

#[test]
fn write_to_replica_is_refused_definitely() {
    let (mut sim, c) = sim_and_cluster(ClusterConfig {
        seed: 3,
        ..Default::default()
    });
    wait_open(&mut sim, &c, 3000);
    run_for(&mut sim, 300);
    let res: Rc<RefCell<Option<ClientError>>> = Rc::default();
    let r2 = res.clone();
    sim.client("c", async move {
        let mut cl = Client::connect(Endpoint::Instance("db-2".into())).await?;
        cl.begin(false).await.unwrap();
        *r2.borrow_mut() = cl.write(1, Datum::Int(1)).await.err();
        Ok(())
    });
    sim.run().unwrap();
    let e = res.borrow().clone().expect("refused");
    assert_eq!(e, ClientError::ReadOnly);
    assert!(!e.is_indeterminate());
}
