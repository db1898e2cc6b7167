//! The built-in SQLite backend (feature `sqlite`, on by default).
//!
//! - **File databases** run in WAL mode with `foreign_keys=ON`,
//!   `busy_timeout` and `synchronous=NORMAL` (or `FULL`, see
//!   [`Synchronous`]).
//!   - Reads use a small pool of read-only connections, opened on demand up
//!     to [`PoolOptions::max_read_connections`] and checked out/returned
//!     under a short lock (never held while a query runs). In WAL mode
//!     readers never wait for the writer.
//!   - Each event loop reads through a read-only connection of its own,
//!     with a time budget per read ([`local`]).
//!   - Writes go to one writer thread that owns the read-write connection
//!     and does **group commit** ([`writer`]); WAL checkpoints run on a
//!     thread of their own ([`checkpoint`]).
//! - **`sqlite::memory:`** is one private in-memory database behind a single
//!   connection (a mutex), used for reads and writes alike.
//!
//! Booleans are stored as 0/1, datetimes as normalised RFC 3339 text
//! (`…T…​.ffffffZ`, so text order is time order) and JSON as text.

mod checkpoint;
mod conn;
mod local;
mod readers;
mod writer;

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Condvar, Mutex};
use std::thread::JoinHandle;

use rusqlite::{Connection, OpenFlags};

use super::work::{Callback, Work, WorkKind};
use super::write_queue::WriteQueue;
use super::{BackendError, Conn, Dialect, LocalReader, PoolOptions, WriteJob, WriteOutput};
use crate::metrics::{Histogram, GROUP_SIZE_BOUNDS};
use crate::model::FieldType;
use crate::sync::lock;
use conn::{configure_writer, map_err, SqliteConn};
use readers::{PoolState, ReadPool};
use writer::{run_group, writer_loop, Job};

/// Where the database lives.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Target {
    /// A database file (created if missing).
    File(PathBuf),
    /// A private in-memory database.
    Memory,
}

/// How many write transactions the writer has ended: it moves before the
/// writes of a transaction are answered, so a read that began after an
/// answer was given sees a later count than any snapshot taken before.
/// It also keeps how many writes each commit held, for the metrics.
#[derive(Debug)]
pub(super) struct Commits {
    count: AtomicU64,
    group_sizes: Histogram,
}

impl Default for Commits {
    fn default() -> Self {
        Commits {
            count: AtomicU64::new(0),
            group_sizes: Histogram::new(GROUP_SIZE_BOUNDS),
        }
    }
}

impl Commits {
    pub(super) fn count(&self) -> u64 {
        self.count.load(Ordering::Acquire)
    }

    /// Counts a transaction ended after running `writes` jobs.
    fn bump(&self, writes: usize) {
        self.count.fetch_add(1, Ordering::Release);
        self.group_sizes
            .observe(u64::try_from(writes).unwrap_or(u64::MAX));
    }
}

