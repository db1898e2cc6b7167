//! rusqlite, as a competent user runs it: WAL (set on the file by the
//! driver), `synchronous=NORMAL` (as lightapi), `busy_timeout` 5 s, every
//! statement through `prepare_cached`.
//!
//! - [`Inline`]: one connection per thread (thread-local), called directly
//!   from the async handler: with the frameworks' default of one worker
//!   thread per core, one connection, no lock and no hand-off.
//! - [`Pooled`]: the blocking variant's store: up to 8 read connections
//!   (lightapi's pool size) and one write connection behind a mutex (SQLite
//!   has one writer at a time; a mutex is cheaper than `SQLITE_BUSY`
//!   retries).

use std::cell::RefCell;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use rusqlite::{params, Connection, OptionalExtension};

use super::pool::Pool;
use super::sql;
use super::SyncStore;
use crate::peer::model::{DbError, NewPerson, Patched, PersonPatch, Row};

fn err(e: rusqlite::Error) -> DbError {
    match e.sqlite_error_code() {
        Some(rusqlite::ErrorCode::ConstraintViolation) => DbError::Conflict,
        _ => DbError::Other(e.to_string()),
    }
}

fn open(path: &str) -> Result<Connection, String> {
    let conn = Connection::open(path).map_err(|e| e.to_string())?;
    conn.busy_timeout(Duration::from_secs(5))
        .map_err(|e| e.to_string())?;
    conn.pragma_update(None, "synchronous", "NORMAL")
        .map_err(|e| e.to_string())?;
    conn.set_prepared_statement_cache_capacity(16);
    Ok(conn)
}

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Row> {
    Ok(Row {
        id: r.get(0)?,
        name: r.get(1)?,
        email: r.get(2)?,
        email_verified: r.get(3)?,
        version: r.get(4)?,
    })
}

fn get(c: &Connection, id: i64) -> Result<Option<Row>, DbError> {
    c.prepare_cached(sql::GET)
        .map_err(err)?
        .query_row([id], row)
        .optional()
        .map_err(err)
}

fn page(c: &Connection, offset: u64, size: u64) -> Result<(Vec<Row>, u64), DbError> {
    let rows = c
        .prepare_cached(sql::PAGE)
        .map_err(err)?
        .query_map(params![size as i64, offset as i64], row)
        .map_err(err)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(err)?;
    let count: i64 = c
        .prepare_cached(sql::COUNT)
        .map_err(err)?
        .query_row([], |r| r.get(0))
        .map_err(err)?;
    Ok((rows, count as u64))
}

fn create(c: &Connection, new: NewPerson) -> Result<Row, DbError> {
    c.prepare_cached(sql::INSERT)
        .map_err(err)?
        .query_row(params![new.name, new.email, new.email_verified], row)
        .map_err(err)
}

fn patch(c: &Connection, id: i64, p: PersonPatch, expect: Option<i64>) -> Result<Patched, DbError> {
    let written = c
        .prepare_cached(sql::UPDATE_RETURNING)
        .map_err(err)?
        .query_row(params![p.name, p.email, p.email_verified, id, expect], row)
        .optional()
        .map_err(err)?;
    if let Some(r) = written {
        return Ok(Patched::Done(r));
    }
    let exists = c
        .prepare_cached(sql::EXISTS)
        .map_err(err)?
        .exists([id])
        .map_err(err)?;
    Ok(if exists {
        Patched::Mismatch
    } else {
        Patched::Missing
    })
}

fn delete(c: &Connection, id: i64) -> Result<bool, DbError> {
    Ok(c.prepare_cached(sql::DELETE)
        .map_err(err)?
        .execute([id])
        .map_err(err)?
        == 1)
}

thread_local! {
    static CONN: RefCell<Option<Connection>> = const { RefCell::new(None) };
}

/// A thread-local connection to the file at `path`.
pub struct Inline {
    path: Arc<str>,
}

impl Inline {
    pub fn new(path: &str) -> Result<Inline, String> {
        drop(open(path)?);
        Ok(Inline { path: path.into() })
    }

    fn with<R>(&self, f: impl FnOnce(&Connection) -> Result<R, DbError>) -> Result<R, DbError> {
        CONN.with(|cell| {
            let mut slot = cell.borrow_mut();
            if slot.is_none() {
                *slot = Some(open(&self.path).map_err(DbError::Other)?);
            }
            match slot.as_ref() {
                Some(c) => f(c),
                None => Err(DbError::Other("no connection".into())),
            }
        })
    }
}

impl SyncStore for Inline {
    fn get(&self, id: i64) -> Result<Option<Row>, DbError> {
        self.with(|c| get(c, id))
    }
    fn page(&self, offset: u64, size: u64) -> Result<(Vec<Row>, u64), DbError> {
        self.with(|c| page(c, offset, size))
    }
    fn create(&self, new: NewPerson) -> Result<Row, DbError> {
        self.with(|c| create(c, new))
    }
    fn patch(&self, id: i64, p: PersonPatch, expect: Option<i64>) -> Result<Patched, DbError> {
        self.with(|c| patch(c, id, p, expect))
    }
    fn delete(&self, id: i64) -> Result<bool, DbError> {
        self.with(|c| delete(c, id))
    }
}

/// Pooled readers and one writer behind a mutex.
pub struct Pooled {
    readers: Pool<Connection>,
    writer: Mutex<Connection>,
}

impl Pooled {
    pub fn new(path: &str, readers: usize) -> Result<Pooled, String> {
        let writer = open(path)?;
        let path = path.to_string();
        Ok(Pooled {
            readers: Pool::new(readers, Box::new(move || open(&path))),
            writer: Mutex::new(writer),
        })
    }

    fn write<R>(&self, f: impl FnOnce(&Connection) -> Result<R, DbError>) -> Result<R, DbError> {
        f(&self.writer.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

impl SyncStore for Pooled {
    fn get(&self, id: i64) -> Result<Option<Row>, DbError> {
        let c = self.readers.get()?;
        get(&c, id)
    }
    fn page(&self, offset: u64, size: u64) -> Result<(Vec<Row>, u64), DbError> {
        let c = self.readers.get()?;
        page(&c, offset, size)
    }
    fn create(&self, new: NewPerson) -> Result<Row, DbError> {
        self.write(|c| create(c, new))
    }
    fn patch(&self, id: i64, p: PersonPatch, expect: Option<i64>) -> Result<Patched, DbError> {
        self.write(|c| patch(c, id, p, expect))
    }
    fn delete(&self, id: i64) -> Result<bool, DbError> {
        self.write(|c| delete(c, id))
    }
}
