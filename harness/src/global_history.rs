//! What the workload checkers see of a global-database run, and C20's recovery time, from
//! the client history: after a failover, operations inside the loss window become
//! indeterminate; the RTO is failure to the first successful write through the writer
//! endpoint. (Moved out of `global_checks.rs`, unchanged.)

use crate::global_checks::GlobalView;
use crate::sim::SimOutput;
use checkers::{History, OpType, Process};

/// C20: failure to the first successful write through the writer endpoint after it.
pub fn rto_ms(h: &History, failure_ms: u64) -> Option<u64> {
    let pairs = h.pairs().ok()?;
    pairs
        .iter()
        .filter_map(|p| {
            let inv = &h.ops[p.invoke];
            let done = &h.ops[p.complete?];
            let is_client = matches!(inv.process, Some(Process::Client(_)));
            let t0 = inv.time? as u64 / 1_000_000;
            let t1 = done.time? as u64 / 1_000_000;
            let write = inv.f() != "read" && format!("{}", inv.value) != "nil";
            (is_client
                && done.kind == OpType::Ok
                && workloads::recorder::on_primary(inv)
                && write
                && t0 >= failure_ms)
                .then_some(t1 - failure_ms)
        })
        .min()
}

/// The history the workload checkers see: after a failover that allows data loss, what the old
/// primary acknowledged inside the last lag window before the failure may be lost — writes, and
/// reads through any endpoint that observed them — so those operations become indeterminate
/// (`:info`, reads unknown); everything else is checked as recorded (the losses themselves are checked by
/// [`checks`]: only from that window).
pub fn history_for_checks(out: &SimOutput) -> Option<History> {
    let v = GlobalView::build(out)?;
    let windows: Vec<(u64, u64)> = v
        .changes
        .iter()
        .filter(|c| c.kind == "failover")
        .map(|c| {
            (
                c.failure_ms.saturating_sub(v.rpo_lag(&c.to, c.failure_ms)),
                c.at_ms,
            )
        })
        .collect();
    if windows.is_empty() {
        return None;
    }
    let mut h = out.history.clone();
    let pairs = h.pairs().ok()?;
    for p in pairs {
        let Some(ci) = p.complete else { continue };
        // Any endpoint: a reader in the promoted-then-lost region (or a secondary ahead of
        // the promoted one) can have observed what the failover lost. A read completed
        // before the window's start observed only commits durable before it (never lost).
        if h.ops[ci].kind != OpType::Ok {
            continue;
        }
        let t = h.ops[ci].time.unwrap_or(0) as u64 / 1_000_000;
        // Acknowledged at or after the window's start (or invoked before the failure and
        // acknowledged during the outage).
        if windows.iter().any(|(s, e)| t >= *s && t <= *e) {
            // As Jepsen records an indeterminate op: its reads unknown (the invocation's value).
            let v = h.ops[p.invoke].value.clone();
            h.ops[ci].kind = OpType::Info;
            h.ops[ci].value = v;
        }
    }
    Some(h)
}
