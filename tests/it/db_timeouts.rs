//! Databases that accept connections but never answer. A listener in the
//! test that accepts and stays silent stands for one at start-up; a TCP
//! proxy in front of the real server that can switch to swallowing
//! everything ("black hole") stands for one that stops answering in the
//! middle of a request. Start-up, requests and shutdown (in process, and
//! of the `person` example on SIGTERM) each end within their configured
//! bounds instead of waiting for it. The bounds asserted
//! are generous multiples of the small timeouts configured, so a loaded
//! machine does not fail them; a hang does.

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use lightapi::__private::backend::{connect, PoolOptions};
use lightapi::backend::BackendError;
use lightapi::{Config, Field, Model};

use crate::support::live_db::{FreshDb, Server};
use crate::support::{eventually, token, Client, ExampleProcess, Resp, TestServer};

/// Ends its accept thread and closes every socket it holds on drop.
#[derive(Default)]
struct Held {
    stop: AtomicBool,
    streams: Mutex<Vec<TcpStream>>,
}

impl Held {
    fn keep(&self, s: &TcpStream) {
        if let Ok(s) = s.try_clone() {
            self.streams.lock().unwrap().push(s);
        }
    }

    fn close_all(&self) {
        for s in self.streams.lock().unwrap().drain(..) {
            let _ = s.shutdown(Shutdown::Both);
        }
    }
}

/// Accepts connections and never answers them.
struct Silent {
    addr: SocketAddr,
    held: Arc<Held>,
}

impl Silent {
    fn start() -> Silent {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let held = Arc::new(Held::default());
        let h = Arc::clone(&held);
        std::thread::spawn(move || {
            for s in listener.incoming() {
                if h.stop.load(Ordering::SeqCst) {
                    break;
                }
                if let Ok(s) = s {
                    h.keep(&s);
                }
            }
        });
        Silent { addr, held }
    }
}

impl Drop for Silent {
    fn drop(&mut self) {
        self.held.stop.store(true, Ordering::SeqCst);
        self.held.close_all();
        let _ = TcpStream::connect(self.addr);
    }
}

/// Forwards `127.0.0.1:ephemeral` to a database server, or, in black-hole
/// mode, reads and drops everything either side sends and holds new
/// connections without answering.
struct Proxy {
    addr: SocketAddr,
    held: Arc<Held>,
    hole: Arc<AtomicBool>,
    /// Bytes dropped in black-hole mode.
    swallowed: Arc<AtomicU64>,
}

fn pipe(mut from: TcpStream, mut to: TcpStream, hole: &AtomicBool, swallowed: &AtomicU64) {
    let mut buf = [0u8; 16 * 1024];
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        if hole.load(Ordering::SeqCst) {
            swallowed.fetch_add(n as u64, Ordering::SeqCst);
            continue;
        }
        if to.write_all(&buf[..n]).is_err() {
            break;
        }
    }
    let _ = to.shutdown(Shutdown::Both);
    let _ = from.shutdown(Shutdown::Both);
}

impl Proxy {
    fn start(upstream: String) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let held = Arc::new(Held::default());
        let hole = Arc::new(AtomicBool::new(false));
        let swallowed = Arc::new(AtomicU64::new(0));
        let (h, b, sw) = (Arc::clone(&held), Arc::clone(&hole), Arc::clone(&swallowed));
        std::thread::spawn(move || {
            for client in listener.incoming() {
                if h.stop.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(client) = client else { continue };
                h.keep(&client);
                if b.load(Ordering::SeqCst) {
                    continue;
                }
                let Ok(server) = TcpStream::connect(&upstream) else {
                    continue;
                };
                h.keep(&server);
                let (c2, s2) = (client.try_clone().unwrap(), server.try_clone().unwrap());
                let (b1, sw1, b2, sw2) = (
                    Arc::clone(&b),
                    Arc::clone(&sw),
                    Arc::clone(&b),
                    Arc::clone(&sw),
                );
                std::thread::spawn(move || pipe(client, server, &b1, &sw1));
                std::thread::spawn(move || pipe(s2, c2, &b2, &sw2));
            }
        });
        Proxy {
            addr,
            held,
            hole,
            swallowed,
        }
    }

    /// The database stops answering, without closing anything.
    fn black_hole(&self) {
        self.hole.store(true, Ordering::SeqCst);
    }

    /// New connections are forwarded again.
    fn forward(&self) {
        self.hole.store(false, Ordering::SeqCst);
    }

    fn swallowed(&self) -> u64 {
        self.swallowed.load(Ordering::SeqCst)
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.held.stop.store(true, Ordering::SeqCst);
        self.held.close_all();
        let _ = TcpStream::connect(self.addr);
    }
}

