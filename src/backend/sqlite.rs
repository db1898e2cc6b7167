//! The built-in SQLite backend (feature `sqlite`, on by default).
//!
//! - **File databases** run in WAL mode with `foreign_keys=ON`,
//!   `busy_timeout` and `synchronous=NORMAL` (or `FULL`, see
//!   [`Synchronous`]).
//!   - Reads use a small pool of read-only connections, opened on demand up
//!     to [`PoolOptions::max_read_connections`] and checked out/returned
//!     under a short lock (never held while a query runs). In WAL mode
//!     readers never wait for the writer.
//!   - Writes go to one writer thread that owns the only read-write
//!     connection and does **group commit**: it takes every write job queued
//!     at that moment (up to [`PoolOptions::max_group_size`]), runs them in
//!     one `BEGIN IMMEDIATE` transaction with a `SAVEPOINT` per job (a failed
//!     or panicking job is rolled back to its savepoint without touching the
//!     others), commits once, and only then answers each job. N concurrent
//!     writes cost one fsync, and WAL checkpoints run on the writer thread,
//!     never on a thread serving requests.
//! - **`sqlite::memory:`** is one private in-memory database behind a single
//!   connection (a mutex), used for reads and writes alike.
//!
//! Booleans are stored as 0/1, datetimes as normalised RFC 3339 text
//! (`…T…​.ffffffZ`, so text order is time order) and JSON as text.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;
use std::sync::mpsc::{self, SyncSender};
use std::sync::{Arc, Condvar, Mutex};

use crate::sync::lock;
use std::thread::JoinHandle;
use std::time::Duration;

use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{ffi, Connection, ErrorCode, OpenFlags, ToSql};

use super::write_queue::{CloseOnDrop, WriteQueue};
use super::{
    BackendError, ConflictKind, Conn, Dialect, PoolOptions, Synchronous, Value, WriteJob,
    WriteOutput,
};
use crate::model::datetime::{format_rfc3339, parse_rfc3339};
use crate::model::FieldType;

const STATEMENT_CACHE_CAPACITY: usize = 64;
const SAVEPOINT: &str = "lightapi_job";

/// Where the database lives.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Target {
    /// A database file (created if missing).
    File(PathBuf),
    /// A private in-memory database.
    Memory,
}

/// Maps a rusqlite error to a [`BackendError`].
fn map_err(e: rusqlite::Error) -> BackendError {
    let rusqlite::Error::SqliteFailure(err, msg) = &e else {
        return BackendError::Internal {
            cause: e.to_string(),
        };
    };
    let column = || constraint_column(msg.as_deref().unwrap_or(""));
    match err.code {
        ErrorCode::ConstraintViolation => match err.extended_code {
            ffi::SQLITE_CONSTRAINT_UNIQUE | ffi::SQLITE_CONSTRAINT_PRIMARYKEY => {
                BackendError::Conflict {
                    field: column(),
                    kind: ConflictKind::Unique,
                }
            }
            ffi::SQLITE_CONSTRAINT_FOREIGNKEY => BackendError::Conflict {
                field: None,
                kind: ConflictKind::ForeignKey,
            },
            ffi::SQLITE_CONSTRAINT_NOTNULL => BackendError::Constraint { field: column() },
            _ => BackendError::Constraint { field: None },
        },
        ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked => BackendError::Busy,
        ErrorCode::CannotOpen
        | ErrorCode::NotADatabase
        | ErrorCode::PermissionDenied
        | ErrorCode::ReadOnly
        | ErrorCode::DiskFull
        | ErrorCode::SystemIoFailure
        | ErrorCode::DatabaseCorrupt
        | ErrorCode::FileLockingProtocolFailed
        | ErrorCode::NoLargeFileSupport => BackendError::Unavailable {
            cause: e.to_string(),
        },
        _ => BackendError::Internal {
            cause: e.to_string(),
        },
    }
}

/// `"UNIQUE constraint failed: person.email"` → `Some("email")`; `None` for
/// several columns.
fn constraint_column(message: &str) -> Option<String> {
    let (_, cols) = message.split_once(": ")?;
    if cols.contains(',') {
        return None;
    }
    let col = cols.rsplit('.').next()?.trim();
    (!col.is_empty()).then(|| col.to_owned())
}

