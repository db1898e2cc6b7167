//! Durability of acknowledged writes (SQLite): the `person` example runs as
//! a child process on a database file, clients create rows as fast as they
//! can, the process is killed with SIGKILL in the middle, and a restarted
//! process on the same file must hold every row that was answered `201`.
//!
//! The example binary is the one `cargo test` builds next to the test
//! binaries (`target/<profile>/examples/person`); with `cargo test --test
//! crud_durability` alone, build it first with `cargo build --examples`.
#![cfg(feature = "sqlite")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::collections::BTreeMap;
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::json;
use support::http::Client;
use support::http_crud_suite::{token, SECRET};

/// Acknowledged creates to wait for before the kill.
const ACKNOWLEDGED_BEFORE_KILL: usize = 300;
const WRITERS: usize = 4;

fn example_binary() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    // target/<profile>/deps/crud_durability-<hash> → target/<profile>
    let profile_dir = exe.parent().and_then(Path::parent).unwrap();
    let bin = profile_dir
        .join("examples")
        .join(format!("person{}", std::env::consts::EXE_SUFFIX));
    assert!(
        bin.exists(),
        "{} is missing: run `cargo build --examples` (plain `cargo test` builds it)",
        bin.display()
    );
    bin
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The example process, killed (SIGKILL) if still running when dropped.
struct Person {
    child: Child,
    addr: SocketAddr,
}

impl Person {
    /// Starts the example on `db` and waits until it answers `/healthz`.
    fn start(db: &Path) -> Person {
        let port = free_port();
        let addr: SocketAddr = ([127, 0, 0, 1], port).into();
        let child = Command::new(example_binary())
            .env(
                "LIGHTAPI_DATABASE_URL",
                format!("sqlite://{}", db.display()),
            )
            .env("LIGHTAPI_HOST", "127.0.0.1")
            .env("LIGHTAPI_PORT", port.to_string())
            .env("LIGHTAPI_JWT_SECRET", std::str::from_utf8(SECRET).unwrap())
            .env("LIGHTAPI_LOG", "off")
            .env("LIGHTAPI_WORKERS", "4")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut p = Person { child, addr };
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(status) = p.child.try_wait().unwrap() {
                let mut err = String::new();
                if let Some(mut e) = p.child.stderr.take() {
                    let _ = std::io::Read::read_to_string(&mut e, &mut err);
                }
                panic!("the person example exited at start-up ({status}): {err}");
            }
            if support::http::answers(addr) {
                let r = Client::new(addr).try_send("GET", "/healthz", &[], None);
                if r.is_ok_and(|r| r.status == 200) {
                    return p;
                }
            }
            assert!(
                Instant::now() < deadline,
                "the person example did not start"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn kill(mut self) {
        // `Child::kill` sends SIGKILL on Unix: no shutdown code runs.
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for Person {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn acknowledged_creates_survive_sigkill() {
    static N: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "lightapi-durability-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let db = dir.join("person.db");

    let server = Person::start(&db);
    let addr = server.addr;
    let acked: Arc<Mutex<BTreeMap<i64, String>>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = (0..WRITERS)
        .map(|w| {
            let (acked, stop) = (Arc::clone(&acked), Arc::clone(&stop));
            std::thread::spawn(move || {
                let mut c = Client::with_token(addr, &token("durable"));
                for i in 0.. {
                    if stop.load(Ordering::Acquire) {
                        break;
                    }
                    let email = format!("w{w}-{i}@x");
                    let body = serde_json::to_vec(&json!({"name": "n", "email": email})).unwrap();
                    let r = c.try_send(
                        "POST",
                        "/person",
                        &[("Content-Type", "application/json")],
                        Some(&body),
                    );
                    match r {
                        Ok(r) if r.status == 201 => {
                            let id = r.json()["id"].as_i64().unwrap();
                            acked.lock().unwrap().insert(id, email);
                        }
                        Ok(r) => panic!("unexpected answer before the kill: {r:?}"),
                        // The server was killed mid-request: not acknowledged.
                        Err(_) => break,
                    }
                }
            })
        })
        .collect();
    let deadline = Instant::now() + Duration::from_secs(30);
    while acked.lock().unwrap().len() < ACKNOWLEDGED_BEFORE_KILL {
        assert!(Instant::now() < deadline, "too few creates acknowledged");
        std::thread::sleep(Duration::from_millis(5));
    }
    // Kill while the writers are still sending.
    server.kill();
    stop.store(true, Ordering::Release);
    for w in writers {
        w.join().unwrap();
    }
    let acked = acked.lock().unwrap().clone();
    assert!(acked.len() >= ACKNOWLEDGED_BEFORE_KILL);

    let again = Person::start(&db);
    let mut c = Client::with_token(again.addr, &token("durable"));
    for (id, email) in &acked {
        let r = c.get(&format!("/person/{id}"));
        assert_eq!(r.status, 200, "acknowledged row {id} lost: {r:?}");
        assert_eq!(r.json()["email"], json!(email), "row {id}");
    }
    // Every stored row is whole, and no acknowledged row is duplicated.
    let r = c.get("/person?page_size=1000");
    assert_eq!(r.status, 200, "{r:?}");
    let list = r.json();
    let stored = list["count"].as_u64().unwrap();
    assert!(stored >= acked.len() as u64, "{stored} < {}", acked.len());
    assert!(stored <= acked.len() as u64 + WRITERS as u64);
    // The restarted server takes writes on the recovered file.
    let r = c.post("/person", &json!({"name": "after", "email": "after@x"}));
    assert_eq!(r.status, 201, "{r:?}");
    again.kill();
    let _ = std::fs::remove_dir_all(&dir);
}
