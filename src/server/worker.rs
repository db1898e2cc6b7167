//! The handler thread pool. Reactors hand it requests whose handlers may
//! block (custom endpoints, work the database does not queue, reads too
//! slow for an event loop); each worker runs the request under
//! `catch_unwind`, sends the response back to the reactor that owns the
//! connection, and wakes it.

use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;

use crate::dispatch::{AppState, Routed};
use crate::log::Logger;
use crate::server::handoff::{Done, Outcome, ReplyTo};
use crate::server::{supervise, Shared};

pub(crate) struct Job {
    /// The application the request was admitted by.
    pub(crate) app: Arc<AppState>,
    pub(crate) routed: Routed,
    pub(crate) token: usize,
    pub(crate) gen: u32,
    pub(crate) reply: ReplyTo,
}

struct Queue {
    jobs: VecDeque<Job>,
    closed: bool,
}

/// A fixed set of handler threads sharing one queue.
pub(crate) struct Pool {
    queue: Arc<(Mutex<Queue>, Condvar)>,
    threads: Mutex<Vec<JoinHandle<()>>>,
}

impl Pool {
    /// Starts `size` threads; one whose loop panics (handlers are isolated,
    /// so only a defect of the pool's own) shuts the server down through
    /// `shared`, as an event loop's would.
    pub(crate) fn start(size: usize, log: Logger, shared: Arc<Shared>) -> std::io::Result<Pool> {
        let queue = Arc::new((
            Mutex::new(Queue {
                jobs: VecDeque::new(),
                closed: false,
            }),
            Condvar::new(),
        ));
        let mut threads = Vec::with_capacity(size);
        for i in 0..size.max(1) {
            let queue = Arc::clone(&queue);
            let shared = Arc::clone(&shared);
            let name = format!("lightapi-worker-{i}");
            let t = std::thread::Builder::new()
                .name(name.clone())
                .spawn(move || supervise(&name, &shared, &log, || run(&queue)))?;
            threads.push(t);
        }
        Ok(Pool {
            queue,
            threads: Mutex::new(threads),
        })
    }

    pub(crate) fn submit(&self, job: Job) {
        let (lock, cv) = &*self.queue;
        let mut q = crate::sync::lock(lock);
        q.jobs.push_back(job);
        drop(q);
        cv.notify_one();
    }

    /// Lets the queued jobs finish, then joins every thread.
    pub(crate) fn shutdown(&self) {
        let (lock, cv) = &*self.queue;
        crate::sync::lock(lock).closed = true;
        cv.notify_all();
        let threads = std::mem::take(&mut *crate::sync::lock(&self.threads));
        for t in threads {
            let _ = t.join();
        }
    }
}

fn run(queue: &(Mutex<Queue>, Condvar)) {
    let (lock, cv) = queue;
    loop {
        let job = {
            let mut q = crate::sync::lock(lock);
            loop {
                if let Some(job) = q.jobs.pop_front() {
                    break job;
                }
                if q.closed {
                    return;
                }
                q = crate::sync::wait(cv, q);
            }
        };
        let Job {
            app,
            routed,
            token,
            gen,
            reply,
        } = job;
        let Routed {
            service,
            mut request,
            step,
        } = routed;
        let response = match step {
            Some(step) => app.execute_step(step, service.allowed(), &mut request),
            None => app.execute(&*service, &mut request),
        };
        reply.deliver(Done {
            token,
            gen,
            outcome: Outcome::Response(response),
        });
    }
}
