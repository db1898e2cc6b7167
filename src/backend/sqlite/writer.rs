//! The one writer thread of a file database, with group commit: it takes
//! every write job queued at that moment (up to a maximum), runs them in one
//! `BEGIN IMMEDIATE` transaction with a `SAVEPOINT` per job (a failed or
//! panicking job is rolled back to its savepoint without touching the
//! others), commits once, and only then answers each job. N concurrent
//! writes cost one commit. WAL checkpoints run on a thread of their own
//! ([`super::checkpoint`]), never on one serving requests, and only when
//! the WAL grows too long on this one, between two groups. Jobs are
//! answered through callbacks, so the threads that queued them need not
//! wait.

use std::panic::{catch_unwind, AssertUnwindSafe};

use rusqlite::Connection;

use super::checkpoint::Checkpoints;
use super::conn::{run_cached, SqliteConn};
use crate::backend::work::Callback;
use crate::backend::write_queue::{CloseOnDrop, WriteQueue};
use crate::backend::{BackendError, WriteJob, WriteOutput};

const SAVEPOINT: &str = "SAVEPOINT lightapi_job";
const RELEASE: &str = "RELEASE lightapi_job";
const ROLLBACK_TO: &str = "ROLLBACK TO lightapi_job; RELEASE lightapi_job";

/// A write job and where its result goes.
pub(super) struct Job {
    work: Option<WriteJob>,
    reply: Option<Callback>,
}

impl Job {
    pub(super) fn new(work: WriteJob, reply: Callback) -> Job {
        Job {
            work: Some(work),
            reply: Some(reply),
        }
    }
}

impl Job {
    /// Answers the job with `e` without running it.
    pub(super) fn refuse(mut self, e: BackendError) {
        if let Some(reply) = self.reply.take() {
            reply(Err(e));
        }
    }
}

impl Drop for Job {
    /// A job dropped unanswered (its queue closed with it still inside, or
    /// its group given up) tells its caller the database is closed, so no
    /// caller waits for ever.
    fn drop(&mut self) {
        if let Some(reply) = self.reply.take() {
            reply(Err(BackendError::Closed));
        }
    }
}

/// Gives `r` to whoever waits for the job's result.
fn answer(reply: Callback, r: Result<WriteOutput, BackendError>) {
    reply(r);
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
/// commit; answers every job after the commit (or its failure). True if
/// something was committed.
pub(super) fn run_group(conn: &Connection, jobs: Vec<Job>, commits: &super::Commits) -> bool {
    let group_size = jobs.len();
    let mut committed: Vec<(Callback, WriteOutput)> = Vec::with_capacity(jobs.len());
    let mut in_tx = false;
    let fail_all = |committed: &mut Vec<(Callback, WriteOutput)>, e: &BackendError| {
        for (reply, _) in committed.drain(..) {
            answer(reply, Err(group_lost(e)));
        }
    };
    for mut job in jobs {
        let (Some(work), Some(reply)) = (job.work.take(), job.reply.take()) else {
            continue;
        };
        if !in_tx {
            if let Err(e) = run_cached(conn, "BEGIN IMMEDIATE") {
                answer(reply, Err(e));
                continue;
            }
            in_tx = true;
        }
        if let Err(e) = run_cached(conn, SAVEPOINT) {
            if conn.is_autocommit() {
                fail_all(&mut committed, &e);
                in_tx = false;
            }
            answer(reply, Err(e));
            continue;
        }
        let result = catch_unwind(AssertUnwindSafe(|| work(&mut SqliteConn { conn })))
            .unwrap_or_else(|_| {
                Err(BackendError::Internal {
                    cause: "write job panicked".to_owned(),
                })
            });
        let result = result.and_then(|out| run_cached(conn, RELEASE).map(|()| out));
        match result {
            Ok(out) => committed.push((reply, out)),
            Err(e) => {
                if conn.is_autocommit() {
                    // SQLite rolled the whole transaction back (e.g. disk full).
                    fail_all(&mut committed, &e);
                    in_tx = false;
                } else if conn.execute_batch(ROLLBACK_TO).is_err() {
                    let _ = conn.execute_batch("ROLLBACK");
                    fail_all(&mut committed, &e);
                    in_tx = false;
                }
                answer(reply, Err(e));
            }
        }
    }
    if !in_tx {
        return false;
    }
    let result = run_cached(conn, "COMMIT");
    // Counted before any job is answered, whatever the outcome.
    commits.bump(group_size);
    match result {
        Ok(()) => {
            for (reply, out) in committed {
                answer(reply, Ok(out));
            }
            true
        }
        Err(e) => {
            if !conn.is_autocommit() {
                // Nothing more can be done if the rollback fails too.
                let _ = conn.execute_batch("ROLLBACK");
            }
            for (reply, _) in committed {
                answer(reply, Err(e.clone()));
            }
            false
        }
    }
}

pub(super) fn writer_loop(
    conn: Connection,
    queue: &WriteQueue<Job>,
    max_group: usize,
    commits: &super::Commits,
    mut checkpoints: Checkpoints,
) {
    let _stop = CloseOnDrop(queue);
    let mut jobs = Vec::new();
    while queue.take(&mut jobs, max_group) {
        if run_group(&conn, std::mem::take(&mut jobs), commits) {
            checkpoints.committed(&conn);
        }
    }
    // The queue was closed and is empty: the backend was closed. The
    // checkpointer's connection closes first; dropping the last one
    // checkpoints the WAL.
    checkpoints.stop();
    drop(conn);
}