struct Param<'a>(&'a Value);

impl ToSql for Param<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(match self.0 {
            Value::Null => ToSqlOutput::Borrowed(ValueRef::Null),
            Value::Integer(i) => ToSqlOutput::Borrowed(ValueRef::Integer(*i)),
            Value::Float(f) => ToSqlOutput::Borrowed(ValueRef::Real(*f)),
            Value::Text(s) => ToSqlOutput::Borrowed(ValueRef::Text(s.as_bytes())),
            Value::Boolean(b) => ToSqlOutput::Borrowed(ValueRef::Integer(i64::from(*b))),
            Value::DateTime(us) => ToSqlOutput::from(format_rfc3339(*us)),
            Value::Json(j) => ToSqlOutput::from(j.to_string()),
        })
    }
}

fn decode(v: ValueRef<'_>, kind: Option<FieldType>, index: usize) -> Result<Value, BackendError> {
    let bad = |what: &str| BackendError::Internal {
        cause: format!("column {index}: {what}"),
    };
    let text = |bytes: &[u8]| {
        std::str::from_utf8(bytes)
            .map(str::to_owned)
            .map_err(|_| bad("text is not valid utf-8"))
    };
    Ok(match (kind, v) {
        (_, ValueRef::Null) => Value::Null,
        (Some(FieldType::Integer) | None, ValueRef::Integer(i)) => Value::Integer(i),
        (Some(FieldType::Float) | None, ValueRef::Real(f)) => Value::Float(f),
        #[allow(clippy::cast_precision_loss)]
        (Some(FieldType::Float), ValueRef::Integer(i)) => Value::Float(i as f64),
        (Some(FieldType::Text) | None, ValueRef::Text(t)) => Value::Text(text(t)?),
        (Some(FieldType::Boolean), ValueRef::Integer(i)) => Value::Boolean(i != 0),
        (Some(FieldType::DateTime), ValueRef::Text(t)) => {
            let s = text(t)?;
            Value::DateTime(parse_rfc3339(&s).map_err(|e| bad(&format!("bad datetime: {e}")))?)
        }
        (Some(FieldType::Json), ValueRef::Text(t)) => {
            Value::Json(serde_json::from_slice(t).map_err(|e| bad(&format!("bad json: {e}")))?)
        }
        (kind, other) => {
            return Err(bad(&format!(
                "expected {}, found sqlite {:?}",
                kind.map_or("a value", FieldType::name),
                other.data_type()
            )))
        }
    })
}

/// A borrowed connection implementing [`Conn`].
struct SqliteConn<'c> {
    conn: &'c Connection,
}

impl Conn for SqliteConn<'_> {
    fn query(
        &mut self,
        sql: &str,
        params: &[Value],
        columns: &[FieldType],
    ) -> Result<Vec<Vec<Value>>, BackendError> {
        let mut stmt = self.conn.prepare_cached(sql).map_err(map_err)?;
        let width = stmt.column_count();
        let mut rows = stmt
            .query(rusqlite::params_from_iter(params.iter().map(Param)))
            .map_err(map_err)?;
        let mut out = Vec::new();
        while let Some(row) = rows.next().map_err(map_err)? {
            let mut values = Vec::with_capacity(width);
            for i in 0..width {
                let v = row.get_ref(i).map_err(map_err)?;
                values.push(decode(v, columns.get(i).copied(), i)?);
            }
            out.push(values);
        }
        Ok(out)
    }

    fn execute(&mut self, sql: &str, params: &[Value]) -> Result<u64, BackendError> {
        let mut stmt = self.conn.prepare_cached(sql).map_err(map_err)?;
        let n = stmt
            .execute(rusqlite::params_from_iter(params.iter().map(Param)))
            .map_err(map_err)?;
        Ok(u64::try_from(n).unwrap_or(u64::MAX))
    }
}

struct Job {
    work: WriteJob,
    reply: SyncSender<Result<WriteOutput, BackendError>>,
}

