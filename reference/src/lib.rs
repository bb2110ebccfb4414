//! # reference
//!
//! A compact but real Aurora, as specified in `shared/AURORA.md`.
#![allow(clippy::type_complexity)]

pub mod bug;
pub mod client;
pub mod cluster;
pub mod control;
pub mod event;
pub mod metrics;
pub mod net;
pub mod quorum;
pub mod replica;
pub mod storage;
pub mod topology;
pub mod types;
pub mod writer;

pub use bug::Bug;
pub use client::{Client, ClientConfig, ClientError, Endpoint};
pub use cluster::{sim_builder, Cluster, ClusterConfig, Isolation};
pub use control::InstanceSpec;
pub use event::{Event, EventKind};
pub use metrics::{InstanceMetrics, Metrics};
pub use types::{Datum, Lsn};
