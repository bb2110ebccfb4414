//! Clones in a simulated run: the admin host's clone request, and the clone's cluster and
//! workers the driver provisions once the clone exists.
//!
//! A clone's processes are numbered from `volume << 32` ([`process_base`]), so a stored
//! history says which side every op ran on; the `:clone` nemesis op records the volume and
//! its branch point `T′` (the source writer's time when it took the clone), so the history can
//! be split and re-checked offline (see `workloads::checks::fork`).

use crate::sim::{final_reads, now_ns, worker, Phase, Shared};
use crate::sut::{Sut, SutClient};
use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;
use workloads::WorkloadConfig;

/// The first process number of clone `volume`'s workers.
pub fn process_base(volume: u32) -> i64 {
    workloads::checks::fork::process_base(volume)
}

/// The admin host's clone request: records a `:clone` nemesis op with the outcome and hands
/// a created clone to the driver.
pub(crate) async fn admin_clone(
    shared: &Rc<RefCell<Shared>>,
    cl: &mut reference::Client,
    request: u64,
    requested_ms: u64,
) {
    let r = cl.clone_volume(request, 60_000).await;
    let mut v = serde_json::json!({"requested_ms": requested_ms});
    match r {
        Ok(b) => {
            v["volume"] = b.volume.into();
            v["t_prime_ms"] = b.at.into();
            v["branch_lsn"] = b.lsn.0.into();
            v["process_base"] = process_base(b.volume).into();
            shared.borrow_mut().clones_ready.push(b);
        }
        Err(reference::BacktrackError::Rejected(why)) => v["rejected"] = why.into(),
        Err(e) => v["indeterminate"] = e.to_string().into(),
    }
    let value = checkers::io::json::from_json(&v);
    shared
        .borrow_mut()
        .recorder
        .nemesis("clone", value, now_ns());
}

/// Provision clone `volume`'s cluster (a writer and a tier-1 replica) and a client host
/// running `workers` workers on it, plus its final reads. Returns the hosts added.
pub(crate) fn provision(
    sim: &mut turmoil::Sim<'_>,
    sut: &Sut,
    shared: &Rc<RefCell<Shared>>,
    wcfg: &Rc<WorkloadConfig>,
    volume: u32,
    workers: i64,
    think_ms: f64,
) -> Vec<String> {
    let mut hosts = sut.install_clone(sim, volume);
    let name = format!("clone{volume}-client");
    hosts.push(name.clone());
    shared.borrow_mut().finals_outstanding += 1;
    let (shared, wcfg, sut) = (shared.clone(), wcfg.clone(), sut.clone());
    let base = process_base(volume);
    sim.client(name, async move {
        let mut tasks = vec![tokio::task::spawn_local(clone_final(
            shared.clone(),
            wcfg.clone(),
            SutClient::for_volume(&sut, volume),
            base,
        ))];
        for p in 0..workers {
            tasks.push(tokio::task::spawn_local(worker(
                shared.clone(),
                wcfg.clone(),
                SutClient::for_volume(&sut, volume),
                base + p,
                workers,
                think_ms,
            )));
        }
        for t in tasks {
            t.await??;
        }
        Ok(())
    });
    hosts
}

/// The clone's final reads, run through its writer once the run reaches its final phase.
async fn clone_final(
    shared: Rc<RefCell<Shared>>,
    wcfg: Rc<WorkloadConfig>,
    mut client: SutClient,
    base: i64,
) -> turmoil::Result {
    loop {
        match shared.borrow().phase {
            Phase::Final => break,
            Phase::Done => return Ok(()),
            _ => {}
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    final_reads(&shared, &wcfg, &mut client, base + 1_000_000).await;
    Ok(())
}
