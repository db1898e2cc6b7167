//! `lightapi-compare loadgen --addr A --pid P --workload W …`: the load
//! generator, one thread and one `mio::Poll` driving `--conns` keep-alive
//! connections in a closed loop (each sends its next request, or batch of
//! `--pipeline`, when the previous one is answered), like `wrk -t1 -cN`.
//! The driver runs it pinned to the core the server is not on.
//!
//! After `--warmup-ms` (not measured) it measures for `--duration-ms`:
//! responses with the workload's expected status, the others by status,
//! connections lost, the latency of every request (of every batch when
//! pipelined: first byte written to last response read), and the server's
//! CPU time (`utime + stime` of process `--pid`, all its threads, from
//! `/proc/<pid>/stat`) sampled when the window opens and closes. It prints
//! one JSON object ([`Outcome`]) on stdout.

#[path = "../../../support/histogram.rs"]
#[allow(dead_code)]
mod histogram;
pub mod response;
mod workload;

use std::collections::BTreeMap;
use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use mio::net::TcpStream;
use mio::{Events, Interest, Poll, Token};
use serde::{Deserialize, Serialize};

use crate::procfs;
use histogram::Histogram;
use response::Parsed;
pub use workload::Kind;
use workload::{Requests, Sent};

const READ_BUF: usize = 256 * 1024;
/// How long to wait for responses still owed when the window closes.
const DRAIN: Duration = Duration::from_secs(2);

/// What one run measured, as printed on stdout.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Outcome {
    /// Responses with the expected status inside the window.
    pub requests: u64,
    /// Other responses inside the window, by status.
    pub bad_statuses: BTreeMap<u16, u64>,
    /// Connections closed or broken by the server, and unparseable
    /// responses (at any time).
    pub lost: u64,
    pub elapsed_s: f64,
    pub p50_us: f64,
    pub p99_us: f64,
    /// Server CPU seconds in the window (`None` when /proc was unreadable).
    pub server_cpu_s: Option<f64>,
    /// A `delete` run that used up its ids before the window closed.
    pub exhausted: bool,
    /// The first thing that went wrong, if anything did.
    pub first_error: Option<String>,
}

impl Outcome {
    pub fn errors(&self) -> u64 {
        self.bad_statuses.values().sum::<u64>() + self.lost
    }
}

/// The parsed command line.
struct Args {
    addr: SocketAddr,
    pid: u32,
    kind: Kind,
    conns: usize,
    warmup: Duration,
    duration: Duration,
    ids: Vec<i64>,
    unique_base: u64,
}

fn parse_args(args: &[String]) -> Result<Args, String> {
    let mut map = BTreeMap::new();
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let value = it
            .next()
            .ok_or_else(|| format!("loadgen: {flag} needs a value"))?;
        map.insert(flag.trim_start_matches("--").to_string(), value.clone());
    }
    let get = |k: &str| {
        map.get(k)
            .ok_or_else(|| format!("loadgen: --{k} is required"))
    };
    let num = |k: &str, default: u64| -> Result<u64, String> {
        map.get(k).map_or(Ok(default), |v| {
            v.parse().map_err(|e| format!("loadgen: --{k} {v}: {e}"))
        })
    };
    let pipeline = num("pipeline", 1)? as usize;
    let kind = match get("workload")?.as_str() {
        "get" => Kind::Get {
            path: get("path")?.clone(),
            pipeline,
        },
        "get-ids" => Kind::GetIds,
        "post" => Kind::Post,
        "patch" => Kind::Patch,
        "delete" => Kind::Delete,
        other => return Err(format!("loadgen: unknown workload {other}")),
    };
    let ids = match map.get("ids-file") {
        Some(path) => std::fs::read_to_string(path)
            .map_err(|e| format!("loadgen: {path}: {e}"))?
            .split_whitespace()
            .map(|s| {
                s.parse::<i64>()
                    .map_err(|e| format!("loadgen: {path}: {s}: {e}"))
            })
            .collect::<Result<Vec<_>, _>>()?,
        None => Vec::new(),
    };
    if kind.needs_ids() && ids.is_empty() {
        return Err("loadgen: this workload needs a non-empty --ids-file".into());
    }
    Ok(Args {
        addr: get("addr")?
            .parse()
            .map_err(|e| format!("loadgen: --addr: {e}"))?,
        pid: num("pid", 0)? as u32,
        kind,
        conns: num("conns", 64)?.max(1) as usize,
        warmup: Duration::from_millis(num("warmup-ms", 2000)?),
        duration: Duration::from_millis(num("duration-ms", 8000)?.max(1)),
        ids,
        unique_base: num("unique-base", 0)?,
    })
}