fn answer(
    reply: &SyncSender<Result<WriteOutput, BackendError>>,
    r: Result<WriteOutput, BackendError>,
) {
    // The caller blocks on the receiver until answered, so a send can only
    // fail if the caller's thread died; then there is nobody to tell.
    let _ = reply.send(r);
}

/// The error given to jobs that had succeeded when SQLite rolled the whole
/// group transaction back because of another job's failure.
fn group_lost(cause: &BackendError) -> BackendError {
    match cause {
        BackendError::Busy => BackendError::Busy,
        BackendError::Unavailable { cause } => BackendError::Unavailable {
            cause: cause.clone(),
        },
        other => BackendError::Internal {
            cause: format!("transaction rolled back after another write failed: {other}"),
        },
    }
}

/// Runs `jobs` as one group: one transaction, a savepoint per job, one
/// commit; answers every job after the commit (or its failure).
fn run_group(conn: &Connection, jobs: Vec<Job>) {
    let mut committed: Vec<(SyncSender<_>, WriteOutput)> = Vec::with_capacity(jobs.len());
    let mut in_tx = false;
    let fail_all = |committed: &mut Vec<(SyncSender<_>, WriteOutput)>, e: &BackendError| {
        for (reply, _) in committed.drain(..) {
            answer(&reply, Err(group_lost(e)));
        }
    };
    for job in jobs {
        if !in_tx {
            if let Err(e) = conn.execute_batch("BEGIN IMMEDIATE") {
                answer(&job.reply, Err(map_err(e)));
                continue;
            }
            in_tx = true;
        }
        if let Err(e) = conn.execute_batch(&format!("SAVEPOINT {SAVEPOINT}")) {
            let e = map_err(e);
            if conn.is_autocommit() {
                fail_all(&mut committed, &e);
                in_tx = false;
            }
            answer(&job.reply, Err(e));
            continue;
        }
        let work = job.work;
        let result = catch_unwind(AssertUnwindSafe(|| work(&mut SqliteConn { conn })))
            .unwrap_or_else(|_| {
                Err(BackendError::Internal {
                    cause: "write job panicked".to_owned(),
                })
            });
        let result = result.and_then(|out| {
            conn.execute_batch(&format!("RELEASE {SAVEPOINT}"))
                .map(|()| out)
                .map_err(map_err)
        });
        match result {
            Ok(out) => committed.push((job.reply, out)),
            Err(e) => {
                if conn.is_autocommit() {
                    // SQLite rolled the whole transaction back (e.g. disk full).
                    fail_all(&mut committed, &e);
                    in_tx = false;
                } else if conn
                    .execute_batch(&format!("ROLLBACK TO {SAVEPOINT}; RELEASE {SAVEPOINT}"))
                    .is_err()
                {
                    let _ = conn.execute_batch("ROLLBACK");
                    fail_all(&mut committed, &e);
                    in_tx = false;
                }
                answer(&job.reply, Err(e));
            }
        }
    }
    if !in_tx {
        return;
    }
    match conn.execute_batch("COMMIT") {
        Ok(()) => {
            for (reply, out) in committed {
                answer(&reply, Ok(out));
            }
        }
        Err(e) => {
            let e = map_err(e);
            if !conn.is_autocommit() {
                // Nothing more can be done if the rollback fails too.
                let _ = conn.execute_batch("ROLLBACK");
            }
            for (reply, _) in committed {
                answer(&reply, Err(e.clone()));
            }
        }
    }
}

fn writer_loop(conn: Connection, queue: &WriteQueue<Job>, max_group: usize) {
    let _stop = CloseOnDrop(queue);
    let mut jobs = Vec::new();
    while queue.take(&mut jobs, max_group) {
        run_group(&conn, std::mem::take(&mut jobs));
    }
    // The queue was closed and is empty: the backend was closed. Dropping
    // the last connection checkpoints the WAL.
    drop(conn);
}

struct PoolState {
    idle: Vec<Connection>,
    open: usize,
    closed: bool,
}

struct ReadPool {
    path: PathBuf,
    max: usize,
    busy_timeout: Duration,
    state: Mutex<PoolState>,
    available: Condvar,
}

