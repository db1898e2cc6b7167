//! The event loop: one per thread, each with its own `mio::Poll`. It accepts
//! (up to the global connection cap), drives connections on readiness,
//! delivers worker responses woken through a `mio::Waker`, and sweeps
//! deadlines.
//!
//! Out of descriptors (`accept` failing with `EMFILE` or `ENFILE`), a loop
//! keeps a spare descriptor (an open `/dev/null`) to give up: it closes the
//! spare, accepts one queued client, answers it `503` and closes it, then
//! opens the spare again, so clients queued in the backlog are answered
//! instead of left waiting. Edge-triggered readiness does not fire again
//! for clients already queued, so while accepting is stalled the loop
//! retries it every [`ACCEPT_RETRY`] and at the end of every pass of the
//! loop, so right after any of its connections closes. Clients over the
//! connection cap are still answered `503` from a descriptor of their own
//! whenever one is free.

use std::cell::RefCell;
use std::fs::File;
use std::io::{self, Write};
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::mpsc::{channel, Receiver};
use std::sync::Arc;
use std::time::{Duration, Instant};

use mio::net::{TcpListener, UnixStream};
use mio::{Events, Interest, Poll, Token};

use crate::backend::LocalReader;
use crate::config::Config;
use crate::error::ApiError;
use crate::http::date::DateCache;
use crate::http::{MessageLimits, StatusCode};
use crate::server::conn::{Conn, Cx, Verdict};
use crate::server::handoff::{Done, Drivers, Handoff, Outcome, ReplyTo};
use crate::server::slab::Slab;
use crate::server::swap::{same_engine, AppView, Apps};
use crate::server::worker::Pool;
use crate::server::Shared;

type TcpConn = Conn<mio::net::TcpStream>;

const LISTENER: Token = Token(usize::MAX - 1);
const WAKER: Token = Token(usize::MAX - 2);
const SIGNAL: Token = Token(usize::MAX - 3);
/// The first token of the database sockets the loop drives itself
/// (`handoff::Drivers`), below the tokens above.
const DB_TOKENS: usize = usize::MAX - 1024;
/// Rounds of driving the database connections and delivering answers
/// per pass of the loop.
const SETTLE_ROUNDS: usize = 16;
/// Bytes read from a socket per call.
const READ_CHUNK: usize = 16 * 1024;
/// Refused sockets held open briefly at most, per reactor.
const MAX_REFUSED_HELD: usize = 64;
/// How long a refused socket is held.
const REFUSED_LINGER: Duration = Duration::from_millis(200);
/// How often accepting is retried while descriptors are exhausted.
const ACCEPT_RETRY: Duration = Duration::from_millis(20);
/// `errno` for "too many open files" in this process, and in the system
/// (the same values on Linux, the BSDs and macOS).
const EMFILE: i32 = 24;
const ENFILE: i32 = 23;
/// What the spare descriptor holds open.
const SPARE_PATH: &str = "/dev/null";

pub(crate) struct Reactor {
    poll: Poll,
    listener: Option<TcpListener>,
    signal: Option<UnixStream>,
    conns: Slab<TcpConn>,
    done_rx: Receiver<Done>,
    jobs: Handoff,
    /// The database's read connection for this event loop, if it gives one.
    local: Option<Box<dyn LocalReader>>,
    shared: Arc<Shared>,
    /// The server's current application, and this loop's view of it: the
    /// application new requests are served by.
    apps: Arc<Apps>,
    view: AppView,
    config: Arc<Config>,
    limits: MessageLimits,
    date: DateCache,
    scratch: Box<[u8]>,
    next_gen: u32,
    tick: Duration,
    refused: Vec<(mio::net::TcpStream, Instant)>,
    /// A descriptor given up to accept, answer and close a client when
    /// descriptors are exhausted; `None` while it cannot be reopened.
    spare: Option<File>,
    /// `accept` last failed for want of descriptors: retry it on a timer.
    accept_stalled: bool,
}

