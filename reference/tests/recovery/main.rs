//! Recovery, failover and fencing scenarios.
#[path = "../common/mod.rs"]
mod common;

use common::*;
use reference::*;
use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

fn cfg(seed: u64) -> ClusterConfig {
    ClusterConfig {
        seed,
        lal: 50,
        ..Default::default()
    }
}

#[test]
fn failover_after_writer_crash_loses_no_acked_commit() {
    let (mut sim, c) = sim_and_cluster(cfg(7));
    let w = spawn_writers(&mut sim, 3, 5, 8000);
    run_for(&mut sim, 1500);
    sim.crash("db-1");
    run_for(&mut sim, 4000);
    assert_eq!(
        c.current_writer().as_deref(),
        Some("db-2"),
        "tier-1 replica promoted"
    );
    sim.bounce("db-1");
    run_for(&mut sim, 3000);
    let acked = check_durable(&mut sim, &w, "checker").unwrap();
    assert!(acked > 50, "only {acked} acked");
    let after: usize = w.borrow().iter().filter(|x| x.3 == "ok").count();
    assert!(after > 0);
    assert!(
        c.invariant_violations().is_empty(),
        "{:?}",
        c.invariant_violations()
    );
    assert!(c
        .events()
        .iter()
        .any(|e| matches!(&e.kind, EventKind::Promoted { host, tier: 1, .. } if host == "db-2")));
}

#[test]
fn crash_the_writer_at_many_points() {
    for (i, at) in [37u64, 120, 333, 501, 777, 1001].iter().enumerate() {
        let mut c0 = cfg(100 + i as u64);
        c0.instances.truncate(1); // no replica: the writer is recreated in place
        let (mut sim, c) = sim_and_cluster(c0);
        let w = spawn_writers(&mut sim, 2, 3, 2500);
        run_for(&mut sim, 300 + at);
        sim.crash("db-1");
        run_for(&mut sim, 50);
        sim.bounce("db-1");
        run_for(&mut sim, 2500);
        check_durable(&mut sim, &w, "checker").unwrap_or_else(|e| panic!("crash at {at}: {e}"));
        assert!(recoveries(&c) >= 2);
        assert!(
            c.invariant_violations().is_empty(),
            "crash at {at}: {:?}",
            c.invariant_violations()
        );
    }
}

#[test]
fn recovery_survives_az_plus_one() {
    let (mut sim, c) = sim_and_cluster(cfg(11));
    let w = spawn_writers(&mut sim, 2, 4, 6000);
    run_for(&mut sim, 1000);
    // Lose AZ 0 (power loss: partition, then crash) and one more node.
    let lost = ["s-az0-0", "s-az0-1", "s-az1-0"];
    let everyone: Vec<String> = c
        .storage_hosts()
        .into_iter()
        .chain(c.instance_hosts())
        .chain(["control".to_string()])
        .collect();
    for l in lost {
        for h in &everyone {
            if h != l {
                sim.partition(l, h.as_str());
            }
        }
        sim.crash(l);
    }
    run_for(&mut sim, 1000);
    sim.crash("db-1"); // and the writer: recovery must work from 3 of 6
    run_for(&mut sim, 1500);
    for l in lost {
        for h in &everyone {
            sim.repair(l, h.as_str());
        }
        sim.bounce(l);
    }
    sim.bounce("db-1");
    run_for(&mut sim, 4000);
    check_durable(&mut sim, &w, "checker").unwrap();
    assert!(
        c.invariant_violations().is_empty(),
        "{:?}",
        c.invariant_violations()
    );
}

#[test]
fn paused_old_writer_is_fenced_after_failover() {
    for bug in [None, Some(Bug::NoEpochFencing)] {
        let mut c0 = cfg(21);
        if let Some(b) = bug {
            c0.bugs.insert(b);
        }
        let (mut sim, c) = sim_and_cluster(c0);
        let outcome: Rc<RefCell<Option<Result<(), ClientError>>>> = Rc::default();
        let o = outcome.clone();
        sim.client("zombie-client", async move {
            tokio::time::sleep(Duration::from_millis(500)).await;
            let mut cl = Client::connect(Endpoint::Instance("db-1".into())).await?;
            cl.begin(false).await.unwrap();
            cl.write(42, Datum::Int(999)).await.unwrap();
            tokio::time::sleep(Duration::from_millis(5000)).await; // db-1 is paused meanwhile
            *o.borrow_mut() = Some(cl.commit().await);
            Ok(())
        });
        run_for(&mut sim, 700);
        c.pause("db-1");
        run_for(&mut sim, 4000);
        assert_eq!(c.current_writer().as_deref(), Some("db-2"));
        run_for(&mut sim, 1000); // the commit is now queued at the paused db-1
        c.resume("db-1");
        run_for(&mut sim, 2000);
        let r = outcome.borrow().clone().expect("commit finished");
        let accepted = c
            .events()
            .iter()
            .any(|e| matches!(e.kind, EventKind::WriteAcceptedStaleEpoch { .. }));
        match bug {
            None => {
                assert!(r.is_err(), "zombie commit must not succeed");
                assert!(!accepted);
                assert!(c
                    .events()
                    .iter()
                    .any(|e| e.host == "db-1" && matches!(e.kind, EventKind::Fenced { .. })));
                run_for(&mut sim, 500);
                assert_eq!(
                    c.metrics().hosts["db-1"].role,
                    "replica",
                    "the old writer rejoins as a replica"
                );
                assert!(
                    c.invariant_violations().is_empty(),
                    "{:?}",
                    c.invariant_violations()
                );
            }
            Some(_) => {
                assert!(accepted, "bug must let a stale write in");
                assert!(!c.invariant_violations().is_empty());
            }
        }
    }
}
