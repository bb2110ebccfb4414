//! A secondary region's storage host (compact model).
//!
//! A secondary volume has 3 storage hosts, one per AZ; each holds 2 of the 6 segments
//! of every PG, so one host's acknowledgement counts for 2 segments and the write
//! quorum 4/6 is 2 hosts (read quorum 3/6: 2 hosts). This keeps the simulated
//! topology small (turmoil's cost grows with hosts²). A host persists the shipped log
//! before it acknowledges, in LSN order: it appends `(after, upto]` only when `after`
//! is at or below its SCL, and acknowledges its SCL (highest LSN with nothing missing
//! below). Gossip, scrub and GC are not modelled on secondary storage.

use crate::event::EventKind;
use crate::types::{out, Lsn, Msg, Outbound, Record, SimTime};
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

/// What a secondary storage host persisted (survives crashes; a destroyed region wipes it).
#[derive(Clone, Debug, Default)]
pub struct StoreDisk {
    pub gepoch: u64,
    pub scl: Lsn,
    pub log: BTreeMap<Lsn, Record>,
}

pub struct SecondaryStore {
    pub name: String,
    pub region: String,
    pub disk: Rc<RefCell<StoreDisk>>,
    pub events: Vec<EventKind>,
}

impl SecondaryStore {
    pub fn handle(&mut self, _now: SimTime, from: &str, msg: Msg) -> Vec<Outbound> {
        let Msg::GStore {
            gepoch,
            base,
            after,
            upto,
            records,
        } = msg
        else {
            return vec![];
        };
        let mut d = self.disk.borrow_mut();
        if gepoch < d.gepoch {
            return vec![];
        }
        if gepoch > d.gepoch {
            // A new primary: its log branched off at `base`; anything above is a
            // discarded branch of the old primary.
            d.gepoch = gepoch;
            if base < d.scl {
                let _ = d.log.split_off(&base.next());
                d.scl = base;
                self.events.push(EventKind::GlobalStored {
                    region: self.region.clone(),
                    scl: d.scl,
                });
            }
        }
        if after <= d.scl && upto > d.scl {
            for r in records
                .into_iter()
                .filter(|r| r.lsn > after && r.lsn <= upto)
            {
                d.log.insert(r.lsn, r);
            }
            d.scl = upto;
            self.events.push(EventKind::GlobalStored {
                region: self.region.clone(),
                scl: d.scl,
            });
        }
        vec![out(
            from,
            Msg::GStored {
                gepoch: d.gepoch,
                scl: d.scl,
            },
        )]
    }
}
