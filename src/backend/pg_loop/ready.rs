//! The event loop's list of tasks to poll, and the wakers that add to it.
//!
//! A task woken on the loop's own thread (a statement's answer arriving
//! while the loop polls its connection, a request handed to a
//! connection) is only listed: the loop polls every listed task before it
//! waits again. Woken from any other thread, it is listed and the loop's
//! `mio::Waker` interrupts its wait.

use std::sync::{Arc, Mutex};
use std::task::{Wake, Waker};
use std::thread::ThreadId;

use crate::sync::lock;

/// Tasks to poll, by id, and how to reach the loop from elsewhere.
pub(crate) struct Ready {
    list: Mutex<Vec<u64>>,
    owner: ThreadId,
    interrupt: Box<dyn Fn() + Send + Sync>,
}

impl Ready {
    /// A list owned by the calling thread; `interrupt` wakes it from others.
    pub(crate) fn new(interrupt: Box<dyn Fn() + Send + Sync>) -> Arc<Ready> {
        Arc::new(Ready {
            list: Mutex::new(Vec::new()),
            owner: std::thread::current().id(),
            interrupt,
        })
    }

    /// Lists task `id`.
    pub(crate) fn push(&self, id: u64) {
        lock(&self.list).push(id);
        if std::thread::current().id() != self.owner {
            (self.interrupt)();
        }
    }

    /// Takes every listed task, in the order listed, into `into`.
    pub(crate) fn take(&self, into: &mut Vec<u64>) {
        into.append(&mut lock(&self.list));
    }

    pub(crate) fn is_empty(&self) -> bool {
        lock(&self.list).is_empty()
    }

    /// A waker listing task `id`.
    pub(crate) fn waker(self: &Arc<Ready>, id: u64) -> Waker {
        Waker::from(Arc::new(TaskWaker {
            id,
            ready: Arc::clone(self),
        }))
    }
}

struct TaskWaker {
    id: u64,
    ready: Arc<Ready>,
}

impl Wake for TaskWaker {
    fn wake(self: Arc<Self>) {
        self.ready.push(self.id);
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.ready.push(self.id);
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn counting() -> (Arc<Ready>, Arc<AtomicUsize>) {
        let interrupts = Arc::new(AtomicUsize::new(0));
        let seen = Arc::clone(&interrupts);
        let ready = Ready::new(Box::new(move || {
            seen.fetch_add(1, Ordering::SeqCst);
        }));
        (ready, interrupts)
    }

    #[test]
    fn waking_on_the_owner_thread_lists_without_interrupting() {
        let (ready, interrupts) = counting();
        let w = ready.waker(7);
        w.wake_by_ref();
        ready.waker(9).wake();
        let mut ids = Vec::new();
        ready.take(&mut ids);
        assert_eq!(ids, [7, 9]);
        assert!(ready.is_empty());
        assert_eq!(interrupts.load(Ordering::SeqCst), 0);
    }

    #[test]
    fn waking_from_another_thread_interrupts_the_loop() {
        let (ready, interrupts) = counting();
        let w = ready.waker(3);
        std::thread::spawn(move || w.wake()).join().unwrap();
        assert_eq!(interrupts.load(Ordering::SeqCst), 1);
        let mut ids = Vec::new();
        ready.take(&mut ids);
        assert_eq!(ids, [3]);
    }
}
