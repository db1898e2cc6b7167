//! How an event loop hands requests to other threads — the worker pool,
//! or the database's own threads — and gets their answers back: each
//! answer is sent to the loop's queue and the loop is woken.

use std::sync::mpsc::Sender;
use std::sync::Arc;

use mio::Waker;

use crate::backend::work::{Callback, Work};
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
}

impl ReplyTo {
    /// Queues `done` for the event loop and wakes it. The loop may be gone
    /// at shutdown; then nobody is left to answer.
    pub(crate) fn deliver(&self, done: Done) {
        if self.tx.send(done).is_ok() {
            let _ = self.waker.wake();
        }
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
        let reply = self.reply.clone();
        let done: Callback = Box::new(move |out| {
            reply.deliver(Done {
                token,
                gen,
                outcome: Outcome::Resume { then, out },
            });
        });
        match engine {
            Some(engine) => engine.submit(work, done),
            None => done(Err(BackendError::Closed)),
        }
    }
}
