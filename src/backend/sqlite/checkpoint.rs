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
//! next transaction start the WAL again from its beginning. So the WAL is
//! bounded by the writer itself: its connection's `journal_size_limit` is
//! [`MAX_FRAMES`] frames, which SQLite truncates the WAL file to whenever
//! the WAL starts again, so the file is longer than that limit exactly
//! when the WAL holds more frames. After a commit that leaves it longer,
//! the writer runs one checkpoint itself before its next group; it copies
//! only what the checkpointer has not, and its next transaction starts
//! the WAL again. If the checkpointer is copying at that moment, the
//! writer tries again after its next commit, and once the WAL is twice
//! the limit it waits for the checkpointer's copy to end: a disk slower
//! than the writes slows the writes rather than growing the WAL.
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

use crate::sync::{lock, wait as wait_on};

/// WAL frames a checkpoint is meant to copy: SQLite's own automatic
/// checkpoint threshold (`wal_autocheckpoint`).
pub(super) const TARGET_FRAMES: u64 = 1000;

/// WAL frames beyond which the writer checkpoints before its next group
/// (16 MiB of WAL with 4 KiB pages); also the length the WAL file is
/// truncated to when the WAL starts again.
pub(super) const MAX_FRAMES: u64 = 4000;

/// Bytes of a WAL file's header, and of each frame's besides its page.
const WAL_HEADER: u64 = 32;
const FRAME_HEADER: u64 = 24;

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
    /// The checkpointer is copying.
    running: bool,
    /// The writer waits to checkpoint: the checkpointer starts no
    /// checkpoint until it has.
    writer_waiting: bool,
    closed: bool,
}

struct Shared {
    state: Mutex<State>,
    /// Wakes the checkpointer: commits are due, or the writer is done.
    wake: Condvar,
    /// Wakes the writer waiting for the checkpointer's copy to end.
    copied: Condvar,
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

/// What the writer does about the WAL's length after a commit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Bound {
    /// Within the limit, or the writer has checkpointed and waits for the
    /// checkpointer's next checkpoint before it looks again.
    Nothing,
    /// Checkpoint, or try again after the next commit if the checkpointer
    /// is copying.
    Checkpoint,
    /// Checkpoint, waiting for the checkpointer's copy if need be.
    WaitAndCheckpoint,
}

/// What to do when the WAL file is `len` bytes long and its limit is
/// `limit`.
fn bound(len: u64, limit: u64) -> Bound {
    if len <= limit {
        Bound::Nothing
    } else if len <= limit.saturating_mul(2) {
        Bound::Checkpoint
    } else {
        Bound::WaitAndCheckpoint
    }
}

