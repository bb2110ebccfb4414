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
            let r = write_txn(&mut cl, k, k as i64 * 10).await;
            eprintln!("write {k} {r:?} at {:?}", turmoil::sim_elapsed());
            r.map_err(|e| e.to_string())?;
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
            eprintln!("read {k} {v:?} at {:?}", turmoil::sim_elapsed());
            cl.commit().await.unwrap();
            l.borrow_mut().push(format!("{k}={v:?}"));
        }
        let v = read_txn(&mut cl, 100).await.unwrap();
        l.borrow_mut().push(format!("100={v:?}"));
        Ok(())
    });
    let r = sim.run();
    for e in c.events().iter().take(60) {
        eprintln!("{e:?}");
    }
    r.unwrap();
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
