//! Fast clones: a clone is a second volume that shares its source's page versions at
//! a *branch point* and diverges copy-on-write from there.
//!
//! **Volumes and their PGs.** Volume 0 is the cluster's own volume. A clone is volume
//! `v ≥ 1`; its protection groups are numbered `pg_in(v, p)` (the volume in the high
//! bits of the PG number), one for each PG `p` of the source, and its segments live on
//! the very storage nodes that hold the source's segments of `p` (copy-on-write needs
//! the shared versions at hand), so a clone's PG has its source PG's membership. Every
//! storage message already names its PG, so it names its volume too.
//!
//! **The branch point** is the source writer's VDL when the clone was requested: a
//! commit boundary, durable at a write quorum in every PG. `tails[p]` is PG `p`'s last
//! record at or below it. On each storage node the clone's segment of `p` starts as an
//! index over the source segment's records up to `tails[p]` (the data is not copied) and
//! appends its own records above; its SCL is the source segment's while that has not
//! reached `tails[p]` (the shared part is incomplete there), then its own chain's.
//!
//! Invariants:
//! - A clone reads only versions at or below its branch point from the source, and
//!   never sees a source record above it; the source never sees a clone's record.
//! - Every writer of the source keeps its minimum read point (PGMRPL) at or below the
//!   lowest branch point, so storage GC never collects a version a clone still shares.
//! - At most [`MAX_CLONES`] clones per source; a clone is registered in the metadata
//!   service before it is reported created, and storage nodes serve no I/O of a volume
//!   they have not learnt from there.

use crate::types::{Lsn, PgId, SimTime};
use serde::{Deserialize, Serialize};

/// A volume's number (0: the cluster's own volume).
pub type VolumeId = u32;

/// PG numbers of volume `v` start at `v * PG_STRIDE`.
pub const PG_STRIDE: PgId = 1 << 16;

/// Copy-on-write clones a source volume may have (Aurora's limit).
pub const MAX_CLONES: usize = 15;

/// The source PG a (possibly clone) PG number stands for.
pub fn base_pg(pg: PgId) -> PgId {
    pg % PG_STRIDE
}

/// The volume a PG number belongs to.
pub fn volume_of(pg: PgId) -> VolumeId {
    pg / PG_STRIDE
}

/// PG `p` of volume `v`.
pub fn pg_in(v: VolumeId, p: PgId) -> PgId {
    v * PG_STRIDE + base_pg(p)
}

/// Where a clone branched off its source (durable in the metadata service).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Branch {
    pub volume: VolumeId,
    /// The source's VDL when the clone was taken.
    pub lsn: Lsn,
    /// The source writer's simulated time then: the clone shows the committed state
    /// the source showed at this time.
    pub at: SimTime,
    /// Each source PG's last record at or below `lsn`.
    pub tails: Vec<(PgId, Lsn)>,
}

impl Branch {
    /// Source PG `p`'s last record shared with the clone.
    pub fn tail(&self, p: PgId) -> Lsn {
        self.tails
            .iter()
            .find(|(q, _)| *q == base_pg(p))
            .map(|(_, l)| *l)
            .unwrap_or_default()
    }
}

/// The control plane's answer to [`crate::types::Msg::Clone`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum CloneStatus {
    Pending,
    Done(Branch),
    Rejected(String),
}

/// The control plane's name for volume `v` (`control` for volume 0).
pub fn control_host(v: VolumeId) -> String {
    if v == 0 {
        "control".to_string()
    } else {
        format!("clone{v}-control")
    }
}

/// The name of instance `name` of clone `v`'s cluster.
pub fn instance_host(v: VolumeId, name: &str) -> String {
    format!("clone{v}-{name}")
}
