//! The connection pool shared by the network backends (PostgreSQL, MySQL,
//! MS-SQL, Oracle) and the [`Backend`] built on it.
//!
//! - At most `max` connections are open; they are opened on demand and
//!   checked out/returned under a short lock (never held during a query). A
//!   caller finding every connection busy waits up to the busy timeout, then
//!   gets [`BackendError::Busy`] (HTTP 503).
//! - A connection whose query failed with [`BackendError::Unavailable`] (an
//!   I/O error, a closed socket, a server shutting down) is discarded, and so
//!   is every idle one (they most likely share its fate: the server
//!   restarted or the network went away). The next checkout connects anew;
//!   while the server stays down, that fails fast with `Unavailable` (HTTP 503
//!   with `Retry-After`), and service resumes by itself once it is back.
//! - While the database is down (the last connect failed, or a connection
//!   broke since the last one that succeeded), one connect at a time
//!   probes it: a caller that would open another connection meanwhile gets
//!   `Unavailable` at once, so a database that accepts connections but
//!   never answers costs each caller nothing, not a connect timeout each.
//! - A read, a ping, or the `BEGIN` of a write that fails that way on a
//!   connection *reused from the idle list* is retried once on a fresh
//!   connection, so a server restart between two requests costs no request.
//!   A write job itself is never retried: it may have run.
//! - Writes run in `BEGIN … COMMIT` on one connection; an error or a panic
//!   in the job rolls back. A job that is correct statement by statement
//!   ([`Backend::write_autocommit`]) runs without `BEGIN`/`COMMIT` on a
//!   connection that commits each statement by itself, saving two round
//!   trips.
//! - Every statement sent for a job or a read is counted
//!   (`statements_sent`, for the crate's tests of round trips).
//! - Work an event loop hands over ([`Engine::submit`]) is queued for the
//!   backend's own threads, as many as the pool has connections, which run
//!   it as above and give the result to its callback: the event loop never
//!   waits, and as many queries are in flight as there are connections.

use std::fmt;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::work::{Callback, LoopDriver, LoopSetup, Queued, Work, WorkKind};
use super::write_queue::{CloseOnDrop, WriteQueue};
use super::{
    statement_job, unbox_output, Backend, BackendError, Conn, Dialect, Engine, Value, WriteJob,
    WriteOutput,
};
use crate::model::FieldType;
use crate::sync::lock;

/// Opens connections for a [`Pool`].
pub(crate) trait Connector: Send + Sync + 'static {
    /// The connection type.
    type Session: Session;

    /// Opens a new connection, ready for use.
    fn connect(&self) -> Result<Self::Session, BackendError>;

    /// The SQL dialect of the database.
    fn dialect(&self) -> Dialect;

    /// What to show in `Debug` output (never a password).
    fn label(&self) -> &str;

    /// Why the database cannot store `value` as sent, if it cannot (see
    /// [`Backend::refusal`]).
    fn refusal(&self, value: &Value) -> Option<&'static str> {
        let _ = value;
        None
    }

    /// Connections of one event loop's own (see [`Engine::loop_driver`]),
    /// its share of a pool of `pool`, counting statements into `sent`;
    /// `None` by default: every piece of work goes to the pool's threads.
    fn loop_driver(
        &self,
        setup: LoopSetup,
        pool: usize,
        sent: &Arc<AtomicU64>,
    ) -> Option<Box<dyn LoopDriver>> {
        let _ = (setup, pool, sent);
        None
    }
}

/// One open connection: a [`Conn`] plus transaction control.
pub(crate) trait Session: Conn + Send + 'static {
    /// Starts a transaction.
    fn begin(&mut self) -> Result<(), BackendError>;
    /// Commits the open transaction.
    fn commit(&mut self) -> Result<(), BackendError>;
    /// Rolls the open transaction back.
    fn rollback(&mut self) -> Result<(), BackendError>;
    /// Checks that the connection answers (`SELECT 1`).
    fn ping(&mut self) -> Result<(), BackendError>;
    /// Whether a statement sent outside `BEGIN … COMMIT` commits by
    /// itself, so a [`Backend::write_autocommit`] job may run without
    /// them. `false` by default: such jobs then run in a transaction.
    fn autocommits(&self) -> bool {
        false
    }
}

