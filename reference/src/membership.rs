//! Segment replacement [P18 §4.1], driven by the control plane.
//!
//! Replacing failed segment F with G (a node of the same AZ that holds no segment
//! of the PG) first enters the dual-quorum stage: the PG's membership epoch is
//! bumped and its member list becomes "ABCDEF and ABCDEG". Writers then need 4/6 of
//! both sets and send to all 7 segments; reads need 3/6 of either; no I/O blocks.
//! G fills itself through gossip. Once G's SCL reaches the point that was at
//! write quorum when the change began, the change commits (ABCDEG). If F reports
//! again before that, the change reverts (ABCDEF).
//!
//! Membership lives in the shared [`Topology`](crate::topology::Topology) (Aurora's
//! metadata service), so every host sees a change at once; storage nodes report
//! their SCLs there on their background tick.

use crate::control::ControlPlane;
use crate::event::EventKind;
use crate::quorum::WRITE_QUORUM;
use crate::types::*;
use std::collections::BTreeMap;

#[derive(Clone, Debug)]
pub struct Change {
    pub failed: String,
    pub replacement: String,
    /// PGCL of the old member set when the change began: G must reach it.
    pub target: Lsn,
    pub started: SimTime,
}

impl ControlPlane {
    pub(crate) fn membership_tick(&mut self, now: SimTime) {
        let Some(topo) = self.topo.clone() else {
            return;
        };
        let requests = std::mem::take(&mut self.disk_mut().replace_requests);
        let mut t = topo.borrow_mut();
        for failed in requests {
            let pgs: Vec<PgId> = t
                .pgs
                .iter()
                .filter(|(_, m)| m.next.is_none() && m.members.contains(&failed))
                .map(|(p, _)| *p)
                .collect();
            for pg in pgs {
                let az = t.az.get(&failed).copied();
                let members = t.pgs[&pg].members.clone();
                let Some(g) =
                    t.az.iter()
                        .find(|(h, a)| Some(**a) == az && !members.contains(h))
                        .map(|(h, _)| h.clone())
                else {
                    continue;
                };
                let scl: BTreeMap<String, Lsn> = members
                    .iter()
                    .map(|m| {
                        (
                            m.clone(),
                            t.scl_reports
                                .get(&(pg, m.clone()))
                                .map(|x| x.0)
                                .unwrap_or_default(),
                        )
                    })
                    .collect();
                let target = crate::quorum::quorum_point(&members, &scl, WRITE_QUORUM);
                let m = t.pgs.get_mut(&pg).unwrap();
                if m.begin_replace(&failed, &g) {
                    self.events.push(EventKind::MembershipChanged {
                        pg,
                        stage: format!(
                            "dual: replace {failed} with {g} (membership epoch {})",
                            m.epoch
                        ),
                    });
                    self.changes.insert(
                        pg,
                        Change {
                            failed: failed.clone(),
                            replacement: g,
                            target,
                            started: now,
                        },
                    );
                }
            }
        }
        let pgs: Vec<PgId> = self.changes.keys().copied().collect();
        for pg in pgs {
            let c = self.changes[&pg].clone();
            let g_scl = t
                .scl_reports
                .get(&(pg, c.replacement.clone()))
                .map(|x| x.0)
                .unwrap_or_default();
            let f_back = t
                .scl_reports
                .get(&(pg, c.failed.clone()))
                .map(|x| x.1 > c.started + 1000)
                .unwrap_or(false);
            let m = t.pgs.get_mut(&pg).unwrap();
            if g_scl >= c.target && g_scl > Lsn::ZERO
                || (c.target == Lsn::ZERO && now > c.started + 500)
            {
                m.commit();
                self.events.push(EventKind::MembershipChanged {
                    pg,
                    stage: format!(
                        "committed: {} replaced {} (membership epoch {})",
                        c.replacement, c.failed, m.epoch
                    ),
                });
                self.changes.remove(&pg);
            } else if f_back {
                m.revert();
                self.events.push(EventKind::MembershipChanged {
                    pg,
                    stage: format!(
                        "reverted: {} is back (membership epoch {})",
                        c.failed, m.epoch
                    ),
                });
                self.changes.remove(&pg);
            }
        }
    }

    fn disk_mut(&self) -> std::cell::RefMut<'_, crate::control::ControlDisk> {
        self.disk.borrow_mut()
    }
}
