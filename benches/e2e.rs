//! End-to-end throughput: the server in-process on loopback, driven by the
//! project's own load generator (`support/loadgen.rs`).
//!
//! ```sh
//! cargo bench --bench e2e
//! LIGHTAPI_BENCH_SECS=10 LIGHTAPI_BENCH_CONNS=64 cargo bench --bench e2e
//! ```
//!
//! Variables: `LIGHTAPI_BENCH_SECS` (measured seconds per workload, default
//! 2), `LIGHTAPI_BENCH_WARMUP_MS` (default 500), `LIGHTAPI_BENCH_CONNS`
//! (default 64), `LIGHTAPI_BENCH_SERVER_THREADS` (server event loops,
//! default 1: the load generator uses the other core of a 2-core machine),
//! `LIGHTAPI_BENCH_FILTER` (run only workloads whose name contains it).

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/lightapi_app.rs"]
mod bench_app;
#[path = "support/loadgen.rs"]
mod loadgen;

use std::time::Duration;

use lightapi::auth::jwt::{unix_now, JwtConfig};
use lightapi::{Config, LightApi, LogLevel};
use loadgen::{Report, Settings, Workload};

/// The secret the in-process server and the token share.
const SECRET: &[u8] = b"benchmark-secret-0123456789abcdef0123456789";

fn server_threads() -> usize {
    std::env::var("LIGHTAPI_BENCH_SERVER_THREADS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1)
}

/// A bearer token the server accepts, valid for a day.
fn token() -> String {
    let config = JwtConfig::new(SECRET).expect("secret is long enough");
    config.sign_subject(
        "bench",
        Duration::from_secs(86_400),
        unix_now(),
        Default::default(),
    )
}

/// The workloads, in order. `token` is the `Authorization` header line.
fn workloads(auth: &str) -> Vec<Workload> {
    vec![
        Workload::get("plaintext", "/plaintext", "", 1),
        Workload::get("plaintext pipelined x16", "/plaintext", "", 16),
        Workload::get("json", "/json", "", 1),
        Workload::get("plaintext + jwt", "/protected/plaintext", auth, 1),
        Workload::get("json + jwt", "/protected/json", auth, 1),
        // CRUD WORKLOADS GO HERE once database CRUD is merged, e.g.
        // `Workload::get("person by id", "/person/1", "", 1)` and a POST
        // workload for `POST /person` (the load generator then needs a
        // request body; see `Workload::request`).
    ]
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` passes nothing
    // special but we still keep that run short.
    let quick =
        std::env::args().any(|a| a == "--test") || !std::env::args().any(|a| a == "--bench");
    let settings = if quick {
        Settings {
            conns: 4,
            duration: Duration::from_millis(200),
            warmup: Duration::from_millis(50),
        }
    } else {
        Settings::from_env(2.0)
    };
    let filter = std::env::var("LIGHTAPI_BENCH_FILTER").unwrap_or_default();
    let config = Config {
        port: 0,
        log_level: LogLevel::Off,
        reactors: server_threads(),
        workers: 1,
        jwt_secrets: vec![SECRET.to_vec()],
        ..Config::default()
    };
    let app = bench_app::register_protected(bench_app::register(LightApi::with_config(config)));
    let server = app.start().expect("the benchmark server starts");
    let addr = server.local_addr();
    let auth = format!("Authorization: Bearer {}\r\n", token());
    println!(
        "lightapi end-to-end: {} connections, {:?} per workload after {:?} warm-up, {} server thread(s), loopback {addr}",
        settings.conns,
        settings.duration,
        settings.warmup,
        server_threads()
    );
    let mut reports: Vec<Report> = Vec::new();
    for w in workloads(&auth) {
        if !w.name.contains(filter.as_str()) {
            continue;
        }
        match loadgen::run(addr, &w, &settings) {
            Ok(r) => {
                println!("{}", r.line());
                reports.push(r);
            }
            Err(e) => println!("{:<28} failed: {e}", w.name),
        }
    }
    let rps = |name: &str| reports.iter().find(|r| r.name == name).map(Report::rps);
    if let (Some(open), Some(jwt)) = (rps("json"), rps("json + jwt")) {
        let ratio = jwt / open;
        let verdict = if ratio >= 0.9 { "met" } else { "MISSED" };
        println!("target: JWT-protected GET /json >= 0.9x the open one: {ratio:.2}x, {verdict}");
    }
    server.stop();
}
