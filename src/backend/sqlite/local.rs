//! An event loop's own read-only connection. Reads run on the event loop
//! itself — no thread hand-off for a read of a few microseconds — and a
//! progress handler stops any read that runs past its time budget, so a
//! slow query delays the loop's other connections by at most that budget;
//! the stopped read runs again on a worker.

use std::cell::RefCell;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rusqlite::Connection;

use super::conn::{open_reader, SqliteConn};
use crate::backend::work::ReadJob;
use crate::backend::{BackendError, LocalReader, WriteOutput};

/// SQLite virtual-machine steps between two looks at the clock.
const STEPS_BETWEEN_CHECKS: i32 = 1000;

/// The connection and its deadline, opened on the first read.
struct Open {
    conn: Connection,
    /// Nanoseconds after `base` at which a running read is stopped.
    deadline: Arc<AtomicU64>,
    base: Instant,
}

/// A read connection owned by one event loop.
pub(super) struct SqliteLocalReader {
    path: PathBuf,
    busy_timeout: Duration,
    open: RefCell<Option<Open>>,
}

impl SqliteLocalReader {
    pub(super) fn new(path: PathBuf, busy_timeout: Duration) -> SqliteLocalReader {
        SqliteLocalReader {
            path,
            busy_timeout,
            open: RefCell::new(None),
        }
    }

    fn open(&self) -> Result<Open, BackendError> {
        let conn = open_reader(&self.path, self.busy_timeout)?;
        let deadline = Arc::new(AtomicU64::new(u64::MAX));
        let base = Instant::now();
        let watched = Arc::clone(&deadline);
        conn.progress_handler(
            STEPS_BETWEEN_CHECKS,
            Some(move || nanos_since(base) >= watched.load(Ordering::Relaxed)),
        );
        Ok(Open {
            conn,
            deadline,
            base,
        })
    }
}

fn nanos_since(base: Instant) -> u64 {
    u64::try_from(base.elapsed().as_nanos()).unwrap_or(u64::MAX)
}

impl LocalReader for SqliteLocalReader {
    fn run(&self, job: ReadJob, budget: Duration) -> Result<WriteOutput, BackendError> {
        let mut slot = self.open.borrow_mut();
        if slot.is_none() {
            *slot = Some(self.open()?);
        }
        let Some(open) = slot.as_ref() else {
            return Err(BackendError::Closed);
        };
        let budget = u64::try_from(budget.as_nanos()).unwrap_or(u64::MAX);
        open.deadline.store(
            nanos_since(open.base).saturating_add(budget),
            Ordering::Relaxed,
        );
        let result = job(&mut SqliteConn { conn: &open.conn });
        let over = nanos_since(open.base) >= open.deadline.load(Ordering::Relaxed);
        open.deadline.store(u64::MAX, Ordering::Relaxed);
        if !open.conn.is_autocommit() {
            let _ = open.conn.execute_batch("ROLLBACK");
        }
        match result {
            // Stopped by the progress handler (or over budget anyway).
            Err(_) if over => Err(BackendError::Interrupted),
            other => other,
        }
    }
}
