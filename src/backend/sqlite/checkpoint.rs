//! WAL checkpoints on a thread of their own, so the writer's commits never
//! wait for a checkpoint's copying and `fsync`s.
//!
//! The writer's connection does not checkpoint automatically. It counts
//! its commits here instead; once enough have accumulated to fill about
//! [`TARGET_FRAMES`] WAL frames (the number of frames per commit is
//! learnt from each checkpoint's result), the checkpointer thread runs a
//! `PASSIVE` checkpoint on a connection of its own while the writer goes
//! on committing.
//!
//! A passive checkpoint that runs beside the writer rarely finishes —
//! frames are appended while it copies — and only a finished one lets the
//! next transaction start the WAL again from its beginning. So once the
//! WAL holds [`MAX_FRAMES`] frames, the writer runs one checkpoint itself
//! between two groups; it copies only what the checkpointer has not, and
//! the WAL stays bounded under sustained writes.
//!
//! The thread and its connection are started once the writer has
//! committed [`START_AFTER_COMMITS`] times (a server that only created its
//! tables holds neither); until then, and if either cannot be started, the
//! writer's connection checkpoints automatically, as SQLite does by
//! default.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;

use rusqlite::{Connection, OpenFlags};

use crate::sync::{lock, wait};

/// WAL frames a checkpoint is meant to copy: SQLite's own automatic
/// checkpoint threshold (`wal_autocheckpoint`).
pub(super) const TARGET_FRAMES: u64 = 1000;

/// WAL frames beyond which the writer checkpoints between two groups
/// (16 MiB of WAL with 4 KiB pages).
pub(super) const MAX_FRAMES: u64 = 4000;

/// Commits after which the checkpointer is started.
pub(super) const START_AFTER_COMMITS: u64 = 64;

/// The most commits between two checkpoints, whatever a commit writes.
const MAX_DUE: u64 = TARGET_FRAMES;

/// What a checkpoint reported: frames in the WAL, and how many of them
/// are now in the database file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Progress {
    pub(super) log: u64,
    pub(super) copied: u64,
}

/// Why a checkpoint did nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum NotRun {
    /// Another checkpoint held the database.
    Busy,
    /// It failed (an I/O error, say).
    Failed,
}

/// Runs `PRAGMA wal_checkpoint(PASSIVE)` on `conn`.
pub(super) fn passive(conn: &Connection) -> Result<Progress, NotRun> {
    let (busy, log, copied): (i64, i64, i64) = conn
        .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })
        .map_err(|e| match e.sqlite_error_code() {
            Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked) => {
                NotRun::Busy
            }
            _ => NotRun::Failed,
        })?;
    if busy != 0 {
        return Err(NotRun::Busy);
    }
    // Both are -1 when the database is not in WAL mode.
    match (u64::try_from(log), u64::try_from(copied)) {
        (Ok(log), Ok(copied)) => Ok(Progress { log, copied }),
        _ => Err(NotRun::Failed),
    }
}

/// Commits to wait for before the next checkpoint, given that `commits`
/// commits appended `frames` frames.
fn commits_due(frames: u64, commits: u64) -> u64 {
    let per_commit = frames.div_ceil(commits.max(1)).max(1);
    (TARGET_FRAMES / per_commit).clamp(1, MAX_DUE)
}

/// Frames appended since the checkpoint that reported `before`, seen by
/// the one reporting `now`; `None` when the WAL may have started again in
/// between (the count is then unknown).
fn frames_added(before: Progress, now: Progress, restarted: bool) -> Option<u64> {
    if restarted || now.log < before.log {
        None
    } else {
        Some(now.log - before.log)
    }
}

struct State {
    /// Commits since the last checkpoint began.
    pending: u64,
    /// Commits after which the next one begins.
    due: u64,
    closed: bool,
}

