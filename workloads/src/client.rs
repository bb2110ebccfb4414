//! The client trait: the only way a workload talks to a system under test.
//!
//! Contract: a transaction is `begin`, then reads/writes/appends/cas, then `commit` (or `abort`).
//! Every error says whether the operation certainly did not happen (`indeterminate == false`: the
//! workload records `:fail`) or may have happened (`indeterminate == true`: `:info`). After any error
//! inside a transaction the workload calls `abort` (which must not fail) and ends the op.

use serde::{Deserialize, Serialize};

/// A stored value: nothing, an integer, or a list of integers (list-append).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Datum {
    Nil,
    Int(i64),
    List(Vec<i64>),
}

/// Where a transaction is sent.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Target {
    /// The cluster (writer) endpoint.
    Primary,
    /// The reader endpoint (round-robin over replicas); transactions are read-only.
    Reader,
    /// One named instance's endpoint.
    Instance(String),
    /// A custom endpoint (a named subset of instances); transactions are read-only.
    Custom(String),
}

impl Target {
    pub fn name(&self) -> String {
        match self {
            Target::Primary => "cluster".into(),
            Target::Reader => "reader".into(),
            Target::Instance(i) => format!("instance:{i}"),
            Target::Custom(c) => format!("custom:{c}"),
        }
    }
}

/// An error from the system under test.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ClientError {
    /// True when the operation may have taken effect (timeout, connection lost after commit was sent).
    pub indeterminate: bool,
    pub message: String,
}

impl ClientError {
    pub fn definite(message: impl Into<String>) -> ClientError {
        ClientError {
            indeterminate: false,
            message: message.into(),
        }
    }
    pub fn indeterminate(message: impl Into<String>) -> ClientError {
        ClientError {
            indeterminate: true,
            message: message.into(),
        }
    }
}

/// A connection to a system under test, as an interactive transaction interface.
#[allow(async_fn_in_trait)]
pub trait Client {
    async fn begin(&mut self, target: &Target, read_only: bool) -> Result<(), ClientError>;
    async fn read(&mut self, key: u64) -> Result<Datum, ClientError>;
    async fn write(&mut self, key: u64, value: Datum) -> Result<(), ClientError>;
    async fn append(&mut self, key: u64, element: i64) -> Result<(), ClientError>;
    /// Sets `key` to `new` if it holds `expected`; returns whether it did.
    async fn cas(&mut self, key: u64, expected: Datum, new: Datum) -> Result<bool, ClientError>;
    async fn commit(&mut self) -> Result<(), ClientError>;
    async fn abort(&mut self);
    /// Parallel query inside the open (read-only) transaction's connection: count and
    /// sum of the integer values ≥ `q.min` of keys in `[q.lo, q.hi]`, at read point
    /// `q.at` (None: the current one). Targets without it answer "unsupported".
    async fn scan(&mut self, q: &ScanQuery) -> Result<ScanResult, ClientError> {
        let _ = q;
        Err(ClientError::definite("scan unsupported by this target"))
    }
    /// Fast DDL (C27), inside the open transaction: row `r` of the table as presented under
    /// the schema at the transaction's read point (None: no row).
    async fn read_row(&mut self, r: u64) -> Result<Option<RowView>, ClientError> {
        let _ = r;
        Err(ClientError::definite("rows unsupported by this target"))
    }
    /// Creates the table (`pages` rows) unless it exists.
    async fn create_table(&mut self, pages: u64) -> Result<(), ClientError> {
        let _ = pages;
        Err(ClientError::definite("DDL unsupported by this target"))
    }
    /// Sets column `col` of row `r`; returns the schema version the row was written under.
    async fn write_row(&mut self, r: u64, col: u32, value: i64) -> Result<u32, ClientError> {
        let _ = (r, col, value);
        Err(ClientError::definite("rows unsupported by this target"))
    }
    /// Inserts rows `lo..hi`; returns the schema version they were written under.
    async fn load_rows(&mut self, lo: u64, hi: u64) -> Result<u32, ClientError> {
        let _ = (lo, hi);
        Err(ClientError::definite("rows unsupported by this target"))
    }
    /// `ADD COLUMN c NULL`; returns the new (schema version, column count).
    async fn add_column(&mut self) -> Result<(u32, u32), ClientError> {
        Err(ClientError::definite("DDL unsupported by this target"))
    }
}

/// A row as the system presented it: the version it was stored under, the version it is
/// presented under, and that version's columns (None: NULL).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowView {
    pub stored: u32,
    pub version: u32,
    pub cols: Vec<Option<i64>>,
}

/// A parallel-query scan: filter `value >= min` on keys `[lo, hi]`, aggregate count and sum.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanQuery {
    pub lo: u64,
    pub hi: u64,
    pub min: i64,
    /// Evaluate at the storage nodes (else at the instance).
    pub pushdown: bool,
    /// The read point to evaluate at (None: the system's current one).
    pub at: Option<u64>,
}

/// A scan's result with its read point and what it moved (storage replies to the instance).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanResult {
    pub count: u64,
    pub sum: i64,
    pub at: u64,
    pub msgs: u64,
    pub bytes: u64,
}
