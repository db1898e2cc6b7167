//! Database TLS (`sslmode=` in the URL) against the live PostgreSQL and
//! MariaDB servers, with TLS switched on by `.ci/tls.sh`: a test CA at
//! `/tmp/lightapi-tls/ca.pem` and a server certificate for `localhost` and
//! `127.0.0.1`.
//!
//! - `verify-full` with the CA and host `localhost` serves CRUD over HTTP,
//!   and the database session is encrypted;
//! - the same server reached as `127.0.0.2` (a relay inside the test, so
//!   only the name differs) is refused by `verify-full` at start-up, and
//!   accepted by `verify-ca`;
//! - `require` and `prefer` encrypt without a CA;
//! - `require` refuses a server without TLS (a fake server here speaking
//!   just enough of each protocol), and `prefer` goes on without it;
//! - an unknown `sslmode` or an unreadable root file stops start-up.
//!
//! A test that needs the servers prints a `SKIPPED:` line when the CA file
//! is absent or the server does not answer (it fails instead with
//! `LIGHTAPI_TEST_REQUIRE_SERVERS=1`).

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;

use lightapi::__private::backend::{connect, PoolOptions};
use lightapi::backend::{read_with, Backend, BackendError, Value};
use lightapi::{Field, Model, StartError};

use crate::support::live_db::{FreshDb, Server};
use crate::support::{token, Client, Resp, TestServer};

/// The test CA `.ci/tls.sh` writes.
const CA_FILE: &str = "/tmp/lightapi-tls/ca.pem";

/// The CA file, or `None` after printing why the test is skipped (a
/// failure when servers are required).
fn ca_file() -> Option<&'static str> {
    if Path::new(CA_FILE).is_file() {
        return Some(CA_FILE);
    }
    let line = format!("SKIPPED: database TLS: {CA_FILE} is absent (run .ci/tls.sh)");
    if std::env::var_os("LIGHTAPI_TEST_REQUIRE_SERVERS").is_some() {
        panic!("{line}");
    }
    let _ = writeln!(io::stderr(), "{line}");
    None
}

/// The database server's port.
fn port(server: Server) -> String {
    server.address().rsplit_once(':').unwrap().1.to_owned()
}

/// `fresh`'s URL reached at `address` (`host:port`) instead, with TLS
/// `params`.
fn tls_url(fresh: &FreshDb, address: &str, params: &str) -> String {
    let url = fresh.url.replacen(&fresh.server.address(), address, 1);
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}{params}")
}

fn person() -> Model {
    Model::new("person")
        .field("name", Field::text())
        .field("email", Field::text().unique())
}

fn start(url: &str) -> Result<TestServer, StartError> {
    let mut config = crate::support::config_on(url);
    config.database.pool = 2;
    config.server.workers = 2;
    config.server.reactors = 1;
    TestServer::try_start(config, |app| app.register("/person", person()))
}

/// One request with an admin token, on a connection of its own.
fn send(addr: SocketAddr, method: &str, path: &str, body: Option<&str>) -> Resp {
    let bearer = format!("Bearer {}", token("tester", true));
    let mut headers = vec![("Connection", "close"), ("Authorization", bearer.as_str())];
    if body.is_some() {
        headers.push(("Content-Type", "application/json"));
    }
    Client::new(addr).request(method, path, &headers, body.map(str::as_bytes))
}

/// Starts a server on `url` and checks that it creates and reads a row.
fn serves_crud(url: &str) {
    let server = start(url).unwrap_or_else(|e| panic!("{url}: {e}"));
    let body = r#"{"name": "Ada", "email": "ada@example.com"}"#;
    let created = send(server.addr(), "POST", "/person", Some(body));
    assert_eq!(created.status, 201, "{created:?}");
    let id = created.json()["id"].as_i64().unwrap();
    let read = send(server.addr(), "GET", &format!("/person/{id}"), None);
    assert_eq!(read.status, 200, "{read:?}");
    assert_eq!(read.json()["email"], "ada@example.com");
    server.stop();
}

