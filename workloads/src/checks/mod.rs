//! Each workload's own checks, as a table: a check's name, the claims of AURORA.md it serves,
//! which part of the history it reads, and the checker that judges it. The harness runs the table
//! of the workload at hand (for simulated and real targets alike) and adds the checks that need
//! the system's insides (white-box invariants, liveness, lag, RTO); it never switches on the
//! workload kind itself.

pub mod list_append;
pub mod timeline;

use crate::recorder::on_primary;
#[allow(unused_imports)]
use checkers::Value;
use checkers::{History, Op, OpType, Process, Verdict};
use std::collections::BTreeMap;

/// Process ids at or above this are the final reader's.
pub const FINAL_PROCESS: i64 = 1_000_000;

/// Which ops a check reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Client ops sent to the cluster (writer) endpoint.
    Writer,
    /// Every client op, reader endpoints included.
    AllEndpoints,
    /// Writer ops plus reader-endpoint reads moved to the start of the history: each read may
    /// linearize at any point before it completed ("stale but consistent").
    StaleReads,
    /// The whole recorded history (nemesis ops included).
    Full,
}

impl Scope {
    pub fn select(self, h: &History) -> History {
        match self {
            Scope::Writer => sub_history(h, true),
            Scope::AllEndpoints => sub_history(h, false),
            Scope::StaleReads => stale_reads_history(h),
            Scope::Full => h.clone(),
        }
    }
}

/// What a check found: a checker's verdict, or a measured figure against its bound.
#[derive(Debug, Clone)]
pub enum Judgement {
    Verdict(Verdict),
    Figure {
        value: f64,
        bound: f64,
        unit: &'static str,
        ok: bool,
        summary: String,
    },
}

/// One row of a workload's check table.
pub struct HistoryCheck {
    pub name: &'static str,
    pub claims: &'static [&'static str],
    pub scope: Scope,
    pub judge: fn(&crate::WorkloadConfig, &History) -> Judgement,
}

impl crate::WorkloadKind {
    /// The workload's check table.
    pub fn checks(self) -> Vec<HistoryCheck> {
        match self {
            crate::WorkloadKind::Bank => crate::bank::checks(),
            crate::WorkloadKind::Register => crate::register::checks(),
            crate::WorkloadKind::ListAppend => list_append::checks(),
        }
    }
}

/// Client ops only, optionally only those sent to the cluster (writer) endpoint.
pub fn sub_history(h: &History, primary_only: bool) -> History {
    let ops = h
        .ops
        .iter()
        .filter(|o| matches!(o.process, Some(Process::Client(_))))
        .filter(|o| !primary_only || on_primary(o))
        .cloned()
        .collect();
    let mut out = History::new(ops);
    out.reindex();
    out
}

/// Reader-endpoint reads checked as "stale but consistent": each may linearize at any point before
/// it completed, so its invocation moves to the start of the history (under a fresh process id).
pub fn stale_reads_history(h: &History) -> History {
    let client = sub_history(h, false);
    let pairs = match client.pairs() {
        Ok(p) => p,
        Err(_) => return sub_history(h, true),
    };
    let mut moved = Vec::new();
    let mut skip = vec![false; client.ops.len()];
    let mut renamed: BTreeMap<usize, i64> = BTreeMap::new();
    let mut next = 2_000_000;
    for p in pairs {
        let inv = &client.ops[p.invoke];
        if on_primary(inv) {
            continue;
        }
        skip[p.invoke] = true;
        match p.complete {
            Some(c) if client.ops[c].kind == OpType::Ok => {
                let mut op = inv.clone();
                op.process = Some(Process::Client(next));
                op.time = Some(0);
                moved.push(op);
                renamed.insert(c, next);
                next += 1;
            }
            Some(c) => skip[c] = true,
            None => {}
        }
    }
    let mut ops: Vec<Op> = moved;
    for (i, op) in client.ops.iter().enumerate() {
        if skip[i] {
            continue;
        }
        let mut op = op.clone();
        if let Some(p) = renamed.get(&i) {
            op.process = Some(Process::Client(*p));
        }
        ops.push(op);
    }
    let mut out = History::new(ops);
    out.reindex();
    out
}
