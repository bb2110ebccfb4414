//! Fast DDL (beyond AURORA.md's table, claim C27): one table whose schema is versioned,
//! an instant `ADD COLUMN c NULL`, and rows upgraded lazily on their next write.
//!
//! Everything is stored as ordinary keys, so every change is a redo record like any other
//! (written at 4/6, recovered, shipped to replicas, truncated, backtracked):
//! - the **catalog** is key [`CATALOG_KEY`] (a page of its own): `[pages, n1, n2, ...]`,
//!   the table's extent in pages and the column count of each schema version (version `v`
//!   has `n_v` columns; the current version is the list's length). `ADD COLUMN` is one
//!   transaction that reads the catalog and writes it back with one more version: one
//!   record, whatever the table's size — no page is touched;
//! - **row** `r` is key [`row_key`]`(r)`, one row per page, so a row's schema version is its
//!   page's: `[v, c_1 .. c_{n_v}]`, the version it was written under and exactly that
//!   version's columns ([`NULL`] for a null).
//!
//! A reader interprets a row under the catalog it read **in the same transaction**, i.e. at
//! the same read point P (the writer's VDL, or a replica's snapshot): a row of an older
//! version is presented with the later columns as NULL ([`present`]); a row of a version the
//! catalog at P does not know, or whose column count is not its version's, is refused, never
//! presented. A consistent snapshot never holds such a row: the catalog record of version
//! `v` precedes, in LSN order, every row record written under `v` (a row write reads the
//! catalog, so its commit is validated against it). The next write to a row rewrites it
//! whole under the current version ([`upgrade`]): the lazy upgrade.
//!
//! The row layer is sans-IO: [`Client`](crate::client::Client) runs it over its
//! transaction's reads and writes (`crate::client` `read_row`, `write_row`, `add_column`).

use crate::bug::Bug;
use crate::types::{Datum, KEYS_PER_PAGE};
use std::collections::BTreeSet;

/// A null column value.
pub const NULL: i64 = i64::MIN;
/// Columns of schema version 1 (`CREATE TABLE t (a, b)`).
pub const BASE_COLUMNS: u32 = 2;
/// The catalog's key: far above every workload key, on a page of its own.
pub const CATALOG_KEY: u64 = 1 << 40;

/// Key of row `r` (page `CATALOG_KEY / KEYS_PER_PAGE + 1 + r`: one row per page).
pub fn row_key(r: u64) -> u64 {
    CATALOG_KEY + KEYS_PER_PAGE * (1 + r)
}

/// The table's schema history as of some read point.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Catalog {
    /// The table's extent, in pages (rows).
    pub pages: u64,
    /// `columns[v - 1]`: column count of version `v`. Never empty.
    pub columns: Vec<u32>,
}

impl Catalog {
    /// A new table of `pages` pages at version 1.
    pub fn create(pages: u64) -> Catalog {
        Catalog {
            pages,
            columns: vec![BASE_COLUMNS],
        }
    }
    /// The catalog stored at [`CATALOG_KEY`]; `None` before the table exists (or for bytes
    /// that are not a catalog).
    pub fn decode(d: &Datum) -> Option<Catalog> {
        let Datum::List(v) = d else { return None };
        let (&pages, cols) = v.split_first()?;
        if pages < 0 || cols.is_empty() || cols.iter().any(|&c| c < 1 || c > u32::MAX as i64) {
            return None;
        }
        Some(Catalog {
            pages: pages as u64,
            columns: cols.iter().map(|&c| c as u32).collect(),
        })
    }
    pub fn encode(&self) -> Datum {
        let mut v = vec![self.pages as i64];
        v.extend(self.columns.iter().map(|&c| c as i64));
        Datum::List(v)
    }
    /// The current schema version.
    pub fn version(&self) -> u32 {
        self.columns.len() as u32
    }
    /// Column count of version `v` (None: unknown here).
    pub fn width(&self, v: u32) -> Option<u32> {
        (v >= 1)
            .then(|| self.columns.get(v as usize - 1).copied())
            .flatten()
    }
    /// The catalog after `ADD COLUMN c NULL`: one more version with one more column.
    pub fn add_column(&self) -> Catalog {
        let mut c = self.clone();
        c.columns
            .push(self.columns.last().copied().unwrap_or(0) + 1);
        c
    }
}

/// A row as a reader presents it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Row {
    /// The version the row was written under (its page's).
    pub stored: u32,
    /// The version it is presented under: the catalog's at the read point.
    pub version: u32,
    /// Exactly `version`'s columns; `NULL` for nulls.
    pub cols: Vec<i64>,
}

/// Why a row cannot be presented.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SchemaError {
    #[error(
        "row of schema version {row}, unknown to the catalog at the read point (version {catalog})"
    )]
    UnknownVersion { row: u32, catalog: u32 },
    #[error("row of schema version {version} holds {found} columns, not {expected}")]
    Malformed {
        version: u32,
        found: usize,
        expected: u32,
    },
    #[error("no column {col}: schema version {version} has {width}")]
    NoColumn { col: u32, version: u32, width: u32 },
}

