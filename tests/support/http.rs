//! A minimal raw HTTP/1.1 client for black-box tests: std `TcpStream`,
//! keep-alive, `Content-Length` framing, and a small JSON helper. It sends
//! exactly the bytes asked for, so tests can also send what a well-behaved
//! client library would refuse to (bad JSON, odd content types, raw ids).
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use serde_json::Value as Json;

/// How long a test waits for one response before failing.
const READ_TIMEOUT: Duration = Duration::from_secs(30);

/// A response as received.
#[derive(Clone)]
pub struct Resp {
    /// The status code.
    pub status: u16,
    /// The header fields, names as sent.
    pub headers: Vec<(String, String)>,
    /// The body bytes (empty for `HEAD`, `204`, `304`).
    pub body: Vec<u8>,
}

impl std::fmt::Debug for Resp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let text = self.text();
        let shown: String = text.chars().take(600).collect();
        f.debug_struct("Resp")
            .field("status", &self.status)
            .field("headers", &self.headers)
            .field("body", &shown)
            .finish()
    }
}

impl Resp {
    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Whether header `name` is present.
    pub fn has_header(&self, name: &str) -> bool {
        self.header(name).is_some()
    }

    /// The body as text (lossy).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body parsed as JSON; panics with the body when it is not.
    pub fn json(&self) -> Json {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "status {}: body is not JSON ({e}): {:?}",
                self.status,
                self.text()
            )
        })
    }

    /// The `Allow` header split into methods.
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
}

/// A keep-alive connection to a server, reopened when the server closes it.
#[derive(Debug)]
pub struct Client {
    addr: SocketAddr,
    conn: Option<BufReader<TcpStream>>,
    token: Option<String>,
}

impl Client {
    /// A client without a bearer token.
    pub fn new(addr: SocketAddr) -> Client {
        Client {
            addr,
            conn: None,
            token: None,
        }
    }

    /// A client that sends `Authorization: Bearer <token>`.
    pub fn with_token(addr: SocketAddr, token: &str) -> Client {
        Client {
            token: Some(token.to_owned()),
            ..Client::new(addr)
        }
    }

    fn connect(&self) -> Result<BufReader<TcpStream>, String> {
        let s = TcpStream::connect(self.addr).map_err(|e| format!("connect: {e}"))?;
        s.set_read_timeout(Some(READ_TIMEOUT)).unwrap();
        s.set_write_timeout(Some(READ_TIMEOUT)).unwrap();
        s.set_nodelay(true).unwrap();
        Ok(BufReader::new(s))
    }

    /// Sends one request and reads its response. `headers` are sent as
    /// given; `Host`, `Authorization` (when the client has a token and
    /// `headers` has none) and `Content-Length` (when there is a body) are
    /// added.
    pub fn send(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&[u8]>,
    ) -> Resp {
        self.try_send(method, path, headers, body)
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"))
    }

    /// As [`Client::send`], but a connection failure is an `Err` instead of
    /// a panic (for tests that kill the server).
    pub fn try_send(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&[u8]>,
    ) -> Result<Resp, String> {
        let mut req = format!("{method} {path} HTTP/1.1\r\nHost: test\r\n");
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

    fn exchange(&mut self, bytes: &[u8], head: bool) -> Result<Resp, String> {
        let conn = match &mut self.conn {
            Some(conn) => conn,
            None => self.conn.insert(self.connect()?),
        };
        conn.get_mut()
            .write_all(bytes)
            .map_err(|e| format!("write: {e}"))?;
        let resp = read_response(conn, head);
        match &resp {
            Ok(r)
                if r.header("connection")
                    .is_some_and(|c| c.eq_ignore_ascii_case("close")) =>
            {
                self.conn = None
            }
            Err(_) => self.conn = None,
            _ => {}
        }
        resp
    }

    /// `method path` with a JSON body and `Content-Type: application/json`.
    pub fn json(&mut self, method: &str, path: &str, body: &Json) -> Resp {
        let b = serde_json::to_vec(body).unwrap();
        self.send(
            method,
            path,
            &[("Content-Type", "application/json")],
            Some(&b),
        )
    }

    /// `method path` with raw body bytes sent as `application/json`.
    pub fn raw_json(&mut self, method: &str, path: &str, body: &[u8]) -> Resp {
        self.send(
            method,
            path,
            &[("Content-Type", "application/json")],
            Some(body),
        )
    }

    /// `GET path`.
    pub fn get(&mut self, path: &str) -> Resp {
        self.send("GET", path, &[], None)
    }

    /// `DELETE path`.
    pub fn delete(&mut self, path: &str) -> Resp {
        self.send("DELETE", path, &[], None)
    }

    /// `POST path` with a JSON body.
    pub fn post(&mut self, path: &str, body: &Json) -> Resp {
        self.json("POST", path, body)
    }

    /// `PUT path` with a JSON body.
    pub fn put(&mut self, path: &str, body: &Json) -> Resp {
        self.json("PUT", path, body)
    }

    /// `PATCH path` with a JSON body.
    pub fn patch(&mut self, path: &str, body: &Json) -> Resp {
        self.json("PATCH", path, body)
    }
}

fn read_line(conn: &mut BufReader<TcpStream>) -> Result<String, String> {
    let mut line = String::new();
    let n = conn
        .read_line(&mut line)
        .map_err(|e| format!("read: {e}"))?;
    if n == 0 {
        return Err("connection closed before a complete response head".into());
    }
    Ok(line.trim_end_matches(['\r', '\n']).to_owned())
}

/// Reads one response; `head` says the request was `HEAD` (no body follows
/// whatever `Content-Length` says).
fn read_response(conn: &mut BufReader<TcpStream>, head: bool) -> Result<Resp, String> {
    let status_line = read_line(conn)?;
    let mut parts = status_line.splitn(3, ' ');
    let version = parts.next().unwrap_or("");
    if !version.starts_with("HTTP/1.") {
        return Err(format!("bad status line {status_line:?}"));
    }
    let status: u16 = parts
        .next()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("bad status line {status_line:?}"))?;
    let mut headers = Vec::new();
    loop {
        let line = read_line(conn)?;
        if line.is_empty() {
            break;
        }
        let (n, v) = line
            .split_once(':')
            .ok_or_else(|| format!("bad header line {line:?}"))?;
        headers.push((n.trim().to_owned(), v.trim().to_owned()));
    }
    let mut resp = Resp {
        status,
        headers,
        body: Vec::new(),
    };
    if head || status < 200 || status == 204 || status == 304 {
        return Ok(resp);
    }
    match resp.header("content-length") {
        Some(len) => {
            let len: usize = len
                .parse()
                .map_err(|_| format!("bad Content-Length {len:?}"))?;
            resp.body = vec![0; len];
            conn.read_exact(&mut resp.body)
                .map_err(|e| format!("reading a {len}-byte body: {e}"))?;
        }
        None => {
            if resp.header("transfer-encoding").is_some() {
                return Err("chunked responses are not expected from generated routes".into());
            }
            conn.read_to_end(&mut resp.body)
                .map_err(|e| format!("reading a body to EOF: {e}"))?;
        }
    }
    Ok(resp)
}

/// Whether something answers on `addr` (for waiting on a child process).
pub fn answers(addr: SocketAddr) -> bool {
    TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok()
}
