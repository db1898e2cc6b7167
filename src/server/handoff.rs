//! How an event loop hands requests to other threads — the worker pool,
//! or the database's own threads — and gets their answers back: each
//! answer is sent to the loop's queue and the loop is woken.

use std::cell::RefCell;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::Sender;
use std::sync::Arc;
use std::time::Instant;

use mio::{Registry, Token, Waker};

use crate::backend::work::{Callback, LoopDriver, LoopSetup, Work, LOOP_DRIVER_TOKENS};
use crate::backend::{BackendError, Engine, WriteOutput};
use crate::dispatch::{AppState, Routed};
use crate::endpoint::Continuation;
use crate::http::Response;
use crate::server::conn::Jobs;
use crate::server::worker::{Job, Pool};

/// Where answers go: the owning event loop's queue and waker.
#[derive(Clone)]
pub(crate) struct ReplyTo {
    pub(crate) tx: Sender<Done>,
    pub(crate) waker: Arc<Waker>,
    /// A wake is on its way that the loop has not yet answered by taking
    /// the queue's answers ([`ReplyTo::taking`]): answers queued meanwhile
    /// need no wake of their own (a group of writes answered together
    /// wakes the loop once).
    woken: Arc<AtomicBool>,
}

impl ReplyTo {
    pub(crate) fn new(tx: Sender<Done>, waker: Arc<Waker>) -> ReplyTo {
        ReplyTo {
            tx,
            waker,
            woken: Arc::new(AtomicBool::new(false)),
        }
    }

    /// Queues `done` for the event loop and wakes it unless a wake is
    /// already on its way. The loop may be gone at shutdown; then nobody
    /// is left to answer.
    pub(crate) fn deliver(&self, done: Done) {
        // The swap orders the send before the loop's swap in
        // [`ReplyTo::taking`]: if it sees a wake on its way, the loop's
        // next look at the queue comes after this send.
        if self.tx.send(done).is_ok() && !self.woken.swap(true, Ordering::AcqRel) {
            let _ = self.waker.wake();
        }
    }

    /// Called by the loop before it takes the queue's answers: answers
    /// queued from now on wake it again.
    pub(crate) fn taking(&self) {
        self.woken.swap(false, Ordering::AcqRel);
    }
}

/// An answer for connection `token` (generation `gen`, so it never reaches
/// a later connection that reused the slot).
pub(crate) struct Done {
    pub(crate) token: usize,
    pub(crate) gen: u32,
    pub(crate) outcome: Outcome,
}

/// What comes back to the event loop.
pub(crate) enum Outcome {
    /// A worker's response.
    Response(Response),
    /// Database work's result, for the event loop to make the answer.
    Resume {
        then: Continuation,
        out: Result<WriteOutput, BackendError>,
    },
}

/// One event loop's ways out: the worker pool, and the database.
pub(crate) struct Handoff {
    pub(crate) pool: Arc<Pool>,
    pub(crate) reply: ReplyTo,
    /// The loop's own database connections, if its database gives them.
    pub(crate) drivers: RefCell<Drivers>,
    /// Databases given work since the last [`Handoff::flush`].
    pub(crate) unflushed: RefCell<Vec<Arc<dyn Engine>>>,
}

impl Handoff {
    /// Wakes the threads of every database given work since the last
    /// flush ([`Engine::flush`]); called before the loop waits.
    pub(crate) fn flush(&self) {
        // A flush only wakes threads: nothing it runs comes back here.
        for engine in self.unflushed.borrow_mut().drain(..) {
            engine.flush();
        }
    }
}

/// An event loop's [`LoopDriver`]s: the one for the database new work
/// goes to, and one whose database a reload replaced, kept until its
/// statements are answered. They register sockets under two ranges of
/// tokens from `first_token`, in turn.
pub(crate) struct Drivers {
    current: Option<(Arc<dyn Engine>, Box<dyn LoopDriver>)>,
    retired: Option<Box<dyn LoopDriver>>,
    first_token: usize,
    made: usize,
}

