//! What an instance publishes as CloudWatch-style metrics, counted where the instance acts:
//! commits per period at the moment the core acknowledges them, write I/Os per period at the
//! moment the core sends them to storage, and a Performance Insights style breakdown of the
//! sessions inside the instance by wait event.
//!
//! Contract: this is bookkeeping only. Nothing here feeds a protocol decision; it reads the
//! messages the core returns and the core's own commit counter, and is copied into the shared
//! metrics (a white-box observer) by the host loop.

use crate::metrics::{InstanceMetrics, WaitSamples};
use crate::types::*;
use std::collections::BTreeMap;

/// The metric period in simulated ms (CloudWatch high-resolution metrics: 1 s).
pub const PERIOD_MS: u64 = 1_000;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Wait {
    Io,
    Commit,
}

#[derive(Default)]
pub struct Published {
    /// Bug `metrics-count-attempts`: commits are counted when their request arrives.
    pub count_attempts: bool,
    /// Track sessions for the wait breakdown (serverless instances only).
    pub track_sessions: bool,
    commits: BTreeMap<u64, u64>,
    write_ios: BTreeMap<u64, u64>,
    sessions: BTreeMap<(String, u64), Wait>,
    waits: WaitSamples,
}

impl Published {
    pub fn new(count_attempts: bool) -> Published {
        Published {
            count_attempts,
            ..Default::default()
        }
    }

    /// A client request reached the instance (before any queue).
    pub fn on_arrival(&mut self, now: SimTime, msg: &Msg) {
        if self.count_attempts {
            if let Msg::Request {
                op: ClientOp::Commit,
                ..
            } = msg
            {
                *self.commits.entry(now / PERIOD_MS).or_default() += 1;
            }
        }
    }

    /// A client request is handed to the core.
    pub fn on_dispatch(&mut self, from: &str, msg: &Msg) {
        if let (true, Msg::Request { id, op, .. }) = (self.track_sessions, msg) {
            let w = if matches!(op, ClientOp::Commit) {
                Wait::Commit
            } else {
                Wait::Io
            };
            self.sessions.insert((from.to_string(), *id), w);
        }
    }

    /// After a core call at `now`: `commits` acknowledged during it, and what it sent.
    pub fn on_core_output(&mut self, now: SimTime, commits: u64, outs: &[Outbound]) {
        if commits > 0 && !self.count_attempts {
            *self.commits.entry(now / PERIOD_MS).or_default() += commits;
        }
        for o in outs {
            match &o.msg {
                Msg::Write { .. } => *self.write_ios.entry(now / PERIOD_MS).or_default() += 1,
                Msg::Reply { id, .. } if self.track_sessions => {
                    self.sessions.remove(&(o.to.clone(), *id));
                }
                _ => {}
            }
        }
    }

    /// Forget sessions of requests answered outside the core (dropped by a bug).
    pub fn forget(&mut self, from: &str, id: u64) {
        self.sessions.remove(&(from.to_string(), id));
    }

    /// One Performance Insights sample: `queued` sessions on CPU, the rest by what they wait on.
    pub fn sample(&mut self, queued: usize) {
        self.waits.samples += 1;
        self.waits.cpu += queued as u64;
        for w in self.sessions.values() {
            match w {
                Wait::Io => self.waits.io += 1,
                Wait::Commit => self.waits.commit += 1,
            }
        }
    }

    /// Copies the published series into `m`.
    pub fn fill(&self, m: &mut InstanceMetrics) {
        m.commits_per_period = self.commits.clone();
        m.write_ios_per_period = self.write_ios.clone();
        m.waits = self.waits.clone();
    }
}
