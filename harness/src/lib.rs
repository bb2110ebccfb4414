//! # harness
//!
//! The `aurora-chaos` harness as a library (the binary is a thin CLI over it): it builds the turmoil
//! simulation of the reference Aurora ([`sut`], [`sim`]), applies faults as data ([`nemesis`]), runs
//! workloads, records the history, calls the checkers ([`checks`]) and writes run directories
//! ([`run`]). Tests drive the same code as the CLI.

pub mod autoscale_checks;
pub mod backtrack_checks;
pub mod cache_checks;
pub mod check;
pub mod checks;
pub mod cli;
pub mod clone_checks;
pub mod config;
pub mod coverage;
pub mod ddl_checks;
pub mod elle_cli;
pub mod endpoint_checks;
pub mod global_checks;
pub mod global_cli;
pub mod global_feed_checks;
pub mod global_history;
pub mod global_nemesis;
pub mod hunt;
pub mod hunt_page;
pub mod hunt_report;
pub mod jobs;
pub mod merge;
pub mod metrics_series;
pub mod nemesis;
pub mod outcome;
pub mod pq_checks;
pub mod progress;
pub mod replication_checks;
pub mod run;
pub mod run_page;
pub mod serve;
pub mod serverless_checks;
pub mod shrink;
pub mod sim;
pub mod sim_clone;
mod sim_faults;
pub mod soak;
pub mod suite;
pub mod sut;
pub mod target_run;
pub mod terminal;

pub use config::RunConfig;
pub use outcome::Outcome;
