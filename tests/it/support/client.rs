//! The one HTTP client of the integration tests: raw HTTP/1.1 over a
//! blocking `TcpStream`.
//!
//! It writes exactly the bytes it is given (so tests can send malformed
//! messages, pipeline, half-close) and reads exactly one response at a time
//! (so pipelined answers can be taken one by one and a close observed). On
//! top of that, [`Client::request`] and the JSON helpers send well-formed
//! requests with an optional bearer token and reconnect when the server has
//! closed a keep-alive connection.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::time::Duration;

use serde_json::{json, Value};

/// How long a raw connection ([`Client::connect`]) waits for any single read
/// before the test fails.
pub const READ_TIMEOUT: Duration = Duration::from_secs(5);

/// How long a request client ([`Client::new`]) waits for one response (it
/// may wait on a database under load).
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// One parsed response.
#[derive(Clone)]
pub struct Resp {
    /// The status code.
    pub status: u16,
    /// The header fields, names as sent.
    pub headers: Vec<(String, String)>,
    /// The body bytes (empty for `HEAD`, 1xx, `204`, `304`).
    pub body: Vec<u8>,
}

impl std::fmt::Debug for Resp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let shown: String = self.text().chars().take(600).collect();
        f.debug_struct("Resp")
            .field("status", &self.status)
            .field("headers", &self.headers)
            .field("body", &shown)
            .finish()
    }
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

    /// Whether header `name` is present.
    pub fn has_header(&self, name: &str) -> bool {
        self.header(name).is_some()
    }

    /// The body as text (lossy).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body as JSON; panics with the body when it is not.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "status {}: body is not JSON ({e}): {:?}",
                self.status,
                self.text()
            )
        })
    }

    /// Whether the server announced it will close.
    pub fn closes(&self) -> bool {
        self.header("connection")
            .is_some_and(|v| v.eq_ignore_ascii_case("close"))
    }

    /// The `Allow` header split into methods, sorted.
    pub fn allow(&self) -> Vec<String> {
        let mut v: Vec<String> = self
            .header("allow")
            .unwrap_or_else(|| panic!("no Allow header: {self:?}"))
            .split(',')
            .map(|m| m.trim().to_owned())
            .filter(|m| !m.is_empty())
            .collect();
        v.sort();
        v
    }

    /// Asserts the response is an RFC 9457 problem document for `status`.
    #[track_caller]
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

/// One open connection and the bytes read from it but not yet consumed.
struct Conn {
    stream: TcpStream,
    buf: Vec<u8>,
}

/// A client of one server: at most one connection open at a time.
///
/// The raw methods ([`Client::send`], [`Client::read_response`], …) work on
/// the current connection and never reconnect; [`Client::request`] and the
/// helpers built on it open a connection when there is none, and again when
/// a reused one turns out to be closed.
pub struct Client {
    addr: SocketAddr,
    timeout: Duration,
    token: Option<String>,
    conn: Option<Conn>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("addr", &self.addr)
            .field("connected", &self.conn.is_some())
            .finish()
    }
}

impl Client {
    /// A request client for `addr`, not connected yet, without a token.
    pub fn new(addr: SocketAddr) -> Client {
        Client {
            addr,
            timeout: REQUEST_TIMEOUT,
            token: None,
            conn: None,
        }
    }

    /// A request client that sends `Authorization: Bearer <token>`.
    pub fn with_token(addr: SocketAddr, token: &str) -> Client {
        Client {
            token: Some(token.to_owned()),
            ..Client::new(addr)
        }
    }

    /// A raw connection to `addr`, failing the test on error.
    pub fn connect(addr: SocketAddr) -> Client {
        Client::try_connect(addr).unwrap_or_else(|e| panic!("connect {addr}: {e}"))
    }

    /// A raw connection to `addr`.
    pub fn try_connect(addr: SocketAddr) -> io::Result<Client> {
        let mut c = Client {
            timeout: READ_TIMEOUT,
            ..Client::new(addr)
        };
        c.conn = Some(c.open()?);
        Ok(c)
    }

    fn open(&self) -> io::Result<Conn> {
        let stream = TcpStream::connect_timeout(&self.addr, READ_TIMEOUT)?;
        stream.set_read_timeout(Some(self.timeout))?;
        stream.set_write_timeout(Some(self.timeout))?;
        stream.set_nodelay(true)?;
        Ok(Conn {
            stream,
            buf: Vec::new(),
        })
    }

