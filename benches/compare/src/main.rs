//! lightapi against actix-web, axum and may_minihttp: the same workloads,
//! in the same run, driven by the same load generator
//! (`benches/support/loadgen.rs`), every server in this process so that
//! server CPU time per request is measured the same way for all.
//!
//! ```sh
//! cd benches/compare && cargo run --release
//! ```
//!
//! Variables: `LIGHTAPI_BENCH_SECS` (default 5), `LIGHTAPI_BENCH_WARMUP_MS`
//! (default 500), `LIGHTAPI_BENCH_CONNS` (default 64),
//! `LIGHTAPI_BENCH_SERVER_THREADS` (threads each server may use, default 1:
//! the load generator takes the other core of a 2-core machine),
//! `LIGHTAPI_BENCH_PEERS` (comma-separated subset of `actix,axum,may`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../../support/lightapi_app.rs"]
mod bench_app;
#[path = "../../support/loadgen.rs"]
mod loadgen;

use std::net::SocketAddr;
use std::sync::mpsc;
use std::time::Duration;

use loadgen::{Report, Settings, Workload};
use serde::Serialize;

#[derive(Serialize)]
struct Message {
    message: &'static str,
}

const HELLO: &str = "Hello, World!";
const SECRET: &[u8] = b"benchmark-secret-0123456789abcdef0123456789";

fn server_threads() -> usize {
    std::env::var("LIGHTAPI_BENCH_SERVER_THREADS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1)
}

fn start_lightapi(threads: usize) -> lightapi::ServerHandle {
    let config = lightapi::Config {
        port: 0,
        log_level: lightapi::LogLevel::Off,
        reactors: threads,
        workers: 1,
        jwt_secrets: vec![SECRET.to_vec()],
        ..lightapi::Config::default()
    };
    let app = lightapi::LightApi::with_config(config);
    bench_app::register_protected(bench_app::register(app))
        .start()
        .expect("lightapi starts")
}

fn start_actix(threads: usize) -> SocketAddr {
    use actix_web::{web, App, HttpResponse, HttpServer};
    async fn plaintext() -> HttpResponse {
        HttpResponse::Ok().content_type("text/plain").body(HELLO)
    }
    async fn json() -> HttpResponse {
        HttpResponse::Ok().json(Message { message: HELLO })
    }
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            let server = HttpServer::new(|| {
                App::new()
                    .route("/plaintext", web::get().to(plaintext))
                    .route("/json", web::get().to(json))
            })
            .workers(threads)
            .bind("127.0.0.1:0")
            .expect("actix binds");
            tx.send(server.addrs()[0]).unwrap();
            server.run().await.expect("actix runs");
        });
    });
    rx.recv().expect("actix address")
}

fn start_axum(threads: usize) -> SocketAddr {
    use axum::http::header::CONTENT_TYPE;
    use axum::routing::get;
    use axum::{Json, Router};
    let (tx, rx) = mpsc::channel();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads)
        .enable_all()
        .build()
        .expect("tokio runtime");
    std::thread::spawn(move || {
        runtime.block_on(async move {
            let app = Router::new()
                .route("/plaintext", get(|| async { ([(CONTENT_TYPE, "text/plain")], HELLO) }))
                .route("/json", get(|| async { Json(Message { message: HELLO }) }));
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("axum binds");
            tx.send(listener.local_addr().unwrap()).unwrap();
            axum::serve(listener, app).await.expect("axum runs");
        });
    });
    rx.recv().expect("axum address")
}

fn start_may(threads: usize) -> SocketAddr {
    use may_minihttp::{HttpService, HttpServiceFactory, Request, Response};
    struct Service;
    impl HttpService for Service {
        fn call(&mut self, req: Request<'_, '_, '_>, rsp: &mut Response<'_>) -> std::io::Result<()> {
            match req.path() {
                "/json" => {
                    rsp.header("Content-Type: application/json");
                    let body = serde_json::to_vec(&Message { message: HELLO })?;
                    rsp.body_vec(body);
                }
                "/plaintext" => {
                    rsp.header("Content-Type: text/plain").body(HELLO);
                }
                _ => {
                    rsp.status_code(404, "Not Found");
                }
            }
            Ok(())
        }
    }
    struct Factory;
    impl HttpServiceFactory for Factory {
        type Service = Service;
        fn new_service(&self, _id: usize) -> Service {
            Service
        }
    }
    may::config().set_workers(threads);
    // may_minihttp takes an address, not a listener: find a free port.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let server = Factory.start(addr).expect("may_minihttp starts");
    std::mem::forget(server);
    addr
}

struct Row {
    server: &'static str,
    report: Report,
}

