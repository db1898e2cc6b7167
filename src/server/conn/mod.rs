//! One client connection: an explicit state machine that owns its bounded
//! buffers, parses pipelined requests in order, and never lets a client
//! make it hold more than the configured limits.
//!
//! A request is admitted or refused from its head alone: a refused request
//! is answered without reading its body (and the connection closed, since
//! the unread body stands where the next request would start); only an
//! admitted one gets `100 Continue`, and its body is read under the
//! server-wide body budget.

mod request_id;
mod socket;

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::backend::work::Work;
use crate::backend::{BackendError, Engine, LocalReader, WriteOutput};
use crate::config::Config;
use crate::dispatch::{Admission, AppState, Routed, Run};
use crate::endpoint::{Continuation, Service};
use crate::error::ApiError;
use crate::http::body::BodyDecoder;
use crate::http::parse::{split_target, Framing, HeadLine};
use crate::http::ConnectionHeader;
use crate::http::{MessageLimits, Method, Request, Response, StatusCode, Version};
use crate::log::Access;
use crate::metrics::{InFlight, RouteId};
use crate::server::budget::Budget;
use request_id::{RequestId, FRESH_ID_BYTES};

/// How long a closing connection keeps draining input so the client sees
/// its response instead of a reset.
const LINGER: Duration = Duration::from_millis(500);
/// Most input a lingering connection discards before closing anyway.
const LINGER_MAX_BYTES: usize = 256 * 1024;
/// Buffers larger than this are released when a connection goes idle.
const IDLE_KEEP_CAPACITY: usize = 4096;
/// Bytes of output buffer a connection may hold without taking from the
/// server's output budget; a connection that needs more takes the rest
/// from it, so small responses cost no shared counter.
pub(crate) const OUTPUT_ALLOWANCE: usize = 16 * 1024;
/// Most bytes of empty lines tolerated before a request line.
pub(crate) const MAX_BLANK_LINE_BYTES: usize = 8;

/// What the connection is doing.
enum State {
    /// Waiting for, or reading, a request head.
    Head,
    /// Reading the body of the admitted request whose head was parsed into
    /// `Conn::req`; the body goes into `Conn::req.body`.
    Body {
        decoder: BodyDecoder,
        service: Arc<dyn Service>,
        pending: Pending,
    },
    /// The request is being handled elsewhere (a worker, or the database's
    /// threads); later requests wait their turn. `kept`: the request stayed
    /// in `Conn::req` (the database has its work) rather than going with a
    /// worker.
    Waiting { pending: Pending, kept: bool },
    /// Writing what is queued, then closing.
    Closing,
    /// Output finished and write side shut; discarding input until EOF.
    Lingering { until: Instant, discarded: usize },
}

/// What the access log, the metrics and the response writer need of a
/// request in flight.
pub(crate) struct Pending {
    method: Method,
    path: Option<String>,
    /// The route matched, for the metrics.
    route: RouteId,
    request_id: RequestId,
    /// Counts the request as in flight while the metrics are on.
    _in_flight: Option<InFlight>,
    head_only: bool,
    keep_alive: bool,
    /// An HTTP/1.0 request (persistence must be announced).
    http10: bool,
    started: Instant,
}

impl Pending {
    /// The same, closing the connection after the answer when `close`.
    fn closing_if(mut self, close: bool) -> Pending {
        self.keep_alive &= !close;
        self
    }
}

/// Why a connection is being dropped.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Keep it.
    Open,
    /// Close it now.
    Close,
}

/// The byte stream a connection reads and writes: a socket, or memory in
/// tests and fuzzing.
pub(crate) trait Transport: Read + Write {
    /// Closes the write direction: the peer reads the end of input.
    fn shutdown_write(&mut self) -> io::Result<()>;
}

impl Transport for mio::net::TcpStream {
    fn shutdown_write(&mut self) -> io::Result<()> {
        self.shutdown(Shutdown::Write)
    }
}

/// Where requests go that cannot be answered on the event loop, and how
/// their answers find their way back ([`Conn::complete`],
/// [`Conn::resume`]).
pub(crate) trait Jobs {
    /// Runs `routed` for connection `token` (generation `gen`) on a thread
    /// that may block, under `app` (the application it was admitted by).
    fn blocking(&self, app: &Arc<AppState>, routed: Routed, token: usize, gen: u32);
    /// Has `work` run by the threads of `engine` (the database of the
    /// application the request was admitted by); `then` makes the answer
    /// back on the event loop.
    fn query(
        &self,
        engine: Option<&Arc<dyn Engine>>,
        work: Work,
        then: Continuation,
        token: usize,
        gen: u32,
    );
}