/// A session lent to a job or a read, counting the statements sent
/// through it.
struct Counted<'s, S> {
    session: &'s mut S,
    sent: &'s AtomicU64,
}

impl<S: Conn> Counted<'_, S> {
    fn count(&self) {
        self.sent.fetch_add(1, Ordering::Relaxed);
    }
}

impl<S: Conn> Conn for Counted<'_, S> {
    fn query(
        &mut self,
        sql: &str,
        params: &[Value],
        columns: &[FieldType],
    ) -> Result<Vec<Vec<Value>>, BackendError> {
        self.count();
        self.session.query(sql, params, columns)
    }

    fn execute(&mut self, sql: &str, params: &[Value]) -> Result<u64, BackendError> {
        self.count();
        self.session.execute(sql, params)
    }

    fn text_collation(&mut self) -> Result<Option<&'static str>, BackendError> {
        self.count();
        self.session.text_collation()
    }

    fn space_padded_columns(&mut self, table: &str) -> Result<Vec<String>, BackendError> {
        self.count();
        self.session.space_padded_columns(table)
    }

    fn supports_returning(&self) -> bool {
        self.session.supports_returning()
    }

    fn insert_returning_id(&mut self, sql: &str, params: &[Value]) -> Result<i64, BackendError> {
        self.count();
        self.session.insert_returning_id(sql, params)
    }
}

struct State<S> {
    idle: Vec<S>,
    open: usize,
    closed: bool,
    /// Connects in progress.
    connecting: usize,
    /// The last connect failed, or a connection broke since the last one
    /// that succeeded.
    down: bool,
}

/// A bounded pool of [`Session`]s.
pub(crate) struct Pool<K: Connector> {
    connector: K,
    max: usize,
    wait: Duration,
    state: Mutex<State<K::Session>>,
    available: Condvar,
    /// Checkouts that found every connection busy and waited.
    waits: AtomicU64,
}

/// A checked-out session, returned to the pool on drop unless discarded.
pub(crate) struct Lease<'p, K: Connector> {
    pool: &'p Pool<K>,
    session: Option<K::Session>,
    reused: bool,
}

impl<K: Connector> Lease<'_, K> {
    fn session(&mut self) -> Result<&mut K::Session, BackendError> {
        self.session.as_mut().ok_or(BackendError::Closed)
    }

    /// Closes the broken connection instead of returning it to the pool.
    fn discard(mut self) {
        if let Some(session) = self.session.take() {
            let mut st = lock(&self.pool.state);
            st.open -= 1;
            st.down = true;
            drop(st);
            // Closed outside the lock.
            drop(session);
            self.pool.available.notify_one();
        }
    }
}

impl<K: Connector> Drop for Lease<'_, K> {
    fn drop(&mut self) {
        let Some(session) = self.session.take() else {
            return;
        };
        let mut st = lock(&self.pool.state);
        if st.closed {
            st.open -= 1;
        } else {
            st.idle.push(session);
        }
        drop(st);
        self.pool.available.notify_one();
    }
}

impl<K: Connector> Pool<K> {
    fn new(connector: K, max: usize, wait: Duration) -> Pool<K> {
        Pool {
            connector,
            max: max.max(1),
            wait,
            state: Mutex::new(State {
                idle: Vec::new(),
                open: 0,
                closed: false,
                connecting: 0,
                down: false,
            }),
            available: Condvar::new(),
            waits: AtomicU64::new(0),
        }
    }

