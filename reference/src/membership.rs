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
//! The control plane keeps a cached copy of the metadata service's state, polled
//! with `MetaStateGet`, and writes memberships there with compare-and-set
//! `MetaPut`s, resent until acknowledged; hosts act on cached copies and learn of
//! a change when a segment refuses their stale membership epoch (storage nodes
//! also poll on their background tick and report `(SCL, membership epoch)`).
//!
//! Repair: a member segment whose node has not reported for `repair_timeout_ms`
//! (destroyed, powered off, cut off) is replaced like this automatically, one
//! segment per PG at a time. The replacement is a live node without a segment of
//! the PG, in the failed one's AZ if one is free, otherwise in the AZ holding the
//! fewest of the PG's segments. A destroyed node never reports again, so its change
//! never reverts; it commits once the new segment has caught up (hydrated through
//! gossip from the survivors).
//!
//! Why the commit point is safe: until old members adopt the dual epoch, a writer
//! with the old view can still complete writes under the old quorum rule. Once at
//! least `6 - 4 + 1 = 3` old members have adopted it, at most 3 old members accept
//! old-epoch writes, fewer than a write quorum, so no further write completes under
//! the old rule. Every write that did complete was acknowledged by 4 old members, so
//! by at least one adopted member before it adopted; that member's SCL (reported
//! after adoption) covers it. The target G must reach is therefore the highest SCL
//! among adopted old members, fixed when the third adopts.

use crate::bug::Bug;
use crate::control::ControlPlane;
use crate::event::EventKind;
use crate::quorum::{Membership, SEGMENTS_PER_PG, WRITE_QUORUM};
use crate::topology::{Topology, META};
use crate::types::*;

/// Old members that must have adopted the dual epoch before no old-epoch write can
/// reach a write quorum.
pub const FENCE_ADOPTERS: usize = SEGMENTS_PER_PG - WRITE_QUORUM + 1;

/// How often the control plane polls the metadata service (and resends puts).
pub const META_POLL_MS: SimTime = 100;

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

/// How long after a change starts a report of F that predates the dual epoch still
/// may have been sent before F failed (in flight, or timed on another host's clock).
pub const STALE_REPORT_SLACK_MS: SimTime = 1000;

/// Is failed segment F back, judging by its latest report `r`? Invariant: a report
/// sent before F failed never counts. A report carrying the dual epoch (or later)
/// qualifies at once: F can only have adopted a membership that was written after
/// the change began, so it was up and reachable after it was declared failed (a
/// false failure detection: a brief outage, a flap). A report with an older epoch
/// counts only once it arrived more than `STALE_REPORT_SLACK_MS` after the start.
fn f_is_back(c: &Change, r: crate::topology::SclReport) -> bool {
    r.mepoch >= c.dual_epoch || r.at > c.started + STALE_REPORT_SLACK_MS
}

impl ControlPlane {
    pub(crate) fn membership_tick(&mut self, now: SimTime) -> Vec<Outbound> {
        let mut outs = vec![];
        let Some(mut t) = self.meta.take() else {
            return outs;
        };
        if now >= self.meta_polled + META_POLL_MS {
            self.meta_polled = now;
            outs.push(out(META, Msg::MetaStateGet));
            for (pg, (expect, m)) in &self.unconfirmed {
                outs.push(out(
                    META,
                    Msg::MetaPut {
                        pg: *pg,
                        expect: *expect,
                        membership: m.clone(),
                    },
                ));
            }
        }
        if self.meta_fresh {
            let before = t.pgs.clone();
            let requests = std::mem::take(&mut self.disk_mut().replace_requests);
            for failed in requests {
                self.begin_changes(now, &mut t, &failed);
            }
            self.repair(now, &mut t);
            self.advance_changes(&mut t);
            for (pg, m) in &t.pgs {
                if before.get(pg) != Some(m) {
                    let expect = match self.unconfirmed.get(pg) {
                        Some((e, _)) => *e,
                        None => before.get(pg).map(|b| b.epoch).unwrap_or(0),
                    };
                    self.unconfirmed.insert(*pg, (expect, m.clone()));
                    outs.push(out(
                        META,
                        Msg::MetaPut {
                            pg: *pg,
                            expect,
                            membership: m.clone(),
                        },
                    ));
                }
            }
        }
        self.meta = Some(t);
        outs
    }

    /// The metadata service's answers: its state (adopted except for PGs whose own
    /// put is still unconfirmed) and put acknowledgements.
    pub(crate) fn on_meta(&mut self, msg: Msg) {
        let Some(t) = self.meta.as_mut() else { return };
        match msg {
            Msg::MetaState {
                pgs,
                reports,
                seen,
                pgmap,
            } => {
                if let Some((map, used)) = pgmap {
                    if map.version >= t.pgmap.version {
                        t.pgmap = map;
                    }
                    t.used_hwm = used;
                }
                for (pg, m) in pgs {
                    if !self.unconfirmed.contains_key(&pg) {
                        t.pgs.insert(pg, m);
                    }
                }
                t.scl_reports = reports.into_iter().map(|(pg, h, r)| ((pg, h), r)).collect();
                t.seen = seen.into_iter().collect();
                self.meta_fresh = true;
            }
            Msg::MetaPutAck { pg, ok, current } => {
                let Some((_, mine)) = self.unconfirmed.get(&pg) else {
                    return;
                };
                if ok && *mine == current {
                    self.unconfirmed.remove(&pg);
                } else if !ok {
                    // Someone else's change won: take the service's state, drop ours.
                    self.unconfirmed.remove(&pg);
                    t.pgs.insert(pg, current);
                    self.changes.remove(&pg);
                }
            }
            _ => {}
        }
    }

