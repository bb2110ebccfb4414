//! Replica lag as Aurora defines it: from a commit acknowledged on the writer to the
//! moment it is visible on a replica (the replica's applied VDL reaches the commit
//! LSN). White-box instrumentation on the event bus; no protocol decision reads it.
//!
//! A replica that stops applying leaves commits pending; `finish` turns each into a
//! sample that was never visible, with the lag it had reached by the end of the run,
//! so a stalled replica shows up as an ever-growing lag rather than as no data.

use crate::event::{Event, EventKind};
use crate::types::{Lsn, SimTime};
use serde::Serialize;
use std::collections::{BTreeMap, VecDeque};

/// One commit seen (or not) by one replica.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LagSample {
    pub acked_ms: SimTime,
    pub replica: String,
    pub lag_ms: u64,
    /// False when the run ended before the replica showed the commit.
    pub visible: bool,
}

#[derive(Default, Debug, Clone)]
pub struct LagTracker {
    /// Per replica: acknowledged commits it has not shown yet, oldest first.
    pending: BTreeMap<String, VecDeque<(SimTime, Lsn)>>,
    pub samples: Vec<LagSample>,
}

impl LagTracker {
    pub fn observe(&mut self, e: &Event) {
        match &e.kind {
            EventKind::CommitAcked { lsn, .. } => {
                for q in self.pending.values_mut() {
                    q.push_back((e.time_ms, *lsn));
                }
            }
            EventKind::ReplicaApplied { vdl, .. } => {
                let q = self.pending.entry(e.host.clone()).or_default();
                while let Some(&(at, lsn)) = q.front() {
                    if lsn > *vdl {
                        break;
                    }
                    q.pop_front();
                    self.samples.push(LagSample {
                        acked_ms: at,
                        replica: e.host.clone(),
                        lag_ms: e.time_ms.saturating_sub(at),
                        visible: true,
                    });
                }
            }
            // A promoted replica is the writer now; its queue no longer means lag.
            EventKind::Promoted { host, .. } => {
                self.pending.remove(host);
            }
            _ => {}
        }
    }

    /// Samples so far plus, for commits still pending at `end_ms`, never-visible ones.
    pub fn finish(&self, end_ms: SimTime) -> Vec<LagSample> {
        let mut v = self.samples.clone();
        for (h, q) in &self.pending {
            for &(at, _) in q {
                v.push(LagSample {
                    acked_ms: at,
                    replica: h.clone(),
                    lag_ms: end_ms.saturating_sub(at),
                    visible: false,
                });
            }
        }
        v
    }
}