    fn checkout(&self) -> Result<Lease<'_, K>, BackendError> {
        let deadline = Instant::now() + self.wait;
        let mut st = lock(&self.state);
        let mut waited = false;
        loop {
            if st.closed {
                return Err(BackendError::Closed);
            }
            if let Some(session) = st.idle.pop() {
                return Ok(Lease {
                    pool: self,
                    session: Some(session),
                    reused: true,
                });
            }
            if st.open < self.max {
                if st.down && st.connecting > 0 {
                    return Err(BackendError::Unavailable {
                        cause: "the database did not answer; another connect is under way"
                            .to_owned(),
                    });
                }
                st.open += 1;
                st.connecting += 1;
                drop(st);
                let connected = self.connector.connect();
                let mut st = lock(&self.state);
                st.connecting -= 1;
                st.down = connected.as_ref().is_err_and(is_broken);
                return match connected {
                    Ok(session) => Ok(Lease {
                        pool: self,
                        session: Some(session),
                        reused: false,
                    }),
                    Err(e) => {
                        st.open -= 1;
                        drop(st);
                        self.available.notify_one();
                        Err(e)
                    }
                };
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(BackendError::Busy);
            }
            if !waited {
                waited = true;
                self.waits.fetch_add(1, Ordering::Relaxed);
            }
            st = crate::sync::wait_timeout(&self.available, st, deadline - now);
        }
    }

    /// Closes every idle connection (after one of them proved broken).
    fn discard_idle(&self) {
        let mut st = lock(&self.state);
        let idle = std::mem::take(&mut st.idle);
        st.open -= idle.len();
        drop(st);
        // Closed outside the lock.
        drop(idle);
        self.available.notify_all();
    }

    fn close(&self) {
        let mut st = lock(&self.state);
        st.closed = true;
        let n = st.idle.len();
        st.idle.clear();
        st.open -= n;
        drop(st);
        self.available.notify_all();
    }

    /// Connections in use and open, and the waits so far.
    fn stats(&self) -> crate::metrics::PoolStats {
        let st = lock(&self.state);
        crate::metrics::PoolStats {
            in_use: st.open.saturating_sub(st.idle.len()),
            open: st.open,
            waits: self.waits.load(Ordering::Relaxed),
        }
    }

    /// Number of open connections (for tests).
    #[cfg(test)]
    fn open_count(&self) -> usize {
        lock(&self.state).open
    }
}

/// Runs `connect` on a thread of its own and waits at most `limit` for it,
/// for drivers whose own timeouts bound each step of a connection's set-up
/// but not the whole. Given up, the thread is left to end by itself (its
/// socket's timeouts bound it) and drops what it opened.
///
/// # Errors
///
/// [`BackendError::Unavailable`] past `limit`, naming `database`; else
/// `connect`'s error.
#[cfg_attr(not(feature = "mysql"), allow(dead_code))]
pub(crate) fn connect_within<S: Send + 'static>(
    limit: Duration,
    database: &str,
    connect: impl FnOnce() -> Result<S, BackendError> + Send + 'static,
) -> Result<S, BackendError> {
    let (tx, rx) = std::sync::mpsc::sync_channel(1);
    std::thread::Builder::new()
        .name("lightapi-db-connect".to_owned())
        .spawn(move || {
            // The receiver is gone once the caller gave up.
            let _ = tx.send(connect());
        })
        .map_err(|e| BackendError::Internal {
            cause: format!("cannot start a database connection thread: {e}"),
        })?;
    match rx.recv_timeout(limit) {
        Ok(result) => result,
        Err(std::sync::mpsc::RecvTimeoutError::Timeout) => Err(BackendError::Unavailable {
            cause: format!(
                "no answer from {database} within {} ms connecting",
                limit.as_millis()
            ),
        }),
        Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => Err(BackendError::Internal {
            cause: "the database connection thread stopped".to_owned(),
        }),
    }
}

/// Whether an error means the connection it happened on is unusable.
fn is_broken(e: &BackendError) -> bool {
    matches!(e, BackendError::Unavailable { .. })
}

/// The queued work of a [`PooledBackend`] and the threads that run it.
struct Threads {
    queue: Arc<WriteQueue<Queued>>,
    handles: Mutex<Vec<JoinHandle<()>>>,
}

/// A [`Backend`] over a [`Pool`], with threads of its own for queued work.
pub(crate) struct PooledBackend<K: Connector> {
    core: Arc<PoolCore<K>>,
    threads: Threads,
}

/// What runs work on the pool's connections, from any thread.
pub(crate) struct PoolCore<K: Connector> {
    pool: Pool<K>,
    /// Statements sent for jobs and reads, and by event loops' drivers.
    sent: Arc<AtomicU64>,
}

impl<K: Connector> fmt::Debug for PooledBackend<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.core, f)
    }
}

impl<K: Connector> fmt::Debug for PoolCore<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PooledBackend")
            .field("database", &self.pool.connector.label())
            .field("max_connections", &self.pool.max)
            .finish_non_exhaustive()
    }
}

