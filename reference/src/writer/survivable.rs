//! The writer's side of the survivable buffer cache ([`crate::survivable`]): saving the
//! cache into its host's memory region, and adopting what survived when a recovery ends.

use super::Writer;
use crate::event::EventKind;
use crate::survivable::{self, CacheRegion};

impl Writer {
    /// Copy the cache into the region (only while open, and only when it changed). A
    /// recovering writer leaves the region alone: it still holds what a crash during the
    /// recovery must find.
    pub fn save_cache(&self, region: &mut CacheRegion) {
        if self.phase != super::Phase::Open {
            return;
        }
        let stamp = (self.use_clock, self.next_lsn, self.cache.len());
        if region.stamp == stamp {
            return;
        }
        region.stamp = stamp;
        region.pages = self.cache.clone();
        region.pg_tail = self.pg_tail.clone();
    }

    /// The recovery just finished: keep the survived pages the contract allows (see
    /// [`crate::survivable`]) and report them, with the discards, as a white-box event.
    pub(crate) fn adopt_survived(&mut self, vdl: crate::types::Lsn, backtracked: bool) {
        let Some(region) = self.survived.take() else {
            return;
        };
        let own = *self.declared.last().expect("recovery declares its range");
        let view = &self.view;
        let (kept, d) = survivable::filter(
            &region,
            vdl,
            &self.declared,
            own,
            &self.pg_tail,
            backtracked,
            |p| view.pg_of_page(p),
            &self.cfg.bugs,
        );
        self.events.push(EventKind::CacheAdopted {
            vdl,
            entries: survivable::entries(&kept),
            pages_kept: kept.len() as u64,
            dropped_above_vdl: d.above_vdl,
            dropped_truncated: d.truncated,
            dropped_foreign: d.foreign,
            dropped_other: d.backtrack + d.lost,
        });
        for (page, mut c) in kept {
            self.use_clock += 1;
            c.last_use = self.use_clock;
            self.cache.insert(page, c);
        }
        self.evict();
    }
}
