//! Sans-IO tests of one storage node: group commit (nothing is acknowledged before
//! it is synced, and a crash drops what was not) and membership epochs (stale ones
//! are refused, newer ones make the node ask the metadata service, by message).

use reference::storage::{NodeDisk, StorageConfig, StorageNode};
use reference::topology::Topology;
use reference::types::*;
use reference::EventKind;
use std::cell::RefCell;
use std::collections::BTreeSet;
use std::rc::Rc;

const NODE: &str = "s-az0-0";
const WRITER: &str = "db-1";

fn topo() -> Rc<RefCell<Topology>> {
    // One PG, 3 AZs x 2 nodes, one spare per AZ.
    Rc::new(RefCell::new(Topology::place(1, 3, 2, 1)))
}

fn node(topo: &Rc<RefCell<Topology>>, disk: &Rc<RefCell<NodeDisk>>, fsync_ms: u64) -> StorageNode {
    StorageNode::new(
        NODE.into(),
        disk.clone(),
        topo.borrow().pgs.clone(),
        7,
        StorageConfig {
            gossip_ms: 50,
            scrub_ms: 500,
            gc_retain_lsns: 1000,
            fsync_ms,
            backtrack_window_ms: 0,
            bugs: BTreeSet::new(),
            report_page_reads: false,
            autoscale: None,
        },
    )
}

fn record(lsn: u64, prev: u64) -> Record {
    Record {
        lsn: Lsn(lsn),
        prev: Lsn(prev),
        pg: 0,
        epoch: 1,
        page: 0,
        key: 1,
        value: Datum::Int(lsn as i64),
        cpl: true,
        at: 0,
        checksum: 0,
    }
    .seal()
}

fn write(mepoch: MEpoch, lsns: &[(u64, u64)]) -> Msg {
    Msg::Write {
        epoch: 1,
        pg: 0,
        mepoch,
        records: lsns.iter().map(|&(l, p)| record(l, p)).collect(),
        vdl: Lsn::ZERO,
        mrp: Lsn::ZERO,
        truncations: vec![],
    }
}

fn acked_scl(outs: &[Outbound]) -> Option<Lsn> {
    outs.iter().find_map(|o| match &o.msg {
        Msg::WriteAck { scl, .. } => Some(*scl),
        _ => None,
    })
}

#[test]
fn a_write_is_acknowledged_only_after_its_sync_and_a_crash_before_it_drops_the_record() {
    let (topo, disk) = (topo(), Rc::new(RefCell::new(NodeDisk::default())));
    let mut n = node(&topo, &disk, 2);
    let outs = n.handle(10, WRITER, write(1, &[(1, 0), (2, 1)]));
    assert!(outs.is_empty(), "acknowledged before sync: {outs:?}");
    assert_eq!(n.scl(0), Lsn::ZERO, "SCL counts unsynced records");
    assert_eq!(n.deadline(), Some(12));
    assert!(n.poll_sync(11).is_empty(), "synced early");
    assert_eq!(disk.borrow().unsynced.len(), 2);
    // Crash before the sync: the host is dropped; the restarted node finds nothing.
    drop(n);
    let mut n = node(&topo, &disk, 2);
    assert_eq!(n.scl(0), Lsn::ZERO);
    assert!(disk.borrow().unsynced.is_empty());
    assert!(disk
        .borrow()
        .segs
        .get(&0)
        .map(|s| s.records.is_empty())
        .unwrap_or(true));
    // Without a crash the sync makes them durable and releases the ack with the SCL.
    assert!(n.handle(20, WRITER, write(1, &[(1, 0), (2, 1)])).is_empty());
    let outs = n.poll_sync(22);
    assert_eq!(acked_scl(&outs), Some(Lsn(2)), "{outs:?}");
    drop(n);
    let n = node(&topo, &disk, 2);
    assert_eq!(n.scl(0), Lsn(2), "synced records survive a crash");
}

#[test]
fn group_commit_syncs_a_batch_once_and_acks_every_write_in_it() {
    let (topo, disk) = (topo(), Rc::new(RefCell::new(NodeDisk::default())));
    let mut n = node(&topo, &disk, 1);
    assert!(n.handle(5, WRITER, write(1, &[(1, 0)])).is_empty());
    assert!(n.handle(5, "db-2", write(1, &[(2, 1)])).is_empty());
    let outs = n.poll_sync(6);
    let acks: Vec<(&str, Lsn)> = outs
        .iter()
        .filter_map(|o| match &o.msg {
            Msg::WriteAck { scl, .. } => Some((o.to.as_str(), *scl)),
            _ => None,
        })
        .collect();
    assert_eq!(acks, vec![(WRITER, Lsn(2)), ("db-2", Lsn(2))]);
    assert_eq!(n.deadline(), None);
}