impl Reactor {
    pub(crate) fn new(
        listener: TcpListener,
        signal: Option<UnixStream>,
        shared: Arc<Shared>,
        apps: Arc<Apps>,
        config: Arc<Config>,
        pool: Arc<Pool>,
    ) -> io::Result<Reactor> {
        let view = AppView::new(&apps);
        let poll = Poll::new()?;
        let waker = Arc::new(mio::Waker::new(poll.registry(), WAKER)?);
        shared.add_waker(Arc::clone(&waker));
        let mut listener = listener;
        poll.registry()
            .register(&mut listener, LISTENER, Interest::READABLE)?;
        let mut signal = signal;
        if let Some(s) = signal.as_mut() {
            poll.registry().register(s, SIGNAL, Interest::READABLE)?;
        }
        let (tx, done_rx) = channel();
        let t = &config.timeouts;
        let shortest = [
            t.header_read,
            t.body_read,
            t.idle,
            t.write,
            t.send_rate_grace,
        ]
        .into_iter()
        .min()
        .unwrap_or(Duration::from_secs(1));
        let tick = (shortest / 4).clamp(Duration::from_millis(5), Duration::from_millis(500));
        Ok(Reactor {
            poll,
            listener: Some(listener),
            signal,
            conns: Slab::new(config.limits.max_connections),
            done_rx,
            local: view.app().engine.as_ref().and_then(|e| e.local_reader()),
            jobs: Handoff {
                pool,
                reply: ReplyTo::new(tx, waker),
                drivers: RefCell::new(Drivers::new(DB_TOKENS)),
                unflushed: RefCell::new(Vec::new()),
            },
            shared,
            apps,
            view,
            limits: config.limits.message(),
            config,
            date: DateCache::new(),
            scratch: vec![0u8; READ_CHUNK].into_boxed_slice(),
            next_gen: 0,
            tick,
            refused: Vec::new(),
            spare: File::open(SPARE_PATH).ok(),
            accept_stalled: false,
        })
    }

    /// Runs until shutdown has completed on this loop.
    pub(crate) fn run(mut self) {
        // Made on the loop's own thread, which its wakers tell apart.
        self.attach_drivers();
        let mut events = Events::with_capacity(1024);
        let mut next_sweep = Instant::now() + self.tick;
        let mut drain_deadline: Option<Instant> = None;
        loop {
            let now = Instant::now();
            let mut timeout = next_sweep.saturating_duration_since(now);
            if self.accept_stalled {
                timeout = timeout.min(ACCEPT_RETRY);
            }
            if self.jobs.drivers.get_mut().has_ready() {
                timeout = Duration::ZERO;
            }
            // No read snapshot is held while the loop waits, and the
            // database threads are woken for the work queued this turn.
            if let Some(local) = &self.local {
                local.release();
            }
            self.jobs.flush();
            if let Err(e) = self.poll.poll(&mut events, Some(timeout)) {
                if e.kind() != io::ErrorKind::Interrupted {
                    self.view
                        .app()
                        .log
                        .error(&format!("event loop failed: {e}"));
                    break;
                }
            }
            self.date.refresh();
            if let Some(old) = self.view.refresh(&self.apps) {
                self.swapped(&old);
            }
            for event in events.iter() {
                match event.token() {
                    LISTENER => self.accept(),
                    WAKER => {}
                    SIGNAL => self.on_signal(),
                    token if self.jobs.drivers.get_mut().on_event(token) => {}
                    Token(t) => {
                        if let Some(c) = self.conns.get_mut(t) {
                            if event.is_readable() || event.is_read_closed() || event.is_error() {
                                c.mark_readable(event.is_read_closed() || event.is_error());
                            }
                            self.drive(t);
                        }
                    }
                }
            }
            self.settle();
            if self.shared.is_shutting_down() && drain_deadline.is_none() {
                drain_deadline = Some(Instant::now() + self.config.timeouts.shutdown);
                self.begin_drain();
            }
            let now = Instant::now();
            if now >= next_sweep {
                self.jobs.drivers.get_mut().sweep(now);
                self.settle();
                self.sweep(now);
                next_sweep = now + self.tick;
            }
            if self.accept_stalled {
                self.accept();
            }
            if let Some(deadline) = drain_deadline {
                if self.conns.is_empty() || now >= deadline {
                    break;
                }
            }
        }
        let tokens: Vec<usize> = self.conns.tokens().collect();
        for t in tokens {
            self.close(t);
        }
        self.jobs.flush();
        self.jobs.drivers.get_mut().close();
    }

    /// The loop's own database connections for the application it serves.
    fn attach_drivers(&mut self) {
        let engine = self.view.app().engine.as_ref();
        self.jobs.drivers.get_mut().attach(
            engine,
            self.poll.registry(),
            &self.jobs.reply.waker,
            self.config.server.reactors.max(1),
        );
    }

