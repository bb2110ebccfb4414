//! Parallel query's check (C26), from the clients' observations: every completed `:scan`
//! ran the same query twice at one read point — pushed down to storage, then evaluated at
//! the instance from page reads — and recorded both results (see `workloads::register`).
//! A mismatch is a pushed-down result that differs from the instance-side evaluation at
//! the same read point. The bytes each way (wire sizes of the storage replies the instance
//! received for the query) are summed for the efficiency figure.
//!
//! The workload checkers never see `:scan` ops ([`without_scans`]): they are checked here.

use crate::checks::{figure, CheckResult};
use checkers::{History, OpType};

/// One completed scan: (invoke ns, pushed (count, sum), local (count, sum), pushed bytes,
/// local bytes).
pub type ScanObs = (i64, (i64, i64), (i64, i64), i64, i64);

/// Every ok `:scan` of the history.
pub fn scans(h: &History) -> Vec<ScanObs> {
    let Ok(pairs) = h.pairs() else {
        return vec![];
    };
    pairs
        .iter()
        .filter_map(|p| {
            let inv = &h.ops[p.invoke];
            let c = &h.ops[p.complete?];
            if inv.f() != "scan" || c.kind != OpType::Ok {
                return None;
            }
            let v: Vec<i64> = c
                .value
                .as_vec()?
                .iter()
                .map(|x| x.as_int())
                .collect::<Option<_>>()?;
            (v.len() == 12).then(|| {
                (
                    inv.time.unwrap_or(0),
                    (v[3], v[4]),
                    (v[5], v[6]),
                    v[9],
                    v[11],
                )
            })
        })
        .collect()
}

/// The history without its `:scan` ops (None when it has none: use it as is).
pub fn without_scans(h: &History) -> Option<History> {
    if !h.ops.iter().any(|o| o.f() == "scan") {
        return None;
    }
    let mut out = History::new(h.ops.iter().filter(|o| o.f() != "scan").cloned().collect());
    out.reindex();
    Some(out)
}

/// The check row of a run with scans (none without).
pub fn checks(h: &History) -> Vec<CheckResult> {
    let s = scans(h);
    if s.is_empty() {
        return vec![];
    }
    let bad: Vec<&ScanObs> = s.iter().filter(|x| x.1 != x.2).collect();
    let (pb, lb) = s.iter().fold((0, 0), |a, x| (a.0 + x.3, a.1 + x.4));
    let summary = match bad.first() {
        Some(x) => format!(
            "{} of {} scans differ; first at {:.3} s: pushed down (count, sum) {:?}, at the instance {:?}",
            bad.len(),
            s.len(),
            x.0 as f64 / 1e9,
            x.1,
            x.2
        ),
        None => format!(
            "{} scans equal at their read point; storage replies moved {pb} bytes pushed down vs {lb} at the instance",
            s.len()
        ),
    };
    vec![figure(
        "parallel query equals instance-side evaluation at the same read point",
        &["C26"],
        bad.len() as f64,
        0.0,
        "",
        false,
        bad.is_empty(),
        summary,
    )]
}