/// A checked-out read connection, returned to the pool on drop.
struct Lease<'p> {
    pool: &'p ReadPool,
    conn: Option<Connection>,
}

impl Drop for Lease<'_> {
    fn drop(&mut self) {
        let Some(conn) = self.conn.take() else {
            return;
        };
        if !conn.is_autocommit() {
            // A closure left a transaction open; best effort, the connection
            // is read-only anyway.
            let _ = conn.execute_batch("ROLLBACK");
        }
        let mut st = lock(&self.pool.state);
        if st.closed {
            st.open = st.open.saturating_sub(1);
        } else {
            st.idle.push(conn);
        }
        drop(st);
        self.pool.available.notify_one();
    }
}

impl ReadPool {
    fn open_reader(&self) -> Result<Connection, BackendError> {
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY
            | OpenFlags::SQLITE_OPEN_NO_MUTEX
            | OpenFlags::SQLITE_OPEN_URI;
        let conn = Connection::open_with_flags(&self.path, flags).map_err(map_err)?;
        conn.busy_timeout(self.busy_timeout).map_err(map_err)?;
        conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE_CAPACITY);
        unicode_lower(&conn)?;
        Ok(conn)
    }

    fn checkout(&self) -> Result<Lease<'_>, BackendError> {
        let mut st = lock(&self.state);
        loop {
            if st.closed {
                return Err(BackendError::Closed);
            }
            if let Some(conn) = st.idle.pop() {
                return Ok(Lease {
                    pool: self,
                    conn: Some(conn),
                });
            }
            if st.open < self.max {
                st.open += 1;
                drop(st);
                return match self.open_reader() {
                    Ok(conn) => Ok(Lease {
                        pool: self,
                        conn: Some(conn),
                    }),
                    Err(e) => {
                        lock(&self.state).open -= 1;
                        self.available.notify_one();
                        Err(e)
                    }
                };
            }
            st = crate::sync::wait(&self.available, st);
        }
    }

    fn close(&self) {
        let mut st = lock(&self.state);
        st.closed = true;
        let n = st.idle.len();
        st.idle.clear();
        st.open = st.open.saturating_sub(n);
        drop(st);
        self.available.notify_all();
    }
}

struct FileDb {
    readers: ReadPool,
    writer: Arc<WriteQueue<Job>>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

enum Inner {
    File(FileDb),
    Memory(Mutex<Option<Connection>>),
}

/// The SQLite [`super::Backend`], obtained through [`super::connect`].
pub struct SqliteBackend {
    inner: Inner,
}

impl std::fmt::Debug for SqliteBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.inner {
            Inner::File(db) => f
                .debug_struct("SqliteBackend")
                .field("path", &db.readers.path)
                .finish_non_exhaustive(),
            Inner::Memory(_) => f.write_str("SqliteBackend { memory }"),
        }
    }
}

/// Replaces SQLite's `lower()`, which folds ASCII letters only, with one
/// that lowercases all of Unicode, as PostgreSQL's and MySQL's do: the
/// case-insensitive `?search=` (`LOWER(col) LIKE LOWER(?)`) then finds
/// `Crème` for `CRÈME` on every backend.
fn unicode_lower(conn: &Connection) -> Result<(), BackendError> {
    use rusqlite::functions::FunctionFlags;
    use rusqlite::types::{Value as Sql, ValueRef};
    conn.create_scalar_function(
        "lower",
        1,
        FunctionFlags::SQLITE_UTF8
            | FunctionFlags::SQLITE_DETERMINISTIC
            | FunctionFlags::SQLITE_INNOCUOUS,
        |ctx| {
            Ok(match ctx.get_raw(0) {
                // Text is UTF-8 here (the connection's encoding); bytes that
                // are not are folded as the replacement character.
                ValueRef::Text(t) => Sql::Text(String::from_utf8_lossy(t).to_lowercase()),
                ValueRef::Null => Sql::Null,
                ValueRef::Integer(i) => Sql::Text(i.to_string()),
                ValueRef::Real(r) => Sql::Text(r.to_string()),
                ValueRef::Blob(b) => Sql::Blob(b.to_vec()),
            })
        },
    )
    .map_err(map_err)
}

