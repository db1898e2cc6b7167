//! MariaDB. Both variants use the server-side prepared statements their
//! driver caches per connection, a pool of 8, and answer a conditional
//! update from one transaction (`UPDATE … WHERE version = ?`, then the row
//! read back; MariaDB has no `UPDATE … RETURNING`).
//!
//! - [`Async`]: mysql_async's pool, awaited from the handler.
//! - [`Blocking`]: the sync `mysql` crate's pool, behind the framework's
//!   blocking pool.

use mysql_async::prelude::Queryable as _;

use super::SyncStore;
use crate::peer::model::{DbError, NewPerson, Patched, PersonPatch, Row};

pub const POOL_SIZE: usize = 8;

const GET: &str = "SELECT id, name, email, email_verified, version FROM person WHERE id = ?";
const PAGE: &str =
    "SELECT id, name, email, email_verified, version FROM person ORDER BY id LIMIT ? OFFSET ?";
const COUNT: &str = "SELECT COUNT(*) FROM person";
const INSERT: &str = "INSERT INTO person (name, email, email_verified) VALUES (?, ?, ?) \
                      RETURNING id, name, email, email_verified, version";
const UPDATE: &str = "UPDATE person SET name = COALESCE(?, name), email = COALESCE(?, email), \
                      email_verified = COALESCE(?, email_verified), version = version + 1 \
                      WHERE id = ? AND (? IS NULL OR version = ?)";
const EXISTS: &str = "SELECT 1 FROM person WHERE id = ?";
const DELETE: &str = "DELETE FROM person WHERE id = ?";

type Tuple = (i64, String, String, bool, i64);

fn row((id, name, email, email_verified, version): Tuple) -> Row {
    Row {
        id,
        name,
        email,
        email_verified,
        version,
    }
}

/// `ER_DUP_ENTRY`.
fn duplicate(code: u16) -> bool {
    code == 1062
}

fn async_err(e: mysql_async::Error) -> DbError {
    match &e {
        mysql_async::Error::Server(s) if duplicate(s.code) => DbError::Conflict,
        _ => DbError::Other(e.to_string()),
    }
}

fn sync_err(e: mysql::Error) -> DbError {
    match &e {
        mysql::Error::MySqlError(s) if duplicate(s.code) => DbError::Conflict,
        _ => DbError::Other(e.to_string()),
    }
}

/// mysql_async with a pool of [`POOL_SIZE`].
pub struct Async {
    pool: mysql_async::Pool,
}

impl Async {
    pub async fn new(url: &str) -> Result<Async, String> {
        let opts = mysql_async::Opts::from_url(url).map_err(|e| format!("{url}: {e}"))?;
        let constraints =
            mysql_async::PoolConstraints::new(POOL_SIZE, POOL_SIZE).ok_or("pool size")?;
        let opts = mysql_async::OptsBuilder::from_opts(opts)
            .pool_opts(mysql_async::PoolOpts::default().with_constraints(constraints));
        let pool = mysql_async::Pool::new(opts);
        drop(pool.get_conn().await.map_err(|e| e.to_string())?);
        Ok(Async { pool })
    }

    async fn conn(&self) -> Result<mysql_async::Conn, DbError> {
        self.pool.get_conn().await.map_err(async_err)
    }

    pub async fn get(&self, id: i64) -> Result<Option<Row>, DbError> {
        let mut c = self.conn().await?;
        Ok(c.exec_first::<Tuple, _, _>(GET, (id,))
            .await
            .map_err(async_err)?
            .map(row))
    }

    pub async fn page(&self, offset: u64, size: u64) -> Result<(Vec<Row>, u64), DbError> {
        let mut c = self.conn().await?;
        let rows = c
            .exec::<Tuple, _, _>(PAGE, (size, offset))
            .await
            .map_err(async_err)?;
        let n: Option<u64> = c.exec_first(COUNT, ()).await.map_err(async_err)?;
        Ok((rows.into_iter().map(row).collect(), n.unwrap_or(0)))
    }

    pub async fn create(&self, new: NewPerson) -> Result<Row, DbError> {
        let mut c = self.conn().await?;
        let r = c
            .exec_first::<Tuple, _, _>(INSERT, (new.name, new.email, new.email_verified))
            .await
            .map_err(async_err)?;
        r.map(row)
            .ok_or_else(|| DbError::Other("INSERT returned no row".into()))
    }