/// Whether a session opened with `url` is encrypted, as the server sees it.
fn session_is_encrypted(server: Server, url: &str) -> bool {
    let options = PoolOptions {
        max_read_connections: 1,
        ..PoolOptions::default()
    };
    let db: Arc<dyn Backend> = connect(url, &options).unwrap_or_else(|e| panic!("{url}: {e}"));
    let sql = match server {
        Server::Postgres => "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
        Server::Mysql => {
            "SELECT VARIABLE_VALUE FROM information_schema.SESSION_STATUS \
             WHERE VARIABLE_NAME = 'SSL_CIPHER'"
        }
    };
    let rows = read_with(&*db, |c| c.query(sql, &[], &[])).unwrap();
    db.close();
    match rows.first().and_then(|r| r.first()) {
        Some(Value::Boolean(on)) => *on,
        Some(Value::Text(cipher)) => !cipher.is_empty(),
        other => panic!("{url}: unexpected answer {other:?}"),
    }
}

/// A fresh database and the CA, or `None` when the test is skipped.
fn prepare(server: Server) -> Option<(FreshDb, &'static str)> {
    let ca = ca_file()?;
    Some((FreshDb::new(server)?, ca))
}

/// Forwards connections to `127.0.0.2:ephemeral` to the database server:
/// the same server and certificate under a name the certificate lacks.
struct Relay {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
}

impl Relay {
    fn start(upstream: String) -> Relay {
        let listener = TcpListener::bind("127.0.0.2:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = Arc::clone(&stop);
        thread::spawn(move || {
            for client in listener.incoming() {
                if stopped.load(Ordering::SeqCst) {
                    return;
                }
                let Ok(client) = client else { return };
                let Ok(server) = TcpStream::connect(&upstream) else {
                    continue;
                };
                let (c2, s2) = (client.try_clone().unwrap(), server.try_clone().unwrap());
                thread::spawn(move || pipe(client, server));
                thread::spawn(move || pipe(s2, c2));
            }
        });
        Relay { addr, stop }
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so that it sees `stop`.
        let _ = TcpStream::connect(self.addr);
    }
}

fn pipe(mut from: TcpStream, mut to: TcpStream) {
    let _ = io::copy(&mut from, &mut to);
    let _ = to.shutdown(Shutdown::Both);
    let _ = from.shutdown(Shutdown::Both);
}

fn verify_full_serves_crud_over_an_encrypted_session(server: Server) {
    let Some((fresh, ca)) = prepare(server) else {
        return;
    };
    let localhost = format!("localhost:{}", port(server));
    let url = tls_url(
        &fresh,
        &localhost,
        &format!("sslmode=verify-full&sslrootcert={ca}"),
    );
    serves_crud(&url);
    assert!(session_is_encrypted(server, &url), "{url}");
    // The same server without sslmode is plain, as before.
    assert!(!session_is_encrypted(server, &fresh.url), "{}", fresh.url);
}

fn verify_full_refuses_a_name_the_certificate_lacks(server: Server) {
    let Some((fresh, ca)) = prepare(server) else {
        return;
    };
    let relay = Relay::start(server.address());
    let url = tls_url(
        &fresh,
        &relay.addr.to_string(),
        &format!("sslmode=verify-full&sslrootcert={ca}"),
    );
    let e = start(&url).expect_err("start-up refused");
    let text = e.to_string();
    assert!(matches!(e, StartError::Database { .. }), "{e:?}");
    assert!(text.contains("TLS"), "{text}");
    assert!(text.contains("not valid for name"), "{text}");
    let e = connect(&url, &PoolOptions::default()).unwrap_err();
    assert!(matches!(e, BackendError::Tls { .. }), "{e:?}");
}

fn verify_ca_accepts_a_name_the_certificate_lacks(server: Server) {
    let Some((fresh, ca)) = prepare(server) else {
        return;
    };
    let relay = Relay::start(server.address());
    let url = tls_url(
        &fresh,
        &relay.addr.to_string(),
        &format!("sslmode=verify-ca&sslrootcert={ca}"),
    );
    serves_crud(&url);
    assert!(session_is_encrypted(server, &url), "{url}");
}

fn verify_ca_refuses_a_certificate_from_another_ca(server: Server) {
    let Some((fresh, _ca)) = prepare(server) else {
        return;
    };
    // Without a root file the Mozilla roots are trusted: not the test CA.
    let url = tls_url(
        &fresh,
        &format!("localhost:{}", port(server)),
        "sslmode=verify-ca",
    );
    let e = start(&url).expect_err("start-up refused");
    let text = e.to_string();
    assert!(text.contains("TLS"), "{text}");
    assert!(text.to_lowercase().contains("issuer"), "{text}");
}

fn require_and_prefer_encrypt_without_a_ca(server: Server) {
    let Some((fresh, _ca)) = prepare(server) else {
        return;
    };
    let address = fresh.server.address();
    let require = tls_url(&fresh, &address, "sslmode=require");
    serves_crud(&require);
    assert!(session_is_encrypted(server, &require), "{require}");
    let prefer = tls_url(&fresh, &address, "sslmode=prefer");
    assert!(session_is_encrypted(server, &prefer), "{prefer}");
}

/// A server that answers the first bytes of every connection with
/// `reply` and closes it after reading `read` bytes: without TLS.
fn fake_server(greeting: Vec<u8>, read: usize, reply: Vec<u8>) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let (greeting, reply) = (greeting.clone(), reply.clone());
            thread::spawn(move || {
                let mut buf = vec![0; read];
                let _ = stream.write_all(&greeting);
                if stream.read_exact(&mut buf).is_ok() {
                    let _ = stream.write_all(&reply);
                }
                // Wait for the client to give up.
                let _ = stream.read(&mut [0; 64]);
            });
        }
    });
    addr
}

