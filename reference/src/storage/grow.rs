//! Storage auto-scaling, the storage node's side ([`crate::autoscale`]): provision a
//! segment of a new PG on the control plane's request, and report the highest page held.

use super::*;

impl StorageNode {
    /// `CreateSegment`: adopt the new PG's membership (persisted with the view), create
    /// its empty segment stamped with the volume epoch (so writers of older epochs are
    /// fenced there too), and acknowledge once provisioned (`provision_ms` after the first
    /// request; at once for a segment provisioned before). Idempotent.
    pub(super) fn on_create_segment(
        &mut self,
        now: SimTime,
        from: &str,
        pg: PgId,
        membership: Membership,
        epoch: Epoch,
    ) -> Vec<Outbound> {
        if !membership.has(&self.name) {
            return vec![];
        }
        let mut m = BTreeMap::new();
        m.insert(pg, membership);
        self.adopt_view(m);
        self.set_epoch(pg, epoch);
        if !self.vol.contains_key(&pg) {
            self.rebuild(pg);
        }
        let provision = self.cfg.autoscale.map(|a| a.provision_ms).unwrap_or(0);
        let due = *self
            .disk
            .borrow_mut()
            .provisioned
            .entry(pg)
            .or_insert(now + provision);
        if now >= due {
            return vec![out(from, Msg::CreateSegmentAck { pg })];
        }
        self.provisioning.insert(pg, (due, from.to_string()));
        vec![]
    }

    /// Acknowledge the segments whose provisioning time is over.
    pub(super) fn provision_tick(&mut self, now: SimTime) -> Vec<Outbound> {
        let due: Vec<PgId> = self
            .provisioning
            .iter()
            .filter(|(_, (at, _))| now >= *at)
            .map(|(pg, _)| *pg)
            .collect();
        due.into_iter()
            .filter_map(|pg| self.provisioning.remove(&pg).map(|(_, to)| (pg, to)))
            .map(|(pg, to)| out(to, Msg::CreateSegmentAck { pg }))
            .collect()
    }

    /// The highest page this node holds in the volume's own PGs (None: auto-scaling off).
    pub(super) fn page_hwm(&self) -> Option<PageId> {
        self.cfg.autoscale?;
        Some(
            self.vol
                .iter()
                .filter(|(pg, _)| volume_of(**pg) == 0)
                .filter_map(|(_, v)| v.by_page.keys().next_back().copied())
                .max()
                .unwrap_or(0),
        )
    }
}
