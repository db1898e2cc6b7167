//! The end of a shutdown: once the event loops have drained (or their
//! drain deadline passed), the worker pool and the database are closed
//! within what is left of the shutdown timeout. Threads still busy then —
//! a handler or a query waiting on a database that does not answer — are
//! left behind rather than waited for, so the process exits on time.

use std::sync::mpsc::{sync_channel, RecvTimeoutError};
use std::time::{Duration, Instant};

/// The least time the closing steps get, even when the drain used up the
/// whole shutdown timeout: enough for idle threads to notice and end.
pub(crate) const CLOSE_FLOOR: Duration = Duration::from_millis(200);

/// When the closing steps must be done: the shutdown's deadline, or
/// [`CLOSE_FLOOR`] from `now` if that is later.
pub(crate) fn close_deadline(began: Instant, timeout: Duration, now: Instant) -> Instant {
    began
        .checked_add(timeout)
        .unwrap_or(now)
        .max(now + CLOSE_FLOOR)
}

/// Runs `close` on a thread of its own and waits for it until `deadline`.
/// Returns whether it finished; if not, it keeps running unwaited. Where
/// no thread can be started, `close` runs here, unbounded.
pub(crate) fn finish_by(deadline: Instant, close: impl FnOnce() + Send + 'static) -> bool {
    let (tx, rx) = sync_channel::<()>(1);
    let close = std::sync::Arc::new(std::sync::Mutex::new(Some(close)));
    let in_thread = std::sync::Arc::clone(&close);
    let spawned = std::thread::Builder::new()
        .name("lightapi-close".to_owned())
        .spawn(move || {
            if let Some(f) = crate::sync::lock(&in_thread).take() {
                f();
            }
            let _ = tx.send(());
        });
    if spawned.is_err() {
        if let Some(f) = crate::sync::lock(&close).take() {
            f();
        }
        return true;
    }
    let left = deadline.saturating_duration_since(Instant::now());
    !matches!(rx.recv_timeout(left), Err(RecvTimeoutError::Timeout))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;

    #[test]
    fn closing_gets_the_rest_of_the_timeout_and_at_least_the_floor() {
        let began = Instant::now();
        let timeout = Duration::from_secs(10);
        let now = began + Duration::from_secs(2);
        assert_eq!(close_deadline(began, timeout, now), began + timeout);
        let late = began + Duration::from_secs(11);
        assert_eq!(close_deadline(began, timeout, late), late + CLOSE_FLOOR);
    }

    #[test]
    fn a_quick_close_finishes_and_a_stuck_one_is_left_behind() {
        let done = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&done);
        let deadline = Instant::now() + Duration::from_secs(30);
        assert!(finish_by(deadline, move || flag.store(true, Ordering::SeqCst)));
        assert!(done.load(Ordering::SeqCst));

        let (release, stuck) = sync_channel::<()>(0);
        let t = Instant::now();
        let deadline = t + Duration::from_millis(100);
        assert!(!finish_by(deadline, move || {
            let _ = stuck.recv();
        }));
        // Generous: it returned at its deadline, not when `close` ended.
        assert!(t.elapsed() < Duration::from_secs(20));
        drop(release);
    }
}