/// The length the WAL file is truncated to when it starts again, for
/// pages of `page_size` bytes.
fn wal_limit(page_size: u64) -> u64 {
    WAL_HEADER + MAX_FRAMES * (page_size + FRAME_HEADER)
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
    /// The WAL file and the length it is kept within (set when the
    /// checkpointer starts).
    wal: Option<(PathBuf, u64)>,
    /// The checkpointer's count when the writer last checkpointed, until
    /// the WAL is seen within its limit again. A reader that holds old
    /// frames can keep the WAL from starting again; the writer then
    /// checkpoints again only after the checkpointer's next checkpoint or
    /// at twice the limit, not after every commit.
    backing_off: Option<u64>,
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
                    running: false,
                    writer_waiting: false,
                    closed: false,
                }),
                wake: Condvar::new(),
                copied: Condvar::new(),
                failed: AtomicBool::new(false),
                counts,
            }),
            thread: None,
            automatic: false,
            commits: 0,
            wal: None,
            backing_off: None,
        }
    }

    /// Called by the writer after each commit on `conn` (its connection),
    /// before it takes the next group.
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
        let due = {
            let mut state = lock(&self.shared.state);
            state.pending += 1;
            state.pending >= state.due
        };
        if due {
            self.shared.wake.notify_one();
        }
        self.keep_bounded(conn);
    }

    /// Checkpoints on the writer's connection if the WAL has grown past
    /// its limit.
    fn keep_bounded(&mut self, conn: &Connection) {
        let Some((wal, limit)) = &self.wal else {
            return;
        };
        // No WAL file: nothing to bound.
        let len = std::fs::metadata(wal).map_or(0, |m| m.len());
        let by_thread = self.shared.counts.by_thread.load(Ordering::Acquire);
        let wait = match bound(len, *limit) {
            Bound::Nothing => {
                self.backing_off = None;
                return;
            }
            // Checkpointed already, and the WAL did not start again.
            Bound::Checkpoint if self.backing_off == Some(by_thread) => return,
            Bound::Checkpoint => false,
            Bound::WaitAndCheckpoint => true,
        };
        {
            let mut state = lock(&self.shared.state);
            if state.running && !wait {
                // Copying now: after the next commit.
                return;
            }
            state.writer_waiting = true;
            while state.running {
                state = wait_on(&self.shared.copied, state);
            }
        }
        let result = passive(conn);
        lock(&self.shared.state).writer_waiting = false;
        self.shared.wake.notify_one();
        if result.is_ok() {
            self.shared.counts.by_writer.fetch_add(1, Ordering::Release);
        }
        // Within the limit again after the next commit unless something
        // holds the WAL (a reader of old frames): then once more after
        // the checkpointer's next checkpoint, or at twice the limit.
        self.backing_off = Some(by_thread);
    }

    /// Starts the checkpointer thread; on failure the writer checkpoints
    /// automatically from now on.
    fn start(&mut self, conn: &Connection) -> bool {
        let Some(wal) = wal_of(conn) else {
            self.automatic = true;
            return false;
        };
        if conn.pragma_update(None, "wal_autocheckpoint", 0).is_err() {
            // The writer still checkpoints by itself.
            self.automatic = true;
            return false;
        }
        self.wal = Some(wal);
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
        self.wal = None;
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

/// The WAL file of the writer's connection `conn` and the length it is
/// kept within, its `journal_size_limit` set to that length; `None` if
/// either cannot be had (a database without a file name, say).
fn wal_of(conn: &Connection) -> Option<(PathBuf, u64)> {
    let main = conn.path().filter(|p| !p.is_empty())?;
    let page_size: i64 = conn.query_row("PRAGMA page_size", [], |r| r.get(0)).ok()?;
    let limit = wal_limit(u64::try_from(page_size).ok()?);
    conn.pragma_update(None, "journal_size_limit", i64::try_from(limit).ok()?)
        .ok()?;
    Some((PathBuf::from(format!("{main}-wal")), limit))
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
            while !state.closed && (state.pending < state.due || state.writer_waiting) {
                state = wait_on(&shared.wake, state);
            }
            if state.closed {
                return;
            }
            state.running = true;
            std::mem::take(&mut state.pending)
        };
        let result = passive(conn);
        lock(&shared.state).running = false;
        shared.copied.notify_all();
        // Busy: another connection was checkpointing. Failed: tried again
        // when the next commits are due.
        let Ok(now) = result else {
            continue;
        };
        shared.counts.by_thread.fetch_add(1, Ordering::Release);
        let by_writer = shared.counts.by_writer.load(Ordering::Acquire);
        if let Some(frames) = frames_added(last, now, by_writer != writers) {
            lock(&shared.state).due = commits_due(frames, commits);
        }
        writers = by_writer;
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
    fn the_writer_checkpoints_past_the_limit_and_waits_past_twice_it() {
        let limit = wal_limit(4096);
        assert_eq!(limit, 32 + 4000 * 4120);
        assert_eq!(bound(0, limit), Bound::Nothing);
        assert_eq!(bound(limit, limit), Bound::Nothing);
        assert_eq!(bound(limit + 1, limit), Bound::Checkpoint);
        assert_eq!(bound(2 * limit, limit), Bound::Checkpoint);
        assert_eq!(bound(2 * limit + 1, limit), Bound::WaitAndCheckpoint);
        assert_eq!(bound(u64::MAX, u64::MAX), Bound::Nothing);
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
