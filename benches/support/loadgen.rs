//! The project's own HTTP/1.1 load generator: one thread, one `mio::Poll`,
//! `N` keep-alive connections, each sending a batch of `pipeline` requests
//! and waiting for every response before sending the next batch (closed
//! loop, like wrk). Responses are framed by `Content-Length`.
//!
//! A workload is one request, or several that batches cycle through (e.g.
//! `GET /person/1` … `/person/1000`), optionally with a fixed-width
//! 20-digit slot that is overwritten with a number unique in the process
//! before every send (e.g. a distinct e-mail in each `POST /person` body).
//! Each connection assembles its batch in its own reused buffer, so
//! neither costs an allocation per request.
//!
//! Latencies go into a fixed-bucket histogram (no allocation per request).
//! For a pipelined workload the latency recorded is that of the whole batch
//! (write of the first request to the last response), once per batch.
//!
//! Server CPU time is measured for a server running in the same process:
//! the process's `utime + stime` (`/proc/self/stat`) minus this thread's own
//! (`/proc/thread-self/stat`), sampled when measurement starts and ends. Any
//! other thread of the process must be idle during a run.
//!
//! Shared by `benches/e2e.rs` and the comparison crate (`benches/compare`)
//! through `#[path]`, so both drive servers identically.

#![allow(dead_code)]

use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

#[path = "cpu_time.rs"]
mod cpu_time;
#[path = "histogram.rs"]
mod histogram;
pub use histogram::Histogram;

use mio::net::TcpStream;
use mio::{Events, Interest, Poll, Token};

/// Bytes read per `read` call; also the size of each connection's buffer.
const READ_BUF: usize = 64 * 1024;
/// How long the generator waits for outstanding responses after the run.
const DRAIN: Duration = Duration::from_secs(2);

/// Run length and concurrency, from `LIGHTAPI_BENCH_*` variables.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Open connections (`LIGHTAPI_BENCH_CONNS`, default 64).
    pub conns: usize,
    /// Measured time per workload (`LIGHTAPI_BENCH_SECS`, default 3).
    pub duration: Duration,
    /// Unmeasured ramp-up before it (`LIGHTAPI_BENCH_WARMUP_MS`, default 500).
    pub warmup: Duration,
}

impl Settings {
    /// The settings from the environment, with `default_secs` when
    /// `LIGHTAPI_BENCH_SECS` is not set.
    pub fn from_env(default_secs: f64) -> Settings {
        let num = |name: &str| {
            std::env::var(name)
                .ok()
                .and_then(|v| v.trim().parse::<f64>().ok())
        };
        Settings {
            conns: num("LIGHTAPI_BENCH_CONNS").map_or(64, |n| n.max(1.0) as usize),
            duration: Duration::from_secs_f64(
                num("LIGHTAPI_BENCH_SECS").unwrap_or(default_secs).max(0.1),
            ),
            warmup: Duration::from_millis(
                num("LIGHTAPI_BENCH_WARMUP_MS").map_or(500, |n| n.max(0.0) as u64),
            ),
        }
    }
}

/// What to send: one request's bytes (or several to cycle through),
/// `pipeline` requests per write.
#[derive(Debug, Clone)]
pub struct Workload {
    /// Shown in reports.
    pub name: String,
    /// Complete requests; consecutive requests cycle through them.
    pub requests: Vec<Vec<u8>>,
    /// Offset of a [`UNIQUE_DIGITS`]-wide slot in every request, filled
    /// before each send with a number unique in this process.
    pub unique_at: Option<usize>,
    /// Requests per write (1 = no pipelining).
    pub pipeline: usize,
    /// The status that counts as success (200, or 201 for a create).
    pub expect: u16,
}

/// The marker a body template uses for the unique number.
pub const UNIQUE: &str = "{n}";
/// Width of the unique number (zero-padded decimal of a `u64`).
pub const UNIQUE_DIGITS: usize = 20;

