//! The queue in front of a database's single writer: bounded (a caller
//! waits while it is full), closable (queued jobs are still handed out,
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
}

/// A bounded multi-producer, single-consumer job queue.
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
            state = crate::sync::wait(&self.not_full, state);
        }
        if state.closed {
            return Err(job);
        }
        state.jobs.push_back(job);
        drop(state);
        self.not_empty.notify_one();
        Ok(())
    }

    /// Queues `job` unless the queue is full or closed; gives it back then.
    pub(crate) fn try_push(&self, job: T) -> Result<(), T> {
        let mut state = self.lock();
        if state.closed || state.jobs.len() >= self.max {
            return Err(job);
        }
        state.jobs.push_back(job);
        drop(state);
        self.not_empty.notify_one();
        Ok(())
    }

    /// Waits for a job, then moves up to `most` queued jobs into `into`
    /// (in order). `false` once the queue is closed and empty.
    pub(crate) fn take(&self, into: &mut Vec<T>, most: usize) -> bool {
        let mut state = self.lock();
        while state.jobs.is_empty() && !state.closed {
            state = crate::sync::wait(&self.not_empty, state);
        }
        if state.jobs.is_empty() {
            return false;
        }
        let n = state.jobs.len().min(most.max(1));
        into.extend(state.jobs.drain(..n));
        if state.jobs.is_empty() && state.jobs.capacity() > KEEP_CAPACITY {
            state.jobs.shrink_to(KEEP_CAPACITY);
        }
        drop(state);
        self.not_full.notify_all();
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
