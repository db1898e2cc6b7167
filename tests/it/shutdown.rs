//! Graceful shutdown: in process through `ServerHandle` (owned by
//! a `TestServer`), and as a process through SIGTERM/SIGINT on the `custom`
//! example.

use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Duration;

use lightapi::{Access, Endpoint, HandlerResult, Method, Request};
use serde_json::json;

use crate::support::{eventually, token, Client, ExampleProcess, TempDir, TestServer};

/// Raises a flag when its handler starts, then takes 500 ms.
struct Gate(Arc<AtomicBool>);

impl Endpoint for Gate {
    fn get(&self, _req: &Request) -> HandlerResult {
        self.0.store(true, Ordering::SeqCst);
        std::thread::sleep(Duration::from_millis(500));
        Ok(json!({"finished": true}).into())
    }
    fn access(&self, _m: Method) -> Access {
        Access::Public
    }
}

#[test]
fn shutdown_finishes_in_flight_requests_and_refuses_new_ones() {
    let started = Arc::new(AtomicBool::new(false));
    let server = TestServer::start(|a| a.register("/gate", Gate(Arc::clone(&started))));
    let addr = server.addr();
    let mut idle = Client::connect(addr);
    assert_eq!(idle.get_with("/healthz", "").status, 200);
    let mut busy = Client::connect(addr);
    busy.send("GET /gate HTTP/1.1\r\nHost: t\r\n\r\n");
    assert!(eventually(Duration::from_secs(3), || started.load(Ordering::SeqCst)));

    server.shutdown();
    // Idle keep-alive connections are closed at once.
    assert!(
        idle.is_closed_within(Duration::from_secs(2)),
        "idle connection left open"
    );
    // New connections are refused.
    assert!(
        eventually(Duration::from_secs(2), || Client::try_connect(addr)
            .is_err()),
        "still accepting after shutdown"
    );
    // The request in flight is answered, and the connection then closes.
    let r = busy.read_response();
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["finished"], true);
    assert!(r.closes());
    busy.assert_closed();

    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        server.join();
        let _ = tx.send(());
    });
    rx.recv_timeout(Duration::from_secs(5))
        .expect("join() returns");
}

#[test]
fn stop_with_no_connections_is_quick() {
    let server = TestServer::start(|a| a);
    let addr = server.addr();
    assert_eq!(Client::connect(addr).get_with("/healthz", "").status, 200);
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        server.stop();
        let _ = tx.send(());
    });
    rx.recv_timeout(Duration::from_secs(3))
        .expect("stop() returns");
    assert!(Client::try_connect(addr).is_err());
}

/// The `custom` example, answering `/healthz`.
fn spawn_example() -> ExampleProcess {
    let mut cmd = ExampleProcess::command("custom");
    cmd.env("LIGHTAPI_WORKERS", "2")
        .env("LIGHTAPI_REACTORS", "1");
    let ex = ExampleProcess::spawn(cmd);
    let addr = ex.addr();
    let up = eventually(Duration::from_secs(10), || {
        let Ok(mut c) = Client::try_connect(addr) else {
            return false;
        };
        c.try_send("GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n")
            .is_ok()
            && matches!(c.try_read(false), Ok(Some(r)) if r.status == 200)
    });
    assert!(up, "example never answered /healthz on {addr}");
    ex
}

fn signal_exits_cleanly(signal: &str) {
    let mut ex = spawn_example();
    // The example is the custom endpoint example, behind authentication.
    let mut c = Client::connect(ex.addr());
    let auth = format!("Authorization: Bearer {}\r\n", token("ops", false));
    assert_eq!(
        c.get_with("/custom", &auth).json()["message"],
        "GET request"
    );
    assert_eq!(c.get_with("/custom", "").status, 401);
    let status = Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(ex.id().to_string())
        .status()
        .expect("run kill");
    assert!(status.success());
    let mut exit = None;
    let exited = eventually(Duration::from_secs(5), || {
        exit = ex.try_wait();
        exit.is_some()
    });
    assert!(exited, "example still running 5 s after SIG{signal}");
    let exit = exit.unwrap();
    assert!(exit.success(), "SIG{signal}: exit status {exit}");
    assert!(c.is_closed_within(Duration::from_secs(1)));
}

#[test]
fn example_exits_0_on_sigterm() {
    signal_exits_cleanly("TERM");
}

#[test]
fn example_exits_0_on_sigint() {
    signal_exits_cleanly("INT");
}

/// Stopping closes the database cleanly: SQLite's WAL is checkpointed into
/// the database file and removed, and the data is there on the next start.
#[test]
fn stopping_closes_the_database_cleanly() {
    let dir = TempDir::new("close");
    let url = dir.sqlite_url("close.db");
    let model = || lightapi::Model::new("note").field("text", lightapi::Field::text());
    let server = TestServer::start_with(
        |c| c.database.url = url.parse().unwrap(),
        |a| a.register("/note", model()),
    );
    let mut c = server.connect();
    let auth = format!("Authorization: Bearer {}\r\n", token("a", false));
    let body = r#"{"text":"kept"}"#;
    c.send(format!(
        "POST /note HTTP/1.1\r\nHost: h\r\n{auth}Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    ));
    assert_eq!(c.read_response().status, 201);
    assert_eq!(c.get_with("/note/1", &auth).status, 200);
    drop(c);
    server.stop();
    let wal = dir.path().join("close.db-wal");
    assert!(
        !wal.exists(),
        "the WAL is checkpointed and removed at shutdown"
    );
    let server = TestServer::start_with(
        |c| c.database.url = url.parse().unwrap(),
        |a| a.register("/note", model()),
    );
    let mut c = server.connect();
    assert_eq!(c.get_with("/note/1", &auth).json()["text"], "kept");
    server.stop();
}
