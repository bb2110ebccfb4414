//! Aurora Serverless v2 for one instance: capacity in ACUs, a service-time model that makes
//! load matter, and the scaler that moves capacity with the load.
//!
//! Contract:
//! - Capacity is kept in half-ACUs (`half_acus`, 1 = 0.5 ACU … 256 = 128 ACU), always within
//!   the configured `[min_acu, max_acu]`, and for a replica in promotion tier 0-1 at least the
//!   writer's capacity as last heard over the network ([`Msg::Capacity`], valid for
//!   [`FLOOR_VALID_MS`]).
//! - Every client request waits in one FIFO queue and is served after a service time of
//!   `1000 / (ACUs × requests_per_acu_s)` ms (one server: an instance of `c` ACUs serves
//!   `c × requests_per_acu_s` requests per simulated second). Only then does the instance's
//!   core (writer or replica) see it. So an under-provisioned instance queues and its latency
//!   rises; a capacity change re-times what is queued, nothing is dropped or answered early
//!   (except under the bug `serverless-drops-connections`).
//! - The scaler runs on the instance's own timer: it measures request arrivals over the last
//!   `window_ms` plus the queue's backlog, raises capacity at once to what that load needs at
//!   `target_utilization`, and lowers it only after the need has stayed below capacity for
//!   `scale_down_after_ms`. Under the bug `serverless-slow-scale` it raises by at most 0.5 ACU
//!   per second.
//! - Capacity bounds the buffer cache: `cache_pages_per_acu` pages per ACU (at least 4).
//!
//! Nothing here is shared with another host: the writer's capacity reaches replicas only as a
//! message.

use crate::types::*;
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;

/// A writer capacity heard from the network keeps a follower's floor up this long.
pub const FLOOR_VALID_MS: u64 = 1_000;

/// Serverless v2 settings of a cluster (every instance gets the same bounds).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ServerlessConfig {
    /// Minimum capacity in ACUs (Aurora: 0.5 at least; 0.5 steps).
    pub min_acu: f64,
    /// Maximum capacity in ACUs (Aurora: at most 128).
    pub max_acu: f64,
    /// Client requests one ACU serves per simulated second.
    pub requests_per_acu_s: f64,
    /// Buffer cache pages per ACU.
    pub cache_pages_per_acu: usize,
    /// The scaler sizes capacity so that the measured demand uses this fraction of it.
    pub target_utilization: f64,
    /// Arrivals are measured over this window (ms).
    pub window_ms: u64,
    /// Capacity goes down only after the need has stayed below it this long (ms).
    pub scale_down_after_ms: u64,
}

impl Default for ServerlessConfig {
    fn default() -> Self {
        ServerlessConfig {
            min_acu: 0.5,
            max_acu: 16.0,
            requests_per_acu_s: 200.0,
            cache_pages_per_acu: 16,
            target_utilization: 0.7,
            window_ms: 200,
            scale_down_after_ms: 2_000,
        }
    }
}

impl ServerlessConfig {
    /// Checks the bounds: 0.5 ≤ min ≤ max ≤ 128, both multiples of 0.5; positive rates.
    pub fn validate(&self) -> Result<(), String> {
        let half = |x: f64| (x * 2.0).fract() == 0.0;
        if !(0.5..=128.0).contains(&self.min_acu) || !(0.5..=128.0).contains(&self.max_acu) {
            return Err(format!(
                "serverless capacity must lie in 0.5-128 ACU (got min {}, max {})",
                self.min_acu, self.max_acu
            ));
        }
        if !half(self.min_acu) || !half(self.max_acu) {
            return Err("serverless capacity bounds must be multiples of 0.5 ACU".into());
        }
        if self.min_acu > self.max_acu {
            return Err(format!(
                "serverless min_acu {} exceeds max_acu {}",
                self.min_acu, self.max_acu
            ));
        }
        if self.requests_per_acu_s <= 0.0
            || self.target_utilization <= 0.0
            || self.target_utilization > 1.0
            || self.window_ms == 0
        {
            return Err("serverless rates, utilisation (0, 1] and window must be positive".into());
        }
        Ok(())
    }
}

struct Queued {
    finish_ms: f64,
    from: String,
    msg: Msg,
}

/// One instance's capacity, request queue and scaler.
pub struct Capacity {
    cfg: ServerlessConfig,
    /// A replica in tier 0-1: keeps at least the writer's capacity.
    pub follows_writer: bool,
    slow_scale: bool,
    pub half_acus: u32,
    queue: VecDeque<Queued>,
    busy_until_ms: f64,
    arrivals: VecDeque<SimTime>,
    low_since: Option<SimTime>,
    floor: Option<(u32, SimTime)>,
    last_raise: SimTime,
    /// Every capacity change: (sim ms, half-ACUs), starting with the initial capacity at 0.
    pub changes: Vec<(SimTime, u32)>,
}

impl Capacity {
    pub fn new(cfg: ServerlessConfig, follows_writer: bool, slow_scale: bool) -> Capacity {
        let half = (cfg.min_acu * 2.0) as u32;
        Capacity {
            cfg,
            follows_writer,
            slow_scale,
            half_acus: half,
            queue: VecDeque::new(),
            busy_until_ms: 0.0,
            arrivals: VecDeque::new(),
            low_since: None,
            floor: None,
            last_raise: 0,
            changes: vec![(0, half)],
        }
    }

    pub fn acu(&self) -> f64 {
        self.half_acus as f64 / 2.0
    }

    fn service_ms(&self) -> f64 {
        1000.0 / (self.acu() * self.cfg.requests_per_acu_s)
    }