    fn conn(&mut self) -> &mut Conn {
        self.conn
            .as_mut()
            .expect("the client has no open connection")
    }

    // ------------------------------------------------------------ raw

    /// Writes `bytes` (all of them).
    pub fn send(&mut self, bytes: impl AsRef<[u8]>) {
        self.try_send(bytes).expect("write to server");
    }

    /// Writes `bytes`, reporting failure (the server may have closed).
    pub fn try_send(&mut self, bytes: impl AsRef<[u8]>) -> io::Result<()> {
        self.conn().stream.write_all(bytes.as_ref())
    }

    /// Sends `GET path` on HTTP/1.1 with a `Host` header plus `extra`
    /// (complete header lines, each ending in CRLF), and reads the answer.
    pub fn get_with(&mut self, path: &str, extra: &str) -> Resp {
        self.send(format!("GET {path} HTTP/1.1\r\nHost: t\r\n{extra}\r\n"));
        self.read_response()
    }

    /// Half-closes the connection: the server reads EOF, can still answer.
    pub fn shutdown_write(&mut self) {
        let _ = self.conn().stream.shutdown(Shutdown::Write);
    }

    /// A second handle on the connection's socket, for writing from
    /// another thread.
    pub fn writer(&mut self) -> TcpStream {
        self.conn().stream.try_clone().expect("clone the socket")
    }