impl<K: Connector> PooledBackend<K> {
    /// A backend with at most `max` connections; callers wait up to `wait`
    /// for one; at most `max_queued` pieces of work wait for its threads.
    /// With `connect_now`, one connection is opened at once, so that a bad
    /// URL or an unreachable server is reported at start-up.
    pub(crate) fn open(
        connector: K,
        max: usize,
        wait: Duration,
        max_queued: usize,
        connect_now: bool,
    ) -> Result<PooledBackend<K>, BackendError> {
        let core = Arc::new(PoolCore {
            pool: Pool::new(connector, max, wait),
            sent: Arc::new(AtomicU64::new(0)),
        });
        if connect_now {
            core.ping()?;
        }
        let queue = Arc::new(WriteQueue::new(max_queued));
        let mut handles = Vec::with_capacity(core.pool.max);
        for i in 0..core.pool.max {
            let (thread_core, thread_queue) = (Arc::clone(&core), Arc::clone(&queue));
            let spawned = std::thread::Builder::new()
                .name(format!("lightapi-db-{i}"))
                .spawn(move || run_queued(&*thread_core, &thread_queue));
            match spawned {
                Ok(handle) => handles.push(handle),
                Err(e) => {
                    queue.close();
                    return Err(BackendError::Internal {
                        cause: format!("cannot start a database thread: {e}"),
                    });
                }
            }
        }
        Ok(PooledBackend {
            core,
            threads: Threads {
                queue,
                handles: Mutex::new(handles),
            },
        })
    }
}

/// A database thread: runs queued work, one piece at a time, until the
/// queue is closed and empty.
fn run_queued<K: Connector>(core: &PoolCore<K>, queue: &WriteQueue<Queued>) {
    let _stop = CloseOnDrop(queue);
    let mut batch = Vec::with_capacity(1);
    while queue.take(&mut batch, 1) {
        for queued in batch.drain(..) {
            queued.run(core);
        }
    }
}

impl<K: Connector> PoolCore<K> {
    fn count(&self) {
        self.sent.fetch_add(1, Ordering::Relaxed);
    }

    /// Runs a write job on `session`, counting its statements; a panic is
    /// an error.
    fn run_job(
        &self,
        session: &mut K::Session,
        job: WriteJob,
    ) -> Result<WriteOutput, BackendError> {
        let mut counted = Counted {
            session,
            sent: &self.sent,
        };
        catch_unwind(AssertUnwindSafe(|| job(&mut counted))).unwrap_or_else(|_| {
            Err(BackendError::Internal {
                cause: "write job panicked".to_owned(),
            })
        })
    }

    /// Runs `f` on a session; a connection-level failure on a reused
    /// connection is retried once on a new one.
    fn with_session<T>(
        &self,
        mut f: impl FnMut(&mut K::Session) -> Result<T, BackendError>,
    ) -> Result<T, BackendError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let mut lease = self.pool.checkout()?;
            let reused = lease.reused;
            match f(lease.session()?) {
                Err(e) if is_broken(&e) => {
                    lease.discard();
                    self.pool.discard_idle();
                    if reused && attempt == 1 {
                        continue;
                    }
                    return Err(e);
                }
                other => return other,
            }
        }
    }
}

impl<K: Connector> Engine for PooledBackend<K> {
    fn queues(&self, _kind: WorkKind) -> bool {
        true
    }

    fn submit(&self, work: Work, done: Callback) {
        if let Err(queued) = self.threads.queue.try_push_held(Queued::new(work, done)) {
            // A burst beyond the queue's bound is an overload (`503`).
            queued.refuse(BackendError::Busy);
        }
    }

    fn flush(&self) {
        self.threads.queue.release_held();
    }

    fn as_backend(&self) -> &dyn Backend {
        self
    }

    fn loop_driver(&self, setup: LoopSetup) -> Option<Box<dyn LoopDriver>> {
        self.core
            .pool
            .connector
            .loop_driver(setup, self.core.pool.max, &self.core.sent)
    }

    fn stats(&self) -> crate::metrics::DbStats {
        crate::metrics::DbStats {
            pool: Some(self.core.pool.stats()),
            write_queue_depth: Some(self.threads.queue.depth()),
            commit_group_size: None,
        }
    }
}

impl<K: Connector> Backend for PooledBackend<K> {
    fn dialect(&self) -> Dialect {
        self.core.dialect()
    }

