//! Storage background work: scrub repair, gossip hole filling, crash/restart from disk,
//! and determinism of the whole event log.
#[path = "../common/mod.rs"]
mod common;

use common::*;
use reference::*;
use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

fn all_intact(c: &Cluster) -> bool {
    c.storage_hosts().iter().all(|h| {
        c.disk(h)
            .unwrap()
            .borrow()
            .segs
            .values()
            .all(|s| s.records.values().all(|r| r.is_intact()))
    })
}

/// Per PG, the set of LSNs each member segment holds.
fn lsn_sets(c: &Cluster) -> Vec<(u32, String, Vec<u64>)> {
    let mut v = vec![];
    for (pg, members) in c.pg_members() {
        for m in members {
            let d = c.disk(&m).unwrap();
            let lsns = d
                .borrow()
                .segs
                .get(&pg)
                .map(|s| s.records.keys().map(|l| l.0).collect())
                .unwrap_or_default();
            v.push((pg, m, lsns));
        }
    }
    v
}

#[test]
fn scrub_repairs_corrupted_records_from_a_peer() {
    let (mut sim, c) = sim_and_cluster(ClusterConfig {
        seed: 9,
        ..Default::default()
    });
    let w = spawn_writers(&mut sim, 2, 4, 1500);
    run_for(&mut sim, 1000);
    let mut corrupted = 0;
    for seed in 0..5 {
        corrupted += c.corrupt_record("s-az0-0", seed, false) as usize;
    }
    assert!(corrupted > 0 && !all_intact(&c));
    run_for(&mut sim, 2000);
    assert!(all_intact(&c), "scrub must repair every corrupt record");
    assert!(c
        .events()
        .iter()
        .any(|e| matches!(e.kind, EventKind::ScrubDetected { .. })));
    assert!(c
        .events()
        .iter()
        .any(|e| matches!(e.kind, EventKind::ScrubRepaired { .. })));
    check_durable(&mut sim, &w, "checker").unwrap();
}

#[test]
fn crashed_storage_node_restarts_from_disk_and_gossip_fills_its_holes() {
    let (mut sim, c) = sim_and_cluster(ClusterConfig {
        seed: 12,
        ..Default::default()
    });
    let w = spawn_writers(&mut sim, 2, 4, 3000);
    run_for(&mut sim, 800);
    sim.crash("s-az1-1");
    run_for(&mut sim, 1000);
    sim.bounce("s-az1-1");
    run_for(&mut sim, 3000);
    // Quiesced: every segment of a PG holds the same records.
    let sets = lsn_sets(&c);
    for (pg, m, l) in &sets {
        let first = &sets.iter().find(|s| s.0 == *pg).unwrap().2;
        assert_eq!(l, first, "PG {pg} segment {m} differs");
    }
    assert!(c
        .events()
        .iter()
        .any(|e| e.host == "s-az1-1" && matches!(e.kind, EventKind::HoleFilled { .. })));
    check_durable(&mut sim, &w, "checker").unwrap();
    assert!(c.invariant_violations().is_empty());
}

fn scenario_log(seed: u64) -> String {
    let (mut sim, c) = sim_and_cluster(ClusterConfig {
        seed,
        ..Default::default()
    });
    let _w = spawn_writers(&mut sim, 2, 3, 2500);
    run_for(&mut sim, 700);
    sim.crash("db-1");
    run_for(&mut sim, 2500);
    sim.bounce("db-1");
    run_for(&mut sim, 500);
    c.event_log_jsonl()
}

#[test]
fn same_seed_twice_gives_identical_event_log() {
    let a = scenario_log(77);
    let b = scenario_log(77);
    assert!(a.len() > 10_000, "log too short: {}", a.len());
    assert!(a == b, "event logs differ");
}