/// What the reactor lends a connection while driving it.
pub(crate) struct Cx<'a> {
    /// The application new requests are served by.
    pub(crate) app: &'a Arc<AppState>,
    pub(crate) config: &'a Config,
    /// The limits of one request message, from `config`.
    pub(crate) limits: &'a MessageLimits,
    pub(crate) jobs: &'a dyn Jobs,
    /// The event loop's own read connection, if the database gives one.
    pub(crate) local: Option<&'a dyn LocalReader>,
    /// The body bytes all connections may hold together.
    pub(crate) bodies: &'a Budget,
    /// The output bytes all connections may hold together, beyond each
    /// one's [`OUTPUT_ALLOWANCE`].
    pub(crate) output: &'a Budget,
    pub(crate) token: usize,
    pub(crate) date: &'a [u8],
    pub(crate) scratch: &'a mut [u8],
    pub(crate) now: Instant,
    pub(crate) draining: bool,
}

pub(crate) struct Conn<S> {
    stream: S,
    peer: Option<SocketAddr>,
    pub(crate) gen: u32,
    rbuf: Vec<u8>,
    rpos: usize,
    wbuf: Vec<u8>,
    wpos: usize,
    state: State,
    /// The request being parsed; its buffers are reused by the next request
    /// unless a worker took it.
    req: Request,
    /// Edge-triggered readiness: reads may succeed until one says
    /// WouldBlock, or comes back short (below).
    maybe_readable: bool,
    /// The peer's end was reported closed: read on to the end of input.
    read_closed: bool,
    peer_eof: bool,
    /// When the current request head began arriving.
    head_started: Option<Instant>,
    /// Bytes of empty lines skipped before the current request line.
    blank_bytes: usize,
    /// Idle, header or body deadline.
    read_deadline: Option<Instant>,
    /// Deadline for a client that stopped reading our output.
    write_deadline: Option<Instant>,
    /// While output waits for the client: when the current window of the
    /// minimum send rate ends, and `bytes_written` when it began.
    send_window: Option<(Instant, u64)>,
    /// Bytes read from and written to the socket so far.
    bytes_read: u64,
    bytes_written: u64,
    /// Body bytes of the current request taken from the body budget.
    reserved: usize,
    /// Output buffer bytes beyond [`OUTPUT_ALLOWANCE`] taken from the
    /// output budget.
    held_output: usize,
    /// The application the request in flight was admitted by, when the
    /// server has swapped in another since: it finishes under this one.
    pinned: Option<Pinned>,
}

/// An application a request in flight keeps after the server swapped in
/// another.
struct Pinned {
    app: Arc<AppState>,
    /// Whether the event loop's read connection belongs to this
    /// application's database too.
    local: bool,
}

impl<S: Transport> Conn<S> {
    pub(crate) fn new(
        stream: S,
        peer: Option<SocketAddr>,
        gen: u32,
        now: Instant,
        idle: Duration,
    ) -> Conn<S> {
        Conn {
            stream,
            peer,
            gen,
            rbuf: Vec::new(),
            rpos: 0,
            wbuf: Vec::new(),
            wpos: 0,
            state: State::Head,
            req: Request::blank(),
            maybe_readable: true,
            read_closed: false,
            peer_eof: false,
            head_started: None,
            blank_bytes: 0,
            read_deadline: Some(now + idle),
            write_deadline: None,
            send_window: None,
            bytes_read: 0,
            bytes_written: 0,
            reserved: 0,
            held_output: 0,
            pinned: None,
        }
    }

    /// The server is swapping `old` out for another application: a
    /// request in flight (its body being read, or its answer awaited)
    /// keeps `old` until it is answered. `same_database`: the new
    /// application drives the same database.
    pub(crate) fn pin(&mut self, old: &Arc<AppState>, same_database: bool) {
        if self.pinned.is_none() && matches!(self.state, State::Body { .. } | State::Waiting { .. })
        {
            self.pinned = Some(Pinned {
                app: Arc::clone(old),
                local: same_database,
            });
        }
    }

