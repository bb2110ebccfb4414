//! # checkers
//!
//! Aurora-chaos's own equivalent of Jepsen's Elle and of Knossos/Porcupine. It reads Jepsen histories
//! (EDN, JSON Lines, elle-cli JSON), and checks them for linearizability (register, cas-register,
//! independent keys, mutex), Elle-style transactional anomalies (list-append, rw-register) and Jepsen's
//! bank invariant. It depends on no async runtime and no other crate of this workspace, so a stored
//! history can always be re-checked offline.
//!
//! - [`history`]: the one `History` / `Op` type; [`io`]: readers (EDN, JSON, JSONL, Jepsen log) and
//!   writers (EDN, JSONL).
//! - [`linear`]: linearizability (register, cas-register, mutex, multi-register, independent keys).
//! - [`bank`], [`counter`], [`set`] (set, set-full), [`long_fork`], [`comments`]: Jepsen's workload
//!   checkers.
//! - [`shape`]: what a workload checker's input must look like (else `malformed-history`).
//! - [`gen`]: deterministic Jepsen-format list-append histories (benchmarks, differential tests).
//! - [`budget`]: deterministic work budgets for the searches (verdicts never depend on speed).
//! - [`value`]: the EDN value model.
//! - [`verdict`]: the `Checker` trait and the three-valued `Verdict`.
//!
//! ```
//! use checkers::io::read_history_str;
//! use checkers::linear::{LinearChecker, LinearOptions, ModelKind};
//! use checkers::{Checker, Validity};
//!
//! // Jepsen's history.edn: one op map per line. p1's read starts after p0's write of 2 completed.
//! let edn = "{:type :invoke, :f :write, :value 1, :process 0}
//! {:type :ok, :f :write, :value 1, :process 0}
//! {:type :invoke, :f :write, :value 2, :process 0}
//! {:type :ok, :f :write, :value 2, :process 0}
//! {:type :invoke, :f :read, :value nil, :process 1}
//! {:type :ok, :f :read, :value 1, :process 1}";
//! let history = read_history_str(edn, "history.edn").unwrap();
//! let verdict = LinearChecker::new(LinearOptions::knossos(ModelKind::CasRegister)).check(&history);
//! assert_eq!(verdict.valid, Validity::Invalid);
//! assert_eq!(verdict.anomaly_types, ["nonlinearizable"]);
//! assert!(verdict.explanation.starts_with("cannot linearize process 1 :read -> :ok 1"));
//! ```

pub mod bank;
pub mod budget;
pub mod comments;
pub mod counter;
pub mod elle;
pub mod gen;
pub mod history;
pub mod io;
pub mod linear;
pub mod long_fork;
pub mod set;
pub mod shape;
pub mod value;
pub mod verdict;
mod workload_util;

pub use history::{History, Op, OpType, Pair, Process};
pub use value::Value;
pub use verdict::{Checker, Validity, Verdict};
