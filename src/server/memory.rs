//! One connection driven in memory: input delivered in pieces, one
//! readiness event per piece, output collected through a socket buffer of
//! limited room, and blocking handlers run on the calling thread. The
//! connection's behaviour tests and the `conn_bytes` fuzz target use it;
//! no socket or thread is involved.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::sync::Arc;
use std::time::Instant;

use crate::backend::work::{self, Work};
use crate::backend::{BackendError, Engine};
use crate::config::Config;
use crate::dispatch::{AppState, Routed};
use crate::endpoint::Continuation;
use crate::http::date::DateCache;
use crate::http::MessageLimits;
use crate::server::budget::Budget;
use crate::server::conn::{Conn, Cx, Jobs, Transport, Verdict};
use crate::server::handoff::Outcome;

/// Bytes the peer's socket buffer takes between two writability events.
const WRITE_ROOM: usize = 8 * 1024;
/// Bytes read per call, smaller than a server's, so pieces span reads.
const SCRATCH: usize = 4 * 1024;

/// The client's side of the socket, seen from the server.
#[derive(Debug, Default)]
pub(crate) struct MemStream {
    inbox: VecDeque<u8>,
    eof: bool,
    out: Vec<u8>,
    room: usize,
    write_closed: bool,
}

impl Read for MemStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.inbox.is_empty() {
            return if self.eof {
                Ok(0)
            } else {
                Err(io::ErrorKind::WouldBlock.into())
            };
        }
        let n = buf.len().min(self.inbox.len());
        for (slot, b) in buf.iter_mut().zip(self.inbox.drain(..n)) {
            *slot = b;
        }
        Ok(n)
    }
}

impl Write for MemStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.write_closed {
            return Err(io::ErrorKind::BrokenPipe.into());
        }
        let n = buf.len().min(self.room);
        if n == 0 && !buf.is_empty() {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        self.room -= n;
        self.out.extend_from_slice(buf.get(..n).unwrap_or_default());
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Transport for MemStream {
    fn shutdown_write(&mut self) -> io::Result<()> {
        self.write_closed = true;
        Ok(())
    }
}

/// Runs each job at once and keeps its outcome for delivery.
struct InlineJobs {
    done: RefCell<Vec<Outcome>>,
}

impl Jobs for InlineJobs {
    fn blocking(&self, app: &Arc<AppState>, routed: Routed, _token: usize, _gen: u32) {
        let Routed {
            service,
            mut request,
            step,
        } = routed;
        let response = match step {
            Some(step) => app.execute_step(step, service.allowed(), &mut request),
            None => app.execute(&*service, &mut request),
        };
        self.done.borrow_mut().push(Outcome::Response(response));
    }

    fn query(
        &self,
        engine: Option<&Arc<dyn Engine>>,
        work: Work,
        then: Continuation,
        _token: usize,
        _gen: u32,
    ) {
        let out = match engine {
            Some(engine) => work::run(engine.as_backend(), work),
            None => Err(BackendError::Closed),
        };
        self.done.borrow_mut().push(Outcome::Resume { then, out });
    }
}

/// An application and one connection to it.
pub(crate) struct MemoryConn {
    app: Arc<AppState>,
    config: Arc<Config>,
    limits: MessageLimits,
    conn: Conn<MemStream>,
    date: DateCache,
    scratch: Vec<u8>,
    bodies: Budget,
    output: Budget,
    verdict: Verdict,
}

impl MemoryConn {
    /// A fresh connection to an application that others share.
    pub(crate) fn shared(app: Arc<AppState>, config: Arc<Config>) -> MemoryConn {
        let body_budget = config.limits.max_buffered_body_bytes;
        let output_budget = config.limits.max_unsent_bytes;
        let conn = Conn::new(
            MemStream::default(),
            None,
            1,
            Instant::now(),
            config.timeouts.idle,
        );
        MemoryConn {
            limits: config.limits.message(),
            app,
            config,
            conn,
            date: DateCache::new(),
            scratch: vec![0; SCRATCH],
            bodies: Budget::new(body_budget),
            output: Budget::new(output_budget),
            verdict: Verdict::Open,
        }
    }

    /// Delivers `bytes` as one readiness event and runs until nothing more
    /// can happen without the client.
    pub(crate) fn feed(&mut self, bytes: &[u8]) -> &Verdict {
        self.conn.stream_mut().inbox.extend(bytes);
        self.conn.mark_readable(false);
        self.pump()
    }

    /// Ends the client's input and runs until nothing more can happen.
    pub(crate) fn finish(&mut self) -> &Verdict {
        self.conn.stream_mut().eof = true;
        self.conn.mark_readable(true);
        self.pump()
    }

    /// Everything the server wrote so far.
    pub(crate) fn output(&mut self) -> &[u8] {
        &self.conn.stream_mut().out
    }

    /// Whether the server closed the connection.
    pub(crate) fn is_closed(&self) -> bool {
        self.verdict == Verdict::Close
    }

    fn pump(&mut self) -> &Verdict {
        let jobs = InlineJobs {
            done: RefCell::new(Vec::new()),
        };
        loop {
            if self.verdict == Verdict::Close {
                break;
            }
            let written = self.conn.stream_mut().out.len();
            self.conn.stream_mut().room = WRITE_ROOM;
            let mut cx = Cx {
                app: &self.app,
                config: &self.config,
                limits: &self.limits,
                jobs: &jobs,
                local: None,
                bodies: &self.bodies,
                output: &self.output,
                token: 0,
                date: self.date.as_bytes(),
                scratch: &mut self.scratch,
                now: Instant::now(),
                draining: false,
            };
            self.verdict = self.conn.drive(&mut cx);
            let done: Vec<Outcome> = jobs.done.borrow_mut().drain(..).collect();
            let delivered = !done.is_empty();
            for outcome in done {
                if self.verdict == Verdict::Open {
                    self.verdict = match outcome {
                        Outcome::Response(response) => self.conn.complete(response, &mut cx),
                        Outcome::Resume { then, out } => self.conn.resume(then, out, &mut cx),
                    };
                }
            }
            if !delivered && self.conn.stream_mut().out.len() == written {
                break;
            }
        }
        &self.verdict
    }
}