fn person() -> Model {
    Model::new("person")
        .field("name", Field::text())
        .field("email", Field::text().unique())
}

/// One request with a valid token, on a connection of its own.
fn send(addr: SocketAddr, method: &str, path: &str, body: Option<&str>) -> Resp {
    let bearer = format!("Bearer {}", token("tester", false));
    let mut headers = vec![("Connection", "close"), ("Authorization", bearer.as_str())];
    if body.is_some() {
        headers.push(("Content-Type", "application/json"));
    }
    Client::new(addr).request(method, path, &headers, body.map(str::as_bytes))
}

fn silent_url(server: Server, addr: SocketAddr) -> String {
    match server {
        Server::Postgres => format!("postgres://postgres@{addr}/test"),
        Server::Mysql => format!("mysql://root@{addr}/test"),
    }
}

/// Opening a backend on a database that never answers fails as
/// unavailable once the connect timeout has passed, naming the wait.
fn connecting_to_a_silent_database_gives_up(server: Server) {
    let silent = Silent::start();
    let options = PoolOptions {
        connect_timeout: Duration::from_millis(500),
        ..PoolOptions::default()
    };
    let t = Instant::now();
    let e = connect(&silent_url(server, silent.addr), &options).unwrap_err();
    let took = t.elapsed();
    assert!(matches!(e, BackendError::Unavailable { .. }), "{e:?}");
    assert!(e.to_string().contains("within 500 ms"), "{e}");
    assert!(
        took >= Duration::from_millis(400),
        "gave up early: {took:?}"
    );
    assert!(took < Duration::from_secs(10), "took {took:?}");
    // Something connected and was left without an answer.
    assert!(!silent.held.streams.lock().unwrap().is_empty());
}

/// A server started on a database that never answers does not hang:
/// start-up returns once the connect timeout has passed, serves what needs
/// no database, and answers the model routes `503`.
fn server_start_on_a_silent_database_is_bounded(server: Server) {
    let silent = Silent::start();
    let mut config = crate::support::config_on(&silent_url(server, silent.addr));
    config.database.connect_timeout = Duration::from_millis(500);
    let t = Instant::now();
    let handle = TestServer::try_start(config, |app| app.register("/person", person()))
        .expect("starts, the database being unavailable");
    let took = t.elapsed();
    assert!(took < Duration::from_secs(10), "start-up took {took:?}");
    let addr = handle.addr();
    assert_eq!(send(addr, "GET", "/healthz", None).status, 200);
    let t = Instant::now();
    for path in ["/readyz", "/person"] {
        let r = send(addr, "GET", path, None);
        assert_eq!(r.status, 503, "{path}: {r:?}");
        assert!(r.header("Retry-After").is_some(), "{path}");
    }
    assert!(t.elapsed() < Duration::from_secs(20), "{:?}", t.elapsed());
    handle.stop();
}

#[cfg(feature = "postgres")]
#[test]
fn postgres_connect_to_a_silent_database_gives_up() {
    connecting_to_a_silent_database_gives_up(Server::Postgres);
}

#[cfg(feature = "mysql")]
#[test]
fn mysql_connect_to_a_silent_database_gives_up() {
    connecting_to_a_silent_database_gives_up(Server::Mysql);
}

#[cfg(feature = "postgres")]
#[test]
fn postgres_server_start_on_a_silent_database_is_bounded() {
    server_start_on_a_silent_database_is_bounded(Server::Postgres);
}

