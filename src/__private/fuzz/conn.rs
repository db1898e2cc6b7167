//! `conn_bytes`: arbitrary bytes through one connection of an application,
//! driven in memory, delivered in up to three pieces.

use std::sync::{Arc, OnceLock};

use super::tiny_limits;
use crate::auth::Access;
use crate::config::{Config, JwtSecret, Limits, LogLevel};
use crate::dispatch::{Admission, AppState};
use crate::endpoint::{Endpoint, HandlerResult};
use crate::http::chunked::ChunkedDecoder;
use crate::http::parse::{parse_head, Framing};
use crate::http::{Body, Method, Request, Response, StatusCode};
use crate::server::conn::{is_head_request, MAX_BLANK_LINE_BYTES};
use crate::server::memory::MemoryConn;

/// Most input bytes one case sends.
const MAX_INPUT: usize = 64 * 1024;
/// Most output bytes one case may receive.
const MAX_OUTPUT: usize = 4 * 1024 * 1024;

/// `GET /plaintext`, on the event loop.
struct Inline;

impl Endpoint for Inline {
    fn methods(&self) -> Option<&[Method]> {
        Some(&[Method::Get])
    }
    fn get(&self, _req: &Request) -> HandlerResult {
        Ok(Response::new(StatusCode::OK).with_body(Body::Static(b"Hello, World!")))
    }
    fn access(&self, _method: Method) -> Access {
        Access::Public
    }
    fn inline(&self) -> bool {
        true
    }
}

/// `/echo/{id}`, every verb, on the worker pool: answers the body's length.
struct Echo;

impl Endpoint for Echo {
    fn get(&self, req: &Request) -> HandlerResult {
        Ok(Response::text(format!("{} {:?}", req.path(), req.query())))
    }
    fn post(&self, req: &Request) -> HandlerResult {
        Ok(Response::text(req.body().len().to_string()))
    }
    fn put(&self, req: &Request) -> HandlerResult {
        Ok(Response::json(StatusCode::OK, &req.json()?))
    }
    fn access(&self, _method: Method) -> Access {
        Access::Public
    }
}

/// `/private`, requiring a token.
struct Private;

impl Endpoint for Private {
    fn get(&self, _req: &Request) -> HandlerResult {
        Ok(Response::new(StatusCode::NO_CONTENT))
    }
}

/// The application every case talks to, built once.
fn app() -> &'static (Arc<AppState>, Arc<Config>) {
    static APP: OnceLock<(Arc<AppState>, Arc<Config>)> = OnceLock::new();
    APP.get_or_init(|| {
        let mut config = Config::default();
        config.server.port = 0;
        config.log = LogLevel::Off;
        config.limits = conn_limits();
        config.jwt.secrets = JwtSecret::new(b"fuzz-secret-0123456789abcdef0123456789".to_vec())
            .into_iter()
            .collect();
        let built = crate::LightApi::with_config(config)
            .register("/plaintext", Inline)
            .register("/echo/{id}", Echo)
            .register("/private", Private)
            .build()
            .unwrap_or_else(|e| panic!("fuzz application: {e}"));
        (Arc::new(built.app), Arc::new(built.config))
    })
}

fn conn_limits() -> Limits {
    let mut limits = tiny_limits();
    limits.max_pending_write_bytes = 64 * 1024;
    limits
}

/// The responses (not counting `100 Continue`) the server owes for `input`
/// followed by end of input, by the pure parser's reading of it and the
/// application's decision on each head: for each, whether it answers
/// `HEAD` (so has no body despite its `Content-Length`). A request with a
/// body that the application refuses from its head is answered without
/// reading the body, and the connection closes after it.
pub(crate) fn expected_responses(input: &[u8], limits: &Limits, app: &AppState) -> Vec<bool> {
    let mut rest = input;
    let mut owed = Vec::new();
    loop {
        // Empty lines before a request line are skipped, up to a bound; past
        // it, one error, always with a body (no request line was read).
        let blank = rest
            .iter()
            .take_while(|&&b| b == b'\r' || b == b'\n')
            .count();
        rest = rest.get(blank..).unwrap_or_default();
        if blank > MAX_BLANK_LINE_BYTES {
            owed.push(false);
            return owed;
        }
        if rest.is_empty() {
            return owed;
        }
        let (head, used) = match parse_head(rest, &limits.message()) {
            // A refused head, or one cut short by end of input: one error,
            // without a body when the input starts a `HEAD` request (the
            // client will read it as the answer to HEAD).
            Err(_) | Ok(None) => {
                owed.push(is_head_request(rest));
                return owed;
            }
            Ok(Some(found)) => found,
        };
        owed.push(head.method == Method::Head);
        if head.framing != Framing::Empty && !admitted(rest, limits, app) {
            return owed;
        }
        rest = rest.get(used..).unwrap_or_default();
        let body_ok = match head.framing {
            Framing::Empty => true,
            Framing::Length(len) => match usize::try_from(len).ok().and_then(|l| rest.get(l..)) {
                Some(after) => {
                    rest = after;
                    true
                }
                None => false,
            },
            Framing::Chunked => {
                let mut d = ChunkedDecoder::new(limits.max_body_bytes, limits.max_head_bytes);
                match d.decode(rest, &mut Vec::new()) {
                    Ok(r) if r.done => {
                        rest = rest.get(r.consumed..).unwrap_or_default();
                        true
                    }
                    _ => false,
                }
            }
        };
        if !body_ok {
            // A malformed or truncated body: an error replaces the response
            // (still without a body for HEAD), and the connection closes.
            return owed;
        }
        if !head.keep_alive {
            return owed;
        }
    }
}