impl Drivers {
    pub(crate) fn new(first_token: usize) -> Drivers {
        Drivers {
            current: None,
            retired: None,
            first_token,
            made: 0,
        }
    }

    /// Gives the loop connections of `engine`'s, if it has them, in place
    /// of the current ones (retired while statements are in flight).
    pub(crate) fn attach(
        &mut self,
        engine: Option<&Arc<dyn Engine>>,
        registry: &Registry,
        waker: &Arc<Waker>,
        loops: usize,
    ) {
        if let Some((_, mut old)) = self.current.take() {
            if old.in_flight() == 0 {
                old.close();
            } else if let Some(mut older) = self.retired.replace(old) {
                older.close();
            }
        }
        let Some(engine) = engine else { return };
        let Ok(registry) = registry.try_clone() else {
            return;
        };
        self.made += 1;
        let setup = LoopSetup {
            registry,
            first_token: self.first_token + (self.made % 2) * LOOP_DRIVER_TOKENS,
            waker: Arc::clone(waker),
            loops,
        };
        self.current = engine
            .loop_driver(setup)
            .map(|driver| (Arc::clone(engine), driver));
    }

    fn each(&mut self) -> impl Iterator<Item = &mut Box<dyn LoopDriver>> {
        self.current
            .as_mut()
            .map(|(_, d)| d)
            .into_iter()
            .chain(self.retired.as_mut())
    }

    /// Passes on a readiness event; false when no driver owns `token`.
    pub(crate) fn on_event(&mut self, token: Token) -> bool {
        match self.each().find(|d| d.owns(token)) {
            Some(d) => {
                d.on_event(token);
                true
            }
            None => false,
        }
    }

    /// Drives whatever is ready; false when nothing was.
    pub(crate) fn poll(&mut self, now: Instant) -> bool {
        let mut ran = false;
        for d in self.each() {
            if d.has_ready() {
                d.poll(now);
                ran = true;
            }
        }
        if self.retired.as_ref().is_some_and(|d| d.in_flight() == 0) {
            if let Some(mut d) = self.retired.take() {
                d.close();
            }
        }
        ran
    }

    pub(crate) fn has_ready(&mut self) -> bool {
        self.each().any(|d| d.has_ready())
    }

    pub(crate) fn sweep(&mut self, now: Instant) {
        for d in self.each() {
            d.sweep(now);
        }
    }

    pub(crate) fn close(&mut self) {
        for d in self.each() {
            d.close();
        }
        self.current = None;
        self.retired = None;
    }
}

impl Jobs for Handoff {
    fn blocking(&self, app: &Arc<AppState>, routed: Routed, token: usize, gen: u32) {
        self.pool.submit(Job {
            app: Arc::clone(app),
            routed,
            token,
            gen,
            reply: self.reply.clone(),
        });
    }

    fn query(
        &self,
        engine: Option<&Arc<dyn Engine>>,
        work: Work,
        then: Continuation,
        token: usize,
        gen: u32,
    ) {
        if let Some((own, driver)) = self.drivers.borrow_mut().current.as_mut() {
            let ours = engine.is_some_and(|e| std::ptr::addr_eq(Arc::as_ptr(e), Arc::as_ptr(own)));
            if ours && driver.takes(&work) {
                // Answered on this loop's thread, while it polls the
                // driver: queued without waking it.
                let tx = self.reply.tx.clone();
                let done: Callback = Box::new(move |out| {
                    let _ = tx.send(Done {
                        token,
                        gen,
                        outcome: Outcome::Resume { then, out },
                    });
                });
                driver.submit(work, done, Instant::now());
                return;
            }
        }
        let reply = self.reply.clone();
        let done: Callback = Box::new(move |out| {
            reply.deliver(Done {
                token,
                gen,
                outcome: Outcome::Resume { then, out },
            });
        });
        match engine {
            Some(engine) => {
                engine.submit(work, done);
                let mut unflushed = self.unflushed.borrow_mut();
                if !unflushed.iter().any(|e| Arc::ptr_eq(e, engine)) {
                    unflushed.push(Arc::clone(engine));
                }
            }
            None => done(Err(BackendError::Closed)),
        }
    }
}
