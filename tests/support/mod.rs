//! Shared helpers of the integration tests: a server on an ephemeral port, a
//! raw TCP client that reads exactly one response at a time (so pipelined
//! answers can be taken one by one), tokens, and a few endpoints.
//!
//! No sleeps for synchronisation: waiting is polling with a deadline.
#![allow(dead_code)]

pub mod api;
pub mod crud_suite;
pub mod http;
pub mod http_crud_suite;
pub mod servers;
pub mod simple_http;

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use lightapi::auth::jwt;
use lightapi::{
    Access, Config, Endpoint, HandlerResult, LightApi, LogLevel, Method, Request, ServerHandle,
};
use serde_json::{json, Map, Value};

/// The HS256 secret every test server accepts.
pub const SECRET: &[u8] = b"integration-test-secret-0123456789abcdef";

/// How long a client waits for any single read before the test fails.
pub const READ_TIMEOUT: Duration = Duration::from_secs(5);

/// A quiet configuration on 127.0.0.1:0 with a known secret.
pub fn config() -> Config {
    Config {
        port: 0,
        log_level: LogLevel::Off,
        jwt_secrets: vec![SECRET.to_vec()],
        workers: 4,
        reactors: 2,
        ..Config::default()
    }
}

/// Starts `app` (built on [`config`] changed by `tweak`) and returns it.
pub fn start_with(
    tweak: impl FnOnce(&mut Config),
    build: impl FnOnce(LightApi) -> LightApi,
) -> ServerHandle {
    let mut c = config();
    tweak(&mut c);
    build(LightApi::with_config(c))
        .start()
        .expect("server starts")
}

/// Starts a server with the default test configuration.
pub fn start(build: impl FnOnce(LightApi) -> LightApi) -> ServerHandle {
    start_with(|_| {}, build)
}

/// A valid token for `subject`, admin or not.
pub fn token(subject: &str, admin: bool) -> String {
    let mut extra = Map::new();
    if admin {
        extra.insert("is_admin".into(), Value::Bool(true));
    }
    jwt::sign_subject(
        subject,
        Duration::from_secs(600),
        jwt::unix_now(),
        extra,
        SECRET,
    )
}

/// The built `examples/<name>` binary beside this test's (`cargo test`
/// builds the examples first).
#[allow(dead_code)]
pub fn example_bin(name: &str) -> std::path::PathBuf {
    let exe = std::env::current_exe().unwrap();
    let bin = exe
        .parent()
        .and_then(std::path::Path::parent)
        .unwrap()
        .join("examples")
        .join(name);
    assert!(bin.exists(), "build the examples first: {}", bin.display());
    bin
}

/// A free port on 127.0.0.1 (bound and released).
#[allow(dead_code)]
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Polls `f` until it is true or `within` has passed.
pub fn eventually(within: Duration, mut f: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + within;
    loop {
        if f() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::yield_now();
        std::thread::park_timeout(Duration::from_millis(5));
    }
}

/// One parsed response.
#[derive(Debug, Clone)]
pub struct Resp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Resp {
    /// The first header called `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// How many headers are called `name`.
    pub fn header_count(&self, name: &str) -> usize {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .count()
    }

    /// The body as JSON.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "body is not JSON ({e}): {:?}",
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    /// Whether the server announced it will close.
    pub fn closes(&self) -> bool {
        self.header("connection")
            .is_some_and(|v| v.eq_ignore_ascii_case("close"))
    }

    /// Asserts the response is an RFC 9457 problem document for `status`.
    pub fn assert_problem(&self, status: u16) {
        assert_eq!(self.status, status, "{self:?}");
        assert_eq!(
            self.header("content-type"),
            Some("application/problem+json"),
            "{self:?}"
        );
        let doc = self.json();
        assert_eq!(doc["status"], json!(status));
        assert!(
            doc["title"].is_string() && doc["detail"].is_string(),
            "{doc}"
        );
    }
}

