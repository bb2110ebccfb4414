//! Each switchable bug breaks exactly its mechanism, and a scenario exposes it.
#[path = "../common/mod.rs"]
mod common;

use common::*;
use reference::*;
use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

#[test]
fn bug_names_round_trip() {
    for b in Bug::all() {
        assert_eq!(Bug::from_name(b.name()), Some(b));
        assert!(!b.description().is_empty());
    }
    assert_eq!(Bug::from_name("nope"), None);
}

/// The writer reaches only AZ 0's two storage nodes; it then crashes and AZ 0 is lost
/// for good (2 segments per PG: within the fault model). AZ 0 is cut off from the
/// other AZs too, so gossip cannot carry the records out. Returns (commit outcome,
/// what another client read for the key, final value after recovery).
fn isolated_writer(
    bugs: &[Bug],
) -> (
    Option<Result<(), ClientError>>,
    Option<Datum>,
    Datum,
    Cluster,
) {
    let mut cfg = ClusterConfig {
        seed: 31,
        ..Default::default()
    };
    cfg.instances.truncate(1);
    cfg.bugs.extend(bugs.iter().copied());
    let (mut sim, c) = sim_and_cluster(cfg);
    wait_open(&mut sim, &c, 3000);
    let far: Vec<String> = c
        .storage_hosts()
        .into_iter()
        .filter(|h| c.az_of(h) != Some(0))
        .collect();
    let near: Vec<String> = c
        .storage_hosts()
        .into_iter()
        .filter(|h| c.az_of(h) == Some(0))
        .collect();
    for h in &far {
        sim.partition("db-1", h.as_str());
        for n in &near {
            sim.partition(n.as_str(), h.as_str());
        }
    }
    let commit: Rc<RefCell<Option<Result<(), ClientError>>>> = Rc::default();
    let seen: Rc<RefCell<Option<Datum>>> = Rc::default();
    let (c1, s1) = (commit.clone(), seen.clone());
    sim.client("w", async move {
        let mut cl = Client::connect(Endpoint::Cluster).await?;
        *c1.borrow_mut() = Some(write_txn(&mut cl, 7, 999).await);
        Ok(())
    });
    sim.client("r", async move {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let mut cl = Client::connect(Endpoint::Cluster).await?;
        // Record what the read returned, whether or not the commit then completes.
        if cl.begin(true).await.is_ok() {
            if let Ok(v) = cl.read(7).await {
                *s1.borrow_mut() = Some(v);
            }
        }
        Ok(())
    });
    run_for(&mut sim, 1500);
    // Lose AZ 0 and crash the writer; heal the writer's partition and restart it.
    for h in c
        .storage_hosts()
        .into_iter()
        .filter(|h| c.az_of(h) == Some(0))
    {
        sim.crash(h.as_str());
    }
    sim.crash("db-1");
    for h in &far {
        sim.repair("db-1", h.as_str());
    }
    sim.bounce("db-1");
    run_for(&mut sim, 2000);
    let fin: Rc<RefCell<Datum>> = Rc::default();
    let f = fin.clone();
    sim.client("final", async move {
        let mut cl = Client::connect(Endpoint::Cluster).await?;
        loop {
            if let Ok(v) = read_txn(&mut cl, 7).await {
                *f.borrow_mut() = v;
                return Ok(());
            }
        }
    });
    sim.run().unwrap();
    let (a, b, d) = (
        commit.borrow().clone(),
        seen.borrow().clone(),
        fin.borrow().clone(),
    );
    (a, b, d, c)
}

#[test]
fn correct_writer_neither_acks_nor_shows_a_non_durable_write() {
    let (commit, seen, fin, c) = isolated_writer(&[]);
    let commit = commit.expect("commit finished");
    assert!(
        commit.as_ref().unwrap_err().is_indeterminate(),
        "{commit:?}"
    );
    assert_ne!(seen, Some(Datum::Int(999)));
    assert_eq!(fin, Datum::Nil);
    assert!(
        c.invariant_violations().is_empty(),
        "{:?}",
        c.invariant_violations()
    );
}

#[test]
fn ack_before_quorum_loses_an_acknowledged_commit() {
    let (commit, _, fin, c) = isolated_writer(&[Bug::AckBeforeQuorum]);
    assert_eq!(commit, Some(Ok(())), "bug acks with 2 of 6");
    assert_eq!(fin, Datum::Nil, "and the acked write is lost");
    assert!(
        c.invariant_violations()
            .iter()
            .any(|v| v.contains("below acknowledged commit")),
        "{:?}",
        c.invariant_violations()
    );
}

#[test]
fn read_above_vdl_shows_a_write_that_is_then_lost() {
    let (_, seen, fin, _) = isolated_writer(&[Bug::ReadAboveVdl]);
    assert_eq!(
        seen,
        Some(Datum::Int(999)),
        "bug serves the non-durable value"
    );
    assert_eq!(fin, Datum::Nil);
}