fn configure_writer(conn: &Connection, options: &PoolOptions) -> Result<(), BackendError> {
    conn.busy_timeout(options.busy_timeout).map_err(map_err)?;
    unicode_lower(conn)?;
    conn.pragma_update(None, "foreign_keys", "ON")
        .map_err(map_err)?;
    let sync = match options.synchronous {
        Synchronous::Normal => "NORMAL",
        Synchronous::Full => "FULL",
    };
    conn.pragma_update(None, "synchronous", sync)
        .map_err(map_err)?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE_CAPACITY);
    Ok(())
}

impl SqliteBackend {
    /// Opens (creating if needed) the database and starts its writer thread.
    ///
    /// # Errors
    ///
    /// [`BackendError::Unavailable`] if the file cannot be opened or is not
    /// a database; other errors from configuring it.
    pub fn open(target: Target, options: &PoolOptions) -> Result<SqliteBackend, BackendError> {
        match target {
            Target::Memory => {
                let conn = Connection::open_in_memory().map_err(map_err)?;
                configure_writer(&conn, options)?;
                Ok(SqliteBackend {
                    inner: Inner::Memory(Mutex::new(Some(conn))),
                })
            }
            Target::File(path) => {
                let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
                    | OpenFlags::SQLITE_OPEN_CREATE
                    | OpenFlags::SQLITE_OPEN_NO_MUTEX
                    | OpenFlags::SQLITE_OPEN_URI;
                let conn = Connection::open_with_flags(&path, flags).map_err(map_err)?;
                conn.busy_timeout(options.busy_timeout).map_err(map_err)?;
                let mode: String = conn
                    .query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))
                    .map_err(map_err)?;
                if !mode.eq_ignore_ascii_case("wal") {
                    return Err(BackendError::Unavailable {
                        cause: format!("cannot enable WAL mode (journal_mode is {mode})"),
                    });
                }
                configure_writer(&conn, options)?;
                let queue = Arc::new(WriteQueue::new(options.max_queued_writes));
                let max_group = options.max_group_size.max(1);
                let taker = Arc::clone(&queue);
                let thread = std::thread::Builder::new()
                    .name("lightapi-sqlite-writer".to_owned())
                    .spawn(move || writer_loop(conn, &taker, max_group))
                    .map_err(|e| BackendError::Internal {
                        cause: format!("cannot start the writer thread: {e}"),
                    })?;
                Ok(SqliteBackend {
                    inner: Inner::File(FileDb {
                        readers: ReadPool {
                            path,
                            max: options.max_read_connections.max(1),
                            busy_timeout: options.busy_timeout,
                            state: Mutex::new(PoolState {
                                idle: Vec::new(),
                                open: 0,
                                closed: false,
                            }),
                            available: Condvar::new(),
                        },
                        writer: queue,
                        thread: Mutex::new(Some(thread)),
                    }),
                })
            }
        }
    }
}

#[cfg(test)]
impl SqliteBackend {
    /// Read connections open now (a file database; 0 for memory).
    pub(crate) fn open_readers(&self) -> usize {
        match &self.inner {
            Inner::File(f) => lock(&f.readers.state).open,
            Inner::Memory(_) => 0,
        }
    }
}

impl super::Backend for SqliteBackend {
    fn dialect(&self) -> Dialect {
        Dialect::Sqlite
    }

    fn read(
        &self,
        f: &mut dyn FnMut(&mut dyn Conn) -> Result<(), BackendError>,
    ) -> Result<(), BackendError> {
        match &self.inner {
            Inner::File(db) => {
                let lease = db.readers.checkout()?;
                match &lease.conn {
                    Some(conn) => f(&mut SqliteConn { conn }),
                    None => Err(BackendError::Closed),
                }
            }
            Inner::Memory(m) => match lock(m).as_ref() {
                Some(conn) => f(&mut SqliteConn { conn }),
                None => Err(BackendError::Closed),
            },
        }
    }

