//! # targets
//!
//! Real databases as systems under test. This crate implements [`workloads::Client`] for PostgreSQL
//! ([`pg_client`], tokio-postgres) and MariaDB ([`my_client`], mysql_async), starts and stops local
//! clusters on loopback in temporary directories ([`pg`], [`mariadb`], [`procs`]), applies faults to
//! real processes ([`faults`], [`cluster`]) and drives the workload generators on a real clock
//! ([`runner`]). It knows nothing of the reference Aurora or of the harness; the `aurora-chaos`
//! binary wires it in (`run --target postgres|mysql`).
//!
//! Real clocks: histories carry monotonic nanoseconds since the start of the run. Runs against real
//! processes are not replayable by seed: the seed fixes the op generator and the fault schedule, not
//! the interleaving.

pub mod cluster;
pub mod faults;
pub mod mariadb;
pub mod my_client;
pub mod pg;
pub mod pg_client;
pub mod procs;
pub mod runner;
pub mod rw_register;

use serde::{Deserialize, Serialize};
use std::sync::{Arc, Mutex};
use workloads::checks::Guarantee;

/// Which engine a target speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Engine {
    Postgres,
    Mysql,
}

impl Engine {
    pub fn name(self) -> &'static str {
        match self {
            Engine::Postgres => "postgres",
            Engine::Mysql => "mysql",
        }
    }
    pub fn from_name(s: &str) -> Option<Engine> {
        match s {
            "postgres" | "postgresql" => Some(Engine::Postgres),
            "mysql" | "mariadb" => Some(Engine::Mysql),
            _ => None,
        }
    }
}

/// The transaction isolation level every client transaction asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Isolation {
    ReadCommitted,
    RepeatableRead,
    Serializable,
}

impl Isolation {
    pub const ALL: [Isolation; 3] = [
        Isolation::ReadCommitted,
        Isolation::RepeatableRead,
        Isolation::Serializable,
    ];
    pub fn name(self) -> &'static str {
        match self {
            Isolation::ReadCommitted => "read-committed",
            Isolation::RepeatableRead => "repeatable-read",
            Isolation::Serializable => "serializable",
        }
    }
    pub fn from_name(s: &str) -> Option<Isolation> {
        Self::ALL.into_iter().find(|i| i.name() == s)
    }
    /// The SQL spelling (`REPEATABLE READ`).
    pub fn sql(self) -> &'static str {
        match self {
            Isolation::ReadCommitted => "READ COMMITTED",
            Isolation::RepeatableRead => "REPEATABLE READ",
            Isolation::Serializable => "SERIALIZABLE",
        }
    }
}

const STRICT: &[&str] = &["strict-serializable"];

/// What each engine's manual documents at each isolation level, as data the workloads' check
/// tables take. Every level is also checked against strict serializability for information, so
/// the anomalies a weaker level allows are named.
///
/// - PostgreSQL: read committed; repeatable read is snapshot isolation; serializable (SSI) holds
///   on the primary only. A hot standby refuses SERIALIZABLE, so read-only transactions on
///   replicas run at REPEATABLE READ, and PostgreSQL documents that a standby snapshot may show a
///   state no serial order produces (SSI's read-only anomaly): with reader-endpoint reads the
///   documented model is snapshot isolation, and serializability is informational.
/// - MariaDB: read committed, repeatable read, serializable. A replica applies the binlog in the
///   primary's commit order, which strict two-phase locking makes a serialization order, so
///   replica reads keep the level.
pub const GUARANTEES: [(Engine, Isolation, Guarantee); 6] = [
    (
        Engine::Postgres,
        Isolation::ReadCommitted,
        level("read-committed", "read-committed", &[], false),
    ),
    (
        Engine::Postgres,
        Isolation::RepeatableRead,
        level("snapshot-isolation", "snapshot-isolation", &[], true),
    ),
    (
        Engine::Postgres,
        Isolation::Serializable,
        level(
            "serializable",
            "snapshot-isolation",
            &["serializable"],
            true,
        ),
    ),
    (
        Engine::Mysql,
        Isolation::ReadCommitted,
        level("read-committed", "read-committed", &[], false),
    ),
    (
        Engine::Mysql,
        Isolation::RepeatableRead,
        level("repeatable-read", "repeatable-read", &[], true),
    ),
    (
        Engine::Mysql,
        Isolation::Serializable,
        level("serializable", "serializable", &[], true),
    ),
];