/// A raw HTTP/1.x client over a blocking `TcpStream`.
pub struct Client {
    pub stream: TcpStream,
    buf: Vec<u8>,
}

impl Client {
    /// Connects to `addr`, failing the test on error.
    pub fn connect(addr: SocketAddr) -> Client {
        Client::try_connect(addr).unwrap_or_else(|e| panic!("connect {addr}: {e}"))
    }

    /// Connects to `addr`.
    pub fn try_connect(addr: SocketAddr) -> io::Result<Client> {
        let stream = TcpStream::connect_timeout(&addr, READ_TIMEOUT)?;
        stream.set_read_timeout(Some(READ_TIMEOUT))?;
        stream.set_write_timeout(Some(READ_TIMEOUT))?;
        stream.set_nodelay(true)?;
        Ok(Client {
            stream,
            buf: Vec::new(),
        })
    }

    /// Writes `bytes` (all of them).
    pub fn send(&mut self, bytes: impl AsRef<[u8]>) {
        self.stream
            .write_all(bytes.as_ref())
            .expect("write to server");
    }

    /// Writes `bytes`, reporting failure (the server may have closed).
    pub fn try_send(&mut self, bytes: impl AsRef<[u8]>) -> io::Result<()> {
        self.stream.write_all(bytes.as_ref())
    }

    /// Sends `GET path` with a Host header on HTTP/1.1, plus `extra` header lines.
    pub fn get(&mut self, path: &str, extra: &str) -> Resp {
        self.send(format!("GET {path} HTTP/1.1\r\nHost: t\r\n{extra}\r\n"));
        self.read_response()
    }

    fn fill(&mut self) -> io::Result<usize> {
        let mut chunk = [0u8; 16 * 1024];
        let n = self.stream.read(&mut chunk)?;
        self.buf.extend_from_slice(&chunk[..n]);
        Ok(n)
    }