/// Entry point of the `loadgen` subcommand.
pub fn main(args: &[String]) -> Result<(), String> {
    let args = parse_args(args)?;
    if let Kind::Patch = args.kind {
        if args.ids.len() < args.conns {
            return Err(format!(
                "loadgen: patch needs a row per connection: {} ids for {} connections",
                args.ids.len(),
                args.conns
            ));
        }
    }
    let outcome = run(&args).map_err(|e| format!("loadgen: {e}"))?;
    let line = serde_json::to_string(&outcome).map_err(|e| e.to_string())?;
    println!("{line}");
    Ok(())
}

struct Conn {
    stream: TcpStream,
    out: Vec<u8>,
    wpos: usize,
    rbuf: Vec<u8>,
    rlen: usize,
    /// Responses still owed for what was sent.
    outstanding: usize,
    sent: Sent,
    sent_at: Instant,
    dead: bool,
    /// `patch`: the connection's row and its last ETag.
    row: Option<i64>,
    etag: Option<Vec<u8>>,
    /// No more work (a `delete` out of ids).
    done: bool,
}

struct Tally {
    measuring: bool,
    requests: u64,
    bad: BTreeMap<u16, u64>,
    lost: u64,
    latency: Histogram,
    first_error: Option<String>,
}

impl Tally {
    fn error(&mut self, what: impl FnOnce() -> String) {
        if self.first_error.is_none() {
            self.first_error = Some(what());
        }
    }
}

fn connect(addr: SocketAddr) -> io::Result<TcpStream> {
    let s = std::net::TcpStream::connect(addr)?;
    s.set_nodelay(true)?;
    s.set_nonblocking(true)?;
    Ok(TcpStream::from_std(s))
}

fn run(args: &Args) -> io::Result<Outcome> {
    let mut requests = Requests::new(
        args.kind.clone(),
        args.addr.port(),
        args.ids.clone(),
        args.unique_base,
    );
    let pipeline = args.kind.pipeline();
    let expect = args.kind.expect();
    let mut poll = Poll::new()?;
    let mut conns = Vec::with_capacity(args.conns);
    for i in 0..args.conns {
        let mut stream = connect(args.addr)?;
        poll.registry().register(
            &mut stream,
            Token(i),
            Interest::READABLE | Interest::WRITABLE,
        )?;
        let row = if let Kind::Patch = args.kind {
            requests.own_row(i)
        } else {
            None
        };
        conns.push(Conn {
            stream,
            out: Vec::with_capacity(1024 * pipeline),
            wpos: 0,
            rbuf: vec![0; READ_BUF],
            rlen: 0,
            outstanding: 0,
            sent: Sent::Measured,
            sent_at: Instant::now(),
            dead: false,
            row,
            etag: None,
            done: false,
        });
    }
    let mut tally = Tally {
        measuring: false,
        requests: 0,
        bad: BTreeMap::new(),
        lost: 0,
        latency: Histogram::default(),
        first_error: None,
    };
    let start = Instant::now();
    let (measure_from, measure_to) = (start + args.warmup, start + args.warmup + args.duration);
    let (mut window_start, mut window_end) = (measure_from, measure_to);
    let (mut cpu_start, mut cpu_end, mut closed) = (None, None, false);
    for c in conns.iter_mut() {
        send_next(c, &mut requests, pipeline);
        pump(c, expect, &mut tally);
    }
    let mut events = Events::with_capacity(1024);
    loop {
        let now = Instant::now();
        if !tally.measuring && !closed && now >= measure_from {
            tally.measuring = true;
            window_start = now;
            cpu_start = procfs::cpu_time(args.pid);
        }
        if now >= measure_to && !closed {
            closed = true;
            tally.measuring = false;
            cpu_end = procfs::cpu_time(args.pid);
            window_end = now;
        }
        if closed {
            let busy = conns.iter().any(|c| !c.dead && c.outstanding > 0);
            if !busy || now >= measure_to + DRAIN {
                break;
            }
        }
        if conns
            .iter()
            .all(|c| c.dead || (c.done && c.outstanding == 0))
            && !closed
        {
            // Nothing left to send: a delete run out of ids, or every
            // connection lost. Wait out the window so it is comparable.
            std::thread::sleep(
                measure_to
                    .saturating_duration_since(now)
                    .min(Duration::from_millis(50)),
            );
            continue;
        }
        let wait = if closed {
            Duration::from_millis(10)
        } else if tally.measuring {
            measure_to.saturating_duration_since(now)
        } else {
            measure_from.saturating_duration_since(now)
        };
        poll.poll(&mut events, Some(wait.max(Duration::from_micros(100))))?;
        let sending = Instant::now() < measure_to;
        for event in events.iter() {
            let Some(c) = conns.get_mut(event.token().0) else {
                continue;
            };
            loop {
                if c.dead {
                    break;
                }
                pump(c, expect, &mut tally);
                if c.dead || c.outstanding > 0 || !sending || c.done {
                    break;
                }
                send_next(c, &mut requests, pipeline);
            }
        }
    }
    let server_cpu_s = match (cpu_start, cpu_end) {
        (Some(a), Some(b)) => Some(b.saturating_sub(a).as_secs_f64()),
        _ => None,
    };
    let exhausted = conns.iter().any(|c| c.done);
    if exhausted {
        tally.error(|| {
            "ran out of ids to delete before the window closed (raise the delete rate estimate)"
                .into()
        });
    }
    Ok(Outcome {
        requests: tally.requests,
        bad_statuses: tally.bad,
        lost: tally.lost,
        elapsed_s: window_end
            .saturating_duration_since(window_start)
            .as_secs_f64(),
        p50_us: tally.latency.quantile(0.50) as f64 / 1000.0,
        p99_us: tally.latency.quantile(0.99) as f64 / 1000.0,
        server_cpu_s,
        exhausted,
        first_error: tally.first_error,
    })
}