const fn level(
    writer: &'static str,
    with_readers: &'static str,
    informational_with_readers: &'static [&'static str],
    consistent_reads: bool,
) -> Guarantee {
    Guarantee {
        writer,
        with_readers,
        informational: STRICT,
        informational_with_readers,
        consistent_reads,
    }
}

/// The documented guarantee of `engine` at `iso` (a row of [`GUARANTEES`]).
pub fn guarantee(engine: Engine, iso: Isolation) -> Guarantee {
    GUARANTEES
        .iter()
        .find(|(e, i, _)| *e == engine && *i == iso)
        .map(|(_, _, g)| *g)
        .expect("GUARANTEES covers every engine and level")
}

/// Replication mode of a locally started cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Replication {
    /// PostgreSQL: no synchronous standbys; MariaDB: plain asynchronous GTID replication.
    Async,
    /// PostgreSQL: `synchronous_standby_names = 'ANY 1 (…)'`, `synchronous_commit = on`;
    /// MariaDB: semi-synchronous replication (which falls back to async after its timeout).
    Sync,
}

impl Replication {
    pub fn name(self) -> &'static str {
        match self {
            Replication::Async => "async",
            Replication::Sync => "sync",
        }
    }
    pub fn from_name(s: &str) -> Option<Replication> {
        match s {
            "async" => Some(Replication::Async),
            "sync" | "semi-sync" => Some(Replication::Sync),
            _ => None,
        }
    }
}

/// Where clients connect: the writer (cluster) DSN and the reader DSNs, updated on promotion.
///
/// Invariant: `reader()` round-robins over the replicas and returns the writer when there is none.
#[derive(Debug, Default)]
pub struct Endpoints {
    state: Mutex<EndpointState>,
}

#[derive(Debug, Default, Clone)]
struct EndpointState {
    writer: String,
    readers: Vec<String>,
    next: usize,
    generation: u64,
}

impl Endpoints {
    pub fn new(writer: String, readers: Vec<String>) -> Arc<Endpoints> {
        Arc::new(Endpoints {
            state: Mutex::new(EndpointState {
                writer,
                readers,
                next: 0,
                generation: 0,
            }),
        })
    }
    fn lock(&self) -> std::sync::MutexGuard<'_, EndpointState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
    pub fn writer(&self) -> String {
        self.lock().writer.clone()
    }
    pub fn readers(&self) -> Vec<String> {
        self.lock().readers.clone()
    }
    /// The next reader DSN (round-robin), or the writer when there are no replicas.
    pub fn reader(&self) -> String {
        let mut s = self.lock();
        if s.readers.is_empty() {
            return s.writer.clone();
        }
        let i = s.next % s.readers.len();
        s.next = s.next.wrapping_add(1);
        s.readers[i].clone()
    }
    /// Points the endpoints at a new writer and replica set (after a promotion or a rejoin).
    pub fn set(&self, writer: String, readers: Vec<String>) {
        let mut s = self.lock();
        s.writer = writer;
        s.readers = readers;
        s.generation += 1;
    }
    /// Bumped by every [`Endpoints::set`]: clients drop their connections when it changes, so no
    /// connection outlives the topology it was opened under.
    pub fn generation(&self) -> u64 {
        self.lock().generation
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_engine_and_level_has_a_guarantee() {
        for e in [Engine::Postgres, Engine::Mysql] {
            for i in Isolation::ALL {
                let g = guarantee(e, i);
                assert_eq!(g.informational, STRICT);
                assert_eq!(g.consistent_reads, i != Isolation::ReadCommitted);
            }
        }
    }

    #[test]
    fn reader_round_robins_and_falls_back_to_the_writer() {
        let e = Endpoints::new("w".into(), vec!["a".into(), "b".into()]);
        let got: Vec<String> = (0..4).map(|_| e.reader()).collect();
        assert_eq!(got, ["a", "b", "a", "b"]);
        e.set("w2".into(), vec![]);
        assert_eq!(e.reader(), "w2");
        assert_eq!(e.writer(), "w2");
    }
}
