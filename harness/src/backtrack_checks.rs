//! Checks of a run with backtracks: the workload's checks merged over the history's lineages,
//! and the junctions themselves (C14: each rewind lands on the nearest commit point at or
//! before its target, and targets outside the window are refused; C15: a rewind into an
//! earlier interval — moving forward again — restores that later state).

use crate::checks::{figure, CheckResult};
use crate::config::RunConfig;
use checkers::{History, Validity};
use workloads::checks::timeline::{lineages, not_nearest, rewinds};

/// One result per check: a checker's verdict merged over every lineage (the worst validity,
/// the summary of the first lineage where it failed); a measured figure — those read the final
/// reads — from the lineages that have final reads (after backtracks only the last one; with
/// clones the source's and each clone's), summed. `per` holds (label, has final reads, results).
pub fn merge_lineages(per: Vec<(String, bool, Vec<CheckResult>)>) -> Vec<CheckResult> {
    let Some((_, _, first)) = per.first() else {
        return vec![];
    };
    let last = per.len() - 1;
    let mut merged = first.clone();
    for (i, m) in merged.iter_mut().enumerate() {
        let all: Vec<(&String, &CheckResult)> = per
            .iter()
            .enumerate()
            .filter(|(k, (_, finals, rs))| {
                rs.get(i).is_some_and(|r| r.verdict.is_some()) || *finals || *k == last
            })
            .filter_map(|(_, (l, _, rs))| rs.get(i).map(|r| (l, r)))
            .collect();
        let bad = all.iter().find(|(_, r)| r.valid != Validity::Valid);
        m.valid = all
            .iter()
            .fold(Validity::Valid, |v, (_, r)| worst(v, r.valid));
        if let Some(f) = m.figure.as_mut() {
            *f = all.iter().filter_map(|(_, r)| r.figure).sum();
        }
        let (label, shown) = bad.copied().unwrap_or(all[0]);
        m.summary = format!("{} lineages; {label}: {}", all.len(), shown.summary);
        m.verdict = shown.verdict.clone();
    }
    merged
}

fn worst(a: Validity, b: Validity) -> Validity {
    match (a, b) {
        (Validity::Invalid, _) | (_, Validity::Invalid) => Validity::Invalid,
        (Validity::Unknown, _) | (_, Validity::Unknown) => Validity::Unknown,
        _ => Validity::Valid,
    }
}

/// The junction checks, when the history has backtrack requests.
pub fn timeline_checks(cfg: &RunConfig, h: &History) -> Vec<CheckResult> {
    // Backtracks rewind the source: its side alone (clones' ops are checked per clone).
    let source = workloads::checks::fork::side(h, 0);
    let h = &source;
    let (done, refused) = rewinds(h);
    if done.is_empty() && refused.is_empty() {
        return vec![];
    }
    let window = cfg.cluster.backtrack_window_ms.unwrap_or(0) as i64;
    // Accepted although outside [requested - window, requested].
    let outside: Vec<String> = done
        .iter()
        .filter(|r| window == 0 || r.to_ms > r.requested_ms || r.to_ms < r.requested_ms - window)
        .map(|r| format!("target {} ms accepted at {} ms", r.to_ms, r.requested_ms))
        .collect();
    let far = not_nearest(h);
    let torn = partly_visible(h);
    let n = (far.len() + outside.len() + torn.len()) as f64;
    let mut out = vec![figure(
        "backtrack lands on the nearest commit point; out-of-window targets refused",
        &["C14"],
        n,
        0.0,
        "violations",
        false,
        n == 0.0,
        match far
            .first()
            .map(|x| x.1.clone())
            .or(outside.first().cloned())
            .or(torn.first().cloned())
        {
            None => format!(
                "{} backtracks done (T′ = {}), {} refused",
                done.len(),
                done.iter()
                    .map(|r| format!("{} ms for T = {} ms", r.to_prime_ms, r.to_ms))
                    .collect::<Vec<_>>()
                    .join("; "),
                refused.len()
            ),
            Some(first) => format!("{n} violations; first: {first}"),
        },
    )];
    let forward: Vec<usize> = (0..done.len()).filter(|&i| done[i].forward(i)).collect();
    if !forward.is_empty() {
        let near_bad = far.iter().filter(|(i, _)| forward.contains(i)).count();
        out.push(figure(
            "backtrack forward restores the later state",
            &["C15"],
            near_bad as f64,
            0.0,
            "violations",
            false,
            near_bad == 0,
            format!(
                "{} rewinds into an earlier interval; {near_bad} did not reach the nearest commit point (the lineages after them are checked by the workload's checks)",
                forward.len()
            ),
        ));
    }
    out
}

/// Transactions (of list-append shape) whose appends the final reads show for some keys and
/// not for others: a rewind that cut inside a transaction. Read from the last lineage, where
/// the final reads are; a transaction the final reads cannot see at all is not counted.
fn partly_visible(h: &History) -> Vec<String> {
    use workloads::checks::list_append::{final_lists, mops};
    let lin = lineages(h);
    let Some((_, last)) = lin.last() else {
        return vec![];
    };
    let finals = final_lists(last);
    let mut out = vec![];
    for op in last.ops.iter().filter(|o| {
        o.f.as_deref() == Some("txn")
            && matches!(o.kind, checkers::OpType::Ok | checkers::OpType::Info)
    }) {
        let seen: Vec<bool> = mops(op)
            .into_iter()
            .filter(|(a, k, _)| *a && finals.contains_key(k))
            .map(|(_, k, v)| finals[&k].contains(&v))
            .collect();
        if seen.iter().any(|x| *x) && seen.iter().any(|x| !*x) {
            out.push(format!(
                "transaction at op {} is partly visible in the final reads",
                op.index
            ));
        }
    }
    out
}
