//! PostgreSQL. Both variants connect with `search_path` set to the
//! server's own schema (a startup `options` parameter) and send prepared
//! statements.
//!
//! - [`Async`]: tokio-postgres through deadpool-postgres, pool of 8,
//!   statements from the pool's per-connection `prepare_cached`.
//! - [`Blocking`]: the sync `postgres` crate, up to 8 pooled connections,
//!   each with its statements prepared once when it opens.

use std::str::FromStr;

use deadpool_postgres::{Manager, ManagerConfig, RecyclingMethod};
use tokio_postgres::error::SqlState;
use tokio_postgres::NoTls;

use super::pool::Pool;
use super::sql::{self, dollars};
use super::SyncStore;
use crate::peer::model::{DbError, NewPerson, Patched, PersonPatch, Row};

pub const POOL_SIZE: usize = 8;

fn err(e: tokio_postgres::Error) -> DbError {
    if e.code() == Some(&SqlState::UNIQUE_VIOLATION) {
        DbError::Conflict
    } else {
        DbError::Other(e.to_string())
    }
}

fn row(r: &tokio_postgres::Row) -> Row {
    Row {
        id: r.get(0),
        name: r.get(1),
        email: r.get(2),
        email_verified: r.get(3),
        version: r.get(4),
    }
}

/// The connection settings: `url` with `search_path` = `schema`.
fn config(url: &str, schema: &str) -> Result<tokio_postgres::Config, String> {
    let mut c = tokio_postgres::Config::from_str(url).map_err(|e| format!("{url}: {e}"))?;
    c.options(format!("-c search_path={schema}"));
    Ok(c)
}

/// The statements, with PostgreSQL placeholders.
struct Sql {
    get: String,
    page: String,
    count: String,
    insert: String,
    update: String,
    exists: String,
    delete: String,
}

impl Sql {
    fn new() -> Sql {
        Sql {
            get: dollars(sql::GET),
            page: dollars(sql::PAGE),
            count: sql::COUNT.into(),
            insert: dollars(sql::INSERT),
            update: dollars(sql::UPDATE_RETURNING).replace("$5 IS NULL", "$5::BIGINT IS NULL"),
            exists: dollars(sql::EXISTS),
            delete: dollars(sql::DELETE),
        }
    }
}

/// tokio-postgres + deadpool-postgres.
pub struct Async {
    pool: deadpool_postgres::Pool,
    sql: Sql,
}

