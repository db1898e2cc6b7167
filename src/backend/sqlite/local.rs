//! An event loop's own read-only connection. Reads run on the event loop
//! itself — no thread hand-off for a read of a few microseconds — and a
//! progress handler stops any read that runs past its time budget, so a
//! slow query delays the loop's other connections by at most that budget;
//! the stopped read runs again on a worker.
//!
//! Reads share a snapshot while no write commits: the read transaction a
//! read opens stays open for the next one if the database's commit count
//! ([`super::Commits`]) has not moved since it began, and ends when it has,
//! when a read fails, and when the event loop goes back to waiting
//! ([`LocalReader::release`]). A read therefore sees every write whose
//! answer was given before it began (the count moves before any answer),
//! skips the locking of a snapshot of its own while a loop answers a
//! batch of reads, and no snapshot outlives one turn of the loop, so the
//! WAL is never held from checkpointing.

use std::cell::{Cell, RefCell};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use super::conn::{SqliteConn, TimedReader};
use crate::backend::work::ReadJob;
use crate::backend::{BackendError, LocalReader, WriteOutput};

/// A read connection owned by one event loop.
pub(super) struct SqliteLocalReader {
    path: PathBuf,
    busy_timeout: Duration,
    open: RefCell<Option<TimedReader>>,
    commits: Arc<super::Commits>,
    /// The commit count when the open read transaction began.
    snapshot: Cell<Option<u64>>,
}

impl SqliteLocalReader {
    pub(super) fn new(
        path: PathBuf,
        busy_timeout: Duration,
        commits: Arc<super::Commits>,
    ) -> SqliteLocalReader {
        SqliteLocalReader {
            path,
            busy_timeout,
            open: RefCell::new(None),
            commits,
            snapshot: Cell::new(None),
        }
    }
}

impl LocalReader for SqliteLocalReader {
    fn run(&self, job: ReadJob, budget: Duration) -> Result<WriteOutput, BackendError> {
        let mut slot = self.open.borrow_mut();
        if slot.is_none() {
            *slot = Some(TimedReader::open(&self.path, self.busy_timeout)?);
        }
        let Some(open) = slot.as_ref() else {
            return Err(BackendError::Closed);
        };
        // Read before the snapshot is taken: it holds at least these commits.
        let count = self.commits.count();
        if self.snapshot.get() != Some(count) {
            open.end_read();
            self.snapshot.set(open.begin_read().ok().map(|()| count));
        }
        let (result, over) = open.run_within(budget, |conn| job(&mut SqliteConn { conn }));
        if result.is_err() || open.conn.is_autocommit() {
            open.end_read();
            self.snapshot.set(None);
        }
        match result {
            // Stopped by the progress handler (or over budget anyway).
            Err(_) if over => Err(BackendError::Interrupted),
            other => other,
        }
    }

    fn release(&self) {
        if self.snapshot.take().is_some() {
            if let Some(open) = self.open.borrow().as_ref() {
                open.end_read();
            }
        }
    }
}
