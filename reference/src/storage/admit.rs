//! The storage node's admission of an I/O: membership epochs (refuse stale, refresh on newer),
//! the volume epoch fence against zombie writers, and the view adopted from the metadata service.

use super::StorageNode;
use crate::branch::volume_of;
use crate::bug::Bug;
use crate::event::EventKind;
use crate::quorum::Membership;
use crate::types::*;
use std::collections::BTreeMap;

impl StorageNode {
    /// Membership check of every I/O: refuse a stale epoch or an I/O for a PG this
    /// node is not a member of. An I/O carrying a newer epoch than this node's view is
    /// dropped while the node asks the metadata service (the sender retries): acting
    /// on it before learning the new member list could serve a PG this node has left.
    /// `Some(replies)` means the I/O is not admitted.
    pub(super) fn admit(
        &mut self,
        now: SimTime,
        from: &str,
        pg: PgId,
        mepoch: MEpoch,
        read: Option<u64>,
    ) -> Option<Vec<Outbound>> {
        // A volume this node has not learnt of yet: ask the metadata service (the
        // sender retries); never serve it from an empty segment.
        if volume_of(pg) != 0 && !self.disk.borrow().branches.contains_key(&volume_of(pg)) {
            return Some(self.view.request(now).into_iter().collect());
        }
        let current = self.view.epoch(pg);
        if mepoch > current {
            return Some(self.view.request(now).into_iter().collect());
        }
        let member = current > 0 && self.view.get(pg).has(&self.name);
        let stale_ok = self.cfg.bugs.contains(&Bug::StaleMembershipAccepted);
        if member && (mepoch == current || stale_ok) {
            if mepoch < current {
                self.events.push(EventKind::StaleMembershipAdmitted {
                    pg,
                    mepoch,
                    current,
                });
            }
            return None;
        }
        self.events.push(EventKind::StaleMembershipRejected {
            pg,
            mepoch,
            current,
        });
        Some(vec![out(
            from,
            Msg::StaleMembership {
                pg,
                seg: self.name.clone(),
                current,
                read,
            },
        )])
    }

    /// Adopt the metadata service's memberships and persist them with the segments.
    /// Adopts the service's memberships; true when one moved forward.
    pub(super) fn adopt_view(&mut self, pgs: BTreeMap<PgId, Membership>) -> bool {
        let changed = self.view.adopt(pgs);
        for &pg in &changed {
            self.events.push(EventKind::MembershipRefreshed {
                pg,
                mepoch: self.view.epoch(pg),
            });
        }
        self.disk.borrow_mut().mview = Some(self.view.memberships().clone());
        self.ensure_clone_segments();
        !changed.is_empty()
    }

    pub(super) fn epoch_of(&self, pg: PgId) -> Epoch {
        self.disk
            .borrow()
            .segs
            .get(&pg)
            .map(|s| s.epoch)
            .unwrap_or(0)
    }

    pub(super) fn set_epoch(&mut self, pg: PgId, e: Epoch) {
        let mut d = self.disk.borrow_mut();
        let s = d.segs.entry(pg).or_default();
        s.epoch = s.epoch.max(e);
    }

    /// Fencing check; returns `Some(reject)` if the I/O must be refused.
    pub(super) fn fence(&mut self, from: &str, pg: PgId, epoch: Epoch) -> Option<Outbound> {
        let current = self.epoch_of(pg);
        if epoch >= current {
            self.set_epoch(pg, epoch);
            return None;
        }
        if self.cfg.bugs.contains(&Bug::NoEpochFencing) {
            self.events
                .push(EventKind::WriteAcceptedStaleEpoch { pg, epoch, current });
            return None;
        }
        self.events
            .push(EventKind::WriteRejectedStaleEpoch { pg, epoch, current });
        Some(out(
            from,
            Msg::Rejected {
                epoch,
                pg,
                seg: self.name.clone(),
                current,
            },
        ))
    }

    /// Both checks of a recovery's I/O: membership epoch, then volume epoch. A recovery
    /// older than one this segment has seen is refused (a newer one is under way or
    /// done). Never a bug switch: recovery always fences.
    pub(super) fn admit_recovery(
        &mut self,
        now: SimTime,
        from: &str,
        pg: PgId,
        mepoch: MEpoch,
        epoch: Epoch,
    ) -> Option<Vec<Outbound>> {
        if let Some(rej) = self.admit(now, from, pg, mepoch, None) {
            return Some(rej);
        }
        let current = self.epoch_of(pg);
        (epoch < current).then(|| {
            vec![out(
                from,
                Msg::Rejected {
                    epoch,
                    pg,
                    seg: self.name.clone(),
                    current,
                },
            )]
        })
    }

    /// Both checks of a writer's I/O: membership epoch, then volume epoch (fencing).
    pub(super) fn admit_writer(
        &mut self,
        now: SimTime,
        from: &str,
        pg: PgId,
        mepoch: MEpoch,
        epoch: Epoch,
    ) -> Option<Vec<Outbound>> {
        self.admit(now, from, pg, mepoch, None)
            .or_else(|| self.fence(from, pg, epoch).map(|r| vec![r]))
    }
}
