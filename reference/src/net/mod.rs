//! Thin turmoil wrappers: each sans-IO core runs as a host that owns one UDP socket
//! on [`PORT`], decodes datagrams into [`Msg`], calls `handle`/`tick`, and sends what
//! the core returns. Events are stamped with sim time and host and published.
//!
//! Transport: turmoil UDP datagrams. Every protocol here is message-based with its
//! own retries and timeouts, so a partition is simply silence and a lost datagram
//! is a retry, never a stuck stream (turmoil 0.7.2's TCP has no retransmit).

mod instance;
pub mod published;

pub use instance::InstanceHost;

use crate::event::{Event, EventBus, EventKind};
use crate::metrics::{InstanceMetrics, Metrics};
use crate::types::*;
use std::cell::RefCell;
use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::rc::Rc;
use std::time::Duration;
use turmoil::net::UdpSocket;

/// The one port every cluster host listens on.
pub const PORT: u16 = 7000;

/// Current simulated time in ms.
pub fn now_ms() -> SimTime {
    turmoil::sim_elapsed()
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

pub fn encode(m: &Msg) -> Vec<u8> {
    serde_json::to_vec(m).expect("encode")
}

pub fn decode(b: &[u8]) -> Option<Msg> {
    serde_json::from_slice(b).ok()
}

/// Resolve an outbound address: a host name (port [`PORT`]) or a literal `ip:port`.
pub fn target_addr(to: &str) -> Option<SocketAddr> {
    if let Ok(a) = to.parse::<SocketAddr>() {
        return Some(a);
    }
    Some(SocketAddr::new(turmoil::lookup(to), PORT))
}

/// Name a datagram's sender: a cluster host's name, or `ip:port` for a client socket.
pub fn peer_name(src: SocketAddr) -> String {
    if src.port() == PORT {
        if let Some(n) = turmoil::reverse_lookup(src.ip()) {
            return n;
        }
    }
    src.to_string()
}

/// State shared between the driver (the `Cluster`) and every host.
#[derive(Clone, Default)]
pub struct Shared {
    pub bus: Rc<RefCell<EventBus>>,
    pub paused: Rc<RefCell<BTreeSet<String>>>,
    pub metrics: Rc<RefCell<Metrics>>,
}

impl Shared {
    pub fn publish(&self, host: &str, kinds: Vec<EventKind>) {
        if kinds.is_empty() {
            return;
        }
        let t = now_ms();
        let mut bus = self.bus.borrow_mut();
        for kind in kinds {
            bus.publish(Event {
                time_ms: t,
                host: host.to_string(),
                kind,
            });
        }
    }
    pub fn is_paused(&self, host: &str) -> bool {
        self.paused.borrow().contains(host)
    }
}

/// A sans-IO core as a host sees it.
pub trait Node {
    fn name(&self) -> &str;
    fn handle(&mut self, now: SimTime, from: &str, msg: Msg) -> Vec<Outbound>;
    fn tick(&mut self, now: SimTime) -> Vec<Outbound>;
    fn take_events(&mut self) -> Vec<EventKind>;
    /// Called after a burst of messages has been handled (group commit).
    fn flush(&mut self, _now: SimTime) -> Vec<Outbound> {
        vec![]
    }
    /// The next time the core must run even if no message arrives (a pending disk
    /// sync); `wake` is then called at or after it.
    fn deadline(&self) -> Option<SimTime> {
        None
    }
    fn wake(&mut self, _now: SimTime) -> Vec<Outbound> {
        vec![]
    }
    /// Counters the core keeps (commit latency, cache, lag...).
    fn core_metrics(&self) -> InstanceMetrics {
        InstanceMetrics::default()
    }
}

/// Send every outbound message, counting messages and (compact-encoding) bytes.
pub fn send_all(sock: &UdpSocket, name: &str, shared: &Shared, outs: Vec<Outbound>) {
    if outs.is_empty() {
        return;
    }
    let watched: Vec<EventKind> = outs
        .iter()
        .filter_map(|o| match &o.msg {
            Msg::RecoverQuery { epoch, pg, .. } => Some(EventKind::RecoveryQuerySent {
                epoch: *epoch,
                pg: *pg,
            }),
            Msg::RecoverCommit { epoch, pg, .. } => Some(EventKind::RecoveryDecisionSent {
                epoch: *epoch,
                pg: *pg,
            }),
            _ => None,
        })
        .collect();
    // Recovery queries and decisions, published before the datagrams leave (the recovery
    // read-quorum watch, `crate::recovery_watch`).
    shared.publish(name, watched);
    let mut m = shared.metrics.borrow_mut();
    let e = m.hosts.entry(name.to_string()).or_default();
    for o in outs {
        let Some(addr) = target_addr(&o.to) else {
            continue;
        };
        let size = o.msg.wire_size();
        e.messages_sent += 1;
        e.bytes_sent += size;
        if o.to.starts_with("s-") {
            e.storage_messages_sent += 1;
            e.storage_bytes_sent += size;
        }
        let _ = sock.try_send_to(&encode(&o.msg), addr);
    }
}

/// The host loop shared by storage nodes, instances and the control plane.
pub async fn run_node<N: Node>(mut node: N, shared: Shared, tick_ms: u64) -> turmoil::Result {
    let sock = UdpSocket::bind(SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), PORT)).await?;
    let name = node.name().to_string();
    let mut buf = vec![0u8; 1 << 22];
    let mut interval = tokio::time::interval(Duration::from_millis(tick_ms));
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut next_metrics: SimTime = 0;
    loop {
        if shared.is_paused(&name) {
            tokio::time::sleep(Duration::from_millis(1)).await;
            continue;
        }
        let wake_in = node
            .deadline()
            .map(|d| Duration::from_millis(d.saturating_sub(now_ms())));
        tokio::select! {
            _ = tokio::time::sleep(wake_in.unwrap_or_default()), if wake_in.is_some() => {
                let outs = node.wake(now_ms());
                send_all(&sock, &name, &shared, outs);
            }
            r = sock.recv_from(&mut buf) => {
                // Handle this datagram and every other one already queued, then
                // flush once: the writer's group commit.
                let mut next = Some(r?);
                while let Some((n, src)) = next {
                    if let Some(msg) = decode(&buf[..n]) {
                        if matches!(msg, Msg::Write { .. }) {
                            count_write_received(&name, &shared);
                        }
                        if let Msg::RecoverState { epoch, pg, seg, .. } = &msg {
                            // Delivered: the recovery read-quorum watch's evidence.
                            shared.publish(&name, vec![EventKind::RecoveryAnswerDelivered {
                                epoch: *epoch,
                                pg: *pg,
                                seg: seg.clone(),
                            }]);
                        }
                        let from = peer_name(src);
                        let outs = node.handle(now_ms(), &from, msg);
                        send_all(&sock, &name, &shared, outs);
                    }
                    next = sock.try_recv_from(&mut buf).ok();
                }
                let outs = node.flush(now_ms());
                send_all(&sock, &name, &shared, outs);
            }
            _ = interval.tick() => {
                let now = now_ms();
                let outs = node.tick(now);
                send_all(&sock, &name, &shared, outs);
                if now >= next_metrics {
                    next_metrics = now + 100;
                    update_metrics(&node, &name, &shared);
                }
            }
        }
        let ev = node.take_events();
        if !ev.is_empty() {
            shared.publish(&name, ev);
        }
    }
}

