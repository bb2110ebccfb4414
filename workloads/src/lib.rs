//! # workloads
//!
//! Op generators (bank, register, list-append) and the small client trait through which they talk to
//! a system under test. This crate knows nothing of the reference Aurora: the harness implements
//! [`Client`] for the reference's client library, and a real database (PostgreSQL) can implement it
//! too, without touching the workloads.
//!
//! A workload is three things:
//! - a generator: [`Workload::next_invocation`] draws the next op (`:f`, `:value`, target endpoint) from
//!   the run's seeded RNG;
//! - an executor: [`execute`] runs one invocation as an interactive transaction through a [`Client`] and
//!   turns the outcome into a Jepsen completion (`:ok`, `:fail` for definite errors, `:info` for
//!   indeterminate ones);
//! - final reads: [`Workload::final_reads`] lists the ops run after the heal, reading every key.
//!
//! The checks themselves live in `checkers`; [`Workload::kind`] tells the harness which to call.

pub mod bank;
pub mod checks;
pub mod client;
pub mod ddl;
pub mod list_append;
pub mod mem;
pub mod recorder;
pub mod register;

pub use client::{Client, ClientError, Datum, Target};
pub use recorder::Recorder;

use checkers::{OpType, Value};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// Which workload a run uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum WorkloadKind {
    Bank,
    Register,
    ListAppend,
}

impl WorkloadKind {
    pub const ALL: [WorkloadKind; 3] = [
        WorkloadKind::Bank,
        WorkloadKind::Register,
        WorkloadKind::ListAppend,
    ];

    pub fn name(self) -> &'static str {
        match self {
            WorkloadKind::Bank => "bank",
            WorkloadKind::Register => "register",
            WorkloadKind::ListAppend => "list-append",
        }
    }

    pub fn from_name(s: &str) -> Option<WorkloadKind> {
        Self::ALL.into_iter().find(|k| k.name() == s)
    }
}

/// One op a worker is about to invoke: Jepsen's `:f` and `:value`, and where to send it.
#[derive(Debug, Clone, PartialEq)]
pub struct Invocation {
    pub f: &'static str,
    pub value: Value,
    pub target: Target,
}

/// How an invocation ended: the completion's `:type`, `:value` and optional `:error`.
#[derive(Debug, Clone, PartialEq)]
pub struct Completion {
    pub kind: OpType,
    pub value: Value,
    pub error: Option<String>,
}

impl Completion {
    pub fn ok(value: Value) -> Completion {
        Completion {
            kind: OpType::Ok,
            value,
            error: None,
        }
    }

    /// A completion from a client error: `:fail` when the error is definite, else `:info`.
    pub fn from_error(value: Value, e: &ClientError) -> Completion {
        let kind = if e.indeterminate {
            OpType::Info
        } else {
            OpType::Fail
        };
        Completion {
            kind,
            value,
            error: Some(e.message.clone()),
        }
    }
}

/// Workload parameters (all drawn or defaulted by the harness and printed in the run banner).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkloadConfig {
    pub kind: WorkloadKind,
    /// Keys (bank: accounts; register/list-append: keys in rotation).
    pub keys: u64,
    /// Fraction of reads sent through the reader endpoint (0.0-1.0).
    pub reader_fraction: f64,
    /// bank: initial balance of every account.
    pub bank_initial_balance: i64,
    /// list-append: at most this many appends per key before the key is retired.
    pub max_appends_per_key: u64,
    /// list-append: micro-ops per transaction, at most.
    pub max_txn_len: usize,
    /// register: fraction of invocations that are parallel-query scans (`:scan`, C26;
    /// default 0: none, and the generator draws exactly as before).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub scan_fraction: f64,
    /// register: fraction of invocations that are fast-DDL row ops and `ADD COLUMN`s
    /// (`workloads::ddl`, C27; default 0: none, and the generator draws exactly as before).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub ddl_fraction: f64,
    /// register with DDL: the table's extent in pages (one row per page).
    #[serde(default, skip_serializing_if = "is_zero_u64")]
    pub ddl_pages: u64,
    /// Custom endpoints that the reads sent away from the writer go through instead of the
    /// reader endpoint: process `p` uses `custom_endpoints[p % len]` (empty: the reader endpoint).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub custom_endpoints: Vec<String>,
    /// register: invocations per key before an odd slot moves to a fresh key above every
    /// key used so far (None: `register::OPS_PER_KEY`; even slots always keep that). Small
    /// values make the data grow steadily over the run while the even slots keep writing
    /// old keys (storage auto-scaling, C23).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ops_per_key: Option<u64>,
}

