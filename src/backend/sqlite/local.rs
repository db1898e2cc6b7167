//! An event loop's own read-only connection. Reads run on the event loop
//! itself — no thread hand-off for a read of a few microseconds — and a
//! progress handler stops any read that runs past its time budget, so a
//! slow query delays the loop's other connections by at most that budget;
//! the stopped read runs again on a worker.

use std::cell::RefCell;
use std::path::PathBuf;
use std::time::Duration;

use super::conn::{SqliteConn, TimedReader};
use crate::backend::work::ReadJob;
use crate::backend::{BackendError, LocalReader, WriteOutput};

/// A read connection owned by one event loop.
pub(super) struct SqliteLocalReader {
    path: PathBuf,
    busy_timeout: Duration,
    open: RefCell<Option<TimedReader>>,
}

impl SqliteLocalReader {
    pub(super) fn new(path: PathBuf, busy_timeout: Duration) -> SqliteLocalReader {
        SqliteLocalReader {
            path,
            busy_timeout,
            open: RefCell::new(None),
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
        let (result, over) = open.run(budget, |conn| job(&mut SqliteConn { conn }));
        match result {
            // Stopped by the progress handler (or over budget anyway).
            Err(_) if over => Err(BackendError::Interrupted),
            other => other,
        }
    }
}
