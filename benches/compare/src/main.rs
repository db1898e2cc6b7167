//! lightapi against actix-web, axum and may_minihttp: the same workloads,
//! in the same run, driven by the same load generator
//! (`benches/support/loadgen.rs`), every server in this process so that
//! server CPU time per request is measured the same way for all.
//!
//! CRUD workloads (`GET /person/{id}`, `POST /person`): lightapi's generated
//! Person resource against actix-web + rusqlite and axum + rusqlite on
//! SQLite (WAL), each server with its own fresh database file seeded with
//! the same 1000 rows; then, on PostgreSQL (one fresh schema per server),
//! lightapi against actix-web + the `postgres` crate. See `db.rs` for how
//! the peers use their driver. The PostgreSQL part is skipped, with the
//! reason, when the server cannot be reached.
//!
//! ```sh
//! cd benches/compare && cargo run --release
//! ```
//!
//! Variables: `LIGHTAPI_BENCH_SECS` (default 5), `LIGHTAPI_BENCH_WARMUP_MS`
//! (default 500), `LIGHTAPI_BENCH_CONNS` (default 64),
//! `LIGHTAPI_BENCH_SERVER_THREADS` (threads each server may use, default 1:
//! the load generator takes the other core of a 2-core machine),
//! `LIGHTAPI_BENCH_PEERS` (comma-separated subset of `actix,axum,may`),
//! `LIGHTAPI_BENCH_FILTER` (only workloads whose name contains it),
//! `LIGHTAPI_BENCH_WORKERS` (lightapi's handler threads, default 8: as many as its database pool and the peers' pools have connections),
//! `LIGHTAPI_BENCH_POSTGRES_URL` (default
//! `postgres://postgres@127.0.0.1:5432/test`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../../support/lightapi_app.rs"]
mod bench_app;
#[path = "../../support/loadgen.rs"]
mod loadgen;
mod db;

use std::net::SocketAddr;
use std::sync::{mpsc, Arc};
use std::time::Duration;

use db::{DbError, NewPerson, Store};
use loadgen::{Report, Settings, Workload};
use serde::Serialize;

#[derive(Serialize)]
struct Message {
    message: &'static str,
}

const HELLO: &str = "Hello, World!";
const SECRET: &[u8] = b"benchmark-secret-0123456789abcdef0123456789";