#[test]
fn a_recovery_query_syncs_what_the_old_epoch_buffered_before_answering() {
    let (topo, disk) = (topo(), Rc::new(RefCell::new(NodeDisk::default())));
    let mut n = node(&topo, &disk, 5);
    assert!(n.handle(1, WRITER, write(1, &[(1, 0)])).is_empty());
    let outs = n.handle(
        2,
        "db-2",
        Msg::RecoverQuery {
            id: 2,
            epoch: 2,
            pg: 0,
            mepoch: 1,
            cut: None,
        },
    );
    // The old writer's ack goes out first, then the state the new writer reads
    // includes that record: no ack can follow a recovery that missed it.
    assert_eq!(acked_scl(&outs), Some(Lsn(1)), "{outs:?}");
    let state_scl = outs.iter().find_map(|o| match &o.msg {
        Msg::RecoverState { scl, .. } => Some(*scl),
        _ => None,
    });
    assert_eq!(state_scl, Some(Lsn(1)));
    // And the old epoch is now refused.
    let outs = n.handle(3, WRITER, write(1, &[(2, 1)]));
    assert!(
        matches!(outs[0].msg, Msg::Rejected { current: 2, .. }),
        "{outs:?}"
    );
}

fn refused_with(outs: &[Outbound]) -> Option<MEpoch> {
    outs.iter().find_map(|o| match &o.msg {
        Msg::StaleMembership { current, .. } => Some(*current),
        _ => None,
    })
}

#[test]
fn stale_membership_epochs_are_refused_and_newer_ones_refresh_the_view() {
    let (topo, disk) = (topo(), Rc::new(RefCell::new(NodeDisk::default())));
    let mut n = node(&topo, &disk, 0);
    let w = |n: &mut StorageNode, t, me, l: u64| {
        let mut outs = n.handle(t, WRITER, write(me, &[(l, l - 1)]));
        outs.extend(n.poll_sync(t));
        outs
    };
    assert_eq!(acked_scl(&w(&mut n, 1, 1, 1)), Some(Lsn(1)));
    // The control plane starts replacing s-az1-0 with the spare s-az1-2 (epoch 2).
    assert!(topo
        .borrow_mut()
        .pgs
        .get_mut(&0)
        .unwrap()
        .begin_replace("s-az1-0", "s-az1-2"));
    // This node has not looked yet: an epoch-1 write is still current to it.
    assert_eq!(acked_scl(&w(&mut n, 2, 1, 2)), Some(Lsn(2)));
    // A writer that knows epoch 2 makes it ask the metadata service; the write is
    // dropped meanwhile (the writer resends), never acknowledged under the old view.
    let outs = w(&mut n, 3, 2, 3);
    assert_eq!(acked_scl(&outs), None, "{outs:?}");
    assert!(
        outs.iter()
            .any(|o| o.to == "meta" && matches!(o.msg, Msg::MetaGet)),
        "{outs:?}"
    );
    let pgs = topo.borrow().pgs.clone();
    // Adopting the newer view reports it to the metadata service at once (the control plane
    // fences and reverts on these reports), and sends nothing else.
    let outs = n.handle(
        3,
        "meta",
        Msg::MetaView {
            pgs,
            branches: vec![],
            pgmap: None,
        },
    );
    assert!(
        !outs.is_empty() && outs.iter().all(|o| o.to == "meta"),
        "{outs:?}"
    );
    // From then on epoch 2 is current and epoch 1 is stale.
    assert_eq!(acked_scl(&w(&mut n, 3, 2, 3)), Some(Lsn(3)));
    let outs = w(&mut n, 4, 1, 4);
    assert_eq!(refused_with(&outs), Some(2), "{outs:?}");
    assert_eq!(acked_scl(&outs), None);
    assert_eq!(n.scl(0), Lsn(3), "a refused write was persisted");
    // Reads are fenced the same way, and name the refused read.
    let outs = n.handle(
        5,
        "db-3",
        Msg::ReadPage {
            id: 9,
            epoch: 0,
            pg: 0,
            mepoch: 1,
            page: 0,
            at: Lsn(3),
            need: Lsn(3),
            dgen: 0,
        },
    );
    assert!(
        matches!(
            outs[0].msg,
            Msg::StaleMembership {
                current: 2,
                read: Some(9),
                ..
            }
        ),
        "{outs:?}"
    );
    let events = n.events.clone();
    assert!(events.iter().any(|e| matches!(
        e,
        EventKind::StaleMembershipRejected {
            mepoch: 1,
            current: 2,
            ..
        }
    )));
}

#[test]
fn a_node_replaced_out_of_a_pg_refuses_all_io_for_it() {
    let (topo, disk) = (topo(), Rc::new(RefCell::new(NodeDisk::default())));
    let mut n = node(&topo, &disk, 0);
    {
        let mut t = topo.borrow_mut();
        let m = t.pgs.get_mut(&0).unwrap();
        assert!(m.begin_replace(NODE, "s-az0-2"));
        m.commit();
        assert_eq!(m.epoch, 3);
    }
    // A stale sender (epoch 1) is refused once the node has polled the metadata
    // service on its background tick (and the service has answered)...
    let outs = n.tick(100);
    assert!(
        outs.iter()
            .any(|o| o.to == "meta" && matches!(o.msg, Msg::MetaGet)),
        "{outs:?}"
    );
    let pgs = topo.borrow().pgs.clone();
    n.handle(
        100,
        "meta",
        Msg::MetaView {
            pgs,
            branches: vec![],
            pgmap: None,
        },
    );
    let outs = n.handle(101, WRITER, write(1, &[(1, 0)]));
    assert_eq!(refused_with(&outs), Some(3), "{outs:?}");
    // ...and a current one is refused too: this node is no longer a member.
    let outs = n.handle(102, WRITER, write(3, &[(1, 0)]));
    assert_eq!(refused_with(&outs), Some(3), "{outs:?}");
    assert_eq!(n.scl(0), Lsn::ZERO);
}
