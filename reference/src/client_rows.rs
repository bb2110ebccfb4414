//! The row layer of fast DDL (claim C27) over a [`Client`]'s open transaction: the catalog
//! and the row are read in the same transaction, so at one read point (the writer's VDL,
//! or a replica's snapshot), and interpreted by [`crate::schema`]. Every method runs inside
//! the caller's transaction and leaves commit or abort to it.

use crate::bug::Bug;
use crate::client::{Client, ClientError};
use crate::schema::{self, Catalog, Row, CATALOG_KEY};
use crate::types::Datum;

fn schema_err(e: schema::SchemaError) -> ClientError {
    ClientError::Schema(e.to_string())
}

impl Client {
    fn has(&self, b: Bug) -> bool {
        self.cfg.bugs.contains(&b)
    }

    /// The catalog at this transaction's read point (None: no table yet).
    async fn catalog(&mut self) -> Result<Option<Catalog>, ClientError> {
        if self.has(Bug::DdlUnknownVersion) {
            if let Some(d) = &self.catalog_cache {
                return Ok(Catalog::decode(d));
            }
        }
        let d = self.read(CATALOG_KEY).await?;
        if self.has(Bug::DdlUnknownVersion) && !matches!(d, Datum::Nil) {
            self.catalog_cache = Some(d.clone());
        }
        Ok(Catalog::decode(&d))
    }

    /// The catalog at this transaction's read point; an error before the table exists.
    async fn table(&mut self) -> Result<Catalog, ClientError> {
        self.catalog()
            .await?
            .ok_or_else(|| ClientError::Schema("no table".into()))
    }

    /// `CREATE TABLE IF NOT EXISTS t` of `pages` pages (version 1, [`schema::BASE_COLUMNS`]
    /// columns): writes the catalog unless it exists.
    pub async fn create_table(&mut self, pages: u64) -> Result<(), ClientError> {
        if self.catalog().await?.is_none() {
            self.write(CATALOG_KEY, Catalog::create(pages).encode())
                .await?;
        }
        Ok(())
    }

    /// Row `r` as presented under the catalog at this transaction's read point (None: no
    /// row, or no table yet). A row the catalog cannot interpret is an error, never shown.
    pub async fn read_row(&mut self, r: u64) -> Result<Option<Row>, ClientError> {
        let Some(cat) = self.catalog().await? else {
            return Ok(None);
        };
        let d = self.read(schema::row_key(r)).await?;
        schema::present(&cat, &d, &self.cfg.bugs).map_err(schema_err)
    }

    /// `UPDATE t SET c_col = value WHERE row = r` (inserting the row if absent; the table must exist): the row is
    /// rewritten whole under the current version (lazy upgrade). Returns that version.
    pub async fn write_row(&mut self, r: u64, col: u32, value: i64) -> Result<u32, ClientError> {
        let cat = self.table().await?;
        if r >= cat.pages {
            return Err(ClientError::Schema(format!(
                "row {r} beyond the table's {} pages",
                cat.pages
            )));
        }
        let key = schema::row_key(r);
        let d = self.read(key).await?;
        let row = schema::upgrade(&cat, &d, col, value, &self.cfg.bugs).map_err(schema_err)?;
        self.write(key, row).await?;
        Ok(cat.version())
    }

    /// Bulk insert of rows `lo..hi` (within the table's extent), each `[r, NULL, ..]` under
    /// the current version, written blind. Returns that version.
    pub async fn load_rows(&mut self, lo: u64, hi: u64) -> Result<u32, ClientError> {
        let cat = self.table().await?;
        let v = cat.version();
        let width = cat.width(v).unwrap_or(1) as usize;
        for r in lo..hi.min(cat.pages) {
            let mut row = vec![v as i64, r as i64];
            row.resize(width + 1, schema::NULL);
            self.write(schema::row_key(r), Datum::List(row)).await?;
        }
        Ok(v)
    }

    /// `ALTER TABLE t ADD COLUMN c NULL`: one catalog record, no page touched. Returns the
    /// new (version, column count).
    ///
    /// Bug `ddl-rewrites-table`: every page of the table is read and its row rewritten
    /// under the new version, in the same transaction.
    pub async fn add_column(&mut self) -> Result<(u32, u32), ClientError> {
        let cat = self.table().await?;
        let next = cat.add_column();
        if self.has(Bug::DdlRewritesTable) {
            for r in 0..cat.pages {
                let key = schema::row_key(r);
                let d = self.read(key).await?;
                if let Some(row) = schema::present(&next, &d, &self.cfg.bugs).map_err(schema_err)? {
                    let mut v = vec![next.version() as i64];
                    v.extend(row.cols);
                    self.write(key, Datum::List(v)).await?;
                }
            }
        }
        self.write(CATALOG_KEY, next.encode()).await?;
        let v = next.version();
        Ok((v, next.width(v).unwrap_or(0)))
    }
}