#[cfg(feature = "mysql")]
#[test]
fn mysql_server_start_on_a_silent_database_is_bounded() {
    server_start_on_a_silent_database_is_bounded(Server::Mysql);
}

/// The server with `/person` on `fresh`, reached through `proxy`.
fn start_through(
    fresh: &FreshDb,
    server: Server,
    proxy: &Proxy,
    tweak: impl FnOnce(&mut Config),
) -> TestServer {
    let url = fresh
        .url
        .replacen(&server.address(), &proxy.addr.to_string(), 1);
    let mut config = crate::support::config_on(&url);
    config.database.pool = 2;
    config.server.workers = 2;
    tweak(&mut config);
    TestServer::try_start(config, |app| app.register("/person", person())).unwrap()
}

/// A database that stops answering mid-request: the request is answered
/// `503` once the socket timeout (and one reconnect attempt) has passed,
/// the silent connections are dropped, and once the database answers again
/// the server serves again without a restart.
fn a_silent_database_answers_503_then_recovers(server: Server) {
    let Some(fresh) = FreshDb::new(server) else {
        return;
    };
    let proxy = Proxy::start(server.address());
    let handle = start_through(&fresh, server, &proxy, |c| {
        c.timeouts.query = Duration::from_secs(1);
        c.database.socket_timeout = Duration::from_secs(2);
        c.database.connect_timeout = Duration::from_secs(1);
        // One event loop, so the request below meets a connection opened
        // before the silence (on PostgreSQL each loop has its own; a loop
        // without one would answer after the connect timeout instead).
        c.server.reactors = 1;
    });
    let addr = handle.addr();
    let created = send(
        addr,
        "POST",
        "/person",
        Some(r#"{"name":"n","email":"a@x"}"#),
    );
    assert_eq!(created.status, 201, "{created:?}");
    let path = format!("/person/{}", created.json()["id"].as_i64().unwrap());
    assert_eq!(send(addr, "GET", &path, None).status, 200);

    proxy.black_hole();
    let t = Instant::now();
    let r = send(addr, "GET", &path, None);
    let took = t.elapsed();
    assert_eq!(r.status, 503, "{r:?}");
    assert!(r.header("Retry-After").is_some());
    // The socket timeout passed before the answer: the database was asked.
    assert!(
        took >= Duration::from_millis(1500),
        "answered early: {took:?}"
    );
    assert!(took < Duration::from_secs(20), "took {took:?}");
    assert!(proxy.swallowed() > 0);
    // Still silent: new connections time out too.
    let r = send(addr, "GET", &path, None);
    assert_eq!(r.status, 503, "{r:?}");

    proxy.forward();
    // Connections given up are never reused: the next request connects
    // anew and is served.
    let back = eventually(Duration::from_secs(20), || {
        let r = send(addr, "GET", &path, None);
        if r.status != 200 {
            assert_eq!(r.status, 503, "{r:?}");
        }
        r.status == 200
    });
    assert!(back, "never served again");
    let r = send(addr, "GET", &path, None);
    assert_eq!(r.json()["email"], "a@x");
    let again = send(
        addr,
        "POST",
        "/person",
        Some(r#"{"name":"n","email":"b@x"}"#),
    );
    assert_eq!(again.status, 201, "{again:?}");
    handle.stop();
}

#[cfg(feature = "postgres")]
#[test]
fn postgres_a_silent_database_answers_503_then_recovers() {
    a_silent_database_answers_503_then_recovers(Server::Postgres);
}

#[cfg(feature = "mysql")]
#[test]
fn mysql_a_silent_database_answers_503_then_recovers() {
    a_silent_database_answers_503_then_recovers(Server::Mysql);
}

/// A shutdown (as SIGTERM starts it) while a request waits on a database
/// that stopped answering ends within the shutdown timeout, although the
/// socket timeout is far longer.
fn shutdown_with_a_request_stuck_in_the_database_is_bounded(server: Server) {
    let Some(fresh) = FreshDb::new(server) else {
        return;
    };
    let proxy = Proxy::start(server.address());
    let handle = start_through(&fresh, server, &proxy, |c| {
        c.database.socket_timeout = Duration::from_secs(120);
        c.timeouts.shutdown = Duration::from_secs(1);
        // One event loop: the stuck request goes out on the connection
        // the first one opened (an event loop's own connections are
        // opened when it first needs one).
        c.server.reactors = 1;
    });
    let addr = handle.addr();
    assert_eq!(send(addr, "GET", "/person", None).status, 200);

    proxy.black_hole();
    let mut stuck = Client::connect(addr);
    stuck.send(format!(
        "GET /person HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer {}\r\n\r\n",
        token("tester", false)
    ));
    // The query reached the database's side and got no answer.
    assert!(
        eventually(Duration::from_secs(10), || proxy.swallowed() > 0),
        "the request never reached the database"
    );

    let t = Instant::now();
    handle.shutdown();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        handle.join();
        let _ = tx.send(());
    });
    rx.recv_timeout(Duration::from_secs(30))
        .expect("join() returns long before the socket timeout");
    let took = t.elapsed();
    assert!(took < Duration::from_secs(30), "shutdown took {took:?}");
    // The stuck client is not left open either.
    assert!(stuck.is_closed_within(Duration::from_secs(5)));
}