    fn write(&self, job: WriteJob) -> Result<WriteOutput, BackendError> {
        let (reply, answer) = mpsc::sync_channel(1);
        let job = Job { work: job, reply };
        match &self.inner {
            Inner::File(db) => {
                db.writer.push(job).map_err(|_| BackendError::Closed)?;
            }
            Inner::Memory(m) => match lock(m).as_ref() {
                Some(conn) => run_group(conn, vec![job]),
                None => return Err(BackendError::Closed),
            },
        }
        answer.recv().map_err(|_| BackendError::Internal {
            cause: "the writer stopped before answering".to_owned(),
        })?
    }

    fn ping(&self) -> Result<(), BackendError> {
        if let Inner::File(db) = &self.inner {
            if db.writer.is_closed() {
                return Err(BackendError::Closed);
            }
        }
        super::read_with(self, |c| c.query("SELECT 1", &[], &[FieldType::Integer])).map(|_| ())
    }

    fn close(&self) {
        match &self.inner {
            Inner::File(db) => {
                // Readers first: the read-write connection must be the last
                // to close, so SQLite checkpoints the WAL into the database
                // file and removes it (a read-only one cannot).
                db.readers.close();
                db.writer.close();
                if let Some(handle) = lock(&db.thread).take() {
                    // A writer thread that panicked has nothing left to flush.
                    let _ = handle.join();
                }
            }
            Inner::Memory(m) => {
                lock(m).take();
            }
        }
    }
}

