//! Bulk writes: 1,000 rows created by one `POST /person` with a JSON array
//! (one transaction) against the same rows created by 1,000 single `POST`s
//! sent one after another on one keep-alive connection, on SQLite and, with
//! `--features postgres` and a server, on PostgreSQL.
//!
//! ```sh
//! cargo bench --bench bulk
//! LIGHTAPI_BENCH_ROUNDS=10 cargo bench --bench bulk --features postgres
//! ```
//!
//! Variables: `LIGHTAPI_BENCH_ROUNDS` (rounds of each way, default 5; the
//! median is reported), `LIGHTAPI_BENCH_FILTER` (run only the cases whose
//! name, `bulk sqlite` or `bulk pg`, contains it), `LIGHTAPI_BENCH_POSTGRES_URL` (default
//! `postgres://postgres@127.0.0.1:5432/test`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/lightapi_app.rs"]
mod bench_app;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use lightapi::config::{Config, LogLevel};
use lightapi::LightApi;

/// Rows per round, each way.
const ROWS: usize = 1000;

fn postgres_url() -> String {
    std::env::var("LIGHTAPI_BENCH_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

/// One keep-alive connection sending requests one at a time.
struct Conn {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl Conn {
    fn new(addr: SocketAddr) -> Conn {
        let stream = TcpStream::connect(addr).expect("connect");
        stream.set_nodelay(true).expect("nodelay");
        stream
            .set_read_timeout(Some(Duration::from_secs(60)))
            .expect("timeout");
        Conn {
            stream,
            buf: Vec::with_capacity(64 * 1024),
        }
    }

    /// `POST path` with a JSON `body`: the status.
    fn post(&mut self, path: &str, body: &[u8]) -> u16 {
        let head = format!(
            "POST {path} HTTP/1.1\r\nHost: b\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        self.stream.write_all(head.as_bytes()).expect("write");
        self.stream.write_all(body).expect("write");
        self.read_response()
    }

    /// Reads one response framed by `Content-Length`: its status.
    fn read_response(&mut self) -> u16 {
        self.buf.clear();
        let mut chunk = [0u8; 16 * 1024];
        let end = loop {
            if let Some(i) = self.buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
            let n = self.stream.read(&mut chunk).expect("read");
            assert!(n > 0, "the server closed the connection");
            self.buf.extend_from_slice(&chunk[..n]);
        };
        let head = String::from_utf8_lossy(&self.buf[..end]).to_ascii_lowercase();
        let status: u16 = head[9..12].parse().expect("a status");
        let length: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .map_or(0, |v| v.trim().parse().expect("a length"));
        while self.buf.len() < end + length {
            let n = self.stream.read(&mut chunk).expect("read");
            assert!(n > 0, "the server closed the connection");
            self.buf.extend_from_slice(&chunk[..n]);
        }
        status
    }
}

/// The bodies of round `round`: each row's email unique in the run.
fn rows(tag: &str, round: usize) -> Vec<String> {
    (0..ROWS)
        .map(|i| format!(r#"{{"name":"Bulk User","email":"{tag}-{round}-{i}@example.com"}}"#))
        .collect()
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// Runs `rounds` of each way on the server at `addr`; prints and returns
/// the median times (single POSTs, bulk).
fn measure(name: &str, addr: SocketAddr, rounds: usize) -> (Duration, Duration) {
    let mut conn = Conn::new(addr);
    let (mut singles, mut bulks) = (Vec::new(), Vec::new());
    for round in 0..rounds {
        let bodies = rows("single", round);
        let start = Instant::now();
        for body in &bodies {
            assert_eq!(conn.post("/person", body.as_bytes()), 201);
        }
        singles.push(start.elapsed());
        let array = format!("[{}]", rows("bulk", round).join(","));
        let start = Instant::now();
        assert_eq!(conn.post("/person", array.as_bytes()), 201);
        bulks.push(start.elapsed());
    }
    let (single, bulk) = (median(singles), median(bulks));
    let per_s = |d: Duration| ROWS as f64 / d.as_secs_f64();
    println!(
        "{name}: {ROWS} single POSTs {:>9.1} ms ({:>8.0} rows/s) | one bulk POST {:>7.1} ms ({:>8.0} rows/s) | {:.1}x",
        single.as_secs_f64() * 1e3,
        per_s(single),
        bulk.as_secs_f64() * 1e3,
        per_s(bulk),
        single.as_secs_f64() / bulk.as_secs_f64()
    );
    (single, bulk)
}

fn config(url: &str) -> Config {
    let mut config = Config::default();
    config.server.port = 0;
    config.server.reactors = 1;
    config.log = LogLevel::Off;
    config.database.url = url.parse().expect("a database URL");
    config
}

/// Starts the benchmark app on `url` (its tables made by seeding no row)
/// and measures.
fn run(name: &str, url: &str, rounds: usize) {
    if let Err(reason) = bench_app::seed(url, "person", 0) {
        println!("{name} skipped: {reason}");
        return;
    }
    match bench_app::register(LightApi::with_config(config(url))).start() {
        Ok(server) => {
            measure(name, server.local_addr(), rounds);
            server.stop();
        }
        Err(e) => println!("{name} skipped: the server did not start: {e}"),
    }
}

fn main() {
    let quick =
        std::env::args().any(|a| a == "--test") || !std::env::args().any(|a| a == "--bench");
    let rounds = if quick {
        1
    } else {
        std::env::var("LIGHTAPI_BENCH_ROUNDS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(5usize)
            .max(1)
    };
    let filter = std::env::var("LIGHTAPI_BENCH_FILTER").unwrap_or_default();
    println!("lightapi bulk writes: {ROWS} rows each way, median of {rounds} round(s), loopback, one connection");
    if "bulk sqlite".contains(&filter) {
        let url = bench_app::fresh_sqlite("bulk");
        run("bulk sqlite", &url, rounds);
        bench_app::remove_sqlite(&url);
    }
    if "bulk pg".contains(&filter) {
        let base = postgres_url();
        let schema = format!("lightapi_bulk_{}", std::process::id());
        match bench_app::fresh_postgres_schema(&base, &schema) {
            Ok(url) => run("bulk pg", &url, rounds),
            Err(reason) => println!("bulk pg skipped: {reason}"),
        }
        bench_app::drop_postgres_schema(&base, &schema);
    }
}