struct FileDb {
    readers: ReadPool,
    commits: Arc<Commits>,
    #[cfg_attr(not(test), allow(dead_code))]
    checkpoints: Arc<checkpoint::Counts>,
    writer: Arc<WriteQueue<Job>>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

enum Inner {
    File(FileDb),
    Memory(Mutex<Option<Connection>>, Commits),
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
            Inner::Memory(..) => f.write_str("SqliteBackend { memory }"),
        }
    }
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
                    inner: Inner::Memory(Mutex::new(Some(conn)), Commits::default()),
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
                let commits = Arc::new(Commits::default());
                let counted = Arc::clone(&commits);
                let checkpoint_counts = Arc::new(checkpoint::Counts::default());
                let checkpoints =
                    checkpoint::Checkpoints::new(&path, Arc::clone(&checkpoint_counts));
                let thread = std::thread::Builder::new()
                    .name("lightapi-sqlite-writer".to_owned())
                    .spawn(move || writer_loop(conn, &taker, max_group, &counted, checkpoints))
                    .map_err(|e| BackendError::Internal {
                        cause: format!("cannot start the writer thread: {e}"),
                    })?;
                Ok(SqliteBackend {
                    inner: Inner::File(FileDb {
                        readers: ReadPool {
                            path,
                            max: options.max_read_connections.max(1),
                            busy_timeout: options.busy_timeout,
                            query_timeout: options.query_timeout,
                            state: Mutex::new(PoolState {
                                idle: Vec::new(),
                                open: 0,
                                closed: false,
                            }),
                            available: Condvar::new(),
                        },
                        commits,
                        checkpoints: checkpoint_counts,
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
    /// WAL checkpoints run so far: (by the checkpointer thread, by the
    /// writer); a memory database has none.
    pub(crate) fn checkpoints(&self) -> (u64, u64) {
        match &self.inner {
            Inner::File(f) => f.checkpoints.get(),
            Inner::Memory(..) => (0, 0),
        }
    }

    /// Read connections open now (a file database; 0 for memory).
    pub(crate) fn open_readers(&self) -> usize {
        match &self.inner {
            Inner::File(f) => lock(&f.readers.state).open,
            Inner::Memory(..) => 0,
        }
    }
}

impl super::Engine for SqliteBackend {
    /// A file database queues writes for its writer thread; reads run on
    /// an event loop's own connection or a worker. An in-memory database
    /// has one connection for everything and queues nothing.
    fn queues(&self, kind: WorkKind) -> bool {
        matches!(&self.inner, Inner::File(_)) && kind == WorkKind::Write
    }

    fn submit(&self, work: Work, done: Callback) {
        let job: WriteJob = match work {
            // The writer commits in groups: a job written statement by
            // statement runs in the group's transaction like any other.
            Work::Write(job) | Work::Autocommit(job) => job,
            steps @ Work::Steps(_) => return self.submit(steps.into_job(), done),
            Work::Statement {
                sql,
                params,
                columns,
            } => super::statement_job(sql, params, columns),
            read @ (Work::Read(_) | Work::Query { .. } | Work::Queries(_)) => {
                done(super::work::run(self, read));
                return;
            }
        };
        let job = Job::new(job, done);
        match &self.inner {
            // A full queue (a burst beyond `max_queued_writes`) is an
            // overload: the job is answered `Busy` rather than making the
            // event loop wait.
            Inner::File(db) => {
                if let Err(job) = db.writer.try_push_held(job) {
                    job.refuse(BackendError::Busy);
                }
            }
            Inner::Memory(m, commits) => match lock(m).as_ref() {
                Some(conn) => {
                    run_group(conn, vec![job], commits);
                }
                None => drop(job),
            },
        }
    }

    fn flush(&self) {
        if let Inner::File(db) = &self.inner {
            db.writer.release_held();
        }
    }

    fn local_reader(&self) -> Option<Box<dyn LocalReader>> {
        match &self.inner {
            Inner::File(db) => Some(Box::new(local::SqliteLocalReader::new(
                db.readers.path.clone(),
                db.readers.busy_timeout,
                Arc::clone(&db.commits),
            ))),
            Inner::Memory(..) => None,
        }
    }

    fn as_backend(&self) -> &dyn super::Backend {
        self
    }

    fn stats(&self) -> crate::metrics::DbStats {
        match &self.inner {
            Inner::File(db) => crate::metrics::DbStats {
                pool: None,
                write_queue_depth: Some(db.writer.depth()),
                commit_group_size: Some(db.commits.group_sizes.snapshot()),
            },
            Inner::Memory(..) => crate::metrics::DbStats::default(),
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
                let Some(reader) = &lease.conn else {
                    return Err(BackendError::Closed);
                };
                match reader.run(db.readers.query_timeout, |conn| f(&mut SqliteConn { conn })) {
                    // Stopped by the progress handler at the time limit.
                    (Err(_), true) => Err(BackendError::TimedOut),
                    (result, _) => result,
                }
            }
            Inner::Memory(m, _) => match lock(m).as_ref() {
                Some(conn) => f(&mut SqliteConn { conn }),
                None => Err(BackendError::Closed),
            },
        }
    }

    fn write(&self, job: WriteJob) -> Result<WriteOutput, BackendError> {
        let (reply, answer) = mpsc::sync_channel(1);
        let job = Job::new(
            job,
            Box::new(move |r| {
                // The caller waits on the receiver until answered, so a
                // send can only fail if the caller's thread died.
                let _ = reply.send(r);
            }),
        );
        match &self.inner {
            Inner::File(db) => {
                // A queue closed with the job in it answers it `Closed`.
                let _ = db.writer.push(job);
            }
            Inner::Memory(m, commits) => match lock(m).as_ref() {
                Some(conn) => {
                    run_group(conn, vec![job], commits);
                }
                None => drop(job),
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
            Inner::Memory(m, _) => {
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
    use super::conn::constraint_column;
    use super::*;
    use crate::backend::{read_with, write_with, Backend};
    use crate::backend::{ConflictKind, Value};
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
            constraint_column("UNIQUE constraint failed: t.a, t.b").as_deref(),
            Some("b")
        );
        assert_eq!(constraint_column("garbage"), None);
    }

    /// Rows handed over as borrowed values are the rows `query` copies
    /// out, for rows narrow enough for the stack and wider ones, JSON
    /// columns included.
    #[test]
    fn query_each_hands_over_the_rows_query_reads() {
        use crate::model::FieldType;
        let (db, path) = file_db("each");
        for width in [1usize, 3, 16, 17, 40] {
            let cols: Vec<String> = (0..width).map(|i| format!("c{i}")).collect();
            let create = format!("CREATE TABLE w{width} ({})", cols.join(", "));
            let columns: Vec<FieldType> = (0..width)
                .map(|i| match i % 3 {
                    0 => FieldType::Integer,
                    1 => FieldType::Text,
                    _ => FieldType::Json,
                })
                .collect();
            let row = |n: i64| -> Vec<Value> {
                columns
                    .iter()
                    .enumerate()
                    .map(|(i, t)| match t {
                        FieldType::Integer => Value::Integer(n * 100 + i as i64),
                        FieldType::Text => Value::Text(format!("r{n}c{i}")),
                        _ => Value::Json(serde_json::json!({"n": n, "i": i})),
                    })
                    .collect()
            };
            let insert = format!(
                "INSERT INTO w{width} VALUES ({})",
                vec!["?"; width].join(", ")
            );
            let rows: Vec<Vec<Value>> = (0..3).map(row).collect();
            let stored = rows.clone();
            write_with(&db, move |c| {
                c.execute(&create, &[])?;
                for r in &stored {
                    c.execute(&insert, r)?;
                }
                Ok(())
            })
            .unwrap();
            let select = format!("SELECT {} FROM w{width} ORDER BY c0", cols.join(", "));
            let copied = read_with(&db, |c| c.query(&select, &[], &columns)).unwrap();
            assert_eq!(copied, rows);
            let mut seen = Vec::new();
            read_with(&db, |c| {
                c.query_each(&select, &[], &columns, &mut |r| {
                    seen.push(r.iter().map(|v| v.to_value()).collect::<Vec<_>>());
                    seen.len() < 2
                })
            })
            .unwrap();
            assert_eq!(seen, copied[..2], "{width} columns, stopped after two");
        }
        cleanup(&path);
    }

    /// A stored value its field type cannot read is an internal error
    /// naming the column and both types, from `query` and `query_each`
    /// alike, and no row is handed over.
    #[test]
    fn a_value_of_another_type_is_an_error_naming_the_column() {
        use crate::model::FieldType;
        let (db, path) = file_db("mismatch");
        write_with(&db, |c| {
            c.execute("CREATE TABLE m (a, b)", &[])?;
            c.execute("INSERT INTO m VALUES (1, 'text')", &[])?;
            Ok(())
        })
        .unwrap();
        let columns = [FieldType::Integer, FieldType::Integer];
        let expect = |e: BackendError| match e {
            BackendError::Internal { cause } => assert!(
                cause.starts_with("column 1: expected ") && cause.contains("found sqlite Text"),
                "{cause}"
            ),
            other => panic!("not an internal error: {other:?}"),
        };
        expect(read_with(&db, |c| c.query("SELECT a, b FROM m", &[], &columns)).unwrap_err());
        let mut handed = 0;
        let each = read_with(&db, |c| {
            c.query_each("SELECT a, b FROM m", &[], &columns, &mut |_| {
                handed += 1;
                true
            })
        });
        expect(each.unwrap_err());
        assert_eq!(handed, 0);
        cleanup(&path);
    }

    /// A loop's reads share a snapshot only while nothing commits: a write
    /// answered between two reads is seen by the second without the loop
    /// releasing its snapshot, and a release ends the read transaction.
    #[test]
    fn local_reads_see_every_answered_write() {
        use crate::backend::Engine;
        let (db, path) = file_db("snapshot");
        write_with(&db, |c| c.execute("CREATE TABLE t (x INTEGER)", &[])).unwrap();
        let local = db.local_reader().unwrap();
        let count = |local: &dyn LocalReader| {
            let out = local
                .run(
                    Box::new(|c| {
                        c.query("SELECT COUNT(*) FROM t", &[], &[FieldType::Integer])
                            .map(|r| Box::new(r) as WriteOutput)
                    }),
                    std::time::Duration::from_secs(5),
                )
                .unwrap();
            *out.downcast::<Vec<Vec<Value>>>().unwrap()
        };
        assert_eq!(count(&*local), vec![vec![Value::Integer(0)]]);
        for n in 1..=3 {
            write_with(&db, |c| c.execute("INSERT INTO t (x) VALUES (1)", &[])).unwrap();
            assert_eq!(count(&*local), vec![vec![Value::Integer(n)]]);
            // Reads with no commit between them reuse the snapshot.
            assert_eq!(count(&*local), vec![vec![Value::Integer(n)]]);
        }
        // A snapshot held stops a checkpoint from resetting the WAL; once
        // released, nothing does.
        let other = Connection::open(&path).unwrap();
        other
            .busy_timeout(std::time::Duration::from_millis(10))
            .unwrap();
        let checkpoint = || -> i64 {
            other
                .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| r.get(0))
                .unwrap()
        };
        assert_eq!(checkpoint(), 1, "the snapshot is held");
        local.release();
        assert_eq!(checkpoint(), 0, "the snapshot is released");
        drop(other);
        db.close();
        cleanup(&path);
    }

    /// Checkpoints run on the checkpointer thread while writes go on, the
    /// data reaches the database file before it is closed, and under
    /// sustained writes the WAL stays bounded (the writer ends it before
    /// its next group when a passive checkpoint cannot).
    #[test]
    fn checkpoints_run_beside_the_writer_and_the_wal_stays_bounded() {
        use std::sync::atomic::AtomicBool;
        let (db, path) = file_db("checkpoint");
        let db = Arc::new(db);
        write_with(&*db, |c| c.execute("CREATE TABLE t (x BLOB)", &[])).unwrap();
        let wal = PathBuf::from(format!("{}-wal", path.display()));
        // The writer waits for the checkpointer and checkpoints once the
        // WAL is past twice its limit, after a group of at most 4 jobs of
        // a few pages each.
        let page_frame = 4096 + 24;
        let bound = 2 * (32 + checkpoint::MAX_FRAMES * page_frame) + 64 * page_frame;
        let largest = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let watcher = {
            let (wal, largest, stop) = (wal.clone(), Arc::clone(&largest), Arc::clone(&stop));
            std::thread::spawn(move || {
                while !stop.load(Ordering::Acquire) {
                    let len = std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0);
                    largest.fetch_max(len, Ordering::AcqRel);
                    std::thread::sleep(std::time::Duration::from_millis(1));
                }
            })
        };
        // Each commit writes a few pages: ~4 × MAX_FRAMES frames in all,
        // from four threads so that groups form and commits keep coming.
        let writers: Vec<_> = (0..4)
            .map(|_| {
                let db = Arc::clone(&db);
                std::thread::spawn(move || {
                    for _ in 0..1000 {
                        write_with(&*db, |c| {
                            c.execute("INSERT INTO t (x) VALUES (randomblob(3 * 4096))", &[])
                        })
                        .unwrap();
                    }
                })
            })
            .collect();
        for w in writers {
            w.join().unwrap();
        }
        stop.store(true, Ordering::Release);
        watcher.join().unwrap();
        let (by_thread, by_writer) = db.checkpoints();
        assert!(by_thread > 0, "no checkpoint on the checkpointer thread");
        assert!(by_writer > 0, "the writer never ended the WAL");
        let largest = largest.load(Ordering::Acquire);
        assert!(
            largest <= bound,
            "the WAL reached {largest} bytes (bound {bound})"
        );
        // Checkpointed while open: the rows are in the database file.
        let main_len = std::fs::metadata(&path).unwrap().len();
        assert!(main_len > 2000 * 3 * 4096, "database file {main_len} bytes");
        let n = read_with(&*db, |c| {
            c.query("SELECT COUNT(*) FROM t", &[], &[FieldType::Integer])
        })
        .unwrap();
        assert_eq!(n, vec![vec![Value::Integer(4000)]]);
        db.close();
        assert!(!wal.exists(), "closing the database removes the WAL");
        cleanup(&path);
    }

    /// A database that has only seen a few commits (its tables created)
    /// has no checkpointer thread: an idle server holds no more threads
    /// than it needs.
    #[test]
    fn the_checkpointer_starts_only_once_writes_keep_coming() {
        let (db, path) = file_db("checkpoint-late");
        let started = || match &db.inner {
            Inner::File(f) => f.checkpoints.started(),
            Inner::Memory(..) => unreachable!("a file database"),
        };
        write_with(&db, |c| c.execute("CREATE TABLE t (x INTEGER)", &[])).unwrap();
        for _ in 1..checkpoint::START_AFTER_COMMITS - 1 {
            write_with(&db, |c| c.execute("INSERT INTO t (x) VALUES (1)", &[])).unwrap();
        }
        assert_eq!(db.checkpoints(), (0, 0));
        assert!(!started(), "the checkpointer thread started early");
        for _ in 0..2 * checkpoint::TARGET_FRAMES {
            write_with(&db, |c| c.execute("INSERT INTO t (x) VALUES (1)", &[])).unwrap();
        }
        assert!(started());
        assert!(db.checkpoints().0 > 0, "the checkpointer never ran");
        db.close();
        cleanup(&path);
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