/// Puts the connection's next request (batch) in its buffer.
fn send_next(c: &mut Conn, requests: &mut Requests, pipeline: usize) {
    match requests.fill(&mut c.out, c.row, c.etag.as_deref()) {
        Some(sent) => {
            c.sent = sent;
            c.wpos = 0;
            c.outstanding = if sent == Sent::Refresh { 1 } else { pipeline };
            c.sent_at = Instant::now();
        }
        None => {
            c.out.clear();
            c.done = true;
        }
    }
}

fn lose(c: &mut Conn, tally: &mut Tally, why: String) {
    c.dead = true;
    tally.lost += 1;
    tally.error(|| why);
}

/// Writes what is pending, reads what arrived, and accounts for every
/// complete response.
fn pump(c: &mut Conn, expect: u16, tally: &mut Tally) {
    while c.wpos < c.out.len() {
        match c.stream.write(&c.out[c.wpos..]) {
            Ok(0) => return lose(c, tally, "connection closed while writing".into()),
            Ok(n) => c.wpos += n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return lose(c, tally, format!("write: {e}")),
        }
    }
    loop {
        if c.rlen == c.rbuf.len() {
            return lose(c, tally, "response larger than the read buffer".into());
        }
        match c.stream.read(&mut c.rbuf[c.rlen..]) {
            Ok(0) => {
                if c.outstanding > 0 || c.rlen > 0 {
                    return lose(c, tally, "connection closed by the server".into());
                }
                c.dead = true;
                return;
            }
            Ok(n) => c.rlen += n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return lose(c, tally, format!("read: {e}")),
        }
    }
    let mut used = 0;
    let mut completed = false;
    loop {
        let head = match response::parse(&c.rbuf[used..c.rlen]) {
            Parsed::Partial => break,
            Parsed::Invalid(why) => return lose(c, tally, why),
            Parsed::Complete(head) => head,
        };
        let resp = &c.rbuf[used..used + head.len];
        used += head.len;
        if c.outstanding == 0 {
            return lose(c, tally, "a response nobody asked for".into());
        }
        c.outstanding -= 1;
        completed = c.outstanding == 0;
        let etag = head.etag.map(|(a, b)| resp[a..b].to_vec());
        if c.sent == Sent::Refresh {
            match (head.status, etag) {
                (200, Some(tag)) => c.etag = Some(tag),
                (status, _) => {
                    let body = String::from_utf8_lossy(&resp[head.body_at..]).into_owned();
                    return lose(
                        c,
                        tally,
                        format!("GET of the row to patch: status {status}, no usable ETag: {body}"),
                    );
                }
            }
            continue;
        }
        if c.row.is_some() {
            // patch: the next If-Match is this response's ETag, or (after a
            // failure) whatever a fresh GET says.
            c.etag = if head.status == expect { etag } else { None };
            if head.status == expect && c.etag.is_none() {
                tally.error(|| "a 200 PATCH response without ETag".into());
            }
        }
        if tally.measuring {
            if head.status == expect {
                tally.requests += 1;
            } else {
                *tally.bad.entry(head.status).or_insert(0) += 1;
            }
        }
        if head.status != expect {
            let body = String::from_utf8_lossy(&resp[head.body_at..]);
            let msg = format!(
                "status {} (expected {expect}): {}",
                head.status,
                body.chars().take(200).collect::<String>()
            );
            tally.error(|| msg);
        }
    }
    if completed && tally.measuring && c.sent == Sent::Measured {
        tally.latency.record(c.sent_at.elapsed().as_nanos() as u64);
    }
    if used > 0 {
        c.rbuf.copy_within(used..c.rlen, 0);
        c.rlen -= used;
    }
}
