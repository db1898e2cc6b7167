//! The peers' Person store, in the two variants every peer runs:
//!
//! - **inline** (the strongest way a competent user would write it, as the
//!   TechEmpower entries do): SQLite through a thread-local rusqlite
//!   connection called straight from the async handler; PostgreSQL through
//!   tokio-postgres + deadpool-postgres; MariaDB through mysql_async's pool;
//! - **blocking**: the frameworks' documented way to call a blocking
//!   driver, `web::block` (actix-web) or `tokio::task::spawn_blocking`
//!   (axum), around rusqlite, `postgres` or `mysql` connections from a small
//!   pool.
//!
//! Every variant uses prepared statements, answers with the same rows, and
//! writes a conditional update in one statement (or one transaction).

pub mod my;
pub mod pg;
pub mod pool;
pub mod sqlite;

use std::sync::Arc;

use super::model::{DbError, NewPerson, Patched, PersonPatch, Row};

/// A store whose calls block the calling thread.
pub trait SyncStore: Send + Sync + 'static {
    fn get(&self, id: i64) -> Result<Option<Row>, DbError>;
    /// One page (`size` rows from `offset`, by id) and the row count.
    fn page(&self, offset: u64, size: u64) -> Result<(Vec<Row>, u64), DbError>;
    fn create(&self, new: NewPerson) -> Result<Row, DbError>;
    fn patch(&self, id: i64, patch: PersonPatch, expect: Option<i64>) -> Result<Patched, DbError>;
    /// Whether a row was deleted.
    fn delete(&self, id: i64) -> Result<bool, DbError>;
}

/// How a framework runs blocking work off its event loop.
#[derive(Debug, Clone, Copy)]
pub enum Offload {
    /// `actix_web::web::block` (actix-web's documented way).
    WebBlock,
    /// `tokio::task::spawn_blocking` (tokio's and axum's).
    SpawnBlocking,
}

impl Offload {
    async fn run<F, R>(self, f: F) -> Result<R, DbError>
    where
        F: FnOnce() -> Result<R, DbError> + Send + 'static,
        R: Send + 'static,
    {
        match self {
            Offload::WebBlock => actix_web::web::block(f)
                .await
                .map_err(|e| DbError::Other(e.to_string()))?,
            Offload::SpawnBlocking => tokio::task::spawn_blocking(f)
                .await
                .map_err(|e| DbError::Other(e.to_string()))?,
        }
    }
}

/// The store a peer serves `/person` from.
pub enum Store {
    /// Inline calls on this thread's own SQLite connection.
    SqliteInline(sqlite::Inline),
    PgAsync(pg::Async),
    MyAsync(my::Async),
    /// A blocking driver behind the framework's blocking pool.
    Blocking(Arc<dyn SyncStore>),
}

macro_rules! dispatch {
    ($self:ident, $how:ident, $method:ident ( $($arg:ident),* )) => {
        match $self {
            Store::SqliteInline(s) => s.$method($($arg),*),
            Store::PgAsync(s) => s.$method($($arg),*).await,
            Store::MyAsync(s) => s.$method($($arg),*).await,
            Store::Blocking(s) => {
                let s = Arc::clone(s);
                $how.run(move || s.$method($($arg),*)).await
            }
        }
    };
}

impl Store {
    pub async fn get(&self, how: Offload, id: i64) -> Result<Option<Row>, DbError> {
        dispatch!(self, how, get(id))
    }

    pub async fn page(
        &self,
        how: Offload,
        offset: u64,
        size: u64,
    ) -> Result<(Vec<Row>, u64), DbError> {
        dispatch!(self, how, page(offset, size))
    }

    pub async fn create(&self, how: Offload, new: NewPerson) -> Result<Row, DbError> {
        dispatch!(self, how, create(new))
    }

    pub async fn patch(
        &self,
        how: Offload,
        id: i64,
        patch: PersonPatch,
        expect: Option<i64>,
    ) -> Result<Patched, DbError> {
        dispatch!(self, how, patch(id, patch, expect))
    }

    pub async fn delete(&self, how: Offload, id: i64) -> Result<bool, DbError> {
        dispatch!(self, how, delete(id))
    }
}

/// The SQL every peer sends (`?n` placeholders; PostgreSQL's `$n` are
/// made from them).
pub mod sql {
    pub const GET: &str =
        "SELECT id, name, email, email_verified, version FROM person WHERE id = ?1";
    pub const PAGE: &str =
        "SELECT id, name, email, email_verified, version FROM person ORDER BY id LIMIT ?1 OFFSET ?2";
    pub const COUNT: &str = "SELECT COUNT(*) FROM person";
    pub const INSERT: &str =
        "INSERT INTO person (name, email, email_verified) VALUES (?1, ?2, ?3) \
                              RETURNING id, name, email, email_verified, version";
    /// The conditional write: one statement, matching only the expected
    /// version (`?5` NULL: any), answering the written row.
    pub const UPDATE_RETURNING: &str =
        "UPDATE person SET name = COALESCE(?1, name), email = COALESCE(?2, email), \
                              email_verified = COALESCE(?3, email_verified), version = version + 1 \
                              WHERE id = ?4 AND (?5 IS NULL OR version = ?5) \
                              RETURNING id, name, email, email_verified, version";
    pub const EXISTS: &str = "SELECT 1 FROM person WHERE id = ?1";
    pub const DELETE: &str = "DELETE FROM person WHERE id = ?1";

    /// `?n` → `$n`.
    pub fn dollars(sql: &str) -> String {
        sql.replace('?', "$")
    }
}
