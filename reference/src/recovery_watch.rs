//! White-box check of recovery's read quorum, from the transport's vantage point.
//!
//! Invariant [P18 §2.4]: a writer opening the volume decides the new VDL and truncation
//! range of epoch `E` from a read quorum (3 of 6) of every PG. So no host may put a
//! recovery decision for `(E, pg)` on the wire (a `RecoverCommit`) before storage's
//! answers to `E`'s query of `pg` (`RecoverState`) from at least 3 distinct segments were
//! *delivered* to it. The evidence is what the network carried, recorded by the host
//! wrapper (`net::run_node`) as datagrams arrive and leave, never the writer's own
//! recovery state: an answer still in flight when the decision left cannot have
//! informed it. The correct reference waits for a write quorum (4 of every member set),
//! so it always satisfies this weaker bound; answers from any segment count (never
//! fewer than the members'), so a membership change cannot make the check stricter
//! than the protocol. Only PGs the host queried in that epoch are judged: a PG the map
//! gained after the decision (auto-scaling) was provisioned empty, holds nothing recovery
//! must read, and gets the decision without a query (every PG in the map while the
//! queries went out must answer before the decision, so none of those is skipped).

use crate::quorum::READ_QUORUM;
use crate::types::{Epoch, PgId};
use std::collections::{BTreeMap, BTreeSet};

/// Per (deciding host, epoch, PG): the segments whose answers reached that host.
#[derive(Default)]
pub struct RecoveryQuorumWatch {
    queried: BTreeSet<(String, Epoch, PgId)>,
    answers: BTreeMap<(String, Epoch, PgId), BTreeSet<String>>,
    /// Decisions already judged (a commit is resent until acknowledged).
    decided: BTreeSet<(String, Epoch, PgId)>,
    /// Decisions judged, for coverage and tests.
    pub decisions: u64,
}

impl RecoveryQuorumWatch {
    /// `host` sent recovery `epoch`'s query of `pg` (to any of its segments).
    pub fn query_sent(&mut self, host: &str, epoch: Epoch, pg: PgId) {
        self.queried.insert((host.to_string(), epoch, pg));
    }

    /// Storage segment `seg`'s answer to recovery `epoch`'s query of `pg` reached `host`.
    pub fn answer_delivered(&mut self, host: &str, epoch: Epoch, pg: PgId, seg: &str) {
        self.answers
            .entry((host.to_string(), epoch, pg))
            .or_default()
            .insert(seg.to_string());
    }

    /// `host` sent recovery `epoch`'s decision for `pg`: a violation message if fewer
    /// than a read quorum of answers had reached it (judged once per decision, and only
    /// for a PG the host queried in that epoch).
    pub fn decision_sent(&mut self, host: &str, epoch: Epoch, pg: PgId) -> Option<String> {
        let key = (host.to_string(), epoch, pg);
        if !self.queried.contains(&key) || !self.decided.insert(key.clone()) {
            return None;
        }
        self.decisions += 1;
        let got = self.answers.get(&key).cloned().unwrap_or_default();
        if got.len() >= READ_QUORUM {
            return None;
        }
        let names: Vec<String> = got.into_iter().collect();
        Some(format!(
            "recovery for epoch {epoch} sent its decision for PG {pg} after answers from only {} segment(s) [{}] had reached it (a read quorum is {READ_QUORUM})",
            names.len(),
            names.join(", ")
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_decision_needs_three_delivered_answers_per_pg() {
        let mut w = RecoveryQuorumWatch::default();
        w.query_sent("db-2", 3, 0);
        w.query_sent("db-2", 3, 1);
        for s in ["s-a", "s-b", "s-c"] {
            w.answer_delivered("db-2", 3, 0, s);
        }
        w.answer_delivered("db-2", 3, 1, "s-a");
        w.answer_delivered("db-2", 3, 1, "s-a");
        w.answer_delivered("db-2", 3, 1, "s-b");
        // Another host's (or epoch's) answers do not count.
        w.answer_delivered("db-1", 3, 1, "s-c");
        w.answer_delivered("db-2", 2, 1, "s-d");
        assert_eq!(w.decision_sent("db-2", 3, 0), None);
        let v = w
            .decision_sent("db-2", 3, 1)
            .expect("2 answers are not a read quorum");
        assert!(v.contains("only 2 segment(s) [s-a, s-b]"), "{v}");
        // Resends are not judged again.
        assert_eq!(w.decision_sent("db-2", 3, 1), None);
        // A PG never queried in that epoch (added to the map after the decision) is not judged.
        assert_eq!(w.decision_sent("db-2", 3, 2), None);
        assert_eq!(w.decisions, 2);
    }
}
