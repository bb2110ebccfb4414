//! Coverage goals ("sometimes" assertions, as Antithesis calls them): named rare states a sweep
//! must reach at least once, counted per run from the reference's event log, its white-box ledger
//! and the client history. They never judge a run; `soak` sums them over its seeds, prints the
//! table and fails when a *required* goal was never reached (a sweep that never got there proved
//! nothing about it). Tracked goals are reported but not required: the standard sweep does not
//! reach them (say so rather than pretend).

use crate::sim::SimOutput;
use checkers::OpType;
use std::collections::BTreeMap;
use workloads::recorder::on_primary;

/// One goal: its name, what it means, whether the standard sweep must reach it, and its count.
pub struct Goal {
    pub name: &'static str,
    pub what: &'static str,
    pub required: bool,
    pub count: fn(&SimOutput) -> u64,
}

fn ev(out: &SimOutput, kind: &str) -> u64 {
    out.event_counts.get(kind).copied().unwrap_or(0)
}

/// Promotions during which a client's writer-endpoint op was in flight (invoked before, completed
/// after or never).
fn failover_mid_commit(out: &SimOutput) -> u64 {
    let h = &out.history;
    let Ok(pairs) = h.pairs() else { return 0 };
    out.promotions
        .iter()
        .filter(|(t, _, _)| {
            let t_ns = *t as i64 * 1_000_000;
            pairs.iter().any(|p| {
                let inv = &h.ops[p.invoke];
                let writes = matches!(inv.f(), "transfer" | "write" | "cas" | "txn");
                let started = inv.time.unwrap_or(i64::MAX) < t_ns;
                let ended = p.complete.and_then(|c| {
                    let op = &h.ops[c];
                    (op.kind != OpType::Invoke).then_some(op.time.unwrap_or(0))
                });
                writes && on_primary(inv) && started && ended.is_none_or(|e| e > t_ns)
            })
        })
        .count() as u64
}

pub fn goals() -> Vec<Goal> {
    vec![
        Goal {
            name: "commit-at-exactly-4-of-6",
            what: "a commit acknowledged while its record was synced by exactly 4 segments",
            required: true,
            count: |o| o.white_box.acks_at_exact_quorum,
        },
        Goal {
            name: "failover-mid-commit",
            what: "a promotion while a writer-endpoint op was in flight",
            required: true,
            count: failover_mid_commit,
        },
        Goal {
            name: "recovery",
            what: "a writer finished crash recovery (new epoch)",
            required: true,
            count: |o| ev(o, "RecoveryDone"),
        },
        Goal {
            name: "recovery-truncated-records",
            what: "an adopted truncation range dropped records a segment had synced",
            required: true,
            count: |o| o.white_box.records_truncated,
        },
        Goal {
            name: "gossip-filled-hole",
            what: "a segment received missing records by gossip",
            required: true,
            count: |o| ev(o, "HoleFilled"),
        },
        Goal {
            name: "scrub-detected-corruption",
            what: "scrub found a record whose checksum failed",
            required: true,
            count: |o| ev(o, "ScrubDetected"),
        },
        Goal {
            name: "scrub-repaired-block",
            what: "a corrupt record was replaced by a peer's copy",
            required: true,
            count: |o| ev(o, "ScrubRepaired"),
        },
        Goal {
            name: "zombie-write-refused",
            what: "storage refused a write carrying a stale volume epoch",
            required: true,
            count: |o| ev(o, "WriteRejectedStaleEpoch"),
        },
        Goal {
            name: "stale-membership-refused",
            what: "storage refused I/O carrying a stale membership epoch",
            required: true,
            count: |o| ev(o, "StaleMembershipRejected"),
        },
        Goal {
            name: "membership-change-committed",
            what: "a segment replacement committed after hydration",
            required: true,
            count: |o| ev(o, "MembershipChanged:committed"),
        },
        Goal {
            name: "membership-change-reverted",
            what: "a segment replacement reverted because the failed segment came back",
            required: true,
            count: |o| ev(o, "MembershipChanged:reverted"),
        },
        Goal {
            name: "unsynced-lost-on-crash",
            what: "a storage crash dropped records that were buffered but not yet synced",
            required: true,
            count: |o| ev(o, "UnsyncedLost"),
        },
        Goal {
            name: "lal-back-pressure",
            what: "the writer stalled allocation at VDL + LAL",
            required: false,
            count: |o| o.white_box.lal_stalls,
        },
        Goal {
            name: "read-refused-below-pgmrpl",
            what: "a segment refused a page read below its GC horizon (PGMRPL less the retention)",
            required: false,
            count: |o| ev(o, "ReadRefusedBelowMrp"),
        },
        Goal {
            name: "writer-fenced",
            what: "an old writer learned it was fenced by a newer epoch",
            required: false,
            count: |o| ev(o, "Fenced"),
        },
    ]
}

/// This run's count for every goal, by name.
pub fn measure(out: &SimOutput) -> BTreeMap<String, u64> {
    goals()
        .iter()
        .map(|g| (g.name.to_string(), (g.count)(out)))
        .collect()
}

/// Per goal: (total count, runs that reached it).
pub type Totals = BTreeMap<String, (u64, u64)>;

pub fn add(totals: &mut Totals, run: &BTreeMap<String, u64>) {
    for (k, v) in run {
        let e = totals.entry(k.clone()).or_insert((0, 0));
        e.0 += v;
        e.1 += u64::from(*v > 0);
    }
}

/// Required goals no run reached.
pub fn missing(totals: &Totals) -> Vec<&'static str> {
    goals()
        .iter()
        .filter(|g| g.required && totals.get(g.name).is_none_or(|t| t.1 == 0))
        .map(|g| g.name)
        .collect()
}

pub fn table(totals: &Totals, runs: usize) -> String {
    let mut b = tabled::builder::Builder::default();
    b.push_record([
        "coverage goal",
        "required",
        "events",
        "runs reaching it",
        "what",
    ]);
    for g in goals() {
        let (n, r) = totals.get(g.name).copied().unwrap_or((0, 0));
        b.push_record([
            g.name.to_string(),
            if g.required { "yes" } else { "tracked" }.to_string(),
            n.to_string(),
            format!("{r} of {runs}"),
            g.what.to_string(),
        ]);
    }
    let mut t = b.build();
    t.with(tabled::settings::Style::rounded());
    t.to_string()
}