fn head(method: &str, path: &str, extra: &str) -> String {
    format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: */*\r\nConnection: keep-alive\r\n{extra}"
    )
}

impl Workload {
    /// `GET path` with the headers wrk sends, plus `extra` header lines
    /// (each ending in CRLF).
    pub fn get(name: &str, path: &str, extra: &str, pipeline: usize) -> Workload {
        Workload::get_each(name, &[path.to_string()], extra, pipeline)
    }

    /// `GET` of each of `paths` in turn (e.g. one row after another).
    pub fn get_each(name: &str, paths: &[String], extra: &str, pipeline: usize) -> Workload {
        Workload {
            name: name.to_string(),
            requests: paths
                .iter()
                .map(|p| format!("{}\r\n", head("GET", p, extra)).into_bytes())
                .collect(),
            unique_at: None,
            pipeline: pipeline.max(1),
            expect: 200,
        }
    }

    /// `POST path` with a JSON body; the first [`UNIQUE`] in `body` becomes a
    /// number unique in this process for every request. Success is `201`.
    pub fn post_json(name: &str, path: &str, extra: &str, body: &str) -> Workload {
        let (body, slot) = match body.split_once(UNIQUE) {
            Some((a, b)) => (
                format!("{a}{}{b}", "0".repeat(UNIQUE_DIGITS)),
                Some(a.len()),
            ),
            None => (body.to_string(), None),
        };
        let head = format!(
            "{}Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            head("POST", path, extra),
            body.len()
        );
        Workload {
            name: name.to_string(),
            unique_at: slot.map(|s| head.len() + s),
            requests: vec![format!("{head}{body}").into_bytes()],
            pipeline: 1,
            expect: 201,
        }
    }

    /// The same workload, displayed as `name`.
    pub fn named(&self, name: &str) -> Workload {
        Workload {
            name: name.to_string(),
            ..self.clone()
        }
    }
}

/// The next number for a [`UNIQUE`] slot: the process start time in
/// seconds (mod 10^9) times 10^10, plus a counter, so runs of the same
/// program against the same database do not collide either.
fn next_unique() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::OnceLock;
    static BASE: OnceLock<u64> = OnceLock::new();
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let base = *BASE.get_or_init(|| {
        let secs = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        (secs % 1_000_000_000) * 10_000_000_000
    });
    base + NEXT.fetch_add(1, Ordering::Relaxed)
}

/// Writes `n` as zero-padded decimal into `slot` (no allocation).
fn write_digits(slot: &mut [u8], mut n: u64) {
    for b in slot.iter_mut().rev() {
        *b = b'0' + (n % 10) as u8;
        n /= 10;
    }
}

/// The outcome of one run.
pub struct Report {
    /// The workload's name.
    pub name: String,
    /// Responses received during the measured window.
    pub requests: u64,
    /// Responses whose status was not the expected one, plus connections
    /// lost.
    pub errors: u64,
    /// The measured window.
    pub elapsed: Duration,
    /// Batch latencies in nanoseconds.
    pub latency: Histogram,
    /// Server CPU time during the window (`None` when /proc is unreadable).
    pub server_cpu: Option<Duration>,
}

impl Report {
    /// Requests per second.
    pub fn rps(&self) -> f64 {
        self.requests as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// Median latency.
    pub fn p50(&self) -> Duration {
        Duration::from_nanos(self.latency.quantile(0.50))
    }

    /// 99th-percentile latency.
    pub fn p99(&self) -> Duration {
        Duration::from_nanos(self.latency.quantile(0.99))
    }

    /// Server CPU microseconds per request.
    pub fn cpu_us_per_request(&self) -> Option<f64> {
        let cpu = self.server_cpu?;
        (self.requests > 0).then(|| cpu.as_secs_f64() * 1e6 / self.requests as f64)
    }

    /// One line: name, req/s, p50, p99, CPU per request, errors.
    pub fn line(&self) -> String {
        let cpu = self
            .cpu_us_per_request()
            .map_or_else(|| "   n/a".to_string(), |c| format!("{c:6.2}"));
        format!(
            "{:<28} {:>11.0} req/s  p50 {:>9}  p99 {:>9}  cpu {} µs/req  errors {}",
            self.name,
            self.rps(),
            fmt_duration(self.p50()),
            fmt_duration(self.p99()),
            cpu,
            self.errors
        )
    }
}

/// `123µs` or `1.23ms`.
pub fn fmt_duration(d: Duration) -> String {
    let us = d.as_secs_f64() * 1e6;
    if us < 1000.0 {
        format!("{us:.0}µs")
    } else {
        format!("{:.2}ms", us / 1000.0)
    }
}

/// CPU time (user + system) of the whole process and of the calling
/// thread, from procfs, in clock ticks converted to a `Duration`.
fn cpu_times() -> Option<(Duration, Duration)> {
    Some((
        cpu_time::cpu_time("/proc/self/stat")?,
        cpu_time::cpu_time("/proc/thread-self/stat")?,
    ))
}

struct Client {
    stream: TcpStream,
    /// The batch in flight (`pipeline` requests), written from `wpos`;
    /// reused from batch to batch.
    batch: Vec<u8>,
    wpos: usize,
    rbuf: Vec<u8>,
    rlen: usize,
    /// Responses still owed for the batch in flight.
    outstanding: usize,
    sent_at: Instant,
    dead: bool,
}

pub enum Parsed {
    /// A whole response of this many bytes with this status.
    Response {
        len: usize,
        status: u16,
    },
    Partial,
    Invalid,
}

/// Frames one response at the start of `buf` by its `Content-Length`.
pub fn parse_response(buf: &[u8]) -> Parsed {
    let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
        return if buf.len() > 16 * 1024 {
            Parsed::Invalid
        } else {
            Parsed::Partial
        };
    };
    let head = &buf[..end];
    let status = match head.get(9..12).and_then(|s| std::str::from_utf8(s).ok()) {
        Some(s) => s.parse::<u16>().unwrap_or(0),
        None => return Parsed::Invalid,
    };
    let mut length = 0usize;
    for line in head.split(|&b| b == b'\n').skip(1) {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.len() > 15 && line[..15].eq_ignore_ascii_case(b"content-length:") {
            match std::str::from_utf8(&line[15..])
                .ok()
                .and_then(|v| v.trim().parse().ok())
            {
                Some(n) => length = n,
                None => return Parsed::Invalid,
            }
        }
    }
    let total = end + 4 + length;
    if buf.len() < total {
        Parsed::Partial
    } else {
        Parsed::Response { len: total, status }
    }
}

/// Runs `workload` against `addr` and reports on the measured window.
///
/// # Errors
/// When connecting or polling fails.
pub fn run(addr: SocketAddr, workload: &Workload, settings: &Settings) -> io::Result<Report> {
    let longest = workload.requests.iter().map(Vec::len).max().unwrap_or(0);
    let mut next_request = 0usize;
    let mut poll = Poll::new()?;
    let mut clients = Vec::with_capacity(settings.conns);
    for i in 0..settings.conns {
        let std_stream = std::net::TcpStream::connect(addr)?;
        std_stream.set_nodelay(true)?;
        std_stream.set_nonblocking(true)?;
        let mut stream = TcpStream::from_std(std_stream);
        poll.registry().register(
            &mut stream,
            Token(i),
            Interest::READABLE | Interest::WRITABLE,
        )?;
        clients.push(Client {
            stream,
            batch: Vec::with_capacity(longest * workload.pipeline),
            wpos: 0,
            rbuf: vec![0u8; READ_BUF],
            rlen: 0,
            outstanding: 0,
            sent_at: Instant::now(),
            dead: false,
        });
    }
    let mut events = Events::with_capacity(1024);
    let mut latency = Histogram::default();
    let mut requests = 0u64;
    let mut errors = 0u64;
    let start = Instant::now();
    let measure_from = start + settings.warmup;
    let measure_to = measure_from + settings.duration;
    let mut measuring = false;
    let mut cpu_start = None;
    let mut cpu_end = None;
    let (mut window_start, mut window_end) = (measure_from, measure_to);
    // Kick every connection off.
    for c in clients.iter_mut() {
        start_batch(c, workload, &mut next_request);
        errors += u64::from(pump(c, workload.expect, None, &mut 0, &mut 0));
    }
    loop {
        let now = Instant::now();
        if !measuring && now >= measure_from && now < measure_to {
            measuring = true;
            window_start = now;
            cpu_start = cpu_times();
        }
        if now >= measure_to {
            if cpu_end.is_none() {
                cpu_end = cpu_times();
                window_end = now;
                measuring = false;
            }
            let busy = clients.iter().any(|c| !c.dead && c.outstanding > 0);
            if !busy || now >= measure_to + DRAIN {
                break;
            }
        }
        let wait = if now < measure_to {
            (if measuring { measure_to } else { measure_from }).saturating_duration_since(now)
        } else {
            Duration::from_millis(10)
        };
        poll.poll(&mut events, Some(wait.max(Duration::from_micros(100))))?;
        let sending = Instant::now() < measure_to;
        for event in events.iter() {
            let Some(c) = clients.get_mut(event.token().0) else {
                continue;
            };
            loop {
                if c.dead {
                    break;
                }
                let (mut done, mut bad) = (0u64, 0u64);
                let rec = if measuring { Some(&mut latency) } else { None };
                let lost = pump(c, workload.expect, rec, &mut done, &mut bad);
                if measuring {
                    requests += done;
                    errors += bad;
                }
                errors += u64::from(lost);
                if c.dead || c.outstanding > 0 || !sending {
                    break;
                }
                start_batch(c, workload, &mut next_request);
            }
        }
    }
    let server_cpu = match (cpu_start, cpu_end) {
        (Some((p0, t0)), Some((p1, t1))) => {
            Some((p1.saturating_sub(p0)).saturating_sub(t1.saturating_sub(t0)))
        }
        _ => None,
    };
    Ok(Report {
        name: workload.name.clone(),
        requests,
        errors,
        elapsed: window_end.saturating_duration_since(window_start),
        latency,
        server_cpu,
    })
}

/// Assembles the next batch in the connection's buffer: the next
/// `pipeline` requests of the cycle, unique slots filled.
fn start_batch(c: &mut Client, workload: &Workload, next_request: &mut usize) {
    c.batch.clear();
    for _ in 0..workload.pipeline {
        let Some(request) = workload
            .requests
            .get(*next_request % workload.requests.len().max(1))
        else {
            break;
        };
        *next_request = next_request.wrapping_add(1);
        let start = c.batch.len();
        c.batch.extend_from_slice(request);
        if let Some(at) = workload.unique_at {
            if let Some(slot) = c.batch.get_mut(start + at..start + at + UNIQUE_DIGITS) {
                write_digits(slot, next_unique());
            }
        }
    }
    c.wpos = 0;
    c.outstanding = workload.pipeline;
    c.sent_at = Instant::now();
}

/// Writes what is pending and reads what has arrived; returns whether the
/// connection was lost. Completed responses are counted in `done` (status
/// `expect`) or `bad`; a completed batch's latency goes to `rec`.
fn pump(
    c: &mut Client,
    expect: u16,
    rec: Option<&mut Histogram>,
    done: &mut u64,
    bad: &mut u64,
) -> bool {
    while c.wpos < c.batch.len() {
        match c.stream.write(&c.batch[c.wpos..]) {
            Ok(0) => return lose(c),
            Ok(n) => c.wpos += n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return lose(c),
        }
    }
    loop {
        if c.rlen == c.rbuf.len() {
            return lose(c);
        }
        match c.stream.read(&mut c.rbuf[c.rlen..]) {
            Ok(0) => return lose(c),
            Ok(n) => c.rlen += n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return lose(c),
        }
    }
    let mut used = 0;
    loop {
        match parse_response(&c.rbuf[used..c.rlen]) {
            Parsed::Partial => break,
            Parsed::Invalid => return lose(c),
            Parsed::Response { len, status } => {
                used += len;
                if c.outstanding == 0 {
                    // More responses than requests.
                    return lose(c);
                }
                c.outstanding -= 1;
                if status == expect {
                    *done += 1;
                } else {
                    *bad += 1;
                }
            }
        }
    }
    if c.outstanding == 0 && used > 0 {
        if let Some(h) = rec {
            h.record(c.sent_at.elapsed().as_nanos() as u64);
        }
    }
    if used > 0 {
        c.rbuf.copy_within(used..c.rlen, 0);
        c.rlen -= used;
    }
    false
}

fn lose(c: &mut Client) -> bool {
    c.dead = true;
    true
}