    fn refusal(&self, value: &Value) -> Option<&'static str> {
        self.core.refusal(value)
    }

    fn read(
        &self,
        f: &mut dyn FnMut(&mut dyn Conn) -> Result<(), BackendError>,
    ) -> Result<(), BackendError> {
        self.core.read(f)
    }

    fn write(&self, job: WriteJob) -> Result<WriteOutput, BackendError> {
        self.core.write(job)
    }

    fn write_statement(
        &self,
        sql: String,
        params: Vec<Value>,
        columns: Vec<FieldType>,
    ) -> Result<Vec<Vec<Value>>, BackendError> {
        self.core.write_statement(sql, params, columns)
    }

    fn write_autocommit(&self, job: WriteJob) -> Result<WriteOutput, BackendError> {
        self.core.write_autocommit(job)
    }

    fn ping(&self) -> Result<(), BackendError> {
        self.core.ping()
    }

    #[cfg(feature = "__private")]
    fn statements_sent(&self) -> Option<u64> {
        self.core.statements_sent()
    }

    /// Lets the threads finish what is queued, then closes every
    /// connection.
    fn close(&self) {
        self.threads.queue.close();
        let handles = std::mem::take(&mut *lock(&self.threads.handles));
        for handle in handles {
            // A thread that panicked has nothing left to run.
            let _ = handle.join();
        }
        self.core.close();
    }
}

impl<K: Connector> Backend for PoolCore<K> {
    fn dialect(&self) -> Dialect {
        self.pool.connector.dialect()
    }

    fn refusal(&self, value: &Value) -> Option<&'static str> {
        self.pool.connector.refusal(value)
    }

    fn read(
        &self,
        f: &mut dyn FnMut(&mut dyn Conn) -> Result<(), BackendError>,
    ) -> Result<(), BackendError> {
        self.with_session(|session| {
            f(&mut Counted {
                session,
                sent: &self.sent,
            })
        })
    }

    fn write(&self, job: WriteJob) -> Result<WriteOutput, BackendError> {
        let mut attempt = 0;
        let mut lease = loop {
            attempt += 1;
            let mut lease = self.pool.checkout()?;
            let reused = lease.reused;
            self.count();
            match lease.session()?.begin() {
                Ok(()) => break lease,
                Err(e) if is_broken(&e) => {
                    lease.discard();
                    self.pool.discard_idle();
                    if reused && attempt == 1 {
                        continue;
                    }
                    return Err(e);
                }
                Err(e) => return Err(e),
            }
        };
        let session = lease.session()?;
        let result = self.run_job(session, job);
        let result = match result {
            Ok(out) => {
                self.count();
                session.commit().map(|()| out)
            }
            Err(e) => Err(e),
        };
        if let Err(e) = &result {
            if is_broken(e) {
                lease.discard();
                self.pool.discard_idle();
            } else {
                self.count();
                if session.rollback().is_err() {
                    lease.discard();
                }
            }
        }
        result
    }

    fn write_autocommit(&self, job: WriteJob) -> Result<WriteOutput, BackendError> {
        let mut lease = self.pool.checkout()?;
        if !lease.session()?.autocommits() {
            drop(lease);
            return self.write(job);
        }
        let result = self.run_job(lease.session()?, job);
        if let Err(e) = &result {
            // Sent, so never retried: it may have committed.
            if is_broken(e) {
                lease.discard();
                self.pool.discard_idle();
            }
        }
        result
    }

    fn write_statement(
        &self,
        sql: String,
        params: Vec<Value>,
        columns: Vec<FieldType>,
    ) -> Result<Vec<Vec<Value>>, BackendError> {
        // A lone statement commits by itself where the connection
        // autocommits: one round trip instead of three.
        unbox_output(self.write_autocommit(statement_job(sql, params, columns))?)
    }

    fn ping(&self) -> Result<(), BackendError> {
        self.with_session(Session::ping)
    }

    #[cfg(feature = "__private")]
    fn statements_sent(&self) -> Option<u64> {
        Some(self.sent.load(Ordering::Relaxed))
    }

    fn close(&self) {
        self.pool.close();
    }
}

impl<K: Connector> Drop for PooledBackend<K> {
    fn drop(&mut self) {
        self.close();
    }
}