#[test]
fn replace_failed_segment_through_dual_quorum() {
    let (mut sim, c) = sim_and_cluster(ClusterConfig {
        seed: 14,
        spare_nodes_per_az: 1,
        ..Default::default()
    });
    let w = spawn_writers(&mut sim, 2, 4, 4000);
    run_for(&mut sim, 800);
    sim.crash("s-az0-0");
    assert!(!c.replace_segment("db-1"));
    assert!(c.replace_segment("s-az0-0"));
    run_for(&mut sim, 4000);
    let stages: Vec<String> = c
        .events()
        .iter()
        .filter_map(|e| {
            if let EventKind::MembershipChanged { stage, .. } = &e.kind {
                Some(stage.clone())
            } else {
                None
            }
        })
        .collect();
    assert!(stages.iter().any(|s| s.starts_with("dual")), "{stages:?}");
    assert_eq!(
        stages.iter().filter(|s| s.starts_with("fenced")).count(),
        2,
        "{stages:?}"
    );
    // The writer learned of each change from a segment refusing its stale membership
    // epoch, and refreshed its view (dual stage, then commit).
    let refreshed: std::collections::BTreeSet<u32> = c
        .events()
        .iter()
        .filter(|e| e.host == "db-1")
        .filter_map(|e| match e.kind {
            EventKind::MembershipRefreshed { pg, .. } => Some(pg),
            _ => None,
        })
        .collect();
    let refused = c
        .events()
        .iter()
        .filter(|e| matches!(e.kind, EventKind::StaleMembershipRejected { .. }))
        .count();
    assert_eq!(refreshed.len(), 2, "writer refreshed PGs {refreshed:?}");
    assert!(refused >= 1, "no stale membership refused");
    assert_eq!(
        stages.iter().filter(|s| s.starts_with("committed")).count(),
        2,
        "{stages:?}"
    );
    for (pg, members) in c.pg_members() {
        assert!(
            !members.contains(&"s-az0-0".to_string()),
            "PG {pg}: {members:?}"
        );
        assert!(
            members.contains(&"s-az0-2".to_string()),
            "PG {pg}: {members:?}"
        );
    }
    run_for(&mut sim, 1000);
    let sets = lsn_sets(&c);
    for (pg, m, l) in &sets {
        let first = &sets.iter().find(|s| s.0 == *pg).unwrap().2;
        assert_eq!(l, first, "PG {pg} segment {m} differs");
    }
    check_durable(&mut sim, &w, "checker").unwrap();
    assert!(c.invariant_violations().is_empty());
}

#[test]
fn gc_coalesces_old_versions_and_reads_stay_correct() {
    let (mut sim, c) = sim_and_cluster(ClusterConfig {
        seed: 15,
        gc_retain_lsns: 100,
        ..Default::default()
    });
    let w = spawn_writers(&mut sim, 3, 8, 4000); // 8 keys per client: pages in both PGs
    run_for(&mut sim, 5000);
    let writes = w.borrow().iter().filter(|x| x.3 == "ok").count();
    for h in c.storage_hosts() {
        let d = c.disk(&h).unwrap();
        let d = d.borrow();
        for (pg, s) in &d.segs {
            assert!(s.gc_horizon.0 > 0, "{h} PG {pg} never collected");
            assert!(
                s.records.len() < writes / 2,
                "{h} PG {pg} keeps {} of {writes} records",
                s.records.len()
            );
        }
    }
    // A restarted node rebuilds its chain from the GC base.
    sim.crash("s-az2-1");
    sim.bounce("s-az2-1");
    check_durable(&mut sim, &w, "checker").unwrap();
    assert!(c.invariant_violations().is_empty());
}

/// GC collects only below the minimum read point (PGMRPL): a replica snapshot held
/// open for seconds keeps reading its versions from storage while writers overwrite
/// them hundreds of times with a retention window of only 10 LSNs.
#[test]
fn gc_never_collects_what_an_open_replica_snapshot_reads() {
    let (mut sim, c) = sim_and_cluster(ClusterConfig {
        seed: 16,
        gc_retain_lsns: 10,
        ..Default::default()
    });
    let w = spawn_writers(&mut sim, 3, 4, 6000);
    let seen: Rc<RefCell<Vec<Result<Vec<Datum>, String>>>> = Rc::default();
    let s2 = seen.clone();
    sim.client("long-reader", async move {
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let mut cl = Client::connect(Endpoint::Instance("db-2".into())).await?;
        cl.begin(true).await?;
        for _ in 0..5 {
            let mut vals = vec![];
            for k in 0..4 {
                match cl.read(k).await {
                    Ok(v) => vals.push(v),
                    Err(e) => {
                        s2.borrow_mut().push(Err(format!("{e:?}")));
                        return Ok(());
                    }
                }
            }
            s2.borrow_mut().push(Ok(vals));
            tokio::time::sleep(Duration::from_millis(900)).await;
        }
        cl.commit().await?;
        Ok(())
    });
    run_for(&mut sim, 7000);
    let seen = seen.borrow();
    assert_eq!(seen.len(), 5, "snapshot reads: {seen:?}");
    let first = seen[0].clone().expect("first snapshot read");
    assert!(first.iter().any(|v| *v != Datum::Nil), "{first:?}");
    for r in seen.iter() {
        assert_eq!(r.as_ref().unwrap(), &first, "the snapshot changed");
    }
    let writes = w
        .borrow()
        .iter()
        .filter(|x| x.0 == 0 && x.3 == "ok")
        .count();
    assert!(
        writes > 200,
        "only {writes} overwrites of the snapshot's keys"
    );
    // GC ran all along, and caught up once the snapshot closed.
    for h in c.storage_hosts() {
        let d = c.disk(&h).unwrap();
        let d = d.borrow();
        let s = &d.segs[&0];
        assert!(s.min_read_point.0 > 0, "{h}: no read point received");
        assert!(s.gc_horizon.0 > 0, "{h}: never collected");
    }
    assert!(c.invariant_violations().is_empty());
}
