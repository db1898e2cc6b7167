//! A fixed amount of event-loop work, for counting instructions rather than
//! timing: the benchmark server in-process, one keep-alive connection, and
//! `LIGHTAPI_PIPELINE_BATCHES` (default 3,000) batches of 16 pipelined
//! `GET` requests to `LIGHTAPI_PIPELINE_PATH` (default `/plaintext`), each
//! batch written at once and its 16 responses read before the next.
//!
//! Run alone it prints the wall time; `benches/instructions.sh` runs it
//! under `valgrind --tool=callgrind` and reports the server thread's
//! instructions per request, a figure that does not move with the load on
//! the machine.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/lightapi_app.rs"]
mod bench_app;
#[path = "support/loadgen.rs"]
mod loadgen;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Instant;

use lightapi::config::{Config, LogLevel};
use lightapi::LightApi;

/// Requests per batch.
const DEPTH: usize = 16;

fn main() {
    let batches: usize = std::env::var("LIGHTAPI_PIPELINE_BATCHES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3000);
    let path = std::env::var("LIGHTAPI_PIPELINE_PATH").unwrap_or_else(|_| "/plaintext".into());
    let dir = std::env::temp_dir().join(format!("lightapi-pipeline-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("scratch directory");
    let mut config = Config::default();
    config.server.port = 0;
    config.server.reactors = 1;
    config.server.workers = 2;
    config.log = LogLevel::Off;
    let url = format!("sqlite://{}", dir.join("bench.db").display());
    // The rows `GET /person/{id}` reads.
    bench_app::seed(&url, "person", 1000).expect("the person table is seeded");
    config.database.url = url.parse().expect("a database URL");
    let server = bench_app::register(LightApi::with_config(config))
        .start()
        .expect("the server starts");
    let mut stream = TcpStream::connect(server.local_addr()).expect("connect");
    stream.set_nodelay(true).expect("nodelay");
    let batch = format!(
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: */*\r\nConnection: keep-alive\r\n\r\n"
    )
    .repeat(DEPTH);
    let mut buf = vec![0u8; 64 * 1024];
    let mut pending = Vec::new();
    let started = Instant::now();
    for _ in 0..batches {
        stream.write_all(batch.as_bytes()).expect("write");
        pending.clear();
        // Every response here carries Content-Length; count complete ones.
        while complete_responses(&pending) < DEPTH {
            let n = stream.read(&mut buf).expect("read");
            assert!(n > 0, "the server closed the connection");
            pending.extend_from_slice(&buf[..n]);
        }
        // Only successes are measured: an error answer costs differently.
        assert!(
            all_succeeded(&pending),
            "an answer was not 2xx: {}",
            String::from_utf8_lossy(&pending[..pending.len().min(300)])
        );
    }
    let elapsed = started.elapsed();
    drop(stream);
    server.stop();
    let _ = std::fs::remove_dir_all(&dir);
    println!(
        "{} requests to {path} in {} batches of {DEPTH}: {:.1} ms",
        batches * DEPTH,
        batches,
        elapsed.as_secs_f64() * 1e3
    );
}

/// Whether every complete response in `bytes` has a 2xx status.
fn all_succeeded(mut bytes: &[u8]) -> bool {
    while let loadgen::Parsed::Response { len, status } = loadgen::parse_response(bytes) {
        if !(200..300).contains(&status) {
            return false;
        }
        bytes = bytes.get(len..).unwrap_or_default();
    }
    true
}

/// How many complete responses `bytes` holds (framed as the load
/// generator frames them).
fn complete_responses(mut bytes: &[u8]) -> usize {
    let mut count = 0;
    while let loadgen::Parsed::Response { len, .. } = loadgen::parse_response(bytes) {
        count += 1;
        bytes = bytes.get(len..).unwrap_or_default();
    }
    count
}
