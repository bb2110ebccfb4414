//! Fast DDL's checks (C27), from the clients' observations only (`workloads::ddl` ops):
//!
//! - **schema**: every row a reader presented has exactly the column set of one schema
//!   version, that version was created by an `ADD COLUMN` invoked before the read completed
//!   (or is version 1), the row was not written under a later version than the one it is
//!   presented under (unknown), a read on the writer shows at least every version whose
//!   `ADD COLUMN` completed before the read began (stale), and a column added after the
//!   row's version reads as NULL;
//! - **no row rewritten**: a read never finds a row stored under a version that no client
//!   write of that row produced (so the DDL itself touched no page);
//! - coverage of the claim: `ADD COLUMN`s completed, old-version rows read after one
//!   (presented with the new columns NULL), and rows upgraded lazily by a later write.
//!
//! The workload checkers never see these ops ([`without_ddl`]).

use crate::checks::{figure, CheckResult};
use checkers::{History, OpType, Value};
use std::collections::BTreeMap;
use workloads::ddl::{is_ddl_op, BASE_COLUMNS};
use workloads::recorder::on_primary;

/// One `ADD COLUMN`: invoke ns, completion (ns, type), and (version, columns) when ok.
#[derive(Debug, Clone)]
pub struct AddObs {
    pub invoke: i64,
    pub complete: Option<(i64, OpType)>,
    pub result: Option<(u32, u32)>,
}

/// One ok row read that found a row.
#[derive(Debug, Clone)]
pub struct ReadObs {
    pub invoke: i64,
    pub complete: i64,
    pub primary: bool,
    pub row: i64,
    pub stored: u32,
    pub version: u32,
    pub cols: Vec<Option<i64>>,
}

/// One row write: invoke ns, completion (ns, type), row, version written (ok only).
#[derive(Debug, Clone)]
pub struct WriteObs {
    pub invoke: i64,
    pub complete: Option<(i64, OpType)>,
    pub row: i64,
    pub version: Option<u32>,
}

/// The DDL ops of a history.
#[derive(Debug, Clone, Default)]
pub struct DdlObs {
    pub adds: Vec<AddObs>,
    pub reads: Vec<ReadObs>,
    /// Row writes, a load's rows included.
    pub writes: Vec<WriteObs>,
    /// `:row-load`s: invoke ns, completion.
    pub loads: Vec<(i64, Option<(i64, OpType)>)>,
    /// Rows written by loads that completed ok.
    pub rows_loaded: u64,
}

fn ints(v: &Value) -> Option<Vec<i64>> {
    v.as_vec()?.iter().map(Value::as_int).collect()
}

/// Every DDL op of the history (empty without).
pub fn observe(h: &History) -> DdlObs {
    let mut o = DdlObs::default();
    let Ok(pairs) = h.pairs() else { return o };
    for p in pairs {
        let inv = &h.ops[p.invoke];
        if !is_ddl_op(inv.f()) {
            continue;
        }
        let c = p.complete.map(|i| &h.ops[i]);
        let complete = c.map(|c| (c.time.unwrap_or(0), c.kind));
        let ok = c.filter(|c| c.kind == OpType::Ok);
        let t = inv.time.unwrap_or(0);
        match inv.f() {
            "add-column" => o.adds.push(AddObs {
                invoke: t,
                complete,
                result: ok.and_then(|c| ints(&c.value)).and_then(|v| match v[..] {
                    [a, b] => Some((a as u32, b as u32)),
                    _ => None,
                }),
            }),
            "row-load" => {
                let (lo, hi) = match ints(&inv.value).as_deref() {
                    Some(&[lo, hi]) => (lo, hi),
                    _ => continue,
                };
                let version = ok
                    .and_then(|c| ints(&c.value))
                    .and_then(|v| v.get(2).map(|&x| x as u32));
                o.loads.push((t, complete));
                if version.is_some() {
                    o.rows_loaded += (hi - lo).max(0) as u64;
                }
                for r in lo..hi {
                    o.writes.push(WriteObs {
                        invoke: t,
                        complete,
                        row: r,
                        version,
                    });
                }
            }
            "row-write" => o.writes.push(WriteObs {
                invoke: t,
                complete,
                row: ints(&inv.value)
                    .and_then(|v| v.first().copied())
                    .unwrap_or(-1),
                version: ok
                    .and_then(|c| ints(&c.value))
                    .and_then(|v| v.get(3).map(|&x| x as u32)),
            }),
            _ => {
                let Some(c) = ok else { continue };
                let Some(v) = c.value.as_vec() else { continue };
                let (Some(r), Some(s), Some(ver), Some(cols)) = (
                    v.first().and_then(Value::as_int),
                    v.get(1).and_then(Value::as_int),
                    v.get(2).and_then(Value::as_int),
                    v.get(3).and_then(Value::as_vec),
                ) else {
                    continue;
                };
                o.reads.push(ReadObs {
                    invoke: t,
                    complete: c.time.unwrap_or(0),
                    primary: on_primary(inv),
                    row: r,
                    stored: s as u32,
                    version: ver as u32,
                    cols: cols.iter().map(Value::as_int).collect(),
                });
            }
        }
    }
    o
}

/// The history without its DDL ops (None when it has none: use it as is).
pub fn without_ddl(h: &History) -> Option<History> {
    if !h.ops.iter().any(|o| is_ddl_op(o.f())) {
        return None;
    }
    let mut out = History::new(
        h.ops
            .iter()
            .filter(|o| !is_ddl_op(o.f()))
            .cloned()
            .collect(),
    );
    out.reindex();
    Some(out)
}

