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
//! `LIGHTAPI_BENCH_FILTER` (run only workloads whose name contains it),
//! `LIGHTAPI_BENCH_WORKERS` (handler threads for the database workloads,
//! default 8, the size of its database pool), `LIGHTAPI_BENCH_POSTGRES_URL` (default
//! `postgres://postgres@127.0.0.1:5432/test`; the PostgreSQL workloads need
//! `--features postgres` and are skipped, with the reason, otherwise).

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/lightapi_app.rs"]
mod bench_app;
#[path = "support/loadgen.rs"]
mod loadgen;

use std::time::Duration;

use lightapi::auth::{unix_now, JwtConfig};
use lightapi::config::{Config, JwtSecret, LogLevel};
use lightapi::LightApi;
use loadgen::{Report, Settings, Workload};

/// The secret the in-process server and the token share.
const SECRET: &[u8] = b"benchmark-secret-0123456789abcdef0123456789";

fn env_num(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn server_threads() -> usize {
    env_num("LIGHTAPI_BENCH_SERVER_THREADS", 1)
}

/// Handler threads: the database workloads run there, not on the reactor.
fn workers() -> usize {
    env_num("LIGHTAPI_BENCH_WORKERS", 8).max(1)
}

fn postgres_url() -> String {
    std::env::var("LIGHTAPI_BENCH_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
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

/// The workloads, in order. `auth` is the `Authorization` header line;
/// `ids` and `protected_ids` the seeded rows of `/person` and
/// `/protected/person`.
fn workloads(auth: &str, ids: &[i64], protected_ids: &[i64]) -> Vec<Workload> {
    vec![
        Workload::get("plaintext", "/plaintext", "", 1),
        Workload::get("plaintext pipelined x16", "/plaintext", "", 16),
        Workload::get("json", "/json", "", 1),
        Workload::get("plaintext + jwt", "/protected/plaintext", auth, 1),
        Workload::get("json + jwt", "/protected/json", auth, 1),
        Workload::get_each(
            "GET /person/{id}",
            &bench_app::item_paths("/person", ids),
            "",
            1,
        ),
        Workload::post_json("POST /person", "/person", "", bench_app::PERSON_BODY),
        Workload::get_each(
            "GET /person/{id} + jwt",
            &bench_app::item_paths("/protected/person", protected_ids),
            auth,
            1,
        ),
        Workload::post_json(
            "POST /person + jwt",
            "/protected/person",
            auth,
            bench_app::PERSON_BODY,
        ),
    ]
}

fn run_all(
    addr: std::net::SocketAddr,
    list: Vec<Workload>,
    settings: &Settings,
    filter: &str,
    reports: &mut Vec<Report>,
) {
    for w in list {
        if !w.name.contains(filter) {
            continue;
        }
        match loadgen::run(addr, &w, settings) {
            Ok(r) => {
                println!("{}", r.line());
                reports.push(r);
            }
            Err(e) => println!("{:<28} failed: {e}", w.name),
        }
    }
}

/// `GET /person/{id}` and `POST /person` on PostgreSQL, in a fresh schema;
/// skipped with the reason when the server (or the feature) is missing.
fn postgres_workloads(settings: &Settings, filter: &str, reports: &mut Vec<Report>) {
    let candidates = ["pg GET /person/{id}", "pg POST /person"];
    if !candidates.iter().any(|n| n.contains(filter)) {
        return;
    }
    let base = postgres_url();
    let schema = format!("lightapi_e2e_{}", std::process::id());
    let url = match bench_app::fresh_postgres_schema(&base, &schema) {
        Ok(url) => url,
        Err(reason) => {
            println!("PostgreSQL workloads skipped: {reason}");
            return;
        }
    };
    let ids = match bench_app::seed(&url, "person", bench_app::SEED_ROWS) {
        Ok(ids) => ids,
        Err(reason) => {
            println!("PostgreSQL workloads skipped: cannot seed: {reason}");
            bench_app::drop_postgres_schema(&base, &schema);
            return;
        }
    };
    let config = bench_config(&url);
    match bench_app::register(LightApi::with_config(config)).start() {
        Ok(server) => {
            let list = vec![
                Workload::get_each(
                    candidates[0],
                    &bench_app::item_paths("/person", &ids),
                    "",
                    1,
                ),
                Workload::post_json(candidates[1], "/person", "", bench_app::PERSON_BODY),
            ];
            run_all(server.local_addr(), list, settings, filter, reports);
            server.stop();
        }
        Err(e) => println!("PostgreSQL workloads skipped: the server did not start: {e}"),
    }
    bench_app::drop_postgres_schema(&base, &schema);
}

/// The server's configuration: quiet, on a free port, the benchmark's
/// threads and secret, on `url`.
fn bench_config(url: &str) -> Config {
    let mut config = Config::default();
    config.server.port = 0;
    config.server.reactors = server_threads();
    config.server.workers = workers();
    config.log = LogLevel::Off;
    config.jwt.secrets = vec![JwtSecret::new(SECRET.to_vec()).expect("a long secret")];
    config.database.url = url.parse().expect("a database URL");
    config
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
    let database_url = bench_app::fresh_sqlite("e2e");
    let rows = bench_app::SEED_ROWS;
    let ids = bench_app::seed(&database_url, "person", rows).expect("seeding SQLite");
    let protected_ids =
        bench_app::seed(&database_url, bench_app::PROTECTED_TABLE, rows).expect("seeding SQLite");
    let config = bench_config(&database_url);
    let app = bench_app::register_protected(bench_app::register(LightApi::with_config(config)));
    let server = app.start().expect("the benchmark server starts");
    let addr = server.local_addr();
    let auth = format!("Authorization: Bearer {}\r\n", token());
    println!(
        "lightapi end-to-end: {} connections, {:?} per workload after {:?} warm-up, {} server thread(s), {} worker(s), SQLite (WAL) {database_url} with {rows} rows, loopback {addr}",
        settings.conns,
        settings.duration,
        settings.warmup,
        server_threads(),
        workers()
    );
    let mut reports: Vec<Report> = Vec::new();
    run_all(
        addr,
        workloads(&auth, &ids, &protected_ids),
        &settings,
        &filter,
        &mut reports,
    );
    server.stop();
    bench_app::remove_sqlite(&database_url);
    postgres_workloads(&settings, &filter, &mut reports);
    let rps = |name: &str| reports.iter().find(|r| r.name == name).map(Report::rps);
    if let (Some(open), Some(jwt)) = (rps("json"), rps("json + jwt")) {
        let ratio = jwt / open;
        let verdict = if ratio >= 0.9 { "met" } else { "MISSED" };
        println!("target: JWT-protected GET /json >= 0.9x the open one: {ratio:.2}x, {verdict}");
    }
}
