//! End-to-end: writer + 6 storage nodes + replicas + control plane in turmoil.
#[path = "../common/mod.rs"]
mod common;

use common::*;
use reference::*;
use std::cell::RefCell;
use std::rc::Rc;

#[test]
fn commit_then_read_through_cluster_endpoint() {
    let (mut sim, c) = sim_and_cluster(ClusterConfig {
        seed: 1,
        ..Default::default()
    });
    assert!(wait_open(&mut sim, &c, 3000), "writer never opened");
    let log: Log = Rc::new(RefCell::new(vec![]));
    let l = log.clone();
    sim.client("client", async move {
        let mut cl = Client::connect(Endpoint::Cluster).await?;
        for k in 0..10u64 {
            write_txn(&mut cl, k, k as i64 * 10)
                .await
                .map_err(|e| e.to_string())?;
        }
        cl.begin(false).await.unwrap();
        cl.append(100, 1).await.unwrap();
        cl.append(100, 2).await.unwrap();
        cl.commit().await.unwrap();
        cl.begin(false).await.unwrap();
        assert!(cl.cas(3, Datum::Int(30), Datum::Int(31)).await.unwrap());
        assert!(!cl.cas(4, Datum::Int(0), Datum::Int(1)).await.unwrap());
        cl.commit().await.unwrap();
        for k in 0..10u64 {
            cl.begin(true).await.unwrap();
            let v = cl.read(k).await.unwrap();
            cl.commit().await.unwrap();
            l.borrow_mut().push(format!("{k}={v:?}"));
        }
        let v = read_txn(&mut cl, 100).await.unwrap();
        l.borrow_mut().push(format!("100={v:?}"));
        Ok(())
    });
    sim.run().unwrap();
    let got = log.borrow().clone();
    assert_eq!(got[3], "3=Int(31)");
    assert_eq!(got[4], "4=Int(40)");
    assert_eq!(got[10], "100=List([1, 2])");
    assert!(
        c.invariant_violations().is_empty(),
        "{:?}",
        c.invariant_violations()
    );
    let m = c.metrics();
    assert!(m.hosts["db-1"].commits >= 12, "{:?}", m.hosts["db-1"]);
}

/// Concurrent transfers among 4 accounts (on both PGs) and whole-bank reads, all on
/// the writer, under each isolation level: every committed read sees total 400.
fn bank_on_writer(isolation: Isolation) -> (usize, usize, usize) {
    let cfg = ClusterConfig {
        seed: 8,
        isolation,
        ..Default::default()
    };
    let (mut sim, c) = sim_and_cluster(cfg);
    wait_open(&mut sim, &c, 3000);
    let accts = [0u64, 4, 9, 13];
    sim.client("init", async move {
        let mut cl = Client::connect(Endpoint::Cluster).await?;
        cl.begin(false).await.unwrap();
        for a in accts {
            cl.write(a, Datum::Int(100)).await.unwrap();
        }
        cl.commit().await.unwrap();
        Ok(())
    });
    run_for(&mut sim, 200);
    let stats = Rc::new(RefCell::new((0usize, 0usize, 0usize)));
    for i in 0..4u64 {
        let st = stats.clone();
        sim.client(format!("xfer-{i}"), async move {
            let mut cl = Client::connect(Endpoint::Cluster).await?;
            for j in 0..150u64 {
                let (a, b) = (
                    accts[((i + j) % 4) as usize],
                    accts[((i + 3 * j + 1) % 4) as usize],
                );
                if a == b {
                    continue;
                }
                let r: Result<(), ClientError> = async {
                    cl.begin(false).await?;
                    let (Datum::Int(x), Datum::Int(y)) = (cl.read(a).await?, cl.read(b).await?)
                    else {
                        unreachable!()
                    };
                    cl.write(a, Datum::Int(x - 3)).await?;
                    cl.write(b, Datum::Int(y + 3)).await?;
                    cl.commit().await
                }
                .await;
                if r.is_ok() {
                    st.borrow_mut().2 += 1;
                }
            }
            Ok(())
        });
    }
    let st = stats.clone();
    sim.client("auditor", async move {
        let mut cl = Client::connect(Endpoint::Cluster).await?;
        for _ in 0..200 {
            if cl.begin(true).await.is_err() {
                continue;
            }
            let mut sum = 0;
            let mut ok = true;
            for a in accts {
                match cl.read(a).await {
                    Ok(Datum::Int(v)) => sum += v,
                    _ => ok = false,
                }
            }
            if ok && cl.commit().await.is_ok() {
                let mut s = st.borrow_mut();
                s.0 += 1;
                if sum != 400 {
                    s.1 += 1;
                }
            }
        }
        Ok(())
    });
    sim.run().unwrap();
    assert!(c.invariant_violations().is_empty());
    let s = *stats.borrow();
    s
}

#[test]
fn bank_total_holds_under_serializable_and_snapshot_isolation() {
    for iso in [Isolation::Serializable, Isolation::Snapshot] {
        let (reads, bad, transfers) = bank_on_writer(iso);
        eprintln!("{iso:?}: {reads} audits, {bad} bad, {transfers} transfers");
        assert!(
            reads > 50 && transfers > 100,
            "{iso:?}: {reads} audits, {transfers} transfers"
        );
        assert_eq!(bad, 0, "{iso:?}");
    }
}

#[test]
fn small_lal_and_tiny_cache_still_serve_correct_reads() {
    let cfg = ClusterConfig {
        seed: 10,
        lal: 3,
        cache_pages: 2,
        ..Default::default()
    };
    let (mut sim, c) = sim_and_cluster(cfg);
    let allocated = Rc::new(RefCell::new(0usize));
    let a2 = allocated.clone();
    c.subscribe(Box::new(move |e: &Event| {
        if let EventKind::LsnAllocated { lsn, vdl, lal } = e.kind {
            assert!(lsn.0 <= vdl.0 + lal);
            *a2.borrow_mut() += 1;
        }
    }));
    // 4 writers over 32 keys (8 pages) with a 2-page cache and LAL 3.
    let w = spawn_writers(&mut sim, 4, 8, 3000);
    run_for(&mut sim, 3500);
    check_durable(&mut sim, &w, "checker").unwrap();
    assert!(*allocated.borrow() > 200, "{}", allocated.borrow());
    let m = &c.metrics().hosts["db-1"];
    assert!(
        m.cache_misses > 10,
        "evictions force page reads from storage: {m:?}"
    );
    assert!(
        c.invariant_violations().is_empty(),
        "{:?}",
        c.invariant_violations()
    );
}
