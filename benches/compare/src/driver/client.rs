//! A blocking one-request-at-a-time HTTP/1.1 client for the functional
//! check and readiness probes (the measured load goes through `loadgen`).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use crate::loadgen::response::{self, Parsed};

const TIMEOUT: Duration = Duration::from_secs(10);

/// One response.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub etag: Option<String>,
    pub location: Option<String>,
    pub content_type: Option<String>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn json(&self) -> Result<serde_json::Value, String> {
        serde_json::from_slice(&self.body)
            .map_err(|e| format!("body is not JSON ({e}): {}", self.text()))
    }
}

/// Sends `raw` (one or more requests) on a new connection and reads `n`
/// responses.
pub fn exchange(addr: SocketAddr, raw: &[u8], n: usize) -> Result<Vec<Response>, String> {
    let mut s =
        TcpStream::connect_timeout(&addr, TIMEOUT).map_err(|e| format!("connect {addr}: {e}"))?;
    s.set_read_timeout(Some(TIMEOUT))
        .map_err(|e| e.to_string())?;
    s.write_all(raw).map_err(|e| format!("write: {e}"))?;
    let mut buf = Vec::new();
    let mut out = Vec::new();
    let mut chunk = [0u8; 16 * 1024];
    while out.len() < n {
        match response::parse(&buf) {
            Parsed::Complete(h) => {
                let text = |r: Option<(usize, usize)>| {
                    r.map(|(a, b)| String::from_utf8_lossy(&buf[a..b]).into_owned())
                };
                out.push(Response {
                    status: h.status,
                    etag: text(h.etag),
                    location: text(h.location),
                    content_type: text(h.content_type),
                    body: buf[h.body_at..h.len].to_vec(),
                });
                buf.drain(..h.len);
                continue;
            }
            Parsed::Invalid(why) => return Err(why),
            Parsed::Partial => {}
        }
        let got = s.read(&mut chunk).map_err(|e| format!("read: {e}"))?;
        if got == 0 {
            return Err(format!(
                "connection closed after {} of {n} responses",
                out.len()
            ));
        }
        buf.extend_from_slice(&chunk[..got]);
    }
    Ok(out)
}

/// One request: `method path`, optional extra header lines and JSON body.
pub fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &str,
    json: Option<&str>,
) -> Result<Response, String> {
    let mut raw = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\n{headers}");
    match json {
        Some(body) => raw.push_str(&format!(
            "Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )),
        None => raw.push_str("\r\n"),
    }
    exchange(addr, raw.as_bytes(), 1)?
        .pop()
        .ok_or_else(|| "no response".into())
}

pub fn get(addr: SocketAddr, path: &str) -> Result<Response, String> {
    request(addr, "GET", path, "", None)
}
