//! The pool of read-only connections that threads which may block (the
//! workers) read through: opened on demand up to a maximum, checked out and
//! returned under a short lock that is never held while a query runs. In
//! WAL mode readers never wait for the writer.

use std::path::PathBuf;
use std::sync::{Condvar, Mutex};
use std::time::Duration;

use super::conn::TimedReader;
use crate::backend::BackendError;
use crate::sync::lock;

pub(super) struct PoolState {
    pub(super) idle: Vec<TimedReader>,
    pub(super) open: usize,
    pub(super) closed: bool,
}

pub(super) struct ReadPool {
    pub(super) path: PathBuf,
    pub(super) max: usize,
    pub(super) busy_timeout: Duration,
    /// The time limit of one read.
    pub(super) query_timeout: Duration,
    pub(super) state: Mutex<PoolState>,
    pub(super) available: Condvar,
}

/// A checked-out read connection, returned to the pool on drop.
pub(super) struct Lease<'p> {
    pub(super) pool: &'p ReadPool,
    pub(super) conn: Option<TimedReader>,
}

impl Drop for Lease<'_> {
    fn drop(&mut self) {
        let Some(conn) = self.conn.take() else {
            return;
        };
        if !conn.conn.is_autocommit() {
            // A closure left a transaction open; best effort, the connection
            // is read-only anyway.
            let _ = conn.conn.execute_batch("ROLLBACK");
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
    pub(super) fn checkout(&self) -> Result<Lease<'_>, BackendError> {
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
                return match TimedReader::open(&self.path, self.busy_timeout) {
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

    pub(super) fn close(&self) {
        let mut st = lock(&self.state);
        st.closed = true;
        let n = st.idle.len();
        st.idle.clear();
        st.open = st.open.saturating_sub(n);
        drop(st);
        self.available.notify_all();
    }
}
