//! What a database reports for the metrics: its pool's connections, the
//! work waiting for it, and how many writes each commit held. Read when
//! the metrics are rendered, never on a request's path.

use super::histogram::HistogramSnapshot;

/// A database's state at one moment; `None` where it does not apply (a
/// SQLite file database has no pool; a server database no group commit).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct DbStats {
    pub(crate) pool: Option<PoolStats>,
    /// Jobs waiting for the database's threads (SQLite: for the writer).
    pub(crate) write_queue_depth: Option<usize>,
    /// Writes per commit of the SQLite writer.
    pub(crate) commit_group_size: Option<HistogramSnapshot>,
}

/// A connection pool's state.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PoolStats {
    /// Connections checked out now.
    pub(crate) in_use: usize,
    /// Connections open now, in use or idle.
    pub(crate) open: usize,
    /// Checkouts that found every connection busy and had to wait.
    pub(crate) waits: u64,
}
