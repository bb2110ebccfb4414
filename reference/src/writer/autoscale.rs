//! The writer's side of storage auto-scaling ([`crate::pgmap`], C23): route a page only
//! through the map version read from the metadata service.
//!
//! A write (write, cas, append) to a page above the writer's map limit is refused with the
//! retryable `Unavailable` (nothing of it was applied; the client may retry), and the
//! writer asks the service for the map again. Operations on covered pages never wait for a
//! growth. A read of a page above the limit is served as an empty page (fetched from the
//! version-0 PG, which holds nothing of it): no acknowledged write can be there, since
//! this writer refuses such writes and read the map when it opened, so any newer version
//! was committed after every earlier writer was fenced (see the README for the one race
//! left: a zombie writer and a segment provisioned before a failover).
//! A recovering writer reads the map before it queries any segment ([`Self::map_known`]),
//! so its recovery covers every PG of the current version.

use super::Writer;
use crate::bug::Bug;
use crate::types::*;

impl Writer {
    /// Refuse `op` while its page is above this writer's map (see the module docs);
    /// None: go ahead.
    pub(crate) fn autoscale_gate(
        &mut self,
        now: SimTime,
        op: &ClientOp,
        outs: &mut Vec<Outbound>,
    ) -> Option<WireError> {
        let a = self.cfg.autoscale?;
        let key = match op {
            ClientOp::Write { key, .. }
            | ClientOp::Append { key, .. }
            | ClientOp::Cas { key, .. } => *key,
            _ => return None,
        };
        let page = page_of(key);
        // Bug `autoscale-pauses-writes`: stop every write while the volume grows.
        if self.cfg.bugs.contains(&Bug::AutoscalePausesWrites)
            && self.view.map().needs_growth(self.page_hwm, a.headroom())
        {
            outs.extend(self.view.request(now));
            return Some(WireError::Unavailable);
        }
        if self.view.covers(page) || self.cfg.bugs.contains(&Bug::AutoscaleRoutesBeforeDurable) {
            return None;
        }
        outs.extend(self.view.request(now));
        Some(WireError::Unavailable)
    }

    /// Has this writer read the map since it opened? (Always, without auto-scaling.)
    pub(crate) fn map_known(&self) -> bool {
        self.cfg.autoscale.is_none() || self.map_read
    }
}