/// PostgreSQL without TLS: its answer to the client's `SSLRequest` is `N`.
fn postgres_without_tls() -> SocketAddr {
    fake_server(Vec::new(), 8, b"N".to_vec())
}

/// MySQL without TLS: a `HandshakeV10` whose capabilities lack `CLIENT_SSL`.
fn mysql_without_tls() -> SocketAddr {
    // LONG_PASSWORD | PROTOCOL_41 | TRANSACTIONS | SECURE_CONNECTION |
    // PLUGIN_AUTH; no SSL (0x800).
    let capabilities: u32 = 0x1 | 0x200 | 0x2000 | 0x8000 | 0x8_0000;
    let mut payload = vec![10];
    payload.extend_from_slice(b"8.0.0-fake\0");
    payload.extend_from_slice(&7u32.to_le_bytes());
    payload.extend_from_slice(b"abcdefgh\0");
    payload.extend_from_slice(&capabilities.to_le_bytes()[..2]);
    payload.push(0x21);
    payload.extend_from_slice(&2u16.to_le_bytes());
    payload.extend_from_slice(&capabilities.to_le_bytes()[2..]);
    payload.push(21);
    payload.extend_from_slice(&[0; 10]);
    payload.extend_from_slice(b"ijklmnopqrst\0");
    payload.extend_from_slice(b"mysql_native_password\0");
    let mut packet = u32::try_from(payload.len()).unwrap().to_le_bytes()[..3].to_vec();
    packet.push(0);
    packet.extend_from_slice(&payload);
    fake_server(packet, 0, Vec::new())
}

fn require_refuses_a_server_without_tls(scheme: &str, fake: SocketAddr) {
    let url = format!("{scheme}://user@{fake}/test?sslmode=require");
    let e = connect(&url, &PoolOptions::default()).unwrap_err();
    assert!(matches!(e, BackendError::Tls { .. }), "{e:?}");
    let e = start(&url).expect_err("start-up refused");
    let text = e.to_string();
    assert!(matches!(e, StartError::Database { .. }), "{e:?}");
    assert!(text.contains("TLS"), "{text}");
}

/// `prefer` goes on without TLS: the fake server then hangs up after the
/// login starts, which is an outage, not a TLS refusal.
fn prefer_goes_on_without_tls(scheme: &str, fake: SocketAddr) {
    let url = format!("{scheme}://user@{fake}/test?sslmode=prefer");
    let e = connect(&url, &PoolOptions::default()).unwrap_err();
    assert!(matches!(e, BackendError::Unavailable { .. }), "{e:?}");
}