fn main() {
    let settings = Settings::from_env(5.0);
    let threads = server_threads();
    let peers = std::env::var("LIGHTAPI_BENCH_PEERS").unwrap_or_else(|_| "actix,axum,may".into());
    let lightapi = start_lightapi(threads);
    let mut servers: Vec<(&'static str, SocketAddr)> = vec![("lightapi", lightapi.local_addr())];
    if peers.contains("actix") {
        servers.push(("actix-web", start_actix(threads)));
    }
    if peers.contains("axum") {
        servers.push(("axum", start_axum(threads)));
    }
    if peers.contains("may") {
        servers.push(("may_minihttp", start_may(threads)));
    }
    std::thread::sleep(Duration::from_millis(300));
    let token = lightapi::auth::JwtConfig::new(SECRET).unwrap().sign_subject(
        "bench",
        Duration::from_secs(86_400),
        lightapi::auth::jwt::unix_now(),
        Default::default(),
    );
    let auth = format!("Authorization: Bearer {token}\r\n");
    println!(
        "comparison: {} connections, {:?} per run after {:?} warm-up, {threads} server thread(s) each, loopback",
        settings.conns, settings.duration, settings.warmup
    );
    let workloads = [
        Workload::get("plaintext", "/plaintext", "", 1),
        Workload::get("plaintext pipelined x16", "/plaintext", "", 16),
        Workload::get("json", "/json", "", 1),
        // CRUD WORKLOADS GO HERE once database CRUD is merged:
        // `GET /person/{id}` and `POST /person` against lightapi, actix-web
        // and axum (each with SQLite), not may_minihttp.
    ];
    let mut rows: Vec<(String, Vec<Row>)> = Vec::new();
    for w in &workloads {
        println!("\n== {}", w.name);
        let mut results = Vec::new();
        for &(server, addr) in &servers {
            let mut named = w.clone();
            named.name = server.to_string();
            let report = loadgen::run(addr, &named, &settings).expect("load generator runs");
            println!("{}", report.line());
            results.push(Row { server, report });
        }
        print_ratios(&results);
        rows.push((w.name.clone(), results));
    }
    println!("\n== json + jwt (lightapi only; the peers have no JWT layer here)");
    let jwt = Workload::get("lightapi json + jwt", "/protected/json", &auth, 1);
    let jwt_report = loadgen::run(lightapi.local_addr(), &jwt, &settings).expect("load generator runs");
    println!("{}", jwt_report.line());
    print_targets(&rows, &jwt_report);
    lightapi.stop();
}

fn print_ratios(results: &[Row]) {
    let Some(ours) = results.iter().find(|r| r.server == "lightapi") else {
        return;
    };
    for peer in results.iter().filter(|r| r.server != "lightapi") {
        let cpu = match (ours.report.cpu_us_per_request(), peer.report.cpu_us_per_request()) {
            (Some(a), Some(b)) if b > 0.0 => format!("{:.2}", a / b),
            _ => "n/a".into(),
        };
        println!(
            "  lightapi / {:<13} req/s {:.2}x   cpu/req {cpu}x   p99 {:.2}x",
            peer.server,
            ours.report.rps() / peer.report.rps().max(1e-9),
            ours.report.p99().as_secs_f64() / peer.report.p99().as_secs_f64().max(1e-12),
        );
    }
}

fn find<'a>(rows: &'a [(String, Vec<Row>)], workload: &str, server: &str) -> Option<&'a Report> {
    rows.iter()
        .find(|(w, _)| w == workload)?
        .1
        .iter()
        .find(|r| r.server == server)
        .map(|r| &r.report)
}

fn verdict(ok: bool) -> &'static str {
    if ok {
        "met"
    } else {
        "MISSED"
    }
}

fn print_targets(rows: &[(String, Vec<Row>)], jwt: &Report) {
    println!("\n== targets");
    let pipelined = "plaintext pipelined x16";
    if let Some(ours) = find(rows, pipelined, "lightapi") {
        for peer in ["may_minihttp", "actix-web"] {
            if let Some(theirs) = find(rows, pipelined, peer) {
                let ratio = ours.rps() / theirs.rps().max(1e-9);
                println!("pipelined plaintext >= 1.0x {peer}: {ratio:.2}x, {}", verdict(ratio >= 1.0));
            }
        }
    }
    for workload in ["plaintext", "json"] {
        let (Some(ours), Some(actix)) = (find(rows, workload, "lightapi"), find(rows, workload, "actix-web")) else {
            continue;
        };
        if let (Some(a), Some(b)) = (ours.cpu_us_per_request(), actix.cpu_us_per_request()) {
            println!(
                "{workload}: server CPU/request <= actix-web's: {a:.2} vs {b:.2} µs, {}",
                verdict(a <= b)
            );
        }
        let (a, b) = (ours.p99(), actix.p99());
        println!(
            "{workload}: p99 no worse than actix-web's: {} vs {}, {}",
            loadgen::fmt_duration(a),
            loadgen::fmt_duration(b),
            verdict(a <= b)
        );
    }
    if let Some(open) = find(rows, "json", "lightapi") {
        let ratio = jwt.rps() / open.rps().max(1e-9);
        println!("JWT-protected GET /json >= 0.9x the open one: {ratio:.2}x, {}", verdict(ratio >= 0.9));
    }
}