    /// Fence, then commit or revert each change in progress (see the module docs).
    fn advance_changes(&mut self, t: &mut Topology) {
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
            let f_back = report(&c.failed).is_some_and(|r| f_is_back(&c, r));
            // Bug `membership-commit-early`: commit as soon as G has adopted the dual
            // epoch, whether or not it has caught up.
            let early = self.bugs.contains(&Bug::MembershipCommitEarly);
            let m = t.pgs.get_mut(&pg).unwrap();
            match (c.target, g) {
                (_, Some(_)) if early => {
                    m.commit();
                    self.committed(pg, &c, m.epoch);
                }
                (Some(target), Some(g)) if g.scl >= target => {
                    m.commit();
                    self.committed(pg, &c, m.epoch);
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

    fn committed(&mut self, pg: PgId, c: &Change, epoch: MEpoch) {
        self.events.push(EventKind::MembershipChanged {
            pg,
            stage: format!(
                "committed: {} replaced {} (membership epoch {})",
                c.replacement, c.failed, epoch
            ),
        });
        self.events.push(EventKind::SegmentReplaced {
            pg,
            failed: c.failed.clone(),
            replacement: c.replacement.clone(),
            started_ms: c.started,
            members: c
                .old_members
                .iter()
                .map(|h| {
                    if *h == c.failed {
                        c.replacement.clone()
                    } else {
                        h.clone()
                    }
                })
                .collect(),
        });
        self.changes.remove(&pg);
    }

    /// Automatic repair: replace one silent member per PG (see the module docs).
    fn repair(&mut self, now: SimTime, t: &mut Topology) {
        let timeout = self.cfg.repair_timeout_ms;
        let started = self.started_at.unwrap_or(now);
        if timeout == 0 || now < started + timeout {
            return;
        }
        let silent = |t: &Topology, h: &str| {
            t.seen
                .get(h)
                .is_none_or(|s| now.saturating_sub(*s) >= timeout)
        };
        let pgs: Vec<PgId> = t.pgs.keys().copied().collect();
        for pg in pgs {
            if self.changes.contains_key(&pg) || self.unconfirmed.contains_key(&pg) {
                continue;
            }
            let m = &t.pgs[&pg];
            if m.next.is_some() {
                continue;
            }
            let Some(failed) = m.members.iter().find(|h| silent(t, h)).cloned() else {
                continue;
            };
            self.begin_change(now, t, pg, &failed);
        }
    }

    /// Enter the dual stage for every PG that has `failed` as a member (an operator's
    /// request, the `replace-segment` fault).
    fn begin_changes(&mut self, now: SimTime, t: &mut Topology, failed: &str) {
        let pgs: Vec<PgId> = t
            .pgs
            .iter()
            .filter(|(_, m)| m.next.is_none() && m.members.iter().any(|h| h == failed))
            .map(|(p, _)| *p)
            .collect();
        for pg in pgs {
            if !self.changes.contains_key(&pg) && !self.unconfirmed.contains_key(&pg) {
                self.begin_change(now, t, pg, failed);
            }
        }
    }

    /// Replace `failed` in `pg` with a live node holding no segment of it, if any.
    fn begin_change(&mut self, now: SimTime, t: &mut Topology, pg: PgId, failed: &str) {
        let Some(g) = replacement_for(now, t, &t.pgs[&pg], failed) else {
            return;
        };
        let members = t.pgs[&pg].members.clone();
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

    fn disk_mut(&self) -> std::cell::RefMut<'_, crate::control::ControlDisk> {
        self.disk.borrow_mut()
    }
}

/// A node that reported within the last 2 s and holds no segment of the PG: in the
/// failed node's AZ if possible, else in the AZ with the fewest of the PG's segments
/// (ties: lower AZ, then name).
fn replacement_for(now: SimTime, t: &Topology, m: &Membership, failed: &str) -> Option<String> {
    let alive = |h: &str| {
        t.seen
            .get(h)
            .is_some_and(|s| now.saturating_sub(*s) < 2_000)
    };
    let az_of = |h: &str| t.az.get(h).copied().unwrap_or(usize::MAX);
    let failed_az = az_of(failed);
    let all = m.all();
    let per_az = |a: usize| all.iter().filter(|h| az_of(h) == a).count();
    t.az.iter()
        .filter(|(h, _)| !all.contains(h) && alive(h))
        .min_by_key(|(h, a)| (**a != failed_az, per_az(**a), **a, (*h).clone()))
        .map(|(h, _)| h.clone())
}