impl Async {
    pub async fn new(url: &str, schema: &str) -> Result<Async, String> {
        let manager = Manager::from_config(
            config(url, schema)?,
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = deadpool_postgres::Pool::builder(manager)
            .max_size(POOL_SIZE)
            .build()
            .map_err(|e| e.to_string())?;
        drop(pool.get().await.map_err(|e| e.to_string())?);
        Ok(Async {
            pool,
            sql: Sql::new(),
        })
    }

    async fn client(&self) -> Result<deadpool_postgres::Object, DbError> {
        self.pool
            .get()
            .await
            .map_err(|e| DbError::Other(e.to_string()))
    }

    pub async fn get(&self, id: i64) -> Result<Option<Row>, DbError> {
        let c = self.client().await?;
        let stmt = c.prepare_cached(&self.sql.get).await.map_err(err)?;
        Ok(c.query_opt(&stmt, &[&id])
            .await
            .map_err(err)?
            .as_ref()
            .map(row))
    }

    pub async fn page(&self, offset: u64, size: u64) -> Result<(Vec<Row>, u64), DbError> {
        let c = self.client().await?;
        let page = c.prepare_cached(&self.sql.page).await.map_err(err)?;
        let count = c.prepare_cached(&self.sql.count).await.map_err(err)?;
        let rows = c
            .query(&page, &[&(size as i64), &(offset as i64)])
            .await
            .map_err(err)?;
        let n: i64 = c.query_one(&count, &[]).await.map_err(err)?.get(0);
        Ok((rows.iter().map(row).collect(), n as u64))
    }

    pub async fn create(&self, new: NewPerson) -> Result<Row, DbError> {
        let c = self.client().await?;
        let stmt = c.prepare_cached(&self.sql.insert).await.map_err(err)?;
        let r = c
            .query_one(&stmt, &[&new.name, &new.email, &new.email_verified])
            .await
            .map_err(err)?;
        Ok(row(&r))
    }

    pub async fn patch(
        &self,
        id: i64,
        p: PersonPatch,
        expect: Option<i64>,
    ) -> Result<Patched, DbError> {
        let c = self.client().await?;
        let update = c.prepare_cached(&self.sql.update).await.map_err(err)?;
        let written = c
            .query_opt(
                &update,
                &[&p.name, &p.email, &p.email_verified, &id, &expect],
            )
            .await
            .map_err(err)?;
        if let Some(r) = written {
            return Ok(Patched::Done(row(&r)));
        }
        let exists = c.prepare_cached(&self.sql.exists).await.map_err(err)?;
        let found = c.query_opt(&exists, &[&id]).await.map_err(err)?.is_some();
        Ok(if found {
            Patched::Mismatch
        } else {
            Patched::Missing
        })
    }

    pub async fn delete(&self, id: i64) -> Result<bool, DbError> {
        let c = self.client().await?;
        let stmt = c.prepare_cached(&self.sql.delete).await.map_err(err)?;
        Ok(c.execute(&stmt, &[&id]).await.map_err(err)? == 1)
    }
}

/// One sync connection with its statements prepared.
pub struct Conn {
    client: postgres::Client,
    get: postgres::Statement,
    page: postgres::Statement,
    count: postgres::Statement,
    insert: postgres::Statement,
    update: postgres::Statement,
    exists: postgres::Statement,
    delete: postgres::Statement,
}

impl Conn {
    fn open(config: &postgres::Config, sql: &Sql) -> Result<Conn, String> {
        let mut client = config.connect(postgres::NoTls).map_err(|e| e.to_string())?;
        let mut prepare = |q: &str| client.prepare(q).map_err(|e| e.to_string());
        let (get, page, count) = (
            prepare(&sql.get)?,
            prepare(&sql.page)?,
            prepare(&sql.count)?,
        );
        let (insert, update) = (prepare(&sql.insert)?, prepare(&sql.update)?);
        let (exists, delete) = (prepare(&sql.exists)?, prepare(&sql.delete)?);
        Ok(Conn {
            client,
            get,
            page,
            count,
            insert,
            update,
            exists,
            delete,
        })
    }
}

/// The sync `postgres` crate behind a pool of [`POOL_SIZE`].
pub struct Blocking {
    pool: Pool<Conn>,
}

impl Blocking {
    pub fn new(url: &str, schema: &str) -> Result<Blocking, String> {
        let mut config = postgres::Config::from_str(url).map_err(|e| format!("{url}: {e}"))?;
        config.options(&format!("-c search_path={schema}"));
        let sql = Sql::new();
        let pool = Pool::new(POOL_SIZE, Box::new(move || Conn::open(&config, &sql)));
        drop(pool.get().map_err(|e| format!("{e:?}"))?);
        Ok(Blocking { pool })
    }
}

impl SyncStore for Blocking {
    fn get(&self, id: i64) -> Result<Option<Row>, DbError> {
        let mut c = self.pool.get()?;
        let c = &mut *c;
        Ok(c.client
            .query_opt(&c.get, &[&id])
            .map_err(err)?
            .as_ref()
            .map(row))
    }

    fn page(&self, offset: u64, size: u64) -> Result<(Vec<Row>, u64), DbError> {
        let mut c = self.pool.get()?;
        let c = &mut *c;
        let rows = c
            .client
            .query(&c.page, &[&(size as i64), &(offset as i64)])
            .map_err(err)?;
        let n: i64 = c.client.query_one(&c.count, &[]).map_err(err)?.get(0);
        Ok((rows.iter().map(row).collect(), n as u64))
    }

    fn create(&self, new: NewPerson) -> Result<Row, DbError> {
        let mut c = self.pool.get()?;
        let c = &mut *c;
        let r = c
            .client
            .query_one(&c.insert, &[&new.name, &new.email, &new.email_verified])
            .map_err(err)?;
        Ok(row(&r))
    }

    fn patch(&self, id: i64, p: PersonPatch, expect: Option<i64>) -> Result<Patched, DbError> {
        let mut c = self.pool.get()?;
        let c = &mut *c;
        let written = c
            .client
            .query_opt(
                &c.update,
                &[&p.name, &p.email, &p.email_verified, &id, &expect],
            )
            .map_err(err)?;
        if let Some(r) = written {
            return Ok(Patched::Done(row(&r)));
        }
        let found = c
            .client
            .query_opt(&c.exists, &[&id])
            .map_err(err)?
            .is_some();
        Ok(if found {
            Patched::Mismatch
        } else {
            Patched::Missing
        })
    }

    fn delete(&self, id: i64) -> Result<bool, DbError> {
        let mut c = self.pool.get()?;
        let c = &mut *c;
        Ok(c.client.execute(&c.delete, &[&id]).map_err(err)? == 1)
    }
}