    /// Body bytes this connection holds from the server's body budget (to
    /// give back when it closes).
    pub(crate) fn reserved_body_bytes(&self) -> usize {
        self.reserved
    }

    /// Output bytes this connection holds from the server's output budget
    /// (to give back when it closes).
    pub(crate) fn held_output_bytes(&self) -> usize {
        self.held_output
    }

    pub(crate) fn stream_mut(&mut self) -> &mut S {
        &mut self.stream
    }

    /// Notes a readiness event; `closed` when it also reported the peer's
    /// end of input.
    pub(crate) fn mark_readable(&mut self, closed: bool) {
        self.maybe_readable = true;
        self.read_closed |= closed;
    }

    fn unconsumed(&self) -> &[u8] {
        self.rbuf.get(self.rpos..).unwrap_or_default()
    }

    /// Whether the connection holds nothing: no partial request, no request
    /// in flight, no output pending. Such a connection may be closed at
    /// shutdown without losing anything.
    pub(crate) fn is_idle(&self) -> bool {
        matches!(self.state, State::Head)
            && self.unconsumed().is_empty()
            && self.wpos >= self.wbuf.len()
    }

    /// Reads, processes and writes until nothing more can happen now.
    pub(crate) fn drive(&mut self, cx: &mut Cx<'_>) -> Verdict {
        loop {
            // Lengths alone can repeat (a drained buffer refilled to the same
            // size), so the byte counters are part of "progress".
            let before = self.progress();
            if let Err(_e) = self.fill(cx) {
                return Verdict::Close;
            }
            self.process(cx);
            if self.flush(cx).is_err() {
                return Verdict::Close;
            }
            if let Some(v) = self.after_flush(cx) {
                return v;
            }
            if before == self.progress() {
                break;
            }
        }
        if self.peer_eof
            && !matches!(self.state, State::Waiting { .. })
            && self.wpos >= self.wbuf.len()
        {
            // The client is gone (or half-closed) and nothing is owed to it.
            return Verdict::Close;
        }
        self.update_deadlines(cx);
        Verdict::Open
    }

    fn progress(&self) -> (usize, usize, usize, usize, u64, u64) {
        let (r, w) = (self.bytes_read, self.bytes_written);
        (self.rbuf.len(), self.rpos, self.wbuf.len(), self.wpos, r, w)
    }

    /// Parses and dispatches every complete request in the input, in order,
    /// stopping at a request in flight or when output backs up.
    fn process(&mut self, cx: &mut Cx<'_>) {
        loop {
            if self.wbuf.len() - self.wpos > cx.config.limits.max_pending_write_bytes {
                return;
            }
            match &mut self.state {
                State::Head => {
                    // RFC 9112 §2.2: empty lines before a request line are
                    // ignored, but only a few, so they cannot keep a
                    // connection alive for ever.
                    let input = self.rbuf.get(self.rpos..).unwrap_or_default();
                    let blank = input
                        .iter()
                        .take_while(|&&b| b == b'\r' || b == b'\n')
                        .count();
                    if blank > 0 {
                        self.rpos += blank;
                        self.blank_bytes += blank;
                        if self.blank_bytes > MAX_BLANK_LINE_BYTES {
                            // No request line has been read: whatever
                            // follows, this answer carries its body (so it
                            // does not depend on how the input was split).
                            let e = ApiError::bad_request("too many empty lines");
                            self.refuse(e, false, cx);
                            return;
                        }
                    }
                    let input = self.rbuf.get(self.rpos..).unwrap_or_default();
                    if input.is_empty() {
                        if blank > 0 {
                            self.head_started = None;
                        }
                        return;
                    }
                    if self.head_started.is_none() {
                        self.head_started = Some(cx.now);
                    }
                    match self.req.parse_head(input, cx.limits) {
                        Ok(None) => {
                            if self.peer_eof {
                                // A truncated head will never complete.
                                self.fail(ApiError::bad_request("incomplete request head"), cx);
                            }
                            return;
                        }
                        Err(e) => {
                            self.fail(e.into(), cx);
                            return;
                        }
                        Ok(Some((line, used))) => {
                            self.rpos += used;
                            self.blank_bytes = 0;
                            let started = self.head_started.take().unwrap_or(cx.now);
                            self.begin(line, started, cx);
                        }
                    }
                }
                State::Body { decoder, .. } => {
                    let input = self.rbuf.get(self.rpos..).unwrap_or_default();
                    let body = self.req.body_mut();
                    if input.is_empty() {
                        if self.peer_eof {
                            self.fail(ApiError::bad_request("the request body ended early"), cx);
                        }
                        return;
                    }
                    match decoder.decode(input, body) {
                        Err(e) => {
                            self.fail(e.into(), cx);
                            return;
                        }
                        Ok(d) => {
                            self.rpos += d.consumed;
                            // A chunked body takes from the budget as it grows.
                            let len = body.len();
                            if len > self.reserved {
                                if !cx.bodies.try_take(len - self.reserved) {
                                    self.fail(over_budget(), cx);
                                    return;
                                }
                                self.reserved = len;
                            }
                            if !d.done {
                                return;
                            }
                            let State::Body {
                                service, pending, ..
                            } = std::mem::replace(&mut self.state, State::Head)
                            else {
                                return;
                            };
                            self.run(&service, pending, cx);
                        }
                    }
                }
                State::Waiting { .. } | State::Closing | State::Lingering { .. } => return,
            }
        }
    }