    /// Drives the loop's own database connections and delivers answers
    /// until neither has anything left: an answer delivered may start a
    /// statement, and a statement started must be written before the loop
    /// waits.
    /// Bounded, so connections keep their turn; what is left makes the
    /// next wait for events return at once.
    fn settle(&mut self) {
        for _ in 0..SETTLE_ROUNDS {
            let ran = self.jobs.drivers.get_mut().poll(Instant::now());
            let delivered = self.deliver();
            if !ran && !delivered {
                break;
            }
        }
    }

    fn cx(&mut self, token: usize) -> (Cx<'_>, Option<&mut TcpConn>) {
        let cx = Cx {
            app: self.view.app(),
            config: &self.config,
            limits: &self.limits,
            jobs: &self.jobs,
            local: self.local.as_deref(),
            bodies: &self.shared.bodies,
            output: &self.shared.output,
            token,
            date: self.date.as_bytes(),
            scratch: &mut self.scratch,
            now: Instant::now(),
            draining: self.shared.is_shutting_down(),
        };
        (cx, self.conns.get_mut(token))
    }

    fn drive(&mut self, token: usize) {
        let (mut cx, conn) = self.cx(token);
        let verdict = conn.map_or(Verdict::Close, |c| c.drive(&mut cx));
        if verdict == Verdict::Close {
            self.close(token);
        }
    }

    /// Delivers the answers that came back; false when there were none.
    fn deliver(&mut self) -> bool {
        let mut any = false;
        self.jobs.reply.taking();
        while let Ok(done) = self.done_rx.try_recv() {
            any = true;
            let (mut cx, conn) = self.cx(done.token);
            let Some(conn) = conn.filter(|c| c.gen == done.gen) else {
                continue;
            };
            let verdict = match done.outcome {
                Outcome::Response(response) => conn.complete(response, &mut cx),
                Outcome::Resume { then, out } => conn.resume(then, out, &mut cx),
            };
            if verdict == Verdict::Close {
                self.close(done.token);
            }
        }
        any
    }

    fn accept(&mut self) {
        loop {
            let Some(listener) = self.listener.as_ref() else {
                return;
            };
            match listener.accept() {
                Ok((stream, peer)) => self.admit(stream, peer),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    self.accept_stalled = false;
                    return;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if matches!(e.raw_os_error(), Some(EMFILE | ENFILE)) => {
                    if !self.accept_stalled {
                        self.view.app().log.warn(&format!(
                            "accept failed: {e}; answering queued clients 503 \
                             until descriptors free"
                        ));
                    }
                    self.accept_stalled = true;
                    if !self.shed_one() {
                        return;
                    }
                }
                Err(e) => {
                    // Keep serving the open connections.
                    self.view.app().log.warn(&format!("accept failed: {e}"));
                    return;
                }
            }
        }
    }

    /// Out of descriptors: gives up the spare to accept one queued client,
    /// answers it `503`, closes it and takes the spare back. False when
    /// there was no spare, or no client could be accepted with it.
    fn shed_one(&mut self) -> bool {
        let Some(spare) = self.spare.take() else {
            self.spare = File::open(SPARE_PATH).ok();
            return false;
        };
        drop(spare);
        let accepted = self.listener.as_ref().map(TcpListener::accept);
        let shed = match accepted {
            Some(Ok((mut stream, peer))) => {
                // Read what has arrived, so closing right away is less
                // likely to reset the answer away; the socket cannot be
                // held, as its descriptor is the spare's.
                drain(&mut stream);
                refuse(&mut stream, self.date.as_bytes());
                drain(&mut stream);
                self.view
                    .app()
                    .log
                    .warn(&format!("out of descriptors; refused {peer}"));
                true
            }
            _ => false,
        };
        self.spare = File::open(SPARE_PATH).ok();
        shed
    }