struct Shared {
    state: Mutex<State>,
    wake: Condvar,
    /// Set by the checkpointer when the WAL is too long for a passive
    /// checkpoint to end it; the writer checkpoints between two groups.
    writer_should_checkpoint: AtomicBool,
    /// The checkpointer could not open its connection.
    failed: AtomicBool,
    counts: Arc<Counts>,
}

/// Checkpoints run by the checkpointer thread and by the writer (after
/// each of the writer's, the WAL starts again).
#[derive(Debug, Default)]
pub(super) struct Counts {
    by_thread: AtomicU64,
    by_writer: AtomicU64,
    /// The checkpointer thread was started.
    started: AtomicBool,
}

impl Counts {
    /// (by the checkpointer thread, by the writer)
    #[cfg(test)]
    pub(super) fn get(&self) -> (u64, u64) {
        (
            self.by_thread.load(Ordering::Acquire),
            self.by_writer.load(Ordering::Acquire),
        )
    }

    /// Whether the checkpointer thread was started.
    #[cfg(test)]
    pub(super) fn started(&self) -> bool {
        self.started.load(Ordering::Acquire)
    }
}

/// The writer's side of the checkpointer.
pub(super) struct Checkpoints {
    path: PathBuf,
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
    /// The writer checkpoints automatically (the checkpointer could not
    /// be started).
    automatic: bool,
    /// Commits before the checkpointer was started.
    commits: u64,
}

impl Checkpoints {
    /// The checkpointer of the database at `path`, counting into
    /// `counts`; nothing runs until [`Checkpoints::committed`].
    pub(super) fn new(path: &Path, counts: Arc<Counts>) -> Checkpoints {
        Checkpoints {
            path: path.to_path_buf(),
            shared: Arc::new(Shared {
                state: Mutex::new(State {
                    pending: 0,
                    due: 1,
                    closed: false,
                }),
                wake: Condvar::new(),
                writer_should_checkpoint: AtomicBool::new(false),
                failed: AtomicBool::new(false),
                counts,
            }),
            thread: None,
            automatic: false,
            commits: 0,
        }
    }

    /// Called by the writer after each commit on `conn` (its connection).
    pub(super) fn committed(&mut self, conn: &Connection) {
        if self.automatic {
            return;
        }
        if self.shared.failed.load(Ordering::Acquire) {
            self.fall_back(conn);
            return;
        }
        if self.thread.is_none() {
            self.commits += 1;
            if self.commits < START_AFTER_COMMITS || !self.start(conn) {
                return;
            }
        }
        let mut state = lock(&self.shared.state);
        state.pending += 1;
        if state.pending >= state.due {
            drop(state);
            self.shared.wake.notify_one();
        }
    }

    /// Called by the writer before it takes the next group: runs the
    /// checkpoint the checkpointer asked for, if it did.
    pub(super) fn between_groups(&self, conn: &Connection) {
        if !self
            .shared
            .writer_should_checkpoint
            .swap(false, Ordering::AcqRel)
        {
            return;
        }
        match passive(conn) {
            Ok(_) => {
                self.shared.counts.by_writer.fetch_add(1, Ordering::Release);
            }
            // The checkpointer held the database: try after the next group.
            Err(NotRun::Busy) => self
                .shared
                .writer_should_checkpoint
                .store(true, Ordering::Release),
            // The checkpointer asks again after its next one.
            Err(NotRun::Failed) => {}
        }
    }

    /// Starts the checkpointer thread; on failure the writer checkpoints
    /// automatically from now on.
    fn start(&mut self, conn: &Connection) -> bool {
        if conn.pragma_update(None, "wal_autocheckpoint", 0).is_err() {
            // The writer still checkpoints by itself.
            self.automatic = true;
            return false;
        }
        let shared = Arc::clone(&self.shared);
        let path = self.path.clone();
        let spawned = std::thread::Builder::new()
            .name("lightapi-sqlite-checkpoint".to_owned())
            .spawn(move || match open(&path) {
                Some(own) => checkpointer_loop(&own, &shared),
                None => shared.failed.store(true, Ordering::Release),
            });
        match spawned {
            Ok(handle) => {
                self.thread = Some(handle);
                self.shared.counts.started.store(true, Ordering::Release);
                true
            }
            Err(_) => {
                self.fall_back(conn);
                false
            }
        }
    }

