//! Quorum arithmetic, pure and separately tested: 4/6 writes, 3/6 reads, PGCL from
//! segment SCLs, and the dual-quorum stage of a membership change [P18 §4.1].

use crate::types::Lsn;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

pub const SEGMENTS_PER_PG: usize = 6;
pub const WRITE_QUORUM: usize = 4;
pub const READ_QUORUM: usize = 3;

/// The highest LSN that at least `quorum` of `members` have reached, given each
/// member's SCL (`Lsn::ZERO` for members not heard from).
pub fn quorum_point(members: &[String], scl: &BTreeMap<String, Lsn>, quorum: usize) -> Lsn {
    let mut v: Vec<Lsn> = members
        .iter()
        .map(|m| scl.get(m).copied().unwrap_or_default())
        .collect();
    v.sort_unstable_by(|a, b| b.cmp(a));
    if quorum == 0 || quorum > v.len() {
        return Lsn::ZERO;
    }
    v[quorum - 1]
}

/// A PG's membership: stable, or in the dual-quorum stage of replacing one segment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Membership {
    pub epoch: u64,
    pub members: Vec<String>,
    /// During a replacement: the member set with the failed segment swapped out.
    pub next: Option<Vec<String>>,
}

impl Membership {
    pub fn new(members: Vec<String>) -> Self {
        Membership {
            epoch: 1,
            members,
            next: None,
        }
    }
    /// Every segment that should receive writes (union of both sets in the dual stage).
    pub fn all(&self) -> Vec<String> {
        let mut s: BTreeSet<String> = self.members.iter().cloned().collect();
        if let Some(n) = &self.next {
            s.extend(n.iter().cloned());
        }
        s.into_iter().collect()
    }
    /// Whether `host` holds a segment in either set (no allocation: checked on every I/O).
    pub fn has(&self, host: &str) -> bool {
        self.members
            .iter()
            .chain(self.next.iter().flatten())
            .any(|h| h == host)
    }
    fn sets(&self) -> Vec<&Vec<String>> {
        let mut v = vec![&self.members];
        if let Some(n) = &self.next {
            v.push(n);
        }
        v
    }
    /// Write quorum: 4/6 of every current set (both sets in the dual stage).
    pub fn write_ok(&self, acked: &BTreeSet<String>) -> bool {
        self.sets()
            .iter()
            .all(|s| s.iter().filter(|m| acked.contains(*m)).count() >= WRITE_QUORUM)
    }
    /// Read quorum: 3/6 of either set.
    pub fn read_ok(&self, answered: &BTreeSet<String>) -> bool {
        self.sets()
            .iter()
            .any(|s| s.iter().filter(|m| answered.contains(*m)).count() >= READ_QUORUM)
    }
    /// PGCL: highest LSN at write quorum in every set.
    pub fn pgcl(&self, scl: &BTreeMap<String, Lsn>, quorum: usize) -> Lsn {
        self.sets()
            .iter()
            .map(|s| quorum_point(s, scl, quorum))
            .min()
            .unwrap_or_default()
    }
    /// Begin replacing `failed` with `replacement` (dual-quorum stage).
    pub fn begin_replace(&mut self, failed: &str, replacement: &str) -> bool {
        if self.next.is_some() || !self.members.iter().any(|m| m == failed) {
            return false;
        }
        let n = self
            .members
            .iter()
            .map(|m| {
                if m == failed {
                    replacement.to_string()
                } else {
                    m.clone()
                }
            })
            .collect();
        self.next = Some(n);
        self.epoch += 1;
        true
    }
    pub fn commit(&mut self) {
        if let Some(n) = self.next.take() {
            self.members = n;
            self.epoch += 1;
        }
    }
    pub fn revert(&mut self) {
        if self.next.take().is_some() {
            self.epoch += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn names() -> Vec<String> {
        (0..6).map(|i| format!("s{i}")).collect()
    }

    proptest! {
        #[test]
        fn quorum_point_is_reached_by_exactly_enough(scls in proptest::collection::vec(0u64..50, 6), q in 1usize..=6) {
            let m = names();
            let map: BTreeMap<String, Lsn> = m.iter().cloned().zip(scls.iter().map(|&x| Lsn(x))).collect();
            let p = quorum_point(&m, &map, q);
            prop_assert!(scls.iter().filter(|&&x| Lsn(x) >= p).count() >= q);
            prop_assert!(scls.iter().filter(|&&x| Lsn(x) > p).count() < q);
        }

        #[test]
        fn write_and_read_quorums_intersect(a in proptest::collection::btree_set(0usize..6, 0..=6), b in proptest::collection::btree_set(0usize..6, 0..=6)) {
            let m = Membership::new(names());
            let sa: BTreeSet<String> = a.iter().map(|i| format!("s{i}")).collect();
            let sb: BTreeSet<String> = b.iter().map(|i| format!("s{i}")).collect();
            if m.write_ok(&sa) && m.read_ok(&sb) {
                prop_assert!(sa.intersection(&sb).next().is_some());
            }
            if m.write_ok(&sa) && m.write_ok(&sb) {
                prop_assert!(sa.intersection(&sb).next().is_some());
            }
        }

        #[test]
        fn dual_stage_write_meets_both_quorums(acks in proptest::collection::btree_set(0usize..7, 0..=7), failed in 0usize..6, commit in any::<bool>()) {
            let mut m = Membership::new(names());
            let f = format!("s{failed}");
            prop_assert!(m.begin_replace(&f, "s6"));
            let set: BTreeSet<String> = acks.iter().map(|i| format!("s{i}")).collect();
            let ok = m.write_ok(&set);
            let old = names().iter().filter(|n| set.contains(*n)).count();
            let new = names().iter().map(|n| if *n == format!("s{failed}") { "s6".to_string() } else { n.clone() }).filter(|n| set.contains(n)).count();
            prop_assert_eq!(ok, old >= 4 && new >= 4);
            // A write acknowledged in the dual stage is at write quorum in whichever set wins.
            if ok {
                if commit { m.commit() } else { m.revert() }
                prop_assert!(m.write_ok(&set));
                prop_assert!(m.read_ok(&set));
            }
        }

        #[test]
        fn pgcl_in_dual_stage_is_min_of_both(scls in proptest::collection::vec(0u64..30, 7)) {
            let mut m = Membership::new(names());
            m.begin_replace("s0", "s6");
            let map: BTreeMap<String, Lsn> = (0..7).map(|i| (format!("s{i}"), Lsn(scls[i]))).collect();
            let p = m.pgcl(&map, WRITE_QUORUM);
            let have: BTreeSet<String> = map.iter().filter(|(_, l)| **l >= p).map(|(k, _)| k.clone()).collect();
            prop_assert!(m.write_ok(&have));
        }
    }

    #[test]
    fn az_plus_one_keeps_read_quorum_but_not_write() {
        let m = Membership::new(names());
        // segments 0,1 in AZ0 lost, plus 2: 3 remain
        let alive: BTreeSet<String> = ["s3", "s4", "s5"].iter().map(|s| s.to_string()).collect();
        assert!(m.read_ok(&alive));
        assert!(!m.write_ok(&alive));
        let az_down: BTreeSet<String> = ["s2", "s3", "s4", "s5"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert!(m.write_ok(&az_down));
    }
}
