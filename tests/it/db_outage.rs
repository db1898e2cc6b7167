//! Database outages: a lightapi server on PostgreSQL (and one on MariaDB)
//! reaches its database through a TCP proxy inside the test. Cutting the
//! proxy (closing every forwarded connection and refusing new ones) makes
//! requests answer `503` with `Retry-After`; resuming it brings service back
//! without restarting anything. The shared database server is never
//! stopped, so other tests running at the same time are not disturbed.
//! Each part is skipped, with a printed `SKIPPED:` line, when its server
//! does not answer.

use std::io;
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use lightapi::{Config, Field, Model};

use crate::support::live_db::{FreshDb, Server};
use crate::support::{eventually, token, Client, Resp, TempDir, TestServer};

#[derive(Default)]
struct ProxyState {
    cut: AtomicBool,
    stop: AtomicBool,
    streams: Mutex<Vec<TcpStream>>,
}

/// Forwards `127.0.0.1:ephemeral` to the database server.
struct Proxy {
    addr: SocketAddr,
    state: Arc<ProxyState>,
}

fn pipe(mut from: TcpStream, mut to: TcpStream) {
    let _ = io::copy(&mut from, &mut to);
    let _ = to.shutdown(Shutdown::Both);
    let _ = from.shutdown(Shutdown::Both);
}

impl Proxy {
    fn start(upstream: String) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(ProxyState::default());
        let st = Arc::clone(&state);
        std::thread::spawn(move || {
            for client in listener.incoming() {
                if st.stop.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(client) = client else { continue };
                if st.cut.load(Ordering::SeqCst) {
                    let _ = client.shutdown(Shutdown::Both);
                    continue;
                }
                let Ok(server) = TcpStream::connect(&upstream) else {
                    continue;
                };
                let (c2, s2) = (client.try_clone().unwrap(), server.try_clone().unwrap());
                st.streams
                    .lock()
                    .unwrap()
                    .extend([client.try_clone().unwrap(), server.try_clone().unwrap()]);
                std::thread::spawn(move || pipe(client, server));
                std::thread::spawn(move || pipe(s2, c2));
            }
        });
        Proxy { addr, state }
    }

    /// The database "goes away": open connections die, new ones are refused.
    fn cut(&self) {
        self.state.cut.store(true, Ordering::SeqCst);
        for s in self.state.streams.lock().unwrap().drain(..) {
            let _ = s.shutdown(Shutdown::Both);
        }
    }

    fn resume(&self) {
        self.state.cut.store(false, Ordering::SeqCst);
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.state.stop.store(true, Ordering::SeqCst);
        self.cut();
        // Wake the accept loop so that it sees `stop`.
        let _ = TcpStream::connect(self.addr);
    }
}

fn person() -> Model {
    Model::new("person")
        .field("name", Field::text())
        .field("email", Field::text().unique())
        .field("email_verified", Field::boolean().default(false))
}

/// The configuration of the servers here: the test secret, no logs.
fn outage_config(database_url: String) -> Config {
    let mut c = crate::support::config_on(&database_url);
    c.database.pool = 4;
    c.server.workers = 2;
    c.server.reactors = Config::default().server.reactors;
    c
}