    /// Gives checkpoints back to the writer's connection.
    fn fall_back(&mut self, conn: &Connection) {
        self.stop();
        self.automatic = true;
        // If even this fails the WAL is still checkpointed when the
        // database is closed; nothing more can be done here.
        let _ = conn.pragma_update(None, "wal_autocheckpoint", TARGET_FRAMES);
    }

    /// Stops the checkpointer thread (a checkpoint under way finishes).
    pub(super) fn stop(&mut self) {
        lock(&self.shared.state).closed = true;
        self.shared.wake.notify_all();
        if let Some(handle) = self.thread.take() {
            let _ = handle.join();
        }
    }
}

impl Drop for Checkpoints {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The checkpointer's own read-write connection (a checkpoint writes the
/// database file).
fn open(path: &Path) -> Option<Connection> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_NO_MUTEX
        | OpenFlags::SQLITE_OPEN_URI;
    let conn = Connection::open_with_flags(path, flags).ok()?;
    // Its own checkpoints are explicit; closing it never checkpoints
    // either (the writer's connection is open, and closes last).
    conn.pragma_update(None, "wal_autocheckpoint", 0).ok()?;
    Some(conn)
}

fn checkpointer_loop(conn: &Connection, shared: &Shared) {
    let mut last = Progress { log: 0, copied: 0 };
    let mut writers = shared.counts.by_writer.load(Ordering::Acquire);
    loop {
        let commits = {
            let mut state = lock(&shared.state);
            while !state.closed && state.pending < state.due {
                state = wait(&shared.wake, state);
            }
            if state.closed {
                return;
            }
            std::mem::take(&mut state.pending)
        };
        let now = match passive(conn) {
            Ok(now) => now,
            // The writer is checkpointing.
            Err(NotRun::Busy) => continue,
            // The writer's own attempt decides.
            Err(NotRun::Failed) => {
                shared
                    .writer_should_checkpoint
                    .store(true, Ordering::Release);
                continue;
            }
        };
        shared.counts.by_thread.fetch_add(1, Ordering::Release);
        let by_writer = shared.counts.by_writer.load(Ordering::Acquire);
        if let Some(frames) = frames_added(last, now, by_writer != writers) {
            lock(&shared.state).due = commits_due(frames, commits);
        }
        writers = by_writer;
        // Frames were appended while it copied, so it ended nothing even
        // if it copied every frame it saw: past the bound, the writer
        // checkpoints between two groups, which lets its next transaction
        // start the WAL again.
        if now.log >= MAX_FRAMES {
            shared
                .writer_should_checkpoint
                .store(true, Ordering::Release);
        }
        last = now;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checkpoints_are_spaced_to_copy_about_the_target() {
        // 3 frames a commit: a checkpoint every 333 commits.
        assert_eq!(commits_due(300, 100), 333);
        // A commit filling more frames than the target: every commit.
        assert_eq!(commits_due(5000, 1), 1);
        // Nothing appended (all in a reader's way): the longest spacing.
        assert_eq!(commits_due(0, 50), MAX_DUE);
        assert_eq!(commits_due(10, 0), 100);
    }

    #[test]
    fn frames_added_is_unknown_when_the_wal_may_have_started_again() {
        let p = |log, copied| Progress { log, copied };
        assert_eq!(frames_added(p(100, 100), p(160, 160), false), Some(60));
        // The writer checkpointed in between.
        assert_eq!(frames_added(p(100, 100), p(160, 160), true), None);
        // It shrank: started again.
        assert_eq!(frames_added(p(100, 50), p(30, 0), false), None);
    }
}