fn is_zero_u64(x: &u64) -> bool {
    *x == 0
}

fn is_zero(x: &f64) -> bool {
    *x == 0.0
}

/// Where a read sent away from the writer goes (see `WorkloadConfig::custom_endpoints`).
pub fn reader_target(custom: &[String], process: i64) -> Target {
    if custom.is_empty() {
        Target::Reader
    } else {
        Target::Custom(custom[process.rem_euclid(custom.len() as i64) as usize].clone())
    }
}

impl WorkloadConfig {
    pub fn default_for(kind: WorkloadKind) -> WorkloadConfig {
        WorkloadConfig {
            kind,
            keys: match kind {
                WorkloadKind::Bank => 8,
                WorkloadKind::Register => 6,
                WorkloadKind::ListAppend => 10,
            },
            reader_fraction: 0.25,
            bank_initial_balance: 10,
            max_appends_per_key: 64,
            max_txn_len: 4,
            scan_fraction: 0.0,
            ddl_fraction: 0.0,
            ddl_pages: 0,
            custom_endpoints: Vec::new(),
            ops_per_key: None,
        }
    }
}

/// A workload's generator state. Deterministic: every choice comes from the RNG passed in.
pub enum Workload {
    Bank(bank::Bank),
    Register(register::Register),
    ListAppend(list_append::ListAppend),
}

impl Workload {
    pub fn new(cfg: &WorkloadConfig) -> Workload {
        match cfg.kind {
            WorkloadKind::Bank => Workload::Bank(bank::Bank::new(cfg)),
            WorkloadKind::Register => Workload::Register(register::Register::new(cfg)),
            WorkloadKind::ListAppend => Workload::ListAppend(list_append::ListAppend::new(cfg)),
        }
    }

    pub fn kind(&self) -> WorkloadKind {
        match self {
            Workload::Bank(_) => WorkloadKind::Bank,
            Workload::Register(_) => WorkloadKind::Register,
            Workload::ListAppend(_) => WorkloadKind::ListAppend,
        }
    }

    /// The next op for a worker. `process` is the Jepsen process id the op will carry.
    pub fn next_invocation(&mut self, rng: &mut ChaCha8Rng, process: i64) -> Invocation {
        match self {
            Workload::Bank(w) => w.next_invocation(rng, process),
            Workload::Register(w) => w.next_invocation(rng, process),
            Workload::ListAppend(w) => w.next_invocation(rng, process),
        }
    }

    /// Ops run after the heal, one per key or one in all, through the cluster (writer) endpoint.
    pub fn final_reads(&self) -> Vec<Invocation> {
        match self {
            Workload::Bank(w) => w.final_reads(),
            Workload::Register(w) => w.final_reads(),
            Workload::ListAppend(w) => w.final_reads(),
        }
    }

    /// Initial data the harness loads before the run starts (key, value).
    pub fn initial_data(&self) -> Vec<(u64, Datum)> {
        match self {
            Workload::Bank(w) => w.initial_data(),
            Workload::Register(_) | Workload::ListAppend(_) => Vec::new(),
        }
    }
}

/// Runs one invocation through `client` and returns its completion. Never panics on client errors:
/// definite errors become `:fail`, indeterminate ones `:info`.
pub async fn execute<C: Client>(
    cfg: &WorkloadConfig,
    client: &mut C,
    inv: &Invocation,
) -> Completion {
    match cfg.kind {
        WorkloadKind::Bank => bank::execute(cfg, client, inv).await,
        WorkloadKind::Register if ddl::is_ddl_op(inv.f) => ddl::execute(client, inv).await,
        WorkloadKind::Register => register::execute(client, inv).await,
        WorkloadKind::ListAppend => list_append::execute(client, inv).await,
    }
}

/// A keyword value (`:read`).
pub(crate) fn kw(s: &str) -> Value {
    Value::Keyword(s.to_string())
}