/// The server with `/person` on `fresh`, reached through `proxy`.
fn start_through(
    fresh: &FreshDb,
    server: Server,
    proxy: &Proxy,
) -> Result<TestServer, lightapi::StartError> {
    let url = fresh
        .url
        .replacen(&server.address(), &proxy.addr.to_string(), 1);
    TestServer::try_start(outage_config(url), |app| app.register("/person", person()))
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

fn outage_answers_503_then_recovers(server: Server) {
    let Some(fresh) = FreshDb::new(server) else {
        return;
    };
    let proxy = Proxy::start(server.address());
    let handle = start_through(&fresh, server, &proxy).unwrap();
    let addr = handle.addr();
    let post = |email: &str| -> Resp {
        let body = format!(r#"{{"name": "n", "email": "{email}"}}"#);
        send(addr, "POST", "/person", Some(&body))
    };
    let get = |path: &str| send(addr, "GET", path, None);

    let created = post("a@x");
    assert_eq!(created.status, 201, "{created:?}");
    let id = created.json()["id"].as_i64().unwrap();
    let path = format!("/person/{id}");
    assert_eq!(get(&path).status, 200);
    assert_eq!(get("/person").status, 200);

    proxy.cut();
    for reply in [get(&path), get("/person"), post("b@x"), get("/readyz")] {
        assert_eq!(reply.status, 503, "{reply:?}");
        let retry: u64 = reply
            .header("Retry-After")
            .expect("Retry-After")
            .parse()
            .unwrap();
        assert!(retry >= 1);
        assert!(
            !reply.text().contains("error connecting"),
            "{}",
            reply.text()
        );
    }
    // Still down: still 503, and quickly (connects are refused, not hung).
    let t = Instant::now();
    assert_eq!(get(&path).status, 503);
    assert!(t.elapsed() < Duration::from_secs(5));

    proxy.resume();
    // Service resumes by itself: the very next request reconnects (a
    // pooled connection found broken is replaced and the read retried).
    let r = get(&path);
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.json()["email"], "a@x");
    let again = post("c@x");
    assert_eq!(again.status, 201, "{again:?}");
    assert_eq!(get("/readyz").status, 200);
    let list = get("/person").json();
    assert_eq!(list["results"].as_array().unwrap().len(), 2, "{list}");
    handle.stop();
}

#[test]
fn postgres_outage_answers_503_then_recovers() {
    outage_answers_503_then_recovers(Server::Postgres);
}

#[test]
fn mysql_outage_answers_503_then_recovers() {
    outage_answers_503_then_recovers(Server::Mysql);
}

/// The database does not answer when the server starts: it starts anyway,
/// answers the model routes and `/readyz` with 503 + `Retry-After` (and
/// everything else normally), and creates its tables on the first request
/// after the database answers — no restart.
fn start_without_database_then_recover(server: Server) {
    let Some(fresh) = FreshDb::new(server) else {
        return;
    };
    let proxy = Proxy::start(server.address());
    proxy.cut();
    let handle = start_through(&fresh, server, &proxy).expect("starts while the database is down");
    let addr = handle.addr();
    let get = |path: &str| send(addr, "GET", path, None);
    assert_eq!(get("/healthz").status, 200);
    assert_eq!(get("/openapi.json").status, 200);
    for path in ["/readyz", "/person", "/person/1"] {
        let reply = get(path);
        assert_eq!(reply.status, 503, "{path}: {reply:?}");
        assert!(reply.header("Retry-After").is_some(), "{path}");
    }
    let body = r#"{"name": "n", "email": "a@x"}"#;
    let r = send(addr, "POST", "/person", Some(body));
    assert_eq!(r.status, 503, "{r:?}");

    proxy.resume();
    // Within a few retry intervals the tables exist and requests succeed.
    let ready = eventually(Duration::from_secs(15), || {
        let r = get("/readyz");
        if r.status != 200 {
            assert_eq!(r.status, 503, "{r:?}");
        }
        r.status == 200
    });
    assert!(ready, "never became ready");
    let created = send(addr, "POST", "/person", Some(body));
    assert_eq!(created.status, 201, "{created:?}");
    let id = created.json()["id"].as_i64().unwrap();
    assert_eq!(get(&format!("/person/{id}")).json()["email"], "a@x");
    handle.stop();
}

#[test]
fn postgres_start_without_database_then_recover() {
    start_without_database_then_recover(Server::Postgres);
}

#[test]
fn mysql_start_without_database_then_recover() {
    start_without_database_then_recover(Server::Mysql);
}

/// SQLite is a local file: one that cannot be opened is a mistake that
/// stops start-up with the reason, never a wait.
#[cfg(feature = "sqlite")]
#[test]
fn an_unopenable_sqlite_file_stops_start_up() {
    let dir = TempDir::new("unopenable");
    // A directory, not a database file.
    let mut config = crate::support::config_on(&format!("sqlite://{}", dir.path().display()));
    config.server.workers = Config::default().server.workers;
    config.server.reactors = Config::default().server.reactors;
    let e = TestServer::try_start(config, |app| app.register("/person", person()))
        .expect_err("start-up fails");
    assert!(matches!(e, lightapi::StartError::Database { .. }), "{e:?}");
}
