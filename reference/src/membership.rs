//! Segment replacement [P18 §4.1], driven by the control plane.
//!
//! Replacing failed segment F with G (a node of the same AZ that holds no segment
//! of the PG) first enters the dual-quorum stage: the PG's membership epoch is
//! bumped and its member list becomes "ABCDEF and ABCDEG". Writers then need 4/6 of
//! both sets and send to all 7 segments; reads need 3/6 of either; no I/O blocks.
//! G fills itself through gossip. If F reports again first, the change reverts
//! (ABCDEF); otherwise it commits (ABCDEG) once G holds everything that may have
//! been acknowledged under the old membership. Each step bumps the epoch.
//!
//! The control plane writes memberships to the metadata service
//! ([`Topology`](crate::topology::Topology)); hosts act on cached copies and learn of
//! a change when a segment refuses their stale membership epoch (storage nodes
//! also poll on their background tick and report `(SCL, membership epoch)`).
//!
//! Why the commit point is safe: until old members adopt the dual epoch, a writer
//! with the old view can still complete writes under the old quorum rule. Once at
//! least `6 - 4 + 1 = 3` old members have adopted it, at most 3 old members accept
//! old-epoch writes, fewer than a write quorum, so no further write completes under
//! the old rule. Every write that did complete was acknowledged by 4 old members, so
//! by at least one adopted member before it adopted; that member's SCL (reported
//! after adoption) covers it. The target G must reach is therefore the highest SCL
//! among adopted old members, fixed when the third adopts.

use crate::control::ControlPlane;
use crate::event::EventKind;
use crate::quorum::{SEGMENTS_PER_PG, WRITE_QUORUM};
use crate::topology::Topology;
use crate::types::*;

/// Old members that must have adopted the dual epoch before no old-epoch write can
/// reach a write quorum.
pub const FENCE_ADOPTERS: usize = SEGMENTS_PER_PG - WRITE_QUORUM + 1;

#[derive(Clone, Debug)]
pub struct Change {
    pub failed: String,
    pub replacement: String,
    /// The membership epoch of the dual stage.
    pub dual_epoch: MEpoch,
    /// The old member set (F included).
    pub old_members: Vec<String>,
    /// What G must reach before the change commits; set once the old membership is
    /// fenced (see the module docs).
    pub target: Option<Lsn>,
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
            self.begin_changes(now, &mut t, &failed);
        }
        let pgs: Vec<PgId> = self.changes.keys().copied().collect();
        for pg in pgs {
            let mut c = self.changes[&pg].clone();
            let report = |h: &str| t.scl_reports.get(&(pg, h.to_string())).copied();
            if c.target.is_none() {
                let adopted: Vec<Lsn> = c
                    .old_members
                    .iter()
                    .filter_map(|h| report(h))
                    .filter(|r| r.mepoch >= c.dual_epoch)
                    .map(|r| r.scl)
                    .collect();
                if adopted.len() >= FENCE_ADOPTERS {
                    c.target = adopted.into_iter().max();
                    self.events.push(EventKind::MembershipChanged {
                        pg,
                        stage: format!(
                            "fenced: old membership closed, {} must reach LSN {}",
                            c.replacement,
                            c.target.unwrap_or_default()
                        ),
                    });
                }
            }
            let g = report(&c.replacement).filter(|r| r.mepoch >= c.dual_epoch);
            let f_back = report(&c.failed)
                .map(|r| r.at > c.started + 1000)
                .unwrap_or(false);
            let m = t.pgs.get_mut(&pg).unwrap();
            match (c.target, g) {
                (Some(target), Some(g)) if g.scl >= target => {
                    m.commit();
                    self.events.push(EventKind::MembershipChanged {
                        pg,
                        stage: format!(
                            "committed: {} replaced {} (membership epoch {})",
                            c.replacement, c.failed, m.epoch
                        ),
                    });
                    self.changes.remove(&pg);
                }
                _ if f_back => {
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
                _ => {
                    self.changes.insert(pg, c);
                }
            }
        }
    }

    /// Enter the dual stage for every PG that has `failed` as a member and a
    /// possible replacement in the same AZ.
    fn begin_changes(&mut self, now: SimTime, t: &mut Topology, failed: &str) {
        let pgs: Vec<PgId> = t
            .pgs
            .iter()
            .filter(|(_, m)| m.next.is_none() && m.members.iter().any(|h| h == failed))
            .map(|(p, _)| *p)
            .collect();
        for pg in pgs {
            let az = t.az.get(failed).copied();
            let members = t.pgs[&pg].members.clone();
            let Some(g) =
                t.az.iter()
                    .find(|(h, a)| Some(**a) == az && !members.contains(h))
                    .map(|(h, _)| h.clone())
            else {
                continue;
            };
            let m = t.pgs.get_mut(&pg).unwrap();
            if m.begin_replace(failed, &g) {
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
                        failed: failed.to_string(),
                        replacement: g,
                        dual_epoch: m.epoch,
                        old_members: members,
                        target: None,
                        started: now,
                    },
                );
            }
        }
    }

    fn disk_mut(&self) -> std::cell::RefMut<'_, crate::control::ControlDisk> {
        self.disk.borrow_mut()
    }
}