    /// Buffer cache pages this capacity allows.
    pub fn cache_pages(&self) -> usize {
        (self.half_acus as usize * self.cfg.cache_pages_per_acu / 2).max(4)
    }

    pub fn queued(&self) -> usize {
        self.queue.len()
    }

    /// A client request arrives: it is queued behind the others.
    pub fn admit(&mut self, now: SimTime, from: String, msg: Msg) {
        self.arrivals.push_back(now);
        let finish_ms = self.busy_until_ms.max(now as f64) + self.service_ms();
        self.busy_until_ms = finish_ms;
        self.queue.push_back(Queued {
            finish_ms,
            from,
            msg,
        });
    }

    /// When the head of the queue has been served (None: nothing queued).
    pub fn deadline(&self) -> Option<SimTime> {
        self.queue.front().map(|q| q.finish_ms.ceil() as SimTime)
    }

    /// The requests whose service has finished by `now`, in arrival order.
    pub fn served(&mut self, now: SimTime) -> Vec<(String, Msg)> {
        let mut done = Vec::new();
        while self
            .queue
            .front()
            .is_some_and(|q| q.finish_ms <= now as f64)
        {
            let q = self.queue.pop_front().unwrap();
            done.push((q.from, q.msg));
        }
        done
    }

    /// Every queued request, removed (bug `serverless-drops-connections`).
    pub fn drop_queued(&mut self) -> Vec<(String, Msg)> {
        self.busy_until_ms = 0.0;
        self.queue.drain(..).map(|q| (q.from, q.msg)).collect()
    }

    /// The writer's capacity heard over the network (followers only keep it).
    pub fn writer_capacity(&mut self, now: SimTime, half_acus: u32) {
        if self.follows_writer {
            self.floor = Some((half_acus, now));
        }
    }

    /// What the measured load needs, in half-ACUs, within the bounds and the floor.
    fn needed(&mut self, now: SimTime) -> u32 {
        let w = self.cfg.window_ms;
        while self
            .arrivals
            .front()
            .is_some_and(|t| now.saturating_sub(*t) >= w)
        {
            self.arrivals.pop_front();
        }
        // Requests per second: those that arrived in the window, plus the backlog to clear
        // within one window.
        let demand = (self.arrivals.len() + self.queue.len()) as f64 * 1000.0 / w as f64;
        let acu = demand / (self.cfg.requests_per_acu_s * self.cfg.target_utilization);
        let lo = (self.cfg.min_acu * 2.0) as u32;
        let hi = (self.cfg.max_acu * 2.0) as u32;
        let mut half = ((acu * 2.0).ceil() as u32).clamp(lo, hi);
        if let Some((f, at)) = self.floor {
            if now.saturating_sub(at) < FLOOR_VALID_MS {
                half = half.max(f.min(hi));
            }
        }
        half
    }

    /// The scaler's step: returns the new capacity when it changed. Queued requests are
    /// re-timed at the new service rate (none is dropped).
    pub fn scale(&mut self, now: SimTime) -> Option<u32> {
        let need = self.needed(now);
        let cur = self.half_acus;
        let next = if need > cur {
            self.low_since = None;
            if self.slow_scale {
                if now.saturating_sub(self.last_raise) < 1_000 {
                    return None;
                }
                cur + 1
            } else {
                need
            }
        } else if need < cur {
            let since = *self.low_since.get_or_insert(now);
            if now.saturating_sub(since) < self.cfg.scale_down_after_ms {
                return None;
            }
            self.low_since = Some(now);
            need
        } else {
            self.low_since = None;
            return None;
        };
        if next > cur {
            self.last_raise = now;
        }
        self.half_acus = next;
        self.changes.push((now, next));
        let s = self.service_ms();
        let mut t = now as f64;
        for q in self.queue.iter_mut() {
            t += s;
            q.finish_ms = t;
        }
        self.busy_until_ms = if self.queue.is_empty() { 0.0 } else { t };
        Some(next)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(id: u64) -> Msg {
        Msg::Request {
            id,
            txn: 0,
            op: ClientOp::Begin { read_only: true },
        }
    }

    #[test]
    fn queue_serves_at_the_capacity_rate() {
        let mut c = Capacity::new(ServerlessConfig::default(), false, false);
        // 0.5 ACU × 200 req/s = 100 req/s: 10 ms per request.
        for i in 0..5 {
            c.admit(0, "c".into(), req(i));
        }
        assert_eq!(c.served(29).len(), 2);
        assert_eq!(c.served(50).len(), 3);
    }

    #[test]
    fn scaler_raises_at_once_and_lowers_after_idle() {
        let mut c = Capacity::new(ServerlessConfig::default(), false, false);
        for i in 0..100 {
            c.admit(i, "c".into(), req(i));
        }
        let up = c.scale(100).expect("raised");
        assert!(up > 1, "{up}");
        c.served(10_000);
        assert_eq!(c.scale(2_000), None, "waits before lowering");
        assert_eq!(c.scale(4_001), Some(1));
    }

    #[test]
    fn slow_scale_bug_steps_half_an_acu_per_second() {
        let mut c = Capacity::new(ServerlessConfig::default(), false, true);
        for i in 0..100 {
            c.admit(i, "c".into(), req(i));
        }
        assert_eq!(c.scale(1_000), Some(2));
        assert_eq!(c.scale(1_500), None);
    }

    #[test]
    fn bounds_are_validated() {
        let bad = ServerlessConfig {
            min_acu: 0.7,
            ..Default::default()
        };
        assert!(bad.validate().is_err());
        assert!(ServerlessConfig::default().validate().is_ok());
    }
}