fn env_num(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn server_threads() -> usize {
    env_num("LIGHTAPI_BENCH_SERVER_THREADS", 1)
}

fn start_lightapi(threads: usize, database_url: &str, protected: bool) -> lightapi::ServerHandle {
    let config = lightapi::Config {
        port: 0,
        log_level: lightapi::LogLevel::Off,
        reactors: threads,
        workers: env_num("LIGHTAPI_BENCH_WORKERS", 8).max(1),
        jwt_secrets: vec![SECRET.to_vec()],
        database_url: database_url.to_string(),
        ..lightapi::Config::default()
    };
    let app = bench_app::register(lightapi::LightApi::with_config(config));
    let app = if protected { bench_app::register_protected(app) } else { app };
    app.start().expect("lightapi starts")
}

type SharedStore = Arc<dyn Store>;

fn start_actix(threads: usize, store: Option<SharedStore>) -> SocketAddr {
    use actix_web::{web, App, HttpResponse, HttpServer};
    async fn plaintext() -> HttpResponse {
        HttpResponse::Ok().content_type("text/plain").body(HELLO)
    }
    async fn json() -> HttpResponse {
        HttpResponse::Ok().json(Message { message: HELLO })
    }
    async fn get_person(store: web::Data<SharedStore>, id: web::Path<i64>) -> HttpResponse {
        let store = SharedStore::clone(&store);
        let id = id.into_inner();
        match web::block(move || store.get(id)).await {
            Ok(Ok(Some(person))) => HttpResponse::Ok().json(person),
            Ok(Ok(None)) => HttpResponse::NotFound().finish(),
            _ => HttpResponse::InternalServerError().finish(),
        }
    }
    async fn create_person(store: web::Data<SharedStore>, body: web::Json<NewPerson>) -> HttpResponse {
        let store = SharedStore::clone(&store);
        match web::block(move || store.create(body.into_inner())).await {
            Ok(Ok(person)) => HttpResponse::Created().json(person),
            Ok(Err(DbError::Conflict)) => HttpResponse::Conflict().finish(),
            Ok(Err(DbError::Other(e))) => HttpResponse::InternalServerError().body(e),
            Err(_) => HttpResponse::InternalServerError().finish(),
        }
    }
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            let server = HttpServer::new(move || {
                let app = App::new()
                    .route("/plaintext", web::get().to(plaintext))
                    .route("/json", web::get().to(json));
                match &store {
                    Some(store) => app
                        .app_data(web::Data::new(SharedStore::clone(store)))
                        .route("/person/{id}", web::get().to(get_person))
                        .route("/person", web::post().to(create_person)),
                    None => app,
                }
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

fn start_axum(threads: usize, store: SharedStore) -> SocketAddr {
    use axum::extract::{Path, State};
    use axum::http::header::CONTENT_TYPE;
    use axum::http::StatusCode;
    use axum::response::{IntoResponse, Response};
    use axum::routing::{get, post};
    use axum::{Json, Router};
    async fn get_person(State(store): State<SharedStore>, Path(id): Path<i64>) -> Response {
        match tokio::task::spawn_blocking(move || store.get(id)).await {
            Ok(Ok(Some(person))) => Json(person).into_response(),
            Ok(Ok(None)) => StatusCode::NOT_FOUND.into_response(),
            _ => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
        }
    }
    async fn create_person(State(store): State<SharedStore>, Json(body): Json<NewPerson>) -> Response {
        match tokio::task::spawn_blocking(move || store.create(body)).await {
            Ok(Ok(person)) => (StatusCode::CREATED, Json(person)).into_response(),
            Ok(Err(DbError::Conflict)) => StatusCode::CONFLICT.into_response(),
            Ok(Err(DbError::Other(e))) => (StatusCode::INTERNAL_SERVER_ERROR, e).into_response(),
            Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
        }
    }
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
                .route("/json", get(|| async { Json(Message { message: HELLO }) }))
                .route("/person/{id}", get(get_person))
                .route("/person", post(create_person))
                .with_state(store);
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

/// A server under test and the ids of the rows seeded in its database.
struct Server {
    name: &'static str,
    addr: SocketAddr,
    ids: Vec<i64>,
}

type MakeWorkload = fn(&Server, &str) -> Workload;

fn person_get(s: &Server, _auth: &str) -> Workload {
    Workload::get_each("GET /person/{id}", &bench_app::item_paths("/person", &s.ids), "", 1)
}

fn person_post(_s: &Server, _auth: &str) -> Workload {
    Workload::post_json("POST /person", "/person", "", bench_app::PERSON_BODY)
}

fn sqlite_path(url: &str) -> String {
    url.trim_start_matches("sqlite://").to_string()
}

/// Runs each workload against each server, printing as it goes.
fn run_group(
    label: &str,
    workloads: &[(&str, MakeWorkload)],
    servers: &[Server],
    auth: &str,
    settings: &Settings,
    filter: &str,
    rows: &mut Vec<(String, Vec<Row>)>,
) {
    for (name, make) in workloads {
        let key = format!("{label}{name}");
        if !key.contains(filter) {
            continue;
        }
        println!("\n== {key}");
        let mut results = Vec::new();
        for server in servers {
            let w = make(server, auth).named(server.name);
            let report = loadgen::run(server.addr, &w, settings).expect("load generator runs");
            println!("{}", report.line());
            results.push(Row { server: server.name, report });
        }
        print_ratios(&results);
        rows.push((key, results));
    }
}

fn main() {
    let settings = Settings::from_env(5.0);
    let threads = server_threads();
    let peers = std::env::var("LIGHTAPI_BENCH_PEERS").unwrap_or_else(|_| "actix,axum,may".into());
    let filter = std::env::var("LIGHTAPI_BENCH_FILTER").unwrap_or_default();
    let rows_n = bench_app::SEED_ROWS;
    let seed = |url: &str, table: &str| bench_app::seed(url, table, rows_n).expect("seeding SQLite");

    // SQLite: one fresh file per server, seeded alike.
    let lightapi_db = bench_app::fresh_sqlite("cmp-lightapi");
    let ids = seed(&lightapi_db, "person");
    let protected_ids = seed(&lightapi_db, bench_app::PROTECTED_TABLE);
    let lightapi = start_lightapi(threads, &lightapi_db, true);
    let mut files = vec![lightapi_db];
    let mut servers = vec![Server { name: "lightapi", addr: lightapi.local_addr(), ids: ids.clone() }];
    let mut db_servers = vec![Server { name: "lightapi", addr: lightapi.local_addr(), ids }];
    let mut sqlite_peer = |tag: &str| -> (SharedStore, Vec<i64>) {
        let url = bench_app::fresh_sqlite(tag);
        let ids = seed(&url, "person");
        let store = db::Sqlite::open(&sqlite_path(&url)).expect("peer opens SQLite");
        files.push(url);
        (Arc::new(store), ids)
    };
    if peers.contains("actix") {
        let (store, ids) = sqlite_peer("cmp-actix");
        let addr = start_actix(threads, Some(store));
        servers.push(Server { name: "actix-web", addr, ids: Vec::new() });
        db_servers.push(Server { name: "actix-web + rusqlite", addr, ids });
    }
    if peers.contains("axum") {
        let (store, ids) = sqlite_peer("cmp-axum");
        let addr = start_axum(threads, store);
        servers.push(Server { name: "axum", addr, ids: Vec::new() });
        db_servers.push(Server { name: "axum + rusqlite", addr, ids });
    }
    if peers.contains("may") {
        servers.push(Server { name: "may_minihttp", addr: start_may(threads), ids: Vec::new() });
    }

    // PostgreSQL: one fresh schema per server.
    let pg_base = std::env::var("LIGHTAPI_BENCH_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    let pid = std::process::id();
    let mut schemas: Vec<String> = Vec::new();
    let mut pg_servers: Vec<Server> = Vec::new();
    let mut pg_lightapi = None;
    let mut pg_skipped = None;
    let want_pg = ["pg GET /person/{id}", "pg POST /person"].iter().any(|n| n.contains(filter.as_str()));
    if want_pg {
        let schema = format!("lightapi_cmp_{pid}_lightapi");
        match bench_app::fresh_postgres_schema(&pg_base, &schema)
            .and_then(|url| bench_app::seed(&url, "person", rows_n).map(|ids| (url, ids)))
        {
            Ok((url, ids)) => {
                schemas.push(schema);
                let server = start_lightapi(threads, &url, false);
                pg_servers.push(Server { name: "lightapi", addr: server.local_addr(), ids });
                pg_lightapi = Some(server);
                if peers.contains("actix") {
                    let schema = format!("lightapi_cmp_{pid}_actix");
                    let url = bench_app::fresh_postgres_schema(&pg_base, &schema).expect("second schema");
                    schemas.push(schema.clone());
                    let ids = bench_app::seed(&url, "person", rows_n).expect("seeding PostgreSQL");
                    let store = db::Pg::open(&pg_base, &schema).expect("peer connects to PostgreSQL");
                    let addr = start_actix(threads, Some(Arc::new(store)));
                    pg_servers.push(Server { name: "actix-web + postgres", addr, ids });
                }
            }
            Err(reason) => {
                schemas.push(schema);
                pg_skipped = Some(reason);
            }
        }
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
        "comparison: {} connections, {:?} per run after {:?} warm-up, {threads} server thread(s) each, lightapi {} worker(s), loopback",
        settings.conns,
        settings.duration,
        settings.warmup,
        env_num("LIGHTAPI_BENCH_WORKERS", 8).max(1)
    );
    let basic: [(&str, MakeWorkload); 3] = [
        ("plaintext", |_, _| Workload::get("plaintext", "/plaintext", "", 1)),
        ("plaintext pipelined x16", |_, _| Workload::get("plaintext pipelined x16", "/plaintext", "", 16)),
        ("json", |_, _| Workload::get("json", "/json", "", 1)),
    ];
    let crud: [(&str, MakeWorkload); 2] = [("GET /person/{id}", person_get), ("POST /person", person_post)];
    let mut rows: Vec<(String, Vec<Row>)> = Vec::new();
    run_group("", &basic, &servers, &auth, &settings, &filter, &mut rows);
    run_group("", &crud, &db_servers, &auth, &settings, &filter, &mut rows);
    match &pg_skipped {
        Some(reason) => println!("\n== PostgreSQL workloads skipped: {reason}"),
        None => run_group("pg ", &crud, &pg_servers, &auth, &settings, &filter, &mut rows),
    }

    println!("\n== with a JWT (lightapi only; the peers have no JWT layer here)");
    let jwt_workloads = [
        Workload::get("json + jwt", "/protected/json", &auth, 1),
        Workload::get_each(
            "GET /person/{id} + jwt",
            &bench_app::item_paths("/protected/person", &protected_ids),
            &auth,
            1,
        ),
        Workload::post_json("POST /person + jwt", "/protected/person", &auth, bench_app::PERSON_BODY),
    ];
    let mut jwt_reports = Vec::new();
    for w in jwt_workloads {
        if !w.name.contains(filter.as_str()) {
            continue;
        }
        let report = loadgen::run(lightapi.local_addr(), &w, &settings).expect("load generator runs");
        println!("{}", report.line());
        jwt_reports.push(report);
    }
    print_targets(&rows, &jwt_reports);
    lightapi.stop();
    if let Some(server) = pg_lightapi {
        server.stop();
    }
    for schema in &schemas {
        bench_app::drop_postgres_schema(&pg_base, schema);
    }
    for file in &files {
        bench_app::remove_sqlite(file);
    }
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

fn print_targets(rows: &[(String, Vec<Row>)], jwt: &[Report]) {
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
    for (workload, peer) in [
        ("GET /person/{id}", "actix-web + rusqlite"),
        ("POST /person", "actix-web + rusqlite"),
        ("pg GET /person/{id}", "actix-web + postgres"),
        ("pg POST /person", "actix-web + postgres"),
    ] {
        if let (Some(ours), Some(theirs)) = (find(rows, workload, "lightapi"), find(rows, workload, peer)) {
            let ratio = ours.rps() / theirs.rps().max(1e-9);
            let target = if workload.starts_with("pg ") { "(reported)" } else { ">= 1.0x" };
            let outcome = if workload.starts_with("pg ") { "" } else { verdict(ratio >= 1.0) };
            println!("{workload} {target} {peer}: {ratio:.2}x {outcome}");
        }
    }
    let jwt_json = jwt.iter().find(|r| r.name == "json + jwt");
    if let (Some(open), Some(jwt)) = (find(rows, "json", "lightapi"), jwt_json) {
        let ratio = jwt.rps() / open.rps().max(1e-9);
        println!("JWT-protected GET /json >= 0.9x the open one: {ratio:.2}x, {}", verdict(ratio >= 0.9));
    }
}
