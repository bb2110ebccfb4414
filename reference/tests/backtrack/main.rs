//! Backtrack end to end over the simulated network: rewind a live cluster, move
//! forward again inside the window, and refuse targets outside it.

#[path = "../common/mod.rs"]
mod common;

use common::*;
use reference::*;
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;
use std::time::Duration;

/// (key, element, invoked ms, completed ms, acknowledged)
type Appends = Rc<RefCell<Vec<(u64, i64, u64, u64, bool)>>>;

fn now() -> u64 {
    turmoil::sim_elapsed().unwrap().as_millis() as u64
}

fn spawn_appender(sim: &mut turmoil::Sim<'_>, until_ms: u64) -> Appends {
    let log: Appends = Rc::default();
    let l = log.clone();
    sim.client("appender", async move {
        let mut cl = Client::connect(Endpoint::Cluster).await?;
        let mut seq = 0i64;
        while now() < until_ms {
            seq += 1;
            let (k1, k2) = (seq as u64 % 8, (seq as u64 + 3) % 8);
            let t0 = now();
            let r = async {
                cl.begin(false).await?;
                cl.append(k1, seq).await?;
                cl.append(k2, seq).await?;
                cl.commit().await
            }
            .await;
            let t1 = now();
            l.borrow_mut().push((k1, seq, t0, t1, r.is_ok()));
            l.borrow_mut().push((k2, seq, t0, t1, r.is_ok()));
            if r.is_err() {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
        Ok(())
    });
    log
}

type Snapshots = Rc<RefCell<Vec<(BacktrackDone, BTreeMap<u64, Vec<i64>>)>>>;
use reference::volume::BacktrackDone;

async fn read_all(cl: &mut Client) -> Result<BTreeMap<u64, Vec<i64>>, ClientError> {
    loop {
        let r = async {
            cl.begin(false).await?;
            let mut m = BTreeMap::new();
            for k in 0..8 {
                if let Datum::List(v) = cl.read(k).await? {
                    m.insert(k, v);
                }
            }
            cl.commit().await?;
            Ok::<_, ClientError>(m)
        }
        .await;
        match r {
            Ok(m) => return Ok(m),
            Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
}

/// Every element acknowledged by `t` is in the state, none invoked after `t` is.
fn check_state(appends: &Appends, t: u64, state: &BTreeMap<u64, Vec<i64>>) -> Result<(), String> {
    for &(k, e, t0, t1, ok) in appends.borrow().iter() {
        let has = state.get(&k).is_some_and(|v| v.contains(&e));
        if ok && t1 <= t && !has {
            return Err(format!(
                "element {e} of key {k} acknowledged at {t1} ms is missing at T′={t}"
            ));
        }
        if t0 > t && has && t0 < 1_000_000 {
            // Only elements from the same era can be compared by time.
            return Err(format!(
                "element {e} of key {k} invoked at {t0} ms is visible at T′={t}"
            ));
        }
    }
    Ok(())
}

/// One run: appends for 5.9 s, a backtrack to 1.5 s at 6 s, then forward to 2.5 s.
fn scenario(bugs: &[Bug]) -> Result<(), String> {
    let cfg = ClusterConfig {
        seed: 7,
        backtrack_window_ms: 3_600_000,
        // Collect aggressively, so a GC that ignores the window shows.
        gc_retain_lsns: 0,
        bugs: bugs.iter().copied().collect(),
        ..Default::default()
    };
    let (mut sim, _c) = sim_and_cluster(cfg);
    let appends = spawn_appender(&mut sim, 5_900);
    let snaps: Snapshots = Rc::default();
    let s = snaps.clone();
    sim.client("admin", async move {
        let mut cl = Client::connect(Endpoint::Cluster).await?;
        tokio::time::sleep(Duration::from_millis(6_000)).await;
        let before = read_all(&mut cl).await?;
        let d = cl
            .backtrack(1 << 40, 1_500, 30_000)
            .await
            .expect("backtrack 1");
        let after = read_all(&mut cl).await?;
        s.borrow_mut().push((d.clone(), before.clone()));
        s.borrow_mut().push((d, after));
        // Forward again, into the first era.
        let d2 = cl
            .backtrack((1 << 40) + 1, 2_500, 30_000)
            .await
            .expect("backtrack 2");
        let fwd = read_all(&mut cl).await?;
        s.borrow_mut().push((d2, fwd));
        // Out of the window: in the future.
        let e = cl.backtrack((1 << 40) + 2, now() + 10_000, 5_000).await;
        assert!(matches!(e, Err(BacktrackError::Rejected(_))), "{e:?}");
        Ok(())
    });
    while !sim.step().unwrap() {}
    let snaps = snaps.borrow();
    assert_eq!(snaps.len(), 3);
    let (d1, after1) = (&snaps[1].0, &snaps[1].1);
    nearest(&appends, d1)?;
    check_state(&appends, d1.to_prime_ms, after1)?;
    atomic(&appends, after1)?;
    if snaps[0].1 == *after1 {
        return Err("the rewind changed nothing".into());
    }
    let (d2, fwd) = (&snaps[2].0, &snaps[2].1);
    nearest(&appends, d2)?;
    check_state(&appends, d2.to_prime_ms, fwd)?;
    atomic(&appends, fwd)?;
    // Forward restored elements the first rewind had deactivated.
    let n1: usize = after1.values().map(|v| v.len()).sum();
    let n2: usize = fwd.values().map(|v| v.len()).sum();
    if n2 <= n1 {
        return Err(format!("forward restored nothing: {n1} -> {n2}"));
    }
    Ok(())
}

/// `T′ ≤ T`, and no transaction was both invoked after `T′` and acknowledged by `T`
/// (it would have committed between them: `T′` would not be the nearest point).
fn nearest(appends: &Appends, d: &BacktrackDone) -> Result<(), String> {
    if d.to_prime_ms > d.to_ms {
        return Err(format!("T′ {} ms after T {} ms", d.to_prime_ms, d.to_ms));
    }
    match appends
        .borrow()
        .iter()
        .find(|a| a.4 && a.2 > d.to_prime_ms && a.3 <= d.to_ms)
    {
        Some(a) => Err(format!(
            "T′={} ms is not the nearest point to T={} ms: element {} committed in between ({}-{} ms)",
            d.to_prime_ms, d.to_ms, a.1, a.2, a.3
        )),
        None => Ok(()),
    }
}

/// Both appends of a transaction are visible, or neither.
fn atomic(appends: &Appends, state: &BTreeMap<u64, Vec<i64>>) -> Result<(), String> {
    let mut seen: BTreeMap<i64, Vec<bool>> = BTreeMap::new();
    for &(k, e, ..) in appends.borrow().iter() {
        seen.entry(e)
            .or_default()
            .push(state.get(&k).is_some_and(|v| v.contains(&e)));
    }
    match seen
        .iter()
        .find(|(_, v)| v.iter().any(|x| *x) && v.iter().any(|x| !*x))
    {
        Some((e, _)) => Err(format!("transaction {e} is partly visible")),
        None => Ok(()),
    }
}

#[test]
fn backtrack_rewinds_and_moves_forward_again() {
    scenario(&[]).unwrap();
}

#[test]
fn every_backtrack_bug_fails_the_scenario() {
    for bug in [
        Bug::BacktrackInsideTxn,
        Bug::BacktrackSkipsPg,
        Bug::BacktrackDestroys,
        Bug::GcIgnoresBacktrackWindow,
    ] {
        let r = scenario(&[bug]);
        assert!(r.is_err(), "{bug} went unnoticed");
        eprintln!("{bug}: {}", r.unwrap_err());
    }
}

#[test]
fn backtrack_off_is_rejected() {
    let (mut sim, _c) = sim_and_cluster(ClusterConfig {
        seed: 3,
        ..Default::default()
    });
    let out: Rc<RefCell<Option<Result<BacktrackDone, BacktrackError>>>> = Rc::default();
    let o = out.clone();
    sim.client("admin", async move {
        let mut cl = Client::connect(Endpoint::Cluster).await?;
        tokio::time::sleep(Duration::from_millis(2_000)).await;
        *o.borrow_mut() = Some(cl.backtrack(9, 1_000, 5_000).await);
        Ok(())
    });
    while !sim.step().unwrap() {}
    let r = out.borrow().clone().unwrap();
    assert!(
        matches!(&r, Err(BacktrackError::Rejected(w)) if w.contains("not enabled")),
        "{r:?}"
    );
}