/// Row `d` (None: no row) presented under `cat`, the catalog at the same read point.
///
/// Bugs: `ddl-mixed-schema` skips the column-count check (a row is presented with the
/// columns it holds); `ddl-unknown-version` presents a row of a version `cat` does not know
/// under `cat`'s current version, cut down to its columns.
pub fn present(cat: &Catalog, d: &Datum, bugs: &BTreeSet<Bug>) -> Result<Option<Row>, SchemaError> {
    let Datum::List(v) = d else { return Ok(None) };
    let Some((&tag, cols)) = v.split_first() else {
        return Ok(None);
    };
    let stored = tag.clamp(0, u32::MAX as i64) as u32;
    let mut cols = cols.to_vec();
    let cur = cat.version();
    let expected = match cat.width(stored) {
        Some(w) => w,
        None if bugs.contains(&Bug::DdlUnknownVersion) && stored > cur => {
            cols.truncate(cat.width(cur).unwrap_or(0) as usize);
            cols.len() as u32
        }
        None => {
            return Err(SchemaError::UnknownVersion {
                row: stored,
                catalog: cur,
            })
        }
    };
    if cols.len() != expected as usize && !bugs.contains(&Bug::DdlMixedSchema) {
        return Err(SchemaError::Malformed {
            version: stored,
            found: cols.len(),
            expected,
        });
    }
    if stored <= cur && cols.len() == expected as usize {
        // Columns added after the row's version read as NULL.
        cols.resize(cat.width(cur).unwrap_or(0) as usize, NULL);
    }
    Ok(Some(Row {
        stored,
        version: cur,
        cols,
    }))
}

/// The row to write when column `col` of row `d` is set to `value` under `cat` (the
/// current catalog, read in the writing transaction): the whole row under the current
/// version, its other columns kept (NULL where the old version had none) — the lazy
/// upgrade.
///
/// Bug `ddl-mixed-schema`: only the written column is upgraded: the row gets the current
/// version's tag but keeps its old columns (padded only up to `col`).
pub fn upgrade(
    cat: &Catalog,
    d: &Datum,
    col: u32,
    value: i64,
    bugs: &BTreeSet<Bug>,
) -> Result<Datum, SchemaError> {
    let cur = cat.version();
    let width = cat.width(cur).unwrap_or(0);
    if col >= width {
        return Err(SchemaError::NoColumn {
            col,
            version: cur,
            width,
        });
    }
    let mut cols = if bugs.contains(&Bug::DdlMixedSchema) {
        let mut c = match d {
            Datum::List(v) if !v.is_empty() => v[1..].to_vec(),
            _ => vec![NULL; width as usize],
        };
        if c.len() <= col as usize {
            c.resize(col as usize + 1, NULL);
        }
        c
    } else {
        match present(cat, d, bugs)? {
            Some(r) => r.cols,
            None => vec![NULL; width as usize],
        }
    };
    cols[col as usize] = value;
    let mut v = vec![cur as i64];
    v.extend(cols);
    Ok(Datum::List(v))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn none() -> BTreeSet<Bug> {
        BTreeSet::new()
    }

    #[test]
    fn old_rows_read_with_new_columns_null_and_upgrade_on_write() {
        let v1 = Catalog::create(10);
        let row = upgrade(&v1, &Datum::Nil, 1, 7, &none()).unwrap();
        assert_eq!(row, Datum::List(vec![1, NULL, 7]));
        let v2 = v1.add_column();
        assert_eq!(Catalog::decode(&v2.encode()), Some(v2.clone()));
        let r = present(&v2, &row, &none()).unwrap().unwrap();
        assert_eq!(
            (r.stored, r.version, r.cols.clone()),
            (1, 2, vec![NULL, 7, NULL])
        );
        let up = upgrade(&v2, &row, 0, 3, &none()).unwrap();
        assert_eq!(up, Datum::List(vec![2, 3, 7, NULL]));
        // Under v1 (a replica behind the catalog record) the v2 row is refused.
        assert!(matches!(
            present(&v1, &up, &none()),
            Err(SchemaError::UnknownVersion { row: 2, catalog: 1 })
        ));
        assert!(upgrade(&v2, &row, 3, 1, &none()).is_err());
    }

    #[test]
    fn the_bugs_present_mixed_or_unknown_rows() {
        let v2 = Catalog::create(10).add_column();
        let mixed: BTreeSet<Bug> = [Bug::DdlMixedSchema].into();
        let up = upgrade(&v2, &Datum::List(vec![1, 5, 6]), 0, 3, &mixed).unwrap();
        assert_eq!(up, Datum::List(vec![2, 3, 6]));
        assert!(present(&v2, &up, &none()).is_err());
        assert_eq!(present(&v2, &up, &mixed).unwrap().unwrap().cols.len(), 2);
        let unknown: BTreeSet<Bug> = [Bug::DdlUnknownVersion].into();
        let v1 = Catalog::create(10);
        let r = present(&v1, &Datum::List(vec![2, 1, 2, 3]), &unknown)
            .unwrap()
            .unwrap();
        assert_eq!((r.version, r.cols.len()), (1, 2));
    }
}
