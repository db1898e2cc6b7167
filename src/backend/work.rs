//! Database work handed over whole: a read job, a write job (in a
//! transaction or statement by statement) or one statement, run either on the caller's thread or queued for the
//! database's own threads, which hand the result to a callback. This is how
//! an event loop gets database work done without waiting for it.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::{read_with, Backend, BackendError, Conn, Value, WriteJob, WriteOutput};
use crate::model::FieldType;

/// A read job: runs on a connection lent for reading and returns its
/// result whole, so it can run on any thread.
pub(crate) type ReadJob =
    Box<dyn FnOnce(&mut dyn Conn) -> Result<WriteOutput, BackendError> + Send>;

/// Where the result of queued work goes; called on the thread that ran it.
pub(crate) type Callback = Box<dyn FnOnce(Result<WriteOutput, BackendError>) + Send>;

/// One piece of database work.
pub(crate) enum Work {
    /// Reads; sees committed data only.
    Read(ReadJob),
    /// One read statement; its output is `Vec<Vec<Value>>`, as
    /// [`Conn::query`] gives it. Carries no closure, so an event loop may
    /// send it to the database itself (see [`LoopDriver`]).
    Query {
        sql: Arc<str>,
        params: Vec<Value>,
        columns: Arc<[FieldType]>,
    },
    /// Two read statements sent together (a page and its count), each
    /// seeing committed data; its output is `(Vec<Vec<Value>>,
    /// Vec<Vec<Value>>)`, their rows. Carries no closure, so an event loop
    /// may send both to the database at once (see [`LoopDriver`]).
    Queries(Box<[ReadStatement; 2]>),
    /// Writes in one transaction, committed before the result is given.
    Write(WriteJob),
    /// Writes statement by statement, each committed on its own where the
    /// database allows it (see [`Backend::write_autocommit`]).
    Autocommit(WriteJob),
    /// One statement that writes and returns rows (see
    /// [`Backend::write_statement`]); its output is `Vec<Vec<Value>>`.
    Statement {
        sql: String,
        params: Vec<Value>,
        columns: Vec<FieldType>,
    },
    /// Statements run one after another, each committed on its own where
    /// the database allows it, the next chosen from the rows of the one
    /// before (a read, then a compare-and-set write). Holds no connection,
    /// so an event loop may send each statement itself.
    Steps(Box<dyn Steps>),
}

/// The statements of [`Work::Steps`], chosen one at a time.
pub(crate) trait Steps: Send {
    /// What to run next, given the rows of the statement before (`None`
    /// for the first); [`Next::Done`] ends the work with its output.
    ///
    /// # Errors
    /// Whatever ends the work without an output.
    fn next(&mut self, rows: Option<Vec<Vec<Value>>>) -> Result<Next, BackendError>;
}

/// What [`Steps::next`] chose.
pub(crate) enum Next {
    /// This statement (it may write), its rows given to the next call.
    Run(ReadStatement),
    /// The work's output.
    Done(WriteOutput),
}

/// Runs `steps` on `c`, statement by statement.
fn run_steps(mut steps: Box<dyn Steps>, c: &mut dyn Conn) -> Result<WriteOutput, BackendError> {
    let mut rows = None;
    loop {
        match steps.next(rows.take())? {
            Next::Run(statement) => rows = Some(statement.run(c)?),
            Next::Done(out) => return Ok(out),
        }
    }
}

/// One statement of [`Work::Queries`] (a read) or [`Work::Steps`].
pub(crate) struct ReadStatement {
    pub(crate) sql: Arc<str>,
    pub(crate) params: Vec<Value>,
    pub(crate) columns: Arc<[FieldType]>,
}

impl ReadStatement {
    pub(crate) fn new(sql: &str, params: Vec<Value>, columns: &[FieldType]) -> ReadStatement {
        ReadStatement {
            sql: sql.into(),
            params,
            columns: columns.into(),
        }
    }