    /// Takes a parsed head: admits the request or answers it at once,
    /// then reads its body or runs it.
    fn begin(&mut self, line: HeadLine, started: Instant, cx: &mut Cx<'_>) {
        let app = cx.app;
        let has_body = line.framing != Framing::Empty;
        let mut pending = Pending {
            method: line.method,
            path: app
                .log
                .access_enabled()
                .then(|| self.req.path().to_string()),
            route: RouteId::UNMATCHED,
            request_id: RequestId::from_client(self.req.header("x-request-id")),
            _in_flight: app.metrics.as_ref().map(|m| m.begin_request()),
            head_only: line.method == Method::Head,
            // A refused request's body is not read, so nothing after it
            // can be: the connection closes after the answer.
            keep_alive: line.keep_alive && !cx.draining,
            http10: line.version == Version::Http10,
            started,
        };
        if let Err(e) = self.req.begin(&line, self.peer) {
            let pending = pending.closing_if(has_body);
            self.answer(ApiError::from(e).into_response(), pending, cx);
            return;
        }
        let service = match app.admit(&mut self.req, &mut pending.route) {
            Admission::Answer(response) => {
                self.answer(response, pending.closing_if(has_body), cx);
                return;
            }
            Admission::Proceed(service) => service,
        };
        let limits = cx.limits;
        let Some(decoder) =
            BodyDecoder::for_framing(line.framing, limits.max_body_bytes, limits.max_head_bytes)
        else {
            self.run(service, pending, cx);
            return;
        };
        if let Framing::Length(n) = line.framing {
            let n = usize::try_from(n).unwrap_or(usize::MAX);
            if !cx.bodies.try_take(n) {
                self.answer(over_budget().into_response(), pending.closing_if(true), cx);
                return;
            }
            self.reserved = n;
        }
        if line.expect_continue && self.rpos == self.rbuf.len() {
            self.wbuf
                .extend_from_slice(b"HTTP/1.1 100 Continue\r\n\r\n");
        }
        self.req.body_mut().clear();
        self.state = State::Body {
            decoder,
            service: Arc::clone(service),
            pending,
        };
    }

    /// Runs an admitted request whose body has arrived: answers it now, or
    /// hands it to the database's threads or a worker.
    fn run(&mut self, service: &Arc<dyn Service>, pending: Pending, cx: &mut Cx<'_>) {
        let (app, local) = match &self.pinned {
            Some(p) => (&p.app, cx.local.filter(|_| p.local)),
            None => (cx.app, cx.local),
        };
        match app.run(service, &mut self.req, local) {
            Run::Respond(response) => self.answer(response, pending, cx),
            Run::Query { work, then } => {
                cx.jobs
                    .query(app.engine.as_ref(), work, then, cx.token, self.gen);
                self.state = State::Waiting {
                    pending,
                    kept: true,
                };
            }
            Run::Worker(routed) => {
                cx.jobs.blocking(app, *routed, cx.token, self.gen);
                self.state = State::Waiting {
                    pending,
                    kept: false,
                };
            }
        }
    }

    /// Delivers a worker's response; then carries on with pipelined input.
    pub(crate) fn complete(&mut self, response: Response, cx: &mut Cx<'_>) -> Verdict {
        let State::Waiting { .. } = self.state else {
            return Verdict::Open;
        };
        let State::Waiting { pending, .. } = std::mem::replace(&mut self.state, State::Head) else {
            return Verdict::Open;
        };
        self.answer(response, pending, cx);
        self.drive(cx)
    }

