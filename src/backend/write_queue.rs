//! The queue in front of a database's writer (or its pool's threads):
//! bounded (a caller waits while it is full), closable (queued jobs are still handed out,
//! new ones are refused), and holding memory only for the jobs actually
//! waiting. A fixed-capacity channel would allocate, and touch, room for
//! every slot when the database is opened.

use std::collections::VecDeque;
use std::sync::{Condvar, Mutex, MutexGuard};

/// Capacity kept by an empty queue after a burst.
const KEEP_CAPACITY: usize = 64;

struct State<T> {
    jobs: VecDeque<T>,
    closed: bool,
    /// Consumers waiting on `not_empty`, producers on `not_full`: a
    /// condition variable is only signalled when someone waits on it
    /// (each signal is a system call).
    takers_waiting: usize,
    pushers_waiting: usize,
    /// Consumers signalled that have not woken yet: not signalled again.
    wakes_sent: usize,
    /// Jobs queued by [`WriteQueue::try_push_held`] whose wake-up waits
    /// for [`WriteQueue::release_held`].
    held: usize,
}

/// A bounded multi-producer, multi-consumer job queue.
pub(crate) struct WriteQueue<T> {
    state: Mutex<State<T>>,
    not_empty: Condvar,
    not_full: Condvar,
    max: usize,
}