    fn fill(&mut self) -> io::Result<usize> {
        let conn = self.conn();
        let mut chunk = [0u8; 16 * 1024];
        // A signal handled in this process (servers under test install
        // handlers; other tests send signals) may interrupt the wait: read
        // again.
        let n = loop {
            match conn.stream.read(&mut chunk) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                other => break other?,
            }
        };
        conn.buf.extend_from_slice(&chunk[..n]);
        Ok(n)
    }

    /// Reads one response: `Ok(None)` when the server closed before sending
    /// any byte of it. The body is framed by `Content-Length` unless the
    /// status is 1xx/204/304 or `head_only` (a response to HEAD).
    pub fn try_read(&mut self, head_only: bool) -> io::Result<Option<Resp>> {
        let invalid = |msg: String| io::Error::new(io::ErrorKind::InvalidData, msg);
        let end = loop {
            if let Some(p) = find(&self.conn().buf, b"\r\n\r\n") {
                break p;
            }
            if self.fill()? == 0 {
                let buf = &self.conn().buf;
                if buf.is_empty() {
                    return Ok(None);
                }
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!("truncated head: {:?}", String::from_utf8_lossy(buf)),
                ));
            }
        };
        let conn = self.conn();
        let head = String::from_utf8(conn.buf[..end].to_vec())
            .map_err(|_| invalid("response head is not UTF-8".into()))?;
        let mut lines = head.split("\r\n");
        let status_line = lines.next().unwrap_or_default();
        let mut parts = status_line.splitn(3, ' ');
        let status: u16 = match (parts.next(), parts.next().map(str::parse)) {
            (Some("HTTP/1.1"), Some(Ok(status))) => status,
            _ => return Err(invalid(format!("status line {status_line:?}"))),
        };
        let headers = lines
            .map(|l| {
                let (n, v) = l
                    .split_once(':')
                    .ok_or_else(|| invalid(format!("header line {l:?}")))?;
                Ok((n.trim().to_string(), v.trim().to_string()))
            })
            .collect::<io::Result<Vec<(String, String)>>>()?;
        conn.buf.drain(..end + 4);
        let mut resp = Resp {
            status,
            headers,
            body: Vec::new(),
        };
        let bodiless = status < 200 || status == 204 || status == 304;
        if !bodiless && !head_only {
            let len: usize = resp
                .header("content-length")
                .ok_or_else(|| invalid(format!("no Content-Length: {resp:?}")))?
                .parse()
                .map_err(|_| invalid(format!("bad Content-Length: {resp:?}")))?;
            while self.conn().buf.len() < len {
                if self.fill()? == 0 {
                    return Err(io::ErrorKind::UnexpectedEof.into());
                }
            }
            resp.body = self.conn().buf.drain(..len).collect();
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
            self.leftover().is_empty(),
            "unexpected bytes after the response: {:?}",
            String::from_utf8_lossy(self.leftover())
        );
        match self.fill() {
            Ok(0) => {}
            Ok(_) => panic!(
                "server sent more: {:?}",
                String::from_utf8_lossy(self.leftover())
            ),
            Err(e) => panic!("expected a clean close, got {e}"),
        }
    }

    /// Whether the server closes the connection (EOF or reset) within
    /// `within`; any bytes received fail the test.
    pub fn is_closed_within(&mut self, within: Duration) -> bool {
        let timeout = self.timeout;
        let stream = &self.conn().stream;
        stream.set_read_timeout(Some(within)).expect("set timeout");
        let r = self.fill();
        self.conn()
            .stream
            .set_read_timeout(Some(timeout))
            .expect("set timeout");
        match r {
            Ok(0) => true,
            Ok(_) => panic!(
                "unexpected bytes: {:?}",
                String::from_utf8_lossy(self.leftover())
            ),
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
        self.conn.as_ref().map_or(&[], |c| &c.buf)
    }

    // ------------------------------------------------------- requests

    /// Sends one request and reads its response. `headers` are sent as
    /// given; `Host`, `Authorization` (when the client has a token and
    /// `headers` has none) and `Content-Length` (when there is a body) are
    /// added.
    pub fn request(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&[u8]>,
    ) -> Resp {
        self.try_request(method, path, headers, body)
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"))
    }

    /// As [`Client::request`], but a connection failure is an `Err` instead
    /// of a panic (for tests that kill the server).
    pub fn try_request(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&[u8]>,
    ) -> io::Result<Resp> {
        let mut req = format!("{method} {path} HTTP/1.1\r\nHost: t\r\n");
        let has = |n: &str| headers.iter().any(|(h, _)| h.eq_ignore_ascii_case(n));
        if let (Some(t), false) = (&self.token, has("authorization")) {
            req.push_str(&format!("Authorization: Bearer {t}\r\n"));
        }
        for (n, v) in headers {
            req.push_str(&format!("{n}: {v}\r\n"));
        }
        if let Some(b) = body {
            req.push_str(&format!("Content-Length: {}\r\n", b.len()));
        }
        req.push_str("\r\n");
        let mut bytes = req.into_bytes();
        bytes.extend_from_slice(body.unwrap_or_default());
        // A reused keep-alive connection may have been closed by the server
        // while idle: retry once on a fresh one.
        let reused = self.conn.is_some();
        match self.exchange(&bytes, method == "HEAD") {
            Err(_) if reused => {
                self.conn = None;
                self.exchange(&bytes, method == "HEAD")
            }
            r => r,
        }
    }

    fn exchange(&mut self, bytes: &[u8], head: bool) -> io::Result<Resp> {
        if self.conn.is_none() {
            self.conn = Some(self.open()?);
        }
        let resp = self.try_send(bytes).and_then(|()| {
            self.try_read(head)?
                .ok_or_else(|| io::Error::new(io::ErrorKind::UnexpectedEof, "closed"))
        });
        if resp.as_ref().map_or(true, Resp::closes) {
            self.conn = None;
        }
        resp
    }

    /// `method path` with a JSON body and `Content-Type: application/json`.
    pub fn json(&mut self, method: &str, path: &str, body: &Value) -> Resp {
        let b = serde_json::to_vec(body).expect("serialise JSON");
        self.raw_json(method, path, &b)
    }

    /// `method path` with raw body bytes sent as `application/json`.
    pub fn raw_json(&mut self, method: &str, path: &str, body: &[u8]) -> Resp {
        self.request(
            method,
            path,
            &[("Content-Type", "application/json")],
            Some(body),
        )
    }

    /// `GET path`.
    pub fn get(&mut self, path: &str) -> Resp {
        self.request("GET", path, &[], None)
    }

    /// `DELETE path`.
    pub fn delete(&mut self, path: &str) -> Resp {
        self.request("DELETE", path, &[], None)
    }

    /// `POST path` with a JSON body.
    pub fn post(&mut self, path: &str, body: &Value) -> Resp {
        self.json("POST", path, body)
    }

    /// `PUT path` with a JSON body.
    pub fn put(&mut self, path: &str, body: &Value) -> Resp {
        self.json("PUT", path, body)
    }

    /// `PATCH path` with a JSON body.
    pub fn patch(&mut self, path: &str, body: &Value) -> Resp {
        self.json("PATCH", path, body)
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}