    /// Reads one response; the body is framed by `Content-Length` unless the
    /// status is 1xx/204/304 or `head_only` (a response to HEAD).
    pub fn try_read(&mut self, head_only: bool) -> io::Result<Option<Resp>> {
        let end = loop {
            if let Some(p) = find(&self.buf, b"\r\n\r\n") {
                break p;
            }
            if self.fill()? == 0 {
                if self.buf.is_empty() {
                    return Ok(None);
                }
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!("truncated head: {:?}", String::from_utf8_lossy(&self.buf)),
                ));
            }
        };
        let head = String::from_utf8(self.buf[..end].to_vec()).expect("response head is UTF-8");
        let mut lines = head.split("\r\n");
        let status_line = lines.next().unwrap_or_default();
        let mut parts = status_line.splitn(3, ' ');
        assert_eq!(
            parts.next(),
            Some("HTTP/1.1"),
            "status line {status_line:?}"
        );
        let status: u16 = parts
            .next()
            .and_then(|s| s.parse().ok())
            .expect("status code");
        let headers: Vec<(String, String)> = lines
            .map(|l| {
                let (n, v) = l
                    .split_once(':')
                    .unwrap_or_else(|| panic!("header line {l:?}"));
                (n.to_string(), v.trim().to_string())
            })
            .collect();
        self.buf.drain(..end + 4);
        let mut resp = Resp {
            status,
            headers,
            body: Vec::new(),
        };
        let bodiless = status < 200 || status == 204 || status == 304;
        if !bodiless && !head_only {
            let len: usize = resp
                .header("content-length")
                .unwrap_or_else(|| panic!("no Content-Length: {resp:?}"))
                .parse()
                .expect("numeric Content-Length");
            while self.buf.len() < len {
                if self.fill()? == 0 {
                    return Err(io::ErrorKind::UnexpectedEof.into());
                }
            }
            resp.body = self.buf.drain(..len).collect();
        }
        Ok(Some(resp))
    }

    /// Reads one response, failing the test on EOF or error.
    pub fn read_response(&mut self) -> Resp {
        self.read_response_to(false)
    }

    /// Reads one response to a HEAD request.
    pub fn read_head_response(&mut self) -> Resp {
        self.read_response_to(true)
    }

    fn read_response_to(&mut self, head_only: bool) -> Resp {
        match self.try_read(head_only) {
            Ok(Some(r)) => r,
            Ok(None) => panic!("connection closed before a response"),
            Err(e) => panic!("reading a response: {e}"),
        }
    }

    /// Asserts the server closes the connection with nothing more to say:
    /// the next read is EOF (no further response, e.g. to a smuggled request).
    pub fn assert_closed(&mut self) {
        assert!(
            self.buf.is_empty(),
            "unexpected bytes after the response: {:?}",
            String::from_utf8_lossy(&self.buf)
        );
        match self.fill() {
            Ok(0) => {}
            Ok(_) => panic!("server sent more: {:?}", String::from_utf8_lossy(&self.buf)),
            Err(e) => panic!("expected a clean close, got {e}"),
        }
    }

    /// Whether the server has closed the connection (EOF or reset) within
    /// the read timeout, ignoring nothing: any bytes received fail the test.
    pub fn is_closed_within(&mut self, within: Duration) -> bool {
        self.stream
            .set_read_timeout(Some(within))
            .expect("set timeout");
        let r = self.fill();
        self.stream
            .set_read_timeout(Some(READ_TIMEOUT))
            .expect("set timeout");
        match r {
            Ok(0) => true,
            Ok(_) => panic!("unexpected bytes: {:?}", String::from_utf8_lossy(&self.buf)),
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                false
            }
            Err(_) => true,
        }
    }

    /// Bytes received but not yet consumed as a response.
    pub fn leftover(&self) -> &[u8] {
        &self.buf
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Echoes everything a handler receives; public, worker-run.
pub struct Echo;

impl Endpoint for Echo {
    fn get(&self, req: &Request) -> HandlerResult {
        Ok(describe(req).into())
    }
    fn post(&self, req: &Request) -> HandlerResult {
        Ok(describe(req).into())
    }
    fn put(&self, req: &Request) -> HandlerResult {
        Ok(describe(req).into())
    }
    fn patch(&self, req: &Request) -> HandlerResult {
        Ok(describe(req).into())
    }
    fn delete(&self, req: &Request) -> HandlerResult {
        Ok(describe(req).into())
    }
    fn access(&self, _method: Method) -> Access {
        Access::Public
    }
}

/// A JSON description of a request.
pub fn describe(req: &Request) -> Value {
    let params: Map<String, Value> = req
        .params()
        .iter()
        .map(|(n, v)| (n.to_string(), json!(v)))
        .collect();
    let query: Vec<Value> = req.query().iter().map(|(n, v)| json!([n, v])).collect();
    let headers: Vec<Value> = req
        .headers()
        .iter()
        .map(|(n, v)| json!([n, String::from_utf8_lossy(v)]))
        .collect();
    json!({
        "method": req.method().as_str(),
        "path": req.path(),
        "params": params,
        "query": query,
        "headers": headers,
        "body": String::from_utf8_lossy(req.body()),
        "body_len": req.body().len(),
        "sub": req.claims().and_then(|c| c.sub()),
    })
}

/// Sleeps for its duration, then answers `{"slept_ms": …}`; public, worker-run.
pub struct Slow(pub Duration);

impl Endpoint for Slow {
    fn methods(&self) -> Option<&[Method]> {
        Some(&[Method::Get])
    }
    fn get(&self, _req: &Request) -> HandlerResult {
        std::thread::sleep(self.0);
        Ok(json!({"slept_ms": self.0.as_millis() as u64}).into())
    }
    fn access(&self, _method: Method) -> Access {
        Access::Public
    }
}