    /// Answers the request whose database work is done, from its result;
    /// then carries on with pipelined input.
    pub(crate) fn resume(
        &mut self,
        then: Continuation,
        out: Result<WriteOutput, BackendError>,
        cx: &mut Cx<'_>,
    ) -> Verdict {
        let State::Waiting { kept: true, .. } = self.state else {
            return Verdict::Open;
        };
        let State::Waiting { pending, .. } = std::mem::replace(&mut self.state, State::Head) else {
            return Verdict::Open;
        };
        let app = self.pinned.as_ref().map_or(cx.app, |p| &p.app);
        let response = app.resume(&self.req, then, out);
        self.answer(response, pending, cx);
        self.drive(cx)
    }

    /// Queues the answer to the current request and forgets the request,
    /// keeping its buffers for the next one.
    fn answer(&mut self, response: Response, pending: Pending, cx: &mut Cx<'_>) {
        self.pinned = None;
        self.respond(&response, pending, cx);
        self.req.recycle(IDLE_KEEP_CAPACITY);
        cx.bodies.give_back(std::mem::take(&mut self.reserved));
    }

    /// Queues a response and logs it. A response the output budget cannot
    /// hold is replaced by a `503`, after which the connection closes.
    fn respond(&mut self, response: &Response, pending: Pending, cx: &mut Cx<'_>) {
        let mut keep_alive = pending.keep_alive && !cx.draining;
        let before = self.wbuf.len();
        let connection = match (keep_alive, pending.http10) {
            (false, _) => ConnectionHeader::Close,
            (true, true) => ConnectionHeader::KeepAlive,
            (true, false) => ConnectionHeader::Omit,
        };
        // An id the response carries already (set by a handler or a
        // middleware) is the one sent, and so the one logged.
        let own_id = response.header("X-Request-Id").map(str::as_bytes);
        let mut fresh = [0u8; FRESH_ID_BYTES];
        let id = match own_id {
            Some(own) => own,
            None => pending.request_id.bytes(&mut fresh),
        };
        let added = own_id.is_none().then_some(id);
        response.write_with_id(
            &mut self.wbuf,
            cx.date,
            pending.head_only,
            connection,
            added,
        );
        let mut refused = None;
        if self.wbuf.capacity() > OUTPUT_ALLOWANCE + self.held_output
            && !self.take_output(cx.output)
        {
            refused = Some(self.refuse_output(before, pending.head_only, id, cx));
            keep_alive = false;
        }
        if pending.path.is_some() || cx.app.metrics.is_some() {
            let micros = cx
                .now
                .saturating_duration_since(pending.started)
                .as_micros();
            let micros = micros.max(
                Instant::now()
                    .saturating_duration_since(pending.started)
                    .as_micros(),
            );
            let status = refused.unwrap_or_else(|| response.status()).as_u16();
            if let Some(metrics) = &cx.app.metrics {
                let micros = u64::try_from(micros).unwrap_or(u64::MAX);
                metrics.record(pending.route, Some(pending.method), status, micros);
            }
            if let Some(path) = &pending.path {
                cx.app.log.access(&Access {
                    method: Some(pending.method),
                    path,
                    status,
                    bytes: self.wbuf.len() - before,
                    micros,
                    request_id: std::str::from_utf8(id).unwrap_or_default(),
                });
            }
        }
        self.state = if keep_alive {
            State::Head
        } else {
            State::Closing
        };
        self.read_deadline = None;
    }

    /// Replaces the response queued from `before` on, which the output
    /// budget cannot hold, by a `503` that closes the connection, giving
    /// its memory back first: the status sent.
    #[cold]
    #[inline(never)]
    fn refuse_output(
        &mut self,
        before: usize,
        head_only: bool,
        id: &[u8],
        cx: &Cx<'_>,
    ) -> StatusCode {
        self.wbuf.truncate(before);
        self.wbuf.shrink_to(OUTPUT_ALLOWANCE + self.held_output);
        let refusal = over_output_budget();
        refusal.write_with_id(
            &mut self.wbuf,
            cx.date,
            head_only,
            ConnectionHeader::Close,
            Some(id),
        );
        if let Some(peer) = self.peer {
            cx.app.log.warn(&format!(
                "unsent output budget reached; answered {peer} 503 and closing"
            ));
        }
        refusal.status()
    }