/// The parts of `scheme://user[:password]@host[:port]/database`.
#[cfg(any(feature = "mssql", feature = "oracle"))]
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct UrlParts {
    pub(crate) user: String,
    pub(crate) password: String,
    pub(crate) host: String,
    pub(crate) port: Option<u16>,
    pub(crate) database: String,
}

/// Splits a database URL (user and password percent-decoded).
#[cfg(any(feature = "mssql", feature = "oracle"))]
pub(crate) fn parse_url(url: &str) -> Result<UrlParts, BackendError> {
    let invalid = |reason: &str| BackendError::InvalidUrl {
        reason: reason.to_owned(),
    };
    let (_, rest) = url
        .split_once("://")
        .ok_or_else(|| invalid("expected scheme://user:password@host:port/database"))?;
    let rest = rest.split_once('?').map_or(rest, |(r, _)| r);
    let (auth, location) = rest.rsplit_once('@').unwrap_or(("", rest));
    let (user, password) = auth.split_once(':').unwrap_or((auth, ""));
    let (hostport, database) = location.split_once('/').unwrap_or((location, ""));
    let (host, port) = match hostport.rsplit_once(':') {
        Some((h, p)) => (
            h,
            Some(p.parse::<u16>().map_err(|_| invalid("bad port number"))?),
        ),
        None => (hostport, None),
    };
    if host.is_empty() {
        return Err(invalid("no host"));
    }
    Ok(UrlParts {
        user: percent_decode(user)?,
        password: percent_decode(password)?,
        host: host.to_owned(),
        port,
        database: percent_decode(database)?,
    })
}

