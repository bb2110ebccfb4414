//! Control plane: failover choice, health checks, forced failover, endpoints and DNS TTL.
#[path = "../common/mod.rs"]
mod common;

use common::*;
use reference::*;
use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

fn role(c: &Cluster, h: &str) -> String {
    c.metrics()
        .hosts
        .get(h)
        .map(|m| m.role.clone())
        .unwrap_or_default()
}

#[test]
fn failover_prefers_lowest_tier_then_larger_size() {
    let mut cfg = ClusterConfig {
        seed: 41,
        ..Default::default()
    };
    cfg.instances = vec![
        InstanceSpec {
            name: "db-1".into(),
            tier: 0,
            size: 4,
        },
        InstanceSpec {
            name: "db-2".into(),
            tier: 1,
            size: 2,
        },
        InstanceSpec {
            name: "db-3".into(),
            tier: 1,
            size: 8,
        },
        InstanceSpec {
            name: "db-4".into(),
            tier: 3,
            size: 64,
        },
    ];
    let (mut sim, c) = sim_and_cluster(cfg);
    let w = spawn_writers(&mut sim, 2, 4, 6000);
    run_for(&mut sim, 1000);
    sim.crash("db-1");
    run_for(&mut sim, 4000);
    assert_eq!(c.current_writer().as_deref(), Some("db-3"));
    sim.bounce("db-1");
    run_for(&mut sim, 2000);
    assert_eq!(role(&c, "db-1"), "replica");
    check_durable(&mut sim, &w, "checker").unwrap();
    assert!(
        c.invariant_violations().is_empty(),
        "{:?}",
        c.invariant_violations()
    );
}

#[test]
fn writer_cut_off_from_storage_fails_the_health_check() {
    let (mut sim, c) = sim_and_cluster(ClusterConfig {
        seed: 42,
        ..Default::default()
    });
    let w = spawn_writers(&mut sim, 2, 4, 12_000);
    run_for(&mut sim, 1000);
    for s in c.storage_hosts() {
        sim.partition("db-1", s.as_str());
    }
    run_for(&mut sim, 7000);
    assert_eq!(c.current_writer().as_deref(), Some("db-2"));
    for s in c.storage_hosts() {
        sim.repair("db-1", s.as_str());
    }
    run_for(&mut sim, 2000);
    assert_eq!(role(&c, "db-1"), "replica");
    let ok_late = w.borrow().iter().filter(|x| x.3 == "ok").count();
    assert!(ok_late > 0);
    run_for(&mut sim, 2000); // let the writers finish before the final reads
    check_durable(&mut sim, &w, "checker").unwrap();
    assert!(
        c.invariant_violations().is_empty(),
        "{:?}",
        c.invariant_violations()
    );
}

#[test]
fn forced_failover_and_stale_dns_target() {
    let (mut sim, c) = sim_and_cluster(ClusterConfig {
        seed: 43,
        ..Default::default()
    });
    wait_open(&mut sim, &c, 3000);
    run_for(&mut sim, 300);
    let errs: Rc<RefCell<Vec<String>>> = Rc::default();
    let e2 = errs.clone();
    sim.client("c", async move {
        let mut cl = Client::connect(Endpoint::Cluster).await?;
        write_txn(&mut cl, 1, 1).await.unwrap(); // resolves db-1 and caches it for 5 s
        tokio::time::sleep(Duration::from_millis(1000)).await; // failover happens here
                                                               // The cached target is stale: db-1 is a replica now and refuses the write.
        let r = write_txn(&mut cl, 1, 2).await;
        e2.borrow_mut().push(format!("{r:?}"));
        // The client re-resolved after the definite error; this one reaches db-2.
        for _ in 0..20 {
            if write_txn(&mut cl, 1, 3).await.is_ok() {
                e2.borrow_mut().push("ok".into());
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Ok(())
    });
    run_for(&mut sim, 200);
    c.request_failover();
    sim.run().unwrap();
    assert_eq!(c.current_writer().as_deref(), Some("db-2"));
    let errs = errs.borrow();
    assert!(
        errs[0].contains("ReadOnly")
            || errs[0].contains("NotWriter")
            || errs[0].contains("Unavailable"),
        "{errs:?}"
    );
    assert_eq!(errs.last().map(|s| s.as_str()), Some("ok"), "{errs:?}");
    assert!(c
        .events()
        .iter()
        .any(|e| matches!(e.kind, EventKind::Promoted { .. })));
}

#[test]
fn endpoints_resolve_reader_instance_and_custom() {
    let mut cfg = ClusterConfig {
        seed: 44,
        ..Default::default()
    };
    cfg.custom_endpoints.insert(
        "analytics".into(),
        reference::endpoints::CustomEndpoint::any(["db-3"]),
    );
    let (mut sim, c) = sim_and_cluster(cfg);
    wait_open(&mut sim, &c, 3000);
    run_for(&mut sim, 500);
    let got: Rc<RefCell<Vec<String>>> = Rc::default();
    let g = got.clone();
    sim.client("c", async move {
        for ep in [
            Endpoint::Reader,
            Endpoint::Reader,
            Endpoint::Custom("analytics".into()),
            Endpoint::Instance("db-2".into()),
            Endpoint::Cluster,
        ] {
            let mut cl = Client::connect(ep).await?;
            let t = cl.target().await.unwrap();
            g.borrow_mut().push(t);
        }
        Ok(())
    });
    sim.run().unwrap();
    let got = got.borrow();
    assert!(
        got[0] != "db-1" && got[1] != "db-1" && got[0] != got[1],
        "reader round-robins replicas: {got:?}"
    );
    assert_eq!(&got[2..], &["db-3", "db-2", "db-1"]);
    // With every replica gone the reader endpoint falls back to the writer.
    sim.crash("db-2");
    sim.crash("db-3");
    run_for(&mut sim, 3000);
    let g2: Rc<RefCell<Option<String>>> = Rc::default();
    let g3 = g2.clone();
    sim.client("c2", async move {
        let mut cl = Client::connect(Endpoint::Reader).await?;
        *g3.borrow_mut() = cl.target().await.ok();
        Ok(())
    });
    sim.run().unwrap();
    assert_eq!(g2.borrow().as_deref(), Some("db-1"));
}

#[test]
fn control_plane_restart_causes_no_failover() {
    let (mut sim, c) = sim_and_cluster(ClusterConfig {
        seed: 45,
        ..Default::default()
    });
    let w = spawn_writers(&mut sim, 2, 4, 5000);
    run_for(&mut sim, 1000);
    sim.crash("control");
    run_for(&mut sim, 500);
    sim.bounce("control");
    run_for(&mut sim, 4500);
    assert!(!c
        .events()
        .iter()
        .any(|e| matches!(e.kind, EventKind::Promoted { .. })));
    assert_eq!(c.current_writer().as_deref(), Some("db-1"));
    check_durable(&mut sim, &w, "checker").unwrap();
    assert!(c.invariant_violations().is_empty());
}