impl<T> WriteQueue<T> {
    /// A queue holding at most `max` jobs (at least one).
    pub(crate) fn new(max: usize) -> WriteQueue<T> {
        WriteQueue {
            state: Mutex::new(State {
                jobs: VecDeque::new(),
                closed: false,
                takers_waiting: 0,
                pushers_waiting: 0,
                wakes_sent: 0,
                held: 0,
            }),
            not_empty: Condvar::new(),
            not_full: Condvar::new(),
            max: max.max(1),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State<T>> {
        // A job is moved in or out whole: a panic elsewhere cannot leave
        // the queue half-updated.
        crate::sync::lock(&self.state)
    }

    /// Queues `job`, waiting while the queue is full; gives it back when
    /// the queue is closed.
    #[cfg_attr(not(feature = "sqlite"), allow(dead_code))]
    pub(crate) fn push(&self, job: T) -> Result<(), T> {
        let mut state = self.lock();
        while !state.closed && state.jobs.len() >= self.max {
            state.pushers_waiting += 1;
            state = crate::sync::wait(&self.not_full, state);
            state.pushers_waiting -= 1;
        }
        if state.closed {
            return Err(job);
        }
        state.jobs.push_back(job);
        self.wake_takers(state, 1);
        Ok(())
    }

    /// Wakes up to `jobs` waiting consumers not already signalled.
    fn wake_takers(&self, mut state: MutexGuard<'_, State<T>>, jobs: usize) {
        let idle = state.takers_waiting.saturating_sub(state.wakes_sent);
        let wake = jobs.min(idle);
        state.wakes_sent += wake;
        drop(state);
        for _ in 0..wake {
            self.not_empty.notify_one();
        }
    }

    /// Queues `job` unless the queue is full or closed (gives it back
    /// then), without waking a waiting consumer until
    /// [`WriteQueue::release_held`]: jobs queued one after another (an
    /// event loop's turn) wake it once, and it takes them as one group. A
    /// consumer that is not waiting takes them as usual.
    pub(crate) fn try_push_held(&self, job: T) -> Result<(), T> {
        let mut state = self.lock();
        if state.closed || state.jobs.len() >= self.max {
            return Err(job);
        }
        state.jobs.push_back(job);
        state.held += 1;
        Ok(())
    }

    /// Wakes consumers for the jobs [`WriteQueue::try_push_held`] queued.
    pub(crate) fn release_held(&self) {
        let mut state = self.lock();
        let held = std::mem::take(&mut state.held);
        if held > 0 {
            self.wake_takers(state, held);
        }
    }

    /// Waits for a job, then moves up to `most` queued jobs into `into`
    /// (in order). `false` once the queue is closed and empty.
    pub(crate) fn take(&self, into: &mut Vec<T>, most: usize) -> bool {
        let mut state = self.lock();
        while state.jobs.is_empty() && !state.closed {
            state.takers_waiting += 1;
            state = crate::sync::wait(&self.not_empty, state);
            state.takers_waiting -= 1;
            state.wakes_sent = state.wakes_sent.saturating_sub(1);
        }
        if state.jobs.is_empty() {
            return false;
        }
        let n = state.jobs.len().min(most.max(1));
        into.extend(state.jobs.drain(..n));
        state.held = state.held.min(state.jobs.len());
        if state.jobs.is_empty() && state.jobs.capacity() > KEEP_CAPACITY {
            state.jobs.shrink_to(KEEP_CAPACITY);
        }
        let wake = state.pushers_waiting > 0;
        drop(state);
        if wake {
            self.not_full.notify_all();
        }
        true
    }

    /// How many jobs wait now.
    pub(crate) fn depth(&self) -> usize {
        self.lock().jobs.len()
    }

    /// Refuses further jobs; those already queued are still taken.
    pub(crate) fn close(&self) {
        self.lock().closed = true;
        self.not_empty.notify_all();
        self.not_full.notify_all();
    }

    /// Whether [`WriteQueue::close`] was called.
    #[cfg_attr(not(feature = "sqlite"), allow(dead_code))]
    pub(crate) fn is_closed(&self) -> bool {
        self.lock().closed
    }
}

/// Held by the consumer: when it stops, however it stops (a panic
/// included), the queue is closed and the jobs still in it are dropped, so
/// their callers get an error instead of waiting for ever.
pub(crate) struct CloseOnDrop<'q, T>(pub(crate) &'q WriteQueue<T>);

impl<T> Drop for CloseOnDrop<'_, T> {
    fn drop(&mut self) {
        self.0.close();
        let mut rest = Vec::new();
        while self.0.take(&mut rest, usize::MAX) {
            rest.clear();
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    use std::time::Duration;

    #[test]
    fn hands_out_jobs_in_order_in_groups() {
        let q = WriteQueue::new(10);
        for i in 0..5 {
            q.push(i).unwrap();
        }
        let mut got = Vec::new();
        assert!(q.take(&mut got, 3));
        assert_eq!(got, [0, 1, 2]);
        got.clear();
        assert!(q.take(&mut got, 3));
        assert_eq!(got, [3, 4]);
    }

    #[test]
    fn a_full_queue_makes_the_caller_wait() {
        let q = Arc::new(WriteQueue::new(2));
        q.push(1).unwrap();
        q.push(2).unwrap();
        let pushed = Arc::new(AtomicBool::new(false));
        let t = {
            let (q, pushed) = (Arc::clone(&q), Arc::clone(&pushed));
            std::thread::spawn(move || {
                q.push(3).unwrap();
                pushed.store(true, Ordering::SeqCst);
            })
        };
        std::thread::sleep(Duration::from_millis(50));
        assert!(!pushed.load(Ordering::SeqCst), "pushed into a full queue");
        let mut got = Vec::new();
        assert!(q.take(&mut got, 1));
        t.join().unwrap();
        assert!(pushed.load(Ordering::SeqCst));
        assert!(q.take(&mut got, 10));
        assert_eq!(got, [1, 2, 3]);
    }

    #[test]
    fn closing_drains_what_is_queued_and_refuses_more() {
        let q = WriteQueue::new(4);
        q.push("a").unwrap();
        q.close();
        assert!(q.is_closed());
        assert_eq!(q.push("b"), Err("b"));
        let mut got = Vec::new();
        assert!(q.take(&mut got, 10));
        assert_eq!(got, ["a"]);
        assert!(!q.take(&mut got, 10));
    }

    #[test]
    fn held_jobs_wake_a_waiting_taker_only_when_released() {
        let q = Arc::new(WriteQueue::new(10));
        let taker = {
            let q = Arc::clone(&q);
            std::thread::spawn(move || {
                let mut got = Vec::new();
                assert!(q.take(&mut got, 10));
                got
            })
        };
        // The taker waits.
        while crate::sync::lock(&q.state).takers_waiting == 0 {
            std::thread::sleep(Duration::from_millis(1));
        }
        q.try_push_held(1).unwrap();
        q.try_push_held(2).unwrap();
        std::thread::sleep(Duration::from_millis(50));
        assert!(!taker.is_finished(), "woken before the release");
        q.release_held();
        // Both jobs, taken together.
        assert_eq!(taker.join().unwrap(), [1, 2]);
        // Held jobs are still taken by a consumer that does not wait.
        q.try_push_held(3).unwrap();
        let mut got = Vec::new();
        assert!(q.take(&mut got, 10));
        assert_eq!(got, [3]);
        q.release_held();
        assert_eq!(crate::sync::lock(&q.state).held, 0);
    }

    #[test]
    fn closing_wakes_a_waiting_taker_and_a_waiting_pusher() {
        let q = Arc::new(WriteQueue::<u8>::new(1));
        let taker = {
            let q = Arc::clone(&q);
            std::thread::spawn(move || q.take(&mut Vec::new(), 1))
        };
        std::thread::sleep(Duration::from_millis(20));
        q.close();
        assert!(!taker.join().unwrap());

        let q = Arc::new(WriteQueue::new(1));
        q.push(1u8).unwrap();
        let pusher = {
            let q = Arc::clone(&q);
            std::thread::spawn(move || q.push(2))
        };
        std::thread::sleep(Duration::from_millis(20));
        q.close();
        assert_eq!(pusher.join().unwrap(), Err(2));
    }

    #[test]
    fn a_consumer_that_dies_closes_the_queue_and_drops_what_waits() {
        let q = Arc::new(WriteQueue::new(8));
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        q.push(tx).unwrap();
        let consumer = {
            let q = Arc::clone(&q);
            std::thread::spawn(move || {
                let _guard = CloseOnDrop(&*q);
                panic!("the consumer failed");
            })
        };
        assert!(consumer.join().is_err());
        // The queued job was dropped: its caller is not left waiting.
        assert!(rx.recv().is_err());
        assert!(q.is_closed());
        let (tx, _rx) = std::sync::mpsc::channel::<()>();
        assert!(q.push(tx).is_err());
    }

    #[test]
    fn an_emptied_queue_gives_back_a_burst_s_memory() {
        let q = WriteQueue::new(10_000);
        for i in 0..5_000 {
            q.push(i).unwrap();
        }
        let mut got = Vec::new();
        assert!(q.take(&mut got, 10_000));
        assert_eq!(got.len(), 5_000);
        assert!(q.lock().jobs.capacity() <= KEEP_CAPACITY);
    }
}