    /// Takes from `output` what the output buffer holds beyond this
    /// connection's allowance and its earlier share; false (taking
    /// nothing) when the budget cannot cover it.
    #[inline(never)]
    fn take_output(&mut self, output: &Budget) -> bool {
        let need = self.wbuf.capacity().saturating_sub(OUTPUT_ALLOWANCE);
        let more = need.saturating_sub(self.held_output);
        if !output.try_take(more) {
            return false;
        }
        self.held_output += more;
        true
    }

    /// Gives the whole share of the output budget back, the output buffer
    /// having been released.
    fn return_output(&mut self, output: &Budget) {
        output.give_back(std::mem::take(&mut self.held_output));
    }

    /// Answers a refused request and closes.
    fn fail(&mut self, e: ApiError, cx: &mut Cx<'_>) {
        // Never a body in answer to HEAD, even a refused one.
        let head_only = match &self.state {
            State::Body { pending, .. } => pending.head_only,
            _ => is_head_request(self.unconsumed()),
        };
        self.refuse(e, head_only, cx);
    }

    /// Answers a refusal (with a body unless `head_only`), logs its access
    /// line, and closes.
    fn refuse(&mut self, e: ApiError, head_only: bool, cx: &mut Cx<'_>) {
        if let Some(peer) = self.peer {
            cx.app.log.debug(&format!("{peer}: refused request: {e}"));
        }
        let before = self.wbuf.len();
        let response = e.into_response();
        // The request's id when its head was read, else a fresh one.
        let (request_id, route) = match &self.state {
            State::Body { pending, .. } => (pending.request_id.clone(), pending.route),
            _ => (RequestId::fresh(), RouteId::UNMATCHED),
        };
        let mut fresh = [0u8; FRESH_ID_BYTES];
        let id = request_id.bytes(&mut fresh);
        response.write_with_id(
            &mut self.wbuf,
            cx.date,
            head_only,
            ConnectionHeader::Close,
            Some(id),
        );
        if cx.app.log.access_enabled() || cx.app.metrics.is_some() {
            // The method and path when the head was read (a refused body,
            // a timeout), else `-`.
            let (method, path, started) = match &self.state {
                State::Body { pending, .. } => {
                    (Some(pending.method), self.req.path(), Some(pending.started))
                }
                _ => match request_line(self.unconsumed()) {
                    Some((method, path)) => (Some(method), path, self.head_started),
                    None => (None, "-", self.head_started),
                },
            };
            let micros = started.map_or(0, |t| cx.now.saturating_duration_since(t).as_micros());
            let status = response.status().as_u16();
            if let Some(metrics) = &cx.app.metrics {
                let micros = u64::try_from(micros).unwrap_or(u64::MAX);
                metrics.record(route, method, status, micros);
            }
            cx.app.log.access(&Access {
                method,
                path,
                status,
                bytes: self.wbuf.len() - before,
                micros,
                request_id: std::str::from_utf8(id).unwrap_or_default(),
            });
        }
        self.state = State::Closing;
        self.pinned = None;
        cx.bodies.give_back(std::mem::take(&mut self.reserved));
    }

    fn update_deadlines(&mut self, cx: &Cx<'_>) {
        let t = &cx.config.timeouts;
        self.read_deadline = match &self.state {
            State::Head if self.unconsumed().is_empty() && self.wpos >= self.wbuf.len() => {
                self.release_buffers(cx.output);
                self.head_started = None;
                // `respond` clears the deadline, so the idle time counts
                // from the last response, not from the connection's start.
                Some(self.read_deadline.unwrap_or(cx.now + t.idle))
            }
            State::Head => Some(self.head_started.unwrap_or(cx.now) + t.header_read),
            // The body's time counts from the start of its request.
            State::Body { pending, .. } => Some(pending.started + t.header_read + t.body_read),
            State::Waiting { .. } | State::Closing => None,
            State::Lingering { until, .. } => Some(*until),
        };
    }

    fn release_buffers(&mut self, output: &Budget) {
        if self.req.capacity_bytes() > IDLE_KEEP_CAPACITY {
            self.req = Request::blank();
        }
        if self.rbuf.capacity() > IDLE_KEEP_CAPACITY {
            self.rbuf = Vec::new();
            self.rpos = 0;
        }
        if self.wbuf.capacity() > IDLE_KEEP_CAPACITY {
            self.wbuf = Vec::new();
            self.wpos = 0;
            self.return_output(output);
        }
    }