impl DdlObs {
    /// Column count of version `v`: as an `ADD COLUMN` reported it, else one more per version.
    fn width(&self, v: u32) -> u32 {
        self.adds
            .iter()
            .find_map(|a| a.result.filter(|r| r.0 == v).map(|r| r.1))
            .unwrap_or(BASE_COLUMNS + v.saturating_sub(1))
    }

    /// Why read `r` shows a mixed, unknown or stale schema (None: it does not).
    pub fn violation(&self, r: &ReadObs) -> Option<String> {
        let w = self.width(r.version);
        let possible = 1 + self.adds.iter().filter(|a| a.invoke < r.complete).count() as u32;
        let known = self
            .adds
            .iter()
            .filter(|a| a.complete.is_some_and(|c| c.0 < r.invoke))
            .filter_map(|a| a.result.map(|x| x.0))
            .max()
            .unwrap_or(1);
        let added_not_null =
            (self.width(r.stored) as usize..r.cols.len()).find(|&c| r.cols[c].is_some());
        let why = if r.cols.len() != w as usize {
            format!(
                "mixed: {} columns presented under version {} ({w} columns)",
                r.cols.len(),
                r.version
            )
        } else if r.version > possible || r.stored > r.version {
            format!(
                "unknown: row stored under version {} presented under version {} (at most {possible} versions existed)",
                r.stored, r.version
            )
        } else if r.primary && r.version < known {
            format!(
                "stale: presented under version {} after version {known} completed",
                r.version
            )
        } else if let Some(c) = added_not_null {
            format!(
                "column {c}, added after the row's version {}, is not NULL",
                r.stored
            )
        } else {
            return None;
        };
        Some(format!(
            "row {} read at {:.3} s by a {} read: {why}",
            r.row,
            r.invoke as f64 / 1e9,
            if r.primary { "writer" } else { "replica" }
        ))
    }

    /// Reads finding a row under a version no client write of it produced (the DDL
    /// rewrote it). Reads after an indeterminate write of the row are skipped.
    pub fn rewritten(&self) -> usize {
        let mut by_row: BTreeMap<i64, Vec<&WriteObs>> = BTreeMap::new();
        for w in &self.writes {
            by_row.entry(w.row).or_default().push(w);
        }
        self.reads
            .iter()
            .filter(|r| {
                let ws: Vec<&&WriteObs> = by_row
                    .get(&r.row)
                    .map(|v| v.iter().filter(|w| w.invoke < r.complete).collect())
                    .unwrap_or_default();
                let unsure = ws.iter().any(|w| {
                    !matches!(w.complete, Some((_, OpType::Ok)) | Some((_, OpType::Fail)))
                });
                let max = ws.iter().filter_map(|w| w.version).max().unwrap_or(0);
                !unsure && r.stored > max
            })
            .count()
    }

    /// Ok reads of a row stored under an older version than the one presented.
    pub fn old_version_reads(&self) -> usize {
        self.reads.iter().filter(|r| r.stored < r.version).count()
    }

    /// Ok writes that upgraded a row: an earlier ok write of it was under a lower version.
    pub fn lazy_upgrades(&self) -> usize {
        self.writes
            .iter()
            .filter(|w| {
                let Some(v) = w.version else { return false };
                self.writes.iter().any(|e| {
                    e.row == w.row
                        && e.version.is_some_and(|x| x < v)
                        && e.complete.is_some_and(|c| c.0 < w.invoke)
                })
            })
            .count()
    }

    /// Invoke → ok latencies of the completed `ADD COLUMN`s (ns).
    pub fn add_latencies_ns(&self) -> Vec<i64> {
        self.add_latencies_after_ns(i64::MIN)
    }

    /// When the last load completed (None: some never did).
    pub fn loaded_at(&self) -> Option<i64> {
        self.loads
            .iter()
            .try_fold(0i64, |m, l| l.1.map(|c| m.max(c.0)))
    }

    /// Latencies of the completed `ADD COLUMN`s invoked after `t` (ns).
    pub fn add_latencies_after_ns(&self, t: i64) -> Vec<i64> {
        self.adds
            .iter()
            .filter(|a| a.result.is_some() && a.invoke > t)
            .filter_map(|a| a.complete.map(|c| c.0 - a.invoke))
            .collect()
    }
}

/// The check rows of a run with DDL ops (none without).
pub fn checks(h: &History) -> Vec<CheckResult> {
    let o = observe(h);
    if o.adds.is_empty() && o.reads.is_empty() && o.writes.is_empty() {
        return vec![];
    }
    let bad: Vec<String> = o.reads.iter().filter_map(|r| o.violation(r)).collect();
    let summary = match bad.first() {
        Some(x) => format!("{} of {} row reads; first: {x}", bad.len(), o.reads.len()),
        None => format!(
            "{} row reads, each in one schema version ({} of an older stored version shown with the new columns NULL); {} ADD COLUMNs ok, {} lazy upgrades",
            o.reads.len(),
            o.old_version_reads(),
            o.add_latencies_ns().len(),
            o.lazy_upgrades()
        ),
    };
    let rewritten = o.rewritten();
    vec![
        figure(
            "no reader sees a row in a mixed or unknown schema",
            &["C27"],
            bad.len() as f64,
            0.0,
            "",
            false,
            bad.is_empty(),
            summary,
        ),
        figure(
            "ADD COLUMN rewrites no row (rows found under a version no client write produced)",
            &["C27"],
            rewritten as f64,
            0.0,
            "",
            false,
            rewritten == 0,
            format!(
                "{rewritten} of {} row reads found a row the DDL rewrote",
                o.reads.len()
            ),
        ),
    ]
}