fn start_up_names_bad_tls_parameters(scheme: &str) {
    let e = start(&format!("{scheme}://u@127.0.0.1:1/test?sslmode=verify"))
        .expect_err("start-up refused");
    let text = e.to_string();
    assert!(text.contains("`verify`"), "{text}");
    assert!(text.contains("verify-full"), "{text}");
    let missing = "/nonexistent/lightapi-ca.pem";
    let e = start(&format!(
        "{scheme}://u@127.0.0.1:1/test?sslmode=verify-full&sslrootcert={missing}"
    ))
    .expect_err("start-up refused");
    let text = e.to_string();
    assert!(text.contains(missing), "{text}");
}

#[cfg(feature = "postgres")]
mod postgres {
    use super::*;

    #[test]
    fn verify_full_serves_crud_over_an_encrypted_session() {
        super::verify_full_serves_crud_over_an_encrypted_session(Server::Postgres);
    }

    #[test]
    fn verify_full_refuses_a_name_the_certificate_lacks() {
        super::verify_full_refuses_a_name_the_certificate_lacks(Server::Postgres);
    }

    #[test]
    fn verify_ca_accepts_a_name_the_certificate_lacks() {
        super::verify_ca_accepts_a_name_the_certificate_lacks(Server::Postgres);
    }

    #[test]
    fn verify_ca_refuses_a_certificate_from_another_ca() {
        super::verify_ca_refuses_a_certificate_from_another_ca(Server::Postgres);
    }

    #[test]
    fn require_and_prefer_encrypt_without_a_ca() {
        super::require_and_prefer_encrypt_without_a_ca(Server::Postgres);
    }

    #[test]
    fn require_refuses_a_server_without_tls() {
        super::require_refuses_a_server_without_tls("postgres", postgres_without_tls());
    }

    #[test]
    fn prefer_goes_on_without_tls() {
        super::prefer_goes_on_without_tls("postgres", postgres_without_tls());
    }

    #[test]
    fn start_up_names_bad_tls_parameters() {
        super::start_up_names_bad_tls_parameters("postgres");
    }
}

#[cfg(feature = "mysql")]
mod mysql {
    use super::*;

    #[test]
    fn verify_full_serves_crud_over_an_encrypted_session() {
        super::verify_full_serves_crud_over_an_encrypted_session(Server::Mysql);
    }

    #[test]
    fn verify_full_refuses_a_name_the_certificate_lacks() {
        super::verify_full_refuses_a_name_the_certificate_lacks(Server::Mysql);
    }

    /// The driver trusts the public roots besides the root file, so
    /// `verify-ca` (no name check) would accept any publicly issued
    /// certificate: it is refused at start-up, with or without a root file.
    #[test]
    fn verify_ca_is_refused_at_start_up() {
        let Some((fresh, ca)) = super::prepare(Server::Mysql) else {
            return;
        };
        for params in [
            format!("sslmode=verify-ca&sslrootcert={ca}"),
            "ssl-mode=VERIFY_CA".to_owned(),
        ] {
            let url = super::tls_url(
                &fresh,
                &format!("localhost:{}", super::port(Server::Mysql)),
                &params,
            );
            let e = super::start(&url).expect_err("start-up refused");
            assert!(e.to_string().contains("verify-full"), "{e}");
        }
    }

    #[test]
    fn require_and_prefer_encrypt_without_a_ca() {
        super::require_and_prefer_encrypt_without_a_ca(Server::Mysql);
    }

    #[test]
    fn require_refuses_a_server_without_tls() {
        super::require_refuses_a_server_without_tls("mysql", mysql_without_tls());
    }

    #[test]
    fn prefer_goes_on_without_tls() {
        super::prefer_goes_on_without_tls("mysql", mysql_without_tls());
    }

    #[test]
    fn start_up_names_bad_tls_parameters() {
        super::start_up_names_bad_tls_parameters("mysql");
    }
}
