//! The peers' Person store, written the way a typical actix-web or axum user
//! would: the synchronous driver (rusqlite, or the `postgres` crate) behind
//! a small r2d2-style pool, called from the framework's blocking pool
//! (`web::block`, `tokio::task::spawn_blocking`).
//!
//! - SQLite: the file lightapi's own DDL created (same table), WAL mode,
//!   `synchronous=NORMAL` (as lightapi), `busy_timeout` 5 s; up to 8 reading
//!   connections (lightapi's default pool size) and one writing connection
//!   behind a mutex (the usual way to avoid `SQLITE_BUSY` between writers);
//!   statements through `prepare_cached`. `POST` is one autocommit
//!   `INSERT … RETURNING`.
//! - PostgreSQL: up to 8 connections, each with its two statements prepared
//!   once; `POST` is one autocommit `INSERT … RETURNING`.

use std::ops::{Deref, DerefMut};
use std::sync::{Condvar, Mutex, PoisonError};
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// A row as the peers send it (lightapi sends the same keys and values).
#[derive(Serialize)]
pub struct Person {
    pub id: i64,
    pub name: String,
    pub email: String,
    pub email_verified: bool,
}

/// A `POST /person` body.
#[derive(Deserialize)]
pub struct NewPerson {
    pub name: String,
    pub email: String,
    #[serde(default)]
    pub email_verified: bool,
}

/// Why a store call failed.
#[derive(Debug)]
pub enum DbError {
    /// A unique constraint (409).
    Conflict,
    /// Anything else (500).
    Other(String),
}

/// What the HTTP handlers need.
pub trait Store: Send + Sync + 'static {
    /// The row, if any.
    fn get(&self, id: i64) -> Result<Option<Person>, DbError>;
    /// Inserts and returns the stored row.
    fn create(&self, new: NewPerson) -> Result<Person, DbError>;
}

type Make<C> = Box<dyn Fn() -> Result<C, String> + Send + Sync>;

/// At most `max` connections, opened on demand and reused.
pub struct Pool<C> {
    state: Mutex<(Vec<C>, usize)>,
    freed: Condvar,
    max: usize,
    make: Make<C>,
}

/// A checked-out connection, returned on drop.
pub struct Lease<'p, C> {
    pool: &'p Pool<C>,
    conn: Option<C>,
}

impl<C> Pool<C> {
    pub fn new(max: usize, make: Make<C>) -> Pool<C> {
        Pool {
            state: Mutex::new((Vec::new(), 0)),
            freed: Condvar::new(),
            max,
            make,
        }
    }

    pub fn get(&self) -> Result<Lease<'_, C>, DbError> {
        let mut st = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        loop {
            if let Some(conn) = st.0.pop() {
                return Ok(Lease { pool: self, conn: Some(conn) });
            }
            if st.1 < self.max {
                st.1 += 1;
                drop(st);
                return match (self.make)() {
                    Ok(conn) => Ok(Lease { pool: self, conn: Some(conn) }),
                    Err(e) => {
                        self.state.lock().unwrap_or_else(PoisonError::into_inner).1 -= 1;
                        Err(DbError::Other(e))
                    }
                };
            }
            st = self.freed.wait(st).unwrap_or_else(PoisonError::into_inner);
        }
    }
}

impl<C> Deref for Lease<'_, C> {
    type Target = C;
    fn deref(&self) -> &C {
        self.conn.as_ref().expect("leased")
    }
}

impl<C> DerefMut for Lease<'_, C> {
    fn deref_mut(&mut self) -> &mut C {
        self.conn.as_mut().expect("leased")
    }
}

impl<C> Drop for Lease<'_, C> {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            self.pool.state.lock().unwrap_or_else(PoisonError::into_inner).0.push(conn);
            self.pool.freed.notify_one();
        }
    }
}

const POOL_SIZE: usize = 8;
const SELECT_SQLITE: &str = "SELECT id, name, email, email_verified FROM person WHERE id = ?1";
const INSERT_SQLITE: &str =
    "INSERT INTO person (name, email, email_verified) VALUES (?1, ?2, ?3) RETURNING id, name, email, email_verified";

/// actix-web/axum + rusqlite.
pub struct Sqlite {
    readers: Pool<rusqlite::Connection>,
    writer: Mutex<rusqlite::Connection>,
}

fn sqlite_err(e: rusqlite::Error) -> DbError {
    match e.sqlite_error_code() {
        Some(rusqlite::ErrorCode::ConstraintViolation) => DbError::Conflict,
        _ => DbError::Other(e.to_string()),
    }
}