    /// Applies expired deadlines: `408` for slow requests, silent close for
    /// idle or stuck connections.
    pub(crate) fn on_timer(&mut self, cx: &mut Cx<'_>) -> Verdict {
        if self.write_deadline.is_some_and(|d| cx.now >= d) || self.sends_too_slowly(cx) {
            return Verdict::Close;
        }
        let Some(deadline) = self.read_deadline else {
            return Verdict::Open;
        };
        if cx.now < deadline {
            return Verdict::Open;
        }
        match self.state {
            State::Head if !self.unconsumed().is_empty() => {}
            State::Body { .. } => {}
            _ => return Verdict::Close,
        }
        let timeout = ApiError::status(
            StatusCode::REQUEST_TIMEOUT,
            "the request was not received in time",
        );
        self.fail(timeout, cx);
        self.read_deadline = None;
        self.drive(cx)
    }

    /// Whether a window of the minimum send rate has ended with the client
    /// having taken less than the rate asks; else starts the next window
    /// when one has ended. Reading a byte now and then, which restarts the
    /// write timeout, does not pass this.
    fn sends_too_slowly(&mut self, cx: &Cx<'_>) -> bool {
        let Some((ends, mark)) = self.send_window else {
            return false;
        };
        if cx.now < ends {
            return false;
        }
        let t = &cx.config.timeouts;
        let owed = u128::from(t.min_send_rate) * t.send_rate_grace.as_millis() / 1000;
        let sent = self.bytes_written.saturating_sub(mark);
        if u128::from(sent) < owed {
            if let Some(peer) = self.peer {
                cx.app.log.debug(&format!(
                    "{peer}: took {sent} bytes in {} ms, below the minimum send rate; dropped",
                    t.send_rate_grace.as_millis()
                ));
            }
            return true;
        }
        self.send_window = Some((cx.now + t.send_rate_grace, self.bytes_written));
        false
    }

    /// At shutdown: close now if nothing is owed, else finish and close.
    pub(crate) fn begin_drain(&mut self, cx: &mut Cx<'_>) -> Verdict {
        // A lingering connection has been answered in full already.
        if self.is_idle() || matches!(self.state, State::Lingering { .. }) {
            return Verdict::Close;
        }
        self.drive(cx)
    }
}

/// The answer to a request whose body would pass the server's body budget.
fn over_budget() -> ApiError {
    ApiError::status(
        StatusCode::SERVICE_UNAVAILABLE,
        "the server is receiving too many request bodies; retry shortly",
    )
}

/// The answer in place of a response that would pass the server's budget
/// of unsent output.
fn over_output_budget() -> Response {
    ApiError::status(
        StatusCode::SERVICE_UNAVAILABLE,
        "the server holds too much output for clients; retry shortly",
    )
    .into_response()
    .with_header("Retry-After", "1")
}

/// The method and path of a request line at the start of `input`, read
/// loosely (for the access line of a refused request): `None` unless the
/// method is known and the target is UTF-8.
fn request_line(input: &[u8]) -> Option<(Method, &str)> {
    let line = input.split(|&b| b == b'\n').next()?;
    let mut parts = line.split(|&b| b == b' ');
    let method = Method::from_bytes(parts.next()?)?;
    let target = std::str::from_utf8(parts.next()?).ok()?;
    Some((method, split_target(target).0))
}

/// Whether unparsed input starts a `HEAD` request (after the empty lines a
/// server may skip), for refusals of heads that did not parse.
pub(crate) fn is_head_request(input: &[u8]) -> bool {
    let start = input
        .iter()
        .position(|&b| b != b'\r' && b != b'\n')
        .unwrap_or(input.len());
    input
        .get(start..)
        .is_some_and(|rest| rest.starts_with(b"HEAD "))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::is_head_request;

    #[test]
    fn recognises_head_requests_before_parsing() {
        assert!(is_head_request(b"HEAD / HTTP/1.1\r\n"));
        assert!(is_head_request(b"\r\nHEAD /x"));
        assert!(!is_head_request(b"GET / HTTP/1.1\r\n"));
        assert!(!is_head_request(b"HEADER"));
        assert!(!is_head_request(b""));
    }
}