impl Drop for SqliteBackend {
    fn drop(&mut self) {
        use super::Backend as _;
        self.close();
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::backend::{read_with, write_with, Backend};
    use std::sync::Arc;

    fn temp_path(tag: &str) -> PathBuf {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static N: AtomicUsize = AtomicUsize::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        std::env::temp_dir().join(format!(
            "lightapi-sqlite-{tag}-{}-{n}.db",
            std::process::id()
        ))
    }

    fn file_db(tag: &str) -> (SqliteBackend, PathBuf) {
        let path = temp_path(tag);
        let db = SqliteBackend::open(Target::File(path.clone()), &PoolOptions::default()).unwrap();
        (db, path)
    }

    fn cleanup(path: &std::path::Path) {
        for suffix in ["", "-wal", "-shm"] {
            let mut p = path.as_os_str().to_owned();
            p.push(suffix);
            let _ = std::fs::remove_file(p);
        }
    }

    #[test]
    fn constraint_messages_name_the_column() {
        assert_eq!(
            constraint_column("UNIQUE constraint failed: person.email").as_deref(),
            Some("email")
        );
        assert_eq!(
            constraint_column("UNIQUE constraint failed: t.a, t.b"),
            None
        );
        assert_eq!(constraint_column("garbage"), None);
    }

    #[test]
    fn failed_job_in_a_group_does_not_fail_the_others() {
        let (db, path) = file_db("group");
        let db = Arc::new(db);
        write_with(&*db, |c| {
            c.execute("CREATE TABLE t (x INTEGER NOT NULL UNIQUE)", &[])
        })
        .unwrap();
        let handles: Vec<_> = (0..32)
            .map(|i| {
                let db = Arc::clone(&db);
                std::thread::spawn(move || {
                    write_with(&*db, move |c| {
                        c.execute("INSERT INTO t (x) VALUES (?)", &[Value::Integer(i % 16)])
                    })
                })
            })
            .collect();
        let results: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        let ok = results.iter().filter(|r| r.is_ok()).count();
        assert_eq!(ok, 16);
        for r in &results {
            if let Err(e) = r {
                assert!(
                    matches!(
                        e,
                        BackendError::Conflict {
                            kind: ConflictKind::Unique,
                            ..
                        }
                    ),
                    "{e:?}"
                );
            }
        }
        let n = read_with(&*db, |c| c.query("SELECT COUNT(*) FROM t", &[], &[])).unwrap();
        assert_eq!(n, vec![vec![Value::Integer(16)]]);
        db.close();
        cleanup(&path);
    }

    #[test]
    fn a_panicking_or_failing_job_is_rolled_back() {
        let (db, path) = file_db("rollback");
        write_with(&db, |c| c.execute("CREATE TABLE t (x INTEGER)", &[])).unwrap();
        let r: Result<(), _> = write_with(&db, |c| {
            c.execute("INSERT INTO t VALUES (1)", &[])?;
            Err(BackendError::Busy)
        });
        assert_eq!(r, Err(BackendError::Busy));
        let r: Result<(), BackendError> = write_with(&db, |c| {
            c.execute("INSERT INTO t VALUES (2)", &[])?;
            panic!("job bug");
        });
        assert!(matches!(r, Err(BackendError::Internal { .. })));
        write_with(&db, |c| c.execute("INSERT INTO t VALUES (3)", &[])).unwrap();
        let rows = read_with(&db, |c| c.query("SELECT x FROM t", &[], &[])).unwrap();
        assert_eq!(rows, vec![vec![Value::Integer(3)]]);
        db.close();
        assert_eq!(db.ping(), Err(BackendError::Closed));
        assert!(matches!(
            write_with(&db, |c| c.execute("SELECT 1", &[])),
            Err(BackendError::Closed)
        ));
        cleanup(&path);
    }

    #[test]
    fn readers_are_read_only_and_pooled() {
        let (db, path) = file_db("readers");
        write_with(&db, |c| c.execute("CREATE TABLE t (x INTEGER)", &[])).unwrap();
        let e = read_with(&db, |c| c.execute("INSERT INTO t VALUES (1)", &[])).unwrap_err();
        assert!(matches!(e, BackendError::Unavailable { .. }), "{e:?}");
        let db = Arc::new(db);
        let handles: Vec<_> = (0..20)
            .map(|_| {
                let db = Arc::clone(&db);
                std::thread::spawn(move || {
                    for _ in 0..20 {
                        read_with(&*db, |c| c.query("SELECT COUNT(*) FROM t", &[], &[])).unwrap();
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
        let Inner::File(f) = &db.inner else { panic!() };
        assert!(lock(&f.readers.state).open <= DEFAULT_READERS_FOR_TEST);
        db.close();
        cleanup(&path);
    }

    const DEFAULT_READERS_FOR_TEST: usize = crate::backend::open::DEFAULT_MAX_READ_CONNECTIONS;

    #[test]
    fn lower_folds_all_of_unicode_on_readers_and_the_writer() {
        let (db, path) = file_db("lower");
        let sql = "SELECT lower('ÉCOLE Ǆ ΣΑΣ'), lower(NULL), lower(12), lower('abc')";
        let types = [FieldType::Text; 4];
        let expect = vec![vec![
            Value::Text("école ǆ σας".into()),
            Value::Null,
            Value::Text("12".into()),
            Value::Text("abc".into()),
        ]];
        assert_eq!(
            read_with(&db, |c| c.query(sql, &[], &types)).unwrap(),
            expect
        );
        assert_eq!(
            write_with(&db, move |c| c.query(sql, &[], &types)).unwrap(),
            expect
        );
        db.close();
        cleanup(&path);
    }

    #[test]
    fn values_round_trip_through_sqlite() {
        let db = SqliteBackend::open(Target::Memory, &PoolOptions::default()).unwrap();
        let values = vec![
            Value::Null,
            Value::Integer(i64::MIN),
            Value::Float(-0.5),
            Value::Text("a\u{0}b 😀".into()),
            Value::Boolean(true),
            Value::DateTime(-1),
            Value::Json(serde_json::json!({"a": [1, null]})),
        ];
        let types = [
            FieldType::Text,
            FieldType::Integer,
            FieldType::Float,
            FieldType::Text,
            FieldType::Boolean,
            FieldType::DateTime,
            FieldType::Json,
        ];
        let v = values.clone();
        let rows = write_with(&db, move |c| {
            c.query("SELECT ?, ?, ?, ?, ?, ?, ?", &v, &types)
        })
        .unwrap();
        assert_eq!(rows, vec![values]);
        let e = read_with(&db, |c| c.query("SELECT 'x'", &[], &[FieldType::Integer])).unwrap_err();
        assert!(matches!(e, BackendError::Internal { .. }));
    }

    #[test]
    fn opening_a_directory_is_unavailable() {
        let e = SqliteBackend::open(Target::File(std::env::temp_dir()), &PoolOptions::default())
            .unwrap_err();
        assert!(matches!(e, BackendError::Unavailable { .. }), "{e:?}");
    }
}