/// A `Write` datagram reached host `name` (storage's own count of write I/Os received).
fn count_write_received(name: &str, shared: &Shared) {
    let mut m = shared.metrics.borrow_mut();
    let e = m.hosts.entry(name.to_string()).or_default();
    *e.writes_received_per_period
        .entry(now_ms() / published::PERIOD_MS)
        .or_default() += 1;
}

/// Copy a core's counters into the shared metrics, keeping the wrapper's send counters.
fn update_metrics<N: Node>(node: &N, name: &str, shared: &Shared) {
    let cm = node.core_metrics();
    let mut m = shared.metrics.borrow_mut();
    let e = m.hosts.entry(name.to_string()).or_default();
    let (msgs, bytes, smsgs, sbytes) = (
        e.messages_sent,
        e.bytes_sent,
        e.storage_messages_sent,
        e.storage_bytes_sent,
    );
    let received = std::mem::take(&mut e.writes_received_per_period);
    *e = cm;
    e.writes_received_per_period = received;
    e.messages_sent = msgs;
    e.bytes_sent = bytes;
    e.storage_messages_sent = smsgs;
    e.storage_bytes_sent = sbytes;
}

impl Node for crate::storage::StorageNode {
    fn name(&self) -> &str {
        &self.name
    }
    fn handle(&mut self, now: SimTime, from: &str, msg: Msg) -> Vec<Outbound> {
        crate::storage::StorageNode::handle(self, now, from, msg)
    }
    fn tick(&mut self, now: SimTime) -> Vec<Outbound> {
        crate::storage::StorageNode::tick(self, now)
    }
    fn flush(&mut self, now: SimTime) -> Vec<Outbound> {
        self.poll_sync(now)
    }
    fn deadline(&self) -> Option<SimTime> {
        crate::storage::StorageNode::deadline(self)
    }
    fn wake(&mut self, now: SimTime) -> Vec<Outbound> {
        self.poll_sync(now)
    }
    fn take_events(&mut self) -> Vec<EventKind> {
        std::mem::take(&mut self.events)
    }
}

/// The control plane as a host (named `control`, or a clone's control host).
pub struct ControlHost(pub crate::control::ControlPlane);

impl Node for ControlHost {
    fn name(&self) -> &str {
        &self.0.host
    }
    fn handle(&mut self, now: SimTime, from: &str, msg: Msg) -> Vec<Outbound> {
        self.0.handle(now, from, msg)
    }
    fn tick(&mut self, now: SimTime) -> Vec<Outbound> {
        self.0.tick(now)
    }
    fn take_events(&mut self) -> Vec<EventKind> {
        std::mem::take(&mut self.0.events)
    }
}