    pub async fn patch(
        &self,
        id: i64,
        p: PersonPatch,
        expect: Option<i64>,
    ) -> Result<Patched, DbError> {
        let mut tx = self
            .pool
            .start_transaction(mysql_async::TxOpts::default())
            .await
            .map_err(async_err)?;
        tx.exec_drop(
            UPDATE,
            (p.name, p.email, p.email_verified, id, expect, expect),
        )
        .await
        .map_err(async_err)?;
        let outcome = if tx.affected_rows() == 1 {
            match tx
                .exec_first::<Tuple, _, _>(GET, (id,))
                .await
                .map_err(async_err)?
            {
                Some(r) => Patched::Done(row(r)),
                None => Patched::Missing,
            }
        } else if tx
            .exec_first::<i64, _, _>(EXISTS, (id,))
            .await
            .map_err(async_err)?
            .is_some()
        {
            Patched::Mismatch
        } else {
            Patched::Missing
        };
        tx.commit().await.map_err(async_err)?;
        Ok(outcome)
    }

    pub async fn delete(&self, id: i64) -> Result<bool, DbError> {
        let mut c = self.conn().await?;
        c.exec_drop(DELETE, (id,)).await.map_err(async_err)?;
        Ok(c.affected_rows() == 1)
    }
}

/// The sync `mysql` crate with a pool of [`POOL_SIZE`].
pub struct Blocking {
    pool: mysql::Pool,
}

impl Blocking {
    pub fn new(url: &str) -> Result<Blocking, String> {
        let opts = mysql::Opts::from_url(url).map_err(|e| format!("{url}: {e}"))?;
        let constraints = mysql::PoolConstraints::new(POOL_SIZE, POOL_SIZE).ok_or("pool size")?;
        let opts = mysql::OptsBuilder::from_opts(opts)
            .pool_opts(mysql::PoolOpts::default().with_constraints(constraints));
        let pool = mysql::Pool::new(opts).map_err(|e| e.to_string())?;
        Ok(Blocking { pool })
    }

    fn conn(&self) -> Result<mysql::PooledConn, DbError> {
        self.pool.get_conn().map_err(sync_err)
    }
}

impl SyncStore for Blocking {
    fn get(&self, id: i64) -> Result<Option<Row>, DbError> {
        use mysql::prelude::Queryable as _;
        Ok(self
            .conn()?
            .exec_first::<Tuple, _, _>(GET, (id,))
            .map_err(sync_err)?
            .map(row))
    }

    fn page(&self, offset: u64, size: u64) -> Result<(Vec<Row>, u64), DbError> {
        use mysql::prelude::Queryable as _;
        let mut c = self.conn()?;
        let rows = c
            .exec::<Tuple, _, _>(PAGE, (size, offset))
            .map_err(sync_err)?;
        let n: Option<u64> = c.exec_first(COUNT, ()).map_err(sync_err)?;
        Ok((rows.into_iter().map(row).collect(), n.unwrap_or(0)))
    }

    fn create(&self, new: NewPerson) -> Result<Row, DbError> {
        use mysql::prelude::Queryable as _;
        let r = self
            .conn()?
            .exec_first::<Tuple, _, _>(INSERT, (new.name, new.email, new.email_verified))
            .map_err(sync_err)?;
        r.map(row)
            .ok_or_else(|| DbError::Other("INSERT returned no row".into()))
    }

    fn patch(&self, id: i64, p: PersonPatch, expect: Option<i64>) -> Result<Patched, DbError> {
        use mysql::prelude::Queryable as _;
        let mut c = self.conn()?;
        let mut tx = c
            .start_transaction(mysql::TxOpts::default())
            .map_err(sync_err)?;
        tx.exec_drop(
            UPDATE,
            (p.name, p.email, p.email_verified, id, expect, expect),
        )
        .map_err(sync_err)?;
        let outcome = if tx.affected_rows() == 1 {
            match tx.exec_first::<Tuple, _, _>(GET, (id,)).map_err(sync_err)? {
                Some(r) => Patched::Done(row(r)),
                None => Patched::Missing,
            }
        } else if tx
            .exec_first::<i64, _, _>(EXISTS, (id,))
            .map_err(sync_err)?
            .is_some()
        {
            Patched::Mismatch
        } else {
            Patched::Missing
        };
        tx.commit().map_err(sync_err)?;
        Ok(outcome)
    }

    fn delete(&self, id: i64) -> Result<bool, DbError> {
        use mysql::prelude::Queryable as _;
        let mut c = self.conn()?;
        c.exec_drop(DELETE, (id,)).map_err(sync_err)?;
        Ok(c.affected_rows() == 1)
    }
}