    fn admit(&mut self, mut stream: mio::net::TcpStream, peer: SocketAddr) {
        let max = self.config.limits.max_connections;
        if self.shared.open.fetch_add(1, Ordering::AcqRel) >= max || self.conns.is_full() {
            self.shared.open.fetch_sub(1, Ordering::AcqRel);
            refuse(&mut stream, self.date.as_bytes());
            // Keep the refused socket a moment and drain what the client
            // sent, so closing it does not reset the 503 away.
            if self.refused.len() < MAX_REFUSED_HELD {
                drain(&mut stream);
                self.refused.push((stream, Instant::now() + REFUSED_LINGER));
            }
            self.view
                .app()
                .log
                .warn(&format!("connection cap {max} reached; refused {peer}"));
            return;
        }
        let _ = stream.set_nodelay(true);
        self.next_gen = self.next_gen.wrapping_add(1);
        let conn = Conn::new(
            stream,
            Some(peer),
            self.next_gen,
            Instant::now(),
            self.config.timeouts.idle,
        );
        let Some(token) = self.conns.insert(conn) else {
            self.shared.open.fetch_sub(1, Ordering::AcqRel);
            return;
        };
        if let Some(metrics) = &self.view.app().metrics {
            metrics.connection_opened();
        }
        let registered = self.conns.get_mut(token).map(|c| {
            self.poll.registry().register(
                c.stream_mut(),
                Token(token),
                Interest::READABLE | Interest::WRITABLE,
            )
        });
        match registered {
            Some(Ok(())) => self.drive(token),
            _ => self.close(token),
        }
    }

    fn close(&mut self, token: usize) {
        if let Some(mut conn) = self.conns.remove(token) {
            let _ = self.poll.registry().deregister(conn.stream_mut());
            self.shared.open.fetch_sub(1, Ordering::AcqRel);
            if let Some(metrics) = &self.view.app().metrics {
                metrics.connection_closed();
            }
            self.shared.bodies.give_back(conn.reserved_body_bytes());
            self.shared.output.give_back(conn.held_output_bytes());
        }
    }

    fn sweep(&mut self, now: Instant) {
        self.refused.retain_mut(|(stream, until)| {
            drain(stream);
            now < *until
        });
        let tokens: Vec<usize> = self.conns.tokens().collect();
        for token in tokens {
            let (mut cx, conn) = self.cx(token);
            cx.now = now;
            if let Some(conn) = conn {
                if conn.on_timer(&mut cx) == Verdict::Close {
                    self.close(token);
                }
            }
        }
    }

    fn on_signal(&mut self) {
        if let Some(s) = self.signal.as_mut() {
            let mut buf = [0u8; 64];
            while let Ok(n) = std::io::Read::read(s, &mut buf) {
                if n == 0 {
                    break;
                }
            }
        }
        self.view.app().log.info("signal received; shutting down");
        self.shared.shutdown();
    }

    /// The server swapped in a new application (this loop serves it
    /// from now on) in place of `old`: requests in flight keep `old`
    /// until answered, and a new database gets this loop a read
    /// connection of its own.
    fn swapped(&mut self, old: &Arc<crate::dispatch::AppState>) {
        let same_database = same_engine(old, self.view.app());
        for token in self.conns.tokens().collect::<Vec<_>>() {
            if let Some(conn) = self.conns.get_mut(token) {
                conn.pin(old, same_database);
            }
        }
        if !same_database {
            self.attach_drivers();
            self.local = self
                .view
                .app()
                .engine
                .as_ref()
                .and_then(|e| e.local_reader());
        }
    }

    fn begin_drain(&mut self) {
        self.accept_stalled = false;
        if let Some(mut l) = self.listener.take() {
            let _ = self.poll.registry().deregister(&mut l);
        }
        let tokens: Vec<usize> = self.conns.tokens().collect();
        for token in tokens {
            let (mut cx, conn) = self.cx(token);
            if let Some(conn) = conn {
                if conn.begin_drain(&mut cx) == Verdict::Close {
                    self.close(token);
                }
            }
        }
    }
}

/// Reads and discards whatever a refused client has sent so far.
fn drain(stream: &mut mio::net::TcpStream) {
    let mut buf = [0u8; 1024];
    for _ in 0..16 {
        match std::io::Read::read(stream, &mut buf) {
            Ok(n) if n > 0 => {}
            _ => break,
        }
    }
}

/// Answers a client over the connection cap with `503` and closes.
fn refuse(stream: &mut mio::net::TcpStream, date: &[u8]) {
    let mut out = Vec::with_capacity(256);
    ApiError::status(
        StatusCode::SERVICE_UNAVAILABLE,
        "the server is at its connection limit; retry shortly",
    )
    .into_response()
    .with_header("Retry-After", "1")
    .with_header("X-Refused", StatusCode::SERVICE_UNAVAILABLE.reason())
    .write_into(&mut out, date, false, false);
    let _ = stream.write(&out);
    let _ = stream.shutdown(std::net::Shutdown::Write);
}