#[cfg(any(feature = "mssql", feature = "oracle"))]
fn percent_decode(s: &str) -> Result<String, BackendError> {
    crate::http::query::decode_component(s, false)
        .map(std::borrow::Cow::into_owned)
        .map_err(|_| BackendError::InvalidUrl {
            reason: "bad percent-encoding".to_owned(),
        })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::backend::{read_with, write_with, Value};
    use crate::model::FieldType;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    use std::sync::Arc;

    /// A fake server: `down` makes connects and queries fail as a network
    /// error would; `log` records transaction statements.
    #[derive(Default)]
    struct Fake {
        down: AtomicBool,
        /// Whether sessions commit each statement by themselves.
        autocommit: AtomicBool,
        connects: AtomicUsize,
        /// Connect attempts, counted before `gate`.
        attempts: AtomicUsize,
        /// Held by a test to make connects wait.
        gate: Mutex<()>,
        log: Mutex<Vec<String>>,
    }

    struct FakeConnector(Arc<Fake>);

    struct FakeSession {
        fake: Arc<Fake>,
        generation: usize,
    }

    fn down() -> BackendError {
        BackendError::Unavailable {
            cause: "connection refused".into(),
        }
    }

    impl FakeSession {
        fn check(&self) -> Result<(), BackendError> {
            if self.fake.down.load(Ordering::SeqCst) {
                Err(down())
            } else {
                Ok(())
            }
        }
        fn log(&self, s: &str) -> Result<(), BackendError> {
            self.check()?;
            lock(&self.fake.log).push(s.to_owned());
            Ok(())
        }
    }

    impl Conn for FakeSession {
        fn query(
            &mut self,
            _sql: &str,
            _params: &[Value],
            _columns: &[FieldType],
        ) -> Result<Vec<Vec<Value>>, BackendError> {
            self.check()?;
            Ok(vec![vec![Value::Integer(
                i64::try_from(self.generation).unwrap(),
            )]])
        }
        fn execute(&mut self, sql: &str, _params: &[Value]) -> Result<u64, BackendError> {
            self.log(sql)?;
            Ok(1)
        }
    }

    impl Session for FakeSession {
        fn begin(&mut self) -> Result<(), BackendError> {
            self.log("BEGIN")
        }
        fn commit(&mut self) -> Result<(), BackendError> {
            self.log("COMMIT")
        }
        fn rollback(&mut self) -> Result<(), BackendError> {
            self.log("ROLLBACK")
        }
        fn ping(&mut self) -> Result<(), BackendError> {
            self.check()
        }
        fn autocommits(&self) -> bool {
            self.fake.autocommit.load(Ordering::SeqCst)
        }
    }

    impl Connector for FakeConnector {
        type Session = FakeSession;
        fn connect(&self) -> Result<FakeSession, BackendError> {
            self.0.attempts.fetch_add(1, Ordering::SeqCst);
            drop(lock(&self.0.gate));
            if self.0.down.load(Ordering::SeqCst) {
                return Err(down());
            }
            let generation = self.0.connects.fetch_add(1, Ordering::SeqCst) + 1;
            Ok(FakeSession {
                fake: Arc::clone(&self.0),
                generation,
            })
        }
        fn dialect(&self) -> Dialect {
            Dialect::Postgres
        }
        fn label(&self) -> &str {
            "fake"
        }
    }

    fn backend(max: usize) -> (Arc<Fake>, PooledBackend<FakeConnector>) {
        let fake = Arc::new(Fake::default());
        let b = PooledBackend::open(
            FakeConnector(Arc::clone(&fake)),
            max,
            Duration::from_millis(200),
            64,
            true,
        )
        .unwrap();
        (fake, b)
    }

    #[test]
    fn outage_is_unavailable_and_recovery_needs_no_restart() {
        let (fake, db) = backend(4);
        let first = read_with(&db, |c| c.query("q", &[], &[])).unwrap();
        assert_eq!(first, vec![vec![Value::Integer(1)]]);
        fake.down.store(true, Ordering::SeqCst);
        let e = read_with(&db, |c| c.query("q", &[], &[])).unwrap_err();
        assert!(matches!(e, BackendError::Unavailable { .. }), "{e:?}");
        assert_eq!(db.core.pool.open_count(), 0);
        assert!(matches!(db.ping(), Err(BackendError::Unavailable { .. })));
        fake.down.store(false, Ordering::SeqCst);
        // A new connection, without any restart.
        let again = read_with(&db, |c| c.query("q", &[], &[])).unwrap();
        assert_eq!(again, vec![vec![Value::Integer(2)]]);
    }

    #[test]
    fn autocommit_jobs_skip_the_transaction_only_where_statements_commit_alone() {
        let (fake, db) = backend(1);
        let job = || -> WriteJob {
            Box::new(|c: &mut dyn Conn| {
                c.execute("DELETE", &[]).map(|n| Box::new(n) as WriteOutput)
            })
        };
        db.write_autocommit(job()).unwrap();
        fake.autocommit.store(true, Ordering::SeqCst);
        db.write_autocommit(job()).unwrap();
        assert_eq!(*lock(&fake.log), ["BEGIN", "DELETE", "COMMIT", "DELETE"]);
        #[cfg(feature = "__private")]
        assert_eq!(db.statements_sent(), Some(4));
    }

    #[test]
    fn writes_commit_or_roll_back() {
        let (fake, db) = backend(2);
        write_with(&db, |c| c.execute("INSERT", &[])).unwrap();
        let r: Result<(), _> = write_with(&db, |c| {
            c.execute("INSERT", &[])?;
            Err(BackendError::Busy)
        });
        assert_eq!(r, Err(BackendError::Busy));
        let r: Result<(), BackendError> = write_with(&db, |_| panic!("job bug"));
        assert!(matches!(r, Err(BackendError::Internal { .. })));
        assert_eq!(
            *lock(&fake.log),
            ["BEGIN", "INSERT", "COMMIT", "BEGIN", "INSERT", "ROLLBACK", "BEGIN", "ROLLBACK"]
        );
    }

    #[cfg(any(feature = "mssql", feature = "oracle"))]
    #[test]
    fn urls_split_into_parts() {
        let p = parse_url("mssql://sa:p%40ss@db.local:1433/app?x=1").unwrap();
        assert_eq!(
            p,
            UrlParts {
                user: "sa".into(),
                password: "p@ss".into(),
                host: "db.local".into(),
                port: Some(1433),
                database: "app".into(),
            }
        );
        let p = parse_url("oracle://scott@h/XEPDB1").unwrap();
        assert_eq!((p.port, p.password.as_str()), (None, ""));
        assert!(parse_url("oracle://u@:1/x").is_err());
        assert!(parse_url("oracle://u@h:x/x").is_err());
    }

    #[test]
    fn while_the_database_is_down_one_connect_at_a_time_probes_it() {
        let (fake, db) = backend(4);
        let db = Arc::new(db);
        read_with(&*db, |c| c.query("q", &[], &[])).unwrap();
        fake.down.store(true, Ordering::SeqCst);
        assert!(read_with(&*db, |c| c.query("q", &[], &[])).is_err());
        // The server is back but slow to accept: one caller probes it...
        fake.down.store(false, Ordering::SeqCst);
        let gate = lock(&fake.gate);
        let probing = Arc::clone(&db);
        let probe = std::thread::spawn(move || read_with(&*probing, |c| c.query("q", &[], &[])));
        let t = Instant::now();
        while fake.attempts.load(Ordering::SeqCst) < 3 {
            assert!(
                t.elapsed() < Duration::from_secs(30),
                "the probe never connected"
            );
            std::thread::yield_now();
        }
        // ...and the others are told at once instead of connecting too
        // (were one to connect, it would wait at the gate).
        let (tx, rx) = std::sync::mpsc::channel();
        let other = Arc::clone(&db);
        std::thread::spawn(move || {
            let _ = tx.send(read_with(&*other, |c| c.query("q", &[], &[])));
        });
        let e = rx
            .recv_timeout(Duration::from_secs(30))
            .expect("answered without connecting")
            .unwrap_err();
        assert!(matches!(e, BackendError::Unavailable { .. }), "{e:?}");
        assert_eq!(fake.attempts.load(Ordering::SeqCst), 3);
        drop(gate);
        assert!(probe.join().unwrap().is_ok());
        // Up again: callers connect as they need.
        let a = db.core.pool.checkout().unwrap();
        let b = db.core.pool.checkout().unwrap();
        assert_eq!(db.core.pool.open_count(), 2);
        drop((a, b));
    }

    #[test]
    fn a_connect_past_its_limit_is_given_up_as_unavailable() {
        let quick = connect_within(Duration::from_secs(30), "fake", || Ok(7));
        assert_eq!(quick, Ok(7));
        let refused: Result<(), _> =
            connect_within(Duration::from_secs(30), "fake", || Err(down()));
        assert!(matches!(refused, Err(BackendError::Unavailable { .. })));
        let (release, stuck) = std::sync::mpsc::sync_channel::<()>(0);
        let e = connect_within(Duration::from_millis(50), "fake", move || {
            let _ = stuck.recv();
            Ok(())
        })
        .unwrap_err();
        assert_eq!(
            e,
            BackendError::Unavailable {
                cause: "no answer from fake within 50 ms connecting".to_owned()
            }
        );
        drop(release);
    }

    #[test]
    fn the_pool_is_bounded_and_waits_then_is_busy() {
        let (_fake, db) = backend(2);
        let db = Arc::new(db);
        let a = db.core.pool.checkout().unwrap();
        let b = db.core.pool.checkout().unwrap();
        assert!(matches!(db.core.pool.checkout(), Err(BackendError::Busy)));
        drop(a);
        let c = db.core.pool.checkout().unwrap();
        assert!(c.reused);
        drop((b, c));
        assert_eq!(db.core.pool.open_count(), 2);
        db.close();
        assert_eq!(db.core.pool.open_count(), 0);
        assert!(matches!(db.ping(), Err(BackendError::Closed)));
    }

    #[test]
    fn stats_count_connections_in_use_and_waits() {
        use crate::metrics::PoolStats;
        let (_fake, db) = backend(2);
        let stats = || Engine::stats(&db).pool.unwrap();
        // Opened at once, to check the URL; idle.
        assert_eq!(
            stats(),
            PoolStats {
                in_use: 0,
                open: 1,
                waits: 0
            }
        );
        let a = db.core.pool.checkout().unwrap();
        let b = db.core.pool.checkout().unwrap();
        assert_eq!(
            stats(),
            PoolStats {
                in_use: 2,
                open: 2,
                waits: 0
            }
        );
        assert!(matches!(db.core.pool.checkout(), Err(BackendError::Busy)));
        assert_eq!(stats().waits, 1);
        drop(a);
        assert_eq!(
            stats(),
            PoolStats {
                in_use: 1,
                open: 2,
                waits: 1
            }
        );
        drop(b);
        assert_eq!(stats().in_use, 0);
        assert_eq!(Engine::stats(&db).write_queue_depth, Some(0));
        assert!(Engine::stats(&db).commit_group_size.is_none());
        db.close();
    }
}