/// Whether the application takes the request whose complete head starts
/// `input`, deciding from the head as the connection does.
fn admitted(input: &[u8], limits: &Limits, app: &AppState) -> bool {
    let mut req = Request::blank();
    let Ok(Some((line, _))) = req.parse_head(input, &limits.message()) else {
        return false;
    };
    if req.begin(&line, None).is_err() {
        return false;
    }
    matches!(
        app.admit(&mut req, &mut crate::metrics::RouteId::default()),
        Admission::Proceed(_)
    )
}

/// Checks `out` holds exactly the responses `owed` describes, each a
/// well-framed HTTP/1.1 response with `Date` and, unless bodiless,
/// `Content-Length`; interim `100 Continue` responses are skipped. Returns
/// how many final responses there are.
fn count_responses(mut out: &[u8], owed: &[bool]) -> usize {
    let mut n = 0;
    while !out.is_empty() {
        let end = out
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .unwrap_or_else(|| {
                panic!(
                    "unterminated response head: {:?}",
                    String::from_utf8_lossy(out)
                )
            });
        let head = std::str::from_utf8(out.get(..end).unwrap_or_default())
            .unwrap_or_else(|_| panic!("response head is not UTF-8"));
        let mut lines = head.split("\r\n");
        let status_line = lines.next().unwrap_or_default();
        let code: u16 = status_line
            .strip_prefix("HTTP/1.1 ")
            .and_then(|s| s.get(..3))
            .and_then(|c| c.parse().ok())
            .unwrap_or_else(|| panic!("bad status line {status_line:?}"));
        out = out.get(end + 4..).unwrap_or_default();
        if code == 100 {
            assert_eq!(head, "HTTP/1.1 100 Continue");
            continue;
        }
        let head_only = owed.get(n).copied().unwrap_or(false);
        n += 1;
        let mut length = None;
        let mut date = false;
        for line in lines {
            let (name, value) = line
                .split_once(": ")
                .unwrap_or_else(|| panic!("bad header line {line:?}"));
            if name.eq_ignore_ascii_case("content-length") {
                assert!(length.is_none(), "two Content-Length headers");
                length = Some(
                    value
                        .parse::<usize>()
                        .unwrap_or_else(|_| panic!("bad length {value:?}")),
                );
            }
            date |= name.eq_ignore_ascii_case("date");
        }
        assert!(date, "no Date in {head:?}");
        let bodiless = code == 204 || code == 304 || code < 200;
        match (bodiless, length) {
            (true, Some(_)) => panic!("Content-Length on a {code}"),
            (false, None) => panic!("no Content-Length on a {code}"),
            (_, len) => {
                let len = if head_only { 0 } else { len.unwrap_or(0) };
                assert!(out.len() >= len, "body of a {code} cut short");
                out = out.get(len..).unwrap_or_default();
            }
        }
    }
    n
}

/// Sends the input over one connection in up to three pieces (one
/// readiness event each), then ends the input. The first byte says how many
/// split points follow (0–2), each a byte scaled to the input's length; the
/// rest is what is sent.
///
/// Checks: the server answers and closes; every response is well-framed;
/// there is exactly one response per request as the pure parser frames the
/// input (so pipelining never loses, duplicates or invents a response).
pub fn check_conn_bytes(data: &[u8]) {
    let (splits, payload) = match data.split_first() {
        Some((&k, rest)) => {
            let k = usize::from(k % 3).min(rest.len());
            let (cuts, payload) = rest.split_at(k);
            (cuts.to_vec(), payload)
        }
        None => (Vec::new(), data),
    };
    let payload = payload
        .get(..MAX_INPUT.min(payload.len()))
        .unwrap_or_default();
    let mut cuts: Vec<usize> = splits
        .iter()
        .map(|&b| usize::from(b) * payload.len() / 256)
        .collect();
    cuts.sort_unstable();
    let (app, config) = app();
    let mut conn = MemoryConn::shared(Arc::clone(app), Arc::clone(config));
    let mut sent = 0;
    for cut in cuts.into_iter().chain(std::iter::once(payload.len())) {
        let piece = payload.get(sent..cut.max(sent)).unwrap_or_default();
        if !piece.is_empty() && !conn.is_closed() {
            conn.feed(piece);
        }
        sent = cut.max(sent);
    }
    conn.finish();
    assert!(conn.is_closed(), "the server kept the connection open");
    let out = conn.output().to_vec();
    assert!(
        out.len() <= MAX_OUTPUT,
        "more than {MAX_OUTPUT} bytes of output"
    );
    let owed = expected_responses(payload, &conn_limits(), app);
    let got = count_responses(&out, &owed);
    assert_eq!(
        got,
        owed.len(),
        "responses for {:?}",
        String::from_utf8_lossy(payload)
    );
}