    fn run(&self, c: &mut dyn Conn) -> Result<Vec<Vec<Value>>, BackendError> {
        c.query(&self.sql, &self.params, &self.columns)
    }
}

/// The kind of a [`Work`], for asking whether a backend queues it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WorkKind {
    /// [`Work::Read`].
    Read,
    /// [`Work::Write`], [`Work::Autocommit`] and [`Work::Statement`].
    Write,
}

impl Work {
    pub(crate) fn kind(&self) -> WorkKind {
        match self {
            Work::Read(_) | Work::Query { .. } | Work::Queries(_) => WorkKind::Read,
            Work::Write(_) | Work::Autocommit(_) | Work::Statement { .. } | Work::Steps(_) => {
                WorkKind::Write
            }
        }
    }

    /// The same work with a [`Work::Query`] or [`Work::Queries`] turned
    /// into the read job that runs it (the statements one after the
    /// other), and [`Work::Steps`] into the [`Work::Autocommit`] job that
    /// runs it; other work unchanged.
    pub(crate) fn into_job(self) -> Work {
        match self {
            Work::Query {
                sql,
                params,
                columns,
            } => Work::Read(Box::new(move |c| {
                c.query(&sql, &params, &columns)
                    .map(|rows| Box::new(rows) as WriteOutput)
            })),
            Work::Queries(both) => Work::Read(Box::new(move |c| {
                let [first, second] = &*both;
                let rows = (first.run(c)?, second.run(c)?);
                Ok(Box::new(rows) as WriteOutput)
            })),
            Work::Steps(steps) => Work::Autocommit(Box::new(move |c| run_steps(steps, c))),
            other => other,
        }
    }
}

/// Runs `work` on the caller's thread, waiting for the database.
pub(crate) fn run(backend: &dyn Backend, work: Work) -> Result<WriteOutput, BackendError> {
    match work {
        Work::Read(job) => read_with(backend, job),
        query @ (Work::Query { .. } | Work::Queries(_) | Work::Steps(_)) => {
            run(backend, query.into_job())
        }
        Work::Write(job) => backend.write(job),
        Work::Autocommit(job) => backend.write_autocommit(job),
        Work::Statement {
            sql,
            params,
            columns,
        } => backend
            .write_statement(sql, params, columns)
            .map(|rows| Box::new(rows) as WriteOutput),
    }
}

/// Queued work and where its result goes. Work dropped unrun (its queue
/// closed with it inside) answers `Closed`, so no caller waits for ever.
#[cfg_attr(not(any(feature = "postgres", feature = "mysql")), allow(dead_code))]
pub(crate) struct Queued {
    work: Option<Work>,
    done: Option<Callback>,
}

#[cfg_attr(not(any(feature = "postgres", feature = "mysql")), allow(dead_code))]
impl Queued {
    pub(crate) fn new(work: Work, done: Callback) -> Queued {
        Queued {
            work: Some(work),
            done: Some(done),
        }
    }

    /// Runs the work on `backend`, waiting for it, and gives its result.
    pub(crate) fn run(mut self, backend: &dyn Backend) {
        if let (Some(work), Some(done)) = (self.work.take(), self.done.take()) {
            done(run(backend, work));
        }
    }

    /// Answers with `e` without running the work.
    pub(crate) fn refuse(mut self, e: BackendError) {
        if let Some(done) = self.done.take() {
            done(Err(e));
        }
    }
}

impl Drop for Queued {
    fn drop(&mut self) {
        if let Some(done) = self.done.take() {
            done(Err(BackendError::Closed));
        }
    }
}

/// A backend as the server drives it: besides running work on the
/// caller's thread, it may queue work for its own threads, and may give an
/// event loop a read connection of its own.
pub(crate) trait Engine: Backend {
    /// Whether [`Engine::submit`] queues work of `kind` for the database's
    /// own threads (returning at once) rather than running it on the
    /// caller's thread.
    fn queues(&self, kind: WorkKind) -> bool {
        let _ = kind;
        false
    }

