//! Durability of acknowledged writes (SQLite): the `person` example runs as
//! a child process on a database file, clients create rows as fast as they
//! can, the process is killed with SIGKILL in the middle, and a restarted
//! process on the same file must hold every row that was answered `201`.
//!
//! The example binary is the one `cargo test` builds next to the test
//! binaries (`target/<profile>/examples/person`); with `cargo test --test
//! it crud_durability` alone, build it first with `cargo build --examples`.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::json;

use crate::support::{eventually, token, Client, ExampleProcess, TempDir};

/// Acknowledged creates to wait for before the kill.
const ACKNOWLEDGED_BEFORE_KILL: usize = 300;
const WRITERS: usize = 4;

/// Starts the `person` example on `db` and waits until it answers `/healthz`.
fn start_person(db: &Path) -> ExampleProcess {
    let mut cmd = ExampleProcess::command("person");
    cmd.env(
        "LIGHTAPI_DATABASE_URL",
        format!("sqlite://{}", db.display()),
    )
    .env("LIGHTAPI_WORKERS", "4");
    let p = ExampleProcess::spawn(cmd);
    let up = eventually(Duration::from_secs(20), || {
        let r = Client::new(p.addr()).try_request("GET", "/healthz", &[], None);
        r.is_ok_and(|r| r.status == 200)
    });
    assert!(up, "the person example did not start: {:#?}", p.log());
    p
}

#[test]
fn acknowledged_creates_survive_sigkill() {
    let dir = TempDir::new("durability");
    let db = dir.path().join("person.db");

    let mut server = start_person(&db);
    let addr = server.addr();
    let acked: Arc<Mutex<BTreeMap<i64, String>>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = (0..WRITERS)
        .map(|w| {
            let (acked, stop) = (Arc::clone(&acked), Arc::clone(&stop));
            std::thread::spawn(move || {
                let mut c = Client::with_token(addr, &token("durable", false));
                for i in 0.. {
                    if stop.load(Ordering::Acquire) {
                        break;
                    }
                    let email = format!("w{w}-{i}@x");
                    let body = serde_json::to_vec(&json!({"name": "n", "email": email})).unwrap();
                    let r = c.try_request(
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
    assert!(
        eventually(Duration::from_secs(30), || acked.lock().unwrap().len()
            >= ACKNOWLEDGED_BEFORE_KILL),
        "too few creates acknowledged"
    );
    // Kill while the writers are still sending.
    server.kill();
    stop.store(true, Ordering::Release);
    for w in writers {
        w.join().unwrap();
    }
    let acked = acked.lock().unwrap().clone();
    assert!(acked.len() >= ACKNOWLEDGED_BEFORE_KILL);

    let mut again = start_person(&db);
    let mut c = Client::with_token(again.addr(), &token("durable", false));
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
}