#[cfg(feature = "postgres")]
#[test]
fn postgres_shutdown_with_a_request_stuck_in_the_database_is_bounded() {
    shutdown_with_a_request_stuck_in_the_database_is_bounded(Server::Postgres);
}

#[cfg(feature = "mysql")]
#[test]
fn mysql_shutdown_with_a_request_stuck_in_the_database_is_bounded() {
    shutdown_with_a_request_stuck_in_the_database_is_bounded(Server::Mysql);
}

/// The same as a process: the `person` example, on the database through
/// the proxy, exits with success within its shutdown timeout after
/// SIGTERM while a request waits on the silent database.
fn sigterm_with_a_request_stuck_in_the_database_exits_on_time(server: Server) {
    let Some(fresh) = FreshDb::new(server) else {
        return;
    };
    let proxy = Proxy::start(server.address());
    let url = fresh
        .url
        .replacen(&server.address(), &proxy.addr.to_string(), 1);
    let mut cmd = ExampleProcess::command("person");
    cmd.env("LIGHTAPI_DATABASE_URL", &url)
        .env("LIGHTAPI_DATABASE_POOL", "2")
        .env("LIGHTAPI_WORKERS", "2")
        .env("LIGHTAPI_REACTORS", "1")
        .env("LIGHTAPI_DATABASE_SOCKET_TIMEOUT_MS", "120000")
        .env("LIGHTAPI_SHUTDOWN_TIMEOUT_MS", "1000");
    let mut ex = ExampleProcess::spawn(cmd);
    let addr = ex.addr();
    assert_eq!(send(addr, "GET", "/person", None).status, 200);

    proxy.black_hole();
    let mut stuck = Client::connect(addr);
    stuck.send(format!(
        "GET /person HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer {}\r\n\r\n",
        token("tester", false)
    ));
    assert!(
        eventually(Duration::from_secs(10), || proxy.swallowed() > 0),
        "the request never reached the database"
    );
    let status = std::process::Command::new("kill")
        .arg("-TERM")
        .arg(ex.id().to_string())
        .status()
        .expect("run kill");
    assert!(status.success());
    let mut exit = None;
    let exited = eventually(Duration::from_secs(30), || {
        exit = ex.try_wait();
        exit.is_some()
    });
    assert!(exited, "still running 30 s after SIGTERM: {:#?}", ex.log());
    let exit = exit.unwrap();
    assert!(exit.success(), "exit status {exit}: {:#?}", ex.log());
}

#[cfg(feature = "postgres")]
#[test]
fn postgres_sigterm_with_a_request_stuck_in_the_database_exits_on_time() {
    sigterm_with_a_request_stuck_in_the_database_exits_on_time(Server::Postgres);
}

#[cfg(feature = "mysql")]
#[test]
fn mysql_sigterm_with_a_request_stuck_in_the_database_exits_on_time() {
    sigterm_with_a_request_stuck_in_the_database_exits_on_time(Server::Mysql);
}