    /// Queues `work`; `done` gets its result on the thread that ran it.
    /// Work of a kind this backend does not queue runs on the caller's
    /// thread. The database's threads may not be woken for queued work
    /// until [`Engine::flush`]: the caller calls it before it waits.
    fn submit(&self, work: Work, done: Callback) {
        done(run(self.as_backend(), work));
    }

    /// Wakes the database's threads for the work [`Engine::submit`]
    /// queued since the last flush, so that what an event loop queues in
    /// one turn is taken together (one group commit, one wake-up).
    fn flush(&self) {}

    /// A read connection for one event loop, which runs short reads there
    /// and gives up on any that would take longer than their budget.
    fn local_reader(&self) -> Option<Box<dyn LocalReader>> {
        None
    }

    /// This engine as a plain [`Backend`].
    fn as_backend(&self) -> &dyn Backend;

    /// What lets one event loop run single statements ([`Work::Query`],
    /// [`Work::Statement`], the pair of [`Work::Queries`]) on connections of its own, driven by the loop
    /// itself; `None` when the backend has none (work then goes through
    /// [`Engine::submit`]).
    fn loop_driver(&self, setup: LoopSetup) -> Option<Box<dyn LoopDriver>> {
        let _ = setup;
        None
    }

    /// Its pool, queue and commit figures now, for the metrics.
    fn stats(&self) -> crate::metrics::DbStats {
        crate::metrics::DbStats::default()
    }
}

/// A read connection owned by one event loop.
pub(crate) trait LocalReader: Send {
    /// Runs `job`, interrupting it once it has run for `budget`
    /// ([`BackendError::Interrupted`]: run it elsewhere instead).
    fn run(&self, job: ReadJob, budget: Duration) -> Result<WriteOutput, BackendError>;

    /// Ends whatever the reader keeps between reads (an open snapshot);
    /// called when the event loop is about to wait for events.
    fn release(&self) {}
}

/// Tokens a [`LoopDriver`] may register sockets under, from its first.
pub(crate) const LOOP_DRIVER_TOKENS: usize = 64;

/// What an event loop lends a [`LoopDriver`]: its poll's registry, the
/// first of the tokens the driver may register sockets under, the waker
/// that interrupts its wait, and how many event loops share the database.
/// Only the PostgreSQL driver reads it.
#[cfg_attr(not(feature = "postgres"), allow(dead_code))]
pub(crate) struct LoopSetup {
    pub(crate) registry: mio::Registry,
    pub(crate) first_token: usize,
    pub(crate) waker: Arc<mio::Waker>,
    pub(crate) loops: usize,
}

/// Database connections owned and driven by one event loop, for work that
/// is one statement: the loop sends it and reads the answer itself, with
/// no other thread involved. Results go to each piece of work's callback,
/// called on the loop's thread from [`LoopDriver::poll`] (or from
/// [`LoopDriver::submit`] when the work is refused at once).
pub(crate) trait LoopDriver: Send {
    /// Whether `work` is of a kind this driver runs.
    fn takes(&self, work: &Work) -> bool;

    /// Starts `work`; its result goes to `done` later.
    fn submit(&mut self, work: Work, done: Callback, now: Instant);

    /// Whether `token` is one of this driver's sockets.
    fn owns(&self, token: mio::Token) -> bool;

    /// A readiness event for one of its sockets.
    fn on_event(&mut self, token: mio::Token);

    /// Whether something waits to be driven by [`LoopDriver::poll`].
    fn has_ready(&self) -> bool;

    /// Drives whatever is ready: sockets, statements, connects.
    fn poll(&mut self, now: Instant);

    /// Gives up statements and connects past their time limits.
    fn sweep(&mut self, now: Instant);

    /// Statements not yet answered.
    fn in_flight(&self) -> usize;

    /// Closes every connection; work not yet answered answers `Closed`.
    fn close(&mut self);
}