fn sqlite_person(r: &rusqlite::Row<'_>) -> rusqlite::Result<Person> {
    Ok(Person {
        id: r.get(0)?,
        name: r.get(1)?,
        email: r.get(2)?,
        email_verified: r.get(3)?,
    })
}

impl Sqlite {
    /// Opens the database file at `path` (the table must exist).
    pub fn open(path: &str) -> Result<Sqlite, String> {
        let open = {
            let path = path.to_string();
            move || -> Result<rusqlite::Connection, String> {
                let conn = rusqlite::Connection::open(&path).map_err(|e| e.to_string())?;
                conn.busy_timeout(Duration::from_secs(5)).map_err(|e| e.to_string())?;
                Ok(conn)
            }
        };
        let writer = open()?;
        writer.pragma_update(None, "journal_mode", "WAL").map_err(|e| e.to_string())?;
        writer.pragma_update(None, "synchronous", "NORMAL").map_err(|e| e.to_string())?;
        Ok(Sqlite { readers: Pool::new(POOL_SIZE, Box::new(open)), writer: Mutex::new(writer) })
    }
}

impl Store for Sqlite {
    fn get(&self, id: i64) -> Result<Option<Person>, DbError> {
        let conn = self.readers.get()?;
        let mut stmt = conn.prepare_cached(SELECT_SQLITE).map_err(sqlite_err)?;
        let mut rows = stmt.query([id]).map_err(sqlite_err)?;
        match rows.next().map_err(sqlite_err)? {
            Some(row) => Ok(Some(sqlite_person(row).map_err(sqlite_err)?)),
            None => Ok(None),
        }
    }

    fn create(&self, new: NewPerson) -> Result<Person, DbError> {
        let conn = self.writer.lock().unwrap_or_else(PoisonError::into_inner);
        let mut stmt = conn.prepare_cached(INSERT_SQLITE).map_err(sqlite_err)?;
        stmt.query_row(rusqlite::params![new.name, new.email, new.email_verified], sqlite_person)
            .map_err(sqlite_err)
    }
}

/// actix-web + postgres (sync), one prepared statement pair per connection.
pub struct Pg {
    pool: Pool<PgConn>,
}

pub struct PgConn {
    client: postgres::Client,
    select: postgres::Statement,
    insert: postgres::Statement,
}

fn pg_err(e: postgres::Error) -> DbError {
    if e.code() == Some(&postgres::error::SqlState::UNIQUE_VIOLATION) {
        DbError::Conflict
    } else {
        DbError::Other(e.to_string())
    }
}

fn pg_person(r: &postgres::Row) -> Person {
    Person { id: r.get(0), name: r.get(1), email: r.get(2), email_verified: r.get(3) }
}

impl Pg {
    /// Connections to `url` (no `schema=` parameter) using `schema`.
    pub fn open(url: &str, schema: &str) -> Result<Pg, String> {
        let url = url.to_string();
        let set_path = format!("SET search_path TO \"{schema}\"");
        let make = move || -> Result<PgConn, String> {
            let mut client = postgres::Client::connect(&url, postgres::NoTls).map_err(|e| e.to_string())?;
            client.batch_execute(&set_path).map_err(|e| e.to_string())?;
            let select = client
                .prepare("SELECT id, name, email, email_verified FROM person WHERE id = $1")
                .map_err(|e| e.to_string())?;
            let insert = client
                .prepare(
                    "INSERT INTO person (name, email, email_verified) VALUES ($1, $2, $3) \
                     RETURNING id, name, email, email_verified",
                )
                .map_err(|e| e.to_string())?;
            Ok(PgConn { client, select, insert })
        };
        let pool = Pool::new(POOL_SIZE, Box::new(make));
        drop(pool.get().map_err(|e| format!("{e:?}"))?);
        Ok(Pg { pool })
    }
}

impl Store for Pg {
    fn get(&self, id: i64) -> Result<Option<Person>, DbError> {
        let mut lease = self.pool.get()?;
        let c = &mut *lease;
        let row = c.client.query_opt(&c.select, &[&id]).map_err(pg_err)?;
        Ok(row.as_ref().map(pg_person))
    }

    fn create(&self, new: NewPerson) -> Result<Person, DbError> {
        let mut lease = self.pool.get()?;
        let c = &mut *lease;
        let row = c
            .client
            .query_one(&c.insert, &[&new.name, &new.email, &new.email_verified])
            .map_err(pg_err)?;
        Ok(pg_person(&row))
    }
}
