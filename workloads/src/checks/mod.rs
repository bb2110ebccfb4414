//! Each workload's own checks, as a table: a check's name, the claims of AURORA.md it serves,
//! which part of the history it reads, and the checker that judges it. The harness runs the table
//! of the workload at hand (for simulated and real targets alike) and adds the checks that need
//! the system's insides (white-box invariants, liveness, lag, RTO); it never switches on the
//! workload kind itself.
//!
//! What a system claims is data too: a [`Guarantee`] names the Elle model the writer's history
//! must satisfy, the model once reader-endpoint reads are included, the models checked only for
//! information, and whether reads see one consistent state (bank totals). The reference's is
//! [`Guarantee::REFERENCE`]; a real engine's depends on its isolation level (the `targets` crate's
//! table). The tables build their rows from it, so no caller switches on an isolation level.

pub mod fork;
pub mod list_append;
pub mod timeline;

use crate::recorder::on_primary;
#[allow(unused_imports)]
use checkers::Value;
use checkers::{History, Op, OpType, Process, Verdict};
use std::collections::BTreeMap;

/// Process ids at or above this are the final reader's (within a side: a clone's processes
/// are numbered from `volume << 32`, see [`fork::process_base`]).
pub const FINAL_PROCESS: i64 = 1_000_000;

/// Is `p` a final reader's process (on the source or on a clone)?
pub fn is_final_process(p: i64) -> bool {
    (p & 0xffff_ffff) >= FINAL_PROCESS
}

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
        /// For a durability figure: the history time (ns) at which each write it counts as lost
        /// was acknowledged (empty when none was lost), so that a caller with a fault timeline can
        /// derive the RPO. `None` for every other figure.
        lost_acked_ns: Option<Vec<i64>>,
    },
}

/// One row of a workload's check table.
pub struct HistoryCheck {
    pub name: String,
    pub claims: &'static [&'static str],
    pub scope: Scope,
    /// Checked against a model the system does not claim, so that what a weaker guarantee allows
    /// is still named: reported, never deciding the outcome.
    pub informational: bool,
    /// Judges the scoped history.
    pub judge: Judge,
}

/// A check's judge. Pure: equal inputs give equal judgements.
pub type Judge = Box<dyn Fn(&crate::WorkloadConfig, &History) -> Judgement>;

/// The consistency a system claims, as data the check tables take.
///
/// Model names are Elle's (`read-committed`, `repeatable-read`, `snapshot-isolation`,
/// `serializable`, `strict-serializable`, …). Invariant: `writer` is at least as strong as
/// `with_readers` (reader endpoints only add staleness).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Guarantee {
    /// What the writer's (cluster endpoint's) history must satisfy; a failure is a violation.
    pub writer: &'static str,
    /// What the history including reader-endpoint reads must satisfy.
    pub with_readers: &'static str,
    /// Models checked on the writer's history for information only.
    pub informational: &'static [&'static str],
    /// Models checked with reader-endpoint reads included, for information only.
    pub informational_with_readers: &'static [&'static str],
    /// Every read sees one consistent state and no update is lost, so bank totals must add up.
    /// False at read committed, where read skew and lost updates are allowed (totals are then
    /// reported as information).
    pub consistent_reads: bool,
}

impl Guarantee {
    /// The reference Aurora's: strict serializability through the cluster endpoint, serializable
    /// (stale but consistent) reads through the reader endpoint.
    pub const REFERENCE: Guarantee = Guarantee {
        writer: "strict-serializable",
        with_readers: "serializable",
        informational: &[],
        informational_with_readers: &[],
        consistent_reads: true,
    };
}

/// An Elle checker for one workload's transactions, asked for one consistency model.
pub type ElleFn = fn(&'static str, &History) -> Verdict;

/// The Elle rows of a transactional workload under `g`: `g.writer` on the writer's history (with
/// `writer_claims`), `g.with_readers` with the reader endpoint included (with `reader_claims`),
/// then the informational models on each scope. Row names carry the model, e.g.
/// `elle serializable (writer)`, `elle strict-serializable (writer; informational)`.
pub fn elle_rows(
    g: &Guarantee,
    elle: ElleFn,
    writer_claims: &'static [&'static str],
    reader_claims: &'static [&'static str],
) -> Vec<HistoryCheck> {
    let row = |name: String, claims, scope, model: &'static str, informational| HistoryCheck {
        name,
        claims,
        scope,
        informational,
        judge: Box::new(move |_: &crate::WorkloadConfig, h: &History| {
            Judgement::Verdict(elle(model, h))
        }),
    };
    let mut rows = vec![
        row(
            format!("elle {} (writer)", g.writer),
            writer_claims,
            Scope::Writer,
            g.writer,
            false,
        ),
        row(
            format!("elle {} (incl. reader endpoint)", g.with_readers),
            reader_claims,
            Scope::AllEndpoints,
            g.with_readers,
            false,
        ),
    ];
    for m in g.informational {
        let name = format!("elle {m} (writer; informational)");
        rows.push(row(name, &[], Scope::Writer, m, true));
    }
    for m in g.informational_with_readers {
        let name = format!("elle {m} (incl. reader endpoint; informational)");
        rows.push(row(name, &[], Scope::AllEndpoints, m, true));
    }
    rows
}

impl crate::WorkloadKind {
    /// The workload's check table under a guarantee.
    pub fn checks(self, g: &Guarantee) -> Vec<HistoryCheck> {
        match self {
            crate::WorkloadKind::Bank => crate::bank::checks(g),
            crate::WorkloadKind::Register => crate::register::checks(g),
            crate::WorkloadKind::ListAppend => list_append::checks(g),
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
